"""Filters that match nothing, and board and list names (issue 9, items 2 and 6).

A ``--removed-by``, ``--list`` or ``--card`` value that matches no member, list or card in scope
is a usage error, raised before any write and before the last-run state is touched: in cron a
typo would otherwise restore part of an incident and move ``last-run`` past the rest. Board and
list names are compared in Unicode NFC, then case-insensitively when nothing matches exactly (an
ambiguous fallback lists the candidates), and messages quote them exactly as Trello has them.
Everything runs through the command line against the sandbox over loopback.
"""

from __future__ import annotations

import json
import os
import unicodedata
from collections.abc import Callable
from dataclasses import replace
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from click.testing import Result

from trello_restore.errors import ExitCode
from trello_restore.lastrun import Scope, record_last_run, state_file
from trello_restore.sandbox.scenario import Scenario

from .conftest import (
    T0,
    Sandbox,
    SandboxFactory,
    SmallWorld,
    cli_invoker,
    configless_cli,
    make_world,
)
from .truthcheck import incident_since

Invoke = Callable[..., Result]
WRITES = ("POST", "PUT", "DELETE", "PATCH")


def _env(monkeypatch: pytest.MonkeyPatch, sb: Sandbox, tmp_path: Path) -> Invoke:
    """The CLI in-process, with the sandbox's URL and the lead's credentials, no config file."""
    return configless_cli(sb, monkeypatch, tmp_path)


def _error_line(result: Result, code: ExitCode = ExitCode.USAGE) -> str:
    """The documented exit code, exactly one ``Error:`` line on stderr and no traceback."""
    assert result.exit_code == code, result.output
    errors = [line for line in result.stderr.splitlines() if line.startswith("Error: ")]
    assert len(errors) == 1, result.stderr
    assert "Traceback" not in result.output
    return errors[0]


def _writes(sb: Sandbox, start: int = 0) -> list[str]:
    return [f"{r.method} {r.path}" for r in sb.server.request_log[start:] if r.method in WRITES]


def _plan(result: Result) -> dict[str, Any]:
    assert result.exit_code == 0, result.output
    doc: dict[str, Any] = json.loads(result.stdout)
    return doc


# ------------------------------------------------------------------ item 2: typos are errors


def _moved_card(s: Scenario) -> tuple[str, str]:
    """A card the incident moved to the archive board: (shortLink, a typo of it)."""
    with s.world.lock:
        card = min(
            (c for c in s.world.cards.values() if c.id_board == s.archive.id), key=lambda c: c.id
        )
    link = card.short_link
    typo = link[:-1] + ("x" if link[-1] != "x" else "y")
    return link, typo


def test_a_typo_in_a_cron_run_writes_nothing_and_keeps_last_run(
    scenario: Scenario,
    sb: Sandbox,
    monkeypatch: pytest.MonkeyPatch,
    tmp_path: Path,
) -> None:
    """The last run was recorded before the incident. A cron run (``--since last-run --yes
    --add-to-board``) whose --removed-by, --list or --card has a typo exits with the usage code
    and one line naming the value and the nearest candidate; it sends no POST, PUT or DELETE
    and leaves the last-run state file as it was. The corrected run then restores the
    incident and moves last-run on."""
    invoke = _env(monkeypatch, sb, tmp_path)
    s = scenario
    scope = Scope(api_url=sb.base_url, account_id=s.mover.id, named_boards=(s.team.id,))
    state_dir = Path(os.environ["TRELLO_RESTORE_HOME"]) / "state"  # conftest's own home
    path = record_last_run(state_dir, scope, s.incident_at - timedelta(days=1))
    recorded = path.read_bytes()
    assert path == state_file(state_dir, scope)
    cron = ["--board", s.team.id, "--since", "last-run", "--yes", "--add-to-board",
            "--rate-limit", "1000"]  # fmt: skip
    link, typo = _moved_card(s)
    sprint = s.world.lists[s.moved_lists[0]].name  # "Sprint 1"
    cases = [
        (["--removed-by", s.mover.username + "x"], f'--removed-by "{s.mover.username}x"',
         f"did you mean {s.mover.username} ({s.mover.full_name})"),
        (["--list", sprint.replace("Sprint", "Sprnt")],
         f'--list "{sprint.replace("Sprint", "Sprnt")}"', f'"{sprint}"'),
        (["--card", typo], f"--card {typo}", f"did you mean {link} ("),
    ]  # fmt: skip
    for extra, value, nearest in cases:
        start = len(sb.server.request_log)
        line = _error_line(invoke(*cron, *extra))
        assert value in line, line
        assert nearest in line, line
        assert "nothing was changed" in line
        assert _writes(sb, start) == []
        assert path.read_bytes() == recorded

    # The corrected run has no last run of its own: it continues from the plain run's (which
    # covers all it does), restores, and records its own; the plain run's stays as it was (a
    # narrowed run must not move the cutoff of one that covers more).
    fixed = invoke(*cron, "--removed-by", s.mover.username, "--quiet")
    assert fixed.exit_code == 0, fixed.output
    assert _writes(sb)
    assert path.read_bytes() == recorded
    own = state_file(state_dir, replace(scope, covers=(("--removed-by", s.mover.username),)))
    assert json.loads(own.read_text())["covers"] == f"--removed-by {s.mover.username}"


def test_every_unmatched_value_is_named_in_one_line(
    scenario: Scenario, sb: Sandbox, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    """Several bad values at once: one line that names each; a value matching a member by
    full name is pointed at the username; a username in another case means that member."""
    invoke = _env(monkeypatch, sb, tmp_path)
    s = scenario
    since = incident_since(s)
    line = _error_line(
        invoke("--board", s.team.id, "--since", since, "--dry-run",
               "--removed-by", s.mover.full_name, "--list", "Nowhere", "--card", "zzzzzzzz")
    )  # fmt: skip
    assert f'--removed-by "{s.mover.full_name}": no member' in line
    assert f"did you mean {s.mover.username} ({s.mover.full_name})?" in line
    assert '--list "Nowhere": no list' in line
    assert "--card zzzzzzzz: no card" in line
    line = _error_line(
        invoke("--board", s.team.id, "--since", since, "--dry-run", "--removed-by", "@")
    )
    assert "--removed-by names no member" in line
    doc = _plan(
        invoke("--board", s.team.id, "--since", since, "--dry-run", "--plan-out", "-",
               "--removed-by", s.mover.username.upper())
    )  # fmt: skip
    assert doc["inputs"]["filters"]["removed_by"] == s.mover.username
    assert doc["changes"]
    assert {r.method for r in sb.server.request_log} == {"GET"}


def test_a_typo_is_an_error_offline_too(
    scenario: Scenario, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """--from-export checks the filters against the export the same way."""
    export = tmp_path / "team.json"
    export.write_text(json.dumps(scenario.export()))
    since = incident_since(scenario)
    invoke = cli_invoker(monkeypatch)
    base = ["--from-export", str(export), "--since", since, "--dry-run"]
    line = _error_line(invoke(*base, "--removed-by", scenario.mover.username + "x"))
    assert f"did you mean {scenario.mover.username}" in line
    line = _error_line(invoke(*base, "--list", "In progres"))
    assert 'did you mean "In progress"' in line
    ok = invoke(*base, "--removed-by", scenario.mover.username, "--plan-out", "-")
    assert _plan(ok)["inputs"]["filters"]["removed_by"] == scenario.mover.username


# ------------------------------------------------------------- item 6: board and list names

CAFE = "Caf\u00e9  Board"  # composed é, two spaces
RESUME = "R\u00e9sum\u00e9"


def _nfd(text: str) -> str:
    return unicodedata.normalize("NFD", text)


@pytest.fixture(name="names")
def names_fixture(sandbox_factory: SandboxFactory) -> tuple[Sandbox, SmallWorld]:
    """The small world plus a board named "Café  Board" with lists "Résumé", "Done", "DONE"
    and "Sprint  1", where ana was removed from a card in "Résumé" and one in "Done"; and
    two boards "Ops" and "OPS"."""
    sw = make_world()
    w, ids = sw.world, sw.ids
    lead, ana = ids["lead"], ids["ana"]
    at = T0 + timedelta(days=2)
    cafe = w.create_board(CAFE, lead, at)
    w.add_member_to_board(cafe.id, ana, lead, "normal", at)
    ids["cafe"] = cafe.id
    for i, name in enumerate((RESUME, "Done", "DONE", "Sprint  1")):
        lst = w.create_list(cafe.id, name, lead, at + timedelta(minutes=i))
        ids[name] = lst.id
        card = w.create_card(lst.id, f"{name} card", lead, at + timedelta(minutes=10 + i))
        ids[f"{name} card"] = card.id
        w.add_member_to_card(card.id, ana, lead, at + timedelta(minutes=20 + i))
        w.remove_member_from_card(card.id, ana, lead, at + timedelta(hours=1, minutes=i))
    for name in ("Ops", "OPS"):
        w.create_board(name, lead, at)
    return sandbox_factory(sw), sw


def test_board_names_nfc_then_case_insensitive(
    names: tuple[Sandbox, SmallWorld], monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    """--board finds "Café  Board" typed decomposed (NFD) and in another case; "ops" fits
    both "Ops" and "OPS" only ignoring case: an error listing both; a near miss is not found
    and the message quotes the real name with its two spaces."""
    sb, sw = names
    invoke = _env(monkeypatch, sb, tmp_path)
    plan = ["--since", "2025-03-01", "--dry-run", "--plan-out", "-"]
    for typed in (_nfd(CAFE), CAFE.upper(), _nfd(CAFE.lower())):
        doc = _plan(invoke("--board", typed, *plan))
        assert doc["inputs"]["boards"] == [{"id": sw.ids["cafe"], "name": CAFE}], typed
    line = _error_line(invoke("--board", "ops", *plan))
    assert '2 boards are named "ops" (ignoring case)' in line
    assert '"Ops" ' in line
    assert '"OPS" ' in line
    assert "pass the URL or id" in line
    line = _error_line(invoke("--board", "Café Board", *plan))  # one space
    assert 'no board named "Café Board"' in line
    assert f'did you mean "{CAFE}"?' in line  # two spaces, exactly
    assert {r.method for r in sb.server.request_log} == {"GET"}


def test_list_names_nfc_then_case_insensitive(
    names: tuple[Sandbox, SmallWorld], monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    """--list matches "Résumé" typed decomposed or in lower case (the plan keeps Trello's
    name and restores the card in that list only); "done" fits "Done" and "DONE" only
    ignoring case: an error listing both; "Done" is exact; "Sprint 1" (one space) is not
    found, and the message offers "Sprint  1" with both spaces."""
    sb, sw = names
    invoke = _env(monkeypatch, sb, tmp_path)
    plan = ["--board", sw.ids["cafe"], "--since", "2025-03-01", "--dry-run", "--plan-out", "-"]
    for typed in (_nfd(RESUME), _nfd(RESUME).lower(), RESUME.upper()):
        doc = _plan(invoke(*plan, "--list", typed))
        assert doc["inputs"]["filters"]["lists"] == [RESUME], typed
        assert [c["card"]["id"] for c in doc["changes"]] == [sw.ids[f"{RESUME} card"]], typed
    line = _error_line(invoke(*plan, "--list", "done"))
    assert '--list "done": no list has exactly that name, and 2 differ from it only in case' in (
        line
    )
    assert f'"DONE" ("{CAFE}")' in line
    assert f'"Done" ("{CAFE}")' in line
    doc = _plan(invoke(*plan, "--list", "Done"))
    assert [c["card"]["id"] for c in doc["changes"]] == [sw.ids["Done card"]]
    line = _error_line(invoke(*plan, "--list", "Sprint 1"))
    assert '--list "Sprint 1": no list with that id or name' in line
    assert 'did you mean "Sprint  1"' in line
    assert {r.method for r in sb.server.request_log} == {"GET"}
