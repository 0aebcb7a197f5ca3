"""The sandbox keeps a board's last admin (R20b): Trello refuses to leave a board without an
admin, so making its only active admin a normal member or an observer
(``PUT /1/boards/{id}/members/{idMember}?type=…``) is refused like removing them (``DELETE``):
400 with a plain-text body (the sandbox's choice; Trello's exact answer is unconfirmed,
trello-api-notes.md §3.2), and nothing changes. With a second admin, both go through."""

from __future__ import annotations

import pytest

from trello_restore.sandbox.world import LAST_ADMIN, LAST_ADMIN_TYPE, TrelloError

from .conftest import Sandbox, make_world


@pytest.mark.parametrize("member_type", ["normal", "observer"])
def test_the_only_admin_is_not_demoted(member_type: str) -> None:
    """The world refuses it, logs nothing and keeps the admin; another admin first, and the
    same change is made and logged."""
    sw = make_world()
    w, i = sw.world, sw.ids
    before = len(w.actions)
    with pytest.raises(TrelloError) as err:
        w.add_member_to_board(i["team"], i["lead"], i["lead"], member_type)  # type: ignore[arg-type]
    assert (err.value.status, err.value.body) == (400, LAST_ADMIN_TYPE)
    assert len(w.actions) == before
    assert w.boards[i["team"]].memberships[i["lead"]].member_type == "admin"
    w.add_member_to_board(i["team"], i["ana"], i["lead"], "admin")
    w.add_member_to_board(i["team"], i["lead"], i["ana"], member_type)  # type: ignore[arg-type]
    assert w.boards[i["team"]].memberships[i["lead"]].member_type == member_type
    assert w.actions[-1].type == f"make{member_type.title()}MemberOfBoard"


def test_a_deactivated_admin_does_not_count() -> None:
    """A second admin who is deactivated leaves the board's one active admin its last."""
    sw = make_world()
    w, i = sw.world, sw.ids
    w.add_member_to_board(i["team"], i["ana"], i["lead"], "admin")
    w.boards[i["team"]].memberships[i["ana"]].deactivated = True
    with pytest.raises(TrelloError) as err:
        w.add_member_to_board(i["team"], i["lead"], i["lead"], "observer")
    assert (err.value.status, err.value.body) == (400, LAST_ADMIN_TYPE)


@pytest.mark.parametrize(
    ("method", "query", "text"),
    [("PUT", {"type": "observer"}, LAST_ADMIN_TYPE), ("PUT", {"type": "normal"}, LAST_ADMIN_TYPE),
     ("DELETE", {}, LAST_ADMIN)],
)  # fmt: skip
def test_over_http_the_board_keeps_its_admin(
    sandbox: Sandbox, method: str, query: dict[str, str], text: str
) -> None:
    """Over HTTP: 400 and the plain-text body; the lead is still the board's admin and can
    still change it (the board is not locked)."""
    i = sandbox.ids
    url = f"{sandbox.base_url}/boards/{i['team']}/members/{i['lead']}"
    r = sandbox.session().request(method, url, params=query)
    assert (r.status_code, r.text) == (400, text)
    assert sandbox.world.boards[i["team"]].memberships[i["lead"]].member_type == "admin"
    ok = sandbox.session().put(f"{sandbox.base_url}/boards/{i['team']}/members/{i['ben']}",
                               params={"type": "observer"})  # fmt: skip
    assert ok.status_code == 200, ok.text
