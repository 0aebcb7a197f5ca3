"""What planning reads, wherever it came from: the boards in scope (``BoardInfo``) and their
history and current state (``Fetched``), fetched over the API (``fetcher.fetch``) or read from
board JSON exports (``exports.load_exports``)."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from trello_restore.models import History, MemberRef, State

__all__ = ["BoardInfo", "Fetched", "born_in_feed"]

#: Actions that show a card's creation on, or arrival at, the board whose feed holds them.
_ORIGIN_TYPES = ("createCard", "copyCard", "convertToCardFromCheckItem", "moveCardToBoard")


@dataclass(frozen=True)
class BoardInfo:
    """A board in scope."""

    id: str
    name: str
    url: str = ""


@dataclass
class Fetched:
    """Everything the planner needs, plus what to tell the user about how it was obtained."""

    history: History
    state: State
    members: dict[str, MemberRef]
    boards: list[BoardInfo]
    #: Cards whose history is known to be incomplete (no reconstructed change is planned).
    incomplete: frozenset[str] = frozenset()
    warnings: list[str] = field(default_factory=list)
    #: The boards the user named (the rest were followed); None: every board in ``state``.
    named: frozenset[str] | None = None


def born_in_feed(actions: Iterable[Mapping[str, Any]]) -> set[str]:
    """Cards whose creation or arrival these raw actions show: for the others, the history
    before they came is not in them."""
    return {
        a["data"]["card"]["id"]
        for a in actions
        if a.get("type") in _ORIGIN_TYPES and isinstance(a.get("data", {}).get("card"), dict)
    }
