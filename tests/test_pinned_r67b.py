"""R67b: rules that mutation testing found no test held (fsutil.sudo_advice and its neighbours,
the apply's and the command line's ends for a machine out of files, memory or threads, the HTTP
cache's advice for a directory a run with sudo made). Each test names the mutant it kills.

The tests run as root: another user is simulated by ``os.geteuid`` (as in
``test_sudo_leftovers``), and a refused read or write by a stand-in."""

from __future__ import annotations

import errno
import logging
import os
import stat
from pathlib import Path
from typing import Any

import pytest
import requests
import urllib3.exceptions
from requests.adapters import HTTPAdapter
from requests_cache.models.response import CachedResponse

from trello_restore import run as run_module
from trello_restore.api import ApiSettings
from trello_restore.api import cache as cache_module
from trello_restore.api.cache import _plausible
from trello_restore.api.classify import error_for_exception
from trello_restore.errors import ExitCode, OutOfFiles
from trello_restore.fsutil import looks, not_replaceable, sudo_advice, writable_dir
from trello_restore.journal_errors import write_failed

from .conftest import Sandbox, cli_invoker, one_line_error, sandbox_cli
from .test_cli_apply import WRITES, _restore_args, _writes
from .test_out_of_files import TOO_MANY, _out_of_files
from .test_sudo_leftovers import DENIED, ME, _as_me_refused_the_plan

NOTHING = "nothing was changed"
IN_JOURNAL = "every change this run made is in its journal"


def _root_s_all_the_way_up(path: Path) -> bool:
    """Whether what exists of ``path`` and every directory above it is root's and neither
    group- nor world-writable nor sticky: no directory of this user's (``ME``) above it."""
    for p in [path, *path.parents]:
        try:
            st = p.lstat()
        except OSError:
            continue
        if st.st_uid != 0 or (stat.S_ISDIR(st.st_mode) and st.st_mode & (0o022 | stat.S_ISVTX)):
            return False
    return True


# ------------------------------------------------------------------------------ sudo_advice


def test_no_chown_for_root_s_file_with_no_directory_of_this_user_s_above_it(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """A root file under root's directories all the way to ``/`` (outside ``/tmp``, which is
    shared): no directory of this user's is above it, so no advice at all, never
    ``sudo chown -R you /`` (R67b: mutant sa9)."""
    there = Path("/etc/passwd")  # root's, in root's /etc, in /
    absent = Path("/etc/r67b-absent/plan.json")  # what exists of it: /etc and /
    for p in (there, absent):
        if not _root_s_all_the_way_up(p):
            pytest.skip(f"{p} or a directory above it is not root's alone here")
    monkeypatch.setattr(os, "geteuid", lambda: ME)
    for p in (there, absent):
        assert sudo_advice(p, p) is None, p
        assert sudo_advice(p, p.parent, whole=True) is None, p


def test_a_plan_in_root_s_directory_outside_tmp_gets_no_chown_of_the_root(
    sb: Sandbox, monkeypatch: pytest.MonkeyPatch
) -> None:
    """``apply`` of a plan in a directory root made outside ``/tmp`` (``/etc/…``), which this
    user may not read: the line says so and nothing more, no ``sudo chown -R you /`` (R67b:
    mutant sa9)."""
    plan = Path("/etc/r67b-absent/plan.json")
    if not _root_s_all_the_way_up(plan):
        pytest.skip("/etc or / is not root's alone here")
    invoke = cli_invoker(monkeypatch)
    _as_me_refused_the_plan(monkeypatch)
    r = invoke("apply", str(plan), "--dry-run")
    line = one_line_error(r, ExitCode.USAGE, f"cannot read plan file {plan}: {DENIED}")
    assert "chown" not in line
    assert "belongs to another user" not in line
    assert sb.server.request_log == []


# ----------------------------------------------------------------------------- HTTP cache


def test_a_cache_directory_root_made_in_the_user_s_own_gets_the_chown(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    """``XDG_CACHE_HOME`` a directory a run with sudo made (root's, 0755) in this user's own:
    the HTTP cache cannot be made in it, and the warning gives it back
    (``sudo chown -R you …``), not "chmod u+rwx, as its owner", which only root could follow
    (R67b: mutant ca12)."""
    home = tmp_path / "home"
    made = home / "cache"
    made.mkdir(parents=True)
    made.chmod(0o755)
    os.chown(home, ME, ME)
    monkeypatch.setattr(os, "geteuid", lambda: ME)

    def refused(directory: Path) -> None:
        raise PermissionError(errno.EACCES, DENIED, str(directory))

    monkeypatch.setattr(cache_module, "private_dirs", refused)
    settings = ApiSettings("k" * 32, "t" * 64, cache_dir=made / "trello-restore")
    with caplog.at_level(logging.WARNING):
        assert cache_module.open_http_cache(settings) is None
    (said,) = [r.getMessage() for r in caplog.records if r.levelno == logging.WARNING]
    assert f"{made} belongs to another user (uid 0; a run with sudo?)" in said, said
    assert f"(sudo chown -R {ME} {made})" in said, said
    assert "chmod u+rwx" not in said, said


# --------------------------------------------------------------------- out of files, mid-apply


def test_an_apply_out_of_files_after_its_first_write_stops_naming_its_journal(
    sb: Sandbox, scenario: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The plan made and a first write done, the apply's next write that cannot open a
    connection for want of files stops the run at once: exit 2, the ``ulimit -n`` line and
    where the changes made are (its journal); not a breaker's worth of failed writes and
    "Trello kept failing", exit 5 (R67b: mutant of5)."""
    invoke = sandbox_cli(sb, monkeypatch)
    real_send = HTTPAdapter.send
    writes = [0]

    def one_write_then_no_files(self: HTTPAdapter, request: Any, *args: Any, **kwargs: Any) -> Any:
        if request.method in WRITES:
            writes[0] += 1
            if writes[0] > 1:
                raise _out_of_files()
        return real_send(self, request, *args, **kwargs)

    monkeypatch.setattr(HTTPAdapter, "send", one_write_then_no_files)
    r = invoke(*_restore_args(scenario), "--yes", "--no-cache", "--workers", "1")
    one_line_error(
        r, ExitCode.USAGE, "this process has too many files open (raise `ulimit -n`",
        f"; {IN_JOURNAL} ", "run the same command again",
    )  # fmt: skip
    assert len(_writes(sb)) == 1
    assert writes[0] == 2  # nothing tried after the write that met it


# ------------------------------------------------------- starved before or after the first write

STARVED = [
    pytest.param(MemoryError(), "not enough memory for this run", id="memory"),
    pytest.param(
        OSError(errno.EMFILE, TOO_MANY, "/x/trello_restore/fetcher_stored.py"),
        "cannot open /x/trello_restore/fetcher_stored.py: this process has too many files open",
        id="emfile",
    ),
]


def _raises(exc: BaseException) -> Any:
    def starved(*_: object, **__: object) -> None:
        raise exc

    return starved


@pytest.mark.parametrize(("exc", "said"), STARVED)
def test_a_real_run_starved_before_its_first_write_says_nothing_was_changed(
    sb: Sandbox, scenario: Any, monkeypatch: pytest.MonkeyPatch, exc: BaseException, said: str
) -> None:
    """A run that could write (``--yes``), out of memory or of files while it plans: exit 2,
    its line ending "; nothing was changed" (a user at 2 a.m. must not have to guess whether
    the board changed) (R67b: mutants cs4, ce2)."""
    invoke = sandbox_cli(sb, monkeypatch)
    monkeypatch.setattr(run_module, "make_plan", _raises(exc))
    r = invoke(*_restore_args(scenario), "--yes", "--no-cache")
    line = one_line_error(r, ExitCode.USAGE, said)
    assert line.endswith(f"; {NOTHING}"), line
    assert _writes(sb) == []


@pytest.mark.parametrize(("exc", "said"), STARVED)
def test_a_run_starved_after_its_writes_names_its_journal(
    sb: Sandbox, scenario: Any, monkeypatch: pytest.MonkeyPatch, exc: BaseException, said: str
) -> None:
    """Out of memory or of files once the apply has written (while its outcome is shown):
    exit 2, the line saying where the changes made are (its journal) and how to go on, never
    that nothing was changed (R67b: mutants cs4, ce3)."""
    invoke = sandbox_cli(sb, monkeypatch)
    monkeypatch.setattr("trello_restore.cli_oneshot.show_apply", _raises(exc))
    r = invoke(*_restore_args(scenario), "--yes", "--no-cache")
    line = one_line_error(r, ExitCode.USAGE, said, f"; {IN_JOURNAL} ", "run the same command again")
    assert NOTHING not in line
    assert _writes(sb) != []


def test_another_runtime_error_is_a_bug_not_a_thread_that_could_not_start(
    sb: Sandbox, scenario: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Only "can't start new thread" is this machine's limit on threads: another
    ``RuntimeError`` (``dictionary changed size during iteration``) is a bug, "internal error
    (a bug …)", exit 1 (R67b: mutant cs2)."""
    invoke = sandbox_cli(sb, monkeypatch)
    bug = RuntimeError("dictionary changed size during iteration")
    monkeypatch.setattr(run_module, "make_plan", _raises(bug))
    r = invoke(*_restore_args(scenario), "--dry-run")
    line = one_line_error(r, ExitCode.INTERNAL, "internal error (a bug", str(bug))
    assert "thread" not in line
    assert "ulimit" not in line


# ------------------------------------------------------------------ lower: fsutil's small rules


def _sticky_dir(path: Path, owner: int) -> Path:
    path.mkdir()
    path.chmod(0o1777)
    os.chown(path, owner, owner)
    return path


def _file(path: Path, owner: int) -> Path:
    path.write_text("{}")
    os.chown(path, owner, owner)
    return path


def test_root_may_replace_another_user_s_file_in_a_sticky_directory(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Root (a run with ``sudo``) may replace anyone's file in anyone's sticky directory: not
    refused (R67b: mutant nr1)."""
    monkeypatch.setattr(os, "geteuid", lambda: 0)
    theirs = _file(_sticky_dir(tmp_path / "tmp", 5555) / "plan.json", 5555)
    assert not_replaceable(theirs) is False


def test_who_may_replace_a_file_by_a_rename(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Only in a sticky directory, and only another's file in a directory not this user's, is
    a rename refused: a world-writable directory that is not sticky lets anyone; a sticky one
    lets its owner and the file's (R67b: mutants nr2, nr3, nr4)."""
    monkeypatch.setattr(os, "geteuid", lambda: ME)
    open_dir = tmp_path / "open"
    open_dir.mkdir()
    open_dir.chmod(0o777)  # world-writable, not sticky
    os.chown(open_dir, 5555, 5555)
    assert not_replaceable(_file(open_dir / "theirs.json", 5555)) is False  # nr2
    mine = _sticky_dir(tmp_path / "mine", ME)
    assert not_replaceable(_file(mine / "root-s.json", 0)) is False  # nr3: the directory's owner
    shared = _sticky_dir(tmp_path / "shared", 0)
    assert not_replaceable(_file(shared / "my.json", ME)) is False  # nr4: the file's owner
    assert not_replaceable(_file(shared / "root-s.json", 0)) is True  # neither: refused


def test_a_group_s_directory_in_the_user_s_own_is_shared_not_chowned(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A group-writable (2770) directory of root's in this user's own is a group's, rightly
    root's: a root file named alone in it gets the chown of that file only, one in a directory
    of root's in it none, and never ``chown -R`` of the group's directory (R67b: mutant sa3)."""
    home = tmp_path / "home"
    group = home / "group"
    (group / "locks").mkdir(parents=True)
    group.chmod(0o2770)
    os.chown(home, ME, ME)
    alone = _file(group / "plan.json", 0)
    monkeypatch.setattr(os, "geteuid", lambda: ME)
    assert sudo_advice(alone, alone) == (
        f"it belongs to another user (uid 0; a run with sudo?): have it given to this user "
        f"(sudo chown -R {ME} {alone})"
    )
    assert sudo_advice(group / "locks" / "x.lock", group / "locks") is None


def test_the_whole_directory_is_chowned_only_when_it_is_the_user_s_alone(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """``whole``: the chown is of ``within`` only when it is this user's and not shared (a
    sticky or group-writable directory of this user's holds others' files rightly), and only
    when what is root's is inside it; else of what is root's (R67b: mutants sa10, sa12)."""
    monkeypatch.setattr(os, "geteuid", lambda: ME)
    said = "belongs to another user (uid 0; a run with sudo?): have it given to this user"
    shared = _sticky_dir(tmp_path / "shared", ME)
    in_shared = _file(shared / "x.json", 0)
    assert sudo_advice(in_shared, shared, whole=True) == (
        f"it {said} (sudo chown -R {ME} {in_shared})"  # sa10: not the sticky directory
    )
    home = tmp_path / "home"
    (home / "state").mkdir(parents=True)
    os.chown(home, ME, ME)
    os.chown(home / "state", ME, ME)
    beside = _file(home / "x.log", 0)
    assert sudo_advice(beside, home / "state", whole=True) == (
        f"it {said} (sudo chown -R {ME} {beside})"  # sa12: not the state it is not in
    )


def test_looks_for_a_directory_follows_a_link_and_writable_dir_stops_at_what_exists(
    tmp_path: Path,
) -> None:
    """``looks(p, "dir")``: a link to a directory is one (R67b: mutant lk2). ``writable_dir``
    stops at the nearest thing that exists, a file in the way too, for the caller to name; it
    does not pass over it to the directory above (R67b: mutant wd2)."""
    (tmp_path / "real").mkdir()
    link = tmp_path / "link"
    link.symlink_to(tmp_path / "real")
    assert looks(link, "dir") is True
    blocker = _file(tmp_path / "file", 0)
    assert writable_dir(blocker / "sub" / "x.json") == blocker


# ------------------------------------------------------- lower: out of files, caches, full disks


def test_a_system_out_of_files_is_out_of_files_too() -> None:
    """``ENFILE`` (the whole system's file table full) under the connection error is this
    machine's limit as ``EMFILE`` is: ``OutOfFiles``, exit 2, no retry (R67b: mutant of1)."""
    cause = OSError(errno.ENFILE, "Too many open files in system")
    wrapped = requests.ConnectionError(urllib3.exceptions.MaxRetryError(None, "/1/x", cause))  # type: ignore[arg-type]
    err, again = error_for_exception(wrapped, api_url="https://api.trello.com/1")
    assert type(err) is OutOfFiles
    assert again is False


@pytest.mark.parametrize(
    ("status", "body", "kept"),
    [(200, b' {"id": 1}', True), (200, b"[]", True), (404, b"{}", False), (200, b'"x"', False)],
)
def test_a_cached_answer_is_kept_only_as_a_200_with_a_json_object_or_array(
    status: int, body: bytes, kept: bool
) -> None:
    """A cached 404, or a body that is a JSON string (no answer of Trello's this tool keeps),
    is a damaged cache, not an answer (R67b: mutants ca2, ca4)."""
    response = CachedResponse(status_code=status)
    response._content = body
    assert _plausible(response) is kept


def test_a_journal_over_its_disk_quota_is_told_to_free_space(tmp_path: Path) -> None:
    """``EDQUOT`` (the user's disk quota) is a full disk for this user: "free space on its
    disk", as ``ENOSPC`` (R67b: mutant ef2)."""
    err = OSError(errno.EDQUOT, os.strerror(errno.EDQUOT))
    said = str(write_failed(tmp_path / "j.jsonl", err, sent=2))
    assert "; free space on its disk, then run the same command again" in said, said
