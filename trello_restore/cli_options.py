"""The main command's options (``cli.main``): every ``--flag`` of the planning command, which of
them are settings (``SETTING_OPTIONS``: ``None`` when not given, resolved by
``config.Settings.resolve``), and the refusal of the planning options in front of a
subcommand (``refuse_planning_options``).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeVar

import click
from click.core import ParameterSource

from trello_restore import defaults
from trello_restore.errors import UsageError
from trello_restore.masking import shaped

__all__ = [
    "SETTING_OPTIONS",
    "OneLineUsageError",
    "asks_help",
    "given_option",
    "main_options",
    "one_line_usage",
    "refuse_planning_options",
    "yes_or_no",
]

F = TypeVar("F", bound=Callable[..., Any])

#: The main command's options that are settings (config keys): ``None`` when not given.
SETTING_OPTIONS = (
    *("boards", "workspace", "exports", "since", "until", "mode", "removed_by", "cause"),
    *("only_recorded", "add_to_board", "board_role", "api_url", "journal", "workers"),
    *("rate_limit", "log_file", "restore", "by", "accept_unreadable_boards"),
)

#: Trello's rate window, as the options' help names it.
_WINDOW = f"{defaults.RATE_WINDOW_S:g} s"

#: The main command's options, in the order ``--help`` lists them.
_OPTIONS = (
    click.option(
        "--config",
        "config_file",
        metavar="PATH",
        help="Config file (TOML; env TRELLO_RESTORE_CONFIG; default: config.toml in the user "
        "config directory). Flags beat environment variables, which beat the file.",
    ),
    click.option(
        "--board",
        "boards",
        multiple=True,
        metavar="BOARD",
        help=(
            "Board id, shortLink, URL (https://trello.com/b/...) or name (exact, else "
            "ignoring case); repeatable."
        ),
    ),
    click.option(
        "--workspace",
        metavar="ORG",
        help="Every open board of this workspace (id, URL or the name in it), besides --board.",
    ),
    click.option(
        "--since",
        metavar="WHEN",
        help="Start of the window (inclusive): ISO date or date-time (UTC unless a zone is "
        "given), an age like 36h, 7d, 2w, or last-run (where the last successful run on the "
        "same boards ended).",
    ),
    click.option(
        "--until", metavar="WHEN", help="End of the window (exclusive); same forms as --since."
    ),
    click.option("--dry-run", is_flag=True, help="Fetch and plan only; write nothing to Trello."),
    click.option(
        "--plan-out", metavar="FILE", help="Also write the plan as JSON to FILE ('-' for stdout)."
    ),
    click.option(
        "--format",
        "fmt",
        type=click.Choice(["text", "json"]),
        default="text",
        show_default=True,
        help="How to print the plan on stdout; json without --dry-run: a one-line JSON summary "
        "of the run instead.",
    ),
    click.option(
        "--mode",
        type=click.Choice(["removed", "ever-added"]),
        help="'removed' (default): recorded removals and silent losses; 'ever-added': everyone "
        "ever added, for cards with no recorded removal.",
    ),
    click.option(
        "--restore",
        metavar="KINDS",
        help="What to restore, a comma list: members (default), archived (cards and lists "
        "archived), list (cards moved to another list), fields (name, description, dates), or all.",
    ),
    click.option(
        "--by",
        metavar="MEMBER",
        help="Only changes made by this member (id or username; an automation counts as the "
        "member it acts for), for every kind; needed with --yes for kinds other than members.",
    ),
    click.option(
        "--removed-by",
        metavar="MEMBER",
        help="Only removals performed by this member (id or username); members only.",
    ),
    click.option(
        "--cause",
        type=click.Choice(["move", "any"]),
        help="'move': only removals that came with a move of the card or its list; "
        "'any' (default): every cause.",
    ),
    click.option(
        "--only-recorded/--no-only-recorded",
        default=None,
        help="Leave out silent losses (members removed without a logged action).",
    ),
    click.option(
        "--list",
        "lists",
        multiple=True,
        metavar="LIST",
        help="Only cards now in this list (id or name); repeatable.",
    ),
    click.option(
        "--card",
        "cards",
        multiple=True,
        metavar="CARD",
        help="Only this card (id, shortLink or URL); repeatable.",
    ),
    click.option(
        "--add-to-board/--no-add-to-board",
        default=None,
        help="Grant board membership to members who need it (never done otherwise).",
    ),
    click.option(
        "--board-role",
        type=click.Choice(["normal", "observer"]),
        help="Role for --add-to-board (default normal).",
    ),
    click.option(
        "--accept-unreadable-boards/--no-accept-unreadable-boards",
        default=None,
        help="Record this run as the last run even though cards moved to or from a board the "
        "token cannot read within its window, giving up what they lost there (by default "
        "such a run is not recorded, so the next one covers the window again).",
    ),
    click.option(
        "--detailed-exitcode",
        is_flag=True,
        help="With --dry-run: exit 7 when changes are pending (blocked ones too), 0 when there "
        "is nothing to do.",
    ),
    click.option(
        "--from-export",
        "exports",
        multiple=True,
        metavar="FILE",
        help="Plan offline from a Trello board JSON export (repeatable; no network, no "
        "credentials).",
    ),
    click.option(
        "--api-url",
        metavar="URL",
        help=f"Trello API base URL (env TRELLO_API_URL; default {defaults.API_URL}), e.g. a "
        "sandbox's.",
    ),
    click.option(
        "--token",
        metavar="-",
        help="'-' reads the token from standard input (one line). A token itself is refused "
        "here: use TRELLO_TOKEN or the config file.",
    ),
    click.option(
        "--no-cache",
        is_flag=True,
        help="Do not use the HTTP cache or the kept board histories (read everything afresh).",
    ),
    click.option(
        "--refresh-history",
        is_flag=True,
        help="Rebuild the kept board histories from Trello (a re-plan reads only newer actions).",
    ),
    click.option(
        "-y",
        "--yes",
        is_flag=True,
        help="Apply without asking (needed when there is no terminal, e.g. from cron).",
    ),
    click.option(
        "--journal",
        metavar="PATH",
        help="Journal file of the apply (default: one per plan in the state directory).",
    ),
    click.option(
        "--workers",
        type=click.IntRange(1, defaults.MAX_WORKERS),
        metavar="N",
        help=f"Concurrent writers when applying (default {defaults.WORKERS}).",
    ),
    click.option(
        "--rate-limit",
        type=click.IntRange(1, 1000),
        metavar="N",
        help=f"Requests per {_WINDOW} per token when applying (default "
        f"{defaults.TOKEN_RATE_LIMIT}; Trello allows 100).",
    ),
    click.option(
        "--log-file",
        metavar="PATH",
        help="Also log to this file (info; debug with -vv), rotated at 1 MB, 3 kept.",
    ),
    click.option("-v", "--verbose", count=True, help="More logging on stderr (-vv: debug)."),
    click.option(
        "-q", "--quiet", is_flag=True, help="Print only the summary, warnings and errors."
    ),
)


def main_options(command: F) -> F:
    """Add the main command's options to ``command``, as the decorators stacked above it
    would (the first option listed first)."""
    for option in reversed(_OPTIONS):
        command = option(command)
    return command


#: Options that only make sense when planning: refused in front of a subcommand, where they
#: would be silently ignored (``apply`` applies the file as written; undo reads its journal).
_PLANNING_ONLY = (
    *("boards", "workspace", "exports", "since", "until", "mode", "removed_by", "cause"),
    *("only_recorded", "add_to_board", "board_role", "plan_out", "lists", "cards"),
    *("detailed_exitcode", "restore", "by", "accept_unreadable_boards"),
)


#: The main command's options that mean something to ``apply`` and ``undo`` (where their
#: settings come from, and the log), by parameter name: ``main_option_hint``.
_MAIN_FOR_WRITERS = ("config_file", "token", "log_file")


def main_option_hint(ctx: click.Context, option: str) -> str:
    """For an option given after ``apply`` or ``undo`` that only the main command has and that
    means something to them (``_MAIN_FOR_WRITERS``), where it goes; else "". ``ctx``: the
    subcommand's."""
    root = ctx.find_root()
    where = ctx.info_name
    if root is ctx or where not in ("apply", "undo"):
        return ""
    for param in root.command.params:
        if option in (*param.opts, *param.secondary_opts) and param.name in _MAIN_FOR_WRITERS:
            return (
                f"{option} is an option of trello-restore itself: put it before '{where}': "
                f"trello-restore {option} {param.metavar or 'VALUE'} {where} …"
            )
    return ""


def refuse_planning_options(ctx: click.Context, command: str) -> None:
    """Planning options placed before a subcommand would be ignored by it: refuse them. An
    option counts as given when it is on the command line (``get_parameter_source``), whatever
    its value: ``--no-add-to-board`` as well as ``--add-to-board``, each named as typed."""
    given = [
        _as_typed(ctx, name)
        for name in _PLANNING_ONLY
        if ctx.get_parameter_source(name) is ParameterSource.COMMANDLINE
    ]
    if given:
        one = len(given) == 1
        names = given[0] if one else ", ".join(given)
        raise UsageError(
            f"{names} plan{'s' if one else ''} a restore and mean{'s' if one else ''} nothing "
            f"to '{command}'; drop {'it' if one else 'them'} (options of '{command}' go after "
            f"its name, e.g. trello-restore {command} --dry-run FILE)"
        )


def _as_typed(ctx: click.Context, name: str) -> str:
    """How the option ``name`` given on the command line was typed: its long form, the
    ``--no-…`` one for a ``--x/--no-x`` flag given as False."""
    param = next(p for p in ctx.command.params if p.name == name)
    opts = param.opts
    if isinstance(param, click.Option) and param.secondary_opts and ctx.params[name] is False:
        opts = param.secondary_opts
    return next((o for o in opts if o.startswith("--")), opts[0])


class OneLineUsageError(click.UsageError):
    """Click's own usage error (a bad option value or choice, an unknown option, a missing
    argument), shown like every other error: one line, ``Error: …`` and where the help is,
    instead of click's usage, hint and error lines. Same exit code (2, ``ExitCode.USAGE``)."""

    #: Its line as the log said it (``cli_exit.log_refused``): the run's own key and token
    #: blanked too (R88c: one of no Trello shape, from TRELLO_TOKEN, pasted after --format,
    #: was shown whole on stderr, blanked in the log file only).
    logged: str | None = None

    def show(self, file: Any = None) -> None:
        click.echo(f"Error: {self.logged or self.line()}", err=True)

    def line(self) -> str:
        """What it says after ``Error:``. Click quotes the arguments it refuses: a token or key
        pasted into the wrong place (``--format ATTA…``, a command's name) is blanked by its
        shape (R57d); the run's own, where known, as the log says it (``logged``)."""
        message = " ".join(line.strip() for line in shaped(self.format_message()).splitlines())
        where = self.ctx.command_path if self.ctx is not None else "trello-restore"
        end = "" if message.endswith((".", "!", "?")) else "."  # R47c: "… --workspace-boards Try"
        return f"{message}{end} Try '{where} --help' for help."


#: Click >= 8.2's error for a group with no subcommand: its whole help, not one line.
_NO_ARGS_IS_HELP = getattr(click.exceptions, "NoArgsIsHelpError", ())


#: Options a user may try for the API key, which no command takes.
_KEY_OPTIONS = frozenset({"--api-key", "--key", "--apikey", "--trello-api-key"})


def one_line_usage(err: click.UsageError) -> OneLineUsageError:
    """``err`` as one line; but a group called without its subcommand (``sandbox`` alone:
    click >= 8.2 raises its whole help as the error, R37d) shows its help and exits 0 here,
    as with click 8.1 and as the main command alone does."""
    if isinstance(err, _NO_ARGS_IS_HELP) and err.ctx is not None:
        click.echo(err.ctx.get_help())
        err.ctx.exit(0)
    if isinstance(err, OneLineUsageError):
        return err
    message = err.format_message()
    if isinstance(err, click.NoSuchOption) and err.option_name in _KEY_OPTIONS:
        # R39c: click offered "Did you mean '--api-url'?" for a credential.
        message = (
            f"No such option '{err.option_name}': the API key is not given on the command line "
            "(where other users could read it); set TRELLO_API_KEY, or api_key in the [trello] "
            "section of the config file."
        )
    elif isinstance(err, click.NoSuchOption) and err.ctx is not None:
        hint = main_option_hint(err.ctx, err.option_name)  # a main option after a command
        if hint:  # instead of click's "Did you mean …?", which names a subcommand's option
            message = f"No such option '{err.option_name}'; {hint}"
    return OneLineUsageError(message, err.ctx)


def given_option(args: list[str], option: str) -> str | None:
    """The value that the command line ``args``, which click refused, gives the main command's
    ``option`` (``--log-file PATH`` or ``--log-file=PATH``; the last one, as click takes it;
    none after ``--``): its log file is known all the same (``cli_exit.log_anyway``)."""
    value = None
    for i, arg in enumerate(args):
        if arg == "--":
            break
        if arg == option and i + 1 < len(args):
            value = args[i + 1]
        elif arg.startswith(f"{option}="):
            value = arg.removeprefix(f"{option}=")
    return value


def asks_help(command: click.Command, args: list[str]) -> bool:
    """Whether ``args``, what follows a subcommand's name, ask for its help, as click reads
    them: ``--help`` as an option, not as another option's value (``--journal --help``) nor
    after ``--``; the word after an option that takes a value is that value, whatever it is
    (``--journal -- --help`` asks for help: R77a). Its help then needs no settings, which a
    broken config file or variable refused (R76a), and no log file, which was made empty."""
    valued = {
        name
        for p in command.params
        if isinstance(p, click.Option) and not p.is_flag and not p.count
        for name in p.opts
    }
    value = False  # the word is the value of the option before it
    for arg in args:
        if value:
            value = False
        elif arg == "--":
            return False
        elif arg == "--help":
            return True
        else:
            value = arg in valued
    return False


def yes_or_no(question: str) -> bool:
    """``click.confirm`` (default no), but an answer that is neither is told what to type, not
    ``Error: invalid input`` (R59e: an "Error" while the run goes on, with no word of what is
    asked for). End of input and Ctrl-C are ``click.Abort``, as there. A stop that Python
    swallowed before is raised first (R65a: the question was asked, its Ctrl-C ignored)."""
    from trello_restore.interrupts import check, interruptible

    check()
    while True:
        with interruptible():  # R82b: a Ctrl-C just after the question was lost
            answer = click.prompt(question, default="", show_default=False, err=True,
                                  prompt_suffix=" [y/N]: ").strip().lower()  # fmt: skip
        if answer in ("y", "yes", "n", "no", ""):
            return answer in ("y", "yes")
        click.echo("Please answer y or n (n changes nothing).", err=True)
