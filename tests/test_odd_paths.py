"""Paths no file can have, in the config file or the environment, are bad input (exit 2) naming
where they were set (review R23c): ``~nosuch/x`` (the home of an unknown user) and a path with
a NUL character were internal errors ("Could not determine home directory", "embedded null
byte", exit 1) where the path was first used."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest
from click.testing import Result

from trello_restore.errors import ExitCode
from trello_restore.sandbox.scenario import Scenario

from .conftest import Sandbox, configless_cli, one_line_error

Invoke = Callable[..., Result]


@pytest.fixture(name="invoke")
def invoke_fixture(sb: Sandbox, monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Invoke:
    return configless_cli(sb, monkeypatch, tmp_path)


def test_a_home_of_an_unknown_user_is_bad_input(
    invoke: Invoke, scenario: Scenario, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("TRELLO_RESTORE_JOURNAL_DIR", "~nosuchuser-r23c/x")
    r = invoke("--board", scenario.team.id, "--since", "2025-11-02", "--dry-run")
    one_line_error(
        r,
        ExitCode.USAGE,
        "TRELLO_RESTORE_JOURNAL_DIR starts with ~nosuchuser-r23c, the home directory of a user "
        "this machine does not know: '~nosuchuser-r23c/x'; give the path in full",
    )


# (state_dir goes through the same code; TRELLO_RESTORE_HOME, which the tests set, wins over it)
@pytest.mark.parametrize("key", ["journal_dir", "log_file"])
def test_a_nul_character_in_a_path_is_bad_input(
    invoke: Invoke, scenario: Scenario, tmp_path: Path, key: str
) -> None:
    config = tmp_path / "c.toml"
    config.write_text(f'[paths]\n{key} = "/tmp/a\\u0000b"\n')
    config.chmod(0o600)
    r = invoke("--config", str(config), "--board", scenario.team.id, "--since", "2025-11-02",
               "--dry-run")  # fmt: skip
    one_line_error(
        r, ExitCode.USAGE, f"paths.{key} in {config} holds a NUL character, which no path can have"
    )
