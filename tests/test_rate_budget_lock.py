"""A one-step run whose first reads (who it is, which boards) meet 429s while another run of
this tool holds locks in the same lock directory: that run is spending the token's rate budget
(a cron job started while the last one still applies), so the run stops at once with exit 6
naming it (``locks.RateBudgetGuard``), where it retried for minutes and ended with exit 4
"Trello is rate limiting". Over the command line against the sandbox in a 429 storm, with a
cold HTTP cache (a fresh home, as when the other run holds the cache), the locks held by
another process (a subprocess) or in this one (``locks.hold``, which the guard's try of each
lock file meets as it would another process's). A 429 with no lock held, a dry run, and a 429
after the run holds its locks are waited out as before."""

from __future__ import annotations

import contextlib
import json
import os
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from click.testing import Result

from trello_restore import lastrun, locks, oneshot
from trello_restore.errors import ExitCode, LockHeld
from trello_restore.locks import hold, lock_dir
from trello_restore.sandbox.scenario import Scenario

from .conftest import Sandbox, one_line_error
from .test_lock_before_request import WINDOW_S, invoke_fixture  # noqa: F401 - the fixture
from .truthcheck import incident_since

Invoke = Callable[..., Result]
#: Holds the named locks of a lock directory until its standard input closes.
_HOLDER = """
import sys
from pathlib import Path
from trello_restore.locks import hold
with hold(Path(sys.argv[1]), sys.argv[2:]):
    print("held", flush=True)
    sys.stdin.read()
"""


@pytest.fixture(name="locks_dir")
def locks_fixture(_state_home: Path) -> Path:
    """Where the command line takes its locks (``<TRELLO_RESTORE_HOME>/state/locks``)."""
    return lock_dir(_state_home / "state")


@contextlib.contextmanager
def held_elsewhere(directory: Path, names: list[str]) -> Iterator[int]:
    """The named locks held by another process, as another run holds them; yields its pid."""
    with subprocess.Popen(
        [sys.executable, "-c", _HOLDER, str(directory), *names],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    ) as proc:
        assert proc.stdin is not None
        assert proc.stdout is not None
        try:
            assert proc.stdout.readline() == "held\n"
            yield proc.pid
        finally:
            proc.stdin.close()
            proc.wait(30)


def _in_storm(
    invoke: Invoke, sb: Sandbox, *args: str, **env: str
) -> tuple[Result, float, list[str]]:
    """Run the command with every request answered 429: its result, real seconds, and the
    requests it sent."""
    mark = len(sb.server.request_log)
    sb.server.set_options(storm_s=600)
    started = time.monotonic()
    r = invoke(*args, **env)
    seconds = time.monotonic() - started
    return r, seconds, [f"{x.method} {x.path} -> {x.status}" for x in sb.server.request_log[mark:]]


def _run(scenario: Scenario, *scope: str) -> list[str]:
    return [*scope, "--since", incident_since(scenario), "--removed-by",
            scenario.mover.username, "--add-to-board", "--yes", "-q"]  # fmt: skip


def test_a_workspace_run_stops_at_its_first_429_naming_the_run_holding_locks(
    invoke: Invoke, sb: Sandbox, scenario: Scenario, locks_dir: Path
) -> None:
    """Another one-step run works on the team board (its run lock, held in this process): a
    ``--workspace`` run, whose board list is always a request before its lock, meets the storm
    and exits 6 within one rate window, naming that run's pid and board and saying what to do,
    after one 429 per read (it retried none); before, six 429s each and exit 4."""
    team = scenario.team.id
    with hold(locks_dir, [f"run-board-{team}"]):
        r, seconds, sent = _in_storm(
            invoke, sb, *_run(scenario, "--workspace", scenario.organization.id)
        )
    one_line_error(r, ExitCode.LOCKED, f"another trello-restore run (pid {os.getpid()}) is "
                   f"working on board {team} and shares the token's rate budget",
                   "run again when that run has finished", "schedule runs less often",
                   f"run-board-{team}.lock")  # fmt: skip
    assert seconds < WINDOW_S
    assert sent
    assert all(x.endswith("-> 429") for x in sent)
    assert len(sent) == len(set(sent)), sent


def test_a_board_named_with_a_cold_cache_stops_when_another_process_applies(
    invoke: Invoke, sb: Sandbox, scenario: Scenario, locks_dir: Path
) -> None:
    """Another process applies a plan on the archive board (its plan and board locks): a
    ``--board "Team Board"`` run with nothing in the HTTP cache meets the storm reading its
    account and boards, and exits 6 at once naming that process, its plan and its board."""
    archive = scenario.archive.id
    digest = "ab" * 8
    with held_elsewhere(locks_dir, [f"plan-{digest}", f"board-{archive}"]) as pid:
        r, seconds, sent = _in_storm(invoke, sb, *_run(scenario, "--board", "Team Board"))
    one_line_error(r, ExitCode.LOCKED, f"another trello-restore run (pid {pid}) is applying or "
                   f"undoing plan {digest} on board {archive} and shares the token's rate "
                   "budget")  # fmt: skip
    assert seconds < WINDOW_S
    assert sent
    assert len(sent) == len(set(sent)), sent


def test_a_429_with_no_lock_held_is_trellos_and_waited_out(
    invoke: Invoke, sb: Sandbox, scenario: Scenario, locks_dir: Path
) -> None:
    """No other run holds a lock (one let go is no holder): the 429s are Trello's own, retried
    after the rate window, and the run ends with exit 4 saying Trello is rate limiting."""
    with hold(locks_dir, [f"run-board-{scenario.team.id}"]):
        pass  # its lock file is left, not held
    r, seconds, sent = _in_storm(
        invoke, sb, *_run(scenario, "--board", "Team Board"), TRELLO_RESTORE_MAX_RETRIES="1"
    )
    assert r.exit_code == ExitCode.UNREACHABLE, r.output
    assert "Error: Trello kept rate limiting after 2 attempts" in r.stderr
    assert seconds >= WINDOW_S
    assert len(sent) > len(set(sent)), sent  # retried


def test_a_dry_run_takes_no_lock_and_waits_429s_out(
    invoke: Invoke, sb: Sandbox, scenario: Scenario, locks_dir: Path
) -> None:
    """A dry run never takes a lock, and does not stop for another run's: its 429s are
    retried as always (here none: exit 4 at the first)."""
    with hold(locks_dir, [f"run-board-{scenario.team.id}"]):
        r, _, _ = _in_storm(invoke, sb, "--board", "Team Board", "--since",
                            incident_since(scenario), "--dry-run", "-q",
                            TRELLO_RESTORE_MAX_RETRIES="0")  # fmt: skip
    one_line_error(r, ExitCode.UNREACHABLE, "rate limit")


def test_a_429_after_the_run_holds_its_locks_is_waited_out(
    invoke: Invoke,
    sb: Sandbox,
    scenario: Scenario,
    locks_dir: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Once the run holds its locks, another run (on another board) holding locks does not
    stop it: a short storm begun as it takes them is waited out and the run applies."""
    real = locks.run_lock

    @contextlib.contextmanager
    def stormed(*args: Any, **kwargs: Any) -> Iterator[Path]:
        with real(*args, **kwargs) as held:
            sb.server.set_options(storm_s=0.5)
            yield held

    monkeypatch.setattr(oneshot, "run_lock", stormed)
    with hold(locks_dir, [f"run-board-{scenario.archive.id}"]):
        r = invoke(*_run(scenario, "--board", scenario.team.id), "--format", "json")
    summary = json.loads(r.stdout)
    assert r.exit_code == ExitCode.OK, r.output
    assert summary["plan"]["plan_rate_limited"] > 0
    assert summary["apply"]["applied"] > 0


def test_holders_by_process(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """``holders``: the held lock files by process, with its pid from the kernel's lock table
    (another process's from a subprocess), without it where there is no table; free lock
    files and the run's own (``run_holds``) are no holders; no directory, none."""
    d = tmp_path / "locks"
    assert locks.holders(d) == []
    with hold(d, ["run-board-free"]):
        pass
    with held_elsewhere(d, ["plan-p", "board-b"]) as pid, hold(d, ["run-board-a"]):
        with locks.run_holds(d, ["run-board-mine"]):
            found = locks.holders(d)
        monkeypatch.setattr(locks, "PROC_LOCKS", tmp_path / "no-such-table")
        unknown = locks.holders(d)
    assert found == [
        locks.Holder(pid, ("board-b", "plan-p"), d / "board-b.lock"),
        locks.Holder(os.getpid(), ("run-board-a",), d / "run-board-a.lock"),
    ]
    assert unknown == [locks.Holder(None, ("board-b", "plan-p", "run-board-a"), d / "board-b.lock")]
    line = locks.budget_line(unknown)
    assert line.startswith("another trello-restore run is applying or undoing plan p on boards "
                           "a, b and shares the token's rate budget")  # fmt: skip
    assert "run holds locks too" not in line
    assert "(1 other run holds locks too)" in locks.budget_line(found)


def test_the_guard_is_off_once_the_run_holds_its_locks(tmp_path: Path) -> None:
    """``RateBudgetGuard``: ``LockHeld`` while another run holds a lock and this one holds
    none; nothing with no lock held, or once ``locked``."""
    d = tmp_path / "locks"
    guard = locks.RateBudgetGuard(d)
    guard()
    boards = [f"run-board-{n}" for n in "abcde"]
    with hold(d, boards):
        with pytest.raises(LockHeld, match=r"on boards a, b, c and 2 more and shares"):
            guard()
        guard.locked = True
        guard()


def test_a_lookers_shared_lock_in_the_kernels_table_is_not_the_holder(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A look at the locks holds a shared (READ) flock for a moment (``locks._is_held``): in
    the kernel's table beside the holder's WRITE one, it does not hide the holder's pid."""
    d = tmp_path / "locks"
    with hold(d, ["plan-p"]):
        inode = (d / "plan-p.lock").stat().st_ino
        table = tmp_path / "locks-table"
        table.write_text(
            f"1: FLOCK  ADVISORY  WRITE 4242 08:01:{inode} 0 EOF\n"
            f"2: FLOCK  ADVISORY  READ  5151 08:01:{inode} 0 EOF\n"
        )
        monkeypatch.setattr(locks, "PROC_LOCKS", table)
        assert locks.holders(d) == [locks.Holder(4242, ("plan-p",), d / "plan-p.lock")]


def test_the_line_names_the_other_runs_board_by_the_name_this_machine_knows(
    invoke: Invoke, sb: Sandbox, scenario: Scenario, locks_dir: Path
) -> None:
    """R30b #7: the line named the other run's boards by id alone (its locks hold no names).
    A board whose name a last-run state of this machine recorded is named by it too; one
    that none did stays an id. A state file that is not one is passed over."""
    team = scenario.team.id
    states = locks_dir.parent / "last-run"
    states.mkdir(parents=True)
    state = {"format": lastrun.FORMAT, "board_names": {team: "Team Board"}}
    (states / "a.json").write_text(json.dumps(state))
    (states / "b.json").write_text("not json")
    with hold(locks_dir, [f"run-board-{team}"]):
        r, _, _ = _in_storm(invoke, sb, *_run(scenario, "--workspace", scenario.organization.id))
    one_line_error(r, ExitCode.LOCKED, f'is working on board "Team Board" ({team}) and shares')
    assert lastrun.known_board_names(locks_dir.parent) == {team: "Team Board"}
    assert lastrun.known_board_names(locks_dir.parent / "nowhere") == {}
