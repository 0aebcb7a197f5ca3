"""The token's account (``members/me``) is kept in the HTTP cache for an hour: a run after
another does not read it again, so that a script running the tool board by board does not
reach Trello's 100 requests per 15 minutes on ``/1/members/`` (trello-api-notes.md §0.8).
Over HTTP against the sandbox, through the command line."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from trello_restore.sandbox.scenario import Scenario

from .conftest import Sandbox, one_line_error, sandbox_cli


def _me_reads(sb: Sandbox, start: int) -> int:
    return sum(1 for r in sb.server.request_log[start:] if r.path == "/1/members/me")


def _plan(stdout: str) -> dict[str, Any]:
    doc: dict[str, Any] = json.loads(stdout)
    del doc["created_at"]
    doc.pop("clock_skew_s", None)  # to about a second, as each run saw it
    return doc


def test_runs_in_a_row_read_the_account_once(
    sb: Sandbox, scenario: Scenario, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The second dry run takes the account from the cache and plans the same; ``--no-cache``
    reads it; another token gets its own read (the cache is a file per key and token)."""
    invoke = sandbox_cli(sb, monkeypatch)
    monkeypatch.setenv("TRELLO_RESTORE_HOME", str(tmp_path / "home"))
    args = ("--board", scenario.team.id, "--since", "2000-01-01", "--dry-run", "--format", "json")
    start = len(sb.server.request_log)
    first = invoke(*args)
    assert first.exit_code in (0, 2), first.output
    assert _me_reads(sb, start) == 1
    start = len(sb.server.request_log)
    again = invoke(*args)
    assert again.exit_code == first.exit_code, again.output
    assert _me_reads(sb, start) == 0
    assert _plan(again.stdout) == _plan(first.stdout)  # the same plan and account
    start = len(sb.server.request_log)
    assert invoke(*args, "--no-cache").exit_code == first.exit_code
    assert _me_reads(sb, start) == 1
    # Another member's token: a cache file of its own, so its own read.
    me = sb.get("/members/me").json()["id"]
    other = next(m for m in scenario.world.members.values() if m.id != me)
    key, token = scenario.world.add_credentials(other.id)
    start = len(sb.server.request_log)
    invoke(*args, TRELLO_API_KEY=key, TRELLO_TOKEN=token)
    assert _me_reads(sb, start) == 1


def test_a_token_revoked_after_a_run_is_refused_by_the_next(
    sb: Sandbox, scenario: Scenario, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The kept account does not hide a revoked token: the next request is refused (401), with
    the usual one line and exit code."""
    invoke = sandbox_cli(sb, monkeypatch)
    monkeypatch.setenv("TRELLO_RESTORE_HOME", str(tmp_path / "home"))
    args = ("--board", scenario.team.id, "--since", "2000-01-01", "--dry-run")
    assert invoke(*args).exit_code in (0, 2)
    del scenario.world.tokens[sb.token]
    one_line_error(invoke(*args), 3, "Trello rejected the API key or token", "TRELLO_TOKEN")
