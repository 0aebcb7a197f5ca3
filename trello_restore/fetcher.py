"""Read history and current state from the Trello API (board JSON exports: ``exports.py``).

``fetch``: board-level actions with an explicit filter, 1000 per page, paged backwards with
``before`` and de-duplicated by id; the boards the cards moved from or to are followed (one
hop), so a card's history from before a move is found (a followed board supplies history, and
the cards that moved between it and a named board: ``Fetched.named`` tells the planner which
boards were named); current state is one listing of every card (archived ones and those in
archived lists included, paged by 1000), the lists and the memberships of each board. Member
names come from the actions and from the memberships (``member=true``): nothing is ever looked
up through ``/1/members/{id}``. Per-card action requests are a fallback only for cards whose
history the board feeds do not explain.

Paging detail: Trello derives a date from an id passed as ``before``, to the second (its docs,
and its open paging bug trello-archive/api-docs#68; trello-api-notes.md §13.1), and a list move
logs many actions in the same second. So each next page asks for ``before=<oldest date seen +
1 ms>``: it repeats the oldest millisecond's actions (dropped by id) and can skip none. Cards,
which carry no date but their id's second, are paged the same way by that second.
"""

from __future__ import annotations

import difflib
import logging
import re
from collections.abc import Callable, Iterable, Mapping, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any, Protocol

from trello_restore.errors import (
    AmbiguousBoard,
    BadRequest,
    BadResponse,
    BoardNotFound,
    InputFileError,
    NotFound,
    PermissionDenied,
    UsageError,
)
from trello_restore.exports import load_exports
from trello_restore.fetched import BoardInfo, Fetched, born_in_feed
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
from trello_restore.history_store import (
    BoardHistory,
    Class,
    Feed,
    HistoryStore,
    Part,
    classes_for,
    merge_parts,
    to_history,
    union_filter,
)
from trello_restore.models import (
    BoardState,
    CardState,
    History,
    MemberRef,
    RestoreKind,
    State,
    normal_name,
    quote_name,
)

__all__ = [
    "HISTORY_MAX_AGE",
    "PAGE",
    "READERS",
    "SLICES",
    "Api",
    "BoardInfo",
    "Fetched",
    "board_actions",
    "board_cards",
    "board_state",
    "card_actions",
    "fetch",
    "load_exports",
    "resolve_boards",
]

logger = logging.getLogger(__name__)

PAGE = 1000
#: Where fetched pages of actions go to be parsed as they arrive.
Sink = Callable[[list[Mapping[str, Any]]], None]
#: Concurrent readers of one fetch (the api's limiter keeps them under Trello's rate).
READERS = 6
#: Date spans a long board history is split into, paged concurrently.
SLICES = 4
#: How long a page of older history may be served from the HTTP cache (it only grows at the head).
HISTORY_MAX_AGE = 24 * 3600.0
#: Board names and ids change rarely.
BOARD_LIST_MAX_AGE = 600.0
_BOARD_URL = re.compile(r"^https?://(?:www\.)?trello\.com/b/([A-Za-z0-9]+)(?:[/?#].*)?$")
_TRELLO_URL = re.compile(r"^https?://(?:www\.)?trello\.com/")
_ANY_URL = re.compile(r"^[A-Za-z][A-Za-z0-9+.-]*://")
_OBJECT_ID = re.compile(r"^[0-9a-fA-F]{24}$")
_SHORT_LINK = re.compile(r"^[A-Za-z0-9]{8}$")
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


class Api(Protocol):
    """What the fetcher needs from ``api.TrelloApi``."""

    def get(
        self, path: str, params: Mapping[str, str] | None = None, *, max_age: float | None = None
    ) -> Any: ...


# ------------------------------------------------------------------------ board resolution


def resolve_boards(api: Api, refs: Sequence[str]) -> list[BoardInfo]:
    """Resolve ``--board`` values (id, shortLink, board URL or exact name), de-duplicated."""
    out: dict[str, BoardInfo] = {}
    mine: list[Mapping[str, Any]] | None = None
    for ref in refs:
        text = ref.strip()
        if not text:
            raise UsageError("--board is empty: give a board id, shortLink, URL or name")
        url = _BOARD_URL.match(text)
        if url:
            board = _get_board(api, url.group(1), text)
            if board is None:
                raise BoardNotFound(
                    f"no board at {text} is visible to this account: check the URL, or that "
                    "the token's member is on the board"
                )
        elif _TRELLO_URL.match(text):
            raise UsageError(
                f"{text} is not a board URL: use the board's address (https://trello.com/b/…)"
            )
        elif _ANY_URL.match(text):
            raise UsageError(
                f"{text} is not a Trello board URL: use the board's address "
                "(https://trello.com/b/…), id, shortLink or exact name"
            )
        else:
            board = None
            if _OBJECT_ID.match(text) or _SHORT_LINK.match(text):
                board = _get_board(api, text, text)
            if board is None:
                if mine is None:
                    mine = _expect_objects(
                        api.get(
                            "members/me/boards",
                            {"filter": "all", "fields": "name,url,shortLink,closed"},
                            max_age=BOARD_LIST_MAX_AGE,
                        ),
                        "members/me/boards",
                        "a list of boards",
                        "id",
                    )
                board = _by_name(text, mine)
        out.setdefault(board.id, board)
    return list(out.values())


def _get_board(api: Api, ref: str, shown: str) -> BoardInfo | None:
    try:
        raw = api.get(
            f"boards/{ref}", {"fields": "name,url,shortLink,closed"}, max_age=BOARD_LIST_MAX_AGE
        )
    except (NotFound, BadRequest):
        return None
    except PermissionDenied as exc:
        raise PermissionDenied(
            f"the token's member cannot read board {shown}: ask a board admin to add them, "
            "or use a token of a board member",
            exc.status,
            exc.trello_error,
        ) from None
    if not isinstance(raw, dict) or not isinstance(raw.get("id"), str):
        raise _bad_answer(f"board {shown}", "a Trello board")
    return BoardInfo(id=raw["id"], name=str(raw.get("name", "")), url=str(raw.get("url", "")))


def _bad_answer(what: str, expected: str) -> BadResponse:
    return BadResponse(
        f"the API answered {what} with something that is not {expected}: check --api-url / "
        "TRELLO_API_URL (it must be a Trello API, like https://api.trello.com/1)"
    )


def _expect_objects(value: Any, what: str, expected: str, *keys: str) -> list[Mapping[str, Any]]:
    """``value`` if it is a list of JSON objects that have ``keys``; else ``BadResponse``."""
    if not isinstance(value, list) or not all(
        isinstance(x, dict) and all(k in x for k in keys) for x in value
    ):
        raise _bad_answer(what, expected)
    return value


def _by_name(name: str, boards: Sequence[Mapping[str, Any]]) -> BoardInfo:
    """The board with this exact name (compared in Unicode NFC), else the one whose name
    differs from it only in case; several is an error that lists them (as Trello names them:
    spaces are not collapsed)."""
    wanted = normal_name(name)
    named = [(b, str(b.get("name", ""))) for b in boards]
    exact = [b for b, n in named if normal_name(n) == wanted]
    folded = wanted.casefold()
    matches = exact or [b for b, n in named if normal_name(n).casefold() == folded]
    if len(matches) == 1:
        b = matches[0]
        return BoardInfo(id=b["id"], name=str(b.get("name", "")), url=str(b.get("url", "")))
    if not matches:
        names = {normal_name(n).casefold(): n for _, n in named}
        near = difflib.get_close_matches(folded, list(names), n=3)
        hint = f"did you mean {' or '.join(quote_name(names[k]) for k in near)}? " if near else ""
        raise BoardNotFound(
            f"no board named {quote_name(name)} is visible to this account: {hint}check the "
            "name, or give the board's id, shortLink or URL"
        )
    listing = "; ".join(
        f"{quote_name(str(b.get('name', '')))} {b.get('url') or b['id']}"
        f"{' (closed)' if b.get('closed') else ''}"
        for b in matches
    )
    raise AmbiguousBoard(
        f"{len(matches)} boards are named {quote_name(name)}"
        f"{'' if exact else ' (ignoring case)'}: {listing} — pass the URL or id of the one "
        "you mean"
    )


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
    only the actions newer than the newest it holds are read (``_fetch_stored``); the current
    state is read fresh either way.

    Independent reads (each board's history slices, memberships, lists, card pages) run on
    ``workers`` threads: at Trello's latency a single chain of requests would be bound by round
    trips, not by the rate limit that the api's shared limiter enforces."""
    kinds = frozenset(kinds)
    if store is not None:
        return _fetch_stored(api, boards, store, follow_moves, workers, kinds)
    scope: dict[str, BoardInfo] = {b.id: b for b in boards}
    reading = _Reading(
        filter=",".join(action_filter(kinds)),
        card_fields=CARD_FIELDS if kinds - {"members"} else MEMBER_CARD_FIELDS,
    )
    warnings: list[str] = []
    unreadable: set[str] = set()
    # Two pools: a board's history task waits for its spans, which must not queue behind it.
    with (
        ThreadPoolExecutor(max_workers=workers, thread_name_prefix="fetch") as pool,
        ThreadPoolExecutor(max_workers=workers, thread_name_prefix="span") as spans,
    ):
        builder = HistoryBuilder()
        reads = {b.id: _read_board(pool, spans, api, b, builder, reading) for b in scope.values()}
        raw_actions = [a for r in reads.values() for a in r.actions()]
        if follow_moves:
            for other in sorted(_connected_boards(raw_actions) - set(scope)):
                try:
                    info = _get_board(api, other, other)
                except PermissionDenied:
                    info = None
                if info is None:
                    unreadable.add(other)
                    warnings.append(
                        f"cards moved between board {other} and the boards in scope, but this "
                        "account cannot read it: their history from before the move is missing"
                    )
                    continue
                scope[info.id] = info
                reads[info.id] = _read_board(pool, spans, api, info, builder, reading)
                raw_actions.extend(reads[info.id].actions())
        boards_state: dict[str, BoardState] = {}
        cards: dict[str, CardState] = {}
        members: dict[str, MemberRef] = {}
        for board_id, read in reads.items():
            state, board_members = read.state.result()
            boards_state[board_id] = state
            members.update(board_members)
            for card in read.cards.result():
                cards[card.id] = card
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
        warnings=warnings,
        named=frozenset(b.id for b in boards),
    )


def _fetch_stored(
    api: Api,
    boards: Sequence[BoardInfo],
    store: HistoryStore,
    follow_moves: bool,
    workers: int,
    kinds: frozenset[RestoreKind],
) -> Fetched:
    """``fetch`` through the history store: the same boards followed, the same state read, the
    same cards' own feeds read (once: then kept), and the history of the actions the kinds'
    filter selects; each board's history is read with the union of every kind's filter, from
    the newest action its store holds (``since=``), or whole when it has none."""
    scope: dict[str, BoardInfo] = {b.id: b for b in boards}
    union = union_filter()
    fields = CARD_FIELDS if kinds - {"members"} else MEMBER_CARD_FIELDS
    warnings: list[str] = []
    unreadable: set[str] = set()
    with (
        ThreadPoolExecutor(max_workers=workers, thread_name_prefix="fetch") as pool,
        ThreadPoolExecutor(max_workers=workers, thread_name_prefix="span") as spans,
    ):

        def read(board: BoardInfo) -> _StoredReads:
            return _StoredReads(
                history=pool.submit(_board_history, api, board.id, store, union, spans),
                state=pool.submit(board_state, api, board),
                cards=pool.submit(board_cards, api, board.id, fields=fields),
            )

        reads = {b.id: read(b) for b in scope.values()}
        if follow_moves:
            moved = {x for r in reads.values() for x in r.history.result().base.connected()}
            for other in sorted(moved - set(scope)):
                try:
                    info = _get_board(api, other, other)
                except PermissionDenied:
                    info = None
                if info is None:
                    unreadable.add(other)
                    warnings.append(
                        f"cards moved between board {other} and the boards in scope, but this "
                        "account cannot read it: their history from before the move is missing"
                    )
                    continue
                scope[info.id] = info
                reads[info.id] = read(info)
        boards_state: dict[str, BoardState] = {}
        cards: dict[str, CardState] = {}
        members: dict[str, MemberRef] = {}
        for board_id, r in reads.items():
            state, board_members = r.state.result()
            boards_state[board_id] = state
            members.update(board_members)
            for card in r.cards.result():
                cards[card.id] = card
        histories = {board_id: r.history.result() for board_id, r in reads.items()}
        born = {c for h in histories.values() for c in h.base.born}
        kept = {c: p for h in histories.values() for c, p in h.card_feeds.items()}
        unexplained = sorted(c for c in cards if c not in born)
        missing = [c for c in unexplained if c not in kept]
        card_feeds = {c: kept[c] for c in unexplained if c in kept}
        read_cards = pool.map(lambda c: _card_history(api, c, union), missing)
        card_feeds.update(zip(missing, read_cards, strict=True))
    for board_id, h in histories.items():
        mine = {c: p for c, p in card_feeds.items() if cards[c].board_id == board_id}
        h = h.with_card_feeds(mine)
        if h.dirty:
            store.save(h)
    classes = classes_for(kinds)
    parts = [h.parts[k] for h in histories.values() for k in classes]
    parts += [p[k] for p in card_feeds.values() for k in classes]
    history = to_history(merge_parts(parts))
    return Fetched(
        history=history,
        state=State(boards=boards_state, cards=cards),
        members=members,
        boards=list(scope.values()),
        incomplete=_cards_from(history, cards, unreadable),
        warnings=warnings,
        named=frozenset(b.id for b in boards),
    )


@dataclass
class _StoredReads:
    """A board's reads in flight, its history through the store."""

    history: Future[BoardHistory]
    state: Future[tuple[BoardState, dict[str, MemberRef]]]
    cards: Future[list[CardState]]


def _board_history(
    api: Api, board_id: str, store: HistoryStore, union: str, spans: ThreadPoolExecutor
) -> BoardHistory:
    """A board's stored history with the actions newer than its newest (all of it when the
    store has none): one request when nothing is new."""
    stored = store.load(board_id, union)
    if stored is None:
        feed = Feed()
        board_actions(api, board_id, pool=spans, sink=feed.add, action_types=union)
        return BoardHistory.built(board_id, union, feed)
    since = stored.since()
    feed = Feed(skip=stored.recent)
    if since is None:
        board_actions(api, board_id, pool=spans, sink=feed.add, action_types=union)
    else:
        head = _page(api, board_id, None, _stamp(since), feed.add, union)
        _span(api, board_id, head, _stamp(since), feed.add, union)
    return stored.extended(feed)


def _card_history(api: Api, card_id: str, union: str) -> dict[Class, Part]:
    """A card's own feed, per class (read once, then kept in its board's store)."""
    feed = Feed()
    card_actions(api, card_id, sink=feed.add, action_types=union)
    return dict(feed.parts())


@dataclass(frozen=True)
class _Reading:
    """What a fetch asks each board for: the action filter, the cards' fields."""

    filter: str
    card_fields: str


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
    builder: HistoryBuilder,
    reading: _Reading,
) -> _BoardReads:
    return _BoardReads(
        history=pool.submit(
            board_actions, api, board.id, pool=spans, sink=builder.add, action_types=reading.filter
        ),
        state=pool.submit(board_state, api, board),
        cards=pool.submit(board_cards, api, board.id, fields=reading.card_fields),
    )


def board_actions(
    api: Api,
    board_id: str,
    *,
    pool: ThreadPoolExecutor | None = None,
    slices: int = SLICES,
    sink: Sink | None = None,
    action_types: str = ",".join(ACTION_FILTER),
) -> list[Mapping[str, Any]]:
    """A board's whole member-relevant history (or what ``action_types`` asks for), newest first,
    de-duplicated by id.

    The newest page comes first; a board with more history than that is split by date into
    ``slices`` spans (from the board's creation, which its id encodes, to the newest page's
    oldest action), each paged on its own — concurrently when a ``pool`` is given. That costs at
    most ``slices`` requests more than one sequential chain, and takes a fraction of the time.
    """
    head = _page(api, board_id, None, None, sink, action_types)
    if len(head) < PAGE or not _OBJECT_ID.match(board_id):
        if len(head) < PAGE:
            return head
        return _dedupe(head + _span(api, board_id, head, None, sink, action_types))
    start = datetime.fromtimestamp(int(board_id[:8], 16), tz=UTC) - timedelta(seconds=1)
    end = _next_before(head)
    edges = _slice_edges(start, parse_date(end), slices)
    spans = [(edges[i], edges[i + 1]) for i in range(len(edges) - 1)]

    def run(span: tuple[datetime, datetime]) -> list[Mapping[str, Any]]:
        since, before = span
        first = _page(api, board_id, _stamp(before), _stamp(since), sink, action_types)
        return first + _span(api, board_id, first, _stamp(since), sink, action_types)

    parts = list(pool.map(run, spans)) if pool is not None else [run(x) for x in spans]
    return _dedupe(head + [a for part in reversed(parts) for a in part])


def _slice_edges(start: datetime, end: datetime, slices: int) -> list[datetime]:
    """``slices + 1`` edges from ``start`` to ``end``; inner edges on whole UTC days, so that
    they stay put from one run to the next (and older spans come from the HTTP cache)."""
    step = (end - start) / max(slices, 1)
    inner = {
        (start + step * i).replace(hour=0, minute=0, second=0, microsecond=0)
        for i in range(1, slices)
    }
    return [start, *sorted(x for x in inner if start < x < end), end]


def _page(
    api: Api,
    board_id: str,
    before: str | None,
    since: str | None,
    sink: Sink | None,
    action_types: str,
) -> list[Mapping[str, Any]]:
    query = {"filter": action_types, "limit": str(PAGE), **_ACTION_QUERY}
    if before:
        query["before"] = before
    if since:
        query["since"] = since
    page = api.get(f"boards/{board_id}/actions", query, max_age=HISTORY_MAX_AGE if before else None)
    checked = _expect_objects(
        page, f"board {board_id}'s actions", "a list of actions", "id", "date", "type"
    )
    _feed(sink, checked)
    return checked


def _feed(sink: Sink | None, page: list[Mapping[str, Any]]) -> None:
    """Parse a page as soon as it arrives (on the reader thread, while others wait)."""
    if sink is None:
        return
    try:
        sink(page)
    except HistoryError as exc:
        raise BadResponse(
            f"the API answered actions that are not Trello's ({exc}): check --api-url / "
            "TRELLO_API_URL"
        ) from None


def _span(
    api: Api,
    board_id: str,
    first: list[Mapping[str, Any]],
    since: str | None,
    sink: Sink | None,
    action_types: str,
) -> list[Mapping[str, Any]]:
    """The pages after ``first``, back to ``since``.

    Each next page asks for ``before=<oldest date seen + 1 ms>``: it repeats the oldest
    millisecond's actions (dropped by id) and can skip none, whether Trello compares action-id
    cursors exactly or by second (undocumented; a list move logs many actions per second)."""
    out: list[Mapping[str, Any]] = []
    seen = {a["id"] for a in first}
    page = first
    while len(page) >= PAGE:
        before = _next_before(page)
        page = _page(api, board_id, before, since, sink, action_types)
        fresh = [a for a in page if a["id"] not in seen]
        if not fresh and len(page) >= PAGE:
            # More than a page of actions share one millisecond: step over it by id.
            logger.warning("board %s: over %d actions in one millisecond", board_id, PAGE)
            page = _page(api, board_id, min(a["id"] for a in page), since, sink, action_types)
            fresh = [a for a in page if a["id"] not in seen]
        seen.update(a["id"] for a in fresh)
        out.extend(fresh)
    return out


def _next_before(page: Sequence[Mapping[str, Any]]) -> str:
    oldest = min(parse_date(a["date"]) for a in page)
    return _stamp(oldest + timedelta(milliseconds=1))


def _stamp(when: datetime) -> str:
    return when.astimezone(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def _dedupe(actions: list[Mapping[str, Any]]) -> list[Mapping[str, Any]]:
    seen: set[str] = set()
    out = []
    for a in actions:
        if a["id"] not in seen:
            seen.add(a["id"])
            out.append(a)
    return out


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
        page = _expect_objects(
            api.get(f"cards/{card_id}/actions", query, max_age=HISTORY_MAX_AGE if before else None),
            f"card {card_id}'s actions",
            "a list of actions",
            "id",
            "date",
            "type",
        )
        fresh = [a for a in page if a["id"] not in seen]
        _feed(sink, fresh)
        seen.update(a["id"] for a in fresh)
        out.extend(fresh)
        if len(page) < PAGE:
            return out
        step = _next_before(page)
        before = min(a["id"] for a in page) if not fresh or step == before else step


def board_state(api: Api, board: BoardInfo) -> tuple[BoardState, dict[str, MemberRef]]:
    """A board's memberships (with member names) and lists, read fresh."""
    memberships = _expect_objects(
        api.get(
            f"boards/{board.id}/memberships",
            {"filter": "all", "member": "true", "member_fields": _MEMBER_FIELDS},
        ),
        f"board {board.name}'s memberships",
        "a list of memberships",
    )
    lists = _expect_objects(
        api.get(f"boards/{board.id}/lists", {"filter": "all", "fields": "name,closed"}),
        f"board {board.name}'s lists",
        "a list of lists",
    )
    try:
        state = parse_board({"id": board.id, "name": board.name}, memberships, lists)
    except HistoryError as exc:
        raise InputFileError(f"Trello answered board {board.name}'s state oddly: {exc}") from None
    named = members_from_listing(
        m["member"] for m in memberships if isinstance(m.get("member"), dict)
    )
    return state, named


def board_cards(api: Api, board_id: str, *, fields: str = CARD_FIELDS) -> list[CardState]:
    """Every card on the board now (archived, and in archived lists, included), read fresh.

    Paged by date, like the actions: Trello reads ``before=<card id>`` as the id's second, so
    paging by the oldest id skips the other cards made in that second (trello-archive/api-docs
    #68, bulk-made cards). Each next page asks for ``before=<oldest card's second + 1 s>`` and
    drops the cards it repeats; a page that is all one second steps over it by id."""
    out: dict[str, CardState] = {}
    before: str | None = None
    while True:
        query = {"fields": fields, "limit": str(PAGE)}
        if before:
            query["before"] = before
        page = _expect_objects(
            api.get(f"boards/{board_id}/cards/all", query),
            f"board {board_id}'s cards",
            "a list of cards",
        )
        try:
            cards = [parse_card(c) for c in page]
        except HistoryError:
            raise _bad_answer(f"board {board_id}'s cards", "a list of Trello cards") from None
        fresh = [c for c in cards if c.id not in out]
        out.update((c.id, c) for c in fresh)
        if len(page) < PAGE:
            return list(out.values())
        oldest = min(c.id for c in cards)
        after = _id_second(oldest)
        step = _stamp(after + timedelta(seconds=1)) if after is not None else oldest
        if not fresh or step == before:
            logger.warning("board %s: over %d cards made in one second", board_id, PAGE)
            step = oldest
        before = step


def _id_second(object_id: str) -> datetime | None:
    """The second a Trello id was made in (its first 8 hex digits), or None for another id."""
    try:
        return datetime.fromtimestamp(int(object_id[:8], 16), tz=UTC)
    except (ValueError, OverflowError, OSError):
        return None


def _connected_boards(raw_actions: Iterable[Mapping[str, Any]]) -> set[str]:
    """Boards that cards or lists moved to or from (a scan of the move actions only: parsing
    the whole history twice costs seconds on a large board)."""
    out: set[str] = set()
    for a in raw_actions:
        if a.get("type") in MOVE_TYPES:
            data = a.get("data") or {}
            for key in ("board", "boardSource", "boardTarget"):
                ref = data.get(key)
                if isinstance(ref, Mapping) and isinstance(ref.get("id"), str):
                    out.add(ref["id"])
    return out


def _unexplained_cards(
    raw_actions: Iterable[Mapping[str, Any]], cards: Mapping[str, CardState]
) -> set[str]:
    """Cards now in scope whose creation or arrival no fetched action shows: their history has
    to come from the card's own feed."""
    born = born_in_feed(raw_actions)
    return {cid for cid in cards if cid not in born}


def _cards_from(
    history: History, cards: Mapping[str, CardState], unreadable: set[str]
) -> frozenset[str]:
    """Cards that arrived from a board this account cannot read."""
    lists_from = {m.list_id for m in history.moves if m.source_board_id in unreadable and m.list_id}
    cards_from = {m.card_id for m in history.moves if m.source_board_id in unreadable and m.card_id}
    return frozenset(
        cid for cid, c in cards.items() if c.list_id in lists_from or cid in cards_from
    )
