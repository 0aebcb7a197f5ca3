"""``-vv`` says where the scope (boards and workspace) really came from: the half a layer sets,
never the other half (it logged "setting workspace from --workspace" for a run given only
``--board``). Over the command line against the sandbox, the debug log in ``--log-file``."""

from __future__ import annotations

import re
from collections.abc import Callable
from pathlib import Path

import pytest
from click.testing import Result

from trello_restore.config import ENV_NAMES

from .conftest import Sandbox, cli_invoker

Invoke = Callable[..., Result]


@pytest.fixture(name="invoke")
def invoke_fixture(sandbox: Sandbox, monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Invoke:
    """The CLI in-process against the sandbox, no setting from the caller's environment."""
    for name in {*ENV_NAMES.values(), "TRELLO_RESTORE_CONFIG"} - {"TRELLO_RESTORE_HOME"}:
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "xdg-config"))
    for name, value in sandbox.env.items():
        monkeypatch.setenv(name, value)
    return cli_invoker(monkeypatch)


def _scope_lines(invoke: Invoke, log: Path, *args: str, **env: str | None) -> list[str]:
    """The debug log's lines on where the boards and the workspace came from, for one dry run."""
    r = invoke(*args, "--since", "2025-03-01", "--dry-run", "-q", "-vv", "--log-file", str(log),
               **env)  # fmt: skip
    assert r.exit_code == 0, r.output
    text = log.read_text()
    log.unlink()
    return re.findall(r"setting (?:boards|workspace) from .*", text)


def test_the_debug_log_names_only_the_scope_s_given_half(invoke: Invoke, tmp_path: Path) -> None:
    """``--board`` alone: boards from ``--board`` and no workspace line, though the config
    file names a workspace (which ``--board`` replaces); the environment's workspace alone:
    that variable and no boards line; the file's boards alone: the file's key."""
    config = tmp_path / "restore.toml"
    config.write_text('[restore]\nworkspace = "acme"\n')
    config.chmod(0o600)
    log = tmp_path / "debug.log"
    flags = _scope_lines(invoke, log, "--config", str(config), "--board", "Team")
    assert flags == ["setting boards from --board"]
    env = _scope_lines(invoke, log, TRELLO_RESTORE_WORKSPACE="acme")
    assert env == ["setting workspace from TRELLO_RESTORE_WORKSPACE"]
    config.write_text('[restore]\nboards = ["Team"]\n')
    file = _scope_lines(invoke, log, "--config", str(config), TRELLO_RESTORE_WORKSPACE=None)
    assert file == [f"setting boards from restore.boards in {config}"]
    both = _scope_lines(invoke, log, "--board", "Team", "--workspace", "acme")
    assert both == ["setting boards from --board", "setting workspace from --workspace"]
