"""Rules that mutation testing (review R86a) of the last session's code found untested, each
pinned by a test that fails with its mutant applied (or, the first two, on the code before
their fix):

- an undo's write removes a card member once, the first time, also when its answer was
  journaled long after it was sent (an undo resumed after a kill): a removal by hand after it
  is the person's (U11, U6), and the removal dates are Trello's, moved by the skew (U9);
- which killed runs a one-step run waits for before it reads its boards, as its dry run's
  warning names them: not another API URL's (E12), not one whose plan a run applies now (E13,
  O6); counted from when the killed run was last alive (E18), for as long as a request may
  take, connecting and reading (O4), a wait under a second too (I3); the dry run names only
  the journals it would wait for (E22) and rounds the time up (E16);
- a damaged journal beside the others is named with what to do with it (J5);
- a Ctrl-C just before the token prompt's read ends it (Q2); questions in a row never end
  the run by their alarm (Q8)."""

from __future__ import annotations

import json
import logging
import os
import re
import subprocess
import sys
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from types import SimpleNamespace

import click
import pytest

from trello_restore import earlier_journals, in_flight
from trello_restore.api.settings import ApiSettings
from trello_restore.config import _typed_token
from trello_restore.errors import ExitCode
from trello_restore.journal import Journal, JournalRecord
from trello_restore.sandbox.scenario import Scenario
from trello_restore.touches import SLACK, undid

from .conftest import Sandbox, SandboxFactory, sandbox_cli
from .test_kinds_touched import AT, _rec
from .test_pinned_r82a import FAST, Invoke, _by_hand_again, _left_to_the_lead, _plan_p, _undo_killed
from .test_question_interruptible import WATCHDOG_S, _ctrl_c_lost_before_the_read, _ended_within
from .test_rerun_after_kill import Killable, kill_with_a_write_on_the_wire, killable
from .truthcheck import incident_since

SEC = timedelta(seconds=1)
SAID = "may still have writes"

# ------------------------------------------------- 1. an undo's write removes once (U*)


def test_the_narrowing_reads_removals_on_trello_s_clock() -> None:
    """Removal dates are Trello's: "since the write was sent" is its ``pending`` moved by the
    skew (U9). Trello's clock 3 minutes behind: the undo's removal landed 12 s after sending,
    the hand removal 19 s; 3 minutes ahead: a removal a minute before the sending is not one
    since it."""
    unanswered = [_rec("pending", AT, op="undo")]
    behind, ahead = -3 * 60 * SEC, 3 * 60 * SEC
    landed, by_hand = AT + behind + 12 * SEC, AT + behind + 19 * SEC
    assert undid(landed, unanswered, behind, [landed, by_hand])
    assert not undid(by_hand, unanswered, behind, [landed, by_hand])
    before, landed = AT + ahead - 60 * SEC, AT + ahead + 12 * SEC
    assert undid(landed, unanswered, ahead, [before, landed])


def test_a_write_answered_much_later_removes_once_too() -> None:
    """A killed undo's write settled (``undone``) an hour on spans up to ``SLACK`` from its
    sending, as one never answered does; its removal is still only the first after it (U11)."""
    settled = [_rec("pending", AT, op="undo"), _rec("undone", AT + 60 * 60 * SEC, op="undo")]
    landed, by_hand = AT + 12 * SEC, AT + 19 * SEC
    assert undid(landed, settled, timedelta(0), [landed, by_hand])
    assert undid(by_hand, settled, timedelta(0))  # no dates known: as before
    assert not undid(by_hand, settled, timedelta(0), [landed, by_hand])
    assert undid(AT + SLACK, settled, timedelta(0), [AT + SLACK])


def _answered_later(journal: Path, change_id: str, seconds: float) -> None:
    """The journal as an undo resumed ``seconds`` after its write was sent leaves it: that
    change's ``undone`` dated so long after its ``pending``."""
    head, *rest = journal.read_text().splitlines()
    records = [json.loads(x) for x in rest]
    mine = [r for r in records if r["change_id"] == change_id and r["op"] == "undo"]
    sent = datetime.fromisoformat(mine[-2]["at"].replace("Z", "+00:00"))
    assert (mine[-2]["status"], mine[-1]["status"]) == ("pending", "undone"), mine
    later = sent + timedelta(seconds=seconds)
    mine[-1]["at"] = later.isoformat(timespec="milliseconds").replace("+00:00", "Z")
    journal.write_text("\n".join([head, *(json.dumps(r) for r in records)]) + "\n")


def _resumed_after_hand_edits(
    sb: Sandbox, s: Scenario, invoke: Invoke, tmp_path: Path
) -> tuple[str, str]:
    """Plan A applied, its undo killed with its last removal landed, that member put back by
    hand and removed again 20 s on, then the undo resumed: its write's answer journaled half
    a minute after it was sent. That card and member."""
    _, journal_a, victim = _undo_killed(sb, s, invoke, tmp_path)
    card, member = victim["card_id"], victim["member_id"]
    _by_hand_again(s, card, member)
    resumed = invoke("undo", str(journal_a), "--yes", *FAST)
    assert resumed.exit_code in (ExitCode.OK, ExitCode.PARTIAL), resumed.output
    _answered_later(journal_a, victim["change_id"], 30)
    latest = Journal.read(journal_a).latest()[victim["change_id"]]
    assert (latest.op, latest.status) == ("undo", "undone")
    return card, member


def test_a_removal_by_hand_after_a_resumed_undo_s_is_not_that_undo_s(
    sb: Sandbox, scenario: Scenario, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    """R84a's case when the killed undo was resumed half a minute on (``undo JOURNAL`` again)
    before the one-step run: its write's span runs to that answer, and the removal by hand
    20 s after the undo's is still the lead's, whom the run adds back (R86a: it was left out
    as the undo's)."""
    s = scenario
    monkeypatch.setenv("TRELLO_RESTORE_REQUEST_TIMEOUT", "2")  # the wait for the "killed" undo
    invoke = sandbox_cli(sb, monkeypatch)
    card, member = _resumed_after_hand_edits(sb, s, invoke, tmp_path)
    scope = ("--board", s.team.id, "--since", incident_since(s), "--removed-by", s.mover.username)
    once = invoke(*scope, "--yes", *FAST)
    assert once.exit_code in (ExitCode.OK, ExitCode.PARTIAL), once.output
    with s.world.lock:
        assert member in s.world.card(card).id_members, once.output


def test_apply_plan_names_a_removal_by_hand_after_a_resumed_undo_s_as_by_hand(
    sb: Sandbox, scenario: Scenario, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    """The same in ``apply PLAN``'s look at what changed since plan P was made: P's apply
    leaves the member alone (removed after P was made) and names the lead, not the undo with
    "plan again to add them back" (``touches.undone_elsewhere`` reads the removal dates of
    its own read)."""
    s = scenario
    monkeypatch.setenv("TRELLO_RESTORE_REQUEST_TIMEOUT", "2")  # the wait for the "killed" undo
    invoke = sandbox_cli(sb, monkeypatch)
    plan_p = _plan_p(s, invoke, tmp_path)
    card, member = _resumed_after_hand_edits(sb, s, invoke, tmp_path)
    applied = invoke("apply", str(plan_p), "--yes", *FAST)
    assert applied.exit_code in (ExitCode.OK, ExitCode.PARTIAL), applied.output
    _left_to_the_lead(s, applied.output, card, member)


# ------------------------------------- 2. which killed runs a one-step run waits for (E*, O*)


def _killed_apply(
    sandbox_factory: SandboxFactory, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> Killable:
    """An apply killed with a card member write on the wire, its journal in the journal
    directory; later runs' requests may take 30 s and more (so the wait is not over yet)."""
    k = killable(sandbox_factory, monkeypatch, tmp_path)
    journals = Path(os.environ["TRELLO_RESTORE_HOME"]) / "state" / "journals"
    journals.mkdir(parents=True)
    k = k._replace(journal=journals / "a.jsonl")
    args = ["apply", str(k.plan), "--journal", str(k.journal), "--yes", *FAST]
    kill_with_a_write_on_the_wire(k, args, "apply")
    k.sb.server.set_options(write_latency_ms=0)
    monkeypatch.setenv("TRELLO_RESTORE_REQUEST_TIMEOUT", "30")
    return k


def _dry(k: Killable) -> list[str]:
    """The one-step dry run's warnings of writes that may still be in flight."""
    dry = k.invoke("--board", k.s.team.id, "--since", incident_since(k.s), "--dry-run", *FAST)
    assert dry.exit_code == ExitCode.OK, dry.output
    return [x for x in dry.stderr.splitlines() if SAID in x]


def _rewrite(journal: Path, header: dict[str, object] | None = None, back_s: float = 0) -> None:
    """The journal with its header's fields replaced by ``header``'s, its records dated
    ``back_s`` earlier."""
    first, *rest = journal.read_text().splitlines()
    lines = [json.dumps({**json.loads(first), **(header or {})})]
    for x in rest:
        r = json.loads(x)
        at = datetime.fromisoformat(r["at"].replace("Z", "+00:00")) - timedelta(seconds=back_s)
        r["at"] = at.isoformat(timespec="milliseconds").replace("+00:00", "Z")
        lines.append(json.dumps(r))
    journal.write_text("\n".join(lines) + "\n")


def test_a_killed_apply_is_waited_for_as_long_as_a_request_may_take(
    sandbox_factory: SandboxFactory, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    """A write sent just before the kill may land until connecting and reading have both
    timed out (``max_request_s``, as the settling waits): with a 30 s request timeout, over
    30 s from now (O4: the read's alone was said)."""
    k = _killed_apply(sandbox_factory, monkeypatch, tmp_path)
    assert sum(ApiSettings.timeouts(30)) - 30 >= 3
    (said,) = _dry(k)
    left = re.search(r"run it again in (\d+) s", said)
    assert left is not None, said
    assert int(left.group(1)) > 30, said


def test_another_api_url_s_killed_run_is_not_waited_for(
    sandbox_factory: SandboxFactory, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    k = _killed_apply(sandbox_factory, monkeypatch, tmp_path)
    _rewrite(k.journal, {"api_url": "https://api.elsewhere.example/1"})
    assert _dry(k) == []


def test_a_journal_whose_plan_a_run_applies_now_is_not_waited_for(
    sandbox_factory: SandboxFactory, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    """Its plan's lock held by a live run: writes under way, not a killed run's (E13, O6)."""
    k = _killed_apply(sandbox_factory, monkeypatch, tmp_path)
    digest = json.loads(k.journal.read_text().splitlines()[0])["plan_digest"]
    state = Path(os.environ["TRELLO_RESTORE_HOME"]) / "state"
    holder = subprocess.Popen(  # an apply of that plan at work now (its plan lock held)
        [
            sys.executable,
            "-c",
            "import sys, time; from pathlib import Path; from trello_restore import locks\n"
            "with locks.hold(locks.lock_dir(Path(sys.argv[1])), [sys.argv[2]]):\n"
            "    print('held', flush=True); time.sleep(60)",
            str(state),
            f"plan-{digest[:16]}",
        ],
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert holder.stdout is not None
        assert holder.stdout.readline().strip() == "held"
        assert _dry(k) == []
    finally:
        holder.kill()
        holder.communicate()


def test_the_wait_counts_from_when_the_killed_run_was_last_alive(
    sandbox_factory: SandboxFactory, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    """Its write journaled 90 s before it was killed (retried that long, say): the journal
    was written just now, so the write may still be on its way (E18)."""
    k = _killed_apply(sandbox_factory, monkeypatch, tmp_path)
    _rewrite(k.journal, back_s=90)
    assert _dry(k)


def test_the_dry_run_names_only_the_journals_whose_writes_may_be_in_flight(
    sandbox_factory: SandboxFactory, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    """R83a in the one-step dry run: a journal killed an hour ago is not named beside the one
    just killed (E22)."""
    k = _killed_apply(sandbox_factory, monkeypatch, tmp_path)
    old = k.journal.with_name("old.jsonl")
    old.write_text(k.journal.read_text())
    _rewrite(old, back_s=3600)
    hour_ago = old.stat().st_mtime - 3600
    os.utime(old, (hour_ago, hour_ago))
    (said,) = _dry(k)
    assert f"({k.journal})" in said, said


def test_the_dry_run_s_wait_is_rounded_up(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    """1.4 s left is said as 2 s, not 1 (E16)."""
    monkeypatch.setattr(earlier_journals, "in_flight_left", lambda waits, s: (1.4, ["j.jsonl"]))
    with caplog.at_level(logging.WARNING):
        earlier_journals.wait_for_earlier(
            tmp_path, api_url="http://x/1", lock_dir=tmp_path / "locks", max_request_s=4,
            dry_run=True,
        )  # fmt: skip
    (said,) = caplog.messages
    assert said.endswith("run it again in 2 s to see what they did"), said


def test_a_wait_under_a_second_is_still_taken(monkeypatch: pytest.MonkeyPatch) -> None:
    """A write sent ``max_request_s`` less half a second ago may land in that half second
    (I3)."""
    slept: list[float] = []
    clock = SimpleNamespace(time=time.time, sleep=slept.append)
    monkeypatch.setattr(in_flight, "time", clock)  # its own, not every thread's
    sent = datetime.fromtimestamp(time.time() - 3.5, UTC).isoformat(timespec="milliseconds")
    rec = JournalRecord(
        change_id="c1", op="apply", action="add_member_to_card", status="pending",
        board_id="b1", member_id="m1", card_id="k1", at=sent.replace("+00:00", "Z"),
    )  # fmt: skip
    in_flight.wait_for_in_flight([(Path("j.jsonl"), [rec], None)], 4.0)
    (took,) = slept
    assert 0 < took <= 1, slept


# ------------------------------------------------------ 3. a damaged journal beside (J5)


def test_a_damaged_journal_beside_is_named_with_what_to_do_with_it(
    sb: Sandbox, scenario: Scenario, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    """Looked into by a one-step run for this tool's undos, it is named with advice for a
    file in the journal directory (R82c), not "give the journal file apply printed"."""
    s = scenario
    invoke = sandbox_cli(sb, monkeypatch)
    journals, _, _ = _undo_killed(sb, s, invoke, tmp_path)
    (journals / "zz.jsonl").write_text('{"op": "undo", "action": "add_member_to_card"\n')
    scope = ("--board", s.team.id, "--since", incident_since(s), "--removed-by", s.mover.username)
    once = invoke(*scope, "--yes", *FAST)
    said = [x for x in once.output.splitlines() if "zz.jsonl" in x]
    assert said, once.output
    assert "move it out of the journal directory" in said[0], said[0]
    assert "give the journal file apply printed" not in said[0], said[0]


# ------------------------------------------------------------ 4. questions and signals (Q*)


def test_the_token_prompt_ends_at_a_ctrl_c_it_did_not_see_come(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """R82b at the token prompt: a Ctrl-C just before its read began ends it within a tick
    (Q2)."""
    with _ctrl_c_lost_before_the_read() as pipe:
        monkeypatch.setattr("getpass.getpass", lambda prompt="": os.read(pipe, 2).decode())
        _ended_within(WATCHDOG_S / 2, (KeyboardInterrupt, click.Abort), _typed_token)


def test_questions_in_a_row_never_end_the_run_by_their_alarm() -> None:
    """Each question's ticker is done sending SIGALRM before its handler is put back
    (otherwise a tick after it ends the process: "Alarm clock", exit -14; Q8)."""
    code = (
        "from trello_restore.interrupts import interruptible\n"
        "for _ in range(3000):\n"
        "    with interruptible(tick=0.0002):\n"
        "        pass\n"
        "print('ok')"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert (done.returncode, done.stdout.strip()) == (0, "ok"), (done.returncode, done.stderr)
