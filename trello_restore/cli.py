"""The command line: parse options, call the core, map errors to messages and exit codes.

Only this module talks to the user. ``trello-restore`` with no subcommand prints its help; the
restore options and the ``apply``/``undo``/``demo`` subcommands will join the group.
"""

from __future__ import annotations

import signal
import sys
from types import FrameType

import click

from trello_restore import __version__


@click.group(invoke_without_command=True)
@click.version_option(__version__, prog_name="trello-restore")
@click.pass_context
def main(ctx: click.Context) -> None:
    """Put back the Trello card members removed as a side effect of moving lists or cards
    between boards, from the boards' own action logs."""
    if ctx.invoked_subcommand is None:
        click.echo(ctx.get_help())


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
    type=click.IntRange(min=1),
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
