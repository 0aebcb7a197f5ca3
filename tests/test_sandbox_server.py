"""The sandbox Trello over real loopback HTTP: auth, errors, reads, paging and writes."""

from __future__ import annotations

import time
from datetime import timedelta

import pytest
import requests
from requests_oauthlib import OAuth1

from trello_restore.sandbox.endpoints import match
from trello_restore.sandbox.ids import iso
from trello_restore.sandbox.server import ROUTES, Route

from .conftest import T0, Sandbox, SandboxFactory, SmallWorld, make_world

JSON_TYPE = "application/json; charset=utf-8"
TEXT_TYPE = "text/plain; charset=utf-8"
RATE_HEADERS = [
    f"x-rate-limit-api-{who}-{what}"
    for who in ("token", "key")
    for what in ("interval-ms", "max", "remaining")
]


# ------------------------------------------------------------------------------ routing


def test_routes_match_their_templates() -> None:
    """Every route matches a concrete path of its template, and ``me`` routes win over ``{id}``."""
    for route in ROUTES:
        path = route.template.replace("{id}", "5f" * 12).replace("{idMember}", "6a" * 12)
        path = path.replace("{filter}", "all")
        found = match(route.method, path)
        assert found is not None
        assert found[0].template.count("/") == route.template.count("/")
    assert match("GET", "/1/members/me/") == (Route("GET", "/1/members/me"), {})
    assert match("POST", "/1/boards/x/actions") is None


# --------------------------------------------------------------------------------- auth


class TestAuth:
    """Credentials by plain header, OAuth1-signed header or query parameters."""

    def test_plain_header(self, sandbox: Sandbox) -> None:
        """The plain OAuth header authenticates as the token's member."""
        r = sandbox.get("/members/me")
        assert r.status_code == 200
        assert r.headers["Content-Type"] == JSON_TYPE
        assert r.json()["username"] == "lead"
        assert all(h in r.headers for h in RATE_HEADERS)

    def test_oauth1_signed_header(self, sandbox: Sandbox) -> None:
        """An OAuth1-signed header, as py-trello sends it, works for reads and JSON-body writes."""
        s = sandbox.session(auth=False)
        s.auth = OAuth1(client_key=sandbox.key, resource_owner_key=sandbox.token)
        r = s.get(sandbox.base_url + "/members/me", timeout=30)
        assert r.status_code == 200
        assert r.json()["id"] == sandbox.ids["lead"]
        card = sandbox.ids["c1"]
        r = s.post(
            f"{sandbox.base_url}/cards/{card}/idMembers",
            json={"value": sandbox.ids["cai"]},
            timeout=30,
        )
        assert r.status_code == 200
        assert [m["id"] for m in r.json()] == [sandbox.ids[n] for n in ("ana", "ben", "cai")]

    def test_query_params(self, sandbox: Sandbox) -> None:
        """``key``/``token`` query parameters authenticate too."""
        s = sandbox.session(auth=False)
        r = s.get(
            sandbox.base_url + "/members/me",
            params={"key": sandbox.key, "token": sandbox.token},
            timeout=30,
        )
        assert r.status_code == 200
        assert r.json()["username"] == "lead"

    @pytest.mark.parametrize(
        ("params", "body"),
        [
            ({}, "invalid key"),
            ({"key": "0" * 32, "token": "x"}, "invalid key"),
            ({"token": "whatever"}, "invalid key"),
            ({"key": "KEY", "token": "nope"}, "invalid token"),
            ({"key": "KEY"}, "invalid token"),
        ],
    )
    def test_refusals(self, sandbox: Sandbox, params: dict[str, str], body: str) -> None:
        """Bad or missing credentials get 401 with Trello's plain-text body."""
        params = {k: sandbox.key if v == "KEY" else v for k, v in params.items()}
        r = sandbox.session(auth=False).get(
            sandbox.base_url + "/members/me/boards", params=params, timeout=30
        )
        assert (r.status_code, r.text) == (401, body)
        assert r.headers["Content-Type"] == TEXT_TYPE

    def test_wrong_token_in_header(self, sandbox: Sandbox) -> None:
        """A header with an unknown token is refused as ``invalid token``."""
        r = sandbox.get("/members/me", token="ATTAnottoken")
        assert (r.status_code, r.text) == (401, "invalid token")


# ------------------------------------------------------------------------------- errors


class TestErrors:
    """Trello's plain-text and JSON error bodies."""

    def test_unknown_route(self, sandbox: Sandbox) -> None:
        """An unknown route is 404 with Trello's sentence, as text."""
        r = sandbox.get("/boards/" + sandbox.ids["team"] + "/bogus")
        assert (r.status_code, r.text) == (404, "The requested resource was not found.")
        assert r.headers["Content-Type"] == TEXT_TYPE

    def test_malformed_id(self, sandbox: Sandbox) -> None:
        """A name where an id or shortLink belongs is 400 ``invalid id``."""
        assert (sandbox.get("/boards/Stuff").status_code, sandbox.get("/boards/Stuff").text) == (
            400,
            "invalid id",
        )
        r = sandbox.get("/cards/not-a-card/actions")
        assert (r.status_code, r.text) == (400, "invalid id")

    def test_unknown_ids(self, sandbox: Sandbox) -> None:
        """Well-formed ids of nothing are 404."""
        r = sandbox.get("/boards/" + "a" * 24)
        assert (r.status_code, r.text) == (404, "The requested resource was not found.")
        assert sandbox.get("/cards/" + "b" * 24).status_code == 404

    def test_refused_reads_as_sub_request_failures(self, sandbox: Sandbox) -> None:
        """With ``read_refusals: sub-request`` a read Trello refuses is its 449 (notes §4,
        [PAGE-auxerrors]): JSON ``{path, originalMessage, originalStatus}``; writes and unknown
        routes are answered as before."""
        sandbox.server.set_options(read_refusals="sub-request")
        try:
            r = sandbox.get("/boards/" + "a" * 24)
            assert r.status_code == 449
            assert r.headers["Content-Type"].startswith("application/json")
            assert r.json() == {
                "path": "boards",
                "originalMessage": "Not Found",
                "originalStatus": 404,
            }
            r = sandbox.get("/boards/" + sandbox.ids["team"] + "/bogus")
            assert (r.status_code, r.text) == (404, "The requested resource was not found.")
        finally:
            sandbox.server.set_options(read_refusals="plain")
        assert sandbox.get("/boards/" + "a" * 24).status_code == 404

    def test_shortlinks(self, sandbox: Sandbox) -> None:
        """Boards and cards are found by shortLink as well as id."""
        board = sandbox.world.boards[sandbox.ids["team"]]
        card = sandbox.world.cards[sandbox.ids["c1"]]
        assert sandbox.get("/boards/" + board.short_link).json()["id"] == board.id
        assert sandbox.get("/cards/" + card.short_link).json()["id"] == card.id

    def test_not_a_member(self, sandbox: Sandbox) -> None:
        """A board the token's member is not on, directly or through a card, is 401."""
        outsider = sandbox.tokens["outsider"]
        for path in (
            f"/boards/{sandbox.ids['team']}",
            f"/boards/{sandbox.ids['team']}/actions",
            f"/cards/{sandbox.ids['c1']}",
            f"/cards/{sandbox.ids['c1']}/actions",
        ):
            r = sandbox.get(path, token=outsider)
            assert (r.status_code, r.text) == (401, "unauthorized permission requested")

    def test_bad_values(self, sandbox: Sandbox) -> None:
        """Out-of-range or malformed parameters are 400 ``invalid value for <name>``."""
        board = f"/boards/{sandbox.ids['team']}"
        cases = [
            (f"{board}/actions", {"limit": "1001"}, "invalid value for limit"),
            (f"{board}/actions", {"limit": "-1"}, "invalid value for limit"),
            (f"{board}/actions", {"limit": "ten"}, "invalid value for limit"),
            (f"{board}/actions", {"before": "yesterday"}, "invalid value for before"),
            (f"{board}/actions", {"since": "12345"}, "invalid value for since"),
            (f"{board}/actions", {"filter": "add Member"}, "invalid value for filter"),
            (f"{board}/cards", {"filter": "some"}, "invalid value for filter"),
            (f"{board}/cards", {"limit": "1001"}, "invalid value for limit"),
        ]
        for path, params, body in cases:
            r = sandbox.get(path, **params)
            assert (r.status_code, r.text) == (400, body), (path, params)


# ------------------------------------------------------------------------------ actions


def _ids(r: requests.Response) -> list[str]:
    assert r.status_code == 200, r.text
    return [a["id"] for a in r.json()]


class TestActions:
    """Board and card actions: filters, limits, order, paging."""

    def test_newest_first_and_default_all(self, sandbox: Sandbox) -> None:
        """Board actions default to every type, newest first, 50 at most."""
        feed = sandbox.world.board_feed[sandbox.ids["team"]]
        got = _ids(sandbox.get(f"/boards/{sandbox.ids['team']}/actions"))
        assert got == [a.id for a in reversed(feed)][:50]

    def test_card_default_filter_hides_member_changes(self, sandbox: Sandbox) -> None:
        """The card default ``commentCard,updateCard:idList`` hides addMemberToCard."""
        path = f"/cards/{sandbox.ids['c2']}/actions"
        default = sandbox.get(path).json()
        assert [a["type"] for a in default] == ["updateCard", "updateCard"]
        assert all("idList" in a["data"]["old"] for a in default)
        explicit = sandbox.get(path, filter="addMemberToCard,removeMemberFromCard").json()
        assert [a["type"] for a in explicit] == ["addMemberToCard", "addMemberToCard"]
        assert [a["member"]["username"] for a in explicit] == ["cai", "ben"]
        assert explicit[0]["memberCreator"]["username"] == "lead"

    def test_sub_filters(self, sandbox: Sandbox) -> None:
        """``updateCard:closed`` selects archive changes; ``updateCard`` selects all updates."""
        path = f"/boards/{sandbox.ids['team']}/actions"
        closed = sandbox.get(path, filter="updateCard:closed").json()
        assert [a["data"]["old"] for a in closed] == [{"closed": False}]
        assert len(sandbox.get(path, filter="updateCard").json()) == 3
        assert sandbox.get(path, filter="noSuchType").json() == []

    def test_member_flags(self, sandbox: Sandbox) -> None:
        """``member=false`` and ``memberCreator=false`` leave the member objects out."""
        path = f"/boards/{sandbox.ids['team']}/actions"
        a = sandbox.get(path, filter="addMemberToCard", limit=1).json()[0]
        assert {"member", "memberCreator"} <= set(a)
        b = sandbox.get(
            path, filter="addMemberToCard", limit=1, member="false", memberCreator="false"
        ).json()[0]
        assert not {"member", "memberCreator"} & set(b)

    def test_limit_cap_and_page_rule(self, sandbox_factory: SandboxFactory) -> None:
        """``limit`` goes up to 1000; ``page`` must keep ``page * limit`` below 1000."""
        small = make_world()
        for i in range(1100):
            small.world.comment(small.ids["c1"], f"c{i}", small.ids["lead"])
        # Ids compared exactly: the 1100 comments share a few seconds, and by second (the
        # default) before=<id> would skip the rest of the boundary's second (TestIdCursor).
        sb = sandbox_factory(small, id_cursor="exact")
        path = f"/boards/{sb.ids['team']}/actions"
        feed = [a.id for a in reversed(small.world.board_feed[sb.ids["team"]])]
        assert _ids(sb.get(path, limit=1000)) == feed[:1000]
        assert _ids(sb.get(path, limit=0)) == []
        assert _ids(sb.get(path, limit=50, page=19)) == feed[950:1000]
        assert _ids(sb.get(path, limit=300, page=3)) == feed[900:1000]
        for limit, page in ((50, 20), (500, 2), (1000, 1)):
            r = sb.get(path, limit=limit, page=page)
            assert (r.status_code, r.text) == (400, "invalid value for page")
        # The documented way past 1000: before=<oldest id received>.
        rest = _ids(sb.get(path, limit=1000, before=feed[999]))
        assert rest == feed[1000:]

    def test_before_since_dates(self, sandbox: Sandbox) -> None:
        """ISO dates bound the feed exclusively on both sides."""
        feed = sandbox.world.board_feed[sandbox.ids["team"]]
        mid = feed[len(feed) // 2]
        path = f"/boards/{sandbox.ids['team']}/actions"
        older = _ids(sandbox.get(path, before=iso(mid.date), limit=1000))
        newer = _ids(sandbox.get(path, since=iso(mid.date), limit=1000))
        assert older == [a.id for a in reversed(feed) if a.date < mid.date]
        assert newer == [a.id for a in reversed(feed) if a.date > mid.date]
        assert mid.id not in older + newer
        between = _ids(
            sandbox.get(path, since=iso(feed[2].date), before=iso(feed[5].date), limit=1000)
        )
        assert between == [feed[4].id, feed[3].id]
        plain_date = (T0 + timedelta(days=1)).date().isoformat()
        assert _ids(sandbox.get(path, since=plain_date)) == []


def _same_second_world() -> tuple[SmallWorld, list[str]]:
    """make_world plus 7 comments on c1 within one second (and one a second later)."""
    small = make_world()
    w, c1, lead = small.world, small.ids["c1"], small.ids["lead"]
    base = w.last_time.replace(microsecond=0) + timedelta(seconds=10)
    burst = [
        w.comment(c1, f"b{i}", lead, base + timedelta(milliseconds=100 * i)).id for i in range(7)
    ]
    w.comment(c1, "later", lead, base + timedelta(seconds=1, milliseconds=500))
    return small, burst


def _walk(sb: Sandbox, path: str, limit: int) -> list[str]:
    """Page backwards with ``before=<oldest id received>`` until an empty page."""
    out: list[str] = []
    before: str | None = None
    while True:
        params: dict[str, str | int] = {"filter": "commentCard", "limit": limit}
        if before:
            params["before"] = before
        page = _ids(sb.get(path, **params))  # type: ignore[arg-type]
        if not page:
            return out
        out += page
        before = page[-1]


class TestIdCursor:
    """``before``/``since`` as action ids, in both id_cursor modes."""

    def test_exact_mode_pages_without_loss(self, sandbox_factory: SandboxFactory) -> None:
        """In ``exact`` mode ids compare in ObjectId order: paging loses and repeats nothing."""
        small, burst = _same_second_world()
        sb = sandbox_factory(small, id_cursor="exact")
        path = f"/boards/{sb.ids['team']}/actions"
        comments = [
            a.id
            for a in reversed(small.world.board_feed[sb.ids["team"]])
            if a.type == "commentCard"
        ]
        assert _walk(sb, path, 2) == comments
        assert _ids(sb.get(path, filter="commentCard", since=burst[2], before=burst[5])) == [
            burst[4],
            burst[3],
        ]

    def test_second_mode_skips_and_repeats(self, sandbox_factory: SandboxFactory) -> None:
        """In ``second`` mode an id means its second: same-second actions are skipped by
        ``before`` and repeated by ``since``."""
        small, burst = _same_second_world()
        sb = sandbox_factory(small, id_cursor="second")
        path = f"/boards/{sb.ids['team']}/actions"
        older = _ids(sb.get(path, filter="commentCard", before=burst[5], limit=1000))
        assert not set(burst) & set(older)  # all 7 share the boundary's second
        assert older == [_ids(sb.get(path, filter="commentCard", limit=1000))[-1]]
        newer = _ids(sb.get(path, filter="commentCard", since=burst[5], limit=1000))
        assert set(burst[1:]) <= set(newer)  # ms > 0 in the boundary second count as later
        walked = _walk(sb, path, 2)
        assert len(walked) < 9  # paging by id in this mode loses actions of a shared second


# -------------------------------------------------------------------------------- cards


class TestCards:
    """Board card listings: filters, fields, paging."""

    @pytest.mark.parametrize(
        ("which", "names"),
        [
            ("visible", {"c1", "c2", "c3"}),
            ("open", {"c1", "c2", "c3", "c4"}),
            ("closed", {"c_archived"}),
            ("all", {"c1", "c2", "c3", "c4", "c_archived"}),
            ("none", set()),
        ],
    )
    def test_filters(self, sandbox: Sandbox, which: str, names: set[str]) -> None:
        """The five filters, by path and by parameter, agree with the notes' definitions."""
        board = f"/boards/{sandbox.ids['team']}/cards"
        want = {sandbox.ids[n] for n in names}
        assert set(_ids(sandbox.get(f"{board}/{which}"))) == want
        assert set(_ids(sandbox.get(board, filter=which))) == want

    def test_complete_and_incomplete_are_filters_too(self, sandbox: Sandbox) -> None:
        """The spec's other two card filters (notes §3.3) are answered, by path and by
        parameter, not refused (R71b): open cards whose due date is ticked done, or not."""
        with sandbox.world.lock:
            sandbox.world.cards[sandbox.ids["c2"]].due_complete = True
        board = f"/boards/{sandbox.ids['team']}/cards"
        for which, names in (("complete", {"c2"}), ("incomplete", {"c1", "c3", "c4"})):
            want = {sandbox.ids[n] for n in names}
            assert set(_ids(sandbox.get(f"{board}/{which}"))) == want
            assert set(_ids(sandbox.get(board, filter=which))) == want

    def test_default_visible_in_position_order(self, sandbox: Sandbox) -> None:
        """Without a filter: visible cards, list by list in position order, every py-trello key."""
        cards = sandbox.get(f"/boards/{sandbox.ids['team']}/cards").json()
        assert [c["id"] for c in cards] == [sandbox.ids[n] for n in ("c1", "c2", "c3")]
        assert cards[0]["idMembers"] == [sandbox.ids["ana"], sandbox.ids["ben"]]
        required = {"id", "name", "closed", "url", "pos", "shortUrl", "idMembers", "idLabels"}
        assert required <= set(cards[0])

    def test_fields_and_paging(self, sandbox: Sandbox) -> None:
        """``fields`` keeps id plus the named fields; ``limit``/``before`` page newest first."""
        board = f"/boards/{sandbox.ids['team']}/cards/all"
        slim = sandbox.get(board, fields="idMembers").json()
        assert all(set(c) == {"id", "idMembers"} for c in slim)
        newest_first = sorted((c["id"] for c in slim), reverse=True)
        assert _ids(sandbox.get(board, limit=2)) == newest_first[:2]
        assert _ids(sandbox.get(board, limit=2, before=newest_first[1])) == newest_first[2:4]
        assert _ids(sandbox.get(board, since=newest_first[2])) == newest_first[:2]


class TestOtherReads:
    """Boards, lists, members, memberships, organizations."""

    def test_member_boards(self, sandbox: Sandbox) -> None:
        """``members/me/boards`` lists the member's boards; ``fields`` and ``filter`` apply."""
        boards = sandbox.get("/members/me/boards", fields="name").json()
        assert boards == [
            {"id": sandbox.ids["team"], "name": "Team"},
            {"id": sandbox.ids["archive"], "name": "Archive"},
        ]
        assert sandbox.get("/members/me/boards", filter="closed").json() == []
        assert [b["id"] for b in sandbox.get("/members/ben/boards").json()] == [sandbox.ids["team"]]
        assert sandbox.get("/members/me/boards", filter="bogus").status_code == 400

    def test_members(self, sandbox: Sandbox) -> None:
        """``members/{id}`` by id or username; board members and memberships."""
        assert sandbox.get(f"/members/{sandbox.ids['ana']}").json()["username"] == "ana"
        assert sandbox.get("/members/cai").json()["id"] == sandbox.ids["cai"]
        assert sandbox.get("/members/nobody").status_code == 404
        team = f"/boards/{sandbox.ids['team']}"
        members = sandbox.get(f"{team}/members").json()
        assert members[0] == {
            "id": sandbox.ids["lead"],
            "fullName": "Lead Example",
            "username": "lead",
        }
        assert len(members) == 5
        admins = sandbox.get(f"{team}/memberships", filter="admins", member="true").json()
        assert [(m["memberType"], m["member"]["username"]) for m in admins] == [("admin", "lead")]
        obs = next(
            m for m in sandbox.get(f"{team}/memberships").json() if m["memberType"] == "observer"
        )
        assert obs["idMember"] == sandbox.ids["obs"]
        assert "member" not in obs

    def test_lists(self, sandbox: Sandbox) -> None:
        """Lists default to open ones; ``cards`` embeds their cards."""
        team = f"/boards/{sandbox.ids['team']}"
        assert [x["name"] for x in sandbox.get(f"{team}/lists").json()] == ["Doing", "Done"]
        assert [x["name"] for x in sandbox.get(f"{team}/lists/all").json()] == [
            "Doing",
            "Done",
            "Old",
        ]
        closed = sandbox.get(f"{team}/lists", filter="closed", cards="all").json()
        assert [c["id"] for c in closed[0]["cards"]] == [sandbox.ids["c4"]]

    def test_organization_boards(self, sandbox: Sandbox) -> None:
        """A workspace's boards by id or name."""
        by_id = sandbox.get(f"/organizations/{sandbox.ids['org']}/boards", fields="name").json()
        by_name = sandbox.get("/organizations/acme/boards", fields="name").json()
        assert by_id == by_name
        assert [b["name"] for b in by_id] == ["Team", "Archive"]
        assert sandbox.get("/organizations/nope/boards").status_code == 404


# ------------------------------------------------------------------------------- writes


class TestWrites:
    """Card-member writes, board membership and the list move that causes the incident."""

    def test_add_member(self, sandbox: Sandbox) -> None:
        """POST idMembers answers the card's members and logs addMemberToCard by the token's
        member; a duplicate is 400."""
        card = sandbox.ids["c1"]
        s = sandbox.session()
        r = s.post(
            f"{sandbox.base_url}/cards/{card}/idMembers", params={"value": sandbox.ids["cai"]}
        )
        assert r.status_code == 200
        assert r.headers["Content-Type"] == JSON_TYPE
        assert r.json()[-1] == {
            "id": sandbox.ids["cai"],
            "avatarHash": sandbox.world.members[sandbox.ids["cai"]].avatar_hash,
            "fullName": "Cai Example",
            "initials": "CE",
            "username": "cai",
        }
        newest = sandbox.world.board_feed[sandbox.ids["team"]][-1]
        assert (newest.type, newest.id_card, newest.id_member, newest.id_member_creator) == (
            "addMemberToCard",
            card,
            sandbox.ids["cai"],
            sandbox.ids["lead"],
        )
        again = s.post(
            f"{sandbox.base_url}/cards/{card}/idMembers", params={"value": sandbox.ids["cai"]}
        )
        assert (again.status_code, again.text) == (400, "member is already on the card")
        assert again.headers["Content-Type"] == TEXT_TYPE

    def test_add_refusals(self, sandbox: Sandbox) -> None:
        """Non-board members, bad ids and observers or outsiders as actors are refused."""
        url = f"{sandbox.base_url}/cards/{sandbox.ids['c1']}/idMembers"
        s = sandbox.session()
        r = s.post(url, params={"value": sandbox.ids["outsider"]})
        assert (r.status_code, r.json()) == (400, {"message": "Invalid objectId", "error": "ERROR"})
        r = s.post(url, params={"value": "bob"})
        assert (r.status_code, r.json()) == (400, {"message": "Invalid objectId", "error": "ERROR"})
        assert s.post(url).text == "invalid value for value"
        for who in ("obs", "outsider"):
            r = sandbox.session(sandbox.tokens[who]).post(url, params={"value": sandbox.ids["cai"]})
            assert (r.status_code, r.text) == (401, "unauthorized permission requested")
        assert sandbox.ids["cai"] not in sandbox.world.cards[sandbox.ids["c1"]].id_members

    def test_remove_member(self, sandbox: Sandbox) -> None:
        """DELETE idMembers/{idMember} answers the remaining members; a second time is 400."""
        url = f"{sandbox.base_url}/cards/{sandbox.ids['c1']}/idMembers/{sandbox.ids['ben']}"
        s = sandbox.session()
        r = s.delete(url)
        assert (r.status_code, [m["username"] for m in r.json()]) == (200, ["ana"])
        r = s.delete(url)
        assert (r.status_code, r.text) == (400, "member is not on the card")
        assert s.delete(url.rsplit("/", 1)[0] + "/ben").text == "invalid id"

    def test_put_card(self, sandbox: Sandbox) -> None:
        """PUT cards/{id}: idMembers replaces the set, closed archives, idList moves."""
        url = f"{sandbox.base_url}/cards/{sandbox.ids['c2']}"
        s = sandbox.session()
        r = s.put(url, json={"idMembers": [sandbox.ids["ana"]], "closed": True})
        assert r.status_code == 200
        assert (r.json()["idMembers"], r.json()["closed"]) == ([sandbox.ids["ana"]], True)
        r = s.put(url, params={"idList": sandbox.ids["done"]})
        assert r.json()["idList"] == sandbox.ids["done"]
        r = s.put(url, params={"idBoard": sandbox.ids["archive"]})
        assert (r.status_code, r.text) == (400, "invalid value for idList")
        # A well-formed id of no list: 400, as Trello answers (notes §4), not 404 (R31b).
        r = s.put(url, params={"idList": "0123456789abcdef01234567", "closed": "false"})
        assert (r.status_code, r.text) == (400, "invalid value for idList")
        assert sandbox.world.cards[sandbox.ids["c2"]].closed  # nothing changed

    def test_move_card_to_board(self, sandbox: Sandbox) -> None:
        """Moving a card to a board strips members who are not on it (ana stays)."""
        s = sandbox.session()
        r = s.put(
            f"{sandbox.base_url}/cards/{sandbox.ids['c3']}",
            params={"idBoard": sandbox.ids["archive"], "idList": sandbox.ids["shelf"]},
        )
        assert r.status_code == 200
        assert (r.json()["idBoard"], r.json()["idMembers"]) == (
            sandbox.ids["archive"],
            [sandbox.ids["ana"]],
        )

    def test_board_membership(self, sandbox: Sandbox) -> None:
        """PUT boards/{id}/members/{idMember} adds a member; ``type`` is required (notes §3.2,
        R71b: a missing one was taken as normal) and a bad or missing one is 400."""
        url = f"{sandbox.base_url}/boards/{sandbox.ids['archive']}/members/{sandbox.ids['ben']}"
        s = sandbox.session()
        r = s.put(url)
        assert (r.status_code, r.text) == (400, "invalid value for type")
        assert sandbox.ids["ben"] not in sandbox.world.boards[sandbox.ids["archive"]].memberships
        r = s.put(url, params={"type": "normal"})
        assert r.status_code == 200
        body = r.json()
        assert body["id"] == sandbox.ids["archive"]
        assert {"id": sandbox.ids["ben"], "fullName": "Ben Example", "username": "ben"} in body[
            "members"
        ]
        ms = next(m for m in body["memberships"] if m["idMember"] == sandbox.ids["ben"])
        assert ms["memberType"] == "normal"
        assert s.put(url, json={"type": "owner"}).text == "invalid value for type"
        r = sandbox.session(sandbox.tokens["ana"]).put(
            f"{sandbox.base_url}/boards/{sandbox.ids['archive']}/members/cai",
            params={"type": "observer"},
        )
        assert r.status_code == 200
        assert (
            sandbox.world.boards[sandbox.ids["archive"]].memberships[sandbox.ids["cai"]].member_type
            == "observer"
        )

    def test_list_move_causes_the_incident(self, sandbox: Sandbox) -> None:
        """PUT lists/{id}/idBoard strips non-members of the destination, logged as the mover's."""
        s = sandbox.session()
        r = s.put(
            f"{sandbox.base_url}/lists/{sandbox.ids['doing']}/idBoard",
            params={"value": sandbox.ids["archive"]},
        )
        assert r.status_code == 200
        assert (r.json()["id"], r.json()["idBoard"]) == (
            sandbox.ids["doing"],
            sandbox.ids["archive"],
        )
        world = sandbox.world
        assert world.cards[sandbox.ids["c1"]].id_members == [sandbox.ids["ana"]]
        assert world.cards[sandbox.ids["c2"]].id_members == []
        actions = _ids(
            sandbox.get(
                f"/boards/{sandbox.ids['archive']}/actions",
                filter="moveListToBoard,removeMemberFromCard",
            )
        )
        rendered = [world.actions_by_id[a] for a in actions]
        move = rendered[-1]
        assert move.type == "moveListToBoard"
        removals = rendered[:-1]
        assert sorted((a.id_card, a.id_member) for a in removals) == sorted(
            [
                (sandbox.ids["c1"], sandbox.ids["ben"]),
                (sandbox.ids["c2"], sandbox.ids["ben"]),
                (sandbox.ids["c2"], sandbox.ids["cai"]),
            ]
        )
        for a in removals:
            assert a.id_member_creator == sandbox.ids["lead"]
            assert timedelta(0) < a.date - move.date < timedelta(seconds=1)
        source = sandbox.get(
            f"/boards/{sandbox.ids['team']}/actions", filter="moveListFromBoard"
        ).json()
        assert source[0]["data"]["boardTarget"]["id"] == sandbox.ids["archive"]

    def test_list_move_refusals(self, sandbox: Sandbox) -> None:
        """A list move needs a board value, a valid id and membership of both boards."""
        url = f"{sandbox.base_url}/lists/{sandbox.ids['doing']}/idBoard"
        s = sandbox.session()
        assert s.put(url).text == "invalid value for value"
        assert s.put(url, params={"value": "zzz"}).json()["message"] == "Invalid objectId"
        assert s.put(f"{sandbox.base_url}/lists/zzz/idBoard").text == "invalid id"
        r = sandbox.session(sandbox.tokens["ana"]).put(
            url, params={"value": sandbox.ids["archive"]}
        )
        assert (r.status_code, r.text) == (200, r.text)  # ana is a normal member of both
        r = sandbox.session(sandbox.tokens["obs"]).put(
            f"{sandbox.base_url}/lists/{sandbox.ids['done']}/idBoard",
            params={"value": sandbox.ids["archive"]},
        )
        assert (r.status_code, r.text) == (401, "unauthorized permission requested")

    def test_delete_card(self, sandbox: Sandbox) -> None:
        """DELETE cards/{id} answers ``{"limits": {}}``; the card is then 404."""
        s = sandbox.session()
        url = f"{sandbox.base_url}/cards/{sandbox.ids['c3']}"
        assert s.delete(url).json() == {"limits": {}}
        assert s.get(url).status_code == 404


def test_a_request_cut_off_mid_body_is_not_processed(sandbox: Sandbox) -> None:
    """A POST whose body never fully arrives (the client was killed) changes nothing."""
    import socket as socketlib

    card, member = sandbox.ids["c4"], sandbox.ids["ana"]
    host, port = sandbox.base_url.split("//")[1].split("/")[0].split(":")
    with socketlib.create_connection((host, int(port))) as conn:
        head = (
            f"POST /1/cards/{card}/idMembers HTTP/1.1\r\nHost: {host}\r\n"
            f"{sandbox.header()['Authorization'].join(['Authorization: ', ''])}\r\n"
            "Content-Type: application/json\r\nContent-Length: 100\r\n\r\n"
        )
        conn.sendall(head.encode() + b'{"value": "' + member.encode())
    time.sleep(0.2)
    assert member not in sandbox.world.cards[card].id_members
    assert not [r for r in sandbox.server.request_log if r.method == "POST"]
