"""The nightly one-step run over several boards when the token's member cannot write one of
them (an observer there), over HTTP against the sandbox.

The first refused write used to stop the whole run (exit 3), so the card members on every other
board were never restored, night after night. Now, with changes on several boards, a refusal
stops the writes to that board only: its other writes are not sent, the other boards' go on,
the run ends with one line naming the board and what to do (exit 3), the JSON summary lists
the board, and the run is not recorded as the last run, so the next run (access given) covers
the same window and restores that board. The one-step run and its dry run warn of it first,
from the memberships the plan read.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from click.testing import Result

from trello_restore.errors import ExitCode
from trello_restore.journal import Journal
from trello_restore.lastrun import Scope, record_last_run
from trello_restore.sandbox.scenario import Scenario

from .conftest import Sandbox, sandbox_cli
from .test_cron import _on_card

WRITES = ("POST", "PUT", "DELETE")
Pairs = set[tuple[str, str]]


def _damage(s: Scenario, board_id: str, tag: str, now: datetime) -> Pairs:
    """A new list on the board, three hours ago, with three cards and two new members of the
    board on them; 90 minutes ago the lead takes them off every card (logged removals). The
    (card, member) pairs taken off."""
    w = s.world
    made, gone = now - timedelta(hours=3), now - timedelta(minutes=90)
    pairs: Pairs = set()
    with w.lock:
        owls = [w.add_member(f"{tag}owl{i}", f"{tag.title()} Owl {i}", made) for i in (1, 2)]
        for m in owls:
            w.add_member_to_board(board_id, m.id, s.mover.id, "normal", made)
        lst = w.create_list(board_id, f"{tag.title()} sprint", s.mover.id, made)
        for i in range(3):
            card = w.create_card(lst.id, f"{tag.title()} #{i}", s.mover.id, made)
            for m in owls[: 1 + i % 2]:
                w.add_member_to_card(card.id, m.id, s.mover.id, made)
                pairs.add((card.id, m.id))
        for card_id, member_id in sorted(pairs):
            w.remove_member_from_card(card_id, member_id, s.mover.id, gone)
    return pairs


def _observer(s: Scenario, board_id: str, member_id: str) -> Callable[[], None]:
    """Make the token's member an observer of the board; returns what gives the role back."""
    with s.world.lock:
        ms = s.world.boards[board_id].memberships[member_id]
        kept, ms.member_type = ms.member_type, "observer"

    def give_back() -> None:
        with s.world.lock:
            ms.member_type = kept

    return give_back


def _writes_to(sb: Sandbox, s: Scenario, start: int, board_id: str) -> list[str]:
    """The writes sent since ``start`` to cards of the board (by the card id in their path)."""
    with s.world.lock:
        cards = set(s.world.card_ids_on_board(board_id))
    return [
        f"{r.method} {r.path} {r.status}"
        for r in sb.server.request_log[start:]
        if r.method in WRITES and any(c in r.path for c in cards)
    ]


def _setup(
    sb: Sandbox, s: Scenario, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> tuple[Callable[..., Result], Path, str, Pairs, Pairs]:
    """The nightly job on both boards last ran two hours ago (its state file and the time it
    records), then members were taken off cards on each board."""
    invoke = sandbox_cli(sb, monkeypatch)
    home = tmp_path / "home"
    monkeypatch.setenv("TRELLO_RESTORE_HOME", str(home))
    now = datetime.now(UTC)
    boards = tuple(sorted((s.team.id, s.archive.id)))
    scope = Scope(
        api_url=sb.base_url,
        account_id=s.mover.id,
        named_boards=boards,
        covers=(("--only-recorded", ""),),  # the runs' (``_args``)
    )
    path = record_last_run(home / "state", scope, now - timedelta(hours=2))
    recorded = json.loads(path.read_text())["last_run"]
    team, archive = _damage(s, s.team.id, "t", now), _damage(s, s.archive.id, "a", now)
    return invoke, path, recorded, team, archive


def _args(s: Scenario, *more: str) -> list[str]:
    # Recorded removals only: the scenario's own silent losses (some blocked) stay out.
    board = ("--board", s.team.id, "--board", s.archive.id)
    return [*board, "--since", "last-run", "--only-recorded", *more]


def test_a_board_that_refuses_the_token_does_not_stop_the_others(
    sb: Sandbox, scenario: Scenario, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    s = scenario
    invoke, state, recorded, team_lost, archive_lost = _setup(sb, s, tmp_path, monkeypatch)
    give_back = _observer(s, s.archive.id, s.mover.id)
    start = len(sb.server.request_log)

    result = invoke(*_args(s, "--yes", "--format", "json", "-q"))

    assert result.exit_code == ExitCode.AUTH, result.output
    assert "Traceback" not in result.output
    summary: dict[str, Any] = json.loads(result.stdout)
    assert (summary["outcome"], summary["exit_code"]) == ("refused", 3)
    # The team board's members are back; the archive board's are not, and one write (the
    # first, alone) was sent there.
    assert _on_card(s, team_lost) == team_lost
    assert _on_card(s, archive_lost) == set()
    probe = _writes_to(sb, s, start, s.archive.id)
    assert len(probe) == 1, probe
    assert probe[0].endswith(" 401"), probe
    assert summary["apply"]["applied"] == len(team_lost)
    assert summary["apply"]["failed"] == 1
    (refused,) = summary["refused_boards"]
    left = len(archive_lost)
    assert summary["apply"]["not_attempted"] == left - 1
    # Each board's counts (R35b: a cron wrapper could not tell which boards were repaired).
    counts = {b["id"]: b["apply"] for b in summary["boards"]}
    assert counts[s.team.id] == {
        "applied": len(team_lost), "already_satisfied": 0, "drifted": 0, "blocked": 0,
        "failed": 0, "not_attempted": 0,
    }  # fmt: skip
    assert (counts[s.archive.id]["applied"], counts[s.archive.id]["failed"]) == (0, 1)
    assert counts[s.archive.id]["not_attempted"] == left - 1
    assert refused == {
        "id": s.archive.id,
        "name": s.archive.name,
        "error": "HTTP 401 unauthorized permission requested",
        "not_written": left,
        "refused": "write",
    }
    # Warned before writing, from the memberships the plan read; one line at the end.
    (warning,) = [x for x in result.stderr.splitlines() if x.startswith("Warning: ")]
    assert warning.startswith(f'Warning: board "{s.archive.name}": the token\'s member @')
    assert "is an observer of it" in warning
    assert "goes on with the other boards and exits 3" in warning
    assert warning.removeprefix("Warning: ") in summary["warnings"]
    (error,) = [x for x in result.stderr.splitlines() if x.startswith("Error: ")]
    assert result.stderr.splitlines()[-1] == error
    assert f'change board "{s.archive.name}" (HTTP 401' in error
    assert f"{left} of its changes were not written" in error
    assert "the other boards' changes were written" in error
    assert "not recorded as the last run" in error
    assert f"make @{s.mover.username} a normal member of that board" in error
    # Nothing journaled pending without its outcome; the last run did not move.
    records = Journal.read(Path(summary["journal"])).records
    pending = {r.change_id for r in records if r.status == "pending"}
    assert len(pending) == len(team_lost) + 1
    answered = {r.change_id for r in records if r.status != "pending"}
    assert pending <= answered
    assert summary["last_run"]["recorded"] is False
    assert json.loads(state.read_text())["last_run"] == recorded

    # Access given: the next nightly run covers the same window and restores that board.
    give_back()
    night = invoke(*_args(s, "--yes", "--format", "json", "-q"))
    assert night.exit_code == ExitCode.OK, night.output
    again = json.loads(night.stdout)
    assert (again["outcome"], again["refused_boards"]) == ("applied", [])
    assert again["apply"]["applied"] == left
    assert _on_card(s, archive_lost | team_lost) == archive_lost | team_lost
    assert again["last_run"]["state_file"] == str(state)
    assert json.loads(state.read_text())["last_run"] > recorded


def test_the_dry_run_warns_of_the_board_and_writes_nothing(
    sb: Sandbox, scenario: Scenario, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The one-step dry run says which board Trello will refuse the writes to and what the run
    will do, from the board reads the plan makes anyway (no request more than without the
    observer); a normal member gets no such warning."""
    s = scenario
    invoke, _, _, _, _ = _setup(sb, s, tmp_path, monkeypatch)
    start = len(sb.server.request_log)
    plain = invoke(*_args(s, "--dry-run", "-q"))
    assert plain.exit_code == ExitCode.OK, plain.output
    assert "Warning: " not in plain.stderr, plain.stderr
    requests = len(sb.server.request_log) - start

    _observer(s, s.archive.id, s.mover.id)
    start = len(sb.server.request_log)
    dry = invoke(*_args(s, "--dry-run", "-q"))
    assert dry.exit_code == ExitCode.OK, dry.output
    (warning,) = [x for x in dry.stderr.splitlines() if x.startswith("Warning: ")]
    assert f'board "{s.archive.name}"' in warning
    assert re.search(r"so Trello will refuse the \d+ changes that would be applied there", warning)
    assert "goes on with the other boards" in warning
    log = sb.server.request_log[start:]
    assert [r for r in log if r.method in WRITES] == []
    assert len(log) <= requests  # the second plan reads no more (its cache may read less)


def test_card_members_whose_grant_the_board_refused_are_not_attempted(
    sb: Sandbox, scenario: Scenario, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """With ``--add-to-board``, members who left the refused board: its first grant is refused
    (failed, the one write there), the other grant is not sent, and their card members, never
    sent, are not attempted (not journaled) with the refusal as the reason, not a grant
    failure of their own nor "the run stopped"; the board's ``not_written`` counts them."""
    s = scenario
    invoke, _, _, team_lost, archive_lost = _setup(sb, s, tmp_path, monkeypatch)
    owls = {m for _, m in archive_lost}
    with s.world.lock:
        for m in sorted(owls):
            s.world.remove_member_from_board(s.archive.id, m, s.mover.id)
    _observer(s, s.archive.id, s.mover.id)
    start = len(sb.server.request_log)

    # -v: every outcome's line, on stderr (the JSON summary on stdout).
    result = invoke(*_args(s, "--add-to-board", "--yes", "--format", "json", "-v"))

    assert result.exit_code == ExitCode.AUTH, result.output
    summary: dict[str, Any] = json.loads(result.stdout)
    assert _on_card(s, team_lost) == team_lost
    on_archive = [
        f"{r.method} {r.path} {r.status}"
        for r in sb.server.request_log[start:]
        if r.method in WRITES and s.archive.id in r.path
    ]
    (probe,) = on_archive
    assert probe.endswith(" 401"), probe
    grants = [x for x in result.stderr.splitlines() if f"→ board {s.archive.name} " in x]
    cards = [x for x in result.stderr.splitlines() if "→ card A #" in x]
    assert (len(grants), len(cards)) == (len(owls), len(archive_lost)), result.stderr
    (failed,) = [x for x in grants if x.lstrip().startswith("FAILED ")]
    assert failed.endswith("(HTTP 401: unauthorized permission requested)"), failed
    refusal = (
        "(not sent: Trello refused the token's member a write to this board, HTTP 401 "
        "unauthorized permission requested)"
    )
    for line in [*cards, *(x for x in grants if x != failed)]:
        assert line.lstrip().startswith("not attempted "), line
        assert line.endswith(refusal), line
    not_written = len(owls) + len(archive_lost)
    assert summary["apply"]["failed"] == 1
    assert summary["apply"]["not_attempted"] == not_written - 1
    (refused,) = summary["refused_boards"]
    assert refused["not_written"] == not_written
    assert f"{not_written} of its changes were not written" in result.stderr
    # On that board only the refused grant is journaled (pending, then failed).
    records = Journal.read(Path(summary["journal"])).records
    journaled = [(r.action, r.status) for r in records if r.board_id == s.archive.id]
    assert journaled == [("add_member_to_board", "pending"), ("add_member_to_board", "failed")]


def test_a_member_made_an_observer_while_the_run_writes_is_told_so(
    sb: Sandbox, scenario: Scenario, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """R39d: the token's member, an admin of both boards when the one-step run planned, made
    an observer of one as it began to write: the line said they were an admin, so the token
    was likely read-only (make a new token), where the fix is their role on that board."""
    from trello_restore import applier

    s = scenario
    invoke, _, _, team_lost, _ = _setup(sb, s, tmp_path, monkeypatch)
    read_live = applier.read_live

    def then_observer(*args: Any, **kwargs: Any) -> Any:
        _observer(s, s.archive.id, s.mover.id)
        return read_live(*args, **kwargs)

    monkeypatch.setattr(applier, "read_live", then_observer)
    result = invoke(*_args(s, "--yes", "-q"))
    assert result.exit_code == ExitCode.AUTH, result.output
    (error,) = [x for x in result.stderr.splitlines() if x.startswith("Error: ")]
    assert "observer" in error, error
    assert "is an admin" not in error, error
    assert "read-only" not in error, error
    assert _on_card(s, team_lost) == team_lost


def test_a_member_taken_off_a_board_while_the_run_writes_is_told_to_be_added_back(
    sb: Sandbox, scenario: Scenario, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """R46b: the token's member, an admin of both boards when the run read them, taken off one
    by another admin as it wrote: the line said they were an admin there, so the token was
    likely read-only (make a new token, which fails again). The board, read again after the
    refusal, cannot be read: they are no member of it now, and the line asks for them to be
    added back."""
    from trello_restore import applier

    s = scenario
    invoke, _, _, team_lost, _ = _setup(sb, s, tmp_path, monkeypatch)
    read_live = applier.read_live
    other = next(m for m in s.archive.memberships if m != s.mover.id)

    def then_removed(*args: Any, **kwargs: Any) -> Any:
        got = read_live(*args, **kwargs)
        with s.world.lock:
            s.archive.memberships[other].member_type = "admin"
            s.world.remove_member_from_board(s.archive.id, s.mover.id, other)
        return got

    monkeypatch.setattr(applier, "read_live", then_removed)
    result = invoke(*_args(s, "--yes", "--format", "json", "-q"))
    assert result.exit_code == ExitCode.AUTH, result.output
    (error,) = [x for x in result.stderr.splitlines() if x.startswith("Error: ")]
    assert "read-only" not in error, error
    assert "is an admin" not in error, error
    assert f"Ask a board admin to add @{s.mover.username} to that board" in error, error
    (refused,) = json.loads(result.stdout)["refused_boards"]
    assert (refused["id"], refused["refused"]) == (s.archive.id, "write")
    assert _on_card(s, team_lost) == team_lost
