"""Which boards a run reads: the ``--board`` values (``resolve_boards``), the open boards of a
``--workspace`` (``resolve_workspace``) and the boards cards moved to or from, which a fetch
follows (``followed_boards``); and the checks of the API's answers that the fetcher shares
(``expect_objects``, ``bad_answer``).
"""

from __future__ import annotations

import contextlib
import difflib
import re
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from concurrent.futures import Future
from contextlib import AbstractContextManager
from queue import SimpleQueue
from typing import Any, NamedTuple, Protocol, cast

from trello_restore.errors import (
    AmbiguousBoard,
    ApiError,
    BadRequest,
    BadResponse,
    BoardNotFound,
    NotFound,
    PermissionDenied,
    UsageError,
)
from trello_restore.fetched import BoardInfo
from trello_restore.models import normal_name, quote_name
from trello_restore.words import board_ref

__all__ = [
    "BOARD_LIST_MAX_AGE",
    "NO_NESTED",
    "OBJECT_ID",
    "STATE_QUERY",
    "Api",
    "Follower",
    "RefusedBoard",
    "bad_answer",
    "expect_objects",
    "followed_boards",
    "moved_board",
    "moved_line",
    "read_board_now",
    "read_with_state",
    "resolve_boards",
    "resolve_workspace",
    "short_link_of",
]

#: Board names and ids change rarely.
BOARD_LIST_MAX_AGE = 600.0
_BOARD_FIELDS = "name,url,shortLink,closed"
#: Nested resources a board read does not want, named: the official OpenAPI file gives
#: ``GET /1/boards/{id}`` the defaults ``actions=all`` and ``lists=open`` (the 2017 docs, and
#: the sandbox, ``none``): said explicitly, a read costs the same whichever Trello follows.
NO_NESTED = {"actions": "none", "lists": "none"}
_BOARD_QUERY = {"fields": _BOARD_FIELDS, **NO_NESTED}
#: A board and its state in one request: its memberships (deactivated ones included) with each
#: member's names, and every list (archived ones included), as nested resources of
#: ``GET /1/boards/{id}``: one request where ``/memberships`` and ``/lists`` were two (the
#: official OpenAPI file names ``memberships`` and ``lists`` on that path; the 2017 docs add
#: ``memberships_member``, ``memberships_member_fields`` and ``list_fields``).
STATE_QUERY = {
    "fields": _BOARD_FIELDS,
    "actions": NO_NESTED["actions"],
    "memberships": "all",
    "memberships_member": "true",
    "memberships_member_fields": "fullName,username",
    "lists": "all",
    "list_fields": "name,closed",
}
#: The scheme and host name are case-insensitive (``https://TRELLO.com/b/…`` is a board URL),
#: and the scheme may be left out, as a browser lets one (``trello.com/b/…``).
_BOARD_URL = re.compile(r"^(?i:(?:https?://)?(?:www\.)?trello\.com)/b/([A-Za-z0-9]+)(?:[/?#].*)?$")
_TRELLO_URL = re.compile(r"^(?i:(?:https?://)?(?:www\.)?trello\.com)/")
_ANY_URL = re.compile(r"^[A-Za-z][A-Za-z0-9+.-]*://")
#: A Trello object id (24 hex digits).
OBJECT_ID = re.compile(r"^[0-9a-fA-F]{24}$")
_SHORT_LINK = re.compile(r"^[A-Za-z0-9]{8}$")
#: A workspace's page, ``https://trello.com/w/NAME`` (and what follows it: ``/members`` …).
_WORKSPACE_URL = re.compile(
    r"^(?i:(?:https?://)?(?:www\.)?trello\.com)/w/([A-Za-z0-9_-]+)(?:[/?#].*)?$"
)
#: What a workspace's id (24 hex digits) or short name (letters, digits, underscores; a hyphen
#: let through) holds.
_WORKSPACE_REF = re.compile(r"^[A-Za-z0-9_-]+$")


class Api(Protocol):
    """What the fetcher (and the board resolution) needs from ``api.TrelloApi``."""

    def get(
        self,
        path: str,
        params: Mapping[str, str] | None = None,
        *,
        max_age: float | None = None,
        keep: bool = True,
    ) -> Any: ...


def interruptible(api: Api) -> AbstractContextManager[None]:
    """``TrelloApi.stop_on_interrupt()`` around a thread pool's block: Ctrl-C stops the reads
    waiting for a retry or the limiter before the pool's shutdown waits for them (R37b: it
    waited out every retry, a trickling answer for good). Nothing for a stand-in API."""
    stop = getattr(api, "stop_on_interrupt", None)
    return contextlib.nullcontext() if stop is None else cast(AbstractContextManager[None], stop())


def short_link_of(text: str) -> str | None:
    """The shortLink a ``--board`` value (or a board's ``url``) names: a board URL's, or the
    value itself when it looks like one; None for an id or a name."""
    url = _BOARD_URL.match(text.strip())
    if url:
        return url.group(1)
    return text.strip() if _SHORT_LINK.match(text.strip()) else None


class RefusedBoard(NamedTuple):
    """A ``--board`` value whose read Trello refused the token's member: as given, Trello's
    error, and the board when it is known all the same (found by name in a listing)."""

    given: str
    error: PermissionDenied
    board: BoardInfo | None = None


def resolve_boards(
    api: Api,
    refs: Sequence[str],
    *,
    origin: str = "",
    refused: list[RefusedBoard] | None = None,
    known: Callable[[str], tuple[str, str] | None] | None = None,
) -> list[BoardInfo]:
    """Resolve ``--board`` values (id, shortLink, board URL or name: ``_by_name``),
    de-duplicated. A name no board has is said with where it came from (``origin``:
    ``restore.boards in FILE``) when that is known. A board given by id, shortLink or URL
    whose read Trello refuses the token's member goes to ``refused`` when a list is given; else
    that error is raised.

    A name no board visible to the account has (the member's boards list only those they are
    on) is looked up in ``known`` (the id and name a recorded run knew it by), if given: that
    board is read by its id, fresh: refused, it goes to ``refused`` like the others (the member
    was taken off it); readable under that name, it is the board; under another, the error says
    it was renamed."""
    out: dict[str, BoardInfo] = {}
    mine: list[Mapping[str, Any]] | None = None
    for ref in refs:
        text = ref.strip()
        if not text:
            raise UsageError("--board is empty: give a board id, shortLink, URL or name")
        try:
            board, mine = _resolve(api, ref, origin, mine)
        except PermissionDenied as exc:
            if refused is None or not (
                _BOARD_URL.match(text) or OBJECT_ID.match(text) or _SHORT_LINK.match(text)
            ):
                raise
            refused.append(RefusedBoard(text, exc))
            continue
        except BoardNotFound as exc:
            found = known(text) if known is not None and refused is not None else None
            if found is None or _BOARD_URL.match(text) or _ANY_URL.match(text):
                raise
            try:
                raw = _read_board(api, found[0], text, _BOARD_QUERY)
            except PermissionDenied as denied:
                assert refused is not None  # ``found`` is None without it
                refused.append(RefusedBoard(text, denied, BoardInfo(found[0], found[1])))
                continue
            if raw is None:
                raise exc from None  # deleted since
            board = _board_info(raw)
            if normal_name(board.name).casefold() != normal_name(text).casefold():
                raise BoardNotFound(
                    f"no board named {quote_name(text)}{f' ({origin})' if origin else ''} is "
                    f"visible to this account: the board a recorded run knew by that name "
                    f"({board.id}) is named {quote_name(board.name)} now: name it so, or give "
                    "its id, shortLink or URL"
                ) from None
        out.setdefault(board.id, board)
    return list(out.values())


def _resolve(
    api: Api, text: str, origin: str, mine: list[Mapping[str, Any]] | None
) -> tuple[BoardInfo, list[Mapping[str, Any]] | None]:
    """One ``--board`` value's board, and the member's boards (``mine``: read once, to look a
    name up). An id, shortLink or URL is read without the spaces around it; a name is looked up
    as given (``_by_name``: R43f, a board named "Sp Board " was given its twin "Sp Board")."""
    name, text = text, text.strip()
    url = _BOARD_URL.match(text)
    if url:
        board = _get_board(api, url.group(1), text)
        if board is None:
            raise BoardNotFound(
                f"no board at {text}{f' ({origin})' if origin else ''} is visible to this "
                "account: check the URL, or that the token's member is on the board"
            )
    elif _TRELLO_URL.match(text):
        raise UsageError(
            f"{text} is not a board URL: use the board's address (https://trello.com/b/…)"
        )
    elif _ANY_URL.match(text):
        raise UsageError(
            f"{text} is not a Trello board URL: use the board's address "
            "(https://trello.com/b/…), id, shortLink or name"
        )
    else:
        board = None
        by_id = bool(OBJECT_ID.match(text) or _SHORT_LINK.match(text))
        if by_id and name != text:  # spaces around an id: a board named so, if one is (R43g)
            mine = mine if mine is not None else _my_boards(api)
            exact = [b for b in mine if normal_name(str(b.get("name", ""))) == normal_name(name)]
            if len(exact) == 1:
                return _by_name(name, exact, origin), mine
        if by_id:
            board = _get_board(api, text, text)
        if board is None:
            try:
                board, mine = _named(api, name, mine, origin)
            except BoardNotFound:
                if not by_id:
                    raise
                what = "id" if OBJECT_ID.match(text) else "shortLink"
                raise BoardNotFound(
                    f"no board with the {what} {text} (nor named so)"
                    f"{f' ({origin})' if origin else ''} is visible to this account: check it "
                    "(the board's URL has its shortLink), or that the token's member is on the "
                    "board"
                ) from None
    return board, mine


def _named(
    api: Api, name: str, mine: list[Mapping[str, Any]] | None, origin: str
) -> tuple[BoardInfo, list[Mapping[str, Any]]]:
    """The board named ``name`` among the member's boards (``mine``, read if not yet), and
    those; looked for again in a fresh list when not found in one the cache gave (it may be
    older than a board shared with the member since)."""
    mine = mine if mine is not None else _my_boards(api)
    try:
        return _by_name(name, mine, origin), mine
    except BoardNotFound:
        if isinstance(mine, _FromTrello):  # R88a: a typo read a list just read twice
            raise
        mine = _my_boards(api, fresh=True)
        return _by_name(name, mine, origin), mine


class _FromTrello(list[Mapping[str, Any]]):
    """A board list Trello gave this run (not the cache): a name not in it is in none."""


def _my_boards(api: Api, *, fresh: bool = False) -> list[Mapping[str, Any]]:
    """The token's member's boards (``members/me/boards``, every filter): names to look up;
    kept ``BOARD_LIST_MAX_AGE`` unless ``fresh`` (R87c: a name not in the kept list, as of a
    board shared with the member since, or a kept ``[]``, was refused for ten minutes). A
    ``_FromTrello`` when the cache did not answer (``cache_hits``, where the API counts them)."""
    hits = getattr(api, "cache_hits", None)
    answer = api.get(
        "members/me/boards",
        {"filter": "all", "fields": _BOARD_FIELDS},
        max_age=None if fresh else BOARD_LIST_MAX_AGE,
    )
    mine = expect_objects(answer, "members/me/boards", "a list of boards", "id", api=api)
    unkept = fresh or (hits is not None and getattr(api, "cache_hits", None) == hits)
    return _FromTrello(mine) if unkept else mine


def _get_board(api: Api, ref: str, shown: str) -> BoardInfo | None:
    """A board named by id or shortLink (its name and address: kept ``BOARD_LIST_MAX_AGE``);
    None when there is no such board."""
    raw = _read_board(api, ref, shown, _BOARD_QUERY, max_age=BOARD_LIST_MAX_AGE)
    return _board_info(raw) if raw is not None else None


def read_board_now(api: Api, board_id: str) -> Mapping[str, Any] | None:
    """A board's name, address, whether it is closed and its workspace, read fresh (not from
    the cache): None when there is no such board; ``PermissionDenied`` when Trello refuses the
    token's member its read."""
    query = {**_BOARD_QUERY, "fields": f"{_BOARD_FIELDS},idOrganization"}
    return _read_board(api, board_id, board_id, query)


def read_with_state(api: Api, ref: str, shown: str) -> tuple[BoardInfo, Mapping[str, Any]] | None:
    """A board with its state in the same answer (``STATE_QUERY``), read fresh: the board and
    Trello's answer, which ``fetcher.board_state`` reads the state from; None when there is no
    such board."""
    raw = _read_board(api, ref, shown, STATE_QUERY)
    return (_board_info(raw), raw) if raw is not None else None


def _read_board(
    api: Api, ref: str, shown: str, query: Mapping[str, str], *, max_age: float | None = None
) -> Mapping[str, Any] | None:
    try:
        raw = api.get(f"boards/{ref}", query, max_age=max_age)
    except (NotFound, BadRequest):
        return None
    except PermissionDenied as exc:
        raise PermissionDenied(
            f"the token's member cannot read board {shown}: ask a board admin to add them, "
            "or use a token of a board member",
            exc.status,
            exc.trello_error,
        ) from None
    if not isinstance(raw, dict) or not isinstance(raw.get("id"), str):
        raise bad_answer(f"board {shown}", "a Trello board", api)
    return raw


def _board_info(raw: Mapping[str, Any]) -> BoardInfo:
    return BoardInfo(id=raw["id"], name=str(raw.get("name", "")), url=str(raw.get("url", "")))


def url_from(api: object) -> str:
    """Where ``api``'s URL came from (``ApiSettings.origins``), for messages; every place it may
    come from for an ``api`` without settings (a test's)."""
    origins = getattr(getattr(api, "settings", None), "origins", None)
    url = getattr(origins, "url", None)
    return url if isinstance(url, str) else "--api-url / TRELLO_API_URL"


def bad_answer(what: str, expected: str, api: object = None) -> BadResponse:
    return BadResponse(
        f"the API answered {what} with something that is not {expected}: check "
        f"{url_from(api)} (it must be a Trello API, like https://api.trello.com/1)"
    )


def expect_objects(
    value: Any, what: str, expected: str, *keys: str, api: object = None
) -> list[Mapping[str, Any]]:
    """``value`` if it is a list of JSON objects that have ``keys``; else ``BadResponse``
    (naming where ``api``'s URL came from)."""
    if not isinstance(value, list) or not all(
        isinstance(x, dict) and all(k in x for k in keys) for x in value
    ):
        raise bad_answer(what, expected, api)
    return value


def _by_name(name: str, boards: Sequence[Mapping[str, Any]], origin: str = "") -> BoardInfo:
    """The board with this exact name (compared in Unicode NFC), else the one whose name
    differs from it only in case, else only in case and spaces at its start or end (a name
    pasted with a space, or a board named with one); several is an error that lists them (as
    Trello names them: spaces are not collapsed)."""
    wanted = normal_name(name)
    named = [(b, str(b.get("name", ""))) for b in boards]
    exact = [b for b, n in named if normal_name(n) == wanted]
    folded = wanted.casefold()
    matches = exact or [b for b, n in named if normal_name(n).casefold() == folded]
    loosely = "" if exact else " (ignoring case)"
    if not matches:
        trimmed, loosely = folded.strip(), " (ignoring case and spaces at the ends)"
        matches = [b for b, n in named if normal_name(n).casefold().strip() == trimmed]
    if len(matches) == 1:
        b = matches[0]
        return BoardInfo(id=b["id"], name=str(b.get("name", "")), url=str(b.get("url", "")))
    if not matches:
        names = {normal_name(n).casefold(): n for _, n in named}
        near = difflib.get_close_matches(folded, list(names), n=3)
        hint = f"did you mean {' or '.join(quote_name(names[k]) for k in near)}? " if near else ""
        said = f" ({origin})" if origin else ""
        raise BoardNotFound(
            f"no board named {quote_name(name)}{said} is visible to this account: {hint}check "
            "the name (a board the token's member is not on is not visible to it), or give the "
            "board's id, shortLink or URL"
        )
    listing = "; ".join(
        f"{quote_name(str(b.get('name', '')))} {b.get('url') or b['id']}"
        f"{' (closed)' if b.get('closed') else ''}"
        for b in matches
    )
    raise AmbiguousBoard(
        f"{len(matches)} boards are named {quote_name(name)}"
        f"{loosely}: {listing} — pass the URL or id of the one "
        "you mean"
    )


#: How a followed board's warning begins, up to its board (``moved_line``, ``moved_board``).
MOVED_BETWEEN = "cards moved between board "
#: And how it goes on after the board.
MOVED_UNREADABLE = " and the boards in scope, but this account cannot read it: "


def moved_line(board_id: str, name: str, *, gone: bool = False) -> str:
    """The warning for a board cards moved to or from that this account cannot read, named
    as its moves name it (``board_ref``: ``"Archive" (<id>)``, the id alone when none does);
    ``gone``: one Trello no longer has (deleted: R39d, told to add the member to it)."""
    if gone:
        return (
            f"{MOVED_BETWEEN}{board_ref(board_id, name)} and the boards in scope, but Trello "
            "no longer has it (deleted): the history of cards from before they left it is "
            "missing, and what they lost there cannot be restored"
        )
    return (
        f"{MOVED_BETWEEN}{board_ref(board_id, name)}{MOVED_UNREADABLE}the cards now on it are "
        "left out of the plan (as if deleted), and the history of cards from before they left "
        "it is missing; add the token's member to that board to include them"
    )


def moved_board(warning: str) -> tuple[str, str] | None:
    """The board a ``moved_line`` names, as it names it, and its id; None for another line."""
    if not warning.startswith(MOVED_BETWEEN) or MOVED_UNREADABLE not in warning:
        return None
    shown = warning[len(MOVED_BETWEEN) : warning.rindex(MOVED_UNREADABLE)]
    return shown, shown.rsplit(" (", 1)[1][:-1] if shown.endswith(")") else shown


def followed_boards(
    api: Api,
    moved: Iterable[str],
    scope: Mapping[str, BoardInfo],
    unreadable: dict[str, str],
    gone: set[str],
) -> Iterator[tuple[BoardInfo, Mapping[str, Any]]]:
    """The boards cards moved to or from (``moved``) that are not in ``scope`` yet, in id order,
    each read as it is asked for, with its state (``read_with_state``: the board and Trello's
    answer); one this account cannot read goes to ``unreadable`` (its name not known yet),
    and to ``gone`` too when Trello has no such board (deleted)."""
    for other in sorted(set(moved) - set(scope)):
        try:
            read = read_with_state(api, other, other)
        except PermissionDenied:
            unreadable[other] = ""
            continue
        if read is None:
            unreadable[other] = ""
            gone.add(other)
            continue
        yield read


class Follower:
    """The boards the scope's boards moved cards or lists to or from (one hop: ``followed_boards``),
    each read as soon as a page of a scope board's history shows it, not once the whole
    history is in: on a board with a long history the followed boards' reads then share the
    rate window with its last pages, and the last page ends the fetch (the moves of an incident
    are in the newest pages; before, reading the board it moved to began only after the oldest
    page was parsed and kept: 3 s of a 36 s cold run with nothing sent).

    Reader threads call ``found`` with the boards each page's moves connect; the fetch's own
    thread runs ``follow``, which reads each new one with its state (``followed_boards``) and
    starts its reads (``start``, given the board and that answer). Once every history is in,
    the boards its moves connect (``connected``, which the pages add up to) are followed too,
    so the boards followed are the ones a fetch after the whole history would follow; and
    ``scope`` and the warnings end in that fetch's order (the scope's boards, then the followed
    in id order), whatever order the pages came in: the plan, its file and its memo's key
    depend on that order."""

    def __init__(
        self,
        api: Api,
        scope: dict[str, BoardInfo],
        warnings: list[str],
        unreadable: dict[str, str],
        gone: set[str],
        start: Callable[[BoardInfo, Mapping[str, Any]], None],
    ) -> None:
        self.api, self.scope, self.warnings, self.unreadable = api, scope, warnings, unreadable
        self.gone = gone
        self.start = start
        self.roots = tuple(scope)
        self._found: SimpleQueue[frozenset[str] | None] = SimpleQueue()
        #: The boards looked at (read, or found unreadable), in any order.
        self._asked: set[str] = set()

    def found(self, boards: Iterable[str]) -> None:
        """Boards a page's moves connect (from any thread)."""
        ids = frozenset(boards)
        if ids:
            self._found.put(ids)

    def follow(
        self, histories: Sequence[Future[Any]], connected: Callable[[], Mapping[str, str]]
    ) -> None:
        """Follow what the pages show until every one of ``histories`` is done (or failed:
        ``connected`` then raises its error), then what ``connected`` names (each board with
        the name its moves give it, or ""); then put ``scope`` in order, and warn of each board
        this account cannot read (``moved_line``), in id order."""
        for history in histories:
            history.add_done_callback(lambda _: self._found.put(None))
        running = len(histories)
        while running:
            ids = self._found.get()
            if ids is None:
                running -= 1
            else:
                self._ask(ids)
        while not self._found.empty():  # every page came before its history was done
            self._ask(self._found.get() or ())
        names = connected()
        self._ask(names)
        followed = sorted(k for k in self.scope if k not in self.roots)
        ordered = {k: self.scope[k] for k in (*self.roots, *followed)}
        self.scope.clear()
        self.scope.update(ordered)
        for board_id in sorted(self._asked & self.unreadable.keys()):
            self.unreadable[board_id] = names.get(board_id, "")
            name = self.unreadable[board_id]
            self.warnings.append(moved_line(board_id, name, gone=board_id in self.gone))

    def _ask(self, ids: Iterable[str]) -> None:
        for board_id in sorted(set(ids) - self._asked - self.scope.keys()):
            self._asked.add(board_id)
            for info, answer in followed_boards(
                self.api, (board_id,), self.scope, self.unreadable, self.gone
            ):
                self.scope[info.id] = info
                self.start(info, answer)


def _near_workspace(api: Api, text: str) -> str:
    """A hint for a misspelled workspace, ``did you mean 'acme' ("Acme")? ``, naming the
    account's workspaces close to ``text`` by short or display name (one more request:
    ``members/me/organizations``); "" when none is, or they cannot be read."""
    try:
        raw = api.get("members/me/organizations", {"fields": "name,displayName"})
    except ApiError:
        return ""
    if not isinstance(raw, list):
        return ""
    shown: dict[str, str] = {}
    for org in raw:
        if not isinstance(org, dict) or not isinstance(org.get("name"), str):
            continue
        title = org.get("displayName")
        label = f"{org['name']!r}" + (f" ({quote_name(title)})" if isinstance(title, str) else "")
        shown[org["name"].casefold()] = label
        if isinstance(title, str) and title.strip():
            shown.setdefault(normal_name(title).casefold(), label)
    # Its display name as given, then a name holding it (R42d: 'acme' and 'ACME Workspace'
    # got no hint for acme-workspace, "ACME Workspace"), then names spelled near it.
    key = normal_name(text).casefold()
    near = [k for k in shown if k == key]
    near += [k for k in shown if len(key) >= 3 and key in k]
    near += difflib.get_close_matches(key, list(shown), n=3)
    labels = list(dict.fromkeys(shown[k] for k in near))[:3]
    return f"did you mean {' or '.join(labels)}? Else " if labels else ""


def resolve_workspace(
    api: Api, ref: str, *, origin: str = "", empty: bool = False
) -> tuple[str, list[BoardInfo]]:
    """``--workspace``: the workspace's id and every open board of it that the token's member
    can read (``GET /1/organizations/{ref}/boards?filter=open``). ``UsageError`` for an
    unknown workspace or (unless ``empty``: then its id, read, and no board) one without an
    open board (``no_open_board``), which says where ``ref`` came from (``origin``:
    ``restore.workspace in FILE``) when that is known."""
    said = f" ({origin})" if origin else ""
    text = ref.strip()
    url = _WORKSPACE_URL.match(text)
    name = url.group(1) if url else text
    if not _WORKSPACE_REF.match(name):  # R34a: a URL went into the request's path as it was
        # A display name, maybe (R42d: "ACME Workspace" got no hint): the hint names its own.
        hint = _near_workspace(api, text)
        raise UsageError(
            f"{text!r}{said} is not a workspace's id, short name or URL: {hint}give the "
            "workspace's id or its short name from its URL (https://trello.com/w/NAME), or that URL"
        )
    text = name
    try:
        raw = api.get(
            f"organizations/{text}/boards",
            {"filter": "open", "fields": "name,url,shortLink,closed,idOrganization"},
        )
    except (NotFound, BadRequest):
        raise UsageError(
            f"no workspace {text!r}{said} is visible to this account: {_near_workspace(api, text)}"
            "give the workspace's id or its short name from its URL (https://trello.com/w/NAME)"
        ) from None
    except PermissionDenied as exc:
        raise PermissionDenied(
            f"the token's member cannot list the boards of workspace {text!r}: use a token of "
            "a workspace member, or name the boards with --board",
            exc.status,
            exc.trello_error,
        ) from None
    if not isinstance(raw, list) or not all(isinstance(b, dict) and "id" in b for b in raw):
        raise BadResponse(
            f"the API answered organizations/{text}/boards with something that is not a list "
            f"of boards: check {url_from(api)}"
        )
    boards = [b for b in raw if not b.get("closed")]
    if not boards and empty:  # the boards a recorded run covered are read by id instead
        found = api.get(f"organizations/{text}", {"fields": "id"})
        return str(found["id"]) if isinstance(found, dict) and "id" in found else text, []
    if not boards:
        raise no_open_board(ref, origin)
    org_ids = {str(b["idOrganization"]) for b in boards if b.get("idOrganization")}
    org_id = org_ids.pop() if len(org_ids) == 1 else text
    return org_id, [
        BoardInfo(id=str(b["id"]), name=str(b.get("name", "")), url=str(b.get("url", "")))
        for b in boards
    ]


def no_open_board(ref: str, origin: str = "") -> UsageError:
    """The error for a workspace none of whose open boards the token's member is on."""
    said = f" ({origin})" if origin else ""
    return UsageError(
        f"workspace {ref.strip()!r}{said} has no open board this account is a member of: check "
        "the workspace, and that the token's member is still on its boards (taken off a "
        "board, it no longer sees it: ask a board admin to add them back)"
    )
