"""A board membership the plan grants is sent only when a card add still needs it (B24), over
the command line against the sandbox.

An old plan (``--add-to-board``: the move incident's members are not on the team board) applied
under another ``--journal`` after a colleague took its members off the board (and so off their
cards) granted the memberships again, though every card add for them was drifted: board access
for nothing. The tool grants board access only when asked and needed (design.md §3): a grant
whose card adds the apply leaves alone is not sent, drifted with the card adds' reason, and
a dry run says the same. A grant some card add still needs is made as before.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from trello_restore.errors import ExitCode
from trello_restore.journal import Journal
from trello_restore.planfile import read_plan

from .conftest import SandboxFactory
from .test_undo_again import FAST, Run

GRANT = "add_member_to_board"
NOT_NEEDED = "no card add left for them on this board: "


def _grants(r: Run) -> dict[str, list[str]]:
    """The plan's granted members (all on one board: ``_board``), each with the cards the plan
    adds them to."""
    plan, _ = read_plan(r.plan)
    members: dict[str, list[str]] = {c.member.id: [] for c in plan.changes if c.action == GRANT}
    assert members, "the plan must grant board memberships"
    assert len({c.board_id for c in plan.changes if c.action == GRANT}) == 1
    for c in plan.changes:
        if c.action != GRANT and c.member.id in members:
            members[c.member.id].append(c.card_id)
    return members


def _board(r: Run) -> str:
    """The board the plan grants memberships of."""
    plan, _ = read_plan(r.plan)
    return next(c.board_id for c in plan.changes if c.action == GRANT)


def _colleague(r: Run, skip: set[str]) -> tuple[str, str]:
    """A normal member of the grants' board other than the lead and ``skip``, with a token of
    theirs: (member id, token)."""
    board = r.s.world.boards[_board(r)]
    ids = sorted(
        m
        for m, ms in board.memberships.items()
        if ms.member_type == "normal" and not ms.deactivated and m != r.s.mover.id
    )
    mid = next(m for m in ids if m not in skip)
    return mid, r.s.world.add_credentials(mid)[1]


def _board_writes(r: Run, start: int) -> list[str]:
    return [x for x in r.writes(start) if x.startswith("PUT /1/boards/")]


def test_an_old_plan_under_another_journal_grants_nothing_no_card_add_needs(
    sandbox_factory: SandboxFactory, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    r = Run("members", sandbox_factory, monkeypatch, tmp_path)
    granted = _grants(r)
    first = r.invoke("apply", str(r.plan), "--journal", str(tmp_path / "first.jsonl"), *FAST)
    assert first.exit_code == ExitCode.OK, first.output
    # A colleague takes the granted members off the board (Trello takes them off its cards).
    _, token = _colleague(r, set(granted))
    http = r.sb.session(token)
    for mid in granted:
        gone = http.delete(f"{r.sb.base_url}/boards/{_board(r)}/members/{mid}", timeout=30)
        assert gone.status_code == 200, gone.text
    before = r.state()

    new = tmp_path / "new.jsonl"
    dry = r.invoke("apply", str(r.plan), "--journal", str(new), "--dry-run", *FAST, "-v")
    start = len(r.sb.server.request_log)
    result = r.invoke("apply", str(r.plan), "--journal", str(new), *FAST, "-v")
    assert result.exit_code == ExitCode.PARTIAL, result.output  # as the drifted card adds give
    assert _board_writes(r, start) == []  # no grant sent
    assert r.state() == before
    for run in (dry, result):
        assert run.exit_code == ExitCode.PARTIAL, run.output
        lines = [x for x in run.stdout.splitlines() if NOT_NEEDED in x]
        assert len(lines) == len(granted), run.output
        assert all(x.startswith("  drifted, skipped ") and "→ board " in x for x in lines)
        # The card adds' own reason: taken off again after the plan was made.
        assert all("removed again by @" in x for x in lines), lines
        assert "would add" not in "\n".join(x for x in run.stdout.splitlines() if "→ board" in x)
    drifted = len(granted) + sum(map(len, granted.values()))  # the grants and their card adds
    assert result.stdout.splitlines()[-1] == (
        f"Summary: 0 applied, {r.n - drifted} already satisfied, {drifted} drifted, 0 blocked, "
        "0 failed."
    )
    latest = Journal.read(new).latest()
    grants = [x for x in latest.values() if x.action == GRANT]
    assert len(grants) == len(granted)
    assert {x.status for x in grants} == {"drifted"}
    assert not any(x.status == "applied" for x in latest.values())
    # Nothing of the new journal to undo: the grants were not sent.
    undo = r.invoke("undo", str(new), *FAST, "--include-board-memberships")
    assert undo.exit_code == ExitCode.OK, undo.output
    assert undo.stdout.startswith("Nothing to undo"), undo.output
    assert r.state() == before


def test_a_grant_some_card_add_still_needs_is_made(
    sandbox_factory: SandboxFactory, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    """One member had every planned card touched since the plan (added and taken off again by a
    colleague): no grant. Another had one: their grant is made, for the cards left."""
    r = Run("members", sandbox_factory, monkeypatch, tmp_path)
    granted = _grants(r)
    several = sorted(m for m, cards in granted.items() if len(cards) > 1)
    assert len(granted) > 1, granted
    assert several, granted
    partly = several[0]
    whole = next(m for m in sorted(granted) if m != partly)
    colleague, _ = _colleague(r, set(granted))
    w, team = r.s.world, _board(r)
    touched = {whole: granted[whole], partly: granted[partly][:1]}
    with w.lock:
        for mid, cards in touched.items():
            w.add_member_to_board(team, mid, colleague)
            for card in cards:
                w.add_member_to_card(card, mid, colleague)
                w.remove_member_from_card(card, mid, colleague)
            w.remove_member_from_board(team, mid, colleague)

    dry = r.invoke("apply", str(r.plan), "--dry-run", *FAST, "-v")
    start = len(r.sb.server.request_log)
    result = r.apply("-v")
    for run in (dry, result):
        assert run.exit_code == ExitCode.PARTIAL, run.output
        lines = [x for x in run.stdout.splitlines() if NOT_NEEDED in x]
        assert len(lines) == 1, run.output
        assert w.members[whole].username in lines[0]
    puts = _board_writes(r, start)
    assert len(puts) == len(granted) - 1
    assert not any(whole in x for x in puts)
    board = w.boards[team]
    assert whole not in board.memberships
    assert board.is_active_member(partly)
    assert all(partly in w.cards[c].id_members for c in granted[partly][1:])
    assert not any(partly in w.cards[c].id_members for c in granted[partly][:1])
