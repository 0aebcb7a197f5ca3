"""A one-step run with nothing to write still settles the writes a killed run left open on its
boards (``oneshot._settle_earlier``), over the command line against the sandbox.

The nightly job killed with its last writes in flight, which then reached Trello: the next
night's plan has nothing to do (the members are on their cards), and the killed run's journal
keeps ``pending`` records. Left for a later run that writes, a colleague's change in between
makes each a "cannot tell whether the interrupted add took effect" warning; settled now, from
the cards as they are, each is the killed run's ``applied``, within its undo's reach."""

from __future__ import annotations

import os
import sys
from pathlib import Path

import pytest

from trello_restore import run
from trello_restore.journal import Journal
from trello_restore.sandbox.scenario import Scenario, generate

from .applykit import kill_when, plan_doc
from .conftest import Sandbox, SandboxFactory
from .test_undo_crash import IN_FLIGHT, SANDBOX, InFlight, _env, _invoker, _landed, _open_writes
from .truthcheck import incident_since


def test_a_run_with_nothing_to_write_settles_a_killed_runs_open_writes(
    sandbox_factory: SandboxFactory, monkeypatch: pytest.MonkeyPatch
) -> None:
    _, sb, args, journal = _killed_with_writes_landing(sandbox_factory, monkeypatch)
    home = Path(os.environ["TRELLO_RESTORE_HOME"])  # the test's own (conftest)
    left = _open_writes(journal)
    assert len(left) >= IN_FLIGHT
    assert all(_landed(sb, r) for r in left.values())

    invoke = _invoker(sb, monkeypatch)
    again = invoke(*args, "--format", "json")
    assert again.exit_code == 0, again.output
    assert '"outcome": "nothing_to_do"' in again.output
    latest = {r.change_id: r.status for r in Journal.read(journal).records if r.op == "apply"}
    assert {c: latest[c] for c in left} == dict.fromkeys(left, "applied")
    assert list((home / "state" / "journals").glob("*.jsonl")) == [journal]  # no new journal

    # With none left open, a run with nothing to write settles nothing (no request more).
    def no_settling(*_: object, **__: object) -> None:
        raise AssertionError("nothing left open: nothing to settle")

    monkeypatch.setattr(run, "settle_earlier", no_settling)
    third = invoke(*args)
    assert third.exit_code == 0, third.output


def test_an_open_write_on_a_card_deleted_since_is_settled_once_not_warned_of_every_run(
    sandbox_factory: SandboxFactory, monkeypatch: pytest.MonkeyPatch
) -> None:
    """R35a: after a kill, a card with open adds on it deleted, every later cron run warned
    "cannot tell whether the interrupted add … took effect: the card was deleted or moved to
    another board" (cron mailed it every 15 minutes), and nothing could stop it (``undo``
    failed them too). The card read by id is deleted: nothing to undo, settled once."""
    s, sb, args, journal = _killed_with_writes_landing(sandbox_factory, monkeypatch)
    left = _open_writes(journal)
    doomed = next(r.card_id for r in left.values() if r.card_id)
    on_it = {c for c, r in left.items() if r.card_id == doomed}
    with sb.world.lock:
        sb.world.delete_card(doomed, s.mover.id)

    invoke = _invoker(sb, monkeypatch)
    for night in range(2):
        again = invoke(*args, "--format", "json")
        assert again.exit_code == 0, again.output
        assert "cannot tell" not in again.stderr, (night, again.stderr)
    latest = {r.change_id: r for r in Journal.read(journal).records if r.op == "apply"}
    assert {latest[c].status for c in on_it} == {"not_applied"}
    assert all("the card was deleted" in (latest[c].error or "") for c in on_it)
    assert {latest[c].status for c in left.keys() - on_it} == {"applied"}


def _killed_with_writes_landing(
    sandbox_factory: SandboxFactory, monkeypatch: pytest.MonkeyPatch
) -> tuple[Scenario, Sandbox, list[str], Path]:
    """The nightly one-step run killed with its last writes held in flight, all of which then
    reach Trello: the scenario, the sandbox, the run's arguments and its journal."""
    s = generate(6, 60)
    sb = sandbox_factory(s, **SANDBOX, seed=6)
    writes = len(plan_doc(sb, s, "b")["changes"])
    args = ["--board", s.team.id, "--since", incident_since(s), "--removed-by",
            s.mover.username, "--add-to-board", "--rate-limit", "1000", "--yes", "-q"]  # fmt: skip
    home = Path(os.environ["TRELLO_RESTORE_HOME"])  # the test's own (conftest)
    gate = InFlight(monkeypatch, writes - IN_FLIGHT, 0)
    kill_when(
        [sys.executable, "-m", "trello_restore", *args], _env(sb), lambda: gate.held >= IN_FLIGHT
    )
    gate.release(sb)
    (journal,) = (home / "state" / "journals").glob("*.jsonl")
    return s, sb, args, journal
