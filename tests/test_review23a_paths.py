"""Review 23a's unreadable directories and small input papercuts (P23), over the command line
against the sandbox where they need one.

1. A directory this user cannot search (mode 000) crashed the run ("internal error", exit 1):
   the HTTP cache's (a warning now, and the run goes on without it, as at mode 500), the
   journals' (``apply``, ``undo``, ``--journal``, a one-step run: one line, exit 2, naming the
   directory, before any write), the last-run state's (``--since last-run``: exit 2; after an
   apply: the documented "the changes were applied, but the last-run state could not be
   saved", exit 2). As root a chmod stops nothing, so the lookups are made to fail as they
   do at mode 000; ``test_real_mode_000_directories`` chmods them, as another user.
2. An empty ``--journal`` file (``mktemp``'s) was "not a journal": it is a new one now (never
   a file with any byte in it). A journal others could read stayed so when appended to: now
   0600, as the log file. ``restore = 1`` in a config file was an "unknown section
   [restore]"; ``workers = 8.0`` was shown as "8". An unreadable export said
   ``(PermissionError)``. ``--board trello.com/b/…`` (no ``https://``) was taken as a name.
   The same export given twice was accepted silently.
"""

from __future__ import annotations

import errno
import json
import os
import re
import stat
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from click.testing import Result

from trello_restore import lastrun
from trello_restore.api import cache
from trello_restore.config_file import load_config
from trello_restore.errors import ConfigError, ExitCode
from trello_restore.fsutil import looks, writable_dir
from trello_restore.journal_errors import cannot_create
from trello_restore.sandbox.scenario import Scenario
from trello_restore.store_notices import unsearchable

from .conftest import Sandbox, configless_cli, one_line_error, run_cli
from .truthcheck import incident_since

Invoke = Callable[..., Result]
WRITES = ("POST", "PUT", "DELETE")
DENIED = "Permission denied"


@pytest.fixture(name="invoke")
def invoke_fixture(sb: Sandbox, monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Invoke:
    """The CLI in-process, pointed at the sandbox with the lead's credentials, no config."""
    return configless_cli(sb, monkeypatch, tmp_path)


@pytest.fixture(name="state")
def state_fixture(_state_home: Path) -> Path:
    """``<TRELLO_RESTORE_HOME>/state`` of the test."""
    return _state_home / "state"


def _scope(s: Scenario) -> list[str]:
    return ["--board", s.team.id, "--since", incident_since(s), "--add-to-board"]


def _plan(invoke: Invoke, s: Scenario, path: Path) -> Path:
    r = invoke(*_scope(s), "--dry-run", "-q", "--plan-out", str(path))
    assert r.exit_code == 0, r.output
    return path


def _writes(sb: Sandbox) -> list[str]:
    return [f"{r.method} {r.path}" for r in sb.server.request_log if r.method in WRITES]


def _unsearchable(monkeypatch: pytest.MonkeyPatch, *directories: Path) -> set[Path]:
    """Looking up or listing anything in ``directories`` fails as in a directory of mode 000
    (``EACCES``; the directory itself can still be looked up, from its parent); the set
    returned is the directories so refused, to change as the test goes."""
    blocked = set(directories)
    real_stat, real_scandir, real_listdir = Path.stat, os.scandir, os.listdir

    def denied(path: object) -> bool:
        where = Path(os.fspath(path)).absolute()  # type: ignore[call-overload]
        return any(d in where.parents for d in blocked)

    def stat_(self: Path, *, follow_symlinks: bool = True) -> os.stat_result:
        if denied(self):
            raise PermissionError(errno.EACCES, DENIED, str(self))
        return real_stat(self, follow_symlinks=follow_symlinks)

    def scandir(path: Any = ".") -> Any:
        if denied(Path(os.fspath(path)) / "x"):
            raise PermissionError(errno.EACCES, DENIED, str(path))
        return real_scandir(path)

    def listdir(path: Any = ".") -> Any:  # ``Path.iterdir`` before Python 3.13 (R67c)
        if denied(Path(os.fspath(path)) / "x"):
            raise PermissionError(errno.EACCES, DENIED, str(path))
        return real_listdir(path)

    monkeypatch.setattr(Path, "stat", stat_)
    monkeypatch.setattr(os, "scandir", scandir)
    monkeypatch.setattr(os, "listdir", listdir)
    return blocked


# ------------------------------------------------------------- 1. directories of mode 000


def test_an_unsearchable_cache_directory_is_a_warning_and_the_run_goes_on(
    invoke: Invoke, scenario: Scenario, state: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The lock file cannot be made, and what is at its place cannot be told: one warning
    naming the directory and what to do; the plan as without the cache (it crashed in
    ``_lock_trouble``'s ``is_dir``)."""
    scope = [*_scope(scenario), "--dry-run", "-q"]
    first = invoke(*scope)
    assert first.exit_code == 0, first.output
    directory = state.parent / "cache"

    class Denied:
        """The lock file cannot be opened (``EACCES``), as in a directory of mode 000."""

        def __init__(self, path: Path, **_: object) -> None:
            self.path = path

        def acquire(self, **_: object) -> None:
            raise PermissionError(errno.EACCES, DENIED, str(self.path))

    monkeypatch.setattr(cache, "FileLock", Denied)
    real = Path.stat

    def stat_(self: Path, *, follow_symlinks: bool = True) -> os.stat_result:
        if self.name.endswith(".sqlite.lock"):
            raise PermissionError(errno.EACCES, DENIED, str(self))
        return real(self, follow_symlinks=follow_symlinks)

    monkeypatch.setattr(Path, "stat", stat_)
    r = invoke(*scope)
    assert r.exit_code == 0, r.output
    assert r.stdout == first.stdout
    [warning] = [x for x in r.stderr.splitlines() if "HTTP cache" in x]
    assert f"the cache directory {directory} cannot be searched ({DENIED})" in warning
    assert "reads Trello without the HTTP cache" in warning
    assert warning.endswith(f"chmod 700 {directory}")


def test_unsearchable_journals_stop_apply_undo_and_a_one_step_run_before_any_write(
    invoke: Invoke,
    scenario: Scenario,
    sb: Sandbox,
    state: Path,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """A one-step run (with changes to apply, or with every change left out because of it),
    ``apply PLAN`` (dry run or not), ``--journal`` in that directory, ``undo J``: one line,
    exit 2, naming the directory and chmod; nothing written."""
    plan = _plan(invoke, scenario, tmp_path / "plan.json")
    journals = state / "journals"
    journals.mkdir(parents=True)
    blocked = _unsearchable(monkeypatch, journals)
    fix = f"make it searchable: chmod 700 {journals} if it is yours"
    where = f"this user cannot search the directory {journals} ({DENIED})"
    mine = ("--only-recorded", "--removed-by", scenario.mover.username)
    for only in ((), mine):  # the token's member's removals only: every one left out, as a
        # journal that may hold this tool's undo of them cannot be read (R70a: exit 0)
        r = invoke(*_scope(scenario), *only, "--yes")
        one_line_error(r, ExitCode.USAGE, "cannot open the journal", where, fix, "--journal PATH")
    assert not _writes(sb)
    blocked.clear()
    applied = invoke("apply", str(plan), "--yes", "-q")
    assert applied.exit_code == 0, applied.output
    [journal] = journals.iterdir()
    writes = _writes(sb)
    blocked.add(journals)
    for args in (
        ["apply", str(plan), "--dry-run"],
        ["apply", str(plan), "--yes"],
        ["apply", str(plan), "--yes", "--journal", str(journals / "j.jsonl")],
    ):
        r = invoke(*args)
        one_line_error(r, ExitCode.USAGE, "cannot open the journal", where, fix, "--journal PATH")
    for args in (["undo", str(journal)], ["undo", str(journal), "--dry-run"]):
        r = invoke(*args)
        line = one_line_error(r, ExitCode.USAGE, f"cannot read the journal {journal}", where, fix)
        assert "--journal" not in line
    assert _writes(sb) == writes


def test_unsearchable_directory_is_the_topmost_one_this_user_cannot_search(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The state directory at 000 is named, not its journals below it (whose chmod would
    fail); with nothing refused (root), the file's own directory."""
    path = tmp_path / "state" / "journals" / "j.jsonl"
    assert unsearchable(path) == path.parent
    path.parent.mkdir(parents=True)
    refused = {tmp_path / "state", tmp_path / "state" / "journals"}
    monkeypatch.setattr(os, "access", lambda p, mode: Path(p) not in refused)
    assert unsearchable(path) == tmp_path / "state"


def test_an_unsearchable_last_run_directory_is_said_and_an_apply_ends_as_documented(
    invoke: Invoke,
    scenario: Scenario,
    sb: Sandbox,
    state: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """``--since last-run``: one line, exit 2, before any request that writes. A run that
    applies: the changes are written, then the README's exit 2 ("the changes were applied,
    but the last-run state could not be saved …", what a --since last-run run does meanwhile),
    no JSON line (it crashed after the writes)."""
    last_run = state / "last-run"
    _unsearchable(monkeypatch, last_run)
    r = invoke("--board", scenario.team.id, "--since", "last-run", "--dry-run")
    one_line_error(
        r, ExitCode.USAGE, f"--since last-run: cannot read {last_run}/",
        f"this user cannot search the directory {last_run} ({DENIED})",
        f"chmod 700 {last_run} if yours", "or pass --since DATE",
    )  # fmt: skip

    def denied(path: Path, *_: object, **__: object) -> None:
        raise PermissionError(errno.EACCES, DENIED, str(path))  # mkstemp's, at mode 000

    monkeypatch.setattr(lastrun, "write_atomic", denied)
    r = invoke(*_scope(scenario), "--yes", "--format", "json", "-q")
    one_line_error(
        r, ExitCode.USAGE, "the changes were applied, but the last-run state could not be saved",
        f"({DENIED}: this user cannot write in {last_run}); make it writable (chmod 700 "
        f"{last_run} if yours): until then a --since last-run run cannot read what was "
        "recorded before either, so it stops (exit 2)",
    )  # fmt: skip
    assert r.stdout == ""
    assert _writes(sb)
    # The date to pass in its place is printed, ready to paste: this run's start less what
    # --since last-run takes off (R88b: "pass --since with the date of this run", no date).
    given = re.search(r"pass --since (\S+) \(where it would start after this run\)", r.stderr)
    assert given is not None, r.stderr
    since = datetime.fromisoformat(given[1].replace("Z", "+00:00"))
    assert abs(datetime.now(UTC) - lastrun.OVERLAP - since) < timedelta(minutes=1)
    dry = invoke(*_scope(scenario)[:2], "--since", given[1], "--dry-run", "-q")
    assert dry.exit_code == 0, dry.output
    # Run again, with nothing left to write: the line does not say changes were applied (R30a).
    writes = _writes(sb)
    r = invoke(*_scope(scenario), "--yes", "-q")
    one_line_error(
        r, ExitCode.USAGE, "this run had nothing to apply, but the last-run state could not be "
        f"saved to {last_run}/",
    )  # fmt: skip
    assert _writes(sb) == writes


@pytest.mark.skipif(
    os.geteuid() == 0, reason="root searches a directory of mode 000: run as another user"
)
def test_real_mode_000_directories(
    invoke: Invoke, scenario: Scenario, state: Path, tmp_path: Path
) -> None:
    """The same, with the directories really at mode 000 (as a user other than root)."""
    plan = _plan(invoke, scenario, tmp_path / "plan.json")
    for sub in ("journals", "last-run"):
        (state / sub).mkdir(parents=True, exist_ok=True)
        (state / sub).chmod(0)
    cache_dir = state.parent / "cache"
    cache_dir.chmod(0)
    try:
        r = invoke(*_scope(scenario), "--dry-run", "-q")
        assert r.exit_code == 0, r.output
        assert f"chmod 700 {cache_dir}" in r.stderr
        cache_dir.chmod(0o700)
        one_line_error(invoke("apply", str(plan), "--dry-run"), 2, f"directory {state}/journals")
        r = invoke("--board", scenario.team.id, "--since", "last-run", "--dry-run")
        one_line_error(r, 2, f"directory {state}/last-run")
    finally:
        for d in (state / "journals", state / "last-run", cache_dir):
            d.chmod(0o700)


# ------------------------------------------------------------------ 2. the journal's file


def test_an_empty_journal_file_is_a_new_journal_and_one_byte_is_not(
    invoke: Invoke, scenario: Scenario, sb: Sandbox, tmp_path: Path
) -> None:
    """``--journal "$(mktemp)"``: a dry run and an apply take the empty file as a journal not
    made yet (the apply writes its header into it, and undo reads it); a file holding a
    newline is still refused, unchanged, before any write; undo of an empty file too."""
    plan = _plan(invoke, scenario, tmp_path / "plan.json")
    empty = tmp_path / "tmp.XXXXXXXX"
    empty.touch(mode=0o600)
    for blank in ("\n", " "):
        other = tmp_path / "blank.jsonl"
        other.write_text(blank)
        r = invoke("apply", str(plan), "--yes", "--journal", str(other))
        one_line_error(r, ExitCode.USAGE, str(other), "not a trello-restore journal")
        assert other.read_text() == blank
    assert not _writes(sb)
    one_line_error(invoke("undo", str(empty)), ExitCode.USAGE, f"{empty} is empty")
    dry = invoke("apply", str(plan), "--dry-run", "--journal", str(empty))
    assert dry.exit_code == 0, dry.output
    assert empty.read_bytes() == b""
    r = invoke("apply", str(plan), "--yes", "-q", "--journal", str(empty))
    assert r.exit_code == 0, r.output
    header = json.loads(empty.read_text().splitlines()[0])
    assert header["type"] == "header"
    assert _writes(sb)
    undo = invoke("undo", str(empty), "--yes", "-q")
    assert undo.exit_code == 0, undo.output


def test_a_journal_others_can_read_is_made_private_when_written(
    invoke: Invoke, scenario: Scenario, tmp_path: Path
) -> None:
    """A journal at 0644 (copied with the umask's mode, say) is 0600 after an apply resumed
    it and after an undo appended to it, as the log file is."""
    plan = _plan(invoke, scenario, tmp_path / "plan.json")
    journal = tmp_path / "j.jsonl"
    assert invoke("apply", str(plan), "--yes", "-q", "--journal", str(journal)).exit_code == 0
    for args in (["apply", str(plan), "--yes", "-q", "--journal", str(journal)],
                 ["undo", str(journal), "--yes", "-q"]):  # fmt: skip
        journal.chmod(0o644)
        r = invoke(*args)
        assert r.exit_code == 0, r.output
        assert stat.S_IMODE(journal.stat().st_mode) == 0o600, args


# ----------------------------------------------------------------- 3. config and inputs


@pytest.mark.parametrize(
    ("text", "needles"),
    [
        ("restore = 1\n", ["restore must be a section (a table: [restore]", "not a whole number",
                           "the key restore.restore goes on a line under [restore]"]),
        ('trello = "ATTAsecret"\n', ["trello must be a section", "not a string"]),
        ("workers = 8\n", ["workers is outside any section; put it under [limits]"]),
        ("[limits]\nworkers = 8.0\n", ["limits.workers must be a whole number, not 8.0"]),
    ],
)  # fmt: skip
def test_config_values_are_said_as_written(tmp_path: Path, text: str, needles: list[str]) -> None:
    path = tmp_path / "config.toml"
    path.write_text(text)
    with pytest.raises(ConfigError) as caught:
        load_config(path, explicit=True)
    message = str(caught.value)
    for needle in needles:
        assert needle in message, (needle, message)
    assert "unknown section" not in message
    assert "secret" not in message
    assert "not 8\n" not in message + "\n"


def _export(tmp_path: Path, name: str = "team.json") -> Path:
    path = tmp_path / name
    result = run_cli(["sandbox", "export", "--seed", "1", "--cards", "20", "--board", "team",
                      "-o", str(path)])  # fmt: skip
    assert result.exit_code == 0, result.output
    return path


def test_an_unreadable_export_says_permission_denied(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """In the words of the other file errors, not Python's class name."""
    path = _export(tmp_path)
    from trello_restore import exports, fsutil

    real = fsutil.read_named

    def read_named(named: Path) -> bytes:
        if named == path:
            raise PermissionError(errno.EACCES, DENIED, str(named))
        return real(named)

    monkeypatch.setattr(exports, "read_named", read_named)
    r = run_cli(["--from-export", str(path), "--since", "2025-11-01", "--dry-run"])
    line = one_line_error(r, ExitCode.USAGE, f"{path} cannot be read ({DENIED})", "permissions")
    assert "PermissionError" not in line


def test_the_same_export_given_twice_is_refused(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """By the same name or another (a typo for another board's export): exit 2."""
    path = _export(tmp_path)
    monkeypatch.chdir(tmp_path)
    for first, second, said in (
        (str(path), str(path), f"{path} is given twice"),
        ("team.json", str(path), f"team.json and {path} are one file"),
    ):
        r = run_cli(["--from-export", first, "--from-export", second, "--since", "2025-11-01",
                     "--dry-run"])  # fmt: skip
        one_line_error(r, ExitCode.USAGE, said, "give each board's export once")
    once = run_cli(["--from-export", str(path), "--since", "2025-11-01", "--dry-run", "-q"])
    assert once.exit_code == 0, once.output


@pytest.mark.parametrize("prefix", ["", "www.", "TRELLO.com"])
def test_a_board_url_without_its_scheme_is_a_url(
    invoke: Invoke, scenario: Scenario, prefix: str
) -> None:
    """``trello.com/b/<shortLink>/slug`` as a browser lets one type it: the board, as with
    ``https://``, not 'no board named …'."""
    url = scenario.team.url.removeprefix("https://")
    url = prefix + url if prefix != "TRELLO.com" else url.replace("trello.com", prefix)
    r = invoke("--board", url, "--since", incident_since(scenario), "--dry-run", "-q")
    assert r.exit_code == 0, r.output
    with_scheme = invoke("--board", scenario.team.url, "--since", incident_since(scenario),
                         "--dry-run", "-q")  # fmt: skip
    assert r.stdout == with_scheme.stdout


def test_a_run_with_nothing_to_write_warns_of_journals_it_cannot_look_into(
    invoke: Invoke,
    scenario: Scenario,
    sb: Sandbox,
    state: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """A one-step run with nothing to write looks for earlier runs' interrupted writes on disk
    (``earlier_journals.has_open_records``): journals it cannot look into (mode 400 or 000)
    were an internal error, exit 1; now a warning naming the directory and chmod, and the run
    ends as it would."""
    applied = invoke(*_scope(scenario), "--yes", "-q")
    assert applied.exit_code == 0, applied.output
    journals = state / "journals"
    assert list(journals.iterdir())
    writes = _writes(sb)
    _unsearchable(monkeypatch, journals)
    r = invoke(*_scope(scenario), "--yes", "-q")
    assert r.exit_code == 0, r.output
    assert "internal error" not in r.output
    (warning,) = [x for x in r.stderr.splitlines() if x.startswith("Warning: cannot look into")]
    assert f"the journal directory {journals} ({DENIED})" in warning
    assert f"chmod 700 {journals}" in warning
    assert _writes(sb) == writes


# ------------------------------------ R62b: a directory on the way that this user cannot search


def _unsearchable_to_access(monkeypatch: pytest.MonkeyPatch, *directories: Path) -> None:
    """``_unsearchable``, and ``os.access`` saying so of ``directories`` too (root, which runs
    the tests, may search anything)."""
    _unsearchable(monkeypatch, *directories)
    real = os.access

    def access(path: Any, mode: int, **kwargs: Any) -> bool:
        if Path(os.fspath(path)).absolute() in directories:
            return False
        return real(path, mode, **kwargs)

    monkeypatch.setattr(os, "access", access)


def test_an_unsearchable_config_directory_is_one_line_before_any_request(
    invoke: Invoke, scenario: Scenario, sb: Sandbox, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """R62b: ``HOME=/root`` after ``runuser`` (or a config directory of mode 000): looking for
    the default config file raised ``PermissionError``, "internal error", exit 1."""
    config_home = tmp_path / "xdg-config"
    config_home.mkdir()
    _unsearchable_to_access(monkeypatch, config_home)
    r = invoke(*_scope(scenario), "--dry-run")
    one_line_error(
        r, ExitCode.USAGE,
        f"cannot look for a config file at {config_home}/trello-restore/config.toml: this user "
        f"cannot search {config_home}; set HOME (or XDG_CONFIG_HOME) to this user's own "
        "directory, or pass --config",
    )  # fmt: skip
    assert sb.server.request_log == []


def test_a_plan_out_in_an_unsearchable_directory_is_refused_before_any_request(
    invoke: Invoke, scenario: Scenario, sb: Sandbox, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """R62b: ``--plan-out`` into a directory of mode 000 (or deeper below one) raised in
    ``is_symlink``: "internal error", exit 1. README: refused before anything is read."""
    locked = tmp_path / "locked"
    (locked / "deeper").mkdir(parents=True)
    _unsearchable_to_access(monkeypatch, locked)
    for target in (locked / "p.json", locked / "deeper" / "p.json"):
        r = invoke(*_scope(scenario), "--dry-run", "--plan-out", str(target))
        one_line_error(
            r, ExitCode.USAGE,
            f"cannot write plan {target}: directory {locked} is not writable; choose another "
            "--plan-out path",
        )  # fmt: skip
    assert sb.server.request_log == []


def test_the_nearest_directory_below_an_unsearchable_one_is_that_one(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """R62b: ``writable_dir`` (where the cache's missing directories would be made) raised in
    ``Path.exists`` below a directory of mode 000 (``XDG_CACHE_HOME`` or
    ``TRELLO_RESTORE_HOME`` there: "internal error"); it names that directory, whose check
    then says what to do, as for one this user cannot write in. ``looks`` never raises."""
    locked = tmp_path / "locked"
    (locked / "cache").mkdir(parents=True)
    _unsearchable_to_access(monkeypatch, locked)
    assert writable_dir(locked / "cache" / "x" / "f") == locked
    for kind in ("any", "dir", "link"):
        assert looks(locked / "cache", kind) is False
    assert looks(locked, "dir")
    assert looks(locked)
    assert not looks(locked, "link")


def test_a_permission_error_no_one_mapped_is_one_line_not_a_bug(
    invoke: Invoke, scenario: Scenario, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """R62b: the last resort for a file this user may not reach that no message of the tool
    foresaw: one line naming it and exit 2, not "internal error (a bug …)", exit 1."""
    hidden = tmp_path / "locked" / "somewhere" / "file"
    (tmp_path / "locked").mkdir()
    _unsearchable_to_access(monkeypatch, tmp_path / "locked")

    def denied(*_: object, **__: object) -> None:
        raise PermissionError(errno.EACCES, DENIED, str(hidden))

    monkeypatch.setattr("trello_restore.planfile.check_plan_out", denied)
    r = invoke(*_scope(scenario), "--dry-run", "--plan-out", str(tmp_path / "p.json"))
    one_line_error(
        r, ExitCode.USAGE,
        f"cannot reach {hidden} ({DENIED}): this user cannot search {tmp_path / 'locked'}; "
        "fix the permissions (as the owner) or use another path",
    )  # fmt: skip
    assert "internal error" not in r.output


def test_a_plan_out_over_another_user_s_file_in_a_shared_directory_is_refused_first(
    invoke: Invoke, scenario: Scenario, sb: Sandbox, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """R62b: ``--plan-out /tmp/x.json`` over root's file: the whole fetch ran, then the rename
    was refused (in a sticky directory only a file's owner may replace it) and the line said
    "directory /tmp is not writable", which it is. Refused before any request, saying why.
    (This user is simulated: the tests run as root, who may replace anything.)"""
    shared = tmp_path / "shared"
    shared.mkdir()
    shared.chmod(0o1777)
    target = shared / "plan.json"
    target.write_text("{}")
    monkeypatch.setattr(os, "geteuid", lambda: 4242)
    r = invoke(*_scope(scenario), "--dry-run", "--plan-out", str(target))
    one_line_error(
        r, ExitCode.USAGE,
        f"cannot write plan {target}: it is another user's, and in {shared} only a file's "
        "owner may replace it (the directory is sticky); choose another --plan-out path",
    )  # fmt: skip
    assert sb.server.request_log == []
    assert target.read_text() == "{}"


def test_another_user_s_config_file_is_not_told_chmod(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """R62b: a token in another user's config file readable by all was told "run chmod 600",
    which this user may not do (and which would leave them unable to read it)."""
    path = tmp_path / "config.toml"
    path.write_text('[trello]\ntoken = "ATTA' + "b" * 60 + '"\n')
    path.chmod(0o644)
    assert load_config(path, explicit=True).warnings == (
        f"config file {path} holds a token and is readable by others (mode 644): run chmod "
        f"600 {path}",
    )
    monkeypatch.setattr(os, "geteuid", lambda: 4242)
    assert load_config(path, explicit=True).warnings == (
        f"config file {path} holds a token and is readable by others (mode 644): it is another "
        "user's: copy it to a file of your own, chmod 600 that and pass it with --config",
    )


def test_an_empty_journal_file_of_another_user_is_said(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """R62b: ``--journal`` naming an empty file another user made (``mktemp`` in /tmp) said
    "check that this user can write in /tmp", which it can; the file is what it cannot."""
    path = tmp_path / "night.jsonl"
    path.touch()
    real = os.access
    monkeypatch.setattr(os, "access", lambda p, m, **k: Path(p) != path and real(p, m, **k))
    err = PermissionError(errno.EACCES, DENIED, str(path))
    assert cannot_create(path, err) == (
        f"cannot create the journal {path} ({DENIED}): the empty file there is not writable by "
        "this user; remove it as its owner, or pass --journal with another path"
    )


def test_a_dangling_link_as_journal_is_named(tmp_path: Path) -> None:
    """R63a: ``--journal`` naming a symbolic link to a file that does not exist said "check
    that this user can write in" a directory it can write in."""
    path = tmp_path / "night.jsonl"
    path.symlink_to(tmp_path / "gone" / "j.jsonl")
    err = FileNotFoundError(errno.ENOENT, "No such file or directory", str(path))
    assert cannot_create(path, err) == (
        f"cannot create the journal {path}: it is a symbolic link to {tmp_path}/gone/j.jsonl, "
        "which does not exist; remove the link, or pass --journal with another path"
    )
