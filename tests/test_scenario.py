"""The scenario generator: determinism, the incident's features, and ground truth that holds up."""

from __future__ import annotations

from collections import Counter
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from trello_restore.sandbox import render
from trello_restore.sandbox.scenario import Scenario, generate
from trello_restore.sandbox.truth import (
    VALUE_SKIP_ORDER,
    GroundTruth,
    OptionSet,
    StateKey,
    compute,
    scope_cards,
    snapshot,
)
from trello_restore.sandbox.world import FieldValue, TrelloError, World

SEEDS_SIZES = [(1, 20), (2, 200), (3, 1000), (4, 200)]
T0 = datetime(2025, 3, 1, 9, 0, tzinfo=UTC)


def _action_types(s: Scenario) -> Counter[str]:
    return Counter(a.type for a in s.world.actions)


def test_same_seed_same_scenario() -> None:
    """Two scenarios from the same seed and size are identical, action for action."""
    a, b = generate(7, 120), generate(7, 120)
    assert [render.action(a.world, x) for x in a.world.actions] == [
        render.action(b.world, x) for x in b.world.actions
    ]
    assert (a.key, a.token) == (b.key, b.token)
    assert generate(8, 120).world.actions[-1].id != a.world.actions[-1].id


@pytest.mark.parametrize("cards", [19, 20_001])
def test_size_bounds(cards: int) -> None:
    """Sizes outside 20..20,000 cards are refused with a clear message."""
    with pytest.raises(ValueError, match="between 20 and 20000"):
        generate(1, cards)


@pytest.mark.parametrize(("seed", "cards"), SEEDS_SIZES)
def test_history_has_every_ingredient(seed: int, cards: int) -> None:
    """Months of history with adds, removals, re-adds, noise, archives and a deactivated member."""
    s = generate(seed, cards)
    w = s.world
    assert 8 <= len(w.members) <= 30
    on_boards = [c for c in w.cards.values() if c.id_board in s.scope]
    assert len(on_boards) + len(w.deleted_cards) == cards  # every generated card is accounted for
    types = _action_types(s)
    for t in ("createCard", "addMemberToCard", "removeMemberFromCard", "addMemberToBoard"):
        assert types[t] > 0, t
    assert types["moveListToBoard"] == types["moveListFromBoard"] == len(s.moved_lists)
    assert types["deleteCard"] == 1
    first = min(a.date for a in w.actions if a.type == "createCard")
    assert s.incident_at - first > timedelta(days=90)
    team_ms = w.boards[s.team.id].memberships
    assert team_ms[s.deactivated.id].deactivated
    assert any(s.deactivated.id in before for before in s.story.before_incident.values())
    # a card in an archived list, on the archive board
    closed_lists = [x for x in w.lists.values() if x.closed]
    assert closed_lists
    assert closed_lists[0].id_board == s.archive.id
    assert any(c.id_list == closed_lists[0].id for c in w.cards.values())


def test_larger_scenarios_have_noise() -> None:
    """At realistic sizes the history has comments, list moves, re-adds and archived cards."""
    s = generate(5, 1000)
    types = _action_types(s)
    assert types["commentCard"] > 100
    updates = [a for a in s.world.actions if a.type == "updateCard"]
    assert any("idList" in a.data["old"] for a in updates)
    assert any("closed" in a.data["old"] for a in updates)
    readds = Counter(
        (e.card_id, e.member_id) for e in s.world.ledger if e.kind == "add" and e.logged
    )
    assert any(n > 1 for n in readds.values())
    assert any(c.closed for c in s.world.cards.values() if c.id_board == s.archive.id)


@pytest.mark.parametrize(("seed", "cards"), SEEDS_SIZES)
def test_incident_strips_non_members_as_the_mover(seed: int, cards: int) -> None:
    """Every member not on the archive board left the moved cards, logged as the mover's removal
    within a second of the move, except on the cards where Trello logged nothing."""
    s = generate(seed, cards)
    w = s.world
    losses = s.story.incident_losses
    assert losses
    moves = {a.id: a for a in w.actions if a.type in ("moveListToBoard", "moveCardToBoard")}
    for ev in losses:
        assert ev.cause == "move"
        assert ev.by == s.mover.id
        assert ev.move_action_id in moves
        assert timedelta(0) < ev.at - moves[ev.move_action_id].date < timedelta(seconds=1)
        assert ev.member_id in s.story.before_incident[ev.card_id]
        if ev.logged:
            action = w.actions_by_id[ev.action_id or ""]
            assert action.type == "removeMemberFromCard"
            assert action.id_member_creator == s.mover.id
            assert action.data["idMember"] == ev.member_id
            assert action.id_board == s.archive.id  # incident_log_board="target"
    # members of the archive board (at the time of the move) kept their places
    archive = w.boards[s.archive.id]
    joined_later = {e.member_id for e in s.story.after if e.kind == "join_board"}
    assert joined_later
    lost = {(e.card_id, e.member_id) for e in losses}
    for cid, before in s.story.before_incident.items():
        card = w.cards.get(cid)
        if card is None or card.id_board != s.archive.id:
            continue
        for mid in before:
            if archive.is_active_member(mid) and mid not in joined_later:
                assert (cid, mid) not in lost
            else:
                assert (cid, mid) in lost


def test_share_of_cards_lose_members_silently() -> None:
    """With unlogged_share, some stripped cards have no removal action at all; 0 and 1 are exact."""
    s = generate(2, 1000, unlogged_share=0.3)
    by_card: dict[str, set[bool]] = {}
    for ev in s.story.incident_losses:
        by_card.setdefault(ev.card_id, set()).add(ev.logged)
    assert all(len(flags) == 1 for flags in by_card.values())  # per card: all or nothing
    silent = sum(1 for flags in by_card.values() if flags == {False})
    assert 0.15 < silent / len(by_card) < 0.45
    assert all(e.logged for e in generate(2, 200, unlogged_share=0.0).story.incident_losses)
    assert not any(e.logged for e in generate(2, 200, unlogged_share=1.0).story.incident_losses)


def test_removals_can_be_logged_on_the_source_board() -> None:
    """incident_log_board="source" puts the mover's removals in the team board's feed instead."""
    s = generate(3, 200, incident_log_board="source")
    logged = [e for e in s.story.incident_losses if e.logged]
    assert logged
    assert all(s.world.actions_by_id[e.action_id or ""].id_board == s.team.id for e in logged)


# ---------------------------------------------------------------------------- ground truth


def _expected_adds(s: Scenario, name: str) -> set[tuple[str, str]]:
    """What each reference option set must bring back, told from the generator's story alone."""
    w, story = s.world, s.story
    dead = s.deactivated.id
    deleted = {e.card_id for e in story.after if e.kind == "delete_card"}
    touched = {(e.card_id, e.member_id) for e in story.after if e.kind in ("readd", "remove")}
    lost_b = {
        (e.card_id, e.member_id)
        for e in story.incident_losses
        if e.member_id != dead
        and e.card_id not in deleted
        and (e.card_id, e.member_id) not in touched
    }
    if name == "b":
        return lost_b
    if name == "c":
        logged = {(e.card_id, e.member_id) for e in story.incident_losses if e.logged}
        return lost_b & logged
    if name == "a":
        return {(c, m) for c, m in lost_b if w.boards[w.cards[c].id_board].is_active_member(m)}
    removed_after = set()
    for i, e in enumerate(story.after):
        later_readd = any(
            x.kind == "readd" and (x.card_id, x.member_id) == (e.card_id, e.member_id)
            for x in story.after[i + 1 :]
        )
        if e.kind == "remove" and e.member_id != dead and not later_readd:
            removed_after.add((e.card_id or "", e.member_id or ""))
    lost_d = lost_b | removed_after
    if name == "d":
        return lost_d
    assert name == "e"
    with_recorded = {e.card_id for e in story.incident_losses if e.logged} | {
        c for c, _ in removed_after
    }
    ever = {
        (c, m)
        for c, m in story.ever_added
        if c in w.cards
        and c not in with_recorded
        and m not in w.cards[c].id_members
        and m != dead
        and set(w.cards[c].boards_seen) & set(s.scope)
    }
    return {(c, m) for c, m in lost_d if c in with_recorded} | ever


def _apply_directly(s: Scenario, truth: GroundTruth) -> None:
    """Carry the ground truth out on the world itself: grants first, then card members."""
    w = s.world
    for g in sorted(truth.grants):
        w.add_member_to_board(g.board_id, g.member_id, s.mover.id, "normal")
    for ch in sorted(truth.changes):
        w.add_member_to_card(ch.card_id, ch.member_id, s.mover.id)


@pytest.mark.parametrize(("seed", "cards"), SEEDS_SIZES)
@pytest.mark.parametrize("name", ["a", "b", "c", "d", "e"])
def test_ground_truth_matches_the_story_and_applies_cleanly(
    seed: int, cards: int, name: str
) -> None:
    """The ledger-derived truth equals what the story says must come back, and applying it to
    the sandbox state (grants first) succeeds with no duplicate and no non-member add."""
    s = generate(seed, cards)
    truth = s.truth(name)
    expected = _expected_adds(s, name)
    assert truth.pairs() == expected
    before = {cid: list(c.id_members) for cid, c in s.world.cards.items()}
    _apply_directly(s, truth)
    for cid, card in s.world.cards.items():
        added = {m for c, m in expected if c == cid}
        assert set(card.id_members) == set(before[cid]) | added
        assert len(card.id_members) == len(set(card.id_members))


@pytest.mark.parametrize(("seed", "cards"), SEEDS_SIZES)
def test_blocked_changes_are_really_blocked(seed: int, cards: int) -> None:
    """Set a blocks exactly the members the archive board lacks; Trello refuses those adds."""
    s = generate(seed, cards)
    a, b = s.truth("a"), s.truth("b")
    assert {(x.card_id, x.member_id) for x in a.blocked} == b.pairs() - a.pairs()
    assert a.grants == frozenset()
    needed = {(x.board_id, x.member_id) for x in a.blocked}
    assert {(g.board_id, g.member_id) for g in b.grants} == needed
    assert all(g.role == "normal" for g in b.grants)
    for ch in sorted(a.blocked)[:5]:
        with pytest.raises(TrelloError) as err:
            s.world.add_member_to_card(ch.card_id, ch.member_id, s.mover.id)
        assert err.value.status == 400


@pytest.mark.parametrize(("seed", "cards"), SEEDS_SIZES)
@pytest.mark.parametrize("name", ["a", "b", "c", "d", "e"])
def test_every_recorded_removal_is_accounted_for_once(seed: int, cards: int, name: str) -> None:
    """Each removeMemberFromCard in scope is a change's evidence, blocked, or skipped: once;
    but in mode ever-added's fallback (a card with no removal in the window), the removals of a
    member ever added and gone are not: that member is decided once, by their last add (R71d)."""
    s = generate(seed, cards)
    truth = s.truth(name)
    scope = scope_cards(s.world, s.scope)
    in_scope = {c.id for c, _ in scope}
    removals = [
        a for a in s.world.actions if a.type == "removeMemberFromCard" and a.id_card in in_scope
    ]
    decided_by_add: set[tuple[str | None, str | None]] = set()
    if truth.options.mode == "ever-added":
        since = truth.options.since
        windowed = {a.id_card for a in removals if a.date >= since}
        for card, deleted in scope:
            if deleted or card.id in windowed:
                continue
            added = {
                a.id_member
                for a in s.world.actions
                if a.type == "addMemberToCard" and a.id_card == card.id
            }
            decided_by_add |= {(card.id, m) for m in added - set(card.id_members)}
        assert decided_by_add, "the scenario has no fallback card to check"
    judged = {a.id for a in removals if (a.id_card, a.id_member) not in decided_by_add}
    seen = Counter(
        [x.action_id for x in truth.changes | truth.blocked if x.evidence == "recorded_removal"]
        + [x.action_id for x in truth.skipped if x.action_id in {a.id for a in removals}]
    )
    assert set(seen) == judged
    assert all(n == 1 for n in seen.values())


def test_skip_reasons_follow_the_story() -> None:
    """Deleted card, deactivated member, re-adds and others' removals get the documented reasons."""
    s = generate(3, 1000)
    story = s.story
    a, d = s.truth("a"), s.truth("d")
    reasons_a = {(x.card_id, x.member_id, x.action_id): x.reason for x in a.skipped}
    deleted = next(e.card_id for e in story.after if e.kind == "delete_card")
    for ev in story.incident_losses:
        key = (ev.card_id, ev.member_id, ev.action_id)
        if ev.card_id == deleted and ev.logged:
            assert reasons_a[key] == "card_deleted"
        elif ev.member_id == s.deactivated.id and ev.logged:
            assert reasons_a[key] == "deactivated"
    readds = [e for e in story.after if e.kind == "readd"]
    assert readds
    for e in readds:
        ev = next(
            x for x in story.incident_losses if (x.card_id, x.member_id) == (e.card_id, e.member_id)
        )
        if ev.logged:
            assert reasons_a[(ev.card_id, ev.member_id, ev.action_id)] in (
                "already_on_card",
                "re_added_later",
            )
    others = [e for e in story.after if e.kind == "remove" and e.by != s.mover.id]
    assert others
    reasons_d = {(x.card_id, x.member_id): x.reason for x in d.skipped}
    for e in others:
        assert any(
            x.reason == "filtered" and (x.card_id, x.member_id) == (e.card_id, e.member_id)
            for x in a.skipped
        )
        assert (e.card_id, e.member_id) in d.pairs() or reasons_d.get(
            (e.card_id or "", e.member_id or "")
        ) in ("deactivated", "already_on_card")
    c = s.truth("c")
    silent = {(e.card_id, e.member_id) for e in story.incident_losses if not e.logged}
    assert silent
    assert any(x.reason == "filtered" and (x.card_id, x.member_id) in silent for x in c.skipped)


def test_export_has_real_shape_and_cap() -> None:
    """The board export holds the newest 1000 actions, newest first, plus cards and members."""
    s = generate(2, 1000)
    export = s.export()
    assert len(export["actions"]) == 1000
    dates = [a["date"] for a in export["actions"]]
    assert dates == sorted(dates, reverse=True)
    assert export["actions"][0]["id"] == s.world.board_feed[s.team.id][-1].id
    assert {c["idBoard"] for c in export["cards"]} == {s.team.id}
    assert {m["idMember"] for m in export["memberships"]} == set(
        s.world.boards[s.team.id].memberships
    )
    small = generate(1, 20).export()
    assert len(small["actions"]) < 1000


# ------------------------------------------------------------ the second damage (design.md §10.4)

DAMAGE_SEEDS_SIZES = [(1, 20), (2, 200), (3, 1000), (5, 60)]


def _expected_values(s: Scenario, name: str) -> dict[StateKey, FieldValue]:
    """What f, g and h set back, told from the generator's story alone."""
    d = s.story.second
    assert d is not None
    unarchived = d.unarchived[0] if d.unarchived else None
    out: dict[StateKey, FieldValue] = {
        ("card", c, "closed"): False for c in d.archived_cards if c != unarchived
    }
    if name == "f":
        return out
    again = d.moved_on_purpose[0] if d.moved_on_purpose else None
    out |= {("card", c, "idList"): d.moved_from for c in d.moved_cards if c != again}
    out |= {("card", c, "due"): v for c, v in d.due_before.items()}
    edited = d.desc_edited[0] if d.desc_edited else None
    out |= {("card", c, "desc"): v for c, v in d.desc_before.items() if c != edited}
    if name == "g":
        return out
    # h: every change since T, by anyone: the edits by hand are undone too, and the archive
    # board's list archived in the aftermath comes back.
    if edited is not None:
        out[("card", edited, "desc")] = d.desc_before[edited]
    if d.moved_on_purpose is not None:
        cid, _, src, dst = d.moved_on_purpose
        target = d.moved_from if cid in d.moved_cards else src
        if target != dst:
            out[("card", cid, "idList")] = target
    out |= {("list", e.list_id or "", "closed"): False for e in s.story.after if e.list_id}
    return out


def _apply_values(s: Scenario, truth: GroundTruth) -> None:
    """Carry the value changes out on the world itself, lists first."""
    w = s.world
    for c in sorted(truth.value_changes, key=lambda c: (c.object_type != "list", c.key)):
        if c.object_type == "list":
            assert isinstance(c.value, bool)
            w.set_list_closed(c.object_id, c.value, s.mover.id)
        elif c.field == "closed":
            assert isinstance(c.value, bool)
            w.set_card_closed(c.object_id, c.value, s.mover.id)
        elif c.field == "idList":
            w.move_card_to_list(c.object_id, str(c.value), s.mover.id, pos="bottom")
        else:
            w.set_card_field(c.object_id, c.field, c.value, s.mover.id)


@pytest.mark.parametrize(("seed", "cards"), DAMAGE_SEEDS_SIZES)
@pytest.mark.parametrize("name", ["f", "g", "h"])
def test_second_damage_truth_matches_the_story(seed: int, cards: int, name: str) -> None:
    """The ledger-derived truth of f, g and h sets back exactly what the story says; the edits
    by hand are skipped with the documented reasons; h restores members as d does; every change
    expects the value the field holds now; carrying it out leaves ``end_state(baseline)``."""
    s = generate(seed, cards, second_damage=True)
    d = s.story.second
    assert d is not None
    assert s.second_damage_at == d.at > s.incident_at
    assert s.culprit is not None
    assert s.culprit.id == d.culprit != s.mover.id
    truth = s.truth(name)
    assert truth.values() == _expected_values(s, name)
    skips = {(x.object_id, x.field): x for x in truth.value_skipped}
    assert d.unarchived is not None
    assert skips[(d.unarchived[0], "closed")].reason == "already_restored"
    if name == "g":
        assert d.desc_edited is not None
        edited = skips[(d.desc_edited[0], "desc")]
        when = next(e.at for e in s.world.field_ledger if (e.object_id, e.by) == d.desc_edited)
        assert (edited.reason, edited.others) == ("changed_by_others", ((d.desc_edited[1], when),))
        assert edited.action_id in {e.action_id for e in s.world.field_ledger if e.app}
        if d.moved_on_purpose is not None:
            cid = d.moved_on_purpose[0]
            reason = "changed_by_others" if cid in d.moved_cards else "filtered"
            assert skips[(cid, "idList")].reason == reason
    assert all(x.reason in VALUE_SKIP_ORDER for x in truth.value_skipped)
    kinds = {"f": {"closed"}, "g": None, "h": None}[name]
    in_scope = {c.id for c, _ in scope_cards(s.world, s.scope)} | {
        x.id for x in s.world.lists.values() if x.id_board in s.scope
    }
    changed = {
        (e.object_id, e.field)
        for e in s.world.field_ledger
        if e.object_id in in_scope and (kinds is None or e.field in kinds)
    }
    decided = [(c.object_id, c.field) for c in truth.value_changes] + list(skips)
    # Every changed field decided exactly once; but a card moved across boards in the window
    # and not back, said as moved (unrestorable), not by its list (R47d).
    said = {(u.card_id, "idList") for u in truth.unrestorable if u.what != "card_deleted"}
    assert sorted(decided) == sorted(changed - (said - set(decided)))
    if name == "h":
        d_truth = s.truth("d")
        assert (truth.changes, truth.grants, truth.blocked) == (
            d_truth.changes,
            d_truth.grants,
            d_truth.blocked,
        )
        deleted = {e.card_id for e in s.story.after if e.kind == "delete_card"}
        gone = {u.card_id for u in truth.unrestorable if u.what == "card_deleted"}
        assert gone == deleted
        # The incident's lists (and its card moved alone) went to the archive board: across
        # boards, not moved back (design.md §10.1), listed as such.
        moved = {u.card_id for u in truth.unrestorable if u.what == "moved_to_other_board"}
        alone = {s.moved_card} if s.moved_card and s.moved_card not in deleted else set()
        assert moved == set(s.moved_lists) | alone
        assert {u.what for u in truth.unrestorable} <= {"card_deleted", "moved_to_other_board"}
    elif name == "g":
        # Members: the culprit removed none, but the incident's silent losses still stand and the
        # log shows those members on their cards at T2 (it cannot date the loss): reconstructed,
        # and blocked where the member is not on the archive board (no --add-to-board).
        silent = {(e.card_id, e.member_id) for e in s.story.incident_losses if not e.logged}
        assert {(c.card_id, c.member_id) for c in truth.changes | truth.blocked} == (
            _expected_adds(s, "b") & silent
        )
        assert {c.evidence for c in truth.changes | truth.blocked} <= {"reconstructed"}
        assert not truth.grants
        assert not truth.unrestorable
    else:
        assert not truth.changes
        assert not truth.blocked
        assert not truth.skipped
        assert not truth.grants
        assert not truth.unrestorable
    baseline = snapshot(s.world)
    assert all(baseline[c.key] == c.expected for c in truth.value_changes)
    _apply_directly(s, truth)
    _apply_values(s, truth)
    assert snapshot(s.world) == truth.end_state(baseline)


@pytest.mark.parametrize(("seed", "cards"), [(2, 200), (3, 1000)])
def test_second_damage_leaves_the_incident_as_it_was(seed: int, cards: int) -> None:
    """With the second damage the history before T2 is the default scenario's, action for
    action, and the ground truth of a-e is the same: existing option sets are unaffected."""
    plain, damaged = generate(seed, cards), generate(seed, cards, second_damage=True)
    assert plain.second_damage_at is None
    assert plain.culprit is None
    assert plain.story.second is None
    assert sorted(plain.option_sets()) == ["a", "b", "c", "d", "e"]
    assert sorted(damaged.option_sets()) == ["a", "b", "c", "d", "e", "f", "g", "h"]
    t2 = damaged.second_damage_at
    assert t2 is not None
    before = [a for a in damaged.world.actions if a.date < t2]
    assert [render.action(plain.world, a) for a in plain.world.actions] == [
        render.action(damaged.world, a) for a in before
    ]
    assert plain.world.ledger == damaged.world.ledger
    for name in "abcde":
        a, b = plain.truth(name), damaged.truth(name)
        assert (a.changes, a.grants, a.blocked, a.skipped) == (
            b.changes,
            b.grants,
            b.blocked,
            b.skipped,
        )
        assert not b.value_changes
        assert not b.value_skipped
        assert not b.unrestorable


def test_value_truth_rules_on_a_hand_built_world() -> None:
    """Each value skip reason and each filter of the truth's §10.2 rule, on a world small enough
    to read: outside the window, already restored, deleted (and unrestorable), a move back to a
    list on another board, filtered by --by, --card and --until; a list archive planned."""
    w = World(seed=5, clock=lambda: T0 + timedelta(days=9))
    ann, bob = (w.add_member(n, n.title(), T0).id for n in ("ann", "bob"))
    board, other = (w.create_board(n, ann, T0).id for n in ("Team", "Other"))
    w.add_member_to_board(board, bob, ann, "normal", T0)
    w.add_member_to_board(other, bob, ann, "normal", T0)
    l1, l2 = (w.create_list(board, n, ann, T0).id for n in ("L1", "L2"))
    m1 = w.create_list(other, "M1", ann, T0).id
    c1, c2, c3, c4, c5 = (w.create_card(l1, f"C{i}", ann, T0).id for i in range(1, 6))

    def h(hours: float) -> datetime:
        return T0 + timedelta(hours=hours)

    w.set_card_closed(c1, True, ann, h(1))
    w.set_card_closed(c2, True, ann, h(11))
    w.set_card_closed(c2, False, bob, h(12))
    w.set_card_closed(c3, True, ann, h(11))
    w.delete_card(c3, ann, h(13))
    w.move_card_to_list(c4, l2, ann, h(11))
    w.move_card_to_board(c4, other, m1, ann, h(12))
    w.set_card_field(c5, "desc", "new", bob, h(11))
    w.set_list_closed(l2, True, ann, h(11.5))
    since = h(10)
    every = frozenset({"archived", "list", "fields"})

    def decide(**options: Any) -> dict[tuple[str, str], str | FieldValue]:
        t = compute(w, [board, other], OptionSet("t", since=since, restore=every, **options))
        out: dict[tuple[str, str], str | FieldValue] = {
            (x.object_id, x.field): x.reason for x in t.value_skipped
        }
        return out | {(c.object_id, c.field): c.value for c in t.value_changes}

    assert decide() == {
        (c1, "closed"): "outside_window",
        (c2, "closed"): "already_restored",
        (c3, "closed"): "object_deleted",
        (c5, "desc"): "",
        (l2, "closed"): False,
    }
    # c4 moved to the list on the other board: said as moved (unrestorable), not as its list;
    # when that move lies after --until, its list's move before it is left as other_board.
    assert decide(until=w.board_moves[0].at)[(c4, "idList")] == "other_board"
    by_ann = decide(by=ann)
    assert by_ann[(c5, "desc")] == "filtered"
    assert by_ann[(c2, "closed")] == "already_restored"  # bob's unarchive: restored already
    only_c5 = decide(cards=frozenset({c5}))
    assert (only_c5[(c5, "desc")], only_c5[(l2, "closed")]) == ("", "filtered")
    assert decide(until=h(11))[(c5, "desc")] == "outside_window"
    assert decide(lists=frozenset({l2}))[(l2, "closed")] is False
    gone = compute(w, [board], OptionSet("t", since=since, restore=every, by=bob)).unrestorable
    assert gone == frozenset()
    gone = compute(w, [board], OptionSet("t", since=since, restore=every, by=ann)).unrestorable
    assert sorted((u.card_id, u.by, u.at, u.what) for u in gone) == sorted(
        [(c3, ann, h(13), "card_deleted"), (c4, ann, w.board_moves[0].at, "moved_to_other_board")]
    )
    both = compute(w, [board, other], OptionSet("t", since=since, restore=every)).unrestorable
    assert {u.what for u in both if u.card_id == c4} == {"moved_to_other_board"}
    there = compute(w, [other], OptionSet("t", since=since, restore=every)).unrestorable
    assert [(u.card_id, u.what) for u in there] == [(c4, "moved_from_other_board")]
    fields = frozenset({"archived", "fields"})  # the moves are the list kind's
    no_list = compute(w, [board], OptionSet("t", since=since, restore=fields, by=ann))
    assert [u.what for u in no_list.unrestorable] == ["card_deleted"]
    assert compute(w, [board], OptionSet("t", since=since)).value_changes == frozenset()

    # R50d: the truth's own rule for a card's moves between boards (R47d, R48a), which only the
    # plans compared with it held: a round trip into another list is planned back, with each
    # move's record of the board it left alone; a colleague's move back is named once.
    c6, c7 = (w.create_card(l1, f"C{i}", ann, h(20)).id for i in (6, 7))
    away = w.move_card_to_board(c6, other, m1, ann, h(21))
    back = w.move_card_to_board(c6, board, l2, ann, h(22))
    w.move_card_to_board(c7, other, m1, ann, h(21))
    theirs = w.move_card_to_board(c7, board, l2, bob, h(22))
    lists = frozenset({"list"})
    t = compute(w, [board, other], OptionSet("t", since=h(20.5), restore=lists))
    (moved,) = [c for c in t.value_changes if c.object_id == c6]
    assert (moved.value, moved.expected) == (l1, l2)
    assert moved.action_ids == (away.from_action.id, back.from_action.id)
    t = compute(w, [board, other], OptionSet("t", since=h(20.5), restore=lists, by=ann))
    (kept,) = [x for x in t.value_skipped if x.object_id == c7]
    assert kept.reason == "changed_by_others"
    assert kept.others == ((bob, theirs.to_action.date),)  # one move, once
