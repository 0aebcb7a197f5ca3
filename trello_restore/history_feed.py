"""A board feed's pages as they arrive, parsed (``Feed``, the fetcher's sink for the kept
history, ``history_store``): its actions' pieces per class of action (``history_parts``), the
rows each page added already written as the store writes them, the cards the feed shows being
born, every action's (date, id) for the store's newest and overlap, and the boards its moves
connect as they show (``Found``). Thread-safe: a feed's pages are read by several threads at
once. Nothing here reads or writes a file or talks to Trello.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterable, Mapping
from datetime import datetime, timedelta
from typing import Any

from trello_restore.fetched import born_in_feed
from trello_restore.history import HistoryBuilder, parse_date
from trello_restore.history_parts import (
    CLASSES,
    ROW_LISTS,
    Class,
    Part,
    action_class,
    connected,
    encode_rows,
)

__all__ = ["Feed", "Found"]

#: Told the boards that a page's moves connect (``Feed``'s ``found``).
Found = Callable[[Iterable[str]], None]


class Feed:
    """A feed's pages as they arrive (the fetcher's sink): parsed per class, the cards it
    shows being born, and every action's (date, id) for the store's newest and overlap.
    Actions whose id is in ``skip`` (the store's overlap) are dropped. Thread-safe.

    Each page's parsed rows are also written as the store writes them (``Part.pages``), on
    the reader thread while the network waits: the store of a board read whole is then
    joined and compressed as its fetch ends, not encoded
    (``history_store.BoardHistory.chunks``).

    ``found`` is told, page by page, the boards its new moves connect (``Part.connected`` of
    the moves parsed so far: the fetch follows them as they show, ``boards.Follower``)."""

    def __init__(self, skip: Iterable[str] = (), found: Found | None = None) -> None:
        self.skip = frozenset(skip)
        self.builders = {k: HistoryBuilder() for k in CLASSES}
        self._lock = threading.Lock()
        #: Per class: its builder's ``ROW_LISTS`` written page by page, in the lists' order
        #: (each page's rows appended under its class's lock, as they were parsed).
        self._written: dict[Class, dict[str, list[bytes]]] = {
            k: {name: [] for name in ROW_LISTS} for k in CLASSES
        }
        self._class_locks = {k: threading.Lock() for k in CLASSES}
        self.born: set[str] = set()
        #: Each page's actions' (date, id), with the page's newest: ``BoardHistory.extended``
        #: looks for the last minute's actions only in the pages that reach it (not in all
        #: 272,000 of a long board's, as its fetch ends).
        self.pages: list[tuple[tuple[datetime, str], list[tuple[datetime, str]]]] = []
        self.found = found
        #: How many of the base builder's moves ``found`` was told of.
        self._moves_told = 0
        #: The ids of ``skip`` that the feed gave again (``lost`` says which it did not).
        self.seen: set[str] = set()

    def add(self, page: Iterable[Mapping[str, Any]]) -> None:
        routed: dict[Class, list[Mapping[str, Any]]] = {k: [] for k in CLASSES}
        seen: list[str] = []
        for raw in page:
            if raw["id"] not in self.skip:
                routed[action_class(raw)].append(raw)
            else:
                seen.append(raw["id"])
        for k, actions in routed.items():
            if actions:
                self._parse(k, actions)
        if self.found is not None and routed["base"]:
            self._tell()
        stamps = [(parse_date(a["date"]), a["id"]) for a in routed["base"]]
        stamps += [(parse_date(a["date"]), a["id"]) for k in CLASSES[1:] for a in routed[k]]
        born = born_in_feed(routed["base"])
        with self._lock:
            if stamps:
                self.pages.append((max(stamps), stamps))
            self.born |= born
            self.seen.update(seen)

    def lost(self, recent: Mapping[str, datetime], since: datetime | None) -> list[str]:
        """The ids of a store's last minute (``recent``, its ``skip``) that this feed, read
        from ``since`` (the store's ``since()``) with the store's filter, did not give again:
        Trello's feeds only grow at the head, so any is a sign that the feed is not the one the
        store was built from. Only the actions a second or more after ``since`` are sure to
        come back (Trello's ``since`` is exclusive and compares by second)."""
        if since is None:
            return []
        sure = since + timedelta(seconds=1)
        with self._lock:
            return sorted(i for i, d in recent.items() if d >= sure and i not in self.seen)

    @property
    def newest(self) -> tuple[datetime, str] | None:
        """The newest (date, id) it holds; None when it holds nothing."""
        return max((top for top, _ in self.pages), default=None)

    def since(self, edge: datetime) -> list[tuple[datetime, str]]:
        """The (date, id) of its actions at or after ``edge``."""
        return [x for top, stamps in self.pages if top[0] >= edge for x in stamps if x[0] >= edge]

    def _parse(self, k: Class, actions: list[Mapping[str, Any]]) -> None:
        """One page's actions of class ``k`` parsed, and the rows they added written."""
        b = self.builders[k]
        lists = [getattr(b, name) for name in ROW_LISTS]  # the builder only appends to these
        with self._class_locks[k]:  # the rows' JSON in the order of the rows
            before = [len(rows) for rows in lists]
            try:
                b.add(actions)  # HistoryError for what is not an action
            finally:  # what it parsed of the page, written (a page is parsed whole or fails)
                pages = self._written[k]
                for name, rows, n in zip(ROW_LISTS, lists, before, strict=True):
                    if len(rows) > n:
                        pages[name].append(encode_rows(name, rows[n:]))

    def parts(self) -> dict[Class, Part]:
        """Its parts, once its last page is in (a part shares its builder's ids)."""
        out: dict[Class, Part] = {}
        for k, b in self.builders.items():
            with self._class_locks[k]:
                out[k] = Part.of(b, self.born if k == "base" else (), self._written[k])
        return out

    def _tell(self) -> None:
        """``found`` the boards of the moves parsed since it was last told (the base builder
        only appends: each page's new moves are the end of its list)."""
        assert self.found is not None
        moves = self.builders["base"].moves
        with self._lock:  # each caller's own moves are before the end it reads
            told = self._moves_told
            self._moves_told = end = max(told, len(moves))
        boards = connected(moves[told:end])
        if boards:
            self.found(boards)
