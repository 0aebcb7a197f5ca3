"""Review 20, follow-ups over the command line against the sandbox.

A run narrowed by a filter (``--card``, ``--removed-by``, …) keeps a last-run state of its own:
a trial on one card must not move the nightly job's cutoff past the rest of an incident (it
did: the state was named by the boards alone). ``last-run`` set in the environment or the
config file is named there in every error of the last-run state (none recorded yet, damaged,
in the future), not as ``--since``, an option the user never gave.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from click.testing import Result

from trello_restore.errors import ExitCode, UsageError
from trello_restore.lastrun import Scope, record_last_run, state_file
from trello_restore.sandbox.scenario import Scenario

from .conftest import Sandbox, one_line_error
from .conftest import sandbox_cli as cli_for
from .test_cron import _move_to_archive, _staffed_list


def test_last_run_errors_name_where_last_run_was_set(
    sb: Sandbox, scenario: Scenario, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    invoke = cli_for(sb, monkeypatch)
    monkeypatch.setenv("TRELLO_RESTORE_HOME", str(tmp_path / "home"))
    args = ("--board", scenario.team.id, "--dry-run")
    first = one_line_error(
        invoke(*args, TRELLO_RESTORE_SINCE="last-run"),
        ExitCode.USAGE,
        "TRELLO_RESTORE_SINCE = last-run: no successful run on these boards is recorded yet",
        "e.g. --since 7d",
    )
    assert "--since last-run" not in first
    config = tmp_path / "c.toml"
    config.write_text('[restore]\nsince = "last-run"\n', encoding="utf-8")
    line = one_line_error(
        invoke("--config", str(config), *args, TRELLO_RESTORE_SINCE=None),
        ExitCode.USAGE,
        f"restore.since in {config} = last-run: no successful run",
    )
    assert "--since last-run" not in line
    # Given on the command line, it is the option's, as before.
    one_line_error(
        invoke(*args, "--since", "last-run", TRELLO_RESTORE_SINCE=None),
        ExitCode.USAGE,
        "--since last-run: no successful run",
    )
    # A damaged state file, and one dated in the future, say the same.
    ran = invoke("--board", scenario.team.id, "--since", "2025-01-01", "--add-to-board",
                 "--yes", "-q", TRELLO_RESTORE_SINCE=None)  # fmt: skip
    assert ran.exit_code == ExitCode.OK, ran.output
    (recorded,) = (tmp_path / "home" / "state" / "last-run").iterdir()
    good = recorded.read_text(encoding="utf-8")
    recorded.write_text(good.replace('"last_run": "', '"last_run": "3', 1), encoding="utf-8")
    one_line_error(
        invoke(*args, TRELLO_RESTORE_SINCE="last-run"),
        ExitCode.USAGE,
        "TRELLO_RESTORE_SINCE = last-run: the state file",
        "is damaged",
    )
    future = good.replace('"last_run": "20', '"last_run": "29', 1)
    assert future != good
    recorded.write_text(future, encoding="utf-8")
    one_line_error(
        invoke(*args, TRELLO_RESTORE_SINCE="last-run"),
        ExitCode.USAGE,
        "TRELLO_RESTORE_SINCE = last-run: the last run recorded in",
        "is later than now",
    )


def test_a_narrowed_run_does_not_move_the_nightly_cutoff(
    sb: Sandbox, scenario: Scenario, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The nightly job (no filter) last ran two hours ago; an hour ago a list move dropped
    members from three cards; a trial run by hand restores one of them (``--card``). The next
    nightly run still covers the whole incident: the trial recorded a last run of its own, and
    the nightly's is as it was. (Before, the trial moved the nightly's cutoff to its own start,
    and the nightly found nothing to do.)"""
    invoke = cli_for(sb, monkeypatch)
    home = tmp_path / "home"
    monkeypatch.setenv("TRELLO_RESTORE_HOME", str(home))
    s, w = scenario, scenario.world
    now = datetime.now(UTC)
    nightly = Scope(api_url=sb.base_url, account_id=s.mover.id, named_boards=(s.team.id,))
    path = record_last_run(home / "state", nightly, now - timedelta(hours=2))
    recorded = path.read_bytes()
    at = now - timedelta(hours=3)
    with w.lock:
        owls = [w.add_member(f"trialowl{i}", f"Trial Owl {i}", at) for i in (1, 2)]
        for m in owls:
            w.add_member_to_board(s.team.id, m.id, s.mover.id, "normal", at)
        lst = w.create_list(s.team.id, "Trial sprint", s.mover.id, at)
        cards = [w.create_card(lst.id, f"Trial #{i}", s.mover.id, at) for i in range(3)]
        for card in cards:
            for m in owls:
                w.add_member_to_card(card.id, m.id, s.mover.id, at)
        moved = w.move_list_to_board(lst.id, s.archive.id, s.mover.id, now - timedelta(hours=1))
    lost = {(e.card_id, e.member_id) for e in moved.removals}
    assert {c for c, _ in lost} == {c.id for c in cards}

    def on_cards() -> set[tuple[str, str]]:
        with w.lock:
            return {(c, m) for c, m in lost if m in w.cards[c].id_members}

    trial = invoke("--board", s.team.id, "--card", cards[0].short_link, "--since",
                   (now - timedelta(hours=1, minutes=1)).isoformat(), "--add-to-board", "--yes",
                   "-q")  # fmt: skip
    assert trial.exit_code == ExitCode.OK, trial.output
    assert on_cards() == {(c, m) for c, m in lost if c == cards[0].id}
    assert path.read_bytes() == recorded  # the nightly's cutoff, as it was
    # Its window starts after the run its --since last-run would continue from (the
    # nightly's): not recorded even as its own, with one warning (review 20d).
    own = state_file(home / "state", Scope(sb.base_url, s.mover.id, (s.team.id,),
                                           covers=(("--card", cards[0].short_link),)))  # fmt: skip
    assert not own.exists()
    assert "not recorded as the last run" in trial.stderr

    night = invoke("--board", s.team.id, "--since", "last-run", "--add-to-board", "--yes",
                   "--format", "json", "-q")  # fmt: skip
    assert night.exit_code == ExitCode.OK, night.output
    summary = json.loads(night.stdout)
    assert summary["outcome"] == "applied", summary
    assert summary["last_run"]["state_file"] == str(path)
    assert on_cards() == lost  # the rest of the incident, restored


def test_a_narrowed_run_continues_from_the_latest_run_that_covers_it(tmp_path: Path) -> None:
    """Without a last run of its own, a run continues from the latest recorded of the runs of
    the same boards and kinds with fewer of its filters; never from one with other kinds, a
    filter it lacks, or a damaged state; and it says so in the log."""
    from trello_restore.lastrun import OVERLAP, read_last_run

    base = Scope("https://api.trello.com/1", "a" * 24, ("b" * 24,))
    t0 = datetime(2026, 11, 1, tzinfo=UTC)
    narrowed = Scope(base.api_url, base.account_id, base.named_boards,
                     covers=(("--by", "noahk"), ("--card", "abc123")))  # fmt: skip
    with pytest.raises(UsageError, match="with --by noahk --card abc123 is recorded yet"):
        read_last_run(tmp_path, narrowed)
    record_last_run(tmp_path, base, t0)
    assert read_last_run(tmp_path, narrowed) == t0 - OVERLAP
    by = Scope(base.api_url, base.account_id, base.named_boards, covers=(("--by", "noahk"),))
    record_last_run(tmp_path, by, t0 + timedelta(hours=1))
    assert read_last_run(tmp_path, narrowed) == t0 + timedelta(hours=1) - OVERLAP
    # Later, but not covering it: another kind, another filter.
    for covers in ((("--restore", "archived"),), (("--list", "Review"),)):
        other = Scope(base.api_url, base.account_id, base.named_boards, covers=covers)
        record_last_run(tmp_path, other, t0 + timedelta(hours=2))
    assert read_last_run(tmp_path, narrowed) == t0 + timedelta(hours=1) - OVERLAP
    state_file(tmp_path, by).write_text("{", encoding="utf-8")  # damaged: skipped
    assert read_last_run(tmp_path, narrowed) == t0 - OVERLAP
    record_last_run(tmp_path, narrowed, t0 + timedelta(hours=3))  # its own, first
    assert read_last_run(tmp_path, narrowed) == t0 + timedelta(hours=3) - OVERLAP
    assert read_last_run(tmp_path, base) == t0 - OVERLAP  # the broader run's, untouched


def test_a_broader_run_with_no_last_run_names_the_narrower_runs_recorded(tmp_path: Path) -> None:
    """A run with fewer filters than the runs recorded (a cron job whose config lost its
    ``cause``) cannot continue from them; its line says they are recorded, and what they
    covered (R38a: "no successful run on these boards is recorded yet" after a month of
    them). Runs on other boards, by another account or at another API are not named."""
    from trello_restore.lastrun import read_last_run

    base = Scope("https://api.trello.com/1", "a" * 24, ("b" * 24,))
    t0 = datetime(2026, 11, 1, tzinfo=UTC)
    for scope in (
        replace(base, covers=(("--cause", "move"),)),
        replace(base, covers=(("--restore", "archived"), ("--by", "noahk"))),
        replace(base, named_boards=("c" * 24,), covers=(("--by", "zoe"),)),
        replace(base, account_id="d" * 24, covers=(("--by", "zoe"),)),
        replace(base, api_url="http://127.0.0.1:8080/1", covers=(("--by", "zoe"),)),
    ):
        record_last_run(tmp_path, scope, t0)
    with pytest.raises(UsageError) as info:
        read_last_run(tmp_path, base)
    assert str(info.value).startswith(
        "--since last-run: no successful run on these boards without filters is recorded yet ("
    )
    assert str(info.value).endswith(
        " does not exist), only runs with other options (--cause move; --restore archived --by "
        "noahk), which do not cover all this one does; pass a date or age the first time, e.g. "
        "--since 7d, and later runs continue from the last successful one"
    )
    record_last_run(tmp_path, base, t0)
    assert read_last_run(tmp_path, base)


def test_the_plan_reads_wait_out_a_429_for_the_configured_window(
    sb: Sandbox, scenario: Scenario, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A 429 storm on a dry run's first reads: they are retried after the rate window the run
    is configured with (``TRELLO_RESTORE_WINDOW_SECONDS``, here a tenth of a second), as the
    apply's are, not after Trello's default 10 s; the plan comes out."""
    invoke = cli_for(sb, monkeypatch)
    monkeypatch.setenv("TRELLO_RESTORE_HOME", str(tmp_path / "home"))
    monkeypatch.setenv("TRELLO_RESTORE_WINDOW_SECONDS", "0.1")
    mark = len(sb.server.request_log)
    sb.server.set_options(storm_s=0.3, rate_limit_body="token-db")
    started = time.monotonic()
    r = invoke("--board", scenario.team.id, "--since", "2025-01-01", "--dry-run", "-q")
    took = time.monotonic() - started
    assert r.exit_code == ExitCode.OK, r.output
    assert any(q.status == 429 for q in sb.server.request_log[mark:])
    assert took < 5, took  # one wait of Trello's default window alone is 10 s


def nightly_ran(
    sb: Sandbox, s: Scenario, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, at: datetime
) -> tuple[Path, str]:
    """A home in ``tmp_path`` whose plain nightly job on the team board last ran ``at``: its
    state file and the ``last_run`` it records."""
    home = tmp_path / "home"
    monkeypatch.setenv("TRELLO_RESTORE_HOME", str(home))
    nightly = Scope(api_url=sb.base_url, account_id=s.mover.id, named_boards=(s.team.id,))
    path = record_last_run(home / "state", nightly, at)
    return path, json.loads(path.read_text())["last_run"]


def test_a_run_that_leaves_a_gap_is_not_recorded(
    sb: Sandbox, scenario: Scenario, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The nightly job last ran two hours ago; a move 90 minutes ago removed members; a run by
    hand with the same options from an hour ago (after the move) finds nothing and exits 0,
    but is not recorded as the last run: that would make the next nightly skip the move.
    A run over an older window (``--until``) does not move the recorded run back either."""
    invoke = cli_for(sb, monkeypatch)
    s, now = scenario, datetime.now(UTC)
    path, recorded = nightly_ran(sb, s, tmp_path, monkeypatch, now - timedelta(hours=2))
    staffed = _staffed_list(s, "gap", ago=timedelta(hours=3))
    lost = _move_to_archive(s, staffed, s.mover.id, now - timedelta(minutes=90))
    assert lost

    args = ("--board", s.team.id, "--add-to-board", "--yes")
    late = invoke(*args, "--since", (now - timedelta(hours=1)).isoformat())
    assert late.exit_code == ExitCode.OK, late.output
    (warning,) = [x for x in late.stderr.splitlines() if "not recorded as the last run" in x]
    assert "nothing covered the time between" in warning
    assert json.loads(path.read_text())["last_run"] == recorded

    old = invoke(*args, "--since", "2025-01-01", "--until", "2025-06-01", "-q")
    assert old.exit_code == ExitCode.OK, old.output
    assert json.loads(path.read_text())["last_run"] == recorded  # not moved back

    night = invoke(*args, "--since", "last-run", "--format", "json", "-q")
    assert night.exit_code == ExitCode.OK, night.output
    summary = json.loads(night.stdout)
    assert summary["outcome"] == "applied", summary
    with s.world.lock:
        assert {(c, m) for c, m in lost if m in s.world.cards[c].id_members} == lost
    assert json.loads(path.read_text())["last_run"] > recorded  # and now it moves on


def _plain_job_state(
    sb: Sandbox, s: Scenario, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> tuple[Callable[..., Result], Path, Scope, Path]:
    """The command line over ``sb`` with its own home, and the plain nightly job's state
    recorded two hours ago: the invoker, the home, the job's scope and the state file."""
    invoke = cli_for(sb, monkeypatch)
    home = tmp_path / "home"
    monkeypatch.setenv("TRELLO_RESTORE_HOME", str(home))
    plain = Scope(api_url=sb.base_url, account_id=s.mover.id, named_boards=(s.team.id,))
    path = record_last_run(home / "state", plain, datetime.now(UTC) - timedelta(hours=2))
    return invoke, home, plain, path


def _as_an_earlier_version_wrote(path: Path) -> dict[str, Any]:
    """The state file without ``covers``, as a version that recorded narrowed runs in the
    same file wrote it; its document."""
    doc: dict[str, Any] = json.loads(path.read_text())
    del doc["covers"]
    path.write_text(json.dumps(doc))
    return doc


def _earlier_version_warning(result: Result, path: Path) -> str:
    """The one warning that the state at ``path`` is an earlier version's."""
    assert result.exit_code == ExitCode.OK, result.output
    (warning,) = [x for x in result.stderr.splitlines() if "earlier trello-restore" in x]
    assert str(path) in warning
    return warning


def test_a_state_from_an_earlier_version_is_continued_with_a_warning(
    sb: Sandbox, scenario: Scenario, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A last-run file without ``covers`` was written by a version that recorded narrowed runs
    in the same file: it is continued from, with one warning saying how to tell and what to
    do; the run's own record has ``covers``, and the next run says nothing."""
    s = scenario
    invoke, _, _, path = _plain_job_state(sb, s, tmp_path, monkeypatch)
    assert json.loads(path.read_text())["covers"] == ""
    _as_an_earlier_version_wrote(path)
    args = ("--board", s.team.id, "--since", "last-run", "--add-to-board", "--yes", "-q")
    first = invoke(*args)
    assert "pass --since with the date" in _earlier_version_warning(first, path)
    assert json.loads(path.read_text())["covers"] == ""
    again = invoke(*args)
    assert again.exit_code == ExitCode.OK, again.output
    assert "earlier trello-restore" not in again.stderr


@pytest.mark.parametrize(
    "job",
    [("--restore", "archived,list", "--by", "noahk"), ("--mode", "ever-added")],
    ids=["restore-by", "ever-added"],
)
def test_a_job_restoring_other_kinds_continues_an_earlier_version_s_state(
    job: tuple[str, ...],
    sb: Sandbox,
    scenario: Scenario,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """R54c: an earlier version kept one state file for every run on the boards, ``--restore``
    and ``--mode`` runs too, under the plain run's name; after the upgrade a nightly values job
    looked only for a state of its own and failed every night ("no successful run … is recorded
    yet"), where the README says an earlier version's state is continued from, with the warning.
    A state this version wrote for the plain job (``covers`` ""), is not such a state."""
    s = scenario
    invoke, home, plain, path = _plain_job_state(sb, s, tmp_path, monkeypatch)
    args = ("--board", s.team.id, *job, "--since", "last-run", "--dry-run", "-q")
    ours = invoke(*args)  # this version's plain job covers no other kinds: not continued
    one_line_error(ours, ExitCode.USAGE, "is recorded yet")
    doc = _as_an_earlier_version_wrote(path)
    first = invoke(*args)
    assert "pass --since with the date" in _earlier_version_warning(first, path)
    cutoff = datetime.fromisoformat(doc["last_run"].replace("Z", "+00:00")) - timedelta(minutes=5)
    gap = invoke("--board", s.team.id, *job, "--since", "last-run", "--dry-run", "-v")
    assert f"{cutoff:%Y-%m-%d %H:%M}" in gap.stderr + gap.stdout, gap.output

    # R55a: the plain job ran first after the upgrade, and rewrote the state as this version
    # does; the job continues from the run the earlier version recorded all the same, and the
    # plain job keeps it through its next runs too.
    for _ in range(2):
        record_last_run(home / "state", plain, datetime.now(UTC) - timedelta(minutes=30))
    rewritten = json.loads(path.read_text())
    assert (rewritten["covers"], rewritten["earlier_version_last_run"]) == ("", doc["last_run"])
    after = invoke("--board", s.team.id, *job, "--since", "last-run", "--dry-run", "-v")
    warning = _earlier_version_warning(after, path)
    assert f"{path} keeps the last run ({doc['last_run']}) recorded by an earlier" in warning
    assert f"{cutoff:%Y-%m-%d %H:%M}" in after.stderr + after.stdout, after.output


def test_one_member_or_list_spelled_two_ways_is_one_state() -> None:
    """A username in another case is the same member's state; a list name in another Unicode
    composition is the same list's (a different case may name another list: kept apart)."""
    from trello_restore.lastrun import covers
    from trello_restore.models import PlanOptions

    since = datetime(2026, 11, 1, tzinfo=UTC)

    def key(**kw: object) -> tuple[tuple[str, str], ...]:
        return covers(PlanOptions(since=since, **kw))  # type: ignore[arg-type]

    assert key(by="FarahK") == key(by="farahk") == (("--by", "farahk"),)
    assert key(removed_by="ZoeC") == (("--removed-by", "zoec"),)
    assert key(lists=frozenset({"Caf\u00e9"})) == key(lists=frozenset({"Cafe\u0301"}))
    assert key(lists=frozenset({"Review"})) != key(lists=frozenset({"review"}))
    assert key() == ()


def test_an_earlier_versions_broader_state_is_warned_of_once(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    """A narrowed run continuing from an earlier version's file (no ``covers``): one warning,
    naming that file; a broader state that is not chosen is not read aloud."""
    import logging

    from trello_restore.lastrun import OVERLAP, read_last_run

    base = Scope("https://api.trello.com/1", "a" * 24, ("b" * 24,))
    t0 = datetime(2026, 11, 1, tzinfo=UTC)
    old = record_last_run(tmp_path, base, t0 + timedelta(hours=1))
    doc = json.loads(old.read_text())
    del doc["covers"]
    old.write_text(json.dumps(doc))
    by = Scope(base.api_url, base.account_id, base.named_boards, covers=(("--by", "x"),))
    other = record_last_run(tmp_path, by, t0)  # earlier: not chosen
    doc = json.loads(other.read_text())
    del doc["covers"]
    other.write_text(json.dumps(doc))
    narrowed = Scope(base.api_url, base.account_id, base.named_boards,
                     covers=(("--by", "x"), ("--card", "c")))  # fmt: skip
    with caplog.at_level(logging.INFO, logger="trello_restore.lastrun"):
        assert read_last_run(tmp_path, narrowed) == t0 + timedelta(hours=1) - OVERLAP
    warned = [r.getMessage() for r in caplog.records if r.levelno == logging.WARNING]
    assert len(warned) == 1, warned
    assert str(old) in warned[0]
