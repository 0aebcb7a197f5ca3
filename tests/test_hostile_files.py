"""Hostile content in every JSON or TOML file the tool reads: never a traceback.

``json.loads`` and ``tomllib.loads`` raise ``RecursionError`` on nesting deeper than the stack
(1100 ``[``) and a plain ``ValueError`` on an integer of more than 4300 digits, which the
readers did not expect: exit 1 with a traceback. A file the user names (a plan, a journal, an
export, a config) is exit 2 with one line saying what to do, as any malformed one; a cache
file (a store's head, body, card cuts, a plan memo's first line or body) is ignored with its
usual notice, and the run makes the plan a run without the cache makes.
"""

from __future__ import annotations

import gzip
import json
import os
import shutil
import tomllib
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from trello_restore.errors import ExitCode, InputFileError
from trello_restore.history_store import VERSION
from trello_restore.lastrun import Scope, read_last_run, record_last_run, state_file
from trello_restore.parsing import MAX_DEPTH, load_json, load_toml, too_deep
from trello_restore.sandbox.scenario import generate

from .conftest import SandboxFactory, cli_invoker, one_line_error, sandbox_cli

#: Nesting deeper than the stack, unclosed: the parsers' ``RecursionError`` (Python 3.11), or,
#: where the stack allows it (3.12 and later), the end of the text where a value should be.
DEEP = "[" * 1100
#: Nesting deeper than any Python's parser goes (3.13's takes 5,000 levels): its
#: ``RecursionError``, said as such.
ABYSS = "[" * 1_000_000 + "]" * 1_000_000
#: An integer of more digits than Python converts: the parsers' plain ``ValueError``.
LONG = "9" * 5000
SINCE = ("--since", "2025-11-02", "--dry-run")

# ------------------------------------------------------------------- files the user names


def _config(tmp: Path, body: str) -> list[str]:
    path = tmp / "deep.toml"
    path.write_text(body, encoding="utf-8")
    return ["--config", str(path), "--from-export", str(tmp / "board.json"), *SINCE]


CASES: list[tuple[str, Callable[[Path], list[str]], tuple[str, ...]]] = [
    ("plan, deep", lambda t: ["apply", _file(t, DEEP)], ("plan file", "--plan-out")),
    ("plan, deep closed", lambda t: ["apply", _file(t, DEEP + "]" * 1100)], ("plan file",)),
    ("plan, long number", lambda t: ["apply", _file(t, LONG)], ("plan file", "--plan-out")),
    ("journal, deep", lambda t: ["undo", _file(t, DEEP + "\n"), "--yes"], ("journal",)),
    (
        "journal, deep record",
        lambda t: ["undo", _file(t, _header() + DEEP + "\n"), "--yes"],
        ("journal",),
    ),
    ("journal, an array", lambda t: ["undo", _file(t, "[1]\n"), "--yes"], ("not a trello",)),
    ("export, deep", lambda t: ["--from-export", _file(t, DEEP), *SINCE], ("export",)),
    ("export, long number", lambda t: ["--from-export", _file(t, LONG), *SINCE], ("export",)),
    ("config, deep", lambda t: _config(t, "a=" + DEEP), ("config file", "not valid TOML")),
    ("config, deep table", lambda t: _config(t, "a=" + "{b=" * 1100), ("config file",)),
    ("config, long number", lambda t: _config(t, "workers=" + LONG), ("config file", "TOML")),
]


def _file(tmp: Path, text: str) -> str:
    path = tmp / "deep.json"
    path.write_text(text, encoding="utf-8")
    return str(path)


def _header() -> str:
    """A journal's header line, as apply writes it."""
    doc = {
        **{"type": "header", "format": "trello-restore-journal", "format_version": 1},
        **{"plan_digest": "ab" * 32, "api_url": "https://api.trello.com/1"},
        **{"account_id": "a" * 24, "created_at": "2025-11-03T00:00:00.000Z"},
    }
    return json.dumps(doc) + "\n"


@pytest.mark.parametrize(("make", "needles"), [c[1:] for c in CASES], ids=[c[0] for c in CASES])
def test_a_hostile_file_the_user_names_is_exit_2_in_one_line(
    make: Callable[[Path], list[str]],
    needles: tuple[str, ...],
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Exit 2, one ``Error:`` line naming the file's kind (and what to do), no traceback."""
    for name in ("TRELLO_API_KEY", "TRELLO_TOKEN", "TRELLO_RESTORE_CONFIG"):
        monkeypatch.delenv(name, raising=False)
    result = cli_invoker(monkeypatch)(*make(tmp_path))
    one_line_error(result, ExitCode.USAGE, *needles)


def test_a_hostile_last_run_file_is_damage(tmp_path: Path) -> None:
    """``--since last-run``'s state file nested deeper than the stack: the damaged-file error
    (exit 2 on the command line), which says to delete it."""
    scope = Scope("https://api.trello.com/1", "a" * 24, ("b" * 24,))
    path = state_file(tmp_path, scope)
    path.parent.mkdir(parents=True)
    for text in (DEEP, LONG):
        path.write_text(text, encoding="utf-8")
        with pytest.raises(InputFileError, match=r"is damaged .*delete it"):
            read_last_run(tmp_path, scope)


# ------------------------------------------------------------------------------ cache files


def _memo_first_line(path: Path) -> None:
    path.write_bytes(gzip.compress(DEEP.encode() + b"\n{}"))


def _memo_body(path: Path) -> None:
    """The memo's own header (its key matches the run's), then a body nested too deeply."""
    header = gzip.decompress(path.read_bytes()).split(b"\n", 1)[0]
    path.write_bytes(gzip.compress(header + b"\n" + DEEP.encode()))


def _deep(path: Path) -> None:
    path.write_text(DEEP, encoding="utf-8")


def _body(path: Path) -> None:
    path.write_bytes(gzip.compress(DEEP.encode()))


def _corrupt_deflate(path: Path) -> None:
    """A gzip header before a deflate stream that is not one (``zlib.error``, not OSError)."""
    path.write_bytes(gzip.compress(b"{}")[:10] + b"garbage garbage garbage")


#: (the file, how it is damaged, what the notice says; None: none, the file is only a hint).
CACHE: list[tuple[str, str, Callable[[Path], None], str | None]] = [
    ("head", f"history.v{VERSION}.head.json", _deep, "head"),
    ("cuts", f"cards.v{VERSION}.json", _deep, None),
    ("body", f"history.v{VERSION}.json.gz", _body, "rebuilt"),
    ("body, not deflate", f"history.v{VERSION}.json.gz", _corrupt_deflate, "rebuilt"),
    ("memo, first line", "memo", _memo_first_line, "plan memo"),
    ("memo, body", "memo", _memo_body, "plan memo"),
]


@pytest.mark.parametrize(
    ("name", "damage", "notice"), [c[1:] for c in CACHE], ids=[c[0] for c in CACHE]
)
def test_a_hostile_cache_file_is_ignored_with_its_notice(
    name: str,
    damage: Callable[[Path], None],
    notice: str | None,
    sandbox_factory: SandboxFactory,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """A cached run, the file damaged, the run again: exit 0, the file's one notice (or none,
    for the cuts), and the plan of a run without the cache."""
    s = generate(23, 20)
    sb = sandbox_factory(s, time_scale=100)
    invoke = sandbox_cli(sb, monkeypatch)
    home = Path(os.environ["TRELLO_RESTORE_HOME"])
    fast = home.parent / "fast.toml"
    fast.write_text("[limits]\nwindow_seconds = 0.1\n")
    since = s.incident_at.isoformat()
    args = ["--config", str(fast), "--board", s.team.id, "--since", since, "--dry-run"]
    args += ["--format", "json"]
    first = invoke(*args)
    assert first.exit_code == 0, first.output
    cache = home / "cache"
    if name == "memo":
        (path,) = (cache / "plans").glob("*.json.gz")
    else:
        path = cache / "boards" / s.team.id / name
        if "history" in name and not name.endswith("head.json"):
            shutil.rmtree(cache / "plans")  # else the memo's plan is used and no body read
    assert path.is_file(), path
    damage(path)
    again = invoke(*args)
    assert again.exit_code == 0, again.output
    assert "Traceback" not in again.output
    lines = [x for x in again.stderr.splitlines() if x.strip() and not x.startswith("Summary:")]
    if notice is None:
        assert lines == [], again.stderr
    else:
        assert len(lines) == 1, again.stderr
        assert lines[0].startswith("Warning: "), lines[0]
        assert str(path) in lines[0], lines[0]
        assert notice in lines[0], lines[0]
    cold = invoke(*args, "--no-cache")
    assert cold.exit_code == 0, cold.output
    assert _plan(again.stdout) == _plan(cold.stdout)


def _plan(text: str) -> dict[str, Any]:
    doc: dict[str, Any] = json.loads(text)
    doc.pop("created_at", None)
    doc.pop("clock_skew_s", None)  # to about a second, as each run saw it
    return doc


# ------------------------------------------------------------------------------ the parsers


@pytest.mark.parametrize(
    ("data", "why"),
    [
        (ABYSS, "nested too deeply"),
        (ABYSS.encode(), "nested too deeply"),
        (DEEP, "nested too deeply|Expecting value"),
        ("[" * (MAX_DEPTH + 1) + "]" * (MAX_DEPTH + 1), f"more than {MAX_DEPTH} levels"),
        ('{"a":' * (MAX_DEPTH + 1) + "1" + "}" * (MAX_DEPTH + 1), f"more than {MAX_DEPTH}"),
        (LONG, "a number of more than 4300 digits"),
        (b'"\xff"', "not UTF-8"),
        ('"a\x00b"', "Invalid control character"),
    ],
)
def test_load_json_raises_its_decode_error_for_hostile_json(data: str | bytes, why: str) -> None:
    with pytest.raises(json.JSONDecodeError, match=why):
        load_json(data)


def test_load_json_and_toml_take_what_is_deep_enough() -> None:
    """Nesting of ``MAX_DEPTH`` and scalars come back as ``json``/``tomllib`` give them;
    ``max_depth=None`` (the stores' and memo's bodies) does not look."""
    deepest = "[" * MAX_DEPTH + "]" * MAX_DEPTH
    assert load_json(deepest) == json.loads(deepest)
    assert load_json(b'"x"') == "x"
    assert load_json("1") == 1
    over = "[" * (MAX_DEPTH + 5) + "]" * (MAX_DEPTH + 5)
    assert load_json(over, max_depth=None) == json.loads(over)
    toml = "a = " + "[" * (MAX_DEPTH - 1) + "]" * (MAX_DEPTH - 1) + "\nb = {c = 1}\n"
    assert load_toml(toml) == tomllib.loads(toml)
    assert not too_deep({"a": [1, {"b": "c"}], "d": datetime(2025, 1, 1, tzinfo=UTC)}, 3)
    assert too_deep({"a": [1, {"b": []}]}, 3)


@pytest.mark.parametrize(
    ("text", "why"),
    [
        ("a = " + DEEP, "nested too deeply"),
        ("a = " + "[" * MAX_DEPTH + "]" * MAX_DEPTH, f"more than {MAX_DEPTH} levels"),
        ("a = " + LONG, "a number of more than 4300 digits"),
        ("a = '\x00'", "invalid character"),
    ],
)
def test_load_toml_raises_its_decode_error_for_hostile_toml(text: str, why: str) -> None:
    with pytest.raises(tomllib.TOMLDecodeError, match=why):
        load_toml(text)


@pytest.mark.parametrize("version", [2, 7])
def test_a_last_run_file_of_a_newer_version_is_not_called_damaged(
    tmp_path: Path, version: int
) -> None:
    """R59e: a last-run state file a newer trello-restore wrote (met after a downgrade) was
    "damaged; delete it", which throws away the cron job's cutoff. It says which it is and to
    upgrade, or to pass a date once."""
    scope = Scope("https://api.trello.com/1", "a" * 24, ("b" * 24,))
    record_last_run(tmp_path, scope, datetime(2026, 11, 30, tzinfo=UTC))
    path = state_file(tmp_path, scope)
    doc = json.loads(path.read_text())
    path.write_text(json.dumps({**doc, "format_version": version}))
    with pytest.raises(InputFileError) as info:
        read_last_run(tmp_path, scope)
    assert str(info.value) == (
        f"--since last-run: the state file {path} was written by a newer trello-restore "
        f"(format_version {version}); upgrade trello-restore, or pass --since "
        "2026-11-30T00:00:00Z (its last run) once"
    )  # a later date would leave a gap: not recorded, and the next run meets this again (R60a)
    for odd in ("2", True, 1.0, 2.0, None, "é"):  # R60a: True and 1.0 were taken for 1
        path.write_text(json.dumps({**doc, "format_version": odd}))
        with pytest.raises(InputFileError) as info:
            read_last_run(tmp_path, scope)
        # as the file spells it (R60d: "True", "None")
        said = json.dumps(odd, ensure_ascii=False)
        assert f"is damaged (unknown format_version {said})" in str(info.value)


def test_a_gap_after_a_newer_versions_last_run_says_what_the_next_run_meets(
    tmp_path: Path,
) -> None:
    """R60d: a run whose --since is later than the last run a newer version recorded is not
    recorded (the time between is covered by no run), and its warning said the next --since
    last-run run continues from the recorded one; that run is refused (the file is a newer
    version's). It says what to pass instead. A state of this version's keeps the old words."""
    from trello_restore.lastrun import gap_line

    scope = Scope("https://api.trello.com/1", "a" * 24, ("b" * 24,))
    last = datetime(2026, 11, 30, 3, 15, 7, 500000, tzinfo=UTC)
    record_last_run(tmp_path, scope, last)
    since = datetime(2026, 12, 1, tzinfo=UTC)
    plain = gap_line(tmp_path, scope, since, last)
    assert plain.startswith("this run was not recorded as the last run on these boards: its ")
    # R63a: both instants as finely as they are (cut to the second, a window starting within
    # the recorded run's second read as starting at it, "after" it).
    within = last.replace(microsecond=937_500)
    assert "starts at 2026-11-30 03:15:07.9375 UTC, after the last one recorded (2026-11-30 " \
        "03:15:07.500 UTC)" in gap_line(tmp_path, scope, within, last)  # fmt: skip
    assert plain.endswith("; the next --since last-run run continues from the recorded one")
    path = state_file(tmp_path, scope)
    path.write_text(json.dumps({**json.loads(path.read_text()), "format_version": 2}))
    newer = gap_line(tmp_path, scope, since, last)
    assert newer.endswith(
        "; the recorded one was written by a newer trello-restore, so the next --since last-run "
        "run is refused: upgrade trello-restore, or pass --since 2026-11-30T03:15:07Z once"
    ), newer
    for odd in (True, 2.0):  # R61a: damaged, whose last run still counts for the gap
        path.write_text(json.dumps({**json.loads(path.read_text()), "format_version": odd}))
        assert gap_line(tmp_path, scope, since, last).endswith(
            "; the recorded one was damaged, so the next --since last-run run is refused: pass "
            "--since 2026-11-30T03:15:07Z once"
        )
