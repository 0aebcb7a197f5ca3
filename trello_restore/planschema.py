"""The plan file's JSON Schema, composed from its parts and the change kinds' fragments.

The package ships one schema per format version, ``schema/plan-v1.schema.json`` and
``schema/plan-v2.schema.json`` (what ``planfile`` validates with, and what reviewers and other
tools read). ``build_schema(version)`` composes the same documents from the plan-level
definitions here and each kind's ``schema()`` (``kinds.py``): the ``change`` dispatcher on
``action``, the kinds' ``$defs``, the summary's counts and what ``blocked`` may hold all follow
``kinds.KINDS``, taking for version N the kinds of version N or lower
(``ChangeKind.format_version``), so version 1 keeps exactly the member kinds it had. Version 2
(design.md §10) adds the value kinds, ``inputs.restore`` and ``inputs.filters.by``,
``value_skipped`` and ``unrestorable``. A test holds each shipped file equal to
``build_schema(version)``, so a kind's JSON shape is written once, in its entry;
``python -m trello_restore.planschema VERSION`` prints the composed schema.
"""

from __future__ import annotations

import json
import sys
from typing import Any

from trello_restore import kinds
from trello_restore.models import RESTORE_KINDS, SKIP_ORDER, VALUE_SKIP_ORDER

__all__ = ["VERSIONS", "build_schema", "kinds_of"]

#: The plan-file format versions there are schemas for.
VERSIONS = (1, 2)


def kinds_of(version: int) -> list[kinds.ChangeKind]:
    """The kinds a plan of ``version`` may hold, in ``KINDS`` order."""
    return [k for k in kinds.KINDS if k.format_version <= version]


def _ref(name: str) -> dict[str, str]:
    return {"$ref": f"#/$defs/{name}"}


def _closed(required: list[str], properties: dict[str, Any]) -> dict[str, Any]:
    """An object with exactly these properties, all required."""
    return {
        "type": "object",
        "additionalProperties": False,
        "required": required,
        "properties": properties,
    }


def _named(*fields: str) -> dict[str, Any]:
    """An object of an id and string fields (boards, lists, cards' short form)."""
    return _closed(["id", *fields], {"id": _ref("id"), **{f: {"type": "string"} for f in fields}})


def _dispatcher(version: int) -> dict[str, Any]:
    """``change``: checks ``action`` against every kind, then the entry against its kind's
    definition (a chain of if/then/else, the last kind declared tested first)."""
    node: dict[str, Any] | None = None
    for kind in kinds_of(version):
        step: dict[str, Any] = {
            "if": {"properties": {"action": {"const": kind.action}}},
            "then": _ref(kind.schema_name),
        }
        node = step if node is None else {**step, "else": node}
    assert node is not None, "no change kinds"
    return {
        "type": "object",
        "required": ["action"],
        "properties": {"action": {"enum": [k.action for k in kinds_of(version)]}},
        **node,
    }


def _blocked_change(version: int) -> dict[str, Any]:
    blockable = [_ref(k.schema_name) for k in kinds_of(version) if k.blockable]
    return blockable[0] if len(blockable) == 1 else {"oneOf": blockable}


def _inputs(version: int) -> dict[str, Any]:
    inputs = _closed(
        ["boards", "since", "until", "mode", "filters", "add_to_board", "board_role", "source"],
        {
            "boards": {"type": "array", "minItems": 1, "items": _ref("board")},
            "since": _ref("date"),
            "until": {"oneOf": [{"type": "null"}, _ref("date")]},
            "mode": {"enum": ["removed", "ever-added"]},
            "filters": _closed(
                ["removed_by", "cause", "only_recorded", "lists", "cards"],
                {
                    "removed_by": {"type": ["string", "null"], "minLength": 1},
                    "cause": {"enum": [None, "move"]},
                    "only_recorded": {"type": "boolean"},
                    "lists": _ref("names_or_null"),
                    "cards": _ref("names_or_null"),
                },
            ),
            "add_to_board": {"type": "boolean"},
            "board_role": {"enum": ["normal", "observer"]},
            "source": {"enum": ["api", "export"]},
        },
    )
    if version >= 2:
        inputs["required"].append("restore")
        inputs["properties"]["restore"] = {
            "description": "What --restore asked for (design.md section 10), sorted.",
            "type": "array",
            "minItems": 1,
            "uniqueItems": True,
            "items": {"enum": list(RESTORE_KINDS)},
        }
        filters = inputs["properties"]["filters"]
        filters["required"].append("by")
        filters["properties"]["by"] = {"type": ["string", "null"], "minLength": 1}
    return inputs


def _summary(version: int) -> dict[str, Any]:
    ordered = [k for k in kinds.in_order() if k.format_version <= version]
    counts = ["changes", *(k.summary_key for k in ordered)]
    counts += ["blocked", "skipped"]
    summary = _closed(
        [*counts, "by_reason", "incomplete"],
        {
            **{c: _ref("count") for c in counts},
            "by_reason": {
                "description": "Skipped entries per reason, only reasons that occur.",
                "type": "object",
                "propertyNames": _ref("skip_reason"),
                "additionalProperties": {"type": "integer", "minimum": 1},
            },
            "incomplete": _ref("count"),
        },
    )
    if version >= 2:
        summary["required"] += ["value_skipped", "by_value_reason", "unrestorable"]
        summary["properties"] |= {
            "value_skipped": _ref("count"),
            "by_value_reason": {
                "description": "Value fields left alone per reason, only reasons that occur.",
                "type": "object",
                "propertyNames": {"enum": list(VALUE_SKIP_ORDER)},
                "additionalProperties": {"type": "integer", "minimum": 1},
            },
            "unrestorable": _ref("count"),
        }
    return summary


def _value_defs() -> dict[str, Any]:
    """The definitions version 2 adds (design.md section 10)."""
    thing = _closed(
        ["type", "id", "name"],
        {"type": {"enum": ["card", "list"]}, "id": _ref("id"), "name": {"type": "string"}},
    )
    return {
        "value_evidence": _closed(
            ["kind", "action_id", "date", "by", "app", "actions"],
            {
                "kind": {"const": "field_update"},
                "action_id": _ref("id"),
                "date": _ref("date"),
                "by": _ref("member_short"),
                "app": {
                    "description": "The app (an automation) that made the change on the "
                    "member's behalf; empty for a person.",
                    "type": "string",
                },
                "actions": {
                    "description": "Every selected action that changed the field, oldest first.",
                    "type": "array",
                    "minItems": 1,
                    "items": _ref("id"),
                },
            },
        ),
        "object": thing,
        "value_skipped": _closed(
            ["object", "board_id", "field", "reason", "action_id", "others"],
            {
                "object": _ref("object"),
                "board_id": _ref("id"),
                "field": {"type": "string", "minLength": 1},
                "reason": {"enum": list(VALUE_SKIP_ORDER)},
                "action_id": {"oneOf": [{"type": "null"}, _ref("id")]},
                "others": {
                    "description": "For changed_by_others: who else changed the field, and when.",
                    "type": "array",
                    "items": _closed(
                        ["by", "date"], {"by": _ref("member_short"), "date": _ref("date")}
                    ),
                },
            },
        ),
        "unrestorable": _closed(
            ["object", "what", "action_id", "date", "by"],
            {
                "object": _ref("object"),
                "what": {"type": "string", "minLength": 1},
                "action_id": _ref("id"),
                "date": _ref("date"),
                "by": _ref("member_short"),
                "other_board": {
                    "description": "A move across boards: the board it went to or came from.",
                    **_ref("board"),
                },
            },
        ),
    }


def _defs(version: int) -> dict[str, Any]:
    id_or_null = {"oneOf": [{"type": "null"}, _ref("id")]}
    defs: dict[str, Any] = {
        "id": {"type": "string", "pattern": "^[0-9A-Za-z_-]{1,64}$"},
        "date": {
            "description": "ISO-8601 in UTC with a Z; milliseconds (or microseconds) when not "
            "zero.",
            "type": "string",
            "pattern": "^[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}"
            "(\\.[0-9]{3}|\\.[0-9]{6})?Z$",
        },
        "board": _named("name"),
        "list": _named("name"),
        "card": _closed(
            ["id", "name", "shortLink"],
            {
                "id": _ref("id"),
                "name": {"type": "string"},
                "shortLink": {"type": "string", "pattern": "^[0-9A-Za-z_-]{0,64}$"},
            },
        ),
        "member": {
            "description": "Username and full name are empty strings when no action or "
            "membership named them.",
            **_closed(
                ["id", "username", "fullName"],
                {
                    "id": _ref("id"),
                    "username": {"type": "string"},
                    "fullName": {"type": "string"},
                },
            ),
        },
        "member_short": _closed(
            ["id", "username"], {"id": _ref("id"), "username": {"type": "string"}}
        ),
        "evidence": _closed(
            ["kind", "action_id", "date", "by", "move_action_id"],
            {
                "kind": {"enum": ["recorded_removal", "reconstructed", "ever_added"]},
                "action_id": _ref("id"),
                "date": _ref("date"),
                "by": _ref("member_short"),
                "move_action_id": id_or_null,
            },
        ),
        "change_id": {"type": "string", "pattern": "^c-[0-9a-f]{16}$"},
        "change": _dispatcher(version),
        **{k.schema_name: k.schema() for k in kinds_of(version)},
        "blocked": _closed(
            ["change", "reason"],
            {"change": _blocked_change(version), "reason": {"enum": ["not_board_member"]}},
        ),
        "skip_reason": {"enum": list(SKIP_ORDER)},
        "skipped": _closed(
            ["card", "member", "reason", "action_id"],
            {
                "card": _named("name"),
                "member": _ref("member_short"),
                "reason": _ref("skip_reason"),
                "action_id": id_or_null,
            },
        ),
        "inputs": _inputs(version),
        "names_or_null": {
            "description": "List or card filter values as given (ids, shortLinks or names), "
            "sorted; null when not filtered.",
            "oneOf": [
                {"type": "null"},
                {
                    "type": "array",
                    "uniqueItems": True,
                    "items": {"type": "string", "minLength": 1},
                },
            ],
        },
        "count": {"type": "integer", "minimum": 0},
        "summary": _summary(version),
    }
    if version >= 2:
        defs |= _value_defs()
    return defs


def build_schema(version: int = 1) -> dict[str, Any]:
    """The plan file's JSON Schema of ``format_version`` ``version`` (1 or 2)."""
    if version not in VERSIONS:
        raise ValueError(f"no plan schema for format_version {version}")
    top = [
        "format",
        "format_version",
        "tool_version",
        "created_at",
        "api_url",
        "account",
        "inputs",
        "summary",
        "changes",
        "blocked",
        "skipped",
        "warnings",
        "incomplete",
    ]
    value_props: dict[str, Any] = {}
    if version >= 2:
        top += ["value_skipped", "unrestorable"]
        value_props = {
            "value_skipped": {
                "description": "Card and list fields left alone, and why (design.md section 10.2).",
                "type": "array",
                "items": _ref("value_skipped"),
            },
            "unrestorable": {
                "description": "What the log shows was lost but cannot be brought back, e.g. "
                "deleted cards.",
                "type": "array",
                "items": _ref("unrestorable"),
            },
        }
    what = (
        "A reviewed plan of card members (and board memberships) to put back; see design.md "
        "section 4."
        if version == 1
        else "A reviewed plan of card members (and board memberships), archive states, list "
        "moves and card fields to put back; see design.md sections 4 and 10."
    )
    return {
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "$id": f"urn:trello-restore:schema:plan-v{version}",
        "title": f"trello-restore plan, format_version {version}",
        "description": f"{what} It has no field for the API key or token. Ids are Trello "
        "ids: 24 hex digits from the API, but offline exports may carry anonymised ids such "
        "as 'fakeidmemberhash', so ids are checked as 1-64 URL-safe characters "
        "([0-9A-Za-z_-]); that still keeps a hand-edited id from smuggling a path or query "
        "into an API URL.",
        **_closed(
            top,
            {
                "format": {"const": "trello-restore-plan"},
                "format_version": {"const": version},
                "tool_version": {"type": "string", "minLength": 1},
                "created_at": _ref("date"),
                "clock_skew_s": {
                    "description": "How far Trello's clock was ahead of the clock of the "
                    "machine that made the plan, in seconds (negative: behind), by the Date of "
                    "Trello's answers; absent for offline plans. An apply reads what changed "
                    "on the boards since created_at moved by it.",
                    "type": "number",
                    "minimum": -1e9,
                    "maximum": 1e9,
                },
                "api_url": {"type": "string", "pattern": "^https?://[^\\s?#]+$"},
                "account": {
                    "description": "The member whose token made the plan; null for offline "
                    "plans from exports.",
                    "oneOf": [{"type": "null"}, _ref("member_short")],
                },
                "inputs": _ref("inputs"),
                "summary": _ref("summary"),
                "changes": {
                    "description": "In the order of application: board memberships first, "
                    "then card members by board, list, card, member.",
                    "type": "array",
                    "items": _ref("change"),
                },
                "blocked": {"type": "array", "items": _ref("blocked")},
                "skipped": {"type": "array", "items": _ref("skipped")},
                "warnings": {
                    "description": "Things the reviewer should know, e.g. an export's history "
                    "cut by the 1000-action cap.",
                    "type": "array",
                    "items": {"type": "string", "minLength": 1},
                },
                "incomplete": {
                    "description": "Cards whose history is known to be incomplete: no "
                    "reconstructed change is planned for them.",
                    "type": "array",
                    "uniqueItems": True,
                    "items": _ref("id"),
                },
                **value_props,
            },
        ),
        "$defs": _defs(version),
    }


if __name__ == "__main__":  # pragma: no cover - a developer's tool
    print(
        json.dumps(
            build_schema(int(sys.argv[1]) if sys.argv[1:] else 1), indent=2, ensure_ascii=False
        )
    )
