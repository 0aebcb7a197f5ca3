"""``demo`` and ``sandbox``: the commands that run the built-in sandbox Trello.

The main command's group (``cli.py``) imports this module only when one of these commands runs
or shows its help, so planning, ``apply``, ``undo`` and ``trello-restore --help`` never import
the sandbox. Like ``cli.py``, this module only parses, prints and maps errors.
"""

from __future__ import annotations

import contextlib
import os
import re
import secrets
import signal
from datetime import datetime
from pathlib import Path
from types import FrameType
from typing import TYPE_CHECKING

import click

from trello_restore import cli
from trello_restore.sandbox.scenario import MAX_CARDS, MIN_CARDS
from trello_restore.sandbox.workspace import MAX_BOARDS

if TYPE_CHECKING:
    from trello_restore.report_outcomes import Progress
    from trello_restore.sandbox.server import SandboxOptions, SandboxServer
    from trello_restore.sandbox.world import World

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


_SECOND_DAMAGE_OPTION = click.option(
    "--second-damage",
    is_flag=True,
    help="Add the second damage after the incident: a member archives two lists' cards, moves "
    "a list's cards, and an automation overwrites due dates and descriptions "
    "(--restore archived/list/fields).",
)


@click.command()
@click.option("--seed", type=int, default=1, show_default=True, help="Scenario seed.")
@_CARDS_OPTION
def demo(seed: int, cards: int) -> None:
    """The whole cycle against a built-in sandbox Trello: no account, no network.

    Generates an incident, shows the plan, applies it, checks the boards against the
    scenario's ground truth, undoes it and checks again; then the same for the scenario's
    second damage (cards archived and moved in bulk, fields overwritten by an automation:
    --restore archived,list,fields --by CULPRIT). Exits 0 when every check passes.
    """
    from trello_restore.demo import run_demo

    def progress(total: int) -> Progress:
        return cli.progress(total, quiet=False)

    cli.exit_with(lambda: run_demo(seed=seed, cards=cards, echo=click.echo, progress=progress))


@click.group()
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
@_SECOND_DAMAGE_OPTION
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
@click.option(
    "--read-refusals",
    type=click.Choice(["plain", "sub-request"]),
    default="plain",
    show_default=True,
    help="How a refused read (401, 404) is answered: its status and text, or Trello's 449 "
    "Sub-Request Failed ({path, originalMessage, originalStatus}).",
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
@click.option(
    "--date-cursor",
    type=click.Choice(["second", "exact"]),
    default="second",
    show_default=True,
    help="How before/since dates compare with actions' dates: as whole seconds (Trello's "
    "cursors work on the creation date, which an id holds to the second; not confirmed), or "
    "to the millisecond.",
)
@click.option(
    "--workspace-boards",
    type=click.IntRange(2, MAX_BOARDS),
    default=None,
    help="Serve a workspace of this many boards (100 to 2,000 cards each, move incidents "
    "between pairs of them; the benchmark's --workspace run) instead of the scenario: plan it "
    "with --workspace.",
)
@click.option(
    "--member-tokens",
    is_flag=True,
    help="Also print a token for every member (TRELLO_TOKEN_<USERNAME>=…), to act as a "
    "colleague (with curl) between a plan, its apply and its undo, and TRELLO_TOKEN_READ_ONLY=…: "
    "the mover's token made without write access (Trello refuses its writes).",
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
    read_refusals: str,
    unlogged_share: float,
    automation_share: float,
    hidden_name_share: float,
    id_cursor: str,
    date_cursor: str,
    second_damage: bool,
    workspace_boards: int | None,
    member_tokens: bool,
) -> None:
    """Serve a generated sandbox Trello on loopback until interrupted.

    Prints `export TRELLO_API_URL=…`, `export TRELLO_API_KEY=…` and `export TRELLO_TOKEN=…`
    (fake sandbox credentials of the scenario's mover): paste them into the shell that runs
    the tool. Stops cleanly on Ctrl-C or SIGTERM.
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
        read_refusals=read_refusals,
        id_cursor=id_cursor,
        date_cursor=date_cursor,
        seed=seed,
    )
    if workspace_boards is not None:
        if second_damage:
            raise click.BadParameter(
                "--second-damage is for the scenario: leave it out with --workspace-boards"
            )
        _serve_workspace(host, port, seed, workspace_boards, unlogged_share, options, member_tokens)
        return
    scenario = generate(
        seed=seed,
        cards=cards,
        unlogged_share=unlogged_share,
        automation_share=automation_share,
        hidden_name_share=hidden_name_share,
        second_damage=second_damage,
    )
    try:
        server = SandboxServer(scenario.world, options, host=host, port=port)
    except OSError as err:
        raise _cannot_listen(host, port, err) from None
    _export("TRELLO_API_URL", server.base_url)
    _export("TRELLO_API_KEY", scenario.key)
    _export("TRELLO_TOKEN", scenario.token)
    if member_tokens:
        _echo_member_tokens(scenario.world, scenario.world.tokens[scenario.token])
    click.echo(f"Sandbox Trello serving on {server.base_url}; Ctrl-C stops it.", err=True)
    if second_damage and scenario.second_damage_at and scenario.culprit:
        click.echo(
            _second_damage_line(scenario.second_damage_at, scenario.culprit.username), err=True
        )
    _serve_until_stopped(server)


def _serve_workspace(
    host: str,
    port: int,
    seed: int,
    boards: int,
    unlogged_share: float,
    options: SandboxOptions,
    member_tokens: bool,
) -> None:
    """``sandbox serve --workspace-boards N``: the workspace generator's world, served like
    the scenario, with a line saying how to plan it."""
    from trello_restore.sandbox.server import SandboxServer
    from trello_restore.sandbox.workspace import generate_workspace

    ws = generate_workspace(seed, boards, unlogged_share=unlogged_share)
    try:
        server = SandboxServer(ws.world, options, host=host, port=port)
    except OSError as err:
        raise _cannot_listen(host, port, err) from None
    _export("TRELLO_API_URL", server.base_url)
    _export("TRELLO_API_KEY", ws.key)
    _export("TRELLO_TOKEN", ws.token)
    if member_tokens:
        _echo_member_tokens(ws.world, ws.world.tokens[ws.token])
    click.echo(f"Sandbox Trello serving on {server.base_url}; Ctrl-C stops it.", err=True)
    first = ws.first_incident_at.strftime("%Y-%m-%dT%H:%M:%SZ")
    click.echo(
        f"Workspace {ws.organization.name}: {len(ws.boards)} boards, {sum(ws.cards.values())} "
        f"cards, {len(ws.incidents)} move incidents from {first}; plan them with "
        f"--workspace {ws.organization.name} --since {first} --removed-by {ws.lead.username}",
        err=True,
    )
    _serve_until_stopped(server)


def _export(name: str, value: str) -> None:
    """One line a shell runs as it is, pasted (R41c: a bare ``NAME=value`` sets a shell
    variable the tool, a child process, never sees)."""
    _out(f"export {name}={value}\n")


def _out(text: str) -> None:
    """``text`` on stdout, whole (``plan_out.write_out``); or, when it cannot be written, the
    command ends as every command whose output cannot be (one line, exit 2; a reader gone
    away, exit 0): R44g, a traceback (``>&-``, ``>/dev/full``), and a server serving with no
    one told where."""
    from trello_restore.plan_out import write_out

    try:
        write_out(text)
    except OSError as exc:
        from trello_restore.cli_exit import exit_output_failed

        exit_output_failed(exc, wrote=False, writes=False)


def _echo_member_tokens(world: World, mover: str) -> None:
    """``--member-tokens``: a sandbox token for each member, ``TRELLO_TOKEN_<USERNAME>=…`` (the
    username upper-cased, other characters than letters and digits as ``_``), by username, and
    a read-only token of ``mover`` (the printed ``TRELLO_TOKEN``'s member),
    ``TRELLO_TOKEN_READ_ONLY=…``. The tokens are random (not from the seed: the world's id
    sequence, and so every id the sandbox gives later, stays the seed's); the printed key goes
    with each."""
    for member in sorted(world.members.values(), key=lambda m: m.username):
        token = "ATTA" + secrets.token_hex(30)
        world.tokens[token] = member.id
        name = re.sub(r"[^A-Z0-9]", "_", member.username.upper())
        _export(f"TRELLO_TOKEN_{name}", token)
    read_only = "ATTA" + secrets.token_hex(30)
    world.add_read_only_token(mover, read_only)
    _export("TRELLO_TOKEN_READ_ONLY", read_only)


def _serve_until_stopped(server: SandboxServer) -> None:
    """Serve until Ctrl-C or SIGTERM."""
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
@_SECOND_DAMAGE_OPTION
@click.option(
    "-o",
    "--output",
    default="-",
    show_default=True,
    metavar="FILE",
    help="Where to write the export ('-' for stdout).",
)
def export(
    seed: int, cards: int, which: str, unlogged_share: float, second_damage: bool, output: str
) -> None:
    """Write a scenario board as a Trello board JSON export (newest 1000 actions, like Trello's).

    The file can be planned offline: trello-restore --from-export FILE --since ... --dry-run
    """
    import json

    from trello_restore.sandbox.scenario import generate

    scenario = generate(
        seed=seed, cards=cards, unlogged_share=unlogged_share, second_damage=second_damage
    )
    board = {"team": scenario.team, "archive": scenario.archive, "roadmap": scenario.roadmap}[which]
    doc = scenario.export(board.id)
    text = json.dumps(doc, indent=2, ensure_ascii=False) + "\n"
    if output == "-":
        _out(text)
        return
    target = Path(output)
    made = not (target.exists() or target.is_symlink())
    try:  # in place, as the user's file is (its mode, links, owner: R44j); a new one 0600 (R88c)
        with open(target, "w", encoding="utf-8", opener=_private) as out:
            out.write(text)
    except OSError as err:
        if made:  # not left cut short (R44i: a full disk left one of 64 KB)
            with contextlib.suppress(OSError):
                target.unlink()
        # A usage error, exit 2 as for every path the user gives (click's own is 1: a bug).
        raise click.UsageError(f"cannot write {output}: {err.strerror}.") from None
    click.echo(
        f"Wrote {board.name} ({len(doc['actions'])} actions) to {output}; "
        f"the incident happened at {scenario.incident_at:%Y-%m-%dT%H:%M:%SZ}.",
        err=True,
    )
    if second_damage and scenario.second_damage_at and scenario.culprit:
        click.echo(
            _second_damage_line(scenario.second_damage_at, scenario.culprit.username), err=True
        )


def _cannot_listen(host: str, port: int, err: OSError) -> click.UsageError:
    """A port in use or an address not this machine's: the user's choice, exit 2 as every
    bad option (R54d: click's own exception is 1, which the README keeps for bugs)."""
    return click.UsageError(
        f"cannot listen on {host}:{port}: {err.strerror}; choose another --port "
        "(0 takes a free one) or --host"
    )


def _second_damage_line(at: datetime, culprit: str) -> str:
    """What ``--second-damage`` adds, for ``--since``/``--by``."""
    return f"The second damage happened at {at:%Y-%m-%dT%H:%M:%SZ}, by {culprit}."


def _private(path: str, flags: int) -> int:
    """``open``'s opener for a file made 0600 whatever the umask (an existing one keeps its)."""
    return os.open(path, flags, 0o600)
