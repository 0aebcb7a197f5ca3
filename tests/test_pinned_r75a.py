"""Rules that mutation testing of R75a's code found untested (review R75a), each pinned by a
test that fails with the mutant applied:

- a library too old to have a name the tool imports (an ``ImportError`` that is not a
  ``ModuleNotFoundError``) is a broken install, said in one line, both while the command line
  is imported and outside a run (EN01, EN02);
- a run's log names the changes left blocked, drifted or failed, each with why (RO01, RO02),
  the first 50 of them and then how many more (RO03, RO05);
- a logged line is cut only over 500 characters (RO07), a name in the text plan only over 200
  (RP01);
- a config file that does not exist or is not valid TOML sends the user to
  config.example.toml with its path (CF04, CF05);
- a ``==`` pin is not met by a newer version either (IC17)."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

import trello_restore
from trello_restore.config_file import load_config
from trello_restore.errors import ConfigError, ExitCode
from trello_restore.install_check import install_problem, satisfies
from trello_restore.report import _name
from trello_restore.report_outcomes import _cut, attention_lines
from trello_restore.runner_types import ChangeOutcome
from trello_restore.sandbox.scenario import Scenario
from trello_restore.words import shown_name

from .conftest import Sandbox, configless_cli
from .test_config import EXAMPLE
from .test_install_check import _installed
from .test_read_only_token import _read_only
from .truthcheck import incident_since

BROKEN = "Error: this install of trello-restore is broken: "
#: The tree this test imports ``trello_restore`` from: the subprocess imports the same one.
SOURCE = Path(trello_restore.__file__).resolve().parents[1]


def _run_with_fake(
    tmp_path: Path, files: dict[str, str], *argv: str
) -> subprocess.CompletedProcess[str]:
    """The console script's entry run in a new process with ``argv``, where ``files`` (a
    fake library: relative path → text) come first on ``PYTHONPATH``."""
    fake = tmp_path / "fake"
    for rel, text in files.items():
        (fake / rel).parent.mkdir(parents=True, exist_ok=True)
        (fake / rel).write_text(text)
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(fake), str(SOURCE)])}
    env.update({f"XDG_{d}_HOME": str(tmp_path / d.lower()) for d in ("CONFIG", "CACHE", "STATE")})
    script = f"import sys; sys.argv = ['trello-restore', *{list(argv)!r}]\n"
    script += "from trello_restore.entry import run\nrun()\n"
    return subprocess.run(
        [sys.executable, "-c", script],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
        env=env,
        cwd=tmp_path,
    )


@pytest.mark.parametrize(
    ("files", "argv", "said"),
    [
        pytest.param(
            {"click/__init__.py": "", "click/core.py": ""},
            ["--version"],
            "cannot import name 'ParameterSource' from 'click.core'",
            id="click without ParameterSource: while the command line is imported (EN01)",
        ),
        pytest.param(
            {"filelock/__init__.py": ""},
            ["demo"],
            "cannot import name 'FileLock' from 'filelock'",
            id="filelock without FileLock: imported by demo, outside a run (EN02)",
        ),
    ],
)
def test_a_library_too_old_for_a_name_it_imports_is_a_broken_install_in_one_line(
    tmp_path: Path, files: dict[str, str], argv: list[str], said: str
) -> None:
    """A library installed but too old to have a name the tool imports (an ImportError that is
    not a ModuleNotFoundError): one line ``Error: this install of trello-restore is broken:
    …`` on stderr naming what Python said, exit 1, no traceback (R75a: mutants EN01, EN02)."""
    done = _run_with_fake(tmp_path, files, *argv)
    assert done.returncode == 1, done.stderr
    assert done.stdout == ""
    assert "Traceback" not in done.stderr
    [line] = done.stderr.splitlines()
    assert line.startswith(BROKEN + "a library it needs cannot be imported ("), line
    assert said in line, line
    assert line.endswith("reinstall trello-restore)"), line


STATUSES = ("applied", "already_satisfied", "blocked", "drifted", "failed", "not_attempted")


def _outcomes(statuses: list[str]) -> list[ChangeOutcome]:
    """One card membership change per status, each with a reason of its own."""
    return [
        ChangeOutcome(
            f"c-{n}",
            "add_member_to_card",
            status,
            "b1",
            f"card{n}",
            "m1",
            http_status=401 if status == "failed" else None,
            error=f"why {n} {status}",
        )
        for n, status in enumerate(statuses)
    ]


def test_a_run_logs_each_change_left_blocked_drifted_or_failed_with_why() -> None:
    """The log names exactly the changes left blocked, drifted or failed, each with its
    reason (a failure with its HTTP status), and none applied, already there or not tried
    (R75a: mutants RO01, RO02)."""
    lines = attention_lines(_outcomes(list(STATUSES)), {}, "the journal has each")
    assert lines == [
        "blocked          member m1 on card card2  (why 2 blocked)",
        "drifted, skipped member m1 on card card3  (why 3 drifted)",
        "FAILED           member m1 on card card4  (HTTP 401: why 4 failed)",
    ]


def test_an_apply_with_a_read_only_token_logs_each_failed_change(
    sb: Sandbox, scenario: Scenario, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """An apply whose writes Trello refuses (a read-only token) logs each change left failed,
    with the HTTP status and Trello's words, not only the counts (R75a: mutant RO01)."""
    s = scenario
    invoke = configless_cli(sb, monkeypatch, tmp_path)
    _read_only(s)
    plan, log = tmp_path / "plan.json", tmp_path / "run.log"
    # The team board's removals, without board grants: each of its changes is tried.
    since = ("--since", incident_since(s), "--plan-out", str(plan))
    assert invoke("--board", s.team.id, *since, "--dry-run", "-q").exit_code == 0  # reads
    r = invoke("--log-file", str(log), "apply", str(plan), "--journal",
               str(tmp_path / "j.jsonl"), "-q")  # fmt: skip
    assert r.exit_code == ExitCode.AUTH, r.output
    text = log.read_text()
    failed = [x for x in text.splitlines() if " INFO trello_restore: FAILED " in x]
    [counted] = re.findall(r"INFO trello_restore: Summary: .*, (\d+) failed, ", text)
    assert len(failed) == int(counted) > 0, text
    assert all("(HTTP 401: " in x for x in failed), failed


def test_a_run_logs_the_first_50_changes_left_undone_then_how_many_more() -> None:
    """The README: "the first 50 of them, then how many more". 50 such changes are 50 lines
    and no count; 51 are the first 50 and "… and 1 more" (R75a: mutants RO03, RO05)."""
    fifty = attention_lines(_outcomes(["blocked"] * 50), {}, "the journal has each")
    assert len(fifty) == 50
    assert not any("more blocked, drifted or failed" in x for x in fifty), fifty[-1]
    more = attention_lines(_outcomes(["blocked"] * 51), {}, "the journal has each")
    assert more[:50] == fifty
    assert more[50:] == ["… and 1 more blocked, drifted or failed; the journal has each"]


def test_a_logged_line_is_cut_only_over_500_characters() -> None:
    """A line of the log naming a change is kept whole up to 500 characters; one of 501 is
    cut to 500 with its length (R75a: mutant RO07)."""
    assert _cut("x" * 500) == "x" * 500
    assert _cut("x" * 501) == f"{'x' * 499}… (501 chars)"


def test_a_name_is_cut_in_the_text_plan_only_over_200_characters() -> None:
    """README: "a name longer than 200 characters" is shown as its first 199 and its length
    (with its id in the plan's headings); one of exactly 200 is shown whole (R75a: mutant
    RP01)."""
    name = "N" * 199 + "Z"
    assert _name(name, "5f0c1d2e3a4b5c6d7e8f9a0b") == shown_name(name) == name
    longer = name + "Y"
    assert _name(longer, "5f0c1d2e3a4b5c6d7e8f9a0b") == (
        f"{name[:199]}… (201 chars, 5f0c1d2e3a4b5c6d7e8f9a0b)"
    )


@pytest.mark.parametrize(
    ("text", "said"),
    [
        pytest.param(None, "does not exist: ", id="no such file (CF05)"),
        pytest.param("[restore\nworkers = 8\n", "is not valid TOML (", id="not TOML (CF04)"),
    ],
)
def test_a_config_file_missing_or_not_toml_names_the_example_with_its_path(
    tmp_path: Path, text: str | None, said: str
) -> None:
    """A --config file that does not exist, or that is not valid TOML: the error sends the
    user to config.example.toml with where this install has it, in parentheses, and the file
    is there (R75a: mutants CF04, CF05)."""
    path = tmp_path / "c.toml"
    if text is not None:
        path.write_text(text)
    with pytest.raises(ConfigError) as info:
        load_config(path, explicit=True)
    message = str(info.value)
    assert said in message, message
    named = re.search(r"config\.example\.toml \((/[^)]+)\)$", message)
    assert named is not None, message
    assert Path(named.group(1)).read_text() == EXAMPLE.read_text()


def test_a_newer_version_than_a_pin_is_a_broken_install_too(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """``py-trello==0.20.1`` is met by 0.20.1 only: a newer one installed is a problem, as an
    older one is (R75a: mutant IC17)."""
    assert satisfies("0.21.0", "==0.20.1") is False
    _installed(monkeypatch, **{"py-trello": "0.21.0"})
    assert install_problem() == "py-trello 0.21.0 is installed, and it needs py-trello==0.20.1"
