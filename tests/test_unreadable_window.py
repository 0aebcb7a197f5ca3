"""Cards moved to a board the token cannot read, inside the nightly job's window.

The run warned and exited 0, and was recorded as the last run: once the token's member was given
access (as the warning says), the move's removals were before the next window and were never
restored. Such a run is not recorded now (warned, and said in the JSON summary), so the next run
covers the window again.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from trello_restore.errors import ExitCode
from trello_restore.sandbox.scenario import Scenario

from .conftest import Sandbox
from .conftest import sandbox_cli as cli_for
from .test_cron import _on_card, _staffed_list
from .test_review20 import nightly_ran


def test_a_move_to_a_board_the_token_cannot_read_keeps_the_window_open(
    sb: Sandbox, scenario: Scenario, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    invoke = cli_for(sb, monkeypatch)
    s, now = scenario, datetime.now(UTC)
    path, recorded = nightly_ran(sb, s, tmp_path, monkeypatch, now - timedelta(hours=1))
    staffed = _staffed_list(s, "blind", ago=timedelta(hours=3))
    w = s.world
    with w.lock:  # a colleague moves the list to a board of their own, 8 minutes ago
        noah = next(m for m in w.members.values() if m.id != s.mover.id)
        private = w.create_board("Own", noah.id, now - timedelta(minutes=9), s.organization.id)
        moved = w.move_list_to_board(staffed, private.id, noah.id, now - timedelta(minutes=8))
    lost = {(e.card_id, e.member_id) for e in moved.removals}
    assert lost

    args = ("--board", s.team.id, "--add-to-board", "--yes", "--since", "last-run")
    blind = invoke(*args, "--format", "json")
    assert blind.exit_code == ExitCode.OK, blind.output
    summary = json.loads(blind.stdout)
    assert summary["last_run"]["recorded"] is False
    why = summary["last_run"]["not_recorded"]
    assert f"this account cannot read ({private.id})" in why
    assert "the next --since last-run run covers this window again" in why
    assert why in blind.stderr
    assert any("cannot read it" in x for x in summary["warnings"])
    assert json.loads(path.read_text())["last_run"] == recorded  # the window stays open

    with w.lock:  # what the warning says: the token's member is given access
        w.add_member_to_board(private.id, s.mover.id, noah.id, "admin")
    night = invoke(*args, "--format", "json", "-q")
    assert night.exit_code == ExitCode.OK, night.output
    assert json.loads(night.stdout)["last_run"] == {
        "recorded": True,
        "state_file": str(path),
        "not_recorded": None,
    }
    assert _on_card(s, lost) == lost
