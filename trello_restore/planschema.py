"""The plan file's JSON Schema, composed from its parts and the change kinds' fragments.

The package ships the schema as ``schema/plan-v1.schema.json`` (what ``planfile`` validates
with, and what reviewers and other tools read). ``build_schema`` composes the same document from
the plan-level definitions here and each kind's ``schema()`` (``kinds.py``): the ``change``
dispatcher on ``action``, the kinds' ``$defs`` and what ``blocked`` may hold all follow
``kinds.KINDS``. A test holds the shipped file equal to ``build_schema()``, so a kind's JSON
shape is written once, in its entry; ``python -m trello_restore.planschema`` prints the
composed schema (to write a new version's file from).
"""

from __future__ import annotations

import json
from typing import Any

from trello_restore import kinds
from trello_restore.models import SKIP_ORDER

__all__ = ["build_schema"]


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


def _dispatcher() -> dict[str, Any]:
    """``change``: checks ``action`` against every kind, then the entry against its kind's
    definition (a chain of if/then/else, the last kind declared tested first)."""
    node: dict[str, Any] | None = None
    for kind in kinds.KINDS:
        step: dict[str, Any] = {
            "if": {"properties": {"action": {"const": kind.action}}},
            "then": _ref(kind.schema_name),
        }
        node = step if node is None else {**step, "else": node}
    assert node is not None, "no change kinds"
    return {
        "type": "object",
        "required": ["action"],
        "properties": {"action": {"enum": [k.action for k in kinds.KINDS]}},
        **node,
    }


def _blocked_change() -> dict[str, Any]:
    blockable = [_ref(k.schema_name) for k in kinds.KINDS if k.blockable]
    return blockable[0] if len(blockable) == 1 else {"oneOf": blockable}


def _inputs() -> dict[str, Any]:
    return _closed(
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


def _summary() -> dict[str, Any]:
    counts = ["changes", *(k.summary_key for k in kinds.in_order())]
    counts += ["blocked", "skipped"]
    return _closed(
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


def _defs() -> dict[str, Any]:
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
        "change": _dispatcher(),
        **{k.schema_name: k.schema() for k in kinds.KINDS},
        "blocked": _closed(
            ["change", "reason"],
            {"change": _blocked_change(), "reason": {"enum": ["not_board_member"]}},
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
        "inputs": _inputs(),
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
        "summary": _summary(),
    }
    return defs


def build_schema() -> dict[str, Any]:
    """The plan file's JSON Schema (format_version 1)."""
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
    return {
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "$id": "urn:trello-restore:schema:plan-v1",
        "title": "trello-restore plan, format_version 1",
        "description": "A reviewed plan of card members (and board memberships) to put back; "
        "see design.md section 4. It has no field for the API key or token. Ids are Trello "
        "ids: 24 hex digits from the API, but offline exports may carry anonymised ids such "
        "as 'fakeidmemberhash', so ids are checked as 1-64 URL-safe characters "
        "([0-9A-Za-z_-]); that still keeps a hand-edited id from smuggling a path or query "
        "into an API URL.",
        **_closed(
            top,
            {
                "format": {"const": "trello-restore-plan"},
                "format_version": {"const": 1},
                "tool_version": {"type": "string", "minLength": 1},
                "created_at": _ref("date"),
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
            },
        ),
        "$defs": _defs(),
    }


if __name__ == "__main__":  # pragma: no cover - a developer's tool
    print(json.dumps(build_schema(), indent=2, ensure_ascii=False))
