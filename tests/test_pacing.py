"""Pacing by Trello's own count, over HTTP (issue 12 item 1).

The sandbox at Trello's limits (100 requests per 10 s per token, 300 per key) and 200 ms of
latency, time-scaled by 10 (a 1 s window), counts requests per token across every client and
answers each with Trello's ``x-rate-limit-api-*`` headers. An apply alone on the token uses
Trello's whole budget and gets no 429; beside a second client on the same token that sends a
fifth of the budget at a steady rate, whatever the headers say, both keep going with no 429 and
together they use about the budget. Figures are printed; only ratios measured in the same run
are asserted, never a time.
"""

from __future__ import annotations

import threading
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from trello_restore.applier import ApplyReport
from trello_restore.errors import ExitCode
from trello_restore.limiter import RateLimiter
from trello_restore.sandbox.scenario import Scenario, generate
from trello_restore.sandbox.server import RequestRecord

from .applykit import (
    api_for,
    apply_doc,
    diff,
    expected,
    fast_options,
    open_journal,
    plan_doc,
    snapshot,
)
from .conftest import Sandbox, SandboxFactory, sandbox_cli

SCALE = 10
WINDOW = 10.0 / SCALE
BUDGET = 100


@dataclass
class SecondClient:
    """Another program on the same token: ``per_window`` GETs of the board's lists per window,
    at a steady rate, ignoring the headers (a thread)."""

    sb: Sandbox
    board_id: str
    per_window: int
    statuses: list[int] = field(default_factory=list)
    _stop: threading.Event = field(default_factory=threading.Event)
    _thread: threading.Thread | None = None

    path = "/1/boards/{}/lists"

    def start(self) -> None:
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        assert self._thread is not None
        self._thread.join(timeout=30)

    def _run(self) -> None:
        session = self.sb.session()
        url = self.sb.base_url + self.path.format(self.board_id)[len("/1") :]
        every = WINDOW / self.per_window
        next_at = time.monotonic()
        while not self._stop.is_set():
            self.statuses.append(session.get(url, timeout=30).status_code)
            next_at += every
            self._stop.wait(max(next_at - time.monotonic(), 0.0))


def _per_window(
    log: list[RequestRecord], ours: list[RequestRecord], skip: int = 0
) -> tuple[float, float, int]:
    """Requests of ours and of everyone per window, over the whole windows from the first of
    ours (``skip`` windows later) to the last (arrival times at the sandbox), and how many
    windows that is."""
    first, last = min(r.at for r in ours) + skip * WINDOW, max(r.at for r in ours)
    whole = int((last - first) // WINDOW)
    assert whole >= 3, "too short a run to measure"
    stop = first + whole * WINDOW

    def rate(records: list[RequestRecord]) -> float:
        accepted = [r for r in records if r.status != 429 and first <= r.at < stop]
        return len(accepted) / whole

    return rate(ours), rate(log), whole


def _peak(records: list[RequestRecord], window: float = WINDOW) -> int:
    """The most accepted requests that arrived within any one window (Trello's sliding
    count): a stall on a loaded machine lowers the average per window, not this."""
    times = sorted(r.at for r in records if r.status != 429)
    start, most = 0, 0
    for end, t in enumerate(times):
        while times[start] <= t - window:
            start += 1
        most = max(most, end - start + 1)
    return most


def _apply(
    sb: Sandbox, s: Scenario, tmp_path: Path, second: SecondClient | None = None
) -> tuple[ApplyReport, RateLimiter, list[RequestRecord]]:
    """Plan option set e of scenario ``s`` (served by ``sb``) over HTTP, let its requests
    leave Trello's window, start ``second`` (a window before the apply), apply with the
    engine's default limits, and check the end state against the ground truth. Returns the
    report, the limiter and the sandbox's log of the apply (and of the second client
    meanwhile)."""
    truth = s.truth("e")
    doc = plan_doc(sb, s, "e")
    before = snapshot(s.world)
    options = fast_options(window_s=WINDOW, backoff_s=0.1)
    limiter = options.make_limiter()
    assert (limiter.limit, limiter.allowance(), limiter.allowance("key")) == (100, 100, 300)
    if second is not None:
        second.start()
    time.sleep(WINDOW * 1.2)
    start = len(sb.server.request_log)
    try:
        with (
            api_for(sb, rate_window_s=WINDOW, backoff_s=0.1, limiter=limiter) as api,
            open_journal(doc, tmp_path / "j.jsonl", api) as journal,
        ):
            report = apply_doc(doc, api, journal, options)
    finally:
        if second is not None:
            second.stop()
    assert report.exit_code == ExitCode.OK
    assert diff(snapshot(s.world), expected(before, truth)) == []
    return report, limiter, sb.server.request_log[start:]


def test_alone_the_apply_uses_trello_s_whole_budget(
    sandbox_factory: SandboxFactory, tmp_path: Path
) -> None:
    """Nobody else on the token: Trello's count agrees with the limiter's all along, the apply
    runs at Trello's full budget (not the old 90) and gets no 429."""
    s = generate(43, 1400)
    sb = sandbox_factory(s, time_scale=SCALE, latency_ms=200)
    report, limiter, log = _apply(sb, s, tmp_path)
    ours, _, whole = _per_window(log, log)
    peak = _peak(log)
    print(
        f"alone: {len(log)} requests, {ours:.1f} per window over {whole} whole windows = "
        f"{ours / BUDGET:.0%} of Trello's budget, at most {peak} in one window; foreign seen "
        f"{limiter.foreign_seen}"
    )
    assert report.rate_limited == 0
    assert not any(r.status == 429 for r in log)
    # Trello's count agrees with the limiter's: only a few stray answers (a scheduling hiccup
    # on a loaded machine is 5 % of a window at this time scale) are read as foreign traffic,
    # at most 1 % of them, each costing the margin for one window. The run is eight windows
    # long so that most windows run without it: a CI run of three windows saw a stray answer
    # in each (3 in 344) and never let more than 91 in one.
    assert limiter.foreign_seen <= len(log) // 100
    # The claim rests on the peak: Trello's whole budget is used in a window (the old margin
    # never let more than 90 in), and never more. The average per window is lowered by every
    # stall of a loaded machine (95-100 % measured on an idle one, 89-92 % with the two cores
    # run four times over), so it is asserted with room.
    assert 95 <= peak <= BUDGET
    assert ours >= 0.85 * BUDGET


def test_beside_a_second_client_both_keep_going(
    sandbox_factory: SandboxFactory, tmp_path: Path
) -> None:
    """A second client on the same token sends 20 requests per window, whatever the headers
    say: the apply sees it in Trello's count and leaves it room, neither gets a 429, and once
    the other's pace is known (the margin is kept for the window after it first shows)
    together they use Trello's budget less only what the other may send between two answers
    and the safety: 91 to 94 % of it measured, where the old fixed margin allowed 90 % at most
    (89 % measured). Asserted here with room for a loaded machine (time-scaled, every local
    stall costs Trello seconds): over 80 % (84-89 % measured with the two cores run four times
    over); the gain over the margin is pinned without timing noise by the simulations in
    test_limiter.py."""
    s = generate(44, 1000)
    sb = sandbox_factory(s, time_scale=SCALE, latency_ms=200)
    second = SecondClient(sb, s.team.id, per_window=20)
    report, limiter, log = _apply(sb, s, tmp_path, second)
    theirs_path = SecondClient.path.format(s.team.id)
    own = [r for r in log if r.path != theirs_path]
    theirs = [r for r in log if r.path == theirs_path]
    assert len(theirs) <= len(second.statuses)  # only the second client reads the lists
    ours, together, whole = _per_window(log, own, skip=1)
    print(
        f"second client: ours {ours:.1f} + theirs {together - ours:.1f} = {together:.1f} per "
        f"window over {whole} whole windows ({together / BUDGET:.0%} of Trello's budget); "
        f"theirs: {len(second.statuses)} requests, {second.statuses.count(429)} 429s; "
        f"foreign seen in {limiter.foreign_seen} answers"
    )
    assert report.rate_limited == 0
    assert not any(r.status == 429 for r in own)
    assert second.statuses.count(429) == 0
    assert limiter.foreign_seen > 0
    assert together - ours >= 0.15 * BUDGET  # the second client kept going
    assert ours <= 0.8 * BUDGET  # the apply left it room
    assert together >= 0.8 * BUDGET


def _a_run_just_before(sb: Sandbox, s: Scenario) -> list[RequestRecord]:
    """Once the window is empty (a plan made before has left it), a run on the same token
    that sends 97 of the 100 requests in a fraction of a window: its log."""
    time.sleep(WINDOW * 1.2)
    session = sb.session()
    url = sb.base_url + SecondClient.path.format(s.team.id)[len("/1") :]
    start = len(sb.server.request_log)
    with ThreadPoolExecutor(24) as pool:
        assert set(pool.map(lambda _: session.get(url, timeout=30).status_code, range(97))) == {200}
    return sb.server.request_log[start:]


def test_an_apply_right_after_another_run_gets_no_429(
    sandbox_factory: SandboxFactory, tmp_path: Path
) -> None:
    """A run just before on the same token (a dry run, then ``apply plan.json`` at once; cron
    after a human) still has its requests in Trello's window when the next run's limiter starts,
    knowing nothing of them. The apply's first request goes alone (the account's), and Trello's
    count in its answer shows the earlier run's requests: the limiter leaves them their room
    until they have left Trello's window, and no request of the apply is refused."""
    s = generate(45, 600)
    sb = sandbox_factory(s, time_scale=SCALE, latency_ms=200)
    truth = s.truth("e")
    doc = plan_doc(sb, s, "e")
    before = snapshot(s.world)
    earlier = _a_run_just_before(sb, s)
    start = len(sb.server.request_log) - len(earlier)
    options = fast_options(window_s=WINDOW, backoff_s=0.1)
    limiter = options.make_limiter()
    with (
        api_for(sb, rate_window_s=WINDOW, backoff_s=0.1, limiter=limiter) as api,
        open_journal(doc, tmp_path / "j.jsonl", api) as journal,
    ):
        report = apply_doc(doc, api, journal, options)
    log = sb.server.request_log[start + len(earlier) :]
    assert _peak(earlier) > 90, "the run before did not fill one window"
    print(f"after a run of 97: {len(log)} requests, {sum(r.status == 429 for r in log)} 429s")
    assert report.exit_code == ExitCode.OK
    assert diff(snapshot(s.world), expected(before, truth)) == []
    assert [r for r in log if r.status == 429] == []
    assert report.rate_limited == 0


def test_a_command_right_after_another_gets_no_429_with_its_account_cached(
    sandbox_factory: SandboxFactory, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """``apply plan.json`` right after a run that used most of the window, its account from
    the HTTP cache (the dry run before read it), so that no account read leads its requests:
    Trello's count in its first answers shows the other run's requests, and the limiter
    leaves them their room; no request of the apply is refused."""
    s = generate(46, 600)
    sb = sandbox_factory(s, time_scale=SCALE, latency_ms=200)
    monkeypatch.setenv("TRELLO_RESTORE_WINDOW_SECONDS", str(WINDOW))
    invoke = sandbox_cli(sb, monkeypatch)
    plan = tmp_path / "plan.json"
    o = s.option_sets()["e"]
    made = invoke(
        "--board", s.team.id, "--since", o.since.isoformat(), "--add-to-board",
        "--dry-run", "--plan-out", str(plan),
    )  # fmt: skip
    assert made.exit_code == 0, made.output
    earlier = len(_a_run_just_before(sb, s))
    start = len(sb.server.request_log) - earlier
    applied = invoke("apply", str(plan), "--yes", "-q")
    log = sb.server.request_log[start + earlier :]
    print(f"after a run of 97: {len(log)} requests, {sum(r.status == 429 for r in log)} 429s")
    assert applied.exit_code == 0, applied.output
    assert [f"{r.method} {r.path}" for r in log if r.status == 429] == []
