"""The README's set-up commands are the ones CI runs; its cron and systemd examples agree."""

from __future__ import annotations

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def _setup_commands() -> list[str]:
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    section = readme.split("## Set-up on a fresh machine", 1)[1].split("\n## ", 1)[0]
    return [block.strip() for block in re.findall(r"```sh\n(.*?)```", section, re.S)]


def test_readme_has_two_setup_commands() -> None:
    """One command installs and runs the main job, one installs test deps and runs the tests."""
    commands = _setup_commands()
    assert len(commands) == 2
    assert all("\n" not in c for c in commands)
    assert "trello-restore" in commands[0]
    assert "pytest" in commands[1]


def test_ci_runs_the_readme_test_command_verbatim() -> None:
    """.ci/run contains the README's test command as one line, unchanged."""
    ci_lines = (ROOT / ".ci" / "run").read_text(encoding="utf-8").splitlines()
    assert _setup_commands()[1] in ci_lines


def test_cron_and_systemd_run_the_same_command() -> None:
    """The crontab line and the systemd service run trello-restore with the same options (the
    crontab line's are the ones tests/test_cron.py runs with the README's config file), and
    the config file they read guards with cause = "move", not removed_by."""
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    section = readme.split("### Running unattended", 1)[1].split("\n## ", 1)[0]
    crontab = re.search(r"/bin/trello-restore (.*?) >>", section)
    service = re.search(r"^ExecStart=\S+/bin/trello-restore (.*)$", section, re.M)
    assert crontab is not None
    assert service is not None
    assert crontab.group(1) == service.group(1)
    assert service.group(1).startswith("--since last-run --yes")
    config = re.findall(r"```toml\n(.*?)```", section, re.S)
    assert len(config) == 1
    assert re.search(r'^cause = "move"$', config[0], re.M)
    assert not re.search(r"^removed_by\b", config[0], re.M)
