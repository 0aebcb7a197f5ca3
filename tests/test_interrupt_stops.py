"""Ctrl-C stops a run within about a second and sends nothing new: the writes waiting for the
rate limiter are not sent (an apply), and a read waiting for a retry after a 429 is not waited
for (a dry run's account read). SIGINT to the CLI in a subprocess, against the sandbox."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

from trello_restore import wrote
from trello_restore.cli import main
from trello_restore.journal import Journal
from trello_restore.sandbox import endpoints
from trello_restore.sandbox.scenario import Scenario, generate
from trello_restore.sandbox.world import TrelloError

from .applykit import SIGNALS as _SIGNALS
from .conftest import Sandbox, SandboxFactory, trello_env
from .test_cli_apply import _assert_state, _expected, _restore_args

WRITES = ("POST", "PUT")
#: Seconds from SIGINT to the exit that count as "promptly" (the waits interrupted are ~10 s).
PROMPT_S = 3.0


def _quiet(sb: Sandbox, for_s: float, within_s: float) -> bool:
    """Wait until the sandbox has seen no request for ``for_s`` (True), or ``within_s`` passed."""
    deadline = time.monotonic() + within_s
    seen, since = len(sb.server.request_log), time.monotonic()
    while time.monotonic() < deadline:
        time.sleep(0.02)
        now = len(sb.server.request_log)
        if now != seen:
            seen, since = now, time.monotonic()
        elif time.monotonic() - since >= for_s:
            return True
    return False


def _into_a_retry(sb: Sandbox, proc: subprocess.Popen[str], status: int, path: str) -> None:
    """Wait until the sandbox has answered a request to ``path`` (its end) with ``status``,
    and a little more, into the retry's wait; ``proc`` is still running."""
    answered: Callable[[], bool] = lambda: any(  # noqa: E731
        r.status == status and r.path.endswith(path) for r in sb.server.request_log
    )
    deadline = time.monotonic() + 20
    while not answered() and time.monotonic() < deadline:
        time.sleep(0.02)
    assert answered(), f"no request to {path} was answered {status}"
    time.sleep(0.3)
    assert proc.poll() is None, "the run ended before it was interrupted"


def _interrupt(proc: subprocess.Popen[str], sig: int = signal.SIGINT) -> tuple[float, float, str]:
    """Signal ``proc`` (SIGINT); (when it was sent, seconds until it ended, its stderr)."""
    sent = time.time()
    started = time.monotonic()
    proc.send_signal(sig)
    try:
        _, err = proc.communicate(timeout=60)
    except subprocess.TimeoutExpired:  # pragma: no cover - only when it hangs
        proc.kill()
        _, err = proc.communicate()
    return sent, time.monotonic() - started, err


def _cli(args: list[str], env: dict[str, str], *, sigint: str = "SIG_DFL") -> subprocess.Popen[str]:
    """The command line in a process of its own; ``sigint="SIG_IGN"``: started as a script's
    background job (``cmd &``) is, with SIGINT ignored."""
    return subprocess.Popen(
        [sys.executable, "-c", _SIGNALS.format(sigint=sigint), *args],
        env={**os.environ, **env},
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def _planned(
    sb: Sandbox, scenario: Scenario, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> tuple[dict[str, str], Path, Path]:
    """The sandbox's environment (set in this process too), the scenario's restore planned
    into ``plan.json`` over the command line, and where its journal goes."""
    env = trello_env(sb.base_url, sb.key, sb.token)
    for k, v in env.items():
        monkeypatch.setenv(k, v)
    plan, journal = tmp_path / "plan.json", tmp_path / "journal.jsonl"
    made = CliRunner().invoke(
        main, [*_restore_args(scenario), "--dry-run", "--plan-out", str(plan)]
    )
    assert made.exit_code == 0, made.output
    return env, plan, journal


@pytest.fixture(name="scenario")
def scenario_fixture() -> Scenario:
    """A small incident scenario."""
    return generate(5, 40)


def test_ctrl_c_while_writes_wait_for_the_limiter(
    sandbox_factory: SandboxFactory,
    scenario: Scenario,
    monkeypatch: pytest.MonkeyPatch,
    tmp_path: Path,
) -> None:
    """An apply whose workers all wait for the rate limiter (its own cap: a 10 s window) ends
    within about a second of Ctrl-C, exit 130 with the resume hint, and sends no write after
    it; the journal settles the writes that never went; running it again applies the rest,
    none twice."""
    sb = sandbox_factory(scenario, latency_ms=20, token_limit=10_000, key_limit=10_000)
    env, plan, journal = _planned(sb, scenario, tmp_path, monkeypatch)
    card_changes = json.loads(plan.read_text())["summary"]["card_changes"]
    want = _expected(scenario)
    start = len(sb.server.request_log)
    args = ["apply", str(plan), "--journal", str(journal), "--workers", "4"]
    proc = _cli([*args, "--rate-limit", "12"], env)
    # The 12 requests of the window go out (reads, then the first writes); then every worker
    # waits for the window's end, ten seconds on.
    deadline = time.monotonic() + 20
    while not any(r.method in WRITES for r in sb.server.request_log[start:]):
        assert time.monotonic() < deadline, "no write was sent"
        assert proc.poll() is None, "the apply ended before it sent a write"
        time.sleep(0.01)
    assert _quiet(sb, 0.6, 20), "the apply never paused for the limiter"
    assert proc.poll() is None, "the apply finished before it was interrupted"
    sent_before = [r for r in sb.server.request_log[start:] if r.method in WRITES]
    assert 0 < len(sent_before) < card_changes
    at, took, err = _interrupt(proc)
    assert proc.returncode == 130, err
    assert took < PROMPT_S, f"took {took:.1f} s to stop"
    assert "Traceback" not in err
    assert f"Run trello-restore apply {plan} --journal {journal} again to resume" in err
    assert [r for r in sb.server.request_log if r.at >= at and r.method in WRITES] == []
    # Every write sent is journaled applied; none is left pending (nothing was on the wire).
    latest = Journal.read(journal).latest()
    assert sum(r.status == "applied" for r in latest.values()) == len(sent_before)
    assert not Journal.read(journal).pending()
    again = CliRunner().invoke(main, args)
    assert again.exit_code == 0, again.output
    _assert_state(scenario, want)
    adds = [r.status for r in sb.server.request_log if r.method == "POST"]
    assert adds == [200] * card_changes


def test_ctrl_c_while_the_account_read_waits_after_a_429(
    sandbox_factory: SandboxFactory, scenario: Scenario, tmp_path: Path
) -> None:
    """A dry run whose ``members/me`` Trello answers 429 (the members route's own limit)
    waits ten seconds a retry; Ctrl-C ends it within about a second, exit 130."""
    sb = sandbox_factory(scenario, latency_ms=20, members_limit=0)
    env = trello_env(sb.base_url, sb.key, sb.token)
    proc = _cli([*_restore_args(scenario), "--dry-run", "--no-cache"], env)
    _into_a_retry(sb, proc, 429, "/members/me")
    _, took, err = _interrupt(proc)
    assert proc.returncode == 130, err
    assert took < PROMPT_S, f"took {took:.1f} s to stop"
    assert "Traceback" not in err


@pytest.mark.parametrize("sig", ["SIGINT", "SIGTERM"])
def test_ctrl_c_while_the_boards_actions_are_retried(
    sandbox_factory: SandboxFactory,
    scenario: Scenario,
    monkeypatch: pytest.MonkeyPatch,
    sig: str,
) -> None:
    """Trello answers every read of a board's actions 503, which the fetch's workers retry
    with backoff: Ctrl-C (or SIGTERM) ends the dry run within about a second, not once every
    retry is waited out (R37b: 17-24 s after the signal; a trickling answer never)."""
    route = endpoints.Route("GET", "/1/boards/{id}/actions")

    def failing(call: endpoints.Call) -> Any:
        raise TrelloError(503, "Service Unavailable")

    monkeypatch.setitem(endpoints.HANDLERS, route, failing)
    sb = sandbox_factory(scenario, latency_ms=20)
    env = trello_env(sb.base_url, sb.key, sb.token)
    proc = _cli([*_restore_args(scenario), "--dry-run", "--no-cache"], env)
    _into_a_retry(sb, proc, 503, "/actions")
    _, took, err = _interrupt(proc, getattr(signal, sig))
    assert proc.returncode == (130 if sig == "SIGINT" else -signal.SIGTERM), err
    assert took < PROMPT_S, f"took {took:.1f} s to stop"
    assert "Traceback" not in err


@pytest.mark.parametrize("op", ["apply", "undo"])
def test_ctrl_c_counts_the_writes_answered_after_it(
    sandbox_factory: SandboxFactory,
    scenario: Scenario,
    monkeypatch: pytest.MonkeyPatch,
    tmp_path: Path,
    op: str,
) -> None:
    """Ctrl-C while writes are on the wire (Trello slow to answer): the run says it waits for
    them, and its line counts them once they are answered and journaled (it counted only the
    outcomes reported before Ctrl-C, fewer than the journal then held)."""
    sb = sandbox_factory(scenario, token_limit=10_000, key_limit=10_000)
    env, plan, journal = _planned(sb, scenario, tmp_path, monkeypatch)
    args = ["apply", str(plan), "--journal", str(journal), "--workers", "4"]
    if op == "undo":
        applied = CliRunner().invoke(main, args)
        assert applied.exit_code == 0, applied.output
        args = ["undo", str(journal), "--yes", "--workers", "4"]
    # Trello answers each write 2.5 s after it is sent: Ctrl-C 0.2 s after the first answer
    # finds the next writes with over a second to go, longer than the runner waits before it
    # says so (``IN_FLIGHT_NOTICE_S``). At 1.2 s, writes sent together with the first one
    # left less than that when the machine was slow, and the notice was (rightly) not said.
    # Reads are answered at once: at 2.5 s each, the reads before the first write took 10 s.
    sb.server.set_options(write_latency_ms=2500)
    proc = _cli(args, env)
    deadline = time.monotonic() + 60
    while ('"undone"' if op == "undo" else '"applied"') not in _read(journal):
        assert time.monotonic() < deadline, "no write was answered"
        assert proc.poll() is None, "the run ended before it was interrupted"
        time.sleep(0.01)
    time.sleep(0.2)  # the next writes are on the wire
    _, _, err = _interrupt(proc)
    assert proc.returncode == 130, err
    assert "Traceback" not in err
    assert "waiting for Trello to answer the " in err
    (line,) = [x for x in err.splitlines() if x.startswith("Interrupted after ")]
    said = int(line.removeprefix("Interrupted after ").split(" of ")[0])
    records = Journal.read(journal)
    assert not records.pending()
    ours = [r for r in records.latest().values() if r.op == op]
    settled = [r for r in ours if r.error != "interrupted before it was sent"]
    written = "undone" if op == "undo" else "applied"
    assert sum(r.status == written for r in settled) > 1  # the first, and those in flight
    assert said == len(settled), (line, [r.status for r in ours])


def _read(path: Path) -> str:
    return path.read_text() if path.exists() else ""


@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGHUP])
def test_sigterm_stops_a_one_step_run_as_ctrl_c_does(
    sandbox_factory: SandboxFactory,
    scenario: Scenario,
    monkeypatch: pytest.MonkeyPatch,
    tmp_path: Path,
    sig: signal.Signals,
) -> None:
    """SIGTERM (systemd's stop, a shutdown, ``timeout``) of the nightly one-step run while
    writes are on the wire: it waits for them and journals them, says what it did on one line
    (``Stopped by SIGTERM after N of M outcomes``, in the log file too, with ``exit 143``),
    exits 143, and leaves
    no ``pending`` record. Before, it ended at once, silent, every write on the wire left
    ``pending``, and the next run waited up to 35 s for them before it wrote. SIGHUP (a
    terminal closed, an ssh session dropped) the same, by SIGHUP (129; R47b: it ended at
    once, 33 records ``pending``)."""
    sb = sandbox_factory(scenario, token_limit=10_000, key_limit=10_000)
    env = trello_env(sb.base_url, sb.key, sb.token)
    log = tmp_path / "run.log"
    args = [*_restore_args(scenario), "--yes", "--workers", "4"]
    want = _expected(scenario)
    sb.server.set_options(latency_ms=300)  # writes on the wire at any moment, 4 workers
    proc = _cli(["--log-file", str(log), *args], env)
    journals = Path(os.environ["TRELLO_RESTORE_HOME"]) / "state" / "journals"
    deadline = time.monotonic() + 60
    while not any('"applied"' in _read(j) for j in journals.glob("*.jsonl")):
        assert time.monotonic() < deadline, "no write was answered"
        assert proc.poll() is None, "the run ended before it was stopped"
        time.sleep(0.01)
    time.sleep(0.2)  # the next writes are on the wire
    proc.send_signal(sig)
    _, err = proc.communicate(timeout=60)
    assert proc.returncode == -sig, err  # a shell says 143 (129)
    assert "Traceback" not in err
    (journal,) = journals.glob("*.jsonl")
    stopped = f"Stopped by {sig.name} after "
    (line,) = [x for x in err.splitlines() if x.startswith(stopped)]
    assert f"every change made is recorded in the journal {journal}" in line
    assert "Run the same command again to finish" in line
    assert line in log.read_text()
    assert f"exit {128 + sig}, stopped by {sig.name}: " in log.read_text()  # R72c: no exit
    records = Journal.read(journal)
    assert not records.pending()
    said = int(line.removeprefix(stopped).split(" of ")[0])
    assert said == sum(r.op == "apply" for r in records.latest().values())
    sb.server.set_options(latency_ms=0)
    again = _cli(args, env)
    _, err = again.communicate(timeout=120)
    assert again.returncode == 0, err
    assert "may still have in flight (" not in err
    _assert_state(scenario, want)
    adds = [r.status for r in sb.server.request_log if r.method == "POST"]
    assert all(status == 200 for status in adds), adds


def test_a_stopped_one_step_run_with_its_own_journal_says_to_name_another(
    sandbox_factory: SandboxFactory, scenario: Scenario, tmp_path: Path
) -> None:
    """R59c: a one-step run given ``--journal PATH``, stopped mid-apply, said "Run the same
    command again to finish"; that command plans again, and a new plan's journal cannot be
    PATH (a journal belongs to one plan): exit 2, "the journal of another plan". The line now
    says to name another ``--journal``, and that finishes the restore, nothing sent twice."""
    sb = sandbox_factory(scenario, token_limit=10_000, key_limit=10_000)
    env = trello_env(sb.base_url, sb.key, sb.token)
    journal = tmp_path / "night.jsonl"
    args = [*_restore_args(scenario), "--yes", "--workers", "4"]
    want = _expected(scenario)
    sb.server.set_options(latency_ms=300)
    proc = _cli([*args, "--journal", str(journal)], env)
    deadline = time.monotonic() + 60
    while '"applied"' not in _read(journal):
        assert time.monotonic() < deadline, "no write was answered"
        assert proc.poll() is None, "the run ended before it was stopped"
        time.sleep(0.01)
    proc.send_signal(signal.SIGTERM)
    _, err = proc.communicate(timeout=60)
    assert proc.returncode == -signal.SIGTERM, err
    (line,) = [x for x in err.splitlines() if x.startswith("Stopped by SIGTERM after ")]
    assert line.endswith(
        "Run the same command again with another --journal to finish: it plans again from "
        "the current state."
    ), line
    sb.server.set_options(latency_ms=0)
    same = _cli([*args, "--journal", str(journal)], env)
    _, err = same.communicate(timeout=120)
    assert same.returncode == 2, err
    assert err.splitlines() == [
        f"Error: {journal} holds the journal of an earlier run, and a journal belongs to one "
        "plan: this run made a new one (a run again plans again). Name a new file with "
        "--journal, or leave it out (one journal per plan in the journal directory)"
    ], err
    again = _cli([*args, "--journal", str(tmp_path / "night-2.jsonl")], env)
    _, err = again.communicate(timeout=120)
    assert again.returncode == 0, err
    _assert_state(scenario, want)
    adds = [r.status for r in sb.server.request_log if r.method == "POST"]
    assert all(status == 200 for status in adds), adds


@pytest.mark.parametrize("sigint", ["SIG_DFL", "SIG_IGN"])
def test_sigterm_before_any_write_says_nothing_was_written(
    sandbox_factory: SandboxFactory, scenario: Scenario, tmp_path: Path, sigint: str
) -> None:
    """SIGTERM while the one-step run still reads the boards: exit 143, one line, nothing
    written; also when it was started as a script's background job, with SIGINT ignored
    (R28a: killed at once, silent)."""
    sb = sandbox_factory(scenario, latency_ms=400)
    env = trello_env(sb.base_url, sb.key, sb.token)
    proc = _cli([*_restore_args(scenario), "--yes", "--no-cache"], env, sigint=sigint)
    deadline = time.monotonic() + 20
    while not sb.server.request_log:
        assert time.monotonic() < deadline, "no request was sent"
        time.sleep(0.01)
    proc.send_signal(signal.SIGTERM)
    _, err = proc.communicate(timeout=60)
    assert proc.returncode == -signal.SIGTERM, err  # a shell says 143
    assert err.strip().splitlines()[-1] == "Stopped by SIGTERM: nothing was written to Trello."
    assert not [r for r in sb.server.request_log if r.method in WRITES]


@pytest.fixture
def fresh_command() -> Iterator[None]:
    """``wrote``'s record of the running command, cleared before and after."""
    wrote.start()
    yield
    wrote.start()


@pytest.mark.usefixtures("fresh_command")
def test_every_way_to_go_on_names_another_journal_once_the_named_one_holds_records(
    tmp_path: Path,
) -> None:
    """R60a: besides the stop line (R59c), every line that tells a one-step run to "run the
    same command again" led a run given ``--journal PATH`` into the refusal of that PATH: a
    board refusing writes (exit 3) or reads, changes blocked, a journal that could not be
    written, an error after writes. Each says "with another --journal" once PATH holds
    records, and not while it is missing or empty (the same command works then). R60b: also a
    one-board run's refused write."""
    from trello_restore.journal_errors import write_failed
    from trello_restore.models import MemberRef
    from trello_restore.refusals import Refused, refused_boards_line, unread_named_line
    from trello_restore.report_outcomes import blocked_advice
    from trello_restore.runner_types import ChangeOutcome

    journal = tmp_path / "night.jsonl"
    me = MemberRef("m", "dana", "Dana K")
    why = "the member is not an active member of the card's board"
    blocked = ChangeOutcome("c1", "add_member_to_card", "blocked", "B", "k", "m1", error=why)

    def lines() -> list[str]:
        return [
            refused_boards_line(me, [("b1", "Archive", "HTTP 401 x", 3)], elsewhere=2),
            unread_named_line(me, [("Archive", "HTTP 401 x")], dry_run=False, alone=False),
            blocked_advice([blocked], one_shot=True) or "",
            str(write_failed(journal, OSError(28, "No space left on device"), sent=3)),
            wrote.written_then("Trello rejected the API key or token"),
            str(Refused("… refused …; make @dana a normal member, then ", " to resume", 401, "")),
        ]

    wrote.journaled(journal)
    wrote.named_journal(journal)
    for state in ("missing", "empty"):
        if state == "empty":
            journal.touch()
        said = lines()
        assert all("run the same command again" in x for x in said), said
        assert not any("another --journal" in x for x in said), (state, said)
    journal.write_text('{"format": "trello-restore-journal"}\n')
    said = lines()
    assert all("run the same command again with another --journal" in x for x in said), said
    assert "or run it with --add-to-board and another --journal to grant" in said[2]  # R60b
    wrote.start()  # another command: apply PLAN resumes in its journal
    assert "run the same command again to resume" in str(
        write_failed(journal, OSError(28, "No space left on device"), sent=3)
    )
