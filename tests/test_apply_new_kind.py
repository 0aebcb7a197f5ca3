"""A change kind the tool does not have (``test_kinds.CardUnarchived``), registered for one
test: the applier and undo carry it out over HTTP, journaled and resumable, with no edit to
them (issue 10 item 3)."""

from __future__ import annotations

from pathlib import Path

import pytest

from trello_restore.applier import apply_plan
from trello_restore.journal import Journal, JournalHeader
from trello_restore.kinds import KINDS
from trello_restore.models import MemberRef, Plan, PlanOptions
from trello_restore.planfile import PlanMeta, digest_of
from trello_restore.undo import undo_journal

from .applykit import api_for, fast_options
from .conftest import SandboxFactory, make_world
from .test_kinds import CardUnarchived, T, unarchive


def test_a_new_kind_applies_resumes_and_undoes(
    sandbox_factory: SandboxFactory, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Apply unarchives the card (one PUT), a second run skips it as done, undo archives it
    again; every step is in the journal under the new kind's action."""
    monkeypatch.setattr("trello_restore.kinds.KINDS", (*KINDS, CardUnarchived()))
    sb = sandbox_factory(make_world(), time_scale=100)
    ids = sb.ids
    card = sb.world.cards[ids["c_archived"]]
    assert card.closed
    plan = Plan(PlanOptions(since=T), (unarchive(ids["team"], ids["doing"], card.id),), (), ())
    lead = MemberRef(ids["lead"], "lead")
    meta = PlanMeta("0.1.0", T, sb.base_url, lead, ((ids["team"], "Team"),), "api")
    path, locks = tmp_path / "j.jsonl", tmp_path / "locks"
    start = len(sb.server.request_log)
    with api_for(sb) as api:
        header = JournalHeader(digest_of(plan, meta), sb.base_url, ids["lead"], "2026-01-01")
        for counts in ({"applied": 1}, {"skipped_done": 1}):
            with Journal.open(path, header) as journal:
                report = apply_plan(plan, meta, api, journal, fast_options(), lock_dir=locks)
            assert report.counts == counts
            assert not card.closed
        with Journal.open(path, header) as journal:
            undone = undo_journal(journal, api, fast_options(), lock_dir=locks)
    assert undone.counts == {"undone": 1}
    assert card.closed
    writes = [f"{r.method} {r.path}" for r in sb.server.request_log[start:] if r.method != "GET"]
    assert writes == [f"PUT /1/cards/{card.id}"] * 2
    records = [(r.op, r.action, r.status) for r in Journal.read(path).records]
    assert records == [
        ("apply", "unarchive_card", "pending"),
        ("apply", "unarchive_card", "applied"),
        ("undo", "unarchive_card", "pending"),
        ("undo", "unarchive_card", "undone"),
    ]
