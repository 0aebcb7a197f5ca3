"""The log file's rotation beside other runs and in a directory this user cannot write in
(R72c): cron jobs of several boards share one log file and start the same minute; a log may
live in a directory root owns (``/var/log``)."""

from __future__ import annotations

import fcntl
import logging
import os
import threading
from pathlib import Path

import pytest

from trello_restore.logs import LogFileHandler

LIMIT = 300


def _handler(path: Path) -> LogFileHandler:
    handler = LogFileHandler(path, maxBytes=LIMIT, backupCount=3, encoding="utf-8")
    handler.setFormatter(logging.Formatter("%(message)s"))
    return handler


def _log(handler: LogFileHandler, text: str) -> None:
    handler.handle(logging.makeLogRecord({"msg": text, "levelno": logging.INFO}))
    handler.flush()


def _old_files(path: Path) -> None:
    for n in (1, 2, 3):
        Path(f"{path}.{n}").write_text(f"old {n}\n")


def test_a_log_another_run_rotated_is_not_rotated_again(tmp_path: Path) -> None:
    """Two runs with the log open, both over the limit: the first rotates it; the second
    goes on in the new file instead of rotating that too, so one old file is dropped, not
    all of them (R72c: four runs at once left four files of one run each)."""
    path = tmp_path / "cron.log"
    _old_files(path)
    path.write_text("x" * (LIMIT - 10) + "\n")
    first, second = _handler(path), _handler(path)
    try:
        _log(first, "first run's record")  # over the limit: rotated
        assert Path(f"{path}.1").read_text().startswith("x")
        assert Path(f"{path}.2").read_text() == "old 1\n"
        assert Path(f"{path}.3").read_text() == "old 2\n"
        _log(second, "second run's record")  # its file was rotated away: the new one
        assert Path(f"{path}.2").read_text() == "old 1\n"
        assert Path(f"{path}.3").read_text() == "old 2\n"
        assert path.read_text() == "first run's record\nsecond run's record\n"
        assert not first.failed
        assert not second.failed
    finally:
        first.close()
        second.close()


def test_a_run_whose_log_another_run_is_rotating_waits_and_rotates_no_more(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Two runs over the limit at the same moment: both looked before either rotated. The
    one that rotates second waits for the lock the first holds while it renames, then finds
    its file moved away and goes on in the new one: one old file dropped, not two (R74a: 8 of
    100 two-process trials lost one; R75a: mutants LG10 without the lock and LG11 without the
    second look under it passed every test)."""
    path = tmp_path / "cron.log"
    _old_files(path)
    path.write_text("x" * (LIMIT - 10) + "\n")
    run = _handler(path)
    real_flock = fcntl.flock
    waiting = threading.Event()

    def flock(fd: int, operation: int) -> None:
        waiting.set()
        real_flock(fd, operation)

    monkeypatch.setattr(fcntl, "flock", flock)
    other = os.open(path, os.O_RDONLY)  # the other run, rotating: holds the lock
    real_flock(other, fcntl.LOCK_EX)
    thread = threading.Thread(target=_log, args=(run, "this run's record"))
    try:
        thread.start()
        assert waiting.wait(30), "this run rotated without waiting for the lock"
        for n in (2, 1):  # the other run's rotation, as RotatingFileHandler renames
            Path(f"{path}.{n}").replace(f"{path}.{n + 1}")
        path.replace(f"{path}.1")
        path.write_text("other run's record\n")
        os.close(other)  # its lock released
        thread.join(30)
        assert not thread.is_alive()
        assert path.read_text() == "other run's record\nthis run's record\n"
        assert Path(f"{path}.1").read_text().startswith("x")
        assert Path(f"{path}.2").read_text() == "old 1\n"
        assert Path(f"{path}.3").read_text() == "old 2\n"
        assert not run.failed
    finally:
        run.close()


def test_a_log_in_a_directory_this_user_cannot_write_in_is_appended_to(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The log's directory refuses the renames (root's ``/var/log``; tests run as root, so
    the refusal is made): the file is appended to past the limit, with no warning, instead of
    being written no more after a failed rotation (R72c)."""
    path = tmp_path / "tr.log"
    path.write_text("x" * (LIMIT - 10) + "\n")
    real = os.access
    monkeypatch.setattr(
        os, "access", lambda p, mode, **kw: False if Path(p) == tmp_path else real(p, mode, **kw)
    )
    handler = _handler(path)
    try:
        for n in range(3):
            _log(handler, f"record {n}")
        assert not handler.failed
        assert path.read_text().endswith("record 0\nrecord 1\nrecord 2\n")
        assert not Path(f"{path}.1").exists()
    finally:
        handler.close()


def test_a_rename_refused_midway_keeps_the_log_written(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A rotation whose rename fails anyway (a directory made read-only meanwhile): the run
    goes on writing the file as it is, and says nothing of it."""
    path = tmp_path / "tr.log"
    path.write_text("x" * (LIMIT - 10) + "\n")

    def refused(*_: object) -> None:
        raise PermissionError(13, "Permission denied")

    handler = _handler(path)
    monkeypatch.setattr(os, "rename", refused)
    try:
        _log(handler, "after the refusal")
        assert not handler.failed
        assert path.read_text().endswith("after the refusal\n")
    finally:
        handler.close()


def test_a_run_names_at_most_so_many_changes_left_undone_in_its_log() -> None:
    """Thousands of blocked changes would rotate the log's history away in one run (R74a: 2.3
    MB, two old files gone): the first ``LOGGED_OUTCOMES`` are named, the rest counted."""
    from trello_restore.report_outcomes import LOGGED_OUTCOMES, attention_lines
    from trello_restore.runner_types import ChangeOutcome

    outcomes = [
        ChangeOutcome(f"c-{n}", "add_member_to_card", status, "b1", f"card{n}", "m1", error="why")
        for n, status in enumerate(["blocked"] * (LOGGED_OUTCOMES + 9) + ["applied"] * 3)
    ]
    lines = attention_lines(outcomes, {}, "the journal has each")
    assert len(lines) == LOGGED_OUTCOMES + 1
    assert lines[-1] == "… and 9 more blocked, drifted or failed; the journal has each"
    assert attention_lines(outcomes[:3], {}, "x") == [
        f"blocked          member m1 on card card{n}  (why)" for n in range(3)
    ]
    # A card named at Trello's limit: the line is cut, with its length (R74a).
    [line] = attention_lines(outcomes[:1], {"c-0": "Ann → card " + "x" * 16_384}, "x")
    assert len(line) < 520
    whole = f"blocked          Ann → card {'x' * 16_384}  (why)"
    assert line == f"{whole[:499]}… ({len(whole)} chars)"
