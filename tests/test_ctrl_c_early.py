"""A Ctrl-C before a command's run began: while Python imports the command line (the console
script's first tenth of a second), while click resolves the command and imports its module,
or while the settings are read (``demo`` took up to 0.8 s there). Each ends like any other
Ctrl-C: ``Interrupted: nothing was done.``, exit 130; it was click's ``Aborted!``, exit 1, or
Python's traceback (R36f, seen again this session)."""

from __future__ import annotations

import importlib.abc
import signal
import subprocess
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


#: Runs the console script's ``entry.run`` with SIGTERM sent to itself at one moment:
#: ``import`` (as Python imports the command line) or ``demo`` (as the demo starts its run).
_TERM_AT = """
import importlib.abc, os, signal, sys
when = sys.argv.pop(1)
if when == "import":
    class Term(importlib.abc.MetaPathFinder):
        def find_spec(self, name, *_):
            if name == "trello_restore.cli":
                os.kill(os.getpid(), signal.SIGTERM)
    sys.meta_path.insert(0, Term())
else:
    import trello_restore.demo as demo
    def run_demo(**_):
        os.kill(os.getpid(), signal.SIGTERM)
    demo.run_demo = run_demo
from trello_restore.entry import run
sys.argv = ["trello-restore", *sys.argv[1:]]
run()
"""


@pytest.mark.parametrize(
    ("when", "args", "said"),
    [
        ("import", ["--help"], "Stopped by SIGTERM: nothing was done.\n"),
        ("demo", ["demo"], "Stopped by SIGTERM: nothing was written to Trello.\n"),
    ],
)
def test_sigterm_before_a_run_takes_the_signals_says_so(
    when: str, args: list[str], said: str
) -> None:
    """SIGTERM before a run installs its own handling (as Python imports the command line; in
    ``demo``, which never does): one line, and the process ends by SIGTERM (143), as a run's
    SIGTERM does. It ended silently by the signal (R37e)."""
    done = subprocess.run(
        [sys.executable, "-c", _TERM_AT, when, *args],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert (done.returncode, done.stderr) == (-signal.SIGTERM, said)
