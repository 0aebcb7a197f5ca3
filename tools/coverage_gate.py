"""The coverage gate: every branch of the pure core is covered by the core's own unit tests.

Runs the unit tests that pin the core (``PINNING_TESTS``) under branch coverage, in a child
process (so that no module of the tool is imported before measuring starts), then checks that
each entry of ``CORE`` has every line and every branch covered: a whole file
(``trello_restore/planner.py``), or one function or method of a file that also holds code with
I/O (``trello_restore/kinds.py::decide_card``, ``…::CardMember.decide``, names as coverage's
JSON report gives them). Prints one line per entry, and
under one that falls short each missing line and branch (``338->337``: the jump from line
338 to 337 was never taken; ``338->exit``: the function never returned from there). Exits 0
when every entry is at 100 %, 1 when one is not, 2 when the tests themselves fail.

Exclusions are allowed only with a reason: a ``# pragma: no cover`` or ``# pragma: no branch``
in a core file must be followed by why (``# pragma: no cover - only on Windows``); a bare one
fails the gate.

    .venv/bin/python tools/coverage_gate.py           # what CI runs (.ci/run)
    .venv/bin/python tools/coverage_gate.py -x -q     # extra arguments go to pytest

Only the coverage data of this run counts: it is written to a temporary file, never to
``.coverage``. The settings (``branch``, ``source``) are ``[tool.coverage.*]`` in pyproject.toml.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import tempfile
from collections.abc import Sequence
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]

#: The pure core: decisions made from data, no I/O. Each must be 100 % line and branch covered.
#: ``path`` is a whole file, ``path::name`` one function or method of it.
CORE = (
    "trello_restore/planner.py",
    # Scope, the filter values' check and the drafts (planner.py's until they were split off).
    "trello_restore/planner_drafts.py",
    "trello_restore/planner_scope.py",
    "trello_restore/planner_values.py",
    "trello_restore/planner_moves.py",  # what moved across boards, split off planner_values.py
    "trello_restore/history.py",
    "trello_restore/models.py",
    "trello_restore/planfile.py",
    "trello_restore/planschema.py",
    "trello_restore/timeparse.py",
    # The rate limiter's pacing by Trello's count (issue 12), pinned by tests/test_limiter.py.
    "trello_restore/limiter.py",
    # The value kinds (design.md §10): deciders, plan-file JSON, journal values, writes to a
    # stand-in and words, all pinned by tests/test_kinds_values.py.
    "trello_restore/kinds/values.py",
    "trello_restore/kinds/valuetext.py",  # their text, split off values.py
    "trello_restore/kinds/valuedeciders.py",  # their deciders, split off values.py
    # A card member's undo whose card left its board (review U3), pinned by
    # tests/test_kinds_elsewhere.py.
    "trello_restore/kinds/elsewhere.py",
    # Who set a change's target last (review D22): pinned by tests/test_kinds_touched.py.
    "trello_restore/kinds/touched.py",
    # The pure deciders of apply and undo, and how each kind feeds them (its module also holds
    # the writes and the words, which the apply, undo and report tests cover over HTTP); the
    # deciders before a write were split off members.py into memberapply.py:
    *(
        f"trello_restore/kinds/memberapply.py::{name}"
        for name in (
            "_deactivated_on",
            "renamed",
            "decide_board",
            "decide_card",
            # A grant no card add needs any more (B24).
            "unneeded_grants",
        )
    ),
    *(
        f"trello_restore/kinds/members.py::{name}"
        for name in (
            "decide_undo",
            "resolve",
            "BoardMembership.decide",
            "CardMember.decide",
            "MemberKind.decide_undo",
            "MemberKind.undo_rule",
            "MemberKind.resolve",
            # The undo of a grant: what it gave (its role, journaled), and what it would take.
            "undo_grant",
            "BoardMembership.decide_undo_after",
            # Kept for another journal's cards, not yet undone (review U23).
            "BoardMembership.decide_undo_kept",
            "_kept_for",
            "BoardMembership.record_values",
            "BoardMembership.from_record",
            # A plan file's change entries, both ways (planfile.py's before the kinds had them).
            "BoardMembership.to_json",
            "BoardMembership.from_json",
            "CardMember.to_json",
            "CardMember.from_json",
        )
    ),
)

#: The unit tests that pin the core: fast (a few seconds together), on literal data.
PINNING_TESTS = (
    "tests/test_planner_table.py",
    "tests/test_planner_values.py",
    "tests/test_history.py",
    "tests/test_models.py",
    "tests/test_timeparse.py",
    "tests/test_planfile.py",
    "tests/test_planfile_branches.py",
    "tests/test_kinds.py",
    "tests/test_kinds_values.py",
    "tests/test_kinds_elsewhere.py",
    "tests/test_kinds_touched.py",
    "tests/test_grant_decisions.py",
    "tests/test_planfile_v2.py",
    "tests/test_limiter.py",
)

_PRAGMA = re.compile(r"#\s*pragma:\s*no\s+(?:cover|branch)\b(?P<reason>.*)$")


def run_tests(data_file: Path, pytest_args: Sequence[str]) -> int:
    """Run the pinning tests under branch coverage; pytest's exit code."""
    env = {**os.environ, "COVERAGE_FILE": str(data_file)}
    command = [sys.executable, "-m", "coverage", "run", "--branch", "-m", "pytest", "-q",
               "-p", "no:cacheprovider", "-n", "0", *PINNING_TESTS, *pytest_args]  # fmt: skip
    # "-n 0": in this one process, which coverage traces (pyproject's addopts run two).
    # S603: the command is this Python, coverage, pytest and the listed test files.
    return subprocess.run(command, cwd=ROOT, env=env, check=False).returncode  # noqa: S603


def report(data_file: Path) -> dict[str, Any]:
    """Coverage's JSON report of the core files."""
    out = data_file.with_suffix(".json")
    env = {**os.environ, "COVERAGE_FILE": str(data_file)}
    subprocess.run(  # noqa: S603 - this Python and coverage, with the core's file names
        [sys.executable, "-m", "coverage", "json", "-q", "-o", str(out),
         "--include", ",".join(sorted({_file(entry) for entry in CORE}))],
        cwd=ROOT, env=env, check=True,
    )  # fmt: skip
    doc: dict[str, Any] = json.loads(out.read_text(encoding="utf-8"))
    return doc


def bare_pragmas(path: Path) -> list[str]:
    """The exclusion pragmas in ``path`` that give no reason (``file:line``)."""
    found = []
    for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
        match = _PRAGMA.search(line)
        if match and not re.search(r"\w", match.group("reason")):
            found.append(f"{path.relative_to(ROOT)}:{number}")
    return found


def _jump(branch: Sequence[int]) -> str:
    start, end = branch
    return f"{start}->{end if end > 0 else 'exit'}"


def _file(entry: str) -> str:
    return entry.partition("::")[0]


def _region(files: dict[str, Any], entry: str) -> dict[str, Any] | None:
    """Coverage's data of a core entry: a file's, or one function's of it."""
    path, _, function = entry.partition("::")
    data: dict[str, Any] | None = files.get(path)
    if data is not None and function:
        data = data["functions"].get(function)
    return data


def check(doc: dict[str, Any]) -> list[str]:
    """One line per core entry, then what is missing; the problems, empty when all is well."""
    files = {name.replace(os.sep, "/"): data for name, data in doc["files"].items()}
    problems: list[str] = []
    for name in CORE:
        data = _region(files, name)
        if data is None:
            print(f"{name}: not measured (no pinning test imports it, or no such function)")
            problems.append(name)
            continue
        s = data["summary"]
        branches, covered = s["num_branches"], s["covered_branches"]
        missing_lines, missing_branches = data["missing_lines"], data["missing_branches"]
        full = not missing_lines and not missing_branches
        print(f"{name}: {s['percent_covered']:.1f} % ({s['covered_lines']}/"
              f"{s['num_statements']} lines, {covered}/{branches} branches)")  # fmt: skip
        if missing_lines:
            print("    missing lines: " + ", ".join(map(str, missing_lines)))
        if missing_branches:
            print("    missing branches: " + ", ".join(_jump(b) for b in missing_branches))
        if not full:
            problems.append(name)
    for where in (
        p for path in sorted({_file(e) for e in CORE}) for p in bare_pragmas(ROOT / path)
    ):
        print(f"{where}: an exclusion pragma without a reason; say why after it")
        problems.append(where)
    return problems


def main(argv: Sequence[str]) -> int:
    with tempfile.TemporaryDirectory(prefix="coverage-gate-") as tmp:
        data_file = Path(tmp) / "coverage"
        code = run_tests(data_file, argv)
        if code != 0:
            print(f"coverage gate: the pinning tests failed (pytest exit {code})")
            return 2
        problems = check(report(data_file))
    if problems:
        print(
            f"coverage gate: FAILED: {len(problems)} problem(s) above. Every branch of the pure "
            "core needs a test in " + ", ".join(PINNING_TESTS[:2]) + " or the like; exclude "
            "only with '# pragma: no cover - <why>'"
        )
        return 1
    print(f"coverage gate: every line and branch of the {len(CORE)} core entries is covered")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
