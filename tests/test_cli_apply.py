"""Applying from the command line: the one-shot form, ``apply PLAN``, ``undo JOURNAL``, prompts,
refusals before any write, resume, lock, progress and Ctrl-C, against the sandbox over loopback."""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner, Result

from trello_restore import cli
from trello_restore.applier import ApplyReport, ChangeOutcome, apply_lock, lock_names
from trello_restore.cli import main
from trello_restore.demo import Snapshot, compare, expected_after, snapshot
from trello_restore.errors import ExitCode
from trello_restore.journal import Journal, JournalHeader, JournalRecord
from trello_restore.locks import hold, lock_dir
from trello_restore.models import Change, MemberRef, Plan, PlanOptions
from trello_restore.planfile import digest_of, plan_digest, read_plan
from trello_restore.report_outcomes import apply_summary, change_labels, outcome_line, progress_line
from trello_restore.sandbox.scenario import Scenario, generate

from .applykit import SIGNALS
from .conftest import Sandbox, SandboxFactory, one_line_error, sandbox_cli
from .truthcheck import incident_since

Invoke = Callable[..., Result]
WRITES = ("POST", "PUT", "DELETE")


@pytest.fixture(name="invoke")
def invoke_fixture(sb: Sandbox, monkeypatch: pytest.MonkeyPatch) -> Invoke:
    """Run the CLI in-process with the sandbox's URL and credentials in the environment;
    ``input`` feeds stdin, other keywords set environment variables."""
    return sandbox_cli(sb, monkeypatch)


@pytest.fixture(name="terminal")
def terminal_fixture(monkeypatch: pytest.MonkeyPatch) -> None:
    """Pretend stdin is a terminal, so the CLI asks for confirmation."""
    monkeypatch.setattr(cli, "_stdin_is_terminal", lambda: True)


def _restore_args(s: Scenario) -> list[str]:
    """Option set b: --since T --removed-by MOVER --add-to-board."""
    since = incident_since(s)
    return ["--board", s.team.id, "--since", since, "--removed-by", s.mover.username,
            "--add-to-board", "--rate-limit", "1000"]  # fmt: skip


def _writes(sb: Sandbox) -> list[str]:
    return [f"{r.method} {r.path}" for r in sb.server.request_log if r.method in WRITES]


def _expected(s: Scenario) -> Snapshot:
    """What a correct apply of set b leaves (computed before applying: the truth is relative
    to the current state)."""
    return expected_after(s, snapshot(s.world), "b")


def _assert_state(s: Scenario, want: Snapshot) -> None:
    """The boards' memberships are exactly ``want``."""
    assert compare(s.world, snapshot(s.world), want) == ""


@pytest.fixture(name="plan_file")
def plan_file_fixture(invoke: Invoke, scenario: Scenario, tmp_path: Path, sb: Sandbox) -> Path:
    """A reviewed plan of set b, written with --dry-run --plan-out (the request log is reset)."""
    path = tmp_path / "plan.json"
    r = invoke(*_restore_args(scenario), "--dry-run", "--plan-out", str(path))
    assert r.exit_code == 0, r.output
    sb.server.request_log.clear()
    return path


def _edit(path: Path, change: Callable[[dict[str, Any]], None]) -> Path:
    doc = json.loads(path.read_text())
    change(doc)
    path.write_text(json.dumps(doc, indent=2))
    return path


def _journal_from(result: Result) -> Path:
    line = next(x for x in result.stderr.splitlines() if x.startswith("Journal: "))
    return Path(line.removeprefix("Journal: "))


# ---------------------------------------------------------------------------- one-shot


class TestOneShot:
    """trello-restore --board X --since D without --dry-run: plan, confirm, apply."""

    def test_no_terminal_and_no_yes_refuses(
        self, invoke: Invoke, scenario: Scenario, sb: Sandbox
    ) -> None:
        """Without a terminal to ask on and without --yes: usage error, not a single request."""
        r = invoke(*_restore_args(scenario))
        one_line_error(r, ExitCode.USAGE, "--yes", "nothing was changed")
        assert sb.server.request_log == []

    def test_yes_applies_the_plan(self, invoke: Invoke, scenario: Scenario, sb: Sandbox) -> None:
        """--yes plans, prints the plan, applies it: the boards equal the ground truth."""
        want, truth = _expected(scenario), scenario.truth("b")
        r = invoke(*_restore_args(scenario), "--yes")
        assert r.exit_code == 0, r.output
        assert "Will re-add card members" in r.stdout
        assert f"Summary: {len(truth.changes) + len(truth.grants)} applied, " in r.stdout
        assert _journal_from(r).is_file()
        _assert_state(scenario, want)

    def test_prompt_answered_no_writes_nothing(
        self, invoke: Invoke, scenario: Scenario, sb: Sandbox, terminal: None
    ) -> None:
        """On a terminal the plan is shown and the question asked; "n" changes nothing."""
        r = invoke(*_restore_args(scenario), input="n\n")
        assert r.exit_code == 0, r.output
        truth = scenario.truth("b")
        n = len(truth.changes) + len(truth.grants)
        assert f"Apply {n} changes to Trello? [y/N]" in r.stderr
        assert r.stdout.endswith("Nothing was changed.\n")
        assert _writes(sb) == []

    @pytest.mark.parametrize("fmt", ["text", "json"])
    def test_ctrl_c_at_the_prompt_exits_130(
        self,
        invoke: Invoke,
        scenario: Scenario,
        sb: Sandbox,
        terminal: None,
        monkeypatch: pytest.MonkeyPatch,
        fmt: str,
    ) -> None:
        """Ctrl-C at the question ends the run as Ctrl-C does anywhere: exit 130 (it was 0,
        as if answered no), "Nothing was changed." on stderr, no JSON, nothing written; the
        end of input still answers no (exit 0)."""

        def ctrl_c(*args: object, **kwargs: object) -> str:
            raise KeyboardInterrupt

        with monkeypatch.context() as m:  # what click reads the answer with
            m.setattr("click.termui._readline_prompt", ctrl_c)
            r = invoke(*_restore_args(scenario), "--format", fmt)
        assert r.exit_code == 130, r.output
        assert "Traceback" not in r.output
        assert r.stderr.endswith("\nNothing was changed.\n"), r.stderr
        assert "Nothing was changed." not in r.stdout
        if fmt == "json":
            assert r.stdout == ""
        assert _writes(sb) == []
        ended = invoke(*_restore_args(scenario), input="")
        assert ended.exit_code == 0, ended.output
        assert ended.stdout.endswith("Nothing was changed.\n")

    def test_quiet_prompt_shows_the_summary_it_asks_about(
        self, invoke: Invoke, scenario: Scenario, sb: Sandbox, terminal: None
    ) -> None:
        """With -q no plan is printed: the one-line summary comes before the question."""
        r = invoke(*_restore_args(scenario), "-q", input="n\n")
        assert r.exit_code == 0, r.output
        truth = scenario.truth("b")
        n = len(truth.changes) + len(truth.grants)
        summary, question = r.stderr.splitlines()[-2:]
        assert summary.startswith(f"Summary: {n} changes ("), r.stderr
        assert question == f"Apply {n} changes to Trello? [y/N]: n"
        assert _writes(sb) == []

    def test_an_answer_neither_yes_nor_no_is_asked_again_in_words(
        self, invoke: Invoke, scenario: Scenario, sb: Sandbox, terminal: None
    ) -> None:
        """R59e: "maybe" at the question said only click's ``Error: invalid input`` (an
        "Error" while the run goes on, with no word of what to type). It says what to answer
        and asks again; "no" then changes nothing."""
        r = invoke(*_restore_args(scenario), "-q", input="maybe\nyes please\nno\n")
        assert r.exit_code == 0, r.output
        asked = [x for x in r.stderr.splitlines() if "to Trello? [y/N]:" in x or "answer" in x]
        assert [x.split("? [y/N]: ")[-1] for x in asked[0::2]] == ["maybe", "yes please", "no"]
        assert asked[1::2] == ["Please answer y or n (n changes nothing)."] * 2
        assert "Error" not in r.stderr
        assert r.output.endswith("Nothing was changed.\n"), r.output
        assert _writes(sb) == []

    def test_another_plans_journal_is_refused_before_the_question(
        self, invoke: Invoke, scenario: Scenario, sb: Sandbox, terminal: None, tmp_path: Path
    ) -> None:
        """R61a: a one-step run whose --journal holds another plan's records asked "Apply N
        changes? [y/N]" and, answered yes, was refused (exit 2): the refusal now comes before
        the question (and a directory given as --journal too), with nothing written."""
        path = tmp_path / "night.jsonl"
        header = JournalHeader("ab" * 32, sb.base_url, scenario.mover.id, "2025-11-05T00:00:00Z")
        with Journal.open(path, header) as journal:
            journal.append(JournalRecord("c1", "apply", "add_member_to_card", "applied", "b", "m"))
        for given, said in ((path, "holds the journal of an earlier run"), (tmp_path, "directory")):
            r = invoke(*_restore_args(scenario), "--journal", str(given), input="y\n")
            one_line_error(r, ExitCode.USAGE, str(given), said)
            assert "[y/N]" not in r.stderr
            assert _writes(sb) == []

    def test_prompt_answered_yes_applies(
        self, invoke: Invoke, scenario: Scenario, terminal: None
    ) -> None:
        """Answering "y" applies the plan."""
        want = _expected(scenario)
        r = invoke(*_restore_args(scenario), input="y\n")
        assert r.exit_code == 0, r.output
        _assert_state(scenario, want)

    def test_offline_plans_cannot_be_applied(self, invoke: Invoke, tmp_path: Path) -> None:
        """--from-export without --dry-run is refused before anything is read."""
        r = invoke("--from-export", str(tmp_path / "x.json"), "--since", "7d", "--yes")
        one_line_error(r, ExitCode.USAGE, "offline", "--dry-run")


# ------------------------------------------------------------------------------ apply PLAN


def test_apply_applies_exactly_the_file(
    invoke: Invoke, scenario: Scenario, sb: Sandbox, plan_file: Path
) -> None:
    """apply PLAN makes one write per change of the file (grants first) and nothing else."""
    want = _expected(scenario)
    doc = json.loads(plan_file.read_text())
    r = invoke("apply", str(plan_file))
    assert r.exit_code == 0, r.output
    _assert_state(scenario, want)
    writes = _writes(sb)
    grants = [w for w in writes if w.startswith("PUT /1/boards/")]
    assert len(grants) == doc["summary"]["board_changes"]
    adds = [w for w in writes if w.startswith("POST /1/cards/")]
    assert len(adds) == doc["summary"]["card_changes"]
    assert writes[: len(grants)] == grants
    assert not any(r.path.startswith("/1/members/") and r.path != "/1/members/me"
                   for r in sb.server.request_log)  # fmt: skip
    assert not any(r.credentials_in_url for r in sb.server.request_log)


def test_a_change_deleted_by_a_reviewer_is_applied_as_told(
    invoke: Invoke, sb: Sandbox, plan_file: Path
) -> None:
    """A reviewer deletes a card add from the plan: one line names every summary count that
    is now off, with what the plan has, and says to set them (R36c: one count per run, and
    "make it again with --plan-out", which would bring the change back); set as it says, the
    plan applies without the deleted change, and nothing was sent before."""
    doc = json.loads(plan_file.read_text())
    i, dropped = next(
        (i, c) for i, c in enumerate(doc["changes"]) if c["action"] == "add_member_to_card"
    )
    del doc["changes"][i]
    plan_file.write_text(json.dumps(doc, indent=2))
    n, cards = doc["summary"]["changes"], doc["summary"]["card_changes"]
    r = invoke("apply", str(plan_file))
    one_line_error(
        r,
        ExitCode.USAGE,
        f"summary.changes is {n} but the plan has {n - 1}, summary.card_changes is {cards} "
        f"but the plan has {cards - 1}; if you deleted entries by hand, set those counts to "
        "what the plan has, else make it again with --plan-out",
    )
    assert sb.server.request_log == []
    doc["summary"] |= {"changes": n - 1, "card_changes": cards - 1}
    plan_file.write_text(json.dumps(doc, indent=2))
    r = invoke("apply", str(plan_file))
    assert r.exit_code == 0, r.output
    posted = [w for w in _writes(sb) if w.startswith("POST /1/cards/")]
    assert len(posted) == cards - 1
    assert f"POST /1/cards/{dropped['card']['id']}/idMembers" not in posted


def test_a_grant_deleted_by_a_reviewer_is_said_and_the_advice_works(
    invoke: Invoke, sb: Sandbox, plan_file: Path
) -> None:
    """A reviewer deletes a board grant whose card adds the plan still holds: one line names
    the member and says to delete those adds too (R36e: only "make it again", which undoes
    the review); done so, the counts set as the next line gives them (JSON: R36e, a count by
    reason was Python's repr), the plan applies without that member's changes there."""
    doc = json.loads(plan_file.read_text())
    i, grant = next(
        (i, c) for i, c in enumerate(doc["changes"]) if c["action"] == "add_member_to_board"
    )
    del doc["changes"][i]
    plan_file.write_text(json.dumps(doc, indent=2))
    r = invoke("apply", str(plan_file))
    who = grant["member"].get("username") or grant["member"]["id"]
    one_line_error(
        r,
        ExitCode.USAGE,
        f"adds @{who} to a card before granting board membership (a grant deleted by hand? "
        "delete that member's card adds on board "
        f'"{grant["board"]["name"]}" ({grant["board"]["id"]}) too, or put the grant back before '
        "them)",
    )
    board, member = grant["board"]["id"], grant["member"]["id"]
    doc["changes"] = [
        c for c in doc["changes"] if not (c["board"]["id"] == board and c["member"]["id"] == member)
    ]
    plan_file.write_text(json.dumps(doc, indent=2))
    r = invoke("apply", str(plan_file))
    said = r.stderr.strip().splitlines()[-1]
    counts = dict(re.findall(r"summary\.(\w+) is \S+ but the plan has (\d+)", said))
    assert set(counts) >= {"changes", "card_changes", "board_changes"}, said
    doc["summary"] |= {k: int(v) for k, v in counts.items()}
    plan_file.write_text(json.dumps(doc, indent=2))
    assert sb.server.request_log == []
    r = invoke("apply", str(plan_file))
    assert r.exit_code == 0, r.output
    assert not [w for w in _writes(sb) if f"/{board}/members/{member}" in w], _writes(sb)


def _locks() -> Path:
    """This test's lock directory (conftest's ``TRELLO_RESTORE_HOME``)."""
    return lock_dir(Path(os.environ["TRELLO_RESTORE_HOME"]) / "state")


def _said_at_work(r: Result) -> list[str]:
    """The lines of a dry run that succeeded which say a run is (or was) at work on a board."""
    assert r.exit_code == 0, r.output
    return [x for x in r.stderr.splitlines() if "at work on" in x]


@pytest.mark.parametrize("held", ["board", "run-board", "plan"])
def test_a_dry_run_beside_a_run_at_work_on_its_boards_says_so(
    invoke: Invoke,
    plan_file: Path,
    held: str,
) -> None:
    """``apply PLAN --dry-run`` while another run applies or undoes the plan or one of its
    boards (``board-``, ``plan-``), or a one-step run (``run-board-``) is at work on one: its
    writes land while the dry run reads, and show as drifted ("added by you after the plan
    was made") or already satisfied, exit 5 (R36b). One warning says so, naming the board and
    saying to run it again when that run ends; nothing holding them, none."""
    plan, meta = read_plan(plan_file)
    board_id, board_name = plan.changes[-1].board_id, plan.changes[-1].board_name
    name = {
        "board": f"board-{board_id}",
        "run-board": f"run-board-{board_id}",
        "plan": lock_names(digest_of(plan, meta), ())[0],
    }[held]
    with hold(_locks(), [name]):
        r = invoke("apply", str(plan_file), "--dry-run")
    said = _said_at_work(r)
    assert len(said) == 1, r.stderr
    where = "this plan" if held == "plan" else f'board "{board_name}" ({board_id})'
    assert said[0] == (
        f"Warning: another trello-restore run is at work on {where} now (pid {os.getpid()}): "
        "this dry run reads the boards while it writes, so a change that run makes shows here "
        "as drifted or already satisfied; run the dry run again once that run ends"
    )
    quiet = invoke("apply", str(plan_file), "--dry-run")
    assert "at work on" not in quiet.stderr


@pytest.mark.parametrize("held", ["board", "run-board"])
def test_a_one_step_dry_run_beside_a_run_at_work_on_its_boards_says_so(
    invoke: Invoke, scenario: Scenario, held: str
) -> None:
    """R42c: a one-step ``--dry-run`` (a monitoring job's ``--detailed-exitcode``: exit 7) while
    an apply, an undo or a one-step run wrote to its boards said nothing of it: its plan lists
    changes that run is making. One warning, as ``apply PLAN --dry-run`` gives."""
    board = scenario.team
    with hold(_locks(), [f"{held}-{board.id}"]):
        r = invoke(*_restore_args(scenario), "--dry-run")
    said = _said_at_work(r)
    assert said == [
        f'Warning: another trello-restore run is at work on board "{board.name}" ({board.id}) '
        f"now (pid {os.getpid()}): this dry run reads the boards while it writes, so its plan "
        "may list changes that run is making; run the dry run again once that run ends"
    ], r.stderr
    assert "at work on" not in invoke(*_restore_args(scenario), "--dry-run").stderr


def test_a_dry_run_beside_a_run_that_began_during_its_reads_says_so(
    invoke: Invoke, plan_file: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """R54e's other side: ``apply PLAN --dry-run`` looked for a run at work on its boards only
    before its reads; one that began during them (its writes drifted here) went unsaid. It is
    looked for again once they are done, and said once."""
    import contextlib

    from trello_restore import applier

    plan, _ = read_plan(plan_file)
    board_id, board_name = plan.changes[-1].board_id, plan.changes[-1].board_name
    directory = _locks()
    real = applier._apply
    with contextlib.ExitStack() as other_run:

        def begins_meanwhile(*args: Any) -> None:
            other_run.enter_context(hold(directory, [f"run-board-{board_id}"]))
            real(*args)

        monkeypatch.setattr(applier, "_apply", begins_meanwhile)
        r = invoke("apply", str(plan_file), "--dry-run")
    said = _said_at_work(r)
    assert said == [
        f'Warning: another trello-restore run is at work on board "{board_name}" ({board_id}) '
        f"now (pid {os.getpid()}): this dry run reads the boards while it writes, so a change "
        "that run makes shows here as drifted or already satisfied; run the dry run again once "
        "that run ends"
    ], r.stderr


@pytest.mark.parametrize("held", ["board", "run-board"])
def test_a_one_step_dry_run_beside_a_run_that_ended_during_its_reads_says_so(
    invoke: Invoke, scenario: Scenario, held: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """R54e: a run at work on the boards as a one-step ``--dry-run`` began its reads, and ended
    before they did, went unsaid: the plan listed changes that run had made, exit 7 with
    ``--detailed-exitcode``, not a word why (the look came after the reads only). The run
    found as the reads began is said, as ended."""
    import contextlib

    from trello_restore import run

    board = scenario.team
    held_lock = contextlib.ExitStack()
    directory = _locks()
    held_lock.enter_context(hold(directory, [f"{held}-{board.id}"]))
    real = run.make_plan

    def make_plan(*args: Any, on_scope: Callable[..., None], **kwargs: Any) -> Any:
        def scoped(scope: Any) -> None:
            on_scope(scope)  # the look as the reads begin: the lock is held
            held_lock.close()  # the other run ends while this one reads

        return real(*args, on_scope=scoped, **kwargs)

    monkeypatch.setattr(run, "make_plan", make_plan)
    with held_lock:
        r = invoke(*_restore_args(scenario), "--dry-run")
    said = _said_at_work(r)
    assert said == [
        f"Warning: another trello-restore run (pid {os.getpid()}) was at work on board "
        f'"{board.name}" ({board.id}) as this dry run began to read it, and has ended since: '
        "its plan may list changes that run made; run the dry run again"
    ], r.stderr


def test_an_offline_dry_run_says_nothing_of_runs_at_work_on_the_live_boards(
    invoke: Invoke, scenario: Scenario, tmp_path: Path
) -> None:
    """R55a: a ``--from-export`` dry run reads no live board, yet warned that a run at work on
    the exported boards' ids "writes while it reads" and to run it again."""
    board = scenario.team
    export = tmp_path / "team.json"
    export.write_text(json.dumps(scenario.export(board.id)))
    with hold(_locks(), [f"board-{board.id}"]):
        r = invoke("--from-export", str(export), "--since", incident_since(scenario), "--dry-run")
    assert r.exit_code == 0, r.output
    assert "at work on" not in r.stderr, r.stderr


def test_rerun_resumes_without_writing(invoke: Invoke, sb: Sandbox, plan_file: Path) -> None:
    """Applying the same plan again finds every change journaled: no POST or PUT at all."""
    first = invoke("apply", str(plan_file))
    assert first.exit_code == 0, first.output
    sb.server.request_log.clear()
    again = invoke("apply", str(plan_file))
    assert again.exit_code == 0, again.output
    assert _writes(sb) == []
    assert "done by an earlier run" in again.stdout
    assert _journal_from(again) == _journal_from(first)


def test_dry_run_reports_each_change_and_writes_nothing(
    invoke: Invoke, sb: Sandbox, plan_file: Path, tmp_path: Path
) -> None:
    """apply --dry-run reads live state and says what would happen to every change."""
    doc = json.loads(plan_file.read_text())
    r = invoke("apply", str(plan_file), "--dry-run")
    assert r.exit_code == 0, r.output
    assert _writes(sb) == []
    assert r.stdout.count("would add") == len(doc["changes"])
    assert r.stdout.splitlines()[-1].endswith("Dry run: nothing was changed.")
    assert not (tmp_path / "trello-restore-home" / "state").exists()


def test_quiet_prints_only_the_summary(invoke: Invoke, plan_file: Path) -> None:
    """-q: one summary line on stdout, nothing on stderr."""
    r = invoke("apply", str(plan_file), "-q")
    assert r.exit_code == 0, r.output
    assert r.stdout.startswith("Summary: ")
    assert r.stdout.count("\n") == 1
    assert r.stderr == ""


def test_progress_on_a_terminal(
    invoke: Invoke, plan_file: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """With stderr on a terminal a status line with counts is redrawn, then cleared."""
    monkeypatch.setattr(cli, "_stderr_is_terminal", lambda: True)
    r = invoke("apply", str(plan_file))
    assert r.exit_code == 0, r.output
    assert "\r" in r.stderr
    assert " applied" in r.stderr.split("\r")[1]
    assert "\r" not in r.stdout


@pytest.mark.parametrize("columns", [20, 60])
def test_progress_fits_the_terminal_s_width(
    invoke: Invoke, plan_file: Path, monkeypatch: pytest.MonkeyPatch, columns: int
) -> None:
    """Each status line is cut to the terminal's width less one: a longer one wraps, and the
    redraw (carriage return, erase line) rewrites only its last row, leaving one stale row per
    redraw (R37d: 23 at 80 columns)."""
    monkeypatch.setattr(cli, "_stderr_is_terminal", lambda: True)
    monkeypatch.setenv("COLUMNS", str(columns))
    r = invoke("apply", str(plan_file))
    assert r.exit_code == 0, r.output
    drawn = [x.removesuffix("\x1b[K") for x in r.stderr.split("\r") if x.startswith("[")]
    assert drawn, r.stderr
    assert max(len(x) for x in drawn) <= columns - 1
    assert columns > 20 or max(len(x) for x in drawn) == 19  # cut: a whole one is longer


def test_no_progress_on_a_dumb_terminal(
    invoke: Invoke, plan_file: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """``TERM=dumb`` cannot erase a line: no status line, as when stderr is not a terminal."""
    monkeypatch.setattr(cli, "_stderr_is_terminal", lambda: True)
    monkeypatch.setenv("TERM", "dumb")
    r = invoke("apply", str(plan_file))
    assert r.exit_code == 0, r.output
    assert "\r" not in r.stderr
    assert "\x1b" not in r.stderr


def test_undo_given_the_plan_names_its_journal(invoke: Invoke, plan_file: Path) -> None:
    """``undo plan.json`` after ``apply plan.json``: the line names the plan's journal and the
    command to undo it (R37a: "give the journal apply printed", which -q never printed), and
    that command undoes the apply."""
    applied = invoke("apply", str(plan_file), "-q")
    assert applied.exit_code == 0, applied.output
    journal = next((Path(os.environ["TRELLO_RESTORE_HOME"]) / "state" / "journals").glob("*"))
    # Saved again without a final newline (json.dump): no warning of a torn last line (R37e).
    plan_file.write_text(json.dumps(json.loads(plan_file.read_text()), indent=2))
    line = one_line_error(invoke("undo", str(plan_file), "--yes"), ExitCode.USAGE)
    assert line == (
        f"Error: {plan_file} is a plan file, not a journal; its apply's journal is {journal}: "
        f"trello-restore undo {journal}"
    )
    undone = invoke("undo", str(journal), "--yes", "-q")
    assert undone.exit_code == 0, undone.output
    assert undone.stdout.startswith("Summary: ")


def test_a_named_journal(invoke: Invoke, plan_file: Path, tmp_path: Path) -> None:
    """--journal PATH puts the journal where asked."""
    journal = tmp_path / "j.jsonl"
    r = invoke("apply", str(plan_file), "--journal", str(journal))
    assert r.exit_code == 0, r.output
    assert _journal_from(r) == journal
    assert journal.read_text().count("\n") > 1


class TestApplyRefuses:
    """Plans that must not be applied: one line, exit code, not a single write."""

    def test_unknown_format_version(self, invoke: Invoke, sb: Sandbox, plan_file: Path) -> None:
        """A plan from a newer trello-restore."""
        _edit(plan_file, lambda d: d.update(format_version=3))
        one_line_error(invoke("apply", str(plan_file)), ExitCode.USAGE, "format_version 3")
        assert sb.server.request_log == []

    def test_hand_edited_plan(self, invoke: Invoke, sb: Sandbox, plan_file: Path) -> None:
        """A plan whose changes no longer match its summary."""
        _edit(plan_file, lambda d: d["changes"].pop())
        one_line_error(invoke("apply", str(plan_file)), ExitCode.USAGE, "deleted entries by hand")
        assert sb.server.request_log == []

    def test_another_account(
        self, invoke: Invoke, scenario: Scenario, sb: Sandbox, plan_file: Path
    ) -> None:
        """The token of another member than the one who made the plan."""
        with scenario.world.lock:
            member = next(m for m in scenario.world.members.values() if m is not scenario.mover)
            _, token = scenario.world.add_credentials(member.id)
        r = invoke("apply", str(plan_file), TRELLO_TOKEN=token)
        one_line_error(r, ExitCode.USAGE, "account")
        assert _writes(sb) == []

    def test_another_api_url(self, invoke: Invoke, sb: Sandbox, plan_file: Path) -> None:
        """A plan made against another API (here: real Trello)."""
        _edit(plan_file, lambda d: d.update(api_url="https://api.trello.com/1"))
        one_line_error(invoke("apply", str(plan_file)), ExitCode.USAGE, "api.trello.com")
        assert _writes(sb) == []

    def test_offline_plan(
        self, invoke: Invoke, scenario: Scenario, sb: Sandbox, tmp_path: Path
    ) -> None:
        """A plan made from board exports."""
        export, plan = tmp_path / "team.json", tmp_path / "offline.json"
        export.write_text(json.dumps(scenario.export()))
        r = invoke("--from-export", str(export), "--since", "7d", "--dry-run", "--plan-out",
                   str(plan))  # fmt: skip
        assert r.exit_code == 0, r.output
        one_line_error(invoke("apply", str(plan)), ExitCode.USAGE, "offline")
        assert _writes(sb) == []

    def test_missing_plan(self, invoke: Invoke, tmp_path: Path) -> None:
        """A path with no file."""
        r = invoke("apply", str(tmp_path / "nope.json"))
        one_line_error(r, ExitCode.USAGE, "does not exist")


def test_second_apply_while_locked(invoke: Invoke, sb: Sandbox, plan_file: Path) -> None:
    """While another apply of the same plan holds its lock, a second one exits LOCKED."""
    digest = plan_digest(json.loads(plan_file.read_text()))
    locks = Path(os.environ["TRELLO_RESTORE_HOME"]) / "state" / "locks"  # conftest's own home
    with apply_lock(lock_names(digest, []), locks):
        r = invoke("apply", str(plan_file))
    one_line_error(r, ExitCode.LOCKED)
    assert _writes(sb) == []


def test_ctrl_c_says_how_to_resume(
    invoke: Invoke, plan_file: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Ctrl-C during the apply: no traceback, the journal and the command to run again, 130
    (before any outcome, the command starts it again: there is nothing to resume yet)."""

    def interrupted(*args: object, **kwargs: object) -> None:
        raise KeyboardInterrupt

    monkeypatch.setattr("trello_restore.run.run_apply", interrupted)
    r = invoke("apply", str(plan_file))
    assert r.exit_code == 130
    assert "Traceback" not in r.output
    assert f"Run trello-restore apply {plan_file} again to start it." in r.stderr
    assert "no journal was started" in r.stderr


# ------------------------------------------------------------------------------------ undo


def test_undo_restores_the_pre_apply_memberships(
    invoke: Invoke, scenario: Scenario, sb: Sandbox, plan_file: Path
) -> None:
    """undo JOURNAL --yes --include-board-memberships puts every membership back."""
    before = snapshot(scenario.world)
    journal = _journal_from(invoke("apply", str(plan_file)))
    r = invoke("undo", str(journal), "--yes", "--include-board-memberships")
    assert r.exit_code == 0, r.output
    assert compare(scenario.world, snapshot(scenario.world), before) == ""
    assert r.stdout.startswith("Summary: ")


def test_undo_keeps_board_memberships_unless_asked(
    invoke: Invoke, scenario: Scenario, plan_file: Path
) -> None:
    """Without --include-board-memberships the granted board memberships stay."""
    before = snapshot(scenario.world)
    journal = _journal_from(invoke("apply", str(plan_file)))
    after_apply = snapshot(scenario.world)
    r = invoke("undo", str(journal), "--yes")
    assert r.exit_code == 0, r.output
    cards, boards = snapshot(scenario.world)
    assert cards == before[0]
    assert boards == after_apply[1]


def test_undo_dry_run_writes_nothing(invoke: Invoke, sb: Sandbox, plan_file: Path) -> None:
    """undo --dry-run needs no --yes and changes nothing."""
    journal = _journal_from(invoke("apply", str(plan_file)))
    sb.server.request_log.clear()
    r = invoke("undo", str(journal), "--dry-run")
    assert r.exit_code == 0, r.output
    assert _writes(sb) == []
    assert "Dry run: nothing was changed." in r.stdout


def test_undo_without_terminal_or_yes_refuses(invoke: Invoke, sb: Sandbox, plan_file: Path) -> None:
    """Like the one-shot form: no terminal and no --yes is a usage error, and no write."""
    journal = _journal_from(invoke("apply", str(plan_file)))
    sb.server.request_log.clear()
    one_line_error(invoke("undo", str(journal)), ExitCode.USAGE, "--yes")
    assert sb.server.request_log == []


def test_undo_prompt_answered_no(
    invoke: Invoke, sb: Sandbox, plan_file: Path, terminal: None
) -> None:
    """On a terminal undo asks; "n" changes nothing."""
    journal = _journal_from(invoke("apply", str(plan_file)))
    sb.server.request_log.clear()
    r = invoke("undo", str(journal), input="n\n")
    assert r.exit_code == 0, r.output
    assert "on Trello? [y/N]" in r.stderr
    assert sb.server.request_log == []


@pytest.mark.parametrize(
    ("content", "needle"),
    [(None, "no such journal"), ("not json\n", "not a trello-restore journal"), ("", "empty")],
)
def test_undo_bad_journal(invoke: Invoke, tmp_path: Path, content: str | None, needle: str) -> None:
    """A missing, corrupt or empty journal: one line, usage exit code."""
    path = tmp_path / "j.jsonl"
    if content is not None:
        path.write_text(content)
    one_line_error(invoke("undo", str(path), "--yes"), ExitCode.USAGE, needle)


def test_sigint_stops_cleanly_and_a_rerun_finishes(
    sandbox_factory: SandboxFactory, scenario: Scenario, monkeypatch: pytest.MonkeyPatch,
    tmp_path: Path,
) -> None:  # fmt: skip
    """A real Ctrl-C (SIGINT to the process) mid-apply: exit 130, no traceback, the resume
    hint; running the same command again finishes with the exact ground truth and sends no
    card change twice."""
    sb = sandbox_factory(scenario, latency_ms=100, token_limit=10_000, key_limit=10_000)
    for k, v in (("TRELLO_API_URL", sb.base_url), ("TRELLO_API_KEY", sb.key),
                 ("TRELLO_TOKEN", sb.token)):  # fmt: skip
        monkeypatch.setenv(k, v)
    plan, journal = tmp_path / "plan.json", tmp_path / "journal.jsonl"
    made = CliRunner().invoke(
        main, [*_restore_args(scenario), "--dry-run", "--plan-out", str(plan)]
    )
    assert made.exit_code == 0, made.output
    want = _expected(scenario)
    args = ["apply", str(plan), "--journal", str(journal), "--workers", "2"]
    # SIGINT at its default in the child, whatever this process inherited (a suite started
    # in the background has it ignored): what a user's shell gives it.
    proc = subprocess.Popen([sys.executable, "-c", SIGNALS.format(sigint="SIG_DFL"), *args],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)  # fmt: skip
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline and '"applied"' not in _text(journal):
        time.sleep(0.02)
    proc.send_signal(signal.SIGINT)
    _, err = proc.communicate(timeout=30)
    assert proc.returncode == 130, err
    assert "Traceback" not in err
    # The hint names the journal given, so that running it resumes that journal.
    assert f"Run trello-restore apply {plan} --journal {journal} again to resume" in err
    again = CliRunner().invoke(main, args)
    assert again.exit_code == 0, again.output
    assert "done by an earlier run" in again.stdout
    _assert_state(scenario, want)
    adds = [r.status for r in sb.server.request_log if r.method == "POST"]
    assert adds == [200] * json.loads(plan.read_text())["summary"]["card_changes"]


def _text(path: Path) -> str:
    return path.read_text() if path.exists() else ""


# --------------------------------------------------------------------------------- wording


def _report(**counts: int) -> ApplyReport:
    return ApplyReport([], dict(counts), None, 0, 0, 0.0)


class TestWording:
    """How outcomes and summaries read (report.py)."""

    @pytest.mark.parametrize(
        ("counts", "dry_run", "undo", "text"),
        [
            ({"applied": 3, "skipped_done": 2}, False, False,
             "Summary: 3 applied, 0 already satisfied, 0 drifted, 0 blocked, 0 failed. "
             "2 changes done by an earlier run (skipped)."),
            ({"would_apply": 1, "drifted": 1}, True, False,
             "Summary: 1 would be applied, 0 already satisfied, 1 drifted, 0 blocked, 0 failed. "
             "Dry run: nothing was changed."),
            ({"undone": 4, "not_on_card": 1}, False, True,
             "Summary: 4 removed, 1 no longer there, 0 failed."),
            ({"would_undo": 2}, True, True,
             "Summary: 2 would be removed, 0 failed. Dry run: nothing was changed."),
            # R43a: what a dry run counts done was done by a killed run, found so
            ({"would_undo": 0, "undone": 1}, True, True,
             "Summary: 0 would be removed, 1 removed by an interrupted undo, 0 failed. "
             "Dry run: nothing was changed."),
            ({"would_apply": 2, "applied": 1}, True, False,
             "Summary: 2 would be applied, 1 applied by an interrupted run, 0 already "
             "satisfied, 0 drifted, 0 blocked, 0 failed. Dry run: nothing was changed."),
        ],
    )  # fmt: skip
    def test_summaries(self, counts: dict[str, int], dry_run: bool, undo: bool, text: str) -> None:
        """Apply, dry run, undo and undo dry run each have their wording."""
        assert apply_summary(_report(**counts), dry_run=dry_run, undo=undo) == text

    def test_failed_outcome_names_the_change_and_trellos_answer(self) -> None:
        """A failure shows the member and card by name, the HTTP status and Trello's text."""
        change = Change(
            "c-1", "add_member_to_card", "b", "Archive", MemberRef("m", "ann", "Ann Example"),
            card_id="k", card_name="Ship it", card_short_link="AbCdEfGh",
        )  # fmt: skip
        plan = Plan(PlanOptions(since=datetime(2025, 11, 2, tzinfo=UTC)), (change,), (), ())
        o = ChangeOutcome("c-1", "add_member_to_card", "failed", "b", "k", "m", 503, "Busy\n")
        assert outcome_line(o, change_labels(plan)) == (
            "  FAILED           Ann Example (@ann) → card Ship it "
            "(https://trello.com/c/AbCdEfGh)  (HTTP 503: Busy)"
        )
        undo = ChangeOutcome("c-2", "add_member_to_board", "undone", "b", "", "m")
        assert outcome_line(undo, {}) == "  removed          member m on board b"

    def test_progress_line(self) -> None:
        """A bar, done of total, counts and the rate."""
        line = progress_line({"applied": 3, "failed": 1}, 4, 8, 2.0, width=8)
        assert line == "[####....]  4/8  3 applied, 1 failed  2.0/s"


def test_parent_dry_run_and_yes_reach_the_subcommands(tmp_path: Path) -> None:
    """``trello-restore --dry-run apply PLAN`` is a dry run (no write), ``--yes undo`` does not
    ask, and planning options in front of a subcommand are refused instead of ignored."""
    s = generate(61, 40)
    from trello_restore.sandbox.server import SandboxOptions, SandboxServer

    with SandboxServer(s.world, SandboxOptions()) as server:
        env = {
            "TRELLO_API_URL": server.base_url,
            "TRELLO_API_KEY": s.key,
            "TRELLO_TOKEN": s.token,
        }
        runner = CliRunner(env=env)
        plan = tmp_path / "plan.json"
        since = s.incident_at.isoformat()
        r = runner.invoke(
            main,
            ["--board", s.team.id, "--since", since, "--add-to-board", "--dry-run",
             "--plan-out", str(plan)],
        )  # fmt: skip
        assert r.exit_code == 0, r.output
        r = runner.invoke(main, ["--dry-run", "apply", str(plan)])
        assert r.exit_code == 0, r.output
        assert not [x for x in server.request_log if x.method != "GET"]
        r = runner.invoke(main, ["--since", since, "apply", str(plan)])
        assert r.exit_code == 2
        assert "--since plans a restore and means nothing to 'apply'; drop it" in r.stderr
        assert not [x for x in server.request_log if x.method != "GET"]
        r = runner.invoke(main, ["apply", str(plan)])
        assert r.exit_code == 0, r.output
        journal_path = r.stderr.split("Journal: ")[1].strip().splitlines()[0]
        r = runner.invoke(main, ["--yes", "undo", journal_path])
        assert r.exit_code == 0, r.output
        assert "Summary:" in r.stdout


def test_apply_and_undo_at_v_say_their_summary_once(
    invoke: Invoke, plan_file: Path, tmp_path: Path
) -> None:
    """R39a, R39b: ``-v`` printed the summary twice, the second time as a log line with the
    requests and the journal; that line goes to the log file only."""
    log = tmp_path / "run.log"
    applied = invoke("--log-file", str(log), "apply", str(plan_file), "--yes", "-v")
    assert applied.exit_code == ExitCode.OK, applied.output
    assert applied.output.count("Summary: ") == 1, applied.output
    undone = invoke("--log-file", str(log), "undo", str(_journal_from(applied)), "--yes", "-v")
    assert undone.exit_code == ExitCode.OK, undone.output
    assert undone.output.count("Summary: ") == 1, undone.output
    assert log.read_text().count(" requests, ") == 2  # the log file has both
