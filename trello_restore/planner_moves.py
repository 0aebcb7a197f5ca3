"""What moved across boards in the window and is not back (``--restore list``; design.md §10.1):
pure, part of the value kinds' rule (``planner_values``), which lists it under ``unrestorable``.

Moving back across boards is out of scope, and a plan that said nothing of such a move would
leave it out in silence (R41b). Each card and list is judged by where it was before its first
move across boards in the window that the named boards' logs show, and where it is now:

- **where it was** (its *start*): the board the first such move took it from. A card can also
  leave a board with its list: Trello logs a list move and no card move, so a card counts as
  carried by a list move when the list it was in then (``History.card_lists``, and no move of
  its own off that board since) is the list moved (R42d: a card that left with its list and
  came back alone was listed as "moved here from" the board it started on);
- **where it is now**: its board in ``State``, when it is on a board read; else where the last
  such move took it, and on from there through its moves off each board read but not named
  (R42g: a board read holds its cards, so one not among them went on; the log of a board not
  read shows no move beyond it); a card its list took last, still in that list by the log,
  is where that list is now (R42h).

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

from collections import defaultdict
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Literal, cast

from trello_restore.models import CardInfo, History, MemberRef, MoveAction, State, Unrestorable

__all__ = ["MovedRule", "moved_across"]


@dataclass(frozen=True, slots=True)
class MovedRule:
    """What ``moved_across`` needs of the value kinds' rule: the history and state, the boards
    named (``board_named``), the window and ``--by`` (``in_window``, ``by_matches``),
    ``--list``/``--card`` (``passes``: object type and id), member names (``member``), each
    list on a board read (``lists``: id -> (board id, name)) and the cards the plan says were
    deleted (``said_deleted``)."""

    history: History
    state: State
    board_named: Callable[[str], bool]
    in_window: Callable[[datetime], bool]
    by_matches: Callable[[str], bool]
    passes: Callable[[str, str], bool]
    member: Callable[[str], MemberRef]
    lists: Mapping[str, tuple[str, str]]
    #: The cards the plan says were deleted in the window: said so, not said moved.
    said_deleted: frozenset[str] = frozenset()


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
    moved, in_list = _with_carried(h, rule.state, seen)
    for key, event in moved:
        events[key].append(event)
    # Each object's moves off a board (``move*FromBoard``) in date order, seen or not: where it
    # went on from a board read but not named (R42g, R42h: said moved to a board it is not on).
    leaves: dict[tuple[str, str], list[MoveAction]] = defaultdict(list)
    for m in sorted(h.moves, key=lambda m: (m.date, m.id)):
        key = ("card" if m.type.startswith("moveCard") else "list", _moved_id(m))
        if "FromBoard" in m.type and key in events:
            leaves[key].append(m)
    where = {
        key: _now(rule, key, evs, leaves.get(key, []))
        for key, evs in events.items()
        if key[0] == "list"
    }
    lists_now = {key[1]: board for key, (board, _) in where.items()}
    for key, evs in events.items():
        if key[0] == "card":
            # One its list took last, and nothing since: wherever that list went on to (R42h).
            carrier = evs[-1].move.list_id or ""
            still = evs[-1].carried and in_list.get(key[1]) == carrier
            with_list = where.get(("list", carrier)) if still else None
            where[key] = _now(rule, key, evs, leaves.get(key, []), with_list)
    out: list[Unrestorable] = []
    for (object_type, object_id), evs in events.items():
        u = _judge(rule, object_type, object_id, evs, where[object_type, object_id], lists_now)
        if u is not None:
            out.append(u)
    return out


def _with_carried(
    h: History, state: State, seen: list[MoveAction]
) -> tuple[list[tuple[tuple[str, str], _Event]], dict[str, str]]:
    """Each move in ``seen`` (in date order) keyed by what it moved, with a carried card's
    event for each card a list move took along (module docstring), in date order; and the list
    each card ever in a moved list is in by the log's last word (none: it left the board)."""
    carried, in_list = _carried(h, state, seen)
    out: list[tuple[tuple[str, str], _Event]] = []
    for i, m in enumerate(seen):
        if m.type.startswith("moveCard"):
            out.append((("card", _moved_id(m)), _Event(m)))
            continue
        out.append((("list", _moved_id(m)), _Event(m)))
        out += [(("card", card_id), _Event(m, carried=True)) for card_id in carried.get(i, ())]
    return out, in_list


def _carried(
    h: History, state: State, seen: list[MoveAction]
) -> tuple[dict[int, list[str]], dict[str, str]]:
    """The cards each list move of ``seen`` (by its index) took along: those in the list then;
    and the list each card ever in a moved list is in at the end.

    One pass in date order over the places (``History.card_lists``) of the cards ever in a
    moved list, each card's own moves off a board (``moveCardFromBoard``, which names no
    place: the card is in none of that board's lists after it, R42g) and the list moves, a
    place or a move off a board at the same moment as a list move coming first. A card no
    place is known of is in the list it is in now, or the log last named, from the start."""
    moved = {_moved_id(m) for m in seen if m.type.startswith("moveList")}
    if not moved:
        return {}, {}
    known = {cid: c.list_id for cid, c in h.cards.items() if c.list_id in moved}
    known.update({cid: c.list_id for cid, c in state.cards.items() if c.list_id in moved})
    cards = {cid for _, cid, lid in h.card_lists if lid in moved or cid in known}
    placed = {cid for _, cid, _ in h.card_lists if cid in known}
    stream: list[tuple[datetime, int, int, str, str]] = [
        (date, 1, 0, cid, lid) for date, cid, lid in h.card_lists if cid in cards
    ]
    stream += [
        (m.date, 0, 0, m.card_id, "")
        for m in h.moves
        if m.type == "moveCardFromBoard" and m.card_id in cards
    ]
    stream += [(m.date, 2, i, "", "") for i, m in enumerate(seen) if m.type.startswith("moveList")]
    stream.sort()
    where: dict[str, str] = {cid: lid for cid, lid in known.items() if cid not in placed}
    inside: dict[str, set[str]] = defaultdict(set)  # list id -> the cards in it now
    for cid, lid in where.items():
        inside[lid].add(cid)
    out: dict[int, list[str]] = {}
    for _, kind, i, cid, lid in stream:
        if kind == 2:
            out[i] = sorted(inside[_moved_id(seen[i])])
            continue
        if (was := where.pop(cid, None)) is not None:
            inside[was].discard(cid)
        if kind == 1:
            where[cid] = lid
            inside[lid].add(cid)
    return out, where


def _moved_id(m: MoveAction) -> str:
    """The id of the card or list a move moved ("" when the action names none)."""
    return (m.card_id if m.type.startswith("moveCard") else m.list_id) or ""


def _now(
    rule: MovedRule,
    key: tuple[str, str],
    evs: list[_Event],
    leaves: list[MoveAction],
    with_list: tuple[str, str] | None = None,
) -> tuple[str, str]:
    """The board a card or list is on now, and its name when only a move names it: its board
    in ``State`` (a list's: ``lists``); else where its last move took it, followed on through
    its moves off each board read since (``leaves``: a board read holds its cards and lists, so
    one not among them went on); for a card its list took last (``with_list``: where that list
    is now), with no move of its own since, where its list is."""
    object_type, object_id = key
    if object_type == "card":
        card = rule.state.cards.get(object_id)
        if card is not None:
            return card.board_id, ""
    elif object_id in rule.lists:
        return rule.lists[object_id][0], ""
    last = evs[-1].move
    if with_list is not None and not any(m.date >= last.date for m in leaves):
        return with_list
    now, after = last.target_board_id, last.date
    name = last.other_board_name if "FromBoard" in last.type else ""
    for m in leaves:
        if m.date >= after and m.source_board_id == now and now in rule.state.boards:
            now, after, name = m.target_board_id, m.date, m.other_board_name
    return now, name


def _judge(
    rule: MovedRule,
    object_type: str,
    object_id: str,
    evs: list[_Event],
    where: tuple[str, str],
    lists_now: Mapping[str, str],
) -> Unrestorable | None:
    h, state = rule.history, rule.state
    now, named_now = where
    start = evs[0].move.source_board_id
    if start == now or not (rule.board_named(start) or rule.board_named(now)):
        return None
    own = [e.move for e in evs if not e.carried]
    if not own or (evs[0].carried and not rule.board_named(start)):
        # It went, or came, with its list: the list's line says so while it is where its list
        # is (R42e: not when the list came back without it).
        carrier = next(e.move.list_id for e in reversed(evs) if e.carried)
        if lists_now.get(carrier or "") == now:
            return None
    if not any(rule.by_matches(e.move.by) for e in evs) or not rule.passes(object_type, object_id):
        return None
    if object_id in rule.said_deleted:
        return None  # said as deleted, where it was
    if object_type == "card":
        card_now = state.cards.get(object_id)
        name = card_now.name if card_now is not None else _card_name(h, object_id)
    else:
        name = rule.lists.get(object_id, ("", ""))[1]
    m = own[-1] if own else evs[-1].move
    if rule.board_named(start):
        what, other = "moved_to_other_board", now
        named_by = named_now or (
            m.other_board_name if "FromBoard" in m.type and m.target_board_id == now else ""
        )
    else:
        what, other = "moved_from_other_board", start
        named_by = m.other_board_name if "ToBoard" in m.type and m.source_board_id == start else ""
    board = state.boards.get(other)
    return Unrestorable(
        object_type=cast(Literal["card", "list"], object_type),
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
