"""An apply's and an undo's ``requests``, ``rate_limited`` and ``seconds`` (the text's
``N requests in S s, K rate-limited.`` and the JSON's counts) cover the whole command from its
first request: the account read (``members/me``), the live reads and their retries and 429s
before the first write, not the writing phase alone. Over the command line against the
sandbox, counted with its request log; a 429 storm is started just before each command, so
it hits the reads before any write. The one-step run's plan phase keeps its own count
(``plan_requests``): the two together are every request the run sent."""

from __future__ import annotations

import re
import time
from pathlib import Path

import pytest

from trello_restore.errors import ExitCode
from trello_restore.sandbox.scenario import Scenario
from trello_restore.sandbox.server import RequestRecord

from .conftest import Sandbox, sandbox_cli
from .test_apply_undo_json import Invoke, _line, _plan
from .truthcheck import incident_since

WRITES = ("POST", "PUT", "DELETE")
#: A short storm (Trello time = real time here) and a short rate window for the tool, so
#: that each 429 costs a tenth of a second or so, not Trello's 10 s window.
STORM_S = 0.3


@pytest.fixture(name="invoke")
def invoke_fixture(sb: Sandbox, monkeypatch: pytest.MonkeyPatch) -> Invoke:
    monkeypatch.setenv("TRELLO_RESTORE_WINDOW_SECONDS", "0.1")
    return sandbox_cli(sb, monkeypatch)


def _storm(sb: Sandbox) -> int:
    """Start a 429 storm now (Trello's ``API_TOKEN_DB_LIMIT_EXCEEDED`` body); returns where
    the request log stands, so that the command's own requests are those after it."""
    mark = len(sb.server.request_log)
    sb.server.set_options(storm_s=STORM_S, rate_limit_body="token-db")
    return mark


def _stormed_reads(log: list[RequestRecord]) -> list[RequestRecord]:
    """The 429s of ``log`` (the command's requests), each before its first write; at least one,
    on ``members/me``, the command's first request."""
    limited = [r for r in log if r.status == 429]
    first_write = next((i for i, r in enumerate(log) if r.method in WRITES), len(log))
    assert limited, "the storm answered the command's first requests 429"
    assert all(log.index(r) < first_write for r in limited)
    assert log[0].path.endswith("/members/me")
    assert log[0].status == 429
    return limited


def _text(stderr: str) -> tuple[int, float, int]:
    """The text's ``N requests in S s, K rate-limited.`` line (on stderr): N, S and K."""
    m = re.search(r"^(\d+) requests in ([\d.]+) s(?:, (\d+) rate-limited)?\.$", stderr, re.M)
    assert m is not None, stderr
    return int(m[1]), float(m[2]), int(m[3] or 0)


def _span(log: list[RequestRecord]) -> float:
    """Real seconds from the first request's arrival to the last one's answer."""
    return max(r.at + r.duration_s for r in log) - log[0].at


def _outlasted(log: list[RequestRecord], storm_from: float) -> bool:
    """The command's last answer came after the storm started at ``storm_from`` (the clock
    of ``RequestRecord.at``) was over: it waited the storm out. (Its span alone may fall a
    little short of ``STORM_S``: the storm starts before the command's first request.)"""
    return max(r.at + r.duration_s for r in log) >= storm_from + STORM_S


def test_apply_counts_its_reads_and_their_429s_before_the_first_write(
    invoke: Invoke, sb: Sandbox, scenario: Scenario, tmp_path: Path
) -> None:
    """A storm on the apply's ``members/me``: the JSON's ``requests`` and ``rate_limited`` are
    the sandbox's count of the command's requests and 429s, the text line (stderr) says the
    same, and ``seconds`` spans them all, the storm's wait included."""
    path = _plan(invoke, scenario, tmp_path / "plan.json")
    storm_from = time.time()
    mark = _storm(sb)
    run = invoke("apply", str(path), "--format", "json", "--journal", str(tmp_path / "j.jsonl"))
    assert run.exit_code == ExitCode.OK, run.output
    log = sb.server.request_log[mark:]
    limited = _stormed_reads(log)
    counts = _line(run, sb)["apply"]
    assert counts["applied"] >= 1
    assert (counts["requests"], counts["rate_limited"]) == (len(log), len(limited))
    requests, seconds, rate_limited = _text(run.stderr)
    assert (requests, rate_limited) == (len(log), len(limited))
    assert counts["seconds"] >= _span(log)
    assert _outlasted(log, storm_from)
    assert seconds == pytest.approx(counts["seconds"], abs=0.051)
    # The account read waited out its 429s for the configured window (0.1 s), as the writes
    # do, not for Trello's default 10 s.
    assert counts["seconds"] < 5


def test_undo_counts_its_reads_and_their_429s_in_json_and_text(
    invoke: Invoke, sb: Sandbox, scenario: Scenario, tmp_path: Path
) -> None:
    """An undo's dry run (reads only) and the undo, each after a storm has begun: the JSON
    line's and the text line's counts are the sandbox's, the 429s on the reads included."""
    path = _plan(invoke, scenario, tmp_path / "plan.json")
    journal = str(tmp_path / "j.jsonl")
    assert invoke("apply", str(path), "--journal", journal, "-q").exit_code == ExitCode.OK

    storm_from = time.time()
    mark = _storm(sb)
    dry = invoke("undo", journal, "--dry-run", "--format", "json")
    assert dry.exit_code == ExitCode.OK, dry.output
    log = sb.server.request_log[mark:]
    limited = _stormed_reads(log)
    counts = _line(dry, sb)["undo"]
    assert counts["would_undo"] >= 1
    assert (counts["requests"], counts["rate_limited"]) == (len(log), len(limited))
    assert counts["seconds"] >= _span(log)
    assert _outlasted(log, storm_from)

    mark = _storm(sb)
    undo = invoke("undo", journal, "--yes")
    assert undo.exit_code == ExitCode.OK, undo.output
    log = sb.server.request_log[mark:]
    limited = _stormed_reads(log)
    assert any(r.method in WRITES for r in log)
    requests, seconds, rate_limited = _text(undo.stderr)
    assert (requests, rate_limited) == (len(log), len(limited))
    assert seconds >= round(_span(log), 1) - 0.05


def test_one_step_run_apply_counts_its_own_reads_and_the_plan_its_history(
    invoke: Invoke, sb: Sandbox, scenario: Scenario
) -> None:
    """The one-step run: ``plan_requests`` (the history fetch) and the apply's ``requests``
    (its account read, earlier journals' checks and live reads, and its writes) add up to
    every request the run sent, none counted twice or left out."""
    mark = len(sb.server.request_log)
    since = incident_since(scenario)
    run = invoke("--board", scenario.team.id, "--since", since, "--removed-by",
                 scenario.mover.username, "--add-to-board", "--yes",
                 "--format", "json")  # fmt: skip
    assert run.exit_code == ExitCode.OK, run.output
    doc = _line(run, sb)
    assert doc["apply"]["applied"] >= 1
    log = sb.server.request_log[mark:]
    assert doc["plan"]["plan_requests"] + doc["apply"]["requests"] == len(log)


def test_one_request_is_said_in_the_singular(capsys: pytest.CaptureFixture[str]) -> None:
    """R25b: ``1 requests in 0.0 s``."""
    from trello_restore.cli_restore import print_report
    from trello_restore.runner_types import ApplyReport

    for sent, said in ((1, "1 request in 0.2 s."), (2, "2 requests in 0.2 s.")):
        report = ApplyReport([], {}, None, requests_sent=sent, rate_limited=0, seconds=0.2)
        print_report(report, {}, quiet=False, every=False, dry_run=False)
        assert said in capsys.readouterr().err.splitlines()
