"""The shared client-side rate limiter, on a fake clock (and one real multi-thread check)."""

from __future__ import annotations

import threading
import time

import pytest

from trello_restore.limiter import RateLimiter


class FakeClock:
    """A clock that only moves when someone sleeps on it."""

    def __init__(self) -> None:
        self.now = 1000.0
        self.sleeps: list[float] = []

    def __call__(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.sleeps.append(seconds)
        self.now += seconds


def _limiter(limit: int = 3, window: float = 10.0, **kw: int) -> tuple[RateLimiter, FakeClock]:
    clock = FakeClock()
    return RateLimiter(limit, window, clock=clock, sleep=clock.sleep, **kw), clock


def test_a_full_window_waits_until_its_oldest_request_slides_out() -> None:
    """Three per 10 s: three go at once, the fourth waits until the first is 10 s old."""
    limiter, clock = _limiter()
    for _ in range(3):
        limiter.acquire()
    assert clock.sleeps == []
    limiter.acquire()
    assert clock.sleeps == [pytest.approx(10.0)]
    assert clock.now == pytest.approx(1010.0)


def test_never_more_than_the_limit_in_any_window() -> None:
    """Requests at uneven times: no 10 s window ever holds more than the limit."""
    limiter, clock = _limiter(limit=5)
    times = []
    for gap in [0, 1, 0, 3, 0, 0, 2, 7, 0, 0, 0, 9, 0, 0, 0, 0, 0, 0, 0, 4] * 3:
        clock.now += gap
        limiter.acquire()
        times.append(clock.now)
    for t in times:
        assert sum(1 for u in times if t - 10 < u <= t) <= 5


def test_sustained_rate_equals_the_limit() -> None:
    """A stream of requests runs at exactly ``limit`` per window once the window is full."""
    limiter, clock = _limiter(limit=90, window=10.0)
    start = clock.now
    for _ in range(900):
        limiter.acquire()
    # 90 at once, then 90 more every 10 s: the 900th goes at 90 s.
    assert clock.now - start == pytest.approx(90.0)
    assert limiter.acquired == 900
    assert limiter.waited_s == pytest.approx(90.0)


def test_the_key_limit_binds_when_it_is_lower() -> None:
    """The smaller of the token and key budgets is the one in force."""
    assert RateLimiter(100, 10, key_limit=300).limit == 100
    assert RateLimiter(100, 10, key_limit=40).limit == 40
    limiter, clock = _limiter(limit=5, key_limit=2)
    for _ in range(3):
        limiter.acquire()
    assert clock.sleeps == [pytest.approx(10.0)]


def test_a_penalty_stops_everyone_for_its_length() -> None:
    """After a 429 no request goes until the penalty is over, even with budget left."""
    limiter, clock = _limiter(limit=100)
    limiter.acquire()
    limiter.penalize(10.0)
    limiter.acquire()
    assert clock.now == pytest.approx(1010.0)
    limiter.penalize(2.0)
    limiter.penalize(1.0)  # a shorter penalty does not shorten the longer one
    limiter.acquire()
    assert clock.now == pytest.approx(1012.0)


def test_trello_s_count_of_foreign_requests_uses_up_the_budget() -> None:
    """Trello says 4 requests of the token are in its window; this limiter sent 1: the other
    3 count as sent now. A count at or below what was sent here changes nothing."""
    limiter, clock = _limiter(limit=5)
    limiter.acquire()
    limiter.observe(4)
    limiter.observe(2)
    limiter.acquire()
    assert clock.sleeps == []
    clock.now += 1
    limiter.acquire()  # the window is full until the first request is 10 s old
    assert clock.now == pytest.approx(1010.0)
    limiter.observe(100)  # never more than the budget: waits one window, not ten
    limiter.acquire()
    assert clock.now == pytest.approx(1020.0)


def test_a_few_requests_trello_still_counts_are_not_foreign() -> None:
    """Trello counts a request from its arrival, a little after this log did: a difference of
    up to 5% of the budget is let pass, more is taken as traffic from elsewhere."""
    limiter, clock = _limiter(limit=100)
    assert limiter.slack == 5
    limiter.observe(5)
    for _ in range(100):
        limiter.acquire()
    assert clock.sleeps == []
    limiter, clock = _limiter(limit=100)
    limiter.observe(25)
    for _ in range(81):
        limiter.acquire()
    assert clock.sleeps == [pytest.approx(10.0)]


def test_bad_limits_are_refused() -> None:
    """No budget or no window is a programming error."""
    with pytest.raises(ValueError, match="at least 1"):
        RateLimiter(0, 10)
    with pytest.raises(ValueError, match="at least 1"):
        RateLimiter(10, 10, key_limit=0)
    with pytest.raises(ValueError, match="positive"):
        RateLimiter(10, 0)
    assert repr(RateLimiter(90, 10)) == "<RateLimiter 90 per 10 s>"


def test_threads_share_one_budget() -> None:
    """Eight threads on the real clock: 72 acquisitions at 20 per 0.2 s need three more windows,
    and no 0.2 s window holds more than 20 (give or take the scheduler's delay in noting the
    time)."""
    limiter = RateLimiter(20, 0.2)
    times: list[float] = []
    lock = threading.Lock()

    def work() -> None:
        for _ in range(9):
            limiter.acquire()
            with lock:
                times.append(time.monotonic())

    threads = [threading.Thread(target=work) for _ in range(8)]
    start = time.monotonic()
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    times.sort()
    assert len(times) == 72
    assert time.monotonic() - start >= 0.6 - 0.01
    for i, when in enumerate(times):
        assert sum(1 for u in times[i:] if u < when + 0.2 - 0.02) <= 20
