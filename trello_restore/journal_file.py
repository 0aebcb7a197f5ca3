"""The journal's file, below its records (``journal.Journal`` reads and writes those): made
with its header line in one step, so no reader ever sees an empty journal (``create``, after
``check_creatable`` said before anything is sent that it can be); the empty file ``mktemp``
makes for ``--journal`` filled instead; made private (0600); all of a line written
(``write_all``); and a torn last line, left by a run killed or a disk full mid-append, cut off
before the next run's first append (``drop_torn_tail``, which says why that is safe); and
written again from the open file when it was deleted or replaced while a run wrote it
(``keep_at_path``). Knows bytes and lines, not what a record holds.
"""

from __future__ import annotations

import contextlib
import errno
import logging
import os
import stat
from pathlib import Path

from trello_restore import wrote
from trello_restore.errors import InputFileError
from trello_restore.fsutil import looks, names_directory, private_dirs, write_atomic
from trello_restore.journal_errors import cannot_create, unreachable

__all__ = [
    "check_creatable",
    "check_named",
    "create",
    "drop_torn_tail",
    "keep_at_path",
    "make_private",
    "write_all",
]

#: The journal's logger: what this module says is said of the journal.
logger = logging.getLogger("trello_restore.journal")


def check_creatable(path: Path) -> None:
    """Make the journal's directory (mode 0700) and check that a file can be created in it, as
    ``create`` would: ``InputFileError`` saying what to do if not."""
    try:
        private_dirs(path.parent)
    except OSError as exc:
        raise InputFileError(cannot_create(path, exc)) from None
    if not os.access(path.parent, os.W_OK | os.X_OK):
        denied = PermissionError(errno.EACCES, os.strerror(errno.EACCES))
        raise InputFileError(cannot_create(path, denied))


def check_named(raw: str | Path) -> None:
    """Before anything is read or sent: ``InputFileError`` for a ``--journal`` that cannot be
    the journal's file as the user typed it: a name of a directory (``j/``: ``Path`` drops
    the ``/``, and a file ``j`` was made), a directory, a device, FIFO or socket, a dangling
    link, a path behind a file or a directory this user cannot search, or one in a directory
    that does not exist (R78c: a typo's directory was made, where only that one printed line
    would ever find the journal undo needs) or cannot be written in. The one-step run said
    most of them after its whole fetch, and its dry run not at all (R79a). The state's
    journal directory is made as needed; a path named is not."""
    path = Path(raw)
    if names_directory(raw) and not looks(path, "dir"):
        raise InputFileError(
            f"--journal {raw}: that names a directory, not a file; give a file name"
        )
    try:
        mode: int | None = path.stat().st_mode
    except FileNotFoundError:
        mode = None
    except NotADirectoryError as exc:  # a folder on its way is a file
        raise InputFileError(cannot_create(path, exc)) from None
    except OSError as exc:  # one on its way cannot be searched (mode 000)
        raise InputFileError(unreachable(path, exc, "apply")) from None
    if mode is not None and stat.S_ISDIR(mode):
        raise InputFileError(f"--journal {raw} is a directory; give a file name")
    if mode is not None and not stat.S_ISREG(mode):
        raise InputFileError(
            f"cannot use {raw} as the journal: it is not a regular file (a device, a FIFO or a "
            "socket); pass --journal with the path of a file"
        )
    if mode is not None:
        return
    if looks(path, "link"):  # a link to nothing: its own line
        raise InputFileError(cannot_create(path, FileNotFoundError(errno.ENOENT, "")))
    if not looks(path.parent, "dir"):
        raise InputFileError(
            f"--journal {raw}: directory {path.parent} does not exist; create it first, or pass "
            "--journal with another path"
        )
    check_creatable(path)  # writable, as its first record needs


def create(path: Path, line: str) -> None:
    """Create the journal with its header ``line`` in one step: the line is written to a
    temporary file that is then hard-linked into place, so no reader (another run starting on
    the same plan) can ever see an empty journal. An empty file there (``mktemp``'s) gets the
    line written into it (``_fill_empty``). FileExistsError if it exists with anything in it."""
    try:
        private_dirs(path.parent)
    except OSError as exc:
        raise InputFileError(cannot_create(path, exc)) from None
    try:
        write_atomic(path, line, prefix=".journal-", suffix="", exclusive=True)
        wrote.started(path)
        return
    except FileExistsError:
        pass
    except OSError as exc:
        raise InputFileError(cannot_create(path, exc)) from None
    try:
        filled = _fill_empty(path, line)
    except OSError as exc:
        raise InputFileError(cannot_create(path, exc)) from None
    if not filled:
        raise FileExistsError(errno.EEXIST, os.strerror(errno.EEXIST), str(path))
    wrote.started(path)


def _fill_empty(path: Path, line: str) -> bool:
    """Write the header ``line`` into the empty file at ``path`` (a ``--journal`` made by
    ``mktemp``), made 0600; False, untouched, when it is not an empty regular file. Appended,
    never truncated: a byte written there by anything else is never overwritten."""
    fd = os.open(path, os.O_WRONLY | os.O_APPEND)
    try:
        st = os.fstat(fd)
        if not stat.S_ISREG(st.st_mode) or st.st_size > 0:
            return False
        make_private(fd)
        write_all(fd, line.encode("utf-8"))
        os.fsync(fd)
    finally:
        os.close(fd)
    return True


def make_private(fd: int) -> None:
    """Make the open file ``fd`` 0600 if others may read or write it (a file of another user
    that this one may write to is theirs to keep as it is)."""
    if os.fstat(fd).st_mode & 0o077:
        with contextlib.suppress(PermissionError):
            os.fchmod(fd, 0o600)


def write_all(fd: int, data: bytes) -> None:
    """Write all of ``data`` (``os.write`` may write part of it, e.g. on a nearly full disk)."""
    view = memoryview(data)
    while view:
        view = view[os.write(fd, view) :]


def drop_torn_tail(fd: int, path: Path) -> None:
    """Before a journal's first append: cut a torn last line off the file open as ``fd``
    (truncate it to the end of its last complete line), so that what this run appends does
    not turn it into a damaged line in the middle, which would stop every later run
    (``Journal.read``).

    Safe, because a torn record was never complete, and so never counted: an append returns
    only once its whole line, newline included, is on disk (fsynced), and a write is sent only
    after its ``pending`` record's append returned. A line without its newline is an append
    that never returned (the run was killed, or the disk was full): if it is a ``pending``
    record, its write was never sent; if it is an outcome, the change's ``pending`` record
    before it stays, and the change is settled from live state as after a kill.
    ``Journal.read`` ignores such a line already; this only makes that lasting. Called under
    the locks of the journal's plan (its first append is made inside the apply or undo that
    holds them), so no other run is appending to it."""
    end = os.fstat(fd).st_size
    pos = end
    while pos > 0:  # back from the end, a chunk at a time, to the last newline
        start = max(0, pos - 65536)
        os.lseek(fd, start, os.SEEK_SET)  # appends still go to the end (O_APPEND)
        newline = os.read(fd, pos - start).rfind(b"\n")
        if newline >= 0:
            keep = start + newline + 1
            if keep < end:
                os.ftruncate(fd, keep)
                logger.info("%s: removed a torn last line of %d bytes", path, end - keep)
            return
        pos = start
    # No complete line at all: not a journal ``Journal.read`` accepts; leave it as it is.


def keep_at_path(fd: int, path: Path) -> Path | None:
    """Before the journal open as ``fd`` is closed: if ``path`` no longer names that file (it,
    or its directory, was deleted or replaced while the run wrote it, and every record since
    went to a file no one can open), write its whole content again, atomically and private:
    at ``path`` when nothing is there, else beside it (``<name>.recovered-<pid>.jsonl``:
    what is at ``path`` now is someone else's). The path written, or None when ``path`` is
    still the file. ``OSError`` when it cannot be written."""
    mine = os.fstat(fd)
    try:
        now = path.stat()
    except FileNotFoundError:
        now = None
    if now is not None and (now.st_dev, now.st_ino) == (mine.st_dev, mine.st_ino):
        return None
    chunks: list[bytes] = []
    offset = 0
    while chunk := os.pread(fd, 1 << 20, offset):
        chunks.append(chunk)
        offset += len(chunk)
    target = path if now is None else path.with_name(f"{path.stem}.recovered-{os.getpid()}.jsonl")
    private_dirs(target.parent)
    write_atomic(target, b"".join(chunks), prefix=".journal-")
    return target
