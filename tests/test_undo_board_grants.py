"""Undo of the board memberships an apply granted (``--add-to-board``) over the command line
against the sandbox: ``--include-board-memberships`` removes no more than the grant gave (a
role someone changed since, or cards colleagues added the member to since, leave the
membership in place, drifted); interrupted grants count among what is left without the flag;
and an undo without the flag says once, after its summary, which memberships stay."""

from __future__ import annotations

import json
import os
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from trello_restore.errors import ExitCode
from trello_restore.journal import Journal, JournalRecord
from trello_restore.sandbox.scenario import Scenario

from .conftest import Sandbox, sandbox_cli
from .test_cli_apply import Invoke, _journal_from, _restore_args

GRANT = "add_member_to_board"


@pytest.fixture(name="invoke")
def invoke_fixture(sb: Sandbox, monkeypatch: pytest.MonkeyPatch) -> Invoke:
    return sandbox_cli(sb, monkeypatch)


def _apply(invoke: Invoke, s: Scenario, tmp_path: Path) -> tuple[Path, list[JournalRecord]]:
    """Plan set b (``--add-to-board``) and apply it; the journal and its applied records."""
    plan = tmp_path / "plan.json"
    r = invoke(*_restore_args(s), "--dry-run", "--plan-out", str(plan))
    assert r.exit_code == 0, r.output
    applied = invoke("apply", str(plan), "--yes")
    assert applied.exit_code == 0, applied.output
    journal = _journal_from(applied)
    records = [r for r in Journal.read(journal).records if r.status == "applied"]
    assert sum(r.action == GRANT for r in records) >= 2, "the scenario must grant memberships"
    return journal, records


def _cards_of(s: Scenario, board_id: str, member_id: str) -> set[str]:
    """The cards of board ``board_id`` the member is on."""
    return {
        c.id for c in s.world.cards.values() if c.id_board == board_id and member_id in c.id_members
    }


def _undo_all(invoke: Invoke, journal: Path, *flags: str) -> tuple[int, str, str]:
    r = invoke("undo", str(journal), "--yes", "--include-board-memberships", *flags)
    return r.exit_code, r.stdout, r.stderr


def test_a_role_changed_since_the_grant_stays(
    invoke: Invoke, scenario: Scenario, sb: Sandbox, tmp_path: Path
) -> None:
    """A member promoted to admin after the apply granted them normal membership is not
    removed from the board: drifted, saying the role now and the one granted (exit 5); the
    other grants and every card member the apply added are removed."""
    journal, records = _apply(invoke, scenario, tmp_path)
    promoted, *others = [r for r in records if r.action == GRANT]
    board = scenario.world.boards[promoted.board_id]
    put = sb.session().put(
        f"{sb.base_url}/boards/{promoted.board_id}/members/{promoted.member_id}",
        params={"type": "admin"},
    )
    assert put.status_code == 200, put.text
    dry = invoke("undo", str(journal), "--dry-run", "--include-board-memberships")
    assert "their role on the board is admin now, not normal as the apply granted" in dry.stdout
    code, out, _ = _undo_all(invoke, journal)
    assert code == ExitCode.PARTIAL, out
    assert board.memberships[promoted.member_id].member_type == "admin"
    assert not any(r.member_id in board.memberships for r in others)
    line = next(x for x in out.splitlines() if "drifted" in x)
    assert "as normal" in line
    assert line.endswith(
        "(their role on the board is admin now, not normal as the apply granted: someone "
        "changed it since, so the membership is left in place)"
    )
    assert "Summary: 1 drifted, " in out
    for r in records:
        if r.action != GRANT:
            assert r.member_id not in scenario.world.cards[r.card_id].id_members


def test_cards_a_colleague_added_the_member_to_keep_the_membership(
    invoke: Invoke, scenario: Scenario, sb: Sandbox, tmp_path: Path
) -> None:
    """A granted member a colleague put on another card of the board after the apply stays on
    the board and on that card (removing them from the board would take them off it): drifted
    with the count and the card's name. The cards the apply added them to are undone, and a
    granted member whose every card is one this undo takes them off is removed from the board
    in the same run."""
    journal, records = _apply(invoke, scenario, tmp_path)
    grants = [r for r in records if r.action == GRANT]
    kept = grants[0]
    ours = {r.card_id for r in records if r.member_id == kept.member_id and r.card_id}
    theirs = next(
        c
        for c in sorted(scenario.world.cards.values(), key=lambda c: c.id)
        if c.id_board == kept.board_id and c.id not in ours and kept.member_id not in c.id_members
    )
    post = sb.session().post(
        f"{sb.base_url}/cards/{theirs.id}/idMembers", params={"value": kept.member_id}
    )
    assert post.status_code == 200, post.text
    code, out, _ = _undo_all(invoke, journal)
    assert code == ExitCode.PARTIAL, out
    board = scenario.world.boards[kept.board_id]
    assert kept.member_id in board.memberships
    assert _cards_of(scenario, kept.board_id, kept.member_id) == {theirs.id}
    line = next(x for x in out.splitlines() if "drifted" in x)
    name = json.dumps(theirs.name)
    assert line.endswith(
        f"(on 1 card of the board the apply did not add them to ({name}): removing them from "
        "the board would take them off it too)"
    )
    for r in grants[1:]:
        assert r.member_id not in scenario.world.boards[r.board_id].memberships
    latest = Journal.read(journal).latest()
    assert latest[kept.change_id].status == "drifted"


def _interrupted(journal: Path, keep: str = "") -> None:
    """The journal as a kill between a grant's 2xx and its ``applied`` record leaves it: each
    grant's ``applied`` line dropped (only its ``pending`` one left), long enough ago that no
    write can still be in flight (two minutes: the actions Trello logged for the writes stay
    near their records, so an undo still takes them for this tool's, ``touches.py``).
    ``keep``: only the header and that action's lines."""
    at = (datetime.now(UTC) - timedelta(minutes=2)).isoformat(timespec="milliseconds")
    lines = journal.read_text().splitlines(keepends=True)
    out = [lines[0]]
    for line in lines[1:]:
        raw = json.loads(line)
        if raw["action"] == GRANT and raw["status"] == "applied":
            continue
        if keep and raw["action"] != keep:
            continue
        raw["at"] = at.replace("+00:00", "Z")
        out.append(json.dumps(raw, sort_keys=True) + "\n")
    journal.write_text("".join(out))
    os.utime(journal, (0, 0))


def test_interrupted_grants_are_left_and_said(
    invoke: Invoke, scenario: Scenario, sb: Sandbox, tmp_path: Path
) -> None:
    """An undo without --include-board-memberships says once after its summary which board
    memberships the apply granted stay (``board_memberships_kept`` in JSON). Grants the apply
    sent whose ``applied`` record a kill lost (only ``pending``) count among them: a second
    one says it has nothing to do without the flag (not "no change this tool made"), and with
    the flag they are removed."""
    journal, records = _apply(invoke, scenario, tmp_path)
    g = sum(r.action == GRANT for r in records)
    dry = invoke("undo", str(journal), "--dry-run")
    assert dry.stdout.splitlines()[-1] == (
        f"{g} board memberships this apply granted stay; undo --include-board-memberships "
        "removes them."
    )
    grants_only = tmp_path / "grants.jsonl"
    grants_only.write_text(journal.read_text())
    _interrupted(grants_only, keep=GRANT)
    _interrupted(journal)
    said = invoke("undo", str(grants_only), "--yes")
    assert said.exit_code == 0, said.output
    assert said.stdout == (
        f"Nothing to undo without --include-board-memberships: {g} board memberships this tool "
        f"granted are left (they are interrupted grants that may have taken effect), and it "
        "made no other change.\n"
    )

    doc = json.loads(invoke("undo", str(journal), "--dry-run", "--format", "json").stdout)
    assert doc["board_memberships_kept"] == g
    cards = invoke("undo", str(journal), "--yes")
    assert cards.exit_code == 0, cards.output
    lines = cards.stdout.splitlines()
    assert lines[-2].startswith("Summary: ")
    assert lines[-1] == (
        f"{g} board memberships this apply granted stay (they are interrupted grants that may "
        "have taken effect); undo --include-board-memberships removes them."
    )
    again = invoke("undo", str(journal), "--yes")
    assert again.exit_code == 0, again.output
    assert again.stdout.startswith(
        f"Nothing to undo without --include-board-memberships: {g} board memberships this tool "
        "granted are left (they are interrupted grants that may have taken effect), and every "
        "other change it made was undone already."
    )
    os.utime(journal, (0, 0))  # the undos' writes are no killed run's in flight
    code, out, _ = _undo_all(invoke, journal, "--format", "json")
    assert code == 0, out
    doc = json.loads(out)
    assert (doc["undo"]["undone"], doc["board_memberships_kept"]) == (g, 0)
    assert not any(
        r.member_id in scenario.world.boards[r.board_id].memberships
        for r in records
        if r.action == GRANT
    )
