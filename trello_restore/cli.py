"""The command line: parse options, call the core, map errors to messages and exit codes.

Only this module talks to the user. ``trello-restore --board X --since DATE`` plans (and, without
``--dry-run``, applies after a confirmation); ``apply PLAN`` applies a reviewed plan file;
``undo JOURNAL`` reverses an apply; ``demo`` runs the whole cycle against the sandbox; ``sandbox``
runs the local Trello emulator. Errors from the core (``errors.RestoreError``) become one line
on stderr and their documented exit code; nothing here decides what to restore (``run.py`` wires
the stages, ``report.py`` words the results).

Settings come from ``config.Settings.resolve`` (flags > environment > config file > defaults):
this module only parses the options (``None`` when an option is not given) and hands them over.
"""

from __future__ import annotations

import contextlib
import json
import logging
import logging.handlers
import os
import signal
import sys
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from types import FrameType
from typing import TYPE_CHECKING, Any, Literal, NoReturn

import click

from trello_restore import __version__
from trello_restore.errors import ExitCode, RestoreError, UsageError
from trello_restore.sandbox.scenario import MAX_CARDS, MIN_CARDS

if TYPE_CHECKING:
    from trello_restore.applier import ApplyReport
    from trello_restore.config import Settings
    from trello_restore.report import Progress
    from trello_restore.run import ApplyRequest, PlanResult

EXIT_CODES_HELP = """\b
Exit codes:
  0  success (dry run with --detailed-exitcode: nothing to do)
  1  internal error (a bug: rerun with -vv and report it)
  2  usage or bad input (options, dates, boards, config, plan, journal or export files)
  3  authentication or permission (credentials, access to a board; a refused write stops the run)
  4  Trello unreachable, or still rate limiting or failing after the retries (run again to resume)
  5  partial failure (some changes failed, drifted or were blocked)
  6  another run holds the lock on the same boards or plan (nothing was done)
  7  dry run with --detailed-exitcode: changes are pending"""

logger = logging.getLogger("trello_restore")


#: The main command's options that are settings (config keys): ``None`` when not given.
_SETTING_OPTIONS = (
    "boards",
    "workspace",
    "exports",
    "since",
    "until",
    "mode",
    "removed_by",
    "cause",
    "only_recorded",
    "add_to_board",
    "board_role",
    "api_url",
    "journal",
    "workers",
    "rate_limit",
    "log_file",
)
#: Commands that read no settings (a broken config file does not stop them).
_STANDALONE = ("demo", "sandbox")
#: ``--log-file``: rotate at 1 MB, keep 3 old files.
LOG_MAX_BYTES = 1_000_000
LOG_BACKUPS = 3


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
    verbose: int
    quiet: bool
    yes: bool
    settings: Settings | None


class _Redact(logging.Filter):
    """Replace the key and token in every record (they are never logged on purpose)."""

    def __init__(self, secrets: Iterable[str]) -> None:
        super().__init__()
        self.secrets = tuple(s for s in secrets if s)

    def filter(self, record: logging.LogRecord) -> bool:
        if self.secrets:
            message = record.getMessage()
            if any(s in message for s in self.secrets):
                for secret in self.secrets:
                    message = message.replace(secret, "[redacted]")
                record.msg, record.args = message, ()
        return True


class _NotFileOnly(logging.Filter):
    """Keeps ``extra={"file_only": True}`` records (what stderr already says) off stderr."""

    def filter(self, record: logging.LogRecord) -> bool:
        return not getattr(record, "file_only", False)


class _LogFileHandler(logging.handlers.RotatingFileHandler):
    """A rotating log file created with mode 0600 (it names boards and members)."""

    def _open(self) -> Any:
        fd = os.open(self.baseFilename, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600)
        return os.fdopen(fd, "a", encoding=self.encoding, errors=self.errors)


_FILE_ONLY = {"file_only": True}
_log_file: _LogFileHandler | None = None


def _setup_logging(
    verbose: int, quiet: bool, log_file: Path | None = None, secrets: Iterable[str] = ()
) -> None:
    """stderr: errors with ``-q``, warnings by default, ``-v`` info, ``-vv`` debug. With a log
    file also: info there (debug with ``-vv``), with times, rotated at ``LOG_MAX_BYTES``."""
    global _log_file
    level = (
        logging.ERROR if quiet else [logging.WARNING, logging.INFO, logging.DEBUG][min(verbose, 2)]
    )
    redact = _Redact(secrets)
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(logging.Formatter("%(levelname)s %(name)s: %(message)s"))
    handler.setLevel(level)
    handler.addFilter(_NotFileOnly())
    handler.addFilter(redact)
    handlers: list[logging.Handler] = [handler]
    if _log_file is not None and (
        log_file is None or _log_file.baseFilename != os.path.abspath(log_file)  # noqa: PTH100 - as the handler
    ):
        _close_log_file()
    if log_file is not None:
        if _log_file is None:
            _log_file = _open_log_file(log_file)
        _log_file.setLevel(logging.DEBUG if verbose >= 2 else logging.INFO)
        _log_file.filters[:] = [redact]
        handlers.append(_log_file)
    logger.handlers[:] = handlers
    logger.setLevel(min(h.level for h in handlers))
    logger.propagate = False


def _open_log_file(path: Path) -> _LogFileHandler:
    try:
        path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
        handler = _LogFileHandler(
            path, maxBytes=LOG_MAX_BYTES, backupCount=LOG_BACKUPS, encoding="utf-8"
        )
    except OSError as exc:
        why = (
            "a folder on that path is a file"
            if isinstance(exc, (FileExistsError, NotADirectoryError))
            else exc.strerror or str(exc)
        )
        raise UsageError(
            f"cannot open the log file {path} ({why}); check --log-file / "
            "[paths] log_file and the directory's permissions"
        ) from None
    handler.setFormatter(
        logging.Formatter("%(asctime)s %(process)d %(levelname)s %(name)s: %(message)s")
    )
    return handler


def _end_of_command() -> None:
    """Close the log file and forget the config file's directories (tests run many commands
    in one process)."""
    from trello_restore.config import use_file_dirs

    _close_log_file()
    use_file_dirs(None, None)
    # Hand the package logger back as it was: a process that runs commands in turn (tests, an
    # embedding program) must not keep this command's handlers or lose propagation.
    logger.handlers.clear()
    logger.setLevel(logging.NOTSET)
    logger.propagate = True


def _close_log_file() -> None:
    global _log_file
    if _log_file is not None:
        if _log_file in logger.handlers:
            logger.removeHandler(_log_file)
        _log_file.close()
        _log_file = None


def fail(err: RestoreError) -> NoReturn:
    """Print a core error as one line and exit with its code."""
    message = " ".join(line.strip() for line in str(err).strip().splitlines())  # names keep spaces
    click.echo(f"Error: {message}", err=True)
    logger.error("exit %d: %s", int(err.exit_code), message, extra=_FILE_ONLY)
    sys.exit(int(err.exit_code))


def _stdin_is_terminal() -> bool:
    """Whether a confirmation can be asked (tests replace this)."""
    return sys.stdin.isatty()


def _stderr_is_terminal() -> bool:
    """Whether a live progress line can be drawn (tests replace this)."""
    return sys.stderr.isatty()


def _refuse_without_terminal(what: str) -> None:
    """Refuse a write that needs confirmation when there is no one to ask (cron, pipes)."""
    if not _stdin_is_terminal():
        raise UsageError(
            f"{what} needs a confirmation and there is no terminal to ask on: pass --yes to "
            "go ahead (or --dry-run to see what would change); nothing was changed"
        )


def _confirm(question: str) -> bool:
    """Ask on the terminal (default no); Ctrl-C or end of input count as no."""
    try:
        return click.confirm(question, default=False, err=True)
    except click.Abort:
        click.echo("", err=True)
        return False


def _exit_with(body: Callable[[], ExitCode]) -> NoReturn:
    """Run a command's body: its exit code, or one line and the code of a core error."""
    try:
        code = body()
    except RestoreError as err:
        fail(err)
    except KeyboardInterrupt:
        click.echo("Interrupted: nothing was written to Trello.", err=True)
        logger.warning("exit 130: interrupted", extra=_FILE_ONLY)
        sys.exit(130)
    logger.info("exit %d", int(code), extra=_FILE_ONLY)
    sys.exit(int(code))


@click.group(invoke_without_command=True, epilog=EXIT_CODES_HELP)
@click.version_option(__version__, prog_name="trello-restore")
@click.option(
    "--config",
    "config_file",
    metavar="PATH",
    help="Config file (TOML; env TRELLO_RESTORE_CONFIG; default: config.toml in the user "
    "config directory). Flags beat environment variables, which beat the file.",
)
@click.option(
    "--board",
    "boards",
    multiple=True,
    metavar="BOARD",
    help="Board id, shortLink, URL (https://trello.com/b/...) or exact name; repeatable.",
)
@click.option(
    "--workspace",
    metavar="ORG",
    help="Every open board of this workspace (id, or the name in its URL), besides --board.",
)
@click.option(
    "--since",
    metavar="WHEN",
    help="Start of the window (inclusive): ISO date or date-time (UTC unless a zone is "
    "given), an age like 36h, 7d, 2w, or last-run (where the last successful run on the "
    "same boards ended).",
)
@click.option(
    "--until", metavar="WHEN", help="End of the window (exclusive); same forms as --since."
)
@click.option("--dry-run", is_flag=True, help="Fetch and plan only; write nothing to Trello.")
@click.option(
    "--plan-out", metavar="FILE", help="Also write the plan as JSON to FILE ('-' for stdout)."
)
@click.option(
    "--format",
    "fmt",
    type=click.Choice(["text", "json"]),
    default="text",
    show_default=True,
    help="How to print the plan on stdout; json without --dry-run: a one-line JSON summary "
    "of the run instead.",
)
@click.option(
    "--mode",
    type=click.Choice(["removed", "ever-added"]),
    help="'removed' (default): recorded removals and silent losses; 'ever-added': everyone "
    "ever added, for cards with no recorded removal.",
)
@click.option(
    "--removed-by",
    metavar="MEMBER",
    help="Only removals performed by this member (id or username).",
)
@click.option(
    "--cause",
    type=click.Choice(["move", "any"]),
    help="'move': only removals that came with a move of the card or its list; "
    "'any' (default): every cause.",
)
@click.option(
    "--only-recorded/--no-only-recorded",
    default=None,
    help="Leave out silent losses (members removed without a logged action).",
)
@click.option(
    "--list",
    "lists",
    multiple=True,
    metavar="LIST",
    help="Only cards now in this list (id or name); repeatable.",
)
@click.option(
    "--card",
    "cards",
    multiple=True,
    metavar="CARD",
    help="Only this card (id or shortLink); repeatable.",
)
@click.option(
    "--add-to-board/--no-add-to-board",
    default=None,
    help="Grant board membership to members who need it (never done otherwise).",
)
@click.option(
    "--board-role",
    type=click.Choice(["normal", "observer"]),
    help="Role for --add-to-board (default normal).",
)
@click.option(
    "--detailed-exitcode",
    is_flag=True,
    help="With --dry-run: exit 7 when changes are pending (blocked ones too), 0 when there "
    "is nothing to do.",
)
@click.option(
    "--from-export",
    "exports",
    multiple=True,
    metavar="FILE",
    help="Plan offline from a Trello board JSON export (repeatable; no network, no credentials).",
)
@click.option(
    "--api-url",
    metavar="URL",
    help="Trello API base URL (env TRELLO_API_URL; default https://api.trello.com/1), "
    "e.g. a sandbox's.",
)
@click.option(
    "--token",
    metavar="-",
    help="'-' reads the token from standard input (one line). A token itself is refused "
    "here: use TRELLO_TOKEN or the config file.",
)
@click.option("--no-cache", is_flag=True, help="Do not use the HTTP cache.")
@click.option(
    "-y",
    "--yes",
    is_flag=True,
    help="Apply without asking (needed when there is no terminal, e.g. from cron).",
)
@click.option(
    "--journal",
    metavar="PATH",
    help="Journal file of the apply (default: one per plan in the state directory).",
)
@click.option(
    "--workers",
    type=click.IntRange(1, 64),
    metavar="N",
    help="Concurrent writers when applying (default 8).",
)
@click.option(
    "--rate-limit",
    type=click.IntRange(1, 1000),
    metavar="N",
    help="Requests per 10 s per token when applying (default 90; Trello allows 100).",
)
@click.option(
    "--log-file",
    metavar="PATH",
    help="Also log to this file (info; debug with -vv), rotated at 1 MB, 3 kept.",
)
@click.option("-v", "--verbose", count=True, help="More logging on stderr (-vv: debug).")
@click.option("-q", "--quiet", is_flag=True, help="Print only the summary (and errors).")
@click.pass_context
def main(ctx: click.Context, /, **options: Any) -> None:
    """Put back the Trello card members removed as a side effect of moving lists or cards
    between boards, from the boards' own action logs.

    \b
    trello-restore demo
    trello-restore --board "Team Board" --since 2025-11-02 --dry-run
    trello-restore --board X --since 7d --dry-run --plan-out plan.json
    trello-restore apply plan.json
    trello-restore --board X --since 7d --yes
    trello-restore --config cron.toml --since last-run --yes --quiet --format json
    trello-restore undo JOURNAL
    trello-restore --from-export board.json --since 2025-11-02 --dry-run

    Without --dry-run the plan is applied after a confirmation (--yes skips it).
    Credentials: TRELLO_API_KEY and TRELLO_TOKEN, the config file, or --token - (stdin).
    Every setting: flags > environment > config file > defaults (see config.example.toml).
    """
    flags = {key: options.pop(key) for key in _SETTING_OPTIONS}
    config_flag, token_flag = options.pop("config_file"), options.pop("token")
    standalone = ctx.invoked_subcommand in _STANDALONE
    ctx.call_on_close(_end_of_command)
    # Logging on stderr comes first, before anything that can fail: fail() logs the error for
    # the log file as well, and a record the package logger has no handler for reaches Python's
    # last-resort handler, which prints it on stderr as a second line under the "Error:" one.
    _setup_logging(options["verbose"], options["quiet"])
    try:
        if ctx.invoked_subcommand is not None:
            _refuse_planning_options(ctx.invoked_subcommand, flags, options)
        settings = None if standalone else _resolve_settings(flags, config_flag, token_flag)
        args = RestoreArgs(**options, settings=settings)
        if settings is not None:  # now with the log file, and the secrets to redact
            _setup_logging(
                args.verbose,
                args.quiet,
                settings.log_file,
                (settings.api_key, settings.token),
            )
            _report_settings(settings)
    except RestoreError as err:
        fail(err)
    ctx.obj = args
    if ctx.invoked_subcommand is not None:
        return
    assert settings is not None
    if (
        not settings.boards
        and not settings.exports
        and settings.workspace is None
        and (settings.since is None)
    ):
        click.echo(ctx.get_help())
        return
    _exit_with(lambda: _plan_command(args, settings))


#: Options that only make sense when planning: refused in front of a subcommand, where they
#: would be silently ignored (``apply`` applies the file as written; undo reads its journal).
_PLANNING_ONLY = (
    "boards",
    "workspace",
    "exports",
    "since",
    "until",
    "mode",
    "removed_by",
    "cause",
    "only_recorded",
    "add_to_board",
    "board_role",
    "plan_out",
    "lists",
    "cards",
    "detailed_exitcode",
)


_FLAG_NAMES = {
    "boards": "--board",
    "exports": "--from-export",
    "lists": "--list",
    "cards": "--card",
    "fmt": "--format",
}


def _refuse_planning_options(command: str, flags: dict[str, Any], options: dict[str, Any]) -> None:
    """Planning options placed before a subcommand would be ignored by it: refuse them."""
    given = [
        name
        for name in _PLANNING_ONLY
        if flags.get(name) not in (None, (), False) or options.get(name) not in (None, (), False)
    ]
    if given:
        names = ", ".join(_FLAG_NAMES.get(n, "--" + n.replace("_", "-")) for n in given)
        raise UsageError(
            f"{names} plan a restore and mean nothing to '{command}'; drop them (options of "
            f"'{command}' go after its name, e.g. trello-restore {command} --dry-run FILE)"
        )


def _resolve_settings(
    flags: dict[str, Any], config_flag: str | None, token_flag: str | None
) -> Settings:
    """Read the config file and ``--token -``, and resolve every setting."""
    from trello_restore.config import (
        Settings,
        config_path,
        load_config,
        read_token_flag,
        use_file_dirs,
    )

    token = read_token_flag(token_flag, sys.stdin)
    path, explicit = config_path(config_flag)
    file = load_config(path, explicit=explicit)
    values: dict[str, Any] = {
        **{k: v for k, v in flags.items() if k != "rate_limit"},
        "token": token,
        "requests_per_window": flags["rate_limit"],
        "boards": flags["boards"] or None,
        "exports": flags["exports"] or None,
    }
    settings = Settings.resolve(values, os.environ, file)
    use_file_dirs(settings.state_dir, settings.cache_dir)
    return settings


def _report_settings(settings: Settings) -> None:
    """The config file's warnings on stderr (even with -q: they are about secrets), and
    where each setting came from in the debug log (names only, never values of secrets)."""
    for warning in settings.warnings:
        click.echo(f"Warning: {warning}", err=True)
        logger.warning("%s", warning, extra=_FILE_ONLY)
    logger.debug("config file: %s", settings.config_file or "none")
    for key, source in sorted(settings.sources.items()):
        logger.debug("setting %s from %s", key, source)


def _plan_command(args: RestoreArgs, s: Settings) -> ExitCode:
    """Plan, print it, optionally export it. A dry run ends there (exit code per
    ``--detailed-exitcode``); otherwise the plan is applied after a confirmation, under the
    run locks of its boards (taken before the history is read), and the last-run state of
    its boards is recorded when everything succeeded."""
    from trello_restore.planfile import plan_to_dict, write_plan
    from trello_restore.report import dry_run_exit_code, render_json, render_text, summary_line
    from trello_restore.run import build_request, make_plan, run_lock

    dry = args.dry_run
    json_summary = not dry and args.fmt == "json"
    if not dry and not args.yes:
        _refuse_without_terminal("applying the plan")
    if json_summary and args.plan_out == "-":
        raise UsageError(
            "--format json without --dry-run prints the run's summary on stdout, so the plan "
            "cannot go there too: write it with --plan-out FILE"
        )
    now = datetime.now(UTC)
    request = build_request(
        boards=s.boards,
        exports=s.exports,
        workspace=s.workspace,
        since=s.since,
        until=s.until,
        now=now,
        mode=s.mode,
        removed_by=s.removed_by,
        cause=s.cause,
        only_recorded=s.only_recorded,
        lists=args.lists,
        cards=args.cards,
        add_to_board=s.add_to_board,
        board_role=s.board_role,
        api_url=s.api_url,
        key=s.api_key,
        token=s.token,
        cache_dir=None if args.no_cache else s.cache_dir,
        read_retries=s.max_retries,
        apply=not dry,
        state_dir=s.state_dir,
        labels={"since": s.label("since"), "until": s.label("until")},
        rate_limit=s.rate_limit,
        key_rate_limit=s.key_rate_limit,
        window_s=s.window_s,
    )
    logger.info(
        "%s on boards %s%s since %s, API %s",
        "dry run" if dry else "run",
        ", ".join(s.boards) or "-",
        f" and workspace {s.workspace}" if s.workspace else "",
        s.since,
        request.api_url,
    )
    with contextlib.ExitStack() as locks:

        def lock(scope: Any) -> None:
            if not dry:  # a dry run writes nothing: it takes no lock
                locks.enter_context(run_lock(s.state_dir, scope.board_ids))
                logger.debug("holding the run locks of %d boards", len(scope.board_ids))

        result = make_plan(request, created_at=now, on_scope=lock)
        for warning in result.warnings:
            click.echo(f"Warning: {warning}", err=True)
        if args.plan_out is not None:
            write_plan(plan_to_dict(result.plan, result.meta), args.plan_out)
        if args.plan_out != "-":
            if args.fmt == "json":
                if not json_summary:
                    click.echo(render_json(result.plan, result.meta), nl=False)
                if not args.quiet:
                    click.echo(summary_line(result.plan, dry_run=dry), err=True)
            elif args.quiet:
                if dry:
                    click.echo(summary_line(result.plan, dry_run=True))
            else:
                click.echo(
                    render_text(result.plan, result.meta, dry_run=dry, verbose=args.verbose > 0),
                    nl=False,
                )
        if args.plan_out not in (None, "-") and not args.quiet:
            click.echo(f"Plan written to {args.plan_out}", err=True)
        logger.info(
            "plan since %s: %s (%d requests)",
            result.plan.options.since.isoformat(),
            summary_line(result.plan, dry_run=dry),
            result.requests_sent,
        )
        if dry:
            return dry_run_exit_code(result.plan, args.detailed_exitcode)
        return _apply_after_planning(args, s, result, now, last_run=request.since_last_run)


def _apply_after_planning(
    args: RestoreArgs, s: Settings, result: PlanResult, started: datetime, *, last_run: bool
) -> ExitCode:
    """The one-shot form: confirm (unless ``--yes``), then apply the plan just made; record the
    boards' last run when everything succeeded; with ``--format json`` print the run's
    summary on stdout."""
    from trello_restore.lastrun import record_last_run, window_end
    from trello_restore.planfile import plan_to_dict
    from trello_restore.run import apply_options, apply_request, plan_changes, run_summary

    doc = plan_to_dict(result.plan, result.meta)
    json_summary = args.fmt == "json"
    n = plan_changes(doc)
    report: ApplyReport | None = None
    journal: Path | None = None
    if n == 0:
        if not (json_summary and args.quiet):
            click.echo("Nothing to apply.", err=json_summary)
        code, outcome = (
            (ExitCode.PARTIAL, "blocked") if doc["blocked"] else (ExitCode.OK, "nothing_to_do")
        )
    elif not args.yes and not _confirm(f"Apply {n} change{'s' if n != 1 else ''} to Trello?"):
        click.echo("Nothing was changed.", err=json_summary)
        code, outcome = ExitCode.OK, "declined"
    else:
        options = apply_options(
            workers=s.workers,
            rate_limit=s.rate_limit,
            key_rate_limit=s.key_rate_limit,
            window_s=s.window_s,
            max_retries=s.max_retries,
        )
        req = apply_request(
            doc,
            api_url=s.api_url,
            options=options,
            state_dir=s.state_dir,
            journal_dir=s.journal_dir,
            journal=s.journal,
            key=s.api_key,
            token=s.token,
            read_retries=s.max_retries,
            resolve_earlier=True,  # a re-run plans afresh: settle a killed run's writes first
        )
        report = _apply(
            req,
            quiet=args.quiet,
            verbose=args.verbose,
            resume="Run the same command again to finish: it plans again from the current state",
            summary_to_stderr=json_summary or args.plan_out == "-",
            print_summary=not (json_summary and args.quiet),
        )
        journal, code = req.journal_path, report.exit_code
        outcome = "applied" if code == ExitCode.OK else "stopped" if report.stopped else "partial"
    recorded: Path | None = None
    if code == ExitCode.OK and outcome != "declined" and result.scope is not None:
        end = window_end(started, result.plan.options.until)
        recorded = record_last_run(s.state_dir, result.scope, end)
        logger.info("last run on these boards recorded in %s (%s)", recorded, end.isoformat())
    if json_summary:
        summary = run_summary(
            result,
            exit_code=code,
            outcome=outcome,
            report=report,
            journal=journal,
            workspace=s.workspace,
            since_source="last-run" if last_run else s.label("since"),
            last_run_file=recorded,
        )
        click.echo(json.dumps(summary))
    return code


def _apply(
    req: ApplyRequest,
    *,
    quiet: bool,
    verbose: int,
    resume: str,
    summary_to_stderr: bool = False,
    print_summary: bool = True,
) -> ApplyReport:
    """Run an apply with progress, then print what needs attention and the summary."""
    from trello_restore.report import change_labels
    from trello_restore.run import run_apply

    dry = req.options.dry_run
    total = len(req.doc["changes"]) + len(req.doc["blocked"])  # one outcome each
    from trello_restore.report import Progress

    progress = Progress(total, enabled=not quiet and _stderr_is_terminal())
    try:
        report = run_apply(req, progress)
    except KeyboardInterrupt:
        progress.clear()
        if dry:
            click.echo("Interrupted: nothing was changed.", err=True)
        else:
            click.echo(
                f"Interrupted after {progress.done} of {total} outcomes; every change made is "
                f"recorded in the journal {req.journal_path}. {resume}.",
                err=True,
            )
        sys.exit(130)
    finally:
        progress.clear()
    if print_summary:
        _print_report(
            report,
            change_labels(req.doc),
            quiet=quiet,
            every=dry or verbose > 0,
            dry_run=dry,
            summary_to_stderr=summary_to_stderr,
        )
    if not quiet and not dry:
        click.echo(f"Journal: {req.journal_path}", err=True)
    _report_stop(report, req.journal_path, resume)
    from trello_restore.report import apply_summary

    logger.info(
        "%s (%d requests, %.1f s); journal %s",
        apply_summary(report, dry_run=dry),
        report.requests_sent,
        report.seconds,
        req.journal_path,
    )
    return report


def _report_stop(report: ApplyReport, journal: Path, resume: str) -> None:
    """When the run stopped early (Trello kept failing): one line on stderr, even with
    ``--quiet``, with why, what was left, the journal and how to resume."""
    if not report.stopped:
        return
    left = report.counts.get("not_attempted", 0)
    message = (
        f"{report.stopped}; stopped writing so as not to hammer it ({left} not attempted, "
        f"journal {journal}). When Trello works again: {resume[:1].lower()}{resume[1:]}."
    )
    click.echo(f"Error: {message}", err=True)
    logger.error("stopped: %s", message, extra=_FILE_ONLY)


def _print_report(
    report: ApplyReport,
    labels: Mapping[str, str],
    *,
    quiet: bool,
    every: bool,
    dry_run: bool,
    undo: bool = False,
    summary_to_stderr: bool = False,
) -> None:
    """Outcomes worth a line (all with ``every``; else drifted, blocked and failed), the
    summary, and on stderr the request count and time."""
    from trello_restore.report import apply_summary, outcome_line

    if not quiet:
        for outcome in report.outcomes:
            if every or outcome.status in ("drifted", "blocked", "failed"):
                click.echo(outcome_line(outcome, labels), err=summary_to_stderr)
    click.echo(apply_summary(report, dry_run=dry_run, undo=undo), err=summary_to_stderr)
    if not quiet:
        limited = f", {report.rate_limited} rate-limited" if report.rate_limited else ""
        click.echo(f"{report.requests_sent} requests in {report.seconds:.1f} s{limited}.", err=True)


def _parent_args(ctx: click.Context) -> tuple[RestoreArgs, Settings]:
    args = ctx.find_object(RestoreArgs)
    if args is None or args.settings is None:  # pragma: no cover - main always sets them
        raise RuntimeError("the main command did not run")
    return args, args.settings


def _setup_sub_logging(settings: Settings, verbose: int, quiet: bool) -> None:
    _setup_logging(verbose, quiet, settings.log_file, (settings.api_key, settings.token))


def _writer_options(of: str) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
    """The options ``apply`` and ``undo`` share: concurrency, rate, API URL, verbosity."""
    options = [
        click.option(
            "--workers",
            type=click.IntRange(1, 64),
            metavar="N",
            help="Concurrent writers (default 8).",
        ),
        click.option(
            "--rate-limit",
            type=click.IntRange(1, 1000),
            metavar="N",
            help="Requests per 10 s per token (default 90; Trello allows 100).",
        ),
        click.option(
            "--api-url",
            metavar="URL",
            help=f"Trello API base URL (env TRELLO_API_URL); must be the {of}'s.",
        ),
        click.option(
            "-v", "--verbose", count=True, help="List every change's outcome; more logging."
        ),
        click.option("-q", "--quiet", is_flag=True, help="Print only the summary (and errors)."),
    ]

    def decorate(command: Callable[..., Any]) -> Callable[..., Any]:
        for option in reversed(options):
            command = option(command)
        return command

    return decorate


@main.command("apply")
@click.argument("plan_file", metavar="PLAN")
@click.option("--dry-run", is_flag=True, help="Read live state and report; write nothing.")
@click.option("--journal", metavar="PATH", help="Journal file (default: the plan's own).")
@click.option("-y", "--yes", is_flag=True, help="Accepted for scripts; apply PLAN never asks.")
@_writer_options("plan")
@click.pass_context
def apply_command(
    ctx: click.Context,
    plan_file: str,
    dry_run: bool,
    journal: str | None,
    workers: int | None,
    rate_limit: int | None,
    yes: bool,
    api_url: str | None,
    verbose: int,
    quiet: bool,
) -> None:
    """Apply a reviewed plan file exactly as written (made with --dry-run --plan-out).

    Never plans again and never asks: the reviewed file is the approval. Each change is
    checked against live state first (already there, or card gone or moved: skipped).
    Outcomes go to a journal; running the same command again resumes where it stopped.
    A plan for another account or API URL, or made offline, is refused before any write.
    """
    parent, s = _parent_args(ctx)
    quiet, verbose = quiet or parent.quiet, verbose + parent.verbose
    dry_run = dry_run or parent.dry_run
    _setup_sub_logging(s, verbose, quiet)

    def body() -> ExitCode:
        from trello_restore.planfile import read_plan
        from trello_restore.run import apply_options, apply_request

        doc = read_plan(plan_file)
        options = apply_options(
            workers=workers or s.workers,
            rate_limit=rate_limit or s.rate_limit,
            key_rate_limit=s.key_rate_limit,
            window_s=s.window_s,
            dry_run=dry_run,
            max_retries=s.max_retries,
        )
        req = apply_request(
            doc,
            api_url=api_url or s.api_url,
            options=options,
            state_dir=s.state_dir,
            journal_dir=s.journal_dir,
            journal=journal or s.journal,
            key=s.api_key,
            token=s.token,
            read_retries=s.max_retries,
        )
        logger.info("apply %s%s, API %s", plan_file, " (dry run)" if dry_run else "", req.api_url)
        return _apply(
            req,
            quiet=quiet,
            verbose=verbose,
            resume=f"Run trello-restore apply {plan_file} again to resume; "
            "changes already made are skipped",
        ).exit_code

    _exit_with(body)


@main.command()
@click.argument("journal_file", metavar="JOURNAL")
@click.option("--dry-run", is_flag=True, help="Report what would be removed; change nothing.")
@click.option("-y", "--yes", is_flag=True, help="Undo without asking (needed without a terminal).")
@click.option(
    "--include-board-memberships",
    is_flag=True,
    help="Also remove the board memberships the apply granted (--add-to-board).",
)
@_writer_options("journal")
@click.pass_context
def undo(
    ctx: click.Context,
    journal_file: str,
    dry_run: bool,
    yes: bool,
    include_board_memberships: bool,
    workers: int | None,
    rate_limit: int | None,
    api_url: str | None,
    verbose: int,
    quiet: bool,
) -> None:
    """Reverse an apply: remove the card members that the journal says this tool added,
    where they are still on the card (board memberships only with
    --include-board-memberships). Members someone else had added are left alone.

    Asks on a terminal; needs --yes otherwise. Journals what it does in the same file.
    """
    parent, s = _parent_args(ctx)
    quiet, verbose = quiet or parent.quiet, verbose + parent.verbose
    dry_run, yes = dry_run or parent.dry_run, yes or parent.yes
    _setup_sub_logging(s, verbose, quiet)

    def body() -> ExitCode:
        from trello_restore.run import UndoRequest, apply_options, load_journal, run_undo, undoable

        journal = load_journal(journal_file)
        if not dry_run and not yes:
            _refuse_without_terminal("undo")
        n = undoable(journal, include_board_memberships)
        if n == 0:
            click.echo("Nothing to undo: the journal records no change this tool made.")
            return ExitCode.OK
        question = f"Undo {n} change{'s' if n != 1 else ''} on Trello?"
        if not dry_run and not yes and not _confirm(question):
            click.echo("Nothing was changed.")
            return ExitCode.OK
        req = UndoRequest(
            journal=journal,
            api_url=(api_url or s.api_url).rstrip("/"),
            options=apply_options(
                workers=workers or s.workers,
                rate_limit=rate_limit or s.rate_limit,
                key_rate_limit=s.key_rate_limit,
                window_s=s.window_s,
                dry_run=dry_run,
                max_retries=s.max_retries,
            ),
            include_board_memberships=include_board_memberships,
            key=s.api_key,
            token=s.token,
            read_retries=s.max_retries,
        )
        logger.info("undo %s%s, API %s", journal_file, " (dry run)" if dry_run else "", req.api_url)
        from trello_restore.report import Progress

        progress = Progress(n, enabled=not quiet and _stderr_is_terminal())
        try:
            report = run_undo(req, progress)
        except KeyboardInterrupt:
            progress.clear()
            click.echo(
                f"Interrupted after {progress.done} of {n} changes; what was undone is recorded "
                f"in {journal.path}. Run the same command again to finish.",
                err=True,
            )
            sys.exit(130)
        finally:
            progress.clear()
        _print_report(
            report, {}, quiet=quiet, every=dry_run or verbose > 0, dry_run=dry_run, undo=True
        )
        if not quiet and not dry_run:
            click.echo(f"Journal: {journal.path}", err=True)
        _report_stop(report, journal.path, "Run the same command again to finish")
        return report.exit_code

    _exit_with(body)


#: Scenario options shared by ``demo``, ``sandbox serve`` and ``sandbox export``.
_CARDS_OPTION = click.option(
    "--cards",
    type=click.IntRange(MIN_CARDS, MAX_CARDS),
    default=200,
    show_default=True,
    help="Number of cards in the generated scenario.",
)
_UNLOGGED_OPTION = click.option(
    "--unlogged-share",
    type=click.FloatRange(0, 1),
    default=0.2,
    show_default=True,
    help="Share of moved cards whose member removals Trello did not log.",
)


@main.command()
@click.option("--seed", type=int, default=1, show_default=True, help="Scenario seed.")
@_CARDS_OPTION
def demo(seed: int, cards: int) -> None:
    """The whole cycle against a built-in sandbox Trello: no account, no network.

    Generates an incident, shows the plan, applies it, checks the boards against the
    scenario's ground truth, undoes it and checks again. Exits 0 when every check passes.
    """
    from trello_restore.demo import run_demo
    from trello_restore.report import Progress

    def progress(total: int) -> Progress:
        return Progress(total, enabled=_stderr_is_terminal())

    _exit_with(lambda: run_demo(seed=seed, cards=cards, echo=click.echo, progress=progress))


@main.group()
def sandbox() -> None:
    """A local stand-in for the Trello API, for rehearsals, tests and benchmarks."""


def _stop(signum: int, frame: FrameType | None) -> None:
    """SIGINT and SIGTERM end ``sandbox serve`` the way Ctrl-C does."""
    raise KeyboardInterrupt


@sandbox.command()
@click.option("--host", default="127.0.0.1", show_default=True, help="Address to listen on.")
@click.option(
    "--port",
    type=click.IntRange(0, 65535),
    default=0,
    show_default=True,
    help="Port to listen on; 0 picks a free one.",
)
@click.option("--seed", type=int, default=1, show_default=True, help="Scenario and fault seed.")
@_CARDS_OPTION
@click.option(
    "--latency-ms",
    type=click.FloatRange(min=0),
    default=0.0,
    show_default=True,
    help="Latency added to every request, in ms of Trello time.",
)
@click.option(
    "--jitter-ms",
    type=click.FloatRange(min=0),
    default=0.0,
    show_default=True,
    help="Random extra latency, uniform up to this many ms.",
)
@click.option(
    "--time-scale",
    type=click.FloatRange(min=0, min_open=True),
    default=1.0,
    show_default=True,
    help="Run Trello time this many times faster (rate windows and latency).",
)
@click.option(
    "--error-rate",
    type=click.FloatRange(0, 1),
    default=0.0,
    show_default=True,
    help="Share of requests answered with a 5xx error.",
)
@click.option(
    "--drop-rate",
    type=click.FloatRange(0, 1),
    default=0.0,
    show_default=True,
    help="Share of requests whose connection is closed without an answer.",
)
@click.option(
    "--storm-s",
    type=click.FloatRange(min=0),
    default=0.0,
    show_default=True,
    help="Start with a 429 storm this many seconds long (Trello time): every request gets 429.",
)
@click.option(
    "--rate-limit-body",
    type=click.Choice(["usual", "extension", "token-db", "unknown", "empty", "text", "html"]),
    default="usual",
    show_default=True,
    help="What every 429 says: the limit's usual JSON, UNKNOWN_EXTENSION_LIMIT_EXCEEDED, "
    "API_TOKEN_DB_LIMIT_EXCEEDED, an unknown code, or no JSON (empty, text, html).",
)
@click.option(
    "--accepted-rate",
    type=click.FloatRange(0, 1),
    default=0.0,
    show_default=True,
    help="Share of successful requests answered 202 Accepted instead of 200 OK (same body).",
)
@_UNLOGGED_OPTION
@click.option(
    "--automation-share",
    type=click.FloatRange(0, 1),
    default=0.0,
    show_default=True,
    help="Share of the history's actions made by an automation (appCreator, no memberCreator).",
)
@click.option(
    "--hidden-name-share",
    type=click.FloatRange(0, 1),
    default=0.0,
    show_default=True,
    help="Share of members whose full name is private (no fullName; a nonPublic object).",
)
@click.option(
    "--id-cursor",
    type=click.Choice(["second", "exact"]),
    default="second",
    show_default=True,
    help="How before/since action and card ids compare: by their one-second timestamp (as "
    "Trello documents), or exactly.",
)
def serve(
    host: str,
    port: int,
    seed: int,
    cards: int,
    latency_ms: float,
    jitter_ms: float,
    time_scale: float,
    error_rate: float,
    drop_rate: float,
    storm_s: float,
    rate_limit_body: str,
    accepted_rate: float,
    unlogged_share: float,
    automation_share: float,
    hidden_name_share: float,
    id_cursor: str,
) -> None:
    """Serve a generated sandbox Trello on loopback until interrupted.

    Prints TRELLO_API_URL, TRELLO_API_KEY and TRELLO_TOKEN lines (fake sandbox credentials of
    the scenario's mover) for `export`; stops cleanly on Ctrl-C or SIGTERM.
    """
    from trello_restore.sandbox.scenario import generate
    from trello_restore.sandbox.server import SandboxOptions, SandboxServer

    if error_rate + drop_rate > 1:
        raise click.BadParameter("--error-rate plus --drop-rate must not exceed 1")
    options = SandboxOptions(
        latency_ms=latency_ms,
        jitter_ms=jitter_ms,
        time_scale=time_scale,
        error_rate=error_rate,
        drop_rate=drop_rate,
        storm_s=storm_s,
        rate_limit_body=rate_limit_body,
        accepted_rate=accepted_rate,
        id_cursor=id_cursor,
        seed=seed,
    )
    scenario = generate(
        seed=seed,
        cards=cards,
        unlogged_share=unlogged_share,
        automation_share=automation_share,
        hidden_name_share=hidden_name_share,
    )
    try:
        server = SandboxServer(scenario.world, options, host=host, port=port)
    except OSError as err:
        raise click.ClickException(f"cannot listen on {host}:{port}: {err.strerror}") from err
    click.echo(f"TRELLO_API_URL={server.base_url}")
    click.echo(f"TRELLO_API_KEY={scenario.key}")
    click.echo(f"TRELLO_TOKEN={scenario.token}")
    sys.stdout.flush()
    click.echo(f"Sandbox Trello serving on {server.base_url}; Ctrl-C stops it.", err=True)
    # Installed explicitly: a shell starts background jobs with SIGINT ignored, and Python then
    # would not turn it into KeyboardInterrupt, so `kill -INT` would not stop the server.
    previous = {sig: signal.signal(sig, _stop) for sig in (signal.SIGINT, signal.SIGTERM)}
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        click.echo("Sandbox Trello stopped.", err=True)
    finally:
        for sig, handler in previous.items():
            if handler is not None:
                signal.signal(sig, handler)


@sandbox.command("export")
@click.option("--seed", type=int, default=1, show_default=True, help="Scenario seed.")
@_CARDS_OPTION
@click.option(
    "--board",
    "which",
    type=click.Choice(["team", "archive", "roadmap"]),
    default="team",
    show_default=True,
    help="Which of the scenario's boards to export.",
)
@_UNLOGGED_OPTION
@click.option(
    "-o",
    "--output",
    default="-",
    show_default=True,
    metavar="FILE",
    help="Where to write the export ('-' for stdout).",
)
def export(seed: int, cards: int, which: str, unlogged_share: float, output: str) -> None:
    """Write a scenario board as a Trello board JSON export (newest 1000 actions, like Trello's).

    The file can be planned offline: trello-restore --from-export FILE --since ... --dry-run
    """
    import json

    from trello_restore.sandbox.scenario import generate

    scenario = generate(seed=seed, cards=cards, unlogged_share=unlogged_share)
    board = {"team": scenario.team, "archive": scenario.archive, "roadmap": scenario.roadmap}[which]
    doc = scenario.export(board.id)
    text = json.dumps(doc, indent=2, ensure_ascii=False) + "\n"
    if output == "-":
        click.echo(text, nl=False)
        return
    try:
        Path(output).write_text(text, encoding="utf-8")
    except OSError as err:
        raise click.ClickException(f"cannot write {output}: {err.strerror}") from None
    click.echo(
        f"Wrote {board.name} ({len(doc['actions'])} actions) to {output}; "
        f"the incident happened at {scenario.incident_at:%Y-%m-%dT%H:%M:%SZ}.",
        err=True,
    )
