"""Undoing both journals of a one-step run interrupted and run again gives back the state before
the first run, in either order, without a second pass (review R23b), over the command line
against the sandbox.

The first run (journal J1) grants board memberships, adds a few card members and is interrupted
(Ctrl-C); the second (J2) plans again and adds the members J1 granted to the cards J1 had not
reached, granting nothing (they are on the board by then). Undoing J1 first used to leave every
grant in place for good, "drifted" as if colleagues had put the members on J2's cards, and
undoing J2 then left the memberships behind. Now J1's undo keeps each grant for J2's cards
saying so (J2's path, what to run), and J2's undo removes it with them; never while a card a
colleague put the member on keeps them on the board."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path

import pytest

from trello_restore.errors import ExitCode
from trello_restore.journal import Journal, JournalRecord
from trello_restore.sandbox.scenario import Scenario, generate

from .applykit import Snapshot, diff, interrupt_handled, snapshot
from .conftest import Sandbox, SandboxFactory
from .test_undo_crash import SANDBOX, InFlight, Invoke, _env, _invoker
from .truthcheck import incident_since

GRANT, CARD = "add_member_to_board", "add_member_to_card"
#: Card members the first run adds after its grants before the interrupt (one more is in
#: flight then, answered and journaled before it exits).
CARDS_FIRST = 3


def _applied(journal: Path) -> list[JournalRecord]:
    return [r for r in Journal.read(journal).records if r.op == "apply" and r.status == "applied"]


def _two_runs(
    sandbox_factory: SandboxFactory, monkeypatch: pytest.MonkeyPatch
) -> tuple[Scenario, Sandbox, Invoke, Snapshot, Path, Path]:
    """The scenario's one-step run with --add-to-board interrupted by Ctrl-C after its grants
    and ``CARDS_FIRST`` card members (journal J1), then run again to the end (J2). Returns the
    world's snapshot from before the first run and the two journals."""
    s = generate(6, 60)
    sb = sandbox_factory(s, **SANDBOX, seed=6)
    invoke = _invoker(sb, monkeypatch)
    args = ["--board", s.team.id, "--since", incident_since(s), "--removed-by",
            s.mover.username, "--add-to-board", "--rate-limit", "1000", "--yes", "-q"]  # fmt: skip
    plan = json.loads(invoke(*args, "--dry-run", "--format", "json").stdout)
    grants = sum(c["action"] == GRANT for c in plan["changes"])
    before = snapshot(s.world)
    journals = Path(os.environ["TRELLO_RESTORE_HOME"]) / "state" / "journals"

    gate = InFlight(monkeypatch, grants + CARDS_FIRST, 0)
    proc = subprocess.Popen(
        [sys.executable, "-m", "trello_restore", *args],
        env=_env(sb),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )
    while proc.poll() is None and gate.held < 1:
        time.sleep(0.001)
    assert proc.poll() is None, "the first run must be interrupted, not finish"
    interrupt_handled(proc)  # Ctrl-C, with a card member's write held in flight
    gate.release(sb)
    _, err = proc.communicate(timeout=60)
    assert proc.returncode == 130, err.decode()[-500:]
    (j1,) = journals.glob("*.jsonl")

    again = invoke(*args)
    assert again.exit_code == 0, again.output
    (j2,) = set(journals.glob("*.jsonl")) - {j1}
    granted = {(r.board_id, r.member_id) for r in _applied(j1) if r.action == GRANT}
    later = {(r.board_id, r.member_id) for r in _applied(j2) if r.action == CARD}
    assert len(granted) == grants, "the first run made every grant before the interrupt"
    assert not any(r.action == GRANT for r in _applied(j2))
    assert granted & later, "the second run adds members the first granted to more cards"
    return s, sb, invoke, before, j1, j2


def _undo(invoke: Invoke, journal: Path, *flags: str) -> tuple[int, str]:
    r = invoke("undo", str(journal), "--yes", "--rate-limit", "1000", *flags)
    return r.exit_code, r.output


BOARDS = "--include-board-memberships"


@pytest.mark.parametrize("first", ["J1", "J2"])
def test_undoing_both_journals_in_either_order_gives_back_the_state_before(
    sandbox_factory: SandboxFactory, monkeypatch: pytest.MonkeyPatch, first: str
) -> None:
    """Newest first, each undo is clean. Oldest first, J1's undo removes its card members and
    keeps each grant the second run's cards need, drifted (exit 5), naming J2's journal and
    that its undo removes it; J2's undo (no flag needed: J1's undo asked) then removes them
    with its cards, journaled in J1, so a third undo of J1 has nothing left."""
    s, _, invoke, before, j1, j2 = _two_runs(sandbox_factory, monkeypatch)
    if first == "J2":
        assert _undo(invoke, j2, BOARDS)[0] == ExitCode.OK
        code, out = _undo(invoke, j1, BOARDS)
        assert code == ExitCode.OK, out
        assert diff(snapshot(s.world), before) == []
        return

    code, out = _undo(invoke, j1, BOARDS)
    assert code == ExitCode.PARTIAL, out
    kept = [line for line in out.splitlines() if line.startswith("  drifted")]
    assert kept, out
    for line in kept:
        assert "of the board another run of this tool added them to (" in line, line
        assert line.endswith(
            f"; journal {j2}, not undone yet): undo that journal, and it removes the membership "
            "with those cards)"
        ) or line.endswith(
            f"; journal {j2}, not undone yet): undo that journal, and it removes the membership "
            "with the card)"
        ), line
    held = snapshot(s.world)
    dry = invoke("undo", str(j2), "--dry-run")
    assert dry.exit_code == ExitCode.OK, dry.output
    assert f"would also remove {len(kept)} board membership" in dry.output
    assert diff(snapshot(s.world), held) == []
    code, out = _undo(invoke, j2)
    assert code == ExitCode.OK, out
    assert f"also removing {len(kept)} board membership" in out
    assert diff(snapshot(s.world), before) == []
    latest = Journal.read(j1).latest()
    assert all(r.status == "undone" for r in latest.values() if r.action == GRANT)
    assert _undo(invoke, j1, BOARDS)[1].startswith("Nothing to undo: ")


def test_a_colleagues_card_still_keeps_the_membership(
    sandbox_factory: SandboxFactory, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A member J1's undo kept on the board for J2's cards, whom a colleague then puts on
    another card of the board, stays on the board and that card when J2's undo takes them off
    J2's cards (drifted, naming J1's journal as the grant's); the other kept grants go."""
    s, sb, invoke, before, j1, j2 = _two_runs(sandbox_factory, monkeypatch)
    assert _undo(invoke, j1, BOARDS)[0] == ExitCode.PARTIAL
    grants = [r for r in _applied(j1) if r.action == GRANT]
    held = next(g for g in grants if any(r.member_id == g.member_id for r in _applied(j2)))
    theirs = next(
        c
        for c in sorted(s.world.cards.values(), key=lambda c: c.id)
        if c.id_board == held.board_id and held.member_id not in c.id_members
    )
    post = sb.session().post(
        f"{sb.base_url}/cards/{theirs.id}/idMembers", params={"value": held.member_id}
    )
    assert post.status_code == 200, post.text

    code, out = _undo(invoke, j2, BOARDS)
    assert code == ExitCode.PARTIAL, out
    line = next(x for x in out.splitlines() if x.startswith("  drifted"))
    assert f", granted by journal {j1}  (on 1 card of the board the apply did not add" in line
    board = s.world.boards[held.board_id]
    assert board.is_active_member(held.member_id)
    with s.world.lock:
        on = {
            c.id
            for c in s.world.cards.values()
            if c.id_board == held.board_id and held.member_id in c.id_members
        }
    assert on == {theirs.id}
    want = Snapshot(
        {**before.cards, theirs.id: before.cards[theirs.id] | {held.member_id}},
        {**before.boards, held.board_id: before.boards[held.board_id] | {held.member_id: "normal"}},
    )
    assert diff(snapshot(s.world), want) == []
