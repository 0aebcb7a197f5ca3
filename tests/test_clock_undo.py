"""An undo after this machine's clock was set right, or put wrong, since the apply (R32a).

The journal is dated by this machine's clock, the actions by Trello's. An undo moved the
journal's times by the skew it saw itself: with the clock an hour ahead during a nightly apply
and set right before the undo, the undo read the boards' actions from an hour after the apply,
missed a colleague's deliberate re-add, and removed that member again; the other way round,
every change was taken for put back by hand and none was undone. Each record now says how far
Trello's clock was ahead when it was written (``skew_s``), and the undo moves it by that.
"""

from __future__ import annotations

import json
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from trello_restore.applier import applied_again
from trello_restore.errors import ExitCode, InputFileError
from trello_restore.journal import Journal, JournalHeader, JournalRecord
from trello_restore.sandbox.scenario import Scenario, generate
from trello_restore.touches import trello_time, written_at

from .applykit import api_for, apply_doc, fast_options, open_journal, plan_doc
from .conftest import Sandbox, SandboxFactory
from .conftest import sandbox_cli as cli_for


class _AnHourAhead(datetime):
    """``datetime`` on a machine whose clock runs an hour ahead."""

    @classmethod
    def now(cls, tz: object = None) -> _AnHourAhead:
        real = datetime.now(UTC) + timedelta(hours=1)
        return cls.fromtimestamp(real.timestamp(), UTC)


def _clock_ahead(monkeypatch: pytest.MonkeyPatch) -> None:
    """This machine's clock an hour ahead, where the journal and the skew read it."""
    for module in (
        "trello_restore.journal",
        "trello_restore.api.transport",
        "trello_restore.touches",
    ):
        monkeypatch.setattr(f"{module}.datetime", _AnHourAhead)


@pytest.fixture(autouse=True)
def _windows_as_the_sandbox(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TRELLO_RESTORE_WINDOW_SECONDS", "0.1")


def _apply(
    sb: Sandbox, s: Scenario, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, *, ahead: bool
) -> tuple[list[dict[str, Any]], Path]:
    """Reference option set b applied (journal ``j.jsonl``), with the clock an hour ahead or
    right; the plan's card member changes."""
    doc = plan_doc(sb, s, "b")
    path = tmp_path / "j.jsonl"
    with monkeypatch.context() as m:
        if ahead:
            _clock_ahead(m)
        with api_for(sb) as api, open_journal(doc, path, api) as journal:
            assert apply_doc(doc, api, journal, fast_options()).exit_code == ExitCode.OK
    skews = {r.skew_s for r in Journal.read(path).records}
    assert skews <= ({-3601, -3600, -3599} if ahead else {-1, 0, 1}), skews
    return [c for c in doc["changes"] if c["action"] == "add_member_to_card"], path


def test_an_undo_after_the_clock_was_set_right_leaves_a_member_put_back_by_hand(
    sandbox_factory: SandboxFactory, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Applied with the clock an hour ahead; a colleague then takes a member off a card and
    puts them back; the clock is set right; the undo leaves that member (drifted, naming the
    colleague, exit 5) and removes the rest."""
    s = generate(71, 300)
    sb = sandbox_factory(s, time_scale=100)
    cards, path = _apply(sb, s, tmp_path, monkeypatch, ahead=True)
    w = s.world
    put = cards[0]
    card, member = put["card"]["id"], put["member"]["id"]
    colleague = next(m for m in w.members.values() if m.id not in (s.mover.id, member))
    with w.lock:
        w.remove_member_from_card(card, member, colleague.id)
        w.add_member_to_card(card, member, colleague.id)
    undo = cli_for(sb, monkeypatch)("undo", str(path), "--yes", "--format", "json")
    assert undo.exit_code == ExitCode.PARTIAL, undo.output
    by_id = {c["change_id"]: c for c in json.loads(undo.stdout)["changes"]}
    assert by_id[put["change_id"]]["status"] == "drifted"
    assert f"put back by @{colleague.username}" in by_id[put["change_id"]]["error"]
    assert member in w.cards[card].id_members
    undone = [c for c in by_id.values() if c["status"] == "undone"]
    assert len(undone) == len({c["change_id"] for c in cards}) - 1


def test_an_undo_while_the_clock_is_an_hour_ahead_undoes_an_apply_made_with_it_right(
    sandbox_factory: SandboxFactory, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Applied with the clock right; undone with it an hour ahead: every card member is
    removed (exit 0), none taken for put back by hand."""
    s = generate(72, 300)
    sb = sandbox_factory(s, time_scale=100)
    cards, path = _apply(sb, s, tmp_path, monkeypatch, ahead=False)
    invoke = cli_for(sb, monkeypatch)
    _clock_ahead(monkeypatch)
    undo = invoke("undo", str(path), "--yes", "--format", "json")
    assert undo.exit_code == ExitCode.OK, undo.output
    statuses = {c["status"] for c in json.loads(undo.stdout)["changes"]}
    assert statuses == {"undone"}
    assert all(c["member"]["id"] not in s.world.cards[c["card"]["id"]].id_members for c in cards)


@pytest.mark.parametrize(
    ("skew", "reads"),
    [(-3600, True), (0, True), (None, True), ("3600", False), (True, False), (10**12, False)],
)
def test_a_records_skew_is_whole_seconds_or_the_journal_is_refused(
    tmp_path: Path, skew: object, reads: bool
) -> None:
    """A journal's lines carry the skew the run that wrote them saw (``note_clock``); one
    hand-edited to something no clock's difference is (a string, a flag, centuries) is refused
    as damaged with one line, not a traceback when an undo moves its times."""
    header = JournalHeader("d" * 64, "http://127.0.0.1:1/1", "a", "2025-11-02T00:00:00.000Z")
    path = tmp_path / "j.jsonl"
    with Journal.open(path, header) as journal:
        journal.note_clock(timedelta(seconds=-3599.6))
        journal.append(JournalRecord("c1", "apply", "add_member_to_card", "pending", "b", "m"))
        journal.note_clock(None)  # not known any more: what was noted stays
        journal.append(JournalRecord("c1", "apply", "add_member_to_card", "applied", "b", "m"))
    lines = path.read_text().splitlines()
    assert [json.loads(x)["skew_s"] for x in lines[1:]] == [-3600, -3600]
    record = json.loads(lines[-1])
    if skew is None:
        del record["skew_s"]
    else:
        record["skew_s"] = skew
    path.write_text("\n".join([*lines[:-1], json.dumps(record)]) + "\n")
    if reads:
        assert Journal.read(path).records[-1].skew_s == skew
    else:
        # Of another type (R51a: every field's type is checked), or no clock's difference.
        why = "not a clock difference" if type(skew) is int else "not a whole number or null"
        with pytest.raises(InputFileError, match=f"skew_s is .*{why}"):
            Journal.read(path)


def test_a_record_is_moved_by_the_skew_its_run_saw() -> None:
    """``written_at``: a record written with Trello's clock an hour behind, read by a run that
    sees none, is an hour earlier on this machine's clock now; one that does not say (an older
    journal's) is taken as written with the clock as it is now."""
    at = "2026-12-03T15:00:00.000Z"
    then = datetime(2026, 12, 3, 15, tzinfo=UTC)
    said = JournalRecord(
        "c", "apply", "add_member_to_card", "applied", "b", "m", at=at, skew_s=-3600
    )
    old = replace(said, skew_s=None)
    assert written_at(said, timedelta(0)) == then - timedelta(hours=1)
    assert written_at(said, timedelta(hours=-1)) == then
    assert written_at(old, timedelta(hours=-1)) == then
    assert written_at(replace(said, at="yesterday"), timedelta(0)) is None


def test_when_an_undo_was_made_is_said_on_trellos_clock() -> None:
    """The lines that say when a journal's undo was made (an apply of its plan again; the
    trial-undo warning) give Trello's time, as the undo's records say it (R32b: this machine's,
    an hour off beside the command's Trello date)."""
    at = "2026-12-03T15:00:00.000Z"
    undone = JournalRecord("c", "undo", "add_member_to_card", "undone", "b", "m", at=at)
    said = applied_again([replace(undone, skew_s=-3600)], Path("j.jsonl"), dry_run=True)
    assert said.startswith("this plan was undone on 2026-12-03 14:00:00 UTC (journal j.jsonl)")
    assert trello_time(replace(undone, skew_s=-3600)) == datetime(2026, 12, 3, 14, tzinfo=UTC)
    old = applied_again([undone], Path("j.jsonl"), dry_run=True)  # an older journal's: as is
    assert old.startswith("this plan was undone on 2026-12-03 15:00:00 UTC")
