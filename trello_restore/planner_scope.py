"""Which cards a plan may touch, and the filter values checked against what the fetch saw: pure
functions of (history, state, options), like ``planner.py``, which uses them (and re-exports
them).

Scope (``cards_in_scope``): every card of a board the user named; of a board reached only by
following a move, only the cards that moved between it and a named board (its other cards
supply nothing but history). ``resolve_filters`` checks ``--removed-by``, ``--by``, ``--list``
and ``--card`` against what the fetch saw and refuses a value that matches nothing in scope.
Also the history's lookups the scope and the planner share: each card's places
(``card_places``) and the moves per author and card or list (``MoveIndex``); and the cards in
scope in the plan's order (``in_plan_order``).
"""

from __future__ import annotations

import bisect
import difflib
import operator
import re
from collections import defaultdict
from collections.abc import Collection, Iterable, Iterator, Mapping
from dataclasses import replace
from datetime import datetime, timedelta

from trello_restore.errors import UsageError
from trello_restore.models import (
    MOVE_WINDOW_SECONDS,
    CardState,
    History,
    MemberAction,
    MemberRef,
    MoveAction,
    PlanOptions,
    State,
    normal_name,
    quote_name,
)
from trello_restore.words import shown_name

__all__ = [
    "MoveIndex",
    "Places",
    "card_places",
    "cards_in_scope",
    "in_plan_order",
    "resolve_filters",
]


#: Per card, its places (date, list id) in date order.
Places = dict[str, list[tuple[datetime, str]]]


def card_places(history: History) -> Places:
    """Each card's places in date order (``history.card_lists`` is sorted): made once per plan,
    for the scope and the planner (117,000 places on a long board: a tenth of a second)."""
    places: Places = {}
    get = places.get
    for date, cid, lid in history.card_lists:
        found = get(cid)
        if found is None:
            places[cid] = [(date, lid)]
        else:
            found.append((date, lid))
    return places


def cards_in_scope(
    history: History,
    state: State,
    named_boards: Collection[str] | None = None,
    *,
    acted_on: Collection[str] | None = None,
    places: Places | None = None,
) -> frozenset[str]:
    """The cards a plan may touch (design.md §3, "Scope"): the cards of the named boards (now
    or, deleted, when last seen) and the cards that moved between a named board and another
    board — by a card move, with a list that moved, or shown on a named board's feed by a
    member action. A board that is only followed supplies history; its other cards are not in
    scope. ``named_boards`` None (or naming every board of ``state``) keeps every card.
    ``acted_on``: the cards of ``history.member_actions`` when the caller has them already
    (a pass over a large history's actions costs more than one would think); ``places``:
    ``card_places(history)``, when the caller has it."""
    if acted_on is None:
        acted_on = {a.card_id for a in history.member_actions}
    # And the deleted cards: one with no member action is in scope as any other (R42h: moved
    # off a named board in the window and deleted, it was in no line of the plan).
    every = set(state.cards).union(acted_on, history.deleted_when)
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
    if places is None:
        places = card_places(history)
    out: set[str] = set()
    for cid in every:
        card = state.cards.get(cid)
        info = history.cards.get(cid)
        board = card.board_id if card else (info.board_id if info else "")
        if board in named or cid in on_named:
            out.add(cid)
        elif list_moves:
            current = card.list_id if card else (info.list_id if info else "")
            gone = history.deleted_when.get(cid, (None, ""))[0] if card is None else None
            if _was_in_moved_list(places.get(cid, []), current, list_moves, gone):
                out.add(cid)
    return frozenset(out)


def in_plan_order(
    state: State, scope: frozenset[str], list_names: Mapping[str, str]
) -> list[CardState]:
    """The cards in scope that exist now, in the plan's order: by board (name, id), list
    (name, id) and card (name, id). The planner plans each card's changes together, so they
    come out in the plan's order but for the order of each card's few (by member).

    Sorted by card name, then placed by board and list (the cards of a list keep that order):
    a sort on one string is cheaper than one on tuples, whose every comparison compares the
    equal board and list first. Cards whose names tie are sorted by id first (the sort is
    stable)."""
    cards = [card for cid, card in state.cards.items() if cid in scope]
    cards.sort(key=_NAME)
    names = [card.name for card in cards]
    if len(set(names)) < len(names):
        cards.sort(key=_ID)
        cards.sort(key=_NAME)
    places: dict[tuple[str, str], list[CardState]] = {}
    for card in cards:
        place = (card.board_id, card.list_id)
        found = places.get(place)
        if found is None:
            places[place] = [card]
        else:
            found.append(card)
    boards = state.boards

    def order(place: tuple[str, str]) -> tuple[str, str, str, str]:
        board = boards.get(place[0])  # none: the card has no change (the planner fails)
        name, bid = (board.name, board.id) if board is not None else ("", place[0])
        return (name, bid, list_names.get(place[1], ""), place[1])

    return [card for place in sorted(places, key=order) for card in places[place]]


#: A card's name and id (``in_plan_order``).
_NAME = operator.attrgetter("name")
_ID = operator.attrgetter("id")


def _was_in_moved_list(
    places: list[tuple[datetime, str]],
    current: str,
    list_moves: Mapping[str, list[datetime]],
    gone: datetime | None = None,
) -> bool:
    """Whether the card was in one of ``list_moves``' lists when that list moved. ``places``
    is where the card went, in date order (creation, moves); with none known, its list now
    stands for where it always was.

    The card was in list ``lid`` at ``when`` if its last place at or before ``when`` is in
    ``lid``: a place ``i`` in a moved list, from its date until the next place's (a place of
    the same date as the next is left at once). Each of the card's few places is looked at,
    not each of the lists that moved (a board's incident moves dozens of lists; its followed
    board has hundreds of cards that are not in scope). A card deleted (``gone``: when) was in
    no list after that (R42h: a list that moved onto a named board after its card was deleted
    had it listed as deleted there)."""
    if not places:
        return current in list_moves and (gone is None or min(list_moves[current]) < gone)
    last = len(places) - 1
    for i, (date, lid) in enumerate(places):
        moved_at = list_moves.get(lid)
        if moved_at is None:
            continue
        until = places[i + 1][0] if i < last else gone
        for when in moved_at:
            if date <= when and (until is None or when < until):
                return True
    return False


def resolve_filters(
    history: History,
    state: State,
    options: PlanOptions,
    members: Mapping[str, MemberRef] | None = None,
    named_boards: Collection[str] | None = None,
    *,
    names: Mapping[str, str] | None = None,
) -> PlanOptions:
    """Check ``--removed-by``, ``--list`` and ``--card`` against what the fetch saw, before
    anything is planned or written: a value that matches no member, list or card in scope is
    a ``UsageError`` (one line: the value, why, and the nearest candidates). In cron a typo
    would otherwise restore part of an incident and move ``last-run`` past the rest.

    Returns the options with each value as Trello has it: a ``--removed-by`` username or a
    ``--list`` name that matched only case-insensitively (or in another Unicode form) is
    replaced by the one it matched. A case-insensitive list name that fits several different
    names is an error listing them. ``names`` say where ``removed_by`` and ``by`` came from
    (``TRELLO_RESTORE_REMOVED_BY``, ``restore.by in FILE``), for the messages: their options
    when not given."""
    # The cards in scope only matter to --list and --card (a pass over the whole history).
    scope = (
        cards_in_scope(history, state, named_boards)
        if options.lists is not None or options.cards is not None
        else frozenset()
    )
    named = set(state.boards) if named_boards is None else set(named_boards)
    problems: list[str] = []
    known = _known_members(history, members or {})
    removed_by, by = options.removed_by, options.by
    label = {"removed_by": "--removed-by", "by": "--by", **(names or {})}
    if removed_by is not None:
        removed_by = _resolve_member(removed_by, known, problems, label["removed_by"])
    if by is not None:  # --by selects member removals too, unless --removed-by names them
        by = _resolve_member(by, known, problems, label["by"], removals=False)
        if removed_by is not None and not _same_member(removed_by, by, known):
            problems.append(
                f"{label['removed_by']} {quote_name(removed_by)} and {label['by']} "
                f"{quote_name(by)} name different members, and --by selects member removals "
                "too: give one of them (or the same member to both)"
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


def history_member_ids(history: History) -> Iterator[str]:
    """The ids of the members the history shows acting or acted on, in the order first seen
    (repeats included): member actions' authors and members, movers, field changes' authors,
    deleters."""
    yield from (x for a in history.member_actions for x in (a.by, a.member_id))
    yield from (m.by for m in history.moves)
    yield from (u.by for u in history.field_updates)
    yield from (w for _, w in history.deleted_when.values())


def _known_members(history: History, members: Mapping[str, MemberRef]) -> dict[str, MemberRef]:
    """Every member the history or the board memberships show (ids seen only as an actor
    included)."""
    # The ids in the order first seen, each once, before any ``MemberRef`` is made (one per
    # action cost 0.3 s on a board of 272,000 actions).
    ids = dict.fromkeys(history_member_ids(history))
    known = {mid: MemberRef(mid) for mid in ids}
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
    value: str,
    known: Mapping[str, MemberRef],
    problems: list[str],
    flag: str,
    *,
    removals: bool = True,
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
        + ("removals" if removals else "changes")
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
    return f"{name} ({shown_name(m.full_name)})" if m.full_name else name


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
    # Every name of each folded form (R39a: of "Sprint", "Sprint " and "sprint" only the last
    # was offered, and the user steered to the wrong one).
    by_fold: dict[str, list[str]] = {}
    for _, (n, _) in sorted(eligible.items()):
        names = by_fold.setdefault(normal_name(n).casefold(), [])
        names.extend([n] if n not in names else [])
    near = difflib.get_close_matches(normal_name(value).casefold(), list(by_fold), n=3)
    hint = (
        "did you mean " + " or ".join(quote_name(n) for k in near for n in by_fold[k]) + "?"
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
    if _BOARD_LINK.search(value):
        problems.append(
            f"--card {shown_name(value)}: that is a board's URL, not a card's; --card takes a "
            "card's id, shortLink or URL (https://trello.com/c/…), --board the board"
        )
        return
    if hits:
        cid, _, name = hits[0]
        card = state.cards.get(cid)
        board = state.boards.get(card.board_id) if card else None
        where = f"on {quote_name(board.name)}" if board else "on a board"
        problems.append(
            f"--card {shown_name(value)}: card {quote_name(name)} is {where}, which is only "
            "followed for the cards that moved between it and the boards named, and this card "
            "never did; name that board with --board too"
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
        f"--card {shown_name(value)}: no card with that id or shortLink is in scope (archived "
        f"cards included); {hint}"
    )


#: A board's address (``trello.com/b/…``, the host in any case), which ``--card`` gets by mistake.
_BOARD_LINK = re.compile(r"(?i:trello\.com)/b/")


class MoveIndex:
    """The moves of cards and lists between boards per author and card, and per author and
    list, each in date order: the move a removal came with is then found by binary searches
    among its author's moves of that card and of that list, not by a scan of every move its
    author made (a mover of a few hundred lists whose move stripped thousands of members:
    millions of date comparisons)."""

    def __init__(self, moves: Iterable[MoveAction]) -> None:
        #: (author, True, card id) or (author, False, list id) -> (dates, (date, position, move)).
        self.index: dict[
            tuple[str, bool, str], tuple[list[datetime], list[tuple[datetime, int, MoveAction]]]
        ] = {}
        grouped: dict[tuple[str, bool, str], list[tuple[datetime, int, MoveAction]]]
        grouped = defaultdict(list)
        for position, m in enumerate(moves):
            if m.card_id is not None:
                grouped[(m.by, True, m.card_id)].append((m.date, position, m))
            if m.list_id is not None:
                grouped[(m.by, False, m.list_id)].append((m.date, position, m))
        for key, entries in grouped.items():
            entries.sort(key=_DATE_POSITION)
            self.index[key] = ([date for date, _, _ in entries], entries)
        #: Who moved a card or a list.
        self.movers = {author for author, _, _ in grouped}

    def coinciding(self, rem: MemberAction, list_id: str) -> MoveAction | None:
        """The move of the removal's card, or of ``list_id`` (the list the card was in), by the
        removal's author within 60 s of it; of several, the closest in time, then the first in
        the history's order."""
        window = timedelta(seconds=MOVE_WINDOW_SECONDS)
        date = rem.date
        best: tuple[timedelta, int, MoveAction] | None = None
        for key in ((rem.by, True, rem.card_id), (rem.by, False, list_id)):
            found = self.index.get(key)
            if found is None:
                continue
            dates, entries = found
            first = bisect.bisect_left(dates, date - window)
            end = bisect.bisect_right(dates, date + window)
            for when, position, move in entries[first:end]:
                distance = abs(when - date)
                if best is None or (distance, position) < best[:2]:
                    best = (distance, position, move)
        return best[2] if best is not None else None


#: An indexed move's date and place in the history.
_DATE_POSITION = operator.itemgetter(0, 1)
