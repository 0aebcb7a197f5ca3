"""An apply of a plan right after its undo was killed waits for the undo's writes that may still
be in flight before it reads the board (R41a), over HTTP.

A killed undo leaves its last writes ``pending``, and Trello may carry them out after the kill.
The apply read the boards at once, found the members the undo was removing still on their
cards, and counted them ``applied`` (the undo's own writes, as it must count a failed undo's)
with no write; then the removals landed. Exit 0, the journal said applied, and no later apply
sent anything: the members were gone for good. Now it waits, as an undo waits for a killed
apply's writes, and says so; what the removals took off is added again.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from trello_restore.errors import ExitCode
from trello_restore.journal import Journal

from .conftest import SandboxFactory
from .test_rerun_after_kill import kill_with_a_write_on_the_wire, killable


def test_an_apply_right_after_a_killed_undo_waits_for_its_writes(
    sandbox_factory: SandboxFactory, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    k = killable(sandbox_factory, monkeypatch, tmp_path)
    s, invoke, plan, journal, cards = k.s, k.invoke, k.plan, k.journal, k.cards
    fast = ("--journal", str(journal), "--yes", "--rate-limit", "1000")
    applied = invoke("apply", str(plan), *fast)
    assert applied.exit_code == ExitCode.OK, applied.output

    # The undo, killed with its first writes on the wire.
    kill_with_a_write_on_the_wire(k, ["undo", str(journal), "--yes", "--workers", "4"], "undo")
    open_ = [r for r in Journal.read(journal).latest().values() if r.status == "pending"]
    assert open_
    assert {r.op for r in open_} == {"undo"}

    again = invoke("apply", str(plan), *fast)
    assert "may still have in flight" in again.stderr, again.output
    undone = [r for r in Journal.read(journal).records if r.op == "undo" and r.status == "undone"]
    again_n = len(undone) + len(open_)  # what the undo took off, or may have
    assert f"applying it again (up to {again_n} of its changes;" in again.stderr, again.stderr
    assert again.exit_code == ExitCode.OK, again.output
    with s.world.lock:  # every member the plan puts back is on their card, as the journal says
        missing = [(c, m) for c, m in cards.items() if m not in s.world.card(c).id_members]
    assert missing == []
    latest = Journal.read(journal).latest()
    assert {r.status for r in latest.values() if r.action == "add_member_to_card"} == {"applied"}
