"""The sandbox world: Trello's rules for card and board membership, the log, and the incident."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from trello_restore.sandbox import render
from trello_restore.sandbox.ids import id_time, iso, parse_iso
from trello_restore.sandbox.scenario import generate
from trello_restore.sandbox.world import ALREADY_ON_CARD, AUTOMATION, TrelloError, World

T0 = datetime(2025, 3, 1, 12, 0, tzinfo=UTC)


@pytest.fixture(name="world")
def world_fixture() -> World:
    """Two boards: ``team`` (lead, ann, bob) and ``archive`` (lead, ann); one card with ann, bob."""
    w = World(seed=1, clock=lambda: T0 + timedelta(days=30))
    lead = w.add_member("lead", "Lea Lead", T0)
    ann = w.add_member("ann", "Ann Example", T0)
    bob = w.add_member("bob", "Bob Example", T0)
    team = w.create_board("Team", lead.id, T0)
    archive = w.create_board("Archive", lead.id, T0)
    for m in (ann, bob):
        w.add_member_to_board(team.id, m.id, lead.id, "normal", T0)
    w.add_member_to_board(archive.id, ann.id, lead.id, "normal", T0)
    lst = w.create_list(team.id, "Sprint 1", lead.id, T0)
    card = w.create_card(lst.id, "Ship it", lead.id, T0 + timedelta(hours=1))
    w.add_member_to_card(card.id, ann.id, lead.id, T0 + timedelta(hours=2))
    w.add_member_to_card(card.id, bob.id, lead.id, T0 + timedelta(hours=3))
    return w


def _ids(w: World) -> dict[str, str]:
    out = {m.username: m.id for m in w.members.values()}
    out |= {b.name: b.id for b in w.boards.values()}
    out |= {"card": next(iter(w.cards)), "list": next(iter(w.lists))}
    return out


def test_ids_encode_their_time_and_sort_in_creation_order(world: World) -> None:
    """Action ids carry the action's second; ids and dates both grow along the log."""
    for a in world.actions:
        assert id_time(a.id) == a.date.replace(microsecond=0)
    assert [a.id for a in world.actions] == sorted(a.id for a in world.actions)
    assert [a.date for a in world.actions] == sorted(a.date for a in world.actions)


def test_dates_use_trellos_format() -> None:
    """ISO-8601 UTC with milliseconds and Z, and parsing treats naive values as UTC."""
    assert iso(datetime(2021, 7, 10, 17, 1, 58, 636000, tzinfo=UTC)) == "2021-07-10T17:01:58.636Z"
    assert parse_iso("2021-07-10") == datetime(2021, 7, 10, tzinfo=UTC)
    assert parse_iso("2021-07-10T19:00:00+02:00") == datetime(2021, 7, 10, 17, tzinfo=UTC)


def test_log_never_goes_back_in_time(world: World) -> None:
    """An action stamped before the newest one is moved just after it (the log stays ordered)."""
    i = _ids(world)
    a = world.comment(i["card"], "late", i["lead"], T0 - timedelta(days=9))
    assert a.date == world.actions[-2].date + timedelta(milliseconds=1)


def test_duplicate_add_is_refused_with_trellos_text(world: World) -> None:
    """Adding a member twice answers 400 member is already on the card."""
    i = _ids(world)
    with pytest.raises(TrelloError) as err:
        world.add_member_to_card(i["card"], i["ann"], i["lead"])
    assert (err.value.status, err.value.body) == (400, ALREADY_ON_CARD)


def test_only_board_members_can_join_cards(world: World) -> None:
    """A member who is not on the card's board cannot be added to it."""
    i = _ids(world)
    outsider = world.add_member("carl", "Carl Outsider", T0)
    with pytest.raises(TrelloError) as err:
        world.add_member_to_card(i["card"], outsider.id, i["lead"])
    assert err.value.status == 400
    assert outsider.id not in world.cards[i["card"]].id_members


def test_every_write_logs_the_matching_action(world: World) -> None:
    """Adds, removals and board joins each log one action of the right type and shape."""
    i = _ids(world)
    world.remove_member_from_card(i["card"], i["bob"], i["ann"])
    removal = world.actions[-1]
    assert removal.type == "removeMemberFromCard"
    assert removal.data["idMember"] == i["bob"]
    assert removal.data["deactivated"] is False
    assert removal.id_member_creator == i["ann"]
    rendered = render.action(world, removal)
    assert rendered["member"]["username"] == "bob"
    assert rendered["memberCreator"]["username"] == "ann"
    world.add_member_to_board(i["Archive"], i["bob"], i["lead"], "observer")
    join = world.actions[-1]
    assert join.type == "addMemberToBoard"
    assert join.data["idMemberAdded"] == i["bob"]
    assert join.data["memberType"] == "observer"
    assert world.add_member_to_board(i["Archive"], i["bob"], i["lead"], "observer") is None


def test_moving_a_list_strips_non_members_as_the_mover(world: World) -> None:
    """The incident: bob is not on the archive board, so the move removes him, as the lead."""
    i = _ids(world)
    result = world.move_list_to_board(i["list"], i["Archive"], i["lead"])
    card = world.cards[i["card"]]
    assert card.id_board == i["Archive"]
    assert card.id_members == [i["ann"]]
    assert [(e.member_id, e.by, e.cause, e.logged) for e in result.removals] == [
        (i["bob"], i["lead"], "move", True)
    ]
    removal = world.actions_by_id[result.removals[0].action_id or ""]
    assert removal.type == "removeMemberFromCard"
    assert removal.id_board == i["Archive"]
    assert timedelta(0) < removal.date - result.to_action.date < timedelta(seconds=1)
    assert result.from_action.type == "moveListFromBoard"
    assert result.from_action.data["boardTarget"]["id"] == i["Archive"]
    assert result.to_action.data["boardSource"]["id"] == i["Team"]
    assert result.from_action.date == result.to_action.date


def test_silent_losses_log_nothing() -> None:
    """With unlogged_share=1 the removal happens but no action is logged."""
    w = World(seed=2, unlogged_share=1.0)
    lead = w.add_member("lead", "Lea Lead")
    ann = w.add_member("ann", "Ann Example")
    team, archive = w.create_board("Team", lead.id), w.create_board("Archive", lead.id)
    w.add_member_to_board(team.id, ann.id, lead.id)
    card = w.create_card(w.create_list(team.id, "L", lead.id).id, "C", lead.id)
    w.add_member_to_card(card.id, ann.id, lead.id)
    before = len(w.actions)
    result = w.move_card_to_board(
        card.id, archive.id, w.create_list(archive.id, "A", lead.id).id, lead.id
    )
    assert card.id_members == []
    assert [e.logged for e in result.removals] == [False]
    new_types = [a.type for a in w.actions[before:]]
    assert "removeMemberFromCard" not in new_types
    assert {"moveCardFromBoard", "moveCardToBoard"} <= set(new_types)


def test_card_feed_hides_history_from_before_a_move(world: World) -> None:
    """TRELLO-955 as the sandbox plays it: after a move the card's own feed loses older actions,
    while the old board's feed keeps them."""
    i = _ids(world)
    before = [a.type for a in world.card_actions(i["card"])]
    assert before.count("addMemberToCard") == 2
    world.move_list_to_board(i["list"], i["Archive"], i["lead"])
    after = [a.type for a in world.card_actions(i["card"])]
    assert "addMemberToCard" not in after
    assert "removeMemberFromCard" in after
    team_feed = [a.type for a in world.board_feed[i["Team"]] if a.id_card == i["card"]]
    assert team_feed.count("addMemberToCard") == 2


def test_deactivated_members_are_flagged_on_removal(world: World) -> None:
    """Removing a deactivated member logs data.deactivated = true; they can't be re-added."""
    i = _ids(world)
    org = world.add_organization("acme", "ACME", T0)
    world.boards[i["Team"]].id_organization = org.id
    world.deactivate_member(i["bob"], org.id)
    world.remove_member_from_card(i["card"], i["bob"], i["lead"])
    assert world.actions[-1].data["deactivated"] is True
    with pytest.raises(TrelloError):
        world.add_member_to_card(i["card"], i["bob"], i["lead"])


def test_deleted_cards_keep_their_history(world: World) -> None:
    """Deleting a card logs deleteCard without a name; earlier actions stay in the board feed."""
    i = _ids(world)
    action = world.delete_card(i["card"], i["lead"])
    assert action.data["card"] == {"idShort": 1, "id": i["card"]}
    assert i["card"] in world.deleted_cards
    with pytest.raises(TrelloError) as err:
        world.card(i["card"])
    assert err.value.status == 404
    assert sum(a.id_card == i["card"] for a in world.board_feed[i["Team"]]) >= 3


def test_lookups_accept_short_links(world: World) -> None:
    """Boards and cards resolve by id or shortLink; members by id or username."""
    i = _ids(world)
    card = world.cards[i["card"]]
    assert world.card(card.short_link) is card
    board = world.boards[i["Team"]]
    assert world.board(board.short_link) is board
    assert world.member("ann").id == i["ann"]
    assert board.url.startswith(f"https://trello.com/b/{board.short_link}/team")


def test_value_ledger_and_log_agree() -> None:
    """Every value change is in the ``field_ledger`` once, with the old and new values, author
    and app of the ``updateCard``/``updateList`` action it logged, and nothing else is: the
    truth of the value kinds reads the ledger, the tool reads the log."""
    s = generate(4, 200, second_damage=True, automation_share=0.1)
    w = s.world
    logged = {
        (a.id, field, old, a.data["card" if a.type == "updateCard" else "list"][field])
        for a in w.actions
        if a.type in ("updateCard", "updateList")
        for field, old in a.data["old"].items()
        if field != "pos"
    }
    # A card's move between boards: its list's change on each board (R47d).
    logged |= {
        (a.id, "idList", a.data["list"]["id"], None)
        if a.type == "moveCardFromBoard"
        else (a.id, "idList", None, a.data["list"]["id"])
        for a in w.actions
        if a.type in ("moveCardFromBoard", "moveCardToBoard")
    }
    assert any(a.type == "moveCardToBoard" for a in w.actions), "the scenario moves a card"
    ledger = {(e.action_id, e.field, e.old, e.new) for e in w.field_ledger}
    assert ledger == logged
    assert len(w.field_ledger) == len(logged)
    by_id = w.actions_by_id
    for e in w.field_ledger:
        action = by_id[e.action_id]
        assert (e.at, e.by, e.board_id) == (action.date, action.id_member_creator, action.id_board)
        assert e.app == (action.app.shown if action.app else "")
        assert e.object_id == (action.id_card or action.data["list"]["id"])
    assert {e.app for e in w.field_ledger} == {"", AUTOMATION.shown}


def _automated_world() -> tuple[World, str, str]:
    """A world whose actions an automation makes half the time: (world, lead, card)."""
    w = World(seed=2, automation_share=0.5, clock=lambda: T0 + timedelta(days=30))
    lead = w.add_member("lead", "Lea Lead", T0).id
    board = w.create_board("Team", lead, T0)
    card = w.create_card(w.create_list(board.id, "L", lead, T0).id, "C", lead, T0)
    return w, lead, card.id


def test_explicit_automation_leaves_the_rest_unchanged() -> None:
    """An action made by an automation on purpose (``app=``) draws nothing from the random
    source of ``automation_share``: the actions after it are automated exactly as without it.
    Card values are checked as Trello does, and setting a value a card has logs nothing."""
    w, lead, card = _automated_world()
    plain, plain_lead, plain_card = _automated_world()
    a = w.set_card_field(card, "due", "2025-04-01T17:00:00.000Z", lead, app=AUTOMATION)
    assert a is not None
    assert a.app is AUTOMATION
    assert render.action(w, a)["appCreator"] == {"id": AUTOMATION.id, "authType": "automation"}
    assert "memberCreator" not in render.action(w, a)
    later = [w.comment(card, f"n{k}", lead).app for k in range(30)]
    assert later == [plain.comment(plain_card, f"n{k}", plain_lead).app for k in range(30)]
    assert None in later
    assert AUTOMATION in later
    assert w.set_card_field(card, "due", "2025-04-01T17:00:00.000Z", lead) is None
    with pytest.raises(TrelloError) as err:
        w.set_card_field(card, "dueComplete", "yes", lead)
    assert (err.value.status, err.value.body) == (400, "invalid value for dueComplete")
    with pytest.raises(ValueError, match="not a card value field"):
        w.set_card_field(card, "labels", "red", lead)


def test_each_boards_card_index_follows_creates_moves_and_deletes() -> None:
    """``card_ids_on_board`` (what a page of a board's card listing is read from) is each
    board's cards in id order after every way a card comes, goes or changes board: a generated
    history (lists and cards moved to the archive, cards deleted, the second damage's bulk
    move), then a card moved by hand to another board and back, a whole list moved, a card
    deleted, and a board no card was ever on."""
    s = generate(6, 300, second_damage=True)
    w = s.world

    def check() -> None:
        boards = set(w.boards) | {c.id_board for c in w.cards.values()}
        for board_id in boards:
            want = sorted(c.id for c in w.cards.values() if c.id_board == board_id)
            assert list(w.card_ids_on_board(board_id)) == want

    check()
    lead = s.mover.id
    card = next(c for c in w.cards.values() if c.id_board == s.team.id)
    team_list, archive_list = card.id_list, next(iter(w.lists_on_board(s.archive.id))).id
    w.move_card_to_board(card.id, s.archive.id, archive_list, lead)
    assert card.id in w.card_ids_on_board(s.archive.id)
    assert card.id not in w.card_ids_on_board(s.team.id)
    check()
    w.move_card_to_board(card.id, s.team.id, team_list, lead)
    check()
    w.move_list_to_board(team_list, s.archive.id, lead)
    check()
    w.delete_card(card.id, lead)
    assert card.id not in w.card_ids_on_board(s.archive.id)
    check()
    empty = w.create_board("Empty", lead)
    assert list(w.card_ids_on_board(empty.id)) == []
