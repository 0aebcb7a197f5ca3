"""The console script's entry: ``trello-restore`` starts here, and imports the command line
itself, so that a Ctrl-C while Python still imports it (a tenth of a second or more) ends the
command as any Ctrl-C before a run does (``Interrupted: nothing was done.``, exit 130), not
with Python's traceback. Nothing but the standard library is imported before that."""

from __future__ import annotations

import sys

__all__ = ["run"]


def run() -> None:
    """Import the command line and run it."""
    try:
        from trello_restore.cli import main
    except KeyboardInterrupt:
        sys.stderr.write("Interrupted: nothing was done.\n")
        raise SystemExit(130) from None
    main()
