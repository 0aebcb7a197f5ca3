"""The command line: parse options, call the core, map errors to messages and exit codes.

Only this module talks to the user. ``trello-restore --board X --since DATE --dry-run`` plans;
``sandbox`` runs the local Trello emulator. Errors from the core (``errors.RestoreError``) become
one line on stderr and their documented exit code; nothing here decides what to restore.
"""

from __future__ import annotations

import logging
import signal
import sys
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from types import FrameType
from typing import Literal

import click

from trello_restore import __version__
from trello_restore.errors import ExitCode, RestoreError, UsageError
from trello_restore.sandbox.scenario import MAX_CARDS, MIN_CARDS

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


def _setup_logging(verbose: int, quiet: bool) -> None:
    level = (
        logging.ERROR if quiet else [logging.WARNING, logging.INFO, logging.DEBUG][min(verbose, 2)]
    )
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(logging.Formatter("%(levelname)s %(name)s: %(message)s"))
    logger.handlers[:] = [handler]
    logger.setLevel(level)
    logger.propagate = False


def fail(err: RestoreError) -> None:
    """Print a core error as one line and exit with its code."""
    message = " ".join(str(err).split())
    click.echo(f"Error: {message}", err=True)
    sys.exit(int(err.exit_code))


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
@click.option("-v", "--verbose", count=True, help="More logging on stderr (-vv: debug).")
@click.option("-q", "--quiet", is_flag=True, help="Only errors on stderr.")
@click.pass_context
def main(ctx: click.Context, /, **options: object) -> None:
    """Put back the Trello card members removed as a side effect of moving lists or cards
    between boards, from the boards' own action logs.

    \b
    trello-restore --board "Team Board" --since 2025-11-02 --dry-run
    trello-restore --board X --since 7d --dry-run --plan-out plan.json
    trello-restore --from-export board.json --since 2025-11-02 --dry-run

    Credentials come from TRELLO_API_KEY and TRELLO_TOKEN.
    """
    args = RestoreArgs(**options)  # type: ignore[arg-type]
    _setup_logging(args.verbose, args.quiet)
    if ctx.invoked_subcommand is not None:
        return
    if not args.boards and not args.exports and args.since is None:
        click.echo(ctx.get_help())
        return
    try:
        code = _plan_command(args)
    except RestoreError as err:
        fail(err)
    except KeyboardInterrupt:
        click.echo("Interrupted: nothing was written to Trello.", err=True)
        sys.exit(130)
    sys.exit(int(code))


def _plan_command(args: RestoreArgs) -> ExitCode:
    """Plan (dry run), print it, optionally export it; exit code per ``--detailed-exitcode``."""
    from trello_restore.config import cache_dir, credentials_from_env, max_retries
    from trello_restore.planfile import plan_to_dict, write_plan
    from trello_restore.report import dry_run_exit_code, render_json, render_text, summary_line
    from trello_restore.run import build_request, make_plan

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
    )
    if not args.dry_run:
        raise UsageError(
            "applying a plan is not available in this version yet: add --dry-run to see the plan "
            "(and --plan-out FILE to save it for review)"
        )
    result = make_plan(request, created_at=now)
    for warning in result.warnings:
        click.echo(f"Warning: {warning}", err=True)
    if args.plan_out is not None:
        write_plan(plan_to_dict(result.plan, result.meta), args.plan_out)
    if args.plan_out != "-":
        if args.fmt == "json":
            click.echo(render_json(result.plan, result.meta), nl=False)
            if not args.quiet:
                click.echo(summary_line(result.plan, dry_run=True), err=True)
        elif args.quiet:
            click.echo(summary_line(result.plan, dry_run=True))
        else:
            click.echo(
                render_text(result.plan, result.meta, dry_run=True, verbose=args.verbose > 0),
                nl=False,
            )
    if args.plan_out not in (None, "-") and not args.quiet:
        click.echo(f"Plan written to {args.plan_out}", err=True)
    logger.info("%d requests sent to %s", result.requests_sent, request.api_url)
    return dry_run_exit_code(result.plan, args.detailed_exitcode)


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
