"""The value kinds' rule (design.md §10.2, ``planner_values.py``) as tables of literal actions.

Each row is a few field changes (``FieldUpdate``s, as ``history.py`` parses them from
``updateCard``/``updateList``) on card ``c1`` or list ``l1`` of board ``b1``, the state now, the
options, and every decision the planner must make, one string each::

    "set_card_closed c1 closed False<-True u1,u2"   planned: action, object, field,
                                                    target<-expected, the selected actions
    "skip c1 closed changed_by_others u1 alice@10"  skipped: reason, first selected action,
                                                    who else changed the field and when

Times are minutes from the cutoff ``T`` (``--since``); ``cul`` is the culprit (``--by``).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from typing import Any, Literal

import pytest

from trello_restore.errors import UsageError
from trello_restore.models import (
    VALUE_SKIP_ORDER,
    BoardState,
    CardInfo,
    CardState,
    FieldUpdate,
    FieldValue,
    History,
    MemberAction,
    MemberRef,
    Membership,
    MoveAction,
    Plan,
    PlanOptions,
    State,
    ValueChange,
)
from trello_restore.planner import build_plan, change_id, resolve_filters
from trello_restore.planner_values import card_value, same_value, value_action

T = datetime(2025, 11, 2, 12, 0, tzinfo=UTC)
ALL = frozenset({"members", "archived", "list", "fields"})


def at(minute: float) -> datetime:
    return T + timedelta(minutes=minute)


def upd(
    aid: str,
    field: str,
    old: FieldValue,
    new: FieldValue,
    minute: float,
    by: str = "cul",
    *,
    obj: str = "c1",
    list_update: bool = False,
    board: str = "b1",
    app: str = "",
) -> FieldUpdate:
    kind: Literal["card", "list"] = "list" if list_update else "card"
    return FieldUpdate(aid, at(minute), kind, obj, board, field, old, new, by, app)


def card(cid: str = "c1", **fields: Any) -> CardState:
    base = CardState(cid, cid.upper(), f"{cid}-link", "b1", "l1", False, ())
    return replace(base, **fields)


def board(bid: str = "b1", *, closed: Iterable[str] = (), **lists: str) -> BoardState:
    names = lists or {"l1": "Doing", "l2": "Done"}
    return BoardState(
        bid,
        bid.upper(),
        {"m1": Membership("m1", "normal")},
        names,
        {lid: lid in set(closed) for lid in names},
    )


def state(*items: CardState | BoardState) -> State:
    return State(
        boards={b.id: b for b in items if isinstance(b, BoardState)},
        cards={c.id: c for c in items if isinstance(c, CardState)},
    )


MEMBERS = (MemberRef("cul", "culprit"), MemberRef("alice", "alice"), MemberRef("bob", "bob"))


def plan(
    updates: Iterable[FieldUpdate],
    now: State | None = None,
    *,
    member_actions: Iterable[MemberAction] = (),
    infos: Iterable[CardInfo] = (),
    deleted: dict[str, tuple[datetime, str]] | None = None,
    moves: Iterable[MoveAction] = (),
    named: Iterable[str] | None = None,
    restore: Iterable[str] = ALL,
    own_member: str | None = None,
    places: Iterable[tuple[datetime, str, str]] = (),
    **options: Any,
) -> Plan:
    h = History(
        member_actions=tuple(member_actions),
        moves=tuple(moves),
        deleted_cards={cid: f"d-{cid}" for cid in deleted or {}},
        card_lists=tuple(sorted(places)),
        cards={c.id: c for c in infos},
        members={m.id: m for m in MEMBERS},
        field_updates=tuple(sorted(updates, key=lambda u: (u.date, u.id))),
        deleted_when=dict(deleted or {}),
    )
    return build_plan(
        h,
        now if now is not None else state(card(), board()),
        PlanOptions(since=T, restore=frozenset(restore), **options),  # type: ignore[arg-type]
        named_boards=None if named is None else frozenset(named),
        own_member=own_member,
    )


def decisions(p: Plan) -> set[str]:
    def minute(d: datetime) -> str:
        return f"{(d - T) / timedelta(minutes=1):g}"

    out = set()
    for c in p.changes:
        if isinstance(c, ValueChange):
            obj = c.card_id or c.list_id
            acts = ",".join(c.actions)
            out.add(f"{c.action} {obj} {c.field} {c.value}<-{c.expected} {acts}")
    for s in p.value_skipped:
        others = " ".join(f"{m.id}@{minute(d)}" for m, d in s.others)
        out.add(f"skip {s.object_id} {s.field} {s.reason} {s.action_id} {others}".strip())
    return out


# ------------------------------------------------------------------ the rule, one row each


@pytest.mark.parametrize(
    ("updates", "now", "options", "expected"),
    [
        pytest.param(
            [upd("u1", "closed", False, True, 1)], card(closed=True), {"by": "cul"},
            {"set_card_closed c1 closed False<-True u1"}, id="planned: unarchive"),
        pytest.param(
            [upd("u1", "closed", False, True, 1)], card(closed=True), {"by": "culprit"},
            {"set_card_closed c1 closed False<-True u1"}, id="--by a username"),
        pytest.param(
            [upd("u1", "closed", False, True, 1)], card(), {"by": "cul"},
            {"skip c1 closed already_restored u1"}, id="already_restored"),
        pytest.param(
            [upd("u1", "closed", False, True, 1), upd("u2", "closed", True, False, 10, "alice"),
             upd("u3", "closed", False, True, 15, "bob")], card(closed=True), {"by": "cul"},
            {"skip c1 closed changed_by_others u1 alice@10 bob@15"},
            id="changed_by_others: who and when"),
        pytest.param(
            [upd("u1", "name", "A", "B", 1), upd("u2", "name", "B", "C", 2)], card(name="C"),
            {"by": "cul"}, {"set_card_field c1 name A<-C u1,u2"},
            id="target: the first selected old value; expected: the last one's new value"),
        pytest.param(
            [upd("u1", "name", "A", "B", 1, "alice"), upd("u2", "name", "B", "C", 2)],
            card(name="C"), {"by": "cul"}, {"set_card_field c1 name B<-C u2"},
            id="a change by others before the first selected one is not the damage"),
        pytest.param(
            [upd("u1", "name", "A", "B", 1), upd("u2", "name", "B", "C", 2, "alice"),
             upd("u3", "name", "C", "D", 3)], card(name="D"), {"by": "cul"},
            {"skip c1 name changed_by_others u1 alice@2"},
            id="changed_by_others: an edit between two selected ones"),
        pytest.param(
            [upd("u1", "closed", False, True, 1), upd("u2", "closed", True, False, 10, "dana"),
             upd("u3", "closed", False, True, 11, "dana")], card(closed=True),
            {"by": "cul", "own_member": "dana"}, {"set_card_closed c1 closed False<-True u1"},
            id="the token's member's change put back (this tool's apply, then its undo) does "
            "not count"),
        pytest.param(
            [upd("u1", "closed", False, True, 1), upd("u2", "closed", True, False, 10, "dana"),
             upd("u3", "closed", False, True, 11, "dana")], card(closed=True),
            {"by": "cul", "own_member": "me"},
            {"skip c1 closed changed_by_others u1 dana@10 dana@11"},
            id="another member's does: archived again, it is their decision (R31a)"),
        pytest.param(
            [upd("u1", "closed", False, True, 1), upd("u2", "closed", True, False, 10, "dana"),
             upd("u3", "closed", False, True, 11, "dana")], card(closed=True), {"by": "cul"},
            {"skip c1 closed changed_by_others u1 dana@10 dana@11"},
            id="and anyone's, when the token's member is not known (from exports)"),
        pytest.param(
            [upd("u1", "closed", False, True, 1), upd("u2", "closed", True, False, 10, "dana"),
             upd("u3", "closed", False, True, 11, "dana"),
             upd("u4", "closed", True, False, 12, "alice"),
             upd("u5", "closed", False, True, 13, "alice")], card(closed=True),
            {"by": "cul", "own_member": "dana"},
            {"skip c1 closed changed_by_others u1 alice@12 alice@13"},
            id="a trial followed by a colleague's set-back: the colleague's alone are listed"),
        pytest.param(
            [upd("u1", "name", "A", "B", 1), upd("u2", "name", "B", "X", 2, "dana"),
             upd("u3", "name", "X", "Y", 3, "alice"), upd("u4", "name", "Y", "B", 4, "dana")],
            card(name="B"), {"by": "cul", "own_member": "dana"},
            {"skip c1 name changed_by_others u1 dana@2 alice@3 dana@4"},
            id="the token's member's changes around a colleague's count: none sets back alone"),
        pytest.param(
            [upd("u1", "name", "A", "B", 1), upd("u2", "name", "B", "X", 2, "dana"),
             upd("u3", "name", "X", "B", 3, "dana"), upd("u4", "name", "B", "C", 4)],
            card(name="C"), {"by": "cul", "own_member": "dana"},
            {"set_card_field c1 name A<-C u1,u4"},
            id="nor between two selected ones"),
        pytest.param(
            [upd("u1", "name", "A", "B", 1), upd("u2", "name", "B", "X", 2, "dana"),
             upd("u3", "name", "X", "Y", 3, "dana")], card(name="Y"), {"by": "cul"},
            {"skip c1 name changed_by_others u1 dana@2 dana@3"},
            id="one member's changes that do not end where they began count"),
        pytest.param(
            [upd("u1", "name", "A", "B", 1), upd("u2", "name", "B", "C", 20)], card(name="C"),
            {"by": "cul", "until": at(10)}, {"skip c1 name changed_by_others u1 cul@20"},
            id="changed_by_others: the member's own change after --until is not selected"),
        pytest.param(
            [upd("u1", "name", "A", "B", 1, "alice")], card(name="B"), {"by": "cul"},
            {"skip c1 name filtered None"}, id="filtered: the window's changes are by others"),
        pytest.param(
            [upd("u1", "name", "A", "B", -10, "alice")], card(name="B"), {"by": "cul"},
            {"skip c1 name outside_window None"},
            id="outside_window: no change in the window, whoever made the earlier ones"),
        pytest.param(
            [upd("u1", "name", "A", "B", -10)], card(name="B"), {"by": "cul"},
            {"skip c1 name outside_window None"}, id="outside_window: before --since"),
        pytest.param(
            [upd("u1", "name", "A", "B", 10)], card(name="B"), {"until": at(10)},
            {"skip c1 name outside_window None"}, id="outside_window: --until is exclusive"),
        pytest.param(
            [upd("u1", "name", "A", "B", 0)], card(name="B"), {},
            {"set_card_field c1 name A<-B u1"}, id="--since is inclusive: a change at it is in"),
        pytest.param(
            [upd("u1", "name", "A", "B", 1), upd("u2", "name", "B", "C", 2)], card(name="C"), {},
            {"set_card_field c1 name A<-C u1,u2"},
            id="two changes in the window: back to the value before the first (R45c)"),
        pytest.param(
            [upd("u1", "name", "A", "B", 1)], card(name="B"), {"cards": frozenset({"c2"})},
            {"skip c1 name filtered None"}, id="filtered: --card names another card"),
        pytest.param(
            [upd("u1", "name", "A", "B", -5)], card(name="B"), {"cards": frozenset({"c9"})},
            {"skip c1 name outside_window None"},
            id="outside_window: a card --card leaves out, unchanged in the window"),
        pytest.param(
            [upd("u1", "name", "A", "B", -5), upd("u2", "name", "B", "C", 5, "alice")],
            card(name="C"), {"by": "cul"}, {"skip c1 name filtered None"},
            id="filtered: changed in the window, by others than --by only"),
        pytest.param(
            [upd("u1", "name", "A", "B", 1)], card(name="B"), {"cards": frozenset({"c1-link"})},
            {"set_card_field c1 name A<-B u1"}, id="--card by shortLink"),
        pytest.param(
            [upd("u1", "name", "A", "B", 1)], card(name="B"), {"lists": frozenset({"Doing"})},
            {"set_card_field c1 name A<-B u1"}, id="--list by the name of the card's list"),
        pytest.param(
            [upd("u1", "name", "A", "B", 1)], card(name="B"), {"lists": frozenset({"l2"})},
            {"skip c1 name filtered None"}, id="filtered: --list names another list"),
        pytest.param(
            [upd("u1", "idList", "l1", "l2", 1)], card(list_id="l2"), {},
            {"move_card_to_list c1 idList l1<-l2 u1"}, id="a move back within the board"),
        pytest.param(
            [upd("u1", "idList", "l9", "l2", 1)], card(list_id="l2"), {},
            {"skip c1 idList other_board u1"}, id="other_board: the old list is elsewhere"),
        pytest.param(
            [upd("u1", "idList", "l9", "l2", 1), upd("u2", "idList", "l2", "l1", 2, "bob")],
            card(list_id="l1"), {"by": "cul"}, {"skip c1 idList other_board u1 bob@2"},
            id="other_board beats changed_by_others"),
        pytest.param(
            [upd("u1", "due", "2025-01-01T00:00:00.000Z", None, 1),
             upd("u2", "start", "soon", "later", 1)],
            card(due="2025-01-01T00:00:00Z", start="soon"), {},
            {"skip c1 due already_restored u1", "skip c1 start already_restored u2"},
            id="dates compare as instants, other text as text"),
        pytest.param(
            [upd("u1", "dueComplete", False, True, 1, "bot-owner", app="Butler")],
            card(due_complete=True), {"by": "bot-owner"},
            {"set_card_field c1 dueComplete False<-True u1"},
            id="an automation's change counts as the member it acts for"),
    ],
)  # fmt: skip
def test_the_rule(
    updates: list[FieldUpdate], now: CardState, options: dict[str, Any], expected: set[str]
) -> None:
    """Planned, or skipped with the first reason of ``VALUE_SKIP_ORDER`` that applies."""
    assert decisions(plan(updates, state(now, board()), **options)) == expected


def test_the_skip_reasons_precedence() -> None:
    """design.md §10.2's order, with ``other_board`` (a move across boards is out of scope)
    where it can apply: only a field with a target that is not already back."""
    assert VALUE_SKIP_ORDER == (
        "object_deleted",
        "already_restored",
        "other_board",
        "changed_by_others",
        "filtered",
        "outside_window",
    )


def test_a_change_carries_its_evidence_and_a_stable_id() -> None:
    """Evidence: the first selected action's id, date, author (named) and app; every selected
    action; the id is ``change_id`` of the kind, the object, the field and that action."""
    ups = [upd("u1", "due", None, "x", 1, app="Butler"), upd("u2", "due", "x", "y", 2)]
    (c,) = plan(ups, state(card(due="y"), board())).changes
    assert isinstance(c, ValueChange)
    assert c.change_id == change_id("set_card_field", "c1", "due", "u1")
    assert (c.board_id, c.board_name, c.list_id, c.list_name) == ("b1", "B1", "l1", "Doing")
    assert (c.card_id, c.card_name, c.card_short_link) == ("c1", "C1", "c1-link")
    assert c.evidence is not None
    assert (c.evidence.kind, c.evidence.action_id, c.evidence.date) == ("field_update", "u1", at(1))
    assert (c.evidence.by, c.evidence.app) == (MemberRef("cul", "culprit"), "Butler")
    assert (c.object_type, c.field, c.value, c.expected, c.actions) == (
        "card",
        "due",
        None,
        "y",
        ("u1", "u2"),
    )
    assert c.value_name == ""
    (move,) = plan([upd("u3", "idList", "l1", "l2", 1)], state(card(list_id="l2"), board())).changes
    assert isinstance(move, ValueChange)
    assert (move.value, move.value_name) == ("l1", "Doing")  # the list it goes back to, named


def test_only_the_kinds_asked() -> None:
    """Each kind restores its fields only; ``members`` alone plans no value; without
    ``members`` no member is put back."""
    ups = [
        upd("u1", "closed", False, True, 1),
        upd("u2", "idList", "l1", "l2", 2),
        upd("u3", "desc", "a", "b", 3),
    ]
    rem = MemberAction("r1", "remove", at(1), "c1", "m1", "cul", "b1")
    now = state(card(closed=True, list_id="l2", desc="b"), board())

    def actions(restore: set[str]) -> list[str]:
        p = plan(ups, now, member_actions=[rem], restore=restore)
        return [c.action for c in p.changes]

    assert actions({"members"}) == ["add_member_to_card"]
    assert actions({"archived"}) == ["set_card_closed"]
    assert actions({"list"}) == ["move_card_to_list"]
    assert actions({"fields"}) == ["set_card_field"]
    assert plan(ups, now, member_actions=[rem], restore={"archived"}).skipped == ()


def test_order_grants_lists_cards_fields_members() -> None:
    """The plan lists board grants, list unarchives, card moves and unarchives, fields, then
    card members: the apply's order (design.md §10.3)."""
    ups = [
        upd("u1", "desc", "a", "b", 1),
        upd("u2", "closed", False, True, 2),
        upd("u3", "closed", False, True, 3, obj="l1", list_update=True),
        upd("u4", "idList", "l1", "l2", 4, obj="c2"),
    ]
    rem = MemberAction("r1", "remove", at(1), "c1", "m2", "cul", "b1")
    now = state(card(closed=True, desc="b"), card("c2", list_id="l2"), board(closed=["l1"]))
    p = plan(ups, now, member_actions=[rem], add_to_board=True)
    assert [c.action for c in p.changes] == [
        "add_member_to_board",
        "set_list_closed",
        "set_card_closed",  # c1, in list "Doing": card moves and unarchives by place
        "move_card_to_list",  # c2, in "Done"
        "set_card_field",
        "add_member_to_card",
    ]


def test_by_applies_to_member_removals_too() -> None:
    """``--by`` without ``--removed-by`` selects the removals as well; ``--removed-by`` wins
    for them when both are given (the command line refuses two different members)."""
    rems = [
        MemberAction("r1", "remove", at(1), "c1", "m1", "cul", "b1"),
        MemberAction("r2", "remove", at(2), "c1", "m2", "alice", "b1"),
    ]
    by = plan([], member_actions=rems, by="cul", add_to_board=True)
    assert {c.evidence.action_id for c in by.card_changes() if c.evidence} == {"r1"}
    both = plan([], member_actions=rems, by="cul", removed_by="alice", add_to_board=True)
    assert {c.evidence.action_id for c in both.card_changes() if c.evidence} == {"r2"}


# ----------------------------------------------------------------------------------- lists


def test_lists() -> None:
    """A list's archive: planned, already restored, filtered by ``--list`` (id or name) and by
    ``--card`` (a list is not a card), on no board read (Trello deletes no list: it moved on
    to a board the plan does not read, R31c: ``other_board``, not ``object_deleted``)."""
    archive = upd("u1", "closed", False, True, 1, obj="l1", list_update=True)
    gone = upd("u2", "closed", False, True, 1, obj="l7", list_update=True)
    closed = state(card(), board(closed=["l1"]))
    assert decisions(plan([archive, gone], closed)) == {
        "set_list_closed l1 closed False<-True u1",
        "skip l7 closed other_board u2",
    }
    assert decisions(plan([archive], state(card(), board()))) == {
        "skip l1 closed already_restored u1"
    }
    assert decisions(plan([archive], closed, lists=frozenset({"Doing"}))) == {
        "set_list_closed l1 closed False<-True u1"
    }
    assert decisions(plan([archive], closed, lists=frozenset({"l2"}))) == {
        "skip l1 closed filtered None"
    }
    assert decisions(plan([archive], closed, cards=frozenset({"c1"}))) == {
        "skip l1 closed filtered None"
    }
    (c,) = plan([archive], closed).changes
    assert (c.list_id, c.list_name, c.board_name, c.card_id) == ("l1", "Doing", "B1", "")
    assert plan([archive], closed, restore={"list", "fields"}).changes == ()


def test_scope_is_the_member_rules() -> None:
    """A card or list of a board that is only followed is left alone (no change, no skip); a
    gone one on a followed board too; a gone card of a named board is ``object_deleted`` when
    it was deleted, else ``other_board`` (moved on to a board the plan does not read, R31c)."""
    ups = [
        upd("u1", "closed", False, True, 1, obj="cx", board="b2"),
        upd("u2", "closed", False, True, 1, obj="lx", board="b2", list_update=True),
        upd("u3", "closed", False, True, 1, obj="gone", board="b2"),
        upd("u4", "closed", False, True, 1, obj="gone-list", board="b2", list_update=True),
        upd("u5", "closed", False, True, 1, obj="c-del"),
    ]
    other = BoardState("b2", "B2", {}, {"lx": "Elsewhere"}, {"lx": True})
    now = state(card(), card("cx", board_id="b2", closed=True), board(), other)
    assert decisions(plan(ups, now, named={"b1"})) == {"skip c-del closed other_board u5"}
    deleted = {"c-del": (at(3), "cul")}
    assert decisions(plan(ups, now, named={"b1"}, deleted=deleted)) == {
        "skip c-del closed object_deleted u5"
    }
    # Archived on the named board, then moved on to a board the plan does not read (R31d):
    # said, not left out.
    on = [upd("u6", "closed", False, True, 1, obj="moved-on")]
    info = CardInfo("moved-on", "Moved on", "", "b3", "l9")
    assert decisions(plan(on, now, named={"b1"}, infos=[info])) == {
        "skip moved-on closed other_board u6"
    }
    everything = decisions(plan(ups, now))
    assert "set_card_closed cx closed False<-True u1" in everything
    assert "set_list_closed lx closed False<-True u2" in everything


def test_a_deleted_card_with_a_name_from_the_log() -> None:
    """``object_deleted`` names the card as the actions last did, filters as they placed it."""
    ups = [upd("u1", "name", "A", "B", 1)]
    info = CardInfo("c1", "Old name", "lnk", "b1", "l2")
    gone = {"c1": (at(2), "cul")}
    p = plan(
        ups, state(board()), infos=[info], named={"b1"}, lists=frozenset({"Done"}), deleted=gone
    )
    (s,) = p.value_skipped
    assert (s.object_name, s.board_id, s.reason, s.action_id) == (
        "Old name",
        "b1",
        "object_deleted",
        "u1",
    )
    p = plan(ups, state(board()), infos=[info], lists=frozenset({"Doing"}), deleted=gone)
    assert [(s.reason, s.action_id) for s in p.value_skipped] == [("object_deleted", None)]


# ------------------------------------------------------------------------------ unrestorable


def test_unrestorable_deleted_cards() -> None:
    """Cards deleted in the window, in scope, by ``--by`` (anyone without it), passing
    ``--card``: listed with who and when, oldest first; the member rule alone lists none."""
    deleted = {
        "c7": (at(5), "cul"),
        "c8": (at(2), "alice"),
        "c9": (at(-5), "cul"),
        "cz": (at(1), "cul"),
    }
    infos = [CardInfo("c7", "Seven", "l7", "b1", "l1"), CardInfo("c8", "Eight", "", "b1", "l1")]
    infos.append(CardInfo("c9", "Nine", "", "b1", "l1"))
    read = state(board(), board("b2"))  # not every board read is named
    everyone = plan([], read, infos=infos, deleted=deleted, named={"b1"})
    assert [(u.object_id, u.name, u.by.id, u.date, u.action_id) for u in everyone.unrestorable] == [
        ("c8", "Eight", "alice", at(2), "d-c8"),
        ("c7", "Seven", "cul", at(5), "d-c7"),
    ]  # cz: no action placed it on a named board; c9: before the window
    assert {u.what for u in everyone.unrestorable} == {"card_deleted"}
    by = plan([], read, infos=infos, deleted=deleted, by="cul", named={"b1"})
    assert [u.object_id for u in by.unrestorable] == ["c7"]
    assert [u.object_id for u in plan([], infos=infos, deleted=deleted).unrestorable] == [
        "cz",
        "c8",
        "c7",
    ]
    carded = plan([], read, infos=infos, deleted=deleted, named={"b1"}, cards=frozenset({"l7"}))
    assert [u.object_id for u in carded.unrestorable] == ["c7"]
    assert plan([], infos=infos, deleted=deleted, restore={"members"}).unrestorable == ()


def across(
    aid: str, minute: float, obj: str, src: str, dst: str, by: str = "cul", *, card: bool = True
) -> list[MoveAction]:
    """A move across boards as two feeds log it: ``move*FromBoard`` on ``src`` (``f-<aid>``),
    ``move*ToBoard`` on ``dst`` (``t-<aid>``), each naming the other board (``SRC``, ``DST``)."""
    what = "Card" if card else "List"
    card_id, list_id = (obj, None) if card else (None, obj)
    return [
        MoveAction(
            f"{x}-{aid}", f"move{what}{way}Board", at(minute), by, card_id, list_id, src, dst, name
        )
        for x, way, name in (("f", "From", dst.upper()), ("t", "To", src.upper()))
    ]


def test_unrestorable_moves_across_boards() -> None:
    """With ``list`` restored, each card and list moved in the window to or from a named board
    (by ``--by``, passing ``--card``/``--list``) and not back where it was before its first such
    move: named by the action the board it left logged (that the board it came to logged when
    it left one not named), with the other board (R41b: they were left out in silence)."""
    moves = [
        *across("a", 5, "c2", "b1", "b2"),  # away, on b2 now
        *across("b", 6, "c3", "b1", "b2"),  # away and back
        *across("b2", 7, "c3", "b2", "b1"),
        *across("c", 8, "c4", "b2", "b1"),  # came here
        *across("d", 9, "l9", "b1", "b3", card=False),  # a list, to a board not read
        *across("e", -5, "c5", "b1", "b2"),  # before the window
        *across("g", 10, "c6", "b1", "b2", "alice"),  # by someone else
        *across("h", 11, "c7", "b1", "b2"),  # deleted since
        *across("i", 12, "c8", "b1", "b3"),  # on a board not read: named by the log
        *across("j", 13, "c9", "b2", "b3"),  # never on a named board
        MoveAction("k", "moveCardFromBoard", at(14), "cul", None, None, "b1", "b2"),
    ]
    now = state(
        card(),
        card("c2", board_id="b2", list_id="l5"),
        card("c3"),
        card("c4"),
        card("c6", board_id="b2", list_id="l5"),
        board(),
        board("b2", l5="Later"),
    )
    infos = [CardInfo("c8", "Eight", "k8", "b1", "l1")]
    deleted = {"c7": (at(20), "bob")}

    def moved(**options: Any) -> list[tuple[str, str, str, str, str]]:
        p = plan([], now, moves=moves, infos=infos, deleted=deleted, named={"b1"}, **options)
        return [
            (u.object_id, u.what, u.action_id, u.other_board_id, u.other_board_name)
            for u in p.unrestorable
            if u.what != "card_deleted"
        ]

    away, here = "moved_to_other_board", "moved_from_other_board"
    assert moved() == [
        ("c2", away, "f-a", "b2", "B2"),
        ("c4", here, "t-c", "b2", "B2"),
        ("l9", away, "f-d", "b3", "B3"),
        ("c6", away, "f-g", "b2", "B2"),
        ("c8", away, "f-i", "b3", "B3"),
    ]
    # c7: moved away by cul, deleted since by bob: the plan for cul's doings does not say it
    # deleted (bob did), so it says cul moved it (R42h: a card said neither was in no line).
    assert [x[0] for x in moved(by="cul")] == ["c2", "c4", "l9", "c7", "c8"]
    assert [x[0] for x in moved(cards=frozenset({"k8", "c2"}))] == ["c2", "c8"]  # no list
    assert [x[0] for x in moved(lists=frozenset({"l9"}))] == ["l9"]
    assert moved(restore={"archived", "fields", "members"}) == []
    names = {u.object_id: u.name for u in plan([], now, moves=moves, named={"b1"}).unrestorable}
    assert (names["c2"], names["l9"]) == ("C2", "")  # the state's name; a list not read: none


def test_moved_across_boards_is_judged_by_where_it_was_and_where_it_is_now() -> None:
    """R42d: the first move in the window alone named the wrong board or the wrong card. A card
    moved A -> B -> C was said moved to B though on C now; one that left with its list (Trello
    logs no card move) and came back alone was said moved here from B, where it started; one
    moved B -> A -> C (A alone named) was said moved here, though it is not."""
    moves = [
        *across("a", 5, "c2", "b1", "b2"),  # A -> B -> C, C read: on C now
        *across("a2", 6, "c2", "b2", "b3"),
        *across("l", 7, "l7", "b1", "b2", card=False),  # the list c3, c4, c5 were in
        *across("m", 8, "c3", "b2", "b1"),  # c3 came back alone: as it was
        *across("n", 9, "c5", "b2", "b3"),  # c5 went on from b2 (b3 read: seen there)
        *across("o", 10, "c6", "b2", "b1"),  # B -> A -> D, neither read
        *across("o2", 11, "c6", "b1", "b4"),
        *across("p", 3, "c8", "b1", "b2"),  # c8 left before the list did: not carried
        *across("p2", 4, "c8", "b2", "b1"),  # ... back (in l7 still), then away alone
        *across("p3", 6.5, "c8", "b1", "b2"),
    ]
    places = [*((at(1), c, "l7") for c in ("c3", "c4", "c5", "c8")), (at(2), "c1", "l1")]
    b1 = (card("c3", list_id="l1"), board())
    b2 = (card("c4", board_id="b2", list_id="l7"), card("c8", board_id="b2", list_id="l5"))
    b3 = (card("c2", board_id="b3", list_id="l9"), card("c5", board_id="b3", list_id="l9"))

    def moved(named: set[str], *now: Any, **options: Any) -> list[tuple[str, str, str, str]]:
        p = plan([], state(*now), moves=moves, places=places, named=named, **options)
        return [(u.object_id, u.what, u.action_id, u.other_board_id) for u in p.unrestorable]

    away, here = "moved_to_other_board", "moved_from_other_board"
    # b1 and b3 read: c2 is on b3 now; c3 is back; the list went to b2, with c4 (said by the
    # list's line); c5 went on from there to b3 (its own move, seen there); c8 left before the
    # list did, came back and left again on its own.
    assert moved({"b1", "b3"}, *b1, *b3, board("b3", l9="Somewhere")) == [
        ("c2", away, "t-a2", "b3"),
        ("c8", away, "f-p3", "b2"),
        ("l7", away, "f-l", "b2"),
        ("c5", away, "t-n", "b3"),
    ]
    # b1 alone: c2 is where b1's log last took it (b2); c5 left with its list, as far as b1 saw.
    assert moved({"b1"}, *b1) == [
        ("c2", away, "f-a", "b2"),
        ("c8", away, "f-p3", "b2"),
        ("l7", away, "f-l", "b2"),
    ]
    # --by: a card carried by a list a member moved counts as that member's.
    assert moved({"b1", "b3"}, *b1, *b3, by="alice") == []
    # b2 alone: c2, c3 and c5 were not on it before nor are now (they passed through); c4 came
    # with its list (the list's line); c8 came from b1 in the end; c6 left for b1 (and went on
    # to b4, which b2's log does not show).
    assert moved({"b2"}, *b2, board("b2", l5="Later", l7="Moved")) == [
        ("c8", here, "t-p3", "b1"),
        ("l7", here, "t-l", "b1"),
        ("c6", away, "f-o", "b1"),
    ]
    # A card no place is known of came with its list (the list its move away names) and left
    # alone for a board not read: it passed through b1.
    through = [*across("q", 12, "l8", "b2", "b1", card=False), *across("r", 13, "c9", "b1", "b4")]
    p = plan([], state(board()), moves=through, named={"b1"}, infos=[CardInfo("c9", list_id="l8")])
    assert [(u.object_id, u.what) for u in p.unrestorable] == [("l8", here)]
    # R42e: one that went with its list and stayed when the list came back: its list says
    # nothing (it is back), so the card's line names the list's move that took it.
    left = [*across("v", 20, "l2", "b1", "b2", card=False)]
    left += across("v2", 22, "l2", "b2", "b1", card=False)
    stayed = [(at(1), "c9", "l2"), (at(21), "c9", "l5")]  # moved on to l5 while on b2
    p = plan([], state(board()), moves=left, places=stayed, named={"b1"})
    assert [(u.object_id, u.what, u.action_id, u.other_board_id) for u in p.unrestorable] == [
        ("c9", away, "f-v", "b2")
    ]
    # R42g: a card's own move off a board takes it out of that board's lists, though no place
    # says where it went: not carried by its old list's move after it (before the window, or
    # in it), it came back alone, or stayed away.
    off = [*across("x", -3, "c20", "b1", "b2"), *across("x2", 5, "l3", "b1", "b3", card=False)]
    off += across("x3", 6, "c20", "b2", "b1")
    off += [*across("y", 5, "c21", "b1", "b2"), *across("y2", 6, "l4", "b1", "b2", card=False)]
    off += across("y3", 7, "l4", "b2", "b1", card=False)
    places_off = [(at(-10), "c20", "l3"), (at(1), "c21", "l4")]
    p = plan([], state(card("c20"), board()), moves=off, places=places_off, named={"b1"})
    assert [(u.object_id, u.what, u.action_id, u.other_board_id) for u in p.unrestorable] == [
        ("c21", away, "f-y", "b2"),
        ("l3", away, "f-x2", "b3"),
        ("c20", here, "t-x3", "b2"),
    ]
    # R42g: one moved to a board read but not named, and on from there: where it went on.
    on = [*across("z", 8, "c30", "b1", "b3"), *across("z2", 9, "c30", "b3", "b4")]
    on += [*across("z3", 10, "l20", "b1", "b3", card=False)]  # R42h: a list too
    on += across("z4", 11, "l20", "b3", "b4", card=False)
    p = plan([], state(board(), board("b3", l9="Nine")), moves=on, named={"b1"})
    assert [
        (u.object_id, u.action_id, u.other_board_id, u.other_board_name) for u in p.unrestorable
    ] == [
        ("c30", "f-z", "b4", "B4"),
        ("l20", "f-z3", "b4", "B4"),
    ]
    # R42h: a list that went on from a board read took its cards along: no line of theirs.
    went_on = [*across("w", 12, "l40", "b1", "b3", card=False)]
    went_on += across("w2", 13, "l40", "b3", "b4", card=False)
    p = plan(
        [], state(board(), board("b3", l9="Nine")), moves=went_on, named={"b1"},
        places=[(at(1), "c40", "l40")],
    )  # fmt: skip
    assert [(u.object_id, u.other_board_id) for u in p.unrestorable] == [("l40", "b4")]
    # One in the list now, with no place known, went with it and came back with it: no line.
    back = [*across("s", 14, "l1", "b1", "b2", card=False)]
    back += across("s2", 15, "l1", "b2", "b1", card=False)
    assert plan([], state(card(), board()), moves=back, named={"b1"}).unrestorable == ()


def crossing(
    aid: str, minute: float, lists: tuple[str, str], boards: tuple[str, str], by: str = "cul"
) -> tuple[list[MoveAction], list[FieldUpdate]]:
    """A card ``c1`` moved across boards, as ``history.py`` parses the two feeds' actions: the
    moves, and its list's changes (R47d): from the list it left to None on the board it left
    (``f-<aid>``), from None to the list it reached on the other (``t-<aid>``)."""
    (src_list, dst_list), (src, dst) = lists, boards
    ups = [
        upd(f"f-{aid}", "idList", src_list, None, minute, by, board=src),
        upd(f"t-{aid}", "idList", None, dst_list, minute, by, board=dst),
    ]
    return across(aid, minute, "c1", src, dst, by), ups


def test_a_card_moved_to_another_board_and_back_into_another_list() -> None:
    """R47d: a card moved to another board and back, into another list than it left, was not
    put back (its list said "outside_window": a move across boards is no ``updateCard``). Its
    moves across boards are changes of its list (None: on no list of this board), so the rule
    is the same as for a move within the board: back to the list it left, with every move as
    evidence, unless someone else moved it since; one that stayed away, or came from another
    board, is said by ``Cannot be restored`` alone (moving across boards is out of scope)."""
    m1, u1 = crossing("a", 5, ("l1", "l5"), ("b1", "b2"))  # Doing -> b2's Later
    m2, u2 = crossing("b", 6, ("l5", "l2"), ("b2", "b1"))  # back, into Done
    now = state(card(list_id="l2"), board(), board("b2", l5="Later"))
    planned = {"move_card_to_list c1 idList l1<-l2 f-a,f-b"}  # each move once (R48c)
    assert decisions(plan([*u1, *u2], now, moves=[*m1, *m2], named={"b1"})) == planned
    # Only b1's feed (b2 not read): the move away and the move back.
    only_b1 = [u1[0], u2[1]]
    p = plan(only_b1, state(card(list_id="l2"), board()), moves=[m1[0], m2[1]], named={"b1"})
    assert decisions(p) == {"move_card_to_list c1 idList l1<-l2 f-a,t-b"}
    assert p.unrestorable == ()
    # Back into the list it left: nothing to do.
    m3, u3 = crossing("c", 6, ("l5", "l1"), ("b2", "b1"))
    p = plan([*u1, *u3], state(card(), board()), moves=[*m1, *m3], named={"b1"})
    assert decisions(p) == {"skip c1 idList already_restored f-a"}
    # Brought back by someone else: their work is not clobbered (b1's feed alone too).
    m4, u4 = crossing("d", 6, ("l5", "l2"), ("b2", "b1"), by="alice")
    p = plan([*u1, *u4], now, moves=[*m1, *m4], named={"b1"}, by="cul")
    assert decisions(p) == {"skip c1 idList changed_by_others f-a alice@6"}  # one move, once
    p = plan([u1[0], u4[1]], now, moves=[m1[0], m4[1]], named={"b1"}, by="cul")
    assert decisions(p) == {"skip c1 idList changed_by_others f-a alice@6"}
    # On the board, though the log shows it leave and not come back: never a move to None,
    # and said (R48d: not left out of every line).
    p = plan(u1[:1], now, moves=m1[:1], named={"b1"})
    assert decisions(p) == {"skip c1 idList other_board f-a"}
    # Stayed away (on b2 now): no list change, the move's line alone.
    away = state(card(board_id="b2", list_id="l5"), board(), board("b2", l5="Later"))
    p = plan(u1, away, moves=m1, named={"b1"})
    assert decisions(p) == set()
    assert [(u.object_id, u.what) for u in p.unrestorable] == [("c1", "moved_to_other_board")]
    # Came from b2 in the window: the same.
    p = plan(u2, state(card(list_id="l2"), board()), moves=m2, named={"b1"})
    assert decisions(p) == set()
    assert [(u.object_id, u.what) for u in p.unrestorable] == [("c1", "moved_from_other_board")]
    # Gone to a board not read: the same.
    p = plan(u1[:1], state(board()), moves=m1[:1], named={"b1"}, infos=[CardInfo("c1")])
    assert decisions(p) == set()
    assert [(u.object_id, u.what) for u in p.unrestorable] == [("c1", "moved_to_other_board")]


def test_a_move_across_boards_leaves_before_it_arrives_whatever_the_ids() -> None:
    """The two actions of one move across boards have one date; their ids need not sort the
    move off the board first. The card leaves its list before it reaches the other board's,
    or the move back would begin at None and be ``other_board``."""
    away = [
        upd("z1", "idList", "l1", None, 5, board="b1"),
        upd("a1", "idList", None, "l5", 5, board="b2"),  # a lower id, the same instant
    ]
    back = [
        upd("z2", "idList", "l5", None, 6, board="b2"),
        upd("a2", "idList", None, "l2", 6, board="b1"),
    ]
    moves = [*across("x", 5, "c1", "b1", "b2"), *across("y", 6, "c1", "b2", "b1")]
    now = state(card(list_id="l2"), board(), board("b2", l5="Later"))
    p = plan([*away, *back], now, moves=moves, named={"b1"})
    assert decisions(p) == {"move_card_to_list c1 idList l1<-l2 z1,z2"}
    # R48a: nor need their dates be the same: an arrival dated a moment before the move off
    # (up to PAIR_WITHIN) is that move's; one further off is a move of its own.
    for skew in (-0.001, 0.001, -1.5 / 60):
        early = [replace(u, date=u.date + timedelta(minutes=skew)) if u.old is None else u
                 for u in (*away, *back)]  # fmt: skip
        p = plan(early, now, moves=moves, named={"b1"})
        assert decisions(p) == {"move_card_to_list c1 idList l1<-l2 z1,z2"}, skew
    apart = [replace(u, date=u.date - timedelta(seconds=3)) if u.old is None else u
             for u in (*away, *back)]  # fmt: skip
    # R48d: then its list's change is left alone as other_board, said, not left out of the
    # plan without a word (the move back is not said under Cannot be restored: it is back).
    p = plan(apart, now, moves=moves, named={"b1"})
    assert decisions(p) == {"skip c1 idList other_board a1"}
    assert p.unrestorable == ()


# ----------------------------------------------------------------------------------- helpers


@pytest.mark.parametrize(
    ("object_type", "field", "action"),
    [
        ("list", "closed", "set_list_closed"),
        ("card", "closed", "set_card_closed"),
        ("card", "idList", "move_card_to_list"),
        ("card", "desc", "set_card_field"),
    ],
)
def test_value_action(object_type: Any, field: str, action: str) -> None:
    assert value_action(object_type, field) == action


def test_same_value_and_card_value() -> None:
    assert same_value("due", "2025-01-01T01:00:00+01:00", "2025-01-01T00:00:00.000Z")
    assert not same_value("due", "2025-01-01", None)
    assert not same_value("name", "2025-01-01T00:00:00Z", "2025-01-01T00:00:00.000Z")
    c = card(due="d", due_complete=True, list_id="l2")
    assert [card_value(c, f) for f in ("idList", "dueComplete", "due", "closed")] == [
        "l2",
        True,
        "d",
        False,
    ]


def test_by_may_name_a_member_seen_only_in_field_changes_or_deletions() -> None:
    """``--by`` is checked against every member the history shows, the authors of field
    changes and deletions included (an automation's member may appear nowhere else)."""
    h = History(
        member_actions=(),
        moves=(),
        deleted_cards={"c9": "d9"},
        card_lists=(),
        cards={},
        members={},
        field_updates=(upd("u1", "name", "A", "B", 1, "auto-owner", app="Butler"),),
        deleted_when={"c9": (at(2), "deleter")},
    )
    now = state(card(), board())
    for who in ("auto-owner", "deleter"):
        got = resolve_filters(h, now, PlanOptions(since=T, by=who))
        assert (got.by, got.removed_by) == (who, who)
    with pytest.raises(UsageError, match="--by"):
        resolve_filters(h, now, PlanOptions(since=T, by="nobody"))


def test_a_card_on_no_board_read_is_other_board_only_for_a_change_in_the_window() -> None:
    """A card on none of the boards read (moved on to a board the plan does not read) with a
    field changed before the window is ``outside_window`` (R48a: a board not readable listed
    18 cards whose changes were a year old as other_board, with its long explanation); one
    changed in the window by someone ``--by`` leaves out, ``filtered``; by the culprit,
    ``other_board``."""
    infos = [CardInfo("c7", "Seven", "k7", "b1", "l1")]
    now = state(board())
    old = [upd("u1", "name", "A", "B", -5, obj="c7")]
    p = plan(old, now, infos=infos, named={"b1"})
    assert decisions(p) == {"skip c7 name outside_window None"}
    theirs = [upd("u2", "name", "A", "B", 5, "alice", obj="c7")]
    p = plan(theirs, now, infos=infos, named={"b1"}, by="cul")
    assert decisions(p) == {"skip c7 name filtered None"}
    ours = [upd("u3", "name", "A", "B", 5, obj="c7")]
    assert decisions(plan(ours, now, infos=infos, named={"b1"})) == {"skip c7 name other_board u3"}


def test_arrivals_pairs_each_arrival_with_the_nearest_move_off_of_another_board() -> None:
    """R50d: the pairing of a move's two records (``arrivals``) held only by the plans above.
    Each arrival pairs with the nearest move off *another* board within ``PAIR_WITHIN``,
    bounds included: two hops within two seconds each pair their own records; a board's own
    move off and arrival (one feed read, two moves) never pair."""
    from trello_restore.history import PAIR_WITHIN, arrivals

    def up(aid: str, seconds: float, old: str | None, new: str | None, board: str) -> FieldUpdate:
        return replace(upd(aid, "idList", old, new, 5, board=board), date=at(5) + timedelta(
            seconds=seconds))  # fmt: skip

    a_off, b_in = up("a-off", 0, "l1", None, "b1"), up("b-in", 0, None, "l5", "b2")
    b_off, c_in = up("b-off", 1, "l5", None, "b2"), up("c-in", 1, None, "l9", "b3")
    pairs = arrivals([a_off, b_in, b_off, c_in])
    assert {k: v.id for k, v in pairs.items()} == {"b-in": "a-off", "c-in": "b-off"}
    # One board's own records (b1 left, b1 reached a second later: two moves) do not pair.
    back = up("a-in", 1, None, "l2", "b1")
    assert arrivals([a_off, back]) == {}
    # PAIR_WITHIN is inclusive.
    edge = up("x-in", PAIR_WITHIN.total_seconds(), None, "l5", "b2")
    past = up("y-in", PAIR_WITHIN.total_seconds() + 0.001, None, "l5", "b2")
    assert set(arrivals([a_off, edge])) == {"x-in"}
    assert arrivals([a_off, past]) == {}


def test_a_card_on_no_board_read_with_changes_either_side_of_the_window() -> None:
    """R50d: a change before --since and one in the window that --by leaves out: filtered
    (a change lies in the window), not outside_window."""
    infos = [CardInfo("c7", "Seven", "k7", "b1", "l1")]
    ups = [
        upd("u1", "name", "A", "B", -5, obj="c7"),
        upd("u2", "name", "B", "C", 5, "alice", obj="c7"),
    ]
    p = plan(ups, state(board()), infos=infos, named={"b1"}, by="cul")
    assert decisions(p) == {"skip c7 name filtered None"}
    # Its other fields changed in the window while it moved off to a board not read: each is
    # said (other_board), only its list's change is left to Cannot be restored.
    moved = [*across("m", 6, "c7", "b1", "b8")]
    ups = [
        upd("f-m", "idList", "l1", None, 6, obj="c7"),
        upd("u3", "name", "A", "B", 5, obj="c7"),
    ]
    p = plan(ups, state(board()), infos=infos, moves=moved, named={"b1"})
    assert decisions(p) == {"skip c7 name other_board u3"}
    assert [(u.object_id, u.what) for u in p.unrestorable] == [("c7", "moved_to_other_board")]
