"""Sliding-window rate limits as Trello applies them (trello-api-notes.md §5).

Trello allows 100 requests per 10 s per token, 300 per 10 s per API key, and 100 per 900 s on the
``/1/members/{id}`` route; a key that collects more than 200 rejections in a window is refused
for the rest of that window. The sandbox keeps, per counter, the real (monotonic) times of the
requests it let through and counts those inside the window.

Decision (Trello does not document it): **rejected requests do not use up the window**. Only
requests that were let through are recorded, so a client that backs off gets its budget back
once the window has slid past its last accepted requests, the way a token bucket refills. The
rejections themselves are counted per key, separately, for the penalty rule.
"""

from __future__ import annotations

import threading
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass

#: 429 body when the token's window is full (also used during a 429 storm).
TOKEN_LIMIT_BODY = {"error": "API_TOKEN_LIMIT_EXCEEDED", "message": "Rate limit exceeded"}
#: 429 body when the key's window is full, or the key is in the penalty box.
KEY_LIMIT_BODY = {"error": "API_KEY_LIMIT_EXCEEDED", "message": "Rate limit exceeded"}
#: 429 body for the ``/1/members/{id}`` route limit.
MEMBER_LIMIT_BODY = {"error": "MEMBER_LIMIT_EXCEEDED", "message": "Rate limit exceeded"}

#: More 429s than this for one key within a window puts the key in the penalty box.
PENALTY_THRESHOLD = 200


class SlidingWindow:
    """Counts events per name over the last ``window`` seconds. Not locked: callers lock."""

    def __init__(self) -> None:
        self._events: dict[str, deque[float]] = {}

    def count(self, name: str, now: float, window: float) -> int:
        """Events for ``name`` within ``(now - window, now]``, dropping older ones."""
        events = self._events.get(name)
        if events is None:
            return 0
        horizon = now - window
        while events and events[0] <= horizon:
            events.popleft()
        return len(events)

    def oldest(self, name: str) -> float | None:
        """The oldest event still kept for ``name`` (call ``count`` first to prune)."""
        events = self._events.get(name)
        return events[0] if events else None

    def add(self, name: str, now: float) -> None:
        """Record one event."""
        self._events.setdefault(name, deque()).append(now)

    def clear(self) -> None:
        """Forget everything."""
        self._events.clear()


@dataclass(frozen=True)
class Limits:
    """The limits in force for one decision, with windows already in real seconds."""

    token_limit: int
    key_limit: int
    window: float
    members_limit: int
    members_window: float


@dataclass(frozen=True)
class Decision:
    """The outcome of a rate-limit check, with the numbers for the ``x-rate-limit-*`` headers."""

    #: None when the request may go ahead; otherwise the 429 JSON body.
    rejection: dict[str, str] | None
    token_remaining: int
    key_remaining: int


class RateLimiter:
    """Trello's per-token, per-key and members-route limits, plus the 200-rejections penalty."""

    def __init__(self, clock: Callable[[], float] = time.monotonic) -> None:
        self._clock = clock
        self._lock = threading.Lock()
        self._token = SlidingWindow()
        self._key = SlidingWindow()
        self._members = SlidingWindow()
        self._rejections = SlidingWindow()
        self._penalty_until: dict[str, float] = {}

    def check(
        self,
        key: str,
        token: str,
        limits: Limits,
        *,
        members_route: bool = False,
        storm: bool = False,
    ) -> Decision:
        """Decide one request and record it (as accepted, or as a rejection for the penalty)."""
        with self._lock:
            now = self._clock()
            used_token = self._token.count(token, now, limits.window)
            used_key = self._key.count(key, now, limits.window)
            rejection: dict[str, str] | None = None
            if storm:
                rejection = TOKEN_LIMIT_BODY
            elif self._penalty_until.get(key, 0.0) > now:
                rejection = KEY_LIMIT_BODY
            elif used_token >= limits.token_limit:
                rejection = TOKEN_LIMIT_BODY
            elif used_key >= limits.key_limit:
                rejection = KEY_LIMIT_BODY
            elif (
                members_route
                and self._members.count(token, now, limits.members_window) >= limits.members_limit
            ):
                rejection = MEMBER_LIMIT_BODY
            if rejection is None:
                self._token.add(token, now)
                self._key.add(key, now)
                used_token += 1
                used_key += 1
                if members_route:
                    self._members.add(token, now)
            else:
                self._reject(key, now, limits.window)
            return Decision(
                rejection,
                max(limits.token_limit - used_token, 0),
                max(limits.key_limit - used_key, 0),
            )

    def _reject(self, key: str, now: float, window: float) -> None:
        # Penalty: once a key has collected more than PENALTY_THRESHOLD rejections inside one
        # window, every request with it is refused until that window (the one that began with
        # the oldest of those rejections) is over.
        self._rejections.add(key, now)
        if self._rejections.count(key, now, window) > PENALTY_THRESHOLD:
            oldest = self._rejections.oldest(key)
            start = oldest if oldest is not None else now
            self._penalty_until[key] = max(self._penalty_until.get(key, 0.0), start + window)

    def remaining(self, key: str, token: str, limits: Limits) -> tuple[int, int]:
        """``(token_remaining, key_remaining)`` without recording anything."""
        with self._lock:
            now = self._clock()
            used_token = self._token.count(token, now, limits.window)
            used_key = self._key.count(key, now, limits.window)
            return max(limits.token_limit - used_token, 0), max(limits.key_limit - used_key, 0)

    def reset(self) -> None:
        """Forget all windows and penalties."""
        with self._lock:
            for w in (self._token, self._key, self._members, self._rejections):
                w.clear()
            self._penalty_until.clear()
