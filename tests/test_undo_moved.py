"""Undo of card-level changes whose card or list moved to another board since the apply
(review U3): a card member whose card is no longer on its board is looked up by id (one
request per such card): on another board with the member → ``drifted`` (exit 5, naming the
board; a later undo looks at it again), without them or deleted → ``not_on_card``, unreadable
→ ``drifted``; a card move back to a list that moved to another board is ``drifted`` and
nothing is sent (setting ``idList`` to another board's list would move the card across
boards). Over the command line against the sandbox; the deciders' tables are
``test_kinds_elsewhere.py``."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from trello_restore.errors import ExitCode
from trello_restore.journal import Journal
from trello_restore.planfile import PlanDict
from trello_restore.sandbox.scenario import Scenario
from trello_restore.undo_left import undoable

from .applykit import api_for, apply_doc, fast_options, open_journal, plan_doc
from .conftest import Sandbox, SandboxFactory
from .conftest import sandbox_cli as cli_for
from .test_apply_values import applied_values, writes


def _added(doc: PlanDict, journal: Path) -> list[tuple[str, str, str, str]]:
    """(change id, card id, member id, board name) of the card members the apply added, one
    per card."""
    records = Journal.read(journal).records
    applied = {r.change_id for r in records if r.op == "apply" and r.status == "applied"}
    out: dict[str, tuple[str, str, str, str]] = {}
    for c in doc["changes"]:
        if c["action"] == "add_member_to_card" and c["change_id"] in applied:
            card = c["card"]["id"]
            out.setdefault(card, (c["change_id"], card, c["member"]["id"], c["board"]["name"]))
    return list(out.values())


def test_undo_of_a_member_whose_card_moved_to_another_board(
    sb: Sandbox, scenario: Scenario, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """After the apply, four of its cards leave their board: one moves to a board where its
    member is a member too (they stay on it), one to a board where they are not (Trello takes
    them off), one to a board the token's member is not on, and one is deleted. Undo: the
    first is drifted naming the board (exit 5, the JSON's error says it, nothing removed), the
    third drifted (it cannot be read), the second and fourth "no longer there"; one look-up
    per such card. A later undo looks at the two drifted ones again, counting neither done."""
    w, lead = scenario.world, scenario.mover.id
    doc = plan_doc(sb, scenario, "a")
    path = tmp_path / "j.jsonl"
    with api_for(sb) as api, open_journal(doc, path, api) as journal:
        apply_doc(doc, api, journal, fast_options())  # its blocked changes: exit 5
    stays, stripped, hidden, deleted = _added(doc, path)[:4]
    other = next(m for m in w.members if m not in (lead, stays[2], stripped[2]))
    with w.lock:
        shared = w.create_board("Elsewhere", lead)
        w.add_member_to_board(shared.id, stays[2], lead, "normal")
        inbox = w.create_list(shared.id, "Inbox", lead)
        w.move_card_to_board(stays[1], shared.id, inbox.id, lead)
        w.move_card_to_board(stripped[1], shared.id, inbox.id, lead)
        private = w.create_board("Private", other)  # the lead is not on it
        w.move_card_to_board(
            hidden[1], private.id, w.create_list(private.id, "Mine", other).id, lead
        )
        w.delete_card(deleted[1], lead)
    assert stays[2] in w.cards[stays[1]].id_members
    assert stripped[2] not in w.cards[stripped[1]].id_members
    invoke = cli_for(sb, monkeypatch)

    start = len(sb.server.request_log)
    first = invoke("undo", str(path), "--yes", "--format", "json")
    assert first.exit_code == ExitCode.PARTIAL, first.output
    summary = json.loads(first.stdout)
    by_id = {c["change_id"]: c for c in summary["changes"]}
    assert by_id[stays[0]]["status"] == "drifted"
    assert by_id[stays[0]]["error"] == (
        "the card moved to board Elsewhere since: the member is still on it there, and undo "
        f"removes members only on board {stays[3]}; check it by hand"
    )
    name = w.cards[stays[1]].name  # the card read by id names it
    assert f"→ card {name} (https://trello.com/c/" in by_id[stays[0]]["label"]
    assert by_id[hidden[0]]["status"] == "drifted"
    assert "cannot be read" in by_id[hidden[0]]["error"]
    assert by_id[stripped[0]]["status"] == "not_on_card"
    assert by_id[deleted[0]]["status"] == "not_on_card"
    assert summary["undo"]["drifted"] == 2
    assert stays[2] in w.cards[stays[1]].id_members  # left alone
    log = sb.server.request_log[start:]
    lookups = sorted(r.path for r in log if r.method == "GET" and r.path.startswith("/1/cards/"))
    assert lookups == sorted(f"/1/cards/{c[1]}" for c in (stays, stripped, hidden, deleted))
    assert not any(r.method == "DELETE" and stays[1] in r.path for r in log)

    left = {u.record.change_id for u in undoable(Journal.read(path).records)}
    assert {stays[0], hidden[0]} <= left
    assert not {stripped[0], deleted[0]} & left
    again = invoke("undo", str(path), "--yes")
    assert again.exit_code == ExitCode.PARTIAL, again.output
    lines = again.stdout.splitlines()
    assert lines[-1].startswith("Summary: 2 drifted, 0 removed, 0 failed."), lines
    assert "moved to board Elsewhere since" in again.stdout


def test_undo_of_a_card_move_whose_old_list_moved_to_another_board(
    sandbox_factory: SandboxFactory, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The apply moved card c2 back from list Done to Doing; then Done moves to the archive
    board. Undo (dry run and real) says the move back is drifted with why, sends nothing for
    c2 (the sandbox would refuse it; Trello may move the card across boards) and exits 5."""
    sb, path = applied_values(sandbox_factory, tmp_path)
    ids = sb.ids
    assert sb.world.cards[ids["c2"]].id_list == ids["doing"]
    with sb.world.lock:
        sb.world.move_list_to_board(ids["done"], ids["archive"], ids["lead"])
    invoke = cli_for(sb, monkeypatch)
    why = (
        f'the list it was in, "Done" ({ids["done"]}), is no longer on the card\'s board (moved '
        "to another board since), and moving cards across boards is out of scope: left alone; "
        "check it by hand"
    )

    dry = invoke("undo", str(path), "--dry-run", "-v")
    assert dry.exit_code == ExitCode.PARTIAL, dry.output
    line = next(x for x in dry.stdout.splitlines() if 'idList of card "C2"' in x)
    assert line.startswith("  drifted"), line
    assert why in line

    start = len(sb.server.request_log)
    real = invoke("undo", str(path), "--yes", "--format", "json")
    assert real.exit_code == ExitCode.PARTIAL, real.output
    moved = [c for c in json.loads(real.stdout)["changes"] if c["card_id"] == ids["c2"]]
    assert [(c["status"], c["error"]) for c in moved] == [("drifted", why)]
    assert not [x for x in writes(sb, start) if ids["c2"] in x]
    assert sb.world.cards[ids["c2"]].id_list == ids["doing"]
    assert sb.world.cards[ids["c2"]].id_board == ids["team"]


def test_sandbox_nests_a_cards_board_when_asked(sandbox: Sandbox) -> None:
    """``GET /1/cards/{id}?board=true`` nests the card's board (``board_fields``: those and
    its id); a name that is no board field is 400 ``invalid value for board_fields``; without
    ``board`` no board is nested."""
    card = sandbox.ids["c1"]
    got = sandbox.get(f"/cards/{card}", fields="idBoard", board="true", board_fields="name")
    assert got.status_code == 200, got.text
    assert got.json() == {
        "id": card,
        "idBoard": sandbox.ids["team"],
        "board": {"id": sandbox.ids["team"], "name": "Team"},
    }
    assert "board" not in sandbox.get(f"/cards/{card}", fields="idBoard").json()
    bad = sandbox.get(f"/cards/{card}", board="true", board_fields="nope")
    assert (bad.status_code, bad.text) == (400, "invalid value for board_fields")


def test_undo_of_values_whose_card_was_deleted_or_moved_to_another_board(
    sandbox_factory: SandboxFactory, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The apply unarchived c1 and set c3's due date and description back; then c1 is deleted
    and c3 moves to the archive board. Undo reads both cards by id (one request each): c1's
    change has nothing to undo (settled: R37a saw it drifted, "deleted or moved", on every
    undo, exit 5 for good), c3's two are drifted naming the board they moved to, and nothing is
    sent for either. A later undo does not look at c1 again."""
    sb, path = applied_values(sandbox_factory, tmp_path)
    ids, w = sb.ids, sb.world
    with w.lock:
        w.delete_card(ids["c1"], ids["ben"])
        inbox = w.create_list(ids["archive"], "Inbox", ids["lead"])
        w.move_card_to_board(ids["c3"], ids["archive"], inbox.id, ids["lead"])
    invoke = cli_for(sb, monkeypatch)
    moved = (
        f"the card moved to board {w.boards[ids['archive']].name} since: its {{}} there is left "
        f"as it is, and undo writes only on board {w.boards[ids['team']].name}; check it by hand"
    )

    dry = invoke("undo", str(path), "--dry-run", "-v")
    assert dry.exit_code == ExitCode.PARTIAL, dry.output
    line = next(x for x in dry.stdout.splitlines() if 'closed of card "C1"' in x)
    assert line.startswith("  nothing to undo"), line
    assert line.endswith("(the card was deleted: nothing to undo)"), line
    start = len(sb.server.request_log)
    first = invoke("undo", str(path), "--yes", "--format", "json")
    assert first.exit_code == ExitCode.PARTIAL, first.output
    got = {
        (c["card_id"], c["status"], c["error"])
        for c in json.loads(first.stdout)["changes"]
        if c["card_id"] in (ids["c1"], ids["c3"])
    }
    assert got == {
        (ids["c1"], "not_on_card", "the card was deleted: nothing to undo"),
        (ids["c3"], "drifted", moved.format("due")),
        (ids["c3"], "drifted", moved.format("desc")),
    }
    log = sb.server.request_log[start:]
    lookups = sorted(r.path for r in log if r.method == "GET" and r.path.startswith("/1/cards/"))
    assert lookups == sorted(f"/1/cards/{ids[c]}" for c in ("c1", "c3"))
    assert not [x for x in writes(sb, start) if ids["c1"] in x or ids["c3"] in x]

    start = len(sb.server.request_log)
    again = invoke("undo", str(path), "--yes", "-v")
    assert again.exit_code == ExitCode.PARTIAL, again.output
    assert again.stdout.splitlines()[-1].startswith("Summary: 2 drifted, 0 reverted, 0 failed.")
    log = sb.server.request_log[start:]
    lookups = [r.path for r in log if r.method == "GET" and r.path.startswith("/1/cards/")]
    assert lookups == [f"/1/cards/{ids['c3']}"]
