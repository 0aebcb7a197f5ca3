"""The HTTP cache's file: one SQLite file per account (``cache_file_name``: a hash, never the
key or token), created 0600 in a 0700 directory, read and written through requests-cache by
``transport``'s cached sessions; a read uses a stored answer only when it says how old an answer
it accepts (``cache_directive``).

One run uses the file at a time (``HttpCache``: a lock file beside it, held from
``open_http_cache`` to ``HttpCache.close``). A run that cannot use it (another run has it, it
cannot be made or opened, or it fails mid-run) reads Trello without it: the cache spares the
board look-ups, and the plan is the same either way.

Why: requests-cache 1.3's SQLite tables wait for the file's write lock without end
(``SQLiteDict._acquire_sqlite_lock`` retries ``BEGIN IMMEDIATE`` forever, and leaves the
transaction open, holding the lock for good, after any error but an ``OperationalError``), and
each new thread's session used to open and close a descriptor of the file, which releases every
SQLite lock the process holds on it: two runs at once could then write at the same moment
(``database disk image is malformed``) or wait on each other forever. ``CacheTables`` waits once,
for ``CACHE_BUSY_S``, and rolls back on any error; the file is opened outside SQLite once per
holder of the lock, before its first connection.
"""

from __future__ import annotations

import contextlib
import errno
import hashlib
import logging
import math
import os
import re
import sqlite3
import tempfile
import threading
import time
from collections.abc import Callable, Iterator
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from filelock import FileLock, Timeout
from requests_cache.backends.base import BaseCache
from requests_cache.backends.sqlite import SQLiteCache, SQLiteDict
from requests_cache.models.response import CachedResponse

from trello_restore.errors import ConfigError
from trello_restore.fsutil import (
    in_the_way,
    private_dirs,
    read_only_fix,
    sudo_advice,
    writable_dir,
)

if TYPE_CHECKING:
    import requests

    from trello_restore.api.settings import ApiSettings

__all__ = [
    "CACHE_BUSY_S",
    "NO_STORE",
    "STALE_PROBE_S",
    "CacheTables",
    "HttpCache",
    "cache_directive",
    "cache_file_name",
    "json_shaped",
    "open_http_cache",
]

logger = logging.getLogger("trello_restore.api")
# requests-cache reads an entry it cannot decode as a miss and says so on its own logger
# ("Unable to deserialize response"), which has no handler: Python's last resort printed it
# on stderr, without "Warning:", under --quiet too (R64a). The miss is read from Trello.
logging.getLogger("requests_cache").addHandler(logging.NullHandler())


def cache_file_name(key: str, token: str) -> str:
    """The account's cache file name: a hash of key and token, never the values themselves."""
    digest = hashlib.sha256(f"{key}:{token}".encode()).hexdigest()[:16]
    return f"http-{digest}.sqlite"


#: The directive of a read whose answer is not to be kept (``keep=False``): the transport
#: leaves such an answer's body unread by its cache filter (``transport._storable``).
NO_STORE = "no-store"


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


#: How long a read or write of the HTTP cache waits for a lock another SQLite connection holds
#: (SQLite's busy timeout: one bounded wait, not a retry loop) before the run goes on without
#: the cache. Only another program can hold it that long: runs of this tool never share the
#: file (``HttpCache``), and its own threads hold the lock for one row's write.
CACHE_BUSY_S = 5.0


class HttpCache:
    """One ``TrelloApi``'s hold on its account's cache file (``open_http_cache``).

    Only one run uses the file at a time: the holder keeps a lock file beside it
    (``http-….sqlite.lock``, ``filelock``) from ``open_http_cache`` to ``close``, and a run that
    finds it held reads Trello without the HTTP cache instead (it only saves the board
    look-ups). Two processes writing one SQLite file through requests-cache could wait on each
    other without end (its ``_acquire_sqlite_lock`` retries ``BEGIN IMMEDIATE`` forever).

    Once a read or write of the file fails (``give_up``) the rest of the run goes without the
    cache, with one warning; a file found damaged is removed at ``close`` (still under the
    lock), so the next run starts a new one."""

    def __init__(self, path: Path, lock: FileLock) -> None:
        self.path = path
        self._lock = lock
        self._guard = threading.Lock()
        self._usable = True
        self._damaged = False
        self._sessions = 0

    @property
    def usable(self) -> bool:
        """False once a read or write of the file has failed: the run goes on without it."""
        return self._usable

    def give_up(self, err: Exception) -> None:
        """The cache failed: the rest of the run goes without it (warned once). A file whose
        content SQLite or requests-cache cannot use (not a database, another schema: our SQL
        is fixed, so ``SQLITE_ERROR`` means the file's tables are not ours; an entry that does
        not decode, not an ``sqlite3.Error``) is removed at ``close``; a busy, read-only or
        failing disk leaves the file as it is."""
        code = getattr(err, "sqlite_errorcode", None)
        schema = code is not None and code & 0xFF == sqlite3.SQLITE_ERROR
        damaged = not isinstance(err, sqlite3.OperationalError) or schema
        with self._guard:
            first, self._usable = self._usable, False
            self._damaged = self._damaged or damaged
        if not first:
            return
        if code == sqlite3.SQLITE_READONLY_DIRECTORY:
            directory = self.path.parent
            logger.warning(
                "the HTTP cache directory %s is not writable (%s): this run goes on without "
                "the HTTP cache; make it yours and writable: chmod 700 %s",
                directory,
                err,
                directory,
            )
        elif not isinstance(err, sqlite3.Error):
            logger.warning(
                "the HTTP cache %s holds entries this version cannot read (%s, another "
                "version of requests-cache wrote them?): this run goes on without it, and the "
                "next one starts a new file",
                self.path,
                type(err).__name__,
            )
        elif code is not None and code & 0xFF in (sqlite3.SQLITE_FULL, sqlite3.SQLITE_IOERR):
            full = code == sqlite3.SQLITE_FULL  # else a read's failure too (R68a), or a write's
            logger.warning(
                "the HTTP cache %s could not be %s (%s): this run goes on without it; check %s"
                "the free space on its disk and the file size limit (ulimit -f)",
                self.path,
                "written" if full else "read or written",
                err,
                "" if full else "that its disk works, ",
            )
        elif damaged:
            logger.warning(
                "the HTTP cache %s is damaged (%s): this run goes on without it, and the next "
                "one starts a new file",
                self.path,
                err,
            )
        else:
            logger.warning(
                "the HTTP cache %s could not be used (%s): this run goes on without it; if "
                "this repeats, check that no other program has the file open, or delete it",
                self.path,
                err,
            )

    def opened(self) -> bool:
        """Count a session opened on the file; True for the first one of this holder (before
        it, no connection of this run has the file open, so it may still be replaced)."""
        with self._guard:
            self._sessions += 1
            return self._sessions == 1

    def replace(self, err: sqlite3.DatabaseError) -> bool:
        """The file is not a database SQLite can read: start a new, empty one (only before this
        run opened it; no other run has it open while the lock is held). False, with the
        warning, when it cannot be removed or made again: the run goes on without it."""
        try:
            _remove_database(self.path)
            _create_file(self.path)
        except OSError as oserr:
            self._usable = False
            logger.warning(
                "the HTTP cache %s is unreadable (%s) and cannot be replaced (%s): this run "
                "goes on without it; delete the file",
                self.path,
                err,
                oserr.strerror or oserr,
            )
            return False
        logger.warning("the HTTP cache %s was unreadable (%s); starting a new one", self.path, err)
        return True

    def close(self) -> None:
        """Release the file to the next run (after every session on it is closed); a damaged
        file is removed first."""
        try:
            if self._damaged:
                with contextlib.suppress(OSError):
                    _remove_database(self.path)
        finally:
            self._lock.release()


def open_http_cache(
    settings: ApiSettings, on_read_only: Callable[[], object] | None = None
) -> HttpCache | None:
    """The account's HTTP cache for one ``TrelloApi``: its directory (0700) and file (0600)
    made, and the file's lock held. None without a ``cache_dir``, and when the cache cannot be
    used now: another run holds it (said at ``-v``), or the lock file, a file in the directory
    (SQLite's journal) or the cache file cannot be made or opened (one warning naming what is
    wrong, the lock file, the directory or the cache file, and what to do). Either way the run
    reads Trello without the HTTP cache: it only spares the board look-ups, and the plan is the
    same. ``ConfigError`` when the directory itself cannot be made (``TRELLO_RESTORE_HOME`` or
    ``[paths] cache_dir`` under a file, or a file itself, say): the state directory is then
    wrong too. ``on_read_only`` is called when that warning says the file system is read-only,
    or that this user may not create the directory (it then says the run's kept histories, in
    the same directory, cannot be kept either; their own line is at ``-v`` only: R48b)."""
    if settings.cache_dir is None:
        return None

    def covers(err: OSError) -> bool:
        """Whether ``err`` keeps the kept histories out of the directory too: a read-only file
        system, or a directory this user cannot write in or search (R49a: one made by another
        user, a ``sudo`` run's, gave a second warning)."""
        if on_read_only is None:
            return False
        if err.errno in (errno.EACCES, errno.EPERM):
            return not os.access(directory, os.W_OK | os.X_OK)
        return err.errno == errno.EROFS

    def said(err: OSError) -> None:
        if covers(err) and on_read_only is not None:
            on_read_only()

    def without_it(err: OSError) -> str:
        """``without``, and on a read-only file system the kept histories too (R42b: said
        at ``-v`` only, and every board's history was read in full each run)."""
        if covers(err):
            return (
                f"{without} and cannot keep the boards' histories there either (each is read "
                "in full)"
            )
        return without

    directory = settings.cache_dir.expanduser()
    path = directory / cache_file_name(settings.key, settings.token)
    without = "this run reads Trello without the HTTP cache"
    try:
        private_dirs(directory)
    except OSError as err:
        if (fix := _read_only(err)) is not None:  # as for a directory there: go on without
            logger.warning(
                "cannot create the HTTP cache in %s (%s): %s; %s",
                directory,
                err.strerror,
                without_it(err),
                fix,
            )
            said(err)
            return None
        if err.errno in (errno.EACCES, errno.EPERM):  # as for a directory there that this user
            # cannot write in: go on without (R47b: a dry run stopped, exit 2)
            nearest = writable_dir(directory / "-")  # the nearest that exists
            fix = sudo_advice(directory / "-", nearest) or (  # R65a: a run with sudo made it
                f"make {nearest} writable and searchable for this user (chmod u+rwx, as its owner)"
            )
            logger.warning(
                "cannot create the HTTP cache in %s (%s): %s; %s, or point TRELLO_RESTORE_HOME, "
                "XDG_CACHE_HOME or [paths] cache_dir elsewhere",
                directory,
                err.strerror,
                without_it(err),
                fix,
            )
            said(err)
            return None
        # Not a cache problem: the configured place cannot hold a directory at all; a file
        # on its way named (R36a: XDG_CACHE_HOME set to a file was blamed on
        # TRELLO_RESTORE_HOME, which was not set).
        blocked = in_the_way(directory / "-", Path(directory.anchor))
        if blocked is not None:
            raise ConfigError(
                f"cannot create the HTTP cache in {directory}: {blocked[0]} is {blocked[1]}; "
                "move it away, or check TRELLO_RESTORE_HOME, XDG_CACHE_HOME and [paths] "
                "cache_dir, or pass --no-cache"
            ) from err
        raise ConfigError(
            f"cannot create the HTTP cache in {directory} ({err.strerror or err}): check "
            "TRELLO_RESTORE_HOME, XDG_CACHE_HOME and [paths] cache_dir, and the directory, "
            "or pass --no-cache"
        ) from err
    if not directory.is_dir():
        # Something else is there: no directory can be made at that place either.
        raise ConfigError(
            f"cannot create the HTTP cache in {directory}: {directory} is not a directory; "
            "move it away, or check TRELLO_RESTORE_HOME and [paths] cache_dir"
        )
    lock_path = Path(f"{path}.lock")
    lock = FileLock(lock_path, mode=0o600, thread_local=False)
    try:
        lock.acquire(blocking=False)
    except Timeout:
        logger.info("another run is using the HTTP cache %s: %s", path, without)
        return None
    except OSError as err:
        problem, fix = _lock_trouble(lock_path, err)
        logger.warning("%s: %s; %s", problem, without_it(err), fix)
        said(err)
        return None
    try:
        _probe_directory(directory)
    except OSError as err:
        # The files may all be there and open for writing, but SQLite cannot make its
        # rollback journal beside the file: every write would fail "readonly database".
        lock.release()
        logger.warning(
            "the HTTP cache directory %s is not writable (%s): %s; %s",
            directory,
            err.strerror or err,
            without_it(err),
            _read_only(err)
            or _theirs(directory)
            or f"make it yours and writable: chmod 700 {directory}",
        )
        said(err)
        return None
    _sweep_probes(directory)  # writable: clear what killed runs' probes left there
    try:
        _create_file(path)
    except OSError as err:
        lock.release()
        if path.is_dir():
            # chmod would not help: something else stands where the file should be.
            logger.warning(
                "the HTTP cache file %s is a directory, not a file: %s until you remove or "
                "rename it",
                path,
                without,
            )
            return None
        logger.warning(
            "cannot open the HTTP cache file %s (%s): %s; %s",
            path,
            err.strerror or err,
            without_it(err),
            _read_only(err) or "make it yours and writable (chmod 600), or delete it",
        )
        said(err)
        return None
    return HttpCache(path, lock)


def _read_only(err: OSError) -> str | None:
    """What to do when ``err`` says the file system is read-only (chmod cannot help), or
    None for any other error."""
    if err.errno != errno.EROFS:
        return None
    return read_only_fix("cache_dir", "pass --no-cache")


def _lock_trouble(lock_path: Path, err: OSError) -> tuple[str, str]:
    """What is wrong when the lock file cannot be opened, and what to do: the lock file itself
    when something is at its place (remove it, or chmod it), else the directory it would be
    made in (make it writable): also when the directory cannot be searched (mode 000), so
    that what is at the lock file's place cannot be told."""
    reason = err.strerror or str(err)
    directory = lock_path.parent
    if (fix := _read_only(err)) is not None:  # chmod would not help
        return f"cannot open the HTTP cache's lock file {lock_path} ({reason})", fix
    try:
        is_dir, exists = lock_path.is_dir(), os.path.lexists(lock_path)
    except OSError as stat_err:
        return (
            f"cannot open the HTTP cache's lock file {lock_path}: the cache directory "
            f"{directory} cannot be searched ({stat_err.strerror or stat_err})",
            _theirs(directory) or f"make it yours, readable and writable: chmod 700 {directory}",
        )
    if is_dir:
        return (
            f"the HTTP cache's lock file {lock_path} is a directory",
            f"remove that directory: rmdir {lock_path}",
        )
    if exists:
        return (
            f"cannot open the HTTP cache's lock file {lock_path} ({reason})",
            _theirs(directory)
            or _theirs(lock_path)
            or f"make it yours and writable (chmod 600 {lock_path}), or remove it",
        )
    return (
        f"cannot create the HTTP cache's lock file {lock_path} ({reason})",
        _theirs(directory)
        or f"make the cache directory {directory} yours and writable: chmod 700 {directory}",
    )


def _theirs(path: Path) -> str | None:
    """What to do when ``path`` is root's (a run with ``sudo`` made it: R50a, whose advice,
    chmod, only its owner may follow), by ``fsutil.sudo_advice``'s rule (never a directory
    whose owner may rightly be another, nor to root); None when there is none."""
    advice = sudo_advice(path, path)
    if advice is None:
        return None
    return (
        f"{advice}, or point TRELLO_RESTORE_HOME, XDG_CACHE_HOME or [paths] cache_dir "
        "elsewhere, or pass --no-cache"
    )


#: The probe files' names: ``.probe-<pid>-<random>`` (``_probe_directory``).
PROBE_PREFIX = ".probe-"
#: A probe lives for a moment; one older than this (seconds) was left by a run killed between
#: making and removing it, whatever its name says (a pid may be another process's by now).
STALE_PROBE_S = 60.0


def _probe_directory(directory: Path) -> None:
    """Create and remove a file in ``directory``: ``OSError`` when files cannot be made there
    (SQLite makes its rollback journal beside the cache file on every write). The file is
    named with this process's id, so that one left by a run killed in between is known for a
    dead run's and removed by a later one (``_sweep_probes``)."""
    fd, name = tempfile.mkstemp(prefix=f"{PROBE_PREFIX}{os.getpid()}-", dir=directory)
    os.close(fd)
    Path(name).unlink(missing_ok=True)  # made, which is what counts, even if swept meanwhile


def _sweep_probes(directory: Path) -> None:
    """Remove the probe files runs killed between making and removing them left in
    ``directory``: those of a process that is gone, and any older than ``STALE_PROBE_S`` (an
    earlier version's had no process id). A live run's probe is left alone. Best effort: a
    file that cannot be removed stays, and costs nothing."""
    now = time.time()
    try:
        entries = [e for e in os.scandir(directory) if e.name.startswith(PROBE_PREFIX)]
    except OSError:
        return
    for entry in entries:
        try:
            age = now - entry.stat(follow_symlinks=False).st_mtime
        except OSError:
            continue
        if age > STALE_PROBE_S or not _alive(_probe_pid(entry.name)):
            with contextlib.suppress(OSError):
                Path(entry.path).unlink()


def _probe_pid(name: str) -> int | None:
    """The process id in a probe file's name, or None (an earlier version's name)."""
    pid, dash, _ = name[len(PROBE_PREFIX) :].partition("-")
    return int(pid) if dash and pid.isdecimal() else None


def _alive(pid: int | None) -> bool:
    """Whether the process ``pid`` may still be running (True when unknown)."""
    if pid is None or pid == os.getpid():
        return True
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except (OSError, OverflowError):
        return True  # another user's process (EPERM), or a number no process has
    return True


def _create_file(path: Path) -> None:
    """Create the cache file (0600) before SQLite opens it, so it is never readable by others,
    whatever the umask; a file left readable is made private. Called once per holder of the
    lock, before its first connection: opening and closing a descriptor of the file while a
    connection of this process holds an SQLite lock on it would release that lock (POSIX
    locks belong to the process; sqlite.org/howtocorrupt.html §2.2), letting another process
    write at the same time."""
    flags = os.O_RDWR | os.O_CREAT | getattr(os, "O_NOFOLLOW", 0)
    os.close(os.open(path, flags, 0o600))
    path.chmod(0o600)


def _remove_database(path: Path) -> None:
    """Remove a cache file and its rollback journal (a journal left beside a new file would be
    played into it)."""
    path.unlink(missing_ok=True)
    Path(f"{path}-journal").unlink(missing_ok=True)


class _BoundedSQLiteDict(SQLiteDict):
    """requests-cache's SQLite table, with a write lock that is waited for once (the busy
    timeout) instead of forever, and a transaction that is rolled back on any error (requests-cache
    leaves it open after anything but an ``OperationalError``, holding the file's write lock
    for good: every later write, of any connection, then waited forever)."""

    @contextlib.contextmanager
    def _acquire_sqlite_lock(self) -> Iterator[None]:
        with self._lock:
            connection = self._connection
            assert connection is not None  # connection() opened it
            connection.execute("BEGIN IMMEDIATE")
            self._active_transaction = True
            try:
                yield
                connection.commit()
            except BaseException:
                connection.rollback()
                raise
            finally:
                self._active_transaction = False


class CacheTables(SQLiteCache):
    """requests-cache's SQLite backend over ``_BoundedSQLiteDict`` tables, for one session of
    an ``HttpCache``. A read or write that fails gives the cache up for the rest of the run
    (``HttpCache.give_up``): a read is then a miss and a write is skipped, never an error."""

    def __init__(self, cache: HttpCache) -> None:
        # SQLiteCache.__init__ with the bounded tables (it names SQLiteDict itself).
        BaseCache.__init__(self, cache_name=str(cache.path))
        busy_ms = max(round(CACHE_BUSY_S * 1000), 1)
        self.responses = _BoundedSQLiteDict(
            cache.path, table_name="responses", serializer="json", busy_timeout=busy_ms
        )
        try:
            self.redirects = _BoundedSQLiteDict(
                cache.path,
                table_name="redirects",
                lock=self.responses._lock,
                serializer=None,
                busy_timeout=busy_ms,
            )
        except BaseException:
            self.responses.close()  # type: ignore[no-untyped-call]
            raise
        self._owner = cache

    def get_response(
        self, key: str, default: CachedResponse | None = None
    ) -> CachedResponse | None:
        if not self._owner.usable:
            return default
        try:
            response = super().get_response(key, default)
        except sqlite3.Error as err:
            self._owner.give_up(err)
            return default
        except Exception as err:  # an entry requests-cache cannot decode (R62a: 1.2's, read
            # by 1.3 after an upgrade: every run was "internal error", exit 1)
            self._owner.give_up(err)
            return default
        if response is not None and not _plausible(response):  # R63a, R64a: as above
            self._owner.give_up(ValueError("an answer that is not one this tool keeps"))
            return default
        return response

    def save_response(
        self,
        response: requests.Response,
        cache_key: str | None = None,
        expires: datetime | None = None,
    ) -> None:
        if not self._owner.usable:
            return
        try:
            super().save_response(response, cache_key, expires)
        except sqlite3.Error as err:
            self._owner.give_up(err)

    def delete(self, *keys: str, expired: bool = False, vacuum: bool = True, **kwargs: Any) -> None:
        if not self._owner.usable:
            return
        try:
            super().delete(*keys, expired=expired, vacuum=vacuum, **kwargs)
        except sqlite3.Error as err:
            self._owner.give_up(err)


def _plausible(response: CachedResponse) -> bool:
    """Whether a cached answer is one this tool keeps: a 200 (``allowable_codes``) whose body
    is a JSON object or array, as Trello's are (R64a: a body-less one, a 500 or a 404, a body
    that is not JSON, decoded from a damaged or edited file, failed every run while fresh,
    up to an hour, blaming the API URL). Not a parse: the first character only."""
    body = getattr(response, "_content", None)
    return (
        getattr(response, "status_code", None) == 200
        and isinstance(body, bytes)
        and json_shaped(body)
    )


def json_shaped(body: bytes) -> bool:
    """Whether ``body`` starts as a JSON object or array does, after any white space (R86d:
    a portal's HTML page labelled JSON was stored, and the next run gave the cache up)."""
    return _JSON_START.match(body) is not None


#: A JSON object's or array's start, after any white space.
_JSON_START = re.compile(rb"\s*[\[{]")
