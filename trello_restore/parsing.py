"""JSON and TOML from files a user or an earlier run supplies, where hostile content is
malformed content, never a traceback.

``json.loads`` and ``tomllib.loads`` raise more than their decode errors on some input: a
``RecursionError`` for nesting deeper than the stack (1100 ``[``), a plain ``ValueError``
for an integer of more than 4300 digits (``sys.get_int_max_str_digits``), and ``json.loads``
of bytes a ``UnicodeDecodeError`` for bytes that are not UTF-8. ``load_json`` and
``load_toml`` raise their module's decode error (a ``ValueError``) for all of them, so each
reader handles them where it handles other malformed content.

A document that parses but nests deeper than ``MAX_DEPTH`` is refused the same way: the code
that reads it afterwards (the plan's schema check, a checksum's ``json.dumps``, a ``repr`` in
an error message) recurses too and would meet the stack's end there instead. No file this
tool reads nests more than a dozen levels.
"""

from __future__ import annotations

import json
import re
import sys
import tomllib
import unicodedata
from typing import Any

__all__ = [
    "MAX_DEPTH",
    "escaped_at",
    "escaped_char",
    "load_json",
    "load_toml",
    "too_deep",
    "unseen_escaped",
    "wide_encoding",
    "without_lone_surrogates",
]

#: The deepest nesting accepted (the document itself is level 1).
MAX_DEPTH = 100


class _Constant(ValueError):
    """``NaN``, ``Infinity`` or ``-Infinity`` met (``_no_constant``)."""


def _no_constant(name: str) -> Any:
    """``NaN``, ``Infinity`` and ``-Infinity``, which Python's decoder takes and JSON has not:
    refused (R35d: ``"clock_skew_s": NaN`` in a hand-edited plan passed its schema, whose
    bounds NaN never fails, and crashed the apply)."""
    raise _Constant(name)


def _first_outside_strings(text: str, name: str) -> int:
    """Where ``name`` first stands outside a JSON string in ``text`` (0 if nowhere): the
    decoder tells ``_no_constant`` the name only (R57b: a ``NaN`` on line 6 of a plan was
    said to be "at line 1, column 1")."""
    in_string = escaped = False
    for i, ch in enumerate(text):
        if in_string:
            if escaped:
                escaped = False
            elif ch == "\\":
                escaped = True
            elif ch == '"':
                in_string = False
        elif ch == '"':
            in_string = True
        elif text.startswith(name, i):
            return i
    return 0


class _KeyTwice(ValueError):
    """An object that gives one key twice (``load_json``'s ``unique``)."""


def _each_key_once(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    doc = dict(pairs)
    if len(doc) < len(pairs):
        seen: set[str] = set()
        change = doc.get("change_id")  # where a reviewer finds it (R53a: "value" is in each)
        where = f"change {change}" if isinstance(change, str) else "one object"
        for key, _ in pairs:
            if key in seen:
                raise _KeyTwice(f"the key {json.dumps(key)[:40]} is given twice in {where}")
            seen.add(key)
    return doc


def load_json(data: str | bytes, *, max_depth: int | None = MAX_DEPTH, unique: bool = False) -> Any:
    """``json.loads(data)``; ``json.JSONDecodeError`` for anything it cannot make a document
    of, or one nested deeper than ``max_depth`` (None: no check, for the large files this tool
    writes itself, whose readers catch ``RecursionError`` where they walk them); ``unique``:
    also for an object that gives a key twice (R51a: a plan file whose reviewer reads the first
    of two values while the tool takes the last; a third slower to read)."""
    try:
        hook = _each_key_once if unique else None
        doc = json.loads(data, parse_constant=_no_constant, object_pairs_hook=hook)
    except json.JSONDecodeError:
        raise
    except _Constant as exc:
        # as the decoder read it: without a BOM, in UTF-16 or UTF-32 (R58a: a column too far)
        text = data if isinstance(data, str) else data.decode(json.detect_encoding(data), "replace")
        name = str(exc)
        where = _first_outside_strings(text, name)
        raise json.JSONDecodeError(f"{name} is not a JSON value", text, where) from None
    except _KeyTwice as exc:
        raise json.JSONDecodeError(str(exc), "", 0) from None
    except RecursionError:
        raise json.JSONDecodeError("nested too deeply to read", "", 0) from None
    except UnicodeDecodeError:
        raise json.JSONDecodeError("not UTF-8 text", "", 0) from None
    except ValueError as exc:  # an integer of more digits than Python converts
        raise json.JSONDecodeError(_why(exc), "", 0) from None
    if max_depth is not None and too_deep(doc, max_depth):
        raise json.JSONDecodeError(f"nested more than {max_depth} levels deep", "", 0)
    return without_lone_surrogates(doc, data)


#: A UTF-16 surrogate as JSON escapes it, and as Python holds one that no pair completed.
_ESCAPED_SURROGATE = re.compile(r"\\u[dD][89a-fA-F][0-9a-fA-F]{2}")
_ESCAPED_SURROGATE_BYTES = re.compile(rb"\\u[dD][89a-fA-F][0-9a-fA-F]{2}")
_LONE_SURROGATE = re.compile("[\ud800-\udfff]")


def without_lone_surrogates(doc: Any, data: str | bytes) -> Any:
    """``doc`` (parsed from ``data``) with every UTF-16 surrogate that no pair completed
    (``"\\ud800"`` alone: valid JSON, but no Unicode text) replaced by U+FFFD in its strings
    and keys. Such a name crashed every plan, apply and file write (no UTF-8 can hold it: R37c).
    Trello sends UTF-8 text, never such escapes: only ``data`` holding one is walked."""
    if isinstance(data, bytes):
        if b"\\u" not in data or not _ESCAPED_SURROGATE_BYTES.search(data):
            return doc
    elif "\\u" not in data or not _ESCAPED_SURROGATE.search(data):
        return doc
    try:
        return _replaced(doc)
    except RecursionError:  # deeper than any document this tool reads: left as it is
        return doc


def _replaced(value: Any) -> Any:
    if isinstance(value, str):
        return _LONE_SURROGATE.sub("\ufffd", value)
    if isinstance(value, list):
        return [_replaced(v) for v in value]
    if isinstance(value, dict):
        return {_replaced(k): _replaced(v) for k, v in value.items()}
    return value


def wide_encoding(raw: bytes) -> str | None:
    """``UTF-16`` or ``UTF-32`` when ``raw`` is JSON saved so (Notepad's "Unicode"): with a
    byte order mark, or without one when it decodes so to an object or an array (R60d: its
    NULs decode as UTF-8 too); None otherwise, also for NULs alone (R61a: a file of zeros, as
    a crash leaves one, was told to be saved as UTF-8)."""
    encoding = json.detect_encoding(raw)
    if encoding[:6] not in ("utf-16", "utf-32"):
        return None
    text = raw.decode(encoding, "replace").lstrip("\ufeff \t\r\n")
    return encoding[:6].upper() if encoding[6:] == "" or text[:1] in ("{", "[") else None


def load_toml(text: str, *, max_depth: int = MAX_DEPTH) -> dict[str, Any]:
    """``tomllib.loads(text)``; ``tomllib.TOMLDecodeError`` for anything it cannot make a
    document of, or one nested deeper than ``max_depth``."""
    try:
        doc = tomllib.loads(text)
    except tomllib.TOMLDecodeError:
        raise
    except RecursionError:
        raise tomllib.TOMLDecodeError("nested too deeply to read") from None
    except ValueError as exc:  # an integer of more digits than Python converts
        raise tomllib.TOMLDecodeError(_why(exc)) from None
    if too_deep(doc, max_depth):
        raise tomllib.TOMLDecodeError(f"nested more than {max_depth} levels deep")
    return doc


def too_deep(doc: Any, max_depth: int) -> bool:
    """Whether ``doc`` (parsed JSON or TOML) has arrays or tables nested more than
    ``max_depth`` levels deep; without recursion, looking into each container once."""
    if not isinstance(doc, dict | list):
        return False
    stack: list[tuple[dict[str, Any] | list[Any], int]] = [(doc, 1)]
    while stack:
        node, depth = stack.pop()
        if depth > max_depth:
            return True
        for child in node.values() if isinstance(node, dict) else node:
            if isinstance(child, dict | list):
                stack.append((child, depth + 1))
    return False


def _why(exc: ValueError) -> str:
    """Python's long message about ``sys.set_int_max_str_digits`` said for the user; the first
    clause of any other."""
    if "integer string conversion" in str(exc):
        return f"a number of more than {sys.get_int_max_str_digits()} digits"
    return str(exc).split(":")[0]


#: The Unicode categories ``models.quote_name`` escapes: control characters, line and paragraph
#: separators.
_ESCAPED = frozenset({"Cc", "Zl", "Zp"})
#: And the characters that can make one name look like another (R37c: ``Archive\u202e5202``
#: showed as "Archive2025"; R39a: ``Sprint\u2061`` and ``Sprint\U000e0020`` as "Sprint"):
#: every format character (Unicode's category Cf: the marks, embeddings, overrides and
#: isolates that change the direction of text, zero-width spaces, invisible operators, the
#: byte order mark, tag characters, a soft hyphen) and every space but the plain one (a
#: no-break space). The zero-width joiner and non-joiner stay, as emoji sequences and some
#: scripts (Persian, the Indic ones) need them, and the ideographic space, as wide as a
#: character, which Chinese and Japanese text types.
_FORMAT = frozenset({"Cf", "Zs"})
_KEPT = frozenset(" \u200c\u200d\u3000")
#: Characters that show as nothing or as blank space, which Unicode counts as letters, marks
#: or symbols (``Lo``, ``Mn``, ``So``), typed by no one in a name for what they show (R43f:
#: "Team\u3164Board" read as "Team Board", another board; R43g: "Review\u034f" as "Review"):
#: the Hangul fillers, the blank Braille pattern, the combining grapheme joiner, the Khmer
#: inherent vowels, the Khitan filler and the musical blank notehead. The variation selectors
#: stay, as emoji need them ("\u2764\ufe0f").
_BLANK = frozenset("\u115f\u1160\u3164\uffa0\u2800\u034f\u17b4\u17b5\U00016fe4\U0001d159")


def escaped_char(ch: str) -> bool:
    """Whether ``quote_name`` (and a shell command the tool suggests) escapes ``ch``: a
    control character, a line or paragraph separator, or one that can make a name look like
    another (``_FORMAT``, but ``_KEPT``; ``_BLANK``)."""
    category = unicodedata.category(ch)
    return category in _ESCAPED or (category in _FORMAT and ch not in _KEPT) or ch in _BLANK


def escaped_at(text: str, i: int) -> bool:
    """Whether ``quote_name`` escapes ``text[i]``: ``escaped_char``, and the joiners and
    variation selectors it keeps (``_KEPT``, ``_BLANK``) where they show as nothing (R67d:
    "Team Board\\u200d" and "Team Board\\ufe0f" read as "Team Board", another board; R68a:
    "C+\\u200d+", "開\\u200d発"; R69a: "برنامه\\u200c", "❤\\ufe0f\\ufe0f"); but not the tag
    characters of a subdivision flag (``_FLAGS``). A joiner shows between two letters of a
    script that joins or forms conjuncts with it (``_JOINING``: a Persian non-joiner), after a
    virama (a conjunct; a Malayalam chillu at a word's end) or between two pictographs (an
    emoji sequence); a selector after a symbol, an emoji that is not one (``_EMOJI``), a
    keycap's digit, or (an ideographic variation sequence) a CJK ideograph."""
    ch, before, after = text[i], text[i - 1 : i] if i else "", text[i + 1 : i + 2]
    if 0xE0020 <= ord(ch) <= 0xE007F:
        return not _flagged(text, i)
    if escaped_char(ch):
        return True
    if ch in "\u200c\u200d":
        if (_scripted(before) and _scripted(after)) or _virama(before):
            return False
        return not (_pictograph(before) and _pictograph(after))
    if 0xE0100 <= ord(ch) <= 0xE01EF:
        return not _ideograph(before)
    if 0xFE00 <= ord(ch) <= 0xFE0F:
        keycap = before in _KEYCAP and after == "\u20e3"
        shown = _symbol(before) or before in _EMOJI or keycap
        return not (shown or (ch == "\ufe00" and _ideograph(before)))
    return False


def unseen_escaped(text: str) -> str:
    """``text`` with each character ``escaped_at`` names shown as Python escapes it
    (``\\x1b``, ``\\u202e``): Trello's or a server's text in a message."""
    return "".join(
        ch.encode("unicode_escape").decode("ascii") if escaped_at(text, i) else ch
        for i, ch in enumerate(text)
    )


#: Where a joiner does its work besides emoji: the scripts that join or form conjuncts with it
#: (Arabic and Persian, Syriac, Thaana, N'Ko; the Indic scripts, Sinhala; Myanmar; Khmer,
#: Mongolian; Arabic's presentation forms). Between Latin, Greek, Cyrillic or CJK letters it
#: shows as nothing.
_JOINING = (
    (0x0600, 0x08FF),
    (0x0900, 0x0DFF),
    (0x1000, 0x109F),
    (0x1780, 0x18AF),
    (0xA8E0, 0xA8FF),
    (0xFB50, 0xFDFF),
    (0xFE70, 0xFEFF),
)
#: What comes before a keycap's selector ("1\\ufe0f\\u20e3").
_KEYCAP = frozenset("0123456789#*")
#: Emoji that are not symbols to Unicode's categories (double and question exclamation marks,
#: information source, wavy dash, part alternation mark), shown with their selector.
_EMOJI = frozenset("\u203c\u2049\u2139\u3030\u303d")
#: The subdivision flags (🏴, tags, the cancel tag): England, Scotland, Wales, the only ones
#: Unicode recommends; other tags after 🏴 show as nothing (R69a).
_FLAGS = tuple(
    "".join(chr(0xE0000 + ord(c)) for c in region) + "\U000e007f"
    for region in ("gbeng", "gbsct", "gbwls")
)


def _symbol(ch: str) -> bool:
    """A symbol beyond ASCII (``So``, ``Sm``: "❤", "↔"; a code point of the emoji blocks this
    Python's Unicode does not know yet, a newer emoji), or a skin tone."""
    if not ch or ch < "\x80":
        return False
    category = unicodedata.category(ch)
    newer = category == "Cn" and "\U0001f000" <= ch <= "\U0001faff"
    return category in ("So", "Sm") or newer or "\U0001f3fb" <= ch <= "\U0001f3ff"


def _pictograph(ch: str) -> bool:
    """What a joiner of an emoji sequence may stand between: a symbol, or the emoji selector
    ("❤\\ufe0f\\u200d🔥")."""
    return _symbol(ch) or ch == "\ufe0f"


def _virama(ch: str) -> bool:
    """A virama of the scripts that form conjuncts (``_JOINING``): a joiner after it shows."""
    return _scripted(ch) and unicodedata.combining(ch) == 9


def _scripted(ch: str) -> bool:
    return bool(ch) and any(lo <= ord(ch) <= hi for lo, hi in _JOINING)


def _ideograph(ch: str) -> bool:
    cp = ord(ch) if ch else 0
    return 0x3400 <= cp <= 0x9FFF or 0xF900 <= cp <= 0xFAFF or 0x20000 <= cp <= 0x3134F


def _flagged(text: str, i: int) -> bool:
    """Whether the tag character ``text[i]`` is in a subdivision flag (``_FLAGS``), whose 🏴 is
    at most six characters before it (a name of tags is not walked)."""
    start = text.rfind("\U0001f3f4", max(0, i - 6), i)
    return start >= 0 and any(text.startswith(f, start + 1) and i <= start + len(f) for f in _FLAGS)
