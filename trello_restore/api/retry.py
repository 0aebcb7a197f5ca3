"""When to try a request again, and how long to wait first: one policy for the reads the
transport retries (``transport.Transport.request``) and the writes the applier retries
(``applier.Runner._send``), so that both follow the same backoff, jitter and 429 rules
(design.md §5; trello-api-notes.md §5, §13.4).

- A 429 (``RateLimited``) was refused before any processing: wait Trello's rate window, or the
  ``Retry-After`` when it asks for longer (at most ``MAX_RETRY_AFTER_S``), plus up to
  ``backoff_s`` of jitter so that concurrent clients do not come back together.
- A 5xx or no usable answer (``ApiUnreachable``): exponential backoff, ``backoff_s * 2**n`` (at
  most ``MAX_BACKOFF_S``), of which a random half ("equal jitter").
- Anything else is Trello's answer to the request itself: a retry cannot change it.

The policy decides; the loops that use it carry out the waiting (the transport sleeps, the
applier waits on its stop event) and their own bookkeeping.
"""

from __future__ import annotations

from dataclasses import dataclass

from trello_restore import defaults
from trello_restore.errors import ApiError, ApiUnreachable, RateLimited

__all__ = ["MAX_BACKOFF_S", "MAX_RETRY_AFTER_S", "RetryPolicy", "rate_limit_pause"]

#: The longest wait between two attempts for 5xx and connection errors.
MAX_BACKOFF_S = 60.0
#: The longest ``Retry-After`` honoured (a larger one is treated as this).
MAX_RETRY_AFTER_S = 900.0


def rate_limit_pause(retry_after: float | None, window_s: float) -> float:
    """How long a 429 stops requests: the rate window, or the ``Retry-After`` when longer (at
    most ``MAX_RETRY_AFTER_S``). The retry waits this plus jitter; the shared limiter makes
    every thread wait this long (``transport.Counters.count_rate_limited``)."""
    return max(window_s, min(retry_after or 0.0, MAX_RETRY_AFTER_S))


@dataclass(frozen=True)
class RetryPolicy:
    """How many times a failed request is tried again, and the waits in between."""

    #: Retries after the first attempt (attempts = retries + 1); 0 for a single attempt.
    retries: int = defaults.MAX_RETRIES
    #: Backoff base in seconds: ``backoff_s * 2**n`` with jitter, at most ``MAX_BACKOFF_S``;
    #: also the most jitter added to a 429's wait.
    backoff_s: float = defaults.BACKOFF_S
    #: Trello's rate-limit window: a 429 waits at least this long before the next attempt.
    rate_window_s: float = defaults.RATE_WINDOW_S

    def __post_init__(self) -> None:
        """Refuse negative numbers (ValueError: a programming error)."""
        for name in ("retries", "backoff_s", "rate_window_s"):
            if getattr(self, name) < 0:
                raise ValueError(f"{name} must not be negative")

    @property
    def attempts(self) -> int:
        """The most attempts a request gets (the first one included)."""
        return self.retries + 1

    @staticmethod
    def retryable(error: ApiError) -> bool:
        """True for the failures a later attempt may get past: a 429, a 5xx, no answer."""
        return isinstance(error, RateLimited | ApiUnreachable)

    def delay(self, error: ApiError, attempt: int, rand: float) -> float | None:
        """Seconds to wait before trying again after ``error``, or None: give up (an error a
        retry cannot fix, or the retries are used up).

        ``attempt`` counts the failed attempts before this one (0 after the first failure);
        ``rand`` is uniform in [0, 1) and spreads concurrent clients apart (jitter).
        """
        if attempt >= self.retries:
            return None
        return self._wait(error, attempt, rand)

    def longest_waits(self, error: ApiError, attempt: int) -> float:
        """The most the waits before the retries left after ``attempt`` failed attempts add up
        to, if each of them fails like ``error`` (``delay``'s largest answers; 0 for an error
        that is not retried)."""
        return sum(self._wait(error, n, 1.0) or 0.0 for n in range(attempt, self.retries))

    def _wait(self, error: ApiError, attempt: int, rand: float) -> float | None:
        if isinstance(error, RateLimited):
            return rate_limit_pause(error.retry_after, self.rate_window_s) + rand * self.backoff_s
        if isinstance(error, ApiUnreachable):
            base = min(self.backoff_s * 2.0**attempt, MAX_BACKOFF_S)
            return base / 2 + rand * base / 2
        return None
