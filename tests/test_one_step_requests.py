"""A one-step run's requests, plan and apply together (R57e). ``--rate-limit N`` caps them at
N per window over the whole run: the apply made a limiter of its own, which did not count the
plan's reads of moments before, so the first window of the apply held the plan's reads and N
more (58 and 69 in a window with ``--rate-limit 50``), and another program the cap left room
for got 429s. And ``members/me`` is read once. Counted by the sandbox's request log (arrival
times), over the command line."""

from __future__ import annotations

import pytest

from trello_restore.sandbox.scenario import Scenario

from .conftest import Sandbox, sandbox_cli
from .test_pacing import _peak
from .truthcheck import incident_since

#: The tool's rate window here (a sandbox's time scale), and the cap.
WINDOW_S = 2.0
CAP = 12


def test_the_cap_counts_the_plan_s_reads_and_the_apply_s_requests_together(
    sb: Sandbox, scenario: Scenario, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("TRELLO_RESTORE_WINDOW_SECONDS", str(WINDOW_S))
    invoke = sandbox_cli(sb, monkeypatch)
    mark = len(sb.server.request_log)
    since = incident_since(scenario)
    args = ["--board", scenario.team.id, "--since", since, "--rate-limit", str(CAP), "--yes"]
    result = invoke(*args, "--add-to-board", "--no-cache")
    assert result.exit_code in (0, 5), result.stderr
    log = sb.server.request_log[mark:]
    writes = [r for r in log if r.method != "GET"]
    assert writes, "the run wrote"
    reads_before = next(i for i, r in enumerate(log) if r.method != "GET")
    assert reads_before > CAP // 3, "the plan's reads are a good part of a window"
    # One over the cap at most: arrival times may bunch what the limiter sent spaced.
    peak = _peak(log, WINDOW_S)
    assert peak <= CAP + 1, f"{peak} requests in one {WINDOW_S} s window"


def test_a_one_step_run_reads_the_token_s_member_once(
    sb: Sandbox, scenario: Scenario, monkeypatch: pytest.MonkeyPatch
) -> None:
    """R57e: the apply of a one-step run read ``members/me`` again, fresh, though its plan
    had read it moments before; Trello allows 100 requests per 15 minutes on ``/1/members/``,
    which a script running the tool board by board would reach. Once a run now."""
    invoke = sandbox_cli(sb, monkeypatch)
    mark = len(sb.server.request_log)
    since = incident_since(scenario)
    result = invoke("--board", scenario.team.id, "--since", since, "--yes", "--add-to-board")
    assert result.exit_code in (0, 5), result.stderr
    log = sb.server.request_log[mark:]
    assert any(r.method != "GET" for r in log), "the run wrote"
    assert [r.path for r in log].count("/1/members/me") == 1
