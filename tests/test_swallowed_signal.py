"""R64c: a signal's ``KeyboardInterrupt`` that Python swallows. The run's handler raises it
wherever the main thread is; inside a ``__del__`` (a session, a connection, a file closed by
the garbage collector) or a weakref callback Python "ignores" it: a ``KeyboardInterrupt``
traceback on stderr, and the run went on, every write sent, exit 0 (a SIGTERM from systemd,
seen once in a sweep of stops). Such a one is kept (``sys.unraisablehook``) and raised again
where the run next goes on to write (``interrupts.check``)."""

from __future__ import annotations

import os
import signal
import sys
import threading
from typing import Any

import pytest

from trello_restore import interrupts, run
from trello_restore.interrupts import check, first_ctrl_c_only, stopped_by
from trello_restore.runner import Runner

from .conftest import Sandbox, sandbox_cli
from .test_cli_apply import _restore_args, _writes


class _SignalledWhileCollected:
    """An object whose ``__del__`` is running when ``sig`` arrives: the handler's exception is
    raised inside it, where Python swallows it."""

    def __init__(self, sig: int) -> None:
        self.sig = sig

    def __del__(self) -> None:
        os.kill(os.getpid(), self.sig)
        for _ in range(10**7):  # the handler runs at the next bytecode: here
            pass


def test_a_swallowed_interrupt_is_raised_where_the_run_looks_next(
    capsys: pytest.CaptureFixture[str],
) -> None:
    with first_ctrl_c_only():
        collected = _SignalledWhileCollected(signal.SIGTERM)
        del collected  # its __del__ runs as its last reference goes
        with pytest.raises(KeyboardInterrupt):
            check()
        check()  # once
        assert stopped_by() == signal.SIGTERM
    assert "KeyboardInterrupt" not in capsys.readouterr().err  # not Python's traceback


def test_a_signal_swallowed_mid_apply_stops_the_run(
    sb: Sandbox, scenario: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A Ctrl-C that lands in a finalizer after the third outcome: the run stops (exit
    130, the interrupted line), with writes left unsent; before, it went on to exit 0."""
    invoke = sandbox_cli(sb, monkeypatch)
    real, emitted = Runner.emit, [0]

    def emit(self: Runner, outcome: Any) -> None:  # in the main thread, as outcomes come
        real(self, outcome)
        emitted[0] += 1
        if emitted[0] == 3:
            collected = _SignalledWhileCollected(signal.SIGINT)
            del collected

    monkeypatch.setattr(Runner, "emit", emit)
    r = invoke(*_restore_args(scenario), "--yes", "--workers", "1")
    assert r.exit_code == 130, r.output
    assert "Interrupted " in r.stderr
    assert "KeyboardInterrupt" not in r.output
    truth = scenario.truth("b")
    assert 0 < len(_writes(sb)) < len(truth.changes) + len(truth.grants)
    assert interrupts._swallowed == [False]


@pytest.mark.parametrize("dry", [True, False])
def test_a_signal_swallowed_while_planning_is_neither_shown_nor_asked(
    sb: Sandbox, scenario: Any, monkeypatch: pytest.MonkeyPatch, dry: bool
) -> None:
    """R65a: one swallowed while the plan was made was noticed at the first write only: a dry
    run printed its plan and exited 0, a run on a terminal asked its question (and ignored a
    Ctrl-C there). Now the run stops before it shows the plan: exit 130, nothing written."""
    invoke = sandbox_cli(sb, monkeypatch)
    monkeypatch.setattr("trello_restore.cli._stdin_is_terminal", lambda: True)
    real = run.make_plan

    def make_plan(*args: Any, **kwargs: Any) -> Any:
        result = real(*args, **kwargs)
        collected = _SignalledWhileCollected(signal.SIGINT)
        del collected
        return result

    monkeypatch.setattr(run, "make_plan", make_plan)
    r = invoke(*_restore_args(scenario), *(["--dry-run"] if dry else []), input="y\n")
    assert r.exit_code == 130, r.output
    assert "Will re-add" not in r.stdout
    assert "[y/N]" not in r.stderr
    assert _writes(sb) == []


def test_any_other_unraisable_goes_to_the_hook_that_was_there(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """The run's hook keeps a swallowed ``KeyboardInterrupt`` only: anything else goes on to
    the hook in place before the run (pytest's here), and that one is back after it."""
    seen: list[type[BaseException] | None] = []

    def spy(args: Any) -> None:
        seen.append(args.exc_type)

    monkeypatch.setattr(sys, "unraisablehook", spy)

    class Failing:
        def __del__(self) -> None:
            raise ValueError("in a finalizer")

    with first_ctrl_c_only():
        failing = Failing()
        del failing
    assert seen == [ValueError]
    assert sys.unraisablehook is spy


def _unblocked(sigs: set[signal.Signals], then: int | None = None) -> None:
    """``sigs`` unblocked (and ``then`` sent), and bytecodes run: the handlers run here."""
    signal.pthread_sigmask(signal.SIG_UNBLOCK, sigs)
    if then is not None:
        signal.pthread_kill(threading.get_ident(), then)
    for _ in range(10**6):
        pass


def test_a_second_signal_come_with_the_first_is_ignored_without_a_traceback(
    capsys: pytest.CaptureFixture[str],
) -> None:
    """R88f: a Ctrl-C and a SIGTERM milliseconds apart. The first's handler ignores both from
    then on, while the second is already pending in Python's signal machinery, which then says
    ``OSError: Signal 15 ignored due to race condition`` as a traceback on stderr (through
    ``sys.unraisablehook``): read as a crash, though the run stopped as it should (exit 130).
    It is the second signal, ignored as meant: nothing is said of it."""
    both = {signal.SIGINT, signal.SIGTERM}
    # Python looks at the pending SIGTERM again only at its next signal check (a lock's wait,
    # as in R88f's run, or another signal): a signal of no consequence brings it here.
    nudge = signal.signal(signal.SIGUSR1, lambda *_: None)
    try:
        with first_ctrl_c_only():
            # Sent to this thread, which blocks them: another thread of the process (xdist's)
            # would take a signal sent to the process at once.
            signal.pthread_sigmask(signal.SIG_BLOCK, both)
            signal.pthread_kill(threading.get_ident(), signal.SIGINT)
            signal.pthread_kill(threading.get_ident(), signal.SIGTERM)
            with pytest.raises(KeyboardInterrupt):
                _unblocked(both)  # both at once, SIGINT first
            _unblocked(set(), then=signal.SIGUSR1)  # the second's turn
            assert stopped_by() is None  # Ctrl-C's: exit 130
    finally:
        signal.signal(signal.SIGUSR1, nudge)
    err = capsys.readouterr().err
    assert "race condition" not in err, err
    assert "Traceback" not in err, err
