"""Fidelity: hold the sandbox to real Trello data.

The real samples live in ``../shared`` beside the repository (``TRELLO_RESTORE_SHARED`` overrides
the location): the official OpenAPI description and public JSON files copied from other projects
(``../shared/fixtures/SOURCES.md``). A fresh clone has no ``../shared``, so the repository ships
their *shapes*: ``tests/fixtures/trello-shapes.json``, written by ``tools/make_shapes.py``. Per
action variant and object kind it holds every key path of the samples, the value types seen there
and in how many samples, and the OpenAPI operations; no values. Every shape check here reads that
file and runs with or without ``../shared``. With ``../shared``, ``test_shapes_file_is_derived_
from_the_samples`` also proves the file is what the script derives from the samples today, and
the few tests that need the samples' values run too; without it they skip.

Shapes are compared as *key trees*: the key paths of a JSON document (list elements share the
path segment ``[]``), each with the types found there (``int`` and ``float`` apart; strings split
into ``date``, ``id`` and ``str``, see ``make_shapes.TYPES``). A sandbox document must use only
paths that some real sample of the same kind has (the union) and must have every path all of them
share (the intersection): a key only some samples have is optional. Where the samples agree on a
path's type (null aside; int and float are numbers; date, id and str are strings), the sandbox must
use a type the samples use there; a date or an id is accepted where a sample has a plain string
(anonymised samples use made-up ids). Documented exceptions (trello-api-notes §13.5, §13.6): a
member's private fields (``fullName``, ``initials``, ``avatarUrl``, ``avatarHash``) may be missing
or null, and an action made by an automation may carry an ``appCreator`` object (its keys go
unchecked: no public sample has one) and lack ``memberCreator``. An update's old and new values
are values of one field (``data.old.due`` and ``data.card.due``), so each may have any type the
samples show for either: the samples set due dates (old null, new a date), the sandbox also
clears and changes them (``mirrored``).
"""

from __future__ import annotations

import importlib.util
import json
import re
import subprocess
import sys
from collections import defaultdict
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from functools import cache
from pathlib import Path
from types import ModuleType
from typing import Any, NamedTuple

import pytest
import requests
import trello

from trello_restore.api import ApiSettings, TrelloApi
from trello_restore.sandbox import render, scenario
from trello_restore.sandbox.server import ROUTES
from trello_restore.sandbox.world import AUTOMATION, App, World

pytestmark = pytest.mark.fidelity

JSON = dict[str, Any]
KeyPath = tuple[str, ...]
#: A key tree: every key path of a document with the JSON types found there.
Shape = dict[KeyPath, frozenset[str]]

REPO = Path(__file__).resolve().parents[1]
DATA_DIR = Path(__file__).resolve().parent / "data"
NOTES_SAMPLES = DATA_DIR / "notes-action-samples.json"
TRELLO_BASE = "https://api.trello.com/1"


def load_tool() -> ModuleType:
    """``tools/make_shapes.py``, the script that writes the shapes file (not a package)."""
    name = "make_shapes"
    if name not in sys.modules:
        spec = importlib.util.spec_from_file_location(name, REPO / "tools" / "make_shapes.py")
        assert spec is not None
        assert spec.loader is not None
        module = importlib.util.module_from_spec(spec)
        sys.modules[name] = module  # dataclasses look their module up while it executes
        spec.loader.exec_module(module)
    return sys.modules[name]


make_shapes = load_tool()
shape: Callable[[Any], Shape] = make_shapes.shape
Summary = make_shapes.Summary
merge = make_shapes.merge
variant: Callable[[Mapping[str, Any]], str] = make_shapes.variant


@cache
def shipped() -> JSON:
    """The shapes file shipped in ``tests/fixtures``."""
    doc: JSON = json.loads(make_shapes.SHAPES_FILE.read_text(encoding="utf-8"))
    return doc


def real_object(kind: str) -> Any:
    """The summary of the real samples of one object kind (``card:export``) in the shapes file."""
    return Summary.from_json(shipped()["objects"][kind])


@pytest.fixture(scope="module")
def fixtures_dir() -> Path:
    """``shared/fixtures``; skips the test when the real samples are not there."""
    path: Path = make_shapes.default_shared() / "fixtures"
    if not (path / "trello-openapi.json").is_file() or not (path / "trello-real").is_dir():
        pytest.skip(
            f"real Trello samples not found in {path} (a fresh clone has no ../shared; the shape "
            "checks ran against tests/fixtures/trello-shapes.json; set TRELLO_RESTORE_SHARED to "
            "a copy of the shared directory to check that file against the samples)"
        )
    return path


# ------------------------------------------------------------------------------------ key trees


def without(doc: JSON, keys: set[str]) -> JSON:
    """A shallow copy of ``doc`` without ``keys``."""
    return {k: v for k, v in doc.items() if k not in keys}


def fmt(path: KeyPath) -> str:
    """``data.card.idShort``."""
    return ".".join(path) or "<root>"


def family(type_: str) -> str:
    """What types count as one where samples agree: numbers, and strings of any kind."""
    if type_ in {"int", "float"}:
        return "number"
    return "str" if type_ in {"date", "id", "str"} else type_


def compatible(type_: str, real: frozenset[str]) -> bool:
    """A sandbox type where the samples have ``real``: one of them, or a date or an id where a
    sample has a plain string."""
    return type_ in real or (type_ in {"date", "id"} and "str" in real)


#: What a member may keep private (notes §13.6): real Trello may then leave these keys out or
#: send null, although every sample has a value; the values are in ``nonPublic`` instead.
PRIVATE_MEMBER_FIELDS = frozenset({"fullName", "initials", "avatarUrl", "avatarHash"})


def compare(sandbox: Shape, real: Any, what: str) -> list[str]:
    """Problems with ``sandbox`` against the real samples' ``Summary``: extra paths, missing
    paths, types."""
    assert real.samples, f"{what}: no real samples to compare with"
    union = set(real.paths)
    problems = [
        f"{what}: {fmt(p)} ({'/'.join(sorted(sandbox[p]))}) is in no real sample"
        for p in sorted(set(sandbox) - union)
    ]
    problems += [
        f"{what}: {fmt(p)} is in all {real.samples} real samples but missing"
        for p in sorted(real.common() - set(sandbox))
        if p[-1] not in PRIVATE_MEMBER_FIELDS
    ]
    for p in sorted(set(sandbox) & union):
        types = real.paths[p].types
        ours = sandbox[p] - {"null"} if p[-1:] and p[-1] in PRIVATE_MEMBER_FIELDS else sandbox[p]
        agree = len({family(t) for t in types - {"null"}}) <= 1
        if agree and not all(compatible(t, types) for t in ours):
            problems.append(
                f"{what}: {fmt(p)} is {'/'.join(sorted(sandbox[p]))}, real samples have "
                f"{'/'.join(sorted(types))}"
            )
    return problems


def compare_shapes(docs: Iterable[Any], real: Any, what: str) -> list[str]:
    """``compare`` for every distinct key tree among ``docs`` (problems deduplicated)."""
    problems: dict[str, None] = {}
    distinct = {frozenset(shape(d).items()) for d in docs}
    assert distinct, f"{what}: the sandbox produced nothing to compare"
    for tree in sorted(distinct, key=sorted):
        problems.update(dict.fromkeys(compare(dict(tree), real, what)))
    return list(problems)


def test_compare_accepts_subset_and_flags_extra_missing_and_type() -> None:
    """The key-tree comparison itself: what it accepts and each kind of problem it reports."""
    real = Summary.of_docs(
        [
            {"id": "a", "n": 1, "opt": None, "l": [{"x": 1}], "any": "s", "fullName": "A"},
            {"id": "b", "n": 2, "extra": True, "opt": "s", "l": [], "any": {}, "fullName": "B"},
        ]
    )
    base = {"id": "c", "n": 3, "l": [], "opt": None, "any": 1, "fullName": "C"}
    assert compare(shape(base), real, "t") == []
    assert compare(shape(base | {"l": [{"x": 2}], "extra": False, "opt": "x"}), real, "t") == []
    assert compare(shape(without(base, {"n"})), real, "t") == [
        "t: n is in all 2 real samples but missing"
    ]
    assert compare(shape(base | {"new": {}}), real, "t") == ["t: new (object) is in no real sample"]
    assert compare(shape(base | {"n": 1.5}), real, "t") == ["t: n is float, real samples have int"]
    assert compare(shape(base | {"opt": 5}), real, "t") == [
        "t: opt is int, real samples have null/str"
    ]
    assert compare(shape(base | {"l": [{"y": 1}]}), real, "t") == [
        "t: l.[].y (int) is in no real sample"
    ]
    # A private member's name may be missing or null (notes §13.6).
    assert compare(shape(without(base, {"fullName"})), real, "t") == []
    assert compare(shape(base | {"fullName": None}), real, "t") == []
    assert compare(shape(base | {"fullName": 5}), real, "t") == [
        "t: fullName is int, real samples have str"
    ]


def test_compare_tells_dates_and_ids_from_other_strings() -> None:
    """Where real Trello has a date or an id, a plain string is a problem; a date or an id is
    accepted where a sample has a plain string (an anonymised id)."""
    assert make_shapes.json_type("2024-03-04T09:01:00.000Z") == "date"
    assert make_shapes.json_type("65e58d8c0a1b2c3d4e5f6071") == "id"
    assert make_shapes.json_type("65E58D8C0A1B2C3D4E5F6071") == "str"  # Trello's are lower case
    assert make_shapes.json_type("2024-03-04") == "str"  # a date without a time is not one
    oid, other_oid = "65e58d8c0a1b2c3d4e5f6071", "65e58d8c0a1b2c3d4e5f6072"
    real = Summary.of_docs(
        [
            {"id": oid, "date": "2024-03-04T09:01:00.000Z", "idBoard": "anonymised-board-id"},
            {"id": other_oid, "date": "2017-01-02T18:05:41.837Z", "idBoard": oid},
        ]
    )
    good = {"id": oid, "date": "2024-03-05T10:00:00.000Z", "idBoard": oid}
    assert compare(shape(good), real, "t") == []
    assert compare(shape(good | {"idBoard": "anything"}), real, "t") == []
    assert compare(shape(good | {"id": "c1", "date": "4 March 2024"}), real, "t") == [
        "t: date is str, real samples have date",
        "t: id is str, real samples have id",
    ]


# ---------------------------------------------------------------------------- 1. OpenAPI routes


class SpecRoute(NamedTuple):
    """An operation of the OpenAPI description, as normalised segments."""

    method: str
    segments: tuple[str, ...]


def is_param(segment: str) -> bool:
    """``{id}``, ``{boardId}`` …"""
    return segment.startswith("{") and segment.endswith("}")


def split_template(template: str) -> tuple[str, ...]:
    """``/1/boards/{id}/actions`` -> ``("boards", "{id}", "actions")`` (the ``/1`` stripped)."""
    return tuple(s for s in template.removeprefix("/1/").strip("/").split("/") if s)


def load_spec_routes() -> list[SpecRoute]:
    """Every (method, path) of ``trello-openapi.json``, as the shapes file lists them."""
    operations = shipped()["openapi"]["paths"]
    return [
        SpecRoute(method, split_template(path))
        for path, methods in operations.items()
        for method in methods
    ]


def segment_matches(ours: str, theirs: str, previous: str | None) -> bool:
    """A sandbox segment against a spec segment.

    A parameter matches any spec parameter (the spec names the board-actions one ``{boardId}``);
    a literal matches only the same literal, except ``me`` after ``members``, which is an ``{id}``.
    """
    if is_param(ours):
        return is_param(theirs)
    if ours == "me" and previous == "members":
        return theirs == "{id}"
    return ours == theirs


def spec_has(spec: Sequence[SpecRoute], method: str, template: str) -> bool:
    """True if the OpenAPI description documents ``method template``."""
    ours = split_template(template)
    return any(
        r.method == method
        and len(r.segments) == len(ours)
        and all(
            segment_matches(o, t, ours[i - 1] if i else None)
            for i, (o, t) in enumerate(zip(ours, r.segments, strict=True))
        )
        for r in spec
    )


#: The routes the design and the issue list for the sandbox (method, template).
REQUIRED_ROUTES = {
    ("GET", "/1/members/me"),
    ("GET", "/1/members/me/boards"),
    ("GET", "/1/members/{id}"),
    ("GET", "/1/boards/{id}"),
    ("GET", "/1/boards/{id}/actions"),
    ("GET", "/1/boards/{id}/cards"),
    ("GET", "/1/boards/{id}/cards/{filter}"),
    ("GET", "/1/boards/{id}/lists"),
    ("GET", "/1/boards/{id}/members"),
    ("GET", "/1/boards/{id}/memberships"),
    ("GET", "/1/organizations/{id}/boards"),
    ("GET", "/1/cards/{id}"),
    ("GET", "/1/cards/{id}/actions"),
    ("POST", "/1/cards/{id}/idMembers"),
    ("DELETE", "/1/cards/{id}/idMembers/{idMember}"),
    ("PUT", "/1/cards/{id}"),
    ("PUT", "/1/boards/{id}/members/{idMember}"),
    ("PUT", "/1/lists/{id}/idBoard"),
    # issue 11 (design.md §10): list archive state and the bulk routes
    ("PUT", "/1/lists/{id}/closed"),
    ("POST", "/1/lists/{id}/archiveAllCards"),
    ("POST", "/1/lists/{id}/moveAllCards"),
}


def normalise_params(template: str) -> str:
    """Parameter names do not matter when comparing templates: ``{x}`` -> ``{}``."""
    return re.sub(r"\{[^}/]+\}", "{}", template.rstrip("/"))


def test_openapi_matcher_controls() -> None:
    """The route matcher accepts documented routes and rejects made-up ones and wrong methods."""
    spec = load_spec_routes()
    assert len(spec) == shipped()["openapi"]["operations"] == 255  # SOURCES.md: 255 operations
    assert spec_has(spec, "GET", "/1/boards/{id}/actions")  # spec says {boardId}
    assert spec_has(spec, "GET", "/1/members/me/boards")  # me = {id}
    assert spec_has(spec, "PUT", "/1/lists/{id}/idBoard")
    assert spec_has(spec, "DELETE", "/1/cards/{id}/idMembers/{idMember}")
    assert not spec_has(spec, "GET", "/1/boards/{id}/bogus")  # not swallowed by {field}
    assert not spec_has(spec, "GET", "/1/boards/{id}/actions/{idAction}/undo")
    assert not spec_has(spec, "DELETE", "/1/cards/{id}/actions")  # path exists, method does not
    assert not spec_has(spec, "POST", "/1/boards/{id}/actions")
    assert not spec_has(spec, "GET", "/1/cards/me")  # `me` is only a member id
    assert not spec_has(spec, "GET", "/1/me/boards")


def test_sandbox_routes_are_documented() -> None:
    """Every route the sandbox serves is in the official OpenAPI file with the same method."""
    spec = load_spec_routes()
    routes = [(r.method, r.template) for r in ROUTES]
    assert len(routes) == len(set(routes)), "duplicate routes"
    undocumented = [f"{m} {t}" for m, t in routes if not spec_has(spec, m, t)]
    assert undocumented == []
    served = {(m, normalise_params(t)) for m, t in routes}
    missing = sorted(
        f"{m} {t}" for m, t in REQUIRED_ROUTES if (m, normalise_params(t)) not in served
    )
    assert missing == [], "routes the design requires but the sandbox does not serve"
    assert {m for m, _ in routes} <= {"GET", "POST", "PUT", "DELETE"}


# ------------------------------------------------------------------ the hand-built sandbox world

T0 = datetime(2024, 3, 4, 9, 0, tzinfo=UTC)


@dataclass
class HandWorld:
    """A small world in which every World operation has run once or more."""

    world: World
    admin: str
    bob: str
    carol: str
    dave: str
    source: str
    archive: str
    #: An open card on the source board that nobody is on and nothing has touched.
    fresh: str


def build_world() -> HandWorld:
    """Run every World operation, the incident included, with explicit timestamps."""
    w = World(seed=11, unlogged_share=0.0, clock=lambda: T0 + timedelta(days=30))
    minutes = iter(range(1, 10_000))

    def at() -> datetime:
        return T0 + timedelta(minutes=next(minutes))

    admin = w.add_member("ada", "Ada Admin", T0).id
    bob = w.add_member("bob", "Bob Builder", T0).id
    carol = w.add_member("carol", "Carol Client", T0).id
    dave = w.add_member("dave", "Dave Dropped", T0).id
    org = w.add_organization("acme", "Acme Inc", T0).id
    src = w.create_board("Product", admin, at(), organization=org).id
    dst = w.create_board("Product archive", admin, at(), organization=org).id
    w.add_member_to_board(src, bob, admin, "normal", at())
    w.add_member_to_board(src, carol, admin, "observer", at())
    assert w.add_member_to_board(src, carol, admin, "normal", at()) is not None  # make…Member
    w.add_member_to_board(src, dave, admin, "normal", at())
    w.add_member_to_board(dst, bob, admin, "normal", at())
    todo = w.create_list(src, "To do", admin, at()).id
    doing = w.create_list(src, "Doing", admin, at()).id
    done = w.create_list(src, "Done", admin, at()).id
    shelf = w.create_list(dst, "Shelf", admin, at()).id
    cards = [w.create_card(todo, f"Card {i}", admin, at()).id for i in range(1, 10)]
    for card in cards[:6]:
        w.add_member_to_card(card, bob, admin, at())
        w.add_member_to_card(card, carol, admin, at())
    w.add_member_to_card(cards[0], dave, admin, at())
    w.remove_member_from_card(cards[1], carol, admin, at())
    w.set_card_members(cards[2], [carol, dave], admin, at())  # PUT idMembers: -bob +dave
    w.comment(cards[0], "Ready for review", bob, at())
    for card in cards[:3]:
        w.move_card_to_list(card, doing, admin, at())
    w.move_card_to_list(cards[3], done, admin, at())
    w.set_card_closed(cards[4], True, admin, at())
    w.set_card_closed(cards[4], False, admin, at())
    w.set_card_closed(cards[5], True, admin, at())
    w.delete_card(cards[6], admin, at())
    w.set_list_closed(done, True, admin, at())
    w.deactivate_member(dave, org)
    # The incident: a whole list, then one card, moved to a board where carol and dave are not.
    moved = w.move_list_to_board(doing, dst, admin, at())
    assert len(moved.removals) == 4  # carol and dave from two cards each; bob stays
    assert all(e.logged for e in moved.removals)
    w.move_card_to_board(cards[5], dst, shelf, admin, at())  # archived card, carol removed
    w.move_card_to_board(cards[7], src, done, admin, at())  # same board: a list move
    # Card values (design.md §10): each field set, changed and cleared, and the bulk routes.
    w.set_card_field(cards[4], "name", "Card 5, renamed", admin, at())
    w.set_card_field(cards[4], "desc", "Steps:\n1. one\n2. two", admin, at())
    w.set_card_field(cards[4], "desc", "", bob, at())
    w.set_card_field(cards[4], "due", "2024-04-01T17:00:00.000Z", admin, at())
    w.set_card_field(cards[4], "due", "2024-04-08T17:00:00.000Z", admin, at(), app=AUTOMATION)
    w.set_card_field(cards[4], "dueComplete", True, bob, at())
    w.set_card_field(cards[4], "start", "2024-03-25T09:00:00.000Z", admin, at())
    w.set_card_field(cards[4], "start", None, admin, at())
    w.set_card_pos(cards[4], "top", admin, at())
    w.move_all_cards(doing, dst, shelf, admin, at())  # the moved list's cards, one by one
    assert len(w.archive_all_cards(shelf, admin, at())) == 3  # card 6 was archived already
    return HandWorld(w, admin, bob, carol, dave, src, dst, cards[8])


@pytest.fixture(scope="module")
def hand() -> HandWorld:
    """The hand-built world, shared by the tests that only read it."""
    return build_world()


# --------------------------------------------------------------------- 2. action shapes: samples


def envelope(action: Mapping[str, Any]) -> JSON:
    """An action without ``data``."""
    return {k: v for k, v in action.items() if k != "data"}


def board_ref(action: Mapping[str, Any]) -> JSON:
    """Only ``data.board`` of an action."""
    return {"data": {"board": action["data"]["board"]}}


def board_refs(summary: Any) -> Any:
    """``board_ref`` of the summarised actions that have a ``data.board``."""
    n = summary.paths[("data", "board")].count
    stat = make_shapes.PathStat(frozenset({"object"}), n)
    paths = {(): stat, ("data",): stat}
    paths |= {p: s for p, s in summary.paths.items() if p[:2] == ("data", "board")}
    return Summary(n, paths, summary.sources)


def changed_object(type_: str) -> str:
    """The ``data`` key of the object an update changes: ``updateCard`` -> ``card``."""
    name = type_.removeprefix("update")
    return name[:1].lower() + name[1:]


def mirrored(summary: Any, variant_: str) -> Any:
    """An update variant's summary where ``data.old.<field>`` and ``data.<object>.<field>`` each
    have the types of both: the old and the new value of one field take the same values."""
    type_, _, fields = variant_.partition(":")
    paths = dict(summary.paths)
    for key in fields.split(","):
        pair = [("data", "old", key), ("data", changed_object(type_), key)]
        union = frozenset().union(*(paths[p].types for p in pair if p in paths))
        for p in pair:
            if p in paths:
                paths[p] = make_shapes.PathStat(union, paths[p].count)
    return Summary(summary.samples, paths, summary.sources)


def strip_changed_fields(action: Mapping[str, Any]) -> JSON:
    """An update action without ``data.old`` and without the changed fields' new values.

    Real updates carry each changed field twice: the old value in ``data.old``, the new one on the
    changed object (``data.card`` for ``updateCard``); ``test_real_updates_mirror_old_fields``.
    """
    out: JSON = json.loads(json.dumps(action))
    old = out["data"].pop("old")
    changed = out["data"].get(changed_object(out["type"]), {})
    for key in old:
        changed.pop(key, None)
    return out


def strip_changed_paths(summary: Any, variant_: str) -> Any:
    """``strip_changed_fields`` of every action of one update variant, on its summary."""
    type_, _, fields = variant_.partition(":")
    changed = ("data", changed_object(type_))
    old = set(fields.split(","))
    return summary.keep(
        lambda p: p[:2] != ("data", "old") and not (p[:2] == changed and len(p) > 2 and p[2] in old)
    )


@dataclass
class References:
    """Real actions by variant, summarised: from the shapes file, and from the notes
    (tests/data, whose samples are quoted in the API notes and shipped)."""

    real: dict[str, Any]
    notes: dict[str, Any]
    #: Every real action without ``data``.
    envelopes: Any
    #: ``{"data": {"board": …}}`` of every real action that has one: board references of all
    #: types.
    boards: Any

    def siblings(self, type_: str) -> dict[str, Any]:
        """The real variants of ``type_`` that have a ``data.old``."""
        return {v: s for v, s in self.real.items() if v.split(":")[0] == type_ and ":" in v}


def load_references(shapes: JSON) -> References:
    """The shapes file's actions, and the notes' samples summarised, by variant."""
    real = {v: Summary.from_json(entry) for v, entry in shapes["actions"].items()}
    notes: dict[str, list[JSON]] = defaultdict(list)
    origins: dict[str, set[str]] = defaultdict(set)
    for sample in json.loads(NOTES_SAMPLES.read_text(encoding="utf-8"))["samples"]:
        notes[variant(sample["action"])].append(sample["action"])
        origins[variant(sample["action"])].add(sample["origin"])
    return References(
        real,
        {v: Summary.of_docs(xs, origins[v]) for v, xs in notes.items()},
        merge(s.without({"data"}) for s in real.values()),
        merge(board_refs(s) for s in real.values() if ("data", "board") in s.paths),
    )


@pytest.fixture(scope="module")
def refs() -> References:
    """The real actions, grouped."""
    return load_references(shipped())


def value_kind(value: Any) -> str:
    """``json_type``, with int and float both ``number``, date and id both ``str``."""
    return family(make_shapes.json_type(value))


def mirror_problems(action: Mapping[str, Any], what: str) -> list[str]:
    """Each ``data.old`` key is also on the changed object, with a value of the same kind."""
    data, name = action["data"], changed_object(action["type"])
    changed = data.get(name)
    if not isinstance(changed, dict):
        return [f"{what}: no data.{name} for the changed fields"]
    problems = []
    for key, old_value in data["old"].items():
        if key not in changed:
            problems.append(f"{what}: old.{key} without data.{name}.{key}")
        elif None not in (old_value, changed[key]) and value_kind(old_value) != value_kind(
            changed[key]
        ):
            problems.append(f"{what}: old.{key} and data.{name}.{key} differ in kind")
    return problems


#: Envelope keys that only newer responses carry (notes §2.1), so older samples lack them.
NEWER_ENVELOPE_KEYS = frozenset({"limits", "appCreator"})


def by_automation(action: Mapping[str, Any]) -> bool:
    """An action an automation made: ``appCreator`` is an object (notes §13.5)."""
    return isinstance(action.get("appCreator"), dict)


def envelope_problems(actions: Sequence[JSON], refs: References, label: str) -> list[str]:
    """The envelopes against every real envelope.

    An automation's ``appCreator`` object is compared as the null the samples have (no public
    sample shows one), and such an action may lack ``memberCreator`` (notes §13.5).
    """
    problems: list[str] = []
    people = [envelope(a) for a in actions if not by_automation(a)]
    if people:
        problems += compare_shapes(people, refs.envelopes, f"{label} envelope")
    for a in (a for a in actions if by_automation(a)):
        assert isinstance(a["appCreator"].get("id"), str), f"{label}: appCreator without an id"
        env = envelope(a) | {"appCreator": None}
        real = refs.envelopes if "memberCreator" in a else refs.envelopes.without({"memberCreator"})
        problems += compare_shapes([env], real, f"{label} envelope (automation)")
    return problems


def action_problems(actions: Sequence[JSON], refs: References, what: str) -> list[str]:
    """Compare sandbox actions (all of one variant) with real actions.

    ``data`` against the real samples of the same variant: from the shapes file, else from the
    notes (tests/data; there ``data.board`` is compared with every real action's, as the notes'
    samples are 2011-2015), else, for an update variant nobody sampled, the other variants of the
    same type without their changed fields. The envelope (all but ``data``) against every real
    envelope, because many samples of a type predate today's envelope (``limits``, ``appCreator``,
    the newer member fields). Per type, the top-level keys must include those all its samples have
    (such as ``member``) and add none that no sample of the type has, but ``limits``/``appCreator``.
    """
    v = variant(actions[0])
    assert all(variant(a) == v for a in actions)
    type_, label = actions[0]["type"], f"{what} {v}"
    if v in refs.real:
        samples = mirrored(refs.real[v], v) if ":" in v else refs.real[v]
        problems = compare_shapes(
            [{"data": a["data"]} for a in actions], samples.only({"data"}), label
        )
    elif v in refs.notes:
        # data.board gained shortLink after 2013 (the 2013 sample lacks it, every fixture has it
        # since 2016), so it is compared with the board references of all real actions.
        samples = refs.notes[v]
        problems = compare_shapes(
            [{"data": without(a["data"], {"board"})} for a in actions],
            samples.only({"data"}).keep(lambda p: p[:2] != ("data", "board")),
            label,
        )
        problems += compare_shapes([board_ref(a) for a in actions], refs.boards, label)
    elif ":" in v and refs.siblings(type_):
        samples = merge(strip_changed_paths(s, sv) for sv, s in refs.siblings(type_).items())
        problems = compare_shapes(
            [{"data": strip_changed_fields(a)["data"]} for a in actions],
            samples.only({"data"}),
            f"{label} (vs other {type_} variants)",
        )
        problems += [p for a in actions for p in mirror_problems(a, label)]
    else:
        return [
            f"{label}: no real sample of this type in tests/fixtures/trello-shapes.json nor in "
            f"tests/data/{NOTES_SAMPLES.name}; add a real sample before the sandbox emits it"
        ]
    problems += envelope_problems(actions, refs, label)
    required = {p[0] for p in samples.common() if len(p) == 1}
    allowed = {p[0] for p in samples.paths if len(p) == 1} | NEWER_ENVELOPE_KEYS
    for a in actions:
        lacking = required - set(a) - ({"memberCreator"} if by_automation(a) else set())
        problems += [f"{label}: lacks top-level {k}, which all samples have" for k in lacking]
        problems += [
            f"{label}: has top-level {k}, which no sample of the type has" for k in set(a) - allowed
        ]
    return list(dict.fromkeys(problems))


def test_real_samples_are_summarised(refs: References) -> None:
    """The shapes file holds the action types the comparisons rely on (guards against a bad
    copy), and every summary is consistent: no path in more samples than its entry has."""
    counts = {v: s.samples for v, s in refs.real.items()}
    assert counts["addMemberToCard"] == 29
    assert counts["removeMemberFromCard"] == 5
    assert counts["updateCard:idList"] == 11
    assert counts["updateCard:closed"] == 3
    assert sum(counts.values()) == 178
    for kind, entry in [*shipped()["actions"].items(), *shipped()["objects"].items()]:
        summary = Summary.from_json(entry)
        assert summary.sources, kind
        assert summary.paths[()].count == summary.samples, kind
        assert all(0 < s.count <= summary.samples for s in summary.paths.values()), kind
        assert all(s.types <= set(make_shapes.TYPES) for s in summary.paths.values()), kind
    assert sorted(refs.notes) == sorted(
        [
            "addLabelToCard",
            "addMemberToBoard",
            "addMemberToCard",
            "convertToCardFromCheckItem",
            "copyCard",
            "createCard",
            "deleteCard",
            "makeNormalMemberOfBoard",
            "moveCardFromBoard",
            "moveCardToBoard",
            "moveListFromBoard",
            "moveListToBoard",
            "removeMemberFromBoard",
            "updateCard:closed",
            "updateCard:idList",
        ]
    )


def test_real_updates_mirror_old_fields(fixtures_dir: Path) -> None:
    """In every real update action, each ``data.old`` key is also on the changed object (the
    values' kinds are compared, so this reads the samples themselves)."""
    updates = [
        a
        for _, doc in make_shapes.load_samples(fixtures_dir)
        for a in make_shapes.actions_in(doc)
        if "old" in a["data"]
    ]
    notes = json.loads(NOTES_SAMPLES.read_text(encoding="utf-8"))["samples"]
    updates += [s["action"] for s in notes if "old" in s["action"]["data"]]
    assert len(updates) == 32 + 2
    assert [p for a in updates for p in mirror_problems(a, variant(a))] == []


def test_summaries_hold_what_the_update_comparison_needs(refs: References) -> None:
    """Every real update variant has ``data.old`` and its changed object in all its samples,
    so ``strip_changed_paths`` can treat the variant as a whole."""
    updates = {v: s for v, s in refs.real.items() if ":" in v}
    assert len(updates) == 8
    for v, s in updates.items():
        type_, _, fields = v.partition(":")
        common = s.common()
        assert ("data", "old") in common, v
        for key in fields.split(","):
            assert ("data", "old", key) in common, v
            assert ("data", changed_object(type_), key) in common, v


#: Every action variant the hand-built world produces.
HAND_VARIANTS = (
    "addMemberToBoard",
    "addMemberToCard",
    "commentCard",
    "createBoard",
    "createCard",
    "createList",
    "deleteCard",
    "makeNormalMemberOfBoard",
    "moveCardFromBoard",
    "moveCardToBoard",
    "moveListFromBoard",
    "moveListToBoard",
    "removeMemberFromCard",
    "updateCard:closed",
    "updateCard:desc",
    "updateCard:due",
    "updateCard:dueComplete",
    "updateCard:idList",
    "updateCard:name",
    "updateCard:pos",
    "updateCard:start",
    "updateList:closed",
)


def rendered_actions(world: World) -> list[JSON]:
    """Every action of the world as the API renders it (``member``/``memberCreator`` included)."""
    return [render.action(world, a) for a in world.actions]


def test_hand_world_emits_every_variant(hand: HandWorld) -> None:
    """The hand-built world exercises exactly the variants the shape test is parametrised over."""
    assert sorted({variant(a) for a in rendered_actions(hand.world)}) == sorted(HAND_VARIANTS)


@pytest.mark.parametrize("kind", HAND_VARIANTS)
def test_action_shape_matches_real(kind: str, hand: HandWorld, refs: References) -> None:
    """Sandbox actions of one variant have the key tree and value types of the real ones."""
    actions = [a for a in rendered_actions(hand.world) if variant(a) == kind]
    assert actions
    assert action_problems(actions, refs, "hand world") == []


def test_action_comparison_rejects_unsampled_and_altered(hand: HandWorld, refs: References) -> None:
    """Negative controls: an unsampled type fails loudly; altered actions are caught."""
    action = next(a for a in rendered_actions(hand.world) if a["type"] == "removeMemberFromCard")
    unknown = json.loads(json.dumps(action)) | {"type": "makeObserverOfBoard"}
    assert "no real sample" in action_problems([unknown], refs, "t")[0]
    altered = json.loads(json.dumps(action))
    altered["data"]["deactivated"] = "false"
    del altered["data"]["idMember"]
    altered["data"]["card"]["idList"] = "x"
    altered["date"] = 1709542800000
    del altered["member"]
    assert sorted(action_problems([altered], refs, "t")) == [
        "t removeMemberFromCard envelope: date is int, real samples have date",
        "t removeMemberFromCard: data.card.idList (str) is in no real sample",
        "t removeMemberFromCard: data.deactivated is str, real samples have bool",
        "t removeMemberFromCard: data.idMember is in all 5 real samples but missing",
        "t removeMemberFromCard: lacks top-level member, which all samples have",
    ]
    move = next(a for a in rendered_actions(hand.world) if a["type"] == "moveListToBoard")
    bad_move = json.loads(json.dumps(move))
    bad_move["data"]["boardSource"]["shortLink"] = "abcdefgh"
    bad_move["member"] = action["member"]
    assert action_problems([bad_move], refs, "t") == [
        "t moveListToBoard: data.boardSource.shortLink (str) is in no real sample",
        "t moveListToBoard: has top-level member, which no sample of the type has",
    ]
    archive = next(a for a in rendered_actions(hand.world) if variant(a) == "updateList:closed")
    unmirrored = json.loads(json.dumps(archive))
    del unmirrored["data"]["list"]["closed"]
    unmirrored["data"]["list"]["idBoard"] = "x"
    assert action_problems([unmirrored], refs, "t") == [
        "t updateList:closed (vs other updateList variants): data.list.idBoard (str) is in no "
        "real sample",
        "t updateList:closed: old.closed without data.list.closed",
    ]
    dated = json.loads(json.dumps(action))
    dated["date"] = "4 March 2024"
    dated["id"] = "action-1"
    assert sorted(action_problems([dated], refs, "t")) == [
        "t removeMemberFromCard envelope: date is str, real samples have date",
        "t removeMemberFromCard envelope: id is str, real samples have id",
    ]


def test_an_automation_s_app_creator_has_the_notes_shape() -> None:
    """The sandbox's automation's ``appCreator`` is ``{id, authType}`` as notes §2.1 has it,
    with no name the notes do not know Trello to send (R71b), so the tool's naming of a
    nameless app is what the sandbox's runs show; an app given a name carries it."""
    assert render.app_creator(AUTOMATION) == {"id": AUTOMATION.id, "authType": "automation"}
    named = App("b" * 24, "Bot")
    assert render.app_creator(named) == {"id": named.id, "name": "Bot", "authType": "automation"}


def test_automation_and_private_members_are_real_shapes(hand: HandWorld, refs: References) -> None:
    """What real Trello also sends (notes §13.5, §13.6) passes: an action an automation made,
    with an ``appCreator`` object and no ``memberCreator``, and members who keep their name and
    avatar private. Only those: a person's action without ``memberCreator`` still fails, and so
    does a member without a username."""
    action = next(a for a in rendered_actions(hand.world) if a["type"] == "removeMemberFromCard")
    automated = without(json.loads(json.dumps(action)), {"memberCreator"})
    automated["appCreator"] = {"id": "5e5d0f7e0a1b2c3d4e5f6071", "name": "Butler"}
    assert action_problems([automated], refs, "t") == []
    assert (
        action_problems([automated | {"memberCreator": action["memberCreator"]}], refs, "t") == []
    )
    private = json.loads(json.dumps(action))
    for key in ("member", "memberCreator"):
        for field in ("fullName", "initials"):
            del private[key][field]
        private[key] |= {"avatarHash": None, "avatarUrl": None}
    assert action_problems([private], refs, "t") == []
    members = real_object("member:export")
    hidden = without(render.member_full(hand.world.members[hand.bob]), {"fullName", "initials"})
    assert compare_shapes([hidden | {"avatarHash": None, "avatarUrl": None}], members, "t") == []
    assert compare_shapes([without(hidden, {"username"})], members, "t") == [
        "t: username is in all 3 real samples but missing"
    ]
    orphan = without(json.loads(json.dumps(action)), {"memberCreator"})
    assert action_problems([orphan], refs, "t") == [
        "t removeMemberFromCard: lacks top-level memberCreator, which all samples have",
    ]
    assert by_automation(automated)
    assert not by_automation(action)


def scenario_world() -> World:
    """The world of a generated scenario (seed 3, 60 cards)."""
    return scenario.generate(seed=3, cards=60).world


def test_scenario_action_shapes_match_real(refs: References) -> None:
    """Every action of a generated scenario has the shape of the real ones of its variant."""
    world = scenario_world()
    by_variant: dict[str, list[JSON]] = defaultdict(list)
    for a in rendered_actions(world):
        by_variant[variant(a)].append(a)
    assert "removeMemberFromCard" in by_variant
    assert {"moveListToBoard", "moveCardToBoard", "updateCard:closed"} <= set(by_variant)
    problems = [p for xs in by_variant.values() for p in action_problems(xs, refs, "scenario")]
    assert problems == []


def test_second_damage_action_shapes_match_real(refs: References) -> None:
    """The second damage's actions (design.md §10.4: cards archived and moved in bulk, due dates
    and descriptions overwritten by an automation, edits by hand) have the real shapes, the
    automation's with ``appCreator`` and no ``memberCreator``."""
    s = scenario.generate(seed=3, cards=60, second_damage=True)
    assert s.second_damage_at is not None
    late = [render.action(s.world, a) for a in s.world.actions if a.date >= s.second_damage_at]
    by_variant: dict[str, list[JSON]] = defaultdict(list)
    for a in late:
        by_variant[variant(a)].append(a)
    assert set(by_variant) == {
        "updateCard:closed",
        "updateCard:desc",
        "updateCard:due",
        "updateCard:idList",
    }
    automated = [a for a in late if by_automation(a)]
    assert {variant(a) for a in automated} == {"updateCard:desc", "updateCard:due"}
    assert all(a["idMemberCreator"] == s.culprit.id for a in automated if s.culprit)
    problems = [p for xs in by_variant.values() for p in action_problems(xs, refs, "second")]
    assert problems == []


def test_mirrored_widens_only_the_changed_field(refs: References) -> None:
    """``mirrored``: a cleared due date (new value null) and a changed one (old value a date)
    pass; a wrong type in the changed field, or in another key, still fails."""
    real = refs.real["updateCard:due"]
    assert real.paths[("data", "old", "due")].types == {"null"}  # what makes the widening needed
    wide = mirrored(real, "updateCard:due")
    both = {"date", "null"}
    assert wide.paths[("data", "old", "due")].types == both
    assert wide.paths[("data", "card", "due")].types == both
    assert wide.paths[("data", "card", "name")] == real.paths[("data", "card", "name")]
    hand = build_world()
    due = next(
        render.action(hand.world, a)
        for a in hand.world.actions
        if a.type == "updateCard" and "due" in a.data["old"] and a.data["old"]["due"]
    )
    assert action_problems([due], refs, "t") == []
    broken = json.loads(json.dumps(due))
    broken["data"]["card"]["due"] = 5
    broken["data"]["card"]["name"] = None
    assert sorted(action_problems([broken], refs, "t")) == [
        "t updateCard:due: data.card.due is int, real samples have date/null",
        "t updateCard:due: data.card.name is null, real samples have str",
    ]


# ------------------------------------------------------- 2b. cards, lists, members, boards: samples


#: Keys a board export adds to each card (``card_attachments``, ``card_pluginData``,
#: ``customFieldItems`` in the export's request, notes §6); ``GET /boards/{id}/cards`` omits them.
EXPORT_ONLY_CARD_KEYS = {"attachments", "pluginData", "customFieldItems"}

#: The collections of a board export; the board itself is what remains.
EXPORT_COLLECTIONS = {
    "actions",
    "cards",
    "lists",
    "members",
    "checklists",
    "labels",
    "customFields",
    "pluginData",
    "memberships",
}


def real_cards() -> Any:
    """Cards as ``GET /boards/{id}/cards`` and ``GET /cards/{id}`` answer (the exports' cards
    without the keys only an export has)."""
    return real_object("card:export").without(EXPORT_ONLY_CARD_KEYS)


def real_memberships() -> Any:
    """Board memberships: in exports and in ``GET /members/{id}/boards``."""
    return merge([real_object("membership:export"), real_object("membership:member-boards")])


def real_boards() -> Any:
    """Boards (``GET /members/{id}/boards`` items and export top levels), without their nested
    collections (``memberships`` is compared on its own) and the export's ``limits``."""
    return merge(
        [
            real_object("board:member-boards").without({"lists", "memberships"}),
            real_object("board:export").without(EXPORT_COLLECTIONS | {"limits"}),
        ]
    )


def test_cards_match_real_cards(hand: HandWorld) -> None:
    """``render.card`` has the key tree of the real exported cards (archived cards included)."""
    assert real_cards().samples == 25
    ours = [render.card(c) for c in hand.world.cards.values()]
    assert any(c["closed"] for c in ours)
    assert any(c["idMembers"] for c in ours)
    assert compare_shapes(ours, real_cards(), "card") == []
    # The adlio cards (GET /boards/{id}/cards with reduced fields) are a subset of ours.
    adlio = real_object("card:board-cards")
    assert {p[0] for p in adlio.paths if p} <= set(ours[0])


def test_export_cards_match_real(hand: HandWorld) -> None:
    """Cards in ``render.board_export`` have the key tree of the real exports' cards."""
    ours = [
        c for b in hand.world.boards.values() for c in render.board_export(hand.world, b)["cards"]
    ]
    assert compare_shapes(ours, real_object("card:export"), "export card") == []


def test_lists_match_real(hand: HandWorld) -> None:
    """``render.trello_list`` has the key tree of the real exported lists."""
    real = real_object("list:export")
    assert real.samples == 9
    ours = [render.trello_list(x) for x in hand.world.lists.values()]
    assert any(x["closed"] for x in ours)
    assert compare_shapes(ours, real, "list") == []


def test_memberships_match_real(hand: HandWorld) -> None:
    """``render.membership`` has the key tree of real board memberships (exports and API)."""
    ours = [
        render.membership(m) for b in hand.world.boards.values() for m in b.memberships.values()
    ]
    assert any(m["deactivated"] for m in ours)
    assert compare_shapes(ours, real_memberships(), "membership") == []


def test_board_members_match_real(hand: HandWorld) -> None:
    """``render.member_short`` has the shape of a real ``GET /boards/{id}/members`` item."""
    ours = [render.member_short(m) for m in hand.world.members.values()]
    assert compare_shapes(ours, real_object("member:board-members"), "board member") == []


def test_export_members_match_real(hand: HandWorld) -> None:
    """Members in ``render.board_export`` have the key tree of the real exports' members."""
    ours = [
        m for b in hand.world.boards.values() for m in render.board_export(hand.world, b)["members"]
    ]
    assert compare_shapes(ours, real_object("member:export"), "export member") == []


def test_boards_match_real(hand: HandWorld) -> None:
    """``render.board`` has the key tree of real boards (``GET /members/{id}/boards``, exports)."""
    ours = [
        without(render.board(hand.world, b), {"memberships"}) for b in hand.world.boards.values()
    ]
    assert compare_shapes(ours, real_boards(), "board") == []


def test_export_top_level_matches_real(hand: HandWorld) -> None:
    """``render.board_export`` has every collection all real exports have, each a list, and no
    other; the board around them has the shape of a real board (``test_boards_match_real``: the
    exports and ``GET /members/{id}/boards`` together, as the sandbox renders both alike)."""
    real = real_object("board:export")
    assert real.samples == 3
    lists = {p[0] for p, s in real.paths.items() if len(p) == 1 and s.types == {"list"}}
    required = {p[0] for p in real.common() if len(p) == 1} & EXPORT_COLLECTIONS
    assert required == EXPORT_COLLECTIONS
    for b in hand.world.boards.values():
        export = render.board_export(hand.world, b)
        collections = {k for k, v in export.items() if k in EXPORT_COLLECTIONS}
        assert required <= collections <= lists
        assert all(isinstance(export[k], list) for k in collections)
        board_part = without(export, EXPORT_COLLECTIONS)
        assert compare_shapes([board_part], real_boards(), "export board") == []


# ---------------------------------------------------------------------- 3. py-trello, in-process


class NoIO:
    """An ``http_service`` that fails the test if py-trello tries any request."""

    def request(self, *args: object, **kwargs: object) -> None:
        raise AssertionError(f"py-trello made a request: {args}")

    post = request


def check_cards_in_pytrello(world: World) -> int:
    """Load every card of ``world`` through ``trello.Card.from_json``, under its list and under
    its board, and check the fields the tool reads; returns how many cards were checked."""
    client = trello.TrelloClient(api_key="0" * 32, token="t", http_service=NoIO())
    boards = {
        b.id: trello.Board(client=client, board_id=b.id, name=b.name) for b in world.boards.values()
    }
    lists = {x.id: trello.List(boards[x.id_board], x.id, name=x.name) for x in world.lists.values()}
    for c in world.cards.values():
        for parent in (lists[c.id_list], boards[c.id_board]):
            card = trello.Card.from_json(parent, json.loads(json.dumps(render.card(c))))
            assert (card.id, card.idBoard, card.idList, card.closed, card.idShort) == (
                c.id,
                c.id_board,
                c.id_list,
                c.closed,
                c.id_short,
            )
            assert card.idMembers == card.member_ids == c.id_members
            assert card.board is boards[c.id_board]
            assert card.dateLastActivity == c.date_last_activity.replace(
                microsecond=c.date_last_activity.microsecond // 1000 * 1000
            )
    return len(world.cards)


def test_pytrello_loads_every_card(hand: HandWorld) -> None:
    """Every sandbox card, archived ones and those in archived lists included, loads through
    py-trello's ``Card.from_json`` with id, idMembers, idBoard, idList and closed intact."""
    world = hand.world
    assert any(c.closed for c in world.cards.values())
    assert any(world.lists[c.id_list].closed for c in world.cards.values())
    assert any(len(c.id_members) > 1 for c in world.cards.values())
    assert check_cards_in_pytrello(world) == len(world.cards) == 8


def test_pytrello_loads_every_scenario_card() -> None:
    """The same for every card of a generated scenario."""
    world = scenario_world()
    assert any(c.closed for c in world.cards.values())
    assert check_cards_in_pytrello(world) == len(world.cards) >= 60


# ------------------------------------------------------------------------ 4. py-trello over HTTP


class RewritingSession(requests.Session):
    """Sends py-trello's fixed ``https://api.trello.com/1`` to the sandbox; keeps what it sent."""

    def __init__(self, base_url: str) -> None:
        super().__init__()
        self.base_url = base_url.rstrip("/")
        #: ``(url, Authorization header)`` of every request sent.
        self.sent: list[tuple[str, str | None]] = []
        self.hooks["response"].append(self._record)

    def request(  # type: ignore[override]
        self, method: str, url: str, *args: Any, **kwargs: Any
    ) -> requests.Response:
        """Rewrite the URL, then send as usual (with a timeout; py-trello sets none)."""
        if url.startswith(TRELLO_BASE):
            url = self.base_url + url[len(TRELLO_BASE) :]
        kwargs.setdefault("timeout", 30)
        return super().request(method, url, *args, **kwargs)

    def _record(self, response: requests.Response, *args: Any, **kwargs: Any) -> None:
        header = response.request.headers.get("Authorization")
        if isinstance(header, bytes):  # requests-oauthlib sets it as bytes
            header = header.decode("ascii")
        self.sent.append((str(response.request.url), header))


class MemberRef(NamedTuple):
    """What py-trello's ``Card.add_member`` reads from a member: only ``id``."""

    id: str


@dataclass
class Credentialed:
    """A world with a key and token, as ``sandbox_factory`` takes it."""

    world: World
    key: str
    token: str


@dataclass
class HttpRun:
    """What driving the sandbox with py-trello saw."""

    hand: HandWorld
    sandbox: Any
    session: RewritingSession
    key: str
    token: str
    #: The board's member actions when they were fetched, newest first (from the world).
    expected_ids: list[str]
    #: What ``Board.fetch_actions`` returned.
    actions: list[JSON]
    #: The body of the raw ``POST /cards/{id}/idMembers``.
    post_response: list[JSON]


MEMBER_FILTER = "addMemberToCard,removeMemberFromCard"


@pytest.fixture
def http_run(sandbox_factory: Callable[..., Any]) -> HttpRun:
    """Drive a sandbox over the hand-built world with py-trello (OAuth1 header auth)."""
    hand = build_world()
    world = hand.world
    key, token = world.add_credentials(hand.admin)
    sandbox = sandbox_factory(Credentialed(world, key, token))
    session = RewritingSession(sandbox.base_url)
    client = trello.TrelloClient(api_key=key, token=token, http_service=session)

    boards = client.list_boards()
    assert sorted(b.id for b in boards) == sorted(
        b.id for b in world.boards.values() if hand.admin in b.memberships
    )
    board = next(b for b in boards if b.id == hand.source)
    assert (board.name, board.closed) == (world.boards[hand.source].name, False)
    expected_ids = [
        a.id for a in reversed(world.board_feed[hand.source]) if a.type in MEMBER_FILTER.split(",")
    ]
    actions = board.fetch_actions(MEMBER_FILTER, action_limit=1000)

    card = next(c for c in board.all_cards() if c.id == hand.fresh)
    assert card.idMembers == []
    card.add_member(MemberRef(hand.carol))  # py-trello discards the response body
    post_response = client.fetch_json(
        f"/cards/{hand.fresh}/idMembers", http_method="POST", post_args={"value": hand.bob}
    )
    return HttpRun(hand, sandbox, session, key, token, expected_ids, actions, post_response)


def test_pytrello_over_http(http_run: HttpRun) -> None:
    """py-trello lists boards, reads filtered board actions and adds card members via the sandbox.

    The adds change the card and are logged as ``addMemberToCard``; credentials travel only in
    the Authorization header, never in a URL.
    """
    run, hand = http_run, http_run.hand
    world = hand.world
    assert [a["id"] for a in run.actions] == run.expected_ids
    assert len(run.expected_ids) > 10
    assert {a["type"] for a in run.actions} == set(MEMBER_FILTER.split(","))

    assert world.cards[hand.fresh].id_members == [hand.carol, hand.bob]
    assert [m["id"] for m in run.post_response] == [hand.carol, hand.bob]
    logged = [
        (a.type, a.id_card, a.id_member, a.id_member_creator)
        for a in world.board_feed[hand.source][-2:]
    ]
    assert logged == [
        ("addMemberToCard", hand.fresh, hand.carol, hand.admin),
        ("addMemberToCard", hand.fresh, hand.bob, hand.admin),
    ]
    client = trello.TrelloClient(api_key=run.key, token=run.token, http_service=run.session)
    newest = trello.Board(client=client, board_id=hand.source).fetch_actions(
        "addMemberToCard", action_limit=2
    )
    assert [a["id"] for a in newest] == [a.id for a in reversed(world.board_feed[hand.source][-2:])]

    log = run.sandbox.server.request_log
    posts = [(r.method, r.path, r.status) for r in log if r.method != "GET"]
    assert posts == [("POST", f"/1/cards/{hand.fresh}/idMembers", 200)] * 2
    assert len(log) == len(run.session.sent) == 6
    assert all(r.status == 200 and not r.credentials_in_url for r in log)
    assert all({"key", "token"}.isdisjoint(r.query_names) for r in log)
    for url, authorization in run.session.sent:
        assert url.startswith(run.sandbox.base_url)
        assert run.key not in url
        assert run.token not in url
        assert authorization is not None
        assert authorization.startswith("OAuth ")
        assert f'oauth_consumer_key="{run.key}"' in authorization
        assert f'oauth_token="{run.token}"' in authorization


def test_http_responses_match_real(http_run: HttpRun, refs: References) -> None:
    """Actions read over HTTP and the ``POST idMembers`` body have the real samples' shapes."""
    for kind in MEMBER_FILTER.split(","):
        fetched = [a for a in http_run.actions if a["type"] == kind]
        assert action_problems(fetched, refs, "http") == []
    real_item = real_object("member:card-idMembers")
    assert compare_shapes(http_run.post_response, real_item, "POST idMembers item") == []


# ---------------------------------------------------- 5. what the sandbox serves, read over HTTP


def test_served_objects_match_real(sandbox_factory: Callable[..., Any], refs: References) -> None:
    """What the sandbox answers, read with the tool's own client (``TrelloApi``) with Trello's
    default fields, has the real shapes: every action of both boards' feeds and of a card's,
    cards, lists, boards, members and memberships."""
    hand = build_world()
    key, token = hand.world.add_credentials(hand.admin)
    sandbox = sandbox_factory(Credentialed(hand.world, key, token))
    problems: list[str] = []
    with TrelloApi(ApiSettings(key=key, token=token, api_url=sandbox.base_url)) as api:
        actions: list[JSON] = []
        for board in (hand.source, hand.archive):
            actions += api.get(f"boards/{board}/actions", {"limit": "1000"})
            problems += compare_shapes(api.get(f"boards/{board}/cards/all"), real_cards(), "cards")
            problems += compare_shapes(
                api.get(f"boards/{board}/lists/all"), real_object("list:export"), "lists"
            )
            problems += compare_shapes(
                api.get(f"boards/{board}/members"), real_object("member:board-members"), "members"
            )
            problems += compare_shapes(
                api.get(f"boards/{board}/memberships"), real_memberships(), "memberships"
            )
            one = api.get(f"boards/{board}", {"fields": "all"})  # its default has no memberships
            problems += compare_shapes(one["memberships"], real_memberships(), "board memberships")
            problems += compare_shapes([without(one, {"memberships"})], real_boards(), "board")
        card = next(iter(hand.world.cards))
        actions += api.get(f"cards/{card}/actions", {"filter": "all"})
        problems += compare_shapes([api.get(f"cards/{card}")], real_cards(), "card")
        mine = api.get("members/me/boards")
        problems += compare_shapes([without(b, {"memberships"}) for b in mine], real_boards(), "b")
    me = sandbox.get("/members/me")
    assert me.status_code == 200
    problems += compare_shapes([me.json()], real_object("member:export"), "members/me")
    by_variant: dict[str, list[JSON]] = defaultdict(list)
    for a in actions:
        by_variant[variant(a)].append(a)
    assert {"moveListToBoard", "moveCardFromBoard", "removeMemberFromCard"} <= set(by_variant)
    assert len(mine) == 2
    problems += [p for xs in by_variant.values() for p in action_problems(xs, refs, "served")]
    assert problems == []


# ---------------------------------------------------------- 6. the shapes file and the samples


def test_shapes_file_is_derived_from_the_samples(fixtures_dir: Path) -> None:
    """The shipped shapes file is exactly what ``tools/make_shapes.py`` derives from the real
    samples now (regenerated in memory), so the two cannot drift apart."""
    derived = make_shapes.render(fixtures_dir)
    shipped_text = make_shapes.SHAPES_FILE.read_text(encoding="utf-8")
    assert derived == shipped_text, (
        "tests/fixtures/trello-shapes.json is out of date with ../shared/fixtures: "
        "run .venv/bin/python tools/make_shapes.py and commit the file"
    )


def strings_in(doc: Any) -> Iterable[str]:
    """Every string value and key of a JSON document."""
    if isinstance(doc, dict):
        for k, v in doc.items():
            yield k
            yield from strings_in(v)
    elif isinstance(doc, list):
        for v in doc:
            yield from strings_in(v)
    elif isinstance(doc, str):
        yield doc


def words_of(doc: Any) -> set[str]:
    """The strings of the shapes file, and each path's segments."""
    out = set(strings_in(doc))
    return out | {seg for s in list(out) for seg in s.split(".")}


def test_shapes_file_copies_no_values(fixtures_dir: Path) -> None:
    """No value of any real sample is in the shapes file: only keys (and action types, which
    name the entries) appear. Values that are also a key somewhere (``board``) do not count."""
    keys: set[str] = set()
    values: set[str] = set()
    for _, doc in make_shapes.load_samples(fixtures_dir):
        keys |= {a["type"] for a in make_shapes.actions_in(doc)}
        keys |= {p[-1] for p in shape(doc) if p and p[-1] != "[]"}
        values |= set(strings_in(doc))
    values -= keys
    assert len(values) > 500  # the control: the samples hold plenty of values
    words = words_of(shipped())
    assert sorted(v for v in values if len(v) > 2 and v in words) == []


def test_shapes_file_holds_no_values() -> None:
    """Runs everywhere: the shipped file holds no id, date, URL or e-mail address, and every path
    segment is a key name or ``[]``."""
    text = make_shapes.SHAPES_FILE.read_text(encoding="utf-8")
    assert re.findall(r"[0-9a-f]{24}|\d{4}-\d\d-\d\dT\d\d|://|@", text) == []
    for section in ("actions", "objects"):
        for kind, entry in shipped()[section].items():
            segments = {seg for p in entry["paths"] if p for seg in p.split(".")}
            odd = sorted(s for s in segments if s != "[]" and not re.fullmatch(r"[A-Za-z_]\w*", s))
            assert odd == [], kind


def made_up_samples(root: Path) -> dict[str, Any]:
    """A ``shared`` directory with made-up samples of each kind the script reads."""
    oid = [f"{i:024x}" for i in range(1, 9)]
    when = "2024-03-04T09:01:00.000Z"
    card = {"id": oid[0], "name": "Secret card", "closed": False, "pos": 16384.5, "due": None}
    export = {
        "id": oid[1],
        "name": "Secret board",
        "actions": [
            {
                "id": oid[2],
                "type": "updateCard",
                "date": when,
                "data": {"old": {"idList": oid[3]}, "card": {"idList": oid[4], "name": "Secret"}},
                "memberCreator": {"id": oid[5], "fullName": "Jane Secret"},
            }
        ],
        "cards": [card],
        "lists": [{"id": oid[3], "name": "Secret list", "closed": True}],
        "members": [{"id": oid[5], "fullName": "Jane Secret", "username": "janesecret"}],
        "memberships": [{"id": oid[6], "idMember": oid[5], "memberType": "normal"}],
        "labels": [],
    }
    board = {"id": oid[1], "name": "Other secret", "lists": [{"id": oid[3], "pos": 1}]}
    files: dict[str, Any] = {
        "a__board-export.json": export,
        "b__board-cards-api-example.json": [{"id": oid[0], "name": "Secret card", "url": "x"}],
        "c__board-members-api-example.json": [{"id": oid[5], "username": "janesecret"}],
        "d__card-add-member-response.json": [{"id": oid[5], "fullName": "Jane Secret"}],
        "e__member-boards-example.json": [board | {"memberships": export["memberships"]}],
    }
    (root / "fixtures" / "trello-real").mkdir(parents=True)
    for name, doc in files.items():
        (root / "fixtures" / "trello-real" / name).write_text(json.dumps(doc), encoding="utf-8")
    spec = {
        "servers": [{"url": TRELLO_BASE}],
        "paths": {
            "/cards/{id}/idMembers": {"post": {"summary": "Secret"}, "parameters": []},
            "/boards/{id}": {"get": {}, "put": {}},
        },
    }
    (root / "fixtures" / "trello-openapi.json").write_text(json.dumps(spec), encoding="utf-8")
    return files


def test_make_shapes_on_made_up_samples(tmp_path: Path) -> None:
    """The script on made-up samples: the entries it derives, no values copied, the same bytes
    on every run, and ``--check`` telling an up-to-date file from a stale one."""
    shared, out = tmp_path / "shared", tmp_path / "shapes.json"
    files = made_up_samples(shared)
    assert make_shapes.main(["--shared", str(shared), "--out", str(out)]) == 0
    text = out.read_text(encoding="utf-8")
    doc = json.loads(text)
    assert sorted(doc["actions"]) == ["updateCard:idList"]
    update = doc["actions"]["updateCard:idList"]
    assert update["paths"]["data.old.idList"] == {"in": 1, "types": ["id"]}
    assert update["paths"]["date"] == {"in": 1, "types": ["date"]}
    assert update["sources"] == ["a__board-export.json"]
    objects = doc["objects"]
    assert sorted(objects) == [
        "board:export",
        "board:member-boards",
        "card:board-cards",
        "card:export",
        "list:export",
        "list:member-boards",
        "member:board-members",
        "member:card-idMembers",
        "member:export",
        "membership:export",
        "membership:member-boards",
    ]
    assert objects["card:export"]["paths"]["pos"] == {"in": 1, "types": ["float"]}
    assert objects["card:export"]["paths"]["due"] == {"in": 1, "types": ["null"]}
    # The export's top level keeps its collections as lists; their items are entries of their own.
    export_paths = objects["board:export"]["paths"]
    assert export_paths["actions"] == {"in": 1, "types": ["list"]}
    assert not any(p.startswith(("actions.", "cards.")) for p in export_paths)
    assert "lists" in objects["board:member-boards"]["paths"]
    assert not any(p.startswith("lists.") for p in objects["board:member-boards"]["paths"])
    assert doc["openapi"]["paths"] == {
        "/boards/{id}": ["GET", "PUT"],
        "/cards/{id}/idMembers": ["POST"],
    }
    assert doc["openapi"]["operations"] == 3
    secrets = {"Secret", "Secret card", "Secret board", "Jane Secret", "janesecret", "Other secret"}
    assert not any(s in text for s in secrets)
    assert not re.search(r"[0-9a-f]{24}|2024-03-04", text)

    assert make_shapes.render(shared / "fixtures") == text  # the same bytes again
    done = subprocess.run(
        [
            sys.executable,
            str(REPO / "tools" / "make_shapes.py"),
            "--check",
            "--shared",
            str(shared),
            "--out",
            str(out),
        ],
        capture_output=True,
        text=True,
        check=False,
    )
    assert (done.returncode, done.stderr) == (0, "")
    export = files["a__board-export.json"]
    export["cards"][0]["idLabels"] = []
    (shared / "fixtures" / "trello-real" / "a__board-export.json").write_text(
        json.dumps(export), encoding="utf-8"
    )
    assert make_shapes.main(["--check", "--shared", str(shared), "--out", str(out)]) == 1
    assert out.read_text(encoding="utf-8") == text  # --check writes nothing
    assert make_shapes.main(["--shared", str(tmp_path / "nowhere"), "--out", str(out)]) == 2
