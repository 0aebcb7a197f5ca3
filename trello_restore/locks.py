"""The locks that keep two runs off the same plan or the same boards.

Non-blocking file locks (``filelock``) in a lock directory the caller names (the command line
passes ``<state dir>/locks``; nothing here reads the environment): another run holding one
means this one stops at once with ``LockHeld`` (exit code 6), before it writes anything. The
operating system releases them if the process dies.

Two sets of names:

- ``lock_names(digest, boards)``: an apply or undo of a plan holds ``plan-<digest>`` and
  ``board-<id>`` for each board it changes (``apply_lock``);
- ``run_lock(lock_dir, boards)``: a one-shot run (plan and apply) holds ``run-board-<id>``
  from before it reads the boards' history, and stops at once if an apply or undo holds one of
  their ``board-<id>`` locks then. It does not hold those: the apply inside the same run takes
  them later (a second ``FileLock`` on the same file in one process would not get it), so an
  ``apply PLAN`` or ``undo`` on the same board still conflicts with the run at apply time.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterable, Iterator, Mapping, Sequence
from pathlib import Path

from filelock import FileLock, Timeout

from trello_restore.errors import LockHeld, UsageError
from trello_restore.fsutil import private_dirs

__all__ = ["apply_lock", "hold", "lock_dir", "lock_names", "run_lock"]


def lock_dir(state_dir: Path) -> Path:
    """Where the locks of a state directory live."""
    return state_dir / "locks"


def lock_names(plan_key: str, board_ids: Iterable[str]) -> list[str]:
    """The locks an apply or undo takes: one for the plan, one per board it changes."""
    return [f"plan-{plan_key[:16]}", *(f"board-{b}" for b in sorted(set(board_ids)))]


@contextlib.contextmanager
def hold(
    directory: Path,
    names: Sequence[str],
    others: Mapping[str, str] | None = None,
    boards: Mapping[str, str] | None = None,
) -> Iterator[Path]:
    """Hold the named locks in ``directory`` (created, mode 0700) until the block ends, or
    raise ``LockHeld`` at once (``UsageError`` when the directory or a lock file cannot be
    made). Yields the directory. ``others`` names, by lock name, the plan a ``plan-`` lock is
    of when it is not the plan this run applies (``LockHeld`` then names it); ``boards``: the
    boards' names by id (``LockHeld`` names a board by its name too, when it is here)."""
    try:
        private_dirs(directory)
    except OSError as exc:
        raise UsageError(
            f"cannot create the lock directory {directory} ({exc.strerror or exc}); check "
            "TRELLO_RESTORE_HOME or [paths] state_dir and the directory's permissions"
        ) from None
    held: list[FileLock] = []
    try:
        for name in names:
            lock = FileLock(directory / f"{name}.lock")
            try:
                lock.acquire(blocking=False)
            except Timeout:
                other = (others or {}).get(name)
                raise LockHeld(_busy(name, lock.lock_file, other, boards or {})) from None
            except OSError as exc:
                raise UsageError(
                    f"cannot create the lock file {lock.lock_file} ({exc.strerror or exc}); "
                    "check the state directory's permissions"
                ) from None
            held.append(lock)
        yield directory
    finally:
        for lock in reversed(held):
            lock.release()


def _busy(name: str, path: str, other: str | None, boards: Mapping[str, str]) -> str:
    """The one line for a lock another run holds: what it is doing, and what to do. ``other``
    names the plan of a ``plan-`` lock that is not this run's own; a board lock's board is
    named by its name in ``boards`` (by id) and its id, or by its id alone."""
    if other is not None:
        return (
            f"another trello-restore run is applying or undoing {other} on the same boards "
            f"(lock {path}); wait for it to finish, then run again"
        )
    if name.startswith("plan-"):
        return (
            f"another trello-restore run is applying or undoing this plan (lock {path}); "
            "wait for it to finish and run again"
        )
    run = name.startswith("run-board-")
    board_id = name.removeprefix("run-board-" if run else "board-")
    known = boards.get(board_id)
    board = f'board "{known}" ({board_id})' if known else f"board {board_id}"
    if run:
        return f"another trello-restore run is working on {board}; try again later (lock {path})"
    return (
        f"another trello-restore run is applying or undoing {board}; wait for it to finish "
        f"and run again (lock {path})"
    )


def apply_lock(
    names: Sequence[str],
    directory: Path,
    others: Mapping[str, str] | None = None,
    boards: Mapping[str, str] | None = None,
) -> contextlib.AbstractContextManager[Path]:
    """Hold an apply's or undo's locks (``lock_names``) in ``directory``; see ``hold``."""
    return hold(directory, names, others, boards)


@contextlib.contextmanager
def run_lock(
    directory: Path, board_ids: Iterable[str], names: Mapping[str, str] | None = None
) -> Iterator[Path]:
    """Hold a one-shot run's locks of these boards (``run-board-<id>``) in ``directory``, or
    raise ``LockHeld`` at once; see the module docstring. An apply or undo holding one of
    their ``board-<id>`` locks now is ``LockHeld`` too: a plan made while it writes would be
    applied after it, on a state it has changed (the locks are only looked at: the apply
    inside the run takes them). ``names``: the boards' names by id, for ``LockHeld``."""
    boards = sorted(set(board_ids))
    with hold(directory, [f"run-board-{b}" for b in boards], boards=names) as held:
        with hold(directory, [f"board-{b}" for b in boards], boards=names):
            pass
        yield held
