"""Time the planner alone on synthetic member actions: CPU seconds and peak memory.

Run as a separate process so that peak memory (ru_maxrss) is the planner's own run:

    python bench/planner_bench.py --actions 1000000

Prints one JSON object. The synthetic board: 30 members, actions / 10 cards, each action adding or
removing a random member (valid sequences), the cutoff in the middle of the history. ``plan_sha256``
is a digest of the whole plan (every change, blocked change and skipped candidate, all fields).

Old against new, on the same machine at the same moment (timing on a shared machine is noisy:
compare the runs of one invocation, never seconds across invocations):

    git worktree add /tmp/old <commit>
    python bench/planner_bench.py --against /tmp/old --repeat 3

runs this same bench on the planner of ``/tmp/old`` and on this checkout's, alternately, each
run in its own process, and prints both, the ratio of their best CPU times and whether the
plans are the same (equal digests).
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import random
import resource
import subprocess
import sys
import time
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


def against(old: Path, actions: int, repeat: int) -> dict[str, object]:
    """This bench on ``old``'s planner and on this checkout's, alternately, ``repeat`` times."""
    runs: dict[str, list[dict[str, object]]] = {"old": [], "new": []}
    for _ in range(repeat):
        for name, tree in (("old", old), ("new", ROOT)):
            env = {**os.environ, "PYTHONPATH": str(tree)}
            out = subprocess.run(
                [sys.executable, __file__, "--actions", str(actions)],
                cwd=tree,
                env=env,
                check=True,
                capture_output=True,
                text=True,
            ).stdout
            runs[name].append(json.loads(out))

    def best(name: str, key: str) -> float:
        return min(float(str(r[key])) for r in runs[name])

    return {
        "old_tree": str(old),
        "runs": runs,
        "old_cpu_s": best("old", "cpu_s"),
        "new_cpu_s": best("new", "cpu_s"),
        "cpu_ratio": round(best("new", "cpu_s") / best("old", "cpu_s"), 2),
        "old_peak_rss_mb": best("old", "peak_rss_mb"),
        "new_peak_rss_mb": best("new", "peak_rss_mb"),
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
    args = parser.parse_args()
    if args.against is not None:
        print(json.dumps(against(args.against.resolve(), args.actions, args.repeat), indent=1))
        return
    history, state, since = synthetic(args.actions)
    rss_before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    cpu = time.process_time()
    wall = time.perf_counter()
    plan = build_plan(history, state, PlanOptions(since=since))
    cpu = time.process_time() - cpu
    wall = time.perf_counter() - wall
    rss_after = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    print(
        json.dumps(
            {
                "member_actions": args.actions,
                "cards": len(state.cards),
                "cpu_s": round(cpu, 2),
                "wall_s": round(wall, 2),
                "peak_rss_mb": round(rss_after / 1024, 1),
                "input_rss_mb": round(rss_before / 1024, 1),
                "changes": len(plan.changes),
                "skipped": len(plan.skipped),
                "plan_sha256": plan_digest(plan),
            }
        )
    )


if __name__ == "__main__":
    main()
