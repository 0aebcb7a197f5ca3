"""The plan memo in the documented cron job (issue 12): ``--since last-run`` every 15 minutes,
over HTTP against the sandbox, through the one-shot command line with the README's config
file and crontab line. Each run's ``since`` moves (the last run's start, less five minutes),
yet a run with nothing new since the last one is the memo: no store body read, no planning.

The runs are 15 minutes apart on one clock that the command line and the sandbox's Trello
share (the real time plus the runs' offsets), as a cron job's runs are."""

from __future__ import annotations

import json
import types
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from trello_restore.lastrun import OVERLAP
from trello_restore.models import format_date
from trello_restore.sandbox.scenario import Scenario

from . import test_cron, test_plan_memo
from .conftest import Sandbox
from .test_cron import (
    CRON,
    Invoke,
    _crontab_options,
    _move_to_archive,
    _on_card,
    _readme_block,
    _staffed_list,
    _summary,
    _writes,
)
from .test_history_store import _actions_requests
from .test_plan_memo import Calls
from .truthcheck import incident_since

#: The fixtures these tests share: the cron tests' command line (``invoke``, over conftest's
#: ``scenario`` and ``sb``), and the memo tests' counts (``calls``).
invoke_fixture, calls = test_cron.invoke_fixture, test_plan_memo.calls

#: How far apart the cron job's runs are.
EVERY = timedelta(minutes=15)


class Clock:
    """The real time plus an offset the test moves on: the command line's clock (its ``now``:
    the run's start, which its last-run records) and the sandbox's (its actions' dates)."""

    def __init__(self) -> None:
        self.offset = timedelta(0)

    def __call__(self) -> datetime:
        return datetime.now(UTC) + self.offset

    def now(self, tz: object = None) -> datetime:
        return self()


@pytest.fixture
def clock(scenario: Scenario, monkeypatch: pytest.MonkeyPatch) -> Clock:
    shared = Clock()
    scenario.world.clock = shared
    for module in ("cli_oneshot", "api.transport", "run_apply"):  # what reads the clock
        monkeypatch.setattr(
            f"trello_restore.{module}.datetime", types.SimpleNamespace(now=shared.now)
        )
    return shared


def _recorded(path: Path) -> datetime:
    """The last run the state file records."""
    return datetime.fromisoformat(json.loads(path.read_text())["last_run"].replace("Z", "+00:00"))


def test_cron_with_nothing_new_is_the_memo(
    invoke: Invoke,
    scenario: Scenario,
    sb: Sandbox,
    tmp_path: Path,
    clock: Clock,
    calls: Calls,
) -> None:
    """Run 1 (by hand, with a date) restores the incident; run 2, 15 minutes later, finds run
    1's adds (new actions): a miss, nothing to do; run 3 finds nothing new since run 2: the
    memo (the planner not called, no store body read, one ``since=`` request per feed), exit
    0, nothing to do, the last-run recorded, and its summary has its own ``since``; then a
    move strips members, and run 4 misses and restores exactly what the move removed."""
    config = tmp_path / "config.toml"
    config.write_text(_readme_block("toml"))  # boards = ["Team Board"]: the scenario's
    config.chmod(0o600)
    cron = ["--config", str(config), *_crontab_options()]
    assert cron[2:] == list(CRON)
    tonight = _staffed_list(scenario, "late")  # staffed before the first run: see run 4

    first = _summary(
        invoke("--config", str(config), "--since", incident_since(scenario), *CRON[2:])
    )
    assert first["outcome"] == "applied"
    assert first["apply"]["applied"] == first["plan"]["changes"] > 0
    state = Path(first["last_run"]["state_file"])
    assert calls.plans == 1

    clock.offset += EVERY
    calls.loads = calls.plans = 0
    second = _summary(invoke(*cron))
    assert second["outcome"] == "nothing_to_do"
    assert (calls.plans, calls.loads > 0) == (1, True), "run 1's adds are new: a miss"
    started2 = _recorded(state)

    clock.offset += EVERY
    calls.loads = calls.plans = 0
    log = sb.server.request_log
    log.clear()
    third = _summary(invoke(*cron))
    assert (calls.plans, calls.loads) == (0, 0), "the memo: no planning, no store body read"
    assert third["outcome"] == "nothing_to_do"
    assert (third["apply"]["applied"], third["apply"]["requests"]) == (0, 0)  # nothing written
    assert third["since"] == format_date(started2 - OVERLAP) != second["since"]
    assert third["last_run"]["recorded"] is True
    assert _recorded(state) > started2
    assert _writes(sb) == []
    feeds = _actions_requests(log)
    assert feeds
    assert all(len(rs) == 1 and "since" in rs[0].query_names for rs in feeds.values())
    assert {k: third["plan"][k] for k in ("changes", "blocked", "skipped")} == {
        k: second["plan"][k] for k in ("changes", "blocked", "skipped")
    }
    # The plan a run without any cache makes for run 3's window: the same.
    cold = invoke("--config", str(config), "--since", third["since"], "--no-cache",
                  "--dry-run", "--format", "json")  # fmt: skip
    assert cold.exit_code == 0, cold.output
    document = json.loads(cold.stdout)
    assert (len(document["changes"]), len(document["skipped"])) == (0, third["plan"]["skipped"])

    clock.offset += EVERY - timedelta(minutes=5)  # a move between run 3 and run 4
    moved = _move_to_archive(scenario, tonight, scenario.mover.id)
    assert moved
    assert _on_card(scenario, moved) == set()
    clock.offset += timedelta(minutes=5)
    calls.loads = calls.plans = 0
    log.clear()
    fourth = _summary(invoke(*cron))
    assert calls.plans == 1, "the move's actions are new: a miss"
    assert fourth["outcome"] == "applied"
    assert fourth["plan"]["card_changes"] == len(moved)
    assert fourth["apply"]["failed"] == 0
    assert _on_card(scenario, moved) == moved
    assert len([w for w in _writes(sb) if w.startswith("POST")]) == len(moved)
