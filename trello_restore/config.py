"""Settings: the config file, the environment's variables, and where state lives.

Precedence (design.md §7) is flags > environment > config file > defaults (``defaults.py``).
The config file is TOML (``config.example.toml`` documents every key), found through
``--config PATH``, ``TRELLO_RESTORE_CONFIG``, or the user config directory (``config_path``);
its keys, and reading and checking it, are ``config_file.py``'s.
``TRELLO_RESTORE_HOME`` moves all state (HTTP cache, journals, last-run state, locks) under one
directory, which tests use. The environment is a mapping the command line passes in: nothing
here reads the process's own, and the core gets the resolved directories passed down.
"""

from __future__ import annotations

import contextlib
import io
import os
import stat
import sys
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, TYPE_CHECKING, Literal

import platformdirs

from trello_restore import defaults
from trello_restore.config_file import CHOICES, CONFIG_KEYS, ENV_CONFIG, RANGES, ConfigFile

if TYPE_CHECKING:
    from trello_restore.api.settings import Origins

APP = "trello-restore"
ENV_HOME = "TRELLO_RESTORE_HOME"
ENV_KEY = "TRELLO_API_KEY"
ENV_TOKEN = "TRELLO_TOKEN"  # noqa: S105 - the name of a variable, not a secret
ENV_API_URL = "TRELLO_API_URL"


def default_config() -> Path | None:
    """Where the config file is looked for when none is named; None without a home."""
    try:
        return Path(platformdirs.user_config_dir(APP)) / "config.toml"
    except RuntimeError:
        return None


def config_path(flag: str | None, env: Mapping[str, str]) -> tuple[Path | None, bool]:
    """Which config file applies, and whether it was named explicitly (flag or environment)."""
    if flag:
        return _expanded(flag, "--config"), True
    named = env.get(ENV_CONFIG, "").strip()
    if named:
        return _expanded(named, ENV_CONFIG), True
    default = default_config()
    if default is None:  # no home directory (a container's --user N, HOME unset): no file
        return None, False
    try:
        return (default, False) if default.is_file() else (None, False)
    except PermissionError:  # R62b: HOME=/root after runuser; a directory of mode 000
        from trello_restore.errors import UsageError
        from trello_restore.store_notices import unsearchable

        raise UsageError(
            f"cannot look for a config file at {default}: this user cannot search "
            f"{unsearchable(default)}; set HOME (or XDG_CONFIG_HOME) to this user's own "
            "directory, or pass --config"
        ) from None


# ------------------------------------------------------------------------------ resolution

DEFAULT_API_URL = defaults.API_URL
_PREFIX = "TRELLO_RESTORE_"

#: The environment variable of each config key: ``TRELLO_API_KEY``, ``TRELLO_TOKEN`` and
#: ``TRELLO_API_URL`` for ``[trello]``, ``TRELLO_RESTORE_<KEY>`` for the others, except that
#: ``[paths] state_dir`` and ``cache_dir`` have ``TRELLO_RESTORE_HOME`` (which moves both).
ENV_NAMES: dict[tuple[str, str], str] = {
    ("trello", "api_key"): ENV_KEY,
    ("trello", "token"): ENV_TOKEN,
    ("trello", "api_url"): ENV_API_URL,
    **{
        (section, key): _PREFIX + key.upper()
        for section in ("restore", "limits", "paths")
        for key in CONFIG_KEYS[section]
    },
    ("paths", "state_dir"): ENV_HOME,
    ("paths", "cache_dir"): ENV_HOME,
}

#: The command-line option of each config key that has one (the others: environment or file).
FLAG_NAMES: dict[str, str] = {
    "token": "--token",
    "api_url": "--api-url",
    "boards": "--board",
    "workspace": "--workspace",
    "since": "--since",
    "until": "--until",
    "mode": "--mode",
    "removed_by": "--removed-by",
    "by": "--by",
    "restore": "--restore",
    "cause": "--cause",
    "only_recorded": "--only-recorded",
    "add_to_board": "--add-to-board",
    "board_role": "--board-role",
    "accept_unreadable_boards": "--accept-unreadable-boards",
    "requests_per_window": "--rate-limit",
    "workers": "--workers",
    "log_file": "--log-file",
}
_SECTION = {key: section for section, keys in CONFIG_KEYS.items() for key in keys}
#: ``TRELLO_RESTORE_*`` variables the tool does not read but leaves alone: the test suite's.
_NOT_SETTINGS = frozenset({"TRELLO_RESTORE_SHARED"})


def check_env_names(env: Mapping[str, str]) -> None:
    """``ConfigError`` for a ``TRELLO_RESTORE_*`` variable that names no setting (a typo in a
    cron line or a systemd ``Environment=``, which would be ignored, and the run go on without
    it), with the nearest name, as the config file's unknown keys are. Its value is never
    said: it may be a secret put under the wrong name."""
    import difflib

    from trello_restore.errors import ConfigError

    known = sorted({*ENV_NAMES.values(), ENV_CONFIG} - {ENV_KEY, ENV_TOKEN, ENV_API_URL})
    for name in sorted(env):
        if name.startswith(_PREFIX) and name not in known and name not in _NOT_SETTINGS:
            # By what follows the prefix, which every name shares.
            tails = [k.removeprefix(_PREFIX) for k in known]
            near = difflib.get_close_matches(name.removeprefix(_PREFIX), tails, n=1, cutoff=0.75)
            hint = f"did you mean {_PREFIX}{near[0]}?" if near else "see the README's Configuration"
            raise ConfigError(
                f"unknown environment variable {name} ({hint}): it sets nothing; unset it or "
                "correct its name"
            )


def log_file_anyway(flag: str | None, env: Mapping[str, str], config: Path | None) -> Path | None:
    """Where the log file is, for a run whose settings failed to resolve (so that its error
    line reaches the log file all the same): ``--log-file``, ``TRELLO_RESTORE_LOG_FILE``, or
    ``[paths] log_file`` of the config file ``config`` read as plain TOML (it may be what
    failed). None when none names one, or it cannot be told; never raises."""
    import tomllib

    from trello_restore.fsutil import read_named

    try:
        if flag:
            return Path(flag).expanduser()
        named = env.get(ENV_NAMES[("paths", "log_file")], "").strip()
        if named:
            return Path(named).expanduser()
        if config is None:
            return None
        value = tomllib.loads(read_named(config).decode("utf-8")).get("paths", {}).get("log_file")
        if not isinstance(value, str) or not value.strip():
            return None
        if "\0" in value:  # no file can have it: the error to log may be that
            return None
        path = Path(value).expanduser()
        return path if path.is_absolute() else config.parent / path
    except (OSError, ValueError, RuntimeError, AttributeError):
        return None


def secrets_anyway(config: Path | None) -> tuple[str, ...]:
    """The API key and token of the config file ``config`` read as plain TOML, for a run whose
    settings failed to resolve (the file may be what failed), to redact from its error; empty
    when it holds none or cannot be read; never raises."""
    import tomllib

    from trello_restore.fsutil import read_named

    if config is None:
        return ()
    try:
        table = tomllib.loads(read_named(config).decode("utf-8")).get("trello", {})
        values = (table.get("api_key"), table.get("token")) if isinstance(table, dict) else ()
    except (OSError, ValueError, RuntimeError, AttributeError):  # RecursionError: too deep
        return ()
    return tuple(v for v in values if isinstance(v, str))


_TRUE, _FALSE = ("1", "true", "yes", "on"), ("0", "false", "no", "off")


def _from_env(env: Mapping[str, str], section: str, key: str) -> object | None:
    """A key's value from its environment variable, parsed to the file's type; None when the
    variable is unset or empty. ``ConfigError`` (naming the variable) when it does not parse;
    credentials are never parsed, so their values never appear in a message."""
    from trello_restore.errors import ConfigError

    name = ENV_NAMES[(section, key)]
    raw = env.get(name, "")
    text = raw.strip()
    if not text:
        return None
    kind, description = CONFIG_KEYS[section][key]
    bad = ConfigError(f"{name}={raw!r:.60}: expected {description}")
    value: object
    if kind is list:
        value = [item.strip() for item in text.split(",")]
        if not all(value):
            raise ConfigError(f"{name}={raw!r:.60}: expected {description}, separated by commas")
    elif kind is bool:
        if text.lower() not in _TRUE + _FALSE:
            raise ConfigError(f"{name}={raw!r:.60}: expected true or false (or 1 or 0)")
        value = text.lower() in _TRUE
    elif kind is int or kind == (int, float):
        try:
            value = int(text) if kind is int else float(text)
        except ValueError:
            raise bad from None
        if kind is int and not text.isdigit():
            raise bad
    else:
        value = text
        choices = CHOICES.get((section, key))
        if choices is not None and value not in choices:
            raise bad
    bounds = RANGES.get((section, key))
    if bounds is not None and not bounds[0] <= value <= bounds[1]:  # type: ignore[operator]
        raise ConfigError(
            f"{name}={raw!r:.60}: expected {description} from {bounds[0]:g} to {bounds[1]:g}"
        )
    return value


@dataclass(frozen=True)
class Settings:
    """Every setting of a run, resolved: flags > environment > config file > defaults.

    ``sources`` says where each came from (an option, a variable, ``KEY in FILE``, or
    ``default``), for messages and debug logging; it never holds a value."""

    api_key: str = field(repr=False)
    token: str = field(repr=False)
    api_url: str
    #: Boards named (``--board`` / ``TRELLO_RESTORE_BOARDS`` / ``restore.boards``).
    boards: tuple[str, ...]
    #: A workspace (organization) whose open boards are in scope, besides ``boards``.
    workspace: str | None
    #: ``--from-export`` files (command line only).
    exports: tuple[str, ...]
    since: str | None
    until: str | None
    mode: Literal["removed", "ever-added"]
    removed_by: str | None
    cause: Literal["move"] | None
    only_recorded: bool
    add_to_board: bool
    board_role: Literal["normal", "observer"]
    #: Requests per window per token / per key; None for the defaults (``defaults.py``).
    rate_limit: int | None
    key_rate_limit: int | None
    #: Trello's rate window in seconds; None for the default (``defaults.py``).
    window_s: float | None
    workers: int
    max_retries: int
    state_dir: Path
    cache_dir: Path
    #: Where journals go unless ``journal`` names one.
    journal_dir: Path
    #: ``--journal`` (command line only).
    journal: str | None
    log_file: Path | None
    #: Seconds a request waits for Trello's answer; None for the default (``defaults.py``).
    request_timeout: float | None = None
    #: The config file read, if any, and its warnings.
    config_file: Path | None = None
    warnings: tuple[str, ...] = ()
    sources: Mapping[str, str] = field(default_factory=dict, repr=False)
    #: What to restore (``--restore``, design.md §10.1): the kinds as given (checked when the
    #: plan is requested), ``members`` by default.
    restore: tuple[str, ...] = defaults.RESTORE
    #: Only changes made by this member, every kind (``--by``); ``removed_by`` is the
    #: members-only spelling.
    by: str | None = None
    #: Record a one-step run as the last run even though cards moved to or from a board the
    #: token cannot read within its window (``--accept-unreadable-boards``): what they lost
    #: there is given up.
    accept_unreadable_boards: bool = False

    def label(self, key: str) -> str:
        """How to name a key's value in a message: its option, variable or file key."""
        return self.sources.get(key) or FLAG_NAMES.get(key, key)

    def origins(self, *, api_url_flag: bool = False) -> Origins:
        """Where the credentials, the API URL and the scope came from, for the messages about
        them (``api.Origins``): "" for a default, so that a message names every place a value
        may come from; ``api_url_flag`` when a subcommand's own ``--api-url`` gave the URL."""
        from trello_restore.api.settings import Origins  # the api package: only when used

        def said(key: str) -> str:
            source = self.sources.get(key, "")
            if source == "--token":
                return "--token -"  # the token it read from standard input
            return "" if source == "default" else source

        looked = None if self.config_file is not None else default_config()
        return Origins(
            api_key=said("api_key"),
            token=said("token"),
            api_url="--api-url" if api_url_flag else said("api_url"),
            boards=said("boards"),
            workspace=said("workspace"),
            config_file="" if looked is None else f"the config file (none is at {looked})",
        )

    @classmethod
    def resolve(
        cls,
        flags: Mapping[str, object],
        env: Mapping[str, str],
        file: ConfigFile | None = None,
    ) -> Settings:
        """Resolve every setting. ``flags`` holds the command line's values by config key name
        (plus ``exports`` and ``journal``), None for an option not given; ``--token`` must
        already be the token read from standard input. Raises ``ConfigError`` for an
        environment variable that does not parse (the file was checked when it was loaded)."""
        check_env_names(env)
        source = env
        conf = file if file is not None else ConfigFile(None)
        sources: dict[str, str] = {}

        def from_file(key: str) -> object | None:
            value = conf.get(_SECTION[key], key)
            if value in ("", []):  # an empty string or list in the file means "not set"
                return None
            if value is not None:
                sources[key] = f"{_SECTION[key]}.{key} in {conf.path}"
            return value

        def pick(key: str, default: object = None, *, flag: bool = True) -> object:
            value = flags.get(key) if flag else None
            if value is not None:
                sources[key] = FLAG_NAMES.get(key, key)
                return value
            value = _from_env(source, _SECTION[key], key)
            if value is not None:
                sources[key] = ENV_NAMES[(_SECTION[key], key)]
                return value
            value = from_file(key)
            if value is not None:
                return value
            sources[key] = "default"
            return default

        def text(key: str, default: str | None = None) -> str | None:
            value = pick(key, default)
            return None if value is None else str(value)

        boards, workspace = _scope(flags, source, conf, sources)
        cause = text("cause")
        removed_by = text("removed_by")
        by = text("by")
        restore = _strings(pick("restore"))
        rate = pick("requests_per_window")
        key_rate = pick("key_requests_per_window", flag=False)
        window = pick("window_seconds", flag=False)
        state, cache = (
            _directory(source, conf, key, sources) for key in ("state_dir", "cache_dir")
        )
        journal_dir = pick("journal_dir", flag=False)
        log_file = pick("log_file")
        timeout = pick("request_timeout", flag=False)
        return cls(
            api_key=str(pick("api_key", "", flag=False)),
            token=str(pick("token", "")),
            api_url=str(pick("api_url", defaults.API_URL)),
            boards=boards,
            workspace=workspace,
            exports=tuple(_strings(flags.get("exports"))),
            since=text("since"),
            until=text("until"),
            mode="ever-added" if pick("mode", defaults.MODE) == "ever-added" else "removed",
            removed_by=removed_by or None,
            cause="move" if cause == "move" else None,
            only_recorded=bool(pick("only_recorded", False)),
            add_to_board=bool(pick("add_to_board", False)),
            board_role="observer"
            if pick("board_role", defaults.BOARD_ROLE) == "observer"
            else "normal",
            rate_limit=None if rate is None else int(str(rate)),
            key_rate_limit=None if key_rate is None else int(str(key_rate)),
            window_s=None if window is None else float(str(window)),
            workers=int(str(pick("workers", defaults.WORKERS))),
            max_retries=int(str(pick("max_retries", defaults.MAX_RETRIES, flag=False))),
            state_dir=state,
            cache_dir=cache,
            journal_dir=(
                state / "journals"
                if journal_dir is None
                else _path(str(journal_dir), conf, sources.get("journal_dir", ""))
            ),
            journal=None if flags.get("journal") is None else str(flags["journal"]),
            log_file=None
            if log_file is None
            else _path(str(log_file), conf, sources.get("log_file", "")),
            request_timeout=None if timeout is None else float(str(timeout)),
            config_file=conf.path,
            warnings=conf.warnings,
            sources=sources,
            restore=tuple(restore) or defaults.RESTORE,
            by=by or None,
            accept_unreadable_boards=bool(pick("accept_unreadable_boards", False)),
        )


def _strings(value: object) -> list[str]:
    if value is None:
        return []
    if isinstance(value, str):
        return [value]
    return [str(v) for v in value]  # type: ignore[attr-defined]


def _scope(
    flags: Mapping[str, object],
    env: Mapping[str, str],
    conf: ConfigFile,
    sources: dict[str, str],
) -> tuple[tuple[str, ...], str | None]:
    """Boards and workspace are one setting, the scope: the first of the command line
    (``--board``, ``--workspace`` or ``--from-export``), the environment and the file that
    names any of them supplies both (so ``--board X`` replaces the file's boards and
    workspace rather than adding to them). Only the half that layer sets has a source: the
    other is unset, not taken from there (``-vv`` said "workspace from --workspace" for a run
    given only ``--board``)."""
    boards: object
    workspace: object
    if flags.get("boards") or flags.get("workspace") is not None or flags.get("exports"):
        boards, workspace = flags.get("boards"), flags.get("workspace")
        names = ("--board", "--workspace")
    else:
        boards, workspace = (
            _from_env(env, "restore", "boards"),
            _from_env(env, "restore", "workspace"),
        )
        names = (ENV_NAMES[("restore", "boards")], ENV_NAMES[("restore", "workspace")])
        if boards is None and workspace is None:
            boards, workspace = conf.get("restore", "boards"), conf.get("restore", "workspace")
            workspace = workspace or None  # an empty string in the file means "not set"
            names = (f"restore.boards in {conf.path}", f"restore.workspace in {conf.path}")
    if boards:
        sources["boards"] = names[0]
    if workspace is not None:
        sources["workspace"] = names[1]
    return tuple(_strings(boards)) if boards else (), None if workspace is None else str(workspace)


def _expanded(value: str, source: str) -> Path:
    """``value`` as a path, ``~`` expanded; ``ConfigError`` naming ``source`` (where it was
    set) for one no file can have: a NUL character, or ``~user`` of a user this machine does
    not know (both were internal errors where the path was first used)."""
    from trello_restore.errors import ConfigError

    if "\0" in value:
        raise ConfigError(f"{source} holds a NUL character, which no path can have: {value!r}")
    try:
        return Path(value).expanduser()
    except RuntimeError:  # Python's "Could not determine home directory."
        user = value.split("/", 1)[0]
        raise ConfigError(
            f"{source} starts with {user}, the home directory of a user this machine does not "
            f"know: {value!r}; give the path in full"
        ) from None


def _path(value: str, conf: ConfigFile, source: str) -> Path:
    """A path setting: ``~`` expanded; a relative path in the config file is relative to the
    file's directory (cron and systemd start in another directory than the file's)."""
    path = _expanded(value, source)
    if not path.is_absolute() and conf.path is not None and source.endswith(f" in {conf.path}"):
        path = conf.path.parent / path
    return path


def _directory(env: Mapping[str, str], conf: ConfigFile, key: str, sources: dict[str, str]) -> Path:
    """``state_dir`` / ``cache_dir``: ``$TRELLO_RESTORE_HOME/state|cache`` (the environment beats
    the file), else the file's ``[paths]`` value, else the user state/cache directory."""
    home = env.get(ENV_HOME, "").strip()
    sub = key.removesuffix("_dir")
    if home:
        sources[key] = ENV_HOME
        return _expanded(home, ENV_HOME) / sub
    value = conf.get("paths", key)
    if isinstance(value, str) and value:
        sources[key] = f"paths.{key} in {conf.path}"
        return _path(value, conf, sources[key])
    sources[key] = "default"
    try:
        if sub == "state":
            return Path(platformdirs.user_state_dir(APP))
        return Path(platformdirs.user_cache_dir(APP))
    except RuntimeError:  # platformdirs': no home directory (HOME unset, no passwd entry)
        from trello_restore.errors import ConfigError

        raise ConfigError(
            f"cannot tell where the {sub} directory goes: there is no home directory (HOME is "
            f"not set, and this user has none); set HOME, or {ENV_HOME} to a directory for "
            "the state and cache"
        ) from None


def token_file_exposed(value: str | None, stdin: IO[str] | None) -> str | None:
    """The warning for ``--token -`` given a file on standard input (``< token-file``) that
    others may read, as for a config file holding a token; None otherwise (a pipe, a terminal,
    a file of mode 600)."""
    if value != "-" or stdin is None:
        return None
    try:
        info = os.fstat(stdin.fileno())
    except (OSError, ValueError, io.UnsupportedOperation):  # no file behind it (a test's)
        return None
    if not stat.S_ISREG(info.st_mode) or not info.st_mode & 0o077:
        return None
    return (
        f"--token -: the file on standard input holds a token and is readable by others "
        f"(mode {info.st_mode & 0o777:o}): run chmod 600 on it"
    )


def _is_terminal(stdin: IO[str]) -> bool:
    try:
        return stdin.isatty()
    except (OSError, ValueError):  # closed under it
        return False


def _typed_token() -> str:
    """The token typed or pasted at a terminal (``--token -`` with no ``<``), asked for there
    and not echoed (R57d: it was shown as typed, with no prompt, and stayed in the
    terminal's scrollback); empty at end of input (Ctrl-D)."""
    import getpass

    from trello_restore.interrupts import interruptible

    try:
        # The prompt on the terminal itself (getpass's default), where the token is typed,
        # not on stderr, which may go to a file (R58a: ``2>err.log`` hid it).
        with interruptible(), _echo_off_again():  # R82b; R84a
            typed = getpass.getpass("Trello token (not shown as you type): ")
    except EOFError:
        _end_prompt_line()
        return ""
    except KeyboardInterrupt:
        _end_prompt_line()
        raise
    return typed.removeprefix("\ufeff").strip()


@contextlib.contextmanager
def _echo_off_again() -> Iterator[None]:
    """While the token is typed: a run stopped at the prompt (Ctrl-Z) and brought back
    (``fg``) gets the terminal as the shell left it, echo on, and the token pasted then was
    shown and stayed in the scrollback (R84a). At SIGCONT, echo is turned off again, as
    getpass had it (``_no_echo``), within ``interruptible``'s tick. Nothing off the main
    thread or without SIGCONT."""
    import signal
    import threading

    if threading.current_thread() is not threading.main_thread() or not hasattr(signal, "SIGCONT"):
        yield
        return
    previous = signal.signal(signal.SIGCONT, _no_echo)
    # Restarted, not failed, by it: getpass's first ``tcsetattr`` in a run started in the
    # background stops it (SIGTTOU) until ``fg``; failed with EINTR, getpass gave up echo
    # control (R85a). The read waits on; ``interrupts.interruptible`` wakes it for this handler.
    signal.siginterrupt(signal.SIGCONT, False)
    try:
        yield
    finally:
        signal.signal(signal.SIGCONT, previous if previous is not None else signal.SIG_DFL)


def _no_echo(signum: int, frame: object, tty: str = "/dev/tty") -> None:
    """Turn the terminal's echo off (``_echo_off_again``); nothing when there is none."""
    import termios

    with contextlib.suppress(OSError, termios.error):
        fd = os.open(tty, os.O_RDWR | os.O_NOCTTY)
        try:
            attrs = termios.tcgetattr(fd)
            attrs[3] &= ~termios.ECHO
            termios.tcsetattr(fd, termios.TCSANOW, attrs)
        finally:
            os.close(fd)


def _end_prompt_line() -> None:
    """End the prompt's line, which getpass leaves open at Ctrl-D or Ctrl-C (R59e: what was
    said next followed the prompt on its line); on the terminal, as the prompt was."""
    try:
        with Path("/dev/tty").open("w") as tty:
            tty.write("\n")
    except OSError:  # no terminal of its own: getpass prompted on stderr
        sys.stderr.write("\n")


def read_token_flag(value: str | None, stdin: IO[str] | None) -> str | None:
    """``--token -``: the first line of standard input that is not blank, stripped (of a byte
    order mark too, as Notepad saves a file); at a terminal, asked for and read without echo
    (``_typed_token``). Any other value is refused without repeating it: a token on the
    command line shows in process listings and shell history."""
    from trello_restore.errors import UsageError

    if value is None:
        return None
    if value != "-":
        raise UsageError(
            "--token takes only '-' (read the token from standard input): a token on the "
            f"command line is visible to other users; set {ENV_TOKEN}, put token in the [trello] "
            "section of the config file, or pipe it in with --token -"
        )
    token = ""
    if stdin is not None and _is_terminal(stdin):
        token = _typed_token()
        if not token:
            raise UsageError(
                f"--token -: no token was typed; paste it at the prompt, or set {ENV_TOKEN}"
            )
    for line in iter(stdin.readline, "") if stdin is not None and not token else ():  # 0<&-
        token = line.removeprefix("\ufeff").strip()  # a token file saved by Notepad
        if token:
            break
    if not token:
        raise UsageError(
            "--token -: standard input holds no token; pipe it in (e.g. --token - < token-file) "
            f"or set {ENV_TOKEN}"
        )
    return token
