"""Five failure-path bugs a new-user review found (after issue 12's stop 15), each over the
command line against the sandbox where the behaviour is end to end:

1. A ``--since`` year before 1000 crashed a cached run (the plan memo wrote ``999-01-01``,
   which it could not read back; a plan file with it was refused as "edited by hand"): dates
   are written with four-digit years, and a ``--since``/``--until`` before 2000 is a usage
   error.
2. A recorded last run in the future (a clock stepped back, a state file edited) made
   ``--since last-run`` plan from the future, exit 0 and record now: the gap was never
   covered. It is refused like a future ``--since``, exit 2, nothing recorded.
3. ``kill -9`` left ``write_atomic``'s temporary files in the cache for good: a store's or the
   plan memo's write now removes its directory's stale ones (a live writer's fresh one stays).
4. A one-shot run blocked by another run's apply of another plan said "applying or undoing
   this plan": it now names the other plan and its journal.
5. A second ``undo`` of a fully undone journal said "the journal records no change this tool
   made": it now says every change was undone already (or that board memberships are left).
"""

from __future__ import annotations

import json
import os
import time
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from click.testing import Result

from trello_restore.errors import ExitCode
from trello_restore.fsutil import STALE_TEMP, sweep_stale_temps, write_atomic
from trello_restore.journal import Journal, JournalHeader, JournalRecord, journal_path
from trello_restore.lastrun import Scope, state_file
from trello_restore.locks import apply_lock, lock_dir, lock_names
from trello_restore.models import format_date, parse_date
from trello_restore.sandbox.scenario import Scenario

from .conftest import Sandbox, configless_cli, one_line_error
from .truthcheck import incident_since

Invoke = Callable[..., Result]
WRITES = ("POST", "PUT", "DELETE")
RUN = ("--yes", "--quiet", "--format", "json", "--rate-limit", "1000")


@pytest.fixture(name="home")
def home_fixture(_state_home: Path) -> Path:
    """``TRELLO_RESTORE_HOME`` of the test (state, cache, journals)."""
    return _state_home


@pytest.fixture(name="invoke")
def invoke_fixture(sb: Sandbox, monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Invoke:
    """The CLI in-process, pointed at the sandbox with the lead's credentials, no config."""
    return configless_cli(sb, monkeypatch, tmp_path)


def _boards(s: Scenario) -> list[str]:
    return ["--board", s.team.id, "--removed-by", s.mover.username, "--add-to-board"]


def _writes(sb: Sandbox) -> list[str]:
    return [f"{r.method} {r.path}" for r in sb.server.request_log if r.method in WRITES]


def _summary(result: Result, code: ExitCode = ExitCode.OK) -> dict[str, Any]:
    assert result.exit_code == code, result.output
    doc: dict[str, Any] = json.loads(result.stdout)
    assert doc["exit_code"] == code
    return doc


# ------------------------------------------------------------------ 1. years before 1000


@pytest.mark.parametrize(
    "when",
    [datetime(999, 1, 1, tzinfo=UTC), datetime(5, 3, 4, 1, 2, 3, 4000, tzinfo=UTC)],
)
def test_dates_are_written_with_four_digit_years(when: datetime) -> None:
    """``format_date`` pads the year (glibc's ``%Y`` does not), so ``parse_date`` reads it."""
    text = format_date(when)
    assert text[:4] == f"{when.year:04d}"
    assert parse_date(text) == when


@pytest.mark.parametrize(
    ("args", "needle"),
    [
        (["--since", "0999-01-01"], "--since (0999-01-01 UTC) is before 2000"),
        (["--since", "1999-12-31T23:59"], "--since (1999-12-31 UTC) is before 2000"),
        (["--since", "0500-01-01", "--until", "0600-01-01"], "--until (0600-01-01 UTC)"),
    ],
)
def test_a_since_before_trello_is_a_usage_error(
    invoke: Invoke, scenario: Scenario, sb: Sandbox, args: list[str], needle: str
) -> None:
    """Twice (the second run would read the memo the first wrote): one line, exit 2, nothing
    asked of Trello's boards."""
    for _ in range(2):
        r = invoke("--board", scenario.team.id, *args, "--dry-run")
        one_line_error(r, ExitCode.USAGE, needle, "check the year")
    assert sb.server.request_log == []


# ------------------------------------------------------------- 2. a last run in the future


def test_a_last_run_in_the_future_is_refused(
    invoke: Invoke, scenario: Scenario, sb: Sandbox, home: Path
) -> None:
    """A state file whose last run is in 2099: one line naming the file and what to do, exit
    2, no write to Trello, the state file as it was."""
    first = _summary(invoke(*_boards(scenario), "--since", incident_since(scenario), *RUN))
    path = Path(first["last_run"]["state_file"])
    doc = json.loads(path.read_text())
    doc["last_run"] = "2099-01-01T00:00:00.000Z"
    path.write_text(json.dumps(doc))
    before = path.read_bytes()
    writes = len(_writes(sb))
    r = invoke(*_boards(scenario), "--since", "last-run", *RUN)
    one_line_error(
        r, ExitCode.USAGE, str(path), "(2099-01-01 00:00 UTC) is later than now", "--since DATE"
    )
    assert path.read_bytes() == before
    assert len(_writes(sb)) == writes
    # A last run in the past (here: the one recorded) is continued from as before.
    scope = Scope(sb.base_url, scenario.mover.id, (scenario.team.id,),
                  covers=(("--removed-by", scenario.mover.username),))  # fmt: skip
    assert state_file(home / "state", scope) == path
    doc["last_run"] = first["since"]
    path.write_text(json.dumps(doc))
    assert _summary(invoke(*_boards(scenario), "--since", "last-run", *RUN))["outcome"]


# ------------------------------------------------------------- 3. a killed run's temp files


def _age(path: Path, seconds: float) -> None:
    then = time.time() - seconds
    os.utime(path, (then, then))


def test_sweep_removes_only_stale_temp_files_of_its_prefix(tmp_path: Path) -> None:
    """Stale ``.history-XXXXXXXX.tmp``: removed; a fresh one, another prefix, a name that is
    not mkstemp's, and a directory: kept. A missing directory is no error."""
    stale = tmp_path / ".history-ab_cd123.tmp"
    fresh = tmp_path / ".history-zz9zz9zz.tmp"
    other = tmp_path / ".plan-memo-ab_cd123.tmp"
    odd = tmp_path / ".history-not-mkstemp.tmp"
    folder = tmp_path / ".history-abcdefgh.tmp"
    for p in (stale, fresh, other, odd):
        p.write_text("x")
    folder.mkdir()
    for p in (stale, other, odd, folder):
        _age(p, STALE_TEMP + 60)
    assert sweep_stale_temps(tmp_path, ".history-") == [stale]
    assert {p.name for p in tmp_path.iterdir()} == {fresh.name, other.name, odd.name, folder.name}
    assert sweep_stale_temps(tmp_path / "missing", ".history-") == []
    # write_atomic(sweep=True) sweeps its directory before it writes.
    _age(fresh, STALE_TEMP + 60)
    write_atomic(tmp_path / "state.json", "{}", prefix=".history-", sweep=True)
    assert not fresh.exists()
    assert (tmp_path / "state.json").read_text() == "{}"


def test_the_next_cached_run_sweeps_a_killed_runs_temp_files(
    invoke: Invoke, scenario: Scenario, home: Path
) -> None:
    """A dead run's temp files (an hour old) in a board's store directory and in the plan
    memos' are gone after the next cached run, even one that finds nothing new (and so writes
    neither); a live writer's (fresh) one is kept."""
    args = (
        "--board",
        scenario.team.id,
        "--since",
        incident_since(scenario),
        "--dry-run",
        "--quiet",
    )
    assert invoke(*args).exit_code == ExitCode.OK
    cache = home / "cache"
    board_dir = cache / "boards" / scenario.team.id
    plans_dir = next(p.parent for p in cache.rglob("*.json.gz") if p.parent.name == "plans")
    dead = [board_dir / ".history-dead0001.tmp", plans_dir / ".plan-memo-dead0002.tmp"]
    live = [board_dir / ".history-live0001.tmp", plans_dir / ".plan-memo-live0002.tmp"]
    for p in (*dead, *live):
        p.write_bytes(b"partial")
    for p in dead:
        _age(p, 3600)
    assert invoke(*args).exit_code == ExitCode.OK
    assert [p.exists() for p in dead] == [False, False]
    assert [p.exists() for p in live] == [True, True]


# ---------------------------------------------- 4. blocked by another run's apply of a plan


def test_a_run_blocked_by_another_plans_apply_names_that_plan(
    invoke: Invoke, scenario: Scenario, sb: Sandbox, home: Path
) -> None:
    """Another run is applying another plan on the team board (its journal has a write in
    flight; it holds that plan's and the board's locks): the one-shot run exits 6 before it
    reads the history (the board's lock is looked at with its own), saying the board is being
    applied or undone, not "this plan", and writes nothing."""
    state = home / "state"
    digest = "ab" * 32
    path = journal_path(state, digest)
    path.parent.mkdir(parents=True)
    header = JournalHeader(digest, sb.base_url, scenario.mover.id, "2025-11-05T00:00:00Z")
    card = next(c for c in scenario.world.cards.values() if c.id_board == scenario.team.id)
    with Journal.open(path, header) as journal:
        journal.append(
            JournalRecord(
                change_id="c1",
                op="apply",
                action="add_member_to_card",
                status="pending",
                board_id=scenario.team.id,
                member_id=scenario.mover.id,
                card_id=card.id,
            )
        )
    with apply_lock(lock_names(digest, [scenario.team.id]), lock_dir(state)):
        r = invoke(*_boards(scenario), "--since", incident_since(scenario), "--yes", "--quiet")
    line = one_line_error(
        r, ExitCode.LOCKED,
        f'applying or undoing board "{scenario.team.name}" ({scenario.team.id})',
        "wait for it to finish",
    )  # fmt: skip
    assert "this plan" not in line
    assert _writes(sb) == []
    assert not [x for x in sb.server.request_log if x.path.endswith("/actions")]


# ------------------------------------------------------------ 5. undo of an undone journal


def test_undo_again_says_the_changes_were_undone_already(
    invoke: Invoke, scenario: Scenario, sb: Sandbox
) -> None:
    """After an undo of the card members, undo says board memberships are left (undone only
    with the flag); after those too, that every change was undone already; exit 0, no
    request sent for either."""
    doc = _summary(invoke(*_boards(scenario), "--since", incident_since(scenario), *RUN))
    journal = doc["journal"]
    assert doc["plan"]["card_changes"]
    assert doc["plan"]["board_changes"]
    undo = ("undo", journal, "--yes", "--rate-limit", "1000")
    assert invoke(*undo).exit_code == ExitCode.OK
    start = len(sb.server.request_log)
    left = invoke(*undo)
    assert left.exit_code == ExitCode.OK, left.output
    n = doc["plan"]["board_changes"]
    assert f"{n} board membership" in left.output
    assert "--include-board-memberships" in left.output
    assert sb.server.request_log[start:] == []
    assert invoke(*undo, "--include-board-memberships").exit_code == ExitCode.OK
    start = len(sb.server.request_log)
    done = invoke(*undo, "--include-board-memberships")
    assert done.exit_code == ExitCode.OK, done.output
    total = doc["plan"]["card_changes"] + n
    # Each change by an earlier undo, said as that undo's summary says it (review 19c).
    assert f"Nothing to undo: {total} changes removed by an earlier undo." in done.output
    assert "records no change" not in done.output
    assert sb.server.request_log[start:] == []
