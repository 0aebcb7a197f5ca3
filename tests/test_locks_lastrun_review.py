"""Locks and the last-run state, from a new-user review, over the command line against the
sandbox:

1. A one-shot run stopped by another run's apply of an earlier plan (its plan lock, met when
   the run settles that plan's journal) names the board(s) the two runs share, by name and id.
2. A file where ``<state>/locks`` goes, or a directory where a board's lock file goes, is named
   with what to do (remove or rename it), not "check the permissions"; exit 2.
3. Lock files are 0600 and their directory 0700, as the state directory's other files.
4. A last-run state that cannot be saved after a successful apply says what is in the way and
   what a ``--since last-run`` run does meanwhile (there is no previous cutoff, or which one);
   exit 2 (the README's cron section documents it).
"""

from __future__ import annotations

import errno
import stat
from collections.abc import Callable
from pathlib import Path

import pytest
from click.testing import Result

from trello_restore import lastrun
from trello_restore.errors import ExitCode
from trello_restore.journal import Journal, JournalHeader, JournalRecord, journal_path
from trello_restore.locks import apply_lock, lock_dir, lock_names
from trello_restore.sandbox.scenario import Scenario

from .conftest import Sandbox, configless_cli, one_line_error
from .truthcheck import incident_since

Invoke = Callable[..., Result]
WRITES = ("POST", "PUT", "DELETE")


@pytest.fixture(name="state")
def state_fixture(_state_home: Path) -> Path:
    """``<TRELLO_RESTORE_HOME>/state`` of the test."""
    return _state_home / "state"


@pytest.fixture(name="invoke")
def invoke_fixture(sb: Sandbox, monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Invoke:
    """The CLI in-process, pointed at the sandbox with the lead's credentials, no config."""
    return configless_cli(sb, monkeypatch, tmp_path)


def _run(s: Scenario) -> list[str]:
    since = incident_since(s)
    return ["--board", s.team.id, "--removed-by", s.mover.username, "--add-to-board",
            "--since", since, "--yes", "--quiet", "--rate-limit", "1000"]  # fmt: skip


def _writes(sb: Sandbox) -> list[str]:
    return [f"{r.method} {r.path}" for r in sb.server.request_log if r.method in WRITES]


def test_a_clash_on_another_plans_lock_names_the_shared_board(
    invoke: Invoke, scenario: Scenario, sb: Sandbox, state: Path
) -> None:
    """An earlier plan's journal has a write in flight on the team board and another run holds
    that plan's lock (it is applying it): the one-shot run stops (exit 6) when it comes to
    settle that journal, naming the plan, its journal, the board by name and id, the lock, and
    writes nothing."""
    digest = "ab" * 32
    path = journal_path(state, digest)
    path.parent.mkdir(parents=True)
    header = JournalHeader(digest, sb.base_url, scenario.mover.id, "2025-11-05T00:00:00Z")
    card = next(c for c in scenario.world.cards.values() if c.id_board == scenario.team.id)
    record = JournalRecord("c1", "apply", "add_member_to_card", "pending", scenario.team.id,
                           scenario.mover.id, card_id=card.id)  # fmt: skip
    with Journal.open(path, header) as journal:
        journal.append(record)
    with apply_lock(lock_names(digest, ())[:1], lock_dir(state)):
        r = invoke(*_run(scenario))
    one_line_error(
        r, ExitCode.LOCKED,
        f"applying or undoing plan {digest[:16]} (journal {path}) on board "
        f'"{scenario.team.name}" ({scenario.team.id})',
        "wait for it to finish", f"(lock {lock_dir(state)}/plan-{digest[:16]}.lock)",
    )  # fmt: skip
    assert _writes(sb) == []


@pytest.mark.parametrize("blocked", ["locks", "board-lock"])
def test_a_blocked_lock_path_is_named_with_what_to_do(
    invoke: Invoke, scenario: Scenario, sb: Sandbox, state: Path, blocked: str
) -> None:
    """A file where the lock directory goes, or a directory where the board's run lock goes:
    exit 2 naming it and saying to remove or rename it (not "permissions"); nothing written."""
    locks = lock_dir(state)
    if blocked == "locks":
        state.mkdir(parents=True)
        locks.write_text("")
        where, kind = locks, "a file, not a directory"
    else:
        where = locks / f"run-board-{scenario.team.id}.lock"
        where.mkdir(parents=True)
        kind = "a directory, not a file"
    line = one_line_error(
        invoke(*_run(scenario)), ExitCode.USAGE, f"{where} is {kind}", "remove or rename it"
    )
    assert "permission" not in line
    assert _writes(sb) == []


def test_lock_files_are_private(invoke: Invoke, scenario: Scenario, state: Path) -> None:
    """After a run, the lock directory is 0700 and every lock file in it 0600, as the state
    directory's other files; a lock file an older version left 0644 is made 0600 when held."""
    old = lock_dir(state) / f"run-board-{scenario.team.id}.lock"
    old.parent.mkdir(parents=True, mode=0o700)
    old.write_text("")
    old.chmod(0o644)
    assert invoke(*_run(scenario)).exit_code == ExitCode.OK
    assert stat.S_IMODE(lock_dir(state).stat().st_mode) == 0o700
    files = list(lock_dir(state).iterdir())
    assert len(files) >= 3  # the run's, its apply's plan and board locks
    assert {p.name: stat.S_IMODE(p.stat().st_mode) for p in files} == {p.name: 0o600 for p in files}


def test_last_run_blocked_after_an_apply_says_there_is_no_previous_cutoff(
    invoke: Invoke, scenario: Scenario, sb: Sandbox, state: Path
) -> None:
    """A file where the last-run directory goes: the apply succeeds, then exit 2 saying what
    is in the way, to remove or rename it, and that no run is recorded (not "the previous
    cutoff", there is none)."""
    state.mkdir(parents=True)
    (state / "last-run").write_text("")
    r = invoke(*_run(scenario))
    line = one_line_error(
        r, ExitCode.USAGE, "the changes were applied",
        f"({state / 'last-run'} is a file, not a directory); remove or rename it",
        "no run on these boards is recorded",
    )  # fmt: skip
    assert "previous cutoff" not in line
    assert _writes(sb)  # the apply went through


def test_last_run_unsaved_names_the_previous_cutoff(
    invoke: Invoke, scenario: Scenario, state: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A recorded last run, then a disk that is full when the next one is recorded: exit 2
    with the error and the cutoff a --since last-run run starts from again (the one recorded),
    which is still the file's."""
    assert invoke(*_run(scenario)).exit_code == ExitCode.OK
    [recorded] = (state / "last-run").iterdir()
    before = recorded.read_bytes()

    def full(*_: object, **__: object) -> None:
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(lastrun, "write_atomic", full)
    r = invoke(*_run(scenario))
    line = one_line_error(r, ExitCode.USAGE, "No space left on device",
                          "a --since last-run run starts from the previous cutoff, 20")  # fmt: skip
    assert "no run on these boards is recorded" not in line
    assert recorded.read_bytes() == before
