"""The pure deciders of the kinds that set a value back (``kinds/values.py``, design.md
§10.3), on the field's live value:

- ``decide_value`` before a write: the object gone (or on another board) → ``drifted``; the
  target already → ``already_satisfied`` (``applied`` when an earlier, killed run sent the
  write); the value the plan expects → the write, unless someone set it so again after the
  plan was made (``kinds.touched.value_since_plan``: changed and set back) → ``drifted``;
  anything else → ``drifted`` (someone changed it since the plan was made: never overwritten);
- ``decide_value_undo`` before undo writes the value seen before the apply back: only where the
  live value is still the one written, and not set so again by someone since
  (``kinds.touched``); the value seen already → ``already_satisfied``, nothing to write
  (``undone`` when a killed undo's write is found made); the card deleted → ``not_on_card``,
  nothing to undo; anything else → ``drifted`` (``kinds.elsewhere.value_elsewhere``);
- ``resolve_value`` for a write whose answer was never journaled: the written value there →
  ``applied``, the seen one → ``not_applied``, a third value → ``drifted`` (someone changed it
  since: whether or not the write took effect, neither the apply nor its undo writes over
  it), the object gone → it cannot tell.

A card move's (``decide_move``, ``decide_move_undo``) also checks that the list is one of the
card's board; ``same`` says whether two values of a field are the same."""

from __future__ import annotations

from typing import TYPE_CHECKING

from trello_restore.kinds.base import Decision, Resolution, other_card
from trello_restore.kinds.elsewhere import value_elsewhere, value_gone
from trello_restore.kinds.touched import put_back, value_since_plan
from trello_restore.kinds.valuetext import DATE_FIELDS, change_lists, show, shown_pair
from trello_restore.models import CardState, FieldValue, ValueChange, parse_date, quote_name

if TYPE_CHECKING:
    from trello_restore.live import LiveBoard

#: Why an interrupted write is settled as it is.
SET = "found set after an interrupted write: this tool's"
UNSET = "found unchanged after an interrupted write: it never took effect"
#: A value absent from live state (the object is gone): no field value is this.
_GONE = object()


def same(field: str, a: object, b: object) -> bool:
    """Whether two values of ``field`` are the same: dates (due, start) as instants, so that
    ``…T12:00:00.000Z`` and ``…T12:00:00Z`` agree; everything else exactly."""
    if field in DATE_FIELDS and isinstance(a, str) and isinstance(b, str):
        try:
            return parse_date(a) == parse_date(b)
        except ValueError:
            return a == b
    return type(a) is type(b) and a == b


def live_value(c: ValueChange, live: LiveBoard) -> object:
    """The changed field's value now, or ``_GONE`` when its card or list is gone or on another
    board (``live.cards`` must not be None)."""
    if c.object_type == "list":
        closed = (live.lists or {}).get(c.list_id)
        return _GONE if closed is None else closed
    assert live.cards is not None
    card = live.cards.get(c.card_id)
    if card is None or card.board_id != c.board_id:
        return _GONE
    return _card_field(card, c.field)


#: The fields a card read by id (``live.locate_cards``, member fields only) holds.
_READ_BY_ID = frozenset({"closed", "name"})


def _card_field(card: CardState, field: str) -> object:
    """``field`` of ``card`` as the value kinds compare it, or ``_GONE`` for no such field."""
    now: dict[str, FieldValue] = {
        "closed": card.closed,
        "idList": card.list_id,
        "name": card.name,
        "desc": card.desc,
        "due": card.due,
        "dueComplete": card.due_complete,
        "start": card.start,
    }
    return now.get(field, _GONE)


def _list_names(c: ValueChange, live: LiveBoard) -> dict[str, str]:
    """List id → name for a card move's text: the plan's names of the target and the card's
    list, and the live read's of every list of the board (Trello's now: they win)."""
    return {**change_lists(c), **live.list_names}


def _changed(c: ValueChange, now: object, wanted: FieldValue, live: LiveBoard) -> str:
    """Why a change drifted: the field now and as expected, a list by its name if known."""
    lists = _list_names(c, live) if c.field == "idList" else None
    shown, expected = shown_pair(c.field, now, wanted, lists)
    what = "list" if lists is not None else c.field
    return f"its {what} was changed since (now {shown}, expected {expected}): left alone"


def decide_value(c: ValueChange, live: LiveBoard, *, resumed: bool) -> Decision:
    """Write the target? See the module docstring."""
    if live.cards is None:
        return "drifted", live.error
    now = live_value(c, live)
    if now is _GONE:
        return "drifted", value_gone(c)
    card = live.cards.get(c.card_id) if c.object_type == "card" else None
    other = other_card(c.card_short_link, card) if card is not None else None
    if other is not None and not (resumed and same(c.field, now, c.value)):
        # Another card under the plan's id (the plan was edited); but a write of this tool's
        # own killed run that took effect stays ``applied``, for undo to reach.
        return "drifted", other
    if same(c.field, now, c.value):
        return ("applied", "") if resumed else ("already_satisfied", "")
    if same(c.field, now, c.expected):  # unless someone set it so again since the plan
        later = value_since_plan(c, live)
        return None if later is None else ("drifted", later)
    return "drifted", _changed(c, now, c.expected, live)


def decide_move(c: ValueChange, live: LiveBoard, *, resumed: bool) -> Decision:
    """A card move back (``decide_value``), only to a list of the card's board: a plan edited
    by hand to name another board's list (or no list) is left alone, since moving cards across
    boards is out of scope (design.md §10.1). Nor is a card moved to a list that Trello names
    otherwise than the plan does (``value_name``), as a member is not added under another
    username (``memberapply``): the reviewer read "move back to list Done", and a plan whose
    list id was edited by hand moved the cards to Backlog while it said "Done" (R36c)."""
    if live.lists is not None and str(c.value) not in live.lists:
        target = f"{quote_name(c.value_name)} ({c.value})" if c.value_name else str(c.value)
        return "drifted", (
            f"list {target} is not a list of the card's board (moving cards across boards is "
            "out of scope): left alone"
        )
    decision = decide_value(c, live, resumed=resumed)
    named = live.list_names.get(str(c.value))
    if decision is not None or not c.value_name or named is None or named == c.value_name:
        return decision
    return "drifted", (
        f"the plan names this list {quote_name(c.value_name)}; Trello calls list {c.value} "
        f"{quote_name(named)} now (renamed, or the plan was edited): left alone; make a new plan"
    )


def decide_value_undo(c: ValueChange, live: LiveBoard, *, resumed: bool) -> Decision:
    """Write the value seen before the apply (``c.expected``) back? Only where the live value
    is still the one written (``c.value``). Back already: the undo's goal is reached and
    nothing is written, ``already_satisfied`` (someone set it back by hand), or ``undone``
    when ``resumed`` (this tool's own earlier undo); both settle the change, so a later undo
    has nothing left to do. A third value: ``drifted``, left alone."""
    if live.cards is None:
        return "drifted", live.error
    now = live_value(c, live)
    if now is _GONE:
        return value_elsewhere(c, live)
    if same(c.field, now, c.value):  # unless someone set it so again since the apply
        back = put_back(c, live)
        return None if back is None else ("drifted", back)
    if same(c.field, now, c.expected):
        return ("undone", "") if resumed else ("already_satisfied", "")
    return "drifted", _changed(c, now, c.value, live)


def decide_move_undo(c: ValueChange, live: LiveBoard, *, resumed: bool) -> Decision:
    """A card move's undo (``decide_value_undo``), only back to a list of the card's board: a
    list moved to another board since is left alone (``drifted``), since setting ``idList`` to
    another board's list would move the card across boards (out of scope, design.md §10.1),
    which on Trello strips its members who are not on that board."""
    decision = decide_value_undo(c, live, resumed=resumed)
    if decision is not None or live.lists is None or str(c.expected) in live.lists:
        return decision
    back = f"{quote_name(c.list_name)} ({c.expected})" if c.list_name else str(c.expected)
    return "drifted", (
        f"the list it was in, {back}, is no longer on the card's board (moved to another board "
        "since), and moving cards across boards is out of scope: left alone; check it by hand"
    )


def resolve_value(c: ValueChange, live: LiveBoard) -> Resolution:
    """Did an interrupted write of ``c`` take effect? See the module docstring."""
    if live.cards is None:
        return None, live.error or "the board cannot be read"
    now = live_value(c, live)
    if now is _GONE:
        # The card read by id (``live.locate_cards``): deleted, there is nothing to set back
        # (R35a); on another board, its archive state and name are read there, any other field
        # is left as it is (R35d: both were "cannot tell" for every later run and undo).
        found = live.located.get(c.card_id) if c.object_type == "card" else None
        if found is not None and found.deleted:
            return "not_applied", "the card was deleted after an interrupted write: nothing to undo"
        if found is None or found.card is None:
            return None, value_gone(c)
        if c.field not in _READ_BY_ID:
            where = quote_name(found.board_name) if found.board_name else found.card.board_id
            return "drifted", (
                f"the card moved to board {where} since: its {c.field} there is left as it is; "
                "check it by hand"
            )
        now = _card_field(found.card, c.field)
    if same(c.field, now, c.value):
        return "applied", SET
    if same(c.field, now, c.expected):
        return "not_applied", UNSET
    lists = _list_names(c, live) if c.field == "idList" else None
    return "drifted", (
        f"its {'list' if lists is not None else c.field} is now {show(c.field, now, lists)}, "
        "neither the value seen before the interrupted write nor the one written: changed "
        "since by someone else, left alone"
    )
