"""A change an earlier apply of the plan found already on Trello is looked at again (review
R23a), over the command line against the sandbox.

``apply plan.json`` after another journal had put the plan's members on Trello records each
change ``already_satisfied``; that other journal undone, the members were gone, yet the same
``apply plan.json`` said "N changes done by an earlier run (skipped)", exit 0, and the plan could
never be applied again (its undo: "Nothing to undo"). Only what this tool wrote is done now;
what it found is read again from the board, which the apply reads anyway.
"""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pytest

from trello_restore.errors import ExitCode
from trello_restore.journal import Journal
from trello_restore.plan_request import build_request
from trello_restore.planfile import PlanDict, plan_to_dict, write_plan
from trello_restore.run import make_plan

from .applykit import NOW
from .conftest import SandboxFactory
from .test_undo_again import FAST, Run


def test_found_already_there_then_taken_off_by_another_undo_is_not_done(
    sandbox_factory: SandboxFactory, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    r = Run("members", sandbox_factory, monkeypatch, tmp_path)
    other = tmp_path / "other.jsonl"
    first = r.invoke("apply", str(r.plan), "--journal", str(other), *FAST)
    assert first.exit_code == ExitCode.OK, first.output
    applied = r.state()
    assert applied != r.before

    found = r.apply()  # the plan's own journal: every change found there
    assert found.exit_code == ExitCode.OK, found.output
    statuses = {x.status for x in Journal.read(r.journal).records}
    assert statuses == {"already_satisfied"}, statuses
    again = r.apply()  # found there again: said, not journaled twice
    assert again.exit_code == ExitCode.OK, again.output
    assert len(Journal.read(r.journal).records) == r.n

    undo = r.invoke("undo", str(other), *FAST, *r.undo_flags)
    assert undo.exit_code == ExitCode.OK, undo.output
    assert r.state() == r.before

    # Looked at again: taken off after the plan was made (by this token's member, through the
    # other journal's undo), each is drifted and said so, exit 5 — not "done earlier", exit 0.
    result = r.apply()
    assert result.exit_code == ExitCode.PARTIAL, result.output
    assert "done by an earlier run" not in result.output
    assert "done earlier" not in result.output
    cards = [x for x in r.invoke("undo", str(other), "--dry-run").output.splitlines() if "→" in x]
    assert not cards  # nothing of the other journal's left to undo
    drifted = [x for x in result.output.splitlines() if x.startswith("  drifted, skipped ")]
    assert drifted
    # Taken off by this tool's undo of the other journal, not by a person: the reason says
    # which, and what adds them back (R23c).
    undone_by = f"removed again by this tool's undo of journal {other} on "
    assert all(undone_by in x for x in drifted), drifted
    assert all("after the plan was made: left alone (plan again" in x for x in drifted), drifted
    latest = Journal.read(r.journal).latest()
    assert sum(x.status == "drifted" for x in latest.values()) == len(drifted)

    # The advice holds: another --journal does not add them back (the plan is as old), a new
    # plan does.
    fresh = r.invoke("apply", str(r.plan), "--journal", str(tmp_path / "new.jsonl"), *FAST)
    assert fresh.exit_code == ExitCode.PARTIAL, fresh.output
    assert [x for x in fresh.output.splitlines() if undone_by in x] == drifted
    doc = _plan_now(r)
    assert len(doc["changes"]) == len(drifted)  # the card members (their grants stand)
    write_plan(doc, r.plan)
    replanned = r.invoke("apply", str(r.plan), "--journal", str(tmp_path / "re.jsonl"), *FAST)
    assert replanned.exit_code == ExitCode.OK, replanned.output
    assert r.state() == applied


def _plan_now(r: Run) -> PlanDict:
    """The plan ``r``'s plan file holds (``applykit.plan_doc``), made again now."""
    o = r.s.option_sets()["b"]
    request = build_request(
        boards=(r.s.team.id,),
        exports=(),
        since=o.since.isoformat(),
        until=None,
        now=NOW,
        mode=o.mode,
        removed_by=r.s.mover.username if o.removed_by else None,
        by=o.by,
        restore=tuple(sorted(o.restore)),
        only_recorded=o.only_recorded,
        add_to_board=o.add_to_board,
        api_url=r.sb.base_url,
        key=r.sb.key,
        token=r.sb.token,
    )
    result = make_plan(request, created_at=datetime.now(UTC))
    return plan_to_dict(result.plan, result.meta)


def test_a_dry_run_names_the_undo_of_another_journal_as_the_apply_does(
    sandbox_factory: SandboxFactory, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    """``apply PLAN --dry-run`` before the plan has a journal (the review before an apply)
    says of a member this tool's undo of another journal took off what the apply then says:
    that undo, named, not the token's member by hand (A24); beside the journal it would use
    (the default, or ``--journal``), and not beside one elsewhere, as the apply. Nothing is
    written by the dry runs."""
    r = Run("members", sandbox_factory, monkeypatch, tmp_path)
    journals = tmp_path / "trello-restore-home" / "state" / "journals"
    other = journals / "other.jsonl"
    first = r.invoke("apply", str(r.plan), "--journal", str(other), *FAST)
    assert first.exit_code == ExitCode.OK, first.output
    undo = r.invoke("undo", str(other), *FAST, *r.undo_flags)
    assert undo.exit_code == ExitCode.OK, undo.output
    assert r.state() == r.before
    undone_by = f"removed again by this tool's undo of journal {other} on "
    on_disk = sorted(journals.iterdir())

    def drifted(*flags: str) -> list[str]:
        result = r.invoke("apply", str(r.plan), *flags, *FAST)
        assert result.exit_code == ExitCode.PARTIAL, result.output
        lines = [x for x in result.output.splitlines() if "after the plan was made" in x]
        assert lines, result.output
        return [x.partition("removed again by ")[2] for x in lines]

    default = drifted("--dry-run")  # no journal of the plan yet
    assert all(x.startswith(undone_by.partition("removed again by ")[2]) for x in default)
    named = drifted("--dry-run", "--journal", str(journals / "p.jsonl"))  # none there yet
    elsewhere = tmp_path / "elsewhere" / "p.jsonl"
    by_hand = drifted("--dry-run", "--journal", str(elsewhere))  # no other journal beside it
    assert not any(x.startswith("this tool's undo") for x in by_hand), by_hand
    assert sorted(journals.iterdir()) == on_disk  # the dry runs wrote nothing
    assert not elsewhere.parent.exists()
    assert r.state() == r.before

    assert drifted("--journal", str(elsewhere)) == by_hand  # the applies say the same
    assert drifted("--journal", str(journals / "p.jsonl")) == named == default
    assert drifted() == default
    assert drifted("--dry-run") == default  # its journal there now
    assert drifted("--dry-run", "--journal", str(elsewhere)) == by_hand
