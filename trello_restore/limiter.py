"""The client-side rate limiter that every request to Trello passes through (design.md §5).

Trello allows 100 requests per 10 s per token and 300 per 10 s per API key, over a sliding
window, and says on every answer how many of them it counts as used
(``x-rate-limit-api-{token,key}-{max,remaining,interval-ms}``, trello-api-notes.md §5, §13.9).
``RateLimiter`` paces by that count instead of a fixed margin:

* **Its own requests, exactly.** A request holds a slot from when it is let go until one window
  after its answer came back (``acquire`` … ``release``). Trello counts a request from when it
  arrives, which is somewhere between the two, and forgets it one window later; so a slot freed
  here is one Trello has certainly forgotten, whatever the latency, its jitter or the clock's
  offset. With nobody else on the token the limiter can use Trello's *whole* budget (100) and
  still never cause a 429. The price is one round trip per slot and window: at 200 ms latency
  about 98 % of the bound. It cannot be had back safely: Trello does not say when it counted a
  request, and the answer is the only moment after which it certainly had.
* **Everyone else, through Trello's count.** Each answer says how many requests Trello counted
  when this one arrived. At most those of the limiter's own requests that were sent before the
  answer came back and answered less than a window before this one was sent can be among them
  (``_ours``); anything beyond is *foreign traffic*: another program on the same token
  or key, a plan fetched just before, or a clock that does not agree. What the others leave
  free is shared by what Trello showed of them, not by a fixed tenth (``_Budget``):

  - **Counted** (``others``): the newest count (of the latest-sent request answered), ``F``
    foreign requests, shown by the answer at ``t`` to a request sent at ``s``. All of them
    arrived before that request did, by ``t``, so all have left Trello's window by
    ``t + window``: ``F`` is counted until then, or until a newer count replaces it. And each
    foreign request beyond those already counted, from the answer that first showed it until a
    window later (later than at Trello, where it arrived before), if that makes more.
  - **Kept free** (``reserve``), while the others are about (until a window after an answer
    last showed them): what they may send before an answer can show it. A request let go now
    arrives within a round trip (``trip``: the longest of the last window's), and the newest
    count covers what arrived before its request was sent, so the others' requests arriving in
    ``(s, now + trip]`` are in no count yet: at their pace (``peak``: the most one count showed
    in the last window) ``ceil(peak * (now + trip - s) / window)``, or their largest burst
    (``rise``: the most the count rose by within a round trip, from the lowest of the counts of
    requests sent in the round trip before, in the last ``RISE_WINDOWS`` windows) if more;
    never more than takes the count to ``peak + rise``. Plus ``SAFETY_SHARE`` of the budget. It
    grows while no answer comes back and shrinks as answers do: beside a client that sends 20
    per window at a steady rate, 5 to 10 of 100 (most of that rise is the estimate's own
    error), where the fixed margin kept 10. A burst is measured over a round trip because one
    can show over several answers (a few of it each); it is forgotten two windows on, so that
    one burst (a program catching up after a pause) does not tax the rest of a long run;
    counts of requests sent at the same moment differ by where each came in that batch, not by
    time, and only the highest of them is a low.
  - **The margin** (a tenth of the budget) instead, if more: for the first window after the
    others show (their pace and bursts are not known yet); from an answer that shows Trello's
    window full while they are about (the room proved too small: someone may have been
    refused) or a 429, until they are gone; and for a window after a 429 (``penalize``) or an
    ``interval-ms`` longer than this limiter's window (clock skew, or a changed rule).

  Why the limiter causes no 429: it lets a request go only while its own requests Trello may
  count (no more than those holding a slot, see above) plus ``others`` plus ``reserve`` fit in
  Trello's maximum. Until the next answer, Trello's count is at most its own plus the others'
  in its window: those counted (at worst none has left yet) and those sent since the newest
  count's request was, which ``reserve`` has room for — provided the others send no faster
  than the most they had in one window lately and in no larger bursts than the count rose by
  (so never more than ``peak + rise`` in a window; a burst counts for ``RISE_WINDOWS``
  windows, so bursts further apart than that are each a sudden change), and the estimate of
  the limiter's own share in each count errs by no more than ``SAFETY_SHARE``. Those provisos
  are all the limiter can know from Trello's count: a program that suddenly sends more than it
  did, or whose bursts recur a window apart (each replacing the last in Trello's count, hardly
  seen as a rise: the safety covers the few of a burst that arrive before the one it replaces
  has left, not always all), is not foreseen from it; the margin is the fallback, kept while
  the others' ways are still unknown and whenever the count shows the room was too small. The
  whole budget is back a window after the last answer that showed foreign traffic.
* **An explicit cap** (``limit``, ``key_limit``: ``--rate-limit N``) bounds the run's own
  requests per window; the budget left by the others still applies below it.

A 429 means the budget is gone for now (another program on the same token, or a 429 storm):
``penalize`` makes *every* caller wait, so the pool slows down together instead of one thread
backing off while the others keep hammering.

No dependency: requests-ratelimiter would pull in pyrate-limiter and its leaker thread, would not
give the shared penalty (notes §12.4), and knows nothing of Trello's headers.
"""

from __future__ import annotations

import itertools
import logging
import math
import threading
import time
from bisect import bisect_right
from collections import deque
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from typing import Literal

logger = logging.getLogger(__name__)

__all__ = [
    "KEY_BUDGET",
    "TOKEN_BUDGET",
    "RateLimiter",
    "Slot",
    "Stopping",
    "TrelloCount",
    "counts_from_headers",
]

#: Trello's documented budgets per window (notes §5), until an answer says otherwise.
TOKEN_BUDGET = 100
KEY_BUDGET = 300
#: Each scope's budget as Trello documents it.
_USUAL = {"token": TOKEN_BUDGET, "key": KEY_BUDGET}
#: The margin: the share of the budget kept free while the others' ways are unknown or proved
#: the room too small, after a 429 and on skew (Trello's 100 less 90).
MARGIN_SHARE = 0.1
#: How far Trello's count may exceed the estimate of the limiter's own requests in it before
#: the difference is taken for foreign traffic (the estimate's error: jitter).
TOLERANCE_SHARE = 0.02
#: Kept free beside others on top of what they may send before an answer shows it: the
#: estimate's error in the count they are counted from and in the rise their bursts are
#: measured by (TOLERANCE_SHARE each), which also covers a burst that leaves Trello's window a
#: few requests after the next one arrived.
SAFETY_SHARE = 0.04
#: How many windows a burst (the others' count rising from one answer to the next) is kept
#: free for: bursts that recur within that are foreseen; a single one (a program catching up
#: after a pause) does not tax the rest of a long run.
RISE_WINDOWS = 2

Scope = Literal["token", "key"]


@dataclass(frozen=True)
class TrelloCount:
    """What one answer's ``x-rate-limit-api-{scope}-*`` headers say: ``used`` of ``maximum``
    requests are in Trello's current window of ``interval_s`` seconds (None: not said)."""

    scope: Scope
    used: int
    maximum: int
    interval_s: float | None = None


def counts_from_headers(headers: Mapping[str, str]) -> list[TrelloCount]:
    """Trello's counts for the token and the key from an answer's headers (lower-case names, as
    Trello sends them; requests' headers match any case). A scope whose ``-max`` or
    ``-remaining`` is missing or not a number, or no count Trello sends (a ``-max`` of 0 or
    less, a ``-remaining`` below 0: R86d, a middlebox's headers so paced a run to one request
    a window), is left out; a bad ``-interval-ms`` is not said."""
    counts = []
    for scope in ("token", "key"):
        prefix = f"x-rate-limit-api-{scope}-"
        try:
            maximum = int(headers[prefix + "max"])
            remaining = int(headers[prefix + "remaining"])
        except (KeyError, ValueError):
            continue
        if maximum <= 0 or remaining < 0:
            continue
        try:
            interval_s: float | None = int(headers[prefix + "interval-ms"]) / 1000.0
        except (KeyError, ValueError):
            interval_s = None
        counts.append(TrelloCount(scope, max(maximum - remaining, 0), maximum, interval_s))
    return counts


class Stopping(KeyboardInterrupt):
    """The run is stopping (Ctrl-C): a request still waiting for its turn is not sent, and a
    read's retry is not waited for (``RateLimiter.acquire`` with ``stop``, the transport's
    retry sleep). A ``KeyboardInterrupt``, so that wherever it surfaces it ends the run the way
    Ctrl-C does and no ``except Exception`` takes it for a failed request."""


def _at(entry: tuple[float, float]) -> float:
    return entry[0]


class Slot:
    """One request let go by ``acquire``: hand it back to ``release`` when its answer (or its
    failure) is in."""

    __slots__ = ("released", "sent")

    def __init__(self, sent: float) -> None:
        self.sent = sent
        self.released = False


class _Sliding:
    """The largest of the values seen in the last window, each kept until its time."""

    def __init__(self) -> None:
        #: (until, value): the first is the largest, each later one smaller and kept longer.
        self.entries: deque[tuple[float, int]] = deque()

    def add(self, until: float, value: int) -> None:
        entries = self.entries
        while entries and entries[-1][1] <= value:
            entries.pop()
        entries.append((until, value))

    def largest(self, now: float) -> int:
        entries = self.entries
        while entries and entries[0][0] <= now:
            entries.popleft()
        return entries[0][1] if entries else 0


class _Budget:
    """One of Trello's budgets (the token's or the key's) as this limiter sees it: the maximum
    Trello says, the foreign requests it showed, how fast and in what bursts they came, and
    until when to keep room for them (the reserve) or the margin."""

    def __init__(self, maximum: int, window_s: float) -> None:
        self.maximum = maximum
        self.window_s = window_s
        #: The newest count: when its request was sent, the foreign requests it showed, and
        #: when all of those have certainly left Trello's window.
        self.sent = -math.inf
        self.known = 0
        self.until = -math.inf
        #: Each foreign request beyond those counted when it showed, as when it leaves here: a
        #: window after the answer that first showed it (later than at Trello, where it
        #: arrived before that answer).
        self.seen: deque[float] = deque()
        #: The most foreign requests a count showed in the last window (the others' pace), and
        #: the most the count rose by within a round trip in the last ``RISE_WINDOWS`` windows
        #: (their bursts).
        self.peak = _Sliding()
        self.rise = _Sliding()
        #: The newest counts of the last round trip, as (sent, foreign), for the lowest of them
        #: (a sliding minimum: each later one higher) the rise is measured from; the previous
        #: newest count is always among them.
        self.lows: deque[tuple[float, int]] = deque()
        #: Room is kept for the others until then: a window after they last showed.
        self.foreign_until = -math.inf
        #: When they showed after none had for a window: their pace and bursts are learnt for
        #: a window from then, the margin kept meanwhile.
        self.learning_until = -math.inf
        #: The margin is kept until then: a window after a 429 or skew.
        self.doubt_until = -math.inf
        #: Trello's window was seen full (or a 429 came) while the others were about: the room
        #: kept for them proved too small, and the margin is kept for as long as they are.
        self.cramped = False

    def count(self, sent: float, foreign: int, now: float, trip: float = 0.0) -> None:
        """The answer (at ``now``) to the request sent at ``sent`` showed ``foreign`` requests
        of others in Trello's window (0: none beyond the estimate's error); ``trip``: the
        longest round trip of late, the span a burst is measured over."""
        until = now + self.window_s
        about = now < self.foreign_until
        if not about:  # the others left (or never came): nothing learnt or proved yet
            self.cramped = False
            self.rise.entries.clear()
            if foreign:
                self.learning_until = until
        if foreign:
            self.seen.extend([until] * max(foreign - self.others(now), 0))
            self.peak.add(until, foreign)
            self.foreign_until = until
        if sent >= self.sent:
            lows = self.lows
            if not (about and now < self.until):
                lows.clear()  # no newer count to measure a rise from
            high = foreign
            if lows and lows[-1][0] == sent:
                # Sent at the same moment as the previous newest: the two counts differ by where
                # each came in the same batch, not by time: the higher is the better.
                high = max(high, lows.pop()[1])
            while len(lows) > 1 and lows[0][0] < sent - trip:
                lows.popleft()
            if lows:
                self.rise.add(now + RISE_WINDOWS * self.window_s, high - lows[0][1])
            while lows and lows[-1][1] >= high:
                lows.pop()
            lows.append((sent, high))
            self.sent, self.known, self.until = sent, foreign, until

    def others(self, now: float) -> int:
        """Foreign requests counted against the budget now: the newest count's until they have
        all left Trello's window, or those first seen in the last window if more."""
        seen = self.seen
        while seen and seen[0] <= now:
            seen.popleft()
        return max(self.known if now < self.until else 0, len(seen))

    def reserve(self, now: float, trip: float) -> int:
        """Requests to keep free now beyond those counted: while the others are about, what they
        may send before an answer can show it (a request let go now arrives within ``trip``)
        and the safety; the margin instead, if more, while their ways are unknown, after the
        room proved too small, and in doubt."""
        kept = 0
        if now < self.foreign_until:
            counted, peak, burst = self.others(now), self.peak.largest(now), self.rise.largest(now)
            span = min(max(now + trip - self.sent, 0.0), self.window_s)
            unseen = max(math.ceil(peak * span / self.window_s), burst)
            kept = max(min(counted + unseen, peak + burst) - counted, 0)
            kept += int(self.maximum * SAFETY_SHARE)
            if self.cramped or now < self.learning_until:
                kept = max(kept, int(self.maximum * MARGIN_SHARE))
        if now < self.doubt_until:
            kept = max(kept, int(self.maximum * MARGIN_SHARE))
        return kept

    def allowance(self, now: float, trip: float) -> int:
        """Requests per window the token (or key) may have in Trello's window now: the whole
        budget less the reserve."""
        return self.maximum - self.reserve(now, trip)


class RateLimiter:
    """Trello's budget for the requests of one token and key, shared by all threads.

    ``limit`` and ``key_limit`` cap this run's own requests per ``window_s`` (the smaller is in
    force); Trello's budgets (``token_budget``, ``key_budget``: the documented 100 and 300 until
    an answer's headers say otherwise) bound them together with everyone else's. The first
    request goes alone (``first_alone``): its answer shows what Trello's window holds already,
    a run just before this one included, which the limiter cannot know before (R37: the demo's
    next step, a new limiter, sent two at once into a window its last step had filled: a 429).
    ``clock`` and ``sleep`` are injectable for tests (a fake clock whose ``sleep`` advances it).
    """

    def __init__(
        self,
        limit: int,
        window_s: float,
        *,
        key_limit: int | None = None,
        token_budget: int = TOKEN_BUDGET,
        key_budget: int = KEY_BUDGET,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], None] = time.sleep,
        first_alone: bool = True,
    ) -> None:
        """Refuse a limit below 1 or a window that is not positive (ValueError)."""
        if min(limit, token_budget, key_budget, limit if key_limit is None else key_limit) < 1:
            raise ValueError("rate limits must be at least 1 request per window")
        if not window_s > 0:
            raise ValueError("the rate window must be positive")
        #: The cap on this run's own requests per window.
        self.limit = min(limit, key_limit) if key_limit is not None else limit
        #: The window, in seconds.
        self.window_s = float(window_s)
        self._budgets: dict[Scope, _Budget] = {
            "token": _Budget(token_budget, self.window_s),
            "key": _Budget(key_budget, self.window_s),
        }
        self._clock = clock
        self._sleep = sleep
        self._cond = threading.Condition(threading.Lock())
        #: When the requests on their way were sent, oldest first.
        self._flying: list[float] = []
        #: Released requests: when each answer came back (oldest first) and when it was sent.
        self._done: deque[tuple[float, float]] = deque()
        #: Round trips of the last window, as (answered, seconds): a sliding maximum.
        self._trips: deque[tuple[float, float]] = deque()
        self._penalty_until = 0.0
        #: An answer has come back: Trello's count (what others, a run just before this one
        #: included, have in its window) is known. Until then one request at a time (unless
        #: not ``first_alone``: simulations whose window starts empty).
        self._answered = not first_alone
        #: Acquisitions so far, and seconds spent waiting in ``acquire`` (all threads).
        self.acquired = 0
        self.waited_s = 0.0
        #: Answers whose count showed requests this limiter did not send.
        self.foreign_seen = 0
        #: The scopes whose budget below Trello's usual was said (``release``).
        self._small_said: set[str] = set()
        #: Threads in ``acquire`` waiting for a slot now.
        self._waiting = 0

    # ------------------------------------------------------------------------------ public

    def acquire(self, stop: threading.Event | None = None) -> Slot:
        """Block until one more request may be sent; it holds a slot until ``release``. With
        ``stop``: raise ``Stopping`` instead, at once, when it is set (before or while waiting;
        ``wake`` ends a wait for a request on its way)."""
        waiting = False  # counted in ``_waiting`` (``saturated``), until it asks again
        try:
            while True:
                with self._cond:
                    if waiting:
                        self._waiting -= 1
                        waiting = False
                    # Under the lock: ``wake`` (after ``stop`` is set) cannot slip in between.
                    if stop is not None and stop.is_set():
                        raise Stopping
                    now = self._clock()
                    wait = self._wait(now)
                    if wait <= 0:
                        self._flying.append(now)
                        self.acquired += 1
                        return Slot(now)
                    self._waiting += 1
                    waiting = True
                    if wait == math.inf:
                        # Only requests still on their way hold the window: one coming back
                        # frees nothing before a window later, so wait for it, then compute
                        # again.
                        self._cond.wait(self.window_s)
                        continue
                    self.waited_s += wait
                if stop is None:
                    self._sleep(wait)
                else:
                    stop.wait(wait)
        finally:
            if waiting:  # left while waiting (an error in the wait)
                with self._cond:
                    self._waiting -= 1

    def wake(self) -> None:
        """Wake every ``acquire`` waiting, to look at its ``stop`` again (the pacing is as it
        was: each computes its wait anew)."""
        with self._cond:
            self._cond.notify_all()

    def release(self, slot: Slot, counts: Iterable[TrelloCount] = ()) -> None:
        """``slot``'s answer is in (or it failed): its slot frees one window from now. ``counts``
        are Trello's counts from that answer (``counts_from_headers``). A second release of the
        same slot does nothing. The first count that shows foreign traffic is said (INFO, R86d:
        a run so paced down said nothing of why)."""
        first, small = False, []
        with self._cond:
            if slot.released:
                return
            now = self._clock()
            self._prune(now)
            ours = self._ours(slot.sent, now)
            trip = now - slot.sent
            span = max(self._trip(now), trip)
            foreign = False
            for count in counts:
                foreign = self._observe(count, ours, slot.sent, now, span) or foreign
                if count.maximum < _USUAL[count.scope] and count.scope not in self._small_said:
                    self._small_said.add(count.scope)
                    small.append(count)
            first = foreign and not self.foreign_seen
            self.foreign_seen += foreign
            while self._trips and self._trips[-1][1] <= trip:
                self._trips.pop()
            self._trips.append((now, trip))
            slot.released = True
            self._answered = True
            self._flying.remove(slot.sent)
            self._done.append((now, slot.sent))
            self._cond.notify_all()
            others = max(b.others(now) for b in self._budgets.values()) if first else 0
        for count in small:  # R87c: a small budget paced a run down without a word
            logger.info(
                "Trello's count gives this %s %d request%s per window, not the usual %d: "
                "pacing to that",
                count.scope,
                count.maximum,
                "" if count.maximum == 1 else "s",
                _USUAL[count.scope],
            )
        if first:
            logger.info(
                "Trello counts requests on this token or its key that this run did not send (%d "
                "in the window: another program using them?): pacing to leave them room",
                others,
            )

    def penalize(self, seconds: float) -> None:
        """After a 429: nobody sends anything for ``seconds`` from now (penalties don't add up;
        the later end wins), and the margin is kept for a window after that."""
        with self._cond:
            now = self._clock()
            self._penalty_until = max(self._penalty_until, now + max(seconds, 0.0))
            for budget in self._budgets.values():
                budget.doubt_until = max(budget.doubt_until, self._penalty_until + self.window_s)
                budget.cramped = True

    def allowance(self, scope: Scope = "token") -> int:
        """Requests the token (or key) may have in Trello's window now: its whole budget while
        Trello's count agrees with this limiter's; while others are about (until a window after
        an answer showed foreign traffic), less the reserve: room for what they may send before
        an answer shows it, or the margin while their ways are unknown (their first window) and
        once the room proved too small (a full window or a 429 beside them); and less the margin
        for a window after a 429 or a longer window than this limiter's."""
        with self._cond:
            now = self._clock()
            return self._budgets[scope].allowance(now, self._trip(now))

    def saturated(self) -> bool:
        """Whether requests are waiting for the rate limit now: the limit, not the work at
        hand, is what holds them back (``paging`` splits no range then: another chain of
        requests would only wait too)."""
        with self._cond:
            return self._waiting > 0

    def others(self, scope: Scope = "token") -> int:
        """Requests of others this limiter counts against the token's (or key's) budget now."""
        with self._cond:
            return self._budgets[scope].others(self._clock())

    # ----------------------------------------------------------------------------- private

    def _observe(
        self, count: TrelloCount, ours: tuple[int, int], sent: float, now: float, trip: float
    ) -> bool:
        """Take in one of Trello's counts; ``ours`` is what ``_ours`` says of the answer it came
        with, to the request sent at ``sent``; ``trip``: the longest round trip of late. True if
        it shows foreign traffic."""
        budget = self._budgets[count.scope]
        budget.maximum = max(count.maximum, 1)
        at_most, estimate = ours
        if count.interval_s is not None and count.interval_s > self.window_s * 1.001:
            budget.doubt_until = max(budget.doubt_until, now + self.window_s)  # skew
        extra = count.used - estimate
        foreign = count.used > at_most or extra > budget.maximum * TOLERANCE_SHARE
        others = max(min(count.used, budget.maximum) - estimate, 1) if foreign else 0
        budget.count(sent, others, now, trip)
        if foreign and count.used >= budget.maximum:
            # Trello's window was full with others on it: the next of theirs may have been
            # refused. The room left was too small: the margin while they are about.
            budget.cramped = True
        return foreign

    def _ours(self, sent: float, now: float) -> tuple[int, int]:
        """How many of this limiter's requests Trello counted when the one sent at ``sent`` and
        answered ``now`` arrived: ``(at most, estimate)``.

        At most: those on their way, and those answered after ``sent - window`` (an earlier
        answer means an arrival Trello had forgotten by then). The estimate takes every request
        to arrive at the same point of its round trip (on sending, half-way, or on the answer;
        exact when round trips are equal, off by about the rate times their jitter otherwise),
        and is the largest of the three: what Trello counts beyond that is not the limiter's."""
        window = self.window_s
        flying = self._flying
        done = self._done
        recent = itertools.islice(done, bisect_right(done, sent - window, key=_at), None)
        at_most = len(flying) + len(done) - bisect_right(done, sent - window, key=_at)
        middle = (sent + now) / 2
        on_send = half_way = bisect_right(flying, sent)
        on_answer = 1
        for answered, was_sent in recent:
            on_send += sent - window < was_sent <= sent
            half_way += middle - window < (was_sent + answered) / 2 <= middle
            on_answer += answered > now - window
        return at_most, max(on_send, half_way, on_answer)

    def _prune(self, now: float) -> None:
        # Answers are kept two windows: long enough for ``_ours`` of a request that took up to
        # a window to come back.
        horizon = now - 2 * self.window_s
        while self._done and self._done[0][0] <= horizon:
            self._done.popleft()

    def _trip(self, now: float) -> float:
        """The longest round trip answered in the last window (0 without one)."""
        trips = self._trips
        while trips and trips[0][0] <= now - self.window_s:
            trips.popleft()
        return trips[0][1] if trips else 0.0

    def _wait(self, now: float) -> float:
        """Seconds until a request may go (≤ 0: now; inf: not before a request on its way comes
        back). Called with the lock held."""
        self._prune(now)
        if not self._answered and self._flying:
            # The first answer shows what is in Trello's window already: a run just before
            # this one (the demo's steps, a dry run then its apply) may have filled it, and a
            # burst sent before any count is known was refused (a 429 in about 1 run in 80).
            return math.inf
        first = bisect_right(self._done, now - self.window_s, key=_at)
        holding = len(self._flying) + len(self._done) - first
        wakes = [self._done[first][0] + self.window_s] if first < len(self._done) else []
        full = holding >= self.limit
        trip = self._trip(now)
        for budget in self._budgets.values():
            others = budget.others(now)
            if holding + others >= budget.allowance(now, trip):
                full = True
                if budget.seen:
                    wakes.append(budget.seen[0])
                ends = (
                    budget.until,
                    budget.learning_until,
                    budget.doubt_until,
                    budget.foreign_until,
                )
                wakes.extend(end for end in ends if now < end)
        wait = self._penalty_until - now
        if full:
            # Never 0 while full: ``answered + window - now`` can round to 0 a hair early.
            wait = max(wait, min(wakes, default=math.inf) - now, 1e-6)
        return wait

    def __repr__(self) -> str:
        return f"<RateLimiter {self.limit} per {self.window_s:g} s>"
