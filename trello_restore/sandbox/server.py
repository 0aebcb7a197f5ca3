"""The sandbox Trello over real HTTP on loopback (design.md §8).

``SandboxServer`` serves a ``World`` with the stdlib's ``ThreadingHTTPServer`` (HTTP/1.1 with
Content-Length, so keep-alive works). For every ``/1/`` request, in this order:

1. the route is matched (``404 The requested resource was not found.`` otherwise);
2. the latency is slept: ``(latency_ms + uniform(0, jitter_ms)) / time_scale``, and for a
   write ``write_latency_ms`` more;
3. credentials are read from the ``Authorization: OAuth …`` header (plain or OAuth1-signed; the
   signature is ignored) or the ``key``/``token`` query or body parameters, and checked
   (``401 invalid key`` / ``401 invalid token``);
4. rate limits (``ratelimit.py``) and a running 429 storm answer 429 with Trello's JSON body
   (or, with ``rate_limit_body``, one of the other bodies real 429s have come with);
5. a fault may be injected (seeded): a 5xx answer or a connection closed with no response;
   a write hit by a fault is, with probability ``fault_after_write_share``, applied first;
6. the endpoint (``endpoints.py``) runs with ``world.lock`` held; with ``accepted_rate`` a share
   of its successes is answered ``202 Accepted`` instead of ``200 OK``, same body (Trello did so
   for a while in 2025, TRELLO-218085).

Every ``/1/`` answer carries the ``x-rate-limit-api-{token,key}-{interval-ms,max,remaining}``
headers, sent with its body in one write. Each request is recorded in ``request_log`` without
credential values. The admin routes ``/_sandbox/options`` (GET, PUT) and ``/_sandbox/requests``
(GET) are not Trello traffic: they are not rate limited, delayed, faulted or logged, but need
the same valid key and token. While a server serves, the worlds built before it started are
kept out of the cyclic collector's walks (``_Frozen``): real Trello does not stop for them.
"""

from __future__ import annotations

import contextlib
import dataclasses
import gc
import json
import logging
import random
import re
import socket
import threading
import time
from dataclasses import dataclass
from email.utils import format_datetime
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from types import TracebackType
from typing import Any, Self
from urllib.parse import parse_qsl, unquote, urlsplit

from trello_restore.sandbox.endpoints import HANDLERS as _HANDLERS
from trello_restore.sandbox.endpoints import (
    MEMBERS_LIMITED,
    ROUTES,
    Call,
    Route,
    match,
    unauthorized,
)
from trello_restore.sandbox.ratelimit import Limits, RateLimiter
from trello_restore.sandbox.world import TrelloError, World, not_found

__all__ = [
    "ROUTES",
    "RequestRecord",
    "Route",
    "SandboxOptions",
    "SandboxServer",
]

logger = logging.getLogger(__name__)

_OAUTH_PARAM_RE = re.compile(r'([A-Za-z_][A-Za-z0-9_]*)\s*=\s*"([^"]*)"')
_FAULT_BODIES = {500: "Internal Server Error", 502: "Bad Gateway", 503: "Service Unavailable"}
#: ``rate_limit_body`` choices: what a 429 says instead of the limit's usual JSON body
#: (trello-api-notes.md §13.4). ``usual`` keeps ``API_TOKEN_LIMIT_EXCEEDED`` and its kin.
RATE_LIMIT_BODIES: dict[str, tuple[str, bytes]] = {
    "extension": (
        "application/json; charset=utf-8",
        b'{"message":"Rate limit exceeded: missing x-trello-user-agent-extension header",'
        b'"error":"UNKNOWN_EXTENSION_LIMIT_EXCEEDED"}',
    ),
    "token-db": (
        "application/json; charset=utf-8",
        b'{"message":"Rate limit exceeded","error":"API_TOKEN_DB_LIMIT_EXCEEDED"}',
    ),
    "unknown": (
        "application/json; charset=utf-8",
        b'{"message":"Slow down","error":"SANDBOX_NEW_LIMIT_EXCEEDED"}',
    ),
    "empty": ("application/json; charset=utf-8", b""),
    "text": ("text/plain; charset=utf-8", b"Too Many Requests"),
    "html": (
        "text/html; charset=utf-8",
        b"<html><body><h1>429 Too Many Requests</h1></body></html>",
    ),
}
_STRING_OPTIONS = {
    "id_cursor": ("exact", "second"),
    "date_cursor": ("exact", "second"),
    "rate_limit_body": ("usual", *RATE_LIMIT_BODIES),
    "read_refusals": ("plain", "sub-request"),
    "write_body": ("usual", "empty", "text", "error"),
}
_JSON_TYPE = "application/json; charset=utf-8"
_TEXT_TYPE = "text/plain; charset=utf-8"
#: The body of each ``write_body`` but ``usual``.
_WRITE_BODIES = {
    "empty": b"",
    "text": b"OK",
    "error": b'{"message":"login required","error":"ERROR"}',
}


@dataclass
class SandboxOptions:
    """How the sandbox behaves. Durations are in *Trello time*: ``time_scale`` divides each."""

    #: Fixed latency per request, in ms.
    latency_ms: float = 0.0
    #: Latency added to every write (any method but GET) on top of ``latency_ms``, in ms: a
    #: Trello slow to answer writes while its reads are quick (tests of writes on the wire).
    write_latency_ms: float = 0.0
    #: Extra latency, uniform in ``[0, jitter_ms]`` (seeded).
    jitter_ms: float = 0.0
    #: 10 makes a 10 s rate window last 1 s of real time and a 200 ms latency last 20 ms.
    time_scale: float = 1.0
    #: Requests per window per token.
    token_limit: int = 100
    #: Requests per window per API key.
    key_limit: int = 300
    #: The token and key window, in seconds.
    window_s: float = 10.0
    #: Requests per ``members_window_s`` to ``/1/members/{id}`` (not nested routes), per token.
    members_limit: int = 100
    #: The ``/1/members/{id}`` window, in seconds.
    members_window_s: float = 900.0
    #: Share of requests answered 500, 502 or 503 (seeded choice).
    error_rate: float = 0.0
    #: Share of requests whose connection is closed with no response at all.
    drop_rate: float = 0.0
    #: For writes hit by a 5xx or a drop: share where the write was applied before the fault.
    fault_after_write_share: float = 0.5
    #: A 429 storm: every ``/1/`` request is answered 429 for this long from when it is set.
    storm_s: float = 0.0
    #: What every 429 says: ``usual`` (the limit's own JSON body), or one of
    #: ``RATE_LIMIT_BODIES``: ``extension`` (UNKNOWN_EXTENSION_LIMIT_EXCEEDED), ``token-db``
    #: (API_TOKEN_DB_LIMIT_EXCEEDED), ``unknown`` (a code no client knows), ``empty``, ``text``
    #: or ``html`` (no JSON at all).
    rate_limit_body: str = "usual"
    #: Share of successful requests answered ``202 Accepted`` instead of ``200 OK`` (same body).
    accepted_rate: float = 0.0
    #: How ``before``/``since`` ids compare: ``second`` (the id's one-second timestamp, as a
    #: date, exclusive: what Trello documents, and its open paging bug, notes §13.1) or
    #: ``exact`` (ObjectId order).
    id_cursor: str = "second"
    #: How ``before``/``since`` *dates* compare with actions' dates: ``second`` (both as whole
    #: seconds, exclusive: the docs say the cursors "operate on the creation date", which an
    #: id holds to the second; the harshest reading, and the default) or ``exact`` (to the
    #: millisecond). Which one Trello does is not confirmed (notes §10 Q2, §13.1).
    date_cursor: str = "second"
    #: How a read Trello refuses (401 ``unauthorized permission requested``, 404 not found) is
    #: answered: ``plain`` (the status and its text) or ``sub-request``: Trello's ``449
    #: Sub-Request Failed`` with ``{path, originalMessage, originalStatus}``, which "can occur
    #: any place where a 4XX error was previously occurring" ([PAGE-auxerrors],
    #: trello-api-notes.md §4). Which reads Trello answers so is not documented; this sends it
    #: for every refused read, the harshest reading.
    read_refusals: str = "plain"
    #: What every successful write (any method but GET) answers: ``usual`` (the object, as
    #: Trello), ``empty`` (no body) or ``text`` (``OK`` as text/plain): a proxy or a Trello
    #: whose write answers are not JSON (their bodies are unconfirmed, notes §11), R54b; or
    #: ``error``: Trello's error body (``{"message", "error"}``) as JSON, a proxy or portal
    #: answering the write itself (R86d).
    write_body: str = "usual"
    #: Seeds jitter and fault choices.
    seed: int = 0

    def __post_init__(self) -> None:
        """Refuse values the sandbox cannot honour (ValueError)."""
        for f in dataclasses.fields(self):
            value = getattr(self, f.name)
            if f.name in _STRING_OPTIONS:
                choices = _STRING_OPTIONS[f.name]
                if value not in choices:
                    raise ValueError(f"{f.name} must be one of {', '.join(choices)}")
                continue
            if isinstance(value, bool) or not isinstance(value, int | float):
                raise ValueError(f"{f.name} must be a number")
            if f.type in ("int", int) and not isinstance(value, int):
                raise ValueError(f"{f.name} must be an integer")
            if f.name != "seed" and value < 0:
                raise ValueError(f"{f.name} must not be negative")
        if self.time_scale <= 0:
            raise ValueError("time_scale must be positive")
        for name in ("error_rate", "drop_rate", "fault_after_write_share", "accepted_rate"):
            if getattr(self, name) > 1:
                raise ValueError(f"{name} must be between 0 and 1")
        if self.error_rate + self.drop_rate > 1:
            raise ValueError("error_rate + drop_rate must not exceed 1")
        if self.window_s <= 0 or self.members_window_s <= 0:
            raise ValueError("rate windows must be positive")

    def real(self, trello_seconds: float) -> float:
        """A duration in Trello time as real seconds."""
        return trello_seconds / self.time_scale


@dataclass(frozen=True)
class RequestRecord:
    """One request as the sandbox saw it. Holds no credential values."""

    method: str
    #: The path without the query string.
    path: str
    #: Names of the query parameters, in order of first appearance.
    query_names: tuple[str, ...]
    #: The status answered; None when the connection was dropped.
    status: int | None
    #: When the request arrived (``time.time()``).
    at: float
    #: Real seconds from arrival to the answer (or the drop).
    duration_s: float
    #: True if ``key`` or ``token`` appeared in the URL query.
    credentials_in_url: bool


@dataclass
class _Response:
    status: int
    body: bytes
    content_type: str
    headers: dict[str, str] = dataclasses.field(default_factory=dict)


_DROP = object()


def _json_response(status: int, value: Any, headers: dict[str, str] | None = None) -> _Response:
    try:
        body = json.dumps(value, separators=(",", ":"), ensure_ascii=False).encode()
    except UnicodeEncodeError:  # a lone surrogate (a hostile name): as a JSON escape
        body = json.dumps(value, separators=(",", ":")).encode()
    return _Response(status, body, _JSON_TYPE, headers or {})


def _error_response(err: TrelloError, headers: dict[str, str] | None = None) -> _Response:
    if isinstance(err.body, str):
        return _Response(err.status, err.body.encode(), _TEXT_TYPE, headers or {})
    return _json_response(err.status, err.body, headers)


def _sub_request_failed(path: str, status: int) -> _Response:
    """A refused read as Trello's 449 ``Sub-Request Failed``: the JSON body names the path's
    first resource, the original status and its reason (the example of [PAGE-auxerrors]:
    ``{path: 'boards', originalMessage: 'Unauthorized', originalStatus: 401}``)."""
    parts = path.strip("/").split("/")
    resource = parts[1] if len(parts) > 1 and parts[0] == "1" else parts[0]
    return _json_response(
        449,
        {
            "path": resource,
            "originalMessage": HTTPStatus(status).phrase,
            "originalStatus": status,
        },
    )


def _params_from_body(content_type: str, body: bytes) -> dict[str, str]:
    """Body parameters as strings: JSON objects (py-trello) or form-encoded. A JSON ``null``
    becomes ``"null"``, the text a query parameter would carry."""
    if not body.strip():
        return {}
    if "json" in content_type or body.lstrip()[:1] == b"{":
        try:
            data = json.loads(body)
        except ValueError:
            raise TrelloError(400, "invalid JSON") from None
        if not isinstance(data, dict):
            return {}
        out: dict[str, str] = {}
        for k, v in data.items():
            if v is None:
                out[k] = "null"  # as a query's ``due=null``: clears a date (PUT /cards/{id})
            elif isinstance(v, bool):
                out[k] = "true" if v else "false"
            elif isinstance(v, list):
                out[k] = ",".join(str(x) for x in v)
            else:
                out[k] = str(v)
        return out
    if "x-www-form-urlencoded" in content_type:
        return dict(parse_qsl(body.decode("utf-8", "replace"), keep_blank_values=True))
    return {}


def _oauth_params(header: str | None) -> dict[str, str]:
    """The ``oauth_*`` parameters of an ``Authorization: OAuth …`` header (signature ignored)."""
    if not header or not header.strip().lower().startswith("oauth "):
        return {}
    return {k: unquote(v) for k, v in _OAUTH_PARAM_RE.findall(header)}


class _Frozen:
    """The cyclic collector kept off the worlds being served (process-wide, counted).

    A world is millions of long-lived objects, built before it is served; a full collection
    walks every one of them (a third of a second at 20,000 cards), and while it runs every
    request waits: a stall real Trello does not have, which a time-scaled run multiplies
    (at 20x, 7 s of Trello's time). The first server to serve freezes what exists
    (``gc.freeze``: its world included; reference counting still frees what is dropped, and
    cycles among frozen objects wait for the unfreeze); the last to stop unfreezes. Left alone
    when something else froze objects first."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._serving = 0
        self._ours = False

    def hold(self) -> None:
        """A server starts serving."""
        with self._lock:
            if self._serving == 0:
                self._ours = gc.get_freeze_count() == 0
                if self._ours:
                    gc.freeze()
            self._serving += 1

    def release(self) -> None:
        """A server stopped serving."""
        with self._lock:
            self._serving -= 1
            if self._serving == 0 and self._ours:
                gc.unfreeze()
                self._ours = False


_FROZEN = _Frozen()


class SandboxServer:
    """The sandbox Trello API on a loopback port. Bound on construction; ``start`` serves in a
    background thread, ``serve_forever`` in the foreground; usable as a context manager."""

    def __init__(
        self,
        world: World,
        options: SandboxOptions | None = None,
        host: str = "127.0.0.1",
        port: int = 0,
    ) -> None:
        self.world = world
        self.options = options if options is not None else SandboxOptions()
        self.request_log: list[RequestRecord] = []
        self._lock = threading.Lock()
        self._rng = random.Random(self.options.seed)
        self._limiter = RateLimiter()
        self._storm_until = 0.0
        if self.options.storm_s:
            self._storm_until = time.monotonic() + self.options.real(self.options.storm_s)
        self._connections: set[socket.socket] = set()
        self._thread: threading.Thread | None = None
        self._httpd = _HTTPServer((host, port), _Handler)
        self._httpd.sandbox = self
        self.host = host
        self.port: int = self._httpd.server_address[1]
        self.base_url = f"http://{host}:{self.port}/1"

    # ---------------------------------------------------------------------- life cycle

    def start(self) -> None:
        """Serve in a daemon thread until ``stop``."""
        if self._thread is not None:
            raise RuntimeError("sandbox server already started")
        _FROZEN.hold()
        self._thread = threading.Thread(
            target=self._httpd.serve_forever,
            kwargs={"poll_interval": 0.05},
            name=f"sandbox-{self.port}",
            daemon=True,
        )
        self._thread.start()

    def stop(self) -> None:
        """Stop serving, close open connections and the listening socket."""
        if self._thread is not None:
            self._httpd.shutdown()
            self._thread.join()
            self._thread = None
            _FROZEN.release()
        self._close()

    def serve_forever(self) -> None:
        """Serve in the calling thread until interrupted (KeyboardInterrupt propagates)."""
        _FROZEN.hold()
        try:
            self._httpd.serve_forever(poll_interval=0.2)
        finally:
            _FROZEN.release()
            self._close()

    def _close(self) -> None:
        with self._lock:
            conns = list(self._connections)
        for conn in conns:
            with contextlib.suppress(OSError):
                conn.shutdown(socket.SHUT_RDWR)
        self._httpd.server_close()

    def __enter__(self) -> Self:
        """Start serving."""
        self.start()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        """Stop serving."""
        self.stop()

    # ---------------------------------------------------------------------------- options

    def set_options(self, **changes: Any) -> None:
        """Change options while running (thread-safe). Setting ``storm_s`` starts a storm now.

        Raises ValueError for unknown names or bad values, changing nothing.
        """
        names = {f.name for f in dataclasses.fields(SandboxOptions)}
        unknown = sorted(set(changes) - names)
        if unknown:
            raise ValueError(f"unknown sandbox option(s): {', '.join(unknown)}")
        with self._lock:
            new = dataclasses.replace(self.options, **changes)
            self.options = new
            if "seed" in changes:
                self._rng.seed(new.seed)
            if "storm_s" in changes:
                self._storm_until = time.monotonic() + new.real(new.storm_s)

    def reset_rate_limits(self) -> None:
        """Forget every rate-limit window and penalty (for tests and rehearsals)."""
        self._limiter.reset()

    # -------------------------------------------------------------------------------- log

    def requests(
        self, path_prefix: str | None = None, method: str | None = None
    ) -> list[RequestRecord]:
        """The logged requests, optionally only those under ``path_prefix`` or of ``method``."""
        with self._lock:
            records = list(self.request_log)
        return [
            r
            for r in records
            if (path_prefix is None or r.path.startswith(path_prefix))
            and (method is None or r.method == method.upper())
        ]

    def _record(self, record: RequestRecord) -> None:
        with self._lock:
            self.request_log.append(record)

    # ------------------------------------------------------------------------- processing

    def _limits(self, options: SandboxOptions) -> Limits:
        return Limits(
            token_limit=options.token_limit,
            key_limit=options.key_limit,
            window=options.real(options.window_s),
            members_limit=options.members_limit,
            members_window=options.real(options.members_window_s),
        )

    def _rate_headers(
        self, options: SandboxOptions, token_rem: int, key_rem: int
    ) -> dict[str, str]:
        interval = str(round(options.real(options.window_s) * 1000))
        return {
            "x-rate-limit-api-token-interval-ms": interval,
            "x-rate-limit-api-token-max": str(options.token_limit),
            "x-rate-limit-api-token-remaining": str(token_rem),
            "x-rate-limit-api-key-interval-ms": interval,
            "x-rate-limit-api-key-max": str(options.key_limit),
            "x-rate-limit-api-key-remaining": str(key_rem),
        }

    def _delay(self, write: bool) -> None:
        with self._lock:
            options = self.options
            jitter = self._rng.uniform(0.0, options.jitter_ms) if options.jitter_ms else 0.0
        extra = options.write_latency_ms if write else 0.0
        seconds = options.real((options.latency_ms + jitter + extra) / 1000.0)
        if seconds > 0:
            time.sleep(seconds)

    def _fault(self, write: bool) -> tuple[int | object | None, bool]:
        """``(fault, apply_first)``: fault is None, a 5xx status, or ``_DROP``."""
        with self._lock:
            options = self.options
            if not options.error_rate and not options.drop_rate:
                return None, False
            r = self._rng.random()
            fault: int | object | None = None
            if r < options.drop_rate:
                fault = _DROP
            elif r < options.drop_rate + options.error_rate:
                fault = self._rng.choice(sorted(_FAULT_BODIES))
            apply_first = (
                fault is not None and write and self._rng.random() < options.fault_after_write_share
            )
            return fault, apply_first

    def _credentials(
        self, headers: Any, query: dict[str, str], body: dict[str, str]
    ) -> tuple[str | None, str | None]:
        oauth = _oauth_params(headers.get("Authorization"))
        key = oauth.get("oauth_consumer_key") or query.get("key") or body.get("key")
        token = oauth.get("oauth_token") or query.get("token") or body.get("token")
        return key, token

    def _authenticate(self, key: str | None, token: str | None) -> str:
        """The token's member id; 401 ``invalid key`` / ``invalid token`` otherwise."""
        with self.world.lock:
            if not key or key not in self.world.api_keys:
                raise TrelloError(401, "invalid key")
            member_id = self.world.tokens.get(token or "")
            if member_id is None or member_id not in self.world.members:
                raise TrelloError(401, "invalid token")
            return member_id

    def _run(self, route: Route, call: Call) -> _Response:
        handler = _HANDLERS[route]
        try:
            with self.world.lock:
                value = handler(call)
                return _json_response(200, value)
        except TrelloError as err:
            return _error_response(err)

    def _process(
        self, method: str, path: str, query: dict[str, str], headers: Any, raw_body: bytes
    ) -> _Response | object:
        """Answer one ``/1/`` request: a ``_Response`` or ``_DROP``."""
        found = match(method, path)
        options = self.options
        try:
            body = _params_from_body(headers.get("Content-Type") or "", raw_body)
        except TrelloError as err:
            body = {}
            body_error: TrelloError | None = err
        else:
            body_error = None
        key, token = self._credentials(headers, query, body)
        if found is None:
            token_rem, key_rem = self._limiter.remaining(
                key or "", token or "", self._limits(options)
            )
            return _error_response(not_found(), self._rate_headers(options, token_rem, key_rem))
        route, path_params = found
        self._delay(route.method != "GET")
        try:
            member_id = self._authenticate(key, token)
        except TrelloError as err:
            token_rem, key_rem = self._limiter.remaining(
                key or "", token or "", self._limits(options)
            )
            return _error_response(err, self._rate_headers(options, token_rem, key_rem))
        assert key is not None
        assert token is not None
        with self._lock:
            options = self.options
            storm = time.monotonic() < self._storm_until
        decision = self._limiter.check(
            key,
            token,
            self._limits(options),
            members_route=route in MEMBERS_LIMITED,
            storm=storm,
        )
        rate_headers = self._rate_headers(options, decision.token_remaining, decision.key_remaining)
        if decision.rejection is not None:
            if options.rate_limit_body != "usual":
                content_type, text = RATE_LIMIT_BODIES[options.rate_limit_body]
                return _Response(429, text, content_type, rate_headers)
            return _json_response(429, decision.rejection, rate_headers)
        if body_error is not None:
            return _error_response(body_error, rate_headers)
        if route.method != "GET" and token in self.world.read_only_tokens:
            # A token made with scope=read: Trello refuses its writes as it does a member's
            # without rights (trello-api-notes.md §4: "token lacks rights").
            return _error_response(unauthorized(), rate_headers)
        params = {k: v for k, v in (query | body).items() if k not in ("key", "token")}
        call = Call(
            self.world, member_id, path_params, params, options.id_cursor, options.date_cursor
        )
        fault, apply_first = self._fault(route.method != "GET")
        if fault is not None:
            if apply_first:
                self._run(route, call)
            if fault is _DROP:
                return _DROP
            assert isinstance(fault, int)
            return _Response(fault, _FAULT_BODIES[fault].encode(), _TEXT_TYPE, rate_headers)
        response = self._run(route, call)
        if (
            options.read_refusals == "sub-request"
            and route.method == "GET"
            and response.status in (401, 404)
        ):
            response = _sub_request_failed(path, response.status)
        response.headers.update(rate_headers)
        if response.status == 200 and self._accepted():
            response.status = 202
        if route.method != "GET" and response.status < 300 and options.write_body != "usual":
            response.body = _WRITE_BODIES[options.write_body]
            response.content_type = _TEXT_TYPE if options.write_body == "text" else _JSON_TYPE
        return response

    def _accepted(self) -> bool:
        """Whether to answer this success ``202 Accepted`` (seeded, ``accepted_rate``)."""
        with self._lock:
            rate = self.options.accepted_rate
            return bool(rate) and self._rng.random() < rate

    def _admin(
        self, method: str, path: str, query: dict[str, str], headers: Any, raw_body: bytes
    ) -> _Response:
        """``/_sandbox/options`` (GET, PUT) and ``/_sandbox/requests`` (GET)."""
        try:
            key, token = self._credentials(headers, query, {})
            self._authenticate(key, token)
        except TrelloError as err:
            return _error_response(err)
        if path == "/_sandbox/options" and method == "GET":
            return _json_response(200, dataclasses.asdict(self.options))
        if path == "/_sandbox/options" and method == "PUT":
            try:
                changes = json.loads(raw_body or b"{}")
                if not isinstance(changes, dict):
                    raise ValueError("expected a JSON object of option changes")
                self.set_options(**changes)
            except (ValueError, TypeError) as err:
                return _json_response(400, {"error": str(err)})
            return _json_response(200, dataclasses.asdict(self.options))
        if path == "/_sandbox/requests" and method == "GET":
            records = self.requests(query.get("path_prefix"), query.get("method"))
            return _json_response(200, [dataclasses.asdict(r) for r in records])
        return _error_response(not_found())

    def _track(self, conn: socket.socket, add: bool) -> None:
        with self._lock:
            if add:
                self._connections.add(conn)
            else:
                self._connections.discard(conn)


class _HTTPServer(ThreadingHTTPServer):
    daemon_threads = True
    # Do not wait for keep-alive connections' threads on close: stop() shuts their sockets.
    block_on_close = False
    allow_reuse_address = True
    # A concurrent client opens many connections at once; the default backlog of 5 would make
    # some of them wait for a SYN retry (a second or more).
    request_queue_size = 128
    sandbox: SandboxServer

    def handle_error(self, request: Any, client_address: Any) -> None:
        """Client disconnects are normal; anything else is logged, never printed raw."""
        logger.debug("sandbox connection error", exc_info=True)


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    # Headers and body go out in two writes; with Nagle on, the second waits for a delayed ACK.
    disable_nagle_algorithm = True
    server: _HTTPServer
    #: Idle keep-alive connections are closed after this many seconds.
    timeout = 30

    def setup(self) -> None:
        super().setup()
        self.server.sandbox._track(self.request, add=True)

    def finish(self) -> None:
        try:
            super().finish()
        finally:
            self.server.sandbox._track(self.request, add=False)

    def do_GET(self) -> None:
        self._handle()

    def do_POST(self) -> None:
        self._handle()

    def do_PUT(self) -> None:
        self._handle()

    def do_DELETE(self) -> None:
        self._handle()

    def log_message(self, format: str, *args: Any) -> None:
        # The stdlib would print the request line, query string (credentials) included.
        return

    def _read_body(self) -> bytes | None:
        """The request body; None when the client hung up before sending all of it (a server
        never acts on a request it did not fully receive)."""
        length = int(self.headers.get("Content-Length") or 0)
        if length <= 0:
            return b""
        body = self.rfile.read(length)
        return body if len(body) == length else None

    def _handle(self) -> None:
        sandbox = self.server.sandbox
        at = time.time()
        started = time.monotonic()
        method = self.command
        split = urlsplit(self.path)
        path = unquote(split.path)
        pairs = parse_qsl(split.query, keep_blank_values=True)
        query = dict(pairs)
        names = tuple(dict.fromkeys(k for k, _ in pairs))
        raw_body = self._read_body()
        if raw_body is None:
            self.close_connection = True
            return
        if path.startswith("/_sandbox/"):
            self._send(sandbox._admin(method, path, query, self.headers, raw_body))
            return
        result = sandbox._process(method, path, query, self.headers, raw_body)
        status = result.status if isinstance(result, _Response) else None
        duration = time.monotonic() - started
        # Recorded before answering, so a client that got its answer finds it in the log.
        sandbox._record(
            RequestRecord(
                method=method,
                path=path,
                query_names=names,
                status=status,
                at=at,
                duration_s=duration,
                credentials_in_url="key" in query or "token" in query,
            )
        )
        logger.debug("%s %s -> %s (%.3f s)", method, path, status, duration)
        if isinstance(result, _Response):
            self._send(result)
        else:
            self.close_connection = True  # dropped: close without a single response byte

    def _send(self, response: _Response) -> None:
        """The status line, headers and body in one write: one system call and one wake-up
        of the client, where the stdlib's ``send_response`` … ``end_headers`` and a write of the
        body cost two of each. The same bytes: status line, ``Server``, ``Date``, then ours."""
        body = response.body
        if self.request_version == "HTTP/0.9":  # a bare body, as the stdlib answers 0.9
            self.wfile.write(body)
            return
        known = self.responses.get(response.status)
        head = [
            f"{self.protocol_version} {response.status} {known[0] if known else ''}",
            f"Server: {self.version_string()}",
            # Trello's clock is the world's: the one its actions are dated by.
            f"Date: {format_datetime(self.server.sandbox.world.clock(), usegmt=True)}",
            f"Content-Type: {response.content_type}",
            f"Content-Length: {len(body)}",
            *(f"{name}: {value}" for name, value in response.headers.items()),
        ]
        self.wfile.write(("\r\n".join(head) + "\r\n\r\n").encode("latin-1") + body)
