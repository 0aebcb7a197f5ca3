"""``paging.read_backwards``: a backwards-paged listing read whole, in date ranges read
concurrently, against an in-memory listing with Trello's paging rules (newest first, at most
1000 a page, ``before``/``since`` exclusive, a date cursor to the millisecond and an id cursor
to its second, trello-api-notes.md §13.1)."""

from __future__ import annotations

import bisect
import logging
import random
import threading
import time
from collections.abc import Mapping
from concurrent.futures import ThreadPoolExecutor
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from trello_restore.errors import BadResponse
from trello_restore.history import parse_date
from trello_restore.paging import (
    PAGE,
    SEQUENTIAL_PAGES,
    Listing,
    next_before,
    read_backwards,
)

T0 = datetime(2024, 1, 1, tzinfo=UTC)


class FakeListing:
    """Items ``{"id", "date"}`` (ids carry their second, like Trello's); counts requests and
    the most requests in flight at once."""

    def __init__(self, dates: list[datetime], *, latency: float = 0.0) -> None:
        self.items = sorted(
            (
                {"id": f"{int(d.timestamp()):08x}{i:016x}", "date": _iso(d)}
                for i, d in enumerate(dates)
            ),
            key=lambda x: (x["date"], x["id"]),
        )
        self.latency = latency
        self.requests = 0
        self.in_flight = 0
        self.most_in_flight = 0
        self.lock = threading.Lock()
        self.fail_at: int | None = None

    def get(self, before: str | None, since: str | None) -> list[Mapping[str, Any]]:
        with self.lock:
            self.requests += 1
            self.in_flight += 1
            self.most_in_flight = max(self.most_in_flight, self.in_flight)
            n = self.requests
        try:
            if self.latency:
                time.sleep(self.latency)
            if self.fail_at is not None and n >= self.fail_at:
                raise RuntimeError("Trello is down")
            out: list[Mapping[str, Any]] = [
                x for x in reversed(self.items) if _inside(x, before, since)
            ]
            return out[:PAGE]
        finally:
            with self.lock:
                self.in_flight -= 1

    def listing(self) -> Listing:
        return Listing(
            get=self.get,
            when=lambda x: parse_date(x["date"]),
            step=timedelta(milliseconds=1),
            what="the fake listing",
        )


def _iso(d: datetime) -> str:
    return d.isoformat(timespec="milliseconds").replace("+00:00", "Z")


def _key(cursor: str) -> tuple[str, bool]:
    """A cursor as a comparable date text, and whether it was an id (compared by second)."""
    if len(cursor) == 24 and "-" not in cursor:
        second = datetime.fromtimestamp(int(cursor[:8], 16), tz=UTC)
        return _iso(second), True
    return _iso(parse_date(cursor)), False


def _inside(item: Mapping[str, Any], before: str | None, since: str | None) -> bool:
    date = item["date"]
    if before is not None:
        bound, by_second = _key(before)
        if (date[:19] if by_second else date) >= (bound[:19] if by_second else bound):
            return False
    if since is not None:
        bound, by_second = _key(since)
        if (date[:19] if by_second else date) <= (bound[:19] if by_second else bound):
            return False
    return True


def _spread(n: int, days: float, rng: random.Random) -> list[datetime]:
    return [T0 + timedelta(milliseconds=rng.randrange(int(days * 86_400_000))) for _ in range(n)]


def _expected(fake: FakeListing, since: datetime | None = None) -> list[str]:
    keep = [x for x in fake.items if since is None or x["date"] > _iso(since)]
    return [x["id"] for x in reversed(keep)]


@pytest.mark.parametrize("workers", [0, 6])
@pytest.mark.parametrize("seed", [1, 2, 3])
def test_every_item_once_newest_first(workers: int, seed: int) -> None:
    """Uneven density (a quiet year, a busy month, bursts of hundreds in one second and items
    on whole seconds and days, where range edges tend to fall): every item exactly once,
    newest first, in at most one request per range beyond the minimum."""
    rng = random.Random(seed)
    dates = _spread(3000, 365, rng) + [d + timedelta(days=300) for d in _spread(9000, 30, rng)]
    dates += [T0 + timedelta(days=rng.randrange(365)) for _ in range(400)]  # midnight, .000
    burst = T0 + timedelta(days=310, seconds=7)
    dates += [burst] * 700 + [burst + timedelta(milliseconds=1)] * 500
    fake = FakeListing(dates)
    pool = ThreadPoolExecutor(max_workers=workers) if workers else None
    got = read_backwards(fake.listing(), floor=T0 - timedelta(days=1), executor=pool)
    assert [x["id"] for x in got] == _expected(fake)
    least = -(-len(dates) // PAGE)
    assert least <= fake.requests <= least + 2 * max(workers, 1) + 2
    if pool is not None:
        pool.shutdown()


def test_since_reads_only_what_is_newer() -> None:
    rng = random.Random(4)
    fake = FakeListing(_spread(5000, 100, rng))
    since = T0 + timedelta(days=60)
    with ThreadPoolExecutor(max_workers=4) as pool:
        got = read_backwards(fake.listing(), since=since, floor=T0, executor=pool)
    assert [x["id"] for x in got] == _expected(fake, since)


def test_items_older_than_the_floor_are_still_found() -> None:
    """The floor (the board's creation) only places the ranges: a card moved in from an older
    board has an older id, and the oldest range is read open-ended."""
    rng = random.Random(5)
    fake = FakeListing(_spread(4000, 50, rng) + [T0 - timedelta(days=400)] * 3)
    with ThreadPoolExecutor(max_workers=6) as pool:
        got = read_backwards(fake.listing(), floor=T0, executor=pool)
    assert [x["id"] for x in got] == _expected(fake)


def test_more_than_a_page_in_one_millisecond_is_stepped_over(
    caplog: pytest.LogCaptureFixture,
) -> None:
    """2,500 items in one millisecond, newest of all and inside a range: the id cursor gets
    past them (Trello reads it by second, so that second's other items are the price), with a
    warning."""
    rng = random.Random(6)
    lump = T0 + timedelta(days=20, milliseconds=5)
    dates = _spread(3000, 30, rng) + [lump] * 2500 + [T0 + timedelta(days=40)] * 1200
    fake = FakeListing(dates)
    with caplog.at_level(logging.WARNING), ThreadPoolExecutor(max_workers=3) as pool:
        got = {x["id"] for x in read_backwards(fake.listing(), floor=T0, executor=pool)}
    assert "a full page (1000) within the" in caplog.text
    lost = set(_expected(fake)) - got
    assert all(
        x["date"][:19] in (_iso(lump)[:19], _iso(T0 + timedelta(days=40))[:19])
        for x in fake.items
        if x["id"] in lost
    )


def test_ranges_are_read_at_once() -> None:
    """With readers to spare, a long listing is read by several requests in flight, and a
    short one (one page) by one request."""
    rng = random.Random(7)
    fake = FakeListing(_spread(20_000, 200, rng), latency=0.01)
    with ThreadPoolExecutor(max_workers=6) as pool:
        read_backwards(fake.listing(), floor=T0, executor=pool)
        assert fake.most_in_flight >= 4
        short = FakeListing(_spread(900, 200, rng))
        read_backwards(short.listing(), floor=T0, executor=pool)
        assert short.requests == 1


def test_no_range_is_split_off_while_requests_wait_for_the_rate_limit() -> None:
    """While the limiter is saturated (``Listing.waiting``) a split would cost its short page
    and read nothing sooner: the listing is read as one chain, in the fewest requests; the
    same listing with room splits (the control)."""
    rng = random.Random(7)
    dates = _spread(20_000, 200, rng)
    least = -(-len(dates) // PAGE)
    waiting = FakeListing(dates, latency=0.002)
    roomy = FakeListing(dates, latency=0.002)
    with ThreadPoolExecutor(max_workers=6) as pool:
        got = read_backwards(
            replace(waiting.listing(), waiting=lambda: True), floor=T0, executor=pool
        )
        read_backwards(roomy.listing(), floor=T0, executor=pool)
    assert [x["id"] for x in got] == _expected(waiting)
    assert waiting.most_in_flight == 1
    assert waiting.requests <= least + 1  # one chain: its end is one short (or empty) page
    assert roomy.most_in_flight >= 4  # the control: with room, ranges are read at once
    assert [x["id"] for x in read_backwards(roomy.listing(), floor=T0)] == _expected(roomy)


def test_an_error_in_any_range_reaches_the_caller_and_nothing_hangs() -> None:
    rng = random.Random(8)
    fake = FakeListing(_spread(12_000, 100, rng), latency=0.005)
    fake.fail_at = 6
    with ThreadPoolExecutor(max_workers=6) as pool, pytest.raises(RuntimeError, match="down"):
        read_backwards(fake.listing(), floor=T0, executor=pool)
    assert fake.requests < 20  # the other ranges stopped at their next page


def test_items_on_a_range_edge_are_kept() -> None:
    """Trello's cursors are exclusive: items dated exactly on the edge between two ranges are
    read by the newer range (its ``since`` is set below the edge) and kept once. With one
    reader to spare the newest page's remainder is split in two at its middle: here exactly
    ``T0 + 5 days``, where five items lie (after the ``SEQUENTIAL_PAGES`` read in turn)."""
    head = [T0 + timedelta(days=10, milliseconds=i) for i in range((SEQUENTIAL_PAGES + 1) * PAGE)]
    edge = T0 + timedelta(days=5)
    older = [T0 + timedelta(days=1, seconds=i) for i in range(50)]
    fake = FakeListing(head + [edge] * 5 + older)
    with ThreadPoolExecutor(max_workers=2) as pool:  # the head's reader, and one to spare
        got = read_backwards(fake.listing(), floor=T0 - timedelta(milliseconds=1), executor=pool)
    assert [x["id"] for x in got] == _expected(fake)
    assert fake.requests == SEQUENTIAL_PAGES + 3  # the head's pages, then two halves at once


def test_the_callers_since_is_asked_as_given() -> None:
    """Only the edges this read makes get the overlap: the caller's ``since`` (the history
    store's newest less its own overlap) is sent as it is, on the newest page and on the
    oldest range, so what the caller knows is not asked again."""
    rng = random.Random(9)
    fake = FakeListing(_spread(6000, 40, rng))
    sent: list[str | None] = []
    listing = fake.listing()
    since = T0 + timedelta(days=3)

    def get(before: str | None, after: str | None) -> list[Mapping[str, Any]]:
        sent.append(after)
        return fake.get(before, after)

    with ThreadPoolExecutor(max_workers=4) as pool:
        got = read_backwards(
            Listing(get, listing.when, listing.step, listing.what),
            since=since,
            floor=T0,
            executor=pool,
        )
    assert [x["id"] for x in got] == _expected(fake, since)
    exact = _iso(since)
    assert sent[0] == exact
    assert all(a is not None and a >= exact for a in sent)  # nothing below it is asked
    assert sent.count(exact) >= 2  # the newest page and the oldest range


@pytest.mark.parametrize("hint", ["right", "stale", "nonsense"])
def test_cuts_are_read_at_once_and_are_only_a_hint(hint: str) -> None:
    """The last run's cuts (each 900th item) start every range at once beside the newest page:
    all pages in flight together and none beyond one per range. Cuts from an older listing
    (items made and gone since) or nonsense ones (in the future, before everything, out of
    order, repeated) cost requests, never an item."""
    rng = random.Random(10)
    fake = FakeListing(_spread(9000, 120, rng), latency=0.02)
    dates = sorted((parse_date(x["date"]) for x in fake.items), reverse=True)
    cuts = [dates[k] for k in range(900, len(dates), 900)]
    if hint == "stale":
        fake = FakeListing(_spread(9000, 120, random.Random(11)) + _spread(2000, 5, rng))
    elif hint == "nonsense":
        cuts = [T0 + timedelta(days=900), T0 - timedelta(days=9), cuts[3], cuts[3], cuts[1]]
    with ThreadPoolExecutor(max_workers=12) as pool:
        got = read_backwards(fake.listing(), floor=T0, cuts=cuts, executor=pool)
    assert [x["id"] for x in got] == _expected(fake)
    if hint == "right":
        assert fake.requests == len(cuts) + 1  # one page per range, the newest included
        assert fake.most_in_flight >= 8


def test_a_read_that_collects_nothing_holds_no_page() -> None:
    """``collect=False`` (a caller whose ``get`` hands each page on as it comes): every page is
    asked for as when collecting, nothing comes back, and no page outlives its step (each is
    freed once handed on, not all together at the end)."""
    import gc
    import weakref

    rng = random.Random(5)
    fake = FakeListing(_spread(6000, 60, rng))
    handed: set[str] = set()
    alive: list[weakref.ref[list[Mapping[str, Any]]]] = []

    class Page(list[Mapping[str, Any]]):
        """A page that can be watched (a plain list cannot be weakly referenced)."""

    def get(before: str | None, since: str | None) -> list[Mapping[str, Any]]:
        page = Page(fake.get(before, since))
        handed.update(str(x["id"]) for x in page)
        alive.append(weakref.ref(page))
        return page

    listing = replace(fake.listing(), get=get)
    with ThreadPoolExecutor(max_workers=6) as pool:
        got = read_backwards(listing, floor=T0 - timedelta(days=1), executor=pool, collect=False)
        asked = fake.requests
        gc.collect()
        assert got == []
        assert handed == set(_expected(fake))
        assert all(ref() is None for ref in alive), "a page was held"
        fake.requests = 0
        kept = read_backwards(fake.listing(), floor=T0 - timedelta(days=1), executor=pool)
    assert [x["id"] for x in kept] == _expected(fake)
    assert abs(fake.requests - asked) <= 2 * 6 + 2  # the same paging, give or take a range


def test_the_next_page_starts_at_the_end_of_the_oldest_items_step() -> None:
    """The next ``before`` is the end of the step the oldest item falls in: a cursor inside
    that second, compared by whole seconds, would skip its older items (R31b); on a step's
    very start it is one step on (the step itself is read again, repeats dropped by id)."""
    t = datetime(2025, 11, 2, 17, 46, 15, 28000, tzinfo=UTC)
    second, ms = timedelta(seconds=1), timedelta(milliseconds=1)
    assert next_before(t, second) == datetime(2025, 11, 2, 17, 46, 16, tzinfo=UTC)
    assert next_before(t.replace(microsecond=0), second) == t.replace(microsecond=0) + second
    assert next_before(t, ms) == t + ms


def _bunched(n: int, spread: timedelta, end: datetime) -> list[datetime]:
    return [end - spread * (i / n) for i in range(n)]


@pytest.mark.parametrize(("n", "extra"), [(3_192, 0), (3_900, 0), (2_000, 0), (10_000, 12)])
def test_a_burst_of_new_history_costs_few_requests_beyond_the_least(n: int, extra: int) -> None:
    """A year after the last run, the new history is one burst of a few minutes (the apply just
    made, the incident): the first pages are read in turn, and once split-off ranges come back
    empty the rest is cut by the density of the pages read, not by time (R45b: 15 and 20
    requests for 4 pages; 46 for the 11 here). ``extra``: a split's ranges, empty but one,
    and the short page each part ends with. (A burst of 41 pages took 54-65 requests, and
    once 99 and 104 under load: not held here.)"""
    end = T0 + timedelta(days=365)
    fake = FakeListing(_bunched(n, timedelta(minutes=6), end))
    since = T0
    least = -(-n // PAGE) + (n % PAGE == 0)
    with ThreadPoolExecutor(max_workers=6) as pool:
        got = read_backwards(fake.listing(), since=since, floor=T0, executor=pool)
    assert [x["id"] for x in got] == _expected(fake, since)
    assert fake.requests <= least + extra


def test_a_short_listing_older_than_its_floor_is_read_in_turn() -> None:
    """1,041 cards made over two years before the board they were moved to (the floor): two
    requests, not a page and a split into ranges of which all but one are empty (R45b: 6 and
    11 requests)."""
    rng = random.Random(5)
    floor = T0 + timedelta(days=800)
    fake = FakeListing(_spread(1_041, 730, rng))
    with ThreadPoolExecutor(max_workers=6) as pool:
        got = read_backwards(fake.listing(), floor=floor, executor=pool)
    assert [x["id"] for x in got] == _expected(fake)
    assert fake.requests == 2


class QuickListing(FakeListing):
    """A ``FakeListing`` that finds a page by bisection: a page costs its latency, not a scan
    of every item under the interpreter lock, so ranges read at once take less time."""

    def __init__(self, dates: list[datetime], *, latency: float = 0.0) -> None:
        super().__init__(dates, latency=latency)
        self.dates = [x["date"] for x in self.items]
        #: How many pages were being read as each began (this one included).
        self.at_once: list[int] = []
        self._reading = 0

    @property
    def pages_at_a_time(self) -> float:
        """How many pages were read at once, on average, as each began: 1 for a listing read
        page after page; a measure the machine's load leaves alone, as the readers wait on
        the latency, not the processor (a ratio of times failed on a loaded machine)."""
        return sum(self.at_once) / len(self.at_once)

    def get(self, before: str | None, since: str | None) -> list[Mapping[str, Any]]:
        with self.lock:
            self.requests += 1
            self._reading += 1
            self.at_once.append(self._reading)
        try:
            time.sleep(self.latency)
        finally:
            with self.lock:
                self._reading -= 1
        lo, hi = 0, len(self.items)
        if before is not None:
            bound, by_second = _key(before)
            hi = bisect.bisect_left(self.dates, bound[:19] if by_second else bound)
        if since is not None:
            bound, by_second = _key(since)
            lo = bisect.bisect_right(self.dates, bound[:19] + "~" if by_second else bound)
        return list(reversed(self.items[max(lo, hi - PAGE) : hi])) if lo < hi else []


def _speed_up(dates: list[datetime]) -> tuple[QuickListing, QuickListing, float]:
    """The listing read with six readers (30 ms a page), checked whole, newest first, once
    each; and how many times faster than read in turn that is, by the pages it read at once
    for the requests it made more (not by the seconds each took: on a loaded machine the
    ratio of times fell below what it measures, R67c)."""
    ranged, in_turn = QuickListing(dates, latency=0.03), QuickListing(dates, latency=0.03)
    with ThreadPoolExecutor(max_workers=6) as pool:
        got = read_backwards(ranged.listing(), floor=T0, executor=pool)
    read_backwards(in_turn.listing(), floor=T0)
    assert [x["id"] for x in got] == _expected(ranged)
    assert in_turn.pages_at_a_time == 1
    return ranged, in_turn, ranged.pages_at_a_time * in_turn.requests / ranged.requests


def test_a_quiet_stretch_does_not_slow_the_reading_of_a_busy_one() -> None:
    """A board busy in its first month (40,000 items), quiet for two years, busy again lately
    (5,000): the ranges cut across the quiet years come back empty, and the chain that cut
    them cuts by density from then on; the chains holding the busy month go on splitting, so
    it is read several pages at a time (R45e: one rule for the whole listing read it page after
    page, 3.6 times slower), measured against the same listing read in turn."""
    rng = random.Random(11)
    busy = [T0 + timedelta(seconds=rng.randrange(30 * 86_400)) for _ in range(40_000)]
    late = [T0 + timedelta(days=730, seconds=rng.randrange(86_400)) for _ in range(5_000)]
    ranged, in_turn, speed_up = _speed_up(busy + late)
    assert speed_up > 2  # read in turn under the rule it replaces: about 1
    assert ranged.requests <= in_turn.requests + 15


def test_a_burst_in_the_middle_of_quiet_history_is_read_several_pages_at_a_time() -> None:
    """20,000 items within one hour a year ago amid 3,000 over two years (a bulk archive, an
    automation's run): the chain that holds the burst finds its ranges cut by time thin and
    cuts by the density of its pages instead, so the burst is read several pages at a time
    (R46a: it stopped splitting and read the 20 pages in turn, 1.9 times slower), in fewer
    requests than at 259c71a (47 then)."""
    rng = random.Random(21)
    burst = [T0 + timedelta(days=365, seconds=rng.randrange(3600)) for _ in range(20_000)]
    quiet = [T0 + timedelta(seconds=rng.randrange(730 * 86_400)) for _ in range(3_000)]
    ranged, _, speed_up = _speed_up(burst + quiet)
    assert speed_up > 2
    assert ranged.requests < 40


@pytest.mark.parametrize("workers", [0, 4])
def test_a_listing_that_does_not_page_on_stops_with_an_error(workers: int) -> None:
    """R51b: had Trello ignored ``before`` on a listing (its cards' documented parameters
    are those of another route), a chain asked for the same page forever (394 requests in
    40 s). A full page that holds nothing before the id asked for stops the read instead."""
    fake = FakeListing(_spread(3000, 30, random.Random(7)))
    newest = fake.get(None, None)
    calls = 0

    def ignores_before(before: str | None, since: str | None) -> list[Mapping[str, Any]]:
        nonlocal calls
        calls += 1
        return newest

    listing = replace(fake.listing(), get=ignores_before)
    stuck = pytest.raises(BadResponse, match="did not page on through the fake listing")
    with ThreadPoolExecutor(max(workers, 1)) as pool, stuck:
        read_backwards(listing, executor=pool if workers else None)
    assert calls <= 4


@pytest.mark.parametrize("workers", [0, 6])
def test_an_action_dated_before_its_id_does_not_move_the_cursor_past_others(workers: int) -> None:
    """R54b: Trello's cursors work on an action's creation (its id: notes §13.1); one action
    of a full page whose ``date`` says two days earlier than its id (an odd date: the fixtures
    show none, but nothing rules it out) made the next page start before that date, and every
    action between was never read (the plan changed without a word). An action's paging date
    is never before its id's second (``paging._oldest``)."""
    rng = random.Random(7)
    fake = FakeListing(_spread(3 * PAGE, 3, rng))
    odd = fake.items[-PAGE // 2]  # in the newest page, as Trello lists it
    shown = {**odd, "date": _iso(parse_date(odd["date"]) - timedelta(days=2))}

    def get(before: str | None, since: str | None) -> list[Mapping[str, Any]]:
        return [shown if x is odd else x for x in fake.get(before, since)]

    listing = replace(fake.listing(), get=get)
    with ThreadPoolExecutor(max(workers, 1)) as pool:
        got = read_backwards(listing, executor=pool if workers else None)
    assert [x["id"] for x in got] == _expected(fake)
