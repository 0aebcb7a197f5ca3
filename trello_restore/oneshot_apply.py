"""The apply of the plan a one-step run has just made (``oneshot.run_once``): its request, and
its journal looked at before the plan is shown."""

from __future__ import annotations

from dataclasses import replace
from typing import TYPE_CHECKING, Any

from trello_restore import run
from trello_restore.journal import on_disk
from trello_restore.run_apply import existing_journal

if TYPE_CHECKING:
    from trello_restore.oneshot import OneShotRequest
    from trello_restore.run import PlanResult

__all__ = ["apply_request", "checked_apply"]


def checked_apply(
    req: OneShotRequest, result: PlanResult, *, left_out: bool
) -> run.ApplyRequest | None:
    """The apply of the plan just made (None when it has no changes: a dry run's, or one with
    nothing to apply), its journal looked at: one behind a directory this user cannot search
    is refused now (``InputFileError``), and so is another plan's. With nothing to apply, only
    when changes were ``left_out`` for a journal that could not be read (R70a: a journal
    directory of mode 000 left every change out, and the run exited 0 with nothing done);
    else its journals are warned of and the run ends as it would (R23a)."""
    if req.dry_run:
        return None
    if not run.plan_changes(result.plan):
        if left_out:
            on_disk(apply_request(req, result, journal=req.journal).journal_path)
        return None
    apply = apply_request(
        req,
        result,
        journal=req.journal,
        # With changes on several boards, a board that refuses the token's writes stops only
        # its own.
        refused_boards_go_on=len({c.board_id for c in result.plan.changes}) > 1,
        fresh_plan=True,  # its plan's read is the state: no actions read since
    )
    existing_journal(apply.journal_path, apply.meta.digest, warn_torn=False)
    return apply


def apply_request(
    req: OneShotRequest, result: PlanResult, journal: str | None = None, **options: Any
) -> run.ApplyRequest:
    """The apply of the plan just made: the run's options (``options`` set on them; the
    plan's warnings said once), its credentials and journal, and, since a run again after a
    kill plans afresh, the killed run's writes settled first (``resolve_earlier``)."""
    return run.apply_request(
        result.plan,
        result.meta,
        api_url=req.plan.api_url,
        options=replace(req.options, shown=frozenset(result.warnings), **options),
        state_dir=req.state_dir,
        journal_dir=req.journal_dir,
        journal=journal,
        key=req.plan.key,
        token=req.plan.token,
        read_retries=req.plan.read_retries,
        request_timeout=req.plan.request_timeout,
        origins=req.plan.origins,
        resolve_earlier=True,
        limiter=result.limiter,  # the plan's: --rate-limit caps the whole run (R57e)
        account=result.meta.account,  # just read by the plan: not read again (R57e)
    )
