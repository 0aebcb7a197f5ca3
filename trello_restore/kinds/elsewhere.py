"""An undo when the card is not on its board's listing (review U3): the card read by id
(``live.locate_cards``) says whether it moved to another board (with the member or without,
for a card member), or was deleted. Pure: no I/O."""

from __future__ import annotations

from typing import TYPE_CHECKING

from trello_restore.kinds.base import Decision
from trello_restore.models import Change, ValueChange
from trello_restore.words import shown_name

if TYPE_CHECKING:
    from trello_restore.live import LiveBoard


def _board(c: Change, live: LiveBoard) -> str:
    """The change's board by its live name, else the change's, else its id."""
    name = live.name or c.board_name
    return shown_name(name) if name else c.board_id


def _unreadable(c: Change, live: LiveBoard, error: str) -> str:
    """Why a change whose card is off its board and cannot be read by id is drifted."""
    return (
        f"the card is no longer on board {_board(c, live)} and cannot be read ({error}): it "
        "may have moved to a board the token's member cannot read; check it by hand"
    )


def card_elsewhere(c: Change, live: LiveBoard, gone: Decision) -> Decision:
    """``members.decide_undo`` for a card member whose card its board's listing lacks, from
    where Trello has the card by id (``live.located``): deleted → ``not_on_card``; on another
    board with the member → ``drifted`` (nothing is removed off the card's board: a person
    checks, and a later undo looks again), without them → ``not_on_card`` (``gone``, the
    resumed outcome, when given); unreadable, or not looked for → ``drifted``."""
    found = live.located.get(c.card_id)
    if found is None:
        return "drifted", "the card was deleted or moved to another board; check it by hand"
    if found.deleted:
        return "not_on_card", "the card was deleted"
    card = found.card
    if card is None:
        return "drifted", _unreadable(c, live, found.error)
    if card.board_id == c.board_id:  # back on its board since the listing
        return None if c.member.id in card.member_ids else gone or ("not_on_card", "")
    where = shown_name(found.board_name) if found.board_name else card.board_id
    if c.member.id in card.member_ids:
        return "drifted", (
            f"the card moved to board {where} since: the member is still on it there, and undo "
            f"removes members only on board {_board(c, live)}; check it by hand"
        )
    return gone or ("not_on_card", f"the card moved to board {where} since, without the member")


def value_gone(c: ValueChange) -> str:
    """Why a value change whose card or list live state lacks (and was not found) drifted."""
    return f"the {c.object_type} was deleted or moved to another board"


def value_elsewhere(c: ValueChange, live: LiveBoard) -> Decision:
    """``valuedeciders.decide_value_undo`` for a card value whose card its board's listing
    lacks, from where Trello has the card by id (``live.located``): deleted → ``not_on_card``,
    nothing to undo (settled: it was *drifted* on every undo for good, exit 5: R37a); on
    another board → ``drifted``, naming it (nothing is written there: moving cards across
    boards is out of scope, design.md §10.1; a later undo looks again); unreadable, or not
    looked for → ``drifted``."""
    found = live.located.get(c.card_id) if c.object_type == "card" else None
    if found is not None and found.deleted:
        return "not_on_card", "the card was deleted: nothing to undo"
    if found is None:
        return "drifted", value_gone(c)
    card = found.card
    if card is None:
        return "drifted", _unreadable(c, live, found.error)
    if card.board_id == c.board_id:  # back on its board since the listing was read
        return "drifted", "the card was missing from its board's listing: undo again"
    where = shown_name(found.board_name) if found.board_name else card.board_id
    return "drifted", (
        f"the card moved to board {where} since: its {c.field} there is left as it is, and "
        f"undo writes only on board {_board(c, live)}; check it by hand"
    )
