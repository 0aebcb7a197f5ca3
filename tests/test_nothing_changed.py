"""An error that ends a run which could have written says, when no write was sent, that
nothing was changed: at 2 a.m., "cannot reach the Trello API … try again later" alone leaves
the user guessing whether half the board was restored (R29a). Over HTTP to the sandbox, with
the command line in-process; the rule itself (``cli.exit_with``) through the real client."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from tests.applykit import api_for
from tests.conftest import SandboxFactory, cli_invoker, one_line_error
from trello_restore import cli
from trello_restore.errors import ApiUnreachable, ExitCode
from trello_restore.sandbox.scenario import generate

NOTHING = "; nothing was changed"


@pytest.fixture(name="ready")
def ready_fixture(
    sandbox_factory: SandboxFactory, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> Any:
    """A sandbox, a reviewed plan of it, a journal of that plan applied, and the command line
    pointed at the sandbox with retries off (Trello down is exit 4 at once)."""
    s = generate(5, 40)
    sb = sandbox_factory(s, token_limit=10_000, key_limit=10_000)
    invoke = cli_invoker(monkeypatch)
    for name, value in sb.env.items():
        monkeypatch.setenv(name, value)
    monkeypatch.setenv("TRELLO_RESTORE_MAX_RETRIES", "0")
    plan = tmp_path / "plan.json"
    made = invoke("--board", s.team.id, "--since", "2020-01-01", "--add-to-board", "--dry-run",
                  "--plan-out", str(plan))  # fmt: skip
    assert made.exit_code == 0, made.output
    return s, sb, invoke, plan


def test_apply_undo_and_the_one_step_run_say_nothing_was_changed_when_trello_is_down(
    ready: Any, tmp_path: Path
) -> None:
    s, sb, invoke, plan = ready
    journal = tmp_path / "j.jsonl"
    applied = invoke("apply", str(plan), "--yes", "--journal", str(journal))
    assert applied.exit_code == 0, applied.output
    sb.server.set_options(error_rate=1.0)
    writes_before = sum(r.method != "GET" for r in sb.server.request_log)

    for args in (
        ["apply", str(plan), "--yes", "--journal", str(tmp_path / "again.jsonl")],
        ["undo", str(journal), "--yes"],
        ["--board", s.team.id, "--since", "2020-01-01", "--yes"],
    ):
        line = one_line_error(invoke(*args), ExitCode.UNREACHABLE, "answered HTTP 5")
        assert line.endswith(NOTHING), (args, line)
    assert sum(r.method != "GET" for r in sb.server.request_log) == writes_before

    # A dry run changes nothing by definition: its line is as it was.
    dry = invoke("--board", s.team.id, "--since", "2020-01-01", "--dry-run")
    assert NOTHING not in one_line_error(dry, ExitCode.UNREACHABLE, "answered HTTP 5")


def _run(body: Any, *, writes: bool, capsys: pytest.CaptureFixture[str]) -> tuple[int, str]:
    with pytest.raises(SystemExit) as ended:
        cli.exit_with(body, writes=writes)
    return int(ended.value.code or 0), capsys.readouterr().err.strip()


def test_the_line_says_so_only_when_no_write_left_this_process_during_the_command(
    ready: Any, capsys: pytest.CaptureFixture[str]
) -> None:
    """The rule through the real client stack: a write sent by the command (a card member
    added over HTTP) before Trello failed, and the line does not claim nothing changed; none
    sent, and it does; a command that cannot write (a dry run) never says it; a write sent by
    an earlier command of the same process does not count against a later one (the first
    case's write is before the second's start)."""
    s, sb, _, _ = ready
    card_id = next(iter(s.world.cards))

    def wrote_then_failed() -> ExitCode:
        with api_for(sb) as api:
            api.set_card_closed(card_id, False)  # a write over HTTP (the card stays open)
        raise ApiUnreachable("Trello answered HTTP 503; try again later")

    def failed() -> ExitCode:
        raise ApiUnreachable("Trello answered HTTP 503; try again later")

    code, line = _run(wrote_then_failed, writes=True, capsys=capsys)
    assert (code, line) == (4, "Error: Trello answered HTTP 503; try again later")
    code, line = _run(failed, writes=True, capsys=capsys)
    assert (code, line) == (4, "Error: Trello answered HTTP 503; try again later" + NOTHING)
    code, line = _run(failed, writes=False, capsys=capsys)
    assert line == "Error: Trello answered HTTP 503; try again later"

    def says_so_already() -> ExitCode:
        raise ApiUnreachable("Trello refused …; nothing more was sent, and what was done is …")

    assert NOTHING not in _run(says_so_already, writes=True, capsys=capsys)[1]


def test_a_stop_while_planning_logs_the_line_stderr_got(
    ready: Any, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Ctrl-C while the one-step run plans: stderr says nothing was written to Trello, and so
    does the log file (it said only "exit 130: interrupted", R30a)."""
    s, _, invoke, _ = ready
    log = tmp_path / "run.log"

    def interrupted(*args: object, **kwargs: object) -> None:
        raise KeyboardInterrupt

    monkeypatch.setattr("trello_restore.run.fetch", interrupted)
    r = invoke("--log-file", str(log), "--board", s.team.id, "--since", "2020-01-01", "--yes")
    assert r.exit_code == 130, r.output
    assert "Interrupted: nothing was written to Trello." in r.stderr
    assert "exit 130: nothing was written to Trello" in log.read_text()


def test_a_resumed_apply_that_changed_nothing_says_what_earlier_runs_did(
    ready: Any, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """An apply of a plan whose journal holds earlier runs' changes, stopped before it sent a
    write: by Trello failing, the line says this run changed nothing and still gives the
    command that resumes (R30b: the resume hint was gone, and "nothing was changed" read as if
    the plan were untouched); by Ctrl-C, it says so instead of "after 0 of N outcomes"."""
    _, sb, invoke, plan = ready
    journal = tmp_path / "j.jsonl"
    assert invoke("apply", str(plan), "--journal", str(journal)).exit_code == 0
    assert invoke("undo", str(journal), "--yes").exit_code == 0
    again = f"trello-restore apply {plan} --journal {journal}"

    sb.server.set_options(error_rate=1.0)
    line = one_line_error(
        invoke("apply", str(plan), "--journal", str(journal)), ExitCode.UNREACHABLE,
        f"; nothing was changed by this run, and the journal {journal} holds what other "
        f"runs did: run {again} again to resume",
    )  # fmt: skip
    assert line.endswith("changes already made are skipped"), line
    sb.server.set_options(error_rate=0.0)

    def interrupted(*args: object, **kwargs: object) -> None:
        raise KeyboardInterrupt

    monkeypatch.setattr("trello_restore.applier.read_live", interrupted)
    r = invoke("apply", str(plan), "--journal", str(journal))
    assert r.exit_code == 130, r.output
    assert (
        f"Interrupted before this run sent any change: nothing was changed by it; the journal "
        f"{journal} holds what earlier runs did. Run {again} again to resume"
    ) in r.stderr, r.stderr
