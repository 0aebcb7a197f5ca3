"""Ground truth: what a correct restore does, computed from the sandbox's ledger.

The planner (issue 3) sees only what Trello shows: the action log and the current state. The
ledger also holds the membership changes Trello never logged, so it knows exactly which members
were lost, when, and why. This module applies the rules of design.md §3 to that truth and returns,
for a set of options, the (card, member) pairs a correct restore brings back, the board
memberships it must grant, and what it must skip or block and why.

Conventions (where design.md leaves a choice, the same choice binds the planner):

- Scope: the cards that were ever on a board the user named (the world remembers every board a
  card has been on). A board that is only followed (reached by a move) supplies history and
  memberships, and its cards are in scope only if they were on a named board at some time;
  naming every board (or none: the default) keeps every card of those boards.
- Every logged ``removeMemberFromCard`` on a card in scope is classified exactly once: as the
  evidence of a change (planned or blocked), or skipped with the first reason that applies, in the
  order ``card_deleted, already_on_card, re_added_later, removed_again_later, filtered,
  deactivated, outside_window``.
- A silent loss (an unlogged removal) inside the window becomes a ``reconstructed`` change whose
  evidence is the last logged add of that member to that card before the loss. Deleted cards get
  no reconstructed changes. ``--removed-by`` and ``--cause`` do not filter silent losses;
  ``--only-recorded``, ``--list`` and ``--card`` do (reason ``filtered``).
- Mode ``ever-added``: cards with a recorded removal inside the window are planned as in mode
  ``removed``; every other existing card gets every member who was ever added to it (by a logged
  add) and is not on it now, with evidence ``ever_added`` (the last such add).
- A change whose member is not an active member of the card's current board is blocked
  (``not_board_member``), unless ``add_to_board``: then a board membership is granted first.
  Deactivated members are never planned and never granted.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import datetime
from typing import Literal

from trello_restore.sandbox.world import Card, MemberEvent, World

Mode = Literal["removed", "ever-added"]
Evidence = Literal["recorded_removal", "reconstructed", "ever_added"]
SKIP_ORDER = (
    "card_deleted",
    "already_on_card",
    "re_added_later",
    "removed_again_later",
    "filtered",
    "deactivated",
    "outside_window",
)


@dataclass(frozen=True)
class OptionSet:
    """The planner options a ground truth is computed for (design.md §3)."""

    name: str
    since: datetime
    until: datetime | None = None
    mode: Mode = "removed"
    #: Member id: keep only recorded removals performed by this member.
    removed_by: str | None = None
    #: "move": keep only recorded removals that came with a move of the card or its list.
    cause: Literal["move"] | None = None
    only_recorded: bool = False
    add_to_board: bool = False
    board_role: Literal["normal", "observer"] = "normal"
    #: Only cards now in these lists / only these cards (ids), when given.
    lists: frozenset[str] | None = None
    cards: frozenset[str] | None = None


@dataclass(frozen=True, order=True)
class TruthChange:
    """A member a correct restore puts back on a card."""

    board_id: str
    card_id: str
    member_id: str
    evidence: Evidence
    #: The removal action (recorded_removal) or the add action (reconstructed, ever_added).
    action_id: str


@dataclass(frozen=True, order=True)
class TruthGrant:
    """A board membership the restore must grant first (only with ``add_to_board``)."""

    board_id: str
    member_id: str
    role: str


@dataclass(frozen=True, order=True)
class TruthSkip:
    """A candidate the restore must leave alone, and why."""

    card_id: str
    member_id: str
    reason: str
    action_id: str | None


@dataclass(frozen=True)
class GroundTruth:
    """Everything a correct plan for ``options`` contains."""

    options: OptionSet
    changes: frozenset[TruthChange]
    grants: frozenset[TruthGrant]
    blocked: frozenset[TruthChange]
    skipped: frozenset[TruthSkip]

    def pairs(self) -> frozenset[tuple[str, str]]:
        """The (card id, member id) pairs that come back."""
        return frozenset((c.card_id, c.member_id) for c in self.changes)


def scope_cards(world: World, board_ids: Iterable[str]) -> list[tuple[Card, bool]]:
    """Cards whose history is in scope: now on (or deleted from) one of the boards, or that were
    ever on one of them. Returns ``(card, deleted)`` pairs in id order."""
    boards = set(board_ids)
    out: list[tuple[Card, bool]] = []
    for card in world.cards.values():
        if boards.intersection(card.boards_seen):
            out.append((card, False))
    for card in world.deleted_cards.values():
        if boards.intersection(card.boards_seen):
            out.append((card, True))
    out.sort(key=lambda x: x[0].id)
    return out


def compute(
    world: World,
    board_ids: Iterable[str],
    options: OptionSet,
    named: Iterable[str] | None = None,
) -> GroundTruth:
    """Apply design.md §3 to the ledger for the cards in scope. ``board_ids`` are every board
    the restore reads; ``named`` the ones the user named (default: all of ``board_ids``), whose
    cards, now or ever, are the cards in scope."""
    by_card: dict[str, list[MemberEvent]] = defaultdict(list)
    for ev in world.ledger:
        by_card[ev.card_id].append(ev)
    scope = list(board_ids)
    deactivated = {
        mid for bid in scope for mid, ms in world.boards[bid].memberships.items() if ms.deactivated
    }
    changes: list[TruthChange] = []
    skipped: list[TruthSkip] = []

    def in_window(at: datetime) -> bool:
        return at >= options.since and (options.until is None or at < options.until)

    def selected(card: Card) -> bool:
        if options.lists is not None and card.id_list not in options.lists:
            return False
        return options.cards is None or card.id in options.cards

    for card, deleted in scope_cards(world, scope if named is None else named):
        events = sorted(by_card.get(card.id, []), key=lambda e: (e.at, e.action_id or ""))
        logged = [e for e in events if e.logged]
        recorded = [e for e in logged if e.kind == "remove"]
        for rem in recorded:
            later = [e for e in logged if e.at > rem.at and e.member_id == rem.member_id]
            reason = _first_reason(
                card_deleted=deleted,
                already_on_card=rem.member_id in card.id_members,
                re_added_later=any(e.kind == "add" for e in later),
                removed_again_later=any(e.kind == "remove" for e in later),
                filtered=not selected(card)
                or (options.removed_by is not None and rem.by != options.removed_by)
                or (options.cause == "move" and rem.cause != "move"),
                deactivated=rem.deactivated or rem.member_id in deactivated,
                outside_window=not in_window(rem.at),
            )
            assert rem.action_id is not None  # logged removals always have an action
            if reason:
                skipped.append(TruthSkip(card.id, rem.member_id, reason, rem.action_id))
            else:
                changes.append(
                    TruthChange(
                        card.id_board, card.id, rem.member_id, "recorded_removal", rem.action_id
                    )
                )
        if deleted:
            continue
        window_removals = any(in_window(e.at) for e in recorded)
        if options.mode == "ever-added" and not window_removals:
            candidates = _ever_added(card, logged)
            evidence: Evidence = "ever_added"
        else:
            candidates = _silent_losses(card, events, in_window)
            evidence = "reconstructed"
        for member_id, add_id in candidates:
            reason = _first_reason(
                filtered=options.only_recorded or not selected(card),
                deactivated=member_id in deactivated,
            )
            if reason:
                skipped.append(TruthSkip(card.id, member_id, reason, add_id))
            else:
                changes.append(TruthChange(card.id_board, card.id, member_id, evidence, add_id))

    planned: list[TruthChange] = []
    blocked: list[TruthChange] = []
    grants: set[TruthGrant] = set()
    for ch in changes:
        if world.boards[ch.board_id].is_active_member(ch.member_id):
            planned.append(ch)
        elif options.add_to_board:
            planned.append(ch)
            grants.add(TruthGrant(ch.board_id, ch.member_id, options.board_role))
        else:
            blocked.append(ch)
    return GroundTruth(
        options=options,
        changes=frozenset(planned),
        grants=frozenset(grants),
        blocked=frozenset(blocked),
        skipped=frozenset(skipped),
    )


def _first_reason(**flags: bool) -> str | None:
    for reason in SKIP_ORDER:
        if flags.get(reason):
            return reason
    return None


def _silent_losses(
    card: Card, events: list[MemberEvent], in_window: Callable[[datetime], bool]
) -> list[tuple[str, str]]:
    """Unlogged removals in the window that still stand, with the add that preceded each."""
    out: list[tuple[str, str]] = []
    for i, ev in enumerate(events):
        if ev.logged or ev.kind != "remove" or not in_window(ev.at):
            continue
        if ev.member_id in card.id_members:
            continue
        if any(e.member_id == ev.member_id and e.logged for e in events[i + 1 :]):
            continue  # a later logged change for the pair governs it
        adds = [
            e
            for e in events[:i]
            if e.member_id == ev.member_id and e.kind == "add" and e.logged and e.action_id
        ]
        if adds and adds[-1].action_id:
            out.append((ev.member_id, adds[-1].action_id))
    return sorted(set(out))


def _ever_added(card: Card, logged: list[MemberEvent]) -> list[tuple[str, str]]:
    """Every member ever added by a logged add and not on the card now, with the last add."""
    last_add: dict[str, str] = {}
    for ev in logged:
        if ev.kind == "add" and ev.action_id:
            last_add[ev.member_id] = ev.action_id
    return sorted((m, a) for m, a in last_add.items() if m not in card.id_members)
