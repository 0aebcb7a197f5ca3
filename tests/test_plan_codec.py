"""The plan memo's codec (``plan_codec.py``): every plan it writes comes back equal, object by
object; anything it could not give back exactly is refused when written (so the memo keeps no
plan it would not give back, without reading it back); a document it did not write is an
error the memo catches."""

from __future__ import annotations

import dataclasses
from dataclasses import replace
from datetime import UTC, datetime, timedelta, timezone
from functools import cache
from typing import Any, Literal

import orjson
import pytest

from trello_restore import plan_codec
from trello_restore.history import credit_apps
from trello_restore.models import (
    Blocked,
    Change,
    Evidence,
    MemberRef,
    Plan,
    PlanOptions,
    Skipped,
    ValueChange,
)
from trello_restore.plan_codec import NotCodable, decode, encode
from trello_restore.planner import build_plan
from trello_restore.sandbox.scenario import generate

from .test_kinds import CARD, GRANT
from .test_planfile_v2 import PLAN as VALUE_PLAN
from .test_planfile_v2 import UNARCHIVE
from .test_planner import _inputs
from .truthcheck import plan_options

T = datetime(2026, 10, 20, 9, 30, tzinfo=UTC)


@cache
def real_plans() -> dict[str, Plan]:
    """The planner's plans (apps credited) for the reference option sets a-h of a scenario
    with the second damage (member and value kinds, skipped, blocked, fields left alone)."""
    s = generate(5, 40, second_damage=True, automation_share=0.4)
    history, state = _inputs(s)
    return {
        name: credit_apps(build_plan(history, state, plan_options(o)), history)
        for name, o in s.option_sets().items()
    }


def _every_field_set() -> Plan:
    """A plan in which every field of every class holds a value other than its default, and
    dates with unusual offsets, microseconds and the calendar's ends."""
    odd = timezone(timedelta(hours=-3, minutes=-30, seconds=-15, microseconds=-7))
    ann = MemberRef("ann", "ann", "Ann Example")
    bot = MemberRef("bot", "butler", "Butler Bot")
    evidence = Evidence("recorded_removal", "a1", datetime(1, 1, 1, tzinfo=UTC), ann, "mv1", "B")
    card = replace(CARD, evidence=evidence, role="normal", member_on_card=True)
    move = VALUE_PLAN.changes[1]  # a card's: its card fields are set
    assert isinstance(move, ValueChange)
    value = replace(
        move,
        member=bot,
        role="normal",
        member_on_card=True,
        member_on_board=False,
        object_type="list",
        evidence=Evidence(
            "field_update", "a2", datetime(9999, 12, 31, 23, 59, 59, 999999), bot, "mv2", "App"
        ),
        value="naïve ✓ \u0000 text",
        expected=True,
        actions=("a2", "a3"),
        value_name="Somewhere",
    )
    options = PlanOptions(
        since=datetime(2025, 1, 2, 3, 4, 5, 678901, tzinfo=odd),
        until=datetime(2025, 2, 1, 0, 0),  # naive: comes back naive
        mode="ever-added",
        removed_by="lead",
        cause="move",
        only_recorded=True,
        add_to_board=True,
        board_role="observer",
        lists=frozenset({"l2", "l1"}),
        cards=frozenset(),
        restore=frozenset({"members", "fields"}),
        by="culprit",
    )
    return Plan(
        options,
        (GRANT, card, value),
        (Blocked(replace(card, change_id="c-blocked"), "not_board_member"),),
        (Skipped("k1", "Card", ann, "re_added_later", None),),
        ("k7", "k8"),
        VALUE_PLAN.value_skipped,
        VALUE_PLAN.unrestorable,
    )


def _objects(value: Any) -> list[Any]:
    """Every dataclass object in ``value``, depth first."""
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        found = [value]
        for f in dataclasses.fields(value):
            found += _objects(getattr(value, f.name))
        return found
    if isinstance(value, tuple):
        return [o for v in value for o in _objects(v)]
    return []


# ----------------------------------------------------------------------------- round trips


@pytest.mark.parametrize("name", ["a", "b", "c", "d", "e", "f", "g", "h"])
def test_a_real_plan_comes_back_equal_object_by_object(name: str) -> None:
    plan = real_plans()[name]
    back = decode(encode(plan))
    assert back == plan
    mine, theirs = _objects(plan), _objects(back)
    assert [type(o) for o in theirs] == [type(o) for o in mine]
    assert theirs == mine


def test_the_reference_plans_cover_what_a_memo_must_carry() -> None:
    """The plans above hold what the plan file leaves out and the memo must not: full names
    of skipped members, apps credited, value changes and fields left alone."""
    plans = real_plans().values()
    assert any(s.member.full_name for p in plans for s in p.skipped)
    assert any(c.evidence and c.evidence.app for p in plans for c in p.changes)
    assert any(isinstance(c, ValueChange) for p in plans for c in p.changes)
    assert any(p.value_skipped for p in plans)
    assert any(p.blocked for p in plans)


def test_every_field_comes_back_exactly() -> None:
    plan = _every_field_set()
    back = decode(encode(plan))
    assert back == plan
    assert _objects(back) == _objects(plan)
    assert back.options.since.utcoffset() == plan.options.since.utcoffset()
    assert back.options.until is not None
    assert back.options.until.tzinfo is None
    card, value = plan.changes[1], back.changes[2]
    assert isinstance(value, ValueChange)
    assert value.value == "naïve ✓ \u0000 text"
    assert card.evidence is not None
    assert value.evidence is not None
    for obj in (plan.options, card, card.evidence, value, value.evidence):
        for f in dataclasses.fields(obj):  # no field left at its default: each one carried
            assert getattr(obj, f.name) != f.default, (type(obj).__name__, f.name)


def test_a_member_is_written_once_and_read_once() -> None:
    """Each member is one row of the table, and the plan read back shares one object per
    member wherever it appears."""
    plan = real_plans()["h"]
    doc = orjson.loads(encode(plan))
    refs = [o for o in _objects(plan) if type(o) is MemberRef]
    assert len(doc["shared"]) == len(set(refs)) < len(refs)
    back = [o for o in _objects(decode(encode(plan))) if type(o) is MemberRef]
    assert len({id(r) for r in back}) == len(set(refs))


# ---------------------------------------------------------------------------------- refused


@dataclasses.dataclass(frozen=True, slots=True)
class _OtherChange(Change):
    """A kind of change the codec was not taught."""

    extra: str = ""


class _Text(str):
    """Text that is not a ``str`` itself."""


_OTHER = _OtherChange(**{f.name: getattr(CARD, f.name) for f in dataclasses.fields(CARD)})

#: A plan whose value is not of its field's type, which a memo could not give back as it is.
WRONG: list[tuple[str, Plan]] = [
    ("a list where a tuple goes", replace(VALUE_PLAN, incomplete=["k1"])),  # type: ignore[arg-type]
    ("a list in a change", replace(VALUE_PLAN, changes=[*VALUE_PLAN.changes])),  # type: ignore[arg-type]
    ("a number where a name goes", replace(VALUE_PLAN, changes=(replace(CARD, card_name=7),))),  # type: ignore[arg-type]
    ("1 where True goes", replace(VALUE_PLAN, changes=(replace(CARD, member_on_board=1),))),  # type: ignore[arg-type]
    (
        "a float where a field's value goes",
        replace(VALUE_PLAN, changes=(replace(UNARCHIVE, value=float("nan")),)),  # type: ignore[arg-type]
    ),
    (
        "a string Trello cannot have (a lone surrogate)",
        replace(VALUE_PLAN, changes=(replace(CARD, card_name="\ud800"),)),
    ),
    (
        "a set where a frozenset goes",
        replace(VALUE_PLAN, options=replace(VALUE_PLAN.options, lists={"l1"})),  # type: ignore[arg-type]
    ),
    (
        "a number in a set of names",
        replace(VALUE_PLAN, options=replace(VALUE_PLAN.options, cards=frozenset({1}))),  # type: ignore[arg-type]
    ),
    (
        "a date as text",
        replace(VALUE_PLAN, options=replace(VALUE_PLAN.options, since="2026-10-20")),  # type: ignore[arg-type]
    ),
    (
        "a skipped entry where a change goes",
        replace(VALUE_PLAN, changes=(Skipped("k1", "Card", GRANT.member, "filtered", None),)),  # type: ignore[arg-type]
    ),
    ("a kind of change the codec does not know", replace(VALUE_PLAN, changes=(_OTHER,))),
    (
        "a text of another class",
        replace(VALUE_PLAN, changes=(replace(CARD, card_name=_Text("Ship it")),)),
    ),
    (
        "a member of the wrong type",
        replace(VALUE_PLAN, skipped=(Skipped("k1", "Card", MemberRef(1), "filtered", None),)),  # type: ignore[arg-type]
    ),
    (
        "a pair of the wrong length",
        replace(
            VALUE_PLAN,
            value_skipped=(replace(VALUE_PLAN.value_skipped[0], others=((GRANT.member,),)),),  # type: ignore[arg-type]
        ),
    ),
]


@pytest.mark.parametrize(("why", "plan"), WRONG, ids=[w for w, _ in WRONG])
def test_a_value_of_another_type_is_refused(why: str, plan: Plan) -> None:
    with pytest.raises(NotCodable):
        encode(plan)


def test_a_hint_the_codec_does_not_know_is_an_error_when_it_is_made() -> None:
    """A new model field of a type the codec cannot give back exactly fails the codec's first
    use, so every run and test that keeps a memo (here: the same check, for each such hint),
    rather than a memo that differs from its plan."""
    for hint in (
        float,
        dict[str, str],
        list[str],
        frozenset[int],
        tuple[()],
        str | datetime,
        Evidence | MemberRef | None,
        Literal[1.5],
    ):
        with pytest.raises(TypeError):
            plan_codec._hint(hint)


# --------------------------------------------------------------------------- not its own


def _doc(plan: Plan = VALUE_PLAN) -> dict[str, Any]:
    doc: dict[str, Any] = orjson.loads(encode(plan))
    return doc


def _edited(edit: Any) -> bytes:
    doc = _doc(real_plans()["h"])
    edit(doc)
    return orjson.dumps(doc)


#: Where things are in a plan's document: ``["Plan", options, changes, blocked, skipped,
#: incomplete, value_skipped, unrestorable]``, options ``["PlanOptions", since, until, ...]``
#: (a field each), and a tuple of objects a list of runs, ``[class name, column, ...]``: a
#: column per field (``Change``'s member the 5th, its evidence, written whole, the 11th).
CHANGES, OPTIONS, MEMBER, EVIDENCE = 2, 1, 5, 11


def _evidence(doc: dict[str, Any]) -> list[Any]:
    """The first evidence written in the document (a list: ``["Evidence", kind, ...]``)."""
    return next(e for run in doc["plan"][CHANGES] for e in run[EVIDENCE] if e is not None)


@pytest.mark.parametrize(
    "edit",
    [
        lambda d: d["plan"][CHANGES][0].pop(),  # a run of changes a field short
        lambda d: d["plan"][CHANGES][0].append([]),  # one too many
        lambda d: d["plan"][CHANGES][0][1].pop(),  # a column shorter than the others
        lambda d: d["plan"][CHANGES][0].__setitem__(0, "Skipped"),  # not a change
        lambda d: d["plan"][CHANGES][0].__setitem__(0, "Nothing"),  # no such class
        lambda d: d["plan"][CHANGES][0].__setitem__(1, "c-1"),  # a column that is not one
        lambda d: d["plan"][CHANGES][0][MEMBER].__setitem__(0, 10**6),  # no such member
        lambda d: d["plan"][CHANGES][0][MEMBER].__setitem__(0, "ann"),  # a member by name
        lambda d: _evidence(d).pop(),  # an object a field short (defaults would hide it)
        lambda d: _evidence(d).__setitem__(0, "Evidences"),
        lambda d: _evidence(d).__setitem__(3, "yesterday"),  # its date
        lambda d: d["plan"].__setitem__(0, "PlanOptions"),  # not a plan
        lambda d: d["plan"][OPTIONS].__setitem__(1, "not a date"),
        lambda d: d["plan"][OPTIONS].__setitem__(1, 20261020),
        lambda d: d["plan"][OPTIONS].__setitem__(9, "l1"),  # lists: not a list
        lambda d: d["plan"].__setitem__(5, "k1"),  # incomplete: not a list
        lambda d: d["plan"].__setitem__(CHANGES, {}),
        lambda d: d["plan"][CHANGES].__setitem__(0, "Change"),  # a run that is not a list
        lambda d: d.__setitem__("shared", {}),
        lambda d: d.__setitem__("shared", ["ann"]),
        lambda d: d["shared"][0].pop(),  # a member a field short
        lambda d: d.pop("plan"),
    ],
)
def test_a_document_it_did_not_write_is_an_error_the_memo_catches(edit: Any) -> None:
    with pytest.raises((LookupError, TypeError, ValueError)):
        decode(_edited(edit))


@pytest.mark.parametrize("data", [b"", b"[]", b"{", b"[" * 5000, b'{"shared": [], "plan": 1}'])
def test_what_is_not_its_document_at_all(data: bytes) -> None:
    with pytest.raises((LookupError, TypeError, ValueError)):
        decode(data)
