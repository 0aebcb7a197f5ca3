"""Reading a backwards-paged Trello listing whole, in date ranges read concurrently.

Trello pages a board's actions and a board's cards newest first, at most 1000 a page, and the
only way through a long listing is ``before=``: each page names the next (trello-api-notes.md
§0.2, §13.1). Read as one chain, a listing of N pages takes N round trips whatever the rate
limit allows — 274 pages of a long board's history at 200 ms are 55 s, against 27 s at
Trello's 100 requests per 10 s. So ``read_backwards`` reads the newest pages in turn (most
listings end within ``SEQUENTIAL_PAGES``), then splits what lies before into date ranges
(``since``/``before`` together) read as chains of their own, and splits a chain's remaining
range again whenever fewer chains run than the readers could carry. Each range ends with one
short page, so the price is one request per range beyond the minimum; the split is made only
where the density of the page just read says each part holds ``PAGES_PER_RANGE`` pages or
more (by that density alone once ranges a chain split off held less than a page:
``THIN_RANGES``, its items are bunched in time), only while readers are idle, and only while
the rate limit has room: once requests wait for Trello's window, more chains add requests and
read nothing sooner (a long board's cold run made 11 such splits after its first window, 11
requests: a tenth of a window). ``cuts`` (where the last run's listing had each 900th card)
start ranges before the first page comes back.

Trello's ``since`` and ``before`` are exclusive, and it may compare some cursors by second (bug
trello-archive/api-docs#68): a range is asked from ``overlap`` before its lower edge, and a
chain's next page from the end of the ``step`` its oldest item falls in (``next_before``), so
no item on an edge is skipped; the repeats are dropped by id. A page whose items all fall in one
step is stepped over by the oldest id, with a warning, or with the caller told the step
(``Listing.crowded``: the action feeds read it again by the cards it concerns).
"""

from __future__ import annotations

import logging
import math
import threading
import weakref
from collections.abc import Callable, Mapping, Sequence
from concurrent.futures import Executor
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from trello_restore.errors import BadResponse
from trello_restore.models import id_second, millis

__all__ = ["PAGE", "Listing", "next_before", "read_backwards", "stamp"]

logger = logging.getLogger(__name__)

PAGE = 1000
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
#: The pages a range split off should be expected to hold, at least: each range ends with one
#: short page, so fewer pages a range read faster and cost more requests beyond the minimum.
PAGES_PER_RANGE = 2
#: The full pages a listing reads in turn before any range is split off (and the page after
#: them): most listings end within them (a night's new history, a board's cards, the actions of
#: an apply just made), and what they hold is bunched in time, not spread as a first page's
#: density would say, so ranges cut by it came back empty, each a request (R45b: 15 requests
#: for 4 pages of one burst of history; 6 and 11 for a 1,041-card listing). A long listing
#: loses three round trips.
SEQUENTIAL_PAGES = 3
#: Ranges a chain split off that held less than a page (empty, or one short page) after which
#: that chain cuts its range by the density of its last page, not into equal spans of time:
#: what it reads is bunched in time, so more ranges cut by time would be more requests that
#: read next to nothing (R45e). Other chains go on as before: a quiet stretch of a board's
#: history does not slow the reading of a busy one.
THIN_RANGES = 2
Item = Mapping[str, Any]
#: A chain's next request: its range's lower edge, the ``before`` date, the page when read
#: already, an id cursor to ask for it by instead of the date.
_Step = tuple[datetime | None, datetime, list[Item] | None, str | None]
#: One request: ``(before, since)`` cursors (None: not sent) → the page, newest first.
GetPage = Callable[[str | None, str | None], list[Item]]


def stamp(when: datetime) -> str:
    """A cursor Trello reads as a date: ISO 8601 in UTC, to the millisecond."""
    return millis(when)


def next_before(oldest: datetime, step: timedelta) -> datetime:
    """The ``before`` date of the page after one whose oldest item is ``oldest``: the end of the
    ``step`` it falls in (counted from the epoch). Trello may compare a cursor as a whole second
    (its "creation date"): a cursor inside the oldest item's second would then skip the items
    of that second the page did not hold. The rest of that step is read again instead, and the
    repeats are dropped by id."""
    return oldest - (oldest - _EPOCH) % step + step


def _oldest(listing: Listing, page: Sequence[Item]) -> datetime:
    """Where the page after ``page`` starts from: its oldest item's date, but never an item's
    date before its id's second. Trello's cursors work on the creation date (notes §13.1), which
    an id holds: R54b, one action of a full page dated two days before its id made the next
    page start there, and every action between was never read. One id is parsed a page unless
    the oldest item is such a one."""
    oldest, item = min(((listing.when(x), i) for i, x in enumerate(page)), key=lambda p: p[0])
    made = id_second(str(page[item].get("id", "")))
    if made is None or made <= oldest:
        return oldest
    return min(max(listing.when(x), id_second(str(x.get("id", ""))) or _EPOCH) for x in page)


def _crowded(listing: Listing, oldest: datetime) -> None:
    """A full page fell within one ``step``: the listing reads on by the oldest id, which
    Trello may also compare by its second, so some items of that step may be missed. The
    listing's ``crowded`` is told the step's start (its caller reads that step another way);
    without one, a warning says so."""
    start = next_before(oldest, listing.step) - listing.step
    step = "second" if listing.step == timedelta(seconds=1) else str(listing.step)
    if listing.crowded is not None:
        logger.info("%s: a full page within the %s from %s", listing.what, step, stamp(start))
        listing.crowded(start)
        return
    logger.warning(
        "%s: a full page (%d) within the %s from %s, which Trello's paging cannot tell apart: "
        "read on by id, but some of them may be missed (trello-archive/api-docs#68)",
        listing.what,
        PAGE,
        step,
        stamp(start),
    )


def _stuck(listing: Listing, cursor: str) -> BadResponse:
    """A full page asked for before id ``cursor`` that holds nothing before it: Trello did not
    page on (it ignored the cursor), and asking again would read the same page forever (R51b:
    394 requests in 40 s for one board's cards, and no end)."""
    return BadResponse(
        f"Trello did not page on through {listing.what}: asked for what comes before "
        f"{cursor}, it answered a full page holding nothing older; stopped rather than ask "
        "for it forever: try again later, and report it if it persists"
    )


@dataclass(frozen=True)
class Listing:
    """How one listing is paged: ``when`` is an item's date (an action's ``date``; a card's
    id second), ``step`` the finest difference Trello's cursors tell apart for it, ``what``
    names it in warnings."""

    get: GetPage
    when: Callable[[Item], datetime]
    step: timedelta
    what: str
    #: How far below a range's lower edge its ``since`` is set (exclusive cursors, by-second
    #: comparison): repeats are dropped, skips cannot happen.
    overlap: timedelta = timedelta(seconds=1)
    #: Whether requests wait for the rate limit now (``RateLimiter.saturated``): a range split
    #: off then only costs its short page, as the limit, not the readers, sets the pace.
    waiting: Callable[[], bool] = lambda: False
    #: Told the start of each step a full page fell within (``_crowded``), when the caller can
    #: read such a step another way; None: a warning says items may be missed.
    crowded: Callable[[datetime], None] | None = None


class _Readers:
    """How many chains one executor is running or has queued: a chain splits only while the
    executor has a reader to spare (shared by every listing read through it)."""

    def __init__(self, executor: Executor, workers: int) -> None:
        self.executor = executor
        self.workers = workers
        self.busy = 0
        self.lock = threading.Lock()

    def spare(self) -> int:
        with self.lock:
            return max(0, self.workers - self.busy)


_READERS: weakref.WeakKeyDictionary[Executor, _Readers] = weakref.WeakKeyDictionary()
_READERS_LOCK = threading.Lock()


def _readers(executor: Executor) -> _Readers:
    with _READERS_LOCK:
        found = _READERS.get(executor)
        if found is None:
            workers = getattr(executor, "_max_workers", 1)
            found = _READERS[executor] = _Readers(executor, int(workers))
        return found


@dataclass(eq=False)
class _Chain:
    """One date range being read: its pages so far (newest first) and its upper edge."""

    upper: datetime | None
    pages: list[list[Item]] = field(default_factory=list)
    #: The chain that split this range off (``_Read.split``), until its first page is read:
    #: told when that page is short (the range held less than a page).
    parent: _Chain | None = None
    #: Ranges this chain split off that held less than a page (``THIN_RANGES``).
    thin_children: int = 0


class _Read:
    """One listing's read in flight: its chains, the page requests queued or running, the
    first error.

    Each page is a task of its own on the readers' executor, which queues the chain's next
    page when it is done: chains of different listings (a board's actions, its cards, other
    boards') take turns on the readers instead of one long chain holding a reader until its
    range is read."""

    def __init__(
        self,
        listing: Listing,
        readers: _Readers | None,
        floor: datetime | None,
        since: datetime | None = None,
        collect: bool = True,
    ) -> None:
        self.listing = listing
        self.since = since
        self.collect = collect
        self.readers = readers
        self.floor = floor
        self.chains: list[_Chain] = []
        #: Full pages read so far.
        self.full_pages = 0
        self.pending = 0
        self.error: BaseException | None = None
        self.done = threading.Condition()

    # ------------------------------------------------------------------ chains

    def start(
        self,
        lower: datetime | None,
        upper: datetime,
        first: list[Item] | None = None,
        cursor: str | None = None,
        *,
        parent: _Chain | None = None,
    ) -> None:
        """Read ``[lower, upper)`` (``lower`` None: everything before ``upper``) as a chain;
        ``first`` is its newest page when already read, ``cursor`` an id to ask for it by;
        ``parent``: the chain ``split`` cut it off from."""
        # A range split off by density (its parent's items were bunched) is cut so in turn.
        bunched = parent is not None and parent.thin_children >= THIN_RANGES
        chain = _Chain(upper, parent=parent, thin_children=THIN_RANGES if bunched else 0)
        with self.done:
            self.chains.append(chain)
        self._queue(chain, (lower, upper, first, cursor))

    def _queue(self, chain: _Chain, step: _Step) -> None:
        with self.done:
            self.pending += 1
        if self.readers is None:
            self._task(chain, step)
            return
        with self.readers.lock:
            self.readers.busy += 1
        try:
            self.readers.executor.submit(self._task, chain, step)
        except BaseException:
            with self.readers.lock:
                self.readers.busy -= 1
            self._finish(None)
            raise

    def _task(self, chain: _Chain, step: _Step) -> None:
        error: BaseException | None = None
        try:
            after = self._step(chain, step)
            while after is not None and self.readers is None:  # read in turn: no recursion
                after = self._step(chain, after)
            if after is not None:
                self._queue(chain, after)
        except BaseException as exc:  # handed to the caller of read_backwards
            error = exc
        finally:
            if self.readers is not None:
                with self.readers.lock:
                    self.readers.busy -= 1
            self._finish(error)

    def _finish(self, error: BaseException | None) -> None:
        with self.done:
            self.pending -= 1
            if error is not None and self.error is None:
                self.error = error
            self.done.notify_all()

    def _step(self, chain: _Chain, step: _Step) -> _Step | None:
        """Read one page of a chain; the chain's next step, or None when its range is read."""
        if self.error is not None:
            return None
        lower, before, page, cursor = step
        listing = self.listing
        if page is None:
            page = listing.get(cursor or stamp(before), self._since(lower))
        if self.collect:
            chain.pages.append(page)
        with self.done:
            if chain.parent is not None and len(page) < PAGE:
                chain.parent.thin_children += 1
            chain.parent = None
            self.full_pages += len(page) >= PAGE
        if len(page) < PAGE:
            return None
        oldest = _oldest(listing, page)
        nxt = next_before(oldest, listing.step)
        if nxt >= before:
            # A page of items inside one step: only an id cursor gets past them.
            last = min(str(x["id"]) for x in page)
            if cursor is not None and last >= cursor:
                raise _stuck(listing, cursor)
            _crowded(listing, oldest)
            return lower, before, None, last
        return self.split(chain, lower, nxt, before - oldest), nxt, None, None

    def split(
        self, chain: _Chain, lower: datetime | None, upper: datetime, covered: timedelta
    ) -> datetime | None:
        """Hand the older parts of ``[lower, upper)`` to chains of their own while readers are
        idle and the rate limit has room (``Listing.waiting``), ``covered`` being how long a
        span the last full page covered; the lower edge of the part the calling chain keeps.

        With a lower edge (the range's, or the floor) below ``upper``, the range is cut into
        equal spans of time, as many as the readers can take and the last page's density says
        hold ``PAGES_PER_RANGE`` pages each. Without one — an open range below the floor:
        cards that came from an older board keep their older ids — the parts are cut by that
        density alone, ``PAGES_PER_RANGE`` pages' worth each, the oldest open-ended.

        Nothing is split before the listing has read more than ``SEQUENTIAL_PAGES`` full pages.
        A ``chain`` two of whose split-off ranges held less than a page (``THIN_RANGES``) reads
        items bunched in time, which equal spans of its range would miss, each a request: it
        cuts by the density of its last page instead, twice ``PAGES_PER_RANGE`` pages' worth
        each from its upper edge and every edge inside its range, and so do the ranges it cuts
        (R46a: not splitting at all there read a burst of 20 pages in turn, 1.9 times
        slower)."""
        with self.done:
            early = self.full_pages <= SEQUENTIAL_PAGES
            bunched = chain.thin_children >= THIN_RANGES
        if self.readers is None or early or self.listing.waiting():
            return lower
        page = max(covered, timedelta(milliseconds=1))
        bottom = lower if lower is not None else self.floor
        known = bottom is not None and bottom < upper
        # Each part should hold a few pages: a range costs one short page.
        parts = self.readers.spare() + 1
        if bottom is not None and known:
            parts = min(parts, math.floor((upper - bottom) / page / PAGES_PER_RANGE))
        if parts < 2:
            return lower
        if bottom is not None and known and not bunched:
            width = (upper - bottom) / parts
        else:  # a bunched chain's parts hold more: each costs a short page
            width = (2 if bunched else 1) * PAGES_PER_RANGE * page
            if bottom is not None and known:  # every edge inside the range
                parts = min(parts, math.floor((upper - bottom) / width))
                if parts < 2:
                    return lower
        edges: list[datetime | None] = [upper - width * k for k in range(parts)]
        edges.append(lower)  # the oldest part keeps the range's own (maybe open) edge
        for k in range(1, parts):
            top = edges[k]
            assert top is not None
            self.start(edges[k + 1], top, parent=chain)
        return edges[1]

    def _since(self, lower: datetime | None) -> str | None:
        """The ``since`` cursor of a range: below an edge this read made by ``overlap``; the
        caller's own ``since`` as given (its repeats are the caller's to expect)."""
        if lower is None:
            return None
        return stamp(lower if lower == self.since else lower - self.listing.overlap)

    def _get(self, before: datetime, lower: datetime | None) -> list[Item]:
        return self.listing.get(stamp(before), self._since(lower))

    # ------------------------------------------------------------------ result

    def wait(self) -> list[Item]:
        with self.done:
            while self.pending:
                self.done.wait()
            if self.error is not None:
                raise self.error
            chains = list(self.chains)
        far = datetime.max.replace(tzinfo=UTC)
        chains.sort(key=lambda c: c.upper or far, reverse=True)
        seen: set[str] = set()
        out: list[Item] = []
        for chain in chains:
            for page in chain.pages:
                for item in page:
                    key = str(item["id"])
                    if key not in seen:
                        seen.add(key)
                        out.append(item)
        return out


def read_backwards(
    listing: Listing,
    *,
    since: datetime | None = None,
    floor: datetime | None = None,
    cuts: Sequence[datetime] = (),
    executor: Executor | None = None,
    collect: bool = True,
) -> list[Item]:
    """Every item of ``listing`` newer than ``since`` (all of them when None), newest first,
    each once; none with ``collect`` False, for a caller whose ``get`` hands each page on as it
    comes (a history's parser): no page is held, so each is freed once handed on, not all
    together at the end (a long board's 272,000 raw actions took 1.3 s to gather and free after
    its last page, on the fetch's critical path).

    With an ``executor`` the older pages are read in date ranges on its threads (see the
    module's docstring); ``floor`` (e.g. the board's creation, which its id encodes) is where
    the ranges are measured from when ``since`` is None — the oldest range is read open-ended
    anyway, so an item older than the floor is still found. ``cuts`` (dates, e.g. where the
    last run's listing had each thousandth item) are ranges to read from the start, at once,
    beside the newest page: a hint only — a range that holds more than a page is paged and
    split like any other, one that holds nothing costs its one request."""
    readers = _readers(executor) if executor is not None else None
    read = _Read(listing, readers, floor, since, collect)
    edges = sorted({c for c in cuts if since is None or c > since}, reverse=True)
    for newer, older in zip(edges, [*edges[1:], since], strict=False):
        read.start(older, newer)
    lower = edges[0] if edges else since
    first = listing.get(None, read._since(lower))
    top = _Chain(None, [first] if collect else [])
    with read.done:
        read.chains.append(top)
        read.full_pages += len(first) >= PAGE
    if len(first) >= PAGE:
        oldest = _oldest(listing, first)
        newest = max(listing.when(x) for x in first)
        nxt = next_before(oldest, listing.step)
        if nxt > newest:
            # The newest page is all one step: go on past it by id, as a chain does.
            _crowded(listing, oldest)
            read.start(lower, nxt, cursor=min(str(x["id"]) for x in first))
        else:
            read.start(read.split(top, lower, nxt, newest - oldest), nxt)
    return read.wait()
