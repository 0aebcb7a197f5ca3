"""A Ctrl-C (or SIGTERM) that arrives once a run has finished. While the process ends, it
is too late to stop anything: the run's own exit code stands. It was "Aborted!", exit 1, or
the process ended by the signal with no word (R35e: exit 130 in 3 of 14 tries, after the log
file had said "exit 0"), which a cron wrapper read as a run cut short; the signal is sent by
the process to itself just as ``sys.exit`` is called, or from an ``atexit`` callback. While
it says what it did to a pipe no one reads, it ends it, saying the run had finished (R36e:
ignored, it left the process deaf to all but SIGKILL). The CLI in a process of its own
against the sandbox."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from trello_restore.locks import hold, lock_dir, lock_names
from trello_restore.planfile import digest_of, read_plan
from trello_restore.sandbox.scenario import Scenario, generate

from .applykit import SIGNALS
from .conftest import Sandbox, SandboxFactory, trello_env
from .test_cli_apply import _assert_state, _expected, _restore_args
from .test_interrupt_stops import _planned, _quiet

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


@pytest.mark.parametrize("stderr_too", [False, True])
@pytest.mark.parametrize(("sig", "code", "said"), [
    ("SIGINT", 130, "Interrupted"),
    ("SIGTERM", -15, "Stopped by SIGTERM"),
])  # fmt: skip
def test_a_signal_while_a_finished_run_is_stuck_on_its_output_ends_it(
    sandbox_factory: SandboxFactory,
    monkeypatch: pytest.MonkeyPatch,
    tmp_path: Path,
    sig: str,
    code: int,
    said: str,
    stderr_too: bool,
) -> None:
    """``apply PLAN --dry-run -v`` whose report no one reads (a pipe that stopped, a stuck
    terminal): the run is over, its report blocked. Ctrl-C or SIGTERM ends it within a
    second, saying the run had finished (R36e: ignored once the run was over, it left the
    process deaf to all but SIGKILL). Also with stderr into the same pipe (``2>&1 |``): its
    line is then not said, and the signal still ends it (R36f: it hung on that line)."""
    big = generate(7, 2000)
    sb: Sandbox = sandbox_factory(big, latency_ms=0)
    env, plan, journal = _planned(sb, big, tmp_path, monkeypatch)
    sb.server.request_log.clear()
    proc = subprocess.Popen(
        [sys.executable, "-c", SIGNALS.format(sigint="SIG_DFL"),
         "apply", str(plan), "--journal", str(journal), "--dry-run", "-v"],
        env={**os.environ, **env},
        stdout=subprocess.PIPE,  # never read until it ends: its report fills the pipe
        stderr=subprocess.STDOUT if stderr_too else subprocess.PIPE,
        text=True,
    )  # fmt: skip
    try:
        # The dry run's reads done (it reads nothing while it checks the plan file), and the
        # process still there: blocked on its report.
        deadline = time.monotonic() + 60
        while not sb.server.request_log and proc.poll() is None:
            assert time.monotonic() < deadline, "the dry run read nothing"
            time.sleep(0.02)
        assert _quiet(sb, 1.0, 60), "the dry run kept reading"
        assert proc.poll() is None, "the report fit in the pipe: no report blocked"
        started = time.monotonic()
        proc.send_signal(getattr(signal, sig))
        out, err = proc.communicate(timeout=10)
        took = time.monotonic() - started
    finally:
        if proc.poll() is None:  # pragma: no cover - only when it hangs
            proc.kill()
            proc.communicate()
    err = err or ""
    assert proc.returncode == code, err
    assert took < 3, took
    if not stderr_too:
        line = f"{said} as the run ended, while it said so; every change it made is in its journal"
        assert line in err, err
    assert "Traceback" not in err + out
    assert len(out) >= 60_000  # what the pipe took before it stopped


#: The command line, with the signal ``sig`` sent to itself as an error's line is about to be
#: said (``cli.fail``), once its run has ended.
AT_FAIL = """
import os, signal, sys
signal.signal(signal.SIGINT, signal.default_int_handler)
signal.signal(signal.SIGTERM, signal.SIG_DFL)
import trello_restore.cli as cli
real_fail = cli.fail
def fail(*args, **kwargs):
    os.kill(os.getpid(), signal.{sig})
    sum(range(10_000))
    real_fail(*args, **kwargs)
cli.fail = fail
sys.argv[0] = "trello-restore"
cli.main()
"""


@pytest.mark.parametrize(("sig", "code"), [("SIGINT", 130), ("SIGTERM", -15)])
def test_a_signal_as_an_error_is_said_after_the_run_is_not_aborted(
    sandbox_factory: SandboxFactory,
    scenario: Scenario,
    monkeypatch: pytest.MonkeyPatch,
    tmp_path: Path,
    sig: str,
    code: int,
) -> None:
    """Another run holds the plan's lock (``LockHeld`` inside the run's block); a signal as
    its line is said: the interrupted line, 130 (143), never "Aborted!", exit 1 (R36f)."""
    sb: Sandbox = sandbox_factory(scenario, latency_ms=0)
    env, plan, _ = _planned(sb, scenario, tmp_path, monkeypatch)
    parsed, meta = read_plan(plan)
    home = Path(os.environ["TRELLO_RESTORE_HOME"])
    with hold(lock_dir(home / "state"), lock_names(digest_of(parsed, meta), ())[:1]):
        done = subprocess.run(
            [sys.executable, "-c", AT_FAIL.format(sig=sig), "apply", str(plan), "--yes"],
            env={**os.environ, **env},
            capture_output=True,
            text=True,
            timeout=60,
        )
    assert done.returncode == code, done.stderr
    assert "Aborted" not in done.stderr
    assert "as the run ended, while it said so" in done.stderr, done.stderr
