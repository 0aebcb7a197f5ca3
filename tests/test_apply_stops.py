"""Applies and undos that must stop early, and members who must never be written (issue 9,
items 3-5; design.md §5 "Stopping", §3 "deactivated"), over real HTTP against the sandbox:

- Trello failing during the writes (every answer 5xx): the breaker stops the run within a
  minute of Trello time after a bounded number of requests, exit 4, the journal resumable;
  a resume once Trello is back finishes the plan exactly. The same for undo, and from the
  command line (the line that says why, the journal and how to resume).
- A token whose member may not write to the board (an observer there) or is deactivated:
  exit 3 after at most a couple of writes, one line naming the member and the board; a run
  after the rights are back finishes the plan exactly.
- A member deactivated between plan and apply, on any board the plan touches: neither
  granted nor added; everything else exactly as planned.
"""

from __future__ import annotations

import dataclasses
import json
import re
import threading
import time
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

import pytest
import requests
import urllib3.exceptions
from click.testing import Result
from requests.adapters import HTTPAdapter

from trello_restore.applier import ApplyReport, Breaker, ChangeOutcome
from trello_restore.errors import ApiUnreachable, ExitCode, PermissionDenied, RateLimited
from trello_restore.journal import DONE, Journal
from trello_restore.planfile import PlanDict
from trello_restore.sandbox.scenario import Scenario, generate
from trello_restore.sandbox.server import RequestRecord
from trello_restore.sandbox.truth import GroundTruth
from trello_restore.undo import undo_journal

from .applykit import (
    api_for,
    apply_doc,
    diff,
    expected,
    fast_options,
    open_journal,
    plan_doc,
    snapshot,
)
from .conftest import Sandbox, SandboxFactory, cli_invoker, sandbox_cli
from .test_cli_apply import _restore_args
from .truthcheck import incident_since

WRITES = ("POST", "PUT", "DELETE")
#: The sandbox's time runs this much faster than Trello's in the engine tests.
SCALE = 100
#: A board read (its memberships nested in it, when ``memberships`` is among its query's names).
BOARD_READ = re.compile(r"^/1/boards/([0-9a-f]{24})$")


def _writes(log: list[RequestRecord]) -> list[RequestRecord]:
    return [r for r in log if r.method in WRITES]


def _apply(
    sb: Sandbox,
    doc: PlanDict,
    path: Path,
    progress: Callable[[ChangeOutcome], None] | None = None,
) -> ApplyReport:
    """Apply ``doc`` with options scaled like the sandbox (1 s backoff, 10 s window)."""
    with api_for(sb) as api, open_journal(doc, path, api) as journal:
        return apply_doc(doc, api, journal, fast_options(backoff_s=1.0 / SCALE), progress)


class Outage:
    """Makes the sandbox answer every request 5xx once ``after`` outcomes have the status
    ``status``, remembering when (and where the request log was) the outage began."""

    def __init__(self, sb: Sandbox, after: int, status: str) -> None:
        self.sb, self.after, self.status = sb, after, status
        self.seen = 0
        self.started_at: float | None = None
        self.log_start = 0

    def __call__(self, outcome: ChangeOutcome) -> None:
        if outcome.status == self.status:
            self.seen += 1
        if self.seen >= self.after and self.started_at is None:
            self.log_start = len(self.sb.server.request_log)
            self.started_at = time.monotonic()
            self.sb.server.set_options(error_rate=1.0)

    def requests(self) -> list[RequestRecord]:
        """What the sandbox saw since the outage began."""
        return self.sb.server.request_log[self.log_start :]

    def end(self) -> None:
        self.sb.server.set_options(error_rate=0.0)


def _assert_stopped_resumably(
    report: ApplyReport, path: Path, outage: Outage, op: str = "apply"
) -> None:
    """Exit 4 with a reason, within a minute of Trello time after the outage began, after a
    bounded number of requests; what was not attempted has no journal record at all."""
    assert outage.started_at is not None
    trello_s = (time.monotonic() - outage.started_at) * SCALE
    during = outage.requests()
    options = fast_options()
    print(
        f"outage: ended after {trello_s:.1f} s of Trello time, {len(during)} requests; "
        f"{report.counts}; {getattr(report, 'stopped', '')}"
    )
    assert report.exit_code == ExitCode.UNREACHABLE
    assert trello_s < 60
    # The streak that opens the breaker, plus what was in flight or already retrying then.
    assert len(during) <= options.breaker_attempts + 3 * options.workers
    assert report.stopped.startswith("Trello kept failing")
    assert {r.status for r in during} <= {500, 502, 503}
    not_attempted = {o.change_id for o in report.outcomes if o.status == "not_attempted"}
    assert len(not_attempted) > len(report.outcomes) // 2
    journaled = {r.change_id for r in Journal.read(path).records if r.op == op}
    assert not (not_attempted & journaled), "a change never sent is never journaled"


def test_an_outage_during_the_writes_stops_the_apply_and_a_resume_finishes_it(
    sandbox_factory: SandboxFactory, tmp_path: Path
) -> None:
    """Every answer 5xx from the 30th change applied on (half of the faulted writes land
    before the fault): exit 4 within a minute of Trello time, a bounded number of requests,
    changes never started not journaled; once Trello is back, the same apply again ends
    with exactly the ground truth, every change this tool's (``applied``)."""
    s = generate(62, 300)
    truth = s.truth("d")
    sb = sandbox_factory(s, time_scale=SCALE, latency_ms=200)
    doc = plan_doc(sb, s, "d")
    before = snapshot(s.world)
    path = tmp_path / "j.jsonl"
    outage = Outage(sb, 30, "applied")
    report = _apply(sb, doc, path, outage)
    _assert_stopped_resumably(report, path, outage)

    outage.end()
    again = _apply(sb, doc, path)
    assert again.exit_code == ExitCode.OK, again.counts
    assert not again.stopped
    assert diff(snapshot(s.world), expected(before, truth)) == []
    assert {r.status for r in Journal.read(path).latest().values()} == {"applied"}


def test_an_outage_during_undo_stops_it_and_a_second_undo_finishes_it(
    sandbox_factory: SandboxFactory, tmp_path: Path
) -> None:
    """Undo runs on the same engine: an outage mid-undo stops it with the same exit code,
    before any board membership is touched; undoing again once Trello is back gives the
    pre-apply memberships exactly."""
    s = generate(63, 200)
    sb = sandbox_factory(s, time_scale=SCALE, latency_ms=200)
    doc = plan_doc(sb, s, "b")
    before = snapshot(s.world)
    path = tmp_path / "j.jsonl"
    assert _apply(sb, doc, path).exit_code == ExitCode.OK

    def undo(progress: Outage | None) -> ApplyReport:
        header = Journal.read(path).header
        with api_for(sb) as api, Journal.open(path, header) as journal:
            return undo_journal(
                journal,
                api,
                fast_options(backoff_s=1.0 / SCALE),
                include_board_memberships=True,
                progress=progress,
                lock_dir=path.parent / "locks",
            )

    outage = Outage(sb, 10, "undone")
    report = undo(outage)
    _assert_stopped_resumably(report, path, outage, "undo")
    boards = [o for o in report.outcomes if o.action == "add_member_to_board"]
    assert boards
    assert {o.status for o in boards} == {"not_attempted"}

    outage.end()
    again = undo(None)
    assert again.exit_code == ExitCode.OK, again.counts
    assert snapshot(s.world) == before


@pytest.mark.parametrize(
    ("outage", "why", "then"),
    [
        ({"error_rate": 1.0}, "Trello kept failing", "When Trello works again"),
        # Every connection closed after the write was made (R67a: "Trello kept failing …
        # When Trello works again" when no answer came at all, as when the network is down).
        (
            {"drop_rate": 1.0, "fault_after_write_share": 1.0},
            "no answer from the Trello API: ",
            "When it answers again",
        ),
    ],
)
def test_an_outage_from_the_command_line_says_why_and_how_to_resume(
    sandbox_factory: SandboxFactory,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    outage: dict[str, float],
    why: str,
    then: str,
) -> None:
    """``apply PLAN`` (real backoff, -q as in cron) during an outage: exit 4, the summary with
    the changes not attempted, one error line with the reason, the journal and the resume
    command; the same command once Trello is back exits 0 with the plan done. With no answer
    at all, the line does not say Trello failed; either way the writes that failed say that
    the change may have been made (some were: R67a, R68a)."""
    s = generate(64, 120)
    sb = sandbox_factory(s, token_limit=10_000, key_limit=10_000)
    doc = plan_doc(sb, s, "b")
    truth = s.truth("b")
    before = snapshot(s.world)
    plan = tmp_path / "plan.json"
    invoke = cli_invoker(monkeypatch)
    env = {"TRELLO_API_URL": sb.base_url, "TRELLO_API_KEY": sb.key, "TRELLO_TOKEN": sb.token}
    since = incident_since(s)
    made = invoke("--board", s.team.id, "--since", since, "--removed-by", s.mover.username,
                  "--add-to-board", "--dry-run", "--plan-out", str(plan), **env)  # fmt: skip
    assert made.exit_code == 0, made.output
    stop = threading.Event()

    def outage_after_ten_writes() -> None:
        while not stop.wait(0.005):
            if len(_writes(sb.server.request_log)) >= 10:
                sb.server.set_options(**outage)
                return

    watcher = threading.Thread(target=outage_after_ten_writes)
    watcher.start()
    try:
        started = time.monotonic()
        result = invoke("apply", str(plan), "-q", "--rate-limit", "1000")
        seconds = time.monotonic() - started
    finally:
        stop.set()
        watcher.join()
    assert result.exit_code == ExitCode.UNREACHABLE, result.output
    assert seconds < 20
    errors = [line for line in result.stderr.splitlines() if line.startswith("Error: ")]
    assert len(errors) == 1, result.stderr
    assert why in errors[0]
    assert f"{then}: run trello-restore apply" in errors[0]
    assert "not attempted" in errors[0]
    journal = re.search(r"journal (\S+\.jsonl)\)", errors[0])
    assert journal is not None, errors[0]
    records = Journal.read(Path(journal.group(1))).records
    assert records
    assert {r.change_id for r in records} < {c["change_id"] for c in doc["changes"]}
    assert f"run trello-restore apply {plan} again to resume" in errors[0]
    assert "not attempted" in result.stdout  # the summary line
    assert "Traceback" not in result.output
    # The writes that failed (not the card adds whose grant did, which were not sent).
    failed = [r.error for r in records if r.status == "failed" and "granting" not in r.error]
    assert failed
    assert all("the change may have been made" in e for e in failed), failed

    sb.server.set_options(error_rate=0.0, drop_rate=0.0)
    again = invoke("apply", str(plan), "-q", "--rate-limit", "1000")
    assert again.exit_code == ExitCode.OK, again.output
    assert diff(snapshot(s.world), expected(before, truth)) == []
    assert len(doc["changes"]) > 10


def _writes_refused(
    sb: Sandbox, scenario: Scenario, monkeypatch: pytest.MonkeyPatch, lost: int
) -> Result:
    """A one-step run (``--format json``, one worker) whose reads work and whose first ``lost``
    writes reach Trello, which makes them, with their answers lost; every later write's
    connection is refused (the network went down)."""
    invoke = sandbox_cli(sb, monkeypatch)
    real_send, sent = HTTPAdapter.send, [0]

    def lost_then_down(self: HTTPAdapter, request: Any, *args: Any, **kwargs: Any) -> Any:
        if request.method == "GET":
            return real_send(self, request, *args, **kwargs)
        sent[0] += 1
        if sent[0] > lost:
            refused = urllib3.exceptions.NewConnectionError(None, "refused")  # type: ignore[arg-type]
            raise requests.ConnectionError(urllib3.exceptions.MaxRetryError(None, "/", refused))  # type: ignore[arg-type]
        real_send(self, request, *args, **kwargs)
        raise requests.ConnectionError(urllib3.exceptions.ProtocolError("reset"))

    monkeypatch.setattr(HTTPAdapter, "send", lost_then_down)
    args = (*_restore_args(scenario), "--yes", "--no-cache", "--workers", "1", "--format", "json")
    return invoke(*args, TRELLO_RESTORE_MAX_RETRIES="2")


def test_writes_that_never_connect_stop_the_run_saying_nothing_was_changed(
    sb: Sandbox, scenario: Scenario, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Every write's connection refused: the run stops (no answer: the network) and its line
    says nothing was changed, as none left (R68a: it said only what was not attempted)."""
    r = _writes_refused(sb, scenario, monkeypatch, lost=0)
    assert r.exit_code == ExitCode.UNREACHABLE, r.output
    (line,) = [x for x in r.stderr.splitlines() if x.startswith("Error: ")]
    assert line.startswith("Error: no answer from the Trello API: "), line
    assert " not attempted, nothing was changed by this run, journal " in line, line
    assert _writes(sb.server.request_log) == []
    doc = json.loads(r.stdout)  # the requests counted are those Trello got (R68a: and more)
    assert doc["plan"]["plan_requests"] + doc["apply"]["requests"] == len(sb.server.request_log)


def test_a_write_whose_answer_was_lost_then_refused_says_it_may_have_been_made(
    sb: Sandbox, scenario: Scenario, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The first write reaches Trello, which makes it, and its answer is lost; then every
    connection is refused (the network went down): its line and JSON ``error`` say the change
    may have been made, as the journal does (``uncertain``), not only "cannot reach … (cannot
    connect)" of the last attempt (R68a)."""
    r = _writes_refused(sb, scenario, monkeypatch, lost=1)
    assert r.exit_code == ExitCode.UNREACHABLE, r.output
    assert "nothing was changed" not in r.stderr
    journal = Journal.read(Path(json.loads(r.stdout)["journal"]))
    [first] = [x for x in journal.records if x.status == "failed" and x.uncertain]
    assert "(cannot connect)" in first.error, first
    assert first.error.endswith(" (the change may have been made)"), first
    assert len(_writes(sb.server.request_log)) == 1  # the one write that reached Trello


def test_a_first_apply_stopped_before_its_first_write_does_not_speak_of_other_runs(
    sandbox_factory: SandboxFactory, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A plan with blocked changes, applied with a new journal, meets a failing read of the
    board's cards before any write: the journal holds only this run's own blocked outcomes, so
    the line ends "nothing was changed", not "nothing was changed by this run, and the journal
    … holds what other runs did" (R67a; an empty --journal file too, R68a). Run again with
    that journal there, it does."""
    s = generate(64, 60)
    sb = sandbox_factory(s, token_limit=10_000, key_limit=10_000)
    plan, journal = tmp_path / "plan.json", tmp_path / "j.jsonl"
    monkeypatch.setenv("TRELLO_RESTORE_MAX_RETRIES", "0")
    invoke = cli_invoker(monkeypatch)
    env = {"TRELLO_API_URL": sb.base_url, "TRELLO_API_KEY": sb.key, "TRELLO_TOKEN": sb.token}
    made = invoke("--board", s.team.id, "--since", incident_since(s), "--dry-run",
                  "--plan-out", str(plan), **env)  # fmt: skip
    assert made.exit_code == 0, made.output
    summary = json.loads(plan.read_text())["summary"]
    assert summary["blocked"], summary
    assert summary["changes"], summary
    real_send = HTTPAdapter.send

    def no_cards(self: HTTPAdapter, request: Any, *args: Any, **kwargs: Any) -> Any:
        if request.method == "GET" and "/cards" in request.path_url:
            raise requests.ConnectionError(urllib3.exceptions.ProtocolError("reset"))
        return real_send(self, request, *args, **kwargs)

    monkeypatch.setattr(HTTPAdapter, "send", no_cards)
    journal.touch()  # empty, as ``mktemp`` makes it: nothing there yet (R68a)
    for there in (False, True):
        r = invoke("apply", str(plan), "--journal", str(journal), "--yes", **env)
        assert r.exit_code == ExitCode.UNREACHABLE, r.output
        assert journal.exists()
        (line,) = [x for x in r.stderr.splitlines() if x.startswith("Error: ")]
        other = f"; nothing was changed by this run, and the journal {journal} holds what other"
        assert (other in line) is there, line
        assert line.endswith("; nothing was changed") is not there, line


# ------------------------------------------------------------------------ missing rights


@pytest.mark.parametrize("how", ["observer", "deactivated"])
def test_a_token_that_may_not_write_stops_at_the_first_refusal(
    sandbox_factory: SandboxFactory, tmp_path: Path, how: str
) -> None:
    """Plan as the board admin; then the admin is made an observer of the archive board (may
    read, may not write), or is deactivated in the workspace (may not even read): the apply
    stops with the permission exit code and one line naming the member and the board, after
    at most one write (the first to a board goes alone). The journal holds only that
    write, failed; with the rights back the same apply finishes the plan exactly."""
    s = generate(65, 200)
    truth = s.truth("b")
    sb = sandbox_factory(s, time_scale=SCALE)
    doc = plan_doc(sb, s, "b")
    before = snapshot(s.world)
    lead = s.world.tokens[sb.token]
    rights = _take_rights(s, lead, how)
    path = tmp_path / "j.jsonl"
    start = len(sb.server.request_log)
    with pytest.raises(PermissionDenied) as caught:
        _apply(sb, doc, path)
    message = str(caught.value)
    print(f"{how}: {message}")
    assert caught.value.exit_code == ExitCode.AUTH
    assert "\n" not in message
    assert f"@{s.mover.username} ({s.mover.full_name})" in message
    assert f'board "{s.archive.name}"' in message
    assert "ask a board admin" in message.lower()
    writes = _writes(sb.server.request_log[start:])
    assert len(writes) <= 2
    assert {r.status for r in writes} <= {401}
    records = Journal.read(path).records
    if how == "observer":
        assert len(writes) == 1
        assert [r.status for r in records] == ["pending", "failed"]
        assert records[-1].http_status == 401
    else:  # the live state cannot be read: nothing was written, nothing journaled
        assert writes == []
        assert not records

    rights()
    report = _apply(sb, doc, path)
    assert report.exit_code == ExitCode.OK, report.counts
    assert diff(snapshot(s.world), expected(before, truth)) == []


def test_undo_with_a_token_that_may_not_write_stops_at_the_first_refusal(
    sandbox_factory: SandboxFactory, tmp_path: Path
) -> None:
    """Undo runs on the same engine: the member who applied is made an observer of the
    archive board; undo stops with the permission exit code and one line naming them and the
    board (read by name: a journal holds ids only), after one write; with the rights back, a
    second undo gives the pre-apply memberships exactly."""
    s = generate(68, 200)
    sb = sandbox_factory(s, time_scale=SCALE)
    doc = plan_doc(sb, s, "b")
    before = snapshot(s.world)
    path = tmp_path / "j.jsonl"
    assert _apply(sb, doc, path).exit_code == ExitCode.OK

    def undo() -> ApplyReport:
        header = Journal.read(path).header
        with api_for(sb) as api, Journal.open(path, header) as journal:
            return undo_journal(
                journal,
                api,
                fast_options(backoff_s=1.0 / SCALE),
                include_board_memberships=True,
                lock_dir=path.parent / "locks",
            )

    rights = _take_rights(s, s.world.tokens[sb.token], "observer")
    start = len(sb.server.request_log)
    with pytest.raises(PermissionDenied) as caught:
        undo()
    assert caught.value.exit_code == ExitCode.AUTH
    assert f'@{s.mover.username} ({s.mover.full_name}) change board "{s.archive.name}"' in str(
        caught.value
    )
    writes = _writes(sb.server.request_log[start:])
    assert len(writes) == 1
    assert writes[0].status == 401
    rights()
    assert undo().exit_code == ExitCode.OK
    assert snapshot(s.world) == before


def _take_rights(s: Scenario, member_id: str, how: str) -> Callable[[], None]:
    """Take ``member_id``'s right to write the archive board away in the sandbox's world;
    returns what gives it back."""
    with s.world.lock:
        if how == "observer":
            ms = s.archive.memberships[member_id]
            kept = ms.member_type
            ms.member_type = "observer"

            def give_back() -> None:
                with s.world.lock:
                    ms.member_type = kept

            return give_back
        s.world.deactivate_member(member_id, s.organization.id)
        boards = [b for b in s.world.boards.values() if member_id in b.memberships]

    def reactivate() -> None:
        with s.world.lock:
            for b in boards:
                b.memberships[member_id].deactivated = False

    return reactivate


def test_the_one_shot_run_with_an_observers_token_stops_at_once(
    sandbox_factory: SandboxFactory, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A workspace member who may read both boards but only as an observer plans fine and
    then, without the fix, would send every write: now exit 3 after one write, one
    ``Error:`` line naming them and the board. Made a normal member, the same command
    restores exactly the ground truth."""
    s = generate(66, 120)
    truth = s.truth("b")
    sb = sandbox_factory(s, token_limit=10_000, key_limit=10_000)
    before = snapshot(s.world)
    with s.world.lock:
        watcher = s.world.add_member("watcher", "Wanda Watcher", s.incident_at)
        for board in (s.team, s.archive):
            s.world.add_member_to_board(board.id, watcher.id, s.mover.id, "observer")
        key, token = s.world.add_credentials(watcher.id)
    invoke = cli_invoker(monkeypatch)
    since = incident_since(s)
    args = ["--board", s.team.id, "--since", since, "--removed-by", s.mover.username,
            "--add-to-board", "--yes", "-q", "--rate-limit", "1000"]  # fmt: skip
    env = {"TRELLO_API_URL": sb.base_url, "TRELLO_API_KEY": key, "TRELLO_TOKEN": token}
    start = len(sb.server.request_log)
    result = invoke(*args, **env)
    assert result.exit_code == ExitCode.AUTH, result.output
    errors = [line for line in result.stderr.splitlines() if line.startswith("Error: ")]
    assert len(errors) == 1, result.stderr
    assert "@watcher (Wanda Watcher)" in errors[0]
    assert f'change board "{s.archive.name}"' in errors[0]
    assert "Traceback" not in result.output
    writes = _writes(sb.server.request_log[start:])
    assert 1 <= len(writes) <= 2, writes

    with s.world.lock:
        for board in (s.team, s.archive):
            s.world.add_member_to_board(board.id, watcher.id, s.mover.id, "normal")
    want = expected(before, truth)
    for board in (s.team, s.archive):
        want.boards[board.id][watcher.id] = "normal"
    again = invoke(*args)
    assert again.exit_code == ExitCode.OK, again.output
    assert diff(snapshot(s.world), want) == []


# ------------------------------------------------------------------------------ deactivated


def test_a_member_deactivated_after_planning_is_neither_granted_nor_added(
    sandbox_factory: SandboxFactory, tmp_path: Path
) -> None:
    """Plan set b, then deactivate two planned members in the workspace: one who needs the
    archive board granted (deactivated on the team board, where they are a member: the
    archive board holds no membership of theirs) and one who is on the archive board
    already. Apply (and its dry run) blocks every change of both, saying deactivated, and
    writes none of them; everything else is exactly the ground truth. Deactivation is read
    from the boards' memberships (one read per board the plan touches), never per card or
    member."""
    s = generate(67, 200)
    truth = s.truth("b")
    sb = sandbox_factory(s, time_scale=SCALE)
    doc = plan_doc(sb, s, "b")
    granted = _first_member(doc, lambda c: c["action"] == "add_member_to_board")
    on_board = _first_member(
        doc,
        lambda c: c["action"] == "add_member_to_card" and c["precondition"]["member_on_board"],
    )
    assert s.team.is_active_member(granted)
    assert granted not in s.archive.memberships
    with s.world.lock:
        for member in (granted, on_board):
            s.world.deactivate_member(member, s.organization.id)
    gone = {granted, on_board}
    before = snapshot(s.world)  # they are no longer active members of any board
    theirs = {c["change_id"] for c in doc["changes"] if c["member"]["id"] in gone}
    assert len(theirs) >= 3

    with api_for(sb) as api:
        dry = apply_doc(doc, api, None, fast_options(dry_run=True))
    assert {o.status for o in dry.outcomes if o.change_id in theirs} == {"blocked"}

    start = len(sb.server.request_log)
    report = _apply(sb, doc, tmp_path / "j.jsonl")
    log = sb.server.request_log[start:]
    assert report.exit_code == ExitCode.PARTIAL
    blocked = {o.change_id: o.error for o in report.outcomes if o.status == "blocked"}
    assert set(blocked) == theirs
    assert all("deactivated" in why for why in blocked.values()), blocked
    grant_id = next(
        c["change_id"]
        for c in doc["changes"]
        if c["member"]["id"] == granted and c["action"] == "add_member_to_board"
    )
    assert f'board "{s.team.name}"' in blocked[grant_id]
    assert {o.status for o in report.outcomes if o.change_id not in theirs} == {"applied"}
    want = expected(before, _without(truth, gone))
    assert diff(snapshot(s.world), want) == []
    assert not any(r.path.startswith("/1/members/") and r.path != "/1/members/me" for r in log)
    memberships = sorted(
        m.group(1)
        for r in log
        if (m := BOARD_READ.match(r.path)) and "memberships" in r.query_names
    )
    assert memberships == sorted({s.team.id, s.archive.id})
    assert not [r for r in log if r.path.endswith("/memberships")]
    assert not any(r.path == f"/1/boards/{s.team.id}/cards/all" for r in log)
    latest = Journal.read(tmp_path / "j.jsonl").latest()
    assert {latest[cid].status for cid in theirs} == {"blocked"}
    others = [c["change_id"] for c in doc["changes"] if c["change_id"] not in theirs]
    assert {latest[cid].status for cid in others} <= DONE


def _first_member(doc: PlanDict, keep: Callable[[Mapping[str, Any]], bool]) -> str:
    """The member of the plan's first change that ``keep`` accepts."""
    for c in doc["changes"]:
        if keep(c):
            return str(c["member"]["id"])
    raise AssertionError("the plan has no such change")


def _without(truth: GroundTruth, members: set[str]) -> GroundTruth:
    """The truth less every change and grant of ``members``."""
    return dataclasses.replace(
        truth,
        changes=frozenset(c for c in truth.changes if c.member_id not in members),
        grants=frozenset(g for g in truth.grants if g.member_id not in members),
    )


# ---------------------------------------------------------------------------------- breaker


def test_the_breaker_opens_on_a_lasting_streak_or_a_failing_window() -> None:
    """The breaker's rules on a fake clock: a burst of concurrent failures does not open it
    until the streak has lasted a backoff; any other answer ends the streak, a 429 does
    not count; a lone write opens it after a few attempts over a few backoffs; most of
    the recent writes failing after their retries opens it too."""
    now = [0.0]
    down = ApiUnreachable("x", 503)

    def breaker() -> Breaker:
        return Breaker(attempts=16, span_s=1.0, window=20, clock=lambda: now[0])

    b = breaker()
    assert not any(b.attempt(down) for _ in range(40))  # all at one instant
    now[0] = 0.5
    b.attempt(None)  # a success ends the streak
    now[0] = 1.0
    assert not b.attempt(down)
    now[0] = 2.0
    assert not any(b.attempt(down) for _ in range(14))  # 15 in a row over 1 s
    assert not b.attempt(RateLimited("slow down"))
    assert b.attempt(down)
    assert b.reason.startswith("Trello kept failing: 16 write attempts in a row")

    b, now[0] = breaker(), 0.0
    for t in (0.0, 0.75, 2.25):  # one write and its retries
        now[0] = t
        assert not b.attempt(down)
    now[0] = 4.0
    assert b.attempt(down)

    # No answer at all in the streak: not said to be Trello's failing (R67a); one 5xx in it is.
    silent = ApiUnreachable("cannot reach the Trello API at h (cannot connect): check it")
    for first in (silent, down):
        b, now[0] = breaker(), 0.0
        assert not b.attempt(first)
        for t in (0.75, 2.25):
            now[0] = t
            assert not b.attempt(silent)
        now[0] = 4.0
        assert b.attempt(silent)
        assert b.reason == (
            "no answer from the Trello API: 4 write attempts in a row got none, over 4 s (the "
            "last: cannot reach the Trello API at h (cannot connect): check it)"
            if first is silent
            else "Trello kept failing: 4 write attempts in a row got a 5xx or no answer, over "
            "4 s (the last: no answer)"
        )

    b = breaker()
    outcomes = [down if i % 2 else None for i in range(20)]  # half: not more than half
    assert not any(b.finished(o) for o in outcomes)
    assert b.finished(down)
    assert "of the last 20 writes failed after their retries" in b.reason

    b = breaker()
    assert b.rate_limited(RateLimited("slow down", 429, "API_TOKEN_LIMIT_EXCEEDED"))
    assert b.reason == (
        "Trello kept rate limiting: a write was answered 429 through all its retries (HTTP 429; "
        "API_TOKEN_LIMIT_EXCEEDED); check that no other program is using the same API key or "
        "token"
    )
    assert b.rate_limited(RateLimited("again", 429))  # open already: the first reason stays
    assert b.reason.endswith("(HTTP 429; API_TOKEN_LIMIT_EXCEEDED); check that no other "
                             "program is using the same API key or token")  # fmt: skip


def test_a_burst_of_failures_does_not_open_the_breaker_whenever_it_comes() -> None:
    """A burst of concurrent failures at one instant, however late in the run (the clock is
    ``time.monotonic``: seconds since boot), and a new streak after a success are each timed
    from their own first failure (R59a: a mutant that kept the first streak's start opened the
    breaker on three 503s at once, as if they had lasted since boot)."""
    now = [5000.0]
    down = ApiUnreachable("x", 503)
    b = Breaker(attempts=3, span_s=1.0, window=20, clock=lambda: now[0])
    assert not any(b.attempt(down) for _ in range(10))
    now[0] = 5000.5
    b.attempt(None)
    now[0] = 9000.0
    assert not any(b.attempt(down) for _ in range(10))
    now[0] = 9001.0
    assert b.attempt(down)
