"""``undo JOURNAL --dry-run`` while an apply of that journal runs (review R25b's second
finding): the dry run, which takes no lock, took the apply's writes under way for a killed
run's, said "waiting 35 s for writes a killed run may still have in flight" and waited. Now it
sees the plan's lock held, says an apply or undo of the journal is running now, and does not
wait; with nothing holding it (a killed run), it waits as before."""

from __future__ import annotations

import json
import time
from pathlib import Path

import pytest

from trello_restore.errors import ExitCode
from trello_restore.journal import Journal
from trello_restore.locks import hold, lock_names
from trello_restore.sandbox.scenario import generate

from .applykit import api_for, apply_doc, fast_options, open_journal, plan_doc
from .conftest import SandboxFactory
from .conftest import sandbox_cli as cli_for
from .test_apply_values import applied_values


def test_an_undo_dry_run_beside_a_running_apply_says_so_and_does_not_wait(
    sandbox_factory: SandboxFactory, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    sb, journal = applied_values(sandbox_factory, tmp_path)
    # The apply's due date write has just been journaled as pending (sent a moment ago); its
    # record taken from where the workers' order put it (R67c: not always last on 3.13).
    lines = journal.read_text().splitlines()
    at = max(
        i for i, x in enumerate(lines) if (json.loads(x).get("values") or {}).get("field") == "due"
    )
    last = json.loads(lines.pop(at))
    assert last["action"] == "set_card_field"
    pending = {**last, "status": "pending", "at": time.strftime("%Y-%m-%dT%H:%M:%S+00:00")}
    journal.write_text("\n".join([*lines, json.dumps(pending)]) + "\n")
    # Not landed yet: the card shows the due date the write is on its way to take off.
    sb.world.set_card_field(last["card_id"], "due", last["values"]["seen"], sb.ids["lead"])
    home = tmp_path / "home"
    monkeypatch.setenv("TRELLO_RESTORE_HOME", str(home))
    invoke = cli_for(sb, monkeypatch)
    plan_lock = lock_names(Journal.read(journal).header.plan_digest, ())[0]

    with hold(home / "state" / "locks", [plan_lock]):
        started = time.monotonic()
        r = invoke("undo", str(journal), "--dry-run", TRELLO_RESTORE_REQUEST_TIMEOUT="3")
        took = time.monotonic() - started
    assert r.exit_code == 0, r.output
    assert "an apply or undo of this journal is running now" in r.stderr, r.stderr
    assert "leaving out 1 write that run has under way" in r.stderr, r.stderr
    assert "may still have in flight (" not in r.stderr
    assert took < 3
    # That write is left out (R26a: counted as if it had never taken effect); the other 4.
    assert r.stdout.splitlines()[-1].startswith("Summary: 4 would be reverted, 0 failed."), r.stdout
    assert "due of card" not in r.stdout, r.stdout

    # Nothing holds it: the open record is a killed run's, and the dry run waits for it (2 s
    # at most with this timeout).
    r = invoke("undo", str(journal), "--dry-run", TRELLO_RESTORE_REQUEST_TIMEOUT="1")
    assert r.exit_code == 0, r.output
    assert "may still have in flight (" in r.stderr, r.stderr
    assert "is running now" not in r.stderr


def test_an_undo_dry_run_beside_a_running_undo_leaves_its_removals_under_way_out(
    sandbox_factory: SandboxFactory, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The same beside a running *undo* of the journal (R30b): its removal on the wire (an
    ``undo`` record ``pending``) is that run's under way, left out and counted as such; the
    dry run said "leaving out 0 writes" and counted it as one it would revert."""
    sb, journal = applied_values(sandbox_factory, tmp_path)
    *lines, line = journal.read_text().splitlines()
    last = json.loads(line)
    undoing = {
        **last,
        "op": "undo",
        "status": "pending",
        "at": time.strftime("%Y-%m-%dT%H:%M:%S+00:00"),
    }
    journal.write_text("\n".join([*lines, line, json.dumps(undoing)]) + "\n")
    home = tmp_path / "home"
    monkeypatch.setenv("TRELLO_RESTORE_HOME", str(home))
    invoke = cli_for(sb, monkeypatch)
    plan_lock = lock_names(Journal.read(journal).header.plan_digest, ())[0]
    with hold(home / "state" / "locks", [plan_lock]):
        r = invoke("undo", str(journal), "--dry-run", "--format", "json", "-q")
    assert r.exit_code == 0, r.output
    assert "leaving out 1 write that run has under way" in r.stderr, r.stderr
    doc = json.loads(r.stdout)
    assert doc["undo"]["under_way"] == 1, doc["undo"]
    assert doc["undo"]["would_undo"] == 4, doc["undo"]


def test_an_undo_while_the_apply_is_still_granting_is_refused_not_nothing_to_undo(
    sandbox_factory: SandboxFactory, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """R32c: an undo started while the apply had made only board memberships (not undone
    without --include-board-memberships) said "Nothing to undo … interrupted grants", exit 0,
    before it looked at the lock. Now, with the plan's lock held, it exits 6 with the lock's
    line (as once the apply has card members), and its dry run warns that a run is under way;
    with no run holding it (a killed apply), nothing to undo, as before."""
    s = generate(81, 120)
    sb = sandbox_factory(s, time_scale=100)
    doc = plan_doc(sb, s, "b")
    path = tmp_path / "j.jsonl"
    with api_for(sb) as api, open_journal(doc, path, api) as journal:
        assert apply_doc(doc, api, journal, fast_options()).exit_code == 0
    header, *records = path.read_text().splitlines()
    grants = [json.loads(x) for x in records if json.loads(x)["action"] == "add_member_to_board"]
    assert grants
    path.write_text(
        "\n".join([header, *(json.dumps({**g, "status": "pending"}) for g in grants)]) + "\n"
    )
    home = tmp_path / "home"
    monkeypatch.setenv("TRELLO_RESTORE_HOME", str(home))
    monkeypatch.setenv("TRELLO_RESTORE_REQUEST_TIMEOUT", "1")
    invoke = cli_for(sb, monkeypatch)
    plan_lock = lock_names(Journal.read(path).header.plan_digest, ())[0]
    with hold(home / "state" / "locks", [plan_lock]):
        r = invoke("undo", str(path), "--yes")
        assert r.exit_code == ExitCode.LOCKED, r.output
        assert "another trello-restore run is applying or undoing this plan" in r.stderr
        assert "Nothing to undo" not in r.output
        dry = invoke("undo", str(path), "--dry-run")
        assert dry.exit_code == 0, dry.output
        assert "an apply or undo of this journal is running now" in dry.stderr, dry.stderr
    r = invoke("undo", str(path), "--yes")
    assert r.exit_code == 0, r.output
    assert "Nothing to undo" in r.output
