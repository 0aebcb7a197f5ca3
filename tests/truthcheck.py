"""Compare a plan with a scenario's ground truth (shared by the planner and HTTP tests)."""

from __future__ import annotations

from trello_restore.models import Plan, PlanOptions
from trello_restore.sandbox.truth import GroundTruth, OptionSet


def plan_options(o: OptionSet) -> PlanOptions:
    """The planner options for a ground-truth option set."""
    return PlanOptions(
        since=o.since,
        until=o.until,
        mode=o.mode,
        removed_by=o.removed_by,
        cause=o.cause,
        only_recorded=o.only_recorded,
        add_to_board=o.add_to_board,
        board_role=o.board_role,
        lists=o.lists,
        cards=o.cards,
    )


def assert_plan_is_truth(
    plan: Plan, truth: GroundTruth, *, removal_ids: set[str] | None = None
) -> None:
    """The plan's changes, grants, blocked and skipped entries equal the truth's exactly.

    With ``removal_ids``, skipped entries are compared for those removal actions only (used
    with --until, where the planner cannot date silent losses and the truth can)."""
    got = {
        (c.card_id, c.member.id, c.evidence.kind, c.evidence.action_id)
        for c in plan.card_changes()
        if c.evidence
    }
    assert got == {(c.card_id, c.member_id, c.evidence, c.action_id) for c in truth.changes}
    assert len(plan.card_changes()) == len(truth.changes)
    assert {(c.board_id, c.member.id, c.role) for c in plan.board_changes()} == {
        (g.board_id, g.member_id, g.role) for g in truth.grants
    }
    assert {(b.change.card_id, b.change.member.id, b.reason) for b in plan.blocked} == {
        (b.card_id, b.member_id, "not_board_member") for b in truth.blocked
    }

    def keep(action_id: str | None) -> bool:
        return removal_ids is None or action_id in removal_ids

    assert {
        (x.card_id, x.member.id, x.reason, x.action_id) for x in plan.skipped if keep(x.action_id)
    } == {
        (x.card_id, x.member_id, x.reason, x.action_id) for x in truth.skipped if keep(x.action_id)
    }
    kinds = [c.action for c in plan.changes]
    assert kinds == sorted(kinds, key=lambda k: k != "add_member_to_board"), "grants come first"
