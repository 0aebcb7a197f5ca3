"""One fresh read of a board for an apply or undo (``GET /1/boards/{id}``, uncached) with its
memberships (deactivated and unconfirmed ones included) and, when asked, its lists nested.

``read_board`` gives the memberships, the lists' archive state, the members' and the board's
and the lists' names; ``read_state`` the memberships and lists alone, ``read_memberships`` the
memberships alone. ``live.read_live`` reads each board of a run this way, and
``refusals.refusal`` reads a board that refused a write to tell what its member may do.
"""

from __future__ import annotations

from trello_restore.api import TrelloApi
from trello_restore.boards import NO_NESTED, STATE_QUERY
from trello_restore.errors import ApiUnreachable
from trello_restore.history import HistoryError, members_from_listing, parse_board
from trello_restore.models import MemberRef, Membership

__all__ = ["BoardRead", "read_board", "read_memberships", "read_state"]

#: A board's memberships (deactivated and unconfirmed ones included) nested in one read of the
#: board, ``GET /1/boards/{id}``, as ``boards.STATE_QUERY`` nests them for a plan, each with its
#: member's names (an apply checks the plan's username against them, undo shows them), and of
#: the board's own fields its name (undo shows it) and whether it is closed (R48c: said).
_MEMBERSHIPS_QUERY = {
    "fields": "name,closed",
    **NO_NESTED,
    "memberships": STATE_QUERY["memberships"],
    "memberships_member": STATE_QUERY["memberships_member"],
    "memberships_member_fields": STATE_QUERY["memberships_member_fields"],
}
#: The same read with every list of the board (archived ones included), its archive state and
#: its name (a drifted card move's reason names the lists).
_LISTS_QUERY = {**_MEMBERSHIPS_QUERY, "lists": STATE_QUERY["lists"], "list_fields": "name,closed"}

#: What ``read_board`` gives: memberships, lists (id → archived, or None), members' names,
#: the board's name, the lists' names (id → name), and whether the board is closed.
BoardRead = tuple[
    dict[str, Membership], dict[str, bool] | None, dict[str, MemberRef], str, dict[str, str], bool
]


def read_state(
    api: TrelloApi, board_id: str, *, lists: bool
) -> tuple[dict[str, Membership], dict[str, bool] | None]:
    """One fresh read of a board (``GET /1/boards/{id}``) with its memberships nested
    (deactivated ones included), by member id, and, with ``lists``, every list of it (archived
    ones included): list id → archived; None without ``lists``."""
    memberships, listed, *_ = read_board(api, board_id, lists=lists)
    return memberships, listed


def read_board(api: TrelloApi, board_id: str, *, lists: bool) -> BoardRead:
    """``read_state``, the members' names the memberships embed (by member id), the board's
    name and, with ``lists``, the lists' names (by list id)."""
    raw = api.get(f"boards/{board_id}", _LISTS_QUERY if lists else _MEMBERSHIPS_QUERY)
    what = "memberships and lists" if lists else "memberships"
    memberships = raw.get("memberships") if isinstance(raw, dict) else None
    listed = (raw.get("lists") if lists else []) if isinstance(raw, dict) else None
    if not isinstance(memberships, list) or not isinstance(listed, list):
        raise _odd(board_id, what, f"not a board with its {what}")
    try:
        own = {"id": board_id, "name": raw.get("name"), "closed": raw.get("closed")}
        state = parse_board(own, memberships, listed)
    except HistoryError as exc:
        raise _odd(board_id, what, str(exc)) from None
    members = members_from_listing(
        m["member"] for m in memberships if isinstance(m.get("member"), dict)
    )
    name = state.name if isinstance(raw.get("name"), str) else ""
    listed_names = state.lists if lists else {}
    listed_closed = state.list_closed if lists else None
    return state.memberships, listed_closed, members, name, listed_names, state.closed


def read_memberships(api: TrelloApi, board_id: str) -> dict[str, Membership]:
    """One fresh read of a board's memberships (deactivated ones included), by member id: the
    board read with them nested (``read_state``)."""
    return read_state(api, board_id, lists=False)[0]


def _odd(board_id: str, what: str, why: str) -> ApiUnreachable:
    return ApiUnreachable(
        f"Trello answered board {board_id}'s {what} oddly ({why}); try again later"
    )
