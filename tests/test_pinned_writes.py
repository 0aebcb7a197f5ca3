"""Write-path rules that a mutation-testing review (R54a) found no test held, pinned over HTTP
against the sandbox through the real client stack, one test each:

- once the breaker has stopped the run, no write of a board or kind not yet opened is sent
  (design.md §5 "Stopping"; ``Runner._admit``);
- a killed undo's ``pending`` record is the undo's, not the apply's open write (design.md §5
  "Undo"; ``journal.unresolved``);
- an apply of a ``--restore archived`` plan warns of the list a card is unarchived into when it
  was archived after the plan was made (README, ``--restore``; ``applier`` ``lists_of``);
- a grant that failed makes its card adds ``failed``, with no card write (design.md §3, §5;
  ``applier._write_kinds``);
- an apply's ``not_applied`` ends what an earlier ``applied`` left to undo, after an undo that
  failed for certain (design.md §5 "Undo"; ``undo_left.undoable``).
"""

from __future__ import annotations

import dataclasses
import sys
from collections.abc import Callable
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest

from trello_restore.errors import ExitCode
from trello_restore.journal import Journal, timestamp
from trello_restore.kinds.members import NOT_FOUND
from trello_restore.planfile import PlanDict, write_plan
from trello_restore.sandbox import endpoints
from trello_restore.sandbox.scenario import generate
from trello_restore.sandbox.world import TrelloError
from trello_restore.undo import undo_journal

from . import test_undo_crash
from .applykit import api_for, apply_doc, fast_options, kill_when, open_journal, plan_doc
from .conftest import SandboxFactory, sandbox_cli
from .test_apply_stops import SCALE, _apply
from .test_archived_target_list import T2, damaged, warned
from .test_undo_crash import InFlight, _env, _invoker, _undo

GRANT = endpoints.Route("PUT", "/1/boards/{id}/members/{idMember}")
CARD_ADD = endpoints.Route("POST", "/1/cards/{id}/idMembers")
CARD_REMOVE = endpoints.Route("DELETE", "/1/cards/{id}/idMembers/{idMember}")
#: Limits high enough that no test here waits for a window.
ROOMY = {"time_scale": SCALE, "token_limit": 10_000, "key_limit": 10_000}
GRANT_FAILED = "granting the member board membership failed"


def _wrap(
    monkeypatch: pytest.MonkeyPatch,
    route: endpoints.Route,
    fails: Callable[[endpoints.Call], bool],
    error: Callable[[], TrelloError] = lambda: TrelloError(500, "Internal Server Error"),
) -> list[endpoints.Call]:
    """The sandbox's handler of ``route`` answering ``error()`` (without taking effect: by
    default a 500, which the client retries) to each call that ``fails``; returns every call
    it got, in order (failed ones too)."""
    real = endpoints.HANDLERS[route]
    calls: list[endpoints.Call] = []

    def handler(call: endpoints.Call) -> Any:
        calls.append(call)
        if fails(call):
            raise error()
        return real(call)

    monkeypatch.setitem(endpoints.HANDLERS, route, handler)
    return calls


def _card_adds(doc: PlanDict) -> list[dict[str, Any]]:
    return [c for c in doc["changes"] if c["action"] == "add_member_to_card"]


# ----------------------------------------------------------------------------------- rn14


def test_no_card_add_is_sent_once_the_grants_outage_stopped_the_run(
    sandbox_factory: SandboxFactory, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """R54a (rn14), design.md §5 "Stopping": once the breaker has stopped the run, no write is
    sent, a board's or kind's first one included (``Runner._admit``). Trello answers every grant
    5xx after the first: the breaker stops the run among the grants, and not one card add goes
    out after it; those that needed no failed grant are ``not_attempted`` (never sent, never
    journaled), not failed or applied. The mutant sent the card adds' first write all the same
    (a kind's first write to a board was let through once the run had stopped)."""
    s = generate(5, 40)
    sb = sandbox_factory(s, **ROOMY)
    doc = plan_doc(sb, s, "b")
    grants = _wrap(monkeypatch, GRANT, lambda call: len(grants) > 1)
    adds = _wrap(monkeypatch, CARD_ADD, lambda call: False)
    path = tmp_path / "j.jsonl"
    report = _apply(sb, doc, path)

    assert report.exit_code == ExitCode.UNREACHABLE, report.counts
    assert report.stopped.startswith("Trello kept failing"), report.stopped
    assert len(grants) > 2  # grants failed: the outage began among them
    assert [(c.path["id"], c.params.get("value")) for c in adds] == []
    outcomes = [o for o in report.outcomes if o.action == "add_member_to_card"]
    assert len(outcomes) == len(_card_adds(doc))
    unsent = {o.change_id for o in outcomes if o.status == "not_attempted"}
    # Those whose member needed no failed grant reached the runner, which sent none of them.
    assert {o.change_id for o in outcomes if o.status == "not_attempted" and not o.error}
    assert {(o.status, o.error) for o in outcomes if o.change_id not in unsent} <= {
        ("failed", GRANT_FAILED)
    }
    journaled = {r.change_id for r in Journal.read(path).records}
    assert not (unsent & journaled), "a change never sent is never journaled"


# ------------------------------------------------------------------------------------ jn4


def test_a_killed_undos_pending_removal_is_not_taken_for_the_applys_open_write(
    sandbox_factory: SandboxFactory, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """R54a (jn4), design.md §5 "Undo": the apply's open writes are its own ``pending``
    records (``journal.unresolved``), never an undo's. An undo killed with its removal on the
    wire (held in the sandbox, then let through: it lands) leaves the undo's ``pending``; the
    next undo counts that change removed, its journal ending ``(undo, undone)``, and appends no
    apply ``not_applied`` record (the mutant resolved the undo's record as an apply write that
    never took effect: "1 no longer there")."""
    s = generate(5, 40)
    sb = sandbox_factory(s, **ROOMY)
    doc = plan_doc(sb, s, "b")
    plan, journal = tmp_path / "plan.json", tmp_path / "j.jsonl"
    write_plan(doc, plan)
    invoke = _invoker(sb, monkeypatch)
    applied = invoke("apply", str(plan), "--journal", str(journal), "--yes", "--rate-limit", "1000")
    assert applied.exit_code == ExitCode.OK, applied.output
    made = [r for r in Journal.read(journal).latest().values() if r.action == "add_member_to_card"]
    assert {r.status for r in made} == {"applied"}
    assert len(made) == len(_card_adds(doc)) > 1

    # The undo, killed with its first removal held inside the sandbox; then the removal lands.
    monkeypatch.setattr(test_undo_crash, "WRITE_ROUTES", (CARD_REMOVE,))
    gate = InFlight(monkeypatch, 0, 0)
    command = [sys.executable, "-m", "trello_restore", "undo", str(journal), "--yes"]
    kill_when(command, _env(sb), lambda: gate.held >= 1)
    gate.release(sb)
    killed = [r for r in Journal.read(journal).latest().values() if r.status == "pending"]
    assert {r.op for r in killed} == {"undo"}
    with sb.world.lock:  # the held removal took effect (one at most was not sent: no matter)
        landed = [r for r in killed if r.member_id not in sb.world.cards[r.card_id].id_members]
    assert landed
    before = len(Journal.read(journal).records)

    again = _undo(invoke, journal, boards=False)
    assert again.exit_code == ExitCode.OK, again.output
    assert f"Summary: {len(made)} removed, 0 failed." in again.output, again.output
    assert "no longer there" not in again.output
    added = Journal.read(journal).records[before:]
    assert not [r for r in added if r.op == "apply"], added
    latest = Journal.read(journal).latest()
    assert {(latest[r.change_id].op, latest[r.change_id].status) for r in killed} == {
        ("undo", "undone")
    }


# ----------------------------------------------------------------------------------- ap12


def test_an_unarchive_plans_dry_run_warns_of_its_list_archived_since(
    sandbox_factory: SandboxFactory, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """R54a (ap12), README ``--restore``: a card unarchived in a list that is archived now stays
    hidden, and the apply says so once per list, with when it was archived after the plan was
    made. A ``--restore archived`` plan alone (no list moves, whose kind reads the lists anyway):
    its apply's live read must read the lists of a board where it unarchives a card. The
    mutant read none, and ``apply --dry-run`` said nothing."""
    sb = sandbox_factory(damaged(archive_doing=False), time_scale=100)
    invoke = sandbox_cli(sb, monkeypatch)
    plan_file = tmp_path / "plan.json"
    made = invoke(
        *("--board", "Team", "--since", T2.isoformat(), "--restore", "archived", "--by", "ana"),
        *("--dry-run", "--plan-out", str(plan_file)),
    )
    assert made.exit_code == 0, made.output
    assert warned(made.stderr) == []
    doc = plan_file.read_text()
    assert '"set_card_closed"' in doc
    assert '"move_card_to_list"' not in doc
    sb.world.set_list_closed(sb.ids["doing"], True, sb.ids["lead"], T2 + timedelta(hours=1))

    dry = invoke("apply", str(plan_file), "--dry-run")
    assert dry.exit_code == 0, dry.output
    lines = warned(dry.stderr)
    assert len(lines) == 1, dry.stderr
    assert lines[0].startswith(
        'Warning: list "Doing" on board "Team" is archived now: the card moved back or '
        "unarchived into it stays hidden until it is unarchived"
    ), lines
    assert "it was archived since this plan was made at " in lines[0]


# ----------------------------------------------------------------------------------- ap11


def test_a_failed_grant_fails_its_card_adds_with_no_card_write(
    sandbox_factory: SandboxFactory, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """R54a (ap11), design.md §3 and §5: a card add needs its member on the card's board, and
    the grant of ``--add-to-board`` provides it only when it was made. One member's grant is
    answered 5xx on its attempt and its retry (the breaker stays closed: the other grants
    succeed): the grant is ``failed``, and each of that member's card adds there is ``failed``,
    "granting the member board membership failed", with no card write sent for it; the rest
    of the plan is applied. The mutant took every grant's outcome for ``applied`` and sent
    them."""
    s = generate(5, 40)
    sb = sandbox_factory(s, **ROOMY)
    doc = plan_doc(sb, s, "b")
    grant = next(c for c in doc["changes"] if c["action"] == "add_member_to_board")
    member, board = grant["member"], grant["board"]["id"]
    theirs = {
        c["change_id"]
        for c in _card_adds(doc)
        if c["member"]["id"] == member["id"] and c["board"]["id"] == board
    }
    assert theirs

    def is_theirs(call: endpoints.Call) -> bool:
        ref = call.path["idMember"].casefold()
        return call.path["id"] == board and ref in (member["id"], member["username"].casefold())

    _wrap(monkeypatch, GRANT, is_theirs)
    adds = _wrap(monkeypatch, CARD_ADD, lambda call: False)
    path = tmp_path / "j.jsonl"
    with api_for(sb) as api, open_journal(doc, path, api) as journal:
        report = apply_doc(doc, api, journal, fast_options(max_retries=1, backoff_s=1.0 / SCALE))

    assert not report.stopped, report.stopped
    assert report.exit_code == ExitCode.PARTIAL, report.counts
    status = {o.change_id: (o.status, o.error) for o in report.outcomes}
    assert status[grant["change_id"]][0] == "failed"
    assert {status[cid] for cid in theirs} == {("failed", GRANT_FAILED)}
    assert [c.params.get("value") for c in adds if c.params.get("value") == member["id"]] == []
    others = set(status) - theirs - {grant["change_id"]}
    assert {status[cid][0] for cid in others} == {"applied"}


# ------------------------------------------------------------------------------------ ul1


def test_an_applys_not_applied_ends_what_a_failed_undo_left_to_undo(
    sandbox_factory: SandboxFactory, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """R54a (ul1), design.md §5 "Undo" and ``undo_left``: an undo that failed for certain leaves
    the apply's ``applied`` undoable; a later apply of the same plan whose record for it is
    ``not_applied`` (its write, killed on the wire, found never to have taken effect: records
    built here) ends it, as it would after any ``applied``. The next undo, over HTTP, has
    nothing to undo and sends no write (the mutant still counted the old ``applied``: "1 no
    longer there", an undo record appended)."""
    s = generate(5, 40)
    sb = sandbox_factory(s, **ROOMY)
    doc = plan_doc(sb, s, "b")
    path = tmp_path / "j.jsonl"
    assert _apply(sb, doc, path).exit_code == ExitCode.OK
    latest = Journal.read(path).latest().values()
    first = next(r for r in latest if r.action == "add_member_to_card")
    assert first.status == "applied"

    def is_first(call: endpoints.Call) -> bool:
        return (call.path["id"], call.path["idMember"]) == (first.card_id, first.member_id)

    # The undo: that removal refused for certain (a 400, not "not on the card"), the rest done.
    _wrap(monkeypatch, CARD_REMOVE, is_first, lambda: endpoints.invalid_value("idMember"))
    header = Journal.read(path).header
    with api_for(sb) as api, Journal.open(path, header) as journal:
        undo = undo_journal(journal, api, fast_options(), lock_dir=path.parent / "locks")
    assert undo.exit_code == ExitCode.PARTIAL, undo.counts
    assert Journal.read(path).latest()[first.change_id].status == "failed"
    assert not Journal.read(path).latest()[first.change_id].uncertain

    # A colleague takes the member off the card; the plan applied again, killed with that add
    # on the wire, which never took effect: found absent, resolved ``not_applied``.
    with sb.world.lock:
        sb.world.remove_member_from_card(first.card_id, first.member_id, first.member_id)
    pending = dataclasses.replace(first, status="pending", error="", at=timestamp())
    with Journal.open(path, header) as journal:
        journal.append(pending)
        journal.append(dataclasses.replace(pending, status="not_applied", error=NOT_FOUND))
    text = path.read_bytes()

    start = len(sb.server.request_log)
    again = _undo(_invoker(sb, monkeypatch), path, boards=False)
    assert again.exit_code == ExitCode.OK, again.output
    assert "Nothing to undo" in again.output, again.output
    assert path.read_bytes() == text
    assert not [r for r in sb.server.request_log[start:] if r.method != "GET"]
