"""Paths a user types for the files a run writes (R78c), over the command line against the
sandbox: a path that names a directory by its form (``plan.json/``) is refused, not written
as the file ``plan.json`` (which replaced the plan the user had reviewed), and a
``--journal`` in a directory that does not exist is refused, not made (a typo's directory
would hold the one file ``undo`` needs). Both before anything is read or written."""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path

import pytest
from click.testing import Result

from trello_restore.errors import ExitCode
from trello_restore.fsutil import names_directory
from trello_restore.sandbox.scenario import Scenario

from .conftest import Sandbox, configless_cli, one_line_error
from .truthcheck import incident_since

Invoke = Callable[..., Result]


@pytest.fixture(name="invoke")
def invoke_fixture(sb: Sandbox, monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Invoke:
    monkeypatch.chdir(tmp_path)
    return configless_cli(sb, monkeypatch, tmp_path)


@pytest.fixture(name="since")
def since_fixture(scenario: Scenario) -> str:
    return incident_since(scenario)


def _plan(invoke: Invoke, since: str, out: str) -> Result:
    return invoke("--board", "Team Board", "--since", since, "--dry-run", "-q", "--plan-out", out)


@pytest.mark.parametrize(
    ("raw", "named"),
    [
        ("plan.json/", True),
        ("dir/.", True),
        ("dir/..", True),
        ("/", True),
        ("plan.json", False),
        ("dir/plan.json", False),
        ("-", False),
        (".plan", False),
    ],
)
def test_names_directory(raw: str, named: bool) -> None:
    assert names_directory(raw) is named
    assert names_directory(Path(raw)) is False  # a Path has lost the form already


def test_plan_out_ending_in_a_slash_keeps_the_reviewed_plan(
    invoke: Invoke, sb: Sandbox, since: str, tmp_path: Path
) -> None:
    assert _plan(invoke, since, "plan.json").exit_code == ExitCode.OK
    reviewed = (tmp_path / "plan.json").read_bytes()
    sb.server.request_log.clear()
    result = _plan(invoke, since, "plan.json/")
    one_line_error(
        result, ExitCode.USAGE, "cannot write plan plan.json/", "names a directory", "file name"
    )
    assert (tmp_path / "plan.json").read_bytes() == reviewed
    assert sb.server.request_log == []  # said before the fetch
    result = _plan(invoke, since, "newname/")
    one_line_error(result, ExitCode.USAGE, "cannot write plan newname/", "names a directory")
    assert not (tmp_path / "newname").exists()
    (tmp_path / "pdir").mkdir()  # a directory that is there: said as before
    one_line_error(_plan(invoke, since, "pdir/"), ExitCode.USAGE, "it is a directory")


def test_journal_in_a_missing_directory_is_refused(
    invoke: Invoke, sb: Sandbox, since: str, tmp_path: Path
) -> None:
    assert _plan(invoke, since, "plan.json").exit_code == ExitCode.OK
    sb.server.request_log.clear()
    for args in (
        ("apply", "plan.json", "--journal", "nod/j.jsonl"),
        ("--board", "Team Board", "--since", since, "--yes", "--journal", "nod/j.jsonl"),
    ):
        line = one_line_error(invoke(*args), ExitCode.USAGE, "--journal nod/j.jsonl")
        assert "directory nod does not exist; create it first" in line
        assert not (tmp_path / "nod").exists()
    for args in (
        ("apply", "plan.json", "--journal", "jj/"),
        ("--board", "Team Board", "--since", since, "--yes", "--journal", "jj/"),
    ):
        one_line_error(invoke(*args), ExitCode.USAGE, "--journal jj/: that names a directory")
        assert not (tmp_path / "jj").exists()
    assert sb.server.request_log == []  # nothing read, nothing written
    (tmp_path / "nod").mkdir()  # once made, the same command applies
    result = invoke("apply", "plan.json", "--journal", "nod/j.jsonl")
    assert result.exit_code in (ExitCode.OK, ExitCode.PARTIAL), result.output
    assert (tmp_path / "nod" / "j.jsonl").stat().st_size > 0


def test_a_journal_that_cannot_be_is_said_before_the_fetch(
    invoke: Invoke, sb: Sandbox, since: str, tmp_path: Path
) -> None:
    """R79a: the one-step run said a ``--journal`` that is a directory, a FIFO, a link to
    nothing or behind a file only after its whole fetch (its dry run not at all); each is one
    line, exit 2, before any request, for the one-step run (also its dry run) and ``apply``."""
    assert _plan(invoke, since, "plan.json").exit_code == ExitCode.OK
    (tmp_path / "d").mkdir()
    (tmp_path / "f").write_text("not a directory\n")
    os.mkfifo(tmp_path / "fifo")
    (tmp_path / "dangling").symlink_to(tmp_path / "nowhere" / "j.jsonl")
    cases = {
        "d": "--journal d is a directory; give a file name",
        "d/": "--journal d/ is a directory; give a file name",
        "f/j.jsonl": "a folder on its path is not a directory",
        "fifo": "it is not a regular file (a device, a FIFO or a socket)",
        "dangling": "it is a symbolic link to",
    }
    one_step = ("--board", "Team Board", "--since", since)
    sb.server.request_log.clear()
    for journal, said in cases.items():
        for args in (
            ("apply", "plan.json"),
            ("apply", "plan.json", "--dry-run"),
            (*one_step, "--yes"),
            (*one_step, "--dry-run"),
        ):
            one_line_error(invoke(*args, "--journal", journal), ExitCode.USAGE, said)
    assert sb.server.request_log == []
    assert list((tmp_path / "d").iterdir()) == []  # nothing was made
    assert not (tmp_path / "nowhere").exists()
