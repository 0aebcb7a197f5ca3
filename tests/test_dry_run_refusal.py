"""apply --dry-run with a token whose member cannot change a board: the dry run says, once per
board, that Trello will (observer) or may (not a member) refuse the writes there, from the
memberships of the board read it makes anyway; a normal member gets no such warning."""

from __future__ import annotations

from collections import Counter
from pathlib import Path
from typing import TYPE_CHECKING, cast

import pytest

from trello_restore.live import LiveBoard
from trello_restore.models import Membership
from trello_restore.planfile import read_plan
from trello_restore.refusals import foreseen_refusal
from trello_restore.sandbox.scenario import Scenario

if TYPE_CHECKING:
    from trello_restore.api import TrelloApi

from .conftest import Sandbox, sandbox_cli
from .truthcheck import incident_since

WRITES = ("POST", "PUT", "DELETE")


def _plan(sb: Sandbox, s: Scenario, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """Option set b's plan over HTTP (--dry-run --plan-out), the request log then cleared."""
    invoke = sandbox_cli(sb, monkeypatch)
    path = tmp_path / "plan.json"
    since = incident_since(s)
    r = invoke("--board", s.team.id, "--since", since, "--removed-by", s.mover.username,
               "--add-to-board", "--dry-run", "--plan-out", str(path))  # fmt: skip
    assert r.exit_code == 0, r.output
    sb.server.request_log.clear()
    return path


def _writes(sb: Sandbox) -> list[str]:
    return [f"{r.method} {r.path}" for r in sb.server.request_log if r.method in WRITES]


def _make_observer(sb: Sandbox, board_id: str, me: str) -> None:
    """The token's member made an observer of the board through the API, another active member
    made an admin first (Trello keeps a board's last admin)."""
    board = sb.server.world.boards[board_id]
    other = next(m for m in board.memberships if m != me and board.is_active_member(m))
    for member, kind in ((other, "admin"), (me, "observer")):
        put = sb.session().put(
            f"{sb.base_url}/boards/{board_id}/members/{member}", params={"type": kind}, timeout=30
        )
        assert put.status_code == 200, put.text


def test_observer_is_warned_once_per_board_and_nothing_is_written(
    sb: Sandbox, scenario: Scenario, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    plan = _plan(sb, scenario, tmp_path, monkeypatch)
    changes = read_plan(plan)[0].changes
    per_board = Counter(c.board_id for c in changes)
    assert per_board, "the scenario plans changes"
    me = sb.get("/members/me").json()["id"]
    for board_id in per_board:  # the reviewer's step: made an observer through the API
        _make_observer(sb, board_id, me)
    sb.server.request_log.clear()

    r = sandbox_cli(sb, monkeypatch)("apply", str(plan), "--dry-run")

    assert r.exit_code == 0, r.output  # the dry run's exit code as documented
    assert _writes(sb) == []
    warnings = [x for x in r.stderr.splitlines() if x.startswith("Warning: ")]
    assert len(warnings) == len(per_board), r.stderr
    names = {c.board_id: c.board_name for c in changes}
    for board_id, count in per_board.items():
        (line,) = [w for w in warnings if f'board "{names[board_id]}"' in w]
        assert "is an observer of it" in line
        assert "will refuse" in line
        assert "exit 3" in line
        assert f"the {count} changes that would be applied" in line or count == 1
        assert "make @" in line
        assert "a normal member" in line
    assert f"{len(changes)} would be applied" in r.stdout  # still counted, and warned


def test_normal_member_gets_no_warning(
    sb: Sandbox, scenario: Scenario, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    plan = _plan(sb, scenario, tmp_path, monkeypatch)
    r = sandbox_cli(sb, monkeypatch)("apply", str(plan), "--dry-run")
    assert r.exit_code == 0, r.output
    assert _writes(sb) == []
    assert "Warning: " not in r.stderr, r.stderr
    assert "refuse" not in r.output


class _Me:
    """An api with only ``me()``: the token's member."""

    def me(self) -> dict[str, str]:
        return {"id": "m1", "username": "lead", "fullName": "Lead"}


_ME = cast("TrelloApi", _Me())


@pytest.mark.parametrize(
    ("membership", "words"),
    [
        (None, ("is not a member of it", "may refuse", "workspace")),
        (Membership("m1", "normal", deactivated=True), ("not an active member", "may refuse")),
        (Membership("m1", "observer"), ("is an observer of it", "will refuse")),
        (Membership("m1", "normal"), None),
        (Membership("m1", "admin"), None),
    ],
)
def test_foreseen_refusal_words(
    membership: Membership | None, words: tuple[str, ...] | None
) -> None:
    """Not a member: may be refused (a workspace admin may change a workspace-visible board);
    observer: will be; a normal member or admin: nothing to say; nothing to write: neither."""
    board = LiveBoard("b1", {}, {"m1": membership} if membership else {})
    line = foreseen_refusal(_ME, "b1", "Team Board", board, 3)
    if words is None:
        assert line is None
        return
    assert line is not None
    assert "\n" not in line
    assert line.startswith('board "Team Board": the token\'s member @lead (Lead) is ')
    assert all(w in line for w in words), line
    assert "the 3 changes" in line
    assert "exit 3" in line
    assert foreseen_refusal(_ME, "b1", "", board, 0) is None
    assert "board b1:" in (foreseen_refusal(_ME, "b1", "", board, 1) or "")


def test_undo_dry_run_warns_an_observer_once_per_board(
    sb: Sandbox, scenario: Scenario, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The plan applied, then the token's member made an observer of the boards: ``undo
    --dry-run`` says, once per board, that Trello will refuse the removals it would make there
    (an undo runs as the account that applied: no other token to suggest), and writes nothing."""
    invoke = sandbox_cli(sb, monkeypatch)
    plan = _plan(sb, scenario, tmp_path, monkeypatch)
    journal = tmp_path / "journal.jsonl"
    applied = invoke("apply", str(plan), "--yes", "--journal", str(journal))
    assert applied.exit_code == 0, applied.output
    card_changes = [c for c in read_plan(plan)[0].changes if c.action == "add_member_to_card"]
    per_board = Counter(c.board_id for c in card_changes)
    assert per_board, "the scenario plans card changes"
    me = sb.get("/members/me").json()["id"]
    for board_id in per_board:
        _make_observer(sb, board_id, me)
    sb.server.request_log.clear()

    r = invoke("undo", str(journal), "--dry-run")

    assert r.exit_code == 0, r.output
    assert _writes(sb) == []
    warnings = [x for x in r.stderr.splitlines() if x.startswith("Warning: ")]
    assert len(warnings) == len(per_board), r.stderr
    for line in warnings:
        assert "is an observer of it" in line
        assert "would be undone there (an undo stops at the first refused, exit 3)" in line
        assert "an undo runs as the account that applied" in line
        assert "plan again" not in line
