"""The value kinds applied and undone over HTTP (issue 11 item 5, design.md §10.3): the small
hand-built world gets a second damage (a culprit archives a list and a card, moves a card to
another list, overwrites a due date and a description), the planner plans it back from the
fetched log (``--restore all --by culprit``), and the plan file, read back, is applied through
the real client stack against the sandbox: exact end state, one write per change, board by
board reads; a field changed between plan and apply is ``drifted`` and left alone; a SIGKILL
mid-apply and a resume send no write twice; undo gives the state before the apply back; a plan
hand-edited to a value of the wrong type is one line, exit 2, nothing sent."""

from __future__ import annotations

import json
from collections import Counter
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest

from trello_restore.applier import apply_plan
from trello_restore.errors import ExitCode
from trello_restore.fetcher import fetch, resolve_boards
from trello_restore.journal import Journal, JournalHeader
from trello_restore.models import MemberRef, Plan, PlanOptions, RestoreKind, ValueChange
from trello_restore.planfile import PlanMeta, digest_of, plan_to_dict, read_plan, write_plan
from trello_restore.planner import build_plan
from trello_restore.sandbox.world import World
from trello_restore.undo import undo_journal

from .applykit import api_for, apply_command, fast_options, kill_after_writes
from .conftest import T0, Sandbox, SandboxFactory, SmallWorld, make_world, one_line_error
from .conftest import sandbox_cli as cli_for

#: The second damage starts a day after the small world's history.
T2 = T0 + timedelta(days=1)
DESC = "The original description\nwith a second line"
WRITES = ("POST", "PUT", "DELETE")


@dataclass(frozen=True)
class Values:
    """What the value kinds restore, for every card and list of the world."""

    cards: dict[str, tuple[bool, str, str, str, str | None, bool, str | None]]
    lists: dict[str, bool]


def values(world: World) -> Values:
    """Each card's (closed, list, name, desc, due, dueComplete, start), each list's closed."""
    with world.lock:
        cards = {
            c.id: (c.closed, c.id_list, c.name, c.desc, c.due, c.due_complete, c.start)
            for c in world.cards.values()
        }
        lists = {x.id: x.closed for x in world.lists.values()}
    return Values(cards, lists)


def damaged_world() -> tuple[SmallWorld, Values]:
    """The small world with a description on ``c3`` (before T2), then the culprit's (ana's)
    damage after T2: list ``done`` archived, ``c1`` archived, ``c2`` moved from ``doing`` to
    ``done``, ``c3``'s due date set and description overwritten. Returns it and its values
    before the damage (what the apply must give back)."""
    sw = make_world()
    w, ids = sw.world, sw.ids
    w.set_card_field(ids["c3"], "desc", DESC, ids["lead"], T2 - timedelta(hours=1))
    before = values(w)
    culprit = ids["ana"]
    at = iter(T2 + timedelta(minutes=m) for m in range(1, 100))
    w.set_list_closed(ids["done"], True, culprit, next(at))
    w.set_card_closed(ids["c1"], True, culprit, next(at))
    w.move_card_to_list(ids["c2"], ids["done"], culprit, next(at))
    w.set_card_field(ids["c3"], "due", "2026-11-02T12:00:00.000Z", culprit, next(at))
    w.set_card_field(ids["c3"], "desc", "Overwritten by an automation", culprit, next(at))
    return sw, before


def make_plan_file(sb: Sandbox, path: Path) -> tuple[Plan, PlanMeta]:
    """Plan ``--restore archived,list,fields --since T2 --by ana`` over HTTP (fetch and the
    planner, as ``run.make_plan`` composes them), write the plan file, read it back."""
    ids = sb.ids
    restore: frozenset[RestoreKind] = frozenset({"archived", "list", "fields"})
    options = PlanOptions(since=T2, restore=restore, by=ids["ana"])
    with api_for(sb) as api:
        boards = resolve_boards(api, [ids["team"]])
        fetched = fetch(api, boards, kinds=restore)
        plan = build_plan(
            fetched.history, fetched.state, options, fetched.members, named_boards=fetched.named
        )
        me = api.me()
    account = MemberRef(me["id"], me.get("username", ""))
    meta = PlanMeta("0.1.0", T2, sb.base_url, account, ((ids["team"], "Team"),), "api")
    write_plan(plan_to_dict(plan, meta), path)
    return read_plan(path)


def header(plan: Plan, meta: PlanMeta, sb: Sandbox) -> JournalHeader:
    return JournalHeader(digest_of(plan, meta), sb.base_url, sb.ids["lead"], "2026-01-01")


def applied_values(sandbox_factory: SandboxFactory, tmp_path: Path) -> tuple[Sandbox, Path]:
    """The damaged world's value plan applied (5 changes): its sandbox (time-scaled by 100)
    and the journal."""
    sb = sandbox_factory(damaged_world()[0], time_scale=100)
    plan, meta = make_plan_file(sb, tmp_path / "plan.json")
    path = tmp_path / "j.jsonl"
    with api_for(sb) as api, Journal.open(path, header(plan, meta, sb)) as journal:
        applied = apply_plan(plan, meta, api, journal, fast_options(), lock_dir=tmp_path / "l")
    assert applied.counts == {"applied": 5}
    return sb, path


def writes(sb: Sandbox, start: int = 0) -> list[str]:
    return [f"{r.method} {r.path}" for r in sb.server.request_log[start:] if r.method in WRITES]


def test_plan_apply_resume_undo(sandbox_factory: SandboxFactory, tmp_path: Path) -> None:
    """The plan is the damage, kind by kind; applying it gives exactly the values before the
    damage with one write per change, in the order list, move, archive state, fields, after
    one read of the board's cards, memberships and lists; a second run sends nothing; undo
    gives the damaged values back, and a second undo sends nothing."""
    sw, before = damaged_world()
    sb = sandbox_factory(sw, time_scale=100)
    ids = sb.ids
    damaged = values(sb.world)
    plan, meta = make_plan_file(sb, tmp_path / "plan.json")
    got = {(c.action, c.field): c for c in plan.changes if isinstance(c, ValueChange)}
    assert set(got) == {
        ("set_list_closed", "closed"),
        ("move_card_to_list", "idList"),
        ("set_card_closed", "closed"),
        ("set_card_field", "due"),
        ("set_card_field", "desc"),
    }
    assert got[("set_card_field", "desc")].value == DESC
    assert got[("set_card_field", "due")].value is None
    assert got[("move_card_to_list", "idList")].value == ids["doing"]

    journal_path, locks = tmp_path / "j.jsonl", tmp_path / "locks"
    start = len(sb.server.request_log)
    with api_for(sb) as api, Journal.open(journal_path, header(plan, meta, sb)) as journal:
        report = apply_plan(plan, meta, api, journal, fast_options(), lock_dir=locks)
    assert report.counts == {"applied": 5}
    assert report.exit_code == ExitCode.OK
    assert values(sb.world) == before
    log = sb.server.request_log[start:]
    assert writes(sb, start) == [
        f"PUT /1/lists/{ids['done']}/closed",
        f"PUT /1/cards/{ids['c2']}",
        f"PUT /1/cards/{ids['c1']}",
        f"PUT /1/cards/{ids['c3']}",
        f"PUT /1/cards/{ids['c3']}",
    ]
    reads = Counter(r.path for r in log if r.method == "GET")
    team = ids["team"]
    assert reads[f"/1/boards/{team}/cards/all"] == 1
    # The lists and memberships: one read of the board with both nested.
    assert reads[f"/1/boards/{team}"] == 1
    assert not [p for p in reads if p.endswith(("/lists", "/memberships"))]
    assert not [p for p in reads if p.startswith("/1/cards/")]  # never a request per card

    # Each record holds the value seen before the write and the value written.
    records = Journal.read(journal_path).records
    desc = next(
        r for r in records if r.status == "applied" and r.values and r.values["field"] == "desc"
    )
    assert desc.values is not None
    assert (desc.values["seen"], desc.values["written"]) == ("Overwritten by an automation", DESC)

    start = len(sb.server.request_log)
    with api_for(sb) as api, Journal.open(journal_path, header(plan, meta, sb)) as journal:
        again = apply_plan(plan, meta, api, journal, fast_options(), lock_dir=locks)
    assert again.counts == {"skipped_done": 5}
    assert writes(sb, start) == []

    for counts in ({"undone": 5}, {}):
        start = len(sb.server.request_log)
        with api_for(sb) as api, Journal.open(journal_path, header(plan, meta, sb)) as journal:
            undone = undo_journal(journal, api, fast_options(), lock_dir=locks)
        assert undone.counts == counts
        assert values(sb.world) == damaged
        assert len(writes(sb, start)) == sum(counts.values())


def test_a_field_changed_since_the_plan_is_drifted_and_left_alone(
    sandbox_factory: SandboxFactory, tmp_path: Path
) -> None:
    """Someone edits the overwritten description by hand between plan and apply: that change
    is ``drifted`` (partial failure), the hand edit stays, everything else is restored; undo
    leaves the hand edit alone too."""
    sw, before = damaged_world()
    sb = sandbox_factory(sw, time_scale=100)
    ids = sb.ids
    plan, meta = make_plan_file(sb, tmp_path / "plan.json")
    sb.world.set_card_field(ids["c3"], "desc", "Fixed by hand", ids["ben"])
    journal_path, locks = tmp_path / "j.jsonl", tmp_path / "locks"
    start = len(sb.server.request_log)
    with api_for(sb) as api, Journal.open(journal_path, header(plan, meta, sb)) as journal:
        report = apply_plan(plan, meta, api, journal, fast_options(), lock_dir=locks)
    assert report.counts == {"applied": 4, "drifted": 1}
    assert report.exit_code == ExitCode.PARTIAL
    drifted = next(o for o in report.outcomes if o.status == "drifted")
    assert drifted.error == (
        'its desc was changed since (now "Fixed by hand" (13 chars), expected "Overwritten by an '
        'automation" (28 chars)): left alone'
    )
    assert sb.world.cards[ids["c3"]].desc == "Fixed by hand"
    want = dict(before.cards)
    closed, list_id, name, _, due, complete, start_date = want[ids["c3"]]
    want[ids["c3"]] = (closed, list_id, name, "Fixed by hand", due, complete, start_date)
    assert values(sb.world) == Values(want, before.lists)
    assert len(writes(sb, start)) == 4
    with api_for(sb) as api, Journal.open(journal_path, header(plan, meta, sb)) as journal:
        undone = undo_journal(journal, api, fast_options(), lock_dir=locks)
    assert undone.counts == {"undone": 4}
    assert sb.world.cards[ids["c3"]].desc == "Fixed by hand"


def test_undo_leaves_a_value_changed_after_the_apply(
    sandbox_factory: SandboxFactory, tmp_path: Path
) -> None:
    """A card someone archives again after the apply is not touched by undo (``drifted``);
    the rest is undone."""
    sw, _ = damaged_world()
    sb = sandbox_factory(sw, time_scale=100)
    ids = sb.ids
    plan, meta = make_plan_file(sb, tmp_path / "plan.json")
    journal_path, locks = tmp_path / "j.jsonl", tmp_path / "locks"
    with api_for(sb) as api, Journal.open(journal_path, header(plan, meta, sb)) as journal:
        apply_plan(plan, meta, api, journal, fast_options(), lock_dir=locks)
    sb.world.move_card_to_list(ids["c2"], ids["old"], ids["ben"])
    with api_for(sb) as api, Journal.open(journal_path, header(plan, meta, sb)) as journal:
        undone = undo_journal(journal, api, fast_options(), lock_dir=locks)
    assert undone.counts == {"undone": 4, "drifted": 1}
    assert sb.world.cards[ids["c2"]].id_list == ids["old"]


def test_sigkill_mid_apply_then_resume_sends_no_write_twice(
    sandbox_factory: SandboxFactory, tmp_path: Path
) -> None:
    """A separate process applies the plan file and is SIGKILLed after its second write;
    the resume finishes it: the exact values before the damage, and every object written
    once in all (a write the killed run sent is found made, never sent again)."""
    sw, before = damaged_world()
    sb = sandbox_factory(sw, time_scale=10)
    plan_file, journal_path = tmp_path / "plan.json", tmp_path / "j.jsonl"
    plan, meta = make_plan_file(sb, plan_file)
    start = len(sb.server.request_log)
    kill_after_writes(apply_command(plan_file, journal_path, sb), sb.env, sb, 2)
    assert values(sb.world) != before
    with api_for(sb) as api, Journal.open(journal_path, header(plan, meta, sb)) as journal:
        report = apply_plan(plan, meta, api, journal, fast_options(), lock_dir=tmp_path / "locks")
    assert report.exit_code == ExitCode.OK
    assert values(sb.world) == before
    sent = writes(sb, start)
    assert len(sent) == 5, sent
    assert sum(report.counts.values()) == 5


def test_a_plan_edited_to_a_wrong_type_is_one_line_and_sends_nothing(
    sandbox_factory: SandboxFactory, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """``apply PLAN`` of a version 2 plan whose due date was edited into text that is no
    date: one line, exit 2 (usage), not one request."""
    sw, _ = damaged_world()
    sb = sandbox_factory(sw, time_scale=100)
    path = tmp_path / "plan.json"
    make_plan_file(sb, path)
    doc: dict[str, Any] = json.loads(path.read_text())
    due = next(c for c in doc["changes"] if c.get("field") == "due")
    due["value"] = "next tuesday"
    path.write_text(json.dumps(doc, indent=2))
    sb.server.request_log.clear()
    result = cli_for(sb, monkeypatch)("apply", str(path))
    one_line_error(result, ExitCode.USAGE, "does not match the plan schema at $.changes[")
    assert sb.server.request_log == []


def test_a_move_edited_to_another_list_of_the_board_is_not_made(
    sandbox_factory: SandboxFactory, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """R36c: a reviewer edits the move's list id to another list of the board and leaves its
    name: the card is not moved there while the report says "move back to list Doing"; the
    change is drifted with the two names, nothing written for it, exit 5 (partial). The
    other changes are applied."""
    sw, _ = damaged_world()
    sb = sandbox_factory(sw, time_scale=100)
    path = tmp_path / "plan.json"
    make_plan_file(sb, path)
    doc: dict[str, Any] = json.loads(path.read_text())
    move = next(c for c in doc["changes"] if c["action"] == "move_card_to_list")
    assert (move["value"], move["value_name"]) == (sw.ids["doing"], "Doing")
    move["value"] = sw.ids["old"]  # the archived list "Old", on the same board
    path.write_text(json.dumps(doc, indent=2))
    result = cli_for(sb, monkeypatch)("apply", str(path), "--yes", "-v")
    assert result.exit_code == ExitCode.PARTIAL, result.output
    assert (
        f'the plan names this list "Doing"; Trello calls list {sw.ids["old"]} "Old" now '
        "(renamed, or the plan was edited): left alone; make a new plan" in result.output
    )
    with sb.world.lock:
        assert sb.world.cards[sw.ids["c2"]].id_list == sw.ids["done"]
        assert not sb.world.cards[sw.ids["c1"]].closed  # the rest applied


def test_undo_after_a_sigkill_resolves_the_interrupted_writes(
    sandbox_factory: SandboxFactory, tmp_path: Path
) -> None:
    """Undo of the journal a SIGKILLed apply left (no resume): its interrupted write is
    resolved from live state (the value written there: this tool's; the value seen: never
    made), and undo gives exactly the damaged values back, writing only what the apply made."""
    sw, _ = damaged_world()
    sb = sandbox_factory(sw, time_scale=10)
    plan_file, journal_path = tmp_path / "plan.json", tmp_path / "j.jsonl"
    plan, meta = make_plan_file(sb, plan_file)
    damaged = values(sb.world)
    start = len(sb.server.request_log)
    kill_after_writes(apply_command(plan_file, journal_path, sb), sb.env, sb, 2)
    applied = len(writes(sb, start))  # what the killed run made, the last one maybe unjournaled
    assert 2 <= applied < 5
    start = len(sb.server.request_log)
    # Short timeouts: undo waits as long as a killed run's write may still be on its way.
    quick = api_for(sb, connect_timeout=0.2, read_timeout=0.5)
    with quick as api, Journal.open(journal_path, header(plan, meta, sb)) as journal:
        undone = undo_journal(journal, api, fast_options(), lock_dir=tmp_path / "locks")
    assert values(sb.world) == damaged
    assert undone.counts.get("undone", 0) == applied
    assert len(writes(sb, start)) == applied
    assert undone.exit_code == ExitCode.OK
