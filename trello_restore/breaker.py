"""When Trello is failing persistently enough that a run stops writing (design.md §5,
"Stopping"): ``Breaker``, fed by ``runner.Runner`` with every write attempt and every write's
final outcome."""

from __future__ import annotations

import threading
import time
from collections import deque
from collections.abc import Callable

from trello_restore.errors import ApiError, ApiUnreachable, RateLimited

__all__ = ["Breaker"]


class Breaker:
    """Decides when Trello is failing persistently enough to stop writing (design.md §5,
    "Stopping"). Thread-safe; fed by every write attempt and every write's final outcome.

    It opens when the write attempts of a streak (in a row, across workers, retries included)
    all got a 5xx or no answer, and the streak holds ``attempts`` of them over at least
    ``span_s`` (so one burst of concurrent failures that their retries recover from does not
    open it), or, when few writes are in flight, ``SLOW_ATTEMPTS`` over at least
    ``SLOW_SPANS * span_s`` (a lone write does not run through all its retries); or when more
    than half of the last ``window`` writes failed that way after their retries. Any other
    answer (a success, a 4xx) ends the streak; a 429 neither counts nor ends it (the limiter
    slows everyone), but a write still answered 429 after all its retries opens it
    (``rate_limited``), and so does a write answered with a redirect (``redirected``)."""

    #: The streak that opens the breaker when few writes are in flight: this many attempts...
    SLOW_ATTEMPTS = 3
    #: ... lasting this many times ``span_s`` (the backoff base: a write's third retry).
    SLOW_SPANS = 4

    def __init__(
        self,
        attempts: int,
        span_s: float,
        window: int,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.attempts = attempts
        self.span_s = span_s
        self.window = window
        self._clock = clock
        self._lock = threading.Lock()
        self._streak = 0
        self._streak_started = 0.0
        #: Whether an attempt of the streak got an answer (a 5xx): else none did.
        self._answered = False
        self._recent: deque[bool] = deque(maxlen=window)
        #: Why it opened ("" while closed).
        self.reason = ""

    @property
    def open(self) -> bool:
        """True once it has opened (it never closes: the run stops)."""
        return bool(self.reason)

    def attempt(self, error: ApiError | None) -> bool:
        """One write attempt answered (``error`` None: a success); True if now open."""
        with self._lock:
            if isinstance(error, RateLimited):
                return self.open
            if not isinstance(error, ApiUnreachable):
                self._streak = 0
                return self.open
            now = self._clock()
            if self._streak == 0:
                self._streak_started, self._answered = now, False
            self._streak += 1
            self._answered = self._answered or error.status is not None
            lasted = now - self._streak_started
            many = self._streak >= self.attempts and lasted >= self.span_s
            long = self._streak >= self.SLOW_ATTEMPTS and lasted >= self.SLOW_SPANS * self.span_s
            if not self.open and (many or long) and not self._answered:
                # No answer at all: the network, a proxy, the API URL as well as Trello (R67a:
                # refused connections were "Trello kept failing … When Trello works again").
                self.reason = (
                    f"no answer from the Trello API: {self._streak} write attempts in a row got "
                    f"none, over {lasted:.3g} s (the last: {error})"
                )
            elif not self.open and (many or long):
                self.reason = (
                    f"Trello kept failing: {self._streak} write attempts in a row got a 5xx or "
                    f"no answer, over {lasted:.3g} s (the last: {_answer(error)})"
                )
            return self.open

    def rate_limited(self, error: RateLimited) -> bool:
        """A write answered 429 through all its retries: Trello's budget stays spent (another
        program on the token or key, or Trello's own limit), and every write after it would
        wait out its retries the same way (R37b: 666 of them, each a window, for hours; exit 5
        with no resume line). Opens at once, as a read's 429s end a run; True."""
        with self._lock:
            if not self.open:
                self.reason = (
                    "Trello kept rate limiting: a write was answered 429 through all its retries "
                    f"({_answer(error)}{'; ' + error.trello_error if error.trello_error else ''}"
                    "); check that no other program is using the same API key or token"
                )
            return True

    def redirected(self, error: ApiError) -> bool:
        """A write was answered with a redirect (3xx), which is never followed: the API URL
        is not Trello's API, or something in front of it sends writes elsewhere, and every
        write after it would be answered so too (R37b: each was sent and failed, exit 5 with
        no resume line). Opens at once, as a read's redirect ends a run; True."""
        with self._lock:
            if not self.open:
                self.reason = str(error)
            return True

    def finished(self, failed: ApiError | None) -> bool:
        """One write finished: ``failed`` is its last error when it failed with a 5xx or no
        answer after its retries, else None; True if now open."""
        with self._lock:
            self._recent.append(failed is not None)
            bad = sum(self._recent)
            if not self.open and failed is not None and 2 * bad > self.window:
                self.reason = (
                    f"Trello kept failing: {bad} of the last {len(self._recent)} writes failed "
                    f"after their retries (last: {_answer(failed)})"
                )
            return self.open


def _answer(error: ApiError) -> str:
    return f"HTTP {error.status}" if error.status else "no answer"
