"""Parse Trello JSON (actions, cards, memberships) into the planner's values. Pure functions.

Accepts every action shape seen in the real samples (2011 to 2021: with or without ``data.member``,
``limits``, ``appCreator``), ignores types it does not use, and de-duplicates by action id.

Who made an action is ``idMemberCreator``, always: ``memberCreator`` (the member object) may be
missing, as it is on actions an automation such as Butler made, which carry ``appCreator``
instead (trello-api-notes.md §13.5); the app's name is kept with the action (``MemberAction.app``)
and shown next to the member (``credit_apps``). Member names: ``fullName`` may be missing for a
member who keeps it private (``nonPublic``, notes §13.6); everything is keyed on ids, and what is
private is not read.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Collection, Iterable, Mapping
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from operator import attrgetter
from typing import Any, Literal

from trello_restore.models import (
    FIELD_TYPES,
    KIND_FIELDS,
    BoardState,
    CardInfo,
    CardState,
    Change,
    FieldUpdate,
    History,
    MemberAction,
    MemberRef,
    Membership,
    MoveAction,
    Plan,
    RestoreKind,
    millis,
)

JSON = Mapping[str, Any]

#: Action types the fetcher asks for (an explicit filter; never rely on Trello's defaults).
ACTION_FILTER = (
    "addMemberToCard",
    "removeMemberFromCard",
    "moveCardToBoard",
    "moveCardFromBoard",
    "moveListToBoard",
    "moveListFromBoard",
    "createCard",
    "copyCard",
    "convertToCardFromCheckItem",
    "deleteCard",
    "updateCard:idList",
    "updateCard:closed",
)
#: What each value kind adds to the feed's filter (design.md §10.1). Trello documents the
#: sub-filters ``updateCard:closed|desc|idList|name`` and ``updateList:closed``, none for
#: ``due``, ``dueComplete`` or ``start`` (trello-api-notes.md §1.1): ``fields`` asks for every
#: ``updateCard``, which holds them all.
KIND_FILTERS: dict[RestoreKind, tuple[str, ...]] = {
    "members": (),
    "archived": ("updateCard:closed", "updateList:closed"),
    "list": ("updateCard:idList",),
    "fields": ("updateCard",),
}
#: The fields an ``updateCard`` / ``updateList`` may carry in ``data.old`` that a kind restores.
CARD_FIELDS = frozenset(f for kind in ("archived", "list", "fields") for f in KIND_FIELDS[kind])
LIST_FIELDS = frozenset({"closed"})
_DATE_FIELDS = frozenset({"due", "start"})
MOVE_TYPES = frozenset(
    {"moveCardToBoard", "moveCardFromBoard", "moveListToBoard", "moveListFromBoard"}
)


def action_filter(kinds: Iterable[RestoreKind] = ("members",)) -> tuple[str, ...]:
    """The action filter of one feed request for the restore kinds asked: the member actions'
    (``ACTION_FILTER``, always: they also place cards in scope) plus what each value kind needs,
    in one request, never one feed per kind. A sub-filter that a whole type asked for covers
    is left out."""
    extra = [f for kind in sorted(set(kinds)) for f in KIND_FILTERS[kind]]
    items = list(dict.fromkeys((*ACTION_FILTER, *extra)))
    whole = {x for x in items if ":" not in x}
    return tuple(x for x in items if x.partition(":")[0] not in whole or ":" not in x)


class HistoryError(ValueError):
    """The JSON is not Trello actions or cards (a field is missing or has the wrong type)."""


def parse_date(value: str) -> datetime:
    """Trello's ``2021-07-10T17:01:58.636Z`` (or any ISO-8601 with a zone) as aware UTC."""
    text = value[:-1] + "+00:00" if value.endswith("Z") else value
    parsed = datetime.fromisoformat(text)
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=UTC)
    try:
        return parsed.astimezone(UTC)
    except OverflowError:  # 0001-01-01T00:00+01:00: no such instant in UTC (R46a)
        raise ValueError(f"date out of range: {value!r}") from None


def _member_ref(obj: Any) -> MemberRef | None:
    """A member object (or ``data.member``) as a ``MemberRef``. A private full name is left
    unknown: ``nonPublic`` is not read, so the member is shown by username."""
    if not isinstance(obj, Mapping) or not isinstance(obj.get("id"), str):
        return None
    return MemberRef(
        id=obj["id"],
        username=str(obj.get("username") or ""),
        full_name=str(obj.get("fullName") or obj.get("name") or ""),
    )


def app_name(raw: JSON) -> str:
    """The app an action was made through, when it matters: the ``appCreator``'s name (``name``,
    ``displayName``, ``fullName`` or ``username``), or ``app <id>`` when it has none and no
    member object says who acted (an automation). "" for an action a person made."""
    app = raw.get("appCreator")
    if not isinstance(app, Mapping):
        return ""
    for key in ("name", "displayName", "fullName", "username"):
        value = app.get(key)
        if isinstance(value, str) and value.strip():
            return " ".join(value.split())
    if isinstance(raw.get("memberCreator"), Mapping):
        return ""  # a person acting through an API key: the person is who acted
    app_id = app.get("id")
    return f"app {app_id}" if isinstance(app_id, str) and app_id else "an app"


def credit_apps(plan: Plan, history: History) -> Plan:
    """``plan`` with the evidence of each change (and blocked change) whose action an app made
    credited to that app (``Evidence.app``), so that the plan names the app, not only the
    member it acted for. Changes nothing else."""
    apps = {a.id: a.app for a in history.member_actions if a.app}
    if not apps:
        return plan

    def credit(c: Change) -> Change:
        e = c.evidence
        if e is None or e.action_id not in apps:
            return c
        return replace(c, evidence=replace(e, app=apps[e.action_id]))

    return replace(
        plan,
        changes=tuple(credit(c) for c in plan.changes),
        blocked=tuple(replace(b, change=credit(b.change)) for b in plan.blocked),
    )


def _better(old: MemberRef | None, new: MemberRef) -> MemberRef:
    """Merge what two sightings of a member tell."""
    if old is None:
        return new
    return MemberRef(
        id=new.id,
        username=old.username or new.username,
        full_name=old.full_name or new.full_name,
    )


class HistoryBuilder:
    """Parses actions as they arrive, page by page, into one de-duplicated ``History``.

    ``add`` is thread-safe: the fetcher's reader threads parse each page while other requests
    wait on the network, instead of parsing the whole history after the last page."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self.seen: set[str] = set()
        self.member_actions: list[MemberAction] = []
        self.moves: list[MoveAction] = []
        self.deleted: dict[str, str] = {}
        self.deleted_when: dict[str, tuple[datetime, str]] = {}
        self.field_updates: list[FieldUpdate] = []
        self.card_lists: list[tuple[datetime, str, str]] = []
        self.cards: dict[str, CardInfo] = {}
        self.members: dict[str, MemberRef] = {}
        self.oldest: dict[str, datetime] = {}
        #: Per card and field, the (date, id) of the action its value in ``cards`` came from.
        self.card_stamps: dict[str, dict[str, tuple[datetime, str]]] = {}

    def add(self, actions: Iterable[JSON]) -> None:
        """Parse more actions (duplicates of earlier ones are dropped)."""
        with self._lock:
            _parse_into(self, actions)

    def build(self) -> History:
        """The history so far, sorted by date (ties by id)."""
        with self._lock:
            return History(
                member_actions=tuple(sorted(self.member_actions, key=_BY_DATE)),
                moves=tuple(sorted(self.moves, key=_BY_DATE)),
                deleted_cards=dict(self.deleted),
                card_lists=placed_first(self.card_lists, self.field_updates),
                cards=dict(self.cards),
                members=dict(self.members),
                oldest=dict(self.oldest),
                field_updates=tuple(
                    sorted(self.field_updates, key=attrgetter("date", "id", "field"))
                ),
                deleted_when=dict(self.deleted_when),
            )


#: Actions in date order, ties by id (a key computed in C: the sort runs after the last page).
_BY_DATE = attrgetter("date", "id")


#: The date of a card's place before its first recorded list change (``placed_first``): from
#: the start, before any date a history holds.
FROM_THE_START = datetime(1970, 1, 1, tzinfo=UTC)


def in_order(ups: list[FieldUpdate]) -> list[FieldUpdate]:
    """A field's changes in date order, ties by action id (design.md §10.2); but a card's
    arrival on a board (``idList`` from None) right after its move off another, the two
    records of one move across boards (``arrivals``), whatever their ids and however their
    dates differ within ``PAIR_WITHIN`` (the same instant in the captures: R48a)."""
    paired = arrivals(ups)
    return sorted(
        ups,
        key=lambda u: (
            paired[u.id].date if u.id in paired else u.date,
            u.field == "idList" and u.old is None,
            u.id,
        ),
    )


#: How far apart the two records of one move across boards may be dated: the board the card
#: left logs ``moveCardFromBoard``, the one it reached ``moveCardToBoard``, at the same instant
#: in every capture, which no documentation promises for a card's move (R48a).
PAIR_WITHIN = timedelta(seconds=2)


def arrivals(ups: Collection[FieldUpdate]) -> dict[str, FieldUpdate]:
    """Each arrival of a card on a board in ``ups`` (``idList`` from None) that is the second
    record of a move off another board in them (to None, on another board, within
    ``PAIR_WITHIN``: the nearest), by its action id, with that move off."""
    left = [u for u in ups if u.field == "idList" and u.new is None]
    out: dict[str, FieldUpdate] = {}
    for u in ups:
        if u.field == "idList" and u.old is None:
            near = [
                d for d in left if d.board_id != u.board_id and abs(d.date - u.date) <= PAIR_WITHIN
            ]
            if near:
                out[u.id] = min(near, key=lambda d: (abs(d.date - u.date), d.id))
    return out


def placed_first(
    card_lists: Iterable[tuple[datetime, str, str]], field_updates: Iterable[FieldUpdate]
) -> tuple[tuple[datetime, str, str], ...]:
    """``History.card_lists``: the places, sorted, and for a card with no place known before
    its first recorded list change, the list that change left (``data.old.idList``, or the list
    a ``moveCardFromBoard`` left) from the start (R51c: a card whose creation is not in the
    log, as a template's or a copied board's, was taken to have always been in the list it is
    in now, so the move of the list it was in was not its: ``--cause move`` filtered the
    move's removals out, and ``--board`` of the move's source left the card out of scope). A
    card that came from another board first (old None) was in none of this history's lists."""
    places = sorted(card_lists)
    changes: dict[str, list[FieldUpdate]] = {}
    for u in field_updates:
        if u.field == "idList" and u.object_type == "card":
            changes.setdefault(u.object_id, []).append(u)
    if not changes:
        return tuple(places)
    earliest: dict[str, datetime] = {}
    for date, cid, _ in places:
        earliest.setdefault(cid, date)
    for cid, ups in changes.items():
        # The first change in the history's order: a move off a board before its arrival on
        # the other, read too (R52a: the arrival, its id sorting first or dated a millisecond
        # before, left no list), whose place is the arrival's, at the earlier of their dates.
        first, *rest = in_order(ups)
        start = min([first.date, *(u.date for u in rest[:1] if u.old is None)])
        if isinstance(first.old, str) and earliest.get(cid, start) >= start:
            places.append((FROM_THE_START, cid, first.old))
    return tuple(sorted(places))


def parse_history(actions: Iterable[JSON]) -> History:
    """Parse actions from any number of feeds into one de-duplicated ``History``."""
    builder = HistoryBuilder()
    builder.add(actions)
    return builder.build()


def _note_card(
    b: HistoryBuilder, card_id: str, stamp: tuple[datetime, str], fields: dict[str, str]
) -> None:
    """Each field of a card's ``CardInfo`` comes from the newest action that carries it, so the
    result does not depend on the order pages were parsed in."""
    stamps = b.card_stamps.setdefault(card_id, {})
    prev = b.cards.get(card_id) or CardInfo(card_id)
    values: dict[str, str] = {}
    for key, value in fields.items():
        if value and (key not in stamps or stamp > stamps[key]):
            stamps[key] = stamp
            if value != getattr(prev, key):
                values[key] = value
    if values or card_id not in b.cards:  # a new CardInfo only when something changed
        b.cards[card_id] = replace(prev, **values)


def _parse_into(b: HistoryBuilder, actions: Iterable[JSON]) -> None:
    try:
        _parse_actions(b, actions)
    except (KeyError, TypeError, AttributeError) as exc:
        # A value of another type where Trello has an object or a text (R51a: an export's
        # ``data.card`` true, ``data.list`` a text, a number for an id): said, not a crash.
        raise HistoryError(f"not a Trello action: {exc!r}") from exc


def _parse_actions(b: HistoryBuilder, actions: Iterable[JSON]) -> None:
    seen, member_actions, moves, deleted = b.seen, b.member_actions, b.moves, b.deleted
    card_lists, members, oldest = b.card_lists, b.members, b.oldest
    for raw in actions:
        try:
            action_id, type_, data = raw["id"], raw["type"], raw["data"]
            date = parse_date(raw["date"])
            by = raw["idMemberCreator"]
            board = data.get("board") or {}
            board_id = board.get("id", "")
            if not (type(action_id) is type(type_) is type(board_id) is type(by) is str):
                raise TypeError("an id or type that is not text")
        except (KeyError, TypeError, AttributeError, ValueError) as exc:
            raise HistoryError(f"not a Trello action: {exc!r}") from exc
        if board_id and (board_id not in oldest or date < oldest[board_id]):
            oldest[board_id] = date
        if action_id in seen:
            continue
        seen.add(action_id)
        for key in ("memberCreator", "member"):
            obj = raw.get(key)
            mid = obj.get("id") if type(obj) is dict else None
            known = members.get(mid) if type(mid) is str else None
            if known is not None and known.username and known.full_name:
                continue  # nothing more to learn about this member (the common case)
            ref = _member_ref(obj)
            if ref is not None:
                members[ref.id] = _better(members.get(ref.id), ref)
        card = data.get("card")
        if type(card) is not dict or type(card.get("id", "")) is not str:
            card = {}  # ``_object``, inline: once an action
        card_id = card.get("id")
        lst = data.get("list")
        if type(lst) is not dict or type(lst.get("id", "")) is not str:
            lst = {}
        if isinstance(card_id, str):
            _note_card(
                b,
                card_id,
                (date, action_id),
                {
                    "name": str(card.get("name") or ""),
                    "short_link": str(card.get("shortLink") or ""),
                    "board_id": board_id,
                    "list_id": str(lst.get("id") or ""),
                },
            )
        if type_ in ("addMemberToCard", "removeMemberFromCard") and isinstance(card_id, str):
            member_id = data.get("idMember") or (raw.get("member") or {}).get("id")
            if not isinstance(member_id, str):
                raise HistoryError(f"{type_} {action_id} names no member")
            ref = _member_ref(data.get("member"))
            if ref is not None:
                members[ref.id] = _better(members.get(ref.id), ref)
            member_actions.append(
                MemberAction(
                    id=action_id,
                    kind="add" if type_ == "addMemberToCard" else "remove",
                    date=date,
                    card_id=card_id,
                    member_id=member_id,
                    by=by,
                    board_id=board_id,
                    deactivated=bool(data.get("deactivated", False)),
                    app=app_name(raw),
                )
            )
        elif type_ in MOVE_TYPES:
            other = _object(data, "boardSource" if "ToBoard" in type_ else "boardTarget")
            if "ToBoard" in type_:
                source, target = other.get("id", ""), board_id
            else:
                source, target = board_id, other.get("id", "")
            moves.append(
                MoveAction(
                    id=action_id,
                    type=type_,
                    date=date,
                    by=by,
                    card_id=card_id if type_.startswith("moveCard") else None,
                    list_id=lst.get("id") if type_.startswith("moveList") else None,
                    source_board_id=source,
                    target_board_id=target,
                    other_board_name=str(other.get("name") or ""),
                )
            )
            if type_ == "moveCardToBoard" and isinstance(card_id, str) and lst.get("id"):
                card_lists.append((date, card_id, lst["id"]))
            if type_.startswith("moveCard") and isinstance(card_id, str):
                b.field_updates.extend(_list_left_or_reached(raw, date, board_id, card_id, lst))
        elif type_ == "deleteCard" and isinstance(card_id, str):
            deleted[card_id] = action_id
            b.deleted_when[card_id] = (date, by)
        elif type_ == "updateList":
            b.field_updates.extend(_field_updates(raw, date, board_id, "list", lst))
        elif isinstance(card_id, str):
            if type_ == "updateCard":
                b.field_updates.extend(_field_updates(raw, date, board_id, "card", card))
            after = _object(data, "listAfter").get("id") or (
                lst.get("id") if type_ in ("createCard", "copyCard") else None
            )
            if type_ == "convertToCardFromCheckItem":
                after = lst.get("id")
            if after and type(after) is str:
                card_lists.append((date, card_id, after))


def _object(data: JSON, key: str) -> JSON:
    """``data[key]``, a card, list or board Trello names, when it is an object whose id, if
    any, is a text; else none (R51a: an export's ``data.card`` true, or ``data.list`` a text,
    was a crash, and a number for a list's id a crash in the planner)."""
    obj = data.get(key)
    if type(obj) is dict and type(obj.get("id", "")) is str:
        return obj
    return {}


def _field_updates(
    raw: JSON, date: datetime, board_id: str, object_type: Literal["card", "list"], obj: Any
) -> list[FieldUpdate]:
    """The fields an ``updateCard`` (``obj`` = ``data.card``) or ``updateList`` (``data.list``)
    changed, one ``FieldUpdate`` each, from ``data.old`` and the new value in ``obj`` (a list
    move's also from ``listAfter``; an archive's new value is the old one's opposite when
    ``obj`` does not say). Fields the tool does not restore (``pos``…) and values of a type
    the field cannot have are left out."""
    data = raw["data"]
    old = data.get("old")
    object_id = obj.get("id") if isinstance(obj, Mapping) else None
    if not isinstance(old, Mapping) or not isinstance(object_id, str):
        return []
    fields = CARD_FIELDS if object_type == "card" else LIST_FIELDS
    out: list[FieldUpdate] = []
    for name in sorted(fields & set(old)):
        before: Any = old[name]
        after: Any
        if name in obj:
            after = obj[name]
        elif name == "idList":
            after = _object(data, "listAfter").get("id")
        elif name == "closed" and isinstance(before, bool):
            after = not before
        else:
            after = None
        if name in _DATE_FIELDS:  # as Trello writes dates (R45f: "+00:00" failed the plan)
            before, after = _date_value(before), _date_value(after)
        if not (_fits(name, before) and _fits(name, after)):
            continue  # not a value this field can have: nothing to restore from
        out.append(
            FieldUpdate(
                id=raw["id"],
                date=date,
                object_type=object_type,
                object_id=object_id,
                board_id=board_id,
                field=name,
                old=before,
                new=after,
                by=raw["idMemberCreator"],
                app=app_name(raw),
            )
        )
    return out


def _list_left_or_reached(
    raw: JSON, date: datetime, board_id: str, card_id: str, lst: Any
) -> list[FieldUpdate]:
    """A card's move between boards as a change of its ``idList`` on the board whose feed
    holds it (R47d: a card moved to another board and back into another list was not put back,
    and its list said "outside_window"): a ``moveCardFromBoard`` from the list it left
    (``data.list``) to none (``None``: off this board), a ``moveCardToBoard`` from none to the
    list it reached. None, a list on no board, is never a target: the value rule calls a
    change back to it ``other_board`` (design.md §10.1: moving across boards is out of scope,
    and ``planner_moves`` says so)."""
    list_id = lst.get("id") if isinstance(lst, Mapping) else None
    if not isinstance(list_id, str) or not list_id:
        return []
    left = raw["type"] == "moveCardFromBoard"
    return [
        FieldUpdate(
            id=raw["id"],
            date=date,
            object_type="card",
            object_id=card_id,
            board_id=board_id,
            field="idList",
            old=list_id if left else None,
            new=None if left else list_id,
            by=raw["idMemberCreator"],
            app=app_name(raw),
        )
    ]


def _fits(name: str, value: Any) -> bool:
    """Whether ``value`` is of a JSON type the field ``name`` can hold."""
    return isinstance(value, FIELD_TYPES[name])


def parse_card(raw: JSON) -> CardState:
    """A card from ``GET /boards/{id}/cards`` or a board export."""
    try:
        return CardState(
            id=_id(raw, "id"),
            name=text_or_empty(raw.get("name")),
            short_link=text_or_empty(raw.get("shortLink")),
            board_id=_id(raw, "idBoard"),
            list_id=_id(raw, "idList"),
            closed=_flag(raw, "closed"),
            member_ids=_ids(raw, "idMembers"),
            desc=text_or_empty(raw.get("desc")),
            due=_date_text(raw.get("due")),
            due_complete=_flag(raw, "dueComplete"),
            start=_date_text(raw.get("start")),
        )
    except (KeyError, TypeError) as exc:
        raise HistoryError(f"not a Trello card: {_why(exc)}") from exc


def parse_board(raw: JSON, memberships: Iterable[JSON], lists: Iterable[JSON] = ()) -> BoardState:
    """A board with its memberships (``GET /boards/{id}/memberships``) and lists."""
    try:
        lists = list(lists)
        ms = {
            _id(m, "idMember"): Membership(
                member_id=m["idMember"],
                member_type=str(m.get("memberType", "normal")),
                deactivated=_flag(m, "deactivated"),
                unconfirmed=_flag(m, "unconfirmed"),
            )
            for m in memberships
        }
        return BoardState(
            id=_id(raw, "id"),
            name=text_or_empty(raw.get("name")),
            memberships=ms,
            lists={_id(x, "id"): text_or_empty(x.get("name")) for x in lists},
            list_closed={x["id"]: _flag(x, "closed") for x in lists},
            closed=_flag(raw, "closed"),
        )
    except (KeyError, TypeError) as exc:
        raise HistoryError(f"not a Trello board: {_why(exc)}") from exc


def _date_text(value: Any) -> str | None:
    """A card's ``due`` or ``start`` as Trello writes it (``_date_value``); None for none."""
    return _date_value(value) if isinstance(value, str) and value else None


def _date_value(value: Any) -> Any:
    """A date's text as Trello writes dates, ``2025-06-20T17:00:12.000Z`` (to the microsecond
    when it has one), from any ISO 8601 form with a zone (R45f: ``+00:00`` went into the plan
    as it came, and its apply refused the plan as edited by hand); anything else as it is."""
    if not isinstance(value, str) or not value:
        return value
    try:
        when = parse_date(value)
    except ValueError:
        return value
    if when.microsecond % 1000:  # finer than Trello's: kept
        return when.isoformat(timespec="microseconds").replace("+00:00", "Z")
    return millis(when)


def text_or_empty(value: Any) -> str:
    """A name, description or address: its text, "" for none or anything but text (R45f: a
    ``null`` name was "None"; R53a: an export's board name too)."""
    return value if isinstance(value, str) else ""


def _flag(raw: JSON, key: str) -> bool:
    """A ``closed``/``dueComplete``/``deactivated`` flag: false when absent or null; anything
    but a boolean is not Trello's (R45f: ``"false"`` read as true, a card archived)."""
    value = raw.get(key)
    if value is None:
        return False
    if not isinstance(value, bool):
        raise TypeError(f"{key} is {json.dumps(value)[:40]}, not a boolean")
    return value


def _id(raw: JSON, key: str) -> str:
    """An id field: a text (R51a: a card's ``idList`` a list, or ``idBoard`` null, was a
    crash in the planner)."""
    value = raw[key]
    if type(value) is not str:
        raise TypeError(f"{key} is {json.dumps(value)[:40]}, not an id")
    return value


def _ids(raw: JSON, key: str) -> tuple[str, ...]:
    """A list of ids (a card's ``idMembers``)."""
    value = raw[key]
    if type(value) is not list or not all(type(x) is str for x in value):
        raise TypeError(f"{key} is {json.dumps(value)[:40]}, not a list of ids")
    return tuple(value)


def _why(exc: KeyError | TypeError) -> str:
    """What is wrong with a card or board object, in words (R48d: ``TypeError("closed is
    'true', not a boolean")``): a field it lacks, or what a value is not."""
    if isinstance(exc, KeyError) and exc.args:
        return f"no {exc.args[0]} field"
    return str(exc)


def members_from_listing(raw: Iterable[JSON]) -> dict[str, MemberRef]:
    """Member names from ``GET /boards/{id}/members`` or an export's ``members``."""
    out: dict[str, MemberRef] = {}
    if not isinstance(raw, Iterable) or isinstance(raw, (str, Mapping)):
        raise HistoryError(f"not a list of members: {json.dumps(raw)[:40]}")
    for m in raw:
        ref = _member_ref(m)
        if ref is not None:
            out[ref.id] = ref
    return out
