"""Derive the shapes file ``tests/fixtures/trello-shapes.json`` from the real Trello samples.

The samples are public JSON files copied into ``../shared/fixtures/`` (its ``SOURCES.md`` says
from where, under which licence); they are not part of the repository. The shapes file holds:

* per action variant (the type, plus the changed fields of an update: ``updateCard:idList``) and
  per object kind (card, list, member, membership, label, checklist, board, the board export's
  top level), every key path of the samples (``data.card.idShort``; list elements are ``[]``),
  the value types seen there, in how many samples, and the files the samples came from;
* every (path template, method) of the official OpenAPI description (whose server, checked
  here, is ``https://api.trello.com/1``).

It copies no value: no name, text, id, date or URL of the samples. Types are JSON's, with ``int``
and ``float`` apart and two kinds of string told apart: ``date`` (ISO 8601 date-time) and ``id``
(24 hex digits, a Trello object id). Output is sorted, so regenerating gives the same bytes.

    .venv/bin/python tools/make_shapes.py            # (re)write the shapes file
    .venv/bin/python tools/make_shapes.py --check    # exit 1 if it is not what the samples give

``--shared DIR`` (else ``$TRELLO_RESTORE_SHARED``, else ``../shared`` beside the repository)
names the shared directory. ``tests/test_fidelity.py`` imports this module, so the shapes file
and the sandbox's documents are read with one definition of a shape.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import sys
from collections import defaultdict
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
SHAPES_FILE = ROOT / "tests" / "fixtures" / "trello-shapes.json"
TRELLO_BASE = "https://api.trello.com/1"
FORMAT = 1

KeyPath = tuple[str, ...]
#: A key tree: every key path of one document with the JSON types found there.
Shape = dict[KeyPath, frozenset[str]]

TYPES = {
    "null": "JSON null",
    "bool": "true or false",
    "int": "a whole number",
    "float": "a number with a fraction",
    "date": "a string holding an ISO 8601 date-time (YYYY-MM-DDThh:mm:ss.sssZ)",
    "id": "a string of 24 hex digits (a Trello object id)",
    "str": "any other string",
    "list": "an array; its elements are at the path + '.[]'",
    "object": "an object; its keys are at the path + '.key'",
}

_DATE_RE = re.compile(r"\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(?:\.\d+)?(?:Z|[+-]\d{2}:?\d{2})")
_ID_RE = re.compile(r"[0-9a-f]{24}")


def json_type(value: Any) -> str:
    """The type of a decoded JSON value, in the vocabulary of ``TYPES``."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "bool"
    if isinstance(value, int):
        return "int"
    if isinstance(value, float):
        return "float"
    if isinstance(value, str):
        if _DATE_RE.fullmatch(value):
            return "date"
        return "id" if _ID_RE.fullmatch(value) else "str"
    if isinstance(value, list):
        return "list"
    if isinstance(value, dict):
        return "object"
    raise TypeError(f"not JSON: {type(value).__name__}")


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


def path_text(path: KeyPath) -> str:
    """``data.card.idShort``; the root is the empty string."""
    return ".".join(path)


def text_path(text: str) -> KeyPath:
    """The inverse of ``path_text``."""
    return tuple(text.split(".")) if text else ()


@dataclass(frozen=True)
class PathStat:
    """What the samples have at one key path: the types seen, and how many samples have it."""

    types: frozenset[str]
    count: int


@dataclass(frozen=True)
class Summary:
    """The key trees of several samples of one kind, folded: per path its types and count."""

    samples: int
    paths: Mapping[KeyPath, PathStat]
    sources: frozenset[str] = frozenset()

    @classmethod
    def of(cls, shapes: Iterable[Shape], sources: Iterable[str] = ()) -> Summary:
        """Fold the key trees of several samples."""
        types: dict[KeyPath, set[str]] = defaultdict(set)
        counts: dict[KeyPath, int] = defaultdict(int)
        samples = 0
        for tree in shapes:
            samples += 1
            for path, seen in tree.items():
                types[path] |= seen
                counts[path] += 1
        paths = {p: PathStat(frozenset(types[p]), counts[p]) for p in types}
        return cls(samples, paths, frozenset(sources))

    @classmethod
    def of_docs(cls, docs: Iterable[Any], sources: Iterable[str] = ()) -> Summary:
        """Fold the key trees of several documents."""
        return cls.of((shape(d) for d in docs), sources)

    def common(self) -> set[KeyPath]:
        """The paths every sample has."""
        return {p for p, s in self.paths.items() if s.count == self.samples}

    def keep(self, wanted: Callable[[KeyPath], bool]) -> Summary:
        """Only the paths ``wanted`` accepts (the root is always kept)."""
        return Summary(
            self.samples, {p: s for p, s in self.paths.items() if not p or wanted(p)}, self.sources
        )

    def without(self, keys: Iterable[str]) -> Summary:
        """As if each sample lacked the top-level ``keys`` (a shallow ``without``)."""
        drop = set(keys)
        return self.keep(lambda p: p[0] not in drop)

    def only(self, keys: Iterable[str]) -> Summary:
        """As if each sample had only the top-level ``keys``."""
        kept = set(keys)
        return self.keep(lambda p: p[0] in kept)

    def to_json(self, what: str) -> dict[str, Any]:
        """The entry of the shapes file."""
        return {
            "from": what,
            "samples": self.samples,
            "sources": sorted(self.sources),
            "paths": {
                path_text(p): {"in": s.count, "types": sorted(s.types)}
                for p, s in sorted(self.paths.items())
            },
        }

    @classmethod
    def from_json(cls, entry: Mapping[str, Any]) -> Summary:
        """An entry of the shapes file."""
        paths = {
            text_path(text): PathStat(frozenset(stat["types"]), int(stat["in"]))
            for text, stat in entry["paths"].items()
        }
        return cls(int(entry["samples"]), paths, frozenset(entry["sources"]))


def merge(summaries: Iterable[Summary]) -> Summary:
    """One summary of all the samples of several."""
    types: dict[KeyPath, set[str]] = defaultdict(set)
    counts: dict[KeyPath, int] = defaultdict(int)
    samples, sources = 0, set[str]()
    for s in summaries:
        samples += s.samples
        sources |= s.sources
        for path, stat in s.paths.items():
            types[path] |= stat.types
            counts[path] += stat.count
    paths = {p: PathStat(frozenset(types[p]), counts[p]) for p in types}
    return Summary(samples, paths, frozenset(sources))


# ------------------------------------------------------------------------------ the samples


def variant(action: Mapping[str, Any]) -> str:
    """The action type, plus the changed fields for updates: ``updateCard:idList``."""
    old = action["data"].get("old")
    return action["type"] if old is None else f"{action['type']}:{','.join(sorted(old))}"


def actions_in(doc: Any) -> list[dict[str, Any]]:
    """The actions in a real file: an array of actions, a board export, or a webhook payload."""
    if isinstance(doc, list):
        return [a for a in doc if isinstance(a, dict) and "type" in a and "data" in a]
    if isinstance(doc, dict) and isinstance(doc.get("actions"), list):
        return list(doc["actions"])
    if isinstance(doc, dict) and isinstance(doc.get("action"), dict):
        return [doc["action"]]
    return []


def is_board_export(doc: Any) -> bool:
    """A board's "Export as JSON" file (a board with its actions, cards and lists)."""
    return isinstance(doc, dict) and all(
        isinstance(doc.get(k), list) for k in ("actions", "cards", "lists")
    )


#: The collections of a board export, by the object kind of their elements. The export's top
#: level keeps only their key (a list); each has its own entry (actions by variant).
EXPORT_COLLECTIONS = {
    "cards": "card",
    "checklists": "checklist",
    "customFields": "customField",
    "labels": "label",
    "lists": "list",
    "members": "member",
    "memberships": "membership",
    "pluginData": "pluginData",
}

#: Samples that are answers of one endpoint, by the end of their local name: the endpoint, the
#: object kind of the array's items, and the entry's name after the kind.
ENDPOINT_SAMPLES = {
    "board-cards-api-example.json": ("GET /1/boards/{id}/cards", "card", "board-cards"),
    "board-members-api-example.json": ("GET /1/boards/{id}/members", "member", "board-members"),
    "card-add-member-response.json": ("POST /1/cards/{id}/idMembers", "member", "card-idMembers"),
    "member-boards-example.json": ("GET /1/members/{id}/boards", "board", "member-boards"),
}
#: Nested collections of those answers, described as entries of their own.
NESTED = {"board": {"lists": "list", "memberships": "membership"}}


def load_samples(fixtures: Path) -> list[tuple[str, Any]]:
    """``(local name, decoded JSON)`` of every JSON sample in ``fixtures/trello-real``."""
    files = sorted((fixtures / "trello-real").glob("*.json"))
    if not files:
        raise FileNotFoundError(f"no JSON samples in {fixtures / 'trello-real'}")
    return [(f.name, json.loads(f.read_text(encoding="utf-8"))) for f in files]


def load_operations(fixtures: Path) -> dict[str, list[str]]:
    """The OpenAPI description's operations: path template -> sorted methods."""
    spec = json.loads((fixtures / "trello-openapi.json").read_text(encoding="utf-8"))
    if spec.get("servers") != [{"url": TRELLO_BASE}]:
        raise ValueError(f"the OpenAPI description's server is not {TRELLO_BASE}")
    verbs = {"get", "post", "put", "delete", "patch", "head", "options"}
    return {
        path: sorted(m.upper() for m in ops if m in verbs)
        for path, ops in sorted(spec["paths"].items())
        if any(m in verbs for m in ops)
    }


class _Collector:
    """Key trees grouped by entry name, with their source files and descriptions."""

    def __init__(self) -> None:
        self.shapes: dict[str, list[Shape]] = defaultdict(list)
        self.sources: dict[str, set[str]] = defaultdict(set)
        self.what: dict[str, str] = {}

    def add(self, name: str, what: str, tree: Shape, source: str) -> None:
        self.shapes[name].append(tree)
        self.sources[name].add(source)
        self.what.setdefault(name, what)

    def entries(self) -> dict[str, Any]:
        return {
            name: Summary.of(trees, self.sources[name]).to_json(self.what[name])
            for name, trees in sorted(self.shapes.items())
        }


def truncate(tree: Shape, keys: Iterable[str]) -> Shape:
    """A key tree without the elements of the top-level lists ``keys`` (their key stays)."""
    cut = set(keys)
    return {p: t for p, t in tree.items() if not (len(p) > 1 and p[0] in cut and p[1] == "[]")}


def derive(fixtures: Path) -> dict[str, Any]:
    """The shapes file's content, from ``fixtures`` (``shared/fixtures``)."""
    samples = load_samples(fixtures)
    actions, objects = _Collector(), _Collector()
    for name, doc in samples:
        for a in actions_in(doc):
            what = "actions (board and card action feeds, board exports, webhook payloads)"
            actions.add(variant(a), what, shape(a), name)
        if is_board_export(doc):
            what = 'the top level of a board export ("Export as JSON")'
            objects.add(
                "board:export", what, truncate(shape(doc), ["actions", *EXPORT_COLLECTIONS]), name
            )
            for key, kind in EXPORT_COLLECTIONS.items():
                for item in doc.get(key, []):
                    objects.add(f"{kind}:export", f"{key} of a board export", shape(item), name)
        for suffix, (endpoint, kind, slug) in ENDPOINT_SAMPLES.items():
            if not name.endswith(f"__{suffix}"):
                continue
            for item in doc:
                nested = NESTED.get(kind, {})
                objects.add(
                    f"{kind}:{slug}", f"items of {endpoint}", truncate(shape(item), nested), name
                )
                for key, nested_kind in nested.items():
                    for sub in item.get(key, []):
                        objects.add(
                            f"{nested_kind}:{slug}",
                            f"{key} of the items of {endpoint}",
                            shape(sub),
                            name,
                        )
    for suffix in ENDPOINT_SAMPLES:
        if not any(n.endswith(f"__{suffix}") for n, _ in samples):
            raise FileNotFoundError(f"no sample named *__{suffix} in {fixtures / 'trello-real'}")
    for trees in (*actions.shapes.values(), *objects.shapes.values()):
        for tree in trees:
            bad = [p for path in tree for p in path if "." in p or not p]
            if bad:
                raise ValueError(f"a key the path notation cannot hold: {bad[0]!r}")
    operations = load_operations(fixtures)
    return {
        "about": (
            "Key paths and value types of real Trello JSON (no values), derived from "
            "../shared/fixtures by tools/make_shapes.py; regenerate with "
            "`.venv/bin/python tools/make_shapes.py`. Sources: ../shared/fixtures/SOURCES.md."
        ),
        "format": FORMAT,
        "types": TYPES,
        "openapi": {
            "source": "trello-openapi.json",
            "operations": sum(len(m) for m in operations.values()),
            "paths": operations,
        },
        "actions": actions.entries(),
        "objects": objects.entries(),
    }


# ------------------------------------------------------------------------------- the file


def dumps(value: Any, indent: int = 0, width: int = 100) -> str:
    """JSON with sorted keys, each value on one line when it fits in ``width``."""
    flat = json.dumps(value, sort_keys=True, ensure_ascii=False)
    if not isinstance(value, dict | list) or not value or indent + len(flat) <= width:
        return flat
    pad, inner = " " * indent, " " * (indent + 2)
    if isinstance(value, list):
        items = [inner + dumps(v, indent + 2, width) for v in value]
        return "[\n" + ",\n".join(items) + f"\n{pad}]"
    items = [
        f"{inner}{json.dumps(k, ensure_ascii=False)}: {dumps(v, indent + 2, width)}"
        for k, v in sorted(value.items())
    ]
    return "{\n" + ",\n".join(items) + f"\n{pad}}}"


def render(fixtures: Path) -> str:
    """The shapes file's text."""
    return dumps(derive(fixtures)) + "\n"


def default_shared() -> Path:
    """``$TRELLO_RESTORE_SHARED``, else ``../shared`` beside the repository."""
    env = os.environ.get("TRELLO_RESTORE_SHARED")
    return Path(env) if env else ROOT.parent / "shared"


def main(argv: Sequence[str] | None = None) -> int:
    """Write (or ``--check``) the shapes file; 0 when done or up to date, 1 when out of date,
    2 when the samples are not there."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--shared", type=Path, help="the shared directory (default ../shared)")
    parser.add_argument("--out", type=Path, default=SHAPES_FILE, help="the shapes file")
    parser.add_argument("--check", action="store_true", help="compare, do not write")
    args = parser.parse_args(argv)
    fixtures = (args.shared or default_shared()) / "fixtures"
    if not (fixtures / "trello-openapi.json").is_file() or not (fixtures / "trello-real").is_dir():
        print(
            f"error: no real samples in {fixtures}: pass --shared DIR (the directory holding "
            "fixtures/trello-real and fixtures/trello-openapi.json)",
            file=sys.stderr,
        )
        return 2
    text = render(fixtures)
    out: Path = args.out
    if args.check:
        if out.is_file() and out.read_text(encoding="utf-8") == text:
            print(f"{out} is up to date")
            return 0
        print(f"{out} differs from {fixtures}: run tools/make_shapes.py", file=sys.stderr)
        return 1
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(text, encoding="utf-8")
    doc = json.loads(text)
    print(
        f"wrote {out}: {len(doc['actions'])} action variants, {len(doc['objects'])} object "
        f"kinds, {doc['openapi']['operations']} OpenAPI operations"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
