"""What planning reads, wherever it came from: the boards in scope (``BoardInfo``) and their
history and current state (``Fetched``), fetched over the API (``fetcher.fetch``) or read from
board JSON exports (``exports.load_exports``)."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from concurrent.futures import Future, wait
from dataclasses import dataclass, field
from typing import Any, Generic, TypeVar

from trello_restore.models import History, MemberRef, State
from trello_restore.words import shown_name

__all__ = [
    "BoardInfo",
    "Fetched",
    "Kept",
    "Lazily",
    "born_in_feed",
    "later",
    "models_ignored",
    "unread_second",
]

T = TypeVar("T")

#: Actions that show a card's creation on the board whose feed holds them.
_CREATION_TYPES = ("createCard", "copyCard", "convertToCardFromCheckItem")
#: Those and the action of a card's arrival at that board.
_ORIGIN_TYPES = (*_CREATION_TYPES, "moveCardToBoard")


@dataclass(frozen=True)
class BoardInfo:
    """A board in scope."""

    id: str
    name: str
    url: str = ""


def board_warn(board: BoardInfo, warn: Callable[[str], None]) -> Callable[[str], None]:
    """``warn`` (the plan's warnings: ``Fetched.warnings``) with the board named in front of
    what its reads say."""
    shown = shown_name(board.name) if board.name else board.id
    return lambda text: warn(f"board {shown}: {text}")


class Lazily(Generic[T]):
    """A dataclass field given either its value or a function that makes it when it is first
    read (once; then it is the value). Python calls a descriptor-typed field's ``__set__`` in
    ``__init__``; ``default`` (or none: the field is required) as for a plain field."""

    def __init__(self, *default: T) -> None:
        self.default = default

    def __set_name__(self, owner: type, name: str) -> None:
        self.slot = f"_lazily_{name}"

    def __get__(self, obj: object | None, owner: Any = None) -> T:
        if obj is None:  # the dataclass asks the class for the default
            if self.default:
                return self.default[0]
            raise AttributeError(self.slot)
        value = obj.__dict__[self.slot]
        if isinstance(value, _Later):
            value = obj.__dict__[self.slot] = value.make()
        return value  # type: ignore[no-any-return]

    def __set__(self, obj: object, value: T | _Later[T]) -> None:
        obj.__dict__[self.slot] = value


@dataclass(frozen=True)
class _Later(Generic[T]):
    make: Callable[[], T]


def later(make: Callable[[], T]) -> T:
    """A ``Lazily`` field's value made by ``make`` when first read (typed as the value)."""
    return _Later(make)  # type: ignore[return-value]


@dataclass
class Kept:
    """What a fetch through the kept history (``fetcher_stored``) says of the board stores it
    used, for the plan memo (``plan_memo``)."""

    #: Board id -> its store's generation, when no board had anything new: no store was built,
    #: rebuilt or extended and no body read yet (``Fetched.history`` reads them when first
    #: used); None when something was new.
    unchanged: dict[str, str] | None
    #: The stores' writes, on a thread of their own (``fetcher_stored``): a long board's store
    #: is written while its history is merged and planned, not before.
    writes: list[Future[Any]] = field(default_factory=list)
    #: The last of them, once the history is read: board id -> the generation of its store on
    #: disk, or None when a store could not be written.
    stored: Future[dict[str, str] | None] | None = None

    @property
    def saved(self) -> dict[str, str] | None:
        """Board id -> the generation of its store on disk once the history is read and the
        stores written (this waits for the writes); None until the history is read, or when a
        store could not be written."""
        return self.stored.result() if self.stored is not None else None

    def settle(self) -> None:
        """Wait for every write (each failure was its own notice; nothing is raised here)."""
        wait(list(self.writes))


@dataclass(kw_only=True)
class Fetched:
    """Everything the planner needs, plus what to tell the user about how it was obtained.
    ``history`` and ``incomplete`` may be made when first read (``later``): from a fetch
    through the kept history, read them while its API is open."""

    history: Lazily[History] = Lazily()
    state: State
    members: dict[str, MemberRef]
    boards: list[BoardInfo]
    #: Cards whose history is known to be incomplete (no reconstructed change is planned).
    incomplete: Lazily[frozenset[str]] = Lazily(frozenset())
    warnings: list[str] = field(default_factory=list)
    #: The boards the user named (the rest were followed); None: every board in ``state``.
    named: frozenset[str] | None = None
    #: From a fetch through the kept history: what it used (``Kept``); None otherwise.
    kept: Kept | None = None
    #: Boards cards moved to or from that this account cannot read (with a warning each).
    unreadable: frozenset[str] = frozenset()
    #: Their names as the moves give them, by id (a board no move names is not in it).
    unreadable_names: Mapping[str, str] = field(default_factory=dict)
    #: Those of them Trello no longer has (deleted): waiting for access cannot help.
    gone: frozenset[str] = frozenset()


def born_in_feed(actions: Iterable[Mapping[str, Any]], *, created_only: bool = False) -> set[str]:
    """Cards whose creation or arrival (``created_only``: creation) these raw actions show:
    for the others, the history before they came is not in them."""
    types = _CREATION_TYPES if created_only else _ORIGIN_TYPES
    out = set()
    for a in actions:
        card = a.get("data", {}).get("card") if a.get("type") in types else None
        if isinstance(card, dict) and isinstance(card.get("id"), str):
            out.add(card["id"])  # R51a: a creation naming no card was a crash
    return out


def models_ignored(page: Iterable[Mapping[str, Any]], ids: Iterable[str]) -> bool:
    """Whether a page asked for by ``idModels`` (cards' or lists' ids) holds an action that
    concerns none of ``ids`` (its card, the card it was copied or made from, its list,
    ``listBefore`` or ``listAfter``): Trello ignored them, and splitting them would ask again
    and again for pages of other actions (R51b: what Trello does with ``idModels`` is
    unconfirmed; ignored, one crowded second of 1,300 cards took 2,601 requests and a warning
    for each card, each of them wrong)."""
    wanted = set(ids)
    for action in page:
        data = action.get("data")
        data = data if isinstance(data, dict) else {}
        keys = ("card", "cardSource", "list", "listBefore", "listAfter")  # R52a: cardSource
        objects = (data.get(k) for k in keys)
        if not any(isinstance(o, dict) and o.get("id") in wanted for o in objects):
            return True
    return False


def unread_second(ids: list[str], lists: Iterable[str], second: str, page: int) -> str:
    """The warning for a full ``page`` of the actions of ``ids`` within the second from
    ``second`` that cannot be read past: one card's or list's (``lists``: the lists' ids), or
    several when Trello ignored them (``models_ignored``)."""
    if len(ids) > 1:
        return (
            "Trello answered actions of other cards and lists when asked for cards' and "
            f"lists' by their ids (idModels) within the second from {second}, which holds "
            f"more than a page ({page}) of actions its paging cannot read past: some of them "
            "may be missing from this plan"
        )
    what = "list" if ids[0] in set(lists) else "card"
    return (
        f"a full page ({page}) of actions of {what} {ids[0]} within the second from {second}, "
        "which Trello's paging cannot read past: some of them may be missing from this plan"
    )
