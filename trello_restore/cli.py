"""The command line: parse options, prompt, print, and map errors to exit codes.

``trello-restore --board X --since DATE`` plans (and, without ``--dry-run``, applies after a
confirmation: ``oneshot.run_once``); ``apply PLAN`` and ``undo JOURNAL`` (``cli_apply``) apply a
reviewed plan file and reverse an apply; ``demo`` and ``sandbox`` (``cli_sandbox``) run the
sandbox Trello. The main group imports a subcommand's module only when it runs or shows its
help, so planning, ``apply`` and ``--help`` never import the sandbox. Errors from the core
(``errors.RestoreError``) become one line on stderr and their documented exit code; nothing here
decides what to restore (``run.py`` wires the stages, ``report.py`` words the results,
``logs.py`` sets up logging).

Settings come from ``config.Settings.resolve`` (flags > environment > config file > defaults):
this module parses the options (``None`` when an option is not given), hands them over with the
environment, and passes the resolved directories down; the core reads no environment.
"""

from __future__ import annotations

import contextlib
import importlib
import logging
import os
import sys
from collections.abc import Callable
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING, Any, ClassVar, Literal, NoReturn

import click

from trello_restore import __version__, cli_exit, wrote
from trello_restore.cli_exit import exit_denied, exit_interrupted, exit_output_failed, fail
from trello_restore.cli_options import (
    SETTING_OPTIONS,
    OneLineUsageError,
    asks_help,
    given_option,
    main_options,
    one_line_usage,
    refuse_planning_options,
    yes_or_no,
)
from trello_restore.errors import ApiError, ExitCode, LockHeld, RestoreError, UsageError
from trello_restore.logs import FILE_ONLY, end_of_command, redacted, setup_logging

if TYPE_CHECKING:
    from trello_restore.config import Settings
    from trello_restore.report_outcomes import Progress

EXIT_CODES_HELP = """\b
Exit codes:
  0  success (dry run with --detailed-exitcode: nothing to do)
  1  internal error (a bug: rerun with -vv and report it), or a broken install (reinstall)
  2  usage or bad input (options, dates, boards, config, plan, journal or export files, a full disk)
  3  authentication or permission (credentials, board access; a refused board gets no more writes)
  4  Trello unreachable, or still rate limiting or failing after the retries (run again to resume)
  5  partial failure (some changes failed, drifted or were blocked)
  6  another run holds the same boards or plan locked, or is using the token's budget (nothing done)
  7  dry run with --detailed-exitcode: changes are pending
Ctrl-C ends a run with 130, SIGTERM with 143, SIGHUP with 129, once the writes sent are in
its journal."""

logger = logging.getLogger("trello_restore")

#: Commands that read no settings (a broken config file does not stop them).
_STANDALONE = ("demo", "sandbox")
_HELP_ONLY = "trello_restore.help_only"  # ctx.meta: a subcommand's help only (asks_help)


@dataclass(frozen=True)
class RestoreArgs:
    """The main command's options that are not settings, and the resolved settings (None for
    the commands that need none)."""

    dry_run: bool
    plan_out: str | None
    fmt: Literal["text", "json"]
    lists: tuple[str, ...]
    cards: tuple[str, ...]
    detailed_exitcode: bool
    no_cache: bool
    refresh_history: bool
    verbose: int
    quiet: bool
    yes: bool
    settings: Settings | None


def _stdin_is_terminal() -> bool:
    """Whether a confirmation can be asked (tests replace this)."""
    return sys.stdin.isatty()


def _stderr_is_terminal() -> bool:
    """Whether a live progress line can be drawn (tests replace this)."""
    return sys.stderr.isatty()


def progress(total: int, *, quiet: bool, undo: bool = False) -> Progress:
    """The live progress of ``total`` outcomes: drawn when stderr is a terminal that can
    erase a line (not ``TERM=dumb``: R37d), unless quiet."""
    from trello_restore.report_outcomes import Progress

    drawn = not quiet and _stderr_is_terminal() and os.environ.get("TERM") != "dumb"
    return Progress(total, enabled=drawn, undo=undo, columns=_columns)


def _columns() -> int:
    """The terminal's width, as ``COLUMNS`` or stderr's terminal says; 80 if neither does."""
    with contextlib.suppress(ValueError):
        if (given := int(os.environ.get("COLUMNS", "0"))) > 1:
            return given
    try:
        return max(os.get_terminal_size(sys.stderr.fileno()).columns, 2)
    except (OSError, ValueError, AttributeError):
        return 80


def refuse_without_terminal(what: str) -> None:
    """Refuse a write that needs confirmation when there is no one to ask (cron, pipes)."""
    if not _stdin_is_terminal():
        raise UsageError(
            f"{what} needs a confirmation and there is no terminal to ask on: pass --yes to "
            "go ahead (or --dry-run to see what would change); nothing was changed"
        )


def confirm(question: str) -> bool:
    """Ask on the terminal (default no); end of input counts as no. Ctrl-C ends the command
    as it does anywhere (exit 130, no JSON), saying ``Nothing was changed.`` on stderr."""
    try:
        return yes_or_no(question)
    except click.Abort as abort:
        click.echo("", err=True)
        # click turns both Ctrl-C and end of input into Abort; the one it caught is its context.
        if isinstance(abort.__context__, KeyboardInterrupt):
            click.echo("Nothing was changed.", err=True)
            exit_interrupted("interrupted at the confirmation; nothing was changed")
        return False


def exit_with(
    body: Callable[[], ExitCode],
    *,
    writes: bool = False,
    earlier: Callable[[RestoreError], str | None] | None = None,
) -> NoReturn:
    """Run a command's body: its exit code, or one line and the code of a core error (or of
    an internal one: ``internal_error``). ``writes``: the command may write to Trello (not a
    dry run); its error line then says when nothing was changed (no write was sent), and
    what ``earlier`` says then: what earlier runs did and how to go on (an apply's journal)."""
    from trello_restore.interrupts import RunOver, run_said

    wrote.start()
    try:
        code = _body_said(body, writes, earlier)
    except RunOver:  # the run had ended; what was said after was cut short (R36e, R36f)
        exit_interrupted(
            "as the run ended",
            " as the run ended, while it said so; every change it made is in its journal",
            output_stuck=True,
        )
    finally:  # all said, an error's line too: a Ctrl-C from here on leaves the exit code
        run_said()
    logger.info("exit %d", int(code), extra=FILE_ONLY)
    sys.exit(int(code))


def _body_said(
    body: Callable[[], ExitCode],
    writes: bool,
    earlier: Callable[[RestoreError], str | None] | None,
) -> ExitCode:
    """``exit_with``'s body, its output flushed (while a Ctrl-C can still cut it short), or its
    error said (one line, its exit code)."""
    from trello_restore.interrupts import RunOver, broken_by_interrupt

    try:
        code = body()
        for stream in (sys.stdout, sys.stderr):
            with contextlib.suppress(OSError, ValueError, AttributeError):  # None: closed
                stream.flush()
        return code
    except RestoreError as err:
        # Trello's errors and another run's lock: the ones that leave a user unsure whether
        # this run changed the board (a bad input is refused before any request anyway).
        said = writes and isinstance(err, ApiError | LockHeld) and wrote.nothing_yet()
        late = writes and isinstance(err, ApiError) and not said
        how = earlier(err) if said and earlier else None
        fail(err, nothing_sent=said, earlier=how, written=late)
    except RunOver:
        raise
    except KeyboardInterrupt:  # the log file gets the same
        exit_interrupted("nothing was written to Trello", ": nothing was written to Trello.")
    except (click.ClickException, click.exceptions.Exit, click.Abort):
        raise  # click's own: shown and exited by click
    except OSError as exc:
        if exc.filename is not None:  # a file's error no one mapped to a RestoreError:
            exit_denied(exc, writes)  # this user may not reach it (R62b), or else a bug
            internal_error(exc)
        exit_output_failed(exc, wrote=not wrote.nothing_yet(), writes=writes)  # a full disk
    except Exception as exc:  # a bug: one line, never Python's traceback
        if broken_by_interrupt(exc):  # Ctrl-C, through a thread lock it broke
            exit_interrupted("nothing was written to Trello", ": nothing was written to Trello.")
        internal_error(exc)


def internal_error(exc: Exception) -> NoReturn:
    """A bug: one line on stderr and in the log file (``Error: internal error …``, what Python
    said, the key and token redacted), with ``-vv`` the traceback too (redacted: ``Redact``),
    exit 1. Never Python's own traceback, which printed request headers, credentials and all."""
    cli_exit.exit_not_a_bug(exc)  # this machine's limits (R64b), a broken install (R71c)
    said = " ".join(f"{type(exc).__name__}: {exc}".split())
    logger.error(
        "internal error (a bug: rerun with -vv, without -q, and report it, with the log file if "
        "any): %s",
        said,
    )
    logger.debug("where it happened:", exc_info=exc)
    sys.exit(int(ExitCode.INTERNAL))


def parent_args(ctx: click.Context) -> tuple[RestoreArgs, Settings]:
    """A subcommand's view of the main command: its options and the resolved settings."""
    args = ctx.find_object(RestoreArgs)
    if args is None or args.settings is None:  # pragma: no cover - main always sets them
        raise RuntimeError("the main command did not run")
    return args, args.settings


def setup_sub_logging(settings: Settings, verbose: int, quiet: bool) -> None:
    """A subcommand's logging: its own -v / -q, the settings' log file and secrets."""
    setup_logging(verbose, quiet, settings.log_file, (settings.api_key, settings.token))


def _interrupted_early() -> NoReturn:
    """A Ctrl-C before a run began (the options, a command's imports, the settings: up to
    0.8 s for ``demo``): as any Ctrl-C, not click's "Aborted!", exit 1 (R36f)."""
    exit_interrupted("before the command began; nothing was done", ": nothing was done.")


class _Main(click.Group):
    """The main command: a group whose subcommands are imported when one runs or shows its
    help. ``--help`` lists them by the first paragraph of their help, written here
    (``tests/test_cli_thin.py`` checks it against the commands'). Click's usage errors, its
    own and its subcommands', are one line (``cli_options.OneLineUsageError``)."""

    def make_context(
        self,
        info_name: str | None,
        args: list[str],
        parent: click.Context | None = None,
        **extra: Any,
    ) -> click.Context:
        given = list(args)  # parsing takes them from ``args``
        try:
            return super().make_context(info_name, args, parent, **extra)
        except click.UsageError as err:
            named = given_option(given, "--log-file"), given_option(given, "--config")
            raise _logged(one_line_usage(err), *named) from None
        except KeyboardInterrupt:
            _interrupted_early()

    def resolve_command(self, ctx: click.Context, args: list[str]) -> Any:
        name, command, rest = super().resolve_command(ctx, args)  # before the body runs
        ctx.meta[_HELP_ONLY] = name not in _STANDALONE and command and asks_help(command, rest)
        return name, command, rest

    def invoke(self, ctx: click.Context) -> Any:
        try:
            return super().invoke(ctx)
        except click.UsageError as err:  # a subcommand's (their parsing runs in here)
            if ctx.obj is None or ctx.meta.get(_HELP_ONLY):  # no log open: ``aply`` (R76a)
                named = ctx.params.get("log_file"), ctx.params.get("config_file")
                raise _logged(one_line_usage(err), *named) from None
            raise cli_exit.log_refused(one_line_usage(err)) from None  # its log file is open
        except KeyboardInterrupt:
            _interrupted_early()

    #: name -> module, attribute, and the first paragraph of the command's help.
    SUBCOMMANDS: ClassVar[dict[str, tuple[str, str, str]]] = {
        "apply": (
            "trello_restore.cli_restore",
            "apply_command",
            "Apply a reviewed plan file exactly as written (made with --dry-run --plan-out).",
        ),
        "demo": (
            "trello_restore.cli_sandbox",
            "demo",
            "The whole cycle against a built-in sandbox Trello: no account, no network.",
        ),
        "sandbox": (
            "trello_restore.cli_sandbox",
            "sandbox",
            "A local stand-in for the Trello API, for rehearsals, tests and benchmarks.",
        ),
        "undo": (
            "trello_restore.cli_restore",
            "undo",
            "Reverse an apply: remove the card members that the journal says this tool added "
            "(board memberships only with --include-board-memberships) and set back the values "
            "it restored, where each is still as the tool left it. What someone else changed "
            "is left alone.",
        ),
    }

    def list_commands(self, ctx: click.Context) -> list[str]:
        return sorted(self.SUBCOMMANDS)

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        entry = self.SUBCOMMANDS.get(cmd_name)
        if entry is None:
            return None
        command = getattr(importlib.import_module(entry[0]), entry[1])
        assert isinstance(command, click.Command)
        return command

    def format_commands(self, ctx: click.Context, formatter: click.HelpFormatter) -> None:
        """As ``click.Group`` lists commands, without importing them."""
        limit = formatter.width - 6 - max(len(name) for name in self.SUBCOMMANDS)
        rows = [
            (name, click.Command(name, help=entry[2]).get_short_help_str(limit))
            for name, entry in sorted(self.SUBCOMMANDS.items())
        ]
        with formatter.section("Commands"):
            formatter.write_dl(rows)


@click.group(cls=_Main, invoke_without_command=True, epilog=EXIT_CODES_HELP)
@click.version_option(__version__, prog_name="trello-restore")
@main_options
@click.pass_context
def main(ctx: click.Context, /, **options: Any) -> None:
    """Put back the Trello card members removed as a side effect of moving lists or cards
    between boards, from the boards' own action logs; with --restore, also unarchive cards
    and lists, move cards back to their lists, and set overwritten card fields back.

    \b
    trello-restore demo
    trello-restore --board "Team Board" --since 2025-11-02 --dry-run
    trello-restore --board X --since 7d --dry-run --plan-out plan.json
    trello-restore --board X --since 7d --restore all --by someone --dry-run
    trello-restore apply plan.json
    trello-restore --board X --since 7d --yes
    trello-restore --config cron.toml --since last-run --yes --quiet --format json
    trello-restore undo JOURNAL
    trello-restore --from-export board.json --since 2025-11-02 --dry-run

    Without --dry-run the plan is applied after a confirmation (--yes skips it).
    Credentials: TRELLO_API_KEY and TRELLO_TOKEN, the config file, or --token - (stdin).
    Every setting: flags > environment > config file > defaults (see config.example.toml).
    """
    flags = {key: options.pop(key) for key in SETTING_OPTIONS}
    config_flag, token_flag = options.pop("config_file"), options.pop("token")
    standalone = ctx.invoked_subcommand in _STANDALONE or ctx.meta.get(_HELP_ONLY, False)
    ctx.call_on_close(end_of_command)
    # Logging on stderr comes first, before anything that can fail: fail() logs the error for
    # the log file as well, and a record the package logger has no handler for reaches Python's
    # last-resort handler, which prints it on stderr as a second line under the "Error:" one.
    # The environment's credentials redacted from the start: a bug before the settings are
    # read must not show them either (``internal_error``); the file's too for demo and sandbox.
    env_secrets = cli_exit.known_secrets(os.environ, config_flag, file=standalone)
    setup_logging(options["verbose"], options["quiet"], secrets=env_secrets)
    settings: Settings | None = None
    try:
        if ctx.invoked_subcommand is not None:
            refuse_planning_options(ctx, ctx.invoked_subcommand)
        settings = None if standalone else _resolve_settings(flags, config_flag, token_flag)
        args = RestoreArgs(**options, settings=settings)
        if settings is not None:  # now with the log file, and the secrets to redact
            setup_sub_logging(settings, args.verbose, args.quiet)
            _report_settings(settings)
    except RestoreError as err:
        if settings is None and ctx.invoked_subcommand not in _STANDALONE:  # logged all the same
            log = options["verbose"], options["quiet"], flags["log_file"], config_flag
            cli_exit.log_anyway(*log, os.environ, env_secrets)
        fail(err)
    except (click.ClickException, click.exceptions.Exit, click.Abort):
        raise
    except Exception as exc:  # as ``exit_with``
        internal_error(exc)
    ctx.obj = args
    if ctx.invoked_subcommand is not None:
        return
    assert settings is not None
    s = settings
    if not s.boards and not s.exports and s.workspace is None and s.since is None:
        click.echo(ctx.get_help())
        return
    from trello_restore.cli_oneshot import plan_command

    def body() -> ExitCode:
        if args.yes and not args.dry_run:  # unattended: a value kind needs --by (design.md §6)
            from trello_restore.plan_request import refuse_unattended

            refuse_unattended(s.restore, s.by, s.label("restore"))
        return plan_command(args, s)

    exit_with(body, writes=not args.dry_run)


def _resolve_settings(
    flags: dict[str, Any], config_flag: str | None, token_flag: str | None
) -> Settings:
    """Read the config file and ``--token -``, and resolve every setting from the flags, the
    environment and the file."""
    from trello_restore.config import (
        Settings,
        config_path,
        read_token_flag,
        token_file_exposed,
    )
    from trello_restore.config_file import load_config

    exposed = token_file_exposed(token_flag, sys.stdin)
    token = read_token_flag(token_flag, sys.stdin)
    path, explicit = config_path(config_flag, os.environ)
    file = load_config(path, explicit=explicit)
    values: dict[str, Any] = {
        **{k: v for k, v in flags.items() if k != "rate_limit"},
        "token": token,
        "requests_per_window": flags["rate_limit"],
        "boards": flags["boards"] or None,
        "exports": flags["exports"] or None,
        "restore": None if flags["restore"] is None else [flags["restore"]],
    }
    settings = Settings.resolve(values, os.environ, file)
    if exposed is not None:
        settings = replace(settings, warnings=(*settings.warnings, exposed))
    return settings


def _logged(err: OneLineUsageError, log_file: str | None, config: str | None) -> OneLineUsageError:
    """The main command's command line refused: its line in the log file too (R72c), where
    its --log-file, the environment or its --config's file says the log is."""
    secrets = cli_exit.known_secrets(os.environ, config, file=False)
    cli_exit.log_anyway(0, False, log_file, config, os.environ, secrets)
    cli_exit.log_refused(err)
    end_of_command()
    return err


def _report_settings(settings: Settings) -> None:
    """The config file's warnings on stderr (even with -q: they are about secrets), and
    where each setting came from in the debug log (names only, never values of secrets)."""
    for warning in settings.warnings:
        click.echo(f"Warning: {redacted(warning)}", err=True)
        logger.warning("%s", warning, extra=FILE_ONLY)
    logger.debug("config file: %s", settings.config_file or "none")
    for key, source in sorted(settings.sources.items()):
        logger.debug("setting %s from %s", key, source)
