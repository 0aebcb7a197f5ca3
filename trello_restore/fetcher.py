"""Read history and current state from the Trello API (board JSON exports: ``exports.py``;
which boards: ``boards.py``; through the kept history: ``fetcher_stored.py``).

``fetch``: board-level actions with an explicit filter, 1000 per page, paged backwards with
``before`` and de-duplicated by id; the boards the cards moved from or to are followed (one
hop), so a card's history from before a move is found (a followed board supplies history, and
the cards that moved between it and a named board: ``Fetched.named`` tells the planner which
boards were named); current state is one listing of every card (archived ones and those in
archived lists included, paged by 1000), and each board's lists and memberships in one request
(the board with both nested: ``boards.STATE_QUERY``; a followed board's is the request that
finds it). Member names come from the actions and from the memberships (with their members):
nothing is ever looked up through ``/1/members/{id}``. Per-card action requests are a fallback
only for cards whose history the board feeds do not explain.

Paging detail: Trello derives a date from an id passed as ``before``, to the second (its docs,
and its open paging bug trello-archive/api-docs#68; trello-api-notes.md §13.1), and a list move
logs many actions in the same second. Whether a *date* cursor is compared to the millisecond
or, as the creation date an id holds, to the second is not documented; so each next page asks
for ``before=<the end of the oldest date seen's second>`` (``paging.next_before``): it repeats
the rest of that second's actions (dropped by id) and can skip none either way. Cards, which
carry no date but their id's second, are paged the same way. A long listing is read in date
ranges at once (``paging.read_backwards``).
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Collection, Iterable, Iterator, Mapping, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from functools import partial
from typing import Any, Protocol

from trello_restore.boards import (
    OBJECT_ID,
    STATE_QUERY,
    Api,
    Follower,
    bad_answer,
    expect_objects,
    interruptible,
    resolve_boards,
    url_from,
)
from trello_restore.errors import BadResponse, InputFileError
from trello_restore.exports import load_exports
from trello_restore.fetched import (
    BoardInfo,
    Fetched,
    board_warn,
    born_in_feed,
    models_ignored,
    unread_second,
)
from trello_restore.history import (
    ACTION_FILTER,
    MOVE_TYPES,
    HistoryBuilder,
    HistoryError,
    action_filter,
    members_from_listing,
    parse_board,
    parse_card,
    parse_date,
)
from trello_restore.history_store import HistoryStore
from trello_restore.limiter import RateLimiter
from trello_restore.models import (
    BoardState,
    CardState,
    History,
    MemberRef,
    RestoreKind,
    State,
    id_second,
)
from trello_restore.paging import PAGE, Listing, next_before, read_backwards, stamp
from trello_restore.words import shown_name

__all__ = [
    "HISTORY_MAX_AGE",
    "PAGE",
    "READERS",
    "Api",
    "BoardInfo",
    "Fetched",
    "board_actions",
    "board_cards",
    "board_state",
    "card_actions",
    "current_state",
    "fetch",
    "load_exports",
    "resolve_boards",
]

logger = logging.getLogger(__name__)

#: Where fetched pages of actions go to be parsed as they arrive.
Sink = Callable[[list[Mapping[str, Any]]], None]
#: Concurrent readers of one fetch (the api's limiter keeps them under Trello's rate).
READERS = 6
#: How long a page of older history may be served from the HTTP cache (it only grows at the head).
HISTORY_MAX_AGE = 24 * 3600.0
#: The step of action cursors (``paging.next_before``): Trello's cursors "operate on the
#: creation date" (notes §0.4, §13.1), which may be compared as whole seconds, so
#: ``before=<oldest + 1 ms>`` could skip the older actions of the oldest one's second (a bulk
#: move logs dozens in one second: the incident itself, R31b). The next page's ``before`` is the
#: end of that second: it is read again whichever way Trello compares; repeats are dropped by id.
CURSOR_STEP = timedelta(seconds=1)
_MEMBER_FIELDS = "fullName,username"
#: An action's own fields as ``history`` reads them (``limits`` and ``display`` are not read);
#: ``appCreator`` is not a field Trello lets one name (notes §1.1) and is read when present.
ACTION_FIELDS = "id,idMemberCreator,type,date,data"
#: The query parameters of every action feed request, board or card: only what is parsed.
_ACTION_QUERY = {
    "fields": ACTION_FIELDS,
    "member_fields": _MEMBER_FIELDS,
    "memberCreator_fields": _MEMBER_FIELDS,
}
#: A card's fields as the planner reads them: what the member restore needs, and what the value
#: kinds restore (design.md §10.1); ``board_cards`` reads all of them unless told otherwise.
MEMBER_CARD_FIELDS = "id,name,shortLink,idBoard,idList,closed,idMembers"
CARD_FIELDS = MEMBER_CARD_FIELDS + ",desc,due,dueComplete,start"


# ----------------------------------------------------------------------------- fetching


def fetch(
    api: Api,
    boards: Sequence[BoardInfo],
    *,
    follow_moves: bool = True,
    workers: int = READERS,
    kinds: Iterable[RestoreKind] = ("members",),
    store: HistoryStore | None = None,
) -> Fetched:
    """Fetch the history and state of ``boards`` and of the boards their cards moved to/from.

    ``kinds`` are the restore kinds asked (``--restore``): the action feeds' one filter asks
    for the actions each needs (``history.action_filter``), and with a value kind the cards are
    read with the fields it restores; the requests are the same ones (a larger history may take
    more pages).

    With a ``store`` (``history_store``), each board's parsed history is kept between runs and
    only the actions newer than the newest it holds are read
    (``fetcher_stored.fetch_stored``); the current
    state is read fresh either way.

    Independent reads (each board's history and card listing, in date ranges: ``paging.py``;
    its state) run on ``workers`` threads: at Trello's latency a single chain of
    requests would be bound by round trips, not by the rate limit that the api's shared
    limiter enforces."""
    kinds = frozenset(kinds)
    if store is not None:
        # Imported here: the stored path reads through this module's requests.
        from trello_restore.fetcher_stored import fetch_stored

        return fetch_stored(api, boards, store, follow_moves, workers, kinds)
    scope: dict[str, BoardInfo] = {b.id: b for b in boards}
    warnings: list[str] = []
    reading = _Reading(
        filter=",".join(action_filter(kinds)),
        card_fields=CARD_FIELDS if kinds - {"members"} else MEMBER_CARD_FIELDS,
        warn=warnings.append,
    )
    unreadable: dict[str, str] = {}  # id to name (the moves'); ``gone``: deleted of them
    gone: set[str] = set()
    # Two pools: a board's history task waits for its pages, which must not queue behind it.
    with (
        ThreadPoolExecutor(max_workers=workers, thread_name_prefix="fetch") as pool,
        ThreadPoolExecutor(max_workers=workers, thread_name_prefix="span") as spans,
        interruptible(api),
    ):
        builder = HistoryBuilder()
        reads: dict[str, _BoardReads] = {}

        def start(
            board: BoardInfo, answer: Mapping[str, Any] | None = None, sink: Sink = builder.add
        ) -> None:
            reads[board.id] = _read_board(pool, spans, api, board, sink, reading, answer)

        if follow_moves:  # the boards the moves connect: read as the pages show them
            follower = Follower(api, scope, warnings, unreadable, gone, start)

            def sink(page: list[Mapping[str, Any]]) -> None:
                builder.add(page)
                follower.found(_connected_boards(page))

            for board in list(scope.values()):
                start(board, sink=sink)
            named = [reads[b].history for b in follower.roots]
            follower.follow(named, lambda: _connected_boards(a for h in named for a in h.result()))
            reads = {board_id: reads[board_id] for board_id in scope}  # the follower's order
        else:
            for board in scope.values():
                start(board)
        raw_actions = [a for r in reads.values() for a in r.actions()]
        boards_state, cards, members = current_state(reads)
        unexplained = sorted(_unexplained_cards(raw_actions, cards))
        for page in pool.map(
            lambda cid: card_actions(api, cid, sink=builder.add, action_types=reading.filter),
            unexplained,
        ):
            raw_actions.extend(page)
    history = builder.build()
    incomplete = _cards_from(history, cards, unreadable)
    return Fetched(
        history=history,
        state=State(boards=boards_state, cards=cards),
        members=members,
        boards=list(scope.values()),
        incomplete=incomplete,
        warnings=list(dict.fromkeys(warnings)),  # a board read twice warns once
        named=frozenset(b.id for b in boards),
        unreadable=frozenset(unreadable),
        unreadable_names={b: name for b, name in unreadable.items() if name},
        gone=frozenset(gone),
    )


class _StateReads(Protocol):
    """A board's state reads in flight (``_BoardReads``, ``fetcher_stored._StoredReads``)."""

    @property
    def state(self) -> Future[tuple[BoardState, dict[str, MemberRef]]]: ...
    @property
    def cards(self) -> Future[list[CardState]]: ...


def current_state(
    reads: Mapping[str, _StateReads],
) -> tuple[dict[str, BoardState], dict[str, CardState], dict[str, MemberRef]]:
    """The boards' state, every card by id and the members the memberships name, from each
    board's reads once they are answered."""
    boards_state: dict[str, BoardState] = {}
    cards: dict[str, CardState] = {}
    members: dict[str, MemberRef] = {}
    for board_id, read in reads.items():
        state, board_members = read.state.result()
        boards_state[board_id] = state
        members.update(board_members)
        for card in read.cards.result():
            cards[card.id] = card
    return boards_state, cards, members


@dataclass(frozen=True)
class _Reading:
    """What a fetch asks each board for: the action filter, the cards' fields; ``warn`` is
    told what its reads cannot read whole (the plan's warnings)."""

    filter: str
    card_fields: str
    warn: Callable[[str], None]


@dataclass
class _BoardReads:
    """A board's reads in flight."""

    history: Future[list[Mapping[str, Any]]]
    state: Future[tuple[BoardState, dict[str, MemberRef]]]
    cards: Future[list[CardState]]

    def actions(self) -> list[Mapping[str, Any]]:
        return self.history.result()


def _read_board(
    pool: ThreadPoolExecutor,
    spans: ThreadPoolExecutor,
    api: Api,
    board: BoardInfo,
    sink: Sink,
    reading: _Reading,
    answer: Mapping[str, Any] | None,
) -> _BoardReads:
    """``answer``: the board read with its state already (a followed board), or None."""
    warn = board_warn(board, reading.warn)
    actions = partial(board_actions, pool=spans, sink=sink, warn=warn)
    cards = partial(board_cards, pool=spans, crowded=cards_crowded(warn))
    return _BoardReads(
        history=pool.submit(actions, api, board.id, action_types=reading.filter),
        state=pool.submit(board_state, api, board, answer),
        cards=pool.submit(cards, api, board.id, fields=reading.card_fields),
    )


def board_actions(
    api: Api,
    board_id: str,
    *,
    pool: ThreadPoolExecutor | None = None,
    sink: Sink | None = None,
    action_types: str = ",".join(ACTION_FILTER),
    since: datetime | None = None,
    keep: bool = True,
    collect: bool = True,
    warn: Callable[[str], None] | None = None,
) -> list[Mapping[str, Any]]:
    """A board's whole member-relevant history (or what ``action_types`` asks for; only what is
    newer than ``since`` when given), newest first, de-duplicated by id; nothing with
    ``collect`` False (the ``sink`` has each page: ``paging.read_backwards``).

    The newest page comes first; a board with more history than that is read in date ranges
    on the ``pool``'s threads (``paging.read_backwards``), measured from the board's creation,
    which its id encodes: that costs about one request per range more than one sequential
    chain, and takes a fraction of the time. ``keep=False``: the pages are not stored in the
    HTTP cache (the history store keeps what they hold). A second holding a full page is read
    again by the cards and lists it concerns (``_read_crowded``); ``warn`` is told what
    that leaves unread (``board_warn``; without it, a warning on stderr)."""
    crowded: set[datetime] = set()
    #: The cards the feed's pages name: a crowded second is read again by them too (a card
    #: that left the board, or was deleted, since: the card listing no longer has it).
    named: set[str] = set()

    def get(before: str | None, after: str | None) -> list[Mapping[str, Any]]:
        page = _page(api, board_id, before, after, sink, action_types, keep)
        named.update(_card_ids(page))
        return page

    listing = Listing(
        get=get,
        when=_action_date,
        step=CURSOR_STEP,
        what=f"board {board_id}'s actions",
        waiting=rate_bound(api),
        crowded=crowded.add,
    )
    born = _board_born(board_id)
    floor = born - timedelta(seconds=1) if born is not None else None
    got = read_backwards(listing, since=since, floor=floor, executor=pool, collect=collect)
    if not crowded:
        return got
    told = warn or (lambda text: logger.warning("board %s: %s", board_id, text))
    seconds = sorted(crowded)
    more = _read_crowded(api, board_id, seconds, named, sink, action_types, keep, pool, told)
    seen = {str(a["id"]) for a in got}
    return got + [a for a in more if str(a["id"]) not in seen] if collect else []


#: The action types that concern a list itself, read by the lists' ids in a crowded second.
_LIST_TYPES = frozenset({"createList", "updateList", "moveListToBoard", "moveListFromBoard"})
#: Ids per ``idModels`` request of a crowded second (a URL of about 2.5 kB).
_MODELS_PER_REQUEST = 100


def _read_crowded(
    api: Api,
    board_id: str,
    seconds: Sequence[datetime],
    named: Iterable[str],
    sink: Sink | None,
    action_types: str,
    keep: bool,
    pool: ThreadPoolExecutor | None,
    warn: Callable[[str], None],
) -> list[Mapping[str, Any]]:
    """The board's actions within each of ``seconds``, where a full page of its feed fell
    (``paging.Listing.crowded``): Trello's cursors cannot tell that second's actions apart
    (more than a page, or paging by second: trello-archive/api-docs#68), so they are read by
    the models they concern (``idModels``, in the spec): the cards on the board now (one card
    listing) and those the feed's pages named (``named``: cards that left the board or were
    deleted since), with the action types asked, its lists with the list types among them,
    ``_MODELS_PER_REQUEST`` ids a request, a request that fills a page split in two. Only the
    actions of a card or list that fills a page in one second alone stay unread: ``warn`` is
    told so. A card made and moved off within that second is not among the models (rare)."""
    # The listing's own crowded seconds (cards made in bulk) warned when it was first read.
    now = board_cards(api, board_id, fields="id,idBoard,idList,idMembers", crowded=_ignore)
    cards = sorted({c.id for c in now} | set(named))
    lists = api.get(f"boards/{board_id}/lists", {"filter": "all", "fields": "id"}, keep=False)
    list_ids = [
        str(x["id"])
        for x in expect_objects(
            lists, f"board {board_id}'s lists", "a list of lists", "id", api=api
        )
    ]
    list_types = ",".join(k for k in action_types.split(",") if k.split(":")[0] in _LIST_TYPES)
    jobs = [(second, cards, action_types) for second in seconds]
    if list_types:
        jobs += [(second, list_ids, list_types) for second in seconds]
    chunks = [
        (second, ids[k : k + _MODELS_PER_REQUEST], types)
        for second, ids, types in jobs
        for k in range(0, len(ids), _MODELS_PER_REQUEST)
    ]

    def read(job: tuple[datetime, list[str], str]) -> list[Mapping[str, Any]]:
        second, ids, types = job
        since, before = stamp(second - CURSOR_STEP), stamp(second + CURSOR_STEP)
        page = _page(api, board_id, before, since, sink, types, keep, models=",".join(ids))
        if len(page) < PAGE:
            return page
        if len(ids) == 1 or models_ignored(page, ids):  # nothing to split, or no use (R51b)
            warn(unread_second(ids, list_ids, stamp(second), PAGE))
            return page
        half = len(ids) // 2
        return [*read((second, ids[:half], types)), *read((second, ids[half:], types))]

    results = pool.map(read, chunks) if pool is not None else map(read, chunks)
    return [a for page in results for a in page]


def rate_bound(api: Api) -> Callable[[], bool]:
    """Whether ``api``'s requests wait for the rate limit now (``paging.Listing.waiting``);
    never, without a limiter."""
    limiter = getattr(api, "limiter", None)
    return limiter.saturated if isinstance(limiter, RateLimiter) else _never


def _never() -> bool:
    return False


def _action_date(action: Mapping[str, Any]) -> datetime:
    return parse_date(action["date"])


def _page(
    api: Api,
    board_id: str,
    before: str | None,
    since: str | None,
    sink: Sink | None,
    action_types: str,
    keep: bool = True,
    models: str | None = None,
) -> list[Mapping[str, Any]]:
    query = {"filter": action_types, "limit": str(PAGE), **_ACTION_QUERY}
    if before:
        query["before"] = before
    if since:
        query["since"] = since
    if models:
        query["idModels"] = models
    page = api.get(
        f"boards/{board_id}/actions",
        query,
        max_age=HISTORY_MAX_AGE if before and keep else None,
        keep=keep,
    )
    checked = expect_objects(
        page, f"board {board_id}'s actions", "a list of actions", "id", "date", "type", api=api
    )
    _feed(sink, checked, api)
    return checked


def _feed(sink: Sink | None, page: list[Mapping[str, Any]], api: Api) -> None:
    """Parse a page as soon as it arrives (on the reader thread, while others wait)."""
    if sink is None:
        return
    try:
        sink(page)
    except HistoryError as exc:
        raise BadResponse(
            f"the API answered actions that are not Trello's ({exc}): check {url_from(api)}"
        ) from None


def _next_before(page: Sequence[Mapping[str, Any]]) -> str:
    oldest = min(parse_date(a["date"]) for a in page)
    return stamp(next_before(oldest, CURSOR_STEP))


def card_actions(
    api: Api,
    card_id: str,
    *,
    sink: Sink | None = None,
    action_types: str = ",".join(ACTION_FILTER),
) -> list[Mapping[str, Any]]:
    """A card's own history (fallback; after a move Trello may hide older actions, TRELLO-955).
    Paged by date like the board feeds (``_next_before``), never by ``before=<oldest id>``,
    which Trello reads as that id's second."""
    out: list[Mapping[str, Any]] = []
    seen: set[str] = set()
    before: str | None = None
    while True:
        query = {"filter": action_types, "limit": str(PAGE), **_ACTION_QUERY}
        if before:
            query["before"] = before
        page = expect_objects(
            api.get(f"cards/{card_id}/actions", query, max_age=HISTORY_MAX_AGE if before else None),
            f"card {card_id}'s actions",
            "a list of actions",
            "id",
            "date",
            "type",
            api=api,
        )
        fresh = [a for a in page if a["id"] not in seen]
        _feed(sink, fresh, api)
        seen.update(a["id"] for a in fresh)
        out.extend(fresh)
        if len(page) < PAGE:
            return out
        step = _next_before(page)
        before = min(a["id"] for a in page) if not fresh or step == before else step


def board_state(
    api: Api, board: BoardInfo, answer: Mapping[str, Any] | None = None
) -> tuple[BoardState, dict[str, MemberRef]]:
    """A board's memberships (with member names) and lists, read fresh in one request
    (``boards.STATE_QUERY``), or from ``answer``, a read of it with that query
    (``boards.read_with_state``) made by this run."""
    raw = answer if answer is not None else api.get(f"boards/{board.id}", STATE_QUERY)
    shown = shown_name(board.name) if board.name else board.id
    if not isinstance(raw, Mapping):
        raise bad_answer(f"board {shown}", "a Trello board", api)
    memberships = expect_objects(
        raw.get("memberships"), f"board {shown}'s memberships", "a list of memberships", api=api
    )
    lists = expect_objects(raw.get("lists"), f"board {shown}'s lists", "a list of lists", api=api)
    try:
        state = parse_board({**raw, "id": board.id, "name": board.name}, memberships, lists)
    except HistoryError as exc:
        raise InputFileError(f"Trello answered board {shown}'s state oddly: {exc}") from None
    named = members_from_listing(
        m["member"] for m in memberships if isinstance(m.get("member"), dict)
    )
    return state, named


def board_cards(
    api: Api,
    board_id: str,
    *,
    fields: str = CARD_FIELDS,
    pool: ThreadPoolExecutor | None = None,
    cuts: Sequence[datetime] = (),
    crowded: Callable[[datetime], None] | None = None,
) -> list[CardState]:
    """Every card on the board now (archived, and in archived lists, included), read fresh
    (and not kept in the HTTP cache: it is never read from there).

    Paged by date, like the actions (``paging.read_backwards``, in date ranges on the
    ``pool``'s threads when given): Trello reads ``before=<card id>`` as the id's second, so
    paging by the oldest id skips the other cards made in that second (trello-archive/api-docs
    #68, bulk-made cards). A card's date is its id's second; each next page asks for
    ``before=<oldest card's second + 1 s>`` and the cards it repeats are dropped; a page that is
    all one second steps over it by id, and ``crowded`` is told that second (without one, a
    warning on stderr). ``cuts``: dates to cut the listing at from the start
    (``paging.read_backwards``)."""
    where = f"board {board_id}'s cards"

    def page(before: str | None, since: str | None) -> list[Mapping[str, Any]]:
        query = {"fields": fields, "limit": str(PAGE)}
        if before:
            query["before"] = before
        if since:
            query["since"] = since
        answer = api.get(f"boards/{board_id}/cards/all", query, keep=False)
        got = expect_objects(answer, where, "a list of cards", "id", api=api)
        if not all(isinstance(c["id"], str) and OBJECT_ID.match(c["id"]) for c in got):
            raise bad_answer(where, "a list of Trello cards", api)
        return got

    listing = Listing(
        get=page,
        when=_card_date,
        step=timedelta(seconds=1),
        what=where,
        waiting=rate_bound(api),
        crowded=crowded,
    )
    floor = _board_born(board_id)
    try:
        got = read_backwards(listing, floor=floor, cuts=cuts, executor=pool)
        return [parse_card(c) for c in got]
    except HistoryError:
        raise bad_answer(where, "a list of Trello cards", api) from None


def _ignore(_: datetime) -> None:
    pass


def cards_crowded(warn: Callable[[str], None]) -> Callable[[datetime], None]:
    """What ``board_cards`` tells of a second a full page of a board's cards was made in (a
    bulk copy or import): a warning of the board's (``board_warn``; README, Known limits)."""

    def crowded(second: datetime) -> None:
        warn(
            f"more than {PAGE} of its cards were made within the second from {stamp(second)}, "
            "which Trello's card listing cannot page through: some of them may be missing "
            "from this plan, and their changes left out as on another board"
        )

    return crowded


def _card_ids(page: Iterable[Mapping[str, Any]]) -> Iterator[str]:
    """The ids of the cards a page of actions names (``data.card.id``)."""
    for a in page:
        data = a.get("data")
        card = data.get("card") if isinstance(data, dict) else None
        if isinstance(card, dict) and isinstance(card.get("id"), str):
            yield card["id"]


def _card_date(card: Mapping[str, Any]) -> datetime:
    return datetime.fromtimestamp(int(str(card["id"])[:8], 16), tz=UTC)


def _board_born(board_id: str) -> datetime | None:
    """When a board was made (its id's second), the floor its listings are cut from."""
    return id_second(board_id) if OBJECT_ID.match(board_id) else None


def _connected_boards(raw_actions: Iterable[Mapping[str, Any]]) -> dict[str, str]:
    """Boards cards or lists moved to or from, with the name the newest move gives ("" none)."""
    out: dict[str, str] = {}
    for a in (a for a in raw_actions if a.get("type") in MOVE_TYPES):
        for ref in map((a.get("data") or {}).get, ("board", "boardSource", "boardTarget")):
            if isinstance(ref, Mapping) and isinstance(ref.get("id"), str):
                name = ref.get("name")
                out[ref["id"]] = out.get(ref["id"]) or (name if isinstance(name, str) else "")
    return out


def _unexplained_cards(
    raw_actions: Iterable[Mapping[str, Any]], cards: Mapping[str, CardState]
) -> set[str]:
    """Cards now in scope whose creation or arrival no fetched action shows: their history has
    to come from the card's own feed."""
    born = born_in_feed(raw_actions)
    return {cid for cid in cards if cid not in born}


def _cards_from(
    history: History, cards: Mapping[str, CardState], unreadable: Collection[str]
) -> frozenset[str]:
    """Cards that arrived from a board this account cannot read."""
    lists_from = {m.list_id for m in history.moves if m.source_board_id in unreadable and m.list_id}
    cards_from = {m.card_id for m in history.moves if m.source_board_id in unreadable and m.card_id}
    return frozenset(
        cid for cid, c in cards.items() if c.list_id in lists_from or cid in cards_from
    )
