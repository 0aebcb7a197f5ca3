"""Looking again, while an apply or undo writes, for what people changed since its live read
(R39b).

An apply reads its boards once (``live.read_live``, and for a plan that sat the actions since
the plan: ``touches.apply_touches``), then writes for as long as the rate limit takes: about
100 s per 1,000 changes. A colleague's edit in that time (a member removed again, a field set
back) was overwritten without a word, and reported ``applied``. So once every rate window
(``window_s``: Trello's 10 s, or the sandbox's scaled one) a look reads each board's actions
since the last one (one listing a board with writes still to send, of the types they
change), and each write is decided again just before it is sent against what the looks
found (``kinds``' ``decide``: someone's touch after the plan is ``drifted``, naming who).

- A look reads the boards being written, and those whose first write is near (``AHEAD``):
  not every board with writes to come (R41d: +6.9 % requests on a 30-board workspace). A
  board's first look reads from the live read on, so it misses nothing of what came before.
- A look runs on a thread of its own, started by the first write due after a window: no write
  waits for it (R40b: eight workers waiting for each look made the 20,000-card bench apply
  1.12 of the rate bound, not 1.04; R40a: a look retrying a failing Trello held every write
  for minutes). Its work is as the actions it reads (about a window's), not as the writes
  still to send (their targets are indexed as they are decided: ``expect``).
- The first look reads from the live read on, never from before the plan (``floor``), and
  passes over the actions the plan rests on (``passed_over``): R40a, a look 5 s back blamed
  the incident's own removals, and an undo's, on their author ("removed again … after the
  plan was made"), 112 of 121 changes drifted.
- A board the token can no longer read is left out of the looks (its writes are refused
  anyway); the others go on being looked at. A look that fails otherwise is warned of once
  and the next comes later and later (up to 8 windows); the writes go on as decided.

What costs one request a board a window leaves a window at most (plus a look's and a write's
latency) in which an edit can still be overwritten: Trello has no conditional write.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Collection
from dataclasses import replace
from datetime import datetime, timedelta
from typing import TYPE_CHECKING

from trello_restore import defaults
from trello_restore.errors import ApiError, NotFound, PermissionDenied
from trello_restore.journal import JournalRecord
from trello_restore.kinds import kind_of
from trello_restore.limiter import Stopping
from trello_restore.live import LiveBoard
from trello_restore.models import Change
from trello_restore.touches import Index, own_spans, touches_in, trello_skew

if TYPE_CHECKING:
    from collections.abc import Sequence

    from trello_restore.api import TrelloApi

__all__ = ["LOOK_BACK", "RECHECK_WINDOWS", "Recheck"]

logger = logging.getLogger(__name__)

#: How often, while an apply or undo writes, it looks again at what people changed on its
#: boards, in rate windows: once a window costs a request a board in a hundred.
RECHECK_WINDOWS = 1.0
#: The longest a look that failed puts the next one off, in looks' intervals.
MOST_BACKOFF = 8
#: How many of the writes still to be decided a look looks ahead at (about two rate windows'
#: worth): a board none of whose writes has been decided yet is looked at only once one of them
#: is among these, as its first look reads from the live read on anyway (R41d: a 30-board
#: workspace written board after board spent 270 looks on boards not yet started, +6.9 %
#: requests).
AHEAD = 200

#: How far before the newest action the last look of a board read the next one begins (each
#: board's own cursor, on Trello's clock: no clock of this machine in it): an action Trello
#: dates a little out of order (its servers), or to the second, is not missed.
LOOK_BACK = timedelta(seconds=1)

#: What a change's actions to pass over are (``touches.plan_seen``), as ``touches_in`` asks.
PassedOver = Callable[[Change], tuple[Collection[str], datetime | None]]


class Recheck:
    """The looks of one apply or undo at its boards, and the live state its writes were
    decided on (``live``, updated in place as the looks find touches). ``since``: when (this
    machine's clock) that state was read; ``floor``: Trello's time before which no look reads
    (the plan's ``created_at``: what came before, the plan saw). Thread-safe: ``expect``
    (each write as it is decided), ``decision`` (just before it is sent), ``close`` (when
    the writes are done: a look under way is waited for)."""

    def __init__(
        self,
        api: TrelloApi,
        live: dict[str, LiveBoard],
        since: datetime,
        account_id: str,
        records: Sequence[JournalRecord] = (),
        window_s: float = defaults.RATE_WINDOW_S,
        *,
        floor: datetime | None = None,
        passed_over: PassedOver | None = None,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.api, self.live, self.account_id, self.floor = api, live, account_id, floor
        self.every_s = RECHECK_WINDOWS * window_s
        self._passed_over = passed_over
        self._clock = clock
        #: Where each board's next look begins (Trello's clock): the live read, then the newest
        #: action a look read there less ``LOOK_BACK``.
        self._from = since + trello_skew(api)
        #: Per board and action type (a later kind's types are read from the live read on:
        #: R40e, an edit made while an earlier kind was written was read past).
        self._cursor: dict[tuple[str, str], datetime] = {}
        self._due = clock() + self.every_s
        self._spans = own_spans(records, trello_skew(api))
        self._index: Index = {}
        self._waiting: dict[str, int] = {}  # board -> writes expected, not yet sent
        self._sent: set[str] = set()
        #: The boards of the writes expected, in their order; those with a write decided.
        self._order: list[str] = []
        self._started: set[str] = set()
        self._unreadable: set[str] = set()
        self._lock = threading.Lock()
        self._thread: threading.Thread | None = None
        self._backoff, self._failed, self._closed = 1, False, False
        #: How many looks were made (for the log and the tests).
        self.looks = 0

    def expect(self, c: Change) -> None:
        """``c``'s write is to be sent: its target is looked for from now on."""
        aim = kind_of(c.action).target(c)
        board = self.live.get(c.board_id)
        if aim is None or board is None or board.cards is None:
            return
        with self._lock:
            types, targets = self._index.setdefault(c.board_id, (set(), {}))
            types.update(aim[1])
            targets.setdefault(aim[0], []).append(c)
            self._waiting[c.board_id] = self._waiting.get(c.board_id, 0) + 1
            self._order.append(c.board_id)

    def decision(
        self, c: Change, decide: Callable[[LiveBoard], tuple[str, str] | None]
    ) -> tuple[str, str] | None:
        """What ``c``'s write is now: None to send it, or the outcome and reason that stand
        instead (``decide`` against the board as the looks left it). Starts a look when one is
        due and none is under way."""
        with self._lock:
            if c.change_id not in self._sent:
                self._sent.add(c.change_id)
                self._started.add(c.board_id)
                if c.board_id in self._waiting:
                    self._waiting[c.board_id] -= 1
            if self._thread is None and not self._closed and self._clock() >= self._due:
                self._start()
            board = self.live.get(c.board_id)
        return decide(board) if board is not None and board.touched else None

    def close(self) -> None:
        """The writes are done (or the run stops): no look starts any more, and one under way
        is let go, not waited for (R40e: a look retrying a failing Trello held the end of the
        run, and Ctrl-C, for minutes). Its thread ends as the run's requests stop, and what it
        finds is dropped."""
        with self._lock:
            self._closed = True

    def _start(self) -> None:
        """A look of the boards with writes still to send, on a thread (the lock held)."""
        # Its targets as they are, not copied (a look's work is as the actions it reads):
        # ``expect`` only adds to them, and ``touches_in`` looks them up.
        # Boards being written, and those whose first write is near (``AHEAD``).
        near = self._started.union(self._order[len(self._sent) : len(self._sent) + AHEAD])
        index = {
            b: (set(types), targets)
            for b, (types, targets) in self._index.items()
            if self._waiting.get(b, 0) > 0 and b not in self._unreadable and b in near
        }
        if not index:
            self._due = self._clock() + self.every_s
            return
        self._thread = threading.Thread(
            target=self._look, args=(index,), name="trello-restore-look", daemon=True
        )
        self._thread.start()

    def _look(self, index: Index) -> None:
        found: dict[str, LiveBoard] = {}
        failed: BaseException | None = None
        newest: dict[str, datetime] = {}
        read_types: dict[str, set[str]] = {}
        for board_id in sorted(index):
            types = index[board_id][0]
            start = min(self._cursor.get((board_id, t), self._from) for t in types)
            if self.floor is not None:
                start = max(start, self.floor)
            try:
                read = touches_in(
                    self.api,
                    self.live,
                    {board_id: index[board_id]},
                    start,
                    self.account_id,
                    self._spans,
                    # Every write expected, sent ones too: a write waiting out 429s is decided
                    # again before its retry (a touch of a write answered is never asked for).
                    passed_over=self._passed_over or (lambda c: ((), None)),
                    newest=newest,
                )
            except (PermissionDenied, NotFound):  # refused or gone: so are its writes
                with self._lock:
                    self._unreadable.add(board_id)
                continue
            except Stopping:  # the run stops: so does the look
                failed = None
                break
            except Exception as err:
                failed = err
                break
            if read[board_id] is not self.live.get(board_id):
                found[board_id] = read[board_id]
            read_types[board_id] = types
        self._looked(newest, read_types, found, failed)

    def _looked(
        self,
        newest: dict[str, datetime],
        read_types: dict[str, set[str]],
        found: dict[str, LiveBoard],
        failed: BaseException | None,
    ) -> None:
        with self._lock:
            if self._closed:  # the run is over (or stopping): nothing more to say or keep
                self._thread = None
                return
            for board_id, types in read_types.items():
                if board_id in newest:  # each type read up to its newest action
                    to = newest[board_id] - LOOK_BACK
                    for t in types:
                        key = (board_id, t)
                        self._cursor[key] = max(self._cursor.get(key, to), to)
            for board_id, board in found.items():  # the touches found added to the board's
                old = self.live.get(board_id)
                if old is not None and board.touched:
                    self.live[board_id] = replace(old, touched={**old.touched, **board.touched})
            if failed is None:
                self.looks += 1
                self._backoff = 1
            else:
                self._backoff = min(self._backoff * 2, MOST_BACKOFF)
            self._due = self._clock() + self.every_s * self._backoff
            self._thread = None
            say = failed is not None and not self._failed and not self._closed
            self._failed = self._failed or failed is not None
        if say:
            reason = failed if isinstance(failed, ApiError) else type(failed).__name__
            logger.warning(
                "could not look for changes made on the boards while this run writes (%s): its "
                "writes go on as decided, and later looks try again",
                reason,
            )
        logger.debug("looked again for changes since the live read (%d so far)", self.looks)
