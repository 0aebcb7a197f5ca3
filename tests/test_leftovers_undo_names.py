"""``undo`` (and ``undo --dry-run``) name the value changes it reverts as the plan named them
(card, list and board names, the lists a card moves between), not by ids: an apply's journal
keeps the names its plan gave. Over the command line against the sandbox."""

from __future__ import annotations

import json
import os
import time
from collections.abc import Callable
from datetime import datetime, timedelta
from pathlib import Path

import pytest
from click.testing import Result

from trello_restore.journal import JournalRecord
from trello_restore.models import ValueChange
from trello_restore.planfile import read_plan
from trello_restore.report_outcomes import journal_labels
from trello_restore.sandbox.scenario import generate
from trello_restore.words import card_url

from .conftest import T0, SandboxFactory, make_world, sandbox_cli


def test_undo_names_value_changes_as_the_plan_did(
    sandbox_factory: SandboxFactory, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A plan of every kind of the second damage (``--restore all --by CULPRIT``), applied;
    ``undo --dry-run`` and then ``undo`` show each value change by its card's name and link,
    its board's name, and for a move the two lists' names, and no card, list or board id
    (they showed ``idList of card 67dc… on board 677b…: 67dd… → 67de…``)."""
    s = generate(51, 40, second_damage=True)
    assert s.culprit is not None
    assert s.second_damage_at is not None
    invoke = sandbox_cli(sandbox_factory(s, time_scale=100), monkeypatch)
    plan_file = tmp_path / "plan.json"
    r = invoke("--board", s.team.id, "--since", s.second_damage_at.isoformat(), "--restore",
               "all", "--by", s.culprit.username, "--dry-run", "--plan-out", str(plan_file),
               "--quiet")  # fmt: skip
    assert r.exit_code == 0, r.output
    plan, _ = read_plan(plan_file)
    values = [c for c in plan.changes if isinstance(c, ValueChange)]
    assert {c.action for c in values} >= {"set_card_closed", "move_card_to_list"}
    applied = invoke("apply", str(plan_file))
    assert applied.exit_code == 0, applied.output
    (journal,) = [x.removeprefix("Journal: ") for x in applied.stderr.splitlines()
                  if x.startswith("Journal: ")]  # fmt: skip
    moved_to = [str(c.value) for c in values if c.field == "idList"]
    ids = {i for c in values for i in (c.card_id, c.board_id, c.list_id) if i} | {*moved_to}
    for args, word in ((("--dry-run",), "would revert"), (("--yes", "-v"), "reverted")):
        undo = invoke("undo", journal, *args)
        assert undo.exit_code == 0, undo.output
        lines = [x for x in undo.stdout.splitlines() if x.startswith(f"  {word:<16} ")]
        assert len(lines) == len(values)  # the card members' lines read "(would) remove"
        assert not [x for x in lines if any(i in x for i in ids)], lines
        for c in values:
            card = f'card "{c.card_name}" ({card_url(c.card_short_link)}) on board "{c.board_name}"'
            assert any(f" of {card}: " in x for x in lines), (card, lines)
            if c.action == "move_card_to_list":
                assert f'idList of {card}: "{c.value_name}" → "{c.list_name}"' in undo.stdout


def test_a_later_record_without_names_keeps_the_name() -> None:
    """An interrupted write settled later (an ``apply`` record read back from the journal,
    without names) keeps the name its first record gave; a journal of an earlier version (no
    names) is named by ids; names that are not text are left for the ids."""
    values = {"object_type": "list", "object_id": "L1", "field": "closed", "seen": True,
              "written": False}  # fmt: skip
    named = values | {"names": {"list": "Backlog", "board": "Team"}}
    records = [
        JournalRecord("v1", "apply", "set_list_closed", "pending", "B1", "", values=named),
        JournalRecord("v1", "apply", "set_list_closed", "applied", "B1", "", values=values),
        JournalRecord("v2", "apply", "set_list_closed", "applied", "B1", "", values=values),
        JournalRecord("v3", "apply", "set_list_closed", "applied", "B1", "", values=values | {
            "names": {"list": ["not", "text"], "board": "Team"}}),
    ]  # fmt: skip
    assert journal_labels(records) == {
        "v1": 'closed of list "Backlog" on board "Team": open → archived',
        "v2": "closed of list L1 on board B1: open → archived",
        "v3": 'closed of list L1 on board "Team": open → archived',
    }


def test_an_interrupted_write_a_colleague_changed_since_is_left_alone_and_named(
    sandbox_factory: SandboxFactory, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """ana moved ``C2`` from Doing to Done; its move back was sent but never answered (the
    apply's ``applied`` record is lost: only ``pending`` is left), and a colleague moved the
    card to a third list since. Whether or not the write took effect, undo leaves the card
    where the colleague put it: *drifted* (it said FAILED, "cannot tell", and advised setting
    it back by hand over the colleague's move: R33a), named by the card's name and link, the
    board's name and the lists' names, exit 5; the record is settled in the journal, so the
    next undo neither repeats it nor waits for writes in flight."""
    sw = make_world()
    w, ids = sw.world, sw.ids
    w.move_card_to_list(ids["c2"], ids["done"], ids["ana"], T0 + timedelta(days=1))
    invoke = sandbox_cli(sandbox_factory(sw, time_scale=100), monkeypatch)
    journal = _ana_s_moves_applied(invoke, tmp_path)
    lines = Path(journal).read_text().splitlines(keepends=True)
    assert '"status": "applied"' in lines[-1]
    assert "move_card_to_list" in lines[-1]
    # Killed (an hour ago: no write can be in flight still) before the answer was journaled.
    kept = [json.loads(x) for x in lines[:-1]]
    for x in kept:
        if x.get("status") == "pending":
            x["at"] = "2020-01-01T00:00:00.000Z"
    Path(journal).write_text("".join(json.dumps(x) + "\n" for x in kept))
    os.utime(journal, (time.time() - 3600,) * 2)
    later = w.create_list(ids["team"], "Later", ids["lead"], T0 + timedelta(days=2))
    w.move_card_to_list(ids["c2"], later.id, ids["lead"], T0 + timedelta(days=2))

    undo = invoke("undo", journal, "--yes")
    assert undo.exit_code == 5, undo.output
    card = f'card "C2" ({card_url(w.cards[ids["c2"]].short_link)}) on board "Team"'
    assert (
        f'drifted, skipped idList of {card}: "Doing" → "Done"  (its list is now "Later", '
        "neither the value seen before the interrupted write nor the one written: changed "
        "since by someone else, left alone)"
    ) in undo.stdout, undo.stdout
    assert "FAILED" not in undo.stdout
    assert "cannot tell" not in undo.output
    assert ids["c2"] not in undo.stdout
    assert w.cards[ids["c2"]].id_list == later.id
    assert '"status": "drifted"' in Path(journal).read_text().splitlines()[-1]
    again = invoke("undo", journal, "--yes")
    assert again.exit_code == 0, again.output
    assert "waiting" not in again.stderr
    assert "drifted" not in again.stdout
    assert w.cards[ids["c2"]].id_list == later.id


def test_an_undo_again_waits_for_no_write_an_earlier_undo_waited_for(
    sandbox_factory: SandboxFactory, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """R33a: a killed apply left a move ``pending`` whose card was then moved to a board the
    token's member cannot read (live state cannot tell: it stays open); the first undo reverts
    the other move, exit 5. Run again at once, undo waited up to 35 s "for writes a killed run
    may still have in flight", measured from the journal's modification time, which the first
    undo had moved. The first undo waited for that write already (an undo writes its records
    only after that wait): the second waits for nothing, and says the same."""
    sw = make_world()
    w, ids = sw.world, sw.ids
    w.move_card_to_list(ids["c1"], ids["done"], ids["ana"], T0 + timedelta(days=1))
    w.move_card_to_list(ids["c2"], ids["done"], ids["ana"], T0 + timedelta(days=1))
    invoke = sandbox_cli(sandbox_factory(sw), monkeypatch)
    journal = _ana_s_moves_applied(invoke, tmp_path)
    rows = [json.loads(x) for x in Path(journal).read_text().splitlines()]
    # C2's answer lost (killed an hour ago: the first undo waits for nothing either).
    rows = [x for x in rows if not (x.get("card_id") == ids["c2"] and x["status"] == "applied")]
    for x in rows:
        if x.get("card_id") == ids["c2"] and x.get("status") == "pending":
            x["at"] = "2020-01-01T00:00:00.000Z"
    Path(journal).write_text("".join(json.dumps(x) + "\n" for x in rows))
    os.utime(journal, (time.time() - 3600,) * 2)
    # To a board the token's member is not on: read by id, it cannot be told where the card
    # went (a deleted card is settled now: nothing to undo).
    private = w.create_board("Private", ids["ana"], T0 + timedelta(days=2))
    there = w.create_list(private.id, "Inbox", ids["ana"], T0 + timedelta(days=2))
    w.move_card_to_board(ids["c2"], private.id, there.id, ids["ana"], T0 + timedelta(days=2))

    first = invoke("undo", journal, "--yes")
    assert first.exit_code == 5, first.output
    assert "cannot tell whether the interrupted write of idList" in first.stdout
    assert "Summary: 1 reverted, 1 failed." in first.stdout, first.stdout
    assert w.cards[ids["c1"]].id_list == ids["done"]
    started = time.monotonic()
    again = invoke("undo", journal, "--yes")
    assert again.exit_code == 5, again.output
    assert "in flight" not in again.stderr, again.stderr
    assert time.monotonic() - started < 10
    assert "cannot tell whether the interrupted write of idList" in again.stdout


def _ana_s_moves_applied(invoke: Callable[..., Result], tmp_path: Path) -> str:
    """ana's card moves planned (``--restore list --by ana``) and applied: the journal's path."""
    since = (T0 + timedelta(hours=12)).isoformat()
    args = ("--board", "Team", "--since", since, "--restore", "list", "--by", "ana")
    return _planned_and_applied(invoke, tmp_path, *args)


def _planned_and_applied(invoke: Callable[..., Result], tmp_path: Path, *args: str) -> str:
    """The plan of ``args`` written (``--dry-run --plan-out``) and applied: the journal's
    path, as the apply says it."""
    plan_file = tmp_path / "plan.json"
    r = invoke(*args, "--dry-run", "--plan-out", str(plan_file), "--quiet")
    assert r.exit_code == 0, r.output
    applied = invoke("apply", str(plan_file))
    assert applied.exit_code == 0, applied.output
    (journal,) = [x.removeprefix("Journal: ") for x in applied.stderr.splitlines()
                  if x.startswith("Journal: ")]  # fmt: skip
    return journal


def test_the_undo_that_removes_a_grant_another_undo_kept_waits_for_nothing(
    sandbox_factory: SandboxFactory, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """R34a: an apply killed an hour ago left a board grant ``pending`` (its answer lost);
    ``undo`` removes the card members and keeps the grants, saying ``undo
    --include-board-memberships`` removes them; run at once, that waited 35 s "for writes a
    killed run may still have in flight", measured from the journal's modification time,
    which the first undo had moved. It waits for nothing now."""
    s = generate(7, 40)
    invoke = sandbox_cli(sandbox_factory(s, time_scale=100), monkeypatch)
    monkeypatch.setenv("TRELLO_RESTORE_HOME", str(tmp_path / "home"))
    journal = _planned_and_applied(invoke, tmp_path, "--board", s.team.id, "--since",
                                   s.incident_at.isoformat(), "--removed-by", s.mover.username,
                                   "--add-to-board")  # fmt: skip
    rows = [json.loads(x) for x in Path(journal).read_text().splitlines()]
    grant = next(x["change_id"] for x in rows if x.get("action") == "add_member_to_board")
    rows = [x for x in rows if not (x.get("change_id") == grant and x["status"] == "applied")]
    for x in rows:  # killed two minutes ago (well within the 5 minutes its writes are told by)
        if "at" in x:
            at = datetime.fromisoformat(x["at"]) - timedelta(minutes=2)
            x["at"] = at.isoformat(timespec="milliseconds").replace("+00:00", "Z")
    Path(journal).write_text("".join(json.dumps(x) + "\n" for x in rows))
    os.utime(journal, (time.time() - 120,) * 2)

    first = invoke("undo", journal, "--yes")
    assert first.exit_code == 0, first.output
    assert "undo --include-board-memberships removes them" in first.stdout + first.stderr
    started = time.monotonic()
    again = invoke("undo", journal, "--include-board-memberships", "--yes")
    assert again.exit_code == 0, again.output
    assert "in flight" not in again.stderr, again.stderr
    assert time.monotonic() - started < 10
