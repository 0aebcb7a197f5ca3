"""The command line: parse options, call the core, map errors to messages and exit codes.

Only this module talks to the user. ``trello-restore --board X --since DATE`` plans (and, without
``--dry-run``, applies after a confirmation); ``apply PLAN`` applies a reviewed plan file;
``undo JOURNAL`` reverses an apply; ``demo`` runs the whole cycle against the sandbox; ``sandbox``
runs the local Trello emulator. Errors from the core (``errors.RestoreError``) become one line
on stderr and their documented exit code; nothing here decides what to restore (``run.py`` wires
the stages, ``report.py`` words the results).
"""

from __future__ import annotations

import logging
import signal
import sys
import threading
import time
from collections import Counter
from collections.abc import Callable, Mapping
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
    from trello_restore.applier import ApplyReport, ChangeOutcome
    from trello_restore.run import ApplyRequest

EXIT_CODES_HELP = """\b
Exit codes:
  0  success (dry run with --detailed-exitcode: nothing to do)
  1  internal error (a bug: rerun with -vv and report it)
  2  usage or bad input (options, dates, board names, plan or export files)
  3  authentication or permission (credentials, access to a board)
  4  Trello unreachable, or still rate limiting after retries
  5  partial failure (some changes failed, drifted or were blocked)
  6  another run holds the lock
  7  dry run with --detailed-exitcode: changes are pending"""

logger = logging.getLogger("trello_restore")


@dataclass(frozen=True)
class RestoreArgs:
    """The restore options as parsed (the core gets typed values built from these)."""

    boards: tuple[str, ...]
    since: str | None
    until: str | None
    dry_run: bool
    plan_out: str | None
    fmt: Literal["text", "json"]
    mode: Literal["removed", "ever-added"]
    removed_by: str | None
    cause: Literal["move"] | None
    only_recorded: bool
    lists: tuple[str, ...]
    cards: tuple[str, ...]
    add_to_board: bool
    board_role: Literal["normal", "observer"]
    detailed_exitcode: bool
    exports: tuple[str, ...]
    api_url: str
    no_cache: bool
    verbose: int
    quiet: bool
    yes: bool
    journal: str | None
    workers: int
    rate_limit: int | None


def _setup_logging(verbose: int, quiet: bool) -> None:
    level = (
        logging.ERROR if quiet else [logging.WARNING, logging.INFO, logging.DEBUG][min(verbose, 2)]
    )
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(logging.Formatter("%(levelname)s %(name)s: %(message)s"))
    logger.handlers[:] = [handler]
    logger.setLevel(level)
    logger.propagate = False


def fail(err: RestoreError) -> NoReturn:
    """Print a core error as one line and exit with its code."""
    message = " ".join(str(err).split())
    click.echo(f"Error: {message}", err=True)
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
        sys.exit(130)
    sys.exit(int(code))


class _Progress:
    """Counts outcomes as they come (from any worker thread) and, on a terminal, redraws one
    status line on stderr at most ten times a second."""

    def __init__(self, total: int, *, enabled: bool) -> None:
        self.total = total
        self.enabled = enabled
        self.counts: Counter[str] = Counter()
        self.done = 0
        self._lock = threading.Lock()
        self._started = time.monotonic()
        self._drawn = 0.0

    def __call__(self, outcome: ChangeOutcome) -> None:
        from trello_restore.report import progress_line

        with self._lock:
            self.done += 1
            self.counts[outcome.status] += 1
            now = time.monotonic()
            if not self.enabled or (now - self._drawn < 0.1 and self.done < self.total):
                return
            self._drawn = now
            line = progress_line(self.counts, self.done, self.total, now - self._started)
            click.echo(f"\r{line}\x1b[K", nl=False, err=True)

    def clear(self) -> None:
        """Remove the status line."""
        with self._lock:
            if self.enabled and self._drawn:
                click.echo("\r\x1b[K", nl=False, err=True)
                self._drawn = 0.0


@click.group(invoke_without_command=True, epilog=EXIT_CODES_HELP)
@click.version_option(__version__, prog_name="trello-restore")
@click.option(
    "--board",
    "boards",
    multiple=True,
    metavar="BOARD",
    help="Board id, shortLink, URL (https://trello.com/b/...) or exact name; repeatable.",
)
@click.option(
    "--since",
    metavar="WHEN",
    help="Start of the window (inclusive): ISO date or date-time (UTC unless a zone is "
    "given), or an age like 36h, 7d, 2w.",
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
    help="How to print the plan on stdout.",
)
@click.option(
    "--mode",
    type=click.Choice(["removed", "ever-added"]),
    default="removed",
    show_default=True,
    help="'removed': recorded removals and silent losses; 'ever-added': everyone ever "
    "added, for cards with no recorded removal.",
)
@click.option(
    "--removed-by",
    metavar="MEMBER",
    help="Only removals performed by this member (id or username).",
)
@click.option(
    "--cause",
    type=click.Choice(["move"]),
    help="Only removals that came with a move of the card or its list.",
)
@click.option(
    "--only-recorded",
    is_flag=True,
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
    "--add-to-board",
    is_flag=True,
    help="Grant board membership to members who need it (never done otherwise).",
)
@click.option(
    "--board-role",
    type=click.Choice(["normal", "observer"]),
    default="normal",
    show_default=True,
    help="Role for --add-to-board.",
)
@click.option(
    "--detailed-exitcode",
    is_flag=True,
    help="With --dry-run: exit 7 when changes are pending, 0 when there is nothing to do.",
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
    envvar="TRELLO_API_URL",
    default="https://api.trello.com/1",
    show_default=True,
    help="Trello API base URL (env TRELLO_API_URL), e.g. a sandbox's.",
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
    default=8,
    show_default=True,
    help="Concurrent writers when applying.",
)
@click.option(
    "--rate-limit",
    type=click.IntRange(1, 1000),
    metavar="N",
    help="Requests per 10 s per token when applying (default 90; Trello allows 100).",
)
@click.option("-v", "--verbose", count=True, help="More logging on stderr (-vv: debug).")
@click.option("-q", "--quiet", is_flag=True, help="Print only the summary (and errors).")
@click.pass_context
def main(ctx: click.Context, /, **options: object) -> None:
    """Put back the Trello card members removed as a side effect of moving lists or cards
    between boards, from the boards' own action logs.

    \b
    trello-restore demo
    trello-restore --board "Team Board" --since 2025-11-02 --dry-run
    trello-restore --board X --since 7d --dry-run --plan-out plan.json
    trello-restore apply plan.json
    trello-restore --board X --since 7d --yes
    trello-restore undo JOURNAL
    trello-restore --from-export board.json --since 2025-11-02 --dry-run

    Without --dry-run the plan is applied after a confirmation (--yes skips it).
    Credentials come from TRELLO_API_KEY and TRELLO_TOKEN.
    """
    args = RestoreArgs(**options)  # type: ignore[arg-type]
    _setup_logging(args.verbose, args.quiet)
    ctx.obj = args
    if ctx.invoked_subcommand is not None:
        return
    if not args.boards and not args.exports and args.since is None:
        click.echo(ctx.get_help())
        return
    _exit_with(lambda: _plan_command(args))


def _plan_command(args: RestoreArgs) -> ExitCode:
    """Plan, print it, optionally export it. A dry run ends there (exit code per
    ``--detailed-exitcode``); otherwise the plan is applied after a confirmation."""
    from trello_restore.config import cache_dir, credentials_from_env, max_retries
    from trello_restore.planfile import plan_to_dict, write_plan
    from trello_restore.report import dry_run_exit_code, render_json, render_text, summary_line
    from trello_restore.run import build_request, make_plan

    if not args.dry_run and not args.yes:
        _refuse_without_terminal("applying the plan")
    now = datetime.now(UTC)
    creds = credentials_from_env()
    request = build_request(
        boards=args.boards,
        exports=args.exports,
        since=args.since,
        until=args.until,
        now=now,
        mode=args.mode,
        removed_by=args.removed_by,
        cause=args.cause,
        only_recorded=args.only_recorded,
        lists=args.lists,
        cards=args.cards,
        add_to_board=args.add_to_board,
        board_role=args.board_role,
        api_url=args.api_url,
        key=creds.key,
        token=creds.token,
        cache_dir=None if args.no_cache else cache_dir(),
        read_retries=max_retries(),
        apply=not args.dry_run,
    )
    result = make_plan(request, created_at=now)
    for warning in result.warnings:
        click.echo(f"Warning: {warning}", err=True)
    if args.plan_out is not None:
        write_plan(plan_to_dict(result.plan, result.meta), args.plan_out)
    dry = args.dry_run
    if args.plan_out != "-":
        if args.fmt == "json":
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
    logger.info("%d requests sent to %s", result.requests_sent, request.api_url)
    if dry:
        return dry_run_exit_code(result.plan, args.detailed_exitcode)
    return _apply_after_planning(
        args, plan_to_dict(result.plan, result.meta), creds.key, creds.token
    )


def _apply_after_planning(args: RestoreArgs, doc: dict[str, Any], key: str, token: str) -> ExitCode:
    """The one-shot form: confirm (unless ``--yes``), then apply the plan just made."""
    from trello_restore.config import max_retries, state_dir
    from trello_restore.run import apply_options, apply_request, plan_changes

    n = plan_changes(doc)
    if n == 0:
        click.echo("Nothing to apply.")
        return ExitCode.PARTIAL if doc["blocked"] else ExitCode.OK
    if not args.yes and not _confirm(f"Apply {n} change{'s' if n != 1 else ''} to Trello?"):
        click.echo("Nothing was changed.")
        return ExitCode.OK
    options = apply_options(
        workers=args.workers, rate_limit=args.rate_limit, max_retries=max_retries()
    )
    req = apply_request(
        doc,
        api_url=args.api_url,
        options=options,
        state_dir=state_dir(),
        journal=args.journal,
        key=key,
        token=token,
        read_retries=max_retries(),
    )
    return _apply(
        req,
        quiet=args.quiet,
        verbose=args.verbose,
        resume="Run the same command again to finish: it plans again from the current state",
        summary_to_stderr=args.fmt == "json" or args.plan_out == "-",
    )


def _apply(
    req: ApplyRequest,
    *,
    quiet: bool,
    verbose: int,
    resume: str,
    summary_to_stderr: bool = False,
) -> ExitCode:
    """Run an apply with progress, then print what needs attention and the summary."""
    from trello_restore.report import change_labels
    from trello_restore.run import run_apply

    dry = req.options.dry_run
    total = len(req.doc["changes"]) + len(req.doc["blocked"])  # one outcome each
    progress = _Progress(total, enabled=not quiet and _stderr_is_terminal())
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
    return report.exit_code


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


def _parent_args(ctx: click.Context) -> RestoreArgs:
    args = ctx.find_object(RestoreArgs)
    if args is None:  # pragma: no cover - main always sets it
        raise RuntimeError("the main command did not run")
    return args


@main.command("apply")
@click.argument("plan_file", metavar="PLAN")
@click.option("--dry-run", is_flag=True, help="Read live state and report; write nothing.")
@click.option("--journal", metavar="PATH", help="Journal file (default: the plan's own).")
@click.option(
    "--workers", type=click.IntRange(1, 64), metavar="N", help="Concurrent writers (default 8)."
)
@click.option(
    "--rate-limit",
    type=click.IntRange(1, 1000),
    metavar="N",
    help="Requests per 10 s per token (default 90; Trello allows 100).",
)
@click.option("-y", "--yes", is_flag=True, help="Accepted for scripts; apply PLAN never asks.")
@click.option(
    "--api-url",
    envvar="TRELLO_API_URL",
    metavar="URL",
    help="Trello API base URL (env TRELLO_API_URL); must be the plan's.",
)
@click.option("-v", "--verbose", count=True, help="List every change's outcome; more logging.")
@click.option("-q", "--quiet", is_flag=True, help="Print only the summary (and errors).")
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
    parent = _parent_args(ctx)
    quiet, verbose = quiet or parent.quiet, verbose + parent.verbose
    _setup_logging(verbose, quiet)

    def body() -> ExitCode:
        from trello_restore.config import credentials_from_env, max_retries, state_dir
        from trello_restore.planfile import read_plan
        from trello_restore.run import apply_options, apply_request

        doc = read_plan(plan_file)
        creds = credentials_from_env()
        options = apply_options(
            workers=workers or parent.workers,
            rate_limit=rate_limit or parent.rate_limit,
            dry_run=dry_run,
            max_retries=max_retries(),
        )
        req = apply_request(
            doc,
            api_url=api_url or parent.api_url,
            options=options,
            state_dir=state_dir(),
            journal=journal or parent.journal,
            key=creds.key,
            token=creds.token,
            read_retries=max_retries(),
        )
        return _apply(
            req,
            quiet=quiet,
            verbose=verbose,
            resume=f"Run trello-restore apply {plan_file} again to resume; "
            "changes already made are skipped",
        )

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
@click.option(
    "--workers", type=click.IntRange(1, 64), metavar="N", help="Concurrent writers (default 8)."
)
@click.option(
    "--rate-limit",
    type=click.IntRange(1, 1000),
    metavar="N",
    help="Requests per 10 s per token (default 90; Trello allows 100).",
)
@click.option(
    "--api-url",
    envvar="TRELLO_API_URL",
    metavar="URL",
    help="Trello API base URL (env TRELLO_API_URL); must be the journal's.",
)
@click.option("-v", "--verbose", count=True, help="List every change's outcome; more logging.")
@click.option("-q", "--quiet", is_flag=True, help="Print only the summary (and errors).")
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
    parent = _parent_args(ctx)
    quiet, verbose = quiet or parent.quiet, verbose + parent.verbose
    _setup_logging(verbose, quiet)

    def body() -> ExitCode:
        from trello_restore.config import credentials_from_env, max_retries
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
        creds = credentials_from_env()
        req = UndoRequest(
            journal=journal,
            api_url=(api_url or parent.api_url).rstrip("/"),
            options=apply_options(
                workers=workers or parent.workers,
                rate_limit=rate_limit or parent.rate_limit,
                dry_run=dry_run,
                max_retries=max_retries(),
            ),
            include_board_memberships=include_board_memberships,
            key=creds.key,
            token=creds.token,
            read_retries=max_retries(),
        )
        progress = _Progress(n, enabled=not quiet and _stderr_is_terminal())
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
        return report.exit_code

    _exit_with(body)


@main.command()
@click.option("--seed", type=int, default=1, show_default=True, help="Scenario seed.")
@click.option(
    "--cards",
    type=click.IntRange(MIN_CARDS, MAX_CARDS),
    default=200,
    show_default=True,
    help="Number of cards in the generated scenario.",
)
def demo(seed: int, cards: int) -> None:
    """The whole cycle against a built-in sandbox Trello: no account, no network.

    Generates an incident, shows the plan, applies it, checks the boards against the
    scenario's ground truth, undoes it and checks again. Exits 0 when every check passes.
    """
    from trello_restore.demo import run_demo

    def progress(total: int) -> _Progress:
        return _Progress(total, enabled=_stderr_is_terminal())

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
@click.option(
    "--cards",
    type=click.IntRange(MIN_CARDS, MAX_CARDS),
    default=200,
    show_default=True,
    help="Number of cards in the generated scenario.",
)
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
    "--unlogged-share",
    type=click.FloatRange(0, 1),
    default=0.2,
    show_default=True,
    help="Share of moved cards whose member removals Trello did not log.",
)
@click.option(
    "--id-cursor",
    type=click.Choice(["exact", "second"]),
    default="exact",
    show_default=True,
    help="How before/since action ids compare: exactly, or by their one-second timestamp.",
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
    unlogged_share: float,
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
        id_cursor=id_cursor,
        seed=seed,
    )
    scenario = generate(seed=seed, cards=cards, unlogged_share=unlogged_share)
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
@click.option(
    "--cards",
    type=click.IntRange(20, 20_000),
    default=200,
    show_default=True,
    help="Number of cards in the generated scenario.",
)
@click.option(
    "--board",
    "which",
    type=click.Choice(["team", "archive", "roadmap"]),
    default="team",
    show_default=True,
    help="Which of the scenario's boards to export.",
)
@click.option(
    "--unlogged-share",
    type=click.FloatRange(0, 1),
    default=0.2,
    show_default=True,
    help="Share of moved cards whose member removals Trello did not log.",
)
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
    text = json.dumps(scenario.export(board.id), indent=2, ensure_ascii=False) + "\n"
    if output == "-":
        click.echo(text, nl=False)
        return
    try:
        Path(output).write_text(text, encoding="utf-8")
    except OSError as err:
        raise click.ClickException(f"cannot write {output}: {err.strerror}") from None
    click.echo(
        f"Wrote {board.name} ({len(scenario.export(board.id)['actions'])} actions) to {output}; "
        f"the incident happened at {scenario.incident_at:%Y-%m-%dT%H:%M:%SZ}.",
        err=True,
    )
