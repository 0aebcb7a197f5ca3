"""The one-shot run: ``trello-restore --board X --since WHEN [--yes]``, as one function.

``run_once`` takes the boards' run locks (not for a dry run), plans, lets the caller show the
plan, and (unless it is a dry run) asks the caller to confirm, applies the plan it just made,
records the boards' last run when everything succeeded, and returns a ``OneShotResult``: the
plan, the apply's report, the outcome, the exit code, the journal and the last-run file.
``run_summary`` turns that into the JSON summary that cron and scripts read; ``apply_json``
and ``undo_json`` are the same for ``apply PLAN`` and ``undo JOURNAL`` (``--format json``),
with the same counts of what was written (``report_counts``) and every change's outcome.

It never prints, prompts or reads the environment: the caller (the command line) passes every
directory in and talks to the user through ``OneShotUi``.
"""

from __future__ import annotations

import contextlib
import logging
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, replace
from datetime import datetime
from functools import partial
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal, Protocol

from trello_restore import __version__, given_up, refusals, run
from trello_restore.api.settings import ApiSettings
from trello_restore.applier import beside_a_run
from trello_restore.earlier_journals import has_open_records, wait_for_earlier
from trello_restore.errors import ExitCode
from trello_restore.journal_names import board_names
from trello_restore.kinds import in_order
from trello_restore.lastrun import (
    Scope,
    gap_line,
    known_board_names,
    last_run_gap,
    record_last_run,
    run_start,
    window_end,
)
from trello_restore.locks import Holder, RateBudgetGuard, held_among, lock_dir, run_lock
from trello_restore.logs import FILE_ONLY
from trello_restore.oneshot_apply import apply_request, checked_apply
from trello_restore.oneshot_undone import left_out_undone
from trello_restore.planfile import PlanMeta, format_date, plan_summary
from trello_restore.refusals import refused_boards, refused_line, refused_list
from trello_restore.report import dry_run_exit_code, summary_line
from trello_restore.report_outcomes import (
    attention_lines,
    blocked_outcome,
    board_outcomes,
    change_labels,
    outcome_parts,
)
from trello_restore.words import board_ref, plural, when

if TYPE_CHECKING:
    from trello_restore.applier import ApplyOptions, ApplyReport, ChangeOutcome
    from trello_restore.given_up import UnreadBoard
    from trello_restore.journal import Journal, JournalRecord
    from trello_restore.plan_request import PlanRequest
    from trello_restore.run import PlanResult, Progress

logger = logging.getLogger(__name__)

#: How a one-shot run ended: a dry run; nothing to write (with or without blocked changes);
#: the confirmation declined; applied in full, in part, or stopped early; or applied but for
#: boards that refused the token's writes.
Outcome = Literal[
    "dry_run", "nothing_to_do", "blocked", "declined", "applied", "partial", "stopped", "refused"
]


@dataclass(frozen=True)
class OneShotRequest:
    """Everything a one-shot run needs, with every directory explicit."""

    plan: PlanRequest
    #: How to apply (``ApplyOptions.from_settings``); unused by a dry run.
    options: ApplyOptions
    #: Run locks and last-run state live here; journals in ``journal_dir`` unless ``journal``.
    state_dir: Path
    journal_dir: Path
    journal: str | None
    #: When the run started: the plan's ``created_at`` and the end of the window it covered.
    created_at: datetime
    dry_run: bool = False
    #: A dry run's exit code says whether changes are pending (``--detailed-exitcode``).
    detailed_exitcode: bool = False
    #: Where ``--accept-unreadable-boards`` was set (its option, variable or config key), when
    #: it is: the run is recorded as the last run even though cards moved to or from a board
    #: the token cannot read within its window. None: such a run is not recorded.
    accept_unreadable: str | None = None
    #: ``--yes`` without ``--dry-run`` (cron): warned of ``--removed-by`` alone (``lone_removals``).
    unattended: bool = False


class OneShotUi(Protocol):
    """How ``run_once`` talks to the user (the command line prints and prompts)."""

    def planned(self, result: PlanResult) -> None:
        """Show the plan (and export it); called with the run locks held, before any write."""

    def confirm(self, changes: int) -> bool:
        """Whether to write these ``changes`` (at least one) to Trello."""

    def applying(self, total: int, journal: Path) -> Progress | None:
        """The apply starts (``total`` outcomes to come, journaled in ``journal``): a progress
        sink, or None. A ``KeyboardInterrupt`` from the apply reaches the caller of
        ``run_once``."""

    def finished(self, outcome: Outcome, report: ApplyReport | None, journal: Path | None) -> None:
        """What the run did, before its last run is recorded (which may still fail)."""


@dataclass(frozen=True)
class OneShotResult:
    """What a one-shot run did."""

    plan: PlanResult
    outcome: Outcome
    exit_code: ExitCode
    #: The apply's report and journal (None when nothing was applied).
    report: ApplyReport | None = None
    journal: Path | None = None
    #: The last-run state file written (None when the run did not succeed in full).
    last_run_file: Path | None = None
    #: Whether ``--since`` was ``last-run``.
    since_last_run: bool = False
    #: Why a run that succeeded was not recorded as the last run (a warning, also logged).
    not_recorded: str | None = None
    #: The boards the token cannot read whose moves in the window were given up to record the
    #: run (``OneShotRequest.accept_unreadable``).
    accepted_unreadable: tuple[str, ...] = ()
    #: The boards left out as given up: by a recorded run earlier, or by this one once
    #: recorded (``--accept-unreadable-boards``), each with its date (``given_up``).
    given_up: tuple[UnreadBoard, ...] = ()


def run_once(req: OneShotRequest, ui: OneShotUi) -> OneShotResult:
    """Plan and, unless a dry run, apply after ``ui.confirm``; see the module's docstring.

    A run (not a dry run) holds the run locks of its boards from before their history is read
    until its last run is recorded, so an overlapping run on a board exits (``LockHeld``)
    without reading further or writing. Until it holds them, a 429 while another run holds
    locks exits too (``RateBudgetGuard``): that run is spending the token's rate budget."""
    with _locks(req) as (on_scope, guard, began):
        plan = req.plan if guard is None else replace(req.plan, on_rate_limited=guard)
        result = run.make_plan(plan, created_at=req.created_at, on_scope=on_scope)
        result, unread_journal = left_out_undone(req, result)
        # Its journal checked before the plan is shown: one it cannot use is one line (R67c: a
        # journal directory it cannot search came after the plan's warnings; R61a).
        apply = checked_apply(req, result, left_out=unread_journal is not None)
        # Which takes no lock: a run that holds one writes while it reads (not exports: R55a).
        if req.dry_run and not req.plan.exports:
            boards = [f"board-{b}" for b, _ in result.meta.boards]
            names = dict(result.meta.boards)
            beside_a_run(lock_dir(req.state_dir), boards, names, planned=True, began=began)
        ui.planned(result)
        logger.info(
            "plan since %s: %s (%d requests in %.1f s, %d rate-limited)",
            result.plan.options.since.isoformat(),
            summary_line(result.plan, dry_run=req.dry_run),
            result.requests_sent,
            result.seconds,
            result.rate_limited,
        )
        if req.dry_run:
            if (note := unreadable_note(req, result)) is not None:
                logger.warning("%s", note)
            code = dry_run_exit_code(result.plan, req.detailed_exitcode)
            if req.accept_unreadable is None and _unread_named(result, dry_run=True):
                code = ExitCode.AUTH
            return OneShotResult(result, "dry_run", code, since_last_run=req.plan.since_last_run)
        return _apply(req, result, ui, unread_journal, apply)


def _boards(ids: Iterable[str], names: Mapping[str, str]) -> str:
    """Boards this account cannot read, each named as the moves name it (``board_ref``)."""
    return ", ".join(board_ref(b, names.get(b)) for b in ids)


def unreadable_note(req: OneShotRequest, result: PlanResult) -> str | None:
    """A dry run's word on what a run that applies would do about the last run when cards
    moved to or from boards this account cannot read within the window (``_apply``'s rule):
    not record it, or with ``--accept-unreadable-boards`` record it and give those boards'
    losses up. From the history the plan read; a plan from the memo read none, and says what
    it cannot tell. None when no such board was seen (and offline)."""
    since = when(result.plan.options.since, millis=True)
    blind, unchecked = result.unreadable_in_window, result.unreadable_unchecked
    boards = blind or unchecked
    if result.scope is None or not boards:
        return None
    where = (
        f"{plural(len(boards), 'board')} this account cannot read "
        f"({_boards(boards, result.unreadable_names)})"
    )
    if req.accept_unreadable is not None:
        would = (
            f"would be recorded as the last run on these boards once it succeeds, as "
            f"{req.accept_unreadable} asks: the members those cards lost there would be given "
            "up, and later --since last-run runs would not restore them"
        )
    else:
        would = (
            "would not be recorded as the last run on these boards, so the next --since "
            "last-run run covers this window again (add the token's member to "
            f"{'it' if len(boards) == 1 else 'them'}, or run once with "
            "--accept-unreadable-boards to record it and give up what those cards lost there)"
        )
    if blind:
        return f"cards moved to or from {where} at or after {since}: a run that applies {would}"
    return (
        f"cards moved to or from {where}; this dry run's plan is from the plan memo and read no "
        f"history, so it cannot tell when they moved: if one moved at or after {since}, a run that "
        f"applies {would}"
    )


@contextlib.contextmanager
def _locks(
    req: OneShotRequest,
) -> Iterator[tuple[Any, RateBudgetGuard | None, list[tuple[Holder, str]]]]:
    """The ``on_scope`` callback of the planning that takes the scope's run locks (none for a
    dry run, which writes nothing), held until the block ends; what the planning's reads do
    at a 429 until then (``RateBudgetGuard``: stop if another run holds locks, as that run is
    spending the token's rate budget; None for a dry run, which waits the 429s out); and, for a
    dry run, another run found at work on its boards as its reads began (R54e: one that ended
    during them went unsaid, and the plan listed changes it had made, exit 7)."""
    directory = lock_dir(req.state_dir)
    names = partial(known_board_names, req.state_dir)
    guard = None if req.dry_run else RateBudgetGuard(directory, names)
    began: list[tuple[Holder, str]] = []
    with contextlib.ExitStack() as held:

        def lock(scope: Scope) -> None:
            if guard is None:
                boards = scope.board_ids
                locks = [*(f"board-{b}" for b in boards), *(f"run-board-{b}" for b in boards)]
                if (found := held_among(directory, locks)) is not None:
                    began.append(found)
            else:
                names = dict(scope.board_names)
                # Off before the locks are taken: another thread's 429 in between would see
                # this run's own locks held and blame them on another run.
                guard.locked = True
                held.enter_context(run_lock(directory, scope.board_ids, names))
                logger.debug("holding the run locks of %d boards", len(scope.board_ids))
            # Before the boards are read (R82: a killed undo's removal still on its way was on
            # its card for the plan, left out unsaid; gone a moment later); a dry run says so.
            wait_for_earlier(
                req.journal_dir,
                api_url=req.plan.api_url,
                lock_dir=directory,
                max_request_s=sum(ApiSettings.timeouts(req.plan.request_timeout)),
                dry_run=guard is None,
            )

        yield lock, guard, began


def _apply(
    req: OneShotRequest,
    result: PlanResult,
    ui: OneShotUi,
    unread_journal: str | None,
    apply: run.ApplyRequest | None,
) -> OneShotResult:
    """Apply the plan just made (``apply``, after ``ui.confirm``) and record the last run on
    success, unless ``unread_journal`` says why changes were left out that this tool's undo may
    have undone (a journal that may say cannot be read: ``oneshot_undone``)."""
    report: ApplyReport | None = None
    journal = None if apply is None else apply.journal_path
    outcome: Outcome
    if apply is None:
        blocked = bool(result.plan.blocked)
        code, outcome = (ExitCode.PARTIAL, "blocked") if blocked else (ExitCode.OK, "nothing_to_do")
        for line in attention_lines(  # R74a: a run with only blocked changes named none
            map(blocked_outcome, result.plan.blocked),
            change_labels(result.plan),
            "a --dry-run lists each",
        ):
            logger.info("%s", line, extra=FILE_ONLY)
        if result.scope is not None:
            _settle_earlier(req, result)
    elif not ui.confirm(run.plan_changes(result.plan)):
        code, outcome, journal = ExitCode.OK, "declined", None
    else:
        total = run.plan_outcomes(result.plan)  # one outcome each
        report = run.run_apply(apply, ui.applying(total, apply.journal_path))
        journal = report.journal_path or apply.journal_path  # or beside it, if it was replaced
        code = report.exit_code
        outcome = written_outcome(report)
    ui.finished(outcome, report, journal)
    if report is not None and report.refused:
        logger.error("%s", refused_line(result, report))
    giving = result.unread_named if req.accept_unreadable is not None else ()
    gone: tuple[UnreadBoard, ...] = result.given_up
    if (
        outcome not in ("declined", "stopped")
        and req.accept_unreadable is None
        and _unread_named(result, dry_run=False)
    ):
        code, outcome = ExitCode.AUTH, "refused"  # not recorded as the last run
    recorded: Path | None = None
    not_recorded: str | None = None
    accepted: tuple[str, ...] = ()
    if code == ExitCode.OK and outcome != "declined" and result.scope is not None:
        since = result.plan.options.since
        gap = last_run_gap(req.state_dir, result.scope, since)
        blind = result.unreadable_in_window
        if gap is not None:
            not_recorded = gap_line(req.state_dir, result.scope, since, gap)
        elif blind and req.accept_unreadable is None:
            # Its cards' removals (logged on that board) are unseen: recorded, the next window
            # would start after them, and giving the token access would not bring them back.
            not_recorded = (
                "this run was not recorded as the last run on these boards: cards moved to or "
                f"from {plural(len(blind), 'board')} this account cannot read "
                f"({_boards(blind, result.unreadable_names)}) at or after "
                f"{when(since, millis=True)}, so what happened to them is unseen; add the token's "
                "member to "
                f"{'it' if len(blind) == 1 else 'them'}, and the next --since last-run run "
                "covers this window again (or, to give up what those cards lost there, run "
                "once with --accept-unreadable-boards, which records the run anyway)"
            )
        elif unread_journal is not None:  # its warning says so, with the way out
            not_recorded = (
                "this run was not recorded as the last run on these boards: it left out what "
                "this tool's undo may have undone, as a journal that may hold that undo "
                f"cannot be read ({unread_journal}); once it can be read, the next --since "
                "last-run run covers this window again"
            )
        if not_recorded is not None:
            logger.warning("%s", not_recorded)
        else:
            end = window_end(
                run_start(req.created_at, result.trello_started), result.plan.options.until
            )
            kept = given_up.record(result.given_up, giving, end)
            wrote = report is not None and report.counts.get("applied", 0) > 0
            # ``now``: a run up to now (no --until) replaces a record later than this machine's
            # clock; one over an older window leaves the record be (R32b).
            now = req.created_at if result.plan.options.until is None else None
            recorded = record_last_run(req.state_dir, result.scope, end, kept, wrote=wrote, now=now)
            logger.info("last run on these boards recorded in %s (%s)", recorded, end.isoformat())
            gone += tuple(u._replace(given_up_on=given_up.stamp(end)) for u in giving)
            accepted = tuple(u.id or u.given for u in gone)
            if blind:
                accepted = (*blind, *accepted)
                logger.warning(
                    "this run was recorded as the last run on these boards, as %s asks, "
                    "although cards moved to or from %s this account cannot read (%s) at or "
                    "after %s: the members those cards lost there are given up, and later "
                    "--since last-run runs will not restore them",
                    req.accept_unreadable,
                    plural(len(blind), "board"),
                    _boards(blind, result.unreadable_names),
                    when(since, millis=True),
                )
    elif result.scope is not None and outcome != "declined":
        # R72c: a run that left changes undone said so only by its exit code in the log.
        logger.info(
            "not recorded as the last run on these boards (exit %d): the next --since "
            "last-run run covers this window again",
            int(code),
            extra=FILE_ONLY,
        )
    return OneShotResult(
        result,
        outcome,
        code,
        report,
        journal,
        recorded,
        since_last_run=req.plan.since_last_run,
        not_recorded=not_recorded,
        accepted_unreadable=accepted,
        given_up=gone,
    )


def run_summary(
    once: OneShotResult, *, workspace: str | None = None, since_source: str = ""
) -> dict[str, Any]:
    """The JSON summary of a one-shot run (``--format json`` without ``--dry-run``), for cron
    and scripts: what was covered, the plan's counts, what the apply did, where its journal
    is, whether the last-run state was recorded, and the exit code. Never a credential."""
    result, report = once.plan, once.report
    plan, meta = result.plan, result.meta
    counts = plan_summary(plan, version=2)  # every kind's count, 0 or not (R62e)
    applied = report_counts(report)
    gone = {u.id or u.given for u in once.given_up}
    only_blocked: list[str] = []
    if once.outcome == "blocked":
        # Only blocked changes: nothing was written, but they are what ``apply.blocked``
        # counts whenever something is (and what ``apply PLAN`` of this plan reports), so a
        # script reading it is not told 0; each board's too.
        applied["blocked"] = len(plan.blocked)
        only_blocked = [b.change.board_id for b in plan.blocked]
    return {
        **_head("run", once.outcome, once.exit_code),
        "api_url": meta.api_url,
        "account": meta.account.username if meta.account else None,
        "workspace": workspace,
        "boards": board_outcomes(meta.boards, report, APPLY_COUNTS, only_blocked),
        "since": format_date(plan.options.since),
        "since_source": "last-run" if once.since_last_run else since_source,
        "until": format_date(plan.options.until) if plan.options.until else None,
        "plan": {
            "changes": counts["changes"],
            **{k.summary_key: counts[k.summary_key] for k in in_order()},
            "blocked": counts["blocked"],
            "skipped": counts["skipped"],
            # Fields left alone and what cannot be restored (--restore's value kinds).
            "value_skipped": len(plan.value_skipped),
            "unrestorable": len(plan.unrestorable),
            # The plan phase's own requests, 429s and wall time (its history fetch); the
            # apply's are under "apply".
            "plan_requests": result.requests_sent,
            "plan_rate_limited": result.rate_limited,
            "plan_seconds": round(result.seconds, 3),
        },
        "apply": applied,
        "journal": str(once.journal) if once.journal is not None else None,
        "last_run": {
            "recorded": once.last_run_file is not None,
            "state_file": str(once.last_run_file) if once.last_run_file is not None else None,
            # Why a run that succeeded was not recorded (None otherwise).
            "not_recorded": once.not_recorded,
            # The unreadable boards whose losses were given up to record it (ids): moves in
            # the window, and given_up_boards; empty otherwise.
            "accepted_unreadable_boards": list(once.accepted_unreadable),
        },
        # What the run warned of on stderr about its plan (boards it could not read, …).
        "warnings": list(result.warnings),
        # Boards that refused the token's member a write, whose other writes were not sent
        # while the other boards' went on, or a read (exit 3); empty otherwise.
        "refused_boards": [b for b in refused_boards(result, report) if b["id"] not in gone],
        # Boards left out as given up (--accept-unreadable-boards), by this run or earlier.
        "given_up_boards": given_up.as_json(once.given_up),
    }


#: The outcome counts of an apply in the JSON summaries, zero or not (``report_counts``);
#: a dry run's ``would_apply`` stands for ``applied``.
APPLY_COUNTS = ("applied", "already_satisfied", "drifted", "blocked", "failed", "not_attempted")
#: The outcome counts of an undo (``already_satisfied``: a value found back already, the text's
#: "already reverted"; ``not_on_card``: "no longer there"); a dry run's ``would_undo`` stands
#: for ``undone``.
UNDO_COUNTS = ("undone", "already_satisfied", "not_on_card", "drifted", "failed", "not_attempted")


def _head(kind: str, outcome: str, exit_code: ExitCode) -> dict[str, Any]:
    """The fields every JSON summary starts with: which summary, of which version, and how the
    command ended."""
    return {
        "format": f"trello-restore-{kind}-summary",
        "format_version": 1,
        "tool_version": __version__,
        "outcome": outcome,
        "exit_code": int(exit_code),
    }


def written_outcome(report: ApplyReport) -> Literal["applied", "stopped", "refused", "partial"]:
    """How a run that wrote ended: everything done, stopped early (Trello kept failing),
    refused the writes to a board (the others went on: ``ApplyReport.refused``), or done in
    part (something failed, drifted or was blocked)."""
    if report.exit_code == ExitCode.OK:
        return "applied"
    if report.stopped:
        return "stopped"
    return "refused" if report.refused else "partial"


def _settle_earlier(req: OneShotRequest, result: PlanResult) -> None:
    """A run with nothing to write still settles, from live state, the writes a killed run
    left open on these boards, as a run that writes does before it writes
    (``run.settle_earlier``: the same checks, locks and reads, with no journal of its own).
    Now, while the cards still show what those writes did: left to the next run that writes,
    weeks later maybe, a colleague's change in between turns them into "cannot tell whether
    the interrupted add took effect" warnings. Looked for on disk first, so a run with none
    left open sends no request more."""
    boards = {board_id for board_id, _ in result.meta.boards}
    if not has_open_records(req.journal_dir, boards):
        return
    settled = run.settle_earlier(apply_request(req, result))
    logger.info("settled %s of earlier runs", plural(settled, "interrupted write"))


def _unread_named(result: PlanResult, *, dry_run: bool) -> bool:
    """Whether the run left named boards it could not read out of its plan; if so, the line
    that ends it is logged (``refusals.unread_named_line``)."""
    me = result.meta.account
    if not result.unread_named or me is None:
        return False
    unread = [(u.given, u.said) for u in result.unread_named]
    alone = not result.meta.boards  # every board refused: no other boards were planned
    logger.error("%s", refusals.unread_named_line(me, unread, dry_run=dry_run, alone=alone))
    return True


def report_counts(
    report: ApplyReport | None,
    statuses: Iterable[str] = APPLY_COUNTS,
    *,
    undo: bool = False,
    **more: int,
) -> dict[str, Any]:
    """An apply's or undo's counts (each of ``statuses``, zero or not, and ``more``), why it
    stopped early (or None), what an earlier run did (an apply's ``done_earlier``; an undo's
    are in ``more``), its requests and its time. ``report`` None (nothing was written or
    read: nothing to do, or declined): the same keys, every count 0, so that each key of the
    summary always holds one type."""
    got: Mapping[str, int] = report.counts if report is not None else {}
    counts: dict[str, Any] = {status: got.get(status, 0) for status in statuses}
    counts |= more
    counts["stopped"] = (report.stopped or None) if report is not None else None
    if not undo:  # an undo skips nothing an earlier run did: its earlier counts are in more
        counts["done_earlier"] = got.get("skipped_done", 0)
    counts["requests"] = report.requests_sent if report is not None else 0
    counts["rate_limited"] = report.rate_limited if report is not None else 0
    counts["seconds"] = round(report.seconds, 3) if report is not None else 0.0
    return counts


def change_outcomes(
    outcomes: Iterable[ChangeOutcome], labels: Mapping[str, str], *, undo: bool = False
) -> list[dict[str, Any]]:
    """Every change's outcome as the text report's line has it
    (``report_outcomes.outcome_parts``): its status and the word shown for it (``status_text``),
    what it is about (``label``), and for a failed, drifted or blocked change the HTTP status
    and Trello's error text or the reason."""
    out: list[dict[str, Any]] = []
    for o in outcomes:
        word, label, why = outcome_parts(o, labels, undo=undo)
        out.append(
            {
                "change_id": o.change_id,
                "action": o.action,
                "status": o.status,
                "status_text": word,
                "label": label,
                "board_id": o.board_id,
                "card_id": o.card_id or None,
                "member_id": o.member_id or None,
                "http_status": o.http_status,
                "error": why or None,
            }
        )
    return out


def apply_json(
    plan_file: str,
    meta: PlanMeta,
    report: ApplyReport | None,
    labels: Mapping[str, str],
    *,
    dry_run: bool,
    journal: Path | None,
    refused: list[dict[str, Any]] | None = None,
) -> dict[str, Any]:
    """The JSON summary of ``apply PLAN`` (``--format json``): the plan's target, what the
    apply did (``report``; None: the plan holds no changes), the journal it wrote (None for a
    dry run), every change's outcome and the boards that ``refused`` its writes (``refused_list``).
    Never a credential."""
    if report is None:
        outcome, code = "nothing_to_do", ExitCode.OK
    else:
        outcome, code = ("dry_run" if dry_run else written_outcome(report)), report.exit_code
    statuses = ("would_apply", *APPLY_COUNTS[1:]) if dry_run else APPLY_COUNTS
    return {
        **_head("apply", outcome, code),
        "dry_run": dry_run,
        "api_url": meta.api_url,
        "account": meta.account.username if meta.account else None,
        "account_id": meta.account.id if meta.account else None,
        "boards": [{"id": board_id, "name": name} for board_id, name in meta.boards],
        "plan_file": plan_file,
        "apply": report_counts(report, statuses),
        "journal": str(journal) if journal is not None and report is not None else None,
        "changes": change_outcomes(report.outcomes, labels) if report is not None else [],
        "refused_boards": refused or [],
    }


def undo_json(
    journal: Journal,
    report: ApplyReport | None,
    labels: Mapping[str, str],
    *,
    dry_run: bool,
    earlier: Iterable[JournalRecord] = (),
    declined: bool = False,
    grants_kept: int = 0,
) -> dict[str, Any]:
    """The JSON summary of ``undo JOURNAL`` (``--format json``): the journal's target, what the
    undo did (``report``; None: nothing to undo, or ``declined`` at the prompt: every count 0)
    with what an earlier undo of the journal settled (``earlier``: ``undo_left.undone_earlier``;
    ``<status>_earlier`` for each of ``EARLIER_COUNTS``), every change's outcome, and the
    board memberships the apply granted that the undo leaves (``grants_kept``: without
    ``--include-board-memberships``). Never a credential."""
    outcome: str
    if report is None:
        outcome, code = ("declined" if declined else "nothing_to_do"), ExitCode.OK
    else:
        outcome, code = "dry_run" if dry_run else written_outcome(report), report.exit_code
        outcome = "undone" if outcome == "applied" else outcome
    statuses = ("would_undo", *UNDO_COUNTS[1:]) if dry_run else UNDO_COUNTS
    settled: list[str] = [r.status for r in earlier]
    before = {f"{status}_earlier": settled.count(status) for status in EARLIER_COUNTS}
    before["under_way"] = len(report.under_way) if report is not None else 0
    boards = _journal_boards(journal.records, report.board_names if report else {})
    names = {b["id"]: b.get("name", "") for b in boards}
    return {
        **_head("undo", outcome, code),
        "dry_run": dry_run,
        "api_url": journal.header.api_url,
        "account_id": journal.header.account_id,
        "boards": boards,
        "journal": str(report.journal_path or journal.path if report else journal.path),
        "undo": report_counts(report, statuses, undo=True, **before),
        "changes": change_outcomes(report.outcomes, labels, undo=True) if report else [],
        "board_memberships_kept": grants_kept,
        "refused_boards": refused_list(report, names, names),
    }


#: What an earlier undo of a journal settled, counted in an undo's JSON summary as
#: ``undone_earlier``, ``already_satisfied_earlier`` (found set back by hand) and
#: ``not_on_card_earlier`` (found gone).
EARLIER_COUNTS = ("undone", "already_satisfied", "not_on_card")


def _journal_boards(
    records: Iterable[JournalRecord], live: Mapping[str, str]
) -> list[dict[str, Any]]:
    """The boards a journal's records are on, in the order they first appear, each with its
    name: the undo's live read's (``live``, by id), else the one a record keeps
    (``journal_names.board_names``); without either the board has only its ``id`` (never a null
    name)."""
    names = {b: live.get(b) or kept for b, kept in board_names(records).items()}
    return [
        {"id": board_id, "name": name} if name else {"id": board_id}
        for board_id, name in names.items()
    ]
