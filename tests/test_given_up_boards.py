"""Boards given up with ``--accept-unreadable-boards`` stay given up, over HTTP against the
sandbox (review R27a).

A named board given up once stopped the very next nightly run again (exit 3, not recorded);
only a workspace's stayed given up. Now the recorded last run remembers each board given up
(per scope, with the date): later runs with the same ``--board`` list leave it out with one
warning saying when it was given up and how to take it back (exit 0, recorded); JSON lists it in
``given_up_boards``, not in ``refused_boards``. The member back on it, the next run plans it
again from its window and stops giving it up; taken off it again, it is refused anew.

A workspace none of whose boards the member is on any more read the boards its last recorded
run covered by id, as when some remain: refused, they are named (exit 3, not recorded), and the
option gives them up.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from trello_restore.errors import ExitCode
from trello_restore.sandbox.scenario import Scenario

from .conftest import Sandbox, one_line_error
from .test_apply_refused_boards import _not_a_member
from .test_cron import _on_card
from .test_refused_board import _setup
from .test_refused_recorded import _stale_cache, workspace_state
from .test_unreadable_named_board import _error, _warnings


def _given_up_warning(s: Scenario, warnings: list[str], shown: str) -> str:
    (said,) = [w for w in warnings if f"board {shown}: given up on " in w]
    assert "with --accept-unreadable-boards" in said, said
    assert f"ask a board admin to add @{s.mover.username} to that board" in said, said
    assert "the next run that can read it plans it again" in said, said
    return said


def _state(tmp_path: Path) -> dict[str, Any]:
    (path,) = (tmp_path / "home" / "state" / "last-run").glob("*.json")
    doc: dict[str, Any] = json.loads(path.read_text())
    return doc


def test_a_named_board_given_up_stays_given_up_until_the_member_is_back(
    sb: Sandbox, scenario: Scenario, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    s = scenario
    invoke, _, _, team_lost, archive_lost = _setup(sb, s, tmp_path, monkeypatch)
    boards = ("--board", s.team.id, "--board", s.archive.id)
    nightly = (*boards, "--since", "last-run", "--only-recorded", "--yes")
    give_back = _not_a_member(s, s.archive.id, s.mover.id)
    assert invoke(*nightly).exit_code == ExitCode.AUTH
    accepted = invoke(*nightly, "--accept-unreadable-boards", "--format", "json", "-q")
    assert accepted.exit_code == ExitCode.OK, accepted.output
    first: dict[str, Any] = json.loads(accepted.stdout)
    assert first["refused_boards"] == [], first
    (gone,) = first["given_up_boards"]
    assert (gone["id"], gone["error"]) == (
        s.archive.id,
        "not read: HTTP 401 unauthorized permission requested",
    )
    assert first["last_run"]["accepted_unreadable_boards"] == [s.archive.id]
    on = gone["given_up_on"]
    assert _state(tmp_path)["given_up"] == {s.archive.id: on}
    assert _on_card(s, team_lost) == team_lost

    # The next nights, without the option: left out with one warning, recorded, exit 0.
    _stale_cache(tmp_path)
    later = invoke(*nightly, "--format", "json", "-q")
    assert later.exit_code == ExitCode.OK, later.output
    doc: dict[str, Any] = json.loads(later.stdout)
    assert (doc["outcome"], doc["refused_boards"]) == ("nothing_to_do", []), doc
    assert doc["last_run"]["recorded"] is True
    assert [(g["id"], g["given_up_on"]) for g in doc["given_up_boards"]] == [(s.archive.id, on)]
    assert doc["last_run"]["accepted_unreadable_boards"] == [s.archive.id]
    said = _given_up_warning(s, doc["warnings"], s.archive.id)
    assert on[:10] in said, said
    # Cards moved between it and the team board: that warning no longer says to add the member
    # back as if it were the plan.
    # Named as the moves name it (R38a: by its id alone, every night).
    named = f'moved between board "{s.archive.name}" ({s.archive.id}) and the boards in scope'
    moved = [w for w in doc["warnings"] if named in w]
    assert moved, doc["warnings"]
    assert all("given up" in w and "add the token's member" not in w for w in moved), moved
    text = invoke(*nightly)
    assert text.exit_code == ExitCode.OK, text.output
    assert "Error:" not in text.stderr, text.stderr
    _given_up_warning(s, _warnings(text), s.archive.id)
    dry = invoke(*nightly[:-1], "--dry-run")
    assert dry.exit_code == ExitCode.OK, dry.output
    _given_up_warning(s, _warnings(dry), s.archive.id)
    assert _state(tmp_path)["given_up"] == {s.archive.id: on}

    # The member back: planned again from the window (a loss after the last recorded run is
    # restored; what it lost while given up stays given up), and no longer given up.
    give_back()
    card_id, member_id = sorted(archive_lost)[0]
    with s.world.lock:
        s.world.add_member_to_card(card_id, member_id, s.mover.id, datetime.now(UTC))
        s.world.remove_member_from_card(card_id, member_id, s.mover.id, datetime.now(UTC))
    _stale_cache(tmp_path)
    back = invoke(*nightly, "--format", "json", "-q")
    assert back.exit_code == ExitCode.OK, back.output
    again: dict[str, Any] = json.loads(back.stdout)
    assert (again["given_up_boards"], again["refused_boards"]) == ([], [])
    assert _on_card(s, archive_lost) == {(card_id, member_id)}
    assert "given_up" not in _state(tmp_path)

    # Taken off it again: refused anew (its new losses were not given up).
    _not_a_member(s, s.archive.id, s.mover.id)
    _stale_cache(tmp_path)
    assert invoke(*nightly).exit_code == ExitCode.AUTH


def test_a_workspace_whose_boards_the_member_is_on_none_of_reads_the_recorded_ones(
    sb: Sandbox, scenario: Scenario, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    s = scenario
    invoke, _, _, _, _ = _setup(sb, s, tmp_path, monkeypatch)
    nightly = ("--workspace", "acme-team", "--only-recorded", "--yes")
    assert invoke(*nightly, "--since", "4h").exit_code == ExitCode.OK
    state = workspace_state(tmp_path)
    recorded = json.loads(state.read_text())["last_run"]
    boards = (s.archive, s.roadmap, s.team)
    for board in boards:
        _not_a_member(s, board.id, s.mover.id)
    _stale_cache(tmp_path)

    refused = invoke(*nightly, "--since", "last-run")
    assert refused.exit_code == ExitCode.AUTH, refused.output
    error = _error(refused)
    assert all(b.id in error for b in boards), error
    assert "--accept-unreadable-boards" in error, error
    assert json.loads(state.read_text())["last_run"] == recorded

    gave = invoke(
        *nightly, "--since", "last-run", "--accept-unreadable-boards", "--format", "json", "-q"
    )
    assert gave.exit_code == ExitCode.OK, gave.output
    doc: dict[str, Any] = json.loads(gave.stdout)
    assert doc["last_run"]["recorded"] is True
    assert sorted(g["id"] for g in doc["given_up_boards"]) == sorted(b.id for b in boards)
    assert doc["refused_boards"] == []
    assert json.loads(state.read_text())["last_run"] > recorded

    _stale_cache(tmp_path)
    later = invoke(*nightly, "--since", "last-run")
    assert later.exit_code == ExitCode.OK, later.output
    for board in boards:
        _given_up_warning(s, _warnings(later), f'"{board.name}" ({board.id})')

    # With no recorded run, the error stays.
    monkeypatch.setenv("TRELLO_RESTORE_HOME", str(tmp_path / "other"))
    one_line_error(
        invoke(*nightly, "--since", "last-run"),
        ExitCode.USAGE,
        "has no open board this account is a member of: check the workspace, and that the "
        "token's member is still on its boards",
    )


def _none_read(s: Scenario, error: str) -> None:
    """The line that ends a run none of whose boards could be read (R28a): no other boards."""
    assert "other boards" not in error, error
    assert "summary" not in error, error
    assert "none of this run's boards could be read" in error, error
    assert f"Ask a board admin to add @{s.mover.username} to those boards" in error, error
    assert "--accept-unreadable-boards" in error, error


def test_a_workspace_run_every_board_of_which_is_refused_says_none_could_be_read(
    sb: Sandbox, scenario: Scenario, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """R28a: taken off every board, a --since last-run run of the workspace said the run went
    on with the other boards, whose were applied as the summary says: there were none."""
    s = scenario
    invoke, _, _, _, _ = _setup(sb, s, tmp_path, monkeypatch)
    nightly = ("--workspace", "acme-team", "--only-recorded", "--since", "last-run")
    assert invoke(*nightly[:-2], "--since", "4h", "--yes").exit_code == ExitCode.OK
    boards = (s.archive, s.roadmap, s.team)
    for board in boards:
        _not_a_member(s, board.id, s.mover.id)
    _stale_cache(tmp_path)

    for extra in ((), ("-q",)):
        r = invoke(*nightly, "--yes", *extra)
        assert r.exit_code == ExitCode.AUTH, r.output
        _none_read(s, _error(r))
        assert "other boards" not in r.stderr, r.stderr
        left = [w for w in _warnings(r) if "left out of the plan" in w]
        assert len(left) == 3, left
        assert all("none of this run's boards" in w for w in left), left
    dry = invoke(*nightly, "--dry-run")
    assert dry.exit_code == ExitCode.AUTH, dry.output
    _none_read(s, _error(dry))
    assert "other boards" not in dry.stderr, dry.stderr

    r = invoke(*nightly, "--yes", "--format", "json", "-q")
    assert r.exit_code == ExitCode.AUTH, r.output
    doc: dict[str, Any] = json.loads(r.stdout)
    assert (doc["outcome"], doc["exit_code"], doc["last_run"]["recorded"]) == ("refused", 3, False)
    assert sorted((b["id"], b["refused"]) for b in doc["refused_boards"]) == sorted(
        (b.id, "read") for b in boards
    )
    assert not any("other boards" in w for w in doc["warnings"]), doc["warnings"]
    _none_read(s, _error(r))


def test_named_boards_say_other_boards_only_when_there_are_some(
    sb: Sandbox, scenario: Scenario, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """R28a's check with --board: one of two refused, the run goes on with the other (and says
    so); both refused, the run stops at once naming both, and says nothing of other boards."""
    s = scenario
    invoke, _, _, team_lost, _ = _setup(sb, s, tmp_path, monkeypatch)
    both = ("--board", s.team.id, "--board", s.archive.id, "--since", "4h", "--only-recorded")
    _not_a_member(s, s.archive.id, s.mover.id)
    for extra in ((), ("-q",)):
        r = invoke(*both, "--yes", "--no-cache", *extra)
        assert r.exit_code == ExitCode.AUTH, r.output
        assert "the run goes on with the other boards" in r.stderr, r.stderr
        assert "whose other boards were planned and applied" in _error(r), r.stderr
    assert _on_card(s, team_lost) == team_lost
    _not_a_member(s, s.team.id, s.mover.id)
    for extras in ("", "-q", "--format json -q", "--dry-run"):
        r = invoke(*both, "--yes", "--no-cache", *extras.split())
        assert r.exit_code == ExitCode.AUTH, r.output
        assert "other boards" not in r.stderr, r.stderr
        assert f"cannot read 2 boards, {s.team.id}, {s.archive.id}" in _error(r), r.stderr
