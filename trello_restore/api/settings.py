"""How to reach Trello (``ApiSettings``), and the checks that the credentials and the API URL
are usable before any request is sent: a key or token with characters no Trello credential
has, or a URL that is not a plain http(s) base, is refused with a one-line error.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlsplit

from trello_restore import defaults
from trello_restore.api.retry import RetryPolicy
from trello_restore.errors import AuthError, ConfigError
from trello_restore.limiter import RateLimiter
from trello_restore.parsing import unseen_escaped

__all__ = [
    "DEFAULT_API_URL",
    "DEFAULT_CACHE_EXPIRE_S",
    "ApiSettings",
    "Origins",
    "api_identity",
    "check_api_url",
    "check_credentials",
    "host_of",
    "one_line",
    "same_api",
]

# One logger for the whole package, named as when it was one module (``-v`` output, filters).
logger = logging.getLogger("trello_restore.api")

DEFAULT_API_URL = defaults.API_URL
#: How long a cached answer is kept at most; ``max_age`` above it is capped to it. One day, so
#: that the fetcher's older history pages (``fetcher.HISTORY_MAX_AGE``) can come from the cache.
DEFAULT_CACHE_EXPIRE_S = 24 * 3600.0
#: Characters an API key or token may have: printable ASCII without quotes, commas, backslashes.
_CREDENTIAL_RE = re.compile(r"[!#-+\--\[\]-~]+")  # the whole value (``fullmatch``)


#: How messages name where the credentials and the API URL may come from when it is not known.
CREDENTIALS_FROM = "TRELLO_API_KEY and TRELLO_TOKEN"
API_URL_FROM = "--api-url / TRELLO_API_URL"


@dataclass(frozen=True)
class Origins:
    """Where a run's credentials, API URL and scope came from, in a message's words: an option
    (``--api-url``; ``--token -`` for the token read from standard input), a variable
    (``TRELLO_TOKEN``) or a config file key (``trello.token in /path/config.toml``); "" where
    it is not known (settings built by tests or the demo): messages then name every place it
    may come from. Never a value (``config.Settings.origins`` builds it)."""

    api_key: str = ""
    token: str = ""
    api_url: str = ""
    #: Where the board names and the workspace came from ("" for unknown).
    boards: str = ""
    workspace: str = ""
    #: The config file in a message's words: ``the config file (none is at PATH)`` when none
    #: was read (R78c: cron's other ``XDG_CONFIG_HOME`` showed where it looked); "" unknown.
    config_file: str = ""

    @property
    def config(self) -> str:
        """How a message names the config file: ``config_file``, or "the config file"."""
        return self.config_file or "the config file"

    @property
    def credentials(self) -> str:
        """The key's and the token's sources: ``trello.api_key and trello.token in FILE``,
        ``TRELLO_API_KEY and --token -``; ``TRELLO_API_KEY and TRELLO_TOKEN`` when unknown."""
        if not (self.api_key and self.token):
            return CREDENTIALS_FROM
        key, _, key_file = self.api_key.partition(" in ")
        token, _, token_file = self.token.partition(" in ")
        if key_file and key_file == token_file:
            return f"{key} and {token} in {key_file}"
        return f"{self.api_key} and {self.token}"

    @property
    def url(self) -> str:
        """The API URL's source (``trello.api_url in FILE``), or every place it may come from."""
        return self.api_url or API_URL_FROM


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
    connect_timeout: float = defaults.CONNECT_TIMEOUT_S
    #: Seconds to wait for an answer (between bytes).
    read_timeout: float = defaults.READ_TIMEOUT_S
    #: Retries of a read after a 429, a 5xx or a connection error (attempts = retries + 1).
    read_retries: int = defaults.MAX_RETRIES
    #: Backoff base in seconds: ``backoff_s * 2**n`` with jitter, at most ``MAX_BACKOFF_S``.
    backoff_s: float = defaults.BACKOFF_S
    #: Trello's rate-limit window: a 429 waits at least this long before the next attempt.
    rate_window_s: float = defaults.RATE_WINDOW_S
    #: How long a cached answer is kept; also the ceiling of ``max_age``.
    cache_expire_s: float = DEFAULT_CACHE_EXPIRE_S
    #: The client-side rate limiter every request sent over the network waits for (shared by
    #: all threads and sessions); None for none. ``TrelloApi.use_limiter`` can set it later.
    limiter: RateLimiter | None = field(default=None, repr=False, compare=False)
    #: Called at a read's 429 before it waits to retry; what it raises ends the read (a
    #: one-step run's ``locks.RateBudgetGuard``). None: every 429 is waited out.
    on_rate_limited: Callable[[], None] | None = field(default=None, repr=False, compare=False)
    #: Where the credentials and the API URL came from, for messages.
    origins: Origins = field(default_factory=Origins, compare=False)

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
        return host_of(self.api_url)

    @property
    def max_request_s(self) -> float:
        """The longest one request can take before this client gives up on it (connect plus
        read timeout): how long a write sent by a run that was then killed may still be on
        its way to Trello (``undo`` waits that long before it reads what such writes did)."""
        return self.connect_timeout + self.read_timeout

    @staticmethod
    def timeouts(request_timeout: float | None) -> tuple[float, float]:
        """``(connect_timeout, read_timeout)`` of the ``request_timeout`` setting (seconds to
        wait for an answer; connecting may take as long, at most ``CONNECT_TIMEOUT_S``); the
        defaults for None."""
        if request_timeout is None:
            return defaults.CONNECT_TIMEOUT_S, defaults.READ_TIMEOUT_S
        return min(defaults.CONNECT_TIMEOUT_S, request_timeout), request_timeout

    @property
    def read_policy(self) -> RetryPolicy:
        """How reads are retried (``read_retries``, ``backoff_s``, ``rate_window_s``)."""
        return RetryPolicy(
            retries=self.read_retries, backoff_s=self.backoff_s, rate_window_s=self.rate_window_s
        )


def host_of(api_url: str) -> str:
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


#: The names of this machine an API URL may use: one server to the journals and plans.
_LOOPBACK = frozenset({"localhost", "127.0.0.1", "::1"})
_DEFAULT_PORTS = {"http": 80, "https": 443}


def same_api(a: str, b: str) -> bool:
    """Whether two API URLs name the same API: alike but for a last ``/``, the case of the
    scheme and host, a default port written out, or this machine named ``localhost``,
    ``127.0.0.1`` or ``[::1]`` (the sandbox answers on all three; a journal written through
    one was another API to the undo guards, which then said nothing)."""
    return api_identity(a) == api_identity(b)


def api_identity(api_url: str) -> str:
    """``api_url`` as one API's one spelling (``same_api``): what the last-run state is named
    from. Trello's URL and the sandbox's ``http://127.0.0.1:PORT/1`` are their own."""
    text = api_url.strip().rstrip("/")
    if not _BASE_CHARS.fullmatch(text):  # a query, … : no base URL, its own (and refused)
        return text
    try:
        parts = urlsplit(text)
        port = parts.port
    except ValueError:
        return text
    scheme = parts.scheme.lower()
    host = parts.hostname or ""
    if host in _LOOPBACK:
        host = "127.0.0.1"
    if port == _DEFAULT_PORTS.get(scheme):
        port = None
    return f"{scheme}://{host}{f':{port}' if port else ''}{parts.path.rstrip('/')}"


def one_line(text: str, limit: int = 200) -> str:
    """Trello's (or a proxy's) text on one line of at most ``limit`` characters, white space
    runs made one space and what ``quote_name`` escapes (a control or format character) shown
    escaped: R39a, a 401 whose text held ``ESC]0;…BEL`` retitled the terminal."""
    line = unseen_escaped(" ".join(text.split()))
    return line if len(line) <= limit else line[: limit - 1] + "…"


def check_credentials(key: str, token: str, origins: Origins | None = None) -> None:
    """``AuthError`` before any request when the key or token is missing or malformed; a
    malformed one is named by where it came from (``origins``) when that is known."""
    said = origins or Origins()
    if not key.strip() and not token.strip():
        raise AuthError(
            "no Trello credentials (neither the API key nor the token is set): set "
            "TRELLO_API_KEY and TRELLO_TOKEN, or api_key and token in the [trello] section of "
            f"{said.config}; the token can also come from --token - on standard input"
        )
    if not key.strip():
        raise AuthError(
            "no Trello credentials: the API key is missing (the token is set); set "
            f"TRELLO_API_KEY, or api_key in the [trello] section of {said.config}"
        )
    if not token.strip():
        raise AuthError(
            "no Trello credentials: the token is missing (the API key is set); set "
            f"TRELLO_TOKEN, token in the [trello] section of {said.config}, or pass --token - "
            "and give it on standard input"
        )
    sources = {
        "API key": said.api_key or "TRELLO_API_KEY or api_key in the config file",
        "token": said.token or "TRELLO_TOKEN, token in the config file, or what --token - read",
    }
    for name, value in (("API key", key), ("token", token)):
        # ``fullmatch``: ``$`` of a ``match`` also matches before a last newline, and a token
        # ending in one (a config file's multi-line string) made requests fail on the header
        # with the key and token in Python's error.
        if not _CREDENTIAL_RE.fullmatch(value):
            raise AuthError(
                f"the {name} has characters no Trello credential has (spaces, quotes, commas "
                f"or non-ASCII): check where it comes from ({sources[name]})"
            )


def shown_url(api_url: str) -> str:
    """``api_url`` as an error or the log shows it: on one line, cut short, without a user
    name or password, and never past the first character an API's base URL has no use for
    (``?``, ``#``, ``;``, ``&``, ``=``, ``%``, …: what follows may be a key and a token, which
    Trello's own examples pass in a URL; R34e: ``…/1&key=…`` and ``…/1%3Fkey%3D…`` showed
    them), marked with ``…`` where cut."""
    text = re.sub(r"(?<=//)[^/@]*@", "", api_url.strip(), count=1)
    safe = _BASE_CHARS.match(text)
    base = safe.group(0) if safe else ""
    return one_line(base + ("…" if base != text else ""), 80)


#: The characters of an API's base URL (scheme, host, port, path): all it is shown up to.
_BASE_CHARS = re.compile(r"[A-Za-z0-9.:/_~\-\[\]]*")


def check_api_url(api_url: str, origin: str = API_URL_FROM) -> None:
    """``ConfigError`` unless ``api_url`` is a plain http(s) base; warns about plain http to a
    host that is not this machine (the token would travel unencrypted). Messages name the URL
    by ``origin``, where it came from (``Origins.url``)."""
    shown = shown_url(api_url)
    try:
        parts = urlsplit(api_url)
    except ValueError:  # e.g. "Invalid IPv6 URL"
        raise ConfigError(
            f"{origin} must be an http(s) URL like {DEFAULT_API_URL}, not {shown!r}"
        ) from None
    if parts.username is not None or parts.password is not None:
        raise ConfigError(f"{origin} must not hold a user name or password")
    if parts.query or parts.fragment or not _BASE_CHARS.fullmatch(api_url.strip()):
        # Not shown: a URL with ``?key=…&token=…`` is how Trello's own examples pass them.
        raise ConfigError(
            f"{origin} must be the API's base URL alone, like {DEFAULT_API_URL}: no query, "
            "fragment or other characters ('?', '#', ';', '&', '=', '%', spaces); the API key "
            "and token go in TRELLO_API_KEY and TRELLO_TOKEN (or the config file), never in a URL"
        )
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise ConfigError(f"{origin} must be an http(s) URL like {DEFAULT_API_URL}, not {shown!r}")
    try:
        parts.port  # noqa: B018 - validates the port
    except ValueError:
        raise ConfigError(f"{origin} has an invalid port: {shown!r}") from None
    try:
        parts.hostname.encode("idna")  # as requests-cache's key does: R42d, an internal error
    except UnicodeError:
        raise ConfigError(
            f"{origin} has an invalid host name (a part empty or longer than 63 characters): "
            f"{shown!r}"
        ) from None
    if not parts.path.rstrip("/").endswith("/1"):  # every request path is relative to it
        raise ConfigError(
            f"{origin} {shown!r} should end in /1, the API's "
            f"version (e.g. {DEFAULT_API_URL}, or a sandbox's http://127.0.0.1:PORT/1)"
        )
    if parts.scheme == "http" and parts.hostname not in ("127.0.0.1", "localhost", "::1"):
        logger.warning(
            "the API URL %s is plain http: the token travels unencrypted", host_of(api_url)
        )
