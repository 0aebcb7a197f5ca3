"""The workspace generator (many boards, move incidents between pairs of them) and the long
history knob of the scenario generator (issue 12 item 5): their truth against the generator's
story, and plans made over HTTP with ``--workspace`` / on a long history equal to the truth,
applies giving exactly baseline + truth."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from trello_restore.history import ACTION_FILTER
from trello_restore.plan_request import build_request
from trello_restore.planfile import plan_from_dict, plan_to_dict
from trello_restore.run import make_plan
from trello_restore.sandbox import render
from trello_restore.sandbox.scenario import Scenario, generate
from trello_restore.sandbox.server import SandboxServer
from trello_restore.sandbox.truth import snapshot
from trello_restore.sandbox.workspace import Workspace, generate_workspace
from trello_restore.sandbox.world import Action

from .applykit import NOW, api_for, apply_doc, fast_options, open_journal, plan_doc
from .conftest import SandboxFactory, run_cli
from .truthcheck import assert_plan_is_truth


def _fetched(action: Action) -> bool:
    """An action the fetcher's feed request returns (its member-kind filter)."""
    if action.type in ACTION_FILTER:
        return True
    old = action.data.get("old", {}) if action.type == "updateCard" else {}
    return any(f"updateCard:{name}" in ACTION_FILTER for name in old)


def _expected_from_story(ws: Workspace) -> set[tuple[str, str]]:
    """Set d (every removal since the first incident) from what the generator says it did: each
    member an incident or a deliberate removal took off a card still there, who is not on it
    now and not deactivated."""
    w = ws.world
    removed = {(e.card_id, e.member_id) for i in ws.incidents for e in i.losses}
    removed |= {
        (e.card_id, e.member_id)
        for i in ws.incidents
        for e in i.after
        if e.kind == "remove" and e.card_id is not None and e.member_id is not None
    }
    return {
        (cid, mid)
        for cid, mid in removed
        if cid in w.cards and mid not in w.cards[cid].id_members and mid != ws.deactivated.id
    }


@pytest.mark.parametrize(("seed", "boards", "cards"), [(2, 4, (40, 60)), (5, 6, (20, 80))])
def test_workspace_truth_follows_the_story(seed: int, boards: int, cards: tuple[int, int]) -> None:
    """Every board is in the workspace with its card count, the lead is on every board, each
    incident moves between its own pair of boards after the last one's aftermath, and set d's
    truth (computed from the ledger) is exactly what the generator's story says was lost."""
    ws = generate_workspace(seed, boards, cards, incidents=2)
    assert len(ws.boards) == boards
    assert all(b.id_organization == ws.organization.id for b in ws.boards)
    assert all(b.is_active_member(ws.lead.id) for b in ws.boards)
    assert all(cards[0] <= n <= cards[1] for n in ws.cards.values())
    pairs = [(i.source, i.target) for i in ws.incidents]
    assert len({b for p in pairs for b in p}) == 2 * len(pairs)
    assert ws.incidents[1].at > max(e.at for e in ws.incidents[0].after)
    assert any(not e.logged for i in ws.incidents for e in i.losses) or not any(
        i.losses for i in ws.incidents
    )
    truth = ws.truth("d")
    assert truth.pairs() == _expected_from_story(ws)
    b = ws.truth("b")
    assert b.pairs() <= truth.pairs()
    assert {c.board_id for c in b.changes} <= {i.target for i in ws.incidents} | {
        i.source for i in ws.incidents
    }


@pytest.mark.parametrize("boards", [2, 4, 5])
def test_every_incident_strips_someone_the_plan_it_prints_restores(boards: int) -> None:
    """Each incident's move strips an active member (not only the deactivated one), so the plan
    ``serve`` prints (option set b: ``--removed-by`` the lead) restores someone (R45e: seed 1
    with 4 boards, the default rehearsal, planned "Nothing to re-add")."""
    for seed in range(1, 5):
        ws = generate_workspace(seed, boards)
        for incident in ws.incidents:
            assert any(e.member_id != ws.deactivated.id for e in incident.losses), (seed, boards)
        assert ws.truth("b").changes, (seed, boards)


def test_same_seed_same_workspace() -> None:
    """Two workspaces from the same arguments are identical, action for action."""
    a, b = generate_workspace(3, 3, (20, 30)), generate_workspace(3, 3, (20, 30))
    assert [render.action(a.world, x) for x in a.world.actions] == [
        render.action(b.world, x) for x in b.world.actions
    ]
    assert generate_workspace(4, 3, (20, 30)).world.actions[-1].id != a.world.actions[-1].id


@pytest.mark.parametrize(
    "arguments",
    [
        {"boards": 1},
        {"boards": 4, "cards": (5, 30)},
        {"boards": 4, "cards": (40, 30)},
        {"boards": 4, "incidents": 3},
        {"boards": 4, "incidents": 0},
        {"boards": 4, "unlogged_share": 1.5},
    ],
)
def test_workspace_arguments_are_checked(arguments: dict[str, object]) -> None:
    with pytest.raises(ValueError, match="must be"):
        generate_workspace(1, **arguments)  # type: ignore[arg-type]


def test_workspace_plan_and_apply_over_http_equal_the_truth(
    sandbox_factory: SandboxFactory, tmp_path: Path
) -> None:
    """``--workspace ORG`` (by the workspace's name) plans every board of a four-board
    workspace with two incidents: the plan equals the workspace's truth for sets a, b and d
    exactly; applying set b's plan leaves exactly the baseline with the truth's changes."""
    ws = generate_workspace(2, 4, (40, 60), incidents=2)
    sb = sandbox_factory(ws, time_scale=100)
    docs = {}
    for name in "abd":
        o = ws.option_sets()[name]
        request = build_request(
            boards=(),
            exports=(),
            workspace=ws.organization.name,
            since=o.since.isoformat(),
            until=None,
            now=NOW,
            removed_by=ws.lead.username if o.removed_by else None,
            add_to_board=o.add_to_board,
            api_url=sb.base_url,
            key=sb.key,
            token=sb.token,
        )
        result = make_plan(request, created_at=NOW)
        assert {b for b, _ in result.meta.boards} == set(ws.board_ids)
        truth = ws.truth(name)
        assert truth.changes, "the workspace's incidents restore something"
        assert_plan_is_truth(result.plan, truth)
        docs[name] = plan_to_dict(result.plan, result.meta)
    truth = ws.truth("b")
    assert truth.grants, "members off the target board are granted"
    assert ws.truth("a").blocked
    baseline = snapshot(ws.world)
    with api_for(sb) as api, open_journal(docs["b"], tmp_path / "j.jsonl", api) as journal:
        report = apply_doc(docs["b"], api, journal, fast_options())
    assert report.counts == {"applied": len(truth.changes) + len(truth.grants)}
    assert snapshot(ws.world) == truth.end_state(baseline)


def test_default_scenario_has_no_long_history() -> None:
    """``history_actions=0`` is the scenario as it was; a negative count is refused."""
    a, b = generate(6, 80), generate(6, 80, history_actions=0)
    assert [x.id for x in a.world.actions] == [x.id for x in b.world.actions]
    with pytest.raises(ValueError, match="history_actions"):
        generate(6, 80, history_actions=-1)


def _long(seed: int) -> tuple[Scenario, Scenario]:
    return generate(seed, 60), generate(seed, 60, history_actions=3000)


def test_long_history_adds_fetched_actions_before_the_incident() -> None:
    """About ``history_actions`` more actions the fetcher reads, all on the team board before
    the incident, in pairs that leave every card as it was; the incident itself is unchanged."""
    short, long = _long(11)
    feed = [a for a in long.world.board_feed[long.team.id] if _fetched(a)]
    base = [a for a in short.world.board_feed[short.team.id] if _fetched(a)]
    extra = len(feed) - len(base)
    assert 2700 <= extra <= 3000, extra
    assert max(a.date for a in feed if a.date < long.incident_at) < long.incident_at
    kinds = {a.type for a in feed} - {a.type for a in base}
    assert kinds == set(), "only kinds the board already had: member adds/removals, list moves"
    assert long.incident_at == short.incident_at
    assert len(long.story.incident_losses) == len(short.story.incident_losses)


def test_long_history_plan_over_http_equals_the_truth(sandbox_factory: SandboxFactory) -> None:
    """A plan over HTTP of a board with a long history (several action pages) equals its truth
    for sets b and e (every member ever added: the history's pairs count)."""
    _, s = _long(12)
    sb = sandbox_factory(s, time_scale=100)
    for name in "be":
        plan, _ = plan_from_dict(plan_doc(sb, s, name))
        assert_plan_is_truth(plan, s.truth(name))
    pages = [r for r in sb.server.request_log if r.path.endswith(f"/boards/{s.team.id}/actions")]
    assert len(pages) >= 2 * 3, "each plan read the long feed over several pages"


def test_sandbox_serve_workspace_boards(monkeypatch: pytest.MonkeyPatch) -> None:
    """``sandbox serve --workspace-boards N`` serves the workspace generator's world (its lead's
    key and token on stdout, how to plan it on stderr); ``--second-damage`` with it is a usage
    error."""
    seen: dict[str, Any] = {}

    def fake_serve_forever(self: SandboxServer) -> None:
        seen["world"], seen["options"] = self.world, self.options
        self._close()
        raise KeyboardInterrupt

    monkeypatch.setattr(SandboxServer, "serve_forever", fake_serve_forever)
    args = ["sandbox", "serve", "--seed", "3", "--workspace-boards", "2", "--time-scale", "20"]
    result = run_cli(args)
    assert result.exit_code == 0, result.output
    ws = generate_workspace(3, 2)
    lines = result.stdout.splitlines()
    assert lines[0].startswith("export TRELLO_API_URL=http://127.0.0.1:")
    assert lines[1:] == [f"export TRELLO_API_KEY={ws.key}", f"export TRELLO_TOKEN={ws.token}"]
    world = seen["world"]
    assert [b.id for b in world.boards.values()] == list(ws.board_ids)
    assert seen["options"].time_scale == 20.0
    since = ws.first_incident_at.strftime("%Y-%m-%dT%H:%M:%SZ")
    hint = f"--workspace {ws.organization.name} --since {since} --removed-by {ws.lead.username}"
    assert hint in result.stderr
    refused = run_cli([*args, "--second-damage"])
    assert refused.exit_code == 2
    assert "--second-damage" in refused.output
