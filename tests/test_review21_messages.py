"""Review 21's small message fixes, against the sandbox over loopback where they need one:

1. A one-step run whose plan holds only blocked changes said ``"apply": {"blocked": 0}`` in its
   JSON summary, where a run that also applied something, and ``apply PLAN`` of the same plan,
   count every blocked change there.
2. A key or token of a character or two was blanked out of the error text wherever it occurred
   (a token ``o``: ``Trell*** rejected the API key ***r t***ken``), and out of the log file.
3. ``TRELLO_RESTORE_CAUSE=moved`` said ``expected 'move' or ''``, leaving out ``any``.
4. The README's cron section left out some of the summary's fields (``format``,
   ``done_earlier``, ``last_run``'s ``state_file``, ...).
"""

from __future__ import annotations

import json
import logging
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from click.testing import Result

from trello_restore.errors import ExitCode
from trello_restore.logs import Redact
from trello_restore.masking import Mask
from trello_restore.sandbox.scenario import Scenario

from .conftest import Sandbox, configless_cli, one_line_error
from .truthcheck import incident_since

Invoke = Callable[..., Result]
CRON = ("--yes", "--quiet", "--format", "json")
ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture(name="invoke")
def invoke_fixture(sb: Sandbox, monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Invoke:
    """The CLI in-process, pointed at the sandbox, reading no config file."""
    return configless_cli(sb, monkeypatch, tmp_path)


def _json(result: Result, code: ExitCode) -> dict[str, Any]:
    assert result.exit_code == code, result.output
    doc: dict[str, Any] = json.loads(result.stdout)
    return doc


# ------------------------------------------------------- 1. apply.blocked of a blocked run


def test_a_run_with_only_blocked_changes_counts_them_as_the_apply_does(
    invoke: Invoke, scenario: Scenario, tmp_path: Path
) -> None:
    """The first run applies what it can and counts the rest blocked; the second has nothing
    but those blocked changes: its summary's apply.blocked is theirs too (not 0), as is that
    of ``apply PLAN`` of the same plan."""
    scope = ["--board", scenario.team.id, "--since", incident_since(scenario)]
    first = _json(invoke(*scope, *CRON), ExitCode.PARTIAL)
    assert first["outcome"] == "partial"
    assert first["apply"]["applied"] > 0
    assert first["apply"]["blocked"] == first["plan"]["blocked"] > 0

    second = _json(invoke(*scope, *CRON), ExitCode.PARTIAL)
    assert second["outcome"] == "blocked"
    assert second["plan"]["changes"] == 0
    assert second["apply"]["blocked"] == second["plan"]["blocked"] == first["plan"]["blocked"]
    # Nothing was written or read for the apply: every other count stays 0.
    others = {k: v for k, v in second["apply"].items() if k not in ("blocked", "stopped")}
    assert set(others.values()) == {0}
    assert second["journal"] is None
    # Each board's too, as the first run counted them (R49b: every board said 0).
    per_board = {b["id"]: b["apply"]["blocked"] for b in second["boards"]}
    assert per_board == {b["id"]: b["apply"]["blocked"] for b in first["boards"]}
    assert sum(per_board.values()) == second["apply"]["blocked"]

    plan = tmp_path / "blocked.json"
    r = invoke(*scope, "--dry-run", "--quiet", "--plan-out", str(plan))
    assert r.exit_code == 0, r.output
    applied = _json(invoke("apply", str(plan), "--quiet", "--format", "json"), ExitCode.PARTIAL)
    assert applied["apply"]["blocked"] == second["apply"]["blocked"]


# ------------------------------------------------------------ 2. short credentials


def test_a_short_token_or_key_does_not_garble_the_error(
    invoke: Invoke, sb: Sandbox, tmp_path: Path
) -> None:
    """A one-character token or key is rejected by Trello with the usual words, unblanked, in
    the error line and in the log file."""
    log = tmp_path / "run.log"
    words = "Trello rejected the API key or token (invalid token): check TRELLO_API_KEY"
    r = invoke("--log-file", str(log), "--board", "X", "--since", "1d", "--dry-run",
               TRELLO_TOKEN="o")  # fmt: skip
    line = one_line_error(r, ExitCode.AUTH, words, "a token can be revoked or expire")
    assert "***" not in line
    text = log.read_text()
    assert "on board X since 1d" in text
    assert "***" not in text
    assert "[redacted]" not in text

    r = invoke("--board", "X", "--since", "1d", "--dry-run", TRELLO_API_KEY="e",
               TRELLO_TOKEN=sb.token)  # fmt: skip
    assert "***" not in one_line_error(r, ExitCode.AUTH, "(invalid key)", "must belong to the key")


def test_credentials_long_enough_to_be_real_are_still_blanked() -> None:
    """A real key (32 hex digits), a token, and any value of 8 characters or more are blanked
    wherever they occur; shorter ones are left as the text has them."""
    key, token = "0123456789abcdef" * 2, "ATTA" + "9f" * 32
    text = f"echo {key}/{token} or halfpastx"
    assert Mask((key, token)).redact(text) == "echo [redacted]/[redacted] or halfpastx"
    # A value shaped like a Trello token is blanked whether or not it is the run's (R57d).
    shaped = f"echo {key}/[redacted] or halfpastx"
    assert Mask(("halfpast",)).redact(text) == shaped.replace("halfpastx", "[redacted]x")
    assert Mask(("o", "halfpas")).redact(text) == shaped

    record = logging.LogRecord("t", logging.INFO, __file__, 1, "Trello said %s", (token,), None)
    assert Redact(["o", token]).filter(record)
    assert record.getMessage() == "Trello said [redacted]"


# ------------------------------------------------------------------------- 3. --cause


def test_a_bad_cause_names_every_accepted_value(invoke: Invoke, tmp_path: Path) -> None:
    r = invoke("--board", "X", "--since", "1d", "--dry-run", TRELLO_RESTORE_CAUSE="moved")
    one_line_error(r, ExitCode.USAGE, "TRELLO_RESTORE_CAUSE='moved'", "'move', 'any' or ''")
    config = tmp_path / "config.toml"
    config.write_text('[restore]\ncause = "moved"\n')
    r = invoke("--config", str(config), "--board", "X", "--since", "1d", "--dry-run",
               TRELLO_RESTORE_CAUSE=None)  # fmt: skip
    one_line_error(r, ExitCode.USAGE, "restore.cause must be 'move', 'any' or '', not 'moved'")


# ------------------------------------------------------------- 4. the README's field list


def _keys(doc: dict[str, Any]) -> set[str]:
    """Every key of a JSON document, nested objects' keys included."""
    out = set(doc)
    for value in doc.values():
        if isinstance(value, dict):
            out |= _keys(value)
    return out


def test_the_readme_names_every_field_of_the_run_summary(
    invoke: Invoke, scenario: Scenario
) -> None:
    """Each key of a one-step run's JSON summary (nested ones too; the boards' are the
    plan's) is named in the README's bullet on it, in backticks."""
    scope = ["--board", scenario.team.id, "--since", incident_since(scenario), "--add-to-board"]
    doc = _json(invoke(*scope, *CRON), ExitCode.OK)
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    section = readme.split("### Running unattended", 1)[1].split("\n## ", 1)[0]
    bullet = section.split("- **`--format json`** without `--dry-run`", 1)[1].split("\n- **", 1)[0]
    assert {k for k in _keys(doc) if f"`{k}`" not in bullet} == set()
    assert "test `last_run.recorded`" in bullet
