"""A broken install says so (R71c): a library the tool needs that is missing (``pip install
--no-deps``) or older than it requires (a venv that sees the system's packages) ended in
Python's traceback or in "internal error (a bug … report it)". It is one line naming the
library and saying to reinstall, exit 1, both while the command line is imported (``entry``)
and when a run meets it (``cli.internal_error``)."""

from __future__ import annotations

import subprocess
import sys
import textwrap
from importlib import metadata
from typing import Any

import pytest

from trello_restore import run as run_module
from trello_restore.errors import ExitCode
from trello_restore.install_check import broken_by, install_problem, satisfies

from .conftest import Sandbox, one_line_error, sandbox_cli
from .test_cli_apply import _restore_args

#: ``metadata.version`` as installed, before any test replaces it.
VERSION = metadata.version
REINSTALL = "reinstall it as you installed it (pip install . in its clone, or pipx reinstall"


@pytest.mark.parametrize(
    ("version", "spec", "met"),
    [
        ("1.3.3", ">=1.3,<2", True),
        ("1.2.1", "<2,>=1.3", False),
        ("2.0", "<2,>=1.3", False),
        ("0.20.1", "==0.20.1", True),
        ("0.20.0", "==0.20.1", False),
        ("8.1.7", ">=8.2", False),
        ("8.10.0", ">=8.2", True),
        ("2.5.0rc1", ">=2", True),
        ("1.4", "~=1.3", True),
        ("2.0", "~=1.3", False),
        ("1.0", "!=1.0", False),
        ("1.0", "", True),
        ("1.0", "@ file:///x", True),
    ],
)
def test_a_version_meets_a_requirement_by_its_release_numbers(
    version: str, spec: str, met: bool
) -> None:
    assert satisfies(version, spec) is met


def _installed(monkeypatch: pytest.MonkeyPatch, **versions: str | None) -> None:
    """The installed versions as ``metadata.version`` says them: these instead (None: not
    installed)."""

    def version(name: str) -> str:
        if name in versions:
            have = versions[name]
            if have is None:
                raise metadata.PackageNotFoundError(name)
            return have
        return VERSION(name)

    monkeypatch.setattr(metadata, "version", version)


def test_this_install_is_whole() -> None:
    """The suite runs on an install the checker finds whole, so it calls no error here a
    broken install."""
    assert install_problem() is None


def test_a_missing_or_old_library_is_named(monkeypatch: pytest.MonkeyPatch) -> None:
    _installed(monkeypatch, platformdirs=None)
    assert install_problem() == "platformdirs is not installed"
    _installed(monkeypatch, **{"requests-cache": "1.2.1"})
    assert install_problem() == (
        "requests-cache 1.2.1 is installed, and it needs requests-cache<2,>=1.3"
    )


def test_run_from_a_source_tree_is_not_judged(monkeypatch: pytest.MonkeyPatch) -> None:
    def requires(name: str) -> Any:
        raise metadata.PackageNotFoundError(name)

    monkeypatch.setattr(metadata, "requires", requires)
    assert install_problem() is None


@pytest.mark.parametrize(
    ("exc", "said"),
    [
        pytest.param(
            ModuleNotFoundError("No module named 'requests_oauthlib'", name="requests_oauthlib"),
            "a library it needs cannot be imported (No module named 'requests_oauthlib')",
            id="a library's library",
        ),
        pytest.param(
            ImportError("cannot import name 'x' from 'cattrs'", name="cattrs"),
            "a library it needs cannot be imported (cannot import name 'x' from 'cattrs')",
            id="a name a library lacks",
        ),
        pytest.param(
            ImportError("cannot import name 'x' from 'trello_restore.words'",
                        name="trello_restore.words"),
            None,
            id="trello-restore's own: a bug",
        ),
        pytest.param(KeyError("x"), None, id="no import at all"),
    ],
)  # fmt: skip
def test_an_import_of_another_library_that_fails_is_the_install_s(
    exc: BaseException, said: str | None
) -> None:
    """A library that one of the tool's needs (py-trello's requests-oauthlib, requests-cache's
    cattrs) missing or broken is a broken install too, though the tool's own requirements are
    all met; an import of the tool's own module that fails is a bug (R72a)."""
    assert broken_by(exc) == said


def test_a_library_gone_mid_run_is_a_broken_install_not_a_bug(
    sb: Sandbox, scenario: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A library imported late (as ``platformdirs`` is, by a run) that is not installed: one
    line naming it and saying to reinstall, exit 1, not "internal error (a bug …)"."""
    invoke = sandbox_cli(sb, monkeypatch)

    def missing(*_: object, **__: object) -> None:
        raise ModuleNotFoundError("No module named 'platformdirs'", name="platformdirs")

    monkeypatch.setattr(run_module, "make_plan", missing)
    _installed(monkeypatch, platformdirs=None)
    r = invoke(*_restore_args(scenario), "--dry-run")
    line = one_line_error(r, ExitCode.INTERNAL, "this install of trello-restore is broken: ")
    assert "platformdirs is not installed: " + REINSTALL in line
    assert "a bug" not in line


@pytest.mark.parametrize(
    ("library", "argv"),
    [
        pytest.param("click", ["--version"], id="click: while the command line is imported"),
        pytest.param("filelock", ["demo"], id="filelock: imported by demo, outside a run"),
    ],
)
def test_a_missing_library_outside_a_run_is_one_line(library: str, argv: list[str]) -> None:
    """A library not installed that the command line, or ``demo``, imports (R71c: Python's
    traceback, 31 lines for ``demo``): one line naming it and saying to reinstall, exit 1."""
    script = textwrap.dedent(
        f"""
        import sys
        from importlib import metadata
        real = metadata.version
        def version(name):
            if name == {library!r}:
                raise metadata.PackageNotFoundError(name)
            return real(name)
        metadata.version = version
        sys.modules[{library!r}] = None  # its import fails as when it is not installed
        sys.argv = ["trello-restore", *{argv!r}]
        from trello_restore.entry import run
        run()
        """
    )
    done = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, timeout=60, check=False
    )
    assert done.returncode == 1, done.stderr
    assert done.stdout == ""
    assert done.stderr.splitlines() == [
        f"Error: this install of trello-restore is broken: {library} is not installed: "
        f"{REINSTALL} trello-restore)"
    ]
