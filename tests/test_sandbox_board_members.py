"""Removing a board member in the sandbox: the world's rule and its DELETE route."""

from __future__ import annotations

import pytest

from trello_restore.sandbox import render
from trello_restore.sandbox.endpoints import ROUTES, Route
from trello_restore.sandbox.world import LAST_ADMIN, NOT_ON_BOARD, TrelloError

from .conftest import Sandbox, make_world


def test_removal_logs_trellos_action_shape() -> None:
    """removeMemberFromBoard carries data {board, idMember, deactivated} and the member."""
    sw = make_world()
    w, i = sw.world, sw.ids
    action = w.remove_member_from_board(i["team"], i["cai"], i["lead"])
    assert action.type == "removeMemberFromBoard"
    assert action.data == {
        "board": w.boards[i["team"]].ref(),
        "idMember": i["cai"],
        "deactivated": False,
    }
    rendered = render.action(w, action)
    assert rendered["member"]["username"] == "cai"
    assert rendered["memberCreator"]["username"] == "lead"
    assert i["cai"] not in w.boards[i["team"]].memberships


def test_removal_takes_the_member_off_the_boards_cards() -> None:
    """The member leaves every card of the board, each removal logged by the remover."""
    sw = make_world()
    w, i = sw.world, sw.ids
    w.remove_member_from_board(i["team"], i["ben"], i["lead"])
    for name in ("c1", "c2", "c4"):
        assert i["ben"] not in w.cards[i[name]].id_members
    removals = [a for a in w.actions if a.type == "removeMemberFromCard"]
    assert {a.id_card for a in removals} == {i["c1"], i["c2"], i["c4"]}
    assert {(e.member_id, e.by, e.logged) for e in w.ledger[-3:]} == {(i["ben"], i["lead"], True)}


def test_the_last_admin_stays() -> None:
    """Removing the board's only active admin is refused and changes nothing."""
    sw = make_world()
    w, i = sw.world, sw.ids
    before = len(w.actions)
    with pytest.raises(TrelloError) as err:
        w.remove_member_from_board(i["team"], i["lead"], i["lead"])
    assert (err.value.status, err.value.body) == (400, LAST_ADMIN)
    assert len(w.actions) == before
    w.add_member_to_board(i["team"], i["ana"], i["lead"], "admin")
    w.remove_member_from_board(i["team"], i["lead"], i["ana"])
    assert i["lead"] not in w.boards[i["team"]].memberships


def test_a_non_member_cannot_be_removed() -> None:
    """A member without a membership of the board gets 400 member is not on the board."""
    sw = make_world()
    with pytest.raises(TrelloError) as err:
        sw.world.remove_member_from_board(sw.ids["archive"], sw.ids["ben"], sw.ids["lead"])
    assert (err.value.status, err.value.body) == (400, NOT_ON_BOARD)


def test_the_route_is_served() -> None:
    """The DELETE route is in ROUTES (it is in Trello's OpenAPI, see test_fidelity)."""
    assert Route("DELETE", "/1/boards/{id}/members/{idMember}") in ROUTES


class TestOverHttp:
    """DELETE /1/boards/{id}/members/{idMember} over loopback."""

    def test_removes_and_answers_the_memberships(self, sandbox: Sandbox) -> None:
        """A normal member removes another, with py-trello's JSON body; the answer lists the
        remaining members and memberships."""
        i = sandbox.ids
        url = f"{sandbox.base_url}/boards/{i['team']}/members/{i['cai']}"
        r = sandbox.session(sandbox.tokens["ana"]).delete(url, json={"idMember": i["cai"]})
        assert r.status_code == 200, r.text
        body = r.json()
        assert body["id"] == i["team"]
        assert i["cai"] not in {m["id"] for m in body["members"]}
        assert i["cai"] not in {m["idMember"] for m in body["memberships"]}
        assert i["cai"] not in sandbox.world.cards[i["c2"]].id_members
        assert sandbox.server.requests(method="DELETE")[0].status == 200

    def test_by_username(self, sandbox: Sandbox) -> None:
        """The member may be named by username, as with the PUT."""
        r = sandbox.session().delete(f"{sandbox.base_url}/boards/{sandbox.ids['team']}/members/ben")
        assert r.status_code == 200
        assert sandbox.ids["ben"] not in sandbox.world.boards[sandbox.ids["team"]].memberships

    @pytest.mark.parametrize(
        ("who", "member", "status", "text"),
        [
            ("obs", "ben", 401, "unauthorized permission requested"),
            ("outsider", "ben", 401, "unauthorized permission requested"),
            (None, "lead", 400, LAST_ADMIN),
            (None, "outsider", 400, NOT_ON_BOARD),
        ],
    )
    def test_refusals(
        self, sandbox: Sandbox, who: str | None, member: str, status: int, text: str
    ) -> None:
        """Observers and strangers may not remove members; the last admin and non-members
        cannot be removed; nothing changes."""
        i = sandbox.ids
        url = f"{sandbox.base_url}/boards/{i['team']}/members/{i[member]}"
        token = sandbox.tokens[who] if who else None
        r = sandbox.session(token).delete(url)
        assert (r.status_code, r.text) == (status, text)
        assert "removeMemberFromBoard" not in {a.type for a in sandbox.world.actions}
