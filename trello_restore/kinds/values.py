"""The kinds that set a value back (design.md §10): ``set_list_closed`` (``ListClosed``),
``move_card_to_list`` (``CardMove``), ``set_card_closed`` (``CardClosed``) and
``set_card_field`` (``CardField``), all ``models.ValueChange``.

Their pure deciders (design.md §10.3: ``decide_value`` before a write, ``decide_value_undo``
before an undo's, ``resolve_value`` for a write whose answer was never journaled) are
``valuedeciders.py``'s, their text ``valuetext.py``'s.

A journal record of these kinds holds the value seen before the write and the value written
(``record_values``), so undo needs nothing but the journal (``from_record``)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any, ClassVar, Literal

from trello_restore.kinds.base import (
    ChangeKind,
    Context,
    Decision,
    Resolution,
    WriteRule,
    values_problem,
)
from trello_restore.kinds.touched import value_target
from trello_restore.kinds.valuedeciders import (
    decide_move,
    decide_move_undo,
    decide_value,
    decide_value_undo,
    resolve_value,
    same,
)
from trello_restore.kinds.valuetext import change_lists, desc_diff, named, shown_pair
from trello_restore.models import (
    FIELD_TYPES,
    Change,
    Evidence,
    FieldValue,
    MemberRef,
    PlanOptions,
    ValueChange,
    format_date,
    parse_date,
    quote_name,
)
from trello_restore.words import actor, card_url, when

if TYPE_CHECKING:
    from trello_restore.api import TrelloApi
    from trello_restore.live import LiveBoard, Target

#: The card fields ``set_card_field`` restores (which of them are dates: ``DATE_FIELDS``).
CARD_FIELDS = ("name", "desc", "due", "dueComplete", "start")


# ------------------------------------------------------------------------------- the kinds


def _ref(name: str) -> dict[str, str]:
    return {"$ref": f"#/$defs/{name}"}


def _text(names: object) -> dict[str, str]:
    """The names of a journal record's ``names`` (or its ``lists``) that are text: a
    hand-edited journal's others are left for the ids."""
    if not isinstance(names, dict):
        return {}
    return {k: v for k, v in names.items() if isinstance(k, str) and isinstance(v, str) and v}


def _value(c: Change) -> ValueChange:
    """A change of a value kind, typed (the plan file and the journal make them so)."""
    if not isinstance(c, ValueChange):
        raise TypeError(f"change {c.change_id} ({c.action}) is not a ValueChange")
    return c


class ValueKind(ChangeKind):
    """What the four value kinds share: JSON, deciders, journal values, evidence text."""

    format_version = 2
    grouped = True
    reads_card_fields = True
    #: A card its board's listing lacks is read by id at undo: deleted, nothing is left to
    #: undo; moved, the line names the board (``kinds.elsewhere.value_elsewhere``).
    locates_cards = True
    object_type: ClassVar[Literal["card", "list"]] = "card"
    #: The field it sets (``set_card_field``: one of ``CARD_FIELDS``).
    field_name: ClassVar[str] = ""
    #: The JSON Schema of its value (and expected value), for a field of ``field_name``.
    value_schema: ClassVar[dict[str, Any]] = {}

    # ------------------------------------------------------------------------- plan file

    def to_json(self, c: Change) -> dict[str, Any]:
        v = _value(c)
        if v.evidence is None:
            raise ValueError(f"change {c.change_id} has no evidence")
        e = v.evidence
        out: dict[str, Any] = {
            "change_id": v.change_id,
            "action": v.action,
            "board": {"id": v.board_id, "name": v.board_name},
            "list": {"id": v.list_id, "name": v.list_name},
        }
        if self.object_type == "card":
            out["card"] = {"id": v.card_id, "name": v.card_name, "shortLink": v.card_short_link}
        out |= {"field": v.field, "value": v.value, "expected": v.expected}
        out |= self._extra_json(v)
        out["evidence"] = {
            "kind": e.kind,
            "action_id": e.action_id,
            "date": format_date(e.date),
            "by": {"id": e.by.id, "username": e.by.username},
            "app": e.app,
            "actions": list(v.actions),
        }
        return out

    def _extra_json(self, c: ValueChange) -> dict[str, Any]:
        return {}

    def from_json(self, d: Mapping[str, Any]) -> Change:
        e, card = d["evidence"], d.get("card") or {}
        return ValueChange(
            change_id=d["change_id"],
            action=self.action,
            board_id=d["board"]["id"],
            board_name=d["board"]["name"],
            list_id=d["list"]["id"],
            list_name=d["list"]["name"],
            card_id=card.get("id", ""),
            card_name=card.get("name", ""),
            card_short_link=card.get("shortLink", ""),
            evidence=Evidence(
                kind=e["kind"],
                action_id=e["action_id"],
                date=parse_date(e["date"]),
                by=MemberRef(e["by"]["id"], e["by"]["username"]),
                app=e["app"],
            ),
            object_type=self.object_type,
            field=d["field"],
            value=d["value"],
            expected=d["expected"],
            actions=tuple(e["actions"]),
            value_name=d.get("value_name", ""),
        )

    def _field_schema(self) -> dict[str, Any]:
        return {"const": self.field_name}

    def _extra_schema(self) -> dict[str, Any]:
        return {}

    def schema(self) -> dict[str, Any]:
        where = ["board", "list", *(["card"] if self.object_type == "card" else [])]
        extra = self._extra_schema()
        props: dict[str, Any] = {
            "change_id": _ref("change_id"),
            "action": {"const": self.action},
            **{k: _ref(k) for k in where},
            "field": self._field_schema(),
            "value": self.value_schema,
            "expected": self.value_schema,
            **extra,
            "evidence": _ref("value_evidence"),
        }
        return {
            "type": "object",
            "additionalProperties": False,
            "required": list(props),
            "properties": props,
        }

    def plan_problem(self, c: Change, options: PlanOptions, provided: set[Any]) -> str | None:
        v = _value(c)
        if same(v.field, v.value, v.expected):
            return f"sets {v.field} to the value it is expected to have already"
        return None

    # ----------------------------------------------------------------------------- apply

    def target(self, c: Change) -> tuple[Target, tuple[str, ...]]:
        return value_target(_value(c))

    def decide(self, c: Change, live: LiveBoard, ctx: Context) -> Decision:
        return decide_value(_value(c), live, resumed=ctx.resumed)

    def write(self, api: TrelloApi, c: Change) -> object:
        v = _value(c)
        return self._set(api, v, v.value)

    def _set(self, api: TrelloApi, c: ValueChange, value: FieldValue) -> object:
        raise NotImplementedError  # pragma: no cover - each kind has its own

    def write_rule(self, resumed: bool) -> WriteRule:
        return WriteRule("applied", resumed=resumed)

    # --------------------------------------------------------------------------- journal

    def record_values(self, c: Change, op: str) -> dict[str, Any]:
        v = _value(c)
        seen, written = (v.expected, v.value) if op == "apply" else (v.value, v.expected)
        return {
            "object_type": v.object_type,
            "object_id": v.list_id if v.object_type == "list" else v.card_id,
            "field": v.field,
            "seen": seen,
            "written": written,
        }

    def record_problem(self, values: dict[str, Any] | None) -> str | None:
        return values_problem(values, {f: FIELD_TYPES[f] for f in self._fields()}, required=True)

    def _fields(self) -> tuple[str, ...]:
        """The fields it sets."""
        return (self.field_name,)

    def from_record(self, c: Change, values: Mapping[str, Any] | None) -> Change:
        if values is None:
            raise ValueError(f"the journal's record of {c.change_id} holds no values")
        # The names an apply's record keeps (``journal_names.record_names``), text only: a card
        # move's lists by their ids, the card's list (the one written over) among them.
        kept = values.get("names")
        names, lists = _text(kept), _text(kept.get("lists") if isinstance(kept, dict) else None)
        seen, written = values["seen"], values["written"]
        list_id = values["object_id"] if self.object_type == "list" else ""
        if self.object_type == "list":
            lists[list_id] = names.get("list", "")
        elif values["field"] == "idList" and isinstance(seen, str):
            list_id = seen
        return ValueChange(
            change_id=c.change_id,
            action=self.action,
            board_id=c.board_id,
            board_name=names.get("board") or c.board_name,
            card_id=c.card_id,
            card_name=names.get("card", ""),
            card_short_link=names.get("short_link", ""),
            list_id=list_id,
            list_name=lists.get(list_id, ""),
            object_type=self.object_type,
            field=values["field"],
            value=written,
            expected=seen,
            value_name=lists.get(str(written), ""),
        )

    # ------------------------------------------------------------------------------ undo

    def decide_undo(self, c: Change, live: LiveBoard, *, resumed: bool) -> Decision:
        return decide_value_undo(_value(c), live, resumed=resumed)

    def remove(self, api: TrelloApi, c: Change) -> object:
        v = _value(c)
        return self._set(api, v, v.expected)

    def undo_rule(self, resumed: bool) -> WriteRule:
        return WriteRule("undone", resumed=resumed)

    def resolve(self, c: Change, live: LiveBoard) -> Resolution:
        return resolve_value(_value(c), live)

    def cannot_tell(self, c: Change, why: str) -> str:
        v = _value(c)
        lists = change_lists(v) if v.field == "idList" else None
        seen, written = shown_pair(v.field, v.expected, v.value, lists)
        return (
            f"cannot tell whether the interrupted write of {v.field} of {named(v)} took effect: "
            f"{why}; check it by hand and set it back to {seen} if it was set to {written} by "
            "this tool"
        )

    # ------------------------------------------------------------------------------ text

    def evidence(self, c: Change, verbose: bool) -> str:
        v = _value(c)
        e = v.evidence
        if e is None:  # the planner gives every change its evidence
            return ""
        text = f"changed by {actor(e)} {when(e.date)}"
        if len(v.actions) > 1:
            text += f" ({len(v.actions)} changes)"
        if verbose:
            text += f" [action{'s' if len(v.actions) > 1 else ''} {', '.join(v.actions)}]"
        return text

    def _card(self, c: ValueChange) -> str:
        name = quote_name(c.card_name) if c.card_name else c.card_id
        return f"{name} ({card_url(c.card_short_link)})" if c.card_short_link else name

    def unnamed(self, member_id: str, board_id: str, card_id: str) -> str:
        where = f"card {card_id}" if card_id else f"a list on board {board_id}"
        return f"{self.noun} of {where}"

    def journal_label(self, c: Change) -> str:
        """By ids, with the value the apply wrote and the one it found there (what undo writes
        back): ``closed of list L on board B: open → archived``."""
        v = _value(c)
        where = f"list {v.list_id}" if v.object_type == "list" else f"card {v.card_id}"
        written, seen = shown_pair(v.field, v.value, v.expected)
        return f"{v.field} of {where} on board {v.board_id}: {written} → {seen}"

    def outcome_word(self, status: str) -> str | None:
        return _OUTCOME_WORDS.get(status)

    def count_word(self, status: str) -> str | None:
        return _COUNT_WORDS.get(status)


#: How the value kinds' outcomes read in front of their lines, and in the summary, where the
#: member kinds' words ("added", "removed", "no longer there") would be wrong. An undo's
#: ``not_on_card`` of a value kind is a write with nothing to undo: an interrupted one found
#: never made, or one on a card deleted since (its reason says which).
_OUTCOME_WORDS = {
    "would_apply": "would restore",
    "applied": "restored",
    "already_satisfied": "already restored",
    "would_undo": "would revert",
    "undone": "reverted",
    "not_on_card": "nothing to undo",
}
_COUNT_WORDS = {
    "would_undo": "would be reverted",
    "undone": "reverted",
    "not_on_card": "nothing to undo",
}


def _archive(value: FieldValue) -> str:
    return "archive" if value else "unarchive"


class ListClosed(ValueKind):
    """``set_list_closed``: archive or unarchive a list as it was (``PUT /1/lists/{id}/closed``)."""

    action = "set_list_closed"
    order = 20
    summary_key = "list_closed_changes"
    noun = "list archive state"
    schema_name = "list_closed_change"
    object_type = "list"
    field_name = "closed"
    value_schema: ClassVar[dict[str, Any]] = {"type": "boolean"}
    reads_lists = True
    reads_card_fields = False
    locates_cards = False

    def _set(self, api: TrelloApi, c: ValueChange, value: FieldValue) -> object:
        return api.set_list_closed(c.list_id, bool(value))

    def heading(self, would: str, n: int) -> str:
        return f"{would} restore the archive state of lists ({n})"

    def describe(self, c: Change) -> str:
        return _archive(_value(c).value)

    def label(self, c: Change) -> str:
        v = _value(c)
        name = quote_name(v.list_name) if v.list_name else v.list_id
        return f"{_archive(v.value)} list {name}"


class CardMove(ValueKind):
    """``move_card_to_list``: a card back to the list it was in, on the same board
    (``PUT /1/cards/{id}`` with ``idList`` and ``pos=bottom``)."""

    action = "move_card_to_list"
    order = 30
    summary_key = "card_move_changes"
    noun = "card move"
    schema_name = "card_move_change"
    field_name = "idList"
    value_schema: ClassVar[dict[str, Any]] = _ref("id")
    #: The board's lists are read (one request per board) to check the target list is on it.
    reads_lists = True

    def decide(self, c: Change, live: LiveBoard, ctx: Context) -> Decision:
        return decide_move(_value(c), live, resumed=ctx.resumed)

    def decide_undo(self, c: Change, live: LiveBoard, *, resumed: bool) -> Decision:
        return decide_move_undo(_value(c), live, resumed=resumed)

    def _extra_json(self, c: ValueChange) -> dict[str, Any]:
        return {"value_name": c.value_name}

    def _extra_schema(self) -> dict[str, Any]:
        return {"value_name": {"type": "string"}}

    def _set(self, api: TrelloApi, c: ValueChange, value: FieldValue) -> object:
        return api.move_card(c.card_id, str(value))

    def heading(self, would: str, n: int) -> str:
        return f"{would} move cards back to their lists ({n})"

    def describe(self, c: Change) -> str:
        v = _value(c)
        to = quote_name(v.value_name) if v.value_name else str(v.value)
        came = quote_name(v.list_name) if v.list_name else str(v.expected)
        return f"move back to list {to} (from {came})"

    def label(self, c: Change) -> str:
        v = _value(c)
        return f"card {self._card(v)}: {self.describe(v)}"


class CardClosed(ValueKind):
    """``set_card_closed``: archive or unarchive a card as it was (``PUT /1/cards/{id}``
    ``closed``)."""

    action = "set_card_closed"
    order = 35
    summary_key = "card_closed_changes"
    noun = "card archive state"
    schema_name = "card_closed_change"
    field_name = "closed"
    value_schema: ClassVar[dict[str, Any]] = {"type": "boolean"}

    def _set(self, api: TrelloApi, c: ValueChange, value: FieldValue) -> object:
        return api.set_card_closed(c.card_id, bool(value))

    def heading(self, would: str, n: int) -> str:
        return f"{would} restore the archive state of cards ({n})"

    def describe(self, c: Change) -> str:
        return _archive(_value(c).value)

    def label(self, c: Change) -> str:
        v = _value(c)
        return f"{_archive(v.value)} card {self._card(v)}"


#: The JSON Schema of each card field's values.
_FIELD_SCHEMAS: dict[str, dict[str, Any]] = {
    "name": {"type": "string"},
    "desc": {"type": "string"},
    "due": {"oneOf": [{"type": "null"}, _ref("date")]},
    "dueComplete": {"type": "boolean"},
    "start": {"oneOf": [{"type": "null"}, _ref("date")]},
}


class CardField(ValueKind):
    """``set_card_field``: a card's name, description, due or start date, or due-complete
    flag as it was (``PUT /1/cards/{id}`` with that field; no date clears one)."""

    action = "set_card_field"
    order = 40
    summary_key = "field_changes"
    noun = "card field"
    schema_name = "card_field_change"

    def _field_schema(self) -> dict[str, Any]:
        return {"enum": list(CARD_FIELDS)}

    def _fields(self) -> tuple[str, ...]:
        return CARD_FIELDS

    def schema(self) -> dict[str, Any]:
        out = super().schema()
        props = out["properties"]
        props["value"] = props["expected"] = {"type": ["string", "boolean", "null"]}
        # Each field's values typed by the field: a hand edit that breaks them is refused.
        out["allOf"] = [
            {
                "if": {"properties": {"field": {"const": f}}},
                "then": {"properties": {"value": s, "expected": s}},
            }
            for f, s in _FIELD_SCHEMAS.items()
        ]
        return out

    def _set(self, api: TrelloApi, c: ValueChange, value: FieldValue) -> object:
        return api.set_card_field(c.card_id, c.field, value)

    def heading(self, would: str, n: int) -> str:
        return f"{would} restore card fields ({n})"

    def describe(self, c: Change) -> str:
        v = _value(c)
        now, restored = shown_pair(v.field, v.expected, v.value)
        return f"{v.field} {now} → restored to {restored}"

    def evidence(self, c: Change, verbose: bool) -> str:
        text = super().evidence(c, verbose)
        v = _value(c)
        if verbose and v.field == "desc":
            pad = "\n" + " " * 10
            text += "".join(pad + line for line in desc_diff(str(v.expected), str(v.value)))
        return text

    def label(self, c: Change) -> str:
        v = _value(c)
        return f"{v.field} of card {self._card(v)}"
