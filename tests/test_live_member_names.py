"""Members' names from live state (the apply's and undo's one read of each board, with its
memberships' members nested): ``apply`` does not write a member change whose plan names the
member by another username than Trello gives that member id now (a plan edited to another
member's id, or a member renamed: drifted), and ``undo`` shows the members it removes by name
and the cards by theirs, not by ids. Over the command line against the sandbox (the deciders
on literal data: tests/test_kinds.py, ``test_a_member_the_plan_names_otherwise_drifts``)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from trello_restore.errors import ExitCode
from trello_restore.sandbox.scenario import Scenario, generate
from trello_restore.words import card_url

from .conftest import Sandbox, sandbox_cli
from .truthcheck import incident_since


@pytest.fixture(name="scenario")
def scenario_fixture() -> Scenario:
    return generate(1, 40)


def _plan(invoke: Any, s: Scenario, path: Path) -> dict[str, Any]:
    """Set b's plan (``--removed-by MOVER --add-to-board``), written with --dry-run --plan-out."""
    since = incident_since(s)
    r = invoke("--board", s.team.id, "--since", since, "--removed-by", s.mover.username,
               "--add-to-board", "--rate-limit", "1000", "--dry-run", "--plan-out", str(path),
               "--quiet")  # fmt: skip
    assert r.exit_code == 0, r.output
    doc: dict[str, Any] = json.loads(path.read_text(encoding="utf-8"))
    return doc


def _cards(sb: Sandbox) -> dict[str, frozenset[str]]:
    with sb.world.lock:
        return {c.id: frozenset(c.id_members) for c in sb.world.cards.values()}


def _edit(sb: Sandbox, doc: dict[str, Any]) -> tuple[int, str]:
    """A card change of the plan whose member is an active member of the board, and another
    active member of that board (another username), on none of the plan's changes of that
    card and not on it now: (index of the change, the other member's id)."""
    cards = _cards(sb)
    for i, c in enumerate(doc["changes"]):
        if c["action"] != "add_member_to_card" or not c["precondition"]["member_on_board"]:
            continue
        board = sb.world.boards[c["board"]["id"]]
        planned = {x["member"]["id"] for x in doc["changes"] if x.get("card") == c["card"]}
        for member_id in sorted(board.memberships):
            who = sb.world.members[member_id]
            if (
                board.is_active_member(member_id)
                and member_id not in planned | cards[c["card"]["id"]]
                and who.username != c["member"]["username"]
            ):
                return i, member_id
    raise AssertionError("no card change with another board member to edit it to")


def test_a_plan_edited_to_another_members_id_drifts_that_change(
    sb: Sandbox, scenario: Scenario, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The review's plan with one card change's member id edited to another board member's
    (its username left): ``apply -v`` writes nothing for it and says it drifted, naming the
    plan's username and Trello's for that id, and what to do; the other changes apply; exit 5.
    The plan as made (consistent) then applies as before: that change too, exit 0. (Before:
    it printed the plan's name and added the other member.)"""
    invoke = sandbox_cli(sb, monkeypatch)
    original = tmp_path / "plan.json"
    doc = _plan(invoke, scenario, original)
    i, other = _edit(sb, doc)
    change = doc["changes"][i]
    card_id, planned = change["card"]["id"], change["member"]
    change["member"] = {**planned, "id": other}
    edited = tmp_path / "pm_mid.json"
    edited.write_text(json.dumps(doc), encoding="utf-8")
    before = _cards(sb)

    r = invoke("apply", str(edited), "-v", "--rate-limit", "1000")
    assert r.exit_code == ExitCode.PARTIAL, r.output
    now = sb.world.members[other].username
    reason = (
        f"the plan names this member @{planned['username']}; Trello calls member {other} "
        f"@{now} now (renamed, or the plan was edited): make a new plan"
    )
    (line,) = [x for x in r.stdout.splitlines() if reason in x]
    assert line.lstrip().startswith("drifted"), line
    # Nothing written for it: neither member is on the card.
    assert not {other, planned["id"]} & _cards(sb)[card_id]
    assert "1 drifted" in r.stdout, r.stdout
    others = [c for j, c in enumerate(doc["changes"]) if j != i]
    added = [c for c in others if c["action"] == "add_member_to_card"]
    assert added
    for c in added:
        assert c["member"]["id"] in _cards(sb)[c["card"]["id"]], c

    again = invoke("apply", str(original), "--rate-limit", "1000")
    assert again.exit_code == ExitCode.OK, again.output
    assert _cards(sb)[card_id] - before[card_id] >= {planned["id"]}
    assert other not in _cards(sb)[card_id]


def test_a_plan_edited_to_another_cards_id_drifts_that_change(
    sb: Sandbox, scenario: Scenario, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A card change's card id edited to another card of the same board (its name and link
    left, so the text would name the plan's card): ``apply -v`` writes nothing to either card,
    says it drifted with both shortLinks and what to do; the others apply; exit 5. (Before: it
    added the member to the other card, printing the plan's.)"""
    invoke = sandbox_cli(sb, monkeypatch)
    doc = _plan(invoke, scenario, tmp_path / "plan.json")
    change = next(
        c for c in doc["changes"]
        if c["action"] == "add_member_to_card" and c["precondition"]["member_on_board"]
    )  # fmt: skip
    member, planned = change["member"]["id"], change["card"]
    target = next(
        c for c in sb.world.cards.values()
        if c.id_board == change["board"]["id"] and c.id != planned["id"]
        and member not in c.id_members
        and not any(x.get("card", {}).get("id") == c.id for x in doc["changes"])
    )  # fmt: skip
    change["card"] = {**planned, "id": target.id}
    edited = tmp_path / "card_id.json"
    edited.write_text(json.dumps(doc), encoding="utf-8")

    r = invoke("apply", str(edited), "-v", "--rate-limit", "1000")
    assert r.exit_code == ExitCode.PARTIAL, r.output
    reason = (
        f"the plan names card {planned['shortLink']}; Trello's card {target.id} is "
        f"{target.short_link} (the plan was edited): make a new plan"
    )
    (line,) = [x for x in r.stdout.splitlines() if reason in x]
    assert line.lstrip().startswith("drifted"), line
    assert member not in _cards(sb)[target.id] | _cards(sb)[planned["id"]]
    assert "1 drifted" in r.stdout, r.stdout


def test_undo_names_members_and_cards_from_live_state(
    sb: Sandbox, scenario: Scenario, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """After an apply, ``undo --dry-run`` and ``undo -v`` show each card member they remove as
    ``Full Name (@username) → card Name (link)`` and each board membership by the member's
    names: no member or card id (they showed ``removed member 656c… on card 6796…``)."""
    invoke = sandbox_cli(sb, monkeypatch)
    plan = tmp_path / "plan.json"
    doc = _plan(invoke, scenario, plan)
    applied = invoke("apply", str(plan), "--rate-limit", "1000")
    assert applied.exit_code == ExitCode.OK, applied.output
    (journal,) = [x.removeprefix("Journal: ") for x in applied.stderr.splitlines()
                  if x.startswith("Journal: ")]  # fmt: skip
    changes = doc["changes"]
    ids = {c["member"]["id"] for c in changes} | {c["card"]["id"] for c in changes if "card" in c}
    for args, word in ((("--dry-run",), "would remove"), (("--yes", "-v"), "removed")):
        undo = invoke("undo", journal, "--include-board-memberships", "--rate-limit", "1000",
                      *args)  # fmt: skip
        assert undo.exit_code == ExitCode.OK, undo.output
        lines = [x for x in undo.stdout.splitlines() if x.startswith(f"  {word:<16} ")]
        assert len(lines) == len(changes), undo.stdout
        assert not [x for x in lines if any(i in x for i in ids)], lines
        for c in changes:
            m = sb.world.members[c["member"]["id"]]
            who = f"{m.full_name} (@{m.username})" if m.full_name else f"@{m.username}"
            if c["action"] == "add_member_to_card":
                card = c["card"]
                what = f"{who} → card {card['name']} ({card_url(card['shortLink'])})"
            else:
                what = f"{who} → board {c['board']['name']} as {c['role']}"
            assert any(x.endswith(what) for x in lines), (what, lines)
