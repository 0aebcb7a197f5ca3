"""``apply PLAN --format json`` and ``undo JOURNAL --format json``: one line of JSON on stdout
when the command ends (exit 0, 4 or 5), the text report on stderr (nothing but the line with
``-q``), each field as the run really ended; errors print no JSON. Over the command line
against the sandbox."""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from click.testing import Result

from trello_restore import cli
from trello_restore.errors import ExitCode
from trello_restore.journal import Journal
from trello_restore.planfile import read_plan
from trello_restore.report_outcomes import change_labels
from trello_restore.sandbox.scenario import Scenario

from . import test_catalogue as catalogue
from .conftest import Sandbox, sandbox_cli
from .truthcheck import incident_since

Invoke = Callable[..., Result]
WRITES = ("POST", "PUT", "DELETE")
#: The bad-input catalogue's module sandbox (and its logger reset), for the error cases.
trello = catalogue.trello_fixture
_restore_logging = catalogue._restore_logging


@pytest.fixture(name="invoke")
def invoke_fixture(sb: Sandbox, monkeypatch: pytest.MonkeyPatch) -> Invoke:
    return sandbox_cli(sb, monkeypatch)


def _plan(invoke: Invoke, s: Scenario, path: Path) -> Path:
    """Reference option set b: the mover's removals since the incident, with board grants."""
    since = incident_since(s)
    r = invoke("--board", s.team.id, "--since", since, "--removed-by", s.mover.username,
               "--add-to-board", "--dry-run", "--plan-out", str(path), "--quiet")  # fmt: skip
    assert r.exit_code == 0, r.output
    return path


def _line(r: Result, sb: Sandbox) -> dict[str, Any]:
    """The run's one line of JSON on stdout (nothing else there), without a credential."""
    lines = r.stdout.splitlines()
    assert len(lines) == 1, r.stdout
    assert sb.key not in r.output
    assert sb.token not in r.output
    doc: dict[str, Any] = json.loads(lines[0])
    return doc


def _summary(stderr: str) -> dict[str, int]:
    """The text summary's counts (``Summary: 3 applied, 0 drifted, …``), on stderr with json:
    count word → number, and ``earlier`` for the changes an earlier undo undid."""
    line = next(x for x in stderr.splitlines() if x.startswith("Summary: "))
    head = line.removeprefix("Summary: ").split(".")[0]
    counts = {m[2]: int(m[1]) for m in re.finditer(r"(\d+) ([a-z ]+)", head)}
    earlier = re.search(r"(\d+) changes? (?:[a-z]+|settled) by an earlier undo", line)
    return counts | ({"earlier": int(earlier[1])} if earlier else {})


def _stderr_value(stderr: str, prefix: str) -> str:
    return next(x for x in stderr.splitlines() if x.startswith(prefix)).removeprefix(prefix)


def _writes(sb: Sandbox) -> int:
    return sum(1 for r in sb.server.request_log if r.method in WRITES)


def test_apply_and_undo_print_one_line_of_json_as_the_run_ended(
    invoke: Invoke, sb: Sandbox, scenario: Scenario, tmp_path: Path
) -> None:
    """A dry run, the apply, its undo's dry run and the undo, each with --format json: the
    line's counts are the text summary's (on stderr), ``changes`` has one entry per change with
    its status, its label as the text names it, the journal is the one printed and exists;
    ``-q`` leaves only the line; a repeated undo is ``nothing_to_do``, exit 0."""
    path = _plan(invoke, scenario, tmp_path / "plan.json")
    plan, meta = read_plan(path)
    labels = change_labels(plan)
    n = len(plan.changes) + len(plan.blocked)
    assert n >= 2
    assert not plan.blocked

    dry = invoke("apply", str(path), "--dry-run", "--format", "json")
    assert dry.exit_code == ExitCode.OK, dry.output
    doc = _line(dry, sb)
    assert _writes(sb) == 0
    assert (doc["format"], doc["outcome"], doc["exit_code"], doc["dry_run"]) == (
        "trello-restore-apply-summary", "dry_run", 0, True
    )  # fmt: skip
    assert doc["journal"] is None
    assert doc["apply"]["would_apply"] == _summary(dry.stderr)["would be applied"] == n
    assert [c["status"] for c in doc["changes"]] == ["would_apply"] * n

    run = invoke("apply", str(path), "--format", "json")
    assert run.exit_code == ExitCode.OK, run.output
    doc = _line(run, sb)
    assert (doc["outcome"], doc["exit_code"], doc["dry_run"]) == ("applied", 0, False)
    assert doc["api_url"] == sb.base_url == meta.api_url
    assert doc["account"] == scenario.mover.username
    assert doc["boards"] == [{"id": b, "name": name} for b, name in meta.boards]
    assert doc["plan_file"] == str(path)
    assert doc["journal"] == _stderr_value(run.stderr, "Journal: ")
    assert Path(doc["journal"]).is_file()
    said = _summary(run.stderr)
    counts = doc["apply"]
    assert counts["applied"] == said["applied"] == _writes(sb) == n
    for status in ("already_satisfied", "drifted", "blocked", "failed"):
        assert counts[status] == said[status.replace("_", " ")] == 0
    assert (counts["not_attempted"], counts["stopped"], counts["done_earlier"]) == (0, None, 0)
    requests = re.search(r"^(\d+) requests in ", run.stderr, re.MULTILINE)
    assert requests is not None
    assert counts["requests"] == int(requests[1])
    assert isinstance(counts["seconds"], float)
    changes = doc["changes"]
    assert [c["change_id"] for c in changes] == [c.change_id for c in plan.changes]
    assert all(c["status"] == "applied" for c in changes)
    assert {c["change_id"]: c["label"] for c in changes} == labels
    for c, change in zip(changes, plan.changes, strict=True):
        assert (c["action"], c["board_id"], c["card_id"] or "") == (
            change.action, change.board_id, change.card_id
        )  # fmt: skip
        assert (c["http_status"], c["error"]) == (None, None)
    # The text report went to stderr: its -v lines name each change as the JSON does.
    verbose = invoke("apply", str(path), "--format", "json", "-v")
    assert verbose.exit_code == 0, verbose.output
    assert _line(verbose, sb)["apply"]["done_earlier"] == n
    assert all(f"done earlier     {labels[c.change_id]}" in verbose.stderr for c in plan.changes)
    # Only the line with -q (given before the command, as --format is too).
    quiet = invoke("--quiet", "--format", "json", "apply", str(path))
    assert quiet.exit_code == 0, quiet.output
    assert quiet.stderr == ""
    assert _line(quiet, sb)["outcome"] == "applied"

    journal = doc["journal"]
    cards = [c for c in plan.changes if c.card_id]
    undo_dry = invoke("undo", journal, "--dry-run", "--format", "json")
    assert undo_dry.exit_code == 0, undo_dry.output
    doc = _line(undo_dry, sb)
    assert (doc["format"], doc["outcome"], doc["dry_run"]) == (
        "trello-restore-undo-summary", "dry_run", True
    )  # fmt: skip
    assert doc["undo"]["would_undo"] == _summary(undo_dry.stderr)["would be removed"]
    assert doc["undo"]["would_undo"] == len(cards)

    before = _writes(sb)
    undo = invoke("undo", journal, "--yes", "--format", "json")
    assert undo.exit_code == 0, undo.output
    doc = _line(undo, sb)
    assert (doc["outcome"], doc["exit_code"], doc["dry_run"]) == ("undone", 0, False)
    assert doc["journal"] == journal
    assert (doc["api_url"], doc["account_id"]) == (sb.base_url, scenario.mover.id)
    assert {b["id"] for b in doc["boards"]} == {c.board_id for c in plan.changes}
    said = _summary(undo.stderr)
    assert doc["undo"]["undone"] == said["removed"] == _writes(sb) - before == len(cards)
    assert (doc["undo"]["failed"], doc["undo"]["undone_earlier"]) == (said["failed"], 0)
    ids = [c["change_id"] for c in doc["changes"]]  # in the journal's order
    assert sorted(ids) == sorted(c.change_id for c in cards)
    assert {c["status_text"] for c in doc["changes"]} == {"removed"}
    records = Journal.read(Path(journal)).records
    assert {r.change_id for r in records if r.op == "undo"} == {c.change_id for c in cards}

    again = invoke("undo", journal, "--format", "json")
    assert again.exit_code == 0, again.output
    doc = _line(again, sb)
    assert (doc["outcome"], doc["exit_code"], doc["changes"]) == ("nothing_to_do", 0, [])
    assert (doc["undo"]["undone"], doc["undo"]["requests"]) == (0, 0)  # nothing written
    assert doc["undo"]["undone_earlier"] == len(cards)
    assert again.stderr.startswith("Nothing to undo without --include-board-memberships: ")
    assert invoke("undo", journal, "-q", "--format", "json").stderr == ""
    assert doc["warnings"] == []

    # What the command warned of on stderr is in the line too, as it is in a one-step run's
    # (a cron job's JSON lines kept none of an apply's or an undo's warnings).
    reapply = invoke("apply", str(path), "--format", "json", "-q")
    assert reapply.exit_code == 0, reapply.output
    warned = reapply.stderr.splitlines()
    assert len(warned) == 1, reapply.stderr
    assert warned[0].startswith("Warning: this plan was undone on ")
    assert _line(reapply, sb)["warnings"] == [warned[0].removeprefix("Warning: ")]
    assert _line(invoke("apply", str(path), "--format", "json", "-q"), sb)["warnings"] == []


def test_a_partial_apply_and_its_undo_say_what_drifted(
    invoke: Invoke, sb: Sandbox, scenario: Scenario, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A card of the plan deleted before the apply: exit 5, ``partial``, the drifted change
    with the reason the text gives, the rest applied. The undo (with the board memberships)
    of a card member someone took off since: ``not_on_card``, counted as the text counts; the
    undo declined at the prompt: ``declined``, exit 0."""
    path = _plan(invoke, scenario, tmp_path / "plan.json")
    plan, _ = read_plan(path)
    gone = next(c for c in plan.changes if c.card_id)
    sb.world.delete_card(gone.card_id, scenario.mover.id)

    run = invoke("apply", str(path), "--format", "json")
    assert run.exit_code == ExitCode.PARTIAL, run.output
    doc = _line(run, sb)
    assert (doc["outcome"], doc["exit_code"]) == ("partial", 5)
    drifted = [c for c in doc["changes"] if c["status"] == "drifted"]
    lost = {c.change_id for c in plan.changes if c.card_id == gone.card_id}
    assert {c["change_id"] for c in drifted} == lost
    assert doc["apply"]["drifted"] == _summary(run.stderr)["drifted"] == len(lost)
    assert doc["apply"]["applied"] == len(plan.changes) - len(lost)
    for c in drifted:
        assert c["error"]
        assert c["status_text"] == "drifted, skipped"
        assert f"({c['error']})" in run.stderr  # the text's line, on stderr
    assert len(doc["changes"]) == len(plan.changes)

    # Declined on a terminal: "declined", exit 0, nothing written.
    monkeypatch.setattr(cli, "_stdin_is_terminal", lambda: True)
    before = _writes(sb)
    no = invoke("undo", doc["journal"], "--format", "json", input="n\n")
    assert no.exit_code == ExitCode.OK, no.output
    assert _line(no, sb)["outcome"] == "declined"
    assert (_line(no, sb)["undo"]["undone"], _line(no, sb)["undo"]["requests"]) == (0, 0)
    assert no.stderr.endswith("[y/N]: n\nNothing was changed.\n")
    assert _writes(sb) == before

    taken = next(c for c in plan.changes if c.card_id and c.card_id != gone.card_id)
    sb.world.remove_member_from_card(taken.card_id, taken.member.id, scenario.mover.id)
    undo = invoke(
        "undo", doc["journal"], "--yes", "--include-board-memberships", "--format", "json"
    )
    assert undo.exit_code == ExitCode.OK, undo.output
    udoc = _line(undo, sb)
    said = _summary(undo.stderr)
    assert udoc["undo"]["not_on_card"] == said["no longer there"] == 1
    assert udoc["undo"]["undone"] == said["removed"] == doc["apply"]["applied"] - 1
    assert len(udoc["changes"]) == doc["apply"]["applied"]
    left = [c for c in udoc["changes"] if c["status"] == "not_on_card"]
    assert [c["change_id"] for c in left] == [taken.change_id]


def test_an_empty_plan_is_nothing_to_do(
    invoke: Invoke, sb: Sandbox, scenario: Scenario, tmp_path: Path
) -> None:
    """A plan with no changes: ``nothing_to_do``, exit 0, no journal; its words on stderr."""
    empty = tmp_path / "empty.json"
    by = (scenario.deactivated.username, "--only-recorded")  # who removed nobody
    since = incident_since(scenario)
    made = invoke("--board", scenario.team.id, "--since", since, "--removed-by", *by,
                  "--dry-run", "--plan-out", str(empty), "--quiet")  # fmt: skip
    assert made.exit_code == 0, made.output
    for extra in (("--dry-run",), ()):
        r = invoke("apply", str(empty), "--format", "json", *extra)
        assert r.exit_code == 0, r.output
        line = _line(r, sb)
        assert (line["outcome"], line["exit_code"], line["journal"]) == ("nothing_to_do", 0, None)
        counts = line["apply"]  # zero counts: nothing was written
        assert (counts["would_apply" if extra else "applied"], counts["requests"]) == (0, 0)
        got = (line["changes"], line["plan_file"], line["dry_run"])
        assert got == ([], str(empty), bool(extra))
        assert r.stderr == f"Nothing to apply: {empty} holds no changes; nothing was changed.\n"
    assert _writes(sb) == 0


def test_a_stopped_apply_prints_its_line_with_exit_4(
    invoke: Invoke, sb: Sandbox, scenario: Scenario, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """An apply that stopped writing because Trello kept failing (the engine's report, as
    test_apply_stops makes it over real backoff): exit 4, ``stopped`` with why, what was not
    attempted, and the one error line with how to resume on stderr."""
    from trello_restore import run
    from trello_restore.applier import ApplyReport, ChangeOutcome

    path = _plan(invoke, scenario, tmp_path / "plan.json")
    plan, _ = read_plan(path)
    first, *rest = plan.changes
    why = "Trello kept failing (HTTP 503 on 5 writes in a row)"

    def stopped(req: run.ApplyRequest, progress: object = None) -> ApplyReport:
        outcomes = [
            ChangeOutcome(
                first.change_id,
                first.action,
                "failed",
                first.board_id,
                first.card_id,
                first.member.id,
                503,
                "Service Unavailable",
            )
        ]
        outcomes += [ChangeOutcome(c.change_id, c.action, "not_attempted", c.board_id,
                                   c.card_id, c.member.id) for c in rest]  # fmt: skip
        counts = {"failed": 1, "not_attempted": len(rest)}
        return ApplyReport(outcomes, counts, req.journal_path, 6, 0, 1.25, stopped=why)

    monkeypatch.setattr(run, "run_apply", stopped)
    r = invoke("apply", str(path), "--format", "json", "-q")
    assert r.exit_code == ExitCode.UNREACHABLE, r.output
    doc = _line(r, sb)
    assert (doc["outcome"], doc["exit_code"]) == ("stopped", 4)
    counts = doc["apply"]
    assert (counts["stopped"], counts["failed"], counts["not_attempted"]) == (why, 1, len(rest))
    assert (counts["requests"], counts["seconds"]) == (6, 1.25)
    assert doc["changes"][0]["http_status"] == 503
    assert doc["changes"][0]["error"] == "Service Unavailable"
    assert doc["changes"][0]["status_text"] == "FAILED"
    [error] = r.stderr.splitlines()
    assert error.startswith(f"Error: {why}; stopped writing")
    assert "to resume" in error


def _with_json(c: catalogue.Case) -> catalogue.Case:
    """The catalogue's case with ``--format json`` after its command line."""

    def make(ctx: catalogue.Ctx) -> catalogue.Call:
        made = c.make(ctx)
        call = made if isinstance(made, catalogue.Call) else catalogue.Call(made)
        return catalogue.Call([*call.args, "--format", "json"], call.env, call.input)

    return catalogue.Case(make, c.code, c.needles, c.prefix, c.absent)


#: Bad inputs of apply and undo from the catalogue: a bad plan file, a plan or journal of
#: another account, a held lock, Trello down, Ctrl-C.
_ERRORS = (
    "plan-corrupt", "plan-wrong-type", "plan-other-account", "plan-offline", "plan-missing",
    "journal-corrupt", "journal-other-account", "undo-no-terminal-no-yes", "undo-given-a-plan",
    "lock-held-same-plan", "lock-held-undo", "trello-down-apply", "ctrl-c-apply", "ctrl-c-undo",
)  # fmt: skip


_CASES = [
    pytest.param(_with_json(p.values[0]), id=p.id) for p in catalogue.CASES if p.id in _ERRORS
]


@pytest.mark.parametrize("c", _CASES)
def test_an_error_prints_no_json(
    c: catalogue.Case,
    trello: catalogue.Trello,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """The catalogue's contract (exit code, one line on stderr, no write) with --format json,
    and nothing on stdout."""
    from .conftest import run_cli

    outputs: list[Result] = []

    def recorded(args: list[str], input: str | None = None) -> Result:
        outputs.append(run_cli(args, input=input))
        return outputs[-1]

    monkeypatch.setattr(catalogue, "run_cli", recorded)
    catalogue.test_bad_input(c, trello, tmp_path, monkeypatch)
    assert [r.stdout for r in outputs] == [""]


def test_the_error_cases_are_in_the_catalogue() -> None:
    assert {p.id for p in catalogue.CASES} >= set(_ERRORS)
