"""Fetch and plan over real HTTP against the sandbox: exact plans, no writes, few requests."""

from __future__ import annotations

import gc
import math
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from trello_restore import run as run_module
from trello_restore.api import ApiSettings, TrelloApi
from trello_restore.errors import UsageError
from trello_restore.fetcher import READERS, Fetched, fetch, resolve_boards
from trello_restore.history import ACTION_FILTER
from trello_restore.history_store import HistoryStore
from trello_restore.plan_request import PlanRequest, build_request
from trello_restore.planner import build_plan
from trello_restore.run import PlanResult, make_plan
from trello_restore.sandbox.scenario import Scenario, generate
from trello_restore.sandbox.truth import compute
from trello_restore.sandbox.world import World

from .conftest import Sandbox, SandboxFactory, SmallWorld
from .truthcheck import assert_plan_is_truth, incident_request, plan_options

NOW = datetime(2026, 11, 26, tzinfo=UTC)


def _fetch(sb: Sandbox, board: str, cache: Path | None = None) -> tuple[Fetched, int]:
    settings = ApiSettings(key=sb.key, token=sb.token, api_url=sb.base_url, cache_dir=cache)
    store = HistoryStore(cache) if cache is not None else None
    with TrelloApi(settings) as api:
        fetched = fetch(api, resolve_boards(api, [board]), store=store)
        fetched.history  # noqa: B018 - read (and kept) while the api is open, as a plan does
        if fetched.kept is not None:
            fetched.kept.settle()  # the stores written, as a plan's end waits for them
        return fetched, api.requests_sent


def _check_all_sets(s: Scenario, fetched: Fetched, named: tuple[str, ...] | None = None) -> None:
    """Every reference set's plan is the truth for the boards ``named`` (default: both)."""
    for name in "abcde":
        truth = compute(s.world, s.scope, s.option_sets()[name], named)
        plan = build_plan(
            fetched.history,
            fetched.state,
            plan_options(truth.options),
            fetched.members,
            incomplete=fetched.incomplete,
            named_boards=fetched.named,
        )
        assert_plan_is_truth(plan, truth)


def _matching_actions(world: World, board_id: str) -> int:
    types = {t.split(":")[0] for t in ACTION_FILTER}
    return sum(1 for a in world.board_feed.get(board_id, []) if a.type in types)


@pytest.mark.parametrize(
    ("seed", "cards", "id_cursor", "date_cursor"),
    [
        (11, 40, "exact", "second"),
        (12, 600, "second", "second"),
        (13, 2000, "exact", "exact"),
        (14, 5000, "second", "second"),
    ],
)
def test_plan_over_http_equals_ground_truth(
    sandbox_factory: SandboxFactory, seed: int, cards: int, id_cursor: str, date_cursor: str
) -> None:
    """For every reference option set the plan fetched over HTTP is exactly the ground truth,
    whether action-id and date cursors compare exactly or by second (the incident packs
    removals into single seconds, so a page boundary inside one would lose actions: R31b)."""
    s = generate(seed, cards)
    sb = sandbox_factory(s, id_cursor=id_cursor, date_cursor=date_cursor)
    fetched, _ = _fetch(sb, s.team.name)
    assert {b.id for b in fetched.boards} == set(s.scope)
    assert fetched.incomplete == frozenset()
    _check_all_sets(s, fetched, (s.team.id,))


def test_dry_run_reads_only_and_needs_few_requests(sandbox_factory: SandboxFactory) -> None:
    """A dry run sends no POST/PUT/DELETE, never asks /1/members/{id} (only members/me, once),
    and reads each board's history in at most ceil(actions/1000) pages plus one per date range
    (the ranges are paged concurrently; at most two per reader and listing)."""
    s = generate(21, 3000)
    sb = sandbox_factory(s)
    request = incident_request(s, sb.base_url, sb.key, sb.token, None)
    result = make_plan(request, created_at=NOW)
    assert_plan_is_truth(result.plan, s.truth("a"))
    log = sb.server.request_log
    assert {r.method for r in log} == {"GET"}
    members = [r.path for r in log if r.path.startswith("/1/members/")]
    assert [p for p in members if not p.startswith("/1/members/me")] == []
    assert members.count("/1/members/me") == 1
    assert not any(r.credentials_in_url for r in log)
    for board in s.scope:
        pages = [r for r in log if r.path == f"/1/boards/{board}/actions"]
        bound = math.ceil(_matching_actions(s.world, board) / 1000)
        assert 1 <= len(pages) <= bound + 2 * READERS, (board, len(pages), bound)
    cards = sum(1 for c in s.world.cards.values() if c.id_board in s.scope)
    budget = sum(math.ceil(_matching_actions(s.world, b) / 1000) + 2 * READERS for b in s.scope)
    budget += math.ceil(cards / 1000) + 2 * READERS * len(s.scope) + len(s.scope) + 6  # cards; …
    assert len(log) <= budget
    assert result.requests_sent == len(log)


def test_second_plan_comes_mostly_from_the_cache(
    sandbox_factory: SandboxFactory, tmp_path: Path
) -> None:
    """Re-planning unchanged history through the history store re-reads only the head of each
    feed (a ``since=`` request) and the live state."""
    s = generate(22, 5000)
    sb = sandbox_factory(s)
    first, sent_first = _fetch(sb, s.team.id, tmp_path / "cache")
    second, sent_second = _fetch(sb, s.team.id, tmp_path / "cache")
    assert sent_first == len(sb.server.request_log) - sent_second
    assert sent_second < sent_first / 2
    history_pages = [r for r in sb.server.request_log[sent_first:] if r.path.endswith("/actions")]
    assert len(history_pages) == len(s.scope)  # only the newest page of each board
    assert first.history.member_actions == second.history.member_actions
    _check_all_sets(s, second)


@pytest.mark.parametrize("log_board", ["source", "target"])
def test_either_board_gives_the_same_plan(sandbox_factory: SandboxFactory, log_board: str) -> None:
    """--board naming the archive or the team board, with the incident's removals logged on
    either, reads the same history (the fetcher follows moves both ways) and gives the exact
    plan for the cards in scope: naming the archive board leaves out team cards that never
    moved."""
    s = generate(23, 300, incident_log_board=log_board)  # type: ignore[arg-type]
    sb = sandbox_factory(s)
    via_team, _ = _fetch(sb, s.team.id)
    via_archive, _ = _fetch(sb, s.archive.url)  # by URL
    assert via_team.history.member_actions == via_archive.history.member_actions
    _check_all_sets(s, via_archive, (s.archive.id,))


def test_silent_losses_need_the_history_before_the_move(sandbox_factory: SandboxFactory) -> None:
    """With every removal unlogged, the plan rests on replaying the team board's history."""
    s = generate(24, 200, unlogged_share=1.0)
    sb = sandbox_factory(s)
    fetched, _ = _fetch(sb, s.archive.id)
    truth = s.truth("b")
    assert truth.changes
    assert all(c.evidence == "reconstructed" for c in truth.changes)
    _check_all_sets(s, fetched, (s.archive.id,))


def test_naive_id_paging_would_lose_actions(sandbox_factory: SandboxFactory) -> None:
    """Control: ids compare by second (the sandbox's default, as Trello documents), so paging
    with before=<oldest id> skips the rest of a second; the fetcher's date+1ms paging (above,
    in both id_cursor modes) does not."""
    s = generate(14, 5000)
    sb = sandbox_factory(s)
    session = sb.session()
    params = {"filter": ",".join(ACTION_FILTER), "limit": "1000"}
    seen: set[str] = set()
    before: str | None = None
    while True:
        page = session.get(
            f"{sb.base_url}/boards/{s.archive.id}/actions",
            params=params | ({"before": before} if before else {}),
            timeout=30,
        ).json()
        seen.update(a["id"] for a in page)
        if len(page) < 1000:
            break
        before = page[-1]["id"]
    assert len(seen) < _matching_actions(s.world, s.archive.id)


def test_unreadable_source_board_falls_back_to_card_feeds(sandbox_factory: SandboxFactory) -> None:
    """Cards that arrived with a list from a board this token cannot read: the fetcher warns,
    reads those cards' own feeds (the only per-card requests), plans their recorded removals,
    and marks them incomplete so no reconstructed change rests on missing history."""
    w = World(seed=5)
    lead, ann, bob, boss = (w.add_member(u, u.title()) for u in ("lead", "ann", "bob", "boss"))
    secret = w.create_board("Secret", boss.id)
    target = w.create_board("Target", boss.id)
    for m in (ann, bob):
        w.add_member_to_board(secret.id, m.id, boss.id)
    w.add_member_to_board(target.id, lead.id, boss.id)
    w.add_member_to_board(target.id, ann.id, boss.id)
    lst = w.create_list(secret.id, "Old", boss.id)
    cards = [w.create_card(lst.id, f"C{i}", boss.id) for i in range(3)]
    for c in cards:
        w.add_member_to_card(c.id, ann.id, boss.id)
        w.add_member_to_card(c.id, bob.id, boss.id)
    w.move_list_to_board(lst.id, target.id, boss.id)
    key, token = w.add_credentials(lead.id)
    sb = sandbox_factory(SmallWorld(w, key, token, {}, {}))
    fetched, _ = _fetch(sb, target.id)
    assert [b.id for b in fetched.boards] == [target.id]
    (warning,) = [x for x in fetched.warnings if "cannot read" in x]
    assert f'board "Secret" ({secret.id})' in warning  # named as the moves name it
    assert "left out of the plan" in warning
    assert "add the token's member to that board" in warning
    assert fetched.incomplete == frozenset(c.id for c in cards)
    card_reads = [r.path for r in sb.server.request_log if r.path.startswith("/1/cards/")]
    assert sorted(card_reads) == sorted(f"/1/cards/{c.id}/actions" for c in cards)
    plan = build_plan(
        fetched.history,
        fetched.state,
        build_request(
            boards=(target.id,), exports=(), since="2000-01-01", until=None, now=NOW,
            add_to_board=True, api_url=sb.base_url,
        ).options,
        fetched.members,
        incomplete=fetched.incomplete,
    )  # fmt: skip
    assert {(c.card_id, c.member.id) for c in plan.card_changes()} == {
        (c.id, bob.id) for c in cards
    }
    assert all(c.evidence and c.evidence.kind == "recorded_removal" for c in plan.card_changes())
    assert plan.incomplete == tuple(sorted(c.id for c in cards))


def test_planning_runs_without_the_garbage_collector_and_gives_it_back(
    sandbox_factory: SandboxFactory, monkeypatch: pytest.MonkeyPatch
) -> None:
    """No collector pass in any thread while a plan is made (each walked the whole growing
    history: a quarter of a cold dry run's CPU at 20,000 cards), the same plan, and the
    collector on again afterwards, also when planning fails."""
    s = generate(22, 400)
    sb = sandbox_factory(s)
    inside = [False]
    passes: list[int] = []

    def counted(phase: str, info: dict[str, int]) -> None:
        if phase == "start" and inside[0]:
            passes.append(info["generation"])

    real = run_module._make_plan

    def planning(*args: Any, **kwargs: Any) -> PlanResult:
        inside[0] = True
        try:
            return real(*args, **kwargs)
        finally:
            inside[0] = False

    def request(removed_by: str) -> PlanRequest:
        return build_request(
            boards=(s.team.id,),
            exports=(),
            since=s.incident_at.isoformat(),
            until=None,
            now=NOW,
            removed_by=removed_by,
            api_url=sb.base_url,
            key=sb.key,
            token=sb.token,
        )

    monkeypatch.setattr(run_module, "_make_plan", planning)
    threshold = gc.get_threshold()
    gc.set_threshold(1)  # were the collector on: a pass at nearly every allocation
    gc.callbacks.append(counted)
    try:
        result = make_plan(request(s.mover.username), created_at=NOW)
        enabled_after = gc.isenabled()
        with pytest.raises(UsageError):
            make_plan(request("nobody-at-all"), created_at=NOW)
        enabled_after_error = gc.isenabled()
    finally:
        gc.callbacks.remove(counted)
        gc.set_threshold(*threshold)
    assert passes == []
    assert enabled_after
    assert enabled_after_error
    assert_plan_is_truth(result.plan, s.truth("a"))
