"""A plan file made before issue 10 (the typed path from plan to apply) reads, names the same
journal and applies exactly as it did.

``tests/fixtures/plan-v1-seed5-set-{a,b}.json`` were written by trello-restore at commit d62e16c
(before the plan was parsed into ``Plan``): ``generate(seed=5, cards=30)`` served on
``127.0.0.1:29417`` with ``time_scale=100``, option sets a (blocked changes) and b (board grants
and card members) planned at 2026-11-26 with ``--plan-out``. Their digests are the ones that code
computed; the journal of a plan is named after its digest, so a digest that changed would leave
a half-applied old plan unable to resume (and its undo looking at the wrong journal).
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path

import pytest
from click.testing import Result

from trello_restore.demo import Snapshot, compare, expected_after, snapshot
from trello_restore.journal import Journal
from trello_restore.planfile import digest_of, dumps, plan_digest, plan_to_dict, read_plan
from trello_restore.sandbox.scenario import Scenario, generate
from trello_restore.sandbox.server import SandboxOptions, SandboxServer

from .conftest import run_cli

FIXTURES = Path(__file__).parent / "fixtures"
#: The port the plans were made on: their ``api_url``, outside Linux's ephemeral range.
PORT = 29417
#: What trello-restore computed for each file before the change.
DIGESTS = {
    "a": "990d46a12cc07308e5fd396244463e2e92a1950ce79f1b14b420272e5e4dc3eb",
    "b": "30074b3c5dcbfbb807c8f328bcddd63f98e05fb52b2cc7a5843b5a1f03950793",
}


def _path(name: str) -> Path:
    return FIXTURES / f"plan-v1-seed5-set-{name}.json"


@pytest.mark.parametrize("name", ["a", "b"])
def test_an_old_plan_reads_with_the_same_digest(name: str) -> None:
    text = _path(name).read_text(encoding="utf-8")
    assert plan_digest(json.loads(text)) == DIGESTS[name]  # of the document, as before
    plan, meta = read_plan(_path(name))
    assert meta.digest == DIGESTS[name]
    assert digest_of(plan, meta) == DIGESTS[name]
    # The typed plan is the whole file: written again, it is the same text, and the digest of
    # the plan alone (not carried over from the file) is the same too.
    assert dumps(plan_to_dict(plan, meta)) == text
    assert digest_of(plan, replace(meta, digest="")) == DIGESTS[name]
    assert meta.api_url == f"http://127.0.0.1:{PORT}/1"


@pytest.fixture(name="scenario")
def scenario_fixture() -> Iterator[Scenario]:
    """The plans' scenario, served where they were made."""
    s = generate(seed=5, cards=30)
    try:
        server = SandboxServer(s.world, SandboxOptions(time_scale=100), port=PORT)
    except OSError as exc:  # pragma: no cover - another program holds the port
        pytest.skip(f"port {PORT}, where the fixture plans were made, is in use: {exc}")
    server.start()
    try:
        yield s
    finally:
        server.stop()


def _cli(s: Scenario, *args: str) -> Result:
    return run_cli(
        [*args, "--api-url", f"http://127.0.0.1:{PORT}/1"],
    )


@pytest.mark.parametrize(("name", "code", "applied"), [("a", 5, 2), ("b", 0, 15)])
def test_an_old_plan_applies_exactly_resumes_and_undoes(
    scenario: Scenario,
    name: str,
    code: int,
    applied: int,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("TRELLO_API_KEY", scenario.key)
    monkeypatch.setenv("TRELLO_TOKEN", scenario.token)
    before: Snapshot = snapshot(scenario.world)
    want = expected_after(scenario, before, name)

    first = _cli(scenario, "apply", str(_path(name)))
    assert first.exit_code == code, first.output
    assert f"Summary: {applied} applied, 0 already satisfied, 0 drifted" in first.stdout
    assert compare(scenario.world, snapshot(scenario.world), want) == ""
    # The journal is the one the old code named: resuming and undoing find it.
    journal = Path(re.findall(r"^Journal: (.+)$", first.stderr, re.M)[-1])
    assert journal.name == f"plan-{DIGESTS[name][:16]}.jsonl"
    assert Journal.read(journal).header.plan_digest == DIGESTS[name]

    again = _cli(scenario, "apply", str(_path(name)))
    assert again.exit_code == code, again.output
    assert f"{applied} changes done by an earlier run (skipped)" in again.stdout

    undone = _cli(scenario, "undo", str(journal), "--yes", "--include-board-memberships")
    assert undone.exit_code == 0, undone.output
    assert compare(scenario.world, snapshot(scenario.world), before) == ""
