"""The kept history's and the plan memo's warnings when a directory cannot be written for a
reason other than something in its way (a new-user review, issue 12's fifth session): an
immutable directory (``chattr +i``: EPERM), a user without the right (EACCES), a read-only file
system (EROFS), a full disk (ENOSPC). Every run warned as if the next run would do better
(``the next run reads it from Trello again``, ``the next run plans again``); now one warning a
run per board (the memo's one a run) saying this run's loss, what it costs every run until the
directory can be written, and what to check. As root the errors are faked (the write raises
them). And a file where ``<cache>/boards`` goes is said as a blocked path (what is in the way,
what it costs, remove or rename it), not ``move it away or fix its permissions``. Over the
command line against the sandbox (``test_history_store.py``'s fixtures)."""

from __future__ import annotations

import errno
import os
import shutil
from pathlib import Path
from typing import Any

import pytest

from trello_restore.fsutil import write_atomic
from trello_restore.history_store import VERSION

from .conftest import SandboxFactory
from .test_history_store import _first_dry_run, _home, _without_dates

PERMISSIONS = (
    "check that this user can write in it (its permissions, and `lsattr -d` for an immutable flag)"
)
#: Each error and what the warning says to check.
ERRORS: dict[str, tuple[OSError, str]] = {
    "EPERM": (
        PermissionError(errno.EPERM, "Operation not permitted"),
        PERMISSIONS,
    ),
    "EACCES": (
        PermissionError(errno.EACCES, "Permission denied"),
        PERMISSIONS,
    ),
    "EROFS": (
        OSError(errno.EROFS, "Read-only file system"),
        "its file system is read-only: remount it writable or set [paths] cache_dir to a "
        "writable directory",
    ),
    "ENOSPC": (
        OSError(errno.ENOSPC, "No space left on device"),
        "free some space on its disk (or raise your quota)",
    ),
    "EFBIG": (  # R44f: `ulimit -f`, which the advice "check that it can be written" missed
        OSError(errno.EFBIG, "File too large"),
        "raise the file size limit this run was started with (`ulimit -f`)",
    ),
}


def _warnings(stderr: str) -> list[str]:
    return sorted(x for x in stderr.splitlines() if x.startswith("Warning: "))


@pytest.mark.parametrize("name", list(ERRORS))
def test_a_store_that_cannot_be_written_says_what_it_costs_and_what_to_check(
    name: str, sandbox_factory: SandboxFactory, monkeypatch: pytest.MonkeyPatch
) -> None:
    """No store kept (every run reads the boards' history in full and tries to write it):
    each of two runs exits 0 with the same plan and one warning per board, naming it, the
    error, this run's loss, what it costs every run until the board's directory can be
    written, and what to check; no promise about the next run."""
    s, _, invoke, args, first = _first_dry_run(sandbox_factory, monkeypatch)
    cache = _home() / "cache"
    shutil.rmtree(cache)
    error, advice = ERRORS[name]

    def refused(path: Path, *_: object, **__: object) -> None:
        raise error

    monkeypatch.setattr("trello_restore.history_store.write_atomic", refused)
    for _ in range(2):
        run = invoke(*args, "--format", "json")
        assert run.exit_code == 0, run.output
        assert _without_dates(run.stdout) == _without_dates(first.stdout)
        warnings = _warnings(run.stderr)
        assert len(warnings) == 2, run.stderr
        for board, warning in zip(
            sorted([s.archive, s.team], key=lambda b: b.name), warnings, strict=True
        ):
            where = cache / "boards" / board.id
            assert warning == (
                f'Warning: could not keep the history of board "{board.name}" ({board.id}) in '
                f"{where / f'history.v{VERSION}.json.gz'} ({error.strerror}): this run's reads "
                f"are not kept; until {where} can be written, every run reads them from Trello "
                f"again and plans anew; {advice}"
            ), run.stderr
            assert "next run" not in warning


def test_a_head_that_cannot_be_written_says_what_it_costs(
    sandbox_factory: SandboxFactory, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The body written, its head not (a transient error, say): one warning a board, the
    whole kept history read and the plan made anew until the directory can be written."""
    s, _, invoke, args, first = _first_dry_run(sandbox_factory, monkeypatch)
    cache = _home() / "cache"
    shutil.rmtree(cache)

    def heads_refused(path: Path, text: str | bytes, **kw: Any) -> None:
        if path.name.endswith(".head.json"):
            raise PermissionError(errno.EACCES, "Permission denied")
        write_atomic(path, text, **kw)

    monkeypatch.setattr("trello_restore.history_store.write_atomic", heads_refused)
    run = invoke(*args, "--format", "json")
    assert run.exit_code == 0, run.output
    assert _without_dates(run.stdout) == _without_dates(first.stdout)
    warnings = _warnings(run.stderr)
    assert len(warnings) == 2, run.stderr
    where = cache / "boards" / s.team.id
    head = where / f"history.v{VERSION}.head.json"
    assert (
        f"Warning: could not write the head {head} of the kept history of board "
        f'"{s.team.name}" ({s.team.id}) (Permission denied): until {where} can be written, '
        "every run reads the whole kept history and plans anew; check that this user can "
        "write in it"
    ) in run.stderr
    assert "next run" not in run.stderr


@pytest.mark.parametrize("name", ["EPERM", "ENOSPC"])
def test_a_memo_that_cannot_be_written_says_what_it_costs_and_what_to_check(
    name: str, sandbox_factory: SandboxFactory, monkeypatch: pytest.MonkeyPatch
) -> None:
    """No memo kept (the stores are): each of two runs plans, exits 0 with the same plan and
    one warning: this run's plan not memoised, every run plans anew until ``plans`` can be
    written, what to check."""
    _, _, invoke, args, first = _first_dry_run(sandbox_factory, monkeypatch)
    plans = _home() / "cache" / "plans"
    shutil.rmtree(plans)
    error, advice = ERRORS[name]

    def refused(path: Path, *_: object, **__: object) -> None:
        raise error

    monkeypatch.setattr("trello_restore.plan_memo.write_atomic", refused)
    for _ in range(2):
        run = invoke(*args, "--format", "json")
        assert run.exit_code == 0, run.output
        assert _without_dates(run.stdout) == _without_dates(first.stdout)
        (warning,) = _warnings(run.stderr)
        assert warning.startswith(f"Warning: could not keep the plan memo {plans}/"), warning
        assert (
            f"({error.strerror}): this run's plan is not memoised; until {plans} can be "
            f"written, every run plans anew; {advice}"
        ) in warning
        assert "next run" not in warning


def test_a_boards_directory_that_is_a_file_is_said_as_blocked(
    sandbox_factory: SandboxFactory, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A file where ``<cache>/boards`` goes: one warning a run, what is in the way, what it
    costs, remove or rename it; the plan as before; removed, no warning."""
    _, _, invoke, args, first = _first_dry_run(sandbox_factory, monkeypatch)
    boards = _home() / "cache" / "boards"
    shutil.rmtree(boards)
    boards.write_text("in the way\n")
    for _ in range(2):
        run = invoke(*args, "--format", "json")
        assert run.exit_code == 0, run.output
        assert _without_dates(run.stdout) == _without_dates(first.stdout)
        assert _warnings(run.stderr) == [
            f"Warning: the kept board histories are blocked: {boards} is a file, not a "
            "directory; every run reads the boards' history from Trello in full and plans anew "
            "until you remove or rename it"
        ], run.stderr
    boards.unlink()
    fixed = invoke(*args, "--format", "json")
    assert fixed.exit_code == 0, fixed.output
    assert _warnings(fixed.stderr) == [], fixed.stderr


def test_a_boards_directory_this_user_cannot_write_says_what_to_check(
    sandbox_factory: SandboxFactory, monkeypatch: pytest.MonkeyPatch
) -> None:
    """``<cache>/boards`` that this user cannot write in (faked as root): one warning, what it
    costs until it can be, what to check; not ``move it away``."""
    _, _, invoke, args, first = _first_dry_run(sandbox_factory, monkeypatch)
    boards = _home() / "cache" / "boards"
    access = os.access
    monkeypatch.setattr(
        os, "access", lambda p, mode, **kw: Path(p) != boards and access(p, mode, **kw)
    )
    run = invoke(*args, "--format", "json")
    assert run.exit_code == 0, run.output
    assert _without_dates(run.stdout) == _without_dates(first.stdout)
    assert _warnings(run.stderr) == [
        f"Warning: the kept board histories in {boards} cannot be used (this user cannot read "
        "and write in it): every run reads the boards' history from Trello in full and plans "
        "anew until it can be; check that this user can read and write in it and that its "
        "file system is writable"
    ], run.stderr
