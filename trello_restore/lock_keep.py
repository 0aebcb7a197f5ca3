"""What keeps a run's lock held when its file is deleted under it (``locks.hold``).

A lock file's ``flock`` belongs to the file, not to its path: ``rm -rf`` of the state
directory while a run holds its locks leaves the run holding a file no one can open, and a
second run of the same plan made a new file there and took it: both wrote at once (R27a). Two
things now make a deleted lock file release nothing:

- the lock's name (``name``: its path, resolved, and this user) is bound as a Unix socket in
  Linux's abstract namespace (``claim``), which is no file: nothing on disk can remove it, and
  the kernel lets it go only when the socket is closed, at the latest when the process dies
  (``kill -9`` included), so a dead holder never blocks. A second run binding the same name is
  refused (``Busy``), before it opens the lock file. Where there is no abstract namespace (not
  Linux) or no socket can be made, the file lock alone is taken, as before;
- the holder takes its lock file again at its path when the path no longer names the file it
  holds (``retake``: the journal calls it at each append, as it writes itself again there), so
  the locks are on disk again for ``locks.holders`` and for runs that go by the file alone.

Only runs of the same network namespace see each other's sockets (a container with its own
network shares the lock files, not the names): there, and off Linux, a second run that starts
between the deletion and the holder's next append can still take the lock.
"""

from __future__ import annotations

import contextlib
import errno
import hashlib
import logging
import os
import socket
import sys
import threading
from dataclasses import dataclass, field
from pathlib import Path

from filelock import FileLock, Timeout

from trello_restore.fsutil import private_dirs

__all__ = ["LOOK_S", "Busy", "Kept", "claim", "forget", "keep", "name", "retake", "take", "taken"]

logger = logging.getLogger("trello_restore.locks")

#: Whether this system has an abstract socket namespace (Linux).
ABSTRACT = sys.platform.startswith("linux") and hasattr(socket, "AF_UNIX")
#: How long taking a lock file waits before it counts as held by another run: a look at the
#: locks (``locks.holders``) holds a file's shared lock for a moment, far shorter than this.
LOOK_S = 0.25


class Busy(Exception):
    """The lock's name is bound by another holder (in this process or another)."""


def name(key: Path) -> bytes:
    """The abstract socket name of the lock file ``key`` (absolute, links resolved): the same
    for every run of this user that locks that path, whatever it finds on disk."""
    # The path's bytes as the file system has them: a name no locale decodes holds
    # surrogates (``PYTHONUTF8=0`` in the POSIX locale: R44a), which ``str.encode`` refuses.
    digest = hashlib.sha256(f"{_uid()}:".encode() + os.fsencode(key)).hexdigest()[:40]
    return b"\0trello-restore-lock-" + digest.encode("ascii")


def _uid() -> int:
    getuid = getattr(os, "getuid", None)
    return int(getuid()) if getuid is not None else 0


def claim(key: Path) -> socket.socket | None:
    """Bind the lock's name (``name``), held until the socket is closed; ``Busy`` when another
    holder has it. None where names cannot be bound here (then the lock file alone counts)."""
    if not ABSTRACT:
        return None
    try:
        sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    except OSError as exc:
        logger.debug("no socket for the lock %s (%s): the lock file alone", key, exc)
        return None
    try:
        sock.bind(name(key))
    except OSError as exc:
        sock.close()
        if exc.errno == errno.EADDRINUSE:
            raise Busy(str(key)) from None
        logger.debug("cannot bind the lock %s (%s): the lock file alone", key, exc)
        return None
    try:
        sock.listen(1)  # what ``taken`` connects to; never accepted
    except OSError as exc:
        logger.debug("cannot listen on the lock %s (%s): seen by its file alone", key, exc)
    return sock


def taken(key: Path) -> bool:
    """Whether a holder has the lock's name now: a connection to it is tried (and closed at
    once), nothing is bound. A look that bound the name for a moment was, for that moment, a
    holder to every other look and a refusal to every run taking the lock (R30a)."""
    if not ABSTRACT:
        return False
    try:
        sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    except OSError:
        return False
    try:
        sock.setblocking(False)
        sock.connect(name(key))
    except BlockingIOError:  # its queue is full of earlier looks: it listens
        return True
    except OSError:  # refused: nothing listens on that name
        return False
    finally:
        sock.close()
    return True


def take(lock: FileLock) -> None:
    """Take a lock file, waiting ``LOOK_S`` at most: a look at the locks is not a holder
    (``Timeout`` when another run holds it)."""
    lock.acquire(timeout=LOOK_S, poll_interval=LOOK_S / 20)


@dataclass(eq=False)
class Kept:
    """A lock this process holds: its file's path, the file locks taken on it (the first at
    ``hold``, one more each time it was taken again), the file (device, inode) the last one
    holds, and the name bound for it (or None)."""

    path: Path
    files: list[FileLock]
    ident: tuple[int, int] | None
    sock: socket.socket | None
    #: A file at the path that another holder had when this one tried to take it again: said
    #: once, not tried again until the path changes.
    lost: tuple[int, int] | None = field(default=None)

    def release(self) -> None:
        for lock in reversed(self.files):
            with contextlib.suppress(OSError):
                lock.release()
        if self.sock is not None:
            self.sock.close()


_KEPT: list[Kept] = []
_KEPT_LOCK = threading.Lock()


def _ident(path: Path) -> tuple[int, int] | None:
    try:
        st = path.stat()
    except OSError:
        return None
    return (st.st_dev, st.st_ino)


def keep(path: Path, lock: FileLock, sock: socket.socket | None) -> Kept:
    """Remember the lock just taken on ``path`` (``lock``, and its name's ``sock``), for
    ``retake``; ``forget`` it when it is let go."""
    kept = Kept(path, [lock], _ident(path), sock)
    with _KEPT_LOCK:
        _KEPT.append(kept)
    return kept


def forget(kept: Kept) -> None:
    """Let the lock go (its file locks and its name) and stop keeping it."""
    with _KEPT_LOCK, contextlib.suppress(ValueError):
        _KEPT.remove(kept)
    kept.release()


def retake() -> None:
    """Take again, at its path, each lock of this process whose path no longer names the file
    it holds (deleted with its directory, or replaced): the directory made again (0700), the
    file (0600) and its lock taken without waiting. Never raises: a path that cannot be made
    now is tried at the next call; a file another holder has taken there (a run that went by
    the file alone) is said once, as a warning."""
    with _KEPT_LOCK:
        for kept in _KEPT:
            now = _ident(kept.path)
            if now is not None and now in (kept.ident, kept.lost):
                continue
            _take_again(kept)


def _take_again(kept: Kept) -> None:
    # Not thread-local: taken in the thread that appends, let go in the one that holds.
    lock = FileLock(kept.path, mode=0o600, thread_local=False)
    try:
        private_dirs(kept.path.parent)
        take(lock)
    except Timeout:
        kept.lost = _ident(kept.path)
        logger.warning(
            "the lock %s was deleted while this run held it, and another run has taken it "
            "since: the two may write at once; check what the other run changes",
            kept.path,
        )
        return
    except OSError as exc:
        logger.debug("cannot take the lock %s again yet (%s)", kept.path, exc)
        return
    with contextlib.suppress(OSError):
        kept.path.chmod(0o600)
    kept.files.append(lock)
    kept.ident = _ident(kept.path)
    logger.info("the lock %s was deleted while this run held it: taken again", kept.path)
