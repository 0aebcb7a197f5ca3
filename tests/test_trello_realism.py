"""What real Trello does that the sandbox and the client once assumed away (issue 9, items 9-13;
trello-api-notes.md §13): 202 Accepted answers, actions made by automations and private member
names, 429s with other bodies, ``before=<id>`` compared by second, and action types that no feed
returns. Each is checked over HTTP against the sandbox, through the real client stack."""

from __future__ import annotations

import json
import logging
import threading
import time
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
import responses

from trello_restore.api import DEFAULT_API_URL, ApiSettings, TrelloApi
from trello_restore.applier import apply_plan
from trello_restore.errors import RateLimited
from trello_restore.fetcher import board_actions, board_cards, card_actions
from trello_restore.history import ACTION_FILTER, parse_history
from trello_restore.live import LiveBoard
from trello_restore.models import CardState, MemberRef
from trello_restore.paging import stamp
from trello_restore.plan_request import build_request
from trello_restore.planfile import plan_to_dict
from trello_restore.report import render_text
from trello_restore.run import PlanResult, make_plan
from trello_restore.sandbox import render
from trello_restore.sandbox.scenario import Scenario, generate
from trello_restore.sandbox.server import RATE_LIMIT_BODIES, SandboxOptions
from trello_restore.sandbox.truth import OptionSet
from trello_restore.sandbox.world import AUTOMATION
from trello_restore.touches import read_touches

from .applykit import NOW, api_for, diff, expected, fast_options, open_journal, snapshot
from .conftest import Sandbox, SandboxFactory, cli_invoker, make_world, trello_env
from .test_kinds import CARD
from .truthcheck import assert_plan_is_truth


def _plan(sb: Sandbox, s: Scenario, o: OptionSet) -> PlanResult:
    """Plan option set ``o`` over HTTP, naming both boards of the incident (the scope the
    ground truth is computed for)."""
    request = build_request(
        boards=(s.team.id, s.archive.id),
        exports=(),
        since=o.since.isoformat(),
        until=None,
        now=NOW,
        mode=o.mode,
        removed_by=s.mover.username if o.removed_by else None,
        cause=o.cause,
        only_recorded=o.only_recorded,
        add_to_board=o.add_to_board,
        api_url=sb.base_url,
        key=sb.key,
        token=sb.token,
    )
    return make_plan(request, created_at=NOW)


def _statuses(sb: Sandbox, start: int = 0) -> dict[tuple[str, int | None], int]:
    """How many requests of each (method, status) the sandbox answered since ``start``."""
    out: dict[tuple[str, int | None], int] = {}
    for r in sb.server.request_log[start:]:
        out[(r.method, r.status)] = out.get((r.method, r.status), 0) + 1
    return out


# ------------------------------------------------------------------- 9: 2xx other than 200


def test_the_sandbox_can_answer_202_with_the_same_body(sandbox_factory: SandboxFactory) -> None:
    """``accepted_rate`` answers that share of successes 202 Accepted, body unchanged; errors
    keep their status; it can be set while running (like the other faults)."""
    sb = sandbox_factory(accepted_rate=1.0)
    path = f"/boards/{sb.ids['team']}/actions"
    accepted = sb.get(path, filter="all")
    assert accepted.status_code == 202
    assert accepted.reason == "Accepted"
    assert sb.get("/boards/000000000000000000000000").status_code == 404
    sb.server.set_options(accepted_rate=0.0)
    assert (sb.get(path, filter="all").status_code, sb.get(path, filter="all").json()) == (
        200,
        accepted.json(),
    )
    options = sb.session().put(
        sb.server.base_url.removesuffix("/1") + "/_sandbox/options",
        json={"accepted_rate": 0.5},
        timeout=30,
    )
    assert options.json()["accepted_rate"] == 0.5
    with pytest.raises(ValueError, match="accepted_rate must be between 0 and 1"):
        SandboxOptions(accepted_rate=1.5)


def test_202_answers_plan_and_apply_exactly(
    sandbox_factory: SandboxFactory, tmp_path: Path
) -> None:
    """With most answers 202 (reads and writes), planning over HTTP gives exactly the ground
    truth and applying the plan leaves exactly the expected boards: every 2xx is a success,
    including the writes that go through py-trello's objects."""
    s = generate(41, 60)
    sb = sandbox_factory(s, time_scale=100, accepted_rate=0.8, seed=41)
    truth = s.truth("b")
    result = _plan(sb, s, s.option_sets()["b"])
    assert_plan_is_truth(result.plan, truth)
    assert truth.changes
    assert truth.grants
    doc = plan_to_dict(result.plan, result.meta)
    before = snapshot(s.world)
    start = len(sb.server.request_log)
    with api_for(sb) as api, open_journal(doc, tmp_path / "journal.jsonl", api) as journal:
        report = apply_plan(
            result.plan, result.meta, api, journal, fast_options(), lock_dir=tmp_path / "locks"
        )
    assert diff(snapshot(s.world), expected(before, truth)) == []
    assert report.counts == {"applied": len(truth.changes) + len(truth.grants)}
    seen = _statuses(sb)
    assert seen[("GET", 202)] > seen.get(("GET", 200), 0)
    written = _statuses(sb, start)
    assert written.get(("POST", 202), 0) + written.get(("PUT", 202), 0) > 0


# -------------------------------------------------- 10: automations and private member names


def test_automation_actions_and_private_names_render_like_trello() -> None:
    """An automation's action has ``appCreator`` with the app's id and name and no
    ``memberCreator``; ``idMemberCreator`` still names the member it acted for. A private
    member has no ``fullName`` (nor a ``name`` in action data); ``nonPublic`` holds it."""
    sw = make_world()
    w, i = sw.world, sw.ids
    w.members[i["cai"]].name_hidden = True
    w.automation_share = 1.0
    by_app = w.remove_member_from_card(i["c2"], i["cai"], i["lead"])
    w.automation_share = 0.0
    by_hand = w.remove_member_from_card(i["c1"], i["ben"], i["lead"])
    got = render.action(w, by_app)
    assert got["appCreator"] == {"id": AUTOMATION.id, "authType": "automation"}
    assert "memberCreator" not in got
    assert got["idMemberCreator"] == i["lead"]
    assert got["data"]["member"] == {"id": i["cai"]}
    assert "fullName" not in got["member"]
    assert got["member"]["username"] == "cai"
    assert got["member"]["nonPublic"]["fullName"] == "Cai Example"
    plain = render.action(w, by_hand)
    assert plain["appCreator"] is None
    assert plain["memberCreator"]["fullName"] == "Lead Example"
    history = parse_history([got, plain])
    (app_made,) = [a for a in history.member_actions if a.id == by_app.id]
    assert (app_made.by, app_made.app, app_made.member_id) == (
        i["lead"],
        f"app {AUTOMATION.id}",
        i["cai"],
    )
    assert history.members[i["cai"]].full_name == ""  # private: not read from nonPublic
    assert [a.app for a in history.member_actions if a.id == by_hand.id] == [""]


def test_automation_and_private_names_leave_the_scenario_unchanged() -> None:
    """The shares change how actions and members look, nothing else: same ids, history, ledger
    and ground truth; live writes after the history are never an automation's."""
    plain = generate(42, 40)
    varied = generate(42, 40, automation_share=0.5, hidden_name_share=0.5)
    assert [a.id for a in varied.world.actions] == [a.id for a in plain.world.actions]
    assert varied.world.ledger == plain.world.ledger
    for name in "abcde":
        assert varied.truth(name) == plain.truth(name)
    apps = [a.app for a in varied.world.actions]
    assert 0 < sum(a is not None for a in apps) < len(apps)
    hidden = [m.name_hidden for m in varied.world.members.values()]
    assert any(hidden)
    assert not all(hidden)
    assert not any(a.app for a in plain.world.actions)
    assert varied.world.automation_share == 0.0


@pytest.mark.parametrize(("automation", "hidden"), [(1.0, 1.0), (0.5, 0.5)])
def test_automation_actions_plan_like_any_other(
    sandbox_factory: SandboxFactory, automation: float, hidden: float
) -> None:
    """The mover's removals (and moves) logged by an automation, and members whose names are
    private: over HTTP the plan of every option set (``--removed-by`` the mover's username,
    ``--cause move`` included) is exactly the plain scenario's, and the ground truth. The text
    plan names the app where it names who removed, and shows private members by username."""
    plain = generate(43, 60)
    varied = generate(43, 60, automation_share=automation, hidden_name_share=hidden)
    sb_plain, sb_varied = sandbox_factory(plain), sandbox_factory(varied)
    sets = dict(varied.option_sets())
    sets["m"] = OptionSet("m", since=varied.incident_at, cause="move", add_to_board=True)
    texts = []
    for o in sets.values():
        got = _plan(sb_varied, varied, o)
        want = _plan(sb_plain, plain, o)
        assert_plan_is_truth(got.plan, varied.truth(o))
        assert [c.change_id for c in got.plan.changes] == [c.change_id for c in want.plan.changes]
        assert [b.change.change_id for b in got.plan.blocked] == [
            b.change.change_id for b in want.plan.blocked
        ]
        texts.append(render_text(got.plan, got.meta, dry_run=True))
    text = "\n".join(texts)
    mover = f"@{varied.mover.username}"
    assert f"removed by app {AUTOMATION.id} (on behalf of {mover})" in text
    if automation == 1.0:
        assert f"removed by {mover} " not in text
    for m in varied.world.members.values():
        if m.name_hidden:
            assert m.full_name not in text


def test_one_s_own_private_name_is_not_private_from_oneself(
    sb: Sandbox, scenario: Scenario
) -> None:
    """``members/me`` of a member whose name is private has their ``fullName`` (Trello shows
    you your own name); another's private name stays out of ``members/{id}`` (R45d)."""
    w = scenario.world
    other = next(m for m in w.members.values() if m.id != scenario.mover.id)
    with w.lock:
        w.members[scenario.mover.id].name_hidden = True
        other.name_hidden = True
    session = sb.session()
    me = session.get(f"{sb.base_url}/members/me", timeout=10).json()
    assert me["fullName"] == scenario.mover.full_name
    them = session.get(f"{sb.base_url}/members/{other.id}", timeout=10).json()
    assert "fullName" not in them
    assert them["nonPublic"]["fullName"] == other.full_name


# ----------------------------------------------------------------- 11: 429 with other bodies

BOARD_URL = f"{DEFAULT_API_URL}/boards/abc"
OTHER_429S = [
    (
        {
            "json": {
                "message": "Rate limit exceeded: missing x-trello-user-agent-extension header",
                "error": "UNKNOWN_EXTENSION_LIMIT_EXCEEDED",
            }
        },
        "UNKNOWN_EXTENSION_LIMIT_EXCEEDED",
    ),
    (
        {"json": {"message": "Rate limit exceeded", "error": "API_TOKEN_DB_LIMIT_EXCEEDED"}},
        "API_TOKEN_DB_LIMIT_EXCEEDED",
    ),
    ({"json": {"error": "SOMETHING_NEW_EXCEEDED"}}, "SOMETHING_NEW_EXCEEDED"),
    ({"json": {}}, ""),
    ({"body": "", "content_type": "application/json"}, ""),
    ({"body": "Too Many Requests", "content_type": "text/plain"}, "Too Many Requests"),
    ({"body": "<html><h1>429</h1></html>", "content_type": "text/html"}, ""),
]


@pytest.fixture
def mocked_api(tmp_path: Path) -> Any:
    """A ``TrelloApi`` at Trello's own URL, answered by ``responses``, with quick retries."""
    settings = ApiSettings("k" * 32, "t" * 64, read_retries=2, backoff_s=0.001, rate_window_s=0.01)
    with responses.RequestsMock() as mocked, TrelloApi(settings) as api:
        yield mocked, api


@pytest.mark.parametrize(("answer", "code"), OTHER_429S)
def test_any_429_is_a_rate_limit(mocked_api: Any, answer: dict[str, Any], code: str) -> None:
    """Whatever a 429 says (another code, none, no JSON at all), it is a rate limit: counted,
    waited out and retried like Trello's usual one, and ``RateLimited`` once retries run out."""
    mocked, api = mocked_api
    mocked.get(BOARD_URL, status=429, **answer)
    mocked.get(BOARD_URL, json={"id": "abc"})
    assert api.get("boards/abc") == {"id": "abc"}
    assert (api.rate_limited, api.requests_sent) == (1, 2)
    mocked.replace(responses.GET, BOARD_URL, status=429, **answer)
    with pytest.raises(RateLimited) as info:
        api.get("boards/abc")
    assert (info.value.status, info.value.trello_error) == (429, code)
    assert str(info.value).startswith("Trello kept rate limiting after 3 attempts")
    assert api.rate_limited == 4


@pytest.mark.parametrize("body", sorted(RATE_LIMIT_BODIES))
def test_the_sandbox_429s_with_other_bodies_are_waited_out(
    sandbox_factory: SandboxFactory, body: str
) -> None:
    """The sandbox answers its 429s with the chosen body; the client rides out a storm of them
    over HTTP and gets the answer. The storm ends once the client has had a 429, not after a
    time (R59b: a storm of 50 ms was over before a client on a busy machine asked)."""
    sb = sandbox_factory(time_scale=20, rate_limit_body=body, storm_s=60.0)
    raw = sb.get(f"/boards/{sb.ids['team']}")
    content_type, text = RATE_LIMIT_BODIES[body]
    assert (raw.status_code, raw.content, raw.headers["Content-Type"]) == (429, text, content_type)
    assert "x-rate-limit-api-token-remaining" in raw.headers
    sb.server.set_options(storm_s=3600.0)
    seen = len(sb.server.request_log)

    def end_the_storm() -> None:
        deadline = time.monotonic() + 60
        while not any(r.status == 429 for r in sb.server.request_log[seen:]):
            if time.monotonic() > deadline:
                break
            time.sleep(0.01)
        sb.server.set_options(storm_s=0.0)

    ender = threading.Thread(target=end_the_storm, daemon=True)
    ender.start()
    settings = ApiSettings(
        sb.key, sb.token, api_url=sb.base_url, backoff_s=0.01, rate_window_s=0.05, read_retries=50
    )
    with TrelloApi(settings) as api:
        assert api.get(f"boards/{sb.ids['team']}", {"fields": "name"})["name"] == "Team"
        assert api.rate_limited >= 1
    ender.join(timeout=60)


def test_the_429_body_can_be_chosen_while_running(sandbox_factory: SandboxFactory) -> None:
    """Like the other faults, the 429 body is set through ``PUT /_sandbox/options``; bad
    choices are refused."""
    sb = sandbox_factory(token_limit=1)
    admin = sb.server.base_url.removesuffix("/1") + "/_sandbox/options"
    assert sb.get("/members/me").status_code == 200
    assert sb.get("/members/me").json()["error"] == "API_TOKEN_LIMIT_EXCEEDED"
    changed = sb.session().put(admin, json={"rate_limit_body": "token-db"}, timeout=30)
    assert changed.json()["rate_limit_body"] == "token-db"
    assert sb.get("/members/me").json()["error"] == "API_TOKEN_DB_LIMIT_EXCEEDED"
    refused = sb.session().put(admin, json={"rate_limit_body": "teapot"}, timeout=30)
    assert refused.status_code == 400
    assert "rate_limit_body must be one of usual, extension" in refused.json()["error"]


# ------------------------------------------------------------ 12: before=<id> is by second


def test_ids_compare_by_second_by_default(sandbox_factory: SandboxFactory) -> None:
    """The sandbox's default is Trello's documented behaviour: ``before=<id>`` is the id's
    second, so paging by the oldest id received skips the rest of that second (the control for
    the fetcher's date paging); ``exact`` is the option."""
    assert SandboxOptions().id_cursor == "second"
    s = generate(44, 400)
    sb = sandbox_factory(s)
    session = sb.session()
    want = {
        a.id
        for a in s.world.board_feed[s.archive.id]
        if a.type in {t.split(":")[0] for t in ACTION_FILTER}
    }

    def naive_paging() -> set[str]:
        seen: set[str] = set()
        before: str | None = None
        while True:
            page = session.get(
                f"{sb.base_url}/boards/{s.archive.id}/actions",
                params={"filter": ",".join(ACTION_FILTER), "limit": "100"}
                | ({"before": before} if before else {}),
                timeout=30,
            ).json()
            seen.update(a["id"] for a in page)
            if len(page) < 100:
                return seen
            before = page[-1]["id"]

    assert len(want) > 100
    assert naive_paging() < want
    sb.server.set_options(id_cursor="exact")
    assert naive_paging() == want
    sb.server.set_options(id_cursor="second")
    assert_plan_is_truth(_plan(sb, s, s.option_sets()["a"]).plan, s.truth("a"))


def _churned() -> tuple[Any, datetime]:
    """The small world with ben taken off card c1 and put back 550 times from ``at`` (the
    world ticks each by a millisecond: 1,100 member actions within two seconds), and ``at``."""
    sw = make_world()
    w, i = sw.world, sw.ids
    at = datetime(2025, 4, 1, 12, 0, 0, 500000, tzinfo=UTC)
    for _ in range(550):
        w.remove_member_from_card(i["c1"], i["ben"], i["lead"], at)
        w.add_member_to_card(i["c1"], i["ben"], i["lead"], at)
    return sw, at


@pytest.mark.parametrize("date_cursor", ["second", "exact"])
def test_dates_compare_by_second_by_default(
    sandbox_factory: SandboxFactory, date_cursor: str
) -> None:
    """Date cursors compare as whole seconds by default (the cursors "operate on the creation
    date", which an id holds to the second: the harshest reading of what Trello may do, R31b),
    to the millisecond as the option. The fetcher reads every action of a board whose 1,100
    member actions fall within two seconds, a page boundary inside one of them, either way."""
    assert SandboxOptions().date_cursor == "second"
    sw, at = _churned()
    w, i = sw.world, sw.ids
    types = {t.split(":")[0] for t in ACTION_FILTER}
    feed = [a for a in w.board_feed[i["team"]] if a.type in types]
    want = {a.id for a in feed}
    sb = sandbox_factory(sw, date_cursor=date_cursor)
    path = f"/boards/{i['team']}/actions"
    mid = at + timedelta(milliseconds=300)
    inside = [a for a in feed if a.date.replace(microsecond=0) == at.replace(microsecond=0)]
    older = [a for a in inside if a.date < mid]
    assert older  # actions of that second before the cursor's millisecond
    got = {a["id"] for a in sb.get(path, before=mid.isoformat(), limit=1000).json()}
    assert bool(got & {a.id for a in older}) is (date_cursor == "exact")
    newer = [a for a in inside if a.date > mid]
    got = {a["id"] for a in sb.get(path, since=mid.isoformat(), limit=1000).json()}
    assert bool(got & {a.id for a in newer}) is (date_cursor == "exact")
    with api_for(sb) as api:
        read = board_actions(api, i["team"])
    assert len(read) == len({a["id"] for a in read})
    assert {a["id"] for a in read} == want


# ---------------------------------------------------------- 13: excluded action types

#: The types notes §13.2 says no nested action resource returns: written out, not the
#: sandbox's own constant, which a test taking it would follow wherever it drifted (R59b).
EXCLUDED_ACTION_TYPES = frozenset(
    {"removeMemberFromBoard", "addLabelToCard", "removeLabelFromCard"}
)


def test_excluded_action_types_are_in_no_feed(sandbox_factory: SandboxFactory) -> None:
    """``removeMemberFromBoard``, ``addLabelToCard`` and ``removeLabelFromCard`` go to webhooks
    only: neither the board's nor the card's action feed (nor the board export) returns them,
    by default, with ``filter=all`` or when asked for by name. The world still logs them."""
    sw = make_world()
    w, i = sw.world, sw.ids
    team = w.boards[i["team"]]
    card = w.cards[i["c1"]]
    at = datetime(2025, 3, 4, tzinfo=UTC)
    label = {"id": "5f0000000000000000000001", "name": "urgent", "color": "red"}
    data = {"board": team.ref(), "card": card.ref(), "label": label, "text": "urgent"}
    # The sandbox has no label model: the two label actions are logged as Trello would.
    w._log("addLabelToCard", at, i["lead"], team, dict(data), card=card)
    w._log("removeLabelFromCard", at + timedelta(minutes=1), i["lead"], team, dict(data), card=card)
    w.remove_member_from_board(i["team"], i["ben"], i["lead"], at + timedelta(minutes=2))
    logged = {a.type for a in w.actions}
    assert logged >= EXCLUDED_ACTION_TYPES
    sb = sandbox_factory(sw)
    named = ",".join(sorted(EXCLUDED_ACTION_TYPES))
    board_path, card_path = f"/boards/{i['team']}/actions", f"/cards/{i['c1']}/actions"
    for path, params in (
        (board_path, {}),
        (board_path, {"filter": "all"}),
        (board_path, {"filter": named}),
        (board_path, {"filter": named + ",removeMemberFromCard"}),
        (card_path, {"filter": "all"}),
        (card_path, {"filter": named}),
    ):
        answer = sb.get(path, limit=1000, **params)
        assert answer.status_code == 200
        types = {a["type"] for a in answer.json()}
        assert not types & EXCLUDED_ACTION_TYPES, (path, params, types)
    removals = sb.get(board_path, filter=named + ",removeMemberFromCard").json()
    assert {a["type"] for a in removals} == {"removeMemberFromCard"}  # what ben lost, logged
    everything = {a["type"] for a in sb.get(board_path, filter="all", limit=1000).json()}
    assert everything == {a.type for a in w.board_feed[team.id]} - EXCLUDED_ACTION_TYPES
    exported = {a["type"] for a in render.board_export(w, team)["actions"]}
    assert not exported & EXCLUDED_ACTION_TYPES


def _bulk_cards(n: int) -> Any:
    """The small world plus ``n`` cards made in the same second or two (a bulk copy)."""
    sw = make_world()
    at = datetime(2025, 4, 1, 12, 0, 0, 500000, tzinfo=UTC)
    for k in range(n):
        sw.world.create_card(sw.ids["doing"], f"bulk {k}", sw.ids["lead"], at)
    return sw


@pytest.mark.parametrize("id_cursor", ["second", "exact"])
def test_cards_page_by_date_in_both_modes(sandbox_factory: SandboxFactory, id_cursor: str) -> None:
    """Trello's paging bug is about cards made in the same second: ``before=<card id>`` is the
    id's second by default (the sibling cards of that second are skipped), exact as the option.
    The fetcher reads every card of a board of 1,100 bulk-made cards either way."""
    sw = _bulk_cards(1100)
    team = sw.ids["team"]
    sb = sandbox_factory(sw, id_cursor=id_cursor)
    ids = sorted((c.id for c in sw.world.cards.values() if c.id_board == team), reverse=True)
    newest = sb.get(f"/boards/{team}/cards/all", limit=1000, fields="id").json()
    assert [c["id"] for c in newest] == ids[:1000]
    rest = {c["id"] for c in sb.get(f"/boards/{team}/cards/all", before=ids[999]).json()}
    if id_cursor == "exact":
        assert rest == set(ids[1000:])
    else:
        assert rest < set(ids[1000:])  # the boundary's second is skipped
    with api_for(sb) as api:
        got = board_cards(api, team)
    assert sorted((c.id for c in got), reverse=True) == ids


def test_card_feed_fallback_pages_by_date(sandbox_factory: SandboxFactory) -> None:
    """A card's own feed (the fetcher's fallback) is paged by date too: 1,100 member actions
    made within a couple of seconds all come back, none twice, with ids compared by second."""
    sw, _ = _churned()
    w, i = sw.world, sw.ids
    kinds = {"createCard", "addMemberToCard", "removeMemberFromCard"}  # c1's, of ACTION_FILTER
    want = {a.id for a in w.card_actions(i["c1"]) if a.type in kinds}
    assert len(want) > 1100
    sb = sandbox_factory(sw)
    with api_for(sb) as api:
        got = card_actions(api, i["c1"])
    assert len(got) == len({a["id"] for a in got})
    assert {a["id"] for a in got} == want


def test_what_was_done_since_the_plan_is_read_from_a_second_before_it(
    sandbox_factory: SandboxFactory,
) -> None:
    """Trello may compare a ``since=`` date as a whole second (the sandbox's default): the
    feed of what was done to a plan's targets since it was made is asked from a second before
    it, so a colleague's removal in the plan's own second, after it, is still seen (R31b) and
    the apply leaves it alone; what came before the plan is still passed over."""
    sw = make_world()
    w, i = sw.world, sw.ids
    at = datetime(2025, 4, 1, 12, 0, 0, 500000, tzinfo=UTC)
    removal = w.remove_member_from_card(i["c1"], i["ben"], i["lead"], at)
    card = w.cards[i["c1"]]
    change = replace(
        CARD,
        board_id=i["team"],
        card_id=card.id,
        member=MemberRef(i["ben"], "benw", "Ben W"),
    )
    state = CardState(
        card.id, card.name, "", i["team"], card.id_list, False, tuple(card.id_members)
    )
    live = {i["team"]: LiveBoard(i["team"], {card.id: state}, {})}
    target = (card.id, f"member {i['ben']}")
    sb = sandbox_factory(sw)
    for since, seen in ((at - timedelta(milliseconds=200), True), (at, False)):
        with api_for(sb) as api:
            out = read_touches(api, live, [change], since=since, account_id="", records=[])
        touch = out[i["team"]].touched.get(target)
        assert (touch is not None and touch.action_id == removal.id) is seen, (since, touch)


#: When ``_bulk_archived``'s cards are archived, all in one millisecond.
BULK_AT = datetime(2025, 4, 2, 9, 0, 0, 400000, tzinfo=UTC)


def _bulk_archived(monkeypatch: pytest.MonkeyPatch, n: int) -> tuple[Any, list[str], set[str]]:
    """The small world plus ``n`` cards (made a second apart), then archived all in the same
    millisecond (``BULK_AT``: the world's one-millisecond tick patched away, as a bulk
    "archive all cards" may log them): the world, the cards and the archive actions."""
    sw = make_world()
    w, i = sw.world, sw.ids
    made = datetime(2025, 4, 1, 12, 0, tzinfo=UTC)
    cards = [
        w.create_card(i["doing"], f"bulk {k}", i["lead"], made + timedelta(seconds=k)).id
        for k in range(n)
    ]
    monkeypatch.setattr(type(w), "_tick", lambda self, when: when or self.clock())
    archived = [w.set_card_closed(c, True, i["lead"], BULK_AT) for c in cards]
    return sw, cards, {a.id for a in archived if a is not None}


@pytest.mark.parametrize(("date_cursor", "id_cursor"), [("second", "second"), ("exact", "exact")])
def test_a_second_of_more_than_a_page_of_actions_is_read_by_the_cards_it_concerns(
    sandbox_factory: SandboxFactory,
    monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
    date_cursor: str,
    id_cursor: str,
) -> None:
    """1,300 cards archived in one millisecond (a bulk "archive all cards"): no cursor of
    Trello's tells them apart, so the feed's pages stop at 1,000 of them and the plan silently
    held 1,000 (R31c). The second is read again by the cards it concerns (``idModels``, 100 a
    request): every archive is read, each once, with no warning; a card with a full page of
    its own in one second still warns."""
    sw, cards, archived = _bulk_archived(monkeypatch, 1300)
    w, i = sw.world, sw.ids
    sb = sandbox_factory(sw, date_cursor=date_cursor, id_cursor=id_cursor)
    with api_for(sb) as api, caplog.at_level(logging.INFO, logger="trello_restore"):
        read = board_actions(api, i["team"], action_types="updateCard:closed")
    ids = [a["id"] for a in read]
    assert len(ids) == len(set(ids))
    feed = w.board_feed[i["team"]]
    want = {a.id for a in feed if a.type == "updateCard" and "closed" in a.data.get("old", {})}
    assert archived <= want
    assert set(ids) == want
    assert not [r for r in caplog.records if r.levelno >= logging.WARNING]
    log = sb.server.request_log
    on_board = sum(1 for c in w.cards.values() if c.id_board == i["team"])
    assert sum(1 for r in log if "idModels" in r.query_names) == -(-on_board // 100)
    # A card that left the board since is read by the feed's word of it (R31d): the listing of
    # the board's cards no longer has it.
    gone = cards[1]  # archived among the first: its action is not on the feed's first page
    later = BULK_AT + timedelta(seconds=2)
    moved = w.move_card_to_board(gone, i["archive"], i["shelf"], i["lead"], later)
    with api_for(sb) as api:
        read = board_actions(api, i["team"], action_types="updateCard:closed,moveCardFromBoard")
    assert {a["id"] for a in read} == want | {moved.from_action.id}
    # One card with a full page of its own in a second: read as far as it goes, with a warning.
    caplog.clear()
    for _ in range(1000):
        w.set_card_closed(cards[0], False, i["lead"], BULK_AT + timedelta(seconds=5))
        w.set_card_closed(cards[0], True, i["lead"], BULK_AT + timedelta(seconds=5))
    with api_for(sb) as api, caplog.at_level(logging.INFO, logger="trello_restore"):
        read = board_actions(api, i["team"], action_types="updateCard:closed,moveCardFromBoard")
    assert len(read) == len({a["id"] for a in read}) >= len(want) + 1 + 1000
    warned = [r.getMessage() for r in caplog.records if r.levelno >= logging.WARNING]
    assert len(warned) == 1
    assert (
        f"board {i['team']}: a full page (1000) of actions of card {cards[0]} within" in warned[0]
    )
    bad = sb.get(f"/boards/{i['team']}/actions", idModels="nope")
    assert (bad.status_code, bad.text) == (400, "invalid value for idModels")


def test_a_crowded_second_in_the_stores_last_minute_is_not_taken_for_another_feed(
    sandbox_factory: SandboxFactory,
    monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
    tmp_path: Path,
) -> None:
    """A bulk archive of 1,100 cards in one second, kept in the history store; one of those
    cards moved off the board seconds later. The next run's overlap read asks for that second
    again by the cards it concerns, the moved card among them (the feed names it): the store
    is extended, not called "does not match Trello's" and read whole again (R31d)."""
    from trello_restore.fetcher import fetch, resolve_boards
    from trello_restore.history_store import HistoryStore

    sw, cards, _ = _bulk_archived(monkeypatch, 1100)
    w, i = sw.world, sw.ids
    sb = sandbox_factory(sw)
    settings = ApiSettings(key=sb.key, token=sb.token, api_url=sb.base_url, cache_dir=tmp_path)

    def archived() -> set[str]:
        with TrelloApi(settings) as api:
            got = fetch(api, resolve_boards(api, [i["team"]]), store=HistoryStore(tmp_path))
            history = got.history
            assert got.kept is not None
            got.kept.settle()
        return {u.object_id for u in history.field_updates if u.field == "closed"}

    assert set(cards) <= archived()
    later = BULK_AT + timedelta(seconds=2)
    w.move_card_to_board(cards[1], i["archive"], i["shelf"], i["lead"], later)
    with caplog.at_level(logging.WARNING):
        assert set(cards) <= archived()
    assert "does not match" not in caplog.text


def test_what_the_fetch_cannot_read_whole_is_in_the_plans_warnings(
    sandbox_factory: SandboxFactory, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    """1,100 cards made in one millisecond (a bulk copy: the card listing cannot page through
    that second), and one card with a full page of actions of its own in one second: each is
    a warning of the plan (its JSON ``warnings`` and one ``Warning:`` line), where they were
    only log lines on stderr, which a plan file sent for review does not hold; with the kept
    history and without. A re-plan from the kept history lists the cards again: their warning
    again."""
    sw = make_world()
    w, i = sw.world, sw.ids
    monkeypatch.setattr(type(w), "_tick", lambda self, when: when or self.clock())
    made = datetime(2025, 4, 1, 12, 0, 0, 500000, tzinfo=UTC)
    for k in range(1100):
        w.create_card(i["doing"], f"bulk {k}", i["lead"], made)
    busy = datetime(2025, 4, 2, 9, 0, 0, 400000, tzinfo=UTC)
    for _ in range(600):
        w.set_card_closed(i["c1"], True, i["lead"], busy)
        w.set_card_closed(i["c1"], False, i["lead"], busy)
    sb = sandbox_factory(sw)
    for name, value in trello_env(sb.base_url, sb.key, sb.token).items():
        monkeypatch.setenv(name, value)
    invoke = cli_invoker(monkeypatch)
    cards = (
        f"board Team: more than 1000 of its cards were made within the second from "
        f"{stamp(made.replace(microsecond=0))}"
    )
    second = stamp(busy.replace(microsecond=0))
    actions = f"board Team: a full page (1000) of actions of card {i['c1']} within the second from "
    actions += second
    args = ["--board", i["team"], "--since", "2025-01-01", "--restore", "all", "--dry-run"]
    for extra, read in ((["--no-cache"], True), ([], True), ([], False)):
        got = invoke(*args, *extra, "--format", "json")
        assert got.exit_code == 0, got.output
        warned = json.loads(got.stdout)["warnings"]
        assert [w for w in warned if w.startswith(cards)] == [w for w in warned if cards in w]
        assert len([w for w in warned if w.startswith(cards)]) == 1, warned
        if read:  # the second of actions read: its warning (a re-plan may not read it again)
            assert len([w for w in warned if w.startswith(actions)]) == 1, (extra, warned)
        lines = got.stderr.splitlines()
        assert len([x for x in lines if x.startswith(f"Warning: {cards}")]) == 1, got.stderr
        assert "cannot tell apart" not in got.stderr  # the listing's own log line: not said
    # A plan's warnings reach the log file too (R32a: only stderr and the JSON had them).
    log = tmp_path / "run.log"
    logged = invoke(*args, "--log-file", str(log))
    assert logged.exit_code == 0, logged.output
    assert cards in log.read_text(encoding="utf-8")


def test_a_crowded_second_read_by_ids_trello_ignores_warns_once_and_stops(
    sandbox_factory: SandboxFactory,
    monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
) -> None:
    """What Trello does with ``idModels`` is unconfirmed (the spec names it only). Had it
    ignored them, each request by 100 cards' ids answered the second's first page again, split
    in two down to each card: 2,601 requests for a second of 1,300 archives, a warning for each
    card, each wrong (R51b). A page that holds actions of other cards is taken for that: one
    warning says so, and nothing is split."""
    from trello_restore.sandbox import endpoints

    sw, _, _ = _bulk_archived(monkeypatch, 1300)
    i = sw.ids
    sb = sandbox_factory(sw)
    monkeypatch.setattr(endpoints, "_models", lambda call: None)
    with api_for(sb) as api, caplog.at_level(logging.INFO, logger="trello_restore"):
        read = board_actions(api, i["team"], action_types="updateCard:closed")
    assert len(read) == len({a["id"] for a in read}) < 1300  # some missing, as warned
    warned = [r.getMessage() for r in caplog.records if r.levelno >= logging.WARNING]
    assert len(set(warned)) == 1, warned  # the same for each request: the plan's says it once
    assert "Trello answered actions of other cards and lists when asked for cards'" in warned[0]
    on_board = sum(1 for c in sw.world.cards.values() if c.id_board == i["team"])
    asked = sum(1 for r in sb.server.request_log if "idModels" in r.query_names)
    assert asked == -(-on_board // 100)  # one request by each 100 ids: none split


def test_an_action_concerns_its_card_the_card_it_came_from_and_its_lists() -> None:
    """``models_ignored``: an action asked for by a card's id may be about another card made
    from it (a copy's ``data.cardSource``, R52a) or name it in a list change; one naming none
    of the ids asked for is Trello ignoring them."""
    from trello_restore.fetched import models_ignored

    copy = {"type": "copyCard", "data": {"card": {"id": "new"}, "cardSource": {"id": "c1"}}}
    moved = {"type": "updateCard", "data": {"card": {"id": "c2"}, "listAfter": {"id": "l1"}}}
    assert not models_ignored([copy, moved], ["c1", "c2"])
    assert not models_ignored([moved], ["l1"])
    assert models_ignored([copy, moved], ["c1"])
    assert models_ignored([{"type": "x", "data": None}], ["c1"])


# --------------------------------- what the tool never asks for, held to the notes (R59b)


def test_the_sandbox_keeps_trellos_defaults_and_shapes_the_tool_does_not_rely_on(
    sandbox_factory: SandboxFactory,
) -> None:
    """Answers the tool avoids depending on (it always sends ``limit`` and ``filter``) are
    still Trello's, so a change that came to depend on them would fail here rather than on
    real Trello (R59b: mutants of each passed every test):

    - a board's actions without ``limit``: 50 (notes §1.1);
    - ``/members/me/boards`` and a workspace's boards without ``filter``: ``all``, closed
      boards too (§3.3; the OpenAPI file);
    - ``addMemberToCard``'s data: ``idMember`` and ``member {id, name}``;
      ``removeMemberFromCard``'s: those and ``deactivated`` (§2.2, written out here, not the
      sandbox's own shape);
    - TRELLO-955 (§1.4): a card moved to another board no longer shows, through its own feed,
      what was logged on its old board, which still lists it in the board's feed."""
    sw = make_world()
    w, i = sw.world, sw.ids
    at = datetime(2025, 5, 1, tzinfo=UTC)
    for n in range(30):
        w.remove_member_from_card(i["c1"], i["ben"], i["lead"], at + timedelta(minutes=2 * n))
        w.add_member_to_card(i["c1"], i["ben"], i["lead"], at + timedelta(minutes=2 * n + 1))
    w.move_card_to_board(i["c1"], i["archive"], i["shelf"], i["lead"], at + timedelta(hours=3))
    w.set_board_closed(i["archive"], True, i["lead"], at + timedelta(hours=4))
    sb = sandbox_factory(sw)

    feed = sb.get(f"/boards/{i['team']}/actions").json()
    assert len(feed) == 50
    boards = {b["id"]: b["closed"] for b in sb.get("/members/me/boards").json()}
    assert boards == {i["team"]: False, i["archive"]: True}
    assert i["archive"] not in {b["id"] for b in sb.get("/members/me/boards?filter=open").json()}
    in_org = {b["id"]: b["closed"] for b in sb.get(f"/organizations/{i['org']}/boards").json()}
    assert in_org == boards  # the OpenAPI file: filter's default is "all" here too

    members = "addMemberToCard,removeMemberFromCard"
    on_team = sb.get(f"/boards/{i['team']}/actions?filter={members}&limit=1000").json()
    by_type = {a["type"]: a["data"] for a in on_team}
    for type_, keys in (
        ("addMemberToCard", {"board", "card", "idMember", "member"}),
        ("removeMemberFromCard", {"board", "card", "idMember", "member", "deactivated"}),
    ):
        assert set(by_type[type_]) >= keys, (type_, by_type[type_])
        assert set(by_type[type_]["member"]) == {"id", "name"}
    assert isinstance(by_type["removeMemberFromCard"]["deactivated"], bool)

    assert any(a["data"]["card"]["id"] == i["c1"] for a in on_team)
    own = sb.get(f"/cards/{i['c1']}/actions?filter=all&limit=1000").json()
    assert own, "the move is logged on the card's new board"
    assert {a["data"]["board"]["id"] for a in own} == {i["archive"]}
