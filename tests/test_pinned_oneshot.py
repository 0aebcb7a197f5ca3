"""Rules of the one-step run, the journal file and the API settings that mutation testing
(R59f) found no test for: each test here fails with its mutant applied (named in its
docstring) and passes on the code as it is.
"""

from __future__ import annotations

import errno
import json
import os
import time
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest
from click.testing import Result

from trello_restore import journal_file
from trello_restore.api.settings import ApiSettings
from trello_restore.errors import ExitCode
from trello_restore.fsutil import STALE_TEMP, sweep_stale_temps, writable_dir
from trello_restore.journal import Journal
from trello_restore.run import unreadable_in_window
from trello_restore.sandbox.scenario import Scenario

from .conftest import Sandbox, SandboxFactory, one_line_error, sandbox_cli
from .test_apply_refused_boards import _not_a_member
from .test_apply_values import damaged_world, make_plan_file
from .test_refused_board import WRITES, _args, _setup


def _errors(r: Result) -> list[str]:
    return [x for x in r.stderr.splitlines() if x.startswith("Error: ")]


# ------------------------------------------------------------------ the one-step command line


def test_json_summary_with_the_plan_on_stdout_is_refused_before_anything(
    sb: Sandbox, scenario: Scenario, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    """``--format json --plan-out -`` without ``--dry-run`` is a usage error (exit 2) before
    anything is read or written: stdout would hold both the plan and the run's summary, not
    one JSON document. (R59f: mutant 87)"""
    s = scenario
    invoke = sandbox_cli(sb, monkeypatch)
    home = tmp_path / "home"
    monkeypatch.setenv("TRELLO_RESTORE_HOME", str(home))
    before = len(sb.server.request_log)
    r = invoke(
        "--board", s.team.id, "--since", "400d", "--yes", "-q", "--format", "json",
        "--plan-out", "-",
    )  # fmt: skip
    one_line_error(r, ExitCode.USAGE, "--plan-out FILE")
    assert r.stdout == ""
    assert sb.server.request_log[before:] == []
    assert not list(home.rglob("*.jsonl")), "no journal"


def test_a_dry_run_with_yes_is_not_warned_as_unattended(
    sb: Sandbox, scenario: Scenario, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """``--dry-run --yes --removed-by X`` is not an unattended run: the warning that
    ``--removed-by`` alone adds back that member's deliberate removals every run is for a run
    that applies only (the same command without ``--dry-run`` gets it). (R59f: mutant 88)"""
    s = scenario
    invoke, *_ = _setup(sb, s, tmp_path, monkeypatch)  # removals with no move, by the mover
    args = _args(s, "--removed-by", s.mover.username, "--yes", "-q")
    dry = invoke(*args, "--dry-run")
    assert dry.exit_code == ExitCode.OK, dry.output
    assert "deliberate removals" not in dry.stderr, dry.stderr
    real = invoke(*args)
    assert real.exit_code == ExitCode.OK, real.output
    (warning,) = [x for x in real.stderr.splitlines() if x.startswith("Warning: ")]
    assert "deliberate removals every run" in warning, warning


def test_a_run_with_only_blocked_changes_counts_them_in_its_summary(
    sb: Sandbox, scenario: Scenario, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    """A one-step run whose plan holds only blocked changes (the second run, after the first
    wrote what it could), ``--format json``: outcome ``blocked`` and ``apply.blocked`` the
    number blocked, not 0. (R59f: mutant 83)"""
    s = scenario
    invoke = sandbox_cli(sb, monkeypatch)
    monkeypatch.setenv("TRELLO_RESTORE_HOME", str(tmp_path / "home"))
    args = ("--board", s.team.id, "--since", "400d", "--yes", "-q")
    first = invoke(*args)
    assert first.exit_code == ExitCode.PARTIAL, first.output
    second = invoke(*args, "--format", "json")
    assert second.exit_code == ExitCode.PARTIAL, second.output
    summary: dict[str, Any] = json.loads(second.stdout)
    assert summary["outcome"] == "blocked"
    assert summary["plan"]["changes"] == 0
    assert summary["plan"]["blocked"] > 0
    assert summary["apply"]["blocked"] == summary["plan"]["blocked"]
    assert summary["apply"]["applied"] == 0


@pytest.mark.parametrize("unreadable", [True, False], ids=["one-unreadable", "both-readable"])
def test_a_run_stopped_by_an_outage_is_stopped(
    sb: Sandbox,
    scenario: Scenario,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    unreadable: bool,
) -> None:
    """A one-step run on two boards (one the token's member cannot read, or both readable)
    whose writes meet an outage (every write answered 503, so the breaker opens): exit 4,
    JSON outcome ``stopped``, one ``Error:`` line, the breaker's; not exit 3 with the
    unreadable board's line as a second, nor outcome ``partial``. (R59f: mutant 73 and
    mutant 81)"""
    s = scenario
    invoke, *_ = _setup(sb, s, tmp_path, monkeypatch)
    if unreadable:
        _not_a_member(s, s.archive.id, s.mover.id)

    def writes_fail(write: bool) -> tuple[int | None, bool]:
        return (503, False) if write else (None, False)

    monkeypatch.setattr(sb.server, "_fault", writes_fail)
    start = len(sb.server.request_log)
    r = invoke(*_args(s, "--yes", "--rate-limit", "1000", "--format", "json", "-q"))
    assert r.exit_code == ExitCode.UNREACHABLE, r.output
    summary: dict[str, Any] = json.loads(r.stdout)
    assert (summary["outcome"], summary["exit_code"]) == ("stopped", 4)
    assert summary["apply"]["stopped"].startswith("Trello kept failing")
    assert [b["id"] for b in summary["refused_boards"]] == ([s.archive.id] if unreadable else [])
    (error,) = _errors(r)
    assert error.startswith("Error: Trello kept failing"), error
    writes = [x for x in sb.server.request_log[start:] if x.method in WRITES]
    assert writes
    assert {x.status for x in writes} == {503}


# ------------------------------------------------------------------------- the journal file


def _applied(
    sandbox_factory: SandboxFactory, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> tuple[Callable[..., Result], Path]:
    """The damaged small world's value plan applied from the command line (5 changes): the
    invoker and the journal."""
    sb = sandbox_factory(damaged_world()[0], time_scale=100)
    plan = tmp_path / "plan.json"
    make_plan_file(sb, plan)
    journal = tmp_path / "j.jsonl"
    invoke = sandbox_cli(sb, monkeypatch)
    r = invoke("apply", str(plan), "--yes", "-q", "--journal", str(journal))
    assert r.exit_code == ExitCode.OK, r.output
    return invoke, journal


def test_a_one_byte_torn_tail_is_cut_off_so_later_undos_read_the_journal(
    sandbox_factory: SandboxFactory, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A journal whose last line is torn to one byte (``{``: a run killed after the first
    byte of a record) is read by undo, and the undo cuts it off before appending, so a second
    undo reads the journal too: exit 0 both times. (R59f: mutant 45)"""
    invoke, journal = _applied(sandbox_factory, tmp_path, monkeypatch)
    with journal.open("ab") as f:
        f.write(b"{")
    first = invoke("undo", str(journal), "--yes", "-q")
    assert first.exit_code == ExitCode.OK, first.output
    assert journal.read_bytes().endswith(b"\n")
    second = invoke("undo", str(journal), "--yes", "-q", "--include-board-memberships")
    assert second.exit_code == ExitCode.OK, second.output
    assert "damaged" not in second.stderr
    Journal.read(journal)  # every line whole


def test_a_group_readable_journal_is_made_private_when_appended_to(
    sandbox_factory: SandboxFactory, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A journal left at 0640 (group-readable: copied under umask 027) is made 0600 when undo
    appends to it, as one at 0644 is. (R59f: mutant 39)"""
    invoke, journal = _applied(sandbox_factory, tmp_path, monkeypatch)
    journal.chmod(0o640)
    r = invoke("undo", str(journal), "--yes", "-q")
    assert r.exit_code == ExitCode.OK, r.output
    assert journal.stat().st_mode & 0o777 == 0o600


def test_make_private_takes_group_rights_off(tmp_path: Path) -> None:
    """``make_private``: a file any group or other may read or write is made 0600.
    (R59f: mutant 39)"""
    for mode in (0o640, 0o620, 0o604, 0o644):
        path = tmp_path / f"j{mode:o}"
        path.write_bytes(b"")
        path.chmod(mode)
        fd = os.open(path, os.O_WRONLY)
        try:
            journal_file.make_private(fd)
        finally:
            os.close(fd)
        assert path.stat().st_mode & 0o777 == 0o600, oct(mode)


def test_a_short_os_write_still_writes_the_whole_record(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """``write_all``: ``os.write`` may write part of its data (a nearly full disk); the rest
    is written by further calls, never silently dropped. (R59f: mutant 43)"""
    path = tmp_path / "j.jsonl"
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600)
    real = os.write
    calls = 0

    def at_most_seven(to: int, data: Any) -> int:
        nonlocal calls
        if to != fd:
            return real(to, data)
        calls += 1
        return real(to, bytes(data[:7]))

    line = b'{"type": "pending", "change_id": "c-1"}\n'
    monkeypatch.setattr(os, "write", at_most_seven)
    try:
        journal_file.write_all(fd, line)
    finally:
        monkeypatch.setattr(os, "write", real)
        os.close(fd)
    assert path.read_bytes() == line
    assert calls == -(-len(line) // 7)


# ------------------------------------------------------------------------ files and settings


def test_writable_dir_is_the_nearest_existing_directory(tmp_path: Path) -> None:
    """``writable_dir``: the directory a write needs to write in is the nearest one that
    exists (where the missing ones are made), not the missing one the file goes in.
    (R59f: mutant 37)"""
    ro = tmp_path / "ro"
    ro.mkdir()
    assert writable_dir(ro / "cache" / "trello-restore" / "f.json") == ro
    assert writable_dir(ro / "f.json") == ro


def test_an_unwritable_cache_names_the_directory_to_make_writable(
    sb: Sandbox, scenario: Scenario, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A cache configured under a directory the user cannot write in (EACCES simulated: the
    tests run as root) is warned of naming that directory, the nearest one that exists, not
    the missing cache directory below it. (R59f: mutant 37)"""
    s = scenario
    invoke = sandbox_cli(sb, monkeypatch)
    ro = tmp_path / "ro"
    ro.mkdir()
    monkeypatch.delenv("TRELLO_RESTORE_HOME")
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "c"))
    monkeypatch.setenv("XDG_STATE_HOME", str(tmp_path / "s"))
    monkeypatch.setenv("XDG_CACHE_HOME", str(ro / "cache"))
    real = os.mkdir

    def mkdir(path: Any, mode: int = 0o777, *a: Any, **k: Any) -> None:
        if str(path).startswith(f"{ro}/"):
            raise PermissionError(errno.EACCES, "Permission denied", str(path))
        real(path, mode, *a, **k)

    monkeypatch.setattr(os, "mkdir", mkdir)
    r = invoke("--board", s.team.id, "--since", "30d", "--dry-run", "-q")
    said = [x for x in r.stderr.splitlines() if "writable" in x]
    assert said, r.stderr
    assert all(f"make {ro} writable" in x for x in said), said
    assert f"{ro}/cache" not in " ".join(x.split("make ", 1)[-1] for x in said)


def test_the_connect_timeout_is_capped_by_the_request_timeout() -> None:
    """``request_timeout`` 1 s: connecting may take 1 s too, not the default 5 s (what the
    retry warning's "for up to N s more" counts). (R59f: mutant 98)"""
    connect, read = ApiSettings.timeouts(1.0)
    assert (connect, read) == (1.0, 1.0)
    settings = ApiSettings("k" * 32, "t" * 64, connect_timeout=connect, read_timeout=read)
    assert settings.max_request_s == 2.0
    assert ApiSettings.timeouts(60.0)[0] == 5.0
    assert ApiSettings.timeouts(None) == (5.0, 30.0)


def test_a_move_at_the_window_start_holds_the_last_run_back() -> None:
    """``--since`` is inclusive: a card moved to a board the token cannot read at exactly the
    window's start holds the last run back, as one a second later does. (R59f: mutant 90)"""
    since = datetime(2025, 11, 3, 15, 1, tzinfo=UTC)
    move = SimpleNamespace(date=since, source_board_id="hidden", target_board_id="team")
    fetched = SimpleNamespace(
        unreadable=frozenset({"hidden"}), gone=frozenset(), history=SimpleNamespace(moves=[move])
    )
    assert unreadable_in_window(fetched, since) == ("hidden",)  # type: ignore[arg-type]


def test_the_sweep_of_stale_temp_files_matches_whole_names_only(tmp_path: Path) -> None:
    """The sweep removes a stale temporary file of the tool's (prefix, 8 characters, suffix),
    never a file whose name only starts like one (``.history-ab_cd123.tmp.bak``: a user's
    copy). (R59f: mutant 31)"""
    theirs = tmp_path / ".history-ab_cd123.tmp.bak"
    ours = tmp_path / ".history-ab_cd123.tmp"
    for p in (theirs, ours):
        p.write_text("x")
        t = time.time() - STALE_TEMP - 60
        os.utime(p, (t, t))
    assert sweep_stale_temps(tmp_path, ".history-") == [ours]
    assert theirs.exists()
