"""Other journals' writes left open on some boards, found from disk alone (design.md §5, §6).

A run of this tool that writes first settles, from live state, what other journals in the
journals directory left open on its boards (``undo.resolve_earlier_journals``): a killed apply's
or undo's writes journaled ``pending``, or ``failed`` with no sure answer. Before it reads live
state it waits for those a killed run may still have in flight (``in_flight``). This module finds
those journals and records (``earlier_open``, ``has_open_records``), says which of their writes
may still be in flight (``in_flight_of``), and, for a one-step run, takes that wait before the
run reads its boards to plan (``wait_for_earlier``).
"""

from __future__ import annotations

import logging
import math
from collections.abc import Iterable, Iterator, Sequence
from pathlib import Path

from trello_restore.api.settings import same_api
from trello_restore.errors import InputFileError
from trello_restore.in_flight import in_flight_left, last_alive, wait_for_in_flight
from trello_restore.journal import Journal, JournalRecord, unresolved
from trello_restore.journal_settled import Settled
from trello_restore.kinds import kind_of
from trello_restore.locks import holder_of, lock_names
from trello_restore.undo_others import journal_files

__all__ = [
    "earlier_open",
    "has_open_records",
    "in_flight_of",
    "not_waited_for",
    "open_undos",
    "ops",
    "wait_for_earlier",
]

logger = logging.getLogger(__name__)


def ops(records: Iterable[JournalRecord], op: str = "apply") -> list[JournalRecord]:
    """The records of ``op`` (``apply``, ``undo``) among ``records``."""
    return [r for r in records if r.op == op]


def open_undos(records: Iterable[JournalRecord]) -> dict[str, JournalRecord]:
    """The changes whose latest record is an undo's write sent with no answer journaled (a
    killed undo's ``pending``, an ``uncertain`` failure): it may land yet, or has. By id."""
    latest = {r.change_id: r for r in records}
    return {cid: r for cid, r in latest.items() if r.op == "undo" and r.open}


def not_waited_for(
    open_: Iterable[JournalRecord], records: Sequence[JournalRecord]
) -> list[JournalRecord]:
    """The open apply records among ``open_`` whose writes an undo may not have waited for
    yet: those after the journal's (``records``) last ``undo`` record, and board grants (an
    undo waits for those only with ``--include-board-memberships``). An undo writes its
    records only after waiting for every open record of its scope then in the journal
    (``undo._wait_for_in_flight``), and a killed apply writes no ``undo`` record, so a write of
    a kind every undo looks at, journaled ``pending`` before one, can no longer be in flight;
    the journal's modification time, which that undo moved, says nothing of when the killed
    run was last alive (R33a: every undo within 35 s of the last one waited 35 s again)."""
    last = max((i for i, r in enumerate(records) if r.op == "undo"), default=-1)
    after = {id(r) for r in records[last + 1 :]}
    return [r for r in open_ if id(r) in after or not kind_of(r.action).undone_by_default]


def in_flight_of(journal: Journal, records: Iterable[JournalRecord]) -> list[JournalRecord]:
    """Which of ``journal``'s open ``records`` (``earlier_open``) a killed run may still have
    in flight: its apply's writes no undo has waited for (``not_waited_for``), and its undo's
    (R79b: a killed undo's removals landed after another plan's apply read the boards)."""
    records = list(records)
    return [*not_waited_for(ops(records), journal.records), *ops(records, "undo")]


def earlier_open(
    directory: Path, boards: set[str] | None, exclude: Path | None, *, warn: bool = True
) -> Iterator[tuple[Journal, list[JournalRecord]]]:
    """The journals in ``directory`` (but ``exclude``) with open records on ``boards`` (None:
    on any board), and those records; journals known to hold none (``journal_settled``) are
    not read. One that cannot be read is skipped, with a warning unless not ``warn`` (a second
    look in one run)."""
    special: list[Path] = []
    # Not ``warn``: a directory it cannot look into is said by the first look.
    listed = journal_files(directory, exclude, None if warn else {}, special)
    for path in special if warn else ():  # R82c: passed over without a word
        logger.warning(
            "skipping %s while looking for interrupted writes: it is not a regular file, so "
            "no journal this tool wrote; move it out of the journal directory",
            path,
        )
    settled = Settled(directory, listed)
    try:
        for path in listed:
            stamp = settled.stamp(path)
            if settled.known(path, stamp):
                continue
            try:
                # A torn last line of an earlier run's journal is no write to settle: said by
                # the run that settles it (R35a: every later run warned of it, and none
                # removed it).
                journal = Journal.read(path, op="beside", warn_torn=False)
            except InputFileError as exc:
                if warn:
                    logger.warning(
                        "skipping %s while looking for interrupted writes: %s", path, exc
                    )
                continue
            open_ = [*unresolved(journal.records).values(), *open_undos(journal.records).values()]
            if not open_:
                settled.note(path, stamp)
            records = [r for r in open_ if boards is None or r.board_id in boards]
            if records:
                yield journal, records
    finally:
        settled.save()


def has_open_records(directory: Path, board_ids: Iterable[str]) -> bool:
    """Whether a journal in ``directory`` has open records (``journal.unresolved``) on
    ``board_ids``: what ``resolve_earlier_journals`` would settle, read from disk alone (it
    also checks each journal's account and API URL, which takes a request)."""
    return next(earlier_open(directory, set(board_ids), None), None) is not None


def wait_for_earlier(
    directory: Path, *, api_url: str, lock_dir: Path, max_request_s: float, dry_run: bool = False
) -> None:
    """Before a one-step run reads its boards to plan, under its run locks: wait for the
    writes that other journals' killed runs may still have in flight (``in_flight_of``), as
    ``resolve_earlier_journals`` waits before it reads live state to settle them, which then
    waits no more. Read sooner, the boards showed a killed undo's removal that had not landed
    yet: the member still on the card, so the plan left it out without a word, and a moment
    later it was gone. From disk alone, and on every board: which boards the plan reads is
    known only once it has read where their cards went. A journal made at another API URL is
    no run of this one's; one whose plan's lock a run holds now has writes under way, not a
    killed run's (that lock makes the settling refuse, after the plan). Whose account each
    journal is, is not known yet: another account's killed run is waited for too, no longer
    than this one's. Journals with nothing open are not read (``journal_settled``). A dry run
    (no lock, nothing to settle) does not wait: it says that the boards may change yet, and
    when to look again (R83a: it showed a member on a card without a word, gone a moment on)."""
    waits: list[tuple[Path, Iterable[JournalRecord], float | None]] = []
    for journal, records in earlier_open(directory, None, None, warn=False):
        header = journal.header
        if not same_api(header.api_url, api_url):
            continue
        if holder_of(lock_dir, lock_names(header.plan_digest, ())[0]) is not None:
            continue
        waits.append(
            (
                journal.path,
                in_flight_of(journal, records),
                last_alive(journal.path, journal.records),
            )
        )
    if not dry_run:
        wait_for_in_flight(waits, max_request_s)
        return
    left, named = in_flight_left(waits, max_request_s)
    if left > 0:
        logger.warning(
            "a killed run, or one that got no sure answer to its writes, may still have writes "
            "in flight on Trello (%s): this dry run shows the boards as they are now, which "
            "those writes may still change; run it again in %d s to see what they did",
            ", ".join(named),
            math.ceil(left),
        )
