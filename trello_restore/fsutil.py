"""Files that are either whole or absent: the one atomic write of the plan file, the last-run
state and a journal's first line."""

from __future__ import annotations

import contextlib
import os
import tempfile
from pathlib import Path

__all__ = ["write_atomic"]


def write_atomic(
    path: Path, text: str, *, prefix: str, suffix: str = ".tmp", exclusive: bool = False
) -> None:
    """Write ``text`` (UTF-8) to ``path`` so that no reader ever sees a partial file.

    The text goes to a temporary file (mode 0600; ``prefix``/``suffix`` name it) in the same
    directory, flushed and fsynced, which then replaces ``path`` (``exclusive``: is hard-linked
    as ``path``, ``FileExistsError`` when it exists, so two writers cannot both create it). On
    any failure the temporary file is removed and ``path`` is as it was; the ``OSError`` is
    the caller's to word. The directory is fsynced afterwards (best effort), so the rename
    survives a crash."""
    tmp: str | None = None
    try:
        fd, tmp = tempfile.mkstemp(prefix=prefix, suffix=suffix, dir=path.parent)
        with os.fdopen(fd, "w", encoding="utf-8") as f:
            os.fchmod(f.fileno(), 0o600)
            f.write(text)
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


def _fsync_dir(directory: Path) -> None:
    """Make a rename durable (best effort: not every platform can open a directory)."""
    with contextlib.suppress(OSError):
        fd = os.open(directory, os.O_RDONLY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)
