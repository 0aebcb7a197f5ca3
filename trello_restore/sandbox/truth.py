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
  deactivated, outside_window``; except in mode ``ever-added``'s fallback (below), which decides
  the members it takes by their last add instead.
- A silent loss (an unlogged removal) before ``until`` becomes a ``reconstructed`` change whose
  evidence is the last logged add of that member to that card before the loss: the log cannot
  date it, and whenever it happened before ``since`` the log still shows the member on the card
  at ``since`` (design.md §3's unrecorded loss). The incident's silent losses are at T, so for the
  sets a-e this is the window; for f-h (``since`` T2 > T) it is not. Deleted cards get
  no reconstructed changes. ``--removed-by`` and ``--cause`` do not filter silent losses;
  ``--only-recorded``, ``--list`` and ``--card`` do (reason ``filtered``).
- Mode ``ever-added``: cards with a recorded removal inside the window are planned as in mode
  ``removed``; every other existing card gets every member who was ever added to it (by a logged
  add) and is not on it now, with evidence ``ever_added`` (the last such add), or skipped by a
  filter or deactivation at that add. Those members' removals (all before the window) are not
  also skipped: nobody is both planned and skipped (R71d).
- A change whose member is not an active member of the card's current board is blocked
  (``not_board_member``), unless ``add_to_board``: then a board membership is granted first.
  Deactivated members are never planned and never granted.
- Members are restored only when ``restore`` holds ``members`` (the default); ``by`` filters the
  recorded removals like ``removed_by`` (which wins when both are given).

The value kinds (design.md §10: ``archived``, ``list``, ``fields``) are computed from the world's
``field_ledger`` (every ``closed``/``idList``/name/description/date change, with its old and new
value, author and app; a card's move between boards as two ``idList`` changes, to and from
None), for the objects in scope: the cards above and the lists now on the named
boards or moved to or from one. Per (object, field) of a kind asked for that changed at least
once, exactly one of:

- a ``TruthValueChange`` to the old value of the earliest *selected* change (in the window, by
  ``by`` when given, on an object that passes ``lists``/``cards``), expecting the last selected
  change's new value, when every change from that first one on is selected;
- a ``TruthValueSkip`` with the first reason that applies, in the order ``object_deleted``
  (the card was deleted), ``already_restored`` (its value now is the target), ``other_board``
  (a move back to a list that is not on the card's board now; none when the card moved across
  boards: it is ``unrestorable`` as moved), ``changed_by_others`` (an
  unselected change at or after the first selected one; with who and when), ``filtered``
  (nothing selected, but a change lies in the window), ``outside_window`` (no change in it).

``lists`` keeps the cards now in those lists and those lists themselves; ``cards`` keeps only those
cards (and no list). With a value kind asked for, each card in scope deleted in the window (by
``by``, when given) is ``unrestorable``. ``GroundTruth.end_state`` turns a truth into the state a
correct apply leaves: a ``snapshot`` taken before, with every change made.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import datetime
from typing import Literal

from trello_restore.sandbox.world import (
    BoardMove,
    Card,
    FieldEvent,
    FieldValue,
    MemberEvent,
    TrelloList,
    World,
)

Mode = Literal["removed", "ever-added"]
#: What ``--restore`` can restore (design.md §10.1).
RESTORE_KINDS = ("members", "archived", "list", "fields")
#: The fields each value kind reverts (design.md §10.1), as Trello names them. Lists have only
#: ``closed``.
VALUE_FIELDS: dict[str, tuple[str, ...]] = {
    "archived": ("closed",),
    "list": ("idList",),
    "fields": ("name", "desc", "due", "dueComplete", "start"),
}
VALUE_SKIP_ORDER = (
    "object_deleted",
    "already_restored",
    "other_board",
    "changed_by_others",
    "filtered",
    "outside_window",
)
#: A key of a state snapshot: (object type, object id, field); object types ``card``, ``list``,
#: ``board`` (field ``memberships``: a frozenset of ``(member id, type, deactivated)``).
StateKey = tuple[str, str, str]
State = dict[StateKey, object]
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
    #: What to restore: ``RESTORE_KINDS`` (``all`` is every one of them).
    restore: frozenset[str] = frozenset({"members"})
    #: Member id: only changes this member made (for every kind; ``--by``).
    by: str | None = None


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
class TruthValueChange:
    """A card or list field a correct restore sets back (design.md §10.2)."""

    object_type: str
    object_id: str
    #: The object's board now.
    board_id: str
    field: str
    #: The target: the old value of the earliest selected change.
    value: FieldValue
    #: What the field holds now: the last selected change's new value.
    expected: FieldValue
    #: Every selected change's action, oldest first.
    action_ids: tuple[str, ...]
    #: Who made the first selected change (the member an automation ran for), and when.
    by: str
    at: datetime

    @property
    def key(self) -> StateKey:
        """``(object type, object id, field)``."""
        return (self.object_type, self.object_id, self.field)


@dataclass(frozen=True)
class TruthValueSkip:
    """A card or list field a correct restore leaves alone, and why."""

    object_type: str
    object_id: str
    field: str
    #: One of ``VALUE_SKIP_ORDER``.
    reason: str
    #: The earliest selected change's action (None when nothing is selected).
    action_id: str | None
    #: For ``changed_by_others``: each other change from the first selected one on (who, when).
    others: tuple[tuple[str, datetime], ...] = ()


@dataclass(frozen=True, order=True)
class TruthUnrestorable:
    """A card deleted in the window: lost, and not restorable from the log; or (``list``
    restored) a card or list moved across boards in the window and not back (``what``)."""

    #: The card's id (a list's, for a list moved across boards).
    card_id: str
    #: The ``deleteCard`` action (a move's: the one the named board it left logged, else the
    #: one the named board it came to logged), its author and date.
    action_id: str
    by: str
    at: datetime
    what: str = "card_deleted"


@dataclass(frozen=True)
class GroundTruth:
    """Everything a correct plan for ``options`` contains."""

    options: OptionSet
    changes: frozenset[TruthChange]
    grants: frozenset[TruthGrant]
    blocked: frozenset[TruthChange]
    skipped: frozenset[TruthSkip]
    #: The value kinds (empty unless ``options.restore`` asks for one).
    value_changes: frozenset[TruthValueChange] = frozenset()
    value_skipped: frozenset[TruthValueSkip] = frozenset()
    unrestorable: frozenset[TruthUnrestorable] = frozenset()

    def pairs(self) -> frozenset[tuple[str, str]]:
        """The (card id, member id) pairs that come back."""
        return frozenset((c.card_id, c.member_id) for c in self.changes)

    def values(self) -> dict[StateKey, FieldValue]:
        """``(object type, object id, field)`` -> the value a correct restore sets."""
        return {c.key: c.value for c in self.value_changes}

    def end_state(self, baseline: State) -> State:
        """The state a correct apply leaves: ``baseline`` (a ``snapshot`` taken before it) with
        every value set back, every member put back on its card and every grant made."""
        out = dict(baseline)
        out.update(self.values())
        for ch in self.changes:
            key = ("card", ch.card_id, "idMembers")
            out[key] = _frozen(out[key]) | {ch.member_id}
        for g in self.grants:
            key = ("board", g.board_id, "memberships")
            held = {m for m in _frozen(out[key]) if isinstance(m, tuple) and m[0] != g.member_id}
            out[key] = frozenset(held | {(g.member_id, g.role, False)})
        return out


def _frozen(value: object) -> frozenset[object]:
    assert isinstance(value, frozenset)
    return value


def snapshot(world: World, board_ids: Iterable[str] | None = None) -> State:
    """The restorable state of the boards (every board by default): each card's value fields
    and members, each list's ``closed``, each board's memberships. Compare two to check an apply
    or an undo exactly."""
    boards = set(world.boards if board_ids is None else board_ids)
    out: State = {}
    for b in boards:
        ms = world.boards[b].memberships.values()
        out[("board", b, "memberships")] = frozenset(
            (m.id_member, m.member_type, m.deactivated) for m in ms
        )
    for lst in world.lists.values():
        if lst.id_board in boards:
            out[("list", lst.id, "closed")] = lst.closed
    for c in world.cards.values():
        if c.id_board not in boards:
            continue
        out |= {
            ("card", c.id, "closed"): c.closed,
            ("card", c.id, "idList"): c.id_list,
            ("card", c.id, "name"): c.name,
            ("card", c.id, "desc"): c.desc,
            ("card", c.id, "due"): c.due,
            ("card", c.id, "dueComplete"): c.due_complete,
            ("card", c.id, "start"): c.start,
            ("card", c.id, "idMembers"): frozenset(c.id_members),
        }
    return out


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

    def before_until(at: datetime) -> bool:
        return options.until is None or at < options.until

    def selected(card: Card) -> bool:
        if options.lists is not None and card.id_list not in options.lists:
            return False
        return options.cards is None or card.id in options.cards

    removed_by = options.removed_by if options.removed_by is not None else options.by
    members = "members" in options.restore
    for card, deleted in scope_cards(world, scope if named is None else named) if members else []:
        events = sorted(by_card.get(card.id, []), key=lambda e: (e.at, e.action_id or ""))
        logged = [e for e in events if e.logged]
        recorded = [e for e in logged if e.kind == "remove"]
        first = len(skipped)  # this card's skips
        for rem in recorded:
            later = [e for e in logged if e.at > rem.at and e.member_id == rem.member_id]
            reason = _first_reason(
                card_deleted=deleted,
                already_on_card=rem.member_id in card.id_members,
                re_added_later=any(e.kind == "add" for e in later),
                removed_again_later=any(e.kind == "remove" for e in later),
                filtered=not selected(card)
                or (removed_by is not None and rem.by != removed_by)
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
            taken = {member_id for member_id, _ in candidates}
            skipped[first:] = [x for x in skipped[first:] if x.member_id not in taken]
        else:
            candidates = _silent_losses(card, events, before_until)
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
    value_changes, value_skipped, unrestorable = _values(
        world, list(scope if named is None else named), options, in_window
    )
    return GroundTruth(
        options=options,
        changes=frozenset(planned),
        grants=frozenset(grants),
        blocked=frozenset(blocked),
        skipped=frozenset(skipped),
        value_changes=frozenset(value_changes),
        value_skipped=frozenset(value_skipped),
        unrestorable=frozenset(unrestorable),
    )


_CARD_ATTRS = {
    "closed": "closed",
    "idList": "id_list",
    "name": "name",
    "desc": "desc",
    "due": "due",
    "dueComplete": "due_complete",
    "start": "start",
}


def _values(
    world: World,
    named: list[str],
    options: OptionSet,
    in_window: Callable[[datetime], bool],
) -> tuple[list[TruthValueChange], list[TruthValueSkip], list[TruthUnrestorable]]:
    """design.md §10.2 over the ``field_ledger``, for the objects in scope (module docstring)."""
    fields = {f for kind in options.restore for f in VALUE_FIELDS.get(kind, ())}
    if not fields:
        return [], [], []
    by_object: dict[tuple[str, str], dict[str, list[FieldEvent]]] = defaultdict(
        lambda: defaultdict(list)
    )
    for ev in world.field_ledger:
        if ev.field in fields:
            by_object[(ev.object_type, ev.object_id)][ev.field].append(ev)
    # (object type, object id, deleted, passes --list/--card, board now, value of a field now)
    objects: list[tuple[str, str, bool, bool, str, Callable[[str], FieldValue]]] = []
    for card, deleted in scope_cards(world, named):
        passes = (options.lists is None or card.id_list in options.lists) and (
            options.cards is None or card.id in options.cards
        )

        def card_value(name: str, card: Card = card) -> FieldValue:
            value = getattr(card, _CARD_ATTRS[name])
            assert value is None or isinstance(value, str | bool)
            return value

        objects.append(("card", card.id, deleted, passes, card.id_board, card_value))
    moved = {  # lists that moved to or from a named board are in scope, as cards are
        a.data["list"]["id"]
        for a in world.actions
        if a.type == "moveListToBoard"
        and (a.data["board"]["id"] in named or a.data["boardSource"]["id"] in named)
    }
    for lst in sorted(world.lists.values(), key=lambda x: x.id):
        if lst.id_board in named or lst.id in moved:
            passes = (options.lists is None or lst.id in options.lists) and options.cards is None

            def list_value(name: str, lst: TrelloList = lst) -> FieldValue:
                return lst.closed

            objects.append(("list", lst.id, False, passes, lst.id_board, list_value))

    card_passes = {object_id: passes for _, object_id, _, passes, _, _ in objects}
    unrestorable = [  # a deleted card passes --list/--card by where it was (R43d)
        TruthUnrestorable(card.id, *world.deletions[card.id])
        for card, deleted in scope_cards(world, named)
        if deleted
        and card_passes[card.id]
        and card.id in world.deletions
        and in_window(world.deletions[card.id][2])
        and options.by in (None, world.deletions[card.id][1])
    ]
    if "list" in options.restore:
        said = {u.card_id for u in unrestorable}
        unrestorable += _moved(world, set(named), options, in_window, said)
    # A card said moved across boards: its list's change back is not said again (other_board).
    said_moved = {u.card_id for u in unrestorable if u.what != "card_deleted"}
    changes: list[TruthValueChange] = []
    skipped: list[TruthValueSkip] = []
    for object_type, object_id, deleted, passes, board_id, now in objects:
        for name, events in sorted(by_object.get((object_type, object_id), {}).items()):
            # A move across boards leaves one board before it reaches the other, whatever ids.
            events.sort(key=lambda e: (e.at, e.field == "idList" and e.old is None, e.action_id))

            def selected(e: FieldEvent, passes: bool = passes) -> bool:
                return passes and in_window(e.at) and options.by in (None, e.by)

            first = next((i for i, e in enumerate(events) if selected(e)), None)
            if first is None:
                reason = _first_value_reason(
                    object_deleted=deleted,
                    filtered=any(in_window(e.at) for e in events),
                    outside_window=True,
                )
                assert reason is not None
                skipped.append(TruthValueSkip(object_type, object_id, name, reason, None))
                continue
            chosen = [e for e in events[first:] if selected(e)]
            others = [e for e in events[first:] if not selected(e)]
            target = events[first].old
            reason = _first_value_reason(
                object_deleted=deleted,
                already_restored=not deleted and now(name) == target,
                other_board=name == "idList"
                and (target not in world.lists or world.lists[str(target)].id_board != board_id),
                changed_by_others=bool(others),
            )
            if reason == "other_board" and name == "idList" and object_id in said_moved:
                continue  # moved across boards and not back: said as moved (``_moved``)
            if reason is not None:
                once = _once(others)  # one move across boards is named once
                who = tuple((e.by, e.at) for e in once) if reason == "changed_by_others" else ()
                skipped.append(
                    TruthValueSkip(object_type, object_id, name, reason, chosen[0].action_id, who)
                )
                continue
            changes.append(
                TruthValueChange(
                    object_type,
                    object_id,
                    board_id,
                    name,
                    target,
                    chosen[-1].new,
                    tuple(e.action_id for e in _once(chosen)),
                    chosen[0].by,
                    chosen[0].at,
                )
            )
    return changes, skipped, unrestorable


def _once(events: list[FieldEvent]) -> list[FieldEvent]:
    """``events`` but the arrival of each move across boards whose move off is among them (at
    the same instant, from another board): one move, said once."""
    left = {(e.at, e.board_id) for e in events if e.field == "idList" and e.new is None}
    return [
        e
        for e in events
        if not (
            e.field == "idList"
            and e.old is None
            and any(at == e.at and b != e.board_id for at, b in left)
        )
    ]


def _moved(
    world: World,
    named: set[str],
    options: OptionSet,
    in_window: Callable[[datetime], bool],
    said_deleted: set[str],
) -> list[TruthUnrestorable]:
    """The cards and lists moved across boards in the window to or from a named board (a card
    also by its list: ``carried``) that are not on the board they were on before the first such
    move, when either board is named (by ``by`` when given, in one of their moves; passing
    ``lists``/``cards`` as they are now): not moved back (design.md §10.1). Named by their last
    own move (a card that only went or came with its list is its list's to say, while it is on
    its list's board: else by that list's move), on the board it left when named. Not the
    cards ``said_deleted``."""
    moves: dict[tuple[str, str], list[tuple[BoardMove, bool]]] = {}
    for mv in world.board_moves:
        if not (in_window(mv.at) and (mv.from_board in named or mv.to_board in named)):
            continue
        moves.setdefault((mv.object_type, mv.object_id), []).append((mv, False))
        for card_id in mv.carried:
            moves.setdefault(("card", card_id), []).append((mv, True))
    out: list[TruthUnrestorable] = []
    for (object_type, object_id), evs in moves.items():
        if object_type == "card":
            if object_id in said_deleted:
                continue  # said deleted, where it was
            card = world.cards.get(object_id) or world.deleted_cards[object_id]
            now = card.id_board
            passes = (options.lists is None or card.id_list in options.lists) and (
                options.cards is None or card.id in options.cards
            )
        else:
            now = world.lists[object_id].id_board
            passes = options.cards is None and (options.lists is None or object_id in options.lists)
        start = evs[0][0].from_board
        own = [mv for mv, carried in evs if not carried]
        if (
            start == now
            or not (start in named or now in named)
            or not passes
            or options.by not in (None, *(mv.by for mv, _ in evs))
        ):
            continue
        if not own or (evs[0][1] and start not in named):
            carrier = next(mv.object_id for mv, carried in reversed(evs) if carried)
            if world.lists[carrier].id_board == now:
                continue  # with its list: the list's to say
        mv = own[-1] if own else evs[-1][0]
        what = "moved_to_other_board" if start in named else "moved_from_other_board"
        action = mv.from_action_id if mv.from_board in named else mv.to_action_id
        out.append(TruthUnrestorable(object_id, action, mv.by, mv.at, what))
    return out


def _first_value_reason(**flags: bool) -> str | None:
    for reason in VALUE_SKIP_ORDER:
        if flags.get(reason):
            return reason
    return None


def _first_reason(**flags: bool) -> str | None:
    for reason in SKIP_ORDER:
        if flags.get(reason):
            return reason
    return None


def _silent_losses(
    card: Card, events: list[MemberEvent], in_window: Callable[[datetime], bool]
) -> list[tuple[str, str]]:
    """Unlogged removals that still stand, with the add that preceded each. ``in_window`` is
    the upper bound only: a silent loss before ``since`` leaves the log showing the member on
    the card at ``since`` (no logged change of the pair follows it, or it would not stand), so
    design.md §3's unrecorded loss ("on the card at the cutoff by replay, not on it now")
    covers it too."""
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
