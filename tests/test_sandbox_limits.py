"""The sandbox's rate limits, faults, latency, request log and admin routes, over loopback HTTP."""

from __future__ import annotations

import json
import statistics
import time
from concurrent.futures import ThreadPoolExecutor

import pytest
import requests

from trello_restore.sandbox.server import SandboxOptions

from .conftest import Sandbox, SandboxFactory

TOKEN_429 = {"error": "API_TOKEN_LIMIT_EXCEEDED", "message": "Rate limit exceeded"}
KEY_429 = {"error": "API_KEY_LIMIT_EXCEEDED", "message": "Rate limit exceeded"}
MEMBER_429 = {"error": "MEMBER_LIMIT_EXCEEDED", "message": "Rate limit exceeded"}


def _burst(s: requests.Session, url: str, n: int) -> tuple[list[requests.Response], float]:
    started = time.monotonic()
    responses = [s.get(url, timeout=30) for _ in range(n)]
    return responses, time.monotonic() - started


class TestRateLimits:
    """Trello's token, key and members-route limits, with time scaled."""

    def test_token_burst(self, sandbox_factory: SandboxFactory) -> None:
        """150 requests in one (scaled) window: 100 pass, then 429s with Trello's JSON body."""
        sb = sandbox_factory(time_scale=10)  # the 10 s window lasts 1 s
        s = sb.session()
        url = sb.base_url + "/members/me/boards"
        responses, took = _burst(s, url, 150)
        statuses = [r.status_code for r in responses]
        assert set(statuses) == {200, 429}
        first_429 = statuses.index(429)
        if took < 1.0:  # the whole burst fell in one window
            assert statuses == [200] * 100 + [429] * 50
        else:  # a slow machine: the window slid, so more may pass, but never before the 101st
            assert first_429 >= 100
        assert all(r.json() == TOKEN_429 for r in responses if r.status_code == 429)
        limited = responses[first_429]
        assert limited.json() == TOKEN_429
        assert limited.headers["Content-Type"] == "application/json; charset=utf-8"
        first = responses[0].headers
        assert first["x-rate-limit-api-token-interval-ms"] == "1000"
        assert (first["x-rate-limit-api-token-max"], first["x-rate-limit-api-key-max"]) == (
            "100",
            "300",
        )
        assert first["x-rate-limit-api-token-remaining"] == "99"
        assert first["x-rate-limit-api-key-remaining"] == "299"
        assert limited.headers["x-rate-limit-api-token-remaining"] == "0"
        time.sleep(1.05)  # the window slides past: the budget is back (rejections do not count)
        again = s.get(url, timeout=30)
        assert again.status_code == 200
        assert again.headers["x-rate-limit-api-token-remaining"] == "99"

    def test_key_limit(self, sandbox_factory: SandboxFactory) -> None:
        """The key's window spans its tokens: the 4th request with one key is refused."""
        sb = sandbox_factory(key_limit=3)
        for token in (sb.token, sb.tokens["ana"], sb.tokens["obs"]):
            assert sb.get("/members/me/boards", token=token).status_code == 200
        r = sb.get("/members/me/boards", token=sb.tokens["outsider"])
        assert (r.status_code, r.json()) == (429, KEY_429)
        assert r.headers["x-rate-limit-api-key-remaining"] == "0"

    def test_penalty_after_200_rejections(self, sandbox_factory: SandboxFactory) -> None:
        """More than 200 429s for a key in a window: the key is refused for the rest of it."""
        sb = sandbox_factory(token_limit=1)
        s = sb.session()
        url = sb.base_url + "/members/me/boards"
        responses, _ = _burst(s, url, 202)
        assert [r.status_code for r in responses] == [200] + [429] * 201
        assert responses[-1].json() == TOKEN_429
        # Another token of the same key, well within its own budget, is now refused too.
        r = sb.get("/members/me/boards", token=sb.tokens["ana"])
        assert (r.status_code, r.json()) == (429, KEY_429)

    def test_members_route_limit(self, sandbox_factory: SandboxFactory) -> None:
        """``/1/members/{id}`` has its own limit; nested ``/1/members/me/boards`` does not."""
        sb = sandbox_factory(members_limit=3)
        assert [sb.get(p).status_code for p in ("/members/me", "/members/ana", "/members/me")] == [
            200
        ] * 3
        r = sb.get(f"/members/{sb.ids['ben']}")
        assert (r.status_code, r.json()) == (429, MEMBER_429)
        assert sb.get("/members/me/boards").status_code == 200

    def test_storm(self, sandbox_factory: SandboxFactory) -> None:
        """A 429 storm answers every /1/ request with the token-limit body, then ends."""
        sb = sandbox_factory(time_scale=10)
        s = sb.session()
        url = sb.base_url + "/members/me"
        assert s.get(url, timeout=30).status_code == 200
        sb.server.set_options(storm_s=3.0)  # 0.3 s of real time
        r = s.get(url, timeout=30)
        assert (r.status_code, r.json()) == (429, TOKEN_429)
        assert all(h in r.headers for h in ("x-rate-limit-api-token-remaining",))
        time.sleep(0.35)
        assert s.get(url, timeout=30).status_code == 200

    def test_headers_on_errors(self, sandbox: Sandbox) -> None:
        """404 and 401 answers under /1/ carry the rate-limit headers too."""
        for r in (sandbox.get("/nope"), sandbox.get("/members/me", token="bad")):
            assert r.status_code in (401, 404)
            assert r.headers["x-rate-limit-api-token-max"] == "100"


def test_concurrent_clients(sandbox: Sandbox) -> None:
    """Many keep-alive clients at once: every request is answered and the writes all land."""
    cards = [sandbox.ids[n] for n in ("c1", "c2", "c3", "c4")]
    members = [sandbox.ids[n] for n in ("ana", "ben", "cai")]
    sessions = [sandbox.session() for _ in range(12)]

    def work(i: int) -> list[int]:
        s = sessions[i]
        out = [s.get(f"{sandbox.base_url}/boards/{sandbox.ids['team']}/actions").status_code]
        card, member = cards[i % 4], members[i % 3]
        r = s.post(f"{sandbox.base_url}/cards/{card}/idMembers", params={"value": member})
        out.append(r.status_code)
        return out

    with ThreadPoolExecutor(max_workers=12) as pool:
        results = list(pool.map(work, range(12)))
    assert all(reads == 200 and write in (200, 400) for reads, write in results)
    for i in range(12):
        assert members[i % 3] in sandbox.world.cards[cards[i % 4]].id_members
    assert len(sandbox.server.request_log) == 24


class TestFaults:
    """Seeded 5xx answers, dropped connections, and writes applied before the fault."""

    def test_error_rate(self, sandbox_factory: SandboxFactory) -> None:
        """With error_rate 0.5 a session sees a mix of 200 and 500/502/503 plain-text answers."""
        sb = sandbox_factory(error_rate=0.5, seed=7)
        s = sb.session()
        responses = [s.get(sb.base_url + "/members/me", timeout=30) for _ in range(40)]
        statuses = {r.status_code for r in responses}
        assert 200 in statuses
        assert statuses - {200} <= {500, 502, 503}
        assert len(statuses - {200}) >= 2
        bad = next(r for r in responses if r.status_code != 200)
        assert bad.headers["Content-Type"] == "text/plain; charset=utf-8"

    def test_same_seed_same_faults(self, sandbox_factory: SandboxFactory) -> None:
        """Fault choices are reproducible from the seed."""
        runs = []
        for _ in range(2):
            sb = sandbox_factory(error_rate=0.3, seed=11)
            s = sb.session()
            runs.append(
                [s.get(sb.base_url + "/members/me", timeout=30).status_code for _ in range(30)]
            )
        assert runs[0] == runs[1]

    def test_drop(self, sandbox_factory: SandboxFactory) -> None:
        """A dropped request closes the connection without an answer: ConnectionError."""
        sb = sandbox_factory(drop_rate=1.0)
        s = sb.session()
        with pytest.raises(requests.exceptions.ConnectionError):
            s.get(sb.base_url + "/members/me", timeout=30)
        assert sb.server.request_log[-1].status is None
        sb.server.set_options(drop_rate=0.0)
        assert s.get(sb.base_url + "/members/me", timeout=30).status_code == 200

    @pytest.mark.parametrize("applied", [True, False])
    def test_write_applied_before_fault(
        self, sandbox_factory: SandboxFactory, applied: bool
    ) -> None:
        """A faulted write may have happened: a retry then hears "member is already on the card".

        With share 1 both faults applied the write first; with share 0 neither did."""
        share = 1.0 if applied else 0.0
        sb = sandbox_factory(drop_rate=1.0, fault_after_write_share=share)
        s = sb.session()
        url = f"{sb.base_url}/cards/{sb.ids['c1']}/idMembers"
        with pytest.raises(requests.exceptions.ConnectionError):
            s.post(url, params={"value": sb.ids["cai"]}, timeout=30)
        assert (sb.ids["cai"] in sb.world.cards[sb.ids["c1"]].id_members) is applied
        sb.server.set_options(drop_rate=0.0, error_rate=1.0)
        r = s.post(url, params={"value": sb.ids["cai"]}, timeout=30)
        assert r.status_code in (500, 502, 503)
        sb.server.set_options(error_rate=0.0)
        retry = s.post(url, params={"value": sb.ids["cai"]}, timeout=30)
        if applied:
            assert (retry.status_code, retry.text) == (400, "member is already on the card")
        else:
            assert retry.status_code == 200


class TestLatency:
    """Latency and jitter, divided by the time scale."""

    @staticmethod
    def _median(sb: Sandbox, n: int = 5) -> float:
        s = sb.session()
        url = sb.base_url + "/members/me"
        s.get(url, timeout=30)  # connect first
        times = []
        for _ in range(n):
            started = time.monotonic()
            assert s.get(url, timeout=30).status_code == 200
            times.append(time.monotonic() - started)
        return statistics.median(times)

    def test_latency_is_scaled(self, sandbox_factory: SandboxFactory) -> None:
        """200 ms of latency takes about 200 ms at scale 1 and a tenth of it at scale 10."""
        slow = self._median(sandbox_factory(latency_ms=200))
        fast = self._median(sandbox_factory(latency_ms=200, time_scale=10))
        base = self._median(sandbox_factory())
        assert 0.19 <= slow < 2.0
        assert fast < slow / 3
        assert fast >= 0.019
        assert base < fast

    def test_jitter(self, sandbox_factory: SandboxFactory) -> None:
        """Jitter adds a seeded uniform delay on top of the fixed latency."""
        sb = sandbox_factory(latency_ms=20, jitter_ms=200, seed=5)
        s = sb.session()
        for _ in range(8):
            s.get(sb.base_url + "/members/me", timeout=30)
        durations = [r.duration_s for r in sb.server.request_log]
        assert min(durations) >= 0.019
        assert max(durations) - min(durations) > 0.03

    def test_write_latency_delays_only_writes(self, sandbox_factory: SandboxFactory) -> None:
        """``write_latency_ms`` slows every write (here a card left open, a no-op PUT) and
        no read: tests put writes on the wire for long while the reads before them are quick."""
        sb = sandbox_factory(write_latency_ms=400)
        s = sb.session()
        s.get(sb.base_url + "/members/me", timeout=30)  # connect first
        started = time.monotonic()
        assert s.get(sb.base_url + "/members/me", timeout=30).status_code == 200
        read_s = time.monotonic() - started
        started = time.monotonic()
        card = sb.ids["c1"]
        assert s.put(f"{sb.base_url}/cards/{card}", params={"closed": "false"}).status_code == 200
        write_s = time.monotonic() - started
        assert write_s >= 0.39
        assert read_s < write_s / 2


class TestRequestLog:
    """What the request log keeps, and what it must never keep."""

    def test_records(self, sandbox: Sandbox) -> None:
        """Method, path, query names, status and whether credentials were in the URL."""
        s = sandbox.session(auth=False)
        url = f"{sandbox.base_url}/boards/{sandbox.ids['team']}/actions"
        query: dict[str, str | int] = {
            "filter": "all",
            "limit": 5,
            "key": sandbox.key,
            "token": sandbox.token,
        }
        s.get(url, params=query)
        sandbox.get("/members/me", fields="username")
        s.get(sandbox.base_url + "/members/me")
        first, second, third = sandbox.server.request_log
        assert (first.method, first.path, first.status) == ("GET", url.split(":", 2)[2][5:], 200)
        assert first.query_names == ("filter", "limit", "key", "token")
        assert first.credentials_in_url
        assert (second.query_names, second.credentials_in_url) == (("fields",), False)
        assert third.status == 401
        assert first.at <= second.at <= third.at
        assert all(r.duration_s >= 0 for r in (first, second, third))
        assert [r.path for r in sandbox.server.requests(path_prefix="/1/members")] == [
            "/1/members/me",
            "/1/members/me",
        ]
        assert sandbox.server.requests(method="post") == []

    def test_no_credential_values(self, sandbox: Sandbox) -> None:
        """Neither the log, nor its JSON form, nor the admin answer holds a key or token."""
        s = sandbox.session(auth=False)
        s.get(sandbox.base_url + "/members/me", params={"key": sandbox.key, "token": sandbox.token})
        sandbox.get("/members/me")
        s.post(
            f"{sandbox.base_url}/cards/{sandbox.ids['c1']}/idMembers",
            data={"key": sandbox.key, "token": sandbox.token, "value": sandbox.ids["cai"]},
        )
        assert sandbox.server.request_log[-1].status == 200  # form-body credentials work
        root = sandbox.base_url.removesuffix("/1")
        admin = sandbox.session().get(root + "/_sandbox/requests", timeout=30)
        assert admin.status_code == 200
        texts = [repr(sandbox.server.request_log), admin.text]
        for text in texts:
            assert sandbox.key not in text
            assert sandbox.token not in text


class TestAdmin:
    """``/_sandbox/options`` and ``/_sandbox/requests``: authenticated, not Trello traffic."""

    def test_options_round_trip(self, sandbox: Sandbox) -> None:
        """GET shows the options; PUT changes them in the running server."""
        s = sandbox.session()
        root = sandbox.base_url.removesuffix("/1")
        got = s.get(root + "/_sandbox/options", timeout=30).json()
        assert got == json.loads(json.dumps(SandboxOptions().__dict__))
        r = s.put(root + "/_sandbox/options", json={"error_rate": 1.0, "seed": 3}, timeout=30)
        assert (r.status_code, r.json()["error_rate"]) == (200, 1.0)
        assert sandbox.server.options.error_rate == 1.0
        assert s.get(sandbox.base_url + "/members/me", timeout=30).status_code >= 500
        bad = s.put(root + "/_sandbox/options", json={"error_rate": 2}, timeout=30)
        assert bad.status_code == 400
        unknown = s.put(root + "/_sandbox/options", json={"nope": 1}, timeout=30)
        assert (unknown.status_code, unknown.json()) == (
            400,
            {"error": "unknown sandbox option(s): nope"},
        )
        assert sandbox.server.options.error_rate == 1.0

    def test_requests_and_auth(self, sandbox: Sandbox) -> None:
        """The log is served as JSON; admin calls are neither logged nor open without auth."""
        root = sandbox.base_url.removesuffix("/1")
        sandbox.get("/members/me")
        s = sandbox.session()
        log = s.get(root + "/_sandbox/requests", timeout=30).json()
        assert [(r["method"], r["path"], r["status"]) for r in log] == [
            ("GET", "/1/members/me", 200)
        ]
        anon = sandbox.session(auth=False)
        r = anon.get(root + "/_sandbox/options", timeout=30)
        assert (r.status_code, r.text) == (401, "invalid key")
        assert len(sandbox.server.request_log) == 1
        assert s.get(root + "/_sandbox/bogus", timeout=30).status_code == 404

    def test_bad_options_refused(self) -> None:
        """SandboxOptions refuses values it cannot honour."""
        for bad in (
            {"time_scale": 0},
            {"error_rate": 1.5},
            {"error_rate": 0.6, "drop_rate": 0.6},
            {"id_cursor": "minute"},
            {"token_limit": 1.5},
            {"latency_ms": -1},
            {"seed": "x"},
        ):
            with pytest.raises(ValueError, match=r"."):
                SandboxOptions(**bad)
