"""Decide who goes back on which card: a pure function of (history, state, options).

``build_plan`` implements design.md §3. It reads no clock, no environment and no network; every
decision ends up as data in the returned ``Plan`` (changes with their evidence, blocked changes,
skipped candidates with their reason). The applier carries the plan out.

Per card in scope, the card's ``addMemberToCard``/``removeMemberFromCard`` actions are replayed in
date order (ties by action id):

- each recorded removal is planned, blocked, or skipped with the first reason that applies, in the
  order of ``SKIP_ORDER``;
- unless ``only_recorded``, members who were on the card at the cutoff, are not on it now, and
  have no removal recorded at or after the cutoff are silent losses: ``reconstructed`` changes
  whose evidence is the add that put them there (existing cards only);
- in mode ``ever-added``, a card with no recorded removal inside the window instead gets every
  member ever added to it who is not on it now (``ever_added``); their removals, all before the
  window, are then not also skipped.

A change whose member is not an active member of the card's board now is blocked
(``not_board_member``) unless ``add_to_board`` is set; then an ``add_member_to_board`` change is
planned first. Deactivated members are never planned.

Which cards a plan may touch (``cards_in_scope``) and the check of the filter values
(``resolve_filters``) are in ``planner_scope.py``.
"""

from __future__ import annotations

import hashlib
import operator
from bisect import bisect_right
from collections.abc import Collection, Iterable, Mapping
from dataclasses import replace
from datetime import datetime
from typing import Any

from trello_restore.models import (
    Blocked,
    CardInfo,
    CardState,
    Change,
    Evidence,
    EvidenceKind,
    History,
    MemberAction,
    MemberRef,
    MoveAction,
    Plan,
    PlanOptions,
    Skipped,
    SkipReason,
    State,
    normal_name,
)
from trello_restore.planner_drafts import (
    ByCard,
    ChangeDraft,
    EvidenceDraft,
    SkippedDraft,
    by_card,
    no_gc,
)
from trello_restore.planner_scope import (
    MoveIndex,
    Places,
    card_places,
    cards_in_scope,
    in_plan_order,
    resolve_filters,
)
from trello_restore.planner_values import authors_named, plan_values
from trello_restore.words import plural

__all__ = [
    "SKIPPED_ORDER",
    "build_plan",
    "cards_in_scope",
    "change_id",
    "chosen",
    "resolve_filters",
    "undated_losses",
]


def change_id(action: str, *parts: str) -> str:
    """A stable id: the same change (kind, card or board, member, evidence) gives the same id."""
    digest = hashlib.sha256("\0".join((action, *parts)).encode()).hexdigest()
    return f"c-{digest[:16]}"


def build_plan(
    history: History,
    state: State,
    options: PlanOptions,
    members: Mapping[str, MemberRef] | None = None,
    incomplete: frozenset[str] = frozenset(),
    named_boards: Collection[str] | None = None,
    own_member: str | None = None,
) -> Plan:
    """Decide the plan. ``members`` adds names (e.g. from board member listings) to the ones the
    actions carry; nothing is ever looked up. ``incomplete`` names cards whose history is known
    to be cut (export caps, unreadable source boards): no reconstructed or ever-added change is
    planned for them, and the plan lists them. ``named_boards`` are the boards the user named
    (None: every board of ``state``); see ``cards_in_scope``. ``own_member``: the token's
    member (None when not known, as from exports), whose changes that put a field back where it
    was are not later work (``planner_values.lasting_others``)."""
    with no_gc():
        earlier, later = by_card(history.member_actions, options.since)
        places = card_places(history)  # for the scope and the planner, once
        scope = cards_in_scope(
            history, state, named_boards, acted_on=earlier.keys() | later, places=places
        )
        planner = _Planner(
            history, state, options, members or {}, incomplete, scope, (earlier, later), places
        )
        plan = planner.plan() if "members" in options.restore else None
    if plan is None:
        plan = Plan(options=options, changes=(), blocked=(), skipped=())
    if not options.restore - {"members"}:
        return plan
    # The value kinds (design.md §10.2): after the board grants, before the card members.
    values = plan_values(
        history, state, options, planner.members, scope, named_boards, change_id, own_member
    )
    grants = plan.board_changes()
    return replace(
        plan,
        changes=(*grants, *values.changes, *plan.card_changes()),
        value_skipped=values.skipped,
        unrestorable=values.unrestorable,
    )


#: ``changes_of``'s hash, bound once (a module attribute's lookup per change otherwise).
_sha256 = hashlib.sha256

#: A change planned for the card at hand: the member, the evidence's kind, its action (the
#: removal, or the add) and the move it came with.
_Found = tuple[str, EvidenceKind, MemberAction, MoveAction | None]


class _Planner:
    """The member rule (design.md §3), made to run in one pass over each card's actions: the
    actions are grouped per card once, split at the cutoff (``planner_drafts.by_card``),
    per-card facts (selected, its board, its list's name) are computed once per card, and a
    removal's later actions are found by one backward pass instead of a scan per removal, the
    same pass that replays the card to the cutoff; the move a removal came with is looked up in
    an index (``planner_scope.MoveIndex``), and a card's changes are built together once it is
    decided (``changes_of``), as drafts (``planner_drafts.ChangeDraft``). The cards are taken
    in the plan's order (``planner_scope.in_plan_order``), so the changes come out sorted but
    for each card's few. ``tests/planner_reference.py`` keeps the straightforward version the
    output is held to
    (``test_planner_speed_equivalence``)."""

    def __init__(
        self,
        history: History,
        state: State,
        options: PlanOptions,
        members: Mapping[str, MemberRef],
        incomplete: frozenset[str],
        scope: frozenset[str],
        by_card: tuple[ByCard, ByCard],
        places: Places,
    ) -> None:
        self.h, self.state, self.opts = history, state, options
        self.since = options.since
        self.incomplete = incomplete
        self.scope = scope
        self.wanted_lists = (
            {normal_name(x) for x in options.lists} if options.lists is not None else None
        )
        #: No option filters removals by who made them or why (``recorded``'s common case).
        self.unfiltered = options.removed_by is None and options.by is None and not options.cause
        self.members: dict[str, MemberRef] = dict(history.members)
        for mid, ref in members.items():
            old = self.members.get(mid)
            self.members[mid] = MemberRef(
                mid,
                ref.username or (old.username if old else ""),
                ref.full_name or (old.full_name if old else ""),
            )
        # The authors whose removals --removed-by (or --by) keeps: the one named, by id or by
        # username; None without either. Members ``member`` adds later have no username.
        wanted = options.removed_by if options.removed_by is not None else options.by
        self.authors = authors_named(wanted, self.members, history)
        self.deactivated = {
            mid
            for board in state.boards.values()
            for mid, ms in board.memberships.items()
            if ms.deactivated
        }
        #: Each card's actions before the cutoff, and at or after it.
        self.earlier, self.later = by_card
        #: Each card's places (``card_places``).
        self.card_lists = places
        self.moves = MoveIndex(history.moves)
        self.list_names = {
            lid: name for board in state.boards.values() for lid, name in board.lists.items()
        }
        #: Per card with changes, in the plan's order, its changes (``changes_of``).
        self.groups: list[list[Change]] = []
        #: Per board, its active members (``Membership.active``).
        self.active = {
            bid: {mid for mid, ms in board.memberships.items() if ms.active}
            for bid, board in state.boards.items()
        }
        #: The changes planned for the card at hand (``propose``), built when it is decided.
        self.found: list[_Found] = []
        self.skipped: list[Skipped] = []

    # ------------------------------------------------------------------------------ helpers

    def member(self, member_id: str) -> MemberRef:
        ref = self.members.get(member_id)
        if ref is None:
            ref = self.members[member_id] = MemberRef(member_id)
        return ref

    def in_window(self, date: datetime) -> bool:
        o = self.opts
        return date >= o.since and (o.until is None or date < o.until)

    def selected(self, card: CardState) -> bool:
        return chosen(card, self.wanted_lists, self.opts.cards, self.list_names)

    def removed_by_matches(self, by: str) -> bool:
        """Whether --removed-by (or --by, which applies to member removals too) keeps a removal
        by ``by`` (``authors``)."""
        return self.authors is None or by in self.authors

    def list_at(self, card_id: str, date: datetime, fallback: str) -> str:
        """The list the card was in at ``date``: its last place at or before it (``fallback``,
        its list now, when none is known)."""
        places = self.card_lists.get(card_id)
        if not places:
            return fallback
        i = bisect_right(places, date, key=_FIRST)
        return places[i - 1][1] if i else fallback

    def move_of(self, card: CardState, rem: MemberAction) -> MoveAction | None:
        """The move of this card, or of the list it was in, by the removal's author, within
        60 s of it (nothing to look at when its author moved nothing)."""
        if rem.by not in self.moves.movers:
            return None
        return self.moves.coinciding(rem, self.list_at(card.id, rem.date, card.list_id))

    def skip(self, card_id: str, name: str, member_id: str, reason: SkipReason, aid: str) -> None:
        # Skipped(card_id, name, member, reason, aid), drafted (``planner_drafts.ChangeDraft``).
        skipped: Any = SkippedDraft()
        skipped.card_id = card_id
        skipped.card_name = name
        skipped.member = self.member(member_id)
        skipped.reason = reason
        skipped.action_id = aid
        skipped.__class__ = Skipped
        self.skipped.append(skipped)

    def propose(
        self, member_id: str, kind: EvidenceKind, action: MemberAction, move: MoveAction | None
    ) -> None:
        """Plan the change putting ``member_id`` back on the card at hand (``recorded`` adds
        its common case's to ``found`` itself)."""
        self.found.append((member_id, kind, action, move))

    def changes_of(self, card: CardState, found: list[_Found]) -> list[Change]:
        """The card's changes, one for each found, ordered by member (username, id).

        The hot path of a large plan (401,397 changes on 1,000,000 actions), kept to plain
        loads and stores: what the card's changes share is read once, both members are taken
        by one subscript each (a miss, rare, goes through ``member``), and the id is hashed in
        one expression (``change_id``'s, inlined: the hexdigest's first 16 digits, a third
        cheaper than ``digest()[:8].hex()``)."""
        board = self.state.boards[card.board_id]
        active, board_id, board_name = self.active[card.board_id], board.id, board.name
        list_id, card_id, card_name = card.list_id, card.id, card.name
        list_name, short_link = self.list_names.get(list_id, ""), card.short_link
        prefix = f"add_member_to_card\0{card_id}\0"  # change_id(..., card, member, action)
        members, sha256 = self.members, _sha256
        # (username, member id, change), sorted as tuples: one card has one change a member,
        # so their order is the first two's (a key function of two dotted lookups, called
        # for each change, cost more than the rest of the sort).
        decorated: list[tuple[str, str, Change]] = []
        for member_id, kind, action, move in found:
            try:
                member, by = members[member_id], members[action.by]
            except KeyError:
                member, by = self.member(member_id), self.member(action.by)
            aid = action.id
            # Evidence(kind, aid, action.date, by, move id, "") and Change(...), drafted.
            evidence: Any = EvidenceDraft()
            evidence.kind = kind
            evidence.action_id = aid
            evidence.date = action.date
            evidence.by = by
            evidence.move_action_id = move.id if move else None
            evidence.app = ""
            evidence.__class__ = Evidence
            change: Any = ChangeDraft()
            change.change_id = (
                "c-" + sha256(f"{prefix}{member_id}\0{aid}".encode()).hexdigest()[:16]
            )
            change.action = "add_member_to_card"
            change.board_id = board_id
            change.board_name = board_name
            change.member = member
            change.list_id = list_id
            change.list_name = list_name
            change.card_id = card_id
            change.card_name = card_name
            change.card_short_link = short_link
            change.evidence = evidence
            change.role = ""
            change.member_on_card = False
            change.member_on_board = member_id in active
            change.__class__ = Change
            decorated.append((member.username, member_id, change))
        decorated.sort()
        return list(map(_THIRD, decorated))  # (a comprehension: a function call)

    # ------------------------------------------------------------------------------- rules

    def plan(self) -> Plan:
        earlier, later, no_events = self.earlier, self.later, ()
        for cid in self.scope.difference(self.state.cards):  # deleted: removals skipped
            info = self.h.cards.get(cid) or CardInfo(cid)
            for rem in (*earlier.get(cid, no_events), *later.get(cid, no_events)):
                if rem.kind == "remove":
                    self.skip(cid, info.name, rem.member_id, "card_deleted", rem.id)
        self.recorded(in_plan_order(self.state, self.scope, self.list_names))
        return self.finish()

    def recorded(self, cards: list[CardState]) -> None:
        """Each card's member actions replayed, the cards in the plan's order; the changes of
        each go to ``groups`` (``changes_of``).

        Each removal is planned or skipped with the first reason of ``SKIP_ORDER`` that applies
        (``card_deleted`` is ``plan``'s), in one backward pass over the card's actions: when a
        removal is reached, ``later_add``/``later_remove`` hold the members added or removed
        after it (``removed_after``: at or after the cutoff). The same pass replays the card
        up to the cutoff: ``at_cutoff`` is each member's last action before it (an add: on the
        card at the cutoff). Then the silent losses: members on the card at the cutoff, not on
        it now, and not removed at or after it (not for an incomplete card; in mode
        ``ever-added``, a card without a removal in the window gets ``ever_added`` instead).

        ``before`` and ``after``: the card's actions before the cutoff and at or after it, in
        date order. Removals are decided newest first; the order changes are planned in does
        not show (``changes_of`` orders each card's by member, one card never has two changes
        for one member, and the skipped are sorted whole). One loop for all cards, its
        options and lookups read once: per card, a call and its set-up cost as much as a few of
        its actions (100,000 cards on 1,000,000 actions)."""
        o = self.opts
        until, ever_added, only_recorded = o.until, o.mode == "ever-added", o.only_recorded
        every_card = self.wanted_lists is None and o.cards is None  # no --list/--card
        # ``decide``'s change made here when nothing but deactivation and the window can stop
        # it: a selected card, no --removed-by/--by, no --cause (the common case: a call less
        # and none of ``decide``'s filter tests per change).
        unfiltered, deactivated, authors = self.unfiltered, self.deactivated, self.authors
        movers, move_of, decide, skip = self.moves.movers, self.move_of, self.decide, self.skip
        earlier, later, in_window, incomplete = (
            self.earlier,
            self.later,
            self.in_window,
            self.incomplete,
        )
        found, groups, changes_of = self.found, self.groups, self.changes_of
        no_events: list[MemberAction] = []
        #: The card's members whose last action is an add at or after the cutoff, gone now.
        fresh: list[MemberAction] = []
        for card in cards:
            cid, on_card = card.id, card.member_ids
            before, after = earlier.get(cid, no_events), later.get(cid, no_events)
            selected = every_card or self.selected(card)
            plain = selected and unfiltered
            later_add: set[str] = set()
            later_remove: set[str] = set()
            # At or after the cutoff: in the window unless at or after ``until``.
            for rem in reversed(after):
                mid = rem.member_id
                if rem.kind != "remove":
                    if mid not in later_add and mid not in later_remove and mid not in on_card:
                        fresh.append(rem)  # the member's last action: an add, and gone now
                    later_add.add(mid)
                    continue
                # The reasons in SKIP_ORDER's order; the first that applies wins.
                if mid in on_card:
                    skip(cid, card.name, mid, "already_on_card", rem.id)
                elif mid in later_add:
                    skip(cid, card.name, mid, "re_added_later", rem.id)
                elif mid in later_remove:
                    skip(cid, card.name, mid, "removed_again_later", rem.id)
                else:
                    inside = until is None or rem.date < until
                    if plain and inside and not rem.deactivated and mid not in deactivated:
                        move = move_of(card, rem) if rem.by in movers else None
                        found.append((mid, "recorded_removal", rem, move))
                    else:
                        decide(card, rem, selected, inside)
                later_remove.add(mid)
            # Before the cutoff: outside the window; the first seen of each member is its last.
            removed_after = later_remove  # copied when a removal before the cutoff is added
            at_cutoff: dict[str, MemberAction] = {}
            last = at_cutoff.setdefault
            for rem in reversed(before):
                mid = rem.member_id
                last(mid, rem)
                if rem.kind != "remove":
                    later_add.add(mid)
                    continue
                if mid in on_card:
                    skip(cid, card.name, mid, "already_on_card", rem.id)
                elif mid in later_add:
                    skip(cid, card.name, mid, "re_added_later", rem.id)
                elif mid in later_remove:
                    skip(cid, card.name, mid, "removed_again_later", rem.id)
                elif not selected or (authors is not None and rem.by not in authors):
                    # ``decide``'s first reason, without the call: most old removals on a long
                    # board are by someone other than --removed-by (52,900 on the 272,000-action
                    # one).
                    skip(cid, card.name, mid, "filtered", rem.id)
                else:
                    decide(card, rem, selected, False)
                if later_remove is removed_after:
                    later_remove = set(removed_after)
                later_remove.add(mid)
            if cid in incomplete:
                pass  # the replay cannot support implied changes
            # (A removal in the window is at or after the cutoff.)
            elif ever_added and not any(e.kind == "remove" and in_window(e.date) for e in after):
                self.ever_added(card, (*before, *after), selected)
            else:  # the silent losses
                proposing = selected and not only_recorded  # else ``implied`` skips them
                for mid, add in at_cutoff.items():
                    # The add read last: a card's actions lie scattered in memory, and only
                    # those that may become a change's evidence (read then anyway) are worth a
                    # read.
                    if mid in on_card or mid in removed_after or add.kind != "add":
                        continue
                    if proposing and mid not in deactivated:  # ``implied``'s change, inlined
                        found.append((mid, "reconstructed", add, None))
                    else:
                        self.implied(card, mid, "reconstructed", add, selected)
                # Added (again) at or after the cutoff and gone since without a recorded
                # removal; those the loop above took (on the card at the cutoff, not removed
                # since) keep the add before the cutoff as their evidence.
                for add in fresh:
                    mid = add.member_id
                    prior = at_cutoff.get(mid)
                    if prior is not None and prior.kind == "add" and mid not in removed_after:
                        continue
                    if proposing and mid not in deactivated:  # as above
                        found.append((mid, "reconstructed", add, None))
                    else:
                        self.implied(card, mid, "reconstructed", add, selected)
            fresh.clear()
            if found:
                groups.append(changes_of(card, found))
                found.clear()

    def decide(self, card: CardState, rem: MemberAction, selected: bool, in_window: bool) -> None:
        """A removal of someone not on the card and not added or removed after it: the rest of
        ``SKIP_ORDER`` (``filtered``, ``deactivated``, ``outside_window``), or the change. The
        move it came with is looked for only where it shows: ``--cause move``, or the change."""
        reason: SkipReason | None = None
        move: MoveAction | None = None
        if (
            not selected
            or not self.removed_by_matches(rem.by)
            or (self.opts.cause == "move" and (move := self.move_of(card, rem)) is None)
        ):
            reason = "filtered"
        elif rem.deactivated or rem.member_id in self.deactivated:
            reason = "deactivated"
        elif not in_window:
            reason = "outside_window"
        if reason is not None:
            self.skip(card.id, card.name, rem.member_id, reason, rem.id)
        else:
            move = move or self.move_of(card, rem)
            self.propose(rem.member_id, "recorded_removal", rem, move)

    def ever_added(self, card: CardState, events: Iterable[MemberAction], selected: bool) -> None:
        """The fallback for a card with no removal in the window: each member ever added and
        not on the card now is planned (or skipped by a filter or deactivation) once, by their
        last add. Their removals, all before the window, are not judged: the skips the loop
        over them recorded (the card's, last in ``skipped``) are taken back, so that nobody is
        both planned and skipped (R71d: ``outside_window`` beside the change)."""
        last_add: dict[str, MemberAction] = {}
        for e in events:
            if e.kind == "add":
                last_add[e.member_id] = e
        gone = last_add.keys() - card.member_ids
        skipped = self.skipped
        kept: list[Skipped] = []
        while skipped and skipped[-1].card_id == card.id:
            if (entry := skipped.pop()).member.id not in gone:
                kept.append(entry)
        skipped.extend(reversed(kept))
        for mid, add in last_add.items():
            if mid not in card.member_ids:
                self.implied(card, mid, "ever_added", add, selected)

    def implied(
        self,
        card: CardState,
        member_id: str,
        kind: EvidenceKind,
        add: MemberAction,
        selected: bool,
    ) -> None:
        """A change with no removal behind it: only the filters and deactivation can stop it."""
        if self.opts.only_recorded or not selected:
            self.skip(card.id, card.name, member_id, "filtered", add.id)
        elif member_id in self.deactivated:
            self.skip(card.id, card.name, member_id, "deactivated", add.id)
        else:
            self.propose(member_id, kind, add, None)

    def finish(self) -> Plan:
        """The card changes (and the blocked ones) in the plan's order: by board, list, card
        (names, then ids) and member (username, id). Every change of a card shares its place
        up to the member, and the cards were taken in that order (``in_plan_order``); each
        card's few changes were sorted by member as they were built (``changes_of``)."""
        changes: list[Change] = []
        blocked: list[Blocked] = []
        grants: dict[tuple[str, str], Change] = {}
        add_to_board = self.opts.add_to_board
        for group in self.groups:
            if not add_to_board:
                for change in group:
                    if change.member_on_board:
                        changes.append(change)
                    else:
                        blocked.append(Blocked(change, "not_board_member"))
                continue
            changes.extend(group)
            for change in group:
                key = (change.board_id, change.member.id)
                if not change.member_on_board and key not in grants:
                    grants[key] = Change(
                        change_id=change_id(
                            "add_member_to_board", change.board_id, change.member.id
                        ),
                        action="add_member_to_board",
                        board_id=change.board_id,
                        board_name=change.board_name,
                        member=change.member,
                        role=self.opts.board_role,
                        member_on_board=False,
                    )
        return Plan(
            options=self.opts,
            changes=(*sorted(grants.values(), key=_board_change_key), *changes),
            blocked=tuple(blocked),
            incomplete=tuple(
                sorted(c for c in self.incomplete & self.scope if c in self.state.cards)
            ),
            skipped=tuple(sorted(self.skipped, key=SKIPPED_ORDER)),
        )


#: A card's place's date.
_FIRST = operator.itemgetter(0)
#: A change, from its (username, member id, change) (``changes_of``).
_THIRD = operator.itemgetter(2)
#: The order of the skipped: by card (name, id), member id and action id (the member rule's
#: always have one).
SKIPPED_ORDER = operator.attrgetter("card_name", "card_id", "member.id", "action_id")


def _board_change_key(c: Change) -> tuple[str, ...]:
    return (c.board_name, c.board_id, c.member.username, c.member.id)


def chosen(
    card: CardState,
    lists: Collection[str] | None,
    cards: Collection[str] | None,
    list_names: Mapping[str, str],
) -> bool:
    """Whether ``--list`` and ``--card`` choose ``card``: ``lists``, the lists' ids or names
    (``normal_name``), and ``cards``, the cards' ids or shortLinks (None: not given);
    ``list_names``: list id to name."""
    if lists is not None and not (
        card.list_id in lists or normal_name(list_names.get(card.list_id, "")) in lists
    ):
        return False
    return cards is None or card.id in cards or card.short_link in cards


def undated_losses(plan: Plan, now: datetime) -> list[str]:
    """A plan with ``--until`` before ``now`` whose changes or blocked changes include silent
    losses (``reconstructed``): the warning that they have no date, so ``--until`` cannot leave
    out those that happened after it (R43d: a window ending before the incident still planned
    the incident's unlogged losses, with no word). An ``--until`` from ``now`` on leaves out
    nothing that has happened."""
    until = plan.options.until
    if until is None or until >= now:
        return []

    def lost(changes: Iterable[Change]) -> int:
        return sum(c.evidence is not None and c.evidence.kind == "reconstructed" for c in changes)

    changes, blocked = lost(plan.changes), lost(b.change for b in plan.blocked)
    total = changes + blocked
    if not total:
        return []
    what = " and ".join(
        x
        for x in (
            plural(changes, "change") if changes else "",
            plural(blocked, "blocked change") if blocked else "",
        )
        if x
    )
    one = total == 1
    return [
        f"{what} {'is a loss' if one else 'are losses'} Trello did not log (reconstructed), "
        f"which {'has' if one else 'have'} no date in the log: "
        f"{'it' if one else 'some'} may have happened after --until, which cannot leave "
        f"{'it' if one else 'them'} out; check {'it' if one else 'them'}, or leave such changes "
        "out with --only-recorded"
    ]
