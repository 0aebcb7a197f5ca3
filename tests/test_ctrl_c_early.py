"""A Ctrl-C before a command's run began: while Python imports the command line (the console
script's first tenth of a second), while click resolves the command and imports its module,
or while the settings are read (``demo`` took up to 0.8 s there). Each ends like any other
Ctrl-C: ``Interrupted: nothing was done.``, exit 130; it was click's ``Aborted!``, exit 1, or
Python's traceback (R36f, seen again this session)."""

from __future__ import annotations

import importlib.abc
import sys
import tomllib
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

from trello_restore import cli
from trello_restore.cli import main


def _interrupted(*_: Any, **__: Any) -> Any:
    raise KeyboardInterrupt


def test_ctrl_c_while_the_settings_are_read(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(cli, "_resolve_settings", _interrupted)
    r = CliRunner().invoke(main, ["--board", "x", "--since", "2d", "--dry-run"])
    assert (r.exit_code, r.stderr) == (130, "Interrupted: nothing was done.\n")


def test_ctrl_c_while_a_subcommand_s_module_is_imported(monkeypatch: pytest.MonkeyPatch) -> None:
    """``demo``'s module (and the sandbox behind it) is imported when the command runs."""
    monkeypatch.setattr("importlib.import_module", _interrupted)
    r = CliRunner().invoke(main, ["demo"])
    assert (r.exit_code, r.stderr) == (130, "Interrupted: nothing was done.\n")


class _Refuse(importlib.abc.MetaPathFinder):
    """A Ctrl-C as Python imports the command line."""

    def find_spec(self, name: str, *_: Any) -> None:
        if name == "trello_restore.cli":
            raise KeyboardInterrupt


def test_ctrl_c_while_python_imports_the_command_line(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """The console script starts in ``entry.run``, which imports the command line itself."""
    from trello_restore import entry

    monkeypatch.delitem(sys.modules, "trello_restore.cli")
    monkeypatch.setattr(sys, "meta_path", [_Refuse(), *sys.meta_path])
    with pytest.raises(SystemExit) as stopped:
        entry.run()
    assert stopped.value.code == 130
    assert capsys.readouterr().err == "Interrupted: nothing was done.\n"


def test_the_console_script_starts_in_entry_run() -> None:
    project = tomllib.loads((Path(__file__).parents[1] / "pyproject.toml").read_text())
    assert project["project"]["scripts"] == {"trello-restore": "trello_restore.entry:run"}
