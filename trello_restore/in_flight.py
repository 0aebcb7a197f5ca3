"""Waiting out the writes a killed run may still have in flight, before live state is read to
tell whether they took effect (an undo, a one-step run, and an apply after a killed undo).

A run killed while writes were on their way leaves them ``pending`` in its journal, and Trello
may still carry such a write out after the kill: until the client's longest request (connect
plus read timeout) after it was sent. Read before then, live state can show a write as not made
that lands a moment later: an undo would call a member this tool added "never added" and leave
them; an apply after a killed undo would find a member the undo is about to remove still on the
card, and call it done (R41a).
"""

from __future__ import annotations

import logging
import math
import time
from collections.abc import Iterable, Sequence
from datetime import datetime
from pathlib import Path

from trello_restore.journal import JournalRecord

__all__ = ["in_flight_left", "in_flight_wait", "last_alive", "wait_for_in_flight"]

logger = logging.getLogger(__name__)


def in_flight_wait(
    records: Iterable[JournalRecord], last_written: float | None, max_request_s: float, now: float
) -> float:
    """Seconds to wait before live state can tell whether the ``pending`` writes among
    ``records`` (and those ``failed`` uncertain: ``JournalRecord.open``) took effect; 0 when
    there are none (Unix times).

    A run killed while writes were on their way leaves them ``pending``, and Trello may still
    carry such a write out after the kill: until the client's longest request
    (``max_request_s``, connect plus read timeout) after it was sent. A member found absent
    before then may yet arrive, so absent does not mean "never took effect" until then. The
    write was sent no earlier than its record's time (``at``), and the run was alive when the
    journal was last written (``last_written``, its modification time, None if unknown): the
    later of the two, plus ``max_request_s``. Never more than ``max_request_s`` from ``now``
    (the run is dead by now: undo holds its locks), also for a time in the future or one
    that does not parse."""
    # ``JournalRecord.open``: ``pending``, or ``failed`` without a sure answer (no answer in
    # time, a 5xx), which Trello may carry out after the client gave up (R46b: a write timed
    # out after 30 s landed 3 s later, after an undo at once had found it not made and
    # settled it so); that record's time is when the client gave up, the wait counts from it.
    # Not one Trello answered 2xx (a body that was not JSON: R55a), which is in flight no more.
    times = [_unix_time(r.at, now) for r in records if r.open and not _answered(r)]
    if not times:
        return 0.0
    if last_written is not None:
        times.append(last_written)
    return min(max_request_s, max(0.0, max(times) + max_request_s - now))


def _answered(r: JournalRecord) -> bool:
    """Whether Trello answered the record's write with a success (a failed one whose answer
    could not be read: ``runner``), so that it is no longer on its way."""
    return r.http_status is not None and 200 <= r.http_status < 300


def last_alive(path: Path, records: Sequence[JournalRecord]) -> float | None:
    """When the run that left a journal's open apply records was last seen alive (Unix time):
    the journal's modification time, unless an undo has written to it since (R34a: an undo
    without ``--include-board-memberships`` moved it, and the one with it that the first one
    advised waited 35 s for a grant journaled minutes before): then its last apply record's
    time. None when neither is known."""
    if any(r.op == "undo" for r in records):
        times = [t for r in records if r.op == "apply" and (t := _unix_time(r.at, -1.0)) >= 0]
        return max(times, default=None)
    try:
        return path.stat().st_mtime
    except OSError:
        return None


def _unix_time(at: str, default: float) -> float:
    try:
        return datetime.fromisoformat(at).timestamp()
    except ValueError:
        return default


def in_flight_left(
    journals: Sequence[tuple[Path, Iterable[JournalRecord], float | None]], max_request_s: float
) -> tuple[float, list[str]]:
    """How long until no write of the killed runs that left these journals' open records
    (each journal's path, those open records, and when its run was last alive:
    ``last_alive``, or None) can still be in flight (``in_flight_wait``), and the journals
    that is for (R83a: one killed an hour ago was named too); 0 and none when none can."""
    now = time.time()
    waits = [(p, in_flight_wait(open_, last, max_request_s, now)) for p, open_, last in journals]
    return max((w for _, w in waits), default=0.0), [str(p) for p, w in waits if w > 0]


def wait_for_in_flight(
    journals: Sequence[tuple[Path, Iterable[JournalRecord], float | None]], max_request_s: float
) -> None:
    """Sleep until no write of the killed runs that left these journals' open records can
    still be in flight (``in_flight_left``), saying so on stderr first."""
    wait, named = in_flight_left(journals, max_request_s)
    if wait > 0:
        logger.warning(
            "waiting %d s for writes a killed run, or one that got no sure answer to them, may "
            "still have in flight (%s), so that live state tells whether they took effect",
            math.ceil(wait),
            ", ".join(named),
        )
        time.sleep(wait)
