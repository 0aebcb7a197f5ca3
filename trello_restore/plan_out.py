"""Where a plan file may be written (``--plan-out``), said in one line before a run reads
anything, and the line a failed write gets; ``planfile.write_plan`` writes it."""

from __future__ import annotations

import codecs
import contextlib
import errno
import json
import os
import re
import stat
import sys
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

from trello_restore.errors import InputFileError
from trello_restore.fsutil import looks, names_directory, not_replaceable
from trello_restore.store_notices import unsearchable

__all__ = ["check_plan_out", "for_stream", "json_line", "write_error", "write_out"]

_NON_ASCII = re.compile(r"[^\x00-\x7f]")


def json_line(doc: Mapping[str, Any]) -> str:
    """A JSON summary as its one line, with ``warnings``: every warning the command gave on
    stderr (``logs.warnings_said``) after those the summary holds already (a one-step run's
    plan's), each once. Left out of apply's and undo's, a cron job's JSON lines lost what its
    mail said (a journal's torn line, an archived list, a look that failed)."""
    from trello_restore.logs import redacted, warnings_said

    # Redacted as ``warnings_said`` are: a name shaped like a token would be there twice (R67d).
    said = list(dict.fromkeys([*map(redacted, doc.get("warnings", ())), *warnings_said()]))
    return json.dumps({**doc, "warnings": said}) + "\n"


def write_out(text: str) -> None:
    """``text`` (a plan, as text or JSON) on stdout, all of it, else an ``OSError``: Python's
    text layer takes a large write the system accepted only part of (a disk that fills up,
    ``ulimit -f``) as done, and drops the rest without a word (R44h: a plan cut short at
    64 KB, exit 0). Written as the stream encodes it; a stream without a buffer (a test's,
    ``entry._Closed``) is written to as it is."""
    stream = sys.stdout
    buffer = getattr(stream, "buffer", None)
    if buffer is None:
        stream.write(text)
        stream.flush()
        return
    stream.flush()
    encoding = stream.encoding or "utf-8"
    with contextlib.suppress(LookupError):
        if codecs.lookup(encoding).name == "ascii":  # as click writes it (R44i: "→" as \u2192)
            encoding = "utf-8"
    data = memoryview(text.encode(encoding, stream.errors or "strict"))
    while data:
        took = buffer.write(data)
        if not took:
            raise OSError(errno.EIO, "the output took nothing")
        data = data[took:]
    buffer.flush()


def for_stream(text: str, encoding: str | None) -> str:
    """JSON ``text`` (a plan, ``ensure_ascii=False``: its letters as they are) as a stream in
    ``encoding`` carries it: as it is in UTF-8, else every letter past ASCII escaped as JSON
    escapes it (``\\u00f1``; a surrogate pair past U+FFFF). R44a: with
    ``PYTHONIOENCODING=latin-1`` the plan on stdout was JSON in latin-1, which a JSON reader
    refuses, and in ASCII Python's ``\\U0001f600``, which is no JSON. Outside its strings a
    JSON text has none."""
    try:
        if encoding and codecs.lookup(encoding).name == "utf-8":
            return text
    except LookupError:
        pass
    return _NON_ASCII.sub(lambda m: json.dumps(m[0])[1:-1], text)


def check_plan_out(path: str | Path, inputs: Iterable[str | Path] = ()) -> None:
    """Before a run reads anything: ``InputFileError`` (one line) when a plan cannot be
    written to ``path`` (``-``: stdout, always can), so that no fetch is spent on it (R36a: a
    missing directory was said after the whole fetch). And never over what is not a file:
    the atomic rename replaced a device or a FIFO with the plan (``/dev/null``, as root, was
    a plan file afterwards). Nor over a link, even to a file: the rename replaces the link
    itself, and ``/dev/stdout`` is one (to ``/proc/self/fd/1``, a file when stdout is
    redirected to one: R36e, as root, the system's link became a plan file). Nor over a file
    this tool cannot make again (R42a): a journal (undo's only record of an apply), or one of
    the run's ``inputs`` (the board exports it reads: maybe the only copy of that history; its
    config file, with the key and token: R42e)."""
    if str(path) == "-":
        return
    target = Path(path)
    where = target.parent
    if names_directory(path) and not looks(target, "dir"):
        raise InputFileError(
            f"cannot write plan {path}: that names a directory, not a file; give a file name"
        )
    if looks(target, "link"):  # False where this user cannot search: the stat below says
        raise InputFileError(
            f"cannot write plan {target}: it is a symbolic link; give the path of the file "
            "itself, or - for stdout"
        )
    try:
        mode = target.stat().st_mode
    except FileNotFoundError:
        mode = None
    except OSError as err:
        raise InputFileError(write_error(target, err)) from err
    if mode is not None and stat.S_ISDIR(mode):
        raise InputFileError(write_error(target, IsADirectoryError()))
    if mode is not None and not stat.S_ISREG(mode):
        raise InputFileError(
            f"cannot write plan {target}: it is not a regular file (a device, a FIFO or a "
            "socket); choose another --plan-out path, or - for stdout"
        )
    if mode is not None:
        _not_irreplaceable(target, inputs)
    if mode is not None and not_replaceable(target):
        raise InputFileError(
            f"cannot write plan {target}: it is another user's, and in {where} only a file's "
            "owner may replace it (the directory is sticky); choose another --plan-out path"
        )
    if not where.is_dir():  # a parent that is a file fails the stat above
        raise InputFileError(write_error(target, FileNotFoundError()))
    if not os.access(where, os.W_OK | os.X_OK):
        raise InputFileError(write_error(target, PermissionError()))


def _not_irreplaceable(target: Path, inputs: Iterable[str | Path]) -> None:
    """``InputFileError`` when the file at ``target`` is one of ``inputs`` or a journal."""
    for other in inputs:
        with contextlib.suppress(OSError):
            if target.samefile(other):
                raise InputFileError(
                    f"cannot write plan {target}: it is a file this run reads (a --from-export "
                    "board export, or its config file); choose another --plan-out path"
                )
    from trello_restore.planfile import is_journal_text  # which imports this

    try:
        with target.open("rb") as f:
            first = f.readline(1 << 16).decode("utf-8", "replace")
    except OSError:
        return
    if is_journal_text(first):
        raise InputFileError(
            f"cannot write plan {target}: it is a journal, which undo needs to reverse what "
            "its apply did; choose another --plan-out path"
        )


def write_error(target: Path, err: OSError) -> str:
    """The one line of a plan that cannot be written to ``target`` (``err``: why), with what
    to do."""
    where = target.parent  # looks(), not Path's: raises no PermissionError (R62b)
    if isinstance(err, NotADirectoryError) or (looks(where) and not looks(where, "dir")):
        return (
            f"cannot write plan {target}: {where} (or a folder above it) is not a directory; "
            "choose another --plan-out path"
        )
    if isinstance(err, FileNotFoundError) and not looks(where, "dir"):
        return f"cannot write plan {target}: directory {where} does not exist; create it first"
    if isinstance(err, PermissionError):
        return (
            f"cannot write plan {target}: directory {unsearchable(target)} is not writable; "
            "choose another --plan-out path"
        )
    if isinstance(err, IsADirectoryError) or looks(target, "dir"):
        return f"cannot write plan {target}: it is a directory; give a file name"
    return f"cannot write plan {target}: {err.strerror or err}; nothing was written"
