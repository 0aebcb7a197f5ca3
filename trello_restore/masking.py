"""Credentials blanked out of text: the key and token (in any letter case, cut short, or in
pieces) and anything shaped like a Trello token. One rule for every place text is said or
kept: the log and stderr (``logs.Redact``), the errors that an answer's text reaches, which
per-change results, reports and journals keep (``api.classify.redact``, R57d: they blanked
the exact values only, so a proxy's echo of the token in lower case, or cut short, was
journaled), the HTTP cache (``api.transport``: an answer whose headers or body echo a
credential is not stored) and click's usage errors (``cli_options.one_line_usage``)."""

from __future__ import annotations

import re
import string
from collections.abc import Iterable

from trello_restore import defaults

__all__ = ["MARK", "PIECE", "Mask", "shaped"]

#: What a credential is replaced by.
MARK = "[redacted]"

#: A ``key=`` or ``token=`` of a query (or fragment, or ``;`` parameters, also percent-encoded)
#: with its value: a credential given in an API URL (Trello's own examples pass them so), which
#: no setting names as one.
_IN_QUERY = re.compile(
    r"((?:[?&;#]|%3F|%26|%3B|%23)(?:key|token)(?:=|%3D))[^&#;\s'\"<>%]+", re.IGNORECASE
)
#: Where it is looked for: a run of text without spaces or quotes that holds a ``/`` (a URL,
#: with its scheme or without, JSON-escaped too): a board named ``Sprint?token=1`` is left
#: alone (R34d). Only from where a run begins (the look-behind): tried at every place of a
#: long run without a ``/``, the pattern took time growing with the square of its length
#: (R58a: 55 s for a proxy's 60 KB error page of minified CSS).
_URLISH = re.compile(r"(?<![^\s'\"<>])[^\s'\"<>]*/[^\s'\"<>]*")


def _scrub(url: re.Match[str]) -> str:
    return _IN_QUERY.sub(rf"\1{MARK}", url.group(0))


#: A Trello token in today's form ("ATTA" and hex), whole or cut short, in any case: also one
#: that no setting names as a secret (R42d: pasted into ``api_url`` with no token set, it was
#: shown with 58 of its 64 characters).
_ATTA_SHAPE = re.compile(r"(?<![0-9A-Za-z])ATTA[0-9a-fA-F]{8,}", re.IGNORECASE)

#: A run of 32 hex digits or more on its own: the form of an API key (32) and of an older
#: token (64). Trello's ids are 24, a plan's digest 16: for text that holds no id of that
#: length on purpose (``shaped``: usage errors, which quote what the user typed). Not a part
#: of a path or file name (``/…/``, ``run-….lock``), which the user needs to see whole; but
#: after an option's ``--``.
_HEX_SHAPE = re.compile(
    r"(?<![0-9A-Za-z/._])(?<![0-9A-Za-z]-)[0-9a-fA-F]{32,}(?![0-9A-Za-z/_-])(?!\.\w)"
)

#: The shortest piece of a secret's middle or end blanked on its own (R42e: a token split by a
#: line break showed its 52 characters after the break): long enough that no id, digest or
#: name in the text holds one by chance.
PIECE = 12

#: ASCII letters to lower case, and nothing else: a text's length and places stay as they are.
_LOWER = str.maketrans(string.ascii_uppercase, string.ascii_lowercase)


def _spans(low: str, secret: str) -> list[tuple[int, int]]:
    """Where ``secret`` (ASCII lower case) shows in ``low`` (the text, ASCII lower case): from
    its start, ``SHORTEST_SECRET`` characters or more (a secret cut short, with or without a
    "…": R41d), and from any later place, ``PIECE`` characters or more (a piece of its middle
    or end on its own: the rest of a value split by a line break or a space, R42e); each as
    far as the text goes on with it."""
    out: list[tuple[int, int]] = []
    starts = [(0, defaults.SHORTEST_SECRET)]
    starts += [(i, PIECE) for i in range(1, len(secret) - PIECE + 1)]
    for i, size in starts:
        piece = secret[i : i + size]
        at = low.find(piece)
        while at >= 0:
            end, k = at + size, i + size
            while end < len(low) and k < len(secret) and low[end] == secret[k]:
                end, k = end + 1, k + 1
            out.append((at, end))
            at = low.find(piece, at + 1)
    return out


def _piece_in(low: bytes, secret: bytes) -> bool:
    """Whether ``low`` holds a piece of ``secret`` ``PIECE`` bytes or more. Each such piece holds
    one of the secret's runs of ``PIECE // 2`` that start at a multiple of it: those are looked
    for (a few searches, not one a place of the secret), and each found is widened as far as
    ``low`` goes on with the secret on both sides."""
    half = PIECE // 2
    for j in range(0, len(secret) - half + 1, half):
        at = low.find(secret[j : j + half])
        while at >= 0:
            left = 0
            while left < j and left < at and low[at - left - 1] == secret[j - left - 1]:
                left += 1
            right, end = 0, at + half
            while (
                j + half + right < len(secret)
                and end + right < len(low)
                and low[end + right] == secret[j + half + right]
            ):
                right += 1
            if left + half + right >= PIECE:
                return True
            at = low.find(secret[j : j + half], at + 1)
    return False


def _joined(text: str, spans: list[tuple[int, int]]) -> str:
    out: list[str] = []
    last = 0
    for start, end in sorted(spans):
        if start > last or not out:  # else it overlaps or touches the one before
            out += [text[last:start], MARK]
        last = max(last, end)
    return "".join(out) + text[last:]


class Mask:
    """The key and token of a run (``secrets``), each also without the white space around it,
    as a header or a ``repr`` shows it; a value too short to be a credential
    (``defaults.SHORTEST_SECRET``) is left alone."""

    def __init__(self, secrets: Iterable[str | None]) -> None:
        values = {s for s in secrets if s}
        values |= {s.strip() for s in values}
        self.secrets = tuple(sorted(s for s in values if len(s) >= defaults.SHORTEST_SECRET))
        self._lowered = tuple(dict.fromkeys(s.translate(_LOWER) for s in self.secrets))

    def blanked(self, text: str) -> str | None:
        """``text`` with the secrets and Trello-shaped tokens in it blanked, None when it holds
        none."""
        low = text.translate(_LOWER)
        spans = [span for secret in self._lowered for span in _spans(low, secret)]
        spans += [m.span() for m in _ATTA_SHAPE.finditer(text)]
        return _joined(text, spans) if spans else None

    def holds(self, text: str) -> bool:
        """Whether ``text`` holds a secret, or a piece of one, that ``redact`` would blank."""
        return self.blanked(text) is not None or _IN_QUERY.search(text) is not None

    def in_body(self, body: bytes) -> bool:
        """Whether an answer's body holds what ``redact`` blanks of a secret, in any case: its
        start (``SHORTEST_SECRET`` characters), or a piece of it ``PIECE`` characters or more (a
        proxy's echo of the token, R88c, or of its end, R89b, was kept in the HTTP cache). Not
        ``holds``: a card listing is megabytes, and board data may hold anything shaped like a
        token; this looks for a few runs of bytes (``_piece_in``), 40 ms a 5 MB listing."""
        low = body.lower()
        for secret in (s.encode() for s in self._lowered):
            if secret[: defaults.SHORTEST_SECRET] in low or _piece_in(low, secret):
                return True
        return False

    def redact(self, text: str) -> str:
        """``text`` with every secret replaced, in any case (R42d: ``--restore`` showed a
        token lowercased), its start cut short, ``SHORTEST_SECRET`` characters or more (R41d),
        and any piece of it ``PIECE`` characters or more (R42e: ``_spans``); a token in
        Trello's form no setting names (``_ATTA_SHAPE``); and every ``key=`` or ``token=`` of a
        URL's query (a credential given in an API URL, which was never configured as one). No
        pattern is built per secret: a run makes a mask or two, each read quickly."""
        blanked = self.blanked(text)
        return _URLISH.sub(_scrub, text if blanked is None else blanked)


def shaped(text: str) -> str:
    """``text`` with anything shaped like a credential blanked: a Trello token, a run of 32 hex
    digits or more (a key, an older token), a URL query's ``key=``/``token=``: for the lines of
    usage errors, which quote what the user typed, whether or not it is the run's own secret
    (R57d: a token pasted after ``--format``; R58a: a key pasted after ``--since``)."""
    spans = [m.span() for m in (*_ATTA_SHAPE.finditer(text), *_HEX_SHAPE.finditer(text))]
    return _URLISH.sub(_scrub, _joined(text, spans) if spans else text)
