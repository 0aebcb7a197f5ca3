"""The HTTP cache on a read-only file system (review R25b): the errors said "check
TRELLO_RESTORE_HOME and the directory's permissions" (a dry run then stopped, exit 2) or
"make it yours and writable (chmod 600 …)", which cannot help there, and neither named
``--no-cache``, which works. A read-only file system is told apart by its errno (EROFS)."""

from __future__ import annotations

import errno
import logging
import os
import shutil
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from filelock import FileLock

from trello_restore import history_store
from trello_restore.api import ApiSettings
from trello_restore.api import cache as cache_module
from trello_restore.errors import ConfigError

from .conftest import SandboxFactory
from .test_history_store import _first_dry_run, _home, _without_dates

READ_ONLY = "its file system is read-only: point TRELLO_RESTORE_HOME (or [paths] cache_dir) at"


def _read_only(*_: Any, **__: Any) -> None:
    raise OSError(errno.EROFS, os.strerror(errno.EROFS))


def _open(tmp_path: Path) -> Any:
    settings = ApiSettings("k" * 32, "t" * 64, cache_dir=tmp_path / "cache")
    return cache_module.open_http_cache(settings)


def test_a_cache_directory_on_a_read_only_file_system_is_a_warning_naming_no_cache(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    """Not there, and cannot be made there: the run goes on without the cache, as when the
    directory is there but not writable (R26a: exit 2 here, a warning there; the advice said
    twice)."""
    monkeypatch.setattr(cache_module, "private_dirs", _read_only)
    with caplog.at_level(logging.WARNING):
        assert _open(tmp_path) is None
    (said,) = [r.getMessage() for r in caplog.records if r.levelno == logging.WARNING]
    assert READ_ONLY in said, said
    assert said.count("--no-cache") == 1, said


def test_a_cache_directory_that_cannot_be_made_otherwise_stops_naming_no_cache(
    tmp_path: Path,
) -> None:
    blocker = tmp_path / "file"
    blocker.write_text("")
    settings = ApiSettings("k" * 32, "t" * 64, cache_dir=blocker / "cache")
    with pytest.raises(ConfigError) as caught:
        cache_module.open_http_cache(settings)
    assert str(caught.value).endswith("or pass --no-cache")
    assert str(caught.value).count("--no-cache") == 1


@pytest.mark.parametrize(
    "breaks",
    [
        lambda m: m.setattr(FileLock, "acquire", _read_only),
        lambda m: m.setattr(cache_module, "_probe_directory", _read_only),
        lambda m: m.setattr(cache_module, "_create_file", _read_only),
    ],
    ids=["lock file", "directory", "cache file"],
)
def test_a_cache_file_on_a_read_only_file_system_says_chmod_will_not_help(
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
    breaks: Callable[[pytest.MonkeyPatch], None],
) -> None:
    """The cache directory is there (made before the file system went read-only)."""
    (tmp_path / "cache").mkdir(mode=0o700)
    breaks(monkeypatch)
    with caplog.at_level(logging.WARNING):
        assert _open(tmp_path) is None
    (said,) = [r.getMessage() for r in caplog.records if r.levelno == logging.WARNING]
    assert READ_ONLY in said, said
    assert "chmod" not in said, said


@pytest.mark.parametrize("made", [False, True], ids=["not made yet", "made before"])
def test_a_read_only_state_location_is_one_warning_for_the_cache_and_the_kept_histories(
    sandbox_factory: SandboxFactory, monkeypatch: pytest.MonkeyPatch, made: bool
) -> None:
    """R27a: a one-step run said the HTTP cache's warning (read-only: TRELLO_RESTORE_HOME or
    --no-cache) and a second one for the kept histories, in the same directory, blaming this
    user's permissions. Now one warning; the plan as before."""
    _, _, invoke, args, first = _first_dry_run(sandbox_factory, monkeypatch)
    cache = _home() / "cache"
    if made:  # the file system went read-only since: nothing can be written in it
        monkeypatch.setattr(cache_module, "_probe_directory", _read_only)
        access = os.access
        monkeypatch.setattr(
            os, "access", lambda p, mode, **kw: Path(p) != cache / "boards" and access(p, mode)
        )
        monkeypatch.setattr(history_store, "_on_read_only_fs", lambda _: True, raising=False)
    else:
        shutil.rmtree(cache)
        monkeypatch.setattr(cache_module, "private_dirs", _read_only)
        monkeypatch.setattr(history_store, "private_dirs", _read_only)
    run = invoke(*args, "--format", "json")
    assert run.exit_code == 0, run.output
    assert _without_dates(run.stdout) == _without_dates(first.stdout)
    (said,) = [x for x in run.stderr.splitlines() if x.startswith("Warning: ")]
    assert READ_ONLY in said, said
    assert said.count("--no-cache") == 1, said
    # R42b: that the boards' histories are read in full every run was said at -v only.
    assert "and cannot keep the boards' histories there either (each is read in full)" in said, said


def test_a_lock_directory_on_a_read_only_file_system_says_so(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """R28a: a one-step run with TRELLO_RESTORE_HOME on a read-only file system stopped (exit
    2, nothing written) with "check the state directory's permissions", which cannot help."""
    from trello_restore import locks
    from trello_restore.errors import UsageError

    monkeypatch.setattr(locks, "private_dirs", _read_only)
    with pytest.raises(UsageError) as caught, locks.hold(tmp_path / "locks", ["run-board-x"]):
        pass
    said = str(caught.value)
    assert "its file system is read-only: point TRELLO_RESTORE_HOME" in said, said
    assert "permissions" not in said


def test_a_journal_on_a_read_only_file_system_says_so() -> None:
    from trello_restore.journal_errors import cannot_create

    said = cannot_create(Path("/ro/state/journals/j.jsonl"), OSError(errno.EROFS, "Read-only"))
    assert "its file system is read-only: point TRELLO_RESTORE_HOME" in said, said
    assert "--journal PATH" in said
