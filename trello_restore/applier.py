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
   paged) and one of its memberships; never a request per card. The other boards the plan
   touches (its boards in scope) are read for their memberships only, to know who is
   deactivated: a member deactivated on any of them is never granted nor added.
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
journaled ``failed`` with the HTTP status and Trello's text, and the run goes on.

Stopping (design.md §5). Three things stop a run early; what is in flight is answered and
journaled, nothing more is sent, and the changes never started are reported
``not_attempted`` and not journaled (a re-run does them):

- an ``AuthError`` (the token stopped working): raised as it is;
- a permission refusal (``PermissionDenied``) of a write: raised as one line naming the
  token's member and the board. So that it costs one write and not one per worker, the first
  write of each kind to each board goes alone (``Runner._admit``), the others follow once it is
  answered with anything but a refusal;
- Trello failing persistently (``Breaker``): many write attempts in a row answered 5xx or not
  at all, over at least one backoff, or most of the recent writes failing after their retries.
  The run ends with ``ApplyReport.stopped`` set (exit code "unreachable"); retries waiting
  for their turn are not sent. A 429 counts for neither: the shared limiter already slows
  every worker to the budget.

``undo.py`` reuses the machinery (``Runner``, ``read_live``, ``apply_lock``).
"""

from __future__ import annotations

import contextlib
import dataclasses
import logging
import random
import threading
import time
from collections import deque
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
    PermissionDenied,
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
    "NOT_ATTEMPTED",
    "ApplyOptions",
    "ApplyReport",
    "Breaker",
    "ChangeOutcome",
    "LiveBoard",
    "apply_lock",
    "apply_plan",
    "check_plan_target",
    "deactivated_members",
    "decide_board",
    "decide_card",
    "read_live",
    "read_memberships",
    "refusal",
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
#: Outcome of a change a stopped run never started (nothing sent, nothing journaled).
NOT_ATTEMPTED = "not_attempted"


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
    #: The breaker opens after this many write attempts in a row failed with a 5xx or no
    #: answer (retries included, across workers), lasting at least ``backoff_s`` (or fewer
    #: over a longer time, see ``Breaker``).
    breaker_attempts: int = 16
    #: ... or when more than half of the last this-many writes failed after their retries.
    breaker_window: int = 20

    def __post_init__(self) -> None:
        """Refuse values no run could work with (ValueError: a programming error)."""
        if self.workers < 1 or self.token_limit < 1 or self.key_limit < 1:
            raise ValueError("workers and rate limits must be at least 1")
        if self.breaker_attempts < 1 or self.breaker_window < 1:
            raise ValueError("the breaker's thresholds must be at least 1")
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
    #: Why the run stopped before it was done (Trello kept failing), or "" when it was not.
    stopped: str = ""

    @property
    def exit_code(self) -> ExitCode:
        """UNREACHABLE when the run was stopped because Trello kept failing; else OK when
        nothing failed, drifted or was blocked; PARTIAL otherwise."""
        if self.stopped:
            return ExitCode.UNREACHABLE
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
    #: The board's name, for messages ("" when unknown, e.g. from a journal).
    board_name: str = ""

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
        c["change_id"],
        c["action"],
        c["board"]["id"],
        card.get("id", ""),
        member,
        c.get("role", ""),
        str(c["board"].get("name") or ""),
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


def read_live(
    api: TrelloApi, board_ids: Iterable[str], names: Mapping[str, str] | None = None
) -> dict[str, LiveBoard]:
    """One fresh listing of each board's cards (paged) and of its memberships.

    A board Trello no longer finds is ``LiveBoard(cards=None)`` (its changes drift); any other
    error (auth, unreachable) is raised before anything is written, a refusal to read a board
    (``PermissionDenied``) as one line naming the token's member and the board (``names``:
    board id → name, for that message)."""
    out: dict[str, LiveBoard] = {}
    for board_id in sorted(set(board_ids)):
        try:
            cards = {c.id: c for c in board_cards(api, board_id)}
            memberships = read_memberships(api, board_id)
        except NotFound as err:
            out[board_id] = LiveBoard(board_id, None, {}, f"the board is gone ({err.trello_error})")
            continue
        except PermissionDenied as err:
            name = (names or {}).get(board_id, "")
            raise refusal(api, board_id, name, err, wrote=False) from None
        out[board_id] = LiveBoard(board_id, cards, memberships)
    return out


def read_memberships(api: TrelloApi, board_id: str) -> dict[str, Membership]:
    """One fresh read of a board's memberships (deactivated ones included), by member id."""
    raw = api.get(f"boards/{board_id}/memberships", {"filter": "all"})
    try:
        return parse_board({"id": board_id}, raw).memberships
    except HistoryError as exc:
        raise ApiUnreachable(
            f"Trello answered board {board_id}'s memberships oddly ({exc}); try again later"
        ) from None


def deactivated_members(
    api: TrelloApi, live: Mapping[str, LiveBoard], other_boards: Iterable[str]
) -> dict[str, str]:
    """Member id → id of a board where the membership says ``deactivated``, over the boards of
    ``live`` and ``other_boards`` (the rest of the boards the plan touches: one memberships
    read each). A board among those that is gone or that the token may no longer read is
    left out (the boards the changes are on are in ``live``)."""
    boards = {b: lb.memberships for b, lb in live.items()}
    for board_id in sorted(set(other_boards) - set(live)):
        try:
            boards[board_id] = read_memberships(api, board_id)
        except (NotFound, PermissionDenied) as err:
            logger.warning(
                "board %s: its memberships cannot be read (%s); deactivations there are not "
                "checked",
                board_id,
                err.trello_error or err,
            )
    out: dict[str, str] = {}
    for board_id, memberships in sorted(boards.items()):
        for member_id, ms in memberships.items():
            if ms.deactivated:
                out.setdefault(member_id, board_id)
    return out


def refusal(
    api: TrelloApi, board_id: str, board_name: str, err: ApiError, *, wrote: bool
) -> PermissionDenied:
    """The one-line error for Trello refusing the token's member a board: who the member is
    (``members/me``, already read), which board (by name: ``board_name``, else one read of the
    board's name, else its id), and what to do. ``wrote``: the refusal answered a write (the
    journal then holds what was done), not a read."""
    try:
        me = api.me()
        user = f"@{me['username']}" if me.get("username") else str(me["id"])
        who = f"{user} ({me['fullName']})" if me.get("fullName") else user
    except ApiError:
        user = who = "the token's member"
    if not board_name:
        try:
            raw = api.get(f"boards/{board_id}", {"fields": "name"})
            board_name = str(raw.get("name") or "") if isinstance(raw, dict) else ""
        except ApiError:
            board_name = ""
    board = f'board "{board_name}"' if board_name else f"board {board_id}"
    said = " ".join(x for x in (f"HTTP {err.status}" if err.status else "", err.trello_error) if x)
    verb, after = (
        ("change", "nothing more was sent, and what was done is in the journal")
        if wrote
        else ("read", "nothing was written")
    )
    return PermissionDenied(
        f"Trello refused to let the token's member {who} {verb} {board}"
        f"{f' ({said})' if said else ''}; {after}. Ask a board admin to make {user} a normal "
        "member of that board (or to reactivate them), then run the same command again to "
        "resume; or plan again with the token of a member who can edit it",
        err.status,
        err.trello_error,
    )


# -------------------------------------------------------------------------------- decisions

#: A decision: the final ``(status, why)``, or None when the change needs its write.
Decision = tuple[str, str] | None


def _deactivated_on(item: Item, live: LiveBoard, deactivated_on: str | None) -> str | None:
    """Where the member is deactivated: ``this board``, else ``deactivated_on`` (another board
    the plan touches, as it reads in a message), else None."""
    ms = live.memberships.get(item.member.id)
    if ms is not None and ms.deactivated:
        return "this board"
    return deactivated_on


def decide_board(
    item: Item, live: LiveBoard, *, resumed: bool, deactivated_on: str | None = None
) -> Decision:
    """Grant a board membership? Not when the member is an active member already (then it is
    ``applied`` if an earlier, killed run of this plan had sent the grant: ``resumed``), nor
    for a member deactivated on this board or on another board the plan touches
    (``deactivated_on``: never granted), nor on a board that is gone."""
    if live.cards is None:
        return "drifted", live.error
    if live.is_active(item.member.id):
        return ("applied", "") if resumed else ("already_satisfied", "")
    where = _deactivated_on(item, live, deactivated_on)
    if where is not None:
        return "blocked", f"the member is deactivated (on {where}): never granted"
    return None


def decide_card(
    item: Item,
    live: LiveBoard,
    *,
    resumed: bool,
    grant: str | None,
    dry_run: bool = False,
    deactivated_on: str | None = None,
) -> Decision:
    """Add the member to the card? ``grant`` is this run's outcome of the plan's grant of board
    membership to the member (None when the plan has none); ``deactivated_on`` names a board
    the plan touches where the member's membership says deactivated (None when none does).

    - board or card gone, or the card on another board → ``drifted``;
    - member on the card → ``already_satisfied`` (``applied`` when ``resumed``: the member is
      there because of this tool's own earlier attempt, journaled ``pending``);
    - member deactivated on this board or on ``deactivated_on`` → ``blocked`` (never added);
    - the grant was not attempted (the run is stopping) → ``not_attempted``;
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
    where = _deactivated_on(item, live, deactivated_on)
    if where is not None:
        return "blocked", f"the member is deactivated (on {where}): never added"
    if grant == NOT_ATTEMPTED:
        return NOT_ATTEMPTED, "its board membership was not granted: the run stopped"
    granted = ("applied", "already_satisfied", WOULD_APPLY) if dry_run else ("applied",)
    if live.is_active(item.member.id) or grant in granted:
        return None
    if grant == "failed":
        return "failed", "granting the member board membership failed"
    return "blocked", "the member is not an active member of the card's board"


# ------------------------------------------------------------------------------------ runner


class Breaker:
    """Decides when Trello is failing persistently enough to stop writing (design.md §5,
    "Stopping"). Thread-safe; fed by every write attempt and every write's final outcome.

    It opens when the write attempts of a streak (in a row, across workers, retries included)
    all got a 5xx or no answer, and the streak holds ``attempts`` of them over at least
    ``span_s`` (so one burst of concurrent failures that their retries recover from does not
    open it), or, when few writes are in flight, ``SLOW_ATTEMPTS`` over at least
    ``SLOW_SPANS * span_s`` (a lone write does not run through all its retries); or when more
    than half of the last ``window`` writes failed that way after their retries. Any other
    answer (a success, a 4xx) ends the streak; a 429 neither counts nor ends it (the limiter
    slows everyone)."""

    #: The streak that opens the breaker when few writes are in flight: this many attempts...
    SLOW_ATTEMPTS = 3
    #: ... lasting this many times ``span_s`` (the backoff base: a write's third retry).
    SLOW_SPANS = 4

    def __init__(
        self,
        attempts: int,
        span_s: float,
        window: int,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.attempts = attempts
        self.span_s = span_s
        self.window = window
        self._clock = clock
        self._lock = threading.Lock()
        self._streak = 0
        self._streak_started = 0.0
        self._recent: deque[bool] = deque(maxlen=window)
        #: Why it opened ("" while closed).
        self.reason = ""

    @property
    def open(self) -> bool:
        """True once it has opened (it never closes: the run stops)."""
        return bool(self.reason)

    def attempt(self, error: ApiError | None) -> bool:
        """One write attempt answered (``error`` None: a success); True if now open."""
        with self._lock:
            if isinstance(error, RateLimited):
                return self.open
            if not isinstance(error, ApiUnreachable):
                self._streak = 0
                return self.open
            now = self._clock()
            if self._streak == 0:
                self._streak_started = now
            self._streak += 1
            lasted = now - self._streak_started
            many = self._streak >= self.attempts and lasted >= self.span_s
            long = self._streak >= self.SLOW_ATTEMPTS and lasted >= self.SLOW_SPANS * self.span_s
            if not self.open and (many or long):
                self.reason = (
                    f"Trello kept failing: {self._streak} write attempts in a row got a 5xx or "
                    f"no answer, over {lasted:.3g} s (the last: {_answer(error)})"
                )
            return self.open

    def finished(self, failed: ApiError | None) -> bool:
        """One write finished: ``failed`` is its last error when it failed with a 5xx or no
        answer after its retries, else None; True if now open."""
        with self._lock:
            self._recent.append(failed is not None)
            bad = sum(self._recent)
            if not self.open and failed is not None and 2 * bad > self.window:
                self.reason = (
                    f"Trello kept failing: {bad} of the last {len(self._recent)} writes failed "
                    f"after their retries (last: {_answer(failed)})"
                )
            return self.open


def _answer(error: ApiError) -> str:
    return f"HTTP {error.status}" if error.status else "no answer"


def _said(err: ApiError, text: str) -> bool:
    return err.trello_error.strip().rstrip(".").lower() == text


class Runner:
    """Runs one apply or undo: journals, retries, workers, stopping, and the report.

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
        self._breaker = Breaker(options.breaker_attempts, options.backoff_s, options.breaker_window)
        #: (board id, action) → opened once the first such write is answered (``_admit``).
        self._gates: dict[tuple[str, str], threading.Event] = {}
        self._gates_lock = threading.Lock()
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
        self._halt()
        try:
            if self._executor is not None:
                self._executor.shutdown(wait=True, cancel_futures=True)
            self.flush()
        finally:
            if self._own_limiter:
                self.api.use_limiter(None)

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
        if self.journal is None or self.options.dry_run or status == NOT_ATTEMPTED:
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
        ``already_satisfied``: nothing to do.) ``not_attempted`` is never journaled."""
        if self.options.dry_run and status == "applied":
            status = "already_satisfied"
        record = self._record(item, status, None, why) if journal else None
        if record is not None:
            with self._journal_lock:
                self._batch.append(record)
        self.emit(item.outcome(status, None, why))

    # --------------------------------------------------------------------------- writes

    def run_writes(self, jobs: Sequence[tuple[Item, Callable[[], object], WriteRule]]) -> None:
        """Send the writes on the worker pool; returns when all are answered or, once the run
        is stopping, reported ``not_attempted`` (or raises the first ``AuthError`` or
        permission refusal after the writes in flight are answered and journaled)."""
        self.flush()
        if not jobs:
            return
        if self._executor is None:
            self._executor = ThreadPoolExecutor(
                max_workers=self.options.workers, thread_name_prefix="trello-restore"
            )
        futures: list[Future[ChangeOutcome]] = [
            self._executor.submit(self._write, item, send, rule) for item, send, rule in jobs
        ]
        try:
            for future in as_completed(futures):
                self.emit(future.result())
        except BaseException:
            self._halt()
            for f in futures:
                f.cancel()
            raise

    def _admit(self, item: Item) -> bool:
        """May this write be sent? False once the run is stopping. The first write of each kind
        to each board goes alone (it opens the gate when answered with anything but a
        refusal), so a token without the right to write there costs one write, not one per
        worker."""
        key = (item.board_id, item.action)
        with self._gates_lock:
            if self._stop.is_set():
                return False
            gate = self._gates.get(key)
            if gate is None:
                self._gates[key] = threading.Event()
                return True
        gate.wait()
        return not self._stop.is_set()

    def _open_gate(self, item: Item) -> None:
        with self._gates_lock:
            self._gates[(item.board_id, item.action)].set()

    def _write(self, item: Item, send: Callable[[], object], rule: WriteRule) -> ChangeOutcome:
        """One write with its retries, journaled ``pending`` first and its outcome after;
        ``not_attempted`` (nothing sent, nothing journaled) when the run is stopping."""
        if not self._admit(item):
            return item.outcome(NOT_ATTEMPTED)
        try:
            return self._send(item, send, rule)
        finally:
            self._open_gate(item)

    def _send(self, item: Item, send: Callable[[], object], rule: WriteRule) -> ChangeOutcome:
        self.journal_record(item, "pending")
        maybe_sent = rule.resumed
        attempt = 0
        while True:
            try:
                send()
            except ApiError as err:
                if isinstance(err, AuthError | PermissionDenied):
                    self._halt()
                    self._finish(item, "failed", err, uncertain=maybe_sent)
                    if isinstance(err, PermissionDenied):
                        raise refusal(
                            self.api, item.board_id, item.board_name, err, wrote=True
                        ) from None
                    raise
                self._open_gate(item)
                if self._breaker.attempt(err):
                    self._halt()
                if rule.benign and _said(err, rule.benign):
                    status = rule.benign_ours if maybe_sent else rule.benign_other
                    self._breaker.finished(None)
                    return self._finish(item, status, err)
                retryable = isinstance(err, RateLimited | ApiUnreachable)
                if retryable:
                    maybe_sent = maybe_sent or not certainly_not_applied(err)
                if retryable and attempt < self.options.max_retries and not self._stop.is_set():
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
                    if not self._stop.wait(delay or 0.0):
                        attempt += 1
                        continue
                    # Stopping: no more retries; a later run resolves it from live state.
                if not isinstance(err, RateLimited):
                    unreachable = err if isinstance(err, ApiUnreachable) else None
                    if self._breaker.finished(unreachable):
                        self._halt()
                if isinstance(err, NotFound):
                    return self._finish(item, "drifted", err)
                return self._finish(item, "failed", err, uncertain=maybe_sent)
            self._breaker.attempt(None)
            self._breaker.finished(None)
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
    any write), ``AuthError`` when the token stops working and ``PermissionDenied`` when
    Trello refuses a write (both after the writes in flight are answered and journaled).
    When Trello keeps failing the run stops early and the report says why (``stopped``)."""
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
    # Every board the plan touches, by name: those of its changes and its boards in scope.
    inputs = doc.get("inputs") or {}
    names = {str(b["id"]): str(b.get("name") or "") for b in inputs.get("boards", [])}
    names.update({i.board_id: i.board_name for i in (*changes, *blocked)})
    locks: contextlib.AbstractContextManager[None] = (
        contextlib.nullcontext() if options.dry_run else apply_lock(lock_names(digest, boards))
    )
    with locks, Runner(api, journal, options, "apply", progress) as run:
        _apply(run, changes, blocked, journal, names)
        return run.report(order)


def _apply(
    run: Runner,
    changes: list[Item],
    blocked: list[Item],
    journal: Journal | None,
    names: Mapping[str, str],
) -> None:
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
    live = read_live(run.api, {i.board_id for i in todo}, names)
    # Deactivated on any board the plan touches: never granted, never added (design.md §3).
    deactivated = {
        member: f'board "{names[board]}"' if names.get(board) else f"board {board}"
        for member, board in deactivated_members(run.api, live, names).items()
    }
    grants = [i for i in todo if i.action == "add_member_to_board"]
    cards = [i for i in todo if i.action == "add_member_to_card"]

    jobs: list[tuple[Item, Callable[[], object], WriteRule]] = []
    for item in grants:
        decision = decide_board(
            item,
            live[item.board_id],
            resumed=item.change_id in resumed,
            deactivated_on=deactivated.get(item.member.id),
        )
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
            deactivated_on=deactivated.get(item.member.id),
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
