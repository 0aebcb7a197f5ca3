"""Looking again, while an apply writes, for what people changed since its live read (R39b).

An apply reads its boards once (``live.read_live``, and for a plan that sat the actions since
the plan: ``touches.apply_touches``), then writes for as long as the rate limit takes: about
100 s per 1,000 changes. A colleague's edit in that time (a member removed again, a field set
back) was overwritten without a word, and reported ``applied``. So once every rate window
(``window_s``: Trello's 10 s, or the sandbox's scaled one), the first write due after it first
reads each board's actions since the last look (one listing a board, of the types the writes
still to send change: this run's own writes are of other targets, an earlier run's are passed
over by its journal), and each write
still to send is decided again against what they show (``kinds``' ``decide``: someone's touch
after the plan is ``drifted``, naming who). What costs one request a board a window leaves a
window at most (plus a write's latency) in which an edit can still be overwritten: Trello has
no conditional write. A look that fails (Trello down) is said once and the writes go on as
they would have; the next window looks again.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING

from trello_restore import defaults
from trello_restore.errors import ApiError
from trello_restore.journal import JournalRecord
from trello_restore.live import LiveBoard
from trello_restore.models import Change
from trello_restore.touches import own_spans, target_index, touches_in, trello_skew

if TYPE_CHECKING:
    from trello_restore.api import TrelloApi

__all__ = ["LOOK_BACK", "RECHECK_WINDOWS", "Recheck"]

logger = logging.getLogger(__name__)

#: How often, while an apply or undo writes, it looks again at what people changed on its
#: boards, in rate windows: once a window costs a request a board in a hundred.
RECHECK_WINDOWS = 1.0

#: How far before the last look the next one begins: Trello dates an action by its own clock,
#: which this run knows to about a second (``TrelloApi.clock_skew``), and a write in flight as
#: the last look read may be dated before it.
LOOK_BACK = timedelta(seconds=5)


class Recheck:
    """The writes of an apply still to send (``changes``), and the live state they were
    decided on (``live``, updated in place as the looks find touches). ``since``: when (this
    machine's clock) the state was read. Thread-safe: workers call ``decision`` before each
    write; the first one due looks, and the others go on with what the last look found
    (R40b: all eight waiting for each look made the 20,000-card apply 1.12 of the bound, not
    1.04). A look's work is as the actions it reads, not as the writes still to send
    (``touches.touches_in`` over the targets indexed once)."""

    def __init__(
        self,
        api: TrelloApi,
        live: dict[str, LiveBoard],
        changes: Iterable[Change],
        since: datetime,
        account_id: str,
        records: Sequence[JournalRecord] = (),
        window_s: float = defaults.RATE_WINDOW_S,
        *,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.api, self.live, self.account_id = api, live, account_id
        self.every_s = RECHECK_WINDOWS * window_s
        self._clock, self._since = clock, since
        self._due = clock() + self.every_s
        self._index = target_index(live, changes)  # never changed: the looks read it as is
        self._spans = own_spans(records, trello_skew(api))
        self._sent: set[str] = set()
        self._lock = threading.Lock()
        self._looking = self._failed = False
        #: How many looks were made (for the log and the tests).
        self.looks = 0

    def decision(
        self, c: Change, decide: Callable[[LiveBoard], tuple[str, str] | None]
    ) -> tuple[str, str] | None:
        """What ``c``'s write is now: None to send it, or the outcome and reason that stand
        instead (``decide`` against the board as the last look left it)."""
        with self._lock:
            self._sent.add(c.change_id)
            look = not self._looking and self._clock() >= self._due
            self._looking = self._looking or look
        if look:
            self._look()
        with self._lock:
            board = self.live.get(c.board_id)
        return decide(board) if board is not None and board.touched else None

    def _look(self) -> None:
        """Read the boards' actions since the last look for the writes still to send, and add
        what they show to ``live``."""
        started = datetime.now(UTC)
        try:
            found = touches_in(
                self.api,
                self.live,
                self._index,
                self._since - LOOK_BACK + trello_skew(self.api),
                self.account_id,
                self._spans,
                wanted=lambda c: c.change_id not in self._sent,
            )
        except ApiError as err:
            if not self._failed:
                logger.warning(
                    "could not look for changes made on the boards while this run writes (%s): "
                    "its writes go on as decided at its start",
                    err,
                )
            self._failed = True
            found = None
        except BaseException:
            with self._lock:
                self._looking = False
            raise
        with self._lock:
            self._looking = False
            self._due = self._clock() + self.every_s
            if found is not None:
                self.looks += 1
                self._since = started
                _merge(self.live, found)
        logger.debug("looked again for changes since the live read (%d so far)", self.looks)


def _merge(live: dict[str, LiveBoard], found: Mapping[str, LiveBoard]) -> None:
    """``live`` with the touches ``found`` added to each board's (the newest kept)."""
    for board_id, board in found.items():
        old = live.get(board_id)
        if old is not None and board.touched and board.touched is not old.touched:
            live[board_id] = replace(old, touched={**old.touched, **board.touched})
