"""A small simulated Trello for the planner's property tests (``test_planner_properties.py``):
two boards, three lists, four cards, four members and three people who act. A generated
sequence of operations (``Op``) is played on it; each one changes the world as Trello would and
logs the raw action Trello writes for it (or, where Trello is known to, logs nothing). The
result is what the tool reads: the actions (``World.actions``, every board's feed together) and
the boards and cards as they are now (``World.state``).

Shapes follow real Trello JSON (``../shared/fixtures/trello-real``, listed in
``../shared/fixtures/SOURCES.md``, and ``docs/trello-api-notes.md`` §2.2 of the shared docs):
action ids are ObjectIds whose first 8 hex digits are the second they were made in (so ids sort
with dates, as Trello's do), dates carry milliseconds, the member an action is about is the
top-level ``member`` object, and ``data.board`` names the feed the action is in. Ported from the
R51c reviewer's ``prop/world.py``; the creation of each card in the log is now a generated choice
(a card made from a template or on a copied board has none: the R51c bug).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any, NamedTuple

from hypothesis import strategies as st

from trello_restore.history import parse_board, parse_card
from trello_restore.models import Plan, State, ValueChange

JSON = dict[str, Any]

T0 = datetime(2025, 6, 1, 12, 0, tzinfo=UTC)
#: Where the generated operations start: an hour after the initial members were added.
START = T0 + timedelta(hours=1)


def _id(prefix: str) -> str:
    return prefix + "0" * (24 - len(prefix))


B1, B2 = _id("b1"), _id("b2")  # the team board, the archive board
L1, L2, L3 = _id("11"), _id("12"), _id("13")  # L1, L2 on B1 (L2 may move to B2), L3 on B2
LISTS = {L1: B1, L2: B1, L3: B2}
LIST_NAMES = {L1: "To do", L2: "Done", L3: "Archive"}
CARDS = tuple(_id(f"c{i}") for i in range(4))
#: m0, m1 are members of both boards; m2 of neither (blocked unless granted); m3 is a
#: deactivated member of B1 (never planned).
MEMBERS = tuple(_id(f"e{i}") for i in range(4))
M0, M1, M2, M3 = MEMBERS
#: a0 the culprit (whose token an automation also runs on), a1 someone else, and m0 acting.
ACTORS = (_id("a0"), _id("a1"), M0)
A0, A1 = ACTORS[0], ACTORS[1]
#: The member whose token the tool writes with (the token's member: ``own_member``).
ME = _id("ff")
USERNAMES = {mid: f"user{mid[:2]}" for mid in (*MEMBERS, *ACTORS, ME)}
APP = {"id": _id("ab"), "name": "Butler"}
BOARD_NAMES = {B1: "Team", B2: "Archive"}
DUES = (None, "2025-07-01T10:00:00.000Z", "2025-08-01T10:00:00.000Z")
DESCS = ("", "old text", "new text", "x")
NAMES = ("Alpha", "Beta", "Gamma")
#: Which fields of a card the ``updateCard`` of ``set_card_field`` may change.
CARD_ATTRS = {"idList": "list_id", "closed": "closed", "due": "due", "desc": "desc", "name": "name"}


def stamp(when: datetime) -> str:
    """A date as Trello writes it: ``2017-01-02T04:00:51.714Z`` (milliseconds, ``Z``)."""
    return when.strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3] + "Z"


def member_object(member_id: str, *, hidden: bool = False) -> JSON:
    """A member as an action's ``memberCreator`` or ``member`` holds it; ``hidden``: one who
    keeps the full name private (``nonPublic``: no ``fullName``, trello-api-notes §13.6)."""
    out: JSON = {"id": member_id, "username": USERNAMES[member_id]}
    if not hidden:
        out["fullName"] = "Person " + member_id[:2].upper()
    return out


@dataclass
class Card:
    """One card as Trello holds it now."""

    id: str
    board: str
    list_id: str
    members: set[str] = field(default_factory=set)
    closed: bool = False
    name: str = "Alpha"
    desc: str = ""
    due: str | None = None

    def ref(self, **extra: Any) -> JSON:
        """``data.card`` of an action about it (``{id, name, idShort, shortLink}``, plus the
        changed field's new value on an ``updateCard``), as in
        ``adlio__trello__testdata__actions__card-actions-with-member.json``."""
        return {"id": self.id, "name": self.name, "idShort": 1, "shortLink": "sl" + self.id[:2],
                **extra}  # fmt: skip


class Op(NamedTuple):
    """One generated operation; which fields matter depends on ``kind`` (``World.play``)."""

    kind: str
    card: int
    member: int
    actor: int
    #: Seconds since the previous operation (0: the same millisecond).
    gap: float
    #: Which value, list or target it picks.
    value: int
    #: Made by the culprit's automation (``appCreator``, no ``memberCreator``).
    by_app: bool
    #: 0: Trello logged nothing for a removal; 1: the actor's full name is private; 2: no
    #: top-level ``member``; larger: how a list move's removals are logged (see ``move_list``).
    flag: int


@dataclass
class World:
    """The boards, lists and cards now, and every action logged so far (oldest first)."""

    cards: dict[str, Card]
    list_board: dict[str, str] = field(default_factory=lambda: dict(LISTS))
    list_closed: dict[str, bool] = field(default_factory=lambda: dict.fromkeys(LISTS, False))
    board_members: dict[str, set[str]] = field(
        default_factory=lambda: {B1: {M0, M1, A0, A1}, B2: {M0, M1}}
    )
    deleted: set[str] = field(default_factory=set)
    actions: list[JSON] = field(default_factory=list)
    now: datetime = T0
    counter: int = 0

    def new_id(self) -> str:
        """An ObjectId as Trello makes them: the second, then a counter (ids sort by date)."""
        self.counter += 1
        return f"{int(self.now.timestamp()):08x}{self.counter:016x}"

    def log(
        self,
        type_: str,
        actor: str,
        board: str,
        data: JSON,
        *,
        member: str | None = None,
        by_app: bool = False,
        hidden: bool = False,
    ) -> None:
        """Log one action in ``board``'s feed: ``{id, idMemberCreator, type, date, data,
        memberCreator, member}`` as ``card-actions-with-member.json``; an automation's carries
        ``appCreator`` instead of ``memberCreator`` (trello-api-notes §13.5)."""
        raw: JSON = {
            "id": self.new_id(),
            "idMemberCreator": actor,
            "type": type_,
            "date": stamp(self.now),
            "data": {"board": {"id": board, "name": BOARD_NAMES[board]}, **data},
            "limits": {},
        }
        if by_app:
            raw["appCreator"] = dict(APP)
        else:
            raw["memberCreator"] = member_object(actor, hidden=hidden)
        if member is not None:
            raw["member"] = member_object(member)
        self.actions.append(raw)

    # ----------------------------------------------------------------- what Trello logs

    def create(self, card: Card) -> None:
        """``createCard``: ``data.list`` and ``data.card`` (nextcloud__deck ``data-trelloJson``)."""
        list_ref = {"id": card.list_id, "name": LIST_NAMES[card.list_id]}
        self.log("createCard", A1, card.board, {"card": card.ref(), "list": list_ref})

    def add_member(self, card: Card, member: str, actor: str, op: Op) -> None:
        """``addMemberToCard``: ``data.idMember`` and the top-level ``member``
        (``card-actions-with-member.json``); with ``op.flag == 2`` no ``member`` object."""
        card.members.add(member)
        self.log(
            "addMemberToCard", actor, card.board, {"card": card.ref(), "idMember": member},
            member=None if op.flag == 2 else member, by_app=op.by_app, hidden=op.flag == 1,
        )  # fmt: skip

    def remove_member(self, card: Card, member: str, actor: str, op: Op) -> None:
        """``removeMemberFromCard``: ``data.idMember``, ``data.deactivated``
        (``zulip__...__removing_member_from_card.json``); ``op.flag == 0``: Trello logged
        nothing (the incident's silent loss)."""
        card.members.discard(member)
        if op.flag == 0:
            return
        data = {"card": card.ref(), "idMember": member, "deactivated": member == M3}
        self.log(
            "removeMemberFromCard", actor, card.board, data,
            member=None if op.flag == 2 else member, by_app=op.by_app, hidden=op.flag == 1,
        )  # fmt: skip

    def update_card(self, card: Card, name: str, value: Any, actor: str, op: Op) -> None:
        """``updateCard`` of one field: ``data.old`` the old value, ``data.card`` the new one
        (``zulip__...__archiving_card.json``; ``data.list`` the card's list); a list change
        also has ``listBefore``/``listAfter`` (``zulip__...__changing_cards_list.json``)."""
        old = getattr(card, CARD_ATTRS[name])
        setattr(card, CARD_ATTRS[name], value)
        data: JSON = {"card": card.ref(**{name: value}), "old": {name: old}}
        if name == "idList":
            data["listBefore"] = {"id": old, "name": LIST_NAMES[old]}
            data["listAfter"] = {"id": value, "name": LIST_NAMES[value]}
        else:
            data["list"] = {"id": card.list_id, "name": LIST_NAMES[card.list_id]}
        self.log("updateCard", actor, card.board, data, by_app=op.by_app, hidden=op.flag == 1)

    def archive_list(self, list_id: str, closed: bool, actor: str, op: Op) -> None:
        """``updateList`` of ``closed``: ``data.list`` with the new value, ``data.old``
        (trello-api-notes §2.2; as ``archiving_card.json`` for a list)."""
        old = self.list_closed[list_id]
        self.list_closed[list_id] = closed
        data = {"list": {"id": list_id, "name": LIST_NAMES[list_id], "closed": closed},
                "old": {"closed": old}}  # fmt: skip
        self.log("updateList", actor, self.list_board[list_id], data, by_app=op.by_app)

    def move_card(self, card: Card, actor: str) -> None:
        """A card moved from B1 to B2's list L3: Trello takes off the members who are not on
        B2, logging each removal on B1, then ``moveCardFromBoard`` on B1 (``boardTarget``,
        ``data.list`` the list left) and ``moveCardToBoard`` on B2 (``boardSource``,
        ``data.list`` the list reached), as the 2015 samples of trello-api-notes §2.3."""
        left = card.list_id
        for m in sorted(card.members - self.board_members[B2]):
            card.members.discard(m)
            data = {"card": card.ref(), "idMember": m, "deactivated": False}
            self.log("removeMemberFromCard", actor, B1, data, member=m)
        card.board, card.list_id = B2, L3
        self.log(
            "moveCardFromBoard", actor, B1,
            {"card": card.ref(), "list": {"id": left, "name": LIST_NAMES[left]},
             "boardTarget": {"id": B2, "name": BOARD_NAMES[B2]}},
        )  # fmt: skip
        self.log(
            "moveCardToBoard", actor, B2,
            {"card": card.ref(), "list": {"id": L3, "name": LIST_NAMES[L3]},
             "boardSource": {"id": B1, "name": BOARD_NAMES[B1]}},
        )  # fmt: skip

    def move_list(self, actor: str, op: Op) -> None:
        """List L2 moved from B1 to B2 with its cards (the incident): Trello takes off each
        card's members who are not on B2 and logs ``moveListFromBoard`` on B1 and
        ``moveListToBoard`` on B2 (trello-api-notes §2.3), no per-card move. The removals:
        ``op.flag`` 0-3 none logged (the silent loss the design's reconstruction is for), 4-6
        logged on B1's feed, 7-9 on B2's."""
        self.list_board[L2] = B2
        for card in self.cards.values():
            if card.list_id != L2 or card.id in self.deleted:
                continue
            card.board = B2
            for m in sorted(card.members - self.board_members[B2]):
                card.members.discard(m)
                if op.flag > 3:
                    data = {"card": card.ref(), "idMember": m, "deactivated": False}
                    feed = B2 if op.flag > 6 else B1
                    self.log("removeMemberFromCard", actor, feed, data, member=m)
        list_ref = {"id": L2, "name": LIST_NAMES[L2]}
        self.log(
            "moveListFromBoard", actor, B1,
            {"list": list_ref, "boardTarget": {"id": B2, "name": BOARD_NAMES[B2]}},
        )  # fmt: skip
        self.log(
            "moveListToBoard", actor, B2,
            {"list": list_ref, "boardSource": {"id": B1, "name": BOARD_NAMES[B1]}},
        )  # fmt: skip

    def delete(self, card: Card, actor: str) -> None:
        """``deleteCard``: ``data.card`` holds the id and ``idShort`` only, ``data.list``
        (trello-api-notes §2.1: no card name)."""
        self.deleted.add(card.id)
        list_ref = {"id": card.list_id, "name": LIST_NAMES[card.list_id]}
        self.log("deleteCard", actor, card.board, {"card": {"id": card.id, "idShort": 1},
                                                   "list": list_ref})  # fmt: skip

    # ----------------------------------------------------------------- playing and reading

    def play(self, op: Op, *, across_boards: bool = True) -> None:
        """One operation, when it applies to the world as it is (else nothing happens)."""
        self.now += timedelta(seconds=op.gap)
        card = self.cards[CARDS[op.card]]
        if card.id in self.deleted:
            return
        member, actor = MEMBERS[op.member], ACTORS[op.actor]
        by_app = op.by_app and actor == A0
        op = op._replace(by_app=by_app)
        if op.kind == "add" and member not in card.members:
            self.add_member(card, member, actor, op)
        elif op.kind == "remove" and member in card.members:
            self.remove_member(card, member, actor, op)
        elif op.kind == "list":
            targets = [
                x for x, b in self.list_board.items() if b == card.board and x != card.list_id
            ]
            if targets:
                self.update_card(card, "idList", targets[op.value % len(targets)], actor, op)
        elif op.kind == "archive":
            self.update_card(card, "closed", not card.closed, actor, op)
        elif op.kind in ("due", "desc", "name"):
            values: tuple[str | None, ...] = {"due": DUES, "desc": DESCS, "name": NAMES}[op.kind]
            new = values[op.value % len(values)]
            if new != getattr(card, op.kind):
                self.update_card(card, op.kind, new, actor, op)
        elif op.kind == "archive_list":
            list_id = tuple(LISTS)[op.value % len(LISTS)]
            self.archive_list(list_id, not self.list_closed[list_id], actor, op)
        elif op.kind == "card_to_b2" and across_boards and card.board == B1:
            self.move_card(card, actor)
        elif op.kind == "list_to_b2" and across_boards and self.list_board[L2] == B1:
            self.move_list(actor, op)
        elif op.kind == "delete" and op.value == 0:
            self.delete(card, actor)

    def state(self) -> State:
        """The boards (members, lists) and cards as ``GET /boards/{id}`` (+ ``/members``,
        ``/lists``) and ``/cards`` give them now, parsed as the tool parses them
        (``adlio__...__board-members-api-example.json``, ``board-cards-api-example.json``)."""
        boards = {}
        for board, members in self.board_members.items():
            listing: list[JSON] = [{"idMember": m, "memberType": "normal"} for m in sorted(members)]
            if board == B1:
                listing.append({"idMember": M3, "memberType": "normal", "deactivated": True})
            lists = [
                {"id": x, "name": LIST_NAMES[x], "closed": self.list_closed[x]}
                for x, b in self.list_board.items()
                if b == board
            ]
            boards[board] = parse_board({"id": board, "name": BOARD_NAMES[board]}, listing, lists)
        cards = {}
        for c in self.cards.values():
            if c.id in self.deleted:
                continue
            raw = {"id": c.id, "name": c.name, "shortLink": "sl" + c.id[:2], "idBoard": c.board,
                   "idList": c.list_id, "closed": c.closed, "idMembers": sorted(c.members),
                   "desc": c.desc, "due": c.due, "dueComplete": False}  # fmt: skip
            cards[c.id] = parse_card(raw)
        return State(boards=boards, cards=cards)

    def apply(self, plan: Plan, me: str) -> None:
        """Carry the plan out as the tool's writes do, logging what Trello logs for each (by
        ``me``, the token's member): a board membership (not in any feed the tool reads), a
        card member re-added (``addMemberToCard``), a field set back (``updateCard``/
        ``updateList``). Each change must find the value the plan expects (a plan whose
        expectation is wrong would be called ``drifted`` by the apply)."""
        self.now += timedelta(minutes=1)
        op = Op("apply", 0, 0, 0, 0, 0, False, 5)
        for c in plan.changes:
            if c.action == "add_member_to_board":
                self.board_members[c.board_id].add(c.member.id)
            elif c.action == "add_member_to_card":
                card = self.cards[c.card_id]
                assert c.member.id not in card.members, c
                assert c.member.id in self.board_members[card.board], c
                self.add_member(card, c.member.id, me, op._replace(flag=5))
            elif isinstance(c, ValueChange) and c.object_type == "list":
                assert self.list_closed[c.list_id] == c.expected, c
                assert isinstance(c.value, bool), c
                self.archive_list(c.list_id, c.value, me, op)
            else:
                assert isinstance(c, ValueChange), c
                card = self.cards[c.card_id]
                assert getattr(card, CARD_ATTRS[c.field]) == c.expected, c
                self.update_card(card, c.field, c.value, me, op)


# ------------------------------------------------------------------------- the strategies

KINDS = ("add", "remove", "remove", "remove", "list", "list", "archive", "archive", "due", "desc",
         "name", "archive_list", "card_to_b2", "delete", "list_to_b2", "list_to_b2")  # fmt: skip

ops: st.SearchStrategy[Op] = st.builds(
    Op,
    kind=st.sampled_from(KINDS),
    card=st.integers(0, len(CARDS) - 1),
    member=st.integers(0, len(MEMBERS) - 1),
    actor=st.integers(0, len(ACTORS) - 1),
    gap=st.sampled_from([0, 0.001, 1, 30, 3600]),  # the same instant, within the minute, later
    value=st.integers(0, 3),
    by_app=st.booleans(),
    flag=st.integers(0, 9),
)


class Scenario(NamedTuple):
    """A generated world: each card's first members, how much of each card's past the log
    holds (``logged``), and the operations played after."""

    members: tuple[frozenset[int], ...]
    #: Per card: 2 its creation and its first members' adds are in the log; 1 the adds only
    #: (a card made from a template, or on a copied board: R51c); 0 neither (the log starts
    #: later: an export's newest 1000 actions, a board whose older actions are gone).
    logged: tuple[int, ...]
    ops: tuple[Op, ...]

    def world(self, *, across_boards: bool = True) -> World:
        """The world after: each card made in L1 or L2 with its first members (added by a1),
        as much of it logged as ``logged`` says, then the operations from ``START``."""
        cards = {
            cid: Card(cid, B1, L1 if i % 2 == 0 else L2) for i, cid in enumerate(CARDS)
        }  # fmt: skip
        w = World(cards)
        init = Op("add", 0, 0, 1, 0, 0, False, 5)
        for i, card in enumerate(cards.values()):
            if self.logged[i] == 2:
                w.create(card)
            for m in sorted(self.members[i]):
                w.now += timedelta(seconds=1)
                if self.logged[i]:
                    w.add_member(card, MEMBERS[m], A1, init)
                else:
                    card.members.add(MEMBERS[m])
        w.now = START
        for op in self.ops:
            w.play(op, across_boards=across_boards)
        w.now += timedelta(minutes=5)
        return w


scenarios: st.SearchStrategy[Scenario] = st.builds(
    Scenario,
    members=st.tuples(*[st.frozensets(st.integers(0, len(MEMBERS) - 1), min_size=1)] * 4),
    logged=st.tuples(*[st.integers(0, 2)] * 4),
    ops=st.lists(ops, min_size=4, max_size=30).map(tuple),
)
