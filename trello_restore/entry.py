"""The console script's entry: ``trello-restore`` starts here, and imports the command line
itself, so that a Ctrl-C while Python still imports it (a tenth of a second or more) ends the
command as any Ctrl-C before a run does (``Interrupted: nothing was done.``, exit 130), not
with Python's traceback; and SIGTERM there too ("Stopped by SIGTERM: …", by the signal).
Only the standard library and ``interrupts`` (which imports nothing else) come before that."""

from __future__ import annotations

import sys

__all__ = ["run"]


def run() -> None:
    """Import the command line and run it. SIGTERM is Ctrl-C's until a run takes the signals
    over (``interrupts.early``), where nothing else handles it."""
    try:
        import signal

        from trello_restore import interrupts

        if signal.getsignal(signal.SIGTERM) == signal.SIG_DFL:
            signal.signal(signal.SIGTERM, interrupts.early)
        from trello_restore.cli import main
    except KeyboardInterrupt:
        _said_early()
    main()


def _said_early() -> None:
    """A signal while the command line is imported: its line, then 130, or SIGTERM's end."""
    import os
    import signal

    try:
        from trello_restore.interrupts import stopped_by_sigterm

        by_sigterm = stopped_by_sigterm()
    except BaseException:  # cut short while it was imported: as Ctrl-C
        by_sigterm = False
    if not by_sigterm:
        sys.stderr.write("Interrupted: nothing was done.\n")
        raise SystemExit(130) from None
    sys.stderr.write("Stopped by SIGTERM: nothing was done.\n")
    sys.stderr.flush()
    signal.signal(signal.SIGTERM, signal.SIG_DFL)
    os.kill(os.getpid(), signal.SIGTERM)
    raise SystemExit(143)  # only if the signal is blocked
