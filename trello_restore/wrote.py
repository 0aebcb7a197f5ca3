"""Whether the running command has written to Trello, for the lines that end it: a run stopped
before its first write says that nothing was changed (``cli.exit_with``, ``cli_restore``), so a
user at 2 a.m. need not guess whether the board changed. Decided by the count of writes this
process handed to the wire (``api.writes_sent``), never by what the run meant to do. And
how those lines tell a one-step run to go on (``same_command``), which depends on whether the
``--journal PATH`` it was given holds records.
"""

from __future__ import annotations

import re
import sys
from pathlib import Path

__all__ = [
    "in_its_journals",
    "journaled",
    "journals",
    "named_journal",
    "named_journal_held",
    "nothing_changed",
    "nothing_yet",
    "same_command",
    "start",
    "started",
    "started_here",
    "written_then",
]

#: An error line that already says whether anything was written (``nothing_changed``).
_SAYS_NOTHING_SENT = re.compile(
    r"\bnothing (?:more |else )?(?:was|is) (?:changed|written|sent|applied)|\bnothing changed",
    re.IGNORECASE,
)
#: ``_so_far`` when the command started (``start``).
_at_start = [0]
#: The journals the running command has written records to, in the order first written (a
#: dict: its workers' journals may note one at once, and a key is set atomically).
_journals: dict[Path, None] = {}
#: The journals the running command created (``started``).
_started: dict[Path, None] = {}
#: A one-step run's ``--journal PATH`` (``named_journal``).
_named: list[Path] = []


def _so_far() -> int:
    """``api.writes_sent``: 0 while the HTTP layer is not even imported."""
    api = sys.modules.get("trello_restore.api")
    return 0 if api is None else int(api.writes_sent())


def start() -> None:
    """A command starts: its writes are counted from here."""
    _at_start[0] = _so_far()
    _journals.clear()
    _started.clear()
    _named.clear()


def named_journal(path: Path) -> None:
    """The running command is a one-step run whose journal is ``--journal PATH``."""
    _named[:] = [path]


def named_journal_held() -> bool:
    """Whether the running one-step run's ``--journal PATH`` holds records: run again, it
    makes a new plan, and a journal belongs to one plan, so the same command is refused (R59c,
    R60a: exit 2 for those who did as they were told)."""
    try:
        return bool(_named) and _named[0].stat().st_size > 0
    except OSError:
        return False


def same_command() -> str:
    """How a one-step run is told to go on: "run the same command again", with "with another
    --journal" once its ``--journal PATH`` holds records (``named_journal_held``)."""
    return f"run the same command again{' with another --journal' if named_journal_held() else ''}"


def started(path: Path) -> None:
    """The running command created the journal at ``path``."""
    _started.setdefault(path.absolute(), None)


def started_here(path: Path) -> bool:
    """Whether the running command created the journal at ``path`` (``started``): no earlier
    run wrote to it (R51d: a first apply stopped before its first write said its journal
    "holds what earlier runs did")."""
    return path.absolute() in _started


def journaled(path: Path) -> None:
    """The running command has written a record to the journal at ``path``."""
    _journals.setdefault(path, None)


def journals() -> list[Path]:
    """The journals the running command has written to (``journaled``), for the line that
    ends it when its output cannot be written (``cli_exit.exit_output_failed``)."""
    return list(_journals)


def in_its_journals() -> str:
    """``every change this run made is in its journal PATH`` (its journals, when several; no
    path when it journaled nothing)."""
    kept = journals()
    said = "every change this run made is in its journal"
    return f"{said}{'s' if len(kept) > 1 else ''} {', '.join(map(str, kept))}" if kept else said


def written_then(message: str) -> str:
    """``message`` (an error that ended a run after it wrote to Trello: R39d, a token revoked
    mid-apply said only "Trello rejected the API key or token", not that 28 changes were made,
    nor where they are) saying where its writes are and how to go on, unless it says so (or
    it journaled none)."""
    if "journal" in message or not journals():
        return message
    return (
        f"{message}; {in_its_journals()}: once this is fixed, {same_command()} to go on where it "
        "stopped"
    )


def nothing_yet() -> bool:
    """Whether the running command has handed Trello no write so far."""
    return _so_far() == _at_start[0]


def nothing_changed(message: str, earlier: str | None = None) -> str:
    """``message`` saying that nothing was changed (by this run, and what ``earlier`` says
    earlier runs did, when given), unless it says what was written already."""
    if _SAYS_NOTHING_SENT.search(message):
        return message
    if earlier:
        return f"{message}; nothing was changed by this run, and {earlier}"
    return f"{message}; nothing was changed"
