"""The command line is thin (issue 10): the one-shot run is one core function with a typed
result, subcommands are imported only when they run, and ``--help`` imports no sandbox module."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from pathlib import Path

import click

from trello_restore import defaults
from trello_restore.applier import ApplyOptions, ApplyReport
from trello_restore.cli import main
from trello_restore.config import Settings
from trello_restore.config_file import ConfigFile
from trello_restore.errors import ExitCode
from trello_restore.lastrun import state_file
from trello_restore.oneshot import OneShotRequest, Outcome, run_once, run_summary
from trello_restore.plan_request import PlanRequest
from trello_restore.report_outcomes import Progress
from trello_restore.run import PlanResult
from trello_restore.sandbox.scenario import Scenario

from .conftest import Sandbox

WRITES = ("POST", "PUT", "DELETE")


# ------------------------------------------------------------------------------ import cost


def test_help_imports_no_sandbox_module() -> None:
    """``trello-restore --help`` (like every planning or apply run) leaves the sandbox alone:
    the demo and sandbox commands are imported when they run."""
    r = subprocess.run(
        [sys.executable, "-X", "importtime", "-m", "trello_restore", "--help"],
        capture_output=True, text=True, timeout=60, check=False,
    )  # fmt: skip
    assert r.returncode == 0, r.stderr
    assert "Commands:" in r.stdout
    imported = [line.split("|")[-1].strip() for line in r.stderr.splitlines() if "|" in line]
    assert "trello_restore.cli" in imported
    assert [m for m in imported if m.startswith("trello_restore.sandbox")] == []


def test_the_commands_list_is_the_one_click_would_print() -> None:
    """The group lists its subcommands without importing them, exactly as click lists loaded
    ones (the first paragraph of each command's help, cut to the terminal's width)."""
    ctx = click.Context(main, info_name="trello-restore")
    for name, (_, _, summary) in type(main).SUBCOMMANDS.items():
        command = main.get_command(ctx, name)
        assert command is not None
        assert command.name == name
        assert (command.help or "").split("\n\n")[0].split() == summary.split(), name
    lazy, eager = click.HelpFormatter(width=80), click.HelpFormatter(width=80)
    main.format_commands(ctx, lazy)
    click.Group.format_commands(main, ctx, eager)
    assert lazy.getvalue() == eager.getvalue()
    assert "demo     The whole cycle against a built-in sandbox Trello" in lazy.getvalue()


def test_sandbox_options_keep_their_bounds() -> None:
    """The sandbox's commands still check --cards against the scenario's bounds."""
    from click.testing import CliRunner

    r = CliRunner().invoke(main, ["sandbox", "export", "--cards", "5"])
    assert r.exit_code == 2
    assert "20<=x<=20000" in r.output


def test_a_sandbox_export_is_private_whatever_the_umask(tmp_path: Path) -> None:
    """``sandbox export -o`` makes its file 0600, as every file of board data (R88c: 0666 at
    umask 000); a file that is there keeps its mode (R44j: written in place)."""
    from click.testing import CliRunner

    made, kept = tmp_path / "new.json", tmp_path / "kept.json"
    kept.write_text("")
    kept.chmod(0o640)
    old = os.umask(0)
    try:
        for target in (made, kept):
            args = ["sandbox", "export", "--cards", "20", "-o", str(target)]
            assert CliRunner().invoke(main, args).exit_code == 0
    finally:
        os.umask(old)
    assert (made.stat().st_mode & 0o777, kept.stat().st_mode & 0o777) == (0o600, 0o640)
    assert json.loads(made.read_text()) == json.loads(kept.read_text())


def test_a_sandbox_export_it_cannot_write_is_a_usage_error(tmp_path: Path) -> None:
    """``sandbox export -o`` to a directory that does not exist: one line, exit 2 as for every
    path the user gives (it was click's exit 1, a bug by the README's table: R37d)."""
    from click.testing import CliRunner

    target = tmp_path / "no" / "such" / "t.json"
    r = CliRunner().invoke(main, ["sandbox", "export", "--cards", "20", "-o", str(target)])
    assert r.exit_code == 2, r.output
    assert r.stderr == (
        f"Error: cannot write {target}: No such file or directory. Try 'main sandbox export "
        "--help' for help.\n"
    )


# --------------------------------------------------------------------------- run_once


@dataclass
class _Ui:
    """A ``OneShotUi`` that records what it was told and answers the confirmation."""

    answer: bool = True
    events: list[tuple[str, object]] = field(default_factory=list)

    def planned(self, result: PlanResult) -> None:
        self.events.append(("planned", len(result.plan.changes)))

    def confirm(self, changes: int) -> bool:
        self.events.append(("confirm", changes))
        return self.answer

    def applying(self, total: int, journal: Path) -> Progress:
        self.events.append(("applying", journal))
        return Progress(total, enabled=False)

    def finished(self, outcome: Outcome, report: ApplyReport | None, journal: Path | None) -> None:
        self.events.append(("finished", outcome))


def _request(s: Scenario, sb: Sandbox, home: Path, *, dry_run: bool = False) -> OneShotRequest:
    """Option set b as resolved settings, every directory under ``home`` (given explicitly,
    not through the process's environment)."""
    flags = {
        "boards": (s.team.id,),
        "since": s.incident_at.isoformat(),
        "removed_by": s.mover.username,
        "add_to_board": True,
        "requests_per_window": 1000,
    }
    env = {**sb.env, "TRELLO_RESTORE_HOME": str(home)}
    settings = Settings.resolve(flags, env, ConfigFile(None))
    now = datetime.now(UTC)
    return OneShotRequest(
        plan=PlanRequest.from_settings(settings, now=now, apply=not dry_run),
        options=ApplyOptions.from_settings(settings),
        state_dir=settings.state_dir,
        journal_dir=settings.journal_dir,
        journal=settings.journal,
        created_at=now,
        dry_run=dry_run,
        detailed_exitcode=True,
    )


def _writes(sb: Sandbox) -> int:
    return sum(r.method in WRITES for r in sb.server.request_log)


def test_run_once_applies_and_returns_what_it_did(
    scenario: Scenario, sb: Sandbox, tmp_path: Path
) -> None:
    """run_once: plan, confirm, apply, record the last run; the result holds the plan, the
    report, the outcome, the exit code, the journal and the last-run file, all under the
    directories it was given (nothing goes where the process's TRELLO_RESTORE_HOME points).
    Run again, it finds nothing to do and asks nothing."""
    home = tmp_path / "explicit"
    req = _request(scenario, sb, home)
    ui = _Ui()
    once = run_once(req, ui)
    n = len(once.plan.plan.changes)
    assert n > 0
    assert (once.outcome, once.exit_code) == ("applied", ExitCode.OK)
    assert once.report is not None
    assert once.report.counts["applied"] == n
    assert once.journal is not None
    assert once.journal.parent == home / "state" / "journals"
    assert once.journal.is_file()
    assert once.plan.scope is not None
    assert once.last_run_file == state_file(home / "state", once.plan.scope)
    assert once.last_run_file.is_file()
    assert ui.events == [
        ("planned", n), ("confirm", n), ("applying", once.journal), ("finished", "applied")
    ]  # fmt: skip
    summary = run_summary(once, since_source="--since")
    assert (summary["outcome"], summary["exit_code"], summary["journal"]) == (
        "applied", 0, str(once.journal)
    )  # fmt: skip
    assert summary["apply"]["applied"] == summary["plan"]["changes"] == n
    assert summary["last_run"] == {
        "recorded": True,
        "state_file": str(once.last_run_file),
        "not_recorded": None,
        "accepted_unreadable_boards": [],
    }

    writes, again = _writes(sb), _Ui()
    second = run_once(replace(req, created_at=datetime.now(UTC)), again)
    assert (second.outcome, second.exit_code) == ("nothing_to_do", ExitCode.OK)
    assert (second.report, second.journal) == (None, None)
    assert second.last_run_file == once.last_run_file
    assert again.events == [("planned", 0), ("finished", "nothing_to_do")]
    assert _writes(sb) == writes
    assert sorted(p.name for p in (home / "state").iterdir()) == ["journals", "last-run", "locks"]
    assert not Path(os.environ["TRELLO_RESTORE_HOME"]).exists()  # conftest's own home


def test_only_the_command_line_reads_the_environment() -> None:
    """The core gets its settings and directories passed in: outside the sandbox, only cli.py
    touches the process's environment (config.py resolves from the mapping it is given)."""
    package = Path(__file__).resolve().parents[1] / "trello_restore"
    readers = sorted(
        str(path.relative_to(package))
        for path in package.rglob("*.py")
        if "sandbox" not in path.parts
        and any(word in path.read_text(encoding="utf-8") for word in ("os.environ", "getenv"))
    )
    assert readers == ["cli.py"]


def test_run_once_declined_and_dry_run_write_nothing(
    scenario: Scenario, sb: Sandbox, tmp_path: Path
) -> None:
    """A declined confirmation and a dry run write nothing to Trello and record no last run;
    a dry run takes no lock and its exit code says changes are pending."""
    home = tmp_path / "explicit"
    declined = run_once(_request(scenario, sb, home), _Ui(answer=False))
    assert (declined.outcome, declined.exit_code) == ("declined", ExitCode.OK)
    assert (declined.report, declined.journal, declined.last_run_file) == (None, None, None)
    dry = run_once(_request(scenario, sb, tmp_path / "dry", dry_run=True), _Ui())
    assert (dry.outcome, dry.exit_code) == ("dry_run", ExitCode.CHANGES_PENDING)
    assert not (tmp_path / "dry" / "state").exists()  # no lock, no journal, no last run
    assert _writes(sb) == 0
    assert not (home / "state" / "last-run").exists()


def test_options_from_settings_take_their_defaults_from_one_place() -> None:
    """Settings that set nothing give the engine's and the planner's defaults, which are the
    values of ``defaults.py``; a command's own flags beat the settings."""
    settings = Settings.resolve({"boards": ("b",), "since": "7d"}, {}, ConfigFile(None))
    options = ApplyOptions.from_settings(settings)
    assert options == ApplyOptions()
    assert (options.workers, options.token_limit, options.key_limit, options.window_s) == (
        defaults.WORKERS, defaults.TOKEN_RATE_LIMIT, defaults.KEY_RATE_LIMIT,
        defaults.RATE_WINDOW_S,
    )  # fmt: skip
    assert options.max_retries == defaults.MAX_RETRIES == settings.max_retries
    own = ApplyOptions.from_settings(settings, workers=3, rate_limit=500, dry_run=True)
    assert (own.workers, own.token_limit, own.key_limit, own.dry_run) == (3, 500, 500, True)
    plan = PlanRequest.from_settings(settings, now=datetime.now(UTC))
    assert (plan.rate_limit, plan.key_rate_limit, plan.window_s, plan.read_retries) == (
        defaults.TOKEN_RATE_LIMIT, defaults.KEY_RATE_LIMIT, defaults.RATE_WINDOW_S,
        defaults.MAX_RETRIES,
    )  # fmt: skip
    assert plan.api_url == defaults.API_URL == settings.api_url
    assert plan.cache_dir == settings.cache_dir
    assert PlanRequest.from_settings(settings, now=datetime.now(UTC), cache=False).cache_dir is None
