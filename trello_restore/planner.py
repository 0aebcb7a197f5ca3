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
  member ever added to it who is not on it now (``ever_added``).

A change whose member is not an active member of the card's board now is blocked
(``not_board_member``) unless ``add_to_board`` is set; then an ``add_member_to_board`` change is
planned first. Deactivated members are never planned.

Scope (``cards_in_scope``): every card of a board the user named; of a board reached only by
following a move, only the cards that moved between it and a named board (its other cards
supply nothing but history). ``resolve_filters`` checks ``--removed-by``, ``--list`` and
``--card`` against what the fetch saw and refuses a value that matches nothing in scope.
"""

from __future__ import annotations

import bisect
import contextlib
import difflib
import gc
import hashlib
import operator
from collections import defaultdict
from collections.abc import Collection, Iterable, Iterator, Mapping
from dataclasses import replace
from datetime import datetime, timedelta

from trello_restore.errors import UsageError
from trello_restore.models import (
    MOVE_WINDOW_SECONDS,
    Blocked,
    BoardState,
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
    quote_name,
)
from trello_restore.planner_values import plan_values


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
) -> Plan:
    """Decide the plan. ``members`` adds names (e.g. from board member listings) to the ones the
    actions carry; nothing is ever looked up. ``incomplete`` names cards whose history is known
    to be cut (export caps, unreadable source boards): no reconstructed or ever-added change is
    planned for them, and the plan lists them. ``named_boards`` are the boards the user named
    (None: every board of ``state``); see ``cards_in_scope``."""
    with _no_gc():
        by_card = _by_card(history.member_actions)
        scope = cards_in_scope(history, state, named_boards, acted_on=by_card)
        planner = _Planner(history, state, options, members or {}, incomplete, scope, by_card)
        plan = planner.plan() if "members" in options.restore else None
    if plan is None:
        plan = Plan(options=options, changes=(), blocked=(), skipped=())
    if not options.restore - {"members"}:
        return plan
    # The value kinds (design.md §10.2): after the board grants, before the card members.
    values = plan_values(history, state, options, planner.members, scope, named_boards, change_id)
    grants = plan.board_changes()
    return replace(
        plan,
        changes=(*grants, *values.changes, *plan.card_changes()),
        value_skipped=values.skipped,
        unrestorable=values.unrestorable,
    )


@contextlib.contextmanager
def _no_gc() -> Iterator[None]:
    """The cyclic garbage collector paused: the planner makes hundreds of thousands of small
    objects and no cycles, and each collection would walk every one of them (on 1,000,000
    actions, collections took more CPU than the planning). Reference counting still frees
    everything; the collector is switched back on as it was.

    What the planner made is the plan, which lives on: a collection of the young generation
    right after would walk all of it only to find nothing to free (0.5 s on 1,000,000
    actions) and promote it. ``freeze`` + ``unfreeze`` promotes the young objects to the
    oldest generation at once, unwalked; a full collection still looks at them (and at any
    garbage the caller made meanwhile). Skipped when the application froze objects itself:
    ``unfreeze`` would undo that."""
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if gc.get_freeze_count() == 0:  # pragma: no branch - frozen: a test of its own
            gc.freeze()
            gc.unfreeze()
        (gc.enable if was_enabled else gc.disable)()


def _by_card(actions: Iterable[MemberAction]) -> dict[str, list[MemberAction]]:
    """The member actions per card, each card's in the order given (the history's: by date)."""
    by_card: dict[str, list[MemberAction]] = defaultdict(list)
    for a in actions:
        by_card[a.card_id].append(a)
    return by_card


def cards_in_scope(
    history: History,
    state: State,
    named_boards: Collection[str] | None = None,
    *,
    acted_on: Collection[str] | None = None,
) -> frozenset[str]:
    """The cards a plan may touch (design.md §3, "Scope"): the cards of the named boards (now
    or, deleted, when last seen) and the cards that moved between a named board and another
    board — by a card move, with a list that moved, or shown on a named board's feed by a
    member action. A board that is only followed supplies history; its other cards are not in
    scope. ``named_boards`` None (or naming every board of ``state``) keeps every card.
    ``acted_on``: the cards of ``history.member_actions`` when the caller has them already
    (a pass over a large history's actions costs more than one would think)."""
    if acted_on is None:
        acted_on = {a.card_id for a in history.member_actions}
    every = set(state.cards).union(acted_on)
    if named_boards is None or set(state.boards) <= set(named_boards):
        return frozenset(every)
    named = frozenset(named_boards)
    on_named = {a.card_id for a in history.member_actions if a.board_id in named}
    list_moves: dict[str, list[datetime]] = defaultdict(list)
    for m in history.moves:
        if m.source_board_id not in named and m.target_board_id not in named:
            continue
        if m.card_id:
            on_named.add(m.card_id)
        if m.list_id:
            list_moves[m.list_id].append(m.date)
    places: dict[str, list[tuple[datetime, str]]] = defaultdict(list)
    for date, cid, lid in history.card_lists:
        places[cid].append((date, lid))
    out: set[str] = set()
    for cid in every:
        card = state.cards.get(cid)
        info = history.cards.get(cid)
        board = card.board_id if card else (info.board_id if info else "")
        if board in named or cid in on_named:
            out.add(cid)
        elif list_moves:
            current = card.list_id if card else (info.list_id if info else "")
            if _was_in_moved_list(places.get(cid, []), current, list_moves):
                out.add(cid)
    return frozenset(out)


def _was_in_moved_list(
    places: list[tuple[datetime, str]], current: str, list_moves: Mapping[str, list[datetime]]
) -> bool:
    """Whether the card was in one of ``list_moves``' lists when that list moved. ``places``
    is where the card went, in date order (creation, moves); with none known, its list now
    stands for where it always was."""
    if not places:
        return current in list_moves
    dates = [d for d, _ in places]
    for lid, moved_at in list_moves.items():
        for when in moved_at:
            i = bisect.bisect_right(dates, when) - 1  # the last place at or before the move
            if i >= 0 and places[i][1] == lid:
                return True
    return False


class _Planner:
    """The member rule (design.md §3), made to run in one pass over each card's actions: the
    actions are grouped per card once, per-card facts (selected, its board, the plan's sort
    prefix) are computed once per card, and a removal's later actions are found by one
    backward pass instead of a scan per removal. ``tests/planner_reference.py`` keeps the
    straightforward version the output is held to (``test_planner_speed_equivalence``)."""

    def __init__(
        self,
        history: History,
        state: State,
        options: PlanOptions,
        members: Mapping[str, MemberRef],
        incomplete: frozenset[str],
        scope: frozenset[str],
        by_card: dict[str, list[MemberAction]],
    ) -> None:
        self.h, self.state, self.opts = history, state, options
        self.incomplete = incomplete
        self.scope = scope
        self.wanted_lists = (
            {normal_name(x) for x in options.lists} if options.lists is not None else None
        )
        self.members: dict[str, MemberRef] = dict(history.members)
        for mid, ref in members.items():
            old = self.members.get(mid)
            self.members[mid] = MemberRef(
                mid,
                ref.username or (old.username if old else ""),
                ref.full_name or (old.full_name if old else ""),
            )
        self.deactivated = {
            mid
            for board in state.boards.values()
            for mid, ms in board.memberships.items()
            if ms.deactivated
        }
        self.by_card = by_card
        self.card_lists: dict[str, list[tuple[datetime, str]]] = defaultdict(list)
        for date, cid, lid in history.card_lists:
            self.card_lists[cid].append((date, lid))
        self.moves_by_member: dict[str, list[MoveAction]] = defaultdict(list)
        for m in history.moves:
            self.moves_by_member[m.by].append(m)
        self.list_names = {
            lid: name for board in state.boards.values() for lid, name in board.lists.items()
        }
        #: Per card, the changes proposed for it, in the order they were proposed.
        self.candidates: dict[str, list[Change]] = {}
        #: ``propose``'s card: the card, its board, its list's name, its candidates.
        self.card_ctx: tuple[CardState, BoardState, str, list[Change]] | None
        self.card_ctx = None
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
        o, wanted = self.opts, self.wanted_lists
        if wanted is not None and not (
            card.list_id in wanted or normal_name(self.list_names.get(card.list_id, "")) in wanted
        ):
            return False
        return o.cards is None or card.id in o.cards or card.short_link in o.cards

    def removed_by_matches(self, by: str) -> bool:
        o = self.opts  # --by applies to member removals too; --removed-by only to them
        wanted = o.removed_by if o.removed_by is not None else o.by
        if wanted is None or by == wanted:
            return True
        ref = self.members.get(by)
        return ref is not None and ref.username == wanted != ""

    def list_at(self, card_id: str, date: datetime, fallback: str) -> str:
        current = fallback
        for when, lid in self.card_lists.get(card_id, []):
            if when > date:
                break
            current = lid
        return current

    def coinciding_move(self, rem: MemberAction, list_id: str) -> MoveAction | None:
        """The move of this card, or of the list it was in, by the same member, within 60 s."""
        window = timedelta(seconds=MOVE_WINDOW_SECONDS)
        best: MoveAction | None = None
        for m in self.moves_by_member.get(rem.by, []):
            if abs(m.date - rem.date) > window:
                continue
            same_thing = m.card_id == rem.card_id or (
                m.list_id is not None and m.list_id == list_id
            )
            if same_thing and (best is None or abs(m.date - rem.date) < abs(best.date - rem.date)):
                best = m
        return best

    def move_of(self, card: CardState, rem: MemberAction) -> MoveAction | None:
        """``coinciding_move`` of a removal (nothing to look at when its author moved nothing)."""
        if rem.by not in self.moves_by_member:
            return None
        return self.coinciding_move(rem, self.list_at(card.id, rem.date, card.list_id))

    def skip(
        self, card_id: str, name: str, member_id: str, reason: SkipReason, aid: str | None
    ) -> None:
        self.skipped.append(Skipped(card_id, name, self.member(member_id), reason, aid))

    def propose(
        self,
        card: CardState,
        member_id: str,
        kind: EvidenceKind,
        action: MemberAction,
        move: MoveAction | None = None,
    ) -> None:
        ctx = self.card_ctx
        if ctx is None or ctx[0] is not card:  # the card's board, list name and changes, once
            ctx = self.card_ctx = (
                card,
                self.state.boards[card.board_id],
                self.list_names.get(card.list_id, ""),
                self.candidates.setdefault(card.id, []),
            )
        _, board, list_name, group = ctx
        members = self.members
        member = members.get(member_id) or self.member(member_id)
        by = members.get(action.by) or self.member(action.by)
        ms = board.memberships.get(member_id)
        # change_id("add_member_to_card", card.id, member_id, action.id), inlined (hot path).
        digest = hashlib.sha256(
            f"add_member_to_card\0{card.id}\0{member_id}\0{action.id}".encode()
        ).digest()
        # Positional, in the order of the fields (keywords cost a tenth of the plan's time).
        evidence = Evidence(kind, action.id, action.date, by, move.id if move else None)
        change = Change(
            f"c-{digest[:8].hex()}",  # = the hexdigest's first 16 digits
            "add_member_to_card",
            board.id,
            board.name,
            member,
            card.list_id,
            list_name,
            card.id,
            card.name,
            card.short_link,
            evidence,
            "",
            False,
            ms is not None and not ms.deactivated and not ms.unconfirmed,  # ms.active
        )
        group.append(change)

    # ------------------------------------------------------------------------------- rules

    def plan(self) -> Plan:
        ever_added = self.opts.mode == "ever-added"
        cards, by_card, in_window = self.state.cards, self.by_card, self.in_window
        every_card = self.wanted_lists is None and self.opts.cards is None  # no --list/--card
        for cid in self.scope:
            card = cards.get(cid)
            events = by_card.get(cid, [])
            if card is None:
                info = self.h.cards.get(cid) or CardInfo(cid)
                for rem in (e for e in events if e.kind == "remove"):
                    self.skip(cid, info.name, rem.member_id, "card_deleted", rem.id)
                continue
            selected = every_card or self.selected(card)
            self.recorded(card, events, selected)
            if cid in self.incomplete:
                continue  # the replay cannot support implied changes
            if ever_added and not any(e.kind == "remove" and in_window(e.date) for e in events):
                self.ever_added(card, events, selected)
            else:
                self.silent_losses(card, events, selected)
        return self.finish()

    def recorded(self, card: CardState, events: list[MemberAction], selected: bool) -> None:
        """Each removal, planned or skipped with the first reason of ``SKIP_ORDER`` that
        applies (``card_deleted`` is ``plan``'s). One backward pass: when a removal is
        reached, ``later_add``/``later_remove`` hold the members added or removed after it.
        (Removals are decided newest first; the order they are proposed in does not show:
        ``finish`` orders each card's changes by member, and one card never has two changes
        for one member.)"""
        o = self.opts
        on_card = card.member_ids
        later_add: set[str] = set()
        later_remove: set[str] = set()
        for rem in reversed(events):
            mid = rem.member_id
            if rem.kind != "remove":
                later_add.add(mid)
                continue
            move: MoveAction | None = None
            reason: SkipReason | None = None
            # The reasons in SKIP_ORDER's order; the first that applies wins.
            if mid in on_card:
                reason = "already_on_card"
            elif mid in later_add:
                reason = "re_added_later"
            elif mid in later_remove:
                reason = "removed_again_later"
            elif not selected or not self.removed_by_matches(rem.by):
                reason = "filtered"
            else:
                move = self.move_of(card, rem)
                if o.cause == "move" and move is None:
                    reason = "filtered"
                elif rem.deactivated or mid in self.deactivated:
                    reason = "deactivated"
                elif not self.in_window(rem.date):
                    reason = "outside_window"
            later_remove.add(mid)
            if reason is not None:
                self.skip(card.id, card.name, mid, reason, rem.id)
            else:
                self.propose(card, mid, "recorded_removal", rem, move)

    def silent_losses(self, card: CardState, events: list[MemberAction], selected: bool) -> None:
        since = self.opts.since
        at_cutoff: dict[str, MemberAction] = {}
        cutoff = len(events)
        for i, e in enumerate(events):
            if e.date >= since:
                cutoff = i
                break
            if e.kind == "add":
                at_cutoff[e.member_id] = e
            else:
                at_cutoff.pop(e.member_id, None)
        if not at_cutoff:
            return
        removed_after = {
            e.member_id for e in events[cutoff:] if e.kind == "remove" and e.date >= since
        }
        on_card = card.member_ids
        for mid, add in sorted(at_cutoff.items()):
            if mid in on_card or mid in removed_after:
                continue
            self.implied(card, mid, "reconstructed", add, selected)

    def ever_added(self, card: CardState, events: list[MemberAction], selected: bool) -> None:
        last_add: dict[str, MemberAction] = {}
        for e in events:
            if e.kind == "add":
                last_add[e.member_id] = e
        for mid, add in sorted(last_add.items()):
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
            self.propose(card, member_id, kind, add)

    def finish(self) -> Plan:
        """The card changes (and the blocked ones) in the plan's order: by board, list, card
        (``_card_key``) and member (username, id). Every change of a card shares its
        ``_card_key``, so the cards are sorted once and each card's few changes by member
        (a stable sort), instead of sorting every change by the whole key."""
        changes: list[Change] = []
        blocked: list[Blocked] = []
        grants: dict[tuple[str, str], Change] = {}
        add_to_board = self.opts.add_to_board
        groups = sorted(self.candidates.values(), key=lambda g: _card_key(g[0]))
        for group in groups:
            group.sort(key=_member_key)
            if not add_to_board:
                changes.extend([c for c in group if c.member_on_board])
                blocked.extend(
                    [Blocked(c, "not_board_member") for c in group if not c.member_on_board]
                )
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
            skipped=tuple(
                sorted(
                    self.skipped,
                    key=lambda s: (s.card_name, s.card_id, s.member.id, s.action_id or ""),
                )
            ),
        )


def _board_change_key(c: Change) -> tuple[str, ...]:
    return (c.board_name, c.board_id, c.member.username, c.member.id)


#: The order of one card's changes: by member (username, id).
_member_key = operator.attrgetter("member.username", "member.id")


def _card_key(c: Change) -> tuple[str, ...]:
    """Where a card change goes in the plan: the same for every change of one card."""
    return (c.board_name, c.board_id, c.list_name, c.list_id, c.card_name, c.card_id)


# ---------------------------------------------------------------------------------- filters


def resolve_filters(
    history: History,
    state: State,
    options: PlanOptions,
    members: Mapping[str, MemberRef] | None = None,
    named_boards: Collection[str] | None = None,
) -> PlanOptions:
    """Check ``--removed-by``, ``--list`` and ``--card`` against what the fetch saw, before
    anything is planned or written: a value that matches no member, list or card in scope is
    a ``UsageError`` (one line: the value, why, and the nearest candidates). In cron a typo
    would otherwise restore part of an incident and move ``last-run`` past the rest.

    Returns the options with each value as Trello has it: a ``--removed-by`` username or a
    ``--list`` name that matched only case-insensitively (or in another Unicode form) is
    replaced by the one it matched. A case-insensitive list name that fits several different
    names is an error listing them."""
    scope = cards_in_scope(history, state, named_boards)
    named = set(state.boards) if named_boards is None else set(named_boards)
    problems: list[str] = []
    known = _known_members(history, members or {})
    removed_by, by = options.removed_by, options.by
    if removed_by is not None:
        removed_by = _resolve_member(removed_by, known, problems)
    if by is not None:  # --by selects member removals too, unless --removed-by names them
        by = _resolve_member(by, known, problems, "--by")
        if removed_by is not None and not _same_member(removed_by, by, known):
            problems.append(
                f"--removed-by {quote_name(removed_by)} and --by {quote_name(by)} name "
                "different members, and --by selects member removals too: give one of them "
                "(or the same member to both)"
            )
    lists = options.lists
    if lists is not None:
        lists = frozenset(_resolve_list(v, state, scope, named, problems) for v in sorted(lists))
    if options.cards is not None:
        for value in sorted(options.cards):
            _check_card(value, history, state, scope, problems)
    if problems:
        raise UsageError("; ".join(problems) + "; nothing was changed")
    return replace(
        options, removed_by=removed_by if removed_by is not None else by, by=by, lists=lists
    )


def _known_members(history: History, members: Mapping[str, MemberRef]) -> dict[str, MemberRef]:
    """Every member the history or the board memberships show (ids seen only as an actor
    included)."""
    known: dict[str, MemberRef] = {}
    for a in history.member_actions:
        known.setdefault(a.by, MemberRef(a.by))
        known.setdefault(a.member_id, MemberRef(a.member_id))
    for m in history.moves:
        known.setdefault(m.by, MemberRef(m.by))
    for by in (
        *(u.by for u in history.field_updates),
        *(w for _, w in history.deleted_when.values()),
    ):
        known.setdefault(by, MemberRef(by))
    for source in (history.members, members):
        for mid, ref in source.items():
            old = known.get(mid)
            known[mid] = MemberRef(
                mid,
                ref.username or (old.username if old else ""),
                ref.full_name or (old.full_name if old else ""),
            )
    return known


def _resolve_member(
    value: str, known: Mapping[str, MemberRef], problems: list[str], flag: str = "--removed-by"
) -> str:
    if not value:  # "@" alone
        problems.append(f"{flag} names no member: give a username (@username) or an id")
        return value
    if any(value in (m.id, m.username) for m in known.values()):
        return value
    folded = [m for m in known.values() if m.username and m.username.casefold() == value.casefold()]
    if len(folded) == 1:
        return folded[0].username
    keys: dict[str, MemberRef] = {}
    for m in sorted(known.values()):
        for key in (m.username, m.full_name):
            if key:
                keys.setdefault(key.casefold(), m)
    near = difflib.get_close_matches(value.casefold(), list(keys), n=6, cutoff=0.6)
    found = list(dict.fromkeys(keys[k] for k in near))[:3]
    hint = (
        "did you mean " + " or ".join(_member_label(m) for m in found) + "?"
        if found
        else "give the username (as in @username) or id of the member who made the "
        + ("removals" if flag == "--removed-by" else "changes")
    )
    problems.append(
        f"{flag} {quote_name(value)}: no member with that id or username is in the "
        f"boards' history or memberships; {hint}"
    )
    return value


def _same_member(a: str, b: str, known: Mapping[str, MemberRef]) -> bool:
    """Whether two resolved member values (id or username) name the same member."""
    ids = [{m.id for m in known.values() if v in (m.id, m.username)} for v in (a, b)]
    return a == b or bool(ids[0] & ids[1])


def _member_label(m: MemberRef) -> str:
    name = m.username or m.id
    return f"{name} ({m.full_name})" if m.full_name else name


def _resolve_list(
    value: str, state: State, scope: frozenset[str], named: set[str], problems: list[str]
) -> str:
    """A ``--list`` value as Trello has it (an id, or a list's exact name)."""
    # Lists that can hold a card in scope: every list of a named board, and the lists the
    # cards in scope are in now (a followed board's lists that moved, with their cards).
    eligible: dict[str, tuple[str, str]] = {}  # list id -> (name, board name)
    for board in state.boards.values():
        if board.id in named:
            eligible.update((lid, (name, board.name)) for lid, name in board.lists.items())
    for cid in scope:
        card = state.cards.get(cid)
        home = state.boards.get(card.board_id) if card is not None else None
        if card is not None and home is not None and card.list_id in home.lists:
            eligible[card.list_id] = (home.lists[card.list_id], home.name)
    ids = _match_list(value, eligible)
    names = sorted({eligible[lid][0] for lid in ids})
    if value in eligible:
        return value
    if len({normal_name(n) for n in names}) == 1:
        return names[0]
    if names:
        boards = {n: sorted({eligible[i][1] for i in ids if eligible[i][0] == n}) for n in names}
        shown = ", ".join(
            f"{quote_name(n)} ({', '.join(map(quote_name, boards[n]))})" for n in names
        )
        problems.append(
            f"--list {quote_name(value)}: no list has exactly that name, and {len(names)} "
            f"differ from it only in case: {shown}; give the exact name or the list's id"
        )
        return value
    elsewhere = {
        lid: (name, board.name)
        for board in state.boards.values()
        for lid, name in board.lists.items()
        if lid not in eligible
    }
    other = _match_list(value, elsewhere)
    if other:
        where = " and ".join(quote_name(b) for b in sorted({elsewhere[i][1] for i in other}))
        problems.append(
            f"--list {quote_name(value)}: that list is on {where}, which is only followed for "
            "the cards that moved between it and the boards named, and none of them is in "
            "it; name that board with --board too"
        )
        return value
    by_fold = {normal_name(n).casefold(): n for _, (n, _) in sorted(eligible.items())}
    near = difflib.get_close_matches(normal_name(value).casefold(), list(by_fold), n=3)
    hint = (
        "did you mean " + " or ".join(quote_name(by_fold[k]) for k in near) + "?"
        if near
        else "give a list's id or exact name (archived lists count)"
    )
    problems.append(
        f"--list {quote_name(value)}: no list with that id or name is on the boards in scope "
        f"(archived lists included); {hint}"
    )
    return value


def _match_list(value: str, lists: Mapping[str, tuple[str, str]]) -> list[str]:
    """The ids of the lists ``value`` names: the list with that id; else the lists with that
    exact name (compared in NFC); else those whose name differs from it only in case."""
    if value in lists:
        return [value]
    wanted = normal_name(value)
    exact = [lid for lid, (name, _) in lists.items() if normal_name(name) == wanted]
    if exact:
        return exact
    folded = wanted.casefold()
    return [lid for lid, (name, _) in lists.items() if normal_name(name).casefold() == folded]


def _check_card(
    value: str, history: History, state: State, scope: frozenset[str], problems: list[str]
) -> None:
    cards: list[tuple[str, str, str]] = [  # (id, shortLink, name) of every card seen
        (c.id, c.short_link, c.name) for c in state.cards.values()
    ] + [(i.id, i.short_link, i.name) for i in history.cards.values() if i.id not in state.cards]
    hits = [c for c in cards if value in (c[0], c[1]) and value]
    if any(cid in scope for cid, _, _ in hits):
        return
    if hits:
        cid, _, name = hits[0]
        card = state.cards.get(cid)
        board = state.boards.get(card.board_id) if card else None
        where = f"on {quote_name(board.name)}" if board else "on a board"
        problems.append(
            f"--card {value}: card {quote_name(name)} is {where}, which is only followed for "
            "the cards that moved between it and the boards named, and this card never did; "
            "name that board with --board too"
        )
        return
    in_scope = [c for c in cards if c[0] in scope]
    keys: dict[str, tuple[str, str, str]] = {}
    for c in sorted(in_scope):
        for key in (c[1], c[2]):
            if key:
                keys.setdefault(key.casefold(), c)
    near = difflib.get_close_matches(value.casefold(), list(keys), n=6, cutoff=0.6)
    found = list(dict.fromkeys(keys[k] for k in near))[:3]
    hint = (
        "did you mean "
        + " or ".join(f"{link or cid} ({quote_name(name)})" for cid, link, name in found)
        + "?"
        if found
        else "give a card's id, shortLink or URL (https://trello.com/c/…)"
    )
    problems.append(
        f"--card {value}: no card with that id or shortLink is in scope (archived cards "
        f"included); {hint}"
    )
