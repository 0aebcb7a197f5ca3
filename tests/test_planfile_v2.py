"""Plan file format 2 (design.md §10.3, issue 11 item 4): which plans are version 2, their
JSON both ways against the shipped ``plan-v2.schema.json``, member-only plans still version 1
byte for byte, a reader of version 1 only refusing version 2 in one line, and hand edits of
the value kinds' fields refused in one line. No network here."""

from __future__ import annotations

import copy
import json
from datetime import UTC, datetime
from importlib import resources
from pathlib import Path
from typing import Any

import jsonschema
import pytest

from trello_restore.errors import InputFileError
from trello_restore.models import (
    Evidence,
    MemberRef,
    Plan,
    PlanOptions,
    Unrestorable,
    ValueChange,
    ValueSkipped,
)
from trello_restore.planfile import (
    READS,
    PlanMeta,
    dumps,
    plan_from_dict,
    plan_summary,
    plan_to_dict,
    plan_version,
    read_plan,
    validate_plan,
    write_plan,
)
from trello_restore.planschema import build_schema

from .test_kinds import CARD, GRANT

T = datetime(2026, 10, 20, 9, 30, tzinfo=UTC)
T2 = datetime(2026, 10, 21, 8, 0, tzinfo=UTC)
CULPRIT = MemberRef("cul", "culprit")
ANN = MemberRef("ann", "ann")
FIXTURES = Path(__file__).parent / "fixtures"


def _value(action: str, cid: str, field: str, value: Any, expected: Any, **kw: Any) -> ValueChange:
    base: dict[str, Any] = {
        "change_id": cid,
        "action": action,
        "board_id": "b1",
        "board_name": "Team",
        "list_id": "l1",
        "list_name": "Doing",
        "card_id": "k1",
        "card_name": "Ship it",
        "card_short_link": "AbCd1234",
        "evidence": Evidence("field_update", "a1", T, CULPRIT),
        "field": field,
        "value": value,
        "expected": expected,
        "actions": ("a1",),
    }
    return ValueChange(**(base | kw))


UNARCHIVE = _value("set_card_closed", "c-00000000000000a1", "closed", False, True)
MOVE = _value("move_card_to_list", "c-00000000000000a2", "idList", "l2", "l1", value_name="Next")
LIST_OPEN = _value(
    "set_list_closed", "c-00000000000000a3", "closed", False, True,
    object_type="list", card_id="", card_name="", card_short_link="",
)  # fmt: skip
DUE = _value(
    "set_card_field", "c-00000000000000a4", "due", "2026-10-01T12:00:00.000Z",
    "2026-11-02T12:00:00.000Z", actions=("a1", "a2"),
)  # fmt: skip
SKIPPED_DESC = ValueSkipped(
    "card", "k2", "Other card", "b1", "desc", "changed_by_others", "a5", ((ANN, T2),)
)
SKIPPED_NAME = ValueSkipped("card", "k3", "", "b1", "name", "already_restored", None)
DELETED = Unrestorable("card", "k9", "Gone card", "card_deleted", "a7", T2, CULPRIT)
OPTIONS = PlanOptions(since=T, restore=frozenset({"archived", "list", "fields"}), by="culprit")
META = PlanMeta("0.1.0", T2, "http://127.0.0.1:9/1", MemberRef("lead", "lead"),
                (("b1", "Team"),), "api")  # fmt: skip
PLAN = Plan(
    OPTIONS,
    (LIST_OPEN, MOVE, UNARCHIVE, DUE),
    (),
    (),
    value_skipped=(SKIPPED_DESC, SKIPPED_NAME),
    unrestorable=(DELETED,),
)


def v2_doc() -> dict[str, Any]:
    """The document of ``PLAN`` (a fresh copy)."""
    return copy.deepcopy(plan_to_dict(PLAN, META))


# --------------------------------------------------------------------------- versions


@pytest.mark.parametrize(
    ("plan", "version"),
    [
        (Plan(PlanOptions(since=T), (GRANT, CARD), (), ()), 1),
        (Plan(PlanOptions(since=T), (), (), ()), 1),
        (Plan(PlanOptions(since=T), (UNARCHIVE,), (), ()), 2),
        (Plan(PlanOptions(since=T), (), (), (), value_skipped=(SKIPPED_NAME,)), 2),
        (Plan(PlanOptions(since=T), (), (), (), unrestorable=(DELETED,)), 2),
        (Plan(PlanOptions(since=T, restore=frozenset({"members", "archived"})), (), (), ()), 2),
        (Plan(PlanOptions(since=T, by="culprit"), (CARD,), (), ()), 2),
    ],
)
def test_plan_version(plan: Plan, version: int) -> None:
    """Version 2 for a value kind, a value field skipped, something unrestorable, or options
    beyond members; else 1."""
    assert plan_version(plan) == version
    assert plan_to_dict(plan, META)["format_version"] == version


@pytest.mark.parametrize("name", ["a", "b"])
def test_member_plans_stay_version_1_byte_for_byte(name: str) -> None:
    """A plan written by trello-restore before format 2 reads back and is written again
    exactly as it was, and still validates against the version 1 schema."""
    path = FIXTURES / f"plan-v1-seed5-set-{name}.json"
    text = path.read_text(encoding="utf-8")
    plan, meta = read_plan(path)
    assert plan_version(plan) == 1
    doc = plan_to_dict(plan, meta)
    assert dumps(doc) == text
    assert "value_skipped" not in doc
    assert "restore" not in doc["inputs"]
    jsonschema.Draft202012Validator(build_schema(1)).validate(doc)


# ------------------------------------------------------------------------- round trip


def test_version_2_round_trip(tmp_path: Path) -> None:
    """The version 2 document: restore and by in the inputs, the value changes, skipped
    fields and unrestorable objects, every count in the summary; valid against the shipped
    schema, and read back as the same plan (the file, as written, read with ``read_plan``)."""
    doc = v2_doc()
    assert doc["format_version"] == 2
    assert doc["inputs"]["restore"] == ["archived", "fields", "list"]
    assert doc["inputs"]["filters"]["by"] == "culprit"
    assert [c["action"] for c in doc["changes"]] == [
        "set_list_closed",
        "move_card_to_list",
        "set_card_closed",
        "set_card_field",
    ]
    assert doc["summary"] == {
        "changes": 4,
        "board_changes": 0,
        "list_closed_changes": 1,
        "card_move_changes": 1,
        "card_closed_changes": 1,
        "field_changes": 1,
        "card_changes": 0,
        "blocked": 0,
        "skipped": 0,
        "by_reason": {},
        "incomplete": 0,
        "value_skipped": 2,
        "by_value_reason": {"already_restored": 1, "changed_by_others": 1},
        "unrestorable": 1,
    }
    assert doc["value_skipped"][0] == {
        "object": {"type": "card", "id": "k2", "name": "Other card"},
        "board_id": "b1",
        "field": "desc",
        "reason": "changed_by_others",
        "action_id": "a5",
        "others": [{"by": {"id": "ann", "username": "ann"}, "date": "2026-10-21T08:00:00Z"}],
    }
    assert doc["unrestorable"] == [
        {
            "object": {"type": "card", "id": "k9", "name": "Gone card"},
            "what": "card_deleted",
            "action_id": "a7",
            "date": "2026-10-21T08:00:00Z",
            "by": {"id": "cul", "username": "culprit"},
        }
    ]
    shipped = resources.files("trello_restore").joinpath("schema/plan-v2.schema.json")
    assert json.loads(shipped.read_text("utf-8")) == build_schema(2)
    jsonschema.Draft202012Validator(build_schema(2)).validate(doc)
    assert plan_from_dict(doc) == (PLAN, META)
    path = tmp_path / "plan.json"
    write_plan(doc, path)
    plan, meta = read_plan(path)
    assert plan == PLAN
    assert plan_to_dict(plan, meta) == doc


def test_a_version_2_plan_of_members_only_reads() -> None:
    """A version 2 file may hold only member changes (``--restore members --by X``)."""
    plan = Plan(PlanOptions(since=T, by="ann", add_to_board=True), (GRANT, CARD), (), ())
    doc = plan_to_dict(plan, META)
    assert doc["format_version"] == 2
    assert validate_plan(doc) == (plan, META)


def test_summary_of_a_version_1_plan_has_no_value_counts() -> None:
    """Version 1's summary keeps its keys; asked as version 2, the same plan counts zeros."""
    plan = Plan(PlanOptions(since=T), (CARD,), (), ())
    assert list(plan_summary(plan)) == [
        "changes",
        "board_changes",
        "card_changes",
        "blocked",
        "skipped",
        "by_reason",
        "incomplete",
    ]
    two = plan_summary(plan, 2)
    assert (two["field_changes"], two["value_skipped"], two["unrestorable"]) == (0, 0, 0)


# --------------------------------------------------------------------------- refusals


def test_a_version_1_reader_refuses_version_2_in_one_line() -> None:
    """A reader that knows only version 1 (this module's validation path with ``reads``
    cut to version 1: what trello-restore before format 2 was) refuses a version 2 plan with
    one line that says what to do; this version reads it."""
    doc = v2_doc()
    with pytest.raises(InputFileError) as info:
        validate_plan(doc, name="plan file p.json", reads=(1,))
    assert str(info.value) == (
        "plan file p.json was made by a newer trello-restore (format_version 2); this "
        "trello-restore reads only format_version 1: upgrade trello-restore to use it"
    )
    assert READS == (1, 2)
    assert validate_plan(doc)[0] == PLAN


def _both(*edits: Any) -> Any:
    """The edits one after the other."""

    def edit(doc: dict[str, Any]) -> None:
        for one in edits:
            one(doc)

    return edit


def _set(path: str, value: Any) -> Any:
    """An edit of the document at a dotted path (list indexes as numbers)."""

    def edit(doc: dict[str, Any]) -> None:
        *parents, last = path.split(".")
        node: Any = doc
        for key in parents:
            node = node[int(key)] if key.isdigit() else node[key]
        node[int(last) if last.isdigit() else last] = value

    return edit


@pytest.mark.parametrize(
    ("edit", "message"),
    [
        (_set("changes.3.value", "next tuesday"),
         "does not match the plan schema at $.changes[3]"),
        (_set("changes.3.value", 5), "does not match the plan schema at $.changes[3]"),
        (_set("changes.2.value", "false"), "does not match the plan schema at $.changes[2]"),
        (_set("changes.1.value", "../../boards/x"),
         "does not match the plan schema at $.changes[1]"),
        (_set("changes.3.field", "labels"), "does not match the plan schema at $.changes[3]"),
        (_set("changes.2.expected", False),
         "is inconsistent: $.changes[2] sets closed to the value it is expected to have "
         "already"),
        (_set("summary.value_skipped", 3),
         "is inconsistent: summary.value_skipped is 3 but the plan has 2"),
        (_set("summary.by_value_reason", {"changed_by_others": 2}),
         'is inconsistent: summary.by_value_reason is {"changed_by_others": 2} but the plan '
         'has {"changed_by_others": 1, "already_restored": 1}'),
        (_set("inputs.restore", ["everything"]), "does not match the plan schema at $.inputs"),
        (_set("unrestorable.0.date", "2026-13-01T00:00:00Z"), "holds an impossible date"),
        # R35e: moved by the clock skew, the plan's date overflowed (exit 1).
        (_both(_set("created_at", "9999-12-31T23:59:59.500Z"), _set("clock_skew_s", 1)),
         "holds an impossible date (created_at moved by clock_skew_s is out of range)"),
        (_both(_set("created_at", "0001-01-01T00:30:00Z"), _set("clock_skew_s", -3600)),
         "holds an impossible date (created_at moved by clock_skew_s is out of range)"),
    ],
)  # fmt: skip
def test_hand_edits_are_one_line(edit: Any, message: str, tmp_path: Path) -> None:
    """A value of the wrong type for its field, a change that changes nothing, counts that do
    not match: one line naming where, saying what to do."""
    doc = v2_doc()
    edit(doc)
    path = tmp_path / "plan.json"
    path.write_text(json.dumps(doc))
    with pytest.raises(InputFileError) as info:
        read_plan(path)
    text = str(info.value)
    assert "\n" not in text
    assert message in text
    assert text.endswith("make it again with --plan-out")
