"""``bench/run.py --repeats N`` (issue 12's benchmark): the cold dry run and the apply of each
size, and of the workspace, measured N times in the same run, the later ones on fresh copies of
the generated world; every repeat's figures kept, each checked against the ground truth, the
phase's headline ratio the median of its repeats'. A tiny scenario and workspace (seconds), run
as the bench is run (its command line, the tool in its own processes, the sandbox over HTTP);
no time is asserted, only what the figures are and how they relate.
"""

from __future__ import annotations

import importlib.util
import json
import statistics
import subprocess
import sys
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest

BENCH = Path(__file__).resolve().parents[1] / "bench" / "run.py"
REPEATED = ("dry run (fetch + plan), cold", "apply")


@pytest.fixture(scope="module")
def results(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    """One bench run: 60 cards and a workspace of 4 boards of 60-120 cards, each repeated
    twice; no baseline, no ``--restore all``, no second client, no planner."""
    out = tmp_path_factory.mktemp("bench") / "results.json"
    done = subprocess.run(
        [
            sys.executable,
            str(BENCH),
            "--sizes",
            "60",
            "--repeats",
            "2",
            "--latency-ms",
            "50",
            "--skip-baseline",
            "--skip-restore-all",
            "--second-client-share",
            "0",
            "--planner-actions",
            "0",
            "--workspace",
            "--workspace-boards",
            "4",
            "--workspace-cards",
            "60",
            "120",
            "--out",
            str(out),
        ],
        capture_output=True,
        text=True,
        timeout=180,
    )
    assert done.returncode == 0, done.stderr[-2000:]
    got: dict[str, Any] = json.loads(out.read_text())
    got["printed"] = done.stdout
    return got


def _check_repeated(phase: dict[str, Any], n: int) -> None:
    """``n`` repeats listed, each exact; the headline figures are their medians."""
    each = phase["repeats"]
    assert phase["median_of"] == len(each) == n
    assert all(r["exact"] == 1 for r in each), each
    ratios = [r["ratio_to_bound"] for r in each]
    assert phase["ratio_to_bound"] == round(statistics.median(ratios), 3)
    assert phase["ratio_range"] == [min(ratios), max(ratios)]
    assert phase["wall_trello_s"] == round(statistics.median(r["wall_trello_s"] for r in each), 1)
    assert phase["cpu_s"] == round(statistics.median(r["cpu_s"] for r in each), 3)
    # The first repeat's own figures are the phase's requests and bound.
    assert (phase["requests"], phase["lower_bound_s"]) == (
        each[0]["requests"],
        each[0]["lower_bound_s"],
    )
    assert all(r["requests"] > 0 and r["http_429"] == 0 for r in each)


def test_a_size_reports_each_repeat_of_its_cold_run_and_apply(results: dict[str, Any]) -> None:
    """Two cold dry runs and two applies, each exact; the later apply wrote as much as the
    first (a fresh copy as it was before the apply: on the first copy, already restored, it
    would have nothing to write); the other phases are measured once."""
    entry = results["sizes"]["60"]["trello_restore"]
    assert results["settings"]["repeats"] == 2
    phases = {p["phase"]: p for p in entry["phases"]}
    for name in REPEATED:
        _check_repeated(phases[name], 2)
    cold = phases["dry run (fetch + plan), cold"]["repeats"]
    assert [r["same_plan_as_first"] for r in cold] == [1, 1]
    assert all(r["writes"] == 0 for r in cold)
    applies = phases["apply"]["repeats"]
    plan = entry["plan"]
    assert applies[0]["writes"] == applies[1]["writes"]
    assert applies[0]["writes"] == plan["card_changes"] + plan["board_changes"]
    assert applies[0]["writes"] > 0
    for name in phases.keys() - set(REPEATED):
        assert "repeats" not in phases[name], name
    assert entry["repeats"] == {"n": 2, "all_exact": 1}
    assert entry["correctness"]["exact"] == 1
    assert entry["replan"]["same_plan"] == 1
    assert entry["new_incident"]["incremental_equals_cold"] == 1


def test_the_workspace_repeats_its_cold_run_and_apply(results: dict[str, Any]) -> None:
    w = results["workspace"]
    cold, replan, apply = w["phases"]
    _check_repeated(cold, 2)
    _check_repeated(apply, 2)
    assert "repeats" not in replan
    assert [r["same_plan_as_first"] for r in cold["repeats"]] == [1, 1]
    writes = [r["writes"] for r in apply["repeats"]]
    assert writes[0] == writes[1] > 0
    assert w["repeats"] == {"n": 2, "all_exact": 1}
    assert (w["plan_vs_truth"]["exact"], w["end_state"]["exact"]) == (1, 1)


def test_the_printed_tables_give_the_median_and_the_range(results: dict[str, Any]) -> None:
    printed = results["printed"]
    for phase in (
        results["sizes"]["60"]["trello_restore"]["phases"][0],
        results["workspace"]["phases"][2],
    ):
        low, high = phase["ratio_range"]
        cell = f"{phase['ratio_to_bound']:.3f} ({low:.3f}\u2013{high:.3f})"
        assert f"| {cell} | exact |" in printed
    assert "measured 2 times: wall, CPU and ratio are medians" in printed


def _bench_module(monkeypatch: pytest.MonkeyPatch) -> ModuleType:
    """``bench/run.py`` imported (registered while the test runs: its dataclasses need it)."""
    spec = importlib.util.spec_from_file_location("bench_run_under_test", BENCH)
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    monkeypatch.setitem(sys.modules, spec.name, module)
    monkeypatch.setattr(sys, "path", list(sys.path))  # it puts bench/ first on the path
    spec.loader.exec_module(module)
    return module


def test_a_repeat_that_is_not_exact_is_named(monkeypatch: pytest.MonkeyPatch) -> None:
    """One wrong repeat among right ones is not hidden by the median: the table's verdict
    names it and the size's summary is not exact."""
    bench = _bench_module(monkeypatch)
    phase = {"phase": "apply", "repeats": [{"exact": 1}, {"exact": 0}, {"exact": 1}]}
    assert bench.repeats_verdict(phase, "exact") == "exact; repeat 2 NOT exact"
    assert bench.repeats_verdict({"phase": "apply"}, "exact") == "exact"
    summary = bench._repeats_summary([{"phase": "re-plan"}, phase])
    assert summary == {"n": 3, "all_exact": 0}


def test_the_planner_is_measured_in_several_processes(monkeypatch: pytest.MonkeyPatch) -> None:
    """``--repeats`` runs the planner bench in that many processes: its CPU figure is the
    median of theirs (each listed), the first one's other figures kept, the same plan in each;
    the printed line says what the figure is the median of."""
    bench = _bench_module(monkeypatch)
    p = bench.bench_planner(3000, 3)
    each = p["cpu_s_processes"]
    assert p["median_of_processes"] == len(each) == 3
    assert p["cpu_s"] == round(statistics.median(each), 3)
    assert p["same_plan_each_process"] is True
    assert p["member_actions"] == 3000
    assert p["tracemalloc_peak_mb"] is not None
    line = bench.table({"sizes": {}, "planner": p}).splitlines()[-1]
    assert f"{p['cpu_s']} s CPU (median of 3 processes, each the median of its 3 calls" in line
    single = bench.bench_planner(3000)
    assert single["median_of_processes"] == 1
    assert "(median of 3 calls)" in bench.table({"sizes": {}, "planner": single})


def test_only_the_phases_checked_against_the_truth_say_exact(results: dict[str, Any]) -> None:
    """The re-plans say what they were compared with (R36d: every row of a size showed its
    apply's "exact", also the phases no ground truth checks); the run names its commit and the
    machine's load, and the re-plan's actions requests are since= requests."""
    printed = results["printed"]
    assert "| re-plan, unchanged history |" in printed
    rows = [line for line in printed.splitlines() if "| re-plan" in line or "--no-cache |" in line]
    assert rows
    assert not [r for r in rows if r.rstrip().endswith("| exact |")], rows
    assert any(r.rstrip().endswith("| same plan |") for r in rows), rows
    assert any(r.rstrip().endswith("| = --no-cache plan |") for r in rows), rows
    phases = {p["phase"]: p for p in results["sizes"]["60"]["trello_restore"]["phases"]}
    assert phases["re-plan, unchanged history"]["checked"] == "same plan"
    assert "checked" not in phases["apply"]
    assert results["sizes"]["60"]["trello_restore"]["replan"]["actions_requests_without_since"] == 0
    assert isinstance(results["load_avg_1min_before"], float)
    assert isinstance(results["load_avg_1min_after"], float)
    assert results["commit"] is None or len(results["commit"].rstrip("+")) >= 7


def test_the_apply_is_timed_as_the_one_step_run_makes_it(results: dict[str, Any]) -> None:
    """The apply of the plan just made reads no board's actions (``fresh_plan``, as the
    one-step run): R36d found it timing ``apply PLAN``'s read of a plan that sat."""
    for phase in (
        next(
            p for p in results["sizes"]["60"]["trello_restore"]["phases"] if p["phase"] == "apply"
        ),
        results["workspace"]["phases"][2],
    ):
        assert not [e for e in phase["by_endpoint"] if e.endswith("/actions")], phase["by_endpoint"]


def test_a_run_without_out_leaves_the_reference_results_alone(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """``--out`` unset writes under ``bench/runs/`` (ignored by git), not over the README's
    ``bench/results.json`` (R36d: the README's "quick look" replaced it)."""
    bench = _bench_module(monkeypatch)
    reference = BENCH.parent / "results.json"
    before = reference.read_bytes() if reference.exists() else None
    monkeypatch.setattr(
        sys, "argv", ["run.py", "--sizes", "--planner-actions", "0", "--skip-baseline"]
    )
    runs = BENCH.parent / "runs"
    existed = runs.exists()
    had = set(runs.iterdir()) if existed else set()
    bench.main()
    made = set(runs.iterdir()) - had
    try:
        assert len(made) == 1, made
        (path,) = made
        assert path.name.startswith("results-")
        assert path.suffix == ".json"
        assert json.loads(path.read_text())["sizes"] == {}
        assert (reference.read_bytes() if reference.exists() else None) == before
    finally:
        for path in made:
            path.unlink()
        if not existed:
            runs.rmdir()
