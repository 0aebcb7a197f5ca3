"""Parsing Trello JSON into the planner's values (``history.py``), from literal dicts.

Each action is built by ``action(type, id, **data)``: the shape Trello returns, with only what a
test needs; the sandbox's rendering and real samples are held to these shapes elsewhere
(``test_fidelity.py``, ``test_trello_realism.py``).
"""

from __future__ import annotations

import re
from dataclasses import replace
from datetime import UTC, datetime, timedelta, timezone
from typing import Any

import pytest

from trello_restore.history import (
    ACTION_FILTER,
    FROM_THE_START,
    HistoryBuilder,
    HistoryError,
    action_filter,
    app_name,
    credit_apps,
    members_from_listing,
    parse_board,
    parse_card,
    parse_date,
    parse_history,
)
from trello_restore.history_parts import board_names
from trello_restore.models import (
    Blocked,
    CardInfo,
    Change,
    Evidence,
    MemberAction,
    MemberRef,
    Membership,
    MoveAction,
    Plan,
    PlanOptions,
)
from trello_restore.words import by_app

T = datetime(2025, 11, 2, 12, 0, tzinfo=UTC)
LEAD = {"id": "lead", "username": "leader", "fullName": "Lee Lead"}


def stamp(minute: float) -> str:
    return (T + timedelta(minutes=minute)).strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3] + "Z"


def action(
    type_: str, aid: str, minute: float = 0, *, board: str | None = "b1", **data: Any
) -> dict[str, Any]:
    """An action as Trello returns it, made by ``lead`` (``memberCreator`` included)."""
    if board is not None:
        data.setdefault("board", {"id": board, "name": board.upper()})
    return {
        "id": aid,
        "type": type_,
        "date": stamp(minute),
        "idMemberCreator": "lead",
        "memberCreator": LEAD,
        "data": data,
    }


def card(cid: str = "c1", name: str = "C1", link: str = "c1-link") -> dict[str, str]:
    return {"id": cid, "name": name, "shortLink": link}


def member_action(type_: str, aid: str, member: str, minute: float = 0, **data: Any) -> Any:
    return action(type_, aid, minute, card=card(), idMember=member, **data)


# ----------------------------------------------------------------------------------- dates


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("2021-07-10T17:01:58.636Z", datetime(2021, 7, 10, 17, 1, 58, 636000, tzinfo=UTC)),
        ("2021-07-10T19:01:58+02:00", datetime(2021, 7, 10, 17, 1, 58, tzinfo=UTC)),
        ("2021-07-10T17:01:58", datetime(2021, 7, 10, 17, 1, 58, tzinfo=UTC)),
    ],
)
def test_parse_date(text: str, expected: datetime) -> None:
    """Trello's dates, any ISO-8601 zone, and a date without a zone are aware UTC."""
    got = parse_date(text)
    assert got == expected
    assert got.tzinfo == UTC


# ------------------------------------------------------------------------- member actions


def test_add_and_remove_actions() -> None:
    """``addMemberToCard``/``removeMemberFromCard`` become dated, attributed member actions."""
    h = parse_history(
        [
            member_action("removeMemberFromCard", "r1", "m1", 5, deactivated=True),
            member_action("addMemberToCard", "a1", "m1", -60),
        ]
    )
    assert h.member_actions == (
        MemberAction("a1", "add", T - timedelta(hours=1), "c1", "m1", "lead", "b1"),
        MemberAction("r1", "remove", T + timedelta(minutes=5), "c1", "m1", "lead", "b1", True),
    )
    assert h.members == {"lead": MemberRef("lead", "leader", "Lee Lead")}
    assert h.cards == {"c1": CardInfo("c1", "C1", "c1-link", "b1", "")}


def test_the_member_may_be_named_by_the_member_object_only() -> None:
    """Old actions carry ``member`` (top level or in data) instead of ``data.idMember``; the
    names they carry are kept."""
    old = action("addMemberToCard", "a1", card=card())
    old["member"] = {"id": "m1", "username": "em", "fullName": "Em One"}
    in_data = action("removeMemberFromCard", "r1", 1, card=card(), idMember="m2")
    in_data["data"]["member"] = {"id": "m2", "name": "Two Only"}  # an old action's "name"
    h = parse_history([old, in_data])
    assert [(a.member_id, a.kind) for a in h.member_actions] == [("m1", "add"), ("m2", "remove")]
    assert h.members["m1"] == MemberRef("m1", "em", "Em One")
    assert h.members["m2"] == MemberRef("m2", "", "Two Only")


def test_a_member_action_that_names_no_member_is_refused() -> None:
    """Without ``data.idMember`` or a member object the action cannot be replayed."""
    with pytest.raises(HistoryError, match="removeMemberFromCard r1 names no member"):
        parse_history([action("removeMemberFromCard", "r1", card=card())])


def test_a_member_action_without_a_card_is_not_a_member_action() -> None:
    """Nothing to replay on: it is ignored."""
    assert parse_history([action("addMemberToCard", "a1", idMember="m1")]).member_actions == ()


def test_an_automations_action_is_its_members_with_the_apps_name() -> None:
    """An automation (``appCreator``, no ``memberCreator``) acts for ``idMemberCreator``; the
    member is still who acted, and the app's name rides along."""
    raw = member_action("removeMemberFromCard", "r1", "m1")
    del raw["memberCreator"]
    raw["appCreator"] = {"id": "app1", "name": "  Butler \n bot "}
    h = parse_history([raw])
    (a,) = h.member_actions
    assert (a.by, a.app) == ("lead", "Butler bot")
    assert h.members == {}  # no member object: nothing is known of the member's names


@pytest.mark.parametrize(
    ("app", "member_creator", "expected"),
    [
        pytest.param(None, False, "", id="a person (no appCreator)"),
        pytest.param("not an object", False, "", id="appCreator not an object"),
        pytest.param({"id": "x", "name": "Butler"}, True, "Butler", id="named app"),
        pytest.param({"name": " ", "displayName": "Zapier"}, False, "Zapier", id="displayName"),
        pytest.param({"fullName": "Bot", "username": "bot"}, False, "Bot", id="fullName"),
        pytest.param({"username": "bot"}, False, "bot", id="username"),
        pytest.param({"id": "app9"}, True, "", id="nameless app on a person's key"),
        pytest.param({"id": "app9"}, False, "app app9", id="nameless automation: its id"),
        pytest.param({"id": ""}, False, "an app", id="no name, no id"),
    ],
)
def test_app_name(app: Any, member_creator: bool, expected: str) -> None:
    """Which app an action was made through, when that matters for the plan's wording."""
    raw: dict[str, Any] = {"appCreator": app} if app is not None else {}
    if member_creator:
        raw["memberCreator"] = LEAD
    assert app_name(raw) == expected


@pytest.mark.parametrize(
    ("app", "said"),
    [
        ("Butler", "Butler (app, on behalf of @lead)"),
        ("app 5c9a0a7b3e2f1d0c4b5a6978", "app 5c9a0a7b3e2f1d0c4b5a6978 (on behalf of @lead)"),
        ("an app", "an app (on behalf of @lead)"),
    ],
)
def test_an_app_is_said_to_be_one_once(app: str, said: str) -> None:
    """How a plan names an app that acted for a member: a named one with "app", and one known
    by its id alone (``app_name``'s ``app <id>``, as the sandbox's automation is, R71b) without
    saying "app" twice."""
    assert by_app(app, MemberRef("m1", "lead")) == said


# ----------------------------------------------------------------------------- de-duplication


def test_actions_are_de_duplicated_by_id() -> None:
    """The same action from two feeds (or two pages) counts once; the first copy wins."""
    first = member_action("addMemberToCard", "a1", "m1", -5)
    again = member_action("addMemberToCard", "a1", "m2", -5)
    again["data"]["board"] = {"id": "b2"}
    h = parse_history([first, again, first])
    assert [(a.id, a.member_id, a.board_id) for a in h.member_actions] == [("a1", "m1", "b1")]
    assert h.oldest == {"b1": T - timedelta(minutes=5), "b2": T - timedelta(minutes=5)}


def test_oldest_is_the_oldest_action_seen_per_feed() -> None:
    """Every action counts for its feed's oldest date, repeats included; no board, no feed."""
    h = parse_history(
        [
            action("commentCard", "x1", 3, card=card()),
            action("commentCard", "x2", -3, card=card()),
            action("commentCard", "x3", 1, card=card()),
            action("createList", "x4", -9, board=None),
        ]
    )
    assert h.oldest == {"b1": T - timedelta(minutes=3)}


def test_a_builder_fed_page_by_page_equals_one_parse() -> None:
    """Pages in any order, repeated, give the history one parse gives."""
    actions = [member_action("addMemberToCard", f"a{i}", f"m{i}", i) for i in range(6)]
    builder = HistoryBuilder()
    for page in (actions[3:], actions[:4], actions[2:3]):
        builder.add(page)
    assert builder.build() == parse_history(actions)


@pytest.mark.parametrize(
    ("raw", "needle"),
    [
        pytest.param({"type": "x", "date": stamp(0), "idMemberCreator": "m", "data": {}}, "'id'",
                     id="no id"),
        pytest.param({**action("x", "a1"), "date": "yesterday"}, "yesterday", id="bad date"),
        pytest.param({**action("x", "a1"), "date": None}, "NoneType", id="date not a string"),
        pytest.param({**action("x", "a1"), "data": []}, "list", id="data not an object"),
        # R51a: values of another type where Trello has a text
        pytest.param({**action("x", "a1"), "id": 1.5}, "not text", id="id not a text"),
        pytest.param({**action("x", "a1"), "idMemberCreator": {}}, "not text", id="by"),
        pytest.param(action("x", "a1", board=None) | {"data": {"board": {"id": 7}}}, "not text",
                     id="board id not a text"),
        pytest.param(member_action("addMemberToCard", "a1", "m1") | {"member": "m1"}
                     | {"data": {"card": card()}}, "AttributeError", id="member not an object"),
    ],
)  # fmt: skip
def test_what_is_not_an_action(raw: dict[str, Any], needle: str) -> None:
    """JSON that is not a Trello action is a HistoryError, not a crash."""
    with pytest.raises(HistoryError, match="not a Trello action") as err:
        parse_history([raw])
    assert needle in str(err.value)


# ---------------------------------------------------------------------- moves and places


def test_moves_between_boards() -> None:
    """Card and list moves, both directions: who, what, from where, to where."""
    h = parse_history(
        [
            action("moveCardToBoard", "mv1", 1, board="b2", card=card(), list={"id": "l9"},
                   boardSource={"id": "b1"}),
            action("moveCardFromBoard", "mv2", 2, card=card(), boardTarget={"id": "b2"}),
            action("moveListToBoard", "mv3", 3, board="b2", list={"id": "l1"},
                   boardSource={"id": "b1"}),
            action("moveListFromBoard", "mv4", 4, list={"id": "l1"},
                   boardTarget={"id": "b2", "name": "Archive"}),
            action("moveCardToBoard", "mv5", 5, board="b2", card=card("c2"), boardSource=None),
            action("moveCardToBoard", "mv6", 6, board="b2", card=card("c3"),
                   boardSource={"id": "b1", "name": "Team"}),
        ]
    )  # fmt: skip
    at = [T + timedelta(minutes=m) for m in range(7)]
    assert h.moves == (
        MoveAction("mv1", "moveCardToBoard", at[1], "lead", "c1", None, "b1", "b2"),
        MoveAction("mv2", "moveCardFromBoard", at[2], "lead", "c1", None, "b1", "b2"),
        MoveAction("mv3", "moveListToBoard", at[3], "lead", None, "l1", "b1", "b2"),
        MoveAction("mv4", "moveListFromBoard", at[4], "lead", None, "l1", "b1", "b2", "Archive"),
        MoveAction("mv5", "moveCardToBoard", at[5], "lead", "c2", None, "", "b2"),
        MoveAction("mv6", "moveCardToBoard", at[6], "lead", "c3", None, "b1", "b2", "Team"),
    )
    assert h.card_lists == ((at[1], "c1", "l9"),), "a card moved to a board lands in a list"
    # The other board of each move, and the name the newest move that names it gives it.
    assert [m.other_board() for m in h.moves] == ["b1", "b2", "b1", "b2", "", "b1"]
    assert board_names(h.moves) == {"b1": "Team", "b2": "Archive"}
    renamed = replace(h.moves[0], date=at[6], id="mv7", other_board_name="Team 2")
    assert board_names([*h.moves, renamed]) == {"b1": "Team 2", "b2": "Archive"}


def test_where_cards_went() -> None:
    """Creation, copy, conversion and list changes place a card; other updates do not."""
    h = parse_history(
        [
            action("createCard", "x1", 1, card=card("c1"), list={"id": "l1"}),
            action("copyCard", "x2", 2, card=card("c2"), list={"id": "l1"}),
            action("convertToCardFromCheckItem", "x3", 3, card=card("c3"), list={"id": "l2"}),
            action("updateCard", "x4", 4, card=card("c1"), listAfter={"id": "l2"},
                   listBefore={"id": "l1"}),
            action("updateCard", "x5", 5, card=card("c1"), list={"id": "l1"}),
            action("convertToCardFromCheckItem", "x6", 6, card=card("c4")),
        ]
    )  # fmt: skip
    at = [T + timedelta(minutes=m) for m in range(7)]
    assert h.card_lists == ((at[1], "c1", "l1"), (at[2], "c2", "l1"), (at[3], "c3", "l2"),
                            (at[4], "c1", "l2"))  # fmt: skip


def test_deleted_cards() -> None:
    """``deleteCard`` records the card and the action; the card's name is remembered."""
    h = parse_history([action("deleteCard", "d1", card={"id": "c1"}, list={"id": "l1"})])
    assert h.deleted_cards == {"c1": "d1"}
    assert h.cards == {"c1": CardInfo("c1", "", "", "b1", "l1")}
    assert parse_history([action("deleteCard", "d1")]).deleted_cards == {}


def test_a_cards_names_come_from_the_newest_action_that_carries_them() -> None:
    """Whatever order the actions arrive in, each field is the newest non-empty value."""
    old = action("createCard", "x1", 1, card=card(name="Old", link="lnk"), list={"id": "l1"})
    new = action("updateCard", "x2", 2, card={"id": "c1", "name": "New"}, board="b2")
    tie = action("updateCard", "x0", 2, card={"id": "c1", "name": "Tie, older id"})
    expected = CardInfo("c1", "New", "lnk", "b2", "l1")
    assert parse_history([old, new, tie]).cards["c1"] == expected
    assert parse_history([tie, new, old]).cards["c1"] == expected


# ---------------------------------------------------------------------- cards, boards, names


def test_parse_card() -> None:
    """A card now: names, place, archived flag and members; optional fields default."""
    raw = {"id": "c1", "idBoard": "b1", "idList": "l1", "idMembers": ["m1", "m2"], "closed": True}
    got = parse_card(raw)
    assert (got.name, got.short_link, got.closed, got.member_ids) == ("", "", True, ("m1", "m2"))
    # A null name is none, not "None"; a null flag false (R45f).
    got = parse_card({**raw, "name": None, "closed": None, "dueComplete": None, "desc": None})
    assert (got.name, got.closed, got.due_complete, got.desc) == ("", False, False, "")
    # A flag that is not a boolean is not Trello's (R45f: "false" was read as true).
    for broken in (
        {**raw, "idMembers": None},
        {"id": "c1"},
        {**raw, "closed": "false"},
        {**raw, "closed": 1},
        {**raw, "dueComplete": "true"},
    ):
        with pytest.raises(HistoryError, match="not a Trello card"):
            parse_card(broken)
    # Dates as Trello writes them, whatever ISO 8601 form they came in (R45f: "+00:00" went
    # into the plan as it came, and its apply refused it as edited by hand).
    got = parse_card({**raw, "due": "2025-06-20T19:00:12+02:00", "start": "2025-06-20T17:00Z"})
    assert (got.due, got.start) == ("2025-06-20T17:00:12.000Z", "2025-06-20T17:00:00.000Z")
    assert parse_card({**raw, "due": "2025-06-20T17:00:12.123456Z"}).due == (
        "2025-06-20T17:00:12.123456Z"
    )
    assert parse_card({**raw, "due": "next Tuesday"}).due == "next Tuesday"  # the plan refuses
    # No such instant in UTC: as it is, not an internal error (R46a: OverflowError, exit 1).
    edge = "0001-01-01T00:00:00+01:00"
    assert parse_card({**raw, "due": edge}).due == edge
    with pytest.raises(ValueError, match="out of range"):
        parse_date(edge)


def test_parse_board() -> None:
    """A board with memberships (deactivated, unconfirmed) and lists."""
    got = parse_board(
        {"id": "b1", "name": "Team"},
        [
            {"idMember": "m1", "memberType": "admin"},
            {"idMember": "m2", "deactivated": True},
            {"idMember": "m3", "unconfirmed": True},
        ],
        [{"id": "l1", "name": "Doing"}, {"id": "l2"}],
    )
    assert got.memberships == {
        "m1": Membership("m1", "admin"),
        "m2": Membership("m2", "normal", deactivated=True),
        "m3": Membership("m3", "normal", unconfirmed=True),
    }
    assert [m.active for m in got.memberships.values()] == [True, False, False]
    assert got.lists == {"l1": "Doing", "l2": ""}
    assert parse_board({"id": "b2"}, []).lists == {}
    assert parse_board({"id": "b2", "name": None}, [], [{"id": "l1", "name": None}]).lists == {
        "l1": ""  # not "None" (R45f)
    }
    with pytest.raises(HistoryError, match="not a Trello board"):
        parse_board({"id": "b1"}, [{"memberType": "admin"}])
    for flags in ({"deactivated": "false"}, {"unconfirmed": 0}):
        with pytest.raises(HistoryError, match="not a Trello board"):
            parse_board({"id": "b1"}, [{"idMember": "m1", **flags}])
    with pytest.raises(HistoryError, match="not a Trello board"):
        parse_board({"id": "b1"}, [], [{"id": "l1", "closed": "false"}])
    # The board's own flag (R47d), said in words (R48d: Python's TypeError(...) was shown).
    assert parse_board({"id": "b1", "closed": True}, []).closed
    assert not parse_board({"id": "b1", "closed": None}, []).closed
    with pytest.raises(HistoryError) as said:
        parse_board({"id": "b1", "closed": "true"}, [])
    assert str(said.value) == 'not a Trello board: closed is "true", not a boolean'
    with pytest.raises(HistoryError) as said:
        parse_board({"id": "b1"}, [{"memberType": "admin"}])
    assert str(said.value) == "not a Trello board: no idMember field"


def test_members_from_listing() -> None:
    """Names from a member listing; entries without an id are skipped, a private name is ""."""
    got = members_from_listing([LEAD, {"username": "ghost"}, {"id": "m2", "username": "u"}])
    assert got == {"lead": MemberRef("lead", "leader", "Lee Lead"), "m2": MemberRef("m2", "u")}


def test_sightings_of_a_member_are_merged() -> None:
    """A username from one action and a full name from another make one member."""
    one = action("commentCard", "x1", card=card())
    one["memberCreator"] = {"id": "lead", "username": "leader"}
    two = action("commentCard", "x2", card=card())
    two["memberCreator"] = {"id": "lead", "fullName": "Lee Lead", "username": "other"}
    assert parse_history([one, two]).members == {"lead": MemberRef("lead", "leader", "Lee Lead")}


# -------------------------------------------------------------------------------- credit_apps


def _change(aid: str | None, cid: str = "c1") -> Change:
    evidence = None if aid is None else Evidence("recorded_removal", aid, T, MemberRef("lead"))
    return Change(f"ch-{cid}-{aid}", "add_member_to_card", "b1", "B1", MemberRef("m1"),
                  card_id=cid, evidence=evidence)  # fmt: skip


def test_credit_apps_names_the_app_on_changes_and_blocked_changes() -> None:
    """Evidence whose action an app made names the app; nothing else changes."""
    bot = member_action("removeMemberFromCard", "r1", "m1")
    bot["appCreator"] = {"id": "app1", "name": "Butler"}
    h = parse_history([bot, member_action("removeMemberFromCard", "r2", "m2", 1)])
    grant = Change("g1", "add_member_to_board", "b1", "B1", MemberRef("m1"), role="normal")
    plan = Plan(
        PlanOptions(since=T),
        changes=(grant, _change("r1"), _change("r2")),
        blocked=(Blocked(_change("r1", "c2"), "not_board_member"),),
        skipped=(),
    )
    got = credit_apps(plan, h)
    assert [c.evidence.app if c.evidence else None for c in got.changes] == [None, "Butler", ""]
    assert got.blocked[0].change.evidence is not None
    assert got.blocked[0].change.evidence.app == "Butler"
    assert got.changes[0] is grant


def test_credit_apps_without_apps_is_the_same_plan() -> None:
    """No action was an app's: the plan comes back as it was."""
    plan = Plan(PlanOptions(since=T), (_change("r1"),), (), ())
    assert credit_apps(plan, parse_history([])) is plan


def test_dates_keep_their_instant_in_any_zone() -> None:
    """An action dated in another zone sorts by its instant."""
    east = action("addMemberToCard", "a1", card=card(), idMember="m1")
    east["date"] = (T + timedelta(hours=1)).astimezone(timezone(timedelta(hours=5))).isoformat()
    west = member_action("addMemberToCard", "a2", "m2", 30)
    assert [a.id for a in parse_history([east, west]).member_actions] == ["a2", "a1"]


# ----------------------------------------------------------------- field updates (design §10)


def _updates(*raws: dict[str, Any]) -> list[tuple[Any, ...]]:
    return [
        (u.id, u.object_type, u.object_id, u.field, u.old, u.new, u.by, u.app, u.board_id)
        for u in parse_history(raws).field_updates
    ]


def test_update_card_gives_one_field_update_per_restorable_field() -> None:
    """``data.old`` names the fields changed, ``data.card`` their new values (real shapes:
    archive, due, desc, name; ``pos`` is not restorable and left out)."""
    both = action(
        "updateCard",
        "u1",
        1,
        card={"id": "c1", "name": "New", "due": "2025-12-01T10:00:00.000Z", "pos": 3},
        old={"name": "Old", "due": None, "pos": 1},
    )
    archive = action(
        "updateCard", "u2", 2, card={"id": "c1", "closed": True}, old={"closed": False}
    )
    desc = action("updateCard", "u3", 3, card={"id": "c1", "desc": "long"}, old={"desc": ""})
    assert _updates(desc, both, archive) == [
        ("u1", "card", "c1", "due", None, "2025-12-01T10:00:00.000Z", "lead", "", "b1"),
        ("u1", "card", "c1", "name", "Old", "New", "lead", "", "b1"),
        ("u2", "card", "c1", "closed", False, True, "lead", "", "b1"),
        ("u3", "card", "c1", "desc", "", "long", "lead", "", "b1"),
    ]


def test_a_cards_move_between_boards_is_a_change_of_its_list() -> None:
    """R47d: a card moved to another board and back into another list was not put back (no
    ``updateCard`` logs it). Each feed's record of the move is a change of the card's
    ``idList`` there: from the list it left to None (``moveCardFromBoard``: ``data.list`` is
    the list it left), from None to the list it reached (``moveCardToBoard``); a list's moves
    change no card's list, and a card move that names no list gives none."""
    left = action(
        "moveCardFromBoard", "mv1", 1, card=card(), list={"id": "l1"}, boardTarget={"id": "b2"}
    )
    reached = action(
        "moveCardToBoard",
        "mv2",
        2,
        board="b2",
        card=card(),
        list={"id": "l9"},
        boardSource={"id": "b1"},
    )
    carried = action(
        "moveListToBoard", "mv3", 3, board="b2", list={"id": "l1"}, boardSource={"id": "b1"}
    )
    bare = action("moveCardToBoard", "mv4", 4, board="b2", card=card(), boardSource={"id": "b1"})
    assert _updates(left, reached, carried, bare) == [
        ("mv1", "card", "c1", "idList", "l1", None, "lead", "", "b1"),
        ("mv2", "card", "c1", "idList", None, "l9", "lead", "", "b2"),
    ]
    h = parse_history([left, reached, carried, bare])
    assert [m.id for m in h.moves] == ["mv1", "mv2", "mv3", "mv4"]  # the moves as before


def test_new_values_missing_from_the_card_object() -> None:
    """A list move's new list is ``listAfter`` (or ``data.card.idList``); an archive's new value
    is the old one's opposite; another field without its new value has none (null)."""
    move = action(
        "updateCard",
        "u1",
        1,
        card={"id": "c1"},
        old={"idList": "l1"},
        listBefore={"id": "l1"},
        listAfter={"id": "l2"},
    )
    unarchive = action("updateCard", "u2", 2, card={"id": "c1"}, old={"closed": True})
    start = action("updateCard", "u3", 3, card={"id": "c1"}, old={"start": "2025-01-01"})
    assert [(u[3], u[4], u[5]) for u in _updates(move, unarchive, start)] == [
        ("idList", "l1", "l2"),
        ("closed", True, False),
        ("start", "2025-01-01T00:00:00.000Z", None),  # as Trello writes dates
    ]
    # A list move names the lists: the card's place is recorded as before, and, its creation
    # not in the log, the list it left is its place from the start (R51c: ``placed_first``).
    assert parse_history([move]).card_lists == (
        (FROM_THE_START, "c1", "l1"),
        (T + timedelta(minutes=1), "c1", "l2"),
    )


def test_dates_in_field_updates_are_as_trello_writes_them() -> None:
    """A due date's old and new value in any ISO 8601 form with a zone becomes Trello's
    ``…000Z`` (R45f: ``+00:00`` went into the plan as it came, which its apply refused)."""
    raw = action(
        "updateCard",
        "u1",
        card={"id": "c1", "due": "2025-06-21T09:00:00+00:00"},
        old={"due": "2025-06-20T19:00:12+02:00"},
    )
    assert [(u[3], u[4], u[5]) for u in _updates(raw)] == [
        ("due", "2025-06-20T17:00:12.000Z", "2025-06-21T09:00:00.000Z")
    ]


def test_values_a_field_cannot_have_are_left_out() -> None:
    """Nothing is restored from a value of the wrong type (old or new), or an archive flag
    that is not a flag; ``data.old`` that is not an object gives nothing."""
    raws = [
        action("updateCard", "u1", card={"id": "c1", "closed": "yes"}, old={"closed": False}),
        action("updateCard", "u2", card={"id": "c1"}, old={"closed": "no"}),
        action("updateCard", "u3", card={"id": "c1", "name": 5}, old={"name": "x"}),
        action("updateCard", "u4", card={"id": "c1"}, old="closed"),
        action("updateCard", "u5", card={"id": "c1", "dueComplete": True}, old={"dueComplete": 0}),
    ]
    assert _updates(*raws) == []


def test_update_list_archive() -> None:
    """``updateList`` with ``data.old.closed``: the list's field update; a rename is not
    restorable; an action whose list has no id gives nothing."""
    archive = action(
        "updateList", "u1", 1, list={"id": "l1", "closed": True}, old={"closed": False}
    )
    rename = action("updateList", "u2", 2, list={"id": "l1", "name": "B"}, old={"name": "A"})
    odd = action("updateList", "u3", 3, list="l1", old={"closed": False})
    nameless = action("updateList", "u4", 4, list={"name": "x"}, old={"closed": False})
    assert _updates(archive, rename, odd, nameless) == [
        ("u1", "list", "l1", "closed", False, True, "lead", "", "b1")
    ]


def test_an_automations_field_update_is_its_members_with_the_apps_name() -> None:
    """Butler's actions carry ``appCreator`` and no ``memberCreator``: made by the member whose
    token runs it (``idMemberCreator``), the app named."""
    raw = action("updateCard", "u1", card={"id": "c1", "due": None}, old={"due": "2025-01-01"})
    del raw["memberCreator"]
    raw["appCreator"] = {"id": "app1", "name": "Butler"}
    assert [(u[6], u[7]) for u in _updates(raw)] == [("lead", "Butler")]


def test_deleted_cards_keep_when_and_who() -> None:
    """``deleteCard`` holds no content, but its date and author go to ``Plan.unrestorable``."""
    h = parse_history([action("deleteCard", "d1", 7, card={"id": "c1"})])
    assert h.deleted_when == {"c1": (T + timedelta(minutes=7), "lead")}


@pytest.mark.parametrize(
    ("kinds", "extra", "left_out"),
    [
        pytest.param(("members",), (), (), id="members: the member feed as before"),
        pytest.param(("archived",), ("updateList:closed",), (), id="archived"),
        pytest.param(("list",), (), (), id="list: already in the member feed"),
        pytest.param(
            ("fields", "members"),
            ("updateCard",),
            ("updateCard:idList", "updateCard:closed"),
            id="fields: every updateCard (no documented due sub-filter) covers the sub-filters",
        ),
    ],
)
def test_action_filter(
    kinds: tuple[Any, ...], extra: tuple[str, ...], left_out: tuple[str, ...]
) -> None:
    """One filter for one feed request: the member actions' plus what the kinds need."""
    got = action_filter(kinds)
    assert got == tuple(x for x in (*ACTION_FILTER, *extra) if x not in left_out)
    assert len(set(got)) == len(got)


def test_parse_card_and_board_read_the_restorable_fields() -> None:
    """A card's description, due and start dates, due-complete flag; a list's archive flag."""
    raw = {
        "id": "c1",
        "idBoard": "b1",
        "idList": "l1",
        "idMembers": [],
        "desc": "d",
        "due": "2025-12-01T10:00:00.000Z",
        "dueComplete": True,
        "start": "",
    }
    got = parse_card(raw)
    assert (got.desc, got.due, got.due_complete, got.start) == (
        "d",
        "2025-12-01T10:00:00.000Z",
        True,
        None,
    )
    listing: list[dict[str, Any]] = [{"id": "l1", "closed": True}, {"id": "l2"}]
    lists = iter(listing)  # read once: an iterator will do
    board = parse_board({"id": "b1"}, [], lists)
    assert (board.lists, board.list_closed) == ({"l1": "", "l2": ""}, {"l1": True, "l2": False})


def test_objects_of_another_type_are_as_if_absent() -> None:
    """R51a: ``data.card`` true or ``data.list`` a text (a hand-trimmed export) were crashes,
    and an id of another type a crash in the planner: such an object names nothing."""
    odd_card = member_action("addMemberToCard", "a1", "m1") | {"data": {"card": True}}
    odd_list = action("createCard", "a2", 1, card=card("c2"), list="l1")
    odd_id = action("createCard", "a3", 2, card={"id": []}, list={"id": 5})
    h = parse_history([odd_card, odd_list, odd_id])
    assert h.member_actions == ()
    assert h.card_lists == ()
    assert set(h.cards) == {"c2"}


@pytest.mark.parametrize(
    ("fields", "needle"),
    [
        ({"idList": []}, "idList is [], not an id"),
        ({"idBoard": None}, "idBoard is null, not an id"),
        ({"idMembers": [1]}, "idMembers is [1], not a list of ids"),
        ({"idMembers": "m1"}, 'idMembers is "m1", not a list of ids'),
    ],
)
def test_a_card_whose_ids_are_not_texts_is_not_a_card(fields: dict[str, Any], needle: str) -> None:
    raw = {"id": "c1", "idBoard": "b1", "idList": "l1", "idMembers": []} | fields
    with pytest.raises(HistoryError, match=re.escape(needle)):
        parse_card(raw)


def test_members_that_are_not_a_list_are_refused() -> None:
    for odd in (None, 1.5, "m1", {"id": "m1"}):
        with pytest.raises(HistoryError, match="not a list of members"):
            members_from_listing(odd)  # type: ignore[arg-type]
