"""A one-shot run or an apply that could not start (another run holds its plan's or boards'
locks) leaves no journal behind: nothing the next run, ``resolve_earlier_journals`` or ``undo``
would find; the next run proceeds. Over the command line against the sandbox."""

from __future__ import annotations

import os
from collections.abc import Callable
from dataclasses import replace
from pathlib import Path

import pytest
from click.testing import Result

from trello_restore.errors import ExitCode, InputFileError
from trello_restore.journal import Journal, JournalHeader, JournalRecord
from trello_restore.locks import apply_lock, lock_dir
from trello_restore.sandbox.scenario import Scenario

from .conftest import Sandbox, configless_cli, one_line_error
from .truthcheck import incident_since

Invoke = Callable[..., Result]


@pytest.fixture(name="invoke")
def invoke_fixture(sb: Sandbox, monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Invoke:
    """The CLI in-process against the sandbox, without a config file."""
    return configless_cli(sb, monkeypatch, tmp_path)


def _one_shot(s: Scenario) -> list[str]:
    since = incident_since(s)
    return ["--board", s.team.id, "--removed-by", s.mover.username, "--add-to-board",
            "--rate-limit", "1000", "--since", since, "--yes", "--quiet"]  # fmt: skip


def _writes(sb: Sandbox) -> int:
    return sum(1 for r in sb.server.request_log if r.method in ("POST", "PUT", "DELETE"))


def test_a_one_shot_run_stopped_by_a_board_lock_leaves_no_journal(
    invoke: Invoke, scenario: Scenario, sb: Sandbox
) -> None:
    """Another run (an ``apply`` or ``undo`` of another plan) holds the team board's lock when
    the one-shot run comes to write: it exits 6 in one line, writes nothing, and leaves no
    journal (it left one holding only its header, a new one for each such run). The next run
    proceeds and leaves exactly one journal, which ``undo --dry-run`` reads."""
    state = Path(os.environ["TRELLO_RESTORE_HOME"]) / "state"  # conftest's own home
    journals = state / "journals"
    # The restored cards are on the archive board now (their lists were moved there).
    with apply_lock([f"board-{scenario.archive.id}"], lock_dir(state)):
        for _ in range(2):
            r = invoke(*_one_shot(scenario))
            one_line_error(
                r, ExitCode.LOCKED, "another trello-restore run is applying or undoing",
                f'board "{scenario.archive.name}" ({scenario.archive.id})',
                "wait for it to finish and run again",
            )  # fmt: skip
    assert _writes(sb) == 0
    assert not journals.exists() or list(journals.iterdir()) == []
    r = invoke(*_one_shot(scenario))
    assert r.exit_code == 0, r.output
    assert _writes(sb) > 0
    (journal,) = journals.iterdir()
    undo = invoke("undo", str(journal), "--dry-run")
    assert undo.exit_code == 0, undo.output


# ---------------------------------------------------------------- the deferred journal itself

HEADER = JournalHeader("d" * 64, "http://x/1", "m" * 24, "2026-01-01T00:00:00Z")


def _added(change_id: str) -> JournalRecord:
    return JournalRecord(change_id, "apply", "add_member_to_card", "applied", "b", "m")


def test_a_deferred_journal_is_created_by_its_first_append(tmp_path: Path) -> None:
    """Opened with ``defer``, a new journal is not on disk until its first record, and then
    holds its header and that record, mode 0600; closed without one, it leaves nothing, unless
    ``create`` put it there (an apply that ended)."""
    path = tmp_path / "j" / "plan.jsonl"
    with Journal.open(path, HEADER, defer=True):
        assert path.parent.is_dir()
        assert not path.exists()
    assert not path.exists()
    with Journal.open(path, HEADER, defer=True) as journal:
        journal.append(_added("c-1"))
        assert path.stat().st_mode & 0o777 == 0o600
    assert Journal.read(path).header == HEADER
    assert Journal.read(path).done() == {"c-1"}
    empty = tmp_path / "empty.jsonl"
    with Journal.open(empty, HEADER, defer=True) as journal:
        journal.create()  # an apply that ran to its end with nothing to record
        journal.create()
    assert Journal.read(empty).header == HEADER
    assert Journal.read(empty).records == ()


def test_a_deferred_journal_takes_over_one_another_run_made(tmp_path: Path) -> None:
    """Two runs of one plan open its journal before either holds the plan's locks: the one
    that gets them second reads what the first recorded (``catch_up``, or its first append)
    and appends after it; a journal of another plan there is refused."""
    path = tmp_path / "plan.jsonl"
    first, second, third = (Journal.open(path, HEADER, defer=True) for _ in range(3))
    with first:
        first.append(_added("c-1"))
    with second:
        second.catch_up()
        assert second.done() == {"c-1"}
        second.append(_added("c-2"))
    with third:  # no catch_up: its first append finds the file
        third.append(_added("c-3"))
        assert third.done() == {"c-1", "c-2", "c-3"}
    assert [r.change_id for r in Journal.read(path).records] == ["c-1", "c-2", "c-3"]
    other = Journal.open(
        tmp_path / "other.jsonl", replace(HEADER, plan_digest="e" * 64), defer=True
    )
    with Journal.open(tmp_path / "other.jsonl", HEADER, defer=True) as mine:
        mine.append(_added("c-1"))
    with other, pytest.raises(InputFileError, match="journal of another plan"):
        other.catch_up()


def test_a_deferred_journal_that_cannot_be_created_is_said_at_open(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A directory where no file can be made is refused when the journal is opened, before
    the apply sends anything, as an immediate creation would be. (The tests run as root,
    which any mode lets write, so the refusal of the directory is simulated.)"""
    blocker = tmp_path / "file"
    blocker.write_text("")
    with pytest.raises(InputFileError, match="a folder on its path is not a directory"):
        Journal.open(blocker / "plan.jsonl", HEADER, defer=True)
    denied = tmp_path / "denied"
    monkeypatch.setattr(os, "access", lambda p, mode: Path(p) != denied)
    with pytest.raises(InputFileError, match=r"cannot create the journal .*Permission denied"):
        Journal.open(denied / "plan.jsonl", HEADER, defer=True)
    assert list(denied.iterdir()) == []
