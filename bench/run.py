"""Benchmark trello-restore against Trello's rate limit and the per-card baseline (issue 6).

    python bench/run.py                       # sizes 500, 5000, 20000; writes bench/results.json
    python bench/run.py --sizes 500 --time-scale 20

For each size, one seeded incident scenario is generated twice (identical copies) and served by
two sandboxes with 200 ms latency and Trello's limits (100 requests / 10 s per token, 300 per
key), time-scaled so the run takes minutes. On one copy the per-card baseline runs
(``baseline.py``); on the other, trello-restore plans (dry run: fetch + plan) and applies.
Option set b of the design: ``--since T --removed-by MOVER --add-to-board``.

Figures per approach and phase: requests by endpoint, reads and writes, 429s received, wall time
(in Trello seconds: real seconds x time scale), and the ratio of wall time to the lower bound
``requests / 10`` Trello seconds (Trello's per-token rate). Correctness in the same run: each
copy's final card memberships against the scenario's ground truth (pre-run memberships + the
ground-truth changes). Then the planner alone on synthetic member actions (``planner_bench.py``,
in its own process for a clean peak-memory figure).

Machines are shared and noisy: compare the ratios of one run, not absolute seconds across runs.
"""

from __future__ import annotations

import argparse
import json
import platform
import re
import subprocess
import sys
import tempfile
import time
from collections import Counter
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

from baseline import run_baseline  # noqa: E402

from trello_restore import __version__  # noqa: E402
from trello_restore.api import ApiSettings, TrelloApi  # noqa: E402
from trello_restore.applier import ApplyOptions, apply_plan  # noqa: E402
from trello_restore.fetcher import fetch, resolve_boards  # noqa: E402
from trello_restore.journal import Journal, JournalHeader  # noqa: E402
from trello_restore.limiter import RateLimiter  # noqa: E402
from trello_restore.models import MemberRef, PlanOptions  # noqa: E402
from trello_restore.planfile import PlanMeta, plan_digest, plan_to_dict  # noqa: E402
from trello_restore.planner import build_plan  # noqa: E402
from trello_restore.sandbox.scenario import Scenario, generate  # noqa: E402
from trello_restore.sandbox.server import RequestRecord, SandboxOptions, SandboxServer  # noqa: E402

TRELLO_RATE = 10.0  # requests per Trello second (100 per 10 s per token)
_ID = re.compile(r"^(?:[0-9a-f]{24}|[A-Za-z0-9]{8})$")


def _endpoint(r: RequestRecord) -> str:
    """``GET /1/boards/{id}/actions``: ids and shortLinks in the path become ``{id}``."""
    path = "/".join("{id}" if _ID.match(seg) else seg for seg in r.path.rstrip("/").split("/"))
    return f"{r.method} {path}"


@dataclass
class Phase:
    """One measured phase."""

    name: str
    requests: list[RequestRecord]
    seconds: float  # Trello seconds

    def figures(self) -> dict[str, Any]:
        reads = sum(1 for r in self.requests if r.method == "GET")
        writes = len(self.requests) - reads
        bound = len(self.requests) / TRELLO_RATE
        return {
            "phase": self.name,
            "requests": len(self.requests),
            "reads": reads,
            "writes": writes,
            "http_429": sum(1 for r in self.requests if r.status == 429),
            "wall_trello_s": round(self.seconds, 1),
            "lower_bound_s": round(bound, 1),
            "ratio_to_bound": round(self.seconds / bound, 3) if bound else None,
            "by_endpoint": dict(Counter(_endpoint(r) for r in self.requests)),
        }


def _members(s: Scenario) -> dict[str, frozenset[str]]:
    with s.world.lock:
        return {cid: frozenset(c.id_members) for cid, c in s.world.cards.items()}


def _correctness(s: Scenario, before: dict[str, frozenset[str]], truth: Any) -> dict[str, int]:
    """Final memberships against before + ground truth: what is missing, what is extra."""
    after = _members(s)
    expected = {cid: set(m) for cid, m in before.items()}
    for change in truth.changes:
        expected.setdefault(change.card_id, set()).add(change.member_id)
    missing = sum(len(expected[c] - after.get(c, frozenset())) for c in expected)
    extra = sum(len(after[c] - expected.get(c, set())) for c in after)
    return {
        "expected_restores": len(truth.changes),
        "missing": missing,
        "extra": extra,
        "exact": int(missing == 0 and extra == 0),
    }


def _server(s: Scenario, time_scale: float, latency_ms: float) -> SandboxServer:
    server = SandboxServer(s.world, SandboxOptions(latency_ms=latency_ms, time_scale=time_scale))
    server.start()
    return server


def bench_baseline(seed: int, size: int, time_scale: float, latency_ms: float) -> dict[str, Any]:
    s = generate(seed, size)
    truth = s.truth("b")
    before = _members(s)
    server = _server(s, time_scale, latency_ms)
    try:
        t0 = time.monotonic()
        result = run_baseline(
            server.base_url, s.key, s.token, s.archive.id, s.incident_at, time_scale=time_scale
        )
        seconds = (time.monotonic() - t0) * time_scale
        phase = Phase("per-card loop", list(server.request_log), seconds)
    finally:
        server.stop()
    return {
        "phases": [phase.figures()],
        "write_errors": result.write_errors,
        "correctness": _correctness(s, before, truth),
    }


def bench_restore(
    seed: int, size: int, time_scale: float, latency_ms: float, workdir: Path
) -> dict[str, Any]:
    s = generate(seed, size)
    truth = s.truth("b")
    before = _members(s)
    # The dry run is a few dozen requests: it runs on Trello's own clock (time scale 1), because
    # local work (JSON parsing, planning) is not scaled and would be inflated by the scale.
    server = _server(s, 1.0, latency_ms)
    settings = ApiSettings(
        key=s.key,
        token=s.token,
        api_url=server.base_url,
        limiter=RateLimiter(90, 10.0, key_limit=270),
    )
    phases = []
    try:
        with TrelloApi(settings) as api:
            t0 = time.monotonic()
            me = api.me()
            fetched = fetch(api, resolve_boards(api, [s.team.name]))
            fetch_seconds = time.monotonic() - t0
            cpu = time.process_time()
            options = PlanOptions(
                since=s.incident_at, removed_by=s.mover.username, add_to_board=True
            )
            plan = build_plan(
                fetched.history,
                fetched.state,
                options,
                fetched.members,
                incomplete=fetched.incomplete,
            )
            plan_cpu = time.process_time() - cpu
            seconds = time.monotonic() - t0
        phases.append(Phase("dry run (fetch + plan)", list(server.request_log), seconds))
        meta = PlanMeta(
            tool_version=__version__,
            created_at=datetime.now(UTC),
            api_url=server.base_url,
            account=MemberRef(me["id"], me.get("username", ""), me.get("fullName", "")),
            boards=tuple((b.id, b.name) for b in fetched.boards),
            source="api",
        )
        doc = plan_to_dict(plan, meta)
        server.set_options(time_scale=time_scale)
        server.reset_rate_limits()
        window = 10.0 / time_scale
        mark = len(server.request_log)
        header = JournalHeader(
            plan_digest=plan_digest(doc),
            api_url=server.base_url,
            account_id=me["id"],
            created_at=meta.created_at.isoformat(),
        )
        apply_options = ApplyOptions(window_s=window, backoff_s=0.5 / time_scale, workers=8)
        settings2 = ApiSettings(
            key=s.key,
            token=s.token,
            api_url=server.base_url,
            rate_window_s=window,
            backoff_s=0.5 / time_scale,
            limiter=RateLimiter(90, window, key_limit=270),
        )
        with (
            TrelloApi(settings2) as api2,
            Journal.open(workdir / f"journal-{size}.jsonl", header) as journal,
        ):
            t0 = time.monotonic()
            report = apply_plan(
                plan, meta, api2, journal, apply_options, lock_dir=workdir / "locks"
            )
            seconds = (time.monotonic() - t0) * time_scale
        phases.append(Phase("apply", list(server.request_log[mark:]), seconds))
    finally:
        server.stop()
    return {
        "phases": [p.figures() for p in phases],
        "fetch_seconds": round(fetch_seconds, 2),
        "plan_cpu_seconds": round(plan_cpu, 2),
        "plan": {
            "card_changes": len(plan.card_changes()),
            "board_changes": len(plan.board_changes()),
            "blocked": len(plan.blocked),
            "skipped": len(plan.skipped),
        },
        "apply_counts": report.counts,
        "correctness": _correctness(s, before, truth),
    }


def bench_planner(actions: int) -> dict[str, Any]:
    out = subprocess.run(
        [sys.executable, str(HERE / "planner_bench.py"), "--actions", str(actions)],
        capture_output=True,
        text=True,
        check=True,
    )
    result: dict[str, Any] = json.loads(out.stdout)
    return result


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--sizes", type=int, nargs="+", default=[500, 5000, 20000])
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--time-scale", type=float, default=20.0)
    parser.add_argument("--latency-ms", type=float, default=200.0)
    parser.add_argument("--planner-actions", type=int, default=1_000_000)
    parser.add_argument("--skip-baseline", action="store_true")
    parser.add_argument("--out", type=Path, default=HERE / "results.json")
    args = parser.parse_args()
    results: dict[str, Any] = {
        "date": datetime.now(UTC).isoformat(timespec="seconds"),
        "machine": {
            "platform": platform.platform(),
            "python": platform.python_version(),
            "cpus": __import__("os").cpu_count(),
        },
        "settings": {
            "seed": args.seed,
            "time_scale": args.time_scale,
            "latency_ms": args.latency_ms,
            "option_set": "b: --since T --removed-by MOVER --add-to-board",
        },
        "sizes": {},
    }
    with tempfile.TemporaryDirectory() as tmp:
        for size in args.sizes:
            entry: dict[str, Any] = {}
            print(f"== {size} cards", file=sys.stderr)
            entry["trello_restore"] = bench_restore(
                args.seed, size, args.time_scale, args.latency_ms, Path(tmp)
            )
            print(json.dumps(entry["trello_restore"]["phases"], indent=1)[:2000], file=sys.stderr)
            if not args.skip_baseline:
                entry["baseline"] = bench_baseline(
                    args.seed, size, args.time_scale, args.latency_ms
                )
                print(json.dumps(entry["baseline"]["phases"], indent=1)[:1500], file=sys.stderr)
            results["sizes"][str(size)] = entry
            args.out.write_text(json.dumps(results, indent=2) + "\n")
    print("== planner", file=sys.stderr)
    results["planner"] = bench_planner(args.planner_actions)
    args.out.write_text(json.dumps(results, indent=2) + "\n")
    print(table(results))


def table(results: dict[str, Any]) -> str:
    """A markdown table of the figures."""
    lines = [
        "| cards | approach | phase | reads | writes | 429s | wall (Trello s) | bound (s) "
        "| ratio | correct |",
        "|---:|---|---|---:|---:|---:|---:|---:|---:|---|",
    ]
    for size, entry in results["sizes"].items():
        for name, key in (("trello-restore", "trello_restore"), ("per-card baseline", "baseline")):
            if key not in entry:
                continue
            c = entry[key]["correctness"]
            verdict = "exact" if c["exact"] else f"{c['missing']} missing, {c['extra']} extra"
            for p in entry[key]["phases"]:
                lines.append(
                    f"| {size} | {name} | {p['phase']} | {p['reads']} | {p['writes']} | "
                    f"{p['http_429']} | {p['wall_trello_s']} | {p['lower_bound_s']} | "
                    f"{p['ratio_to_bound']} | {verdict} |"
                )
    if "planner" in results:
        p = results["planner"]
        lines.append("")
        lines.append(
            f"Planner alone: {p['member_actions']:,} member actions on {p['cards']:,} cards: "
            f"{p['cpu_s']} s CPU, peak RSS {p['peak_rss_mb']} MB "
            f"(input alone {p['input_rss_mb']} MB)."
        )
    return "\n".join(lines)


if __name__ == "__main__":
    main()
