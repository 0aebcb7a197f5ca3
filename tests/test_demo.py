"""``trello-restore demo``: the whole cycle in-process, its checks, and its failure path."""

from __future__ import annotations

import os
import time
from collections.abc import Iterator, MutableMapping
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

from trello_restore import demo
from trello_restore.cli import main
from trello_restore.errors import ExitCode
from trello_restore.plan_request import build_request
from trello_restore.sandbox.scenario import generate


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


def test_demo_restores_and_undoes_the_second_damage() -> None:
    """After the member restore the demo tells the second damage (who archived and moved
    what, the automation's overwrites, the changes made by hand afterwards), plans
    ``--restore archived,list,fields --by CULPRIT --since T2``, applies it, checks every card
    and list value against the ground truth, undoes it and checks every value is back, each
    in the value kinds' words."""
    lines: list[str] = []
    assert demo.run_demo(seed=1, cards=60, echo=lines.append) == ExitCode.OK
    out = "\n".join(lines)
    s = generate(1, 60, second_damage=True)
    assert s.culprit is not None
    assert s.second_damage_at is not None
    culprit, t2 = s.culprit.username, s.second_damage_at.strftime("%Y-%m-%dT%H:%M")
    assert "The second damage (the same scenario, a few days later):" in out
    assert f"(@{culprit}) archived all " in out
    assert '("Archive all cards in this list")' in out
    assert "an automation running with their token overwrote the due dates of 12 cards" in out
    assert (
        f"   trello-restore --board 'Team Board' --restore archived,list,fields --by {culprit} "
        f"--since {t2} --dry-run"
    ) in lines
    assert "Would restore the archive state of cards (" in out
    truth = demo.value_truth(s)
    n = len(truth.value_changes)
    assert f"5. Apply the {n} changes: lists first, then card moves and archive states," in out
    assert f"   Summary: {n} applied, 0 already satisfied, 0 drifted, 0 blocked, 0 failed." in out
    assert (
        "Ground truth check: passed: every archived card, moved card and overwritten field of "
        f"the damage is back as it was ({n} values)"
    ) in " ".join(x.strip() for x in lines)
    assert f"   Summary: {n} reverted, 0 failed." in out
    assert "Undo check: passed: every card and list is as it was before the apply." in out
    assert out.index("Undo check: passed: every membership") < out.index("The second damage")
    assert "--restore archived,list,fields --by MEMBER --since WHEN" in out


def test_a_failed_value_check_exits_partial(monkeypatch: pytest.MonkeyPatch) -> None:
    """When the card values after the restore are not what the truth says, the demo says
    which values differ and exits 5."""
    monkeypatch.setattr(demo, "expected_values", lambda truth, before: before)
    lines: list[str] = []
    assert demo.run_demo(cards=20, echo=lines.append) == ExitCode.PARTIAL
    out = " ".join(x.strip() for x in lines)
    assert "Ground truth check: FAILED: every archived card, moved card" in out
    assert "closed of card '" in out
    assert "1 check failed" in out


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


class _WatchedEnviron(MutableMapping[str, str]):
    """``os.environ`` that records every change made to it."""

    def __init__(self, real: MutableMapping[str, str]) -> None:
        self.real = real
        self.changes: list[str] = []

    def __getitem__(self, key: str) -> str:
        return self.real[key]

    def __setitem__(self, key: str, value: str) -> None:
        self.changes.append(f"set {key}")
        self.real[key] = value

    def __delitem__(self, key: str) -> None:
        self.changes.append(f"del {key}")
        del self.real[key]

    def __iter__(self) -> Iterator[str]:
        return iter(self.real)

    def __len__(self) -> int:
        return len(self.real)


def test_the_demo_leaves_the_environment_alone(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    """The demo passes its temporary state directory down to the apply and the undo (their
    journals and locks go there) instead of pointing TRELLO_RESTORE_HOME at it."""
    watched = _WatchedEnviron(os.environ)
    monkeypatch.setattr(os, "environ", watched)
    lines: list[str] = []
    assert demo.run_demo(seed=3, cards=20, echo=lines.append) == ExitCode.OK
    assert watched.changes == []
    assert "All checks passed." in "\n".join(lines)
    assert not (tmp_path / "trello-restore-home").exists()


def test_the_demos_plans_pace_by_the_sandboxs_window(monkeypatch: pytest.MonkeyPatch) -> None:
    """Both of the demo's plans read Trello under a limiter whose window is the sandbox's
    (Trello's 10 s divided by the time scale, as the applies' are). With Trello's 10 s, the
    second damage's plan, which starts while the undo's requests still fill the sandbox's
    window, waited a whole 10 s window: 10 of the demo's 11 s."""
    seen: list[float | None] = []
    real = build_request

    def spy(**kwargs: Any) -> Any:
        seen.append(kwargs.get("window_s"))
        return real(**kwargs)

    monkeypatch.setattr("trello_restore.demo.build_request", spy)
    result = CliRunner().invoke(main, ["demo", "--cards", "20"])
    assert result.exit_code == 0, result.output
    assert seen == [10 / demo.TIME_SCALE] * 2
