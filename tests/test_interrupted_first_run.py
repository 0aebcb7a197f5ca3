"""A first apply stopped after it started its journal and before its first write said the
journal "holds what earlier runs did" (R51d: there were none; a user deciding between resume
and undo was told an earlier apply may have changed things). The line says the journal was
started by this run; a journal that was there before still says what it holds."""

from __future__ import annotations

from pathlib import Path

import pytest

from trello_restore import wrote
from trello_restore.cli_restore import interrupted
from trello_restore.journal import Journal, JournalHeader, JournalRecord
from trello_restore.report_outcomes import Progress


def _line(journal: Path, capsys: pytest.CaptureFixture[str]) -> str:
    with pytest.raises(SystemExit) as ended:
        interrupted(
            Progress(3, enabled=False), 3, journal, "Run trello-restore apply p again to resume",
            dry_run=False, start="Run it again",
        )  # fmt: skip
    assert ended.value.code == 130
    return capsys.readouterr().err.strip()


def test_a_journal_this_run_started_is_said_so(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    header = JournalHeader("d" * 64, "http://127.0.0.1:1/1", "a", "2026-12-05T00:00:00.000Z")
    record = JournalRecord("c", "apply", "add_member_to_card", "pending", "b", "m", "k")
    earlier = tmp_path / "earlier.jsonl"
    with Journal.open(earlier, header) as journal:
        journal.append(record)
    wrote.start()  # this run starts: the journal above is an earlier run's
    assert _line(earlier, capsys).startswith(
        f"Interrupted before this run sent any change: nothing was changed by it; the journal "
        f"{earlier} holds what earlier runs did. Run"
    )
    first = tmp_path / "first.jsonl"
    with Journal.open(first, header) as journal:
        journal.append(record)
    said = _line(first, capsys)
    assert "earlier" not in said
    assert said == (
        f"Interrupted before this run sent any change: nothing was changed by it; the journal "
        f"{first} was started by it. Run trello-restore apply p again to resume."
    )


def test_outcomes_decided_without_a_write_are_not_said_as_made(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """R53a: a first apply whose plan has blocked changes, stopped before its first write, said
    "Interrupted after 83 of 100 outcomes; every change made is recorded", as if 83 were made:
    blocked outcomes are journaled before any write. It says nothing was changed, and what the
    journal holds."""
    header = JournalHeader("d" * 64, "http://127.0.0.1:1/1", "a", "2026-12-05T00:00:00.000Z")
    first = tmp_path / "first.jsonl"
    wrote.start()
    with Journal.open(first, header) as journal:
        journal.append(JournalRecord("c", "apply", "add_member_to_card", "blocked", "b", "m", "k"))
    progress = Progress(3, enabled=False)
    progress.done, progress.counts["blocked"] = 2, 2
    with pytest.raises(SystemExit):
        interrupted(progress, 3, first, "Run it again to resume", dry_run=False, start="x")
    assert capsys.readouterr().err.strip() == (
        f"Interrupted before this run sent any change: nothing was changed by it; the journal "
        f"{first} was started by it and holds the 2 outcomes it decided without a write. Run "
        "it again to resume."
    )
