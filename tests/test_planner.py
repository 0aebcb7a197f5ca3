"""The planner against sandbox ground truth, fed with the JSON Trello would return."""

from __future__ import annotations

from dataclasses import replace

import pytest

from trello_restore.history import parse_board, parse_card, parse_history
from trello_restore.models import History, State
from trello_restore.planner import build_plan
from trello_restore.sandbox import render
from trello_restore.sandbox.scenario import Scenario, generate
from trello_restore.sandbox.truth import GroundTruth

from .truthcheck import assert_plan_is_truth, plan_options


def _inputs(s: Scenario) -> tuple[History, State]:
    """The scope boards' feeds, cards (all, archived included) and memberships, as JSON."""
    w = s.world
    actions = [render.action(w, a) for bid in s.scope for a in reversed(w.board_feed[bid])]
    cards = [render.card(c) for c in w.cards.values() if c.id_board in s.scope]
    boards = {
        bid: parse_board(
            render.board(w, w.boards[bid]),
            [render.membership(m) for m in w.boards[bid].memberships.values()],
            [render.trello_list(x) for x in w.lists_on_board(bid)],
        )
        for bid in s.scope
    }
    state = State(boards=boards, cards={c["id"]: parse_card(c) for c in cards})
    return parse_history(actions), state


def _assert_plan_is_truth(
    s: Scenario, truth: GroundTruth, *, removal_skips_only: bool = False
) -> None:
    history, state = _inputs(s)
    plan = build_plan(history, state, plan_options(truth.options))
    removals = {a.id for a in history.member_actions if a.kind == "remove"}
    assert_plan_is_truth(plan, truth, removal_ids=removals if removal_skips_only else None)


@pytest.mark.parametrize(("seed", "cards"), [(1, 20), (2, 200), (3, 1000), (4, 5000)])
@pytest.mark.parametrize("name", ["a", "b", "c", "d", "e"])
def test_plan_equals_ground_truth(seed: int, cards: int, name: str) -> None:
    """For each reference option set, the plan is exactly the ground truth."""
    s = generate(seed, cards)
    _assert_plan_is_truth(s, s.truth(name))


@pytest.mark.parametrize("log_board", ["source", "target"])
def test_plan_does_not_depend_on_where_removals_are_logged(log_board: str) -> None:
    """Removals logged on the source or the archive board give the same plan."""
    s = generate(6, 300, incident_log_board=log_board)  # type: ignore[arg-type]
    for name in "abd":
        _assert_plan_is_truth(s, s.truth(name))


def test_cause_move_and_window_filters() -> None:
    """--cause move keeps the move's removals; --until before the incident plans nothing of it.

    With --until, only recorded removals can be placed in time: a silent loss has no date, so
    reconstructed changes ignore --until (documented); the comparison uses --only-recorded."""
    s = generate(7, 400)
    base = s.option_sets()["d"]
    _assert_plan_is_truth(s, s.truth(replace(base, name="cause", cause="move")))
    early = replace(base, name="until", until=s.incident_at, only_recorded=True)
    truth = s.truth(early)
    assert not any(c.evidence == "recorded_removal" for c in truth.changes)
    _assert_plan_is_truth(s, truth, removal_skips_only=True)


def test_list_and_card_filters() -> None:
    """--list and --card narrow the plan to the named lists or cards."""
    s = generate(8, 400)
    lists = frozenset(s.moved_lists[:1])
    base = s.option_sets()["b"]
    _assert_plan_is_truth(s, s.truth(replace(base, name="list", lists=lists)))
    some = frozenset(sorted(s.world.cards)[:40])
    _assert_plan_is_truth(s, s.truth(replace(base, name="card", cards=some)))


@pytest.mark.parametrize("order", [(0, 1, 2), (2, 1, 0), (1, 2, 0), (2, 0, 1)])
def test_actions_of_one_instant_replay_in_id_order_whatever_order_they_came_in(
    order: tuple[int, int, int],
) -> None:
    """design.md §3: the replay is in date order, ties broken by action id. A removal and a
    re-add of one member in the same millisecond (an automation, a bulk operation) replay as
    their ids say, whichever page brought them first: the same log gives the same plan (R45c:
    sorted by date alone, one order planned the member back and the other skipped them as
    re-added later)."""
    from trello_restore.models import BoardState, CardState, Membership, PlanOptions

    from .test_history import T, member_action

    acts = [
        member_action("addMemberToCard", "a0", "m1", -10),  # on the card before the cutoff
        member_action("removeMemberFromCard", "b1", "m1", 5),  # the same instant:
        member_action("addMemberToCard", "c2", "m1", 5),  # b1 < c2 by id
    ]
    members = {"m1": Membership("m1", "normal"), "lead": Membership("lead", "admin")}
    board = BoardState("b1", "B1", members, {"l1": "Doing"}, {"l1": False})
    card = CardState("c1", "C1", "c1-link", "b1", "l1", False, ())  # m1 is not on it now
    state = State(boards={"b1": board}, cards={"c1": card})
    history = parse_history([acts[i] for i in order])
    assert [a.id for a in history.member_actions] == ["a0", "b1", "c2"]
    plan = build_plan(history, state, PlanOptions(since=T, only_recorded=True))
    assert plan.changes == ()  # removed, then added back: not this plan's to restore
    assert sorted((k.reason, k.action_id) for k in plan.skipped) == [
        ("filtered", "c2"),
        ("re_added_later", "b1"),
    ]


def test_history_does_not_depend_on_page_order() -> None:
    """Parsing the same actions page by page in any order gives the same history (the fetcher
    parses pages as they arrive, from several threads)."""
    from trello_restore.history import HistoryBuilder, parse_history

    s = generate(9, 300)
    actions = [
        render.action(s.world, a) for bid in s.scope for a in reversed(s.world.board_feed[bid])
    ]
    whole = parse_history(actions)
    pages = [actions[i : i + 97] for i in range(0, len(actions), 97)]
    builder = HistoryBuilder()
    for page in reversed(pages + pages[:3]):  # out of order, with repeats
        builder.add(page)
    assert builder.build() == whole
