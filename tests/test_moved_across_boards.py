"""What moved across boards in the window is said in the plan, not left out in silence (R41b),
over HTTP.

``--restore list`` moves a card back only within its board: moving back across boards is out of
scope (design.md §10.1). A card a colleague moved to another board, a list moved off the board,
a card moved onto it from another, were in no line of the plan nor of its file: someone reviewing
"the board as it was" had no hint that they stay. Each is listed under ``Cannot be restored``
(``moved_to_other_board`` / ``moved_from_other_board``, naming the other board), unless it is
back where it was.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from trello_restore.planfile import plan_from_dict
from trello_restore.sandbox.scenario import Scenario, generate
from trello_restore.sandbox.truth import OptionSet, compute
from trello_restore.sandbox.world import Card

from .conftest import SandboxFactory, sandbox_cli

SINCE = "2025-11-20"


def test_cards_and_lists_moved_across_boards_are_listed_unless_back(
    sandbox_factory: SandboxFactory, monkeypatch: pytest.MonkeyPatch
) -> None:
    s, colleague, cards, road = _world(7)
    w = s.world
    since = datetime(2025, 11, 20, tzinfo=UTC)
    with w.lock:
        team_list = cards[0].id_list
        away, back, kept = cards[0].id, cards[1].id, cards[2].id
        w.move_card_to_board(away, s.roadmap.id, road, colleague)
        w.move_card_to_board(back, s.roadmap.id, road, colleague)
        w.move_card_to_board(back, s.team.id, team_list, colleague)
        came = next(c.id for c in w.cards.values() if c.id_board == s.roadmap.id and c.id != away)
        w.move_card_to_board(came, s.team.id, team_list, colleague)
        lst = next(
            x.id
            for x in w.lists.values()
            if x.id_board == s.team.id and x.id not in {w.cards[kept].id_list, team_list}
        )
        w.move_list_to_board(lst, s.roadmap.id, colleague)
        assert all(m.at >= since for m in w.board_moves[-5:])
    sb = sandbox_factory(s, token_limit=10_000, key_limit=10_000)
    invoke = sandbox_cli(sb, monkeypatch)
    plan = ("--board", s.team.id, "--since", SINCE, "--dry-run")

    result = invoke(*plan, "--restore", "all")
    assert result.exit_code == 0, result.output
    text = result.output
    assert "Cannot be restored (3): not in the log, or across boards" in text, text
    name = f"@{w.members[colleague].username}"
    lines = [x for x in text.splitlines() if "across boards: move it in Trello" in x]
    assert len(lines) == 3, text
    card_away = f'card "{w.cards[away].name}": moved to board "Roadmap" by {name} '
    card_came = f'card "{w.cards[came].name}": moved here from board "Roadmap" by {name} '
    list_away = f'list "{w.lists[lst].name}": moved to board "Roadmap" by {name} '
    for want in (card_away, card_came, list_away):
        assert any(x.startswith(f"  - {want}") for x in lines), (want, lines)
    assert w.cards[back].name not in "\n".join(lines)  # moved away and back: nothing to say

    doc = json.loads(invoke(*plan, "--restore", "all", "--plan-out", "-").stdout)
    moved = {u["object"]["id"]: u for u in doc["unrestorable"]}
    assert set(moved) == {away, came, lst}
    assert moved[away]["what"] == moved[lst]["what"] == "moved_to_other_board"
    assert moved[came]["what"] == "moved_from_other_board"
    assert {u["other_board"]["id"] for u in moved.values()} == {s.roadmap.id}
    assert plan_from_dict(doc)[0].unrestorable  # the file reads back, schema and all

    # The list kind's: with the other kinds alone, nothing moved is listed; --card narrows.
    other = json.loads(invoke(*plan, "--restore", "archived,fields", "--plan-out", "-").stdout)
    assert other["unrestorable"] == []
    one = invoke(*plan, "--restore", "all", "--card", w.cards[away].short_link, "--plan-out", "-")
    assert [u["object"]["id"] for u in json.loads(one.stdout)["unrestorable"]] == [away]


def test_a_field_left_alone_as_other_board_says_what_that_means(
    sandbox_factory: SandboxFactory, monkeypatch: pytest.MonkeyPatch
) -> None:
    """R41b: ``idList of card "Ship billing export #8": other_board`` said only the code. (A
    card moved within its board by the mover, then to another board by a colleague: with
    ``--by`` the mover, the move across boards is not said under ``Cannot be restored``, so
    its list's move is said here; R47d.)"""
    s, colleague, cards, road = _world(7)
    w = s.world
    with w.lock:
        card = cards[0]
        other = next(x.id for x in w.lists.values() if x.id_board == s.team.id != card.id_list)
        w.move_card_to_list(card.id, other, s.mover.id)
        w.move_card_to_board(card.id, s.roadmap.id, road, colleague)
    sb = sandbox_factory(s, token_limit=10_000, key_limit=10_000)
    result = sandbox_cli(sb, monkeypatch)(
        "--board", s.team.id, "--since", SINCE, "--restore", "list", "--dry-run",
        "--by", s.mover.id,
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    (line,) = [x for x in result.output.splitlines() if x.startswith("  - ") and "other_b" in x]
    assert (
        ": other_board (it, or the list it would go back to, is on another board now, or on one "
        "this plan does not read: this tool moves nothing across boards) (also changed by "
    ) in line, line


def test_a_move_is_judged_by_where_it_started_and_where_it_is_now(
    sandbox_factory: SandboxFactory, monkeypatch: pytest.MonkeyPatch
) -> None:
    """R42d: the first move in the window alone decided, so a card moved Team -> Roadmap ->
    Archive was said moved to Roadmap; a card that left with its list and came back alone was
    said moved here from Roadmap (and the advice was to move it out again); a card that came
    from Roadmap and went back was said moved here. The plan holds the ground truth."""
    s, colleague, cards, road = _world(11)
    w = s.world
    since = datetime(2025, 11, 20, tzinfo=UTC)
    with w.lock:
        arch = next(x.id for x in w.lists.values() if x.id_board == s.archive.id)
        on_to = cards[0]
        w.move_card_to_board(on_to.id, s.roadmap.id, road, colleague)
        w.move_card_to_board(on_to.id, s.archive.id, arch, colleague)
        lst = next(x for x in w.lists.values() if x.id_board == s.team.id and x.id != on_to.id_list)
        inside = sorted(c.id for c in w.cards.values() if c.id_list == lst.id)
        assert len(inside) >= 2
        w.move_list_to_board(lst.id, s.roadmap.id, colleague)
        came_back = inside[0]
        w.move_card_to_board(came_back, s.team.id, cards[-1].id_list, colleague)
        visit = next(c.id for c in w.cards.values() if c.id_board == s.roadmap.id)
        w.move_card_to_board(visit, s.team.id, cards[-1].id_list, colleague)
        w.move_card_to_board(visit, s.roadmap.id, road, colleague)
        assert all(m.at >= since for m in w.board_moves[-6:])
    sb = sandbox_factory(s, token_limit=10_000, key_limit=10_000)
    invoke = sandbox_cli(sb, monkeypatch)
    plan = ("--board", s.team.id, "--since", SINCE, "--restore", "list", "--dry-run")
    out = invoke(*plan, "--plan-out", "-")
    assert out.exit_code == 0, out.output
    doc = json.loads(out.stdout)
    moved = {u["object"]["id"]: (u["what"], u["other_board"]["id"]) for u in doc["unrestorable"]}
    assert moved == {
        on_to.id: ("moved_to_other_board", s.archive.id),
        lst.id: ("moved_to_other_board", s.roadmap.id),
    }
    opts = OptionSet("moves", since=since, restore=frozenset({"list"}))
    truth = compute(w, s.scope, opts, (s.team.id,))  # Team named; Roadmap, Archive followed
    assert {(u["object"]["id"], u["action_id"], u["what"]) for u in doc["unrestorable"]} == {
        (u.card_id, u.action_id, u.what) for u in truth.unrestorable
    }


def test_a_card_its_list_came_back_without_is_said(
    sandbox_factory: SandboxFactory, monkeypatch: pytest.MonkeyPatch
) -> None:
    """R42e: a card that went to Roadmap with its list and stayed there when the list came back
    (moved on to another Roadmap list meanwhile) was in no line: its list, back, says nothing.
    Listed as moved to Roadmap by the list's move; the plan holds the ground truth."""
    s, colleague, _, road = _world(7)
    w = s.world
    since = datetime(2025, 11, 20, tzinfo=UTC)
    with w.lock:
        lst = next(x for x in w.lists.values() if x.id_board == s.team.id)
        inside = sorted(c.id for c in w.cards.values() if c.id_list == lst.id)
        w.move_list_to_board(lst.id, s.roadmap.id, colleague)
        w.move_card_to_list(inside[0], road, colleague)
        w.move_list_to_board(lst.id, s.team.id, colleague)
    sb = sandbox_factory(s, token_limit=10_000, key_limit=10_000)
    invoke = sandbox_cli(sb, monkeypatch)
    plan = ("--board", s.team.id, "--since", SINCE, "--restore", "list", "--dry-run")
    doc = json.loads(invoke(*plan, "--plan-out", "-").stdout)
    moved = {u["object"]["id"]: (u["what"], u["other_board"]["id"]) for u in doc["unrestorable"]}
    assert moved == {inside[0]: ("moved_to_other_board", s.roadmap.id)}
    opts = OptionSet("moves", since=since, restore=frozenset({"list"}))
    truth = compute(w, s.scope, opts, (s.team.id,))
    assert {(u["object"]["id"], u["action_id"], u["what"]) for u in doc["unrestorable"]} == {
        (u.card_id, u.action_id, u.what) for u in truth.unrestorable
    }


def test_cards_deleted_after_a_move_across_boards_are_said_once(
    sandbox_factory: SandboxFactory, monkeypatch: pytest.MonkeyPatch
) -> None:
    """R42h: a card with no member action, moved off Team in the window and deleted there, was
    in no line (the moves rule left it to the deletions', whose scope lacked it); so was one
    moved off before the window and deleted in it; and a card deleted on Roadmap before its
    list moved onto Team was said deleted there, though it never was on Team. Each now as the
    ground truth has it."""
    s, colleague, cards, road = _world(7)
    w = s.world
    with w.lock:
        acted = {e.card_id for e in w.ledger}
        quiet = [c for c in cards if c.id not in acted and not c.id_members][:1]
        quiet.append(next(c for c in cards if c not in quiet))
        before, since = w.last_time + timedelta(hours=1), w.last_time + timedelta(days=1)
        w.move_card_to_board(quiet[1].id, s.roadmap.id, road, colleague, before)
        w.move_card_to_board(
            quiet[0].id, s.roadmap.id, road, colleague, since + timedelta(minutes=1)
        )
        w.delete_card(quiet[0].id, colleague, since + timedelta(minutes=2))
        w.delete_card(quiet[1].id, colleague, since + timedelta(minutes=3))
        there = next(c for c in w.cards.values() if c.id_list == road)
        w.delete_card(there.id, colleague, since + timedelta(minutes=4))
        w.move_list_to_board(road, s.team.id, colleague, since + timedelta(minutes=5))
    sb = sandbox_factory(s, token_limit=10_000, key_limit=10_000)
    invoke = sandbox_cli(sb, monkeypatch)
    plan = ("--board", s.team.id, "--since", since.isoformat(), "--restore", "list", "--dry-run")
    doc = json.loads(invoke(*plan, "--plan-out", "-").stdout)
    got = {(u["object"]["id"], u["action_id"], u["what"]) for u in doc["unrestorable"]}
    opts = OptionSet("moves", since=since, restore=frozenset({"list"}))
    truth = compute(w, s.scope, opts, (s.team.id,))
    assert got == {(u.card_id, u.action_id, u.what) for u in truth.unrestorable}
    what = {i: x for i, _, x in got}
    assert what[quiet[0].id] == what[quiet[1].id] == "card_deleted"
    assert there.id not in what


def _world(seed: int) -> tuple[Scenario, str, list[Card], str]:
    """A generated workspace, a colleague on its team board (neither the token's member nor
    the mover), the team board's cards by id and the id of a list on the roadmap."""
    s = generate(seed, 60)
    w = s.world
    colleague = next(
        m for m in sorted(s.team.memberships) if m != w.tokens[s.token] and m != s.mover.id
    )
    cards = sorted((c for c in w.cards.values() if c.id_board == s.team.id), key=lambda c: c.id)
    return s, colleague, cards, next(x.id for x in w.lists.values() if x.id_board == s.roadmap.id)


def test_a_card_moved_away_and_back_into_another_list_goes_back_to_its_list(
    sandbox_factory: SandboxFactory, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    """R47d: a card moved to another board and back, into another list than the one it left,
    stayed in that list, and the plan said "Nothing to restore" (its list: "outside_window").
    Its moves across boards are its list's changes: the plan moves it back to the list it left
    (with both moves as evidence), the apply does it over HTTP, and the undo puts it back."""
    s, colleague, cards, road = _world(7)
    w = s.world
    with w.lock:
        card = cards[0]
        left = card.id_list
        other = next(x.id for x in w.lists.values() if x.id_board == s.team.id != left)
        w.move_card_to_board(card.id, s.roadmap.id, road, colleague)
        w.move_card_to_board(card.id, s.team.id, other, colleague)
    sb = sandbox_factory(s, token_limit=10_000, key_limit=10_000)
    invoke = sandbox_cli(sb, monkeypatch)
    plan = tmp_path / "plan.json"
    args = ("--board", s.team.id, "--since", SINCE, "--restore", "list", "--card", card.id)
    made = invoke(*args, "--dry-run", "--plan-out", str(plan))
    assert made.exit_code == 0, made.output
    doc = json.loads(plan.read_text())
    (change,) = doc["changes"]
    assert (change["action"], change["value"], change["expected"]) == (
        "move_card_to_list",
        left,
        other,
    )
    assert len(change["evidence"]["actions"]) == 2  # each move once, by the board it left
    assert doc["unrestorable"] == []
    journal = str(tmp_path / "j.jsonl")
    applied = invoke("apply", str(plan), "--journal", journal, "--yes")
    assert applied.exit_code == 0, applied.output
    assert (w.cards[card.id].id_board, w.cards[card.id].id_list) == (s.team.id, left)
    undone = invoke("undo", journal, "--yes")
    assert undone.exit_code == 0, undone.output
    assert w.cards[card.id].id_list == other
    # Undone, the card is where the damage left it: the same change is planned again.
    again = invoke(*args, "--dry-run", "--plan-out", "-")
    assert [c["change_id"] for c in json.loads(again.stdout)["changes"]] == [change["change_id"]]
