"""Settings from the command line's point of view (issue 5, design.md §7): flags beat the
environment, which beats the config file, which beats the defaults; config errors; the token
from standard input, never from the command line; the config file's token warning; the
exit-code table. Against the small sandbox world over loopback."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from click.testing import Result

from trello_restore.applier import ApplyOptions
from trello_restore.cli import EXIT_CODES_HELP
from trello_restore.config import DEFAULT_API_URL, ENV_NAMES, Settings, token_file_exposed
from trello_restore.config_file import CONFIG_KEYS, ConfigFile
from trello_restore.errors import ExitCode

from .conftest import (
    T0,
    Sandbox,
    SandboxFactory,
    cli_invoker,
    make_world,
    one_line_error,
    sandbox_cli,
)

Invoke = Callable[..., Result]
ROOT = Path(__file__).resolve().parents[1]
DEAD_URL = "http://127.0.0.1:9/1"  # nothing listens on port 9 (discard)
BAD_TOKEN = "ATTA" + "0" * 60


@pytest.fixture(name="invoke")
def invoke_fixture(sandbox: Sandbox, monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Invoke:
    """Run the CLI in-process: no setting from the caller's environment or config directory,
    the sandbox's key and token in the environment; keywords set environment variables (None
    unsets one); ``input`` is standard input."""
    for name in {*ENV_NAMES.values(), "TRELLO_RESTORE_CONFIG"} - {"TRELLO_RESTORE_HOME"}:
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "xdg-config"))
    monkeypatch.setenv("TRELLO_API_KEY", sandbox.key)
    monkeypatch.setenv("TRELLO_TOKEN", sandbox.token)
    return cli_invoker(monkeypatch)


def _config(tmp_path: Path, text: str, name: str = "restore.toml", mode: int = 0o600) -> Path:
    path = tmp_path / "etc" / name
    path.parent.mkdir(exist_ok=True)
    path.write_text(text)
    path.chmod(mode)
    return path


def _inputs(result: Result) -> dict[str, Any]:
    """The plan's inputs (boards by name) and API URL from a ``--dry-run --format json`` run."""
    assert result.exit_code == 0, result.output
    doc = json.loads(result.stdout)
    inputs: dict[str, Any] = doc["inputs"]
    inputs["board_names"] = sorted(b["name"] for b in inputs["boards"])
    inputs["api_url"] = doc["api_url"]
    return inputs


PLAN = ("--dry-run", "--format", "json")


# ------------------------------------------------------------------------------ precedence

FILE_PATH = Path("/etc/trello-restore/restore.toml")

#: attribute, flag key and value, environment variable value, file value, default, and the
#: resolved forms of the environment and file values where they differ.
PRECEDENCE: list[tuple[str, str, object, str, object, object, object, object]] = [
    ("api_url", "api_url", "http://flag/1", "http://env/1", "http://file/1", DEFAULT_API_URL,
     "http://env/1", "http://file/1"),
    ("since", "since", "7d", "2025-02-02", "2025-01-01", None, "2025-02-02", "2025-01-01"),
    ("until", "until", "1d", "2025-02-03", "2025-01-02", None, "2025-02-03", "2025-01-02"),
    ("workers", "workers", 7, "5", 3, 16, 5, 3),
    ("removed_by", "removed_by", "flagg", "envy", "filer", None, "envy", "filer"),
    ("boards", "boards", ("Flag Board",), "Env A, Env B", ["File Board"], (),
     ("Env A", "Env B"), ("File Board",)),
    ("workspace", "workspace", "flag-team", "env-team", "file-team", None, "env-team",
     "file-team"),
    ("rate_limit", "requests_per_window", 70, "60", 50, None, 60, 50),
    ("key_rate_limit", "key_requests_per_window", None, "200", 150, None, 200, 150),
    ("window_s", "window_seconds", None, "2.5", 1, None, 2.5, 1.0),
    ("max_retries", "max_retries", None, "2", 1, 5, 2, 1),
    ("mode", "mode", "removed", "ever-added", "removed", "removed", "ever-added", "removed"),
    ("board_role", "board_role", "normal", "observer", "normal", "normal", "observer", "normal"),
    ("cause", "cause", "any", "move", "any", None, "move", None),
    ("add_to_board", "add_to_board", False, "yes", False, False, True, False),
    ("only_recorded", "only_recorded", False, "1", False, False, True, False),
    ("accept_unreadable_boards", "accept_unreadable_boards", False, "on", False, False, True,
     False),
    ("log_file", "log_file", "/flag.log", "/env.log", "logs/file.log", None, Path("/env.log"),
     FILE_PATH.parent / "logs" / "file.log"),
    ("journal_dir", "journal_dir", None, "/env-journals", "journals", None,
     Path("/env-journals"), FILE_PATH.parent / "journals"),
]  # fmt: skip


def _section(key: str) -> str:
    return next(s for s, keys in CONFIG_KEYS.items() if key in keys)


@pytest.mark.parametrize(
    ("attr", "key", "flag", "env", "file", "default", "env_value", "file_value"),
    PRECEDENCE,
    ids=[case[0] for case in PRECEDENCE],
)
def test_flag_beats_environment_beats_file_beats_default(
    attr: str,
    key: str,
    flag: object,
    env: str,
    file: object,
    default: object,
    env_value: object,
    file_value: object,
) -> None:
    """Each layer wins over the ones below it, key by key, and says where it came from."""
    variable = ENV_NAMES[(_section(key), key)]
    conf = ConfigFile(FILE_PATH, {(_section(key), key): file})
    flags = {} if flag is None else {key: flag}

    def value(flags: dict[str, object], env: dict[str, str], conf: ConfigFile) -> object:
        got = getattr(Settings.resolve(flags, env, conf), attr)
        return tuple(got) if isinstance(got, tuple) else got

    empty = ConfigFile(None)
    if flag is not None:
        expected = Path(str(flag)) if isinstance(env_value, Path) else flag
        if attr == "cause":
            expected = None
        assert value(flags, {variable: env}, conf) == expected
        assert Settings.resolve(flags, {variable: env}, conf).sources[key].startswith("--")
    assert value({}, {variable: env}, conf) == env_value
    assert Settings.resolve({}, {variable: env}, conf).sources[key] == variable
    assert value({}, {variable: ""}, conf) == file_value  # set but empty: unset
    if file_value is not None and file_value is not False:
        assert (
            Settings.resolve({}, {}, conf).sources[key] == f"{_section(key)}.{key} in {FILE_PATH}"
        )
    if attr == "journal_dir":
        default = Settings.resolve({}, {"TRELLO_RESTORE_HOME": "/h"}, empty).state_dir / "journals"
        assert value({}, {"TRELLO_RESTORE_HOME": "/h"}, empty) == default
    else:
        assert value({}, {}, empty) == default


def test_empty_strings_in_the_file_mean_unset() -> None:
    """ "" (and []) in the file leave a key to its default; so does a variable set to ""."""
    conf = ConfigFile(
        FILE_PATH,
        {("restore", "since"): "", ("restore", "removed_by"): "", ("restore", "boards"): [],
         ("paths", "log_file"): "", ("restore", "cause"): ""},
    )  # fmt: skip
    s = Settings.resolve({}, {"TRELLO_RESTORE_SINCE": "  "}, conf)
    assert (s.since, s.removed_by, s.boards, s.log_file, s.cause) == (None, None, (), None, None)


def test_scope_is_one_setting() -> None:
    """--board or --workspace replace the environment's and the file's boards and workspace;
    within one layer boards and workspace combine."""
    conf = ConfigFile(
        FILE_PATH, {("restore", "boards"): ["File"], ("restore", "workspace"): "file-team"}
    )
    env = {"TRELLO_RESTORE_WORKSPACE": "env-team"}
    s = Settings.resolve({"workspace": "flag-team"}, env, conf)
    assert (s.boards, s.workspace) == ((), "flag-team")
    s = Settings.resolve({"boards": ("Flag",)}, env, conf)
    assert (s.boards, s.workspace) == (("Flag",), None)
    s = Settings.resolve({}, env, conf)
    assert (s.boards, s.workspace) == ((), "env-team")
    s = Settings.resolve({}, {}, conf)
    assert (s.boards, s.workspace) == (("File",), "file-team")
    s = Settings.resolve({"exports": ("a.json",)}, env, conf)
    assert (s.boards, s.workspace, s.exports) == ((), None, ("a.json",))


def test_state_directories() -> None:
    """TRELLO_RESTORE_HOME (the environment) beats [paths] state_dir / cache_dir (the file),
    which beat the user directories; relative paths in the file are relative to it."""
    conf = ConfigFile(FILE_PATH, {("paths", "state_dir"): "st", ("paths", "cache_dir"): "/c"})
    s = Settings.resolve({}, {"TRELLO_RESTORE_HOME": "/home/x"}, conf)
    assert (s.state_dir, s.cache_dir) == (Path("/home/x/state"), Path("/home/x/cache"))
    assert s.journal_dir == Path("/home/x/state/journals")
    s = Settings.resolve({}, {}, conf)
    assert (s.state_dir, s.cache_dir) == (FILE_PATH.parent / "st", Path("/c"))
    assert s.journal_dir == FILE_PATH.parent / "st" / "journals"
    assert s.sources["state_dir"] == f"paths.state_dir in {FILE_PATH}"


def test_settings_never_show_secrets() -> None:
    """Neither repr nor the sources hold the key or the token."""
    conf = ConfigFile(FILE_PATH, {("trello", "token"): "ATTAfile", ("trello", "api_key"): "kf"})
    s = Settings.resolve({"token": "ATTAflag"}, {"TRELLO_API_KEY": "keyenv"}, conf)
    assert (s.token, s.api_key) == ("ATTAflag", "keyenv")
    assert Settings.resolve({}, {}, conf).token == "ATTAfile"
    text = repr(s) + repr(dict(s.sources))
    for secret in ("ATTAflag", "keyenv", "ATTAfile"):
        assert secret not in text


def test_cli_layers_end_to_end(invoke: Invoke, sandbox: Sandbox, tmp_path: Path) -> None:
    """The same keys through the command line: the config file alone; the environment over
    it; flags over both; and --removed-by '' to override a removed_by with anyone."""
    config = _config(
        tmp_path,
        f'[trello]\napi_url = "{sandbox.base_url}"\n'
        '[restore]\nboards = ["Archive"]\nsince = "2025-03-01"\nremoved_by = "ana"\n',
    )
    got = _inputs(invoke("--config", str(config), *PLAN))
    assert got["api_url"] == sandbox.base_url
    assert got["board_names"] == ["Archive"]
    assert got["since"] == "2025-03-01T00:00:00Z"
    assert got["filters"]["removed_by"] == "ana"

    config.write_text(
        f'[trello]\napi_url = "{DEAD_URL}"\n'
        '[restore]\nboards = ["Archive"]\nsince = "2025-03-01"\nremoved_by = "ana"\n'
    )
    env = {
        "TRELLO_API_URL": sandbox.base_url,
        "TRELLO_RESTORE_BOARDS": "Team",
        "TRELLO_RESTORE_SINCE": "2025-03-02",
        "TRELLO_RESTORE_REMOVED_BY": "ben",
        "TRELLO_RESTORE_CONFIG": str(config),
    }
    got = _inputs(invoke(*PLAN, **env))
    assert got["api_url"] == sandbox.base_url
    assert got["board_names"] == ["Team"]
    assert got["since"] == "2025-03-02T00:00:00Z"
    assert got["filters"]["removed_by"] == "ben"

    env["TRELLO_API_URL"] = DEAD_URL  # (--removed-by: a member of Archive, a filter must match)
    flags = ["--api-url", sandbox.base_url, "--board", "Archive", "--since", "2025-03-03",
             "--removed-by", "lead"]  # fmt: skip
    got = _inputs(invoke(*flags, *PLAN, **env))
    assert got["api_url"] == sandbox.base_url
    assert got["board_names"] == ["Archive"]
    assert got["since"] == "2025-03-03T00:00:00Z"
    assert got["filters"]["removed_by"] == "lead"

    got = _inputs(invoke(*flags[:-1], "", *PLAN, **env))
    assert got["filters"]["removed_by"] is None


def test_cli_booleans_and_choices(invoke: Invoke, sandbox: Sandbox, tmp_path: Path) -> None:
    """A true in the file can be turned off by the environment or a --no- flag."""
    config = _config(
        tmp_path,
        '[restore]\nadd_to_board = true\nboard_role = "observer"\ncause = "move"\n'
        'only_recorded = true\nmode = "ever-added"\n',
    )
    base = ["--config", str(config), "--board", "Team", "--since", "2025-03-01", *PLAN]
    env = {"TRELLO_API_URL": sandbox.base_url}
    got = _inputs(invoke(*base, **env))
    assert (got["add_to_board"], got["board_role"], got["mode"]) == (True, "observer", "ever-added")
    assert (got["filters"]["cause"], got["filters"]["only_recorded"]) == ("move", True)
    got = _inputs(invoke(*base, TRELLO_RESTORE_ADD_TO_BOARD="0", TRELLO_RESTORE_CAUSE="any"))
    assert (got["add_to_board"], got["filters"]["cause"]) == (False, None)
    flags = ["--add-to-board", "--no-only-recorded", "--mode", "removed", "--board-role", "normal"]
    got = _inputs(invoke(*base, *flags))
    assert (got["add_to_board"], got["board_role"], got["mode"]) == (True, "normal", "removed")
    assert got["filters"]["only_recorded"] is False
    got = _inputs(invoke(*base, "--no-add-to-board", TRELLO_RESTORE_ADD_TO_BOARD="1"))
    assert got["add_to_board"] is False


def test_workers_and_limits_reach_the_engine(
    invoke: Invoke, sandbox: Sandbox, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """workers and the rate limits: apply's own flag > the main flag > environment > file."""
    seen: list[ApplyOptions] = []
    original = ApplyOptions.from_settings

    def spy(*args: Any, **kwargs: Any) -> ApplyOptions:
        seen.append(original(*args, **kwargs))
        return seen[-1]

    monkeypatch.setattr(ApplyOptions, "from_settings", spy)
    plan = tmp_path / "plan.json"
    env = {"TRELLO_API_URL": sandbox.base_url}
    r = invoke("--board", "Team", "--since", "2025-03-01", "--dry-run", "--plan-out", str(plan),
               **env)  # fmt: skip
    assert r.exit_code == 0, r.output
    config = _config(
        tmp_path,
        "[limits]\nworkers = 3\nrequests_per_window = 50\nkey_requests_per_window = 150\n"
        "window_seconds = 2\nmax_retries = 1\n",
    )
    cases = [
        ([], {}, 3, 50),
        ([], {"TRELLO_RESTORE_WORKERS": "5", "TRELLO_RESTORE_REQUESTS_PER_WINDOW": "60"}, 5, 60),
        (["--workers", "7", "--rate-limit", "70"], {}, 7, 70),
    ]
    for flags, more_env, workers, rate in cases:
        r = invoke("--config", str(config), *flags, "apply", str(plan), "--dry-run",
                   **more_env)  # fmt: skip
        assert r.exit_code == 0, r.output
        assert (seen[-1].workers, seen[-1].token_limit) == (workers, rate)
        assert (seen[-1].key_limit, seen[-1].window_s) == (150, 2.0)
        assert seen[-1].max_retries == 1
    r = invoke("--config", str(config), "--workers", "7", "apply", str(plan), "--dry-run",
               "--workers", "9")  # fmt: skip
    assert r.exit_code == 0, r.output
    assert seen[-1].workers == 9


def test_default_config_file_in_the_user_config_directory(
    invoke: Invoke, sandbox: Sandbox, tmp_path: Path
) -> None:
    """Without --config or TRELLO_RESTORE_CONFIG, config.toml in the user config directory is
    read (here through XDG_CONFIG_HOME)."""
    default = tmp_path / "xdg-config" / "trello-restore" / "config.toml"
    default.parent.mkdir(parents=True)
    default.write_text(
        f'[trello]\napi_url = "{sandbox.base_url}"\n'
        '[restore]\nboards = ["Team"]\nsince = "2025-03-01"\n'
    )
    got = _inputs(invoke(*PLAN))
    assert (got["api_url"], got["board_names"]) == (sandbox.base_url, ["Team"])


# ---------------------------------------------------------------------------- config errors


@pytest.mark.parametrize(
    ("content", "needles"),
    [
        ('[limits]\nworkers = "eight"\n', ["limits.workers must be a whole number", "'eight'"]),
        ("[limits]\nworkers = 0\n", ["limits.workers must be a whole number from 1 to 64"]),
        ("[limits]\nmax_retries = 21\n", ["limits.max_retries", "from 0 to 20"]),
        ('[restore]\nboards = "Team"\n', ["restore.boards must be a list"]),
        ('[restore]\ncause = "moved"\n', ["restore.cause must be"]),
        ("[paths]\nlog_file = 3\n", ["paths.log_file must be a file path"]),
        ('[paths]\njournal = "j.jsonl"\n', ["unknown key paths.journal"]),
        ("[restore\n", ["is not valid TOML"]),
    ],
)
def test_config_error_names_file_key_and_type(
    invoke: Invoke, sandbox: Sandbox, tmp_path: Path, content: str, needles: list[str]
) -> None:
    """A bad config file: exit 2, one line naming the file, the key and the type; no request."""
    config = _config(tmp_path, content)
    args = ["--config", str(config), "--api-url", sandbox.base_url, "--board", "Team"]
    r = invoke(*args, "--since", "7d", "--dry-run")
    one_line_error(r, ExitCode.USAGE, str(config), *needles)
    assert sandbox.server.request_log == []


@pytest.mark.parametrize(
    ("variable", "value", "needle"),
    [
        ("TRELLO_RESTORE_WORKERS", "lots", "TRELLO_RESTORE_WORKERS='lots': expected a whole"),
        ("TRELLO_RESTORE_WORKERS", "99", "from 1 to 64"),
        ("TRELLO_RESTORE_ADD_TO_BOARD", "maybe", "expected true or false"),
        ("TRELLO_RESTORE_MODE", "all", "'removed' or 'ever-added'"),
        ("TRELLO_RESTORE_WINDOW_SECONDS", "ten", "a number of seconds"),
        ("TRELLO_RESTORE_BOARDS", "Team,,Archive", "separated by commas"),
    ],
)
def test_environment_error_names_the_variable(
    invoke: Invoke, sandbox: Sandbox, variable: str, value: str, needle: str
) -> None:
    """A variable that does not parse: exit 2, one line naming it; no request."""
    r = invoke("--api-url", sandbox.base_url, "--since", "7d", "--dry-run", **{variable: value})
    one_line_error(r, ExitCode.USAGE, variable, needle)
    assert sandbox.server.request_log == []


@pytest.mark.parametrize(
    ("variable", "near"),
    [
        ("TRELLO_RESTORE_ONLY_RECORD", "TRELLO_RESTORE_ONLY_RECORDED"),
        ("TRELLO_RESTORE_BOARD", "TRELLO_RESTORE_BOARDS"),
        ("TRELLO_RESTORE_NIGHTLY", None),
    ],
)
def test_an_unknown_environment_variable_of_ours_is_an_error(
    invoke: Invoke, sandbox: Sandbox, variable: str, near: str | None
) -> None:
    """R29a: a typo in a systemd ``Environment=`` line or a cron line was ignored without a
    word, and the nightly run went on without the setting (a wider restore than meant),
    where the same typo in the config file is an error. Now it is one too: exit 2, one line,
    the nearest name; no request."""
    r = invoke("--api-url", sandbox.base_url, "--since", "7d", "--dry-run", **{variable: "x"})
    hint = f"did you mean {near}?" if near else "README"
    one_line_error(r, ExitCode.USAGE, f"unknown environment variable {variable}", hint)
    assert "'x'" not in r.stderr  # its value may be a secret put under the wrong name
    assert sandbox.server.request_log == []


@pytest.mark.parametrize("where", ["environment", "config"])
def test_a_settings_error_reaches_the_log_file(
    invoke: Invoke, sandbox: Sandbox, tmp_path: Path, where: str
) -> None:
    """R29a: a night that ended on a bad setting was missing from the log file (cron.log),
    which the README says holds every run's exit code with its error line: the log file's
    place was known (the environment, or the config file's [paths] log_file) all the same."""
    log = tmp_path / "logs" / "cron.log"
    args = ["--api-url", sandbox.base_url, "--board", "Team", "--since", "7d", "--dry-run"]
    if where == "environment":
        r = invoke(*args, TRELLO_RESTORE_WORKERS="lots", TRELLO_RESTORE_LOG_FILE=str(log))
    else:
        config = _config(
            tmp_path, '[restore]\ncause = "moved"\n[paths]\nlog_file = "../logs/cron.log"\n'
        )
        r = invoke("--config", str(config), *args)
    line = one_line_error(r, ExitCode.USAGE)
    assert line.removeprefix("Error: ") in log.read_text(), (line, log.read_text())


@pytest.mark.parametrize(
    ("where", "typo", "said"),
    [
        ("flag", ["--workers", "0"], "Invalid value for '--workers'"),
        ("flag=", ["--format", "jsn"], "Invalid value for '--format'"),
        ("environment", ["--yess"], "No such option '--yess'"),
        ("config", ["--board"], "Option '--board' requires an argument"),
        ("config", ["apply", "--workers", "0"], "apply --help"),
        ("environment", ["undo", "--bogus", "j.jsonl"], "No such option '--bogus'"),
        ("flag", ["aply", "plan.json"], "No such command 'aply'"),  # R76a
        ("config", ["udno", "j.jsonl"], "No such command 'udno'"),
    ],
)
def test_a_command_line_typo_reaches_the_log_file(
    invoke: Invoke, sandbox: Sandbox, tmp_path: Path, where: str, typo: list[str], said: str
) -> None:
    """R72c: click's own refusals of the command line (a bad option value, an unknown option, a
    missing value) were on stderr alone, so a crontab typo left its log file silent although
    its place was known: from --log-file, the environment or the config file. Now the log
    has the error line and its exit code, as for every other error; still nothing is sent.
    A command's name mistyped too (R76a: ``aply``, refused before the command's body ran)."""
    log = tmp_path / "logs" / "cron.log"
    config = _config(tmp_path, '[paths]\nlog_file = "../logs/cron.log"\n')
    head = ["--api-url", sandbox.base_url]
    env = {"TRELLO_RESTORE_LOG_FILE": str(log)} if where == "environment" else {}
    if where == "flag":
        head += ["--log-file", str(log)]
    elif where == "flag=":
        head += [f"--log-file={log}"]
    elif where == "config":
        head += ["--config", str(config)]
    rest = ["--since", "7d", "--dry-run"] if typo[0].startswith("-") else []
    if where == "flag" and not typo[0].startswith("-"):
        head = [*head, "--quiet"]  # a main option between
    r = invoke(*head, *rest, *typo, **env)
    line = one_line_error(r, ExitCode.USAGE, said)
    assert f"exit 2: {line.removeprefix('Error: ')}" in log.read_text(), (line, log.read_text())
    assert sandbox.server.request_log == []


@pytest.mark.parametrize(
    "typo",
    [
        pytest.param(["--format", "{secret}", "--board", "X", "--since", "1d"], id="value"),
        pytest.param(["{secret}"], id="command"),
        pytest.param(["sandbox", "{secret}"], id="subcommand"),
        # R89b: demo and sandbox read no settings, and the file's key was shown whole.
        pytest.param(["sandbox", "serve", "--port", "{secret}"], id="sandbox-option"),
        pytest.param(["sandbox", "export", "--board", "{secret}"], id="sandbox-choice"),
        pytest.param(["demo", "{secret}"], id="demo-argument"),
        pytest.param(["demo", "--seed", "{secret}"], id="demo-option"),
    ],
)
@pytest.mark.parametrize("named", [True, False], ids=["--config", "default-config"])
def test_click_refusing_the_run_s_own_secret_blanks_it(
    invoke: Invoke, tmp_path: Path, typo: list[str], named: bool
) -> None:
    """R88c: click quotes what it refuses, and a key or token of no Trello shape (the
    environment's, the config file's) pasted where it does not go was shown whole on stderr,
    blanked in the log file only. Now stderr blanks it as the log does; for demo and sandbox,
    which read no settings, the config file's too (R89b), named or in its usual place."""
    token, key = "TokenOfNoShape-0123456789xyz", "KeyOfNoShape-9876543210abc"  # no piece shared
    text = f'[trello]\napi_key = "{key}"\n'
    config = _config(tmp_path, text)
    usual = tmp_path / "xdg-config" / "trello-restore" / "config.toml"
    usual.parent.mkdir(parents=True, exist_ok=True)
    usual.write_text(text)
    usual.chmod(0o600)
    head = ["--config", str(config)] if named else []
    for secret in (token, key):
        args = [a.format(secret=secret) for a in typo]
        r = invoke(*head, *args, TRELLO_TOKEN=token, TRELLO_API_KEY=None)
        line = one_line_error(r, ExitCode.USAGE, "[redacted]")
        assert secret[:8] not in line, line
        assert secret[-8:] not in line, line


def test_a_typo_in_a_command_that_logs_nothing_makes_no_log_file(
    invoke: Invoke, tmp_path: Path
) -> None:
    """``demo`` and ``sandbox`` read no settings and keep no log: a typo of theirs is said on
    stderr alone, and no log file is made for it (R76a)."""
    log = tmp_path / "cron.log"
    for typo in (["sandbox", "serv"], ["demo", "--bogus"], ["sandbox", "serv", "--help"]):
        r = invoke(*typo, TRELLO_RESTORE_LOG_FILE=str(log))
        one_line_error(r, ExitCode.USAGE, typo[1])
    assert not log.exists()


def test_a_commands_help_needs_no_settings_and_makes_no_log_file(
    invoke: Invoke, tmp_path: Path
) -> None:
    """``apply --help`` and ``undo --help`` show their help whatever the settings say: a
    broken config file or variable refused them (exit 2), and a log file named anywhere was
    made, empty (R76a). ``--help`` as another option's value is not a request for help."""
    log = tmp_path / "cron.log"
    broken = _config(tmp_path, '[limits]\nworkers = "x"\n')
    for command in ("apply", "undo"):
        r = invoke("--config", str(broken), "--log-file", str(log), command, "--help")
        assert r.exit_code == 0, r.output
        assert r.stdout.startswith(f"Usage: main {command} [OPTIONS]"), r.stdout
        r = invoke(command, "x.json", "--help", TRELLO_RESTORE_WORKERS="lots")
        assert r.exit_code == 0, r.output
    for value in ("--", "--journal"):  # an option's value, whatever it looks like (R77a)
        r = invoke("--config", str(broken), "--log-file", str(log), "apply", "--journal", value,
                   "--help")  # fmt: skip
        assert r.exit_code == 0, r.output
    assert not log.exists()
    # Refused all the same (a typo beside --help, a planning option before the command): the
    # refusal is logged, as it is without --help (R77a).
    for refused in (["apply", "--bogus", "--help"], ["--board", "X", "undo", "--help"]):
        r = invoke("--log-file", str(log), *refused)
        line = one_line_error(r, ExitCode.USAGE)
        assert f"exit 2: {line.removeprefix('Error: ')}" in log.read_text(), refused
    for not_help in (["plan.json", "--journal", "--help"], ["--", "--help"]):
        r = invoke("--config", str(broken), "apply", *not_help)
        one_line_error(r, ExitCode.USAGE, "limits.workers must be a whole number")


def test_named_config_must_exist_even_when_everything_is_given(
    invoke: Invoke, sandbox: Sandbox, tmp_path: Path
) -> None:
    """--config or TRELLO_RESTORE_CONFIG naming a missing, unreadable or broken file is an
    error although every setting is on the command line."""
    everything = ["--api-url", sandbox.base_url, "--board", "Team", "--since", "7d", "--dry-run"]
    missing = tmp_path / "nope.toml"
    r = invoke("--config", str(missing), *everything)
    one_line_error(r, ExitCode.USAGE, str(missing), "does not exist")
    r = invoke(*everything, TRELLO_RESTORE_CONFIG=str(missing))
    one_line_error(r, ExitCode.USAGE, str(missing), "does not exist")
    r = invoke("--config", str(tmp_path), *everything, TRELLO_RESTORE_CONFIG=None)
    one_line_error(r, ExitCode.USAGE, str(tmp_path), "cannot be read")
    assert sandbox.server.request_log == []
    assert invoke(*everything).exit_code == 0


def test_commands_that_read_no_settings_ignore_the_config(invoke: Invoke, tmp_path: Path) -> None:
    """sandbox export (like demo) reads no settings, so a broken config does not stop it."""
    out = tmp_path / "team.json"
    r = invoke("--config", str(tmp_path / "nope.toml"), "sandbox", "export", "--cards", "20",
               "-o", str(out))  # fmt: skip
    assert r.exit_code == 0, r.output
    assert out.is_file()


def test_setting_from_the_file_is_named_in_errors(
    invoke: Invoke, sandbox: Sandbox, tmp_path: Path
) -> None:
    """A bad date from the file or the environment names where it came from."""
    config = _config(tmp_path, '[restore]\nsince = "yesterday"\nboards = ["Team"]\n')
    r = invoke("--config", str(config), "--dry-run", TRELLO_API_URL=sandbox.base_url)
    one_line_error(r, ExitCode.USAGE, f"restore.since in {config} 'yesterday' is not a date")
    r = invoke("--board", "Team", "--dry-run", TRELLO_RESTORE_UNTIL="soon",
               TRELLO_RESTORE_SINCE="7d")  # fmt: skip
    one_line_error(r, ExitCode.USAGE, "TRELLO_RESTORE_UNTIL 'soon' is not a date")
    config = _config(tmp_path, '[restore]\nsince = ""\nuntil = ""\n', name="empty.toml")
    r = invoke("--config", str(config), "--board", "Team", "--dry-run",
               TRELLO_RESTORE_SINCE=None, TRELLO_RESTORE_UNTIL=None)  # fmt: skip
    one_line_error(r, ExitCode.USAGE, "--since is required")


# -------------------------------------------------------------------------- state and paths


def test_paths_from_the_config_file(
    invoke: Invoke, sandbox: Sandbox, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Without TRELLO_RESTORE_HOME, [paths] state_dir, cache_dir and journal_dir (relative to
    the config file) hold the journal, the engine's locks and the HTTP cache; with it, it wins."""
    monkeypatch.delenv("TRELLO_RESTORE_HOME")
    config = _config(
        tmp_path,
        '[paths]\nstate_dir = "state"\ncache_dir = "cache"\njournal_dir = "journals"\n',
    )
    etc = config.parent
    plan = tmp_path / "plan.json"
    base = ["--config", str(config)]
    env = {"TRELLO_API_URL": sandbox.base_url}
    # A removal to restore: an apply of a plan with no changes writes no journal.
    w = sandbox.world
    team = next(b for b in w.boards.values() if b.name == "Team")
    card = next(c for c in w.cards.values() if c.id_board == team.id and c.id_members)
    w.remove_member_from_card(card.id, card.id_members[0], card.id_members[0], w.last_time)
    r = invoke(*base, "--board", "Team", "--since", "2025-03-01", "--dry-run", "--plan-out",
               str(plan), **env)  # fmt: skip
    assert r.exit_code == 0, r.output
    assert json.loads(plan.read_text())["summary"]["changes"] == 1
    r = invoke(*base, "apply", str(plan))
    assert r.exit_code == 0, r.output
    journal = Path(r.stderr.split("Journal: ")[1].strip())
    assert journal.parent == etc / "journals"
    assert journal.is_file()
    assert list((etc / "state" / "locks").glob("plan-*.lock"))
    assert list((etc / "cache").glob("*.sqlite"))
    home = tmp_path / "home"
    r = invoke(*base, "apply", str(plan), TRELLO_RESTORE_HOME=str(home))
    assert r.exit_code == 0, r.output
    assert list((home / "state" / "locks").glob("plan-*.lock"))


# --------------------------------------------------------------------------------- secrets


def test_token_from_the_config_file_warns_when_others_can_read_it(
    invoke: Invoke, sandbox: Sandbox, tmp_path: Path
) -> None:
    """A token in a group- or world-readable config file works, with a warning on stderr that
    says how to fix it (even with -q); chmod 600 silences it. The token is printed nowhere."""
    config = _config(
        tmp_path,
        f'[trello]\napi_key = "{sandbox.key}"\ntoken = "{sandbox.token}"\n'
        f'api_url = "{sandbox.base_url}"\n',
        mode=0o644,
    )
    args = ["--config", str(config), "--board", "Team", "--since", "7d", "--dry-run", "-q"]
    r = invoke(*args, TRELLO_TOKEN=None, TRELLO_API_KEY=None)
    assert r.exit_code == 0, r.output
    warnings = [line for line in r.stderr.splitlines() if line.startswith("Warning: ")]
    assert warnings == [
        f"Warning: config file {config} holds a token and is readable by others (mode 644): "
        f"run chmod 600 {config}"
    ]
    assert sandbox.token not in r.output
    assert sandbox.key not in r.output
    config.chmod(0o600)
    r = invoke(*args)
    assert r.exit_code == 0, r.output
    assert "Warning" not in r.stderr
    # The environment beats the file: a bad token there is used (and refused by Trello).
    r = invoke(*args, TRELLO_TOKEN=BAD_TOKEN)
    one_line_error(r, ExitCode.AUTH)


def test_token_from_standard_input(invoke: Invoke, sandbox: Sandbox) -> None:
    """--token - reads one line from standard input; it beats TRELLO_TOKEN."""
    args = ["--api-url", sandbox.base_url, "--board", "Team", "--since", "7d", "--dry-run"]
    r = invoke(*args, "--token", "-", input=f"  {sandbox.token}  \nignored\n", TRELLO_TOKEN=None)
    assert r.exit_code == 0, r.output
    assert sandbox.token not in r.output
    r = invoke(*args, "--token", "-", input=sandbox.token + "\n", TRELLO_TOKEN=BAD_TOKEN)
    assert r.exit_code == 0, r.output
    r = invoke(*args, "--token", "-", input="")
    one_line_error(r, ExitCode.USAGE, "--token -: standard input holds no token")


@pytest.mark.parametrize("form", ["separate", "equals"])
def test_token_on_the_command_line_is_refused(invoke: Invoke, sandbox: Sandbox, form: str) -> None:
    """--token VALUE: exit 2 before any request, saying where a token goes; the value is not
    repeated."""
    token = ["--token", sandbox.token] if form == "separate" else [f"--token={sandbox.token}"]
    r = invoke("--api-url", sandbox.base_url, *token, "--board", "Team", "--since", "7d",
               "--dry-run")  # fmt: skip
    one_line_error(r, ExitCode.USAGE, "--token takes only '-'", "TRELLO_TOKEN",
                    "config file", "--token -")  # fmt: skip
    assert sandbox.token not in r.output
    assert sandbox.server.request_log == []


def test_no_api_key_option(invoke: Invoke) -> None:
    """The key has no option: it comes from TRELLO_API_KEY or the config file."""
    r = invoke("--api-key", "abc", "--board", "Team", "--since", "7d", "--dry-run")
    assert r.exit_code == ExitCode.USAGE
    assert "No such option" in r.stderr


# ------------------------------------------------------------------------------ help, codes


def test_help_shows_effective_defaults(invoke: Invoke) -> None:
    """Options that read settings default to None, and their help says the real default."""
    text = " ".join(invoke("--help").stdout.split())
    for needle in ("default https://api.trello.com/1", "(default 16)", "'removed' (default)",
                   "(default normal)", "--config PATH", "--token -", "--workspace ORG",
                   "--log-file PATH", "last-run", "--no-add-to-board"):  # fmt: skip
        assert needle in text, needle


def test_exit_code_table_is_the_same_in_readme_help_and_code() -> None:
    """One table: README's Exit codes section and --help list the same codes and meanings,
    and each is an ExitCode."""
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    section = readme.split("### Exit codes", 1)[1].split("\n#", 1)[0]
    rows = re.findall(r"^\| (\d+) \| (.+?) \|$", section, re.M)
    help_rows = re.findall(r"^  (\d+)  (.+)$", EXIT_CODES_HELP, re.M)
    assert [int(c) for c, _ in rows] == [int(c) for c, _ in help_rows] == [int(c) for c in ExitCode]

    for (_, readme_text), (_, help_text) in zip(rows, help_rows, strict=True):
        assert readme_text.replace("`", "") == help_text


def test_dry_run_with_only_blocked_changes_is_pending(
    sandbox_factory: SandboxFactory, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    """A blocked change is a change still to make: a dry run whose plan holds nothing but a
    blocked one exits "changes pending" with --detailed-exitcode (the one-shot run of the same
    plan exits 5, partial), and 0 only once nothing is left, blocked or not."""
    small = make_world()
    ids = small.ids
    with small.world.lock:  # ben is not on the archive board: the move takes him off C1
        small.world.move_card_to_board(ids["c1"], ids["archive"], ids["shelf"], ids["lead"])
    sb = sandbox_factory(small)
    monkeypatch.delenv("TRELLO_RESTORE_CONFIG", raising=False)
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "xdg-config"))
    invoke = cli_invoker(monkeypatch)
    plan = ["--board", ids["team"], "--since", T0.isoformat(), "--api-url", sb.base_url]
    env = {"TRELLO_API_KEY": sb.key, "TRELLO_TOKEN": sb.token}

    dry = invoke(*plan, "--dry-run", "--detailed-exitcode", "--format", "json", **env)
    doc = json.loads(dry.stdout)
    assert doc["changes"] == []
    assert [(b["change"]["member"]["id"], b["reason"]) for b in doc["blocked"]] == [
        (ids["ben"], "not_board_member")
    ]
    assert dry.exit_code == ExitCode.CHANGES_PENDING, dry.output
    assert invoke(*plan, "--dry-run").exit_code == ExitCode.OK  # without the flag: success
    assert invoke(*plan, "--yes", "--quiet").exit_code == ExitCode.PARTIAL

    assert invoke(*plan, "--add-to-board", "--yes", "--quiet").exit_code == ExitCode.OK
    assert ids["ben"] in small.world.cards[ids["c1"]].id_members
    done = invoke(*plan, "--dry-run", "--detailed-exitcode", "--quiet")
    assert done.exit_code == ExitCode.OK, done.output


def test_a_token_file_on_standard_input_is_read_past_blank_lines_and_warned_about_if_open(
    invoke: Invoke, sandbox: Sandbox, tmp_path: Path
) -> None:
    """``--token - < token-file`` (R32a): a file whose first line is blank was "standard input
    holds no token"; its first line that is not blank is the token. A file others may read is
    warned about, as a config file holding a token is; a pipe or a file of mode 600 is not."""
    args = ["--api-url", sandbox.base_url, "--board", "Team", "--since", "7d", "--dry-run"]
    r = invoke(*args, "--token", "-", input=f"\n  \n{sandbox.token}\n", TRELLO_TOKEN=None)
    assert r.exit_code == 0, r.output
    token_file = tmp_path / "token"
    token_file.write_text(sandbox.token + "\n", encoding="utf-8")
    token_file.chmod(0o644)
    with token_file.open(encoding="utf-8") as stdin:
        warned = token_file_exposed("-", stdin)
    assert warned is not None
    assert "readable by others (mode 644): run chmod 600" in warned
    env = {**os.environ, "TRELLO_RESTORE_HOME": str(tmp_path / "home")}
    env.pop("TRELLO_TOKEN", None)
    command = [sys.executable, "-m", "trello_restore", *args, "--token", "-"]
    with token_file.open(encoding="utf-8") as stdin:
        done = subprocess.run(command, stdin=stdin, env=env, capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    assert done.stderr.count("Warning: --token -: the file on standard input") == 1
    token_file.chmod(0o600)
    with token_file.open(encoding="utf-8") as stdin:
        assert token_file_exposed("-", stdin) is None
        assert token_file_exposed(None, stdin) is None
    read, write = os.pipe()
    with os.fdopen(read, encoding="utf-8") as pipe:
        os.close(write)
        assert token_file_exposed("-", pipe) is None
    # Standard input closed (``0<&-``): Python's sys.stdin is None; the same one line (R32b:
    # an internal error).
    closed = subprocess.run(
        command, stdin=None, env=env, capture_output=True, text=True, preexec_fn=_close_stdin
    )
    assert closed.returncode == ExitCode.USAGE, closed.stderr
    assert closed.stderr.strip().splitlines() == [
        "Error: --token -: standard input holds no token; pipe it in (e.g. --token - < "
        "token-file) or set TRELLO_TOKEN"
    ]


def _close_stdin() -> None:
    os.close(0)


def test_no_home_directory_needs_trello_restore_home(
    sandbox_factory: SandboxFactory, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    """A user with no home directory (a container's ``--user N``: HOME unset, no passwd entry,
    where platformdirs raises): with TRELLO_RESTORE_HOME the dry run works (no default config
    file to read); without it, one line naming HOME and TRELLO_RESTORE_HOME, exit 2 (both were
    internal errors, exit 1: R37d)."""
    import platformdirs

    def homeless(*_: object, **__: object) -> str:
        raise RuntimeError("could not determine the home directory")

    for name in ("user_config_dir", "user_state_dir", "user_cache_dir"):
        monkeypatch.setattr(platformdirs, name, homeless)
    monkeypatch.delenv("TRELLO_RESTORE_CONFIG", raising=False)
    sb = sandbox_factory(make_world())
    invoke = sandbox_cli(sb, monkeypatch)
    args = ("--board", sb.ids["team"], "--since", "2025-11-01", "--dry-run", "-q")
    with_home = invoke(*args)
    assert with_home.exit_code == 0, with_home.output
    monkeypatch.delenv("TRELLO_RESTORE_HOME")
    one_line_error(
        invoke(*args),
        ExitCode.USAGE,
        "cannot tell where the state directory goes: there is no home directory (HOME is not "
        "set, and this user has none); set HOME, or TRELLO_RESTORE_HOME to a directory for the "
        "state and cache",
    )
