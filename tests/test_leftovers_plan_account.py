"""``apply PLAN`` with a plan whose account was edited, or made by another account: the
refusal says exactly which it is and what to do, in one line, exit 2, before any write and
without a journal; a plan that names its account otherwise (same id) is applied with a
warning. Over the command line against the sandbox."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from click.testing import Result

from trello_restore.errors import ExitCode
from trello_restore.sandbox.scenario import Scenario

from .conftest import Sandbox, configless_cli, one_line_error
from .truthcheck import incident_since

Invoke = Callable[..., Result]


@pytest.fixture(name="invoke")
def invoke_fixture(sb: Sandbox, monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Invoke:
    """The CLI in-process against the sandbox as the scenario's lead, without a config file."""
    return configless_cli(sb, monkeypatch, tmp_path)


@pytest.fixture(name="plan")
def plan_fixture(invoke: Invoke, scenario: Scenario, tmp_path: Path) -> dict[str, Any]:
    """The incident's plan (changes to write), saved with ``--plan-out`` as the lead."""
    path = tmp_path / "plan.json"
    since = incident_since(scenario)
    r = invoke("--board", scenario.team.id, "--removed-by", scenario.mover.username,
               "--add-to-board", "--since", since, "--dry-run", "--quiet",
               "--plan-out", str(path))  # fmt: skip
    assert r.exit_code == 0, r.output
    doc: dict[str, Any] = json.loads(path.read_text())
    assert doc["changes"]
    return doc


def _edited(tmp_path: Path, doc: dict[str, Any], **account: str) -> Path:
    path = tmp_path / "edited.json"
    path.write_text(json.dumps({**doc, "account": {**doc["account"], **account}}))
    return path


def _writes(sb: Sandbox) -> int:
    return sum(1 for r in sb.server.request_log if r.method in ("POST", "PUT", "DELETE"))


def _journals(tmp_path: Path) -> list[Path]:
    journals = tmp_path / "trello-restore-home" / "state" / "journals"  # conftest's own home
    return sorted(journals.iterdir()) if journals.exists() else []


def test_an_edited_account_id_is_said_to_be_an_edit(
    invoke: Invoke, plan: dict[str, Any], sb: Sandbox, tmp_path: Path
) -> None:
    """The token's own username with another id: the file was edited (it said "made by Trello
    account lead, not the token's", the token being lead's); make the plan again."""
    me = plan["account"]
    r = invoke("apply", str(_edited(tmp_path, plan, id="0" * 24)))
    one_line_error(
        r, ExitCode.USAGE, "plan file was edited", f"account {me['username']} but with the id "
        f"{'0' * 24}, not its id {me['id']}", "make the plan again (--dry-run --plan-out FILE)",
    )  # fmt: skip
    assert _writes(sb) == 0
    assert _journals(tmp_path) == []


def test_another_account_s_plan_names_both_accounts(
    invoke: Invoke, plan: dict[str, Any], scenario: Scenario, sb: Sandbox, tmp_path: Path
) -> None:
    """A plan of one account applied with another's token: both accounts named, and what to
    do (it said only "not the token's")."""
    other = next(m for m in scenario.world.members.values() if m.id != plan["account"]["id"])
    _, token = scenario.world.add_credentials(other.id)
    r = invoke("apply", str(tmp_path / "plan.json"), TRELLO_TOKEN=token)
    one_line_error(
        r, ExitCode.USAGE, f"made by Trello account {plan['account']['username']}, not the "
        f"token's account {other.username}", "use that account's token, or make a new plan",
    )  # fmt: skip
    assert _writes(sb) == 0
    assert _journals(tmp_path) == []


def test_an_edited_username_of_the_same_account_is_applied_with_a_warning(
    invoke: Invoke, plan: dict[str, Any], sb: Sandbox, tmp_path: Path
) -> None:
    """The token's account id under another username (renamed since, or edited): the id is
    the account, so the plan is applied, with one warning naming both names (it said
    nothing)."""
    r = invoke("apply", str(_edited(tmp_path, plan, username="mallory")))
    assert r.exit_code == 0, r.output
    (warning,) = [x for x in r.stderr.splitlines() if x.startswith("Warning:")]
    assert "names Trello account mallory, but the token's account (the same id, " in warning
    assert f"is {plan['account']['username']} now" in warning
    assert "the plan file was edited, so check it" in warning
    assert _writes(sb) == len(plan["changes"])
