"""Undoing an apply over real HTTP against the sandbox: exactly what this tool added comes off,
only where it still is, journaled; twice is a no-op (design.md §5 "Undo")."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from trello_restore.api import ApiSettings, TrelloApi
from trello_restore.applier import ApplyReport, apply_lock, lock_names
from trello_restore.errors import ExitCode, LockHeld, UsageError
from trello_restore.journal import Journal, JournalRecord, Status, unresolved
from trello_restore.planfile import PlanDict
from trello_restore.sandbox.scenario import Scenario, generate
from trello_restore.undo import undo_journal
from trello_restore.undo_left import nothing_to_undo, undoable, undone_earlier

from .applykit import Snapshot, api_for, apply_doc, fast_options, open_journal, plan_doc, snapshot
from .conftest import Sandbox, SandboxFactory

CARD_DELETE = re.compile(r"^/1/cards/([0-9a-f]{24})/idMembers/([0-9a-f]{24})$")
BOARD_DELETE = re.compile(r"^/1/boards/([0-9a-f]{24})/members/([0-9a-f]{24})$")


def _applied(
    sandbox_factory: SandboxFactory, tmp_path: Path, seed: int = 51, name: str = "b", **opts: float
) -> tuple[Scenario, Sandbox, PlanDict, Snapshot, Path]:
    """A scenario with plan ``name`` applied; the snapshot is from before the apply."""
    s = generate(seed, 300)
    sb = sandbox_factory(s, time_scale=100, **opts)
    doc = plan_doc(sb, s, name)
    before = snapshot(s.world)
    path = tmp_path / "journal.jsonl"
    with api_for(sb) as api, open_journal(doc, path, api) as journal:
        report = apply_doc(doc, api, journal, fast_options())
    assert report.exit_code == ExitCode.OK
    return s, sb, doc, before, path


def _undo(sb: Sandbox, path: Path, *, boards: bool = False, **options: object) -> ApplyReport:
    with api_for(sb) as api:
        dry = bool(options.get("dry_run"))
        journal = Journal.read(path) if dry else Journal.open(path, Journal.read(path).header)
        with journal:
            return undo_journal(
                journal,
                api,
                fast_options(**options),
                include_board_memberships=boards,
                lock_dir=path.parent / "locks",
            )


def test_undo_gives_back_the_pre_apply_memberships(
    sandbox_factory: SandboxFactory, tmp_path: Path
) -> None:
    """Undo removes exactly the card members the apply added (DELETE per change, nothing
    else); the board memberships it granted stay unless asked for, then they go too, after the
    cards. Every change is journaled ``undone``; a second undo changes nothing."""
    s, sb, doc, before, path = _applied(sandbox_factory, tmp_path)
    grants = [c for c in doc["changes"] if c["action"] == "add_member_to_board"]
    assert grants
    start = len(sb.server.request_log)
    report = _undo(sb, path)
    assert report.counts == {"undone": len(doc["changes"]) - len(grants)}
    after = snapshot(s.world)
    assert after.cards == before.cards
    assert after.boards != before.boards
    deletes = [r.path for r in sb.server.request_log[start:] if r.method == "DELETE"]
    assert sorted(deletes) == sorted(
        f"/1/cards/{c['card']['id']}/idMembers/{c['member']['id']}"
        for c in doc["changes"]
        if c["action"] == "add_member_to_card"
    )

    report = _undo(sb, path, boards=True)
    assert report.counts == {"undone": len(grants)}
    assert snapshot(s.world) == before
    log = sb.server.request_log[start:]
    assert [m.groups() for r in log if r.method == "DELETE" and (m := BOARD_DELETE.match(r.path))]
    methods = [r.method for r in log if r.method != "GET"]
    assert set(methods) == {"DELETE"}
    assert {r.path for r in log if r.path.startswith("/1/members/")} == {"/1/members/me"}
    latest = Journal.read(path).latest()
    assert {(r.op, r.status) for r in latest.values()} == {("undo", "undone")}

    start = len(sb.server.request_log)
    again = _undo(sb, path, boards=True)
    assert again.counts == {}
    assert again.exit_code == ExitCode.OK
    assert [r.path for r in sb.server.request_log[start:]] == ["/1/members/me"]
    assert snapshot(s.world) == before


def test_only_what_is_still_there_and_only_what_this_tool_added(
    sandbox_factory: SandboxFactory, tmp_path: Path
) -> None:
    """A member someone removed after the apply is ``not_on_card`` (no DELETE); a member
    someone else had put back before the apply (``already_satisfied``) stays on the card."""
    s = generate(52, 300)
    sb = sandbox_factory(s, time_scale=100)
    doc = plan_doc(sb, s, "d")
    ready = [
        c
        for c in doc["changes"]
        if c["action"] == "add_member_to_card" and c["precondition"]["member_on_board"]
    ]
    theirs, removed = ready[0], ready[1]
    with s.world.lock:
        s.world.add_member_to_card(theirs["card"]["id"], theirs["member"]["id"], s.mover.id)
    path = tmp_path / "journal.jsonl"
    with api_for(sb) as api, open_journal(doc, path, api) as journal:
        applied = apply_doc(doc, api, journal, fast_options())
    assert applied.counts["already_satisfied"] == 1
    with s.world.lock:
        s.world.remove_member_from_card(removed["card"]["id"], removed["member"]["id"], s.mover.id)
    start = len(sb.server.request_log)
    report = _undo(sb, path)
    got = {o.change_id: o.status for o in report.outcomes}
    assert got[removed["change_id"]] == "not_on_card"
    assert theirs["change_id"] not in got
    assert theirs["member"]["id"] in s.world.cards[theirs["card"]["id"]].id_members
    deletes = {r.path for r in sb.server.request_log[start:] if r.method == "DELETE"}
    assert f"/1/cards/{removed['card']['id']}/idMembers/{removed['member']['id']}" not in deletes
    assert report.counts["undone"] == len(deletes)
    assert report.exit_code == ExitCode.OK


def test_dry_run_reports_and_writes_nothing(
    sandbox_factory: SandboxFactory, tmp_path: Path
) -> None:
    """A dry undo lists what it would remove, sends only reads, and leaves the journal alone."""
    s, sb, doc, _, path = _applied(sandbox_factory, tmp_path, seed=53)
    size, state = path.stat().st_size, snapshot(s.world)
    start = len(sb.server.request_log)
    report = _undo(sb, path, boards=True, dry_run=True)
    assert report.counts == {"would_undo": len(doc["changes"])}
    assert {r.method for r in sb.server.request_log[start:]} == {"GET"}
    assert path.stat().st_size == size
    assert snapshot(s.world) == state


def test_undo_through_faults_is_exact(sandbox_factory: SandboxFactory, tmp_path: Path) -> None:
    """With 10% 5xx answers and 3% dropped connections (half of the faulted DELETEs done before
    the fault), undo (re-run while anything failed) gives back the pre-apply state, and a retry
    answered "member is not on the card" counts as this tool's removal."""
    s, sb, _, before, path = _applied(sandbox_factory, tmp_path, seed=54)
    sb.server.set_options(error_rate=0.10, drop_rate=0.03, seed=3)
    reports = []
    for _ in range(3):
        reports.append(_undo(sb, path, boards=True))
        if reports[-1].exit_code == ExitCode.OK:
            break
    faults = [r for r in sb.server.request_log if r.method == "DELETE" and r.status != 200]
    print(f"undo through faults: {len(reports)} run(s), {len(faults)} DELETEs faulted")
    assert faults
    assert reports[-1].exit_code == ExitCode.OK
    assert snapshot(s.world) == before
    assert not any(o.status == "not_on_card" for r in reports for o in r.outcomes)


def test_undo_checks_its_target_and_the_lock(
    sandbox_factory: SandboxFactory, tmp_path: Path
) -> None:
    """A journal of another account is refused; a held lock stops undo before any write."""
    s, sb, _, _, path = _applied(sandbox_factory, tmp_path, seed=55)
    header = Journal.read(path).header
    someone = next(m for m in s.world.members if m != header.account_id)
    key, token = s.world.add_credentials(someone)
    settings = ApiSettings(key=key, token=token, api_url=sb.base_url)
    with TrelloApi(settings) as api, pytest.raises(UsageError) as refused:
        undo_journal(Journal.read(path), api, fast_options(), lock_dir=tmp_path / "locks")
    # Both accounts named, as apply names them (R29a: "another Trello account" alone).
    who = s.world.members[someone].username
    assert (
        f"records changes made by Trello account {header.account_id}, not the token's "
        f"account {who} ({someone})"
    ) in str(refused.value)
    boards = {r.board_id for r in Journal.read(path).records}
    locks = apply_lock(lock_names(header.plan_digest, boards), tmp_path / "locks")
    with locks, pytest.raises(LockHeld):
        _undo(sb, path)
    assert not [r for r in sb.server.request_log if r.method == "DELETE"]


def _rec(cid: str, op: str, status: Status, uncertain: bool = False) -> JournalRecord:
    return JournalRecord(
        change_id=cid,
        op=op,  # type: ignore[arg-type]
        action="add_member_to_card",
        status=status,
        board_id="b",
        member_id="m",
        card_id="c",
        uncertain=uncertain,
    )


def test_what_is_undoable_follows_the_journal_in_order() -> None:
    """Applied → undoable; undone or found gone → settled; a failed undo stays undoable, and
    one that may have gone through (pending, or failed uncertain) is resumed, until a certain
    failure answers it (R37a); re-applied after
    an undo → undoable again; someone else's (already_satisfied) never."""
    records = [
        _rec("a", "apply", "pending"),
        _rec("a", "apply", "applied"),
        _rec("b", "apply", "already_satisfied"),
        _rec("c", "apply", "applied"),
        _rec("c", "undo", "pending"),
        _rec("c", "undo", "undone"),
        _rec("d", "apply", "applied"),
        _rec("d", "undo", "failed"),
        _rec("e", "apply", "applied"),
        _rec("e", "undo", "pending"),
        _rec("f", "apply", "applied"),
        _rec("f", "undo", "failed", uncertain=True),
        _rec("g", "apply", "applied"),
        _rec("g", "undo", "not_on_card"),
        _rec("g", "apply", "applied"),
        _rec("h", "apply", "failed", uncertain=True),
        _rec("i", "apply", "applied"),
        _rec("i", "undo", "pending"),
        _rec("i", "undo", "failed"),
    ]
    got = {u.record.change_id: u.resumed for u in undoable(records)}
    assert got == {"a": False, "d": False, "e": True, "f": True, "g": False, "i": False}


def test_a_change_the_apply_again_found_done_stays_settled_by_the_earlier_undo() -> None:
    """Apply, undo, someone puts some changes back by hand, the plan applied again finds
    those done (already satisfied, drifted, blocked: not made again): they stay settled by
    the earlier undo, so the next undo's summary counts each change once (R75b: "211 undone"
    and nothing said of the 4; then "every change this journal applied (215) is settled"
    with 211 counted). One the apply again made, or may have made (pending, failed), is
    not: the next undo counts it as its own."""
    first = [(_rec(cid, "apply", "applied"), _rec(cid, "undo", "undone")) for cid in "abcdef"]
    records = [
        *(r for pair in first for r in pair),
        _rec("a", "apply", "already_satisfied"),
        _rec("b", "apply", "drifted"),
        _rec("c", "apply", "pending"),
        _rec("c", "apply", "applied"),
        _rec("d", "apply", "pending"),
        _rec("e", "apply", "failed", uncertain=True),
        _rec("f", "apply", "blocked"),
        _rec("g", "apply", "applied"),
        _rec("g", "undo", "not_on_card"),
        _rec("g", "apply", "failed"),  # certain: not made again
    ]
    assert [r.change_id for r in undone_earlier(records)] == ["a", "b", "f", "g"]
    assert [r.change_id for r in undone_earlier(records, under_way={"b"})] == ["a", "f", "g"]
    assert {u.record.change_id for u in undoable(records)} == {"c"}
    assert set(unresolved(records)) == {"d", "e"}  # resolved first, then undone if made
    done = [r for r in records if r.change_id in "abf"]
    assert nothing_to_undo(done) == "Nothing to undo: 3 changes removed by an earlier undo."
