"""Time the planner alone on synthetic member actions: its CPU seconds and its own memory.

    python bench/planner_bench.py --actions 1000000 [--calls 3] [--tracemalloc]

Prints one JSON object. The synthetic board: 30 members, actions / 10 cards, each action adding or
removing a random member (valid sequences), the cutoff in the middle of the history. ``plan_sha256``
is a digest of the whole plan (every change, blocked change and skipped candidate, all fields).

The figures, in their own process (nothing else's memory in it):

- ``cpu_s``: the median of ``--calls`` planner calls' CPU seconds (``cpu_s_calls``: each), one
  after the other on the same input, each plan dropped before the next; ``same_plan_each_call``;
- ``input_rss_mb``: the process's peak while the synthetic input was built (its high-water mark
  before planning: the input, not the planner);
- ``rss_before_plan_mb``: the process's resident memory right before the first call (the input,
  held); ``plan_peak_rss_mb``: its peak during that call, the high-water mark reset just before it
  (``/proc/self/clear_refs``); ``planner_own_mb``: the difference, the planner's own peak memory
  (its work and the plan it returns). Null where Linux's ``/proc`` does not allow that;
- ``tracemalloc_peak_mb`` (``--tracemalloc``): the peak of what Python allocated during one more
  call, traced (slower: that call's time is in no CPU figure);
- ``peak_rss_mb``: the process's high-water mark over the timed calls and the input's building,
  for comparison;
- ``load_avg``: the machine's 1-minute load average before and after (timing on a shared machine
  is noisy: compare runs of one invocation, never seconds across invocations).

Old against new, on the same machine at the same moment:

    git worktree add /tmp/old <commit>
    python bench/planner_bench.py --against /tmp/old --repeat 3

runs this same bench on the planner of ``/tmp/old`` and on this checkout's, alternately, each
run in its own process, and prints both, the ratio of their median CPU times and whether the
plans are the same (equal digests).
"""

from __future__ import annotations

import argparse
import gc
import hashlib
import json
import os
import random
import resource
import statistics
import subprocess
import sys
import time
import tracemalloc
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Literal

from trello_restore.models import (
    BoardState,
    CardState,
    History,
    MemberAction,
    Membership,
    Plan,
    PlanOptions,
    State,
)
from trello_restore.planner import build_plan


def synthetic(n_actions: int, seed: int = 1) -> tuple[History, State, datetime]:
    """A history of ``n_actions`` member actions over ``n_actions // 10`` cards."""
    rng = random.Random(seed)
    n_cards = max(1, n_actions // 10)
    members = [f"{i:024x}" for i in range(30)]
    board = "b" * 24
    t0 = datetime(2025, 1, 1, tzinfo=UTC)
    on_card: dict[str, set[str]] = {}
    actions = []
    for i in range(n_actions):
        card = f"{rng.randrange(n_cards):024x}"
        member = rng.choice(members)
        now_on = on_card.setdefault(card, set())
        kind: Literal["add", "remove"] = "remove" if member in now_on else "add"
        (now_on.discard if kind == "remove" else now_on.add)(member)
        actions.append(
            MemberAction(
                id=f"{i:024x}",
                kind=kind,
                date=t0 + timedelta(seconds=i),
                card_id=card,
                member_id=member,
                by=rng.choice(members),
                board_id=board,
            )
        )
    # Now: each card keeps one of its members (the rest were lost silently or removed).
    cards = {
        c: CardState(c, f"card {c[-6:]}", c[-8:], board, "l" * 24, False, tuple(sorted(s))[:1])
        for c, s in on_card.items()
    }
    history = History(tuple(actions), (), {}, (), {}, {})
    state = State(
        {board: BoardState(board, "Bench", {m: Membership(m, "normal") for m in members})}, cards
    )
    return history, state, t0 + timedelta(seconds=n_actions // 2)


def plan_digest(plan: Plan) -> str:
    """A digest of everything the plan decided (each object's every field, in order)."""
    digest = hashlib.sha256()
    for part in (plan.changes, plan.blocked, plan.skipped):
        for item in part:
            digest.update(repr(item).encode())
        digest.update(b"\0")
    return digest.hexdigest()


ROOT = Path(__file__).resolve().parents[1]


def _proc_status() -> dict[str, float]:
    """The process's resident memory now (``VmRSS``) and its high-water mark (``VmHWM``), in
    MB; empty where ``/proc`` does not tell."""
    try:
        text = Path("/proc/self/status").read_text()
    except OSError:
        return {}
    out = {}
    for line in text.splitlines():
        key, _, value = line.partition(":")
        if key in ("VmRSS", "VmHWM"):
            out[key] = int(value.split()[0]) / 1024
    return out


def _reset_peak() -> bool:
    """Reset the process's high-water mark to its resident memory now (Linux: ``5`` to
    ``/proc/self/clear_refs``); whether that was allowed."""
    try:
        Path("/proc/self/clear_refs").write_text("5")
    except OSError:
        return False
    return True


def _mb(value: float | None) -> float | None:
    return None if value is None else round(value, 1)


def measure(n_actions: int, calls: int, traced: bool) -> dict[str, object]:
    """The figures of the module's docstring for ``n_actions`` synthetic member actions."""
    load_before = os.getloadavg()[0]
    history, state, since = synthetic(n_actions)
    options = PlanOptions(since=since)
    gc.collect()  # the input builder's garbage
    status = _proc_status()
    input_peak = status.get("VmHWM", resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024)
    before = status.get("VmRSS")
    own_peak = None
    cpus: list[float] = []
    walls: list[float] = []
    digests: set[str] = set()
    for call in range(calls):
        reset = call == 0 and before is not None and _reset_peak()
        cpu, wall = time.process_time(), time.perf_counter()
        plan = build_plan(history, state, options)
        cpus.append(time.process_time() - cpu)
        walls.append(time.perf_counter() - wall)
        if reset:
            own_peak = _proc_status().get("VmHWM")
        digests.add(plan_digest(plan))
        changes, skipped = len(plan.changes), len(plan.skipped)
        del plan
        gc.collect()
    peak = max(
        input_peak,
        _proc_status().get("VmHWM", 0.0),
        resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
    )
    traced_peak = None
    if traced:
        tracemalloc.start()
        plan = build_plan(history, state, options)
        traced_peak = tracemalloc.get_traced_memory()[1] / 2**20
        tracemalloc.stop()
        digests.add(plan_digest(plan))
        del plan
    return {
        "member_actions": n_actions,
        "cards": len(state.cards),
        "cpu_s": round(statistics.median(cpus), 3),
        "cpu_s_calls": [round(c, 3) for c in cpus],
        "wall_s": round(statistics.median(walls), 2),
        "input_rss_mb": _mb(input_peak),
        "rss_before_plan_mb": _mb(before),
        "plan_peak_rss_mb": _mb(own_peak),
        "planner_own_mb": _mb(own_peak - before if own_peak and before else None),
        "tracemalloc_peak_mb": _mb(traced_peak),
        "peak_rss_mb": _mb(peak),
        "load_avg": [round(load_before, 2), round(os.getloadavg()[0], 2)],
        "changes": changes,
        "skipped": skipped,
        "same_plan_each_call": len(digests) == 1,
        "plan_sha256": min(digests),
    }


def against(old: Path, actions: int, repeat: int, calls: int) -> dict[str, object]:
    """This bench on ``old``'s planner and on this checkout's, alternately, ``repeat`` times
    (each its ``calls`` calls); the medians of the runs' figures."""
    runs: dict[str, list[dict[str, object]]] = {"old": [], "new": []}
    for _ in range(repeat):
        for name, tree in (("old", old), ("new", ROOT)):
            env = {**os.environ, "PYTHONPATH": str(tree)}
            out = subprocess.run(
                [sys.executable, __file__, "--actions", str(actions), "--calls", str(calls)],
                cwd=tree,
                env=env,
                check=True,
                capture_output=True,
                text=True,
            ).stdout
            runs[name].append(json.loads(out))

    def median(name: str, key: str) -> float | None:
        values = [float(str(r[key])) for r in runs[name] if r.get(key) is not None]
        return statistics.median(values) if values else None

    old_cpu, new_cpu = median("old", "cpu_s"), median("new", "cpu_s")
    return {
        "old_tree": str(old),
        "runs": runs,
        "old_cpu_s": old_cpu,
        "new_cpu_s": new_cpu,
        "cpu_ratio": round(new_cpu / old_cpu, 3) if old_cpu and new_cpu else None,
        "old_planner_own_mb": median("old", "planner_own_mb"),
        "new_planner_own_mb": median("new", "planner_own_mb"),
        "same_plan": len({str(r["plan_sha256"]) for rs in runs.values() for r in rs}) == 1,
    }


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--actions", type=int, default=1_000_000)
    parser.add_argument(
        "--against", type=Path, help="a checkout of an older commit: run both, compare"
    )
    parser.add_argument("--repeat", type=int, default=3, help="runs of each with --against")
    parser.add_argument("--calls", type=int, default=3, help="planner calls timed (the median)")
    parser.add_argument(
        "--tracemalloc", action="store_true", help="one more call, traced: Python's own peak"
    )
    args = parser.parse_args()
    if args.calls < 1:
        parser.error("--calls must be at least 1")
    if args.against is not None:
        result = against(args.against.resolve(), args.actions, args.repeat, args.calls)
        print(json.dumps(result, indent=1))
        return
    print(json.dumps(measure(args.actions, args.calls, args.tracemalloc)))


if __name__ == "__main__":
    main()
