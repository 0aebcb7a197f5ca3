"""The plan as the plan memo (``plan_memo``) keeps it: every field of every object, by position,
and back, exactly.

The plan file (``planfile``) is a reviewer's document: it leaves out what a reviewer need not
read (members' full names in most places, the apps credited), so a memo made of it had to be
read back and compared with the plan before it was kept (a fifth of a second on a plan of
20,000 cards), and reading it built the document's objects twice. This codec is made from the
dataclasses themselves (``dataclasses.fields`` and their type hints), so it carries whatever
field the models gain, and it refuses what it could not give back:

* ``encode`` writes a dataclass as ``[class name, field, field, ...]`` in field order, a tuple
  of them (a plan's changes, its skipped entries: most of it) by column, each run of one class
  as ``[class name, column, column, ...]`` (read back by calling the class over the columns,
  not one by one), a member (``MemberRef``) once in a table and by its place there everywhere
  else, a date in ISO form, a frozenset sorted, another tuple as a list; it checks each
  value's exact type against its field's hint as it goes (``str``, ``bool``, ``int``,
  ``None``, a ``Literal``'s values' types, ``datetime``, ``tuple[X, ...]``, ``tuple[X, Y]``,
  ``frozenset[str]``, one of ``CLASSES``, and unions of plain types or of one other type with
  ``None``), and raises ``NotCodable`` for anything else, at once: the plan is then not
  memoised.
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
error when the codec is first used (the first memo a run writes or reads, and every test of
it): a new model field of such a type must be taught here first.
"""

from __future__ import annotations

import dataclasses
import types
from collections.abc import Callable
from datetime import datetime
from functools import cache
from itertools import groupby
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
    #: The same for a column of such values at once, where it is quicker than one by one.
    encode_all: Callable[[Any, _Shared], list[Any]] | None = None
    decode_all: Callable[[Any, list[Any]], list[Any]] | None = None


class _Shared:
    """The table of shared objects an ``encode`` is writing."""

    def __init__(self) -> None:
        self.rows: list[Any] = []
        self.index: dict[Any, int] = {}


def encode(plan: Plan) -> bytes:
    """The plan's JSON (UTF-8): ``{"shared": [...], "plan": [...]}``. ``NotCodable`` when a
    value is not of its field's type, or is one JSON cannot hold exactly."""
    _made()
    shared = _Shared()
    doc = _object(Plan)(plan, shared)
    try:
        return orjson.dumps({"shared": shared.rows, "plan": doc})
    except orjson.JSONEncodeError as exc:
        raise NotCodable(str(exc)) from None


def decode(data: bytes | str) -> Plan:
    """The plan ``encode`` wrote. ``ValueError`` (also orjson's decode error), ``LookupError``
    or ``TypeError`` for a document it did not write."""
    shared_entry = _made()
    doc = orjson.loads(data)
    if not isinstance(doc, dict):
        raise TypeError("not a plan codec document")
    rows = doc["shared"]
    if type(rows) is not list or not all(type(row) is list for row in rows):
        raise TypeError("the shared objects are lists")
    shared = [_make(shared_entry, row, []) for row in rows]
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
        return _Field(frozenset({datetime}), _date, _read_date, _dates, _read_dates)
    if origin is tuple:
        return _tuple(args, hint)
    if origin is frozenset and _is_text(_hint(args[0])):
        return _Field(frozenset({frozenset}), _strings, _read_strings)
    if isinstance(hint, type) and hint in CLASSES:
        classes = frozenset(c for c in CLASSES if issubclass(c, hint))
        if hint is _SHARED:
            return _Field(classes, _share, _read_shared, _share_all, _read_all_shared)
        return _Field(classes, _object(hint), _read_object(hint))
    raise TypeError(f"the plan codec cannot write a {hint!r}")


def _is_text(field: _Field) -> bool:
    """Strings as they are (``str``, or a ``Literal`` of strings)."""
    return field.types == {str} and field.encode is None


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
        if args[0] in CLASSES and args[0] is not _SHARED:
            return _objects(args[0])
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
    if not kinds.issuperset(found):
        raise NotCodable(f"{value!r} holds a value of a type other than {sorted(map(str, kinds))}")


def _date(value: datetime, shared: _Shared) -> str:
    return value.isoformat()


def _read_date(value: str, rows: list[Any]) -> datetime:
    if type(value) is not str:
        raise TypeError("a date is a string")
    return datetime.fromisoformat(value)


def _dates(values: Any, shared: _Shared) -> list[str]:
    return list(map(datetime.isoformat, values))


def _read_dates(values: list[Any], rows: list[Any]) -> list[datetime]:
    return list(map(datetime.fromisoformat, values))  # (not a string: TypeError)


def _strings(value: frozenset[str], shared: _Shared) -> list[str]:
    _check(map(type, value), frozenset({str}), value)
    return sorted(value)


def _read_strings(value: list[str], rows: list[Any]) -> frozenset[str]:
    if type(value) is not list:
        raise TypeError("a set is a list")
    return frozenset(value)


def _share(value: Any, shared: _Shared) -> int:
    """The place of ``value`` (a ``_SHARED``) in the table, added there the first time (by
    its fields' values, as ``_share_all``)."""
    key = _made().values(value)
    at = shared.index.get(key)
    if at is None:
        at = shared.index[key] = len(shared.rows)
        shared.rows.append(_write_shared(value, shared)[1:])
    return at


def _share_all(values: Any, shared: _Shared) -> list[int]:
    """The places of ``values`` (``_SHARED``s) in the table, each added the first time. They
    are told apart by their fields' values (as their equality does; the class is checked),
    found with C's hashing rather than the dataclass's ``__hash__``, one call for them all."""
    keys = list(map(_made().values, values))
    index = shared.index
    for key, value in dict(zip(keys, values, strict=True)).items():
        if key not in index:
            index[key] = len(shared.rows)
            shared.rows.append(_write_shared(value, shared)[1:])
    return list(map(index.__getitem__, keys))


def _read_shared(value: int, rows: list[Any]) -> Any:
    if type(value) is not int:
        raise TypeError("a shared object is named by its place")
    return rows[value]


def _read_all_shared(values: list[Any], rows: list[Any]) -> list[Any]:
    if not set(map(type, values)) <= {int}:
        raise TypeError("a shared object is named by its place")
    return list(map(rows.__getitem__, values))


# ------------------------------------------------------------------------------ the classes


class _Class(NamedTuple):
    """A class of ``CLASSES``: its name, its fields' values (a tuple, in field order), each
    field's types, and the conversions of the fields that are not plain (by field position:
    one value, and a column of them)."""

    cls: type
    name: str
    values: Callable[[Any], tuple[Any, ...]]
    types: tuple[frozenset[type], ...]
    encoders: tuple[tuple[int, Callable[[Any, _Shared], Any]], ...]
    decoders: tuple[tuple[int, Callable[[Any, list[Any]], Any]], ...]
    column_encoders: tuple[tuple[int, Callable[[Any, _Shared], list[Any]]], ...]
    column_decoders: tuple[tuple[int, Callable[[Any, list[Any]], list[Any]]], ...]


#: Per hint in ``CLASSES``: each class a field of that hint may hold (itself and its subclasses
#: in ``CLASSES``), by type and by name; filled once every class is made (``_class``).
_BY_TYPE: dict[type, dict[type, _Class]] = {}
_BY_NAME: dict[type, dict[str, _Class]] = {}


def _class(cls: type) -> None:
    """The class's entry, made from its dataclass fields and type hints, put under each hint
    it may stand for (itself and its bases in ``CLASSES``)."""
    fields = dataclasses.fields(cls)
    if any(not f.init for f in fields):
        raise TypeError(f"the plan codec cannot make a {cls.__name__}: a field not in __init__")
    hints = get_type_hints(cls)
    of = [_hint(hints[f.name]) for f in fields]
    get = attrgetter(*(f.name for f in fields))
    entry = _Class(
        cls,
        cls.__name__,
        get if len(fields) > 1 else (lambda v: (get(v),)),
        tuple(f.types for f in of),
        tuple((i, f.encode) for i, f in enumerate(of) if f.encode is not None),
        tuple((i, f.decode) for i, f in enumerate(of) if f.decode is not None),
        tuple((i, _encode_all(f)) for i, f in enumerate(of) if f.encode is not None),
        tuple((i, _decode_all(f)) for i, f in enumerate(of) if f.decode is not None),
    )
    for hint in CLASSES:
        if issubclass(cls, hint):
            _BY_TYPE.setdefault(hint, {})[cls] = entry
            _BY_NAME.setdefault(hint, {})[entry.name] = entry


def _encode_all(field: _Field) -> Callable[[Any, _Shared], list[Any]]:
    enc = field.encode
    assert enc is not None
    return field.encode_all or (lambda values, shared: [enc(v, shared) for v in values])


def _decode_all(field: _Field) -> Callable[[Any, list[Any]], list[Any]]:
    dec = field.decode
    assert dec is not None
    return field.decode_all or (lambda values, rows: [dec(v, rows) for v in values])


def _object(hint: type) -> Callable[[Any, _Shared], list[Any]]:
    """Writes a ``hint`` (or a subclass in ``CLASSES``) as ``[name, *fields]``."""
    entries = _BY_TYPE.setdefault(hint, {})

    def write(value: Any, shared: _Shared) -> list[Any]:
        entry = entries.get(type(value))
        if entry is None:
            raise NotCodable(f"a {type(value).__name__} where a {hint.__name__} goes")
        fields = entry.values(value)
        if not all(map(contains, entry.types, map(type, fields))):
            raise NotCodable(f"a field of {value!r} is not of its type")
        out = list(fields)
        for i, enc in entry.encoders:
            out[i] = enc(out[i], shared)
        return [entry.name, *out]

    return write


def _read_object(hint: type) -> Callable[[Any, list[Any]], Any]:
    """Reads what ``_object(hint)`` wrote (``KeyError`` for a class that does not go there)."""
    entries = _BY_NAME.setdefault(hint, {})

    def read(value: Any, rows: list[Any]) -> Any:
        if type(value) is not list or not value:
            raise TypeError(f"a {hint.__name__} is a list")
        return _make(entries[value[0]], value[1:], rows)

    return read


def _make(entry: _Class, args: list[Any], rows: list[Any]) -> Any:
    """An object of ``entry``'s class of its fields as written (``args``)."""
    if len(args) != len(entry.types):  # not the class's fields (defaults would hide one short)
        raise TypeError(f"a {entry.name} of {len(args)} fields, not {len(entry.types)}")
    for i, dec in entry.decoders:
        args[i] = dec(args[i], rows)
    return entry.cls(*args)


def _objects(hint: type) -> _Field:
    """``tuple[hint, ...]`` (most of a plan: its changes, its skipped entries), written by
    column: each run of items of one class as ``[name, column, column, ...]``, a column per
    field; read back by calling the class over the columns."""
    by_type = _BY_TYPE.setdefault(hint, {})
    by_name = _BY_NAME.setdefault(hint, {})
    kinds = frozenset(c for c in CLASSES if issubclass(c, hint))

    def each(values: Any, shared: _Shared) -> Any:
        _check(map(type, values), kinds, values)
        runs = []
        for cls, run in groupby(values, type):
            entry = by_type[cls]
            columns = list(zip(*map(entry.values, run), strict=True))
            for kind, column in zip(entry.types, columns, strict=True):
                _check(map(type, column), kind, column)
            out: list[Any] = list(columns)
            for i, enc in entry.column_encoders:
                out[i] = enc(out[i], shared)
            runs.append([entry.name, *out])
        return runs

    def read_each(values: Any, rows: list[Any]) -> Any:
        if type(values) is not list:
            raise TypeError(f"the {hint.__name__}s are a list")
        made: list[Any] = []
        for run in values:
            if type(run) is not list or not run:
                raise TypeError(f"a run of {hint.__name__}s is a list")
            entry, columns = by_name[run[0]], run[1:]
            if (
                len(columns) != len(entry.types)
                or not all(type(c) is list for c in columns)
                or len(set(map(len, columns))) != 1
            ):
                raise TypeError(f"a run of {entry.name}s is not a column per field")
            for i, dec in entry.column_decoders:
                columns[i] = dec(columns[i], rows)
            made.extend(map(entry.cls, *columns))
        return tuple(made)

    return _Field(frozenset({tuple}), each, read_each)


_write_shared = _object(_SHARED)


@cache
def _made() -> _Class:
    """Every class's entry made (once, on first use: reading the type hints is a few
    milliseconds that a run without a memo need not spend); the shared class's."""
    for cls in CLASSES:
        _class(cls)
    return _BY_NAME[_SHARED][_SHARED.__name__]
