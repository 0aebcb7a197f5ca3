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

import json
import os
import subprocess
import sys
import time
from pathlib import Path

import pytest

from trello_restore.errors import ExitCode
from trello_restore.journal import Journal
from trello_restore.planfile import write_plan
from trello_restore.sandbox.scenario import generate

from .applykit import plan_doc
from .conftest import SandboxFactory, sandbox_cli

#: Seconds a request may take before this client gives up (connect and read: 2 + 2 = 4 s): how
#: long the apply waits for the killed undo's writes.
TIMEOUT = "2"


def test_an_apply_right_after_a_killed_undo_waits_for_its_writes(
    sandbox_factory: SandboxFactory, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    s = generate(3, 60)
    sb = sandbox_factory(s, token_limit=10_000, key_limit=10_000)
    doc = plan_doc(sb, s, "b")
    plan, journal = tmp_path / "plan.json", tmp_path / "j.jsonl"
    write_plan(doc, plan)
    monkeypatch.setenv("TRELLO_RESTORE_REQUEST_TIMEOUT", TIMEOUT)
    invoke = sandbox_cli(sb, monkeypatch)
    fast = ("--journal", str(journal), "--yes", "--rate-limit", "1000")
    applied = invoke("apply", str(plan), *fast)
    assert applied.exit_code == ExitCode.OK, applied.output
    cards = {c["card"]["id"]: c["member"]["id"] for c in doc["changes"] if "card" in c}

    # The undo, slow to be answered (1.5 s a write), killed with its first writes on the wire.
    sb.server.set_options(write_latency_ms=1500)
    undo = subprocess.Popen(
        [sys.executable, "-m", "trello_restore", "undo", str(journal), "--yes", "--workers", "4"],
        env={**os.environ},
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )
    deadline = time.monotonic() + 60
    while not _undo_sent(journal):
        assert undo.poll() is None, undo.communicate()
        assert time.monotonic() < deadline, "the undo sent no write"
        time.sleep(0.005)
    undo.kill()
    undo.communicate(timeout=60)
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


def _undo_sent(journal: Path) -> bool:
    """Whether the undo has a card member removal on the wire (journaled ``pending``)."""
    for line in journal.read_text().splitlines():
        try:
            r = json.loads(line)
        except ValueError:  # the line being written
            continue
        if r.get("op") == "undo" and r.get("status") == "pending":
            return bool(r.get("action") == "add_member_to_card")
    return False
