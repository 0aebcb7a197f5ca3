"""Applying plans over real HTTP against the sandbox: exact results, preconditions, resume,
dry run, target checks and locks (design.md §5, issue 4)."""

from __future__ import annotations

import re
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest

from trello_restore.api import ApiSettings, MemberStandIn, TrelloApi
from trello_restore.applier import (
    ApplyReport,
    ChangeOutcome,
    apply_lock,
    check_plan_target,
    lock_names,
)
from trello_restore.errors import ApiUnreachable, AuthError, ExitCode, LockHeld, UsageError
from trello_restore.journal import Journal, JournalRecord
from trello_restore.kinds.memberapply import NOT_ACTIVE_MEMBER
from trello_restore.planfile import PlanDict, plan_digest, plan_from_dict
from trello_restore.sandbox.scenario import Scenario, generate

from .applykit import (
    api_for,
    apply_doc,
    diff,
    expected,
    fast_options,
    open_journal,
    plan_doc,
    snapshot,
)
from .conftest import Sandbox, SandboxFactory

CARD_WRITE = re.compile(r"^/1/cards/([0-9a-f]{24})/idMembers$")
BOARD_WRITE = re.compile(r"^/1/boards/([0-9a-f]{24})/members/([0-9a-f]{24})$")


def _apply(
    sb: Sandbox, doc: PlanDict, journal_path: Path, **options: Any
) -> tuple[ApplyReport, list[ChangeOutcome]]:
    seen: list[ChangeOutcome] = []
    # A request gives up after 3 s: the most an apply after a "killed" one (a journal with
    # pending records) waits for their writes.
    quick = {"connect_timeout": 0.5, "read_timeout": 2.5}
    with api_for(sb, **quick) as api, open_journal(doc, journal_path, api) as journal:
        report = apply_doc(doc, api, journal, fast_options(**options), seen.append)
    return report, seen


def _card_changes(doc: PlanDict) -> list[dict[str, Any]]:
    return [c for c in doc["changes"] if c["action"] == "add_member_to_card"]


def _ready(doc: PlanDict) -> list[dict[str, Any]]:
    """Card changes whose member is on the board already (no grant needed), on cards with no
    other change (so a write to the card is a write of this change)."""
    per_card: dict[str, int] = {}
    for c in _card_changes(doc):
        per_card[c["card"]["id"]] = per_card.get(c["card"]["id"], 0) + 1
    return [
        c
        for c in _card_changes(doc)
        if c["precondition"]["member_on_board"] and per_card[c["card"]["id"]] == 1
    ]


@pytest.mark.parametrize(
    ("seed", "cards", "option_set"),
    [
        *((31, 40, name) for name in "abcde"),
        (32, 600, "a"),
        (32, 600, "b"),
        (33, 2000, "d"),
        pytest.param(14, 5000, "e", marks=pytest.mark.slow),
        pytest.param(34, 5000, "c", marks=pytest.mark.slow),
    ],
)
def test_apply_over_http_gives_the_ground_truth(
    sandbox_factory: SandboxFactory, tmp_path: Path, seed: int, cards: int, option_set: str
) -> None:
    """Plan over HTTP, apply: every card's members are the pre-apply members plus exactly the
    ground truth's changes, board memberships plus exactly its grants (granted before any card
    change); blocked changes are journaled and never written; the only writes are the expected
    POSTs and PUTs, one per change; no /1/members/{id}; no credential in any URL."""
    s = generate(seed, cards)
    sb = sandbox_factory(s, time_scale=100)
    truth = s.truth(option_set)
    doc = plan_doc(sb, s, option_set)
    before = snapshot(s.world)
    start = len(sb.server.request_log)

    report, seen = _apply(sb, doc, tmp_path / "journal.jsonl")

    assert diff(snapshot(s.world), expected(before, truth)) == []
    writes = len(truth.changes) + len(truth.grants)
    assert report.counts == {"applied": writes} | (
        {"blocked": len(truth.blocked)} if truth.blocked else {}
    )
    assert report.exit_code == (ExitCode.PARTIAL if truth.blocked else ExitCode.OK)
    assert sorted(o.change_id for o in seen) == sorted(o.change_id for o in report.outcomes)
    log = sb.server.request_log[start:]
    posts = [CARD_WRITE.match(r.path) for r in log if r.method == "POST"]
    puts = [BOARD_WRITE.match(r.path) for r in log if r.method == "PUT"]
    assert all(posts)
    assert all(puts)
    assert {r.method for r in log} <= {"GET", "POST", "PUT"}
    assert sorted(m.group(1) for m in posts if m) == sorted(c.card_id for c in truth.changes)
    assert {(m.group(1), m.group(2)) for m in puts if m} == {
        (g.board_id, g.member_id) for g in truth.grants
    }
    kinds = [r.method for r in log if r.method != "GET"]
    assert kinds == sorted(kinds, key=lambda k: k != "PUT"), "every grant before any card change"
    members = [r.path for r in log if r.path.startswith("/1/members/")]
    assert set(members) <= {"/1/members/me"}
    assert not any(r.credentials_in_url for r in sb.server.request_log)
    latest = Journal.read(tmp_path / "journal.jsonl").latest()
    assert {cid: r.status for cid, r in latest.items()} == {
        o.change_id: o.status for o in report.outcomes
    }
    assert report.requests_sent == len(log) - 1  # members/me was read for the journal's header
    print(
        f"{cards} cards, set {option_set}: {writes} writes in {report.seconds:.2f} s, "
        f"{report.rate_limited} 429s"
    )


def test_a_second_run_skips_everything_done(
    sandbox_factory: SandboxFactory, tmp_path: Path
) -> None:
    """Re-running the same plan with its journal sends no write and reads no listing."""
    s = generate(35, 200)
    sb = sandbox_factory(s, time_scale=100)
    doc = plan_doc(sb, s, "b")
    first, _ = _apply(sb, doc, tmp_path / "j.jsonl")
    assert first.counts["applied"] == len(doc["changes"])
    start = len(sb.server.request_log)
    second, _ = _apply(sb, doc, tmp_path / "j.jsonl")
    assert second.counts == {"skipped_done": len(doc["changes"])}
    assert [r.path for r in sb.server.request_log[start:]] == ["/1/members/me"]
    assert second.exit_code == ExitCode.OK
    assert len(Journal.read(tmp_path / "j.jsonl").records) == len(first.outcomes) + len(
        doc["changes"]
    )  # one pending and one outcome per write, nothing more


def _drift(s: Scenario, doc: PlanDict) -> dict[str, str]:
    """Change the world under the plan: one change's member re-added by someone, one card
    deleted, one card moved to the roadmap board, and one member (whom the plan grants no
    membership) dropped from the board. Returns change id → the status to expect."""
    w, lead = s.world, s.mover.id
    cards = _card_changes(doc)
    granted = {c["member"]["id"] for c in doc["changes"] if c["action"] == "add_member_to_board"}
    dropped = next(c for c in cards if c["member"]["id"] not in granted)
    gone = dropped["member"]["id"]
    touched = {c["card"]["id"] for c in cards if c["member"]["id"] == gone}
    singles = [c for c in cards if c["card"]["id"] not in touched]
    by_card: dict[str, int] = {}
    for c in singles:
        by_card[c["card"]["id"]] = by_card.get(c["card"]["id"], 0) + 1
    readd, deleted, moved = [c for c in singles if by_card[c["card"]["id"]] == 1][:3]
    roadmap_list = w.lists_on_board(s.roadmap.id)[0].id
    with w.lock:
        w.add_member_to_card(readd["card"]["id"], readd["member"]["id"], lead)
        w.delete_card(deleted["card"]["id"], lead)
        w.move_card_to_board(moved["card"]["id"], s.roadmap.id, roadmap_list, lead)
        w.remove_member_from_board(dropped["board"]["id"], gone, lead)
    want = {c["change_id"]: "blocked" for c in cards if c["member"]["id"] == gone}
    return want | {
        readd["change_id"]: "already_satisfied",
        deleted["change_id"]: "drifted",
        moved["change_id"]: "drifted",
    }


def test_preconditions_against_live_state(sandbox_factory: SandboxFactory, tmp_path: Path) -> None:
    """A member already back is already_satisfied, a deleted card or one moved to another board
    drifted, a member no longer on the board blocked: none of them written, all journaled."""
    s = generate(36, 300)
    sb = sandbox_factory(s, time_scale=100)
    doc = plan_doc(sb, s, "d")
    want = _drift(s, doc)
    start = len(sb.server.request_log)
    report, _ = _apply(sb, doc, tmp_path / "j.jsonl")
    got = {o.change_id: o.status for o in report.outcomes}
    assert {cid: got[cid] for cid in want} == want
    assert report.counts["applied"] == len(doc["changes"]) - len(want)
    assert report.exit_code == ExitCode.PARTIAL
    written = {
        m.group(1)
        for r in sb.server.request_log[start:]
        if (m := CARD_WRITE.match(r.path)) and r.method == "POST"
    }
    cards = {c["change_id"]: c for c in _card_changes(doc)}
    singles = {cards[cid]["card"]["id"] for cid, status in want.items() if status != "blocked"}
    assert not written & singles
    for cid in (cid for cid, status in want.items() if status == "blocked"):
        card = s.world.cards[cards[cid]["card"]["id"]]
        assert cards[cid]["member"]["id"] not in card.id_members
    latest = Journal.read(tmp_path / "j.jsonl").latest()
    assert {cid: latest[cid].status for cid in want} == want
    drifted = next(o for o in report.outcomes if o.status == "drifted")
    assert "deleted or moved" in drifted.error


def test_dry_run_reads_live_state_and_writes_nothing(
    sandbox_factory: SandboxFactory, tmp_path: Path
) -> None:
    """A dry run reports per change what would happen, sends only reads, and writes no journal
    (nor the state of an existing one)."""
    s = generate(36, 300)
    sb = sandbox_factory(s, time_scale=100)
    doc = plan_doc(sb, s, "d")
    want = _drift(s, doc)
    before = snapshot(s.world)
    start = len(sb.server.request_log)
    with api_for(sb) as api:
        report = apply_doc(doc, api, None, fast_options(dry_run=True))
    got = {o.change_id: o.status for o in report.outcomes}
    assert {cid: got[cid] for cid in want} == want
    assert report.counts["would_apply"] == len(doc["changes"]) - len(want)
    assert {r.method for r in sb.server.request_log[start:]} == {"GET"}
    assert snapshot(s.world) == before
    assert report.journal_path is None
    assert not list(tmp_path.rglob("*.jsonl"))


def test_dry_run_after_a_partial_run_reads_its_journal(
    sandbox_factory: SandboxFactory, tmp_path: Path
) -> None:
    """With the journal of an interrupted run, a dry run reports its successes as done and a
    write that went through before the kill as already there, and leaves the journal alone."""
    s = generate(37, 300)
    sb = sandbox_factory(s, time_scale=100)
    doc = plan_doc(sb, s, "d")
    cards = _ready(doc)
    path = tmp_path / "j.jsonl"
    with api_for(sb) as api, open_journal(doc, path, api) as journal:
        for c, status in ((cards[0], "applied"), (cards[1], "pending")):
            journal.append(_record(c, status))
        api.add_card_member(cards[0]["card"]["id"], MemberStandIn(cards[0]["member"]["id"]))
        api.add_card_member(cards[1]["card"]["id"], MemberStandIn(cards[1]["member"]["id"]))
    size = path.stat().st_size
    with api_for(sb) as api:
        report = apply_doc(doc, api, Journal.read(path), fast_options(dry_run=True))
    got = {o.change_id: o.status for o in report.outcomes}
    assert got[cards[0]["change_id"]] == "skipped_done"
    assert got[cards[1]["change_id"]] == "already_satisfied"
    assert report.counts["would_apply"] == len(doc["changes"]) - 2
    assert path.stat().st_size == size


def _record(change: dict[str, Any], status: str) -> JournalRecord:
    return JournalRecord(
        change_id=change["change_id"],
        op="apply",
        action=change["action"],
        status=status,  # type: ignore[arg-type]
        board_id=change["board"]["id"],
        member_id=change["member"]["id"],
        card_id=change["card"]["id"],
    )


def test_a_pending_record_means_our_own_write(
    sandbox_factory: SandboxFactory, tmp_path: Path
) -> None:
    """Resuming after a kill: a change journaled ``pending`` whose member is on the card is
    ``applied`` without a request (the killed run's write went through); one whose member is
    not is sent again, and "already on the card" for it would count as applied too."""
    s = generate(37, 300)
    sb = sandbox_factory(s, time_scale=100)
    doc = plan_doc(sb, s, "d")
    went_through, lost = _ready(doc)[:2]
    path = tmp_path / "j.jsonl"
    with api_for(sb) as api, open_journal(doc, path, api) as journal:
        journal.append(_record(went_through, "pending"))
        journal.append(_record(lost, "pending"))
        api.add_card_member(went_through["card"]["id"], MemberStandIn(went_through["member"]["id"]))
    start = len(sb.server.request_log)
    report, _ = _apply(sb, doc, path)
    got = {o.change_id: o.status for o in report.outcomes}
    assert got[went_through["change_id"]] == got[lost["change_id"]] == "applied"
    posted = [r.path for r in sb.server.request_log[start:] if r.method == "POST"]
    assert f"/1/cards/{went_through['card']['id']}/idMembers" not in posted
    assert f"/1/cards/{lost['card']['id']}/idMembers" in posted


def test_already_on_card_is_success_and_tells_whose(
    sandbox_factory: SandboxFactory, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """``400 member is already on the card`` is a success: ``already_satisfied`` when it answers
    the first attempt (someone else added the member after the listing), ``applied`` when it
    answers a retry after this tool's own attempt lost its answer (a 5xx or a dropped
    connection)."""
    s = generate(38, 300)
    sb = sandbox_factory(s, time_scale=100)
    doc = plan_doc(sb, s, "d")
    other, lost_answer = _ready(doc)[:2]
    calls: dict[str, int] = {}
    original = TrelloApi.add_card_member

    def racing(api: TrelloApi, card_id: str, member: MemberStandIn) -> Any:
        calls[card_id] = calls.get(card_id, 0) + 1
        if card_id == other["card"]["id"] and member.id == other["member"]["id"]:
            with s.world.lock:  # someone else adds the member after our listing
                s.world.add_member_to_card(card_id, member.id, s.mover.id)
        answer = original(api, card_id, member)
        if card_id == lost_answer["card"]["id"] and calls[card_id] == 1:
            raise ApiUnreachable("the answer was lost", 502)
        return answer

    monkeypatch.setattr(TrelloApi, "add_card_member", racing)
    report, _ = _apply(sb, doc, tmp_path / "j.jsonl")
    got = {o.change_id: o for o in report.outcomes}
    assert got[other["change_id"]].status == "already_satisfied"
    assert got[lost_answer["change_id"]].status == "applied"
    assert calls[lost_answer["card"]["id"]] == 2
    assert report.counts["applied"] == len(doc["changes"]) - 1


def test_a_write_trello_refuses_is_blocked_and_the_run_goes_on(
    sandbox_factory: SandboxFactory, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A member whose board membership lapses before the plan is applied is ``blocked`` (no
    write); one whose membership lapses after the listing gets Trello's refusal (``400 Invalid
    objectId`` in the sandbox): ``blocked`` too, with the status and what the refusal means
    (not Trello's bare text), journaled, and the other changes are applied."""
    s = generate(39, 300)
    sb = sandbox_factory(s, time_scale=100)
    doc = plan_doc(sb, s, "d")
    cards = [c for c in _card_changes(doc) if c["precondition"]["member_on_board"]]
    early = cards[0]
    late = next(c for c in cards if c["member"]["id"] != early["member"]["id"])
    board = s.world.boards[early["board"]["id"]]
    with s.world.lock:
        board.memberships[early["member"]["id"]].unconfirmed = True
    original = TrelloApi.add_card_member

    def lapsing(api: TrelloApi, card_id: str, member: MemberStandIn) -> Any:
        if member.id == late["member"]["id"]:
            with s.world.lock:
                board.memberships[member.id].unconfirmed = True
        return original(api, card_id, member)

    monkeypatch.setattr(TrelloApi, "add_card_member", lapsing)
    report, _ = _apply(sb, doc, tmp_path / "j.jsonl")
    got = {o.change_id: o for o in report.outcomes}
    assert got[early["change_id"]].status == "blocked"
    failed = got[late["change_id"]]
    why = (
        f"{NOT_ACTIVE_MEMBER} now (taken off it or deactivated since this run read it): left alone"
    )
    assert (failed.status, failed.http_status, failed.error) == ("blocked", 400, why)
    record = Journal.read(tmp_path / "j.jsonl").latest()[late["change_id"]]
    assert (record.status, record.http_status, record.error) == ("blocked", 400, why)
    lapsed = {early["member"]["id"], late["member"]["id"]}
    others = [c["change_id"] for c in cards if c["member"]["id"] not in lapsed]
    assert others
    assert {got[cid].status for cid in others} == {"applied"}
    assert report.exit_code == ExitCode.PARTIAL


def test_plan_for_another_target_is_refused(
    sandbox_factory: SandboxFactory, tmp_path: Path
) -> None:
    """Offline plans, plans of another API URL or account, and a journal of another plan are
    refused before any write, with one line that says what to do."""
    s = generate(40, 40)
    sb = sandbox_factory(s, time_scale=100)
    doc = plan_doc(sb, s, "b")
    account = doc["account"]["id"]
    _, meta = plan_from_dict(doc)
    with pytest.raises(UsageError, match="made offline"):
        check_plan_target(replace(meta, account=None), sb.base_url, account)
    # R42a: an export's plan with an account typed in is still an export's (its "since the
    # plan was made" misses what changed since the exports were taken).
    with pytest.raises(UsageError, match="made offline from board exports, which may be older"):
        check_plan_target(replace(meta, source="export"), sb.base_url, account)
    with pytest.raises(UsageError, match=r"made for http://elsewhere/1, not .*--api-url"):
        check_plan_target(replace(meta, api_url="http://elsewhere/1"), sb.base_url, account)
    with pytest.raises(UsageError, match=r"account \S+, not the token's"):
        check_plan_target(meta, sb.base_url, "0" * 24)
    check_plan_target(meta, sb.base_url + "/", account)
    someone = next(m for m in s.world.members if m != account)
    key, token = s.world.add_credentials(someone)
    start = len(sb.server.request_log)
    settings = ApiSettings(key=key, token=token, api_url=sb.base_url)
    with (
        TrelloApi(settings) as api,
        open_journal(doc, tmp_path / "j.jsonl", api) as journal,
        pytest.raises(UsageError, match="not the token's"),
    ):
        apply_doc(doc, api, journal, fast_options())
    other = plan_doc(sb, s, "d")
    with (
        api_for(sb) as api,
        open_journal(other, tmp_path / "k.jsonl", api) as journal,
        pytest.raises(UsageError, match="journal of another plan"),
    ):
        apply_doc(doc, api, journal, fast_options())
    assert {r.method for r in sb.server.request_log[start:]} == {"GET"}


def test_a_held_lock_stops_a_second_apply(sandbox_factory: SandboxFactory, tmp_path: Path) -> None:
    """While a run holds the plan's lock, or the lock of one of its boards (another plan on the
    same board), apply stops at once with the LOCKED exit code and writes nothing."""
    s = generate(40, 40)
    sb = sandbox_factory(s, time_scale=100)
    doc = plan_doc(sb, s, "b")
    digest = plan_digest(doc)
    start = len(sb.server.request_log)
    board = doc["changes"][0]["board"]["id"]
    for names in ([f"plan-{digest[:16]}"], [f"plan-{'0' * 16}", f"board-{board}"]):
        with apply_lock(names, tmp_path / "locks"), pytest.raises(LockHeld) as caught:
            _apply(sb, doc, tmp_path / "j.jsonl")
        assert caught.value.exit_code == ExitCode.LOCKED
        assert "another trello-restore run" in str(caught.value)
    assert {r.method for r in sb.server.request_log[start:]} == {"GET"}
    assert lock_names(digest, [board, board]) == [f"plan-{digest[:16]}", f"board-{board}"]
    report, _ = _apply(sb, doc, tmp_path / "j.jsonl")  # released
    assert report.exit_code == ExitCode.OK


def test_a_token_that_stops_working_stops_the_run(
    sandbox_factory: SandboxFactory, tmp_path: Path
) -> None:
    """The token is revoked mid-run: the run stops with the AuthError once the writes in flight
    are answered and journaled, sends nothing more, and a later run with a working token
    finishes the plan exactly."""
    s = generate(44, 300)
    truth = s.truth("b")
    sb = sandbox_factory(s, time_scale=100)
    doc = plan_doc(sb, s, "b")
    before = snapshot(s.world)
    member = s.world.tokens[sb.token]
    seen: list[ChangeOutcome] = []

    def revoke(outcome: ChangeOutcome) -> None:
        seen.append(outcome)
        if len(seen) == 20:
            with s.world.lock:
                del s.world.tokens[sb.token]

    path = tmp_path / "j.jsonl"
    with (
        api_for(sb) as api,
        open_journal(doc, path, api) as journal,
        pytest.raises(AuthError, match="TRELLO_TOKEN"),
    ):
        apply_doc(doc, api, journal, fast_options(), revoke)
    # Writes only: the apply's looks for concurrent edits (reads) may meet the revoked token
    # too (9 refused with 8 workers, once, on a loaded machine).
    refused = [r for r in sb.server.request_log if r.status == 401 and r.method != "GET"]
    assert 1 <= len(refused) <= fast_options().workers
    assert sb.server.request_log[-1].status == 401
    assert "failed" in {r.status for r in Journal.read(path).records}
    with s.world.lock:
        s.world.tokens[sb.token] = member
    report, _ = _apply(sb, doc, path)
    assert report.exit_code == ExitCode.OK
    assert diff(snapshot(s.world), expected(before, truth)) == []


def test_a_new_journal_is_never_seen_empty(tmp_path: Path) -> None:
    """Journals are created with their header in one step (link), so a second run starting on
    the same plan reads a valid journal, never an empty file; both handles append."""
    from trello_restore.journal import Journal, JournalHeader, JournalRecord

    header = JournalHeader("d" * 64, "http://x/1", "m" * 24, "2026-01-01T00:00:00Z")
    path = tmp_path / "j" / "plan.jsonl"
    with Journal.open(path, header) as first, Journal.open(path, header) as second:
        assert path.stat().st_mode & 0o777 == 0o600
        first.append(JournalRecord("c-1", "apply", "add_member_to_card", "applied", "b", "m"))
        second.append(JournalRecord("c-2", "apply", "add_member_to_card", "applied", "b", "m"))
    assert set(Journal.read(path).done()) == {"c-1", "c-2"}
    assert [p.name for p in path.parent.iterdir()] == ["plan.jsonl"]  # no temporary left


def test_one_lock_module_for_applies_and_one_shot_runs(tmp_path: Path) -> None:
    """``locks.py`` holds an apply's locks and a one-shot run's in the directory it is given:
    a second holder gets ``LockHeld`` with what the first is doing; a directory that cannot be
    made is a usage error naming it."""
    from trello_restore.locks import lock_dir, run_lock

    locks = lock_dir(tmp_path / "state")
    assert locks == tmp_path / "state" / "locks"
    busy_board = r"applying or undoing board b1; wait for it to finish and run again"
    busy_board += r" \(lock .*/board-b1\.lock\)"
    # A one-shot run holds its boards, then its apply takes theirs.
    with run_lock(locks, ["b1", "b1"]) as held, apply_lock(lock_names("ab" * 32, ["b1"]), locks):
        assert held == locks
        with pytest.raises(LockHeld, match=busy_board), apply_lock(["board-b1"], locks):
            pass  # pragma: no cover - the lock is held
        with pytest.raises(LockHeld, match=r"working on board b1; try again later \(lock .*"):
            run_lock(locks, ["b1"]).__enter__()
        with pytest.raises(LockHeld, match=r'working on board "Team" \(b1\); try again later'):
            run_lock(locks, ["b1"], {"b1": "Team"}).__enter__()
    # An apply or undo writing to a board: a one-shot run does not plan beside it.
    with apply_lock(lock_names("cd" * 32, ["b1"]), locks):
        with pytest.raises(LockHeld, match=busy_board):
            run_lock(locks, ["b1"]).__enter__()
        with run_lock(locks, ["b2"]):
            pass
    assert sorted(p.name for p in locks.iterdir()) == [
        "board-b1.lock",
        "board-b2.lock",
        f"plan-{'ab' * 8}.lock",
        f"plan-{'cd' * 8}.lock",
        "run-board-b1.lock",
        "run-board-b2.lock",
    ]
    blocker = tmp_path / "a-file"
    blocker.write_text("")
    with pytest.raises(UsageError, match=f"cannot create the lock directory {blocker}/locks"):
        run_lock(blocker / "locks", ["b1"]).__enter__()
