"""What a failed request means: the typed error (``errors.py``) for an answer that is not a
success (``error_for_response``) or for no usable answer at all (``error_for_exception``),
whether a failed write certainly did not happen (``certainly_not_applied``), and the scrubbing
of credentials out of what an answer echoed back (``scrub``, with ``masking.Mask``).

Pure functions of the status, the body and the exception types: messages are one line with the
advice (trello-api-notes.md §4), and never copy a URL or an exception's text, which may hold a
credential.
"""

from __future__ import annotations

import json
import math
import re

import requests
import urllib3.exceptions

from trello_restore.api.settings import DEFAULT_API_URL, Origins, host_of, one_line
from trello_restore.errors import (
    ApiError,
    ApiUnreachable,
    AuthError,
    BadRequest,
    BadResponse,
    NotFound,
    OutOfFiles,
    PermissionDenied,
    RateLimited,
)
from trello_restore.masking import Mask

__all__ = [
    "certainly_not_applied",
    "describe",
    "error_body",
    "error_for_exception",
    "error_for_response",
    "error_for_tls_files",
    "parse_retry_after",
    "scrub",
    "trello_error_text",
]


def _member_route(path: str) -> bool:
    """Whether ``path`` is ``members/<id or me>`` itself: the route under Trello's limit of 100
    requests per 15 minutes (notes §0.8; nested routes such as ``members/me/boards`` are not)."""
    parts = path.strip("/").split("?")[0].split("/")
    if parts and parts[0] == "1":
        parts = parts[1:]
    return len(parts) == 2 and parts[0] == "members"


#: Paths whose second segment is the id of a board, card, list, … (for messages).
_OBJECT_PATH_RE = re.compile(
    r"^(board|card|list|organization|action|checklist|label)s/([^/]+)(?:/.*)?$"
)


#: What a 429 body says when the limit is not the /1/members/ route's (trello-api-notes.md
#: §0.8, §13.4).
_TEN_SECOND_LIMITS = (
    "API_TOKEN_LIMIT_EXCEEDED",
    "API_KEY_LIMIT_EXCEEDED",
    "UNKNOWN_EXTENSION_LIMIT_EXCEEDED",
    "API_TOKEN_DB_LIMIT_EXCEEDED",
)


def error_for_response(
    status: int,
    body: str,
    *,
    method: str = "GET",
    path: str = "",
    api_url: str = DEFAULT_API_URL,
    attempts: int = 1,
    retry_after: float | None = None,
    origins: Origins | None = None,
    location: str | None = None,
) -> ApiError | None:
    """The typed error for an answer that is not a success, or None for a 2xx (``location``: a
    redirect's, which is never followed).

    ``path`` is relative to the API base (``boards/abc/actions``); ``attempts`` is how many were
    made (retries included). Statuses (trello-api-notes.md §4): 401 is ``AuthError``, except the
    ``unauthorized … permission / organization`` texts, which are ``PermissionDenied`` like
    403; 404 ``NotFound``; 429 ``RateLimited``; a 449 (a sub-request refused) as its
    ``originalStatus`` (``_sub_request_status``); 408 and 5xx ``ApiUnreachable``; other 4xx
    ``BadRequest``; anything else ``BadResponse``. The error carries the status it is read as
    and Trello's error text or code (``trello_error``); its message is one line with the
    advice, which names where the credentials and the API URL came from (``origins``) when that
    is known.
    """
    if 200 <= status < 300:
        return None
    text = trello_error_text(body)
    answered = status
    sub_status = _sub_request_status(status, body, path)
    if sub_status is not None:
        # 449 "Sub-Request Failed" (trello-api-notes.md §4, [PAGE-auxerrors]): a part of the
        # request was refused with ``originalStatus``, "any place where a 4XX error was
        # previously occurring"; read as that status (the error carries it), said as answered.
        status = sub_status
    said = f" ({text})" if text else f" (HTTP {answered})"
    thing = describe(path)
    after = f" after {attempts} attempts" if attempts > 1 else ""
    host = host_of(api_url)
    said_by = origins or Origins()
    if status == 401 and not _is_permission_text(text):
        return AuthError(
            f"Trello rejected the API key or token{said}: check {said_by.credentials} "
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
            f"and {said_by.api_url or '--api-url'}",
            status,
            text,
        )
    if status == 429:
        # The body names the limit when it can: the token's or key's 10 s one (a storm, another
        # program) on members/me is that one, not the route's 15 minutes.
        other_limit = any(x in body for x in _TEN_SECOND_LIMITS)
        member_limit = any(x in body for x in ("MEMBER_LIMIT", "/1/member"))
        if member_limit or (_member_route(path) and not other_limit):
            # 100 requests per 900 s on /1/members/* (trello-api-notes.md §0.8): each run
            # reads members/me once, so many runs in a row can reach it.
            advice = (
                "Trello allows 100 requests per 15 minutes on /1/members/ (each run reads the "
                "token's account there once): wait up to 15 minutes and run again"
            )
        else:
            advice = "wait a minute and run again"
        return RateLimited(
            f"Trello kept rate limiting{after}{said}: {advice}, and check that no other "
            "program is using the same API key or token",
            status,
            text,
            retry_after,
        )
    if status == 408 or 500 <= status < 600:
        return ApiUnreachable(
            f"the Trello API at {host} answered HTTP {status}{after}"
            f"{' (' + text + ')' if text else ''}: Trello may be having trouble; try again later, "
            f"or check {said_by.url}",
            status,
            text,
        )
    if status == 407:  # not Trello's: a proxy's (R37b: "Trello refused …", no advice)
        return BadResponse(
            f"a proxy between this machine and {host} asks for credentials (HTTP 407): check "
            "HTTPS_PROXY / HTTP_PROXY (user:password@host) or ask whoever runs the proxy",
            status,
            text,
        )
    if 400 <= status < 500:
        return BadRequest(f"Trello refused {method.upper()} {thing}{said}", status, text)
    if 300 <= status < 400:
        where = f" to {host_of(location)}" if location and "://" in location else ""
        return BadResponse(
            f"the API at {host} answered {method.upper()} {thing} with a redirect{where} (HTTP "
            f"{status}), which Trello's API never does and this tool does not follow (the "
            f"credentials and the writes go to the API itself): check {said_by.url}",
            status,
            text,
        )
    return BadResponse(
        f"the API at {host} answered {method.upper()} {thing} with HTTP {status}, which Trello "
        f"never does: check {said_by.url}",
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
    origins: Origins | None = None,
) -> tuple[ApiError, bool]:
    """``(error, retryable)`` for a request that got no usable answer at all.

    The message names the API host and the kind of failure, decided from the exception's
    *types* (requests and urllib3 texts include URLs, so they are never copied into it).
    TLS failures and bad URLs are not worth retrying; the rest is. The advice names where the
    API URL came from (``origins``) when that is known.
    """
    host = host_of(api_url)
    url_from = (origins or Origins()).url
    after = f" after {attempts} attempts" if attempts > 1 else ""
    if isinstance(exc, requests.exceptions.TooManyRedirects):
        return (
            BadResponse(
                f"the API at {host} answered {method.upper()} {describe(path)} with a redirect "
                f"loop: check {url_from}"
            ),
            False,
        )
    if any(getattr(e, "errno", None) in OutOfFiles.ERRNOS for e in _exception_chain(exc)):
        return (
            OutOfFiles(
                f"cannot open a connection to the Trello API at {host}: this process has too "
                "many files open (raise `ulimit -n`, or lower --workers); nothing is wrong "
                "with Trello or the network"
            ),
            False,
        )
    reason, retryable = unreachable_reason(exc)
    said = f"cannot reach the Trello API at {host} ({reason})"
    if method.upper() != "GET" and retryable and not never_sent(exc):
        # It may have reached Trello, and the change may have been made (R67a: a write whose
        # answer a reset lost said "cannot reach", its member on the card).
        said = f"no answer from the Trello API at {host} ({reason}; {MAYBE_MADE})"
    return (
        ApiUnreachable(f"{said}{after}: check the network connection, or {url_from}"),
        retryable,
    )


def error_for_tls_files(exc: OSError, api_url: str) -> ApiUnreachable:
    """A request requests would not send because a TLS file it was told to use is missing:
    the CA bundle (``REQUESTS_CA_BUNDLE``, ``CURL_CA_BUNDLE``) or a client certificate. Its
    plain ``OSError`` went on as "cannot write the output" (R57d). Not worth retrying; its text
    names only the file."""
    return ApiUnreachable(
        f"cannot reach the Trello API at {host_of(api_url)} ({one_line(str(exc))}): check "
        "REQUESTS_CA_BUNDLE and CURL_CA_BUNDLE, which must name a file that exists"
    )


def unreachable_reason(exc: BaseException) -> tuple[str, bool]:
    """What kind of failure a request with no answer met, from the exception's types (never
    its text, which holds URLs), and whether a retry may help: for ``error_for_exception``,
    and for the warning of a run's first retry (R39c: it said "refused or dropped" of a host
    name that does not resolve)."""
    retryable = True
    chain = _exception_chain(exc)
    if isinstance(exc, requests.exceptions.SSLError):
        reason, retryable = "TLS failed: certificate or protocol problem", False
    elif isinstance(exc, requests.exceptions.ProxyError):
        reason = "the proxy refused or failed"
    elif isinstance(exc, requests.exceptions.ConnectTimeout):
        reason = "timed out connecting"
    elif isinstance(exc, requests.exceptions.ReadTimeout):
        reason = "timed out waiting for an answer"
    elif any(isinstance(e, urllib3.exceptions.ReadTimeoutError) for e in chain):
        reason = "timed out: the answer stopped coming"  # its body (R67a: "connection failed")
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
    return reason, retryable


def certainly_not_applied(error: ApiError) -> bool:
    """True when a write that failed with ``error`` certainly did not reach Trello's data.

    A 429 is refused before any processing, and a connection that was never established (or
    a host that did not resolve) carried nothing. After a 5xx, a read timeout or a connection
    dropped mid-answer the write may well have happened: a retry answered "already on the
    card" is then this tool's own doing (design.md §5, "Who added it"). Any other answer
    (4xx) is Trello's decision about the write itself.
    """
    if isinstance(error, RateLimited | OutOfFiles):  # no socket for it: never sent
        return True
    if not isinstance(error, ApiUnreachable) or error.status is not None:
        return False
    cause = error.__cause__
    return isinstance(cause, requests.RequestException) and never_sent(cause)


def never_sent(exc: requests.RequestException) -> bool:
    """A request that failed before it could leave: no connection was made (a timeout
    connecting, a refused connection, a name that does not resolve)."""
    if isinstance(exc, requests.exceptions.ConnectTimeout):
        return True
    return any(
        isinstance(
            e, urllib3.exceptions.NewConnectionError | urllib3.exceptions.NameResolutionError
        )
        for e in _exception_chain(exc)
    )


def error_body(response: requests.Response, content_type: str) -> str:
    """An error answer's body as text: as its ``charset`` says, else as UTF-8, which Trello
    sends. (requests reads a text type without a charset as ISO-8859-1, so a byte order mark or
    a no-break space before a proxy's HTML became ``ï»¿`` or ``Â``, and the page was shown as
    Trello's text: R72a.)"""
    if "charset=" in content_type.lower():
        return response.text
    return response.content.decode("utf-8", "replace")


def trello_error_text(body: str) -> str:
    """Trello's error code or text from an error body: the ``error`` code of a JSON body
    (``API_TOKEN_LIMIT_EXCEEDED``), else its ``message``; a plain-text body as one line; nothing
    from HTML pages (proxies and load balancers). A page is told by its body, not its label:
    which content type Trello gives its plain-text errors is unconfirmed (notes §4), and many
    servers label any string ``text/html``."""
    stripped = body.lstrip("\ufeff \t\r\n").strip()  # a byte order mark too
    if stripped.startswith("{"):
        try:
            data = json.loads(stripped)
        except (ValueError, RecursionError):
            data = None
        if isinstance(data, dict):
            code, message = data.get("error"), data.get("message") or data.get("originalMessage")
            if isinstance(code, str) and code and code.upper() != "ERROR":
                return one_line(code)
            if isinstance(message, str) and message:
                return one_line(message)
            return one_line(code) if isinstance(code, str) else ""
    if stripped.startswith("<"):
        return ""
    return one_line(stripped)


#: The statuses a 449's ``originalStatus`` is read as; any other (or none) is a refusal.
_SUB_REQUEST_STATUSES = frozenset({400, 401, 403, 404, 429})


def _sub_request_status(status: int, body: str, path: str) -> int | None:
    """For a 449, the status to read it as; None for any other answer.

    Its JSON body's ``originalStatus`` (``{path, originalMessage, originalStatus}``) when that
    is a 4xx the tool tells apart: a 401 is about rights (403), as the request itself was
    authenticated — but on ``members/<id or me>`` about the credentials (401); anything else
    (none, a 407, a 5xx, a number thousands of digits long, R45e) is a refusal (403, or 401 on
    ``members/``), never "no such board" (which a 400 or 404 would be, and a board's read takes
    for a deleted board)."""
    if status != 449:
        return None
    try:
        data = json.loads(body)
    except (ValueError, RecursionError):
        data = None
    original = data.get("originalStatus") if isinstance(data, dict) else None
    if isinstance(original, str) and original.isascii() and original.isdigit():
        original = int(original[:4])
    refused = 401 if _member_route(path) else 403  # the account's own read: the credentials
    if not isinstance(original, int) or isinstance(original, bool):
        return refused
    if original not in _SUB_REQUEST_STATUSES:
        return refused
    return refused if original == 401 else int(original)


def _is_permission_text(text: str) -> bool:
    """A 401 that is about rights, not credentials: Trello's ``unauthorized permission
    requested``, ``unauthorized member permission requested.``, ``unauthorized
    organization.``. Only those (R72a: a proxy's "you do not have permission to use this
    proxy" read as a board refusal, "ask a board admin")."""
    lowered = text.lower()
    return lowered.startswith("unauthorized ") and (
        "permission" in lowered or "organization" in lowered
    )


#: What a failed write that may have taken effect says of it (``runner``: failed, uncertain).
MAYBE_MADE = "the change may have been made"


def maybe_made(method: str) -> str:
    """What a success whose body cannot be read says of a write (not of a read): Trello took
    it, so it may have been made (``runner``: failed, uncertain; R54b)."""
    return "" if method.upper() == "GET" else f" ({MAYBE_MADE})"


def describe(path: str) -> str:
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


def parse_retry_after(value: str | None) -> float | None:
    """Seconds from a ``Retry-After`` header in its seconds form (the date form is ignored)."""
    if not value:
        return None
    try:
        seconds = float(value.strip())
    except ValueError:
        return None
    return seconds if seconds >= 0 and math.isfinite(seconds) else None


def scrub(error: ApiError, mask: Mask) -> ApiError:
    """Blank out any credential (``mask``: also in another letter case, cut short or in
    pieces, as the log blanks it; R57d) that an answer echoed back into the error's text."""
    message = str(error)
    if mask.holds(message) or mask.holds(error.trello_error):
        message = mask.redact(message)
        error.trello_error = mask.redact(error.trello_error)
    error.args = (message,)
    return error
