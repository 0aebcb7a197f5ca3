"""One run of a stage: plan (from the API or from exports), apply a plan, undo an apply.

``cli.py`` parses and prints; this module wires the stages together (api → fetcher → planner;
plan file → applier → journal; journal → undo) and raises ``RestoreError``s with one-line,
actionable messages. What a planning run is asked (``PlanRequest``, its inputs' checks) is in
``plan_request.py``. Planning writes nothing to Trello; ``run_apply`` and ``run_undo``
(``run_apply.py``, re-exported here) hand the writing to ``applier.apply_plan`` and
``undo.undo_journal`` and decide nothing themselves. Nothing here reads the
environment: the caller passes credentials and directories in.
"""

from __future__ import annotations

import contextlib
import logging
import time
from collections.abc import Callable, Collection, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta
from typing import Literal

from trello_restore import __version__, given_up
from trello_restore.boards import (
    OBJECT_ID,
    Api,
    RefusedBoard,
    no_open_board,
    read_board_now,
    resolve_boards,
    resolve_workspace,
    short_link_of,
)
from trello_restore.errors import PermissionDenied
from trello_restore.fetched import BoardInfo, Fetched
from trello_restore.fetcher import fetch, load_exports
from trello_restore.fsutil import in_the_way
from trello_restore.given_up import UnreadBoard, given_up_warning, split
from trello_restore.history import credit_apps
from trello_restore.history_store import HistoryStore, no_gc
from trello_restore.lastrun import (
    OVERLAP,
    Scope,
    clock_ahead,
    covers,
    given_up_boards,
    read_last_run,
    recorded_board,
    recorded_boards,
)
from trello_restore.limiter import RateLimiter
from trello_restore.models import (
    History,
    MemberRef,
    Membership,
    Plan,
    PlanOptions,
    State,
    format_date,
    normal_name,
    quote_name,
)
from trello_restore.plan_memo import PlanMemo
from trello_restore.plan_request import PlanRequest
from trello_restore.planfile import PlanMeta
from trello_restore.planner import build_plan, undated_losses
from trello_restore.planner_scope import resolve_filters
from trello_restore.refusals import answered, plan_refusals, unread_named, unread_named_error
from trello_restore.report import plan_warnings
from trello_restore.run_apply import (
    ApplyRequest,
    Progress,
    UndoRequest,
    apply_options,
    apply_request,
    load_journal,
    plan_changes,
    plan_outcomes,
    run_apply,
    run_undo,
    settle_earlier,
    undoable,
)
from trello_restore.timeparse import check_window
from trello_restore.undone_hint import OwnRemoval, own_removals, removal_dates
from trello_restore.undone_values import Field, own_sets
from trello_restore.words import board_ref, span

#: The planning stage's names, and the writing stages' (``run_apply.py``) reached through here.
__all__ = [
    "ApplyRequest",
    "PlanResult",
    "Progress",
    "UndoRequest",
    "apply_options",
    "apply_request",
    "load_journal",
    "make_plan",
    "plan_changes",
    "plan_outcomes",
    "run_apply",
    "run_undo",
    "settle_earlier",
    "undoable",
]

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class PlanResult:
    """The plan, its metadata, and what the user should be warned about."""

    plan: Plan
    meta: PlanMeta
    warnings: tuple[str, ...]
    requests_sent: int = 0
    #: The plan phase's 429 answers (retries included) and wall time in seconds, from before
    #: its first request until the plan is made and its kept histories written.
    rate_limited: int = 0
    seconds: float = 0.0
    #: What the run covered (None for offline plans).
    scope: Scope | None = None
    #: The ``Date`` of Trello's first answer over the network (``TrelloApi.first_server_date``):
    #: Trello's clock before the run read anything. None offline, or when every answer came
    #: from the cache.
    trello_started: datetime | None = None
    #: Boards this account cannot read that cards moved to or from at or after the plan's
    #: ``since`` (ids): what happened to those cards is unseen (``unreadable_in_window``). A
    #: dry run's too, from the history its plan read (no request, no read more).
    unreadable_in_window: tuple[str, ...] = ()
    #: A dry run's plan from the memo, which read no history: the boards this account cannot
    #: read that cards moved to or from at any time (``Fetched.unreadable``), whose moves'
    #: dates it did not look at (ids); () otherwise.
    unreadable_unchecked: tuple[str, ...] = ()
    #: The names the moves give the boards of these two (``Fetched.unreadable_names``).
    unreadable_names: Mapping[str, str] = field(default_factory=dict)
    #: The token's member's membership of each board the plan read (None: not a member), by
    #: board id: what a refusal of its writes asks for (``refusals.refused_boards_line``).
    account_memberships: Mapping[str, Membership | None] = field(default_factory=dict)
    #: The boards of several named (or, with ``--workspace``, covered by the last run) that
    #: Trello refused the token's member a read of: left out of the plan
    #: (``refusals.unread_named``).
    unread_named: tuple[UnreadBoard, ...] = ()
    #: The boards a recorded run gave up (``--accept-unreadable-boards``) whose read Trello
    #: still refuses: left out of the plan with a warning, not refused (``given_up``).
    given_up: tuple[UnreadBoard, ...] = ()
    #: The removals the plan skipped as filtered (or outside the window) that are the latest
    #: on their card and the token's member's (``undone_hint.own_removals``).
    own_removals: tuple[OwnRemoval, ...] = ()
    #: Card members removed more than once, with when (``undone_hint.removal_dates``).
    removed: Mapping[tuple[str, str], tuple[datetime, ...]] = field(default_factory=dict)
    #: The state the plan was made from: what its warnings (``plan_warnings``) are said again
    #: from when a one-step run leaves changes out.
    state: State | None = field(default=None, compare=False, repr=False)
    #: The fields of the plan's value changes whose latest change is the token's member's, with
    #: its date (``undone_values.own_sets``).
    own_sets: Mapping[Field, datetime] = field(default_factory=dict)
    #: The limiter its reads went under (None offline): a one-step run's apply sends under it
    #: too (``ApplyRequest.limiter``).
    limiter: RateLimiter | None = field(default=None, compare=False, repr=False)


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
    cutoff is read from the scope's state file.

    The garbage collector is paused for the whole of it. A plan is made of millions of small
    objects (the history's actions, the board's cards) that all live until the plan is made;
    with the collector on, each full pass walked all of them again as they grew — 10 or 11 passes
    and 1.8 to 2.6 s of a 7.5 s cold dry run's CPU at 20,000 cards, for no memory saved (the
    peak was the same). What dies meanwhile is freed by its reference count as always (only
    reference cycles wait); the collector is back on once ``_make_plan`` has returned and its
    objects are gone, so its next pass sees little more than the plan.

    The kept histories are written on a thread of their own while the plan is made
    (``fetcher_stored``); it returns (or raises) once they are written."""
    started = time.monotonic()
    with no_gc(), contextlib.ExitStack() as after:
        result = _make_plan(req, created_at=created_at, on_scope=on_scope, after=after)
    return replace(result, seconds=time.monotonic() - started)


def _recorded(req: PlanRequest, account_id: str, given: str) -> tuple[str, str] | None:
    """The id and name of a board given so (id, shortLink, URL or name) as a successful run
    recorded them (``lastrun.recorded_board``); a board given by its id has that id, whatever
    was recorded."""
    by_id = given.lower() if OBJECT_ID.match(given) else None
    link = short_link_of(given)
    found = (
        recorded_board(
            req.state_dir,
            req.api_url,
            account_id,
            board_id=by_id,
            short_link=link,
            name=given if by_id is None and link is None else None,
        )
        if req.state_dir is not None
        else None
    )
    return found or ((by_id, "") if by_id is not None else None)


def _unread(
    req: PlanRequest, account_id: str, refused: Sequence[RefusedBoard], readable: Collection[str]
) -> list[tuple[UnreadBoard, PermissionDenied]]:
    """The named boards Trello refused the token's member a read of, each once (a board given
    twice, by id and by URL, is one), with its id and name where known (found by name in the
    member's boards, or ``_recorded``)."""
    out: dict[str, tuple[UnreadBoard, PermissionDenied]] = {}
    for given, err, board in refused:
        found = (board.id, board.name) if board is not None else _recorded(req, account_id, given)
        board_id, name = found or ("", "")
        key = board_id or short_link_of(given) or normal_name(given).casefold()
        if key in out or board_id in readable:
            continue
        plain = OBJECT_ID.match(given) or short_link_of(given)
        shown = given if plain or given.lower().startswith(("http", "trello.com")) else None
        out[key] = (
            UnreadBoard(shown or quote_name(given), answered(err), board_id, name),
            err,
        )
    return list(out.values())


def _refused_now(
    api: Api, boards: Sequence[BoardInfo]
) -> list[tuple[UnreadBoard, PermissionDenied]]:
    """Of ``boards``, those whose read Trello refuses the token's member now (read by id,
    fresh): after a fetch was refused, which a board read from the cache did not foretell."""
    out: list[tuple[UnreadBoard, PermissionDenied]] = []
    for board in boards:
        try:
            read_board_now(api, board.id)
        except PermissionDenied as err:
            shown = board_ref(board.id, board.name)
            out.append((UnreadBoard(shown, answered(err), board.id, board.name), err))
    return out


def _gone_boards(
    api: Api,
    recorded: Mapping[str, str],
    boards: Collection[str],
    workspace_id: str,
    since: datetime | None,
) -> tuple[list[tuple[UnreadBoard, PermissionDenied]], list[str]]:
    """The boards the last run covered (``recorded``: id to name) that this one does not list
    (``boards``), read by id, fresh: those whose read Trello refuses the token's member (taken
    off them: a workspace lists only the boards its member is on) are left out of the plan like
    a refused named board, so the run is not recorded and the next one covers their window; a
    board deleted is gone, said at -v. One closed or moved to another workspace is left out
    with a warning (the second list) giving the command that restores what it lost since the
    last run (``since``): said once, as this run, recorded, no longer covers it (R35b: a board
    closed after an incident lost its restores without a word, for good)."""
    out: list[tuple[UnreadBoard, PermissionDenied]] = []
    notes: list[str] = []
    for board_id, name in sorted(recorded.items()):
        if board_id in boards:
            continue
        shown = board_ref(board_id, name)
        try:
            raw = read_board_now(api, board_id)
        except PermissionDenied as err:
            out.append((UnreadBoard(shown, answered(err), board_id, name), err))
            continue
        if raw is None:
            why = "deleted"
        elif raw.get("closed"):
            why = "closed"
        elif str(raw.get("idOrganization") or "") != workspace_id:
            why = "moved to another workspace"
        else:
            why = "not listed by the workspace"
        if why == "deleted" or since is None:
            logger.info("board %s, which the last run covered, is left out: %s", shown, why)
            continue
        notes.append(
            f"board {shown}, which the last run covered, is {why} now: --workspace plans the "
            "workspace's open boards only, so what it lost since the last run is not restored "
            f"by this or later runs; to restore it, run once with --board {board_id} --since "
            f"{format_date(since)}"
        )
    return out, notes


def _make_plan(
    req: PlanRequest,
    *,
    created_at: datetime,
    on_scope: Callable[[Scope], None] | None,
    after: contextlib.ExitStack,
) -> PlanResult:
    account: MemberRef | None = None
    memo: PlanMemo | None = None
    sent = limited = 0
    limiter: RateLimiter | None = None
    scope: Scope | None = None
    trello_started: datetime | None = None
    skew: timedelta | None = None  # Trello's clock less this machine's, as its answers show
    gone_notes: list[str] = []  # warnings of boards a workspace run covers no more (closed)
    blind: tuple[str, ...] = ()
    unchecked: tuple[str, ...] = ()
    own: Mapping[Field, datetime] = {}
    refused: list[RefusedBoard] = []
    unread: list[tuple[UnreadBoard, PermissionDenied]] = []
    earlier: list[UnreadBoard] = []  # given up by a recorded run, still refused
    gave: set[str] = set()  # the boards given up, earlier or by this run (ids)
    options = req.options
    if req.exports:
        fetched = load_exports(req.exports, options.since)
        source: Literal["api", "export"] = "export"
    else:
        from trello_restore.api import ApiSettings, TrelloApi
        from trello_restore.api.settings import Origins

        connect_timeout, read_timeout = ApiSettings.timeouts(req.request_timeout)
        settings = ApiSettings(
            key=req.key,
            token=req.token,
            api_url=req.api_url,
            cache_dir=req.cache_dir,
            read_retries=req.read_retries,
            connect_timeout=connect_timeout,
            read_timeout=read_timeout,
            # A 429 is waited out for the rate window the limiter keeps (limits.window_seconds).
            rate_window_s=req.window_s,
            # The fetch reads concurrently: keep it under Trello's rate like the applier.
            limiter=(
                limiter := RateLimiter(req.rate_limit, req.window_s, key_limit=req.key_rate_limit)
            ),
            on_rate_limited=req.on_rate_limited,
            origins=req.origins or Origins(),
        )
        with (
            TrelloApi(settings) as api,
            ThreadPoolExecutor(1, thread_name_prefix="me") as one,
            # Ctrl-C stops the account's read (waiting for a retry or the limiter) before the
            # pool's shutdown waits for it.
            api.stop_on_interrupt(),
        ):
            # The account and the boards are read at once (a round trip less); the account's
            # error comes first, as a token that is not valid fails both.
            asked = one.submit(api.me)
            try:
                origin = req.origins or Origins()
                named = resolve_boards(
                    api,
                    req.boards,
                    origin=origin.boards,
                    refused=refused,
                    # A name the member's boards no longer show: as a recorded run knew it.
                    known=lambda given: _recorded(req, str(asked.result()["id"]), given),
                )
                workspace_id, in_workspace = (
                    resolve_workspace(
                        api,
                        req.workspace,
                        origin=origin.workspace,
                        # None of its boards listed: those a recorded run covered are read.
                        empty=req.since_last_run and req.state_dir is not None,
                    )
                    if req.workspace is not None
                    else (None, [])
                )
            except Exception:
                asked.result()
                raise
            me = asked.result()
            account = MemberRef(me["id"], me.get("username", ""), me.get("fullName", ""))
            boards = list({b.id: b for b in (*named, *in_workspace)}.values())
            # The refused boards with their ids: given so, or (for the last run's key, which
            # names the boards by id) as a successful run given the same recorded them.
            unread = _unread(req, account.id, refused, {b.id for b in boards})
            by_id = {u.id for u, _ in unread if u.id}
            if unread and req.since_last_run and len(by_id) < len(unread):
                # A last run's key it cannot make.
                raise unread_named_error(account, [(u.given, err) for u, err in unread])
            links = {(link, b.id) for b in named if (link := short_link_of(b.url))}
            links |= {(short_link_of(g) or "", i) for g, i in ((u.given, u.id) for u, _ in unread)}
            scope = Scope(
                api_url=req.api_url,
                account_id=account.id,
                named_boards=tuple(sorted({b.id for b in named} | by_id)),
                workspace_id=workspace_id,
                board_ids=tuple(sorted(b.id for b in boards)),
                board_names=tuple((b.id, b.name) for b in boards),
                covers=covers(options),
                board_links=tuple(sorted((k, v) for k, v in links if k)),
            )
            given = given_up_boards(req.state_dir, scope) if req.state_dir is not None else {}
            unread, earlier = split(unread, given)
            if unread and not boards:  # nothing else to plan
                raise unread_named_error(account, [(u.given, err) for u, err in unread])
            if (
                req.workspace is not None
                and not boards
                and not earlier
                and not given
                and (req.state_dir is None or not recorded_boards(req.state_dir, scope))
            ):
                raise no_open_board(req.workspace, origin.workspace)
            if on_scope is not None:
                on_scope(scope)
            if req.since_last_run:
                assert req.state_dir is not None  # build_request checked it
                labels = dict(req.filter_names)
                where = labels.get("since", "--since")  # the option, a variable, a file's key
                last = "--since last-run" if where == "--since" else f"{where} = last-run"
                since = read_last_run(req.state_dir, scope, now=created_at, label=last)
                check_window(since, options.until, last, labels.get("until", "--until"))
                options = replace(options, since=since)
            if workspace_id is not None and req.state_dir is not None:
                # A board the workspace no longer lists, and the boards given up.
                covered = {*scope.board_ids, *by_id, *(u.id for u in earlier)}
                recorded = recorded_boards(req.state_dir, scope) if req.since_last_run else {}
                recorded |= {b: n for b, (_, n) in given.items() if b not in recorded}
                refused_gone, gone_notes = _gone_boards(
                    api,
                    recorded,
                    covered,
                    workspace_id,
                    options.since if req.since_last_run else None,
                )
                gone, gone_earlier = split(refused_gone, given)
                unread += gone
                earlier += gone_earlier
                if not boards and not unread and not earlier:
                    raise no_open_board(req.workspace or "", origin.workspace)
            store = (
                HistoryStore(req.history_dir, refresh=req.refresh_history)
                if req.history_dir is not None
                else None
            )
            if store is not None and (why := store.unusable()) is not None:
                # A file where the boards' directory (or the cache's) goes; else the directory
                # cannot be made, read or written.
                if (blocked := in_the_way(store.boards_dir / "-", store.cache_dir)) is not None:
                    logger.warning(
                        "the kept board histories are blocked: %s is %s; every run reads the "
                        "boards' history from Trello in full and plans anew until you remove "
                        "or rename it",
                        *blocked,
                    )
                elif api.cache_read_only:
                    # Said once: the HTTP cache's warning (same directory) named what to do.
                    logger.info(
                        "the kept board histories in %s cannot be used either (%s): every run "
                        "reads the boards' history from Trello in full and plans anew",
                        store.boards_dir,
                        why,
                    )
                else:
                    logger.warning(
                        "the kept board histories in %s cannot be used (%s): every run reads "
                        "the boards' history from Trello in full and plans anew until it can "
                        "be; check that this user can read and write in it and that its file "
                        "system is writable",
                        store.boards_dir,
                        why,
                    )
                store = None
            try:
                fetched = fetch(api, boards, kinds=options.restore, store=store)
            except PermissionDenied:
                # A board read as kept (``BOARD_LIST_MAX_AGE``) that refuses the member now:
                # left out like one refused when resolved, the others fetched again.
                now_refused = _refused_now(api, boards)
                if not now_refused:
                    raise
                now_unread, now_earlier = split(now_refused, given)
                unread += now_unread
                earlier += now_earlier
                if len(now_refused) == len(boards) and unread:  # nothing else to plan
                    raise unread_named_error(account, [(u.given, e) for u, e in unread]) from None
                left_out = {u.id for u, _ in now_refused}
                boards = [b for b in boards if b.id not in left_out]
                fetched = fetch(api, boards, kinds=options.restore, store=store)
            gave = {u.id for u in earlier} | (
                {u.id for u, _ in unread if u.id} if req.accept_unread else set()
            )
            if fetched.kept is not None:
                after.callback(fetched.kept.settle)  # the stores' writes, done before return
            # The plan of this very input, when a run made it before (``plan_memo``); on a
            # miss the history is read here, while the api is open.
            memo = (
                PlanMemo.recall(
                    req.history_dir, scope, fetched, options, read=not req.refresh_history
                )
                if req.history_dir is not None
                else None
            )
            sent, limited = api.requests_sent, api.rate_limited
            trello_started, skew = api.first_server_date, api.clock_skew
            if skew is not None and trello_started is not None:  # R44g: a clock set back
                # mid-run (NTP) left the later answers' skew: the plan began before the first.
                skew = min(skew, trello_started + timedelta(seconds=1) - created_at)
            if req.apply:  # what may be recorded as the last run (a dry run never is)
                blind = unreadable_in_window(fetched, unseen_from(req, options), gave)  # open
        if (ahead := clock_ahead(created_at, trello_started)) is not None:
            logger.warning(
                "this machine's clock is %s ahead of Trello's (by the Date of its first "
                "answer): ages such as --since 36h count from this machine's time, and "
                "--since last-run records Trello's; set this machine's clock right (NTP)",
                span(ahead, nearest=True),
            )
        elif skew is not None and skew > OVERLAP:  # R44e: a clock behind was not said
            logger.warning(
                "this machine's clock is %s behind Trello's (by the Date of its "
                "answers): ages such as --until 36h count from this machine's time, so the "
                "window ends earlier than by Trello's clock; set this machine's clock right "
                "(NTP)",
                span(skew, nearest=True),  # measured a little low: rounded, not floored
            )
        source = "api"
    warnings = gone_notes + (
        [
            unread_named(
                account,
                u.given,
                e,
                dry_run=not req.apply,
                accepted=req.accept_unread,
                alone=not fetched.boards,  # every board refused: no other boards
            )
            for u, e in unread
        ]
        if account is not None
        else []
    )
    warnings += [given_up_warning(account, u) for u in earlier if account is not None]
    dates = {u.id: u.given_up_on for u in earlier}
    warnings += given_up.followed(fetched.warnings, {b: dates.get(b, "") for b in gave})
    history: History | None = None  # the plan's; none from the memo
    if memo is not None and memo.plan is not None:
        plan, own, removed = memo.plan, memo.own, memo.removed
    else:
        history = fetched.history
        # A filter value that matches nothing in scope is an error, before anything is planned.
        options = resolve_filters(
            fetched.history,
            fetched.state,
            options,
            fetched.members,
            fetched.named,
            names=dict(req.filter_names),
        )
        plan = build_plan(
            fetched.history,
            fetched.state,
            options,
            fetched.members,
            incomplete=fetched.incomplete,
            named_boards=fetched.named,
            own_member=account.id if account is not None else None,
        )
        plan = credit_apps(plan, fetched.history)  # name the apps (automations) that acted
        own = own_sets(plan, history, account.id) if account is not None else {}
        removed = removal_dates(history)
    if scope is not None and not req.apply:  # a dry run: only from the history already read
        if memo is not None and memo.plan is not None:
            unchecked = tuple(sorted(fetched.unreadable - fetched.gone))
        else:
            blind = unreadable_in_window(fetched, unseen_from(req, options), gave)
    warnings += plan_warnings(plan, fetched.state)  # cards put back into an archived list
    warnings += undated_losses(plan, created_at)
    meta = PlanMeta(
        tool_version=__version__,
        created_at=created_at,
        api_url=req.api_url,
        account=account,
        boards=tuple((b.id, b.name) for b in fetched.boards),
        source=source,
        warnings=tuple(warnings),
        skew_s=round(skew.total_seconds(), 3) if skew is not None else None,
    )
    if memo is not None:
        memo.keep(plan, meta, fetched, own, removed)
    mine: dict[str, Membership | None] = {}
    if account is not None:
        # Boards whose writes Trello will or may refuse the token's member, from the
        # memberships just read: said before anything is written (not kept in the plan file,
        # whose ``apply`` says it from its own read).
        members = {b: board.memberships for b, board in fetched.state.boards.items()}
        warnings += plan_refusals(plan.changes, members, account)
        mine = {b: ms.get(account.id) for b, ms in members.items()}
    return PlanResult(
        plan=plan,
        meta=meta,
        warnings=tuple(warnings),
        requests_sent=sent,
        rate_limited=limited,
        scope=scope,
        trello_started=trello_started,
        unreadable_in_window=blind,
        unreadable_unchecked=unchecked,
        unreadable_names=fetched.unreadable_names,
        account_memberships=mine,
        unread_named=tuple(u for u, _ in unread),
        given_up=tuple(earlier),
        own_removals=(
            own_removals(plan, history, account.id, fetched.state) if account is not None else ()
        ),
        own_sets=own,
        removed=removed,
        state=fetched.state,
        limiter=limiter,
    )


def unseen_from(req: PlanRequest, options: PlanOptions) -> datetime:
    """From when a move to or from a board this account cannot read holds the last run back
    (``unreadable_in_window``): the window's start, but for ``--since last-run`` the recorded
    run's own start (the window starts ``OVERLAP`` before it). A move before that was that
    run's to see: it was recorded with none in its window, or with them given up
    (``--accept-unreadable-boards``); counted again, a move made minutes before an accepting
    run would hold back every run after it for good."""
    return options.since + OVERLAP if req.since_last_run else options.since


def unreadable_in_window(
    fetched: Fetched, since: datetime, given_up: Collection[str] = ()
) -> tuple[str, ...]:
    """The boards this account cannot read (``Fetched.unreadable``) but those ``given_up``
    (``--accept-unreadable-boards``: their losses are given up) that cards or lists moved to
    or from at or after ``since``, sorted. The history is read only when there are such
    boards (a memo's run may not have read it), and only for a run that applies: a dry run's
    plan from the memo reads no history (``PlanResult.unreadable_unchecked``). Not those
    Trello no longer has (``Fetched.gone``: deleted; no run can ever read them, and holding the
    last run back for them held every later one back for good: R39d)."""
    blind = fetched.unreadable - fetched.gone
    if not blind:
        return ()
    moved = {
        board
        for m in fetched.history.moves
        if m.date >= since
        for board in (m.source_board_id, m.target_board_id)
    }
    return tuple(sorted((moved & blind) - set(given_up)))
