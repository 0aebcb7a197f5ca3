"""A value a colleague changed and set back after the plan was made is drifted, not written over
(review R24), over the command line against the sandbox.

``apply PLAN`` compared a value kind's field only with the value the plan expects, so a change
made and set back after the plan (A→B→A) was invisible and overwritten; card members were
already read from the boards' action feeds since the plan's ``created_at``. Now the value kinds
are read in the same listing of each board (one request), and the field touched since by anyone
but this tool's writes of the plan's journal is ``drifted``, with who and when.
"""

from __future__ import annotations

import copy
import json
import re
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest

from trello_restore.errors import ExitCode
from trello_restore.planfile import PlanDict, plan_from_dict, write_plan
from trello_restore.sandbox.scenario import Scenario, generate
from trello_restore.sandbox.world import World

from .applykit import plan_doc
from .conftest import Sandbox, SandboxFactory, sandbox_cli
from .test_undo_again import FAST, Run

DRIFTED = "  drifted, skipped "


def _colleague(s: Scenario) -> str:
    """A team board member who is neither the token's member nor the culprit: their id."""
    w = s.world
    me = w.tokens[s.token]
    culprit = s.culprit.id if s.culprit is not None else ""
    return next(m for m in sorted(s.team.memberships) if m not in (me, culprit))


def _set_back(w: World, c: dict[str, Any], by: str) -> None:
    """``by`` changes the change's field to another value and sets it back to the expected."""
    field, expected = c["field"], c["expected"]
    if c["action"] == "set_list_closed":
        w.set_list_closed(c["list"]["id"], not expected, by)
        w.set_list_closed(c["list"]["id"], expected, by)
        return
    card_id = c["card"]["id"]
    if field == "closed":
        w.set_card_closed(card_id, not expected, by)
        w.set_card_closed(card_id, expected, by)
    elif field == "idList":
        other = next(x.id for x in w.lists_on_board(c["board"]["id"]) if x.id != expected)
        w.move_card_to_list(card_id, other, by)
        w.move_card_to_list(card_id, expected, by)
    else:
        between: Any = {
            "dueComplete": not expected,
            "due": "2031-01-02T03:04:00.000Z",
            "start": "2031-01-01T03:04:00.000Z",
        }.get(field, "between")
        w.set_card_field(card_id, field, between, by)
        w.set_card_field(card_id, field, expected, by)


def _with_every_field(s: Scenario, doc: PlanDict) -> PlanDict:
    """``doc`` with a change of each value field the scenario's plans lack (name, start,
    dueComplete on a card; a list's archive state), made by hand from one of its changes:
    each expects what Trello holds now."""
    doc = copy.deepcopy(doc)
    base = next(c for c in doc["changes"] if c.get("field") == "due")
    card = s.world.card(base["card"]["id"])
    for i, (field, value, expected) in enumerate(
        (
            ("name", "A name of before", card.name),
            ("start", "2025-01-01T00:00:00.000Z", card.start),
            ("dueComplete", not card.due_complete, card.due_complete),
        )
    ):
        extra = copy.deepcopy(base) | {"field": field, "value": value, "expected": expected}
        extra["change_id"] = f"{base['change_id'][:-2]}{i:02d}"
        doc["changes"].append(extra)
    lst = next(x for x in s.world.lists_on_board(s.team.id) if x.id != card.id_list)
    listed = copy.deepcopy(base)
    del listed["card"]
    listed |= {
        "change_id": f"{base['change_id'][:-2]}99",
        "action": "set_list_closed",
        "list": {"id": lst.id, "name": lst.name},
        "field": "closed",
        "value": not lst.closed,
        "expected": lst.closed,
    }
    doc["changes"].append(listed)
    doc["summary"]["changes"] += 4
    doc["summary"]["field_changes"] += 3
    doc["summary"]["list_closed_changes"] += 1
    return doc


#: The words of a field set back, by field.
WORDS = {
    "closed": r"(un)?archived again",
    "idList": r'moved back to list "[^"]+"',
    "due": r"its due set back to ",
    "desc": r"its desc set back to ",
    "name": r'its name set back to "',
    "start": r"its start set back to ",
    "dueComplete": r"marked (not )?complete again",
}


def _actions_reads(sb: Sandbox, start: int) -> list[str]:
    return [
        r.path
        for r in sb.server.request_log[start:]
        if r.method == "GET" and re.fullmatch(r"/1/boards/[^/]+/actions", r.path)
    ]


def test_each_value_kind_changed_and_set_back_after_the_plan_is_drifted(
    sandbox_factory: SandboxFactory, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    s = generate(1, 60, second_damage=True)
    sb = sandbox_factory(s, token_limit=10_000, key_limit=10_000)
    doc = _with_every_field(s, plan_doc(sb, s, "g"))
    assert not [c for c in doc["changes"] if c["action"].startswith("add_member")]
    plan = tmp_path / "plan.json"
    write_plan(doc, plan)
    invoke = sandbox_cli(sb, monkeypatch)
    colleague = s.world.members[_colleague(s)]
    touched: dict[str, dict[str, Any]] = {}  # one change of each field and kind
    for c in doc["changes"]:
        touched.setdefault(f"{c['action']} {c['field']}", c)
    assert len(touched) == 8, sorted(touched)
    for c in touched.values():
        _set_back(s.world, c, colleague.id)
    journal = str(tmp_path / "j.jsonl")

    for flags in (("--dry-run",), ()):
        start = len(sb.server.request_log)
        result = invoke("apply", str(plan), "--journal", journal, *FAST, "-v", *flags)
        assert result.exit_code == ExitCode.PARTIAL, result.output
        # Values only, on one board: its feed is read once, for every field.
        assert _actions_reads(sb, start) == [f"/1/boards/{s.team.id}/actions"]
        drifted = [x for x in result.output.splitlines() if x.startswith(DRIFTED)]
        later = [x for x in drifted if "after the plan was made: left alone" in x]
        assert len(later) == len(touched), drifted
        for key, c in touched.items():
            words = WORDS[c["field"]] + f".* by @{colleague.username} on \\d{{4}}-"
            assert any(re.search(words, x) for x in later), (key, later)
        if flags:
            assert "would" in result.output
    for c in touched.values():  # left as the colleague set them
        if c["action"] == "set_list_closed":
            assert s.world.lists[c["list"]["id"]].closed == c["expected"]
        else:
            got = getattr(s.world.card(c["card"]["id"]), _ATTR.get(c["field"], c["field"]))
            assert got == c["expected"] or c["field"] in ("due", "start"), (c["field"], got)


_ATTR = {"idList": "id_list", "dueComplete": "due_complete"}


def test_members_and_values_of_a_board_cost_one_read_of_its_feed(
    sandbox_factory: SandboxFactory, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    s = generate(1, 60, second_damage=True)
    sb = sandbox_factory(s, token_limit=10_000, key_limit=10_000)
    doc = plan_doc(sb, s, "h")
    assert {c["action"] for c in doc["changes"]} >= {"add_member_to_card", "set_card_closed"}
    plan = tmp_path / "plan.json"
    write_plan(doc, plan)
    invoke = sandbox_cli(sb, monkeypatch)
    start = len(sb.server.request_log)
    result = invoke("apply", str(plan), "--dry-run", *FAST)
    assert result.exit_code == ExitCode.OK, result.output
    reads = _actions_reads(sb, start)
    boards = {c["board"]["id"] for c in doc["changes"]}
    assert sorted(reads) == sorted(f"/1/boards/{b}/actions" for b in boards), reads


def test_this_tools_own_writes_are_not_drifted_but_a_hand_set_back_after_the_undo_is(
    sandbox_factory: SandboxFactory, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    """The plan applied and undone under its journal is applied again (its own writes are
    not someone's); a card a colleague archived again by hand after the apply, which the undo
    then found archived, is left alone by the next apply of that old plan."""
    r = Run("archived", sandbox_factory, monkeypatch, tmp_path)
    r.applied_then_undone()
    again = r.apply()
    assert again.exit_code == ExitCode.OK, again.output
    assert DRIFTED not in again.output

    undone = r.undo()
    assert undone.exit_code == ExitCode.OK, undone.output
    assert r.apply().exit_code == ExitCode.OK
    c = json.loads(r.plan.read_text())["changes"][0]
    colleague = r.s.world.members[_colleague(r.s)]
    r.s.world.set_card_closed(c["card"]["id"], True, colleague.id)  # archived again by hand
    undone = r.undo()
    assert undone.exit_code == ExitCode.OK, undone.output
    result = r.apply()
    assert result.exit_code == ExitCode.PARTIAL, result.output
    drifted = [x for x in result.output.splitlines() if x.startswith(DRIFTED)]
    assert len(drifted) == 1, drifted
    assert f"archived again by @{colleague.username} on " in drifted[0]
    assert "after the plan was made: left alone" in drifted[0]
    assert r.s.world.card(c["card"]["id"]).closed


def test_a_value_set_back_by_this_tools_undo_of_another_journal_is_named_so(
    sandbox_factory: SandboxFactory, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    r = Run("archived", sandbox_factory, monkeypatch, tmp_path)
    other = tmp_path / "other.jsonl"
    first = r.invoke("apply", str(r.plan), "--journal", str(other), *FAST)
    assert first.exit_code == ExitCode.OK, first.output
    undo = r.invoke("undo", str(other), *FAST, *r.undo_flags)
    assert undo.exit_code == ExitCode.OK, undo.output
    assert r.state() == r.before
    for flags in (("--dry-run",), ()):
        result = r.apply(*flags)
        assert result.exit_code == ExitCode.PARTIAL, result.output
        drifted = [x for x in result.output.splitlines() if x.startswith(DRIFTED)]
        assert len(drifted) == r.n, drifted
        undone_by = f"set back by this tool's undo of journal {other} on "
        assert all(undone_by in x for x in drifted), drifted


def test_a_colleagues_change_set_back_is_theirs_the_token_members_is_not(
    sandbox_factory: SandboxFactory,
) -> None:
    """A colleague who unarchived an archived card and archived it again decided it stays so:
    the plan skips it as ``changed_by_others``, naming them (R31a: it was planned and
    unarchived, with no word of them). The token's member's own change set back (a trial apply
    and undo) still does not count: that field is planned as before."""
    s = generate(1, 60, second_damage=True)
    sb = sandbox_factory(s, token_limit=10_000, key_limit=10_000)
    before = plan_doc(sb, s, "g")
    closed = [c for c in before["changes"] if c["action"] == "set_card_closed"]
    fields = [c for c in before["changes"] if c["action"] == "set_card_field"]
    theirs, mine = closed[0], next(c for c in fields if c["card"] != closed[0]["card"])
    colleague = s.world.members[_colleague(s)]
    _set_back(s.world, theirs, colleague.id)
    _set_back(s.world, mine, s.world.tokens[s.token])
    after, _ = plan_from_dict(plan_doc(sb, s, "g"))
    planned = {c.change_id for c in after.changes}
    assert planned == {c["change_id"] for c in before["changes"]} - {theirs["change_id"]}
    skip = next(v for v in after.value_skipped if v.object_id == theirs["card"]["id"])
    assert (skip.field, skip.reason) == ("closed", "changed_by_others")
    assert [m.id for m, _ in skip.others] == [colleague.id, colleague.id]


def test_the_plans_own_later_actions_are_not_someone_changing_it_after_the_plan(
    sandbox_factory: SandboxFactory, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    """The culprit edits a card's name twice, the second edit dated after the plan's
    ``created_at`` (it is stamped as the command starts: an edit landing while the plan reads,
    or within the second the clocks' skew rounds to). The plan selected both and expects the
    second's value; its apply writes the target, not "set back … after the plan was made"
    (R38b: drifted, exit 5, in 7 of 20 random histories with no pause before planning)."""
    s = generate(1, 20)
    sb = sandbox_factory(s, latency_ms=0)
    invoke = sandbox_cli(sb, monkeypatch)
    w = s.world
    culprit = _colleague(s)
    card = next(c for c in w.cards.values() if c.id_board == s.team.id and not c.closed)
    target = card.name
    since = w.clock() - timedelta(seconds=1)
    first = w.set_card_field(card.id, "name", "first edit", culprit, since + timedelta(seconds=2))
    second = w.set_card_field(card.id, "name", "second edit", culprit, since + timedelta(seconds=3))
    assert first is not None
    assert second is not None
    plan = tmp_path / "plan.json"
    made = invoke("--board", s.team.id, "--since", since.isoformat(), "--restore", "fields",
                  "--by", w.members[culprit].username, "--card", card.id, "--dry-run",
                  "--plan-out", str(plan))  # fmt: skip
    assert made.exit_code == ExitCode.OK, made.output
    doc = json.loads(plan.read_text())
    (change,) = doc["changes"]
    assert change["evidence"]["actions"] == [first.id, second.id]
    assert (change["value"], change["expected"]) == (target, "second edit")
    # Made as the command started, between the two edits (Trello's clock, as the plan says).
    doc["created_at"] = (since + timedelta(seconds=2.5)).isoformat().replace("+00:00", "Z")
    doc["clock_skew_s"] = 0
    write_plan(doc, plan)
    result = invoke("apply", str(plan), "--journal", str(tmp_path / "j.jsonl"), *FAST)
    assert result.exit_code == ExitCode.OK, result.output
    assert w.card(card.id).name == target
