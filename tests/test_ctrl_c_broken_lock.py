"""Ctrl-C through a thread lock it broke (CI, test_undo_question): CPython's
``Condition.wait`` is not safe against the exception a signal handler raises, which can land
between its release of the lock and its ``try``; the ``with`` then releases the lock again,
``RuntimeError: release unlocked lock``, raised with the ``KeyboardInterrupt`` as its context.
A Ctrl-C mid-apply then ended "internal error … release unlocked lock", exit 1: it is the
interrupt, exit 130, with the writes in flight answered and journaled as after any Ctrl-C."""

from __future__ import annotations

import json
from collections.abc import Iterable, Iterator
from concurrent.futures import Future
from pathlib import Path
from typing import Any

import pytest

from trello_restore import interrupts, runner
from trello_restore.journal import Journal, unresolved
from trello_restore.sandbox.scenario import Scenario

from .conftest import Sandbox, configless_cli
from .truthcheck import incident_since


def _broken_lock() -> RuntimeError:
    """The error CPython raises when Ctrl-C lands inside ``Condition.wait``'s unsafe window."""
    try:
        try:
            raise KeyboardInterrupt
        except KeyboardInterrupt:
            raise RuntimeError("release unlocked lock") from None
    except RuntimeError as err:
        err.__context__ = err.__context__ or KeyboardInterrupt()
        return err


def test_the_chain_is_the_interrupt() -> None:
    assert interrupts.broken_by_interrupt(_broken_lock())
    assert not interrupts.broken_by_interrupt(RuntimeError("release unlocked lock"))
    assert not interrupts.broken_by_interrupt(None)


def test_ctrl_c_that_breaks_a_lock_mid_apply_is_an_interrupt(
    sb: Sandbox, scenario: Scenario, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    invoke = configless_cli(sb, monkeypatch, tmp_path)
    monkeypatch.setenv("TRELLO_RESTORE_HOME", str(tmp_path / "home"))
    s = scenario
    plan = tmp_path / "plan.json"
    made = invoke("--board", s.team.id, "--since", incident_since(s), "--removed-by",
                  s.mover.username, "--add-to-board", "--dry-run", "-q",
                  "--plan-out", str(plan))  # fmt: skip
    assert made.exit_code == 0, made.output
    changes = len(json.loads(plan.read_text())["changes"])
    from concurrent.futures import as_completed as real

    def interrupted(futures: Iterable[Future[Any]]) -> Iterator[Future[Any]]:
        for n, future in enumerate(real(futures)):
            if n == 3:
                raise _broken_lock()
            yield future

    monkeypatch.setattr(runner, "as_completed", interrupted)
    journal = tmp_path / "j.jsonl"
    r = invoke("apply", str(plan), "--yes", "--journal", str(journal), "--workers", "1")
    assert r.exit_code == 130, r.output
    assert "internal error" not in r.output
    assert "Interrupted" in r.stderr, r.stderr
    records = Journal.read(journal).records
    assert not unresolved(records)  # every write sent was answered and journaled
    applied = [x for x in records if x.op == "apply" and x.status == "applied"]
    assert 3 <= len(applied) < changes
