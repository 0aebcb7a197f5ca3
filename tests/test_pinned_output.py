"""Output rules that mutation testing (R58b) found no test would notice broken: each test here
fails with its mutant applied (``/tmp/r58b/mutants.py``) and passes on the code as it is.
Wording rules by unit calls of the function that says them; rules about a run by the command
line against the sandbox."""

from __future__ import annotations

import json
import os
import stat
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest

from trello_restore import wrote
from trello_restore.errors import ExitCode
from trello_restore.given_up import UnreadBoard, given_up_warning
from trello_restore.journal import JournalRecord
from trello_restore.kinds.memberapply import NOT_ACTIVE_MEMBER
from trello_restore.models import MemberRef, Unrestorable, ValueSkipped
from trello_restore.report import render_text
from trello_restore.report_outcomes import blocked_advice, earlier_undo_text
from trello_restore.runner_types import ChangeOutcome
from trello_restore.sandbox.scenario import Scenario
from trello_restore.undo_left import grants_kept_text
from trello_restore.undo_question import UndoPreview, made_of, which_apply

from .conftest import Sandbox, cli_invoker, trello_env
from .test_apply_refused_boards import _not_a_member
from .test_planfile_v2 import CULPRIT, T2
from .test_planfile_v2 import META as V2_META
from .test_planfile_v2 import PLAN as V2_PLAN
from .test_refused_board import _args, _setup

B = "b" * 24


# --------------------------------------------------------------------------- the plan's report


def test_fields_left_alone_counts_fields_not_reasons() -> None:
    """``Fields left alone (N)`` counts the fields left alone, not their reasons: two fields
    skipped for one reason read ``(2)`` (R58b: mutant R13)."""
    skipped = (
        ValueSkipped("card", "k3", "One", "b1", "name", "already_restored", None),
        ValueSkipped("card", "k4", "Two", "b1", "desc", "already_restored", None),
    )
    plan = replace(V2_PLAN, value_skipped=skipped, unrestorable=())
    lines = render_text(plan, V2_META).splitlines()
    (heading,) = [x for x in lines if x.startswith("Fields left alone")]
    assert heading == "Fields left alone (2): already_restored 2"


def test_cannot_be_restored_says_across_boards_when_one_of_them_moved() -> None:
    """The ``Cannot be restored`` heading says ``or across boards`` when its list holds a card
    moved to another board, also beside a deleted card (R58b: mutant R12)."""
    deleted = Unrestorable("card", "k9", "Gone card", "card_deleted", "a7", T2, CULPRIT)
    moved = Unrestorable(
        "card", "k8", "Moved card", "moved_to_other_board", "a8", T2, CULPRIT, "b9", "Elsewhere"
    )
    plan = replace(V2_PLAN, unrestorable=(deleted, moved))
    lines = render_text(plan, V2_META).splitlines()
    (heading,) = [x for x in lines if x.startswith("Cannot be restored")]
    assert heading == "Cannot be restored (2): not in the log, or across boards"
    assert any('moved to board "Elsewhere"' in x for x in lines), lines


# --------------------------------------------------------------------------- apply and undo lines


def test_an_earlier_undo_that_found_changes_gone_says_so() -> None:
    """An earlier undo that removed 2 and found 1 no longer there: ``3 changes settled by an
    earlier undo (2 removed, 1 no longer there).`` (R58b: mutant O16)."""
    records = [
        JournalRecord("c1", "undo", "add_member_to_card", "undone", B, "m1", "c" * 24),
        JournalRecord("c2", "undo", "add_member_to_card", "undone", B, "m2", "c" * 24),
        JournalRecord("c3", "undo", "add_member_to_card", "not_on_card", B, "m3", "c" * 24),
    ]
    assert earlier_undo_text(records) == (
        "3 changes settled by an earlier undo (2 removed, 1 no longer there)."
    )


def test_blocked_advice_asks_for_add_to_board_unless_every_blocked_member_was_granted() -> None:
    """Two members blocked at apply, the plan granting the board to one of them only: the
    advice still asks for ``--add-to-board`` (not "though this plan adds them") (R58b: mutant
    O08)."""
    outcomes = [
        ChangeOutcome("g1", "add_member_to_board", "applied", B, "", "m1"),
        ChangeOutcome(
            "c1", "add_member_to_card", "blocked", B, "c" * 24, "m1", None, NOT_ACTIVE_MEMBER
        ),
        ChangeOutcome(
            "c2", "add_member_to_card", "blocked", B, "d" * 24, "m2", None, NOT_ACTIVE_MEMBER
        ),
    ]
    advice = blocked_advice(outcomes)
    assert advice == (
        "2 changes blocked: the member is not an active member of the card's board now; add "
        "them to the board in Trello and apply this plan again, or make the plan again with "
        "--add-to-board to grant board membership first."
    )
    assert "though this plan adds" not in advice


def test_grants_kept_says_how_many_of_them_are_interrupted() -> None:
    """Two grants an undo leaves, one applied and one interrupted (pending): ``1 of them is an
    interrupted grant`` (not "it is") (R58b: mutant U01)."""
    records = [
        JournalRecord("g1", "apply", "add_member_to_board", "applied", B, "m1"),
        JournalRecord("g2", "apply", "add_member_to_board", "pending", B, "m2"),
    ]
    assert grants_kept_text(records) == (
        "2 board memberships this apply granted stay (1 of them is an interrupted grant that "
        "may have taken effect); undo --include-board-memberships removes them."
    )


def test_the_given_up_warning_keeps_trello_s_answer() -> None:
    """The warning of a board given up earlier keeps what Trello answered, in parentheses
    (R58b: mutant G05)."""
    me = MemberRef("m1", "mover", "Mo Ver")
    board = UnreadBoard(
        "Archive", "HTTP 401 unauthorized permission requested", B, "Archive",
        "2026-12-03T06:52:39Z",
    )  # fmt: skip
    said = given_up_warning(me, board)
    assert "a read of it (HTTP 401 unauthorized permission requested); it is left out" in said


def _preview(
    boards: int, counts: dict[str, int], others: dict[str, int] | None = None
) -> UndoPreview:
    names: dict[str, str | None] = {f"{i:024x}": f"Board {i}" for i in range(1, boards + 1)}
    return UndoPreview("2025-11-02 12:02:00 UTC", names, counts, others or {})


def test_the_undo_question_names_three_boards_before_how_many_more() -> None:
    """Undo's question names the journal's first three boards, then ``and N more boards``
    (R58b: mutant Q03)."""
    said = which_apply(_preview(5, {"add_member_to_card": 1}))
    assert said.startswith("the apply of 2025-11-02 12:02:00 UTC on boards ")
    for shown in ('"Board 1"', '"Board 2"', '"Board 3"'):
        assert shown in said, said
    assert '"Board 4"' not in said, said
    assert said.endswith(" and 2 more boards"), said


def test_the_undo_question_joins_two_parts_without_a_comma() -> None:
    """Two parts of what an undo does read ``X to remove and Y to put back``, no comma; three
    take the serial comma (R58b: mutant Q05)."""
    two = made_of(_preview(1, {"add_member_to_card": 3, "move_card_to_list": 2}))
    assert two == "3 card members to remove and 2 card moves to put back"
    counts = {"add_member_to_card": 3, "move_card_to_list": 2}
    three = made_of(_preview(1, counts, {"j2.journal": 1}), why=False)
    assert three == (
        "3 card members to remove, 2 card moves to put back, and 1 board membership journal "
        "j2.journal granted to remove"
    )


@pytest.fixture(name="clean_journals")
def clean_journals_fixture() -> Iterator[None]:
    """``wrote``'s journals of the running command, empty before and after."""
    wrote.start()
    yield
    wrote.start()


@pytest.mark.usefixtures("clean_journals")
def test_an_error_naming_a_journal_is_not_told_of_it_twice(tmp_path: Path) -> None:
    """An error after writes that names a journal itself is said as it is: not given the
    ``every change this run made is in its journal`` sentence again; one that names none gets
    it (R58b: mutant W03)."""
    journal = tmp_path / "j.journal"
    wrote.journaled(journal)
    named = f"cannot write the journal {journal} (No space left on device)"
    assert wrote.written_then(named) == named
    plain = wrote.written_then("Trello rejected the API key or token")
    assert plain.startswith("Trello rejected the API key or token; every change this run made ")
    assert str(journal) in plain


# --------------------------------------------------------------------------- runs


def test_a_group_readable_log_file_is_made_private(
    sandbox: Sandbox, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    """An existing log file at mode 0640 is 0600 once a run has opened it with ``--log-file``
    (R58b: mutant L12)."""
    log = tmp_path / "run.log"
    log.touch()
    log.chmod(0o640)
    invoke = cli_invoker(monkeypatch)
    env = trello_env(sandbox.base_url, sandbox.key, sandbox.token)
    r = invoke("--log-file", str(log), "--board", "Team", "--since", "400d", "--dry-run", **env)
    assert r.exit_code == ExitCode.OK, r.output
    assert stat.S_IMODE(log.stat().st_mode) == 0o600
    assert log.read_text()  # the run's lines went there


def test_an_error_line_is_not_among_the_json_warnings(
    sb: Sandbox, scenario: Scenario, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The JSON summary's ``warnings`` hold the warnings said, not the ``Error:`` line that
    ends the run (a board the member cannot read, exit 3) (R58b: mutant L02)."""
    s = scenario
    invoke, *_ = _setup(sb, s, tmp_path, monkeypatch)
    _not_a_member(s, s.archive.id, s.mover.id)
    r = invoke(*_args(s, "--yes", "--format", "json", "-q"))
    assert r.exit_code == ExitCode.AUTH, r.output
    (error,) = [x for x in r.stderr.splitlines() if x.startswith("Error: ")]
    summary: dict[str, Any] = json.loads(r.stdout)
    warnings: list[str] = summary["warnings"]
    assert any("left out of the plan" in w for w in warnings), warnings
    assert error.removeprefix("Error: ") not in warnings, warnings


def test_a_warning_naming_a_token_shaped_name_is_said_once_and_alike(
    sb: Sandbox, scenario: Scenario, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A member whose full name is shaped like a Trello token (anyone can name themselves so):
    a warning naming them is in the JSON summary's ``warnings`` once, as stderr says it, and
    both as the log does (the name blanked). (R67d: twice, once raw and once blanked; stderr
    raw.)"""
    s = scenario
    with s.world.lock:
        s.world.members[s.mover.id].full_name = "ATTA" + "ab12" * 16
    invoke, *_ = _setup(sb, s, tmp_path, monkeypatch)
    _not_a_member(s, s.archive.id, s.mover.id)
    r = invoke(*_args(s, "--yes", "--format", "json", "-q"))
    assert r.exit_code == ExitCode.AUTH, r.output
    said = [x.removeprefix("Warning: ") for x in r.stderr.splitlines() if x.startswith("Warning")]
    warnings: list[str] = json.loads(r.stdout)["warnings"]
    assert warnings == said, (warnings, said)
    [refused] = [w for w in warnings if "Trello refused" in w]
    assert f"@{s.mover.username} ([redacted]) read it" in refused, refused
    assert "ab12ab12" not in r.output


#: The command line, with SIGTERM sent to its main thread twice as its JSON summary is written
#: (once the run has ended): the first as that line starts (``after_run``), the second while
#: the command says it was stopped. ``signal.pthread_kill`` to the calling thread runs the
#: handler before it returns: no timing involved.
TWICE_AT_OUTPUT = """
import signal, sys, threading
signal.signal(signal.SIGINT, signal.default_int_handler)
signal.signal(signal.SIGTERM, signal.SIG_DFL)
import trello_restore.plan_out as plan_out
def write_out(*args, **kwargs):
    assert threading.current_thread() is threading.main_thread()
    me = threading.get_ident()
    try:
        signal.pthread_kill(me, signal.SIGTERM)
    finally:
        signal.pthread_kill(me, signal.SIGTERM)
    print("not ended by the second SIGTERM", file=sys.stderr)
plan_out.write_out = write_out
from trello_restore.cli import main
sys.argv[0] = "trello-restore"
main()
"""


def test_a_second_sigterm_after_the_run_ends_the_process_by_sigterm(
    sandbox: Sandbox, tmp_path: Path
) -> None:
    """A second SIGTERM while the command says what its finished run did ends the process by
    SIGTERM (-15, a shell's 143), not with exit 130 (R58b: mutant I03)."""
    env = {
        **os.environ,
        **trello_env(sandbox.base_url, sandbox.key, sandbox.token),
        "TRELLO_RESTORE_HOME": str(tmp_path / "home"),
    }
    args = ["--board", "Team", "--since", "400d", "--yes", "--format", "json", "-q"]
    done = subprocess.run(
        [sys.executable, "-c", TWICE_AT_OUTPUT, *args],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == -15, (done.returncode, done.stderr)
    assert "not ended by the second SIGTERM" not in done.stderr
    assert "Traceback" not in done.stderr
