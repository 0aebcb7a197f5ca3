"""The value kinds (``trello_restore/kinds/values.py``, design.md §10): their pure deciders of
apply, undo and an interrupted write (``kinds/valuedeciders.py``), table by table over literal
live state (every branch); each kind's plan-file JSON against its schema fragment, its
consistency rule, its journal values both ways, its writes (to a recording stand-in) and its
text. No network here; the coverage gate holds ``kinds/values.py`` and
``kinds/valuedeciders.py`` to every branch with this file alone."""

from __future__ import annotations

import json
from dataclasses import replace
from datetime import UTC, datetime
from typing import Any

import jsonschema
import pytest

from trello_restore.journal_names import record_names
from trello_restore.kinds import (
    CardClosed,
    CardField,
    CardMove,
    ChangeKind,
    Context,
    Decision,
    ListClosed,
    Resolution,
    ValueKind,
    WriteRule,
    decide_value,
    decide_value_undo,
    in_order,
    kind_of,
    resolve_value,
)
from trello_restore.kinds.valuedeciders import SET, UNSET, same
from trello_restore.kinds.valuetext import desc_diff, named_label, show, shown_pair
from trello_restore.live import LiveBoard
from trello_restore.models import (
    CardState,
    Change,
    Evidence,
    FieldValue,
    MemberRef,
    PlanOptions,
    ValueChange,
)
from trello_restore.planschema import build_schema

from .test_kinds import Recorder

T = datetime(2026, 10, 20, 9, 30, tzinfo=UTC)
CULPRIT = MemberRef("cul", "culprit")
EVIDENCE = Evidence("field_update", "a1", T, CULPRIT)
DUE_OLD = "2026-10-01T12:00:00.000Z"
DUE_NEW = "2026-11-02T00:00:00.000Z"
GONE_CARD = "the card was deleted or moved to another board"
GONE_LIST = "the list was deleted or moved to another board"


def vc(action: str, field: str, value: FieldValue, expected: FieldValue, **kw: Any) -> ValueChange:
    """A value change on card ``k1`` (or, for ``set_list_closed``, list ``l1``) of board
    ``b1``."""
    base: dict[str, Any] = {
        "change_id": "c-00000000000000f1",
        "action": action,
        "board_id": "b1",
        "board_name": "Team",
        "list_id": "l1",
        "list_name": "Doing",
        "evidence": EVIDENCE,
        "field": field,
        "value": value,
        "expected": expected,
        "actions": ("a1",),
    }
    if action == "set_list_closed":
        base["object_type"] = "list"
    else:
        base |= {"card_id": "k1", "card_name": "Ship it", "card_short_link": "AbCd1234"}
    return ValueChange(**(base | kw))


UNARCHIVE = vc("set_card_closed", "closed", False, True)
MOVE = vc("move_card_to_list", "idList", "l2", "l1", value_name="Next")
LIST_OPEN = vc("set_list_closed", "closed", False, True)
DUE = vc("set_card_field", "due", DUE_OLD, DUE_NEW)
DESC = vc("set_card_field", "desc", "old text\nsecond line", "new text")


def live(
    *,
    gone: str | None = None,
    card_board: str | None = "b1",
    lists: dict[str, bool] | None = None,
    list_names: dict[str, str] | None = None,
    **card: Any,
) -> LiveBoard:
    """Board ``b1`` now: card ``k1`` (on ``card_board``; None: no such card) with ``card``'s
    fields (``closed``, ``list_id``, ``desc``, ``due``, …), ``lists`` (list id → archived;
    None: not read) and ``list_names`` (list id → name, as the live read names them);
    ``gone``: the board cannot be read, and why."""
    if gone is not None:
        return LiveBoard("b1", None, {}, gone)
    cards = {}
    if card_board is not None:
        fields: dict[str, Any] = {"closed": False, "list_id": "l1"} | card
        closed, list_id = fields.pop("closed"), fields.pop("list_id")
        cards["k1"] = CardState(
            "k1", "Ship it", "AbCd1234", card_board, list_id, closed, (), **fields
        )
    return LiveBoard("b1", cards, {}, lists=lists, list_names=list_names or {})


# ----------------------------------------------------------------------------- deciders


#: What ``decide_value`` says of a change whose plan names another card than the one under
#: its card id (the plan edited to another card's id).
OTHER_CARD = (
    "drifted",
    "the plan names card XyZw9876; Trello's card k1 is AbCd1234 (the plan was edited): "
    "make a new plan",
)


@pytest.mark.parametrize(
    ("board", "resumed", "want"),
    [
        (live(closed=True), False, OTHER_CARD),  # the write would go to another card
        (live(closed=False), False, OTHER_CARD),  # at the target: not "already satisfied"
        (live(closed=False), True, ("applied", "")),  # this tool's own killed run's write
        (live(closed=True), True, OTHER_CARD),
    ],
)  # fmt: skip
def test_a_card_the_plan_names_otherwise_drifts(
    board: LiveBoard, resumed: bool, want: Decision
) -> None:
    """A value change whose card id holds another card than the plan's shortLink names is
    drifted, nothing written; a plan without a shortLink, or a list's change, is not checked."""
    edited = replace(UNARCHIVE, card_short_link="XyZw9876")
    assert decide_value(edited, board, resumed=resumed) == want
    unnamed = replace(UNARCHIVE, card_short_link="")
    assert decide_value(unnamed, live(closed=True), resumed=False) is None
    assert decide_value(LIST_OPEN, live(lists={"l1": True}), resumed=False) is None


def test_a_move_back_only_to_a_list_of_the_card_s_board() -> None:
    """The board's lists are read for a card move: a target list that is not one of them (a
    plan edited by hand to name another board's list) is left alone, never written."""
    assert kind_of(MOVE.action).reads_lists
    ctx = Context(resumed=False, dry_run=False, needed="applied")
    on_board = live(list_id="l1", lists={"l1": False, "l2": False})
    assert kind_of(MOVE.action).decide(MOVE, on_board, ctx) is None
    elsewhere = live(list_id="l1", lists={"l1": False})
    assert kind_of(MOVE.action).decide(MOVE, elsewhere, ctx) == (
        "drifted",
        'list "Next" (l2) is not a list of the card\'s board (moving cards across boards is out '
        "of scope): left alone",
    )
    unnamed = replace(MOVE, value_name="")
    assert kind_of(MOVE.action).decide(unnamed, elsewhere, ctx) == (
        "drifted",
        "list l2 is not a list of the card's board (moving cards across boards is out of "
        "scope): left alone",
    )


def test_a_card_is_moved_only_to_the_list_the_plan_names() -> None:
    """A list Trello names otherwise than the plan (its id edited by hand, or the list renamed
    since) gets no card (R36c: the cards went to Backlog while the report said "Done"); one
    named as the plan names it, or a plan without the name, or a card there already, is as
    before."""
    ctx = Context(resumed=False, dry_run=False, needed="applied")
    lists = {"l1": False, "l2": False}
    renamed = live(list_id="l1", lists=lists, list_names={"l1": "Doing", "l2": "Backlog"})
    assert kind_of(MOVE.action).decide(MOVE, renamed, ctx) == (
        "drifted",
        'the plan names this list "Next"; Trello calls list l2 "Backlog" now (renamed, or the '
        "plan was edited): left alone; make a new plan",
    )
    named = live(list_id="l1", lists=lists, list_names={"l2": "Next"})
    assert kind_of(MOVE.action).decide(MOVE, named, ctx) is None
    assert kind_of(MOVE.action).decide(replace(MOVE, value_name=""), renamed, ctx) is None
    there = live(list_id="l2", lists=lists, list_names={"l2": "Backlog"})
    assert kind_of(MOVE.action).decide(MOVE, there, ctx) == ("already_satisfied", "")


@pytest.mark.parametrize(
    ("change", "board", "resumed", "want"),
    [
        (UNARCHIVE, live(gone="board gone (x)"), False, ("drifted", "board gone (x)")),
        (UNARCHIVE, live(card_board=None), False, ("drifted", GONE_CARD)),
        (UNARCHIVE, live(card_board="b2", closed=True), False, ("drifted", GONE_CARD)),
        (LIST_OPEN, live(), False, ("drifted", GONE_LIST)),  # lists not read
        (LIST_OPEN, live(lists={"l2": True}), False, ("drifted", GONE_LIST)),
        (UNARCHIVE, live(closed=False), False, ("already_satisfied", "")),
        (UNARCHIVE, live(closed=False), True, ("applied", "")),
        (UNARCHIVE, live(closed=True), False, None),
        (UNARCHIVE, live(closed=True), True, None),
        (LIST_OPEN, live(lists={"l1": True}), False, None),
        (LIST_OPEN, live(lists={"l1": False}), False, ("already_satisfied", "")),
        (MOVE, live(list_id="l1"), False, None),
        (MOVE, live(list_id="l2"), True, ("applied", "")),
        # A list by its name: the live read's (Trello's now), else the plan's; else its id.
        (MOVE, live(list_id="l3"), False,
         ("drifted", 'its list was changed since (now l3, expected "Doing"): left alone')),
        (MOVE, live(list_id="l3", list_names={"l3": "Review", "l1": "Done"}), False,
         ("drifted", 'its list was changed since (now "Review", expected "Done"): left alone')),
        (replace(MOVE, list_name=""), live(list_id="l3"), False,
         ("drifted", "its list was changed since (now l3, expected l1): left alone")),
        # Two lists of one name: their ids too.
        (MOVE, live(list_id="l3", list_names={"l3": "Doing"}), False,
         ("drifted", 'its list was changed since (now "Doing" (l3), expected "Doing" (l1)): '
                     "left alone")),
        (DUE, live(due="2026-11-02T00:00:00Z"), False, None),  # the same instant
        (DUE, live(due=None), False,
         ("drifted", "its due was changed since (now none, expected 2026-11-02): left alone")),
        (DUE, live(due=DUE_OLD), False, ("already_satisfied", "")),
        # Two values the text shows alike: a date's seconds, Trello's own form; a long
        # description's first line and length, said to differ further on.
        (DUE, live(due="2026-11-02T00:00:00.500Z"), False,
         ("drifted", "its due was changed since (now 2026-11-02T00:00:00.500Z, expected "
                     "2026-11-02T00:00:00.000Z): left alone")),
        (DUE, live(due="2026-11-02T00:00:01.000Z"), False,
         ("drifted", "its due was changed since (now 2026-11-02 00:00:01 UTC, expected "
                     "2026-11-02): left alone")),
        (DUE, live(due="soon"), False,
         ("drifted", "its due was changed since (now soon, expected 2026-11-02): left alone")),
        (DESC, live(desc="new tent"), False,
         ("drifted", 'its desc was changed since (now "new tent" (8 chars), expected '
                     '"new text" (8 chars)): left alone')),
        (vc("set_card_field", "desc", "x", "first\nsame line"), live(desc="first\nsame lime"),
         False, ("drifted", 'its desc was changed since (now "first" (15 chars), from '
                            'character 14 "me", expected "first" (15 chars), from character '
                            '14 "ne"): left alone')),
        (DESC, live(desc="new text"), False, None),
        (DESC, live(desc="new text, edited by hand"), False,
         ("drifted", 'its desc was changed since (now "new text, edited by hand" (24 chars), '
                     'expected "new text" (8 chars)): left alone')),
        (vc("set_card_field", "dueComplete", False, True), live(due_complete=True), False, None),
        (vc("set_card_field", "start", None, DUE_NEW), live(start=DUE_NEW), False, None),
        (vc("set_card_field", "name", "Old", "Ship it"), live(), False, None),
        (vc("set_card_field", "pos", "1", "2"), live(), False, ("drifted", GONE_CARD)),
    ],
)  # fmt: skip
def test_decide_value(change: ValueChange, board: LiveBoard, resumed: bool, want: Decision) -> None:
    """Write the target only where the live value is the one the plan expects; the target
    there already is done (this tool's after a killed run's write); anything else drifted."""
    assert decide_value(change, board, resumed=resumed) == want
    ctx = Context(resumed=resumed, dry_run=True, needed="applied")
    assert kind_of(change.action).decide(change, board, ctx) == want


@pytest.mark.parametrize(
    ("change", "board", "resumed", "want"),
    [
        (UNARCHIVE, live(gone="gone (x)"), True, ("drifted", "gone (x)")),
        (UNARCHIVE, live(card_board=None), True, ("drifted", GONE_CARD)),
        (UNARCHIVE, live(closed=False), False, None),  # still the value written: undo it
        (UNARCHIVE, live(closed=False), True, None),
        (UNARCHIVE, live(closed=True), True, ("undone", "")),  # a killed undo's write, made
        # Back to the value seen by hand: the undo's goal, reached; nothing to write.
        (UNARCHIVE, live(closed=True), False, ("already_satisfied", "")),
        (MOVE, live(list_id="l3"), True,
         ("drifted", 'its list was changed since (now l3, expected "Next"): left alone')),
        (MOVE, live(list_id="l3", list_names={"l3": "Review"}), True,
         ("drifted", 'its list was changed since (now "Review", expected "Next"): left alone')),
        (MOVE, live(list_id="l1"), False, ("already_satisfied", "")),  # moved back by hand
        (LIST_OPEN, live(lists={"l1": False}), False, None),
    ],
)  # fmt: skip
def test_decide_value_undo(
    change: ValueChange, board: LiveBoard, resumed: bool, want: Decision
) -> None:
    """Write the seen value back only where the live value is still the one written."""
    assert decide_value_undo(change, board, resumed=resumed) == want
    assert kind_of(change.action).decide_undo(change, board, resumed=resumed) == want


THIRD = (
    "neither the value seen before the interrupted write nor the one written: changed since by "
    "someone else, left alone"
)


@pytest.mark.parametrize(
    ("change", "board", "want"),
    [
        (UNARCHIVE, live(gone="the board is gone (x)"), (None, "the board is gone (x)")),
        (UNARCHIVE, live(gone=""), (None, "the board cannot be read")),
        (LIST_OPEN, live(lists={}), (None, GONE_LIST)),
        (UNARCHIVE, live(closed=False), ("applied", SET)),
        (UNARCHIVE, live(closed=True), ("not_applied", UNSET)),
        (MOVE, live(list_id="l3"), ("drifted", f"its list is now l3, {THIRD}")),
        (MOVE, live(list_id="l3", list_names={"l3": "Review"}),
         ("drifted", f'its list is now "Review", {THIRD}')),
    ],
)  # fmt: skip
def test_resolve_value(change: ValueChange, board: LiveBoard, want: Resolution) -> None:
    """An interrupted write: the written value there is this tool's, the seen one means it
    never took effect, a third value is someone's since (left alone, whether or not the write
    took effect), the object gone cannot tell."""
    assert resolve_value(change, board) == want
    assert kind_of(change.action).resolve(change, board) == want


@pytest.mark.parametrize(
    ("field", "a", "b", "want"),
    [
        ("due", "2026-10-01T12:00:00.000Z", "2026-10-01T12:00:00Z", True),
        ("due", "2026-10-01T12:00:00Z", "2026-10-01T12:00:01Z", False),
        ("due", "not a date", "not a date", True),
        ("due", "not a date", "2026-10-01T12:00:00Z", False),
        ("due", None, None, True),
        ("name", "2026-10-01T12:00:00.000Z", "2026-10-01T12:00:00Z", False),
        ("closed", False, 0, False),  # a flag is never a number
    ],
)
def test_same(field: str, a: object, b: object, want: bool) -> None:
    """Dates compare as instants, everything else exactly, types included."""
    assert same(field, a, b) is want


# --------------------------------------------------------------------- plan file, schema


KINDS_AND_CHANGES = [
    (CardClosed(), UNARCHIVE),
    (CardMove(), MOVE),
    (ListClosed(), LIST_OPEN),
    (CardField(), DUE),
    (CardField(), DESC),
    (CardField(), vc("set_card_field", "dueComplete", True, False)),
    (CardField(), vc("set_card_field", "start", None, DUE_NEW, actions=("a1", "a2"))),
    (CardField(), vc("set_card_field", "name", "Old", "New",
                     evidence=Evidence("field_update", "a9", T, CULPRIT, app="Butler"))),
]  # fmt: skip


@pytest.mark.parametrize(("kind", "change"), KINDS_AND_CHANGES)
def test_json_round_trip_and_schema(kind: ValueKind, change: ValueChange) -> None:
    """``to_json`` gives what the kind's fragment of the version 2 schema accepts;
    ``from_json`` gives the change back."""
    doc = kind.to_json(change)
    assert doc["action"] == kind.action
    assert ("card" in doc) is (kind.object_type == "card")
    schema = build_schema(2)
    fragment = {"$defs": schema["$defs"], **schema["$defs"][kind.schema_name]}
    jsonschema.Draft202012Validator(fragment).validate(doc)
    assert kind.from_json(json.loads(json.dumps(doc))) == change
    assert kind.to_json(kind.from_json(doc)) == doc


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("due", "next tuesday"),
        ("due", True),
        ("dueComplete", "yes"),
        ("desc", None),
        ("name", 3),
        ("labels", "x"),
    ],
)
def test_schema_types_each_field(field: str, value: object) -> None:
    """A hand edit that gives a field a value of the wrong type is refused by the schema."""
    doc = CardField().to_json(DUE) | {"field": field, "value": value}
    schema = build_schema(2)
    fragment = {"$defs": schema["$defs"], **schema["$defs"]["card_field_change"]}
    with pytest.raises(jsonschema.ValidationError):
        jsonschema.Draft202012Validator(fragment).validate(doc)


def test_version_1_has_no_value_kind() -> None:
    """The value kinds are version 2: version 1's schema and order stay the member kinds'."""
    assert all(k.format_version == 2 for k in (CardClosed(), CardMove(), ListClosed(), CardField()))
    v1 = build_schema(1)["$defs"]["change"]["properties"]["action"]["enum"]
    assert v1 == ["add_member_to_card", "add_member_to_board"]
    v2 = build_schema(2)["$defs"]["change"]["properties"]["action"]["enum"]
    assert set(v2) - set(v1) == {
        "set_list_closed",
        "move_card_to_list",
        "set_card_closed",
        "set_card_field",
    }
    with pytest.raises(ValueError, match="no plan schema for format_version 3"):
        build_schema(3)
    orders = {k.action: k.order for k in in_order()}
    assert (
        orders["add_member_to_board"]
        < orders["set_list_closed"]
        < orders["move_card_to_list"]
        < orders["set_card_closed"]
        < orders["set_card_field"]
        < orders["add_member_to_card"]
    )


def test_a_value_change_without_evidence_or_of_another_type() -> None:
    """The planner gives every value change its evidence and makes it a ``ValueChange``: a
    change without either is a bug, said so."""
    bare = ValueChange("c-x", "set_card_closed", "b1", "Team", card_id="k1", value=False)
    with pytest.raises(ValueError, match="c-x has no evidence"):
        CardClosed().to_json(bare)
    assert CardClosed().evidence(bare, verbose=True) == ""
    plain = Change("c-y", "set_card_closed", "b1", "Team", MemberRef(""), card_id="k1")
    with pytest.raises(TypeError, match=r"c-y \(set_card_closed\) is not a ValueChange"):
        CardClosed().describe(plain)


def test_plan_problem() -> None:
    """A change that sets a field to the value it expects to find is no change (a hand edit)."""
    options = PlanOptions(since=T, restore=frozenset({"archived"}))
    assert CardClosed().plan_problem(UNARCHIVE, options, set()) is None
    same_value = vc("set_card_closed", "closed", True, True)
    assert CardClosed().plan_problem(same_value, options, set()) == (
        "sets closed to the value it is expected to have already"
    )
    assert (CardClosed().needs(UNARCHIVE), CardClosed().provides(UNARCHIVE)) == (None, None)


# ------------------------------------------------------------------------------- journal


@pytest.mark.parametrize(("kind", "change"), KINDS_AND_CHANGES)
def test_journal_values_both_ways(kind: ValueKind, change: ValueChange) -> None:
    """An apply record holds the value seen before the write (the expected one) and the one
    written (the target); an undo record the reverse; the change rebuilt from an apply
    record decides, writes, undoes and resolves like the plan's own."""
    applied = kind.record_values(change, "apply")
    assert applied["seen"] == change.expected
    assert applied["written"] == change.value
    assert applied["field"] == change.field
    assert applied["object_type"] == change.object_type
    assert applied["object_id"] == (
        change.list_id if change.object_type == "list" else change.card_id
    )
    undone = kind.record_values(change, "undo")
    assert (undone["seen"], undone["written"]) == (change.value, change.expected)
    ids = Change(change.change_id, change.action, "b1", "", MemberRef(""), card_id=change.card_id)
    back = kind.from_record(ids, json.loads(json.dumps(applied)))
    assert isinstance(back, ValueChange)
    assert (back.field, back.value, back.expected) == (change.field, change.value, change.expected)
    assert (back.object_type, back.card_id) == (change.object_type, change.card_id)
    # A card move's list is the one its card was in (the value seen), as the plan's is.
    moved = change.field == "idList"
    assert back.list_id == (
        change.expected if moved else change.list_id if change.object_type == "list" else ""
    )
    with pytest.raises(ValueError, match="holds no values"):
        kind.from_record(ids, None)


# ---------------------------------------------------------------------------- writes


@pytest.mark.parametrize(
    ("change", "write", "remove"),
    [
        (UNARCHIVE, ("set_card_closed", "k1", False), ("set_card_closed", "k1", True)),
        (LIST_OPEN, ("set_list_closed", "l1", False), ("set_list_closed", "l1", True)),
        (MOVE, ("move_card", "k1", "l2"), ("move_card", "k1", "l1")),
        (DUE, ("set_card_field", "k1", "due", DUE_OLD), ("set_card_field", "k1", "due", DUE_NEW)),
        (vc("set_card_field", "due", None, DUE_NEW),
         ("set_card_field", "k1", "due", None), ("set_card_field", "k1", "due", DUE_NEW)),
    ],
)  # fmt: skip
def test_writes_and_removals(
    change: ValueChange, write: tuple[Any, ...], remove: tuple[Any, ...]
) -> None:
    """One call each: the target written; undo writes the value seen before the apply back
    (no date clears one)."""
    api = Recorder()
    kind = kind_of(change.action)
    kind.write(api, change)  # type: ignore[arg-type]
    kind.remove(api, change)  # type: ignore[arg-type]
    assert api.calls == [write, remove]
    assert kind.write_rule(True) == WriteRule("applied", resumed=True)
    assert kind.undo_rule(False) == WriteRule("undone")
    assert kind.undone_by_default
    assert not kind.blockable


def test_what_each_kind_reads() -> None:
    """Live state reads a board's lists only for the list kind and card moves (to check the
    target list is on the card's board), and its cards' value fields only for the card value
    kinds (a member-only apply reads what it always read)."""
    assert [k.action for k in in_order() if k.reads_lists] == [
        "set_list_closed",
        "move_card_to_list",
    ]
    assert [k.action for k in in_order() if k.reads_card_fields] == [
        "move_card_to_list",
        "set_card_closed",
        "set_card_field",
    ]


def test_cannot_tell_lines() -> None:
    """What to check by hand when live state cannot settle an interrupted write: the card or
    list and its board by the names the change carries (a card with its link, a move's lists
    by their names), by ids where it carries none."""
    assert CardField().cannot_tell(DUE, "gone") == (
        'cannot tell whether the interrupted write of due of card "Ship it" '
        '(https://trello.com/c/AbCd1234) on board "Team" took effect: gone; check it by hand '
        "and set it back to 2026-11-02 if it was set to 2026-10-01 12:00 UTC by this tool"
    )
    assert (
        ListClosed()
        .cannot_tell(LIST_OPEN, "gone")
        .startswith(
            'cannot tell whether the interrupted write of closed of list "Doing" on board "Team" '
            "took effect: gone; "
        )
    )
    assert (
        CardMove()
        .cannot_tell(MOVE, "gone")
        .endswith('set it back to "Doing" if it was set to "Next" by this tool')
    )
    bare = replace(MOVE, board_name="", card_name="", card_short_link="", list_name="")
    assert CardMove().cannot_tell(replace(bare, value_name=""), "gone") == (
        "cannot tell whether the interrupted write of idList of card k1 on board b1 took "
        "effect: gone; check it by hand and set it back to l1 if it was set to l2 by this tool"
    )
    quoted = replace(LIST_OPEN, list_name='To "do"\n', board_name="")
    assert (
        ListClosed()
        .cannot_tell(quoted, "gone")
        .startswith(
            'cannot tell whether the interrupted write of closed of list "To \\"do\\"\\n" on '
            "board b1 took effect"
        )
    )


@pytest.mark.parametrize(("kind", "change"), KINDS_AND_CHANGES)
def test_a_change_read_back_from_its_journal_keeps_the_names_its_record_kept(
    kind: ValueKind, change: ValueChange
) -> None:
    """Undo and the one-shot run read an interrupted write back from its journal record
    (``from_record``): the names the apply's record kept (``journal_names.record_names``) come back
    with it, so that what cannot be told names the card or list as the plan did; a record
    without names (an earlier version's), or with names that are not text, gives the ids."""
    ids = Change(change.change_id, change.action, "b1", "", MemberRef(""), card_id=change.card_id)
    values = kind.record_values(change, "apply")
    back = kind.from_record(ids, values | {"names": record_names(change)})
    assert kind.cannot_tell(back, "gone") == kind.cannot_tell(change, "gone")
    assert "k1" not in kind.cannot_tell(back, "gone")
    unnamed = kind.from_record(ids, values)
    assert "on board b1 took effect" in kind.cannot_tell(unnamed, "gone")
    odd = {"board": 7, "card": ["x"], "list": None, "lists": {"l2": 1}}
    assert kind.from_record(ids, values | {"names": odd}) == unnamed
    assert kind.from_record(ids, values | {"names": "Team"}) == unnamed


# ------------------------------------------------------------------------------ text


@pytest.mark.parametrize(
    ("field", "value", "text"),
    [
        ("due", None, "none"),
        ("dueComplete", True, "complete"),
        ("dueComplete", False, "not complete"),
        ("closed", True, "archived"),
        ("closed", False, "open"),
        ("due", "2026-11-02T00:00:00.000Z", "2026-11-02"),
        ("start", "2026-11-02T09:30:00.000Z", "2026-11-02 09:30 UTC"),
        ("due", "soon", "soon"),
        ("desc", "", "empty"),
        ("desc", "one\ntwo", '"one" (7 chars)'),
        ("desc", "x" * 70, '"' + "x" * 59 + '…" (70 chars)'),
        ("name", "Ship it", '"Ship it"'),
        ("idList", "l1", "l1"),
    ],
)
def test_show(field: str, value: FieldValue, text: str) -> None:
    """How a value reads in the plan: dates short, descriptions as first line and length."""
    assert show(field, value) == text


def test_show_names_a_list() -> None:
    """A list by its name when one is known (quoted as a message quotes names), else its id;
    only ``idList`` values are looked up."""
    names = {"l1": 'Team "A"', "l2": ""}
    assert show("idList", "l1", names) == '"Team \\"A\\""'
    assert show("idList", "l2", names) == "l2"
    assert show("idList", "l3", names) == "l3"
    assert show("name", "l1", names) == '"l1"'


def test_desc_diff() -> None:
    """A unified diff from the description now to the one restored."""
    assert desc_diff("new text", "old text\nsecond line") == [
        "--- now",
        "+++ restored",
        "@@ -1 +1,2 @@",
        "-new text",
        "+old text",
        "+second line",
    ]


def test_desc_diff_keeps_each_line_one_line() -> None:
    """A description's control characters are escaped in its diff (a tab aside) and its
    lines split at line feeds only, so a carriage return, a line separator and a bidi
    override are characters of their line: no line of the plan's text comes from a
    description, and a change of line endings shows (review R43b)."""
    assert desc_diff("a", "a\x0bb\x1b[2J\tc\r\nd") == [
        "--- now", "+++ restored", "@@ -1 +1,2 @@", "-a", "+a\\x0bb\\x1b[2J\tc\\r", "+d"
    ]  # fmt: skip
    assert desc_diff("a\nb\nc\n", "a\rb\rc\r") == [
        "--- now", "+++ restored", "@@ -1,4 +1 @@", "-a", "-b", "-c", "-", "+a\\rb\\rc\\r"
    ]  # fmt: skip
    assert desc_diff("abc\n\nline", "abc \n\nline\t") == [  # spaces at a line's end show
        "--- now", "+++ restored", "@@ -1,3 +1,3 @@", "-abc", "+abc\\x20", " ", "-line",
        "+line\\t",
    ]  # fmt: skip
    assert desc_diff("x\ny", "RTL: \u202eabc\u202c\u2028sep") == [
        "--- now", "+++ restored", "@@ -1,2 +1 @@", "-x", "-y",
        "+RTL: \\u202eabc\\u202c\\u2028sep",
    ]  # fmt: skip


@pytest.mark.parametrize(
    ("field", "now", "restored", "want"),
    [
        ("desc", "a\nb\nc\n", "a\rb\rc\r",
         ('"a" (6 chars), from character 2 "\\nb\\nc\\n"',
          '"a" (6 chars), from character 2 "\\rb\\rc\\r"')),
        ("desc", "x\ny", "x\u2028y",
         ('"x" (3 chars), from character 2 "\\ny"', '"x" (3 chars), from character 2 "\\u2028y"')),
        ("name", "Caf\u00e9", "Cafe\u0301",
         ('"Caf\u00e9", from character 4 "\\xe9"', '"Cafe\u0301", from character 4 "e\\u0301"')),
        ("name", 'say "hi"', 'say "ho"',
         ('"say \\"hi\\""', '"say \\"ho\\""')),
        ("name", "ab", "ab ", ('"ab"', '"ab "')),
        ("due", "2026-03-15T10:30:45.456Z", "2026-03-15T10:30:45.123Z",
         ("2026-03-15T10:30:45.456Z", "2026-03-15T10:30:45.123Z")),
        ("due", "2026-03-15T10:30:45.000Z", "2026-03-16T10:30:45.000Z",
         ("2026-03-15 10:30:45 UTC", "2026-03-16 10:30:45 UTC")),
        ("idList", "l1", "l2", ('"Doing" (l1)', '"Doing" (l2)')),
        ("desc", "same", "same", ('"same" (4 chars)', '"same" (4 chars)')),
    ],
)  # fmt: skip
def test_shown_pair_tells_apart_what_looks_alike(
    field: str, now: str, restored: str, want: tuple[str, str]
) -> None:
    """Two different values the plan's text would show alike (a line ending, a line separator,
    a Unicode form, milliseconds of a date, two lists of one name) are each shown with what
    tells them apart: a plan line never reads as a change to the value already there (R43b)."""
    assert shown_pair(field, now, restored, {"l1": "Doing", "l2": "Doing"}) == want
    assert show("desc", 'Say "hi"\r\n\x1b') == '"Say \\"hi\\"" (11 chars)'


def test_named_label() -> None:
    """An undo's line for a value change by the names its apply record kept, quoted as
    messages quote names; ids where a name is missing or not text; None without names."""
    move = vc("move_card_to_list", "idList", "l2", "l1")
    names = {"board": 'Team "A"', "card": "Ship\nit", "short_link": "AbCd1234",
             "lists": {"l2": "Next", "l1": ["not text"]}}  # fmt: skip
    assert named_label(names, move) == (
        'idList of card "Ship\\nit" (https://trello.com/c/AbCd1234) on board "Team \\"A\\"": '
        '"Next" → l1'
    )
    assert named_label({"board": 7, "lists": "x"}, move) == "idList of card k1 on board b1: l2 → l1"
    assert named_label({"list": "Doing"}, LIST_OPEN) == (
        'closed of list "Doing" on board b1: open → archived'
    )
    assert named_label({"board": "Team"}, DUE) == (
        'due of card k1 on board "Team": 2026-10-01 12:00 UTC → 2026-11-02'
    )
    assert named_label({}, move) is None
    assert named_label(["x"], move) is None
    member = Change("m", "add_member_to_card", "b1", "Team", CULPRIT, card_id="k1")
    assert named_label({"board": "Team"}, member) is None


@pytest.mark.parametrize(
    ("kind", "change", "heading", "describe", "label"),
    [
        (ListClosed(), LIST_OPEN, "Would restore the archive state of lists (2)", "unarchive",
         'unarchive list "Doing"'),
        (ListClosed(), vc("set_list_closed", "closed", True, False, list_name=""),
         "Would restore the archive state of lists (2)", "archive", "archive list l1"),
        (CardMove(), MOVE, "Would move cards back to their lists (2)",
         'move back to list "Next" (from "Doing")',
         'card "Ship it" (https://trello.com/c/AbCd1234): move back to list "Next" (from '
         '"Doing")'),
        (CardMove(), vc("move_card_to_list", "idList", "l2", "l1", list_name="",
                        card_name="", card_short_link=""),
         "Would move cards back to their lists (2)", "move back to list l2 (from l1)",
         "card k1: move back to list l2 (from l1)"),
        (CardClosed(), UNARCHIVE, "Would restore the archive state of cards (2)", "unarchive",
         'unarchive card "Ship it" (https://trello.com/c/AbCd1234)'),
        (CardField(), DUE, "Would restore card fields (2)",
         "due 2026-11-02 → restored to 2026-10-01 12:00 UTC",
         'due of card "Ship it" (https://trello.com/c/AbCd1234)'),
    ],
)  # fmt: skip
def test_text(
    kind: ChangeKind, change: ValueChange, heading: str, describe: str, label: str
) -> None:
    """Headings, plan lines and outcome labels of each kind."""
    assert kind.heading("Would", 2) == heading
    assert kind.describe(change) == describe
    assert kind.label(change) == label
    assert kind.grouped


@pytest.mark.parametrize(
    ("change", "verbose", "text"),
    [
        (UNARCHIVE, False, "changed by @culprit 2026-10-20 09:30:00 UTC"),
        (UNARCHIVE, True, "changed by @culprit 2026-10-20 09:30:00 UTC [action a1]"),
        (vc("set_card_closed", "closed", False, True, actions=("a1", "a2")), True,
         "changed by @culprit 2026-10-20 09:30:00 UTC (2 changes) [actions a1, a2]"),
        (vc("set_card_field", "due", None, DUE_NEW,
            evidence=Evidence("field_update", "a9", T, CULPRIT, app="Butler")), False,
         "changed by Butler (app, on behalf of @culprit) 2026-10-20 09:30:00 UTC"),
        (DESC, False, "changed by @culprit 2026-10-20 09:30:00 UTC"),
        (DESC, True, "changed by @culprit 2026-10-20 09:30:00 UTC [action a1]"
                     "\n          --- now\n          +++ restored\n          @@ -1 +1,2 @@"
                     "\n          -new text\n          +old text\n          +second line"),
    ],
)  # fmt: skip
def test_evidence_text(change: ValueChange, verbose: bool, text: str) -> None:
    """Who changed it and when (an automation by its app), how many selected changes, and
    under ``-v`` the action ids and, for a description, the diff."""
    assert kind_of(change.action).evidence(change, verbose) == text


def test_unnamed() -> None:
    """An outcome without its plan (undo) is named by ids."""
    assert CardField().unnamed("", "b1", "k1") == "card field of card k1"
    assert ListClosed().unnamed("", "b1", "") == "list archive state of a list on board b1"


@pytest.mark.parametrize(
    ("change", "label"),
    [
        (LIST_OPEN, "closed of list l1 on board b1: open → archived"),
        (DUE, "due of card k1 on board b1: 2026-10-01 12:00 UTC → 2026-11-02"),
        (MOVE, "idList of card k1 on board b1: l2 → l1"),
    ],
)
def test_journal_label(change: ValueChange, label: str) -> None:
    """Undo names a value change by its object (a list by the list, not only its board), the
    field, the value the apply wrote and the one it found there (what undo writes back)."""
    assert kind_of(change.action).journal_label(change) == label


@pytest.mark.parametrize(
    ("status", "word", "count"),
    [
        ("would_apply", "would restore", None),
        ("applied", "restored", None),
        ("already_satisfied", "already restored", None),
        ("would_undo", "would revert", "would be reverted"),
        ("undone", "reverted", "reverted"),
        ("not_on_card", "nothing to undo", "nothing to undo"),
        ("drifted", None, None),
    ],
)
def test_outcome_words(status: str, word: str | None, count: str | None) -> None:
    """The value kinds' words for an outcome line and a summary count; None where the
    report's plain words read right (applied, drifted, failed)."""
    for kind in (ListClosed(), CardMove(), CardClosed(), CardField()):
        assert kind.outcome_word(status) == word
        assert kind.count_word(status) == count


@pytest.mark.parametrize(
    ("action", "values", "problem"),
    [
        ("set_card_field", {"field": "due", "seen": None, "written": "2025-01-01"}, None),
        ("set_card_field", {"field": "desc", "seen": "a", "written": "b", "names": {}}, None),
        ("set_card_closed", {"field": "closed", "seen": True, "written": False}, None),
        ("set_list_closed", {"field": "closed", "seen": True, "written": False}, None),
        ("move_card_to_list", {"field": "idList", "seen": "l1", "written": "l2"}, None),
        ("add_member_to_board", {"field": "role", "seen": None, "written": "normal"}, None),
        ("add_member_to_board", None, None),  # a record of a version before grants kept it
        ("add_member_to_card", {"names": {"board": "Team"}}, None),
        ("add_member_to_card", None, None),
        ("set_card_field", None, "it holds no values"),
        ("set_card_field", {"names": {}}, "its values lack field, seen, written or object_id"),
        ("set_card_field", {"field": "pos", "seen": 1, "written": 2}, 'field "pos" is not one'),
        ("set_card_closed", {"field": "due", "seen": None, "written": None}, 'field "due"'),
        ("set_card_field", {"field": "due", "seen": 5, "written": None}, "seen 5 is not a value"),
        ("set_card_closed", {"field": "closed", "seen": True, "written": 0}, "written 0 is not"),
        ("move_card_to_list", {"field": "idList", "seen": None, "written": "l2"}, "seen null"),
        ("add_member_to_board", {"field": "role", "seen": None, "written": 1}, "written 1 is"),
        ("add_member_to_card", {"names": ["Team"]}, "its values' names are not an object"),
        ("add_member_to_card", {"field": "role"}, "its values lack field, seen, written"),
    ],
)
def test_what_a_journal_records_values_may_hold(
    action: str, values: dict[str, Any] | None, problem: str | None
) -> None:
    """R51a: a value kind's record without values, or with a value of another type, was read
    as it was and failed at undo as an internal error; an undo would have written it back."""
    if values is not None and set(values) - {"names"}:
        values = {"object_id": "x", **values}
    found = kind_of(action).record_problem(values)
    if problem is None:
        assert found is None
    else:
        assert found is not None
        assert problem in found
    if problem is None and values is not None and "object_id" in values:
        odd = {**values, "object_id": 7}
        assert kind_of(action).record_problem(odd) == "its values' object_id 7 is not text"


def test_a_name_at_trello_s_limit_is_shown_cut_with_its_length() -> None:
    """A card's name, or a list's in a move line, of Trello's 16,384 characters is shown cut
    to 200 with its length; two cut alike are told apart from where they differ; 200 shows
    whole (R72b, R73a: 16,000- and 32,000-character lines)."""
    long_a, long_b = "x" * 16_383 + "a", "x" * 16_383 + "b"
    assert show("name", long_a) == '"' + "x" * 199 + '…" (16384 chars)'
    a, b = shown_pair("name", long_a, long_b)
    assert a.endswith('(16384 chars), from character 16384 "a"')
    assert b.endswith('(16384 chars), from character 16384 "b"')
    assert show("name", "x" * 200) == '"' + "x" * 200 + '"'
    moved = show("idList", "l9", {"l9": "M" * 16_384})
    assert moved == '"' + "M" * 199 + '…" (16384 chars)'
