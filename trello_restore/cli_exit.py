"""How a command that a Ctrl-C, SIGTERM or SIGHUP stopped ends: its exit code, or the signal itself
(``cli.exit_with``, ``cli.confirm`` and the apply's and undo's interrupted lines use it)."""

from __future__ import annotations

import contextlib
import errno
import logging
import os
import signal
import sys
from collections.abc import Mapping
from typing import TYPE_CHECKING, NoReturn

import click

from trello_restore import wrote
from trello_restore.errors import ExitCode, OutOfFiles, RestoreError, UsageError
from trello_restore.install_check import BROKEN, broken_by
from trello_restore.logs import FILE_ONLY, end_of_command, redacted, setup_logging
from trello_restore.masking import shaped
from trello_restore.wrote import in_its_journals

if TYPE_CHECKING:
    from pathlib import Path

    from trello_restore.cli_options import OneLineUsageError

__all__ = [
    "exit_denied",
    "exit_interrupted",
    "exit_not_a_bug",
    "exit_output_failed",
    "fail",
    "known_secrets",
    "log_anyway",
    "log_refused",
]

logger = logging.getLogger(__name__)


def exit_interrupted(said: str, echo: str | None = None, *, output_stuck: bool = False) -> NoReturn:
    """End a run that Ctrl-C stopped with exit code 130, once what it did is ``said`` (in the
    log file; ``echo``: on stderr too, after "Interrupted" or "Stopped by SIGTERM"). One that
    SIGTERM stopped ends by SIGTERM itself, once its log is closed: a shell's ``$?`` is 143,
    and systemd takes it for the stop it asked for, not for a failure (as an exit code 143
    would be, without ``SuccessExitStatus=143``). ``output_stuck``: stdout may not take what
    is left in its buffer (the signal cut a write to it short), so it is not flushed and the
    process ends at once, as Python's end would flush it, deaf to a signal by then; nor may
    stderr (R36f: both into one pipe no one reads), so ``echo`` is said only if it goes at
    once (``_try_to_say``)."""
    from trello_restore.interrupts import stopped_by

    sig = stopped_by()
    line = f"{f'Stopped by {sig.name}' if sig else 'Interrupted'}{echo}" if echo else None
    if line is not None and output_stuck:
        _try_to_say(line)
    elif line is not None:
        click.echo(line, err=True)
    if sig is None and not output_stuck:
        logger.warning("exit 130: %s", said, extra=FILE_ONLY)
        sys.exit(130)
    # The exit code, as every end of a command logs it (R72c: a monitor looking for "exit N"
    # missed a stop by systemd).
    ended = f"exit {128 + sig}, stopped by {sig.name}" if sig else "exit 130"
    logger.warning("%s: %s", ended, said, extra=FILE_ONLY)
    end_of_command()
    if not output_stuck:
        sys.stdout.flush()
    with contextlib.suppress(OSError):  # a terminal closed (SIGHUP) may take nothing more
        sys.stderr.flush()
    if sig is None:
        os._exit(130)
    signal.signal(sig, signal.SIG_DFL)
    os.kill(os.getpid(), sig)
    sys.exit(128 + sig)  # only if the signal is blocked


def _try_to_say(line: str) -> None:
    """``line`` on stderr if it takes it now, else not at all: stderr made non-blocking for
    the one write and put back as it was (a terminal is shared with the shell)."""
    with contextlib.suppress(OSError, ValueError):
        sys.stderr.flush()
    try:
        fd = sys.stderr.fileno()
        was = os.get_blocking(fd)
    except (OSError, ValueError, AttributeError):
        return
    try:
        os.set_blocking(fd, False)
        with contextlib.suppress(OSError):
            os.write(fd, (line + "\n").encode(errors="replace"))
    finally:
        with contextlib.suppress(OSError):
            os.set_blocking(fd, was)


def exit_output_failed(exc: OSError, *, wrote: bool, writes: bool = True) -> NoReturn:
    """End a command whose output could not be written (stdout on a full disk, a device that
    fails, a pipe whose reader went away): one line on stderr and exit 2, as the README's table
    has a full disk, never "internal error" (R37d); ``wrote``: the run sent Trello writes,
    which its journal holds (named: the line is often all a cron job leaves). A closed pipe
    (``| head``: the reader took what it wanted) ends a command that writes nothing
    (``writes``: a dry run, ``demo``) quietly, exit 0; one that may write says so as above
    (R37e: a one-step run piped into ``head`` exited 0 with no word, whether it had written
    or, its plan cut short, not). What is left in stdout's buffer is dropped, so that
    Python's end does not try it again (and print its own error)."""
    with contextlib.suppress(OSError, ValueError):
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        os.close(devnull)
    if exc.errno == errno.EPIPE and not writes:
        logger.info("exit 0: the output's reader went away (broken pipe)", extra=FILE_ONLY)
        sys.exit(0)
    why = exc.strerror or type(exc).__name__
    after = in_its_journals() if wrote else "nothing was written to Trello"
    line = f"cannot write the output: {why}; {after}"
    with contextlib.suppress(OSError, ValueError):
        click.echo(f"Error: {line}", err=True)
    logger.error("exit 2: %s", line, extra=FILE_ONLY)
    sys.exit(2)


def fail(
    err: RestoreError,
    *,
    nothing_sent: bool = False,
    earlier: str | None = None,
    written: bool = False,
) -> NoReturn:
    """Print a core error as one line and exit with its code. ``nothing_sent``: the command
    could write and stopped before it sent Trello any write, which the line says unless it
    says so already (a user at 2 a.m. must not have to guess whether the board changed);
    ``earlier``: what earlier runs did and how to go on, said then too; ``written``: it had
    sent writes, and the line says where they are and how to go on (``wrote.written_then``)."""
    message = " ".join(line.strip() for line in str(err).strip().splitlines())  # names keep spaces
    if nothing_sent:
        message = wrote.nothing_changed(message, earlier)
    elif written:
        message = wrote.written_then(message)
    message = redacted(message)  # R41d: a key or token pasted into another setting
    if isinstance(err, UsageError):  # R58a: also one not configured (a key after --since)
        message = shaped(message)
    click.echo(f"Error: {message}", err=True)
    logger.error("exit %d: %s", int(err.exit_code), message, extra=FILE_ONLY)
    sys.exit(int(err.exit_code))


def exit_denied(exc: OSError, writes: bool) -> None:
    """A file that this user may not reach (``PermissionError``), or that this process may not
    open for want of files (``EMFILE``), and that no one mapped to a ``RestoreError``: one line
    and exit 2, not "internal error" (R62b: a directory of mode 000 on its way, where
    ``pathlib``'s ``exists`` raises); ``writes``: the command could write (the line says
    whether it did, and where). Nothing for another error."""
    if exc.errno in OutOfFiles.ERRNOS:  # R66a: a module imported late, ulimit -n 8
        err = UsageError(
            f"cannot open {os.fsdecode(exc.filename)}: this process has too many files open "
            "(raise `ulimit -n`, or lower --workers)"
        )
        fail(err, nothing_sent=writes and wrote.nothing_yet(), written=not wrote.nothing_yet())
    if not isinstance(exc, PermissionError) or not isinstance(exc.filename, str | bytes):
        return
    from pathlib import Path

    from trello_restore.store_notices import unsearchable

    path = Path(os.fsdecode(exc.filename))
    hidden = unsearchable(path)
    why = "may not read or write it"
    if not os.access(hidden, os.X_OK):
        why = f"cannot search {hidden}"
    err = UsageError(
        f"cannot reach {path} ({exc.strerror}): this user {why}; fix the permissions (as the "
        "owner) or use another path"
    )
    fail(err, nothing_sent=writes and wrote.nothing_yet(), written=not wrote.nothing_yet())


def exit_not_a_bug(exc: BaseException) -> None:
    """An error that looks like a bug and is not: this machine's limits (``exit_starved``), or
    a broken install (``exit_broken``). Nothing for another error."""
    exit_starved(exc)
    exit_broken(exc)


def exit_broken(exc: BaseException) -> None:
    """An error in a broken install (R71c: a library missing after ``pip install --no-deps``,
    or an older one a venv sees from the system, said "internal error (a bug … report it)"):
    one line naming the library and saying to reinstall, exit 1; also for a library's own
    library that cannot be imported (R72a). Nothing when every library the tool needs is there
    at a version it requires and the error is no import of another's: then it is a bug."""
    problem = broken_by(exc)
    if problem is None:
        return
    logger.error(BROKEN.format(problem))
    logger.debug("where it happened:", exc_info=exc)
    sys.exit(int(ExitCode.INTERNAL))


def exit_starved(exc: BaseException) -> None:
    """A run that this machine's limits starved (R64b: ``ulimit -v``: ``MemoryError``, or a
    thread that could not start): one line and exit 2, not "internal error (a bug …)"; the
    line says whether anything was written, and where. Nothing for another error."""
    if isinstance(exc, MemoryError):
        what = "not enough memory"
    elif isinstance(exc, RuntimeError) and "can't start new thread" in str(exc):
        what = "a thread could not be started"
    else:
        return
    err = UsageError(
        f"{what} for this run (this machine's limits: `ulimit -v`, `ulimit -u`, or little "
        "free memory); raise them, or lower --workers"
    )
    fail(err, nothing_sent=wrote.nothing_yet(), written=not wrote.nothing_yet())


def log_anyway(
    verbose: int,
    quiet: bool,
    log_flag: str | None,
    config_flag: str | None,
    env: Mapping[str, str],
    secrets: tuple[str, ...],
) -> None:
    """The settings failed to resolve, or the command line to parse: open the log file where
    ``--log-file`` (``log_flag``), the environment ``env`` or the config file (read as plain
    TOML) say it is, so that the error line reaches it (cron's log), and redact the file's key
    and token too (R41d: one pasted into another setting was shown cut short). Best effort: a
    log file that cannot be told or opened is left out."""
    from trello_restore.config import log_file_anyway, secrets_anyway

    config = _config_anyway(config_flag, env)
    path = log_file_anyway(log_flag, env, config)
    secrets = (*secrets, *secrets_anyway(config))
    try:
        setup_logging(verbose, quiet, path, secrets)
    except (RestoreError, OSError, ValueError):  # a NUL in it, …: stderr alone
        setup_logging(verbose, quiet, None, secrets)


def known_secrets(
    env: Mapping[str, str], config_flag: str | None, *, file: bool
) -> tuple[str, ...]:
    """The key and token of the environment ``env``, and with ``file`` those of the config file
    (``--config``'s, or the one the environment names; read as plain TOML, never raising): for
    a command that reads no settings (``demo``, ``sandbox``), whose refusal of its command line
    must blank them all the same (R89b: a sandbox typo showed the file's key whole)."""
    secrets = (env.get("TRELLO_API_KEY", ""), env.get("TRELLO_TOKEN", ""))
    if not file:
        return secrets
    from trello_restore.config import secrets_anyway

    return (*secrets, *secrets_anyway(_config_anyway(config_flag, env)))


def _config_anyway(config_flag: str | None, env: Mapping[str, str]) -> Path | None:
    """The config file the settings would read (``--config``'s, the environment's, the usual
    one), None when that cannot be told: for what is read of it when they cannot be."""
    from trello_restore.config import config_path

    try:
        return config_path(config_flag, env)[0]
    except RestoreError:
        return None


def log_refused(err: OneLineUsageError) -> OneLineUsageError:
    """Click's refusal of the command line, in the log file too (R72c: a crontab typo was on
    stderr alone, its log silent): its line as it is shown, with its exit code, as ``fail``
    logs every other error. Only where a log file is open already (``log_anyway``). The line
    is kept redacted as the log has it (the run's key and token known by now), for stderr."""
    err.logged = redacted(err.line())
    logger.error("exit %d: %s", err.exit_code, err.logged, extra=FILE_ONLY)
    return err
