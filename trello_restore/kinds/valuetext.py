"""How the value kinds (``kinds/values.py``) show values and what they change in their text:
a field's value (``show``), a description's diff (``desc_diff``), the card or list a change
is about by the names it carries (``named``, ``change_lists``), ids where it has none, and
an undo's line for a change by the names its apply record keeps (``named_label``)."""

from __future__ import annotations

import difflib
import unicodedata
from collections.abc import Mapping

from trello_restore.models import Change, ValueChange, parse_date, quote_name
from trello_restore.words import card_url, when

#: The card fields that are dates.
DATE_FIELDS = frozenset({"due", "start"})


def _date_text(text: str) -> str:
    try:
        d = parse_date(text)
    except ValueError:
        return text
    if (d.hour, d.minute, d.second, d.microsecond) == (0, 0, 0, 0):
        return f"{d:%Y-%m-%d}"
    return when(d, seconds=False)


def show(field: str, value: object, lists: Mapping[str, str] | None = None) -> str:
    """A field's value as the plan's text shows it: dates without seconds (a date alone at
    midnight UTC), ``none`` for no date, names quoted, descriptions as their first line and
    length, flags in words, a list (``idList``) by its name in ``lists`` (id → name) if any."""
    if field == "idList" and lists and isinstance(value, str) and lists.get(value):
        return quote_name(lists[value])
    if value is None:
        return "none"
    if isinstance(value, bool):
        if field == "dueComplete":
            return "complete" if value else "not complete"
        return "archived" if value else "open"
    text = str(value)
    if field in DATE_FIELDS:
        return _date_text(text)
    if field == "desc":
        if not text:
            return "empty"
        first = text.splitlines()[0]
        if len(first) > 60:
            first = first[:59] + "…"
        return f"{quote_name(first)} ({len(text)} chars)"
    if field == "name":
        return quote_name(text)
    return text


def desc_diff(before: str, after: str) -> list[str]:
    """The unified diff from the current description to the restored one, a line of the text
    each: a description's lines split at every line break (``str.splitlines``), and the
    control characters left in a line but a tab escaped as ``quote_name`` escapes them."""
    return [
        _escaped(line)
        for line in difflib.unified_diff(
            before.splitlines(), after.splitlines(), "now", "restored", lineterm="", n=2
        )
    ]


def _escaped(line: str) -> str:
    """``line`` with its control characters (a tab aside) as ``quote_name`` shows them."""
    return "".join(
        ch if ch == "\t" or unicodedata.category(ch) != "Cc" else quote_name(ch)[1:-1]
        for ch in line
    )


def change_lists(c: ValueChange) -> dict[str, str]:
    """List id → name, as far as a card move ``c`` names them: the list it moves the card
    back to and the card's list (``show``'s ``lists``)."""
    return {str(c.value): c.value_name, c.list_id: c.list_name}


def named(c: ValueChange) -> str:
    """The list or card ``c`` changes and its board, by the names it carries (quoted, a
    card's with its link), each by its id where it carries no name: ``card "Fix login"
    (https://trello.com/c/…) on board "Team"``, ``list L1 on board B1``."""
    if c.object_type == "list":
        what = f"list {quote_name(c.list_name) if c.list_name else c.list_id}"
    else:
        what = f"card {quote_name(c.card_name) if c.card_name else c.card_id}"
        if c.card_short_link:
            what += f" ({card_url(c.card_short_link)})"
    return f"{what} on board {quote_name(c.board_name) if c.board_name else c.board_id}"


def named_label(names: object, change: Change) -> str | None:
    """A value kind's journal label (``field of card … on board …: written → seen``) with the
    ``names`` an apply record keeps (``journal_names.record_names``) in place of the ids; None when
    it keeps none. A name that is not text (a hand-edited journal) is left for its id."""
    if not isinstance(change, ValueChange) or not isinstance(names, dict) or not names:
        return None
    lists = names.get("lists")
    lists = lists if isinstance(lists, dict) else {}

    def quoted(name: object, fallback: str) -> str:
        return quote_name(name) if isinstance(name, str) and name else fallback

    def value(v: object) -> str:
        if change.field == "idList" and isinstance(v, str):
            return quoted(lists.get(v), show(change.field, v))
        return show(change.field, v)

    if change.object_type == "list":
        where = f"list {quoted(names.get('list'), change.list_id)}"
    else:
        where = f"card {quoted(names.get('card'), change.card_id)}"
        short = names.get("short_link")
        if isinstance(short, str) and short:
            where += f" ({card_url(short)})"
    board = quoted(names.get("board"), change.board_id)
    return (
        f"{change.field} of {where} on board {board}: {value(change.value)} → "
        f"{value(change.expected)}"
    )
