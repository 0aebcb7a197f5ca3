"""The kept history's and the plan memo's warnings, from a new-user review (issue 12's fifth
session): a path that stays blocked — ``plans`` a file, a board's store directory a file, a
store's body or head a directory — printed 2 or 3 warnings on every run, each worded as if the
next run would do better; now one a run, saying what is in the way, what it costs and to
remove or rename it, and the run's plan is the one ``--no-cache`` makes, exit 0. The stores'
notices named boards by id; now by name and id (a followed board's too). Over the command
line against the sandbox. (The locks' messages: test_cron.py, test_leftovers_journal.py,
test_review15_failure_paths.py and test_apply.py check the board's name in each.)"""

from __future__ import annotations

import errno
import shutil
from collections.abc import Callable
from pathlib import Path

import pytest

from trello_restore.history_store import VERSION
from trello_restore.sandbox.scenario import Scenario

from .conftest import SandboxFactory
from .test_history_store import _first_dry_run, _home, _without_dates

BODY = f"history.v{VERSION}.json.gz"
HEAD = f"history.v{VERSION}.head.json"


def _remove(path: Path) -> None:
    if path.is_dir():
        shutil.rmtree(path)
    else:
        path.unlink()


def _file(path: Path) -> Path:
    """A file put where ``path`` (a directory or file) was."""
    _remove(path)
    path.write_text("in the way\n")
    return path


def _directory(path: Path) -> Path:
    """A directory put where the file ``path`` was."""
    path.unlink()
    path.mkdir()
    return path


def plans_a_file(cache: Path, s: Scenario) -> Path:
    return _file(cache / "plans")


def memo_a_directory(cache: Path, s: Scenario) -> Path:
    (memo,) = (cache / "plans").glob("*.json.gz")
    return _directory(memo)


def board_store_a_file(cache: Path, s: Scenario) -> Path:
    return _file(cache / "boards" / s.team.id)


def body_a_directory(cache: Path, s: Scenario) -> Path:
    shutil.rmtree(cache / "plans")  # else the memo's plan is used and no body read
    return _directory(cache / "boards" / s.team.id / BODY)


def head_a_directory(cache: Path, s: Scenario) -> Path:
    return _directory(cache / "boards" / s.team.id / HEAD)


#: What each blocked path is said to cost.
COSTS: dict[Callable[[Path, Scenario], Path], str] = {
    plans_a_file: "plans are not memoised (every run plans anew)",
    memo_a_directory: "plans are not memoised (every run plans anew)",
    board_store_a_file: "its history is read from Trello in full",
    body_a_directory: "its history is read from Trello in full",
    head_a_directory: "its kept history is read in full and the plan made anew on every run",
}


@pytest.mark.parametrize("block", list(COSTS), ids=lambda f: f.__name__)
def test_a_blocked_path_is_one_warning_a_run(
    block: Callable[[Path, Scenario], Path],
    sandbox_factory: SandboxFactory,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Two runs with the path blocked: each exits 0 with the plan ``--no-cache`` makes and
    exactly one warning: the path, what it is instead, what that costs, what to do; no
    promise about the next run. A store's names its board by name and id. Removed, the next
    run warns no more."""
    s, _, invoke, args, first = _first_dry_run(sandbox_factory, monkeypatch)
    cache = _home() / "cache"
    in_the_way = block(cache, s)
    cold = _without_dates(invoke(*args, "--format", "json", "--no-cache").stdout)
    assert cold == _without_dates(first.stdout)
    what = "a file, not a directory" if in_the_way.is_file() else "a directory, not a file"
    for _ in range(2):
        run = invoke(*args, "--format", "json")
        assert run.exit_code == 0, run.output
        assert _without_dates(run.stdout) == cold
        warnings = [x for x in run.stderr.splitlines() if x.startswith("Warning: ")]
        assert len(warnings) == 1, run.stderr
        (warning,) = warnings
        assert f"{in_the_way} is {what}; {COSTS[block]} until you remove or rename it" in warning
        assert "next run" not in warning
        if block not in (plans_a_file, memo_a_directory):
            assert f'the kept history of board "{s.team.name}" ({s.team.id}) is blocked' in warning
    _remove(in_the_way)
    fixed = invoke(*args, "--format", "json")
    assert fixed.exit_code == 0, fixed.output
    assert "Warning: " not in fixed.stderr, fixed.stderr
    assert _without_dates(fixed.stdout) == cold


def test_a_store_rebuilt_or_ignored_is_named_by_its_board(
    sandbox_factory: SandboxFactory, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A damaged store of the board the moves went to (followed, not named) and a damaged head
    of the named board: each notice names its board by name and id, the file and why."""
    s, _, invoke, args, first = _first_dry_run(sandbox_factory, monkeypatch)
    boards = _home() / "cache" / "boards"
    body = boards / s.archive.id / BODY
    body.write_bytes(b"not gzip")
    head = boards / s.team.id / HEAD
    head.write_text("junk")
    run = invoke(*args, "--format", "json")
    assert run.exit_code == 0, run.output
    assert _without_dates(run.stdout) == _without_dates(first.stdout)
    warnings = sorted(x for x in run.stderr.splitlines() if x.startswith("Warning: "))
    assert warnings == [
        f'Warning: the history store {body} of board "{s.archive.name}" ({s.archive.id}) is '
        "rebuilt from Trello: it is damaged",
        f'Warning: the history store\'s head {head} of board "{s.team.name}" ({s.team.id}) is '
        "ignored (it is damaged or of another version): the store is read",
    ], run.stderr


def test_a_store_that_cannot_be_written_names_its_board_once(
    sandbox_factory: SandboxFactory, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A disk that is full (nothing in the way): each board's failed write is one warning a
    run, naming the board by name and id, although the run tries to write each store twice
    (as its fetch ends, and again with its cards' feeds)."""
    s, _, invoke, args, first = _first_dry_run(sandbox_factory, monkeypatch)
    shutil.rmtree(_home() / "cache")
    tried: list[Path] = []

    def full(path: Path, *_: object, **__: object) -> None:
        tried.append(path)
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr("trello_restore.history_store.write_atomic", full)
    run = invoke(*args, "--format", "json")
    assert run.exit_code == 0, run.output
    assert _without_dates(run.stdout) == _without_dates(first.stdout)
    warnings = sorted(x for x in run.stderr.splitlines() if x.startswith("Warning: "))
    assert [w.split(" in ", 1)[0] for w in warnings] == [
        f'Warning: could not keep the history of board "{s.archive.name}" ({s.archive.id})',
        f'Warning: could not keep the history of board "{s.team.name}" ({s.team.id})',
    ], run.stderr
    assert all("(No space left on device)" in w for w in warnings)
    assert len(tried) > len(warnings)  # said once, tried more often
