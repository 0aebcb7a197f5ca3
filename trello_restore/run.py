"""One run of a stage: plan (from the API or from exports), apply a plan, undo an apply.

``cli.py`` parses and prints; this module wires the stages together (api → fetcher → planner;
plan file → applier → journal; journal → undo) and raises ``RestoreError``s with one-line,
actionable messages. Planning writes nothing to Trello; ``run_apply`` and ``run_undo`` hand the
writing to ``applier.apply_plan`` and ``undo.undo_journal`` and decide nothing themselves.
Nothing here reads the environment: the caller passes credentials and directories in.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Literal

from trello_restore import __version__, defaults, locks
from trello_restore.boards import resolve_boards, resolve_workspace
from trello_restore.errors import (
    InputFileError,
    UsageError,
)
from trello_restore.fetcher import fetch, load_exports
from trello_restore.history import credit_apps
from trello_restore.history_store import HistoryStore
from trello_restore.journal import Journal, JournalHeader, journal_path
from trello_restore.lastrun import Scope, is_last_run, read_last_run
from trello_restore.models import RESTORE_KINDS, MemberRef, Plan, PlanOptions, RestoreKind
from trello_restore.planfile import PlanMeta, digest_of
from trello_restore.planner import build_plan
from trello_restore.planner_scope import resolve_filters
from trello_restore.timeparse import check_window, parse_when

if TYPE_CHECKING:
    from trello_restore.api import TrelloApi
    from trello_restore.applier import ApplyOptions, ApplyReport, ChangeOutcome
    from trello_restore.config import Settings

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class PlanRequest:
    """Everything a planning run needs, already checked."""

    boards: tuple[str, ...]
    exports: tuple[Path, ...]
    #: With ``since_last_run``, ``options.since`` is a stand-in until the scope is known.
    options: PlanOptions
    api_url: str
    key: str = field(repr=False, default="")
    token: str = field(repr=False, default="")
    cache_dir: Path | None = None
    read_retries: int = defaults.MAX_RETRIES
    #: A workspace (organization id or name) whose open boards are in scope too.
    workspace: str | None = None
    #: ``--since last-run``: the cutoff comes from the scope's state file in ``state_dir``.
    since_last_run: bool = False
    state_dir: Path | None = None
    #: The reads' rate limit: requests per window per token and per key, and the window.
    rate_limit: int = defaults.TOKEN_RATE_LIMIT
    key_rate_limit: int = defaults.KEY_RATE_LIMIT
    window_s: float = defaults.RATE_WINDOW_S
    #: Seconds a request waits for an answer (``ApiSettings.timeouts``); None for the default.
    request_timeout: float | None = None
    #: Where each board's parsed history is kept between runs (``history_store``; the cache
    #: directory), None for none (``--no-cache``); ``refresh_history`` rebuilds it.
    history_dir: Path | None = None
    refresh_history: bool = False

    @classmethod
    def from_settings(
        cls,
        settings: Settings,
        *,
        now: datetime,
        lists: tuple[str, ...] = (),
        cards: tuple[str, ...] = (),
        cache: bool = True,
        apply: bool = False,
        refresh_history: bool = False,
    ) -> PlanRequest:
        """The planning request of resolved settings (``build_request`` checks them), with the
        command line's ``--list`` / ``--card`` filters; ``cache=False`` for ``--no-cache``;
        ``apply`` when the plan is to be applied right away; ``refresh_history`` for
        ``--refresh-history`` (the history store, in the cache directory, is rebuilt; with
        ``--no-cache`` there is none). Messages name each setting by
        where it came from (an option, a variable or a config file key)."""
        s = settings
        request = build_request(
            boards=s.boards,
            exports=s.exports,
            workspace=s.workspace,
            since=s.since,
            until=s.until,
            now=now,
            mode=s.mode,
            removed_by=s.removed_by,
            by=s.by,
            restore=s.restore,
            cause=s.cause,
            only_recorded=s.only_recorded,
            lists=lists,
            cards=cards,
            add_to_board=s.add_to_board,
            board_role=s.board_role,
            api_url=s.api_url,
            key=s.api_key,
            token=s.token,
            # --refresh-history reads the history from Trello, not from the HTTP cache either.
            cache_dir=s.cache_dir if cache and not refresh_history else None,
            read_retries=s.max_retries,
            apply=apply,
            state_dir=s.state_dir,
            labels={
                "since": s.label("since"),
                "until": s.label("until"),
                "restore": s.label("restore"),
            },
            rate_limit=s.rate_limit,
            key_rate_limit=s.key_rate_limit,
            window_s=s.window_s,
        )
        return replace(
            request,
            request_timeout=s.request_timeout,
            history_dir=s.cache_dir if cache else None,
            refresh_history=refresh_history,
        )


@dataclass(frozen=True)
class PlanResult:
    """The plan, its metadata, and what the user should be warned about."""

    plan: Plan
    meta: PlanMeta
    warnings: tuple[str, ...]
    requests_sent: int = 0
    #: What the run covered (None for offline plans).
    scope: Scope | None = None


def build_request(
    *,
    boards: tuple[str, ...],
    exports: tuple[str, ...],
    since: str | None,
    until: str | None,
    now: datetime,
    mode: Literal["removed", "ever-added"] = defaults.MODE,
    removed_by: str | None = None,
    by: str | None = None,
    restore: tuple[str, ...] = defaults.RESTORE,
    cause: Literal["move"] | None = None,
    only_recorded: bool = False,
    lists: tuple[str, ...] = (),
    cards: tuple[str, ...] = (),
    add_to_board: bool = False,
    board_role: Literal["normal", "observer"] = defaults.BOARD_ROLE,
    api_url: str,
    key: str = "",
    token: str = "",
    cache_dir: Path | None = None,
    read_retries: int = defaults.MAX_RETRIES,
    apply: bool = False,
    workspace: str | None = None,
    state_dir: Path | None = None,
    labels: Mapping[str, str] | None = None,
    rate_limit: int | None = None,
    key_rate_limit: int | None = None,
    window_s: float | None = None,
) -> PlanRequest:
    """Check the inputs' combinations and parse dates; raise UsageError when they don't fit.
    ``apply`` says the plan is to be applied right away (no ``--dry-run``). ``since`` may be
    ``last-run`` (read from ``state_dir`` once the boards are known). ``labels`` name where
    ``since``, ``until`` and ``restore`` came from in messages (default: their options).
    ``restore`` is ``--restore``'s kinds (``all`` for every one)."""
    names = {"since": "--since", "until": "--until", "restore": "--restore", **(labels or {})}
    kinds = parse_restore(restore, names["restore"])
    if (boards or workspace is not None) and exports:
        raise UsageError(
            "use either --board (plan from the API) or --from-export (offline), not both"
        )
    if exports and apply:
        raise UsageError(
            "a plan made offline from exports cannot be applied: add --dry-run to review it, "
            "or plan against the API with --board"
        )
    if not boards and not exports and workspace is None:
        raise UsageError(
            "name the board to restore with --board or --workspace (or plan offline with "
            "--from-export), or set boards in the config file"
        )
    if workspace is not None and not workspace.strip():
        raise UsageError("--workspace is empty: give a workspace id or its name in its URL")
    if since is None:
        raise UsageError(
            "--since is required: the time of the incident, e.g. --since 2025-11-02T14:00 "
            "or --since 7d (or --since last-run after a first successful run)"
        )
    last_run = is_last_run(since)
    if last_run and exports:
        raise UsageError(
            "--since last-run needs the boards over the API (it is recorded per board set, "
            "account and API URL); give a date to plan from exports"
        )
    if last_run and state_dir is None:  # pragma: no cover - the command line always passes it
        raise ValueError("--since last-run needs a state directory")
    end = parse_when(until, now, names["until"]) if until is not None else None
    when = now if last_run else parse_when(since, now, names["since"])
    if not last_run:
        check_window(when, end)
    options = PlanOptions(
        since=when,
        until=end,
        mode=mode,
        removed_by=removed_by.lstrip("@") if removed_by else None,
        by=by.lstrip("@") if by else None,
        restore=kinds,
        cause=cause,
        only_recorded=only_recorded,
        add_to_board=add_to_board,
        board_role=board_role,
        lists=frozenset(lists) if lists else None,
        cards=frozenset(_card_ref(c) for c in cards) if cards else None,
    )
    return PlanRequest(
        boards=boards,
        exports=tuple(Path(p) for p in exports),
        options=options,
        api_url=api_url.rstrip("/"),
        key=key,
        token=token,
        cache_dir=cache_dir,
        read_retries=read_retries,
        workspace=workspace.strip() if workspace is not None else None,
        since_last_run=last_run,
        state_dir=state_dir,
        rate_limit=rate_limit or defaults.TOKEN_RATE_LIMIT,
        key_rate_limit=max(
            key_rate_limit or defaults.KEY_RATE_LIMIT, rate_limit or defaults.TOKEN_RATE_LIMIT
        ),
        window_s=window_s or defaults.RATE_WINDOW_S,
    )


def parse_restore(values: tuple[str, ...], label: str = "--restore") -> frozenset[RestoreKind]:
    """``--restore``'s kinds (each value may be a comma list): ``members``, ``archived``,
    ``list``, ``fields``, or ``all`` for every one. An unknown or empty kind is a
    ``UsageError`` naming the valid ones."""
    words = [w.strip().lower() for v in values for w in v.split(",")]
    if not words or "" in words:
        raise UsageError(
            f"{label} names no kind: give a comma list of {', '.join(RESTORE_KINDS)}, or all"
        )
    kinds: set[RestoreKind] = set()
    for word in words:
        if word == "all":
            kinds.update(RESTORE_KINDS)
            continue
        kind = next((k for k in RESTORE_KINDS if k == word), None)
        if kind is None:
            raise UsageError(
                f"{label}: unknown kind {word!r:.40}; the kinds are "
                f"{', '.join(RESTORE_KINDS)}, or all (comma-separated, e.g. archived,list)"
            )
        kinds.add(kind)
    return frozenset(kinds)


def refuse_unattended(restore: tuple[str, ...], by: str | None, label: str = "--restore") -> None:
    """The one-shot form with ``--yes`` (cron) refuses a kind other than ``members`` without
    ``--by`` (design.md §6): reverting every change by everyone since the last run would undo
    the team's ordinary work each night."""
    kinds = parse_restore(restore, label) - {"members"}
    if kinds and not by:
        raise UsageError(
            f"{label} {','.join(sorted(kinds))} with --yes needs --by MEMBER: applied "
            "unattended, it would revert every change everyone made in the window (each night, "
            "the team's ordinary work); name the member whose changes to revert, or review the "
            "plan first with --dry-run; nothing was changed"
        )


def _card_ref(value: str) -> str:
    """A card id, shortLink, or card URL (https://trello.com/c/<shortLink>/...) as id/shortLink."""
    text = value.strip()
    marker = "trello.com/c/"
    if marker in text:
        return text.split(marker, 1)[1].split("/", 1)[0]
    return text


def make_plan(
    req: PlanRequest,
    *,
    created_at: datetime,
    on_scope: Callable[[Scope], None] | None = None,
) -> PlanResult:
    """Fetch (or load) and plan. Reads Trello, never writes to it.

    Over the API: the token's account is read and the boards resolved (``--board`` values and
    the workspace's open boards); then ``on_scope`` is called with the scope before anything
    else is read (the command line takes its run lock there), and a ``--since last-run``
    cutoff is read from the scope's state file."""
    account: MemberRef | None = None
    sent = 0
    scope: Scope | None = None
    options = req.options
    if req.exports:
        fetched = load_exports(req.exports)
        source: Literal["api", "export"] = "export"
    else:
        from trello_restore.api import ApiSettings, TrelloApi
        from trello_restore.limiter import RateLimiter

        connect_timeout, read_timeout = ApiSettings.timeouts(req.request_timeout)
        settings = ApiSettings(
            key=req.key,
            token=req.token,
            api_url=req.api_url,
            cache_dir=req.cache_dir,
            read_retries=req.read_retries,
            connect_timeout=connect_timeout,
            read_timeout=read_timeout,
            # The fetch reads concurrently: keep it under Trello's rate like the applier.
            limiter=RateLimiter(req.rate_limit, req.window_s, key_limit=req.key_rate_limit),
        )
        with TrelloApi(settings) as api:
            me = api.me()
            account = MemberRef(me["id"], me.get("username", ""), me.get("fullName", ""))
            named = resolve_boards(api, req.boards)
            workspace_id, in_workspace = (
                resolve_workspace(api, req.workspace) if req.workspace is not None else (None, [])
            )
            boards = list({b.id: b for b in (*named, *in_workspace)}.values())
            scope = Scope(
                api_url=req.api_url,
                account_id=account.id,
                named_boards=tuple(sorted({b.id for b in named})),
                workspace_id=workspace_id,
                board_ids=tuple(sorted(b.id for b in boards)),
            )
            if on_scope is not None:
                on_scope(scope)
            if req.since_last_run:
                assert req.state_dir is not None  # build_request checked it
                since = read_last_run(req.state_dir, scope)
                check_window(since, options.until)
                options = replace(options, since=since)
            store = (
                HistoryStore(req.history_dir, refresh=req.refresh_history)
                if req.history_dir is not None
                else None
            )
            fetched = fetch(api, boards, kinds=options.restore, store=store)
            sent = api.requests_sent
        source = "api"
    warnings = list(fetched.warnings)
    # A filter value that matches nothing in scope is an error, before anything is planned.
    options = resolve_filters(
        fetched.history, fetched.state, options, fetched.members, fetched.named
    )
    plan = build_plan(
        fetched.history,
        fetched.state,
        options,
        fetched.members,
        incomplete=fetched.incomplete,
        named_boards=fetched.named,
    )
    plan = credit_apps(plan, fetched.history)  # name the apps (automations) that acted
    meta = PlanMeta(
        tool_version=__version__,
        created_at=created_at,
        api_url=req.api_url,
        account=account,
        boards=tuple((b.id, b.name) for b in fetched.boards),
        source=source,
        warnings=tuple(warnings),
    )
    return PlanResult(
        plan=plan, meta=meta, warnings=tuple(warnings), requests_sent=sent, scope=scope
    )


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
    #: The one-shot form: the journal directory whose earlier journals' interrupted writes on
    #: the plan's boards are resolved before this apply writes (``undo.resolve_earlier_journals``).
    earlier_journals: Path | None = None


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
) -> ApplyRequest:
    """Name the plan's journal: ``journal`` when given, else the journal of this plan (derived
    from its content, so applying the same plan again resumes) in ``journal_dir``, by default
    ``<state_dir>/journals``. The locks are taken in ``lock_dir``, by default
    ``<state_dir>/locks``. ``resolve_earlier`` (the one-shot form, which plans afresh when run
    again): first resolve the interrupted writes that earlier journals in that directory left
    on the plan's boards."""
    default = journal_path(state_dir, digest_of(plan, meta))
    if journal_dir is not None:
        default = journal_dir / default.name
    path = Path(journal) if journal is not None else default
    if path.is_dir():
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
        earlier_journals=default.parent if resolve_earlier else None,
    )


def plan_changes(plan: Plan) -> int:
    """How many changes a plan would write (board memberships and card members)."""
    return len(plan.changes)


def plan_outcomes(plan: Plan) -> int:
    """How many outcomes applying a plan reports: one per change, blocked ones included."""
    return len(plan.changes) + len(plan.blocked)


def _open_api(
    api_url: str, key: str, token: str, read_retries: int, request_timeout: float | None = None
) -> TrelloApi:
    from trello_restore.api import ApiSettings, TrelloApi

    # No HTTP cache: applying reads only live state, which is never served from a cache.
    connect_timeout, read_timeout = ApiSettings.timeouts(request_timeout)
    settings = ApiSettings(
        key=key,
        token=token,
        api_url=api_url,
        read_retries=read_retries,
        connect_timeout=connect_timeout,
        read_timeout=read_timeout,
    )
    return TrelloApi(settings)


def _now() -> str:
    return datetime.now(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def _existing_journal(path: Path, digest: str) -> Journal | None:
    """The plan's journal read-only (for a dry run), or None when there is none yet."""
    if not path.exists():
        return None
    journal = Journal.read(path)
    if journal.header.plan_digest != digest:
        raise InputFileError(
            f"{path} is the journal of another plan; pass a different --journal or "
            "apply the plan it belongs to"
        )
    return journal


def run_apply(req: ApplyRequest, progress: Progress | None = None) -> ApplyReport:
    """Carry the plan out (or, with ``options.dry_run``, report what it would do).

    Order of operations: the plan's target is checked before any request (not an offline plan,
    same API URL), then the token's account is read (``members/me``) and checked (same
    account) before anything is written, the journal included; then (``earlier_journals``)
    earlier journals' interrupted writes on the plan's boards are resolved, the journal is
    opened (created, or resumed) and the engine runs.
    A dry run reads an existing journal but writes none."""
    from trello_restore.applier import apply_plan, check_plan_target

    digest = digest_of(req.plan, req.meta)
    # Offline, or made for another API URL: refused before any request (members/me would send
    # the credentials to an API the plan was not made for).
    check_plan_target(req.meta, req.api_url)
    with _open_api(req.api_url, req.key, req.token, req.read_retries, req.request_timeout) as api:
        account_id = str(api.me()["id"])
        check_plan_target(req.meta, req.api_url, account_id)
        if req.earlier_journals is not None and not req.options.dry_run:
            from trello_restore.undo import resolve_earlier_journals

            boards = {board_id for board_id, _ in req.meta.boards}
            boards |= {c.board_id for c in req.plan.changes}
            resolve_earlier_journals(
                api,
                req.earlier_journals,
                boards,
                req.options,
                lock_dir=req.lock_dir,
                exclude=req.journal_path,
            )
        if req.options.dry_run:
            journal = _existing_journal(req.journal_path, digest)
        else:
            header = JournalHeader(
                plan_digest=digest, api_url=req.api_url, account_id=account_id, created_at=_now()
            )
            journal = Journal.open(req.journal_path, header)
        try:
            return apply_plan(
                req.plan, req.meta, api, journal, req.options, progress, lock_dir=req.lock_dir
            )
        finally:
            if journal is not None:
                journal.close()


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


def load_journal(path: str | Path) -> Journal:
    """Read a journal for undo (``InputFileError`` when missing, damaged or not a journal)."""
    p = Path(path)
    if p.is_dir():
        raise InputFileError(f"{p} is a directory; give the journal file apply printed")
    return Journal.read(p)


def undoable(journal: Journal, include_board_memberships: bool) -> int:
    """How many changes undo would look at: card members this tool added (and, with
    ``include_board_memberships``, board memberships it granted) that no undo has settled,
    and writes an interrupted apply may have made (``undo.undo_count``)."""
    from trello_restore.undo import undo_count

    return undo_count(journal.records, include_board_memberships)


def run_undo(req: UndoRequest, progress: Progress | None = None) -> ApplyReport:
    """Reverse what the journal says this tool added, journaling it in the same file (a dry run
    writes nothing). ``undo_journal`` refuses a journal of another API URL or account before
    any write."""
    from trello_restore.undo import undo_journal

    with _open_api(req.api_url, req.key, req.token, req.read_retries, req.request_timeout) as api:
        journal = req.journal
        if not req.options.dry_run:
            journal = Journal.open(journal.path, journal.header)
        try:
            return undo_journal(
                journal,
                api,
                req.options,
                include_board_memberships=req.include_board_memberships,
                progress=progress,
                lock_dir=req.lock_dir,
            )
        finally:
            journal.close()
