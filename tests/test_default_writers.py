"""The default number of writers is enough for the rate limit, not the round trip, to bound an
apply (R75c: with 8 writers, an apply over a 1 s round trip took 1.5 times the rate bound), over
HTTP against the sandbox and as arithmetic."""

from __future__ import annotations

from pathlib import Path

from trello_restore import defaults
from trello_restore.errors import ExitCode
from trello_restore.sandbox.scenario import generate

from .applykit import api_for, apply_doc, fast_options, open_journal, plan_doc
from .conftest import SandboxFactory


def test_the_default_writers_outpace_the_budget_up_to_a_long_round_trip() -> None:
    """A request holds its slot of the budget until a window after its answer, so the budget
    sends at most 100 per (10 s + round trip); the writers, one request each in flight, send
    ``workers`` per round trip. The default keeps the budget the bound up to a 1.5 s round
    trip, and ``--workers`` may ask for more."""
    for round_trip in (0.2, 0.5, 1.0, 1.5):
        budget = defaults.TOKEN_RATE_LIMIT / (defaults.RATE_WINDOW_S + round_trip)
        assert defaults.WORKERS / round_trip > budget, round_trip
    assert defaults.WORKERS < defaults.MAX_WORKERS


def test_the_default_writers_are_in_flight_together_over_a_long_round_trip(
    sandbox_factory: SandboxFactory, tmp_path: Path
) -> None:
    """Over a round trip long against the pace of the budget, the default writers' requests are
    at Trello together, more than the 8 of before (as the sandbox saw them arrive and
    answered them): the round trip does not bound the apply while the budget allows more."""
    s = generate(75, 200)
    sb = sandbox_factory(s, time_scale=100, latency_ms=3000)  # 30 ms on the wire
    doc = plan_doc(sb, s, "b")
    assert len(doc["changes"]) > 100
    start = len(sb.server.request_log)
    with api_for(sb) as api, open_journal(doc, tmp_path / "j.jsonl", api) as journal:
        report = apply_doc(doc, api, journal, fast_options())
    assert report.exit_code == ExitCode.OK
    writes = [r for r in sb.server.request_log[start:] if r.method != "GET"]
    edges = sorted(
        [(r.at, 1) for r in writes] + [(r.at + r.duration_s, -1) for r in writes],
        key=lambda e: (e[0], e[1]),
    )
    in_flight = most = 0
    for _, step in edges:
        in_flight += step
        most = max(most, in_flight)
    assert 8 < most <= defaults.WORKERS, most
