"""The names a journal's records keep of what they are about (design.md §10.3): what an apply
record keeps of its plan's names (``record_names``), and the boards a journal's records are
on, with those names (``board_names``)."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from trello_restore.journal import JournalRecord
from trello_restore.models import Change, ValueChange

__all__ = ["board_names", "record_names"]


def record_names(change: Change) -> dict[str, Any] | None:
    """What a value kind's apply record keeps of the names its plan gave (design.md §10.3):
    ``board``, ``card`` and ``short_link`` (a card's), ``list`` (a list's, or the card's list),
    and for ``idList`` the names of the lists it moves the card between (``lists``: id →
    name), so that undo names what it reverts as the plan did, not by ids. The member kinds'
    keep the board's alone (undo's question names the apply's boards: ``undo_question``). None
    for a change that carries no names (one read back from a journal); old journals have none
    either, and undo names their changes by ids."""
    if not isinstance(change, ValueChange):
        return {"board": change.board_name} if change.board_name else None
    names: dict[str, Any] = {
        "board": change.board_name,
        "card": change.card_name,
        "short_link": change.card_short_link,
        "list": change.list_name,
    }
    if change.field == "idList":
        lists = {str(change.value): change.value_name, change.list_id: change.list_name}
        names["lists"] = {k: v for k, v in lists.items() if k and v}
    names = {k: v for k, v in names.items() if v}
    return names or None


def board_names(records: Iterable[JournalRecord]) -> dict[str, str | None]:
    """The boards ``records`` are on, in the order they first appear, each with the name a
    record keeps (``record_names``; None where none does: an old journal's)."""
    names: dict[str, str | None] = {}
    for r in records:
        kept = (r.values or {}).get("names")
        name = kept.get("board") if isinstance(kept, dict) else None
        if names.get(r.board_id) is None:
            names[r.board_id] = name if isinstance(name, str) and name else None
    return names
