"""Carry a plan out against live Trello, safely and fast (design.md §5; issue 4).

``apply_plan`` takes the typed plan (``models.Plan`` and ``planfile.PlanMeta``: read from a file
by ``planfile.read_plan``, or just made) and decides nothing of its own beyond each change's
precondition against live state. Order of operations:

1. Refuse a plan made for another API URL or account, or offline (``check_plan_target``), and
   take the locks of the plan and of its boards (``locks.apply_lock`` in the ``lock_dir`` the
   caller names; not for a dry run), unless the caller holds them already (``run_apply``
   takes them before its first request: ``locks.run_holds``).
2. Put every request of the run under one ``RateLimiter`` (the api's own, or one made from
   ``ApplyOptions``): reads, writes and retries of every worker share it.
3. Skip what the journal says is done (``applied``/``already_satisfied``): no request for it.
   The plan's ``blocked`` entries are journaled ``blocked``; nothing is written for them.
4. Read live state board by board (``live.read_live``): one fresh listing of each board's cards
   (``idMembers`` and the value kinds' fields, paged, its pages in date ranges on ``workers``
   threads) and one read of the board with its memberships and, where a change needs them
   (``set_list_closed``), its lists nested, read while the cards are; never a request per
   card. The other boards the plan touches (its boards in scope) are read for their
   memberships only (the same board read), to know who is deactivated: a member deactivated
   on any of them is never granted nor added.
5. The change kinds in their order (``kinds.in_order()``: board memberships first, then list
   archive states, card moves, card archive states, card fields, and card members last), each
   kind's writes all answered before the next kind starts, concurrently on ``workers``
   threads.

Each change's precondition is its kind's ``decide`` (a pure function of live state: for the
member kinds ``kinds.decide_board`` and ``kinds.decide_card``), which gives its outcome without
a write (``already_satisfied``, ``drifted``, ``blocked``), or a write: its kind's ``write``,
read by its ``write_rule``. The writes are sent, retried, journaled (``pending`` before each,
its outcome after, so a killed run loses nothing and duplicates nothing) and stopped early by
``runner.Runner``; see ``runner.py`` for how and when a run stops.
"""

from __future__ import annotations

import contextlib
import logging
from collections.abc import Callable, Hashable, Iterable, Iterator, Mapping, Sequence, Set
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from functools import partial
from pathlib import Path

from trello_restore import defaults
from trello_restore.api import TrelloApi
from trello_restore.api.settings import API_URL_FROM, check_api_url, same_api
from trello_restore.archived_lists import apply_warnings, closed_now
from trello_restore.errors import OtherPlansJournal, UsageError
from trello_restore.in_flight import wait_for_in_flight
from trello_restore.journal import UNDO_SETTLED, Journal, JournalRecord
from trello_restore.kinds import (
    ALREADY_ON_CARD,
    NOT_ATTEMPTED,
    WOULD_APPLY,
    ChangeKind,
    Context,
    WriteRule,
    decide_board,
    decide_card,
    in_order,
    kind_of,
)
from trello_restore.kinds.memberapply import unneeded_grants
from trello_restore.live import LiveBoard, deactivated_members, read_live
from trello_restore.locks import Holder, apply_lock, held_among, lock_names
from trello_restore.models import Change, MemberRef, Plan, ValueChange, quote_name
from trello_restore.planfile import PlanMeta, digest_of
from trello_restore.recheck import Recheck
from trello_restore.refusals import foreseen_refusals, unread_reason, unread_refusals
from trello_restore.runner import Breaker, Runner
from trello_restore.runner_types import SKIPPED_DONE, ApplyOptions, ApplyReport, ChangeOutcome
from trello_restore.touches import apply_touches, plan_seen, trello_skew, trello_time
from trello_restore.undo_others import Others
from trello_restore.words import board_ref, when

__all__ = [
    "ALREADY_ON_CARD",
    "NOT_ATTEMPTED",
    "SKIPPED_DONE",
    "WOULD_APPLY",
    "ApplyOptions",
    "ApplyReport",
    "Breaker",
    "ChangeOutcome",
    "LiveBoard",
    "Runner",
    "WriteRule",
    "apply_lock",
    "apply_plan",
    "beside_a_run",
    "check_plan_target",
    "deactivated_members",
    "decide_board",
    "decide_card",
    "lock_names",
    "plan_locks",
    "read_live",
]

logger = logging.getLogger(__name__)

#: How long a one-step run's plan may wait (its confirmation) before its apply reads what
#: people changed since it was made, as an apply of a plan file always does (R39b).
PROMPT_SAT = timedelta(seconds=defaults.RATE_WINDOW_S)


def check_plan_target(
    meta: PlanMeta,
    api_url: str,
    account_id: str | None = None,
    username: str = "",
    *,
    url_from: str = "",
) -> None:
    """Refuse (``UsageError``) a plan made offline, or for another API URL or (when
    ``account_id`` is given: the token's account, ``username`` its name when known) another
    account. Without ``account_id`` it needs no request, so callers check the URL before
    sending anything (credentials included) to the API. ``url_from``: where ``api_url`` came
    from (``Origins.api_url``: ``trello.api_url in FILE``), named when known."""
    account = meta.account
    if meta.source == "export" or account is None or not account.id:
        # Also with an account typed in (R42a): its "since the plan was made" is since the
        # plan, not since the exports were taken, so a colleague's change between was undone.
        raise UsageError(
            "this plan was made offline from board exports, which may be older than the board "
            "is now, so it cannot be applied; make the plan over the API (--board … --plan-out "
            "FILE) and apply that"
        )
    planned_url = meta.api_url.rstrip("/")
    if not same_api(planned_url, api_url):
        # A URL that is no Trello API at all (no /1) is said to be that, as by every command.
        check_api_url(api_url, url_from or API_URL_FROM)
        raise UsageError(
            f"this plan was made for {planned_url}, not {api_url.rstrip('/')}"
            f"{f' (from {url_from})' if url_from else ''}; pass --api-url (or TRELLO_API_URL) "
            "for the API it was made for, or make a new plan"
        )
    if account_id is not None and account.id != account_id:
        raise UsageError(_other_account(account, account_id, username))


def _other_account(planned: MemberRef, account_id: str, username: str) -> str:
    """Why a plan of another account id is refused: the token's own username with another id
    is an edited plan file (Trello usernames are unique); anything else, another account's
    plan. Each says what to do."""
    if username and planned.username == username:
        return (
            f"this plan names the token's Trello account {username} but with the id "
            f"{planned.id}, not its id {account_id}: the plan file was edited; make the plan "
            "again (--dry-run --plan-out FILE) and apply that"
        )
    return (
        f"this plan was made by Trello account {planned.username or planned.id}, not the "
        f"token's account {username or account_id}; use that account's token, or make a new "
        "plan with this one"
    )


def _renamed(planned: MemberRef, me: Mapping[str, object]) -> None:
    """A plan of the token's account id that names it otherwise: applied (the id is the
    account), with a warning, since either the account was renamed or the file was edited."""
    now = str(me.get("username") or "")
    if planned.username and now and planned.username != now:
        logger.warning(
            "this plan names Trello account %s, but the token's account (the same id, %s) is "
            "%s now; applying it, as the id is what counts: if the account was not renamed, "
            "the plan file was edited, so check it",
            planned.username,
            planned.id,
            now,
        )


def apply_plan(
    plan: Plan,
    meta: PlanMeta,
    api: TrelloApi,
    journal: Journal | None,
    options: ApplyOptions,
    progress: Callable[[ChangeOutcome], None] | None = None,
    *,
    lock_dir: Path | None = None,
    journal_path: Path | None = None,
) -> ApplyReport:
    """Apply a plan exactly as written; see the module docstring.

    ``journal`` is the plan's journal (``Journal.open`` with this plan's digest,
    ``planfile.digest_of``); it may be None only on a dry run, where it is read (never written)
    when given; ``journal_path`` is where a dry run's would be when there is none yet (the
    other journals beside it are looked at as the apply's: ``touches.undone_elsewhere``). The
    locks (``plan_locks``) are taken here, in ``lock_dir`` (needed unless a dry run), unless
    the caller holds them already (``locks.run_holds``); a journal opened with ``defer`` is
    caught up under them (``Journal.catch_up``). Raises
    ``UsageError`` for a plan of another target or journal, ``LockHeld`` when another run holds
    the plan or one of its boards, ``ApiError`` when live state cannot be read (before any
    write), ``AuthError`` when the token stops working and ``PermissionDenied`` when Trello
    refuses a write (both after the writes in flight are answered and journaled). When Trello
    keeps failing the run stops early and the report says why (``stopped``)."""
    digest = digest_of(plan, meta)
    if journal is None and not options.dry_run:
        raise ValueError("apply_plan needs a journal unless it is a dry run")
    if lock_dir is None and not options.dry_run:
        raise ValueError("apply_plan needs a lock directory unless it is a dry run")
    if journal is not None and journal.header.plan_digest != digest:
        raise OtherPlansJournal(journal.path)
    # Before any request reaches that API.
    check_plan_target(meta, api.settings.api_url, url_from=api.settings.origins.api_url)
    own_limiter = api.limiter is None
    if own_limiter:
        # From the first request on (members/me): one the limiter did not send would read, in
        # Trello's count, as another client's for a window (``limiter.RateLimiter``).
        api.use_limiter(options.make_limiter())
    try:
        beside = journal.path if journal is not None else journal_path
        return _apply_plan(plan, meta, api, journal, options, progress, lock_dir, digest, beside)
    finally:
        if own_limiter:
            api.use_limiter(None)


def _apply_plan(
    plan: Plan,
    meta: PlanMeta,
    api: TrelloApi,
    journal: Journal | None,
    options: ApplyOptions,
    progress: Callable[[ChangeOutcome], None] | None,
    lock_dir: Path | None,
    digest: str,
    beside: Path | None,
) -> ApplyReport:
    me = api.me()
    check_plan_target(
        meta,
        api.settings.api_url,
        str(me["id"]),
        str(me.get("username") or ""),
        url_from=api.settings.origins.api_url,
    )
    assert meta.account is not None  # checked: a plan made over the API names its account
    _renamed(meta.account, me)
    order = [c.change_id for c in (*plan.changes, *(b.change for b in plan.blocked))]
    lock_set, names = plan_locks(plan, meta, digest)
    locks: contextlib.AbstractContextManager[object] = contextlib.nullcontext()
    warned = options.dry_run and lock_dir is not None and beside_a_run(lock_dir, lock_set, names)
    if not options.dry_run:
        assert lock_dir is not None
        # Held already when the caller took them before its first request (``run_apply``).
        locks = apply_lock(lock_set, lock_dir, boards=names)
    with locks, Runner(api, journal, options, "apply", progress) as run:
        if journal is not None and not options.dry_run:
            journal.catch_up()  # a journal another run of the plan made before these locks
        others = None if beside is None else Others(beside, api.settings.api_url, meta.account.id)
        _apply(run, plan, meta, journal, names, others)
        if options.dry_run and lock_dir is not None and not warned:  # one that began since
            beside_a_run(lock_dir, lock_set, names)
        if journal is not None and not options.dry_run:
            journal.create()  # a run that ended keeps its journal, even with nothing in it
        return run.report(order)


def beside_a_run(
    lock_dir: Path,
    lock_set: Sequence[str],
    names: Mapping[str, str],
    *,
    planned: bool = False,
    began: Sequence[tuple[Holder, str]] = (),
) -> bool:
    """A dry run, which takes no lock, beside another run at work on the plan or one of its
    boards (an apply or undo: ``plan-``, ``board-``; a one-step run: ``run-board-``): the
    writes of that run land while this one reads, and show as drifted ("added by you after the
    plan was made") or already satisfied (R36b: exit 5, with the token's own member named as
    the one who changed them). One warning says so; for a one-step dry run (``planned``), that
    its plan may list what that run is making (R42c: exit 7 with no word of it). ``began``:
    a run found so as the reads began, said when it has ended since (R54e). Whether it warned."""
    boards = [n.removeprefix("board-") for n in lock_set if n.startswith("board-")]
    found = held_among(lock_dir, [*lock_set, *(f"run-board-{b}" for b in boards)])
    if found is None and began:
        holder, name = began[0]
        board = name.removeprefix("run-").removeprefix("board-")
        logger.warning(
            "another trello-restore run%s was at work on board %s as this dry run began to "
            "read it, and has ended since: its plan may list changes that run made; run the "
            "dry run again",
            f" (pid {holder.pid})" if holder.pid is not None else "",
            board_ref(board, names.get(board)),
        )
        return True
    if found is None:
        return False
    holder, name = found
    board = name.removeprefix("run-").removeprefix("board-")
    where = (
        "this plan" if name.startswith("plan-") else f"board {board_ref(board, names.get(board))}"
    )
    shows = (
        "its plan may list changes that run is making"
        if planned
        else "a change that run makes shows here as drifted or already satisfied"
    )
    logger.warning(
        "another trello-restore run is at work on %s now%s: this dry run reads the boards while "
        "it writes, so %s; run the dry run again once that run ends",
        where,
        f" (pid {holder.pid})" if holder.pid is not None else "",
        shows,
    )
    return True


def plan_locks(plan: Plan, meta: PlanMeta, digest: str) -> tuple[list[str], dict[str, str]]:
    """The locks an apply of the plan (of this ``digest``) takes (``locks.lock_names``: the
    plan's, and those of the boards of its changes, blocked ones too), and every board the
    plan touches by name (its changes' and its boards in scope), for ``LockHeld``'s line.
    From the plan alone: the caller takes them before any request (``run_apply``)."""
    changes = (*plan.changes, *(b.change for b in plan.blocked))
    names = dict(meta.boards)
    names.update({c.board_id: c.board_name for c in changes})
    return lock_names(digest, {c.board_id for c in changes}), names


def _apply(
    run: Runner,
    plan: Plan,
    meta: PlanMeta,
    journal: Journal | None,
    names: Mapping[str, str],
    others: Others | None,
) -> None:
    latest = journal.latest() if journal is not None else {}
    # Done: what this tool wrote. What an earlier run found already on Trello is looked at
    # again (the live read costs nothing more): someone may have taken it off since, even
    # this tool's undo of another journal that had put it there.
    done = journal.done() if journal is not None else set()
    satisfied = {cid for cid in done if latest[cid].status == "already_satisfied"}
    done -= satisfied
    resumed = journal.pending() if journal is not None else set()
    resumed = {cid for cid in resumed if latest[cid].op == "apply"}
    undone = journal.undone() if journal is not None else {}
    # Applied again after an undo that did not settle it (failed, killed): the earlier write
    # may still be in place, and found there it is this tool's (``applied``, for the next undo
    # to reach), not someone else's. Not after an undo that left it ``drifted``: found there,
    # it is there because someone put it back, or it stays where the undo could not reach
    # (R37a: ``applied`` for a member put back by hand, whom the next undo then removed); the
    # apply's earlier ``applied`` record stands for the next undo either way.
    resumed |= {
        cid for cid, r in undone.items() if r.status not in UNDO_SETTLED and r.status != "drifted"
    }
    for b in plan.blocked:
        last = latest.get(b.change.change_id)
        again = last is not None and last.op == "apply" and last.status == "blocked"
        run.settle(b.change, "blocked", b.reason, journal=not again)
    todo: list[Change] = []
    for c in plan.changes:
        if c.change_id in done:
            run.settle(c, SKIPPED_DONE, journal=False)
        else:
            todo.append(c)
    if not todo:
        return
    # The changes an undo reverted, still to make again: its last undo record says reverted
    # (one it found gone or already reverted is no change made "again": the summary counts it
    # drifted or already satisfied), whatever a killed apply since journaled of it (``pending``:
    # it is made again all the same); one made again since is done, not in ``todo``.
    last_undo = (
        {r.change_id: r for r in journal.records if r.op == "undo"} if journal is not None else {}
    )
    reapplied = [
        last_undo[c.change_id]
        for c in todo
        if c.change_id in last_undo and _reverted(last_undo[c.change_id])
    ]
    if reapplied and journal is not None:
        logger.warning("%s", applied_again(reapplied, journal.path, dry_run=run.options.dry_run))
    if journal is not None and not run.options.dry_run:
        # A killed run's writes may still land: a killed undo's (R41a: its removals, read as
        # still undone, were counted applied with no write, then landed: exit 0, 8 members
        # missing for good), and a killed apply's of this plan (R42c: its add, sent again, then
        # undone, landed after the undo: the member stayed on the card, out of undo's reach).
        ids = {c.change_id for c in todo}
        killed = [r for cid, r in latest.items() if cid in ids and r.status == "pending"]
        wait_for_in_flight([(journal.path, killed, None)], run.api.settings.max_request_s)
    # The lists of a board where a card is unarchived too: the list it shows in may be archived.
    lists_of = {c.board_id for c in todo if kind_of(c.action).reads_lists or _unarchives(c)}
    fields_of = {c.board_id for c in todo if kind_of(c.action).reads_card_fields}
    read_at = datetime.now(UTC)
    live = read_live(
        run.api,
        {c.board_id for c in todo},
        names,
        lists_of=lists_of,
        fields_of=fields_of,
        readers=run.options.workers,
        go_on=run.options.refused_boards_go_on,
    )
    for board_id, board in sorted(live.items()):
        if board.refused:  # Trello refused the token's member a read of it: nothing sent there
            run.refuse_read(board_id, board.refused)
    # A plan that sat, or a one-step run's whose confirmation waited (R39b: a member added and
    # removed again meanwhile was added back): who changed its members or values since.
    if not run.options.fresh_plan or read_at - meta.created_at >= PROMPT_SAT:
        assert meta.account is not None  # checked: a plan made over the API names its account
        live = apply_touches(
            run.api,
            live,
            todo,
            created_at=meta.created_at,
            plan_skew=_skew_of(meta),
            records=journal.records if journal is not None else (),
            account_id=meta.account.id,
            others=others,
        )
    earlier = [c for c in plan.changes if c.change_id in done]
    for line in apply_warnings(plan, meta, todo, earlier, live, resumed):
        if line not in run.options.shown:  # a one-shot run's plan said it already
            logger.warning("%s", line)
    for line in closed_now(todo, live, said=run.options.shown):
        logger.warning("%s", line)
    # Deactivated on any board the plan touches: never granted, never added (design.md §3).
    deactivated = {
        member: f"board {quote_name(names[board])}" if names.get(board) else f"board {board}"
        for member, board in deactivated_members(run.api, live, names).items()
    }
    # A grant no card add left needs is not sent (design.md §3): decided before any write.
    unneeded = unneeded_grants(
        todo,
        earlier,
        live,
        resumed=resumed,
        dry_run=run.options.dry_run,
        deactivated=deactivated,
    )
    live = dict(live)
    recheck = (
        None
        if meta.account is None or run.options.dry_run
        else Recheck(
            run.api,
            live,
            read_at,
            meta.account.id,
            journal.records if journal is not None else (),
            run.options.window_s,
            # Trello's time of the plan: what came before it, the plan saw.
            floor=meta.created_at + (_skew_of(meta) or trello_skew(run.api)),
            passed_over=plan_seen,
        )
    )
    try:
        _write_kinds(run, todo, live, resumed, deactivated, satisfied, unneeded, recheck)
    finally:
        if recheck is not None:
            recheck.close()
    if run.options.dry_run:
        would = [c for c in todo if run.outcomes[c.change_id].status == WOULD_APPLY]
        foreseen_refusals(run.api, would, live, goes_on=run.options.refused_boards_go_on)
        unread_refusals(run.api, todo, live)


def _skew_of(meta: PlanMeta) -> timedelta | None:
    """How far Trello's clock was from the one that dated the plan, when it says."""
    return timedelta(seconds=meta.skew_s) if meta.skew_s is not None else None


def _write_kinds(
    run: Runner,
    todo: Sequence[Change],
    live: Mapping[str, LiveBoard],
    resumed: Set[str],
    deactivated: Mapping[str, str],
    satisfied: Set[str],
    unneeded: Mapping[Hashable, tuple[str, str]],
    recheck: Recheck | None,
) -> None:
    """The writes of ``todo``, kind by kind (``_decided``)."""
    # What the changes of earlier kinds did in this run, for the changes that need them.
    provided: dict[Hashable, str] = {}
    for kind in in_order():
        changes = [c for c in todo if c.action == kind.action]
        # Every change of this kind is answered before the next kind; its writes are sent as
        # they are decided, each looked at again just before it is sent (``recheck``).
        run.run_writes(
            _decided(
                run,
                kind,
                changes,
                live,
                resumed,
                deactivated,
                provided,
                satisfied,
                unneeded,
                recheck,
            )
        )
        for c in changes:
            key = kind.provides(c)
            if key is not None:
                provided[key] = run.outcomes[c.change_id].status


def applied_again(undone: Sequence[JournalRecord], path: Path, *, dry_run: bool) -> str:
    """The one line said before an apply makes again changes an undo of the same journal
    reverted (``undone``: their latest records, the undo's): when it was undone (the newest),
    how many it may make again (those the live read finds drifted are not), and that the next
    undo of the journal reaches them again."""
    times = [t for r in undone if (t := trello_time(r)) is not None]  # Trello's clock
    day = when(max(times)) if times else max(r.at for r in undone)
    # "Up to": some may be drifted (a colleague's edit since), which the summary counts.
    n = f"up to {len(undone)} of its changes"
    if dry_run:
        return f"this plan was undone on {day} (journal {path}); applying it would make {n} again"
    undo = "them" if len(undone) != 1 else "it"
    return (
        f"this plan was undone on {day} (journal {path}); applying it again ({n}; an undo of "
        f"the journal reverts {undo} again)"
    )


def _reverted(r: JournalRecord) -> bool:
    """Whether an undo's record says it reverted its change, or may have: ``undone``, or sent
    with no answer journaled (a killed undo's ``pending``, an ``uncertain`` failure; R41a: "up to
    1 of its changes" said of an apply that then made 9 again)."""
    return r.status == "undone" or r.open


def _unarchives(c: Change) -> bool:
    return isinstance(c, ValueChange) and c.action == "set_card_closed" and not c.value


def _decided(
    run: Runner,
    kind: ChangeKind,
    changes: Iterable[Change],
    live: Mapping[str, LiveBoard],
    resumed: Set[str],
    deactivated: Mapping[str, str],
    provided: Mapping[Hashable, str],
    satisfied: Set[str] = frozenset(),
    unneeded: Mapping[Hashable, tuple[str, str]] | None = None,
    recheck: Recheck | None = None,
) -> Iterator[tuple[Change, Callable[[], object], WriteRule]]:
    """Each change's precondition against live state, in turn: an outcome without a write is
    reported (``settle``, in the calling thread), a write is yielded to be sent. A change the
    journal already holds as ``already_satisfied`` (``satisfied``) and found so again is not
    journaled again; one whose write is needed but that provides what no change left needs
    (``unneeded``: ``kinds.unneeded_grants``) gets the outcome given there instead. With
    ``recheck``, each write is decided again just before it is sent (``Recheck.decision``)."""
    for c in changes:
        if live[c.board_id].refused:  # its live read was refused: not sent (``refuse_read``)
            run.settle(c, NOT_ATTEMPTED, unread_reason(live[c.board_id].refused), journal=False)
            continue
        needs = kind.needs(c)
        ctx = Context(
            resumed=c.change_id in resumed,
            dry_run=run.options.dry_run,
            deactivated_on=deactivated.get(c.member.id),
            needed=provided.get(needs) if needs is not None else None,
            refused=run.refused_reason(c.board_id),
        )
        decision = kind.decide(c, live[c.board_id], ctx)
        if decision is None and unneeded:
            decision = unneeded.get(kind.provides(c))
        if decision is not None:
            again = decision[0] == "already_satisfied" and c.change_id in satisfied
            run.settle(c, *decision, journal=not again)
        elif run.options.dry_run:
            run.settle(c, WOULD_APPLY)
        else:
            rule = kind.write_rule(ctx.resumed)
            if recheck is not None:  # decided again just before it is sent
                recheck.expect(c)
                decide = partial(kind.decide, c, ctx=ctx)
                rule = replace(rule, recheck=partial(recheck.decision, c, decide))
            yield c, partial(kind.write, run.api, c), rule
