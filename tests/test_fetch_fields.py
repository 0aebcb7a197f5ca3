"""Parse less (issue 12 item 3): the action feeds are asked only for what ``history`` reads.

Every board and card feed request names the action's fields (``fields=``) and the member
objects' (``member_fields=``, ``memberCreator_fields=``); the sandbox answers them as Trello
documents (notes §1.1): ``fields`` picks among the action's own keys, the member objects keep
only the keys asked, ``appCreator`` stays. Over HTTP, with the real client stack: the history
and every plan are the same as from the whole actions, from a good deal fewer bytes.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

import pytest

from trello_restore import fetcher
from trello_restore.api import ApiSettings, TrelloApi
from trello_restore.fetcher import ACTION_FIELDS, card_actions, fetch, resolve_boards
from trello_restore.models import RESTORE_KINDS
from trello_restore.planner import build_plan
from trello_restore.sandbox.scenario import Scenario, generate

from .conftest import Sandbox, SandboxFactory
from .truthcheck import plan_options

ACTION_KEYS = {"id", "idMemberCreator", "type", "date", "data"}
MEMBER_KEYS = {"id", "username", "fullName"}


class _Recording:
    """The api, with the path and parameters of every GET noted; with ``most``, failing the
    test past that many GETs (a feed that pages on for ever, the same cursor again and
    again, stops)."""

    def __init__(self, api: TrelloApi, most: int | None = None) -> None:
        self.api, self.most = api, most
        self.calls: list[tuple[str, dict[str, str]]] = []

    def get(
        self,
        path: str,
        params: Mapping[str, str] | None = None,
        *,
        max_age: float | None = None,
        keep: bool = True,
    ) -> Any:
        self.calls.append((path, dict(params or {})))
        most = self.most
        if most is not None:
            assert len(self.calls) <= most, f"still paging after {most} requests: {params}"
        return self.api.get(path, params, max_age=max_age, keep=keep)


@pytest.fixture
def incident(sandbox_factory: SandboxFactory) -> tuple[Scenario, Sandbox]:
    """A small incident with a second damage, automations and members who hide their names."""
    s = generate(31, 60, second_damage=True, automation_share=0.4, hidden_name_share=0.3)
    return s, sandbox_factory(s)


def _api(sb: Sandbox) -> TrelloApi:
    return TrelloApi(ApiSettings(key=sb.key, token=sb.token, api_url=sb.base_url))


def test_every_action_feed_asks_only_for_what_is_parsed(
    incident: tuple[Scenario, Sandbox],
) -> None:
    """Board feeds (with the value kinds' filter) and a card's feed: the three parameters on
    every request, and answers that hold nothing else (a hidden name stays hidden)."""
    s, sb = incident
    with _api(sb) as api:
        rec = _Recording(api)
        fetched = fetch(rec, resolve_boards(rec, [s.team.id]), kinds=RESTORE_KINDS)
        card = sorted(fetched.state.cards)[0]
        raw = card_actions(rec, card, action_types="all")
        raw += fetcher.board_actions(rec, s.team.id, action_types="all")
    feeds = [(p, q) for p, q in rec.calls if p.endswith("/actions")]
    assert {p.split("/")[0] for p, _ in feeds} == {"boards", "cards"}
    for path, query in feeds:
        assert query["fields"] == ACTION_FIELDS, path
        assert query["member_fields"] == query["memberCreator_fields"] == "fullName,username"
    logged = [r for r in sb.server.request_log if r.path.endswith("/actions")]
    assert len(logged) == len(feeds)
    assert all(
        {"fields", "member_fields", "memberCreator_fields"} <= set(r.query_names) for r in logged
    )
    assert raw
    assert fetched.history.member_actions
    apps = 0
    for action in raw:
        assert set(action) - {"appCreator", "member", "memberCreator"} == ACTION_KEYS
        for key in ("member", "memberCreator"):
            if key in action:
                assert set(action[key]) <= MEMBER_KEYS
                assert "username" in action[key]
        apps += isinstance(action.get("appCreator"), dict)
    assert apps, "no automation's action was read: appCreator must survive fields="
    hidden = {m.id for m in s.world.members.values() if m.name_hidden}
    shown = [a["member"] for a in raw if "member" in a and a["member"]["id"] in hidden]
    assert shown
    assert all("fullName" not in m for m in shown)


def test_the_lean_feeds_give_the_same_history_and_plans(
    incident: tuple[Scenario, Sandbox], monkeypatch: pytest.MonkeyPatch
) -> None:
    """The history fetched with the three parameters equals the one fetched without them
    (every action key, whole member objects), and so does every reference set's plan."""
    s, sb = incident
    fetched = {}
    for lean in (True, False):
        if not lean:
            monkeypatch.setattr(fetcher, "_ACTION_QUERY", {})
        with _api(sb) as api:
            fetched[lean] = fetch(api, resolve_boards(api, [s.team.id]), kinds=RESTORE_KINDS)
    assert fetched[True].history == fetched[False].history
    assert fetched[True].members == fetched[False].members
    for option_set in s.option_sets().values():
        plans = [
            build_plan(
                f.history,
                f.state,
                plan_options(option_set),
                f.members,
                incomplete=f.incomplete,
                named_boards=f.named,
            )
            for f in (fetched[True], fetched[False])
        ]
        assert plans[0] == plans[1]


def test_the_sandbox_answers_fields_as_trello_documents(
    incident: tuple[Scenario, Sandbox],
) -> None:
    """``fields`` picks the action's own keys (``id`` always), ``member=``/``memberCreator=``
    and their ``_fields`` shape the member objects, ``appCreator`` is kept; without them every
    key comes. The lean page is under two thirds of the full one's bytes."""
    s, sb = incident
    path = f"/boards/{s.team.id}/actions"
    base = {"filter": "addMemberToCard,removeMemberFromCard", "limit": "200"}
    full = sb.get(path, **base)
    assert full.status_code == 200
    assert all({"limits", "appCreator"} <= set(a) for a in full.json())
    assert any("avatarUrl" in a.get("memberCreator", {}) for a in full.json())
    picked = sb.get(
        path, **base, fields="type,date", memberCreator="false", member_fields="username"
    )
    for a in picked.json():
        assert set(a) == {"id", "type", "date", "appCreator", "member"}
        assert set(a["member"]) == {"id", "username"}
    lean = sb.get(
        path,
        **base,
        fields=ACTION_FIELDS,
        member_fields="fullName,username",
        memberCreator_fields="fullName,username",
    )
    assert [a["id"] for a in lean.json()] == [a["id"] for a in full.json()]
    assert [a["data"] for a in lean.json()] == [a["data"] for a in full.json()]
    assert len(lean.content) < len(json.dumps(full.json()).encode()) * 2 / 3
