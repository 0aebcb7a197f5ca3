"""A log file that cannot be written (a full disk: ``/dev/full``) is one warning and the run's own
exit code (review R23c): it printed logging's traceback for each record ("--- Logging error
---", 37 with -vv) and ended with an OSError from closing the file, exit 1, after a run that
had succeeded."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest
from click.testing import Result

from trello_restore.sandbox.scenario import Scenario

from .conftest import Sandbox, configless_cli
from .truthcheck import incident_since

Invoke = Callable[..., Result]

FULL = Path("/dev/full")


@pytest.mark.skipif(not FULL.exists(), reason="no /dev/full here")
@pytest.mark.parametrize("loud", [(), ("-vv",)])
def test_a_full_log_file_is_one_warning_and_the_runs_exit_code(
    sb: Sandbox,
    scenario: Scenario,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    loud: tuple[str, ...],
) -> None:
    invoke: Invoke = configless_cli(sb, monkeypatch, tmp_path)
    s = scenario
    args = ("--board", s.team.id, "--since", incident_since(s), "--dry-run", "-q", *loud)
    r = invoke("--log-file", str(FULL), *args)
    assert r.exit_code == 0, r.output
    assert "Traceback" not in r.output
    assert "Logging error" not in r.output
    warnings = [x for x in r.stderr.splitlines() if x.startswith("Warning: cannot write the log")]
    assert warnings == [
        f"Warning: cannot write the log file {FULL} (No space left on device); nothing more is "
        "logged there this run"
    ]


@pytest.mark.skipif(not FULL.exists(), reason="no /dev/full here")
def test_a_full_log_file_s_warning_is_in_the_json_line(
    sb: Sandbox, scenario: Scenario, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """R55a: the log file's warning went to stderr past the logger, and the JSON summary's
    ``warnings`` (every warning the command gave on stderr) lacked it: a cron job on a full
    disk, where it matters most."""
    import json

    invoke: Invoke = configless_cli(sb, monkeypatch, tmp_path)
    s = scenario
    plan = tmp_path / "plan.json"
    made = invoke("--board", s.team.id, "--since", incident_since(s), "--dry-run", "-q",
                  "--add-to-board", "--plan-out", str(plan))  # fmt: skip
    assert made.exit_code == 0, made.output
    r = invoke("--log-file", str(FULL), "apply", str(plan), "--dry-run", "--format", "json")
    assert r.exit_code == 0, r.output
    line = (
        f"cannot write the log file {FULL} (No space left on device); nothing more is logged "
        "there this run"
    )
    assert f"Warning: {line}" in r.stderr.splitlines()
    assert json.loads(r.stdout)["warnings"] == [line]
