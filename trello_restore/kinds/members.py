"""The member kinds (design.md §3, §5): ``add_member_to_board`` (``BoardMembership``) and
``add_member_to_card`` (``CardMember``), with their pure deciders: ``decide_board`` and
``decide_card`` before a write (``memberapply.py``'s), ``decide_undo`` before a removal,
``resolve`` for a write whose answer was never journaled."""

from __future__ import annotations

from collections.abc import Hashable, Mapping, Sequence
from dataclasses import replace
from datetime import UTC
from typing import TYPE_CHECKING, Any, ClassVar

from trello_restore.kinds.base import (
    NOT_ATTEMPTED,
    WOULD_UNDO,
    ChangeKind,
    Context,
    Decision,
    Resolution,
    WriteRule,
    values_problem,
)
from trello_restore.kinds.elsewhere import card_elsewhere
from trello_restore.kinds.memberapply import (
    NOT_ACTIVE_MEMBER,
    ON_BOARD,
    decide_board,
    decide_card,
)
from trello_restore.kinds.touched import (
    BOARD_MEMBER_TYPES,
    board_member_target,
    card_member_target,
    put_back,
)
from trello_restore.models import (
    CardState,
    Change,
    Evidence,
    MemberRef,
    PlanOptions,
    format_date,
    parse_date,
    quote_name,
)
from trello_restore.words import actor, board_ref, card_url, handle, member_name, shown_name, when

if TYPE_CHECKING:
    from trello_restore.api import MemberStandIn, TrelloApi
    from trello_restore.live import LiveBoard, Target

#: Why a member is on the card, or not, after a write whose answer was never journaled.
FOUND = "found there after an interrupted write: this tool's"
NOT_FOUND = "found absent after an interrupted write: it never took effect"
DELETED = "the card was deleted after an interrupted write: there is nothing to undo"


# -------------------------------------------------------------------------------- deciders


def decide_undo(
    c: Change,
    live: LiveBoard,
    *,
    resumed: bool,
    cards_undone: Mapping[str, str] | None = None,
    elsewhere: Mapping[str, str] | None = None,
) -> Decision:
    """Remove the member? Only where still on the card (or board), not put back by someone
    (``put_back``: drifted); else ``not_on_card`` with why (``undone`` when ``resumed``: this
    tool's own earlier removal). A board membership still there stays when removing it would
    take away more than the grant gave (``undo_grant``, with ``cards_undone`` and
    ``elsewhere``; without ``cards_undone``, before the undo of its card members, whether it
    is there to look at: None)."""
    gone = ("undone", "") if resumed else None
    if live.cards is None:
        return gone or ("not_on_card", live.error)
    if c.action == BoardMembership.action:
        if c.member.id not in live.memberships:
            return gone or ("not_on_card", "the member is no longer on the board")
        if (back := put_back(c, live)) is not None:  # granted again by someone (R75b)
            return "drifted", back
        if cards_undone is None:
            return None
        return undo_grant(c, live, cards_undone, elsewhere or {})
    card = live.cards.get(c.card_id)
    if card is None or card.board_id != c.board_id:
        return card_elsewhere(c, live, gone)
    if c.member.id in card.member_ids:
        return None if (back := put_back(c, live)) is None else ("drifted", back)
    return gone or ("not_on_card", "")


def undo_grant(
    c: Change,
    live: LiveBoard,
    cards_undone: Mapping[str, str],
    elsewhere: Mapping[str, str] | None = None,
) -> Decision:
    """Remove board membership ``c``, which the apply granted, from a member still on the board
    (``live``: the board's memberships and cards)? Not when that would take away more than the
    grant gave: ``cards_undone`` is card id → this run's undo outcome of the apply's adding the
    member to that card (the undo decides those first).

    - Their role is not the one granted (``c.role``, which the apply's journal record keeps;
      an older journal's records keep none, and then only ``admin`` is known to differ: a plan
      never grants it): someone changed it → ``drifted``.
    - They are on cards of the board the apply did not add them to (colleagues did, since):
      removing a board member takes them off every card of the board, with nothing journaled
      → ``drifted``. The cards this undo takes them off in the same run (or would: a dry run;
      or found them gone from) do not count.
    - They are still on cards the apply added them to whose removal was not attempted (the
      run is stopping) → ``not_attempted``, or did not go through → ``failed`` (a later undo
      tries both again), as a card member whose grant failed is in an apply; or that this
      undo left on them, drifted (put back by someone, or on a card out of its reach) →
      ``drifted`` (R37e: it said ``failed`` where nothing had failed).
    - They are on cards another run of this tool added them to, whose journal has not undone
      them (``elsewhere``: card id → that journal's path; a one-step run resumed after an
      interrupt adds the members this one granted to the cards it had not reached): this
      tool's own work, which needs the membership. It is kept for them → ``drifted``, naming
      the journals; their undo removes it with them (``undo_others``)."""
    ms = live.memberships[c.member.id]
    if ms.member_type != c.role and (c.role or ms.member_type == "admin"):
        granted = f"not {c.role} as the apply granted" if c.role else "which no plan grants"
        return "drifted", (
            f"their role on the board is {ms.member_type} now, {granted}: someone changed it "
            "since, so the membership is left in place"
        )
    left = sorted(
        (
            card
            for card in (live.cards or {}).values()
            if c.member.id in card.member_ids and cards_undone.get(card.id) not in _TAKEN_OFF
        ),
        key=lambda card: (card.name, card.id),
    )
    later = elsewhere or {}
    theirs = [card for card in left if card.id not in cards_undone and card.id not in later]
    if theirs:
        n = len(theirs)
        return "drifted", (
            f"on {n} card{'s' if n != 1 else ''} of the board the apply did not add them to "
            f"({_some(theirs)}): removing them from the board would take them off "
            f"{'those' if n != 1 else 'it'} too"
        )
    own = [card for card in left if card.id not in later]
    if any(cards_undone[card.id] == NOT_ATTEMPTED for card in own):
        return NOT_ATTEMPTED, "its card members' removal was not attempted: the run stopped"
    failed = [card for card in own if cards_undone[card.id] == "failed"]
    if failed:
        n = len(failed)
        return "failed", (
            f"removing the member from {n} card{'s' if n != 1 else ''} the apply added them to "
            "failed; removing them from the board would take them off without a record"
        )
    if own:  # left on them, drifted: put back by someone, or out of the undo's reach (R37e)
        n = len(own)
        return "drifted", (
            f"on {n} card{'s' if n != 1 else ''} the apply added them to that this undo leaves "
            f"in place ({_some(own)}: drifted); removing them from the board would take them "
            f"off {'those' if n != 1 else 'it'} too"
        )
    if left:
        return "drifted", _kept_for(left, later)
    return None


def _some(cards: Sequence[CardState]) -> str:
    """The first three cards' names, quoted, and ``…`` when there are more."""
    return ", ".join(quote_name(card.name) for card in cards[:3]) + (
        ", …" if len(cards) > 3 else ""
    )


def _kept_for(cards: Sequence[CardState], journals: Mapping[str, str]) -> str:
    """Why a grant stays for ``cards``, which other journals of this tool (``journals``: card id
    → path) added the member to and have not undone: which, and what removes it."""
    n, paths = len(cards), sorted({journals[card.id] for card in cards})
    names = _some(cards)
    one = len(paths) == 1
    runs = "another run" if one else "other runs"
    then = "that journal, and it removes" if one else "those journals, and the last removes"
    return (
        f"kept for {n} card{'s' if n != 1 else ''} of the board {runs} of this tool added them "
        f"to ({names}; journal{'' if one else 's'} {', '.join(paths)}, not undone yet): undo "
        f"{then} the membership with {'those cards' if n != 1 else 'the card'}"
    )


def resolve(c: Change, live: LiveBoard) -> Resolution:
    """Did an open apply record's write (``journal.unresolved``) take effect? ``applied`` when
    the member is on the card (for a grant: an active member of the board) now, ``not_applied``
    when not, each with the reason; None, with why, when live state cannot tell: the board or
    the card cannot be read (gone, or moved to another board)."""
    if live.cards is None:
        return None, live.error or "the board cannot be read"
    if c.action == BoardMembership.action:
        return ("applied", FOUND) if live.is_active(c.member.id) else ("not_applied", NOT_FOUND)
    card = live.cards.get(c.card_id)
    if card is None or card.board_id != c.board_id:
        # Read by id (``live.locate_cards``), a deleted card settles it: there is nothing to
        # take off (R35a: its warning came back on every later run, which nothing could stop);
        # a card on another board says whether the member is on it.
        found = live.located.get(c.card_id)
        if found is not None and found.deleted:
            return "not_applied", DELETED
        if found is None or found.card is None:
            return None, "the card was deleted or moved to another board"
        card = found.card
    if c.member.id in card.member_ids:
        return "applied", FOUND
    return "not_applied", NOT_FOUND


# ------------------------------------------------------------------------- member kinds


def _member_json(m: MemberRef) -> dict[str, str]:
    return {"id": m.id, "username": m.username, "fullName": m.full_name}


def _member_ref(d: Mapping[str, str]) -> MemberRef:
    return MemberRef(d["id"], d.get("username", ""), d.get("fullName", ""))


def _stand_in(m: MemberRef) -> MemberStandIn:
    """What py-trello's member writes read of a member (its id), without a look-up."""
    from trello_restore.api import MemberStandIn

    return MemberStandIn(m.id, m.username, m.full_name)


def _ref(name: str) -> dict[str, str]:
    return {"$ref": f"#/$defs/{name}"}


def _board(c: Change) -> str:
    """The change's board as its text names it: by name (``shown_name``), else by id."""
    return shown_name(c.board_name) if c.board_name else c.board_id


#: Trello's answer to adding a member who is on the card already (notes §3.1): success.
ALREADY_ON_CARD = "member is already on the card"
#: Trello's answer to removing a member who is not on the card (notes §3.1).
NOT_ON_CARD = "member is not on the card"
#: The sandbox's answer to removing a member who is not on the board (Trello's: unconfirmed).
NOT_ON_BOARD = "member is not on the board"
#: A card member's undo outcomes that leave them off the card: removed (or would be), or found
#: gone.
_TAKEN_OFF = ("undone", WOULD_UNDO, "not_on_card")
#: How each kind of evidence reads after the member's name.
_EVIDENCE_NOTE = {"reconstructed": "reconstructed", "ever_added": "mode ever-added"}


class MemberKind(ChangeKind):
    """What the two member kinds share: undo removes the member where it is still there
    (``decide_undo``), an interrupted write is settled from live membership (``resolve``), and
    Trello's "not there" answer to a removal is benign."""

    #: Trello's text when the member to remove is not there (a retry of this tool's own
    #: removal, or someone else's).
    not_there: ClassVar[str]

    def decide_undo(self, c: Change, live: LiveBoard, *, resumed: bool) -> Decision:
        return decide_undo(c, live, resumed=resumed)

    def undo_rule(self, resumed: bool) -> WriteRule:
        return WriteRule(
            "undone",
            benign=self.not_there,
            benign_ours="undone",
            benign_other="not_on_card",
            resumed=resumed,
        )

    def resolve(self, c: Change, live: LiveBoard) -> Resolution:
        return resolve(c, live)

    def live_label(self, c: Change, live: LiveBoard) -> str | None:
        """``label`` with the member's names (and the card's name and link, the board's name, a
        grant's role) from live state; None when the member is not on the board (no live name)."""
        member = live.members.get(c.member.id)
        if member is None:
            return None
        card = live.cards.get(c.card_id) if live.cards is not None and c.card_id else None
        found = live.located.get(c.card_id) if card is None and c.card_id else None
        card = found.card if found is not None else card
        ms = live.memberships.get(c.member.id)
        return self.label(
            replace(
                c,
                member=member,
                board_name=c.board_name or live.name,
                card_name=card.name if card is not None else c.card_name,
                card_short_link=card.short_link if card is not None else c.card_short_link,
                role=c.role or (ms.member_type if ms is not None else ""),
            )
        )


class BoardMembership(MemberKind):
    """``add_member_to_board``: grant board membership (``--add-to-board``) to a member whose
    card changes need it; ``PUT /1/boards/{id}/members/{idMember}`` with the plan's role."""

    action = "add_member_to_board"
    order = 10
    summary_key = "board_changes"
    noun = "board membership"
    schema_name = "board_change"
    undone_by_default = False
    not_there = NOT_ON_BOARD

    def to_json(self, c: Change) -> dict[str, Any]:
        return {
            "change_id": c.change_id,
            "action": c.action,
            "board": {"id": c.board_id, "name": c.board_name},
            "member": _member_json(c.member),
            "role": c.role,
            "precondition": {"member_on_board": c.member_on_board},
        }

    def from_json(self, d: Mapping[str, Any]) -> Change:
        return Change(
            change_id=d["change_id"],
            action="add_member_to_board",
            board_id=d["board"]["id"],
            board_name=d["board"]["name"],
            member=_member_ref(d["member"]),
            role=d["role"],
            member_on_board=d["precondition"]["member_on_board"],
        )

    def schema(self) -> dict[str, Any]:
        return {
            "type": "object",
            "additionalProperties": False,
            "required": ["change_id", "action", "board", "member", "role", "precondition"],
            "properties": {
                "change_id": _ref("change_id"),
                "action": {"const": self.action},
                "board": _ref("board"),
                "member": _ref("member"),
                "role": {"enum": ["normal", "observer"]},
                "precondition": {
                    "type": "object",
                    "additionalProperties": False,
                    "required": ["member_on_board"],
                    "properties": {"member_on_board": {"type": "boolean"}},
                },
            },
        }

    def provides(self, c: Change) -> Hashable:
        return (ON_BOARD, c.board_id, c.member.id)

    def plan_problem(self, c: Change, options: PlanOptions, provided: set[Hashable]) -> str | None:
        if not options.add_to_board:
            return "grants board membership but add_to_board is false"
        return None

    def decide(self, c: Change, live: LiveBoard, ctx: Context) -> Decision:
        return decide_board(c, live, resumed=ctx.resumed, deactivated_on=ctx.deactivated_on)

    def record_values(self, c: Change, op: str) -> dict[str, Any] | None:
        """The role granted, which undo checks (``undo_grant``), as a value written (``seen``:
        none, the member was not an active member); on an undo's record, the other way round.
        None for a change that does not know it (an older journal's)."""
        if not c.role:
            return None
        seen, written = (None, c.role) if op == "apply" else (c.role, None)
        return {
            "object_type": "board",
            "object_id": c.board_id,
            "field": "role",
            "seen": seen,
            "written": written,
        }

    def record_problem(self, values: dict[str, Any] | None) -> str | None:
        # Not required: the records of versions before grants kept their role hold none.
        return values_problem(values, {"role": (str, type(None))}, required=False)

    def from_record(self, c: Change, values: Mapping[str, Any] | None) -> Change:
        role = (values or {}).get("written")
        return replace(c, role=role) if isinstance(role, str) else c

    def undo_target(self, c: Change) -> tuple[Target, tuple[str, ...]]:
        # The member on the board: granted again by someone since the apply (R75b).
        return board_member_target(c), tuple(BOARD_MEMBER_TYPES)

    def decide_undo_after(
        self, c: Change, live: LiveBoard, *, resumed: bool, needers: Sequence[tuple[Change, str]]
    ) -> Decision:
        return self.decide_undo_kept(c, live, resumed=resumed, needers=needers, elsewhere={})

    def decide_undo_kept(
        self,
        c: Change,
        live: LiveBoard,
        *,
        resumed: bool,
        needers: Sequence[tuple[Change, str]],
        elsewhere: Mapping[str, str],
    ) -> Decision:
        """``decide_undo_after`` knowing the cards of the board other journals of this tool
        added the member to and have not undone (``elsewhere``: card id → journal path), for
        which the membership is kept (``undo_grant``)."""
        undone = {n.card_id: status for n, status in needers}
        return decide_undo(c, live, resumed=resumed, cards_undone=undone, elsewhere=elsewhere)

    def write(self, api: TrelloApi, c: Change) -> object:
        return api.add_board_member(c.board_id, _stand_in(c.member), c.role or "normal")

    def write_rule(self, resumed: bool) -> WriteRule:
        return WriteRule("applied", resumed=resumed)

    def remove(self, api: TrelloApi, c: Change) -> object:
        return api.remove_board_member(c.board_id, _stand_in(c.member))

    def cannot_tell(self, c: Change, why: str) -> str:
        return (
            f"cannot tell whether the interrupted grant of board {c.board_id} to member "
            f"{c.member.id} took effect: {why}; check the board's members and remove the member "
            "by hand if it did"
        )

    def heading(self, would: str, n: int) -> str:
        return f"{would} grant board membership first ({n})"

    def describe(self, c: Change) -> str:
        return f"{member_name(c.member)} to {_board(c)} as {c.role}"

    def label(self, c: Change) -> str:
        return f"{member_name(c.member)} → board {_board(c)} as {c.role}"

    def unnamed(self, member_id: str, board_id: str, card_id: str) -> str:
        return f"member {member_id} on board {board_id}"


class CardMember(MemberKind):
    """``add_member_to_card``: put a member back on a card (design.md §3);
    ``POST /1/cards/{id}/idMembers``, where ``member is already on the card`` is success."""

    action = "add_member_to_card"
    order = 50
    summary_key = "card_changes"
    noun = "card member"
    schema_name = "card_change"
    blockable = True
    grouped = True
    locates_cards = True
    not_there = NOT_ON_CARD
    target = card_member_target  # the member on the card, as the boards' feeds tell it

    def to_json(self, c: Change) -> dict[str, Any]:
        if c.evidence is None:
            raise ValueError(f"card change {c.change_id} has no evidence")
        e = c.evidence
        return {
            "change_id": c.change_id,
            "action": c.action,
            "board": {"id": c.board_id, "name": c.board_name},
            "list": {"id": c.list_id, "name": c.list_name},
            "card": {"id": c.card_id, "name": c.card_name, "shortLink": c.card_short_link},
            "member": _member_json(c.member),
            "evidence": {
                "kind": e.kind,
                "action_id": e.action_id,
                "date": format_date(e.date),
                "by": {"id": e.by.id, "username": e.by.username},
                "move_action_id": e.move_action_id,
            },
            "precondition": {
                "member_on_card": c.member_on_card,
                "member_on_board": c.member_on_board,
            },
        }

    def from_json(self, d: Mapping[str, Any]) -> Change:
        e, pre = d["evidence"], d["precondition"]
        return Change(
            change_id=d["change_id"],
            action="add_member_to_card",
            board_id=d["board"]["id"],
            board_name=d["board"]["name"],
            member=_member_ref(d["member"]),
            list_id=d["list"]["id"],
            list_name=d["list"]["name"],
            card_id=d["card"]["id"],
            card_name=d["card"]["name"],
            card_short_link=d["card"]["shortLink"],
            evidence=Evidence(
                kind=e["kind"],
                action_id=e["action_id"],
                date=parse_date(e["date"]),
                by=_member_ref(e["by"]),
                move_action_id=e["move_action_id"],
            ),
            member_on_card=pre["member_on_card"],
            member_on_board=pre["member_on_board"],
        )

    def schema(self) -> dict[str, Any]:
        return {
            "type": "object",
            "additionalProperties": False,
            "required": [
                "change_id",
                "action",
                "board",
                "list",
                "card",
                "member",
                "evidence",
                "precondition",
            ],
            "properties": {
                "change_id": _ref("change_id"),
                "action": {"const": self.action},
                "board": _ref("board"),
                "list": _ref("list"),
                "card": _ref("card"),
                "member": _ref("member"),
                "evidence": _ref("evidence"),
                "precondition": {
                    "type": "object",
                    "additionalProperties": False,
                    "required": ["member_on_card", "member_on_board"],
                    "properties": {
                        "member_on_card": {"type": "boolean"},
                        "member_on_board": {"type": "boolean"},
                    },
                },
            },
        }

    def needs(self, c: Change) -> Hashable:
        return (ON_BOARD, c.board_id, c.member.id)

    def plan_problem(self, c: Change, options: PlanOptions, provided: set[Hashable]) -> str | None:
        if c.member_on_board or self.needs(c) in provided:
            return None
        if not options.add_to_board:
            return (
                "adds a member who is not on the board but add_to_board is false "
                "(it should be blocked)"
            )
        # A reviewer who deleted the grant (R36e: told only to make the plan again).
        who = handle(c.member)
        return (
            f"adds {who} to a card before granting board membership (a grant deleted by hand? "
            f"delete that member's card adds on board {board_ref(c.board_id, c.board_name)} "
            "too, or put the grant back before them)"
        )

    def decide(self, c: Change, live: LiveBoard, ctx: Context) -> Decision:
        return decide_card(
            c,
            live,
            resumed=ctx.resumed,
            grant=ctx.needed,
            dry_run=ctx.dry_run,
            deactivated_on=ctx.deactivated_on,
            refused=ctx.refused,
        )

    def write(self, api: TrelloApi, c: Change) -> object:
        return api.add_card_member(c.card_id, _stand_in(c.member))

    def write_rule(self, resumed: bool) -> WriteRule:
        return WriteRule(
            "applied",
            benign=ALREADY_ON_CARD,
            benign_ours="applied",
            benign_other="already_satisfied",
            resumed=resumed,
            invalid=f"{NOT_ACTIVE_MEMBER} now (taken off it or deactivated since this run read "
            "it): left alone",
        )

    def remove(self, api: TrelloApi, c: Change) -> object:
        return api.remove_card_member(c.card_id, _stand_in(c.member))

    def cannot_tell(self, c: Change, why: str) -> str:
        return (
            f"cannot tell whether the interrupted add of member {c.member.id} to card "
            f"{c.card_id} took effect: {why}; if the card still exists, check it and remove the "
            "member by hand"
        )

    def heading(self, would: str, n: int) -> str:
        return f"{would} re-add card members ({n})"

    def describe(self, c: Change) -> str:
        return member_name(c.member)

    def evidence(self, c: Change, verbose: bool) -> str:
        e = c.evidence
        if e is None:  # the planner gives every card change its evidence
            return ""
        if e.kind == "recorded_removal":
            text = f"removed by {actor(e)} {when(e.date)}"
            if e.move_action_id:
                text += ", with a move to another board"
            if verbose:
                text += f" [action {e.action_id}"
                text += f", move {e.move_action_id}]" if e.move_action_id else "]"
            return text
        lead = (
            "lost without a logged removal" if e.kind == "reconstructed" else "not on the card now"
        )
        text = f"{lead}; added {e.date.astimezone(UTC):%Y-%m-%d} by {actor(e)}"
        text += f" ({_EVIDENCE_NOTE[e.kind]})"
        if verbose:
            text += f" [action {e.action_id}]"
        return text

    def label(self, c: Change) -> str:
        name = shown_name(c.card_name) if c.card_name else c.card_id
        where = f"{name} ({card_url(c.card_short_link)})" if c.card_short_link else name
        return f"{member_name(c.member)} → card {where}"

    def unnamed(self, member_id: str, board_id: str, card_id: str) -> str:
        return f"member {member_id} on card {card_id}"
