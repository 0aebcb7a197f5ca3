"""A run refused by a lock is refused at once, before any request to Trello (README: a second
run "exits at once with code 6"). Over the command line against the sandbox, with another
run's locks held in this process (``locks.apply_lock``, as that run holds them) and a 429 storm
in the sandbox, as when the other run spends the token's whole rate budget: any request of the
refused run would meet a 429 and wait, so it must send none. A dry run takes no lock. The
one-step run takes its run locks once it knows its boards (from the cache of an earlier run's
answers, with no request), and its apply its plan's and boards' locks before its first
request."""

from __future__ import annotations

import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from click.testing import Result

from trello_restore import run
from trello_restore.errors import ExitCode, LockHeld
from trello_restore.locks import apply_lock, hold, lock_dir, lock_names, run_holds
from trello_restore.planfile import read_plan
from trello_restore.sandbox.scenario import Scenario

from .conftest import Sandbox, one_line_error, sandbox_cli
from .test_apply_undo_json import _plan
from .truthcheck import incident_since

Invoke = Callable[..., Result]
#: The tool's rate window (real seconds): a refused run that waited out one 429 would take
#: at least this long.
WINDOW_S = 2.0


@pytest.fixture(name="invoke")
def invoke_fixture(sb: Sandbox, monkeypatch: pytest.MonkeyPatch) -> Invoke:
    monkeypatch.setenv("TRELLO_RESTORE_WINDOW_SECONDS", str(WINDOW_S))
    return sandbox_cli(sb, monkeypatch)


@pytest.fixture(name="locks")
def locks_fixture(_state_home: Path) -> Path:
    """Where the command line takes its locks (``<TRELLO_RESTORE_HOME>/state/locks``)."""
    return lock_dir(_state_home / "state")


def _storm(sb: Sandbox) -> int:
    """Every request answered 429 from now on (for longer than the test); returns where the
    request log stands."""
    mark = len(sb.server.request_log)
    sb.server.set_options(storm_s=600)
    return mark


def _refused(invoke: Invoke, sb: Sandbox, *args: str) -> tuple[Result, float]:
    """Run the command in a storm: its result and real seconds; it sent no request."""
    mark = _storm(sb)
    started = time.monotonic()
    r = invoke(*args)
    seconds = time.monotonic() - started
    sent = [f"{x.method} {x.path} -> {x.status}" for x in sb.server.request_log[mark:]]
    assert sent == [], (sent, r.output)
    return r, seconds


def _boards(plan: Path) -> set[str]:
    p, _ = read_plan(plan)
    return {c.board_id for c in (*p.changes, *(b.change for b in p.blocked))}


def test_a_second_apply_of_a_plan_is_refused_before_any_request(
    invoke: Invoke, sb: Sandbox, scenario: Scenario, tmp_path: Path, locks: Path
) -> None:
    """Another run applies the plan (holds its locks): ``apply PLAN --yes`` exits 6 saying so,
    sends nothing (not even ``members/me``, which would meet the storm's 429s and wait), and
    takes less than one rate window; it leaves no journal."""
    plan = _plan(invoke, scenario, tmp_path / "plan.json")
    digest = read_plan(plan)[1].digest
    journal = tmp_path / "j.jsonl"
    with apply_lock(lock_names(digest, _boards(plan)), locks):
        r, seconds = _refused(invoke, sb, "apply", str(plan), "--yes", "--journal", str(journal))
    one_line_error(r, ExitCode.LOCKED, "another trello-restore run is applying or undoing this "
                   "plan", "wait for it to finish")  # fmt: skip
    assert seconds < WINDOW_S
    assert not journal.exists()


def test_an_apply_on_a_board_another_plan_holds_is_refused_before_any_request(
    invoke: Invoke, sb: Sandbox, scenario: Scenario, tmp_path: Path, locks: Path
) -> None:
    """Another run applies another plan on a board of this plan's changes (holds its board
    lock): the apply exits 6 naming the board by name and id (from the plan), with no
    request."""
    plan = _plan(invoke, scenario, tmp_path / "plan.json")
    board = sorted(_boards(plan))[-1]
    name = sb.world.boards[board].name
    with apply_lock(lock_names("cd" * 32, [board]), locks):
        r, seconds = _refused(invoke, sb, "apply", str(plan), "--yes")
    one_line_error(r, ExitCode.LOCKED, f'applying or undoing board "{name}" ({board}); wait for '
                   "it to finish")  # fmt: skip
    assert seconds < WINDOW_S


def test_a_second_undo_of_a_journal_is_refused_before_any_request(
    invoke: Invoke, sb: Sandbox, scenario: Scenario, tmp_path: Path, locks: Path
) -> None:
    """Another run undoes (or applies) the journal's plan: ``undo J --yes`` exits 6 with no
    request, in less than one rate window, and the journal is as it was."""
    plan = _plan(invoke, scenario, tmp_path / "plan.json")
    journal = tmp_path / "j.jsonl"
    assert invoke("apply", str(plan), "--yes", "-q", "--journal", str(journal)).exit_code == 0
    before = journal.read_bytes()
    digest = read_plan(plan)[1].digest
    with apply_lock(lock_names(digest, _boards(plan)), locks):
        r, seconds = _refused(invoke, sb, "undo", str(journal), "--yes")
    one_line_error(r, ExitCode.LOCKED, "another trello-restore run is applying or undoing this "
                   "plan")  # fmt: skip
    assert seconds < WINDOW_S
    assert journal.read_bytes() == before


def test_dry_runs_take_no_lock(
    invoke: Invoke, sb: Sandbox, scenario: Scenario, tmp_path: Path, locks: Path
) -> None:
    """With the plan's locks held by another run, ``apply --dry-run`` and ``undo --dry-run``
    still read and report (exit 0): a dry run writes nothing, so it takes no lock."""
    plan = _plan(invoke, scenario, tmp_path / "plan.json")
    journal = tmp_path / "j.jsonl"
    assert invoke("apply", str(plan), "--yes", "-q", "--journal", str(journal)).exit_code == 0
    digest = read_plan(plan)[1].digest
    with apply_lock(lock_names(digest, _boards(plan)), locks):
        dry = invoke("apply", str(plan), "--dry-run", "-q", "--journal", str(journal))
        assert dry.exit_code == ExitCode.OK, dry.output
        undo = invoke("undo", str(journal), "--dry-run", "-q")
        assert undo.exit_code == ExitCode.OK, undo.output


def test_a_one_step_run_refused_at_its_apply_sends_nothing_more(
    invoke: Invoke,
    sb: Sandbox,
    scenario: Scenario,
    tmp_path: Path,
    locks: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """A one-step run naming the team board, whose plan changes a board it only follows, where
    another run applies a plan (holds that board's lock): it plans, then its apply is refused
    (exit 6, naming the board) before the apply's first request (``members/me``), though the
    storm begun as the apply starts would answer it 429."""
    plan = _plan(invoke, scenario, tmp_path / "plan.json")
    followed = sorted(_boards(plan) - {scenario.team.id})
    assert followed, "the plan changes a board it only follows"
    marks: list[int] = []
    real = run.run_apply

    def stormed(*args: Any, **kwargs: Any) -> Any:
        marks.append(_storm(sb))
        return real(*args, **kwargs)

    monkeypatch.setattr(run, "run_apply", stormed)
    since = incident_since(scenario)
    with apply_lock(lock_names("cd" * 32, followed[:1]), locks):
        r = invoke("--board", scenario.team.id, "--since", since, "--removed-by",
                   scenario.mover.username, "--add-to-board", "--yes", "-q")  # fmt: skip
    name = sb.world.boards[followed[0]].name
    one_line_error(r, ExitCode.LOCKED, f'applying or undoing board "{name}" ({followed[0]})')
    assert len(marks) == 1, "the run planned and came to its apply"
    assert [f"{x.method} {x.path}" for x in sb.server.request_log[marks[0] :]] == []


def test_a_second_one_step_run_is_refused_with_no_request(
    invoke: Invoke, sb: Sandbox, scenario: Scenario, tmp_path: Path, locks: Path
) -> None:
    """Another one-step run works on the team board (holds its run lock): a second one exits 6
    without a request, its account and board read from the answers kept in the cache by the
    run before (README: 'having read nothing but who it is and which boards it names')."""
    _plan(invoke, scenario, tmp_path / "plan.json")  # the cache holds the account and board
    since = incident_since(scenario)
    with hold(locks, [f"run-board-{scenario.team.id}"]):
        r, seconds = _refused(invoke, sb, "--board", scenario.team.id, "--since", since,
                              "--removed-by", scenario.mover.username, "--yes", "-q")  # fmt: skip
    one_line_error(r, ExitCode.LOCKED, f'working on board "{scenario.team.name}" '
                   f"({scenario.team.id}); try again later")  # fmt: skip
    assert seconds < WINDOW_S


def test_a_run_takes_again_only_the_locks_it_holds(tmp_path: Path) -> None:
    """Within ``run_holds`` (the locks a run took before its first request), the engine's
    ``apply_lock`` of the same locks counts them as this run's; a lock the run does not hold
    is taken, or refused when another holds it; once the run ends, its locks are free and a
    second holder of one is refused again."""
    d = tmp_path / "locks"
    with hold(d, ["board-b"]), run_holds(d, ["plan-x", "board-a"]):  # board-b: another run's
        with apply_lock(["plan-x", "board-a", "board-c"], d):
            pass
        with pytest.raises(LockHeld, match="board b"), apply_lock(["plan-x", "board-b"], d):
            pass  # pragma: no cover - refused
    with hold(d, ["plan-x"]), pytest.raises(LockHeld, match="this plan"), hold(d, ["plan-x"]):
        pass  # pragma: no cover - refused
