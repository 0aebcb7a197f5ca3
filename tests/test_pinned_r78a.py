"""Rules that mutation testing (review R78a) of 308ded0..8fa2276's code found untested, each
pinned by a test that fails with the mutant applied:

- click's refusal of a command line whose last word is ``--log-file`` (no value) is one line,
  exit 2, no traceback (O04); the refusal is logged to the last ``--log-file`` given, as click
  takes it, and never to one named after ``--`` (O05, O03);
- ``apply -v --help`` and ``undo --dry-run --help`` ask for help (a counted or flag option takes
  no value), which needs no settings and makes no log file (O07, O08);
- ``apply`` and ``undo`` take ``--workers`` up to 64 and say the default 16 (D07, D10); the
  shipped config.example.toml and the README say 16 too (D08, D11, D12, D13);
- the config file's own key and token are redacted in the log's error line even when they do
  not look like Trello's (E06);
- a run's first log line names the directory it started in quoted when the name holds a
  newline, on that one line (G01)."""

from __future__ import annotations

import re
import tomllib
from collections.abc import Callable
from pathlib import Path

import pytest
from click.testing import Result

from trello_restore.errors import ExitCode
from trello_restore.words import shown_name

from .conftest import Sandbox, one_line_error
from .test_config import EXAMPLE
from .test_config_cli import _config, invoke_fixture  # noqa: F401 - the fixture
from .test_docs import ROOT

Invoke = Callable[..., Result]
UNSHAPED = "sandbox-token-not-shaped-0123456789"


def _flat(text: str) -> str:
    """``text`` with each run of white space one space (help wraps its lines)."""
    return " ".join(text.split())


def test_log_file_as_the_last_word_is_clicks_one_line_refusal(invoke: Invoke) -> None:
    """``--bogus --log-file`` (the option the last word, with no value to take) is click's
    one-line refusal, exit 2, with no traceback: the look for the log file's place reads no
    word past the end (R78a: mutant O04)."""
    r = invoke("--bogus", "--log-file")
    one_line_error(r, ExitCode.USAGE, "--bogus")


def test_the_refusal_is_logged_to_the_last_log_file_given(invoke: Invoke, tmp_path: Path) -> None:
    """``--log-file a.log --log-file b.log --bogus``: click takes the last ``--log-file``, so the
    refusal is logged to b.log, and a.log is not made (R78a: mutant O05)."""
    first, last = tmp_path / "a.log", tmp_path / "b.log"
    r = invoke("--log-file", str(first), "--log-file", str(last), "--bogus")
    line = one_line_error(r, ExitCode.USAGE, "--bogus")
    assert f"exit 2: {line.removeprefix('Error: ')}" in last.read_text()
    assert not first.exists()


def test_a_log_file_named_after_a_double_dash_is_not_made(invoke: Invoke, tmp_path: Path) -> None:
    """``--bogus -- --log-file x``: after ``--`` a word is an argument, not an option, so no
    log file x is made for the refusal (R78a: mutant O03)."""
    named = tmp_path / "x"
    r = invoke("--bogus", "--", "--log-file", str(named))
    one_line_error(r, ExitCode.USAGE, "--bogus")
    assert not named.exists()


def test_help_after_a_counted_or_flag_option_needs_no_settings(
    invoke: Invoke, tmp_path: Path
) -> None:
    """``apply -v --help`` and ``undo --dry-run --help`` ask for help: ``-v`` (counted) and
    ``--dry-run`` (a flag) take no value, so ``--help`` is not theirs. The help is shown (exit
    0) although the config file holds an invalid setting, and no log file is made (R78a:
    mutants O07, O08)."""
    bad = _config(tmp_path, "[limits]\nworkers = 0\n")
    log = tmp_path / "cron.log"
    for command, option in (("apply", "-v"), ("undo", "--dry-run")):
        r = invoke("--config", str(bad), "--log-file", str(log), command, option, "--help")
        assert r.exit_code == 0, r.output
        assert r.stdout.startswith(f"Usage: main {command} [OPTIONS]"), r.stdout
    assert not log.exists()
    # Without --help the same setting is refused: the help above did not read it.
    r = invoke("--config", str(bad), "apply", "-v", "plan.json")
    one_line_error(r, ExitCode.USAGE, "limits.workers")


def test_apply_and_undo_take_up_to_64_workers_and_say_the_default_16(
    invoke: Invoke, tmp_path: Path
) -> None:
    """``apply --workers 64`` and ``undo --workers 64`` are accepted (the run goes on to its
    plan or journal), 65 is refused with click's range line; each command's help says the
    default, 16 (R78a: mutants D07, D10)."""
    missing = {"apply": "plan file", "undo": "no such journal"}
    for command, said in missing.items():
        where = str(tmp_path / f"missing-{command}")
        r = invoke(command, "--workers", "64", where)
        line = one_line_error(r, ExitCode.USAGE, said)
        assert "--workers" not in line, line
        r = invoke(command, "--workers", "65", where)
        one_line_error(
            r, ExitCode.USAGE, "Invalid value for '--workers': 65 is not in the range 1<=x<=64"
        )
        r = invoke(command, "--help")
        assert r.exit_code == 0, r.output
        assert "--workers N Concurrent writers (default 16)." in _flat(r.stdout), r.stdout


def test_the_example_config_and_the_readme_say_16_workers() -> None:
    """The shipped config.example.toml sets ``workers = 16``, and each of the README's mentions
    of the workers default (the ``--workers`` row, Applying, the settings table) says 16, none
    8 (R78a: mutants D08, D11, D12, D13)."""
    assert tomllib.loads(EXAMPLE.read_text())["limits"]["workers"] == 16
    readme = (ROOT / "README.md").read_text()
    mentions = {
        "--workers row": r"\| `--workers N`.*?\| concurrent writers \(default (\d+)\b",
        "Applying": r"workers \(`--workers`, default (\d+)\)",
        "settings table": r"\| `limits\.workers`, `limits\.max_retries` \|.*\| (\d+), \d+ \|",
    }
    for where, pattern in mentions.items():
        found = re.findall(pattern, readme)
        assert found, where
        assert set(found) == {"16"}, (where, found)
    assert not re.search(r"(workers|writers)\W[^|\n]{0,30}default 8\b", readme)


def test_the_config_files_unshaped_token_is_redacted_in_the_logged_error(
    invoke: Invoke, sandbox: Sandbox, tmp_path: Path
) -> None:
    """A config file whose [trello] token has no Trello shape and which repeats it in an invalid
    setting: the log file's ``exit 2:`` line shows ``[redacted]`` where the value was, and the
    log never holds the value (R78a: mutant E06)."""
    log = tmp_path / "e6.log"
    config = _config(
        tmp_path,
        f'[trello]\napi_key = "0123456789abcdef0123456789abcdef"\ntoken = "{UNSHAPED}"\n'
        f'[restore]\nboard_role = "{UNSHAPED}"\n[paths]\nlog_file = "{log}"\n',
    )
    r = invoke("--config", str(config), "--api-url", sandbox.base_url, "--board", "Team",
               "--since", "7d", "--dry-run")  # fmt: skip
    one_line_error(r, ExitCode.USAGE, "restore.board_role", "[redacted]")
    text = log.read_text()
    exits = [line for line in text.splitlines() if " exit 2: " in line]
    assert len(exits) == 1, text
    assert "[redacted]" in exits[0], exits[0]
    assert UNSHAPED not in text
    assert UNSHAPED not in r.output
    assert sandbox.server.request_log == []


def test_a_start_directory_with_a_newline_is_logged_quoted_on_the_first_line(
    invoke: Invoke, sandbox: Sandbox, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A run started in a directory whose name holds a newline names it on the log's first
    line as ``shown_name`` renders it (quoted, the newline escaped), never split across lines
    (R78a: mutant G01)."""
    work = tmp_path / "night\nshift"
    work.mkdir()
    monkeypatch.chdir(work)
    log = tmp_path / "restore.log"
    r = invoke("--api-url", sandbox.base_url, "--board", "Team", "--since", "7d", "--dry-run",
               "--log-file", str(log))  # fmt: skip
    assert r.exit_code == 0, r.output
    shown = shown_name(str(work))
    assert shown[0] == shown[-1] == '"', shown
    assert shown.endswith('night\\nshift"'), shown
    lines = log.read_text().splitlines()
    assert " INFO trello_restore: dry run on " in lines[0], lines[0]
    assert lines[0].endswith(f", in {shown}"), lines[0]
    assert not any(line.startswith('shift"') or line == "shift" for line in lines), lines
