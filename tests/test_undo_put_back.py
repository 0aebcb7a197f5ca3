"""A colleague's deliberate action is not undone, nor overwritten by a plan that sat (reviews
D22, R22), over the command line against the sandbox (its members act through the world, as
people in Trello's web page would; their actions are logged as Trello logs them):

- undo leaves a card member someone removed and added back by hand after the apply (and a
  value set back to what the apply wrote) in place, drifted with who and when (exit 5, open for
  a later undo), reading each board's actions since the apply once; with no such action it
  undoes everything as before;
- an apply of a plan file leaves a member someone added and removed again after the plan was
  made, drifted (exit 5), reading each board's actions since the plan was made once; a one-step
  run reads none (its plan's read is the state);
- an undo that moves cards back into a list someone archived since says so, once.

The deciders' tables are ``test_kinds_touched.py``."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from trello_restore.errors import ExitCode
from trello_restore.journal import Journal
from trello_restore.planfile import PlanDict
from trello_restore.sandbox.scenario import Scenario, generate
from trello_restore.sandbox.server import RequestRecord
from trello_restore.undo_left import undoable
from trello_restore.words import when

from .applykit import api_for, apply_doc, fast_options, open_journal, plan_doc
from .conftest import Sandbox, SandboxFactory
from .conftest import sandbox_cli as cli_for
from .test_apply_values import applied_values, writes
from .truthcheck import incident_since


def _applied(
    sandbox_factory: SandboxFactory, tmp_path: Path, seed: int
) -> tuple[Scenario, Sandbox, PlanDict, Path]:
    """Reference option set b applied (card members and their grants), journal ``j.jsonl``."""
    s = generate(seed, 300)
    sb = sandbox_factory(s, time_scale=100)
    doc = plan_doc(sb, s, "b")
    path = tmp_path / "j.jsonl"
    with api_for(sb) as api, open_journal(doc, path, api) as journal:
        assert apply_doc(doc, api, journal, fast_options()).exit_code == ExitCode.OK
    return s, sb, doc, path


@pytest.fixture(autouse=True)
def _windows_as_the_sandbox(monkeypatch: pytest.MonkeyPatch) -> None:
    """The command line paces by the sandbox's windows (``time_scale=100``: 0.1 s), not
    Trello's 10 s, which made each undo here wait seconds for its own budget. The looks
    again while it writes (once a window) are left out: these count the reads before the
    writes (``test_recheck`` has the looks)."""
    monkeypatch.setenv("TRELLO_RESTORE_WINDOW_SECONDS", "0.1")
    monkeypatch.setattr("trello_restore.recheck.RECHECK_WINDOWS", 1e6)


def _card_changes(doc: PlanDict, n: int) -> list[tuple[str, str, str]]:
    """(change id, card id, member id) of ``n`` card member changes, each on its own card."""
    out: dict[str, tuple[str, str, str]] = {}
    for c in doc["changes"]:
        if c["action"] == "add_member_to_card":
            card = c["card"]["id"]
            out.setdefault(card, (c["change_id"], card, c["member"]["id"]))
    assert len(out) >= n
    return list(out.values())[:n]


def _feeds(log: list[RequestRecord]) -> list[RequestRecord]:
    """The action feed requests of ``log``."""
    return [r for r in log if r.method == "GET" and r.path.endswith("/actions")]


def _reads_as_before(log: list[RequestRecord], boards: set[str]) -> None:
    """Besides the account, each board's cards and its one read (what an undo read before),
    one read of each board's actions since the apply (``since``, a filter, 1000 a page): never
    a card's, never a member's."""
    gets = {r.path for r in log if r.method == "GET"}
    feeds = _feeds(log)
    assert sorted(r.path for r in feeds) == sorted(f"/1/boards/{b}/actions" for b in boards)
    assert all({"since", "filter", "limit"} <= set(r.query_names) for r in feeds)
    assert gets - {r.path for r in feeds} == {"/1/members/me"} | {
        p for b in boards for p in (f"/1/boards/{b}", f"/1/boards/{b}/cards/all")
    }


def test_undo_leaves_members_put_back_by_hand(
    sandbox_factory: SandboxFactory, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """After the apply: a colleague removes one member and adds them back (their decision); the
    token's own member does the same on another card an hour later (by hand: not near any of
    this tool's writes); a colleague removes a third for good; the token's member takes a
    fourth off and puts them back at once (within minutes of the tool's write: taken for the
    tool's, as the README says). Undo: the first two drifted, naming who and when (exit 5),
    left on their cards; the third no longer there; the rest removed. One actions read per
    board. A later undo looks at the two again (still drifted)."""
    s, sb, doc, path = _applied(sandbox_factory, tmp_path, seed=61)
    w, lead = s.world, s.mover.id
    put, by_lead, gone, at_once = _card_changes(doc, 4)
    colleague = next(
        m for m in w.members.values() if m.id not in (lead, put[2]) and m.username != "noahk"
    )
    later = w.last_time + timedelta(hours=1)
    with w.lock:
        w.remove_member_from_card(put[1], put[2], colleague.id)
        back = w.add_member_to_card(put[1], put[2], colleague.id)
        w.remove_member_from_card(gone[1], gone[2], colleague.id)
        w.remove_member_from_card(at_once[1], at_once[2], lead)
        w.add_member_to_card(at_once[1], at_once[2], lead)
        w.remove_member_from_card(by_lead[1], by_lead[2], lead, later)
        hand = w.add_member_to_card(by_lead[1], by_lead[2], lead, later)
    invoke = cli_for(sb, monkeypatch)

    start = len(sb.server.request_log)
    first = invoke("undo", str(path), "--yes", "--format", "json")
    assert first.exit_code == ExitCode.PARTIAL, first.output
    summary = json.loads(first.stdout)
    by_id = {c["change_id"]: c for c in summary["changes"]}
    assert by_id[put[0]]["status"] == "drifted"
    assert by_id[put[0]]["error"] == (
        f"put back by @{colleague.username} on {when(back.date)} after this tool's apply: "
        "left in place"
    )
    assert by_id[by_lead[0]]["status"] == "drifted"
    assert by_id[by_lead[0]]["error"] == (
        f"put back by @{s.mover.username} on {when(hand.date)} after this tool's apply: "
        "left in place"
    )
    assert by_id[gone[0]]["status"] == "not_on_card"
    assert by_id[at_once[0]]["status"] == "undone"
    cards = [c for c in doc["changes"] if c["action"] == "add_member_to_card"]
    assert summary["undo"]["drifted"] == 2
    assert summary["undo"]["undone"] == len(cards) - 3
    assert put[2] in w.cards[put[1]].id_members
    assert by_lead[2] in w.cards[by_lead[1]].id_members
    log = sb.server.request_log[start:]
    deletes = {r.path for r in log if r.method == "DELETE"}
    assert f"/1/cards/{put[1]}/idMembers/{put[2]}" not in deletes
    assert f"/1/cards/{by_lead[1]}/idMembers/{by_lead[2]}" not in deletes
    _reads_as_before(log, {c["board"]["id"] for c in cards})

    left = {u.record.change_id for u in undoable(Journal.read(path).records)}
    assert {put[0], by_lead[0]} <= left
    start = len(sb.server.request_log)
    again = invoke("undo", str(path), "--yes", "-v")
    assert again.exit_code == ExitCode.PARTIAL, again.output
    assert again.stdout.count("put back by @") == 2, again.stdout
    assert writes(sb, start) == []


def test_undo_with_no_hand_changes_is_as_before(
    sandbox_factory: SandboxFactory, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The control: nobody touched the cards since the apply. Undo removes every card member
    it added (exit 0) with one more read per board than before (its actions since the apply,
    where only this tool's writes are), and its dry run says the same."""
    s, sb, doc, path = _applied(sandbox_factory, tmp_path, seed=62)
    cards = [c for c in doc["changes"] if c["action"] == "add_member_to_card"]
    invoke = cli_for(sb, monkeypatch)
    start = len(sb.server.request_log)
    dry = invoke("undo", str(path), "--dry-run", "--format", "json")
    assert dry.exit_code == ExitCode.OK, dry.output
    assert json.loads(dry.stdout)["undo"]["would_undo"] == len(cards)
    _reads_as_before(sb.server.request_log[start:], {c["board"]["id"] for c in cards})
    start = len(sb.server.request_log)
    undo = invoke("undo", str(path), "--yes", "--format", "json")
    assert undo.exit_code == ExitCode.OK, undo.output
    counts: dict[str, Any] = json.loads(undo.stdout)["undo"]
    assert (counts["undone"], counts["drifted"]) == (len(cards), 0)
    log = sb.server.request_log[start:]
    _reads_as_before(log, {c["board"]["id"] for c in cards})
    assert sum(r.method == "DELETE" for r in log) == len(cards)
    for c in cards:
        assert c["member"]["id"] not in s.world.cards[c["card"]["id"]].id_members
    # Nothing left to remove: no read of the actions at all.
    start = len(sb.server.request_log)
    assert invoke("undo", str(path), "--yes").exit_code == ExitCode.OK
    assert _feeds(sb.server.request_log[start:]) == []


def test_undo_leaves_a_value_set_back_by_hand(
    sandbox_factory: SandboxFactory, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The value kinds the same way: the apply unarchived ``c1``; ben archives it and
    unarchives it again (the value the apply wrote, set by him). Undo leaves it open, drifted
    with who and when (exit 5), and reverts the other four; one actions read."""
    sb, path = applied_values(sandbox_factory, tmp_path)
    ids, w = sb.ids, sb.world
    assert w.cards[ids["c1"]].closed is False
    with w.lock:
        w.set_card_closed(ids["c1"], True, ids["ben"])
        back = w.set_card_closed(ids["c1"], False, ids["ben"])
    assert back is not None
    invoke = cli_for(sb, monkeypatch)
    start = len(sb.server.request_log)
    undo = invoke("undo", str(path), "--yes", "--format", "json")
    assert undo.exit_code == ExitCode.PARTIAL, undo.output
    changes = json.loads(undo.stdout)["changes"]
    (drifted,) = [c for c in changes if c["status"] == "drifted"]
    assert drifted["card_id"] == ids["c1"]
    assert drifted["error"] == (
        f"set back to open by @{w.members[ids['ben']].username} on {when(back.date)} after "
        "this tool's apply: left in place"
    )
    assert sorted(c["status"] for c in changes) == ["drifted", *["undone"] * 4]
    assert w.cards[ids["c1"]].closed is False
    log = sb.server.request_log[start:]
    assert [r.path for r in _feeds(log)] == [f"/1/boards/{ids['team']}/actions"]


def _plan_file(invoke: Any, s: Scenario, path: Path) -> PlanDict:
    """Reference option set b as a plan file, made over the command line."""
    r = invoke("--board", s.team.id, "--since", incident_since(s), "--removed-by",
               s.mover.username, "--add-to-board", "--dry-run", "--plan-out", str(path),
               "--quiet")  # fmt: skip
    assert r.exit_code == 0, r.output
    doc: PlanDict = json.loads(path.read_text())
    return doc


def test_apply_of_a_plan_that_sat_leaves_a_member_removed_again(
    sandbox_factory: SandboxFactory, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """After the plan was made, a colleague adds one of its members to the card by hand and
    removes them again on purpose. ``apply PLAN``: that change drifted, naming who and when
    (exit 5), the member not put back; the rest applied; each board's actions since the plan
    was made read once, before the first write."""
    s = generate(63, 300)
    sb = sandbox_factory(s, time_scale=100)
    w = s.world
    invoke = cli_for(sb, monkeypatch)
    doc = _plan_file(invoke, s, tmp_path / "plan.json")
    cid, card, member = next(
        (c["change_id"], c["card"]["id"], c["member"]["id"])
        for c in doc["changes"]
        if c["action"] == "add_member_to_card" and c["precondition"]["member_on_board"]
    )
    colleague = next(m for m in w.members.values() if m.id not in (s.mover.id, member))
    with w.lock:
        w.add_member_to_card(card, member, colleague.id)
        again = w.remove_member_from_card(card, member, colleague.id)
    start = len(sb.server.request_log)
    run = invoke("apply", str(tmp_path / "plan.json"), "--format", "json",
                 "--journal", str(tmp_path / "j.jsonl"))  # fmt: skip
    assert run.exit_code == ExitCode.PARTIAL, run.output
    summary = json.loads(run.stdout)
    by_id = {c["change_id"]: c for c in summary["changes"]}
    assert by_id[cid]["status"] == "drifted"
    assert by_id[cid]["error"] == (
        f"removed again by @{colleague.username} on {when(again.date)}, after the plan was "
        "made: left alone"
    )
    assert summary["apply"]["drifted"] == 1
    assert summary["apply"]["applied"] == len(doc["changes"]) - 1
    assert member not in w.cards[card].id_members
    log = sb.server.request_log[start:]
    feeds = _feeds(log)
    boards = {c["board"]["id"] for c in doc["changes"] if c["action"] == "add_member_to_card"}
    assert sorted(r.path for r in feeds) == sorted(f"/1/boards/{b}/actions" for b in boards)
    assert all("since" in r.query_names for r in feeds)
    first_write = next(i for i, r in enumerate(log) if r.method in ("POST", "PUT"))
    assert all(log.index(r) < first_write for r in feeds)


def test_a_one_step_run_reads_no_actions_for_its_apply(
    sb: Sandbox, scenario: Scenario, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The one-step run applies the plan it has just made from its own read: its apply reads
    no action feed (``plan_requests`` holds the plan's, the apply's ``requests`` the rest)."""
    invoke = cli_for(sb, monkeypatch)
    mark = len(sb.server.request_log)
    run = invoke("--board", scenario.team.id, "--since", incident_since(scenario),
                 "--removed-by", scenario.mover.username, "--add-to-board", "--yes",
                 "--format", "json")  # fmt: skip
    assert run.exit_code == ExitCode.OK, run.output
    doc = json.loads(run.stdout)
    assert doc["apply"]["applied"] >= 1
    log = sb.server.request_log[mark:]
    planned = doc["plan"]["plan_requests"]
    assert planned + doc["apply"]["requests"] == len(log)
    assert _feeds(log[:planned])
    assert _feeds(log[planned:]) == []


def test_undo_says_once_that_cards_go_back_into_an_archived_list(
    sandbox_factory: SandboxFactory, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """README §10's plan (the second damage: card moves back among others) applied, then the
    list the damage had moved cards to ("Review" in the README's) archived: its undo moves those
    cards back into it and says so in one warning (its dry run too), naming the list and the
    board; nothing else is said of lists."""
    s = generate(1, 60, second_damage=True)
    assert s.second_damage_at is not None
    assert s.culprit is not None
    sb = sandbox_factory(s, time_scale=100)
    monkeypatch.setenv("TRELLO_RESTORE_HOME", str(tmp_path / "home"))
    invoke = cli_for(sb, monkeypatch)
    plan = tmp_path / "plan.json"
    made = invoke("--board", "Team Board", "--restore", "archived,list,fields", "--by",
                  s.culprit.username, "--since", s.second_damage_at.strftime("%Y-%m-%dT%H:%MZ"),
                  "--dry-run", "--plan-out", str(plan), "--quiet")  # fmt: skip
    assert made.exit_code == 0, made.output
    changes = json.loads(plan.read_text())["changes"]
    moved = [c for c in changes if c["action"] == "move_card_to_list"]
    assert moved
    review = s.world.lists[moved[0]["expected"]]  # the list the damage moved them to
    moves = [c for c in moved if c["expected"] == review.id]
    assert review.id_board == s.team.id
    assert not review.closed
    journal = tmp_path / "j.jsonl"
    assert invoke("apply", str(plan), "--journal", str(journal), "-q").exit_code == 0
    with s.world.lock:
        s.world.set_list_closed(review.id, True, s.mover.id)
    said = (
        f'list "{review.name}" on board "Team Board" is archived now: the {len(moves)} cards moved '
        "back or unarchived into it stay hidden until it is unarchived; unarchive it in Trello "
        "to show them"
    )
    for args in (("--dry-run",), ("--yes",)):
        undo = invoke("undo", str(journal), *args)
        assert undo.exit_code == ExitCode.OK, undo.output
        warned = [x for x in undo.stderr.splitlines() if "archived now" in x]
        assert warned == [f"Warning: {said}"], undo.stderr
    assert all(s.world.cards[c["card"]["id"]].id_list == review.id for c in moves)


def test_a_clock_an_hour_apart_from_trellos_is_allowed_for(
    sandbox_factory: SandboxFactory, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Trello's clock an hour ahead of this machine's (which dates the journal): the apply's
    own writes are still told for the tool's (moved by the skew the run's first answer shows),
    so the undo removes them all but the one a colleague put back by hand (before: every
    member "put back" by the token's member, nothing removed)."""
    s = generate(64, 300)
    s.world.clock = lambda: datetime.now(UTC) + timedelta(hours=1)
    sb = sandbox_factory(s, time_scale=100)
    doc = plan_doc(sb, s, "b")
    path = tmp_path / "j.jsonl"
    with api_for(sb) as api, open_journal(doc, path, api) as journal:
        assert apply_doc(doc, api, journal, fast_options()).exit_code == ExitCode.OK
    (put,) = _card_changes(doc, 1)
    colleague = next(m for m in s.world.members.values() if m.id not in (s.mover.id, put[2]))
    with s.world.lock:
        s.world.remove_member_from_card(put[1], put[2], colleague.id)
        back = s.world.add_member_to_card(put[1], put[2], colleague.id)
    undo = cli_for(sb, monkeypatch)("undo", str(path), "--yes", "--format", "json")
    assert undo.exit_code == ExitCode.PARTIAL, undo.output
    summary = json.loads(undo.stdout)
    cards = [c for c in doc["changes"] if c["action"] == "add_member_to_card"]
    assert (summary["undo"]["undone"], summary["undo"]["drifted"]) == (len(cards) - 1, 1)
    (drifted,) = [c for c in summary["changes"] if c["status"] == "drifted"]
    assert drifted["change_id"] == put[0]
    assert f"put back by @{colleague.username} on {when(back.date)}" in drifted["error"]


def test_a_member_put_back_by_hand_is_not_claimed_by_the_plan_applied_again(
    sandbox_factory: SandboxFactory, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A colleague takes a member off a card after the apply and puts them back; the undo
    leaves them, drifted. The plan applied again then finds them on the card: the colleague's
    (already satisfied), not this tool's write (it said ``applied`` for a write it never sent;
    and when the token's own member had put them back by hand, the next undo, reading touches
    from that record on, removed them: R37a). That undo leaves them again."""
    s, sb, doc, path = _applied(sandbox_factory, tmp_path, seed=63)
    w = s.world
    ((change_id, card, member),) = _card_changes(doc, 1)
    colleague = next(
        m for m in w.members.values() if m.id not in (s.mover.id, member) and m.username != "noahk"
    )
    with w.lock:
        w.remove_member_from_card(card, member, colleague.id)
        w.add_member_to_card(card, member, colleague.id)
    invoke = cli_for(sb, monkeypatch)
    plan = tmp_path / "plan.json"
    plan.write_text(json.dumps(doc))
    first = invoke("undo", str(path), "--yes", "--format", "json")
    assert first.exit_code == ExitCode.PARTIAL, first.output
    assert {c["change_id"]: c["status"] for c in json.loads(first.stdout)["changes"]}[
        change_id
    ] == "drifted"
    start = len(sb.server.request_log)
    again = invoke("apply", str(plan), "--journal", str(path), "--yes", "--format", "json")
    assert again.exit_code == ExitCode.OK, again.output
    outcome = {c["change_id"]: c["status"] for c in json.loads(again.stdout)["changes"]}
    assert outcome[change_id] == "already_satisfied"
    sent = {r.path for r in sb.server.request_log[start:] if r.method == "POST"}
    assert f"/1/cards/{card}/idMembers" not in sent
    last = invoke("undo", str(path), "--yes", "--format", "json")
    assert last.exit_code == ExitCode.PARTIAL, last.output
    assert {c["change_id"]: c["status"] for c in json.loads(last.stdout)["changes"]}[
        change_id
    ] == "drifted"
    assert member in w.cards[card].id_members


def test_a_grant_whose_card_member_was_put_back_is_kept_drifted_not_failed(
    sandbox_factory: SandboxFactory, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A member the apply granted board membership and added to cards; a colleague takes them
    off one card and puts them back. ``undo --include-board-memberships``: that card drifted,
    and the grant kept for it, drifted as well (R37e: "FAILED … removing the member from 1
    card … failed", counted failed and said again by every undo, though nothing had failed)."""
    s, sb, doc, path = _applied(sandbox_factory, tmp_path, seed=64)
    w = s.world
    grants = {c["member"]["id"]: c for c in doc["changes"] if c["action"] == "add_member_to_board"}
    card_change = next(
        c
        for c in doc["changes"]
        if c["action"] == "add_member_to_card" and c["member"]["id"] in grants
    )
    card, member = card_change["card"]["id"], card_change["member"]["id"]
    colleague = next(m for m in w.members.values() if m.id not in (s.mover.id, member))
    with w.lock:
        w.remove_member_from_card(card, member, colleague.id)
        w.add_member_to_card(card, member, colleague.id)
    invoke = cli_for(sb, monkeypatch)
    r = invoke("undo", str(path), "--yes", "--include-board-memberships", "--format", "json")
    assert r.exit_code == ExitCode.PARTIAL, r.output
    got = {c["change_id"]: c for c in json.loads(r.stdout)["changes"]}
    assert got[card_change["change_id"]]["status"] == "drifted"
    grant = got[grants[member]["change_id"]]
    assert grant["status"] == "drifted", grant
    assert "that this undo leaves in place" in grant["error"]
    assert json.loads(r.stdout)["undo"]["failed"] == 0
    assert member in w.cards[card].id_members


def test_undo_leaves_a_board_membership_someone_granted_again_by_hand(
    sandbox_factory: SandboxFactory, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """R75b: after the apply, a colleague removed a member the apply had granted board
    membership to and added them back (their own grant), and made another one an observer
    and a normal member again (their decision, to the role the apply granted). ``undo
    --include-board-memberships`` removed both from the board and said ``removed``, exit 0.
    Now both are drifted, naming who and when, left on the board (exit 5); the other grants
    are undone as before; still one read of each board's actions."""
    s, sb, doc, path = _applied(sandbox_factory, tmp_path, seed=64)
    w = s.world
    grants = [c for c in doc["changes"] if c["action"] == "add_member_to_board"]
    assert len(grants) >= 3
    regranted, remade = grants[0], grants[1]
    assert regranted["role"] == remade["role"] == "normal"
    colleague = next(
        m
        for m in w.members.values()
        if m.id not in (s.mover.id, *(g["member"]["id"] for g in grants))
    )
    with w.lock:
        board, member = regranted["board"]["id"], regranted["member"]["id"]
        w.remove_member_from_board(board, member, colleague.id)
        added = w.add_member_to_board(board, member, colleague.id, "normal")
        other_board, other = remade["board"]["id"], remade["member"]["id"]
        w.add_member_to_board(other_board, other, colleague.id, "observer")
        made = w.add_member_to_board(other_board, other, colleague.id, "normal")
    assert added is not None
    assert made is not None
    invoke = cli_for(sb, monkeypatch)
    start = len(sb.server.request_log)
    r = invoke("undo", str(path), "--yes", "--include-board-memberships", "--format", "json")
    assert r.exit_code == ExitCode.PARTIAL, r.output
    summary = json.loads(r.stdout)
    got = {c["change_id"]: c for c in summary["changes"]}
    assert got[regranted["change_id"]]["status"] == "drifted"
    assert got[regranted["change_id"]]["error"] == (
        f"added to the board again by @{colleague.username} on {when(added.date)} after this "
        "tool's apply: left in place"
    )
    assert got[remade["change_id"]]["status"] == "drifted"
    assert got[remade["change_id"]]["error"] == (
        f"made a normal member of the board by @{colleague.username} on {when(made.date)} "
        "after this tool's apply: left in place"
    )
    assert member in w.boards[board].memberships
    assert other in w.boards[other_board].memberships
    others = [g for g in grants[2:] if got[g["change_id"]]["status"] == "undone"]
    assert others, [got[g["change_id"]] for g in grants[2:]]
    for g in others:
        assert g["member"]["id"] not in w.boards[g["board"]["id"]].memberships
    cards = [c for c in doc["changes"] if c["action"] == "add_member_to_card"]
    _reads_as_before(sb.server.request_log[start:], {c["board"]["id"] for c in cards})
