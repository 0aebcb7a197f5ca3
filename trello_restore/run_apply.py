"""The writing stages of a run: apply a plan (``run_apply``), undo an apply (``run_undo``).

``run.py`` wires planning and re-exports everything here (the command line, the one-shot run,
the demo and the benchmark call them as ``run.run_apply`` …). The requests are built from the
command line's values (``apply_options``, ``apply_request``); the writing is handed to
``applier.apply_plan`` and ``undo.undo_journal``, which decide everything. Nothing here reads
the environment: the caller passes credentials and directories in.
"""

from __future__ import annotations

import contextlib
import logging
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING

from trello_restore import defaults, locks
from trello_restore.errors import InputFileError, OtherPlansJournal, UsageError
from trello_restore.fsutil import read_regular
from trello_restore.journal import (
    Journal,
    JournalHeader,
    is_directory,
    journal_path,
    on_disk,
    timestamp,
    unresolved,
)
from trello_restore.journal_names import board_names
from trello_restore.models import MemberRef, Plan
from trello_restore.planfile import PlanMeta, digest_of
from trello_restore.words import shell_join, span

if TYPE_CHECKING:
    from trello_restore.api import TrelloApi
    from trello_restore.api.settings import Origins
    from trello_restore.applier import ApplyOptions, ApplyReport, ChangeOutcome
    from trello_restore.limiter import RateLimiter

__all__ = [
    "ApplyRequest",
    "Progress",
    "UndoRequest",
    "apply_options",
    "apply_request",
    "load_journal",
    "plan_age_warning",
    "plan_changes",
    "plan_outcomes",
    "run_apply",
    "run_undo",
    "settle_earlier",
    "undo_locks",
    "undoable",
]

logger = logging.getLogger(__name__)

#: A plan older than this is applied with one warning saying its age: the board has had time
#: to change since it was reviewed (someone re-added a member, moved a card), and the person
#: applying it may not remember when it was made. Every change is still checked against live
#: state, so nothing is overwritten; a plan reviewed and applied the same working day (the
#: usual flow) stays quiet.
STALE_PLAN_AGE = timedelta(hours=12)
#: A plan dated further than this ahead of this machine's clock is applied with a warning: one
#: of the two clocks is wrong (a few minutes between machines is ordinary skew).
PLAN_CLOCK_SKEW = timedelta(minutes=5)


def _utc_now() -> datetime:
    return datetime.now(UTC)


# ------------------------------------------------------------------------------------- apply

#: Called with each change's outcome as it happens (progress display).
Progress = Callable[["ChangeOutcome"], None]


@dataclass(frozen=True)
class ApplyRequest:
    """A checked plan and everything needed to carry it out."""

    #: The plan (``planfile.read_plan``, or the one just made), applied as written.
    plan: Plan
    meta: PlanMeta
    #: The API base the writes go to; the plan must have been made against it.
    api_url: str
    #: Where outcomes are journaled (the plan's default journal unless ``--journal``).
    journal_path: Path
    options: ApplyOptions
    #: Where the plan's and its boards' locks are taken (``locks.apply_lock``).
    lock_dir: Path
    key: str = field(repr=False, default="")
    token: str = field(repr=False, default="")
    read_retries: int = defaults.MAX_RETRIES
    #: Seconds a request waits for an answer (``ApiSettings.timeouts``); None for the default.
    request_timeout: float | None = None
    #: Where the credentials and the API URL came from, for messages (None: not known).
    origins: Origins | None = field(default=None, compare=False)
    #: The journal directory whose earlier journals' interrupted writes on the plan's boards
    #: are resolved before this apply writes (``undo.resolve_earlier_journals``); None: not.
    earlier_journals: Path | None = None
    #: The limiter the run's earlier requests went under (a one-step run's plan's), so that
    #: ``--rate-limit`` caps the whole run (R57e: the apply's own limiter did not count the
    #: plan's reads of moments before); None: one of its own (``ApplyOptions.make_limiter``).
    limiter: RateLimiter | None = field(default=None, repr=False, compare=False)
    #: The token's member as the run's plan has just read it (a one-step run): not read again
    #: (``TrelloApi.knows_me``); None: read (``members/me``, fresh) and checked against the plan.
    account: MemberRef | None = None
    #: This machine's clock, for the plan's age (``plan_age_warning``); tests pass their own.
    clock: Callable[[], datetime] = field(default=_utc_now, repr=False, compare=False)


def apply_options(
    *,
    workers: int = defaults.WORKERS,
    rate_limit: int | None = None,
    dry_run: bool = False,
    max_retries: int = defaults.MAX_RETRIES,
    time_scale: float = 1.0,
    key_rate_limit: int | None = None,
    window_s: float | None = None,
) -> ApplyOptions:
    """The engine's options from the command line's: ``rate_limit`` is requests per window
    (10 s unless ``window_s``) per token, ``key_rate_limit`` per API key; ``time_scale``
    shrinks the rate window and the backoff (for a time-scaled sandbox)."""
    from trello_restore.applier import ApplyOptions

    defaults = ApplyOptions()
    if workers < 1:
        raise UsageError(f"--workers must be at least 1, not {workers}")
    if rate_limit is not None and rate_limit < 1:
        raise UsageError(f"--rate-limit must be at least 1 request per 10 s, not {rate_limit}")
    if key_rate_limit is not None and key_rate_limit < 1:
        raise UsageError(f"the per-key rate limit must be at least 1, not {key_rate_limit}")
    if window_s is not None and not window_s > 0:
        raise UsageError(f"the rate window must be positive, not {window_s}")
    if time_scale <= 0:  # pragma: no cover - callers pass a checked scale
        raise ValueError("time_scale must be positive")
    token_limit = rate_limit if rate_limit is not None else defaults.token_limit
    key_limit = key_rate_limit if key_rate_limit is not None else defaults.key_limit
    return ApplyOptions(
        workers=workers,
        token_limit=token_limit,
        key_limit=max(key_limit, token_limit),
        window_s=(window_s if window_s is not None else defaults.window_s) / time_scale,
        max_retries=max_retries,
        backoff_s=defaults.backoff_s / time_scale,
        dry_run=dry_run,
    )


def apply_request(
    plan: Plan,
    meta: PlanMeta,
    *,
    api_url: str,
    options: ApplyOptions,
    state_dir: Path,
    journal: str | Path | None = None,
    key: str = "",
    token: str = "",
    read_retries: int = defaults.MAX_RETRIES,
    journal_dir: Path | None = None,
    resolve_earlier: bool = False,
    lock_dir: Path | None = None,
    request_timeout: float | None = None,
    origins: Origins | None = None,
    limiter: RateLimiter | None = None,
    account: MemberRef | None = None,
) -> ApplyRequest:
    """Name the plan's journal: ``journal`` when given, else the journal of this plan (derived
    from its content, so applying the same plan again resumes) in ``journal_dir``, by default
    ``<state_dir>/journals``. The locks are taken in ``lock_dir``, by default
    ``<state_dir>/locks``. ``resolve_earlier`` (the one-shot form, which plans afresh when run
    again, and ``apply PLAN``, R78b: another plan's): first resolve the interrupted writes
    that earlier journals in that directory left on the plan's boards. The request's ``meta``
    carries the plan's digest (``PlanMeta.digest``), so a plan just made is not serialized and
    hashed again by ``run_apply`` and ``apply_plan`` (a third of a second for 10,000 changes).
    """
    meta = _with_digest(plan, meta)
    default = journal_path(state_dir, meta.digest)
    if journal_dir is not None:
        default = journal_dir / default.name
    path = Path(journal) if journal is not None else default
    if is_directory(path):
        raise UsageError(f"--journal {path} is a directory; give a file name")
    return ApplyRequest(
        plan=plan,
        meta=meta,
        api_url=api_url.rstrip("/"),
        journal_path=path,
        options=options,
        lock_dir=lock_dir if lock_dir is not None else locks.lock_dir(state_dir),
        key=key,
        token=token,
        read_retries=read_retries,
        request_timeout=request_timeout,
        origins=origins,
        earlier_journals=default.parent if resolve_earlier else None,
        limiter=limiter,
        account=account,
    )


def _with_digest(plan: Plan, meta: PlanMeta) -> PlanMeta:
    """``meta`` with its plan's digest (``digest_of``) in ``digest``: what ``read_plan`` gives a
    plan read from a file, computed once for a plan just made, so that every later
    ``digest_of`` of it is free."""
    return meta if meta.digest else replace(meta, digest=digest_of(plan, meta))


def plan_changes(plan: Plan) -> int:
    """How many changes a plan would write (board memberships and card members)."""
    return len(plan.changes)


def plan_outcomes(plan: Plan) -> int:
    """How many outcomes applying a plan reports: one per change, blocked ones included."""
    return len(plan.changes) + len(plan.blocked)


def _open_api(
    api_url: str,
    key: str,
    token: str,
    read_retries: int,
    request_timeout: float | None,
    options: ApplyOptions,
    origins: Origins | None = None,
) -> TrelloApi:
    """The run's API session. Its reads wait out a 429 for the ``options``' rate window and
    back off by their ``backoff_s``, as the writes do (``limits.window_seconds``, a sandbox's
    time scale), not for Trello's default window."""
    from trello_restore.api import ApiSettings, TrelloApi
    from trello_restore.api.settings import Origins

    # No HTTP cache: applying reads only live state, which is never served from a cache.
    connect_timeout, read_timeout = ApiSettings.timeouts(request_timeout)
    settings = ApiSettings(
        key=key,
        token=token,
        api_url=api_url,
        read_retries=read_retries,
        connect_timeout=connect_timeout,
        read_timeout=read_timeout,
        rate_window_s=options.window_s,
        backoff_s=options.backoff_s,
        origins=origins or Origins(),
    )
    return TrelloApi(settings)


def _whole_run(
    report: ApplyReport, api: TrelloApi, sent: int, limited: int, started: float
) -> ApplyReport:
    """``report`` with its requests, 429s and seconds counted over the whole command, from its
    first request on (``sent`` and ``limited`` are the api's counts then, ``started`` the
    ``time.monotonic()``): the account read, the earlier journals' checks and the live reads
    before the first write included, with their retries and waits, not the writing phase's
    alone (a 429 storm on ``members/me`` is seen in the summary)."""
    return replace(
        report,
        requests_sent=api.requests_sent - sent,
        rate_limited=api.rate_limited - limited,
        seconds=time.monotonic() - started,
    )


def plan_age_warning(created_at: datetime, now: datetime) -> str | None:
    """The one-line warning for applying a plan made at ``created_at``, at ``now``: one older
    than ``STALE_PLAN_AGE`` says its age, its date and what that means (each change is checked
    against the board as it is now: a card member against the boards' actions since too,
    ``touches.apply_touches``; a board membership removed since is not seen: Trello's feeds
    do not list removals from a board); one dated more than ``PLAN_CLOCK_SKEW`` ahead of ``now``
    says a clock is wrong. None for a plan of about now."""
    created = created_at.replace(tzinfo=UTC) if created_at.tzinfo is None else created_at
    date = created.astimezone(UTC).strftime("%Y-%m-%d %H:%M UTC")
    age = now - created
    if age > STALE_PLAN_AGE:
        return (
            f"this plan was made {span(age)} ago ({date}); each change is checked against the "
            "board as it is now: a card member added or removed since, or a value changed "
            "since (even if set back), is skipped as drifted, not overwritten"
        )
    if -age > PLAN_CLOCK_SKEW:
        return (
            f"this plan is dated {date}, {span(-age)} ahead of Trello's clock; check the "
            "clock where it was made (each change is still checked against the board as it is "
            "now)"
        )
    return None


def dated_ahead(made: datetime, now: datetime) -> str:
    """The error for a plan that says (its ``created_at`` moved by its ``clock_skew_s``) it was
    made at ``made`` on Trello's clock, which is ``now`` there: later by more than
    ``PLAN_CLOCK_SKEW`` cannot be, but for a hand edit, and the apply reads the boards'
    actions since then to find what changed after the plan (R44e: a colleague's removal
    before the edited date was written over, with a warning that all was checked)."""
    return (
        f"the plan says it was made {made.astimezone(UTC):%Y-%m-%d %H:%M} UTC on Trello's clock, "
        f"{span(made - now)} later than Trello's clock now: its created_at or clock_skew_s "
        "was edited, and the apply would miss what changed on the boards after the plan was "
        "made; make the plan again with --plan-out"
    )


def existing_journal(path: Path, digest: str, warn_torn: bool = True) -> Journal | None:
    """The plan's journal read-only (for a dry run; a one-step run's check before its question),
    or None when there is none yet (an empty file is none: ``journal.on_disk``)."""
    if not on_disk(path):
        return None
    journal = Journal.read(path, op="apply", warn_torn=warn_torn)
    if journal.header.plan_digest != digest:
        raise OtherPlansJournal(path)
    return journal


def run_apply(req: ApplyRequest, progress: Progress | None = None) -> ApplyReport:
    """Carry the plan out (or, with ``options.dry_run``, report what it would do).

    Order of operations: the plan's target is checked before any request (not an offline plan,
    same API URL) and the plan's and its boards' locks are taken (``applier.plan_locks``, not
    for a dry run: another run holding one refuses this one at once, with no request), then
    the token's account is read (``members/me``) and checked (same account) before anything
    is written, the journal included; a plan older than
    ``STALE_PLAN_AGE`` (or dated ahead of ``clock``) is warned about; then (``earlier_journals``)
    earlier journals' interrupted writes on the plan's boards are resolved, the journal is
    opened (resumed, or created by the first outcome) and the engine runs.
    A dry run reads an existing journal but writes none."""
    from trello_restore.applier import apply_plan

    if len({c.board_id for c in req.plan.changes}) > 1:  # a refused board stops only its own
        req = replace(req, options=replace(req.options, refused_boards_go_on=True))
    with _checked_session(req, locked=not req.options.dry_run) as session:
        api, meta = session.api, session.meta
        # On Trello's clock when the plan says how far it was from the one that dated it
        # (R35d: a plan made on a clock 14 hours behind was "made 14 hours ago"), and so is
        # now (R44e: this machine's clock 3 days ahead made a fresh plan "3 days ago").
        made = meta.created_at + timedelta(seconds=meta.skew_s or 0.0)
        skew = api.clock_skew
        if skew is None and req.account is not None and meta.skew_s is not None:
            skew = timedelta(seconds=meta.skew_s)  # R62d: a plan just made here, none read since
        now = req.clock() + (skew or timedelta(0))
        # Both clocks measured (R63a: not the plan's skew standing in: NTP may have set this
        # clock right at the question since, and the plan this run made was called edited).
        known = meta.skew_s is not None and api.clock_skew is not None
        if known and made - now > PLAN_CLOCK_SKEW:
            raise InputFileError(dated_ahead(made, now))
        aged = plan_age_warning(made, now)
        if aged is not None:
            logger.warning("%s", aged)
        if req.earlier_journals is not None and not req.options.dry_run:
            _resolve_earlier(req, meta, api, req.earlier_journals)
        if req.options.dry_run:
            journal = existing_journal(req.journal_path, meta.digest)
        else:
            header = JournalHeader(
                plan_digest=meta.digest,
                api_url=req.api_url,
                account_id=session.account_id,
                created_at=timestamp(),
            )
            # Created by its first outcome: a run that cannot start leaves no journal.
            journal = Journal.open(req.journal_path, header, defer=True)
        try:
            report = apply_plan(
                req.plan,
                meta,
                api,
                journal,
                req.options,
                progress,
                lock_dir=req.lock_dir,
                journal_path=req.journal_path,
            )
            # The one-step run's too: its plan read the memberships, but they may have changed
            # while it wrote (R39d: made an observer mid-run, told "you are an admin").
            report = with_refusals(report, api)
            return _whole_run(report, api, session.sent, session.limited, session.started)
        finally:
            if journal is not None:
                journal.close()


def with_refusals(report: ApplyReport, api: TrelloApi) -> ApplyReport:
    """``report`` with, when boards refused the token's member a write (``report.refused``),
    that member (``members/me``, already read) and their membership of each such board, read
    now (one request a board; none where it cannot be read now), for what its line asks."""
    if not report.refused:
        return report
    from trello_restore.board_read import read_board
    from trello_restore.errors import ApiError, NotFound, PermissionDenied
    from trello_restore.models import MemberRef, Membership

    me = api.me()
    who = MemberRef(str(me["id"]), str(me.get("username") or ""), str(me.get("fullName") or ""))
    known: dict[str, Membership | None] = {}
    for board_id in sorted(set(report.refused) - report.refused_reads):  # those read, refused
        try:
            known[board_id] = read_board(api, board_id, lists=False)[0].get(who.id)
        except (PermissionDenied, NotFound):  # not even readable now: no longer a member
            known[board_id] = None  # (R46b: "an admin of it, so the token is likely read-only")
        except ApiError:
            continue
    return replace(report, member=who, refused_memberships=known)


def _resolve_earlier(req: ApplyRequest, meta: PlanMeta, api: TrelloApi, directory: Path) -> int:
    """``undo.resolve_earlier_journals`` on the plan's boards (those it read, and those its
    changes are on): how many open records it settled."""
    from trello_restore.undo import resolve_earlier_journals

    changes = req.plan.changes
    return resolve_earlier_journals(
        api,
        directory,
        {board_id for board_id, _ in meta.boards} | {c.board_id for c in changes},
        req.options,
        lock_dir=req.lock_dir,
        exclude=req.journal_path,
        board_names={**dict(meta.boards), **{c.board_id: c.board_name for c in changes}},
    )


def settle_earlier(req: ApplyRequest) -> int:
    """What ``run_apply`` does before it writes, for a one-step run with nothing to write:
    settle, from live state, the open records earlier journals in ``req.earlier_journals``
    have on the plan's boards, after the same checks (the plan's target, the token's
    account), under the same limiter, with no journal of its own; how many were settled."""
    if req.earlier_journals is None:
        return 0
    with _checked_session(req) as session:
        return _resolve_earlier(req, session.meta, session.api, req.earlier_journals)


@dataclass(frozen=True)
class _Session:
    """An API session whose token's account the plan was checked against (``_checked_session``),
    and what ``_whole_run`` counts from: the requests and 429s before its first, its start."""

    api: TrelloApi
    meta: PlanMeta
    account_id: str
    sent: int
    limited: int
    started: float


@contextlib.contextmanager
def _checked_session(req: ApplyRequest, *, locked: bool = False) -> Iterator[_Session]:
    """The session of an apply (``run_apply``, ``settle_earlier``): the plan's target checked
    before any request (not an offline plan, same API URL: ``members/me`` would send the
    credentials to an API the plan was not made for); with ``locked``, the apply's locks taken
    next (``applier.plan_locks``; ``LockHeld`` at once when another run holds one: a request
    first could wait for minutes on 429s while that run spends the token's rate budget) and
    held to the end; every request under the run's limiter from the first (``members/me``) on
    (one the limiter did not send would read, in Trello's count, as another client's for a
    window), and the token's account checked (the plan's) before anything is written. ``meta``
    carries the plan's digest, computed once (a plan just made is hashed here, not twice)."""
    from trello_restore.applier import check_plan_target, plan_locks

    meta = _with_digest(req.plan, req.meta)
    url_from = req.origins.api_url if req.origins is not None else ""
    check_plan_target(meta, req.api_url, url_from=url_from)
    held: contextlib.AbstractContextManager[object] = contextlib.nullcontext()
    if locked:
        # Held by this run: the apply's engine and the earlier journals' settling, which take
        # some of them again, count them as theirs (``locks.run_holds``).
        names, boards = plan_locks(req.plan, meta, meta.digest)
        held = locks.run_holds(req.lock_dir, names, boards=boards)
    started = time.monotonic()
    with (
        held,
        _open_api(
            req.api_url,
            req.key,
            req.token,
            req.read_retries,
            req.request_timeout,
            req.options,
            req.origins,
        ) as api,
    ):
        sent, limited = api.requests_sent, api.rate_limited
        api.use_limiter(req.limiter or req.options.make_limiter())
        if (known := req.account) is not None:
            api.knows_me({"id": known.id, "username": known.username, "fullName": known.full_name})
        me = api.me()
        account_id = str(me["id"])
        username = str(me.get("username") or "")
        check_plan_target(meta, req.api_url, account_id, username, url_from=url_from)
        yield _Session(api, meta, account_id, sent, limited, started)


# -------------------------------------------------------------------------------------- undo


@dataclass(frozen=True)
class UndoRequest:
    """A journal to reverse, and how."""

    journal: Journal
    api_url: str
    options: ApplyOptions
    #: Where the locks of the journal's plan and boards are taken (``locks.lock_dir``).
    lock_dir: Path
    include_board_memberships: bool = False
    key: str = field(repr=False, default="")
    token: str = field(repr=False, default="")
    read_retries: int = defaults.MAX_RETRIES
    #: Seconds a request waits for an answer; with the connect timeout also how long undo
    #: waits for a killed apply's writes that may still be in flight. None for the default.
    request_timeout: float | None = None
    #: Where the credentials and the API URL came from, for messages (None: not known).
    origins: Origins | None = field(default=None, compare=False)


def load_journal(path: str | Path, state_dir: Path | None = None) -> Journal:
    """Read a journal for undo (``InputFileError`` when missing, damaged or not a journal). A
    plan file given instead is answered with its journal's path when the plan's default
    journal is in ``state_dir`` (R37a: the user was left to find it)."""
    p = Path(path)
    if is_directory(p, op="undo"):
        raise InputFileError(f"{p} is a directory; give the journal file apply printed")
    if state_dir is not None and (plan := _plan_s_journal(p, state_dir)) is not None:
        if plan.is_file():
            raise InputFileError(
                f"{p} is a plan file, not a journal; its apply's journal is {plan}: "
                f"trello-restore undo {shell_join([str(plan)])}"
            )
        raise InputFileError(
            f"{p} is a plan file, not a journal, and its journal is not in {plan.parent}: it "
            "was not applied on this machine, or with --journal PATH (give that PATH); a plan "
            "is applied with trello-restore apply PLAN"
        )
    return Journal.read(p)


def _plan_s_journal(path: Path, state_dir: Path) -> Path | None:
    """Where the plan file ``path``'s default journal is in ``state_dir`` (whether or not it
    is there: a plan applied with ``--journal`` has it elsewhere); None when ``path`` is no
    plan this version reads. Looked at before the file is read as a journal, which warns of a
    plan's unterminated last line as torn (R37e). A plan starts with its format: only a file
    that does is read whole."""
    from trello_restore.planfile import FORMAT, read_plan

    try:
        head = read_regular(path, 256)  # R82c: ``undo`` of a FIFO hung in a blocking open
    except OSError:
        return None
    if f'"{FORMAT}"'.encode() not in head:
        return None
    try:
        _, meta = read_plan(path)
    except (InputFileError, UsageError, OSError):
        return None
    return journal_path(state_dir, meta.digest)


def undoable(journal: Journal, include_board_memberships: bool) -> int:
    """How many changes undo would look at: card members this tool added (and, with
    ``include_board_memberships``, board memberships it granted) that no undo has settled,
    and writes an interrupted apply may have made (``undo_left.undo_count``)."""
    from trello_restore.undo_left import undo_count

    return undo_count(journal.records, include_board_memberships)


def undo_locks(journal: Journal, include_board_memberships: bool) -> list[str]:
    """The locks an undo of ``journal`` takes (``undo.undo_journal``'s, from the journal
    alone): its plan's, and those of the boards of the records it looks at, the apply's open
    records and the changes it made that no undo settled (board memberships only with
    ``include_board_memberships``)."""
    boards = undo_boards(journal, include_board_memberships)
    return locks.lock_names(journal.header.plan_digest, boards)


def undo_boards(journal: Journal, include_board_memberships: bool) -> set[str]:
    """The boards of the records an undo of ``journal`` looks at (``undo_locks``)."""
    from trello_restore.kinds import kind_of
    from trello_restore.undo_left import undoable as undoable_records

    records = journal.records
    looked_at = [*unresolved(records).values(), *(u.record for u in undoable_records(records))]
    return {
        r.board_id
        for r in looked_at
        if include_board_memberships or kind_of(r.action).undone_by_default
    }


def run_undo(req: UndoRequest, progress: Progress | None = None) -> ApplyReport:
    """Reverse what the journal says this tool added, journaling it in the same file (a dry run
    writes nothing). ``undo_journal`` refuses a journal of another API URL (before any
    request) or account before any write. The locks of the journal's plan and of the boards
    the undo works on are taken first (``undo_locks``; not for a dry run), so that another run
    holding one refuses this one at once, before any request."""
    from trello_restore.undo import undo_journal

    if len(undo_boards(req.journal, req.include_board_memberships)) > 1:
        req = replace(req, options=replace(req.options, refused_boards_go_on=True))
    held: contextlib.AbstractContextManager[object] = contextlib.nullcontext()
    # A journal of another API URL is refused by ``undo_journal`` before any request, locked
    # or not; for any other, the locks are held by this run: ``undo_journal`` takes the same
    # ones again (``locks.run_holds``).
    from trello_restore.api.settings import same_api

    if not req.options.dry_run and same_api(req.journal.header.api_url, req.api_url):
        names = undo_locks(req.journal, req.include_board_memberships)
        known = {b: n for b, n in board_names(req.journal.records).items() if n}
        held = locks.run_holds(req.lock_dir, names, boards=known)  # a held board by its name
    started = time.monotonic()
    with (
        held,
        _open_api(
            req.api_url,
            req.key,
            req.token,
            req.read_retries,
            req.request_timeout,
            req.options,
            req.origins,
        ) as api,
    ):
        sent, limited = api.requests_sent, api.rate_limited
        api.use_limiter(req.options.make_limiter())  # from the first request on (run_apply)
        journal = req.journal
        if not req.options.dry_run:
            journal = Journal.open(journal.path, journal.header, warn_torn=False)
        try:
            report = undo_journal(
                journal,
                api,
                req.options,
                include_board_memberships=req.include_board_memberships,
                progress=progress,
                lock_dir=req.lock_dir,
            )
            report = with_refusals(report, api)
            return _whole_run(report, api, sent, limited, started)
        finally:
            journal.close()
