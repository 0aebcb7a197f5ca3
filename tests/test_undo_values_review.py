"""Review V19, over the command line against the sandbox: undo of the value kinds finds a value
set back by hand already (``already_satisfied``, done: exit 0, settled in the journal, so a
later undo has nothing to do), keeps ``drifted`` for a third value, and words a repeated
undo's summary in the value kinds' words with what an earlier undo undid; undo of a journal
that holds nothing to undo needs no confirmation; the one-shot run's ``-q`` says what is
blocked when there is nothing to apply (exit 5)."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from trello_restore.errors import ExitCode
from trello_restore.journal import Journal
from trello_restore.sandbox.scenario import Scenario
from trello_restore.undo_left import undoable

from .conftest import Sandbox, SandboxFactory, configless_cli
from .conftest import sandbox_cli as cli_for
from .test_apply_values import applied_values, damaged_world, header, make_plan_file, writes
from .truthcheck import incident_since


def test_undo_of_a_value_back_already_is_done_and_a_third_value_drifted(
    sandbox_factory: SandboxFactory, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """After the apply, card c1 is archived again by hand (the value undo would write back)
    and c2 moved to a third list. Undo: c1 ``already reverted`` with no write, c2 drifted
    (exit 5), the rest reverted. Undo again: only c2, counted as ``0 reverted`` (not the
    member word "removed") with the 3 undone earlier. Once c2 is put back by hand too, undo
    exits 0, and the next one finds nothing to undo."""
    sb, path = applied_values(sandbox_factory, tmp_path)
    ids = sb.ids
    seen_c2 = sb.world.cards[ids["c2"]].id_list  # "doing": the apply moved it back there
    sb.world.set_card_closed(ids["c1"], True, ids["ben"])  # what undo would write back
    sb.world.move_card_to_list(ids["c2"], ids["old"], ids["ben"])  # a third list
    invoke = cli_for(sb, monkeypatch)

    start = len(sb.server.request_log)
    first = invoke("undo", str(path), "--yes", "-v")
    assert first.exit_code == ExitCode.PARTIAL, first.output
    assert len(writes(sb, start)) == 3  # c1 and c2 untouched
    assert sb.world.cards[ids["c1"]].closed is True
    assert sb.world.cards[ids["c2"]].id_list == ids["old"]
    lines = first.stdout.splitlines()
    already = [x for x in lines if x.startswith("  already reverted ")]
    assert len(already) == 1, lines
    assert 'closed of card "C1"' in already[0]
    drifted = [x for x in lines if x.startswith("  drifted")]
    assert len(drifted) == 1, lines
    assert 'idList of card "C2"' in drifted[0]
    assert lines[-1] == "Summary: 1 already reverted, 1 drifted, 3 reverted, 0 failed."
    records = Journal.read(path).records
    c1_undo = [r for r in records if r.op == "undo" and r.card_id == ids["c1"]]
    assert [r.status for r in c1_undo] == ["already_satisfied"]
    assert len(undoable(records)) == 1  # only c2 is left

    start = len(sb.server.request_log)
    again = invoke("undo", str(path), "--yes")
    assert again.exit_code == ExitCode.PARTIAL, again.output
    assert writes(sb, start) == []
    assert again.stdout.splitlines()[-1] == (
        "Summary: 1 drifted, 0 reverted, 0 failed. 4 changes settled by an earlier undo "
        "(3 reverted, 1 already reverted)."
    )

    sb.world.move_card_to_list(ids["c2"], ids["done"], ids["ben"])  # the value seen: back
    assert ids["done"] != seen_c2
    third = invoke("undo", str(path), "--yes")
    assert third.exit_code == ExitCode.OK, third.output
    assert writes(sb, start) == []
    assert third.stdout.splitlines()[-1] == (
        "Summary: 1 already reverted, 0 reverted, 0 failed. 4 changes settled by an earlier "
        "undo (3 reverted, 1 already reverted)."
    )
    last = invoke("undo", str(path), "--yes")
    assert last.exit_code == ExitCode.OK, last.output
    assert last.stdout == (  # the same accounting as the summaries (review 19c)
        "Nothing to undo: 5 changes settled by an earlier undo (3 reverted, 2 already reverted).\n"
    )
    assert writes(sb, start) == []


def test_a_repeated_value_undo_counts_in_value_words_with_what_was_undone_earlier(
    sandbox_factory: SandboxFactory, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Only c2 is moved to a third list after the apply: the first undo reverts the other 4;
    the second has only c2 to look at again, and its summary reads ``0 reverted`` (the member
    kinds' "removed" would be wrong) and says the 4 undone by the earlier undo."""
    sb, path = applied_values(sandbox_factory, tmp_path)
    ids = sb.ids
    sb.world.move_card_to_list(ids["c2"], ids["old"], ids["ben"])
    invoke = cli_for(sb, monkeypatch)
    first = invoke("undo", str(path), "--yes")
    assert first.exit_code == ExitCode.PARTIAL, first.output
    assert first.stdout.splitlines()[-1] == "Summary: 1 drifted, 4 reverted, 0 failed."
    log = tmp_path / "undo.log"
    again = invoke("--log-file", str(log), "undo", str(path), "--yes")
    assert again.exit_code == ExitCode.PARTIAL, again.output
    summary = "Summary: 1 drifted, 0 reverted, 0 failed. 4 changes reverted by an earlier undo."
    assert again.stdout.splitlines()[-1] == summary
    assert f"{summary} (" in log.read_text()  # the log file has the undo's summary too


def test_undo_of_a_header_only_journal_needs_no_confirmation(
    sandbox_factory: SandboxFactory, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A journal that records nothing applied: "Nothing to undo", exit 0, without --yes and
    without a terminal (there is nothing to confirm), and no request."""
    sw, _ = damaged_world()
    sb = sandbox_factory(sw, time_scale=100)
    plan, meta = make_plan_file(sb, tmp_path / "plan.json")
    path = tmp_path / "j.jsonl"
    with Journal.open(path, header(plan, meta, sb)):
        pass
    assert path.read_text().count("\n") == 1  # its header only
    sb.server.request_log.clear()
    result = cli_for(sb, monkeypatch)("undo", str(path))
    assert result.exit_code == ExitCode.OK, result.output
    assert result.stdout == "Nothing to undo: the journal records no change this tool made.\n"
    assert sb.server.request_log == []


def test_quiet_one_shot_with_only_blocked_changes_prints_the_summary(
    sb: Sandbox, scenario: Scenario, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A second ``--yes -q`` run without --add-to-board: every change left is blocked, so there
    is nothing to apply and the run exits 5; its one line is the summary, saying how many are
    blocked (what a run without -q says too), then "Nothing to apply."."""
    invoke = configless_cli(sb, monkeypatch, tmp_path)
    since = incident_since(scenario)
    args = ("--board", scenario.team.id, "--removed-by", scenario.mover.username)
    first = invoke(*args, "--since", since, "--yes", "-q")
    assert first.exit_code == ExitCode.PARTIAL, first.output
    assert "blocked" in first.stdout

    second = invoke(*args, "--since", since, "--yes", "-q")
    assert second.exit_code == ExitCode.PARTIAL, second.output
    lines = second.stdout.splitlines()
    assert len(lines) == 1, lines
    assert re.fullmatch(
        r"Summary: 0 changes \(0 board memberships, 0 card members\), [1-9]\d* blocked, "
        r"\d+ skipped\. Nothing to apply\.",
        lines[0],
    ), lines
    loud = invoke(*args, "--since", since, "--yes")
    assert loud.exit_code == ExitCode.PARTIAL, loud.output
    assert lines[0].removesuffix(" Nothing to apply.") in loud.stdout.splitlines()


def test_undo_settles_a_value_write_left_open_on_a_card_deleted_since(
    sandbox_factory: SandboxFactory, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """R35d: a value write left open (``pending``: a kill while it was in flight) whose card
    was deleted since made every undo say "cannot tell … the card was deleted or moved to
    another board", exit 5, forever (the card members' were settled, the value kinds' were
    not looked for). Read by id, the card is deleted: nothing to set back, settled."""
    from dataclasses import replace

    sb, path = applied_values(sandbox_factory, tmp_path)
    ids = sb.ids
    journal = Journal.read(path)
    done = {r.card_id: r for r in journal.records if r.op == "apply" and r.status == "applied"}
    with Journal.open(path, journal.header) as j:  # as a kill in flight leaves them
        j.append_many([replace(done[ids["c1"]], status="pending")])
    sb.world.delete_card(ids["c1"], ids["ben"])
    monkeypatch.setenv("TRELLO_RESTORE_REQUEST_TIMEOUT", "0.5")  # so, in flight for 0.5 s
    invoke = cli_for(sb, monkeypatch)

    first = invoke("undo", str(path), "--yes")
    assert first.exit_code == ExitCode.OK, first.output
    assert "cannot tell" not in first.output
    assert first.stdout.splitlines()[-1].endswith(" 0 failed."), first.stdout
    latest = {r.change_id: r for r in Journal.read(path).records if r.op == "apply"}
    c1 = latest[done[ids["c1"]].change_id]
    assert (c1.status, c1.error) == (
        "not_applied",
        "the card was deleted after an interrupted write: nothing to undo",
    )
    again = invoke("undo", str(path), "--yes")
    assert again.exit_code == ExitCode.OK, again.output
    assert "cannot tell" not in again.output
