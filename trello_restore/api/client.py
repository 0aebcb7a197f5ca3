"""The Trello client: ``TrelloApi`` reads and writes through py-trello's ``TrelloClient``
(``_Client``), over a ``transport.Transport`` per thread.

Threads: ``requests.Session`` makes no thread-safety promise (psf/requests#2766; its maintainers
advise one session per thread, #1871), so each thread that uses a ``TrelloApi`` gets its own
session and py-trello client (``TrelloApi.client``), all sharing the counters and the limiter.

Writes (``add_card_member``, ``add_board_member``, ``remove_card_member``,
``remove_board_member``; for the value kinds of design.md §10 ``set_card_closed``,
``move_card``, ``set_card_field``, ``set_list_closed``) go through py-trello's
``Card``/``Board``/``List`` objects, built without fetching anything, with ``MemberStandIn``
namedtuples where py-trello wants a member (it reads only ``.id``; notes §11.6). They get one
attempt: the applier decides about retrying a write.
"""

from __future__ import annotations

import contextlib
import re
import threading
from collections.abc import Iterator, Mapping
from datetime import datetime, timedelta
from types import TracebackType
from typing import Any, NamedTuple, Self

import requests
import trello

from trello_restore.api.cache import NO_STORE, cache_directive, open_http_cache
from trello_restore.api.classify import describe, maybe_made
from trello_restore.api.settings import ApiSettings, check_api_url, check_credentials
from trello_restore.api.transport import Counters, OAuthHeader, Transport, make_session
from trello_restore.errors import BadResponse
from trello_restore.limiter import RateLimiter

__all__ = ["MemberStandIn", "TrelloApi"]

#: The card fields ``set_card_field`` writes (design.md §10.1).
_CARD_FIELDS = frozenset({"name", "desc", "due", "dueComplete", "start"})
#: ``/1/members/{id}`` itself (not nested routes): its own 100 per 900 s limit (design.md §2).
_MEMBER_BY_ID_RE = re.compile(r"^members/([^/]+)/?$")
#: How old a kept answer of ``members/me`` (the token's account) ``me`` may use, in seconds.
#: That route counts against Trello's 100 requests per 900 s on ``/1/members/`` (notes §0.8):
#: read fresh by every run, a script that runs the tool board by board, or 100 runs in 15
#: minutes, is refused there. A token's member never changes, and the HTTP cache is a file per
#: key and token (``cache_file_name``), so a kept answer is that token's; a token revoked since
#: is refused (401) by the run's next request instead. Only the names it shows can be stale.
ACCOUNT_MAX_AGE_S = 3600.0


class _Client(trello.TrelloClient):  # type: ignore[misc]  # py-trello has no type hints
    """py-trello's client over the transport: header credentials, typed errors for answers
    that are not JSON, and no look-ups of ``/1/members/{id}``."""

    def __init__(self, key: str, token: str, session: Transport) -> None:
        super().__init__(api_key=key, token=token, http_service=session)
        # Not py-trello's OAuth1 signing: Trello documents the plain header, and a non-None
        # ``oauth`` keeps fetch_json from adding ``key``/``token`` to the query string.
        self.oauth = OAuthHeader(key, token)
        self._host = session.api_host
        self._url_from = session.api_url_from

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
            answer = super().fetch_json(
                uri_path,
                http_method=http_method,
                headers=headers,
                query_params=query_params,
                post_args=post_args,
                files=files,
            )
        except (requests.exceptions.JSONDecodeError, RecursionError):  # nested past the stack
            raise BadResponse(
                f"the API at {self._host} answered {http_method} {describe(uri_path)} with a "
                f"body that is not valid JSON{maybe_made(http_method)}: check {self._url_from}",
                200,
            ) from None
        except trello.ResourceUnavailable as err:  # pragma: no cover - the transport raises first
            # The transport hands py-trello every 2xx as 200 and raises a typed error for the
            # rest, so py-trello's own refusal cannot happen; typed all the same if it does.
            status = getattr(err, "_status", None)
            raise BadResponse(
                f"the API at {self._host} answered {http_method} {describe(uri_path)} with "
                f"HTTP {status}, which py-trello refused: check {self._url_from}",
                status if isinstance(status, int) else None,
            ) from None
        what = _not_trello_s(uri_path, post_args, answer) if http_method.upper() != "GET" else ""
        if what:
            # R86d: a portal or proxy answered the write itself, with a 2xx: not Trello's
            # success, and it may or may not have reached Trello (``runner``: failed, uncertain).
            raise BadResponse(
                f"the API at {self._host} answered {http_method} {describe(uri_path)} with "
                f"{what}{maybe_made(http_method)}: check {self._url_from} (a proxy or a login "
                "page may be in the way)",
                200,
            )
        return answer


def _kept_shape(answer: object, many: bool) -> bool:
    """Whether a read's answer is of a shape that those this tool lets the cache serve have:
    a Trello object (with an ``id``), or for a listing (``many``) a list of them (R87c:
    ``members/me`` answered ``[]`` was kept)."""
    if many:
        return isinstance(answer, list) and all(_kept_shape(x, False) for x in answer)
    return isinstance(answer, dict) and isinstance(answer.get("id"), str)


def _ids(answer: object) -> set[object]:
    """The ids of a list of objects (a card's members); none for anything else."""
    return (
        {x.get("id") for x in answer if isinstance(x, dict)} if isinstance(answer, list) else set()
    )


def _listing(path: str) -> bool:
    """Whether ``path`` reads a list (``members/me/boards``, ``boards/{id}/actions``…), not
    one object (``members/me``, ``boards/{id}``)."""
    return path.rstrip("/").rsplit("/", 1)[-1] in _LISTINGS


#: The last part of the paths that read lists.
_LISTINGS = frozenset({"actions", "boards", "cards", "lists", "members", "memberships"})


def _not_trello_s(uri_path: str, post_args: dict[str, Any] | None, answer: object) -> str:
    """What a write's 2xx answer is, when no answer of Trello's to it: an error body
    (``_error_shaped``), or for a card member's add one without that member among the card's
    (R87c: Trello answers with the card's members, notes §3, never ``{}``); "" when it may be
    Trello's."""
    if _error_shaped(answer):
        return "an error under a success status"
    added = (post_args or {}).get("value") if uri_path.endswith("/idMembers") else None
    return "no answer of Trello's" if added and added not in _ids(answer) else ""


def _error_shaped(answer: object) -> bool:
    """Whether a write's answer is an error body, as Trello's (``{"message": …, "error": …}``)
    or a portal's (either key alone, R87b): no object a write of Trello's answers with (those
    have an ``id``, or are lists)."""
    return (
        isinstance(answer, dict)
        and "id" not in answer
        and ("error" in answer or "message" in answer)
    )


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
        unusable ``api_url`` or a cache directory that cannot be made. A cache file that cannot
        be used (or that another run is using) is not an error: the reads go without the HTTP
        cache (``open_http_cache``).
        """
        # The URL first: one that holds the key and token (Trello's own examples pass them so)
        # is the mistake to name, not the credentials missing from where they belong.
        check_api_url(settings.api_url, settings.origins.url)
        check_credentials(settings.key, settings.token, settings.origins)
        self.settings = settings
        self._counters = Counters(settings.limiter)
        # The creating thread's session and client; other threads get their own (_thread_client).
        self._owner = threading.current_thread()
        # The account's cache file, held until close() (None: no HTTP cache for this run).
        #: Whether the HTTP cache was left out, with a warning, for its read-only file system.
        self.cache_read_only = False
        self._cache = open_http_cache(settings, on_read_only=self._cache_read_only)
        try:
            self._session = make_session(settings, self._counters, self._cache)
        except BaseException:
            if self._cache is not None:
                self._cache.close()
            raise
        self._client = _Client(settings.key, settings.token, self._session)
        self._local = threading.local()
        self._others: list[tuple[threading.Thread, Transport]] = []
        self._others_lock = threading.Lock()
        self._me: dict[str, Any] | None = None
        self._me_lock = threading.Lock()
        self._closed = False

    def _cache_read_only(self) -> None:
        self.cache_read_only = True

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
            session = make_session(self.settings, self._counters, self._cache)
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
    def first_server_date(self) -> datetime | None:
        """The earliest ``Date`` of Trello's answers over the network so far (whole seconds):
        Trello's clock at or before everything read since, None before the first answer."""
        return self._counters.first_date

    @property
    def clock_skew(self) -> timedelta | None:
        """How far Trello's clock is ahead of this machine's (negative: behind), from the
        ``Date`` of its answers over the network so far (to about a second); None before the
        first."""
        return self._counters.skew

    @property
    def cache_hits(self) -> int:
        """Answers served from the HTTP cache."""
        return self._counters.hits

    def get(
        self,
        path: str,
        params: Mapping[str, str] | None = None,
        *,
        max_age: float | None = None,
        keep: bool = True,
    ) -> Any:
        """GET ``path`` (relative to the API base, e.g. ``boards/abc/actions``) and return the
        parsed JSON.

        ``max_age=None`` always fetches from the network (the answer is still stored);
        ``max_age=N`` may use a cached answer fetched less than N seconds ago (N is capped at
        ``cache_expire_s``). ``keep=False`` fetches from the network and stores nothing
        (``no-store``): for answers kept elsewhere, such as action pages the history store
        holds. Raises ``ApiError`` subclasses; ``ValueError`` for a path with a
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
        return self._fetch(path, query, max_age, keep)

    def me(self) -> dict[str, Any]:
        """The token's member (``id``, ``username``, ``fullName``), fetched once per object,
        from the HTTP cache when it holds an answer younger than ``ACCOUNT_MAX_AGE_S``."""
        with self._me_lock:
            if self._me is None:
                raw = self._fetch(
                    "members/me", {"fields": "id,username,fullName"}, ACCOUNT_MAX_AGE_S
                )
                if not isinstance(raw, dict) or not isinstance(raw.get("id"), str):
                    raise BadResponse(
                        f"the API at {self.settings.host} answered members/me without a member "
                        f"id: check {self.settings.origins.url}",
                        200,
                    )
                self._me = raw
            return dict(self._me)

    def knows_me(self, member: Mapping[str, str]) -> None:
        """Take ``member`` (``id``, ``username``, ``fullName``) as the token's member, as
        another session of this run has just read it: ``me`` then sends no request (R57e: a
        one-step run read ``members/me`` twice, the second time fresh; Trello allows 100
        requests per 15 minutes on ``/1/members/``)."""
        with self._me_lock:
            self._me = dict(member)

    def _fetch(
        self, path: str, query: dict[str, str], max_age: float | None, keep: bool = True
    ) -> Any:
        """``_read``, and again from the network when the cache served an answer that is not
        of the shape of any this tool lets it serve (``_kept_shape``), or not JSON: one a
        portal or proxy gave once must not fail every run while it is fresh (R86d: the
        account was kept an hour, and no run could plan, sending no request). The new answer
        replaces it. An answer from the network is the caller's to judge, as before."""
        hits = self.cache_hits
        try:
            answer = self._read(path, query, max_age, keep)
        except BadResponse:
            if self.cache_hits == hits:
                raise
        else:
            if self.cache_hits == hits or _kept_shape(answer, _listing(path)):
                return answer
        return self._read(path, query, None, keep)

    def _read(
        self, path: str, query: dict[str, str], max_age: float | None, keep: bool = True
    ) -> Any:
        if self._closed:
            raise RuntimeError("this TrelloApi is closed")
        headers: dict[str, str] = {}
        if self.settings.cache_dir is not None:
            headers["Cache-Control"] = (
                cache_directive(max_age, self.settings.cache_expire_s) if keep else NO_STORE
            )
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

    def set_card_closed(self, card_id: str, closed: bool) -> Any:
        """``PUT /1/cards/{id}`` with ``closed``: archive or unarchive a card (one attempt)."""
        return self._put_card(card_id, {"closed": closed})

    def move_card(self, card_id: str, list_id: str) -> Any:
        """``PUT /1/cards/{id}`` with ``idList`` and ``pos=bottom``: move a card to another list
        of its board (one attempt)."""
        return self._put_card(card_id, {"idList": list_id, "pos": "bottom"})

    def set_card_field(self, card_id: str, field: str, value: str | bool | None) -> Any:
        """``PUT /1/cards/{id}`` with one field (``name``, ``desc``, ``due``, ``dueComplete``,
        ``start``) in the JSON body; ``None`` (JSON ``null``) clears a date (one attempt)."""
        if field not in _CARD_FIELDS:
            raise ValueError(f"not a card field this tool writes: {field!r}")
        return self._put_card(card_id, {field: value})

    def set_list_closed(self, list_id: str, closed: bool) -> Any:
        """``PUT /1/lists/{id}/closed`` with ``value`` (py-trello ``List.close``/``open``):
        archive or unarchive a list (one attempt)."""
        lst = trello.List(self._board_object(""), list_id)
        return lst.close() if closed else lst.open()

    def _put_card(self, card_id: str, fields: dict[str, Any]) -> Any:
        """``PUT /1/cards/{id}`` through a py-trello ``Card`` built without fetching."""
        card = trello.Card(self._board_object(""), card_id)
        return card.client.fetch_json(f"/cards/{card.id}", http_method="PUT", post_args=fields)

    def _board_object(self, board_id: str) -> Any:
        """A py-trello ``Board`` over this thread's client, built without fetching."""
        if self._closed:
            raise RuntimeError("this TrelloApi is closed")
        return trello.Board(client=self._thread_client(), board_id=board_id)

    def stop(self) -> None:
        """The run is stopping (Ctrl-C): from now on no request of any thread is sent; those
        waiting for the rate limiter or for a retry raise ``limiter.Stopping`` (a
        ``KeyboardInterrupt``) at once, those on the wire are answered as usual."""
        self._counters.stop()

    @property
    def stopping(self) -> bool:
        """True once ``stop`` was called."""
        return self._counters.closing.is_set()

    @contextlib.contextmanager
    def stop_on_interrupt(self) -> Iterator[None]:
        """``stop`` when the block ends with Ctrl-C (or another ``BaseException`` that is no
        ``Exception``): inside a thread pool's ``with``, so that the pool's shutdown does not
        wait for its threads' limiter waits and retries."""
        try:
            yield
        except Exception:
            raise
        except BaseException:
            self.stop()
            raise

    def close(self) -> None:
        """Close the sessions, then let go of the cache file."""
        if not self._closed:
            self._closed = True
            try:
                self._session.close()
                with self._others_lock:
                    others, self._others = self._others, []
                for _, session in others:
                    session.close()
            finally:
                if self._cache is not None:
                    self._cache.close()

    def __enter__(self) -> Self:
        """The API itself."""
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        """Close (after ``stop`` when the block ends with Ctrl-C)."""
        if exc_type is not None and not issubclass(exc_type, Exception):
            self.stop()
        self.close()

    def __repr__(self) -> str:
        return f"<TrelloApi {self.settings.api_url}>"
