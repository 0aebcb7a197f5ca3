"""The change kinds (``trello_restore/kinds/``): the pure deciders of apply and undo, table by
table over literal live state; every part of each kind's entry (plan-file JSON and schema,
consistency rule, write, undo, text), its writes sent to a recording stand-in; and a kind the
tool does not have, registered for one test, through the plan file, its schema and the text
with no edit elsewhere (``test_apply_new_kind.py`` applies and undoes it over HTTP: the seam of
issue 10 item 3). No network here."""

from __future__ import annotations

import json
from collections.abc import Hashable, Mapping
from dataclasses import replace
from datetime import UTC, datetime
from importlib import resources
from typing import Any

import jsonschema
import pytest

from trello_restore.api import TrelloApi
from trello_restore.kinds import (
    ALREADY_ON_CARD,
    FOUND,
    KINDS,
    NOT_FOUND,
    NOT_ON_BOARD,
    NOT_ON_CARD,
    BoardMembership,
    CardClosed,
    CardField,
    CardMember,
    CardMove,
    ChangeKind,
    Context,
    Decision,
    ListClosed,
    Resolution,
    WriteRule,
    decide_board,
    decide_card,
    decide_undo,
    in_order,
    kind_of,
    known,
    resolve,
)
from trello_restore.kinds.memberapply import NOT_ACTIVE_MEMBER
from trello_restore.live import LiveBoard
from trello_restore.models import (
    CardState,
    Change,
    Evidence,
    MemberRef,
    Membership,
    Plan,
    PlanOptions,
)
from trello_restore.planfile import PlanMeta, plan_from_dict, plan_to_dict
from trello_restore.planschema import build_schema
from trello_restore.report import render_text
from trello_restore.report_outcomes import change_labels

T = datetime(2025, 11, 2, 12, 2, tzinfo=UTC)
ANN = MemberRef("ann", "ann", "Ann Example")
LEAD = MemberRef("lead", "danak")

GRANT = Change(
    "c-000000000000000a",
    "add_member_to_board",
    "b1",
    "Team",
    ANN,
    role="observer",
    member_on_board=False,
)
#: A grant of the role ``live()``'s memberships have.
NORMAL_GRANT = replace(GRANT, role="normal")
#: A grant an older journal records: no role.
NO_ROLE = replace(GRANT, role="")
#: Why a grant of observer found its member on the board as a normal member (R22 G22.6).
OTHER_ROLE = "on the board already as normal, not observer: left as it is"
CARD = Change(
    "c-000000000000000b", "add_member_to_card", "b1", "Team", ANN, list_id="l1",
    list_name="Doing", card_id="k1", card_name="Ship it", card_short_link="AbCd1234",
    evidence=Evidence("recorded_removal", "a1", T, LEAD, "mv1"), member_on_board=False,
)  # fmt: skip


def live(
    *,
    on_card: bool = False,
    card_board: str | None = "b1",
    membership: str = "",
    gone: str | None = None,
) -> LiveBoard:
    """Board ``b1`` now: card ``k1`` (on ``card_board``; None: no such card) with ann on it or
    not; ann's membership ``membership``: "" none, ``active``, ``deactivated``,
    ``unconfirmed``; ``gone``: the board cannot be read, and why."""
    if gone is not None:
        return LiveBoard("b1", None, {}, gone)
    cards = {}
    if card_board is not None:
        members = ("ann",) if on_card else ("ben",)
        cards["k1"] = CardState("k1", "Ship it", "AbCd1234", card_board, "l1", False, members)
    memberships = {}
    if membership:
        memberships["ann"] = Membership(
            "ann", "normal", membership == "deactivated", membership == "unconfirmed"
        )
    return LiveBoard("b1", cards, memberships)


# ----------------------------------------------------------------------------- deciders


@pytest.mark.parametrize(
    ("board", "resumed", "elsewhere", "want"),
    [
        (live(gone="the board is gone (not found)"), False, None,
         ("drifted", "the board is gone (not found)")),
        (live(membership="active"), False, None, ("already_satisfied", OTHER_ROLE)),
        (live(membership="active"), True, None, ("applied", "")),
        (live(membership="active"), False, 'board "Archive"', ("already_satisfied", OTHER_ROLE)),
        (live(membership="deactivated"), False, None,
         ("blocked", "the member is deactivated (on this board): never granted")),
        (live(), False, 'board "Archive"',
         ("blocked", 'the member is deactivated (on board "Archive"): never granted')),
        (live(), False, None, None),
        (live(membership="unconfirmed"), True, None, None),
    ],
)  # fmt: skip
def test_decide_board(
    board: LiveBoard, resumed: bool, elsewhere: str | None, want: Decision
) -> None:
    """Grant board membership? Not to an active member, nor a deactivated one, nor on a board
    that is gone; an earlier killed run's grant found made is this tool's."""
    assert decide_board(GRANT, board, resumed=resumed, deactivated_on=elsewhere) == want


def test_a_grant_found_in_its_own_role_or_without_one_says_nothing_more() -> None:
    """The role says only where it is not the grant's (its label says "as observer"); a grant
    an older journal records has none to compare."""
    active = live(membership="active")
    assert decide_board(NORMAL_GRANT, active, resumed=False) == ("already_satisfied", "")
    assert decide_board(NO_ROLE, active, resumed=False) == ("already_satisfied", "")


GONE_CARD = ("drifted", "the card was deleted or moved to another board")
BLOCKED = ("blocked", "the member is not an active member of the card's board")


@pytest.mark.parametrize(
    ("board", "kw", "want"),
    [
        (live(gone="the board is gone (x)"), {}, ("drifted", "the board is gone (x)")),
        (live(card_board=None), {}, GONE_CARD),
        (live(card_board="b2"), {}, GONE_CARD),
        (live(on_card=True), {}, ("already_satisfied", "")),
        (live(on_card=True, membership="deactivated"), {"resumed": True}, ("applied", "")),
        (live(membership="deactivated"), {},
         ("blocked", "the member is deactivated (on this board): never added")),
        (live(membership="active"), {"deactivated_on": "board b9"},
         ("blocked", "the member is deactivated (on board b9): never added")),
        (live(), {"grant": "failed", "refused": "not sent: refused"},
         ("not_attempted", "not sent: refused")),
        (live(), {"grant": "not_attempted", "refused": "not sent: refused"},
         ("not_attempted", "not sent: refused")),
        (live(), {"grant": "not_attempted"},
         ("not_attempted", "its board membership was not granted: the run stopped")),
        (live(), {"grant": "applied", "refused": "not sent: refused"}, None),
        (live(membership="active"), {}, None),
        (live(), {"grant": "applied"}, None),
        (live(), {"grant": "already_satisfied"}, BLOCKED),
        (live(), {"grant": "already_satisfied", "dry_run": True}, None),
        (live(), {"grant": "would_apply", "dry_run": True}, None),
        (live(), {"grant": "would_apply"}, BLOCKED),
        (live(), {"grant": "failed"}, ("failed", "granting the member board membership failed")),
        (live(), {"grant": "blocked"}, BLOCKED),
        (live(membership="unconfirmed"), {}, BLOCKED),
    ],
)  # fmt: skip
def test_decide_card(board: LiveBoard, kw: dict[str, Any], want: Decision) -> None:
    """Add the member to the card? Each rule of ``decide_card``'s docstring, in its order."""
    args: dict[str, Any] = {"resumed": False, "grant": None} | kw
    assert decide_card(CARD, board, **args) == want


RENAMED = (
    "drifted",
    "the plan names this member @ann; Trello calls member ann @bob now (renamed, or the plan "
    "was edited): make a new plan",
)


def test_a_card_the_plan_names_otherwise_drifts() -> None:
    """A member change whose card id holds another card than the plan's shortLink names (the
    plan edited to another card's id) is drifted, on the card or not; a resumed write found
    made stays this tool's; a plan without a shortLink is not checked."""
    edited = replace(CARD, card_short_link="XyZw9876")
    other = (
        "drifted",
        "the plan names card XyZw9876; Trello's card k1 is AbCd1234 (the plan was edited): "
        "make a new plan",
    )
    assert decide_card(edited, live(membership="active"), resumed=False, grant=None) == other
    on = live(on_card=True, membership="active")
    assert decide_card(edited, on, resumed=False, grant=None) == other
    assert decide_card(edited, on, resumed=True, grant=None) == ("applied", "")
    unnamed = replace(CARD, card_short_link="")
    assert decide_card(unnamed, live(membership="active"), resumed=False, grant=None) is None


@pytest.mark.parametrize(
    ("board", "username", "resumed", "card", "grant"),
    [
        # Another username for the id (a plan edited to another member's id, or a rename):
        # drifted, on the card or not, an active member or not.
        (live(membership="active"), "bob", False, RENAMED, RENAMED),
        (live(on_card=True, membership="active"), "bob", False, RENAMED, RENAMED),
        (live(membership="unconfirmed"), "bob", False, RENAMED, RENAMED),
        # A resumed write found made stays this tool's (undo needs its ``applied``).
        (live(on_card=True, membership="active"), "bob", True, ("applied", ""), ("applied", "")),
        # The same username in another case, or no live username: not checked.
        (live(on_card=True, membership="active"), "ANN", False, ("already_satisfied", ""),
         ("already_satisfied", OTHER_ROLE)),
        (live(membership="active"), "", False, None, ("already_satisfied", OTHER_ROLE)),
    ],
)  # fmt: skip
def test_a_member_the_plan_names_otherwise_drifts(
    board: LiveBoard, username: str, resumed: bool, card: Decision, grant: Decision
) -> None:
    """A member change whose plan username is not the one Trello gives the member id now (the
    board's live memberships name it) is drifted, with both names and what to do; a plan
    without a username, or a member not on the board (the other tests' boards), is not
    checked."""
    named = replace(board, members={"ann": MemberRef("ann", username, "Someone")})
    assert decide_card(CARD, named, resumed=resumed, grant=None) == card
    assert decide_board(GRANT, named, resumed=resumed) == grant
    nameless = replace(CARD, member=MemberRef("ann"))
    assert decide_card(nameless, named, resumed=False, grant=None) != RENAMED


@pytest.mark.parametrize(
    ("change", "board", "resumed", "want"),
    [
        (CARD, live(gone="gone (x)"), False, ("not_on_card", "gone (x)")),
        (CARD, live(gone="gone (x)"), True, ("undone", "")),
        (GRANT, live(gone="gone (x)"), False, ("not_on_card", "gone (x)")),
        (NORMAL_GRANT, live(membership="active"), False, None),
        (NORMAL_GRANT, live(membership="deactivated"), True, None),
        (GRANT, live(), False, ("not_on_card", "the member is no longer on the board")),
        (GRANT, live(), True, ("undone", "")),
        # A card not looked for by id (``live.located``: test_kinds_elsewhere) stays open.
        (CARD, live(card_board=None), True, ("drifted", GONE_CARD[1] + "; check it by hand")),
        (CARD, live(card_board="b2", on_card=True), False,
         ("drifted", GONE_CARD[1] + "; check it by hand")),
        (CARD, live(on_card=True), False, None),
        (CARD, live(on_card=True), True, None),
        (CARD, live(), False, ("not_on_card", "")),
        (CARD, live(), True, ("undone", "")),
    ],
)  # fmt: skip
def test_decide_undo(change: Change, board: LiveBoard, resumed: bool, want: Decision) -> None:
    """Remove what this tool added only where it still is; a resumed removal found done is
    this tool's; a card that is gone or moved is never touched."""
    assert decide_undo(change, board, resumed=resumed) == want


#: Why undo leaves a grant whose role someone changed: the role now, and the one granted.
ROLE_DRIFT = (
    "their role on the board is {} now, {}: someone changed it since, so the membership is "
    "left in place"
)
#: Why undo leaves a grant whose member is on cards the apply did not add them to.
CARD_DRIFT = (
    "on {} of the board the apply did not add them to ({}): removing them from the board "
    "would take them off {} too"
)
NOT_OBSERVER = "not observer as the apply granted"
STOPPED = ("not_attempted", "its card members' removal was not attempted: the run stopped")
FAILED_CARDS = (
    "failed",
    "removing the member from 2 cards the apply added them to failed; removing them from the "
    "board would take them off without a record",
)


def _on(type_: str, cards: dict[str, bool]) -> LiveBoard:
    """Board ``b1`` with ann an active member of type ``type_`` and cards ``k1``… by name
    ``card <id>``, ann on those whose value is True."""
    state = {
        cid: CardState(cid, f"card {cid}", "", "b1", "l1", False, ("ann",) if on else ("ben",))
        for cid, on in cards.items()
    }
    return LiveBoard("b1", state, {"ann": Membership("ann", type_)})


def _drift(why: str, *args: str) -> Decision:
    return "drifted", why.format(*args)


FIVE = {f"k{i}": True for i in range(5)}
TWO = {"k1": True, "k2": True}
N = "normal"


@pytest.mark.parametrize(
    ("change", "board", "undone", "want"),
    [
        # The role granted is checked; an older journal's grant without one: only admin.
        (GRANT, _on("admin", {}), {}, _drift(ROLE_DRIFT, "admin", NOT_OBSERVER)),
        (GRANT, _on(N, {}), {}, _drift(ROLE_DRIFT, N, NOT_OBSERVER)),
        (GRANT, _on("observer", {"k1": False}), {}, None),
        (NO_ROLE, _on("admin", {}), {}, _drift(ROLE_DRIFT, "admin", "which no plan grants")),
        (NO_ROLE, _on("observer", {}), {}, None),
        # The cards the member is on: each taken off in this run (or would be, or found gone).
        (NORMAL_GRANT, _on(N, TWO), {"k1": "undone", "k2": "would_undo"}, None),
        (NORMAL_GRANT, _on(N, TWO), {"k1": "not_on_card", "k2": "undone"}, None),
        # Cards the apply did not add them to.
        (NORMAL_GRANT, _on(N, {"k1": True}), {}, _drift(CARD_DRIFT, "1 card", '"card k1"', "it")),
        (NORMAL_GRANT, _on(N, TWO), {"k1": "undone"},
         _drift(CARD_DRIFT, "1 card", '"card k2"', "it")),
        (NORMAL_GRANT, _on(N, FIVE), {"k0": "undone", "k1": "not_attempted"},
         _drift(CARD_DRIFT, "3 cards", '"card k2", "card k3", "card k4"', "those")),
        (NORMAL_GRANT, _on(N, FIVE), {"k0": "undone"},
         _drift(CARD_DRIFT, "4 cards", '"card k1", "card k2", "card k3", …', "those")),
        # Only cards the apply added them to, whose removal was not attempted or failed.
        (NORMAL_GRANT, _on(N, TWO), {"k1": "undone", "k2": "not_attempted"}, STOPPED),
        (NORMAL_GRANT, _on(N, TWO), {"k1": "failed", "k2": "failed"}, FAILED_CARDS),
        (NORMAL_GRANT, _on(N, TWO), {"k1": "failed", "k2": "drifted"},
         ("failed", FAILED_CARDS[1].replace("2 cards", "1 card"))),
        # Left on them by this undo, drifted (put back by someone): kept, drifted (R37e).
        (NORMAL_GRANT, _on(N, TWO), {"k1": "undone", "k2": "drifted"},
         ("drifted", 'on 1 card the apply added them to that this undo leaves in place ("card '
          'k2": drifted); removing them from the board would take them off it too')),
    ],
)  # fmt: skip
def test_undo_of_a_grant_leaves_what_someone_changed_since(
    change: Change, board: LiveBoard, undone: dict[str, str], want: Decision
) -> None:
    """A board membership the apply granted is left in place (drifted, with why) when its role
    is not the one granted, or when the member is on cards of the board the apply did not add
    them to (removing them from the board would take them off those); not removed yet while
    the removal from cards the apply added them to did not go through."""
    assert decide_undo(change, board, resumed=False, cards_undone=undone) == want
    needers = [(replace(CARD, change_id=f"c-{k}", card_id=k), v) for k, v in undone.items()]
    got = BoardMembership().decide_undo_after(change, board, resumed=False, needers=needers)
    assert got == want


#: Why undo keeps a grant for the cards another run of this tool added the member to (U23).
KEPT = (
    "kept for {} of the board {} of this tool added them to ({}; {}, not undone yet): undo {} "
    "the membership with {}"
)
J2, J3 = "/j/plan-2.jsonl", "/j/plan-3.jsonl"


@pytest.mark.parametrize(
    ("board", "undone", "elsewhere", "want"),
    [
        # Only cards another journal holds open: kept for them, naming it and what to run.
        (_on(N, {"k1": True}), {}, {"k1": J2},
         _drift(KEPT, "1 card", "another run", '"card k1"', f"journal {J2}",
                "that journal, and it removes", "the card")),
        (_on(N, FIVE), {"k0": "undone"}, {f"k{i}": J2 if i % 2 else J3 for i in range(1, 5)},
         _drift(KEPT, "4 cards", "other runs", '"card k1", "card k2", "card k3", …',
                f"journals {J2}, {J3}", "those journals, and the last removes", "those cards")),
        # Taken off by this undo (or gone): they count for nothing, as before.
        (_on(N, TWO), {"k1": "undone"}, {"k2": J2, "k9": J2},
         _drift(KEPT, "1 card", "another run", '"card k2"', f"journal {J2}",
                "that journal, and it removes", "the card")),
        (_on(N, {"k1": True}), {"k1": "undone"}, {"k1": J2}, None),
        # A colleague's card still wins; this apply's own cards not yet off come first.
        (_on(N, TWO), {}, {"k2": J2}, _drift(CARD_DRIFT, "1 card", '"card k1"', "it")),
        (_on(N, TWO), {"k1": "not_attempted"}, {"k2": J2}, STOPPED),
        (_on(N, {"k0": True, "k1": True, "k2": True}), {"k0": "failed", "k1": "failed"},
         {"k2": J2}, FAILED_CARDS),
    ],
)  # fmt: skip
def test_a_grant_is_kept_for_the_cards_another_run_of_the_tool_added(
    board: LiveBoard, undone: dict[str, str], elsewhere: dict[str, str], want: Decision
) -> None:
    """Cards of the board other journals of this tool added the member to and have not undone
    (``elsewhere``) are not a colleague's: the grant is kept for them (drifted), naming those
    journals and that undoing them removes it; they never hide a colleague's card, nor this
    undo's own cards whose removal did not go through."""
    assert (
        decide_undo(NORMAL_GRANT, board, resumed=False, cards_undone=undone, elsewhere=elsewhere)
        == want
    )
    needers = [(replace(CARD, change_id=f"c-{k}", card_id=k), v) for k, v in undone.items()]
    got = BoardMembership().decide_undo_kept(
        NORMAL_GRANT, board, resumed=False, needers=needers, elsewhere=elsewhere
    )
    assert got == want


def test_a_grant_journals_its_role() -> None:
    """The apply's record of a grant keeps the role (as a value written), and undo reads it
    back; an older journal's record (no values) gives a grant without a role."""
    kind = BoardMembership()
    values = kind.record_values(NORMAL_GRANT, "apply")
    role = {"object_type": "board", "object_id": "b1", "field": "role"}
    assert values == {**role, "seen": None, "written": "normal"}
    ids = replace(NORMAL_GRANT, role="")
    assert kind.from_record(ids, values).role == "normal"
    assert kind.from_record(ids, None).role == ""
    assert kind.record_values(ids, "apply") is None
    assert kind.record_values(NORMAL_GRANT, "undo") == {**values, "seen": "normal", "written": None}


@pytest.mark.parametrize(
    ("change", "board", "want"),
    [
        (CARD, live(gone="the board is gone (x)"), (None, "the board is gone (x)")),
        (GRANT, live(gone=""), (None, "the board cannot be read")),
        (GRANT, live(membership="active"), ("applied", FOUND)),
        (GRANT, live(membership="unconfirmed"), ("not_applied", NOT_FOUND)),
        (GRANT, live(), ("not_applied", NOT_FOUND)),
        (CARD, live(card_board=None), (None, GONE_CARD[1])),
        (CARD, live(card_board="b2", on_card=True), (None, GONE_CARD[1])),
        (CARD, live(on_card=True), ("applied", FOUND)),
        (CARD, live(), ("not_applied", NOT_FOUND)),
    ],
)  # fmt: skip
def test_resolve(change: Change, board: LiveBoard, want: Resolution) -> None:
    """An interrupted write: there now means this tool's; absent means it never took effect;
    an unreadable board or card cannot tell."""
    assert resolve(change, board) == want


def test_each_kind_decides_through_its_decider() -> None:
    """A kind's ``decide`` is its pure decider, given the context's fields."""
    ctx = Context(resumed=True, dry_run=True, deactivated_on="board b9", needed="would_apply")
    for board in (live(), live(on_card=True), live(membership="active")):
        assert BoardMembership().decide(GRANT, board, ctx) == decide_board(
            GRANT, board, resumed=True, deactivated_on="board b9"
        )
        assert CardMember().decide(CARD, board, Context(needed="would_apply", dry_run=True)) == (
            decide_card(CARD, board, resumed=False, grant="would_apply", dry_run=True)
        )
        for kind, change in ((BoardMembership(), GRANT), (CardMember(), CARD)):
            for resumed in (False, True):
                assert kind.decide_undo(change, board, resumed=resumed) == decide_undo(
                    change, board, resumed=resumed
                )
            assert kind.resolve(change, board) == resolve(change, board)


# ----------------------------------------------------------------------------- registry


def test_the_registry() -> None:
    """One entry per action; grants apply first; an unknown action is no kind."""
    assert [k.action for k in KINDS] == [
        "add_member_to_card",
        "add_member_to_board",
        "set_list_closed",
        "move_card_to_list",
        "set_card_closed",
        "set_card_field",
    ]
    # design.md §10.3: grants, list unarchives, card moves and unarchives, fields, members.
    assert [type(k) for k in in_order()] == [
        BoardMembership,
        ListClosed,
        CardMove,
        CardClosed,
        CardField,
        CardMember,
    ]
    assert all(kind_of(k.action) is k for k in KINDS)
    assert {k.summary_key for k in KINDS if k.format_version == 1} == {
        "board_changes",
        "card_changes",
    }
    with pytest.raises(KeyError):
        kind_of("add_member_to_list")
    assert [known(a) for a in ("add_member_to_board", "add_member_to_list", None)] == [
        True,
        False,
        False,
    ]
    assert all(isinstance(k, ChangeKind) for k in KINDS)


def test_the_shipped_schema_is_the_one_the_kinds_make() -> None:
    """``schema/plan-v1.schema.json`` is what ``build_schema`` composes from the kinds'
    fragments: it validates exactly what it did, and a kind's JSON shape lives in its entry."""
    text = resources.files("trello_restore").joinpath("schema/plan-v1.schema.json").read_text()
    assert json.loads(text) == build_schema()


@pytest.mark.parametrize(
    ("kind", "change"),
    [
        (BoardMembership(), GRANT),
        (CardMember(), CARD),
        (CardMember(), Change(
            "c-000000000000000c", "add_member_to_card", "b1", "", MemberRef("zed"),
            list_id="l1", card_id="k1",
            evidence=Evidence("reconstructed", "a2", T.replace(microsecond=286000), LEAD),
        )),
    ],
)  # fmt: skip
def test_json_round_trip_and_schema(kind: ChangeKind, change: Change) -> None:
    """``to_json`` gives what the kind's schema fragment accepts; ``from_json`` gives the
    change back (the evidence actor's full name is not in the file)."""
    doc = kind.to_json(change)
    assert doc["action"] == kind.action
    schema = build_schema()
    fragment = {"$defs": schema["$defs"], **schema["$defs"][kind.schema_name]}
    jsonschema.Draft202012Validator(fragment).validate(doc)
    assert kind.from_json(json.loads(json.dumps(doc))) == change
    assert kind.to_json(kind.from_json(doc)) == doc


def test_a_card_change_without_evidence_cannot_be_written() -> None:
    """The planner gives every card change its evidence; one without is a bug."""
    bare = Change("c-x", "add_member_to_card", "b1", "Team", ANN, card_id="k1")
    with pytest.raises(ValueError, match="c-x has no evidence"):
        CardMember().to_json(bare)
    assert CardMember().evidence(bare, verbose=True) == ""


#: A card add of a member not on the board, with no grant before it in the plan.
NO_GRANT = (
    "adds @ann to a card before granting board membership (a grant deleted by hand? delete that "
    'member\'s card adds on board "Team" (b1) too, or put the grant back before them)'
)


@pytest.mark.parametrize(
    ("change", "add_to_board", "provided", "want"),
    [
        (GRANT, True, set(), None),
        (GRANT, False, set(), "grants board membership but add_to_board is false"),
        (CARD, False, set(), "adds a member who is not on the board but add_to_board is false "
                              "(it should be blocked)"),
        (CARD, True, set(), NO_GRANT),
        (CARD, True, {("board_member", "b1", "ann")}, None),
        (CARD, True, {("board_member", "b2", "ann")}, NO_GRANT),
        (replace(CARD, member=MemberRef("ann")), True, set(), NO_GRANT.replace("@ann", "ann", 1)),
        (Change("c-o", "add_member_to_card", "b1", "Team", ANN, card_id="k1",
                member_on_board=True), False, set(), None),
    ],
)  # fmt: skip
def test_plan_problems(
    change: Change, add_to_board: bool, provided: set[Hashable], want: str | None
) -> None:
    """What a consistent plan needs of each change: a grant only with add_to_board, a card
    member not on the board only after the grant of that board to that member."""
    options = PlanOptions(since=T, add_to_board=add_to_board)
    kind = kind_of(change.action)
    assert kind.plan_problem(change, options, set(provided)) == want


def test_needs_and_provides() -> None:
    """A card member needs the grant of its board to its member, which the grant provides."""
    board, card = BoardMembership(), CardMember()
    assert card.needs(CARD) == board.provides(GRANT) == ("board_member", "b1", "ann")
    assert board.needs(GRANT) is None
    assert card.provides(CARD) is None


class Recorder:
    """Stands in for ``TrelloApi``'s writes: records each call, answers None."""

    def __init__(self) -> None:
        self.calls: list[tuple[Any, ...]] = []

    def __getattr__(self, name: str) -> Any:
        def call(*args: Any) -> None:
            self.calls.append((name, *args))

        return call


@pytest.mark.parametrize(
    ("kind", "change", "write", "remove"),
    [
        (BoardMembership(), GRANT, ("add_board_member", "b1", "ann", "observer"),
         ("remove_board_member", "b1", "ann")),
        (BoardMembership(), Change("c-n", "add_member_to_board", "b1", "", ANN),
         ("add_board_member", "b1", "ann", "normal"), ("remove_board_member", "b1", "ann")),
        (CardMember(), CARD, ("add_card_member", "k1", "ann"), ("remove_card_member", "k1", "ann")),
    ],
)  # fmt: skip
def test_writes_and_removals(
    kind: ChangeKind, change: Change, write: tuple[str, ...], remove: tuple[str, ...]
) -> None:
    """One call each, with the member as py-trello reads it (its id) and the plan's role
    (``normal`` when the plan names none)."""
    api = Recorder()
    kind.write(api, change)  # type: ignore[arg-type]
    kind.remove(api, change)  # type: ignore[arg-type]
    got = [(name, args[0], args[1].id, *args[2:]) for name, *args in api.calls]
    assert got == [write, remove]
    assert api.calls[0][2].username == "ann"


def test_write_rules() -> None:
    """How the answers read: "already on the card" is success (this tool's after its own
    attempt), "not on the card/board" ends an undo (``undone`` after its own attempt), and a
    card add's "Invalid objectId" says the member left the card's board."""
    board, card = BoardMembership(), CardMember()
    assert board.write_rule(True) == WriteRule("applied", resumed=True)
    gone = (
        f"{NOT_ACTIVE_MEMBER} now (taken off it or deactivated since this run read it): left alone"
    )
    assert card.write_rule(False) == WriteRule(
        "applied", ALREADY_ON_CARD, "applied", "already_satisfied", False, invalid=gone
    )
    assert card.undo_rule(True) == WriteRule("undone", NOT_ON_CARD, "undone", "not_on_card", True)
    assert board.undo_rule(False) == WriteRule(
        "undone", NOT_ON_BOARD, "undone", "not_on_card", False
    )
    assert (board.undone_by_default, card.undone_by_default) == (False, True)


def test_cannot_tell_lines() -> None:
    """What to check by hand when live state cannot settle an interrupted write."""
    assert BoardMembership().cannot_tell(GRANT, "gone") == (
        "cannot tell whether the interrupted grant of board b1 to member ann took effect: gone; "
        "check the board's members and remove the member by hand if it did"
    )
    assert CardMember().cannot_tell(CARD, "gone") == (
        "cannot tell whether the interrupted add of member ann to card k1 took effect: gone; if "
        "the card still exists, check it and remove the member by hand"
    )


EVER = Evidence("ever_added", "a3", T, MemberRef("lead", ""), app="Butler")


@pytest.mark.parametrize(
    ("evidence", "verbose", "text"),
    [
        (CARD.evidence, False,
         "removed by @danak 2025-11-02 12:02:00 UTC, with a move to another board"),
        (CARD.evidence, True, "removed by @danak 2025-11-02 12:02:00 UTC, with a move to another "
                              "board [action a1, move mv1]"),
        (Evidence("recorded_removal", "a1", T, LEAD), True,
         "removed by @danak 2025-11-02 12:02:00 UTC [action a1]"),
        (Evidence("reconstructed", "a2", T, LEAD), False,
         "lost without a logged removal; added 2025-11-02 by @danak (reconstructed)"),
        (EVER, True, "not on the card now; added 2025-11-02 by Butler (app, on behalf of lead) "
                     "(mode ever-added) [action a3]"),
    ],
)  # fmt: skip
def test_evidence_text(evidence: Evidence, verbose: bool, text: str) -> None:
    """Each kind of evidence, terse and verbose."""
    change = Change("c", "add_member_to_card", "b1", "Team", ANN, card_id="k1", evidence=evidence)
    assert CardMember().evidence(change, verbose) == text


def test_text() -> None:
    """Headings, plan lines, outcome labels (by name, and by ids without the plan)."""
    board, card = BoardMembership(), CardMember()
    assert board.heading("Would", 2) == "Would grant board membership first (2)"
    assert card.heading("Will", 1) == "Will re-add card members (1)"
    assert board.describe(GRANT) == "Ann Example (@ann) to Team as observer"
    assert board.describe(Change("c", "add_member_to_board", "b7", "", MemberRef("m"))) == (
        "m to b7 as "
    )
    assert card.describe(CARD) == "Ann Example (@ann)"
    assert board.evidence(GRANT, verbose=True) == ""
    assert board.label(GRANT) == "Ann Example (@ann) → board Team as observer"
    assert card.label(CARD) == "Ann Example (@ann) → card Ship it (https://trello.com/c/AbCd1234)"
    plain = Change("c", "add_member_to_card", "b1", "", MemberRef("m", "", "M"), card_id="k9")
    assert card.label(plain) == "M (m) → card k9"
    assert board.unnamed("m", "b1", "") == "member m on board b1"
    assert card.unnamed("m", "b1", "k1") == "member m on card k1"
    assert (board.noun, card.noun) == ("board membership", "card member")


# ------------------------------------------------------------------ a new kind, end to end


class CardUnarchived(ChangeKind):
    """A kind the tool does not have, written the way ``docs/DEVELOPING.md`` says: unarchive
    a card (a one-way cut of design.md §10's ``set_card_closed``). Registered for one test,
    it goes through the plan file, the schema, the text, apply, resume and undo with no edit
    anywhere else."""

    action = "unarchive_card"
    order = 30  # after board memberships, before card members
    summary_key = "unarchive_changes"
    noun = "unarchived card"
    schema_name = "unarchive_change"
    grouped = True

    def to_json(self, c: Change) -> dict[str, Any]:
        return {
            "change_id": c.change_id,
            "action": c.action,
            "board": {"id": c.board_id, "name": c.board_name},
            "list": {"id": c.list_id, "name": c.list_name},
            "card": {"id": c.card_id, "name": c.card_name, "shortLink": c.card_short_link},
        }

    def from_json(self, d: Mapping[str, Any]) -> Change:
        card = d["card"]
        return Change(
            d["change_id"], self.action, d["board"]["id"], d["board"]["name"], MemberRef(""),
            list_id=d["list"]["id"], list_name=d["list"]["name"], card_id=card["id"],
            card_name=card["name"], card_short_link=card["shortLink"],
        )  # fmt: skip

    def schema(self) -> dict[str, Any]:
        refs = {k: {"$ref": f"#/$defs/{k}"} for k in ("change_id", "board", "list", "card")}
        return {
            "type": "object",
            "additionalProperties": False,
            "required": ["change_id", "action", "board", "list", "card"],
            "properties": {**refs, "action": {"const": self.action}},
        }

    def _card(self, c: Change, live: LiveBoard) -> CardState | None:
        card = live.cards.get(c.card_id) if live.cards is not None else None
        return card if card is not None and card.board_id == c.board_id else None

    def decide(self, c: Change, live: LiveBoard, ctx: Context) -> Decision:
        card = self._card(c, live)
        if card is None:
            return "drifted", "the card was deleted or moved to another board"
        if not card.closed:
            return ("applied", "") if ctx.resumed else ("already_satisfied", "")
        return None

    def _set_closed(self, api: TrelloApi, c: Change, closed: bool) -> object:
        query = {"closed": "true" if closed else "false"}
        return api.client.fetch_json(f"/cards/{c.card_id}", "PUT", query_params=query)

    def write(self, api: TrelloApi, c: Change) -> object:
        return self._set_closed(api, c, False)

    def write_rule(self, resumed: bool) -> WriteRule:
        return WriteRule("applied", resumed=resumed)

    def decide_undo(self, c: Change, live: LiveBoard, *, resumed: bool) -> Decision:
        card = self._card(c, live)
        if card is None or card.closed:
            return ("undone", "") if resumed else ("not_on_card", "archived again already")
        return None

    def remove(self, api: TrelloApi, c: Change) -> object:
        return self._set_closed(api, c, True)

    def undo_rule(self, resumed: bool) -> WriteRule:
        return WriteRule("undone", resumed=resumed)

    def resolve(self, c: Change, live: LiveBoard) -> Resolution:
        card = self._card(c, live)
        if card is None:
            return None, "the card was deleted or moved to another board"
        return ("not_applied", NOT_FOUND) if card.closed else ("applied", FOUND)

    def cannot_tell(self, c: Change, why: str) -> str:
        return f"cannot tell whether card {c.card_id} was unarchived: {why}"

    def heading(self, would: str, n: int) -> str:
        return f"{would} unarchive cards ({n})"

    def describe(self, c: Change) -> str:
        return "unarchive"

    def label(self, c: Change) -> str:
        return f"unarchive card {c.card_name or c.card_id}"

    def unnamed(self, member_id: str, board_id: str, card_id: str) -> str:
        return f"card {card_id} unarchived"


#: The ids of the small world's team board, its "Doing" list and its archived card.
BOARD, LIST, ARCHIVED = "b-team", "l-doing", "k-archived"


def unarchive(board: str = BOARD, list_id: str = LIST, card: str = ARCHIVED) -> Change:
    """The one change of the new kind the tests use."""
    return Change(
        "c-00000000000000cc", "unarchive_card", board, "Team", MemberRef(""),
        list_id=list_id, list_name="Doing", card_id=card, card_name="C_ARCHIVED",
    )  # fmt: skip


def test_a_new_kind_is_one_entry(monkeypatch: pytest.MonkeyPatch) -> None:
    """With one more entry in ``KINDS`` and nothing else: the schema composed from the kinds
    takes its plan file, the plan reads back typed, and the text shows it in its place, with
    the frame's defaults for what it does not say (``test_apply_new_kind.py`` applies and
    undoes it over HTTP)."""
    monkeypatch.setattr("trello_restore.kinds.KINDS", (*KINDS, CardUnarchived()))
    change = unarchive()
    plan = Plan(PlanOptions(since=T), (change,), (), ())
    meta = PlanMeta("0.1.0", T, "http://x/1", MemberRef("lead", "lead"), ((BOARD, "Team"),), "api")
    doc = plan_to_dict(plan, meta)
    jsonschema.Draft202012Validator(build_schema()).validate(doc)
    assert doc["summary"]["unarchive_changes"] == 1
    assert plan_from_dict(doc) == (plan, meta)
    text = render_text(plan, meta)
    lines = "Would unarchive cards (1)\n  Team\n    Doing\n      C_ARCHIVED\n        + unarchive"
    assert lines in text
    assert text.endswith(
        "Summary: 1 change (0 board memberships, 1 unarchived card, 0 card members), "
        "0 blocked, 0 skipped. Dry run: nothing was changed.\n"
    )
    assert change_labels(plan) == {change.change_id: "unarchive card C_ARCHIVED"}
    kind = kind_of("unarchive_card")  # what it leaves to the frame's defaults
    assert kind.plan_problem(change, plan.options, set()) is None
    assert (kind.needs(change), kind.provides(change)) == (None, None)
    assert kind.evidence(change, True) == ""
