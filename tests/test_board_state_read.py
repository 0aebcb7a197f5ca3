"""A board's state (its memberships with their members, and its lists) is one request: the
board read with both nested (``boards.STATE_QUERY``), and for a followed board the very
request that finds it. The sandbox answers the nested form as its own listings do; over HTTP, a
plan reads each board's state once a run, fresh, and never ``/memberships`` or ``/lists``."""

from __future__ import annotations

from pathlib import Path

import pytest

from trello_restore.boards import STATE_QUERY
from trello_restore.run import make_plan
from trello_restore.sandbox.scenario import Scenario, generate
from trello_restore.sandbox.server import RequestRecord

from .conftest import SandboxFactory
from .truthcheck import NOW, assert_plan_is_truth, incident_request


@pytest.fixture(scope="module")
def scenario() -> Scenario:
    return generate(5, 40)


def test_the_nested_state_is_what_the_boards_own_listings_answer(
    scenario: Scenario, sandbox_factory: SandboxFactory
) -> None:
    sb = sandbox_factory(scenario)
    closed = 0
    for board in scenario.scope:
        nested = sb.get(f"/boards/{board}", **STATE_QUERY).json()
        memberships = sb.get(
            f"/boards/{board}/memberships",
            filter="all",
            member="true",
            member_fields="fullName,username",
        ).json()
        lists = sb.get(f"/boards/{board}/lists", filter="all", fields="name,closed").json()
        assert nested["memberships"] == memberships
        assert nested["lists"] == lists
        closed += sum(x["closed"] for x in lists)
    assert closed, "archived lists are among them"
    team = scenario.team.id
    plain = sb.get(f"/boards/{team}", fields="all").json()
    assert "lists" not in plain  # nested resources are asked for, never given by default
    assert all("member" not in m for m in plain["memberships"])  # the board's own field
    admins = sb.get(f"/boards/{team}", memberships="admin").json()["memberships"]
    assert admins
    assert all(m["memberType"] == "admin" for m in admins)
    mine = sb.get(f"/boards/{team}", memberships="me").json()["memberships"]
    assert [m["idMember"] for m in mine] == [sb.get("/members/me").json()["id"]]
    gone = sb.get(f"/boards/{team}", memberships="deactivated").json()["memberships"]
    assert [m["idMember"] for m in gone] == [scenario.deactivated.id]
    for bad in ("bogus", "none,admin"):
        answer = sb.get(f"/boards/{team}", memberships=bad)
        assert answer.status_code == 400
        assert answer.text == "invalid value for memberships"


def _state_reads(log: list[RequestRecord], board: str) -> list[RequestRecord]:
    return [r for r in log if r.path == f"/1/boards/{board}" and "memberships" in r.query_names]


@pytest.mark.parametrize("kept", [True, False], ids=["kept-history", "no-cache"])
def test_a_plan_reads_each_boards_state_in_one_fresh_request(
    scenario: Scenario, sandbox_factory: SandboxFactory, tmp_path: Path, kept: bool
) -> None:
    """Every board in scope: one state read a run, fresh on the second run too (never from
    the HTTP cache); the followed board is found by that read (one request to it at all but
    its history and cards); no ``/memberships`` or ``/lists`` request; the plan is the
    ground truth."""
    sb = sandbox_factory(scenario)
    cache = tmp_path / "cache" if kept else None
    request = incident_request(scenario, sb.base_url, sb.key, sb.token, cache)
    (followed,) = [b for b in scenario.scope if b != scenario.team.id]
    for run in (1, 2):
        result = make_plan(request, created_at=NOW)
        assert_plan_is_truth(result.plan, scenario.truth("a"))
        log = sb.server.request_log
        for board in scenario.scope:
            assert len(_state_reads(log, board)) == run, board
        assert not [r for r in log if r.path.endswith(("/memberships", "/lists"))]
        assert len([r for r in log if r.path == f"/1/boards/{followed}"]) == run
