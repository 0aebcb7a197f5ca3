"""A journal's fields of another type (a hand edit, a damaged disk) are refused as a damaged
line, before anything is appended to it (R51a: they were read as they were, and failed later
as an internal error, exit 1; a resume appended 85 records to a journal with a damaged header,
which its undo then could not read)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from trello_restore.errors import ExitCode, InputFileError
from trello_restore.journal import Journal, JournalRecord
from trello_restore.undo import _change

from .conftest import SandboxFactory
from .conftest import sandbox_cli as cli_for
from .test_apply_values import applied_values

#: Values of every JSON type, a date-like text and numbers out of range among them.
ODD: list[Any] = [False, True, 0, 1.5, None, [], {}, "", "x", 10**30, -1, {"a": 1}, ["a"]]


def _member_lines() -> list[str]:
    """A card member's apply record (its names alone) and a grant's (its role)."""
    card = JournalRecord("c-m", "apply", "add_member_to_card", "applied", "b", "m", "k")
    grant = JournalRecord(
        "c-g", "apply", "add_member_to_board", "applied", "b", "m", values={
            "object_type": "board", "object_id": "b", "field": "role", "seen": None,
            "written": "normal", "names": {"board": "Team"},
        },
    )  # fmt: skip
    card = JournalRecord(**{**card.__dict__, "values": {"names": {"board": "Team"}}})
    return [json.dumps(r.__dict__) for r in (card, grant)]


def _variants(line: dict[str, Any]) -> list[dict[str, Any]]:
    """``line`` with one field, or one of its values' fields, set to each ``ODD`` value."""
    out = []
    for key in line:
        out += [{**line, key: v} for v in ODD]
    for key in line.get("values") or {}:
        out += [{**line, "values": {**line["values"], key: v}} for v in ODD]
    return out


def test_every_field_of_another_type_is_a_damaged_line_or_read_whole(
    sandbox_factory: SandboxFactory, tmp_path: Path
) -> None:
    """Each field of the header and of a record of each kind, set to a value of each JSON
    type: the journal is refused as damaged (``InputFileError``), or read, and then each of
    its records is the change undo takes back (``undo._change``) without an error."""
    _, path = applied_values(sandbox_factory, tmp_path)
    lines = [*path.read_text().splitlines(), *_member_lines()]
    firsts: dict[str, int] = {}
    for n, line in enumerate(lines[1:], 1):
        firsts.setdefault(json.loads(line)["action"], n)
    assert len(firsts) == 6, firsts  # every kind's record
    refused = 0
    for n in (0, *firsts.values()):
        for variant in _variants(json.loads(lines[n])):
            damaged = tmp_path / "damaged.jsonl"
            damaged.write_text("\n".join([*lines[:n], json.dumps(variant), *lines[n + 1 :]]) + "\n")
            try:
                journal = Journal.read(damaged)
            except InputFileError as exc:
                # The header: damaged, not a journal, another format; a record: its line.
                assert not n or f"line {n + 1} is damaged" in str(exc), exc  # noqa: PT017
                refused += 1
                continue
            for r in journal.records:
                _change(r)
    assert refused > 400


def test_undo_and_a_resume_refuse_a_damaged_journal_and_leave_it_as_it_was(
    sandbox_factory: SandboxFactory, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    sb, path = applied_values(sandbox_factory, tmp_path)
    lines = path.read_text().splitlines()
    invoke = cli_for(sb, monkeypatch)
    header = json.loads(lines[0]) | {"api_url": False}
    path.write_text("\n".join([json.dumps(header), *lines[1:]]) + "\n")
    before = path.read_bytes()
    r = invoke("apply", str(tmp_path / "plan.json"), "--yes", "--journal", str(path))
    _error(r, "its header is damaged (its api_url is false, not text)")
    assert path.read_bytes() == before  # nothing appended
    r = invoke("undo", str(path), "--yes")
    _error(r, "its header is damaged (its api_url is false, not text)")
    assert path.read_bytes() == before
    record = json.loads(lines[1]) | {"at": False}
    path.write_text("\n".join([lines[0], json.dumps(record), *lines[2:]]) + "\n")
    damaged = path.read_bytes()
    r = invoke("apply", str(tmp_path / "plan.json"), "--yes", "--journal", str(path))
    _error(r, "line 2 is damaged (its at is false, not text)")
    assert path.read_bytes() == damaged
    values = json.loads(lines[1]) | {"values": None}
    path.write_text("\n".join([lines[0], json.dumps(values), *lines[2:]]) + "\n")
    r = invoke("undo", str(path), "--dry-run")
    _error(r, "line 2 is damaged (it holds no values)")


def _error(r: Any, needle: str) -> None:
    """Exit 2, no traceback, and the last line on stderr the error (a warning of the plan's
    age may come before it)."""
    assert r.exit_code == ExitCode.USAGE, r.output
    assert isinstance(r.exception, SystemExit)
    assert "Traceback" not in r.output
    last = r.stderr.strip().splitlines()[-1]
    assert last.startswith("Error: "), r.stderr
    assert needle in last, r.stderr


def test_every_field_of_a_journal_line_has_its_types() -> None:
    """A field added to a journal line with a type ``fields_wrong`` does not know would fail
    every read (a KeyError): each has its types."""
    from dataclasses import fields

    from trello_restore.journal import JournalHeader
    from trello_restore.journal_errors import _TYPES

    for kind in (JournalHeader, JournalRecord):
        assert {str(f.type) for f in fields(kind)} <= set(_TYPES), kind


@pytest.mark.parametrize("version", [3, 0, -1])
def test_a_journal_of_a_format_this_version_does_not_read_says_which(
    version: int, sandbox_factory: SandboxFactory, tmp_path: Path
) -> None:
    """R54c: a journal a newer version wrote is refused naming the formats this one reads (the
    user upgrades then); one of a format no version writes (R55a: 0 was "use that version") is
    a damaged header. Nothing appended to it."""
    _, path = applied_values(sandbox_factory, tmp_path)
    lines = path.read_text().splitlines(keepends=True)
    header = json.loads(lines[0])
    path.write_text(json.dumps({**header, "format_version": version}) + "\n" + "".join(lines[1:]))
    before = path.read_bytes()
    with pytest.raises(InputFileError) as info:
        Journal.read(path)
    assert str(info.value) == (
        f"{path} was written by a newer trello-restore (journal format {version}; this one reads "
        "1 and 2); use that version or a later one"
        if version > 0
        else f"{path}: its header is damaged (format_version {version} is no format this tool "
        "writes); restore it from a backup"
    )
    assert path.read_bytes() == before


def test_another_journal_s_torn_line_is_not_warned_of(
    sandbox_factory: SandboxFactory, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    """R55a: an undo that looked at the other journals beside its own (``undo_others``) warned
    "ignoring a torn last line" of each it read, up to three times, for a journal that was not
    the one undone (another run's, still being written maybe): not this run's news."""
    import logging

    from trello_restore.undo_others import Others

    _, path = applied_values(sandbox_factory, tmp_path)
    journal = Journal.read(path)
    other = path.with_name("other.jsonl")
    other.write_text(path.read_text() + '{"action": "set_card_closed", "at": "2026-12-')
    with caplog.at_level(logging.WARNING, logger="trello_restore"):
        found = Others.of(journal).journals(journal.header.account_id)
    assert [j.path for j in found] == [other]
    assert "torn" not in caplog.text
