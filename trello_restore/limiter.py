"""The client-side rate limiter that every request to Trello passes through (design.md §5).

Trello allows 100 requests per 10 s per token and 300 per 10 s per API key, over a sliding
window (trello-api-notes.md §5). ``RateLimiter`` is a sliding-window *log*: it remembers when
each of the last ``limit`` requests was let through and lets the next one go only when fewer
than ``limit`` fall inside the last ``window_s`` seconds. Unlike a token bucket it never allows
more than ``limit`` in *any* window, which is exactly Trello's rule; unlike a fixed window it
has no burst at window edges. One instance is shared by every worker thread of a run (and by
every session of a ``TrelloApi``), so the whole run stays under the limit, not each thread.

A 429 means the budget is gone for now (another program on the same token, or a 429 storm):
``penalize`` makes *every* caller wait, so the pool slows down together instead of one thread
backing off while the others keep hammering.

No dependency: requests-ratelimiter would pull in pyrate-limiter and its leaker thread for what
is forty lines here, and would not give the shared penalty (notes §12.4).
"""

from __future__ import annotations

import threading
import time
from collections import deque
from collections.abc import Callable

__all__ = ["RateLimiter"]


class RateLimiter:
    """At most ``limit`` acquisitions in any ``window_s`` seconds, shared by all threads.

    ``key_limit`` is the per-key budget; requests counted here are all sent with one token and
    one key, so the budget in force is the smaller of the two. ``clock`` and ``sleep`` are
    injectable for tests (a fake clock whose ``sleep`` advances it).
    """

    def __init__(
        self,
        limit: int,
        window_s: float,
        *,
        key_limit: int | None = None,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        """Refuse a limit below 1 or a window that is not positive (ValueError)."""
        if limit < 1 or (key_limit is not None and key_limit < 1):
            raise ValueError("rate limits must be at least 1 request per window")
        if not window_s > 0:
            raise ValueError("the rate window must be positive")
        #: The budget in force: requests per window.
        self.limit = min(limit, key_limit) if key_limit is not None else limit
        #: The window, in seconds.
        self.window_s = float(window_s)
        #: Requests Trello may count beyond this log before ``observe`` adds them (5%).
        self.slack = self.limit // 20
        self._clock = clock
        self._sleep = sleep
        self._lock = threading.Lock()
        self._sent: deque[float] = deque()
        self._penalty_until = 0.0
        #: Acquisitions so far, and seconds spent waiting in ``acquire`` (all threads).
        self.acquired = 0
        self.waited_s = 0.0

    def acquire(self) -> None:
        """Block until one more request may be sent, and count it as sent now."""
        while True:
            with self._lock:
                now = self._clock()
                wait = self._wait(now)
                if wait <= 0:
                    self._sent.append(now)
                    self.acquired += 1
                    return
                self.waited_s += wait
            self._sleep(wait)

    def observe(self, used: int) -> None:
        """Trello's own count: ``used`` requests of this token are in its current window (from
        the ``x-rate-limit-api-token-max`` and ``-remaining`` headers of an answer).

        Requests this limiter never saw (a plan fetched just before, another process with the
        same token) use up the budget too: those Trello counts beyond the ones logged here are
        logged now, so the limiter waits for them as for its own (they expire a little later
        than Trello's do: the error is on the safe side). A few are let pass (``slack``): Trello
        counts a request from when it arrives, this log from when it was let go, so Trello
        keeps each one a little longer, and that small difference is not foreign traffic."""
        with self._lock:
            now = self._clock()
            self._wait(now)  # prunes the log
            missing = min(used, self.limit) - len(self._sent) - self.slack
            self._sent.extend([now] * max(missing, 0))

    def penalize(self, seconds: float) -> None:
        """After a 429: nobody sends anything for ``seconds`` from now (penalties don't add up;
        the later end wins)."""
        with self._lock:
            self._penalty_until = max(self._penalty_until, self._clock() + max(seconds, 0.0))

    def _wait(self, now: float) -> float:
        """Seconds until a request may go (≤ 0: now). Called with the lock held."""
        horizon = now - self.window_s
        while self._sent and self._sent[0] <= horizon:
            self._sent.popleft()
        wait = self._penalty_until - now
        if len(self._sent) >= self.limit:
            # Full: wait until the window slides past its oldest request.
            wait = max(wait, self._sent[0] + self.window_s - now)
        return wait

    def __repr__(self) -> str:
        return f"<RateLimiter {self.limit} per {self.window_s:g} s>"
