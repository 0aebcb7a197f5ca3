"""Cards moved to a board the token cannot read, inside the nightly job's window.

The run warned and exited 0, and was recorded as the last run: once the token's member was given
access (as the warning says), the move's removals were before the next window and were never
restored. Such a run is not recorded now (warned, and said in the JSON summary), so the next run
covers the window again.

When access cannot be given (a client's board, a deleted workspace), that window only grows:
``--accept-unreadable-boards`` (or ``restore.accept_unreadable_boards``) records the run anyway,
saying what is given up; the gap rule stays, and a typo'd config key is still an error.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from click.testing import Result

from trello_restore.errors import ExitCode
from trello_restore.sandbox.scenario import Scenario

from .conftest import Sandbox, one_line_error
from .conftest import sandbox_cli as cli_for
from .test_cron import _on_card, _staffed_list
from .test_review20 import nightly_ran

ACCEPT = "--accept-unreadable-boards"


@dataclass(frozen=True)
class Blind:
    """The nightly job's state, and a move of a staffed list to a board the token cannot read
    8 minutes ago, after the job last ran."""

    invoke: Callable[..., Result]
    path: Path
    recorded: str
    private: str
    moved_at: datetime
    lost: set[tuple[str, str]]
    noah: str


def _blind(
    sb: Sandbox,
    s: Scenario,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    last: timedelta = timedelta(hours=1),
    moved_ago: timedelta = timedelta(minutes=8),
) -> Blind:
    invoke = cli_for(sb, monkeypatch)
    now = datetime.now(UTC)
    path, recorded = nightly_ran(sb, s, tmp_path, monkeypatch, now - last)
    staffed = _staffed_list(s, "blind", ago=timedelta(hours=3))
    w, at = s.world, now - moved_ago
    with w.lock:  # a colleague moves the list to a board of their own, 8 minutes ago
        noah = next(m for m in w.members.values() if m.id != s.mover.id)
        private = w.create_board("Own", noah.id, now - timedelta(minutes=9), s.organization.id)
        moved = w.move_list_to_board(staffed, private.id, noah.id, at)
    lost = {(e.card_id, e.member_id) for e in moved.removals}
    assert lost
    return Blind(invoke, path, recorded, private.id, at, lost, noah.id)


ARGS = ("--add-to-board", "--yes", "--since", "last-run", "--format", "json")


def _run(b: Blind, s: Scenario, *more: str) -> tuple[Result, dict[str, Any]]:
    result = b.invoke("--board", s.team.id, *ARGS, *more)
    assert result.exit_code == ExitCode.OK, result.output
    return result, json.loads(result.stdout)


@pytest.mark.parametrize("refusals", ["plain", "sub-request"])
def test_a_move_to_a_board_the_token_cannot_read_keeps_the_window_open(
    sb: Sandbox,
    scenario: Scenario,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    refusals: str,
) -> None:
    """Refused as Trello did (401 ``unauthorized permission requested``) or as it does since
    its "aux errors" (449 ``{path, originalMessage: 'Unauthorized', originalStatus: 401}``,
    R45d: a 449 was a "Bad Request", and the board taken for deleted: the window was closed
    on the cards moved there, with a warning that Trello no longer had the board)."""
    s = scenario
    b = _blind(sb, s, tmp_path, monkeypatch)
    sb.server.set_options(read_refusals=refusals)
    blind, summary = _run(b, s)
    last_run = summary["last_run"]
    assert (last_run["recorded"], last_run["accepted_unreadable_boards"]) == (False, [])
    why = last_run["not_recorded"]
    assert f'this account cannot read ("Own" ({b.private}))' in why
    assert "the next --since last-run run covers this window again" in why
    assert f"run once with {ACCEPT}, which records the run anyway" in why  # the way out
    assert why in blind.stderr
    # The board is named as the move names it (R38a: by its id alone, every night).
    (moved,) = [x for x in summary["warnings"] if "cannot read it" in x]
    assert moved.startswith(f'cards moved between board "Own" ({b.private}) and the boards in ')
    assert "add the token's member to that board to include them" in moved
    assert json.loads(b.path.read_text())["last_run"] == b.recorded  # the window stays open

    with s.world.lock:  # what the warning says: the token's member is given access
        s.world.add_member_to_board(b.private, s.mover.id, b.noah, "admin")
    _, summary = _run(b, s, "-q")
    assert summary["last_run"] == {
        "recorded": True,
        "state_file": str(b.path),
        "not_recorded": None,
        "accepted_unreadable_boards": [],
    }
    assert _on_card(s, b.lost) == b.lost


def test_accepting_the_unreadable_board_records_the_run_and_gives_up_its_removals(
    sb: Sandbox, scenario: Scenario, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Run once by hand with the option: recorded, with one warning line naming the board and
    what is given up, and the JSON summary says so; the next nightly run (without it) starts
    after this one, so even once the token's member can read the board, the members the move
    took off there are not restored (that is what was accepted)."""
    s = scenario
    b = _blind(sb, s, tmp_path, monkeypatch)
    accepted, summary = _run(b, s, ACCEPT)
    assert summary["last_run"] == {
        "recorded": True,
        "state_file": str(b.path),
        "not_recorded": None,
        "accepted_unreadable_boards": [b.private],
    }
    (line,) = [x for x in accepted.stderr.splitlines() if "was recorded as the last run" in x]
    assert f"as {ACCEPT} asks" in line
    assert f'1 board this account cannot read ("Own" ({b.private}))' in line
    assert "the members those cards lost there are given up" in line
    assert "later --since last-run runs will not restore them" in line
    after = json.loads(b.path.read_text())["last_run"]
    assert after > b.recorded

    with s.world.lock:
        s.world.add_member_to_board(b.private, s.mover.id, b.noah, "admin")
    night, summary = _run(b, s, "-q")  # the nightly job, as cron runs it
    since = datetime.fromisoformat(str(summary["since"]).replace("Z", "+00:00"))
    assert since > b.moved_at  # its window starts after the accepted run, past the move
    assert summary["last_run"] == {
        "recorded": True,
        "state_file": str(b.path),
        "not_recorded": None,
        "accepted_unreadable_boards": [],  # only for the run that was given it
    }
    assert "was recorded as the last run" not in night.stderr
    assert _on_card(s, b.lost) == set()  # given up


def test_a_move_minutes_before_the_accepting_run_does_not_hold_back_the_next(
    sb: Sandbox, scenario: Scenario, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The move two minutes before the run that accepts it: the next nightly run's window
    starts five minutes before that run (``lastrun.OVERLAP``), so it sees the move too, but a
    move before the recorded run was that run's to see (here: given up), and the nightly is
    recorded. It held back every later run, each warning "run once with
    --accept-unreadable-boards", which the user had done."""
    s = scenario
    b = _blind(sb, s, tmp_path, monkeypatch, moved_ago=timedelta(minutes=2))
    _, summary = _run(b, s, ACCEPT)
    assert summary["last_run"]["accepted_unreadable_boards"] == [b.private]
    accepted = json.loads(b.path.read_text())["last_run"]

    night, summary = _run(b, s, "-q")
    since = datetime.fromisoformat(str(summary["since"]).replace("Z", "+00:00"))
    assert since < b.moved_at  # the window holds the move
    assert summary["last_run"]["recorded"] is True, summary["last_run"]
    assert summary["last_run"]["accepted_unreadable_boards"] == []
    assert "not recorded" not in night.stderr
    assert json.loads(b.path.read_text())["last_run"] > accepted


def test_the_config_key_accepts_and_no_accept_overrides_it(
    sb: Sandbox, scenario: Scenario, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """``restore.accept_unreadable_boards = true`` in a config file accepts (its warning names
    the key and the file); ``--no-accept-unreadable-boards`` overrides it for one run."""
    s = scenario
    b = _blind(sb, s, tmp_path, monkeypatch)
    config = tmp_path / "cron.toml"
    config.write_text("[restore]\naccept_unreadable_boards = true\n")
    _, summary = _run(b, s, "--config", str(config), "--no-accept-unreadable-boards")
    assert summary["last_run"]["recorded"] is False
    assert json.loads(b.path.read_text())["last_run"] == b.recorded

    accepted, summary = _run(b, s, "--config", str(config))
    assert summary["last_run"]["accepted_unreadable_boards"] == [b.private]
    assert f"as restore.accept_unreadable_boards in {config} asks" in accepted.stderr
    assert json.loads(b.path.read_text())["last_run"] > b.recorded


def test_accepting_does_not_waive_the_gap_rule(
    sb: Sandbox, scenario: Scenario, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The nightly job last ran two hours ago; a run by hand from 30 minutes ago that accepts
    the unreadable board is still not recorded: nothing covered the time between."""
    s = scenario
    b = _blind(sb, s, tmp_path, monkeypatch, last=timedelta(hours=2))
    args = ("--board", s.team.id, "--add-to-board", "--yes", "--format", "json", ACCEPT)
    late = b.invoke(*args, "--since", (datetime.now(UTC) - timedelta(minutes=30)).isoformat())
    assert late.exit_code == ExitCode.OK, late.output
    last_run = json.loads(late.stdout)["last_run"]
    assert (last_run["recorded"], last_run["accepted_unreadable_boards"]) == (False, [])
    assert "nothing covered the time between" in last_run["not_recorded"]
    assert json.loads(b.path.read_text())["last_run"] == b.recorded


@pytest.mark.parametrize(
    ("config", "env", "needles"),
    [
        (
            "[restore]\naccept_unreadable = true\n",
            {},
            ("unknown key restore.accept_unreadable", "see config.example.toml"),
        ),
        (
            "[restore]\naccept_unreadable_boards = 'yes'\n",
            {},
            ("restore.accept_unreadable_boards must be true or false, not 'yes'",),
        ),
        (
            "",
            {"TRELLO_RESTORE_ACCEPT_UNREADABLE_BOARDS": "always"},
            ("TRELLO_RESTORE_ACCEPT_UNREADABLE_BOARDS='always'", "expected true or false"),
        ),
    ],
    ids=["typo", "string", "variable"],
)
def test_a_wrong_setting_is_one_line_exit_2(
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    config: str,
    env: dict[str, str],
    needles: tuple[str, ...],
) -> None:
    """A typo'd key (cron would otherwise silently never accept, or always) is an error before
    anything is read from Trello, as is a value that is not true or false."""
    from .conftest import cli_invoker

    path = tmp_path / "cron.toml"
    path.write_text(config)
    monkeypatch.setenv("TRELLO_RESTORE_HOME", str(tmp_path / "home"))
    result = cli_invoker(monkeypatch)(
        "--config", str(path), "--board", "b", "--since", "1d", "--yes", **env
    )
    one_line_error(result, ExitCode.USAGE, *needles)


@pytest.mark.parametrize(
    ("typed", "command", "names"),
    [
        ((ACCEPT,), "undo", ACCEPT),
        (("--no-accept-unreadable-boards",), "undo", "--no-accept-unreadable-boards"),
        (("--no-add-to-board",), "undo", "--no-add-to-board"),
        (("--no-only-recorded", "--board", "b"), "apply", "--board, --no-only-recorded"),
    ],
)
def test_the_option_before_a_subcommand_is_refused(
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    typed: tuple[str, ...],
    command: str,
    names: str,
) -> None:
    """Refused whatever its value (``--no-…`` too: before, a false value passed as not
    given, and the subcommand ran without it), each option named as typed."""
    from .conftest import cli_invoker

    monkeypatch.setenv("TRELLO_RESTORE_HOME", str(tmp_path / "home"))
    result = cli_invoker(monkeypatch)(*typed, command, str(tmp_path / "journal.jsonl"))
    # One option "plans … means", several "plan … mean" (it said "plan … mean" for one).
    verb = "plan a restore and mean" if "," in names else "plans a restore and means"
    line = one_line_error(result, ExitCode.USAGE, f"{verb} nothing to '{command}'")
    assert line.startswith(f"Error: {names} {verb}"), line


def _loads_counted(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """The boards whose history store bodies are read from now on, in order."""
    from trello_restore.history_store import HistoryStore

    loads: list[str] = []
    load = HistoryStore.load

    def counting(self: HistoryStore, board_id: str, filter: str) -> object:
        loads.append(board_id)
        return load(self, board_id, filter)

    monkeypatch.setattr(HistoryStore, "load", counting)
    return loads


def _dry(b: Blind, s: Scenario, *more: str) -> tuple[Result, list[str]]:
    """A dry run of the nightly job's scope: its result and its lines about the last run."""
    result = b.invoke("--board", s.team.id, "--since", "last-run", "--dry-run", *more)
    assert result.exit_code == ExitCode.OK, result.output
    return result, [x for x in result.stderr.splitlines() if "a run that applies" in x]


def test_a_dry_run_says_what_a_run_would_do_about_the_last_run(
    sb: Sandbox, scenario: Scenario, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A dry run never records a last run; it says what a run that applies would do, from the
    history its plan read: not record it, or with the option record it and give the board up.
    Saying it costs no request (the same dry run without the check sends as many)."""
    s = scenario
    b = _blind(sb, s, tmp_path, monkeypatch)
    log = sb.server.request_log

    def requests(*more: str) -> tuple[int, list[str]]:
        start = len(log)
        _, said = _dry(b, s, "--no-cache", *more)  # no memo: each reads the same
        return len(log) - start, said

    with monkeypatch.context() as m:
        m.setattr("trello_restore.run.unreadable_in_window", lambda *_: ())
        baseline, said = requests()
    assert said == []
    sent, (line,) = requests()
    assert sent == baseline
    assert line.startswith(
        "Warning: cards moved to or from 1 board this account cannot read "
        f'("Own" ({b.private})) at or after '
    )
    assert "a run that applies would not be recorded as the last run on these boards" in line
    assert f"or run once with {ACCEPT} to record it" in line
    sent, (line,) = requests(ACCEPT)
    assert sent == baseline
    assert "a run that applies would be recorded as the last run on these boards once it " in line
    assert f"as {ACCEPT} asks: the members those cards lost there would be given up" in line
    assert json.loads(b.path.read_text())["last_run"] == b.recorded


def test_a_dry_run_from_the_memo_reads_no_history_to_say_it(
    sb: Sandbox, scenario: Scenario, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The second dry run's plan comes from the plan memo, which read no history: it reads
    none to say it either (no store body, no request more than the first) and says what it
    cannot tell."""
    s = scenario
    b = _blind(sb, s, tmp_path, monkeypatch)
    log = sb.server.request_log
    start = len(log)
    _, (first,) = _dry(b, s, ACCEPT)
    cold = len(log) - start
    assert "at or after" in first
    loads = _loads_counted(monkeypatch)
    start = len(log)
    _, (line,) = _dry(b, s, ACCEPT)
    assert (loads, len(log) - start <= cold) == ([], True)
    assert f'cannot read ("Own" ({b.private})); this dry run\'s plan is from the plan memo' in line
    assert "cannot tell when they moved: if one moved at or after" in line
    assert "a run that applies would be recorded as the last run on these boards" in line


def test_a_dry_run_says_nothing_when_nothing_unreadable_moved_in_its_window(
    sb: Sandbox, scenario: Scenario, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    s = scenario
    b = _blind(sb, s, tmp_path, monkeypatch)
    since = (b.moved_at + timedelta(minutes=1)).isoformat()  # the move is before the window
    args = ("--board", s.team.id, "--dry-run", "--no-cache", ACCEPT)
    result = b.invoke(*args, "--since", since)
    assert result.exit_code == ExitCode.OK, result.output
    assert "a run that applies" not in result.stderr
    assert "cannot read it" in result.stderr  # the board is still said to be unreadable


def test_a_store_kept_before_moves_named_their_board_names_it_by_id_until_refreshed(
    sb: Sandbox, scenario: Scenario, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A history store written before moves kept the other board's name (move rows of eight
    fields, a head with no ``board_names``) is read as it is, not rebuilt: the board is named
    by its id, as before; ``--refresh-history`` names it."""
    import gzip

    from trello_restore.history_store import _digest

    s = scenario
    b = _blind(sb, s, tmp_path, monkeypatch)
    _dry(b, s)  # keeps the team board's store
    (store,) = (tmp_path / "home").rglob(f"boards/{s.team.id}")  # its followed boards' too
    body, head = store / "history.v3.json.gz", store / "history.v3.head.json"
    doc = json.loads(gzip.decompress(body.read_bytes()))
    rows = [r for part in doc["parts"].values() for r in part["moves"]]
    assert rows, doc
    assert all(len(r) == 9 for r in rows), rows
    assert [r[8] for r in rows if b.private in r[6:8]] == ["Own"]
    for part in doc["parts"].values():
        part["moves"] = [r[:8] for r in part["moves"]]
    body.write_bytes(gzip.compress(json.dumps(doc).encode()))
    top = json.loads(head.read_text())
    del top["sha256"]
    assert top.pop("board_names")[b.private] == "Own"
    head.write_text(json.dumps({**top, "sha256": _digest(top)}))

    loads = _loads_counted(monkeypatch)

    def warned(*more: str) -> str:
        result = b.invoke("--board", s.team.id, "--since", "last-run", "--dry-run", *more)
        assert result.exit_code == ExitCode.OK, result.output
        assert "history store" not in result.stderr, result.stderr
        (line,) = [x for x in result.stderr.splitlines() if "moved between board" in x]
        return line

    assert f"cards moved between board {b.private} and the boards in scope" in warned()
    assert s.team.id in loads  # its rows of eight fields were read
    assert f'cards moved between board "Own" ({b.private}) and ' in warned("--no-cache")
    assert f'cards moved between board "Own" ({b.private}) and ' in warned("--refresh-history")
    assert f'cards moved between board "Own" ({b.private}) and ' in warned()


def test_a_board_the_cards_moved_to_that_trello_no_longer_has_does_not_hold_the_run_back(
    sb: Sandbox, scenario: Scenario, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """R39d: the board the list moved to, deleted since (Trello answers 404), was warned of as
    one to add the token's member to, and held every later run back for good (no run can ever
    read it). Now its warning says it is gone and what that costs, and the run is recorded."""
    s = scenario
    b = _blind(sb, s, tmp_path, monkeypatch)
    with s.world.lock:  # deleted, with what was on it
        del s.world.boards[b.private]
    ran, summary = _run(b, s)
    assert summary["last_run"]["recorded"] is True, summary["last_run"]
    (moved,) = [x for x in summary["warnings"] if "moved between board" in x]
    assert moved == (
        f'cards moved between board "Own" ({b.private}) and the boards in scope, but Trello no '
        "longer has it (deleted): the history of cards from before they left it is missing, "
        "and what they lost there cannot be restored"
    )
    assert "add the token's member" not in ran.stderr
