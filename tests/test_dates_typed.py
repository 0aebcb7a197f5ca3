"""Dates as users type them, and times as the log shows them (R35c)."""

from __future__ import annotations

import re
from datetime import UTC, datetime
from pathlib import Path

import pytest

from trello_restore.errors import ExitCode, UsageError
from trello_restore.sandbox.scenario import Scenario
from trello_restore.timeparse import check_window, parse_when

from .conftest import Sandbox, configless_cli, one_line_error

NOW = datetime(2026, 12, 3, 20, 0, tzinfo=UTC)


@pytest.mark.parametrize("typed", ["last_run", "lastrun", "last run", "LAST_RUN", " Last-Run. "])
def test_last_run_misspelled_is_named(typed: str) -> None:
    with pytest.raises(UsageError, match="did you mean last-run"):
        parse_when(typed, NOW)


def test_until_last_run_is_no_hint_of_it() -> None:
    """``--until`` takes no last-run: its error says the forms it does take."""
    with pytest.raises(UsageError, match="is not a date or an age: use an ISO date"):
        parse_when("last_run", NOW, "--until")


@pytest.mark.parametrize(
    ("since", "until", "shown"),
    [
        ("2025-11-02T14:46:30", "2025-11-02T14:46:10", ("14:46:30 UTC", "14:46:10 UTC")),
        ("2025-11-02T14:46:10.250Z", "2025-11-02T14:46:10", ("14:46:10.250 UTC", "46:10 UTC")),
        ("2025-11-03", "2025-11-02T14:46", ("2025-11-03 00:00 UTC", "2025-11-02 14:46 UTC")),
    ],
)
def test_a_window_error_shows_the_times_as_finely_as_given(
    since: str, until: str, shown: tuple[str, str]
) -> None:
    """R35c: 14:46:30 and 14:46:10 were both shown as 14:46."""
    with pytest.raises(UsageError) as caught:
        check_window(parse_when(since, NOW), parse_when(until, NOW, "--until"))
    message = str(caught.value)
    assert "is not before --until (" in message
    assert message.index(shown[0]) < message.index("--until") < message.rindex(shown[1])


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
