"""Fidelity: hold the sandbox to real Trello data.

The real samples live in ``../shared`` beside the repository (``TRELLO_RESTORE_SHARED`` overrides
the location): the official OpenAPI description and public JSON files copied from other projects
(``../shared/fixtures/SOURCES.md``). A fresh clone has no ``../shared``; tests that need it skip.

Shapes are compared as *key trees*: the set of key paths of a JSON document (list elements share
the path segment ``[]``), each with the JSON types seen there. A sandbox document must use only
paths that some real sample of the same kind has (the union) and must have every path all of them
share (the intersection). Where the samples agree on a path's type (null aside; int and float are
both numbers), the sandbox must use one of the types the samples use there.
"""

from __future__ import annotations

import json
import os
import re
from collections import defaultdict
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any, NamedTuple

import pytest
import requests
import trello

from trello_restore.sandbox import render, scenario
from trello_restore.sandbox.server import ROUTES
from trello_restore.sandbox.world import World

pytestmark = pytest.mark.fidelity

JSON = dict[str, Any]
KeyPath = tuple[str, ...]
#: A key tree: every key path of a document with the JSON types found there.
Shape = dict[KeyPath, frozenset[str]]

DATA_DIR = Path(__file__).resolve().parent / "data"
NOTES_SAMPLES = DATA_DIR / "notes-action-samples.json"
TRELLO_BASE = "https://api.trello.com/1"


def shared_dir() -> Path:
    """``../shared`` beside the repository, or ``$TRELLO_RESTORE_SHARED``."""
    env = os.environ.get("TRELLO_RESTORE_SHARED")
    return Path(env) if env else Path(__file__).resolve().parents[2] / "shared"


@pytest.fixture(scope="module")
def fixtures_dir() -> Path:
    """``shared/fixtures``; skips the test when the real samples are not there."""
    path = shared_dir() / "fixtures"
    if not (path / "trello-openapi.json").is_file() or not (path / "trello-real").is_dir():
        pytest.skip(
            f"real Trello samples not found in {path} (a fresh clone has no ../shared; "
            "set TRELLO_RESTORE_SHARED to a copy of the shared directory to run fidelity tests)"
        )
    return path


def load_real(fixtures: Path, name: str) -> Any:
    """One file of ``shared/fixtures/trello-real`` (local name without the source prefix)."""
    matches = sorted((fixtures / "trello-real").glob(f"*__{name}"))
    assert len(matches) == 1, f"expected one real sample named *__{name}, found {matches}"
    return json.loads(matches[0].read_text(encoding="utf-8"))


# ------------------------------------------------------------------------------------ key trees


def json_type(value: Any) -> str:
    """The JSON type of a decoded value; int and float are kept apart (``idShort`` is an int)."""
    if value is None:
        return "null"
    for py, name in ((bool, "bool"), (int, "int"), (float, "float"), (str, "str"), (list, "list")):
        if isinstance(value, py):
            return name
    assert isinstance(value, dict), f"not JSON: {value!r}"
    return "object"


def shape(doc: Any) -> Shape:
    """The key tree of a JSON document (after a JSON round trip, as a client would see it)."""
    seen: dict[KeyPath, set[str]] = defaultdict(set)

    def walk(value: Any, path: KeyPath) -> None:
        seen[path].add(json_type(value))
        if isinstance(value, dict):
            for key, child in value.items():
                walk(child, (*path, key))
        elif isinstance(value, list):
            for child in value:
                walk(child, (*path, "[]"))

    walk(json.loads(json.dumps(doc)), ())
    return {path: frozenset(types) for path, types in seen.items()}


def without(doc: JSON, keys: set[str]) -> JSON:
    """A shallow copy of ``doc`` without ``keys``."""
    return {k: v for k, v in doc.items() if k not in keys}


def fmt(path: KeyPath) -> str:
    """``data.card.idShort``."""
    return ".".join(path) or "<root>"


def compare(sandbox: Shape, samples: Sequence[Shape], what: str) -> list[str]:
    """Problems with ``sandbox`` against real ``samples``: extra paths, missing paths, types."""
    assert samples, f"{what}: no real samples to compare with"
    union: set[KeyPath] = set().union(*samples)
    common: set[KeyPath] = set(samples[0]).intersection(*samples[1:])
    problems = [
        f"{what}: {fmt(p)} ({'/'.join(sorted(sandbox[p]))}) is in no real sample"
        for p in sorted(set(sandbox) - union)
    ]
    problems += [
        f"{what}: {fmt(p)} is in all {len(samples)} real samples but missing"
        for p in sorted(common - set(sandbox))
    ]
    for p in sorted(set(sandbox) & union):
        real = frozenset().union(*(s[p] for s in samples if p in s))
        agree = len({"number" if t in {"int", "float"} else t for t in real - {"null"}}) <= 1
        if agree and not sandbox[p] <= real:
            problems.append(
                f"{what}: {fmt(p)} is {'/'.join(sorted(sandbox[p]))}, real samples have "
                f"{'/'.join(sorted(real))}"
            )
    return problems


def compare_shapes(docs: Iterable[Any], samples: Sequence[Shape], what: str) -> list[str]:
    """``compare`` for every distinct key tree among ``docs`` (problems deduplicated)."""
    problems: dict[str, None] = {}
    distinct = {frozenset(shape(d).items()) for d in docs}
    assert distinct, f"{what}: the sandbox produced nothing to compare"
    for tree in sorted(distinct, key=sorted):
        problems.update(dict.fromkeys(compare(dict(tree), samples, what)))
    return list(problems)


def compare_each(docs: Iterable[Any], samples: Sequence[Any], what: str) -> list[str]:
    """``compare_shapes`` against real documents."""
    return compare_shapes(docs, [shape(s) for s in samples], what)


def test_compare_accepts_subset_and_flags_extra_missing_and_type() -> None:
    """The key-tree comparison itself: what it accepts and each kind of problem it reports."""
    samples = [
        shape({"id": "a", "n": 1, "opt": None, "l": [{"x": 1}], "any": "s"}),
        shape({"id": "b", "n": 2, "extra": True, "opt": "s", "l": [], "any": {}}),
    ]
    base = {"id": "c", "n": 3, "l": [], "opt": None, "any": 1}
    assert compare(shape(base), samples, "t") == []
    assert compare(shape(base | {"l": [{"x": 2}], "extra": False, "opt": "x"}), samples, "t") == []
    assert compare(shape(without(base, {"n"})), samples, "t") == [
        "t: n is in all 2 real samples but missing"
    ]
    assert compare(shape(base | {"new": {}}), samples, "t") == [
        "t: new (object) is in no real sample"
    ]
    assert compare(shape(base | {"n": 1.5}), samples, "t") == [
        "t: n is float, real samples have int"
    ]
    assert compare(shape(base | {"opt": 5}), samples, "t") == [
        "t: opt is int, real samples have null/str"
    ]
    assert compare(shape(base | {"l": [{"y": 1}]}), samples, "t") == [
        "t: l.[].y (int) is in no real sample"
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


def load_spec_routes(fixtures: Path) -> list[SpecRoute]:
    """Every (method, path) of ``trello-openapi.json``."""
    spec = json.loads((fixtures / "trello-openapi.json").read_text(encoding="utf-8"))
    assert spec["servers"] == [{"url": TRELLO_BASE}]
    verbs = {"get", "post", "put", "delete", "patch", "head", "options"}
    return [
        SpecRoute(method.upper(), split_template(path))
        for path, ops in spec["paths"].items()
        for method in ops
        if method in verbs
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
}


def normalise_params(template: str) -> str:
    """Parameter names do not matter when comparing templates: ``{x}`` -> ``{}``."""
    return re.sub(r"\{[^}/]+\}", "{}", template.rstrip("/"))


def test_openapi_matcher_controls(fixtures_dir: Path) -> None:
    """The route matcher accepts documented routes and rejects made-up ones and wrong methods."""
    spec = load_spec_routes(fixtures_dir)
    assert len(spec) == 255  # SOURCES.md: 187 paths, 255 operations
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


def test_sandbox_routes_are_documented(fixtures_dir: Path) -> None:
    """Every route the sandbox serves is in the official OpenAPI file with the same method."""
    spec = load_spec_routes(fixtures_dir)
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
    return HandWorld(w, admin, bob, carol, dave, src, dst, cards[8])


@pytest.fixture(scope="module")
def hand() -> HandWorld:
    """The hand-built world, shared by the tests that only read it."""
    return build_world()


# --------------------------------------------------------------------- 2. action shapes: samples


def variant(action: Mapping[str, Any]) -> str:
    """The action type, plus the changed fields for updates: ``updateCard:idList``."""
    old = action["data"].get("old")
    return action["type"] if old is None else f"{action['type']}:{','.join(sorted(old))}"


def envelope(action: Mapping[str, Any]) -> JSON:
    """An action without ``data``."""
    return {k: v for k, v in action.items() if k != "data"}


def actions_in(doc: Any) -> list[JSON]:
    """The actions in a real file: an array of actions, a board export, or a webhook payload."""
    if isinstance(doc, list):
        return [a for a in doc if isinstance(a, dict) and "type" in a and "data" in a]
    if isinstance(doc, dict) and isinstance(doc.get("actions"), list):
        return list(doc["actions"])
    if isinstance(doc, dict) and isinstance(doc.get("action"), dict):
        return [doc["action"]]
    return []


@dataclass
class References:
    """Real actions by variant: from the fixture files, and from the notes (tests/data)."""

    real: dict[str, list[JSON]]
    notes: dict[str, list[JSON]]
    envelopes: list[Shape]
    #: ``{"data": {"board": …}}`` of every fixture action: board references of all types.
    boards: list[Shape]

    def siblings(self, type_: str) -> list[JSON]:
        """Real actions of ``type_`` in any ``old`` variant."""
        return [a for v, xs in self.real.items() if v.split(":")[0] == type_ for a in xs]


def load_references(fixtures: Path) -> References:
    """Group every real action of ``shared/fixtures/trello-real`` and of the notes by variant."""
    real: dict[str, list[JSON]] = defaultdict(list)
    for path in sorted((fixtures / "trello-real").glob("*.json")):
        for a in actions_in(json.loads(path.read_text(encoding="utf-8"))):
            real[variant(a)].append(a)
    notes: dict[str, list[JSON]] = defaultdict(list)
    for sample in json.loads(NOTES_SAMPLES.read_text(encoding="utf-8"))["samples"]:
        notes[variant(sample["action"])].append(sample["action"])
    everything = [a for xs in real.values() for a in xs]
    envelopes = [shape(envelope(a)) for a in everything]
    boards = [shape(board_ref(a)) for a in everything if "board" in a["data"]]
    return References(dict(real), dict(notes), envelopes, boards)


def board_ref(action: Mapping[str, Any]) -> JSON:
    """Only ``data.board`` of an action."""
    return {"data": {"board": action["data"]["board"]}}


@pytest.fixture(scope="module")
def refs(fixtures_dir: Path) -> References:
    """The real actions, grouped."""
    return load_references(fixtures_dir)


def changed_object(type_: str) -> str:
    """The ``data`` key of the object an update changes: ``updateCard`` -> ``card``."""
    name = type_.removeprefix("update")
    return name[:1].lower() + name[1:]


def strip_changed_fields(action: Mapping[str, Any]) -> JSON:
    """An update action without ``data.old`` and without the changed fields' new values.

    Real updates carry each changed field twice: the old value in ``data.old``, the new one on the
    changed object (``data.card`` for ``updateCard``); ``test_real_updates_mirror_old_fields``.
    """
    out = json.loads(json.dumps(action))
    old = out["data"].pop("old")
    changed = out["data"].get(changed_object(out["type"]), {})
    for key in old:
        changed.pop(key, None)
    return out


def value_kind(value: Any) -> str:
    """``json_type``, with int and float both ``number`` (``old.pos`` 311295, ``pos`` 32767.5)."""
    kind = json_type(value)
    return "number" if kind in {"int", "float"} else kind


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


def action_problems(actions: Sequence[JSON], refs: References, what: str) -> list[str]:
    """Compare sandbox actions (all of one variant) with real actions.

    ``data`` against the real samples of the same variant: from the fixtures, else from the notes
    (tests/data; there ``data.board`` is compared with every fixture action's, as the notes'
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
        samples = refs.real[v]
        problems = compare_each(
            [{"data": a["data"]} for a in actions], samples_data(samples), label
        )
    elif v in refs.notes:
        # data.board gained shortLink after 2013 (the 2013 sample lacks it, every fixture has it
        # since 2016), so it is compared with the board references of all fixture actions.
        samples = refs.notes[v]
        problems = compare_each(
            [{"data": without(a["data"], {"board"})} for a in actions],
            [{"data": without(s["data"], {"board"})} for s in samples],
            label,
        )
        problems += compare_shapes([board_ref(a) for a in actions], refs.boards, label)
    elif ":" in v and refs.siblings(type_):
        samples = refs.siblings(type_)
        problems = compare_each(
            [{"data": strip_changed_fields(a)["data"]} for a in actions],
            samples_data([strip_changed_fields(s) for s in samples]),
            f"{label} (vs other {type_} variants)",
        )
        problems += [p for a in actions for p in mirror_problems(a, label)]
    else:
        return [
            f"{label}: no real sample of this type in shared/fixtures/trello-real nor in "
            f"tests/data/{NOTES_SAMPLES.name}; add a real sample before the sandbox emits it"
        ]
    problems += compare_shapes([envelope(a) for a in actions], refs.envelopes, f"{label} envelope")
    required = set(samples[0]).intersection(*samples[1:])
    allowed = set().union(*samples) | NEWER_ENVELOPE_KEYS
    for a in actions:
        problems += [
            f"{label}: lacks top-level {k}, which all samples have" for k in required - set(a)
        ]
        problems += [
            f"{label}: has top-level {k}, which no sample of the type has" for k in set(a) - allowed
        ]
    return list(dict.fromkeys(problems))


def samples_data(samples: Iterable[Mapping[str, Any]]) -> list[JSON]:
    """``{"data": …}`` of each sample, so that reported paths start with ``data.``."""
    return [{"data": s["data"]} for s in samples]


def test_real_samples_are_loaded(refs: References) -> None:
    """The fixtures hold the action types the comparisons rely on (guards against a bad copy)."""
    counts = {v: len(xs) for v, xs in refs.real.items()}
    assert counts["addMemberToCard"] == 29
    assert counts["removeMemberFromCard"] == 5
    assert counts["updateCard:idList"] == 11
    assert counts["updateCard:closed"] == 3
    assert sum(counts.values()) == 178
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


def test_real_updates_mirror_old_fields(refs: References) -> None:
    """In every real update action, each ``data.old`` key is also on the changed object."""
    updates = [a for xs in refs.real.values() for a in xs if "old" in a["data"]]
    updates += [a for xs in refs.notes.values() for a in xs if "old" in a["data"]]
    assert len(updates) == 32 + 2
    assert [p for a in updates for p in mirror_problems(a, variant(a))] == []


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
    "updateCard:idList",
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
        "t removeMemberFromCard envelope: date is int, real samples have str",
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


# ---------------------------------------------------------- 2b. cards, lists, members: samples


#: Keys a board export adds to each card (``card_attachments``, ``card_pluginData``,
#: ``customFieldItems`` in the export's request, notes §6); ``GET /boards/{id}/cards`` omits them.
EXPORT_ONLY_CARD_KEYS = {"attachments", "pluginData", "customFieldItems"}

EXPORTS = ("data__board-export.json", "test-data__test-board-export.json", "data-trelloJson.json")


def real_exports(fixtures: Path) -> list[JSON]:
    """The three real board exports."""
    return [load_real(fixtures, name) for name in EXPORTS]


def test_cards_match_real_cards(hand: HandWorld, fixtures_dir: Path) -> None:
    """``render.card`` has the key tree of the real exported cards (archived cards included)."""
    real = [
        without(c, EXPORT_ONLY_CARD_KEYS) for e in real_exports(fixtures_dir) for c in e["cards"]
    ]
    assert len(real) == 25
    ours = [render.card(c) for c in hand.world.cards.values()]
    assert any(c["closed"] for c in ours)
    assert any(c["idMembers"] for c in ours)
    assert compare_each(ours, real, "card") == []
    # The adlio cards (GET /boards/{id}/cards with reduced fields) are a subset of ours.
    for card in load_real(fixtures_dir, "board-cards-api-example.json"):
        assert set(card) <= set(ours[0])


def test_export_cards_match_real(hand: HandWorld, fixtures_dir: Path) -> None:
    """Cards in ``render.board_export`` have the key tree of the real exports' cards."""
    real = [c for e in real_exports(fixtures_dir) for c in e["cards"]]
    ours = [
        c for b in hand.world.boards.values() for c in render.board_export(hand.world, b)["cards"]
    ]
    assert compare_each(ours, real, "export card") == []


def test_lists_match_real(hand: HandWorld, fixtures_dir: Path) -> None:
    """``render.trello_list`` has the key tree of the real exported lists."""
    real = [x for e in real_exports(fixtures_dir) for x in e["lists"]]
    assert len(real) == 9
    ours = [render.trello_list(x) for x in hand.world.lists.values()]
    assert any(x["closed"] for x in ours)
    assert compare_each(ours, real, "list") == []


def test_memberships_match_real(hand: HandWorld, fixtures_dir: Path) -> None:
    """``render.membership`` has the key tree of real board memberships (exports and API)."""
    real = [m for e in real_exports(fixtures_dir) for m in e["memberships"]]
    real += [
        m for b in load_real(fixtures_dir, "member-boards-example.json") for m in b["memberships"]
    ]
    ours = [
        render.membership(m) for b in hand.world.boards.values() for m in b.memberships.values()
    ]
    assert any(m["deactivated"] for m in ours)
    assert compare_each(ours, real, "membership") == []


def test_board_members_match_real(hand: HandWorld, fixtures_dir: Path) -> None:
    """``render.member_short`` has the shape of a real ``GET /boards/{id}/members`` item."""
    real = load_real(fixtures_dir, "board-members-api-example.json")
    ours = [render.member_short(m) for m in hand.world.members.values()]
    assert compare_each(ours, real, "board member") == []


def test_export_members_match_real(hand: HandWorld, fixtures_dir: Path) -> None:
    """Members in ``render.board_export`` have the key tree of the real exports' members."""
    real = [m for e in real_exports(fixtures_dir) for m in e["members"]]
    ours = [
        m for b in hand.world.boards.values() for m in render.board_export(hand.world, b)["members"]
    ]
    assert compare_each(ours, real, "export member") == []


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


def test_http_responses_match_real(http_run: HttpRun, refs: References, fixtures_dir: Path) -> None:
    """Actions read over HTTP and the ``POST idMembers`` body have the real samples' shapes."""
    for kind in MEMBER_FILTER.split(","):
        fetched = [a for a in http_run.actions if a["type"] == kind]
        assert action_problems(fetched, refs, "http") == []
    real_item = load_real(fixtures_dir, "card-add-member-response.json")
    assert compare_each(http_run.post_response, real_item, "POST idMembers item") == []


def test_boards_match_real(hand: HandWorld, fixtures_dir: Path) -> None:
    """``render.board`` has the key tree of real boards (``GET /members/{id}/boards``, exports)."""
    listing = load_real(fixtures_dir, "member-boards-example.json")
    exports = [
        without(
            e,
            {
                "actions",
                "cards",
                "lists",
                "members",
                "checklists",
                "labels",
                "customFields",
                "pluginData",
                "memberships",
                "limits",
            },
        )
        for e in real_exports(fixtures_dir)
    ]
    real = [without(b, {"lists", "memberships"}) for b in listing] + exports
    ours = [
        without(render.board(hand.world, b), {"memberships"}) for b in hand.world.boards.values()
    ]
    assert compare_each(ours, real, "board") == []
