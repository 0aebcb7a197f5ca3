"""The frame every change kind fills in: ``ChangeKind``, the ``Context`` of a precondition,
the ``WriteRule`` of a write, and the outcomes a decider may give besides the journal's."""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Callable, Hashable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, ClassVar, Literal

from trello_restore.models import Change, PlanOptions
from trello_restore.words import shown_json

if TYPE_CHECKING:
    from trello_restore.api import TrelloApi
    from trello_restore.live import LiveBoard, Target
    from trello_restore.models import CardState

#: Outcome of a change a dry run would write.
WOULD_APPLY = "would_apply"
#: Outcome an undo's dry run reports for a change it would reverse.
WOULD_UNDO = "would_undo"
#: Outcome of a change a stopped run never started (nothing sent, nothing journaled).
NOT_ATTEMPTED = "not_attempted"
#: A decision: the final ``(status, why)``, or None when the change needs its write.
Decision = tuple[str, str] | None
#: What ``resolve`` finds about an interrupted write: ``applied``, ``not_applied``, ``drifted``
#: (a value kind's field holds a third value: someone changed it since, whether or not the
#: write took effect, and it is left alone), or None (live state cannot tell), with why.
Resolution = tuple[Literal["applied", "not_applied", "drifted"] | None, str]


def other_card(short_link: str, card: CardState) -> str | None:
    """Why a change is ``drifted`` when the plan names its card (``short_link``, the plan's)
    but the card Trello has under the plan's card id is another one (its shortLink differs),
    or None. A card's shortLink never changes: a difference means the plan was edited by hand
    to another card's id, and the write would go to a card the reviewer never saw (the plan's
    text names the card by the plan's name and link). Not checked: a plan without a
    shortLink."""
    if not short_link or not card.short_link or card.short_link == short_link:
        return None
    return (
        f"the plan names card {short_link}; Trello's card {card.id} is {card.short_link} "
        "(the plan was edited): make a new plan"
    )


@dataclass(frozen=True)
class WriteRule:
    """How to read a write's answers."""

    #: The outcome of a 2xx.
    ok: str
    #: Trello's text for "nothing to do" (``member is already on the card``), or "".
    benign: str = ""
    #: That text answering a retry of this tool's own earlier attempt.
    benign_ours: str = ""
    #: That text answering the first attempt: someone else's doing.
    benign_other: str = ""
    #: A ``pending`` record shows an earlier, killed run sent this write.
    resumed: bool = False
    #: Why the write is ``blocked`` when Trello answers it ``400 Invalid objectId`` (a card
    #: member taken off the card's board while the run wrote), or "": read as any failure.
    invalid: str = ""
    #: Asked just before the write is sent: None to send it, or the outcome and reason that
    #: stand instead (what people changed since the live read: ``recheck.Recheck``).
    recheck: Callable[[], tuple[str, str] | None] | None = field(default=None, compare=False)


@dataclass(frozen=True)
class Context:
    """What a precondition knows besides live state."""

    #: The journal shows an earlier, killed run sent this change's write (``pending``).
    resumed: bool = False
    #: A dry run: nothing is written, and what would be written counts as done.
    dry_run: bool = False
    #: A board the plan touches, as it reads in a message, where the change's member is
    #: deactivated (None when on none).
    deactivated_on: str | None = None
    #: This run's outcome of the change this one ``needs`` (None when the plan has none).
    needed: str | None = None
    #: Why nothing more is sent to the change's board: Trello refused this run a write there
    #: (``Runner.refused_reason``); "" when it did not.
    refused: str = ""


class ChangeKind(ABC):
    """One kind of change. Subclasses set the class attributes and implement the methods."""

    #: The plan's ``action``: names the kind in plan files, journals and outcomes.
    action: ClassVar[str]
    #: Kinds apply in this order, lowest first (each kind's writes all finish before the next
    #: kind starts); undo goes in the reverse order.
    order: ClassVar[int]
    #: Its count in the plan's ``summary`` (``plan_summary``), and how that count reads.
    summary_key: ClassVar[str]
    noun: ClassVar[str]
    #: Its definition's name in the schema's ``$defs``.
    schema_name: ClassVar[str]
    #: Whether the plan may list it under ``blocked`` (a change that cannot be made as things
    #: stand, with a reason).
    blockable: ClassVar[bool] = False
    #: Whether undo reverses it without being asked (``--include-board-memberships``).
    undone_by_default: ClassVar[bool] = True
    #: Plan text: its changes listed one per line (False), or grouped by board, list and card.
    grouped: ClassVar[bool] = False
    #: The plan-file ``format_version`` that introduced it: a plan holding a kind of version 2
    #: is written as version 2 (design.md §10.3); version 1's schema has only version-1 kinds.
    format_version: ClassVar[int] = 1
    #: Its precondition needs the board's lists (``LiveBoard.lists``), read once per board.
    reads_lists: ClassVar[bool] = False
    #: Its precondition needs the cards' value fields (``desc``, ``due``, …: design.md §10),
    #: read with the board's one listing of cards.
    reads_card_fields: ClassVar[bool] = False
    #: Its undo needs a card its board's listing lacks found by id (``live.locate_cards``: one
    #: request per such card), to tell a card moved to another board from a deleted one.
    locates_cards: ClassVar[bool] = False

    # ------------------------------------------------------------------------- plan file

    @abstractmethod
    def to_json(self, c: Change) -> dict[str, Any]:
        """The change as the plan file holds it, keys in the documented order."""

    @abstractmethod
    def from_json(self, d: Mapping[str, Any]) -> Change:
        """The change from a schema-valid plan file entry (``to_json``'s inverse)."""

    @abstractmethod
    def schema(self) -> dict[str, Any]:
        """The JSON Schema of ``to_json``'s output (``$defs`` references allowed)."""

    def needs(self, c: Change) -> Hashable | None:
        """The key of what must be done before this change (see ``provides``), or None."""
        return None

    def provides(self, c: Change) -> Hashable | None:
        """The key of what this change does for changes that ``need`` it, or None."""
        return None

    def plan_problem(self, c: Change, options: PlanOptions, provided: set[Hashable]) -> str | None:
        """What makes this change inconsistent with the plan it is in (a hand edit), as the
        rest of ``$.changes[i] …``, or None; ``provided`` holds what the changes before it
        provide."""
        return None

    # --------------------------------------------------------------------------- journal

    def record_values(self, c: Change, op: str) -> dict[str, Any] | None:
        """What a journal record of this change holds besides ids (``JournalRecord.values``):
        for a kind that sets a value, the value seen before the write and the value written
        (design.md §10.3), or a grant's role (``BoardMembership``); None for a kind whose ids
        say everything."""
        return None

    def from_record(self, c: Change, values: Mapping[str, Any] | None) -> Change:
        """The change an ``apply`` record is about, from the ids in ``c`` (what undo knows
        without the plan) and the record's ``values``."""
        return c

    def record_problem(self, values: dict[str, Any] | None) -> str | None:
        """What keeps a journal record's ``values`` (an object or None) from being this kind's
        (``record_values``'), or None: here none, or the names an apply's record keeps alone
        (``journal_names.record_names``)."""
        return values_problem(values, {}, required=False)

    def target(self, c: Change) -> tuple[Target, tuple[str, ...]] | None:
        """What the change sets, as the boards' action feeds name it, and the feeds' action
        types (``filter`` entries) that change it, for ``touches.py`` to find who set it last;
        None when the feeds cannot tell (a board membership: Trello's feeds do not list
        removals from a board)."""
        return None

    def undo_target(self, c: Change) -> tuple[Target, tuple[str, ...]] | None:
        """``target`` as an undo looks for who set it last since the apply
        (``touches.undo_touches``); by default the same."""
        return self.target(c)

    # ----------------------------------------------------------------------------- apply

    @abstractmethod
    def decide(self, c: Change, live: LiveBoard, ctx: Context) -> Decision:
        """The change's outcome without a write, or None when it needs its write."""

    @abstractmethod
    def write(self, api: TrelloApi, c: Change) -> object:
        """Make the change: one attempt."""

    @abstractmethod
    def write_rule(self, resumed: bool) -> WriteRule:
        """How ``write``'s answers read."""

    # ------------------------------------------------------------------------------ undo

    @abstractmethod
    def decide_undo(self, c: Change, live: LiveBoard, *, resumed: bool) -> Decision:
        """Whether undo must write: None, or the outcome without a write."""

    def decide_undo_after(
        self, c: Change, live: LiveBoard, *, resumed: bool, needers: Sequence[tuple[Change, str]]
    ) -> Decision:
        """``decide_undo``, once the undo has settled the changes that ``need`` what ``c``
        ``provides`` (a kind is undone after the kinds that need it): ``needers`` are those of
        the journal this undo looked at, each with its outcome in this run (``undone``,
        ``would_undo``, ``not_on_card``, ``failed``, …). By default they do not matter."""
        return self.decide_undo(c, live, resumed=resumed)

    @abstractmethod
    def remove(self, api: TrelloApi, c: Change) -> object:
        """Reverse the change: one attempt."""

    @abstractmethod
    def undo_rule(self, resumed: bool) -> WriteRule:
        """How ``remove``'s answers read."""

    @abstractmethod
    def resolve(self, c: Change, live: LiveBoard) -> Resolution:
        """Did an interrupted write of this change (``journal.unresolved``) take effect?"""

    @abstractmethod
    def cannot_tell(self, c: Change, why: str) -> str:
        """The one line for an interrupted write live state cannot resolve (with why), with
        what to check by hand."""

    # ------------------------------------------------------------------------------ text

    @abstractmethod
    def heading(self, would: str, n: int) -> str:
        """The plan's heading over this kind's ``n`` changes (``would``: Would or Will)."""

    @abstractmethod
    def describe(self, c: Change) -> str:
        """What the change does, in the plan's line for it (after its mark)."""

    def evidence(self, c: Change, verbose: bool) -> str:
        """What the change rests on, after ``describe`` ("" when nothing)."""
        return ""

    @abstractmethod
    def label(self, c: Change) -> str:
        """What an outcome line says the change is about, by name."""

    @abstractmethod
    def unnamed(self, member_id: str, board_id: str, card_id: str) -> str:
        """The same by ids, for outcomes without their plan (undo reads only the journal)."""

    def journal_label(self, c: Change) -> str:
        """What an undo's outcome line says the change is about, from its journal record (the
        change ``from_record`` gives: ids, and a value kind's values; no names)."""
        return self.unnamed(c.member.id, c.board_id, c.card_id)

    def live_label(self, c: Change, live: LiveBoard) -> str | None:
        """What an undo's outcome line says the change is about, by the names live state gives
        (a member's, from the board's memberships); None when live state names nothing the
        journal does not (then ``journal_label``)."""
        return None

    def outcome_word(self, status: str) -> str | None:
        """How an outcome of this kind reads in front of its line
        (``report_outcomes.outcome_line``), e.g. ``added`` for ``applied``; None for the report's
        plain words, which are the member kinds' (``added``, ``would add``, ``already there``,
        ``removed``, …)."""
        return None

    def count_word(self, status: str) -> str | None:
        """How a count of outcomes of this kind reads in the summary line
        (``report_outcomes.apply_summary``), e.g. ``removed`` for ``undone``; None for the report's
        plain words, which are the member kinds'."""
        return None


def values_problem(
    values: dict[str, Any] | None, types: Mapping[str, tuple[type, ...]], *, required: bool
) -> str | None:
    """What keeps a journal record's ``values`` from being those of a kind that records the
    fields ``types`` names (``field``; its ``seen`` and ``written`` of those types), or names
    alone (an apply's); ``required``: a record of the kind always holds them (R51a: a value
    kind's without them, or with a value of another type, was an internal error at undo, and
    an undo would have written that value back)."""
    if values is None:
        return "it holds no values" if required else None
    names = values.get("names")
    if names is not None and type(names) is not dict:
        return "its values' names are not an object"
    if not required and set(values) == {"names"}:
        return None
    if not {"field", "seen", "written", "object_id"} <= set(values):
        return "its values lack field, seen, written or object_id"
    field = values["field"]
    if type(field) is not str or field not in types:
        return f"its values' field {shown_json(field)} is not one it records"
    if type(values["object_id"]) is not str:
        return f"its values' object_id {shown_json(values['object_id'])} is not text"
    for key in ("seen", "written"):
        if type(values[key]) not in types[field]:
            return f"its values' {key} {shown_json(values[key])} is not a value of {field}"
    return None
