"""A machine whose clock is more than a day behind Trello's keeps its history stores (R42b),
over HTTP through the sandbox.

A store whose newest action is dated beyond tomorrow is taken for damaged (it would hide every
later action) and rebuilt. Judged by this machine's clock, every store of a machine two days
behind was "dated in the future": each run rebuilt each store from Trello, warning of the store
each time, though the run had measured the skew. Judged by Trello's clock, it is kept.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

import pytest

from trello_restore.sandbox.scenario import generate

from .conftest import SandboxFactory, sandbox_cli


def test_a_clock_two_days_behind_trellos_keeps_the_stores(
    sandbox_factory: SandboxFactory, monkeypatch: pytest.MonkeyPatch
) -> None:
    s = generate(1, 60)
    s.world.clock = lambda: datetime.now(UTC) + timedelta(days=2)
    with s.world.lock:  # an action dated by Trello's clock: two days ahead of this machine's
        card = next(c for c in s.world.cards.values() if c.id_board == s.team.id and c.id_members)
        s.world.remove_member_from_card(card.id, card.id_members[0], s.mover.id)
    sb = sandbox_factory(s, token_limit=10_000, key_limit=10_000)
    invoke = sandbox_cli(sb, monkeypatch)
    args = ("--board", s.team.id, "--since", "2025-11-02", "--dry-run", "--plan-out", "-")
    plans = []
    for _ in range(3):
        r = invoke(*args)
        assert r.exit_code == 0, r.output
        assert "in the future" not in r.stderr, r.stderr
        plans.append(json.loads(r.stdout))
    cold = json.loads(invoke(*args, "--no-cache").stdout)
    for doc in (*plans, cold):
        doc.pop("created_at")
        doc.pop("clock_skew_s", None)
    assert all(doc == cold for doc in plans)
    sb.server.request_log.clear()
    assert invoke(*args).exit_code == 0
    actions = [r.path for r in sb.server.request_log if r.path.endswith("/actions")]
    assert len(actions) == len(set(actions)), actions  # by the stores' heads: one a board
