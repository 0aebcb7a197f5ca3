"""Rules that mutation testing (review R82a) of the last session's code found untested, each
pinned by a test that fails with the mutant applied:

- an apply of another plan settles a killed undo's removal that did land as ``undone`` in that
  undo's journal (a record of the undo, not of the apply), so the journal's undo run again
  leaves alone the member the other plan added back, and that plan's undo takes it off (U07,
  U02, U20, U22);
- a ``--journal`` in a directory this user cannot write in is refused before any request by
  the one-step dry run and by ``apply --dry-run`` (P22);
- an existing journal in a directory no longer writable is resumed, not refused (P19);
- a ``--journal`` behind a directory this user cannot search names that directory, not a
  missing one below it (P15);
- a one-step dry run with ``--plan-out`` refuses a ``--journal`` that is a directory before it
  writes the plan (P28).

Also the R84a case (a removal by hand after a killed undo's is not the undo's) in the one-step
run, from the history or from the plan memo, and in ``apply PLAN``'s look since the plan."""

from __future__ import annotations

import json
import os
from collections.abc import Callable
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from click.testing import Result

from trello_restore.errors import ExitCode
from trello_restore.journal import Journal
from trello_restore.planfile import write_plan
from trello_restore.sandbox.scenario import Scenario

from .applykit import plan_doc
from .conftest import Sandbox, configless_cli, one_line_error, sandbox_cli
from .test_review23a_paths import _unsearchable_to_access
from .truthcheck import incident_since

Invoke = Callable[..., Result]
CARD = "add_member_to_card"
FAST = ("--rate-limit", "1000")


@pytest.fixture(name="invoke")
def invoke_fixture(sb: Sandbox, monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Invoke:
    """The CLI in-process in the test's directory, pointed at the sandbox, no config file."""
    monkeypatch.chdir(tmp_path)
    return configless_cli(sb, monkeypatch, tmp_path)


def _lines(path: Path) -> list[dict[str, Any]]:
    return [json.loads(x) for x in path.read_text().splitlines()[1:]]


def _unwritable(monkeypatch: pytest.MonkeyPatch, directory: Path) -> None:
    """``os.access`` says this user cannot write in ``directory`` (as at mode 555; root, which
    runs the tests, may write anywhere): what ``journal_file.check_creatable`` looks at."""
    real = os.access

    def access(path: Any, mode: int, **kwargs: Any) -> bool:
        if mode & os.W_OK and Path(os.fspath(path)).absolute() == directory:
            return False
        return real(path, mode, **kwargs)

    monkeypatch.setattr(os, "access", access)


# ------------------------------------------- 1. a killed undo's removal that landed (U*)


def _as_killed(journal: Path) -> dict[str, Any]:
    """The journal as a kill leaves it: the undo's last card member removal made, its
    ``undone`` never written (its latest record the ``pending``); that record."""
    header, *rest = journal.read_text().splitlines(keepends=True)
    last = max(
        i
        for i, x in enumerate(rest)
        if json.loads(x)["op"] == "undo"
        and json.loads(x)["status"] == "undone"
        and json.loads(x)["action"] == CARD
    )
    victim: dict[str, Any] = json.loads(rest[last])
    journal.write_text(header + "".join(rest[:last] + rest[last + 1 :]))
    return victim


def _undo_killed(
    sb: Sandbox, s: Scenario, invoke: Invoke, tmp_path: Path
) -> tuple[Path, Path, dict[str, Any]]:
    """Plan A (option set b: card members, ``--removed-by`` the lead) applied, then undone,
    its undo's last removal left as a kill leaves it (``_as_killed``): the journal directory,
    A's journal and that record."""
    plan_a = tmp_path / "a.json"
    write_plan(plan_doc(sb, s, "b"), plan_a)
    journals = Path(os.environ["TRELLO_RESTORE_HOME"]) / "state" / "journals"
    assert invoke("apply", str(plan_a), "--yes", *FAST).exit_code == ExitCode.OK
    (journal_a,) = journals.glob("plan-*.jsonl")
    assert invoke("undo", str(journal_a), "--yes", *FAST).exit_code == ExitCode.OK
    return journals, journal_a, _as_killed(journal_a)


def test_another_plan_s_apply_journals_a_killed_undo_s_landed_removal_as_undone(
    sb: Sandbox, scenario: Scenario, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    """Plan A applied, then undone; the undo's last card removal left as a kill leaves it
    (``pending``, its ``undone`` never journaled) although it was made. An apply of plan U
    (another digest, which adds that member back) settles it in A's journal as the undo's
    ``undone``: ``undo A`` run again removes nothing, the member stays on the card, and
    ``undo U`` takes it off (R82a: mutants U07, U02, U20, U22: A's undo took off U's add)."""
    s = scenario
    monkeypatch.setenv("TRELLO_RESTORE_REQUEST_TIMEOUT", "2")  # the wait for the "killed" undo
    invoke = sandbox_cli(sb, monkeypatch)
    plan_a, plan_u = tmp_path / "a.json", tmp_path / "u.json"
    write_plan(plan_doc(sb, s, "b"), plan_a)  # card members, --removed-by the lead
    journals = Path(os.environ["TRELLO_RESTORE_HOME"]) / "state" / "journals"
    applied = invoke("apply", str(plan_a), "--yes", *FAST)
    assert applied.exit_code == ExitCode.OK, applied.output
    (journal_a,) = journals.glob("plan-*.jsonl")
    since = (s.world.clock() - timedelta(minutes=1)).strftime("%Y-%m-%dT%H:%M:%S")
    undone = invoke("undo", str(journal_a), "--yes", *FAST)
    assert undone.exit_code == ExitCode.OK, undone.output

    victim = _as_killed(journal_a)
    change, card, member = victim["change_id"], victim["card_id"], victim["member_id"]
    latest = Journal.read(journal_a).latest()[change]
    assert (latest.op, latest.status) == ("undo", "pending")
    with s.world.lock:
        assert member not in s.world.card(card).id_members  # the removal was made
    # Plan U, as the undo's hint says: the removals by the lead since the undo, added back.
    made = invoke("--board", s.team.id, "--since", since, "--removed-by", s.mover.username,
                  "--only-recorded", "--restore", "members", "--dry-run", "-q",
                  "--plan-out", str(plan_u))  # fmt: skip
    assert made.exit_code == ExitCode.OK, made.output
    changes = json.loads(plan_u.read_text())["changes"]
    assert {(c["card"]["id"], c["member"]["id"]) for c in changes if c["action"] == CARD} >= {
        (card, member)
    }

    other = invoke("apply", str(plan_u), "--yes", *FAST)
    assert other.exit_code == ExitCode.OK, other.output
    (journal_u,) = set(journals.glob("plan-*.jsonl")) - {journal_a}
    with s.world.lock:
        assert member in s.world.card(card).id_members  # U added it back
    settled = Journal.read(journal_a).latest()[change]
    assert (settled.op, settled.status) == ("undo", "undone")  # by U's apply, in A's journal
    u_made = {
        (r["card_id"], r["member_id"])
        for r in _lines(journal_u)
        if r["action"] == CARD and r["status"] == "applied"
    }
    assert (card, member) in u_made

    before = len(_lines(journal_a))
    again = invoke("undo", str(journal_a), "--yes", *FAST)
    assert again.exit_code == ExitCode.OK, again.output
    assert "Nothing to undo" in again.output, again.output
    with s.world.lock:
        assert member in s.world.card(card).id_members  # U's add, not A's to take off
    assert [r for r in _lines(journal_a)[before:] if r["status"] == "undone"] == []

    undone_u = invoke("undo", str(journal_u), "--yes", *FAST)
    assert undone_u.exit_code == ExitCode.OK, undone_u.output
    assert "no longer there" not in undone_u.output, undone_u.output
    with s.world.lock:
        assert member not in s.world.card(card).id_members
    assert {r.status for r in Journal.read(journal_u).latest().values() if r.action == CARD} == {
        "undone"
    }


# --------------------------------------------------- 2-5. journal paths checked early (P*)


def test_a_journal_in_an_unwritable_directory_is_refused_by_the_dry_runs(
    invoke: Invoke, sb: Sandbox, scenario: Scenario, tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:  # fmt: skip
    """``--journal ro/j.jsonl`` where this user cannot write in ``ro``: the one-step dry run
    and ``apply --dry-run`` refuse it, one line, exit 2, before any request (R82a: P22, the
    dry runs read the boards, made their plan and exit 0)."""
    since = incident_since(scenario)
    made = invoke("--board", "Team Board", "--since", since, "--dry-run", "-q",
                  "--plan-out", "plan.json")  # fmt: skip
    assert made.exit_code == ExitCode.OK, made.output
    ro = tmp_path / "ro"
    ro.mkdir()
    _unwritable(monkeypatch, ro)
    sb.server.request_log.clear()
    for args in (
        ("--board", "Team Board", "--since", since, "--dry-run"),
        ("apply", "plan.json", "--dry-run"),
    ):
        r = invoke(*args, "--journal", "ro/j.jsonl")
        one_line_error(r, ExitCode.USAGE, "cannot create the journal ro/j.jsonl", "write in ro")
    assert sb.server.request_log == []
    assert list(ro.iterdir()) == []


def test_an_existing_journal_in_a_directory_now_unwritable_is_resumed(
    invoke: Invoke, scenario: Scenario, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """``apply plan.json --yes --journal w/j.jsonl`` twice, ``w`` not writable by this user
    between them: the journal is there, so the second run resumes it (it appends to the file,
    which needs no write in ``w``) and says what earlier runs did, not exit 2 (R82a: P19)."""
    made = invoke("--board", "Team Board", "--since", incident_since(scenario), "--dry-run",
                  "-q", "--plan-out", "plan.json")  # fmt: skip
    assert made.exit_code == ExitCode.OK, made.output
    w = tmp_path / "w"
    w.mkdir()
    first = invoke("apply", "plan.json", "--yes", "--journal", "w/j.jsonl", *FAST)
    assert first.exit_code in (ExitCode.OK, ExitCode.PARTIAL), first.output
    _unwritable(monkeypatch, w)
    again = invoke("apply", "plan.json", "--yes", "--journal", "w/j.jsonl", *FAST)
    assert again.exit_code == first.exit_code, again.output
    assert "done by an earlier run" in again.output, again.output
    assert "cannot create the journal" not in again.output


def test_a_journal_behind_an_unsearchable_directory_names_it(
    invoke: Invoke, sb: Sandbox, scenario: Scenario, tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:  # fmt: skip
    """``--journal locked/sub/j.jsonl`` where ``locked`` cannot be searched (``sub`` is
    there): the line names ``locked`` as the directory this user cannot search, not ``sub``
    as one that does not exist (R82a: P15)."""
    made = invoke("--board", "Team Board", "--since", incident_since(scenario), "--dry-run",
                  "-q", "--plan-out", "plan.json")  # fmt: skip
    assert made.exit_code == ExitCode.OK, made.output
    locked = tmp_path / "locked"
    (locked / "sub").mkdir(parents=True)
    _unsearchable_to_access(monkeypatch, locked)
    sb.server.request_log.clear()
    r = invoke("apply", "plan.json", "--yes", "--journal", "locked/sub/j.jsonl")
    line = one_line_error(
        r, ExitCode.USAGE, "this user cannot search the directory locked (Permission denied)"
    )
    assert "does not exist" not in line, line
    assert sb.server.request_log == []


def test_a_dry_run_with_plan_out_refuses_a_journal_that_is_a_directory(
    invoke: Invoke, sb: Sandbox, scenario: Scenario, tmp_path: Path
) -> None:
    """``--dry-run --plan-out p.json --journal d``, ``d`` a directory: one line, exit 2,
    before the fetch, and no plan written (R82a: P28, the check was skipped with
    ``--plan-out``)."""
    (tmp_path / "d").mkdir()
    r = invoke("--board", "Team Board", "--since", incident_since(scenario), "--dry-run",
               "--plan-out", "p.json", "--journal", "d")  # fmt: skip
    one_line_error(r, ExitCode.USAGE, "--journal d is a directory")
    assert not (tmp_path / "p.json").exists()
    assert sb.server.request_log == []


@pytest.mark.parametrize("dry_run_first", [False, True])
def test_a_removal_by_hand_after_a_killed_undo_s_is_not_that_undo_s(
    sb: Sandbox,
    scenario: Scenario,
    monkeypatch: pytest.MonkeyPatch,
    tmp_path: Path,
    dry_run_first: bool,
) -> None:
    """R84a: a killed undo's removal that landed, then the lead put the member back by hand
    and removed them again, all within minutes. An undo write never answered counts for up to
    ``SLACK`` after it was sent (R83a), so the second removal, by hand, was called that
    undo's: the one-step run left the member out. An undo's write removes once, the first
    removal after it was sent; the run adds the member back. Also when the plan comes from the
    memo a dry run left (R85a: the memo kept no removal dates, and the run left it out)."""
    s = scenario
    monkeypatch.setenv("TRELLO_RESTORE_REQUEST_TIMEOUT", "2")  # the wait for the "killed" undo
    invoke = sandbox_cli(sb, monkeypatch)
    _, _, victim = _undo_killed(sb, s, invoke, tmp_path)
    card, member = victim["card_id"], victim["member_id"]
    with s.world.lock:
        s.world.add_member_to_card(card, member, s.mover.id)  # put back by hand
        s.world.remove_member_from_card(card, member, s.mover.id)  # and removed again
    scope = ("--board", s.team.id, "--since", incident_since(s), "--removed-by", s.mover.username)
    if dry_run_first:
        dry = invoke(*scope, "--dry-run", *FAST)
        assert dry.exit_code == ExitCode.OK, dry.output
    once = invoke(*scope, "--yes", *FAST)
    assert once.exit_code in (ExitCode.OK, ExitCode.PARTIAL), once.output
    with s.world.lock:
        assert member in s.world.card(card).id_members, once.output


def _plan_p(s: Scenario, invoke: Invoke, tmp_path: Path) -> Path:
    """Plan P, made before plan A is applied: every kind, option set b's window and options
    (so it adds back what A adds, and more: another digest, a journal of its own)."""
    plan_p = tmp_path / "p.json"
    since = s.option_sets()["b"].since.strftime("%Y-%m-%dT%H:%M:%S")
    scope = ("--board", s.team.id, "--since", since, "--removed-by", s.mover.username)
    made = invoke(*scope, "--add-to-board", "--restore", "all", "--dry-run", "--plan-out", plan_p)
    assert made.exit_code == ExitCode.OK, made.output
    return plan_p


def _by_hand_again(s: Scenario, card: str, member: str) -> None:
    """The lead puts the member back on the card by hand and removes them again, 20 s on:
    past ``UNDO_SLACK`` after the undo's removal, within ``SLACK``."""
    with s.world.lock:
        later = s.world.clock() + timedelta(seconds=20)
        s.world.add_member_to_card(card, member, s.mover.id, at=later)
        s.world.remove_member_from_card(card, member, s.mover.id, at=later + timedelta(seconds=5))


def _left_to_the_lead(s: Scenario, output: str, card: str, member: str) -> None:
    """An apply's ``output`` left the card member alone as ``drifted``, removed again by the
    lead by hand (not by this tool's undo, with "plan again to add them back")."""
    with s.world.lock:
        assert member not in s.world.card(card).id_members  # the lead's decision, left alone
        link = f"https://trello.com/c/{s.world.card(card).short_link}"
        handle = f"(@{s.world.members[member].username})"
    (line,) = [x for x in output.splitlines() if link in x and handle in x]
    assert "drifted" in line, output
    assert f"removed again by @{s.mover.username} on " in line, line
    assert "undo of journal" not in line, line


def test_apply_plan_names_a_removal_by_hand_after_a_killed_undo_s_as_by_hand(
    sb: Sandbox, scenario: Scenario, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    """R84a's case in ``apply PLAN``'s look at what changed since the plan was made: plan P
    made, then plan A applied and its undo killed with its last removal landed (``pending``),
    then the lead put that member back by hand and removed them again, 20 s on. P's apply
    first settles A's write (the removal it finds is the undo's ``undone``: an answered
    write, dated to ``UNDO_SLACK``), then leaves the member alone (removed after P was made)
    and names the lead, by hand, not A's undo: the second removal is not the undo's, and
    "plan again to add them back" would be the wrong advice."""
    s = scenario
    monkeypatch.setenv("TRELLO_RESTORE_REQUEST_TIMEOUT", "2")  # the wait for the "killed" undo
    invoke = sandbox_cli(sb, monkeypatch)
    plan_p = _plan_p(s, invoke, tmp_path)
    journals, journal_a, victim = _undo_killed(sb, s, invoke, tmp_path)
    card, member = victim["card_id"], victim["member_id"]
    planned = json.loads(plan_p.read_text())["changes"]
    assert (card, member) in {
        (c["card"]["id"], c["member"]["id"]) for c in planned if c["action"] == CARD
    }
    _by_hand_again(s, card, member)

    applied = invoke("apply", str(plan_p), "--yes", *FAST)
    assert applied.exit_code in (ExitCode.OK, ExitCode.PARTIAL), applied.output
    assert set(journals.glob("plan-*.jsonl")) - {journal_a}, "P has a journal of its own"
    settled = Journal.read(journal_a).latest()[victim["change_id"]]
    assert (settled.op, settled.status) == ("undo", "undone")  # settled by P's apply
    _left_to_the_lead(s, applied.output, card, member)
