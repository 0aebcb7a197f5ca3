"""The kept history's notices (``history_store.HistoryStore``): each names its board as
``board "Team" (<id>)`` where the fetch gave its name (by its id alone where none is known),
and a path that stays blocked — a directory where a store's file goes, a file where one of its
directories goes (``fsutil.in_the_way``) — is said once a run, as what it costs and what to do,
instead of once for each read and write that fails on it as if the next run would do better.
A write that fails for another reason (permissions, an immutable directory, a read-only file
system, a full disk: ``unwritable``) is said once a run too, as this run's loss, what it costs
every run until the directory can be written, and what to check (``what_to_do``)."""

from __future__ import annotations

import errno
import logging
import os
import threading
from pathlib import Path

from trello_restore.fsutil import in_the_way, looks, sudo_advice, writable_dir
from trello_restore.words import board_ref

__all__ = ["Notices", "unsearchable", "what_to_do"]

#: The store's own logger: these are its notices.
logger = logging.getLogger("trello_restore.history_store")


def unsearchable(path: Path) -> Path:
    """The directory on ``path``'s way that this user cannot search (mode 000, say), when
    looking ``path`` up failed with a permission error: the first from the top that
    ``os.access`` refuses, else ``path``'s own directory (a user for whom ``os.access`` allows
    everything, or a directory changed meanwhile)."""
    for directory in reversed(path.parents):
        if not os.access(directory, os.X_OK):
            # Its parent can be searched: a directory missing there is none to name.
            return directory if looks(directory, "dir") else path.parent  # raises not: R62b
    return path.parent


def what_to_do(exc: OSError) -> str:
    """What to check when a write in a directory failed with ``exc`` (nothing in its way);
    the notice names the directory just before."""
    if exc.errno in (errno.EACCES, errno.EPERM):
        return (
            "check that this user can write in it (its permissions, and `lsattr -d` for an "
            "immutable flag)"
        )
    if exc.errno == errno.EROFS:
        return (
            "its file system is read-only: remount it writable or set [paths] cache_dir to a "
            "writable directory"
        )
    if exc.errno in (errno.ENOSPC, errno.EDQUOT):
        return "free some space on its disk (or raise your quota)"
    if exc.errno == errno.EFBIG:  # R44f: the advice was to check that it can be written
        return "raise the file size limit this run was started with (`ulimit -f`)"
    return "check that it can be written"


class Notices:
    """One run's notices of the stores in ``cache_dir``."""

    def __init__(self, cache_dir: Path) -> None:
        self.cache_dir = cache_dir
        #: The boards' names by id, as the fetch starts their reads.
        self.names: dict[str, str] = {}
        #: Boards whose store or head could not be written in this run, or stands blocked:
        #: said once each (a store is tried again with its cards' feeds, and would say it
        #: again; a blocked path fails its reads and its writes).
        self._said: set[str] = set()
        self._lock = threading.Lock()

    def once(self, what: str) -> bool:
        """Whether ``what`` is to be said: the first time this run asks, not later."""
        with self._lock:
            first = what not in self._said
            self._said.add(what)
        return first

    def board(self, board_id: str) -> str:
        """A board as a notice names it: ``board "Team" (<id>)``, or ``board <id>``."""
        return f"board {board_ref(board_id, self.names.get(board_id))}"

    def failed(
        self,
        board_id: str,
        path: Path,
        message: str,
        *args: object,
        read: bool = False,
        head: bool = False,
    ) -> None:
        """The notice (``message % args``) of a write of the board's ``path`` that failed:
        once per board and run, later ones at debug level; of a read (``read``): each time.
        Unless something blocks ``path``: then, read or write, once per board and run, what
        blocks it, what that costs (``head``: ``path`` is the store's head) and what to do."""
        blocked = in_the_way(path, self.cache_dir)
        if blocked is not None:
            where, what = blocked
            cost = "its history is read from Trello in full"
            if head and where == path:
                cost = "its kept history is read in full and the plan made anew on every run"
            message = (
                "the kept history of %s is blocked: %s is %s; %s until you remove or rename it"
            )
            args = (self.board(board_id), where, what, cost)
        elif read:
            logger.warning(message, *args)
            return
        with self._lock:
            first = board_id not in self._said
            self._said.add(board_id)
        (logger.warning if first else logger.debug)(message, *args)

    def unwritable(self, board_id: str, path: Path, exc: OSError, *, head: bool = False) -> None:
        """The notice of a write of the board's store (``head``: its head) at ``path`` that
        failed with ``exc``: this run's loss, what it costs every run until the directory can
        be written (a one-off failure costs this run alone) and what to check; once per board
        and run (``failed``, which says a blocked path as that instead)."""
        directory = writable_dir(path)
        if head:
            message = (
                "could not write the head %s of the kept history of %s (%s): until %s can be "
                "written, every run reads the whole kept history and plans anew; %s"
            )
            args: tuple[object, ...] = (path, self.board(board_id))
        else:
            message = (
                "could not keep the history of %s in %s (%s): this run's reads are not kept; "
                "until %s can be written, every run reads them from Trello again and plans "
                "anew; %s"
            )
            args = (self.board(board_id), path)
        why = exc.strerror or exc
        fix = sudo_advice(path, self.cache_dir, whole=True) or what_to_do(exc)  # R64a
        self.failed(board_id, path, message, *args, why, directory, fix, head=head)

    def disowned(self, board_id: str, lost: int) -> None:
        """The notice of a store whose newest ``lost`` actions the board's feed no longer gives
        (``fetcher_stored._disowned``): the feed is not the one the store was built from, and
        the board's history is read whole again, and kept as the feed has it."""
        actions = "1 of its newest actions is" if lost == 1 else f"{lost} of its newest actions are"
        logger.warning(
            "the kept history of %s does not match Trello's: %s no longer in the board's feed "
            "(another Trello behind the same board ids, such as a restarted sandbox, or actions "
            "removed); its history is read from Trello in full again",
            self.board(board_id),
            actions,
        )
