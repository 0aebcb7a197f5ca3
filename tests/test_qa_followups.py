"""What a QA pass found after issue 9 ("Hardening") landed, each over HTTP against the sandbox:

1. Undo straight after a ``kill -9`` read live state while the killed run's last writes were
   still on their way (in Trello's latency), took the members' absence for "never took
   effect" (``not_applied``), and the writes landed after it: tool-added members left behind,
   exit 0, and "Nothing to undo" forever after. Undo, and the one-shot run's settling of
   earlier journals, now wait until such writes can no longer be in flight (the client's
   connect plus read timeout, which ``TRELLO_RESTORE_REQUEST_TIMEOUT`` shortens here).
2. The resume command printed on exit 4 (and on Ctrl-C) dropped ``--journal``, ``--api-url``
   and ``--config``: running it started a new journal. It now resumes exactly the same run,
   each word quoted for the shell.
3. ``apply`` sent ``members/me`` (with the credentials) to the configured API before
   comparing it with the plan's ``api_url``: now the "plan was made for X, not Y" refusal
   comes before any request.
4. Click's own usage errors printed four lines; ``--since yesterday`` showed Python's
   "Invalid isoformat string"; ``--removed-by`` values were not quoted; ``--detailed-exitcode``
   without ``--dry-run`` was silently ignored (now a usage error).
"""

from __future__ import annotations

import json
import logging
import os
import shlex
import sys
import threading
import time
from collections.abc import Callable
from dataclasses import replace
from datetime import UTC, datetime
from pathlib import Path

import pytest
from click.testing import Result

from trello_restore.earlier_journals import not_waited_for
from trello_restore.errors import ExitCode
from trello_restore.in_flight import wait_for_in_flight
from trello_restore.journal import JournalRecord, Status
from trello_restore.planfile import write_plan
from trello_restore.sandbox.scenario import Scenario, generate
from trello_restore.undo import in_flight_wait, last_alive, resolve_earlier_journals

from .applykit import (
    Snapshot,
    api_for,
    diff,
    expected,
    fast_options,
    kill_when,
    plan_doc,
    snapshot,
)
from .conftest import Sandbox, SandboxFactory, one_line_error, sandbox_cli
from .truthcheck import incident_since

Invoke = Callable[..., Result]
WRITES = ("POST", "PUT", "DELETE")

# ---------------------------------------------------------------------- 1. writes in flight

#: Trello's answer time once the killed run is well under way: its last writes are still in
#: the sandbox's latency when it is killed, and land this long after they were sent.
SLOW_MS = 1500
#: ``TRELLO_RESTORE_REQUEST_TIMEOUT`` of the killed run and of the undo: above ``SLOW_MS``, so
#: nothing times out; connect plus read timeout (2 x this) is how long undo may wait.
REQUEST_TIMEOUT = 2.0
#: Writes in flight (journaled ``pending``, unanswered) when the run is killed.
IN_FLIGHT = 3


def _open_pending(journal: Path) -> dict[str, dict[str, str]]:
    """The apply records of ``journal`` whose latest record is ``pending``, by change id (a
    torn last line, mid-write, is left for the next poll)."""
    if not journal.exists():
        return {}
    latest: dict[str, dict[str, str]] = {}
    for line in journal.read_text().split("\n")[1:-1]:
        record = json.loads(line)
        if record["op"] == "apply":
            latest[record["change_id"]] = record
    return {cid: r for cid, r in latest.items() if r["status"] == "pending"}


def _landed(sb: Sandbox, r: dict[str, str]) -> bool:
    """Whether the write of an apply record is in the world now."""
    with sb.world.lock:
        if r["action"] == "add_member_to_board":
            return sb.world.boards[r["board_id"]].is_active_member(r["member_id"])
        card = sb.world.cards.get(r["card_id"])
        return card is not None and r["member_id"] in card.id_members


def _killed_with_writes_in_flight(
    sandbox_factory: SandboxFactory, tmp_path: Path, seed: int
) -> tuple[Scenario, Sandbox, Snapshot, Path, dict[str, dict[str, str]]]:
    """Plan set b; ``trello-restore apply PLAN --journal J`` in its own process; once it has
    journaled its first record (its reads are done, the board grants begin: they go first),
    Trello slows down to ``SLOW_MS`` per request; ``kill -9`` as soon as ``IN_FLIGHT`` grants
    journaled ``pending`` a moment ago (so sent) are unanswered; Trello is fast again at once.
    Returns the world before the apply, the journal and those pending records (whose writes
    land ``SLOW_MS`` after they were sent, after the kill), as in the QA report."""
    s = generate(seed, 80)
    assert len(s.truth("b").grants) > 2 * IN_FLIGHT
    sb = sandbox_factory(s, latency_ms=20, token_limit=10_000, key_limit=10_000, seed=seed)
    doc = plan_doc(sb, s, "b")
    assert len(doc["changes"]) > 20
    before = snapshot(s.world)
    plan = tmp_path / "plan.json"
    journal = tmp_path / "journals" / "j.jsonl"
    journal.parent.mkdir()  # a --journal is refused in a directory that is not there
    write_plan(doc, plan)
    env = {**os.environ, **sb.env, "TRELLO_RESTORE_REQUEST_TIMEOUT": str(REQUEST_TIMEOUT)}
    slowed: list[float] = []

    def ready() -> bool:
        open_ = _open_pending(journal)
        if not slowed:
            if journal.exists() and journal.read_text().count("\n") > 1:
                sb.server.set_options(latency_ms=SLOW_MS)
                slowed.append(time.monotonic())
            return False
        # Writes journaled a moment ago are on the wire by now, and still in their latency
        # (those sent before Trello slowed down have been answered).
        now = time.time()
        sent = [
            r for r in open_.values() if now - datetime.fromisoformat(r["at"]).timestamp() > 0.3
        ]
        return time.monotonic() - slowed[0] > 0.2 and len(sent) >= IN_FLIGHT

    command = [sys.executable, "-m", "trello_restore", "apply", str(plan), "--journal",
               str(journal), "--rate-limit", "1000"]  # fmt: skip
    kill_when(command, env, ready)
    sb.server.set_options(latency_ms=0)
    in_flight = _open_pending(journal)
    assert len(in_flight) >= IN_FLIGHT
    assert {r["action"] for r in in_flight.values()} == {"add_member_to_board"}
    assert not any(_landed(sb, r) for r in in_flight.values()), "still on their way"
    return s, sb, before, journal, in_flight


def test_undo_straight_after_a_kill_waits_for_the_writes_in_flight(
    sandbox_factory: SandboxFactory, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """``undo J --yes --include-board-memberships`` at once after the kill: it says it waits
    for the writes a killed run may still have in flight, then reads live state (the writes
    have landed by then), removes them with everything else, and the world is exactly as
    before the apply, also once every request has been answered. (Before: it read live state
    before they landed, journaled them ``not_applied``, and they stayed.)"""
    s, sb, before, journal, in_flight = _killed_with_writes_in_flight(sandbox_factory, tmp_path, 20)
    invoke = sandbox_cli(sb, monkeypatch)
    started = time.monotonic()
    result = invoke(
        "undo", str(journal), "--yes", "--include-board-memberships", "--rate-limit", "1000",
        TRELLO_RESTORE_REQUEST_TIMEOUT=str(REQUEST_TIMEOUT),
    )  # fmt: skip
    took = time.monotonic() - started
    assert result.exit_code == ExitCode.OK, result.output
    time.sleep(SLOW_MS / 1000 + 0.5)  # whatever was still on its way has landed by now
    assert diff(snapshot(s.world), before) == []
    assert "may still have in flight (" in result.stderr
    assert took < 2 * REQUEST_TIMEOUT + 5
    # Those that landed were found there and are this tool's (one may never have been sent:
    # killed between journaling it and sending it).
    latest = {r["change_id"]: r for r in _records(journal) if r["op"] == "apply"}
    statuses = [latest[cid]["status"] for cid in in_flight]
    assert statuses.count("applied") >= 1
    assert set(statuses) <= {"applied", "not_applied"}


def _records(journal: Path) -> list[dict[str, str]]:
    return [json.loads(line) for line in journal.read_text().splitlines()[1:]]


def test_settling_an_earlier_journal_waits_for_its_writes_in_flight(
    sandbox_factory: SandboxFactory, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    """The one-shot run, run again straight after a kill, first settles the earlier journal's
    open records (``resolve_earlier_journals``): it waits for the writes in flight, so each
    one that lands is the killed run's ``applied``, never ``not_applied`` (which would leave
    its member claimed by no journal)."""
    _, sb, _, journal, in_flight = _killed_with_writes_in_flight(sandbox_factory, tmp_path, 34)
    boards = {r["board_id"] for r in _records(journal) if r["op"] == "apply"}
    timeout = {"connect_timeout": REQUEST_TIMEOUT, "read_timeout": REQUEST_TIMEOUT}
    with api_for(sb, **timeout) as api:
        settled = resolve_earlier_journals(
            api, journal.parent, boards, fast_options(), lock_dir=tmp_path / "locks"
        )
    assert settled >= len(in_flight)
    time.sleep(SLOW_MS / 1000 + 0.5)
    latest = {r["change_id"]: r for r in _records(journal) if r["op"] == "apply"}
    found = {cid: latest[cid]["status"] for cid in in_flight}
    assert found == {cid: "applied" if _landed(sb, r) else "not_applied"
                     for cid, r in in_flight.items()}  # fmt: skip
    assert "applied" in found.values()
    assert "may still have in flight (" in caplog.text


def _pending(at: str, status: Status = "pending") -> JournalRecord:
    return JournalRecord("c", "apply", "add_member_to_card", status, "b", "m", "k", at=at)


def test_how_long_undo_waits() -> None:
    """The wait: until the longest request has passed since the later of the pending
    record's time and the journal's last write; nothing without a pending record; never more
    than the longest request from now (a clock ahead, a time that does not parse)."""
    now = datetime(2027, 1, 15, 8, tzinfo=UTC).timestamp()
    at = "2027-01-15T07:59:58.000Z"  # 2 s before now
    assert in_flight_wait([], now, 35.0, now) == 0.0
    assert in_flight_wait([_pending(at, "applied")], now, 35.0, now) == 0.0
    assert in_flight_wait([_pending(at)], None, 35.0, now) == pytest.approx(33.0)
    assert in_flight_wait([_pending(at)], now - 1, 35.0, now) == pytest.approx(34.0)
    assert in_flight_wait([_pending(at)], now - 60, 35.0, now) == pytest.approx(33.0)
    assert in_flight_wait([_pending("2027-01-15T07:58:00.000Z")], None, 35.0, now) == 0.0
    assert in_flight_wait([_pending("2027-01-15T09:00:00.000Z")], None, 35.0, now) == 35.0
    assert in_flight_wait([_pending("yesterday")], None, 35.0, now) == 35.0
    # A write failed without a sure answer (timed out, a 5xx) may land after the client gave
    # up, as a killed run's may (R46b); one failed for sure may not.
    uncertain = replace(_pending(at, "failed"), uncertain=True)
    assert in_flight_wait([uncertain], None, 35.0, now) == pytest.approx(33.0)
    assert in_flight_wait([_pending(at, "failed")], None, 35.0, now) == 0.0
    # A 5xx is an answer about the request, not the write (R58c: mutant if06 took any status
    # for a sure answer); only a 2xx without JSON (the write was made, or not: Trello
    # answered, R55a) is no longer in flight.
    for status, wait in ((502, 33.0), (503, 33.0), (200, 0.0)):
        answered = replace(uncertain, http_status=status)
        assert in_flight_wait([answered], None, 35.0, now) == pytest.approx(wait)


def test_the_wait_names_only_the_journals_it_waits_for(
    monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    """R83a: a journal killed an hour ago was named beside the one just killed."""
    slept: list[float] = []
    monkeypatch.setattr(time, "sleep", slept.append)
    now = datetime.now(UTC)
    fresh = _pending(now.isoformat(timespec="milliseconds").replace("+00:00", "Z"))
    old = _pending("2020-01-01T00:00:00.000Z")
    journals = [(Path("old.jsonl"), [old], None), (Path("fresh.jsonl"), [fresh], None)]
    with caplog.at_level(logging.WARNING):
        wait_for_in_flight(journals, 30.0)
    assert len(slept) == 1
    assert 25 < slept[0] <= 30
    (said,) = [r.getMessage() for r in caplog.records if "waiting" in r.getMessage()]
    assert "(fresh.jsonl)" in said, said
    slept.clear()
    wait_for_in_flight(journals[:1], 30.0)
    assert slept == []


def test_the_killed_run_was_last_alive_at_its_last_apply_record_once_an_undo_wrote(
    tmp_path: Path,
) -> None:
    """R34a: an undo without ``--include-board-memberships`` wrote its records (moving the
    journal's modification time), and the undo with it that it advised waited 35 s for a
    grant journaled minutes before. With an undo record in the journal, the killed run's last
    sign of life is its last apply record, not the file's time; without one, the file's."""
    path = tmp_path / "j.jsonl"
    path.write_text("")
    grant = JournalRecord("g", "apply", "add_member_to_board", "pending", "b", "m",
                          at="2027-01-15T07:50:00.000Z")  # fmt: skip
    card = replace(_pending("2027-01-15T07:51:00.000Z", "applied"), change_id="c")
    undone = JournalRecord("c", "undo", "add_member_to_card", "undone", "b", "m", "k",
                           at="2027-01-15T07:59:59.000Z")  # fmt: skip
    assert last_alive(path, [grant, card]) == path.stat().st_mtime
    minute = datetime(2027, 1, 15, 7, 51, tzinfo=UTC).timestamp()
    assert last_alive(path, [grant, card, undone]) == minute
    now = datetime(2027, 1, 15, 8, tzinfo=UTC).timestamp()
    assert in_flight_wait([grant], last_alive(path, [grant, card, undone]), 35.0, now) == 0.0
    assert last_alive(tmp_path / "gone.jsonl", [grant]) is None


def test_an_undo_waits_only_for_writes_no_earlier_undo_waited_for() -> None:
    """Open records before the journal's last ``undo`` record were waited for by that undo
    (it writes only after its wait): left out, but a board grant's (an undo waits for those
    only with ``--include-board-memberships``); those after it, or with no undo record, stay."""
    at = "2027-01-15T07:59:58.000Z"
    card = _pending(at)
    grant = JournalRecord("g", "apply", "add_member_to_board", "pending", "b", "m", at=at)
    undone = JournalRecord("c2", "undo", "add_member_to_card", "undone", "b", "m", "k2", at=at)
    later = replace(card, change_id="c3")
    records = [card, grant, undone, later]
    assert not_waited_for([card, grant, later], records) == [grant, later]
    assert not_waited_for([card, grant], [card, grant]) == [card, grant]


# ------------------------------------------------------------------- 2. the resume commands


def _plan_args(s: Scenario) -> list[str]:
    """Option set b from the command line."""
    since = incident_since(s)
    return ["--board", s.team.id, "--since", since, "--removed-by", s.mover.username,
            "--add-to-board"]  # fmt: skip


def _resume_command(line: str, before: str, after: str) -> list[str]:
    """The command between ``before`` and ``after`` in a line, split as a shell would."""
    assert before in line, line
    assert after in line, line
    return shlex.split(line.split(before, 1)[1].split(after, 1)[0])


def test_the_resume_command_of_an_outage_resumes_the_same_journal(
    sandbox_factory: SandboxFactory, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """``--config C apply PX --journal JX --api-url URL`` (paths with spaces; no
    TRELLO_API_URL) hits an outage and exits 4; the command it prints names the same config
    file, journal and API URL, quoted for the shell, and run as printed once Trello is back it
    resumes JX (no other journal is made) and ends with exactly the plan applied."""
    s = generate(64, 120)
    sb = sandbox_factory(s, token_limit=10_000, key_limit=10_000)
    invoke = sandbox_cli(sb, monkeypatch)
    truth, before = s.truth("b"), snapshot(s.world)
    runs = tmp_path / "my runs"
    runs.mkdir()
    plan, journal, config = runs / "px.json", runs / "jx 1.jsonl", runs / "restore config.toml"
    made = invoke(*_plan_args(s), "--dry-run", "--plan-out", str(plan))
    assert made.exit_code == 0, made.output
    config.write_text("[limits]\nworkers = 4\nmax_retries = 1\nrequests_per_window = 1000\n")
    config.chmod(0o600)
    sb.server.request_log.clear()
    stop = threading.Event()

    def outage_after_ten_writes() -> None:
        while not stop.wait(0.005):
            if sum(r.method in WRITES for r in sb.server.request_log) >= 10:
                sb.server.set_options(error_rate=1.0)
                return

    watcher = threading.Thread(target=outage_after_ten_writes)
    watcher.start()
    try:
        result = invoke("--config", str(config), "apply", str(plan), "--journal", str(journal),
                        "--api-url", sb.base_url, "-q", TRELLO_API_URL=None)  # fmt: skip
    finally:
        stop.set()
        watcher.join()
    assert result.exit_code == ExitCode.UNREACHABLE, result.output
    (line,) = [x for x in result.stderr.splitlines() if x.startswith("Error: ")]
    words = _resume_command(line, "When Trello works again: run ", " again to resume")
    assert words == ["trello-restore", "--config", str(config), "apply", str(plan),
                     "--journal", str(journal), "--api-url", sb.base_url]  # fmt: skip
    assert f"--journal '{journal}'" in line  # quoted for the shell

    sb.server.set_options(error_rate=0.0)
    again = invoke(*words[1:])
    assert again.exit_code == ExitCode.OK, again.output
    assert "done by an earlier run" in again.stdout
    assert f"Journal: {journal}" in again.stderr
    home = Path(os.environ["TRELLO_RESTORE_HOME"])  # conftest's own
    assert list(home.rglob("*.jsonl")) == []
    assert diff(snapshot(s.world), expected(before, truth)) == []


def test_ctrl_c_of_undo_prints_the_command_that_finishes_it(
    sandbox_factory: SandboxFactory, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Ctrl-C during ``--config C --token - undo J --yes --include-board-memberships --api-url
    URL``: the line names that command (not "the same command"), quoted; run as printed (the
    token piped in again) it undoes everything: the pre-apply state exactly."""
    s = generate(65, 40)
    sb = sandbox_factory(s, token_limit=10_000, key_limit=10_000)
    invoke = sandbox_cli(sb, monkeypatch)
    before = snapshot(s.world)
    runs = tmp_path / "my runs"
    runs.mkdir()
    journal, config = runs / "j 1.jsonl", runs / "c.toml"
    config.write_text("[limits]\nworkers = 2\n")
    config.chmod(0o600)
    applied = invoke(*_plan_args(s), "--yes", "--journal", str(journal), "-q")
    assert applied.exit_code == 0, applied.output
    assert diff(snapshot(s.world), before) != []

    def interrupted(*args: object, **kwargs: object) -> None:
        raise KeyboardInterrupt

    args = ["--config", str(config), "--token", "-", "undo", str(journal), "--yes",
            "--include-board-memberships", "--api-url", sb.base_url]  # fmt: skip
    with monkeypatch.context() as m:
        m.setattr("trello_restore.run.run_undo", interrupted)
        stopped = invoke(*args, input=sb.token + "\n", TRELLO_TOKEN=None, TRELLO_API_URL=None)
    assert stopped.exit_code == 130, stopped.output
    (line,) = [x for x in stopped.stderr.splitlines() if x.startswith("Interrupted")]
    words = _resume_command(line, ". Run ", " again to finish")
    assert words == ["trello-restore", *args]
    assert f"undo '{journal}'" in line

    again = invoke(*words[1:], input=sb.token + "\n")
    assert again.exit_code == 0, again.output
    assert diff(snapshot(s.world), before) == []


def test_the_apply_resume_hint_without_flags_is_the_plain_command(
    sandbox_factory: SandboxFactory, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Without --journal, --api-url (the URL from the environment) or --config, the hint is
    just ``trello-restore apply PLAN``: the default journal is the plan's own."""
    s = generate(66, 30)
    sb = sandbox_factory(s)
    invoke = sandbox_cli(sb, monkeypatch)
    plan = tmp_path / "plan.json"
    assert invoke(*_plan_args(s), "--dry-run", "--plan-out", str(plan)).exit_code == 0

    def interrupted(*args: object, **kwargs: object) -> None:
        raise KeyboardInterrupt

    monkeypatch.setattr("trello_restore.run.run_apply", interrupted)
    r = invoke("apply", str(plan))
    assert r.exit_code == 130
    assert f"Run trello-restore apply {plan} again to start it." in r.stderr


# ------------------------------------------------------------- 3. the plan's URL, first thing


@pytest.mark.parametrize("how", ["environment", "flag"])
def test_a_plan_for_another_api_is_refused_before_any_request(
    sandbox_factory: SandboxFactory, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, how: str
) -> None:
    """A plan made at one API, applied with another configured (TRELLO_API_URL or --api-url):
    "made for X, not Y" (exit 2) and not a single request to Y: the credentials never reach
    an API the plan was not made for. (Before: ``GET /1/members/me`` there, then "Trello
    rejected the API key or token", exit 3.)"""
    s = generate(67, 30)
    sb = sandbox_factory(s)
    other = sandbox_factory()  # another Trello-compatible API, which knows no such token
    invoke = sandbox_cli(sb, monkeypatch)
    plan = tmp_path / "p8.json"
    assert invoke(*_plan_args(s), "--dry-run", "--plan-out", str(plan)).exit_code == 0
    sb.server.request_log.clear()
    if how == "flag":
        r = invoke("apply", str(plan), "--api-url", other.base_url)
    else:
        r = invoke("apply", str(plan), TRELLO_API_URL=other.base_url)
    one_line_error(r, ExitCode.USAGE, f"made for {sb.base_url}, not {other.base_url}",
                   "pass --api-url")  # fmt: skip
    assert other.server.request_log == []
    assert sb.server.request_log == []


# ------------------------------------------------------------------------------ 4. minor


@pytest.mark.parametrize(
    ("args", "needles"),
    [
        (["--board", "X", "--since", "7d", "--dry-run", "--workers", "lots"],
         ("Invalid value for '--workers': 'lots' is not a valid integer range.",
          "--help' for help.")),
        (["--mode", "sideways"], ("'--mode': 'sideways' is not one of",)),
        (["--bogus"], ("No such option '--bogus'",)),
        (["apply", "p.json", "--workers", "lots"], ("'--workers': 'lots'", "apply --help'")),
        (["undo"], ("Missing argument 'JOURNAL'", "undo --help'")),
        (["undo", "j.jsonl", "--no-such"], ("No such option '--no-such'", "undo --help'")),
        (["sandbox", "serve", "--port", "http"], ("'--port': 'http'", "sandbox serve --help'")),
        (["frobnicate"], ("No such command 'frobnicate'",)),
        # R47c: a message without a full stop ran into "Try".
        (["sandbox", "serve", "--second-damage", "--workspace-boards", "4"],
         ("leave it out with --workspace-boards. Try '", " sandbox serve --help' for help.")),
    ],
)  # fmt: skip
def test_clicks_usage_errors_are_one_line(
    sandbox: Sandbox, monkeypatch: pytest.MonkeyPatch, args: list[str], needles: tuple[str, ...]
) -> None:
    """A bad option value, an unknown option or command, a missing argument, for the main
    command and the subcommands: one ``Error:`` line (what is wrong, where the help is) and
    the usage exit code, no "Usage:" block. Nothing is sent."""
    r = sandbox_cli(sandbox, monkeypatch)(*args)
    one_line_error(r, ExitCode.USAGE, *needles)
    assert "Usage:" not in r.output
    assert sandbox.server.request_log == []


def test_since_in_words_says_which_forms_are_accepted(
    sandbox: Sandbox, monkeypatch: pytest.MonkeyPatch
) -> None:
    """``--since yesterday``: the accepted forms, not Python's "Invalid isoformat string"."""
    r = sandbox_cli(sandbox, monkeypatch)("--board", "Team", "--since", "yesterday", "--dry-run")
    line = one_line_error(r, ExitCode.USAGE, "--since 'yesterday' is not a date or an age",
                          "2025-11-02T14:30", "36h, 7d, 2w")  # fmt: skip
    assert "isoformat" not in line


def test_removed_by_values_are_quoted(
    sandbox_factory: SandboxFactory, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A ``--removed-by`` value that matches no member is quoted in the message, like
    ``--list "…"`` (spaces and all), and nothing is written."""
    s = generate(68, 30)
    sb = sandbox_factory(s)
    invoke = sandbox_cli(sb, monkeypatch)
    since = incident_since(s)
    r = invoke("--board", s.team.id, "--since", since, "--yes", "--removed-by", "dana  k")
    one_line_error(r, ExitCode.USAGE, '--removed-by "dana  k": no member')
    assert not [x for x in sb.server.request_log if x.method in WRITES]


def test_detailed_exitcode_without_dry_run_is_a_usage_error(
    sandbox: Sandbox, monkeypatch: pytest.MonkeyPatch
) -> None:
    """``--detailed-exitcode`` means something only for a dry run: without ``--dry-run`` it
    is refused (usage exit code, one line saying what to do) before any request."""
    invoke = sandbox_cli(sandbox, monkeypatch)
    r = invoke("--board", sandbox.ids["team"], "--since", "7d", "--yes", "--detailed-exitcode")
    one_line_error(r, ExitCode.USAGE, "--detailed-exitcode works only with --dry-run",
                   "add --dry-run, or drop it")  # fmt: skip
    assert sandbox.server.request_log == []
    ok = invoke("--board", sandbox.ids["team"], "--since", "7d", "--dry-run",
                "--detailed-exitcode")  # fmt: skip
    assert ok.exit_code in (ExitCode.OK, ExitCode.CHANGES_PENDING), ok.output
