"""When the output cannot be written (R37d): stdout on a full disk (``/dev/full``) is one line
on stderr and exit 2, as the README's table has a full disk, saying whether the run wrote to
Trello (its journal holds what it did); a reader that went away (``| head``) ends the command
quietly, exit 0. Never "internal error" (exit 1, "a bug"), nor Python's own error at its end.
Over HTTP against the sandbox, the command line in a subprocess."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from trello_restore.demo import snapshot
from trello_restore.sandbox.scenario import Scenario, generate

from .conftest import Sandbox, SandboxFactory, trello_env
from .test_cli_apply import _assert_state, _expected, _restore_args
from .truthcheck import incident_since

FULL = Path("/dev/full")
pytestmark = pytest.mark.skipif(not FULL.exists(), reason="no /dev/full on this system")


@pytest.fixture(name="scenario")
def scenario_fixture() -> Scenario:
    """A small incident scenario."""
    return generate(5, 20)


def _run(sb: Sandbox, args: list[str], stdout: int) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "trello_restore", *args],
        env={**os.environ, **trello_env(sb.base_url, sb.key, sb.token)},
        stdout=stdout,
        stderr=subprocess.PIPE,
        text=True,
        timeout=120,
        check=False,
    )


def _says_its_journal(line: str, start: str) -> None:
    """``line`` is ``start`` then "this run made is in its journal PATH", the journal holding
    the run's applied records (R38: it did not say which journal)."""
    from trello_restore.journal import Journal

    assert line.startswith(start + "this run made is in its journal /"), line
    assert line.endswith(".jsonl\n"), line
    path = Path(line.removeprefix(start + "this run made is in its journal ").rstrip("\n"))
    assert any(r.status == "applied" for r in Journal.read(path).records)


def _closed_pipe(sb: Sandbox, args: list[str]) -> subprocess.CompletedProcess[str]:
    """``_run`` with stdout a pipe whose reader has gone already."""
    read, write = os.pipe()
    os.close(read)
    try:
        return _run(sb, args, write)
    finally:
        os.close(write)


@pytest.mark.parametrize("fmt", ["text", "json"])
def test_a_dry_run_whose_output_cannot_be_written(
    sandbox_factory: SandboxFactory, scenario: Scenario, fmt: str
) -> None:
    sb = sandbox_factory(scenario, latency_ms=0)
    with FULL.open("w") as full:
        done = _run(sb, [*_restore_args(scenario), "--dry-run", "--format", fmt], full.fileno())
    assert done.returncode == 2, done.stderr
    assert done.stderr == (
        "Error: cannot write the output: No space left on device; nothing was written to Trello\n"
    )


def test_a_one_step_run_whose_summary_cannot_be_written(
    sandbox_factory: SandboxFactory, scenario: Scenario
) -> None:
    """The cron job's run, its JSON summary to a full disk: the restore is made (the run's
    writes came before its summary), and the line says its journal holds them."""
    sb = sandbox_factory(scenario, latency_ms=0)
    want = _expected(scenario)
    with FULL.open("w") as full:
        done = _run(
            sb, [*_restore_args(scenario), "--yes", "-q", "--format", "json"], full.fileno()
        )
    assert done.returncode == 2, done.stderr
    _says_its_journal(
        done.stderr, "Error: cannot write the output: No space left on device; every change "
    )
    _assert_state(scenario, want)


def test_a_reader_that_went_away_ends_the_command_quietly(
    sandbox_factory: SandboxFactory, scenario: Scenario
) -> None:
    """``| head`` that has read what it wanted: the pipe closed before the plan is printed."""
    sb = sandbox_factory(scenario, latency_ms=0)
    done = _closed_pipe(sb, [*_restore_args(scenario), "--dry-run"])
    assert (done.returncode, done.stderr) == (0, "")


def test_a_reader_gone_before_a_run_that_writes_is_said(
    sandbox_factory: SandboxFactory, scenario: Scenario
) -> None:
    """The one-step run's output closed before it printed its plan: it stops there, writes
    nothing, and says so, exit 2 (R37e: exit 0 and no word, the restore not made)."""
    sb = sandbox_factory(scenario, latency_ms=0)
    before = snapshot(scenario.world)
    done = _closed_pipe(sb, [*_restore_args(scenario), "--yes"])
    assert (done.returncode, done.stderr) == (
        2,
        "Error: cannot write the output: Broken pipe; nothing was written to Trello\n",
    )
    assert snapshot(scenario.world) == before


def test_a_reader_gone_after_the_run_wrote_is_said(
    sandbox_factory: SandboxFactory, scenario: Scenario
) -> None:
    """``| head -1``: the reader takes the plan's first line and goes while the run writes;
    its summary cannot be written. The restore is made, and one line says the journal holds
    it, exit 2 (R37e: exit 0 and no word, though this run exits 5 unpiped)."""
    sb = sandbox_factory(scenario, latency_ms=0, write_latency_ms=100)
    want = _expected(scenario)
    proc = subprocess.Popen(
        [sys.executable, "-m", "trello_restore", *_restore_args(scenario), "--yes"],
        env={**os.environ, **trello_env(sb.base_url, sb.key, sb.token)},
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    assert proc.stdout is not None
    assert proc.stdout.readline().startswith("Plan for ")
    proc.stdout.close()
    _, err = proc.communicate(timeout=120)
    assert proc.returncode == 2, err
    _says_its_journal(
        err.splitlines(keepends=True)[-1],
        "Error: cannot write the output: Broken pipe; every change ",
    )
    _assert_state(scenario, want)


def _started_without(
    sb: Sandbox, args: list[str], closed: int, **env: str
) -> subprocess.CompletedProcess[str]:
    """The command started with descriptor ``closed`` (1 or 2) closed (``>&-``, ``2>&-``),
    the other two a pipe."""
    pipes = {1: "stdout", 2: "stderr"}
    keep = pipes[3 - closed]
    script = (
        f"import os, subprocess, sys; os.close({closed}); "
        "sys.exit(subprocess.run(sys.argv[1:], pass_fds=(), close_fds=False).returncode)"
    )
    done = subprocess.run(
        [sys.executable, "-c", script, sys.executable, "-m", "trello_restore", *args],
        env={**os.environ, **trello_env(sb.base_url, sb.key, sb.token), **env},
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert getattr(done, pipes[closed]) == "", "the closed descriptor got nothing"
    assert "internal error" not in getattr(done, keep)
    return done


def test_a_run_started_without_standard_output_says_so_before_it_writes(
    sandbox_factory: SandboxFactory, scenario: Scenario
) -> None:
    """``>&-`` (R39a: every change made, then "internal error", exit 1): its output cannot be
    written, as on a full disk: exit 2, before anything is written to Trello when it had a plan
    to show first; the cron job's (its JSON summary after its writes) says its journal holds
    them."""
    sb = sandbox_factory(scenario, latency_ms=0)
    before = snapshot(scenario.world)
    line = "Error: cannot write the output: Bad file descriptor; nothing was written to Trello\n"
    for more in (["--dry-run"], ["--yes"]):
        done = _started_without(sb, [*_restore_args(scenario), *more], 1)
        assert (done.returncode, done.stderr) == (2, line), more
    assert snapshot(scenario.world) == before
    want = _expected(scenario)
    done = _started_without(sb, [*_restore_args(scenario), "--yes", "-q", "--format", "json"], 1)
    assert done.returncode == 2, done.stderr
    _says_its_journal(
        done.stderr, "Error: cannot write the output: Bad file descriptor; every change "
    )
    _assert_state(scenario, want)


def test_a_run_started_without_error_output_ends_as_it_would(
    sandbox_factory: SandboxFactory, scenario: Scenario
) -> None:
    """``2>&-``: its lines go nowhere, its output and exit code are as with them."""
    sb = sandbox_factory(scenario, latency_ms=0)
    want = _expected(scenario)
    done = _started_without(sb, [*_restore_args(scenario), "--yes"], 2)
    assert done.returncode == 0
    assert done.stdout.startswith("Plan for ")
    _assert_state(scenario, want)


def test_output_in_an_encoding_that_cannot_show_a_character_shows_it_escaped(
    sandbox_factory: SandboxFactory,
) -> None:
    """``PYTHONIOENCODING=latin-1`` and a plan's "→" (R39a: "internal error", exit 1, after
    every change was made): the character escaped, and the run ends as it would."""
    s = generate(4, 40, second_damage=True)
    sb = sandbox_factory(s, latency_ms=0)
    args = ["--board", s.team.id, "--since", incident_since(s), "--restore", "all"]
    done = subprocess.run(
        [sys.executable, "-m", "trello_restore", *args, "--dry-run"],
        env={
            **os.environ,
            **trello_env(sb.base_url, sb.key, sb.token),
            "PYTHONIOENCODING": "latin-1",
        },
        capture_output=True,
        timeout=120,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    assert b" \\u2192 restored to " in done.stdout
