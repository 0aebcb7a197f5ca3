"""Time the planner alone on synthetic member actions: CPU seconds and peak memory.

Run as a separate process so that peak memory (ru_maxrss) is the planner's own run:

    python bench/planner_bench.py --actions 1000000

Prints one JSON object. The synthetic board: 30 members, actions / 10 cards, each action adding or
removing a random member (valid sequences), the cutoff in the middle of the history.
"""

from __future__ import annotations

import argparse
import json
import random
import resource
import time
from datetime import UTC, datetime, timedelta
from typing import Literal

from trello_restore.models import (
    BoardState,
    CardState,
    History,
    MemberAction,
    Membership,
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


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--actions", type=int, default=1_000_000)
    args = parser.parse_args()
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
            }
        )
    )


if __name__ == "__main__":
    main()
