"""Journals of interrupted runs beside a journal: what an undo of the one-step run that finished
them leaves on the boards (R55b).

A one-step run (``--board … --since … --yes``) interrupted and run again plans afresh, and the
second run writes a journal of its own (README, "Resuming the one-step form plans again"). The
first run's changes are in the first journal only: an undo of the journal the second run
printed took back its changes, exit 0, and left the first run's on the boards without a word.
So the second run names the first journal, and an undo of a journal names the journals beside
it of runs on the same boards, by the same account at the same API, interrupted (Ctrl-C'd:
writes journaled as not sent; killed: writes left pending) in the ``WITHIN`` before its run
began, that still hold changes this tool made: undone too, they give back the state before
the first run.
"""

from __future__ import annotations

import logging
from collections.abc import Collection
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path

from trello_restore.api.settings import same_api
from trello_restore.errors import InputFileError
from trello_restore.journal import Journal, JournalRecord
from trello_restore.runner import UNSENT
from trello_restore.touches import record_time
from trello_restore.undo_left import undoable
from trello_restore.undo_others import journal_files
from trello_restore.words import plural, shell_join, when

__all__ = ["WITHIN", "Interrupted", "interrupted_before", "say_after_run", "say_interrupted"]

logger = logging.getLogger(__name__)

#: How long before a run began an interrupted run on its boards is taken for one it finishes.
WITHIN = timedelta(hours=24)


@dataclass(frozen=True)
class Interrupted:
    """A journal of an interrupted run: its path, when its run last wrote to it, and how many
    changes it made that no undo took back."""

    path: Path
    last: datetime
    left: int


def interrupted_before(journal: Journal, boards: Collection[str]) -> list[Interrupted]:
    """The journals beside ``journal`` (in its directory) of its API and account, of runs on
    ``boards`` interrupted in the ``WITHIN`` before ``journal``'s run began, that hold changes
    this tool made and no undo took back; oldest first. Journals that cannot be read are
    passed over (an undo of them says why)."""
    began = record_time(journal.header.created_at)
    if began is None:
        return []
    found: list[Interrupted] = []
    for path in journal_files(journal.path.parent, journal.path, unlisted={}):
        try:  # one last written before the window is not read (a year of nightly journals)
            if path.stat().st_mtime < (began - WITHIN).timestamp():
                continue
            other = Journal.read(path, warn_torn=False)
        except (InputFileError, OSError):
            continue
        head = other.header
        if head.account_id != journal.header.account_id:
            continue
        if not same_api(head.api_url, journal.header.api_url):
            continue
        records = [r for r in other.records if r.board_id in boards]
        if not any(_interrupted(r) for r in records):
            continue
        times = [t for r in records if (t := record_time(r.at)) is not None]
        if not times or not began - WITHIN <= max(times) <= began:
            continue
        left = len(undoable(records))
        if left:
            found.append(Interrupted(path, max(times), left))
    return sorted(found, key=lambda x: x.last)


def say_interrupted(found: Collection[Interrupted], *, undo: Path | None = None) -> None:
    """One warning for each of ``found``: for an undo of the journal ``undo``, that it leaves
    those changes; for a run (``undo`` None), that its changes are in that journal."""
    for x in found:
        command = shell_join(["trello-restore", "undo", str(x.path)])
        changes = plural(x.left, "change")
        if undo is not None:
            logger.warning(
                "%s holds %s this tool made in a run on these boards interrupted on %s, before "
                "the run of %s began, which this undo leaves on the boards: if that run "
                "finished the interrupted one, undo it too: %s",
                x.path,
                changes,
                when(x.last),
                undo.name,
                command,
            )
        else:
            logger.warning(
                "a run on these boards was interrupted on %s: its %s are in its own journal, "
                "%s, not in this run's; to take back both runs' changes, undo both journals "
                "(%s)",
                when(x.last),
                changes,
                x.path,
                command,
            )


def say_after_run(path: Path | None, boards: Collection[str]) -> None:
    """After a one-step run that wrote its journal at ``path`` on ``boards``: the runs on
    them interrupted before it (``say_interrupted``)."""
    if path is None:
        return
    try:
        journal = Journal.read(path, warn_torn=False)
    except (InputFileError, OSError):  # said by the run already
        return
    say_interrupted(interrupted_before(journal, boards))


def _interrupted(r: JournalRecord) -> bool:
    """Whether a record shows its run interrupted: a write left pending (killed), or one
    journaled as not sent (Ctrl-C)."""
    return r.op == "apply" and (r.status == "pending" or r.error == UNSENT)
