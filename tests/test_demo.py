"""``trello-restore demo``: the whole cycle in-process, its checks, and its failure path."""

from __future__ import annotations

import time
from pathlib import Path

import pytest
from click.testing import CliRunner

from trello_restore import demo
from trello_restore.cli import main
from trello_restore.errors import ExitCode


def test_demo_passes_its_checks_quickly(tmp_path: Path) -> None:
    """The default demo explains the incident, plans, applies, checks the ground truth, undoes,
    checks again, and exits 0, in seconds; the state directory stays untouched."""
    started = time.monotonic()
    result = CliRunner().invoke(main, ["demo"], catch_exceptions=False)
    assert result.exit_code == 0, result.output
    assert time.monotonic() - started < 30
    out = result.stdout
    assert "The incident (sandbox scenario: seed 1, 200 cards on 'Team Board'):" in out
    assert "Would re-add card members" in out
    assert "Dry run: nothing was changed." in out
    assert "x faster in the sandbox" in out
    assert " applied, 0 already satisfied, 0 drifted, 0 blocked, 0 failed." in out
    assert "Ground truth check: passed: every expected member is back" in out
    assert "Undo check: passed: every membership is as it was before the apply." in out
    assert "Request log check: passed" in out
    assert "All checks passed." in out
    assert "trello-restore apply plan.json" in out
    assert not (tmp_path / "trello-restore-home").exists()


def test_demo_with_another_seed() -> None:
    """--seed and --cards pick another scenario; the checks pass there too."""
    result = CliRunner().invoke(main, ["demo", "--seed", "7", "--cards", "60"])
    assert result.exit_code == 0, result.output
    assert "seed 7, 60 cards" in result.stdout


def test_a_failed_check_exits_partial(monkeypatch: pytest.MonkeyPatch) -> None:
    """When the boards do not match what is expected the demo says what differs, exits 5."""
    real = demo.expected_after

    def wrong(*args: object) -> demo.Snapshot:
        cards, boards = real(*args)  # type: ignore[arg-type]
        return {cid: frozenset() for cid in cards}, boards

    monkeypatch.setattr(demo, "expected_after", wrong)
    result = CliRunner().invoke(main, ["demo", "--cards", "20"])
    assert result.exit_code == ExitCode.PARTIAL, result.output
    assert "Ground truth check: FAILED: " in result.stdout
    assert "unexpected @" in result.stdout
    assert "1 check failed" in result.stdout
