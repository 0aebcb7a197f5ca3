"""Applying through faults (5xx, dropped connections, a 429 storm) and at Trello's rate limits
with Trello's latency: exact results, failures journaled, zero 429s, throughput near the limit."""

from __future__ import annotations

import json
import threading
import time
from pathlib import Path

import pytest

from trello_restore.applier import ApplyReport, ChangeOutcome
from trello_restore.errors import ExitCode, RateLimited
from trello_restore.journal import Journal
from trello_restore.limiter import RateLimiter
from trello_restore.sandbox.scenario import generate

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
from .conftest import SandboxFactory, make_world


def test_faults_and_a_storm_still_give_the_ground_truth(
    sandbox_factory: SandboxFactory, tmp_path: Path
) -> None:
    """10% 5xx answers, 3% dropped connections (half of the faulted writes applied before the
    fault) and a 429 storm started mid-run: whatever is still failing after its retries is in
    the journal as failed, with its status; re-running resumes it; the end state is exact.
    A write whose answer was lost and whose retry says "already on the card" is ``applied``:
    nobody else touches the board, so nothing may come out ``already_satisfied``."""
    s = generate(41, 600)
    truth = s.truth("d")
    sb = sandbox_factory(s, time_scale=100)
    doc = plan_doc(sb, s, "d")
    before = snapshot(s.world)
    sb.server.set_options(error_rate=0.10, drop_rate=0.03, seed=7)
    path = tmp_path / "j.jsonl"
    options = fast_options(max_retries=2)
    seen = 0

    def storm_midway(outcome: ChangeOutcome) -> None:
        nonlocal seen
        seen += 1
        if seen == len(doc["changes"]) // 3:
            sb.server.set_options(storm_s=60.0)  # 0.6 s: longer than the retries last

    runs: list[ApplyReport] = []
    with api_for(sb) as api:
        for _ in range(4):
            with open_journal(doc, path, api) as journal:
                runs.append(
                    apply_doc(doc, api, journal, options, storm_midway if not runs else None)
                )
            if runs[-1].exit_code == ExitCode.OK:
                break
    first = runs[0]
    failed = [o for o in first.outcomes if o.status == "failed"]
    print(
        f"faults: {len(runs)} runs; first: {first.counts}, {first.rate_limited} 429s, "
        f"{first.requests_sent} requests for {len(doc['changes'])} changes"
    )
    assert failed, "the storm outlasts the retries: some changes fail in the first run"
    assert first.rate_limited > 0
    assert {o.http_status for o in failed} <= {429, 500, 502, 503, None}
    assert runs[-1].exit_code == ExitCode.OK
    assert diff(snapshot(s.world), expected(before, truth)) == []
    records = Journal.read(path).records
    journaled_failures = {(r.change_id, r.http_status) for r in records if r.status == "failed"}
    assert {(o.change_id, o.http_status) for o in failed} <= journaled_failures
    final = Journal.read(path).latest()
    assert {r.status for r in final.values()} == {"applied"}
    assert not any(o.status == "already_satisfied" for run in runs for o in run.outcomes)
    assert not any(r.credentials_in_url for r in sb.server.request_log)


def test_a_429_stops_every_thread_for_a_window(sandbox_factory: SandboxFactory) -> None:
    """A 429 answer is counted and penalizes the limiter shared by all sessions of the api:
    the next request, from any thread, waits a window."""
    sb = sandbox_factory(make_world())
    limiter = RateLimiter(90, 0.3)
    with api_for(sb, read_retries=0, limiter=limiter) as api:
        api.me()
        sb.server.set_options(storm_s=0.1)
        with pytest.raises(RateLimited):
            api.get(f"boards/{sb.ids['team']}")
        assert api.rate_limited == 1
        waited: list[float] = []

        def other_thread() -> None:
            start = time.monotonic()
            api.get(f"boards/{sb.ids['team']}")
            waited.append(time.monotonic() - start)

        thread = threading.Thread(target=other_thread)
        thread.start()
        thread.join()
    assert waited[0] >= 0.25
    assert limiter.acquired == 3


def test_a_storm_costs_a_few_429s_per_window(
    sandbox_factory: SandboxFactory, tmp_path: Path
) -> None:
    """A 429 storm: each worker sends about one request per window while it lasts (backing
    off a window after each 429, and held by the shared penalty), never hammering; every
    change is still applied."""
    s = generate(42, 300)
    sb = sandbox_factory(s, time_scale=100)
    doc = plan_doc(sb, s, "d")
    started: list[bool] = []

    def storm_now(outcome: ChangeOutcome) -> None:
        if not started:
            started.append(True)
            sb.server.set_options(storm_s=50.0)  # 0.5 s of 429s: five 0.1 s windows

    workers = 16
    with api_for(sb) as api, open_journal(doc, tmp_path / "j.jsonl", api) as journal:
        report = apply_doc(
            doc, api, journal, fast_options(workers=workers, max_retries=10), storm_now
        )
    assert report.exit_code == ExitCode.OK
    print(f"storm: {report.rate_limited} 429s for {workers} workers over 5 windows")
    assert 0 < report.rate_limited <= workers * (5 + 2)


def test_throughput_at_trello_limits(sandbox_factory: SandboxFactory, tmp_path: Path) -> None:
    """Trello's limits (100 per 10 s per token, 300 per key) and 200 ms latency, time-scaled by
    10: the apply gets no 429 at all and sustains close to the limiter's rate (90 per window),
    latency hidden behind the workers. The share of Trello's per-token limit is printed."""
    s = generate(43, 600)
    sb = sandbox_factory(s, time_scale=10, latency_ms=200)
    doc = plan_doc(sb, s, "e")
    options = fast_options(window_s=1.0, backoff_s=0.1)
    start = len(sb.server.request_log)
    with api_for(sb, rate_window_s=1.0) as api, open_journal(doc, tmp_path / "j.jsonl", api) as j:
        report = apply_doc(doc, api, j, options)
    assert report.exit_code == ExitCode.OK
    assert report.rate_limited == 0
    log = sb.server.request_log[start:]
    assert not any(r.status == 429 for r in log)
    arrivals = sorted(r.at for r in log)
    window = options.window_s
    full = int((arrivals[-1] - arrivals[0]) // window)  # whole windows from the first request
    assert full >= 3
    in_full = sum(1 for t in arrivals if t < arrivals[0] + full * window)
    steady = in_full / (full * window)
    limiter_rate = options.token_limit / window
    share = steady * window / sb.server.options.token_limit
    print(
        f"throughput: {len(arrivals)} requests in {arrivals[-1] - arrivals[0]:.2f} s, "
        f"{steady:.1f}/s over {full} whole windows = {steady / limiter_rate:.0%} of the "
        f"limiter's rate, {share:.0%} of Trello's per-token limit"
    )
    assert steady >= 0.7 * limiter_rate


def test_writes_rate_limited_through_their_retries_stop_the_run(
    sandbox_factory: SandboxFactory, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    """Trello answers every card add 429 (another program has the token's budget): the first
    write that is still refused after its retries stops the run (exit 4, why, the resume
    command), the rest not attempted. It went on change by change, each waiting out its
    retries, for hours at Trello's window, and ended with exit 5 (R37b)."""
    from trello_restore.sandbox import endpoints
    from trello_restore.sandbox.ratelimit import TOKEN_LIMIT_BODY
    from trello_restore.sandbox.world import TrelloError

    from .conftest import sandbox_cli
    from .test_cli_apply import _restore_args

    s = generate(5, 40)
    sb = sandbox_factory(s, latency_ms=0)
    invoke = sandbox_cli(sb, monkeypatch)
    plan = tmp_path / "plan.json"
    made = invoke(*_restore_args(s), "--dry-run", "--plan-out", str(plan))
    assert made.exit_code == 0, made.output
    route = endpoints.Route("POST", "/1/cards/{id}/idMembers")

    def limited(call: endpoints.Call) -> object:
        raise TrelloError(429, TOKEN_LIMIT_BODY)

    monkeypatch.setitem(endpoints.HANDLERS, route, limited)
    monkeypatch.setenv("TRELLO_RESTORE_WINDOW_SECONDS", "0.05")
    monkeypatch.setenv("TRELLO_RESTORE_MAX_RETRIES", "2")
    start = len(sb.server.request_log)
    r = invoke("apply", str(plan), "--yes", "--workers", "2", "--format", "json")
    assert r.exit_code == ExitCode.UNREACHABLE, r.output
    summary = json.loads(r.stdout)
    assert summary["outcome"] == "stopped"
    stopped = summary["apply"]["stopped"]
    assert stopped.startswith("Trello kept rate limiting: a write was answered 429")
    assert summary["apply"]["not_attempted"] > 0
    assert "When Trello works again: run trello-restore apply" in r.stderr
    posts = [x for x in sb.server.request_log[start:] if x.path.endswith("/idMembers")]
    assert len(posts) <= 2 * 3 + 2  # two workers' attempts, give or take one in flight
