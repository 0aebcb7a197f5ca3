"""The same command run again right after it was killed waits for the killed run's writes that
may still be in flight before it reads the board (R42c), over HTTP.

An apply killed with an add on the wire, applied again at once, sent the add again and was
undone; then the killed add landed: the member stayed on the card, and the journal said undone,
out of any undo's reach. An undo killed with a removal on the wire, undone again and applied
again at once: the killed removal landed after the apply, and the journal said applied. Both
now wait, as an undo after a killed apply and an apply after a killed undo already did.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any, NamedTuple

import pytest
from click.testing import Result

from trello_restore.errors import ExitCode
from trello_restore.journal import Journal
from trello_restore.planfile import write_plan
from trello_restore.sandbox.scenario import Scenario, generate

from .applykit import plan_doc
from .conftest import Sandbox, SandboxFactory, sandbox_cli

#: Connect and read timeouts (2 + 2 s): how long a rerun waits for the killed run's writes.
TIMEOUT = "2"
CARD = "add_member_to_card"


class Killable(NamedTuple):
    """A scenario served over loopback, its plan (set b) in a file, the journal its apply writes,
    the CLI pointed at it (requests giving up after ``TIMEOUT``) and each card change's member."""

    s: Scenario
    sb: Sandbox
    doc: Any
    plan: Path
    journal: Path
    invoke: Callable[..., Result]
    cards: dict[str, str]


def killable(
    sandbox_factory: SandboxFactory, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> Killable:
    s = generate(3, 60)
    sb = sandbox_factory(s, token_limit=10_000, key_limit=10_000)
    doc = plan_doc(sb, s, "b")
    plan, journal = tmp_path / "plan.json", tmp_path / "j.jsonl"
    write_plan(doc, plan)
    monkeypatch.setenv("TRELLO_RESTORE_REQUEST_TIMEOUT", TIMEOUT)
    cards = {c["card"]["id"]: c["member"]["id"] for c in doc["changes"] if "card" in c}
    return Killable(s, sb, doc, plan, journal, sandbox_cli(sb, monkeypatch), cards)


def kill_with_a_write_on_the_wire(k: Killable, args: list[str], op: str) -> None:
    """Run the command line with ``args``, slow to be answered (1.5 s a write), and kill it
    (SIGKILL) once its journal holds a card member write of ``op`` on the wire (``pending``):
    0.5 s after it is journaled, as the record is written just before the request is sent
    (R82: killed at once, the writes had often not left, and none landed after the kill)."""
    k.sb.server.set_options(write_latency_ms=1500)
    proc = subprocess.Popen(
        [sys.executable, "-m", "trello_restore", *args],
        env={**os.environ},
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )
    deadline = time.monotonic() + 60
    while not _sent(k.journal, op):
        assert proc.poll() is None, proc.communicate()
        assert time.monotonic() < deadline, f"the {op} sent no write"
        time.sleep(0.005)
    time.sleep(0.5)
    proc.kill()
    proc.communicate(timeout=60)


@pytest.mark.parametrize("killed", ["apply", "undo"])
def test_a_rerun_right_after_a_kill_waits_for_the_killed_run_s_writes(
    sandbox_factory: SandboxFactory, monkeypatch: pytest.MonkeyPatch, tmp_path: Path, killed: str
) -> None:
    k = killable(sandbox_factory, monkeypatch, tmp_path)
    s, invoke, journal, cards = k.s, k.invoke, k.journal, k.cards
    fast = ("--yes", "--rate-limit", "1000")
    apply, undo = ["apply", str(k.plan), "--journal", str(journal)], ["undo", str(journal)]
    with s.world.lock:
        before = {c: set(s.world.card(c).id_members) for c in cards}
    if killed == "undo":
        assert invoke(*apply, *fast).exit_code == ExitCode.OK

    command, other = (apply, undo) if killed == "apply" else (undo, apply)
    kill_with_a_write_on_the_wire(k, [*command, "--yes", "--workers", "4"], killed)
    k.sb.server.set_options(write_latency_ms=0)

    again = invoke(*command, *fast)
    assert "may still have in flight" in again.stderr, again.output
    assert again.exit_code == ExitCode.OK, again.output
    # And the other way round: undone, or applied again, exactly.
    assert invoke(*other, *fast).exit_code == ExitCode.OK
    time.sleep(2)  # a write the rerun did not wait for lands within the 1.5 s it was slowed by
    with s.world.lock:
        now = {c: set(s.world.card(c).id_members) for c in cards}
    if killed == "apply":  # undone: every card as before the plan
        assert now == before
    else:  # applied: every member the plan puts back is on their card, as the journal says
        assert [(c, m) for c, m in cards.items() if m not in now[c]] == []
        latest = Journal.read(journal).latest()
        assert {r.status for r in latest.values() if r.action == "add_member_to_card"} == {
            "applied"
        }


def _sent(journal: Path, op: str) -> bool:
    """Whether the run has a card member write on the wire (journaled ``pending``)."""
    if not journal.exists():
        return False
    for line in journal.read_text().splitlines():
        try:
            r = json.loads(line)
        except ValueError:  # the line being written
            continue
        if (r.get("op"), r.get("status"), r.get("action")) == (op, "pending", CARD):
            return True
    return False
