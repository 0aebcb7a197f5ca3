"""The journal under a full disk, and after a torn last line (review U2), over the command line
against the sandbox:

1. A journal that cannot be written (``ENOSPC`` from its fsync or its write, after some
   records) stopped an apply with a raw ``OSError`` traceback, exit 1. Now the run stops
   sending at once (every write sent has its ``pending`` record in the journal), with one line
   naming the journal, the error, how many writes were sent and what to do, exit 2; once
   there is space, ``undo`` of the same journal, or the same apply again, works.
2. A torn last line (a run killed mid-write) was ignored by the next run, which then wrote a
   newline after it and appended: the fragment became a damaged middle line that stopped
   every later ``undo`` and ``apply`` (exit 2, ``line N is damaged``). The first append of a
   run now cuts the torn tail off.
"""

from __future__ import annotations

import errno
import json
import os
import re
import shutil
import subprocess
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from click.testing import Result

from trello_restore import journal as journal_module
from trello_restore import journal_file
from trello_restore.errors import ExitCode
from trello_restore.journal import Journal
from trello_restore.sandbox.scenario import Scenario, generate

from .applykit import Snapshot, snapshot
from .conftest import Sandbox, configless_cli, one_line_error
from .truthcheck import incident_since

Invoke = Callable[..., Result]
WRITES = ("POST", "PUT", "DELETE")
RUN = ("--yes", "--quiet", "--rate-limit", "1000")
#: Seconds a request may take (``TRELLO_RESTORE_REQUEST_TIMEOUT``): what undo waits, at most,
#: for the writes of a run that left ``pending`` records.
REQUEST_TIMEOUT = "0.5"
REAL_FSYNC = os.fsync
ENOSPC = OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))


@pytest.fixture(name="scenario")
def scenario_fixture() -> Scenario:
    """An incident with enough changes for the default workers to have writes in flight at a
    failure."""
    return generate(5, 120)


@pytest.fixture(name="invoke")
def invoke_fixture(sb: Sandbox, monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Invoke:
    """The CLI in-process, pointed at the sandbox with the lead's credentials, no config."""
    monkeypatch.setenv("TRELLO_RESTORE_REQUEST_TIMEOUT", REQUEST_TIMEOUT)
    return configless_cli(sb, monkeypatch, tmp_path)


@pytest.fixture(name="plan")
def plan_fixture(invoke: Invoke, scenario: Scenario, tmp_path: Path) -> Path:
    """The scenario's incident planned (with board grants) into a plan file."""
    path = tmp_path / "plan.json"
    r = invoke(
        "--board", scenario.team.id, "--removed-by", scenario.mover.username, "--add-to-board",
        "--since", incident_since(scenario), "--dry-run", "--quiet", "--plan-out", str(path),
    )  # fmt: skip
    assert r.exit_code == ExitCode.OK, r.output
    assert len(_changes(path)) > 30
    return path


class DiskFull:
    """``os.fsync`` that fails with ENOSPC for the journal at ``path`` after ``after`` fsyncs of
    it (while ``on``); every other file is synced as usual."""

    def __init__(self, path: Path, after: int) -> None:
        self.path, self.after, self.on = path, after, True
        self.count = 0

    def __call__(self, fd: int) -> None:
        if self.on and self.path.exists() and os.path.samestat(os.fstat(fd), self.path.stat()):
            self.count += 1
            if self.count > self.after:
                raise ENOSPC
        REAL_FSYNC(fd)


def _changes(plan: Path) -> list[dict[str, Any]]:
    changes: list[dict[str, Any]] = json.loads(plan.read_text(encoding="utf-8"))["changes"]
    return changes


def _made(plan: Path, before: Snapshot, now: Snapshot) -> set[str]:
    """The plan's changes that are made in ``now`` and were not in ``before``."""
    made = set()
    for c in _changes(plan):
        member = c["member"]["id"]
        if c["action"] == "add_member_to_card":
            card = c["card"]["id"]
            there = member in now.cards[card] and member not in before.cards[card]
        else:
            board = c["board"]["id"]
            there = member in now.boards[board] and member not in before.boards[board]
        if there:
            made.add(c["change_id"])
    return made


def _pending(path: Path) -> set[str]:
    """The change ids with a ``pending`` apply record in the journal, as it is on disk."""
    return {r.change_id for r in Journal.read(path).records if r.status == "pending"}


def _writes(sb: Sandbox) -> int:
    return sum(r.method in WRITES for r in sb.server.request_log)


def _sent(line: str) -> int:
    found = re.search(r": (\d+) (?:undo )?writes? w", line)
    assert found is not None, line
    return int(found.group(1))


def _assert_stopped(
    r: Result, journal: Path, sb: Sandbox, writes_before: int, *needles: str
) -> int:
    """One line, exit 2, naming the journal and the error; the writes it says were sent are
    the writes the sandbox received. Returns their number."""
    line = one_line_error(
        r, ExitCode.USAGE, f"cannot write the journal {journal} (No space left on device)",
        "so the run stopped", "sent to Trello, each recorded there before it went, and no more",
        "free space on its disk, then", *needles,
    )  # fmt: skip
    sent = _sent(line)
    assert 0 < sent == _writes(sb) - writes_before
    return sent


def test_a_journal_that_cannot_be_synced_stops_the_apply_and_undo_and_resume_work(
    invoke: Invoke, plan: Path, sb: Sandbox, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """fsync of the journal fails (ENOSPC) after 12 records, with the default workers: no traceback,
    one line, exit 2; each write the sandbox received has its ``pending`` record in the
    journal, and their number is the line's. Once there is space: ``undo`` of the journal
    takes back exactly what was sent, and the same apply again makes the whole plan."""
    journal = tmp_path / "full" / "j.jsonl"
    journal.parent.mkdir()  # a --journal is refused in a directory that is not there
    before = snapshot(sb.world)
    full = DiskFull(journal, after=12)
    monkeypatch.setattr(os, "fsync", full)
    r = invoke("apply", str(plan), "--journal", str(journal), *RUN)
    sent = _assert_stopped(
        r, journal, sb, 0, "run the same command again to resume",
        f"reverse what was sent with trello-restore undo {journal}",
    )  # fmt: skip
    made = _made(plan, before, snapshot(sb.world))
    assert len(made) == sent
    assert made <= _pending(journal), "a write was sent before its pending record was on disk"

    full.on = False  # space freed
    r = invoke("undo", str(journal), "--include-board-memberships", *RUN)
    assert r.exit_code == ExitCode.OK, r.output
    assert snapshot(sb.world) == before
    r = invoke("apply", str(plan), "--journal", str(journal), *RUN)
    assert r.exit_code == ExitCode.OK, r.output
    assert _made(plan, before, snapshot(sb.world)) == {c["change_id"] for c in _changes(plan)}


def test_a_journal_write_cut_short_stops_the_apply_and_the_same_apply_finishes_it(
    invoke: Invoke, plan: Path, sb: Sandbox, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The 20th append writes half its line, then ENOSPC: the run stops as above, the journal
    ends in a torn line. The same apply again (space freed) cuts that line off, settles the
    writes left ``pending`` and makes the rest: every change applied, a clean journal."""
    journal = tmp_path / "j.jsonl"
    before = snapshot(sb.world)
    real = journal_file.write_all
    calls = 0

    def cut_short(fd: int, data: bytes) -> None:
        nonlocal calls
        calls += 1
        if calls < 20:
            real(fd, data)
            return
        os.write(fd, data[: len(data) // 2])
        raise ENOSPC

    monkeypatch.setattr(journal_module, "write_all", cut_short)  # what appends call
    r = invoke("apply", str(plan), "--journal", str(journal), *RUN)
    _assert_stopped(r, journal, sb, 0, "run the same command again to resume")
    assert calls == 20, "no append was tried after the first that failed"
    assert not journal.read_bytes().endswith(b"\n")
    assert _made(plan, before, snapshot(sb.world)) <= _pending(journal)

    monkeypatch.setattr(journal_module, "write_all", real)
    r = invoke("apply", str(plan), "--journal", str(journal), *RUN)
    assert r.exit_code == ExitCode.OK, r.output
    assert (
        f"{journal}: ignoring a torn last line (a run was interrupted, or met a full disk "
        "or the file size limit: ulimit -f)" in (r.stderr)
    )  # not only "interrupted": this run's journal met a full disk
    text = journal.read_text(encoding="utf-8")
    assert text.endswith("\n")
    assert all(json.loads(line) for line in text.splitlines())
    assert set(Journal.read(journal).done()) == {c["change_id"] for c in _changes(plan)}
    assert _made(plan, before, snapshot(sb.world)) == set(Journal.read(journal).done())


def test_a_journal_that_fails_during_undo_stops_it_and_the_same_undo_finishes_it(
    invoke: Invoke, plan: Path, sb: Sandbox, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """An undo whose journal stops taking records: the same one line (``undo writes``), and
    the same undo again once there is space leaves the boards as before the apply."""
    journal = tmp_path / "j.jsonl"
    before = snapshot(sb.world)
    assert invoke("apply", str(plan), "--journal", str(journal), *RUN).exit_code == ExitCode.OK
    writes = _writes(sb)
    full = DiskFull(journal, after=1)  # the undo's second fsync: early, whatever the batching
    monkeypatch.setattr(os, "fsync", full)
    undo = ("undo", str(journal), "--include-board-memberships", *RUN)
    _assert_stopped(invoke(*undo), journal, sb, writes, "undo write", "run the same undo again")
    # Left for the same undo: changes not undone yet, or undone with no outcome on record (the
    # world may be back already, when the records that failed were the last writes' answers).
    from trello_restore.undo_left import undoable

    assert undoable(Journal.read(journal).records)
    full.on = False
    r = invoke(*undo)
    assert r.exit_code == ExitCode.OK, r.output
    assert snapshot(sb.world) == before


def test_a_journal_never_syncs_again_after_a_failed_fsync(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """After one failed fsync (which may have dropped the lines it covered, and after which
    a second fsync can succeed without them), every append fails without touching the file,
    and closing it raises nothing."""
    from trello_restore.errors import JournalWriteError
    from trello_restore.journal import JournalHeader, JournalRecord

    path = tmp_path / "j.jsonl"
    header = JournalHeader("d" * 64, "http://sandbox/1", "a" * 24, "2026-01-01T00:00:00.000Z")
    record = JournalRecord("c-1", "apply", "add_member_to_card", "pending", "b" * 24, "m" * 24)
    journal = Journal.open(path, header)
    journal.append(record)
    monkeypatch.setattr(os, "fsync", DiskFull(path, after=0))
    with pytest.raises(JournalWriteError, match="No space left on device"):
        journal.append(record)
    size = path.stat().st_size
    monkeypatch.setattr(os, "fsync", REAL_FSYNC)
    with pytest.raises(JournalWriteError, match="nothing more was sent to Trello"):
        journal.append_many([record, record])
    assert path.stat().st_size == size
    journal.close()


def test_a_torn_last_line_is_cut_off_by_the_next_run_that_appends(
    invoke: Invoke, plan: Path, sb: Sandbox, tmp_path: Path
) -> None:
    """A journal ending in a torn line: ``undo --yes`` warns and undoes the card members;
    then ``undo --include-board-memberships`` and the plan's apply both work (they stopped
    at ``line N is damaged``): the undo removed the fragment before appending."""
    journal = tmp_path / "j.jsonl"
    assert invoke("apply", str(plan), "--journal", str(journal), *RUN).exit_code == ExitCode.OK
    with journal.open("a", encoding="utf-8") as f:
        f.write('{"action": "add_member_to_ca')
    r = invoke("undo", str(journal), *RUN)
    assert r.exit_code == ExitCode.OK, r.output
    assert "ignoring a torn last line" in r.stderr
    r = invoke("undo", str(journal), "--include-board-memberships", *RUN)
    assert r.exit_code == ExitCode.OK, r.output
    assert "torn" not in r.stderr
    r = invoke("apply", str(plan), "--journal", str(journal), *RUN)
    assert r.exit_code == ExitCode.OK, r.output
    assert len(Journal.read(journal).done()) == len(_changes(plan))
    assert all(json.loads(line) for line in journal.read_text(encoding="utf-8").splitlines())


def test_a_journal_that_cannot_be_opened_says_nothing_was_sent_and_what_to_do(
    invoke: Invoke, plan: Path, sb: Sandbox, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """R47b: an undo (or a resumed apply) of a journal this user cannot write (made
    read-only) said only "cannot write the journal … (Permission denied)": the line now says
    nothing was sent and what to do. (Its opening is refused here by a stand-in for
    ``os.open``: root, which runs the tests in CI, may write a read-only file.)"""
    journal = tmp_path / "j.jsonl"
    assert invoke("apply", str(plan), "--journal", str(journal), *RUN).exit_code == ExitCode.OK
    real_open = os.open

    def refused(path: Any, flags: int, *args: Any, **kwargs: Any) -> int:
        if Path(path) == journal and flags & os.O_APPEND:
            raise PermissionError(errno.EACCES, os.strerror(errno.EACCES), str(path))
        return real_open(path, flags, *args, **kwargs)

    monkeypatch.setattr(os, "open", refused)
    before = _writes(sb)
    for args in (("undo", str(journal)), ("apply", str(plan), "--journal", str(journal))):
        one_line_error(
            invoke(*args, *RUN), ExitCode.USAGE,
            f"cannot write the journal {journal} (Permission denied): nothing was sent to "
            "Trello; make it writable for this user (chmod u+w, as its owner), then run the "
            "same command again",
        )  # fmt: skip
    assert _writes(sb) == before


def test_an_immutable_journal_is_not_told_chmod(
    invoke: Invoke, plan: Path, sb: Sandbox, tmp_path: Path
) -> None:
    """R60d: a journal marked immutable (``chattr +i``: open for writing fails with EPERM, for
    root too) was told "chmod u+w", which does not help; it is told to clear the flag."""
    journal = tmp_path / "j.jsonl"
    assert invoke("apply", str(plan), "--journal", str(journal), *RUN).exit_code == ExitCode.OK
    if (
        shutil.which("chattr") is None
        or subprocess.run(
            ["chattr", "+i", str(journal)], capture_output=True, check=False
        ).returncode
    ):
        pytest.skip("chattr +i is not available on this file system")
    try:
        before = _writes(sb)
        one_line_error(
            invoke("undo", str(journal), *RUN), ExitCode.USAGE,
            f"cannot write the journal {journal} (Operation not permitted): nothing was sent "
            "to Trello; clear its immutable flag (chattr -i, as root), then run the same "
            "command again",
        )  # fmt: skip
        assert _writes(sb) == before
    finally:
        subprocess.run(["chattr", "-i", str(journal)], check=True)
