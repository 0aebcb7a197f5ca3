"""Boards the token's member was taken off, found through what the last recorded run knew,
over HTTP against the sandbox (review R25a).

A workspace lists only the boards its member is on, and the member's own boards only those too:
a board the member was taken off vanished from the run without a word. With ``--workspace``
the run was then recorded, and once access was given back, that board's losses before the
recorded run were outside every later window: lost for good. A board named by name stopped
the run with "no board named …", as if misspelled. Now each recorded run keeps its boards'
names (and named boards' shortLinks) with their ids; a board the last run covered that this
one no longer lists, or a name no visible board has that a recorded run knew, is read by id:
refused, it is left out of the plan with a warning, the run goes on, exits 3 and is not
recorded, and the next run (the member back) covers the window.
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
from .test_unreadable_named_board import _ending, _error, _left_out, _warnings


def workspace_state(tmp_path: Path) -> Path:
    """The last-run state file of the ``--workspace`` run (the one that records a workspace)."""
    states = (tmp_path / "home" / "state" / "last-run").glob("*.json")
    (state,) = [p for p in states if json.loads(p.read_text()).get("workspace")]
    return state


def _strip_again(s: Scenario, pairs: set[tuple[str, str]]) -> None:
    """The members taken off those cards again, now (after the last recorded run)."""
    with s.world.lock:
        for card_id, member_id in sorted(pairs):
            s.world.remove_member_from_card(card_id, member_id, s.mover.id, datetime.now(UTC))


def _stale_cache(tmp_path: Path) -> None:
    """A night later: the board reads the HTTP cache kept are stale."""
    for cached in (tmp_path / "home").rglob("http-*.sqlite*"):
        cached.unlink()


def test_a_workspace_board_the_member_was_taken_off_is_not_dropped_without_a_word(
    sb: Sandbox, scenario: Scenario, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    s = scenario
    invoke, _, _, team_lost, archive_lost = _setup(sb, s, tmp_path, monkeypatch)
    nightly = ("--workspace", "acme-team", "--only-recorded", "--yes")
    first = invoke(*nightly, "--since", "4h")
    assert first.exit_code == ExitCode.OK, first.output
    lost = team_lost | archive_lost
    assert _on_card(s, lost) == lost
    state = workspace_state(tmp_path)
    recorded = json.loads(state.read_text())["last_run"]
    _strip_again(s, lost)
    give_back = _not_a_member(s, s.archive.id, s.mover.id)
    _stale_cache(tmp_path)

    r = invoke(*nightly, "--since", "last-run", "--format", "json", "-q")
    assert r.exit_code == ExitCode.AUTH, r.output
    summary: dict[str, Any] = json.loads(r.stdout)
    assert (summary["outcome"], summary["last_run"]["recorded"]) == ("refused", False)
    shown = f'"{s.archive.name}" ({s.archive.id})'
    assert summary["refused_boards"] == [
        {
            "id": s.archive.id,
            "name": s.archive.name,
            "error": "not read: HTTP 401 unauthorized permission requested",
            "not_written": 0,
            "refused": "read",
        }
    ]
    _left_out(s, shown, summary["warnings"])
    assert _on_card(s, team_lost) == team_lost
    assert _on_card(s, archive_lost) == set()
    assert json.loads(state.read_text())["last_run"] == recorded

    text = invoke(*nightly, "--since", "last-run")
    assert text.exit_code == ExitCode.AUTH, text.output
    _ending(s, shown, _error(text))

    give_back()
    night = invoke(*nightly, "--since", "last-run")
    assert night.exit_code == ExitCode.OK, night.output
    assert _on_card(s, lost) == lost
    assert json.loads(state.read_text())["last_run"] > recorded


def test_a_closed_workspace_board_is_left_out_as_before(
    sb: Sandbox, scenario: Scenario, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A board the last run covered that was closed since is gone for a reason: the run is
    recorded as before (no request but its one read)."""
    s = scenario
    invoke, _, _, _, _ = _setup(sb, s, tmp_path, monkeypatch)
    nightly = ("--workspace", "acme-team", "--only-recorded", "--yes")
    assert invoke(*nightly, "--since", "4h").exit_code == ExitCode.OK
    with s.world.lock:
        s.roadmap.closed = True
    start = len(sb.server.request_log)
    r = invoke(*nightly, "--since", "last-run", "--format", "json", "-q")
    assert r.exit_code == ExitCode.OK, r.output
    summary = json.loads(r.stdout)
    assert (summary["refused_boards"], summary["last_run"]["recorded"]) == ([], True)
    reads = [x.path for x in sb.server.request_log[start:] if x.path.endswith(s.roadmap.id)]
    assert reads == [f"/1/boards/{s.roadmap.id}"]


def test_a_workspace_board_closed_after_losses_says_so_once_and_how_to_restore_them(
    sb: Sandbox, scenario: Scenario, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """R35b: members taken off cards of a workspace board, then the board closed before the
    nightly run: the run left it out without a word, was recorded, and what it lost was never
    restored. It still leaves it out and is recorded, but says so once, with the command that
    restores it; that command, run as said, does."""
    s = scenario
    invoke, _, _, _, archive_lost = _setup(sb, s, tmp_path, monkeypatch)
    nightly = ("--workspace", "acme-team", "--only-recorded", "--yes")
    assert invoke(*nightly, "--since", "4h").exit_code == ExitCode.OK
    assert _on_card(s, archive_lost) == archive_lost
    recorded = json.loads(workspace_state(tmp_path).read_text())["last_run"]
    _strip_again(s, archive_lost)
    closed = sb.session().put(f"{sb.base_url}/boards/{s.archive.id}", params={"closed": "true"})
    assert closed.status_code == 200, closed.text
    _stale_cache(tmp_path)

    r = invoke(*nightly, "--since", "last-run", "--format", "json", "-q")
    assert r.exit_code == ExitCode.OK, r.output
    summary = json.loads(r.stdout)
    assert summary["last_run"]["recorded"] is True
    (said,) = [w for w in summary["warnings"] if s.archive.id in w]
    assert (
        f'board "{s.archive.name}" ({s.archive.id}), which the last run covered, is closed' in said
    )
    assert said in r.stderr
    assert _on_card(s, archive_lost) == set()
    command = said.rsplit("run once with ", 1)[1].split()
    assert command[:2] == ["--board", s.archive.id]
    assert command[2] == "--since"
    assert command[3] <= recorded  # from the last run on (less the runs' overlap)

    again = invoke(*nightly, "--since", "last-run", "--format", "json", "-q")
    assert again.exit_code == ExitCode.OK, again.output
    assert not [w for w in json.loads(again.stdout)["warnings"] if s.archive.id in w]

    back = invoke(*command, "--only-recorded", "--yes", "-q")
    assert back.exit_code == ExitCode.OK, back.output
    assert _on_card(s, archive_lost) == archive_lost  # a closed board is written like an open one


def test_a_board_named_by_name_the_member_was_taken_off_goes_on_like_one_by_id(
    sb: Sandbox, scenario: Scenario, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The README's nightly config names its board by name. Taken off it, the member's boards
    no longer show it: "no board named …" (exit 2), the other boards never restored. A name a
    recorded run knew is read by its id: refused, it is left out like one given by id."""
    s = scenario
    invoke, _, _, team_lost, archive_lost = _setup(sb, s, tmp_path, monkeypatch)
    boards = ("--board", s.team.name, "--board", s.archive.name)
    nightly = (*boards, "--since", "last-run", "--only-recorded", "--yes")
    first = invoke(*nightly)
    assert first.exit_code == ExitCode.OK, first.output
    lost = team_lost | archive_lost
    _strip_again(s, lost)
    give_back = _not_a_member(s, s.archive.id, s.mover.id)
    _stale_cache(tmp_path)

    r = invoke(*nightly)
    assert r.exit_code == ExitCode.AUTH, r.output
    shown = f'"{s.archive.name}"'
    _left_out(s, shown, _warnings(r))
    _ending(s, shown, _error(r))
    assert _on_card(s, team_lost) == team_lost
    assert _on_card(s, archive_lost) == set()
    give_back()
    assert invoke(*nightly).exit_code == ExitCode.OK
    assert _on_card(s, lost) == lost

    # Renamed since: the error says what it is called now.
    with s.world.lock:
        s.archive.name = "Archive 2026"
    _stale_cache(tmp_path)
    one_line_error(
        invoke(*nightly),
        ExitCode.USAGE,
        f'the board a recorded run knew by that name ({s.archive.id}) is named "Archive 2026" '
        "now: name it so, or give its id, shortLink or URL",
    )


def test_a_name_no_run_recorded_says_the_member_may_not_be_on_it(
    sb: Sandbox, scenario: Scenario, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    s = scenario
    invoke, _, _, _, _ = _setup(sb, s, tmp_path, monkeypatch)
    _not_a_member(s, s.archive.id, s.mover.id)
    one_line_error(
        invoke("--board", s.team.name, "--board", s.archive.name, "--since", "4h", "--dry-run"),
        ExitCode.USAGE,
        f'no board named "{s.archive.name}" (--board) is visible to this account: check the '
        "name (a board the token's member is not on is not visible to it)",
    )


def test_one_board_given_twice_is_one_refused_board_and_every_refused_board_is_named(
    sb: Sandbox, scenario: Scenario, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    s = scenario
    invoke, _, _, team_lost, _ = _setup(sb, s, tmp_path, monkeypatch)
    both = ("--board", s.team.id, "--board", s.archive.id, "--since", "4h", "--only-recorded")
    first = invoke(*both, "--yes")
    assert first.exit_code == ExitCode.OK, first.output
    give_back = _not_a_member(s, s.archive.id, s.mover.id)
    url = f"https://trello.com/b/{s.archive.short_link}/x"
    args = ("--board", s.team.id, "--board", s.archive.id, "--board", url)
    r = invoke(*args, "--since", "4h", "--dry-run", "--no-cache")
    assert r.exit_code == ExitCode.AUTH, r.output
    assert len([w for w in _warnings(r) if "Trello refused to let" in w]) == 1, r.stderr
    assert f"read board {s.archive.id} (HTTP 401" in _error(r)
    give_back()

    # Every board refused: the error names them all, not the first alone.
    _not_a_member(s, s.archive.id, s.mover.id)
    _not_a_member(s, s.team.id, s.mover.id)
    one_line_error(
        invoke(*both, "--no-cache", "--dry-run"),
        ExitCode.AUTH,
        f"cannot read 2 boards, {s.team.id}, {s.archive.id}: ask a board admin to add @"
        f"{s.mover.username} to those boards",
    )
    assert team_lost


def test_a_board_read_from_the_cache_that_refuses_the_member_now_is_left_out(
    sb: Sandbox, scenario: Scenario, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """R25a's first finding: a run minutes after another resolves its boards from the HTTP
    cache (board reads are kept ``BOARD_LIST_MAX_AGE``), so a board the member was taken off
    in between is refused only when its history is read: the whole run stopped. Now the boards
    are read again, fresh, and the refused one is left out as when resolved."""
    s = scenario
    invoke, state, recorded, team_lost, archive_lost = _setup(sb, s, tmp_path, monkeypatch)
    both = ("--board", s.team.id, "--board", s.archive.id, "--since", "last-run")
    dry = invoke(*both, "--only-recorded", "--dry-run")
    assert dry.exit_code == ExitCode.OK, dry.output
    _not_a_member(s, s.archive.id, s.mover.id)
    r = invoke(*both, "--only-recorded", "--yes")
    assert r.exit_code == ExitCode.AUTH, r.output
    shown = f'"{s.archive.name}" ({s.archive.id})'
    _left_out(s, shown, _warnings(r))
    _ending(s, shown, _error(r))
    assert _on_card(s, team_lost) == team_lost
    assert _on_card(s, archive_lost) == set()
    assert json.loads(state.read_text())["last_run"] == recorded


def test_a_board_the_member_left_for_good_is_given_up_once_with_the_option(
    sb: Sandbox, scenario: Scenario, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Taken off a workspace board on purpose, the member will not be back: without a way out,
    every nightly run would leave it out, exit 3 and never be recorded. One run with
    ``--accept-unreadable-boards`` gives it up (a warning), is recorded, exits 0; the next runs
    leave it out as given up (``test_given_up_boards``), exit 0 and are recorded."""
    s = scenario
    invoke, _, _, _, _ = _setup(sb, s, tmp_path, monkeypatch)
    nightly = ("--workspace", "acme-team", "--only-recorded", "--yes")
    assert invoke(*nightly, "--since", "4h").exit_code == ExitCode.OK
    state = workspace_state(tmp_path)
    recorded = json.loads(state.read_text())["last_run"]
    _not_a_member(s, s.archive.id, s.mover.id)
    _stale_cache(tmp_path)

    refused = invoke(*nightly, "--since", "last-run")
    assert refused.exit_code == ExitCode.AUTH, refused.output
    assert "or, to give up what it lost, run once with --accept-unreadable-boards" in _error(
        refused
    )
    dry = invoke(*nightly, "--since", "last-run", "--accept-unreadable-boards", "--dry-run")
    assert dry.exit_code == ExitCode.OK, dry.output
    assert "a run that applies would be recorded as the last run" in dry.stderr
    given_up = invoke(
        *nightly, "--since", "last-run", "--accept-unreadable-boards", "--format", "json"
    )
    assert given_up.exit_code == ExitCode.OK, given_up.output
    summary = json.loads(given_up.stdout)
    assert summary["last_run"]["recorded"] is True
    assert s.archive.id in summary["last_run"]["accepted_unreadable_boards"], summary
    (said,) = [w for w in summary["warnings"] if "left out of the plan and given up" in w]
    assert f'board "{s.archive.name}" ({s.archive.id}): Trello refused' in said
    assert "later runs will not restore what it lost" in said
    assert json.loads(state.read_text())["last_run"] > recorded

    later = invoke(*nightly, "--since", "last-run")
    assert later.exit_code == ExitCode.OK, later.output
    assert "Trello refused to let the token's member" not in later.stderr, later.stderr


def test_every_board_read_from_the_cache_refused_names_them_all(
    sb: Sandbox, scenario: Scenario, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """R26a: within minutes of another run (the boards resolved from the HTTP cache), every
    board refused: the error named one board by id, and neither the member nor what to ask."""
    s = scenario
    invoke, _, _, _, _ = _setup(sb, s, tmp_path, monkeypatch)
    both = ("--board", s.team.id, "--board", s.archive.id, "--since", "4h", "--only-recorded")
    assert invoke(*both, "--dry-run").exit_code == ExitCode.OK
    _not_a_member(s, s.archive.id, s.mover.id)
    _not_a_member(s, s.team.id, s.mover.id)
    one_line_error(
        invoke(*both, "--dry-run"),
        ExitCode.AUTH,
        f"the token's member @{s.mover.username} ({s.mover.full_name}) cannot read 2 boards, "
        f'"{s.team.name}" ({s.team.id}), "{s.archive.name}" ({s.archive.id}): ask a board admin '
        f"to add @{s.mover.username} to those boards",
    )


def test_a_workspace_none_of_whose_boards_the_member_is_on_says_why_that_may_be(
    sb: Sandbox, scenario: Scenario, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """R26a: taken off every board of the workspace, the member sees none, and the error said
    to name the boards with --board (which the config did)."""
    s = scenario
    invoke, _, _, _, _ = _setup(sb, s, tmp_path, monkeypatch)
    for board in (s.team, s.archive, s.roadmap):
        _not_a_member(s, board.id, s.mover.id)
    one_line_error(
        invoke("--workspace", "acme-team", "--since", "4h", "--dry-run"),
        ExitCode.USAGE,
        "has no open board this account is a member of: check the workspace, and that the "
        "token's member is still on its boards (taken off a board, it no longer sees it: ask a "
        "board admin to add them back)",
    )
