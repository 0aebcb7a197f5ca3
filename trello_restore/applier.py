"""Carry a plan out against live Trello, safely and fast (design.md §5; issue 4).

``apply_plan`` decides nothing of its own beyond each change's precondition against live
state. Order of operations:

1. Refuse a plan made for another API URL or account, or offline (``check_plan_target``), and
   take the locks of the plan and of its boards (``apply_lock``; not for a dry run).
2. Put every request of the run under one ``RateLimiter`` (the api's own, or one made from
   ``ApplyOptions``): reads, writes and retries of every worker share it.
3. Skip what the journal says is done (``applied``/``already_satisfied``): no request for it.
   The plan's ``blocked`` entries are journaled ``blocked``; nothing is written for them.
4. Read live state board by board: one fresh listing of each board's cards (``idMembers``,
   paged) and one of its memberships; never a request per card.
5. Board memberships first (``add_member_to_board``), all finished before any card change.
6. Card members (``add_member_to_card``), concurrently on ``workers`` threads.

Each change's precondition (``decide_card``, ``decide_board``: pure functions of live state)
gives its outcome without a write (``already_satisfied``, ``drifted``, ``blocked``), or a write.
A write is journaled ``pending`` (fsynced) before it is sent and its outcome right after it is
answered, so a killed run loses nothing and duplicates nothing: on resume a ``pending`` change
whose member is on the card was put there by this tool (``applied``, no request). Writes are
retried after a 429 (never processed), a 5xx or a lost connection (possibly processed: a retry
answered ``400 member is already on the card`` is then this tool's own add, ``applied``), with
exponential backoff and jitter, at most ``max_retries`` times; a change still failing is
journaled ``failed`` with the HTTP status and Trello's text, and the run goes on. Only an
``AuthError`` (the token stopped working) stops the run.

``undo.py`` reuses the machinery (``Runner``, ``read_live``, ``apply_lock``).
"""

from __future__ import annotations

import contextlib
import dataclasses
import logging
import random
import threading
import time
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from concurrent.futures import Future, ThreadPoolExecutor, as_completed
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, cast

from filelock import FileLock, Timeout

from trello_restore import config
from trello_restore.api import MemberStandIn, TrelloApi, certainly_not_applied, retry_delay
from trello_restore.errors import (
    ApiError,
    ApiUnreachable,
    AuthError,
    ExitCode,
    LockHeld,
    NotFound,
    RateLimited,
    UsageError,
)
from trello_restore.fetcher import board_cards
from trello_restore.history import HistoryError, parse_board
from trello_restore.journal import DONE, Journal, JournalRecord, Op, Status
from trello_restore.limiter import RateLimiter
from trello_restore.models import CardState, Membership
from trello_restore.planfile import FORMAT, FORMAT_VERSION, PlanDict, plan_digest

__all__ = [
    "ALREADY_ON_CARD",
    "ApplyOptions",
    "ApplyReport",
    "ChangeOutcome",
    "LiveBoard",
    "apply_lock",
    "apply_plan",
    "check_plan_target",
    "decide_board",
    "decide_card",
    "read_live",
]

logger = logging.getLogger(__name__)

#: Trello's answer to adding a member who is on the card already (notes §3.1): success.
ALREADY_ON_CARD = "member is already on the card"
#: Outcomes that make a run a partial failure.
PROBLEMS = frozenset({"failed", "drifted", "blocked"})
#: Outcomes a dry run reports for a change it would write.
WOULD_APPLY = "would_apply"
#: Outcome of a change an earlier run finished (no request, nothing journaled).
SKIPPED_DONE = "skipped_done"


# ------------------------------------------------------------------------------------ values


@dataclass(frozen=True)
class ApplyOptions:
    """How to apply (or undo): concurrency, rate, retries, dry run. Windows and backoff are in
    real seconds (divide by the sandbox's ``time_scale`` when it has one)."""

    #: Worker threads sending writes at once (latency is hidden behind them).
    workers: int = 8
    #: Requests per window per token: a margin under Trello's 100.
    token_limit: int = 90
    #: Requests per window per API key: a margin under Trello's 300.
    key_limit: int = 270
    #: Trello's rate window, in seconds.
    window_s: float = 10.0
    #: Retries of a write after a 429, a 5xx or a connection error (attempts = retries + 1).
    max_retries: int = 5
    #: Backoff base in seconds for 5xx and connection errors: ``backoff_s * 2**n``, jittered.
    backoff_s: float = 1.0
    #: Read live state and report what would happen; write nothing, journal nothing.
    dry_run: bool = False

    def __post_init__(self) -> None:
        """Refuse values no run could work with (ValueError: a programming error)."""
        if self.workers < 1 or self.token_limit < 1 or self.key_limit < 1:
            raise ValueError("workers and rate limits must be at least 1")
        if not self.window_s > 0:
            raise ValueError("window_s must be positive")
        if self.max_retries < 0 or self.backoff_s < 0:
            raise ValueError("max_retries and backoff_s must not be negative")

    def make_limiter(self) -> RateLimiter:
        """A limiter with these limits."""
        return RateLimiter(self.token_limit, self.window_s, key_limit=self.key_limit)


@dataclass(frozen=True)
class ChangeOutcome:
    """What happened to one change in this run."""

    change_id: str
    #: ``add_member_to_card`` or ``add_member_to_board`` (the plan's action; undo keeps it).
    action: str
    #: ``applied``, ``already_satisfied``, ``drifted``, ``blocked``, ``failed``,
    #: ``skipped_done``, ``would_apply``; for undo ``undone``, ``not_on_card``, ``would_undo``.
    status: str
    board_id: str
    #: Empty for board memberships.
    card_id: str
    member_id: str
    #: The HTTP status of the last answer, for failures (None when there was none).
    http_status: int | None = None
    #: Why: Trello's error text, or the precondition that decided it.
    error: str = ""


@dataclass
class ApplyReport:
    """The outcome of an apply or undo run."""

    #: One per change of the plan (or undoable journal record), in plan order.
    outcomes: list[ChangeOutcome]
    #: Outcomes by status.
    counts: dict[str, int]
    #: The journal written (or read, on a dry run); None without one.
    journal_path: Path | None
    #: Requests sent over the network by this run (retries included).
    requests_sent: int
    #: 429 answers received.
    rate_limited: int
    #: Wall-clock seconds.
    seconds: float

    @property
    def exit_code(self) -> ExitCode:
        """OK when nothing failed, drifted or was blocked; PARTIAL otherwise."""
        if any(self.counts.get(s) for s in PROBLEMS):
            return ExitCode.PARTIAL
        return ExitCode.OK


@dataclass(frozen=True)
class Item:
    """One change as the engine needs it (from a plan, or from a journal for undo)."""

    change_id: str
    action: str
    board_id: str
    card_id: str
    member: MemberStandIn
    #: The board role to grant (board changes).
    role: str = ""

    def outcome(
        self, status: str, http_status: int | None = None, error: str = ""
    ) -> ChangeOutcome:
        """This change's outcome."""
        return ChangeOutcome(
            self.change_id,
            self.action,
            status,
            self.board_id,
            self.card_id,
            self.member.id,
            http_status,
            error,
        )


def _item(c: Mapping[str, Any]) -> Item:
    m = c["member"]
    member = MemberStandIn(m["id"], m.get("username", ""), m.get("fullName", ""))
    card = c.get("card") or {}
    return Item(
        c["change_id"], c["action"], c["board"]["id"], card.get("id", ""), member, c.get("role", "")
    )


# ------------------------------------------------------------------------------ target, lock


def check_plan_target(doc: Mapping[str, Any], api_url: str, account_id: str) -> None:
    """Refuse (``UsageError``) a plan made offline, or for another API URL or account."""
    account = doc.get("account")
    if not isinstance(account, Mapping) or not account.get("id"):
        raise UsageError(
            "this plan was made offline from board exports and names no account, so it cannot "
            "be applied; make the plan over the API (--board … --plan-out FILE) and apply that"
        )
    planned_url = str(doc.get("api_url", "")).rstrip("/")
    if planned_url != api_url.rstrip("/"):
        raise UsageError(
            f"this plan was made for {planned_url}, not {api_url.rstrip('/')}; pass --api-url "
            "(or TRELLO_API_URL) for the API it was made for, or make a new plan"
        )
    if account["id"] != account_id:
        who = account.get("username") or account["id"]
        raise UsageError(
            f"this plan was made by Trello account {who}, not the token's; use that account's "
            "token, or make a new plan with this one"
        )


def lock_names(plan_key: str, board_ids: Iterable[str]) -> list[str]:
    """The lock files a run takes: one for the plan, one per board it changes."""
    return [f"plan-{plan_key[:16]}", *(f"board-{b}" for b in sorted(set(board_ids)))]


@contextlib.contextmanager
def apply_lock(names: Sequence[str], lock_dir: Path | None = None) -> Iterator[None]:
    """Hold the named locks (in ``state_dir()/locks``), or raise ``LockHeld`` at once.

    Non-blocking: another run of the same plan or on the same board means this one stops
    before it writes anything. The locks are released when the block ends (and by the
    operating system if the process dies)."""
    directory = lock_dir if lock_dir is not None else config.state_dir() / "locks"
    try:
        directory.mkdir(parents=True, exist_ok=True, mode=0o700)
    except OSError as exc:
        raise UsageError(
            f"cannot create the lock directory {directory} ({exc.strerror or exc}); check "
            "TRELLO_RESTORE_HOME and the directory's permissions"
        ) from None
    held: list[FileLock] = []
    try:
        for name in names:
            lock = FileLock(directory / f"{name}.lock")
            try:
                lock.acquire(blocking=False)
            except Timeout:
                what = "plan" if name.startswith("plan-") else f"board {name[len('board-') :]}"
                raise LockHeld(
                    f"another trello-restore run is applying or undoing this {what} "
                    f"(lock {lock.lock_file}); wait for it to finish and run again"
                ) from None
            held.append(lock)
        yield
    finally:
        for lock in reversed(held):
            lock.release()


# -------------------------------------------------------------------------------- live state


@dataclass(frozen=True)
class LiveBoard:
    """A board as it is now: its cards and memberships, or why it could not be read."""

    board_id: str
    #: Card id → card, from one fresh listing; None when the board is gone.
    cards: dict[str, CardState] | None
    memberships: dict[str, Membership] = field(default_factory=dict)
    #: Why ``cards`` is None.
    error: str = ""

    def is_active(self, member_id: str) -> bool:
        """An active (confirmed, not deactivated) member of the board, of any type."""
        ms = self.memberships.get(member_id)
        return ms is not None and ms.active


def read_live(api: TrelloApi, board_ids: Iterable[str]) -> dict[str, LiveBoard]:
    """One fresh listing of each board's cards (paged) and of its memberships.

    A board Trello no longer finds is ``LiveBoard(cards=None)`` (its changes drift); any other
    error (auth, unreachable) is raised before anything is written."""
    out: dict[str, LiveBoard] = {}
    for board_id in sorted(set(board_ids)):
        try:
            cards = {c.id: c for c in board_cards(api, board_id)}
            raw = api.get(f"boards/{board_id}/memberships", {"filter": "all"})
        except NotFound as err:
            out[board_id] = LiveBoard(board_id, None, {}, f"the board is gone ({err.trello_error})")
            continue
        try:
            memberships = parse_board({"id": board_id}, raw).memberships
        except HistoryError as exc:
            raise ApiUnreachable(
                f"Trello answered board {board_id}'s memberships oddly ({exc}); try again later"
            ) from None
        out[board_id] = LiveBoard(board_id, cards, memberships)
    return out


# -------------------------------------------------------------------------------- decisions

#: A decision: the final ``(status, why)``, or None when the change needs its write.
Decision = tuple[str, str] | None


def decide_board(item: Item, live: LiveBoard, *, resumed: bool) -> Decision:
    """Grant a board membership? Not when the member is an active member already (then it is
    ``applied`` if an earlier, killed run of this plan had sent the grant: ``resumed``), nor
    for a deactivated member (never granted), nor on a board that is gone."""
    if live.cards is None:
        return "drifted", live.error
    if live.is_active(item.member.id):
        return ("applied", "") if resumed else ("already_satisfied", "")
    ms = live.memberships.get(item.member.id)
    if ms is not None and ms.deactivated:
        return "blocked", "the member is deactivated on the board: never granted"
    return None


def decide_card(
    item: Item, live: LiveBoard, *, resumed: bool, grant: str | None, dry_run: bool = False
) -> Decision:
    """Add the member to the card? ``grant`` is this run's outcome of the plan's grant of board
    membership to the member (None when the plan has none).

    - board or card gone, or the card on another board → ``drifted``;
    - member on the card → ``already_satisfied`` (``applied`` when ``resumed``: the member is
      there because of this tool's own earlier attempt, journaled ``pending``);
    - member neither an active board member nor granted membership in this run → ``blocked``
      (``failed`` when the grant failed, so that a re-run retries both);
    - otherwise the write is needed.
    """
    if live.cards is None:
        return "drifted", live.error
    card = live.cards.get(item.card_id)
    if card is None or card.board_id != item.board_id:
        return "drifted", "the card was deleted or moved to another board"
    if item.member.id in card.member_ids:
        return ("applied", "") if resumed else ("already_satisfied", "")
    granted = ("applied", "already_satisfied", WOULD_APPLY) if dry_run else ("applied",)
    if live.is_active(item.member.id) or grant in granted:
        return None
    if grant == "failed":
        return "failed", "granting the member board membership failed"
    return "blocked", "the member is not an active member of the card's board"


# ------------------------------------------------------------------------------------ runner


def _said(err: ApiError, text: str) -> bool:
    return err.trello_error.strip().rstrip(".").lower() == text


class Runner:
    """Runs one apply or undo: journals, retries, workers, and the report.

    Outcomes reach ``progress`` in the calling thread, as they happen; the journal is written by
    whichever thread learns the outcome, under one lock."""

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
        self._rng = random.Random()
        self._retry_settings = dataclasses.replace(
            api.settings, backoff_s=options.backoff_s, rate_window_s=options.window_s
        )
        self._started = time.monotonic()
        self._sent0 = api.requests_sent
        self._limited0 = api.rate_limited
        self._own_limiter = api.limiter is None
        self._executor: ThreadPoolExecutor | None = None
        self._batch: list[JournalRecord] = []

    # ----------------------------------------------------------------------- life cycle

    def __enter__(self) -> Runner:
        if self._own_limiter:
            self.api.use_limiter(self.options.make_limiter())
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        try:
            if self._executor is not None:
                self._executor.shutdown(wait=True, cancel_futures=True)
            self.flush()
        finally:
            if self._own_limiter:
                self.api.use_limiter(None)

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
        )

    # ------------------------------------------------------------------------- outcomes

    def journal_record(
        self,
        item: Item,
        status: str,
        http: int | None = None,
        error: str = "",
        *,
        uncertain: bool = False,
    ) -> None:
        """Append one record (fsynced); nothing on a dry run."""
        record = self._record(item, status, http, error, uncertain=uncertain)
        if record is not None:
            with self._journal_lock:
                assert self.journal is not None
                self.journal.append(record)

    def _record(
        self, item: Item, status: str, http: int | None, error: str, *, uncertain: bool = False
    ) -> JournalRecord | None:
        if self.journal is None or self.options.dry_run:
            return None
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
        )

    def flush(self) -> None:
        """Journal the outcomes ``settle`` decided (one fsync for all of them)."""
        with self._journal_lock:
            batch, self._batch = self._batch, []
            if batch and self.journal is not None:
                self.journal.append_many(batch)

    def emit(self, outcome: ChangeOutcome) -> None:
        """Report one outcome (calling thread only)."""
        self.outcomes[outcome.change_id] = outcome
        if self.progress is not None:
            self.progress(outcome)

    def settle(self, item: Item, status: str, why: str = "", *, journal: bool = True) -> None:
        """An outcome decided without a write: journal it and report it. (A dry run reports
        what a run would journal, except that a resumed change found done is simply
        ``already_satisfied``: nothing to do.)"""
        if self.options.dry_run and status == "applied":
            status = "already_satisfied"
        record = self._record(item, status, None, why) if journal else None
        if record is not None:
            with self._journal_lock:
                self._batch.append(record)
        self.emit(item.outcome(status, None, why))

    # --------------------------------------------------------------------------- writes

    def run_writes(self, jobs: Sequence[tuple[Item, Callable[[], object], WriteRule]]) -> None:
        """Send the writes on the worker pool; returns when all are answered (or raises the
        first ``AuthError`` after the writes in flight are answered and journaled)."""
        self.flush()
        if not jobs:
            return
        if self._executor is None:
            self._executor = ThreadPoolExecutor(
                max_workers=self.options.workers, thread_name_prefix="trello-restore"
            )
        futures: list[Future[ChangeOutcome | None]] = [
            self._executor.submit(self._write, item, send, rule) for item, send, rule in jobs
        ]
        try:
            for future in as_completed(futures):
                outcome = future.result()
                if outcome is not None:
                    self.emit(outcome)
        except BaseException:
            self._stop.set()
            for f in futures:
                f.cancel()
            raise

    def _write(
        self, item: Item, send: Callable[[], object], rule: WriteRule
    ) -> ChangeOutcome | None:
        """One write with its retries, journaled ``pending`` first and its outcome after."""
        if self._stop.is_set():
            return None
        self.journal_record(item, "pending")
        maybe_sent = rule.resumed
        attempt = 0
        while True:
            try:
                send()
            except ApiError as err:
                if rule.benign and _said(err, rule.benign):
                    status = rule.benign_ours if maybe_sent else rule.benign_other
                    return self._finish(item, status, err)
                retryable = isinstance(err, RateLimited | ApiUnreachable)
                if retryable:
                    maybe_sent = maybe_sent or not certainly_not_applied(err)
                if isinstance(err, AuthError):
                    self._stop.set()
                    self._finish(item, "failed", err, uncertain=maybe_sent)
                    raise
                if retryable and attempt < self.options.max_retries:
                    delay = retry_delay(err, attempt, self._retry_settings, self._rng.random())
                    logger.info(
                        "%s %s: %s; retrying in %.2f s (attempt %d of %d)",
                        item.action,
                        item.change_id,
                        f"HTTP {err.status} {err.trello_error}".strip() if err.status else err,
                        delay or 0.0,
                        attempt + 2,
                        self.options.max_retries + 1,
                    )
                    if self._stop.wait(delay or 0.0):
                        return None  # stopping: the pending record stands, a re-run resolves it
                    attempt += 1
                    continue
                if isinstance(err, NotFound):
                    return self._finish(item, "drifted", err)
                return self._finish(item, "failed", err, uncertain=maybe_sent)
            return self._finish(item, rule.ok)

    def _finish(
        self, item: Item, status: str, err: ApiError | None = None, *, uncertain: bool = False
    ) -> ChangeOutcome:
        http = err.status if err is not None else None
        error = (err.trello_error or str(err)) if err is not None else ""
        self.journal_record(item, status, http, error, uncertain=uncertain)
        return item.outcome(status, http, error)


@dataclass(frozen=True)
class WriteRule:
    """How to read a write's answers."""

    #: The outcome of a 2xx.
    ok: str
    #: Trello's text for "nothing to do" (``member is already on the card``), or "".
    benign: str = ""
    #: That text answering a retry of this tool's own earlier attempt.
    benign_ours: str = ""
    #: That text answering the first attempt: someone else's doing.
    benign_other: str = ""
    #: A ``pending`` record shows an earlier, killed run sent this write.
    resumed: bool = False


# ------------------------------------------------------------------------------------- apply


def apply_plan(
    doc: PlanDict,
    api: TrelloApi,
    journal: Journal | None,
    options: ApplyOptions,
    progress: Callable[[ChangeOutcome], None] | None = None,
) -> ApplyReport:
    """Apply a validated plan document exactly as written; see the module docstring.

    ``journal`` is the plan's journal (``Journal.open`` with this plan's digest); it may be None
    only on a dry run, where it is read (never written) when given. The locks are taken here.
    Raises ``UsageError`` for a plan of another target or journal, ``LockHeld`` when another run
    holds the plan or one of its boards, ``ApiError`` when live state cannot be read (before
    any write) or the token stops working (after the writes in flight are journaled)."""
    if doc.get("format") != FORMAT or doc.get("format_version") != FORMAT_VERSION:
        # read_plan / plan_to_dict give validated documents; this only guards against others.
        raise UsageError(
            f"this is not a trello-restore plan of format {FORMAT_VERSION}; make the plan again "
            "with --plan-out"
        )
    digest = plan_digest(doc)
    if journal is None and not options.dry_run:
        raise ValueError("apply_plan needs a journal unless it is a dry run")
    if journal is not None and journal.header.plan_digest != digest:
        raise UsageError(
            f"{journal.path} is the journal of another plan; pass a different --journal or "
            "apply the plan it belongs to"
        )
    check_plan_target(doc, api.settings.api_url, str(api.me()["id"]))
    changes = [_item(c) for c in doc["changes"]]
    blocked = [_item(b["change"]) for b in doc["blocked"]]
    order = [i.change_id for i in (*changes, *blocked)]
    boards = {i.board_id for i in (*changes, *blocked)}
    locks: contextlib.AbstractContextManager[None] = (
        contextlib.nullcontext() if options.dry_run else apply_lock(lock_names(digest, boards))
    )
    with locks, Runner(api, journal, options, "apply", progress) as run:
        _apply(run, changes, blocked, journal)
        return run.report(order)


def _apply(run: Runner, changes: list[Item], blocked: list[Item], journal: Journal | None) -> None:
    dry = run.options.dry_run
    latest = journal.latest() if journal is not None else {}
    done = {cid for cid, r in latest.items() if r.op == "apply" and r.status in DONE}
    resumed = journal.pending() if journal is not None else set()
    resumed = {cid for cid in resumed if latest[cid].op == "apply"}
    for item in blocked:
        last = latest.get(item.change_id)
        again = last is not None and last.op == "apply" and last.status == "blocked"
        run.settle(item, "blocked", "not_board_member", journal=not again)
    todo: list[Item] = []
    for item in changes:
        if item.change_id in done:
            run.settle(item, SKIPPED_DONE, journal=False)
        else:
            todo.append(item)
    if not todo:
        return
    live = read_live(run.api, {i.board_id for i in todo})
    grants = [i for i in todo if i.action == "add_member_to_board"]
    cards = [i for i in todo if i.action == "add_member_to_card"]

    jobs: list[tuple[Item, Callable[[], object], WriteRule]] = []
    for item in grants:
        decision = decide_board(item, live[item.board_id], resumed=item.change_id in resumed)
        if decision is not None:
            run.settle(item, *decision)
        elif dry:
            run.settle(item, WOULD_APPLY)
        else:
            send = _grant_call(run.api, item)
            jobs.append((item, send, WriteRule("applied", resumed=item.change_id in resumed)))
    run.run_writes(jobs)  # every grant is answered before any card change starts

    grant_status = {(g.board_id, g.member.id): run.outcomes[g.change_id].status for g in grants}
    jobs = []
    for item in cards:
        decision = decide_card(
            item,
            live[item.board_id],
            resumed=item.change_id in resumed,
            grant=grant_status.get((item.board_id, item.member.id)),
            dry_run=dry,
        )
        if decision is not None:
            run.settle(item, *decision)
        elif dry:
            run.settle(item, WOULD_APPLY)
        else:
            rule = WriteRule(
                "applied",
                benign=ALREADY_ON_CARD,
                benign_ours="applied",
                benign_other="already_satisfied",
                resumed=item.change_id in resumed,
            )
            jobs.append((item, _add_call(run.api, item), rule))
    run.run_writes(jobs)


def _grant_call(api: TrelloApi, item: Item) -> Callable[[], object]:
    return lambda: api.add_board_member(item.board_id, item.member, item.role or "normal")


def _add_call(api: TrelloApi, item: Item) -> Callable[[], object]:
    return lambda: api.add_card_member(item.card_id, item.member)
