"""Ctrl-C, SIGTERM and SIGHUP around a command's run (``first_ctrl_c_only``): the first stops
the run once its writes in flight are answered and journaled, the later ones are ignored; one
that comes once the run is over cuts short what the command says of it (``after_run``), and
one that comes while the process ends is ignored (``run_said``). SIGTERM and SIGHUP (a
terminal closed, an ssh session dropped: R47b, which ended an apply at once, leaving a
``pending`` record for each write on the wire) end the process by themselves once the run has
said what it did (``stopped_by``: exit code 143, 129)."""

from __future__ import annotations

import contextlib
import os
import signal
import sys
import threading
from collections.abc import Iterator
from types import FrameType

__all__ = [
    "RunOver",
    "after_run",
    "broken_by_interrupt",
    "check",
    "early",
    "first_ctrl_c_only",
    "interruptible",
    "run_said",
    "stopped_by",
]

#: The signal that stopped this process's run, once one did (``first_ctrl_c_only``).
_stopped_by: int | None = None
#: The signals that stop a run as Ctrl-C does, and then end the process by themselves (SIGHUP
#: where the system has it).
ENDING = tuple(
    signal.Signals(s) for s in (signal.SIGTERM, getattr(signal, "SIGHUP", None)) if s is not None
)
#: Ctrl-C's and the ending signals.
_ALL = (signal.SIGINT, *ENDING)


#: Whether Python swallowed the ``KeyboardInterrupt`` of a run's signal: raised while a
#: ``__del__`` or a weakref callback ran, it is "ignored" (a traceback on stderr, and the run
#: went on: R64c, a SIGTERM mid-apply, exit 0 after every write). ``check`` raises it again.
_swallowed = [False]
#: The ``sys.unraisablehook`` a run's hook stands in for, and passes anything else on to.
_other_hook = [sys.__unraisablehook__]


def check() -> None:
    """Where a run goes on to write: the ``KeyboardInterrupt`` of a signal that Python
    swallowed (``_swallowed``), raised once, so that the run stops as the signal asked."""
    if _swallowed[0]:
        _swallowed[0] = False
        raise KeyboardInterrupt


def _unraisable(args: sys.UnraisableHookArgs) -> None:
    """``sys.unraisablehook`` during a run: a swallowed ``KeyboardInterrupt`` is kept for
    ``check``, without Python's traceback; a signal come with the first, which the first's
    handler has set to be ignored, is ignored without a word (Python says ``Signal 15 ignored
    due to race condition``: R88f, a Ctrl-C and a SIGTERM milliseconds apart showed it as a
    traceback); anything else as Python says it."""
    if args.exc_type is not None and issubclass(args.exc_type, KeyboardInterrupt):
        _swallowed[0] = True
        return
    if args.exc_type is OSError and str(args.exc_value).endswith("ignored due to race condition"):
        return
    _other_hook[0](args)


def stopped_by() -> signal.Signals | None:
    """The signal that stopped the run when it was SIGTERM or SIGHUP (the process ends by it:
    exit code 143 or 129); None for Ctrl-C (130) or none."""
    return next((s for s in ENDING if s == _stopped_by), None)


def early(signum: int, frame: FrameType | None) -> None:
    """SIGTERM from the process's start (``entry.run``) until a run takes the signals over
    (``first_ctrl_c_only``): as Ctrl-C there, ``KeyboardInterrupt``, so that the command ends
    as one stopped before its run, "Stopped by SIGTERM: nothing was done.", by SIGTERM (143),
    not silently (R37e: an early SIGTERM, and ``demo``'s at any time, said nothing)."""
    global _stopped_by
    signal.signal(signum, signal.SIG_IGN)
    _stopped_by = signum
    raise KeyboardInterrupt


def broken_by_interrupt(exc: BaseException | None) -> bool:
    """Whether ``exc`` is Python's threading broken by Ctrl-C: a ``RuntimeError`` (``release
    unlocked lock``) raised while a ``KeyboardInterrupt`` went through a ``Condition.wait``
    (``as_completed``, ``Event.wait``): the signal handler's exception can land between the
    wait's release of its lock and its ``try``, and the ``with`` then releases it again. The
    interrupt is what happened (CI: a Ctrl-C mid-apply ended "internal error … release
    unlocked lock", exit 1, not 130)."""
    return isinstance(exc, RuntimeError) and isinstance(exc.__context__, KeyboardInterrupt)


@contextlib.contextmanager
def first_ctrl_c_only() -> Iterator[None]:
    """Around a command's run: its first Ctrl-C (SIGINT) raises ``KeyboardInterrupt`` as
    Python's own handler does, and every later one is ignored until the process ends (exit
    130), so that none cuts short the wait for the writes in flight (``Runner._wind_down``) or
    the lines said after it: a second press, or the second SIGINT of ``timeout -s INT`` (sent
    to the process, then to its process group). A kill still ends it at once. Only in the main
    thread, with Python's own handler in place (else SIGINT is left as it is).

    A signal once the block has ended without one comes when the run is over: what is left is
    saying what it did (``after_run``) and ending the process. While the command says it, the
    signal cuts that short (``RunOver``: ``cli.exit_with`` says the run had finished, exit
    130, or 143 by SIGTERM): a terminal or pipe that stopped reading must not leave the
    process deaf to all but SIGKILL (R36e). Once all is said (``run_said``), one is ignored
    while the process ends, and the run's own exit code stands (R35e: it was
    "Aborted!", exit 1, or an end by the signal with no word, exit 130, after the log file
    had said "exit 0"). Python's own handlers are not put back: the process ends anyway, and
    they would be in place while it does. ``after_run`` and ``run_said``'s SIG_IGN count as
    Python's own at the next block (a second command in one process, as the tests run them).

    SIGTERM (systemd's stop, a shutdown, ``kill``, ``timeout``), when nothing else handles it,
    does the same: the writes in flight are answered and journaled, and the run says what it
    did, instead of ending at once with a ``pending`` record for each write on the wire, which
    made the next run wait up to 35 s for them; also when SIGINT is ignored (a script's
    background job). Either signal ignores both from then on; a SIGKILL still ends it at once.
    An ignored SIGTERM is left ignored."""
    global _stopped_by
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    # Each only where nothing else handles it: a script's background job (``cmd &``) starts
    # with SIGINT ignored, and SIGTERM must stop it all the same (R28a).
    ours = {
        sig: default
        for sig, default in (
            (signal.SIGINT, signal.default_int_handler),
            *((s, signal.SIG_DFL) for s in ENDING),
        )
        if signal.getsignal(sig) in (default, after_run, early)
        or (signal.getsignal(sig) == signal.SIG_IGN and sig in _said_all)
    }

    def first(signum: int, frame: FrameType | None) -> None:
        global _stopped_by
        for sig in ours:
            signal.signal(sig, signal.SIG_IGN)
        _stopped_by = signum
        raise KeyboardInterrupt

    _stopped_by = None
    _swallowed[0] = False
    hook, sys.unraisablehook = sys.unraisablehook, _unraisable
    _other_hook[0] = hook
    for sig in ours:
        signal.signal(sig, first)
    try:
        yield
    finally:
        sys.unraisablehook = hook
        for sig in ours:
            if signal.getsignal(sig) is first:
                signal.signal(sig, after_run)


class RunOver(KeyboardInterrupt):
    """A Ctrl-C or SIGTERM once a command's run had ended, while it said what it did
    (``after_run``): that is cut short, nothing else."""


def after_run(signum: int, frame: FrameType | None) -> None:
    """A Ctrl-C or SIGTERM once a command's run has ended (``first_ctrl_c_only``), while it
    says what it did: ``RunOver``. A second one ends the process at once, by the signal: the
    first one's line may be stuck too (R36f: stderr a pipe no one reads)."""
    global _stopped_by
    for sig in _ALL:
        if signal.getsignal(sig) is after_run:
            signal.signal(sig, _at_once)
    _stopped_by = signum
    raise RunOver


def _at_once(signum: int, frame: FrameType | None) -> None:
    """The second Ctrl-C or SIGTERM after a run's end (``after_run``): the process ends now,
    by SIGTERM (143) or SIGHUP (129), or with exit code 130."""
    if signum in ENDING:
        signal.signal(signum, signal.SIG_DFL)
        os.kill(os.getpid(), signum)
    os._exit(130)


#: The signals ``run_said`` ignores: Python's own at the next ``first_ctrl_c_only`` (a second
#: command in one process, as the tests run them).
_said_all: set[int] = set()


def run_said() -> None:
    """Once a command has said all it says: a Ctrl-C or SIGTERM from then on, while the
    process ends, is ignored, and the run's exit code stands. Ignored by the system (SIG_IGN),
    not by a Python handler, which Python's end puts back to the default for its last tens of
    milliseconds (R36f: a signal 5-50 ms after the log's "exit 0" ended it by that signal)."""
    for sig in _ALL:
        if signal.getsignal(sig) in (after_run, _at_once, early):
            signal.signal(sig, signal.SIG_IGN)
            _said_all.add(sig)


@contextlib.contextmanager
def interruptible(tick: float = 0.2) -> Iterator[None]:
    """While a question waits for an answer at the terminal (``yes_or_no``, the token's
    prompt): a signal that comes after Python last looked for one and before the read began
    only sets Python's flag, and the read waits on for a key (R82b: a Ctrl-C just after the
    question showed was lost, and CI hung; CPython's ``input()`` and ``getpass`` alike). A
    thread wakes the main thread every ``tick`` seconds (SIGALRM, whose handler does
    nothing), which interrupts the read and has the flag looked at: the Ctrl-C then ends the
    run within a tick, as one a moment later does at once. Nothing where the platform cannot
    send a thread a signal, or off the main thread."""
    main = threading.main_thread()
    if threading.current_thread() is not main or not hasattr(signal, "pthread_kill"):
        yield
        return
    ident = main.ident
    assert ident is not None  # a running thread's
    previous = signal.signal(signal.SIGALRM, _tick)
    done = threading.Event()

    def wake() -> None:
        while not done.wait(tick):
            signal.pthread_kill(ident, signal.SIGALRM)

    ticker = threading.Thread(target=wake, name="trello-restore-question", daemon=True)
    ticker.start()
    try:
        yield
    finally:
        done.set()
        ticker.join()
        # Restored after the last tick was sent: it reached the main thread no later than
        # the join's end, while ``_tick`` still took it.
        signal.signal(signal.SIGALRM, previous if previous is not None else signal.SIG_DFL)


def _tick(signum: int, frame: FrameType | None) -> None:
    """SIGALRM while a question waits (``interruptible``): nothing but the look at the flags."""
