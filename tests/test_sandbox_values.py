"""The sandbox's card and list values over HTTP (design.md §10, trello-api-notes.md §13.8).

Each route is driven as a client drives it (JSON bodies as py-trello sends them, or query
parameters) and checked three ways: the answer, the world's state, and the action it logged
(``updateCard``/``updateList`` with ``data.old``), read back through the board's action feed
with Trello's sub-filters. The second damage's scenario is served and its ground truth carried
out over HTTP, which must leave exactly the state the truth says.
"""

from __future__ import annotations

import json
from typing import Any

import pytest
import requests

from trello_restore.sandbox.ids import iso
from trello_restore.sandbox.scenario import generate
from trello_restore.sandbox.truth import GroundTruth, snapshot
from trello_restore.sandbox.world import AUTOMATION, MAX_DESC

from .conftest import Sandbox, SandboxFactory, run_cli

JSON = dict[str, Any]
VALUE_FIELDS = "closed,idList,name,desc,due,dueComplete,start"


def _put(sb: Sandbox, path: str, body: JSON | None = None, **params: str) -> requests.Response:
    """``PUT`` with a JSON body (py-trello's way) and/or query parameters, as the lead."""
    return sb.session().put(sb.base_url + path, json=body, params=params, timeout=30)


def _post(sb: Sandbox, path: str, body: JSON | None = None) -> requests.Response:
    return sb.session().post(sb.base_url + path, json=body, timeout=30)


def _feed(sb: Sandbox, board: str, filter_: str) -> list[JSON]:
    """The board's actions for ``filter``, newest first."""
    got = sb.get(f"/boards/{board}/actions", filter=filter_, limit="1000")
    assert got.status_code == 200, got.text
    actions: list[JSON] = got.json()
    return actions


def _newest(sb: Sandbox) -> JSON:
    return _feed(sb, sb.ids["team"], "all")[0]


def test_each_card_field_logs_an_update_with_its_old_value(sandbox: Sandbox) -> None:
    """``PUT /cards/{id}`` sets each value field and logs one ``updateCard`` per field with the
    old value in ``data.old``, the new one on ``data.card``, and the card's board and list."""
    sb, ids = sandbox, sandbox.ids
    card = sb.world.cards[ids["c1"]]
    steps: list[tuple[str, Any, Any]] = [
        ("name", "C1, renamed", "C1, renamed"),
        ("desc", "Steps:\n1. one\n2. two", "Steps:\n1. one\n2. two"),
        ("due", "2026-01-05T09:00:00Z", "2026-01-05T09:00:00.000Z"),
        ("due", "2026-01-06T10:30:00.000+02:00", "2026-01-06T08:30:00.000Z"),
        ("dueComplete", True, True),
        ("start", "2026-01-01", "2026-01-01T00:00:00.000Z"),
        ("start", "0999-06-15T12:00:00Z", "0999-06-15T12:00:00.000Z"),  # 4 digits (R43b)
        ("start", "2026-01-01", "2026-01-01T00:00:00.000Z"),
        ("closed", True, True),
        ("due", None, None),  # JSON null clears the date
    ]
    for name, sent, stored in steps:
        old = render_value(sb, ids["c1"], name)
        got = _put(sb, f"/cards/{ids['c1']}", {name: sent})
        assert got.status_code == 200, got.text
        assert got.json()[name] == stored
        action = _newest(sb)
        assert (action["type"], action["idMemberCreator"]) == ("updateCard", ids["lead"])
        assert action["data"]["old"] == {name: old}
        assert action["data"]["card"][name] == stored
        assert action["data"]["card"]["id"] == card.id
        assert action["data"]["board"]["id"] == ids["team"]
        assert action["data"]["list"] == {"id": ids["doing"], "name": "Doing"}
    assert (card.name, card.due, card.due_complete, card.start, card.closed) == (
        "C1, renamed",
        None,
        True,
        "2026-01-01T00:00:00.000Z",
        True,
    )
    # The query form, as a URL carries it: due=null clears too.
    assert _put(sb, f"/cards/{ids['c1']}", due="2026-02-01").status_code == 200
    assert _put(sb, f"/cards/{ids['c1']}", due="null").status_code == 200
    assert card.due is None
    assert _newest(sb)["data"]["old"] == {"due": "2026-02-01T00:00:00.000Z"}


def render_value(sb: Sandbox, card_id: str, name: str) -> Any:
    """A card's value as ``GET /cards/{id}`` serves it."""
    got = sb.get(f"/cards/{card_id}", fields=name)
    assert got.status_code == 200
    return got.json()[name]


def test_a_same_value_put_succeeds_and_logs_nothing(sandbox: Sandbox) -> None:
    """Setting a value a card already has, or moving it to the list it is in, answers 200 and
    logs nothing: a retried write whose first answer was lost is harmless."""
    sb, ids = sandbox, sandbox.ids
    before = len(sb.world.actions)
    card = sb.world.cards[ids["c1"]]
    body = {"closed": False, "name": card.name, "desc": "", "due": None, "idList": card.id_list}
    got = _put(sb, f"/cards/{ids['c1']}", body | {"dueComplete": False, "start": None})
    assert got.status_code == 200, got.text
    assert len(sb.world.actions) == before


def test_a_move_between_lists_logs_list_before_and_after(sandbox: Sandbox) -> None:
    """``idList`` with ``pos=bottom`` (what a restore sends) puts the card last in the list and
    logs ``old.idList``, ``listBefore``, ``listAfter`` and the new ``card.idList``."""
    sb, ids = sandbox, sandbox.ids
    got = _put(sb, f"/cards/{ids['c1']}", {"idList": ids["done"], "pos": "bottom"})
    assert got.status_code == 200, got.text
    action = _newest(sb)
    assert action["data"]["old"] == {"idList": ids["doing"]}
    assert action["data"]["listBefore"] == {"id": ids["doing"], "name": "Doing"}
    assert action["data"]["listAfter"] == {"id": ids["done"], "name": "Done"}
    assert action["data"]["card"]["idList"] == ids["done"]
    in_done = [c for c in sb.world.cards.values() if c.id_list == ids["done"]]
    assert max(in_done, key=lambda c: c.pos).id == ids["c1"]
    # pos on its own moves within the list and logs old.pos
    assert _put(sb, f"/cards/{ids['c1']}", pos="top").status_code == 200
    assert min(in_done, key=lambda c: c.pos).id == ids["c1"]
    assert set(_newest(sb)["data"]["old"]) == {"pos"}


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"desc": "kept?", "name": ""}, "name"),
        ({"desc": "x" * (MAX_DESC + 1)}, "desc"),
        ({"name": "kept?", "due": "next tuesday"}, "due"),
        ({"start": "2026-13-01"}, "start"),
        ({"dueComplete": "maybe"}, "dueComplete"),
        ({"closed": "perhaps"}, "closed"),
        ({"idList": "not-an-id"}, None),
        ({"name": "kept?", "pos": "middle"}, "pos"),
    ],
)
def test_a_bad_value_refuses_the_whole_put(sandbox: Sandbox, body: JSON, field: str | None) -> None:
    """A bad value answers 400 with Trello's text (or the JSON ``Invalid objectId`` for an id)
    and changes and logs nothing, not even the request's good values."""
    sb, ids = sandbox, sandbox.ids
    card = sb.world.cards[ids["c1"]]
    before = (len(sb.world.actions), card.name, card.desc, card.id_list, card.pos)
    got = _put(sb, f"/cards/{ids['c1']}", body)
    assert got.status_code == 400
    if field is None:
        assert got.json() == {"message": "Invalid objectId", "error": "ERROR"}
    else:
        assert got.text == f"invalid value for {field}"
    assert (len(sb.world.actions), card.name, card.desc, card.id_list, card.pos) == before


def test_archiving_a_list_logs_update_list(sandbox: Sandbox) -> None:
    """``PUT /lists/{id}/closed`` (``value``, as py-trello's ``List.close``/``open`` send it)
    logs ``updateList`` with ``old.closed``; again is a no-op; an observer may not."""
    sb, ids = sandbox, sandbox.ids
    got = _put(sb, f"/lists/{ids['done']}/closed", {"value": "true"})
    assert got.status_code == 200, got.text
    assert got.json()["closed"] is True
    action = _newest(sb)
    assert action["type"] == "updateList"
    assert action["data"]["old"] == {"closed": False}
    assert action["data"]["list"] == {"id": ids["done"], "name": "Done", "closed": True}
    count = len(sb.world.actions)
    assert _put(sb, f"/lists/{ids['done']}/closed", value="true").status_code == 200
    assert len(sb.world.actions) == count
    assert _put(sb, f"/lists/{ids['done']}/closed").text == "invalid value for value"
    observer = sb.session(sb.tokens["obs"]).put(
        f"{sb.base_url}/lists/{ids['done']}/closed", params={"value": "false"}, timeout=30
    )
    assert observer.status_code == 401
    assert sb.world.lists[ids["done"]].closed


def test_archive_all_cards_logs_one_action_per_open_card(sandbox: Sandbox) -> None:
    """``POST /lists/{id}/archiveAllCards`` archives the list's open cards, each logged as if
    archived by hand (the sandbox's stated choice); an archived card is left as it was."""
    sb, ids = sandbox, sandbox.ids
    earlier = _feed(sb, ids["team"], "updateCard:closed")
    got = _post(sb, f"/lists/{ids['doing']}/archiveAllCards")
    assert (got.status_code, got.json()) == (200, {})
    new = _feed(sb, ids["team"], "updateCard:closed")[: -len(earlier)]
    assert sorted(a["data"]["card"]["id"] for a in new) == sorted([ids["c1"], ids["c2"]])
    assert all(a["data"]["old"] == {"closed": False} for a in new)
    assert all(a["idMemberCreator"] == ids["lead"] for a in new)
    assert all(sb.world.cards[ids[c]].closed for c in ("c1", "c2", "c_archived"))
    assert _post(sb, f"/lists/{ids['doing']}/archiveAllCards").status_code == 200
    assert len(_feed(sb, ids["team"], "updateCard:closed")) == len(earlier) + 2


def test_move_all_cards_on_the_board_and_to_another(sandbox: Sandbox) -> None:
    """``POST /lists/{id}/moveAllCards``: on the same board, one ``updateCard`` with
    ``old.idList`` per open card, each put at the bottom in order; to another board, each card
    moves as ``moveCardToBoard`` with the incident's side effect. Both ids are required."""
    sb, ids = sandbox, sandbox.ids
    path = f"/lists/{ids['doing']}/moveAllCards"
    assert _post(sb, path, {"idBoard": ids["team"]}).text == "invalid value for idList"
    assert _post(sb, path, {"idList": ids["done"]}).text == "invalid value for idBoard"
    got = _post(sb, path, {"idBoard": ids["team"], "idList": ids["done"]})
    assert (got.status_code, got.json()) == (200, {})
    moves = _feed(sb, ids["team"], "updateCard:idList")[:2]
    assert [a["data"]["card"]["id"] for a in reversed(moves)] == [ids["c1"], ids["c2"]]
    assert all(a["data"]["listBefore"]["id"] == ids["doing"] for a in moves)
    done = sorted((c for c in sb.world.cards.values() if c.id_list == ids["done"]), key=_pos)
    assert [c.id for c in done] == [ids["c3"], ids["c1"], ids["c2"]]
    assert sb.world.cards[ids["c_archived"]].id_list == ids["doing"]  # archived: stays

    got = _post(
        sb,
        f"/lists/{ids['done']}/moveAllCards",
        {"idBoard": ids["archive"], "idList": ids["shelf"]},
    )
    assert got.status_code == 200, got.text
    arrived = _feed(sb, ids["archive"], "moveCardToBoard")
    assert {a["data"]["card"]["id"] for a in arrived} == {ids["c1"], ids["c2"], ids["c3"]}
    # ben and cai are not on the archive board: stripped, and logged as the lead's removals
    assert all(sb.world.cards[ids[c]].id_members in ([], [ids["ana"]]) for c in ("c1", "c2"))
    removed = _feed(sb, ids["archive"], "removeMemberFromCard")
    assert {a["data"]["idMember"] for a in removed} == {ids["ben"], ids["cai"]}


def _pos(card: Any) -> float:
    return float(card.pos)


def test_sub_filters_select_each_kind_of_update(sandbox: Sandbox) -> None:
    """Board feeds select updates by ``type:field`` as Trello does (the action's ``data.old``
    holds that field); a plain type selects every update of it; filters combine."""
    sb, ids = sandbox, sandbox.ids
    c1 = f"/cards/{ids['c1']}"
    for body in (
        {"name": "N"},
        {"desc": "D"},
        {"due": "2026-03-01"},
        {"dueComplete": True},
        {"start": "2026-02-01"},
        {"closed": True},
    ):
        assert _put(sb, c1, body).status_code == 200
    assert _put(sb, f"/lists/{ids['done']}/closed", value="true").status_code == 200
    updates = [a for a in _feed(sb, ids["team"], "updateCard") if a["data"]["card"]["id"] == c1[7:]]
    assert len(updates) == 6
    for field in ("name", "desc", "due", "dueComplete", "start", "closed", "idList"):
        got = _feed(sb, ids["team"], f"updateCard:{field}")
        assert got, field
        assert all(list(a["data"]["old"]) == [field] for a in got), field
    assert [a["data"]["list"]["id"] for a in _feed(sb, ids["team"], "updateList:closed")] == [
        ids["done"],
        ids["old"],
    ]
    both = _feed(sb, ids["team"], "updateCard:due,updateList:closed")
    assert sorted(a["type"] for a in both) == ["updateCard", "updateList", "updateList"]
    assert _feed(sb, ids["team"], "updateCard:labels") == []


def test_cards_and_lists_serve_the_value_fields(sandbox: Sandbox) -> None:
    """``GET /boards/{id}/cards/all?fields=…`` serves the value fields (archived cards and cards
    in archived lists included) and ``GET /boards/{id}/lists?filter=all`` the lists' ``closed``."""
    sb, ids = sandbox, sandbox.ids
    assert _put(sb, f"/cards/{ids['c2']}", {"due": "2026-04-01", "desc": "d"}).status_code == 200
    got = sb.get(f"/boards/{ids['team']}/cards/all", fields=VALUE_FIELDS).json()
    by_id = {c["id"]: c for c in got}
    assert set(by_id) == {ids[c] for c in ("c1", "c2", "c_archived", "c3", "c4")}
    for cid, item in by_id.items():
        card = sb.world.cards[cid]
        assert list(item) == ["id", *VALUE_FIELDS.split(",")]
        assert (item["closed"], item["idList"], item["name"], item["desc"]) == (
            card.closed,
            card.id_list,
            card.name,
            card.desc,
        )
        assert (item["due"], item["dueComplete"], item["start"]) == (
            card.due,
            card.due_complete,
            card.start,
        )
    assert by_id[ids["c2"]]["due"] == "2026-04-01T00:00:00.000Z"
    assert by_id[ids["c_archived"]]["closed"] is True
    lists = sb.get(f"/boards/{ids['team']}/lists", filter="all", fields="closed").json()
    assert {x["id"]: x["closed"] for x in lists} == {
        ids["doing"]: False,
        ids["done"]: False,
        ids["old"]: True,
    }


# --------------------------------------------------------------- the second damage, over HTTP


def test_second_damage_is_served_as_trello_logs_it(sandbox_factory: SandboxFactory) -> None:
    """Read through the board's feed: the culprit's bulk archive and move, one action per card;
    the automation's overwrites with ``appCreator`` and no ``memberCreator``, attributed to the
    culprit by ``idMemberCreator``; the edits by others after."""
    s = generate(6, 120, second_damage=True)
    second, culprit = s.story.second, s.culprit
    assert second is not None
    assert culprit is not None
    sb = sandbox_factory(s)
    t2 = iso(second.at)
    feed = [a for a in _feed(sb, s.team.id, "updateCard") if a["date"] >= t2]
    archived = [a for a in feed if a["data"]["old"] == {"closed": False}]
    assert sorted(a["data"]["card"]["id"] for a in archived) == sorted(second.archived_cards)
    assert {a["idMemberCreator"] for a in archived} == {culprit.id}
    moved = [a for a in feed if "idList" in a["data"]["old"] and a["idMemberCreator"] == culprit.id]
    assert sorted(a["data"]["card"]["id"] for a in moved) == sorted(second.moved_cards)
    assert {a["data"]["listBefore"]["id"] for a in moved} == {second.moved_from}
    automated = [a for a in feed if a["appCreator"] is not None]
    assert {a["data"]["card"]["id"] for a in automated if "due" in a["data"]["old"]} == set(
        second.due_before
    )
    assert {a["data"]["card"]["id"] for a in automated if "desc" in a["data"]["old"]} == set(
        second.desc_before
    )
    for a in automated:
        assert a["appCreator"]["id"] == AUTOMATION.id
        assert "memberCreator" not in a
        assert a["idMemberCreator"] == culprit.id
    by_others = [a for a in feed if a["idMemberCreator"] != culprit.id]
    assert len(by_others) == 3  # one unarchive, one description, one move: by hand
    assert all(a["appCreator"] is None and "memberCreator" in a for a in by_others)


def _carry_out(sb: Sandbox, truth: GroundTruth) -> None:
    """Make a ground truth's changes over HTTP, as a correct apply would: board memberships,
    list unarchives, card moves and unarchives, fields, then card members."""
    for g in sorted(truth.grants):
        got = _put(sb, f"/boards/{g.board_id}/members/{g.member_id}", type=g.role)
        assert got.status_code == 200, got.text
    order = {"closed": 1, "idList": 1}
    changes = sorted(
        truth.value_changes,
        key=lambda c: (c.object_type != "list", order.get(c.field, 2), c.object_id, c.field),
    )
    for c in changes:
        if c.object_type == "list":
            got = _put(sb, f"/lists/{c.object_id}/closed", value=json.dumps(c.value))
        elif c.field == "idList":
            got = _put(sb, f"/cards/{c.object_id}", {"idList": c.value, "pos": "bottom"})
        else:
            got = _put(sb, f"/cards/{c.object_id}", {c.field: c.value})
        assert got.status_code == 200, got.text
    for ch in sorted(truth.changes):
        got = sb.session().post(
            f"{sb.base_url}/cards/{ch.card_id}/idMembers", params={"value": ch.member_id}
        )
        assert got.status_code == 200, got.text


@pytest.mark.parametrize("name", ["f", "g", "h"])
def test_truth_carried_out_over_http_gives_its_end_state(
    sandbox_factory: SandboxFactory, name: str
) -> None:
    """Writing the ground truth of f, g and h through the routes leaves exactly
    ``truth.end_state(baseline)``: the routes can express every restore the truth asks for, and
    the truth's end state is what those writes make."""
    s = generate(6, 120, second_damage=True)
    truth = s.truth(name)
    assert truth.value_changes
    baseline = snapshot(s.world)
    for c in truth.value_changes:
        assert baseline[c.key] == c.expected  # what the apply will find
    sb = sandbox_factory(s, token_limit=10_000, key_limit=10_000)  # writes, not rate limits
    _carry_out(sb, truth)
    assert snapshot(s.world) == truth.end_state(baseline)
    assert truth.end_state(baseline) != baseline


def test_export_holds_the_value_updates(tmp_path: Any) -> None:
    """``sandbox export --second-damage`` writes a board export whose actions hold the second
    damage's ``updateCard`` actions with their old values, and says when and by whom it was."""
    out = tmp_path / "team.json"
    args = ["sandbox", "export", "--seed", "6", "--cards", "120", "--second-damage"]
    result = run_cli([*args, "-o", str(out)])
    assert result.exit_code == 0, result.output
    s = generate(6, 120, second_damage=True)
    assert s.second_damage_at is not None
    assert s.culprit is not None
    when = f"{s.second_damage_at:%Y-%m-%dT%H:%M:%SZ}"
    assert f"The second damage happened at {when}, by {s.culprit.username}." in result.stderr
    doc = json.loads(out.read_text(encoding="utf-8"))
    late = [a for a in doc["actions"] if a["date"] >= iso(s.second_damage_at)]
    olds = {k for a in late for k in a["data"]["old"]}
    assert olds == {"closed", "idList", "due", "desc"}
    assert {a["idMemberCreator"] for a in late if a["appCreator"]} == {s.culprit.id}
    # The cards hold the damaged values the actions describe.
    cards = {c["id"]: c for c in doc["cards"]}
    second = s.story.second
    assert second is not None
    assert second.unarchived is not None
    assert all(cards[c]["closed"] for c in second.archived_cards if c != second.unarchived[0])
    for cid in second.desc_before:
        assert cards[cid]["desc"] == s.world.cards[cid].desc != second.desc_before[cid]


def test_unknown_list_and_card_answer_like_trello(sandbox: Sandbox) -> None:
    """A list or card id that does not exist: 404 text; one that is not an id: 400."""
    sb = sandbox
    missing = "0" * 24
    assert _post(sb, f"/lists/{missing}/archiveAllCards").status_code == 404
    assert _put(sb, f"/lists/{missing}/closed", value="true").status_code == 404
    assert _put(sb, "/lists/nope/closed", value="true").text == "invalid id"
    assert _put(sb, f"/cards/{missing}", {"name": "x"}).status_code == 404
