"""The sandbox's ``/1/`` routes: what each Trello endpoint answers, as plain functions.

Each handler takes a ``Call`` (the world, the token's member, path and query/body parameters)
and returns the JSON value of a 200 answer, or raises ``TrelloError`` with Trello's status and
body. Handlers run with ``world.lock`` held by the caller and know nothing about HTTP, rate
limits or faults (see ``server.py``). Behaviour follows trello-api-notes.md §1 and §3; where
Trello's answer is unconfirmed, the choice made here is said next to the code.
"""

from __future__ import annotations

import re
from bisect import bisect_left, bisect_right
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta
from typing import Any

from trello_restore.sandbox import render
from trello_restore.sandbox.ids import id_time, is_object_id, iso, parse_iso
from trello_restore.sandbox.world import (
    CARD_VALUE_FIELDS,
    FEED_EXCLUDED_TYPES,
    Action,
    Board,
    Card,
    FieldValue,
    Member,
    Membership,
    MemberType,
    Organization,
    TrelloError,
    TrelloList,
    World,
    check_card_value,
    invalid_id,
    invalid_object_id,
    not_found,
)

JSON = dict[str, Any]

#: Trello's body when the token's member may not see or change the model.
UNAUTHORIZED = "unauthorized permission requested"
#: Default action filters (notes §1.1): board actions ``all``, card actions hide member changes.
BOARD_ACTIONS_DEFAULT_FILTER = "all"
CARD_ACTIONS_DEFAULT_FILTER = "commentCard,updateCard:idList"
#: Most actions or cards one request may ask for.
MAX_LIMIT = 1000
#: Action types Trello sends to webhooks but leaves out of nested action feeds such as
#: ``GET /1/boards/{id}/actions`` ("Excluded Action Types", 2017 docs; trello-api-notes.md
#: §13.2): no feed returns them, whatever the ``filter`` asks for. The world still logs them.
EXCLUDED_ACTION_TYPES = FEED_EXCLUDED_TYPES

_SHORT_LINK_RE = re.compile(r"^[A-Za-z0-9]{8}$")
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_FILTER_ITEM_RE = re.compile(r"^[A-Za-z]+(:[A-Za-z]+)?$")


@dataclass(frozen=True)
class Route:
    """One ``/1/`` route the sandbox serves: an HTTP method and a path template."""

    method: str
    template: str


@dataclass(frozen=True)
class Call:
    """What a handler gets: the world, who is asking, and the request's parameters."""

    world: World
    #: The member the token belongs to (the actor for writes).
    member_id: str
    #: Path parameters by template name (``id``, ``filter``, ``idMember``).
    path: dict[str, str]
    #: Query parameters, overridden by body parameters (JSON or form), all as strings.
    params: dict[str, str]
    #: How ``before``/``since`` ids compare: ``second`` or ``exact`` (see ``SandboxOptions``).
    id_cursor: str = "second"
    #: How ``before``/``since`` dates compare: ``second`` or ``exact`` (``SandboxOptions``).
    date_cursor: str = "second"


Handler = Callable[[Call], Any]


def unauthorized() -> TrelloError:
    """401 ``unauthorized permission requested`` (plain text)."""
    return TrelloError(401, UNAUTHORIZED)


def invalid_value(name: str) -> TrelloError:
    """400 ``invalid value for <name>`` (plain text)."""
    return TrelloError(400, f"invalid value for {name}")


# ------------------------------------------------------------------------------- parameters


def _int_param(call: Call, name: str, default: int, maximum: int | None = None) -> int:
    raw = call.params.get(name)
    if raw is None or raw == "":
        return default
    try:
        value = int(raw)
    except ValueError:
        raise invalid_value(name) from None
    if value < 0 or (maximum is not None and value > maximum):
        raise invalid_value(name)
    return value


def _bool_param(call: Call, name: str, default: bool) -> bool:
    raw = call.params.get(name)
    if raw is None or raw == "":
        return default
    lowered = raw.lower()
    if lowered in ("true", "1"):
        return True
    if lowered in ("false", "0"):
        return False
    raise invalid_value(name)


def _choice_param(call: Call, name: str, default: str, choices: Iterable[str]) -> str:
    raw = call.params.get(name) or default
    if raw not in choices:
        raise invalid_value(name)
    return raw


def _multi_choice_param(call: Call, name: str, default: str, choices: set[str]) -> set[str]:
    raw = call.params.get(name) or default
    items = {x.strip() for x in raw.split(",") if x.strip()}
    if not items or not items <= choices:
        raise invalid_value(name)
    return items


#: An action's own keys, as ``fields=`` selects them (the spec's ``ActionFields`` less
#: ``memberCreator``, which ``memberCreator=`` governs here).
ACTION_FIELDS = frozenset({"id", "idMemberCreator", "data", "type", "date", "limits", "display"})


def _wanted(fields: str | None) -> list[str] | None:
    """The keys Trello's ``fields=`` keeps, in order: None for ``all`` (or absent), else
    ``id`` and those named, each once."""
    if fields is None or fields == "" or fields == "all":
        return None
    return list(dict.fromkeys(["id", *(f.strip() for f in fields.split(","))]))


def _pick(obj: JSON, fields: str | None) -> JSON:
    """Trello's ``fields=``: ``all`` (or absent) keeps everything; a list keeps those and id."""
    wanted = _wanted(fields)
    if wanted is None:
        return obj
    return {k: obj[k] for k in wanted if k in obj}


# ------------------------------------------------------------------------------ lookups


def _object_id_path(ref: str) -> str:
    """A path segment that must be a 24-hex id (400 ``invalid id`` otherwise)."""
    if not is_object_id(ref):
        raise invalid_id()
    return ref.lower()


def _object_id_param(value: str) -> str:
    """A parameter or body value that must be an id (400 JSON ``Invalid objectId`` otherwise)."""
    if not is_object_id(value):
        raise invalid_object_id()
    return value.lower()


def _model_ref(ref: str) -> str:
    """A board or card reference: a 24-hex id or an 8-character shortLink."""
    if is_object_id(ref):
        return ref.lower()
    if _SHORT_LINK_RE.match(ref):
        return ref
    raise invalid_id()


def _board(call: Call) -> Board:
    return call.world.board(_model_ref(call.path["id"]))


def _card(call: Call) -> Card:
    return call.world.card(_model_ref(call.path["id"]))


def _list(call: Call) -> TrelloList:
    lst = call.world.lists.get(_object_id_path(call.path["id"]))
    if lst is None:
        raise not_found()
    return lst


def _member_ref(call: Call, ref: str) -> Member:
    """A member by ``me``, id or username."""
    if ref == "me":
        return call.world.members[call.member_id]
    return call.world.member(ref.lower() if is_object_id(ref) else ref)


def _organization(call: Call) -> Organization:
    ref = call.path["id"]
    orgs = call.world.organizations
    org = orgs.get(ref.lower()) or next((o for o in orgs.values() if o.name == ref), None)
    if org is None:
        raise not_found()
    return org


def _readable(call: Call, board: Board) -> Board:
    """Reading a board needs an active membership (401 otherwise)."""
    if not board.is_active_member(call.member_id):
        raise unauthorized()
    return board


def _writable(call: Call, board: Board) -> Board:
    """Changing a board or its cards needs an active membership that is not an observer."""
    ms = board.memberships.get(call.member_id)
    if ms is None or not board.is_active_member(call.member_id) or ms.member_type == "observer":
        raise unauthorized()
    return board


# ------------------------------------------------------------------------------ actions


def _action_matcher(spec: str) -> Callable[[Action], bool]:
    """Trello's action ``filter``: ``all`` or types, with sub-filters like ``updateCard:idList``.

    A sub-filter ``type:field`` matches actions of that type whose ``data.old`` has ``field``.
    Unknown type names match nothing (the sandbox does not keep a list of every Trello type, so
    it cannot tell a typo from a type it never logs); only malformed items are refused. The
    ``EXCLUDED_ACTION_TYPES`` never match, even when named.
    """
    items = [x.strip() for x in spec.split(",") if x.strip()]
    if not items or not all(_FILTER_ITEM_RE.match(x) for x in items):
        raise invalid_value("filter")
    if "all" in items:
        return lambda a: a.type not in EXCLUDED_ACTION_TYPES
    types: set[str] = set()
    sub: dict[str, set[str]] = {}
    for item in items:
        type_, _, field = item.partition(":")
        if field:
            sub.setdefault(type_, set()).add(field)
        else:
            types.add(type_)

    def matches(a: Action) -> bool:
        if a.type in EXCLUDED_ACTION_TYPES:
            return False
        if a.type in types:
            return True
        fields = sub.get(a.type)
        if not fields:
            return False
        old = a.data.get("old")
        return isinstance(old, dict) and any(f in old for f in fields)

    return matches


def _cursor_bound(call: Call, name: str) -> tuple[str, str | datetime] | None:
    """``before``/``since`` as ``("id", id)``, ``("date", datetime)`` (compared exactly) or
    ``("second", datetime)`` (a whole second, compared with the actions' whole seconds); None
    when absent."""
    raw = call.params.get(name)
    if raw is None or raw in ("", "null", "lastView"):
        return None
    if is_object_id(raw):
        if call.id_cursor == "second":
            # The API "derives the date" from the id: second precision, so actions created in
            # the same second as the boundary compare equal to its start.
            return ("date", id_time(raw))
        return ("id", raw.lower())
    try:
        when = parse_iso(raw)
    except ValueError:
        raise invalid_value(name) from None
    if call.date_cursor == "second":
        return ("second", when.replace(microsecond=0))
    return ("date", when)


def _action_slice(feed: list[Action], call: Call) -> tuple[int, int]:
    """The index range of an oldest-first feed inside ``since`` and ``before`` (exclusive;
    by whole seconds, ``before=12:00:05.300`` is before 12:00:05 and ``since=`` it after
    12:00:05.999, when dates compare so: ``Call.date_cursor``)."""
    lo, hi = 0, len(feed)
    before = _cursor_bound(call, "before")
    since = _cursor_bound(call, "since")
    if before is not None:
        kind, value = before
        if kind == "id":
            hi = bisect_left(feed, value, key=lambda a: a.id)
        else:
            hi = bisect_left(feed, value, key=lambda a: a.date)
    if since is not None:
        kind, value = since
        if kind == "id":
            lo = bisect_right(feed, value, key=lambda a: a.id)
        elif kind == "second":
            assert isinstance(value, datetime)
            lo = bisect_left(feed, value + timedelta(seconds=1), key=lambda a: a.date)
        else:
            lo = bisect_right(feed, value, key=lambda a: a.date)
    return lo, hi


def list_actions(call: Call, feed: list[Action], default_filter: str) -> list[JSON]:
    """One page of an oldest-first feed, newest first, as Trello's action endpoints answer.

    ``limit`` 0-1000 (default 50); ``page`` with the legacy rule ``page * limit < 1000``, and no
    page reaches past the 1000th match;
    ``before``/``since`` bound by date or id (exclusive); ``member``/``memberCreator`` embed
    the member objects, with the keys ``member_fields``/``memberCreator_fields`` name (default
    all of them). ``fields`` picks among the action's own keys (``ACTION_FIELDS``, notes §1.1;
    ``id`` always); the embedded objects are not fields: ``member``/``memberCreator`` follow
    their own parameters, and ``appCreator`` (not in the spec's field list, so it cannot be
    asked for by name) is kept whatever ``fields`` says — a stated choice, unconfirmed: a
    client must read it as optional anyway (notes §13.5). Scans backwards from the ``before``
    bound, so a page costs what it returns, not the size of the feed. ``idModels`` (the
    spec's "only actions related to these models"): an action is related to its card, the
    lists its data names (``list``, ``listBefore``, ``listAfter``), its board and the member it
    concerns — a stated choice, unconfirmed (notes §1.1 lists the parameter).
    """
    matches = _action_matcher(call.params.get("filter") or default_filter)
    models = _models(call)
    if models is not None:
        by_type = matches

        def matches(a: Action) -> bool:
            return by_type(a) and not models.isdisjoint(_related(a))

    limit = _int_param(call, "limit", 50, MAX_LIMIT)
    page = _int_param(call, "page", 0)
    if page * limit >= MAX_LIMIT:
        raise invalid_value("page")
    member = _bool_param(call, "member", True)
    member_creator = _bool_param(call, "memberCreator", True)
    own = _wanted(call.params.get("fields"))
    keys = (
        None
        if own is None
        else [k for k in render.ACTION_KEYS if k in own or k not in ACTION_FIELDS]
    )
    member_keys = _wanted(call.params.get("member_fields"))
    creator_keys = _wanted(call.params.get("memberCreator_fields"))
    people: render.People = {}
    lo, hi = _action_slice(feed, call)
    skip = page * limit
    # Paging never reaches past the newest 1000 matches (notes §0.2): the last page is short.
    limit = min(limit, MAX_LIMIT - skip)
    out: list[JSON] = []
    i = hi - 1
    while i >= lo and len(out) < limit:
        a = feed[i]
        i -= 1
        if not matches(a):
            continue
        if skip:
            skip -= 1
            continue
        out.append(
            render.action(
                call.world,
                a,
                member=member,
                member_creator=member_creator,
                keys=keys,
                member_keys=member_keys,
                creator_keys=creator_keys,
                people=people,
            )
        )
    return out


def _models(call: Call) -> frozenset[str] | None:
    """``idModels``: the ids given (each an object id, else ``invalid value for idModels``);
    None when absent."""
    raw = call.params.get("idModels")
    if raw in (None, ""):
        return None
    ids = [x.strip() for x in raw.split(",") if x.strip()]
    if not all(is_object_id(x) for x in ids):
        raise invalid_value("idModels")
    return frozenset(x.lower() for x in ids)


def _related(a: Action) -> set[str]:
    """The models an action is related to (``list_actions``' ``idModels``)."""
    out = {a.id_board}
    if a.id_card:
        out.add(a.id_card)
    if a.id_member:
        out.add(a.id_member)
    for key in ("list", "listBefore", "listAfter"):
        ref = a.data.get(key)
        if isinstance(ref, dict) and isinstance(ref.get("id"), str):
            out.add(ref["id"])
    return out


def board_actions(call: Call) -> list[JSON]:
    """``GET /1/boards/{id}/actions`` (default filter ``all``)."""
    board = _readable(call, _board(call))
    feed = call.world.board_feed.get(board.id, [])
    return list_actions(call, feed, BOARD_ACTIONS_DEFAULT_FILTER)


def card_actions(call: Call) -> list[JSON]:
    """``GET /1/cards/{id}/actions`` (default filter ``commentCard,updateCard:idList``)."""
    card = _card(call)
    _readable(call, call.world.boards[card.id_board])
    return list_actions(call, call.world.card_actions(card.id), CARD_ACTIONS_DEFAULT_FILTER)


# -------------------------------------------------------------------------------- cards

#: What a board's nested ``cards=`` takes (``GET /1/boards/{id}?cards=…``).
NESTED_CARD_FILTERS = frozenset({"all", "closed", "open", "visible", "none"})
#: The card listing's: the spec's seven (notes §3.3; R71b: ``complete``/``incomplete`` were
#: refused).
CARD_FILTERS = NESTED_CARD_FILTERS | {"complete", "incomplete"}


def _card_filter(world: World, name: str) -> Callable[[Card], bool]:
    if name == "all":
        return lambda c: True
    if name == "closed":
        return lambda c: c.closed
    if name == "open":  # not archived, cards in archived lists included
        return lambda c: not c.closed
    if name == "visible":  # open cards in open lists
        return lambda c: not c.closed and not world.lists[c.id_list].closed
    # What these two select is not documented: here, open cards whose due date is ticked done
    # (or not), the one "complete" a card has.
    if name == "complete":
        return lambda c: not c.closed and c.due_complete
    if name == "incomplete":
        return lambda c: not c.closed and not c.due_complete
    return lambda c: False


def _render_card(call: Call, c: Card, wanted: list[str] | None) -> JSON:
    """A card as ``fields=`` picks it (``wanted``: see ``_wanted``), only those keys made."""
    out = render.card(c, wanted)
    if _bool_param(call, "customFieldItems", False):
        out["customFieldItems"] = []
    return out


def _id_second(object_id: str) -> int:
    """An id's timestamp, in seconds."""
    return int(object_id[:8], 16)


def _card_slice(call: Call, ids: Sequence[str]) -> tuple[int, int]:
    """The index range of a board's ascending card ids inside ``before`` and ``since``
    (exclusive). Each is a date compared with each card's creation second (its id's
    timestamp), or a card id, which ``id_cursor`` compares by second like a date (the default:
    Trello "derives the date" from a card's id too, and its open paging bug,
    trello-archive/api-docs#68, is about cards made in the same second) or exactly. Found by
    bisection: ids ascend, and their seconds with them."""
    lo, hi = 0, len(ids)
    for name in ("before", "since"):
        raw = call.params.get(name)
        if raw is None or raw in ("", "null"):
            continue
        if is_object_id(raw) and call.id_cursor == "exact":
            ref = raw.lower()
            if name == "before":
                hi = min(hi, bisect_left(ids, ref))
            else:
                lo = max(lo, bisect_right(ids, ref))
            continue
        try:
            when = id_time(raw) if is_object_id(raw) else parse_iso(raw)
        except ValueError:
            raise invalid_value(name) from None
        # A card's second s is before ``when`` if s < when, since it if s > when: against
        # whole seconds, ``when`` rounded up and down.
        since_epoch = when - _EPOCH
        floor = since_epoch.days * 86400 + since_epoch.seconds
        if name == "before":
            ceiling = floor + (1 if since_epoch.microseconds else 0)
            hi = min(hi, bisect_left(ids, ceiling, key=_id_second))
        else:
            lo = max(lo, bisect_right(ids, floor, key=_id_second))
    return lo, hi


def board_cards(call: Call) -> list[JSON]:
    """``GET /1/boards/{id}/cards[/{filter}]``.

    Without ``limit``/``before``/``since``: every matching card in board position order (list
    position, then card position). With any of them: paged by card id, newest first, at most
    ``limit`` (default and maximum 1000). A page is read from the board's card index
    (``World.card_ids_on_board``) backwards from its ``before`` bound, so it costs what it
    returns (and the cards the filter skips), not the size of the board.
    """
    board = _readable(call, _board(call))
    name = call.path.get("filter") or call.params.get("filter") or "visible"
    if name not in CARD_FILTERS:
        raise invalid_value("filter")
    keep = _card_filter(call.world, name)
    wanted = _wanted(call.params.get("fields"))
    paged = any(call.params.get(p) not in (None, "") for p in ("limit", "before", "since"))
    if not paged:
        lists = call.world.lists
        cards = [c for c in call.world.cards_on_board(board.id) if keep(c)]
        cards.sort(key=lambda c: (lists[c.id_list].pos, c.pos))
        return [_render_card(call, c, wanted) for c in cards]
    limit = _int_param(call, "limit", MAX_LIMIT, MAX_LIMIT)
    ids = call.world.card_ids_on_board(board.id)
    lo, hi = _card_slice(call, ids)
    by_id = call.world.cards
    out: list[JSON] = []
    i = hi - 1
    while i >= lo and len(out) < limit:
        c = by_id[ids[i]]
        i -= 1
        if keep(c):
            out.append(_render_card(call, c, wanted))
    return out


#: ``board_fields``' default on ``GET /1/cards/{id}`` (the 2017 docs, card.html).
CARD_BOARD_FIELDS = "name,desc,descData,closed,idOrganization,pinned,url,prefs"


def get_card(call: Call) -> JSON:
    """``GET /1/cards/{id}`` (id or shortLink); ``board=true`` nests the card's board with the
    fields ``board_fields`` names (``CARD_BOARD_FIELDS`` when absent; a name that is no board
    field is 400 ``invalid value for board_fields``)."""
    card = _card(call)
    board = _readable(call, call.world.boards[card.id_board])
    out = _render_card(call, card, _wanted(call.params.get("fields")))
    if _bool_param(call, "board", False):
        full = render.board(call.world, board)
        known = BOARD_FIELD_NAMES | full.keys()
        out["board"] = _pick(full, _fields_param(call, "board_fields", CARD_BOARD_FIELDS, known))
    return out


def _card_members(world: World, card: Card) -> list[JSON]:
    """The member array that the ``idMembers`` writes answer with."""
    out = []
    for mid in card.id_members:
        m = world.members[mid]
        if m.name_hidden:
            out.append({"id": m.id, "avatarHash": None, "username": m.username})
            continue
        out.append(
            {
                "id": m.id,
                "avatarHash": m.avatar_hash,
                "fullName": m.full_name,
                "initials": m.initials,
                "username": m.username,
            }
        )
    return out


def add_card_member(call: Call) -> list[JSON]:
    """``POST /1/cards/{id}/idMembers`` with ``value`` = member id: the card's members after.

    Duplicates get ``400 member is already on the card``; a member who is not on the card's
    board gets ``400 {"message":"Invalid objectId",...}`` (world.py's choice, unconfirmed).
    """
    card = _card(call)
    _writable(call, call.world.boards[card.id_board])
    value = call.params.get("value")
    if not value:
        raise invalid_value("value")
    call.world.add_member_to_card(card.id, _object_id_param(value), call.member_id)
    return _card_members(call.world, card)


def remove_card_member(call: Call) -> list[JSON]:
    """``DELETE /1/cards/{id}/idMembers/{idMember}``: the card's remaining members."""
    card = _card(call)
    _writable(call, call.world.boards[card.id_board])
    member_id = _object_id_path(call.path["idMember"])
    call.world.remove_member_from_card(card.id, member_id, call.member_id)
    return _card_members(call.world, card)


def _date_value(call: Call, name: str) -> str | None:
    """``due``/``start``: an ISO date or date-time, as Trello's ISO text; ``null`` or empty
    clears it (``400 invalid value for <name>`` otherwise)."""
    raw = call.params[name]
    if raw in ("", "null"):
        return None
    try:
        return iso(parse_iso(raw))
    except ValueError:
        raise invalid_value(name) from None


def _card_values(call: Call) -> dict[str, FieldValue]:
    """The ``CARD_VALUE_FIELDS`` a ``PUT /cards/{id}`` sets, parsed and checked before any
    change, so a bad value refuses the whole request."""
    out: dict[str, FieldValue] = {}
    for name in CARD_VALUE_FIELDS:
        if name not in call.params:
            continue
        if name in ("due", "start"):
            value: FieldValue = _date_value(call, name)
        elif name == "dueComplete":
            value = _bool_param(call, name, False)
        else:
            value = call.params[name]
        check_card_value(name, value)
        out[name] = value
    return out


def update_card(call: Call) -> JSON:
    """``PUT /1/cards/{id}``: ``idBoard``+``idList`` (move), ``idList`` (+``pos``: ``top``,
    ``bottom`` or a number), ``pos``, ``closed``, ``name``, ``desc``, ``due``, ``dueComplete``,
    ``start`` (``null`` clears a date), ``idMembers``; answers the card.

    Applied in that order, one action per field that changes (each ``updateCard`` with that
    field in ``data.old``: whether Trello logs one action per field for a request that changes
    several is unconfirmed); a field set to the value it has changes and logs nothing. Every
    value is checked first: a bad one refuses the request with nothing changed (an ``idList``
    of no list: ``invalid value for idList``, notes §4). ``idBoard`` without ``idList`` is
    refused (``invalid value for idList``), as moving across boards needs both (notes §3.1).
    """
    world = call.world
    card = _card(call)
    _writable(call, world.boards[card.id_board])
    p = call.params
    id_board, id_list = p.get("idBoard"), p.get("idList")
    pos: str | None = p.get("pos") or None
    closed = _bool_param(call, "closed", False) if p.get("closed") not in (None, "") else None
    values = _card_values(call)
    board: Board | None = None
    if id_board:
        if not id_list:
            raise invalid_value("idList")
        board = world.boards.get(_object_id_param(id_board))
        if board is None:
            raise invalid_value("idBoard")
        _writable(call, board)
    target = _object_id_param(id_list) if id_list else None
    if target is not None and target not in world.lists:
        raise invalid_value("idList")  # a well-formed id of no list (notes §4: 400)
    if target is not None and target != card.id_list:
        if board is not None and board.id != card.id_board:
            world.move_card_to_board(card.id, board.id, target, call.member_id)
            if pos is not None:
                card.pos = world.position(target, pos, card)
        else:
            world.move_card_to_list(card.id, target, call.member_id, pos=pos)
    elif pos is not None:
        world.set_card_pos(card.id, pos, call.member_id)
    if closed is not None:
        world.set_card_closed(card.id, closed, call.member_id)
    for name, value in values.items():
        world.set_card_field(card.id, name, value, call.member_id)
    if "idMembers" in p:
        ids = [_object_id_param(x.strip()) for x in p["idMembers"].split(",") if x.strip()]
        world.set_card_members(card.id, ids, call.member_id)
    return render.card(card)


def delete_card(call: Call) -> JSON:
    """``DELETE /1/cards/{id}``: Trello answers ``{"limits": {}}``."""
    card = _card(call)
    _writable(call, call.world.boards[card.id_board])
    call.world.delete_card(card.id, call.member_id)
    return {"limits": {}}


# ------------------------------------------------------------------------------- boards

BOARD_FILTERS = frozenset({"all", "open", "closed", "members", "organization", "public", "starred"})


def _board_filter(items: set[str], member_id: str) -> Callable[[Board], bool]:
    def keep(b: Board) -> bool:
        if "all" in items:
            return True
        return (
            ("open" in items and not b.closed)
            or ("closed" in items and b.closed)
            or ("members" in items and b.is_active_member(member_id))
            or ("organization" in items and b.id_organization is not None)
        )  # the sandbox has no public or starred boards

    return keep


def _render_boards(call: Call, boards: Iterable[Board]) -> list[JSON]:
    fields = call.params.get("fields")
    lists_filter = _choice_param(call, "lists", "none", _LIST_FILTERS)
    out = []
    for b in boards:
        item = _pick(render.board(call.world, b), fields)
        if lists_filter != "none":
            item["lists"] = _nested_lists(call, b, lists_filter)
        out.append(item)
    return out


_LIST_FILTERS = ("all", "closed", "none", "open")
#: ``memberships=`` of a board: ``all`` or a list of these (the 2017 docs; notes §13.10).
_NESTED_MEMBERSHIPS = {"all", "active", "admin", "deactivated", "me", "normal", "none"}


#: The names ``list_fields`` may give: the 2017 docs' list (``closed, idBoard, name, pos,
#: subscribed``), ``id`` and every other key the sandbox's lists have.
LIST_FIELD_NAMES = frozenset(
    {
        "id",
        "closed",
        "idBoard",
        "name",
        "pos",
        "subscribed",
        "softLimit",
        "limits",
        "creationMethod",
    }
)
#: The member fields the 2017 docs list for ``member_fields``, ``action_member_fields`` and
#: ``memberships_member_fields`` on ``GET /1/boards/{id}`` (and the keys the sandbox's members
#: have, ``_member_field_names``).
_DOCUMENTED_MEMBER_FIELDS = frozenset(
    {
        *("avatarHash", "bio", "bioData", "confirmed", "fullName", "idPremOrgsAdmin"),
        *("initials", "memberType", "products", "status", "url", "username"),
    }
)


def _member_field_names(call: Call) -> frozenset[str]:
    """The names a ``*member_fields`` parameter may give: the documented ones and every key
    a member object has here (``id`` among them)."""
    me = call.world.members[call.member_id]
    return _DOCUMENTED_MEMBER_FIELDS | render.member_full(me).keys()


def _fields_param(call: Call, name: str, default: str | None, known: Iterable[str]) -> str | None:
    """A ``*_fields`` parameter (``default`` when absent; None is ``all``): ``all`` or names of
    ``known`` (``id`` always allowed). Another name is 400 ``invalid value for <name>``, the
    pattern of Trello's answer to a bad value (notes §4), as ``_board_fields`` answers for
    ``fields`` (for these parameters unconfirmed). An empty value is kept (``_pick``: all)."""
    raw = call.params.get(name, default)
    if raw not in (None, "", "all"):
        named = {f.strip() for f in raw.split(",")} - {""}
        if not named <= {"id", *known}:
            raise invalid_value(name)
    return raw


def _nested_lists(call: Call, board: Board, which: str) -> list[JSON]:
    """A board's lists as ``lists=`` nests them (``list_fields``, default all)."""
    fields = _fields_param(call, "list_fields", None, LIST_FIELD_NAMES)
    return [
        _pick(render.trello_list(x), fields)
        for x in call.world.lists_on_board(board.id)
        if which == "all" or x.closed == (which == "closed")
    ]


def _nested_memberships(call: Call, board: Board, which: set[str]) -> list[JSON]:
    """A board's memberships as ``memberships=`` nests them: ``all``, or those of the kinds
    named; ``memberships_member=true`` embeds each member (``memberships_member_fields``,
    default ``fullName,username``)."""
    embed = _bool_param(call, "memberships_member", False)
    member_fields = (
        _fields_param(
            call, "memberships_member_fields", "fullName,username", _member_field_names(call)
        )
        or "fullName,username"
    )

    def wanted(ms: Membership) -> bool:
        return "all" in which or any(
            (kind == "active" and not ms.deactivated)
            or (kind == "deactivated" and ms.deactivated)
            or (kind == "me" and ms.id_member == call.member_id)
            or kind == ms.member_type
            for kind in which
        )

    fields = member_fields if embed else None
    return [_membership(call, ms, fields) for ms in board.memberships.values() if wanted(ms)]


def _membership(call: Call, ms: Membership, member_fields: str | None) -> JSON:
    """A membership as the memberships listings render it, with its member embedded
    (``member_fields`` of it) unless ``member_fields`` is None."""
    item = render.membership(ms)
    if member_fields is not None:
        full = render.member_full(call.world.members[ms.id_member], ms.member_type)
        item["member"] = _pick(full, member_fields)
    return item


#: ``GET /1/boards/{id}`` without ``fields=``: ``id`` and these. The OpenAPI file's default for
#: ``fields`` on that path (trello-openapi.json) and the 2017 docs' (board.html) agree, and the
#: docs' example answer to a plain ``GET /1/boards/tBmYPSYe`` has exactly these keys and ``id``.
BOARD_DEFAULT_FIELDS = (
    "name,desc,descData,closed,idOrganization,pinned,url,shortUrl,prefs,labelNames"
)
#: The board fields ``fields=`` may name: the list the OpenAPI file and the 2017 docs give for
#: ``GET /1/boards/{id}`` (``idMemberCreator`` is accepted, but the sandbox's boards have no
#: creator, so it is never in an answer), ``id``, and whatever else ``fields=all`` answers here.
BOARD_FIELD_NAMES = frozenset(
    {
        *("id", "closed", "dateLastActivity", "dateLastView", "desc", "descData"),
        *("idMemberCreator", "idOrganization", "invitations", "invited", "labelNames"),
        *("memberships", "name", "pinned", "powerUps", "prefs", "shortLink", "shortUrl"),
        *("starred", "subscribed", "url"),
    }
)


def _board_fields(call: Call, full: JSON) -> JSON:
    """The board read's own fields as ``fields=`` picks them from ``full`` (its every field):
    absent, ``BOARD_DEFAULT_FIELDS``; ``all``, all of them; a list, those and ``id``. A name
    that is no board field is 400 ``invalid value for fields``: the pattern of Trello's answer
    to a bad value (notes §4, "bad value"), which a GET board with a query value Trello no
    longer took also got ("invalid value for plugins", Manatee.Trello#310); for ``fields``
    itself unconfirmed. An empty ``fields=`` stays as before (all): undocumented."""
    fields = call.params.get("fields")
    if fields is None:
        fields = BOARD_DEFAULT_FIELDS
    elif fields not in ("", "all"):
        named = {f.strip() for f in fields.split(",")} - {""}
        if not named <= BOARD_FIELD_NAMES | full.keys():
            raise invalid_value("fields")
    return _pick(full, fields)


#: ``GET /1/boards/{id}``'s nested resources whose items the sandbox's world never has, each
#: with its enum (the 2017 docs, board.html; the OpenAPI file names each parameter) and its
#: ``*_fields`` names: a value other than ``none`` answers an empty array, as Trello would for
#: a board without labels, checklists or stars (unconfirmed; the sandbox's boards have none:
#: their cards' ``idLabels`` and ``idChecklists`` are empty and it has no starred boards).
_EMPTY_NESTED: dict[str, tuple[tuple[str, ...], str | None, frozenset[str]]] = {
    "labels": (("all", "none"), "label_fields", frozenset({"color", "idBoard", "name", "uses"})),
    "checklists": (
        ("all", "none"),
        "checklist_fields",
        frozenset({"idBoard", "idCard", "name", "pos"}),
    ),
    "boardStars": (("mine", "none"), None, frozenset()),
}
#: ``action_fields`` names: the 2017 docs' (``data, date, idMemberCreator, type``) and the
#: OpenAPI file's ``ActionFields`` (which adds ``limits``, ``display``, ``memberCreator``).
_ACTION_FIELD_NAMES = ACTION_FIELDS | {"memberCreator"}
#: The nested ``actions``' parameters as ``GET /1/boards/{id}/actions`` names them, so
#: ``list_actions`` answers both alike. No ``actions_before``: Trello's GET board ignores it
#: (TRELLO-229, unresolved; notes §1.1) and so does the sandbox, a client must page with
#: ``/actions?before=``.
_ACTION_PARAMS = {
    "actions": "filter",
    "actions_limit": "limit",
    "action_fields": "fields",
    "action_member": "member",
    "action_member_fields": "member_fields",
    "action_memberCreator": "memberCreator",
    "action_memberCreator_fields": "memberCreator_fields",
    "actions_since": "since",
}
#: The nested ``member`` objects' default keys (2017 docs, ``action_member_fields`` and
#: ``action_memberCreator_fields`` on GET board); the listing's default is all of them.
_NESTED_ACTION_MEMBER_FIELDS = "avatarHash,fullName,initials,username"
#: ``members=``'s enum and ``member_fields``'s default (2017 docs).
_NESTED_MEMBERS = ("admins", "all", "none", "normal", "owners")
_NESTED_MEMBER_FIELDS = "avatarHash,initials,fullName,username,confirmed"


def _nested_actions(call: Call, board: Board) -> list[JSON]:
    """``actions=`` (a filter as ``/actions`` takes it) through ``list_actions`` with the
    listing's names for the nested ones; a bad value is refused under its nested name."""
    params = {
        "member_fields": _NESTED_ACTION_MEMBER_FIELDS,
        "memberCreator_fields": _NESTED_ACTION_MEMBER_FIELDS,
    }
    params |= {
        own: call.params[nested] for nested, own in _ACTION_PARAMS.items() if nested in call.params
    }
    renamed = {f"invalid value for {own}": nested for nested, own in _ACTION_PARAMS.items()}
    try:
        feed = call.world.board_feed.get(board.id, [])
        return list_actions(replace(call, params=params), feed, BOARD_ACTIONS_DEFAULT_FILTER)
    except TrelloError as e:
        if isinstance(e.body, str) and e.body in renamed:
            raise invalid_value(renamed[e.body]) from None
        raise


def _nested(call: Call, board: Board) -> JSON:
    """The nested resources other than ``memberships`` and ``lists`` that ``call`` asks for,
    each only when asked (default ``none``/``false``), each as its listing answers: ``cards``
    (``card_fields``) as ``/cards/{filter}``, ``members`` (``member_fields``) as ``/members``,
    ``actions`` as ``/actions``; ``customFields=true`` and ``_EMPTY_NESTED`` empty. A value
    outside the documented enum, or a ``*_fields`` name the resource has not, is 400
    ``invalid value for <param>``."""
    out: JSON = {}
    member_names = _member_field_names(call)
    _fields_param(call, "action_fields", None, _ACTION_FIELD_NAMES)
    for name in ("action_member_fields", "action_memberCreator_fields"):
        _fields_param(call, name, None, member_names)
    _fields_param(call, "list_fields", None, LIST_FIELD_NAMES)
    if (call.params.get("actions") or "none") != "none":
        out["actions"] = _nested_actions(call, board)
    cards = _choice_param(call, "cards", "none", NESTED_CARD_FILTERS)
    card_fields = _fields_param(call, "card_fields", None, render.CARD_KEYS)
    if cards != "none":
        sub = {"filter": cards} | ({} if card_fields is None else {"fields": card_fields})
        out["cards"] = board_cards(replace(call, params=sub))
    members = _choice_param(call, "members", "none", _NESTED_MEMBERS)
    member_fields = _fields_param(call, "member_fields", _NESTED_MEMBER_FIELDS, member_names)
    if members != "none":
        sub = {"filter": members, "fields": member_fields or "all"}
        out["members"] = board_members(replace(call, params=sub))
    for name, (choices, fields_name, known) in _EMPTY_NESTED.items():
        which = _choice_param(call, name, "none", choices)
        if fields_name is not None:
            _fields_param(call, fields_name, None, known)
        if which != "none":
            out[name] = []
    _int_param(call, "labels_limit", 50, MAX_LIMIT)
    if _bool_param(call, "customFields", False):
        out["customFields"] = []
    return out


def get_board(call: Call) -> JSON:
    """``GET /1/boards/{id}`` (id or shortLink): the board's fields (``_board_fields``), with
    the nested ``memberships``, ``lists`` and ``_nested``'s resources only when asked for.
    Each defaults to ``none`` as the 2017 docs give them (``actions`` has no default there);
    the docs' example answer to a plain read has none. The OpenAPI file says ``all`` for
    ``actions`` and ``open`` for ``lists``, which that example contradicts: the docs are
    followed, and the tool names every nested resource it wants. Not served (ignored):
    ``organization``, ``pluginData``, ``card_pluginData``, ``myPrefs``, ``tags``,
    ``membersInvited`` and the ``card_*``/``actions_*`` extras (attachments, format …)."""
    board = _readable(call, _board(call))
    item = _board_fields(call, render.board(call.world, board))
    memberships = _multi_choice_param(call, "memberships", "none", _NESTED_MEMBERSHIPS)
    if memberships != {"none"}:
        if "none" in memberships:
            raise invalid_value("memberships")
        item["memberships"] = _nested_memberships(call, board, memberships)
    lists = _choice_param(call, "lists", "none", _LIST_FILTERS)
    if lists != "none":
        item["lists"] = _nested_lists(call, board, lists)
    item.update(_nested(call, board))
    return item


def update_board(call: Call) -> JSON:
    """``PUT /1/boards/{id}`` (id or shortLink): ``closed`` only, which closes (archives) or
    reopens the board (``World.set_board_closed``: one ``updateBoard``); answers the board.
    Closing a board is an admin's (the sandbox's stated choice: Trello's web page offers it to
    admins; the API's rule is not documented): anyone else is refused with 401 and nothing
    changed, as a write by a non-member or an observer is. A ``closed`` that is not a boolean
    is ``400 invalid value for closed``; other parameters (``name``, ``desc``, ``prefs/*`` …)
    are refused, ``400 invalid value for <name>``, rather than ignored: the sandbox does not
    keep them, and a test that sets one would be told it did."""
    world = call.world
    board = _writable(call, _board(call))
    unknown = sorted(set(call.params) - {"closed"})
    if unknown:
        raise invalid_value(unknown[0])
    if call.params.get("closed") in (None, ""):
        raise invalid_value("closed")
    closed = _bool_param(call, "closed", False)
    if board.memberships[call.member_id].member_type != "admin":
        raise unauthorized()
    world.set_board_closed(board.id, closed, call.member_id)
    return _board_fields(call, render.board(world, board))


def member_boards(call: Call) -> list[JSON]:
    """``GET /1/members/{id}/boards`` (``me``, id or username).

    Another member's boards are listed only where the token's member is a member too.
    """
    member = _member_ref(call, call.path.get("id", "me"))
    items = _multi_choice_param(call, "filter", "all", set(BOARD_FILTERS))
    keep = _board_filter(items, member.id)
    boards = [
        b
        for b in call.world.boards.values()
        if b.is_active_member(member.id) and b.is_active_member(call.member_id) and keep(b)
    ]
    return _render_boards(call, boards)


def get_organization(call: Call) -> JSON:
    """``GET /1/organizations/{id}`` (id or name): the workspace's id, name and display name."""
    org = _organization(call)
    doc: JSON = {"id": org.id, "name": org.name, "displayName": org.display_name}
    return _pick(doc, call.params.get("fields"))


def member_organizations(call: Call) -> list[JSON]:
    """``GET /1/members/{id}/organizations`` (``me``, id or username): the workspaces of the
    boards the member is an active member of (the sandbox keeps no workspace memberships of its
    own), those of another member only where the token's member shares a board with them."""
    member = _member_ref(call, call.path.get("id", "me"))
    ids = {
        b.id_organization
        for b in call.world.boards.values()
        if b.id_organization
        and b.is_active_member(member.id)
        and b.is_active_member(call.member_id)
    }
    orgs = sorted((call.world.organizations[i] for i in ids), key=lambda o: o.name)
    fields = call.params.get("fields")
    return [
        _pick({"id": o.id, "name": o.name, "displayName": o.display_name}, fields) for o in orgs
    ]


def organization_boards(call: Call) -> list[JSON]:
    """``GET /1/organizations/{id}/boards`` (id or name): the workspace's boards the token's
    member is a member of (the sandbox has no workspace-visible boards)."""
    org = _organization(call)
    items = _multi_choice_param(call, "filter", "all", set(BOARD_FILTERS))
    keep = _board_filter(items, call.member_id)
    boards = [
        b
        for b in call.world.boards.values()
        if b.id_organization == org.id and b.is_active_member(call.member_id) and keep(b)
    ]
    return _render_boards(call, boards)


def board_lists(call: Call) -> list[JSON]:
    """``GET /1/boards/{id}/lists[/{filter}]``: ``filter`` (default open), ``cards`` embeds."""
    board = _readable(call, _board(call))
    choices = ("all", "closed", "none", "open")
    which = call.path.get("filter") or _choice_param(call, "filter", "open", choices)
    if which not in choices:
        raise invalid_value("filter")
    cards_filter = _choice_param(call, "cards", "none", choices)
    fields, card_fields = call.params.get("fields"), call.params.get("card_fields")
    out = []
    for lst in call.world.lists_on_board(board.id):
        if which == "none" or (which != "all" and lst.closed != (which == "closed")):
            continue
        item = _pick(render.trello_list(lst), fields)
        if cards_filter != "none":
            cards = sorted(
                (c for c in call.world.cards.values() if c.id_list == lst.id),
                key=lambda c: c.pos,
            )
            item["cards"] = [
                _pick(render.card(c), card_fields)
                for c in cards
                if cards_filter == "all" or c.closed == (cards_filter == "closed")
            ]
        out.append(item)
    return out


_MEMBER_TYPE_FILTERS: dict[str, set[str]] = {
    "all": {"admin", "normal", "observer"},
    "admins": {"admin"},
    "owners": {"admin"},
    "normal": {"normal"},
    "none": set(),
}


def board_members(call: Call) -> list[JSON]:
    """``GET /1/boards/{id}/members``: ``filter`` (all|admins|normal|owners|none), ``fields``
    (default ``fullName,username``)."""
    board = _readable(call, _board(call))
    which = _choice_param(call, "filter", "all", _MEMBER_TYPE_FILTERS)
    types = _MEMBER_TYPE_FILTERS[which]
    fields = call.params.get("fields") or "fullName,username"
    return [
        _pick(render.member_full(call.world.members[ms.id_member], ms.member_type), fields)
        for ms in board.memberships.values()
        if ms.member_type in types
    ]


def board_memberships(call: Call) -> list[JSON]:
    """``GET /1/boards/{id}/memberships``: ``filter``; ``member=true`` embeds the member."""
    board = _readable(call, _board(call))
    which = _choice_param(call, "filter", "all", ("all", "admins", "normal", "none"))
    types = _MEMBER_TYPE_FILTERS[which]
    embed = _bool_param(call, "member", False)
    member_fields = call.params.get("member_fields") or "fullName,username"
    fields = member_fields if embed else None
    kept = (ms for ms in board.memberships.values() if ms.member_type in types)
    return [_membership(call, ms, fields) for ms in kept]


def put_board_member(call: Call) -> JSON:
    """``PUT /1/boards/{id}/members/{idMember}``: ``type`` admin|normal|observer, required
    (notes §3.2; R71b: a missing one was taken as normal). Answers ``{id, members,
    memberships}`` (shape of the email variant; unconfirmed). ``400 cannot change the type of
    the last admin of the board`` for the only active admin made normal or observer (the
    sandbox's text, see ``World.add_member_to_board``)."""
    world = call.world
    board = _writable(call, _board(call))
    ref = call.path["idMember"]
    member_id = ref.lower() if is_object_id(ref) else world.member(ref).id
    member_type: MemberType
    raw = call.params.get("type")
    if raw == "admin":
        member_type = "admin"
    elif raw == "normal":
        member_type = "normal"
    elif raw == "observer":
        member_type = "observer"
    else:
        raise invalid_value("type")
    world.add_member_to_board(board.id, member_id, call.member_id, member_type)
    return {
        "id": board.id,
        "members": [render.member_short(world.members[m]) for m in board.memberships],
        "memberships": [render.membership(ms) for ms in board.memberships.values()],
    }


def delete_board_member(call: Call) -> JSON:
    """``DELETE /1/boards/{id}/members/{idMember}`` (id or username): needs an admin or normal
    member. Answers ``{id, members, memberships}`` after the removal, like the PUT (the real
    body is undocumented). ``400 member is not on the board`` for a member without a
    membership; ``400 cannot remove the last admin of the board`` for the only active admin
    (both texts the sandbox's choice, see ``World.remove_member_from_board``)."""
    world = call.world
    board = _writable(call, _board(call))
    ref = call.path["idMember"]
    member_id = ref.lower() if is_object_id(ref) else world.member(ref).id
    world.remove_member_from_board(board.id, member_id, call.member_id)
    return {
        "id": board.id,
        "members": [render.member_short(world.members[m]) for m in board.memberships],
        "memberships": [render.membership(ms) for ms in board.memberships.values()],
    }


def move_list(call: Call) -> JSON:
    """``PUT /1/lists/{id}/idBoard`` with ``value`` = board id: the incident (world.py)."""
    world = call.world
    lst = _list(call)
    _writable(call, world.boards[lst.id_board])
    value = call.params.get("value")
    if not value:
        raise invalid_value("value")
    dst = world.boards.get(_object_id_param(value))
    if dst is None:
        raise invalid_value("value")
    _writable(call, dst)
    world.move_list_to_board(lst.id, dst.id, call.member_id)
    return render.trello_list(lst)


def close_list(call: Call) -> JSON:
    """``PUT /1/lists/{id}/closed`` with ``value`` true (archive) or false (unarchive): logs
    ``updateList`` with ``old.closed`` (nothing when the list already is so); answers the
    list."""
    world = call.world
    lst = _list(call)
    _writable(call, world.boards[lst.id_board])
    if call.params.get("value") in (None, ""):
        raise invalid_value("value")
    world.set_list_closed(lst.id, _bool_param(call, "value", False), call.member_id)
    return render.trello_list(lst)


def update_list(call: Call) -> JSON:
    """``PUT /1/lists/{id}``: ``name``, ``closed``, ``pos`` (``top``, ``bottom`` or a positive
    number) and ``idBoard`` (the move of ``PUT /lists/{id}/idBoard``, the incident); answers
    the list.

    Applied in that order, one ``updateList`` per field that changes, each with that field in
    ``data.old`` (``old.name`` for a rename, as Trello logs it); a field set to the value it has
    logs nothing. Every value is checked first: a bad one (an empty name, a ``closed`` that is
    not a boolean, a bad ``pos``, an ``idBoard`` that is no board the token's member may
    change) refuses the request with nothing changed. ``subscribed`` is checked and kept
    nowhere (the sandbox has no subscriptions); other parameters are ignored, as
    ``PUT /cards/{id}`` ignores them."""
    world = call.world
    lst = _list(call)
    _writable(call, world.boards[lst.id_board])
    p = call.params
    name = p.get("name")
    if name is not None and not name:
        raise invalid_value("name")
    closed = _bool_param(call, "closed", False) if p.get("closed") not in (None, "") else None
    _bool_param(call, "subscribed", False)
    pos: str | None = p.get("pos") or None
    if pos is not None:
        world.list_position(lst.id, pos)  # checked before anything changes
    board: Board | None = None
    if p.get("idBoard"):
        board = world.boards.get(_object_id_param(p["idBoard"]))
        if board is None:
            raise invalid_value("idBoard")
        _writable(call, board)
    if name is not None:
        world.set_list_name(lst.id, name, call.member_id)
    if closed is not None:
        world.set_list_closed(lst.id, closed, call.member_id)
    if pos is not None:
        world.set_list_pos(lst.id, pos, call.member_id)
    if board is not None and board.id != lst.id_board:
        world.move_list_to_board(lst.id, board.id, call.member_id)
    return render.trello_list(lst)


def archive_all_cards(call: Call) -> JSON:
    """``POST /1/lists/{id}/archiveAllCards``: archives every open card of the list, one
    ``updateCard`` action per card (``World.archive_all_cards``; Trello's logging of this route
    is unconfirmed). Trello documents no body; the sandbox answers ``{}``."""
    world = call.world
    lst = _list(call)
    _writable(call, world.boards[lst.id_board])
    world.archive_all_cards(lst.id, call.member_id)
    return {}


def move_all_cards(call: Call) -> JSON:
    """``POST /1/lists/{id}/moveAllCards`` with ``idBoard`` and ``idList`` (both required, as the
    OpenAPI file says): moves every open card of the list to the bottom of that list, one
    action per card (``World.move_all_cards``; Trello's logging of this route is unconfirmed).
    Trello documents no body; the sandbox answers ``{}``."""
    world = call.world
    lst = _list(call)
    _writable(call, world.boards[lst.id_board])
    id_board, id_list = call.params.get("idBoard"), call.params.get("idList")
    if not id_board:
        raise invalid_value("idBoard")
    if not id_list:
        raise invalid_value("idList")
    board = world.boards.get(_object_id_param(id_board))
    if board is None:
        raise invalid_value("idBoard")
    _writable(call, board)
    world.move_all_cards(lst.id, board.id, _object_id_param(id_list), call.member_id)
    return {}


# ------------------------------------------------------------------------------ members


def get_member(call: Call) -> JSON:
    """``GET /1/members/{id}`` (``me``, id or username)."""
    member = _member_ref(call, call.path.get("id", "me"))
    if member.id == call.member_id and member.name_hidden:
        # One's own private name is not private from oneself (R45d): as a public one.
        member = replace(member, name_hidden=False)
    return _pick(render.member_full(member), call.params.get("fields"))


# ------------------------------------------------------------------------------- routing

HANDLERS: dict[Route, Handler] = {
    Route("GET", "/1/members/me"): get_member,
    Route("GET", "/1/members/me/boards"): member_boards,
    Route("GET", "/1/members/{id}"): get_member,
    Route("GET", "/1/members/{id}/boards"): member_boards,
    Route("GET", "/1/members/me/organizations"): member_organizations,
    Route("GET", "/1/members/{id}/organizations"): member_organizations,
    Route("GET", "/1/organizations/{id}"): get_organization,
    Route("GET", "/1/organizations/{id}/boards"): organization_boards,
    Route("GET", "/1/boards/{id}"): get_board,
    Route("PUT", "/1/boards/{id}"): update_board,
    Route("GET", "/1/boards/{id}/actions"): board_actions,
    Route("GET", "/1/boards/{id}/cards"): board_cards,
    Route("GET", "/1/boards/{id}/cards/{filter}"): board_cards,
    Route("GET", "/1/boards/{id}/lists"): board_lists,
    Route("GET", "/1/boards/{id}/lists/{filter}"): board_lists,
    Route("GET", "/1/boards/{id}/members"): board_members,
    Route("GET", "/1/boards/{id}/memberships"): board_memberships,
    Route("PUT", "/1/boards/{id}/members/{idMember}"): put_board_member,
    Route("DELETE", "/1/boards/{id}/members/{idMember}"): delete_board_member,
    Route("GET", "/1/cards/{id}"): get_card,
    Route("PUT", "/1/cards/{id}"): update_card,
    Route("DELETE", "/1/cards/{id}"): delete_card,
    Route("GET", "/1/cards/{id}/actions"): card_actions,
    Route("POST", "/1/cards/{id}/idMembers"): add_card_member,
    Route("DELETE", "/1/cards/{id}/idMembers/{idMember}"): remove_card_member,
    Route("PUT", "/1/lists/{id}"): update_list,
    Route("PUT", "/1/lists/{id}/idBoard"): move_list,
    Route("PUT", "/1/lists/{id}/closed"): close_list,
    Route("POST", "/1/lists/{id}/archiveAllCards"): archive_all_cards,
    Route("POST", "/1/lists/{id}/moveAllCards"): move_all_cards,
}

#: Every ``/1/`` route the sandbox serves. ``me`` routes come before their ``{id}`` twins, so
#: they match first; both answer the same.
ROUTES: tuple[Route, ...] = tuple(HANDLERS)
#: The routes under Trello's ``/1/members/{id}`` limit (not nested ones like ``…/boards``).
MEMBERS_LIMITED: frozenset[Route] = frozenset(
    {Route("GET", "/1/members/me"), Route("GET", "/1/members/{id}")}
)

_COMPILED: list[tuple[Route, tuple[str, ...]]] = [
    (route, tuple(route.template.strip("/").split("/"))) for route in ROUTES
]


def match(method: str, path: str) -> tuple[Route, dict[str, str]] | None:
    """The route for a method and a (decoded, query-less) path, with its path parameters.

    A single trailing slash is ignored. Literal segments must match exactly; ``{name}``
    segments match any non-empty segment.
    """
    parts = tuple(path.strip("/").split("/"))
    for route, template in _COMPILED:
        if route.method != method or len(template) != len(parts):
            continue
        params: dict[str, str] = {}
        for want, got in zip(template, parts, strict=True):
            if want.startswith("{"):
                if not got:
                    break
                params[want[1:-1]] = got
            elif want != got:
                break
        else:
            return route, params
    return None
