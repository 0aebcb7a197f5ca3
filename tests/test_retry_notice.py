"""A run waiting on a Trello that does not answer says so: the first read about to be retried
prints one warning (what failed, how long the retries left may take); later retries stay at
INFO, and a Trello that answers prints nothing."""

from __future__ import annotations

import logging
import time
from pathlib import Path

import pytest

from trello_restore.api import ApiSettings, TrelloApi
from trello_restore.api.retry import RetryPolicy
from trello_restore.errors import ApiUnreachable, ExitCode, NotFound, RateLimited

from .conftest import SandboxFactory, configless_cli, make_world


@pytest.mark.parametrize("quiet", [[], ["-q"]], ids=["default", "quiet"])
def test_a_frozen_trello_is_announced_once(
    sandbox_factory: SandboxFactory,
    monkeypatch: pytest.MonkeyPatch,
    tmp_path: Path,
    quiet: list[str],
) -> None:
    """A sandbox that answers nothing in time (each answer 20 s late): one warning line on
    stderr naming the timeout and the longest the two retries may take (2 x (0.2 + 0.2) s of
    timeouts + 1 + 2 s of waits = 3.8 s), then the exit-4 error. ``-q`` keeps warnings."""
    world = make_world()
    sb = sandbox_factory(world, latency_ms=20_000)
    invoke = configless_cli(sb, monkeypatch, tmp_path)
    started = time.monotonic()
    r = invoke(
        *quiet, "--board", world.ids["team"], "--since", "7d", "--dry-run", "--no-cache",
        TRELLO_RESTORE_REQUEST_TIMEOUT="0.2", TRELLO_RESTORE_MAX_RETRIES="2",
    )  # fmt: skip
    assert time.monotonic() - started < 8
    assert r.exit_code == ExitCode.UNREACHABLE, r.output
    host = f"127.0.0.1:{sb.server.port}"
    assert r.stderr.splitlines() == [
        f"Warning: the Trello API at {host} is not answering (read timed out after 0.2 s); "
        "retrying for up to 4 s more (Ctrl-C to stop)",
        f"Error: cannot reach the Trello API at {host} (timed out waiting for an answer) after "
        "3 attempts: check the network connection, or TRELLO_API_URL",
    ]


def test_a_trello_that_answers_prints_no_warning(
    sandbox_factory: SandboxFactory, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    """The same run against a sandbox that answers: nothing about retrying."""
    world = make_world()
    sb = sandbox_factory(world)
    invoke = configless_cli(sb, monkeypatch, tmp_path)
    r = invoke("--board", world.ids["team"], "--since", "7d", "--dry-run", "--no-cache")
    assert r.exit_code == 0, r.output
    assert "retrying" not in r.stderr
    assert "Warning" not in r.stderr


def test_one_warning_per_run_not_per_request(
    sandbox_factory: SandboxFactory, caplog: pytest.LogCaptureFixture
) -> None:
    """Two reads failing with 5xx on two threads' sessions of one api: one warning, for the
    first retry, with what the policy allows for the two retries left (2 x 35 s + 0.01 + 0.02 s
    of waits: 71 s); every retry is at INFO too."""
    sb = sandbox_factory(error_rate=1.0)
    settings = ApiSettings(
        sb.key, sb.token, api_url=sb.base_url, read_retries=2, backoff_s=0.01, rate_window_s=0.01
    )
    caplog.set_level(logging.INFO, logger="trello_restore.api")
    with TrelloApi(settings) as api:
        for _ in range(2):
            with pytest.raises(ApiUnreachable):
                api.get(f"boards/{sb.ids['team']}")
    warnings = [r.getMessage() for r in caplog.records if r.levelno == logging.WARNING]
    assert len(warnings) == 1, warnings
    assert warnings[0].startswith(
        f"the Trello API at 127.0.0.1:{sb.server.port} is failing (HTTP 5"
    )
    assert warnings[0].endswith("); retrying for up to 71 s more (Ctrl-C to stop)")
    retries = [
        r for r in caplog.records if r.levelno == logging.INFO and "retrying in" in r.getMessage()
    ]
    assert len(retries) == 4


def test_longest_waits_are_the_largest_delays_left() -> None:
    """The defaults after a first timeout: 1 + 2 + 4 + 8 + 16 s (so a frozen Trello is given up
    on after 6 x 30 s of read timeouts and 15.5 to 31 s of waits); the cap of 60 s per wait; a
    429 waits the window (or its Retry-After) plus the jitter each time; no wait for an error
    that is not retried, nor once the retries are used."""
    policy = ApiSettings("k", "t").read_policy
    assert policy.retries == 5
    assert policy.longest_waits(ApiUnreachable("x"), 0) == 31.0
    assert policy.longest_waits(ApiUnreachable("x"), 3) == 24.0
    assert policy.longest_waits(ApiUnreachable("x"), 5) == 0.0
    assert RetryPolicy(retries=9).longest_waits(ApiUnreachable("x"), 6) == 60.0 * 3
    assert policy.longest_waits(RateLimited("x", 429), 3) == 2 * (10.0 + 1.0)
    assert policy.longest_waits(RateLimited("x", 429, "", 30.0), 4) == 31.0
    assert policy.longest_waits(NotFound("x", 404), 0) == 0.0
    assert all(
        policy.longest_waits(ApiUnreachable("x"), 0)
        >= sum(policy.delay(ApiUnreachable("x"), n, r) or 0 for n in range(5))
        for r in (0.0, 0.5, 0.999)
    )
