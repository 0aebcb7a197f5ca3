"""The cron, lock, look and undo-others rules a mutation-testing review (R55c) found no test
held: each test here fails with its mutant applied (the module's constant or condition changed)
and passes as shipped. Runs over HTTP against the sandbox where the rule is about a run; a
direct call of the module's function where it is a pure one.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Callable
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from trello_restore import lastrun, recheck, touches, undo_others
from trello_restore.api import ApiSettings, TrelloApi
from trello_restore.errors import ExitCode, InputFileError
from trello_restore.journal import Journal, JournalHeader, JournalRecord
from trello_restore.kinds import in_order
from trello_restore.lastrun import Scope, record_last_run
from trello_restore.live import LiveBoard, Target, Touch
from trello_restore.models import CardState, Change, MemberRef, Membership
from trello_restore.plan_memo import PlanMemo
from trello_restore.planfile import write_plan
from trello_restore.runner_types import ApplyOptions
from trello_restore.sandbox.scenario import Scenario, generate

from .applykit import plan_doc
from .conftest import Sandbox, SandboxFactory, sandbox_cli
from .test_plan_memo import _plan as _memo_plan
from .test_plan_memo import _scenario as _memo_scenario
from .test_recheck import _APPLY, _last_written, _meanwhile

API = "https://api.trello.com/1"
ACCOUNT = "a" * 24
NOW = datetime(2026, 12, 1, 12, 0, tzinfo=UTC)


# --- recheck.py at its shipped values: the looks while an apply writes (README *Applying*) -----


def _colleague_meanwhile(
    sandbox_factory: SandboxFactory, monkeypatch: pytest.MonkeyPatch, tmp_path: Path, name: str
) -> tuple[Scenario, Sandbox, Any, Callable[..., Any]]:
    """Scenario 3's plan of option set ``name`` in a file, against a sandbox at
    ``time_scale=100`` (a 0.1 s rate window, which the command line is told) whose writes take
    6 s of its time (60 ms): an apply long in windows. The scenario, the sandbox, the plan
    document and the command line."""
    s = generate(3, 60)
    sb = sandbox_factory(
        s, time_scale=100, write_latency_ms=6000, token_limit=10_000, key_limit=10_000
    )
    doc: Any = plan_doc(sb, s, name)
    write_plan(doc, tmp_path / "plan.json")
    invoke = sandbox_cli(sb, monkeypatch)
    monkeypatch.setenv("TRELLO_RESTORE_WINDOW_SECONDS", "0.1")
    return s, sb, doc, invoke


def _readd(s: Scenario, target: dict[str, Any]) -> tuple[str, Callable[[], None]]:
    """A colleague on ``target``'s board (not the token's member, not its member), and their
    decision: they add the member to its card and take them off again."""
    card, member = target["card"]["id"], target["member"]["id"]
    board = s.world.boards[target["board"]["id"]]
    colleague = next(
        m for m in sorted(board.memberships) if m not in (s.world.tokens[s.token], member)
    )

    def edit() -> None:
        with s.world.lock:
            s.world.add_member_to_card(card, member, colleague)
            s.world.remove_member_from_card(card, member, colleague)

    return s.world.members[colleague].username, edit


def _drifted_by(output: str, who: str, card_id: str, s: Scenario) -> None:
    """The one change drifted is the card's, removed again by ``who`` after the plan."""
    (line,) = [x for x in output.splitlines() if x.startswith("  drifted, skipped ")]
    assert f"removed again by @{who} on " in line, line
    assert s.world.cards[card_id].name in line, line


def test_an_edit_during_a_long_apply_is_found_by_a_look_at_the_shipped_interval(
    sandbox_factory: SandboxFactory, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    """R55c (``recheck.RECHECK_WINDOWS`` as shipped, not patched): while an apply writes, it
    looks again at its boards once a rate window, so a colleague's decision made halfway
    through (a member they added and took off again) is found before the write it concerns,
    which is ``drifted``, naming them, not sent (README *Applying*: "once every 10 s (Trello's
    rate window) a look reads each board being written"; R39b)."""
    s, sb, doc, invoke = _colleague_meanwhile(sandbox_factory, monkeypatch, tmp_path, "b")
    target = _last_written(doc, "add_member_to_card")
    n = len(doc["changes"])
    assert n >= 20, n
    _applied_beside_an_edit(s, sb, invoke, tmp_path, target, after=n // 2)


def _applied_beside_an_edit(
    s: Scenario,
    sb: Sandbox,
    invoke: Callable[..., Any],
    tmp_path: Path,
    target: dict[str, Any],
    *,
    after: int,
) -> None:
    """Apply the plan while a colleague puts ``target``'s member back on its card and takes
    them off again once ``after`` writes reached the sandbox: the change is drifted, named
    after the colleague, exit 5, and the member stays off the card (not overwritten)."""
    who, edit = _readd(s, target)
    thread = _meanwhile(sb, after, edit)
    result = invoke("apply", str(tmp_path / "plan.json"), *_APPLY)
    thread.join()
    assert result.exit_code == ExitCode.PARTIAL, result.output
    _drifted_by(result.output, who, target["card"]["id"], s)
    with s.world.lock:
        assert target["member"]["id"] not in s.world.card(target["card"]["id"]).id_members


def test_a_boards_first_write_is_decided_against_edits_since_the_live_read(
    sandbox_factory: SandboxFactory, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    """R55c (``recheck.AHEAD`` as shipped): a board whose writes come after another's is
    looked at once its first write is near, so an edit made there since the live read (while
    the other board is written) is found before that first write, not after it (README
    *Applying*: a look reads each board "whose first write is among the next 200", from the
    apply's read of it on; R41d). Here the team board's first card member, after the archive
    board's 45 writes."""
    s, sb, doc, invoke = _colleague_meanwhile(sandbox_factory, monkeypatch, tmp_path, "d")
    order = [k.action for k in in_order()]
    ranked = sorted((order.index(c["action"]), i, c) for i, c in enumerate(doc["changes"]))
    boards = [c["board"]["id"] for _, _, c in ranked]
    first = boards.index(s.team.id)
    assert first >= 20, boards
    assert set(boards[:first]) == {s.archive.id}, boards
    target = ranked[first][2]
    assert target["action"] == "add_member_to_card", target
    _applied_beside_an_edit(s, sb, invoke, tmp_path, target, after=5)  # archive being written


# --- lastrun.py: the cron state (README *Running unattended: cron and systemd*) --------------


def test_a_window_up_to_a_future_until_is_recorded_as_ending_at_the_start() -> None:
    """R55c (``window_end``): a run with ``--until`` later than its start covered only up to its
    start; recording the ``--until`` would make the next ``--since last-run`` skip what happens
    between (README: ``--since last-run`` continues where the last successful run ended). A
    past ``--until`` is the end."""
    assert lastrun.window_end(NOW, NOW + timedelta(days=2)) == NOW
    assert lastrun.window_end(NOW, NOW - timedelta(hours=1)) == NOW - timedelta(hours=1)
    assert lastrun.window_end(NOW, None) == NOW


def _two_states(state: Path) -> None:
    """Two recorded runs of this account: board ``b1`` named "Team" (shortLink ``L1``), and
    board ``b2`` named "team"."""
    one = Scope(
        API, ACCOUNT, ("b1",), board_ids=("b1",), board_names=(("b1", "Team"),),
        board_links=(("L1", "b1"),),
    )  # fmt: skip
    two = Scope(API, ACCOUNT, ("b2",), board_ids=("b2",), board_names=(("b2", "team"),))
    record_last_run(state, one, NOW - timedelta(hours=1))
    record_last_run(state, two, NOW - timedelta(hours=1))


def test_a_board_name_two_recorded_boards_share_names_neither(tmp_path: Path) -> None:
    """R55c (``recorded_board``: "one board only"): a board given by a name that two recorded
    boards have (names compared as board names are: "Team" and "team") is not guessed; a
    board's own name, recorded once, is found (README: a board Trello refuses is known by
    what the last run recorded)."""
    _two_states(tmp_path)
    assert lastrun.recorded_board(tmp_path, API, ACCOUNT, name="Team") is None
    assert lastrun.recorded_board(tmp_path, API, ACCOUNT, short_link="L1") == ("b1", "Team")


def test_another_accounts_state_names_no_board_for_this_one(tmp_path: Path) -> None:
    """R55c (``recorded_board``: "a successful run of this API URL and account"): the state
    another account's runs recorded does not tell this account's run which board a shortLink,
    id or name is (its boards are not this token's to know)."""
    _two_states(tmp_path)
    other = "c" * 24
    assert lastrun.recorded_board(tmp_path, API, other, short_link="L1") is None
    assert lastrun.recorded_board(tmp_path, API, other, board_id="b1") is None
    assert lastrun.recorded_board(tmp_path, API, other, name="team") is None
    assert lastrun.recorded_board(tmp_path, API, ACCOUNT, board_id="b1") == ("b1", "Team")


def test_a_state_file_that_records_other_boards_is_refused_as_damaged(tmp_path: Path) -> None:
    """R55c (``read_last_run``, ``_describes``): a last-run file under this scope's name that
    records other boards (edited, or copied from another machine) is refused, not continued
    from: its time says nothing of these boards' window (README: a damaged state file is an
    error saying to delete it and pass ``--since DATE`` once)."""
    scope = Scope(API, ACCOUNT, ("b1",), board_ids=("b1",))
    path = record_last_run(tmp_path, scope, NOW - timedelta(hours=1))
    assert lastrun.read_last_run(tmp_path, scope) == NOW - timedelta(hours=1) - lastrun.OVERLAP
    doc = json.loads(path.read_text())
    doc["boards"] = ["zzz"]
    path.write_text(json.dumps(doc))
    with pytest.raises(InputFileError, match="records other boards, account or API URL"):
        lastrun.read_last_run(tmp_path, scope)


def test_a_narrowed_run_without_a_state_of_its_own_knows_the_boards_given_up(
    tmp_path: Path,
) -> None:
    """R55c (``given_up_boards``: "or the one its ``--since last-run`` continues from"): a run
    narrowed by ``--by`` before it has a last run of its own continues from the plain run's,
    so the boards that run gave up (``--accept-unreadable-boards``) are given up for it too,
    not asked about again as newly unreadable (README, cron)."""
    plain = Scope(API, ACCOUNT, ("b1", "b2"), board_ids=("b1", "b2"))
    on = "2026-11-30T10:00:00.000Z"
    record_last_run(tmp_path, plain, NOW - timedelta(hours=1), {"b2": (on, "Archive")})
    narrowed = Scope(API, ACCOUNT, ("b1", "b2"), board_ids=("b1", "b2"), covers=(("--by", "x"),))
    assert not lastrun.state_file(tmp_path, narrowed).exists()
    assert lastrun.given_up_boards(tmp_path, narrowed) == {"b2": (on, "Archive")}


# --- undo_others.py: undoing two journals (design.md §5 "Undo") -------------------------------

GRANT, CARD = "add_member_to_board", "add_member_to_card"
BOARD, MEMBER = "b" * 24, "m" * 24


def _journal(path: Path, *records: JournalRecord, digest: str = "") -> Journal:
    """A journal of this API URL and account at ``path`` holding ``records``."""
    header = JournalHeader(digest or path.stem * 8, API, ACCOUNT, "2026-11-26T00:00:00Z")
    with Journal.open(path, header) as journal:
        journal.append_many(records)
    return Journal.read(path)


def _grant(op: str = "apply", status: str = "applied") -> JournalRecord:
    return JournalRecord("g1", op, GRANT, status, BOARD, MEMBER)  # type: ignore[arg-type]


def _card(change_id: str, card: str, status: str = "applied") -> JournalRecord:
    return JournalRecord(change_id, "apply", CARD, status, BOARD, MEMBER, card)  # type: ignore[arg-type]


def test_the_journal_undone_is_not_among_the_other_journals(tmp_path: Path) -> None:
    """R55c (``journal_files``, L71): the journal an undo reverses is not one of "the other
    journals" whose open cards keep a grant (design.md §5 Undo): its own card members are
    this undo's to remove, not another run's work that needs the membership; named however
    the undo was given it (a path through ``..``)."""
    one = _journal(tmp_path / "j1.jsonl", _grant(), _card("c1", "k1"))
    two = _journal(tmp_path / "j2.jsonl", _card("c2", "k2"))
    spelled = tmp_path / "sub" / ".." / "j1.jsonl"
    (tmp_path / "sub").mkdir()
    assert undo_others.journal_files(tmp_path, spelled) == [two.path]
    others = undo_others.Others(one.path, API, ACCOUNT)
    assert others.paths == [two.path]
    assert others.open_cards == {(BOARD, MEMBER): {"k2": str(two.path)}}


def test_a_card_add_another_run_sent_with_no_answer_journaled_keeps_the_grant(
    tmp_path: Path,
) -> None:
    """R55c (``Others.open_cards``, L153): a card add of another journal whose answer was never
    journaled (``pending``: that run was killed after sending it) counts as open, as an
    ``applied`` one does: the member on that card now is this tool's, and the grant an undo
    of the first journal removes would take them off it (design.md §5: undo never leaves
    behind a member this tool added, and undoing the journals in either order gives back the
    state before the first run)."""
    _journal(tmp_path / "j1.jsonl", _grant())
    two = _journal(tmp_path / "j2.jsonl", _card("c2", "k2", "pending"), _card("c3", "k3"))
    others = undo_others.Others(tmp_path / "j1.jsonl", API, ACCOUNT)
    assert others.open_cards == {(BOARD, MEMBER): {"k2": str(two.path), "k3": str(two.path)}}


def test_a_card_add_whose_grant_is_its_own_journals_needs_no_other_journal() -> None:
    """R55c (``card_pairs``, L175): the card members whose board membership the undone
    journal granted itself are removed with that grant by this undo; only those on boards
    it did not grant can need a grant another journal's undo kept (design.md §5 Undo)."""
    other = "n" * 24
    records = [
        _card("c1", "k1"),
        JournalRecord("c2", "apply", CARD, "applied", BOARD, other, "k2"),
    ]
    journal = [_grant(), *records]
    assert undo_others.card_pairs(records, journal) == {(BOARD, other)}


def test_only_a_grant_an_undo_of_its_journal_kept_is_another_undos_to_remove() -> None:
    """R55c (``kept``, L189): a grant no undo of its own journal has looked at stays for that
    journal's cards: another journal's undo removes a grant only when its own journal's undo,
    asked to remove it, kept it (its latest record that undo's: design.md §5, grants needed by
    another journal's cards stay)."""
    pairs = {(BOARD, MEMBER)}
    assert undo_others.kept([_grant(), _card("c1", "k1")], pairs) == []
    held = [_grant(), _grant("undo", "drifted")]
    (found,) = undo_others.kept(held, pairs)
    assert found.record.change_id == "g1"
    assert undo_others.kept(held, {(BOARD, "n" * 24)}) == []


def test_a_journal_whose_lock_was_not_taken_is_left_to_its_own_run(tmp_path: Path) -> None:
    """R55c (``undo_kept``, L216): the grants kept by the undos of other journals are removed
    only from the journals whose locks this undo took before it read them (``locked``); a
    journal found since is another run's, under way: its grant is not removed (nor said to be)
    under that run's feet (design.md §5 Undo)."""
    _journal(tmp_path / "j1.jsonl", _card("c1", "k1"))
    two = _journal(tmp_path / "j2.jsonl", _grant(), _grant("undo", "drifted"))
    others = undo_others.Others(tmp_path / "j1.jsonl", API, ACCOUNT)
    pairs = {(BOARD, MEMBER)}
    assert [j.path for j in others.keeping(pairs)] == [two.path]
    live = {BOARD: LiveBoard(BOARD, {}, {MEMBER: Membership(MEMBER, "normal")})}
    options = ApplyOptions(dry_run=True)
    with TrelloApi(ApiSettings(key="k", token="t", api_url="http://127.0.0.1:9/1")) as api:
        for locked, want in (([], 0), ([two], 1)):
            outcomes, _ = undo_others.undo_kept(
                api, options, None, live, others, locked, pairs, lambda c: []
            )
            assert len(outcomes) == want, outcomes


# --- touches.py: whose doing an action since the plan is (README *Applying*) ------------------


def test_a_plan_made_on_a_clock_ahead_reads_from_its_own_time_on_trellos_clock(
    sb: Sandbox, scenario: Scenario, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    """R55c (``read_touches``' ``since_skew``): a plan made on a machine ten minutes ahead of
    Trello (``clock_skew_s`` -600) is read from on Trello's clock by the skew it was made with,
    not this apply's (about 0): a colleague's decision right after the plan (a member added
    and taken off again) is found and ``drifted``, not overwritten (README *Applying*: the
    actions since the plan's ``created_at`` "on Trello's clock … so a plan made on a clock
    ahead and applied after it was set right misses nothing"; R35c)."""
    s = scenario
    doc: Any = plan_doc(sb, s, "b")
    target = next(
        c
        for c in doc["changes"]
        if c["action"] == "add_member_to_card"
        and s.world.boards[c["board"]["id"]].is_active_member(c["member"]["id"])
    )
    now = datetime.now(UTC)
    doc["created_at"] = (now + timedelta(minutes=10)).isoformat().replace("+00:00", "Z")
    doc["clock_skew_s"] = -600
    write_plan(doc, tmp_path / "plan.json")
    who, edit = _readd(s, target)
    edit()
    invoke = sandbox_cli(sb, monkeypatch)
    result = invoke("apply", str(tmp_path / "plan.json"), "--yes", "--rate-limit", "1000")
    assert result.exit_code == ExitCode.PARTIAL, result.output
    _drifted_by(result.output, who, target["card"]["id"], s)


def test_an_automations_removal_is_never_this_tools_undo_of_another_journal(
    tmp_path: Path,
) -> None:
    """R55c (``undone_elsewhere``: "By ``others.account_id`` (no app) only"): a removal made on
    the token's member's behalf by an automation (``appCreator``: a Butler rule), dated within
    another journal's undo of that card member, is the automation's decision, not that undo's
    write: it is not marked ``undo_of`` (which would send the user to plan again and put the
    member back); the member's own removal there is (README *Applying*: "the token's member's
    removal within seconds of that undo's write")."""
    at = "2026-12-01T12:00:00.000Z"
    when = datetime(2026, 12, 1, 12, 0, tzinfo=UTC)
    records = [
        JournalRecord(f"c{k}", op, CARD, status, BOARD, MEMBER, f"k{k}", at=at)  # type: ignore[arg-type]
        for k in (1, 2)
        for op, status in (("apply", "applied"), ("undo", "pending"), ("undo", "undone"))
    ]
    undone = _journal(tmp_path / "j1.jsonl", *records)
    me = MemberRef(ACCOUNT, "me", "Me")
    touched: dict[Target, Touch] = {
        ("k1", f"member {MEMBER}"): Touch("a1", when, me, "remove", app="Butler"),
        ("k2", f"member {MEMBER}"): Touch("a2", when, me, "remove"),
    }
    live = {BOARD: LiveBoard(BOARD, {}, touched=touched)}
    others = undo_others.Others(tmp_path / "j2.jsonl", API, ACCOUNT)
    api: Any = type("Api", (), {"clock_skew": None})()
    marked = touches.undone_elsewhere(api, live, others)[BOARD].touched
    assert marked[("k1", f"member {MEMBER}")].undo_of == ""
    assert marked[("k2", f"member {MEMBER}")].undo_of == str(undone.path)


# --- plan_memo.py: when a plan may be the memo's (README *The plan memo*) --------------------


def test_a_run_asked_not_to_read_the_memo_plans_though_nothing_is_new(
    sandbox_factory: SandboxFactory, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """R55c (``PlanMemo.recall``'s ``read``: what ``--refresh-history`` passes): asked not to
    read it, a run gets no plan from the memo even when its fetch found nothing new and a memo
    of this very input is there; asked to, the same fetch is the memo's plan. (A whole
    ``--refresh-history`` run also rebuilds the stores, so its fetch is never "nothing new":
    the flag is what holds the rule should that change: README *Kept history*.)"""
    sb, s = _memo_scenario(sandbox_factory)
    cache = tmp_path / "cache"
    cold = _memo_plan(sb, s, cache)
    real = PlanMemo.recall.__func__  # type: ignore[attr-defined]
    refused: list[object] = []

    def recall(cls: type[PlanMemo], *args: Any, read: bool = True) -> PlanMemo:
        refused.append(real(cls, *args, read=False).plan)
        memo: PlanMemo = real(cls, *args, read=read)
        return memo

    monkeypatch.setattr(PlanMemo, "recall", classmethod(recall))
    again = _memo_plan(sb, s, cache)
    assert refused == [None]
    assert again.plan == cold.plan


def test_the_memos_key_holds_the_boards_the_moves_point_to_that_cannot_be_read() -> None:
    """R55c (``PlanMemo.key``: "named and unreadable boards"): two fetches alike but for the
    boards cards moved to or from that the token cannot read key apart: a memo made while a
    board could be read is not the plan once it cannot (the planner leaves out what it cannot
    see there), nor the other way round (README *The plan memo*: the key holds "the boards in
    scope (named, followed, unreadable)")."""
    from trello_restore.fetched import Fetched
    from trello_restore.models import History, PlanOptions, State

    memo = PlanMemo(Path("memo.json.gz"), Scope(API, ACCOUNT, ("b1",)), PlanOptions(since=NOW))
    nothing = History((), (), {}, (), {}, {})
    base = Fetched(history=nothing, state=State({}, {}), members={}, boards=[])
    gone = replace(base, unreadable=frozenset({"b9"}))
    assert memo.key(base, {}, None) != memo.key(gone, {}, None)
    assert memo.key(gone, {}, None) == memo.key(replace(gone), {}, None)


# --- recheck.py: a look that fails, one at a board refused or gone (README *Applying*) --------


def _looks(
    monkeypatch: pytest.MonkeyPatch, fail: Callable[[str, int], Exception | None]
) -> tuple[recheck.Recheck, list[set[str]], Callable[[str], bool]]:
    """A ``Recheck`` of boards ``b1`` and ``b2`` (two writes each, all expected) on a clock of
    its own, whose looks read through ``fail(board, look)`` (an error to raise, or None: read,
    nothing found). The recheck, the boards each look read, and ``decide(board)``: a write
    of ``board`` decided after a window (a look starts if one is due; True if one did)."""
    read: list[set[str]] = []

    def touches_in(api: Any, live: Any, index: Any, *args: Any, **kwargs: Any) -> Any:
        (board,) = index
        read[-1].add(board)
        error = fail(board, len(read))
        if error is not None:
            raise error
        return live

    monkeypatch.setattr(recheck, "touches_in", touches_in)
    ann = MemberRef("ann", "ann", "Ann")
    changes = [
        Change(f"c-{b}{i}", CARD, b, b.upper(), ann, card_id=f"k{b}{i}", card_name="K")
        for b in ("b1", "b2")
        for i in range(2)
    ]
    live = {
        b: LiveBoard(
            b,
            {
                c.card_id: CardState(c.card_id, "K", "", b, "l1", False, ())
                for c in changes
                if c.board_id == b
            },
        )
        for b in ("b1", "b2")
    }
    now = [0.0]
    api: Any = type("Api", (), {"clock_skew": None})()
    r = recheck.Recheck(api, live, NOW, ACCOUNT, clock=lambda: now[0])
    for c in changes:
        r.expect(c)
    writes = iter(changes)

    def decide(board: str) -> bool:
        now[0] += r.every_s
        c = next(x for x in writes if x.board_id == board)
        read.append(set())
        r.decision(c, lambda b: None)
        thread = r._thread
        if thread is not None:
            thread.join(5)
        return bool(read[-1])

    return r, read, decide


@pytest.mark.parametrize("refusal", ["refused", "gone"])
def test_a_board_refused_or_gone_is_left_out_of_the_looks_and_the_rest_go_on(
    monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture, refusal: str
) -> None:
    """R55c (``Recheck._look``, ``_start``: L175, L208): a board whose look Trello refuses
    (401/403) or answers 404 (deleted, or moved out of reach) is left out of the later looks,
    its writes refused anyway; the other boards go on being looked at, with no warning and no
    look put off (README *Applying*: "A board the token can no longer read is left out of the
    looks")."""
    from trello_restore.errors import NotFound, PermissionDenied

    error = (
        PermissionDenied("HTTP 401: unauthorized permission requested")
        if refusal == "refused"
        else NotFound("HTTP 404: The requested resource was not found.")
    )
    r, read, decide = _looks(monkeypatch, lambda b, n: error if b == "b1" else None)
    with caplog.at_level(logging.WARNING, logger="trello_restore.recheck"):
        assert decide("b1")
        assert read[-1] == {"b1", "b2"}
        assert decide("b2")  # one window on: nothing put off
        assert read[-1] == {"b2"}  # b1 left out, though a write of it is still to send
    assert r.looks == 2
    assert not caplog.records


def test_a_look_that_fails_puts_the_next_off_longer_each_time_and_is_said_once(
    monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    """R55c (``Recheck._looked``: L248, L251): a look that fails (Trello unreachable) is warned
    of once, and the next comes later and later (two windows after the first failure, up to
    ``MOST_BACKOFF`` windows), not a window after each; the writes go on as decided meanwhile
    (README *Applying*: "a look that fails otherwise is said once, later looks come less
    often, and the writes go on as decided"; R40a)."""
    from trello_restore.errors import ApiUnreachable

    down = ApiUnreachable("cannot reach the Trello API at 127.0.0.1 (cannot connect)")
    r, read, decide = _looks(monkeypatch, lambda b, n: down)
    with caplog.at_level(logging.WARNING, logger="trello_restore.recheck"):
        started = [decide("b1") for _ in range(2)] + [decide("b2") for _ in range(2)]
    assert started == [True, False, True, False], read
    assert r.looks == 0
    said = [x.getMessage() for x in caplog.records]
    assert len(said) == 1, said
    assert "could not look for changes made on the boards while this run writes" in said[0]


# --- locks.py: who holds a lock (README *Applying*, R27a) -------------------------------------


def test_a_lock_whose_file_was_made_again_under_its_holder_is_still_held(tmp_path: Path) -> None:
    """R55c (``locks._is_held``, L368): a run holding a lock whose file was deleted under it
    (``rm -rf`` of the state directory), and made again at its path (a second run of the same
    plan, refused by the lock's name, or a ``touch``), still holds it: the look at the locks
    (``holders``: an undo's "running now", ``status``) finds it by its name, though the new
    file's ``flock`` is free (README *Applying*: "A lock holds while the run lives, even when
    its lock file is deleted"; R27a)."""
    from trello_restore.locks import hold, holders

    directory = tmp_path / "locks"
    name = "plan-0123456789abcdef"
    with hold(directory, [name]):
        file = directory / f"{name}.lock"
        file.unlink()
        file.touch(mode=0o600)
        (found,) = holders(directory)
        assert found.names == (name,)
    assert holders(directory) == []
