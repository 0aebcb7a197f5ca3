"""R82c: odd files where the tool keeps its journals, over HTTP.

- ``undo`` of a FIFO put at a journal's path hung for good: it looked for a plan file there
  with a blocking ``open`` before it read the file as a journal (which never waits).
- A FIFO among the journals was passed over without a word by every run that looks for other
  runs' interrupted writes. It is no journal this tool wrote (it writes regular files only):
  said so, with what to do, and nothing else changes (R83a: read as a journal that cannot be
  read, it stopped every run being recorded as the last run, as one that may hold an undo).
- A link there to a journal beside it was read as a second journal (R83a).
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
from trello_restore.undo_others import journal_files

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
    # Once, by the look for other runs' interrupted writes; and the run is the last run.
    (said,) = [x for x in r.stderr.splitlines() if str(odd_file) in x]
    assert said.startswith(f"Warning: skipping {odd_file} while looking for interrupted"), said
    assert "not recorded" not in r.output
    assert "cannot be read" not in r.output
    if odd == "fifo":
        assert said.endswith(
            ": it is not a regular file, so no journal this tool wrote; move it out of the "
            "journal directory"
        ), said
    else:
        assert "give the journal file apply printed" not in said
        assert said.endswith("; restore it from a backup, or move it out of the journal directory")


def test_a_link_to_a_journal_beside_it_is_that_journal(tmp_path: Path) -> None:
    journal = tmp_path / "plan-1.jsonl"
    journal.write_text("{}\n")
    (tmp_path / "alias.jsonl").symlink_to(journal.name)
    (tmp_path / "gone.jsonl").symlink_to("nowhere.jsonl")
    (tmp_path / "dir.jsonl").mkdir()
    os.mkfifo(tmp_path / "fifo.jsonl")
    special: list[Path] = []
    assert journal_files(tmp_path, special=special) == [tmp_path / "alias.jsonl"]
    assert special == [tmp_path / "fifo.jsonl"]
    assert journal_files(tmp_path, exclude=journal) == []
