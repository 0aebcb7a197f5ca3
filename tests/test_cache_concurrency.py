"""The HTTP cache under concurrent runs and damage (issue 12: the tool's local state "safe under
concurrent runs"), end to end: dry runs over the sandbox through the real client stack.

requests-cache 1.3 waited for the SQLite file's write lock without end
(``SQLiteDict._acquire_sqlite_lock`` retries ``BEGIN IMMEDIATE`` forever, and leaves a
transaction open after any error but an ``OperationalError``), and every new thread's session
opened and closed a descriptor of the file, which drops the SQLite locks the whole process
holds on it. Now one run uses the file at a time (``api.cache.HttpCache``), the cache's own
waits are bounded (``CACHE_BUSY_S``), and a cache that cannot be used is only a warning: the
run reads Trello without it and makes the same plan.

Each test runs the command line on a thread and joins it with a timeout (``HANG_S``, far above
a run's second or two), so the old code's endless wait shows as a failure, not a stuck suite.
"""

from __future__ import annotations

import base64
import contextlib
import errno
import json
import os
import sqlite3
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from click.testing import Result

from trello_restore.api import ApiSettings, TrelloApi, cache_file_name
from trello_restore.api.cache import STALE_PROBE_S
from trello_restore.sandbox.scenario import Scenario, generate

from .conftest import Sandbox, SandboxFactory, one_line_error, sandbox_cli

#: A run that has not ended after this long is waiting for the cache (a run here takes 1-2 s).
HANG_S = 30.0


@pytest.fixture
def world(sandbox_factory: SandboxFactory) -> tuple[Scenario, Sandbox]:
    s = generate(29, 40)
    return s, sandbox_factory(s, time_scale=100)


def _home() -> Path:
    """conftest's ``TRELLO_RESTORE_HOME`` of this test (state and cache under it)."""
    return Path(os.environ["TRELLO_RESTORE_HOME"])


def _cache_file(sb: Sandbox) -> Path:
    return _home() / "cache" / cache_file_name(sb.key, sb.token)


def _dry_run(s: Scenario, sb: Sandbox, monkeypatch: pytest.MonkeyPatch) -> Callable[..., Result]:
    """``run(*extra)``: the team board's dry run as JSON, at the sandbox's time scale."""
    invoke = sandbox_cli(sb, monkeypatch)
    config = _home().parent / "fast.toml"
    config.write_text("[limits]\nwindow_seconds = 0.1\n")
    base = ("--config", str(config), "--board", s.team.id, "--since", s.incident_at.isoformat())

    def run(*extra: str) -> Result:
        return invoke(*base, "--dry-run", "--format", "json", *extra)

    return run


def _warmed(
    s: Scenario, sb: Sandbox, monkeypatch: pytest.MonkeyPatch
) -> tuple[Callable[..., Result], dict[str, Any]]:
    """``_dry_run``'s ``run`` and the plan it makes without the cache (``want``), after one run
    that made the same plan and filled the HTTP cache."""
    run = _dry_run(s, sb, monkeypatch)
    want = _plan(run("--no-cache"))
    assert _plan(run()) == want
    return run, want


def _plan(result: Result) -> dict[str, Any]:
    """The plan a run printed, without the moment it was made."""
    assert result.exit_code == 0, result.output
    doc: dict[str, Any] = json.loads(result.stdout)
    doc.pop("created_at", None)
    doc.pop("clock_skew_s", None)  # to about a second, as each run saw it
    return doc


def _within(run: Callable[[], Result], release: Callable[[], None]) -> Result:
    """``run()`` on a thread; it must end within ``HANG_S``. If it does not, ``release`` lets
    it go (so the old code's wait ends and the test fails instead of hanging)."""
    out: list[Result] = []
    thread = threading.Thread(target=lambda: out.append(run()), daemon=True)
    thread.start()
    thread.join(HANG_S)
    hung = thread.is_alive()
    release()
    thread.join(HANG_S)
    assert not hung, f"the run waited for the HTTP cache over {HANG_S:.0f} s"
    [result] = out
    return result


@contextlib.contextmanager
def _write_lock(path: Path) -> Iterator[Callable[[], None]]:
    """An SQLite connection holding the file's write lock (``BEGIN IMMEDIATE``) as a writer
    does between its first write and its commit; yields what releases it."""
    connection = sqlite3.connect(path, isolation_level=None, check_same_thread=False)
    connection.execute("BEGIN IMMEDIATE")
    connection.execute("CREATE TABLE IF NOT EXISTS other_writer (x)")

    def release() -> None:
        if connection.in_transaction:
            connection.execute("COMMIT")

    try:
        yield release
    finally:
        release()
        connection.close()


def _warnings(result: Result) -> list[str]:
    return [x for x in result.stderr.splitlines() if x.startswith("Warning: ")]


def _clean_after(run: Callable[..., Result], want: dict[str, Any]) -> None:
    """The next two runs (the first on the new cache file that replaced a damaged one) plan
    ``want`` with no warning."""
    for _ in range(2):
        after = run()
        assert _plan(after) == want
        assert _warnings(after) == [], after.stderr


# ---------------------------------------------------------------------- runs at the same time


def test_a_run_beside_another_run_using_the_cache_goes_without_it(
    world: tuple[Scenario, Sandbox], monkeypatch: pytest.MonkeyPatch
) -> None:
    """Another run has the cache open and is in the middle of a write (its SQLite write lock
    held): this run neither waits for it nor touches the file, says nothing by default, and
    plans as without a cache. The other run's write then commits. (Before: the run waited in
    ``BEGIN IMMEDIATE`` for as long as the other held the lock; two runs could wait forever.)"""
    s, sb = world
    run = _dry_run(s, sb, monkeypatch)
    want = _plan(run("--no-cache"))
    settings = ApiSettings(
        key=sb.key, token=sb.token, api_url=sb.base_url, cache_dir=_home() / "cache"
    )
    with TrelloApi(settings) as other:
        other.get(f"boards/{s.team.id}", max_age=600)  # the other run's cache file, in use
        with _write_lock(_cache_file(sb)) as release:
            result = _within(run, release)
            assert _plan(result) == want
            assert _warnings(result) == [], result.stderr
        # the other run goes on using its cache
        other.get(f"boards/{s.team.id}", max_age=600)
        assert other.cache_hits == 1
    # … and once it has ended, the next run uses the cache again
    verbose = run("-v")
    assert _plan(verbose) == want
    assert "another run is using the HTTP cache" not in verbose.stderr


def test_a_foreign_write_lock_on_the_cache_is_waited_for_once(
    world: tuple[Scenario, Sandbox], monkeypatch: pytest.MonkeyPatch
) -> None:
    """A program that is not a run of the tool (no lock file) holds the SQLite write lock for
    good: the run waits ``CACHE_BUSY_S`` once, then goes on without the cache with one warning
    naming the file, and makes the same plan. (Before: it waited as long as the lock was held.)"""
    s, sb = world
    run = _dry_run(s, sb, monkeypatch)
    want = _plan(run("--no-cache"))
    assert _plan(run()) == want  # the cache file exists, with the board look-up in it
    monkeypatch.setattr("trello_restore.api.cache.CACHE_BUSY_S", 0.2)
    with _write_lock(_cache_file(sb)) as release:
        result = _within(run, release)
    assert _plan(result) == want
    [warning] = _warnings(result)
    assert f"the HTTP cache {_cache_file(sb)} could not be used (database is locked)" in warning
    assert "this run goes on without it" in warning


def test_the_cache_file_is_opened_outside_sqlite_once_a_run(
    world: tuple[Scenario, Sandbox], monkeypatch: pytest.MonkeyPatch
) -> None:
    """Each thread's session used to open and close a descriptor of the SQLite file (to make
    it 0600) while other threads' connections held SQLite locks on it: closing any descriptor of
    a file drops every POSIX lock the process holds on it (sqlite.org/howtocorrupt.html §2.2),
    so another process could write at the same moment (``database disk image is malformed``).
    Now the file is opened outside SQLite once, by the run that holds it, before its first
    connection."""
    s, sb = world
    path = _cache_file(sb)
    opened: list[str] = []
    real_open = os.open

    def spy(file: Any, flags: int, *args: Any, **kwargs: Any) -> int:
        if os.fspath(file) == str(path):
            opened.append(threading.current_thread().name)
        return real_open(file, flags, *args, **kwargs)

    monkeypatch.setattr(os, "open", spy)
    settings = ApiSettings(key=sb.key, token=sb.token, api_url=sb.base_url, cache_dir=path.parent)
    with TrelloApi(settings) as api:
        readers = [
            threading.Thread(target=api.get, args=(f"boards/{s.team.id}",), kwargs={"max_age": 60})
            for _ in range(4)
        ]
        for t in readers:
            t.start()
        for t in readers:
            t.join(HANG_S)
        api.get(f"boards/{s.team.id}", max_age=60)
        assert api.cache_hits >= 1  # the threads did use the file
    assert len(opened) == 1, opened


# ------------------------------------------------------------------- a cache that cannot be used


def test_a_cache_that_fails_a_write_is_given_up_with_one_warning(
    world: tuple[Scenario, Sandbox], monkeypatch: pytest.MonkeyPatch
) -> None:
    """A cache file whose writes fail with an error other than ``database is locked`` (here a
    trigger; a damaged page does the same): requests-cache left that transaction open, so the
    error ended the run and every other thread's write waited forever. Now: one warning, the
    same plan, and the next run starts a new file."""
    s, sb = world
    run, want = _warmed(s, sb, monkeypatch)
    path = _cache_file(sb)
    with contextlib.closing(sqlite3.connect(path)) as con:
        con.execute("DELETE FROM responses")  # every answer is written again
        con.execute(
            "CREATE TRIGGER refuse BEFORE INSERT ON responses BEGIN SELECT RAISE(ABORT, 'no'); END"
        )
        con.commit()
    result = _within(run, lambda: None)
    assert _plan(result) == want
    [warning] = _warnings(result)
    assert f"the HTTP cache {path} is damaged" in warning
    assert "the next one starts a new file" in warning
    after = run()
    assert _plan(after) == want
    assert _warnings(after) == [], after.stderr
    with contextlib.closing(sqlite3.connect(path)) as con:
        assert (
            con.execute("SELECT count(*) FROM sqlite_master WHERE type='trigger'").fetchone()[0]
            == 0
        )
        assert con.execute("SELECT count(*) FROM responses").fetchone()[0] > 0


def _deny(monkeypatch: pytest.MonkeyPatch, denied: Callable[[str, int], bool]) -> None:
    """``os.open`` fails with EACCES where ``denied(path, flags)``: what a file or directory
    without the permission does for anyone but root (the tests may run as root, whom modes do
    not stop)."""
    real_open = os.open

    def guarded(file: Any, flags: int, *args: Any, **kwargs: Any) -> int:
        if denied(os.fspath(file), flags):
            raise PermissionError(errno.EACCES, os.strerror(errno.EACCES), os.fspath(file))
        return real_open(file, flags, *args, **kwargs)

    monkeypatch.setattr(os, "open", guarded)


def _in_unwritable(
    monkeypatch: pytest.MonkeyPatch, directory: Path, run: Callable[[], Result]
) -> Result:
    """``run()`` with ``directory`` at mode 500 and no new file creatable in it (``_deny``:
    the mode alone does not stop root), the mode put back after."""
    directory.chmod(0o500)
    _deny(
        monkeypatch,
        lambda p, flags: (
            bool(flags & os.O_CREAT) and Path(p).parent == directory and not Path(p).exists()
        ),
    )
    try:
        return run()
    finally:
        directory.chmod(0o700)


def test_an_unreadable_cache_file_is_left_alone_and_named(
    world: tuple[Scenario, Sandbox], monkeypatch: pytest.MonkeyPatch
) -> None:
    """A cache file this user cannot open (mode 000, another owner): one warning naming the
    file (not its directory) and what to do; the run reads Trello without the cache, makes the
    same plan and exits 0. The file is left as it was. (Before: exit 2, ``cannot create the
    HTTP cache in <directory>``.)"""
    s, sb = world
    run, want = _warmed(s, sb, monkeypatch)
    path = _cache_file(sb)
    before = path.read_bytes()
    path.chmod(0o000)
    _deny(monkeypatch, lambda p, _: p == str(path))
    result = run()
    assert _plan(result) == want
    [warning] = _warnings(result)
    assert f"cannot open the HTTP cache file {path} (Permission denied)" in warning
    assert "chmod 600" in warning
    assert "delete it" in warning
    assert path.stat().st_mode & 0o777 == 0
    path.chmod(0o600)
    assert path.read_bytes() == before


def test_a_cache_file_that_is_not_a_file_is_named(
    world: tuple[Scenario, Sandbox], monkeypatch: pytest.MonkeyPatch
) -> None:
    """A directory where the cache file should be (no permission trick: root is stopped too):
    one warning naming it, exit 0, the same plan."""
    s, sb = world
    run = _dry_run(s, sb, monkeypatch)
    want = _plan(run("--no-cache"))
    path = _cache_file(sb)
    path.mkdir(parents=True)
    result = run()
    assert _plan(result) == want
    [warning] = _warnings(result)
    assert warning == (
        f"Warning: the HTTP cache file {path} is a directory, not a file: this run reads Trello "
        "without the HTTP cache until you remove or rename it"
    )
    assert path.is_dir()


def test_an_unwritable_empty_cache_directory_is_named(
    world: tuple[Scenario, Sandbox], monkeypatch: pytest.MonkeyPatch
) -> None:
    """An empty cache directory this user cannot write in (mode 500): the HTTP cache's one
    warning names the directory and what to do, the run exits 0 with the same plan (the
    history store and the plan memo, in the same directory, say their own)."""
    s, sb = world
    run = _dry_run(s, sb, monkeypatch)
    want = _plan(run("--no-cache"))
    directory = _home() / "cache"
    directory.mkdir(parents=True)
    result = _in_unwritable(monkeypatch, directory, run)
    assert _plan(result) == want
    ours = [x for x in _warnings(result) if "HTTP cache" in x]
    assert len(ours) == 1, result.stderr
    lock = f"{_cache_file(sb)}.lock"
    assert f"cannot create the HTTP cache's lock file {lock} (Permission denied)" in ours[0]
    assert f"make the cache directory {directory} yours and writable: chmod 700" in ours[0]
    assert not any(directory.glob("http-*"))


# ------------------------------------------------------------ what each message says is wrong


def test_a_cache_directory_that_is_a_file_stops_the_run(
    world: tuple[Scenario, Sandbox], monkeypatch: pytest.MonkeyPatch
) -> None:
    """``$TRELLO_RESTORE_HOME/cache`` is a file: no directory can be made there, as under a
    file, so the run stops before it writes anything, exit 2, with one line naming the
    directory and what to do. (Before: exit 0 with a warning about a lock file that 'exists'
    and advice to chmod 700 it, then the history store's and the memo's warnings.)"""
    s, sb = world
    run = _dry_run(s, sb, monkeypatch)
    directory = _home() / "cache"
    directory.parent.mkdir(parents=True, exist_ok=True)
    directory.write_text("not a directory\n")
    before = sorted(_home().rglob("*"))
    result = run()
    one_line_error(result, 2, f"{directory} is not a directory", "TRELLO_RESTORE_HOME")
    assert sorted(_home().rglob("*")) == before
    assert directory.read_text() == "not a directory\n"


def test_a_lock_file_that_is_a_directory_is_named(
    world: tuple[Scenario, Sandbox], monkeypatch: pytest.MonkeyPatch
) -> None:
    """A directory where the cache's lock file should be: the warning names the lock path and
    says to remove it, not to chmod the cache directory, which is fine. (Before: ``cannot
    create …lock (Is a directory) … make the cache directory … writable (chmod 700)``.)"""
    s, sb = world
    run = _dry_run(s, sb, monkeypatch)
    want = _plan(run("--no-cache"))
    lock = Path(f"{_cache_file(sb)}.lock")
    lock.mkdir(parents=True)
    result = run()
    assert _plan(result) == want
    [warning] = _warnings(result)
    assert f"the HTTP cache's lock file {lock} is a directory" in warning
    assert f"rmdir {lock}" in warning
    assert "chmod 700" not in warning
    assert lock.is_dir()


def test_an_unopenable_lock_file_is_named(
    world: tuple[Scenario, Sandbox], monkeypatch: pytest.MonkeyPatch
) -> None:
    """The lock file is there with mode 000 (or another owner's): the warning names the lock
    file and says to chmod 600 or remove it; the cache directory is writable and not blamed.
    (Before: ``make the cache directory … writable (chmod 700)``.)"""
    s, sb = world
    run, want = _warmed(s, sb, monkeypatch)
    lock = Path(f"{_cache_file(sb)}.lock")
    lock.chmod(0o000)
    _deny(monkeypatch, lambda p, _: p == str(lock))
    result = run()
    assert _plan(result) == want
    [warning] = _warnings(result)
    assert f"cannot open the HTTP cache's lock file {lock} (Permission denied)" in warning
    assert f"chmod 600 {lock}), or remove it" in warning
    assert "chmod 700" not in warning
    assert lock.stat().st_mode & 0o777 == 0


def test_an_unwritable_cache_directory_holding_the_cache_is_named(
    world: tuple[Scenario, Sandbox], monkeypatch: pytest.MonkeyPatch
) -> None:
    """The cache directory (mode 500) already holds the cache file and its lock, both
    writable: SQLite cannot make its rollback journal beside the file, so every write would
    fail. The HTTP cache's one warning blames the directory and says chmod 700 it; the run
    exits 0 with the same plan and leaves the directory as it was. (Before, for anyone but
    root: ``attempt to write a readonly database … check that no other program has the file
    open, or delete it``; as root here, no warning at all: the test's denial is of creating a
    file, which only the new check does.)"""
    s, sb = world
    run, want = _warmed(s, sb, monkeypatch)
    directory = _home() / "cache"
    before = sorted(directory.rglob("*"))
    result = _in_unwritable(monkeypatch, directory, run)
    assert _plan(result) == want
    ours = [x for x in _warnings(result) if "HTTP cache" in x]
    assert len(ours) == 1, result.stderr
    assert f"the HTTP cache directory {directory} is not writable (Permission denied)" in ours[0]
    assert f"chmod 700 {directory}" in ours[0]
    assert "readonly database" not in ours[0]
    assert sorted(directory.rglob("*")) == before


def _refuse_writes(monkeypatch: pytest.MonkeyPatch, message: str, code: int) -> None:
    """Every write of the cache (requests-cache deletes a key before it saves it) fails with
    SQLite's ``message`` and extended ``code``: a stand-in for what root cannot provoke."""

    def refuse(*_: Any, **__: Any) -> None:
        err = sqlite3.OperationalError(message)
        err.sqlite_errorcode = code
        raise err

    monkeypatch.setattr("requests_cache.backends.sqlite.SQLiteCache.delete", refuse)


def test_a_read_only_directory_found_mid_run_is_named(
    world: tuple[Scenario, Sandbox], monkeypatch: pytest.MonkeyPatch
) -> None:
    """SQLite refuses a write because the directory cannot take its journal
    (``SQLITE_READONLY_DIRECTORY``, what a directory made read-only after the run opened the
    cache gives; as root only a stand-in can raise it): the warning blames the directory and
    says chmod 700 it, not another program; the file is kept."""
    s, sb = world
    run, want = _warmed(s, sb, monkeypatch)

    _refuse_writes(
        monkeypatch, "attempt to write a readonly database", sqlite3.SQLITE_READONLY_DIRECTORY
    )
    result = run()
    assert _plan(result) == want
    [warning] = _warnings(result)
    directory = _home() / "cache"
    assert f"the HTTP cache directory {directory} is not writable" in warning
    assert f"chmod 700 {directory}" in warning
    assert "other program" not in warning
    assert _cache_file(sb).is_file()


def test_a_full_disk_under_the_cache_is_named(
    world: tuple[Scenario, Sandbox], monkeypatch: pytest.MonkeyPatch
) -> None:
    """SQLite finds no room for the next page of the cache (a real ``SQLITE_FULL``: the
    cache's connections may not grow the file, as on a full disk): the warning says the
    cache could not be written and to check the disk's free space and ``ulimit -f``, not
    that another program has the file open; the plan is the same and the file is kept.
    (Before: ``could not be used (database or disk is full) … check that no other program
    has the file open, or delete it``.)"""
    s, sb = world
    run, want = _warmed(s, sb, monkeypatch)
    path = _cache_file(sb)
    with contextlib.closing(sqlite3.connect(path)) as con:
        con.execute("DELETE FROM responses")
        con.commit()
        con.execute("VACUUM")
        pages = con.execute("PRAGMA page_count").fetchone()[0]
    real = sqlite3.connect

    def no_room(database: Any, *args: Any, **kwargs: Any) -> sqlite3.Connection:
        con: sqlite3.Connection = real(database, *args, **kwargs)
        if Path(str(database)) == path:
            con.execute(f"PRAGMA max_page_count = {pages}")
        return con

    monkeypatch.setattr(sqlite3, "connect", no_room)
    result = run()
    assert _plan(result) == want
    [warning] = _warnings(result)
    assert f"the HTTP cache {path} could not be written (database or disk is full)" in warning
    assert "check the free space on its disk and the file size limit (ulimit -f)" in warning
    assert "other program" not in warning
    assert path.is_file()


def test_a_failing_write_of_the_cache_is_named(
    world: tuple[Scenario, Sandbox], monkeypatch: pytest.MonkeyPatch
) -> None:
    """SQLite's ``disk I/O error`` on a write (``SQLITE_IOERR_WRITE``: what a cache file past
    ``ulimit -f`` gives; as root only a stand-in can raise it here): the same warning as a
    full disk, naming both, and the file is kept."""
    s, sb = world
    run, want = _warmed(s, sb, monkeypatch)

    _refuse_writes(monkeypatch, "disk I/O error", 778)  # SQLITE_IOERR_WRITE
    result = run()
    assert _plan(result) == want
    [warning] = _warnings(result)
    path = _cache_file(sb)
    assert f"the HTTP cache {path} could not be read or written (disk I/O error)" in warning
    assert "check that its disk works, the free space on its disk and the file size" in warning
    assert "other program" not in warning
    assert path.is_file()


@pytest.mark.parametrize(
    "sql",
    [
        "DROP TABLE responses; CREATE TABLE responses (a)",
        "DROP TABLE redirects; CREATE TABLE redirects (a)",
    ],
)
def test_a_cache_file_with_other_tables_is_replaced_once(
    world: tuple[Scenario, Sandbox], monkeypatch: pytest.MonkeyPatch, sql: str
) -> None:
    """A cache file whose tables are not requests-cache's (another program's, an older
    layout): one notice that it is damaged, and the next run starts a new file that works.
    (Before: ``could not be used (no such column: …)`` on every run, the file never
    replaced.)"""
    s, sb = world
    run, want = _warmed(s, sb, monkeypatch)
    path = _cache_file(sb)
    with contextlib.closing(sqlite3.connect(path)) as con:
        con.executescript(sql)
    result = run()
    assert _plan(result) == want
    [warning] = _warnings(result)
    assert f"the HTTP cache {path} is damaged (no such column: " in warning
    assert "the next one starts a new file" in warning
    _clean_after(run, want)
    with contextlib.closing(sqlite3.connect(path)) as con:
        columns = [row[1] for row in con.execute("PRAGMA table_info(responses)")]
        assert columns[:2] == ["key", "value"]
        assert con.execute("SELECT count(*) FROM responses").fetchone()[0] > 0


@pytest.mark.parametrize(
    "spoil", ["not base64", "no content", "null content", "not JSON", "a 500", "not a row"]
)
def test_entries_another_requests_cache_version_wrote_are_a_damaged_cache(
    world: tuple[Scenario, Sandbox], monkeypatch: pytest.MonkeyPatch, spoil: str
) -> None:
    """R62a: a cache that requests-cache 1.2 wrote, read by 1.3 after ``pip install -U``:
    each entry failed to decode (``ClassValidationError``: its content's base64 no longer
    read) and every run was "internal error", exit 1, until the file was deleted by hand.
    Such entries (made here by spoiling every entry's content) are a damaged cache: one
    warning, the plan as without it, and the next run starts a new file."""
    s, sb = world
    run, want = _warmed(s, sb, monkeypatch)
    path = _cache_file(sb)
    with contextlib.closing(sqlite3.connect(path)) as con, con:
        for key, value in con.execute("SELECT key, value FROM responses").fetchall():
            doc = json.loads(value)
            if spoil == "not base64":
                doc["_content"] = "abc"  # "Incorrect padding"
            elif spoil == "no content":  # R63a: decoded, no body: "internal error" on reading
                del doc["_content"]
            elif spoil == "null content":  # R64a: exit 4, "not valid JSON: check the URL"
                doc["_content"] = None
            elif spoil == "not JSON":
                doc["_content"] = base64.b64encode(b"OK").decode()
            elif spoil == "a 500":  # R64a: retried for 26 s, then "Trello is failing"
                doc["status_code"] = 500
            row = "not JSON at all" if spoil == "not a row" else json.dumps(doc)
            con.execute("UPDATE responses SET value = ? WHERE key = ?", (row, key))
    result = run()
    assert _plan(result) == want
    # requests-cache's own line for a row it cannot decode (a miss) is not printed (R64a).
    assert "Unable to deserialize" not in result.stderr
    if spoil == "not a row":  # read as misses, from Trello, and written anew
        assert _warnings(result) == [], result.stderr
        return
    [warning] = _warnings(result)
    assert f"the HTTP cache {path} holds entries this version cannot read (" in warning
    assert "the next one starts a new file" in warning
    _clean_after(run, want)


# --------------------------------------------------------------------- probes of killed runs


def test_probes_left_by_killed_runs_are_removed_and_a_live_run_s_kept(
    world: tuple[Scenario, Sandbox], monkeypatch: pytest.MonkeyPatch
) -> None:
    """A probe file (``.probe-…``, made and removed as a run opens the cache) that a run killed
    in between left behind is gone after the next run: one named with a process that has
    ended, and one older than a minute (an earlier version's name, without a process id). A
    probe of a process still running, made a moment ago, is left to it. (Before: every
    leftover stayed for good.) The run itself leaves none."""
    s, sb = world
    run = _dry_run(s, sb, monkeypatch)
    want = _plan(run())
    directory = _home() / "cache"
    ended = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"],
                           capture_output=True, text=True, check=True)  # fmt: skip
    with subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)"]) as live:
        try:
            dead = directory / f".probe-{int(ended.stdout)}-k3j2h1g0"
            old = directory / ".probe-a8b7c6d5"
            running = directory / f".probe-{live.pid}-z9y8x7w6"
            for probe in (dead, old, running):
                probe.touch()
            long_ago = time.time() - 2 * STALE_PROBE_S
            os.utime(old, (long_ago, long_ago))
            result = run()
            assert _plan(result) == want
            assert _warnings(result) == [], result.stderr
            assert sorted(directory.glob(".probe-*")) == [running]
        finally:
            live.kill()
