"""Cards put back into a list that is archived now (R20b, problem 1): a card moved back to a
list, or unarchived in one, that is archived now stays hidden (an open card in an archived
list). The plan (its warnings: stderr, the plan file) and the apply (from its live read, before
writing; stderr and the log file) say so once per list, unless the plan unarchives that list
itself; a one-step run says a warning its plan and its apply share once. A warning only, the
exit codes as before.

The pure part is ``report.archived_targets``; over HTTP the small world gets a second damage
by ana (``c2`` moved from Doing to Done, ``c1`` archived in Doing), then the lead archives
Doing by hand."""

from __future__ import annotations

import json
import re
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from trello_restore.archived_lists import apply_warnings
from trello_restore.live import LiveBoard
from trello_restore.models import (
    BoardState,
    CardState,
    Change,
    Evidence,
    MemberRef,
    Plan,
    PlanOptions,
    State,
    ValueChange,
)
from trello_restore.planfile import PlanMeta
from trello_restore.report import archived_targets, plan_warnings

from .conftest import T0, SandboxFactory, SmallWorld, make_world, sandbox_cli

T2 = T0 + timedelta(days=1)
EVIDENCE = Evidence("field_update", "a1", T2, MemberRef("m1", "ana"))


def change(action: str, card: str, value: object, list_id: str = "L1", **more: str) -> ValueChange:
    field = {"move_card_to_list": "idList", "set_card_closed": "closed"}.get(action, "closed")
    return ValueChange(
        f"{action}-{card or list_id}",
        action,
        "B1",
        more.pop("board_name", "Team"),
        list_id=list_id,
        list_name=more.pop("list_name", "Doing"),
        card_id=card,
        object_type="card" if card else "list",
        field=field,
        value=value,  # type: ignore[arg-type]
        evidence=EVIDENCE,
        **more,  # type: ignore[arg-type]
    )


def card(card_id: str, list_id: str, closed: bool = False) -> CardState:
    return CardState(card_id, card_id.upper(), "s" + card_id, "B1", list_id, closed, ())


# ------------------------------------------------------------------------------- pure part


def test_moves_and_unarchives_into_an_archived_list_are_one_warning_per_list() -> None:
    changes: list[Change] = [
        change("move_card_to_list", "k1", "L2", "L1", value_name="Review"),
        change("move_card_to_list", "k2", "L2", "L1", value_name="Review"),
        change("set_card_closed", "k3", False, "L2", list_name="Review"),
        change("move_card_to_list", "k4", "L3", "L1", value_name="Open list"),
        change("set_card_closed", "k5", False, "L4", list_name="Old"),
    ]
    cards = {c.id: c for c in (card("k1", "L1"), card("k3", "L2"), card("k5", "L4"))}
    got = archived_targets(changes, {"L1": False, "L2": True, "L3": False, "L4": True}, cards)
    assert got == [
        'list "Old" on board "Team" is archived now: the card moved back or unarchived into it '
        "stays hidden until it is unarchived; unarchive it, or restore its archiving too "
        "(--restore archived, with a --by that covers who archived it)",
        'list "Review" on board "Team" is archived now: the 3 cards moved back or unarchived '
        "into it stay hidden until it is unarchived; unarchive it, or restore its archiving "
        "too (--restore archived, with a --by that covers who archived it)",
    ]


def test_a_plan_that_restores_archive_states_says_the_lists_archiving_is_not_in_it() -> None:
    """With ``--restore archived`` the list's archiving was outside the window or filtered
    out: "restore its archiving too" would be no advice; unarchiving it by hand is."""
    changes: list[Change] = [change("move_card_to_list", "k1", "L2", "L1", value_name="Review")]
    cards = {"k1": card("k1", "L1")}
    [got] = archived_targets(changes, {"L2": True}, cards, restores_archived=True)
    assert got == (
        'list "Review" on board "Team" is archived now: the card moved back or unarchived into '
        "it stays hidden until it is unarchived; its archiving is not in this plan (before "
        "--since, or left out by the filters): unarchive it in Trello"
    )
    plan = Plan(PlanOptions(since=T2, restore=frozenset({"archived"})), tuple(changes), (), ())
    board = BoardState("B1", "Team", {}, {"L1": "Doing", "L2": "Review"}, {"L2": True})
    assert plan_warnings(plan, State({"B1": board}, cards)) == [got]


def test_no_warning_where_the_card_stays_hidden_anyway_or_the_plan_unarchives_the_list() -> None:
    lists = {"L2": True, "L5": True}
    cards = {"k1": card("k1", "L1", closed=True), "k2": card("k2", "L1")}
    changes: list[Change] = [
        # An archived card moved (not unarchived), and one the plan archives: hidden anyway.
        change("move_card_to_list", "k1", "L2", "L1", value_name="Review"),
        change("move_card_to_list", "k2", "L2", "L1", value_name="Review"),
        change("set_card_closed", "k2", True, "L1"),
        # Into a list the plan unarchives itself.
        change("set_list_closed", "", False, "L5", list_name="Shelf"),
        change("move_card_to_list", "k3", "L5", "L1", value_name="Shelf"),
        # An archive of a list, a field: not a card put back.
        change("set_list_closed", "", True, "L1"),
        change("set_card_field", "k2", "text"),
        Change("m1", "add_member_to_card", "B1", "Team", MemberRef("m1"), card_id="k2"),
    ]
    assert archived_targets(changes, lists, cards) == []


def test_an_unarchive_reads_the_list_the_card_is_in_now_and_names_an_unknown_one_by_id() -> None:
    """The live read may find the card in another list than the plan's; a card moved and
    unarchived goes by its move; no names: the list's and the board's ids."""
    changes: list[Change] = [
        change("set_card_closed", "k1", False, "L1", list_name="Doing", board_name=""),
        change("move_card_to_list", "k2", "L7", "L1", board_name=""),
        change("set_card_closed", "k2", False, "L1", board_name=""),
        change("set_card_closed", "gone", False, "L7", list_name="", board_name=""),
    ]
    cards = {"k1": card("k1", "L7"), "k2": card("k2", "L1", closed=True)}
    got = archived_targets(changes, {"L1": True, "L7": True}, cards)
    assert len(got) == 1
    assert got[0].startswith("list L7 on board B1 is archived now: the 3 cards moved back")


def test_plan_warnings_read_the_lists_archive_state_from_the_plans_state() -> None:
    move = change("move_card_to_list", "k1", "L2", "L1", value_name="Review")
    plan = Plan(PlanOptions(since=T2), (move,), (), ())
    board = BoardState("B1", "Team", {}, {"L1": "Doing", "L2": "Review"}, {"L2": True})
    assert len(plan_warnings(plan, State({"B1": board}, {"k1": card("k1", "L1")}))) == 1
    board = BoardState("B1", "Team", {}, {"L1": "Doing", "L2": "Review"}, {})
    assert plan_warnings(plan, State({"B1": board}, {"k1": card("k1", "L1")})) == []


def test_the_apply_counts_the_cards_it_moves_and_says_a_list_archived_after_the_plan() -> None:
    """R22 G22.1: the apply counted every card move of the plan into the list, the drifted
    ones too, and said its archiving was "before --since, or left out by the filters" when it
    happened after the plan was made. It counts those it moves (a dry run: would), and those
    an earlier run of the plan did, apart; a plan whose warnings name the list found it
    archived (the reason as the plan's)."""
    moves = {
        k: change("move_card_to_list", k, "L2", "L1", value_name="Review", expected="L1")
        for k in ("k1", "k2", "k3", "k4", "k5")
    }
    # k1 and k5 in the plan's list (moved now), k2 moved elsewhere since (drifted), k3 moved
    # by an earlier run, k4 put there by someone else (already satisfied: not this apply's).
    where = {"k1": "L1", "k2": "L3", "k3": "L2", "k4": "L2", "k5": "L1"}
    live = {
        "B1": LiveBoard(
            "B1",
            {k: card(k, lst) for k, lst in where.items()},
            lists={"L1": False, "L2": True, "L3": False},
        )
    }
    plan = Plan(
        PlanOptions(since=T2, restore=frozenset({"archived", "list"})),
        tuple(moves.values()),
        (),
        (),
    )
    meta = PlanMeta("0.1.0", T2 + timedelta(hours=1), "http://x/1", None, (), "api")
    todo = [moves[k] for k in ("k1", "k2", "k4", "k5")]
    [got] = apply_warnings(plan, meta, todo, [moves["k3"]], live, set())
    assert got == (
        'list "Review" on board "Team" is archived now: the 3 cards moved back or unarchived '
        "into it (1 of them by an earlier run of the plan) stay hidden until it is unarchived; "
        "it was archived since this plan was made at 2025-03-04 10:00:00 UTC: unarchive it in "
        "Trello to show them"
    )
    # A killed run's write found made counts as an earlier run's too; the plan saw the list
    # archived (its warnings name it): the plan's reason.
    said = 'list "Review" on board "Team" is archived now: the 4 cards … (plan time)'
    meta = PlanMeta("0.1.0", T2, "http://x/1", None, (), "api", warnings=(said,))
    resumed = {moves["k3"].change_id}
    [got] = apply_warnings(plan, meta, [moves["k1"], moves["k3"]], [], live, resumed)
    assert got == (
        'list "Review" on board "Team" is archived now: the 2 cards moved back or unarchived '
        "into it (1 of them by an earlier run of the plan) stay hidden until it is unarchived; "
        "its archiving is not in this plan (before --since, or left out by the filters): "
        "unarchive it in Trello"
    )


# -------------------------------------------------------------------------- over the CLI

WARNING = (
    'Warning: list "Doing" on board "Team" is archived now: the 2 cards moved back or '
    "unarchived into it stay hidden until it is unarchived"
)


def damaged(archive_doing: bool = True) -> SmallWorld:
    """ana moves ``c2`` from Doing to Done and archives ``c1`` (in Doing); then the lead
    archives Doing (``archive_doing``)."""
    sw = make_world()
    w, ids = sw.world, sw.ids
    w.move_card_to_list(ids["c2"], ids["done"], ids["ana"], T2 + timedelta(minutes=1))
    w.set_card_closed(ids["c1"], True, ids["ana"], T2 + timedelta(minutes=2))
    if archive_doing:
        w.set_list_closed(ids["doing"], True, ids["lead"], T2 + timedelta(minutes=3))
    return sw


def warned(stderr: str) -> list[str]:
    return [x for x in stderr.splitlines() if x.startswith('Warning: list "Doing"')]


def test_the_plan_and_the_apply_warn_once_each_and_exit_0(
    sandbox_factory: SandboxFactory, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    sb = sandbox_factory(damaged(), time_scale=100)
    invoke = sandbox_cli(sb, monkeypatch)
    plan_file, log = tmp_path / "plan.json", tmp_path / "run.log"
    since = ("--since", T2.isoformat())
    r = invoke(
        *("--board", "Team", *since, "--restore", "archived,list", "--by", "ana"),
        *("--dry-run", "--plan-out", str(plan_file)),
    )
    assert r.exit_code == 0, r.output
    [line] = warned(r.stderr)
    assert line.startswith(WARNING)
    # --restore archived: the lead's archiving was left out by --by ana.
    assert line.endswith(
        "its archiving is not in this plan (before --since, or left out by "
        "the filters): unarchive it in Trello"
    )
    assert json.loads(plan_file.read_text())["warnings"] == [line.removeprefix("Warning: ")]

    applied = invoke("--log-file", str(log), "apply", str(plan_file))
    assert applied.exit_code == 0, applied.output
    assert warned(applied.stderr) == [line]
    assert line.removeprefix("Warning: ") in log.read_text()
    assert sb.world.lists[sb.ids["doing"]].closed  # a warning only: the list is left archived

    # Without --by the plan unarchives Doing itself (the lead's archive is in the window).
    r = invoke("--board", "Team", *since, "--restore", "archived,list", "--dry-run")
    assert r.exit_code == 0, r.output
    assert "restore the archive state of lists (1)" in r.stdout
    assert warned(r.stderr) == []


def test_the_apply_warns_from_its_live_read_of_a_list_archived_after_the_plan(
    sandbox_factory: SandboxFactory, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    sb = sandbox_factory(damaged(archive_doing=False), time_scale=100)
    invoke = sandbox_cli(sb, monkeypatch)
    plan_file = tmp_path / "plan.json"
    plan_args = ("--board", "Team", "--since", T2.isoformat(), "--restore", "archived,list")
    r = invoke(*plan_args, "--by", "ana", "--dry-run", "--plan-out", str(plan_file))
    assert r.exit_code == 0, r.output
    assert warned(r.stderr) == []
    sb.world.set_list_closed(sb.ids["doing"], True, sb.ids["lead"], T2 + timedelta(hours=1))
    dry = invoke("apply", str(plan_file), "--dry-run")
    assert dry.exit_code == 0, dry.output
    [line] = warned(dry.stderr)
    assert line.startswith(WARNING)
    # Not "before --since, or left out by the filters": the plan saw the list open.
    made = json.loads(plan_file.read_text())["created_at"]
    assert re.search(
        rf"; it was archived since this plan was made at {made[:10]} [0-9:]+ UTC: unarchive it "
        "in Trello to show them$",
        line,
    )
    # The one-step run: its plan says it (from the state it read); its apply's live read
    # finds the same, which is not said twice.
    once = invoke(*plan_args, "--by", "ana", "--yes")
    assert once.exit_code == 0, once.output
    [line] = warned(once.stderr)
    assert line.startswith(WARNING)
    assert line.endswith("(before --since, or left out by the filters): unarchive it in Trello")


def test_the_board_warnings_count_in_words() -> None:
    """R50d: singular and plural of the closed-board and board-grant warnings (one change
    "is on it"; two members "were … and are not now"), from a plan of literal changes."""
    when = datetime(2025, 11, 2, tzinfo=UTC)
    ann, bob, lead = (MemberRef(m, m) for m in ("ann", "bob", "lead"))
    removal = Evidence("recorded_removal", "a1", when, lead)

    def grant(board: str, m: MemberRef) -> Change:
        return Change(f"g-{board}-{m.id}", "add_member_to_board", board, board.upper(), m)

    def card(board: str, m: MemberRef) -> Change:
        return Change(f"c-{board}-{m.id}", "add_member_to_card", board, board.upper(), m,
                      card_id=f"k-{board}", evidence=removal)  # fmt: skip

    changes = (grant("b1", ann), grant("b1", bob), card("b1", ann), card("b1", bob),
               grant("b2", ann), card("b2", ann))  # fmt: skip
    plan = Plan(PlanOptions(since=when), changes, (), ())
    state = State({"b2": BoardState("b2", "B2", {}, closed=True)}, {})
    closed, *grants = plan_warnings(plan, state)
    assert closed.startswith('board "B2" (b2) is closed (archived): 2 changes of this plan are on')
    assert grants == [
        '@ann, @bob were on board "B1" (b1) when taken off cards there without a '
        "move, and are not now (taken off the board, or left it, since): --add-to-board puts "
        "them back on it; leave it off, or narrow the plan (--removed-by, --card), if that was "
        "meant",
        '@ann was on board "B2" (b2) when taken off cards there without a move, and is '
        "not now (taken off the board, or left it, since): --add-to-board puts them back on "
        "it; leave it off, or narrow the plan (--removed-by, --card), if that was meant",
    ]
    one = Plan(PlanOptions(since=when), (card("b2", bob),), (), ())
    (said,) = plan_warnings(one, state)
    assert said.startswith('board "B2" (b2) is closed (archived): 1 change of this plan is on it')
