"""Times as the log shows them, whatever the time zone (R35c); the dates as typed are
``test_timeparse.py``'s."""

from __future__ import annotations

import re
from datetime import UTC, datetime
from pathlib import Path

import pytest

from trello_restore.errors import ExitCode
from trello_restore.sandbox.scenario import Scenario

from .conftest import Sandbox, configless_cli, one_line_error


def test_the_log_is_stamped_in_utc_whatever_the_time_zone(
    sb: Sandbox, scenario: Scenario, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """R35c: the log's times were local, without a zone: an hour repeated at the autumn clock
    change and none matched the UTC times the tool prints."""
    import time

    invoke = configless_cli(sb, monkeypatch, tmp_path)
    monkeypatch.setenv("TZ", "Asia/Kolkata")
    time.tzset()
    try:
        log = tmp_path / "run.log"
        before = datetime.now(UTC).replace(microsecond=0)
        r = invoke("--log-file", str(log), "--board", scenario.team.id, "--since", "7d",
                   "--dry-run", "-q")  # fmt: skip
        assert r.exit_code == ExitCode.OK, r.output
        bad = invoke("--log-file", str(log), "--board", "x", "--since", "last_run", "--dry-run")
        one_line_error(bad, ExitCode.USAGE, "did you mean last-run")
    finally:
        monkeypatch.delenv("TZ")
        time.tzset()
    lines = log.read_text().splitlines()
    assert lines
    stamp = re.compile(r"(\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3})Z \d+ [A-Z]+ trello_restore")
    for line in lines:
        found = stamp.match(line)
        assert found is not None, line
        when = datetime.fromisoformat(found.group(1)).replace(tzinfo=UTC)
        assert before <= when.replace(microsecond=0) <= datetime.now(UTC), line
