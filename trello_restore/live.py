"""Live state for an apply or undo: each board's cards, memberships and (when asked) lists,
read fresh.

``read_live`` reads board by board (one uncached listing of the board's cards with
``idMembers`` and the fields the value kinds restore, paged, and one read of the board with its
memberships and, for the boards ``lists_of`` names, its lists with their archive state nested:
``read_state``), never a request per card (design.md §5, §10.3).
``locate_cards`` reads by id a card of an undo's change that its board's listing lacks (moved
to another board, or deleted), one request each. ``deactivated_members`` finds who is
deactivated on any board a plan touches; ``refusal`` words Trello refusing the token's member a
board, and ``foreseen_refusal`` (a dry run's) Trello about to refuse it, from the memberships
the same read gave.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Mapping
from concurrent.futures import ThreadPoolExecutor, wait
from dataclasses import dataclass, field, replace
from datetime import datetime
from pathlib import Path
from typing import Literal

from trello_restore.api import TrelloApi
from trello_restore.boards import NO_NESTED, STATE_QUERY
from trello_restore.errors import ApiError, ApiUnreachable, NotFound, PermissionDenied
from trello_restore.fetcher import CARD_FIELDS, MEMBER_CARD_FIELDS, board_cards
from trello_restore.history import HistoryError, members_from_listing, parse_board, parse_card
from trello_restore.models import (
    CardState,
    Change,
    FieldValue,
    MemberRef,
    Membership,
    quote_name,
)
from trello_restore.words import shown_name

__all__ = [
    "GOES_ON",
    "LiveBoard",
    "Located",
    "Refused",
    "Target",
    "Touch",
    "admin_fix",
    "answered",
    "deactivated_members",
    "foreseen_refusal",
    "foreseen_refusals",
    "locate_cards",
    "plan_refusals",
    "read_live",
    "read_memberships",
    "read_state",
    "refusal",
    "refusal_warning",
    "refused_boards_line",
]

logger = logging.getLogger(__name__)

#: A board's memberships (deactivated and unconfirmed ones included) nested in one read of the
#: board, ``GET /1/boards/{id}``, as ``boards.STATE_QUERY`` nests them for a plan, each with its
#: member's names (an apply checks the plan's username against them, undo shows them), and of
#: the board's own fields only its name (undo shows it).
_MEMBERSHIPS_QUERY = {
    "fields": "name",
    **NO_NESTED,
    "memberships": STATE_QUERY["memberships"],
    "memberships_member": STATE_QUERY["memberships_member"],
    "memberships_member_fields": STATE_QUERY["memberships_member_fields"],
}
#: The same read with every list of the board (archived ones included), its archive state and
#: its name (a drifted card move's reason names the lists).
_LISTS_QUERY = {**_MEMBERSHIPS_QUERY, "lists": STATE_QUERY["lists"], "list_fields": "name,closed"}


@dataclass(frozen=True)
class Located:
    """A card of a change that its board's listing lacks, read by id (``locate_cards``)."""

    #: The card as Trello has it now (its ``board_id``: where it is); None when deleted or
    #: unreadable.
    card: CardState | None = None
    #: The name of the board the card is on now ("" when Trello did not say).
    board_name: str = ""
    #: Trello no longer finds the card (404): it was deleted.
    deleted: bool = False
    #: Why the card could not be read (e.g. it is on a board the token's member may not read).
    error: str = ""


#: What a change sets, as the boards' action feeds name it (``ChangeKind.target``): the object's
#: id and what of it, e.g. ``(card id, "member <member id>")`` or ``(card id, "closed")``.
Target = tuple[str, str]


@dataclass(frozen=True)
class Touch:
    """The last action on a change's target in the boards' feeds since a date, when it is not
    one of this tool's own writes of the journal (``touches.py``): someone else's doing."""

    action_id: str
    date: datetime
    #: Who made it (``idMemberCreator``, with the names its answer embedded).
    by: MemberRef
    #: ``add`` or ``remove`` (a card member), ``set`` (a value: ``value`` is what it set).
    kind: Literal["add", "remove", "set"]
    value: FieldValue = None
    #: The app (an automation) that made it on ``by``'s behalf; "" for a person.
    app: str = ""
    #: A member's removal by this tool's undo of another journal (its path), by the token's
    #: member within that undo's write of it (``touches.apply_touches``); "" for anyone else's.
    undo_of: str = ""

    @property
    def who(self) -> str:
        """Who made it, as a reason names them: ``@username`` (else the member's id), or the
        app with the member it acted for."""
        user = f"@{self.by.username}" if self.by.username else self.by.id
        return f"{shown_name(self.app)} (app, on behalf of {user})" if self.app else user


@dataclass(frozen=True)
class LiveBoard:
    """A board as it is now: its cards and memberships, or why it could not be read."""

    board_id: str
    #: Card id → card, from one fresh listing; None when the board is gone.
    cards: dict[str, CardState] | None
    memberships: dict[str, Membership] = field(default_factory=dict)
    #: Why ``cards`` is None.
    error: str = ""
    #: List id → whether it is archived, every list of the board (archived ones included), from
    #: one fresh listing; None when not read (no change on the board needs it).
    lists: dict[str, bool] | None = None
    #: Member id → the member's names now (id, username, full name), for each membership of
    #: ``memberships`` whose answer embedded its member.
    members: dict[str, MemberRef] = field(default_factory=dict)
    #: The board's name now ("" when not read).
    name: str = ""
    #: List id → the list's name now, for the lists of ``lists`` (empty when not read).
    list_names: dict[str, str] = field(default_factory=dict)
    #: Card id → where Trello has a card of this board's changes that ``cards`` lacks, read
    #: by id (``locate_cards``; empty when none was looked for).
    located: dict[str, Located] = field(default_factory=dict)
    #: Target → the last action on it since the plan was made (an apply) or since the apply (an
    #: undo) when that is not one of this tool's own writes of the journal (``touches.py``),
    #: for the changes that would be written; empty when not read.
    touched: dict[Target, Touch] = field(default_factory=dict)

    def is_active(self, member_id: str) -> bool:
        """An active (confirmed, not deactivated) member of the board, of any type."""
        ms = self.memberships.get(member_id)
        return ms is not None and ms.active


def read_live(
    api: TrelloApi,
    board_ids: Iterable[str],
    names: Mapping[str, str] | None = None,
    *,
    lists_of: Iterable[str] = (),
    fields_of: Iterable[str] = (),
    readers: int = 1,
    op: str = "apply",
) -> dict[str, LiveBoard]:
    """One fresh listing of each board's cards (paged; with the value kinds' fields, ``desc``,
    ``due``, …, on the boards in ``fields_of``, else only what the member kinds read) and of
    its memberships, and of the lists of the boards in ``lists_of``.

    With ``readers`` > 1 a board's memberships and lists are read while its cards are, and the
    card listing's pages in date ranges on that many threads (``fetcher.board_cards``), as a
    plan reads them: an apply's first write waits for the last page, and 20,000 cards are 20
    pages in a row otherwise.

    A board Trello no longer finds is ``LiveBoard(cards=None)`` (its changes drift); any other
    error (auth, unreachable) is raised before anything is written, a refusal to read a board
    (``PermissionDenied``) as one line naming the token's member and the board (``names``:
    board id → name, for that message; ``op``: the run's, ``apply`` or ``undo``)."""
    out: dict[str, LiveBoard] = {}
    with_lists, with_fields = set(lists_of), set(fields_of)
    pool = (
        ThreadPoolExecutor(max_workers=readers, thread_name_prefix="live") if readers > 1 else None
    )
    try:
        for board_id in sorted(set(board_ids)):
            fields = CARD_FIELDS if board_id in with_fields else MEMBER_CARD_FIELDS
            try:
                out[board_id] = _read_board(
                    api, board_id, fields, pool, lists=board_id in with_lists
                )
            except NotFound as err:
                gone = f"the board is gone ({err.trello_error})"
                out[board_id] = LiveBoard(board_id, None, {}, gone)
            except PermissionDenied as err:
                name = (names or {}).get(board_id, "")
                raise refusal(api, board_id, name, err, wrote=False, op=op) from None
    finally:
        if pool is not None:
            pool.shutdown(wait=True, cancel_futures=True)
    return out


def locate_cards(
    api: TrelloApi, live: Mapping[str, LiveBoard], cards: Iterable[tuple[str, str]]
) -> dict[str, LiveBoard]:
    """``live`` with each card of ``cards`` (board id, card id) that its board's listing lacks
    read by id (``GET /1/cards/{id}`` with the name of its board, one request per card,
    uncached) into its board's ``located``: on another board now, deleted (404), or
    unreadable (a board the token's member may not read). A board that is gone stays as it is;
    any other error is raised (before anything is written)."""
    wanted: dict[str, set[str]] = {}
    for board_id, card_id in cards:
        board = live.get(board_id)
        if board is None or board.cards is None or not card_id:
            continue
        card = board.cards.get(card_id)
        if card is None or card.board_id != board_id:
            wanted.setdefault(board_id, set()).add(card_id)
    out = dict(live)
    for board_id, ids in sorted(wanted.items()):
        out[board_id] = replace(live[board_id], located={i: _locate(api, i) for i in sorted(ids)})
    return out


def _locate(api: TrelloApi, card_id: str) -> Located:
    """Where Trello has card ``card_id`` now (``locate_cards``)."""
    query = {"fields": MEMBER_CARD_FIELDS, "board": "true", "board_fields": "name"}
    try:
        raw = api.get(f"cards/{card_id}", query, keep=False)
    except NotFound:
        return Located(deleted=True)
    except PermissionDenied as err:
        return Located(error=err.trello_error or str(err))
    try:
        card = parse_card(raw) if isinstance(raw, dict) else None
    except HistoryError:
        card = None
    if card is None or card.id != card_id:
        raise ApiUnreachable(f"Trello answered card {card_id} oddly (not a card); try again later")
    board = raw.get("board")
    name = board.get("name") if isinstance(board, dict) else None
    return Located(card, name if isinstance(name, str) else "")


def _read_board(
    api: TrelloApi, board_id: str, fields: str, pool: ThreadPoolExecutor | None, *, lists: bool
) -> LiveBoard:
    """One board's live state; with a ``pool``, its memberships and lists (one request) on it
    while the cards are read (its error raised after the cards', as when read in turn)."""
    if pool is None:
        cards = {c.id: c for c in board_cards(api, board_id, fields=fields)}
        state = _read_state(api, board_id, lists=lists)
        return _live_board(board_id, cards, state)
    later = pool.submit(_read_state, api, board_id, lists=lists)
    try:
        cards = {c.id: c for c in board_cards(api, board_id, fields=fields, pool=pool)}
    finally:
        wait([later])
    return _live_board(board_id, cards, later.result())


#: What ``_read_state`` gives: memberships, lists (id → archived, or None), members' names,
#: the board's name, and the lists' names (id → name).
_State = tuple[
    dict[str, Membership], dict[str, bool] | None, dict[str, MemberRef], str, dict[str, str]
]


def _live_board(board_id: str, cards: dict[str, CardState], state: _State) -> LiveBoard:
    memberships, listed, members, name, list_names = state
    return LiveBoard(
        board_id,
        cards,
        memberships,
        lists=listed,
        members=members,
        name=name,
        list_names=list_names,
    )


def read_state(
    api: TrelloApi, board_id: str, *, lists: bool
) -> tuple[dict[str, Membership], dict[str, bool] | None]:
    """One fresh read of a board (``GET /1/boards/{id}``) with its memberships nested
    (deactivated ones included), by member id, and, with ``lists``, every list of it (archived
    ones included): list id → archived; None without ``lists``."""
    memberships, listed, _, _, _ = _read_state(api, board_id, lists=lists)
    return memberships, listed


def _read_state(api: TrelloApi, board_id: str, *, lists: bool) -> _State:
    """``read_state``, the members' names the memberships embed (by member id), the board's
    name and, with ``lists``, the lists' names (by list id)."""
    raw = api.get(f"boards/{board_id}", _LISTS_QUERY if lists else _MEMBERSHIPS_QUERY)
    what = "memberships and lists" if lists else "memberships"
    memberships = raw.get("memberships") if isinstance(raw, dict) else None
    listed = (raw.get("lists") if lists else []) if isinstance(raw, dict) else None
    if not isinstance(memberships, list) or not isinstance(listed, list):
        raise _odd(board_id, what, f"not a board with its {what}")
    try:
        state = parse_board({"id": board_id, "name": raw.get("name")}, memberships, listed)
    except HistoryError as exc:
        raise _odd(board_id, what, str(exc)) from None
    members = members_from_listing(
        m["member"] for m in memberships if isinstance(m.get("member"), dict)
    )
    name = state.name if isinstance(raw.get("name"), str) else ""
    listed_names = state.lists if lists else {}
    return state.memberships, state.list_closed if lists else None, members, name, listed_names


def read_memberships(api: TrelloApi, board_id: str) -> dict[str, Membership]:
    """One fresh read of a board's memberships (deactivated ones included), by member id: the
    board read with them nested (``read_state``)."""
    return read_state(api, board_id, lists=False)[0]


def _odd(board_id: str, what: str, why: str) -> ApiUnreachable:
    return ApiUnreachable(
        f"Trello answered board {board_id}'s {what} oddly ({why}); try again later"
    )


def deactivated_members(
    api: TrelloApi, live: Mapping[str, LiveBoard], other_boards: Iterable[str]
) -> dict[str, str]:
    """Member id → id of a board where the membership says ``deactivated``, over the boards of
    ``live`` and ``other_boards`` (the rest of the boards the plan touches: one memberships
    read each). A board among those that is gone or that the token may no longer read is
    left out (the boards the changes are on are in ``live``)."""
    boards = {b: lb.memberships for b, lb in live.items()}
    for board_id in sorted(set(other_boards) - set(live)):
        try:
            boards[board_id] = read_memberships(api, board_id)
        except (NotFound, PermissionDenied) as err:
            logger.warning(
                "board %s: its memberships cannot be read (%s); deactivations there are not "
                "checked",
                board_id,
                err.trello_error or err,
            )
    out: dict[str, str] = {}
    for board_id, memberships in sorted(boards.items()):
        for member_id, ms in memberships.items():
            if ms.deactivated:
                out.setdefault(member_id, board_id)
    return out


def foreseen_refusal(
    api: TrelloApi,
    board_id: str,
    board_name: str,
    board: LiveBoard,
    writes: int,
    *,
    op: str = "apply",
) -> str | None:
    """A dry run's one-line warning for a board whose ``writes`` changes Trello will (or may)
    refuse, from its live memberships (the same board read) and the token's member
    (``members/me``, already read): ``refusal_warning``. ``op``: the run's, ``apply`` or
    ``undo``."""
    me = api.me()
    who = MemberRef(str(me["id"]), str(me.get("username") or ""), str(me.get("fullName") or ""))
    ms = board.memberships.get(who.id)
    return refusal_warning(who, board_id, board_name, ms, writes, op=op)


def refusal_warning(
    me: MemberRef,
    board_id: str,
    board_name: str,
    ms: Membership | None,
    writes: int,
    *,
    op: str = "apply",
    stops: str = "",
) -> str | None:
    """The one-line warning for a board whose ``writes`` changes Trello will or may refuse
    the token's member ``me``, from its membership there (``ms``; None: none): an observer of
    it will be refused (observers cannot change a board); not an active member of it, may be
    (Trello lets a workspace admin change a workspace-visible board without being its member).
    None when the member can write, or nothing would be written. ``op``: the run's, ``apply``,
    ``undo`` or ``run`` (the one-step run); ``stops``: what the run does at a refusal (default:
    it stops at the first, exit 3)."""
    if writes <= 0 or (ms is not None and ms.active and ms.member_type != "observer"):
        return None
    user = f"@{me.username}" if me.username else me.id
    who = f"{user} ({shown_name(me.full_name)})" if me.full_name else user
    where = f"board {quote_name(board_name)}" if board_name else f"board {board_id}"
    changes = "the change" if writes == 1 else f"the {writes} changes"
    if ms is not None and ms.active:
        what, will = "an observer of it", "will refuse"
    else:
        what = "not a member of it" if ms is None else "not an active member of it"
        will = "may refuse (unless they are an admin of its workspace)"
    return (
        f"{where}: the token's member {who} is {what}, so Trello {will} {changes} that would "
        f"be {'undone' if op == 'undo' else 'applied'} there "
        f"({stops or f'an {op} stops at the first refused, exit 3'}); "
        f"{admin_fix(user, ms, why=False)}{_other_token(op, ', or ')}"
    )


def admin_fix(user: str, ms: Membership | None, *, known: bool = True, why: bool = True) -> str:
    """What lets the token's member ``user`` change a board, from their membership there
    (``ms``; None: none; ``known`` False: not read): an observer made a normal member, a
    deactivated member reactivated, someone not a member added; with ``why``, what their
    membership is, in brackets."""
    if not known:
        return f"ask a board admin to add {user} to that board (or to reactivate them there)"
    if ms is None:
        fix, state = f"ask a board admin to add {user} to that board", "not a member of it"
    elif ms.deactivated:
        fix, state = f"ask a board admin to reactivate {user} on that board", "deactivated there"
    elif ms.unconfirmed:
        fix = f"have {user} accept their invitation to that board"
        state = "invited, not yet a member"
    elif ms.member_type == "observer":
        fix = f"ask a board admin to make {user} a normal member of that board"
        state = "an observer of it"
    else:  # an active member who may write: not a membership Trello refused
        # Trello answers a token without write access as it answers a member without rights
        # (trello-api-notes.md §4), and its authorize page makes such a token unless asked.
        return (
            f"{user} is a{'n' if ms.member_type[:1] in 'aeiou' else ''} {ms.member_type} "
            "member of that board, so the token is likely read-only (Trello makes one unless "
            "asked for scope=read,write): make a token of theirs with read and write access "
            "(see the README's Usage) and use it, or else ask a board admin what keeps them from "
            "changing it"
        )
    if ms is not None and ms.member_type == "observer" and not ms.active:
        fix += " as a normal member"
    return f"{fix} (they are {state})" if why else fix


def _other_token(op: str, lead: str) -> str:
    """The other way out, after ``lead``: another token to plan with; none for an undo, which
    runs as the account that applied."""
    if op == "undo":
        return " (an undo runs as the account that applied: another account's token will not do)"
    return f"{lead}plan again with the token of a member who can edit it"


def foreseen_refusals(
    api: TrelloApi, changes: Iterable[Change], live: Mapping[str, LiveBoard], *, op: str = "apply"
) -> None:
    """A dry run's warnings: ``changes`` are those it would write (``op``: ``apply`` or
    ``undo``); one line for each board whose share of them Trello will (the token's member an
    observer) or may (not a member) refuse (``foreseen_refusal``), named as its changes name it."""
    writes, names = _per_board(changes)
    for board_id, count in sorted(writes.items()):
        name = names[board_id] or live[board_id].name  # an undo's changes may hold no names
        line = foreseen_refusal(api, board_id, name, live[board_id], count, op=op)
        if line is not None:
            logger.warning("%s", line)


#: What a one-step run with changes on several boards does at a refusal
#: (``ApplyOptions.refused_boards_go_on``), for its warnings.
GOES_ON = (
    "the run sends the first; refused, it sends nothing more there, goes on with the other "
    "boards and exits 3"
)


def plan_refusals(
    changes: Iterable[Change], memberships: Mapping[str, Mapping[str, Membership]], me: MemberRef
) -> list[str]:
    """A one-step run's warnings, before anything is written: one line for each board whose
    share of the plan's ``changes`` Trello will or may refuse the token's member ``me``, from
    the boards' ``memberships`` the plan read (``refusal_warning``; no request). With changes
    on several boards the run goes on past a refused board (``GOES_ON``); on one it stops."""
    writes, names = _per_board(changes)
    stops = GOES_ON if len(writes) > 1 else "a run stops at the first refused, exit 3"
    lines = (
        refusal_warning(
            me, board_id, names[board_id], memberships[board_id].get(me.id), count, stops=stops
        )
        for board_id, count in sorted(writes.items())
        if board_id in memberships
    )
    return [line for line in lines if line is not None]


def _per_board(changes: Iterable[Change]) -> tuple[dict[str, int], dict[str, str]]:
    """How many of ``changes`` are on each board, and each board's name as they name it."""
    writes: dict[str, int] = {}
    names: dict[str, str] = {}
    for c in changes:
        writes[c.board_id] = writes.get(c.board_id, 0) + 1
        names[c.board_id] = names.get(c.board_id) or c.board_name
    return writes, names


def refused_boards_line(
    me: MemberRef | None,
    refused: Iterable[tuple[str, str, str, int]],
    *,
    elsewhere: int | None = None,
    journal: Path | None = None,
    memberships: Mapping[str, Membership | None] | None = None,
) -> str:
    """The one line that ends a one-step run that went on past boards refusing the token's
    member ``me`` a write (``refused``: each board's id, name, what Trello answered and how
    many of its changes were not written): which boards, what became of the others'
    (``elsewhere``: how many changes were written on them; None: no other board had changes),
    the ``journal``, that the run is not the last run, and what to do: what fits the member's
    membership of each board as the plan read it (``memberships``, by board id; a board not
    in it: not read), ``admin_fix``'s, said once when it is the same for every board."""
    boards = [
        f"{quote_name(name) if name else board_id}{f' ({said})' if said else ''}"
        for board_id, name, said, _ in refused
    ]
    left = sum(n for _, _, _, n in refused)
    user = (f"@{me.username}" if me.username else me.id) if me is not None else ""
    who = f"{user} ({shown_name(me.full_name)})" if me is not None and me.full_name else user
    one = len(boards) == 1
    where = f"board {boards[0]}" if one else f"{len(boards)} boards, {', '.join(boards)}"
    if elsewhere is None:
        others = "no other board had changes to write"
    elif elsewhere == 0:
        others = "none of the other boards' changes was written either (see the summary)"
    else:
        others = "the other boards' changes were written as the summary says"
    return (
        f"Trello refused to let the token's member{f' {who}' if who else ''} change {where}: "
        f"{left} of {'its' if one else 'their'} changes were not written (nothing more was "
        f"sent there after the refusal{f'; journal {journal}' if journal else ''}); {others}, "
        f"and this run is not recorded as the last run. "
        f"{_refused_fix(user or 'the member', refused, memberships)}, "
        "then run the same command again (a --since last-run run covers this window again); "
        f"or restore {'it' if one else 'them'} with the token of a member who can edit "
        f"{'it' if one else 'them'}"
    )


def _refused_fix(
    user: str,
    refused: Iterable[tuple[str, str, str, int]],
    memberships: Mapping[str, Membership | None] | None,
) -> str:
    """What lets ``user`` change the ``refused`` boards (``refused_boards_line``), capitalised:
    ``admin_fix`` of their membership of each (not known without ``memberships``, or for a
    board not in it); once for all when it is the same, else each after its board."""
    known = memberships or {}
    fixes = {
        quote_name(name) if name else board_id: admin_fix(
            user, known.get(board_id), known=board_id in known, why=False
        )
        for board_id, name, _, _ in refused
    }
    texts = set(fixes.values())
    if len(texts) == 1:
        (fix,) = texts
        if len(fixes) > 1:
            fix = fix.replace("that board", "those boards")
    else:
        fix = "; ".join(f"for {board}, {text}" for board, text in fixes.items())
    return fix[:1].upper() + fix[1:]


def answered(err: ApiError) -> str:
    """What Trello answered, for a message: ``HTTP 401 unauthorized permission requested``
    (its status and error text, either when the other is missing; "" without both)."""
    return " ".join(x for x in (f"HTTP {err.status}" if err.status else "", err.trello_error) if x)


#: Where a refusal of a write says what to run again (``Refused.resumed`` names it).
_SAME = "the same command"


class Refused(PermissionDenied):
    """Trello refusing the token's member a write to a board (``refusal``), whose message says
    to run ``_SAME`` again: ``resumed`` names the command itself (apply's, undo's)."""

    def __init__(self, head: str, tail: str, status: int | None, trello_error: str) -> None:
        super().__init__(f"{head}{_SAME}{tail}", status, trello_error)
        self._parts = (head, tail)

    def resumed(self, command: str) -> PermissionDenied:
        """The same message with ``command`` where it says the same command."""
        head, tail = self._parts
        return PermissionDenied(f"{head}{command}{tail}", self.status, self.trello_error)


def refusal(
    api: TrelloApi,
    board_id: str,
    board_name: str,
    err: ApiError,
    *,
    wrote: bool,
    op: str = "apply",
    journal: Path | None = None,
) -> PermissionDenied:
    """The one-line error for Trello refusing the token's member a board: who the member is
    (``members/me``, already read), which board (by name: ``board_name``, else read), and
    what to do, as their membership there asks (``admin_fix``). ``wrote``: the refusal
    answered a write (a ``Refused``: the ``journal`` then holds what was done, and the
    board's memberships are read to tell what to do), not a read (the board cannot be read,
    so neither can its memberships). ``op``: the run's, ``apply`` or ``undo``."""
    me_id = ""
    try:
        me = api.me()
        me_id = str(me["id"])
        user = f"@{me['username']}" if me.get("username") else me_id
        who = f"{user} ({shown_name(str(me['fullName']))})" if me.get("fullName") else user
    except ApiError:
        user = who = "the token's member"
    memberships: dict[str, Membership] | None = None
    if wrote:
        try:
            memberships, _, _, name, _ = _read_state(api, board_id, lists=False)
            board_name = board_name or name
        except ApiError:
            memberships = None
    elif not board_name:
        try:
            raw = api.get(f"boards/{board_id}", {"fields": "name"})
            board_name = str(raw.get("name") or "") if isinstance(raw, dict) else ""
        except ApiError:
            board_name = ""
    board = f"board {quote_name(board_name)}" if board_name else f"board {board_id}"
    said = f" ({answered(err)})" if answered(err) else ""
    known = memberships is not None and bool(me_id)
    fix = admin_fix(user, (memberships or {}).get(me_id), known=known)
    fix = fix[:1].upper() + fix[1:]
    other = _other_token(op, "; or ")
    if not wrote:
        head = f"Trello refused to let the token's member {who} read {board}{said}; nothing "
        head += f"was written. {fix}, then run "
        return PermissionDenied(f"{head}{_SAME} again{other}", err.status, err.trello_error)
    where = f" {journal}" if journal is not None else ""
    head = (
        f"Trello refused to let the token's member {who} change {board}{said}; nothing more "
        f"was sent, and what was done is in the journal{where}. {fix}, then run "
    )
    tail = f" again to {'finish' if op == 'undo' else 'resume'}{other}"
    return Refused(head, tail, err.status, err.trello_error)
