"""A plan made on a clock ahead of (or behind) Trello's, applied on a clock set right (R35c).

A plan's ``created_at`` is this machine's time. An apply reads the boards' actions since then
to find what changed after the plan (a colleague's deliberate removal is *drifted*, left
alone), and moved ``created_at`` by the skew the *apply* saw: a plan made ten minutes ahead
and applied after NTP set the clock right read from ten minutes after the plan, missed the
colleague's add-and-remove of a planned member, and put that member back ("0 drifted", exit
0). The plan now says the skew it was made with (``clock_skew_s``) and the apply moves its date
by that.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from trello_restore.errors import ExitCode
from trello_restore.sandbox.scenario import Scenario

from .conftest import Sandbox, configless_cli
from .truthcheck import incident_since


def _clock_off_by(monkeypatch: pytest.MonkeyPatch, offset: timedelta) -> None:
    """This machine's clock ``offset`` from Trello's, where a plan is dated and the skew read."""

    class _Off(datetime):
        @classmethod
        def now(cls, tz: object = None) -> _Off:
            real = datetime.now(UTC) + offset
            return cls.fromtimestamp(real.timestamp(), UTC)

    for module in ("trello_restore.cli_oneshot", "trello_restore.api.transport"):
        monkeypatch.setattr(f"{module}.datetime", _Off)


@pytest.mark.parametrize("offset_min", [10, 4, -10, -14 * 60])
def test_a_colleague_s_removal_after_a_plan_made_on_a_wrong_clock_is_drifted(
    sb: Sandbox,
    scenario: Scenario,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    offset_min: int,
) -> None:
    invoke = configless_cli(sb, monkeypatch, tmp_path)
    monkeypatch.setenv("TRELLO_RESTORE_HOME", str(tmp_path / "home"))
    s, w = scenario, scenario.world
    plan = tmp_path / "plan.json"
    with monkeypatch.context() as clock:
        _clock_off_by(clock, timedelta(minutes=offset_min))
        made = invoke("--board", s.team.id, "--since", incident_since(s), "--removed-by",
                      s.mover.username, "--add-to-board", "--dry-run", "-q",
                      "--plan-out", str(plan))  # fmt: skip
        assert made.exit_code == ExitCode.OK, made.output
    doc = json.loads(plan.read_text())
    assert abs(doc["clock_skew_s"] + offset_min * 60) < 5, doc["clock_skew_s"]
    adds = [c for c in doc["changes"] if c["action"] == "add_member_to_card"]
    assert len(adds) > 1
    with w.lock:  # a planned member of the card's board (no grant needed to add them)
        card_id, member_id = next(
            (c["card"]["id"], c["member"]["id"])
            for c in adds
            if w.boards[w.cards[c["card"]["id"]].id_board].is_active_member(c["member"]["id"])
        )
        board = w.boards[w.cards[card_id].id_board]
        colleague = next(
            m for m in board.memberships if m != s.mover.id and board.is_active_member(m)
        )
    # After the plan, a colleague adds the member and takes them off again, on purpose.
    w.add_member_to_card(card_id, member_id, colleague)
    w.remove_member_from_card(card_id, member_id, colleague)

    applied = invoke("apply", str(plan), "--yes", "--format", "json", "-q")  # the clock right
    assert applied.exit_code == ExitCode.PARTIAL, applied.output
    # Dated on Trello's clock, it is neither ahead of this one nor old (R35d).
    assert "ahead of this machine's clock" not in applied.stderr, applied.stderr
    assert "this plan was made" not in applied.stderr, applied.stderr
    summary = json.loads(applied.stdout)
    assert summary["apply"]["drifted"] == 1, summary["apply"]
    assert summary["apply"]["applied"] == len(doc["changes"]) - 1, summary["apply"]
    with w.lock:
        assert member_id not in w.cards[card_id].id_members  # left alone
