"""Boards given up with ``--accept-unreadable-boards``, and how later runs treat them.

A board the run covers (named with ``--board``, or covered by the last run of a
``--workspace``) whose read Trello refuses the token's member is left out of the plan: the run
exits 3 and is not recorded (``refusals.unread_named``). With ``--accept-unreadable-boards`` it
is given up: the run is recorded, and the recorded last run remembers it with the date
(``lastrun.given_up_boards``, per scope). Later runs of that scope that Trello still refuses
it to leave it out with one warning (``given_up_warning``; exit 0, recorded, the mark carried
on). The first run that can read it again plans it from that run's window, as every board in
scope: what it lost while it was given up (each run warned of it) stays given up, what it
lost since the last recorded run is planned; once that run is recorded the board is no longer
given up, so taken off it again the member's run is refused anew (its new losses were not
given up). Cards that moved between it and the boards in scope do not hold the run back
(``unreadable_in_window``), and their warning says it is given up.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from datetime import datetime
from typing import Any, NamedTuple, TypeVar

from trello_restore.boards import MOVED_BETWEEN, MOVED_UNREADABLE, moved_board
from trello_restore.models import MemberRef, format_date, parse_date
from trello_restore.words import handle, shown_name

_T = TypeVar("_T")


class UnreadBoard(NamedTuple):
    """A board the run covers whose read Trello refused the token's member (taken off it),
    left out of the plan (``refusals.unread_named``)."""

    #: As the user gave it (a name quoted), or as a recorded run knew it (a workspace's board).
    given: str
    #: What Trello answered (``refusals.answered``).
    said: str
    #: Its id ("" when not known: given by shortLink, URL or name, and no recorded run knew it)
    #: and name ("" when not known).
    id: str
    name: str
    #: When a recorded run gave it up (ISO, ``lastrun.given_up_boards``); "" when it was not.
    given_up_on: str = ""


def split(
    unread: Sequence[tuple[UnreadBoard, _T]], given: Mapping[str, tuple[str, str]]
) -> tuple[list[tuple[UnreadBoard, _T]], list[UnreadBoard]]:
    """``unread`` into the boards not given up and those a recorded run gave up (``given``:
    id to date and name), each of these with its date (and its recorded name when unknown)."""
    still: list[tuple[UnreadBoard, _T]] = []
    gone: list[UnreadBoard] = []
    for u, err in unread:
        if u.id and u.id in given:
            on, name = given[u.id]
            gone.append(u._replace(given_up_on=on, name=u.name or name))
        else:
            still.append((u, err))
    return still, gone


def stamp(when: datetime) -> str:
    """A date as the state file and the JSON keep it, to the second: ``2026-12-03T06:52:39Z``
    (``models.format_date``)."""
    return format_date(when.replace(microsecond=0))


def _day(on: str) -> str:
    """A recorded date as a message says it (``2026-12-03 06:52 UTC``), or as recorded."""
    try:
        return parse_date(on).strftime("%Y-%m-%d %H:%M UTC")
    except ValueError:
        return on


def given_up_warning(me: MemberRef, board: UnreadBoard) -> str:
    """The warning for a board given up earlier whose read Trello still refuses the token's
    member ``me``: left out, given up since when, and how to take it back."""
    user = handle(me)
    who = f"{user} ({shown_name(me.full_name)})" if me.full_name else user
    said = f" ({board.said})" if board.said else ""
    return (
        f"board {board.given}: given up on {_day(board.given_up_on)} with "
        f"--accept-unreadable-boards, as Trello still refuses the token's member {who} a read "
        f"of it{said}; it is left out of the plan, and what it lost is not restored. To take "
        f"it back, ask a board admin to add {user} to that board: the next run that can read "
        "it plans it again from that run's window (since the last recorded run; what it lost "
        "while given up stays given up) and no longer gives it up"
    )


def followed(warnings: Iterable[str], given: Mapping[str, str]) -> list[str]:
    """The fetch's warnings, with those of cards that moved to or from a board given up
    (``given``: id to the date, or "" for one given up by this run) saying so instead of
    advising to add the token's member to it."""
    out: list[str] = []
    for w in warnings:
        board = moved_board(w)
        if board is not None and board[1] in given:
            shown, board_id = board
            on = f" on {_day(given[board_id])}" if given[board_id] else ""
            w = (
                f"{MOVED_BETWEEN}{shown}{MOVED_UNREADABLE}it was given up{on} "
                "(--accept-unreadable-boards), so the cards now on it are left out of the plan "
                "(as if deleted), and the history of cards from before they left it is missing"
            )
        out.append(w)
    return out


def record(
    earlier: Iterable[UnreadBoard], new: Iterable[UnreadBoard], when: datetime
) -> dict[str, tuple[str, str]]:
    """What the recorded last run keeps as given up (``lastrun.record_last_run``): the boards
    given up earlier that are still left out, with their date, and those given up now
    (``when``), each by id with its name."""
    kept = {u.id: (u.given_up_on, u.name) for u in earlier if u.id}
    kept |= {u.id: (stamp(when), u.name) for u in new if u.id and u.id not in kept}
    return kept


def as_json(boards: Iterable[UnreadBoard]) -> list[dict[str, Any]]:
    """The JSON summary's ``given_up_boards``: each board's ``id`` (as given when unknown),
    ``name``, ``given_up_on`` (the recorded run's date) and ``error`` (what Trello answered)."""
    return [
        {
            "id": u.id or u.given,
            "name": u.name,
            "given_up_on": u.given_up_on,
            "error": f"not read: {u.said}",
        }
        for u in boards
    ]
