"""Review 20, follow-ups in messages, over the command line against the sandbox.

``last-run`` set in the environment or the config file is named there in every error of the
last-run state (none recorded yet, damaged, in the future), not as ``--since``, an option the
user never gave.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from trello_restore.errors import ExitCode
from trello_restore.sandbox.scenario import Scenario

from .conftest import Sandbox, one_line_error
from .conftest import sandbox_cli as cli_for


def test_last_run_errors_name_where_last_run_was_set(
    sb: Sandbox, scenario: Scenario, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    invoke = cli_for(sb, monkeypatch)
    monkeypatch.setenv("TRELLO_RESTORE_HOME", str(tmp_path / "home"))
    args = ("--board", scenario.team.id, "--dry-run")
    first = one_line_error(
        invoke(*args, TRELLO_RESTORE_SINCE="last-run"),
        ExitCode.USAGE,
        "TRELLO_RESTORE_SINCE = last-run: no successful run on these boards is recorded yet",
        "e.g. --since 7d",
    )
    assert "--since last-run" not in first
    config = tmp_path / "c.toml"
    config.write_text('[restore]\nsince = "last-run"\n', encoding="utf-8")
    line = one_line_error(
        invoke("--config", str(config), *args, TRELLO_RESTORE_SINCE=None),
        ExitCode.USAGE,
        f"restore.since in {config} = last-run: no successful run",
    )
    assert "--since last-run" not in line
    # Given on the command line, it is the option's, as before.
    one_line_error(
        invoke(*args, "--since", "last-run", TRELLO_RESTORE_SINCE=None),
        ExitCode.USAGE,
        "--since last-run: no successful run",
    )
    # A damaged state file, and one dated in the future, say the same.
    ran = invoke("--board", scenario.team.id, "--since", "2025-01-01", "--add-to-board",
                 "--yes", "-q", TRELLO_RESTORE_SINCE=None)  # fmt: skip
    assert ran.exit_code == ExitCode.OK, ran.output
    (recorded,) = (tmp_path / "home" / "state" / "last-run").iterdir()
    good = recorded.read_text(encoding="utf-8")
    recorded.write_text(good.replace('"last_run": "', '"last_run": "3', 1), encoding="utf-8")
    one_line_error(
        invoke(*args, TRELLO_RESTORE_SINCE="last-run"),
        ExitCode.USAGE,
        "TRELLO_RESTORE_SINCE = last-run: the state file",
        "is damaged",
    )
    future = good.replace('"last_run": "20', '"last_run": "29', 1)
    assert future != good
    recorded.write_text(future, encoding="utf-8")
    one_line_error(
        invoke(*args, TRELLO_RESTORE_SINCE="last-run"),
        ExitCode.USAGE,
        "TRELLO_RESTORE_SINCE = last-run: the last run recorded in",
        "is later than now",
    )
