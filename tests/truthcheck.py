"""Compare a plan with a scenario's ground truth (shared by the planner and HTTP tests)."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from trello_restore.models import RESTORE_KINDS, Plan, PlanOptions, ValueChange
from trello_restore.plan_request import PlanRequest, build_request
from trello_restore.sandbox.scenario import Scenario
from trello_restore.sandbox.truth import GroundTruth, OptionSet, compute

#: The "now" of the requests ``incident_request`` builds.
NOW = datetime(2026, 11, 26, tzinfo=UTC)


def incident_request(
    s: Scenario, api_url: str, key: str, token: str, cache: Path | None
) -> PlanRequest:
    """The command line's request for the scenario's incident as option set a plans it (the
    team board by shortLink, ``--since`` the incident, ``--removed-by`` the mover) against a
    sandbox, with ``cache`` as its cache directory and its kept histories' (None: neither, as
    ``--no-cache``): its plan is ``s.truth("a")``."""
    request = build_request(
        boards=(s.team.short_link,),
        exports=(),
        since=s.incident_at.isoformat(),
        until=None,
        now=NOW,
        removed_by=s.mover.username,
        api_url=api_url,
        key=key,
        token=token,
        cache_dir=cache,
    )
    return replace(request, history_dir=cache)


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
        restore=frozenset(k for k in o.restore if k in RESTORE_KINDS),
        by=o.by,
    )


def team_truth(s: Scenario, name: str) -> GroundTruth:
    """The ground truth of reference set ``name`` for a plan that names the team board only
    (as ``applykit.plan_doc`` plans): its cards, and the lists now on it."""
    with s.world.lock:
        return compute(s.world, s.scope, s.option_sets()[name], (s.team.id,))


def assert_values_are_truth(plan: Plan, truth: GroundTruth) -> None:
    """The plan's value changes (design.md §10: object, field, target, expected value, every
    selected action, who made the first one and when), the fields it leaves alone (reason and
    first selected action) and what it lists as unrestorable equal the truth's exactly."""

    def planned(c: ValueChange) -> tuple[Any, ...]:
        e = c.evidence
        assert e is not None, c.change_id
        obj = c.list_id if c.object_type == "list" else c.card_id
        return (c.object_type, obj, c.field, c.value, c.expected, c.actions, e.by.id, e.date)

    got = {planned(c) for c in plan.changes if isinstance(c, ValueChange)}
    want = {
        (c.object_type, c.object_id, c.field, c.value, c.expected, c.action_ids, c.by, c.at)
        for c in truth.value_changes
    }
    assert got == want, (sorted(got - want, key=str)[:5], sorted(want - got, key=str)[:5])
    assert {
        (x.object_type, x.object_id, x.field, x.reason, x.action_id) for x in plan.value_skipped
    } == {(x.object_type, x.object_id, x.field, x.reason, x.action_id) for x in truth.value_skipped}
    assert {(u.object_id, u.action_id, u.by.id, u.date, u.what) for u in plan.unrestorable} == {
        (u.card_id, u.action_id, u.by, u.at, u.what) for u in truth.unrestorable
    }


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


def incident_since(s: Scenario) -> str:
    """The scenario's incident time as ``--since`` takes it on the command line (UTC, to the
    second, without a zone)."""
    return s.incident_at.strftime("%Y-%m-%dT%H:%M:%S")
