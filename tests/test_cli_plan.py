"""The planning command line: output, plan export, exit codes, and one test per bad input."""

from __future__ import annotations

import json
import os
import socket
import stat
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner, Result

from trello_restore.cli import main
from trello_restore.errors import ExitCode
from trello_restore.fetcher import load_exports
from trello_restore.planfile import read_plan
from trello_restore.planner import build_plan
from trello_restore.sandbox.scenario import Scenario, generate

from .conftest import Sandbox, SandboxFactory, one_line_error, sandbox_cli
from .test_fidelity import make_shapes
from .truthcheck import assert_plan_is_truth, incident_since, plan_options

Invoke = Callable[..., Result]


@pytest.fixture(name="scenario")
def scenario_fixture() -> Scenario:
    """A small incident scenario."""
    return generate(31, 80)


@pytest.fixture(name="sb")
def sb_fixture(sandbox_factory: SandboxFactory, scenario: Scenario) -> Sandbox:
    """The scenario served over loopback."""
    return sandbox_factory(scenario)


@pytest.fixture(name="invoke")
def invoke_fixture(sb: Sandbox, monkeypatch: pytest.MonkeyPatch) -> Invoke:
    """Run the CLI in-process with the sandbox's URL and credentials in the environment."""
    return sandbox_cli(sb, monkeypatch)


def test_no_arguments_prints_help() -> None:
    """Plain ``trello-restore`` shows the usage, the commands and the exit codes."""
    result = CliRunner().invoke(main, [])
    assert result.exit_code == 0
    assert "--since" in result.output
    assert "Exit codes:" in result.output
    assert "sandbox" in result.output


def test_dry_run_prints_the_plan(invoke: Invoke, scenario: Scenario, sb: Sandbox) -> None:
    """A dry run prints the plan grouped by board with a summary, and writes nothing."""
    result = invoke(
        "--board", scenario.team.name, "--since", incident_since(scenario), "--dry-run",
        "--removed-by", scenario.mover.username, "--add-to-board",
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    truth = scenario.truth("b")
    assert f"{len(truth.grants)} board memberships, {len(truth.changes)} card members" in (
        result.stdout
    )
    assert "Archive 2025" in result.stdout
    assert "Dry run: nothing was changed." in result.stdout
    assert {r.method for r in sb.server.request_log} == {"GET"}


def test_plan_out_writes_a_valid_private_plan(
    invoke: Invoke, scenario: Scenario, tmp_path: Path
) -> None:
    """--plan-out writes a schema-valid plan file, mode 0600, with no credentials in it."""
    out = tmp_path / "plan.json"
    result = invoke(
        "--board", scenario.team.id, "--since", incident_since(scenario), "--dry-run",
        "--plan-out", str(out), "--format", "json",
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    assert stat.S_IMODE(out.stat().st_mode) == 0o600
    read_plan(out)  # schema-valid and consistent
    doc = json.loads(out.read_text())
    assert doc["summary"]["card_changes"] + doc["summary"]["blocked"] == len(
        scenario.truth("d").changes
    )
    assert json.loads(result.stdout) == doc
    text = out.read_text()
    assert os.environ["TRELLO_TOKEN"] not in text
    assert os.environ["TRELLO_API_KEY"] not in text


def test_plan_out_dash_writes_json_to_stdout(invoke: Invoke, scenario: Scenario) -> None:
    """--plan-out - puts the plan JSON on stdout (and nothing else there)."""
    result = invoke("--board", scenario.team.id, "--since", incident_since(scenario), "--dry-run",
                    "--plan-out", "-")  # fmt: skip
    assert result.exit_code == 0
    assert json.loads(result.stdout)["format"] == "trello-restore-plan"


def test_detailed_exitcode(invoke: Invoke, scenario: Scenario) -> None:
    """--detailed-exitcode: 7 when changes are pending, 0 when there is nothing to do.

    (Silent losses cannot be dated, so they are candidates for any --since: the empty plan
    uses --only-recorded.)"""
    base = ["--board", scenario.team.id, "--dry-run", "--detailed-exitcode", "--add-to-board"]
    pending = invoke(*base, "--since", incident_since(scenario))
    assert pending.exit_code == ExitCode.CHANGES_PENDING
    nothing = invoke(*base, "--since", "2h", "--only-recorded")
    assert nothing.exit_code == ExitCode.OK, nothing.output
    assert "0 changes" in nothing.stdout


def test_until_before_the_incident_warns_of_its_undated_losses(
    invoke: Invoke, scenario: Scenario
) -> None:
    """A window ending at the incident still plans its silent losses (the log gives them no
    date): the plan says so in a warning, with what to do (R43d: nothing was said); without
    ``--until``, or with ``--only-recorded``, there is nothing to warn of."""
    until = scenario.incident_at.strftime("%Y-%m-%dT%H:%M:%SZ")
    base = ["--board", scenario.team.id, "--since", "2025-01-01", "--dry-run", "--plan-out", "-"]

    def plan(*more: str) -> dict[str, Any]:
        result = invoke(*base, *more)
        assert result.exit_code == 0, result.output
        doc: dict[str, Any] = json.loads(result.stdout)
        return doc

    doc = plan("--until", until)

    def lost(changes: list[dict[str, Any]]) -> int:
        return sum(
            c["action"] == "add_member_to_card" and c["evidence"]["kind"] == "reconstructed"
            for c in changes
        )

    changes, blocked = lost(doc["changes"]), lost([b["change"] for b in doc["blocked"]])
    assert blocked > 1  # ... on the archive board, whose lists the incident moved there
    counted = (f"{changes} changes and " if changes else "") + f"{blocked} blocked changes"
    assert [w for w in doc["warnings"] if "--until" in w] == [
        f"{counted} are losses Trello did not log "
        "(reconstructed), which have no date in the log: some may have happened after --until, "
        "which cannot leave them out; check them, or leave such changes out with --only-recorded"
    ]
    assert not [w for w in plan("--until", "2999-01-01")["warnings"] if "--until" in w]
    assert not [w for w in plan()["warnings"] if "--until" in w]
    assert not [w for w in plan("--until", until, "--only-recorded")["warnings"] if "--until" in w]


# ------------------------------------------------------------------------------ bad input


class TestBadInput:
    """Each bad input: one line saying what to do, its exit code, no traceback, no write."""

    def test_unknown_board(self, invoke: Invoke, sb: Sandbox) -> None:
        """A name no visible board has."""
        r = invoke("--board", "No Such Board", "--since", "7d", "--dry-run")
        one_line_error(r, ExitCode.USAGE, 'no board named "No Such Board"', "URL")
        assert {x.method for x in sb.server.request_log} == {"GET"}

    @pytest.mark.parametrize(
        ("ref", "what"), [("0" * 24, "id"), ("Zz9Zz9Zz", "shortLink")], ids=["id", "shortLink"]
    )
    def test_unknown_board_id(self, invoke: Invoke, sb: Sandbox, ref: str, what: str) -> None:
        """An id or shortLink no visible board has (nor a board's name): said as such, not as
        a name."""
        r = invoke("--board", ref, "--since", "7d", "--dry-run")
        line = one_line_error(
            r, ExitCode.USAGE, f"no board with the {what} {ref} (nor named so)", "check it"
        )
        assert "no board named" not in line

    def test_ambiguous_board_name(self, invoke: Invoke, sb: Sandbox, scenario: Scenario) -> None:
        """Two boards with the name: both URLs are listed."""
        with sb.world.lock:
            twin = sb.world.create_board(scenario.team.name, scenario.mover.id)
        r = invoke("--board", scenario.team.name, "--since", "7d", "--dry-run")
        one_line_error(r, ExitCode.USAGE, "2 boards are named", twin.url, scenario.team.url)

    def test_card_url_instead_of_board(self, invoke: Invoke) -> None:
        """A Trello URL that is not a board's."""
        r = invoke("--board", "https://trello.com/c/AbCdEfGh/1-card", "--since", "7d", "--dry-run")
        one_line_error(r, ExitCode.USAGE, "is not a board URL")

    @pytest.mark.parametrize("when", ["2025-02-30", "last tuesday", "7y"])
    def test_malformed_date(self, invoke: Invoke, scenario: Scenario, when: str) -> None:
        """Impossible and malformed dates name the accepted forms."""
        r = invoke("--board", scenario.team.id, "--since", when, "--dry-run")
        one_line_error(r, ExitCode.USAGE, "--since", "36h")

    def test_since_after_until(self, invoke: Invoke, scenario: Scenario) -> None:
        """An empty window."""
        r = invoke("--board", scenario.team.id, "--since", "1d", "--until", "3d", "--dry-run")
        one_line_error(r, ExitCode.USAGE, "is not before --until")

    def test_missing_since(self, invoke: Invoke, scenario: Scenario) -> None:
        """--since is required."""
        r = invoke("--board", scenario.team.id, "--dry-run")
        one_line_error(r, ExitCode.USAGE, "--since is required")

    def test_missing_credentials(self, invoke: Invoke, scenario: Scenario) -> None:
        """No token in the environment: says which variables to set."""
        r = invoke("--board", scenario.team.id, "--since", "7d", "--dry-run", TRELLO_TOKEN="")
        one_line_error(r, ExitCode.AUTH, "TRELLO_TOKEN")

    def test_invalid_token(self, invoke: Invoke, scenario: Scenario) -> None:
        """Trello answers 401 invalid token."""
        r = invoke(
            "--board", scenario.team.id, "--since", "7d", "--dry-run", TRELLO_TOKEN="ATTAbad"
        )
        one_line_error(r, ExitCode.AUTH)
        assert "ATTAbad" not in r.output

    def test_no_permission_on_board(self, invoke: Invoke, scenario: Scenario) -> None:
        """A token whose member is not on the board."""
        with scenario.world.lock:
            outsider = scenario.world.add_member("outsider", "Out Sider")
            _, token = scenario.world.add_credentials(outsider.id)
        r = invoke("--board", scenario.team.id, "--since", "7d", "--dry-run", TRELLO_TOKEN=token)
        one_line_error(r, ExitCode.AUTH, "cannot read board")

    def test_unreachable_api(self, invoke: Invoke, scenario: Scenario) -> None:
        """Nothing listens at the API URL."""
        with socket.socket() as s:
            s.bind(("127.0.0.1", 0))
            port = s.getsockname()[1]
        r = invoke(
            "--board", scenario.team.id, "--since", "7d", "--dry-run",
            TRELLO_API_URL=f"http://127.0.0.1:{port}/1", TRELLO_RESTORE_MAX_RETRIES="1",
        )  # fmt: skip
        # The one retry is announced first (a single warning line), then the one-line error.
        warning, rest = r.stderr.split("\n", 1)
        assert warning == (
            f"Warning: the Trello API at 127.0.0.1:{port} is not answering (cannot connect); "
            "retrying for up to 36 s more (Ctrl-C to stop)"
        )
        r.stderr_bytes = rest.encode()
        one_line_error(r, ExitCode.UNREACHABLE, f"127.0.0.1:{port} (cannot connect)")
        assert os.environ["TRELLO_TOKEN"] not in r.output

    def test_a_host_that_does_not_resolve_is_said_so_from_the_first_retry(
        self, invoke: Invoke, scenario: Scenario
    ) -> None:
        """R39c: the retry's warning said "the connection was refused or dropped", the final
        line "the host name does not resolve"."""
        r = invoke(
            "--board", scenario.team.id, "--since", "7d", "--dry-run",
            TRELLO_API_URL="https://trello.example.invalid/1", TRELLO_RESTORE_MAX_RETRIES="1",
        )  # fmt: skip
        warning, rest = r.stderr.split("\n", 1)
        assert warning.startswith(
            "Warning: the Trello API at trello.example.invalid is not answering (the host name "
            "does not resolve); retrying for up to "
        ), warning
        r.stderr_bytes = rest.encode()
        one_line_error(r, ExitCode.UNREACHABLE, "(the host name does not resolve)")

    def test_board_and_export_together(self, invoke: Invoke, tmp_path: Path) -> None:
        """--board and --from-export exclude each other."""
        r = invoke("--board", "x", "--from-export", str(tmp_path / "e.json"), "--since", "7d",
                   "--dry-run")  # fmt: skip
        one_line_error(r, ExitCode.USAGE, "not both")

    @pytest.mark.parametrize(
        ("content", "needle"),
        [
            ('{"id": "b", "name": "B", "actions": [', "is not valid JSON"),
            ('{"hello": "world"}', "not a Trello board export"),
            ("[1, 2, 3]", "not a Trello board export"),
            ('{"id":"b","name":"B","actions":[{"id":1}],"cards":[],"lists":[]}', "not a Trello"),
            (None, "no such file"),
        ],
    )
    def test_bad_export(self, tmp_path: Path, content: str | None, needle: str) -> None:
        """Corrupt, truncated, non-export and missing files."""
        path = tmp_path / "export.json"
        if content is not None:
            path.write_text(content)
        r = CliRunner().invoke(
            main, ["--from-export", str(path), "--since", "2020-01-01", "--dry-run"]
        )
        one_line_error(r, ExitCode.USAGE, needle)


# ------------------------------------------------------------------------ offline exports


def test_scenario_export_warns_about_the_cap(tmp_path: Path) -> None:
    """A capped export (1000 actions) plans its recorded removals and warns that older history
    is missing; no reconstructed change is planned for cards it cannot support."""
    s = generate(32, 1000)
    path = tmp_path / "archive.json"
    path.write_text(json.dumps(s.export(s.archive.id)))
    r = CliRunner().invoke(
        main,
        ["--from-export", str(path), "--since", incident_since(s), "--dry-run", "--plan-out", "-"],
    )
    assert r.exit_code == 0, r.output
    assert "Warning:" in r.stderr
    assert "history before" in r.stderr or "whose export was not given" in r.stderr
    # The board the lists came from is named as the moves name it, not by its id alone.
    assert f'moved in from board "{s.team.name}" ({s.team.id}), whose export was' in r.stderr
    doc = json.loads(r.stdout)
    assert doc["inputs"]["source"] == "export"
    assert all(c["evidence"]["kind"] == "recorded_removal" for c in doc["changes"] if "card" in c)
    assert doc["incomplete"]


@pytest.fixture(name="real_exports")
def real_exports_fixture() -> Path:
    """``shared/fixtures/trello-real``; skipped when ../shared is absent."""
    path: Path = make_shapes.default_shared() / "fixtures" / "trello-real"
    if not path.is_dir():
        pytest.skip(f"real Trello exports not found in {path} (no ../shared beside the clone)")
    return path


def _offline(path: Path, *args: str) -> dict[str, Any]:
    r = CliRunner().invoke(
        main, ["--from-export", str(path), *args, "--dry-run", "--plan-out", "-"]
    )
    assert r.exit_code == 0, r.output
    doc: dict[str, Any] = json.loads(r.stdout)
    return doc


def test_real_deck_export(real_exports: Path) -> None:
    """nextcloud/deck's export: johndoe added himself to card 7 at 16:57 and removed himself at
    17:01:58 on 2021-07-10 — since that day, the removal is planned back; since the next day it
    is outside the window; with --cause move (no move came with it), it is filtered. A
    --removed-by naming no member of the export is an error; one that differs from johndoe
    only in case means johndoe."""
    path = next(real_exports.glob("nextcloud__deck__*"))
    doc = _offline(path, "--since", "2021-07-10")
    assert [
        (c["card"]["id"], c["member"]["id"], c["evidence"]["kind"], c["evidence"]["action_id"])
        for c in doc["changes"]
    ] == [("hashcard7", "fakeidmemberhash", "recorded_removal", "60e9d2869efe2e1141be2798")]
    assert doc["blocked"] == []
    assert doc["skipped"] == []
    later = _offline(path, "--since", "2021-07-11")
    assert later["changes"] == []
    assert [s["reason"] for s in later["skipped"]] == ["outside_window"]
    other = _offline(path, "--since", "2021-07-10", "--cause", "move")
    assert [s["reason"] for s in other["skipped"]] == ["filtered"]
    typo = CliRunner().invoke(
        main, ["--from-export", str(path), "--since", "2021-07-10", "--removed-by", "someoneelse",
               "--dry-run"],
    )  # fmt: skip
    one_line_error(typo, ExitCode.USAGE, '--removed-by "someoneelse": no member')
    cased = _offline(path, "--since", "2021-07-10", "--removed-by", "JohnDoe")
    assert cased["changes"] == doc["changes"]


def test_real_sprint_board_export(real_exports: Path) -> None:
    """himmAllRight's "Weekly Sprint" export: one removal (09:56:07.251 on 2019-04-03), undone
    0.7 s later by a re-add; the member is on every card that had them — nothing to restore."""
    path = next(real_exports.glob("himmAllRight__trello-notes__data__board-export.json"))
    doc = _offline(path, "--since", "2019-04-01")
    assert doc["changes"] == []
    assert doc["blocked"] == []
    assert [(s["card"]["id"], s["reason"], s["action_id"]) for s in doc["skipped"]] == [
        ("5ca483140262d14f4f06f304", "already_on_card", "5ca483379d85304ee895f349")
    ]
    ever = _offline(path, "--since", "2019-04-01", "--mode", "ever-added")
    assert ever["changes"] == []


def test_real_test_board_export(real_exports: Path) -> None:
    """himmAllRight's "test-board": one member added, never removed — an empty plan."""
    path = next(real_exports.glob("*test-board-export.json"))
    doc = _offline(path, "--since", "2019-01-01")
    assert (doc["changes"], doc["blocked"], doc["skipped"], doc["warnings"]) == ([], [], [], [])


def test_offline_plan_from_both_exports_is_exact(tmp_path: Path) -> None:
    """`sandbox export` writes each board; with both exports (under the 1000-action cap) the
    offline plan equals the ground truth for every reference option set."""
    s = generate(33, 40)
    paths = []
    for which in ("team", "archive"):
        path = tmp_path / f"{which}.json"
        r = CliRunner().invoke(
            main, ["sandbox", "export", "--seed", "33", "--cards", "40", "--board", which,
                   "-o", str(path)],
        )  # fmt: skip
        assert r.exit_code == 0, r.output
        assert len(json.loads(path.read_text())["actions"]) < 1000
        paths.append(path)
    fetched = load_exports(paths)
    assert fetched.warnings == []
    assert fetched.incomplete == frozenset()
    for name in "abcde":
        truth = s.truth(name)
        plan = build_plan(
            fetched.history, fetched.state, plan_options(truth.options), fetched.members
        )
        assert_plan_is_truth(plan, truth)
