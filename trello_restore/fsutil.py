"""Files that are either whole or absent: the one atomic write of the plan file, the last-run
state and a journal's first line; and text gzip'd in large pieces (``gzipped``)."""

from __future__ import annotations

import contextlib
import errno
import os
import re
import stat
import tempfile
import time
import zlib
from collections.abc import Iterable
from pathlib import Path

__all__ = [
    "STALE_TEMP",
    "gzipped",
    "in_the_way",
    "looks",
    "names_directory",
    "not_replaceable",
    "read_only_fix",
    "read_regular",
    "sudo_advice",
    "sweep_stale_temps",
    "user_name",
    "writable_dir",
    "write_atomic",
]

#: How old a temporary file of ``write_atomic`` must be to be taken for a dead run's: a write
#: takes seconds, so a live writer's (another run's, at the same time) is far younger.
STALE_TEMP = 600.0


def read_only_fix(key: str | None, alternative: str | None = None) -> str:
    """What to do about a directory of the tool's on a read-only file system, where no
    permission can help: point ``TRELLO_RESTORE_HOME`` (or the config file's ``[paths] key``)
    at a writable directory, or the ``alternative`` (``pass --no-cache``)."""
    setting = f" (or [paths] {key})" if key else ""
    other = f", or {alternative}" if alternative else ""
    return (
        f"its file system is read-only: point TRELLO_RESTORE_HOME{setting} at a writable "
        f"directory{other}"
    )


def write_atomic(
    path: Path,
    text: str | bytes,
    *,
    prefix: str,
    suffix: str = ".tmp",
    exclusive: bool = False,
    sweep: bool = False,
) -> None:
    """Write ``text`` (UTF-8, or bytes as they are) to ``path`` so that no reader ever sees a
    partial file.

    The text goes to a temporary file (mode 0600; ``prefix``/``suffix`` name it) in the same
    directory, flushed and fsynced, which then replaces ``path`` (``exclusive``: is hard-linked
    as ``path``, ``FileExistsError`` when it exists, so two writers cannot both create it). On
    any failure the temporary file is removed and ``path`` is as it was; the ``OSError`` is
    the caller's to word. The directory is fsynced afterwards (best effort), so the rename
    survives a crash. ``sweep``: first remove the directory's temporary files of this
    ``prefix`` and ``suffix`` that a killed run left (``sweep_stale_temps``)."""
    if sweep:
        sweep_stale_temps(path.parent, prefix, suffix)
    tmp: str | None = None
    try:
        fd, tmp = tempfile.mkstemp(prefix=prefix, suffix=suffix, dir=path.parent)
        with os.fdopen(fd, "wb") as f:
            os.fchmod(f.fileno(), 0o600)
            f.write(text.encode() if isinstance(text, str) else text)
            f.flush()
            os.fsync(f.fileno())
        if exclusive:
            os.link(tmp, path)
        else:
            Path(tmp).replace(path)
            tmp = None
    finally:
        if tmp is not None:
            with contextlib.suppress(OSError):
                Path(tmp).unlink()
    _fsync_dir(path.parent)


def sweep_stale_temps(
    directory: Path, prefix: str, suffix: str = ".tmp", older_than: float = STALE_TEMP
) -> list[Path]:
    """Remove the temporary files ``write_atomic(prefix=prefix, suffix=suffix)`` left in
    ``directory`` (a run killed mid-write, ``kill -9``, never removes its own) that were last
    written more than ``older_than`` seconds ago; a younger one may be a live writer's and is
    kept. Best effort (a file that vanished or cannot be removed is left); returns those
    removed."""
    # mkstemp's names: the prefix, 8 characters of [a-z0-9_], the suffix.
    name = re.compile(re.escape(prefix) + r"[a-z0-9_]{8}" + re.escape(suffix))
    cutoff = time.time() - older_than
    removed: list[Path] = []
    with contextlib.suppress(OSError), os.scandir(directory) as entries:
        for entry in entries:
            if not name.fullmatch(entry.name):
                continue
            with contextlib.suppress(OSError):
                if entry.is_file(follow_symlinks=False) and entry.stat().st_mtime < cutoff:
                    stale = Path(entry.path)
                    stale.unlink()
                    removed.append(stale)
    return removed


def special_file(path: Path) -> bool:
    """Whether a device, a FIFO or a socket is at ``path`` (a link followed): nothing to write
    a file of ours to. A FIFO blocks its writer until someone reads it (R36a: a FIFO given as
    ``--journal`` hung the apply for good, deaf to Ctrl-C, in a worker's ``open``); a device
    is the system's."""
    try:
        mode = path.stat().st_mode
    except OSError:
        return False
    return stat.S_ISCHR(mode) or stat.S_ISBLK(mode) or stat.S_ISFIFO(mode) or stat.S_ISSOCK(mode)


def read_regular(path: Path, size: int = -1) -> bytes:
    """The bytes of a file of the tool's own at ``path`` (a link followed; its first ``size``
    only, when not negative), read without ever blocking: a FIFO put where it should be (R44f:
    a run hung for good in its ``open``, deaf to Ctrl-C in a worker) or a device is an
    ``OSError`` (``not a regular file``), as a file that cannot be read is; a directory is
    ``IsADirectoryError``."""
    fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK)
    try:
        mode = os.fstat(fd).st_mode
        if stat.S_ISDIR(mode):
            raise IsADirectoryError(errno.EISDIR, os.strerror(errno.EISDIR))
        if not stat.S_ISREG(mode):
            raise OSError(errno.EINVAL, "not a regular file")
        with os.fdopen(os.dup(fd), "rb") as f:
            return f.read(size)
    finally:
        os.close(fd)


#: The most a file the user names is read of when it is no regular file (a pipe, a shell's
#: ``<(…)``, a device): a plan of 100,000 changes is about 50 MB.
NAMED_MAX = 256 << 20


def read_named(path: Path) -> bytes:
    """The bytes of a file the user names (a plan, a config file, an export): a regular file
    whole; anything else (a pipe, ``/dev/null``) up to ``NAMED_MAX`` bytes, and an ``OSError``
    when it holds more (R51a: ``/dev/zero`` was read until the system killed the process)."""
    with path.open("rb") as f:
        if stat.S_ISREG(os.fstat(f.fileno()).st_mode):
            return f.read()
        data = f.read(NAMED_MAX + 1)
    if len(data) > NAMED_MAX:
        raise OSError(errno.EFBIG, f"it gives more than {NAMED_MAX >> 20} MB, no file of ours")
    return data


def private_dirs(directory: Path) -> None:
    """``directory`` and every missing directory above it, each made 0700
    (``Path.mkdir(parents=True, mode=...)`` gives the parents the umask's mode instead)."""
    missing = [d for d in (directory, *directory.parents) if not d.exists()]
    for d in reversed(missing):
        d.mkdir(mode=0o700, exist_ok=True)


def in_the_way(path: Path, root: Path) -> tuple[Path, str] | None:
    """What keeps the file ``path`` (under ``root``) from being read or written until someone
    moves it: a file where one of its directories (``root`` and below) should be, or a
    directory where the file should be; with what it is (``"a file, not a directory"``).
    None when nothing is in its way (a missing directory is made when the file is written)."""
    with contextlib.suppress(OSError, ValueError):
        below = reversed(path.relative_to(root).parents)
        for d in (root / p for p in below):
            if d.exists() and not d.is_dir():
                return d, "a file, not a directory"
        if path.is_dir():
            return path, "a directory, not a file"
    return None


def _fsync_dir(directory: Path) -> None:
    """Make a rename durable (best effort: not every platform can open a directory)."""
    with contextlib.suppress(OSError):
        fd = os.open(directory, os.O_RDONLY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)


#: How much of a store's text is compressed at once (``gzipped``).
BATCH = 1 << 22


def gzipped(chunks: Iterable[bytes]) -> bytes:
    """These pieces of text as one gzip member (level 1, as ``gzip.compress``), compressed
    a few MB at a time: zlib lets the interpreter go while it compresses, and a call per
    small piece would wait for it again each time (the planning holds it meanwhile): a
    history store's body (``HistoryStore.save``)."""
    out: list[bytes] = []
    z = zlib.compressobj(1, zlib.DEFLATED, 16 + zlib.MAX_WBITS)
    batch: list[bytes] = []
    size = 0
    for chunk in chunks:
        batch.append(chunk)
        size += len(chunk)
        if size >= BATCH:
            out.append(z.compress(b"".join(batch)))
            batch, size = [], 0
    out.append(z.compress(b"".join(batch)))
    out.append(z.flush())
    return b"".join(out)


def looks(path: Path, kind: str = "any") -> bool:
    """Whether anything is at ``path`` (``any``: a link too), a directory (``dir``, a link's
    target) or a link (``link``); False where a directory on the way cannot be searched, as
    where nothing is (R62b: ``Path.exists`` and ``is_dir`` raise ``PermissionError`` there, an
    internal error where a caller did not expect it; what comes next says why it failed)."""
    try:
        mode = path.stat().st_mode if kind == "dir" else path.lstat().st_mode
    except (OSError, ValueError):
        return False
    return kind == "any" or (stat.S_ISDIR(mode) if kind == "dir" else stat.S_ISLNK(mode))


def names_directory(raw: str | Path) -> bool:
    """Whether the path a user typed names a directory by its form (``plans/``, ``x/.``),
    whatever is there: ``Path`` drops the trailing ``/``, so ``plan.json/`` would be written
    as the file ``plan.json`` (R78c: over the plan the user had reviewed)."""
    return isinstance(raw, str) and raw.rpartition("/")[2] in ("", ".", "..")


def not_replaceable(path: Path) -> bool:
    """Whether this user may not replace the file at ``path`` by a rename (``write_atomic``):
    another user's, in a sticky directory not this user's either, where only a file's owner
    may (``/tmp``; R62b: a plan over root's file there failed after the whole fetch, blaming
    ``/tmp``). Root may."""
    uid = os.geteuid()
    try:
        file, parent = path.lstat(), path.parent.stat()
    except (OSError, ValueError):
        return False
    sticky = bool(parent.st_mode & stat.S_ISVTX)
    return uid != 0 and sticky and uid not in (file.st_uid, parent.st_uid)


def sudo_advice(path: Path, within: Path, *, whole: bool = False) -> str | None:
    """What to do when ``path``, or a directory above it, is root's: a run with ``sudo`` made
    it (R63b: after one root run in the user's state, every cron run stopped, told to check
    permissions only root could change). Named: the topmost such whose own directory is this
    user's, or with ``whole`` ``within`` (the state directory, whose other files that run
    made are in the way next) when it is this user's own. Never one whose owner may rightly
    be another (R64a, R65a): ``/root``, a shared directory (``/tmp``, a group's) or what is
    in one but a file named alone, nor a colleague's file. None when there is none, and for
    root."""
    me = os.geteuid()
    if me == 0:
        return None
    found: tuple[Path, int] | None = None
    for p in [path, *path.parents]:
        try:
            st = p.lstat()
        except (OSError, ValueError):  # missing, or hidden by a directory above
            if found is None:
                continue
            return None
        shared = stat.S_ISDIR(st.st_mode) and bool(st.st_mode & (0o022 | stat.S_ISVTX))
        if shared and found is not None and found[0] != path:
            return None  # another's directory in a shared one
        if st.st_uid == me or shared:
            break
        if st.st_uid != 0:  # R65a: a colleague's, not what a run with sudo left
            return None
        found = (p, st.st_uid)
    else:
        return None  # no directory of this user's above it
    if found is None:
        return None
    target = found[0]
    with contextlib.suppress(OSError, ValueError):
        own = within.lstat()
        if whole and own.st_uid == me and not own.st_mode & (0o022 | stat.S_ISVTX):
            target = within if within in target.parents else target
    return (
        f"{'it' if found[0] == path else found[0]} belongs to another user (uid {found[1]}; "
        f"a run with sudo?): have it given to this user (sudo chown -R {user_name()} "
        f"{target})"
    )


def user_name() -> str:
    """This user's login name, for a ``chown`` to type (the uid when it has none)."""
    me = os.geteuid()
    with contextlib.suppress(ImportError, KeyError):
        import pwd

        return pwd.getpwuid(me).pw_name
    return str(me)


def writable_dir(path: Path) -> Path:
    """The directory a write of ``path`` needs to write in: its own, or the nearest one above
    it that exists (where the missing ones are made), or that a directory this user cannot
    search hides (R62b: ``Path.exists`` raised there, an internal error)."""
    directory = path.parent
    while not looks(directory) and directory != directory.parent:
        directory = directory.parent
    return directory
