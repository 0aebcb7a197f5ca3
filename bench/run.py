"""Benchmark trello-restore against Trello's rate limit and the per-card baseline (issue 6).

    python bench/run.py          # sizes 500, 5000, 20000; writes bench/runs/results-<UTC>.json
    python bench/run.py --sizes 500 --time-scale 20
    python bench/run.py --workspace --long-history   # also the workspace run and the long board

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

``--repeats N`` measures each size's cold dry run and apply (and the workspace's) N times, the
later ones on fresh copies of the generated world; each repeated phase's ``ratio_to_bound`` is
the median of its repeats' (``repeated``), every repeat's figures kept.

``--workspace`` adds a workspace of many boards with move incidents between pairs of them,
planned through ``--workspace ORG`` and applied, checked against its ground truth
(``bench_workspace``); ``--long-history`` adds the 20,000-card board with over 250,000 actions.

Machines are shared and noisy: compare the ratios of one run, not absolute seconds across runs.
"""

from __future__ import annotations

import argparse
import json
import os
import pickle
import platform
import re
import subprocess
import sys
import tempfile
import threading
import time
from collections import Counter
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta
from pathlib import Path
from statistics import median
from typing import Any

import requests

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

from baseline import run_baseline  # noqa: E402

from trello_restore.applier import ApplyOptions  # noqa: E402
from trello_restore.limiter import RateLimiter  # noqa: E402
from trello_restore.models import (  # noqa: E402
    RESTORE_KINDS,
    Plan,
    ValueChange,
)
from trello_restore.plan_request import PlanRequest, build_request  # noqa: E402
from trello_restore.run import (  # noqa: E402
    PlanResult,
    apply_options,
    apply_request,
    make_plan,
    run_apply,
)
from trello_restore.runner_types import ApplyReport  # noqa: E402
from trello_restore.sandbox import truth as truth_module  # noqa: E402
from trello_restore.sandbox.scenario import Scenario, generate  # noqa: E402
from trello_restore.sandbox.server import RequestRecord, SandboxOptions, SandboxServer  # noqa: E402
from trello_restore.sandbox.truth import GroundTruth, OptionSet, State  # noqa: E402
from trello_restore.sandbox.workspace import Workspace, generate_workspace  # noqa: E402
from trello_restore.sandbox.world import World  # noqa: E402

TRELLO_RATE = 10.0  # requests per Trello second (100 per 10 s per token)
#: ``--long-history``: the issue-12 board, 20,000 cards with over 250,000 actions in its feed.
LONG_HISTORY_CARDS = 20_000
LONG_HISTORY_ACTIONS = 200_000
#: The hidden first argument of a child process running the tool (``_in_child``).
CHILD_FLAG = "--tool-child"
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
    #: The tool's own CPU seconds (its process, not the sandbox's), when measured.
    cpu_s: float | None = None

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
            "cpu_s": round(self.cpu_s, 3) if self.cpu_s is not None else None,
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


def _server_for(world: World, time_scale: float, latency_ms: float, port: int = 0) -> SandboxServer:
    """A started sandbox serving ``world`` (any generated world: a scenario's, a workspace's),
    on ``port`` (0: any free one)."""
    options = SandboxOptions(latency_ms=latency_ms, time_scale=time_scale)
    server = SandboxServer(world, options, port=port)
    server.start()
    return server


@dataclass
class Copy:
    """A fresh copy of a size's scenario, served: ``generate`` is deterministic (the same seed
    and size give the same world, ids and dates included), so each call gives an identical
    world as it was before any run. With its ground truth for option set b, the card
    memberships before any write (``_correctness``), and a started sandbox serving it on
    Trello's clock (time scale 1)."""

    scenario: Scenario
    truth: GroundTruth
    before: dict[str, frozenset[str]]
    server: SandboxServer

    @classmethod
    def make(
        cls, seed: int, size: int, latency_ms: float, history_actions: int = 0, port: int = 0
    ) -> Copy:
        s = generate(seed, size, history_actions=history_actions)
        return cls(s, s.truth("b"), _members(s), _server_for(s.world, 1.0, latency_ms, port))


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


def _plan_request(
    server: SandboxServer,
    key: str,
    token: str,
    since: datetime,
    *,
    cache_dir: Path | None,
    boards: tuple[str, ...] = (),
    workspace: str | None = None,
    removed_by: str | None = None,
    restore: tuple[str, ...] = ("members",),
) -> PlanRequest:
    """The planning request the command line makes (``PlanRequest.from_settings``: the
    defaults' rate limits, and the cache directory both for the HTTP cache and for the history
    store), with ``--add-to-board``; ``cache_dir=None`` is ``--no-cache``."""
    request = build_request(
        boards=boards,
        exports=(),
        workspace=workspace,
        since=since.isoformat(),
        until=None,
        now=datetime.now(UTC),
        removed_by=removed_by,
        restore=restore,
        add_to_board=True,
        api_url=server.base_url,
        key=key,
        token=token,
        cache_dir=cache_dir,
    )
    return replace(request, history_dir=cache_dir)


@dataclass
class ToolRun:
    """One run of the tool in its own process (``_child``): what it returned, and its wall
    and CPU seconds (``time.process_time`` of that process: every thread of the tool, none of
    the sandbox's), measured around the call only (start-up and imports left out)."""

    value: Any
    wall_s: float
    cpu_s: float
    #: Limiters the apply made (``ApplyOptions.make_limiter``): answers that showed others.
    foreign_seen: int = 0


def _in_child(job: tuple[Any, ...], workdir: Path) -> ToolRun:
    """Run ``job`` (``("plan", PlanRequest, created_at)`` or ``("apply", ApplyRequest)``) in a
    child process, as a user's command runs beside Trello: the sandbox stays in this process,
    so the tool's CPU is its own and the two do not share an interpreter lock."""
    with tempfile.TemporaryDirectory(dir=workdir) as tmp:
        src, dst = Path(tmp) / "job.pickle", Path(tmp) / "result.pickle"
        src.write_bytes(pickle.dumps(job))
        done = subprocess.run(
            [sys.executable, str(Path(__file__).resolve()), CHILD_FLAG, str(src), str(dst)],
            capture_output=True,
            text=True,
        )
        if done.returncode != 0:
            tail = " | ".join(done.stderr.strip().splitlines()[-5:])
            raise RuntimeError(f"the tool's {job[0]} run failed ({done.returncode}): {tail}")
        value, wall, cpu, foreign = pickle.loads(dst.read_bytes())  # noqa: S301 - our child's
        return ToolRun(value, wall, cpu, foreign)


def _child(src: Path, dst: Path) -> None:
    """The child's side of ``_in_child``: the command line's own entry points (``make_plan``,
    ``run_apply``), timed around the call."""
    job = pickle.loads(src.read_bytes())  # noqa: S301 - our parent wrote it, 0700 dir
    limiters: list[RateLimiter] = []
    make_limiter = ApplyOptions.make_limiter

    def spy(options: ApplyOptions) -> RateLimiter:
        limiter = make_limiter(options)
        limiters.append(limiter)
        return limiter

    ApplyOptions.make_limiter = spy  # type: ignore[method-assign,assignment]
    # The modules the call imports on first use (the HTTP stack: requests-cache, the api),
    # imported before the clock starts: imports are start-up, left out like the rest of it.
    import trello_restore.api
    import trello_restore.fetcher_stored  # noqa: F401

    t0, c0 = time.monotonic(), time.process_time()
    if job[0] == "plan":
        # Without its limiter (threads' locks: not for pickle); the parent reads the plan.
        value: Any = replace(make_plan(job[1], created_at=job[2]), limiter=None)
    else:
        value = run_apply(job[1])
    wall, cpu = time.monotonic() - t0, time.process_time() - c0
    foreign = sum(limiter.foreign_seen for limiter in limiters)
    # A tuple, not a ToolRun: the parent may know this module by another name than __main__.
    dst.write_bytes(pickle.dumps((value, wall, cpu, foreign)))


def plan_in_child(request: PlanRequest, workdir: Path) -> ToolRun:
    """``make_plan`` (a dry run) in its own process; ``value`` is its ``PlanResult``."""
    return _in_child(("plan", request, datetime.now(UTC)), workdir)


def apply_in_child(
    result: PlanResult,
    server: SandboxServer,
    key: str,
    token: str,
    time_scale: float,
    workdir: Path,
    name: str,
) -> ToolRun:
    """``run_apply`` of ``result``'s plan in its own process, with the command line's options
    (``run.apply_options``: the defaults' workers and limits, the window and backoff shrunk by
    ``time_scale``), journal ``journal-<name>.jsonl``; ``value`` is its ``ApplyReport``. As the
    one-step run applies the plan it has just made (``fresh_plan``: no read of the boards'
    actions since the plan, which ``apply PLAN`` makes for a plan that sat: one request more
    per board; R36d found the benchmark timing that path since a9b7a8a, unlike its README)."""
    request = apply_request(
        result.plan,
        result.meta,
        api_url=server.base_url,
        options=replace(apply_options(time_scale=time_scale), fresh_plan=True),
        state_dir=workdir,
        journal=workdir / f"journal-{name}.jsonl",
        key=key,
        token=token,
        lock_dir=workdir / "locks",
    )
    return _in_child(("apply", request), workdir)


def actions_requests(log: list[RequestRecord]) -> dict[str, int]:
    """Requests for action feeds in ``log``, by feed (``boards/<id>``, ``cards/<id>``)."""
    out: Counter[str] = Counter()
    for r in log:
        parts = r.path.strip("/").split("/")
        if parts[-1] == "actions":
            out["/".join(parts[-3:-1])] += 1
    return dict(out)


def new_incident(s: Scenario) -> dict[str, int]:
    """A second move incident after the first run and its apply, as the scenario's own: the
    mover moves a current list of the team board with members on its cards to another board
    (``World.move_list_to_board``: members who are not on it are stripped), a minute after the
    newest action. The destination and list are those whose move strips the most members: the
    roadmap board, as a rule, since the apply granted the archive board to those who lost
    cards there, so a second move there would strip almost no one the plan could restore (the
    roadmap board then comes into the plan's scope through the move, a board the store has not
    seen)."""
    w = s.world
    with w.lock:
        best: tuple[int, str, str] = (-1, "", "")
        for board in (s.archive, s.roadmap):
            there = set(w.boards[board.id].memberships)
            stripped: Counter[str] = Counter()
            for c in w.cards.values():
                if c.id_board == s.team.id and not c.closed:
                    stripped[c.id_list] += len(set(c.id_members) - there)
            list_id, n = stripped.most_common(1)[0]
            best = max(best, (n, board.id, list_id))
        _, board_id, list_id = best
        cards = sum(1 for c in w.cards.values() if c.id_list == list_id)
        moved = w.move_list_to_board(
            list_id, board_id, s.mover.id, w.last_time + timedelta(minutes=1)
        )
    return {
        "to_roadmap": int(board_id == s.roadmap.id),
        "cards_moved": cards,
        "members_stripped": len(moved.removals),
    }


#: The name of the cold dry run's phase (single board), and of its repeats.
COLD = "dry run (fetch + plan), cold"
#: Of each repeat of a repeated phase (``repeated``), the figures kept in its ``repeats`` list.
REPEAT_KEYS = (
    "requests",
    "reads",
    "writes",
    "http_429",
    "wall_trello_s",
    "lower_bound_s",
    "ratio_to_bound",
    "cpu_s",
)


def _timed_plan(
    server: SandboxServer, request: PlanRequest, name: str, workdir: Path
) -> tuple[ToolRun, Phase]:
    """A dry run (``make_plan`` in the tool's own process) as a phase: Trello's rate windows
    reset first (runs minutes apart, as from cron), the requests it made, its wall and CPU."""
    server.reset_rate_limits()
    mark = len(server.request_log)
    run = plan_in_child(request, workdir)
    return run, Phase(name, list(server.request_log[mark:]), run.wall_s, run.cpu_s)


def _scenario_request(server: SandboxServer, s: Scenario, cache_dir: Path | None) -> PlanRequest:
    """Option set b on the scenario's team board, as the command line builds it."""
    return _plan_request(
        server,
        s.key,
        s.token,
        s.incident_at,
        boards=(s.team.id,),
        removed_by=s.mover.username,
        cache_dir=cache_dir,
    )


def _timed_apply(
    server: SandboxServer,
    planned: PlanResult,
    key: str,
    token: str,
    time_scale: float,
    workdir: Path,
    name: str,
) -> tuple[ToolRun, Phase]:
    """``run_apply`` of ``planned`` (``apply_in_child``, journal ``journal-<name>.jsonl``) as the
    phase "apply": the sandbox time-scaled and its windows reset first, back on Trello's clock
    after; the wall time in Trello seconds."""
    server.set_options(time_scale=time_scale)
    server.reset_rate_limits()
    mark = len(server.request_log)
    try:
        run = apply_in_child(planned, server, key, token, time_scale, workdir, name)
    finally:
        server.set_options(time_scale=1.0)
    log = list(server.request_log[mark:])
    return run, Phase("apply", log, run.wall_s * time_scale, run.cpu_s)


def repeated(runs: list[tuple[Phase, dict[str, int]]]) -> dict[str, Any]:
    """One phase measured ``len(runs)`` times in the same run (``--repeats``): the first
    repeat's figures (its requests, reads, writes, bound and endpoints), with ``wall_trello_s``,
    ``ratio_to_bound`` and ``cpu_s`` the MEDIANS of the repeats' own (each repeat's ratio is its
    wall over its own bound), ``ratio_range`` their lowest and highest ratio, and ``repeats``
    every repeat's figures (``REPEAT_KEYS``) with its checks (``exact``: 1 when right). The
    medians are taken of the figures as listed (rounded), so they can be checked from the
    file. One repeat: its own figures, a ``repeats`` list of one."""
    every = []
    for phase, checks in runs:
        f = phase.figures()
        every.append({k: f[k] for k in REPEAT_KEYS} | checks)
    out = runs[0][0].figures()
    ratios = [r["ratio_to_bound"] for r in every if r["ratio_to_bound"] is not None]
    cpus = [r["cpu_s"] for r in every if r["cpu_s"] is not None]
    out["wall_trello_s"] = round(median(r["wall_trello_s"] for r in every), 1)
    out["ratio_to_bound"] = round(median(ratios), 3) if ratios else None
    out["cpu_s"] = round(median(cpus), 3) if cpus else None
    out["ratio_range"] = [min(ratios), max(ratios)] if ratios else None
    out["median_of"] = len(every)
    out["repeats"] = every
    return out


def _cold_checks(plan: Plan, first: Plan, truth: GroundTruth) -> dict[str, int]:
    """A cold repeat's checks: its plan against the ground truth (``plan_against_truth``) and
    equal to the first cold run's (the plan every apply repeat applies)."""
    same = int(plan == first)
    return {"same_plan_as_first": same, "exact": plan_against_truth(plan, truth)["exact"] & same}


def bench_restore(
    seed: int,
    size: int,
    time_scale: float,
    latency_ms: float,
    workdir: Path,
    history_actions: int = 0,
    repeats: int = 1,
) -> dict[str, Any]:
    """Option set b as the command line runs it, each run in its own process: a cold dry run
    (a fresh cache directory: the HTTP cache and the history store built), a re-plan on the
    unchanged history (issue 12: one actions request per board, its wall and CPU time against
    the cold run's), the apply (time-scaled), then a new incident and the plan from the store
    against a cold plan (``--no-cache``). Dry runs run on Trello's own clock (time scale 1),
    because local work (JSON parsing, planning) is not scaled and would be inflated by it;
    each starts with Trello's rate windows empty (runs minutes apart, as from cron).

    ``repeats`` > 1: the cold dry run and the apply are measured that many times
    (``_repeat_restore``: the later ones on fresh copies of the scenario), and reported by
    ``repeated`` (headline: the median); the re-plan and the later phases use the first cold
    run's cache directory and are measured once."""
    first = Copy.make(seed, size, latency_ms, history_actions)
    s, truth, server = first.scenario, first.truth, first.server
    board_actions = len(s.world.board_feed[s.team.id])
    cache = workdir / f"cache-{size}-{history_actions}"
    name = f"{size}-{history_actions}"
    try:
        cold, cold_phase = _timed_plan(server, _scenario_request(server, s, cache), COLD, workdir)
        again, again_phase = _timed_plan(
            server, _scenario_request(server, s, cache), "re-plan, unchanged history", workdir
        )
        applied, apply_phase = _timed_apply(
            server, cold.value, s.key, s.token, time_scale, workdir, name
        )
        correctness = _correctness(s, first.before, truth)
        incident = new_incident(s)
        kept, kept_phase = _timed_plan(
            server, _scenario_request(server, s, cache), "re-plan after a new incident", workdir
        )
        fresh, fresh_phase = _timed_plan(
            server, _scenario_request(server, s, None), "dry run after it, --no-cache", workdir
        )
    finally:
        server.stop()
    plan: Plan = cold.value.plan
    colds = [(cold_phase, _cold_checks(plan, plan, truth))]
    applies = [(apply_phase, {"exact": correctness["exact"]})]
    for i in range(2, repeats + 1):
        c, a = _repeat_restore(
            seed, size, latency_ms, history_actions, time_scale, workdir, server.port, cold, i
        )
        colds.append(c)
        applies.append(a)
    report: ApplyReport = applied.value
    replan = replan_figures(cold, cold_phase, again, again_phase)
    same = bool(replan["same_plan"])
    phases = [repeated(colds), checked(again_phase, same, "same plan"), repeated(applies)]
    kept_same = kept.value.plan == fresh.value.plan
    phases += [checked(kept_phase, kept_same, "= --no-cache plan"), checked(fresh_phase, None, "")]
    return {
        "phases": phases,
        "team_board_actions": board_actions,
        "plan": {
            "card_changes": len(plan.card_changes()),
            "board_changes": len(plan.board_changes()),
            "blocked": len(plan.blocked),
            "skipped": len(plan.skipped),
        },
        "replan": replan,
        "new_incident": {
            **incident,
            "actions_requests": actions_requests(kept_phase.requests),
            "card_changes": len(kept.value.plan.card_changes()),
            "board_changes": len(kept.value.plan.board_changes()),
            "boards": len(kept.value.meta.boards),
            "incremental_equals_cold": int(kept_same),
        },
        "apply_counts": report.counts,
        "correctness": correctness,
        "repeats": _repeats_summary(phases),
    }


def checked(phase: Phase, ok: bool | None, said: str) -> dict[str, Any]:
    """A phase not checked against the ground truth: its figures, with ``checked`` for the
    tables' last column, what it was compared with (``said``, or ``NOT`` that when ``ok`` is
    false; ``ok`` None: compared with nothing). Only the cold dry runs and the applies are
    checked against the truth (R36d: every row showed the apply's "exact")."""
    figures = phase.figures()
    figures["checked"] = said if ok or ok is None else f"NOT {said}"
    return figures


def _repeats_summary(phases: list[dict[str, Any]]) -> dict[str, int]:
    """How many times the repeated phases ran, and whether every repeat of them was exact."""
    runs = [r for p in phases for r in p.get("repeats", ())]
    return {
        "n": max((len(p["repeats"]) for p in phases if "repeats" in p), default=1),
        "all_exact": int(all(r["exact"] for r in runs)),
    }


def _repeat_restore(
    seed: int,
    size: int,
    latency_ms: float,
    history_actions: int,
    time_scale: float,
    workdir: Path,
    port: int,
    first: ToolRun,
    i: int,
) -> tuple[tuple[Phase, dict[str, int]], tuple[Phase, dict[str, int]]]:
    """Repeat ``i`` of ``bench_restore``'s cold dry run and apply, on a fresh copy of the
    scenario (``Copy.make``: the world as it was before the first apply) served on the first
    copy's port, so that the first cold run's plan, made for that API URL, applies to it as
    is. The cold run plans the copy in a fresh cache directory (its plan must equal the first
    one's: the copy is the same world); the apply is the first cold run's plan, its end state
    checked against the copy's ground truth."""
    copy = Copy.make(seed, size, latency_ms, history_actions, port)
    s, server = copy.scenario, copy.server
    cache = workdir / f"cache-{size}-{history_actions}-repeat{i}"
    try:
        cold, cold_phase = _timed_plan(server, _scenario_request(server, s, cache), COLD, workdir)
        name = f"{size}-{history_actions}-repeat{i}"
        _, apply_phase = _timed_apply(
            server, first.value, s.key, s.token, time_scale, workdir, name
        )
    finally:
        server.stop()
    checks = _cold_checks(cold.value.plan, first.value.plan, copy.truth)
    exact = _correctness(s, copy.before, copy.truth)["exact"]
    return (cold_phase, checks), (apply_phase, {"exact": exact})


def replan_figures(
    cold: ToolRun, cold_phase: Phase, again: ToolRun, again_phase: Phase
) -> dict[str, Any]:
    """The re-plan against the cold run (issue 12): actions requests per feed, and wall and
    CPU seconds as a percentage of the cold run's; whether it planned the same."""
    feeds = actions_requests(again_phase.requests)
    return {
        "requests": len(again_phase.requests),
        "cold_requests": len(cold_phase.requests),
        "actions_requests": feeds,
        "max_actions_requests_per_board": max(feeds.values(), default=0),
        # The target is a since= request each: one without it reads the whole feed again.
        "actions_requests_without_since": sum(
            1
            for r in again_phase.requests
            if r.path.rstrip("/").endswith("/actions") and "since" not in r.query_names
        ),
        "wall_s": round(again.wall_s, 3),
        "cpu_s": round(again.cpu_s, 3),
        "cold_wall_s": round(cold.wall_s, 3),
        "cold_cpu_s": round(cold.cpu_s, 3),
        "wall_pct_of_cold": round(100 * again.wall_s / cold.wall_s, 1),
        "cpu_pct_of_cold": round(100 * again.cpu_s / cold.cpu_s, 1),
        "same_plan": int(again.value.plan == cold.value.plan),
    }


def bench_restore_all(
    seed: int, size: int, time_scale: float, latency_ms: float, workdir: Path
) -> dict[str, Any]:
    """Issue 11: ``--restore all`` on the scenario with the second damage (design.md §10.4),
    option set h (``--restore all --since T --add-to-board``, naming the team board). Two dry
    runs on Trello's clock, members only and ``--restore all``, for the reads per board each
    costs; then the ``--restore all`` plan applied at ``time_scale``: writes per change, 429s,
    the ratio to the rate bound, and the end state against the ground truth (the sandbox's
    ledgers, not the planner: baseline + every value and member set back)."""
    s = generate(seed, size, second_damage=True)
    with s.world.lock:
        truth = truth_module.compute(s.world, s.scope, s.option_sets()["h"], (s.team.id,))
    baseline = truth_module.snapshot(s.world)
    server = _server(s, 1.0, latency_ms)
    log = server.request_log
    phases: list[Phase] = []
    reads_per_board: dict[str, float] = {}
    try:
        planned: PlanResult | None = None
        for label, kinds in (("members only", ("members",)), ("--restore all", RESTORE_KINDS)):
            # As a first run of each: a fresh cache directory, Trello's windows empty.
            server.reset_rate_limits()
            mark = len(log)
            run = plan_in_child(
                _plan_request(
                    server,
                    s.key,
                    s.token,
                    s.incident_at,
                    boards=(s.team.id,),
                    restore=tuple(kinds),
                    cache_dir=workdir / f"cache-restore-all-{size}-{kinds[-1]}",
                ),
                workdir,
            )
            planned = run.value
            phase = Phase(f"dry run, {label}", list(log[mark:]), run.wall_s, run.cpu_s)
            phases.append(phase)
            reads_per_board[label] = round(phase.figures()["reads"] / len(planned.meta.boards), 1)
        assert planned is not None
        plan = planned.plan
        values = {
            (c.object_type, c.list_id if c.object_type == "list" else c.card_id, c.field, c.value)
            for c in plan.changes
            if isinstance(c, ValueChange)
        }
        want_values = {(c.object_type, c.object_id, c.field, c.value) for c in truth.value_changes}
        members = plan_against_truth(plan, truth)
        server.set_options(time_scale=time_scale)
        server.reset_rate_limits()
        mark = len(log)
        applied = apply_in_child(
            planned, server, s.key, s.token, time_scale, workdir, f"restore-all-{size}"
        )
        report: ApplyReport = applied.value
        apply_phase = Phase(
            "apply, --restore all", list(log[mark:]), applied.wall_s * time_scale, applied.cpu_s
        )
        phases.append(apply_phase)
    finally:
        server.stop()
    want = truth.end_state(baseline)
    got = truth_module.snapshot(s.world)
    wrong = [k for k in set(want) | set(got) if want.get(k) != got.get(k)]
    writes = apply_phase.figures()["writes"]
    return {
        "phases": [p.figures() for p in phases],
        "reads_per_board": reads_per_board,
        "plan": {
            "changes": len(plan.changes),
            "value_changes": len(values),
            "member_changes": len(plan.card_changes()),
            "board_changes": len(plan.board_changes()),
            "value_skipped": len(plan.value_skipped),
            "unrestorable": len(plan.unrestorable),
        },
        "writes_per_change": round(writes / len(plan.changes), 3) if plan.changes else None,
        "apply_counts": report.counts,
        "correctness": {
            "plan_values_exact": int(values == want_values),
            "plan_members_exact": members["exact"],
            "end_state_keys": len(want),
            "end_state_wrong": len(wrong),
            "exact": int(values == want_values and members["exact"] == 1 and not wrong),
        },
    }


def plan_against_truth(plan: Plan, truth: GroundTruth) -> dict[str, int]:
    """How far a plan is from a ground truth (as ``tests/truthcheck.py`` compares them): card
    changes (with their evidence), grants, blocked and skipped entries the plan lacks
    (``missing``) or has beyond it (``extra``); ``exact`` when both are 0."""
    evidence = {
        c.change_id: (c.evidence.kind, c.evidence.action_id) if c.evidence else ("", None)
        for c in plan.card_changes()
    }
    got: dict[str, set[tuple[str | None, ...]]] = {
        "changes": {(c.card_id, c.member.id, *evidence[c.change_id]) for c in plan.card_changes()},
        "grants": {(c.board_id, c.member.id, c.role) for c in plan.board_changes()},
        "blocked": {(b.change.card_id, b.change.member.id, b.reason) for b in plan.blocked},
        "skipped": {(x.card_id, x.member.id, x.reason, x.action_id) for x in plan.skipped},
    }
    want: dict[str, set[tuple[str | None, ...]]] = {
        "changes": {(c.card_id, c.member_id, c.evidence, c.action_id) for c in truth.changes},
        "grants": {(g.board_id, g.member_id, g.role) for g in truth.grants},
        "blocked": {(b.card_id, b.member_id, "not_board_member") for b in truth.blocked},
        "skipped": {(x.card_id, x.member_id, x.reason, x.action_id) for x in truth.skipped},
    }
    out = {"truth_changes": len(truth.changes), "truth_grants": len(truth.grants)}
    out["missing"] = sum(len(want[k] - got[k]) for k in want)
    out["extra"] = sum(len(got[k] - want[k]) for k in want)
    out["exact"] = int(out["missing"] == 0 and out["extra"] == 0)
    return out


@dataclass
class WorkspaceCopy:
    """A fresh copy of the workspace, served (``generate_workspace`` is deterministic, as
    ``Copy`` says of a scenario): option set b over it, its ground truth, the boards' state
    before any write (``truth.snapshot``), and a started sandbox on Trello's clock."""

    ws: Workspace
    options: OptionSet
    truth: GroundTruth
    baseline: State
    server: SandboxServer

    @classmethod
    def make(
        cls, seed: int, boards: int, cards: tuple[int, int], latency_ms: float, port: int = 0
    ) -> WorkspaceCopy:
        ws = generate_workspace(seed, boards, cards)
        o = ws.option_sets()["b"]
        baseline = truth_module.snapshot(ws.world, ws.board_ids)
        # Unscaled like the single-board dry run: local CPU is not time-scaled.
        server = _server_for(ws.world, 1.0, latency_ms, port)
        return cls(ws, o, ws.truth(o), baseline, server)

    def request(self, cache_dir: Path) -> PlanRequest:
        """``--workspace ORG --since T --removed-by LEAD --add-to-board``, as typed."""
        ws = self.ws
        return _plan_request(
            self.server,
            ws.key,
            ws.token,
            self.options.since,
            workspace=ws.organization.name,
            removed_by=ws.lead.username,
            cache_dir=cache_dir,
        )

    def end_state(self) -> dict[str, int]:
        """Every board's state now against the state before the apply plus the truth."""
        after = truth_module.snapshot(self.ws.world, self.ws.board_ids)
        want = self.truth.end_state(self.baseline)
        wrong = [k for k in set(want) | set(after) if want.get(k) != after.get(k)]
        return {"keys": len(want), "wrong": len(wrong), "exact": int(not wrong)}


def bench_workspace(
    seed: int,
    boards: int,
    cards: tuple[int, int],
    time_scale: float,
    latency_ms: float,
    workdir: Path,
    repeats: int = 1,
) -> dict[str, Any]:
    """The workspace run (issue 12 item 5): ``boards`` boards of ``cards`` cards (a range) in one
    workspace with move incidents between pairs of them, planned through ``--workspace ORG``
    (``run.make_plan``, as the command line plans; option set b over every board) and applied.
    The plan is checked against the workspace's ground truth (``sandbox/workspace.py``: the
    ledger, not the planner), and the boards' end state against the baseline plus the truth.
    ``repeats`` > 1: the cold dry run and the apply are repeated as ``bench_restore``'s are
    (the later ones on fresh copies of the workspace, the first cold run's plan applied)."""
    first = WorkspaceCopy.make(seed, boards, cards, latency_ms)
    ws, truth, server = first.ws, first.truth, first.server
    cache = workdir / "cache-workspace"
    cold_name = "dry run (--workspace), cold"
    try:
        cold, cold_phase = _timed_plan(server, first.request(cache), cold_name, workdir)
        again, again_phase = _timed_plan(
            server, first.request(cache), "re-plan, unchanged history", workdir
        )
        result: PlanResult = cold.value
        plan, meta = result.plan, result.meta
        against_truth = plan_against_truth(plan, truth)
        applied, apply_phase = _timed_apply(
            server, result, ws.key, ws.token, time_scale, workdir, "workspace"
        )
        report: ApplyReport = applied.value
    finally:
        server.stop()
    end_state = first.end_state()
    colds = [(cold_phase, {"same_plan_as_first": 1, "exact": against_truth["exact"]})]
    applies = [(apply_phase, {"exact": end_state["exact"]})]
    for i in range(2, repeats + 1):
        copy = WorkspaceCopy.make(seed, boards, cards, latency_ms, server.port)
        try:
            run, phase = _timed_plan(
                copy.server,
                copy.request(workdir / f"cache-workspace-repeat{i}"),
                cold_name,
                workdir,
            )
            _, again_apply = _timed_apply(
                copy.server, result, ws.key, ws.token, time_scale, workdir, f"workspace-repeat{i}"
            )
        finally:
            copy.server.stop()
        colds.append((phase, _cold_checks(run.value.plan, plan, copy.truth)))
        applies.append((again_apply, {"exact": copy.end_state()["exact"]}))
    with ws.world.lock:
        feed = sum(len(ws.world.board_feed.get(b, ())) for b in ws.board_ids)
    replan = replan_figures(cold, cold_phase, again, again_phase)
    same = bool(replan["same_plan"])
    phases = [repeated(colds), checked(again_phase, same, "same plan"), repeated(applies)]
    return {
        "workspace": {
            "boards": len(ws.boards),
            "cards": sum(ws.cards.values()),
            "cards_per_board": [min(ws.cards.values()), max(ws.cards.values())],
            "board_actions": feed,
            "incidents": len(ws.incidents),
            "incident_losses": sum(len(i.losses) for i in ws.incidents),
        },
        "phases": phases,
        "plan": {
            "boards_in_plan": len(meta.boards),
            "card_changes": len(plan.card_changes()),
            "board_changes": len(plan.board_changes()),
            "blocked": len(plan.blocked),
            "skipped": len(plan.skipped),
        },
        "plan_vs_truth": against_truth,
        "replan": replan,
        "apply_counts": report.counts,
        "end_state": end_state,
        "repeats": _repeats_summary(phases),
    }


class _SecondClient:
    """Another program on the same token (issue 12 item 1): ``per_window`` GETs of a board's
    lists per rate window, at a steady rate, ignoring the rate-limit headers (a thread)."""

    def __init__(
        self, server: SandboxServer, key: str, token: str, board_id: str, per_window: int
    ) -> None:
        self.path = f"/1/boards/{board_id}/lists"
        self._url = server.base_url + self.path[len("/1") :]
        self._auth = f'OAuth oauth_consumer_key="{key}", oauth_token="{token}"'
        self._every = server.options.real(server.options.window_s) / per_window
        self.statuses: list[int] = []
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def __enter__(self) -> _SecondClient:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join(timeout=60)

    def _run(self) -> None:
        with requests.Session() as session:
            session.headers["Authorization"] = self._auth
            next_at = time.monotonic()
            while not self._stop.is_set():
                self.statuses.append(session.get(self._url, timeout=60).status_code)
                next_at += self._every
                self._stop.wait(max(next_at - time.monotonic(), 0.0))


def bench_second_client(
    seed: int, size: int, time_scale: float, latency_ms: float, workdir: Path, share: float
) -> dict[str, Any]:
    """Issue 12 item 1: the apply beside a second client on the same token that sends ``share``
    of Trello's budget (100 per window) at a steady rate, whatever the headers say. Option set
    b planned unscaled as the command line plans (``run.make_plan``), then applied time-scaled
    with the engine's default limits (``ApplyOptions().make_limiter()``: Trello's count rules)
    while the other client runs (from a window before). Figures: the tool's own requests (429s,
    wall, bound = own requests / 10 per s, ratio), both together (bound = all requests / 10 per
    s), the other client's requests and 429s, and the end state against the ground truth."""
    copy = Copy.make(seed, size, latency_ms)
    s, truth, before, server = copy.scenario, copy.truth, copy.before, copy.server
    try:
        planned = plan_in_child(_scenario_request(server, s, None), workdir)
        server.set_options(time_scale=time_scale)
        server.reset_rate_limits()
        window = 10.0 / time_scale
        per_window = max(round(share * TRELLO_RATE * 10), 1)
        with _SecondClient(server, s.key, s.token, s.team.id, per_window) as other:
            time.sleep(window)  # the other client runs a window before the apply starts
            mark = len(server.request_log)
            applied = apply_in_child(
                planned.value, server, s.key, s.token, time_scale, workdir, f"second-client-{size}"
            )
            ended = time.time()
            seconds = applied.wall_s * time_scale
            log = list(server.request_log[mark:])
        report: ApplyReport = applied.value
    finally:
        server.stop()
    own = [r for r in log if r.path != other.path]
    theirs = [r for r in log if r.path == other.path]
    figures = Phase("apply beside a second client", own, seconds, applied.cpu_s).figures()
    together = len(log) / TRELLO_RATE
    # The log also holds the other client's requests while the child starts and exits, outside
    # the timed apply (at 20x a second of start-up is 40 of them): "in_wall" counts only those
    # that arrived in the apply's wall time (the last ``wall_s`` before the child was done).
    in_wall = own + [r for r in theirs if r.at >= ended - applied.wall_s]
    together_in_wall = len(in_wall) / TRELLO_RATE
    return {
        "second_client_share": share,
        "phases": [figures],
        "own": {k: figures[k] for k in ("requests", "http_429", "lower_bound_s", "ratio_to_bound")},
        "together": {
            "requests": len(log),
            "http_429": sum(1 for r in log if r.status == 429),
            "lower_bound_s": round(together, 1),
            "ratio_to_bound": round(seconds / together, 3) if log else None,
        },
        "together_in_wall": {
            "requests": len(in_wall),
            "lower_bound_s": round(together_in_wall, 1),
            "ratio_to_bound": round(seconds / together_in_wall, 3) if in_wall else None,
        },
        "second_client": {
            "requests": len(theirs),
            "http_429": sum(1 for r in theirs if r.status == 429),
            "per_window": per_window,
        },
        "tool_rate_limited": report.rate_limited,
        "foreign_seen": applied.foreign_seen,
        "apply_counts": report.counts,
        "correctness": _correctness(s, before, truth),
    }


def second_client_table(results: dict[str, Any]) -> str:
    """A markdown table of the apply beside a second client ("" without any)."""
    sizes = results["sizes"].items()
    rows = [(size, e["second_client"]) for size, e in sizes if "second_client" in e]
    if not rows:
        return ""
    lines = [
        "The apply beside a second client on the same token (issue 12 item 1): 429s and the "
        "ratio of wall time to the rate bound of the tool's own requests and of both together.",
        "",
        "| cards | other's share | own requests | own 429s | other's requests | other's 429s "
        "| wall (Trello s) | own ratio | together ratio | correct |",
        "|---:|---:|---:|---:|---:|---:|---:|---:|---:|---|",
    ]
    for size, r in rows:
        c = r["correctness"]
        verdict = "exact" if c["exact"] else f"{c['missing']} missing, {c['extra']} extra"
        lines.append(
            f"| {size} | {r['second_client_share']:.0%} | {r['own']['requests']} | "
            f"{r['own']['http_429']} | {r['second_client']['requests']} | "
            f"{r['second_client']['http_429']} | {r['phases'][0]['wall_trello_s']} | "
            f"{r['own']['ratio_to_bound']} | {r['together']['ratio_to_bound']} | {verdict} |"
        )
    return "\n".join(lines)


def bench_planner(actions: int, processes: int = 1) -> dict[str, Any]:
    """``planner_bench.py`` on ``actions`` synthetic member actions, in ``processes`` processes
    of its own one after the other (``--repeats``): the first one's figures (memory, the plan's
    digest; traced with ``--tracemalloc``), with ``cpu_s`` the median of the processes' own
    medians (``cpu_s_processes``: each). A process's CPU time moves by more than its calls' do
    (the same commit measured 2.4 and 3.3 s in two processes minutes apart): the median of
    several is the figure. Every process must plan the same (``same_plan_each_process``)."""
    runs: list[dict[str, Any]] = []
    for i in range(processes):
        out = subprocess.run(
            [
                sys.executable,
                str(HERE / "planner_bench.py"),
                "--actions",
                str(actions),
                *(["--tracemalloc"] if i == 0 else []),
            ],
            capture_output=True,
            text=True,
            check=True,
        )
        runs.append(json.loads(out.stdout))
    result: dict[str, Any] = dict(runs[0])
    cpus = [float(r["cpu_s"]) for r in runs]
    result["cpu_s"] = round(median(cpus), 3)
    result["cpu_s_processes"] = cpus
    result["median_of_processes"] = len(runs)
    result["same_plan_each_process"] = len({r["plan_sha256"] for r in runs}) == 1
    return result


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument(
        "--sizes", type=int, nargs="*", default=[500, 5000, 20000], help="none: skip them"
    )
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--time-scale", type=float, default=20.0)
    parser.add_argument("--latency-ms", type=float, default=200.0)
    parser.add_argument("--planner-actions", type=int, default=1_000_000, help="0: skip")
    parser.add_argument("--skip-baseline", action="store_true")
    parser.add_argument(
        "--skip-restore-all",
        action="store_true",
        help="skip the --restore all run on the scenario with the second damage (issue 11)",
    )
    parser.add_argument(
        "--second-client-share",
        type=float,
        default=0.2,
        help="each size's apply once more beside a second client on the same token sending "
        "this share of Trello's budget (issue 12; default 0.2; 0: skip)",
    )
    parser.add_argument(
        "--repeats",
        type=int,
        default=1,
        metavar="N",
        help="measure each size's cold dry run and apply N times (the workspace's too), the "
        "later ones on fresh copies of the scenario; tables and each phase's ratio_to_bound "
        "give the median (default 1)",
    )
    add_extra_arguments(parser)
    parser.add_argument(
        "--out",
        type=Path,
        default=None,
        help="where the results go (default: bench/runs/results-<UTC time>.json; the reference "
        "figures the README quotes are bench/results.json, replaced only when named here)",
    )
    args = parser.parse_args()
    if args.repeats < 1:
        parser.error("--repeats must be 1 or more")
    started = datetime.now(UTC)
    if args.out is None:
        args.out = HERE / "runs" / f"results-{started:%Y%m%dT%H%M%SZ}.json"
    args.out.parent.mkdir(parents=True, exist_ok=True)
    print(f"Results go to {args.out}", file=sys.stderr)
    results: dict[str, Any] = {
        "date": started.isoformat(timespec="seconds"),
        "commit": _commit(),
        "load_avg_1min_before": round(os.getloadavg()[0], 2),
        "machine": {
            "platform": platform.platform(),
            "python": platform.python_version(),
            "cpus": os.cpu_count(),
        },
        "settings": {
            "seed": args.seed,
            "time_scale": args.time_scale,
            "latency_ms": args.latency_ms,
            "option_set": "b: --since T --removed-by MOVER --add-to-board",
            "repeats": args.repeats,
        },
        "sizes": {},
    }
    with tempfile.TemporaryDirectory() as tmp:
        for size in args.sizes:
            entry: dict[str, Any] = {}
            print(f"== {size} cards", file=sys.stderr)
            entry["trello_restore"] = bench_restore(
                args.seed,
                size,
                args.time_scale,
                args.latency_ms,
                Path(tmp),
                repeats=args.repeats,
            )
            print(json.dumps(entry["trello_restore"]["phases"], indent=1)[:2000], file=sys.stderr)
            if not args.skip_baseline:
                entry["baseline"] = bench_baseline(
                    args.seed, size, args.time_scale, args.latency_ms
                )
                print(json.dumps(entry["baseline"]["phases"], indent=1)[:1500], file=sys.stderr)
            if not args.skip_restore_all:
                entry["restore_all"] = bench_restore_all(
                    args.seed, size, args.time_scale, args.latency_ms, Path(tmp)
                )
                print(json.dumps(entry["restore_all"], indent=1)[:2500], file=sys.stderr)
            if args.second_client_share:
                entry["second_client"] = bench_second_client(
                    args.seed,
                    size,
                    args.time_scale,
                    args.latency_ms,
                    Path(tmp),
                    args.second_client_share,
                )
                print(json.dumps(entry["second_client"], indent=1)[:2000], file=sys.stderr)
            results["sizes"][str(size)] = entry
            args.out.write_text(json.dumps(results, indent=2) + "\n")
        run_extras(args, results, Path(tmp))
    if args.planner_actions:
        print("== planner", file=sys.stderr)
        results["planner"] = bench_planner(args.planner_actions, args.repeats)
    results["load_avg_1min_after"] = round(os.getloadavg()[0], 2)
    args.out.write_text(json.dumps(results, indent=2) + "\n")
    print(f"Results written to {args.out}", file=sys.stderr)
    print(table(results))
    print(replan_table(results))
    print(restore_all_table(results))
    print(second_client_table(results))
    print(workspace_table(results))


def _commit() -> str | None:
    """The checkout's commit (``+`` when it has changes not committed), if it is one."""
    try:
        head = subprocess.run(
            ["git", "rev-parse", "--short", "HEAD"], cwd=HERE, capture_output=True, text=True
        )
        dirty = subprocess.run(
            ["git", "status", "--porcelain", "--", "trello_restore", "bench/*.py"],
            cwd=HERE.parent,
            capture_output=True,
            text=True,
        )
    except OSError:
        return None
    if head.returncode != 0:
        return None
    return head.stdout.strip() + ("+" if dirty.stdout.strip() else "")


def add_extra_arguments(parser: argparse.ArgumentParser) -> None:
    """The long-history board and the workspace run (issue 12): off unless asked for."""
    parser.add_argument(
        "--long-history",
        action="store_true",
        help=f"also the {LONG_HISTORY_CARDS:,}-card board with {LONG_HISTORY_ACTIONS:,} more "
        "actions (over 250,000 in its feed): dry run and apply, no baseline",
    )
    parser.add_argument(
        "--workspace",
        action="store_true",
        help="also the workspace run: --workspace-boards boards planned and applied through "
        "--workspace ORG",
    )
    parser.add_argument("--workspace-boards", type=int, default=50)
    parser.add_argument(
        "--workspace-cards", type=int, nargs=2, default=[100, 2000], metavar=("MIN", "MAX")
    )


def run_extras(args: argparse.Namespace, results: dict[str, Any], workdir: Path) -> None:
    """``--long-history`` and ``--workspace``, into ``results`` (written to ``args.out``)."""
    if args.long_history:
        name = f"{LONG_HISTORY_CARDS} (long history)"
        print(f"== {name}", file=sys.stderr)
        entry = bench_restore(
            args.seed,
            LONG_HISTORY_CARDS,
            args.time_scale,
            args.latency_ms,
            workdir,
            history_actions=LONG_HISTORY_ACTIONS,
            repeats=args.repeats,
        )
        print(json.dumps(entry["phases"], indent=1)[:2000], file=sys.stderr)
        results["sizes"][name] = {"trello_restore": entry}
        args.out.write_text(json.dumps(results, indent=2) + "\n")
    if args.workspace:
        low, high = args.workspace_cards
        print(
            f"== workspace: {args.workspace_boards} boards of {low}-{high} cards", file=sys.stderr
        )
        results["workspace"] = bench_workspace(
            args.seed,
            args.workspace_boards,
            (low, high),
            args.time_scale,
            args.latency_ms,
            workdir,
            repeats=args.repeats,
        )
        print(json.dumps(results["workspace"], indent=1)[:3000], file=sys.stderr)
        args.out.write_text(json.dumps(results, indent=2) + "\n")


def workspace_table(results: dict[str, Any]) -> str:
    """A markdown table of the workspace run ("" without one)."""
    if "workspace" not in results:
        return ""
    w = results["workspace"]
    shape = w["workspace"]
    checked, end = w["plan_vs_truth"], w["end_state"]
    verdict = (
        "exact"
        if checked["exact"]
        else f"plan: {checked['missing']} missing, {checked['extra']} extra"
    )
    if not end["exact"]:
        verdict += f"; end state: {end['wrong']} wrong"
    lines = [
        f"Workspace: {shape['boards']} boards, {shape['cards']:,} cards "
        f"({shape['cards_per_board'][0]:,}-{shape['cards_per_board'][1]:,} per board), "
        f"{shape['board_actions']:,} actions, {shape['incidents']} incidents.",
        "",
        "| phase | reads | writes | 429s | wall (Trello s) | bound (s) | ratio | correct |",
        "|---|---:|---:|---:|---:|---:|---:|---|",
    ]
    for p in w["phases"]:
        lines.append(
            f"| {p['phase']} | {p['reads']} | {p['writes']} | {p['http_429']} | "
            f"{p['wall_trello_s']} | {p['lower_bound_s']} | {ratio_cell(p)} | "
            f"{repeats_verdict(p, p.get('checked', verdict))} |"
        )
    return "\n".join(lines + repeats_note(results))


def ratio_cell(p: dict[str, Any]) -> str:
    """A phase's ratio for a table: over several repeats the median and its range, as
    ``1.031 (1.022-1.050)``; else its one figure."""
    low_high = p.get("ratio_range")
    if p.get("median_of", 1) > 1 and low_high:
        return f"{p['ratio_to_bound']:.3f} ({low_high[0]:.3f}\u2013{low_high[1]:.3f})"
    return str(p["ratio_to_bound"])


def repeats_verdict(p: dict[str, Any], verdict: str) -> str:
    """``verdict``, and which repeats of the phase were not exact, if any."""
    wrong = [str(i) for i, r in enumerate(p.get("repeats", ()), 1) if not r["exact"]]
    return verdict + (f"; repeat {', '.join(wrong)} NOT exact" if wrong else "")


def repeats_note(results: dict[str, Any]) -> list[str]:
    """A line under a table saying what its repeated phases' figures are (none for one run)."""
    n = results.get("settings", {}).get("repeats", 1)
    if n <= 1:
        return []
    return [
        "",
        f"Cold dry runs and applies measured {n} times: wall, CPU and ratio are medians, the "
        "ratio's range in brackets; requests and bound are the first repeat's.",
    ]


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
                    f"{ratio_cell(p)} | {repeats_verdict(p, p.get('checked', verdict))} |"
                )
    lines += repeats_note(results)
    if "planner" in results:
        p = results["planner"]
        lines.append("")
        lines.append(
            f"Planner alone: {p['member_actions']:,} member actions on {p['cards']:,} cards: "
            f"{p['cpu_s']} s CPU ({_planner_median(p)}), "
            f"its own memory {p.get('planner_own_mb')} MB (peak during planning "
            f"{p.get('plan_peak_rss_mb')} MB over {p.get('rss_before_plan_mb')} MB held before "
            f"it); the process's peak {p['peak_rss_mb']} MB (building the input alone "
            f"{p['input_rss_mb']} MB)."
        )
    return "\n".join(lines)


def _planner_median(p: dict[str, Any]) -> str:
    """What the planner's CPU figure is the median of."""
    calls = len(p.get("cpu_s_calls", [p["cpu_s"]]))
    each = p.get("cpu_s_processes")
    if not each or len(each) < 2:
        return f"median of {calls} calls"
    return (
        f"median of {len(each)} processes, each the median of its {calls} calls: "
        + ", ".join(f"{c:g}" for c in each)
        + ("" if p.get("same_plan_each_process", True) else "; NOT the same plan in each")
    )


def replan_table(results: dict[str, Any]) -> str:
    """A markdown table of the re-plans (issue 12): unchanged history against the cold run,
    and the plan from the store after a new incident against a cold plan ("" without any)."""
    rows = [
        (size, e["trello_restore"]) for size, e in results["sizes"].items() if "trello_restore" in e
    ]
    if "workspace" in results:
        rows.append(("workspace", results["workspace"]))
    if not rows:
        return ""
    lines = [
        "Re-plan on unchanged history against the cold dry run (both with the cache directory, "
        "the tool's own CPU), and after a new incident the plan from the store against a cold "
        "plan (`--no-cache`).",
        "",
        "| cards | requests cold / re-plan | actions requests per board (max) | wall cold (s) "
        "| wall re-plan (s) | wall % | CPU cold (s) | CPU re-plan (s) | CPU % | same plan "
        "| new incident: stripped | incremental == cold |",
        "|---|---:|---:|---:|---:|---:|---:|---:|---:|---|---:|---|",
    ]
    for size, r in rows:
        q = r["replan"]
        new = r.get("new_incident")
        lines.append(
            f"| {size} | {q['cold_requests']} / {q['requests']} | "
            f"{q['max_actions_requests_per_board']}"
            f"{_without_since(q)} | {q['cold_wall_s']} | {q['wall_s']} | "
            f"{q['wall_pct_of_cold']} | {q['cold_cpu_s']} | {q['cpu_s']} | "
            f"{q['cpu_pct_of_cold']} | {'yes' if q['same_plan'] else 'NO'} | "
            + (
                f"{new['members_stripped']} | {'yes' if new['incremental_equals_cold'] else 'NO'} |"
                if new
                else "- | - |"
            )
        )
    return "\n".join(lines)


def _without_since(replan: dict[str, Any]) -> str:
    """`` (N without since=!)`` when the re-plan read any actions feed whole (not in results
    from before the figure was kept)."""
    n = replan.get("actions_requests_without_since", 0)
    return f" ({n} without since=!)" if n else ""


def restore_all_table(results: dict[str, Any]) -> str:
    """A markdown table of the ``--restore all`` runs ("" without any)."""
    rows = [(size, e["restore_all"]) for size, e in results["sizes"].items() if "restore_all" in e]
    if not rows:
        return ""
    lines = [
        "`--restore all` with the second damage (set h): reads per board, members only vs all "
        "kinds; the apply's writes per change, 429s and ratio to the rate bound.",
        "",
        "| cards | reads/board members | reads/board all | changes | writes/change | 429s "
        "| wall (Trello s) | bound (s) | ratio | correct |",
        "|---:|---:|---:|---:|---:|---:|---:|---:|---:|---|",
    ]
    for size, r in rows:
        apply = r["phases"][-1]
        c = r["correctness"]
        verdict = "exact" if c["exact"] else f"{c['end_state_wrong']} values wrong"
        lines.append(
            f"| {size} | {r['reads_per_board']['members only']} | "
            f"{r['reads_per_board']['--restore all']} | {r['plan']['changes']} | "
            f"{r['writes_per_change']} | {apply['http_429']} | {apply['wall_trello_s']} | "
            f"{apply['lower_bound_s']} | {apply['ratio_to_bound']} | {verdict} |"
        )
    return "\n".join(lines)


if __name__ == "__main__":
    if len(sys.argv) == 4 and sys.argv[1] == CHILD_FLAG:
        _child(Path(sys.argv[2]), Path(sys.argv[3]))
    else:
        main()
