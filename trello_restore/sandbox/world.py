"""The sandbox's in-memory Trello: members, boards, lists, cards, the action log, and the incident.

Every state change goes through a ``World`` method that validates it the way Trello does, changes
the state, and logs the action Trello would log, with the same JSON shape (see ``render.py``).
The scenario generator builds history by calling these same methods with explicit timestamps, and
the HTTP server calls them with the current time, so generated history and live writes follow one
set of rules.

The incident (trello-api-notes.md §8): moving a list or a card to another board removes from each
card every member who is not an active member of the destination board, and logs one
``removeMemberFromCard`` per removal attributed to the mover, within a second of the move. For a
configurable share of the affected cards no removal action is logged at all.

Besides the action log, the world keeps a *ledger* of every card-membership change, logged or not.
The ledger is the truth that scenario ground truth is computed from; the tool under test never sees
it.

Card and list values (design.md §10): archiving, moving a card between lists, and each card field
(``name``, ``desc``, ``due``, ``dueComplete``, ``start``) change through ``World`` methods that log
``updateCard``/``updateList`` with the old value in ``data.old``, one action per field and per card
(the bulk routes ``archive_all_cards``/``move_all_cards`` included: how Trello logs those is
unconfirmed, the sandbox's choice is one action per card). Each such change is also written to a
second ledger, ``field_ledger`` (``FieldEvent``), that the value kinds' ground truth is computed
from.

Two things real Trello does that change only how actions and members *look* (trello-api-notes.md
§13.5, §13.6): with ``automation_share`` a share of the actions logged is made by an automation
(``AUTOMATION``: rendered with ``appCreator`` and without ``memberCreator``; ``idMemberCreator``
still names the member it ran for), and a member with ``name_hidden`` keeps their full name
private (rendered without ``fullName``, with a ``nonPublic`` object). Both draw on random sources
of their own, so a world with them has the same ids, history and ledger as one without.
"""

from __future__ import annotations

import random
import threading
from bisect import bisect_left, insort
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any, Literal

from trello_restore.sandbox.ids import IdFactory, slugify

JSON = dict[str, Any]
MemberType = Literal["admin", "normal", "observer"]
LogBoard = Literal["source", "target"]

#: Trello answers a duplicate card-member add with this plain-text body (notes §3.1).
ALREADY_ON_CARD = "member is already on the card"
#: Body for removing a member who is not on the card (notes §3.1, status unconfirmed: 400 here).
NOT_ON_CARD = "member is not on the card"
#: Body for removing a member who is not on the board (the sandbox's choice: 400, unconfirmed).
NOT_ON_BOARD = "member is not on the board"
#: Body for removing a board's only active admin (the sandbox's choice: 400, unconfirmed).
LAST_ADMIN = "cannot remove the last admin of the board"
#: Body for making a board's only active admin a normal member or an observer (Trello refuses
#: it, the board would have no admin left; the sandbox's choice of 400 and text, unconfirmed).
LAST_ADMIN_TYPE = "cannot change the type of the last admin of the board"
#: Longest card description Trello takes (the sandbox's reading of Trello's 16384-character limit).
MAX_DESC = 16384
#: Card fields ``World.set_card_field`` changes, and the Python type of each one's value
#: (dates are Trello's ISO text; ``None`` clears ``due`` and ``start``).
CARD_VALUE_FIELDS: dict[str, tuple[type, ...]] = {
    "name": (str,),
    "desc": (str,),
    "due": (str, type(None)),
    "dueComplete": (bool,),
    "start": (str, type(None)),
}
#: A card or list field's value as Trello's JSON has it.
FieldValue = str | bool | None
#: Action types Trello sends to webhooks only: no action feed or export returns them, whatever
#: the ``filter`` ("Excluded Action Types", 2017 docs; trello-api-notes.md §13.2).
FEED_EXCLUDED_TYPES = frozenset({"removeMemberFromBoard", "addLabelToCard", "removeLabelFromCard"})


def _json_pos(value: float) -> float | int:
    """A position as Trello's JSON has it: whole numbers as integers."""
    return int(value) if float(value).is_integer() else value


def _place(others: list[float], pos: str | float) -> float:
    """A position among ``others``: ``top`` (half the first), ``bottom`` (after the last) or a
    positive number (``400 invalid value for pos`` otherwise)."""
    if pos == "top":
        return min(others, default=65536.0) / 2
    if pos == "bottom":
        return max(others, default=0.0) + 65536.0
    try:
        value = float(pos)
    except ValueError:
        raise TrelloError(400, "invalid value for pos") from None
    if not value > 0 or value == float("inf"):
        raise TrelloError(400, "invalid value for pos")
    return value


def check_card_value(name: str, value: FieldValue) -> None:
    """``400 invalid value for <name>`` for a value of the wrong type, an empty name or a
    description longer than ``MAX_DESC`` (ValueError for a name not in ``CARD_VALUE_FIELDS``)."""
    types = CARD_VALUE_FIELDS.get(name)
    if types is None:
        raise ValueError(f"not a card value field: {name}")
    if (
        not isinstance(value, types)
        or (isinstance(value, bool) and bool not in types)
        or (name == "name" and not value)
        or (name == "desc" and isinstance(value, str) and len(value) > MAX_DESC)
    ):
        raise TrelloError(400, f"invalid value for {name}")


class TrelloError(Exception):
    """A refusal the HTTP layer turns into Trello's status and body (text or JSON)."""

    def __init__(self, status: int, body: str | JSON) -> None:
        super().__init__(f"{status} {body}")
        self.status = status
        self.body = body


def not_found() -> TrelloError:
    """404 with Trello's plain-text body."""
    return TrelloError(404, "The requested resource was not found.")


def invalid_id() -> TrelloError:
    """400 for a malformed id in the path."""
    return TrelloError(400, "invalid id")


def invalid_object_id() -> TrelloError:
    """400 for a bad id in a parameter or body (JSON body, notes §4)."""
    return TrelloError(400, {"message": "Invalid objectId", "error": "ERROR"})


@dataclass
class Member:
    """A Trello account."""

    id: str
    username: str
    full_name: str
    initials: str
    avatar_hash: str
    #: The member keeps their full name private (member privacy, notes §13.6): member objects
    #: carry no ``fullName`` and action data no ``name``.
    name_hidden: bool = False

    def ref(self) -> JSON:
        """The ``{id, name}`` reference used inside action ``data`` (``{id}`` when the name is
        private: the sandbox's reading, Trello's exact shape for it is unconfirmed)."""
        if self.name_hidden:
            return {"id": self.id}
        return {"id": self.id, "name": self.full_name}


@dataclass(frozen=True)
class App:
    """An application that makes actions on a member's behalf (an automation such as Butler)."""

    id: str
    #: The name its ``appCreator`` carries, if any: none for the notes' ``{id, authType}``
    #: (§2.1); a named one stands for an app whose name Trello does show (unconfirmed).
    name: str = ""

    @property
    def shown(self) -> str:
        """How the tool names it (``history.app_name``): its name, else ``app <id>``."""
        return self.name or f"app {self.id}"


#: The automation ``World.automation_share`` attributes actions to (id minted like Trello's),
#: nameless as the notes show ``appCreator`` (R71b: it was "Butler", a name Trello is not known
#: to send).
AUTOMATION = App(id="5c9a0a7b3e2f1d0c4b5a6978")


@dataclass
class Membership:
    """A member's membership of a board (``GET /boards/{id}/memberships`` item)."""

    id: str
    id_member: str
    member_type: MemberType
    unconfirmed: bool = False
    deactivated: bool = False


@dataclass
class Organization:
    """A workspace."""

    id: str
    name: str
    display_name: str


@dataclass
class Board:
    """A board and its memberships."""

    id: str
    name: str
    short_link: str
    id_organization: str | None
    created: datetime
    closed: bool = False
    desc: str = ""
    memberships: dict[str, Membership] = field(default_factory=dict)

    def ref(self) -> JSON:
        """``data.board`` in actions."""
        return {"id": self.id, "name": self.name, "shortLink": self.short_link}

    def is_active_member(self, member_id: str) -> bool:
        """True for a confirmed, non-deactivated member of any type."""
        m = self.memberships.get(member_id)
        return m is not None and not m.deactivated and not m.unconfirmed

    def is_only_admin(self, member_id: str) -> bool:
        """True for the board's only active admin (without whom it would have none)."""
        admins = [
            m
            for m, x in self.memberships.items()
            if x.member_type == "admin" and self.is_active_member(m)
        ]
        return admins == [member_id]

    @property
    def url(self) -> str:
        """``https://trello.com/b/<shortLink>/<slug>``."""
        return f"https://trello.com/b/{self.short_link}/{slugify(self.name)}"


@dataclass
class TrelloList:
    """A list on a board."""

    id: str
    name: str
    id_board: str
    pos: float
    closed: bool = False

    def ref(self) -> JSON:
        """``data.list`` in actions."""
        return {"id": self.id, "name": self.name}


@dataclass
class Card:
    """A card. ``id_members`` is ordered as Trello keeps it: in the order members were added."""

    id: str
    name: str
    id_short: int
    short_link: str
    id_board: str
    id_list: str
    pos: float
    date_last_activity: datetime
    closed: bool = False
    desc: str = ""
    #: Due and start dates as Trello's ISO text (``None``: no date), and the due date's tick.
    due: str | None = None
    due_complete: bool = False
    start: str | None = None
    id_members: list[str] = field(default_factory=list)
    #: Every board the card has been on, oldest first (the sandbox's TRELLO-955 emulation uses it).
    boards_seen: list[str] = field(default_factory=list)

    def ref(self) -> JSON:
        """``data.card`` in member actions."""
        return {
            "id": self.id,
            "name": self.name,
            "idShort": self.id_short,
            "shortLink": self.short_link,
        }

    @property
    def url(self) -> str:
        """``https://trello.com/c/<shortLink>/<idShort>-<slug>``."""
        return f"https://trello.com/c/{self.short_link}/{self.id_short}-{slugify(self.name)}"


@dataclass(slots=True)
class Action:
    """One logged action. ``data`` is stored in Trello's shape; member objects are rendered late."""

    id: str
    type: str
    date: datetime
    id_member_creator: str
    #: The board whose action feed holds this action (``data.board.id``).
    id_board: str
    #: The card the action is about, if any (``data.card.id``).
    id_card: str | None
    data: JSON
    #: The member the action is about (top-level ``member``), for member actions.
    id_member: str | None = None
    #: The automation that made the action on ``id_member_creator``'s behalf, if any.
    app: App | None = None


@dataclass(frozen=True, slots=True)
class MemberEvent:
    """A card-membership change as it really happened: the ledger behind the action log."""

    at: datetime
    card_id: str
    member_id: str
    kind: Literal["add", "remove"]
    by: str
    #: False when Trello dropped the action (the incident's silent losses).
    logged: bool
    action_id: str | None
    cause: Literal["manual", "move"]
    #: The move action this change came with (``moveListToBoard``/``moveCardToBoard``).
    move_action_id: str | None = None
    deactivated: bool = False


@dataclass(frozen=True, slots=True)
class BoardMove:
    """A card or a list moved across boards as it really happened (``move_*_to_board``), with
    the two actions Trello logs: ``move*FromBoard`` on the board it left, ``move*ToBoard`` on
    the one it came to."""

    at: datetime
    object_type: Literal["card", "list"]
    object_id: str
    from_board: str
    to_board: str
    by: str
    from_action_id: str
    to_action_id: str
    #: The cards a list took along (none for a card's own move).
    carried: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class FieldEvent:
    """A card or list value as it really changed (design.md §10.1): the ledger behind the
    ``updateCard``/``updateList`` actions that carry ``data.old``, and a card's moves between
    boards, each a change of its ``idList`` on the board that logged it (R47d): from the list
    it left to None (``moveCardFromBoard``), from None to the list it reached
    (``moveCardToBoard``). A list's moves between boards change no value of its cards."""

    at: datetime
    object_type: Literal["card", "list"]
    object_id: str
    #: The board the object was on when it changed.
    board_id: str
    #: Trello's field name: ``closed``, ``idList``, ``name``, ``desc``, ``due``, ``dueComplete``,
    #: ``start``.
    field: str
    old: FieldValue
    new: FieldValue
    #: Who made it (for an automation: the member whose token it ran with).
    by: str
    action_id: str
    #: The automation that made it, "" for a person.
    app: str = ""


#: The attribute of ``Card`` that holds each field of ``CARD_VALUE_FIELDS``.
_CARD_ATTR = {
    "name": "name",
    "desc": "desc",
    "due": "due",
    "dueComplete": "due_complete",
    "start": "start",
}


@dataclass(frozen=True)
class MoveResult:
    """What a list or card move did."""

    from_action: Action
    to_action: Action
    cards: tuple[str, ...]
    removals: tuple[MemberEvent, ...]


class World:
    """The sandbox's whole Trello state. Not thread-safe by itself: hold ``lock`` across calls."""

    def __init__(
        self,
        seed: int = 0,
        *,
        unlogged_share: float = 0.0,
        incident_log_board: LogBoard = "target",
        clock: Callable[[], datetime] | None = None,
        automation_share: float = 0.0,
    ) -> None:
        self.seed = seed
        self.rng = random.Random(seed)
        #: Share of the actions logged from now on that ``AUTOMATION`` makes (its own random
        #: source: the rest of the world does not change with it).
        self.automation_share = automation_share
        self._automation_rng = random.Random(f"automation-{seed}")
        self.ids = IdFactory(random.Random(f"ids-{seed}"))
        #: Share of moved cards whose member removals are not logged at all.
        self.unlogged_share = unlogged_share
        #: Which board's feed the move-triggered removals are logged on (unconfirmed in reality).
        self.incident_log_board: LogBoard = incident_log_board
        self.clock: Callable[[], datetime] = clock or (lambda: datetime.now(UTC))
        self.lock = threading.RLock()
        self.members: dict[str, Member] = {}
        self.organizations: dict[str, Organization] = {}
        self.boards: dict[str, Board] = {}
        self.lists: dict[str, TrelloList] = {}
        self.cards: dict[str, Card] = {}
        #: Board id -> the ids of the cards now on it, ascending (``card_ids_on_board``). Kept
        #: by the methods that create, move and delete cards: a card's board changes only
        #: through them.
        self._card_ids: dict[str, list[str]] = {}
        self.deleted_cards: dict[str, Card] = {}
        #: Card id -> (the ``deleteCard`` action id, who deleted it, when).
        self.deletions: dict[str, tuple[str, str, datetime]] = {}
        self.actions: list[Action] = []
        self.actions_by_id: dict[str, Action] = {}
        self.board_feed: dict[str, list[Action]] = {}
        self.card_feed: dict[str, list[Action]] = {}
        self.ledger: list[MemberEvent] = []
        #: Every card and list value change, in order (the value kinds' truth, ``FieldEvent``).
        self.field_ledger: list[FieldEvent] = []
        #: Every move of a card or a list across boards, in order (``BoardMove``).
        self.board_moves: list[BoardMove] = []
        #: API keys and tokens: token -> member id.
        self.api_keys: set[str] = set()
        self.tokens: dict[str, str] = {}
        #: Tokens made without write access (``scope=read``, Trello's default on its authorize
        #: page): every write of theirs is refused, 401 ``unauthorized permission requested``.
        self.read_only_tokens: set[str] = set()
        self._last = datetime(1970, 1, 1, tzinfo=UTC)
        self._short_links: dict[str, str] = {}
        self._id_short: dict[str, int] = {}

    # ----------------------------------------------------------------------------------- time

    def _tick(self, at: datetime | None) -> datetime:
        """The time for a new action: ``at`` (or now), never earlier than the last action + 1 ms.

        Keeping the log monotonic makes action ids, dates and list order agree, as in Trello.
        """
        t = at if at is not None else self.clock()
        t = t.replace(microsecond=(t.microsecond // 1000) * 1000)  # Trello dates carry ms
        t = max(t, self._last + timedelta(milliseconds=1))
        self._last = t
        return t

    @property
    def last_time(self) -> datetime:
        """The time of the newest change."""
        return self._last

    # ------------------------------------------------------------------------------- lookups

    def board(self, ref: str) -> Board:
        """A board by id or shortLink (404 when unknown)."""
        b = self.boards.get(ref) or self.boards.get(self._short_links.get(ref, ""))
        if b is None:
            raise not_found()
        return b

    def card(self, ref: str) -> Card:
        """A card by id or shortLink (404 when unknown or deleted)."""
        c = self.cards.get(ref) or self.cards.get(self._short_links.get(ref, ""))
        if c is None:
            raise not_found()
        return c

    def member(self, ref: str) -> Member:
        """A member by id or username (404 when unknown)."""
        m = self.members.get(ref)
        if m is None:
            m = next((x for x in self.members.values() if x.username == ref), None)
        if m is None:
            raise not_found()
        return m

    def cards_on_board(self, board_id: str) -> Iterator[Card]:
        """Cards now on the board, archived ones and those in archived lists included."""
        return (c for c in self.cards.values() if c.id_board == board_id)

    def card_ids_on_board(self, board_id: str) -> Sequence[str]:
        """The ids of the cards now on the board (as ``cards_on_board``), ascending: id order,
        which is creation order. Kept as cards are created, moved and deleted, so a page of the
        board's card listing costs what it returns, not the size of the board. Read-only; valid
        until the world changes."""
        return self._card_ids.get(board_id, ())

    def _index_card(self, card: Card) -> None:
        insort(self._card_ids.setdefault(card.id_board, []), card.id)

    def _unindex_card(self, card: Card) -> None:
        ids = self._card_ids[card.id_board]
        i = bisect_left(ids, card.id)
        assert ids[i] == card.id, "the board's card index lost a card"
        del ids[i]

    def _move_card_to(self, card: Card, board_id: str) -> None:
        """Set a card's board, and the boards' card indexes with it."""
        self._unindex_card(card)
        card.id_board = board_id
        self._index_card(card)

    def lists_on_board(self, board_id: str) -> list[TrelloList]:
        """Lists now on the board, in position order."""
        return sorted(
            (x for x in self.lists.values() if x.id_board == board_id), key=lambda x: x.pos
        )

    def card_actions(self, card_id: str) -> list[Action]:
        """What ``GET /cards/{id}/actions`` can see, oldest first.

        TRELLO-955 (notes §1.4): after a card moves to another board, its action feed no longer
        returns its earlier actions. The sandbox's reading: only actions logged on the card's
        current board are visible through the card.
        """
        card = self.cards.get(card_id) or self.deleted_cards.get(card_id)
        feed = self.card_feed.get(card_id, [])
        if card is None:
            return feed
        return [a for a in feed if a.id_board == card.id_board]

    # ------------------------------------------------------------------------ the action log

    def _log(
        self,
        type_: str,
        at: datetime,
        by: str,
        board: Board,
        data: JSON,
        *,
        card: Card | None = None,
        member: str | None = None,
        app: App | None = None,
    ) -> Action:
        """Append an action to the log. ``app``: an automation made it (on ``by``'s behalf);
        otherwise ``automation_share`` decides."""
        if (
            app is None
            and self.automation_share > 0
            and self._automation_rng.random() < self.automation_share
        ):
            app = AUTOMATION
        action = Action(
            id=self.ids.object_id(at),
            type=type_,
            date=at,
            id_member_creator=by,
            id_board=board.id,
            id_card=card.id if card else None,
            data=data,
            id_member=member,
            app=app,
        )
        self.actions.append(action)
        self.actions_by_id[action.id] = action
        self.board_feed.setdefault(board.id, []).append(action)
        if card is not None:
            self.card_feed.setdefault(card.id, []).append(action)
            card.date_last_activity = at
        return action

    # ------------------------------------------------------------------------------ creation

    def add_member(self, username: str, full_name: str, at: datetime | None = None) -> Member:
        """Create an account."""
        t = at or self.clock()
        initials = "".join(part[0] for part in full_name.split()[:2]).upper() or "?"
        m = Member(
            id=self.ids.object_id(t),
            username=username,
            full_name=full_name,
            initials=initials,
            avatar_hash=self.ids.hex(32),
        )
        self.members[m.id] = m
        return m

    def add_credentials(self, member_id: str) -> tuple[str, str]:
        """Issue an API key and a token for a member; returns ``(key, token)``."""
        key = self.ids.hex(32)
        token = "ATTA" + self.ids.hex(60)
        self.api_keys.add(key)
        self.tokens[token] = member_id
        return key, token

    def add_read_only_token(self, member_id: str, token: str) -> None:
        """Issue ``token`` for a member without write access (``read_only_tokens``)."""
        self.tokens[token] = member_id
        self.read_only_tokens.add(token)

    def add_organization(self, name: str, display_name: str, at: datetime) -> Organization:
        """Create a workspace."""
        org = Organization(id=self.ids.object_id(at), name=name, display_name=display_name)
        self.organizations[org.id] = org
        return org

    def create_board(
        self, name: str, by: str, at: datetime | None = None, organization: str | None = None
    ) -> Board:
        """Create a board with ``by`` as its admin; logs ``createBoard``."""
        t = self._tick(at)
        board = Board(
            id=self.ids.object_id(t),
            name=name,
            short_link=self.ids.short_link(),
            id_organization=organization,
            created=t,
        )
        self.boards[board.id] = board
        self._short_links[board.short_link] = board.id
        board.memberships[by] = Membership(self.ids.object_id(t), by, "admin")
        self._log("createBoard", t, by, board, {"board": board.ref()})
        return board

    def create_list(
        self, board_id: str, name: str, by: str, at: datetime | None = None
    ) -> TrelloList:
        """Create a list at the end of a board; logs ``createList``."""
        board = self.board(board_id)
        t = self._tick(at)
        pos = max((x.pos for x in self.lists_on_board(board.id)), default=0.0) + 65536
        lst = TrelloList(id=self.ids.object_id(t), name=name, id_board=board.id, pos=pos)
        self.lists[lst.id] = lst
        self._log("createList", t, by, board, {"board": board.ref(), "list": lst.ref()})
        return lst

    def create_card(
        self,
        list_id: str,
        name: str,
        by: str,
        at: datetime | None = None,
        *,
        desc: str = "",
        due: str | None = None,
    ) -> Card:
        """Create a card at the bottom of a list; logs ``createCard`` (which holds no
        description or due date, as Trello's does not: ``POST /cards`` takes both)."""
        lst = self._list(list_id)
        board = self.boards[lst.id_board]
        t = self._tick(at)
        id_short = self._id_short[board.id] = self._id_short.get(board.id, 0) + 1
        card = Card(
            id=self.ids.object_id(t),
            name=name,
            id_short=id_short,
            short_link=self.ids.short_link(),
            id_board=board.id,
            id_list=lst.id,
            pos=65536.0 * id_short,
            date_last_activity=t,
            desc=desc,
            due=due,
            boards_seen=[board.id],
        )
        self.cards[card.id] = card
        self._index_card(card)
        self._short_links[card.short_link] = card.id
        self._log(
            "createCard",
            t,
            by,
            board,
            {"board": board.ref(), "list": lst.ref(), "card": card.ref()},
            card=card,
        )
        return card

    def _list(self, list_id: str) -> TrelloList:
        lst = self.lists.get(list_id)
        if lst is None:
            raise not_found()
        return lst

    # -------------------------------------------------------------------- board membership

    def add_member_to_board(
        self,
        board_id: str,
        member_id: str,
        by: str,
        member_type: MemberType = "normal",
        at: datetime | None = None,
    ) -> Action | None:
        """``PUT /boards/{id}/members/{idMember}``: add, or change the type of, a board member.

        Logs ``addMemberToBoard`` for a new member; a type change is logged as
        ``makeNormalMemberOfBoard`` (or admin/observer); no change logs nothing. The board's
        only active admin made a normal member or an observer is refused, ``400 cannot change
        the type of the last admin of the board`` (the board would be left without an admin;
        Trello refuses it, its status and text are unconfirmed), and nothing changes.
        """
        board = self.board(board_id)
        if member_id not in self.members:
            raise invalid_object_id()
        existing = board.memberships.get(member_id)
        if existing is not None and not existing.deactivated and not existing.unconfirmed:
            if existing.member_type == member_type:
                return None
            if board.is_only_admin(member_id):
                raise TrelloError(400, LAST_ADMIN_TYPE)
            existing.member_type = member_type
            t = self._tick(at)
            verb = {"admin": "Admin", "normal": "Normal", "observer": "Observer"}[member_type]
            return self._log(
                f"make{verb}MemberOfBoard",
                t,
                by,
                board,
                {"board": board.ref(), "idMember": member_id},
                member=member_id,
            )
        t = self._tick(at)
        board.memberships[member_id] = Membership(self.ids.object_id(t), member_id, member_type)
        return self._log(
            "addMemberToBoard",
            t,
            by,
            board,
            {"board": board.ref(), "idMemberAdded": member_id, "memberType": member_type},
            member=member_id,
        )

    def remove_member_from_board(
        self, board_id: str, member_id: str, by: str, at: datetime | None = None
    ) -> Action:
        """``DELETE /boards/{id}/members/{idMember}``: logs ``removeMemberFromBoard``.

        ``data`` is ``{board, idMember, deactivated}`` and the top-level ``member`` is the removed
        member (trello-api-notes.md §2.3). Trello takes a member who leaves a board off its
        cards too; the sandbox does that, logging one ``removeMemberFromCard`` per card (by the
        remover, just after the board action: whether Trello logs these is unconfirmed).

        Refused (the sandbox's choices, Trello's answers are unconfirmed) with ``400 member is
        not on the board`` when there is no membership, and ``400 cannot remove the last admin
        of the board`` when it would leave the board without an active admin.
        """
        board = self.board(board_id)
        ms = board.memberships.get(member_id)
        if ms is None:
            raise TrelloError(400, NOT_ON_BOARD)
        if board.is_only_admin(member_id):
            raise TrelloError(400, LAST_ADMIN)
        t = self._tick(at)
        del board.memberships[member_id]
        action = self._log(
            "removeMemberFromBoard",
            t,
            by,
            board,
            {"board": board.ref(), "idMember": member_id, "deactivated": ms.deactivated},
            member=member_id,
        )
        for card in sorted(self.cards_on_board(board.id), key=lambda c: c.id):
            if member_id not in card.id_members:
                continue
            u = self._tick(t)
            card.id_members.remove(member_id)
            removal = self._log(
                "removeMemberFromCard",
                u,
                by,
                board,
                self._removal_data(card, board, member_id, ms.deactivated),
                card=card,
                member=member_id,
            )
            self.ledger.append(
                MemberEvent(
                    u,
                    card.id,
                    member_id,
                    "remove",
                    by,
                    True,
                    removal.id,
                    "manual",
                    None,
                    ms.deactivated,
                )
            )
        return action

    def deactivate_member(self, member_id: str, organization_id: str) -> None:
        """Deactivate a member in a workspace: every membership on its boards says so."""
        for board in self.boards.values():
            if board.id_organization == organization_id and member_id in board.memberships:
                board.memberships[member_id].deactivated = True

    # --------------------------------------------------------------------- card membership

    def add_member_to_card(
        self, card_id: str, member_id: str, by: str, at: datetime | None = None
    ) -> Action:
        """``POST /cards/{id}/idMembers``: logs ``addMemberToCard``.

        Refused with ``400 member is already on the card`` for a duplicate, and (the sandbox's
        choice where Trello's answer is unconfirmed, notes §3.1) with ``400 Invalid objectId`` for
        a member who is not an active member of the card's board.
        """
        card = self.card(card_id)
        if member_id not in self.members:
            raise invalid_object_id()
        if member_id in card.id_members:
            raise TrelloError(400, ALREADY_ON_CARD)
        board = self.boards[card.id_board]
        if not board.is_active_member(member_id):
            raise invalid_object_id()
        t = self._tick(at)
        card.id_members.append(member_id)
        action = self._log(
            "addMemberToCard",
            t,
            by,
            board,
            {
                "idMember": member_id,
                "card": card.ref(),
                "board": board.ref(),
                "member": self.members[member_id].ref(),
            },
            card=card,
            member=member_id,
        )
        self.ledger.append(MemberEvent(t, card.id, member_id, "add", by, True, action.id, "manual"))
        return action

    def remove_member_from_card(
        self, card_id: str, member_id: str, by: str, at: datetime | None = None
    ) -> Action:
        """``DELETE /cards/{id}/idMembers/{idMember}``: logs ``removeMemberFromCard``."""
        card = self.card(card_id)
        if member_id not in card.id_members:
            raise TrelloError(400, NOT_ON_CARD)
        board = self.boards[card.id_board]
        t = self._tick(at)
        card.id_members.remove(member_id)
        deactivated = self._is_deactivated(member_id, board)
        action = self._log(
            "removeMemberFromCard",
            t,
            by,
            board,
            self._removal_data(card, board, member_id, deactivated),
            card=card,
            member=member_id,
        )
        self.ledger.append(
            MemberEvent(
                t, card.id, member_id, "remove", by, True, action.id, "manual", None, deactivated
            )
        )
        return action

    def set_card_members(
        self, card_id: str, member_ids: list[str], by: str, at: datetime | None = None
    ) -> None:
        """``PUT /cards/{id}`` with ``idMembers``: replaces the set, one add/remove action each.

        Whether Trello logs actions for this form is unconfirmed (notes §10.4); the sandbox logs
        them so that its ledger and action log agree.
        """
        card = self.card(card_id)
        for mid in member_ids:
            if mid not in self.members:
                raise invalid_object_id()
        for mid in [m for m in card.id_members if m not in member_ids]:
            self.remove_member_from_card(card.id, mid, by, at)
        for mid in [m for m in member_ids if m not in card.id_members]:
            self.add_member_to_card(card.id, mid, by, at)

    def _removal_data(self, card: Card, board: Board, member_id: str, deactivated: bool) -> JSON:
        return {
            "idMember": member_id,
            "deactivated": deactivated,
            "card": card.ref(),
            "board": board.ref(),
            "member": self.members[member_id].ref(),
        }

    def _is_deactivated(self, member_id: str, *boards: Board) -> bool:
        return any(
            (m := b.memberships.get(member_id)) is not None and m.deactivated for b in boards
        )

    # ------------------------------------------------------------------------- other edits

    def comment(self, card_id: str, text: str, by: str, at: datetime | None = None) -> Action:
        """``commentCard``."""
        card = self.card(card_id)
        board = self.boards[card.id_board]
        t = self._tick(at)
        return self._log(
            "commentCard",
            t,
            by,
            board,
            {
                "list": self.lists[card.id_list].ref(),
                "board": board.ref(),
                "card": self._card_short_ref(card),
                "text": text,
            },
            card=card,
        )

    @staticmethod
    def _card_short_ref(card: Card) -> JSON:
        # Non-member actions carry the card in Trello's older key order.
        return {
            "shortLink": card.short_link,
            "idShort": card.id_short,
            "name": card.name,
            "id": card.id,
        }

    def move_card_to_list(
        self,
        card_id: str,
        list_id: str,
        by: str,
        at: datetime | None = None,
        *,
        pos: str | float | None = None,
        app: App | None = None,
    ) -> Action:
        """Move a card between lists of its board: ``updateCard`` with ``old.idList``,
        ``listBefore``/``listAfter`` and the new ``card.idList``.

        ``pos`` places it in the new list (``top``, ``bottom`` or a number, see ``position``); the
        card keeps its position number without it. Moving a card to the list it is in is refused
        (``400 invalid value for idList``: the sandbox's choice, as that move would change
        nothing to log).
        """
        card = self.card(card_id)
        dst = self._list(list_id)
        if dst.id_board != card.id_board or dst.id == card.id_list:
            raise TrelloError(400, "invalid value for idList")
        new_pos = card.pos if pos is None else self.position(dst.id, pos, card)
        src = self.lists[card.id_list]
        board = self.boards[card.id_board]
        t = self._tick(at)
        card.id_list = dst.id
        card.pos = new_pos
        ref = self._card_short_ref(card) | {"idList": dst.id}
        action = self._log(
            "updateCard",
            t,
            by,
            board,
            {
                "listAfter": dst.ref(),
                "listBefore": src.ref(),
                "board": board.ref(),
                "card": ref,
                "old": {"idList": src.id},
            },
            card=card,
            app=app,
        )
        self._field_event(action, "card", card.id, "idList", src.id, dst.id)
        return action

    def position(self, list_id: str, pos: str | float, card: Card | None = None) -> float:
        """A card position in a list: ``top``, ``bottom`` (around the list's other cards) or a
        positive number (``400 invalid value for pos`` otherwise)."""
        others = [c.pos for c in self.cards.values() if c.id_list == list_id and c is not card]
        return _place(others, pos)

    def set_card_pos(
        self, card_id: str, pos: str | float, by: str, at: datetime | None = None
    ) -> Action | None:
        """Move a card within its list: ``updateCard`` with ``old.pos`` (nothing when unchanged)."""
        card = self.card(card_id)
        new = self.position(card.id_list, pos, card)
        if new == card.pos:
            return None
        board = self.boards[card.id_board]
        t = self._tick(at)
        old, card.pos = card.pos, new
        return self._log(
            "updateCard",
            t,
            by,
            board,
            {
                "list": self.lists[card.id_list].ref(),
                "board": board.ref(),
                "card": self._card_short_ref(card) | {"pos": _json_pos(new)},
                "old": {"pos": _json_pos(old)},
            },
            card=card,
        )

    def set_card_closed(
        self,
        card_id: str,
        closed: bool,
        by: str,
        at: datetime | None = None,
        *,
        app: App | None = None,
    ) -> Action | None:
        """Archive or unarchive a card: ``updateCard`` with ``old.closed`` (nothing when the card
        already is so)."""
        card = self.card(card_id)
        if card.closed == closed:
            return None
        return self._update_card(card, "closed", closed, by, at, app)

    def set_card_field(
        self,
        card_id: str,
        name: str,
        value: FieldValue,
        by: str,
        at: datetime | None = None,
        *,
        app: App | None = None,
    ) -> Action | None:
        """Set one of ``CARD_VALUE_FIELDS`` (``PUT /cards/{id}`` with that field): ``updateCard``
        with ``old.<field>`` and the new value in ``data.card``; nothing when it is unchanged.

        ``400 invalid value for <field>`` for a value of the wrong type, an empty name or a
        description longer than ``MAX_DESC``. Dates are stored as given: the HTTP layer turns
        what a client sends into Trello's ISO text first.
        """
        card = self.card(card_id)
        check_card_value(name, value)
        if getattr(card, _CARD_ATTR[name]) == value:
            return None
        return self._update_card(card, name, value, by, at, app)

    def _update_card(
        self,
        card: Card,
        name: str,
        value: FieldValue,
        by: str,
        at: datetime | None,
        app: App | None,
    ) -> Action:
        """Change ``closed`` or a ``CARD_VALUE_FIELDS`` field and log it (notes §13.8 shape:
        ``list``, ``board``, ``card`` with the new value, ``old`` with the old one)."""
        board = self.boards[card.id_board]
        t = self._tick(at)
        attr = "closed" if name == "closed" else _CARD_ATTR[name]
        old = getattr(card, attr)
        setattr(card, attr, value)
        action = self._log(
            "updateCard",
            t,
            by,
            board,
            {
                "list": self.lists[card.id_list].ref(),
                "board": board.ref(),
                "card": self._card_short_ref(card) | {name: value},
                "old": {name: old},
            },
            card=card,
            app=app,
        )
        self._field_event(action, "card", card.id, name, old, value)
        return action

    def set_list_closed(
        self,
        list_id: str,
        closed: bool,
        by: str,
        at: datetime | None = None,
        *,
        app: App | None = None,
    ) -> Action | None:
        """Archive or unarchive a list: ``updateList`` with ``old.closed``.

        Like Trello, cards in an archived list keep ``closed: false`` (py-trello #354).
        """
        lst = self._list(list_id)
        if lst.closed == closed:
            return None
        board = self.boards[lst.id_board]
        t = self._tick(at)
        lst.closed = closed
        action = self._log(
            "updateList",
            t,
            by,
            board,
            {
                "board": board.ref(),
                "list": lst.ref() | {"closed": closed},
                "old": {"closed": not closed},
            },
            app=app,
        )
        self._field_event(action, "list", lst.id, "closed", not closed, closed)
        return action

    def set_board_closed(
        self, board_id: str, closed: bool, by: str, at: datetime | None = None
    ) -> Action | None:
        """Close (archive) or reopen a board (``PUT /boards/{id}?closed=``): ``updateBoard``
        with ``data.board.closed`` and ``data.old.closed``; nothing when unchanged. Its lists
        and cards keep their own ``closed`` (a closed board's cards stay readable)."""
        board = self.boards[board_id]
        if board.closed == closed:
            return None
        t = self._tick(at)
        board.closed = closed
        return self._log(
            "updateBoard",
            t,
            by,
            board,
            {"board": board.ref() | {"closed": closed}, "old": {"closed": not closed}},
        )

    def set_list_name(
        self, list_id: str, name: str, by: str, at: datetime | None = None
    ) -> Action | None:
        """Rename a list (``PUT /lists/{id}?name=``): ``updateList`` with ``data.list`` holding
        the new name and ``data.old.name`` the old one, as Trello logs it (trello-api-notes.md
        §13.8; a real sample in ``fixtures/trello-real/``); nothing when unchanged. ``400
        invalid value for name`` for an empty name. Not in the ``field_ledger``: the tool
        restores a list's ``closed`` only (design.md §10.1)."""
        lst = self._list(list_id)
        if not name:
            raise TrelloError(400, "invalid value for name")
        if name == lst.name:
            return None
        board = self.boards[lst.id_board]
        t = self._tick(at)
        old, lst.name = lst.name, name
        return self._log(
            "updateList",
            t,
            by,
            board,
            {"board": board.ref(), "list": lst.ref(), "old": {"name": old}},
        )

    def list_position(self, list_id: str, pos: str | float) -> float:
        """A list's position on its board: ``top``, ``bottom`` (around the board's other lists)
        or a positive number (``400 invalid value for pos`` otherwise)."""
        lst = self._list(list_id)
        others = [x.pos for x in self.lists_on_board(lst.id_board) if x is not lst]
        return _place(others, pos)

    def set_list_pos(
        self, list_id: str, pos: str | float, by: str, at: datetime | None = None
    ) -> Action | None:
        """Move a list on its board (``PUT /lists/{id}?pos=``): ``updateList`` with
        ``data.list.pos`` and ``data.old.pos``, as in Trello's samples; nothing when unchanged.
        Not in the ``field_ledger`` (not a value the tool restores)."""
        lst = self._list(list_id)
        new = self.list_position(list_id, pos)
        if new == lst.pos:
            return None
        board = self.boards[lst.id_board]
        t = self._tick(at)
        old, lst.pos = lst.pos, new
        return self._log(
            "updateList",
            t,
            by,
            board,
            {
                "board": board.ref(),
                "list": lst.ref() | {"pos": _json_pos(new)},
                "old": {"pos": _json_pos(old)},
            },
        )

    def archive_all_cards(
        self, list_id: str, by: str, at: datetime | None = None, *, app: App | None = None
    ) -> list[Action]:
        """``POST /lists/{id}/archiveAllCards``: archive every open card of the list, in position
        order, logging one ``updateCard`` with ``old.closed`` per card.

        How Trello logs this bulk route is unconfirmed (no public capture); the sandbox's choice
        is what archiving each card by hand logs, so a restore reads the same evidence either way.
        """
        lst = self._list(list_id)
        cards = sorted(
            (c for c in self.cards.values() if c.id_list == lst.id and not c.closed),
            key=lambda c: c.pos,
        )
        out: list[Action] = []
        for card in cards:
            action = self.set_card_closed(card.id, True, by, at, app=app)
            assert action is not None  # the card was open
            out.append(action)
        return out

    def move_all_cards(
        self,
        list_id: str,
        board_id: str,
        dst_list_id: str,
        by: str,
        at: datetime | None = None,
    ) -> list[Action]:
        """``POST /lists/{id}/moveAllCards`` with ``idBoard``/``idList``: move every open card of
        the list, in position order, to the bottom of another list, one action per card.

        On the same board each card logs ``updateCard`` with ``old.idList`` (as a move by hand
        does); to another board each moves as ``move_card_to_board`` does, the incident's side
        effect included. Archived cards stay (the sandbox's choice: Trello's menu item acts on
        the open cards it shows; its logging of this route is unconfirmed too). ``400 invalid
        value for idList`` when the destination is not on ``board_id`` or is the list itself.
        """
        lst = self._list(list_id)
        dst_board = self.board(board_id)
        dst = self._list(dst_list_id)
        if dst.id_board != dst_board.id or dst.id == lst.id:
            raise TrelloError(400, "invalid value for idList")
        cards = sorted(
            (c for c in self.cards.values() if c.id_list == lst.id and not c.closed),
            key=lambda c: c.pos,
        )
        out: list[Action] = []
        for card in cards:
            if dst_board.id == card.id_board:
                out.append(self.move_card_to_list(card.id, dst.id, by, at, pos="bottom"))
            else:
                moved = self.move_card_to_board(card.id, dst_board.id, dst.id, by, at)
                card.pos = self.position(dst.id, "bottom", card)
                out.append(moved.to_action)
        return out

    def _field_event(
        self,
        action: Action,
        object_type: Literal["card", "list"],
        object_id: str,
        name: str,
        old: FieldValue,
        new: FieldValue,
    ) -> None:
        self.field_ledger.append(
            FieldEvent(
                action.date,
                object_type,
                object_id,
                action.id_board,
                name,
                old,
                new,
                action.id_member_creator,
                action.id,
                action.app.shown if action.app is not None else "",
            )
        )

    def delete_card(self, card_id: str, by: str, at: datetime | None = None) -> Action:
        """``DELETE /cards/{id}``: logs ``deleteCard`` (no card name). Earlier actions stay."""
        card = self.card(card_id)
        board = self.boards[card.id_board]
        t = self._tick(at)
        self._unindex_card(card)
        del self.cards[card.id]
        self.deleted_cards[card.id] = card
        action = self._log(
            "deleteCard",
            t,
            by,
            board,
            {
                "board": board.ref(),
                "list": self.lists[card.id_list].ref(),
                "card": {"idShort": card.id_short, "id": card.id},
            },
        )
        self.deletions[card.id] = (action.id, by, t)
        return action

    # ---------------------------------------------------------------------------- the incident

    def move_list_to_board(
        self, list_id: str, board_id: str, by: str, at: datetime | None = None
    ) -> MoveResult:
        """``PUT /lists/{id}/idBoard``: move a whole list, with the incident's side effect.

        Logs ``moveListFromBoard`` on the source and ``moveListToBoard`` on the destination (same
        date, as in Trello), no per-card move actions, then strips every card member who is not
        an active member of the destination board.
        """
        lst = self._list(list_id)
        src = self.boards[lst.id_board]
        dst = self.board(board_id)
        if dst.id == src.id:
            raise TrelloError(400, "invalid value for idBoard")
        t = self._tick(at)
        mover = self.members[by].ref()
        from_action = self._log(
            "moveListFromBoard",
            t,
            by,
            src,
            {
                "member": mover,
                "boardTarget": {"name": dst.name, "id": dst.id},
                "board": src.ref(),
                "list": lst.ref(),
            },
        )
        to_action = self._log(
            "moveListToBoard",
            t,
            by,
            dst,
            {
                "member": mover,
                "board": dst.ref(),
                "boardSource": {"name": src.name, "id": src.id},
                "list": lst.ref(),
            },
        )
        lst.id_board = dst.id
        lst.pos = (
            max((x.pos for x in self.lists_on_board(dst.id) if x is not lst), default=0) + 65536
        )
        cards = sorted((c for c in self.cards.values() if c.id_list == lst.id), key=lambda c: c.pos)
        for card in cards:
            self._move_card_to(card, dst.id)
            card.boards_seen.append(dst.id)
        self.board_moves.append(
            BoardMove(
                t,
                "list",
                lst.id,
                src.id,
                dst.id,
                by,
                from_action.id,
                to_action.id,
                tuple(c.id for c in cards),
            )
        )
        removals = self._strip_non_members(cards, src, dst, by, t, to_action)
        return MoveResult(from_action, to_action, tuple(c.id for c in cards), removals)

    def move_card_to_board(
        self, card_id: str, board_id: str, list_id: str, by: str, at: datetime | None = None
    ) -> MoveResult:
        """``PUT /cards/{id}`` with ``idBoard``/``idList``: one card, same side effect."""
        card = self.card(card_id)
        src = self.boards[card.id_board]
        dst = self.board(board_id)
        dst_list = self._list(list_id)
        if dst_list.id_board != dst.id:
            raise TrelloError(400, "invalid value for idList")
        if dst.id == src.id:
            return MoveResult(*self._same_board_move(card, dst_list, by, at))
        src_list = self.lists[card.id_list]
        t = self._tick(at)
        from_action = self._log(
            "moveCardFromBoard",
            t,
            by,
            src,
            {
                "member": self.members[by].ref(),
                "list": src_list.ref(),
                "boardTarget": {"name": dst.name, "id": dst.id},
                "board": src.ref(),
                "card": {"name": card.name, "id": card.id},
            },
            card=card,
        )
        self._move_card_to(card, dst.id)
        card.id_list = dst_list.id
        card.boards_seen.append(dst.id)
        to_action = self._log(
            "moveCardToBoard",
            t,
            by,
            dst,
            {
                "list": dst_list.ref(),
                "boardSource": {"name": src.name, "id": src.id},
                "board": dst.ref(),
                "card": self._card_short_ref(card),
            },
            card=card,
        )
        self._field_event(from_action, "card", card.id, "idList", src_list.id, None)
        self._field_event(to_action, "card", card.id, "idList", None, dst_list.id)
        self.board_moves.append(
            BoardMove(t, "card", card.id, src.id, dst.id, by, from_action.id, to_action.id)
        )
        removals = self._strip_non_members([card], src, dst, by, t, to_action)
        return MoveResult(from_action, to_action, (card.id,), removals)

    def _same_board_move(
        self, card: Card, dst_list: TrelloList, by: str, at: datetime | None
    ) -> tuple[Action, Action, tuple[str, ...], tuple[MemberEvent, ...]]:
        action = self.move_card_to_list(card.id, dst_list.id, by, at)
        return action, action, (card.id,), ()

    def _strip_non_members(
        self,
        cards: list[Card],
        src: Board,
        dst: Board,
        by: str,
        at: datetime,
        move_action: Action,
    ) -> tuple[MemberEvent, ...]:
        pairs = [(c, m) for c in cards for m in c.id_members if not dst.is_active_member(m)]
        affected = list(dict.fromkeys(c.id for c, _ in pairs))
        unlogged = {cid for cid in affected if self.rng.random() < self.unlogged_share}
        log_board = dst if self.incident_log_board == "target" else src
        events: list[MemberEvent] = []
        for k, (card, mid) in enumerate(pairs):
            # Spread the removals over the second after the move, in order.
            t = self._tick(at + timedelta(milliseconds=1 + (k * 998) // max(len(pairs), 1)))
            card.id_members.remove(mid)
            deactivated = self._is_deactivated(mid, src)
            action_id: str | None = None
            if card.id not in unlogged:
                action = self._log(
                    "removeMemberFromCard",
                    t,
                    by,
                    log_board,
                    self._removal_data(card, log_board, mid, deactivated),
                    card=card,
                    member=mid,
                )
                action_id = action.id
            events.append(
                MemberEvent(
                    t,
                    card.id,
                    mid,
                    "remove",
                    by,
                    card.id not in unlogged,
                    action_id,
                    "move",
                    move_action.id,
                    deactivated,
                )
            )
        self.ledger.extend(events)
        return tuple(events)
