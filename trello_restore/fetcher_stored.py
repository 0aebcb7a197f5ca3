"""``fetcher.fetch`` through the kept history (``history_store``): what a fetch with a store does.

The same boards are followed, the same current state is read and the same cards' own feeds are
read as by a plain fetch (``fetcher.py``, whose requests this module uses); only each board's
history comes from its store, extended by the actions newer than the newest it holds, and the
cards' own feeds are read once and then kept with their board. See docs/DEVELOPING.md, "The
kept history".
"""

from __future__ import annotations

from collections.abc import Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass

from trello_restore.boards import Api, followed_boards
from trello_restore.fetched import BoardInfo, Fetched
from trello_restore.fetcher import (
    CARD_FIELDS,
    MEMBER_CARD_FIELDS,
    _cards_from,
    _page,
    _span,
    _stamp,
    board_actions,
    board_cards,
    board_state,
    card_actions,
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
from trello_restore.models import BoardState, CardState, MemberRef, RestoreKind, State

__all__ = ["fetch_stored"]


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
            for info in followed_boards(api, moved, scope, warnings, unreadable):
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
