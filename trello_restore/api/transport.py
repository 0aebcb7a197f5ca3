"""The transport under py-trello: requests sessions (with requests-cache when there is a cache
directory), the credentials header, the tool's User-Agent, the shared rate limiter and the
counters, the base-URL rewrite, timeouts, read retries (``RetryPolicy``) and typed errors
(``classify``). py-trello's client gets a ``Transport`` as its ``http_service``.

The HTTP cache (its file: ``cache``): credentials are never part of a cache key nor stored
(``IGNORED_PARAMETERS``); only JSON 200 answers to GETs are kept. A run that has no cache file
to use (``cache.open_http_cache``) or whose file fails mid-run gets plain sessions.
"""

from __future__ import annotations

import json
import logging
import math
import random
import sqlite3
import threading
from collections.abc import Callable, MutableMapping
from datetime import UTC, datetime, timedelta
from email.utils import parsedate_to_datetime
from typing import TYPE_CHECKING, Any

import requests
from requests.adapters import HTTPAdapter
from requests.auth import AuthBase
from requests_cache import DEFAULT_IGNORED_PARAMS, CachedSession

from trello_restore import __version__
from trello_restore.api.cache import NO_STORE, CacheTables, HttpCache, json_shaped
from trello_restore.api.classify import (
    describe,
    error_body,
    error_for_exception,
    error_for_response,
    error_for_tls_files,
    maybe_made,
    never_sent,
    parse_retry_after,
    scrub,
    unreachable_reason,
)
from trello_restore.api.retry import RetryPolicy, rate_limit_pause
from trello_restore.api.settings import ApiSettings
from trello_restore.api.watchdog import Watchdog, read_in_time, watched
from trello_restore.errors import ApiError, BadResponse, RateLimited
from trello_restore.limiter import RateLimiter, Stopping, TrelloCount, counts_from_headers
from trello_restore.masking import Mask
from trello_restore.parsing import without_lone_surrogates

__all__ = [
    "IGNORED_PARAMETERS",
    "Counters",
    "OAuthHeader",
    "Transport",
    "make_session",
    "server_date",
    "writes_sent",
]

logger = logging.getLogger("trello_restore.api")

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
#: Writes get one attempt here: the applier retries them (``applier.Runner._send``), with a
#: policy of its own and knowing whether a retry may repeat a write that happened.
_SINGLE_ATTEMPT = RetryPolicy(retries=0)

#: Writes (any method but GET) handed to the wire by this process, every ``TrelloApi``'s:
#: ``writes_sent``. One that could not leave (no connection) is taken back (``_wire``).
_writes = [0]
_writes_lock = threading.Lock()


def writes_sent() -> int:
    """How many writes this process has handed to the wire so far: one that is unchanged
    across a command's run means that run sent Trello no change (``cli.exit_with``)."""
    with _writes_lock:
        return _writes[0]


def _count_write(request: requests.PreparedRequest, n: int = 1) -> None:
    if (request.method or "GET").upper() != "GET":
        with _writes_lock:
            _writes[0] += n


# -------------------------------------------------------------------------------- transport


def server_date(header: str | None) -> datetime | None:
    """An HTTP ``Date`` header as aware UTC, or None when missing or not a date."""
    if not header:
        return None
    try:
        when = parsedate_to_datetime(header)
    except (TypeError, ValueError, IndexError, OverflowError):
        return None
    # RFC 7231 dates are GMT; one without a zone (``-0000``) is taken as UTC too.
    return when.replace(tzinfo=UTC) if when.tzinfo is None else when.astimezone(UTC)


class Counters:
    """What all sessions of one ``TrelloApi`` share: the rate limiter, counts of requests
    sent over the network, answers served from the cache and 429s received (thread-safe), and
    whether the run is stopping (``stop``)."""

    def __init__(self, limiter: RateLimiter | None = None) -> None:
        self._lock = threading.Lock()
        self.limiter = limiter
        #: Set once the run is stopping (Ctrl-C): from then on no request waiting for the
        #: limiter or for a retry is sent (``limiter.Stopping`` is raised instead).
        self.closing = threading.Event()
        self.sent = 0
        self.hits = 0
        self.rate_limited = 0
        #: The earliest ``Date`` of an answer that came over the network (not from the cache):
        #: Trello's own clock, at or before anything later read (``note_date``).
        self.first_date: datetime | None = None
        #: How far Trello's clock is ahead of this machine's (negative: behind): the most any
        #: answer over the network showed, its ``Date`` less this machine's time when it came
        #: (low by up to a second, the Date rounded down, plus its latency); None before one.
        self.skew: timedelta | None = None
        #: Whether a read's retry has been announced on stderr (``first_retry``).
        self._retried = False
        #: What cuts short each answer to a read being read now (``reading``).
        self._reading: set[Callable[[], None]] = set()

    def first_retry(self) -> bool:
        """True the first time a read is about to be retried (once for all sessions): that
        one retry is a warning, so a run waiting on Trello does not look hung; later ones are
        logged at INFO."""
        with self._lock:
            first, self._retried = not self._retried, True
            return first

    def count_sent(self, n: int = 1) -> None:
        with self._lock:
            self.sent += n

    def count_hit(self) -> None:
        with self._lock:
            self.hits += 1

    def note_date(self, header: str | None) -> None:
        """An answer's ``Date`` header (RFC 7231: whole seconds, rounded down), kept when it is
        the earliest yet; a missing or malformed one is ignored."""
        when = server_date(header)
        if when is None:
            return
        ahead = when - datetime.now(UTC)
        with self._lock:
            if self.first_date is None or when < self.first_date:
                self.first_date = when
            if self.skew is None or ahead > self.skew:
                self.skew = ahead

    def stop(self) -> None:
        """The run is stopping: wake every request waiting for the limiter or for a retry, send
        no more, and cut short the answers to reads being read (a write's is waited for)."""
        self.closing.set()
        limiter = self.limiter
        if limiter is not None:
            limiter.wake()
        with self._lock:
            cuts = list(self._reading)
        for cut in cuts:
            cut()

    def reading(self, cut: Callable[[], None]) -> None:
        """An answer to a read is being read: ``cut`` ends it (at once if stopping already)."""
        with self._lock:
            self._reading.add(cut)
        if self.closing.is_set():
            cut()

    def read(self, cut: Callable[[], None]) -> None:
        """That answer is read (or given up)."""
        with self._lock:
            self._reading.discard(cut)

    def count_rate_limited(self, retry_after: float | None) -> None:
        """A 429: count it, and make every thread wait a window (or the ``Retry-After``)."""
        with self._lock:
            self.rate_limited += 1
        limiter = self.limiter
        if limiter is not None:
            limiter.penalize(rate_limit_pause(retry_after, limiter.window_s))


class OAuthHeader(AuthBase):
    """``Authorization: OAuth oauth_consumer_key="…", oauth_token="…"``: Trello's documented
    header form (design.md §6). Unsigned: Trello tokens have no secret to sign with."""

    def __init__(self, key: str, token: str) -> None:
        self._value = f'OAuth oauth_consumer_key="{key}", oauth_token="{token}"'

    def __call__(self, r: requests.PreparedRequest) -> requests.PreparedRequest:
        r.headers["Authorization"] = self._value
        return r

    def __repr__(self) -> str:
        return "<OAuthHeader>"


class _NetworkAdapter(HTTPAdapter):
    """The wire: counts what is really sent, keeps local cache directives off it, and names the
    tool in the User-Agent."""

    def __init__(self, counters: Counters, max_request_s: float = math.inf) -> None:
        super().__init__()
        self._counters = counters
        #: The longest one request may take on the wire, its whole answer read (``Watchdog``).
        self._max_request_s = max_request_s

    def init_poolmanager(self, *args: Any, **kwargs: Any) -> None:
        super().init_poolmanager(*args, **kwargs)
        watched(self.poolmanager)

    def proxy_manager_for(self, proxy: str, **proxy_kwargs: Any) -> Any:
        return watched(super().proxy_manager_for(proxy, **proxy_kwargs))

    def send(
        self, request: requests.PreparedRequest, *args: Any, **kwargs: Any
    ) -> requests.Response:
        # A read's answer is cut short when the run stops; a write's is waited for.
        watchdog = Watchdog(
            self._max_request_s, self._counters if request.method == "GET" else None
        )
        failed: requests.RequestException | None = None
        try:
            response = self._send(request, watchdog, *args, **kwargs)
            if not kwargs.get("stream"):
                read_in_time(response, watchdog)
        except requests.RequestException as exc:
            if not watchdog.timed_out:
                raise
            failed = exc
        else:
            if not watchdog.timed_out:
                return response
            # Cut inside the headers, ``http.client`` takes the end of the connection for their
            # end: what came is no answer (R38c: a grant Trello made was journaled as certainly
            # failed, "no content type instead of JSON").
            response.close()
        finally:
            watchdog.end()
        raise requests.exceptions.ReadTimeout(
            "the answer did not arrive in time", request=request
        ) from failed

    def _send(
        self, request: requests.PreparedRequest, watchdog: Watchdog, *args: Any, **kwargs: Any
    ) -> requests.Response:
        directive = request.headers.pop("Cache-Control", None)  # our cache's, not Trello's
        request.no_store = directive == NO_STORE  # type: ignore[attr-defined] # _storable
        agent = request.headers.get("User-Agent") or ""
        if not str(agent).startswith("trello-restore/"):
            request.headers["User-Agent"] = f"trello-restore/{__version__} {agent}".strip()
        limiter = self._counters.limiter
        if limiter is None and self._counters.closing.is_set():
            raise Stopping
        # The slot is held until the answer's headers are in, and handed back with Trello's
        # count of the token's and the key's window from them (``x-rate-limit-api-*``), so the
        # limiter paces by what Trello counts, other programs' requests included.
        slot = None if limiter is None else limiter.acquire(self._counters.closing)
        self._counters.count_sent()
        _count_write(request)
        counts: list[TrelloCount] = []
        watchdog.start()
        try:
            response = super().send(request, *args, **kwargs)
            if not watchdog.timed_out:  # headers cut short may hold a count cut short
                counts = counts_from_headers(response.headers)
            return response
        except requests.RequestException as exc:
            if never_sent(exc):  # R67b: a run whose writes could open no connection said
                _count_write(request, -1)  # "every change this run made is in its journal"
                self._counters.count_sent(-1)  # nor a request sent (R68a)
            raise
        finally:
            if limiter is not None and slot is not None:
                limiter.release(slot, counts)


if TYPE_CHECKING:
    from requests.sessions import _Settings

    _SessionBase = requests.Session
else:
    _SessionBase = object


class Transport(_SessionBase):
    """What py-trello's ``http_service`` does on top of a requests session: the base-URL
    rewrite, timeouts, read retries and typed errors. Mixed in front of ``requests.Session`` or
    ``requests_cache.CachedSession``."""

    def __init__(self, settings: ApiSettings, counters: Counters, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self._settings = settings
        self._counters = counters
        self._base = settings.api_url.rstrip("/") + "/"
        self._reads = settings.read_policy
        self._rng = random.Random()
        #: Blanks the key and token out of what answers echo (errors, ``scrub``).
        self._mask = Mask((settings.key, settings.token))
        #: ``merge_environment_settings``'s answers by origin (``_environment``).
        self._environment: dict[tuple[str, Any, Any, Any], _Settings] = {}
        adapter = _NetworkAdapter(counters, settings.max_request_s)
        self.mount("http://", adapter)
        self.mount("https://", adapter)

    @property
    def api_host(self) -> str:
        """``host[:port]`` of the API this transport talks to, for messages."""
        return self._settings.host

    @property
    def api_url_from(self) -> str:
        """Where the API URL came from (``Origins.url``), for messages."""
        return self._settings.origins.url

    def request(
        self, method: str | bytes, url: str | bytes, *args: Any, **kwargs: Any
    ) -> requests.Response:
        """Send one request, retrying reads (``ApiSettings.read_policy``); return a 2xx answer
        or raise an ``ApiError``."""
        method = method.decode() if isinstance(method, bytes) else method
        method = method.upper()
        url = self._rewrite(url.decode() if isinstance(url, bytes) else url)
        path = url[len(self._base) :]
        kwargs.setdefault("timeout", (self._settings.connect_timeout, self._settings.read_timeout))
        # No redirect is followed: a write sent on to another address was journaled as made,
        # and a redirected read's first request, credentials and all, went into the HTTP cache
        # with its answer (R37b). Trello never redirects its API; a 3xx is a wrong --api-url.
        kwargs["allow_redirects"] = False
        policy = self._reads if method == "GET" else _SINGLE_ATTEMPT
        for attempt in range(policy.attempts):
            error, retryable, cause = self._attempt(method, url, path, attempt + 1, args, kwargs)
            if isinstance(error, requests.Response):
                return error
            error = scrub(error, self._mask)  # before it is logged or raised
            if cause is not None and method == "GET" and self._counters.closing.is_set():
                raise Stopping  # stopping, its answer cut short: no retry, no error of its own
            delay = policy.delay(error, attempt, self._rng.random()) if retryable else None
            if delay is None:
                raise error from cause
            if self._counters.closing.is_set():  # stopping: no retry
                raise Stopping
            if self._counters.first_retry():
                logger.warning(self._retrying(error, cause, policy, attempt))
            logger.info(
                "%s %s: %s; retrying in %.2f s (attempt %d of %d)",
                method,
                path,
                f"HTTP {error.status} {error.trello_error}".strip()
                if error.status
                else type(cause).__name__,
                delay,
                attempt + 2,
                policy.attempts,
            )
            if self._counters.closing.wait(delay):
                raise Stopping
        raise AssertionError("unreachable")  # pragma: no cover

    def _retrying(
        self, error: ApiError, cause: BaseException | None, policy: RetryPolicy, attempt: int
    ) -> str:
        """The warning for a run's first retry: what failed, and the longest the retries left
        may take (each remaining attempt its connect and read timeouts, and the longest wait
        before it that the policy allows for the same failure), so a user can tell a wait
        from a hang."""
        settings = self._settings
        if isinstance(cause, requests.exceptions.ConnectTimeout):
            what = f"is not answering (connecting timed out after {settings.connect_timeout:g} s)"
        elif isinstance(cause, requests.exceptions.ReadTimeout):
            what = f"is not answering (read timed out after {settings.read_timeout:g} s)"
        elif cause is not None:
            what = f"is not answering ({unreachable_reason(cause)[0]})"
        elif isinstance(error, RateLimited):
            what = "is rate limiting (HTTP 429)"
        else:
            what = f"is failing (HTTP {error.status})"
        most = (policy.retries - attempt) * settings.max_request_s + policy.longest_waits(
            error, attempt
        )
        return (
            f"the Trello API at {settings.host} {what}; retrying for up to {math.ceil(most)} s "
            "more (Ctrl-C to stop)"
        )

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
        origins = self._settings.origins
        try:
            response = super().request(method, url, *args, **kwargs)
        except requests.RequestException as exc:
            logger.debug("%s %s -> no answer (%s)", method, path, type(exc).__name__)
            error, retryable = error_for_exception(exc, attempts=attempts, origins=origins, **where)
            return error, retryable, exc
        except OSError as exc:  # requests' own, before sending: a TLS file it cannot find
            return error_for_tls_files(exc, self._settings.api_url), False, exc
        from_cache = bool(getattr(response, "from_cache", False))
        if from_cache:
            self._counters.count_hit()
        else:  # a cached answer's Date is when it was first fetched
            self._counters.note_date(response.headers.get("Date"))
        logger.debug(
            "%s %s -> %s%s", method, path, response.status_code, " (cache)" if from_cache else ""
        )
        status = response.status_code
        content_type = response.headers.get("Content-Type") or ""
        if 200 <= status < 300:
            if status != 200 and not response.content.strip():
                # 204 No Content and kin. Not a 200 without a body, even to a write (R45e: a
                # proxy answering every write so made 133 changes "applied", none sent): Trello
                # answers a 200 with JSON (notes §10.7), and a write whose answer is not is
                # failed, for a rerun to find done or do.
                return _as_success(response, b"null"), False, None
            if not _looks_like_json(response, content_type):
                return (
                    _not_json(response, content_type, method, path, self._settings),
                    False,
                    None,
                )
            return _as_success(response, _unicode_body(response.content)), False, None
        failure = error_for_response(
            status,
            # Blanked before the text is cut to one line: a cut inside an echoed credential
            # would leave a piece of it that the later scrub cannot recognise.
            self._mask.redact(error_body(response, content_type)),
            attempts=attempts,
            retry_after=parse_retry_after(response.headers.get("Retry-After")),
            origins=origins,
            location=response.headers.get("Location") if 300 <= status < 400 else None,
            **where,
        )
        assert failure is not None
        if isinstance(failure, RateLimited) and not from_cache:
            # The hook may stop the run instead (ApiSettings.on_rate_limited): before the
            # limiter makes every thread wait a window.
            if self._settings.on_rate_limited is not None:
                self._settings.on_rate_limited()
            self._counters.count_rate_limited(failure.retry_after)
        return failure, RetryPolicy.retryable(failure), None

    def merge_environment_settings(
        self,
        url: str | bytes | None,
        proxies: MutableMapping[str, str] | None,
        stream: bool | None,
        verify: bool | str | None,
        cert: str | tuple[str, str] | None,
    ) -> _Settings:
        """requests' own answer (proxies from ``HTTPS_PROXY``/``NO_PROXY``, ``verify`` from
        ``REQUESTS_CA_BUNDLE``, …), read from the environment once per origin and session
        instead of on every request: requests reads and decodes every environment variable
        several times a request (``urllib.request.getproxies_environment``), a quarter of a
        write's CPU. Only for requests that pass no proxies of their own (py-trello's); the
        proxies are a copy each time."""
        if proxies or not isinstance(url, str):
            return super().merge_environment_settings(url, proxies, stream, verify, cert)
        scheme, _, rest = url.partition("://")
        key = (f"{scheme}://{rest.split('/', 1)[0]}", stream, verify, cert)
        known = self._environment.get(key)
        if known is None:
            known = super().merge_environment_settings(url, proxies, stream, verify, cert)
            self._environment[key] = known
        answer = known.copy()
        answer["proxies"] = dict(known["proxies"] or {})
        return answer

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


def _unicode_body(body: bytes) -> bytes | None:
    """``body`` again with every UTF-16 surrogate escape that no pair completes (``"\\ud800"``
    alone: valid JSON, no Unicode text) made U+FFFD, or None when it has none (Trello sends
    UTF-8 text: a hostile name only). Such a name crashed every plan and apply (R37c)."""
    if b"\\u" not in body:
        return None
    try:
        doc = json.loads(body)
    except (ValueError, RecursionError):
        return None  # not JSON after all: as it is, for py-trello's error
    clean = without_lone_surrogates(doc, body)
    return None if clean is doc else json.dumps(clean).encode()


def _looks_like_json(response: requests.Response, content_type: str) -> bool:
    if "json" in content_type.lower():
        return True
    try:
        json.loads(response.content)
    except (ValueError, RecursionError):
        return False
    return True


def _not_json(
    response: requests.Response, content_type: str, method: str, path: str, settings: ApiSettings
) -> BadResponse:
    """A 2xx whose body is not JSON: no error text of Trello's (a body of ``OK`` said "HTTP
    200: OK" where the change failed), and a write's may have been made (``runner``: failed,
    uncertain: R54b)."""
    shown = content_type.split(";", 1)[0].strip() or "no content type"
    return BadResponse(
        f"the API at {settings.host} answered {method} {describe(path)} with {shown} instead of "
        f"JSON{maybe_made(method)}: check {settings.origins.url} (a proxy or a login page may "
        "be in the way)",
        response.status_code,
    )


class _PlainTransport(Transport, requests.Session):
    """The transport without an HTTP cache (``cache_dir=None``, or none to use: ``HttpCache``)."""


#: ``CacheMixin.send``'s own keywords, which ``requests.Session.send`` does not take.
_CACHE_KEYWORDS = ("expire_after", "only_if_cached", "refresh", "force_refresh")


class _CachedTransport(Transport, CachedSession):  # type: ignore[misc]
    # (CacheMixin.request adds cache keywords that py-trello never passes; ours takes **kwargs.)
    """The transport over requests-cache (SQLite, one file per account, ``HttpCache``)."""

    #: The file this session's cache is in; set by ``make_session``.
    http_cache: HttpCache

    def send(self, request: requests.PreparedRequest, *args: Any, **kwargs: Any) -> Any:
        """GETs through requests-cache; anything else straight to the network: a write is never
        stored, and requests-cache would still hash it into a cache key and look at the SQLite
        file for it. So do GETs once the cache has failed (``HttpCache.give_up``)."""
        if (request.method == "GET" and self.http_cache.usable) or args:
            return super().send(request, *args, **kwargs)
        for name in _CACHE_KEYWORDS:
            kwargs.pop(name, None)
        return requests.Session.send(self, request, **kwargs)


def _storable(mask: Mask) -> Callable[[requests.Response], bool]:
    """Which answers are stored: JSON only by type and start (a proxy's page is not served again),
    none whose headers or body echo a credential (``masking.Mask``: R57d, R88c, R89b). A no-store
    read's body (action pages) is not read (10 ms a MB): never stored, True keeps its key's."""

    def storable(response: requests.Response) -> bool:
        if "json" not in (response.headers.get("Content-Type") or "").lower():
            return False
        headers, body = (f"{k}: {v}" for k, v in response.headers.items()), response.content
        if not json_shaped(body) or any(map(mask.holds, headers)):
            return False
        return getattr(response.request, "no_store", False) or not mask.in_body(body)

    return storable


def make_session(settings: ApiSettings, counters: Counters, cache: HttpCache | None) -> Transport:
    """The ``http_service`` for py-trello: over the HTTP cache when there is one to use
    (style.md habit 7; ``open_http_cache``), else plain. A file SQLite cannot read is replaced
    when this is the first session on it; any other failure gives the cache up for the run."""
    if cache is None or not cache.usable:
        return _PlainTransport(settings, counters)
    first = cache.opened()
    try:
        backend = _open_backend(cache, first)
    except sqlite3.OperationalError as err:  # locked past CACHE_BUSY_S, read-only, …
        cache.give_up(err)
        return _PlainTransport(settings, counters)
    except sqlite3.DatabaseError as err:  # not a database
        if not first:
            cache.give_up(err)
            return _PlainTransport(settings, counters)
        if not cache.replace(err):
            return _PlainTransport(settings, counters)
        try:
            backend = _open_backend(cache, first)
        except sqlite3.Error as again:
            cache.give_up(again)
            return _PlainTransport(settings, counters)
    session = _CachedTransport(
        settings,
        counters,
        backend=backend,
        expire_after=settings.cache_expire_s,
        allowable_methods=("GET",),
        # Only 200s: another 2xx is rewritten to 200 after this layer (_as_success), so a
        # 202 Accepted is passed through but not stored; the next read asks again.
        allowable_codes=(200,),
        ignored_parameters=IGNORED_PARAMETERS,
        match_headers=False,
        cache_control=False,
        stale_if_error=False,
        filter_fn=_storable(Mask((settings.key, settings.token))),
    )
    session.http_cache = cache
    return session


def _open_backend(cache: HttpCache, first: bool) -> CacheTables:
    """The cache's tables, opened; the first session of a run drops the entries past their
    expiry, which are never used again (in SQL, no vacuum)."""
    backend = CacheTables(cache)
    if first:
        backend.delete(expired=True, vacuum=False)
    return backend
