"""``bench/planner_bench.py`` reports the planner's own figures (issue 12 item 4): the CPU time
as the median of several calls on one input, each call's plan the same; the memory the planner
itself takes (its peak over the memory held right before it), apart from the peak of building
the synthetic input, which the process's high-water mark alone cannot tell apart. Small inputs
only (seconds): the 1,000,000-action figures are the bench's, never a test's; no time is
asserted, only what the figures are and how they relate.
"""

from __future__ import annotations

import json
import statistics
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

BENCH = Path(__file__).resolve().parents[1] / "bench" / "planner_bench.py"


def _bench(*args: str) -> Any:
    out = subprocess.run(
        [sys.executable, str(BENCH), *args], capture_output=True, text=True, check=True, timeout=120
    )
    return json.loads(out.stdout)


def test_the_bench_reports_the_planners_own_cpu_and_memory() -> None:
    """Three calls timed, the median their CPU figure; the planner's own memory is its peak
    above what the process held right before it; the input's building is reported apart;
    a traced call adds Python's own peak; every call made the same plan."""
    got = _bench("--actions", "20000", "--calls", "3", "--tracemalloc")
    assert (got["member_actions"], got["cards"]) == (20000, 2000)
    assert len(got["cpu_s_calls"]) == 3
    assert got["cpu_s"] == pytest.approx(statistics.median(got["cpu_s_calls"]), abs=0.01)
    assert got["same_plan_each_call"] is True
    assert got["changes"] > 0
    if Path("/proc/self/clear_refs").exists():
        before, peak, own = (
            got["rss_before_plan_mb"],
            got["plan_peak_rss_mb"],
            got["planner_own_mb"],
        )
        assert own == pytest.approx(peak - before, abs=0.11)
        assert 0 < own < peak
        assert got["input_rss_mb"] >= before  # the input's peak: at least what it holds
        assert got["peak_rss_mb"] >= max(peak, got["input_rss_mb"])
    assert got["tracemalloc_peak_mb"] > 0
    assert len(got["load_avg"]) == 2


def test_against_an_older_tree_compares_medians_of_the_same_plan() -> None:
    """``--against`` runs the bench on both trees alternately (here this one twice): the
    median CPU of each, their ratio, each side's own memory, and whether the plans match."""
    root = str(BENCH.parents[1])
    got = _bench("--actions", "20000", "--against", root, "--repeat", "1", "--calls", "1")
    assert [len(got["runs"][side]) for side in ("old", "new")] == [1, 1]
    assert got["same_plan"] is True
    assert got["cpu_ratio"] == pytest.approx(got["new_cpu_s"] / got["old_cpu_s"], abs=0.01)
    assert got["old_cpu_s"] == got["runs"]["old"][0]["cpu_s"]
    assert "new_planner_own_mb" in got
