"""``fetcher.fetch`` through the kept history (``history_store``): what a fetch with a store does.

The same boards are followed, the same current state is read and the same cards' own feeds are
read as by a plain fetch (``fetcher.py``, whose requests this module uses); only each board's
history comes from its store, extended by the actions newer than the newest it holds, and the
cards' own feeds are read once and then kept with their board. See docs/DEVELOPING.md, "The
kept history".

Each board's read goes by its store's head (``Head``: the newest action, the last minute's ids,
the boards its moves connect), not its body: when Trello has nothing newer for any board, no
body is read during the fetch, and ``Fetched.history`` reads them when it is first used (the
plan memo, ``plan_memo``, may not need it at all: ``Fetched.kept`` says what was used). The
action pages are not kept in the HTTP cache: the stores hold what they say.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Collection, Iterable, Mapping, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from typing import Any, TypeVar

from trello_restore.boards import Api, Follower, interruptible
from trello_restore.fetched import BoardInfo, Fetched, Kept, board_warn, later
from trello_restore.fetcher import (
    CARD_FIELDS,
    MEMBER_CARD_FIELDS,
    _cards_from,
    board_actions,
    board_cards,
    board_state,
    card_actions,
    cards_crowded,
    current_state,
)
from trello_restore.history_feed import Feed, Found
from trello_restore.history_store import (
    BoardHistory,
    Class,
    Head,
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
)

__all__ = ["fetch_stored"]

_T = TypeVar("_T")
logger = logging.getLogger(__name__)


def fetch_stored(
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
    the newest action its store holds (``since=``), or whole when it has none.

    The history (and the cards it leaves incomplete) is made when ``Fetched.history`` is first
    read, with ``api`` still open: the stores' bodies that the fetch did not need are read
    then, the cards' feeds that no store holds are read, and the stores written."""
    scope: dict[str, BoardInfo] = {b.id: b for b in boards}
    union = union_filter()
    fields = CARD_FIELDS if kinds - {"members"} else MEMBER_CARD_FIELDS
    warnings: list[str] = []
    unreadable: dict[str, str] = {}  # id to its name, as the moves give it
    gone: set[str] = set()  # of those, the boards Trello no longer has
    feeds = _Unkept(api)
    writes = _Writes()
    with (
        ThreadPoolExecutor(max_workers=workers, thread_name_prefix="fetch") as pool,
        ThreadPoolExecutor(max_workers=workers, thread_name_prefix="span") as spans,
        interruptible(api),
    ):
        reads: dict[str, _StoredReads] = {}

        def start(
            board: BoardInfo, answer: Mapping[str, Any] | None = None, found: Found | None = None
        ) -> None:
            store.notices.names[board.id] = board.name  # its notices name it
            warn = board_warn(board, warnings.append)  # the plan's warnings name it
            reads[board.id] = _StoredReads(
                history=pool.submit(
                    _board_history,
                    feeds,
                    board.id,
                    store,
                    writes,
                    _Reading(union, spans, warn),
                    found,
                ),
                state=pool.submit(board_state, api, board, answer),
                cards=pool.submit(_board_cards, api, board.id, store, fields, spans, warn),
            )

        if follow_moves:  # the boards the moves connect: read as the pages show them
            follower = Follower(api, scope, warnings, unreadable, gone, start)
            for board in list(scope.values()):
                start(board, found=follower.found)
            named = [reads[b].history for b in follower.roots]
            follower.follow(named, lambda: _names(h.result() for h in named))
            reads = {board_id: reads[board_id] for board_id in scope}  # the follower's order
        else:
            for board in scope.values():
                start(board)
        boards_state, cards, members = current_state(reads)
        read_boards = {board_id: r.history.result() for board_id, r in reads.items()}
    nothing_new = all(b.history is None for b in read_boards.values())
    kept = Kept(
        unchanged={k: b.generation() for k, b in read_boards.items()} if nothing_new else None,
        writes=writes.futures,
    )
    loader = _Loader(
        feeds, store, writes, union, kinds, read_boards, cards, unreadable, kept, workers
    )
    return Fetched(
        history=later(lambda: loader.result()[0]),
        state=State(boards=boards_state, cards=cards),
        members=members,
        boards=list(scope.values()),
        incomplete=later(lambda: loader.result()[1]),
        warnings=list(dict.fromkeys(warnings)),  # a board read twice warns once
        named=frozenset(b.id for b in boards),
        kept=kept,
        unreadable=frozenset(unreadable),
        unreadable_names={b: name for b, name in unreadable.items() if name},
        gone=frozenset(gone),
    )


class _Unkept:
    """The api for the action feeds: their pages go to the stores, not to the HTTP cache
    (``keep=False``, whatever the caller asks)."""

    def __init__(self, api: Api) -> None:
        self.api = api
        #: The api's limiter (``fetcher.rate_bound``), if it has one.
        self.limiter = getattr(api, "limiter", None)

    def get(
        self,
        path: str,
        params: Mapping[str, str] | None = None,
        *,
        max_age: float | None = None,
        keep: bool = True,
    ) -> Any:
        return self.api.get(path, params, max_age=max_age, keep=False)

    @property
    def clock_skew(self) -> timedelta | None:
        """The api's ``clock_skew`` (a stand-in's clock is this one's)."""
        skew: timedelta | None = getattr(self.api, "clock_skew", timedelta(0))
        return skew


@dataclass
class _StoredReads:
    """A board's reads in flight, its history through the store."""

    history: Future[_Board]
    state: Future[tuple[BoardState, dict[str, MemberRef]]]
    cards: Future[list[CardState]]


class _Writes:
    """The stores' writes, one at a time on a thread of their own, in the order asked: a
    board's store written as its fetch ends, then what the history's load writes
    (``_Loader``). gzip, which is most of a write, lets the planning go on meanwhile."""

    def __init__(self) -> None:
        self.pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix="store")
        #: Every write asked for (``Kept.writes``: a run waits for them all).
        self.futures: list[Future[Any]] = []
        self._lock = threading.Lock()

    def submit(self, fn: Callable[..., _T], *args: Any) -> Future[_T]:
        with self._lock:
            future = self.pool.submit(fn, *args)
            self.futures.append(future)
            return future

    def last(self, fn: Callable[..., _T], *args: Any) -> Future[_T]:
        """The last write: its thread ends once it is done."""
        future = self.submit(fn, *args)
        self.pool.shutdown(wait=False)
        return future


@dataclass
class _Board:
    """A board's history as the fetch left it: read by its store's ``head`` (None: there was
    no usable head), and the store with what was new (None: nothing was, and the body the
    head names is not read yet), being written (``saving``: whether it was) or not."""

    board_id: str
    head: Head | None
    history: BoardHistory | None
    saving: Future[bool] | None = None

    def settled(self) -> _Board:
        """The board once its store's write is done: clean, with the head just written (so
        nothing writes either again), or as it was when it could not be written (dirty: tried
        again with the cards' feeds)."""
        if self.saving is None or not self.saving.result():
            return replace(self, saving=None)
        assert self.history is not None
        return _Board(self.board_id, self.history.head(), replace(self.history, dirty=False))

    def connected(self) -> frozenset[str]:
        """The boards its cards or lists moved to or from."""
        if self.history is not None:
            return frozenset(self.history.base.connected())
        assert self.head is not None
        return self.head.connected

    def board_names(self) -> Mapping[str, str]:
        """The names its moves give the boards they connect (none from an older head)."""
        if self.history is not None:
            return self.history.base.board_names()
        assert self.head is not None
        return self.head.names

    def generation(self) -> str:
        return self.history.generation if self.history is not None else _head(self).generation


def _names(boards: Iterable[_Board]) -> dict[str, str]:
    """The boards these boards' moves connect, each with the name a move gives it ("" when
    none does), for ``Follower.follow``."""
    out: dict[str, str] = {}
    for board in boards:
        names = board.board_names()
        for other in sorted(board.connected()):
            out[other] = out.get(other) or names.get(other, "")
    return out


def _head(board: _Board) -> Head:
    assert board.head is not None  # a board without a history was read by its head
    return board.head


def _board_cards(
    api: Api,
    board_id: str,
    store: HistoryStore,
    fields: str,
    spans: ThreadPoolExecutor,
    warn: Callable[[str], None],
) -> list[CardState]:
    """The board's cards now, the listing cut into ranges at the last run's cuts (each
    ``CUT``-th card: the ranges read at once from the start instead of found page by page);
    this listing's cuts kept for the next run. ``warn`` is told of cards it may miss."""
    cuts = store.load_cuts(board_id)
    crowded = cards_crowded(warn)
    cards = board_cards(api, board_id, fields=fields, pool=spans, cuts=cuts, crowded=crowded)
    store.save_cuts(board_id, (c.id for c in cards))
    return cards


@dataclass(frozen=True)
class _Reading:
    """How a board's feed is read: the action filter (the union of every kind's), the
    threads its date ranges are read on, and what is told of actions it cannot read whole."""

    union: str
    spans: ThreadPoolExecutor | None
    warn: Callable[[str], None]


def _board_history(
    api: Api,
    board_id: str,
    store: HistoryStore,
    writes: _Writes,
    reading: _Reading,
    found: Found | None = None,
) -> _Board:
    """A board's history read by its store's head: one request when nothing is new, and then
    the body is left unread; else the body with the actions newer than its newest (all of
    them when there is no store, or the store cannot be used), written at once: while the
    rest of the fetch (other listings, the next rate window) is still under way, not after
    it."""
    union = reading.union
    # Trello's clock against this one's, once an answer came over the network (None before:
    # the boards' reads may all be the HTTP cache's); a stand-in API's is this one's.
    store.skew = getattr(api, "clock_skew", timedelta(0))
    head = store.load_head(board_id, union)
    if head is None:
        body = _by_body(api, board_id, reading, store, store.load(board_id, union), found)
        return _kept(writes, store, None, body)
    feed = Feed(skip=head.recent, found=found)
    _read_since(api, board_id, head.since(), feed, reading)
    if _disowned(store, board_id, feed, head.recent, head.since()):  # as if it had no store
        return _kept(writes, store, None, _by_body(api, board_id, reading, store, None, found))
    if feed.newest is None:
        return _Board(board_id, head, None)
    stored = store.load(board_id, union)
    if stored is None or stored.generation != head.generation:
        # Not the body the head was written with (another run's, or none): go by the body.
        body = _by_body(api, board_id, reading, store, stored, found)
        return _kept(writes, store, head, body)
    return _kept(writes, store, head, stored.extended(feed))


def _kept(writes: _Writes, store: HistoryStore, head: Head | None, history: BoardHistory) -> _Board:
    """The board read by ``head`` (None: none was usable) to ``history``, which is being
    written to its store if it differs from what is there (``_Board.settled``)."""
    saving = writes.submit(store.save, history) if history.dirty else None
    return _Board(history.board_id, head, history, saving)


def _by_body(
    api: Api,
    board_id: str,
    reading: _Reading,
    store: HistoryStore,
    stored: BoardHistory | None,
    found: Found | None = None,
) -> BoardHistory:
    """The stored body with the actions newer than its newest (all of them without one, or
    when the feed is not the one it was built from: ``_disowned``); ``found`` is told the
    boards the new actions' moves connect as their pages come (every action a feed parses ends
    in the body: what it was told, the body's ``connected`` holds)."""
    if stored is not None:
        feed = Feed(skip=stored.recent, found=found)
        _read_since(api, board_id, stored.since(), feed, reading)
        if not _disowned(store, board_id, feed, stored.recent, stored.since()):
            return stored.extended(feed)
    feed = Feed(found=found)
    _read_since(api, board_id, None, feed, reading)
    return BoardHistory.built(board_id, reading.union, feed)


def _disowned(
    store: HistoryStore,
    board_id: str,
    feed: Feed,
    recent: Mapping[str, datetime],
    since: datetime | None,
) -> bool:
    """Whether the overlap read into ``feed`` (from ``since``, the store's, with the store's
    filter: ``load_head`` and ``load`` refuse another) left out any of the store's last
    minute's actions (``recent``): the board's feed is then not the one the store was built
    from (another Trello behind the same ids, a restarted sandbox; actions removed), and the
    store is read whole again, as one that is damaged, with one notice. No request: the
    overlap is read anyway."""
    lost = feed.lost(recent, since)
    if lost:
        store.notices.disowned(board_id, len(lost))
    return bool(lost)


def _read_since(
    api: Api,
    board_id: str,
    since: datetime | None,
    feed: Feed,
    reading: _Reading,
) -> None:
    """The board's actions after ``since`` (all of them for None) into ``feed``."""
    board_actions(
        api,
        board_id,
        pool=reading.spans,
        sink=feed.add,
        action_types=reading.union,
        since=since,
        collect=False,
        warn=reading.warn,
    )


class _Loader:
    """The rest of a fetch through the store, when its history is first wanted: the bodies
    not read yet, the cards' own feeds that no store holds, the stores written; then the
    history of the kinds' classes and the cards it leaves incomplete. Once."""

    def __init__(
        self,
        api: Api,
        store: HistoryStore,
        writes: _Writes,
        union: str,
        kinds: frozenset[RestoreKind],
        boards: dict[str, _Board],
        cards: dict[str, CardState],
        unreadable: Collection[str],
        kept: Kept,
        workers: int,
    ) -> None:
        self.api, self.store, self.writes, self.union = api, store, writes, union
        self.kinds = kinds
        self.boards, self.cards, self.unreadable, self.kept = boards, cards, unreadable, kept
        self.workers = workers
        self._lock = threading.Lock()
        self._done: tuple[History, frozenset[str]] | None = None

    def result(self) -> tuple[History, frozenset[str]]:
        with self._lock:
            if self._done is None:
                self._done = self._load()
            return self._done

    def _load(self) -> tuple[History, frozenset[str]]:
        histories = {k: self._body(b) for k, b in self.boards.items()}
        born = {c for h in histories.values() for c in h.base.born}
        kept = {c: p for h in histories.values() for c, p in h.card_feeds.items()}
        unexplained = sorted(c for c in self.cards if c not in born)
        missing = [c for c in unexplained if c not in kept]
        card_feeds = {c: kept[c] for c in unexplained if c in kept}
        if missing:
            with (
                ThreadPoolExecutor(self.workers, thread_name_prefix="fetch") as pool,
                interruptible(self.api),
            ):
                read = pool.map(lambda c: _card_history(self.api, c, self.union), missing)
                card_feeds.update(zip(missing, read, strict=True))
        final: dict[str, BoardHistory] = {}
        for board_id, h in histories.items():
            mine = {c: p for c, p in card_feeds.items() if self.cards[c].board_id == board_id}
            final[board_id] = h.with_card_feeds(mine)
        self.kept.stored = self.writes.last(self._write, final)  # while the history is made
        classes = classes_for(self.kinds)
        parts = [h.parts[k] for h in histories.values() for k in classes]
        parts += [p[k] for p in card_feeds.values() for k in classes]
        history = to_history(merge_parts(parts))
        return history, _cards_from(history, self.cards, self.unreadable)

    def _write(self, histories: dict[str, BoardHistory]) -> dict[str, str] | None:
        """(On the writes' thread, after the fetch's own writes.) Each board's store as the
        history is made from it, written where it is not on disk yet; board id -> the
        generation of its store, or None when one could not be written."""
        saved: dict[str, str] = {}
        failed = False
        for board_id, h in histories.items():
            board = self.boards[board_id].settled()
            if board.history is not None and board.history.generation == h.generation:
                h = board.history  # the same content, as the fetch's write left it
            if h.dirty:
                failed |= not self.store.save(h)
            elif board.head is None or board.head.generation != h.generation:
                self.store.save_head(h)  # the body on disk is ``h``: its head was not
            saved[board_id] = h.generation
        return None if failed else saved

    def _body(self, board: _Board) -> BoardHistory:
        """The board's store as the fetch found it: the body its head names, read now (by the
        body, with the actions newer than its newest, when it is not that one any more)."""
        if board.history is not None:
            return board.history
        head = _head(board)
        stored = self.store.load(board.board_id, self.union)
        if stored is not None and stored.generation == head.generation:
            return stored
        # Rare (another run replaced the store meanwhile): what it cannot read whole goes to
        # stderr, as the plan's warnings may be made already.
        info = BoardInfo(board.board_id, self.store.notices.names.get(board.board_id, ""))
        reading = _Reading(self.union, None, board_warn(info, logger.warning))
        return _by_body(self.api, board.board_id, reading, self.store, stored)


def _card_history(api: Api, card_id: str, union: str) -> dict[Class, Part]:
    """A card's own feed, per class (read once, then kept in its board's store)."""
    feed = Feed()
    card_actions(api, card_id, sink=feed.add, action_types=union)
    return dict(feed.parts())
