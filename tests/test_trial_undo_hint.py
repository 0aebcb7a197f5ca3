"""A plan that leaves out the card members this tool's own undo took off says so (R29a).

A user tries the tool (the README's plan, applied), undoes the trial
(``undo --include-board-memberships``), then runs the nightly ``--cause move`` by hand: the
latest removal on each of those cards is the undo's, by the token's member, so ``--cause move``
filters them and the run found nothing to do, exit 0, recorded as the last run, without a word.
It now warns once (stderr and the JSON's ``warnings``): how many, which journal's undo, that the
run is recorded as the last run, and the command that puts them back; that command, run as
said, restores exactly the trial's changes.
"""

from __future__ import annotations

import json
import re
import shlex
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from click.testing import Result

from trello_restore.errors import ExitCode
from trello_restore.sandbox.scenario import Scenario
from trello_restore.sandbox.truth import snapshot

from .conftest import Sandbox, configless_cli

_HINT = re.compile(
    r"(\d+) card members? on (\d+) cards? (?:is|are) left out of this plan: the latest removal "
    r"of each is this tool's undo of journal (\S+) \(undone [^)]*\)"
)
_COMMAND = re.compile(
    r"plan (?:it|them) and apply the plan: (trello-restore .+?), then (trello-restore apply \S+)$"
)
_LEFT_OUT = re.compile(
    r"(\d+) card members? on (\d+) cards? (?:is|are) left out of this run: the latest removal "
    r"of each is this tool's undo of journal (\S+) \(undone [^)]*\)"
)


def test_a_plan_that_leaves_out_a_trial_undos_removals_says_so_and_how_to_put_them_back(
    sb: Sandbox, scenario: Scenario, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    invoke, home = _cli_at_home(sb, monkeypatch, tmp_path)
    s, w = scenario, scenario.world
    since = (s.incident_at - timedelta(hours=1)).isoformat()
    before, plan = _trial_plan(invoke, s, since, tmp_path)
    trial = invoke("apply", str(plan), "--yes", "-q")
    assert trial.exit_code == ExitCode.OK, trial.output
    with w.lock:
        tried = snapshot(w)
    added = {
        k[1]: set(tried[k]) - set(before[k])  # type: ignore[call-overload]
        for k in tried
        if k[0] == "card" and k[2] == "idMembers" and tried[k] != before[k]
    }
    n_added = sum(len(v) for v in added.values())
    assert n_added > 1
    (journal,) = (home / "state" / "journals").glob("*.jsonl")
    undone = invoke("undo", str(journal), "--include-board-memberships", "--yes", "-q")
    assert undone.exit_code == ExitCode.OK, undone.output
    with w.lock:
        assert snapshot(w) == before
    # Planned again as the trial was (any cause, no --add-to-board): the undo's removals are
    # added back, those of members the undo took off the board blocked; the count says so
    # (R47c: "adds back 147", 88 of them blocked and not written).
    plain = invoke("--board", s.team.id, "--since", since, "--dry-run", "--format", "json")
    assert plain.exit_code == ExitCode.OK, plain.output
    doc = json.loads(plain.stdout)
    (adds,) = [x for x in doc["warnings"] if "this plan adds back" in x]
    blocked = len(doc["blocked"])
    assert 0 < blocked < n_added, doc["summary"]
    assert f"this plan adds back {n_added} card members on {len(added)} cards " in adds
    assert f"cards ({blocked} of them blocked): " in adds

    # The nightly config by hand: nothing to apply, recorded, and now a warning that says why.
    night_args = ("--board", s.team.id, "--since", since, "--cause", "move", "--add-to-board")
    dry = invoke(*night_args, "--dry-run", "--format", "json")
    assert dry.exit_code == ExitCode.OK, dry.output
    (hint,) = [x for x in json.loads(dry.stdout)["warnings"] if _HINT.search(x)]
    assert "a run that applies this plan is recorded as the last run" in hint
    again = invoke(*night_args, "--dry-run", "--format", "json")  # the plan memo's plan
    assert hint in json.loads(again.stdout)["warnings"]
    night = invoke(*night_args, "--yes", "--format", "json", "-q")
    assert night.exit_code == ExitCode.OK, night.output
    summary = json.loads(night.stdout)
    assert summary["last_run"]["state_file"], summary  # recorded …
    (said,) = [x for x in summary["warnings"] if _HINT.search(x)]
    assert "this run is recorded as the last run" in said  # … and it says so
    assert said in night.stderr
    assert night.stderr.count(said) == 1
    found = _HINT.search(said)
    assert found is not None
    assert int(found.group(1)) == n_added
    assert int(found.group(2)) == len(added)
    assert found.group(3) == str(journal)
    with w.lock:
        assert snapshot(w) == before  # the run put nothing back

    # A run whose window begins after the undo leaves those removals out as an earlier
    # window's, which the run above said: not said again by every later run (R32a: each cron
    # run repeated it, and cron mailed it every 15 minutes).
    later = (datetime.now(UTC) + timedelta(seconds=1)).isoformat()
    window = ("--board", s.team.id, "--since", later, "--cause", "move", "--add-to-board")
    after_undo = invoke(*window, "--dry-run", "--format", "json")
    assert after_undo.exit_code == ExitCode.OK, after_undo.output
    assert not [x for x in json.loads(after_undo.stdout)["warnings"] if _HINT.search(x)]

    # The commands it names: the plan of the undo's removals, and its apply.
    command = _COMMAND.search(said)
    assert command is not None, said
    words = shlex.split(command.group(1))
    assert words[0] == "trello-restore"
    assert "--removed-by" in words
    assert words[-3:] == ["--dry-run", "--plan-out", "undone.json"]
    # The same plan in one step, unattended (R33b: the token's member as --removed-by, as an
    # old README's cron config had it, put back all an undo took off at the next cron run,
    # without a word): left out, said, exit 0, recorded as the last run.
    # R48b: its plan's changes were on a closed board, and granted members a board back they
    # were on (the undo took them off): the run, which leaves them out, warned of both.
    with w.lock:
        w.set_board_closed(s.archive.id, True, s.mover.id)
    dry = json.loads(invoke(*words[1:-3], "--dry-run", "--format", "json").stdout)
    assert [x for x in dry["warnings"] if " is closed (archived)" in x]
    assert [x for x in dry["warnings"] if "without a move" in x]
    one_step = invoke(*words[1:-3], "--yes", "--format", "json", "-q")
    with w.lock:
        w.set_board_closed(s.archive.id, False, s.mover.id)
    assert one_step.exit_code == ExitCode.OK, one_step.output
    summary = json.loads(one_step.stdout)
    assert summary["outcome"] == "nothing_to_do", summary
    assert not [x for x in summary["warnings"] if " is closed (archived)" in x], summary
    assert not [x for x in summary["warnings"] if "without a move" in x], summary
    assert " is closed" not in one_step.stderr
    assert summary["last_run"]["state_file"], summary
    (left,) = [x for x in summary["warnings"] if _LEFT_OUT.search(x)]
    assert left in one_step.stderr
    counted = _LEFT_OUT.search(left)
    assert counted is not None
    assert (int(counted.group(1)), int(counted.group(2))) == (n_added, len(added))
    assert "a run without a plan file never adds back what this tool's undo took off" in left
    assert _COMMAND.search(left) is not None, left
    assert summary["plan"]["changes"] == 0, summary["plan"]
    with w.lock:
        assert snapshot(w) == before  # nothing put back
    # The token's member takes someone off another card by hand since (R34d: the commands
    # put that back too; their window ends a second after the undo's last removal now).
    time.sleep(2.1)
    with w.lock:  # on the board the commands name: the archive board, where the trial added
        board = w.boards[s.archive.id]
        card, by_hand = next(
            (c, m)
            for c in w.cards_on_board(board.id)
            if not c.closed and c.id not in added
            for m in c.id_members
            if board.is_active_member(m)
        )
        w.remove_member_from_card(card.id, by_hand, s.mover.id)
    expected = {
        **tried,
        ("card", card.id, "idMembers"): snapshot(w)[("card", card.id, "idMembers")],
    }
    # Run as said, the two commands give back exactly the trial's changes; the dry run says
    # that its plan adds back what the undo took off.
    monkeypatch.chdir(tmp_path)
    planned = invoke(*words[1:], "--format", "json")
    assert planned.exit_code == ExitCode.OK, planned.output
    (adds,) = [x for x in json.loads(planned.stdout)["warnings"] if "this plan adds back" in x]
    assert f"this plan adds back {n_added} card members on {len(added)} cards" in adds
    assert "a plan file of it (--plan-out) adds them back with `apply`" in adds
    back = invoke(*shlex.split(command.group(2))[1:], "-q")
    assert back.exit_code == ExitCode.OK, back.output
    with w.lock:
        assert snapshot(w) == expected
        assert by_hand not in w.cards[card.id].id_members
    # Put back, nothing is left out any more: no warning.
    after = invoke(*night_args, "--dry-run", "--format", "json")
    assert not [x for x in json.loads(after.stdout)["warnings"] if _HINT.search(x)]


def test_an_undo_through_another_name_of_this_machine_is_still_this_tools_undo(
    sb: Sandbox, scenario: Scenario, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The plan applied and undone through ``http://LOCALHOST:PORT/1/`` and the nightly run
    through ``http://127.0.0.1:PORT/1``: one server, so the undo's removals are left out and
    said (the journal's URL was another API to the guard, which then said nothing)."""
    invoke, _ = _cli_at_home(sb, monkeypatch, tmp_path)
    s, w = scenario, scenario.world
    since = (s.incident_at - timedelta(hours=1)).isoformat()
    before, plan = _trial_plan(invoke, s, since, tmp_path)
    assert sb.base_url.startswith("http://127.0.0.1:")
    other_name = sb.base_url.replace("http://127.0.0.1", "HTTP://LOCALHOST") + "/"
    trial = invoke("apply", str(plan), "--yes", "-q", "--api-url", other_name)
    assert trial.exit_code == ExitCode.OK, trial.output  # the plan's API, named otherwise
    (journal,) = (tmp_path / "home" / "state" / "journals").glob("*.jsonl")
    undone = invoke("undo", str(journal), "--include-board-memberships", "--yes", "-q",
                    "--api-url", other_name)  # fmt: skip
    assert undone.exit_code == ExitCode.OK, undone.output
    with w.lock:
        assert snapshot(w) == before
    night = invoke("--board", s.team.id, "--since", since, "--cause", "move", "--add-to-board",
                   "--yes", "--format", "json", "-q")  # fmt: skip
    assert night.exit_code == ExitCode.OK, night.output
    (said,) = [x for x in json.loads(night.stdout)["warnings"] if _HINT.search(x)]
    found = _HINT.search(said)
    assert found is not None
    assert found.group(3) == str(journal)
    with w.lock:
        assert snapshot(w) == before  # nothing put back


def test_no_hint_without_an_undo_of_this_tool(
    sb: Sandbox, scenario: Scenario, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A filtered run with no journal of an undo warns of nothing (and reads no journal)."""
    invoke, _ = _cli_at_home(sb, monkeypatch, tmp_path)
    s = scenario
    since = (s.incident_at - timedelta(hours=1)).isoformat()
    dry = invoke("--board", s.team.id, "--since", since, "--cause", "move", "--dry-run",
                 "--format", "json")  # fmt: skip
    assert dry.exit_code == ExitCode.OK, dry.output
    assert not [x for x in json.loads(dry.stdout)["warnings"] if "undo" in x]


def test_the_warning_counts_the_cards_a_card_filter_chooses_and_dates_the_last_undo(
    sb: Sandbox, scenario: Scenario, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """R32c: a ``--card`` run named every member the undo took off the other cards (they are
    ``filtered`` by ``--card``, not left out by the undo); and a journal applied, undone,
    applied again and undone again gave the first undo's date beside the second's ``--since``.
    Now a ``--card`` run counts its card's members only (none for a card the undo did not
    touch), and the date is that of the removals left out: the one the command gives."""
    invoke, home = _cli_at_home(sb, monkeypatch, tmp_path)
    s = scenario
    since = (s.incident_at - timedelta(hours=1)).isoformat()
    plan = tmp_path / "plan.json"
    made = invoke("--board", s.team.id, "--since", since, "--removed-by", s.mover.username,
                  "--add-to-board", "--dry-run", "-q", "--plan-out", str(plan))  # fmt: skip
    assert made.exit_code == ExitCode.OK, made.output
    for _ in range(2):  # applied, undone, applied again, undone again: one journal
        applied = invoke("apply", str(plan), "--yes", "-q")
        assert applied.exit_code == ExitCode.OK, applied.output
        (journal,) = (home / "state" / "journals").glob("*.jsonl")
        undone = invoke("undo", str(journal), "--include-board-memberships", "--yes", "-q")
        assert undone.exit_code == ExitCode.OK, undone.output
        time.sleep(1.1)  # the second undo a second later: its date differs from the first's

    def hint(*extra: str) -> str | None:
        args = ("--board", s.team.id, "--since", since, "--cause", "move", *extra)
        dry = invoke(*args, "--dry-run", "--format", "json")
        assert dry.exit_code == ExitCode.OK, dry.output
        said = [x for x in json.loads(dry.stdout)["warnings"] if _HINT.search(x)]
        return said[0] if said else None

    whole = hint()
    assert whole is not None
    dated = re.search(r"\(undone (\S+) (\S+) UTC\)", whole)
    given = re.search(r"--since (\S+)Z", whole)
    assert dated is not None
    assert given is not None
    assert f"{dated.group(1)}T{dated.group(2)}" == given.group(1)  # the last undo's date
    changes = json.loads(plan.read_text())["changes"]
    members: dict[str, set[str]] = {}
    for c in changes:
        if c["action"] == "add_member_to_card":
            members.setdefault(c["card"]["id"], set()).add(c["member"]["id"])
    card, theirs = next(iter(members.items()))
    one = hint("--card", card)
    assert one is not None
    found = _HINT.search(one)
    assert found is not None
    assert (int(found.group(1)), int(found.group(2))) == (len(theirs), 1)
    untouched = next(
        c.id for c in s.world.cards.values() if c.id_board == s.team.id and c.id not in members
    )
    assert hint("--card", untouched) is None


def test_an_undo_journal_that_cannot_be_read_leaves_out_every_own_re_add(
    sb: Sandbox, scenario: Scenario, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """R33c: one damaged line in the journal of the undo turned the guard off without a word,
    and a one-step run with ``--removed-by`` the token's member put back all the undo took
    off. A journal that may hold an undo and cannot be read leaves out every card member
    whose latest removal is the token's member's, saying which journal and why."""
    invoke, home = _cli_at_home(sb, monkeypatch, tmp_path)
    s, w = scenario, scenario.world
    since = (s.incident_at - timedelta(hours=1)).isoformat()
    before, plan = _trial_plan(invoke, s, since, tmp_path)
    assert invoke("apply", str(plan), "--yes", "-q").exit_code == ExitCode.OK
    (journal,) = (home / "state" / "journals").glob("*.jsonl")
    undone = invoke("undo", str(journal), "--include-board-memberships", "--yes", "-q")
    assert undone.exit_code == ExitCode.OK, undone.output
    dry = invoke("--board", s.team.id, "--since", since, "--cause", "move", "--add-to-board",
                 "--dry-run", "--format", "json")  # fmt: skip
    (hint,) = [x for x in json.loads(dry.stdout)["warnings"] if _HINT.search(x)]
    command = _COMMAND.search(hint)
    assert command is not None, hint
    words = shlex.split(command.group(1))[1:-3]  # the plan of the undo's removals, in one step
    last = json.loads(journal.read_text().splitlines()[-1])
    with journal.open("a") as f:
        f.write(json.dumps({**last, "status": "bogus"}) + "\n")

    one_step = invoke(*words, "--yes", "--format", "json", "-q")
    assert one_step.exit_code == ExitCode.OK, one_step.output
    summary = json.loads(one_step.stdout)
    assert summary["outcome"] == "nothing_to_do", summary
    (left,) = [x for x in summary["warnings"] if "left out of this run" in x]
    assert "a journal that may hold this tool's undo of them cannot be read" in left
    assert f"{journal}: line " in left
    assert "is damaged (unknown status" in left
    with w.lock:
        assert snapshot(w) == before
    # Not recorded as the last run (R39c: recorded, a journals directory this user could not
    # read gave up a whole incident for good): the next run, once the journal can be read,
    # covers the window again.
    assert "this run is not recorded as the last run on these boards" in left
    last_run = summary["last_run"]
    assert last_run["recorded"] is False, last_run
    assert last_run["not_recorded"].startswith(
        "this run was not recorded as the last run on these boards: it left out what this "
        "tool's undo may have undone, as a journal that may hold that undo cannot be read ("
    )
    assert f"{journal}: line " in last_run["not_recorded"]
    journal.write_text("".join(journal.read_text().splitlines(keepends=True)[:-1]))
    again = json.loads(invoke(*words, "--yes", "--format", "json", "-q").stdout)
    assert (again["outcome"], again["last_run"]["recorded"]) == ("nothing_to_do", True), again
    (left,) = [x for x in again["warnings"] if "left out of this run" in x]
    assert "when this run is recorded as the last run on these boards (once it succeeds)" in left


def _cli_at_home(
    sb: Sandbox, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> tuple[Callable[..., Result], Path]:
    """The command line pointed at the sandbox, reading no config file, with its state (the
    journals directory among it) under a home of the test's: the invoker, and that home."""
    invoke = configless_cli(sb, monkeypatch, tmp_path)
    home = tmp_path / "home"
    monkeypatch.setenv("TRELLO_RESTORE_HOME", str(home))
    return invoke, home


def _trial_plan(
    invoke: Callable[..., Result], s: Scenario, since: str, tmp_path: Path
) -> tuple[Any, Path]:
    """The README's plan of the incident (``--removed-by`` the mover, ``--add-to-board``)
    exported: the world as it was before, and the plan file."""
    plan = tmp_path / "plan.json"
    made = invoke("--board", s.team.id, "--since", since, "--removed-by", s.mover.username,
                  "--add-to-board", "--dry-run", "-q", "--plan-out", str(plan))  # fmt: skip
    assert made.exit_code == ExitCode.OK, made.output
    with s.world.lock:
        return snapshot(s.world), plan
