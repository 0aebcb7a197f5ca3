"""A drifted card move's reason names the lists (R20b): the apply's and undo's live read of the
board already nests its lists, and now their names too (``list_fields=name,closed``, no further
request), so a card moved by hand since reads ``now "Old", expected "Done"``, not two ids. Over
HTTP against the sandbox, on the small world's second damage (``tests/test_apply_values.py``)."""

from __future__ import annotations

from pathlib import Path

from trello_restore.applier import apply_plan
from trello_restore.journal import Journal
from trello_restore.undo import undo_journal

from .applykit import api_for, fast_options
from .conftest import SandboxFactory
from .test_apply_values import damaged_world, header, make_plan_file


def test_drifted_moves_name_the_lists_in_apply_and_undo(
    sandbox_factory: SandboxFactory, tmp_path: Path
) -> None:
    """``c2`` (moved from Doing to Done by the culprit) is moved to Old by hand before the apply:
    its move back drifts, named by the lists; moved back to Done by hand, it drifts again (set
    back since the plan), named by the list; after an apply that restores it, a hand move to Old
    makes undo's revert drift, named likewise. No run asks for a board's lists apart from its
    one board read."""
    sw, _ = damaged_world()
    sb = sandbox_factory(sw, time_scale=100)
    ids = sb.ids
    plan, meta = make_plan_file(sb, tmp_path / "plan.json")
    start = len(sb.server.request_log)
    sb.world.move_card_to_list(ids["c2"], ids["old"], ids["ben"])
    with api_for(sb) as api, Journal.open(tmp_path / "a.jsonl", header(plan, meta, sb)) as j:
        report = apply_plan(plan, meta, api, j, fast_options(), lock_dir=tmp_path / "locks")
    (drifted,) = [o for o in report.outcomes if o.status == "drifted"]
    assert drifted.error == 'its list was changed since (now "Old", expected "Done"): left alone'

    # Moved back by hand as the plan expects: their move is newer than the plan (244c234: a
    # value changed and set back since the plan is drifted), named by the list too.
    sb.world.move_card_to_list(ids["c2"], ids["done"], ids["ben"])
    with api_for(sb) as api, Journal.open(tmp_path / "b.jsonl", header(plan, meta, sb)) as j:
        report = apply_plan(plan, meta, api, j, fast_options(), lock_dir=tmp_path / "locks2")
    (drifted,) = [o for o in report.outcomes if o.status == "drifted"]
    assert drifted.error.startswith('moved back to list "Done" by @'), drifted.error
    assert drifted.error.endswith(", after the plan was made: left alone"), drifted.error
    log = sb.server.request_log[start:]
    assert not [r.path for r in log if r.path.endswith("/lists")]

    # Undo: a fresh copy of the world, the plan applied in full, then a hand move to Old.
    sb = sandbox_factory(damaged_world()[0], time_scale=100)
    plan, meta = make_plan_file(sb, tmp_path / "plan2.json")
    start = len(sb.server.request_log)
    with api_for(sb) as api, Journal.open(tmp_path / "c.jsonl", header(plan, meta, sb)) as j:
        report = apply_plan(plan, meta, api, j, fast_options(), lock_dir=tmp_path / "locks3")
    assert "drifted" not in report.counts, report.counts
    sb.world.move_card_to_list(ids["c2"], ids["old"], ids["ben"])
    with api_for(sb) as api, Journal.open(tmp_path / "c.jsonl", header(plan, meta, sb)) as j:
        undone = undo_journal(j, api, fast_options(), lock_dir=tmp_path / "locks3")
    (drifted,) = [o for o in undone.outcomes if o.status == "drifted"]
    assert drifted.error == 'its list was changed since (now "Old", expected "Doing"): left alone'
    log = sb.server.request_log[start:]
    assert not [r.path for r in log if r.path.endswith("/lists")]
