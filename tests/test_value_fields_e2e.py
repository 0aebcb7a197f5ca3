"""Every card field of ``--restore fields`` (design.md §10: name, description, due and start
dates, the due-complete flag) planned from Trello's own log, applied and undone over HTTP: the
sandbox's reference scenarios overwrite only due dates and descriptions, so the name, start
date and due-complete flag were planned, applied and undone end to end only from plan files
edited by hand (V24's note). Here a culprit overwrites each of them on one card, after a
colleague set them before the cutoff: the plan (fetched through the real client stack, planned
by the planner) holds one change per field with the value before the damage, the apply gives
exactly those values back with one write per change, and the undo the damaged ones."""

from __future__ import annotations

from dataclasses import replace
from datetime import timedelta
from pathlib import Path

from trello_restore.applier import apply_plan
from trello_restore.errors import ExitCode
from trello_restore.journal import Journal
from trello_restore.models import FieldValue, ValueChange
from trello_restore.undo import undo_journal

from .applykit import api_for, fast_options
from .conftest import SandboxFactory
from .test_apply_values import T2, damaged_world, header, make_plan_file, values, writes

#: Each field's value set by the lead before the cutoff, and the culprit's after it.
BEFORE: dict[str, FieldValue] = {
    "name": "Ship the importer",
    "start": "2026-10-01T09:00:00.000Z",
    "due": "2026-10-20T17:00:00.000Z",
    "dueComplete": True,
}
AFTER: dict[str, FieldValue] = {
    "name": "renamed by an automation",
    "start": "2026-12-24T09:00:00.000Z",
    "due": "2026-12-31T17:00:00.000Z",
    "dueComplete": False,
}


def test_each_card_field_is_planned_applied_and_undone_from_the_log(
    sandbox_factory: SandboxFactory, tmp_path: Path
) -> None:
    sw, undamaged = damaged_world()  # the other damage of the small world, and before it
    w, ids = sw.world, sw.ids
    card = ids["c4"]  # on the archived list "old": untouched by the other damage
    for field, value in BEFORE.items():  # before the cutoff: what the plan must give back
        w.set_card_field(card, field, value, ids["lead"], T2 - timedelta(minutes=30))
    # What the apply must give back: the small world before its damage, with these fields.
    before = replace(undamaged, cards={**undamaged.cards, card: values(w).cards[card]})
    for i, (field, value) in enumerate(AFTER.items()):  # the culprit's, after it
        w.set_card_field(card, field, value, ids["ana"], T2 + timedelta(hours=2, minutes=i))
    damaged = values(w)
    assert damaged != before
    sb = sandbox_factory(sw, time_scale=100)

    plan, meta = make_plan_file(sb, tmp_path / "plan.json")
    got = {
        c.field: c.value
        for c in plan.changes
        if isinstance(c, ValueChange) and c.action == "set_card_field" and c.card_id == card
    }
    assert got == BEFORE

    journal_path, locks = tmp_path / "j.jsonl", tmp_path / "locks"
    start = len(sb.server.request_log)
    with api_for(sb) as api, Journal.open(journal_path, header(plan, meta, sb)) as journal:
        report = apply_plan(plan, meta, api, journal, fast_options(), lock_dir=locks)
    assert report.exit_code == ExitCode.OK, report.counts
    assert report.counts == {"applied": len(plan.changes)}
    assert values(sb.world) == before
    assert writes(sb, start).count(f"PUT /1/cards/{card}") == len(BEFORE)

    with api_for(sb) as api, Journal.open(journal_path, header(plan, meta, sb)) as journal:
        undone = undo_journal(journal, api, fast_options(), lock_dir=locks)
    assert undone.counts == {"undone": len(plan.changes)}
    assert values(sb.world) == damaged
