"""``apply PLAN`` of a plan that sat for a while (or is dated ahead of this machine's clock)
says so in one warning; an empty plan is "nothing to apply" with no journal; ``undo --dry-run``
names card members as the apply did. Over the command line against the sandbox."""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from click.testing import Result

from trello_restore.errors import ExitCode
from trello_restore.journal import journal_path
from trello_restore.models import format_date
from trello_restore.planfile import read_plan
from trello_restore.sandbox.scenario import Scenario

from .conftest import Sandbox, one_line_error, sandbox_cli
from .truthcheck import incident_since

Invoke = Callable[..., Result]
WRITES = ("POST", "PUT", "DELETE")
AGED = "Warning: this plan was made "


@pytest.fixture(name="invoke")
def invoke_fixture(sb: Sandbox, monkeypatch: pytest.MonkeyPatch) -> Invoke:
    return sandbox_cli(sb, monkeypatch)


def _plan(invoke: Invoke, s: Scenario, path: Path, *by: str) -> Path:
    """Reference option set b (the mover's removals since the incident, with board grants),
    or ``by`` another member's (logged ones only)."""
    since = incident_since(s)
    r = invoke("--board", s.team.id, "--since", since, "--removed-by", *(by or [s.mover.username]),
               "--add-to-board", "--dry-run", "--plan-out", str(path), "--quiet")  # fmt: skip
    assert r.exit_code == 0, r.output
    return path


def _dated(plan: Path, when: datetime, to: Path) -> Path:
    """A copy of ``plan`` saying it was made at ``when`` (its digest, and journal, change)."""
    doc = json.loads(plan.read_text())
    doc["created_at"] = format_date(when)
    to.write_text(json.dumps(doc, indent=2))
    return to


def _writes(sb: Sandbox) -> int:
    return sum(1 for r in sb.server.request_log if r.method in WRITES)


def _without_timing(stderr: str) -> list[str]:
    return [x for x in stderr.splitlines() if " requests in " not in x]


def test_the_age_warning_words() -> None:
    """The age in its largest sensible unit, the date, what it means; a plan dated ahead of the
    clock says so; a plan of about now, or a little ahead (clock skew), says nothing."""
    from trello_restore.run_apply import plan_age_warning

    now = datetime(2026, 12, 1, 10, 0, tzinfo=UTC)
    assert plan_age_warning(now - timedelta(days=3), now) == (
        "this plan was made 3 days ago (2026-11-28 10:00 UTC); each change is checked against "
        "the board as it is now: a card member added or removed since, or a value changed since "
        "(even if set back), is skipped as drifted, not overwritten"
    )
    assert "made 13 hours ago (2026-11-30 21:00 UTC)" in str(
        plan_age_warning(now - timedelta(hours=13), now)
    )
    assert "made 14 weeks ago" in str(plan_age_warning(now - timedelta(days=100), now))
    ahead = plan_age_warning(now + timedelta(hours=5), now)
    assert ahead is not None
    assert ahead.startswith(
        "this plan is dated 2026-12-01 15:00 UTC, 5 hours ahead of Trello's clock"
    )
    for fine in (now, now - timedelta(hours=11), now + timedelta(minutes=4)):
        assert plan_age_warning(fine, now) is None


def test_a_plan_that_sat_for_two_days_is_applied_with_one_warning(
    invoke: Invoke, scenario: Scenario, sb: Sandbox, tmp_path: Path
) -> None:
    """The same plan, fresh and dated two days ago: the aged one's dry run and apply say its
    age once on stderr (``-q`` too: a warning), and do exactly what the fresh one's dry run
    said; the fresh one says nothing about its age."""
    fresh = _plan(invoke, scenario, tmp_path / "fresh.json")
    two_days = datetime.now(UTC) - timedelta(days=2, minutes=1)
    aged = _dated(fresh, two_days, tmp_path / "aged.json")

    fresh_run = invoke("apply", str(fresh), "--dry-run")
    assert fresh_run.exit_code == 0, fresh_run.output
    assert "this plan was made" not in fresh_run.stderr
    aged_run = invoke("apply", str(aged), "--dry-run")
    assert aged_run.exit_code == 0, aged_run.output
    assert aged_run.stdout == fresh_run.stdout
    warned = [x for x in aged_run.stderr.splitlines() if x.startswith(AGED)]
    date = two_days.strftime("%Y-%m-%d %H:%M UTC")
    assert warned == [
        f"{AGED}2 days ago ({date}); each change is checked against the board as "
        "it is now: a card member added or removed since, or a value changed since (even if set "
        "back), is skipped as drifted, not overwritten"
    ]
    assert _without_timing(aged_run.stderr) == warned + _without_timing(fresh_run.stderr)

    applied = invoke("apply", str(aged), "-q")
    assert applied.exit_code == 0, applied.output
    assert [x for x in applied.stderr.splitlines() if x.startswith("Warning:")] == warned
    would = fresh_run.stdout.splitlines()[-1]  # Summary: N would be applied, …
    done = would.replace("would be applied", "applied")
    done = done.removesuffix(" Dry run: nothing was changed.")
    assert applied.stdout.splitlines()[-1] == done
    assert _writes(sb) > 0


def test_a_plan_dated_ahead_of_trello_s_clock_is_refused(
    invoke: Invoke, scenario: Scenario, sb: Sandbox, tmp_path: Path
) -> None:
    """A plan that says (its ``clock_skew_s`` with it) it was made a day from now on Trello's
    clock cannot be but for a hand edit, and the apply reads the boards' actions since that
    date for what changed after the plan: R44e, a colleague's removal was written over with a
    warning that each change was checked. Refused before any write (exit 2), the dry run too.
    A plan of an older version, without ``clock_skew_s``, is dated on the clock of the
    machine that made it: applied with one warning."""
    fresh = _plan(invoke, scenario, tmp_path / "fresh.json")
    when = datetime.now(UTC) + timedelta(days=1, minutes=1)
    ahead = _dated(fresh, when, tmp_path / "ahead.json")
    for args in ((), ("--dry-run",)):
        r = invoke("apply", str(ahead), *args)
        one_line_error(
            r, ExitCode.USAGE, f"the plan says it was made {when:%Y-%m-%d %H:%M} UTC on Trello's "
            "clock, 24 hours later than Trello's clock now: its created_at or clock_skew_s was "
            "edited",
        )  # fmt: skip
    assert _writes(sb) == 0
    doc = json.loads(ahead.read_text())
    del doc["clock_skew_s"]
    ahead.write_text(json.dumps(doc))
    r = invoke("apply", str(ahead), "--dry-run")
    assert r.exit_code == 0, r.output
    warned = [x for x in r.stderr.splitlines() if x.startswith("Warning:")]
    assert len(warned) == 1, r.stderr
    assert "hours ahead of Trello's clock; check the clock where it was made" in warned[0]


def test_a_fresh_plan_on_a_machine_days_ahead_is_not_old(
    invoke: Invoke, scenario: Scenario, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """R44e: ``apply`` on a machine whose clock is three days ahead said a plan made seconds
    before (on Trello's clock) "was made 3 days ago"; the age is on Trello's clock now."""
    fresh = _plan(invoke, scenario, tmp_path / "fresh.json")

    class _Ahead(datetime):
        @classmethod
        def now(cls, tz: object = None) -> _Ahead:
            real = datetime.now(UTC) + timedelta(days=3)
            return cls.fromtimestamp(real.timestamp(), UTC)

    for module in ("api.transport", "run_apply"):
        monkeypatch.setattr(f"trello_restore.{module}.datetime", _Ahead)
    r = invoke("apply", str(fresh), "--dry-run")
    assert r.exit_code == 0, r.output
    assert "Warning:" not in r.stderr, r.stderr


def test_an_empty_plan_is_nothing_to_apply_and_leaves_no_journal(
    invoke: Invoke, sb: Sandbox, scenario: Scenario, tmp_path: Path
) -> None:
    """A dry run that found nothing, exported and applied (and dry-run applied): "nothing to
    apply" on stdout, exit 0, no write, and no journal (it left one holding only its header);
    undo of the journal it would have had is the usual error for a missing file."""
    # The deactivated member removed nobody.
    by = (scenario.deactivated.username, "--only-recorded")
    empty = _plan(invoke, scenario, tmp_path / "empty.json", *by)
    plan, meta = read_plan(empty)
    assert not plan.changes
    assert not plan.blocked
    state = Path(__import__("os").environ["TRELLO_RESTORE_HOME"]) / "state"
    journal = journal_path(state, meta.digest)
    for extra in (("--dry-run",), ()):
        r = invoke("apply", str(empty), *extra)
        assert r.exit_code == 0, r.output
        assert r.stdout == f"Nothing to apply: {empty} holds no changes; nothing was changed.\n"
        assert "Journal:" not in r.stderr
    assert _writes(sb) == 0
    assert not journal.exists()
    assert not journal.parent.exists() or list(journal.parent.iterdir()) == []
    undo = invoke("undo", str(journal), "--dry-run")
    assert undo.exit_code == 2, undo.output
    assert str(journal) in undo.stderr
