"""The HTTP boundary: the only package that imports ``requests``, ``requests_cache`` and
``trello`` (py-trello). Everything above it sees parsed JSON and the typed errors of
``errors.py``. Import from here (``from trello_restore.api import TrelloApi``); the modules,
one job each:

- ``settings``: ``ApiSettings`` (how to reach Trello), and the credential and URL checks.
- ``classify``: the typed error for an answer or an exception; ``certainly_not_applied``;
  credential scrubbing.
- ``retry``: ``RetryPolicy``, the backoff, jitter and 429 rules of read and write retries.
- ``transport``: sessions (cached or plain), the rate limiter and counters, the credentials
  header, read retries.
- ``cache``: the HTTP cache's file, which one run uses at a time (``HttpCache``), and its
  SQLite tables, which never wait without end.
- ``client``: ``TrelloApi`` over py-trello, and ``MemberStandIn``.

A read travels down these layers (trello-api-notes.md §11, §12; style.md habits 2, 6, 7):

1. ``TrelloApi.get`` checks the path, turns ``max_age`` into a ``Cache-Control`` directive for the
   local cache (``cache_directive``) and calls py-trello's ``fetch_json``.
2. ``client._Client.fetch_json`` (a ``TrelloClient``) builds the request on py-trello's fixed
   ``https://api.trello.com/1/`` base; credentials ride in the ``Authorization`` header set by
   ``transport.OAuthHeader``, never in the URL. A success that is not JSON becomes
   ``BadResponse``.
3. ``transport.Transport.request`` (the injected ``http_service``) rewrites the base to
   ``ApiSettings.api_url``, sets the timeouts, retries reads (GET only) on 429, 5xx and
   connection trouble as ``ApiSettings.read_policy`` says, and raises the typed error that
   ``error_for_response`` / ``error_for_exception`` decide on. Writes get one attempt and the
   same typed errors. Every 2xx is a success, for reads and writes: Trello answered
   ``202 Accepted`` for a while in 2025 (TRELLO-218085, trello-api-notes.md §13.3), and
   py-trello's ``fetch_json`` accepts only 200, so another 2xx reaches it as 200
   (``transport._as_success``).
4. ``requests_cache.CacheMixin`` (only with a ``cache_dir``, and while no other run uses it):
   one SQLite file per account (``cache``).
5. ``transport._NetworkAdapter.send``: the wire. It waits for the shared ``RateLimiter`` (when
   there is one), counts the requests really sent and drops the local cache directive so that
   it is not sent to Trello. Cache hits never get this far, so they cost no rate budget; every
   retry does.

A 429 answer (``Transport._attempt``) is a rate limit whatever its body says (Trello's usual
``API_TOKEN_LIMIT_EXCEEDED``, ``UNKNOWN_EXTENSION_LIMIT_EXCEEDED``, an unknown code, an empty or
HTML body: notes §13.4); it is counted and penalizes the shared limiter for one window
(``retry.rate_limit_pause``), so every thread slows down, not just the one that got it. Every
answer's ``x-rate-limit-api-token-*`` and ``x-rate-limit-api-key-*`` headers tell the limiter
how much of each window Trello counts as used, so requests it did not send (a plan fetched just
before, another process on the same token or key) count too.

The decisions (``error_for_response``, ``error_for_exception``, ``certainly_not_applied``,
``RetryPolicy.delay``, ``cache_directive``) are pure functions; the classes only carry them
out, and the applier uses the same ones for its write retries (``applier.Runner._send``).
"""

from __future__ import annotations

from trello_restore.api.cache import cache_directive, cache_file_name
from trello_restore.api.classify import (
    MAYBE_MADE,
    certainly_not_applied,
    error_for_exception,
    error_for_response,
)
from trello_restore.api.client import MemberStandIn, TrelloApi
from trello_restore.api.retry import MAX_BACKOFF_S, MAX_RETRY_AFTER_S, RetryPolicy
from trello_restore.api.settings import (
    DEFAULT_API_URL,
    DEFAULT_CACHE_EXPIRE_S,
    ApiSettings,
    shown_url,
)
from trello_restore.api.transport import IGNORED_PARAMETERS, writes_sent

__all__ = [
    "DEFAULT_API_URL",
    "DEFAULT_CACHE_EXPIRE_S",
    "IGNORED_PARAMETERS",
    "MAX_BACKOFF_S",
    "MAX_RETRY_AFTER_S",
    "MAYBE_MADE",
    "ApiSettings",
    "MemberStandIn",
    "RetryPolicy",
    "TrelloApi",
    "cache_directive",
    "cache_file_name",
    "certainly_not_applied",
    "error_for_exception",
    "error_for_response",
    "shown_url",
    "writes_sent",
]
