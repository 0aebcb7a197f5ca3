"""R82b: a Ctrl-C that comes just after a question is shown, before its read begins (and
R84a: the token prompt's echo after Ctrl-Z and ``fg``).

CPython runs a signal's Python handler only where it looks for signals, between bytecodes; a
SIGINT that comes after the last look before a blocking ``read`` (``input()`` writes the
question, flushes, then reads in C) only sets the flag, and the read waits for a key. CI hung
so once, 90 s, at the confirmation question. ``interrupts.interruptible`` wakes the main thread
every tick while a question waits, so the flag is looked at and the Ctrl-C ends the run.

The race is made certain here: SIGINT is blocked in the main thread, so another thread takes
it and sets the flag while the main thread's read goes on; nothing else would end that read
but the watchdog's line, seconds later.
"""

from __future__ import annotations

import contextlib
import ctypes
import getpass
import io
import os
import signal
import sys
import termios
import threading
import time
from collections.abc import Callable, Iterator

import click
import pytest

from trello_restore.cli_options import yes_or_no
from trello_restore.config import _echo_off_again, _no_echo, _typed_token
from trello_restore.interrupts import interruptible

WATCHDOG_S = 4.0
pytestmark = pytest.mark.skipif(
    not hasattr(signal, "pthread_sigmask"), reason="needs POSIX thread signal masks"
)


@contextlib.contextmanager
def _ctrl_c_lost_before_the_read(after: float = 0.3) -> Iterator[int]:
    """A pipe's read end, whose writer sends a line only after ``WATCHDOG_S``; a SIGINT sent
    ``after`` seconds in, taken by another thread (blocked in this one), as when it comes
    just before the read begins. Python's default Ctrl-C handler meanwhile."""
    r, w = os.pipe()
    sender = threading.Timer(after, os.kill, (os.getpid(), signal.SIGINT))
    watchdog = threading.Timer(WATCHDOG_S, os.write, (w, b"n\n"))
    old_handler = signal.signal(signal.SIGINT, signal.default_int_handler)
    sender.start()  # made before the mask: SIGINT reaches it
    old_mask = signal.pthread_sigmask(signal.SIG_BLOCK, {signal.SIGINT})
    watchdog.start()
    try:
        yield r
    finally:
        signal.pthread_sigmask(signal.SIG_SETMASK, old_mask)
        sender.cancel()
        watchdog.cancel()
        sender.join()
        watchdog.join()
        os.close(w)
        os.close(r)
        signal.signal(signal.SIGINT, old_handler)


def _ended_within(
    seconds: float,
    catch: type[BaseException] | tuple[type[BaseException], ...],
    read: Callable[[], object],
) -> None:
    start = time.monotonic()
    with pytest.raises(catch):
        read()
    took = time.monotonic() - start
    assert took < seconds, f"the Ctrl-C ended the read after {took:.1f} s"


def test_a_read_within_interruptible_ends_at_a_ctrl_c_it_did_not_see_come() -> None:
    def read() -> None:
        with interruptible(0.05):
            os.read(pipe, 1)

    before = signal.getsignal(signal.SIGALRM)  # pytest-timeout's, maybe
    with _ctrl_c_lost_before_the_read() as pipe:
        _ended_within(WATCHDOG_S / 2, KeyboardInterrupt, read)
    assert signal.getsignal(signal.SIGALRM) == before
    assert [t for t in threading.enumerate() if t.name == "trello-restore-question"] == []


def test_the_confirmation_question_ends_at_such_a_ctrl_c(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    with (
        _ctrl_c_lost_before_the_read() as pipe,
        io.TextIOWrapper(io.FileIO(os.dup(pipe), "r")) as stdin,
    ):
        monkeypatch.setattr(sys, "stdin", stdin)
        # click's prompt turns the KeyboardInterrupt into Abort (exit 130 on the command line)
        _ended_within(WATCHDOG_S / 2, click.Abort, lambda: yes_or_no("Apply these changes?"))


def test_interruptible_is_nothing_off_the_main_thread() -> None:
    seen: list[object] = []

    def other() -> None:
        with interruptible(0.01):
            time.sleep(0.05)
            seen.append(signal.getsignal(signal.SIGALRM))

    before = signal.getsignal(signal.SIGALRM)
    t = threading.Thread(target=other)
    t.start()
    t.join()
    assert seen == [before]


def test_echo_is_turned_off_again_when_a_run_stopped_at_the_token_prompt_goes_on() -> None:
    """R84a: Ctrl-Z at ``--token -``'s prompt, then ``fg``: the shell gave the terminal back
    with echo on, and the token pasted then was shown. At SIGCONT it is turned off again."""
    master, slave = os.openpty()
    try:
        attrs = termios.tcgetattr(slave)
        attrs[3] |= termios.ECHO  # as the shell leaves it
        termios.tcsetattr(slave, termios.TCSANOW, attrs)
        _no_echo(signal.SIGCONT, None, tty=os.ttyname(slave))
        assert not termios.tcgetattr(slave)[3] & termios.ECHO
    finally:
        os.close(master)
        os.close(slave)
    _no_echo(signal.SIGCONT, None, tty="/nonexistent/tty")  # no terminal: nothing


def test_the_token_prompt_takes_sigcont_while_it_waits(monkeypatch: pytest.MonkeyPatch) -> None:
    before = signal.getsignal(signal.SIGCONT)
    during: list[object] = []

    def typed(prompt: str) -> str:
        during.append(signal.getsignal(signal.SIGCONT))
        return " tok \n"

    monkeypatch.setattr(getpass, "getpass", typed)
    assert _typed_token() == "tok"
    assert during == [_no_echo]
    assert signal.getsignal(signal.SIGCONT) == before


def test_a_sigcont_at_the_token_prompt_restarts_what_it_interrupts() -> None:
    """R85a: a run started in the background stops in getpass's first ``tcsetattr``
    (SIGTTOU) until ``fg``; with the handler installed, the SIGCONT of ``fg`` made that call
    fail (EINTR), and getpass gave up echo control ("Password input may be echoed"). A call
    the handler interrupts is restarted: a C ``read`` that takes a SIGCONT goes on."""
    libc = ctypes.CDLL(None, use_errno=True)
    r, w = os.pipe()
    main = threading.main_thread().ident
    assert main is not None
    cont = threading.Timer(0.2, signal.pthread_kill, (main, signal.SIGCONT))
    data = threading.Timer(1.0, os.write, (w, b"x"))
    buf = ctypes.create_string_buffer(1)
    try:
        with _echo_off_again():
            cont.start()
            data.start()
            got = libc.read(r, buf, 1)
        assert got == 1, f"read ended early (errno {ctypes.get_errno()})"
    finally:
        cont.join()
        data.join()
        os.close(r)
        os.close(w)
