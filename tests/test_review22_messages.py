"""Review 22's message fixes (G22), against the sandbox over loopback where they need one:

2. A card member blocked at apply because the member left the card's board after the plan was
   made said only ``(the member is not an active member of the card's board)``, exit 5, and
   nothing about what to do: one line after the summary says it, once.
3. A plan file saved with a UTF-8 byte order mark (Notepad) was refused in Python's words
   ("Unexpected UTF-8 BOM (decode using utf-8-sig)"): a plan, a config file, a board export
   and a token piped to ``--token -`` are read past one; a journal (this tool's own, which a
   BOM means was edited by hand) says so in one clear line.
4. A damaged journal line said "Unterminated string starting at at column 77": JSON problems
   are said in the tool's words, with where.
5. Undo's progress line counted field reverts as "2 removed": it counts in the words of the
   kinds it undoes, as the summary does ("reverted", "already reverted").
6. A grant whose member was put on the board as an observer after the plan was made read
   ``already there … → board X as normal`` at apply: the line says their role now, and that
   it is left as it is.
"""

from __future__ import annotations

import io
import json
from collections.abc import Callable
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest
from click.testing import Result

from trello_restore import cli
from trello_restore.api import MemberStandIn, TrelloApi
from trello_restore.config import read_token_flag
from trello_restore.config_file import load_config
from trello_restore.errors import ExitCode, InputFileError
from trello_restore.journal import Journal
from trello_restore.report_outcomes import Progress, blocked_advice
from trello_restore.runner_types import ChangeOutcome
from trello_restore.sandbox.scenario import Scenario

from .conftest import Sandbox, SandboxFactory, configless_cli, one_line_error, run_cli
from .conftest import sandbox_cli as cli_for
from .test_apply_values import applied_values
from .truthcheck import incident_since

Invoke = Callable[..., Result]


@pytest.fixture(name="invoke")
def invoke_fixture(sb: Sandbox, monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Invoke:
    """The CLI in-process, pointed at the sandbox, reading no config file."""
    return configless_cli(sb, monkeypatch, tmp_path)


def _plan(invoke: Invoke, scenario: Scenario, path: Path, *more: str) -> dict[str, object]:
    scope = ["--board", scenario.team.id, "--since", incident_since(scenario), *more]
    r = invoke(*scope, "--dry-run", "--quiet", "--plan-out", str(path))
    assert r.exit_code == 0, r.output
    doc: dict[str, object] = json.loads(path.read_text())
    return doc


# -------------------------------------------------------- 2. blocked at apply: what to do

ADVICE = (
    "blocked: the member is not an active member of the card's board now; add {} to the "
    "board in Trello and apply this plan again, or make the plan again with --add-to-board "
    "to grant board membership first."
)


def test_changes_blocked_at_apply_say_what_to_do_once_after_the_summary(
    invoke: Invoke, scenario: Scenario, sb: Sandbox, tmp_path: Path
) -> None:
    plan = _plan(invoke, scenario, tmp_path / "plan.json")
    changes = plan["changes"]
    assert isinstance(changes, list)
    first = next(c for c in changes if c["action"] == "add_member_to_card")
    board, member = first["board"]["id"], first["member"]["id"]
    # The member leaves the card's board after the plan was made.
    sb.world.remove_member_from_board(board, member, scenario.mover.id)
    mine = [c for c in changes if c["board"]["id"] == board and c["member"]["id"] == member]

    r = invoke("apply", str(tmp_path / "plan.json"), "--yes")
    assert r.exit_code == ExitCode.PARTIAL, r.output
    lines = r.output.splitlines()
    summary = next(i for i, x in enumerate(lines) if x.startswith("Summary: "))
    n = len(mine)
    advice = f"{n} change{'s' if n != 1 else ''} " + ADVICE.format("the member")
    assert [x for x in lines if "to the board in Trello" in x] == [advice]
    assert lines.index(advice) > summary
    blocked = [
        x for x in lines if x.endswith("(the member is not an active member of the card's board)")
    ]
    assert len(blocked) == n

    # Given back the board, the same plan's apply adds them: the advice holds, and is gone.
    sb.world.add_member_to_board(board, member, scenario.mover.id, "normal")
    again = invoke("apply", str(tmp_path / "plan.json"), "--yes")
    assert again.exit_code == ExitCode.PARTIAL, again.output  # the plan's own blocked ones
    assert f"Summary: {n} applied" in again.output
    assert "to the board in Trello" not in again.output


def test_the_advice_to_a_plan_that_grants_the_board_asks_for_no_add_to_board(
    invoke: Invoke, scenario: Scenario, sb: Sandbox, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """R42d: a member this plan granted the board, taken off it while the apply wrote, was
    advised "make the plan again with --add-to-board": this plan has it, and made again it
    would undo a colleague's removal. The advice says the plan adds them and someone took them
    off since."""
    plan = _plan(invoke, scenario, tmp_path / "plan.json", "--add-to-board")
    changes = plan["changes"]
    assert isinstance(changes, list)
    grant = next(c for c in changes if c["action"] == "add_member_to_board")
    board, member = grant["board"]["id"], grant["member"]["id"]
    original = TrelloApi.add_card_member

    def taken_off(api: TrelloApi, card_id: str, who: MemberStandIn) -> Any:
        if who.id == member and member in sb.world.boards[board].memberships:
            sb.world.remove_member_from_board(board, member, scenario.mover.id)
        return original(api, card_id, who)

    monkeypatch.setattr(TrelloApi, "add_card_member", taken_off)
    r = invoke("apply", str(tmp_path / "plan.json"), "--yes", "--workers", "1")
    assert r.exit_code == ExitCode.PARTIAL, r.output
    (advice,) = [x for x in r.output.splitlines() if "to the board in Trello" in x]
    assert advice.endswith(
        "blocked: the member is not an active member of the card's board now, though this plan "
        "adds the member to it: someone took the member off it since; if the member should be on "
        "it, add the member to the board in Trello and apply this plan again."
    ), advice


def test_the_advice_of_a_one_step_run_is_to_run_again_and_a_quiet_run_has_none(
    invoke: Invoke, scenario: Scenario, sb: Sandbox, tmp_path: Path
) -> None:
    """The pure wording for a one-step run (it plans again, so: run it again); and ``-q``
    prints only the summary line, the advice not."""
    why = "the member is not an active member of the card's board"
    outcome = ChangeOutcome("c1", "add_member_to_card", "blocked", "B", "k", "m1", error=why)
    other = replace(outcome, member_id="m2", error="not_board_member")
    more = replace(outcome, change_id="c2", member_id="m3")
    text = blocked_advice([outcome, more, other], one_shot=True)
    assert text == (
        "2 changes blocked: the member is not an active member of the card's board now; add "
        "them to the board in Trello and run the same command again, or run it with "
        "--add-to-board to grant board membership first."
    )
    assert blocked_advice([other]) is None

    plan = _plan(invoke, scenario, tmp_path / "plan.json")
    changes = plan["changes"]
    assert isinstance(changes, list)
    first = next(c for c in changes if c["action"] == "add_member_to_card")
    sb.world.remove_member_from_board(
        first["board"]["id"], first["member"]["id"], scenario.mover.id
    )
    r = invoke("apply", str(tmp_path / "plan.json"), "--yes", "-q")
    assert r.exit_code == ExitCode.PARTIAL, r.output
    assert r.stdout.startswith("Summary: ")
    assert len(r.stdout.splitlines()) == 1


# ------------------------------------------------------- 3. a byte order mark, 4. JSON words

BOM = "\ufeff".encode()


def test_a_plan_saved_with_a_bom_and_crlf_applies_as_the_plan(
    invoke: Invoke, scenario: Scenario, tmp_path: Path
) -> None:
    _plan(invoke, scenario, tmp_path / "plan.json")
    plain = invoke("apply", str(tmp_path / "plan.json"), "--dry-run")
    notepad = tmp_path / "notepad.json"
    notepad.write_bytes(BOM + (tmp_path / "plan.json").read_bytes().replace(b"\n", b"\r\n"))
    r = invoke("apply", str(notepad), "--dry-run")
    assert r.exit_code == plain.exit_code, r.output
    assert r.stdout == plain.stdout
    assert "would be applied" in r.stdout


def test_a_config_file_an_export_and_a_token_with_a_bom_are_read(tmp_path: Path) -> None:
    config = tmp_path / "config.toml"
    config.write_bytes(BOM + b'[restore]\r\ncause = "move"\r\n')
    assert load_config(config, explicit=True).values[("restore", "cause")] == "move"
    assert read_token_flag("-", io.StringIO("\ufeffATTAtoken\r\n")) == "ATTAtoken"

    export = tmp_path / "team.json"
    r = run_cli(["sandbox", "export", "--seed", "1", "--cards", "20", "--board", "team",
                 "-o", str(export)])  # fmt: skip
    assert r.exit_code == 0, r.output
    args = ["--since", "2025-11-02", "--dry-run"]
    plain = run_cli(["--from-export", str(export), *args])
    export.write_bytes(BOM + export.read_bytes())
    r = run_cli(["--from-export", str(export), *args])
    assert r.exit_code == plain.exit_code == ExitCode.OK, r.output
    assert r.stdout == plain.stdout


def test_a_journal_with_a_bom_or_a_damaged_line_says_so_in_the_tools_words(
    invoke: Invoke, scenario: Scenario, tmp_path: Path
) -> None:
    _plan(invoke, scenario, tmp_path / "plan.json")
    path = tmp_path / "journal.jsonl"
    r = invoke("apply", str(tmp_path / "plan.json"), "--yes", "--journal", str(path))
    assert r.exit_code == ExitCode.PARTIAL, r.output
    text = path.read_bytes()
    path.write_bytes(BOM + text)
    r = invoke("undo", str(path), "--yes")
    one_line_error(r, ExitCode.USAGE, f"{path} starts with a byte order mark (BOM)",
                   "save it as UTF-8 without a BOM (it was not changed)")  # fmt: skip
    assert "utf-8-sig" not in r.output

    head, first, *rest = text.decode().splitlines()
    path.write_text("\n".join([head, first[:40], *rest]) + "\n")  # cut inside a string
    with pytest.raises(InputFileError) as caught:
        Journal.read(path)
    why = str(caught.value)
    assert "line 2 is damaged (not JSON: a string that is never closed, starting at column" in why
    assert "at at" not in why

    bad = tmp_path / "bad.json"
    bad.write_text('{"format": "trello-restore-plan"\n "x": 1}\n')
    r = invoke("apply", str(bad), "--dry-run")
    one_line_error(r, ExitCode.USAGE, "is not valid JSON (a ',' missing between two items, at "
                   "line 2, column 2); make it again with --plan-out")  # fmt: skip


# ------------------------------------------------------------- 5. undo's progress words


def _drawn(stderr: str) -> str:
    """The last status line drawn (each is drawn after a carriage return)."""
    return [x for x in stderr.split("\r") if x.startswith("[")][-1].removesuffix("\x1b[K")


def test_undos_progress_line_counts_in_the_words_of_the_kinds_it_undoes(
    sandbox_factory: SandboxFactory,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    sb, path = applied_values(sandbox_factory, tmp_path)
    sb.world.set_card_closed(sb.ids["c1"], True, sb.ids["ben"])  # set back by hand already
    monkeypatch.setattr(cli, "_stderr_is_terminal", lambda: True)
    r = cli_for(sb, monkeypatch)("undo", str(path), "--yes")
    assert r.exit_code == ExitCode.OK, r.output
    line = _drawn(r.stderr)
    assert line.startswith("[########################]  5/5  ")
    assert "1 already reverted, 4 reverted" in line
    assert "removed" not in line
    assert "satisfied" not in line

    # A member's undo keeps its words; one of each: the plain, mixed ones.
    member = ChangeOutcome("c1", "add_member_to_card", "undone", "B", "k", "m1")
    field = replace(member, change_id="c2", action="set_card_field")
    progress = Progress(2, enabled=True, undo=True)
    progress(member)
    assert "1 removed" in _drawn(capsys.readouterr().err)
    progress(field)
    assert "2 undone" in _drawn(capsys.readouterr().err)


# ---------------------------------------------------- 6. a grant found in another role


def test_a_grant_whose_member_is_on_the_board_in_another_role_says_so(
    invoke: Invoke, scenario: Scenario, sb: Sandbox, tmp_path: Path
) -> None:
    plan = _plan(invoke, scenario, tmp_path / "plan.json", "--add-to-board")
    changes = plan["changes"]
    assert isinstance(changes, list)
    grants = [c for c in changes if c["action"] == "add_member_to_board"]
    assert len(grants) >= 2
    board = grants[0]["board"]["id"]
    # One made an observer of the board, one a normal member (the plan's role), by hand.
    sb.world.add_member_to_board(board, grants[0]["member"]["id"], scenario.mover.id, "observer")
    sb.world.add_member_to_board(board, grants[1]["member"]["id"], scenario.mover.id, "normal")

    r = invoke("apply", str(tmp_path / "plan.json"), "--yes", "-v", "--format", "json")
    assert r.exit_code in (ExitCode.OK, ExitCode.PARTIAL), r.output
    there = [x for x in r.stderr.splitlines() if x.startswith("  already there ")]
    assert len(there) == 2, r.stderr
    observer = f"@{grants[0]['member']['username']}"
    [changed] = [x for x in there if observer in x]
    assert changed.endswith(
        "as normal  (on the board already as observer, not normal: left as it is)"
    )
    [same] = [x for x in there if observer not in x]
    assert same.endswith(" as normal")
    doc = json.loads(r.stdout)
    [entry] = [c for c in doc["changes"] if c["change_id"] == grants[0]["change_id"]]
    assert entry["status"] == "already_satisfied"
    assert entry["error"] == "on the board already as observer, not normal: left as it is"
    # Left as it is: still an observer.
    membership = sb.world.boards[board].memberships[grants[0]["member"]["id"]]
    assert membership.member_type == "observer"
