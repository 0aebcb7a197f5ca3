"""Logging of a command: stderr by verbosity, an optional rotating log file, secrets redacted.

The command line calls ``setup_logging`` as soon as it starts (so an error is logged for the log
file too and never reaches Python's last-resort handler) and again once the settings, the log
file and the secrets to redact are known; ``end_of_command`` hands the package logger back as it
was. The log file handler is found on the package logger itself, so no state lives here.
"""

from __future__ import annotations

import contextlib
import fcntl
import logging
import logging.handlers
import os
import stat
import sys
import time
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from trello_restore.errors import UsageError
from trello_restore.fsutil import private_dirs, sudo_advice
from trello_restore.masking import Mask

logger = logging.getLogger("trello_restore")
# Until the command line sets up its handlers, the package's records go nowhere: Python's
# last-resort handler would print them on stderr as a second line (a Ctrl-C before the
# settings were read printed the log file's "exit 130: …" under its "Interrupted" line).
# Here, not in the package's __init__: ``import logging`` there lengthened the first moments
# in which a Ctrl-C is still Python's traceback (R37e).
_NOWHERE = logging.NullHandler()
logger.addHandler(_NOWHERE)

#: ``--log-file``: rotate at 1 MB, keep 3 old files.
LOG_MAX_BYTES = 1_000_000
LOG_BACKUPS = 3
#: ``extra=`` of a record that goes only to the log file (stderr already says it).
FILE_ONLY = {"file_only": True}


def started_in() -> str:
    """Where the run started, for its first line in the log file: the paths it logs as they
    were typed (a plan file, a journal, the command to run again) are relative to it (R72c:
    cron starts in $HOME, a user anywhere). Shown as a name is (``words.shown_name``)."""
    from trello_restore.words import shown_name

    try:
        return shown_name(str(Path.cwd()))
    except OSError:  # removed under the shell that started the run
        return "a directory since removed"


class Redact(logging.Filter):
    """Replace the key and token in every record, its traceback included (they are never
    logged on purpose; an internal error's traceback may hold them). Each also without the
    white space around it, as a header or a ``repr`` shows it."""

    def __init__(self, secrets: Iterable[str]) -> None:
        super().__init__()
        self.mask = Mask(secrets)

    def redact(self, text: str) -> str:
        """``text`` as ``masking.Mask.redact`` leaves it."""
        return self.mask.redact(text)

    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        if self.mask.holds(message):
            record.msg, record.args = self.mask.redact(message), ()
        if record.exc_info and not record.exc_text:
            # Formatted here, redacted, and kept where the formatter looks first.
            record.exc_text = self.redact(logging.Formatter().formatException(record.exc_info))
        if record.stack_info:
            record.stack_info = self.redact(record.stack_info)
        return True


class NotFileOnly(logging.Filter):
    """Keeps ``extra=FILE_ONLY`` records (what stderr already says) off stderr."""

    def filter(self, record: logging.LogRecord) -> bool:
        return not getattr(record, "file_only", False)


class StderrFormat(logging.Formatter):
    """What a user reads on stderr: ``Warning: …`` like the command's own warnings, ``Error: …``
    like its errors, ``-v``'s notes as they are; ``-vv``'s debug lines with where they come
    from. (The log file keeps times, levels and module names.)"""

    def format(self, record: logging.LogRecord) -> str:
        message = super().format(record)
        if record.levelno >= logging.ERROR:
            return f"Error: {message}"
        if record.levelno >= logging.WARNING:
            return f"Warning: {message}"
        if record.levelno >= logging.INFO:
            return message
        return f"DEBUG {record.name}: {message}"


class LogFileHandler(logging.handlers.RotatingFileHandler):
    """A rotating log file with mode 0600 (it names boards and members): created so, and an
    existing one readable by others made so when opened (the README promises 0600). A write
    that fails (a full disk) is one warning on stderr, and the file is written no more this
    run: never logging's traceback for each record, and the run's own exit code."""

    failed = False

    def emit(self, record: logging.LogRecord) -> None:
        if not self.failed:
            super().emit(record)

    def shouldRollover(self, record: logging.LogRecord) -> int:
        # Looked at only once the file is full (every record asks): then never a link
        # (``--log-file /dev/stderr`` with stderr a file over the limit): the rotation renames
        # the link itself (R36e: /dev/stderr was moved to /dev/stderr.1).
        # Nor another user's file: root renamed it and left a 0600 file of its own (R36f).
        # Nor in a directory this user cannot write in: its renames fail, and the file was
        # written no more (R72c, a log in a root-owned /var/log directory).
        if not super().shouldRollover(record):
            return False
        path = Path(self.baseFilename)
        with contextlib.suppress(OSError):
            if path.is_symlink() or path.stat().st_uid != os.geteuid():
                return False
            if not os.access(path.parent, os.W_OK | os.X_OK):
                return False
        return self._still_there()

    def _still_there(self) -> bool:
        """Whether the file at the path is the one this run writes; if another run (a cron
        job of another board, started the same minute) rotated it away, this one goes on in
        the new file instead of rotating that too (R72c: four runs over the limit rotated four
        times, and the three old files, months of history, were gone)."""
        if self.stream is None:
            return True
        try:
            mine = os.fstat(self.stream.fileno())
            there = Path(self.baseFilename).stat()
        except FileNotFoundError:  # renamed, the new one not made yet: not ours to rotate
            pass
        except (OSError, ValueError):
            return True
        else:
            if (mine.st_dev, mine.st_ino) == (there.st_dev, there.st_ino):
                return True
        with contextlib.suppress(OSError, ValueError):
            self.stream.close()
        self.stream = self._open()
        return False

    def doRollover(self) -> None:
        # Under a lock on the file at the path, held on a descriptor of its own (the rotation
        # closes the stream) until the new file is open: of runs over the limit at once, one
        # rotates, and the others, let in after it, find their file moved away (R74a: checked
        # and rotated without a lock, two runs at once still rotated twice, one time in 15).
        try:
            guard: int | None = os.open(self.baseFilename, os.O_RDONLY | os.O_CREAT, 0o600)
        except OSError:
            guard = None
        try:
            if guard is not None:
                with contextlib.suppress(OSError):
                    fcntl.flock(guard, fcntl.LOCK_EX)
            if not self._still_there():  # rotated by another run since this one looked
                return
            try:
                super().doRollover()
            except OSError:  # a rename refused after all: go on in the file as it is
                if self.stream is None:
                    self.stream = self._open()
        finally:
            if guard is not None:
                os.close(guard)

    def handleError(self, record: logging.LogRecord) -> None:
        self._fail(sys.exc_info()[1])

    def _fail(self, exc: BaseException | None) -> None:
        if self.failed:
            return
        self.failed = True
        why = (exc.strerror if isinstance(exc, OSError) else None) or type(exc).__name__
        text = f"cannot write the log file {self.baseFilename} ({why}); nothing more is logged "
        text += "there this run"
        _SAID.lines.append(text)  # not through the logger, which would try the file again
        with contextlib.suppress(OSError, ValueError):
            sys.stderr.write(f"Warning: {text}\n")

    def flush(self) -> None:
        try:
            super().flush()
        except (OSError, ValueError) as exc:
            self._fail(exc)

    def close(self) -> None:
        with contextlib.suppress(OSError, ValueError):
            super().close()

    def _open(self) -> Any:
        fd = os.open(self.baseFilename, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600)
        found = os.fstat(fd)
        # A file only: a device (``--log-file /dev/null``, ``/dev/full``) is the system's, and
        # was made 0600 as root (R36a), closing it to every other user. And our own: another
        # user's file that we may append to is theirs to keep as it is (root may chmod it:
        # R36e, a cron job's ``2>>`` file, through ``--log-file /dev/stderr``).
        if stat.S_ISREG(found.st_mode) and found.st_mode & 0o077 and found.st_uid == os.geteuid():
            with contextlib.suppress(PermissionError):
                os.fchmod(fd, 0o600)
        # A record an earlier run could not finish (a full disk: R44a) ends its line here, so
        # that this run's first record is one of its own.
        if stat.S_ISREG(found.st_mode) and found.st_size:
            with contextlib.suppress(OSError), Path(self.baseFilename).open("rb") as old:
                old.seek(-1, os.SEEK_END)
                if old.read(1) != b"\n":
                    os.write(fd, b"\n")
        return os.fdopen(fd, "a", encoding=self.encoding, errors=self.errors)


class _Said(logging.Handler):
    """Every warning the command gives, on stderr or (said there already) for the log file
    alone, redacted, once each, in order: what the JSON summaries' ``warnings`` hold
    (``warnings_said``), so that a cron job's JSON lines keep what its mail said."""

    def __init__(self) -> None:
        super().__init__(logging.WARNING)
        self.lines: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        if record.levelno == logging.WARNING:  # an error is the command's own line
            text = record.getMessage()
            if text not in self.lines:
                self.lines.append(text)


_SAID = _Said()


def warnings_said() -> list[str]:
    """The warnings this command has given so far (``_Said``)."""
    return list(_SAID.lines)


def setup_logging(
    verbose: int, quiet: bool, log_file: Path | None = None, secrets: Iterable[str] = ()
) -> None:
    """stderr: warnings and errors by default and with ``-q`` (which quiets the command's own
    output, not what went wrong: a cron job mails its stderr), ``-v`` info, ``-vv`` debug.
    With a log file also: info there (debug with ``-vv``), with times, rotated at
    ``LOG_MAX_BYTES``. The log file already open for the same path is kept (a subcommand sets
    up again)."""
    level = (
        logging.WARNING
        if quiet
        else [logging.WARNING, logging.INFO, logging.DEBUG][min(verbose, 2)]
    )
    redact = Redact(secrets)
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(StderrFormat("%(message)s"))
    handler.setLevel(level)
    handler.addFilter(NotFileOnly())
    handler.addFilter(redact)
    handlers: list[logging.Handler] = [handler]
    current = _log_file()
    if current is not None and (
        log_file is None or current.baseFilename != os.path.abspath(log_file)  # noqa: PTH100 - as the handler
    ):
        close_log_file()
        current = None
    if log_file is not None:
        if current is None:
            current = _open_log_file(log_file)
        current.setLevel(logging.DEBUG if verbose >= 2 else logging.INFO)
        current.filters[:] = [redact]
        handlers.append(current)
    _SAID.filters[:] = [redact]
    handlers.append(_SAID)
    logger.handlers[:] = handlers
    logger.setLevel(min(h.level for h in handlers))
    logger.propagate = False


def redacted(text: str) -> str:
    """``text`` as the log's redaction leaves it (``Redact`` of the stderr handler: the key and
    token known so far), for a line said on stderr without the logger (``cli_exit.fail``)."""
    for handler in logger.handlers:
        for f in handler.filters:
            if isinstance(f, Redact):
                return f.redact(text)
    return text


def _log_file() -> LogFileHandler | None:
    """The log file handler the package logger holds, if any."""
    return next((h for h in logger.handlers if isinstance(h, LogFileHandler)), None)


def _open_log_file(path: Path) -> LogFileHandler:
    try:
        private_dirs(path.parent)
        handler = LogFileHandler(
            path,
            maxBytes=LOG_MAX_BYTES,
            backupCount=LOG_BACKUPS,
            encoding="utf-8",
            errors="backslashreplace",  # a name from a command line no locale decoded (R44a)
        )
    except OSError as exc:
        why = (
            "a folder on that path is a file"
            if isinstance(exc, (FileExistsError, NotADirectoryError))
            else exc.strerror or str(exc)
        )
        fix = sudo_advice(path, path) or (
            "check --log-file / [paths] log_file and the directory's permissions"
        )
        raise UsageError(f"cannot open the log file {path} ({why}); {fix}") from None
    handler.setFormatter(_utc_formatter())
    return handler


class _RecordPerLine(logging.Formatter):
    """Each record's further lines (a traceback at ``-vv``, a line break no message should
    hold) indented: every line that starts with a time is a record of its own, and nothing in
    a message can pass for one (R37c: a list name's newline made a fake ``INFO`` line)."""

    def format(self, record: logging.LogRecord) -> str:
        return super().format(record).replace("\n", "\n    ")


def _utc_formatter() -> logging.Formatter:
    """Lines stamped in UTC to the millisecond, ``2026-12-03T20:27:33.571Z`` (R35c: local time
    without a zone repeated an hour at the autumn clock change, and matched no time the tool
    says, all of which are UTC)."""
    formatter = _RecordPerLine("%(asctime)s %(process)d %(levelname)s %(name)s: %(message)s")
    formatter.converter = time.gmtime
    formatter.default_time_format = "%Y-%m-%dT%H:%M:%S"
    formatter.default_msec_format = "%s.%03dZ"
    return formatter


def close_log_file() -> None:
    """Close the log file, if one is open."""
    current = _log_file()
    if current is not None:
        logger.removeHandler(current)
        current.close()


def end_of_command() -> None:
    """Close the log file and hand the package logger back as it was: a process that runs
    commands in turn (tests, an embedding program) must not keep this command's handlers or
    lose propagation."""
    close_log_file()
    _SAID.lines.clear()
    logger.handlers[:] = [_NOWHERE]
    logger.setLevel(logging.NOTSET)
    logger.propagate = True
