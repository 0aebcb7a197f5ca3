"""Cron mode (issue 5): ``--since last-run`` with its state file, the JSON summary of a one-shot
run, the run lock that makes an overlapping run on the same boards exit at once with code 6,
``--workspace``, and ``--log-file``; against the sandbox over loopback."""

from __future__ import annotations

import json
import os
import re
import shlex
import subprocess
import sys
import threading
import time
import tomllib
from collections.abc import Callable
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from click.testing import Result

from trello_restore import cli
from trello_restore.cli_oneshot import run_target
from trello_restore.errors import ExitCode
from trello_restore.lastrun import OVERLAP, Scope, state_file
from trello_restore.locks import apply_lock, lock_dir, lock_names, run_lock
from trello_restore.logs import LOG_BACKUPS, started_in
from trello_restore.report_outcomes import LOGGED_OUTCOMES
from trello_restore.sandbox.scenario import Scenario
from trello_restore.sandbox.world import Board, Card

from .conftest import Sandbox, SandboxFactory, configless_cli, one_line_error
from .truthcheck import incident_since

Invoke = Callable[..., Result]
WRITES = ("POST", "PUT", "DELETE")
CRON = ("--since", "last-run", "--yes", "--quiet", "--format", "json")
ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture(name="invoke")
def invoke_fixture(sb: Sandbox, monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Invoke:
    """Run the CLI in-process with the sandbox's URL and credentials in the environment and no
    config file; keywords set (or, with None, unset) environment variables."""
    return configless_cli(sb, monkeypatch, tmp_path)


def _set_b(s: Scenario, *, add_to_board: bool = True) -> list[str]:
    """The team board, the mover's removals, board memberships granted when needed."""
    args = ["--board", s.team.id, "--removed-by", s.mover.username, "--rate-limit", "1000"]
    return [*args, "--add-to-board"] if add_to_board else args


def _named(board: Board) -> str:
    """A board as the lock messages name it: by its name and its id."""
    return f'board "{board.name}" ({board.id})'


def _writes(sb: Sandbox) -> list[str]:
    return [f"{r.method} {r.path}" for r in sb.server.request_log if r.method in WRITES]


def _summary(result: Result, code: ExitCode = ExitCode.OK) -> dict[str, Any]:
    """The run's exit code, and its stdout: exactly one JSON summary document."""
    assert result.exit_code == code, result.output
    assert "Traceback" not in result.output
    doc: dict[str, Any] = json.loads(result.stdout)
    assert doc["format"] == "trello-restore-run-summary"
    assert doc["exit_code"] == code
    return doc


def _scope(s: Scenario, sb: Sandbox) -> Scope:
    """Option set b's scope: its --removed-by narrows the plan, so its state is its own."""
    return Scope(
        api_url=sb.base_url,
        account_id=s.mover.id,
        named_boards=(s.team.id,),
        covers=(("--removed-by", s.mover.username),),
    )


def _new_incident(s: Scenario) -> int:
    """Two new team members are put on three new cards, and the lead moves their list to the
    archive board now (neither is on it); returns how many card members Trello removed."""
    w = s.world
    with w.lock:
        lead = s.mover.id
        owls = [w.add_member(f"nightowl{i}", f"Night Owl {i}") for i in (1, 2)]
        for m in owls:
            w.add_member_to_board(s.team.id, m.id, lead, "normal")
        lst = w.create_list(s.team.id, "Sprint 99", lead)
        for i in range(3):
            card = w.create_card(lst.id, f"Tonight #{i}", lead)
            for m in owls[: 1 + i % 2]:
                w.add_member_to_card(card.id, m.id, lead)
        return len(w.move_list_to_board(lst.id, s.archive.id, lead).removals)


# ------------------------------------------------------------------------------- last-run


def test_cron_runs_in_a_row(invoke: Invoke, scenario: Scenario, sb: Sandbox, home: Path) -> None:
    """The first --since last-run has nothing to continue from: one line, exit 2, no write.
    A first run with a date restores and records the boards' last run; then cron runs with
    --since last-run each print a JSON summary: the first after a new incident restores just
    that incident, and the one after it finds nothing to do and writes nothing."""
    r = invoke(*_set_b(scenario), *CRON)
    one_line_error(r, ExitCode.USAGE, "--since last-run", "pass a date", "the first time")
    assert _writes(sb) == []
    path = state_file(home / "state", _scope(scenario, sb))
    assert not path.exists()

    started = datetime.now(UTC)
    first = _summary(invoke(*_set_b(scenario), "--since", incident_since(scenario), *CRON[2:]))
    assert first["outcome"] == "applied"
    assert first["apply"]["applied"] == first["plan"]["changes"] > 0
    assert first["apply"]["failed"] == 0
    assert Path(first["journal"]).is_file()
    assert first["last_run"] == {
        "recorded": True,
        "state_file": str(path),
        "not_recorded": None,
        "accepted_unreadable_boards": [],
    }
    assert first["since_source"] == "--since"
    recorded = json.loads(path.read_text())
    assert recorded["boards"] == [scenario.team.id]
    assert recorded["api_url"] == sb.base_url
    assert recorded["account_id"] == scenario.mover.id
    last = datetime.fromisoformat(recorded["last_run"].replace("Z", "+00:00"))
    assert started - timedelta(milliseconds=1) <= last <= datetime.now(UTC)  # ms precision
    assert path.stat().st_mode & 0o777 == 0o600

    removed = _new_incident(scenario)
    assert removed > 0
    sb.server.request_log.clear()
    second = _summary(invoke(*_set_b(scenario), *CRON))
    assert second["since_source"] == "last-run"
    assert second["since"] == (last - OVERLAP).isoformat(timespec="milliseconds").replace(
        "+00:00", "Z"
    )
    # Only tonight's incident: its removals (and the board memberships they need).
    assert second["outcome"] == "applied"
    assert second["plan"]["card_changes"] == removed
    assert second["apply"]["applied"] == second["plan"]["changes"]
    assert len([w for w in _writes(sb) if w.startswith("POST")]) == removed

    sb.server.request_log.clear()
    third = _summary(invoke(*_set_b(scenario), *CRON))
    assert third["outcome"] == "nothing_to_do"
    assert third["plan"]["changes"] == 0
    assert (third["apply"]["applied"], third["apply"]["requests"]) == (0, 0)  # nothing written
    assert third["journal"] is None
    assert third["last_run"]["recorded"] is True
    assert _writes(sb) == []
    assert sb.server.request_log, "it did read the boards"


def test_the_last_run_is_one_api_s_however_its_url_is_spelled(
    invoke: Invoke, scenario: Scenario, sb: Sandbox, home: Path
) -> None:
    """A first run through ``http://localhost:PORT/1/`` and the cron runs after it through
    ``http://127.0.0.1:PORT/1``: one API, so they go on from its last run (it was another
    API's state: "no last run", exit 2). The state file keeps the sandbox's name for it."""
    other_name = sb.base_url.replace("127.0.0.1", "localhost") + "/"
    since = incident_since(scenario)
    first = _summary(
        invoke(*_set_b(scenario), "--since", since, *CRON[2:], "--api-url", other_name)
    )
    assert first["last_run"]["recorded"] is True
    assert first["last_run"]["state_file"] == str(state_file(home / "state", _scope(scenario, sb)))
    assert json.loads(Path(first["last_run"]["state_file"]).read_text())["api_url"] == sb.base_url
    second = _summary(invoke(*_set_b(scenario), *CRON))
    assert second["since_source"] == "last-run"
    assert second["outcome"] == "nothing_to_do"


def test_a_torn_last_line_of_a_finished_journal_is_not_warned_of_every_night(
    invoke: Invoke, scenario: Scenario, sb: Sandbox, home: Path
) -> None:
    """R35a: a journal with nothing open and a torn last line (a kill while writing it) made
    every later cron run warn "ignoring a torn last line", which no run removes (none writes
    to a finished journal): nothing to settle, nothing said."""
    first = _summary(invoke(*_set_b(scenario), "--since", incident_since(scenario), *CRON[2:]))
    journal = Path(first["journal"])
    with journal.open("a", encoding="utf-8") as f:
        f.write('{"action": "add_member_to_card", "at": "2026-12-03T20:19:1')
    for _ in range(2):
        night = invoke(*_set_b(scenario), *CRON)
        assert _summary(night)["outcome"] == "nothing_to_do"
        assert "torn" not in night.stderr, night.stderr
    # Another journal's torn line is not this undo's news (R55a: said three times).
    other = journal.with_name("plan-0000000000000000.jsonl")
    other.write_text(journal.read_text().replace(first["journal"], "elsewhere"))
    said = invoke("undo", str(journal), "--dry-run").stderr
    assert str(other) not in said, said
    other.unlink()
    for undo in (("--dry-run",), ("--yes", "-q")):  # R54c: the real undo said it twice
        said = invoke("undo", str(journal), *undo).stderr
        assert said.count("ignoring a torn last line") == 1, said
    with journal.open("a", encoding="utf-8") as f:
        f.write('{"action": "add_member_to_card", "at": "2026-12-03T20:19:1')
    undone = invoke("undo", str(journal), "--yes", "-q", "--format", "json")
    doc = json.loads(undone.stdout)
    assert doc["format"] == "trello-restore-undo-summary"
    assert [x for x in doc["warnings"] if "torn last line" in x] == [
        f"{journal}: ignoring a torn last line (a run was interrupted, or met a full disk "
        "or the file size limit: ulimit -f)"
    ]


def test_a_last_run_an_earlier_version_recorded_under_localhost_is_continued(
    invoke: Invoke, scenario: Scenario, sb: Sandbox, home: Path
) -> None:
    """Before one API was one however its URL is spelled, a run through
    ``http://localhost:PORT/1`` named its state file from that URL: after the upgrade the cron
    run (same URL) found no last run, exit 2 (R35d). It continues from that file, and records
    under the one name."""
    other_name = sb.base_url.replace("127.0.0.1", "localhost")
    args = (*_set_b(scenario), "--since", incident_since(scenario), *CRON[2:])
    first = _summary(invoke(*args, "--api-url", other_name))
    own = Path(first["last_run"]["state_file"])
    doc = json.loads(own.read_text())
    scope = replace(_scope(scenario, sb), api_url=other_name)
    assert scope.earlier_key is not None
    earlier = own.with_name(f"{scope.earlier_key}.json")
    earlier.write_text(json.dumps({**doc, "api_url": other_name}))  # as 4bb493b wrote it
    own.unlink()
    second = _summary(invoke(*_set_b(scenario), *CRON, "--api-url", other_name))
    assert second["since_source"] == "last-run"
    assert second["last_run"]["state_file"] == str(own)
    assert json.loads(own.read_text())["last_run"] > doc["last_run"]


def test_failing_runs_leave_the_last_run_alone(
    invoke: Invoke, scenario: Scenario, sb: Sandbox, home: Path
) -> None:
    """A partial failure (blocked changes: exit 5), an unreachable API (exit 4), a dry run and
    a declined confirmation do not move the cutoff; the run that succeeds does."""
    first = _summary(invoke(*_set_b(scenario), "--since", incident_since(scenario), *CRON[2:]))
    path = Path(first["last_run"]["state_file"])
    before = path.read_bytes()
    _new_incident(scenario)

    blocked = _summary(invoke(*_set_b(scenario, add_to_board=False), *CRON), ExitCode.PARTIAL)
    assert blocked["plan"]["blocked"] > 0
    assert blocked["last_run"] == {
        "recorded": False,
        "state_file": None,
        "not_recorded": None,
        "accepted_unreadable_boards": [],
    }
    assert path.read_bytes() == before

    r = invoke(*_set_b(scenario), *CRON, TRELLO_API_URL="http://127.0.0.1:9/1",
               TRELLO_RESTORE_MAX_RETRIES="0")  # fmt: skip
    one_line_error(r, ExitCode.UNREACHABLE)
    assert r.stdout == ""
    assert path.read_bytes() == before

    r = invoke(*_set_b(scenario), "--since", "last-run", "--dry-run", "--quiet",
               TRELLO_API_URL=sb.base_url)  # fmt: skip
    assert r.exit_code == 0, r.output
    assert path.read_bytes() == before

    ok = _summary(invoke(*_set_b(scenario), *CRON))
    assert ok["plan"]["blocked"] == 0
    assert ok["apply"]["applied"] > 0
    assert path.read_bytes() != before


def test_declined_confirmation_is_not_a_run(
    invoke: Invoke, scenario: Scenario, sb: Sandbox, home: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Answering no at the prompt changes nothing and records nothing."""
    monkeypatch.setattr(cli, "_stdin_is_terminal", lambda: True)
    r = invoke(
        *_set_b(scenario), "--since", incident_since(scenario), "--format", "json", input="n\n"
    )
    doc = _summary(r)
    assert doc["outcome"] == "declined"
    assert doc["last_run"]["recorded"] is False
    assert _writes(sb) == []
    assert not state_file(home / "state", _scope(scenario, sb)).exists()


def test_damaged_state_file(invoke: Invoke, scenario: Scenario, sb: Sandbox, home: Path) -> None:
    """A hand-edited or truncated last-run file is one line saying what to do, and no write."""
    path = state_file(home / "state", _scope(scenario, sb))
    path.parent.mkdir(parents=True)
    path.write_text('{"format": "trello-restore-last-run", "format_version": 1, "last_')
    r = invoke(*_set_b(scenario), *CRON)
    one_line_error(r, ExitCode.USAGE, "is damaged", "delete it and pass --since DATE once")
    assert _writes(sb) == []


@pytest.mark.parametrize(
    ("last_run", "why"),
    [
        ("0001-01-01T00:00:00+01:00", "out of range"),  # R35c: OverflowError, exit 1
        ("9999-12-31T23:59:59-01:00", "out of range"),
        ("1999-01-01T00:00:00Z", "is before 2000"),  # taken as it was
    ],
)
def test_a_last_run_no_run_can_have_is_damaged(
    invoke: Invoke, scenario: Scenario, sb: Sandbox, home: Path, last_run: str, why: str
) -> None:
    """A state file edited to a date out of range, or before any run of this tool, is one
    line saying what to do, and no write."""
    first = _summary(invoke(*_set_b(scenario), "--since", incident_since(scenario), *CRON[2:]))
    path = Path(first["last_run"]["state_file"])
    doc = json.loads(path.read_text())
    path.write_text(json.dumps({**doc, "last_run": last_run}))
    sb.server.request_log.clear()
    r = invoke(*_set_b(scenario), *CRON)
    one_line_error(r, ExitCode.USAGE, "is damaged", why, "delete it and pass --since DATE once")
    assert _writes(sb) == []


def test_state_is_per_set_of_boards(
    invoke: Invoke, scenario: Scenario, sb: Sandbox, home: Path
) -> None:
    """Another set of boards (here: with the archive board named too) has its own state."""
    _summary(invoke(*_set_b(scenario), "--since", incident_since(scenario), *CRON[2:]))
    r = invoke(*_set_b(scenario), "--board", scenario.archive.id, *CRON)
    one_line_error(r, ExitCode.USAGE, "--since last-run", "pass a date")
    # The same boards named otherwise (by name, and twice) are the same set.
    doc = _summary(invoke(*_set_b(scenario), "--board", "Team Board", *CRON))
    assert doc["outcome"] == "nothing_to_do"


# ------------------------------------------------------------------------------- the lock


def test_a_run_does_not_plan_while_an_apply_or_undo_writes_to_its_boards(
    invoke: Invoke, scenario: Scenario, sb: Sandbox, home: Path
) -> None:
    """An apply or undo holding the team board (its ``board-`` lock): a one-shot run exits 6
    before it reads the history, instead of planning on a state that is changing under it
    and applying that plan once the other is done. A dry run is not stopped."""
    args = [*_set_b(scenario), "--since", incident_since(scenario), *CRON[2:]]
    with apply_lock(lock_names("ef" * 32, [scenario.team.id]), lock_dir(home / "state")):
        sb.server.request_log.clear()
        r = invoke(*args)
        one_line_error(
            r, ExitCode.LOCKED, "applying or undoing " + _named(scenario.team),
            "wait for it to finish",
        )  # fmt: skip
        assert _writes(sb) == []
        assert not [x for x in sb.server.request_log if x.path.endswith("/actions")]
        dry = invoke(*_set_b(scenario), "--since", incident_since(scenario), "--dry-run", "--quiet")
        assert dry.exit_code == 0, dry.output
    assert _summary(invoke(*args))["outcome"] == "applied"


def test_overlapping_run_exits_at_once_with_the_lock_code(
    invoke: Invoke, scenario: Scenario, sb: Sandbox, home: Path
) -> None:
    """While a run holds the team board (its lock taken as the command line takes it), a
    second one-shot run exits 6 with one line, after reading only who it is and which boards
    it names: no history read, no write. A dry run is not stopped (it writes nothing). Once
    the lock is released the same command proceeds."""
    args = [*_set_b(scenario), "--since", incident_since(scenario), *CRON[2:]]
    with run_lock(lock_dir(home / "state"), [scenario.team.id]):
        sb.server.request_log.clear()
        started = time.monotonic()
        r = invoke(*args)
        assert time.monotonic() - started < 5
        line = one_line_error(
            r, ExitCode.LOCKED, "another trello-restore run is working on " + _named(scenario.team),
            "try again later", str(home / "state" / "locks"),
        )  # fmt: skip
        assert "run-board-" + scenario.team.id in line
        assert r.stdout == ""
        assert _writes(sb) == []
        assert not [x for x in sb.server.request_log if x.path.endswith("/actions")]
        dry = invoke(*_set_b(scenario), "--since", incident_since(scenario), "--dry-run", "--quiet")
        assert dry.exit_code == 0, dry.output
    doc = _summary(invoke(*args))
    assert doc["apply"]["applied"] > 0


def test_two_overlapping_processes(
    sandbox_factory: SandboxFactory,
    scenario: Scenario,
    tmp_path: Path,
    home: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Two real processes on the same board: the first (slowed down by the sandbox's latency)
    proceeds and succeeds; the second, started while the first reads the history, exits at
    once with code 6 and writes nothing. After the first ends, a third proceeds (nothing left
    to do). The first run's writes wait until the second has ended: on a busy machine the
    second, slow to start, found the first run over and no lock (R59f)."""
    sb = sandbox_factory(scenario, token_limit=10_000, key_limit=10_000, latency_ms=250)
    second_ended = threading.Event()
    delay = sb.server._delay

    def writes_wait(write: bool) -> None:
        delay(write)
        if write:
            second_ended.wait(120)

    monkeypatch.setattr(sb.server, "_delay", writes_wait)
    env = {
        **os.environ,
        "TRELLO_API_URL": sb.base_url,
        "TRELLO_API_KEY": sb.key,
        "TRELLO_TOKEN": sb.token,
        "TRELLO_RESTORE_CONFIG": "",
        "XDG_CONFIG_HOME": str(tmp_path / "xdg-config"),
        "TRELLO_RESTORE_HOME": str(home),
    }
    command = [sys.executable, "-m", "trello_restore", *_set_b(scenario),
               "--since", incident_since(scenario), *CRON[2:]]  # fmt: skip
    first = subprocess.Popen(command, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    try:
        deadline = time.monotonic() + 60
        while not any(r.path.endswith("/actions") for r in sb.server.request_log):
            assert first.poll() is None, first.communicate()
            assert time.monotonic() < deadline
            time.sleep(0.02)
        writes_before = len(_writes(sb))
        started = time.monotonic()
        second = subprocess.run(command, env=env, capture_output=True, text=True, timeout=60)
        elapsed = time.monotonic() - started
        second_ended.set()
        assert second.returncode == ExitCode.LOCKED, second.stderr
        assert second.stdout == ""
        assert second.stderr.count("Error: another trello-restore run is working on "
                                   + _named(scenario.team)) == 1  # fmt: skip
        assert "Traceback" not in second.stderr
        assert elapsed < 10
        out, err = first.communicate(timeout=120)
    finally:
        second_ended.set()
        if first.poll() is None:
            first.kill()
            first.wait()
    assert first.returncode == 0, err
    assert json.loads(out)["apply"]["applied"] > 0
    assert len(_writes(sb)) > writes_before  # the writes were the first run's
    third = subprocess.run(
        [*command[:-6], *CRON], env=env, capture_output=True, text=True, timeout=60
    )
    assert third.returncode == 0, third.stderr
    assert json.loads(third.stdout)["outcome"] == "nothing_to_do"


# ------------------------------------------------------------------------------ workspace


def test_workspace_covers_its_open_boards(
    invoke: Invoke, scenario: Scenario, sb: Sandbox, tmp_path: Path
) -> None:
    """--workspace acme-team plans over every open board of the workspace; the log says so
    (not "boards - and workspace")."""
    log = tmp_path / "run.log"
    r = invoke("--workspace", "acme-team", "--since", incident_since(scenario), "--dry-run",
               "--format", "json", "--log-file", str(log))  # fmt: skip
    assert r.exit_code == 0, r.output
    assert f"dry run on workspace acme-team since {incident_since(scenario)}" in log.read_text()
    boards = {b["id"] for b in json.loads(r.stdout)["inputs"]["boards"]}
    assert boards == {scenario.team.id, scenario.archive.id, scenario.roadmap.id}
    listing = [x for x in sb.server.request_log if "/organizations/" in x.path]
    assert [x.path for x in listing] == ["/1/organizations/acme-team/boards"]
    assert set(listing[0].query_names) >= {"filter", "fields"}


def test_workspace_with_boards_and_closed_boards(
    invoke: Invoke, scenario: Scenario, sb: Sandbox, tmp_path: Path
) -> None:
    """A closed board of the workspace is left out; --board adds to --workspace."""
    with scenario.world.lock:
        scenario.roadmap.closed = True
    r = invoke("--workspace", scenario.organization.id, "--since", incident_since(scenario),
               "--dry-run", "--format", "json")  # fmt: skip
    assert r.exit_code == 0, r.output
    boards = {b["id"] for b in json.loads(r.stdout)["inputs"]["boards"]}
    assert boards == {scenario.team.id, scenario.archive.id}
    log = tmp_path / "run.log"
    r = invoke("--workspace", "acme-team", "--board", scenario.roadmap.id, "--since",
               incident_since(scenario), "--dry-run", "--format", "json",
               "--log-file", str(log))  # fmt: skip
    assert r.exit_code == 0, r.output
    assert f"on board {scenario.roadmap.id} and workspace acme-team since" in log.read_text()
    boards = {b["id"] for b in json.loads(r.stdout)["inputs"]["boards"]}
    assert boards == {scenario.team.id, scenario.archive.id, scenario.roadmap.id}


def test_the_run_log_line_names_boards_and_workspace_as_given() -> None:
    assert run_target(("Team", "Roadmap"), None) == "boards Team, Roadmap"
    assert run_target(("Team",), "acme") == "board Team and workspace acme"
    assert run_target((), "acme") == "workspace acme"


def test_unknown_workspace(invoke: Invoke, scenario: Scenario, sb: Sandbox) -> None:
    """An unknown workspace is one line, exit 2."""
    r = invoke("--workspace", "no-such-team", "--since", "7d", "--dry-run")
    one_line_error(r, ExitCode.USAGE, "no workspace 'no-such-team'", "https://trello.com/w/")
    r = invoke("--workspace", " ", "--since", "7d", "--dry-run")
    one_line_error(r, ExitCode.USAGE, "--workspace is empty")


def test_a_workspace_given_by_its_url_is_its_short_name(
    invoke: Invoke, scenario: Scenario, sb: Sandbox
) -> None:
    """R34a: ``--workspace https://trello.com/w/acme-team`` (README: "the name in its URL")
    went into the request's path as it was and ended in exit 1, "internal error". The URL of
    the workspace's page (or one below it) is its short name; anything else that is no id or
    short name is one line, exit 2, before any request about it."""
    since = incident_since(scenario)
    by_name = invoke("--workspace", "acme-team", "--since", since, "--dry-run", "--format", "json")
    assert by_name.exit_code == 0, by_name.output
    for url in ("https://trello.com/w/acme-team", "trello.com/w/acme-team/members?x=1"):
        r = invoke("--workspace", url, "--since", since, "--dry-run", "--format", "json")
        assert r.exit_code == 0, r.output
        assert json.loads(r.stdout)["changes"] == json.loads(by_name.stdout)["changes"]
    before = len(sb.server.request_log)
    for bad in ("acme team?x=1", "https://trello.com/b/abcdefgh", "acme/team", "../members/me"):
        r = invoke("--workspace", bad, "--since", "7d", "--dry-run")
        one_line_error(r, ExitCode.USAGE, "is not a workspace's id, short name or URL")
    assert not [x for x in sb.server.request_log[before:] if "/organizations/" in x.path]


def test_workspace_last_run_is_per_workspace(
    invoke: Invoke, scenario: Scenario, sb: Sandbox, home: Path
) -> None:
    """A workspace run's state is keyed by the workspace, not by the boards it has today."""
    args = ["--workspace", "acme-team", "--removed-by", scenario.mover.username,
            "--add-to-board", "--rate-limit", "1000"]  # fmt: skip
    first = _summary(invoke(*args, "--since", incident_since(scenario), *CRON[2:]))
    recorded = json.loads(Path(first["last_run"]["state_file"]).read_text())
    assert recorded["workspace"] == scenario.organization.id
    assert recorded["boards"] == []
    with scenario.world.lock:
        scenario.world.create_board("New Board", scenario.mover.id, None, scenario.organization.id)
    assert _summary(invoke(*args, *CRON))["outcome"] == "nothing_to_do"


# ------------------------------------------------------------------------------- log file


def test_log_file_has_the_story_and_no_credentials(
    invoke: Invoke, scenario: Scenario, sb: Sandbox, tmp_path: Path
) -> None:
    """--log-file (with -vv: debug) records the runs, failing ones included, with times and
    exit codes, in a file only the user can read; the key and token appear nowhere in it."""
    log = tmp_path / "logs" / "restore.log"
    _summary(invoke(*_set_b(scenario), "--since", incident_since(scenario), *CRON[2:],
                    "--log-file", str(log), "-vv"))  # fmt: skip
    r = invoke(*_set_b(scenario), *CRON, "--log-file", str(log), "-vv",
               TRELLO_TOKEN="ATTA" + "0" * 60)  # fmt: skip
    assert r.exit_code == ExitCode.AUTH
    r = invoke("--board", "nope", "--since", "7d", "--dry-run", "--log-file", str(log),
               TRELLO_TOKEN=sb.token)  # fmt: skip
    assert r.exit_code == ExitCode.USAGE
    text = log.read_text()
    assert log.stat().st_mode & 0o777 == 0o600
    assert sb.key not in text
    assert sb.token not in text
    assert "exit 0" in text
    assert "exit 3: " in text
    assert 'exit 2: no board named "nope"' in text
    assert "last run on these boards recorded" in text
    assert "DEBUG" in text
    assert "setting token from TRELLO_TOKEN" in text


def test_the_log_says_where_the_paths_it_names_are(
    invoke: Invoke, scenario: Scenario, sb: Sandbox, tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:  # fmt: skip
    """R72c: the log names plan files, journals and the command to run again as they were
    typed, relative to where the run started, which it did not say (cron starts in $HOME, a
    user anywhere): each run's first line says it now (a dry run, a one-step run, apply and
    undo, each run's own)."""
    work = tmp_path / "night shift"
    work.mkdir()
    monkeypatch.chdir(work)
    log = tmp_path / "restore.log"
    since = incident_since(scenario)
    r = invoke(*_set_b(scenario), "--since", since, "--dry-run", "--plan-out", "plan.json",
               "--log-file", str(log))  # fmt: skip
    assert r.exit_code == 0, r.output
    assert (
        invoke("--log-file", str(log), "apply", "plan.json", "--journal", "j.jsonl").exit_code == 0
    )
    monkeypatch.chdir(tmp_path)
    r = invoke("--log-file", str(log), "undo", "--dry-run", "night shift/j.jsonl")
    assert r.exit_code == 0, r.output
    lines = log.read_text().splitlines()
    firsts = [
        line for line in lines if re.search(r" INFO trello_restore: (dry run on|apply|undo) ", line)
    ]
    assert [line.rsplit(", in ", 1)[-1] for line in firsts] == [str(work), str(work), str(tmp_path)]


def test_a_run_started_in_a_directory_since_removed_says_so(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The working directory removed under the shell: the log's first line says so, and the
    run goes on (Python's cwd lookup raises there)."""
    gone = tmp_path / "gone"
    gone.mkdir()
    monkeypatch.chdir(gone)
    gone.rmdir()
    assert started_in() == "a directory since removed"
    monkeypatch.chdir(tmp_path)
    assert started_in() == str(tmp_path)


def test_log_file_from_the_config_file_rotates(
    invoke: Invoke, scenario: Scenario, sb: Sandbox, tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:  # fmt: skip
    """[paths] log_file, relative to the config file's directory, rotates by size."""
    monkeypatch.setattr("trello_restore.logs.LOG_MAX_BYTES", 300)
    config = tmp_path / "etc" / "restore.toml"
    config.parent.mkdir()
    config.write_text('[paths]\nlog_file = "logs/restore.log"\n')
    for _ in range(4):
        r = invoke("--config", str(config), "--board", scenario.team.id, "--since", "7d",
                   "--dry-run", "--quiet")  # fmt: skip
        assert r.exit_code == 0, r.output
    logs = sorted(p.name for p in (tmp_path / "etc" / "logs").iterdir())
    assert logs[0] == "restore.log"
    assert "restore.log.1" in logs
    assert len(logs) <= 1 + LOG_BACKUPS


def test_json_summary_refuses_plan_on_stdout(
    invoke: Invoke, scenario: Scenario, sb: Sandbox
) -> None:
    """One document on stdout: --plan-out - with the apply's JSON summary is refused first."""
    r = invoke(*_set_b(scenario), "--since", "7d", "--yes", "--format", "json", "--plan-out", "-")
    one_line_error(r, ExitCode.USAGE, "--plan-out FILE")
    assert sb.server.request_log == []


@pytest.fixture(name="home")
def home_fixture(_state_home: Path) -> Path:
    """The test's ``TRELLO_RESTORE_HOME`` (conftest)."""
    return _state_home


# ------------------------------------------------------------------ the documented nightly run


def _unattended_section() -> str:
    """README's "Running unattended" section."""
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    return readme.split("### Running unattended", 1)[1].split("\n## ", 1)[0]


def _readme_block(kind: str) -> str:
    """The one ``kind`` code block of that section."""
    blocks = re.findall(rf"```{kind}\n(.*?)```", _unattended_section(), re.S)
    assert len(blocks) == 1, blocks
    return str(blocks[0])


def _crontab_options() -> list[str]:
    """The options of the README's crontab line (what follows the program, up to ``>>``)."""
    line = next(x for x in _readme_block("crontab").splitlines() if "/trello-restore " in x)
    return shlex.split(line.split("/trello-restore ", 1)[1].split(">>", 1)[0])


def _staffed_list(s: Scenario, tag: str, ago: timedelta = timedelta(hours=1)) -> str:
    """A new team list with three cards and two new team members on them (neither is on the
    archive board), made ``ago`` (an hour ago); its id."""
    w = s.world
    at = datetime.now(UTC) - ago  # the world keeps its log in order (+1 ms each)
    with w.lock:
        owls = [w.add_member(f"{tag}owl{i}", f"{tag.title()} Owl {i}", at) for i in (1, 2)]
        for m in owls:
            w.add_member_to_board(s.team.id, m.id, s.mover.id, "normal", at)
        lst = w.create_list(s.team.id, f"{tag.title()} sprint", s.mover.id, at)
        for i in range(3):
            card = w.create_card(lst.id, f"{tag.title()} #{i}", s.mover.id, at)
            for m in owls[: 1 + i % 2]:
                w.add_member_to_card(card.id, m.id, s.mover.id, at)
    return lst.id


def _move_to_archive(
    s: Scenario, list_id: str, by: str, at: datetime | None = None
) -> set[tuple[str, str]]:
    """``by`` moves the list to the archive board now (or ``at``): the (card, member) pairs
    Trello removed (logged or not)."""
    with s.world.lock:
        moved = s.world.move_list_to_board(list_id, s.archive.id, by, at)
    return {(e.card_id, e.member_id) for e in moved.removals}


def _on_card(s: Scenario, pairs: set[tuple[str, str]]) -> set[tuple[str, str]]:
    """Which of these (card, member) pairs are on their cards now."""
    with s.world.lock:
        return {(c, m) for c, m in pairs if m in s.world.cards[c].id_members}


def test_documented_nightly_run_keeps_deliberate_removals(
    invoke: Invoke, scenario: Scenario, sb: Sandbox, tmp_path: Path
) -> None:
    """The README's nightly config file and crontab line, run twice with --since last-run
    against the sandbox: each run restores what the moves since the last one removed, whoever
    moved; a member the lead took off a card on purpose between the runs stays off. The
    removed_by guard the README used to show would have put that member back."""
    text = _readme_block("toml")
    assert tomllib.loads(text)["restore"].get("cause") == "move"
    config = tmp_path / "config.toml"
    config.write_text(text)  # boards = ["Team Board"]: the scenario's team board
    config.chmod(0o600)
    # The environment beats the file's placeholders: the sandbox's URL, key and token, a log
    # file of the test's own.
    log = tmp_path / "cron.log"
    cron = ["--config", str(config), *_crontab_options()]
    assert cron[2:] == ["--since", "last-run", "--yes", "--quiet", "--format", "json"]
    # Two lists staffed an hour before the first run: their members are on the cards at each
    # run's cutoff (the last run less five minutes), so a removal Trello did not log is found.
    dusk, dawn = _staffed_list(scenario, "dusk"), _staffed_list(scenario, "dawn")
    # Once by hand with a date (the README's first run); the incident's moves are undone.
    by_hand = ["--config", str(config), "--since", incident_since(scenario), *CRON[2:]]
    first = _summary(invoke(*by_hand, TRELLO_RESTORE_LOG_FILE=str(log)))
    assert first["outcome"] == "applied"
    assert first["plan"]["card_changes"] > 0

    # Night 1: the lead moved a list since; the cron run restores what that move removed.
    moved = _move_to_archive(scenario, dusk, scenario.mover.id)
    assert moved
    night1 = _summary(invoke(*cron))
    assert night1["since_source"] == "last-run"
    assert night1["plan"]["card_changes"] == len(moved)
    assert _on_card(scenario, moved) == moved

    # Then the lead takes a member off a team card on purpose, and another team member moves
    # another list to the archive board.
    w = scenario.world
    with w.lock:
        team = w.boards[scenario.team.id]
        card, kept_off = _removed_by_the_lead(scenario)
        other = next(m for m in team.memberships if m != scenario.mover.id
                     and team.is_active_member(m) and m != kept_off)  # fmt: skip
    moved = _move_to_archive(scenario, dawn, other)
    assert moved

    # The guard the README used to show (removed_by = the lead) would put the member back,
    # over the window the next cron run covers (its own last run: the README's job is
    # narrowed by cause = "move", which that guard is not, so it has a state of its own).
    recorded = json.loads(Path(night1["last_run"]["state_file"]).read_text())
    cutoff = datetime.fromisoformat(recorded["last_run"].replace("Z", "+00:00")) - OVERLAP
    assert recorded["covers"] == "--cause move"
    old_guard = ["--cause", "any", "--removed-by", scenario.mover.username]
    old = invoke("--config", str(config), "--since", cutoff.isoformat(), *old_guard,
                 "--dry-run", "--format", "json")  # fmt: skip
    assert old.exit_code == 0, old.output
    planned = {(c["card"]["id"], c["member"]["id"]) for c in json.loads(old.stdout)["changes"]
               if c["action"] == "add_member_to_card"}  # fmt: skip
    assert (card.id, kept_off) in planned

    # Night 2: the move's removals are back; the deliberate removal stays.
    sb.server.request_log.clear()
    night2 = _summary(invoke(*cron))
    assert night2["outcome"] == "applied"
    assert night2["plan"]["card_changes"] == len(moved)
    assert night2["apply"]["failed"] == 0
    assert _on_card(scenario, moved) == moved
    assert _on_card(scenario, {(card.id, kept_off)}) == set()
    posts = [x for x in _writes(sb) if x.startswith("POST")]
    assert len(posts) == len(moved)
    assert not any(card.id in x for x in _writes(sb))
    assert log.is_file()


def _removed_by_the_lead(scenario: Scenario) -> tuple[Card, str]:
    """A team member the lead takes off an open team card on purpose (no move), now; the card
    and the member. Under the world's lock."""
    w = scenario.world
    team = w.boards[scenario.team.id]
    card = next(
        c for c in w.cards_on_board(team.id)
        if not c.closed and not w.lists[c.id_list].closed
        and any(m != scenario.mover.id and team.is_active_member(m) for m in c.id_members)
    )  # fmt: skip
    kept_off = next(
        m for m in card.id_members if m != scenario.mover.id and team.is_active_member(m)
    )
    w.remove_member_from_card(card.id, kept_off, scenario.mover.id)
    return card, kept_off


def test_removed_by_alone_unattended_says_it_re_adds_deliberate_removals(
    invoke: Invoke, scenario: Scenario
) -> None:
    """Design §6: ``--removed-by`` alone is no guard for unattended runs (it re-adds that
    member's deliberate removals every night). It was said only in the README; a ``--yes``
    run whose plan re-adds such a removal (no move within 60 s) now says so, with the fix; a
    dry run, or ``--cause move``, does not."""
    with scenario.world.lock:
        when = scenario.world.clock()
        _removed_by_the_lead(scenario)
    since = (when - timedelta(seconds=5)).isoformat()
    # --only-recorded: the silent losses (blocked, no date) are not what this is about.
    args = ("--board", scenario.team.id, "--since", since, "--only-recorded", "--format", "json")
    alone = ("--removed-by", scenario.mover.username)
    lone = "adds back that member's deliberate removals every run"
    dry = json.loads(invoke(*args, *alone, "--dry-run").stdout)
    assert not [x for x in dry["warnings"] if lone in x]
    guarded = _summary(invoke(*args, *alone, "--cause", "move", "--yes", "-q"))
    assert not [x for x in guarded["warnings"] if lone in x]
    run = _summary(invoke(*args, *alone, "--yes", "-q"))
    (said,) = [x for x in run["warnings"] if lone in x]
    assert said.startswith("1 card member this run adds back was removed by ")
    assert f"(@{scenario.mover.username}) with no move of the card or its list within 60 s" in said
    assert "add --cause move" in said

    # One whom someone then took off the board is blocked, not added back: not counted (R34e:
    # a cron run that added back nothing warned every night).
    with scenario.world.lock:
        _, gone = _removed_by_the_lead(scenario)
        other = next(m for m in scenario.world.boards[scenario.team.id].memberships
                     if m not in (scenario.mover.id, gone))  # fmt: skip
        scenario.world.remove_member_from_board(scenario.team.id, gone, other)
    blocked = _summary(invoke(*args, *alone, "--yes", "-q"), ExitCode.PARTIAL)
    assert blocked["plan"]["blocked"] >= 1
    assert not [x for x in blocked["warnings"] if lone in x]


def test_a_quiet_cron_run_still_says_what_went_wrong(
    invoke: Invoke, scenario: Scenario, home: Path
) -> None:
    """``--quiet`` quiets the run's own output, not its warnings: cron mails stderr, and a
    history store found damaged (read from Trello again) is what its owner should hear of.
    stdout stays the plan's JSON, the same plan."""
    args = (
        *_set_b(scenario),
        "--since",
        incident_since(scenario),
        "--dry-run",
        "--format",
        "json",
        "-q",
    )
    first = invoke(*args)
    assert first.exit_code == 0, first.output
    head = home / "cache" / "boards" / scenario.team.id / "history.v3.head.json"
    head.write_text("junk")
    r = invoke(*args)
    assert r.exit_code == 0, r.output
    warnings = [x for x in r.stderr.splitlines() if x.startswith("Warning: ")]
    assert len(warnings) == 1, r.stderr
    assert str(head) in warnings[0]
    assert json.loads(r.stdout)["changes"] == json.loads(first.stdout)["changes"]


def test_a_since_in_the_future_is_refused_before_anything(
    invoke: Invoke, scenario: Scenario, sb: Sandbox, home: Path
) -> None:
    """``--since 2099-01-01 --yes`` (a typo in the year) planned nothing, exited 0 and recorded
    a last run, so ``--since last-run`` never covered the real incident: now one line, exit 2,
    no request sent, no state written (found by a new-user review)."""
    r = invoke(*_set_b(scenario), "--since", "2099-01-01", "--yes", "--format", "json")
    one_line_error(r, ExitCode.USAGE)
    assert "--since (2099-01-01 00:00 UTC) is later than now" in r.stderr
    assert sb.server.request_log == []
    assert not (home / "state").exists()


def test_a_cron_run_that_leaves_changes_blocked_says_which_and_why_in_its_log(
    invoke: Invoke, scenario: Scenario, tmp_path: Path
) -> None:
    """A cron run (``--quiet --format json``) that leaves changes blocked exits 5; its log
    names each blocked change with why and what to do, and says the run was not recorded as
    the last run (R72c: the log had only the counts and ``exit 5``, and stderr nothing)."""
    log = tmp_path / "cron.log"
    since = ("--since", incident_since(scenario), "--yes", "--quiet", "--format", "json")
    r = invoke(*_set_b(scenario, add_to_board=False), *since, "--log-file", str(log))
    assert r.exit_code == 5, r.output
    assert json.loads(r.stdout)["apply"]["blocked"] > 0
    text = log.read_text()
    blocked = [x for x in text.splitlines() if " blocked " in x and "→ card" in x]
    assert len(blocked) == min(json.loads(r.stdout)["apply"]["blocked"], LOGGED_OUTCOMES)
    assert all("plan with --add-to-board to grant it" in x for x in blocked)
    assert "not recorded as the last run on these boards (exit 5)" in text
    # The next night: nothing left to apply, the same changes blocked (R74a: none named).
    log.write_text("")
    r = invoke(*_set_b(scenario, add_to_board=False), *since, "--log-file", str(log))
    assert r.exit_code == 5, r.output
    again = [x for x in log.read_text().splitlines() if " blocked " in x and "→ card" in x]
    assert [x[x.index(" blocked ") :] for x in again] == [
        x[x.index(" blocked ") :] for x in blocked
    ]
