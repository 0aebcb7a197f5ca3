"""The locks that keep two runs off the same plan or the same boards.

Non-blocking file locks (``filelock``) in a lock directory the caller names (the command line
passes ``<state dir>/locks``; nothing here reads the environment): another run holding one
means this one stops at once with ``LockHeld`` (exit code 6), before it writes anything. The
operating system releases them if the process dies. A lock file deleted while it is held (the
state directory removed mid-run) does not release its lock: on Linux its name is held apart
from any file, and the holder takes the file again at its next journal append (``lock_keep``).

Two sets of names:

- ``lock_names(digest, boards)``: an apply or undo of a plan holds ``plan-<digest>`` and
  ``board-<id>`` for each board it changes (``apply_lock``);
- ``run_lock(lock_dir, boards)``: a one-shot run (plan and apply) holds ``run-board-<id>``
  from before it reads the boards' history, and stops at once if an apply or undo holds one of
  their ``board-<id>`` locks then. It does not hold those: the apply inside the same run takes
  them later (a second ``FileLock`` on the same file in one process would not get it), so an
  ``apply PLAN`` or ``undo`` on the same board still conflicts with the run at apply time.

A plan's lock file is left when its lock is let go; the plan lock files a week old that no run
holds are removed by the next run that held a plan lock (``_prune``, on Linux).

A run that must be refused at once is refused before its first request to Trello: another run
may be spending the token's whole rate budget, and a request of this one would wait out 429s
before it came to its lock. So ``apply PLAN`` and ``undo`` take their locks first
(``run_holds``, from the plan file or the journal alone), and the parts of the run that take
some of the same locks again (``hold``: the apply's engine, the settling of earlier journals,
the undo's engine) count those as held by this run, in this thread, rather than meet their own
lock (a second ``FileLock`` on a file this process holds is refused like another process's).

A one-step run must read who it is and which boards it names before it can take its run locks;
another run holding locks here meanwhile is what spends the token's rate budget when those
reads meet 429s (a cron job started while the last one still applies). ``RateBudgetGuard``
stops it then, at its first 429, with ``LockHeld`` naming that run (``holders``: the lock
files held now, by process), rather than retry for minutes and end with "Trello is rate
limiting" (exit 4). A 429 with no other run holding a lock is Trello's own, waited out as
always.
"""

from __future__ import annotations

import contextlib
import errno
import os
import stat
import time
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from contextvars import ContextVar
from pathlib import Path
from typing import NamedTuple

from filelock import FileLock, Timeout

try:
    import fcntl
except ImportError:  # pragma: no cover - not Unix
    fcntl = None  # type: ignore[assignment]

from trello_restore import lock_keep
from trello_restore.errors import LockHeld, UsageError
from trello_restore.fsutil import in_the_way, private_dirs, read_only_fix, sudo_advice
from trello_restore.words import board_ref

__all__ = [
    "Holder",
    "OtherPlan",
    "RateBudgetGuard",
    "apply_lock",
    "held_among",
    "hold",
    "holder_of",
    "holders",
    "lock_dir",
    "lock_names",
    "run_holds",
    "run_lock",
]

#: A lock file's mode, as every other file of the state directory's.
MODE = 0o600
#: How old a plan's lock file no run holds must be before a run that held a plan lock removes
#: it (``_prune``): a plan applied again later makes it again.
PRUNE_AFTER_S = 7 * 24 * 3600.0
#: The kernel's table of the file locks held now (Linux): which process holds a lock file.
PROC_LOCKS = Path("/proc/locks")

#: The lock files the run in this context holds (``run_holds``), which a ``hold`` within it
#: counts as held.
_RUN_HOLDS: ContextVar[frozenset[Path]] = ContextVar("run_holds", default=frozenset())


class OtherPlan(NamedTuple):
    """A plan another run may be applying or undoing (``hold``'s ``others``): what to call it
    (``plan <digest> (journal <path>)``) and the boards of it this run works on too."""

    label: str
    boards: tuple[str, ...]


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
    others: Mapping[str, OtherPlan] | None = None,
    boards: Mapping[str, str] | None = None,
) -> Iterator[Path]:
    """Hold the named locks in ``directory`` (created, mode 0700; the lock files 0600) until
    the block ends, or raise ``LockHeld`` at once (``UsageError`` when the directory or a lock
    file cannot be made: what is in the way, or the error). Yields the directory. ``others``
    names, by lock name, the plan a ``plan-`` lock is of when it is not the plan this run
    applies, and the boards both runs work on (``LockHeld`` then names them); ``boards``: the
    boards' names by id (``LockHeld`` names a board by its name too, when it is here). A lock
    the run in this context holds already (``run_holds``) is not taken again."""
    try:
        private_dirs(directory)
    except OSError as exc:
        first = directory / f"{names[0] if names else 'lock'}.lock"
        raise _cannot_make(first, exc, "lock directory", directory) from None
    held: list[lock_keep.Kept] = []
    ours = _RUN_HOLDS.get()
    try:
        for name in names:
            key = _key(directory, name)
            if key in ours:
                continue
            lock = FileLock(directory / f"{name}.lock", mode=MODE)
            sock = None
            try:
                sock = lock_keep.claim(key)  # first: a deleted lock file does not release it
                lock_keep.take(lock)  # a moment's wait: a look (``holders``) is no holder
            except (lock_keep.Busy, Timeout):
                if sock is not None:
                    sock.close()
                other = (others or {}).get(name)
                raise LockHeld(_busy(name, lock.lock_file, other, boards or {})) from None
            except OSError as exc:
                if sock is not None:
                    sock.close()
                file = Path(lock.lock_file)
                raise _cannot_make(file, exc, "lock file", file) from None
            held.append(lock_keep.keep(Path(lock.lock_file), lock, sock))
            _private(Path(lock.lock_file))
        yield directory
    finally:
        for kept in reversed(held):
            lock_keep.forget(kept)
        if held and any(n.startswith("plan-") for n in names):
            _prune(directory)


@contextlib.contextmanager
def run_holds(
    directory: Path,
    names: Sequence[str],
    others: Mapping[str, OtherPlan] | None = None,
    boards: Mapping[str, str] | None = None,
) -> Iterator[Path]:
    """Hold the named locks as ``hold`` does, for a whole run, taken before its first request:
    within the block (in this thread), a ``hold`` of one of them counts it as held by this run
    (see the module docstring), where it would otherwise be refused (``LockHeld``)."""
    with hold(directory, names, others, boards) as held:
        token = _RUN_HOLDS.set(_RUN_HOLDS.get() | {_key(directory, n) for n in names})
        try:
            yield held
        finally:
            _RUN_HOLDS.reset(token)


def _prune(directory: Path, now: float | None = None) -> None:
    """Remove the plan lock files (``plan-*.lock``) made over ``PRUNE_AFTER_S`` ago that no
    run holds (R43e: one file per plan applied, never removed, thousands over years of nightly
    runs). Only where a lock's name can be claimed (``lock_keep.claim``: Linux), held with
    the file's own lock while the file is removed, so that no run can take it meanwhile (one
    starting at that very moment is refused as if another run held it). Never raises."""
    if not lock_keep.ABSTRACT:
        return
    cutoff = (time.time() if now is None else now) - PRUNE_AFTER_S
    try:
        old = [f for f in directory.glob("plan-*.lock") if f.stat().st_mtime < cutoff]
    except OSError:
        return
    for file in old:
        try:
            sock = lock_keep.claim(_key(directory, file.stem))
        except (lock_keep.Busy, OSError):
            continue
        if sock is None:
            continue
        lock = FileLock(file, mode=MODE, thread_local=False)
        try:
            lock.acquire(timeout=0)
            try:
                file.unlink(missing_ok=True)
            finally:
                lock.release()
        except (Timeout, OSError):
            pass
        finally:
            sock.close()


def _key(directory: Path, name: str) -> Path:
    """A lock file as ``run_holds`` remembers it: its absolute path, links resolved."""
    return (directory / f"{name}.lock").resolve()


def _private(path: Path) -> None:
    """A lock file an older version made 0644 (``mode`` counts only when the file is
    created): made 0600 now that it is held (best effort: another user's stays as it is)."""
    with contextlib.suppress(OSError):
        if path.stat().st_mode & 0o077:
            path.chmod(MODE)


def _cannot_make(lock: Path, exc: OSError, what: str, path: Path) -> UsageError:
    """The one line for a lock directory or file that cannot be made: a file or directory of
    the wrong kind in the way (``fsutil.in_the_way``, from the root down) is named,
    to be removed or renamed; any other error is said with where to look."""
    # From the root down: a file anywhere on the way (R36a: XDG_STATE_HOME set to a file).
    blocked = in_the_way(lock, Path(lock.anchor))
    if blocked is not None:
        where, kind = blocked
        return UsageError(
            f"cannot create the {what} {path}: {where} is {kind}; remove or rename it "
            "(trello-restore keeps its locks there), or check TRELLO_RESTORE_HOME, "
            "XDG_STATE_HOME and [paths] state_dir, then run again"
        )
    reason = exc.strerror or str(exc)
    if exc.errno == errno.EROFS:  # no permission can help there
        fix = read_only_fix("state_dir")
    elif exc.errno in (errno.EACCES, errno.EPERM):
        fix = sudo_advice(path, lock.parent.parent, whole=True) or (
            "check the state directory's permissions (TRELLO_RESTORE_HOME, XDG_STATE_HOME or "
            "[paths] state_dir)"
        )
    else:
        fix = "check the state directory (TRELLO_RESTORE_HOME, XDG_STATE_HOME or [paths] state_dir)"
    return UsageError(f"cannot create the {what} {path} ({reason}); {fix}")


def _busy(name: str, path: str, other: OtherPlan | None, boards: Mapping[str, str]) -> str:
    """The one line for a lock another run holds: what it is doing, and what to do. ``other``
    names the plan of a ``plan-`` lock that is not this run's own, and the boards the two runs
    share; a board is named by its name in ``boards`` (by id) and its id, or by its id alone."""
    if other is not None:
        shared = [board_ref(b, boards.get(b)) for b in other.boards]
        on = "the same boards"
        if len(shared) == 1:
            on = f"board {shared[0]}"
        elif shared:
            on = f"boards {', '.join(shared[:3])}"
            on += f" and {len(shared) - 3} more" if len(shared) > 3 else ""
        return (
            f"another trello-restore run is applying or undoing {other.label} on {on}, which "
            f"this run works on too; wait for it to finish, then run again (lock {path})"
        )
    if name.startswith("plan-"):
        return (  # what to run next follows: the journal's command, when there is one (R43a)
            f"another trello-restore run is applying or undoing this plan (lock {path}); "
            "wait for it to finish"
        )
    run = name.startswith("run-board-")
    board_id = name.removeprefix("run-board-" if run else "board-")
    board = f"board {board_ref(board_id, boards.get(board_id))}"
    if run:
        return f"another trello-restore run is working on {board}; try again later (lock {path})"
    return (
        f"another trello-restore run is applying or undoing {board}; wait for it to finish "
        f"and run again (lock {path})"
    )


def apply_lock(
    names: Sequence[str],
    directory: Path,
    others: Mapping[str, OtherPlan] | None = None,
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


class Holder(NamedTuple):
    """Another process holding locks in a lock directory (``holders``): its pid (None where
    the kernel's lock table cannot tell), the names of the locks it holds (``plan-<digest>``,
    ``board-<id>``, ``run-board-<id>``: what it is doing, and on which boards) and the first
    lock file."""

    pid: int | None
    names: tuple[str, ...]
    path: Path


def holders(directory: Path) -> list[Holder]:
    """The locks in ``directory`` that are held now, grouped by the process holding them
    (ordered by their first lock file's name). Each lock file is tried without waiting and
    let go at once, as ``run_lock`` looks at the ``board-`` locks: a lock held by another
    process (or by another ``hold`` in this one) is refused. Locks this run holds
    (``run_holds``) and files that cannot be tried are left out; no directory, no holders."""
    try:
        files = sorted(directory.glob("*.lock"))
    except OSError:
        return []
    ours = _RUN_HOLDS.get()
    held = [f for f in files if f.resolve() not in ours and _is_held(f)]
    pids = _lock_pids() if held else {}
    grouped: dict[int | None, list[Path]] = {}
    for file in held:
        grouped.setdefault(_pid_of(file, pids), []).append(file)
    return [
        Holder(pid, tuple(f.name.removesuffix(".lock") for f in group), group[0])
        for pid, group in grouped.items()
    ]


def holder_of(directory: Path, name: str) -> Holder | None:
    """The holder of the lock ``name`` in ``directory`` (``holders``), or, when its file is not
    there (deleted with the state directory, until the holder's next journal append takes it
    again), one known by the lock's name alone (``lock_keep.taken``: no pid); None when no
    one holds it."""
    found = next((h for h in holders(directory) if name in h.names), None)
    if found is None and lock_keep.taken(_key(directory, name)):
        found = Holder(None, (name,), directory / f"{name}.lock")
    return found


def held_among(directory: Path, names: Iterable[str]) -> tuple[Holder, str] | None:
    """Another run holding one of the locks ``names`` in ``directory`` now (``holders``), and
    the first of them it holds, in the order given; None when none is held. A look: no lock
    taken, no directory made."""
    found = holders(directory)
    for name in names:
        holder = next((h for h in found if name in h.names), None)
        if holder is not None:
            return holder, name
    return None


def _is_held(file: Path) -> bool:
    """Whether a holder has the lock's name (``lock_keep.taken``, also while its file is
    deleted) or the lock file ``file`` now. The file is tried with a shared lock, without
    waiting and let go at once: a holder's exclusive lock refuses it, and another look's does
    not (an exclusive try was a holder to every other look: R30a). Without ``fcntl`` (not
    Unix), an exclusive try, as before."""
    if lock_keep.taken(file.resolve()):
        return True
    if fcntl is None:  # pragma: no cover - not Unix
        lock = FileLock(file, mode=MODE)
        try:
            lock.acquire(blocking=False)
        except Timeout:
            return True
        except OSError:
            return False
        lock.release()
        return False
    try:  # never waiting: a FIFO there would block an open for reading (R44h: dry runs hung)
        fd = os.open(file, os.O_RDONLY | os.O_NONBLOCK)
    except OSError:  # cannot be opened: what holds it cannot be told
        return False
    try:
        if not stat.S_ISREG(os.fstat(fd).st_mode):
            return False  # no lock of ours
        fcntl.flock(fd, fcntl.LOCK_SH | fcntl.LOCK_NB)
    except BlockingIOError:
        return True
    except OSError:
        return False
    finally:
        os.close(fd)  # lets the shared lock go
    return False


def _lock_pids() -> dict[int, set[int]]:
    """The pids holding exclusive ``flock`` locks, by the locked file's inode, from the
    kernel's table (``1: FLOCK  ADVISORY  WRITE <pid> <major>:<minor>:<inode> 0 EOF``; a
    waiter's line has ``->`` after the number, and a holder outside this pid namespace shows
    pid 0); empty where there is no such table (not Linux) or it cannot be read."""
    try:
        text = PROC_LOCKS.read_text(encoding="ascii", errors="replace")
    except OSError:
        return {}
    pids: dict[int, set[int]] = {}
    for line in text.splitlines():
        fields = line.split()
        if len(fields) < 6 or fields[1] != "FLOCK" or fields[3] != "WRITE":
            continue  # READ: a look's shared lock (``_is_held``), not a holder
        with contextlib.suppress(ValueError, IndexError):
            inode, pid = int(fields[5].split(":")[2]), int(fields[4])
            if pid > 0:
                pids.setdefault(inode, set()).add(pid)
    return pids


def _pid_of(file: Path, pids: Mapping[int, set[int]]) -> int | None:
    """The one process the kernel's table shows holding ``file``, or None (not found, or
    more than one: an inode of another filesystem may bear the same number)."""
    try:
        found = pids.get(file.stat().st_ino, set())
    except OSError:
        return None
    return next(iter(found)) if len(found) == 1 else None


def budget_line(found: Sequence[Holder], names: Mapping[str, str] | None = None) -> str:
    """The one line that stops a run whose reads met 429s while ``found`` (at least one) held
    locks: which run, doing what on which boards (by name too where ``names``, board id to
    name, has it), and what to do."""
    first = found[0]
    who = "another trello-restore run" + (f" (pid {first.pid})" if first.pid else "")
    plans = [n.removeprefix("plan-") for n in first.names if n.startswith("plan-")]
    ids = sorted(
        {n.rsplit("-", 1)[1] for n in first.names if n.startswith(("board-", "run-board-"))}
    )
    boards = [board_ref(b, (names or {}).get(b)) for b in ids]
    doing = f"is applying or undoing plan {plans[0]}" if plans else "is working"
    if len(boards) == 1:
        doing += f" on board {boards[0]}"
    elif boards:
        doing += f" on boards {', '.join(boards[:3])}"
        doing += f" and {len(boards) - 3} more" if len(boards) > 3 else ""
    if len(found) > 1:
        others = len(found) - 1
        doing += f" ({others} other {'run holds' if others == 1 else 'runs hold'} locks too)"
    return (
        f"{who} {doing} and shares the token's rate budget: Trello answered this run 429 "
        "(rate limited) before it could take its locks, most likely for that run's requests; "
        "run again when that run has finished (from cron or a timer: schedule runs less often) "
        f"(lock {first.path})"
    )


class RateBudgetGuard:
    """What a one-step run does at a 429 met before it holds its locks (the planning API's
    ``on_rate_limited``, called before the read waits to retry): with another run holding
    locks in ``directory``, that run is spending the token's rate budget, and the retries
    would wait for minutes and end with "Trello is rate limiting" (exit 4): ``LockHeld`` now,
    naming it (``budget_line``). With no lock held there, the 429 is Trello's own and is waited
    out as always. Off once the run holds its locks (``locked``): from then on another run
    cannot be working on its boards, and 429s are waited out."""

    def __init__(
        self, directory: Path, names: Callable[[], Mapping[str, str]] | None = None
    ) -> None:
        self.directory = directory
        #: The boards' names by id, as far as this machine knows them (the last-run states':
        #: ``lastrun.known_board_names``), read only when a line is said (R30b #7).
        self.names = names
        self.locked = False

    def __call__(self) -> None:
        if self.locked:
            return
        found = holders(self.directory)
        if found:
            raise LockHeld(budget_line(found, self.names() if self.names is not None else None))
