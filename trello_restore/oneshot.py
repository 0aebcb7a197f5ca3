"""The one-shot run: ``trello-restore --board X --since WHEN [--yes]``, as one function.

``run_once`` takes the boards' run locks (not for a dry run), plans, lets the caller show the
plan, and (unless it is a dry run) asks the caller to confirm, applies the plan it just made,
records the boards' last run when everything succeeded, and returns a ``OneShotResult``: the
plan, the apply's report, the outcome, the exit code, the journal and the last-run file.
``run_summary`` turns that into the JSON summary that cron and scripts read.

It never prints, prompts or reads the environment: the caller (the command line) passes every
directory in and talks to the user through ``OneShotUi``.
"""

from __future__ import annotations

import contextlib
import logging
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal, Protocol

from trello_restore import __version__, run
from trello_restore.errors import ExitCode
from trello_restore.lastrun import Scope, record_last_run, window_end
from trello_restore.locks import lock_dir, run_lock
from trello_restore.planfile import format_date, plan_summary
from trello_restore.report import dry_run_exit_code, summary_line

if TYPE_CHECKING:
    from trello_restore.applier import ApplyOptions, ApplyReport
    from trello_restore.run import PlanRequest, PlanResult, Progress

logger = logging.getLogger(__name__)

#: How a one-shot run ended: a dry run; nothing to write (with or without blocked changes);
#: the confirmation declined; applied in full, in part, or stopped early.
Outcome = Literal[
    "dry_run", "nothing_to_do", "blocked", "declined", "applied", "partial", "stopped"
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


def run_once(req: OneShotRequest, ui: OneShotUi) -> OneShotResult:
    """Plan and, unless a dry run, apply after ``ui.confirm``; see the module's docstring.

    A run (not a dry run) holds the run locks of its boards from before their history is read
    until its last run is recorded, so an overlapping run on a board exits (``LockHeld``)
    without reading further or writing."""
    with _locks(req) as on_scope:
        result = run.make_plan(req.plan, created_at=req.created_at, on_scope=on_scope)
        ui.planned(result)
        logger.info(
            "plan since %s: %s (%d requests)",
            result.plan.options.since.isoformat(),
            summary_line(result.plan, dry_run=req.dry_run),
            result.requests_sent,
        )
        if req.dry_run:
            code = dry_run_exit_code(result.plan, req.detailed_exitcode)
            return OneShotResult(result, "dry_run", code, since_last_run=req.plan.since_last_run)
        return _apply(req, result, ui)


@contextlib.contextmanager
def _locks(req: OneShotRequest) -> Iterator[Any]:
    """The ``on_scope`` callback of the planning that takes the scope's run locks (none for a
    dry run, which writes nothing), held until the block ends."""
    with contextlib.ExitStack() as held:

        def lock(scope: Scope) -> None:
            if not req.dry_run:
                names = dict(scope.board_names)
                held.enter_context(run_lock(lock_dir(req.state_dir), scope.board_ids, names))
                logger.debug("holding the run locks of %d boards", len(scope.board_ids))

        yield lock


def _apply(req: OneShotRequest, result: PlanResult, ui: OneShotUi) -> OneShotResult:
    """Apply the plan just made (after ``ui.confirm``) and record the last run on success."""
    n = run.plan_changes(result.plan)
    report: ApplyReport | None = None
    journal: Path | None = None
    outcome: Outcome
    if n == 0:
        blocked = bool(result.plan.blocked)
        code, outcome = (ExitCode.PARTIAL, "blocked") if blocked else (ExitCode.OK, "nothing_to_do")
    elif not ui.confirm(n):
        code, outcome = ExitCode.OK, "declined"
    else:
        plan = req.plan
        apply = run.apply_request(
            result.plan,
            result.meta,
            api_url=plan.api_url,
            options=req.options,
            state_dir=req.state_dir,
            journal_dir=req.journal_dir,
            journal=req.journal,
            key=plan.key,
            token=plan.token,
            read_retries=plan.read_retries,
            request_timeout=plan.request_timeout,
            resolve_earlier=True,  # a re-run plans afresh: settle a killed run's writes first
        )
        journal = apply.journal_path
        total = run.plan_outcomes(result.plan)  # one outcome each
        report = run.run_apply(apply, ui.applying(total, journal))
        code = report.exit_code
        outcome = "applied" if code == ExitCode.OK else "stopped" if report.stopped else "partial"
    ui.finished(outcome, report, journal)
    recorded: Path | None = None
    if code == ExitCode.OK and outcome != "declined" and result.scope is not None:
        end = window_end(req.created_at, result.plan.options.until)
        recorded = record_last_run(req.state_dir, result.scope, end)
        logger.info("last run on these boards recorded in %s (%s)", recorded, end.isoformat())
    return OneShotResult(
        result, outcome, code, report, journal, recorded, since_last_run=req.plan.since_last_run
    )


def run_summary(
    once: OneShotResult, *, workspace: str | None = None, since_source: str = ""
) -> dict[str, Any]:
    """The JSON summary of a one-shot run (``--format json`` without ``--dry-run``), for cron
    and scripts: what was covered, the plan's counts, what the apply did, where its journal
    is, whether the last-run state was recorded, and the exit code. Never a credential."""
    result, report = once.plan, once.report
    plan, meta = result.plan, result.meta
    counts = plan_summary(plan)
    applied: dict[str, Any] | None = None
    if report is not None:
        applied = {
            status: report.counts.get(status, 0)
            for status in (
                "applied",
                "already_satisfied",
                "drifted",
                "blocked",
                "failed",
                "not_attempted",
            )
        }
        applied["stopped"] = report.stopped or None
        applied["done_earlier"] = report.counts.get("skipped_done", 0)
        applied["requests"] = report.requests_sent
        applied["rate_limited"] = report.rate_limited
        applied["seconds"] = round(report.seconds, 3)
    return {
        "format": "trello-restore-run-summary",
        "format_version": 1,
        "tool_version": __version__,
        "outcome": once.outcome,
        "exit_code": int(once.exit_code),
        "api_url": meta.api_url,
        "account": meta.account.username if meta.account else None,
        "workspace": workspace,
        "boards": [{"id": board_id, "name": name} for board_id, name in meta.boards],
        "since": format_date(plan.options.since),
        "since_source": "last-run" if once.since_last_run else since_source,
        "until": format_date(plan.options.until) if plan.options.until else None,
        "plan": {
            "changes": counts["changes"],
            "board_changes": counts["board_changes"],
            "card_changes": counts["card_changes"],
            "blocked": counts["blocked"],
            "skipped": counts["skipped"],
            # Fields left alone and what cannot be restored (--restore's value kinds).
            "value_skipped": len(plan.value_skipped),
            "unrestorable": len(plan.unrestorable),
            "plan_requests": result.requests_sent,
        },
        "apply": applied,
        "journal": str(once.journal) if once.journal is not None else None,
        "last_run": {
            "recorded": once.last_run_file is not None,
            "state_file": str(once.last_run_file) if once.last_run_file is not None else None,
        },
    }
