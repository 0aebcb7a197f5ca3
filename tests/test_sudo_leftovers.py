"""R63b: one run with ``sudo`` (root, the user's HOME kept) leaves root's files in the user's
state directory: its last-run record, journals, locks, log file, plan files. Every run of the
user's after it stopped (the nightly cron run too), told to check the state directory's
permissions, which were fine, or to chmod what only root could change. Each such line now says
which file or directory belongs to another user and the ``chown`` that gives it back.

The tests run as root, who may read anything: this user is simulated by ``os.geteuid`` (an
uid no file here has), and a refused read by a stand-in where one is needed."""

from __future__ import annotations

import errno
import logging
import os
from pathlib import Path
from typing import Any

import pytest

from trello_restore import lastrun, locks, logs
from trello_restore.errors import ExitCode, InputFileError, UsageError
from trello_restore.fsutil import sudo_advice
from trello_restore.journal_errors import unreachable
from trello_restore.store_notices import Notices

from .conftest import Sandbox, cli_invoker, one_line_error

ME = 4242  # this user's uid; every file made by the tests is root's (0) unless chowned
DENIED = "Permission denied"


@pytest.fixture(name="state")
def state_fixture(tmp_path: Path) -> Path:
    """``state/last-run/x.json``: the state directory this user's, what is below it root's."""
    state = tmp_path / "state"
    (state / "last-run").mkdir(parents=True)
    (state / "last-run" / "x.json").write_text("{}")
    os.chown(state, ME, ME)
    return state


def test_the_advice_names_what_belongs_to_another_user_and_the_chown(
    state: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    record = state / "last-run" / "x.json"
    monkeypatch.setattr(os, "geteuid", lambda: ME)
    said = "belongs to another user (uid 0; a run with sudo?): have it given to this user"
    # Within the state directory: the topmost of another user's, and the chown of that
    # directory, whose other files the run made are in the way next.
    assert sudo_advice(record, state, whole=True) == (
        f"{record.parent} {said} (sudo chown -R {ME} {state})"
    )
    # Else the topmost of another user's whose own directory is this user's.
    want = f"{record.parent} {said} (sudo chown -R {ME} {record.parent})"
    assert sudo_advice(record, state) == want
    assert sudo_advice(record, record) == want
    # A file of another user's in a shared directory (/tmp, sticky): that file only.
    shared = tmp_path / "shared"
    shared.mkdir(mode=0o777)
    shared.chmod(0o1777)
    plan = shared / "plan.json"
    plan.write_text("{}")
    assert sudo_advice(plan, plan) == f"it {said} (sudo chown -R {ME} {plan})"
    # R64a: never a directory whose owner may rightly be another: one of another user's in a
    # shared directory (a colleague's in /tmp, or in a group's), a shared directory itself,
    # or one with no directory of this user's above it (/root).
    theirs = shared / "theirs"
    theirs.mkdir()
    (theirs / "j.jsonl").write_text("")
    group = tmp_path / "group"
    group.mkdir()
    group.chmod(0o2770)
    (group / "locks").mkdir()
    for odd in (theirs / "j.jsonl", group / "locks" / "x.lock", group / "x", tmp_path / "x"):
        assert sudo_advice(odd, odd.parent, whole=True) is None, odd
    # R65a: nor a colleague's file (a run with sudo leaves root's), in /tmp or in one's own.
    colleagues = shared / "their.log"
    colleagues.write_text("")
    os.chown(colleagues, 5555, 5555)
    mine_too = state / "their.log"
    mine_too.write_text("")
    os.chown(mine_too, 5555, 5555)
    assert sudo_advice(colleagues, colleagues) is None
    assert sudo_advice(mine_too, state, whole=True) is None
    # Nothing to say when all of it is this user's, nor to root.
    for p in (record, record.parent):
        os.chown(p, ME, ME)
    assert sudo_advice(record, state, whole=True) is None
    monkeypatch.setattr(os, "geteuid", lambda: 0)
    assert sudo_advice(plan, plan) is None


def test_a_lock_directory_root_made_says_so(state: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """``cannot create the lock directory … check the state directory's permissions``: the
    state directory was this user's; its ``locks`` directory, root's."""
    (state / "locks").mkdir()
    monkeypatch.setattr(os, "geteuid", lambda: ME)
    err = PermissionError(errno.EACCES, DENIED, str(state / "locks"))
    lock = state / "locks" / "plan-x.lock"
    made = locks._cannot_make(lock, err, "lock directory", state / "locks")
    assert str(made) == (
        f"cannot create the lock directory {state / 'locks'} ({DENIED}); it belongs to another "
        f"user (uid 0; a run with sudo?): have it given to this user (sudo chown -R {ME} {state})"
    )


def _as_me_refused_the_plan(monkeypatch: pytest.MonkeyPatch) -> None:
    """This process runs as ``ME``, and the plan file's read is refused (root's, 0600)."""
    monkeypatch.setattr(os, "geteuid", lambda: ME)

    def refused(path: Path) -> bytes:
        raise PermissionError(errno.EACCES, DENIED, str(path))

    monkeypatch.setattr("trello_restore.planfile.read_named", refused)


def test_a_log_file_root_made_says_so(state: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The README's cron config keeps the log file in the state directory: after a run with
    sudo made it, every run stopped at ``cannot open the log file`` before anything."""
    log = state / "cron.log"
    log.write_text("")
    monkeypatch.setattr(os, "geteuid", lambda: ME)

    def refused(path: Path) -> None:
        raise PermissionError(errno.EACCES, DENIED, str(path))

    monkeypatch.setattr(logs, "private_dirs", refused)
    with pytest.raises(UsageError) as caught:
        logs._open_log_file(log)
    assert str(caught.value) == (
        f"cannot open the log file {log} ({DENIED}); it belongs to another user (uid 0; a run "
        f"with sudo?): have it given to this user (sudo chown -R {ME} {log})"
    )


def test_a_plan_file_root_wrote_says_so(
    sb: Sandbox, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """``apply`` of a plan that ``sudo trello-restore … --plan-out`` wrote (root's, 0600)."""
    home = tmp_path / "home"
    home.mkdir()
    os.chown(home, ME, ME)
    plan = home / "plan.json"
    plan.write_text("{}")
    invoke = cli_invoker(monkeypatch)
    _as_me_refused_the_plan(monkeypatch)
    r = invoke("apply", str(plan), "--yes")
    one_line_error(
        r, ExitCode.USAGE,
        f"cannot read plan file {plan}: {DENIED}; it belongs to another user (uid 0; a run "
        f"with sudo?): have it given to this user (sudo chown -R {ME} {plan})",
    )  # fmt: skip
    assert sb.server.request_log == []


def _unsearchable_to_me(monkeypatch: pytest.MonkeyPatch, directory: Path) -> None:
    """This user (``ME``), for whom ``directory`` cannot be searched (``os.access``: root, who
    runs the tests, may search anything)."""
    monkeypatch.setattr(os, "geteuid", lambda: ME)
    real = os.access
    monkeypatch.setattr(os, "access", lambda p, m, **k: Path(p) != directory and real(p, m, **k))


def test_a_journal_directory_root_made_says_so(
    state: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """``undo`` of a journal in a journal directory a run with sudo made (0700, root's) was told
    "make it searchable: chmod 700 … if it is yours"; it is not."""
    journals = state / "journals"
    journals.mkdir()
    _unsearchable_to_me(monkeypatch, journals)
    err = PermissionError(errno.EACCES, DENIED, str(journals / "j.jsonl"))
    assert unreachable(journals / "j.jsonl", err, "undo") == (
        f"cannot read the journal {journals / 'j.jsonl'}: this user cannot search the directory "
        f"{journals} ({DENIED}); {journals} belongs to another user (uid 0; a run with sudo?): "
        f"have it given to this user (sudo chown -R {ME} {journals})"
    )


def test_no_chown_is_advised_for_a_directory_not_the_tool_s(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """R63a: the advice must not hand this user a directory whose owner is rightly another
    (``--journal /root/j.jsonl``: never ``sudo chown -R you /root``)."""
    elsewhere = tmp_path / "root-home"
    elsewhere.mkdir()
    _unsearchable_to_me(monkeypatch, elsewhere)
    err = PermissionError(errno.EACCES, DENIED, str(elsewhere / "j.jsonl"))
    said = unreachable(elsewhere / "j.jsonl", err, "undo")
    assert "sudo chown" not in said
    assert said.endswith(f"make it searchable: chmod 700 {elsewhere} if it is yours")


def test_a_last_run_directory_root_made_says_so(
    state: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """R64a: ``--since last-run`` with the state's ``last-run`` directory root's (0700): "make
    it searchable (chmod 700 … if it is yours)"; it is not."""
    monkeypatch.setattr(os, "geteuid", lambda: ME)
    real = Path.exists

    def exists(self: Path, **kwargs: Any) -> bool:
        if self.parent == state / "last-run":
            raise PermissionError(errno.EACCES, DENIED, str(self))
        return real(self, **kwargs)

    monkeypatch.setattr(Path, "exists", exists)
    with pytest.raises(InputFileError) as caught:
        lastrun._exists(state / "last-run" / "x.json", "--since last-run")
    assert str(caught.value).endswith(
        f"({DENIED}); {state / 'last-run'} belongs to another user (uid 0; a run with sudo?): have "
        f"it given to this user (sudo chown -R {ME} {state / 'last-run'}), or pass --since DATE"
    )


def test_a_kept_history_root_made_says_so(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    """R64a: the boards' kept histories that a run with sudo wrote in the user's cache could
    not be written again, every run reading them in full, told "check that this user can
    write in it": the cache directory is this user's, its board's directory root's."""
    cache = tmp_path / "cache"
    board = cache / "boards" / "b1"
    board.mkdir(parents=True)
    os.chown(cache, ME, ME)
    monkeypatch.setattr(os, "geteuid", lambda: ME)
    notices = Notices(cache)
    err = PermissionError(errno.EACCES, DENIED, str(board / "history.json.gz"))
    with caplog.at_level(logging.WARNING):
        notices.unwritable("b1", board / "history.json.gz", err)
    (said,) = [r.getMessage() for r in caplog.records]
    assert said.endswith(
        f"{cache / 'boards'} belongs to another user (uid 0; a run with sudo?): have it given "
        f"to this user (sudo chown -R {ME} {cache})"
    ), said
