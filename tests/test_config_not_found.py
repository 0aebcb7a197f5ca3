"""R78c: a run that needs the config file and read none (cron's ``XDG_CONFIG_HOME`` or
``HOME`` is not the login shell's, or the file is one directory off) says where it looked,
in the lines that send the user to the config file; one that read a file says nothing more."""

from __future__ import annotations

from pathlib import Path

import pytest

from trello_restore.errors import ExitCode

from .conftest import cli_invoker, one_line_error

SINCE = ("--since", "2025-11-02", "--dry-run")


@pytest.fixture(name="xdg")
def xdg_fixture(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    for name in ("TRELLO_RESTORE_CONFIG", "TRELLO_API_KEY", "TRELLO_TOKEN", "TRELLO_API_URL"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "xdg"))
    return tmp_path / "xdg" / "trello-restore" / "config.toml"


def test_the_lines_that_point_to_the_config_file_say_where_none_was(
    xdg: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    invoke = cli_invoker(monkeypatch)
    looked = f"the config file (none is at {xdg})"
    line = one_line_error(invoke(*SINCE), ExitCode.USAGE, "name the board to restore")
    assert line.endswith(f"or set boards in {looked}"), line
    line = one_line_error(invoke("--board", "X", *SINCE), ExitCode.AUTH, "neither the API key")
    assert f"in the [trello] section of {looked};" in line, line
    line = one_line_error(
        invoke("--board", "X", *SINCE, TRELLO_TOKEN="ATTA" + "0" * 60),
        ExitCode.AUTH,
        "the API key is missing",
    )
    assert line.endswith(f"api_key in the [trello] section of {looked}"), line
    line = one_line_error(
        invoke("--board", "X", *SINCE, TRELLO_TOKEN=None, TRELLO_API_KEY="0" * 32),
        ExitCode.AUTH,
        "the token is missing",
    )
    assert f"token in the [trello] section of {looked}, or pass --token -" in line, line


def test_a_config_file_read_is_named_as_before(xdg: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    xdg.parent.mkdir(parents=True)
    xdg.write_text('[restore]\nmode = "removed"\n')
    xdg.chmod(0o600)
    invoke = cli_invoker(monkeypatch)
    line = one_line_error(invoke(*SINCE), ExitCode.USAGE, "name the board to restore")
    assert line.endswith("or set boards in the config file"), line
    line = one_line_error(invoke("--board", "X", *SINCE), ExitCode.AUTH, "neither the API key")
    assert "section of the config file; the token" in line, line
