"""A Ctrl-C (or SIGTERM) that arrives once a run has finished, while it says what it did or
while the process ends, is too late to stop anything: the run's own exit code stands. It
was "Aborted!", exit 1, or the process ended by the signal with no word (R35e: exit 130 in
3 of 14 tries, after the log file had said "exit 0"), which a cron wrapper read as a run cut
short. The CLI in a process of its own against the sandbox; the signal is sent by the
process to itself just as ``sys.exit`` is called, or from an ``atexit`` callback."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from trello_restore.sandbox.scenario import Scenario, generate

from .conftest import Sandbox, SandboxFactory, trello_env
from .test_cli_apply import _assert_state, _expected, _restore_args
from .test_interrupt_stops import _planned

#: Runs the command line as its console script does, with the signal ``sig`` sent to itself
#: ``when`` the run has ended: ``exit`` as the CLI calls ``sys.exit`` with the run's code,
#: ``atexit`` while Python ends the process.
DRIVER = """
import atexit, os, signal, sys
signal.signal(signal.SIGINT, signal.default_int_handler)
signal.signal(signal.SIGTERM, signal.SIG_DFL)
sig, when = signal.{sig}, "{when}"
real_exit = sys.exit
def press():
    os.kill(os.getpid(), sig)
    sum(range(10_000))  # Python runs a handler between bytecodes: here, at the latest
def exit_pressed(code=0):
    sys.exit = real_exit
    press()
    real_exit(code)
if when == "exit":
    sys.exit = exit_pressed
else:
    atexit.register(press)  # registered first: run last, after the package's own
from trello_restore.cli import main
sys.argv[0] = "trello-restore"
main()
"""


@pytest.fixture(name="scenario")
def scenario_fixture() -> Scenario:
    """A small incident scenario."""
    return generate(5, 20)


def _assert_no_interrupt(done: subprocess.CompletedProcess[str]) -> None:
    """Nothing said of the signal: no "Aborted!", no traceback, no "Interrupted"."""
    said = done.stdout + done.stderr
    for word in ("Aborted", "Traceback", "KeyboardInterrupt", "Interrupted", "Stopped"):
        assert word not in said, said


def _run(
    args: list[str], env: dict[str, str], sig: str, when: str
) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-c", DRIVER.format(sig=sig, when=when), *args],
        env={**os.environ, **env},
        capture_output=True,
        text=True,
        timeout=120,
    )


@pytest.mark.parametrize("when", ["exit", "atexit"])
@pytest.mark.parametrize("sig", ["SIGINT", "SIGTERM"])
def test_a_signal_after_an_apply_has_finished_keeps_its_exit_code(
    sandbox_factory: SandboxFactory,
    scenario: Scenario,
    monkeypatch: pytest.MonkeyPatch,
    tmp_path: Path,
    sig: str,
    when: str,
) -> None:
    """``apply PLAN --yes``, its last line said, then Ctrl-C: exit 0 and its summary, as
    without the Ctrl-C; the board restored, the journal closed."""
    sb: Sandbox = sandbox_factory(scenario, latency_ms=0)
    env, plan, journal = _planned(sb, scenario, tmp_path, monkeypatch)
    want = _expected(scenario)
    done = _run(["apply", str(plan), "--journal", str(journal), "--yes"], env, sig, when)
    assert done.returncode == 0, done.stdout + done.stderr
    assert "7 applied" in done.stdout, done.stdout
    _assert_no_interrupt(done)
    _assert_state(scenario, want)


@pytest.mark.parametrize("sig", ["SIGINT", "SIGTERM"])
def test_a_signal_after_a_one_step_run_keeps_its_json_and_exit_code(
    sandbox_factory: SandboxFactory, scenario: Scenario, tmp_path: Path, sig: str
) -> None:
    """The one-step run a cron job makes, ``--yes --format json``: its JSON summary whole
    and its exit code 0, whatever the signal that came as it ended."""
    sb: Sandbox = sandbox_factory(scenario, latency_ms=0)
    env = trello_env(sb.base_url, sb.key, sb.token)
    want = _expected(scenario)
    done = _run([*_restore_args(scenario), "--yes", "--format", "json"], env, sig, "exit")
    assert done.returncode == 0, done.stderr
    summary = json.loads(done.stdout)
    assert sum(b["apply"]["applied"] for b in summary["boards"]) == 7, summary
    _assert_no_interrupt(done)
    _assert_state(scenario, want)
