"""The fast planner decides exactly what the straightforward one did (issue 12 item 4).

``tests/planner_reference.py`` is the member rule as it was before it was optimised; every plan
here is compared with its plan as a whole (``Plan`` equality: the changes in order, with their
ids and evidence, the blocked changes, the skipped candidates, the incomplete cards): on the
sandbox's generated incidents with every reference option set and more, and on small random
histories built to hit what the optimisations touch (several changes per card and their order,
a member removed twice, re-added, moves within the minute, deleted cards, members off the
board, names that tie). Fast: small scenarios only; the 1,000,000-action figure is
``bench/planner_bench.py``'s.
"""

from __future__ import annotations

import copy
import gc
import random
import sys
from dataclasses import FrozenInstanceError, fields, replace
from datetime import UTC, datetime, timedelta
from typing import Any, Literal

import pytest

from trello_restore import planner, planner_drafts, planner_scope
from trello_restore.models import (
    BoardState,
    CardInfo,
    CardState,
    Change,
    Evidence,
    History,
    MemberAction,
    MemberRef,
    Membership,
    MoveAction,
    PlanOptions,
    Skipped,
    State,
)
from trello_restore.planner import build_plan
from trello_restore.sandbox.scenario import generate

from . import planner_reference
from .conftest import FROZEN_AT_START
from .test_planner import _inputs
from .truthcheck import plan_options

T0 = datetime(2025, 3, 1, tzinfo=UTC)


def _same_plan(
    history: History,
    state: State,
    options: PlanOptions,
    *,
    members: dict[str, MemberRef] | None = None,
    incomplete: frozenset[str] = frozenset(),
    named: tuple[str, ...] | None = None,
) -> int:
    """Assert both planners give the same plan; return how many changes it has."""
    got = build_plan(history, state, options, members, incomplete, named)
    want = planner_reference.build_plan(history, state, options, members, incomplete, named)
    assert got.changes == want.changes
    assert got.blocked == want.blocked
    assert got.skipped == want.skipped
    assert got == want
    return len(got.changes) + len(got.blocked) + len(got.skipped)


@pytest.mark.parametrize(("seed", "cards"), [(11, 120), (12, 400)])
def test_generated_incidents_plan_as_before(seed: int, cards: int) -> None:
    """The sandbox's incidents (with the second damage), every reference set a-h, named as
    the CLI names them and as the team board only, with cards marked incomplete, and with the
    filters the reference sets do not use: the same plan, and not an empty one."""
    s = generate(seed, cards, second_damage=True, automation_share=0.3, hidden_name_share=0.2)
    history, state = _inputs(s)
    some_cards = sorted(state.cards)[::7]
    decided = 0
    for name, option_set in sorted(s.option_sets().items()):
        options = plan_options(option_set)
        decided += _same_plan(history, state, options)
        decided += _same_plan(history, state, options, named=(s.team.id,))
        decided += _same_plan(history, state, options, incomplete=frozenset(some_cards[:5]))
        if name in "abde":
            for variant in (
                replace(options, cause="move"),
                replace(options, mode="ever-added", only_recorded=False),
                replace(options, until=options.since + timedelta(minutes=5)),
                replace(options, cards=frozenset(some_cards), removed_by=None),
                replace(options, lists=frozenset(state.boards[s.team.id].lists)),
            ):
                decided += _same_plan(history, state, variant)
    assert decided > 0


def _random_world(seed: int) -> tuple[History, State, datetime, list[str]]:
    """A small random history over two boards: member actions with shared seconds, moves of
    cards and lists close to removals, cards' lists over time, deleted cards, members off the
    boards or deactivated, cards and members whose names tie."""
    rng = random.Random(seed)
    members = [f"m{i:023d}" for i in range(8)]
    boards = ["b" * 24, "c" * 24]
    lists = {boards[0]: ["l1" + "0" * 22, "l2" + "0" * 22], boards[1]: ["l3" + "0" * 22]}
    cards = [f"k{i:023d}" for i in range(14)]
    on: dict[str, set[str]] = {c: set() for c in cards}
    actions: list[MemberAction] = []
    moves: list[MoveAction] = []
    card_lists: list[tuple[datetime, str, str]] = []
    when = T0
    for i in range(rng.randrange(40, 160)):
        when += timedelta(seconds=rng.choice((0, 0, 1, 20, 300)))
        card = rng.choice(cards)
        board = boards[cards.index(card) % 2]
        if rng.random() < 0.08:
            moved_list = rng.random() < 0.5
            moves.append(
                MoveAction(
                    id=f"v{i:023d}",
                    type="moveListFromBoard" if moved_list else "moveCardFromBoard",
                    date=when,
                    by=rng.choice(members[:3]),
                    card_id=None if moved_list else card,
                    list_id=rng.choice(lists[board]) if moved_list else None,
                    source_board_id=board,
                    target_board_id=boards[1 - boards.index(board)],
                )
            )
            continue
        if rng.random() < 0.1:
            card_lists.append((when, card, rng.choice(lists[board])))
        member = rng.choice(members)
        kind: Literal["add", "remove"] = "remove" if member in on[card] else "add"
        if rng.random() < 0.1:
            kind = "remove"  # a removal the log shows twice, or of someone never added
        (on[card].discard if kind == "remove" else on[card].add)(member)
        actions.append(
            MemberAction(
                id=f"a{i:023d}",
                kind=kind,
                date=when,
                card_id=card,
                member_id=member,
                by=rng.choice(members[:3]),
                board_id=board,
                deactivated=kind == "remove" and rng.random() < 0.05,
            )
        )
    actions.sort(key=lambda a: (a.date, a.id))
    deleted = set(rng.sample(cards, 2))
    state_cards = {
        c: CardState(
            c,
            f"card {cards.index(c) % 5}",  # names tie across cards
            c[-8:],
            boards[cards.index(c) % 2],
            rng.choice(lists[boards[cards.index(c) % 2]]),
            rng.random() < 0.2,
            tuple(sorted(x for x in on[c] if rng.random() < 0.4)),
        )
        for c in cards
        if c not in deleted
    }
    memberships = {
        b: {
            m: Membership(m, "normal", deactivated=rng.random() < 0.1)
            for m in members
            if rng.random() < 0.7
        }
        for b in boards
    }
    state = State(
        {
            b: BoardState(b, f"board {i}", memberships[b], dict.fromkeys(lists[b], "To do"))
            for i, b in enumerate(boards)
        },
        state_cards,
    )
    names = {m: MemberRef(m, f"user{members.index(m) % 3}") for m in members[:6]}
    history = History(
        tuple(actions),
        tuple(sorted(moves, key=lambda m: (m.date, m.id))),
        {c: f"d{c[1:]}" for c in deleted},
        tuple(sorted(card_lists)),
        {c: CardInfo(c, f"card {cards.index(c)}") for c in deleted},
        names,
    )
    since = actions[len(actions) // 2].date if actions else T0
    return history, state, since, members


@pytest.mark.parametrize("seed", range(40))
def test_random_histories_plan_as_before(seed: int) -> None:
    """Random small histories, every mode and filter the member rule has: the same plan."""
    history, state, since, members = _random_world(seed)
    rng = random.Random(seed)
    board = sorted(state.boards)[0]
    for options in (
        PlanOptions(since=since),
        PlanOptions(since=since, add_to_board=True, board_role="observer"),
        PlanOptions(since=since, mode="ever-added", add_to_board=True),
        PlanOptions(since=since, removed_by=members[0], cause="move"),
        PlanOptions(since=since, by="user1", only_recorded=True),
        PlanOptions(since=since - timedelta(hours=1), until=since + timedelta(minutes=10)),
        PlanOptions(
            since=since,
            lists=frozenset({"To do"}),
            cards=frozenset(rng.sample(sorted(state.cards), 4)),
        ),
    ):
        extra = {members[6]: MemberRef(members[6], "late", "Late Comer")}
        incomplete = frozenset(rng.sample(sorted(state.cards), 2))
        _same_plan(history, state, options)
        _same_plan(history, state, options, members=extra, incomplete=incomplete)
        _same_plan(history, state, options, named=(board,))


def test_the_planners_changes_are_changes_in_every_way() -> None:
    """The planner builds its changes and their evidence as drafts turned into the frozen
    classes (``planner_drafts.ChangeDraft``): each is of the class, equal to the same change built
    by the constructors (every field set), hashes alike, is frozen, and copies."""
    history, state, since, _ = _random_world(3)
    changes = build_plan(history, state, PlanOptions(since=since, add_to_board=True)).changes
    cards = [c for c in changes if c.action == "add_member_to_card"]
    assert cards
    for change in cards:
        assert change.evidence is not None
        assert type(change) is Change
        assert type(change.evidence) is Evidence
        built = Change(
            **{f.name: getattr(change, f.name) for f in fields(Change) if f.name != "evidence"},
            evidence=Evidence(
                **{f.name: getattr(change.evidence, f.name) for f in fields(Evidence)}
            ),
        )
        assert change == built
        assert hash(change) == hash(built)
        assert repr(change) == repr(built)
        assert copy.deepcopy(change) == change
        with pytest.raises(FrozenInstanceError):
            change.member_on_board = False  # type: ignore[misc]
        with pytest.raises(FrozenInstanceError):
            change.evidence.kind = "ever_added"  # type: ignore[misc]


@pytest.mark.parametrize("enabled", [True, False])
def test_the_planner_leaves_the_garbage_collector_as_it_found_it(enabled: bool) -> None:
    """The collector is paused while planning (its passes over the planner's objects cost more
    than the planning on a large history) and switched back on only if it was on."""
    history, state, since, _ = _random_world(1)
    (gc.enable if enabled else gc.disable)()
    try:
        assert build_plan(history, state, PlanOptions(since=since)).changes
        assert gc.isenabled() is enabled
    finally:
        gc.enable()


@pytest.mark.parametrize("frozen", [False, True])
def test_the_planner_leaves_frozen_objects_frozen(frozen: bool) -> None:
    """What the planner made goes to the oldest generation unwalked (``gc.freeze`` then
    ``unfreeze``), but only when nothing is frozen: an application's frozen objects stay
    frozen, and none of the planner's are left frozen."""
    if FROZEN_AT_START and not frozen:
        pytest.skip("this Python froze objects of its own at start (3.12.1)")
    history, state, since, _ = _random_world(2)
    if frozen:
        gc.freeze()
    try:
        before = gc.get_freeze_count()
        assert build_plan(history, state, PlanOptions(since=since)).changes
        assert gc.get_freeze_count() == before
        assert (before > 0) is frozen
    finally:
        gc.unfreeze()


def test_the_cutoff_is_found_once_for_the_whole_history() -> None:
    """The actions before and after ``since`` are told apart by one binary search over the
    whole history (``planner_drafts.by_card``), not one per card: on 1,000,000 actions over 100,000
    cards, each card's search touched a few of its actions' dates, scattered in memory (0.2 s
    of cache misses). Counted here as reads of the actions' dates: one per change (its
    evidence's date) and a search's worth, whatever the number of cards."""
    reads = 0
    slot: Any = MemberAction.__dict__["date"]  # the slot's descriptor

    class Counted(MemberAction):
        """A member action that counts the reads of its date."""

        @property
        def date(self) -> datetime:
            nonlocal reads
            reads += 1
            value: datetime = slot.__get__(self)
            return value

        @date.setter
        def date(self, value: datetime) -> None:
            slot.__set__(self, value)

    rng = random.Random(5)
    members = [f"m{i:023d}" for i in range(6)]
    cards = [f"k{i:023d}" for i in range(300)]
    actions = []
    for i in range(3000):
        kind: Literal["add", "remove"] = "add" if rng.random() < 0.7 else "remove"
        actions.append(
            Counted(
                f"a{i:023d}",
                kind,
                T0 + timedelta(seconds=i),
                rng.choice(cards),
                rng.choice(members),
                members[0],
                "b" * 24,
            )
        )
    board = BoardState("b" * 24, "Board", {m: Membership(m, "normal") for m in members})
    state = State(
        {board.id: board},
        {c: CardState(c, c, c[-8:], board.id, "l" * 24, False, ()) for c in cards},
    )
    history = History(tuple(actions), (), {}, (), {}, {})
    options = PlanOptions(since=T0 + timedelta(seconds=1500))
    reads = 0
    plan = build_plan(history, state, options)
    planner_reads = reads
    assert plan == planner_reference.build_plan(history, state, options)
    search = len(actions).bit_length() + 1
    assert len(plan.changes) > len(cards)
    # One search per card: about 4 reads a card more.
    assert planner_reads <= len(plan.changes) + search


def _edge_world() -> tuple[History, State, datetime, list[str]]:
    """A removal for each edge of the common case ``recorded`` plans itself: by a mover
    within a minute of moving the card (the change names the move), with the action's
    ``deactivated`` flag, of a member deactivated on the board, of a member off the board,
    after an ``until``, and plain; on two cards in two lists, all in the window."""
    members = [f"m{i:023d}" for i in range(6)]
    board, cards = "b" * 24, ["k" + "0" * 23, "k" + "1" * 23]
    list_ids = ["l1" + "0" * 22, "l2" + "0" * 22]
    lists = dict(zip(list_ids, ("Doing", "Done"), strict=True))
    actions: list[MemberAction] = []

    def act(at: int, kind: Literal["add", "remove"], card: int, member: int, by: int) -> None:
        actions.append(
            MemberAction(
                f"a{len(actions):023d}",
                kind,
                T0 + timedelta(seconds=at),
                cards[card],
                members[member],
                members[by],
                board,
                deactivated=kind == "remove" and (card, member) == (0, 2),
            )
        )

    for card in (0, 1):
        for member in range(6):
            act(card * 10 + member, "add", card, member, 3)
    act(1100, "remove", 0, 1, 0)  # the mover, 10 s after moving the card
    act(1200, "remove", 0, 2, 3)  # flagged deactivated by Trello
    act(1300, "remove", 1, 4, 0)  # deactivated on the board
    act(1400, "remove", 1, 2, 0)  # plain
    act(1500, "remove", 0, 5, 3)  # not on the board: blocked
    act(5000, "remove", 1, 1, 3)  # after the ``until`` below
    move = MoveAction(
        "v" + "0" * 23,
        "moveCardToBoard",
        T0 + timedelta(seconds=1090),
        members[0],
        cards[0],
        None,
        "c" * 24,
        board,
    )
    memberships = {m: Membership(m, "normal", deactivated=m == members[4]) for m in members[:5]}
    state = State(
        {board: BoardState(board, "Board", memberships, lists)},
        {
            cid: CardState(cid, f"card {i}", cid[-8:], board, list_ids[i], False, ())
            for i, cid in enumerate(cards)
        },
    )
    names = {m: MemberRef(m, f"user{i}") for i, m in enumerate(members)}
    history = History(tuple(actions), (move,), {}, ((T0, cards[0], list_ids[0]),), {}, names)
    return history, state, T0 + timedelta(seconds=1000), members


@pytest.mark.parametrize(
    "variant",
    [
        {},
        {"until": T0 + timedelta(seconds=2000)},
        {"removed_by": "m" + "0" * 23},
        {"by": "user3"},
        {"cause": "move"},
        {"cards": frozenset({"k" + "1" * 23})},
        {"lists": frozenset({"Done"})},
        {"add_to_board": True},
        {"only_recorded": True},
        {"mode": "ever-added"},
    ],
)
def test_the_common_case_and_its_edges_plan_as_before(variant: dict[str, Any]) -> None:
    """Each edge of the removals ``recorded`` plans without ``decide`` (a filter, --by or
    --removed-by, --cause, a card not selected, deactivation either way, ``until``, a move
    within the minute, a member off the board): the same plan as the reference."""
    history, state, since, _ = _edge_world()
    options = PlanOptions(since=since, **variant)
    assert _same_plan(history, state, options) > 0
    plan = build_plan(history, state, options)
    if not variant:  # the edges are there: a move named, both deactivations, one blocked
        assert any(c.evidence and c.evidence.move_action_id for c in plan.changes)
        removals = {a.id for a in history.member_actions if a.kind == "remove"}
        deactivated = [s for s in plan.skipped if s.reason == "deactivated"]
        assert len([s for s in deactivated if s.action_id in removals]) == 2
        blocked = [b.change.evidence for b in plan.blocked if b.change.evidence]
        assert [e.kind for e in blocked].count("recorded_removal") == 1
    if "until" in variant:
        assert "outside_window" in {s.reason for s in plan.skipped}


def test_planned_removals_are_not_decided_one_by_one(monkeypatch: pytest.MonkeyPatch) -> None:
    """``recorded`` plans the common case's removals itself (a selected card, no filter on
    who removed or why, in the window, not deactivated): ``_Planner.decide`` is left for the
    removals it skips (on 1,000,000 actions, a call and its filter tests for each of 90,720
    removals planned). Fails on the planner before, which planned every removal through it."""
    calls: list[str] = []
    decide = planner._Planner.decide

    def counted(
        self: planner._Planner, card: CardState, rem: MemberAction, selected: bool, inside: bool
    ) -> None:
        skipped = len(self.skipped)
        decide(self, card, rem, selected, inside)
        calls.append("skipped" if len(self.skipped) == skipped + 1 else "planned")

    monkeypatch.setattr(planner._Planner, "decide", counted)
    history, state, since, _ = _edge_world()
    plan = build_plan(history, state, PlanOptions(since=since))
    recorded = [c for c in plan.changes if c.evidence and c.evidence.kind == "recorded_removal"]
    assert len(recorded) == 3  # the mover's, the plain one and the one after 2000 s
    assert calls == ["skipped", "skipped"]  # the two deactivated
    # With a filter on who removed, ``decide`` still decides (and plans) each removal.
    calls.clear()
    build_plan(history, state, PlanOptions(since=since, removed_by="user0"))
    assert "planned" in calls


def _many_cards_world() -> tuple[History, State, datetime]:
    """200 cards, each with five members added before the cutoff and removed silently (none
    on the card now), a recorded removal after it, and a member added before the cutoff,
    removed before it and added again (on the card at the cutoff)."""
    members = [f"m{i:023d}" for i in range(8)]
    board = BoardState("b" * 24, "Board", {m: Membership(m, "normal") for m in members})
    cards = [f"k{i:023d}" for i in range(200)]
    actions: list[MemberAction] = []

    def act(at: int, kind: Literal["add", "remove"], card: str, member: str) -> None:
        i = len(actions)
        when = T0 + timedelta(seconds=at)
        actions.append(MemberAction(f"a{i:023d}", kind, when, card, member, members[7], board.id))

    for n, card in enumerate(cards):
        for m in members[:5]:
            act(n, "add", card, m)
        act(1000 + n, "add", card, members[5])
        act(2000 + n, "remove", card, members[5])
        act(3000 + n, "add", card, members[5])
        act(6000 + n, "remove", card, members[0])  # after the cutoff: recorded
    state = State(
        {board.id: board},
        {c: CardState(c, c, c[-8:], board.id, "l" * 24, False, ()) for c in cards},
    )
    names = {m: MemberRef(m, f"user{7 - i}") for i, m in enumerate(members)}  # not in id order
    actions.sort(key=lambda a: (a.date, a.id))
    history = History(tuple(actions), (), {}, (), {}, names)
    return history, state, T0 + timedelta(seconds=5000)


def test_the_planner_calls_no_function_per_change_or_action() -> None:
    """The member rule runs as one loop over the cards (``_Planner.recorded``) and builds each
    card's changes in one call (``changes_of``): the planner's own functions are called about
    once per card with changes, not once per change or per action (on 1,000,000 actions the
    calls and their set-up were a tenth of the planning). Fails on the planner before, which
    called ``recorded`` and ``silent_losses`` for each card and ``propose`` for each change.
    The plan is the reference's."""
    history, state, since = _many_cards_world()
    options = PlanOptions(since=since)
    calls = 0

    def count(frame: Any, event: str, arg: object) -> None:
        nonlocal calls
        code = frame.f_code
        # (``skip`` and its ``member`` are called once per skipped candidate, as before.)
        if event == "call" and code.co_filename == planner.__file__:
            calls += code.co_name not in ("skip", "member")

    sys.setprofile(count)
    try:
        plan = build_plan(history, state, options)
    finally:
        sys.setprofile(None)
    assert _same_plan(history, state, options) == len(plan.changes) + len(plan.skipped)
    cards = len(state.cards)
    assert len(plan.changes) == 6 * cards  # five silent losses and a recorded removal each
    # ``changes_of`` per card, and a few per plan.
    assert calls <= cards + 20


def test_the_drafts_store_by_slot_and_become_their_classes() -> None:
    """Changes, their evidence and the skipped are built as drafts: subclasses adding no slot,
    with ``object``'s ``__setattr__`` and ``__delattr__`` (with the frozen class's either,
    every store is a call of ``__setattr__``, four times slower) and no ``__init__`` of their
    own. What comes out is of the frozen class, equal to the same built by its constructor.
    Fails on the planner before, whose drafts were classes of their own and which built the
    skipped by their constructor."""
    for draft, frozen in (
        (planner_drafts.ChangeDraft, Change),
        (planner_drafts.EvidenceDraft, Evidence),
        (planner_drafts.SkippedDraft, Skipped),
    ):
        assert draft.__bases__ == (frozen,)
        assert draft.__slots__ == ()
        assert draft.__setattr__ is object.__setattr__
        assert draft.__delattr__ is object.__delattr__
        assert draft.__init__ is object.__init__
    history, state, since, _ = _random_world(3)
    skipped = build_plan(history, state, PlanOptions(since=since)).skipped
    assert skipped
    for item in skipped:
        assert type(item) is Skipped
        built = Skipped(**{f.name: getattr(item, f.name) for f in fields(Skipped)})
        assert item == built
        assert repr(item) == repr(built)
        assert hash(item) == hash(built)
        with pytest.raises(FrozenInstanceError):
            item.reason = "filtered"  # type: ignore[misc]


@pytest.mark.parametrize("seed", range(6))
def test_a_cards_places_are_checked_against_the_moved_lists_as_before(seed: int) -> None:
    """``planner_scope._was_in_moved_list`` looks at each of the card's places instead of at
    each list that moved: the same answer as the reference's binary search per move, on
    random places and moves with many tied dates (a place and a move at the same second, two
    places at once) and cards without places."""
    rng = random.Random(seed)
    t0 = datetime(2025, 1, 1, tzinfo=UTC)
    lists = [f"l{i}" for i in range(6)]
    checked = found = 0
    for _ in range(400):
        dates = sorted(t0 + timedelta(seconds=rng.randrange(12)) for _ in range(rng.randrange(5)))
        places = [(d, rng.choice(lists)) for d in dates]
        moves: dict[str, list[datetime]] = {}
        for _ in range(rng.randrange(5)):
            moves.setdefault(rng.choice(lists), []).append(
                t0 + timedelta(seconds=rng.randrange(12))
            )
        current = rng.choice(lists)
        want = planner_reference._was_in_moved_list(places, current, moves)
        assert planner_scope._was_in_moved_list(places, current, moves) == want, (places, moves)
        checked += 1
        found += want
    assert 0 < found < checked  # both answers were exercised
