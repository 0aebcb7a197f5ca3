"""The console script's entry: ``trello-restore`` starts here, and imports the command line
itself, so that a Ctrl-C while Python still imports it (a tenth of a second or more) ends the
command as any Ctrl-C before a run does (``Interrupted: nothing was done.``, exit 130), not
with Python's traceback; and SIGTERM there too ("Stopped by SIGTERM: …", by the signal).
Only the standard library and ``interrupts`` (which imports nothing else) come before that."""

from __future__ import annotations

import contextlib
import errno
import io
import os
import sys
from typing import NoReturn

__all__ = ["run"]


def run() -> None:
    """Import the command line and run it. SIGTERM is Ctrl-C's until a run takes the signals
    over (``interrupts.early``), where nothing else handles it."""
    _streams()
    try:
        import signal

        from trello_restore import interrupts

        for sig in interrupts.ENDING:
            if signal.getsignal(sig) == signal.SIG_DFL:
                signal.signal(sig, interrupts.early)
        from trello_restore.cli import main
    except KeyboardInterrupt:
        _said_early()
    except ImportError as exc:  # a library it needs missing or too old (R71c: the traceback)
        _broken(exc)
    try:
        main()
    except OSError as exc:  # click's own output (--help, --version) that cannot be written
        _output_failed(exc)
    except ImportError as exc:  # outside a run's body (``demo``, ``sandbox``): as above
        _broken(exc)


def _broken(exc: ImportError) -> NoReturn:
    """The command line could not be imported: one line saying which library is missing or of
    a version it does not work with (else what Python said), exit 1."""
    from trello_restore.install_check import BROKEN, broken_by

    said = broken_by(exc) or " ".join(str(exc).split())
    print(f"Error: {BROKEN.format(said)}", file=sys.stderr)
    sys.exit(1)


def _output_failed(exc: OSError) -> NoReturn:
    """``--help``, ``--version`` or the bare command on a full disk, or started without stdout:
    click writes those itself, outside every command's body, and lets the error through (R54d:
    Python's traceback, exit 1 "internal error"). The line every command gives, exit 2. A run's
    own output is said inside its body (``cli._body_said``), which knows what it wrote."""
    from trello_restore import wrote
    from trello_restore.cli_exit import exit_output_failed

    exit_output_failed(exc, wrote=not wrote.nothing_yet(), writes=False)


class _Closed(io.TextIOBase):
    """Standard output the command was started without (``>&-``): Python's ``sys.stdout`` is
    None then, which ``flush`` met as "internal error" after the run was done (R39a). Writing
    to it fails as writing to a closed descriptor does, so the command says it cannot write
    its output (exit 2), as it does on a full disk, before any write to Trello if it had
    something to say first."""

    def writable(self) -> bool:
        return True

    def write(self, s: str) -> int:
        if not s:
            return 0
        raise OSError(errno.EBADF, os.strerror(errno.EBADF))


class _Tolerant(io.TextIOBase):
    """Error output that drops what it cannot write (``2>/dev/full``, a terminal gone): there
    is no one to tell, and a warning that cannot be shown must neither stop a run nor change
    its exit code, nor the error line keep the log file from its record (R44a: exit 1,
    "internal error", where the README's table has 2, 3, 4 or 6)."""

    def __init__(self, inner: io.TextIOBase) -> None:
        self._inner = inner

    def writable(self) -> bool:
        return True

    def write(self, s: str) -> int:
        try:
            return self._inner.write(s)
        except OSError:
            return len(s)

    def flush(self) -> None:
        with contextlib.suppress(OSError, ValueError):
            self._inner.flush()

    def fileno(self) -> int:
        return self._inner.fileno()

    def isatty(self) -> bool:
        return self._inner.isatty()

    @property
    def encoding(self) -> str:  # type: ignore[override]
        return self._inner.encoding

    @property
    def errors(self) -> str | None:  # type: ignore[override]
        return self._inner.errors


def _streams() -> None:
    """Standard input, output and error as the command uses them. A descriptor the command
    was started without is held by ``/dev/null``, so that no file the run opens (its journal)
    takes descriptor 0, 1 or 2 and gets what is meant for them; then input closed reads as
    ``/dev/null`` (no terminal to confirm on: R44a, ``<&-`` was "internal error"), output
    closed is ``_Closed``, and error output closed goes nowhere (there is no one to tell), as
    error output that cannot be written does (``_Tolerant``). Output in an encoding that
    cannot show a character (``PYTHONIOENCODING=latin-1``, the "→" of every plan) shows it
    escaped (``\u2192``) instead of failing the run at its last line (R39a: "internal error"
    after every change was made); error output does that already."""
    for fd, name in ((0, "stdin"), (1, "stdout"), (2, "stderr")):
        try:
            os.fstat(fd)
        except OSError:
            held = os.open(os.devnull, os.O_RDONLY if fd == 0 else os.O_WRONLY)
            if held != fd:  # a lower descriptor was closed too: it holds that one instead
                os.dup2(held, fd)
            if getattr(sys, name) is None:
                mode = "r" if fd == 0 else "w"
                setattr(sys, name, _Closed() if fd == 1 else open(fd, mode, closefd=False))  # noqa: SIM115
    if sys.stderr is not None:
        sys.stderr = _Tolerant(sys.stderr)  # type: ignore[arg-type]
    with contextlib.suppress(AttributeError, ValueError):
        sys.stdout.reconfigure(errors="backslashreplace")  # type: ignore[union-attr]


def _said_early() -> None:
    """A signal while the command line is imported: its line, then 130, or SIGTERM's end."""
    import os
    import signal

    try:
        from trello_restore.interrupts import stopped_by

        sig = stopped_by()
    except BaseException:  # cut short while it was imported: as Ctrl-C
        sig = None
    if sig is None:
        sys.stderr.write("Interrupted: nothing was done.\n")
        raise SystemExit(130) from None
    with contextlib.suppress(OSError):  # a terminal closed (SIGHUP) may take nothing more
        sys.stderr.write(f"Stopped by {sig.name}: nothing was done.\n")
        sys.stderr.flush()
    signal.signal(sig, signal.SIG_DFL)
    os.kill(os.getpid(), sig)
    raise SystemExit(128 + sig)  # only if the signal is blocked
