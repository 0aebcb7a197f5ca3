"""Ctrl-C leaves no write without an outcome (review R23b): every ``pending`` record is answered
(``applied``/``undone`` for a write sent and answered, ``not_applied`` for one never sent) before
the run lets its journal close, even when a second SIGINT comes while it waits for the writes on
the wire (``timeout -s INT`` sends two: to the process and to its process group; it left writes
``pending`` for good); and an undo's writes Ctrl-C stopped before they were sent are
``not_applied`` as an apply's are (they were ``failed``), which the next undo takes up again, not
as resumed."""

from __future__ import annotations

import json
import signal
import threading
import time
from collections.abc import Callable, Iterator
from functools import partial
from pathlib import Path
from typing import cast

import pytest
from click.testing import CliRunner

from trello_restore.api import TrelloApi
from trello_restore.cli import main
from trello_restore.interrupts import (
    RunOver,
    after_run,
    first_ctrl_c_only,
    run_said,
    stopped_by,
)
from trello_restore.journal import Journal, JournalHeader, JournalRecord, Op, Status
from trello_restore.kinds import WriteRule, kind_of
from trello_restore.limiter import Stopping
from trello_restore.models import Change, MemberRef
from trello_restore.oneshot import OneShotUi
from trello_restore.report_outcomes import Progress
from trello_restore.runner import UNSENT, Runner
from trello_restore.runner_types import SKIPPED_DONE, ApplyOptions, ChangeOutcome, outcome_of
from trello_restore.sandbox.scenario import Scenario
from trello_restore.undo_left import undo_count, undoable

from .conftest import SandboxFactory, trello_env
from .test_cli_apply import _restore_args
from .test_interrupt_stops import _cli, _interrupt, _planned, _quiet, _read

#: Writes of the fake run: the first ``ON_WIRE`` (by id: ``ON_WIRE_IDS``) are answered after
#: ``LATENCY_S``, the others wait for the (fake) limiter until the run stops.
WRITES, ON_WIRE, LATENCY_S = 8, 3, 0.4
#: What the journal says of a write Ctrl-C stopped before it was sent.
SETTLED_UNSENT = ("not_applied", UNSENT)
#: Which writes are on the wire: by id, not by which thread reaches ``write`` first.
ON_WIRE_IDS = frozenset(f"c{i}" for i in range(ON_WIRE))


_HUP_AT_START = signal.getsignal(signal.SIGHUP)


@pytest.fixture(name="sigint")
def sigint_fixture() -> Iterator[None]:
    """Python's own SIGINT handler, and SIGTERM's default, back after the test, whatever it
    left: a SIGTERM left ignored was inherited by the later tests' subprocesses, which then
    ran on through the SIGTERM those tests sent them. Python's own SIGINT handler before it
    too: a suite started in the background has SIGINT ignored."""
    signal.signal(signal.SIGINT, signal.default_int_handler)
    yield
    signal.signal(signal.SIGINT, signal.default_int_handler)
    signal.signal(signal.SIGTERM, signal.SIG_DFL)
    signal.signal(signal.SIGHUP, _HUP_AT_START)
    # Nor a SIGTERM said to have stopped a run: a later test's Ctrl-C would end by SIGTERM,
    # the whole test run with it (``cli.exit_interrupted``).
    _set_stopped_by(None)


def _set_stopped_by(signum: int | None) -> None:
    """What ``interrupts.stopped_by`` answers from, set as a signal handler sets it."""
    import trello_restore.interrupts as interrupts

    interrupts._stopped_by = signum


# ---------------------------------------------------------------------------- the runner


class _Trello:
    """What the ``Runner`` uses of a ``TrelloApi``: the writes ``ON_WIRE_IDS`` are on the wire
    (answered after ``LATENCY_S``), the others wait for their turn at the limiter until
    ``stop`` (Ctrl-C), which they are not sent for (``Stopping``). By id, not the first to
    arrive: the runner's threads start in any order, and a test that names the writes never
    sent (``resumed``) failed one run in twenty when one of them came first."""

    limiter = object()  # the run's own, as the apply's: the runner makes none
    requests_sent = 0
    rate_limited = 0
    clock_skew = None  # no answer's Date seen: the records say no skew

    def __init__(self) -> None:
        self.closing = threading.Event()
        self._lock = threading.Lock()
        self.sent: list[str] = []

    def stop(self) -> None:
        self.closing.set()

    def write(self, change: Change) -> None:
        on_wire = change.change_id in ON_WIRE_IDS
        if on_wire:
            with self._lock:
                self.sent.append(change.change_id)
        if not on_wire:
            self.closing.wait(10)  # bounded: a runner that never stops them fails, not hangs
            raise Stopping
        time.sleep(LATENCY_S)


def _changes() -> list[Change]:
    """One card member each on a board of its own (so none waits for another's first write)."""
    return [
        Change(f"c{i}", "add_member_to_card", f"b{i}", f"B{i}", MemberRef("m"), card_id=f"k{i}")
        for i in range(WRITES)
    ]


@pytest.mark.parametrize("op", ["apply", "undo"])
@pytest.mark.parametrize("stop", ["ctrl_c", "error"])
def test_a_second_ctrl_c_while_the_run_waits_for_its_writes(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, op: str, stop: str
) -> None:
    """Ctrl-C (or an error that stops the run) once every write's ``pending`` record is on
    disk, three writes on the wire and five waiting for the limiter; a second Ctrl-C as the run
    starts waiting for them (it ended that wait at once, and the journal then closed: the
    writes on the wire were never journaled). Once the run has ended, every pending record is
    answered: those sent ``applied``/``undone``, the others ``not_applied`` (not sent: an
    undo's too, where they were ``failed``); after an error, the error is what is raised."""
    trello = _Trello()
    kind = kind_of("add_member_to_card")
    header = JournalHeader("d" * 64, "http://trello.test/1", "m", "2026-11-26T00:00:00Z")
    journal = Journal.open(tmp_path / "journal.jsonl", header)
    halts = 0
    real_halt = Runner._halt

    def halt(run: Runner) -> None:
        """The second stop (the run's end, after run_writes' own) meets a second Ctrl-C."""
        nonlocal halts
        real_halt(run)
        halts += 1
        if halts == 2:
            raise KeyboardInterrupt

    monkeypatch.setattr(Runner, "_halt", halt)
    rule = kind.write_rule(False) if op == "apply" else kind.undo_rule(False)

    def jobs() -> Iterator[tuple[Change, Callable[[], object], WriteRule]]:
        for c in _changes():
            yield c, partial(trello.write, c), rule
        deadline = time.monotonic() + 10
        while sum(r.status == "pending" for r in journal.records) < WRITES:
            assert time.monotonic() < deadline, "the writes were never journaled pending"
            time.sleep(0.005)
        if stop == "ctrl_c":
            raise KeyboardInterrupt
        raise RuntimeError("the run stops")

    api = cast(TrelloApi, trello)
    progress = Progress(WRITES, enabled=False, undo=op == "undo")
    with (
        pytest.raises((KeyboardInterrupt, RuntimeError)) as ended,
        Runner(api, journal, ApplyOptions(workers=WRITES), cast(Op, op), progress) as run,
    ):
        run.run_writes(jobs())
    latest = Journal.read(journal.path).latest()  # at once: the run's end is the journal's
    journal.close()
    assert len(latest) == WRITES
    sent = {cid: (r.status, r.error) for cid, r in latest.items() if cid in trello.sent}
    unsent = {cid: (r.status, r.error) for cid, r in latest.items() if cid not in trello.sent}
    done = "applied" if op == "apply" else "undone"
    assert sent == dict.fromkeys(trello.sent, (done, ""))
    assert unsent == dict.fromkeys(unsent, SETTLED_UNSENT)
    assert len(unsent) == WRITES - ON_WIRE
    assert ended.type is (KeyboardInterrupt if stop == "ctrl_c" else RuntimeError)
    # What Ctrl-C's line counts: the writes answered, and apart those never sent (X23).
    assert (progress.done, progress.unsent) == (len(sent), len(unsent))
    assert progress.counts == {done: len(sent)}


def test_ctrl_c_names_apart_the_resumed_writes_it_stopped(tmp_path: Path) -> None:
    """A resumed apply's writes (an earlier attempt may have gone through) that Ctrl-C stopped
    before they were sent are journaled ``failed`` and uncertain, not ``not_applied``: the line
    says so and that the next run settles them, not that they are journaled as not sent (it
    did, whatever their status)."""
    trello = _Trello()
    kind = kind_of("add_member_to_card")
    header = JournalHeader("d" * 64, "http://trello.test/1", "m", "2026-11-26T00:00:00Z")
    journal = Journal.open(tmp_path / "journal.jsonl", header)
    resumed = {"c5", "c6", "c7"}  # never on the wire (``ON_WIRE_IDS`` are)

    def jobs() -> Iterator[tuple[Change, Callable[[], object], WriteRule]]:
        for c in _changes():
            yield c, partial(trello.write, c), kind.write_rule(c.change_id in resumed)
        deadline = time.monotonic() + 10
        while sum(r.status == "pending" for r in journal.records) < WRITES:
            assert time.monotonic() < deadline, "the writes were never journaled pending"
            time.sleep(0.005)
        raise KeyboardInterrupt

    progress = Progress(WRITES, enabled=False)
    with (
        pytest.raises(KeyboardInterrupt),
        Runner(
            cast(TrelloApi, trello), journal, ApplyOptions(workers=WRITES), "apply", progress
        ) as run,
    ):
        run.run_writes(jobs())
    latest = Journal.read(journal.path).latest()
    journal.close()
    stopped = {cid: (r.status, r.uncertain, r.error) for cid, r in latest.items()}
    assert {cid: stopped[cid] for cid in resumed} == dict.fromkeys(
        resumed, ("failed", True, UNSENT)
    )
    assert sorted(stopped.values()).count(("not_applied", False, UNSENT)) == 2
    assert (progress.unsent, progress.unsent_open) == (5, 3)
    assert progress.interrupted_counts() == (
        " (5 more writes were stopped before they were sent: 2 are journaled as not sent, and "
        "3 as failed, since an earlier attempt may have gone through: the next run settles "
        "them from the board)"
    )


@pytest.mark.parametrize(
    ("statuses", "said"),
    [
        (
            ["not_applied"],
            " (1 more write was stopped before it was sent and is journaled as not sent)",
        ),
        (
            ["failed"],
            " (1 more write was stopped before it was sent and is journaled as failed, since "
            "an earlier attempt may have gone through: the next run settles it from the board)",
        ),
        (
            ["failed", "failed", "not_applied"],
            " (3 more writes were stopped before they were sent: 1 is journaled as not sent, and "
            "2 as failed, since an earlier attempt may have gone through: the next run settles "
            "them from the board)",
        ),
    ],
)
def test_the_words_for_writes_stopped_unsent(statuses: list[str], said: str) -> None:
    progress = Progress(len(statuses), enabled=False)
    for i, status in enumerate(statuses):
        progress(ChangeOutcome(f"c{i}", "add_member_to_card", status, "b", "k", "m", error=UNSENT))
    assert progress.interrupted_counts() == said


# ------------------------------------------------------------------- the command line


def test_the_first_ctrl_c_interrupts_and_the_later_ones_are_ignored(sigint: None) -> None:
    """Around a command's run, SIGINT raises KeyboardInterrupt once; those after it are
    ignored until the process ends; without one, the first after the run cuts short what
    the command says of it (``RunOver``) and those after it are ignored, as they are once it
    has said all (``run_said``); the next run's first one interrupts it."""
    with first_ctrl_c_only():
        assert signal.getsignal(signal.SIGINT) is not signal.default_int_handler
    assert signal.getsignal(signal.SIGINT) is after_run
    with pytest.raises(RunOver):
        signal.raise_signal(signal.SIGINT)
    assert signal.getsignal(signal.SIGINT) not in (after_run, signal.default_int_handler)
    run_said()  # all said, as the command line says it once its line is out
    assert signal.getsignal(signal.SIGINT) == signal.SIG_IGN
    signal.raise_signal(signal.SIGINT)  # ignored
    # The next command's run: its first one interrupts it.
    with first_ctrl_c_only(), pytest.raises(KeyboardInterrupt):
        signal.raise_signal(signal.SIGINT)
    with first_ctrl_c_only():
        pass
    run_said()
    assert signal.getsignal(signal.SIGINT) == signal.SIG_IGN
    interrupts = 0
    with first_ctrl_c_only():
        for _ in range(3):
            try:
                signal.raise_signal(signal.SIGINT)
            except KeyboardInterrupt:
                interrupts += 1
    assert interrupts == 1
    assert signal.getsignal(signal.SIGINT) is signal.SIG_IGN


@pytest.mark.parametrize("first", [signal.SIGTERM, signal.SIGHUP, signal.SIGINT])
def test_the_first_sigterm_or_ctrl_c_interrupts_and_both_are_ignored_after_it(
    sigint: None, first: signal.Signals
) -> None:
    """SIGTERM and SIGHUP around a command's run stop it as Ctrl-C does (``stopped_by`` says
    which: R47b, a terminal closed ended an apply at once): once, then all are ignored;
    without one, the first after the run cuts short what the command says of it, and all
    are ignored once all is said."""
    signal.signal(signal.SIGHUP, signal.SIG_DFL)  # as a shell gives it (not nohup's)
    with first_ctrl_c_only():
        assert signal.getsignal(signal.SIGTERM) not in (signal.SIG_DFL, signal.SIG_IGN)
        assert signal.getsignal(signal.SIGHUP) not in (signal.SIG_DFL, signal.SIG_IGN)
    assert signal.getsignal(signal.SIGTERM) is after_run
    with pytest.raises(RunOver):
        signal.raise_signal(signal.SIGTERM)
    assert stopped_by() == signal.SIGTERM
    run_said()
    for sig in (signal.SIGTERM, signal.SIGHUP, signal.SIGINT):
        signal.raise_signal(sig)  # ignored: else it would end this test run
    interrupts = 0
    with first_ctrl_c_only():
        for sig in (first, signal.SIGTERM, signal.SIGHUP, signal.SIGINT):
            try:
                signal.raise_signal(sig)
            except KeyboardInterrupt:
                interrupts += 1
    assert interrupts == 1
    assert stopped_by() == (None if first == signal.SIGINT else first)
    for sig in (signal.SIGTERM, signal.SIGHUP, signal.SIGINT):
        assert signal.getsignal(sig) == signal.SIG_IGN


def test_sigterm_stops_the_run_when_sigint_was_ignored_at_start(sigint: None) -> None:
    """A job a script starts in the background (``cmd &``) has SIGINT ignored: SIGTERM still
    stops its run as Ctrl-C would (R28a: it killed it at once, silent), and SIGINT stays
    ignored."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    interrupts = 0
    with first_ctrl_c_only():
        assert signal.getsignal(signal.SIGINT) == signal.SIG_IGN
        # Else the SIGTERM below would end the test run itself.
        assert signal.getsignal(signal.SIGTERM) not in (signal.SIG_DFL, signal.SIG_IGN)
        for sig in (signal.SIGINT, signal.SIGTERM, signal.SIGTERM):
            try:
                signal.raise_signal(sig)
            except KeyboardInterrupt:
                interrupts += 1
    assert interrupts == 1
    assert stopped_by() == signal.SIGTERM


def test_a_sigterm_ignored_before_the_run_stays_ignored(sigint: None) -> None:
    """A SIGTERM the caller ignores (``nohup``-like wrappers, a parent's choice) is left so."""
    signal.signal(signal.SIGTERM, signal.SIG_IGN)
    with first_ctrl_c_only():
        assert signal.getsignal(signal.SIGTERM) == signal.SIG_IGN
    assert signal.getsignal(signal.SIGTERM) == signal.SIG_IGN


def _undo_records(journal: Path) -> list[JournalRecord]:
    return [r for r in Journal.read(journal).latest().values() if r.op == "undo"]


def _said(err: str, unsent: int) -> int:
    """N of the stderr line ``Interrupted after N of M outcomes (U more writes were stopped
    before they were sent …); …``, whose U must be ``unsent`` (the part left out when 0)."""
    (line,) = [x for x in err.splitlines() if x.startswith("Interrupted after ")]
    stopped = f" outcomes ({_unsent_words(unsent)}); " if unsent else " outcomes; "
    assert f"{stopped}every change made is recorded in the journal " in line, line
    return int(line.removeprefix("Interrupted after ").split(" of ")[0])


def _unsent_words(n: int) -> str:
    if n == 1:
        return "1 more write was stopped before it was sent and is journaled as not sent"
    return f"{n} more writes were stopped before they were sent and are journaled as not sent"


@pytest.mark.parametrize("op", ["apply", "undo"])
def test_a_second_sigint_does_not_leave_writes_pending(
    sandbox_factory: SandboxFactory,
    scenario: Scenario,
    monkeypatch: pytest.MonkeyPatch,
    tmp_path: Path,
    op: str,
) -> None:
    """SIGINT while writes are on the wire (Trello takes 1.2 s to answer), and another while
    the run waits for them: exit 130, no traceback, and every write's pending record answered
    in the journal, which the interrupted line counts (the second SIGINT ended the wait and
    left them pending)."""
    sb = sandbox_factory(scenario, token_limit=10_000, key_limit=10_000)
    env, plan, journal = _planned(sb, scenario, tmp_path, monkeypatch)
    args = ["apply", str(plan), "--journal", str(journal), "--workers", "4"]
    if op == "undo":
        applied = CliRunner().invoke(main, args)
        assert applied.exit_code == 0, applied.output
        args = ["undo", str(journal), "--yes", "--workers", "4"]
    sb.server.set_options(write_latency_ms=1200)  # the reads before them quick
    proc = _cli(args, env)
    written = "undone" if op == "undo" else "applied"
    deadline = time.monotonic() + 60
    while f'"{written}"' not in _read(journal):
        assert time.monotonic() < deadline, "no write was answered"
        assert proc.poll() is None, "the run ended before it was interrupted"
        time.sleep(0.01)
    time.sleep(0.2)  # the next writes are on the wire, a second from their answer
    proc.send_signal(signal.SIGINT)
    time.sleep(0.3)
    _, _, err = _interrupt(proc)
    assert proc.returncode == 130, err
    assert "Traceback" not in err, err
    assert "Exception ignored" not in err, err
    records = Journal.read(journal)
    assert not records.pending()
    ours = [r for r in records.latest().values() if r.op == op]
    answered = [r for r in ours if (r.status, r.error) != SETTLED_UNSENT]
    assert sum(r.status == written for r in answered) > 1  # the first, and those in flight
    assert _said(err, len(ours) - len(answered)) == len(answered)


def test_undo_interrupted_journals_unsent_removals_not_applied(
    sandbox_factory: SandboxFactory,
    scenario: Scenario,
    monkeypatch: pytest.MonkeyPatch,
    tmp_path: Path,
) -> None:
    """An undo whose workers wait for the rate limiter, interrupted: the removals never sent
    are ``not_applied`` (as an apply's writes are; they were ``failed``), the line counts the
    outcomes as an apply's does (not the writes never sent). A member someone took off a card
    since is then found gone by the next undo, ``not_on_card`` (the earlier ``pending`` made
    it count as this tool's removal, ``undone``), and that undo finishes the rest."""
    sb = sandbox_factory(scenario, latency_ms=20, token_limit=10_000, key_limit=10_000)
    env, plan, journal = _planned(sb, scenario, tmp_path, monkeypatch)
    applied = CliRunner().invoke(main, ["apply", str(plan), "--journal", str(journal)])
    assert applied.exit_code == 0, applied.output
    start = len(sb.server.request_log)
    proc = _cli(["undo", str(journal), "--yes", "--workers", "4", "--rate-limit", "12"], env)
    deadline = time.monotonic() + 20
    while not any(r.method == "DELETE" for r in sb.server.request_log[start:]):
        assert time.monotonic() < deadline, "no removal was sent"
        assert proc.poll() is None, "the undo ended before it sent a removal"
        time.sleep(0.01)
    assert _quiet(sb, 0.6, 20), "the undo never paused for the limiter"
    assert proc.poll() is None, "the undo finished before it was interrupted"
    _, _, err = _interrupt(proc)
    assert proc.returncode == 130, err
    assert "Traceback" not in err
    ours = _undo_records(journal)
    unsent = [r for r in ours if r.error == UNSENT]
    assert unsent
    assert {r.status for r in unsent} == {"not_applied"}
    assert not Journal.read(journal).pending()
    assert _said(err, len(unsent)) == len(ours) - len(unsent)
    # Someone takes one of those members off their card; the next undo finds them gone.
    gone = unsent[0]
    sb.world.remove_member_from_card(gone.card_id, gone.member_id, scenario.mover.id)
    again = CliRunner().invoke(main, ["undo", str(journal), "--yes", "--format", "json"])
    assert again.exit_code == 0, again.output
    outcomes = {o["change_id"]: o["status"] for o in json.loads(again.stdout)["changes"]}
    assert outcomes[gone.change_id] == "not_on_card"
    assert {outcomes[r.change_id] for r in unsent[1:]} <= {"undone"}
    assert undo_count(Journal.read(journal).records, False) == 0  # card members: all settled


def test_an_undo_stopped_unsent_is_undoable_not_resumed() -> None:
    """The journal's reading of an undo's removal Ctrl-C stopped before it was sent
    (``not_applied``): still to undo, and not as resumed (a member found gone is then someone
    else's doing); one that may have gone through (``failed``, uncertain) stays resumed."""

    def rec(cid: str, op: Op, status: Status, *, uncertain: bool = False) -> JournalRecord:
        return JournalRecord(
            cid, op, "add_member_to_card", status, "b", "m", "k", uncertain=uncertain
        )

    records = [
        rec("a", "apply", "pending"),
        rec("a", "apply", "applied"),
        rec("b", "apply", "applied"),
        rec("a", "undo", "pending"),
        rec("a", "undo", "not_applied"),
        rec("b", "undo", "pending"),
        rec("b", "undo", "failed", uncertain=True),
    ]
    left = {u.record.change_id: u.resumed for u in undoable(records)}
    assert left == {"a": False, "b": True}


@pytest.mark.parametrize("dry_run", [False, True])
def test_undo_interrupted_says_what_apply_says(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, dry_run: bool
) -> None:
    """Ctrl-C during an undo: the line apply says (here, before any write: ``Interrupted before
    this run sent any change …``) with the command that finishes it (it said
    ``… of M changes; what was undone is recorded …``), and a dry run's ``nothing was
    changed`` (it said what was undone is recorded); exit 130."""
    header = JournalHeader("d" * 64, "http://trello.test/1", "m", "2026-11-26T00:00:00Z")
    with Journal.open(tmp_path / "journal.jsonl", header) as journal:
        journal.append(JournalRecord("c", "apply", "add_member_to_card", "applied", "b", "m", "k"))
    for name, value in trello_env("http://trello.test/1", "k" * 32, "t" * 64).items():
        monkeypatch.setenv(name, value)

    def ctrl_c(*args: object, **kwargs: object) -> None:
        raise KeyboardInterrupt

    monkeypatch.setattr("trello_restore.run.run_undo", ctrl_c)
    args = ["undo", str(journal.path), "--yes", *(["--dry-run"] if dry_run else [])]
    r = CliRunner().invoke(main, args)
    assert r.exit_code == 130, r.output
    assert "Traceback" not in r.output
    if dry_run:
        assert r.stderr == "Interrupted: nothing was changed.\n"
    else:
        # Stopped before it sent anything: said so, with the journal and how to finish (R30b).
        assert r.stderr.startswith(
            f"Interrupted before this run sent any change: nothing was changed by it; the "
            f"journal {journal.path} holds what earlier runs did. Run trello-restore undo "
            f"{journal.path} --yes again to finish."
        ), r.stderr


@pytest.mark.parametrize("command", ["apply", "undo", "one_step"])
def test_the_interrupted_line_says_what_was_stopped_unsent_and_done_earlier(
    sandbox_factory: SandboxFactory,
    scenario: Scenario,
    monkeypatch: pytest.MonkeyPatch,
    tmp_path: Path,
    command: str,
) -> None:
    """Ctrl-C's line counts apart the writes it stopped before they were sent (journaled
    ``not_applied``, ``UNSENT``), and says how many of the outcomes a resumed apply found done
    before this run (``skipped_done``): apply, undo and the one-step run alike (R23c: ``25 of
    133 outcomes`` said nothing of the 8 writes stopped unsent). The run: a resumed change,
    two applied, three stopped unsent (one for undo), then Ctrl-C."""
    sb = sandbox_factory(scenario)
    _, plan, journal = _planned(sb, scenario, tmp_path, monkeypatch)
    change = Change("c", "add_member_to_card", "b", "B", MemberRef("m"), card_id="k")
    earlier = 1 if command == "apply" else 0
    unsent = 1 if command == "undo" else 3

    def run(progress: Callable[[ChangeOutcome], None]) -> None:
        for status, n, why in [
            (SKIPPED_DONE, earlier, ""),
            ("undone" if command == "undo" else "applied", 2, ""),
            ("not_applied", unsent, UNSENT),
        ]:
            for _ in range(n):
                progress(outcome_of(change, status, None, why))
        raise KeyboardInterrupt

    def run_one(request: object, ui: OneShotUi) -> None:
        journal.touch()
        progress = ui.applying(9, journal)
        assert progress is not None
        run(progress)

    if command == "undo":  # the apply it undoes, for real
        applied = CliRunner().invoke(main, ["apply", str(plan), "--journal", str(journal)])
        assert applied.exit_code == 0, applied.output
    monkeypatch.setattr("trello_restore.run.run_apply", lambda req, progress: run(progress))
    monkeypatch.setattr("trello_restore.run.run_undo", lambda req, progress: run(progress))
    monkeypatch.setattr("trello_restore.oneshot.run_once", run_one)
    if command == "one_step":
        args = [*_restore_args(scenario), "--journal", str(journal), "--yes", "-q"]
    elif command == "apply":
        journal.touch()  # what the first outcome of the resumed run journaled
        args = ["apply", str(plan), "--journal", str(journal)]
    else:
        args = ["undo", str(journal), "--yes"]
    r = CliRunner().invoke(main, args)
    assert r.exit_code == 130, r.output
    assert "Traceback" not in r.output
    (line,) = [x for x in r.stderr.splitlines() if x.startswith("Interrupted after ")]
    parts = [f"{earlier} of them done before this run"] if earlier else []
    head = f"Interrupted after {2 + earlier} of "
    tail = f" outcomes ({'; '.join([*parts, _unsent_words(unsent)])}); every change made is "
    assert line.startswith(head), line
    assert tail + f"recorded in the journal {journal}. " in line, line
