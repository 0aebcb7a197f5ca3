"""The planner's rules (design.md §3) as small tables of literal actions.

Beside the ground-truth comparisons (``test_planner.py``), each row here is a handful of actions
on one or two cards with short ids (``c1``, ``m1``, ``r1``) and the decisions the planner must
make of them, written as one string each::

    "add c1 m1 recorded_removal r1"       a planned card change: card, member, evidence kind, id
    "blocked c1 m3 recorded_removal r1"   the same, blocked (not a member of the card's board)
    "grant b1 m3 normal"                  a planned board membership (--add-to-board)
    "skip c1 m1 re_added_later r1"        a skipped candidate: its reason and action

Times are minutes from the cutoff ``T`` (``--since``): negative is before the window.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from trello_restore.errors import UsageError
from trello_restore.models import (
    BoardState,
    CardInfo,
    CardState,
    History,
    MemberAction,
    MemberRef,
    Membership,
    MoveAction,
    Plan,
    PlanOptions,
    State,
)
from trello_restore.planner import (
    build_plan,
    cards_in_scope,
    change_id,
    resolve_filters,
    undated_losses,
)
from trello_restore.planner_values import authors_named

#: The cutoff (``--since``).
T = datetime(2025, 11, 2, 12, 0, tzinfo=UTC)


def at(minutes: float) -> datetime:
    return T + timedelta(minutes=minutes)


def add(aid: str, member: str, minute: float, card: str = "c1", by: str = "lead") -> MemberAction:
    """``addMemberToCard`` on board b1's feed."""
    return MemberAction(aid, "add", at(minute), card, member, by, "b1")


def rem(
    aid: str,
    member: str,
    minute: float,
    card: str = "c1",
    by: str = "lead",
    *,
    deactivated: bool = False,
    board: str = "b1",
) -> MemberAction:
    """``removeMemberFromCard`` (``data.deactivated`` as given) on ``board``'s feed."""
    return MemberAction(aid, "remove", at(minute), card, member, by, board, deactivated)


def move_list(
    aid: str, lst: str, minute: float, by: str = "lead", src: str = "b1", dst: str = "b2"
) -> MoveAction:
    return MoveAction(aid, "moveListToBoard", at(minute), by, None, lst, src, dst)


def move_card(
    aid: str, card: str, minute: float, by: str = "lead", src: str = "b1", dst: str = "b2"
) -> MoveAction:
    return MoveAction(aid, "moveCardToBoard", at(minute), by, card, None, src, dst)


def card(cid: str = "c1", *members: str, board: str = "b1", lst: str = "l1") -> CardState:
    return CardState(cid, cid.upper(), f"{cid}-link", board, lst, False, members)


def board(
    bid: str = "b1",
    members: str = "lead m1 m2",
    *,
    lists: Mapping[str, str] | None = None,
    deactivated: str = "",
    unconfirmed: str = "",
) -> BoardState:
    """A board whose active members are ``members`` (space-separated ids), plus deactivated and
    unconfirmed ones."""
    ms = {m: Membership(m, "normal") for m in members.split()}
    ms |= {m: Membership(m, "normal", deactivated=True) for m in deactivated.split()}
    ms |= {m: Membership(m, "normal", unconfirmed=True) for m in unconfirmed.split()}
    names = {"l1": "Doing", "l2": "Done"} if lists is None else dict(lists)
    return BoardState(bid, bid.upper(), ms, names)


def history(
    actions: Iterable[MemberAction],
    moves: Iterable[MoveAction] = (),
    card_lists: Iterable[tuple[datetime, str, str]] = (),
    cards: Iterable[CardInfo] = (),
    members: Iterable[MemberRef] = (),
) -> History:
    return History(
        member_actions=tuple(sorted(actions, key=lambda a: (a.date, a.id))),
        moves=tuple(sorted(moves, key=lambda m: (m.date, m.id))),
        deleted_cards={},
        card_lists=tuple(sorted(card_lists)),
        cards={c.id: c for c in cards},
        members={m.id: m for m in members},
    )


def state(*items: CardState | BoardState) -> State:
    return State(
        boards={b.id: b for b in items if isinstance(b, BoardState)},
        cards={c.id: c for c in items if isinstance(c, CardState)},
    )


def plan(
    actions: Iterable[MemberAction],
    now: State | None = None,
    *,
    moves: Iterable[MoveAction] = (),
    card_lists: Iterable[tuple[datetime, str, str]] = (),
    named: Iterable[str] | None = None,
    incomplete: Iterable[str] = (),
    **options: Any,
) -> Plan:
    """Plan ``actions`` against ``now`` (default: card c1 with nobody on it, on board b1)."""
    return build_plan(
        history(actions, moves, card_lists),
        now if now is not None else state(card("c1"), board()),
        PlanOptions(since=T, **options),
        incomplete=frozenset(incomplete),
        named_boards=None if named is None else frozenset(named),
    )


def decisions(p: Plan) -> set[str]:
    """Every decision of the plan, one string each (see the module's docstring)."""

    def change(c: Any) -> str:
        return f"{c.card_id} {c.member.id} {c.evidence.kind} {c.evidence.action_id}"

    return (
        {f"add {change(c)}" for c in p.card_changes()}
        | {f"grant {c.board_id} {c.member.id} {c.role}" for c in p.board_changes()}
        | {f"blocked {change(b.change)}" for b in p.blocked}
        | {f"skip {s.card_id} {s.member.id} {s.reason} {s.action_id}" for s in p.skipped}
    )


# ------------------------------------------------------------------- skip reasons, one each


@pytest.mark.parametrize(
    ("actions", "on_card", "options", "expected"),
    [
        pytest.param(
            [add("a1", "m1", -60), rem("r1", "m1", 1)], (), {},
            {"add c1 m1 recorded_removal r1"}, id="planned"),
        pytest.param(
            [add("a1", "m1", -60), rem("r1", "m1", 1)], ("m1",), {},
            {"skip c1 m1 already_on_card r1"}, id="already_on_card"),
        pytest.param(
            [add("a1", "m1", -60), rem("r1", "m1", 1), add("a2", "m1", 2)], (), {},
            {"skip c1 m1 re_added_later r1", "add c1 m1 reconstructed a2"},
            id="re_added_later: and gone since the add, a silent loss"),
        pytest.param(
            [rem("r1", "m1", 1), rem("r2", "m1", 2)], (), {},
            {"skip c1 m1 removed_again_later r1", "add c1 m1 recorded_removal r2"},
            id="removed_again_later: the later removal counts"),
        pytest.param(
            [rem("r1", "m1", 1, by="m2")], (), {"removed_by": "lead"},
            {"skip c1 m1 filtered r1"}, id="filtered: --removed-by someone else"),
        pytest.param(
            [rem("r1", "m1", 1, deactivated=True)], (), {},
            {"skip c1 m1 deactivated r1"}, id="deactivated: the removal says so"),
        pytest.param(
            [rem("r1", "m1", -5)], (), {},
            {"skip c1 m1 outside_window r1"}, id="outside_window: before --since"),
        pytest.param(
            [rem("r1", "m1", 10)], (), {"until": at(10)},
            {"skip c1 m1 outside_window r1"}, id="outside_window: --until is exclusive"),
        pytest.param(
            [rem("r1", "m1", 0)], (), {"until": at(10)},
            {"add c1 m1 recorded_removal r1"}, id="--since is inclusive"),
    ],
)  # fmt: skip
def test_each_skip_reason(
    actions: list[MemberAction],
    on_card: tuple[str, ...],
    options: dict[str, Any],
    expected: set[str],
) -> None:
    """A removal is planned, or skipped with the reason design.md §3 gives."""
    assert decisions(plan(actions, state(card("c1", *on_card), board()), **options)) == expected


def test_a_deleted_card_skips_every_removal_whatever_else_applies() -> None:
    """card_deleted comes first: also for removals outside the window or filtered out, and
    nothing is reconstructed on a card that is gone."""
    actions = [add("a1", "m1", -60), rem("r0", "m2", -5), rem("r1", "m1", 1, by="m2")]
    got = plan(actions, state(board()), removed_by="lead")
    assert decisions(got) == {"skip c1 m2 card_deleted r0", "skip c1 m1 card_deleted r1"}


def test_a_deleted_card_is_named_as_the_actions_last_named_it() -> None:
    """The skipped entry of a deleted card carries the name the history knows (or none)."""
    h = history(
        [rem("r1", "m1", 1), rem("r2", "m1", 1, card="c9")], cards=[CardInfo("c1", "Old name")]
    )
    got = build_plan(h, state(board()), PlanOptions(since=T))
    assert [(s.card_id, s.card_name) for s in got.skipped] == [("c9", ""), ("c1", "Old name")]


# ---------------------------------------------------------------- precedence between reasons


@pytest.mark.parametrize(
    ("actions", "on_card", "options", "expected"),
    [
        pytest.param(  # on the card now, and re-added, removed again, filtered, out of window
            [rem("r1", "m1", -5, by="m2", deactivated=True), add("a2", "m1", 2),
             rem("r2", "m1", 3), add("a3", "m1", 4)], ("m1",), {"removed_by": "lead"},
            {"skip c1 m1 already_on_card r1", "skip c1 m1 already_on_card r2"},
            id="already_on_card before re_added_later"),
        pytest.param(
            [rem("r1", "m1", 1, by="m2"), add("a2", "m1", 2), rem("r2", "m1", 3)], (),
            {"removed_by": "lead"},
            {"skip c1 m1 re_added_later r1", "add c1 m1 recorded_removal r2"},
            id="re_added_later before removed_again_later and filtered"),
        pytest.param(
            [rem("r1", "m1", 1, by="m2", deactivated=True), rem("r2", "m1", 2)], (),
            {"removed_by": "lead"},
            {"skip c1 m1 removed_again_later r1", "add c1 m1 recorded_removal r2"},
            id="removed_again_later before filtered"),
        pytest.param(
            [rem("r1", "m1", -9), rem("r2", "m1", -5)], (), {},
            {"skip c1 m1 removed_again_later r1", "skip c1 m1 outside_window r2"},
            id="removed_again_later before outside_window, both before the window"),
        pytest.param(
            [rem("r1", "m1", -5, by="m2", deactivated=True)], (), {"removed_by": "lead"},
            {"skip c1 m1 filtered r1"}, id="filtered before deactivated"),
        pytest.param(
            [rem("r1", "m1", -5, deactivated=True)], (), {},
            {"skip c1 m1 deactivated r1"}, id="deactivated before outside_window"),
    ],
)  # fmt: skip
def test_the_first_reason_in_order_is_recorded(
    actions: list[MemberAction],
    on_card: tuple[str, ...],
    options: dict[str, Any],
    expected: set[str],
) -> None:
    """When several reasons apply, the first of SKIP_ORDER is the one recorded."""
    assert decisions(plan(actions, state(card("c1", *on_card), board()), **options)) == expected


# --------------------------------------------------------------------------- evidence kinds


@pytest.mark.parametrize(
    ("actions", "on_card", "options", "expected"),
    [
        pytest.param(
            [add("a1", "m1", -60), add("a2", "m2", -50)], ("m2",), {},
            {"add c1 m1 reconstructed a1"}, id="reconstructed: on the card at the cutoff, gone"),
        pytest.param(
            [add("a1", "m1", -60), rem("r0", "m1", -50), add("a2", "m1", -40)], (), {},
            {"skip c1 m1 re_added_later r0", "add c1 m1 reconstructed a2"},
            id="reconstructed: the add that put them there last"),
        pytest.param(
            [add("a1", "m1", -60), rem("r0", "m1", -50)], (), {},
            {"skip c1 m1 outside_window r0"},
            id="removed before the cutoff: not brought back"),
        pytest.param(
            [add("a1", "m1", 5)], (), {}, {"add c1 m1 reconstructed a1"},
            id="added after the cutoff, gone since: a silent loss"),
        pytest.param(
            [add("a1", "m1", -60), rem("r1", "m1", 1), add("a2", "m1", 2),
             add("a3", "m2", 3), rem("r2", "m2", 4)], (), {"only_recorded": True},
            {"skip c1 m1 re_added_later r1", "skip c1 m1 filtered a2",
             "add c1 m2 recorded_removal r2"},
            id="re-added and gone: --only-recorded leaves it out"),
        pytest.param(
            [add("a1", "m1", -60), add("a2", "m1", 5)], (), {},
            {"add c1 m1 reconstructed a1"},
            id="on the card at the cutoff and added again since: the add before the cutoff"),
        pytest.param(
            [add("a0", "lead", -70), add("a1", "m1", -60), add("a2", "m2", -50),
             rem("r0", "m2", -40)], ("lead",),
            {"mode": "ever-added"},
            {"add c1 m1 ever_added a1", "add c1 m2 ever_added a2"},
            id="ever-added: everyone ever added who is not on the card, once"),
        pytest.param(
            [add("a1", "m1", -60), rem("r0", "m1", -50), add("a2", "m1", -40),
             rem("r1", "m1", -30), add("a3", "m2", -60), rem("r2", "m2", -50),
             add("a4", "m3", -60), rem("r3", "m3", -50)], ("m3",),
            {"mode": "ever-added", "cards": frozenset({"c9"})},
            {"skip c1 m1 filtered a2", "skip c1 m2 filtered a3",
             "skip c1 m3 already_on_card r3"},
            id="ever-added: a member gone is skipped once, by the last add; one on the card "
            "keeps their removal's skip"),
        pytest.param(
            [add("a1", "m1", -60), add("a2", "m2", -60), rem("r1", "m2", 1)], (),
            {"mode": "ever-added"},
            {"add c1 m2 recorded_removal r1", "add c1 m1 reconstructed a1"},
            id="ever-added: a card with a removal in the window is planned as usual"),
    ],
)  # fmt: skip
def test_evidence_kinds(
    actions: list[MemberAction],
    on_card: tuple[str, ...],
    options: dict[str, Any],
    expected: set[str],
) -> None:
    """Recorded removals, silent losses (reconstructed) and the ever-added fallback."""
    assert decisions(plan(actions, state(card("c1", *on_card), board()), **options)) == expected


@pytest.mark.parametrize(
    ("actions", "options", "warned"),
    [
        pytest.param([add("a1", "m1", -60)], {}, None, id="no --until: nothing to warn of"),
        pytest.param([rem("r1", "m1", 1)], {"until": at(5)}, None, id="recorded only"),
        pytest.param([add("a1", "m1", -60)], {"until": at(5)}, "1 change is a loss", id="one"),
        pytest.param([add("a1", "m1", -60), add("a2", "m2", -60)], {"until": at(5)},
                     "2 changes are losses", id="two"),
        pytest.param([add("a1", "m1", -60), add("a2", "m2", -60), add("a3", "m9", -60)],
                     {"until": at(5)}, "2 changes and 1 blocked change are losses",
                     id="blocked said apart"),
        pytest.param([add("a3", "m9", -60)], {"until": at(5)}, "1 blocked change is a loss",
                     id="blocked alone"),
        pytest.param([add("a1", "m1", -60)], {"until": at(60 * 24)}, None,
                     id="--until from now on: nothing has happened after it"),
    ],
)  # fmt: skip
def test_until_warns_of_the_silent_losses_it_cannot_leave_out(
    actions: list[MemberAction], options: dict[str, Any], warned: str | None
) -> None:
    """Silent losses have no date, so an ``--until`` before now cannot leave out those after
    it: a plan holding any says so, its changes and blocked changes counted apart (R43d,
    R43g)."""
    got = undated_losses(plan(actions, **options), now=at(60))
    assert [w.split(" Trello")[0] for w in got] == ([warned] if warned else [])


def test_an_id_names_its_member_even_one_known_only_as_an_actor() -> None:
    """``--by``/``--removed-by`` given an id name that member only, when a member listing
    names it or the history shows them acting (R43f, R43g); a value no one has as an id is a
    username, matching each member who has it."""
    hexid, other = "a" * 24, "m2"
    members = {other: MemberRef(other, username=hexid), "m3": MemberRef("m3", username="sam")}
    acted = history([rem("r1", "m1", 1, by=hexid)])
    quiet = history([rem("r1", "m1", 1)])
    assert authors_named(None, members, acted) is None
    assert authors_named(hexid, members, acted) == frozenset({hexid})
    assert authors_named(hexid, {**members, hexid: MemberRef(hexid)}, quiet) == frozenset({hexid})
    assert authors_named(hexid, members, quiet) == frozenset({hexid, other})
    assert authors_named("sam", members, quiet) == frozenset({"sam", "m3"})


def test_a_recorded_change_carries_its_evidence() -> None:
    """The evidence names the removal, when, who made it, and the move it came with."""
    got = plan([rem("r1", "m1", 1)], moves=[move_list("mv1", "l1", 1.5)])
    (change,) = got.changes
    assert change.evidence is not None
    assert (change.evidence.action_id, change.evidence.date, change.evidence.by.id) == (
        "r1",
        at(1),
        "lead",
    )
    assert change.evidence.move_action_id == "mv1"
    assert (change.list_id, change.list_name, change.card_short_link) == ("l1", "Doing", "c1-link")
    assert change.change_id == change_id("add_member_to_card", "c1", "m1", "r1")


def test_incomplete_history_plans_only_recorded_removals() -> None:
    """A card whose history is cut gets no reconstructed or ever-added change, and is listed."""
    actions = [add("a1", "m1", -60), add("a2", "m2", -60), rem("r1", "m2", 1)]
    for mode in ("removed", "ever-added"):
        got = plan(actions, incomplete=["c1", "c-elsewhere"], mode=mode)
        assert decisions(got) == {"add c1 m2 recorded_removal r1"}
        assert got.incomplete == ("c1",)


# ------------------------------------------------------------------------------ --cause move


@pytest.mark.parametrize(
    ("moves", "card_lists", "expected"),
    [
        pytest.param([move_list("mv1", "l1", 1.5)], [], "mv1", id="its list moved"),
        pytest.param([move_card("mv1", "c1", 0.9)], [], "mv1", id="the card moved 6 s before"),
        pytest.param([move_card("mv1", "c1", 0)], [], "mv1", id="60 s before: still coincides"),
        pytest.param([move_card("mv1", "c1", 2)], [], "mv1", id="60 s after: still coincides"),
        pytest.param([move_card("mv1", "c1", 2.1)], [], None, id="66 s after: too late"),
        pytest.param([move_card("mv1", "c1", -0.1)], [], None, id="66 s before: too early"),
        pytest.param([move_list("mv1", "l2", 1)], [], None, id="another list moved"),
        pytest.param([move_card("mv1", "c9", 1)], [], None, id="another card moved"),
        pytest.param([move_list("mv1", "l1", 1, by="m2")], [], None, id="someone else moved it"),
        pytest.param(
            [move_list("mv1", "l1", 1.5), move_card("mv2", "c1", 1.2), move_card("mv3", "c1", 0)],
            [], "mv2", id="the nearest move counts"),
        pytest.param(
            [move_list("mv2", "l1", 1.5), move_card("mv1", "c1", 0.5)], [], "mv1",
            id="two as near: the earlier"),
        pytest.param(
            [move_card("mv2", "c1", 1.5), move_list("mv1", "l1", 1.5)], [], "mv1",
            id="two at once: the first in the history's order"),
        pytest.param(  # the card went from l1 to l2 before the removal; l2 moved
            [move_list("mv1", "l1", 1.5), move_list("mv2", "l2", 1.5)],
            [(at(-100), "c1", "l1"), (at(0), "c1", "l2"), (at(5), "c1", "l1")], "mv2",
            id="the list the card was in at the removal"),
        pytest.param(
            [move_list("mv1", "l1", 1.5)], [(at(-100), "c1", "l2")], None,
            id="not the list it is in now"),
    ],
)  # fmt: skip
def test_cause_move(
    moves: list[MoveAction], card_lists: list[tuple[datetime, str, str]], expected: str | None
) -> None:
    """--cause move keeps a removal when the remover moved the card, or its list, within 60 s."""
    got = plan([rem("r1", "m1", 1)], moves=moves, card_lists=card_lists, cause="move")
    if expected is None:
        assert decisions(got) == {"skip c1 m1 filtered r1"}
    else:
        assert decisions(got) == {"add c1 m1 recorded_removal r1"}
        assert got.changes[0].evidence is not None
        assert got.changes[0].evidence.move_action_id == expected


def test_without_cause_the_coinciding_move_is_still_named() -> None:
    """The move is evidence even when --cause is not given; no move: None."""
    got = plan([rem("r1", "m1", 1), rem("r2", "m2", 30)], moves=[move_card("mv1", "c1", 1)])
    assert {c.member.id: c.evidence.move_action_id for c in got.changes if c.evidence} == {
        "m1": "mv1",
        "m2": None,
    }


class _CountedDate(datetime):
    """A date that counts the subtractions and comparisons made with it."""

    used = 0

    def __sub__(self, other: Any) -> Any:
        _CountedDate.used += 1
        return super().__sub__(other)

    def __lt__(self, other: Any) -> bool:
        _CountedDate.used += 1
        return super().__lt__(other)

    def __le__(self, other: Any) -> bool:
        _CountedDate.used += 1
        return super().__le__(other)


def test_the_move_of_a_removal_is_found_without_a_scan_of_every_move() -> None:
    """The mover moved one list 200 times (every 2 minutes), and each of the list's 200
    cards lost a member 15 s after one of them: each removal names its own move, and finding
    it takes a few date comparisons (binary searches among the mover's moves of that list),
    not one per move the mover made (40,000 in all: seconds on a large board)."""

    def counted(minute: float) -> _CountedDate:
        return _CountedDate.fromisoformat(at(minute).isoformat())

    n = 200
    cards = [f"c{i}" for i in range(n)]
    moves = [
        MoveAction(f"mv{i:03d}", "moveListToBoard", counted(2 * i), "lead", None, "l1", "b2", "b1")
        for i in range(n)
    ]
    removals = [
        replace(rem(f"r{i:03d}", "m1", 0, card=c), date=counted(2 * i + 0.25))
        for i, c in enumerate(cards)
    ]
    _CountedDate.used = 0
    got = plan(removals, state(board(), *(card(c) for c in cards)), moves=moves)
    assert {(c.card_id, c.evidence.move_action_id) for c in got.changes if c.evidence} == {
        (c, f"mv{i:03d}") for i, c in enumerate(cards)
    }
    assert _CountedDate.used <= 40 * n  # 21 a removal; a scan: 200


# ----------------------------------------------------------------------------- the filters


@pytest.mark.parametrize(
    ("options", "expected"),
    [
        pytest.param({}, {"add c1 m1 recorded_removal r1", "add c1 m2 reconstructed a2"},
                     id="no filter"),
        pytest.param({"removed_by": "lead"},
                     {"add c1 m1 recorded_removal r1", "add c1 m2 reconstructed a2"},
                     id="--removed-by id: a silent loss stays"),
        pytest.param({"removed_by": "leader"},
                     {"add c1 m1 recorded_removal r1", "add c1 m2 reconstructed a2"},
                     id="--removed-by username"),
        pytest.param({"removed_by": "m2"},
                     {"skip c1 m1 filtered r1", "add c1 m2 reconstructed a2"},
                     id="--removed-by another member"),
        pytest.param({"cause": "move"},
                     {"skip c1 m1 filtered r1", "add c1 m2 reconstructed a2"},
                     id="--cause move: a silent loss stays"),
        pytest.param({"only_recorded": True},
                     {"add c1 m1 recorded_removal r1", "skip c1 m2 filtered a2"},
                     id="--only-recorded"),
        pytest.param({"lists": frozenset({"Doing"})},
                     {"add c1 m1 recorded_removal r1", "add c1 m2 reconstructed a2"},
                     id="--list by name"),
        pytest.param({"lists": frozenset({"l1"})},
                     {"add c1 m1 recorded_removal r1", "add c1 m2 reconstructed a2"},
                     id="--list by id"),
        pytest.param({"lists": frozenset({"Done"})},
                     {"skip c1 m1 filtered r1", "skip c1 m2 filtered a2"},
                     id="--list another list"),
        pytest.param({"cards": frozenset({"c1-link"})},
                     {"add c1 m1 recorded_removal r1", "add c1 m2 reconstructed a2"},
                     id="--card by shortLink"),
        pytest.param({"cards": frozenset({"c1"})},
                     {"add c1 m1 recorded_removal r1", "add c1 m2 reconstructed a2"},
                     id="--card by id"),
        pytest.param({"cards": frozenset({"c2"})},
                     {"skip c1 m1 filtered r1", "skip c1 m2 filtered a2"},
                     id="--card another card"),
    ],
)  # fmt: skip
def test_filters(options: dict[str, Any], expected: set[str]) -> None:
    """Each filter narrows recorded removals; --removed-by and --cause leave silent losses."""
    actions = [add("a1", "m1", -60), add("a2", "m2", -60), rem("r1", "m1", 1)]
    h = history(actions, members=[MemberRef("lead", "leader")])
    got = build_plan(h, state(card("c1"), board()), PlanOptions(since=T, **options))
    assert decisions(got) == expected


def test_a_list_name_is_compared_in_nfc() -> None:
    """--list "Café" typed decomposed matches the list Trello stores composed."""
    now = state(card("c1"), board(lists={"l1": "Caf\u00e9"}))
    got = plan([rem("r1", "m1", 1)], now, lists=frozenset({"Cafe\u0301"}))
    assert decisions(got) == {"add c1 m1 recorded_removal r1"}


def test_names_from_listings_fill_in_what_actions_lack() -> None:
    """``members`` (board listings) adds usernames; a name only the actions carry is kept."""
    h = history([rem("r1", "m1", 1)], members=[MemberRef("m1", "", "Em One")])
    extra = {"m1": MemberRef("m1", "emone"), "lead": MemberRef("lead", "leader", "The Lead")}
    got = build_plan(
        h, state(card("c1"), board()), PlanOptions(since=T, removed_by="leader"), extra
    )
    (change,) = got.changes
    assert change.member == MemberRef("m1", "emone", "Em One")
    assert change.evidence is not None
    assert change.evidence.by == MemberRef("lead", "leader", "The Lead")


# ---------------------------------------------------------------------- board membership


@pytest.mark.parametrize(
    ("now", "options", "expected"),
    [
        pytest.param(
            board("b1", "lead m1"), {},
            {"add c1 m1 recorded_removal r1", "blocked c2 m3 recorded_removal r3",
             "blocked c1 m3 recorded_removal r2"},
            id="not a board member: blocked"),
        pytest.param(
            board("b1", "lead m1"), {"add_to_board": True},
            {"grant b1 m3 normal", "add c1 m1 recorded_removal r1",
             "add c1 m3 recorded_removal r2", "add c2 m3 recorded_removal r3"},
            id="--add-to-board: one grant per board and member"),
        pytest.param(
            board("b1", "lead m1"), {"add_to_board": True, "board_role": "observer"},
            {"grant b1 m3 observer", "add c1 m1 recorded_removal r1",
             "add c1 m3 recorded_removal r2", "add c2 m3 recorded_removal r3"},
            id="--board-role observer"),
        pytest.param(
            board("b1", "lead m1", unconfirmed="m3"), {},
            {"add c1 m1 recorded_removal r1", "blocked c2 m3 recorded_removal r3",
             "blocked c1 m3 recorded_removal r2"},
            id="an unconfirmed member is not a board member"),
        pytest.param(
            board("b1", "lead m1", deactivated="m3"), {"add_to_board": True},
            {"add c1 m1 recorded_removal r1", "skip c1 m3 deactivated r2",
             "skip c2 m3 deactivated r3"},
            id="deactivated: never planned, never granted"),
    ],
)  # fmt: skip
def test_board_membership(now: BoardState, options: dict[str, Any], expected: set[str]) -> None:
    """Trello lets only board members be card members: blocked, or granted when asked."""
    actions = [rem("r1", "m1", 1), rem("r2", "m3", 1), rem("r3", "m3", 1, card="c2")]
    got = plan(actions, state(card("c1"), card("c2"), now), **options)
    assert decisions(got) == expected
    grants = [c.action == "add_member_to_board" for c in got.changes]
    assert grants == sorted(grants, reverse=True), "grants come first"


def test_a_deactivated_member_is_not_reconstructed() -> None:
    """A silent loss of a member deactivated on any board is skipped as deactivated."""
    now = state(card("c1"), board("b1", "lead m1"), board("b2", "lead", deactivated="m1"))
    assert decisions(plan([add("a1", "m1", -60)], now)) == {"skip c1 m1 deactivated a1"}


def test_changes_are_ordered_for_review() -> None:
    """Grants first (by board name), then by board, list and card name, then member."""
    now = state(
        card("c2", lst="l1"), card("c1", lst="l2"), card("c3", board="b0"),
        board("b1", "lead m1"), board("b0", "lead m1"),
    )  # fmt: skip
    actions = [rem(f"r{c}", "m2", 1, card=c) for c in ("c1", "c2", "c3")] + [rem("r0", "m1", 1)]
    got = plan(actions, now, add_to_board=True)
    assert [(c.action[14:], c.board_id, c.card_id, c.member.id) for c in got.changes] == [
        ("board", "b0", "", "m2"),
        ("board", "b1", "", "m2"),
        ("card", "b0", "c3", "m2"),
        ("card", "b1", "c2", "m2"),  # list "Doing" before "Done"
        ("card", "b1", "c1", "m1"),
        ("card", "b1", "c1", "m2"),
    ]


def test_cards_whose_names_tie_are_ordered_by_id() -> None:
    """Two cards of one name in one list: by id, whatever order the state lists them in."""
    now = state(
        replace(card("c2"), name="Same"), replace(card("c1"), name="Same"),
        replace(card("c9"), name="Alpha"), board(),
    )  # fmt: skip
    got = plan([rem(f"r{c}", "m1", 1, card=c) for c in ("c1", "c2", "c9")], now)
    assert [c.card_id for c in got.changes] == ["c9", "c1", "c2"]


# -------------------------------------------------------------------------------- the scope


def _scope_world() -> tuple[History, State]:
    """b1 is named, b2 only followed. On b2 now: c2 (never moved), c3 (moved as a card), c4
    (in list l9 when l9 moved from b1), c5 (in l9, but put there after l9 moved), c6 (in l9,
    its places unknown), c7 (its removal was logged on b1's feed), c10 (moved between b2 and
    b3, which does not count). Deleted: c8 (last seen on b1), c9 (last seen on b2)."""
    actions = [rem(f"r{i}", "m1", 1, card=f"c{i}", board="b2") for i in range(2, 11)]
    actions.append(rem("r7b", "m2", 1, card="c7", board="b1"))
    moves = [
        move_card("mv3", "c3", -30),
        move_list("mv9", "l9", -30),
        move_card("mv10", "c10", -30, src="b2", dst="b3"),
    ]
    places = [(at(-100), c, "l8") for c in ("c4", "c5")] + [
        (at(-90), "c4", "l9"),
        (at(-20), "c5", "l9"),
    ]
    h = history(
        actions,
        moves,
        places,
        cards=[CardInfo("c8", board_id="b1"), CardInfo("c9", board_id="b2")],
    )
    on_b2 = [card(f"c{i}", board="b2", lst="l7") for i in (2, 3, 7, 10)]
    on_b2 += [card(f"c{i}", board="b2", lst="l9") for i in (4, 5, 6)]
    b2 = board("b2", "lead m1 m2", lists={"l7": "Inbox", "l9": "Shelf"})
    return h, state(*on_b2, b2, board("b1", "lead m1 m2"))


def test_a_followed_boards_other_cards_are_out_of_scope() -> None:
    """Only cards that moved between a followed board and a named one are in scope."""
    h, now = _scope_world()
    moved = {"c3", "c4", "c6", "c7", "c8"}
    assert cards_in_scope(h, now, {"b1"}) == moved
    assert (
        cards_in_scope(h, now, {"b1", "b2"})
        == cards_in_scope(h, now)
        == {f"c{i}" for i in range(2, 11)}
    )
    got = build_plan(h, now, PlanOptions(since=T), named_boards={"b1"})
    assert {x.split()[1] for x in decisions(got)} == moved


def test_scope_without_list_moves() -> None:
    """With only card moves, a followed board's card is in scope only if it moved itself."""
    h, now = _scope_world()
    h = history(h.member_actions, [m for m in h.moves if m.card_id], h.card_lists, h.cards.values())
    assert cards_in_scope(h, now, {"b1"}) == {"c3", "c7", "c8"}


# ----------------------------------------------------------- filter values that match nothing


def _resolve(**options: Any) -> PlanOptions:
    h, now = _scope_world()
    h = history(
        h.member_actions,
        h.moves,
        h.card_lists,
        [*h.cards.values(), CardInfo("c8", "", "gone8", "b1")],
        [MemberRef("m1", "ana", "Ana Lima"), MemberRef("m2", "", "Ben")],
    )
    extra = {"lead": MemberRef("lead", "Leader")}
    b3 = board("b3", "lead", lists={"l3": "Elsewhere"})
    now = State({**now.boards, "b3": b3}, now.cards)
    return resolve_filters(h, now, PlanOptions(since=T, **options), extra, {"b1"})


@pytest.mark.parametrize(
    ("options", "resolved"),
    [
        pytest.param({}, {}, id="no filter"),
        pytest.param({"removed_by": "m2"}, {"removed_by": "m2"}, id="--removed-by id"),
        pytest.param({"removed_by": "ana"}, {"removed_by": "ana"}, id="--removed-by username"),
        pytest.param({"removed_by": "ANA"}, {"removed_by": "ana"}, id="username in another case"),
        pytest.param({"removed_by": "leader"}, {"removed_by": "Leader"}, id="a listing's name"),
        pytest.param({"lists": frozenset({"l1"})}, {"lists": frozenset({"l1"})}, id="list id"),
        pytest.param({"lists": frozenset({"doing"})}, {"lists": frozenset({"Doing"})},
                     id="a list name in another case"),
        pytest.param({"lists": frozenset({"Shelf"})}, {"lists": frozenset({"Shelf"})},
                     id="a followed board's list that holds a card in scope"),
        pytest.param({"cards": frozenset({"c3", "gone8"})},
                     {"cards": frozenset({"c3", "gone8"})}, id="--card id, a deleted card"),
        pytest.param({"by": "ANA"}, {"by": "ana", "removed_by": "ana"},
                     id="--by: resolved, and it selects removals too"),
        pytest.param({"by": "m1", "removed_by": "ana"}, {"by": "m1", "removed_by": "ana"},
                     id="--by and --removed-by: one member, by id and username"),
        pytest.param({"by": "ana", "removed_by": "ana"}, {}, id="--by and --removed-by alike"),
    ],
)  # fmt: skip
def test_filter_values_that_match(options: dict[str, Any], resolved: dict[str, Any]) -> None:
    """A value that names something in scope is kept, as Trello spells it."""
    assert _resolve(**options) == PlanOptions(since=T, **{**options, **resolved})


@pytest.mark.parametrize(
    ("options", "message"),
    [
        pytest.param({"removed_by": ""}, "--removed-by names no member: give a username",
                     id="@ alone"),
        pytest.param({"removed_by": "anna"}, '--removed-by "anna": no member with that id or '
                     "username is in the boards' history or memberships; did you mean ana "
                     "(Ana Lima)?", id="--removed-by typo"),
        pytest.param({"removed_by": "zzzzzz"}, "no member with that id or username is in the "
                     "boards' history or memberships; give the username (as in @username) or id "
                     "of the member who made the removals", id="--removed-by nothing near"),
        pytest.param({"lists": frozenset({"Doign"})}, '--list "Doign": no list with that id or '
                     'name is on the boards in scope (archived lists included); did you mean '
                     '"Doing"', id="--list typo"),
        pytest.param({"lists": frozenset({"qqqq"})}, "give a list's id or exact name (archived "
                     "lists count)", id="--list nothing near"),
        pytest.param({"lists": frozenset({"Elsewhere"})}, '--list "Elsewhere": that list is on '
                     '"B3", which is only followed for the cards that moved between it and the '
                     "boards named, and none of them is in it; name that board with --board too",
                     id="--list on a followed board"),
        pytest.param({"cards": frozenset({"c2-link"})}, '--card c2-link: card "C2" is on "B2", '
                     "which is only followed", id="--card on a followed board"),
        pytest.param({"cards": frozenset({"c9"})}, '--card c9: card "" is on a board, which is '
                     "only followed", id="--card deleted on a followed board"),
        pytest.param({"cards": frozenset({"c3-lnk"})}, "--card c3-lnk: no card with that id or "
                     "shortLink is in scope (archived cards included); did you mean c3-link "
                     '("C3")', id="--card typo"),
        pytest.param({"cards": frozenset({"xyzzy"})}, "give a card's id, shortLink or URL "
                     "(https://trello.com/c/…)", id="--card nothing near"),
        pytest.param({"cards": frozenset({"https://TRELLO.com/b/AbCd1234/team"})},
                     "--card https://TRELLO.com/b/AbCd1234/team: that is a board's URL, not a "
                     "card's; --card takes", id="--card a board's URL"),
        pytest.param({"removed_by": "x", "cards": frozenset({"y"})}, "; --card y: ",
                     id="every problem in one line"),
        pytest.param({"by": "anna"}, '--by "anna": no member with that id or username is in '
                     "the boards' history or memberships; did you mean ana", id="--by typo"),
        pytest.param({"by": "zzzzzz"}, "or id of the member who made the changes",
                     id="--by nothing near"),
        pytest.param({"by": ""}, "--by names no member", id="--by @ alone"),
        pytest.param({"removed_by": "ana", "by": "m2"}, '--removed-by "ana" and --by "m2" name '
                     "different members, and --by selects member removals too",
                     id="--removed-by and --by: two members"),
    ],
)  # fmt: skip
def test_filter_values_that_match_nothing(options: dict[str, Any], message: str) -> None:
    """A value that matches nothing in scope is a usage error saying what to give instead."""
    with pytest.raises(UsageError) as err:
        _resolve(**options)
    assert message in str(err.value)
    assert str(err.value).endswith("; nothing was changed")
    assert "\n" not in str(err.value)


def test_a_list_name_that_differs_only_in_case_from_several() -> None:
    """A case-insensitive --list that fits different names lists them, with their boards."""
    now = state(
        card("c1"), card("c2", board="b2", lst="l3"),
        board("b1", lists={"l1": "Review", "l2": "REVIEW"}), board("b2", lists={"l3": "review"}),
    )  # fmt: skip
    with pytest.raises(UsageError) as err:
        resolve_filters(history([]), now, PlanOptions(since=T, lists=frozenset({"ReView"})))
    assert str(err.value) == (
        '--list "ReView": no list has exactly that name, and 3 differ from it only in case: '
        '"REVIEW" ("B1"), "Review" ("B1"), "review" ("B2"); give the exact name or the list\'s '
        "id; nothing was changed"
    )


def test_a_list_typo_near_names_that_differ_only_in_case_offers_each() -> None:
    """R39a: of "Sprint", "Sprint " and "sprint" only the last was offered."""
    now = state(card("c1"), board("b1", lists={"l1": "Sprint", "l2": "Sprint ", "l3": "sprint"}))
    with pytest.raises(UsageError) as err:
        resolve_filters(history([]), now, PlanOptions(since=T, lists=frozenset({"Sprnt"})))
    offered = str(err.value).partition("did you mean ")[2].partition("?")[0]
    assert sorted(offered.split(" or ")) == ['"Sprint "', '"Sprint"', '"sprint"'], offered


def test_a_card_value_with_control_characters_is_shown_escaped() -> None:
    """R39a: ``--card`` was echoed raw in its error (an escape code to the terminal)."""
    with pytest.raises(UsageError) as err:
        _resolve(cards=frozenset({"zz\x1b]0;X\x07"}))
    assert str(err.value).startswith('--card "zz\\x1b]0;X\\x07": no card with that id')


def test_a_list_name_that_fits_one_name_on_two_boards() -> None:
    """The same name on two boards is one list name: it resolves (both lists are kept)."""
    now = state(card("c1"), board("b1", lists={"l1": "Done"}), board("b2", lists={"l3": "Done"}))
    got = resolve_filters(history([]), now, PlanOptions(since=T, lists=frozenset({"done"})))
    assert got.lists == frozenset({"Done"})
