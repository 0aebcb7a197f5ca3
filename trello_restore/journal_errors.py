"""What the journal (``journal.py``) says when it cannot be created, read or written: each
way in one line naming the file, what is wrong with it and what to do (``cannot_create``,
``not_a_journal``, ``damaged_line``, and ``write_failed``, the ``JournalWriteError`` that stops
a run); ``fields_wrong`` says which field keeps a header or a record line from being one, and
``GIVE_JOURNAL`` what to do about a file that is no journal, by the command that read it."""

from __future__ import annotations

import errno
import json
import os
from dataclasses import MISSING, fields
from pathlib import Path
from typing import TYPE_CHECKING, Any

from trello_restore.errors import InputFileError, JournalWriteError
from trello_restore.fsutil import looks, read_only_fix, sudo_advice
from trello_restore.parsing import load_json
from trello_restore.store_notices import unsearchable
from trello_restore.words import BOM, json_problem, shell_join, shown_json
from trello_restore.wrote import same_command

if TYPE_CHECKING:
    from trello_restore.journal import Op


def write_failed(
    path: Path, exc: OSError, *, sent: int | None = None, op: Op = "apply"
) -> JournalWriteError:
    """The one line for a journal that cannot be written: which, why, what was sent (``sent``:
    the writes this run sent, when the caller counted them; each has its ``pending`` record in
    the journal, as none is sent before) and what to do. Running the same command again
    resumes: the journal holds everything up to the failure (a torn last line is removed by
    that run, ``journal_file.drop_torn_tail``)."""
    why = exc.strerror or str(exc)
    if exc.errno in (errno.ENOSPC, errno.EDQUOT):
        fix = "free space on its disk"
    elif exc.errno == errno.EFBIG:  # R64b: the limit a run was started with
        fix = "raise the file size limit (`ulimit -f`)"
    else:
        fix = "fix what keeps it from being written"
    if sent is None:
        done = "nothing more was sent to Trello"
    elif sent == 0:
        done = "nothing was sent to Trello"
    else:
        writes = f"{sent} {'undo ' if op == 'undo' else ''}write{'s were' if sent != 1 else ' was'}"
        done = f"{writes} sent to Trello, each recorded there before it went, and no more"
    then = f"{same_command()} to resume"
    if op == "apply" and sent:
        then += f", or reverse what was sent with trello-restore undo {shell_join([str(path)])}"
    elif op == "undo":
        then = "run the same undo again to finish it"
    return JournalWriteError(
        f"cannot write the journal {path} ({why}), so the run stopped: {done}; {fix}, then {then}"
    )


def cannot_open(path: Path, exc: OSError) -> InputFileError:
    """The one line for a journal that cannot be opened to append to, before any write of
    this run (R47b: a read-only journal said only that, with no word of what to do)."""
    fix = "fix what keeps it from being written"
    if exc.errno == errno.EACCES:
        fix = "make it writable for this user (chmod u+w, as its owner)"
    elif exc.errno == errno.EPERM:  # R60d: marked immutable, which chmod does not change
        fix = "clear its immutable flag (chattr -i, as root)"
    return InputFileError(
        f"cannot write the journal {path} ({exc.strerror or exc}): nothing was sent to "
        f"Trello; {fix}, then run the same command again"
    )


def fields_wrong(raw: dict[str, Any], kind: type[Any]) -> str | None:
    """What keeps ``raw`` from being a ``kind`` (a dataclass of the journal): the fields it
    lacks, else one it does not know; None when neither."""
    names = [f.name for f in fields(kind)]
    need = [f.name for f in fields(kind) if f.default is f.default_factory is MISSING]
    missing = [n for n in need if n not in raw]
    if missing:
        return f"no {', '.join(missing)} field{'s' if len(missing) > 1 else ''}"
    unknown = sorted(str(k) for k in raw if k not in names)
    if unknown:
        return f"an unknown field, {unknown[0][:40]}"
    for f in fields(kind):
        allowed, said = _TYPES[str(f.type)]
        value = raw.get(f.name)
        if f.name in raw and type(value) not in allowed:  # type(): true is no whole number (R51a)
            return f"its {f.name} is {shown_json(value)}, not {said}"
    return None


#: What a field of a journal line may hold, by its type in ``JournalHeader`` and
#: ``JournalRecord``, and how that is said (R51a: a field of another type, as a hand edit or a
#: damaged disk leaves, was read as it was and failed later, as an internal error, after a
#: resume had appended to the journal).
_TYPES: dict[str, tuple[tuple[type, ...], str]] = {
    "str": ((str,), "text"),
    "Op": ((str,), "text"),
    "Status": ((str,), "text"),
    "int": ((int,), "a whole number"),
    "bool": ((bool,), "true or false"),
    "int | None": ((int, type(None)), "a whole number or null"),
    "dict[str, Any] | None": ((dict, type(None)), "an object or null"),
}


def newer_fields(raw: dict[str, Any], kind: type[Any]) -> str | None:
    """The fields of ``raw`` a ``kind`` does not know (the first three, named), when it lacks
    none ``kind`` needs: a newer version's line (``NewerRecord``); None otherwise."""
    names = {f.name for f in fields(kind)}
    unknown = sorted(str(k)[:40] for k in raw if k not in names)
    if unknown and fields_wrong({k: v for k, v in raw.items() if k in names}, kind) is None:
        return ", ".join(unknown[:3])
    return None


#: What to do about a file that is not a journal, by the command that read it (undo: one it
#: was given; apply: its plan's journal, or the one --journal names; beside: another one in
#: the journal directory, looked into by a run that named none of them: R82c, every cron run
#: told the user to "give the journal file apply printed" of a journal emptied by hand).
GIVE_JOURNAL = {"undo": "give the journal file apply printed"}
GIVE_JOURNAL["apply"] = "restore it from a backup, or pass another --journal PATH"
GIVE_JOURNAL["beside"] = "restore it from a backup, or move it out of the journal directory"


def not_a_journal(path: Path, text: str, exc: ValueError | None, give: str) -> str:
    """Why ``path``, whose first line is no journal header, is not a journal: a plan file (one
    JSON document with the plan's format marker) is named as one, anything else as damaged."""
    from trello_restore.planfile import FORMAT as PLAN_FORMAT  # planfile imports journal

    if text.startswith(BOM):  # this tool writes none: a text editor saved it
        return (
            f"{path} starts with a byte order mark (BOM), which a text editor adds on saving: "
            "this tool writes none; save it as UTF-8 without a BOM (it was not changed)"
        )
    try:
        doc = load_json(text)
    except ValueError:
        doc = None
    if isinstance(doc, dict) and doc.get("format") == PLAN_FORMAT:
        return (
            f"{path} is a plan file, not a journal: give the journal apply printed for it "
            "(trello-restore undo JOURNAL); a plan is applied with trello-restore apply PLAN"
        )
    why = (
        f"its first line is not JSON: {json_problem(exc, line=False)}"
        if isinstance(exc, json.JSONDecodeError)
        else "its first line is not a journal header"
    )
    return (
        f"{path} is not a trello-restore journal or is damaged ({why}); it was not changed: {give}"
    )


class NewerRecord(ValueError):
    """A record whose fields are whole but for one this version does not know: a newer
    version's (records gain fields, as ``skew_s`` came; the journal's format stays), which
    deleting the line would lose."""


def damaged_line(path: Path, number: int, exc: Exception) -> str:
    """A record line that cannot be read: which line of the file, and what to do. Deleting it
    loses little: every write is journaled ``pending`` before it is sent, and apply and undo
    settle an open or missing outcome from the boards' live state; only a change that line
    alone recorded (a ``pending`` write whose outcome was never journaled) is forgotten."""
    if isinstance(exc, NewerRecord):
        return (
            f"{path}: line {number} has a field this version of trello-restore does not know "
            f"({exc}): a newer version wrote it; the journal was not changed: run that version "
            "(or a later one) on it, not this one"
        )
    why = (
        f"not JSON: {json_problem(exc, line=False)}"
        if isinstance(exc, json.JSONDecodeError)
        else exc
    )
    return (
        f"{path}: line {number} is damaged ({why}); the journal was not changed: restore it "
        "from a backup, or delete that line and run the command again (a change another line "
        "records too is settled from the board's live state; one only that line recorded "
        "counts as never sent)"
    )


def cannot_create(path: Path, exc: OSError) -> str:
    # mkdir says "File exists" when a folder on the path is a file: say what is really wrong.
    why = "a folder on its path is not a directory" if _not_a_dir(path) else exc.strerror
    if exc.errno == errno.EROFS:  # no permission can help there
        fix = read_only_fix(None, "pass --journal PATH")
        return f"cannot create the journal {path} ({why}); {fix}"
    if looks(path, "link") and not looks(path, "dir") and isinstance(exc, FileNotFoundError):
        return (  # R63a: a dangling link (the link is there, the file it names is not)
            f"cannot create the journal {path}: it is a symbolic link to {path.readlink()}, "
            "which does not exist; remove the link, or pass --journal with another path"
        )
    if exc.errno == errno.EACCES and looks(path) and not os.access(path, os.W_OK):
        return (  # R62b: an empty file of another user's (mktemp's) in a writable /tmp
            f"cannot create the journal {path} ({why}): the empty file there is not writable "
            "by this user; remove it as its owner, or pass --journal with another path"
        )
    return (
        f"cannot create the journal {path} ({why}); check that this user can write in "
        f"{path.parent} (the state directory unless --journal named it: TRELLO_RESTORE_HOME), "
        "or pass --journal with a path where it can"
    )


def unreachable(path: Path, exc: OSError, op: Op) -> str:
    """A journal that cannot even be looked up: a directory on its way cannot be searched by
    this user (``store_notices.unsearchable``); which, and what to do (``op``: the command)."""
    directory = unsearchable(path)
    what = "read" if op == "undo" else "open"
    other = "" if op == "undo" else ", or pass another --journal PATH"
    # R63b: the state's journal directory that a run with sudo made (fsutil.sudo_advice
    # names none whose owner may rightly be another: R64a)
    fix = (
        sudo_advice(path, directory) or f"make it searchable: chmod 700 {directory} if it is yours"
    )
    return (
        f"cannot {what} the journal {path}: this user cannot search the directory {directory} "
        f"({exc.strerror or exc}); {fix}{other}"
    )


def _not_a_dir(path: Path) -> bool:
    """Whether a folder on ``path``'s way is a regular file (so no directory can be made)."""
    return any(p.exists() and not p.is_dir() for p in path.parents)
