"""Live state for an apply or undo: each board's cards, memberships and (when asked) lists,
read fresh.

``read_live`` reads board by board (one uncached listing of the board's cards with
``idMembers`` and the fields the value kinds restore, paged, and one read of the board with its
memberships and, for the boards ``lists_of`` names, its lists with their archive state nested:
``board_read.read_board``), never a request per card (design.md §5, §10.3).
``locate_cards`` reads by id a card of an undo's change that its board's listing lacks (moved
to another board, or deleted), one request each. ``deactivated_members`` finds who is
deactivated on any board a plan touches. Trello refusing the token's member a board is worded
in ``refusals.py``.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Mapping
from concurrent.futures import ThreadPoolExecutor, wait
from dataclasses import dataclass, field, replace
from datetime import datetime
from typing import TYPE_CHECKING, Literal

from trello_restore.api import TrelloApi
from trello_restore.board_read import BoardRead, read_board, read_memberships
from trello_restore.errors import ApiUnreachable, NotFound, PermissionDenied
from trello_restore.fetcher import CARD_FIELDS, MEMBER_CARD_FIELDS, board_cards
from trello_restore.history import HistoryError, parse_card
from trello_restore.models import CardState, FieldValue, MemberRef, Membership
from trello_restore.refusals import answered, refusal
from trello_restore.words import by_app, handle

if TYPE_CHECKING:
    from pathlib import Path

__all__ = [
    "LiveBoard",
    "Located",
    "Target",
    "Touch",
    "deactivated_members",
    "locate_cards",
    "read_live",
]

logger = logging.getLogger(__name__)


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
    #: A member's removal or a value's set by this tool's undo of another journal (its path),
    #: by the token's member within that undo's write of it (``touches.apply_touches``); ""
    #: for anyone else's.
    undo_of: str = ""
    #: When the target was removed in the read (a card member's removals): an undo's write
    #: removes once, the first time (``touches.undid``).
    removals: tuple[datetime, ...] = ()

    @property
    def who(self) -> str:
        """Who made it, as a reason names them: ``@username`` (else the member's id), or the
        app with the member it acted for."""
        return by_app(self.app, self.by) if self.app else handle(self.by)


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
    #: Whether the board is closed (archived) now: an apply and an undo say so (R48c).
    closed: bool = False
    #: List id → the list's name now, for the lists of ``lists`` (empty when not read).
    list_names: dict[str, str] = field(default_factory=dict)
    #: Card id → where Trello has a card of this board's changes that ``cards`` lacks, read
    #: by id (``locate_cards``; empty when none was looked for).
    located: dict[str, Located] = field(default_factory=dict)
    #: Target → the last action on it since the plan was made (an apply) or since the apply (an
    #: undo) when that is not one of this tool's own writes of the journal (``touches.py``),
    #: for the changes that would be written; empty when not read.
    touched: dict[Target, Touch] = field(default_factory=dict)
    #: What Trello answered refusing the token's member a read of the board (``HTTP 401 …``),
    #: in a run that goes on past such a board (``read_live``'s ``go_on``): ``cards`` is None
    #: and none of its changes is sent; "" when it was read.
    refused: str = ""

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
    go_on: bool = False,
    earlier: Path | None = None,
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
    board id → name, for that message; ``op``: the run's, ``apply`` or ``undo``), unless the
    run goes on past a refused board (``go_on``: ``ApplyOptions.refused_boards_go_on``): that
    board is then ``LiveBoard(cards=None, refused=what Trello answered)``. ``earlier``: the
    journal in which an earlier run of this one made changes, which that line then names (R43i:
    a resumed undo refused a read said "nothing was written", the boards half undone)."""
    out: dict[str, LiveBoard] = {}
    with_lists, with_fields = set(lists_of), set(fields_of)
    pool = (
        ThreadPoolExecutor(max_workers=readers, thread_name_prefix="live") if readers > 1 else None
    )
    try:
        with api.stop_on_interrupt():  # before the pool's shutdown waits for a read's retries
            for board_id in sorted(set(board_ids)):
                fields = CARD_FIELDS if board_id in with_fields else MEMBER_CARD_FIELDS
                try:
                    out[board_id] = _read_board(
                        api, board_id, fields, pool, lists=board_id in with_lists
                    )
                except NotFound as err:
                    said = f" ({err.trello_error})" if err.trello_error else ""
                    gone = f"the board is gone{said}"  # not "()" (R46a)
                    out[board_id] = LiveBoard(board_id, None, {}, gone)
                except PermissionDenied as err:
                    if go_on:
                        said = answered(err) or str(err)
                        why = f"Trello refused the token's member a read of the board ({said})"
                        out[board_id] = LiveBoard(board_id, None, {}, why, refused=said)
                        continue
                    name = (names or {}).get(board_id, "")
                    raise refusal(
                        api, board_id, name, err, wrote=False, op=op, journal=earlier
                    ) from None
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
        state = read_board(api, board_id, lists=lists)
        return _live_board(board_id, cards, state)
    later = pool.submit(read_board, api, board_id, lists=lists)
    try:
        cards = {c.id: c for c in board_cards(api, board_id, fields=fields, pool=pool)}
    finally:
        wait([later])
    return _live_board(board_id, cards, later.result())


def _live_board(board_id: str, cards: dict[str, CardState], state: BoardRead) -> LiveBoard:
    memberships, listed, members, name, list_names, closed = state
    return LiveBoard(
        board_id,
        cards,
        memberships,
        lists=listed,
        members=members,
        name=name,
        list_names=list_names,
        closed=closed,
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
