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
  about 98 % of the bound.
* **Everyone else, through Trello's count.** Each answer says how many requests Trello counted
  when this one arrived. At most those of the limiter's own requests that were sent before the
  answer came back and answered less than a window before this one was sent can be among them
  (``_ours_at_most``); anything beyond is *foreign traffic*: another program on the same token
  or key, a plan fetched just before, or a clock that does not agree. It is logged here as if it
  had been sent at the answer (it expires a little later than at Trello: the error is on the safe
  side), so the budget left to this run shrinks by what others use. And for a window after the
  last such sign the limiter keeps the old margin (a tenth of the budget) free for what the
  other program sends between two answers: two clients on one token then slow down together,
  each getting its requests through, instead of racing for the last slots. So does a longer
  window than this limiter's (``interval-ms``) and a 429 (``penalize``).
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
import math
import threading
import time
from bisect import bisect_right
from collections import deque
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from typing import Literal

__all__ = [
    "KEY_BUDGET",
    "TOKEN_BUDGET",
    "RateLimiter",
    "Slot",
    "TrelloCount",
    "counts_from_headers",
]

#: Trello's documented budgets per window (notes §5), until an answer says otherwise.
TOKEN_BUDGET = 100
KEY_BUDGET = 300
#: The share of the budget kept free while other traffic is seen: Trello's 100 less 90.
MARGIN_SHARE = 0.1
#: How far Trello's count may exceed the estimate of the limiter's own requests in it before
#: the difference is taken for foreign traffic (the estimate's error: jitter).
TOLERANCE_SHARE = 0.02

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
    ``-remaining`` is missing or not a number is left out; a bad ``-interval-ms`` is not said."""
    counts = []
    for scope in ("token", "key"):
        prefix = f"x-rate-limit-api-{scope}-"
        try:
            maximum = int(headers[prefix + "max"])
            remaining = int(headers[prefix + "remaining"])
        except (KeyError, ValueError):
            continue
        try:
            interval_s: float | None = int(headers[prefix + "interval-ms"]) / 1000.0
        except (KeyError, ValueError):
            interval_s = None
        counts.append(TrelloCount(scope, max(maximum - remaining, 0), maximum, interval_s))
    return counts


def _at(entry: tuple[float, float]) -> float:
    return entry[0]


class Slot:
    """One request let go by ``acquire``: hand it back to ``release`` when its answer (or its
    failure) is in."""

    __slots__ = ("released", "sent")

    def __init__(self, sent: float) -> None:
        self.sent = sent
        self.released = False


class _Budget:
    """One of Trello's budgets (the token's or the key's) as this limiter sees it: the maximum
    Trello says, the foreign requests it showed (as expiry times), and until when to keep the
    margin."""

    def __init__(self, maximum: int) -> None:
        self.maximum = maximum
        self.foreign: deque[float] = deque()
        self.doubt_until = -math.inf

    def allowance(self, now: float) -> int:
        """Requests per window the token (or key) may have in Trello's window now."""
        if now < self.doubt_until:
            return self.maximum - int(self.maximum * MARGIN_SHARE)
        return self.maximum

    def others(self, now: float) -> int:
        """Foreign requests still counted here (dropping expired ones)."""
        while self.foreign and self.foreign[0] <= now:
            self.foreign.popleft()
        return len(self.foreign)


class RateLimiter:
    """Trello's budget for the requests of one token and key, shared by all threads.

    ``limit`` and ``key_limit`` cap this run's own requests per ``window_s`` (the smaller is in
    force); Trello's budgets (``token_budget``, ``key_budget``: the documented 100 and 300 until
    an answer's headers say otherwise) bound them together with everyone else's. ``clock`` and
    ``sleep`` are injectable for tests (a fake clock whose ``sleep`` advances it).
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
            "token": _Budget(token_budget),
            "key": _Budget(key_budget),
        }
        self._clock = clock
        self._sleep = sleep
        self._cond = threading.Condition(threading.Lock())
        #: When the requests on their way were sent, oldest first.
        self._flying: list[float] = []
        #: Released requests: when each answer came back (oldest first) and when it was sent.
        self._done: deque[tuple[float, float]] = deque()
        self._penalty_until = 0.0
        #: Acquisitions so far, and seconds spent waiting in ``acquire`` (all threads).
        self.acquired = 0
        self.waited_s = 0.0
        #: Answers whose count showed requests this limiter did not send.
        self.foreign_seen = 0

    # ------------------------------------------------------------------------------ public

    def acquire(self) -> Slot:
        """Block until one more request may be sent; it holds a slot until ``release``."""
        while True:
            with self._cond:
                now = self._clock()
                wait = self._wait(now)
                if wait <= 0:
                    self._flying.append(now)
                    self.acquired += 1
                    return Slot(now)
                if wait == math.inf:
                    # Only requests still on their way hold the window: one coming back frees
                    # nothing before a window later, so wait for it, then compute again.
                    self._cond.wait(self.window_s)
                    continue
                self.waited_s += wait
            self._sleep(wait)

    def release(self, slot: Slot, counts: Iterable[TrelloCount] = ()) -> None:
        """``slot``'s answer is in (or it failed): its slot frees one window from now. ``counts``
        are Trello's counts from that answer (``counts_from_headers``). A second release of the
        same slot does nothing."""
        with self._cond:
            if slot.released:
                return
            now = self._clock()
            self._prune(now)
            ours = self._ours(slot.sent, now)
            foreign = False
            for count in counts:
                foreign = self._observe(count, ours, now) or foreign
            self.foreign_seen += foreign
            slot.released = True
            self._flying.remove(slot.sent)
            self._done.append((now, slot.sent))
            self._cond.notify_all()

    def penalize(self, seconds: float) -> None:
        """After a 429: nobody sends anything for ``seconds`` from now (penalties don't add up;
        the later end wins), and the margin is kept for a window after that."""
        with self._cond:
            now = self._clock()
            self._penalty_until = max(self._penalty_until, now + max(seconds, 0.0))
            for budget in self._budgets.values():
                budget.doubt_until = max(budget.doubt_until, self._penalty_until + self.window_s)

    def allowance(self, scope: Scope = "token") -> int:
        """Requests the token (or key) may have in Trello's window now: its whole budget while
        Trello's count agrees with this limiter's, the budget less the margin for a window after
        it showed foreign traffic, a longer window or a 429."""
        with self._cond:
            return self._budgets[scope].allowance(self._clock())

    def others(self, scope: Scope = "token") -> int:
        """Requests of others this limiter counts against the token's (or key's) budget now."""
        with self._cond:
            return self._budgets[scope].others(self._clock())

    # ----------------------------------------------------------------------------- private

    def _observe(self, count: TrelloCount, ours: tuple[int, int], now: float) -> bool:
        """Take in one of Trello's counts; ``ours`` is what ``_ours`` says of the answer it came
        with. True if it shows foreign traffic."""
        budget = self._budgets[count.scope]
        budget.maximum = max(count.maximum, 1)
        at_most, estimate = ours
        skew = count.interval_s is not None and count.interval_s > self.window_s * 1.001
        extra = count.used - estimate
        foreign = count.used > at_most or extra > budget.maximum * TOLERANCE_SHARE
        if foreign or skew:
            budget.doubt_until = max(budget.doubt_until, now + self.window_s)
        if foreign:
            new = min(count.used, budget.maximum) - estimate - budget.others(now)
            budget.foreign.extend([now + self.window_s] * max(new, 0))
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

    def _wait(self, now: float) -> float:
        """Seconds until a request may go (≤ 0: now; inf: not before a request on its way comes
        back). Called with the lock held."""
        self._prune(now)
        first = bisect_right(self._done, now - self.window_s, key=_at)
        holding = len(self._flying) + len(self._done) - first
        wakes = [self._done[first][0] + self.window_s] if first < len(self._done) else []
        full = holding >= self.limit
        for budget in self._budgets.values():
            others = budget.others(now)
            if holding + others >= budget.allowance(now):
                full = True
                if others:
                    wakes.append(budget.foreign[0])
                if now < budget.doubt_until:
                    wakes.append(budget.doubt_until)
        wait = self._penalty_until - now
        if full:
            # Never 0 while full: ``answered + window - now`` can round to 0 a hair early.
            wait = max(wait, min(wakes, default=math.inf) - now, 1e-6)
        return wait

    def __repr__(self) -> str:
        return f"<RateLimiter {self.limit} per {self.window_s:g} s>"
