"""The shared client-side rate limiter, on a fake clock with synthetic header sequences, a
simulated Trello (latency, jitter, a second client on the same token) and one real multi-thread
check. Pins ``trello_restore/limiter.py`` to every branch (tools/coverage_gate.py)."""

from __future__ import annotations

import heapq
import logging
import math
import random
import threading
import time
from collections import deque
from dataclasses import dataclass, field

import pytest

from trello_restore.limiter import RateLimiter, Slot, TrelloCount, counts_from_headers


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
    return RateLimiter(
        limit, window, clock=clock, sleep=clock.sleep, first_alone=False, **kw
    ), clock


def _send(limiter: RateLimiter, *counts: TrelloCount) -> Slot:
    """One request answered at once (the answer's counts handed back)."""
    slot = limiter.acquire()
    limiter.release(slot, counts)
    return slot


def _token(used: int, maximum: int = 100, interval_s: float | None = 10.0) -> TrelloCount:
    return TrelloCount("token", used, maximum, interval_s)


# ------------------------------------------------------------------------- the window itself


def test_a_full_window_waits_until_its_oldest_answer_is_a_window_old() -> None:
    """Three per 10 s: three go at once, the fourth waits until the first answer is 10 s old."""
    limiter, clock = _limiter()
    for _ in range(3):
        _send(limiter)
    assert clock.sleeps == []
    _send(limiter)
    assert clock.sleeps == [pytest.approx(10.0)]
    assert clock.now == pytest.approx(1010.0)


def test_a_slot_frees_a_window_after_the_answer_not_after_the_send() -> None:
    """Trello counts a request when it arrives, somewhere between send and answer: the slot is
    held until the answer is a window old, so however long the request took, Trello has
    forgotten it when the slot frees."""
    limiter, clock = _limiter(limit=1)
    slot = limiter.acquire()
    clock.now += 2.5  # the answer takes 2.5 s
    limiter.release(slot)
    limiter.release(slot)  # a second release of the same slot changes nothing
    _send(limiter)
    assert clock.now == pytest.approx(1012.5)


def test_saturated_while_a_request_waits_for_the_window() -> None:
    """``saturated`` (what ``paging`` asks before splitting a range off): while a request
    waits in ``acquire`` for a slot, and not once it has it, nor while the window has room."""
    seen: list[bool] = []
    clock = FakeClock()

    def sleep(seconds: float) -> None:
        seen.append(limiter.saturated())
        clock.sleep(seconds)

    limiter = RateLimiter(3, 10.0, clock=clock, sleep=sleep, first_alone=False)
    for _ in range(3):
        _send(limiter)
    assert not limiter.saturated()  # full, but nobody is waiting
    _send(limiter)  # waits for the first answer to be a window old
    assert seen == [True]
    assert not limiter.saturated()


def test_a_wait_that_ends_in_an_error_is_no_longer_counted_as_waiting() -> None:
    """Ctrl-C in the middle of a wait: the request is not sent, and ``saturated`` does not
    count it as waiting any more."""
    clock = FakeClock()

    def sleep(seconds: float) -> None:
        assert limiter.saturated()
        raise KeyboardInterrupt

    limiter = RateLimiter(1, 10.0, clock=clock, sleep=sleep, first_alone=False)
    _send(limiter)
    with pytest.raises(KeyboardInterrupt):
        limiter.acquire()
    assert not limiter.saturated()
    assert limiter.acquired == 1


def test_never_more_than_the_limit_in_any_window() -> None:
    """Requests at uneven times: no 10 s window ever holds more than the limit."""
    limiter, clock = _limiter(limit=5)
    times = []
    for gap in [0, 1, 0, 3, 0, 0, 2, 7, 0, 0, 0, 9, 0, 0, 0, 0, 0, 0, 0, 4] * 3:
        clock.now += gap
        _send(limiter)
        times.append(clock.now)
    for t in times:
        assert sum(1 for u in times if t - 10 < u <= t) <= 5


def test_sustained_rate_equals_the_limit() -> None:
    """A stream of requests answered at once runs at exactly ``limit`` per window."""
    limiter, clock = _limiter(limit=90, window=10.0)
    start = clock.now
    for _ in range(900):
        _send(limiter)
    # 90 at once, then 90 more every 10 s: the 900th goes at 90 s.
    assert clock.now - start == pytest.approx(90.0)
    assert limiter.acquired == 900
    assert limiter.waited_s == pytest.approx(90.0)


def test_the_key_limit_binds_when_it_is_lower() -> None:
    """The smaller of the token and key caps is the one in force."""
    assert RateLimiter(100, 10, key_limit=300).limit == 100
    assert RateLimiter(100, 10, key_limit=40).limit == 40
    limiter, clock = _limiter(limit=5, key_limit=2)
    for _ in range(3):
        _send(limiter)
    assert clock.sleeps == [pytest.approx(10.0)]


def test_the_first_request_goes_alone_and_its_answer_shows_the_window() -> None:
    """A new limiter knows nothing of Trello's window: a run just before (on the same token)
    may have filled it. Its first request goes alone; the others wait for its answer, whose
    count shows 97 others in the window: they go only once those have left it (a window after
    that answer). The demo's next step sent two at once into a window its last step had
    filled: one was refused."""
    clock = FakeClock()
    limiter = RateLimiter(100, 10.0, clock=clock, sleep=clock.sleep)
    first = limiter.acquire()
    got: list[float] = []
    waiter = threading.Thread(target=lambda: got.append(limiter.acquire().sent))
    waiter.start()
    time.sleep(0.05)
    assert got == []  # the second waits for the first answer, not for the clock
    clock.now += 0.2
    limiter.release(first, [_token(98)])
    waiter.join(timeout=5)
    assert got == [pytest.approx(1010.2)]
    assert limiter.others() == 0  # the 97 have left Trello's window by then


def test_without_counts_the_first_answer_still_opens_the_pool() -> None:
    """An API that sends no rate-limit headers (or a first request that failed): once its
    first answer is in, the pool runs as before (no request waits for another's answer)."""
    clock = FakeClock()
    limiter = RateLimiter(3, 10.0, clock=clock, sleep=clock.sleep)
    limiter.release(limiter.acquire())
    slots = [limiter.acquire(), limiter.acquire()]
    assert clock.now == 1000.0
    assert [s.sent for s in slots] == [1000.0, 1000.0]


def test_requests_on_their_way_hold_the_window_until_one_comes_back() -> None:
    """Every slot held by a request still on its way: the next one waits for an answer (not for
    the clock), and then a window more."""
    limiter, clock = _limiter(limit=2)
    first, second = limiter.acquire(), limiter.acquire()
    got: list[float] = []
    waiter = threading.Thread(target=lambda: got.append(limiter.acquire().sent))
    waiter.start()
    time.sleep(0.05)
    assert got == []  # blocked: nothing frees before an answer is in
    clock.now += 1.0
    limiter.release(first)
    waiter.join(timeout=5)
    assert got == [pytest.approx(1011.0)]
    limiter.release(second)


def test_a_penalty_stops_everyone_for_its_length() -> None:
    """After a 429 no request goes until the penalty is over, even with budget left, and the
    margin is kept for a window after it."""
    limiter, clock = _limiter(limit=100)
    _send(limiter)
    limiter.penalize(10.0)
    assert limiter.allowance() == 90
    _send(limiter)
    assert clock.now == pytest.approx(1010.0)
    limiter.penalize(2.0)
    limiter.penalize(1.0)  # a shorter penalty does not shorten the longer one
    _send(limiter)
    assert clock.now == pytest.approx(1012.0)
    clock.now += 10.0
    assert limiter.allowance() == 100


def test_a_penalty_while_the_window_is_full() -> None:
    """Full and penalized: the later of the two ends wins."""
    limiter, clock = _limiter(limit=1)
    _send(limiter)
    limiter.penalize(3.0)
    _send(limiter)
    assert clock.now == pytest.approx(1010.0)
    limiter.penalize(15.0)
    _send(limiter)
    assert clock.now == pytest.approx(1025.0)


def test_bad_limits_are_refused() -> None:
    """No budget or no window is a programming error."""
    with pytest.raises(ValueError, match="at least 1"):
        RateLimiter(0, 10)
    with pytest.raises(ValueError, match="at least 1"):
        RateLimiter(10, 10, key_limit=0)
    with pytest.raises(ValueError, match="at least 1"):
        RateLimiter(10, 10, token_budget=0)
    with pytest.raises(ValueError, match="positive"):
        RateLimiter(10, 0)
    assert repr(RateLimiter(90, 10)) == "<RateLimiter 90 per 10 s>"


# ------------------------------------------------------------------------ Trello's headers


def test_counts_from_headers() -> None:
    """Token and key counts from Trello's headers; a scope without usable numbers is left out,
    an unusable interval is not said."""
    headers = {
        "x-rate-limit-api-token-interval-ms": "10000",
        "x-rate-limit-api-token-max": "100",
        "x-rate-limit-api-token-remaining": "97",
        "x-rate-limit-api-key-interval-ms": "soon",
        "x-rate-limit-api-key-max": "300",
        "x-rate-limit-api-key-remaining": "299",
    }
    assert counts_from_headers(headers) == [
        TrelloCount("token", 3, 100, 10.0),
        TrelloCount("key", 1, 300, None),
    ]
    del headers["x-rate-limit-api-key-interval-ms"]
    headers["x-rate-limit-api-token-remaining"] = "lots"
    assert counts_from_headers(headers) == [TrelloCount("key", 1, 300, None)]
    del headers["x-rate-limit-api-key-max"]
    assert counts_from_headers(headers) == []
    assert counts_from_headers({}) == []
    over = {"x-rate-limit-api-token-max": "100", "x-rate-limit-api-token-remaining": "101"}
    assert counts_from_headers(over) == [TrelloCount("token", 0, 100, None)]
    # R86d: counts no Trello sends (a budget of none or less, less than nothing left) are left
    # out: read as said, a middlebox's headers slowed a run to one request per window.
    for maximum, remaining in (("0", "0"), ("-100", "0"), ("100", "-1"), ("100", "-50")):
        odd = {"x-rate-limit-api-token-max": maximum, "x-rate-limit-api-token-remaining": remaining}
        assert counts_from_headers(odd) == [], odd
        # R87b: a token scope left out does not drop the key's.
        both = {**odd, "x-rate-limit-api-key-max": "300", "x-rate-limit-api-key-remaining": "299"}
        assert counts_from_headers(both) == [TrelloCount("key", 1, 300, None)], both
    # The budget used up, as Trello says it: a count to pace by, not one left out.
    used_up = {"x-rate-limit-api-token-max": "100", "x-rate-limit-api-token-remaining": "0"}
    assert counts_from_headers(used_up) == [TrelloCount("token", 100, 100, None)]


def test_an_agreeing_count_gives_the_whole_budget() -> None:
    """With the default cap (Trello's 100) and Trello's count equal to the limiter's own, 100
    requests go in one window, and the 101st waits for the first answer to be a window old."""
    limiter, clock = _limiter(limit=100)
    for n in range(1, 101):
        _send(limiter, _token(n), TrelloCount("key", n, 300))
    assert clock.sleeps == []
    assert (limiter.allowance(), limiter.allowance("key"), limiter.others()) == (100, 300, 0)
    assert limiter.foreign_seen == 0
    _send(limiter, _token(100))
    assert clock.sleeps == [pytest.approx(10.0)]


def test_a_slow_answer_may_still_be_in_trello_s_count() -> None:
    """Trello may still count a request whose trip ended less than a window before this one
    began (it may have arrived late in its trip): a count that includes it is not foreign."""
    limiter, clock = _limiter(limit=100)
    slot = limiter.acquire()
    clock.now += 4.0  # a 4 s round trip
    limiter.release(slot)
    clock.now += 9.0  # sent 9 s after that answer, 13 s after it was sent
    _send(limiter, _token(2))
    assert (limiter.foreign_seen, limiter.others(), limiter.allowance()) == (0, 0, 100)
    clock.now += 1.5  # now the first answer is more than a window old: Trello forgot it
    _send(limiter, _token(3))
    assert (limiter.foreign_seen, limiter.others(), limiter.allowance()) == (1, 1, 90)


def test_a_count_within_the_estimate_s_error_is_not_foreign() -> None:
    """Six requests on their way, the first answered: Trello's count may include the five sent
    after it, or not. The estimate takes it to have counted only the first (every request
    counted at the same point of its trip); 2 of 100 more is the estimate's error, 3 more is
    foreign traffic (and counted as such: 3 others)."""
    limiter, clock = _limiter(limit=100)
    first = limiter.acquire()
    later = [limiter.acquire() for _ in range(5)]
    clock.now += 0.2
    limiter.release(first, [_token(3)])
    assert (limiter.foreign_seen, limiter.others()) == (0, 0)
    again = limiter.acquire()
    clock.now += 0.2
    limiter.release(again, [_token(10)])  # 1 + 5 on their way + itself: 7 at most, 7 + 3
    assert (limiter.foreign_seen, limiter.others(), limiter.allowance()) == (1, 3, 90)
    for slot in later:
        limiter.release(slot)


def test_the_first_foreign_traffic_is_said_with_v(caplog: pytest.LogCaptureFixture) -> None:
    """R86d: a run paced down by Trello's count said nothing of why, not even with ``-v``.
    The first answer that shows requests this run did not send says so (INFO: ``-v``); later
    ones do not repeat it."""
    limiter, _ = _limiter(limit=100)
    with caplog.at_level(logging.INFO, logger="trello_restore.limiter"):
        _send(limiter, _token(1))
        assert caplog.messages == []
        _send(limiter, _token(30))
        _send(limiter, _token(60))
    assert limiter.foreign_seen == 2
    (said,) = caplog.messages
    assert said == (
        "Trello counts requests on this token or its key that this run did not send (28 in the "
        "window: another program using them?): pacing to leave them room"
    ), said


def test_a_budget_below_trello_s_usual_is_said_with_v(caplog: pytest.LogCaptureFixture) -> None:
    """R87c: ``-max: 1`` on every answer paced a run to one request a window, and ``-v``
    said nothing (one request of one is no foreign traffic). A count whose budget is below
    Trello's usual (100 per token, 300 per key) is said once."""
    limiter, _ = _limiter(limit=100)
    with caplog.at_level(logging.INFO, logger="trello_restore.limiter"):
        _send(limiter, TrelloCount("token", 1, 1, 10.0))
        _send(limiter, TrelloCount("token", 1, 1, 10.0))
    (said,) = caplog.messages
    assert said == (
        "Trello's count gives this token 1 request per window, not the usual 100: pacing to that"
    ), said


def test_foreign_traffic_backs_off_to_the_margin_and_counts_against_the_budget() -> None:
    """Trello counts 20 more than the limiter sent: those 20 count against the budget, and
    the margin (10 of 100) is kept free: 70 of its own go in this window, not 80."""
    limiter, clock = _limiter(limit=100)
    _send(limiter, _token(21))
    assert (limiter.others(), limiter.allowance(), limiter.foreign_seen) == (20, 90, 1)
    for n in range(2, 71):
        _send(limiter, _token(20 + n))
    assert clock.sleeps == []
    assert limiter.others() == 20  # already counted: nothing new
    _send(limiter, _token(90))
    assert clock.sleeps == [pytest.approx(10.0)]


def test_never_more_than_trello_s_budget_is_counted_as_others() -> None:
    """A count above the budget (another client that ignores 429s) counts as the budget: one
    window's wait, not several."""
    limiter, clock = _limiter(limit=5)
    _send(limiter, _token(400, maximum=5))
    assert limiter.others() == 4
    _send(limiter)
    assert clock.now == pytest.approx(1010.0)


def test_recovery_after_a_window_without_foreign_traffic() -> None:
    """The other client slows down and stops: a newer count replaces the older one, what is
    kept free shrinks from the margin (their first window) to their largest rise (3) plus the
    safety (4), and a window after the last count that showed any of them the whole budget is
    back."""
    limiter, clock = _limiter(limit=100)
    _send(limiter, _token(31))
    clock.now += 5.0
    _send(limiter, _token(35))  # ours: 2; others: 30 seen, 33 now (a rise of 3)
    assert (limiter.others(), limiter.allowance()) == (33, 90)  # their first window: margin
    clock.now += 5.0
    # The 33 may all still be in Trello's window (they were counted 5 s ago), and 5 s passed
    # without an answer: room for their pace over that span, but never more than takes them
    # to the most they had (33) plus their largest rise (3).
    assert (limiter.others(), limiter.allowance()) == (33, 93)
    _send(limiter, _token(5))  # ours: 2 (the first is a window old); others: 3 now
    assert (limiter.others(), limiter.allowance()) == (3, 93)
    clock.now += 5.0
    _send(limiter, _token(2))  # the others are gone: the count agrees
    assert (limiter.others(), limiter.allowance()) == (0, 93)
    clock.now += 5.0
    assert (limiter.others(), limiter.allowance()) == (0, 100)
    for _ in range(99):
        _send(limiter, _token(2))
    assert clock.sleeps == []
    assert limiter.foreign_seen == 3


def test_the_wait_ends_when_the_margin_does() -> None:
    """Full under the margin, with its own requests younger than the margin: the wait ends when
    the margin does (the whole budget is back), not when its oldest answer is a window old."""
    limiter, clock = _limiter(limit=100)
    limiter.penalize(0.0)
    clock.now += 5.0
    for _ in range(90):
        _send(limiter)
    assert clock.sleeps == []
    _send(limiter)
    assert clock.sleeps == [pytest.approx(5.0)]


def test_trello_s_own_maximum_and_a_longer_window_are_believed() -> None:
    """Trello's ``-max`` replaces the documented budget (lower or higher); an
    ``-interval-ms`` longer than the limiter's window is skew: the margin is kept."""
    limiter, _ = _limiter(limit=1000)
    _send(limiter, _token(1, maximum=2000))
    assert limiter.allowance() == 2000
    _send(limiter, _token(2, maximum=50))
    assert limiter.allowance() == 50
    _send(limiter, _token(3, maximum=50, interval_s=15.0))
    assert (limiter.allowance(), limiter.others(), limiter.foreign_seen) == (45, 0, 0)
    _send(limiter, _token(4, maximum=50, interval_s=None))
    assert limiter.allowance() == 45


def test_the_key_s_count_is_paced_like_the_token_s() -> None:
    """Other tokens of the same API key show in the key's count: they use up the key's
    budget, which binds when it is the lower one."""
    limiter, clock = _limiter(limit=100)
    _send(limiter, _token(1), TrelloCount("key", 281, 300))
    assert (limiter.others("key"), limiter.allowance("key")) == (280, 270)
    assert (limiter.others(), limiter.allowance()) == (0, 100)
    _send(limiter)
    assert clock.sleeps == [pytest.approx(10.0)]


def _beside(
    limiter: RateLimiter, others: int, seconds: int, sent: list[float], per_second: int = 1
) -> None:
    """``seconds`` seconds of ``per_second`` requests, each answered at once with Trello's
    count: its own of the last window (``sent``, kept across calls) and ``others`` foreign."""
    clock = limiter._clock
    assert isinstance(clock, FakeClock)
    for _ in range(seconds):
        clock.now += 1.0
        for _ in range(per_second):
            slot = limiter.acquire()
            sent.append(slot.sent)
            ours = sum(1 for s in sent if s > slot.sent - 10.0)
            limiter.release(slot, [_token(ours + others)])


def test_beside_others_the_reserve_replaces_the_margin_once_their_pace_is_known() -> None:
    """A client that keeps 20 requests in Trello's window: the margin (10) for the window after
    it first shows, then only the safety (4) beyond its 20 while answers keep coming, since it
    neither rose nor can have sent more than its pace between two answers."""
    limiter, _ = _limiter(limit=100)
    sent: list[float] = []
    _beside(limiter, 20, 1, sent)
    assert (limiter.others(), limiter.allowance(), limiter.foreign_seen) == (20, 90, 1)
    _beside(limiter, 20, 9, sent)
    assert (limiter.others(), limiter.allowance()) == (20, 90)  # still its first window
    _beside(limiter, 20, 1, sent)
    assert (limiter.others(), limiter.allowance()) == (20, 96)
    _beside(limiter, 20, 20, sent)
    assert (limiter.others(), limiter.allowance()) == (20, 96)
    assert limiter.foreign_seen == 31


def test_the_reserve_grows_while_no_answer_comes() -> None:
    """The newest count showed 10 of a client that had 20 in a window: while no answer comes,
    room for what it sends at that pace meanwhile (2 a second), up to the 20 it had."""
    limiter, clock = _limiter(limit=100)
    sent: list[float] = []
    _beside(limiter, 20, 11, sent)
    _beside(limiter, 10, 1, sent)  # fewer now: the newer count replaces the older
    assert (limiter.others(), limiter.allowance()) == (10, 96)
    clock.now += 2.0
    assert limiter.allowance() == 92  # 4 of theirs may have come meanwhile, unseen
    clock.now += 3.0
    assert limiter.allowance() == 86  # 10 more would take them past the 20 they had
    clock.now += 10.0
    assert (limiter.others(), limiter.allowance()) == (0, 100)  # a window without them


def test_a_burst_is_kept_free_while_the_others_are_about() -> None:
    """The others' count rose by 12 from one answer to the next: 12 are kept free (plus the
    safety) for as long as they are about, not only for a window; once they are gone and come
    back, their ways are learnt anew."""
    limiter, clock = _limiter(limit=100)
    sent: list[float] = []
    _beside(limiter, 10, 11, sent)
    _beside(limiter, 22, 1, sent)  # a burst of 12
    _beside(limiter, 10, 15, sent)  # it left; the pace is back to 10
    assert (limiter.others(), limiter.allowance()) == (10, 84)
    clock.now += 10.0  # gone a window
    assert limiter.allowance() == 100
    _beside(limiter, 10, 1, sent)  # back: the margin while their ways are learnt
    assert (limiter.others(), limiter.allowance()) == (10, 90)
    _beside(limiter, 10, 10, sent)
    assert limiter.allowance() == 96


def test_a_burst_is_forgotten_two_windows_after_it() -> None:
    """One burst of 12 early in a long run beside a steady client: it is kept free for two
    windows, then what is kept free comes back down to the safety (it was kept for the rest of
    the run: a program catching up once after a pause taxed every later window)."""
    limiter, _ = _limiter(limit=100)
    sent: list[float] = []
    _beside(limiter, 10, 11, sent)
    _beside(limiter, 22, 1, sent)  # a burst of 12
    _beside(limiter, 10, 15, sent)
    assert (limiter.others(), limiter.allowance()) == (10, 84)  # still within two windows
    _beside(limiter, 10, 10, sent)
    assert (limiter.others(), limiter.allowance()) == (10, 96)  # 25 s on: the safety only


def test_a_burst_spread_over_several_answers_is_one_burst() -> None:
    """Four requests 20 ms apart, each answered 200 ms later: the others' count shows a burst
    coming in over them (10, then 13, 18, 22). Within a round trip that is one burst of 12,
    kept free as such (it was measured answer to answer: 5)."""
    limiter, clock = _limiter(limit=100)
    sent: list[float] = []
    _beside(limiter, 10, 11, sent)
    slots = []
    for _ in range(4):
        slots.append(limiter.acquire())
        sent.append(slots[-1].sent)
        clock.now += 0.02
    clock.now += 0.2 - 0.08
    for slot, others in zip(slots, (10, 13, 18, 22), strict=True):
        ours = sum(1 for s in sent if slot.sent - 10.0 < s <= slot.sent)
        limiter.release(slot, [_token(ours + others)])
        clock.now += 0.02
    assert (limiter.others(), limiter.allowance()) == (22, 100 - 12 - 4)


def test_a_full_window_beside_others_brings_the_margin_back_until_they_leave() -> None:
    """An answer shows Trello's window full while others are about: the room kept for them was
    too small (one of theirs may have been refused), so the margin is kept for as long as they
    are about, and forgotten once they are gone. So after a 429 beside them: the margin for as
    long as they are about, not only for the window after it."""
    limiter, clock = _limiter(limit=100)
    sent: list[float] = []
    _beside(limiter, 20, 11, sent)
    flying = [limiter.acquire() for _ in range(66)]  # 76 of its own in Trello's window
    assert (limiter.others(), limiter.allowance()) == (20, 96)
    full = flying.pop()
    limiter.release(full, [_token(100)])  # its 76 and 24 of theirs: Trello's window is full
    for slot in flying:
        limiter.release(slot)
    assert (limiter.others(), limiter.allowance()) == (24, 90)  # not 92: their rise 4, + 4
    clock.now += 5.0
    assert limiter.allowance() == 90
    _beside(limiter, 20, 11, sent)  # its slots free when they have not shown for a window
    assert limiter.allowance() == 96  # so it is not held against them
    limiter.penalize(0.0)
    _beside(limiter, 20, 15, sent)
    assert limiter.allowance() == 90
    clock.now += 10.0
    assert limiter.allowance() == 100


def test_an_older_answer_does_not_replace_a_newer_count() -> None:
    """Answers come back out of order: the count of the request sent later is the newer one,
    whichever answer comes last."""
    limiter, clock = _limiter(limit=100)
    early = limiter.acquire()
    clock.now += 1.0
    late = limiter.acquire()
    clock.now += 0.2
    limiter.release(late, [_token(2 + 30)])
    limiter.release(early, [_token(2 + 5)])  # sent before ``late``: older news
    assert limiter.others() == 30


# ------------------------------------------------------------------ a simulated Trello


@dataclass
class _Request:
    sent: float
    arrival: float
    answered: float
    ours: bool
    slot: Slot | None = None
    used: int = 0
    accepted: bool = False


@dataclass
class _Trello:
    """Trello's rule: at most ``limit`` accepted arrivals in any ``window``; a rejected one
    does not count. Arrivals are decided in time order, lazily (``until``)."""

    limit: int
    window: float
    accepted: deque[float] = field(default_factory=deque)
    pending: list[tuple[float, int, _Request]] = field(default_factory=list)
    seq: int = 0

    def arrive(self, request: _Request) -> None:
        self.seq += 1
        heapq.heappush(self.pending, (request.arrival, self.seq, request))

    def until(self, now: float) -> None:
        while self.pending and self.pending[0][0] <= now:
            at, _, request = heapq.heappop(self.pending)
            while self.accepted and self.accepted[0] <= at - self.window:
                self.accepted.popleft()
            request.accepted = len(self.accepted) < self.limit
            if request.accepted:
                self.accepted.append(at)
            request.used = len(self.accepted)


def _simulate(
    *,
    foreign_per_window: int,
    arrival_share: float = 0.5,
    jitter: float = 0.1,
    burst: int = 1,
    windows: int = 30,
    seed: int = 5,
    stall: tuple[float, float] | None = None,
) -> tuple[list[_Request], RateLimiter]:
    """Eight workers of ours (Trello's 100 per 10 s, round trips of 200 ms plus up to
    ``jitter`` s, Trello counting each request ``arrival_share`` of the way through its trip)
    beside another client on the same token that sends ``foreign_per_window`` requests per
    window at a steady rate (``burst`` at a time) and ignores the headers. ``stall``: (start,
    seconds) after ours begins, the other client stalls, then catches up on its schedule (what
    it missed, at once: a program paced by ``next_at += every`` after a pause)."""
    rng = random.Random(seed)
    in_flight: list[tuple[float, int, _Request]] = []

    def sleep(seconds: float) -> None:
        # Answers that come back while the limiter waits are released when they come back.
        if in_flight and in_flight[0][0] < clock.now + seconds:
            answer(heapq.heappop(in_flight)[2])
        else:
            clock.now += seconds

    clock = FakeClock()
    limiter = RateLimiter(100, 10.0, clock=clock, sleep=sleep, first_alone=False)
    trello = _Trello(100, 10.0)
    requests: list[_Request] = []
    end = clock.now + windows * 10.0
    next_foreign = clock.now - 10.0  # the other client runs a window before ours starts

    def request(sent: float, ours: bool) -> _Request:
        trip = 0.2 + rng.uniform(0.0, jitter)
        made = _Request(sent, sent + arrival_share * trip, sent + trip, ours=ours)
        requests.append(made)
        trello.arrive(made)
        return made

    stalled = (
        (clock.now + stall[0], clock.now + stall[0] + stall[1]) if stall else (math.inf, math.inf)
    )

    def foreign_until(now: float) -> None:
        nonlocal next_foreign
        while foreign_per_window and next_foreign <= now:
            if stalled[0] <= next_foreign < stalled[1]:
                if now < stalled[1]:
                    return
                sent = stalled[1]  # what it missed goes out at once when the stall ends
            else:
                sent = next_foreign
            for _ in range(burst):
                request(sent, ours=False)
            next_foreign += 10.0 * burst / foreign_per_window

    def answer(made: _Request) -> None:
        clock.now = max(clock.now, made.answered)
        foreign_until(clock.now)
        trello.until(clock.now)
        assert made.slot is not None
        limiter.release(made.slot, [_token(made.used)])

    while clock.now < end:
        while in_flight and (len(in_flight) == 8 or in_flight[0][0] <= clock.now):
            answer(heapq.heappop(in_flight)[2])
        foreign_until(clock.now)
        slot = limiter.acquire()
        foreign_until(clock.now)
        ours = request(clock.now, ours=True)
        ours.slot = slot
        heapq.heappush(in_flight, (ours.answered, len(requests), ours))
    while in_flight:
        answer(heapq.heappop(in_flight)[2])
    trello.until(math.inf)
    return requests, limiter


def _per_window(requests: list[_Request], ours: bool | None) -> float:
    """Accepted arrivals per 10 s over the whole windows after the first one of ours."""
    mine = [r.arrival for r in requests if r.ours]
    start, stop = min(mine) + 10.0, max(mine)
    whole = int((stop - start) // 10.0)
    counted = [
        r
        for r in requests
        if r.accepted
        and (ours is None or r.ours == ours)
        and start <= r.arrival < start + whole * 10
    ]
    return len(counted) / whole


@pytest.mark.parametrize("arrival_share", [0.05, 0.5, 0.95])
def test_simulated_alone_whole_budget_no_429(arrival_share: float) -> None:
    """Alone on the token, wherever in its trip Trello counts a request: none of ours is
    refused, and it uses over 95 % of Trello's budget (one round trip per slot and window is
    the price)."""
    requests, limiter = _simulate(foreign_per_window=0, arrival_share=arrival_share)
    assert [r for r in requests if not r.accepted] == []
    assert limiter.foreign_seen == 0
    assert _per_window(requests, ours=True) >= 95


@pytest.mark.parametrize(("arrival_share", "jitter"), [(0.5, 0.1), (0.95, 0.3), (0.05, 0.3)])
def test_simulated_second_client_both_keep_going(arrival_share: float, jitter: float) -> None:
    """Another client on the same token sends 20 per window regardless: none of its requests
    and none of ours is refused, ours slow down to what is left, and together they use at
    least the budget less the old margin. (With round trips that vary by up to 150 %, the
    limiter's estimate of its own share in each count is rough, the others' rise from one
    answer to the next looks like bursts of 4 or 5, and little is gained over the margin.)"""
    requests, limiter = _simulate(foreign_per_window=20, arrival_share=arrival_share, jitter=jitter)
    assert [r for r in requests if not r.accepted] == []
    assert limiter.foreign_seen > 0
    theirs, ours = _per_window(requests, ours=False), _per_window(requests, ours=True)
    assert theirs == pytest.approx(20, abs=1)
    assert 60 <= ours <= 78
    assert _per_window(requests, ours=None) >= 85


@pytest.mark.parametrize(("arrival_share", "jitter"), [(0.05, 0.0), (0.5, 0.0), (1.0, 0.0)])
def test_simulated_beside_a_steady_client_together_near_the_budget(
    arrival_share: float, jitter: float
) -> None:
    """A steady client (20 per window) and round trips of a steady 200 ms: once its pace is
    known, only what it may send between two answers and the safety are kept free, not the
    margin: together they use 94 % or more of Trello's budget (90 % with the old fixed margin),
    and nobody is refused."""
    requests, limiter = _simulate(foreign_per_window=20, arrival_share=arrival_share, jitter=jitter)
    assert [r for r in requests if not r.accepted] == []
    assert limiter.foreign_seen > 0
    assert _per_window(requests, ours=False) == pytest.approx(20, abs=1)
    assert _per_window(requests, ours=None) >= 94


@pytest.mark.parametrize("arrival_share", [0.05, 0.5, 1.0])
def test_simulated_a_steady_client_s_one_catch_up_burst_taxes_two_windows_not_the_run(
    arrival_share: float,
) -> None:
    """A steady client (20 per window) stalls for 3 s early on, then sends the 6 it missed at
    once, and is steady again for 30 windows: nobody is refused, and from two windows after
    the burst together they use 92 % or more of Trello's budget, as beside a client that never
    stalled (the burst was kept free for the rest of the run: 87-90 %)."""
    requests, _ = _simulate(
        foreign_per_window=20,
        arrival_share=arrival_share,
        jitter=0.02,
        windows=40,
        stall=(20.0, 3.0),
    )
    assert [r for r in requests if not r.accepted] == []
    start = min(r.arrival for r in requests if r.ours) + 100.0  # the burst ends at 23 s
    late = [r for r in requests if r.arrival >= start]
    assert _per_window(late, ours=None) >= 93


@pytest.mark.parametrize("arrival_share", [0.05, 0.5, 0.95])
def test_simulated_a_bursty_second_client_fits_in_the_margin(arrival_share: float) -> None:
    """The other client sends 30 per window in bursts of 15, one every half window: in Trello's
    count each burst takes the place of the one that leaves as it arrives, so its bursts hardly
    show as a rise, and such a client is not foreseen from the count (limiter.py): the safety
    covers most of the few of a burst that arrive before the one it replaces has left, not all.
    None of ours is refused; of its own 3 to 6 in 950 are (under 1 % in each of 10 seeds). (The
    limiter before bursts were forgotten after two windows refused none at this seed, 9 over
    the 30 runs: the rise of 5 it measured in its first moments was kept for the whole run.)"""
    requests, limiter = _simulate(
        foreign_per_window=30, burst=15, arrival_share=arrival_share, seed=2
    )
    refused = [r for r in requests if not r.accepted]
    assert not any(r.ours for r in refused)
    assert len(refused) <= 0.01 * sum(1 for r in requests if not r.ours)
    assert limiter.foreign_seen > 0
    assert _per_window(requests, ours=True) == pytest.approx(62, abs=2)


@pytest.mark.parametrize("arrival_share", [0.05, 0.5, 0.95])
def test_simulated_bursts_off_the_window_s_beat_are_learnt(arrival_share: float) -> None:
    """The other client sends 24 per window in bursts of 15 (one every 6.25 s): a burst shows
    as the count rising by 15 within a round trip, and 15 are kept free for the two windows
    after each: nobody is refused. (The old fixed margin of 10 let 70 to 90
    of its 750 requests be refused here; over 10 seeds a burst measured answer to answer, not
    over a round trip, let 11 be, none now.) At the end a burst (15, give or take the
    estimate's error of one) and the safety are kept free."""
    requests, limiter = _simulate(
        foreign_per_window=24, burst=15, arrival_share=arrival_share, seed=2
    )
    assert [r for r in requests if not r.accepted] == []
    assert limiter.allowance() <= 100 - 14 - 4
    assert _per_window(requests, ours=False) == pytest.approx(24, abs=1)


def test_simulated_a_little_foreign_traffic_is_seen_too() -> None:
    """Three requests a window from elsewhere are seen (more than the estimate's error): room
    is kept for them, and nobody is refused."""
    requests, limiter = _simulate(foreign_per_window=3)
    assert [r for r in requests if not r.accepted] == []
    assert limiter.foreign_seen > 0
    assert 86 <= _per_window(requests, ours=True) <= 93


# ----------------------------------------------------------------------- the real clock


def test_threads_share_one_budget() -> None:
    """Eight threads on the real clock: 72 requests at 20 per 0.2 s need three more windows,
    and no 0.2 s window holds more than 20 (give or take the scheduler's delay in noting the
    time)."""
    limiter = RateLimiter(20, 0.2, first_alone=False)
    times: list[float] = []
    lock = threading.Lock()

    def work() -> None:
        for _ in range(9):
            slot = limiter.acquire()
            with lock:
                times.append(time.monotonic())
            limiter.release(slot)

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


def test_a_stopped_run_sends_nothing_that_waits_for_its_turn() -> None:
    """``acquire(stop)``: a set ``stop`` refuses a slot at once (``Stopping``, a
    ``KeyboardInterrupt``), and ends a wait for the window (``stop.wait``) or for an answer
    (``wake``) as soon as it is set, instead of sleeping it out."""
    from trello_restore.limiter import Stopping

    stop = threading.Event()
    limiter = RateLimiter(1, 30.0, first_alone=False)
    first = limiter.acquire(stop)

    # Waiting for the request on its way: ``wake`` after ``stop`` ends it.
    def stopping() -> None:
        stop.set()
        limiter.wake()

    threading.Timer(0.05, stopping).start()
    started = time.monotonic()
    with pytest.raises(Stopping):
        limiter.acquire(stop)
    assert time.monotonic() - started < 5
    assert issubclass(Stopping, KeyboardInterrupt)
    with pytest.raises(Stopping):  # already set: refused before any wait
        limiter.acquire(stop)
    # Waiting for the window (its answer in: a finite wait): setting ``stop`` ends it.
    stop.clear()
    limiter.release(first)
    threading.Timer(0.05, stop.set).start()
    started = time.monotonic()
    with pytest.raises(Stopping):
        limiter.acquire(stop)
    assert time.monotonic() - started < 5
    assert limiter.acquired == 1
