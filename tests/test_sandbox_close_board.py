"""The sandbox closes (archives) a board as Trello's ``PUT /1/boards/{id}?closed=true`` does, so
README "Known limits" ("Closed boards are written like open ones") can be tried on it (R34b: it
had no route for it, and a user rehearsing the claim got a 404). Over HTTP."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from trello_restore.errors import ExitCode
from trello_restore.sandbox.scenario import generate

from .conftest import Sandbox, SandboxFactory, configless_cli


def test_an_admin_closes_and_reopens_a_board_and_trello_logs_it(sandbox: Sandbox) -> None:
    sb, team = sandbox, sandbox.ids["team"]
    url = f"{sb.base_url}/boards/{team}"
    refused = sb.session(sb.tokens["ana"]).put(url, params={"closed": "true"}, timeout=30)
    assert (refused.status_code, refused.text) == (401, "unauthorized permission requested")
    for params, name in (
        ({"closed": "maybe"}, "closed"),
        ({}, "closed"),
        ({"closed": "true", "name": "Renamed"}, "name"),
    ):
        bad = sb.session().put(url, params=params, timeout=30)
        assert (bad.status_code, bad.text) == (400, f"invalid value for {name}"), params
    assert not sb.world.boards[team].closed  # nothing changed by a refused request
    closed = sb.session().put(url, params={"closed": "true"}, timeout=30)
    assert closed.status_code == 200, closed.text
    assert closed.json()["closed"] is True
    assert sb.get(f"/boards/{team}", fields="closed").json()["closed"] is True
    again = sb.session().put(url, params={"closed": "true"}, timeout=30)  # unchanged: no action
    assert again.status_code == 200
    (logged,) = sb.get(f"/boards/{team}/actions", filter="updateBoard").json()
    assert logged["data"]["old"] == {"closed": False}
    assert logged["data"]["board"]["closed"] is True
    assert logged["idMemberCreator"] == sb.ids["lead"]
    reopened = sb.session().put(url, params={"closed": "false"}, timeout=30)
    assert reopened.json()["closed"] is False


def test_a_closed_board_is_planned_and_written_like_an_open_one(
    sandbox_factory: SandboxFactory, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """README: a closed board named with ``--board`` is read and written as any other; on the
    sandbox, closed over HTTP. The plan says it is closed (R47d: it said nothing, and whether
    Trello takes writes there is not known), once, naming how many of its changes are there."""
    s = generate(7, 40)
    sb = sandbox_factory(s, time_scale=100)
    invoke = configless_cli(sb, monkeypatch, tmp_path)
    monkeypatch.setenv("TRELLO_RESTORE_HOME", str(tmp_path / "home"))
    args = ("--board", s.team.id, "--since", s.incident_at.isoformat(), "--removed-by",
            s.mover.username, "--add-to-board", "--format", "json")  # fmt: skip
    before = json.loads(invoke(*args, "--dry-run").stdout)
    closed = sb.session().put(f"{sb.base_url}/boards/{s.team.id}", params={"closed": "true"})
    assert closed.status_code == 200, closed.text
    plan = json.loads(invoke(*args, "--dry-run").stdout)
    assert plan["changes"] == before["changes"]
    # The team board is closed, but the changes are on the archive board: nothing to say.
    assert {c["board"]["id"] for c in plan["changes"]} == {s.archive.id}
    assert plan["warnings"] == before["warnings"]
    shut = sb.session().put(f"{sb.base_url}/boards/{s.archive.id}", params={"closed": "true"})
    assert shut.status_code == 200, shut.text
    plan = json.loads(invoke(*args, "--dry-run").stdout)
    assert plan["changes"] == before["changes"]
    (said,) = [w for w in plan["warnings"] if w not in before["warnings"]]
    n = len(plan["changes"])
    assert said == (
        f'board "{s.archive.name}" ({s.archive.id}) is closed (archived): {n} changes of this '
        "plan are on it, and whether Trello takes writes to a closed board is not known; reopen "
        "it in Trello before applying, or leave its cards out (--list, --card)"
    )
    applied = invoke(*args, "--yes", "-q")
    assert applied.exit_code == ExitCode.OK, applied.output
    assert json.loads(applied.stdout)["apply"]["applied"] == len(plan["changes"]) > 0
    assert s.world.boards[s.team.id].closed
    assert s.world.boards[s.archive.id].closed
    # The one-step run said it once (its plan's line), not again as its apply's.
    assert applied.stderr.count(" is closed (archived)") == 1, applied.stderr
    assert said in applied.stderr


def test_a_board_closed_after_the_plan_is_said_by_the_apply_and_the_undo(
    sandbox_factory: SandboxFactory, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """R48c: a board closed after its plan was reviewed was written, and undone, without a
    word: the apply and the undo say so from their live read, before they write."""
    s = generate(7, 40)
    sb = sandbox_factory(s, time_scale=100)
    invoke = configless_cli(sb, monkeypatch, tmp_path)
    monkeypatch.setenv("TRELLO_RESTORE_HOME", str(tmp_path / "home"))
    plan, journal = tmp_path / "plan.json", tmp_path / "j.jsonl"
    since = s.incident_at.isoformat()
    made = invoke("--board", s.team.id, "--since", since, "--removed-by", s.mover.username,
                  "--add-to-board", "--dry-run", "--plan-out", str(plan))  # fmt: skip
    assert made.exit_code == ExitCode.OK, made.output
    n = len(json.loads(plan.read_text())["changes"])
    assert " is closed" not in made.stderr
    trial = invoke("apply", str(plan), "--dry-run")  # open boards: nothing said (R50d)
    assert trial.exit_code == ExitCode.OK, trial.output
    assert " is closed" not in trial.stderr
    shut = sb.session().put(f"{sb.base_url}/boards/{s.archive.id}", params={"closed": "true"})
    assert shut.status_code == 200, shut.text
    where = f'board "{s.archive.name}" ({s.archive.id}) is closed (archived) now: '
    tail = (
        "on it, and whether Trello takes writes to a closed board is not known; if Trello "
        "refuses them, reopen it in Trello and run this again"
    )
    applied = invoke("apply", str(plan), "--journal", str(journal), "--yes")
    assert applied.exit_code == ExitCode.OK, applied.output
    assert f"Warning: {where}{n} changes of this apply are {tail}" in applied.stderr
    undone = invoke("undo", str(journal), "--yes", "--include-board-memberships")
    assert undone.exit_code == ExitCode.OK, undone.output
    assert f"Warning: {where}{n} changes of this undo are {tail}" in undone.stderr
