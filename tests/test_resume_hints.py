"""The "run … again" command a stopped apply or undo gives is the command that resumes it as
it ran: a top-level ``--log-file`` given on the command line is in it, so the resumed run logs
to the same file as the nightly one did (R29a: it was dropped). Over HTTP to the sandbox."""

from __future__ import annotations

import shlex
from collections.abc import Callable
from pathlib import Path

import pytest
from click.testing import Result

from trello_restore.errors import ExitCode
from trello_restore.sandbox.scenario import Scenario

from .conftest import Sandbox, configless_cli, one_line_error
from .test_refused_board import _observer
from .truthcheck import incident_since

Invoke = Callable[..., Result]


@pytest.fixture(name="invoke")
def invoke_fixture(sb: Sandbox, monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Invoke:
    """The CLI in-process, pointed at the sandbox, reading no config file."""
    return configless_cli(sb, monkeypatch, tmp_path)


def test_a_refused_apply_and_undo_resume_with_the_same_log_file(
    invoke: Invoke, scenario: Scenario, tmp_path: Path
) -> None:
    s = scenario
    plan, journal = tmp_path / "plan.json", tmp_path / "j.jsonl"
    log = tmp_path / "logs dir" / "nightly.log"  # a space: the command quotes it
    log.parent.mkdir()
    scope = ["--board", s.team.id, "--since", incident_since(s), "--add-to-board"]
    assert invoke(*scope, "--dry-run", "-q", "--plan-out", str(plan)).exit_code == 0

    give_back = _observer(s, s.archive.id, s.mover.id)
    r = invoke("--log-file", str(log), "apply", str(plan), "--journal", str(journal), "-q")
    again = shlex.join(["trello-restore", "--log-file", str(log), "apply", str(plan),
                        "--journal", str(journal)])  # fmt: skip
    line = one_line_error(r, ExitCode.AUTH, f"run {again} again to resume")
    assert line.removeprefix("Error: ") in log.read_text()

    give_back()
    assert invoke("apply", str(plan), "--journal", str(journal), "-q").exit_code == 0
    _observer(s, s.archive.id, s.mover.id)
    r = invoke("--log-file", str(log), "undo", str(journal), "--yes", "-q")
    again = shlex.join(["trello-restore", "--log-file", str(log), "undo", str(journal), "--yes"])
    one_line_error(r, ExitCode.AUTH, f"then run {again} again to finish")

    # Not given on the command line (the environment's or the config file's), it is not
    # repeated: the same environment gives it again.
    r = invoke("undo", str(journal), "--yes", "-q", TRELLO_RESTORE_LOG_FILE=str(log))
    one_line_error(r, ExitCode.AUTH, f"then run trello-restore undo {journal} --yes again")
