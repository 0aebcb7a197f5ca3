"""The pure deciders of undo for card-level changes whose card or list left its board
(review U3; ``kinds/elsewhere.py``, ``valuedeciders.decide_move_undo``), table by table over literal
live state, and the look-up by id that feeds them (``live.locate_cards``) over a stand-in;
``test_undo_moved.py`` has them over the command line. No network here."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime
from typing import cast

import pytest

from trello_restore.api import TrelloApi
from trello_restore.errors import ApiUnreachable, NotFound, PermissionDenied
from trello_restore.kinds import CardClosed, CardMove, Decision, ListClosed, decide_undo
from trello_restore.kinds.members import DELETED, FOUND, NOT_FOUND, resolve
from trello_restore.kinds.valuedeciders import SET, UNSET, resolve_value
from trello_restore.live import LiveBoard, Located, locate_cards
from trello_restore.models import CardState, Change, Evidence, MemberRef, ValueChange

T = datetime(2025, 11, 2, 12, 2, tzinfo=UTC)
ANN = MemberRef("ann", "ann", "Ann Example")
CARD = Change(
    "c-000000000000000b", "add_member_to_card", "b1", "", ANN, card_id="k1",
    evidence=Evidence("recorded_removal", "a1", T, MemberRef("lead"), ""),
)  # fmt: skip
GONE = "the card was deleted or moved to another board; check it by hand"


def _board(located: Located | None = None, *, name: str = "Team") -> LiveBoard:
    """Board ``b1`` whose listing lacks card ``k1``; ``located``: where Trello has it by id."""
    return LiveBoard(
        "b1", {}, {}, name=name, located={"k1": located} if located is not None else {}
    )


def _card(board: str, *members: str) -> CardState:
    return CardState("k1", "Ship it", "AbCd1234", board, "l9", False, members)


@pytest.mark.parametrize(
    ("located", "resumed", "want"),
    [
        (None, False, ("drifted", GONE)),
        (None, True, ("drifted", GONE)),
        (Located(deleted=True), False, ("not_on_card", "the card was deleted")),
        (Located(deleted=True), True, ("not_on_card", "the card was deleted")),
        (Located(_card("b2", "ann"), "Roadmap"), False,
         ("drifted", "the card moved to board Roadmap since: the member is still on it there, "
          "and undo removes members only on board Team; check it by hand")),
        (Located(_card("b2", "ann"), "Roadmap"), True,
         ("drifted", "the card moved to board Roadmap since: the member is still on it there, "
          "and undo removes members only on board Team; check it by hand")),
        (Located(_card("b2", "ann")), False,
         ("drifted", "the card moved to board b2 since: the member is still on it there, "
          "and undo removes members only on board Team; check it by hand")),
        (Located(_card("b2", "ben"), 'Road "map"'), False,
         ("not_on_card", 'the card moved to board "Road \\"map\\"" since, without the member')),
        (Located(_card("b2", "ben"), "Roadmap"), True, ("undone", "")),
        (Located(error="unauthorized card permission requested"), False,
         ("drifted", "the card is no longer on board Team and cannot be read (unauthorized card "
          "permission requested): it may have moved to a board the token's member cannot read; "
          "check it by hand")),
        # Back on its board between the listing and the look-up.
        (Located(_card("b1", "ann"), "Team"), False, None),
        (Located(_card("b1", "ben"), "Team"), False, ("not_on_card", "")),
    ],
)  # fmt: skip
def test_undo_of_a_card_member_whose_card_left_its_board(
    located: Located | None, resumed: bool, want: Decision
) -> None:
    """Where Trello has the card by id decides: moved with the member → drifted (a later undo
    looks again), without them or deleted → not_on_card, unreadable or not looked for →
    drifted; never a removal off the card's board."""
    assert decide_undo(CARD, _board(located), resumed=resumed) == want


@pytest.mark.parametrize(
    ("plan_name", "live_name", "shown"),
    [("", "", "b1"), ("Plan's", "", "Plan's"), ("Plan's", "Team", "Team"), ("A\nB", "", '"A\\nB"')],
)
def test_the_board_is_named_live_else_as_the_change_names_it(
    plan_name: str, live_name: str, shown: str
) -> None:
    """The card's board in a reason: its live name, else the change's (a journal's change has
    none), else its id; a name that would break the line escaped."""
    board = _board(Located(error="x"), name=live_name)
    got = decide_undo(replace(CARD, board_name=plan_name), board, resumed=False)
    assert got is not None
    assert got[1].startswith(f"the card is no longer on board {shown} and cannot be read (x)")


MOVE = ValueChange(
    "c-000000000000000c", "move_card_to_list", "b1", "", MemberRef(""), card_id="k1",
    list_id="l1", list_name="Review", object_type="card", field="idList", value="l2",
    expected="l1",
)  # fmt: skip


DRIFTED_LIST = (
    "drifted",
    'the list it was in, "Review" (l1), is no longer on the card\'s board (moved to another '
    "board since), and moving cards across boards is out of scope: left alone; check it by hand",
)


@pytest.mark.parametrize(
    ("lists", "now", "want"),
    [
        ({"l1": False, "l2": False}, "l2", None),
        (None, "l2", None),  # lists not read: the value rule alone
        ({"l2": False}, "l2", DRIFTED_LIST),
        ({"l2": False, "l3": False}, "l3",
         ("drifted", 'its list was changed since (now l3, expected "Done"): left alone')),
    ],
)  # fmt: skip
def test_undo_of_a_card_move_back_to_a_list_of_another_board(
    lists: dict[str, bool] | None, now: str, want: Decision
) -> None:
    """Undo moves a card back only to a list of its board, as apply does; a card moved on
    since is drifted for that."""
    live = LiveBoard(
        "b1",
        {"k1": replace(_card("b1"), list_id=now)},
        {},
        lists=lists,
        list_names={"l2": "Done"},
    )
    assert CardMove().decide_undo(MOVE, live, resumed=False) == want


CLOSED = ValueChange(
    "c-000000000000000d", "set_card_closed", "b1", "", MemberRef(""), card_id="k1",
    list_id="l1", list_name="Review", object_type="card", field="closed", value=False,
    expected=True,
)  # fmt: skip
LIST_CLOSED = replace(
    CLOSED, action="set_list_closed", card_id="", object_type="list", list_id="l9"
)


@pytest.mark.parametrize(
    ("change", "located", "want"),
    [
        (CLOSED, None, ("drifted", "the card was deleted or moved to another board")),
        (LIST_CLOSED, Located(deleted=True),
         ("drifted", "the list was deleted or moved to another board")),
        (CLOSED, Located(deleted=True), ("not_on_card", "the card was deleted: nothing to undo")),
        (CLOSED, Located(_card("b2"), "Roadmap"),
         ("drifted", "the card moved to board Roadmap since: its closed there is left as it "
          "is, and undo writes only on board Team; check it by hand")),
        (CLOSED, Located(_card("b2")),
         ("drifted", "the card moved to board b2 since: its closed there is left as it is, and "
          "undo writes only on board Team; check it by hand")),
        (CLOSED, Located(error="unauthorized card permission requested"),
         ("drifted", "the card is no longer on board Team and cannot be read (unauthorized card "
          "permission requested): it may have moved to a board the token's member cannot read; "
          "check it by hand")),
        (CLOSED, Located(_card("b1"), "Team"),
         ("drifted", "the card was missing from its board's listing: undo again")),
    ],
)  # fmt: skip
def test_undo_of_a_value_whose_card_left_its_board(
    change: ValueChange, located: Located | None, want: Decision
) -> None:
    """A card value whose card its board's listing lacks, by where Trello has the card by id:
    deleted → nothing to undo (settled; R37a: drifted on every undo, exit 5 for good); moved
    → drifted naming the board, nothing written there; unreadable, not looked for, or a list
    gone → drifted; back on its board since the listing → drifted, to look again."""
    live = _board(located)
    live = replace(live, located={"k1": located} if located is not None else {})
    kind = CardClosed() if change.object_type == "card" else ListClosed()
    assert kind.decide_undo(change, live, resumed=False) == want
    assert kind.decide_undo(change, live, resumed=True) == want


class _Api:
    """A stand-in for ``TrelloApi.get``: each path's answer, or the error it raises."""

    def __init__(self, answers: dict[str, object]) -> None:
        self.answers = answers
        self.asked: list[tuple[str, dict[str, str], bool]] = []

    def get(self, path: str, params: dict[str, str], *, keep: bool = True) -> object:
        self.asked.append((path, params, keep))
        answer = self.answers[path]
        if isinstance(answer, Exception):
            raise answer
        return answer


def test_locate_cards_reads_each_missing_card_by_id() -> None:
    """Only the cards their board's listing lacks are read, once each, uncached, with their
    board's name: moved (where to), deleted (404), unreadable (the refusal's text); a board
    that is gone is left as it is; an answer that is not the card is one error line."""
    moved: dict[str, object] = {
        "id": "k2", "name": "N", "shortLink": "s", "idBoard": "b9", "idList": "l",
        "closed": False, "idMembers": ["ann"], "board": {"id": "b9", "name": "Roadmap"},
    }  # fmt: skip
    api = _Api({
        "cards/k2": moved,
        "cards/k3": NotFound("gone", 404),
        "cards/k4": PermissionDenied("no", 401, "unauthorized card permission requested"),
    })  # fmt: skip
    live = {
        "b1": LiveBoard("b1", {"k1": replace(_card("b1"), id="k1")}, {}),
        "b0": LiveBoard("b0", None, {}, "the board is gone"),
    }
    wanted = [("b1", "k1"), ("b1", "k2"), ("b1", "k3"), ("b1", "k4"), ("b0", "k5"), ("b1", "")]
    got = locate_cards(cast(TrelloApi, api), live, wanted)
    assert got["b0"] is live["b0"]
    assert got["b1"].located == {
        "k2": Located(CardState("k2", "N", "s", "b9", "l", False, ("ann",)), "Roadmap"),
        "k3": Located(deleted=True),
        "k4": Located(error="unauthorized card permission requested"),
    }
    assert [(p, keep) for p, _, keep in api.asked] == [
        ("cards/k2", False), ("cards/k3", False), ("cards/k4", False),
    ]  # fmt: skip
    assert api.asked[0][1]["board_fields"] == "name"
    nameless = _Api({"cards/k2": {**moved, "board": None}})
    assert locate_cards(cast(TrelloApi, nameless), live, [("b1", "k2")])["b1"].located == {
        "k2": Located(CardState("k2", "N", "s", "b9", "l", False, ("ann",)))
    }
    odd: object
    for odd in ([], {"id": "k2"}, {**moved, "id": "k9"}):
        with pytest.raises(ApiUnreachable, match=r"^Trello answered card k2 oddly"):
            locate_cards(cast(TrelloApi, _Api({"cards/k2": odd})), live, [("b1", "k2")])


@pytest.mark.parametrize(
    ("located", "want"),
    [
        (None, (None, "the card was deleted or moved to another board")),  # not looked for
        (Located(error="x"), (None, "the card was deleted or moved to another board")),
        (Located(deleted=True), ("not_applied", DELETED)),
        (Located(_card("b2", "ann"), "Elsewhere"), ("applied", FOUND)),
        (Located(_card("b2"), "Elsewhere"), ("not_applied", NOT_FOUND)),
    ],
)
def test_an_open_add_whose_card_left_its_board_is_resolved_by_the_card_read_by_id(
    located: Located | None, want: tuple[str | None, str]
) -> None:
    """R35a: a killed run's open add on a card deleted since was "cannot tell" for every later
    run; read by id, deleted settles it (nothing to undo), and on another board the member
    there or not says whether the write took effect."""
    assert resolve(CARD, _board(located)) == want


DELETED_CARD = "the card was deleted after an interrupted write: nothing to undo"
UNARCHIVE = replace(
    MOVE, action="set_card_closed", field="closed", value=False, expected=True, list_id=""
)
MOVED = 'the card moved to board "Elsewhere" since: its idList there is left as it is; check it'


@pytest.mark.parametrize(
    ("change", "located", "want"),
    [
        (MOVE, None, (None, "the card was deleted or moved to another board")),
        (MOVE, Located(error="x"), (None, "the card was deleted or moved to another board")),
        (MOVE, Located(deleted=True), ("not_applied", DELETED_CARD)),
        (MOVE, Located(_card("b2"), "Elsewhere"), ("drifted", MOVED + " by hand")),
        (UNARCHIVE, Located(_card("b2"), "Elsewhere"), ("applied", SET)),
        (UNARCHIVE, Located(replace(_card("b2"), closed=True), ""), ("not_applied", UNSET)),
    ],
)  # fmt: skip
def test_an_open_value_write_whose_card_left_its_board_is_settled_from_the_card_by_id(
    change: ValueChange, located: Located | None, want: tuple[str | None, str]
) -> None:
    """R35a/R35d: a value write left open on a card deleted or moved since was "cannot tell"
    for every later run and undo; read by id, it is settled: deleted, nothing to undo; on
    another board, by its archive state or name there, else left as it is (drifted)."""
    assert resolve_value(change, _board(located)) == want
