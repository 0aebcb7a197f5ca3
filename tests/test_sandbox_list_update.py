"""The sandbox's ``PUT /1/lists/{id}`` (Trello's "Update a List"; it answered 404 before):
``name`` renames the list and logs ``updateList`` with ``data.old.name``, as Trello does (the
shape of the real sample in ``fixtures/trello-real/``: ``data{board, list{id, name}, old{name}}``);
``closed`` and ``pos`` log theirs; a bad value refuses the request with nothing changed; other
parameters are ignored, as ``PUT /cards/{id}`` ignores them. Over HTTP."""

from __future__ import annotations

from typing import Any

import pytest

from .conftest import Sandbox


def _put(sandbox: Sandbox, list_id: str, token: str | None = None, **params: str) -> Any:
    return sandbox.session(token).put(f"{sandbox.base_url}/lists/{list_id}", params=params)


def _feed(sandbox: Sandbox, filter: str) -> list[dict[str, Any]]:
    r = sandbox.get(f"/boards/{sandbox.ids['team']}/actions", filter=filter)
    assert r.status_code == 200, r.text
    actions: list[dict[str, Any]] = r.json()
    return actions


def test_rename_logs_update_list_with_the_old_name(sandbox: Sandbox) -> None:
    """A rename answers the list with its new name, the board's lists show it, and one
    ``updateList`` is logged (found by the ``updateList:name`` sub-filter); the same name
    again changes and logs nothing; an unknown parameter is ignored."""
    i = sandbox.ids
    r = _put(sandbox, i["doing"], name="Working on", bogus="1")
    assert r.status_code == 200, r.text
    assert (r.json()["id"], r.json()["name"], r.json()["closed"]) == (
        i["doing"],
        "Working on",
        False,
    )
    names = {x["id"]: x["name"] for x in sandbox.get(f"/boards/{i['team']}/lists").json()}
    assert names[i["doing"]] == "Working on"
    [action] = _feed(sandbox, "updateList:name")
    assert action["type"] == "updateList"
    assert action["idMemberCreator"] == i["lead"]
    data = action["data"]
    assert sorted(data) == ["board", "list", "old"]
    assert data["list"] == {"id": i["doing"], "name": "Working on"}
    assert data["old"] == {"name": "Doing"}
    assert data["board"]["id"] == i["team"]
    assert _feed(sandbox, "updateList:closed")[0]["data"]["list"]["id"] == i["old"]  # unchanged

    again = _put(sandbox, i["doing"], name="Working on")
    assert again.status_code == 200, again.text
    assert len(_feed(sandbox, "updateList:name")) == 1


def test_closed_and_pos_log_one_action_each(sandbox: Sandbox) -> None:
    """``closed=true&pos=top`` archives the list and puts it first on its board: two
    ``updateList`` actions, ``old.closed`` and ``old.pos`` (``data.list.pos`` the new one)."""
    i = sandbox.ids
    before = {x.id: x.pos for x in sandbox.world.lists_on_board(i["team"])}
    r = _put(sandbox, i["done"], closed="true", pos="top")
    assert r.status_code == 200, r.text
    assert r.json()["closed"] is True
    assert r.json()["pos"] < min(p for k, p in before.items() if k != i["done"])
    [closed] = [
        a for a in _feed(sandbox, "updateList:closed") if a["data"]["list"]["id"] == i["done"]
    ]
    assert closed["data"]["old"] == {"closed": False}
    [moved] = _feed(sandbox, "updateList:pos")
    assert moved["data"]["old"] == {"pos": before[i["done"]]}
    assert moved["data"]["list"] == {"id": i["done"], "name": "Done", "pos": r.json()["pos"]}


@pytest.mark.parametrize(
    ("params", "text"),
    [({"name": ""}, "invalid value for name"),
     ({"name": "New", "pos": "-1"}, "invalid value for pos"),
     ({"name": "New", "closed": "maybe"}, "invalid value for closed"),
     ({"name": "New", "idBoard": "0" * 24}, "invalid value for idBoard")],
)  # fmt: skip
def test_a_bad_value_changes_nothing(sandbox: Sandbox, params: dict[str, str], text: str) -> None:
    """400 with Trello's plain-text ``invalid value for <name>``; the list keeps its name and
    state, and nothing is logged."""
    i = sandbox.ids
    logged = len(sandbox.world.actions)
    r = _put(sandbox, i["doing"], **params)
    assert (r.status_code, r.text) == (400, text)
    lst = sandbox.world.lists[i["doing"]]
    assert (lst.name, lst.closed) == ("Doing", False)
    assert len(sandbox.world.actions) == logged


def test_who_may_rename(sandbox: Sandbox) -> None:
    """An observer is refused 401, an unknown list is 404, as the other list routes answer."""
    i = sandbox.ids
    refused = _put(sandbox, i["doing"], token=sandbox.tokens["obs"], name="Mine")
    assert refused.status_code == 401
    assert sandbox.world.lists[i["doing"]].name == "Doing"
    assert _put(sandbox, "f" * 24, name="Nowhere").status_code == 404


def test_id_board_moves_the_list_as_the_id_board_route_does(sandbox: Sandbox) -> None:
    """``idBoard`` is the move of ``PUT /lists/{id}/idBoard`` (the incident): the list is on
    the other board and the move is logged on both; its own board again changes nothing."""
    i = sandbox.ids
    assert _put(sandbox, i["doing"], idBoard=i["team"]).status_code == 200
    assert sandbox.world.lists[i["doing"]].id_board == i["team"]
    r = _put(sandbox, i["doing"], idBoard=i["archive"])
    assert r.status_code == 200, r.text
    assert r.json()["idBoard"] == i["archive"]
    [moved] = _feed(sandbox, "moveListFromBoard")
    assert moved["data"]["list"]["id"] == i["doing"]
    assert moved["data"]["boardTarget"]["id"] == i["archive"]
