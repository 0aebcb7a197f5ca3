"""Values that flow between the stages: parsed history, current state, options, and the plan.

All are frozen dataclasses built from plain data; none does I/O.
"""

from __future__ import annotations

import unicodedata
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Literal

from trello_restore import defaults
from trello_restore.parsing import escaped_at

Mode = Literal["removed", "ever-added"]
EvidenceKind = Literal["recorded_removal", "reconstructed", "ever_added", "field_update"]
SkipReason = Literal[
    "card_deleted",
    "already_on_card",
    "re_added_later",
    "removed_again_later",
    "filtered",
    "deactivated",
    "outside_window",
]
#: When several skip reasons apply, the first in this order is recorded (design.md §3).
SKIP_ORDER: tuple[SkipReason, ...] = (
    "card_deleted",
    "already_on_card",
    "re_added_later",
    "removed_again_later",
    "filtered",
    "deactivated",
    "outside_window",
)
#: Seconds within which a removal by the mover "coincides" with a move (design.md §3).
MOVE_WINDOW_SECONDS = 60


@dataclass(frozen=True, order=True, slots=True)
class MemberRef:
    """A member as far as actions and memberships tell: no ``/1/members/{id}`` lookup."""

    id: str
    #: Username, when some action or membership listing carried it ("" when unknown).
    username: str = ""
    #: Display name, when known.
    full_name: str = ""


@dataclass(frozen=True, slots=True)
class MemberAction:
    """An ``addMemberToCard`` or ``removeMemberFromCard`` action."""

    #: The action id (24 hex).
    id: str
    kind: Literal["add", "remove"]
    date: datetime
    card_id: str
    member_id: str
    #: Who performed it (``idMemberCreator``).
    by: str
    #: The board whose feed holds it (``data.board.id``).
    board_id: str
    #: ``data.deactivated`` on removals.
    deactivated: bool = False
    #: The app (an automation such as Butler) that made it on ``by``'s behalf, from the
    #: action's ``appCreator``; "" for an action a person made.
    app: str = ""


@dataclass(frozen=True, slots=True)
class MoveAction:
    """A move of a card or a list between boards (``moveCard*``/``moveList*``)."""

    id: str
    type: str
    date: datetime
    by: str
    #: The moved card (card moves) or list (list moves).
    card_id: str | None
    list_id: str | None
    source_board_id: str
    target_board_id: str
    #: The other board's name as the action gives it (``boardSource``/``boardTarget``), "" when
    #: it gives none: a board this account cannot read is named by it.
    other_board_name: str = ""

    def other_board(self) -> str:
        """The board the card or list came from (``*ToBoard``) or went to (``*FromBoard``)."""
        return self.source_board_id if "ToBoard" in self.type else self.target_board_id


#: What ``--restore`` can restore (design.md §10.1); ``members`` is the default.
#: A card or list field's value as Trello's JSON has it: text (name, desc, idList, ISO dates),
#: a flag (closed, dueComplete), or null (no due or start date).
FieldValue = str | bool | None
RestoreKind = Literal["members", "archived", "list", "fields"]
RESTORE_KINDS: tuple[RestoreKind, ...] = ("members", "archived", "list", "fields")
#: The card or list fields each restore kind reverts (design.md §10.1), as Trello names them
#: in ``data.old`` and in the card/list JSON.
KIND_FIELDS: dict[RestoreKind, tuple[str, ...]] = {
    "members": (),
    "archived": ("closed",),
    "list": ("idList",),
    "fields": ("name", "desc", "due", "dueComplete", "start"),
}
#: The JSON types each field's values may have, in the history and in a journal's records
#: (``due``/``start``: a date's text, or null).
FIELD_TYPES: dict[str, tuple[type, ...]] = {
    "closed": (bool,),
    "dueComplete": (bool,),
    "idList": (str,),
    "name": (str,),
    "desc": (str,),
    "due": (str, type(None)),
    "start": (str, type(None)),
}
#: Skip reasons of the value kinds (design.md §10.2), first in this order wins.
VALUE_SKIP_ORDER: tuple[str, ...] = (
    "object_deleted",
    "already_restored",
    #: A card move whose target list is not on the card's board now (a move back across boards
    #: is out of scope, design.md §10.1).
    "other_board",
    "changed_by_others",
    "filtered",
    "outside_window",
)


@dataclass(frozen=True, slots=True)
class FieldUpdate:
    """One field changed by an ``updateCard`` or ``updateList`` action that carries its old
    value in ``data.old`` (design.md §10.1). One action that changed two fields gives two."""

    #: The action id.
    id: str
    date: datetime
    object_type: Literal["card", "list"]
    #: The card's or list's id.
    object_id: str
    #: The board whose feed holds it.
    board_id: str
    #: Trello's field name: ``closed``, ``idList``, ``name``, ``desc``, ``due``,
    #: ``dueComplete``, ``start``.
    field: str
    #: ``data.old[field]`` and the value after the change (``data.card``/``data.list``).
    old: FieldValue
    new: FieldValue
    #: Who performed it (``idMemberCreator``; for an automation, the member it acts for).
    by: str
    #: The app that performed it (``appCreator.name``), "" for a person.
    app: str = ""


@dataclass(frozen=True, slots=True)
class CardInfo:
    """Names and places of a card as the actions describe it (for deleted or unseen cards)."""

    id: str
    name: str = ""
    short_link: str = ""
    board_id: str = ""
    list_id: str = ""


@dataclass(frozen=True, slots=True)
class History:
    """What the action log says, parsed and de-duplicated."""

    member_actions: tuple[MemberAction, ...]
    moves: tuple[MoveAction, ...]
    #: Card id -> the ``deleteCard`` action id.
    deleted_cards: dict[str, str]
    #: (date, card id, list id): where a card went (creation, copy, moves between lists).
    card_lists: tuple[tuple[datetime, str, str], ...]
    #: Cards named by the actions.
    cards: dict[str, CardInfo]
    #: Members named by the actions.
    members: dict[str, MemberRef]
    #: Date of the oldest action seen per board feed, and whether the feed is known complete.
    oldest: dict[str, datetime] = field(default_factory=dict)
    #: Field changes with their old values (``updateCard``/``updateList``, design.md §10).
    field_updates: tuple[FieldUpdate, ...] = ()
    #: Card id -> when and by whom its ``deleteCard`` action says it was deleted (``by`` is
    #: ``idMemberCreator``); the action's id is in ``deleted_cards``.
    deleted_when: dict[str, tuple[datetime, str]] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class CardState:
    """A card now (``GET /boards/{id}/cards/all``)."""

    id: str
    name: str
    short_link: str
    board_id: str
    list_id: str
    closed: bool
    member_ids: tuple[str, ...]
    #: The fields the value kinds restore (design.md §10.1); dates as Trello's ISO text.
    desc: str = ""
    due: str | None = None
    due_complete: bool = False
    start: str | None = None


@dataclass(frozen=True, slots=True)
class Membership:
    """A board membership now."""

    member_id: str
    member_type: str
    deactivated: bool = False
    unconfirmed: bool = False

    @property
    def active(self) -> bool:
        """Counts as a board member for card membership."""
        return not self.deactivated and not self.unconfirmed


@dataclass(frozen=True, slots=True)
class BoardState:
    """A board now: its name, lists and memberships."""

    id: str
    name: str
    memberships: dict[str, Membership]
    #: List id -> list name.
    lists: dict[str, str] = field(default_factory=dict)
    #: List id -> whether the list is archived (lists absent here are open).
    list_closed: dict[str, bool] = field(default_factory=dict)
    #: Whether the board is closed (archived): a plan says so (R47d).
    closed: bool = False


@dataclass(frozen=True, slots=True)
class State:
    """Current state of the boards in scope."""

    boards: dict[str, BoardState]
    cards: dict[str, CardState]


@dataclass(frozen=True, slots=True)
class PlanOptions:
    """What to restore (design.md §3). ``since`` is inclusive, ``until`` exclusive."""

    since: datetime
    until: datetime | None = None
    mode: Mode = defaults.MODE
    #: Member id or username: keep only recorded removals performed by this member.
    removed_by: str | None = None
    #: ``"move"``: keep only recorded removals that came with a move of the card or its list.
    cause: Literal["move"] | None = None
    only_recorded: bool = False
    add_to_board: bool = False
    board_role: Literal["normal", "observer"] = defaults.BOARD_ROLE
    #: Only cards now in these lists (ids or names) / only these cards (ids or shortLinks).
    lists: frozenset[str] | None = None
    cards: frozenset[str] | None = None
    #: What to restore (design.md §10): ``members`` and/or the value kinds.
    restore: frozenset[RestoreKind] = frozenset({"members"})
    #: Member id or username: keep only changes made by this member, for every kind
    #: (``--by``; ``removed_by`` is the members-only spelling).
    by: str | None = None


@dataclass(frozen=True, slots=True)
class Evidence:
    """Why a change is planned."""

    kind: EvidenceKind
    #: The removal action (recorded_removal) or the add action (reconstructed, ever_added).
    action_id: str
    date: datetime
    #: Who performed the evidence action.
    by: MemberRef
    #: The move the removal came with, if any.
    move_action_id: str | None = None
    #: The app that performed it on ``by``'s behalf, if an automation did ("" otherwise).
    app: str = ""


@dataclass(frozen=True, slots=True)
class Change:
    """One write: put a member back on a card, or (with ``add_to_board``) on a board.

    ``action`` names the change's kind (``kinds.py``: ``add_member_to_card`` or
    ``add_member_to_board``), which says how it is written, checked, undone and shown."""

    change_id: str
    action: str
    board_id: str
    board_name: str
    member: MemberRef
    list_id: str = ""
    list_name: str = ""
    card_id: str = ""
    card_name: str = ""
    card_short_link: str = ""
    evidence: Evidence | None = None
    #: Only for board changes.
    role: str = ""
    member_on_card: bool = False
    member_on_board: bool = True


#: The change kinds that set a value back (design.md §10.1).
VALUE_ACTIONS = ("set_card_closed", "set_list_closed", "move_card_to_list", "set_card_field")


@dataclass(frozen=True, slots=True)
class ValueChange(Change):
    """Set one field of a card or a list back to the value it had before the damage
    (design.md §10.2). ``action`` is one of ``VALUE_ACTIONS``; ``member`` is unused (the
    author of the damage is ``evidence.by``)."""

    member: MemberRef = MemberRef("")
    object_type: Literal["card", "list"] = "card"
    #: Trello's field name (``closed``, ``idList``, ``name``, ``desc``, ``due``, …).
    field: str = ""
    #: The target: the old value of the earliest selected change.
    value: FieldValue = None
    #: The value the apply expects to find: the last selected change's new value.
    expected: FieldValue = None
    #: Every selected action id, oldest first.
    actions: tuple[str, ...] = ()
    #: The target's name where ``value`` is an id (``move_card_to_list``: the list the card
    #: goes back to), for the text; "" when unknown.
    value_name: str = ""


@dataclass(frozen=True, slots=True)
class Blocked:
    """A change that cannot be made as things stand."""

    change: Change
    reason: Literal["not_board_member"]


@dataclass(frozen=True, slots=True)
class Skipped:
    """A candidate left alone, and why."""

    card_id: str
    card_name: str
    member: MemberRef
    reason: SkipReason
    action_id: str | None


@dataclass(frozen=True, slots=True)
class ValueSkipped:
    """A card or list field left alone (design.md §10.2), and why."""

    object_type: Literal["card", "list"]
    object_id: str
    object_name: str
    board_id: str
    field: str
    #: One of ``VALUE_SKIP_ORDER``.
    reason: str
    #: The earliest selected action, when there is one.
    action_id: str | None
    #: For ``changed_by_others``: who else changed the field, and when.
    others: tuple[tuple[MemberRef, datetime], ...] = ()


@dataclass(frozen=True, slots=True)
class Unrestorable:
    """What the log shows was lost in the window but cannot be brought back (design.md §10.1),
    e.g. a deleted card."""

    object_type: Literal["card", "list"]
    object_id: str
    name: str
    #: What was lost: ``card_deleted``, or (``--restore list``) ``moved_to_other_board`` /
    #: ``moved_from_other_board``: a card or list moved across boards, which is not moved back.
    what: str
    action_id: str
    date: datetime
    by: MemberRef
    #: A move's other board (where it went, or came from): its id and name ("" when unknown).
    other_board_id: str = ""
    other_board_name: str = ""


@dataclass(frozen=True, slots=True)
class Plan:
    """The planner's whole decision: data only."""

    options: PlanOptions
    changes: tuple[Change, ...]
    blocked: tuple[Blocked, ...]
    skipped: tuple[Skipped, ...]
    #: Cards whose history is known to be incomplete (export caps, unreadable boards).
    incomplete: tuple[str, ...] = ()
    #: Value kinds (design.md §10): fields left alone, and what cannot be restored.
    value_skipped: tuple[ValueSkipped, ...] = ()
    unrestorable: tuple[Unrestorable, ...] = ()

    def card_changes(self) -> tuple[Change, ...]:
        """The ``add_member_to_card`` changes."""
        return tuple(c for c in self.changes if c.action == "add_member_to_card")

    def board_changes(self) -> tuple[Change, ...]:
        """The ``add_member_to_board`` changes (ordered first)."""
        return tuple(c for c in self.changes if c.action == "add_member_to_board")


def format_date(when: datetime) -> str:
    """A date as the plan file and the run summary write it: ISO-8601 in UTC with a
    ``Z``; milliseconds (as Trello dates have) or microseconds only when not zero. A naive
    datetime is taken as UTC."""
    when = when.replace(tzinfo=UTC) if when.tzinfo is None else when.astimezone(UTC)
    # Not strftime's %Y: glibc does not pad a year before 1000 to four digits, and
    # ``parse_date`` (fromisoformat) cannot read "999-01-01" back.
    text = f"{when.year:04d}-{when:%m-%dT%H:%M:%S}"
    if when.microsecond % 1000:
        text += f".{when.microsecond:06d}"
    elif when.microsecond:
        text += f".{when.microsecond // 1000:03d}"
    return text + "Z"


def millis(when: datetime) -> str:
    """A date as Trello writes one and reads a cursor: ISO 8601 in UTC, to the millisecond
    (less is cut off), with a ``Z``: ``2026-12-05T02:45:32.123Z``. The journal's, the last-run
    record's and the paging cursors' form."""
    return when.astimezone(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def id_second(object_id: str) -> datetime | None:
    """The second a Trello id was made in (its first 8 hex digits), or None for another id."""
    try:
        return datetime.fromtimestamp(int(object_id[:8], 16), tz=UTC)
    except (ValueError, OverflowError, OSError):
        return None


def parse_date(text: str) -> datetime:
    """The inverse of ``format_date`` (an aware UTC datetime)."""
    return datetime.fromisoformat(text).astimezone(UTC)


def normal_name(name: str) -> str:
    """A board or list name as names are compared: Unicode NFC, since what a user types and
    what Trello stores may compose the same letters differently. Whitespace is kept as is."""
    return unicodedata.normalize("NFC", name)


def quote_name(name: str) -> str:
    """A Trello name for a message: in double quotes, exactly as Trello has it (double spaces
    included), with only control characters and Unicode's line and paragraph separators
    (``\\u2028``, ``\\u2029``: line breaks to ``str.splitlines`` and some viewers) escaped so
    that the message stays one line, and the invisible ones (``escaped_at``) so that it
    cannot pass for another name, and a double quote or a backslash in it escaped so that
    the name's end is plain to see (``"Team \\"01\\""``)."""
    shown = "".join(
        ("\\" + ch if ch in _QUOTED else ch.encode("unicode_escape").decode("ascii"))
        if ch in _QUOTED or escaped_at(name, i)
        else ch
        for i, ch in enumerate(name)
    )
    return f'"{shown}"'


#: What ``quote_name`` escapes with a backslash besides the control characters.
_QUOTED = frozenset('"\\')
