"""``api``'s decisions as pure functions (error mapping, retry delays, cache directives), and
narrow error-mapping cases through the real stack with ``responses`` standing in for Trello."""

from __future__ import annotations

import json
import logging
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import requests
import responses
import urllib3.exceptions

from trello_restore.api import (
    DEFAULT_API_URL,
    MAX_BACKOFF_S,
    MAX_RETRY_AFTER_S,
    ApiSettings,
    MemberStandIn,
    RetryPolicy,
    TrelloApi,
    cache_directive,
    cache_file_name,
    error_for_exception,
    error_for_response,
)
from trello_restore.errors import (
    ApiError,
    ApiUnreachable,
    AuthError,
    BadRequest,
    BadResponse,
    NotFound,
    PermissionDenied,
    RateLimited,
)
from trello_restore.masking import Mask

KEY = "0123456789abcdef0123456789abcdef"
TOKEN = "ATTA" + "5ec7e7" * 10
BOARD_URL = f"{DEFAULT_API_URL}/boards/abc"
JSON_TYPE = "application/json; charset=utf-8"
SETTINGS = ApiSettings(KEY, TOKEN, read_retries=2, backoff_s=0.001, rate_window_s=0.01)


# ------------------------------------------------------------------- error_for_response


def _body(value: dict[str, Any]) -> str:
    return json.dumps(value)


@pytest.mark.parametrize(
    ("status", "body", "kind", "trello_error"),
    [
        (401, "invalid key", AuthError, "invalid key"),
        (401, "invalid token", AuthError, "invalid token"),
        (401, "The token expired", AuthError, "The token expired"),
        (401, "unauthorized token", AuthError, "unauthorized token"),
        (401, "", AuthError, ""),
        (401, "unauthorized permission requested", PermissionDenied, None),
        (401, "unauthorized member permission requested.", PermissionDenied, None),
        (401, "unauthorized organization.", PermissionDenied, None),
        (403, "", PermissionDenied, ""),
        (404, "The requested resource was not found.", NotFound, None),
        (404, "model not found", NotFound, None),
        (400, "invalid id", BadRequest, None),
        (400, "member is already on the card", BadRequest, None),
        (
            400,
            _body({"message": "Invalid objectId", "error": "ERROR"}),
            BadRequest,
            "Invalid objectId",
        ),
        (409, "conflict", BadRequest, None),
        (
            429,
            _body({"error": "API_TOKEN_LIMIT_EXCEEDED", "message": "Rate limit exceeded"}),
            RateLimited,
            "API_TOKEN_LIMIT_EXCEEDED",
        ),
        (
            429,
            _body({"error": "API_KEY_LIMIT_EXCEEDED", "message": "Rate limit exceeded"}),
            RateLimited,
            "API_KEY_LIMIT_EXCEEDED",
        ),
        (
            429,
            _body({"message": "Exceeded rate limit to /1/member", "error": "RATE_LIMIT_EXCEEDED"}),
            RateLimited,
            "RATE_LIMIT_EXCEEDED",
        ),
        (500, "Internal Server Error", ApiUnreachable, None),
        (502, "<html>\n<head><title>502 Bad Gateway</title></head>\n</html>", ApiUnreachable, ""),
        (503, "Service Unavailable", ApiUnreachable, None),
        (408, "", ApiUnreachable, ""),
        (302, "", BadResponse, ""),
        (407, "Proxy Authentication Required", BadResponse, None),
    ],
)
def test_error_for_response(
    status: int, body: str, kind: type[ApiError], trello_error: str | None
) -> None:
    """Each status and Trello body maps to its error class, status and ``trello_error``; the
    message is one line."""
    err = error_for_response(status, body, method="GET", path="boards/abc/actions")
    assert type(err) is kind
    assert err.status == status
    assert err.trello_error == (body if trello_error is None else trello_error)
    assert "\n" not in str(err)
    assert str(err) == str(err).strip()


@pytest.mark.parametrize(
    ("status", "body", "kind"),
    [
        (401, "unauthorized permission requested", PermissionDenied),
        (401, "invalid token", AuthError),
        (400, "member is already on the card", BadRequest),
        (400, "member is not on the card", BadRequest),
        (404, "The requested resource was not found.", NotFound),
    ],
)
def test_a_plain_text_body_labelled_html_is_still_read(
    status: int, body: str, kind: type[ApiError]
) -> None:
    """Which content type Trello gives its plain-text error bodies is unconfirmed (notes §4:
    "the tool must cope with either answer"), and many servers label a string ``text/html``:
    the text is read whatever the label, and only a body that is HTML is dropped. R71b (a
    ``text/html`` label blanked every such text: a board refusal read as a bad token, and
    "already on the card" as a failed write)."""
    err = error_for_response(status, body, path="x")  # what the transport passes: the body
    assert type(err) is kind
    assert err is not None
    assert err.trello_error == body
    page = "\ufeff <!DOCTYPE html><html><body>member is already on the card</body></html>"
    err = error_for_response(status, page, path="x")
    assert err is not None
    assert err.trello_error == ""


@pytest.mark.parametrize(
    ("original", "path", "kind", "status"),
    [
        (401, "boards/abc", PermissionDenied, 403),  # the request was authenticated: rights
        ("401", "boards/abc/actions", PermissionDenied, 403),
        (401, "members/me", AuthError, 401),  # the account's own read: the credentials
        (403, "boards/abc", PermissionDenied, 403),
        (404, "boards/abc", NotFound, 404),
        ("404", "boards/abc", NotFound, 404),
        (400, "cards/c1/idMembers", BadRequest, 400),  # as a 400: ``blocked`` by the runner
        (429, "boards/abc", RateLimited, 429),
        # None usable: a refusal, never "no such board", which a board's read takes for a
        # deleted board (R45e): none, odd types, other statuses, thousands of digits.
        (None, "boards/abc", PermissionDenied, 403),
        ("abc", "boards/abc", PermissionDenied, 403),
        (True, "boards/abc", PermissionDenied, 403),
        (401.0, "boards/abc", PermissionDenied, 403),
        ([401], "boards/abc", PermissionDenied, 403),
        (" 401", "boards/abc", PermissionDenied, 403),
        ("\u0664\u0660\u0661", "boards/abc", PermissionDenied, 403),  # Arabic-Indic 401
        (407, "boards/abc", PermissionDenied, 403),
        (408, "boards/abc", PermissionDenied, 403),
        (500, "boards/abc", PermissionDenied, 403),
        ("4" * 5000, "boards/abc", PermissionDenied, 403),
    ],
)
def test_a_449_is_read_as_the_status_of_the_part_refused(
    original: object, path: str, kind: type[ApiError], status: int
) -> None:
    """Trello's 449 Sub-Request Failed ({path, originalMessage, originalStatus}, notes §4,
    [PAGE-auxerrors]) "can occur any place where a 4XX error was previously occurring": it is
    read as that 4xx (R45d: it was a Bad Request, and an unreadable board a deleted one)."""
    doc: dict[str, object] = {"path": "boards", "originalMessage": "Unauthorized"}
    if original is not None:
        doc["originalStatus"] = original
    err = error_for_response(449, json.dumps(doc), method="GET", path=path)
    assert type(err) is kind
    assert err.status == status
    assert err.trello_error == "Unauthorized"
    assert "\n" not in str(err)
    bare = error_for_response(449, "Sub-Request Failed", path="boards/abc")
    assert isinstance(bare, PermissionDenied)
    assert bare.status == 403
    # Said as answered, not as a 403 that never came; the account's read is the credentials
    # (R46a: "(HTTP 403)", and board advice for members/me).
    silent = error_for_response(449, "{}", path="boards/abc")
    assert "(HTTP 449)" in str(silent)
    account = error_for_response(449, "{}", path="members/me")
    assert isinstance(account, AuthError)
    assert "check" in str(account)
    assert "board admin" not in str(account)


def test_a_proxy_s_407_names_the_proxy_settings_and_a_redirect_its_host() -> None:
    """Neither is Trello's: the line says whose it is and what to check (R37b: "Trello refused
    GET /members/me (HTTP 407)"; a redirect was followed)."""
    proxy = error_for_response(407, "", api_url="https://api.trello.com/1")
    assert str(proxy) == (
        "a proxy between this machine and api.trello.com asks for credentials (HTTP 407): "
        "check HTTPS_PROXY / HTTP_PROXY (user:password@host) or ask whoever runs the proxy"
    )
    moved = error_for_response(
        301, "", path="members/me", api_url="http://trello.example/1",
        location="https://login.example:8443/sso?next=/1",
    )  # fmt: skip
    assert "with a redirect to login.example:8443 (HTTP 301)" in str(moved)
    assert "sso" not in str(moved)


def test_error_for_response_success_is_none() -> None:
    """2xx answers are not errors."""
    assert error_for_response(200, "[]") is None
    assert error_for_response(204, "") is None


def test_error_messages() -> None:
    """The messages say what happened and what to do."""

    def msg(status: int, body: str, **kw: Any) -> str:
        err = error_for_response(status, body, **kw)
        assert err is not None
        return str(err)

    assert msg(401, "invalid token") == (
        "Trello rejected the API key or token (invalid token): check TRELLO_API_KEY and "
        "TRELLO_TOKEN (a token can be revoked or expire, and must belong to the key)"
    )
    assert msg(403, "", method="PUT", path="boards/b1/members/m1") == (
        "the token's member cannot change board b1 (HTTP 403): ask a board admin to add them to "
        "the board, or use the token of a member who can"
    )
    assert msg(404, "model not found", path="cards/c9") == (
        "Trello found no card c9 (model not found): check the id, that the token's member can "
        "see it, and --api-url"
    )
    assert msg(400, "invalid id", method="post", path="cards/zz/idMembers") == (
        "Trello refused POST card zz (invalid id)"
    )
    assert msg(503, "Service Unavailable", api_url="http://127.0.0.1:8080/1", attempts=6) == (
        "the Trello API at 127.0.0.1:8080 answered HTTP 503 after 6 attempts (Service "
        "Unavailable): Trello may be having trouble; try again later, or check --api-url / "
        "TRELLO_API_URL"
    )
    assert msg(429, "", attempts=1).startswith("Trello kept rate limiting (HTTP 429): wait")
    assert msg(404, "x", path="search").startswith("Trello found no /search (x)")


def test_long_error_bodies_are_cut_to_one_short_line() -> None:
    """A long multi-line text body becomes one line of at most 200 characters."""
    err = error_for_response(400, "bad\n" * 200)
    assert err is not None
    assert len(err.trello_error) == 200
    assert "\n" not in str(err)


@pytest.mark.parametrize(
    "body",
    [
        "invalid token\x1b]0;TITLE\x07\x1b[31m RED",
        json.dumps({"message": "invalid token\x1b]0;TITLE\x07\x1b[31m RED"}),
    ],
)
def test_an_error_body_s_control_characters_are_shown_escaped(body: str) -> None:
    """R39a: a 401 whose text held ``ESC]0;…BEL`` retitled the terminal (and went to the log
    file as it was)."""
    err = error_for_response(401, body)
    assert err is not None
    assert err.trello_error == "invalid token\\x1b]0;TITLE\\x07\\x1b[31m RED"
    assert not [ch for ch in str(err) if ch in "\x1b\x07"]


# ------------------------------------------------------------------- error_for_exception


def _connection_error(reason: Exception) -> requests.ConnectionError:
    pool = urllib3.exceptions.MaxRetryError(None, "/1/boards/x?token=SECRET", reason)  # type: ignore[arg-type]
    return requests.ConnectionError(pool)


@pytest.mark.parametrize(
    ("exc", "reason", "retryable"),
    [
        (
            _connection_error(urllib3.exceptions.NewConnectionError(None, "refused")),  # type: ignore[arg-type]
            "cannot connect",
            True,
        ),
        (
            _connection_error(urllib3.exceptions.NameResolutionError("h", None, OSError())),  # type: ignore[arg-type]
            "the host name does not resolve",
            True,
        ),
        (
            _connection_error(urllib3.exceptions.ProtocolError("Connection aborted.")),
            "the connection was closed without an answer",
            True,
        ),
        (requests.ConnectTimeout("token=SECRET"), "timed out connecting", True),
        (requests.ReadTimeout("token=SECRET"), "timed out waiting for an answer", True),
        (  # the headers came, then the body stopped (R67a: "connection failed")
            requests.ConnectionError(urllib3.exceptions.ReadTimeoutError(None, "/", "timed out")),  # type: ignore[arg-type]
            "timed out: the answer stopped coming",
            True,
        ),
        (requests.exceptions.ChunkedEncodingError("x"), "the connection broke", True),
        (requests.exceptions.ProxyError("x"), "the proxy refused or failed", True),
        (requests.exceptions.SSLError("token=SECRET"), "TLS failed", False),
        (requests.ConnectionError("token=SECRET"), "connection failed", True),
        (requests.exceptions.InvalidURL("token=SECRET"), "the URL is not valid", False),
        (requests.RequestException("token=SECRET"), "request failed (RequestException)", True),
    ],
)
def test_error_for_exception(exc: requests.RequestException, reason: str, retryable: bool) -> None:
    """The kind of failure comes from the exception types; its text (URLs) is never copied."""
    err, again = error_for_exception(exc, api_url="https://api.example.com:8443/1", attempts=3)
    assert type(err) is ApiUnreachable
    assert again is retryable
    assert err.status is None
    text = str(err)
    assert text.startswith(f"cannot reach the Trello API at api.example.com:8443 ({reason}")
    assert text.endswith(
        ") after 3 attempts: check the network connection, or --api-url / TRELLO_API_URL"
    )
    assert "SECRET" not in text


@pytest.mark.parametrize(
    ("exc", "sent"),
    [
        (_connection_error(urllib3.exceptions.NewConnectionError(None, "refused")), False),  # type: ignore[arg-type]
        (_connection_error(urllib3.exceptions.NameResolutionError("h", None, OSError())), False),  # type: ignore[arg-type]
        (requests.ConnectTimeout("x"), False),
        (requests.exceptions.SSLError("x"), False),  # not retried: said as it is
        (_connection_error(urllib3.exceptions.ProtocolError("Connection aborted.")), True),
        (requests.ReadTimeout("x"), True),
        (requests.exceptions.ChunkedEncodingError("x"), True),
        (requests.ConnectionError("x"), True),
    ],
)
def test_a_write_that_may_have_been_sent_says_the_change_may_have_been_made(
    exc: requests.RequestException, sent: bool
) -> None:
    """A write that got no answer after it may have left (R67a: a reset after Trello made it
    said "cannot reach the Trello API", the member on the card) says the change may have been
    made, as a 200 that is not JSON does; one that never left says it cannot reach the API,
    as a read does."""
    err, _ = error_for_exception(exc, method="POST", api_url="https://api.example.com/1")
    text = str(err)
    assert ("the change may have been made" in text) is sent, text
    assert text.startswith(
        "no answer from the Trello API at api.example.com (" if sent else "cannot reach"
    )
    read, _ = error_for_exception(exc, method="GET", api_url="https://api.example.com/1")
    assert str(read).startswith("cannot reach the Trello API at api.example.com (")


def test_redirect_loop_is_a_bad_response() -> None:
    """Too many redirects means the URL is not a Trello API."""
    err, again = error_for_exception(requests.TooManyRedirects("x"), path="boards/b")
    assert type(err) is BadResponse
    assert not again
    assert "redirect loop" in str(err)


# ---------------------------------------------------------------------------- RetryPolicy


def test_retry_policy_after_429_waits_the_window() -> None:
    """A 429 waits the rate window plus jitter, or a longer ``Retry-After`` (capped)."""
    policy = RetryPolicy(retries=10, rate_window_s=10.0, backoff_s=1.0)
    limited = RateLimited("x")
    assert policy.delay(limited, 0, 0.0) == 10.0
    assert policy.delay(limited, 4, 0.999) == pytest.approx(10.999)
    assert policy.delay(RateLimited("x", retry_after=3.0), 0, 0.0) == 10.0
    assert policy.delay(RateLimited("x", retry_after=30.0), 0, 0.5) == 30.5
    assert policy.delay(RateLimited("x", retry_after=1e9), 0, 0.0) == MAX_RETRY_AFTER_S


def test_retry_policy_after_5xx_grows_with_jitter_and_a_cap() -> None:
    """5xx and connection errors: ``backoff_s * 2**attempt``, randomly halved, capped."""
    policy = RetryPolicy(retries=40, backoff_s=1.0)
    down = ApiUnreachable("x", 503)
    assert [policy.delay(down, n, 0.0) for n in range(4)] == [0.5, 1.0, 2.0, 4.0]
    assert [policy.delay(down, n, 1.0) for n in range(4)] == [1.0, 2.0, 4.0, 8.0]
    assert policy.delay(down, 30, 1.0) == MAX_BACKOFF_S


@pytest.mark.parametrize(
    "error",
    [
        AuthError("x", 401),
        PermissionDenied("x", 403),
        NotFound("x", 404),
        BadRequest("x", 400),
        BadResponse("x", 200),
    ],
)
def test_retry_policy_gives_up_on_errors_a_retry_cannot_fix(error: ApiError) -> None:
    """Refusals and nonsense answers are not retried."""
    assert SETTINGS.read_policy.delay(error, 0, 0.5) is None
    assert not RetryPolicy.retryable(error)


def test_retry_policy_gives_up_once_the_retries_are_used() -> None:
    """``retries`` waits at most, then None: ``attempts`` tries in all."""
    policy = RetryPolicy(retries=2, backoff_s=1.0, rate_window_s=10.0)
    assert policy.attempts == 3
    for error in (ApiUnreachable("x", 503), RateLimited("x")):
        assert RetryPolicy.retryable(error)
        assert [policy.delay(error, n, 0.0) is not None for n in range(4)] == [
            True,
            True,
            False,
            False,
        ]
    assert RetryPolicy(retries=0).delay(ApiUnreachable("x", 503), 0, 0.0) is None
    with pytest.raises(ValueError, match="retries must not be negative"):
        RetryPolicy(retries=-1)


def test_read_policy_is_the_settings_numbers() -> None:
    """``ApiSettings.read_policy`` carries its retries, backoff and window."""
    assert SETTINGS.read_policy == RetryPolicy(retries=2, backoff_s=0.001, rate_window_s=0.01)


# ----------------------------------------------------------------------------- cache names


@pytest.mark.parametrize(
    ("max_age", "directive"),
    [
        (None, "no-cache"),
        (0, "no-cache"),
        (-5, "no-cache"),
        (60, "min-fresh=86340"),
        (0.5, "min-fresh=86400"),
        (86399.5, "min-fresh=1"),
        (86400, "min-fresh=0"),
        (10**9, "min-fresh=0"),
    ],
)
def test_cache_directive(max_age: float | None, directive: str) -> None:
    """``max_age`` becomes the ``min-fresh`` that admits only younger entries (whole seconds,
    rounded towards fresher); at or above the entries' lifetime any entry will do."""
    assert cache_directive(max_age, 86400.0) == directive


def test_cache_file_name_is_a_hash_of_the_account() -> None:
    """Same key and token, same file; change either, another file; neither value in the name."""
    name = cache_file_name(KEY, TOKEN)
    assert re.fullmatch(r"http-[0-9a-f]{16}\.sqlite", name)
    assert cache_file_name(KEY, TOKEN) == name
    assert cache_file_name(KEY, TOKEN + "x") != name
    assert cache_file_name(KEY[::-1], TOKEN) != name
    assert KEY[:8] not in name
    assert TOKEN[4:12] not in name


# ---------------------------------------------------------------------- through the stack


@pytest.fixture
def mocked() -> Iterator[responses.RequestsMock]:
    """Trello at its real address, answered by ``responses`` (no other URL is reachable)."""
    with responses.RequestsMock(assert_all_requests_are_fired=False) as rsps:
        yield rsps


@pytest.fixture
def api(tmp_path: Path) -> Iterator[TrelloApi]:
    """A ``TrelloApi`` on the default URL, with a cache and quick retries."""
    with TrelloApi(
        ApiSettings(
            KEY,
            TOKEN,
            cache_dir=tmp_path / "c",
            read_retries=2,
            backoff_s=0.001,
            rate_window_s=0.01,
        )
    ) as made:
        yield made


def test_request_shape_at_the_default_url(mocked: responses.RequestsMock, api: TrelloApi) -> None:
    """At Trello's own URL: no rewrite, header credentials, our User-Agent, and no local cache
    directive on the wire."""
    mocked.get(BOARD_URL, json={"id": "abc"})
    assert api.get("boards/abc", {"fields": "name"}, max_age=60) == {"id": "abc"}
    (call,) = mocked.calls
    assert call.request.url == BOARD_URL + "?fields=name"
    assert call.request.headers["Authorization"] == (
        f'OAuth oauth_consumer_key="{KEY}", oauth_token="{TOKEN}"'
    )
    assert call.request.headers["User-Agent"].startswith("trello-restore/0.1.0 py-trello/")
    assert "Cache-Control" not in call.request.headers


def test_html_200_is_a_bad_response_and_not_cached(
    mocked: responses.RequestsMock, api: TrelloApi
) -> None:
    """A login or proxy page answering 200: ``BadResponse``, not retried, never cached."""
    mocked.get(BOARD_URL, body="<html><body>Sign in</body></html>", content_type="text/html")
    with pytest.raises(BadResponse) as info:
        api.get("boards/abc", max_age=600)
    assert str(info.value) == (
        "the API at api.trello.com answered GET board abc with text/html instead of JSON: check "
        "--api-url / TRELLO_API_URL (a proxy or a login page may be in the way)"
    )
    assert (info.value.status, info.value.trello_error) == (200, "")
    mocked.replace(responses.GET, BOARD_URL, json={"id": "abc"})
    assert api.get("boards/abc", max_age=600) == {"id": "abc"}
    assert (len(mocked.calls), api.cache_hits) == (2, 0)


@pytest.mark.parametrize(
    "header",
    [
        pytest.param(("X-Debug-Authorization", f'OAuth oauth_token="{TOKEN}"'), id="header"),
        pytest.param(("Set-Cookie", f"t={TOKEN.lower()}; Path=/"), id="cookie-lower-case"),
        pytest.param(("X-Echo", f"key {KEY[:20]}"), id="key-cut-short"),
    ],
)
def test_an_answer_whose_headers_echo_a_credential_is_not_cached(
    mocked: responses.RequestsMock, api: TrelloApi, tmp_path: Path, header: tuple[str, str]
) -> None:
    """R57d: a proxy's header (or cookie) repeating the Authorization header was stored in the
    SQLite cache as it was. Such an answer is used but not stored; the next read asks again."""
    mocked.get(BOARD_URL, json={"id": "abc"}, headers=[header])
    assert api.get("boards/abc", max_age=600) == {"id": "abc"}
    assert api.get("boards/abc", max_age=600) == {"id": "abc"}
    assert (len(mocked.calls), api.cache_hits) == (2, 0)
    kept = b"".join(p.read_bytes() for p in (tmp_path / "c").rglob("*") if p.is_file()).lower()
    for secret in (KEY, TOKEN):
        assert secret[:12].lower().encode() not in kept
        assert secret[-12:].lower().encode() not in kept


@pytest.mark.parametrize(
    "note",
    [
        pytest.param(f"seen token {TOKEN}", id="token"),
        pytest.param(f"seen {TOKEN.lower()}", id="token-lower-case"),
        pytest.param(f"key {KEY[:8]}…", id="key-cut-short"),
        pytest.param(f"token ending in {TOKEN[-12:]}", id="token-end"),  # R89b: pieces too
        pytest.param(f"{TOKEN[:5]} {TOKEN[5:]}", id="token-split"),
        pytest.param(f"…{KEY[9:25].upper()}…", id="key-middle"),
    ],
)
def test_an_answer_whose_body_echoes_a_credential_is_not_cached(
    mocked: responses.RequestsMock, api: TrelloApi, note: str
) -> None:
    """R88c: a proxy's note in a JSON body repeating the token was kept in the SQLite cache
    (base64'd: no ``strings`` finds it). Used, not stored; the next read asks again."""
    mocked.get(BOARD_URL, json={"id": "abc", "_proxy_note": note})
    for _ in range(2):
        assert api.get("boards/abc", max_age=600)["id"] == "abc"
    assert (len(mocked.calls), api.cache_hits) == (2, 0)


def test_an_answer_read_not_to_be_kept_is_not_looked_into(
    mocked: responses.RequestsMock, api: TrelloApi, monkeypatch: pytest.MonkeyPatch
) -> None:
    """requests-cache asks its filter of every answer, an action page's or a card listing's
    (``keep=False``: ``no-store``) too, and the body's check costs about 10 ms a MB (R89b): a
    cold fetch of 273 action pages would pay it on each. Only an answer to be kept is read."""
    looked: list[int] = []
    real = Mask.in_body

    def counted(self: Mask, body: bytes) -> bool:
        looked.append(len(body))
        return real(self, body)

    monkeypatch.setattr(Mask, "in_body", counted)
    mocked.get(BOARD_URL, json={"id": "abc"})
    assert api.get("boards/abc", keep=False) == {"id": "abc"}
    assert looked == []
    assert api.get("boards/abc", max_age=600) == {"id": "abc"}
    assert looked  # (requests-cache asks its filter twice of an answer it may store)
    assert api.get("boards/abc", max_age=600) == {"id": "abc"}
    assert (len(mocked.calls), api.cache_hits) == (2, 1)


def test_a_read_not_to_be_kept_leaves_what_the_cache_holds_for_its_url(
    mocked: responses.RequestsMock, api: TrelloApi
) -> None:
    """requests-cache deletes a key's entry when its filter refuses an answer, a no-store one's
    too: the unread body of a no-store read is not refused, so a kept answer of the same URL
    stays kept (else the next kept read would cost a request)."""
    mocked.get(BOARD_URL, json={"id": "abc"})
    assert api.get("boards/abc", max_age=600) == {"id": "abc"}
    assert api.get("boards/abc", keep=False) == {"id": "abc"}
    assert api.get("boards/abc", max_age=600) == {"id": "abc"}
    assert (len(mocked.calls), api.cache_hits) == (2, 1)


def test_an_answer_with_no_credential_in_its_headers_is_cached(
    mocked: responses.RequestsMock, api: TrelloApi
) -> None:
    """The rule above stores what it should: the same answer without the echo."""
    mocked.get(BOARD_URL, json={"id": "abc"}, headers=[("X-Echo", "nothing to see")])
    assert api.get("boards/abc", max_age=600) == {"id": "abc"}
    assert api.get("boards/abc", max_age=600) == {"id": "abc"}
    assert (len(mocked.calls), api.cache_hits) == (1, 1)


def test_garbage_json_200_is_a_bad_response(mocked: responses.RequestsMock, api: TrelloApi) -> None:
    """A body that claims to be JSON but is not: ``BadResponse``."""
    mocked.get(BOARD_URL, body="{not json", content_type=JSON_TYPE)
    with pytest.raises(BadResponse, match="not valid JSON"):
        api.get("boards/abc")


@pytest.mark.parametrize(
    ("content_type", "status", "error"),
    [(JSON_TYPE, 200, BadResponse), ("text/plain", 200, BadResponse), (JSON_TYPE, 500, None)],
)
def test_json_nested_past_the_stack_is_a_bad_response_not_a_crash(
    mocked: responses.RequestsMock,
    api: TrelloApi,
    content_type: str,
    status: int,
    error: type[ApiError] | None,
) -> None:
    """A body nested deeper than Python's stack (a wrong --api-url, a hostile proxy) raised
    RecursionError through the command line: now ``BadResponse``, or the status's own error."""
    mocked.get(BOARD_URL, body="[" * 5000, content_type=content_type, status=status)
    with pytest.raises(error or ApiUnreachable):
        api.get("boards/abc")


def test_json_without_a_content_type_is_accepted(
    mocked: responses.RequestsMock, api: TrelloApi
) -> None:
    """A JSON body with a wrong content type still parses."""
    mocked.get(BOARD_URL, body='{"id": "abc"}', content_type="text/plain")
    assert api.get("boards/abc") == {"id": "abc"}


@pytest.mark.parametrize("status", [201, 202, 203])
def test_other_2xx_is_a_success(
    mocked: responses.RequestsMock, api: TrelloApi, status: int
) -> None:
    """Every 2xx is a success (Trello answered 202 Accepted for a while in 2025, TRELLO-218085),
    for reads, py-trello's own reads and writes alike: the body is the answer, nothing is
    retried, and a read answered so is not taken from the cache next time."""
    mocked.get(BOARD_URL, json={"id": "abc"}, status=status)
    assert api.get("boards/abc", max_age=600) == {"id": "abc"}
    assert api.get("boards/abc", max_age=600) == {"id": "abc"}
    assert (len(mocked.calls), api.cache_hits) == (2, 0)
    members = [{"id": "m1", "username": "ann"}]
    mocked.post(f"{DEFAULT_API_URL}/cards/c1/idMembers", json=members, status=status)
    assert api.add_card_member("c1", MemberStandIn("m1")) is None  # py-trello returns nothing
    mocked.put(f"{DEFAULT_API_URL}/boards/b1/members/m1", json={"id": "b1"}, status=status)
    assert api.add_board_member("b1", MemberStandIn("m1"), "normal") == {"id": "b1"}
    assert api.client.fetch_json("boards/abc") == {"id": "abc"}


def test_a_2xx_without_a_body_is_a_success(mocked: responses.RequestsMock, api: TrelloApi) -> None:
    """204 No Content (or any empty 2xx but 200) is a success with no value, not bad JSON."""
    mocked.delete(f"{DEFAULT_API_URL}/cards/c1/idMembers/m1", body="", status=204)
    assert api.remove_card_member("c1", MemberStandIn("m1")) is None
    mocked.get(BOARD_URL, body="", status=202)
    assert api.get("boards/abc") is None


def test_a_write_s_200_without_a_body_is_not_a_write_done(
    mocked: responses.RequestsMock, api: TrelloApi
) -> None:
    """Trello answers a write's 200 with JSON; a bare 200 (a proxy, a gateway) does not say the
    write was made: it is a bad answer, the change failed, and a rerun finds it done or does it
    (R45e: taken for a success, a proxy that sent no write made every change "applied")."""
    mocked.delete(f"{DEFAULT_API_URL}/cards/c1/idMembers/m1", body="", status=200)
    with pytest.raises(BadResponse, match="instead of JSON"):
        api.remove_card_member("c1", MemberStandIn("m1"))
    mocked.put(f"{DEFAULT_API_URL}/boards/b1/members/m1", body="", status=200)
    with pytest.raises(BadResponse, match="instead of JSON"):
        api.add_board_member("b1", MemberStandIn("m1"), "normal")
    url = f"{DEFAULT_API_URL}/cards/c1/idMembers"
    mocked.post(url, body="", status=200, content_type="application/json")
    with pytest.raises(BadResponse, match="not valid JSON"):
        api.add_card_member("c1", MemberStandIn("m1"))


def test_trello_s_texts_under_an_html_label_through_the_client(
    mocked: responses.RequestsMock, api: TrelloApi
) -> None:
    """The transport reads Trello's plain-text refusals labelled ``text/html`` as it reads them
    labelled ``text/plain``: a board refusal is about rights, not the token, and "already on
    the card" is Trello's text (R71b)."""
    html = "text/html; charset=utf-8"
    mocked.get(BOARD_URL, body="unauthorized permission requested", status=401, content_type=html)
    with pytest.raises(PermissionDenied, match=r"\(unauthorized permission requested\)"):
        api.get("boards/abc")
    url = f"{DEFAULT_API_URL}/cards/c1/idMembers"
    mocked.post(url, body="member is already on the card", status=400, content_type=html)
    with pytest.raises(BadRequest) as info:
        api.add_card_member("c1", MemberStandIn("m1"))
    assert info.value.trello_error == "member is already on the card"


@pytest.mark.parametrize(
    "body", ["\ufeff<html><body>denied</body></html>", "\u00a0<html><body>denied</body></html>"]
)
def test_an_html_page_without_a_charset_is_dropped_after_a_bom_or_a_space(
    mocked: responses.RequestsMock, api: TrelloApi, body: str
) -> None:
    """An error body of a text type without a charset is read as UTF-8, as Trello sends it, not
    as requests' ISO-8859-1: a proxy's page after a byte order mark or a no-break space is
    still a page, dropped, not shown as Trello's text (R72a: ``ï»¿<html>…``, and a 401 read as
    a board refusal)."""
    raw = body.encode()
    mocked.get(BOARD_URL, body=raw, status=401, content_type="text/html")
    with pytest.raises(AuthError) as info:
        api.get("boards/abc")
    assert info.value.trello_error == ""
    assert "(HTTP 401)" in str(info.value)
    text = "Zugriff verweigert für dieses Board"
    mocked.replace(
        responses.GET, BOARD_URL, body=text.encode(), status=400, content_type="text/plain"
    )
    with pytest.raises(BadRequest) as refused:
        api.get("boards/abc")
    assert refused.value.trello_error == text


@pytest.mark.parametrize(
    "text",
    [
        "Access denied: you do not have permission to use this proxy",
        "Proxy authentication failed for organization ACME",
    ],
)
def test_a_401_that_only_mentions_permission_is_about_credentials(text: str) -> None:
    """Only Trello's own rights texts (``unauthorized permission requested``, ``unauthorized
    member permission requested.``, ``unauthorized organization.``) make a 401 a refusal of
    rights; a proxy's text that mentions permission is not "ask a board admin" (R72a)."""
    err = error_for_response(401, text, path="members/me")
    assert type(err) is AuthError
    assert err.trello_error == text


def test_403_is_permission_denied(mocked: responses.RequestsMock, api: TrelloApi) -> None:
    """403 (not retried): ``PermissionDenied`` naming the board."""
    mocked.get(BOARD_URL + "/actions", body="API will not allow that", status=403)
    with pytest.raises(PermissionDenied, match=r"^the token's member cannot read board abc "):
        api.get("boards/abc/actions")
    assert len(mocked.calls) == 1


def test_401_permission_on_a_write(mocked: responses.RequestsMock, api: TrelloApi) -> None:
    """A write refused for rights: ``PermissionDenied`` saying it cannot *change* the card."""
    url = f"{DEFAULT_API_URL}/cards/c1/idMembers"
    mocked.post(url, body="unauthorized permission requested", status=401)
    with pytest.raises(PermissionDenied, match=r"cannot change card c1 \(unauthorized"):
        api.client.fetch_json("cards/c1/idMembers", http_method="POST", post_args={"value": "m"})


def test_429_code_and_retry_after_land_in_the_error(
    mocked: responses.RequestsMock, api: TrelloApi
) -> None:
    """A 429's JSON ``error`` code becomes ``trello_error``, ``Retry-After`` ``retry_after``."""
    body = {"error": "API_KEY_LIMIT_EXCEEDED", "message": "Rate limit exceeded"}
    mocked.get(BOARD_URL, json=body, status=429, headers={"Retry-After": "0"})
    with pytest.raises(RateLimited) as info:
        api.get("boards/abc")
    err = info.value
    assert (err.status, err.trello_error, err.retry_after) == (429, "API_KEY_LIMIT_EXCEEDED", 0.0)
    assert len(mocked.calls) == 3


def test_429_then_success(mocked: responses.RequestsMock, api: TrelloApi) -> None:
    """A 429 followed by a 200: the read succeeds on the second attempt."""
    mocked.get(BOARD_URL, json={"error": "API_TOKEN_LIMIT_EXCEEDED"}, status=429)
    mocked.get(BOARD_URL, json={"id": "abc"})
    assert api.get("boards/abc") == {"id": "abc"}
    assert api.requests_sent == 2


def test_credentials_echoed_by_an_answer_are_blanked(
    mocked: responses.RequestsMock, api: TrelloApi
) -> None:
    """An answer that repeats the token (an echoing proxy) does not carry it into the error."""
    mocked.get(BOARD_URL, body=f"bad header OAuth oauth_token={TOKEN} key {KEY}", status=400)
    with pytest.raises(BadRequest) as info:
        api.get("boards/abc")
    for text in (str(info.value), info.value.trello_error):
        assert TOKEN not in text
        assert KEY not in text
        assert "[redacted]" in text


#: A token of an older form (64 hex digits, not "ATTA…"): blanked as the run's secret, not
#: by its shape.
OLD_TOKEN = "9f" * 32


@pytest.mark.parametrize(
    "echo",
    [
        pytest.param(lambda t: t.lower(), id="lower-case"),
        pytest.param(lambda t: t.upper(), id="upper-case"),
        pytest.param(lambda t: t[:20], id="cut-short"),
        pytest.param(lambda t: f"{t[:30]}\n{t[30:]}", id="split-by-a-line-break"),
    ],
)
@pytest.mark.parametrize("status", [400, 500])
def test_a_write_error_keeps_no_echo_of_the_token(
    mocked: responses.RequestsMock, tmp_path: Path, echo: Any, status: int
) -> None:
    """R57d: a proxy that echoes the Authorization header into a write's error, in another
    case, cut short or split, put the token into the per-change result, the report and the
    journal (only the exact value was blanked there; the log blanked all of these)."""
    url = f"{DEFAULT_API_URL}/cards/c1/idMembers"
    body = f'you sent oauth_consumer_key="{echo(KEY)}", oauth_token="{echo(OLD_TOKEN)}"'
    mocked.post(url, body=body, status=status)
    settings = ApiSettings(KEY, OLD_TOKEN, cache_dir=tmp_path / "c")
    with TrelloApi(settings) as api, pytest.raises(ApiError) as info:
        api.add_card_member("c1", MemberStandIn("m1"))
    for text in (str(info.value), info.value.trello_error):
        low = text.lower()
        assert "[redacted]" in text
        for secret in (KEY, OLD_TOKEN):
            assert secret[:12] not in low
            assert secret[-12:] not in low


def test_plain_http_to_another_host_warns(caplog: pytest.LogCaptureFixture) -> None:
    """The token would travel unencrypted: a warning (loopback, as for the sandbox, is quiet)."""
    with TrelloApi(ApiSettings(KEY, TOKEN, api_url="http://trello.example.com/1")):
        pass
    with TrelloApi(ApiSettings(KEY, TOKEN, api_url="http://127.0.0.1:9/1")):
        pass
    warnings = [r.getMessage() for r in caplog.records if r.levelno == logging.WARNING]
    assert warnings == [
        "the API URL trello.example.com is plain http: the token travels unencrypted"
    ]


def test_closed_api_refuses_reads(api: TrelloApi) -> None:
    """``close`` is final (and may be called twice)."""
    api.close()
    api.close()
    with pytest.raises(RuntimeError, match="closed"):
        api.get("boards/abc")


@pytest.mark.parametrize(
    ("path", "body", "fifteen"),
    [
        ("members/me", "", True),
        ("members/5f0c0c0c0c0c0c0c0c0c0c0c", "", True),
        ("boards/abc/actions", _body({"error": "MEMBER_LIMIT_EXCEEDED"}), True),
        (
            "boards/abc",
            _body({"message": "Exceeded rate limit to /1/member", "error": "RATE_LIMIT_EXCEEDED"}),
            True,
        ),
        ("members/me/boards", "", False),
        ("boards/abc/actions", _body({"error": "API_TOKEN_LIMIT_EXCEEDED"}), False),
        # members/me answered with the token's or the key's 10 s limit (a storm, another
        # program): that limit, not the route's (R30b).
        ("members/me", _body({"error": "API_TOKEN_LIMIT_EXCEEDED"}), False),
        ("members/me", _body({"error": "API_KEY_LIMIT_EXCEEDED"}), False),
        ("members/me", _body({"error": "UNKNOWN_EXTENSION_LIMIT_EXCEEDED"}), False),
        ("members/me", _body({"error": "API_TOKEN_DB_LIMIT_EXCEEDED"}), False),
    ],
)
def test_a_429_on_the_members_route_says_to_wait_fifteen_minutes(
    path: str, body: str, fifteen: bool
) -> None:
    """Trello's /1/members/ limit is 100 requests per 900 s (each run reads members/me once):
    "wait a minute" was wrong there (a new-user review saw every run fail after ~100 runs in
    a row); other 429s keep the minute."""
    err = error_for_response(429, body, path=path)
    assert err is not None
    message = str(err)
    assert ("wait up to 15 minutes" in message) == fifteen, message
    assert ("wait a minute" in message) == (not fifteen), message
    assert "\n" not in message


def test_a_missing_ca_bundle_is_said_as_such(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    """R57d: ``REQUESTS_CA_BUNDLE`` naming no file made requests raise a plain ``OSError``
    before sending, which the command line took for its own output failing ("cannot write
    the output: OSError", exit 2). It is the API that cannot be reached, and why; no retry."""
    monkeypatch.setenv("REQUESTS_CA_BUNDLE", str(tmp_path / "no-such-bundle.pem"))
    with TrelloApi(ApiSettings(KEY, TOKEN, api_url="https://127.0.0.1:9/1")) as api:
        with pytest.raises(ApiUnreachable) as info:
            api.get("boards/abc")
        assert api.requests_sent == 1
    assert str(info.value) == (
        "cannot reach the Trello API at 127.0.0.1:9 (Could not find a suitable TLS CA "
        f"certificate bundle, invalid path: {tmp_path / 'no-such-bundle.pem'}): check "
        "REQUESTS_CA_BUNDLE and CURL_CA_BUNDLE, which must name a file that exists"
    )
