"""What moved across boards in the window and is not back (``--restore list``; design.md §10.1):
pure, part of the value kinds' rule (``planner_values``), which lists it under ``unrestorable``.

Moving back across boards is out of scope, and a plan that said nothing of such a move would
leave it out in silence (R41b). Each card and list is judged by where it was before its first
move across boards in the window that the named boards' logs show, and where it is now:

- **where it was** (its *start*): the board the first such move took it from. A card can also
  leave a board with its list: Trello logs a list move and no card move, so a card counts as
  carried by a list move when the list it was in then (``History.card_lists``) is the list moved,
  and no move of its own had taken it off that board before (R42d: a card that left with its
  list and came back alone was listed as "moved here from" the board it started on);
- **where it is now**: its board in ``State``, when it is on a board read; else where the last
  such move took it (a board this plan does not read: the log of a named board shows no move
  beyond it).

Nothing is said when the two are the same board (moved away and back), or when neither is a
named board (moved across a named board and on: ``B -> A -> C`` with ``A`` named changed
nothing on ``A``, R42d). Else, when it started on a named board, it is
``moved_to_other_board``, and the other board is where it is now (R42d: ``A -> B -> C`` was
said "moved to B"); when it started on another board, ``moved_from_other_board``, and the other
board is where it started. A card that only went, or came, with its list is said by the list's
line while it is on the board its list is on now (else by the list's move that took it). The
move named is the object's last own move the logs read show: the one that left it
where it is, as far as they tell.
A move is seen once even when both its boards are named: by the record of the board it left
when that board is named (``move*FromBoard``), else by the one it came to. ``--by`` keeps an
object when one of its moves (or its list's, for a carried card) was by that member.
"""

from __future__ import annotations

from bisect import bisect_right
from collections import defaultdict
from collections.abc import Callable, Collection, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Literal, cast

from trello_restore.models import CardInfo, History, MemberRef, MoveAction, State, Unrestorable

__all__ = ["MovedRule", "moved_across"]


@dataclass(frozen=True, slots=True)
class MovedRule:
    """What ``moved_across`` needs of the value kinds' rule: the history and state, the boards
    named (``board_named``), the window and ``--by`` (``in_window``, ``by_matches``),
    ``--list``/``--card`` (``passes``: object type and id), member names (``member``) and each
    list on a board read (``lists``: id -> (board id, name))."""

    history: History
    state: State
    board_named: Callable[[str], bool]
    in_window: Callable[[datetime], bool]
    by_matches: Callable[[str], bool]
    passes: Callable[[str, str], bool]
    member: Callable[[str], MemberRef]
    lists: Mapping[str, tuple[str, str]]


@dataclass(frozen=True, slots=True)
class _Event:
    move: MoveAction
    #: A move of the list the card was in (Trello logs no card move for it).
    carried: bool = False


def moved_across(rule: MovedRule) -> list[Unrestorable]:
    """The cards and lists moved across boards in the window and not back (module docstring)."""
    h = rule.history
    seen: list[MoveAction] = []
    for m in sorted(h.moves, key=lambda m: (m.date, "ToBoard" in m.type, m.id)):
        src, dst = m.source_board_id, m.target_board_id
        here = src if "FromBoard" in m.type else dst
        named = src if rule.board_named(src) else dst if rule.board_named(dst) else None
        if here == named and rule.in_window(m.date) and _moved_id(m):
            seen.append(m)
    events: dict[tuple[str, str], list[_Event]] = defaultdict(list)
    for key, event in _with_carried(h, rule.state, seen):
        events[key].append(event)
    lists_now = {
        object_id: rule.lists.get(object_id, (evs[-1].move.target_board_id, ""))[0]
        for (object_type, object_id), evs in events.items()
        if object_type == "list"
    }
    out: list[Unrestorable] = []
    for (object_type, object_id), evs in events.items():
        u = _judge(rule, cast(Literal["card", "list"], object_type), object_id, evs, lists_now)
        if u is not None:
            out.append(u)
    return out


def _with_carried(
    h: History, state: State, seen: list[MoveAction]
) -> list[tuple[tuple[str, str], _Event]]:
    """Each move in ``seen`` (in date order) keyed by what it moved, with a carried card's
    event for each card a list move took along (module docstring), in date order."""
    moved_lists = {_moved_id(m) for m in seen if m.type.startswith("moveList")}
    places = _places(h, state, moved_lists)
    ever_in: dict[str, set[str]] = defaultdict(set)  # list id -> cards ever in it
    for card_id, where in places.items():
        for lid in [lid for _, lid in where] or [_list_now(h, state, card_id)]:
            ever_in[lid].add(card_id)
    board_of: dict[str, str] = {}  # a card's board after its own last move so far
    out: list[tuple[tuple[str, str], _Event]] = []
    for m in seen:
        if m.type.startswith("moveCard"):
            board_of[_moved_id(m)] = m.target_board_id
            out.append((("card", _moved_id(m)), _Event(m)))
            continue
        out.append((("list", _moved_id(m)), _Event(m)))
        for card_id in sorted(ever_in[_moved_id(m)]):
            where = places[card_id]
            i = bisect_right(where, m.date, key=lambda p: p[0])
            # None known then: made since (if any is known), else as the last action says.
            was_in = where[i - 1][1] if i else "" if where else _list_now(h, state, card_id)
            in_list = was_in == m.list_id
            if in_list and board_of.get(card_id, m.source_board_id) == m.source_board_id:
                board_of[card_id] = m.target_board_id
                out.append((("card", card_id), _Event(m, carried=True)))
    return out


def _moved_id(m: MoveAction) -> str:
    """The id of the card or list a move moved ("" when the action names none)."""
    return (m.card_id if m.type.startswith("moveCard") else m.list_id) or ""


def _places(
    h: History, state: State, lists: Collection[str]
) -> dict[str, list[tuple[datetime, str]]]:
    """The places in date order (``History.card_lists``) of each card ever in one of ``lists``
    (by its places, or, for a card with none, the list it is in now or the log last named:
    ``moveCardFromBoard`` names the list a card left a board from)."""
    if not lists:
        return {}
    cards = {cid for _, cid, lid in h.card_lists if lid in lists}
    cards.update(cid for cid, c in state.cards.items() if c.list_id in lists)
    cards.update(cid for cid, c in h.cards.items() if c.list_id in lists)
    places: dict[str, list[tuple[datetime, str]]] = {c: [] for c in sorted(cards)}
    for date, cid, lid in h.card_lists:
        if cid in places:
            places[cid].append((date, lid))
    return places


def _list_now(h: History, state: State, card_id: str) -> str:
    card = state.cards.get(card_id)
    if card is not None:
        return card.list_id
    return (h.cards.get(card_id) or CardInfo(card_id)).list_id


def _judge(
    rule: MovedRule,
    object_type: Literal["card", "list"],
    object_id: str,
    evs: list[_Event],
    lists_now: Mapping[str, str],
) -> Unrestorable | None:
    h, state = rule.history, rule.state
    if object_type == "card":
        if object_id in h.deleted_when:
            return None  # said as deleted, where it was
        card_now = state.cards.get(object_id)
        now = card_now.board_id if card_now is not None else evs[-1].move.target_board_id
        name = card_now.name if card_now is not None else _card_name(h, object_id)
    else:
        now, name = rule.lists.get(object_id, (evs[-1].move.target_board_id, ""))
    start = evs[0].move.source_board_id
    if start == now or not (rule.board_named(start) or rule.board_named(now)):
        return None
    if not any(rule.by_matches(e.move.by) for e in evs) or not rule.passes(object_type, object_id):
        return None
    own = [e.move for e in evs if not e.carried]
    if not own or (evs[0].carried and not rule.board_named(start)):
        # It went, or came, with its list: the list's line says so while it is where its list
        # is (R42e: not when the list came back without it).
        carrier = next(e.move.list_id for e in reversed(evs) if e.carried)
        if lists_now.get(carrier or "") == now:
            return None
    m = own[-1] if own else evs[-1].move
    if rule.board_named(start):
        what, other = "moved_to_other_board", now
        named_by = m.other_board_name if "FromBoard" in m.type and m.target_board_id == now else ""
    else:
        what, other = "moved_from_other_board", start
        named_by = m.other_board_name if "ToBoard" in m.type and m.source_board_id == start else ""
    board = state.boards.get(other)
    return Unrestorable(
        object_type=object_type,
        object_id=object_id,
        name=name,
        what=what,
        action_id=m.id,
        date=m.date,
        by=rule.member(m.by),
        other_board_id=other,
        other_board_name=board.name if board is not None else named_by,
    )


def _card_name(h: History, card_id: str) -> str:
    return (h.cards.get(card_id) or CardInfo(card_id)).name
