"""Input rules the code keeps and no other test pinned (R57b's mutation testing of the input
modules: each test here fails with its rule's mutant, named in its docstring, and passes with
the rule).

Over the command line in-process where it can be: offline from a sandbox board export
(``--from-export``: no network, no credentials) or against the small sandbox world; a unit
call only where the rule is below what the command line shows.
"""

from __future__ import annotations

import json
import shlex
import time
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from click.testing import Result

from trello_restore.config import ENV_NAMES
from trello_restore.errors import ExitCode
from trello_restore.sandbox.scenario import Scenario
from trello_restore.timeparse import parse_when

from .conftest import Sandbox, cli_invoker, configless_cli, one_line_error, run_cli
from .test_config_cli import _config
from .test_refused_board import _observer
from .truthcheck import incident_since

Invoke = Callable[..., Result]

#: A --since inside the sandbox export's history (its incident is 2025-11-02T11:37Z).
SINCE = "2025-11-01"


@pytest.fixture(name="invoke")
def invoke_fixture(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Invoke:
    """The command line in-process with no setting from the caller: none of our variables,
    no credentials, and a config directory of the test's own, where no config file is."""
    for name in {*ENV_NAMES.values(), "TRELLO_RESTORE_CONFIG"} - {"TRELLO_RESTORE_HOME"}:
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "xdg-config"))
    return cli_invoker(monkeypatch)


@pytest.fixture(name="export", scope="module")
def export_fixture(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A sandbox export of one board (``sandbox export``), to plan from offline."""
    path = tmp_path_factory.mktemp("export") / "team.json"
    result = run_cli(["sandbox", "export", "--seed", "1", "--cards", "20", "--board", "team",
                      "-o", str(path)])  # fmt: skip
    assert result.exit_code == 0, result.output
    return path


def _inputs(result: Result) -> dict[str, Any]:
    """The plan's inputs from a ``--dry-run --format json`` run that succeeded."""
    assert result.exit_code == 0, result.output
    inputs: dict[str, Any] = json.loads(result.stdout)["inputs"]
    return inputs


# ------------------------------------------------------------------- environment variables


@pytest.mark.parametrize(
    ("word", "expected"),
    [("True", True), ("TRUE", True), ("On", True), ("YES", True),
     ("False", False), ("FALSE", False), ("Off", False), ("NO", False)],
)  # fmt: skip
def test_a_boolean_variable_in_capitals_is_the_same_word(
    invoke: Invoke, export: Path, word: str, expected: bool
) -> None:
    """A boolean environment variable takes its words (1, true, yes, on; 0, false, no, off)
    in any case: TRELLO_RESTORE_ONLY_RECORDED=True, TRUE or On is true, False, FALSE or Off
    false. (R57b: mutant co11, which compared the accepted words case-sensitively, so True
    was false.)"""
    r = invoke("--from-export", str(export), "--since", SINCE, "--dry-run", "--format", "json",
               TRELLO_RESTORE_ONLY_RECORDED=word)  # fmt: skip
    assert _inputs(r)["filters"]["only_recorded"] is expected


@pytest.mark.parametrize("value", ["+8", "1_0"])
def test_a_whole_number_variable_takes_digits_only(
    invoke: Invoke, export: Path, value: str
) -> None:
    """A whole-number variable is digits only: TRELLO_RESTORE_WORKERS=+8 or 1_0 (which Python's
    int() takes) is refused, exit 2, naming the variable. (R57b: mutant co2, which let int()
    decide, so +8 ran with 8 workers and 1_0 with 10.)"""
    r = invoke("--from-export", str(export), "--since", SINCE, "--dry-run",
               TRELLO_RESTORE_WORKERS=value)  # fmt: skip
    one_line_error(r, ExitCode.USAGE, f"TRELLO_RESTORE_WORKERS={value!r}: expected a whole number")


# ------------------------------------------------------------------------------ times


@pytest.fixture(name="in_tokyo")
def in_tokyo_fixture(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """This process's local zone is Asia/Tokyo (UTC+9) for the test, and back after it."""
    monkeypatch.setenv("TZ", "Asia/Tokyo")
    time.tzset()
    try:
        yield
    finally:
        monkeypatch.undo()
        time.tzset()


@pytest.mark.usefixtures("in_tokyo")
def test_a_time_without_a_zone_is_utc_on_a_machine_in_another_zone() -> None:
    """A date-time without a zone is UTC, whatever the machine's zone (README: "UTC unless a
    zone is given"): 2025-11-02T14:30 on a machine in Tokyo is 14:30 UTC, not 05:30 UTC.
    (R57b: mutant tp8, which took it as the machine's local time.)"""
    assert time.localtime(0).tm_gmtoff == 9 * 3600  # the zone took effect
    now = datetime(2026, 1, 1, tzinfo=UTC)
    assert parse_when("2025-11-02T14:30", now) == datetime(2025, 11, 2, 14, 30, tzinfo=UTC)
    assert parse_when("2025-11-02 14:30:05", now, "--until") == datetime(
        2025, 11, 2, 14, 30, 5, tzinfo=UTC
    )


@pytest.mark.usefixtures("in_tokyo")
def test_since_without_a_zone_is_utc_in_the_plan_on_a_machine_in_another_zone(
    invoke: Invoke, export: Path
) -> None:
    """The same through the command line: ``--since 2025-11-02T14:30`` on a machine in Tokyo
    is the plan's ``inputs.since`` 2025-11-02T14:30:00Z. (R57b: mutant tp8, which made it
    05:30Z.)"""
    assert time.localtime(0).tm_gmtoff == 9 * 3600  # the zone took effect
    r = invoke("--from-export", str(export), "--since", "2025-11-02T14:30", "--dry-run",
               "--format", "json")  # fmt: skip
    assert _inputs(r)["since"] == "2025-11-02T14:30:00Z"


@pytest.mark.parametrize("value", ["30m", "2mo", "5M"])
def test_an_age_in_minutes_or_months_is_a_usage_error(
    invoke: Invoke, export: Path, value: str
) -> None:
    """An age takes h, d or w only: --since 30m (or 2mo) is a usage error, exit 2, that names
    the forms it takes; never an internal error. (R57b: mutant tp1, which let the age's
    pattern take m, then found no unit for it: exit 1, "internal error ... KeyError: 'm'".)"""
    r = invoke("--from-export", str(export), "--since", value, "--dry-run")
    one_line_error(r, ExitCode.USAGE, f"--since {value!r} is not a date or an age",
                   "2025-11-02T14:30", "36h, 7d, 2w")  # fmt: skip


# ----------------------------------------------------------------------------- config file


def test_a_quoted_boolean_in_the_config_file_is_refused(
    invoke: Invoke, export: Path, tmp_path: Path
) -> None:
    """A boolean key of the config file takes TOML's true or false, not a string:
    ``only_recorded = "false"`` is refused, exit 2, naming the key and what it must be (it
    would have been a true value). (R57b: mutant cf17, which took a string there too.)"""
    config = _config(tmp_path, '[restore]\nonly_recorded = "false"\n')
    r = invoke("--config", str(config), "--from-export", str(export), "--since", SINCE,
               "--dry-run")  # fmt: skip
    one_line_error(r, ExitCode.USAGE, f"config file {config}: restore.only_recorded must be "
                   "true or false, not 'false'")  # fmt: skip


@pytest.mark.parametrize("key", ["window_seconds", "request_timeout"])
def test_a_boolean_where_the_config_file_wants_seconds_is_refused(
    invoke: Invoke, export: Path, tmp_path: Path, key: str
) -> None:
    """A number of seconds in the config file is not true or false (though Python's True is
    1): ``[limits] window_seconds = true`` is refused cleanly, exit 2, never an internal
    error. (R57b: mutant cf7, which took it: exit 1, "internal error ... could not convert
    string to float: 'True'".)"""
    config = _config(tmp_path, f"[limits]\n{key} = true\n")
    r = invoke("--config", str(config), "--from-export", str(export), "--since", SINCE,
               "--dry-run")  # fmt: skip
    line = one_line_error(r, ExitCode.USAGE, f"limits.{key} must be a number of seconds, not true")
    assert "internal error" not in line


@pytest.mark.parametrize("value", ["0", "0.0", "0.001"])
def test_a_request_timeout_below_its_floor_is_refused(
    invoke: Invoke, export: Path, tmp_path: Path, value: str
) -> None:
    """``[limits] request_timeout`` is from 0.01 to 600 seconds: 0 is refused, exit 2, saying
    the range. (R57b: mutant cf16, which let 0 through: exit 1, "internal error ...
    connect_timeout must be positive".)"""
    config = _config(tmp_path, f"[limits]\nrequest_timeout = {value}\n")
    r = invoke("--config", str(config), "--from-export", str(export), "--since", SINCE,
               "--dry-run")  # fmt: skip
    one_line_error(r, ExitCode.USAGE, "limits.request_timeout must be a number of seconds from "
                   f"0.01 to 600, not {value}")  # fmt: skip


@pytest.mark.parametrize(
    ("mode", "warned"),
    [(0o640, True), (0o604, True), (0o660, True), (0o600, False), (0o400, False)],
    ids=["640", "604", "660", "600", "400"],
)
def test_a_config_file_holding_a_token_warns_when_its_group_can_read_it(
    invoke: Invoke, export: Path, tmp_path: Path, mode: int, warned: bool
) -> None:
    """A config file that holds a token and that anyone but its owner can read gets the
    warning, the group (640) as well as everyone (604); not at 600. (R57b: mutant cf10, which
    looked at the others' bits only, so a file of mode 640 went unwarned.)"""
    config = _config(tmp_path, '[trello]\ntoken = "not-a-real-token"\n', mode=mode)
    r = invoke("--config", str(config), "--from-export", str(export), "--since", SINCE,
               "--dry-run", "-q")  # fmt: skip
    assert r.exit_code == ExitCode.OK, r.output
    warnings = [line for line in r.stderr.splitlines() if line.startswith("Warning: config")]
    expected = [
        f"Warning: config file {config} holds a token and is readable by others "
        f"(mode {mode:o}): run chmod 600 {config}"
    ]
    assert warnings == (expected if warned else [])
    assert "not-a-real-token" not in r.output


@pytest.mark.parametrize(("value", "kind"), [("12345", "a whole number"), ("31.5", "a number")])
def test_a_number_for_the_api_key_is_refused_without_its_value(
    invoke: Invoke, tmp_path: Path, value: str, kind: str
) -> None:
    """A credential of the wrong type in the config file (``api_key = 12345``) is refused,
    exit 2, saying what type it is but never what it holds. (R57b: mutant cf9, which hid the
    token's value only: "trello.api_key must be a string, not 12345".)"""
    config = _config(tmp_path, f"[trello]\napi_key = {value}\n")
    r = invoke("--config", str(config), "--board", "Team", "--since", SINCE, "--dry-run")
    line = one_line_error(r, ExitCode.USAGE)
    assert line == f"Error: config file {config}: trello.api_key must be a string, not {kind}"
    assert value not in r.output


def test_an_empty_workspace_in_the_config_file_is_not_set(
    invoke: Invoke, sandbox: Sandbox, tmp_path: Path
) -> None:
    """``workspace = ""`` in the config file means not set (README: "Empty means unset"):
    its boards alone are the scope. (R57b: mutant co9, which kept the empty string: exit 2,
    "--workspace is empty", for an option never given.)"""
    config = _config(tmp_path, f'[trello]\napi_url = "{sandbox.base_url}"\n'
                     '[restore]\nboards = ["Team"]\nworkspace = ""\n')  # fmt: skip
    r = invoke("--config", str(config), "--since", SINCE, "--dry-run", "--format", "json",
               TRELLO_API_KEY=sandbox.key, TRELLO_TOKEN=sandbox.token)  # fmt: skip
    inputs = _inputs(r)
    assert [b["name"] for b in inputs["boards"]] == ["Team"]


# ----------------------------------------------------------------------------- options


def test_workers_zero_is_refused(invoke: Invoke, export: Path) -> None:
    """--workers is from 1 to 64: --workers 0 is refused, exit 2, naming the range. (R57b:
    mutant op1, which let 0 through: exit 1, "internal error ... workers and rate limits must
    be at least 1".)"""
    r = invoke("--workers", "0", "--from-export", str(export), "--since", SINCE, "--dry-run")
    one_line_error(r, ExitCode.USAGE, "'--workers'", "0 is not in the range 1<=x<=64")


# ------------------------------------------------------------------------------ resume hints


def test_resume_hints_keep_the_main_commands_api_url(
    sb: Sandbox, scenario: Scenario, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    """The "run … again" command of an apply or undo that stopped keeps an ``--api-url`` given
    to the main command (``trello-restore --api-url URL apply PLAN``), as the subcommand's own
    ``--api-url``: without it the command resumes at Trello's API, not the one the run wrote
    to. (R57b: mutant cr4, which kept only the subcommand's.)"""
    invoke = configless_cli(sb, monkeypatch, tmp_path)
    s = scenario
    plan, journal = tmp_path / "plan.json", tmp_path / "j.jsonl"
    scope = ["--board", s.team.id, "--since", incident_since(s), "--add-to-board"]
    assert invoke(*scope, "--dry-run", "-q", "--plan-out", str(plan)).exit_code == 0

    give_back = _observer(s, s.archive.id, s.mover.id)
    url = ["--api-url", sb.base_url]
    r = invoke(*url, "apply", str(plan), "--journal", str(journal), "-q", TRELLO_API_URL=None)
    again = shlex.join(["trello-restore", "apply", str(plan), "--journal", str(journal), *url])
    one_line_error(r, ExitCode.AUTH, f"run {again} again to resume")

    give_back()
    assert invoke(*url, "apply", str(plan), "--journal", str(journal), "-q").exit_code == 0
    _observer(s, s.archive.id, s.mover.id)
    r = invoke(*url, "undo", str(journal), "--yes", "-q")
    again = shlex.join(["trello-restore", "undo", str(journal), "--yes", *url])
    one_line_error(r, ExitCode.AUTH, f"then run {again} again to finish")
