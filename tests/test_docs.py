"""The README's set-up commands are the ones CI runs; its cron and systemd examples agree."""

from __future__ import annotations

import re
import shlex
from pathlib import Path

import pytest

from trello_restore.sandbox.scenario import generate

from .conftest import SandboxFactory, sandbox_cli

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


def _sandbox_example(heading: str) -> tuple[list[str], list[str]]:
    """The command line (its ``sh`` block) and the output a README section says it prints on
    the sandbox: the last ``sh`` block before "this prints:" and the block after it."""
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    section = readme.split(heading, 1)[1]
    before, after = section.split("this prints:\n", 1)
    command = re.findall(r"```sh\n(.*?)```", before, re.S)[-1].replace("\\\n", " ")
    args = shlex.split(command)
    assert args[0] == "trello-restore"
    output = re.match(r"\s*```\n(.*?)```", after, re.S)
    assert output is not None
    return args[1:], output.group(1).splitlines()


@pytest.mark.parametrize(
    ("heading", "second_damage"),
    [("## Usage", False), ("### Other damage: archived cards", True)],
    ids=["members", "other-damage"],
)
def test_the_readmes_sandbox_outputs_are_what_the_tool_prints(
    heading: str,
    second_damage: bool,
    sandbox_factory: SandboxFactory,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Each line the README shows of a plan on the sandbox (``sandbox serve --seed 1``, with
    ``--second-damage`` for the other kinds; "…" stands for lines left out) is a line the
    tool prints: a name holding double quotes shows escaped (R22: the automation's
    ``"Auto-triaged by rule \\"stale cards\\": …"``)."""
    args, shown = _sandbox_example(heading)
    sb = sandbox_factory(generate(1, 200, second_damage=second_damage))
    r = sandbox_cli(sb, monkeypatch)(*[a for a in args if a != "--plan-out" and a != "plan.json"])
    assert r.exit_code == 0, r.output
    printed = set(r.stdout.splitlines())
    missing = [x for x in shown if x.strip() != "…" and x not in printed]
    assert missing == []


def test_the_readmes_board_url_is_the_sandboxs_team_board() -> None:
    """The README's ``--board URL`` example works on the sandbox it says it is (R22: a made-up
    URL failed there with "no board … visible")."""
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    links = set(re.findall(r"--board https://trello\.com/b/(\w+)/", readme))
    assert links == {generate(1, 200).team.short_link}
    assert "this one is the sandbox's\nTeam Board (`sandbox serve --seed 1`)" in readme
