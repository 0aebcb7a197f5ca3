"""The bound on one request's time on the wire: from when it is sent (after its wait for the
rate limiter) until its whole answer is read, headers and body, at most ``max_request_s``
(connect plus read timeout).

The read timeout bounds each wait for a byte, not the answer: one that trickles in, a byte every
few seconds, took hours (R37b: a body; the headers alike). ``Watchdog`` shuts the request's
socket down at the deadline, which ends the read at once, and the request fails as a read
timeout. For a read it does so too when the run stops (Ctrl-C, SIGTERM: R37f waited for the
deadline); a write's answer is waited for. Undo's wait for a killed run's writes relies on the
same bound (``undo.in_flight_wait``).

The socket is known from when the connection is taken from its pool (``watched``: the
pools note it for the thread sending) until the answer is read: the connection's, or, once a
connection that closes after the answer has handed its socket over, the one under the answer.
"""

from __future__ import annotations

import contextlib
import math
import socket
import threading
from collections.abc import Callable
from typing import Any, Protocol

import requests
from urllib3.connectionpool import HTTPConnectionPool, HTTPSConnectionPool
from urllib3.poolmanager import PoolManager, pool_classes_by_scheme

__all__ = ["Stops", "Watchdog", "read_in_time", "watched"]

#: The watchdog of the request this thread is sending, if any (``_Noting._get_conn``).
_sending = threading.local()


class Stops(Protocol):
    """What tells a read's watchdog the run is stopping (``transport.Counters``)."""

    def reading(self, cut: Callable[[], None]) -> None: ...

    def read(self, cut: Callable[[], None]) -> None: ...


class Watchdog:
    """One request's deadline. ``start`` when it goes on the wire, ``answered`` when its
    headers are in, ``end`` once its answer is read or given up; ``timed_out`` (or the run
    stopping, for a read) says the socket was shut down on purpose."""

    def __init__(self, seconds: float, stops: Stops | None = None) -> None:
        self._seconds = seconds
        self._stops = stops
        self._lock = threading.Lock()
        self._cut = threading.Event()
        self._timer: threading.Timer | None = None
        self._connection: Any = None
        self._response: requests.Response | None = None
        #: Whether the connection went back to its pool (``released``).
        self._released = False

    @property
    def timed_out(self) -> bool:
        """Whether the request was cut: whatever came is no answer."""
        return self._cut.is_set()

    def start(self) -> None:
        """The request goes on the wire now."""
        if self._seconds == math.inf:
            return
        _sending.watchdog = self
        self._timer = threading.Timer(max(self._seconds, 0.0), self.cut)
        self._timer.daemon = True
        self._timer.start()
        if self._stops is not None:
            self._stops.reading(self.cut)

    def on(self, connection: Any) -> None:
        """The request goes on ``connection`` (taken from its pool)."""
        with self._lock:
            self._connection = connection
        if self._cut.is_set():
            self._shut()

    def released(self, connection: Any) -> None:
        """``connection`` goes back to its pool, its answer read: from now on it may carry
        another request, whose socket a late cut must not shut."""
        with self._lock:
            if connection is self._connection:
                self._connection = None
                self._released = True

    def answered(self, response: requests.Response) -> None:
        """The answer's headers are in; its body comes on ``response``'s socket."""
        with self._lock:
            self._response = response
        if self._cut.is_set():
            self._shut()

    def cut(self) -> None:
        """End the request now: the deadline passed, or the run is stopping (unless its answer
        is read: its connection back in its pool)."""
        with self._lock:
            if self._released:
                return
            self._cut.set()
        self._shut()

    def end(self) -> None:
        if self._timer is None:
            return
        self._timer.cancel()
        if self._stops is not None:
            self._stops.read(self.cut)
        if getattr(_sending, "watchdog", None) is self:
            _sending.watchdog = None

    def _shut(self) -> None:
        with self._lock:
            if self._released:
                return
            sock = _socket_of(self._response) if self._response is not None else None
            if sock is None:
                sock = getattr(self._connection, "sock", None)
        if isinstance(sock, socket.socket):
            with contextlib.suppress(OSError):
                sock.shutdown(socket.SHUT_RDWR)


def read_in_time(response: requests.Response, watchdog: Watchdog) -> None:
    """Read ``response``'s body now, while ``watchdog`` bounds it."""
    watchdog.answered(response)
    response.content  # noqa: B018 - read now, within the deadline


def _socket_of(response: requests.Response) -> socket.socket | None:
    """The socket ``response``'s body comes on: its connection's, or (a connection that
    handed it to the answer, which will close it) the one under the answer's file."""
    raw = response.raw
    sock = getattr(getattr(raw, "connection", None), "sock", None)
    if sock is None:
        reader = getattr(getattr(raw, "_fp", None), "fp", None)
        sock = getattr(getattr(reader, "raw", None), "_sock", None)
    return sock if isinstance(sock, socket.socket) else None


class _Noting:
    """A connection pool that tells the watchdog of the request this thread sends which
    connection it goes on, and when that connection goes back to the pool."""

    def _get_conn(self, timeout: float | None = None) -> Any:
        connection = super()._get_conn(timeout)  # type: ignore[misc]
        watchdog = getattr(_sending, "watchdog", None)
        if watchdog is not None:
            watchdog.on(connection)
        return connection

    def _put_conn(self, conn: Any) -> None:
        watchdog = getattr(_sending, "watchdog", None)
        if watchdog is not None:
            watchdog.released(conn)
        super()._put_conn(conn)  # type: ignore[misc]


class _HTTPPool(_Noting, HTTPConnectionPool):
    pass


class _HTTPSPool(_Noting, HTTPSConnectionPool):
    pass


def watched(manager: PoolManager) -> PoolManager:
    """``manager``, its new pools noting each request's connection for its watchdog; one with
    pools of its own kind (SOCKS) is left as it is (its requests' bodies are bounded still)."""
    if manager.pool_classes_by_scheme == pool_classes_by_scheme:
        manager.pool_classes_by_scheme = {"http": _HTTPPool, "https": _HTTPSPool}
    return manager
