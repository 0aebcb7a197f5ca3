"""What a one-step run leaves out because this tool's own undo may have undone it
(``undone_hint``, ``undone_values``), and whether that keeps the run from being recorded."""

from __future__ import annotations

from dataclasses import replace
from datetime import timedelta
from typing import TYPE_CHECKING

from trello_restore.archived_lists import plan_warnings
from trello_restore.models import State
from trello_restore.plan_request import lone_removals
from trello_restore.undone_hint import Journals, leave_out_undone, undo_hint
from trello_restore.undone_values import leave_out_set_back

if TYPE_CHECKING:
    from trello_restore.oneshot import OneShotRequest
    from trello_restore.run import PlanResult

__all__ = ["left_out_undone"]


def left_out_undone(req: OneShotRequest, result: PlanResult) -> tuple[PlanResult, str | None]:
    """``result`` with the card members this tool's undo took off, and the values it set back,
    left out of a run that applies, and one warning more for each when it adds them back or
    leaves them out (``undone_hint``, ``undone_values``), in its warnings and its plan's; and,
    when they were left out because a journal that may hold such an undo cannot be read, why
    (the run is then not recorded as the last run: R39c), else None."""
    account = result.meta.account
    if account is None:
        return result, None
    started = result.trello_started
    at = Journals(
        req.journal_dir,
        result.meta.api_url,
        account.id,
        account.username or account.id,
        started - req.created_at if started is not None else timedelta(0),
        applying=not req.dry_run,
        removed=result.removed,
    )
    plan, readds, unread = leave_out_undone(result.plan, at)
    hint = undo_hint(result.own_removals, at, result.plan.options)
    plan, set_back, unread_values = leave_out_set_back(plan, result.own_sets, at)
    lone = lone_removals(plan) if req.unattended else None
    hints = tuple(x for x in (readds, hint, set_back, lone) if x is not None)
    if not hints:
        return result, None
    # What the plan's changes said, said of those left (R48b: a run that made no change
    # warned of 133 on a closed board, and of members it grants a board back; R49a: of 15
    # cards moved back into an archived list).
    state = result.state if result.state is not None else State({}, {})
    was = plan_warnings(result.plan, state)
    now = plan_warnings(plan, state) if plan is not result.plan else was

    def said(warnings: tuple[str, ...]) -> tuple[str, ...]:
        return (*(w for w in warnings if w not in was), *now, *hints)

    meta = replace(result.meta, warnings=said(result.meta.warnings))
    return (
        replace(result, plan=plan, meta=meta, warnings=said(result.warnings)),
        unread or unread_values,
    )
