"""The parsed history of each board, kept between runs, so a re-plan asks Trello only for the
actions newer than the newest one it holds (issue 12 item 2).

Layout: ``<cache_dir>/boards/<board_id>/history.v2.json.gz`` (gzip'd JSON, mode 0600, replaced
atomically: a reader never sees half a file, and two runs that write it at once leave one
whole store). A per-board snapshot (design.md §11) can sit beside it in the same directory.

What is kept is what the planner reads, already parsed: the ``History`` pieces of every action
the feed returned for the union of every restore kind's filter (``history.action_filter`` of
all kinds), so changing ``--restore`` never forces a cold fetch. The pieces are kept per *class*
of action (``CLASSES``): ``base`` is what the member filter asks for (the member actions, the
moves, card creations and deletions, ``updateCard`` with an old ``idList`` or ``closed``),
``lists`` the ``updateList`` archive changes, ``cards`` every other ``updateCard``. A run uses
the classes its kinds ask for (``classes_for``), so it plans from exactly the actions a cold
fetch with its own filter would have read.

A store also holds the newest action's date and id and the ids of the actions of its last
``OVERLAP``: the next run asks for ``since=<newest date - OVERLAP>`` (Trello's ``since`` is
exclusive and compares by second) and drops the actions it already has by id. The histories of
cards whose own feed had to be read (``fetcher.card_actions``: cards no board feed shows being
created or arriving) are kept in the store of the board the card is on, and read once.

Self-healing: a store that cannot be read, is not gzip'd JSON, has another format version or
was built with another action filter is rebuilt from the API, with a one-line notice (a
warning); so is one whose last ``OVERLAP`` the next read does not give again (``Feed.lost``:
the feed is not the one it was built from). Nothing here talks to Trello: the fetcher does,
through ``history_feed.Feed`` and ``BoardHistory``.
"""

from __future__ import annotations

import contextlib
import errno
import gc
import gzip
import hashlib
import json
import os
import re
import secrets
import zlib
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import orjson

from trello_restore.fsutil import (
    gzipped,
    private_dirs,
    read_regular,
    sweep_stale_temps,
    write_atomic,
)
from trello_restore.history_feed import Feed
from trello_restore.history_parts import (
    CLASSES,
    Class,
    Part,
    action_class,
    as_text,
    aware_date,
    classes_for,
    merge_parts,
    to_history,
    union_filter,
)
from trello_restore.parsing import load_json
from trello_restore.store_notices import Notices

__all__ = [
    "CLASSES",
    "FORMAT",
    "OVERLAP",
    "VERSION",
    "BoardHistory",
    "Class",
    "Head",
    "HistoryStore",
    "Part",
    "action_class",
    "classes_for",
    "merge_parts",
    "no_gc",
    "to_history",
    "union_filter",
]

FORMAT = "trello-restore history"
HEAD_FORMAT = "trello-restore history head"
CUTS_FORMAT = "trello-restore card cuts"
#: Cards per range of the card listing cut by the last run's cards: a page's worth less room for
#: cards made since (a range that grew past a page is paged on, as any range).
CUT = 900
#: A listing of fewer cards than a page is not cut: one request reads it (R45b: a board of
#: 959 cards was read in two, 901 and 58).
UNCUT = 1000
_HEX = frozenset("0123456789abcdefABCDEF")
#: The store's format version, in its file names: 3, since a card's moves between boards are
#: changes of its list (R47d; a version 2 store holds none), and 2 since stores built by the
#: paging that could skip actions of a second holding more than a page
#: (``paging.next_before``) are not kept. A store of another version is removed, with a
#: notice (``EARLIER``), and built anew.
VERSION = 3
#: Why a store of an earlier version is not kept, by version.
EARLIER = {
    1: "it was kept by an earlier version of trello-restore, whose reading could skip actions "
    "of a second holding more than a page of them",
    2: "it was kept by an earlier version of trello-restore, which did not keep a card's moves "
    "between boards as changes of its list",
}
#: The files of a store and of the card listing's cuts, of any version.
_VERSIONED = re.compile(r"(?:history\.v(\d+)(?:\.json\.gz|\.head\.json)|cards\.v(\d+)\.json)")
#: How far before the newest stored action the next run starts asking (``since=``): Trello's
#: ``since`` is exclusive and by second, and an action may show in the feed a moment after a
#: newer one; what is asked twice is dropped by id.
OVERLAP = timedelta(seconds=60)
# The pieces, per class of action (pure): ``history_parts``; a feed's pages as they arrive,
# parsed (the fetcher's sink): ``history_feed``.


@dataclass
class BoardHistory:
    """One board's store: its feed's parts, the newest action, the last ``OVERLAP``'s ids,
    and the parts of the own feeds of cards on it that no board feed explains."""

    board_id: str
    filter: str
    newest: tuple[datetime, str] | None
    #: Action id -> date, for the actions at or after ``newest - OVERLAP``.
    recent: dict[str, datetime]
    parts: dict[Class, Part]
    card_feeds: dict[str, dict[Class, Part]] = field(default_factory=dict)
    #: Whether it differs from what is on disk (a run that learnt nothing writes nothing).
    dirty: bool = False
    #: This content's identity: a new random id each time the content changes, written in the
    #: store and its ``Head`` (the plan memo keys on it; a head and a body with different ones
    #: were written by different runs).
    generation: str = ""

    @classmethod
    def built(cls, board_id: str, filter: str, feed: Feed) -> BoardHistory:
        """A store made from a whole feed (to be written even when the feed is empty)."""
        parts = {k: Part() for k in CLASSES}
        empty = cls(board_id, filter, None, {}, parts, dirty=True, generation=new_generation())
        return empty.extended(feed)

    @property
    def base(self) -> Part:
        """The member filter's part (creations, arrivals, moves: what places cards)."""
        return self.parts["base"]

    def since(self) -> datetime | None:
        """Where the next read starts (None: from the beginning)."""
        return None if self.newest is None else self.newest[0] - OVERLAP

    def extended(self, feed: Feed) -> BoardHistory:
        """This history with the newer actions of ``feed`` (``self`` when there are none)."""
        fed = feed.newest
        if fed is None:
            return self
        new = feed.parts()
        newest = fed if self.newest is None else max(self.newest, fed)
        edge = newest[0] - OVERLAP
        recent = {i: d for i, d in self.recent.items() if d >= edge}
        recent.update((i, d) for d, i in feed.since(edge))
        return replace(
            self,
            newest=newest,
            recent=recent,
            # newest names first
            parts={k: merge_parts([new[k], self.parts[k]]) for k in CLASSES},
            dirty=True,
            generation=new_generation(),
        )

    def with_card_feeds(self, feeds: Mapping[str, dict[Class, Part]]) -> BoardHistory:
        """This history keeping exactly these cards' feeds."""
        if feeds.keys() == self.card_feeds.keys():
            return self
        return replace(self, card_feeds=dict(feeds), dirty=True, generation=new_generation())

    def head(self) -> Head:
        """What the next run needs to ask Trello for what is new, without this body."""
        return Head(
            self.board_id,
            self.filter,
            self.generation,
            self.newest,
            dict(self.recent),
            frozenset(self.base.connected()),
            self.base.board_names(),
        )

    def to_json(self) -> dict[str, Any]:
        return {
            **self._head_json(),
            "parts": {k: p.to_json() for k, p in self.parts.items()},
            "card_feeds": {
                c: {k: p.to_json() for k, p in parts.items()}
                for c, parts in self.card_feeds.items()
            },
        }

    def chunks(self) -> Iterator[bytes]:
        """``orjson.dumps(self.to_json())`` in pieces, the parts' rows that their feeds wrote
        page by page (``Part.pages``) as they are: what ``HistoryStore.save`` compresses."""
        yield orjson.dumps(self._head_json())[:-1]  # its fields, then the parts'
        yield b',"parts":'
        yield from _parts_chunks(self.parts)
        yield b',"card_feeds":{'
        for i, (card, parts) in enumerate(self.card_feeds.items()):
            yield (b"," if i else b"") + orjson.dumps(card) + b":"
            yield from _parts_chunks(parts)
        yield b"}}"

    def _head_json(self) -> dict[str, Any]:
        """``to_json``'s fields before the parts."""
        return {
            "format": FORMAT,
            "version": VERSION,
            "board": self.board_id,
            "filter": self.filter,
            "generation": self.generation,
            "newest": None if self.newest is None else [self.newest[0].isoformat(), self.newest[1]],
            "recent": {i: d.isoformat() for i, d in self.recent.items()},
        }

    @classmethod
    def from_json(cls, d: Mapping[str, Any]) -> BoardHistory:
        newest = d["newest"]
        return cls(
            board_id=as_text(d["board"]),
            filter=as_text(d["filter"]),
            newest=None if newest is None else (aware_date(newest[0]), as_text(newest[1])),
            recent={as_text(i): aware_date(t) for i, t in d["recent"].items()},
            parts={k: Part.from_json(d["parts"][k]) for k in CLASSES},
            card_feeds={
                as_text(c): {k: Part.from_json(parts[k]) for k in CLASSES}
                for c, parts in d["card_feeds"].items()
            },
            # A store written before generations: one is given, and the store written again.
            dirty=not d.get("generation"),
            generation=as_text(d.get("generation") or new_generation()),
        )


def _parts_chunks(parts: Mapping[Class, Part]) -> Iterator[bytes]:
    """``orjson.dumps({k: p.to_json() for k, p in parts.items()})``, in pieces."""
    if not parts:
        yield b"{}"
        return
    sep = b"{"
    for k, p in parts.items():
        yield sep + orjson.dumps(k) + b":"
        sep = b","
        yield from p.chunks()
    yield b"}"


def new_generation() -> str:
    """A new content identity (``BoardHistory.generation``)."""
    return secrets.token_hex(12)


def _generation(value: Any) -> str:
    if not isinstance(value, str) or not value:
        raise ValueError(f"not a generation: {value!r}")
    return value


@dataclass(frozen=True)
class Head:
    """A store's head (``history.v2.head.json`` beside it): what a run needs to ask Trello
    for the actions newer than the store's, and to follow its moves, without reading the body;
    ``generation`` names the body it was written with."""

    board_id: str
    filter: str
    generation: str
    newest: tuple[datetime, str] | None
    recent: dict[str, datetime]
    #: The boards its cards or lists moved to or from (``Part.connected`` of ``base``).
    connected: frozenset[str]
    #: The names its moves give them (``Part.board_names``; none in a head written before).
    names: Mapping[str, str] = field(default_factory=dict)

    def since(self) -> datetime | None:
        """Where the next read starts (None: from the beginning)."""
        return None if self.newest is None else self.newest[0] - OVERLAP

    def to_json(self) -> dict[str, Any]:
        return {
            "format": HEAD_FORMAT,
            "version": VERSION,
            "board": self.board_id,
            "filter": self.filter,
            "generation": self.generation,
            "newest": None if self.newest is None else [self.newest[0].isoformat(), self.newest[1]],
            "recent": {i: d.isoformat() for i, d in self.recent.items()},
            "connected": sorted(self.connected),
            "board_names": dict(sorted(self.names.items())),
        }

    @classmethod
    def from_json(cls, d: Mapping[str, Any]) -> Head:
        """Back from ``to_json``; ``KeyError``/``TypeError``/``ValueError`` on anything else."""
        newest = d["newest"]
        if d["format"] != HEAD_FORMAT or d["version"] != VERSION:
            raise ValueError("not a head of this version")
        return cls(
            board_id=as_text(d["board"]),
            filter=as_text(d["filter"]),
            generation=_generation(d["generation"]),
            newest=None if newest is None else (aware_date(newest[0]), as_text(newest[1])),
            recent={as_text(i): aware_date(t) for i, t in d["recent"].items()},
            connected=frozenset(as_text(b) for b in d["connected"]),
            names={as_text(b): as_text(n) for b, n in d.get("board_names", {}).items()},
        )


# ---------------------------------------------------------------------------------- files


def _on_read_only_fs(path: Path) -> bool:
    """Whether ``path``'s file system is mounted read-only (False where that cannot be told)."""
    try:
        return bool(os.statvfs(path).f_flag & os.ST_RDONLY)
    except (OSError, AttributeError):
        return False


class HistoryStore:
    """The stores of one cache directory. ``refresh`` (``--refresh-history``): every board's
    store is rebuilt from the API, whatever is on disk."""

    def __init__(self, cache_dir: Path, *, refresh: bool = False) -> None:
        self.cache_dir = cache_dir
        self.refresh = refresh
        #: Its notices: boards by name, a blocked path once a run (``store_notices``).
        self.notices = Notices(cache_dir)
        #: ``unusable`` found its file system read-only.
        self.read_only = False
        #: How far Trello's clock is ahead of this machine's (``TrelloApi.clock_skew``), set by
        #: the fetch: a store's newest action is "in the future" by Trello's clock, not by one
        #: that is behind (R42b: two days behind, every run rebuilt every store). None: not
        #: known yet (no answer over the network so far), and no store is judged by it then: a
        #: store dated beyond Trello's now is not the board's feed, which the overlap read that
        #: follows tells (``fetcher_stored._disowned``), rebuilding it with a notice.
        self.skew: timedelta | None = timedelta(0)

    @property
    def boards_dir(self) -> Path:
        """Where the boards' stores, heads and card cuts are kept."""
        return self.cache_dir / "boards"

    def unusable(self) -> str | None:
        """Why no store can be read or written here (then the run goes without them, with one
        notice, instead of one for each file of each board), or None. Made if missing."""
        try:
            private_dirs(self.boards_dir)
        except OSError as exc:
            self.read_only = exc.errno == errno.EROFS
            return exc.strerror or str(exc)
        if not self.boards_dir.is_dir():
            return "it is not a directory"
        if not os.access(self.boards_dir, os.R_OK | os.W_OK | os.X_OK):
            if _on_read_only_fs(self.boards_dir):  # not this user's permissions
                self.read_only = True
                return os.strerror(errno.EROFS)
            return "this user cannot read and write in it"
        return None

    def path(self, board_id: str) -> Path:
        return self.cache_dir / "boards" / board_id / f"history.v{VERSION}.json.gz"

    def head_path(self, board_id: str) -> Path:
        """The store's head: written after the body, so a head names a body that was whole."""
        return self.cache_dir / "boards" / board_id / f"history.v{VERSION}.head.json"

    def load_head(self, board_id: str, filter: str) -> Head | None:
        """The board's store's head, or None when the body is to be read instead (none yet,
        ``refresh``, another filter, or one that cannot be used: then a one-line notice).
        A killed run's temporary files in the board's directory are removed first."""
        path = self.head_path(board_id)
        sweep_stale_temps(path.parent, ".history-")
        if self.refresh:
            return None
        try:
            raw = read_regular(path)
        except FileNotFoundError:
            return None
        except OSError as exc:
            return self._ignored(board_id, f"it cannot be read ({exc.strerror or exc})")
        try:
            doc = load_json(raw)
            if not isinstance(doc, dict) or doc.pop("sha256", None) != _digest(doc):
                raise ValueError("its checksum does not match")
            head = Head.from_json(doc)
        except (KeyError, TypeError, ValueError, AttributeError, IndexError):  # R51a: IndexError
            return self._ignored(board_id, "it is damaged or of another version")
        if head.board_id != board_id or head.filter != filter:
            return None  # the body says why it cannot be used, if it cannot
        if _ahead(head.newest, self.skew):
            return self._ignored(board_id, "its newest action is dated in the future")
        return head

    def _ignored(self, board_id: str, why: str) -> Head | None:
        """None (read the body instead), with the notice."""
        path, board = self.head_path(board_id), self.notices.board(board_id)
        message = "the history store's head %s of %s is ignored (%s): the store is read"
        self.notices.failed(board_id, path, message, path, board, why, read=True, head=True)
        return None

    def load(self, board_id: str, filter: str) -> BoardHistory | None:
        """The board's store, or None when it is to be built (none yet, ``refresh``, or one
        that cannot be used: then a one-line notice says why)."""
        path = self.path(board_id)
        earlier = self._remove_earlier(board_id)
        if self.refresh:
            return None
        try:
            raw = read_regular(path)
        except FileNotFoundError:
            if earlier is not None:
                old, version = earlier
                if self.notices.once(f"earlier version {version}"):
                    why = EARLIER.get(version, f"it has format version {version}")
                    also = "as is each other store it kept, when a run next reads it"
                    return self._rebuild(board_id, old, f"{why} ({also})")
                return None  # said once a run (R48a: once per board, dozens in a workspace)
            return None
        except OSError as exc:
            return self._rebuild(board_id, path, f"it cannot be read ({exc.strerror or exc})")
        try:
            doc = load_json(gzip.decompress(raw), max_depth=None)
        except (OSError, EOFError, zlib.error, ValueError):
            return self._rebuild(board_id, path, "it is damaged")
        if not isinstance(doc, dict) or doc.get("format") != FORMAT:
            return self._rebuild(board_id, path, "it is not a history store")
        if doc.get("version") != VERSION:
            return self._rebuild(board_id, path, f"it has format version {doc.get('version')!r}")
        try:
            stored = BoardHistory.from_json(doc)
        except (KeyError, TypeError, ValueError, AttributeError, IndexError, RecursionError):
            return self._rebuild(board_id, path, "it is damaged")
        if stored.board_id != board_id:
            return self._rebuild(board_id, path, f"it holds board {stored.board_id}")
        if stored.filter != filter:
            return self._rebuild(board_id, path, "it was made by a version that read other actions")
        if _ahead(stored.newest, self.skew):
            return self._rebuild(board_id, path, "its newest action is dated in the future")
        return stored

    def _remove_earlier(self, board_id: str) -> tuple[Path, int] | None:
        """Remove the board's store files and card cuts of other versions (a store this version
        does not read is never used again): the path and version of the store so removed, if
        one was (a failure to remove is silent: it is not read)."""
        try:
            paths = sorted(self.path(board_id).parent.iterdir())
        except OSError:
            return None
        store = None
        for path in paths:
            found = _VERSIONED.fullmatch(path.name)
            if found is None or int(found[1] or found[2]) == VERSION:
                continue
            with contextlib.suppress(OSError):
                path.unlink()
                if path.name.endswith(".json.gz"):
                    store = (path, int(found[1]))
        return store

    def _rebuild(self, board_id: str, path: Path, why: str) -> BoardHistory | None:
        """None (build it again), with the notice."""
        board = self.notices.board(board_id)
        message = "the history store %s of %s is rebuilt from Trello: %s"
        self.notices.failed(board_id, path, message, path, board, why, read=True)
        return None

    def save(self, history: BoardHistory) -> bool:
        """Write a board's store and then its head (each atomically, 0600); whether both were
        written. A failure is a notice, not an error (``Notices.unwritable``): the history is
        read from Trello again until it can be kept."""
        path = self.path(history.board_id)
        data = gzipped(history.chunks())
        try:
            private_dirs(path.parent)
            write_atomic(path, data, prefix=".history-", sweep=True)
        except OSError as exc:
            self.notices.unwritable(history.board_id, path, exc)
            return False
        return self.save_head(history)

    def save_head(self, history: BoardHistory) -> bool:
        """Write the head of a store whose body on disk is ``history`` (atomically, 0600);
        whether it was written (a failure is a notice: until it can be written, runs read the
        body)."""
        path = self.head_path(history.board_id)
        doc = history.head().to_json()
        data = json.dumps({**doc, "sha256": _digest(doc)}, separators=(",", ":")).encode()
        try:
            private_dirs(path.parent)
            write_atomic(path, data, prefix=".history-", sweep=True)
        except OSError as exc:
            self.notices.unwritable(history.board_id, path, exc, head=True)
            return False
        return True

    # The card listing's cuts: where the last listing had each ``CUT``-th card (a hint).

    def cuts_path(self, board_id: str) -> Path:
        return self.cache_dir / "boards" / board_id / f"cards.v{VERSION}.json"

    def load_cuts(self, board_id: str) -> list[datetime]:
        """Where the last run's card listing of the board had each ``CUT``-th card (newest
        first; ``paging.read_backwards``'s ``cuts``): empty when there is none or it cannot be
        read. Only a hint of where to cut the listing into ranges read at once: a wrong one
        costs requests, never a card."""
        if self.refresh:
            return []
        try:
            doc = load_json(read_regular(self.cuts_path(board_id)))
            if doc.get("format") != CUTS_FORMAT:
                return []
            return [aware_date(c) for c in doc["cuts"]]
        except (OSError, ValueError, TypeError, KeyError, AttributeError):
            return []

    def save_cuts(self, board_id: str, card_ids: Iterable[str]) -> None:
        """Keep the cuts of this listing (``card_ids``: the board's cards now) for the next
        run; a failure is silent (the next run pages the listing as without them)."""
        seconds = sorted(
            (int(c[:8], 16) for c in card_ids if len(c) == 24 and all(x in _HEX for x in c)),
            reverse=True,
        )
        cuts = [
            datetime.fromtimestamp(seconds[k], tz=UTC).isoformat()
            for k in range(CUT, len(seconds) if len(seconds) >= UNCUT else 0, CUT)
        ]
        data = json.dumps({"format": CUTS_FORMAT, "cuts": cuts}).encode()
        path = self.cuts_path(board_id)
        with contextlib.suppress(OSError):
            if read_regular(path) == data:
                return  # as the last run left them: no write, no fsync
        with contextlib.suppress(OSError):
            private_dirs(path.parent)
            write_atomic(path, data, prefix=".history-", sweep=True)


#: How far ahead of this machine's clock a kept action's date may be (Trello's clock and this
#: one may disagree); beyond it the store would ask Trello only for actions newer than a date
#: none has yet, and hide every later one until ``--refresh-history``.
AHEAD = timedelta(days=1)


def _ahead(newest: tuple[datetime, str] | None, skew: timedelta | None) -> bool:
    """Whether a store's or head's newest action is dated later than can be true (by Trello's
    clock: this machine's and ``skew``; not judged while that is not known)."""
    if newest is None or skew is None:
        return False
    return newest[0] > datetime.now(UTC) + skew + AHEAD


def _digest(doc: Mapping[str, Any]) -> str:
    """A head's checksum: plain JSON has none of its own, and a changed board id in it would
    leave a board out of the plan without a word."""
    return hashlib.sha256(
        json.dumps(doc, sort_keys=True, separators=(",", ":")).encode()
    ).hexdigest()


@contextlib.contextmanager
def no_gc() -> Iterator[None]:
    """The garbage collector paused (as it was before, after): for building or parsing many
    small objects that all live on, where its passes find nothing to free. ``run.make_plan``
    holds it for the whole fetch and plan, the stores' and the memo's reads and writes
    included."""
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if enabled:
            gc.enable()
