"""Fidelity: the nested resources of the board read, ``GET /1/boards/{id}``, as Trello documents
them (the 2017 docs' board.html; the OpenAPI file names each parameter).

Each is served only when asked (default ``none``) and equals the sandbox's own listing for the
same filter and fields: ``cards``/``card_fields`` as ``/cards/{filter}``, ``members``/
``member_fields`` as ``/members``, ``actions``/``actions_limit``/``action_fields`` as
``/actions``; ``labels``, ``checklists``, ``boardStars`` and ``customFields`` are empty (the
sandbox's boards have none). A value outside a documented enum, or a ``*_fields`` name the
resource has not, is 400 ``invalid value for <param>``. The tool's own board reads answer as
before.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from trello_restore.boards import NO_NESTED, STATE_QUERY

from .conftest import Sandbox
from .test_fidelity import fixtures_dir  # noqa: F401 (a fixture, used by name)

pytestmark = pytest.mark.fidelity

#: The nested resources the sandbox serves on ``GET /1/boards/{id}``.
SERVED = (
    *("actions", "cards", "members", "memberships", "lists", "labels", "checklists"),
    *("boardStars", "customFields"),
)
#: The 2017 docs' defaults for the nested ``members``' and actions' member objects.
MEMBER_DEFAULT = "avatarHash,initials,fullName,username,confirmed"
ACTION_MEMBER_DEFAULT = "avatarHash,fullName,initials,username"


def board_read(sandbox: Sandbox, **params: Any) -> Any:
    """The answer to ``GET /1/boards/{team}`` with ``params``, which must be a 200."""
    answer = sandbox.get(f"/boards/{sandbox.ids['team']}", **params)
    assert answer.status_code == 200, answer.text
    return answer.json()


def listing(sandbox: Sandbox, path: str, **params: Any) -> Any:
    """The answer to ``GET /1/boards/{team}/<path>``, which must be a 200."""
    answer = sandbox.get(f"/boards/{sandbox.ids['team']}/{path}", **params)
    assert answer.status_code == 200, answer.text
    return answer.json()


def test_the_openapi_file_names_each_served_parameter(fixtures_dir: Path) -> None:  # noqa: F811
    """Every nested resource served is a parameter of ``GET /boards/{id}`` in the OpenAPI
    file."""
    spec = json.loads((fixtures_dir / "trello-openapi.json").read_text(encoding="utf-8"))
    params = {p.get("name") for p in spec["paths"]["/boards/{id}"]["get"]["parameters"]}
    assert set(SERVED) <= params


def test_nested_cards_and_members_equal_their_listings(sandbox: Sandbox) -> None:
    """``cards=<filter>`` with ``card_fields`` is ``/cards/<filter>?fields=``; ``members=``
    with ``member_fields`` is ``/members?filter=&fields=`` (default: the documented fields);
    nothing else is nested."""
    for which in ("all", "closed", "open", "visible"):
        nested = board_read(sandbox, fields="id", cards=which, card_fields="name,idMembers")
        assert list(nested) == ["id", "cards"]
        assert nested["cards"] == listing(sandbox, f"cards/{which}", fields="name,idMembers")
    everything = board_read(sandbox, fields="id", cards="all")["cards"]
    assert everything == listing(sandbox, "cards", filter="all")
    assert everything, "the world has cards"
    for which in ("all", "admins", "normal", "owners"):
        nested = board_read(sandbox, fields="id", members=which, member_fields="username")
        assert nested["members"] == listing(sandbox, "members", filter=which, fields="username")
    plain = board_read(sandbox, fields="id", members="all")["members"]
    assert plain == listing(sandbox, "members", filter="all", fields=MEMBER_DEFAULT)
    assert plain, "the board has members"


def test_nested_actions_equal_the_listing(sandbox: Sandbox) -> None:
    """``actions=<filter>`` with ``actions_limit``, ``action_fields`` and ``actions_since`` is
    ``/actions`` with ``filter``, ``limit``, ``fields``, ``since``; the embedded members have
    the documented default fields unless ``action_member_fields`` says."""
    feed = listing(sandbox, "actions", filter="all", limit=1000)
    assert len(feed) > 3, "the world has actions"
    since = feed[len(feed) // 2]["date"]
    for query in (
        {"actions": "all", "actions_limit": "3", "action_fields": "type,date"},
        {"actions": "all", "actions_limit": "1000", "actions_since": since},
        {"actions": "addMemberToCard,updateCard:idList", "action_member_fields": "all"},
    ):
        nested = board_read(sandbox, fields="id", **query)
        assert list(nested) == ["id", "actions"]
        own = {
            "filter": query["actions"],
            "limit": query.get("actions_limit", "50"),
            "member_fields": query.get("action_member_fields", ACTION_MEMBER_DEFAULT),
            "memberCreator_fields": ACTION_MEMBER_DEFAULT,
            **({"fields": query["action_fields"]} if "action_fields" in query else {}),
            **({"since": query["actions_since"]} if "actions_since" in query else {}),
        }
        assert nested["actions"] == listing(sandbox, "actions", **own), query
    every = board_read(sandbox, fields="id", actions="all", actions_limit="1000")["actions"]
    # Trello's GET board ignores ``actions_before`` (TRELLO-229, notes §1.1); so does the sandbox.
    before = {"actions_before": feed[len(feed) // 2]["id"]}
    assert board_read(sandbox, fields="id", actions="all", actions_limit="1000", **before) == {
        "id": sandbox.ids["team"],
        "actions": every,
    }


def test_resources_the_world_lacks_are_empty_and_none_is_nothing(sandbox: Sandbox) -> None:
    """``labels=all``, ``checklists=all``, ``boardStars=mine``, ``customFields=true``: empty
    arrays; each ``none`` (or ``false``) nests nothing."""
    empty = board_read(
        sandbox, fields="id", labels="all", checklists="all", boardStars="mine", customFields="true"
    )
    assert empty == {
        "id": sandbox.ids["team"],
        "labels": [],
        "checklists": [],
        "boardStars": [],
        "customFields": [],
    }
    nothing = {n: "none" for n in SERVED if n not in ("customFields", "memberships")}
    assert board_read(sandbox, fields="id", customFields="false", **nothing) == {
        "id": sandbox.ids["team"]
    }


@pytest.mark.parametrize(
    ("name", "query"),
    [
        ("cards", {"cards": "bogus"}),
        ("cards", {"cards": "complete"}),
        ("card_fields", {"cards": "all", "card_fields": "name,bogus"}),
        ("members", {"members": "observers"}),
        ("member_fields", {"members": "all", "member_fields": "username,bogus"}),
        ("actions", {"actions": "not a type"}),
        ("actions_limit", {"actions": "all", "actions_limit": "1001"}),
        ("actions_since", {"actions": "all", "actions_since": "yesterday"}),
        ("action_fields", {"actions": "all", "action_fields": "bogus"}),
        ("action_member", {"actions": "all", "action_member": "maybe"}),
        ("action_member_fields", {"actions": "all", "action_member_fields": "bogus"}),
        ("labels", {"labels": "open"}),
        ("label_fields", {"labels": "all", "label_fields": "colour"}),
        ("labels_limit", {"labels": "all", "labels_limit": "-1"}),
        ("checklists", {"checklists": "open"}),
        ("checklist_fields", {"checklists": "all", "checklist_fields": "bogus"}),
        ("boardStars", {"boardStars": "all"}),
        ("customFields", {"customFields": "all"}),
        ("list_fields", {"lists": "open", "list_fields": "bogus"}),
        ("list_fields", {"lists": "all", "list_fields": "name,Name"}),
        ("list_fields", {"list_fields": "bogus"}),
        ("memberships_member_fields", {"memberships": "all", "memberships_member_fields": "x"}),
    ],
)
def test_a_bad_value_is_refused(sandbox: Sandbox, name: str, query: dict[str, str]) -> None:
    """400 ``invalid value for <param>`` (plain text), as Trello answers a bad value."""
    answer = sandbox.get(f"/boards/{sandbox.ids['team']}", **query)
    assert (answer.status_code, answer.text) == (400, f"invalid value for {name}"), query


def test_the_tools_own_board_reads_answer_as_before(sandbox: Sandbox) -> None:
    """``NO_NESTED`` (``actions=none``, ``lists=none``) nests nothing; ``STATE_QUERY`` nests
    exactly its memberships (with members' names) and every list with ``name``/``closed``;
    live's reads (``fields=id``, ``list_fields=closed``) likewise."""
    plain = board_read(sandbox, fields="name,url,shortLink,closed", **NO_NESTED)
    assert list(plain) == ["id", "name", "url", "shortLink", "closed"]
    state = board_read(sandbox, **STATE_QUERY)
    assert list(state) == ["id", "name", "url", "shortLink", "closed", "memberships", "lists"]
    assert all(set(x) == {"id", "name", "closed"} for x in state["lists"])
    assert all(set(m["member"]) <= {"id", "fullName", "username"} for m in state["memberships"])
    live = board_read(sandbox, **{**STATE_QUERY, "fields": "id", "list_fields": "closed"})
    assert list(live) == ["id", "memberships", "lists"]
    assert all(set(x) == {"id", "closed"} for x in live["lists"])
