"""The HTTP boundary: the only module that imports ``requests``, ``requests_cache`` and ``trello``
(py-trello). Everything above it sees parsed JSON and the typed errors of ``errors.py``.

A read travels down these layers (trello-api-notes.md §11, §12; style.md habits 2, 6, 7):

1. ``TrelloApi.get`` checks the path, turns ``max_age`` into a ``Cache-Control`` directive for the
   local cache (``cache_directive``) and calls py-trello's ``fetch_json``.
2. ``_Client.fetch_json`` (a ``TrelloClient``) builds the request on py-trello's fixed
   ``https://api.trello.com/1/`` base; credentials ride in the ``Authorization`` header set by
   ``_OAuthHeader``, never in the URL. A success that is not JSON becomes ``BadResponse``.
3. ``_TransportMixin.request`` (the injected ``http_service``) rewrites the base to
   ``ApiSettings.api_url``, sets the timeouts, retries reads (GET only) on 429, 5xx and
   connection trouble, and raises the typed error that ``error_for_response`` /
   ``error_for_exception`` decide on. Writes get one attempt and the same typed errors. Every
   2xx is a success, for reads and writes: Trello answered ``202 Accepted`` for a while in 2025
   (TRELLO-218085, trello-api-notes.md §13.3), and py-trello's ``fetch_json`` accepts only
   200, so another 2xx reaches it as 200 (``_as_success``).
4. ``requests_cache.CacheMixin`` (only with a ``cache_dir``): one SQLite file per account.
5. ``_NetworkAdapter.send``: the wire. It waits for the shared ``RateLimiter`` (when there is
   one), counts the requests really sent and drops the local cache directive so that it is not
   sent to Trello. Cache hits never get this far, so they cost no rate budget; every retry does.

A 429 answer (``_TransportMixin._attempt``) is a rate limit whatever its body says (Trello's
usual ``API_TOKEN_LIMIT_EXCEEDED``, ``UNKNOWN_EXTENSION_LIMIT_EXCEEDED``, an unknown code, an
empty or HTML body: notes §13.4); it is counted and penalizes the shared limiter for one
window, so every thread slows down, not just the one that got it. Every answer's
``x-rate-limit-api-token-*`` headers tell the limiter how much of the window Trello counts as
used, so requests it did not send (a plan fetched just before, another process) count too.

Threads: ``requests.Session`` makes no thread-safety promise (psf/requests#2766; its maintainers
advise one session per thread, #1871), so each thread that uses a ``TrelloApi`` gets its own
session and py-trello client (``TrelloApi.client``), all sharing the counters and the limiter.

Writes (``add_card_member``, ``add_board_member``, ``remove_card_member``,
``remove_board_member``) go through py-trello's ``Card``/``Board`` objects, built without
fetching anything, with ``MemberStandIn`` namedtuples where py-trello wants a member (it reads
only ``.id``; notes §11.6). They get one attempt: the applier decides about retrying a write.

The decisions (``error_for_response``, ``error_for_exception``, ``retry_delay``,
``cache_directive``) are pure functions; the classes only carry them out, and the applier can
reuse them for its own write retries.
"""

from __future__ import annotations

import hashlib
import json
import logging
import math
import os
import random
import re
import sqlite3
import threading
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from types import TracebackType
from typing import TYPE_CHECKING, Any, NamedTuple, Self
from urllib.parse import urlsplit

import requests
import trello
import urllib3.exceptions
from requests.adapters import HTTPAdapter
from requests.auth import AuthBase
from requests_cache import DEFAULT_IGNORED_PARAMS, CachedSession
from requests_cache.backends.sqlite import SQLiteCache

from trello_restore import __version__
from trello_restore.errors import (
    ApiError,
    ApiUnreachable,
    AuthError,
    BadRequest,
    BadResponse,
    ConfigError,
    NotFound,
    PermissionDenied,
    RateLimited,
)
from trello_restore.limiter import RateLimiter

__all__ = [
    "DEFAULT_API_URL",
    "DEFAULT_CACHE_EXPIRE_S",
    "IGNORED_PARAMETERS",
    "ApiSettings",
    "MemberStandIn",
    "TrelloApi",
    "cache_directive",
    "cache_file_name",
    "certainly_not_applied",
    "error_for_exception",
    "error_for_response",
    "retry_delay",
]

logger = logging.getLogger(__name__)

DEFAULT_API_URL = "https://api.trello.com/1"
#: How long a cached answer is kept at most; ``max_age`` above it is capped to it. One day, so
#: that the fetcher's older history pages (``fetcher.HISTORY_MAX_AGE``) can come from the cache.
DEFAULT_CACHE_EXPIRE_S = 24 * 3600.0
#: Query parameters and headers that never reach the cache: requests-cache's defaults (which
#: include ``Authorization``) plus Trello's query credentials and every OAuth parameter. They are
#: left out of cache keys and replaced with ``REDACTED`` in what is stored.
IGNORED_PARAMETERS: tuple[str, ...] = (
    *DEFAULT_IGNORED_PARAMS,
    "key",
    "token",
    "oauth_consumer_key",
    "oauth_token",
    "oauth_signature",
    "oauth_signature_method",
    "oauth_nonce",
    "oauth_timestamp",
    "oauth_version",
)
#: The base py-trello puts in front of every path (``fetch_json`` hardcodes it).
_PYTRELLO_BASE = "https://api.trello.com/1/"
#: The longest wait between two attempts for 5xx and connection errors.
MAX_BACKOFF_S = 60.0
#: The longest ``Retry-After`` honoured (a larger one is treated as this).
MAX_RETRY_AFTER_S = 900.0
#: Characters an API key or token may have: printable ASCII without quotes, commas, backslashes.
_CREDENTIAL_RE = re.compile(r"^[!#-+\--\[\]-~]+$")
#: ``/1/members/{id}`` itself (not nested routes): its own 100 per 900 s limit (design.md §2).
_MEMBER_BY_ID_RE = re.compile(r"^members/([^/]+)/?$")
#: Paths whose second segment is the id of a board, card, list, … (for messages).
_OBJECT_PATH_RE = re.compile(
    r"^(board|card|list|organization|action|checklist|label)s/([^/]+)(?:/.*)?$"
)


# --------------------------------------------------------------------------------- settings


@dataclass(frozen=True)
class ApiSettings:
    """How to reach Trello, with whose credentials, and how patiently. Holds no behaviour."""

    #: The API key (``TRELLO_API_KEY``). Kept out of ``repr`` like the token.
    key: str = field(repr=False)
    #: The token (``TRELLO_TOKEN``): never in ``repr``, logs, URLs or the cache.
    token: str = field(repr=False)
    #: Any Trello-compatible base, e.g. the sandbox's ``http://127.0.0.1:PORT/1``.
    api_url: str = DEFAULT_API_URL
    #: Where the SQLite cache files live; None for no HTTP cache at all.
    cache_dir: Path | None = None
    #: Seconds to wait for a connection.
    connect_timeout: float = 5.0
    #: Seconds to wait for an answer (between bytes).
    read_timeout: float = 30.0
    #: Retries of a read after a 429, a 5xx or a connection error (attempts = retries + 1).
    read_retries: int = 5
    #: Backoff base in seconds: ``backoff_s * 2**n`` with jitter, at most ``MAX_BACKOFF_S``.
    backoff_s: float = 1.0
    #: Trello's rate-limit window: a 429 waits at least this long before the next attempt.
    rate_window_s: float = 10.0
    #: How long a cached answer is kept; also the ceiling of ``max_age``.
    cache_expire_s: float = DEFAULT_CACHE_EXPIRE_S
    #: The client-side rate limiter every request sent over the network waits for (shared by
    #: all threads and sessions); None for none. ``TrelloApi.use_limiter`` can set it later.
    limiter: RateLimiter | None = field(default=None, repr=False, compare=False)

    def __post_init__(self) -> None:
        """Refuse numbers no run could work with (ValueError: a programming error)."""
        for name in ("connect_timeout", "read_timeout", "cache_expire_s"):
            if not getattr(self, name) > 0:
                raise ValueError(f"{name} must be positive")
        for name in ("read_retries", "backoff_s", "rate_window_s"):
            if getattr(self, name) < 0:
                raise ValueError(f"{name} must not be negative")

    @property
    def host(self) -> str:
        """``host[:port]`` of ``api_url`` (never a user name or password), for messages."""
        return _host(self.api_url)


# ---------------------------------------------------------------------- pure decisions


def cache_file_name(key: str, token: str) -> str:
    """The account's cache file name: a hash of key and token, never the values themselves."""
    digest = hashlib.sha256(f"{key}:{token}".encode()).hexdigest()[:16]
    return f"http-{digest}.sqlite"


def cache_directive(max_age: float | None, expire_s: float) -> str:
    """The request ``Cache-Control`` that lets requests-cache use only answers younger than
    ``max_age`` seconds, given that every entry is stored to expire ``expire_s`` after it was
    fetched.

    requests-cache 1.3 judges a cached answer by its stored expiry, and a request's ``max-age``
    only sets the expiry of what gets stored. ``min-fresh=expire_s - max_age`` asks for an entry
    that still has that long to live, i.e. one fetched less than ``max_age`` ago (rounded down to
    whole seconds); ``min-fresh=0`` takes any unexpired entry. None or 0 means ``no-cache``:
    always fetch, and store the new answer.
    """
    if max_age is None or max_age <= 0:
        return "no-cache"
    return f"min-fresh={max(math.ceil(expire_s - max_age), 0)}"


def error_for_response(
    status: int,
    body: str,
    *,
    content_type: str = "",
    method: str = "GET",
    path: str = "",
    api_url: str = DEFAULT_API_URL,
    attempts: int = 1,
    retry_after: float | None = None,
) -> ApiError | None:
    """The typed error for an answer that is not a success, or None for a 2xx.

    ``path`` is relative to the API base (``boards/abc/actions``); ``attempts`` is how many were
    made (retries included). Statuses (trello-api-notes.md §4): 401 is ``AuthError``, except the
    ``unauthorized … permission / organization`` texts, which are ``PermissionDenied`` like
    403; 404 ``NotFound``; 429 ``RateLimited``; 408 and 5xx ``ApiUnreachable``; other 4xx
    ``BadRequest``; anything else ``BadResponse``. The error carries the status and Trello's
    error text or code (``trello_error``); its message is one line with the advice.
    """
    if 200 <= status < 300:
        return None
    text = _trello_error_text(body, content_type)
    said = f" ({text})" if text else f" (HTTP {status})"
    thing = _describe(path)
    after = f" after {attempts} attempts" if attempts > 1 else ""
    host = _host(api_url)
    if status == 401 and not _is_permission_text(text):
        return AuthError(
            f"Trello rejected the API key or token{said}: check TRELLO_API_KEY and TRELLO_TOKEN "
            "(a token can be revoked or expire, and must belong to the key)",
            status,
            text,
        )
    if status in (401, 403):
        verb = "read" if method.upper() == "GET" else "change"
        return PermissionDenied(
            f"the token's member cannot {verb} {thing}{said}: ask a board admin to add them to "
            "the board, or use the token of a member who can",
            status,
            text,
        )
    if status == 404:
        return NotFound(
            f"Trello found no {thing}{said}: check the id, that the token's member can see it, "
            "and --api-url",
            status,
            text,
        )
    if status == 429:
        return RateLimited(
            f"Trello kept rate limiting{after}{said}: wait a minute and run again, and check that "
            "no other program is using the same API key or token",
            status,
            text,
            retry_after,
        )
    if status == 408 or 500 <= status < 600:
        return ApiUnreachable(
            f"the Trello API at {host} answered HTTP {status}{after}"
            f"{' (' + text + ')' if text else ''}: Trello may be having trouble; try again later, "
            "or check --api-url / TRELLO_API_URL",
            status,
            text,
        )
    if 400 <= status < 500:
        return BadRequest(f"Trello refused {method.upper()} {thing}{said}", status, text)
    return BadResponse(
        f"the API at {host} answered {method.upper()} {thing} with HTTP {status}, which Trello "
        "never does: check --api-url / TRELLO_API_URL",
        status,
        text,
    )


def error_for_exception(
    exc: requests.RequestException,
    *,
    method: str = "GET",
    path: str = "",
    api_url: str = DEFAULT_API_URL,
    attempts: int = 1,
) -> tuple[ApiError, bool]:
    """``(error, retryable)`` for a request that got no usable answer at all.

    The message names the API host and the kind of failure, decided from the exception's
    *types* (requests and urllib3 texts include URLs, so they are never copied into it).
    TLS failures and bad URLs are not worth retrying; the rest is.
    """
    host = _host(api_url)
    after = f" after {attempts} attempts" if attempts > 1 else ""
    retryable = True
    chain = _exception_chain(exc)
    if isinstance(exc, requests.exceptions.TooManyRedirects):
        return (
            BadResponse(
                f"the API at {host} answered {method.upper()} {_describe(path)} with a redirect "
                "loop: check --api-url / TRELLO_API_URL"
            ),
            False,
        )
    if isinstance(exc, requests.exceptions.SSLError):
        reason, retryable = "TLS failed: certificate or protocol problem", False
    elif isinstance(exc, requests.exceptions.ProxyError):
        reason = "the proxy refused or failed"
    elif isinstance(exc, requests.exceptions.ConnectTimeout):
        reason = "timed out connecting"
    elif isinstance(exc, requests.exceptions.ReadTimeout):
        reason = "timed out waiting for an answer"
    elif isinstance(
        exc, requests.exceptions.ChunkedEncodingError | requests.exceptions.ContentDecodingError
    ):
        reason = "the connection broke during the answer"
    elif any(isinstance(e, urllib3.exceptions.NameResolutionError) for e in chain):
        reason = "the host name does not resolve"
    elif any(isinstance(e, urllib3.exceptions.NewConnectionError) for e in chain):
        reason = "cannot connect"
    elif any(isinstance(e, urllib3.exceptions.ProtocolError) for e in chain):
        reason = "the connection was closed without an answer"
    elif isinstance(exc, requests.exceptions.ConnectionError):
        reason = "connection failed"
    elif isinstance(exc, ValueError):  # InvalidURL, MissingSchema, InvalidSchema, …
        reason, retryable = "the URL is not valid", False
    else:
        reason = f"request failed ({type(exc).__name__})"
    return (
        ApiUnreachable(
            f"cannot reach the Trello API at {host} ({reason}){after}: check the network "
            "connection, or --api-url / TRELLO_API_URL"
        ),
        retryable,
    )


def retry_delay(error: ApiError, attempt: int, settings: ApiSettings, rand: float) -> float | None:
    """Seconds to wait before the next attempt after ``error``, or None if it is not worth one.

    ``attempt`` counts the failed attempts before this one (0 after the first failure);
    ``rand`` is uniform in [0, 1) and spreads concurrent clients apart (jitter). A 429 waits the
    rate window (or the ``Retry-After``, when longer, up to ``MAX_RETRY_AFTER_S``) plus up to
    ``backoff_s``; 5xx and connection errors wait ``backoff_s * 2**attempt`` (at most
    ``MAX_BACKOFF_S``), of which a random half. Other errors are not retried.
    """
    if isinstance(error, RateLimited):
        asked = min(error.retry_after or 0.0, MAX_RETRY_AFTER_S)
        return max(settings.rate_window_s, asked) + rand * settings.backoff_s
    if isinstance(error, ApiUnreachable):
        base = min(settings.backoff_s * 2.0**attempt, MAX_BACKOFF_S)
        return base / 2 + rand * base / 2
    return None


def certainly_not_applied(error: ApiError) -> bool:
    """True when a write that failed with ``error`` certainly did not reach Trello's data.

    A 429 is refused before any processing, and a connection that was never established (or
    a host that did not resolve) carried nothing. After a 5xx, a read timeout or a connection
    dropped mid-answer the write may well have happened: a retry answered "already on the
    card" is then this tool's own doing (design.md §5, "Who added it"). Any other answer
    (4xx) is Trello's decision about the write itself.
    """
    if isinstance(error, RateLimited):
        return True
    if not isinstance(error, ApiUnreachable) or error.status is not None:
        return False
    cause = error.__cause__
    if not isinstance(cause, requests.RequestException):
        return False
    if isinstance(cause, requests.exceptions.ConnectTimeout):
        return True
    chain = _exception_chain(cause)
    return any(
        isinstance(
            e, urllib3.exceptions.NewConnectionError | urllib3.exceptions.NameResolutionError
        )
        for e in chain
    )


# ------------------------------------------------------------------------------- helpers


def _host(api_url: str) -> str:
    try:
        parts = urlsplit(api_url)
    except ValueError:  # e.g. an unclosed IPv6 bracket
        return "?"
    host = parts.hostname or "?"
    if ":" in host:
        host = f"[{host}]"
    try:
        port = parts.port
    except ValueError:
        port = None
    return f"{host}:{port}" if port else host


def _one_line(text: str, limit: int = 200) -> str:
    line = " ".join(text.split())
    return line if len(line) <= limit else line[: limit - 1] + "…"


def _trello_error_text(body: str, content_type: str) -> str:
    """Trello's error code or text from an error body: the ``error`` code of a JSON body
    (``API_TOKEN_LIMIT_EXCEEDED``), else its ``message``; a plain-text body as one line; nothing
    from HTML pages (proxies and load balancers)."""
    stripped = body.strip()
    if stripped.startswith("{"):
        try:
            data = json.loads(stripped)
        except ValueError:
            data = None
        if isinstance(data, dict):
            code, message = data.get("error"), data.get("message") or data.get("originalMessage")
            if isinstance(code, str) and code and code.upper() != "ERROR":
                return _one_line(code)
            if isinstance(message, str) and message:
                return _one_line(message)
            return _one_line(code) if isinstance(code, str) else ""
    if "html" in content_type.lower() or stripped.startswith("<"):
        return ""
    return _one_line(stripped)


def _is_permission_text(text: str) -> bool:
    """A 401 that is about rights, not credentials (``unauthorized permission requested``,
    ``unauthorized member permission requested.``, ``unauthorized organization.``)."""
    lowered = text.lower()
    return "permission" in lowered or "organization" in lowered


def _describe(path: str) -> str:
    """``board 5f…`` for ``boards/5f…/actions``; the path itself otherwise."""
    path = path.split("?", 1)[0].strip("/")
    found = _OBJECT_PATH_RE.match(path)
    if found:
        return f"{found.group(1)} {found.group(2)}"
    return f"/{path}" if path else "the API root"


def _exception_chain(exc: BaseException) -> list[BaseException]:
    """The exception, what it wraps (``args``, urllib3 ``reason``) and its causes."""
    seen: list[BaseException] = []
    todo: list[BaseException] = [exc]
    while todo and len(seen) < 20:
        e = todo.pop()
        if any(e is s for s in seen):
            continue
        seen.append(e)
        todo.extend(a for a in e.args if isinstance(a, BaseException))
        reason = getattr(e, "reason", None)
        if isinstance(reason, BaseException):
            todo.append(reason)
        for linked in (e.__cause__, e.__context__):
            if linked is not None:
                todo.append(linked)
    return seen


def _parse_retry_after(value: str | None) -> float | None:
    """Seconds from a ``Retry-After`` header in its seconds form (the date form is ignored)."""
    if not value:
        return None
    try:
        seconds = float(value.strip())
    except ValueError:
        return None
    return seconds if seconds >= 0 and math.isfinite(seconds) else None


def _redact(text: str, secrets: tuple[str, ...]) -> str:
    """``text`` with every credential in it blanked out."""
    for secret in secrets:
        if secret:
            text = text.replace(secret, "***")
    return text


def _scrub(error: ApiError, secrets: tuple[str, ...]) -> ApiError:
    """Blank out any credential that an answer echoed back into the error's text."""
    message = str(error)
    for secret in secrets:
        if secret and (secret in message or secret in error.trello_error):
            message = message.replace(secret, "***")
            error.trello_error = error.trello_error.replace(secret, "***")
    error.args = (message,)
    return error


# ----------------------------------------------------------------------------- transport


class _Counters:
    """What all sessions of one ``TrelloApi`` share: the rate limiter, and counts of requests
    sent over the network, answers served from the cache and 429s received (thread-safe)."""

    def __init__(self, limiter: RateLimiter | None = None) -> None:
        self._lock = threading.Lock()
        self.limiter = limiter
        self.sent = 0
        self.hits = 0
        self.rate_limited = 0

    def count_sent(self) -> None:
        with self._lock:
            self.sent += 1

    def count_hit(self) -> None:
        with self._lock:
            self.hits += 1

    def observe_rate(self, headers: Mapping[str, str]) -> None:
        """Tell the limiter how much of the token's window Trello counts as used (its
        ``x-rate-limit-api-token-*`` headers), so traffic it did not send counts too."""
        limiter = self.limiter
        if limiter is None:
            return
        try:
            used = int(headers["x-rate-limit-api-token-max"]) - int(
                headers["x-rate-limit-api-token-remaining"]
            )
        except (KeyError, ValueError):
            return
        limiter.observe(used)

    def count_rate_limited(self, retry_after: float | None) -> None:
        """A 429: count it, and make every thread wait a window (or the ``Retry-After``)."""
        with self._lock:
            self.rate_limited += 1
        limiter = self.limiter
        if limiter is not None:
            limiter.penalize(max(limiter.window_s, min(retry_after or 0.0, MAX_RETRY_AFTER_S)))


class _OAuthHeader(AuthBase):
    """``Authorization: OAuth oauth_consumer_key="…", oauth_token="…"``: Trello's documented
    header form (design.md §6). Unsigned: Trello tokens have no secret to sign with."""

    def __init__(self, key: str, token: str) -> None:
        self._value = f'OAuth oauth_consumer_key="{key}", oauth_token="{token}"'

    def __call__(self, r: requests.PreparedRequest) -> requests.PreparedRequest:
        r.headers["Authorization"] = self._value
        return r

    def __repr__(self) -> str:
        return "<_OAuthHeader>"


class _NetworkAdapter(HTTPAdapter):
    """The wire: counts what is really sent, keeps local cache directives off it, and names the
    tool in the User-Agent."""

    def __init__(self, counters: _Counters) -> None:
        super().__init__()
        self._counters = counters

    def send(
        self, request: requests.PreparedRequest, *args: Any, **kwargs: Any
    ) -> requests.Response:
        # The directive is for our own cache (cache_directive); Trello has no use for it.
        request.headers.pop("Cache-Control", None)
        agent = request.headers.get("User-Agent") or ""
        if not str(agent).startswith("trello-restore/"):
            request.headers["User-Agent"] = f"trello-restore/{__version__} {agent}".strip()
        limiter = self._counters.limiter
        if limiter is not None:
            limiter.acquire()
        self._counters.count_sent()
        return super().send(request, *args, **kwargs)


if TYPE_CHECKING:
    _SessionBase = requests.Session
else:
    _SessionBase = object


class _TransportMixin(_SessionBase):
    """What py-trello's ``http_service`` does on top of a requests session: the base-URL
    rewrite, timeouts, read retries and typed errors. Mixed in front of ``requests.Session`` or
    ``requests_cache.CachedSession``."""

    def __init__(self, settings: ApiSettings, counters: _Counters, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self._settings = settings
        self._counters = counters
        self._base = settings.api_url.rstrip("/") + "/"
        self._rng = random.Random()
        self._secrets = (settings.key, settings.token)
        adapter = _NetworkAdapter(counters)
        self.mount("http://", adapter)
        self.mount("https://", adapter)

    def request(
        self, method: str | bytes, url: str | bytes, *args: Any, **kwargs: Any
    ) -> requests.Response:
        """Send one request, retrying reads; return a 2xx answer or raise an ``ApiError``."""
        method = method.decode() if isinstance(method, bytes) else method
        method = method.upper()
        url = self._rewrite(url.decode() if isinstance(url, bytes) else url)
        path = url[len(self._base) :]
        kwargs.setdefault("timeout", (self._settings.connect_timeout, self._settings.read_timeout))
        attempts = 1 + self._settings.read_retries if method == "GET" else 1
        for attempt in range(attempts):
            error, retryable, cause = self._attempt(method, url, path, attempt + 1, args, kwargs)
            if isinstance(error, requests.Response):
                return error
            error = _scrub(error, self._secrets)  # before it is logged or raised
            delay = (
                retry_delay(error, attempt, self._settings, self._rng.random())
                if retryable and attempt + 1 < attempts
                else None
            )
            if delay is None:
                raise error from cause
            logger.info(
                "%s %s: %s; retrying in %.2f s (attempt %d of %d)",
                method,
                path,
                f"HTTP {error.status} {error.trello_error}".strip()
                if error.status
                else type(cause).__name__,
                delay,
                attempt + 2,
                attempts,
            )
            time.sleep(delay)
        raise AssertionError("unreachable")  # pragma: no cover

    def _attempt(
        self,
        method: str,
        url: str,
        path: str,
        attempts: int,
        args: tuple[Any, ...],
        kwargs: dict[str, Any],
    ) -> tuple[requests.Response | ApiError, bool, BaseException | None]:
        """One try: ``(answer, _, _)`` on success, else ``(error, retryable, cause)``."""
        where = {"method": method, "path": path, "api_url": self._settings.api_url}
        try:
            response = super().request(method, url, *args, **kwargs)
        except requests.RequestException as exc:
            logger.debug("%s %s -> no answer (%s)", method, path, type(exc).__name__)
            error, retryable = error_for_exception(exc, attempts=attempts, **where)
            return error, retryable, exc
        from_cache = bool(getattr(response, "from_cache", False))
        if from_cache:
            self._counters.count_hit()
        logger.debug(
            "%s %s -> %s%s", method, path, response.status_code, " (cache)" if from_cache else ""
        )
        status = response.status_code
        if not from_cache:
            self._counters.observe_rate(response.headers)
        content_type = response.headers.get("Content-Type") or ""
        if 200 <= status < 300:
            if status != 200 and not response.content.strip():
                return _as_success(response, b"null"), False, None  # 204 No Content and kin
            if not _looks_like_json(response, content_type):
                return (
                    _not_json(response, content_type, method, path, self._settings),
                    False,
                    None,
                )
            return _as_success(response), False, None
        failure = error_for_response(
            status,
            # Blanked before the text is cut to one line: a cut inside an echoed credential
            # would leave a piece of it that the later scrub cannot recognise.
            _redact(response.text, self._secrets),
            content_type=content_type,
            attempts=attempts,
            retry_after=_parse_retry_after(response.headers.get("Retry-After")),
            **where,
        )
        assert failure is not None
        if isinstance(failure, RateLimited) and not from_cache:
            self._counters.count_rate_limited(failure.retry_after)
        return failure, isinstance(failure, RateLimited | ApiUnreachable), None

    def _rewrite(self, url: str) -> str:
        """py-trello's fixed base → ``api_url``; anything else outside ``api_url`` is refused,
        so credentials only ever go to the configured API."""
        if url.startswith(_PYTRELLO_BASE):
            url = self._base + url[len(_PYTRELLO_BASE) :]
        if not url.startswith(self._base):
            raise ValueError(f"refusing a request outside the API base: {url.split('?', 1)[0]}")
        return url


def _as_success(response: requests.Response, body: bytes | None = None) -> requests.Response:
    """A 2xx answer as py-trello's ``fetch_json`` wants a success: status 200 (it raises
    ``ResourceUnavailable`` for anything else, notes §11.3), and a JSON body (``null`` stands
    for an empty one). The status Trello really sent stays in ``reason``, e.g. ``Accepted``."""
    if response.status_code != 200:
        logger.debug("HTTP %s is a success: handed to py-trello as 200", response.status_code)
        response.status_code = 200
    if body is not None:
        response._content = body
    return response


def _looks_like_json(response: requests.Response, content_type: str) -> bool:
    if "json" in content_type.lower():
        return True
    try:
        json.loads(response.content)
    except ValueError:
        return False
    return True


def _not_json(
    response: requests.Response, content_type: str, method: str, path: str, settings: ApiSettings
) -> BadResponse:
    shown = content_type.split(";", 1)[0].strip() or "no content type"
    return BadResponse(
        f"the API at {settings.host} answered {method} {_describe(path)} with {shown} instead of "
        "JSON: check --api-url / TRELLO_API_URL (a proxy or a login page may be in the way)",
        response.status_code,
        _trello_error_text(_redact(response.text, (settings.key, settings.token)), content_type),
    )


class _PlainTransport(_TransportMixin, requests.Session):
    """The transport without an HTTP cache (``cache_dir=None``)."""


class _CachedTransport(_TransportMixin, CachedSession):  # type: ignore[misc]
    # (CacheMixin.request adds cache keywords that py-trello never passes; ours takes **kwargs.)
    """The transport over requests-cache (SQLite, one file per account)."""


def _cache_is_json(response: requests.Response) -> bool:
    """Only JSON answers are stored: a proxy's HTML page must not be served again."""
    return "json" in (response.headers.get("Content-Type") or "").lower()


def _open_cache_file(settings: ApiSettings) -> Path:
    """Create the cache directory (0700) and the account's cache file (0600) before SQLite
    opens it, so the file is never readable by others, whatever the umask."""
    assert settings.cache_dir is not None
    directory = settings.cache_dir.expanduser()
    path = directory / cache_file_name(settings.key, settings.token)
    try:
        directory.mkdir(mode=0o700, parents=True, exist_ok=True)
        flags = os.O_RDWR | os.O_CREAT | getattr(os, "O_NOFOLLOW", 0)
        os.close(os.open(path, flags, 0o600))
        path.chmod(0o600)
    except OSError as err:
        raise ConfigError(
            f"cannot create the HTTP cache in {directory} ({err.strerror or err}): "
            "check TRELLO_RESTORE_HOME and the directory's permissions"
        ) from err
    return path


def _make_session(settings: ApiSettings, counters: _Counters) -> _TransportMixin:
    """The ``http_service`` for py-trello: cached when ``cache_dir`` is set (style.md habit 7)."""
    if settings.cache_dir is None:
        return _PlainTransport(settings, counters)
    path = _open_cache_file(settings)
    try:
        return _open_cached_session(settings, counters, path)
    except sqlite3.DatabaseError as err:
        # Only a cache: a file SQLite cannot read is replaced by an empty one.
        logger.warning("the HTTP cache %s was unreadable (%s); starting a new one", path, err)
        path.unlink()
        return _open_cached_session(settings, counters, _open_cache_file(settings))


def _open_cached_session(
    settings: ApiSettings, counters: _Counters, path: Path
) -> _CachedTransport:
    session = _CachedTransport(
        settings,
        counters,
        cache_name=str(path),
        backend="sqlite",
        serializer="json",
        expire_after=settings.cache_expire_s,
        allowable_methods=("GET",),
        # Only 200s: another 2xx is rewritten to 200 after this layer (_as_success), so a
        # 202 Accepted is passed through but not stored; the next read asks again.
        allowable_codes=(200,),
        ignored_parameters=IGNORED_PARAMETERS,
        match_headers=False,
        cache_control=False,
        stale_if_error=False,
        filter_fn=_cache_is_json,
    )
    try:
        # Entries past their expiry are never used again; drop them (in SQL, no vacuum).
        if isinstance(session.cache, SQLiteCache):
            session.cache.delete(expired=True, vacuum=False)
    except BaseException:
        session.close()  # type: ignore[no-untyped-call]
        raise
    return session


# -------------------------------------------------------------------------------- client


class _Client(trello.TrelloClient):  # type: ignore[misc]  # py-trello has no type hints
    """py-trello's client over the transport: header credentials, typed errors for answers
    that are not JSON, and no look-ups of ``/1/members/{id}``."""

    def __init__(self, key: str, token: str, session: _TransportMixin) -> None:
        super().__init__(api_key=key, token=token, http_service=session)
        # Not py-trello's OAuth1 signing: Trello documents the plain header, and a non-None
        # ``oauth`` keeps fetch_json from adding ``key``/``token`` to the query string.
        self.oauth = _OAuthHeader(key, token)
        self._host = session._settings.host

    def fetch_json(
        self,
        uri_path: str,
        http_method: str = "GET",
        headers: dict[str, str] | None = None,
        query_params: dict[str, Any] | None = None,
        post_args: dict[str, Any] | None = None,
        files: Any = None,
    ) -> Any:
        """py-trello's ``fetch_json``; raises ``ApiError`` subclasses, never py-trello's own."""
        # Reads that do not say otherwise (py-trello's own helpers) are always fresh: only
        # TrelloApi.get(max_age=…) lets the cache answer.
        headers = dict(headers or {})
        if http_method.upper() == "GET":
            headers.setdefault("Cache-Control", "no-cache")
        member = _MEMBER_BY_ID_RE.match(uri_path.lstrip("/").split("?", 1)[0])
        if member and member.group(1) != "me":
            raise ValueError(
                "members are never looked up through /1/members/{id} (its own rate limit): "
                "use the member objects in actions and board memberships"
            )
        try:
            return super().fetch_json(
                uri_path,
                http_method=http_method,
                headers=headers,
                query_params=query_params,
                post_args=post_args,
                files=files,
            )
        except requests.exceptions.JSONDecodeError:
            raise BadResponse(
                f"the API at {self._host} answered {http_method} {_describe(uri_path)} with a "
                "body that is not valid JSON: check --api-url / TRELLO_API_URL",
                200,
            ) from None
        except trello.ResourceUnavailable as err:  # pragma: no cover - the transport raises first
            # The transport hands py-trello every 2xx as 200 and raises a typed error for the
            # rest, so py-trello's own refusal cannot happen; typed all the same if it does.
            status = getattr(err, "_status", None)
            raise BadResponse(
                f"the API at {self._host} answered {http_method} {_describe(uri_path)} with "
                f"HTTP {status}, which py-trello refused: check --api-url / TRELLO_API_URL",
                status if isinstance(status, int) else None,
            ) from None


class MemberStandIn(NamedTuple):
    """What py-trello's member writes read of a member: only ``id`` (notes §11.6). Stands in
    for ``trello.Member``, whose construction would tempt a ``/1/members/{id}`` look-up."""

    id: str
    username: str = ""
    full_name: str = ""


class TrelloApi:
    """Reads from and writes to Trello (or any Trello-compatible API) through py-trello, over
    sessions that cache, rate-limit, retry reads and raise typed errors. Thread-safe: each
    thread gets its own session. Use as a context manager, or call ``close``."""

    def __init__(self, settings: ApiSettings) -> None:
        """Check the credentials and the URL (no request is sent) and open the session.

        Raises ``AuthError`` for a missing or malformed key or token and ``ConfigError`` for an
        unusable ``api_url`` or cache directory.
        """
        _check_credentials(settings.key, settings.token)
        _check_api_url(settings.api_url)
        self.settings = settings
        self._counters = _Counters(settings.limiter)
        # The creating thread's session and client; other threads get their own (_thread_client).
        self._owner = threading.current_thread()
        self._session = _make_session(settings, self._counters)
        self._client = _Client(settings.key, settings.token, self._session)
        self._local = threading.local()
        self._others: list[tuple[threading.Thread, _TransportMixin]] = []
        self._others_lock = threading.Lock()
        self._me: dict[str, Any] | None = None
        self._me_lock = threading.Lock()
        self._closed = False

    @property
    def client(self) -> trello.TrelloClient:
        """py-trello's client over this thread's session (reads and writes)."""
        return self._thread_client()

    def _thread_client(self) -> _Client:
        if threading.current_thread() is self._owner:
            return self._client
        client: _Client | None = getattr(self._local, "client", None)
        if client is not None:
            return client
        with self._others_lock:
            if self._closed:
                raise RuntimeError("this TrelloApi is closed")
            # Sessions of threads that have ended are closed here, so a long-lived api used by
            # one worker pool after another keeps only the live ones.
            alive = []
            for thread, old in self._others:
                if thread.is_alive():
                    alive.append((thread, old))
                else:
                    old.close()
            session = _make_session(self.settings, self._counters)
            alive.append((threading.current_thread(), session))
            self._others = alive
        client = _Client(self.settings.key, self.settings.token, session)
        self._local.client = client
        return client

    @property
    def limiter(self) -> RateLimiter | None:
        """The rate limiter every request waits for (shared by all threads), if any."""
        return self._counters.limiter

    def use_limiter(self, limiter: RateLimiter | None) -> None:
        """Put every later request (of every thread) under ``limiter``."""
        self._counters.limiter = limiter

    @property
    def rate_limited(self) -> int:
        """429 answers received (retries included)."""
        return self._counters.rate_limited

    @property
    def requests_sent(self) -> int:
        """Requests that went over the network (cache misses, retries included)."""
        return self._counters.sent

    @property
    def cache_hits(self) -> int:
        """Answers served from the HTTP cache."""
        return self._counters.hits

    def get(
        self, path: str, params: Mapping[str, str] | None = None, *, max_age: float | None = None
    ) -> Any:
        """GET ``path`` (relative to the API base, e.g. ``boards/abc/actions``) and return the
        parsed JSON.

        ``max_age=None`` always fetches from the network (the answer is still stored);
        ``max_age=N`` may use a cached answer fetched less than N seconds ago (N is capped at
        ``cache_expire_s``). Raises ``ApiError`` subclasses; ``ValueError`` for a path with a
        query string, credentials in ``params``, or ``members/{id}`` (use ``me()``).
        """
        path = path.lstrip("/")
        if not path or any(c in path for c in "?#") or "://" in path or path != path.strip():
            raise ValueError(f"not an API path: {path!r} (put query parameters in params)")
        if _MEMBER_BY_ID_RE.match(path):
            raise ValueError("members/{id} is never read (its own rate limit); me() for members/me")
        query = dict(params or {})
        if {"key", "token"} & set(query):
            raise ValueError("credentials travel in the Authorization header, never in params")
        return self._fetch(path, query, max_age)

    def me(self) -> dict[str, Any]:
        """The token's member (``id``, ``username``, ``fullName``), fetched once per object."""
        with self._me_lock:
            if self._me is None:
                raw = self._fetch("members/me", {"fields": "id,username,fullName"}, None)
                if not isinstance(raw, dict) or not isinstance(raw.get("id"), str):
                    raise BadResponse(
                        f"the API at {self.settings.host} answered members/me without a member "
                        "id: check --api-url / TRELLO_API_URL",
                        200,
                    )
                self._me = raw
            return dict(self._me)

    def _fetch(self, path: str, query: dict[str, str], max_age: float | None) -> Any:
        if self._closed:
            raise RuntimeError("this TrelloApi is closed")
        headers: dict[str, str] = {}
        if self.settings.cache_dir is not None:
            headers["Cache-Control"] = cache_directive(max_age, self.settings.cache_expire_s)
        return self._thread_client().fetch_json(
            path, http_method="GET", headers=headers, query_params=query
        )

    # ------------------------------------------------------------------------- writes

    def add_card_member(self, card_id: str, member: MemberStandIn) -> Any:
        """``POST /1/cards/{id}/idMembers`` (py-trello ``Card.add_member``): one attempt.

        Trello answers ``400 member is already on the card`` (a ``BadRequest``) for a member
        who is on it already."""
        card = trello.Card(self._board_object(""), card_id)
        return card.add_member(member)

    def remove_card_member(self, card_id: str, member: MemberStandIn) -> Any:
        """``DELETE /1/cards/{id}/idMembers/{idMember}`` (py-trello ``Card.remove_member``)."""
        card = trello.Card(self._board_object(""), card_id)
        return card.remove_member(member)

    def add_board_member(self, board_id: str, member: MemberStandIn, member_type: str) -> Any:
        """``PUT /1/boards/{id}/members/{idMember}`` with ``type`` (py-trello
        ``Board.add_member``): one attempt."""
        return self._board_object(board_id).add_member(member, member_type)

    def remove_board_member(self, board_id: str, member: MemberStandIn) -> Any:
        """``DELETE /1/boards/{id}/members/{idMember}`` (py-trello ``Board.remove_member``)."""
        return self._board_object(board_id).remove_member(member)

    def _board_object(self, board_id: str) -> Any:
        """A py-trello ``Board`` over this thread's client, built without fetching."""
        if self._closed:
            raise RuntimeError("this TrelloApi is closed")
        return trello.Board(client=self._thread_client(), board_id=board_id)

    def close(self) -> None:
        """Close the sessions and the cache file."""
        if not self._closed:
            self._closed = True
            self._session.close()
            with self._others_lock:
                others, self._others = self._others, []
            for _, session in others:
                session.close()

    def __enter__(self) -> Self:
        """The API itself."""
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        """Close."""
        self.close()

    def __repr__(self) -> str:
        return f"<TrelloApi {self.settings.api_url}>"


def _check_credentials(key: str, token: str) -> None:
    """``AuthError`` before any request when the key or token is missing or malformed."""
    if not key.strip() or not token.strip():
        raise AuthError(
            "no Trello credentials: set TRELLO_API_KEY and TRELLO_TOKEN (or api_key and token "
            "in the [trello] section of the config file)"
        )
    sources = {
        "API key": "TRELLO_API_KEY or api_key in the config file",
        "token": "TRELLO_TOKEN, token in the config file, or what --token - read",
    }
    for name, value in (("API key", key), ("token", token)):
        if not _CREDENTIAL_RE.match(value):
            raise AuthError(
                f"the {name} has characters no Trello credential has (spaces, quotes, commas "
                f"or non-ASCII): check where it comes from ({sources[name]})"
            )


def _check_api_url(api_url: str) -> None:
    """``ConfigError`` unless ``api_url`` is a plain http(s) base; warns about plain http to a
    host that is not this machine (the token would travel unencrypted)."""
    try:
        parts = urlsplit(api_url)
    except ValueError:  # e.g. "Invalid IPv6 URL"
        raise ConfigError(
            f"--api-url / TRELLO_API_URL must be an http(s) URL like {DEFAULT_API_URL}, "
            f"not {_one_line(api_url, 80)!r}"
        ) from None
    if parts.username is not None or parts.password is not None:
        raise ConfigError("--api-url / TRELLO_API_URL must not hold a user name or password")
    if parts.scheme not in ("http", "https") or not parts.hostname or parts.query or parts.fragment:
        raise ConfigError(
            f"--api-url / TRELLO_API_URL must be an http(s) URL like {DEFAULT_API_URL}, "
            f"not {_one_line(api_url, 80)!r}"
        )
    try:
        parts.port  # noqa: B018 - validates the port
    except ValueError:
        raise ConfigError(
            f"--api-url / TRELLO_API_URL has an invalid port: {_one_line(api_url, 80)!r}"
        ) from None
    if parts.scheme == "http" and parts.hostname not in ("127.0.0.1", "localhost", "::1"):
        logger.warning(
            "the API URL %s is plain http: the token travels unencrypted", _host(api_url)
        )
