"""A machine clock that runs ahead of Trello's must not make the nightly job skip an incident.

``--since last-run`` starts from the recorded start of the last successful run, five minutes
early. The start was this machine's time: with its clock an hour ahead, the next window began
55 minutes after the run, and a move in between was never restored. The run now records
Trello's time (the ``Date`` of its first answer) when that is earlier, and says that the clock
is off.
"""

from __future__ import annotations

import json
import re
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from trello_restore.api.transport import server_date
from trello_restore.errors import ExitCode
from trello_restore.lastrun import OVERLAP, clock_ahead, run_start
from trello_restore.sandbox.scenario import Scenario

from .applykit import api_for
from .conftest import Sandbox
from .conftest import sandbox_cli as cli_for
from .test_cron import _move_to_archive, _on_card, _staffed_list

T = datetime(2026, 12, 1, 2, 0, tzinfo=UTC)


def test_a_date_header_is_read_as_utc_or_not_at_all() -> None:
    assert server_date("Tue, 01 Dec 2026 02:00:00 GMT") == T
    assert server_date("Tue, 01 Dec 2026 03:00:00 +0100") == T  # any zone, as UTC
    assert server_date("Tue, 01 Dec 2026 02:00:00 -0000") == T  # no zone: UTC
    for bad in (None, "", "yesterday", "Tue, 99 Dec 2026 02:00:00 GMT"):
        assert server_date(bad) is None, bad


def test_a_run_starts_at_the_earlier_of_the_two_clocks() -> None:
    hour = timedelta(hours=1)
    # This machine an hour ahead: Trello's time, and said.
    assert run_start(T + hour, T) == T
    assert clock_ahead(T + hour, T) == hour
    # This machine behind (or Trello's first answer late, after retries): its own, earlier time;
    # nothing to say (the wider overlap is harmless).
    assert run_start(T - hour, T) == T - hour
    assert clock_ahead(T - hour, T) is None
    # Within the overlap: the earlier time, not said.
    assert run_start(T + OVERLAP, T) == T
    assert clock_ahead(T + OVERLAP, T) is None
    # Within the Date's second (rounded down): this machine's time, to the microsecond.
    almost = T + timedelta(milliseconds=999)
    assert run_start(almost, T) == almost
    assert run_start(T + timedelta(milliseconds=1001), T) == T
    # No answer over the network (offline, or all from the cache): this machine's.
    assert run_start(T, None) == T
    assert clock_ahead(T, None) is None


def test_only_answers_over_the_network_tell_trellos_clock(
    sb: Sandbox, scenario: Scenario, tmp_path: Path
) -> None:
    """A cached answer's ``Date`` is when it was first fetched, not now: it is left out."""
    path = f"boards/{scenario.team.id}"
    with api_for(sb, cache_dir=tmp_path) as api:
        assert api.first_server_date is None
        api.get(path, max_age=3600)
        first = api.first_server_date
    assert first is not None
    assert abs(first - datetime.now(UTC)) < timedelta(seconds=5)
    time.sleep(1.1)  # Dates are whole seconds
    with api_for(sb, cache_dir=tmp_path) as api:
        api.get(path, max_age=3600)
        assert api.cache_hits == 1
        assert api.first_server_date is None  # from the cache: not Trello's clock now
        api.me()
        fresh = api.first_server_date
    assert fresh is not None
    assert fresh > first


class _AnHourAhead(datetime):
    """``datetime`` on a machine whose clock runs an hour ahead."""

    @classmethod
    def now(cls, tz: object = None) -> _AnHourAhead:
        real = datetime.now(UTC) + timedelta(hours=1)
        return cls.fromtimestamp(real.timestamp(), UTC)


def test_a_clock_an_hour_ahead_does_not_skip_a_move_between_nightly_runs(
    sb: Sandbox, scenario: Scenario, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The nightly job on a machine an hour ahead: the first run records Trello's time, not the
    machine's; a move right after it is restored by the next run (before: its window began 55
    minutes after the first run, and the move's members stayed off their cards)."""
    invoke = cli_for(sb, monkeypatch)
    home = tmp_path / "home"
    monkeypatch.setenv("TRELLO_RESTORE_HOME", str(home))
    for module in ("cli_oneshot", "api.transport", "run_apply"):  # what reads the clock
        monkeypatch.setattr(f"trello_restore.{module}.datetime", _AnHourAhead)
    s = scenario
    staffed = _staffed_list(s, "skew", ago=timedelta(hours=3))
    args = ("--board", s.team.id, "--add-to-board", "--yes")

    first = invoke(*args, "--since", "2025-01-01", "-q")
    assert first.exit_code == ExitCode.OK, first.output
    (warning,) = [x for x in first.stderr.splitlines() if "ahead of Trello's" in x]
    assert re.search(r"clock is (59|60) minutes ahead of Trello's", warning), warning
    assert "set this machine's clock right" in warning
    (state,) = (home / "state" / "last-run").iterdir()
    recorded = datetime.fromisoformat(json.loads(state.read_text())["last_run"])
    assert recorded <= datetime.now(UTC)  # Trello's time, not the machine's

    time.sleep(1.1)  # the move is dated after the run's first answer (whole seconds)
    lost = _move_to_archive(s, staffed, s.mover.id)
    assert lost
    assert not _on_card(s, lost)

    night = invoke(*args, "--since", "last-run", "--format", "json", "-q")
    assert night.exit_code == ExitCode.OK, night.output
    assert json.loads(night.stdout)["outcome"] == "applied"
    assert _on_card(s, lost) == lost


class _AnHourBehind(datetime):
    """``datetime`` on a machine whose clock runs an hour behind."""

    @classmethod
    def now(cls, tz: object = None) -> _AnHourBehind:
        real = datetime.now(UTC) - timedelta(hours=1)
        return cls.fromtimestamp(real.timestamp(), UTC)


def test_the_run_by_hand_that_a_clock_behind_asks_for_lets_the_next_night_run(
    sb: Sandbox, scenario: Scenario, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A run recorded with the clock right; then the clock is an hour behind: ``--since
    last-run`` refuses (the recorded run is later than now), and asks for one run with --since
    DATE. That run used to leave the later record in place (a recorded run is never moved
    back), so every night refused again (R32a); it now replaces a record later than its clock,
    and the next night runs."""
    invoke = cli_for(sb, monkeypatch)
    monkeypatch.setenv("TRELLO_RESTORE_HOME", str(tmp_path / "home"))
    args = ("--board", scenario.team.id, "--add-to-board", "--yes", "-q")
    first = invoke(*args, "--since", "2025-01-01")
    assert first.exit_code == ExitCode.OK, first.output
    (state,) = (tmp_path / "home" / "state" / "last-run").iterdir()
    recorded = json.loads(state.read_text())["last_run"]
    monkeypatch.setattr("trello_restore.cli_oneshot.datetime", _AnHourBehind)
    # A run over an older window (--until) leaves the later record be, clock or not (R32b: it
    # was moved back to that window's end, a year).
    older = invoke(*args, "--since", "2025-01-01", "--until", "2025-06-01")
    assert older.exit_code == ExitCode.OK, older.output
    assert json.loads(state.read_text())["last_run"] == recorded
    refused = invoke(*args, "--since", "last-run")
    assert refused.exit_code == ExitCode.USAGE, refused.output
    assert "check this machine's clock and run once with --since DATE" in refused.output
    since = (datetime.now(UTC) - timedelta(hours=2)).isoformat()
    by_hand = invoke(*args, "--since", since, "--format", "json")
    assert by_hand.exit_code == ExitCode.OK, by_hand.output
    assert json.loads(by_hand.stdout)["last_run"]["recorded"] is True
    night = invoke(*args, "--since", "last-run")
    assert night.exit_code == ExitCode.OK, night.output


def test_a_clock_an_hour_behind_is_said(
    sb: Sandbox, scenario: Scenario, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """R44e: a clock ahead of Trello's was warned of, one behind was not, though ages such as
    ``--until 36h`` then end the window early. Both the one-step run and its dry run say it."""
    invoke = cli_for(sb, monkeypatch)
    monkeypatch.setenv("TRELLO_RESTORE_HOME", str(tmp_path / "home"))
    for module in ("cli_oneshot", "api.transport", "run_apply"):  # what reads the clock
        monkeypatch.setattr(f"trello_restore.{module}.datetime", _AnHourBehind)
    for dry in (("--dry-run",), ("--yes",)):
        r = invoke("--board", scenario.team.id, "--since", "2025-01-01", "-q", *dry)
        assert r.exit_code in (ExitCode.OK, ExitCode.PARTIAL), r.output
        said = [x for x in r.stderr.splitlines() if "behind Trello's" in x]
        assert len(said) == 1, r.stderr
        assert re.search(r"clock is (59|60) minutes behind Trello's \(by the Date", said[0])


class _ADayAhead(datetime):
    """``datetime`` on a machine whose clock runs a day ahead."""

    @classmethod
    def now(cls, tz: object = None) -> _ADayAhead:
        real = datetime.now(UTC) + timedelta(days=1)
        return cls.fromtimestamp(real.timestamp(), UTC)


@pytest.mark.parametrize("clock", [_AnHourBehind, _ADayAhead])
def test_a_one_step_run_finds_its_own_plan_neither_ahead_nor_old(
    sb: Sandbox,
    scenario: Scenario,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    clock: type[datetime],
) -> None:
    """R62d: the one-step run's apply judged the plan it had just made on two clocks (the plan's
    date moved by the skew it measured, now on this machine's, before any answer measured it
    again): an hour behind said "this plan is dated … ahead of Trello's clock", a day ahead
    "this plan was made 24 hours ago … skipped as drifted", every night from cron."""
    invoke = cli_for(sb, monkeypatch)
    monkeypatch.setenv("TRELLO_RESTORE_HOME", str(tmp_path / "home"))
    for module in ("cli_oneshot", "api.transport", "run_apply"):  # what reads the clock
        monkeypatch.setattr(f"trello_restore.{module}.datetime", clock)
    args = ("--board", scenario.team.id, "--since", "2025-01-01", "--add-to-board", "--yes")
    r = invoke(*args, "-q", "--format", "json")
    assert r.exit_code == ExitCode.OK, r.output
    summary = json.loads(r.stdout)
    assert summary["outcome"] == "applied"
    assert [x for x in r.stderr.splitlines() if "this plan" in x] == []
    assert [x for x in summary["warnings"] if "this plan" in x] == []


def test_a_plan_made_as_the_clock_was_set_back_is_dated_on_trello_s_clock(
    sb: Sandbox, scenario: Scenario, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """R44g: the clock an hour ahead as the dry run starts (its ``created_at``), set right by
    NTP before Trello's answers come (their skew is about 0): the plan said it was made an
    hour ahead of Trello's clock, and its own apply refused it as edited by hand. Trello's
    first answer bounds when the plan was made."""
    invoke = cli_for(sb, monkeypatch)
    monkeypatch.setenv("TRELLO_RESTORE_HOME", str(tmp_path / "home"))
    monkeypatch.setattr("trello_restore.cli_oneshot.datetime", _AnHourAhead)
    plan = tmp_path / "plan.json"
    made = invoke("--board", scenario.team.id, "--since", "2025-01-01", "--dry-run", "-q",
                  "--plan-out", str(plan))  # fmt: skip
    assert made.exit_code == ExitCode.OK, made.output
    doc = json.loads(plan.read_text())
    dated = datetime.fromisoformat(doc["created_at"].replace("Z", "+00:00"))
    on_trello = dated + timedelta(seconds=doc["clock_skew_s"])
    assert abs(on_trello - datetime.now(UTC)) < timedelta(seconds=30)
    applied = invoke("apply", str(plan), "--dry-run")
    assert applied.exit_code == ExitCode.PARTIAL, applied.output  # its blocked changes
    assert "later than Trello's clock now" not in applied.output


@pytest.mark.parametrize(
    ("difference", "said"),
    [
        (timedelta(minutes=1), "1 minute"),
        (timedelta(minutes=2, seconds=30), "3 minutes"),  # halves up (R50d)
        (timedelta(minutes=59, seconds=40), "60 minutes"),
        (timedelta(minutes=119), "119 minutes"),
        (timedelta(hours=2), "2 hours"),
        (timedelta(minutes=150), "3 hours"),  # halves up (R49a: 150 said 2, 210 said 4)
        (timedelta(minutes=210), "4 hours"),
        (timedelta(days=2, hours=12), "3 days"),
        (timedelta(hours=47, minutes=20), "47 hours"),
        (timedelta(days=3), "3 days"),
        (timedelta(days=400), "400 days"),
    ],
)
def test_a_clocks_difference_reads_in_the_unit_that_fits(difference: timedelta, said: str) -> None:
    """R47b: a clock three days behind said "4320 minutes behind Trello's"."""
    from trello_restore.words import span

    assert span(difference, nearest=True) == said


def test_a_clock_set_back_while_the_question_waits_is_no_edited_plan(
    sb: Sandbox, scenario: Scenario, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """R63a: a machine 10 minutes ahead of Trello, set right by NTP while ``Apply N changes?``
    waits: the apply took the plan's skew for now's, and refused the plan it had just made as
    dated later than Trello's clock ("its created_at or clock_skew_s was edited", exit 2). A
    plan this run made is never refused so: the skew it stands in with is not a measure."""
    invoke = cli_for(sb, monkeypatch)
    monkeypatch.setenv("TRELLO_RESTORE_HOME", str(tmp_path / "home"))
    ahead = [timedelta(minutes=10)]

    class Stepping(datetime):
        @classmethod
        def now(cls, tz: object = None) -> Stepping:
            real = datetime.now(UTC) + ahead[0]
            return cls.fromtimestamp(real.timestamp(), UTC)

    for module in ("cli_oneshot", "api.transport", "run_apply"):  # what reads the clock
        monkeypatch.setattr(f"trello_restore.{module}.datetime", Stepping)

    def answered_after_ntp(self: object, changes: int) -> bool:
        ahead[0] = timedelta(0)
        return True

    monkeypatch.setattr("trello_restore.cli._stdin_is_terminal", lambda: True)
    monkeypatch.setattr("trello_restore.cli_oneshot.OneShotUi.confirm", answered_after_ntp)
    r = invoke("--board", scenario.team.id, "--since", "2025-01-01", "--add-to-board", "-q")
    assert r.exit_code == ExitCode.OK, r.output
    assert "later than Trello's clock now" not in r.output
