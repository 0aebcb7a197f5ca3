"""How the value kinds (``kinds/values.py``) show values and what they change in their text:
a field's value (``show``), a description's diff (``desc_diff``), the card or list a change
is about by the names it carries (``named``, ``change_lists``), ids where it has none, and
an undo's line for a change by the names its apply record keeps (``named_label``)."""

from __future__ import annotations

import difflib
import unicodedata
from collections.abc import Mapping
from datetime import timedelta

from trello_restore.models import Change, ValueChange, parse_date, quote_name
from trello_restore.parsing import unseen_escaped
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


#: The most characters of a name the plan's text shows; a longer one is cut, with its length
#: (the JSON plan holds it whole; two cut alike are told apart by ``shown_pair``).
NAME_SHOWN = 200


def show(field: str, value: object, lists: Mapping[str, str] | None = None) -> str:
    """A field's value as the plan's text shows it: dates without seconds (a date alone at
    midnight UTC), ``none`` for no date, names quoted (a long one cut, with its length),
    descriptions as their first line and length, flags in words, a list (``idList``) by its
    name in ``lists`` (id → name) if any."""
    if field == "idList" and lists and isinstance(value, str) and lists.get(value):
        return _quoted(lists[value])
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
        return _quoted(text)
    return text


def _quoted(name: str) -> str:
    """A card's or list's name quoted; one longer than ``NAME_SHOWN`` cut, with its length
    (Trello allows 16,384 characters: R72b, R73a a list's in a move line, shown whole)."""
    if len(name) > NAME_SHOWN:
        return f"{quote_name(name[: NAME_SHOWN - 1] + '…')} ({len(name)} chars)"
    return quote_name(name)


def shown_pair(
    field: str, a: object, b: object, lists: Mapping[str, str] | None = None
) -> tuple[str, str]:
    """``show`` of two values of ``field``, told apart where ``show`` would show two different
    values alike (or alike once in one Unicode form): a list's name with its id (two lists of
    one name), dates in Trello's own form (apart by less than ``show`` shows), and two texts (a
    line ending, a Unicode form, a difference past a description's first line) each with an
    escaped piece from the first character where they differ (``"Café", from character 4
    "\\xe9"``)."""
    shown_a, shown_b = show(field, a, lists), show(field, b, lists)
    if a == b:
        return shown_a, shown_b
    if field in DATE_FIELDS and isinstance(a, str) and isinstance(b, str) and _close(a, b):
        return a, b  # ``show`` shows at most seconds, and a date at midnight without them
    if unicodedata.normalize("NFC", shown_a) != unicodedata.normalize("NFC", shown_b):
        return shown_a, shown_b
    if field == "idList" and lists:
        return f"{shown_a} ({a})", f"{shown_b} ({b})"
    text_a, text_b = str(a), str(b)
    differ = (i for i, (x, y) in enumerate(zip(text_a, text_b, strict=False)) if x != y)
    at = next(differ, min(len(text_a), len(text_b)))
    return f"{shown_a}, {_piece(text_a, at)}", f"{shown_b}, {_piece(text_b, at)}"


def _close(a: str, b: str) -> bool:
    """Whether dates ``a`` and ``b`` are less than a second apart."""
    try:
        return abs(parse_date(a) - parse_date(b)) < timedelta(seconds=1)
    except ValueError:
        return False


def _piece(text: str, at: int, width: int = 24) -> str:
    """Up to ``width`` characters of ``text`` from index ``at``, every character that is not
    printable ASCII escaped as Python escapes it: where two texts shown alike differ."""
    piece = text[at : at + width]
    shown = "".join(ch if " " <= ch <= "~" and ch not in '"\\' else _escape(ch) for ch in piece)
    more = "…" if len(text) > at + width else ""
    return f'from character {at + 1} "{shown}{more}"'


def _escape(ch: str) -> str:
    return "\\" + ch if ch in '"\\' else ch.encode("unicode_escape").decode("ascii")


def desc_diff(before: str, after: str) -> list[str]:
    """The unified diff from the current description to the restored one, a line of the text
    each: a description's lines split at its line feeds only, so that a carriage return or a
    line separator (``\\u2028``) is a character of its line, shown escaped with the other
    characters ``quote_name`` escapes (a tab aside): a change of line endings shows."""
    return [
        _escaped(line)
        for line in difflib.unified_diff(
            before.split("\n"), after.split("\n"), "now", "restored", lineterm="", n=2
        )
    ]


def _escaped(line: str) -> str:
    """``line`` with the characters ``quote_name`` escapes (a tab aside) escaped as it does,
    and the spaces and tabs at the end of its text (which would not show: R43g) as ``\\x20``
    and ``\\t``; its first character is the diff's mark, kept."""
    body = line[1:].rstrip(" \t")
    tail = line[1 + len(body) :].replace(" ", "\\x20").replace("\t", "\\t")
    shown = "\t".join(map(unseen_escaped, body.split("\t")))
    return line[:1] + shown + tail


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
