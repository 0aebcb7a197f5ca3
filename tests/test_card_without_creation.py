"""A card whose creation is not in the log (a board made from a template or copied, a card
imported): where it was before its first recorded list change is that change's old list, not
the list it is in now (R51c). Before, a removal that came with the move of the list it was in
was filtered out by ``--cause move``, and ``--board`` of the move's source left the card out of
scope while ``--board`` of its target planned it."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from trello_restore.history import HistoryBuilder, parse_board, parse_card, parse_history
from trello_restore.history_parts import Part, merge_parts, to_history
from trello_restore.models import History, PlanOptions, State
from trello_restore.planner import build_plan
from trello_restore.planner_scope import cards_in_scope

T = datetime(2025, 11, 2, 12, 0, tzinfo=UTC)


def _action(type_: str, aid: str, seconds: float, board: str, by: str = "lead", **data: Any) -> Any:
    return {
        "id": aid,
        "type": type_,
        "date": (T + timedelta(seconds=seconds)).strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3] + "Z",
        "idMemberCreator": by,
        "memberCreator": {"id": by, "username": by, "fullName": by.title()},
        "data": {"board": {"id": board, "name": board.upper()}, **data},
    }


C1 = {"id": "c1", "name": "C1", "shortLink": "c1-link"}


def _actions(created: bool) -> list[Any]:
    """List l2 (card c1 in it, with member m2) moves from b1 to b2 at T; Trello takes m2 (not a
    member of b2) off c1 and logs it on b2's feed as the mover's; 30 s later someone else moves
    c1 on b2 from l2 to l3. ``created``: c1's creation in l2 is in the log too."""
    out = [
        _action("moveListFromBoard", "a2", 0, "b1", list={"id": "l2"}, boardTarget={"id": "b2"}),
        _action("moveListToBoard", "a3", 0, "b2", list={"id": "l2"}, boardSource={"id": "b1"}),
        _action("removeMemberFromCard", "a4", 0.2, "b2", card=C1, idMember="m2"),
        _action(
            "updateCard", "a5", 30, "b2", by="other", card={**C1, "idList": "l3"},
            old={"idList": "l2"}, listBefore={"id": "l2"}, listAfter={"id": "l3"},
        ),
    ]  # fmt: skip
    if created:
        out.insert(0, _action("createCard", "a1", -3600, "b1", card=C1, list={"id": "l2"}))
    return out


def _state() -> State:
    def ms(*ids: str) -> list[dict[str, str]]:
        return [{"idMember": m, "memberType": "normal"} for m in ids]

    b1 = parse_board({"id": "b1", "name": "Team"}, ms("lead", "m2"), [{"id": "l1", "name": "A"}])
    lists = [{"id": "l2", "name": "Done"}, {"id": "l3", "name": "Later"}]
    b2 = parse_board({"id": "b2", "name": "Archive"}, ms("lead", "other"), lists)
    c1 = {**C1, "idBoard": "b2", "idList": "l3", "closed": False, "idMembers": []}
    return State(boards={"b1": b1, "b2": b2}, cards={"c1": parse_card(c1)})


def _histories(created: bool) -> list[History]:
    """The cold parse, and the kept history's way: each board's feed parsed apart and merged."""
    actions = _actions(created)
    parts = []
    for board in ("b1", "b2"):
        b = HistoryBuilder()
        b.add(a for a in actions if a["data"]["board"]["id"] == board)
        parts.append(Part.of(b))
    return [parse_history(actions), to_history(merge_parts(parts))]


OPTIONS = PlanOptions(since=T - timedelta(minutes=5), removed_by="lead", add_to_board=True)


@pytest.mark.parametrize("created", [False, True])
def test_cause_move_keeps_the_removal_of_a_card_whose_creation_is_not_logged(
    created: bool,
) -> None:
    for history in _histories(created):
        for named in (None, ("b1",), ("b2",)):
            for cause in (None, "move"):
                options = replace(OPTIONS, cause=cause)
                plan = build_plan(history, _state(), options, named_boards=named)
                adds = [
                    (c.card_id, c.member.id) for c in plan.changes if c.action.startswith("add")
                ]
                assert ("c1", "m2") in adds, (named, cause, plan.skipped)
                assert not plan.skipped, (named, cause)


@pytest.mark.parametrize("created", [False, True])
def test_either_board_of_the_move_gives_the_same_plan(created: bool) -> None:
    options = replace(OPTIONS, restore=frozenset({"members", "list"}))
    for history in _histories(created):
        assert cards_in_scope(history, _state(), ("b1",)) == {"c1"}
        plans = [build_plan(history, _state(), options, named_boards=(b,)) for b in ("b1", "b2")]
        wanted = {("c1", "add_member_to_card"), ("c1", "move_card_to_list")}
        for plan in plans:
            assert {(c.card_id, c.action) for c in plan.changes} >= wanted
        assert plans[0].changes == plans[1].changes


def test_a_card_from_another_board_is_not_placed_before_it_came() -> None:
    """A card whose first list change is its arrival from another board was in none of this
    board's lists before: nothing is placed before it."""
    arrived = _action(
        "moveCardToBoard", "a1", 0, "b2", card=C1, list={"id": "l3"}, boardSource={"id": "b9"}
    )
    moved = _action(
        "updateCard", "a2", 30, "b2", card={**C1, "idList": "l2"}, old={"idList": "l3"},
        listBefore={"id": "l3"}, listAfter={"id": "l2"},
    )  # fmt: skip
    assert [(d.second, lid) for d, _, lid in parse_history([arrived, moved]).card_lists] == [
        (0, "l3"),
        (30, "l2"),
    ]


def _moved_on_state() -> State:
    """c1 is on b3 now, in l9; m2 is a member of b1 and b3, not of b2."""

    def ms(*ids: str) -> list[dict[str, str]]:
        return [{"idMember": m, "memberType": "normal"} for m in ids]

    b1 = parse_board({"id": "b1", "name": "Team"}, ms("lead", "m2"), [{"id": "l1", "name": "A"}])
    b2 = parse_board({"id": "b2", "name": "Archive"}, ms("lead"), [{"id": "l2", "name": "Done"}])
    b3 = parse_board({"id": "b3", "name": "Other"}, ms("lead", "m2"), [{"id": "l9", "name": "X"}])
    c1 = {**C1, "idBoard": "b3", "idList": "l9", "closed": False, "idMembers": []}
    return State(boards={"b1": b1, "b2": b2, "b3": b3}, cards={"c1": parse_card(c1)})


@pytest.mark.parametrize(
    ("off", "on", "off_s"),
    [("a5", "a6", 3600.0), ("a6", "a5", 3600.0), ("a5", "a6", 3600.001)],
    ids=["off-first", "on-sorts-first", "off-a-millisecond-later"],
)
def test_a_card_moved_on_to_a_board_read_too_keeps_its_first_list(
    off: str, on: str, off_s: float
) -> None:
    """R52a: c1 (its creation not logged) went with its list l2 from b1 to b2, losing m2; an
    hour later someone moved it on to b3. With b3 read too, its first recorded list change
    could be its arrival there (its id sorting first, or dated a millisecond before the move
    off b2), which left no list, and ``--cause move`` filtered m2's removal out again. The
    arrival's move off b2 is its first change: l2 is its list from the start, as with b2
    alone."""
    moved = [
        _action("moveCardFromBoard", off, off_s, "b2", by="other", card=C1,
                list={"id": "l2"}, boardTarget={"id": "b3"}),
        _action("moveCardToBoard", on, 3600, "b3", by="other", card=C1, list={"id": "l9"},
                boardSource={"id": "b2"}),
    ]  # fmt: skip
    actions = [*_actions(created=False)[:3], *moved]
    parts = []
    for board in ("b1", "b2", "b3"):
        b = HistoryBuilder()
        b.add(a for a in actions if a["data"]["board"]["id"] == board)
        parts.append(Part.of(b))
    for history in (parse_history(actions), to_history(merge_parts(parts))):
        assert history.card_lists[0][1:] == ("c1", "l2")
        for named in (("b2",), ("b2", "b3"), None):
            options = replace(OPTIONS, cause="move")
            plan = build_plan(history, _moved_on_state(), options, named_boards=named)
            adds = [(c.card_id, c.member.id) for c in plan.changes if c.action.startswith("add")]
            assert ("c1", "m2") in adds, (named, plan.skipped)
