"""The plan as the plan memo (``plan_memo``) keeps it: every field of every object, by position,
and back, exactly.

The plan file (``planfile``) is a reviewer's document: it leaves out what a reviewer need not
read (members' full names in most places, the apps credited), so a memo made of it had to be
read back and compared with the plan before it was kept (a fifth of a second on a plan of
20,000 cards), and reading it built the document's objects twice. This codec is made from the
dataclasses themselves (``dataclasses.fields`` and their type hints), so it carries whatever
field the models gain, and it refuses what it could not give back:

* ``encode`` writes a dataclass as ``[class name, field, field, ...]`` in field order, a member
  (``MemberRef``) once in a table and by its place there everywhere else, a date in ISO form,
  a frozenset sorted, a tuple as a list; it checks each value's exact type against its field's
  hint as it goes (``str``, ``bool``, ``int``, ``None``, a ``Literal``'s values' types,
  ``datetime``, ``tuple[X, ...]``, ``tuple[X, Y]``, ``frozenset[str]``, one of ``CLASSES``, and
  unions of plain types or of one other type with ``None``), and raises ``NotCodable`` for
  anything else, at once: the plan is then not memoised.
* ``decode`` turns the document back, each class by its hint.

For values of those exact types each step is its own inverse: a ``str``, ``bool``, ``int`` or
``None`` is JSON's own (orjson refuses a string it cannot write as UTF-8 and an integer beyond
64 bits, which is ``NotCodable`` too); ``datetime.fromisoformat`` reads back what
``isoformat`` writes (the same instant, offset and microseconds); a sorted list of strings
gives back its frozenset, a list its tuple; a class name, its class. So ``decode(encode(plan))
== plan`` whenever ``encode`` returns, which is what the memo needs: a memo that would not give
back the same plan is never written, without reading it back (``tests/test_plan_codec.py``
holds it to that on plans of every kind and on values of the wrong type).

A hint the codec does not know (a ``dict``, a ``float``, a union of two kinds of object) is an
error when the module is imported: a new model field of such a type must be taught here first.
"""

from __future__ import annotations

import dataclasses
import types
from collections.abc import Callable
from datetime import datetime
from operator import attrgetter, contains
from typing import Any, Literal, NamedTuple, Union, get_args, get_origin, get_type_hints

import orjson

from trello_restore.models import (
    Blocked,
    Change,
    Evidence,
    MemberRef,
    Plan,
    PlanOptions,
    Skipped,
    Unrestorable,
    ValueChange,
    ValueSkipped,
)

__all__ = ["CLASSES", "NotCodable", "decode", "encode"]

#: The classes a plan is made of. A field whose hint is one of them may hold it or any of its
#: subclasses listed here (a ``Change`` field: a ``ValueChange`` too).
CLASSES: tuple[type, ...] = (
    Plan,
    PlanOptions,
    Change,
    ValueChange,
    Evidence,
    Blocked,
    Skipped,
    ValueSkipped,
    Unrestorable,
    MemberRef,
)
#: Written once each, in the document's table, and by position elsewhere.
_SHARED = MemberRef
_PLAIN = (str, bool, int, type(None))

Encoder = Callable[[Any], Any]


class NotCodable(TypeError):
    """A value the codec could not give back exactly (its type is not its field's)."""


class _Field(NamedTuple):
    """How one hint is written and read: the exact types a value may have (checked by the
    object holding it), and the conversions (None: JSON's own, as it is)."""

    types: frozenset[type]
    encode: Callable[[Any, _Shared], Any] | None
    decode: Callable[[Any, list[Any]], Any] | None


class _Shared:
    """The table of shared objects an ``encode`` is writing."""

    def __init__(self) -> None:
        self.rows: list[Any] = []
        self.index: dict[Any, int] = {}


def encode(plan: Plan) -> bytes:
    """The plan's JSON (UTF-8): ``{"shared": [...], "plan": [...]}``. ``NotCodable`` when a
    value is not of its field's type, or is one JSON cannot hold exactly."""
    shared = _Shared()
    doc = _object(Plan)(plan, shared)
    try:
        return orjson.dumps({"shared": shared.rows, "plan": doc})
    except orjson.JSONEncodeError as exc:
        raise NotCodable(str(exc)) from None


def decode(data: bytes | str) -> Plan:
    """The plan ``encode`` wrote. ``ValueError`` (also orjson's decode error), ``LookupError``
    or ``TypeError`` for a document it did not write."""
    doc = orjson.loads(data)
    if not isinstance(doc, dict):
        raise TypeError("not a plan codec document")
    rows = doc["shared"]
    if type(rows) is not list or not all(type(row) is list for row in rows):
        raise TypeError("the shared objects are lists")
    shared = [_read_shared_row(row, []) for row in rows]
    plan = _read_object(Plan)(doc["plan"], shared)
    if type(plan) is not Plan:
        raise TypeError("not a plan")
    return plan


# ------------------------------------------------------------------------------- the fields


def _hint(hint: Any) -> _Field:
    """The field of ``hint`` (``TypeError`` for a hint the codec does not know)."""
    origin, args = get_origin(hint), get_args(hint)
    if hint in _PLAIN:
        return _Field(frozenset({hint}), None, None)
    if origin is Literal:
        values: frozenset[type] = frozenset(type(a) for a in args)
        if not values <= set(_PLAIN):
            raise TypeError(f"a Literal of other than plain values: {hint!r}")
        return _Field(values, None, None)
    if origin in (Union, types.UnionType):
        return _union([_hint(a) for a in args], hint)
    if hint is datetime:
        return _Field(frozenset({datetime}), _date, _read_date)
    if origin is tuple:
        return _tuple(args, hint)
    if origin is frozenset and _hint(args[0]) == (frozenset({str}), None, None):
        return _Field(frozenset({frozenset}), _strings, _read_strings)
    if isinstance(hint, type) and hint in CLASSES:
        classes = frozenset(c for c in CLASSES if issubclass(c, hint))
        if hint is _SHARED:
            return _Field(classes, _share, _read_shared)
        return _Field(classes, _object(hint), _read_object(hint))
    raise TypeError(f"the plan codec cannot write a {hint!r}")


def _union(parts: list[_Field], hint: Any) -> _Field:
    """Plain types only; or one other and ``None`` (a date or nothing, an object or nothing)."""
    kinds = frozenset().union(*(p.types for p in parts))
    other = [p for p in parts if p.encode is not None]
    if not other:
        return _Field(kinds, None, None)
    if len(other) > 1 or len(parts) != 2 or type(None) not in kinds:
        raise TypeError(f"the plan codec cannot tell apart the values of {hint!r}")
    (some,) = other
    enc, dec = some.encode, some.decode
    assert enc is not None
    assert dec is not None

    def optional(value: Any, shared: _Shared) -> Any:
        return None if value is None else enc(value, shared)

    def read_optional(value: Any, rows: list[Any]) -> Any:
        return None if value is None else dec(value, rows)

    return _Field(kinds, optional, read_optional)


def _tuple(args: tuple[Any, ...], hint: Any) -> _Field:
    """``tuple[X, ...]`` (a list of X) or ``tuple[X, Y, ...]`` (a list of its positions)."""
    if len(args) == 2 and args[1] is Ellipsis:
        item = _hint(args[0])
        kinds, enc, dec = item.types, item.encode, item.decode

        def each(values: Any, shared: _Shared) -> Any:
            _check(map(type, values), kinds, values)
            return values if enc is None else [enc(v, shared) for v in values]

        def read_each(values: Any, rows: list[Any]) -> Any:
            if type(values) is not list:
                raise TypeError("a tuple is a list")
            return tuple(values) if dec is None else tuple([dec(v, rows) for v in values])

        return _Field(frozenset({tuple}), each, read_each)
    if not args or Ellipsis in args:
        raise TypeError(f"the plan codec cannot write a {hint!r}")
    fields = [_hint(a) for a in args]

    def fixed(values: Any, shared: _Shared) -> Any:
        if len(values) != len(fields):
            raise NotCodable(f"{values!r} is not a {hint!r}")
        out = list(values)
        for i, (f, v) in enumerate(zip(fields, values, strict=True)):
            _check((type(v),), f.types, v)
            if f.encode is not None:
                out[i] = f.encode(v, shared)
        return out

    def read_fixed(values: Any, rows: list[Any]) -> Any:
        return tuple(
            v if f.decode is None else f.decode(v, rows)
            for f, v in zip(fields, values, strict=True)
        )

    return _Field(frozenset({tuple}), fixed, read_fixed)


def _check(found: Any, kinds: frozenset[type], value: object) -> None:
    """``NotCodable`` unless each type ``found`` is one of ``kinds``."""
    if not all(map(kinds.__contains__, found)):
        raise NotCodable(f"{value!r} holds a value of a type other than {sorted(map(str, kinds))}")


def _date(value: datetime, shared: _Shared) -> str:
    return value.isoformat()


def _read_date(value: str, rows: list[Any]) -> datetime:
    if type(value) is not str:
        raise TypeError("a date is a string")
    return datetime.fromisoformat(value)


def _strings(value: frozenset[str], shared: _Shared) -> list[str]:
    _check(map(type, value), frozenset({str}), value)
    return sorted(value)


def _read_strings(value: list[str], rows: list[Any]) -> frozenset[str]:
    if type(value) is not list:
        raise TypeError("a set is a list")
    return frozenset(value)


def _share(value: Any, shared: _Shared) -> int:
    """The place of ``value`` (a ``_SHARED``) in the table, added there the first time."""
    at = shared.index.get(value)
    if at is None:
        at = shared.index[value] = len(shared.rows)
        shared.rows.append(_write_shared(value, shared)[1:])
    return at


def _read_shared(value: int, rows: list[Any]) -> Any:
    if type(value) is not int:
        raise TypeError("a shared object is named by its place")
    return rows[value]


# ------------------------------------------------------------------------------ the classes

#: Per hint in ``CLASSES``: the writer of each class a field of that hint may hold (by type),
#: and the reader of each (by name); filled once every class is made (``_class``).
_WRITERS: dict[type, dict[type, Callable[[Any, _Shared], list[Any]]]] = {}
_READERS: dict[type, dict[str, Callable[[list[Any], list[Any]], Any]]] = {}


def _class(cls: type) -> None:
    """The class's writer and reader, made from its dataclass fields and type hints, put under
    each hint it may stand for (itself and its bases in ``CLASSES``)."""
    fields = dataclasses.fields(cls)
    if any(not f.init for f in fields):
        raise TypeError(f"the plan codec cannot make a {cls.__name__}: a field not in __init__")
    hints = get_type_hints(cls)
    of = [_hint(hints[f.name]) for f in fields]
    names = [f.name for f in fields]
    name = cls.__name__
    get = attrgetter(*names)
    values = get if len(names) > 1 else (lambda v: (get(v),))
    kinds = tuple(f.types for f in of)
    encoders = tuple((i + 1, f.encode) for i, f in enumerate(of) if f.encode is not None)
    decoders = tuple((i, f.decode) for i, f in enumerate(of) if f.decode is not None)

    def write(value: Any, shared: _Shared) -> list[Any]:
        fields = values(value)
        if not all(map(contains, kinds, map(type, fields))):
            raise NotCodable(f"a field of {value!r} is not of its type")
        out = [name, *fields]
        for i, enc in encoders:
            out[i] = enc(out[i], shared)
        return out

    count = len(fields)

    def read(args: list[Any], rows: list[Any]) -> Any:
        if len(args) != count:  # not the class's fields (defaults would hide one short)
            raise TypeError(f"a {name} of {len(args)} fields, not {count}")
        for i, dec in decoders:
            args[i] = dec(args[i], rows)
        return cls(*args)

    for hint in CLASSES:
        if issubclass(cls, hint):
            _WRITERS.setdefault(hint, {})[cls] = write
            _READERS.setdefault(hint, {})[name] = read


def _object(hint: type) -> Callable[[Any, _Shared], list[Any]]:
    """Writes a ``hint`` (or a subclass in ``CLASSES``) as ``[name, *fields]``."""
    writers = _WRITERS.setdefault(hint, {})

    def write(value: Any, shared: _Shared) -> list[Any]:
        writer = writers.get(type(value))
        if writer is None:
            raise NotCodable(f"a {type(value).__name__} where a {hint.__name__} goes")
        return writer(value, shared)

    return write


def _read_object(hint: type) -> Callable[[Any, list[Any]], Any]:
    """Reads what ``_object(hint)`` wrote (``KeyError`` for a class that does not go there)."""
    readers = _READERS.setdefault(hint, {})

    def read(value: Any, rows: list[Any]) -> Any:
        if type(value) is not list:
            raise TypeError(f"a {hint.__name__} is a list")
        return readers[value[0]](value[1:], rows)

    return read


for _cls in CLASSES:
    _class(_cls)
_write_shared = _object(_SHARED)
_read_shared_row = _READERS[_SHARED][_SHARED.__name__]
