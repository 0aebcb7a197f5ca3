"""Property tests of the planner (R51c's, ported): generated worlds (``planner_world``: two
boards, three lists, four cards; member adds and removals, silent losses, list and board moves,
archives, field edits, deletions, automations, cards whose creation is not in the log) planned
with generated options, and rules that must hold for every one of them:

1. the plan is the reference planner's (``planner_reference``), whole, for every option set;
2. it does not depend on the order of the actions within a page, on where pages split, or on
   a page given twice (the fetcher's threads parse pages as they come);
3. the kept history (each feed's parts, cut anywhere and extended, written and read back, with
   the cards' own feeds, merged) plans exactly what a cold fetch plans;
4. applying the plan (with the actions the tool's writes log) leaves nothing to plan;
5. ``--board`` of a move's source, of its target, or of both, give the same plan for the cards
   that moved, whether or not their creation is in the log (the R51c bug);
6. actions with optional keys left out (names, ``member``, lists, the other board) plan without
   an exception, and names left out change no decision.

Deterministic (``derandomize``): the same examples on every run, so CI never turns red by
chance; the example counts keep the file well under a minute on two cores.
"""

from __future__ import annotations

import copy
import json
import random
from collections.abc import Callable, Sequence
from datetime import timedelta
from typing import Any

import orjson
from hypothesis import HealthCheck, given, note, settings
from hypothesis import strategies as st

from trello_restore.history import HistoryBuilder, parse_history
from trello_restore.history_feed import Feed
from trello_restore.history_parts import (
    Part,
    action_class,
    classes_for,
    merge_parts,
    to_history,
    union_filter,
)
from trello_restore.history_store import BoardHistory
from trello_restore.models import RESTORE_KINDS, Plan, PlanOptions, State
from trello_restore.planner import build_plan

from . import planner_reference
from .planner_world import A0, A1, B1, B2, CARDS, L1, ME, START, USERNAMES, Op, Scenario, scenarios

JSON = dict[str, Any]


def _settings(examples: int) -> Callable[[Any], Any]:
    """Deterministic, no deadline (a plan's time varies with the machine), ``examples`` each."""
    return settings(
        derandomize=True,
        deadline=None,
        max_examples=examples,
        database=None,
        suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
    )


def _options(
    since: int,
    until: int | None,
    mode: Any,
    who: tuple[str, str | None],
    only_recorded: bool,
    add_to_board: bool,
    restore: frozenset[Any],
    cause: Any,
    lists: frozenset[str] | None,
    cards: frozenset[str] | None,
) -> PlanOptions:
    """Options as the CLI makes them: a window in seconds from ``START`` (inclusive since,
    exclusive until), ``--by`` or ``--removed-by`` (an id or a username) or neither."""
    key, member = who
    return PlanOptions(
        since=START + timedelta(seconds=since),
        until=None if until is None else START + timedelta(seconds=since + until),
        mode=mode,
        by=member if key == "by" else None,
        removed_by=member if key == "removed_by" else None,
        only_recorded=only_recorded,
        add_to_board=add_to_board,
        restore=restore,
        cause=cause,
        lists=lists,
        cards=cards,
    )


options: st.SearchStrategy[PlanOptions] = st.builds(
    _options,
    since=st.sampled_from([-7200, 0, 1, 30, 60, 3600]),
    until=st.one_of(st.none(), st.sampled_from([0, 1, 31, 3600])),
    mode=st.sampled_from(["removed", "ever-added"]),
    who=st.tuples(
        st.sampled_from(["by", "removed_by"]),
        st.sampled_from([None, A0, USERNAMES[A0].upper(), A1]),
    ),
    only_recorded=st.booleans(),
    add_to_board=st.booleans(),
    restore=st.sampled_from(
        [
            frozenset({"members"}),
            frozenset(RESTORE_KINDS),
            frozenset({"archived", "list"}),
            frozenset({"fields"}),
            frozenset({"members", "list"}),
        ]
    ),
    cause=st.sampled_from([None, None, "move"]),
    lists=st.sampled_from([None, None, frozenset({L1}), frozenset({"Done"})]),
    cards=st.sampled_from([None, None, frozenset({CARDS[0]}), frozenset({"slc1"})]),
)
named_boards = st.sampled_from([None, (B1,), (B2,), (B1, B2)])


def _plan(actions: Sequence[JSON], state: State, opts: PlanOptions, **kw: Any) -> Plan:
    return build_plan(parse_history(actions), state, opts, **kw)


# 1 ------------------------------------------------------------------------ the reference


@_settings(400)
@given(scenarios, options, named_boards, st.sets(st.sampled_from(CARDS), max_size=2))
def test_the_plan_is_the_reference_plan(
    scenario: Scenario,
    opts: PlanOptions,
    named: tuple[str, ...] | None,
    incomplete: set[str],
) -> None:
    """The optimised planner decides what the straightforward one did (its changes in order,
    with ids and evidence, blocked, skipped, the value kinds' decisions), for any history,
    option set, named boards and cut cards: ``test_planner_speed_equivalence``'s rule on
    histories nobody wrote by hand."""
    w = scenario.world()
    history, state = parse_history(w.actions), w.state()
    args = (history, state, opts, None, frozenset(incomplete), named)
    assert build_plan(*args) == planner_reference.build_plan(*args)


# 2 ------------------------------------------------------------------ pages, order, repeats


def _paged(actions: Sequence[JSON], rnd: random.Random) -> list[list[JSON]]:
    """The actions in pages of 1-6 in any order, the pages in any order, up to two of them
    given twice (a retried request): what the fetcher's reader threads may hand the builder."""
    shuffled = list(actions)
    rnd.shuffle(shuffled)
    pages: list[list[JSON]] = []
    while shuffled:
        k = rnd.randint(1, 6)
        pages.append(shuffled[:k])
        shuffled = shuffled[k:]
    pages += [rnd.choice(pages) for _ in range(min(2, len(pages)))]
    rnd.shuffle(pages)
    return pages


@_settings(300)
@given(scenarios, options, named_boards, st.randoms(use_true_random=False))
def test_the_plan_does_not_depend_on_pages(
    scenario: Scenario, opts: PlanOptions, named: tuple[str, ...] | None, rnd: random.Random
) -> None:
    """Pages arrive in any order from several threads, a page may come twice, and actions of
    one instant may come in any order (design.md §3: replay in date order, ties by action id):
    the plan is the one of the actions parsed in one go."""
    w = scenario.world()
    state = w.state()
    b = HistoryBuilder()
    for page in _paged(w.actions, rnd):
        b.add(page)
    whole = _plan(w.actions, state, opts, named_boards=named)
    assert build_plan(b.build(), state, opts, named_boards=named) == whole


# 3 ----------------------------------------------------------------- the kept history


def _feed(actions: Sequence[JSON], rnd: random.Random, skip: Sequence[str] = ()) -> Feed:
    """A feed read newest first (as Trello gives it) in pages of 1-8."""
    f = Feed(skip=skip)
    newest_first = list(reversed(actions))
    while newest_first:
        k = rnd.randint(1, 8)
        f.add(newest_first[:k])
        newest_first = newest_first[k:]
    return f


def _written_and_read(h: BoardHistory) -> BoardHistory:
    """The store as the next run reads it from disk."""
    return BoardHistory.from_json(json.loads(orjson.dumps(h.to_json())))


def _store(
    feed: list[JSON], cut: int, same_second: bool, on_disk: bool, rnd: random.Random
) -> BoardHistory:
    """One board's store: built from its oldest ``cut`` actions, then extended with what a
    later run's read from ``since()`` gives (Trello's ``since`` is exclusive and by second;
    ``same_second``: the actions of that second come again, as the overlap's are skipped)."""
    h = BoardHistory.built(feed[0]["data"]["board"]["id"], union_filter(), _feed(feed[:cut], rnd))
    if on_disk:
        h = _written_and_read(h)
    since = h.since()
    edge = None if since is None else since.isoformat()[:19]
    newer = [
        a
        for a in feed
        if edge is None or a["date"][:19] > edge or (same_second and a["date"][:19] == edge)
    ]
    h = h.extended(_feed(newer, rnd, skip=tuple(h.recent)))
    return _written_and_read(h) if on_disk else h


@_settings(400)
@given(
    scenarios,
    options,
    st.integers(0, 60),
    st.booleans(),
    st.booleans(),
    st.sets(st.sampled_from(CARDS), max_size=2),
    st.randoms(use_true_random=False),
)
def test_the_kept_history_plans_what_a_cold_fetch_plans(
    scenario: Scenario,
    opts: PlanOptions,
    cut: int,
    same_second: bool,
    on_disk: bool,
    card_feeds: set[str],
    rnd: random.Random,
) -> None:
    """Each board's store (cut at any point and extended; written and read back or not), plus
    the own feeds of some cards (which repeat their boards' actions), merged in any order
    (``merge_parts``, ``to_history``): the plan of the actions a cold fetch with this run's
    filter reads, parsed in one go."""
    w = scenario.world()
    state = w.state()
    classes = classes_for(opts.restore)
    cold = _plan([a for a in w.actions if action_class(a) in classes], state, opts)
    parts: list[Part] = []
    for board in (B1, B2):
        feed = [a for a in w.actions if a["data"]["board"]["id"] == board]
        if feed:
            h = _store(feed, min(cut, len(feed)), same_second, on_disk, rnd)
            parts += [h.parts[k] for k in classes]
    for cid in sorted(card_feeds):
        own = _feed([a for a in w.actions if a["data"].get("card", {}).get("id") == cid], rnd)
        parts += [own.parts()[k] for k in classes]
    rnd.shuffle(parts)
    assert build_plan(to_history(merge_parts(parts)), state, opts) == cold


# 4 ---------------------------------------------------------------------------- idempotence


@_settings(400)
@given(scenarios, options, st.sampled_from([ME, A0, A1]), named_boards)
def test_after_the_apply_nothing_is_left_to_plan(
    scenario: Scenario, opts: PlanOptions, me: str, named: tuple[str, ...] | None
) -> None:
    """Carry the plan out in the world (each change finding the value it expects; the tool's
    writes logged as Trello logs them, by the token's member, who may be the culprit) and plan
    again with the same options: no change. A second run (cron, or a rerun after a crash)
    never writes twice."""
    w = scenario.world()
    plan = _plan(w.actions, w.state(), opts, own_member=me, named_boards=named)
    note(repr(plan.changes))
    w.apply(plan, me)
    again = _plan(w.actions, w.state(), opts, own_member=me, named_boards=named)
    assert again.changes == ()


# 5 ------------------------------------------------------------------------ --board scope


def _about(plan: Plan, cards: set[str]) -> tuple[list[Any], ...]:
    """What the plan decides about these cards: changes, blocked, skipped, values left alone."""
    return (
        sorted(c.change_id for c in plan.changes if c.card_id in cards),
        sorted(b.change.change_id for b in plan.blocked if b.change.card_id in cards),
        sorted(
            (k.card_id, k.member.id, k.reason, k.action_id)
            for k in plan.skipped
            if k.card_id in cards
        ),
        sorted(
            (k.object_id, k.field, k.reason) for k in plan.value_skipped if k.object_id in cards
        ),
    )


@_settings(500)
@given(scenarios, options)
def test_either_board_of_a_move_gives_the_same_plan_for_what_moved(
    scenario: Scenario, opts: PlanOptions
) -> None:
    """README ``--board``: naming the team board or the archive board gives the same plan for
    the cards and lists that moved (the fetcher follows moves both ways), and the same as
    naming both; whether each card's creation is in the log or not (R51c: a card without one
    was left out of scope from the source board)."""
    w = scenario.world()
    history, state = parse_history(w.actions), w.state()
    moved = {m.card_id for m in history.moves if m.card_id}
    moved |= {c.id for c in w.cards.values() if c.board == B2}
    note(f"moved: {sorted(moved)}")
    source, target, both = (
        _about(build_plan(history, state, opts, named_boards=named), moved)
        for named in ((B1,), (B2,), (B1, B2))
    )
    assert source == target == both


# 6 -------------------------------------------------------------------- optional keys


def _without_names(a: JSON) -> None:
    """Names are for people: ``memberCreator``'s and ``member``'s names, the card's name and
    shortLink, the board's name (trello-api-notes §2.1: 2015-2017 actions lack some)."""
    for key in ("memberCreator", "member"):
        if key in a:
            a[key].pop("fullName", None)
            a[key].pop("username", None)
    data = a["data"]
    data["board"].pop("name", None)
    for key in ("card", "list", "listBefore", "listAfter", "boardSource", "boardTarget"):
        if key in data:
            data[key].pop("name", None)
    if "card" in data:
        data["card"].pop("shortLink", None)


OMISSIONS: dict[str, Callable[[JSON], object]] = {
    "names": _without_names,
    "memberCreator": lambda a: a.pop("memberCreator", None),
    "member": lambda a: a.pop("member", None),
    "limits and app": lambda a: (a.pop("limits", None), a.pop("appCreator", None)),
    "app without name": lambda a: a.update(appCreator={"id": "ab" * 12}),
}
#: Omissions that take away what places a card or a move: no decision is promised, only a plan.
STRUCTURAL: dict[str, Callable[[JSON], object]] = {
    "list": lambda a: [a["data"].pop(k, None) for k in ("list", "listBefore", "listAfter")],
    "other board": lambda a: [a["data"].pop(k, None) for k in ("boardSource", "boardTarget")],
    "idMember": lambda a: a["data"].pop("idMember", None) if "member" in a else None,
}


@_settings(300)
@given(scenarios, options, named_boards, st.sampled_from(sorted({**OMISSIONS, **STRUCTURAL})))
def test_optional_keys_left_out(
    scenario: Scenario, opts: PlanOptions, named: tuple[str, ...] | None, omit: str
) -> None:
    """Every action with one optional key left out (as older actions, automations and private
    members have them): a plan, no exception. Names left out change no decision (the same
    change ids, blocked and skipped); the others may, but every card member planned is still
    one who is not on the card now."""
    w = scenario.world()
    state = w.state()
    actions = copy.deepcopy(w.actions)
    for a in actions:
        {**OMISSIONS, **STRUCTURAL}[omit](a)
    plan = _plan(actions, state, opts, named_boards=named)
    for c in plan.card_changes():
        assert c.member.id not in state.cards[c.card_id].member_ids, c
    if omit in OMISSIONS:
        full = _plan(w.actions, state, opts, named_boards=named)
        assert _decisions(plan) == _decisions(full)


def _decisions(plan: Plan) -> tuple[Any, ...]:
    """What a plan decides, without the names it shows, nor the order they give it (a card's
    changes are listed by member name: R62a, one without its name sorts elsewhere)."""
    return (
        sorted(c.change_id for c in plan.changes),
        sorted(b.change.change_id for b in plan.blocked),
        sorted((k.card_id, k.member.id, k.reason, k.action_id) for k in plan.skipped),
        sorted((k.object_id, k.field, k.reason) for k in plan.value_skipped),
    )


def test_a_member_object_left_out_changes_the_order_not_the_decisions() -> None:
    """R62a: the example hypothesis 6.100 (the lowest version the test extra allows) finds for
    ``test_optional_keys_left_out``; later versions did not reach it, so CI passed by the
    version installed. Without ``member`` two removals on one card are listed in the other
    order (by id, not by name): the same decisions."""

    def op(kind: str, card: int, member: int, actor: int, flag: int) -> Op:
        return Op(kind=kind, card=card, member=member, actor=actor, flag=flag, value=0,
                  by_app=False, gap=0)  # fmt: skip

    ops = (
        *[op("add", 0, 0, 0, 0)] * 6,
        op("add", 1, 0, 2, 0),
        op("remove", 0, 0, 0, 0),
        op("remove", 0, 1, 0, 1),
    )
    members = (frozenset({1}), frozenset({1}), frozenset({0}), frozenset({0}))
    world = Scenario(members=members, logged=(0, 0, 0, 0), ops=ops).world()
    state = world.state()
    opts = _options(since=-7200, until=None, mode="removed", who=("by", None),
                    only_recorded=False, add_to_board=False, restore=frozenset({"members"}),
                    cause=None, lists=None, cards=None)  # fmt: skip
    actions = copy.deepcopy(world.actions)
    for a in actions:
        a.pop("member", None)
    plan, full = _plan(actions, state, opts), _plan(world.actions, state, opts)
    assert len(full.changes) == 2
    assert _decisions(plan) == _decisions(full)
