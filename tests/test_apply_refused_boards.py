"""``apply PLAN`` and ``undo JOURNAL`` on several boards when the token's member cannot write one
of them (an observer there), over HTTP against the sandbox: as the one-step run does
(``test_refused_board.py``), a refusal stops the writes to that board only.

A plan saved with ``--plan-out`` and applied with ``apply PLAN`` used to stop at the first
refused write (exit 3, nothing written on the other boards, no summary on stdout). Now that
board gets one write, failed; its other changes are not attempted with the refusal as their
reason; the other boards' are written; the summary is printed and one line ends the run (the
board, the journal, and the command that resumes it), exit 3, with the one-step run's JSON
``outcome`` ``refused`` and ``refused_boards``. The same apply again, once the member may write
there, finishes it; so does undo, which goes on past such a board the same way. The dry runs
say what the apply does.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from click.testing import Result

from trello_restore.errors import ExitCode
from trello_restore.sandbox.scenario import Scenario

from .conftest import Sandbox
from .test_cron import _on_card
from .test_refused_board import WRITES, _args, _observer, _setup, _writes_to

Members = dict[str, frozenset[str]]


def _members_now(s: Scenario) -> Members:
    with s.world.lock:
        return {c.id: frozenset(c.id_members) for c in s.world.cards.values()}


def _warnings(r: Result) -> list[str]:
    return [x for x in r.stderr.splitlines() if x.startswith("Warning: ")]


def _error(r: Result) -> str:
    """The one ``Error:`` line, the last on stderr."""
    (error,) = [x for x in r.stderr.splitlines() if x.startswith("Error: ")]
    assert r.stderr.splitlines()[-1] == error, r.stderr
    assert "Traceback" not in r.output
    return error


def _plan(
    sb: Sandbox, s: Scenario, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> tuple[Callable[..., Result], Path, set[tuple[str, str]], set[tuple[str, str]]]:
    """Members taken off cards on two boards, the token's member an observer of the archive
    board, and the one-step dry run's plan of both saved (its warning: the apply goes on)."""
    invoke, _, _, team_lost, archive_lost = _setup(sb, s, tmp_path, monkeypatch)
    plan = tmp_path / "ws.json"
    _observer(s, s.archive.id, s.mover.id)
    dry = invoke(*_args(s, "--dry-run", "-q", "--plan-out", str(plan)))
    assert dry.exit_code == ExitCode.OK, dry.output
    (warning,) = _warnings(dry)
    assert f'board "{s.archive.name}"' in warning
    assert "goes on with the other boards and exits 3" in warning, warning
    return invoke, plan, team_lost, archive_lost


def test_apply_of_a_plan_on_several_boards_goes_on_past_a_refused_board(
    sb: Sandbox, scenario: Scenario, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    s = scenario
    invoke, plan, team_lost, archive_lost = _plan(sb, s, tmp_path, monkeypatch)
    journal = tmp_path / "j.jsonl"
    before = _members_now(s)
    left = len(archive_lost)

    # apply --dry-run says what the apply does, and writes nothing.
    start = len(sb.server.request_log)
    review = invoke("apply", str(plan), "--dry-run", "--journal", str(journal), "-q")
    assert review.exit_code == ExitCode.OK, review.output
    (warning,) = _warnings(review)
    assert f'board "{s.archive.name}"' in warning
    assert "is an observer of it" in warning
    assert "the apply sends the first; refused, it sends nothing more there, goes on" in warning
    assert "stops at the first" not in warning
    assert [r for r in sb.server.request_log[start:] if r.method in WRITES] == []

    start = len(sb.server.request_log)
    r = invoke("apply", str(plan), "--journal", str(journal))

    assert r.exit_code == ExitCode.AUTH, r.output
    assert _on_card(s, team_lost) == team_lost
    assert _on_card(s, archive_lost) == set()
    probe = _writes_to(sb, s, start, s.archive.id)
    (write,) = probe
    assert write.endswith(" 401"), probe
    # The summary on stdout; the refused board's others not attempted, with the reason.
    assert (
        f"Summary: {len(team_lost)} applied, 0 already satisfied, 0 drifted, 0 blocked, 1 failed"
        in r.stdout
    ), r.stdout
    error = _error(r)
    assert f'change board "{s.archive.name}" (HTTP 401' in error
    assert f"{left} of its changes were not written" in error
    assert f"journal {journal}" in error
    assert "the other boards' changes were written" in error
    assert f"make @{s.mover.username} a normal member of that board" in error
    assert f"then run trello-restore apply {plan} --journal {journal} again" in error
    assert "last run" not in error  # an apply of a plan file records none

    # Again, still refused, with the JSON summary: the same shape as the one-step run's.
    again = invoke("apply", str(plan), "--journal", str(journal), "--format", "json", "-q", "-v")
    assert again.exit_code == ExitCode.AUTH, again.output
    doc: dict[str, Any] = json.loads(again.stdout)
    assert (doc["outcome"], doc["exit_code"]) == ("refused", 3)
    assert doc["apply"]["done_earlier"] == len(team_lost)
    assert (doc["apply"]["failed"], doc["apply"]["not_attempted"]) == (1, left - 1)
    assert doc["refused_boards"] == [
        {
            "id": s.archive.id,
            "name": s.archive.name,
            "error": "HTTP 401 unauthorized permission requested",
            "not_written": left,
            "refused": "write",
        }
    ]
    reasons = {c["error"] for c in doc["changes"] if c["status"] == "not_attempted"}
    assert reasons == {
        "not sent: Trello refused the token's member a write to this board, HTTP 401 "
        "unauthorized permission requested"
    }
    _error(again)

    # Access given: the same command again writes the rest.
    with s.world.lock:
        s.world.boards[s.archive.id].memberships[s.mover.id].member_type = "normal"
    done = invoke("apply", str(plan), "--journal", str(journal), "--format", "json", "-q")
    assert done.exit_code == ExitCode.OK, done.output
    finished = json.loads(done.stdout)
    assert (finished["outcome"], finished["refused_boards"]) == ("applied", [])
    assert finished["apply"]["applied"] == left
    assert _on_card(s, team_lost | archive_lost) == team_lost | archive_lost

    # Undo puts every card back as it was before the apply.
    undone = invoke("undo", str(journal), "--yes", "-q")
    assert undone.exit_code == ExitCode.OK, undone.output
    assert _members_now(s) == before


def test_undo_of_a_journal_on_several_boards_goes_on_past_a_refused_board(
    sb: Sandbox, scenario: Scenario, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    s = scenario
    invoke, _, _, team_lost, archive_lost = _setup(sb, s, tmp_path, monkeypatch)
    plan, journal = tmp_path / "ws.json", tmp_path / "j.jsonl"
    dry = invoke(*_args(s, "--dry-run", "-q", "--plan-out", str(plan)))
    assert dry.exit_code == ExitCode.OK, dry.output
    before = _members_now(s)
    applied = invoke("apply", str(plan), "--journal", str(journal), "-q")
    assert applied.exit_code == ExitCode.OK, applied.output
    give_back = _observer(s, s.archive.id, s.mover.id)

    review = invoke("undo", str(journal), "--dry-run", "-q")
    assert review.exit_code == ExitCode.OK, review.output
    (warning,) = _warnings(review)
    assert "the undo sends the first; refused, it sends nothing more there, goes on" in warning

    start = len(sb.server.request_log)
    r = invoke("undo", str(journal), "--yes", "--format", "json", "-q")

    assert r.exit_code == ExitCode.AUTH, r.output
    assert _on_card(s, team_lost) == set()  # undone
    assert _on_card(s, archive_lost) == archive_lost  # left
    probe = _writes_to(sb, s, start, s.archive.id)
    (write,) = probe
    assert write.endswith(" 401"), probe
    doc: dict[str, Any] = json.loads(r.stdout)
    assert (doc["outcome"], doc["exit_code"]) == ("refused", 3)
    assert doc["undo"]["undone"] == len(team_lost)
    (refused,) = doc["refused_boards"]
    assert (refused["id"], refused["not_written"]) == (s.archive.id, len(archive_lost))
    error = _error(r)
    assert f'change board "{s.archive.name}"' in error
    assert "the other boards' changes were undone" in error
    assert f"then run trello-restore undo {journal} --yes again" in error

    give_back()
    finished = invoke("undo", str(journal), "--yes", "-q")
    assert finished.exit_code == ExitCode.OK, finished.output
    assert _members_now(s) == before


def test_a_plan_on_one_board_still_stops_at_the_first_refused_write(
    sb: Sandbox, scenario: Scenario, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    s = scenario
    invoke, _, _, _, _ = _setup(sb, s, tmp_path, monkeypatch)
    plan = tmp_path / "one.json"
    one = ["--board", s.archive.id, "--since", "2h", "--only-recorded"]
    dry = invoke(*one, "--dry-run", "-q", "--plan-out", str(plan))
    assert dry.exit_code == ExitCode.OK, dry.output
    _observer(s, s.archive.id, s.mover.id)
    review = invoke("apply", str(plan), "--dry-run", "-q")
    (warning,) = _warnings(review)
    assert "(an apply stops at the first refused, exit 3)" in warning
    r = invoke("apply", str(plan), "--format", "json")
    assert r.exit_code == ExitCode.AUTH, r.output
    assert r.stdout == ""
    assert "nothing more was sent" in _error(r)


def _not_a_member(s: Scenario, board_id: str, member_id: str) -> Callable[[], None]:
    """The token's member taken off the board (as a board admin's ``DELETE
    /1/boards/{id}/members/{member}`` does, without its card removals): the sandbox refuses
    them a read of it (401). Returns what puts the membership back."""
    with s.world.lock:
        kept = s.world.boards[board_id].memberships.pop(member_id)

    def give_back() -> None:
        with s.world.lock:
            s.world.boards[board_id].memberships[member_id] = kept

    return give_back


def test_apply_goes_on_past_a_board_the_token_cannot_even_read(
    sb: Sandbox, scenario: Scenario, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """R24b's finding 1: the token's member removed from one board of the plan. Its live read
    is refused before any write: that board's changes are not attempted (nothing sent there)
    with the reason, the other board's are written, the summary, the line and the JSON as for
    a board refusing a write, exit 3; the dry run warns of it and writes nothing."""
    s = scenario
    invoke, _, _, team_lost, archive_lost = _setup(sb, s, tmp_path, monkeypatch)
    plan, journal = tmp_path / "ws.json", tmp_path / "j.jsonl"
    dry = invoke(*_args(s, "--dry-run", "-q", "--plan-out", str(plan)))
    assert dry.exit_code == ExitCode.OK, dry.output
    give_back = _not_a_member(s, s.archive.id, s.mover.id)
    left = len(archive_lost)

    start = len(sb.server.request_log)
    review = invoke("apply", str(plan), "--dry-run", "--journal", str(journal), "-q")
    assert review.exit_code == ExitCode.OK, review.output
    (warning,) = _warnings(review)
    assert f'board "{s.archive.name}": Trello refused to let the token\'s member' in warning
    assert "read it (HTTP 401 unauthorized permission requested)" in warning
    assert (
        f"so the apply sends nothing there ({left} changes not attempted), goes on with the "
        "other boards and exits 3"
    ) in warning
    assert f"ask a board admin to add @{s.mover.username} to that board" in warning
    assert [r for r in sb.server.request_log[start:] if r.method in WRITES] == []

    start = len(sb.server.request_log)
    r = invoke("apply", str(plan), "--journal", str(journal), "--format", "json", "-q")

    assert r.exit_code == ExitCode.AUTH, r.output
    assert _on_card(s, team_lost) == team_lost
    assert _on_card(s, archive_lost) == set()
    assert _writes_to(sb, s, start, s.archive.id) == []  # nothing sent there
    doc: dict[str, Any] = json.loads(r.stdout)
    assert (doc["outcome"], doc["exit_code"]) == ("refused", 3)
    assert (doc["apply"]["applied"], doc["apply"]["failed"]) == (len(team_lost), 0)
    assert doc["apply"]["not_attempted"] == left
    assert doc["refused_boards"] == [
        {
            "id": s.archive.id,
            "name": s.archive.name,
            "error": "HTTP 401 unauthorized permission requested",
            "not_written": left,
            "refused": "read",
        }
    ]
    reasons = {c["error"] for c in doc["changes"] if c["status"] == "not_attempted"}
    assert reasons == {
        "not sent: Trello refused the token's member a read of this board, HTTP 401 "
        "unauthorized permission requested"
    }
    error = _error(r)
    assert f'read board "{s.archive.name}" (HTTP 401' in error
    assert f"{left} of its changes were not written (nothing was sent there" in error
    assert "the other boards' changes were written as the summary says" in error
    assert f"Ask a board admin to add @{s.mover.username} to that board (or to" in error
    assert f"then run trello-restore apply {plan} --journal {journal} again" in error

    # Back on the board: the same command finishes it.
    give_back()
    done = invoke("apply", str(plan), "--journal", str(journal), "--format", "json", "-q")
    assert done.exit_code == ExitCode.OK, done.output
    finished = json.loads(done.stdout)
    assert (finished["outcome"], finished["apply"]["applied"]) == ("applied", left)
    assert _on_card(s, team_lost | archive_lost) == team_lost | archive_lost


def test_undo_goes_on_past_a_board_the_token_cannot_even_read(
    sb: Sandbox, scenario: Scenario, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    s = scenario
    invoke, _, _, team_lost, archive_lost = _setup(sb, s, tmp_path, monkeypatch)
    plan, journal = tmp_path / "ws.json", tmp_path / "j.jsonl"
    dry = invoke(*_args(s, "--dry-run", "-q", "--plan-out", str(plan)))
    assert dry.exit_code == ExitCode.OK, dry.output
    before = _members_now(s)
    applied = invoke("apply", str(plan), "--journal", str(journal), "-q")
    assert applied.exit_code == ExitCode.OK, applied.output
    give_back = _not_a_member(s, s.archive.id, s.mover.id)

    review = invoke("undo", str(journal), "--dry-run", "-q")
    assert review.exit_code == ExitCode.OK, review.output
    (warning,) = _warnings(review)
    # Named as the journal's records keep it, as the run's last line names it (R25a).
    assert f'board "{s.archive.name}": Trello refused' in warning, warning
    assert "so the undo sends nothing there (" in warning
    assert "not attempted), goes on with the other boards and exits 3" in warning

    start = len(sb.server.request_log)
    r = invoke("undo", str(journal), "--yes", "--format", "json", "-q")

    assert r.exit_code == ExitCode.AUTH, r.output
    assert _on_card(s, team_lost) == set()  # undone
    assert _on_card(s, archive_lost) == archive_lost  # left
    assert _writes_to(sb, s, start, s.archive.id) == []
    doc: dict[str, Any] = json.loads(r.stdout)
    assert (doc["outcome"], doc["undo"]["undone"]) == ("refused", len(team_lost))
    (refused,) = doc["refused_boards"]
    assert (refused["id"], refused["not_written"]) == (s.archive.id, len(archive_lost))
    error = _error(r)
    assert f'read board "{s.archive.name}"' in error
    assert "the other boards' changes were undone as the summary says" in error
    assert f"then run trello-restore undo {journal} --yes again" in error

    give_back()
    finished = invoke("undo", str(journal), "--yes", "-q")
    assert finished.exit_code == ExitCode.OK, finished.output
    assert _members_now(s) == before


def test_every_board_refused_is_worded_for_several_boards(
    sb: Sandbox, scenario: Scenario, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """R24b's finding 4: a read-only token refused on both boards gets a line about them, not
    'it'; run again after the other boards' changes were done by an earlier run, the line
    says so, not that they were written as the summary says."""
    s = scenario
    invoke, _, _, _, _ = _setup(sb, s, tmp_path, monkeypatch)
    plan = tmp_path / "ws.json"
    dry = invoke(*_args(s, "--dry-run", "-q", "--plan-out", str(plan)))
    assert dry.exit_code == ExitCode.OK, dry.output
    with s.world.lock:
        s.world.read_only_tokens.add(s.token)
    r = invoke("apply", str(plan), "-q")
    assert r.exit_code == ExitCode.AUTH, r.output
    error = _error(r)
    assert "change 2 boards" in error
    assert "what keeps them from changing them" in error, error
    assert " it " not in error.split("change 2 boards")[1]
    assert "changing it" not in error
    assert "that board" not in error
    assert "its " not in error

    with s.world.lock:
        s.world.read_only_tokens.clear()
    _observer(s, s.archive.id, s.mover.id)
    journal = tmp_path / "j.jsonl"
    first = invoke("apply", str(plan), "--journal", str(journal), "-q")
    assert first.exit_code == ExitCode.AUTH, first.output
    assert "the other boards' changes were written as the summary says" in _error(first)
    again = invoke("apply", str(plan), "--journal", str(journal), "-q")
    assert again.exit_code == ExitCode.AUTH, again.output
    error = _error(again)
    assert "the other boards' changes were written by an earlier run" in error, error
    assert "as the summary says" not in error
