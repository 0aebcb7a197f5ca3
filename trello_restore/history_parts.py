"""The pieces of a kept history (``history_store``), per class of action: what the planner reads
of each action (``Part``: member actions, moves, field updates, card deletions, card places,
member names), how each is written as a compact JSON row and read back, and how parts from
several feeds merge into the ``History`` the planner takes. Pure: no files, no Trello.

The classes (``CLASSES``): ``base`` is what the member filter asks for (the member actions, the
moves, card creations and deletions, ``updateCard`` with an old ``idList`` or ``closed``),
``lists`` the ``updateList`` archive changes, ``cards`` every other ``updateCard``. A run uses
the classes its kinds ask for (``classes_for``), so it plans from exactly the actions a cold
fetch with its own filter would have read.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from operator import attrgetter
from typing import Any, Literal

import orjson

from trello_restore.history import ACTION_FILTER, HistoryBuilder, action_filter, placed_first
from trello_restore.models import (
    RESTORE_KINDS,
    CardInfo,
    FieldUpdate,
    History,
    MemberAction,
    MemberRef,
    MoveAction,
    RestoreKind,
)

__all__ = [
    "CLASSES",
    "ROW_LISTS",
    "CardStamps",
    "Class",
    "Part",
    "action_class",
    "as_text",
    "aware_date",
    "board_names",
    "classes_for",
    "connected",
    "encode_rows",
    "merge_parts",
    "to_history",
    "union_filter",
]

Class = Literal["base", "lists", "cards"]
CLASSES: tuple[Class, ...] = ("base", "lists", "cards")
#: The ``updateCard`` fields the member filter's sub-filters select (``updateCard:idList`` …).
_BASE_CARD_FIELDS = frozenset(
    x.partition(":")[2] for x in ACTION_FILTER if x.startswith("updateCard:")
)
#: One card's name, shortLink, board and list, each from the newest action that carried it:
#: field -> (value, date, action id), as ``HistoryBuilder`` keeps them.
CardStamps = dict[str, tuple[str, datetime, str]]
_CARD_FIELDS = ("name", "short_link", "board_id", "list_id")


def union_filter() -> str:
    """The action filter a store is built and extended with: every restore kind's."""
    return ",".join(action_filter(RESTORE_KINDS))


def action_class(raw: Mapping[str, Any]) -> Class:
    """The class of a raw action (see the module's docstring)."""
    type_ = raw.get("type")
    if type_ == "updateList":
        return "lists"
    if type_ == "updateCard":
        data = raw.get("data")
        old = data.get("old") if isinstance(data, Mapping) else None
        if isinstance(old, Mapping) and not _BASE_CARD_FIELDS.isdisjoint(old):
            return "base"
        return "cards"
    return "base"


def classes_for(kinds: Iterable[RestoreKind]) -> tuple[Class, ...]:
    """The classes of the actions that the feed filter of these restore kinds selects."""
    items = set(action_filter(kinds))
    out: list[Class] = ["base"]
    if any(x.partition(":")[0] == "updateList" for x in items):
        out.append("lists")
    if "updateCard" in items:
        out.append("cards")
    return tuple(out)


# --------------------------------------------------------------------------------- pieces


@dataclass
class Part:
    """What one class of one feed said, as ``HistoryBuilder`` parses it (one action each
    time), plus the cards the feed shows being created or arriving (``born``)."""

    member_actions: list[MemberAction] = field(default_factory=list)
    moves: list[MoveAction] = field(default_factory=list)
    #: Card id -> the ``deleteCard`` action's id, date and author.
    deleted: dict[str, tuple[str, datetime, str]] = field(default_factory=dict)
    field_updates: list[FieldUpdate] = field(default_factory=list)
    card_lists: list[tuple[datetime, str, str]] = field(default_factory=list)
    cards: dict[str, CardStamps] = field(default_factory=dict)
    members: dict[str, MemberRef] = field(default_factory=dict)
    oldest: dict[str, datetime] = field(default_factory=dict)
    born: set[str] = field(default_factory=set)
    #: Its ``ROW_LISTS`` already written as JSON, page by page as the feed parsed them
    #: (``encode_rows`` of each page's new rows, in the lists' order): ``chunks`` writes them as
    #: they are, so a long board's store costs no encoding after its last page. None: encoded
    #: when written. Not part of what the part says (not compared).
    pages: dict[str, list[bytes]] | None = field(default=None, compare=False, repr=False)
    #: Each card's ``CardInfo`` as ``cards`` gives it (``_info``), when already made (the
    #: builder's, or a merge's): ``to_history`` takes them instead of making 20,000 again
    #: after the last page. None: made from ``cards``. Not compared.
    infos: dict[str, CardInfo] | None = field(default=None, compare=False, repr=False)
    #: The ids of every action its builder parsed (``HistoryBuilder.seen``; its rows' among
    #: them), when it has them: a merge checks the other parts' actions against them instead of
    #: gathering its rows' ids after the last page. None: gathered. Not compared.
    ids: set[str] | None = field(default=None, compare=False, repr=False)

    @classmethod
    def of(
        cls,
        b: HistoryBuilder,
        born: Iterable[str] = (),
        pages: Mapping[str, Sequence[bytes]] | None = None,
    ) -> Part:
        """A builder's pieces (read, not copied deeply: the builder is done, and parses
        nothing more — its ``seen`` is the part's ``ids``); ``pages``: its row lists' JSON,
        page by page (``Part.pages``)."""
        stamps_of = b.card_stamps
        cards: dict[str, CardStamps] = {
            cid: {f: (getattr(info, f), *stamp) for f, stamp in stamps_of[cid].items()}
            for cid, info in b.cards.items()
        }
        return cls(
            member_actions=list(b.member_actions),
            moves=list(b.moves),
            deleted={c: (a, *b.deleted_when[c]) for c, a in b.deleted.items()},
            field_updates=list(b.field_updates),
            card_lists=list(b.card_lists),
            cards=cards,
            members=dict(b.members),
            oldest=dict(b.oldest),
            born=set(born),
            pages=None if pages is None else {k: list(v) for k, v in pages.items()},
            infos=dict(b.cards),  # each field from the newest action that carried it: ``cards``
            ids=b.seen,
        )

    def empty(self) -> bool:
        """Whether the part holds nothing at all."""
        return not any(getattr(self, name) for name in _JSON_OF)

    def card_infos(self) -> dict[str, CardInfo]:
        """Each card's ``CardInfo`` (a new dict)."""
        if self.infos is not None:
            return dict(self.infos)
        return {c: _info(c, s) for c, s in self.cards.items()}

    def connected(self) -> set[str]:
        """Boards that cards or lists moved to or from."""
        return connected(self.moves)

    def board_names(self) -> dict[str, str]:
        """The names its moves give the boards they connect (``board_names``)."""
        return board_names(self.moves)

    # --- JSON (compact: one array per action; dates as ISO text)

    def to_json(self) -> dict[str, Any]:
        """The part as ``orjson`` writes it (``dumps``): rows as tuples and dates as
        ``datetime``, which it writes as arrays and as ``isoformat`` text, in C — a tenth of
        the time of rows built here and the standard library's encoder (1.2 s for a board of
        272,000 actions, at the end of its fetch)."""
        return {name: value(self) for name, value in _JSON_OF.items()}

    def chunks(self) -> Iterator[bytes]:
        """``orjson.dumps(self.to_json())``, in pieces: the row lists the feed encoded page by
        page (``pages``) are not encoded again, only joined."""
        if self.pages is None:
            yield orjson.dumps(self.to_json())
            return
        sep = b"{"
        for name, value in _JSON_OF.items():
            yield sep + orjson.dumps(name) + b":"
            sep = b","
            if name not in ROW_LISTS:
                yield orjson.dumps(value(self))
                continue
            yield b"["
            for i, rows in enumerate(self.pages[name]):
                if i:
                    yield b","
                yield rows
            yield b"]"
        yield b"}"

    @classmethod
    def from_json(cls, d: Mapping[str, Any]) -> Part:
        """Back from ``to_json``; ``KeyError``/``TypeError``/``ValueError`` on anything else."""
        when = aware_date
        return cls(
            member_actions=[_member_action(row) for row in d["member_actions"]],
            moves=[_move(row) for row in d["moves"]],
            deleted={
                as_text(c): (as_text(a), when(t), as_text(by))
                for c, (a, t, by) in d["deleted"].items()
            },
            field_updates=[_field_update(row) for row in d["field_updates"]],
            card_lists=[(when(t), as_text(c), as_text(lst)) for t, c, lst in d["card_lists"]],
            cards={
                as_text(c): {
                    _field(f): (as_text(v), when(t), as_text(i)) for f, (v, t, i) in s.items()
                }
                for c, s in d["cards"].items()
            },
            members={
                as_text(m): MemberRef(m, as_text(u), as_text(n))
                for m, (u, n) in d["members"].items()
            },
            oldest={as_text(b): when(t) for b, t in d["oldest"].items()},
            born={as_text(c) for c in d["born"]},
        )


#: A row of each kind of action, in ``from_json``'s order (``_member_action`` …).
_MEMBER_ACTION_ROW = attrgetter(
    "id", "kind", "date", "card_id", "member_id", "by", "board_id", "deactivated", "app"
)
_MOVE_ROW = attrgetter(
    "id",
    "type",
    "date",
    "by",
    "card_id",
    "list_id",
    "source_board_id",
    "target_board_id",
    "other_board_name",
)
_FIELD_UPDATE_ROW = attrgetter(
    "id", "date", "object_type", "object_id", "board_id", "field", "old", "new", "by", "app"
)


#: The lists of rows, one row an action (or, for ``card_lists``, a place), that a feed's
#: pages add to: ``Part.pages`` holds them written page by page.
ROW_LISTS = ("member_actions", "moves", "field_updates", "card_lists")
#: How each of a part's fields is written (``to_json``), in the document's order.
_JSON_OF: dict[str, Callable[[Part], Any]] = {
    "member_actions": lambda p: list(map(_MEMBER_ACTION_ROW, p.member_actions)),
    "moves": lambda p: list(map(_MOVE_ROW, p.moves)),
    "deleted": attrgetter("deleted"),
    "field_updates": lambda p: list(map(_FIELD_UPDATE_ROW, p.field_updates)),
    "card_lists": attrgetter("card_lists"),
    "cards": attrgetter("cards"),
    "members": lambda p: {m.id: (m.username, m.full_name) for m in p.members.values()},
    "oldest": attrgetter("oldest"),
    "born": lambda p: sorted(p.born),
}
#: How a row of each of ``ROW_LISTS`` is written (a tuple: orjson writes it as an array).
_ROW_OF: dict[str, Callable[[Any], Any]] = {
    "member_actions": _MEMBER_ACTION_ROW,
    "moves": _MOVE_ROW,
    "field_updates": _FIELD_UPDATE_ROW,
    "card_lists": tuple,
}


def encode_rows(name: str, rows: Iterable[Any]) -> bytes:
    """These rows of the list ``name`` (one of ``ROW_LISTS``) as ``to_json`` writes them,
    without the list's brackets: a run of ``Part.pages``."""
    return orjson.dumps(list(map(_ROW_OF[name], rows)))[1:-1]


def _member_action(row: list[Any]) -> MemberAction:
    i, kind, t, card, member, by, board, deactivated, app = row
    if kind not in ("add", "remove"):
        raise ValueError(f"not a member action's kind: {kind!r}")
    return MemberAction(
        as_text(i),
        kind,
        aware_date(t),
        as_text(card),
        as_text(member),
        as_text(by),
        as_text(board),
        bool(deactivated),
        as_text(app),
    )


def _move(row: list[Any]) -> MoveAction:
    # A store written before moves kept the other board's name has eight fields: its moves
    # name no board (a board this account cannot read is named by its id).
    i, type_, t, by, card, lst, source, target, *name = row
    if len(name) > 1:
        raise ValueError("a move's row has more than nine fields")
    return MoveAction(
        as_text(i),
        as_text(type_),
        aware_date(t),
        as_text(by),
        _opt(card),
        _opt(lst),
        as_text(source),
        as_text(target),
        as_text(name[0]) if name else "",
    )


def _field_update(row: list[Any]) -> FieldUpdate:
    i, t, object_type, object_id, board, name, old, new, by, app = row
    if object_type not in ("card", "list"):
        raise ValueError(f"not a field update's object: {object_type!r}")
    return FieldUpdate(
        as_text(i),
        aware_date(t),
        object_type,
        as_text(object_id),
        as_text(board),
        as_text(name),
        _value(old),
        _value(new),
        as_text(by),
        as_text(app),
    )


#: The dates a kept history may hold: Trello's ids begin in 2011; a date outside these is damage
#: (and one at datetime's ends would overflow the arithmetic of the next read).
EARLIEST = datetime(2006, 1, 1, tzinfo=UTC)
LATEST = datetime(2100, 1, 1, tzinfo=UTC)


def aware_date(text: Any) -> datetime:
    """A date this tool wrote: ISO 8601 with its zone, between ``EARLIEST`` and ``LATEST``;
    ``ValueError`` for anything else (a run would compare it with Trello's dates and fail)."""
    when = datetime.fromisoformat(as_text(text))
    if when.tzinfo is None or not EARLIEST <= when <= LATEST:
        raise ValueError(f"not a date of a kept history: {text!r}")
    return when


def as_text(value: Any) -> str:
    if not isinstance(value, str):
        raise TypeError(f"not text: {value!r}")
    return value


def _opt(value: Any) -> str | None:
    return None if value is None else as_text(value)


def _field(name: Any) -> str:
    if name not in _CARD_FIELDS:
        raise ValueError(f"not a card field: {name!r}")
    return str(name)


def _value(value: Any) -> str | bool | None:
    if value is None or isinstance(value, str | bool):
        return value
    raise TypeError(f"not a field value: {value!r}")


def _better(old: MemberRef | None, new: MemberRef) -> MemberRef:
    """What two sightings of a member tell, the first one's names first (as the builder)."""
    if old is None:
        return new
    return MemberRef(new.id, old.username or new.username, old.full_name or new.full_name)


def connected(moves: Iterable[MoveAction]) -> set[str]:
    """The boards these moves took cards or lists to or from."""
    return {x for m in moves for x in (m.source_board_id, m.target_board_id) if x}


def board_names(moves: Iterable[MoveAction]) -> dict[str, str]:
    """The names these moves give the boards they took cards or lists to or from (the
    newest move's, by date and id), by id; a board no move names is not in it."""
    out: dict[str, tuple[tuple[datetime, str], str]] = {}
    for m in moves:
        board, name = m.other_board(), m.other_board_name
        if board and name and (board not in out or out[board][0] < (m.date, m.id)):
            out[board] = ((m.date, m.id), name)
    return {board: name for board, (_, name) in out.items()}


def merge_parts(parts: Iterable[Part]) -> Part:
    """One part from several, as one ``HistoryBuilder`` fed their actions in this order would
    have made it: an action in more than one (a card's feed repeats its board's) counts once,
    each card field comes from the newest action, member names from the first sighting."""
    # An empty part adds nothing (a cold store is its feed merged into an empty one): the
    # others are not walked again for it (0.17 s on the 272,000-action board, as its fetch ends).
    parts = [p for p in parts if not p.empty()] or [Part()]
    if len(parts) == 1:
        return parts[0]
    first, *others = parts
    infos = first.card_infos()
    # The first part is taken whole: a part holds each action once (its builder, or a merge,
    # dropped the repeats), and its card stamps and names have nothing to be compared with yet.
    out = Part(
        member_actions=list(first.member_actions),
        moves=list(first.moves),
        deleted=dict(first.deleted),
        field_updates=list(first.field_updates),
        card_lists=list(first.card_lists),
        cards=dict(first.cards),  # a card's stamps copied when another part changes them
        members=dict(first.members),
        oldest=dict(first.oldest),
        born=set(first.born),
        infos=infos,
    )
    copied: set[str] = set()
    # The actions already in: the first part's (an action is a member action, a move or field
    # updates; a card's move between boards is a move and its list's change, R47d), then each
    # one taken from the others (field updates apart: a move's update taken must not make
    # the move itself look taken).
    known = first.ids
    if known is None:
        known = {*map(_ID, first.member_actions), *map(_ID, first.moves)}
        known.update(map(_ID, first.field_updates))
    taken: set[str] = set()
    taken_updates: set[str] = set()
    for p in others:
        fresh_updates = {u.id for u in p.field_updates} - known - taken_updates
        out.field_updates.extend(u for u in p.field_updates if u.id in fresh_updates)
        taken_updates |= fresh_updates
        for a in p.member_actions:
            if a.id not in known and a.id not in taken:
                taken.add(a.id)
                out.member_actions.append(a)
        for m in p.moves:
            if m.id not in known and m.id not in taken:
                taken.add(m.id)
                out.moves.append(m)
        for cid, deletion in p.deleted.items():
            out.deleted.setdefault(cid, deletion)
        out.card_lists.extend(p.card_lists)
        for cid, stamps in p.cards.items():
            if cid in copied:
                mine = out.cards[cid]
            else:
                copied.add(cid)
                mine = out.cards[cid] = dict(out.cards.get(cid) or {})
            for f, (value, date, action_id) in stamps.items():
                if f not in mine or (date, action_id) > mine[f][1:]:
                    mine[f] = (value, date, action_id)
        for ref in p.members.values():
            out.members[ref.id] = _better(out.members.get(ref.id), ref)
        for board, date in p.oldest.items():
            if board not in out.oldest or date < out.oldest[board]:
                out.oldest[board] = date
        out.born |= p.born
    # The same place from two feeds' copies of one action (a tuple has no id): once, in the
    # order they came (each feed's nearly sorted: ``to_history``'s sort of a set's order was
    # 0.35 s of the 272,000-action board's merge, after its last page; of this order, 5 ms).
    out.card_lists = list(dict.fromkeys(out.card_lists))
    infos.update((cid, _info(cid, out.cards[cid])) for cid in copied)
    return out


def _info(card_id: str, stamps: CardStamps) -> CardInfo:
    """A card's ``CardInfo``: each field the newest action's that carried it (``stamps``)."""
    return CardInfo(card_id, **{f: v for f, (v, _, _) in stamps.items()})


#: An action's id; the history's order (by date, ties by id), as ``HistoryBuilder.build``.
_ID = attrgetter("id")
_DATE_ID = attrgetter("date", "id")


def to_history(part: Part) -> History:
    """The planner's ``History`` of a (merged) part, sorted as ``HistoryBuilder.build``."""
    return History(
        member_actions=tuple(sorted(part.member_actions, key=_DATE_ID)),
        moves=tuple(sorted(part.moves, key=_DATE_ID)),
        deleted_cards={c: a for c, (a, _, _) in part.deleted.items()},
        card_lists=placed_first(part.card_lists, part.field_updates),  # each once
        cards=part.card_infos(),
        members=dict(part.members),
        oldest=dict(part.oldest),
        field_updates=tuple(sorted(part.field_updates, key=lambda u: (u.date, u.id, u.field))),
        deleted_when={c: (d, by) for c, (_, d, by) in part.deleted.items()},
    )
