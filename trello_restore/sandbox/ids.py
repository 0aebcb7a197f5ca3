"""Trello-style identifiers and timestamps for the sandbox.

Trello ids are MongoDB ObjectIds: 24 hex digits whose first 8 are the creation time in seconds
since the epoch. The API derives a date from an id passed as ``before``/``since``, so the sandbox
mints ids the same way: ``<8 hex seconds><10 hex per-factory random><6 hex counter>``. The counter
makes ids minted in the same second sort in creation order, as Mongo's do.
"""

from __future__ import annotations

import random
import re
import string
from datetime import UTC, datetime

OBJECT_ID_RE = re.compile(r"^[0-9a-fA-F]{24}$")
_SHORTLINK_ALPHABET = string.ascii_letters + string.digits


class IdFactory:
    """Mints ObjectIds and shortLinks from a seeded random source."""

    def __init__(self, rng: random.Random) -> None:
        self._rng = rng
        self._machine = f"{rng.getrandbits(40):010x}"
        self._counter = rng.getrandbits(20)

    def object_id(self, at: datetime) -> str:
        """A new 24-hex id whose timestamp part is ``at`` (second precision)."""
        self._counter = (self._counter + 1) % (1 << 24)
        return f"{int(at.timestamp()):08x}{self._machine}{self._counter:06x}"

    def short_link(self) -> str:
        """A new 8-character shortLink, as in ``https://trello.com/c/<shortLink>``."""
        return "".join(self._rng.choice(_SHORTLINK_ALPHABET) for _ in range(8))

    def hex(self, digits: int) -> str:
        """Random lowercase hex of the given length (avatar hashes and the like)."""
        return f"{self._rng.getrandbits(4 * digits):0{digits}x}"


def is_object_id(value: str) -> bool:
    """True if ``value`` looks like a Trello id (24 hex digits)."""
    return bool(OBJECT_ID_RE.match(value))


def id_time(object_id: str) -> datetime:
    """The creation time encoded in an ObjectId (second precision, UTC)."""
    return datetime.fromtimestamp(int(object_id[:8], 16), tz=UTC)


def iso(at: datetime) -> str:
    """Trello's date format: ISO-8601 UTC with milliseconds and a ``Z``, the year in four
    digits (JavaScript's ``toISOString``; ``strftime`` wrote the year 999 as ``999``, which the
    tool's plan schema then refused: R43b)."""
    return at.astimezone(UTC).isoformat(timespec="milliseconds")[:23] + "Z"


def parse_iso(value: str) -> datetime:
    """Parse an ISO-8601 date or date-time as Trello accepts it; naive values are UTC.

    Raises ValueError for anything else.
    """
    text = value.strip()
    if text.endswith(("Z", "z")):
        text = text[:-1] + "+00:00"
    parsed = datetime.fromisoformat(text)
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=UTC)
    return parsed.astimezone(UTC)


def slugify(name: str) -> str:
    """The slug Trello appends to board and card URLs."""
    slug = re.sub(r"[^a-z0-9]+", "-", name.lower()).strip("-")
    return slug or "untitled"
