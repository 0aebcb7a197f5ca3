"""``undo JOURNAL --dry-run --include-board-memberships`` while the apply of a plan with
``--add-to-board`` still runs (review R27a): the card adds that apply has under way (journaled
``pending``, or journaled after the dry run read the journal) were taken for cards someone
else put the member on, and the grants they need reported ``drifted`` (exit 5). They are the
running apply's own: left out and counted apart, and the grants judged with them as this
journal's. ``undo`` itself beside that apply still refuses at once (exit 6)."""

from __future__ import annotations

import json
import time
from pathlib import Path

import pytest

from trello_restore.errors import ExitCode
from trello_restore.journal import Journal
from trello_restore.live import read_live
from trello_restore.locks import hold, lock_names
from trello_restore.sandbox.scenario import Scenario

from .conftest import Sandbox, one_line_error
from .test_cli_apply import Invoke
from .test_undo_board_grants import GRANT, _apply, invoke_fixture  # noqa: F401

CARD = "add_member_to_card"


def _last_card_add_under_way(journal: Path) -> tuple[dict[str, object], list[str]]:
    """The journal's last card add that needs a grant the same apply made (journaled
    ``applied`` before it), made the apply's write under way (``pending``, sent a moment ago,
    its answer not journaled): that record, and the journal's other lines. (Which card add
    is journaled last is the writers' race: with 16 of them, often one needing no grant.)"""
    lines = journal.read_text().splitlines()
    records = [json.loads(x) for x in lines]
    grants = {
        (g.get("board_id"), g.get("member_id"))
        for g in records
        if g.get("action") == GRANT and g.get("status") == "applied"
    }
    needing = [
        i
        for i, r in enumerate(records)
        if r.get("action") == CARD and (r.get("board_id"), r.get("member_id")) in grants
    ]
    assert needing, "the scenario's card adds must need a grant of the same apply"
    at = needing[-1]
    last = records[at]
    pending = {**last, "status": "pending", "at": time.strftime("%Y-%m-%dT%H:%M:%S+00:00")}
    return pending, lines[:at] + lines[at + 1 :]


def _check(out: str, err: str, code: int) -> None:
    """Said running, that card add left out and counted apart, its grant not drifted."""
    assert "an apply or undo of this journal is running now" in err, err
    assert "leaving out 1 write that run has under way" in err, err
    assert "the apply did not add them to" not in out, out
    assert out.splitlines()[-1].startswith("Summary: 22 would be removed, 0 failed."), out
    assert code == 0, out + err


@pytest.mark.parametrize("when", ["pending", "after_read"])
def test_a_dry_run_beside_a_running_apply_counts_its_card_adds_under_way_as_its_own(
    invoke: Invoke,
    scenario: Scenario,
    sb: Sandbox,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    when: str,
) -> None:
    journal, _ = _apply(invoke, scenario, tmp_path)
    pending, rest = _last_card_add_under_way(journal)
    member, card = str(pending["member_id"]), scenario.world.cards[str(pending["card_id"])]
    assert member in card.id_members  # the add has landed; its answer is not journaled
    if when == "pending":
        journal.write_text("\n".join([*rest, json.dumps(pending)]) + "\n")
    else:
        # The dry run reads a journal without it; the apply sends it (journaling it pending
        # first) while the dry run reads the boards.
        journal.write_text("\n".join(rest) + "\n")

        def apply_goes_on(*args: object, **kwargs: object) -> object:
            with journal.open("a") as f:
                f.write(json.dumps(pending) + "\n")
            return read_live(*args, **kwargs)  # type: ignore[arg-type]

        monkeypatch.setattr("trello_restore.undo.read_live", apply_goes_on)
    header = Journal.read(journal).header
    plan_lock = lock_names(header.plan_digest, ())[0]
    home = tmp_path / "trello-restore-home"

    with hold(home / "state" / "locks", [plan_lock]):
        dry = invoke("undo", str(journal), "--dry-run", "--include-board-memberships")
        _check(dry.stdout, dry.stderr, dry.exit_code)
        if when == "pending":
            # Undo itself waits for no one: refused at once, as before.
            one_line_error(
                invoke("undo", str(journal), "--yes", "--include-board-memberships"),
                ExitCode.LOCKED,
                "another trello-restore run",
            )
