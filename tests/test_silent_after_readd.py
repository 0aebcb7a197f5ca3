"""A member put back after the cutoff and then dropped again without a logged removal.

The nightly job restores members a move removed (its own adds are logged); a later move that
Trello does not log strips them again. The next run's window starts after the first move and
before the job's adds, so each member's last recorded action on the card is the job's add. The
planner took silent losses from the state at the cutoff alone (there: removed), so they were
never planned again and the cards stayed bare. A member whose last recorded action is an add
and who is gone now is a silent loss, whenever the add was.
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
from .test_cron import _move_to_archive, _on_card, _staffed_list


def test_members_the_nightly_put_back_and_a_silent_move_dropped_come_back(
    sb: Sandbox, scenario: Scenario, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    invoke = cli_for(sb, monkeypatch)
    monkeypatch.setenv("TRELLO_RESTORE_HOME", str(tmp_path / "home"))
    s, now = scenario, datetime.now(UTC)
    staffed = _staffed_list(s, "again", ago=timedelta(hours=3))
    with s.world.lock:
        s.world.unlogged_share = 0.0  # the first move logs every removal
    lost = _move_to_archive(s, staffed, s.mover.id, now - timedelta(hours=2))
    assert lost

    args = ("--board", s.team.id, "--board", s.archive.id, "--add-to-board", "--yes", "-q")
    first = invoke(*args, "--since", (now - timedelta(hours=2, minutes=30)).isoformat())
    assert first.exit_code == ExitCode.OK, first.output
    assert _on_card(s, lost) == lost

    with s.world.lock:  # moved on to a board they are not on; Trello logs none of it
        ops = s.world.create_board("Ops", s.mover.id, organization=s.organization.id)
        s.world.unlogged_share = 1.0
        dropped = s.world.move_list_to_board(staffed, ops.id, s.mover.id)
        s.world.unlogged_share = 0.0
    assert {(e.card_id, e.member_id) for e in dropped.removals} == lost
    assert not _on_card(s, lost)

    plan = tmp_path / "plan.json"
    dry = invoke(*args, "--since", "last-run", "--dry-run", "--plan-out", str(plan))
    assert dry.exit_code == ExitCode.OK, dry.output
    planned = json.loads(plan.read_text())["changes"]
    again = {
        (c["card"]["id"], c["member"]["id"])
        for c in planned
        if c["action"] == "add_member_to_card" and c["evidence"]["kind"] == "reconstructed"
    }
    assert again == lost  # the job's own adds, after the cutoff, are the evidence
    night = invoke(*args, "--since", "last-run")
    assert night.exit_code == ExitCode.OK, night.output
    assert _on_card(s, lost) == lost
