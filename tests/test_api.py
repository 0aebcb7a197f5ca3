"""``api.TrelloApi`` against the sandbox over real loopback HTTP, through the whole stack
(py-trello, requests, requests-cache): credentials, base URL, cache, retries and errors."""

from __future__ import annotations

import contextlib
import http.server
import logging
import re
import socket
import stat
import threading
import time
import types
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
import requests

from trello_restore.api import ApiSettings, TrelloApi, cache_file_name
from trello_restore.errors import (
    ApiUnreachable,
    AuthError,
    BadRequest,
    ConfigError,
    NotFound,
    PermissionDenied,
    RateLimited,
)
from trello_restore.limiter import Stopping

from .conftest import Sandbox, SandboxFactory

MEMBER_FILTER = "addMemberToCard,removeMemberFromCard"
MakeApi = Callable[..., TrelloApi]


@pytest.fixture
def cache_dir(tmp_path: Path) -> Path:
    """Where the tests' HTTP caches live (not created in advance)."""
    return tmp_path / "cache"


@pytest.fixture
def make_api(sandbox: Sandbox, cache_dir: Path) -> Iterator[MakeApi]:
    """``make_api(**settings)``: a ``TrelloApi`` on the sandbox with quick retries, closed at
    teardown. Defaults: the lead's credentials, a cache in ``cache_dir``."""
    made: list[TrelloApi] = []

    def make(**overrides: Any) -> TrelloApi:
        values: dict[str, Any] = {
            "key": sandbox.key,
            "token": sandbox.token,
            "api_url": sandbox.base_url,
            "cache_dir": cache_dir,
            "read_retries": 3,
            "backoff_s": 0.001,
            "rate_window_s": 0.01,
        }
        values.update(overrides)
        api = TrelloApi(ApiSettings(**values))
        made.append(api)
        return api

    yield make
    for api in made:
        api.close()


def _log(sandbox: Sandbox) -> list[tuple[str, str, int | None]]:
    return [(r.method, r.path, r.status) for r in sandbox.server.request_log]


# -------------------------------------------------------------------------- credentials


def test_credentials_travel_only_in_the_authorization_header(
    sandbox: Sandbox, make_api: MakeApi
) -> None:
    """Every request carries the plain OAuth header and no credential in its URL."""
    api = make_api()
    sent: list[tuple[str, str]] = []
    api._session.hooks["response"].append(
        lambda r, *a, **k: sent.append((r.request.url, r.request.headers["Authorization"]))
    )
    api.me()
    api.get(f"boards/{sandbox.ids['team']}/actions", {"filter": MEMBER_FILTER})
    log = sandbox.server.request_log
    assert [(r.path, r.status) for r in log] == [
        ("/1/members/me", 200),
        (f"/1/boards/{sandbox.ids['team']}/actions", 200),
    ]
    assert not any(r.credentials_in_url for r in log)
    assert all({"key", "token"}.isdisjoint(r.query_names) for r in log)
    header = f'OAuth oauth_consumer_key="{sandbox.key}", oauth_token="{sandbox.token}"'
    # (requests-cache dispatches response hooks a second time, hence the set)
    assert {h for _, h in sent} == {header}
    for url, _ in sent:
        assert url.startswith(sandbox.base_url + "/")
        assert sandbox.key not in url
        assert sandbox.token not in url


_KEY_MISSING = r"the API key is missing.*set TRELLO_API_KEY, or api_key"
_TOKEN_MISSING = r"the token is missing.*set TRELLO_TOKEN, token .*--token -"
_BOTH_MISSING = r"neither the API key nor the token.*set TRELLO_API_KEY and TRELLO_TOKEN"


@pytest.mark.parametrize(
    ("key", "token", "says"),
    [
        ("", "t", _KEY_MISSING),
        ("k", "", _TOKEN_MISSING),
        ("  ", "t", _KEY_MISSING),
        ("k", " ", _TOKEN_MISSING),
        ("", " ", _BOTH_MISSING),
    ],
)
def test_missing_credentials_fail_before_any_request(
    sandbox: Sandbox, make_api: MakeApi, key: str, token: str, says: str
) -> None:
    """An empty key or token is an ``AuthError`` naming the missing one(s) and where each is
    set; nothing is sent."""
    with pytest.raises(AuthError, match=r"^no Trello credentials") as info:
        make_api(key=key, token=token)
    assert re.search(says, str(info.value)), str(info.value)
    assert info.value.status is None
    assert sandbox.server.request_log == []


def test_malformed_credentials_fail_before_any_request(make_api: MakeApi) -> None:
    """A token with a quote or a space could not go in the header: ``AuthError``."""
    with pytest.raises(AuthError, match=r"^the token has characters.*--token -"):
        make_api(token='abc"def')
    with pytest.raises(AuthError, match=r"^the API key has characters.*TRELLO_API_KEY"):
        make_api(key="abc def")


def test_settings_and_api_repr_hold_no_credentials(sandbox: Sandbox, make_api: MakeApi) -> None:
    """Neither the key nor the token shows in ``repr``/``str`` of the settings or the API."""
    api = make_api()
    for text in (repr(api.settings), str(api.settings), repr(api), repr(api.client.oauth)):
        assert sandbox.key not in text
        assert sandbox.token not in text


def test_invalid_token_is_an_auth_error(sandbox: Sandbox, make_api: MakeApi) -> None:
    """``401 invalid token``: ``AuthError`` pointing at the variables, sent once (not retried)."""
    api = make_api(token="ATTA" + "0" * 60)
    with pytest.raises(AuthError) as info:
        api.get(f"boards/{sandbox.ids['team']}")
    err = info.value
    assert (err.status, err.trello_error) == (401, "invalid token")
    assert str(err).startswith("Trello rejected the API key or token (invalid token): check ")
    assert "TRELLO_API_KEY and TRELLO_TOKEN" in str(err)
    assert len(sandbox.server.request_log) == 1 == api.requests_sent


def test_invalid_key_is_an_auth_error(sandbox: Sandbox, make_api: MakeApi) -> None:
    """``401 invalid key`` is an ``AuthError`` too."""
    with pytest.raises(AuthError, match=r"\(invalid key\)") as info:
        make_api(key="f" * 32).me()
    assert info.value.trello_error == "invalid key"


def test_board_of_others_is_permission_denied(sandbox: Sandbox, make_api: MakeApi) -> None:
    """A token whose member is not on the board: ``PermissionDenied`` with the advice."""
    api = make_api(token=sandbox.tokens["outsider"])
    team = sandbox.ids["team"]
    with pytest.raises(PermissionDenied) as info:
        api.get(f"boards/{team}/actions", {"filter": MEMBER_FILTER})
    assert str(info.value) == (
        f"the token's member cannot read board {team} (unauthorized permission requested): "
        "ask a board admin to add them to the board, or use the token of a member who can"
    )
    assert info.value.status == 401


# ------------------------------------------------------------------------------- reads


def test_get_returns_the_sandbox_json(sandbox: Sandbox, make_api: MakeApi) -> None:
    """``get`` answers what the API answers, for board actions and cards."""
    api = make_api()
    team = sandbox.ids["team"]
    params = {"filter": MEMBER_FILTER, "limit": "1000"}
    actions = api.get(f"/boards/{team}/actions", params)
    assert actions == sandbox.get(f"/boards/{team}/actions", **params).json()
    assert len(actions) == 8  # c5 is on the archive board
    assert {a["type"] for a in actions} == {"addMemberToCard"}
    cards = api.get(f"boards/{team}/cards/all", {"fields": "idMembers,closed"})
    assert {c["id"] for c in cards} >= {sandbox.ids[c] for c in ("c1", "c2", "c4", "c_archived")}


def test_me_is_fetched_once(sandbox: Sandbox, make_api: MakeApi) -> None:
    """``me()`` asks ``members/me`` for three fields, once per ``TrelloApi``."""
    api = make_api()
    me = api.me()
    assert me == {"id": sandbox.ids["lead"], "username": "lead", "fullName": "Lead Example"}
    me["id"] = "changed"
    assert api.me()["id"] == sandbox.ids["lead"]
    assert [(r.path, r.query_names) for r in sandbox.server.request_log] == [
        ("/1/members/me", ("fields",))
    ]


def test_members_by_id_are_never_requested(sandbox: Sandbox, make_api: MakeApi) -> None:
    """``members/{id}`` is refused before sending, through ``get``, ``fetch_json`` and
    py-trello's own helpers; ``members/me`` only through ``me()``."""
    api = make_api()
    with pytest.raises(ValueError, match="never read"):
        api.get(f"members/{sandbox.ids['ana']}")
    with pytest.raises(ValueError, match=r"me\(\)"):
        api.get("members/me")
    with pytest.raises(ValueError, match="never looked up"):
        api.client.fetch_json(f"/members/{sandbox.ids['ana']}")
    with pytest.raises(ValueError, match="never looked up"):
        api.client.get_member(sandbox.ids["ana"])
    assert api.get("members/me/boards", {"fields": "name"})  # nested routes are fine
    assert [r.path for r in sandbox.server.request_log] == ["/1/members/me/boards"]


@pytest.mark.parametrize(
    ("path", "params"),
    [
        ("boards/x?filter=all", None),
        ("", None),
        ("https://example.com/1/x", None),
        ("boards/x", {"token": "t"}),
        ("boards/x", {"key": "k"}),
    ],
)
def test_bad_paths_and_params_are_refused(
    make_api: MakeApi, path: str, params: dict[str, str] | None
) -> None:
    """Query strings in the path, URLs, and credentials in ``params`` are programming errors."""
    with pytest.raises(ValueError, match=r"not an API path|Authorization header"):
        make_api().get(path, params)


def test_unknown_and_malformed_boards(sandbox: Sandbox, make_api: MakeApi) -> None:
    """An unknown board id is ``NotFound``; a malformed one is ``BadRequest`` (``invalid id``)."""
    api = make_api()
    with pytest.raises(NotFound) as missing:
        api.get("boards/" + "5f" * 12)
    assert missing.value.status == 404
    assert str(missing.value).startswith(f"Trello found no board {'5f' * 12} (The requested")
    with pytest.raises(BadRequest) as bad:
        api.get("boards/nope/actions")
    assert (bad.value.status, bad.value.trello_error) == (400, "invalid id")
    assert str(bad.value) == "Trello refused GET board nope (invalid id)"
    assert api.requests_sent == 2


def test_writes_through_the_client_get_typed_errors(sandbox: Sandbox, make_api: MakeApi) -> None:
    """A py-trello write goes through the same transport: it works, and Trello's refusal is a
    ``BadRequest`` carrying Trello's text (the applier counts it as done)."""
    api = make_api()
    card, member = sandbox.ids["c1"], sandbox.ids["cai"]
    added = api.client.fetch_json(
        f"/cards/{card}/idMembers", http_method="POST", post_args={"value": member}
    )
    assert member in [m["id"] for m in added]
    with pytest.raises(BadRequest) as again:
        api.client.fetch_json(
            f"/cards/{card}/idMembers", http_method="POST", post_args={"value": member}
        )
    assert again.value.trello_error == "member is already on the card"
    assert [(r.method, r.status) for r in sandbox.server.request_log] == [
        ("POST", 200),
        ("POST", 400),
    ]


def test_writes_are_not_retried(sandbox_factory: SandboxFactory, cache_dir: Path) -> None:
    """A write that meets a 5xx fails at once (the applier owns write retries)."""
    sandbox = sandbox_factory(error_rate=1.0)
    settings = ApiSettings(sandbox.key, sandbox.token, api_url=sandbox.base_url, backoff_s=0.001)
    with TrelloApi(settings) as api, pytest.raises(ApiUnreachable) as info:
        api.client.fetch_json(
            f"/cards/{sandbox.ids['c1']}/idMembers",
            http_method="POST",
            post_args={"value": sandbox.ids["cai"]},
        )
    assert info.value.status in (500, 502, 503)
    assert len(sandbox.server.request_log) == 1


def test_requests_outside_the_api_base_are_refused(make_api: MakeApi) -> None:
    """The transport never sends the credentials anywhere but the configured API."""
    api = make_api()
    with pytest.raises(ValueError, match="outside the API base"):
        api._session.request("GET", "https://example.com/1/boards/x")
    assert api.requests_sent == 0


@pytest.mark.parametrize(
    "url", ["ftp://example.com/1", "not a url", "https://user:pw@example.com/1", "https://h:x/1"]
)
def test_unusable_api_urls_are_config_errors(make_api: MakeApi, url: str) -> None:
    """``--api-url`` must be a plain http(s) base; a password in it is never echoed."""
    with pytest.raises(ConfigError, match="TRELLO_API_URL") as info:
        make_api(api_url=url)
    assert "pw" not in str(info.value)


# ------------------------------------------------------------------------------- cache


def test_second_get_with_max_age_is_a_cache_hit(sandbox: Sandbox, make_api: MakeApi) -> None:
    """With ``max_age`` an identical read comes from the cache; ``max_age=None`` always goes to
    the network (and refreshes the cache)."""
    api = make_api()
    path, params = f"boards/{sandbox.ids['team']}/actions", {"filter": MEMBER_FILTER}
    first = api.get(path, params, max_age=60)
    assert api.get(path, params, max_age=60) == first
    assert (len(sandbox.server.request_log), api.requests_sent, api.cache_hits) == (1, 1, 1)
    assert api.get(path, params) == first
    assert (len(sandbox.server.request_log), api.requests_sent, api.cache_hits) == (2, 2, 1)
    api.get(path, {"filter": "all"}, max_age=60)  # other parameters: another entry
    assert (len(sandbox.server.request_log), api.cache_hits) == (3, 1)
    api.get(path, params, max_age=60)
    assert (len(sandbox.server.request_log), api.requests_sent, api.cache_hits) == (3, 3, 2)


def test_max_age_counts_from_the_fetch(sandbox: Sandbox, make_api: MakeApi) -> None:
    """An answer is used only while younger than the ``max_age`` of the request asking."""
    api = make_api()
    path = f"boards/{sandbox.ids['team']}"
    api.get(path)  # stored with the default expiry, one day
    api.get(path, max_age=1)
    assert api.cache_hits == 1
    time.sleep(1.1)
    api.get(path, max_age=1)
    assert (api.cache_hits, api.requests_sent) == (1, 2)
    api.get(path, max_age=60)
    api.get(path, max_age=0)
    assert (api.cache_hits, api.requests_sent) == (2, 3)


def test_cache_survives_the_api_object(sandbox: Sandbox, make_api: MakeApi) -> None:
    """A later ``TrelloApi`` for the same account reads the same cache file."""
    path = f"boards/{sandbox.ids['team']}/lists"
    first = make_api()
    data = first.get(path, max_age=600)
    first.close()
    second = make_api()
    assert second.get(path, max_age=600) == data
    assert (second.requests_sent, second.cache_hits) == (0, 1)
    assert len(sandbox.server.request_log) == 1


def test_one_private_cache_file_per_account(
    sandbox: Sandbox, make_api: MakeApi, cache_dir: Path
) -> None:
    """Each key+token has its own 0600 file in a 0700 directory; accounts never share answers."""
    lead, ana = make_api(), make_api(token=sandbox.tokens["ana"])
    path = f"boards/{sandbox.ids['archive']}/cards"
    lead.get(path, max_age=600)
    ana.get(path, max_age=600)
    assert (lead.cache_hits, ana.cache_hits, len(sandbox.server.request_log)) == (0, 0, 2)
    names = {cache_file_name(sandbox.key, t) for t in (sandbox.token, sandbox.tokens["ana"])}
    assert len(names) == 2
    # beside each, the lock its run holds (cache.HttpCache)
    assert {p.name for p in cache_dir.iterdir()} == names | {f"{n}.lock" for n in names}
    assert stat.S_IMODE(cache_dir.stat().st_mode) == 0o700
    for p in cache_dir.iterdir():
        assert stat.S_IMODE(p.stat().st_mode) == 0o600
        assert p.name.startswith("http-")
        assert sandbox.token[:16] not in p.name


def test_cache_file_holds_no_credentials(
    sandbox: Sandbox, make_api: MakeApi, cache_dir: Path
) -> None:
    """The raw SQLite bytes hold the answers but neither the key nor the token."""
    api = make_api()
    team = sandbox.ids["team"]
    api.me()
    api.get(f"boards/{team}/actions", {"filter": MEMBER_FILTER}, max_age=600)
    api.get(f"boards/{team}/cards/all", max_age=600)
    api.close()
    files = list(cache_dir.glob("*.sqlite"))
    assert len(files) == 1
    raw = files[0].read_bytes()
    assert team.encode() in raw  # the answers are there …
    assert b"REDACTED" in raw  # … the Authorization header is not
    assert raw.count(sandbox.key.encode()) == 0
    assert raw.count(sandbox.token.encode()) == 0
    assert raw.count(sandbox.token[4:20].encode()) == 0


def test_an_existing_cache_file_is_made_private(
    sandbox: Sandbox, make_api: MakeApi, cache_dir: Path
) -> None:
    """A cache file left readable by others is set back to 0600 when opened."""
    cache_dir.mkdir()
    path = cache_dir / cache_file_name(sandbox.key, sandbox.token)
    path.touch(mode=0o644)
    path.chmod(0o644)
    make_api().get(f"boards/{sandbox.ids['team']}", max_age=60)
    assert stat.S_IMODE(path.stat().st_mode) == 0o600


def test_without_cache_dir_nothing_is_cached(
    sandbox: Sandbox, make_api: MakeApi, tmp_path: Path
) -> None:
    """``cache_dir=None``: every read goes to the network, and no file is written."""
    api = make_api(cache_dir=None)
    path = f"boards/{sandbox.ids['team']}"
    api.get(path, max_age=600)
    api.get(path, max_age=600)
    assert (api.requests_sent, api.cache_hits, len(sandbox.server.request_log)) == (2, 0, 2)
    assert not any(p.suffix == ".sqlite" for p in tmp_path.rglob("*"))


def test_cache_dir_that_cannot_be_created_is_a_config_error(
    make_api: MakeApi, tmp_path: Path
) -> None:
    """A cache directory under a file: ``ConfigError`` naming the directory."""
    blocker = tmp_path / "file"
    blocker.write_text("")
    with pytest.raises(ConfigError, match="cannot create the HTTP cache in"):
        make_api(cache_dir=blocker / "cache")


def test_a_cache_dir_this_user_cannot_create_is_a_warning_not_an_error(
    make_api: MakeApi,
    sandbox: Sandbox,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
) -> None:
    """R47b: a cache directory whose parent this user cannot write in stopped even a dry run
    (exit 2, naming TRELLO_RESTORE_HOME when XDG_CACHE_HOME was set), where an existing one it
    cannot write in is a warning: the run goes on without the HTTP cache, saying where to
    look. (The refusal is a stand-in: root, which runs the tests in CI, may write anywhere.)"""
    import errno

    from trello_restore.api import cache

    def refused(path: Path, *args: Any, **kwargs: Any) -> None:
        raise PermissionError(errno.EACCES, "Permission denied", str(path))

    monkeypatch.setattr(cache, "private_dirs", refused)
    with caplog.at_level(logging.WARNING):
        api = make_api(cache_dir=tmp_path / "ro" / "trello-restore")
    api.get(f"boards/{sandbox.ids['team']}")
    (said,) = [r.getMessage() for r in caplog.records if "HTTP cache" in r.getMessage()]
    assert said == (
        f"cannot create the HTTP cache in {tmp_path / 'ro' / 'trello-restore'} (Permission "
        f"denied): this run reads Trello without the HTTP cache and cannot keep the boards' "
        f"histories there either (each is read in full); make {tmp_path} writable and "
        "searchable for this user (chmod u+rwx, as its owner), or point TRELLO_RESTORE_HOME, "
        "XDG_CACHE_HOME or [paths] cache_dir elsewhere"
    )
    assert not any(p.suffix == ".sqlite" for p in tmp_path.rglob("*"))


def test_a_cache_dir_this_user_cannot_create_is_one_warning_for_the_run(
    sandbox: Sandbox, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """R48b: the dry run said the HTTP cache could not be made, then that the kept histories
    could not be used, with advice to check a directory that does not exist: one warning
    covers both (the other line is at -v)."""
    import errno

    from trello_restore import history_store
    from trello_restore.api import cache

    ro = tmp_path / "ro"

    def refused(path: Path, *args: Any, **kwargs: Any) -> None:
        if ro in Path(path).parents or Path(path) == ro:
            raise PermissionError(errno.EACCES, "Permission denied", str(path))

    monkeypatch.setattr(cache, "private_dirs", refused)
    monkeypatch.setattr(history_store, "private_dirs", refused)
    said = _one_warning(sandbox, tmp_path, monkeypatch, ro)
    assert "cannot create the HTTP cache in " in said


def test_a_cache_dir_of_another_user_is_one_warning_for_the_run(
    sandbox: Sandbox, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """R49a: a cache directory this user cannot write in or search (another user's: a ``sudo``
    run made it) gave two warnings, the HTTP cache's and the kept histories'; one covers both.
    (Stand-ins refuse the lock file and the directory: root, which runs CI, may write in any.)"""
    import errno
    import os

    from trello_restore.api import cache

    theirs = tmp_path / "cache" / "trello-restore"
    theirs.mkdir(parents=True)
    real_access = os.access

    def denied(path: Any, mode: int, *args: Any, **kwargs: Any) -> bool:
        inside = Path(path) == theirs or theirs in Path(path).parents
        return False if inside else real_access(path, mode, *args, **kwargs)

    class Refused:
        def __init__(self, path: Any, *args: Any, **kwargs: Any) -> None:
            self.path = path

        def acquire(self, *args: Any, **kwargs: Any) -> None:
            raise PermissionError(errno.EACCES, "Permission denied", str(self.path))

    monkeypatch.setattr(os, "access", denied)
    monkeypatch.setattr(cache, "FileLock", Refused)
    assert "the HTTP cache's lock file" in _one_warning(
        sandbox, tmp_path, monkeypatch, tmp_path / "cache"
    )


def test_a_cache_dir_of_another_user_is_said_to_be_theirs(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """R50a: the advice for a cache directory another user owns (a ``sudo`` run made it) was
    to chmod it, which only its owner may: it says whose it is and what works instead. Root
    is told no chown to itself (R64a: an immutable lock file, as root, was "give it to this
    user: sudo chown -R root …"). This user is simulated (4242): the tests run as root."""
    import os

    from trello_restore.api.cache import _theirs

    mine = tmp_path / "mine"  # this user's home, say
    mine.mkdir()
    os.chown(mine, 4242, -1)
    theirs = mine / "theirs"  # root's, in it
    theirs.mkdir()
    assert _theirs(theirs) is None  # to root
    monkeypatch.setattr(os, "geteuid", lambda: 4242)
    assert _theirs(mine) is None
    assert _theirs(mine / "missing") is None
    said = _theirs(theirs)
    assert said is not None
    assert said.startswith("it belongs to another user (uid 0; a run with sudo?): ")
    assert f" {theirs}), or point TRELLO_RESTORE_HOME, XDG_CACHE_HOME or [paths] " in said
    assert said.endswith("cache_dir elsewhere, or pass --no-cache")


def _one_warning(
    sandbox: Sandbox, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, cache_home: Path
) -> str:
    """A dry run with ``XDG_CACHE_HOME`` at ``cache_home``: exit 0 and exactly one warning,
    which says the kept histories cannot be kept there either. Returns it."""
    from .conftest import configless_cli

    monkeypatch.setenv("XDG_CACHE_HOME", str(cache_home))
    monkeypatch.setenv("XDG_STATE_HOME", str(tmp_path / "state"))
    monkeypatch.delenv("TRELLO_RESTORE_HOME", raising=False)
    r = configless_cli(sandbox, monkeypatch, tmp_path)(
        "--board", sandbox.ids["team"], "--since", "2025-01-01", "--dry-run", "-q"
    )
    assert r.exit_code == 0, r.output
    said = [x for x in r.stderr.splitlines() if x.startswith("Warning: ")]
    assert len(said) == 1, r.stderr
    assert "cannot keep the boards' histories there either" in said[0]
    return said[0]


# ----------------------------------------------------------------------------- retries


def test_reads_ride_out_5xx_and_dropped_connections(
    sandbox_factory: SandboxFactory, cache_dir: Path
) -> None:
    """With a third of the answers 5xx or dropped, every read still succeeds."""
    sandbox = sandbox_factory(error_rate=0.25, drop_rate=0.15, seed=7)
    settings = ApiSettings(
        sandbox.key,
        sandbox.token,
        api_url=sandbox.base_url,
        read_retries=8,
        backoff_s=0.001,
    )
    team = sandbox.ids["team"]
    with TrelloApi(settings) as api:
        for _ in range(25):
            assert api.get(f"boards/{team}")["id"] == team
        statuses = [r.status for r in sandbox.server.request_log]
        assert statuses.count(200) == 25
        assert None in statuses
        assert {500, 502, 503} & set(statuses)
        assert api.requests_sent == len(statuses)


def test_a_short_429_storm_is_waited_out(sandbox_factory: SandboxFactory) -> None:
    """A 429 waits the rate window before the next try; the storm passes, the read succeeds."""
    sandbox = sandbox_factory(time_scale=50.0)  # the 10 s window lasts 0.2 s
    settings = ApiSettings(
        sandbox.key, sandbox.token, api_url=sandbox.base_url, backoff_s=0.001, rate_window_s=0.25
    )
    with TrelloApi(settings) as api:
        sandbox.server.set_options(storm_s=10.0)
        started = time.monotonic()
        assert api.get(f"boards/{sandbox.ids['team']}")["name"] == "Team"
        took = time.monotonic() - started
    statuses = [r.status for r in sandbox.server.request_log]
    assert statuses[0] == 429
    assert statuses[-1] == 200
    assert took >= 0.25 * (len(statuses) - 1)


def test_rate_limit_after_the_retries(sandbox_factory: SandboxFactory) -> None:
    """A storm outlasting the retries: ``RateLimited`` with Trello's code, quickly."""
    sandbox = sandbox_factory(storm_s=3600.0)
    settings = ApiSettings(
        sandbox.key,
        sandbox.token,
        api_url=sandbox.base_url,
        read_retries=2,
        backoff_s=0.001,
        rate_window_s=0.01,
    )
    started = time.monotonic()
    with TrelloApi(settings) as api, pytest.raises(RateLimited) as info:
        api.get(f"boards/{sandbox.ids['team']}")
    assert time.monotonic() - started < 2
    err = info.value
    assert (err.status, err.trello_error) == (429, "API_TOKEN_LIMIT_EXCEEDED")
    assert str(err).startswith(
        "Trello kept rate limiting after 3 attempts (API_TOKEN_LIMIT_EXCEEDED): wait a minute"
    )
    assert [r.status for r in sandbox.server.request_log] == [429, 429, 429]


def test_5xx_after_the_retries(sandbox_factory: SandboxFactory) -> None:
    """Only 5xx answers: ``ApiUnreachable`` naming the host, after read_retries + 1 attempts."""
    sandbox = sandbox_factory(error_rate=1.0)
    settings = ApiSettings(
        sandbox.key, sandbox.token, api_url=sandbox.base_url, read_retries=2, backoff_s=0.001
    )
    with TrelloApi(settings) as api, pytest.raises(ApiUnreachable) as info:
        api.get(f"boards/{sandbox.ids['team']}")
    err = info.value
    host = f"127.0.0.1:{sandbox.server.port}"
    assert err.status in (500, 502, 503)
    assert str(err).startswith(f"the Trello API at {host} answered HTTP {err.status} after 3 ")
    assert str(err).endswith("or check --api-url / TRELLO_API_URL")
    assert len(sandbox.server.request_log) == 3


def test_dropped_connections_after_the_retries(sandbox_factory: SandboxFactory) -> None:
    """Connections always closed without an answer: ``ApiUnreachable`` with no status."""
    sandbox = sandbox_factory(drop_rate=1.0)
    settings = ApiSettings(
        sandbox.key, sandbox.token, api_url=sandbox.base_url, read_retries=1, backoff_s=0.001
    )
    with TrelloApi(settings) as api, pytest.raises(ApiUnreachable) as info:
        api.get(f"boards/{sandbox.ids['team']}")
    assert info.value.status is None
    assert str(info.value) == (
        f"cannot reach the Trello API at 127.0.0.1:{sandbox.server.port} (the connection was "
        "closed without an answer) after 2 attempts: check the network connection, or "
        "--api-url / TRELLO_API_URL"
    )
    assert isinstance(info.value.__cause__, requests.ConnectionError)


def test_slow_answers_time_out(sandbox_factory: SandboxFactory) -> None:
    """An answer slower than ``read_timeout``: ``ApiUnreachable`` (timed out), after retries."""
    sandbox = sandbox_factory(latency_ms=1500.0)
    settings = ApiSettings(
        sandbox.key,
        sandbox.token,
        api_url=sandbox.base_url,
        read_timeout=0.1,
        read_retries=1,
        backoff_s=0.001,
    )
    with TrelloApi(settings) as api, pytest.raises(ApiUnreachable, match="timed out waiting"):
        api.get(f"boards/{sandbox.ids['team']}")


class _Trickle(http.server.BaseHTTPRequestHandler):
    """An answer whose headers come at once and whose body a byte at a time, each well within
    the read timeout, the whole far beyond it."""

    def log_message(self, *_: object) -> None:
        pass

    def do_GET(self) -> None:
        body = b'{"id": "' + b"x" * 200 + b'"}'
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        with contextlib.suppress(OSError):
            for i in range(len(body)):
                self.wfile.write(body[i : i + 1])
                self.wfile.flush()
                time.sleep(0.05)


class _KeptAlive(_Trickle):
    protocol_version = "HTTP/1.1"


@contextlib.contextmanager
def _local_api(
    handler: type[http.server.BaseHTTPRequestHandler], **settings: Any
) -> Iterator[TrelloApi]:
    """A ``TrelloApi`` on a local server answering with ``handler`` (stopped afterwards)."""
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    url = f"http://127.0.0.1:{server.server_address[1]}/1"
    try:
        with TrelloApi(ApiSettings("k" * 32, "t" * 64, api_url=url, **settings)) as api:
            yield api
    finally:
        server.shutdown()
        server.server_close()


class _TrickledHeaders(_KeptAlive):
    """An answer whose status line and headers come a byte at a time, each well within the
    read timeout, the whole far beyond it (``at_once``: the first bytes come at once)."""

    at_once = b""

    def do_GET(self) -> None:
        body = b'{"id": "b1"}'
        head = (
            b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nX-Padding: "
            + b"x" * 200
            + b"\r\nContent-Length: "
            + str(len(body)).encode()
            + b"\r\n\r\n"
        )
        with contextlib.suppress(OSError):
            self.wfile.write(head[: len(self.at_once)])
            for i in range(len(self.at_once), len(head)):
                self.wfile.write(head[i : i + 1])
                self.wfile.flush()
                time.sleep(0.05)
            self.wfile.write(body)

    do_PUT = do_GET


class _TrickledHeaderLines(_TrickledHeaders):
    """The status line and the first header at once, the rest a byte at a time: cut there,
    ``http.client`` takes the end of the connection for the end of the headers, and what came
    passes for an answer (R38c: a grant Trello made journaled as certainly failed, "no content
    type instead of JSON")."""

    at_once = b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\n"


@pytest.mark.parametrize("handler", [_Trickle, _KeptAlive])
def test_an_answer_that_trickles_in_times_out(handler: type[_Trickle]) -> None:
    """Each byte within the read timeout, the whole answer (10 s) far beyond connect plus
    read timeout: it times out at that bound, once per attempt (R37b: it was read to the end,
    hours for a real page, silent and deaf to Ctrl-C); on a connection that closes after the
    answer and on one kept alive (HTTP/1.1, as Trello's)."""
    started = time.monotonic()
    timeouts = {"connect_timeout": 0.2, "read_timeout": 0.3}
    with (
        _local_api(handler, read_retries=1, backoff_s=0.001, **timeouts) as api,
        pytest.raises(ApiUnreachable, match="timed out"),
    ):
        api.get("boards/b1")
    took = time.monotonic() - started
    assert took < 2 * sum(timeouts.values()) + 1.0, f"took {took:.1f} s"


@pytest.mark.parametrize("handler", [_KeptAlive, _TrickledHeaders, _TrickledHeaderLines])
def test_stopping_cuts_short_a_read_s_trickling_answer(handler: type[_Trickle]) -> None:
    """The run stops (Ctrl-C) while a worker reads an answer whose body, or headers, trickle
    in: the read ends at once, not at its deadline (R37f: a Ctrl-C waited up to 35 s for it;
    the headers' wait was not bounded at all)."""
    failed: list[BaseException] = []

    def read() -> None:
        try:
            api.get("boards/b1")
        except BaseException as exc:  # what ended it is the check
            failed.append(exc)

    with _local_api(handler, connect_timeout=1.0, read_timeout=8.0, read_retries=0) as api:
        reader = threading.Thread(target=read)
        reader.start()
        time.sleep(0.5)  # into the answer
        stopped = time.monotonic()
        api.stop()
        reader.join(timeout=20)
        took = time.monotonic() - stopped
    assert failed, "the read was not cut short"
    assert isinstance(failed[0], Stopping), repr(failed[0])  # not what came taken for an answer
    assert took < 1.5, f"took {took:.1f} s"


@pytest.mark.parametrize("handler", [_TrickledHeaders, _TrickledHeaderLines])
@pytest.mark.parametrize("write", [False, True])
def test_headers_that_trickle_in_time_out(write: bool, handler: type[_TrickledHeaders]) -> None:
    """Each byte of the status line and headers within the read timeout, the whole far beyond
    connect plus read timeout: the request times out at that bound, a read or a write (the
    bound used to start once the headers were in: R37b's open finding)."""
    started = time.monotonic()
    timeouts = {"connect_timeout": 0.2, "read_timeout": 0.3}
    with (
        _local_api(handler, read_retries=0, **timeouts) as api,
        pytest.raises(ApiUnreachable, match="timed out"),
    ):
        api.set_card_closed("c1", True) if write else api.get("boards/b1")
    took = time.monotonic() - started
    assert took < sum(timeouts.values()) + 1.0, f"took {took:.1f} s"


class _Paused(_KeptAlive):
    """Headers at once, the body 0.2 s later."""

    def do_GET(self) -> None:
        body = b'{"id": "b1"}'
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.flush()
        time.sleep(0.2)
        self.wfile.write(body)


def test_a_wait_for_the_limiter_is_not_part_of_the_request_s_time() -> None:
    """A read that waits a window for the limiter, then is answered within its timeouts, is
    not cut off as timed out: the bound on a request's time starts when it goes on the wire
    (R37f: read timed out after 1 s, at once after a 10 s wait in the limiter)."""
    from trello_restore.limiter import RateLimiter

    with _local_api(
        _Paused,
        connect_timeout=0.3,
        read_timeout=0.5,
        read_retries=2,
        backoff_s=0.001,
        limiter=RateLimiter(1, 1.5),
    ) as api:
        for _ in range(2):
            api.get("boards/b1")
        assert api.requests_sent == 2  # no retry


def test_closed_port_is_unreachable_without_credentials_in_the_message(
    sandbox: Sandbox, cache_dir: Path
) -> None:
    """Nothing listening: ``ApiUnreachable`` naming the host, and no key or token anywhere."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    settings = ApiSettings(
        sandbox.key,
        sandbox.token,
        api_url=f"http://127.0.0.1:{port}/1",
        cache_dir=cache_dir,
        read_retries=1,
        backoff_s=0.001,
    )
    with TrelloApi(settings) as api, pytest.raises(ApiUnreachable) as info:
        api.get("boards/abc/actions", {"filter": "all"})
    text = str(info.value)
    assert text.startswith(f"cannot reach the Trello API at 127.0.0.1:{port} (cannot connect)")
    assert "--api-url" in text
    for secret in (sandbox.key, sandbox.token):
        assert secret not in text
        assert secret not in repr(info.value.args)
        assert secret not in str(info.value.__cause__)
    assert api.requests_sent == 0  # two attempts, neither connected: no request left (R68a)


# ------------------------------------------------------------------------------- logging


def test_debug_log_has_method_path_status_and_no_secrets(
    sandbox: Sandbox, make_api: MakeApi, caplog: pytest.LogCaptureFixture
) -> None:
    """Debug logging names each request and cache hit; nothing logged holds a credential."""
    caplog.set_level(logging.DEBUG)
    api = make_api()
    team = sandbox.ids["team"]
    api.get(f"boards/{team}", max_age=60)
    api.get(f"boards/{team}", max_age=60)
    with pytest.raises(NotFound):
        api.get("boards/" + "5f" * 12)
    ours = [r.getMessage() for r in caplog.records if r.name == "trello_restore.api"]
    assert ours == [
        f"GET boards/{team} -> 200",
        f"GET boards/{team} -> 200 (cache)",
        f"GET boards/{'5f' * 12} -> 404",
    ]
    everything = "\n".join(r.getMessage() for r in caplog.records)
    assert sandbox.key not in everything
    assert sandbox.token not in everything


def test_py_trello_reads_never_come_from_the_cache(sandbox: Sandbox, make_api: MakeApi) -> None:
    """Reads made by py-trello's own helpers (no ``max_age``) always go to the network."""
    api = make_api()
    team = sandbox.ids["team"]
    api.get(f"boards/{team}", max_age=600)
    api.get(f"boards/{team}/lists", {"cards": "none", "filter": "all"}, max_age=600)
    board = api.client.get_board(team)  # the same two requests, made by py-trello
    lists = board.list_lists()
    assert {lst.id for lst in lists} >= {sandbox.ids["doing"], sandbox.ids["done"]}
    assert api.cache_hits == 0
    assert [r.path for r in sandbox.server.request_log] == [
        f"/1/boards/{team}",
        f"/1/boards/{team}/lists",
    ] * 2
    api.get(f"boards/{team}/lists", {"cards": "none", "filter": "all"}, max_age=600)
    assert api.cache_hits == 1  # … and what they fetched is stored


def test_an_unreadable_cache_file_is_replaced(
    sandbox: Sandbox, make_api: MakeApi, cache_dir: Path, caplog: pytest.LogCaptureFixture
) -> None:
    """A cache file SQLite cannot read is only a cache: it is replaced, with a warning."""
    cache_dir.mkdir()
    path = cache_dir / cache_file_name(sandbox.key, sandbox.token)
    path.write_bytes(b"not a database " * 100)
    api = make_api()
    assert api.get(f"boards/{sandbox.ids['team']}", max_age=60)["name"] == "Team"
    assert "was unreadable" in caplog.text
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert path.read_bytes().startswith(b"SQLite format 3")


def test_a_late_cut_leaves_a_connection_back_in_its_pool_alone() -> None:
    """The deadline passing just as the answer was read, its connection back in the pool (and
    maybe carrying another thread's request), does not shut that connection's socket."""
    from trello_restore.api.watchdog import Watchdog

    mine, theirs = socket.socketpair()
    with mine, theirs:
        connection = types.SimpleNamespace(sock=mine)
        watchdog = Watchdog(60.0)
        watchdog.on(connection)
        watchdog.released(connection)
        watchdog.cut()
        theirs.sendall(b"x")
        assert mine.recv(1) == b"x"  # still open both ways
        mine.sendall(b"y")
        assert theirs.recv(1) == b"y"
        still = Watchdog(60.0)
        still.on(connection)
        still.cut()  # not released: shut
        assert mine.recv(1) == b""
