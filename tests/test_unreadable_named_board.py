"""The one-step run on several named boards when the token's member was taken off one of them,
over HTTP against the sandbox.

The board's read (``GET /1/boards/{id}``) is refused (401) while the run resolves its boards,
and that used to stop the whole run (exit 3) before anything was planned: the other boards were
never restored, night after night. Now, with other boards in scope, that board is left out of
the plan with one warning naming it and the member; the others are planned and applied (or dry
run) as usual; one line ends the run naming the board and what to ask a board admin, exit 3,
JSON ``outcome`` ``refused`` with the board in ``refused_boards``; and the run is not recorded
as the last run, so the next one (the member back on the board) covers the window again. A
single named board stops as before, naming the member.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from click.testing import Result

from trello_restore.errors import ExitCode
from trello_restore.sandbox.scenario import Scenario

from .conftest import Sandbox, one_line_error
from .test_apply_refused_boards import _not_a_member
from .test_cron import _on_card
from .test_refused_board import WRITES, _args, _setup, _writes_to


def _warnings(r: Result) -> list[str]:
    return [x.removeprefix("Warning: ") for x in r.stderr.splitlines() if x.startswith("Warning: ")]


def _error(r: Result) -> str:
    """The one ``Error:`` line, the last on stderr."""
    (error,) = [x for x in r.stderr.splitlines() if x.startswith("Error: ")]
    assert r.stderr.splitlines()[-1] == error, r.stderr
    assert "Traceback" not in r.output
    return error


def _left_out(s: Scenario, given: str, warnings: list[str]) -> str:
    """The one warning that says the board (as the user gave it) is left out, naming the
    member."""
    (said,) = [w for w in warnings if f"board {given}:" in w and "left out of the plan" in w]
    assert f"the token's member @{s.mover.username} ({s.mover.full_name})" in said, said
    assert f"ask a board admin to add @{s.mover.username} to that board" in said, said
    return said


def _ending(s: Scenario, given: str, error: str) -> None:
    assert f"read board {given} (HTTP 401 unauthorized permission requested)" in error, error
    assert f"the token's member @{s.mover.username} ({s.mover.full_name})" in error, error
    assert "it was left out of this " in error, error
    assert f"Ask a board admin to add @{s.mover.username} to that board" in error, error


def test_a_run_on_several_boards_goes_on_past_one_the_member_cannot_read(
    sb: Sandbox, scenario: Scenario, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    s = scenario
    invoke, state, recorded, team_lost, archive_lost = _setup(sb, s, tmp_path, monkeypatch)
    give_back = _not_a_member(s, s.archive.id, s.mover.id)

    # The dry run plans the team board, warns of the archive board, writes nothing, exit 3.
    start = len(sb.server.request_log)
    dry = invoke(*_args(s, "--dry-run"))
    assert dry.exit_code == ExitCode.AUTH, dry.output
    _left_out(s, s.archive.id, _warnings(dry))
    _ending(s, s.archive.id, _error(dry))
    assert "left out of this dry run's plan" in _error(dry)
    assert [r for r in sb.server.request_log[start:] if r.method in WRITES] == []
    plan = invoke(*_args(s, "--dry-run", "--format", "json"))
    assert plan.exit_code == ExitCode.AUTH, plan.output
    doc: dict[str, Any] = json.loads(plan.stdout)
    planned = [b["id"] for b in doc["inputs"]["boards"]]
    assert s.team.id in planned, planned
    assert s.archive.id not in planned, planned
    assert len(doc["changes"]) == len(team_lost)

    # The run writes the team board's changes, none to the archive, and ends with one line.
    start = len(sb.server.request_log)
    text = invoke(*_args(s, "--yes"))
    assert text.exit_code == ExitCode.AUTH, text.output
    _left_out(s, s.archive.id, _warnings(text))
    _ending(s, s.archive.id, _error(text))
    ended = _error(text)
    assert "it was left out of this run, whose other boards were planned and applied" in ended
    assert "not recorded as the last run" in _error(text)
    assert _on_card(s, team_lost) == team_lost
    assert _on_card(s, archive_lost) == set()
    assert _writes_to(sb, s, start, s.archive.id) == []
    assert json.loads(state.read_text())["last_run"] == recorded

    # JSON: outcome refused, the board listed, not recorded (nothing left to write on team).
    r = invoke(*_args(s, "--yes", "--format", "json", "-q"))
    assert r.exit_code == ExitCode.AUTH, r.output
    summary: dict[str, Any] = json.loads(r.stdout)
    assert (summary["outcome"], summary["exit_code"]) == ("refused", 3)
    assert summary["refused_boards"] == [
        {
            "id": s.archive.id,
            "name": "",
            "error": "not read: HTTP 401 unauthorized permission requested",
            "not_written": 0,
            "refused": "read",
        }
    ]
    assert summary["last_run"]["recorded"] is False
    assert s.archive.id not in [b["id"] for b in summary["boards"]]
    _left_out(s, s.archive.id, summary["warnings"])
    assert json.loads(state.read_text())["last_run"] == recorded

    # The member back on the board: the next nightly run covers the window, archive too.
    give_back()
    night = invoke(*_args(s, "--yes", "--format", "json", "-q"))
    assert night.exit_code == ExitCode.OK, night.output
    again = json.loads(night.stdout)
    assert (again["outcome"], again["refused_boards"]) == ("applied", [])
    assert again["apply"]["applied"] == len(archive_lost)
    assert _on_card(s, archive_lost | team_lost) == archive_lost | team_lost
    assert json.loads(state.read_text())["last_run"] > recorded


def test_a_board_given_by_url_is_named_as_given(
    sb: Sandbox, scenario: Scenario, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """By URL, with a date: the board is named as the user gave it."""
    s = scenario
    invoke, _, _, team_lost, _ = _setup(sb, s, tmp_path, monkeypatch)
    _not_a_member(s, s.archive.id, s.mover.id)
    url = f"https://trello.com/b/{s.archive.short_link}"
    r = invoke(*("--board", s.team.id, "--board", url, "--since", "4h", "--only-recorded", "--yes"))
    assert r.exit_code == ExitCode.AUTH, r.output
    _left_out(s, url, _warnings(r))
    _ending(s, url, _error(r))
    assert _on_card(s, team_lost) == team_lost


def test_a_single_board_the_member_cannot_read_stops_the_run(
    sb: Sandbox, scenario: Scenario, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    s = scenario
    invoke, _, _, _, _ = _setup(sb, s, tmp_path, monkeypatch)
    _not_a_member(s, s.archive.id, s.mover.id)
    start = len(sb.server.request_log)
    r = invoke("--board", s.archive.id, "--since", "last-run", "--only-recorded", "--yes")
    one_line_error(
        r,
        ExitCode.AUTH,
        f"the token's member @{s.mover.username} ({s.mover.full_name}) cannot read board "
        f"{s.archive.id}: ask a board admin to add @{s.mover.username} to that board",
    )
    assert [x for x in sb.server.request_log[start:] if x.method in WRITES] == []
    # With --since last-run, a board by shortLink whose id (the last run's key needs it) no
    # recorded run names, too.
    link = s.archive.short_link
    r = invoke("--board", s.team.id, "--board", link, "--since", "last-run", "--yes")
    one_line_error(r, ExitCode.AUTH, f"cannot read board {link}: ask a board admin to add @")
    assert [x for x in sb.server.request_log[start:] if x.method in WRITES] == []


def test_a_nightly_run_goes_on_past_a_board_given_by_url_once_a_run_recorded_its_id(
    sb: Sandbox, scenario: Scenario, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The cron job names its boards by URL (what a user copies from the browser). The last
    run's key needs each board's id, which a refused read does not give: the whole nightly run
    stopped, the other boards unrestored night after night (N24 left it so). A successful run
    now records each named board's shortLink with its id, so the next one knows the refused
    board's id, goes on with the others, and is not recorded; the member back, the next night
    restores that board too."""
    s = scenario
    invoke, state, _, team_lost, archive_lost = _setup(sb, s, tmp_path, monkeypatch)
    url = f"https://trello.com/b/{s.archive.short_link}"
    nightly = ("--board", s.team.id, "--board", url, "--since", "last-run", "--only-recorded")
    first = invoke(*nightly, "--yes")
    assert first.exit_code == ExitCode.OK, first.output
    lost = team_lost | archive_lost
    assert _on_card(s, lost) == lost
    recorded = json.loads(state.read_text())["last_run"]
    # After that run, both boards lose the members again, and the token's member the archive.
    with s.world.lock:
        for card_id, member_id in sorted(lost):
            s.world.remove_member_from_card(card_id, member_id, s.mover.id, datetime.now(UTC))
    give_back = _not_a_member(s, s.archive.id, s.mover.id)
    # The next night: the board reads the HTTP cache kept (``BOARD_LIST_MAX_AGE``) are stale.
    for cached in (tmp_path / "home").rglob("http-*.sqlite*"):
        cached.unlink()

    r = invoke(*nightly, "--yes")
    assert r.exit_code == ExitCode.AUTH, r.output
    _left_out(s, url, _warnings(r))
    _ending(s, url, _error(r))
    assert _on_card(s, team_lost) == team_lost
    assert _on_card(s, archive_lost) == set()
    assert json.loads(state.read_text())["last_run"] == recorded

    give_back()
    night = invoke(*nightly, "--yes")
    assert night.exit_code == ExitCode.OK, night.output
    assert _on_card(s, lost) == lost
    assert json.loads(state.read_text())["last_run"] > recorded
