"""The machinery that carries writes out for an apply or an undo (design.md §5).

``Runner`` runs one apply or undo: it journals each write ``pending`` (fsynced) before it is
sent and its outcome right after it is answered, sends the writes on ``workers`` threads under
one rate limiter, retries a 429 (never processed), a 5xx or a lost connection (possibly
processed: a retry answered with the kind's "nothing to do" text is then this tool's own doing)
with exponential backoff and jitter, at most ``max_retries`` times, and reports every outcome.
What to write and whether to is the caller's (``applier.py``, ``undo.py``); how each answer
reads is the write's ``WriteRule``. What it is given and gives back (``ApplyOptions``,
``ChangeOutcome``, ``ApplyReport``) is ``runner_types.py``'s.

Stopping (design.md §5). Four things stop a run early; what is in flight is answered and
journaled (unless the journal is what failed), nothing more is sent, and the changes never
started are reported ``not_attempted`` and not journaled (a re-run does them):

- an ``AuthError`` (the token stopped working): raised as it is;
- a permission refusal (``PermissionDenied``) of a write: raised as one line naming the
  token's member and the board. So that it costs one write and not one per worker, the first
  write of each kind to each board goes alone (``Runner._admit``), the others follow once it is
  answered with anything but a refusal. With ``ApplyOptions.refused_boards_go_on`` (a one-step
  run with changes on several boards) only that board's writes stop: the refused one is
  ``failed``, the board's others ``not_attempted`` with the refusal as their reason
  (``refused_reason``; so is a card member whose board membership grant was refused or not
  sent there: ``kinds.decide_card``), the other boards' go on, and the report names the
  board (``ApplyReport.refused``; exit code "auth");
- Trello failing persistently (``Breaker``): many write attempts in a row answered 5xx or not
  at all, over at least one backoff, or most of the recent writes failing after their retries.
  The run ends with ``ApplyReport.stopped`` set (exit code "unreachable"); retries waiting
  for their turn are not sent. A 429 counts for neither: the shared limiter already slows
  every worker to the budget;
- the journal cannot be written (a full disk): the write whose ``pending`` record failed is
  not sent, nor is any other (``Journal`` fails every append after the first that failed), and
  a ``JournalWriteError`` saying how many writes this run sent is raised once those in flight
  are answered (``Runner.__exit__``).

Ctrl-C (a ``KeyboardInterrupt``) stops a run as these do, and more: the writes waiting for the
limiter are not sent either (``TrelloApi.stop``), and are journaled ``not_applied`` with
``UNSENT`` (``failed`` and ``uncertain`` when an earlier attempt, or an earlier run's, may have
gone through), an apply's and an undo's alike. The run ends only once no write of its own is
between its ``pending`` record and its outcome (``Runner._wind_down``): a Ctrl-C during that
wait (a second press, or the first while a run stopped for another reason winds down) does
not cut it short, so only a killed process leaves a ``pending`` record open. The command line
ignores every Ctrl-C after the first (``interrupts.first_ctrl_c_only``). SIGTERM (a service
stopped, a shutdown, ``kill``) stops it the same way, so the writes in flight are journaled
before it ends (exit 143, or 129 by SIGHUP: ``interrupts.stopped_by``).
"""

from __future__ import annotations

import logging
import random
import threading
import time
from collections.abc import Callable, Iterable, Sequence
from concurrent.futures import Future, ThreadPoolExecutor, as_completed
from typing import cast

from trello_restore.api import MAYBE_MADE, RetryPolicy, TrelloApi, certainly_not_applied
from trello_restore.breaker import Breaker
from trello_restore.errors import (
    ApiError,
    ApiUnreachable,
    AuthError,
    BadResponse,
    JournalWriteError,
    NotFound,
    OutOfFiles,
    PermissionDenied,
    RateLimited,
)
from trello_restore.interrupts import broken_by_interrupt, check
from trello_restore.journal import Journal, JournalRecord, Op, Status
from trello_restore.journal_errors import write_failed
from trello_restore.journal_names import record_names
from trello_restore.kinds import NOT_ATTEMPTED, WOULD_APPLY, WriteRule, kind_of
from trello_restore.limiter import Stopping
from trello_restore.models import Change
from trello_restore.refusals import answered, refusal, unread_reason
from trello_restore.runner_types import (
    SKIPPED_DONE,
    ApplyOptions,
    ApplyReport,
    ChangeOutcome,
    outcome_of,
)
from trello_restore.words import plural

__all__ = [
    "NOT_ATTEMPTED",
    "WOULD_APPLY",
    "Breaker",
    "Runner",
    "WriteRule",
]

logger = logging.getLogger(__name__)

#: Why a write that Ctrl-C stopped before it was sent is settled so (``Runner._send``).
UNSENT = "interrupted before it was sent"
#: Why a write Trello answered 404 is left alone: what it changes went away since the run's read.
GONE_SINCE = (
    "its card, list or board is gone since this run read it (deleted, or moved where this "
    "token cannot reach it): left alone"
)
#: Seconds Ctrl-C waits for the writes in flight before it says that it is waiting for them.
IN_FLIGHT_NOTICE_S = 1.0


# ------------------------------------------------------------------------------------ runner


def _said(err: ApiError, text: str) -> bool:
    return err.trello_error.strip().rstrip(".").lower() == text


#: The outcomes of a change made on Trello, by this run or an earlier one of its journal.
_MADE = frozenset({"applied", "undone", SKIPPED_DONE})


class Runner:
    """Runs one apply or undo: journals, retries, workers, stopping, and the report.

    Outcomes reach ``progress`` in the calling thread, as they happen (after Ctrl-C, so do the
    writes it stopped before they were sent: ``_answered_late``); the journal is written by
    whichever thread learns the outcome (``Journal`` appends are thread-safe, and those made at
    the same moment share an fsync)."""

    def __init__(
        self,
        api: TrelloApi,
        journal: Journal | None,
        options: ApplyOptions,
        op: Op,
        progress: Callable[[ChangeOutcome], None] | None,
    ) -> None:
        self.api = api
        self.journal = journal
        self.options = options
        self.op = op
        self.progress = progress
        self.outcomes: dict[str, ChangeOutcome] = {}
        self._journal_lock = threading.Lock()
        self._stop = threading.Event()
        self._breaker = Breaker(options.breaker_attempts, options.backoff_s, options.breaker_window)
        #: (board id, action) → opened once the first such write is answered (``_admit``).
        self._gates: dict[tuple[str, str], threading.Event] = {}
        #: Board id → what Trello said refusing a write there (``refused_boards_go_on``).
        self._refused: dict[str, str] = {}
        #: Those of ``_refused`` whose live read was refused (``refuse_read``): nothing sent.
        self._unread: set[str] = set()
        self._gates_lock = threading.Lock()
        #: Writes admitted (``_admit``) and not yet finished: between their ``pending`` record
        #: and their outcome, or about to be (``_wind_down`` waits for none to be left).
        self._active = 0
        self._idle = threading.Condition(self._gates_lock)
        self._waiting_said = False
        self._rng = random.Random()
        #: The same rules as the reads' retries (``api.retry``), with the options' numbers.
        self._retry = RetryPolicy(
            retries=options.max_retries, backoff_s=options.backoff_s, rate_window_s=options.window_s
        )
        self._started = time.monotonic()
        self._sent0 = api.requests_sent
        self._limited0 = api.rate_limited
        self._own_limiter = api.limiter is None
        self._executor: ThreadPoolExecutor | None = None
        #: The writes of the current ``run_writes``: on Ctrl-C, those answered after the
        #: interrupt are reported from here (``_answered_late``).
        self._futures: list[Future[ChangeOutcome]] = []
        #: Writes Ctrl-C stopped before they were sent (``UNSENT``): settled, not outcomes.
        self._unsent: set[str] = set()
        self._batch: list[JournalRecord] = []
        #: Writes sent (each after its ``pending`` record was on disk), for a journal failure.
        self._sent = 0

    # ----------------------------------------------------------------------- life cycle

    def __enter__(self) -> Runner:
        if self._own_limiter:
            self.api.use_limiter(self.options.make_limiter())
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: object
    ) -> None:
        broken = broken_by_interrupt(exc)
        interrupted = broken or (exc_type is not None and not issubclass(exc_type, Exception))
        try:
            cut = self._wind_down(interrupted)
            if cut:
                self._answered_late()
            if isinstance(exc, JournalWriteError):
                # The writes in flight are answered now (their ``pending`` records are in the
                # journal, their outcomes could not be), and no other was sent: say how many.
                raise self._journal_failed(exc) from None
            try:
                self.flush()
            except JournalWriteError as err:
                raise self._journal_failed(err) from None
            if cut and (exc_type is None or broken):
                raise KeyboardInterrupt  # Ctrl-C while the run's end waited for its writes
        finally:
            if self._own_limiter:
                self.api.use_limiter(None)

    def _wind_down(self, interrupted: bool) -> bool:
        """Stop, and wait until every write admitted is answered and journaled (or journaled
        not sent), then for the workers; True when Ctrl-C stopped the run, before or during
        this. On Ctrl-C the writes waiting for the limiter are not sent (``_send``), so it waits
        only for those on the wire. A Ctrl-C while it waits stops those waiting writes too, but
        not the wait (the journal must hold every outcome before the caller closes it; a
        process killed meanwhile leaves their ``pending`` records for the next run): after an
        error, that error is still what the run raises."""
        while True:
            try:
                self._halt()
                if interrupted:
                    self.api.stop()
                self._await_writes(say=interrupted)
                if self._executor is not None:
                    self._executor.shutdown(wait=True, cancel_futures=True)
                return interrupted
            except KeyboardInterrupt:
                interrupted = True

    def _await_writes(self, *, say: bool) -> None:
        """Wait until no write admitted is still to be answered and journaled; with ``say``
        (Ctrl-C), saying so once when it takes more than ``IN_FLIGHT_NOTICE_S`` (a slow
        Trello)."""
        with self._idle:
            if self._idle.wait_for(lambda: not self._active, IN_FLIGHT_NOTICE_S if say else None):
                return
            left = self._active
        if not self._waiting_said:
            self._waiting_said = True
            them = "them" if left > 1 else "it"
            logger.warning(
                "interrupted: waiting for Trello to answer the %s in flight, to journal %s "
                "(nothing more is sent; to stop at once, kill it: the next run settles %s)",
                plural(left, "write"),
                them,
                them,
            )
        with self._idle:
            self._idle.wait_for(lambda: not self._active)

    def _answered_late(self) -> None:
        """Ctrl-C: report the outcomes of the writes answered since the interrupt (journaled
        by their workers, never reported by ``run_writes``, which had stopped), so that what
        the caller says counts them. Those Ctrl-C stopped before they were sent are no outcome
        of the run: they reach ``progress`` alone (their ``error`` is ``UNSENT``), which counts
        them apart (``report_outcomes.Progress.unsent``), so that the caller says how many there
        were."""
        for f in self._futures:
            if not f.done() or f.cancelled() or f.exception() is not None:
                continue
            outcome = f.result()
            if outcome.change_id in self.outcomes:
                continue
            if outcome.change_id in self._unsent:
                if self.progress is not None:
                    self.progress(outcome)
            elif outcome.status != NOT_ATTEMPTED:
                self.emit(outcome)

    def _journal_failed(self, err: JournalWriteError) -> JournalWriteError:
        """The journal could not be written: the one line that says so, with the writes this
        run sent (``journal_errors.write_failed``)."""
        if self.journal is None or self.journal.failed is None:
            return err
        return write_failed(self.journal.path, self.journal.failed, sent=self._sent, op=self.op)

    @property
    def stopped(self) -> str:
        """Why the run stopped early (the breaker opened), or ""."""
        return self._breaker.reason

    def _halt(self) -> None:
        """Stop: no write starts any more, no retry is sent, waiting writers wake up."""
        self._stop.set()
        with self._gates_lock:
            for gate in self._gates.values():
                gate.set()

    def report(self, order: Sequence[str]) -> ApplyReport:
        """The report, outcomes in ``order`` (change ids); journals what is still to be."""
        self.flush()
        outcomes = [self.outcomes[cid] for cid in order if cid in self.outcomes]
        counts: dict[str, int] = {}
        for o in outcomes:
            counts[o.status] = counts.get(o.status, 0) + 1
        return ApplyReport(
            outcomes=outcomes,
            counts=counts,
            journal_path=self.journal.path if self.journal is not None else None,
            requests_sent=self.api.requests_sent - self._sent0,
            rate_limited=self.api.rate_limited - self._limited0,
            seconds=time.monotonic() - self._started,
            stopped=self.stopped,
            refused=dict(self._refused),
            refused_reads=set(self._unread),
        )

    # ------------------------------------------------------------------------- outcomes

    def journal_record(
        self,
        item: Change,
        status: str,
        http: int | None = None,
        error: str = "",
        *,
        uncertain: bool = False,
    ) -> None:
        """Append one record (fsynced); nothing on a dry run. Workers journaling at the same
        moment share an fsync (``Journal``'s group commit)."""
        record = self._record(item, status, http, error, uncertain=uncertain)
        if record is not None:
            assert self.journal is not None
            self.journal.append(record)

    def _record(
        self, item: Change, status: str, http: int | None, error: str, *, uncertain: bool = False
    ) -> JournalRecord | None:
        if self.journal is None or self.options.dry_run or status == NOT_ATTEMPTED:
            return None
        self.journal.note_clock(self.api.clock_skew)  # the record's ``skew_s``
        # A value kind's record holds the value seen before the write and the one written, and
        # an apply's the names its plan gave them (for undo's text; a member kind's, its board's).
        values = kind_of(item.action).record_values(item, self.op)
        if self.op == "apply":
            names = record_names(item)
            if names is not None:
                values = {**(values or {}), "names": names}
        return JournalRecord(
            change_id=item.change_id,
            op=self.op,
            action=item.action,
            status=cast(Status, status),
            board_id=item.board_id,
            member_id=item.member.id,
            card_id=item.card_id,
            http_status=http,
            error=error,
            uncertain=uncertain,
            values=values,
        )

    def flush(self) -> None:
        """Journal the outcomes ``settle`` decided (one fsync for all of them). When the journal
        cannot be written they are lost with the error: none needed a write, so the next run
        decides them again."""
        with self._journal_lock:
            batch, self._batch = self._batch, []
        if batch and self.journal is not None:
            self.journal.append_many(batch)

    def emit(self, outcome: ChangeOutcome) -> None:
        """Report one outcome (calling thread only)."""
        self.outcomes[outcome.change_id] = outcome
        if self.progress is not None:
            self.progress(outcome)

    def settle(self, item: Change, status: str, why: str = "", *, journal: bool = True) -> None:
        """An outcome decided without a write: journal it and report it. (A dry run reports
        what a run would journal, except that a resumed change found done is simply
        ``already_satisfied``: nothing to do.) ``not_attempted`` is never journaled."""
        if self.options.dry_run and status == "applied":
            status = "already_satisfied"
        record = self._record(item, status, None, why) if journal else None
        if record is not None:
            with self._journal_lock:
                self._batch.append(record)
        self.emit(outcome_of(item, status, None, why))

    # --------------------------------------------------------------------------- writes

    def run_writes(self, jobs: Iterable[tuple[Change, Callable[[], object], WriteRule]]) -> None:
        """Send the writes on the worker pool; returns when all are answered or, once the run
        is stopping, reported ``not_attempted`` (or raises the first ``AuthError`` or
        permission refusal after the writes in flight are answered and journaled).

        ``jobs`` may be a generator: each write is handed to the workers as soon as it comes,
        so the first ones are on their way while the caller still decides the others (an
        apply's changes of a kind, thousands of them, after the kind before is answered)."""
        self.flush()
        futures: list[Future[ChangeOutcome]] = []
        self._futures = futures
        try:
            for item, send, rule in jobs:
                check()  # a signal Python swallowed stops the run here (R64c)
                if self._executor is None:
                    self._executor = ThreadPoolExecutor(
                        max_workers=self.options.workers, thread_name_prefix="trello-restore"
                    )
                futures.append(self._executor.submit(self._write, item, send, rule))
            for future in as_completed(futures):
                check()
                self.emit(future.result())
        except BaseException:
            self._halt()
            for f in futures:
                f.cancel()
            raise

    def _admit(self, item: Change) -> bool:
        """May this write be sent? False once the run is stopping, or once Trello refused a
        write to its board (``refused_boards_go_on``). The first write of each kind to each
        board goes alone (it opens the gate when answered), so a token without the right to
        write there costs one write, not one per worker."""
        key = (item.board_id, item.action)
        with self._gates_lock:
            if self._stop.is_set() or item.board_id in self._refused:
                return False
            gate = self._gates.get(key)
            if gate is None:
                self._gates[key] = threading.Event()
                self._active += 1
                return True
        gate.wait()
        with self._gates_lock:
            if self._stop.is_set() or item.board_id in self._refused:
                return False
            self._active += 1
            return True

    def refused_reason(self, board_id: str) -> str:
        """Why a change on ``board_id`` is not sent when Trello refused a write there for lack
        of rights (``refused_boards_go_on``), naming that refusal; "" when it did not."""
        with self._gates_lock:
            said = self._refused.get(board_id)
            unread = board_id in self._unread
        if said is None:
            return ""
        if unread:
            return unread_reason(said)
        return f"not sent: Trello refused the token's member a write to this board, {said}"

    def refuse_read(self, board_id: str, said: str) -> None:
        """Trello refused the token's member the live read of a board (``said``: what it
        answered) in a run that goes on past such a board: none of its changes is sent
        (``refused_reason``), and the report names it as refused (not on a dry run)."""
        if self.options.dry_run:
            return
        with self._gates_lock:
            self._refused.setdefault(board_id, said)
            self._unread.add(board_id)

    def _open_gate(self, item: Change) -> None:
        with self._gates_lock:
            self._gates[(item.board_id, item.action)].set()

    def _write(self, item: Change, send: Callable[[], object], rule: WriteRule) -> ChangeOutcome:
        """One write with its retries, journaled ``pending`` first and its outcome after;
        ``not_attempted`` (nothing sent, nothing journaled) when the run is stopping."""
        if not self._admit(item):
            return outcome_of(item, NOT_ATTEMPTED, error=self.refused_reason(item.board_id))
        try:
            # Someone changed it since the live read (a look's finding; it sends no request).
            late = rule.recheck() if rule.recheck is not None else None
            if late is not None:
                return self._finish(item, late[0], why=late[1])
            return self._send(item, send, rule)
        finally:
            self._open_gate(item)
            with self._idle:
                self._active -= 1
                self._idle.notify_all()

    def _send(self, item: Change, send: Callable[[], object], rule: WriteRule) -> ChangeOutcome:
        self.journal_record(item, "pending")  # a journal that cannot be written stops it here
        with self._journal_lock:
            self._sent += 1
        maybe_sent = rule.resumed
        attempt = 0
        while True:
            try:
                send()
            except Stopping:
                # Ctrl-C while this attempt waited for its turn: it was not sent. Unless an
                # earlier one (or an earlier run's) may have gone through, its pending record
                # is settled as never taking effect: an apply's change is done by a re-run
                # (undo has nothing to undo), an undo's is undone by the next undo (not as
                # resumed: ``undo_left.undoable``).
                certain = not maybe_sent
                with self._journal_lock:
                    self._unsent.add(item.change_id)
                return self._finish(
                    item, "not_applied" if certain else "failed", uncertain=maybe_sent, why=UNSENT
                )
            except ApiError as err:
                if isinstance(err, PermissionDenied) and self.options.refused_boards_go_on:
                    return self._refused_board(item, err, maybe_sent)
                if isinstance(err, AuthError | PermissionDenied | OutOfFiles):
                    self._halt()
                    self._finish(item, "failed", err, uncertain=maybe_sent)
                    if isinstance(err, PermissionDenied):
                        journal = self.journal.path if self.journal is not None else None
                        raise refusal(
                            self.api,
                            item.board_id,
                            item.board_name,
                            err,
                            wrote=True,
                            op=self.op,
                            journal=journal,
                            made=self._made(),
                        ) from None
                    raise
                if isinstance(err, BadResponse) and 200 <= (err.status or 0) < 300:
                    maybe_sent = True  # R54b: Trello took it; its answer was not JSON
                self._open_gate(item)
                if self._breaker.attempt(err):
                    self._halt()
                if rule.benign and _said(err, rule.benign):
                    status = rule.benign_ours if maybe_sent else rule.benign_other
                    self._breaker.finished(None)
                    return self._finish(item, status, err)
                if self._retry.retryable(err):
                    maybe_sent = maybe_sent or not certainly_not_applied(err)
                delay = self._retry.delay(err, attempt, self._rng.random())
                if delay is not None and not self._stop.is_set():
                    logger.info(
                        "%s %s: %s; retrying in %.2f s (attempt %d of %d)",
                        item.action,
                        item.change_id,
                        f"HTTP {err.status} {err.trello_error}".strip() if err.status else err,
                        delay,
                        attempt + 2,
                        self._retry.attempts,
                    )
                    if not self._stop.wait(delay):
                        attempt += 1
                        # Someone may have changed it while the retry waited (R40a: a minute
                        # of 429s); not when an attempt may have landed (then it is ours).
                        late = None if maybe_sent or rule.recheck is None else rule.recheck()
                        if late is not None:
                            return self._finish(item, late[0], why=late[1])
                        continue
                    # Stopping: no more retries; a later run resolves it from live state.
                if not isinstance(err, RateLimited):
                    unreachable = err if isinstance(err, ApiUnreachable) else None
                    if self._breaker.finished(unreachable):
                        self._halt()
                    redirect = isinstance(err, BadResponse) and 300 <= (err.status or 0) < 400
                    if redirect and self._breaker.redirected(err):
                        self._halt()
                elif delay is None and self._breaker.rate_limited(err):  # retries spent
                    self._halt()
                if isinstance(err, NotFound):  # R39b: said "HTTP 404: The requested resource …"
                    return self._finish(item, "drifted", err, why=GONE_SINCE)
                if rule.invalid and err.status == 400 and _said(err, "invalid objectid"):
                    return self._finish(item, "blocked", err, why=rule.invalid)
                return self._finish(item, "failed", err, uncertain=maybe_sent)
            self._breaker.attempt(None)
            self._breaker.finished(None)
            return self._finish(item, rule.ok)

    def _refused_board(
        self, item: Change, err: PermissionDenied, maybe_sent: bool
    ) -> ChangeOutcome:
        """Trello refused a write to ``item``'s board for lack of rights, in a run that goes on
        past such a board: it is ``failed``, the board's writes not yet sent are not sent
        (``_admit``), the other boards' go on, and the report names the board."""
        said = answered(err)
        with self._gates_lock:
            first = item.board_id not in self._refused
            self._refused.setdefault(item.board_id, said or str(err))
        if first:
            logger.info(
                "board %s refused a write (%s): nothing more is sent there, the other boards' "
                "writes go on",
                item.board_id,
                said or err,
            )
        return self._finish(item, "failed", err, uncertain=maybe_sent)

    def _made(self) -> bool:
        """Whether a change of the journal was made on Trello before now: by this run (or
        found made by an earlier run of the plan: ``SKIPPED_DONE``), or, for an undo, by an
        earlier undo of it (R43g: a resumed undo refused at once said no change had been made,
        with the board half undone)."""
        if any(o.status in _MADE for o in list(self.outcomes.values())):
            return True
        earlier = self.journal.undone().values() if self.journal is not None else ()
        return self.op == "undo" and any(r.status == "undone" for r in earlier)

    def _finish(
        self,
        item: Change,
        status: str,
        err: ApiError | None = None,
        *,
        uncertain: bool = False,
        why: str = "",
    ) -> ChangeOutcome:
        http = err.status if err is not None else None
        error = why or ((err.trello_error or str(err)) if err is not None else "")
        if uncertain and err is not None and not why and MAYBE_MADE not in error:
            error += f" ({MAYBE_MADE})"  # R68a: said of an earlier attempt's loss too, and a 5xx
        self.journal_record(item, status, http, error, uncertain=uncertain)
        return outcome_of(item, status, http, error)
