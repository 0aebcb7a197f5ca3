"""R82c: odd files where the tool keeps its journals, over HTTP.

- ``undo`` of a FIFO put at a journal's path hung for good: it looked for a plan file there
  with a blocking ``open`` before it read the file as a journal (which never waits).
- A FIFO among the journals was passed over without a word by every run that looks for other
  runs' interrupted writes, as if it held none; it is a journal that cannot be read, said so.
- A journal emptied by hand (or otherwise no journal) in the journal directory made every
  cron run say "give the journal file apply printed", advice for a journal the user names.
"""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pytest
from click.testing import Result

from trello_restore.errors import ExitCode
from trello_restore.sandbox.scenario import Scenario

from .conftest import Sandbox, configless_cli
from .truthcheck import incident_since

Invoke = Callable[..., Result]


@pytest.fixture(name="invoke")
def invoke_fixture(sb: Sandbox, monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Invoke:
    return configless_cli(sb, monkeypatch, tmp_path)


def _scope(s: Scenario) -> list[str]:
    return ["--board", s.team.id, "--since", incident_since(s), "--add-to-board", "--yes"]


@pytest.fixture(name="state")
def state_fixture(_state_home: Path) -> Path:
    """``<TRELLO_RESTORE_HOME>/state`` of the test."""
    return _state_home / "state"


def test_undo_of_a_fifo_is_one_line_and_never_waits(
    invoke: Invoke, scenario: Scenario, state: Path
) -> None:
    applied = invoke(*_scope(scenario), "-q")
    assert applied.exit_code == ExitCode.OK, applied.output
    (journal,) = (state / "journals").glob("*.jsonl")
    journal.unlink()
    os.mkfifo(journal)
    done = subprocess.run(
        [sys.executable, "-m", "trello_restore", "undo", str(journal), "--yes"],
        env={**os.environ},
        capture_output=True,
        text=True,
        timeout=60,  # it hung for good
        check=False,
    )
    assert done.returncode == ExitCode.USAGE, done.stderr
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1, done.stderr
    assert lines[0].startswith("Error: "), lines[0]
    assert "not a regular file" in lines[0], lines[0]


@pytest.mark.parametrize("odd", ["fifo", "emptied"])
def test_an_odd_file_among_the_journals_is_said_with_what_to_do(
    invoke: Invoke, scenario: Scenario, state: Path, odd: str
) -> None:
    journals = state / "journals"
    journals.mkdir(parents=True)
    odd_file = journals / "plan-0123456789abcdef.jsonl"
    if odd == "fifo":
        os.mkfifo(odd_file)
    else:
        odd_file.write_bytes(b"")
    r = invoke(*_scope(scenario))
    assert r.exit_code == ExitCode.OK, r.output
    # Once, by the look for other runs' interrupted writes (a FIFO, which may hold this
    # tool's undo, also leaves out the members the token's member removed: R33c).
    (said,) = [x for x in r.stderr.splitlines() if "while looking for interrupted writes" in x]
    assert said.startswith(f"Warning: skipping {odd_file} "), said
    if odd == "fifo":
        assert said.endswith("not a regular file); check the file and its permissions"), said
    else:
        assert "give the journal file apply printed" not in said
        assert said.endswith("; restore it from a backup, or move it out of the journal directory")
