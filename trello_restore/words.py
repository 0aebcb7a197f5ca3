"""How members, times, cards and counts read in the text the user sees (plans, outcomes).

Shared by ``report.py`` and the change kinds' own lines (``kinds.py``); plain functions of
values, no I/O.
"""

from __future__ import annotations

import json
import re
import shlex
from datetime import UTC, datetime, timedelta

from trello_restore.models import Evidence, MemberRef, quote_name
from trello_restore.parsing import escaped_at, unseen_escaped


def card_url(short_link: str) -> str:
    """The card's address on trello.com."""
    return f"https://trello.com/c/{short_link}"


def board_ref(board_id: str, name: str | None) -> str:
    """A board as warnings and lock messages name it: ``"Team" (<id>)``, or its id alone when
    its name is not known."""
    return f"{quote_name(name)} ({board_id})" if name else board_id


def shown_name(name: str) -> str:
    """A Trello name where the text shows names bare (the plan's board, list and card
    headings, a member's full name, an app's): as it is when ``quote_name`` would escape
    nothing in it, else as ``quote_name`` shows it, so that a name holding a double quote, a
    backslash or a control character (a newline) can neither break its line nor pass for a
    line of the text of its own; and quoted when it begins or ends with a space, which would
    not show (R39a: boards "Team Board" and "Team Board " read the same)."""
    quoted = quote_name(name)
    return name if quoted[1:-1] == name and name == name.strip() else quoted


def shown_value(text: str) -> str:
    """A wrong value in an error, as given (not lowercased), quoted and cut at 40 characters
    with a "…" where it is cut: a secret pasted there is then known cut short (``logs``)."""
    return f"'{text[:40]}…'" if len(text) > 40 else f"'{text}'"


def shown_json(value: object) -> str:
    """A JSON value as a message shows it (a journal's field: R51a), cut after 40 characters."""
    text = json.dumps(value, ensure_ascii=False)
    return f"{text[:40]}{'…' if len(text) > 40 else ''}"


def one_line(text: str) -> str:
    """``text`` (Trello's error text, or a reason that names things with ``quote_name``) on
    one line: each run of white space that holds a line break made one space, other runs
    kept (a quoted name's double spaces are its own), and what else ``quote_name`` escapes
    (a control or format character: R39a, an error body's ``ESC]0;…BEL`` retitled the
    terminal) shown escaped."""
    return unseen_escaped(_BREAK.sub(" ", text).strip())


#: A run of white space holding a line break, as ``str.splitlines`` knows them.
_BREAK = re.compile(r"\s*[\n\r\v\f\x1c-\x1e\x85\u2028\u2029]\s*")


def plural(n: int, word: str, plural_form: str | None = None) -> str:
    """``1 change``, ``2 changes``."""
    return f"{n} {word if n == 1 else (plural_form or word + 's')}"


def at_name(username: str) -> str:
    """``@username``, escaped as ``shown_name`` escapes a name: Trello's usernames are letters,
    digits and underscores, but an export's or a stand-in API's may hold anything (R37c: a
    username's escape codes and newline reached the terminal)."""
    return "@" + shown_name(username)


def member_name(m: MemberRef) -> str:
    """``Full Name (@username)`` as far as known, else the id."""
    if m.full_name and m.username:
        return f"{shown_name(m.full_name)} ({at_name(m.username)})"
    if m.username:
        return at_name(m.username)
    if m.full_name:
        return f"{shown_name(m.full_name)} ({m.id})"
    return m.id


def handle(m: MemberRef) -> str:
    """``@username``, else the id."""
    return at_name(m.username) if m.username else m.id


def actor(e: Evidence) -> str:
    """Who made the evidence action: the member, or the app (an automation) that acted for them."""
    return by_app(e.app, e.by) if e.app else handle(e.by)


def by_app(app: str, by: MemberRef) -> str:
    """An app that acted for ``by``: ``Butler (app, on behalf of @benw)``; one known by its id
    alone (``history.app_name``) says "app" once: ``app 5c9a… (on behalf of @benw)``."""
    said = "" if app == "an app" or app.startswith("app ") else "app, "
    return f"{shown_name(app)} ({said}on behalf of {handle(by)})"


def span(d: timedelta, *, nearest: bool = False) -> str:
    """A length of time in its largest sensible unit, from two of it on: ``40 minutes`` (at
    least 1), ``30 hours``, ``3 days``, ``9 weeks``. Rounded down (a plan's age), or with
    ``nearest`` to the nearest, halves up, and never in weeks (a clock's difference, measured
    a little low; R47b: "4320 minutes behind", R49a: halves to even)."""
    minutes = int(d / timedelta(minutes=1) + 0.5) if nearest else d // timedelta(minutes=1)

    def count(per: int) -> int:  # units of ``per`` minutes
        return int(minutes / per + 0.5) if nearest else d // timedelta(minutes=per)

    if minutes < 2 * 60:
        return plural(max(minutes, 1), "minute")
    if minutes < 2 * 24 * 60:
        return plural(count(60), "hour")
    if nearest or minutes < 8 * 7 * 24 * 60:
        return plural(count(24 * 60), "day")
    return plural(count(7 * 24 * 60), "week")


def when(d: datetime, *, seconds: bool = True, millis: bool = False) -> str:
    """``2025-11-02 12:02:00 UTC`` (without seconds, when asked and they are zero; with
    milliseconds, when asked and they are not: a cutoff, whose every millisecond counts, and
    any digit below them too, R62d)."""
    d = d.astimezone(UTC)
    if not seconds and d.second == 0 and d.microsecond == 0:
        return d.strftime("%Y-%m-%d %H:%M UTC")
    if millis and d.microsecond:
        fraction = f"{d.microsecond:06d}".rstrip("0").ljust(3, "0")
        return d.strftime("%Y-%m-%d %H:%M:%S.") + f"{fraction} UTC"
    return d.strftime("%Y-%m-%d %H:%M:%S UTC")


#: A byte order mark: Notepad and some other editors put one before the text of a UTF-8 file.
BOM = "\ufeff"

#: Python's JSON decoder's messages (their start) in this tool's words.
_JSON_WORDS = (
    ("Expecting value", "no value where one is expected"),
    ("Expecting property name", "a key not in double quotes, or a ',' before a '}'"),
    ("Expecting ':'", "a ':' missing after a key"),
    ("Expecting ','", "a ',' missing between two items"),
    ("Unterminated string", "a string that is never closed, starting"),
    ("Invalid control character", "a line break or control character inside a string"),
    ("Invalid \\", "a backslash escape that JSON does not have"),
    ("Extra data", "more text after the end of the JSON value"),
    ("Unexpected UTF-8 BOM", "a byte order mark (BOM) before the JSON"),
    ("Illegal trailing comma", "a ',' before a closing bracket"),
)


def json_problem(exc: json.JSONDecodeError, *, line: bool = True) -> str:
    """What is wrong with a JSON text, in this tool's words, and where: ``a ',' missing
    between two items, at line 3, column 7`` (``line`` False: the column only, for a text of
    one line). Python's own words end some messages with "at", for the caller to add where;
    a problem found before any position (``parsing.load_json``'s: nested too deeply) has
    none."""
    what = next((words for start, words in _JSON_WORDS if exc.msg.startswith(start)), exc.msg)
    if not exc.doc:
        return what
    where = f"line {exc.lineno}, column {exc.colno}" if line else f"column {exc.colno}"
    return f"{what} at {where}" if what.endswith("starting") else f"{what}, at {where}"


def shell_join(words: list[str]) -> str:
    """A command line to suggest, as ``shlex.join`` quotes it, but a word holding a control
    or invisible character (``escaped_at``: a list name with a newline or an escape code)
    in ANSI-C quotes, ``$'Old\\nlist'``, so that neither the terminal nor the log file gets
    it raw (R37c: a newline in a ``--list`` name made a fake log line). Bash, zsh and ksh
    read those quotes."""
    return " ".join(_shell_word(w) for w in words)


def _shell_word(word: str) -> str:
    if not any(escaped_at(word, i) for i in range(len(word))):
        return shlex.quote(word)
    out = []
    for i, ch in enumerate(word):
        if ch in "'\\":
            out.append("\\" + ch)
        elif not escaped_at(word, i):
            out.append(ch)
        elif ch in _C_ESCAPES:
            out.append(_C_ESCAPES[ch])
        else:  # its UTF-8 bytes: ``\\u`` is read as the character only in a UTF-8 locale
            out.append("".join(f"\\x{b:02x}" for b in ch.encode("utf-8", "surrogatepass")))
    return "$'" + "".join(out) + "'"


_C_ESCAPES = {"\n": "\\n", "\t": "\\t", "\r": "\\r"}
