"""R64b: a process out of open files (``ulimit -n`` low, many workers) cannot open a socket:
``EMFILE`` under urllib3's ``NewConnectionError``. It was "cannot reach the Trello API …
(cannot connect) after 6 attempts: check the network connection", exit 4, after 23 s of
retries, and mid-apply "Trello kept failing … when Trello works again, run again". It is this
machine's limit: one line that says so and what to change, exit 2, at once."""

from __future__ import annotations

import errno
from typing import Any

import pytest
import requests
import urllib3.exceptions
import urllib3.util.connection
from requests.adapters import HTTPAdapter

from trello_restore.api import certainly_not_applied
from trello_restore.api.classify import error_for_exception
from trello_restore.errors import ExitCode, OutOfFiles
from trello_restore.journal_errors import write_failed

from .conftest import Sandbox, one_line_error, sandbox_cli
from .test_cli_apply import _restore_args, _writes

TOO_MANY = "Too many open files"


def _out_of_files() -> requests.ConnectionError:
    cause = OSError(errno.EMFILE, TOO_MANY)
    new = urllib3.exceptions.NewConnectionError(None, f"Failed to establish: {cause}")  # type: ignore[arg-type]
    new.__cause__ = cause
    pool = urllib3.exceptions.MaxRetryError(None, "/1/members/me?token=SECRET", new)  # type: ignore[arg-type]
    return requests.ConnectionError(pool)


def test_out_of_files_is_this_machine_s_limit_not_trello_s() -> None:
    err, again = error_for_exception(_out_of_files(), api_url="https://api.trello.com/1")
    assert type(err) is OutOfFiles
    assert err.exit_code == ExitCode.USAGE
    assert again is False
    assert str(err) == (
        "cannot open a connection to the Trello API at api.trello.com: this process has too "
        "many files open (raise `ulimit -n`, or lower --workers); nothing is wrong with Trello "
        "or the network"
    )
    assert certainly_not_applied(err)  # no socket: the write never left


def test_a_run_out_of_files_says_so_at_once(
    sb: Sandbox, scenario: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Every new connection refused for want of files: one line, exit 2, nothing sent, no
    retries (each request once)."""
    invoke = sandbox_cli(sb, monkeypatch)

    def no_files(*_: object, **__: object) -> None:
        raise OSError(errno.EMFILE, TOO_MANY)

    monkeypatch.setattr(urllib3.util.connection, "create_connection", no_files)
    r = invoke(*_restore_args(scenario), "--yes", "--no-cache")
    one_line_error(
        r, ExitCode.USAGE, "this process has too many files open (raise `ulimit -n`",
        "nothing is wrong with Trello or the network", "nothing was changed",
    )  # fmt: skip
    assert "attempts" not in r.stderr
    assert _writes(sb) == []


def test_an_apply_out_of_files_stops_as_for_a_revoked_token(
    sb: Sandbox, scenario: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Mid-apply, the first connection that cannot be opened stops the run (the writes in
    flight answered and journaled): exit 2 and its line, not "Trello kept failing" after a
    breaker's worth of failed writes; the write that met it is not sent, and nothing else is
    after it."""
    invoke = sandbox_cli(sb, monkeypatch)
    real, opened = urllib3.util.connection.create_connection, [0]

    def a_few(*args: Any, **kwargs: Any) -> Any:
        opened[0] += 1
        if opened[0] > 2:  # the plan's reads, then the workers' own connections
            raise OSError(errno.EMFILE, TOO_MANY)
        return real(*args, **kwargs)

    monkeypatch.setattr(urllib3.util.connection, "create_connection", a_few)
    r = invoke(*_restore_args(scenario), "--yes", "--no-cache", "--workers", "4")
    assert r.exit_code == ExitCode.USAGE, r.output
    assert "this process has too many files open" in r.stderr
    assert "kept failing" not in r.stderr
    truth = scenario.truth("b")
    assert len(_writes(sb)) < len(truth.changes) + len(truth.grants)


def test_writes_that_could_not_open_a_connection_were_not_sent(
    sb: Sandbox, scenario: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The reads work, and no write can open its connection: none left, so the line says
    nothing was changed (R67b: "every change this run made is in its journal", the write
    counted as sent before it tried to connect)."""
    invoke = sandbox_cli(sb, monkeypatch)
    real_send = HTTPAdapter.send

    def no_files_for_writes(self: HTTPAdapter, request: Any, *args: Any, **kwargs: Any) -> Any:
        if request.method != "GET":
            raise _out_of_files()
        return real_send(self, request, *args, **kwargs)

    monkeypatch.setattr(HTTPAdapter, "send", no_files_for_writes)
    r = invoke(*_restore_args(scenario), "--yes", "--no-cache", "--workers", "1")
    line = one_line_error(r, ExitCode.USAGE, "this process has too many files open")
    assert line.endswith("; nothing was changed"), line
    assert _writes(sb) == []


@pytest.mark.parametrize(
    ("exc", "said"),
    [
        (MemoryError(), "not enough memory for this run"),
        (RuntimeError("can't start new thread"), "a thread could not be started for this run"),
    ],
)
def test_a_run_starved_of_memory_or_threads_is_no_bug(
    sb: Sandbox, scenario: Any, monkeypatch: pytest.MonkeyPatch, exc: Exception, said: str
) -> None:
    """R64b: under ``ulimit -v`` a run ended "internal error (a bug: … report it)",
    exit 1: one line, this machine's limits to raise, exit 2."""
    invoke = sandbox_cli(sb, monkeypatch)

    def starved(*_: object, **__: object) -> None:
        raise exc

    monkeypatch.setattr("trello_restore.run.make_plan", starved)
    r = invoke(*_restore_args(scenario), "--dry-run")
    one_line_error(r, ExitCode.USAGE, said, "`ulimit -v`", "lower --workers")
    assert "internal error" not in r.stderr


def test_a_journal_past_the_file_size_limit_names_the_limit(tmp_path: Any) -> None:
    """R64b: under ``ulimit -f`` the journal's line said "fix what keeps it from being
    written"; the kept histories' notices named the limit already."""
    err = OSError(errno.EFBIG, "File too large")
    said = str(write_failed(tmp_path / "j.jsonl", err, sent=3))
    assert "(File too large), so the run stopped: 3 writes were sent" in said
    assert "; raise the file size limit (`ulimit -f`), then run the same command again" in said


def test_a_file_the_process_cannot_open_for_want_of_files_is_no_bug(
    sb: Sandbox, scenario: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    """R66a: under ``ulimit -n 8`` a module imported late could not open its own file:
    "internal error (a bug …)", exit 1. One line and exit 2, as for a connection."""
    invoke = sandbox_cli(sb, monkeypatch)

    def no_files(*_: object, **__: object) -> None:
        raise OSError(errno.EMFILE, TOO_MANY, "/x/trello_restore/fetcher_stored.py")

    monkeypatch.setattr("trello_restore.run.make_plan", no_files)
    r = invoke(*_restore_args(scenario), "--dry-run")
    one_line_error(
        r, ExitCode.USAGE,
        "cannot open /x/trello_restore/fetcher_stored.py: this process has too many files open "
        "(raise `ulimit -n`, or lower --workers)",
    )  # fmt: skip
