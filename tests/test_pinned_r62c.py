"""Rules that mutation testing (R62c) found no test for, each pinned by a test that fails with
its mutant applied: the trial-undo hint (its put-back command under a cause from the
environment, the changes a one-step run leaves out not counted as blocked, the window's edge),
a lost lock warned of once, invited members not taken for deactivated ones, a board's exact
name before one differing in case, what a journal leaves to undo, and the refusal line of a
run refused both a read and a write."""

from __future__ import annotations

import json
import logging
import os
import re
import shlex
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any, cast

import pytest
from click.testing import Result
from filelock import FileLock

from trello_restore import lock_keep
from trello_restore.boards import _by_name
from trello_restore.errors import ExitCode
from trello_restore.journal import JournalRecord
from trello_restore.live import LiveBoard, deactivated_members
from trello_restore.models import (
    History,
    MemberAction,
    MemberRef,
    Membership,
    Plan,
    PlanOptions,
    Skipped,
    State,
)
from trello_restore.refusals import refused_boards_line
from trello_restore.sandbox.scenario import Scenario
from trello_restore.undo_left import nothing_to_undo, running_writes, undoable
from trello_restore.undone_hint import own_removals

from .conftest import Sandbox
from .test_trial_undo_hint import _cli_at_home, _trial_plan

# --------------------------------------------------------------------------- the trial undo

#: The command a hint names to put an undo's removals back (``undone_hint._command``).
_COMMAND = re.compile(
    r"plan (?:it|them) and apply the plan: (trello-restore .+?), then trello-restore apply \S+$"
)


def _trial_undone(
    sb: Sandbox, scenario: Scenario, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> tuple[Callable[..., Result], str]:
    """The README's trial: the incident planned (``--removed-by`` the token's member,
    ``--add-to-board``), applied, and undone with ``--include-board-memberships``. The invoker
    (no config file, state under the test's home) and the ``--since`` of the plan."""
    invoke, home = _cli_at_home(sb, monkeypatch, tmp_path)
    since = (scenario.incident_at - timedelta(hours=1)).isoformat()
    _, plan = _trial_plan(invoke, scenario, since, tmp_path)
    trial = invoke("apply", str(plan), "--yes", "-q")
    assert trial.exit_code == ExitCode.OK, trial.output
    (journal,) = (home / "state" / "journals").glob("*.jsonl")
    undone = invoke("undo", str(journal), "--include-board-memberships", "--yes", "-q")
    assert undone.exit_code == ExitCode.OK, undone.output
    return invoke, since


def test_a_one_step_run_does_not_count_what_it_leaves_out_of_an_undo_as_blocked(
    sb: Sandbox, scenario: Scenario, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    """After a trial applied with ``--add-to-board`` and undone with
    ``--include-board-memberships``, a one-step run of the token's member's removals without
    ``--add-to-board`` leaves the undo's removals out (said, nothing written): the re-adds it
    would have blocked (their members are off the board) are among those left out, not
    ``blocked``: exit 0, no blocked change (R62c: mutant A14)."""
    invoke, since = _trial_undone(sb, scenario, monkeypatch, tmp_path)
    s = scenario
    dry = invoke("--board", s.team.id, "--since", since, "--removed-by", s.mover.username,
                 "--dry-run", "--format", "json")  # fmt: skip
    assert dry.exit_code == ExitCode.OK, dry.output
    doc = json.loads(dry.stdout)
    assert len(doc["blocked"]) > 0, doc["summary"]  # a plan (file) of them: blocked there
    run = invoke("--board", s.team.id, "--since", since, "--removed-by", s.mover.username,
                 "--yes", "--format", "json", "-q")  # fmt: skip
    assert run.exit_code == ExitCode.OK, run.output
    summary = json.loads(run.stdout)
    assert [x for x in summary["warnings"] if "left out of this run" in x], summary["warnings"]
    assert summary["outcome"] == "nothing_to_do", summary["outcome"]
    assert summary["plan"]["blocked"] == 0, summary["plan"]
    assert summary["apply"]["blocked"] == 0, summary["apply"]
    assert summary["plan"]["changes"] == 0, summary["plan"]


def test_the_put_back_command_says_any_cause_when_the_run_had_one(
    sb: Sandbox, scenario: Scenario, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    """A run with a cause (``TRELLO_RESTORE_CAUSE=move``, as a cron environment sets it) that
    leaves out a trial undo's removals names a command to put them back that carries
    ``--cause any``: run as printed, in that same environment, it plans them (without it the
    environment's cause filtered them all again) (R62c: mutant A7)."""
    invoke, since = _trial_undone(sb, scenario, monkeypatch, tmp_path)
    s = scenario
    dry = invoke("--board", s.team.id, "--since", since, "--add-to-board", "--dry-run",
                 "--format", "json", TRELLO_RESTORE_CAUSE="move")  # fmt: skip
    assert dry.exit_code == ExitCode.OK, dry.output
    found = [m for x in json.loads(dry.stdout)["warnings"] if (m := _COMMAND.search(x))]
    assert found, json.loads(dry.stdout)["warnings"]
    words = shlex.split(found[0].group(1))
    assert words[words.index("--cause") + 1] == "any", words
    assert os.environ["TRELLO_RESTORE_CAUSE"] == "move"
    monkeypatch.chdir(tmp_path)
    planned = invoke(*words[1:], "--format", "json")
    assert planned.exit_code == ExitCode.OK, planned.output
    doc = json.loads(planned.stdout)
    assert doc["summary"]["card_changes"] > 0, doc["summary"]
    assert [x for x in doc["warnings"] if "this plan adds back" in x], doc["warnings"]


# --------------------------------------------------------------------------- the hint's window

_ME = "5f0000000000000000000001"
_SINCE = datetime(2025, 3, 3, 9, 0, 0, 500_000, tzinfo=UTC)


def _skipped_plan(action_id: str) -> Plan:
    """A plan from ``_SINCE`` that skipped one removal (``filtered``, by the cause)."""
    member = MemberRef("m1", "ana")
    return Plan(
        PlanOptions(since=_SINCE, cause="move"),
        (),
        (),
        (Skipped("card1", "Card", member, "filtered", action_id),),
    )


def _history(*actions: MemberAction) -> History:
    return History(actions, (), {}, (), {}, {})


def test_a_removal_at_the_plans_since_is_the_windows() -> None:
    """The token's member's removal that a plan left out, made at exactly its ``--since``
    (to the millisecond), is in the window: counted by the hint (R62c: mutant A4)."""
    action_id = f"{int(_SINCE.timestamp()):08x}" + "0" * 16
    removal = MemberAction(action_id, "remove", _SINCE, "card1", "m1", _ME, "b1")
    got = own_removals(_skipped_plan(action_id), _history(removal), _ME, State({}, {}))
    assert [(r.card_id, r.member_id, r.date) for r in got] == [("card1", "m1", _SINCE)]


def test_a_memo_plans_removal_dated_by_its_id_in_the_since_second_is_the_windows() -> None:
    """A plan from the memo (no history) dates a removal by its action id, to the second,
    rounded down: one made in the second of a ``--since`` half a second in is in the window,
    not taken for an earlier window's (R62c: mutant A3)."""
    action_id = f"{int(_SINCE.timestamp()):08x}" + "0" * 16  # 09:00:00, before 09:00:00.5
    got = own_removals(_skipped_plan(action_id), None, _ME, State({}, {}))
    assert [(r.card_id, r.member_id) for r in got] == [("card1", "m1")]


# --------------------------------------------------------------------------- locks


@pytest.fixture(name="lost_lock")
def lost_lock_fixture(tmp_path: Path) -> Iterator[Path]:
    """A lock this process holds whose file is deleted, and another holder (a run that goes by
    the file alone) that has taken the file made again at its path; both let go after."""
    path = tmp_path / "x.lock"
    mine = FileLock(path, mode=0o600, thread_local=False)
    lock_keep.take(mine)
    kept = lock_keep.keep(path, mine, None)
    other = FileLock(path, mode=0o600, thread_local=False)
    try:
        path.unlink()
        other.acquire(timeout=1)
        yield path
    finally:
        other.release()
        lock_keep.forget(kept)


def test_a_lock_another_run_took_is_warned_of_once(
    lost_lock: Path, caplog: pytest.LogCaptureFixture
) -> None:
    """A lock deleted under this run and taken by another run: the first ``retake`` (a
    journal append) warns that the two may write at once; the next ones, with the path
    unchanged, neither warn again nor try again (R62c: mutants H4, H8)."""
    with caplog.at_level(logging.WARNING, logger="trello_restore.locks"):
        for _ in range(3):
            lock_keep.retake()
    said = [r for r in caplog.records if r.levelno == logging.WARNING]
    assert len(said) == 1, [r.getMessage() for r in said]
    assert str(lost_lock) in said[0].getMessage()
    assert "another run has taken it" in said[0].getMessage()


# --------------------------------------------------------------------------- members, boards


def test_an_invited_member_is_not_taken_for_a_deactivated_one() -> None:
    """An invited (unconfirmed) board membership is not a deactivated one: only the
    deactivated member is named (R62c: mutant E11)."""
    lb = LiveBoard(
        "b1",
        {},
        {
            "invited": Membership("invited", "normal", unconfirmed=True),
            "gone": Membership("gone", "normal", deactivated=True),
        },
    )
    assert deactivated_members(cast(Any, None), {"b1": lb}, []) == {"gone": "b1"}


def test_a_member_deactivated_on_two_boards_is_named_with_the_first() -> None:
    """A member deactivated on several boards is named with the first of them (by id), the
    one checked first, not the last (R62c: mutant E9)."""
    gone = {"gone": Membership("gone", "normal", deactivated=True)}
    live = {b: LiveBoard(b, {}, dict(gone)) for b in ("b2", "b1", "b3")}
    assert deactivated_members(cast(Any, None), live, []) == {"gone": "b1"}


def test_a_boards_exact_name_wins_over_one_differing_in_case() -> None:
    """Two boards visible, "Team Board" and "team board": ``--board "Team Board"`` is the
    first, exactly named, not ambiguous (R62c: mutant K1)."""
    boards = [
        {"id": "677b9b90f6ff9f8eb40481ea", "name": "Team Board", "url": "u1"},
        {"id": "677ba9a0f6ff9f8eb4048213", "name": "team board", "url": "u2"},
    ]
    assert _by_name("Team Board", boards, "--board").id == "677b9b90f6ff9f8eb40481ea"
    assert _by_name("team board", boards, "--board").id == "677ba9a0f6ff9f8eb4048213"


# --------------------------------------------------------------------------- journals


def _records(*statuses: str) -> list[JournalRecord]:
    """One card member's apply records, in order."""
    return [
        JournalRecord("c1", "apply", "add_member_to_card", cast(Any, s), "b1", "m1", "card1")
        for s in statuses
    ]


def test_a_write_found_not_to_have_taken_effect_leaves_nothing_to_undo() -> None:
    """A change applied, then written again (``pending``) and found not to have taken
    effect (``not_applied``: nor the earlier write): nothing of it is left to undo, and the
    line says so without crediting an earlier undo (R62c: mutants B1, B9)."""
    records = _records("applied", "pending", "not_applied")
    assert undoable(records) == []
    said = nothing_to_undo(records)
    assert said == "Nothing to undo: every change this journal applied (1) is settled already."


def test_a_journal_replaced_during_a_dry_run_undo_adds_no_running_write() -> None:
    """A dry run of an undo reads the journal again after the boards: when what it reads then
    does not extend what it read first (the file replaced meanwhile), none of those records
    count as writes running now (R62c: mutant B10)."""
    (read,) = _records("applied")
    other = [
        JournalRecord("c2", "apply", "add_member_to_card", "pending", "b1", "m2", "card2"),
        JournalRecord("c3", "apply", "add_member_to_card", "pending", "b1", "m3", "card3"),
    ]
    assert running_writes([read], other) == []
    extended = running_writes([read], [read, *other[1:]])  # appended to: counted
    assert [r.change_id for r in extended] == ["c3"]


# --------------------------------------------------------------------------- refusals


def test_a_run_refused_a_read_and_a_write_says_read_or_change() -> None:
    """A run refused a read of one board and a write on another: the line says the token's
    member may not "read or change" them, and that nothing more was sent there after the
    refusal (R62c: mutant R4)."""
    refused = [("bA", "Board A", "HTTP 401 unauthorized", 3)]
    refused += [("bB", "Board B", "HTTP 401 unauthorized", 2)]
    line = refused_boards_line(
        MemberRef("m1", "danas", "Dana S"), refused, elsewhere=None, unread={"bA"}
    )
    assert "Trello refused to let the token's member @danas (Dana S) read or change 2 boards" in (
        line
    )
    assert "(nothing more was sent there after the refusal)" in line
