"""Files that are either whole or absent: the one atomic write of the plan file, the last-run
state and a journal's first line."""

from __future__ import annotations

import contextlib
import os
import tempfile
from pathlib import Path

__all__ = ["write_atomic"]


def write_atomic(
    path: Path,
    text: str | bytes,
    *,
    prefix: str,
    suffix: str = ".tmp",
    exclusive: bool = False,
) -> None:
    """Write ``text`` (UTF-8, or bytes as they are) to ``path`` so that no reader ever sees a
    partial file.

    The text goes to a temporary file (mode 0600; ``prefix``/``suffix`` name it) in the same
    directory, flushed and fsynced, which then replaces ``path`` (``exclusive``: is hard-linked
    as ``path``, ``FileExistsError`` when it exists, so two writers cannot both create it). On
    any failure the temporary file is removed and ``path`` is as it was; the ``OSError`` is
    the caller's to word. The directory is fsynced afterwards (best effort), so the rename
    survives a crash."""
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


def private_dirs(directory: Path) -> None:
    """``directory`` and every missing directory above it, each made 0700
    (``Path.mkdir(parents=True, mode=...)`` gives the parents the umask's mode instead)."""
    missing = [d for d in (directory, *directory.parents) if not d.exists()]
    for d in reversed(missing):
        d.mkdir(mode=0o700, exist_ok=True)


def _fsync_dir(directory: Path) -> None:
    """Make a rename durable (best effort: not every platform can open a directory)."""
    with contextlib.suppress(OSError):
        fd = os.open(directory, os.O_RDONLY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)
