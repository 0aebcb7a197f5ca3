"""A killed apply loses nothing and duplicates nothing: the apply runs in a subprocess, is
killed with SIGKILL at seeded random points, and is run again with the same plan and journal;
the sandbox runs in this process, so it outlives every kill and sees every request."""

from __future__ import annotations

import json
import os
import random
import subprocess
from pathlib import Path
from typing import Any

import pytest

from trello_restore.journal import Journal
from trello_restore.planfile import write_plan
from trello_restore.sandbox import endpoints
from trello_restore.sandbox.scenario import generate
from trello_restore.sandbox.world import ALREADY_ON_CARD, TrelloError

from .applykit import apply_command, diff, expected, kill_after_writes, plan_doc, snapshot
from .conftest import SandboxFactory

CARD_ADD = endpoints.Route("POST", "/1/cards/{id}/idMembers")


@pytest.mark.parametrize("seed", [1, 2])
def test_killed_applies_resume_without_duplicates(
    sandbox_factory: SandboxFactory,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    seed: int,
) -> None:
    """Kill the apply with SIGKILL after a seeded random number of writes, several times, then
    let a last run finish: the end state is exactly the ground truth, every change is
    journaled ``applied``, and no card change was sent again after it had succeeded (no
    (card, member) reaches the world after its first success, and Trello's "already on the
    card" never answers one of our POSTs)."""
    s = generate(60 + seed, 600)
    truth = s.truth("b")
    sb = sandbox_factory(s, time_scale=10, latency_ms=200)
    doc = plan_doc(sb, s, "b")
    before = snapshot(s.world)
    plan, journal = tmp_path / "plan.json", tmp_path / "journal.jsonl"
    write_plan(doc, plan)

    # ((card, member), status, Trello's text) of every add the world saw, in its order.
    adds: list[tuple[tuple[str, str], int, str]] = []
    original = endpoints.HANDLERS[CARD_ADD]

    def spy(call: endpoints.Call) -> Any:
        key = (call.path["id"], call.params.get("value", ""))
        try:
            answer = original(call)
        except TrelloError as err:
            adds.append((key, err.status, str(err.body)))
            raise
        adds.append((key, 200, ""))
        return answer

    monkeypatch.setitem(endpoints.HANDLERS, CARD_ADD, spy)
    env = os.environ | {"TRELLO_API_KEY": sb.key, "TRELLO_TOKEN": sb.token}
    command = apply_command(plan, journal, sb)
    total = len(doc["changes"])
    rng = random.Random(seed)
    kills = [rng.randint(1, total // 5) for _ in range(4)]  # writes each killed run gets to send

    killed_at, left_pending = [], []
    for more in kills:
        killed_at.append(kill_after_writes(command, env, sb, more))
        left_pending.append(len(Journal.read(journal).pending()))
    last = subprocess.run(command, env=env, capture_output=True, text=True, timeout=120)
    assert last.returncode == 0, last.stderr
    print(
        f"crash seed {seed}: killed after {killed_at} of {total} writes, leaving "
        f"{left_pending} changes pending; last run {last.stdout.strip()}"
    )
    assert killed_at[-1] < total

    assert diff(snapshot(s.world), expected(before, truth)) == []
    final = Journal.read(journal).latest()
    assert {r.status for r in final.values()} == {"applied"}
    assert len(final) == total
    succeeded: set[tuple[str, str]] = set()
    for key, status, _ in adds:
        assert key not in succeeded, f"{key} was POSTed again after it had succeeded"
        if status == 200:
            succeeded.add(key)
    assert succeeded == {(c.card_id, c.member_id) for c in truth.changes}
    assert not [a for a in adds if a[2] == ALREADY_ON_CARD]
    # A POST the kill cut off before its body was sent is never processed (nor logged).
    assert {status for _, status, _ in adds} == {200}
    assert json.loads(last.stdout)["applied"] + json.loads(last.stdout).get("skipped_done", 0) == (
        total
    )
