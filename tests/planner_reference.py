"""The member rule of the planner as it was before it was made fast (``trello_restore/planner.py``
at b49e4a5, lines 28-421, verbatim but for this docstring and the imports): the reference that
``tests/test_planner_speed_equivalence.py`` holds the optimised planner to. Do not optimise it.
"""

from __future__ import annotations

import bisect
import hashlib
from collections import defaultdict
from collections.abc import Collection, Mapping
from dataclasses import replace
from datetime import datetime, timedelta

from trello_restore.models import (
    MOVE_WINDOW_SECONDS,
    SKIP_ORDER,
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
    scope = cards_in_scope(history, state, named_boards)
    planner = _Planner(history, state, options, members or {}, incomplete, scope)
    if "members" in options.restore:
        plan = planner.plan()
    else:
        plan = Plan(options=options, changes=(), blocked=(), skipped=())
    if not options.restore - {"members"}:
        return plan
    # The value kinds (design.md §10.2): after the board grants, before the card members.
    values = plan_values(history, state, options, planner.members, scope, named_boards, change_id)
    grants = plan.board_changes()
    return replace(
        plan,
        changes=(*grants, *values.changes, *(c for c in plan.changes if c not in grants)),
        value_skipped=values.skipped,
        unrestorable=values.unrestorable,
    )


def cards_in_scope(
    history: History, state: State, named_boards: Collection[str] | None = None
) -> frozenset[str]:
    """The cards a plan may touch (design.md §3, "Scope"): the cards of the named boards (now
    or, deleted, when last seen) and the cards that moved between a named board and another
    board — by a card move, with a list that moved, or shown on a named board's feed by a
    member action. A board that is only followed supplies history; its other cards are not in
    scope. ``named_boards`` None (or naming every board of ``state``) keeps every card."""
    every = set(state.cards) | {a.card_id for a in history.member_actions}
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
    def __init__(
        self,
        history: History,
        state: State,
        options: PlanOptions,
        members: Mapping[str, MemberRef],
        incomplete: frozenset[str],
        scope: frozenset[str],
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
        self.by_card: dict[str, list[MemberAction]] = defaultdict(list)
        for a in history.member_actions:
            self.by_card[a.card_id].append(a)
        self.card_lists: dict[str, list[tuple[datetime, str]]] = defaultdict(list)
        for date, cid, lid in history.card_lists:
            self.card_lists[cid].append((date, lid))
        self.moves_by_member: dict[str, list[MoveAction]] = defaultdict(list)
        for m in history.moves:
            self.moves_by_member[m.by].append(m)
        self.list_names = {
            lid: name for board in state.boards.values() for lid, name in board.lists.items()
        }
        self.candidates: list[tuple[Change, str]] = []  # (change, board id)
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
            return True  # an id names that member only, even if another's username is it
        h = self.h
        actors = {a.by for a in h.member_actions} | {a.member_id for a in h.member_actions}
        actors |= {m.by for m in h.moves} | {u.by for u in h.field_updates}
        actors |= {w for _, w in h.deleted_when.values()}
        if wanted in self.members or wanted in actors:
            return False
        return self.member(by).username == wanted != ""

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
        board = self.state.boards[card.board_id]
        ms = board.memberships.get(member_id)
        change = Change(
            change_id=change_id("add_member_to_card", card.id, member_id, action.id),
            action="add_member_to_card",
            board_id=board.id,
            board_name=board.name,
            member=self.member(member_id),
            list_id=card.list_id,
            list_name=self.list_names.get(card.list_id, ""),
            card_id=card.id,
            card_name=card.name,
            card_short_link=card.short_link,
            evidence=Evidence(
                kind=kind,
                action_id=action.id,
                date=action.date,
                by=self.member(action.by),
                move_action_id=move.id if move else None,
            ),
            member_on_card=False,
            member_on_board=ms is not None and ms.active,
        )
        self.candidates.append((change, board.id))

    # ------------------------------------------------------------------------------- rules

    def plan(self) -> Plan:
        card_ids = sorted(self.scope)
        for cid in card_ids:
            card = self.state.cards.get(cid)
            events = self.by_card.get(cid, [])
            if card is None:
                info = self.h.cards.get(cid) or CardInfo(cid)
                for rem in (e for e in events if e.kind == "remove"):
                    self.skip(cid, info.name, rem.member_id, "card_deleted", rem.id)
                continue
            self.recorded(card, events)
            if cid in self.incomplete:
                continue  # the replay cannot support implied changes
            if self.opts.mode == "ever-added" and not any(
                e.kind == "remove" and self.in_window(e.date) for e in events
            ):
                # The fallback decides each member ever added and gone once, by their last
                # add: their removals (all before the window) are not also skipped.
                gone = {e.member_id for e in events if e.kind == "add"} - set(card.member_ids)
                self.skipped = [
                    s for s in self.skipped if s.card_id != cid or s.member.id not in gone
                ]
                self.ever_added(card, events)
            else:
                self.silent_losses(card, events)
        return self.finish()

    def recorded(self, card: CardState, events: list[MemberAction]) -> None:
        o = self.opts
        for i, rem in enumerate(events):
            if rem.kind != "remove":
                continue
            later = [e for e in events[i + 1 :] if e.member_id == rem.member_id]
            move = self.coinciding_move(rem, self.list_at(card.id, rem.date, card.list_id))
            flags: dict[SkipReason, bool] = {
                "already_on_card": rem.member_id in card.member_ids,
                "re_added_later": any(e.kind == "add" for e in later),
                "removed_again_later": any(e.kind == "remove" for e in later),
                "filtered": not self.selected(card)
                or not self.removed_by_matches(rem.by)
                or (o.cause == "move" and move is None),
                "deactivated": rem.deactivated or rem.member_id in self.deactivated,
                "outside_window": not self.in_window(rem.date),
            }
            reason = next((r for r in SKIP_ORDER if flags.get(r)), None)
            if reason is not None:
                self.skip(card.id, card.name, rem.member_id, reason, rem.id)
            else:
                self.propose(card, rem.member_id, "recorded_removal", rem, move)

    def silent_losses(self, card: CardState, events: list[MemberAction]) -> None:
        since = self.opts.since
        at_cutoff: dict[str, MemberAction] = {}
        for e in events:
            if e.date >= since:
                break
            if e.kind == "add":
                at_cutoff[e.member_id] = e
            else:
                at_cutoff.pop(e.member_id, None)
        removed_after = {e.member_id for e in events if e.kind == "remove" and e.date >= since}
        taken: set[str] = set()
        for mid, add in sorted(at_cutoff.items()):
            if mid in card.member_ids or mid in removed_after:
                continue
            self.implied(card, mid, "reconstructed", add)
            taken.add(mid)
        # Added (again) at or after the cutoff and gone now, with no removal recorded after
        # that add: their last action on the card is the add.
        last: dict[str, MemberAction] = {}
        for e in events:
            last[e.member_id] = e
        for mid, e in sorted(last.items()):
            gone = mid not in card.member_ids and mid not in taken
            if e.kind == "add" and e.date >= since and gone:
                self.implied(card, mid, "reconstructed", e)

    def ever_added(self, card: CardState, events: list[MemberAction]) -> None:
        last_add: dict[str, MemberAction] = {}
        for e in events:
            if e.kind == "add":
                last_add[e.member_id] = e
        for mid, add in sorted(last_add.items()):
            if mid not in card.member_ids:
                self.implied(card, mid, "ever_added", add)

    def implied(
        self, card: CardState, member_id: str, kind: EvidenceKind, add: MemberAction
    ) -> None:
        """A change with no removal behind it: only the filters and deactivation can stop it."""
        if self.opts.only_recorded or not self.selected(card):
            self.skip(card.id, card.name, member_id, "filtered", add.id)
        elif member_id in self.deactivated:
            self.skip(card.id, card.name, member_id, "deactivated", add.id)
        else:
            self.propose(card, member_id, kind, add)

    def finish(self) -> Plan:
        changes: list[Change] = []
        blocked: list[Blocked] = []
        grants: dict[tuple[str, str], Change] = {}
        for change, board_id in self.candidates:
            if change.member_on_board:
                changes.append(change)
            elif self.opts.add_to_board:
                changes.append(change)
                key = (board_id, change.member.id)
                if key not in grants:
                    grants[key] = Change(
                        change_id=change_id("add_member_to_board", board_id, change.member.id),
                        action="add_member_to_board",
                        board_id=board_id,
                        board_name=change.board_name,
                        member=change.member,
                        role=self.opts.board_role,
                        member_on_board=False,
                    )
            else:
                blocked.append(Blocked(change, "not_board_member"))
        ordered = sorted(grants.values(), key=_board_change_key) + sorted(
            changes, key=_card_change_key
        )
        return Plan(
            options=self.opts,
            changes=tuple(ordered),
            blocked=tuple(sorted(blocked, key=lambda b: _card_change_key(b.change))),
            incomplete=tuple(sorted(self.incomplete & set(self.state.cards) & self.scope)),
            skipped=tuple(
                sorted(
                    self.skipped,
                    key=lambda s: (s.card_name, s.card_id, s.member.id, s.action_id or ""),
                )
            ),
        )


def _board_change_key(c: Change) -> tuple[str, ...]:
    return (c.board_name, c.board_id, c.member.username, c.member.id)


def _card_change_key(c: Change) -> tuple[str, ...]:
    return (
        c.board_name,
        c.board_id,
        c.list_name,
        c.list_id,
        c.card_name,
        c.card_id,
        c.member.username,
        c.member.id,
    )
