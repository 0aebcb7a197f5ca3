"""``undo JOURNAL --dry-run`` while the plan is applied again after its undo (review R28a):
the dry run left the running apply's writes under way out ("leaving out 16 writes that run has
under way"), yet counted those it journaled after the dry run read the journal as settled by the
earlier undo too ("8 changes removed by an earlier undo"): 9 + 8 + 16 for a 25-change plan.
Each change is counted once: under way, would be undone, or settled by the earlier undo (the
changes that apply has not reached yet), adding up to the plan's changes."""

from __future__ import annotations

import json
import re
import time
from pathlib import Path

import pytest
from click.testing import Result

from trello_restore.errors import ExitCode
from trello_restore.journal import Journal
from trello_restore.live import read_live
from trello_restore.locks import hold, lock_names

from .conftest import SandboxFactory
from .test_undo_again import AGAIN, Run, last_line, said_again

UNDER_WAY = re.compile(r"leaving out (\d+) writes? that run has under way")


def _dry_run_mid_way(
    run: Run,
    monkeypatch: pytest.MonkeyPatch,
    tmp_path: Path,
    *flags: str,
    undo_failed: bool = False,
) -> tuple[Result, int]:
    """Apply, undo and apply again; then ``undo --dry-run`` with the journal as the second
    apply leaves it mid-way, that apply holding the plan's lock: 2 changes applied, 2 sent
    (journaled ``pending``), 2 more sent while the dry run reads the boards, the rest not
    reached (the earlier undo's records are their latest). ``undo_failed``: the earlier undo of
    the last change sent failed, and the apply found it still made (``applied``, no write).
    The dry run's result and the count of writes under way it should leave out."""
    run.applied_then_undone()
    again = run.apply()
    assert again.exit_code == ExitCode.OK, again.output
    assert AGAIN.search(said_again(again)[0])
    lines = run.journal.read_text().splitlines()
    start = max(i for i, x in enumerate(lines) if json.loads(x).get("op") == "undo") + 1
    mine = [x for x in lines[start:] if json.loads(x)["status"] == "applied"]
    assert len(mine) == run.n >= 7, "the second apply makes every change again"
    now = time.strftime("%Y-%m-%dT%H:%M:%S+00:00")

    def pending(line: str) -> str:
        return json.dumps({**json.loads(line), "status": "pending", "at": now})

    applied, sent, sent_later = mine[:2], [*map(pending, mine[2:4])], [*map(pending, mine[4:6])]
    before = lines[:start]
    if undo_failed:
        sent_later[-1] = mine[5]
        last = json.loads(mine[5])["change_id"]
        at = max(i for i, x in enumerate(before) if json.loads(x).get("change_id") == last)
        undo = json.loads(before[at])
        assert (undo["op"], undo["status"]) == ("undo", "undone")
        before[at] = json.dumps({**undo, "status": "failed", "error": "HTTP 500"})
    run.journal.write_text("\n".join([*before, *applied, *sent]) + "\n")

    def apply_goes_on(*args: object, **kwargs: object) -> object:
        with run.journal.open("a") as f:
            f.write("".join(x + "\n" for x in sent_later))
        return read_live(*args, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr("trello_restore.undo.read_live", apply_goes_on)
    plan_lock = lock_names(Journal.read(run.journal).header.plan_digest, ())[0]
    home = tmp_path / "trello-restore-home"  # the autouse fixture's
    with hold(home / "state" / "locks", [plan_lock]):
        dry = run.invoke("undo", str(run.journal), "--dry-run", *flags)
    assert dry.exit_code == ExitCode.OK, dry.output
    return dry, len(sent) + len(sent_later) - undo_failed


def _under_way(dry: Result) -> int:
    """The count of the dry run's one warning of writes under way."""
    (count,) = [int(m.group(1)) for m in UNDER_WAY.finditer(dry.stderr)]
    return count


@pytest.mark.parametrize("json_out", [False, True])
def test_a_dry_run_beside_the_plan_applied_again_counts_each_change_once(
    sandbox_factory: SandboxFactory,
    monkeypatch: pytest.MonkeyPatch,
    tmp_path: Path,
    json_out: bool,
) -> None:
    """The writes sent after the dry run read the journal are under way, not also reverted by
    the earlier undo: 2 would be reverted + 4 under way + 9 earlier = the plan's 15."""
    run = Run("archived", sandbox_factory, monkeypatch, tmp_path)
    fmt = ("--format", "json") if json_out else ()
    dry, under_way = _dry_run_mid_way(run, monkeypatch, tmp_path, *fmt)
    assert _under_way(dry) == under_way == 4, dry.stderr
    rest = run.n - 6
    if json_out:
        counts = json.loads(dry.stdout.splitlines()[-1])["undo"]
        assert (counts["would_undo"], counts["undone_earlier"]) == (2, rest), counts
        assert counts["under_way"] == under_way, counts  # so that the counts add up
    else:
        assert last_line(dry) == (
            f"Summary: 2 would be reverted, 0 failed. {rest} changes reverted by an earlier "
            "undo. Dry run: nothing was changed."
        ), dry.stdout
    assert 2 + under_way + rest == run.n


def test_a_change_the_dry_run_reverts_anyway_is_not_also_under_way(
    sandbox_factory: SandboxFactory, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    """A change whose earlier undo failed is this journal's to undo when the dry run reads it;
    the running apply's ``applied`` for it (found still made) is no write under way: counted
    once, as would be reverted (3 + 3 under way + 9 earlier = 15)."""
    run = Run("archived", sandbox_factory, monkeypatch, tmp_path)
    dry, under_way = _dry_run_mid_way(run, monkeypatch, tmp_path, undo_failed=True)
    assert _under_way(dry) == under_way == 3, dry.stderr
    rest = run.n - 6
    assert last_line(dry) == (
        f"Summary: 3 would be reverted, 0 failed. {rest} changes reverted by an earlier undo. "
        "Dry run: nothing was changed."
    ), dry.stdout
    assert 3 + under_way + rest == run.n
