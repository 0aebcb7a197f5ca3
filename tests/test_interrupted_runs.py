"""Which journals beside a journal are named as interrupted runs its undo leaves (R55b): only
runs on its boards, by its account at its API, interrupted (a write pending, or journaled as
not sent), in the 24 hours before its run began, with changes no undo took back."""

from __future__ import annotations

import json
import os
from dataclasses import asdict
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from trello_restore.interrupted_runs import WITHIN, interrupted_before
from trello_restore.journal import Journal, JournalHeader, JournalRecord
from trello_restore.models import millis
from trello_restore.runner import UNSENT

BEGAN = datetime(2026, 12, 5, 9, 0, tzinfo=UTC)
URL = "https://api.trello.com/1"


def _journal(path: Path, at: datetime, records: list[dict[str, Any]], **header: str) -> Path:
    head: dict[str, Any] = {"plan_digest": path.stem, "api_url": URL, "account_id": "me",
                            "created_at": millis(at)} | header  # fmt: skip
    lines = [json.dumps({"type": "header", **asdict(JournalHeader(**head))})]
    for n, r in enumerate(records):
        record = JournalRecord(
            **{
                "change_id": f"c-{n}",
                "op": "apply",
                "action": "add_member_to_card",
                "status": "applied",
                "board_id": "b1",
                "member_id": "m",
                "card_id": f"k{n}",
                "at": millis(at),
            }
            | r
        )
        lines.append(json.dumps(asdict(record)))
    path.write_text("\n".join(lines) + "\n")
    os.utime(path, (at.timestamp(), at.timestamp()))
    return path


@pytest.fixture(name="undone")
def undone_fixture(tmp_path: Path) -> Journal:
    """The journal being undone: its run began at ``BEGAN``, on board b1."""
    return Journal.read(_journal(tmp_path / "second.jsonl", BEGAN, [{}]))


def _named(undone: Journal) -> list[str]:
    return [x.path.name for x in interrupted_before(undone, {"b1"})]


def test_a_run_interrupted_before_is_named_with_what_it_left(
    undone: Journal, tmp_path: Path
) -> None:
    an_hour = BEGAN - timedelta(hours=1)
    _journal(tmp_path / "killed.jsonl", an_hour, [{}, {"status": "pending"}])
    _journal(tmp_path / "ctrl-c.jsonl", an_hour, [{}, {"status": "not_applied", "error": UNSENT}])
    found = interrupted_before(undone, {"b1"})
    assert [(x.path.name, x.left) for x in found] == [("ctrl-c.jsonl", 1), ("killed.jsonl", 1)]


HOUR = BEGAN - timedelta(hours=1)
PENDING = {"status": "pending"}


@pytest.mark.parametrize(
    ("at", "records", "header"),
    [
        (HOUR, [{}, {}], {}),  # finished: not interrupted
        (BEGAN - WITHIN - timedelta(minutes=1), [PENDING], {}),  # too long before
        (BEGAN + timedelta(minutes=1), [PENDING], {}),  # after the undone run began
        (HOUR, [PENDING], {"account_id": "someone else"}),
        (HOUR, [PENDING], {"api_url": "http://localhost:8080/1"}),
        (HOUR, [PENDING | {"board_id": "b2"}], {}),  # on other boards
        (HOUR, [{"status": "not_applied", "error": UNSENT}], {}),  # nothing made
    ],
    ids=["finished", "too-old", "later", "account", "api", "boards", "nothing-made"],
)
def test_other_journals_are_not_named(
    at: datetime,
    records: list[dict[str, Any]],
    header: dict[str, str],
    undone: Journal,
    tmp_path: Path,
) -> None:
    _journal(tmp_path / "other.jsonl", at, records, **header)
    assert _named(undone) == []
