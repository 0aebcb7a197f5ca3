"""The one-step run's JSON summary has the plan phase's own figures beside ``plan_requests``:
``plan_rate_limited`` (its 429s) and ``plan_seconds`` (its wall time), so that a 429 storm on
the history fetch is seen in the summary, not only in a run that took longer than its
``apply.seconds`` (review 20c). Over the command line against the sandbox, counted with its
request log; the storm starts just before the run, so it hits the plan phase's first
requests (``members/me`` and the boards) and is over before the apply."""

from __future__ import annotations

from trello_restore.errors import ExitCode
from trello_restore.sandbox.scenario import Scenario

from .conftest import Sandbox
from .test_apply_counts_reads import STORM_S, WRITES, _span, _storm, invoke_fixture
from .test_apply_undo_json import Invoke, _line
from .truthcheck import incident_since

invoke = invoke_fixture  # the sandbox's command line with a 0.1 s rate window


def _args(scenario: Scenario) -> list[str]:
    """A one-step run of the mover's removals with board grants, applied, its JSON summary."""
    since = incident_since(scenario)
    return ["--board", scenario.team.id, "--since", since, "--removed-by",
            scenario.mover.username, "--add-to-board", "--yes", "--quiet",
            "--format", "json"]  # fmt: skip


def test_storm_on_the_plan_phase_is_in_its_own_counts(
    invoke: Invoke, sb: Sandbox, scenario: Scenario
) -> None:
    """The plan's figures are the sandbox's count of the requests and 429s before the apply's
    (the first ``plan_requests`` of the run's log, none a write), its seconds span them, the
    storm's wait included; the apply's 429s are the rest of the run's."""
    mark = _storm(sb)
    run = invoke(*_args(scenario))
    assert run.exit_code == ExitCode.OK, run.output
    doc = _line(run, sb)
    plan, apply = doc["plan"], doc["apply"]
    assert apply["applied"] >= 1
    log = sb.server.request_log[mark:]
    assert plan["plan_requests"] + apply["requests"] == len(log)
    planned = log[: plan["plan_requests"]]
    assert not any(r.method in WRITES for r in planned)
    limited = [r for r in planned if r.status == 429]
    assert limited, "the storm answered the plan's first requests 429"
    assert planned[0].status == 429
    assert plan["plan_rate_limited"] == len(limited)
    assert plan["plan_rate_limited"] + apply["rate_limited"] == sum(r.status == 429 for r in log)
    assert plan["plan_seconds"] >= _span(planned) >= STORM_S
    # Waited out for the configured rate window (0.1 s), not Trello's 10 s.
    assert plan["plan_seconds"] < 5


def test_no_storm_no_plan_429s_and_a_short_plan(
    invoke: Invoke, sb: Sandbox, scenario: Scenario
) -> None:
    """Without a storm: ``plan_rate_limited`` 0 and ``plan_seconds`` a small number that spans
    the plan's requests; the keys hold an int and a float, as the apply's do."""
    mark = len(sb.server.request_log)
    run = invoke(*_args(scenario))
    assert run.exit_code == ExitCode.OK, run.output
    plan = _line(run, sb)["plan"]
    planned = sb.server.request_log[mark:][: plan["plan_requests"]]
    assert planned
    assert not any(r.status == 429 for r in planned)
    assert plan["plan_rate_limited"] == 0
    assert isinstance(plan["plan_seconds"], float)
    assert _span(planned) <= plan["plan_seconds"] < 5
