"""The apply's and undo's live reads of a board's state, over HTTP against the sandbox: its
memberships and (where a change needs them) its lists are one read of the board, ``GET
/1/boards/{id}`` with both nested, as the fetch reads them (standard: as few requests as the API
allows), never ``/memberships`` nor ``/lists``; and what goes wrong on that read means what it
meant on those two: a board gone, a refusal, Trello down, an odd answer."""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from trello_restore.errors import ApiUnreachable, ExitCode, PermissionDenied
from trello_restore.kinds import kind_of
from trello_restore.live import read_live
from trello_restore.planfile import plan_from_dict
from trello_restore.sandbox import endpoints
from trello_restore.sandbox.scenario import generate
from trello_restore.sandbox.server import RequestRecord
from trello_restore.sandbox.truth import snapshot as values_snapshot
from trello_restore.sandbox.world import TrelloError, not_found
from trello_restore.undo import undo_journal

from .applykit import api_for, apply_doc, diff, expected, fast_options, open_journal, plan_doc
from .applykit import snapshot as member_snapshot
from .conftest import Sandbox, SandboxFactory
from .truthcheck import team_truth

BOARD = endpoints.Route("GET", "/1/boards/{id}")


def _state_reads(log: list[RequestRecord]) -> Counter[tuple[str, bool]]:
    """The board reads with memberships nested: (board id, whether its lists were nested too:
    their fields named, as ``lists=none`` names ``lists`` too) → how many. Each nests its
    members' names too (``memberships_member``, with their usernames)."""
    reads = [
        r
        for r in log
        if r.method == "GET" and r.path.count("/") == 3 and "memberships" in r.query_names
    ]
    named = {"memberships_member", "memberships_member_fields"}
    assert all(named <= set(r.query_names) for r in reads)
    return Counter(
        (r.path.removeprefix("/1/boards/"), "list_fields" in r.query_names) for r in reads
    )


def _no_listing_of_memberships_or_lists(log: list[RequestRecord]) -> None:
    """No request for the memberships, lists or members of a board: they are in its one read."""
    assert not [r.path for r in log if r.path.endswith(("/memberships", "/lists", "/members"))]


def test_a_member_apply_reads_each_boards_memberships_in_one_board_read(
    sandbox_factory: SandboxFactory, tmp_path: Path
) -> None:
    """Set b (card members, board memberships granted): each board the plan touches is read
    once for its memberships, nested in the board read, without its lists (no change needs
    them); no ``/memberships`` request; the end state is exactly the ground truth."""
    s = generate(71, 40)
    truth = s.truth("b")
    sb = sandbox_factory(s, time_scale=100)
    doc = plan_doc(sb, s, "b")
    before = member_snapshot(s.world)
    start = len(sb.server.request_log)
    with api_for(sb) as api, open_journal(doc, tmp_path / "j.jsonl", api) as journal:
        report = apply_doc(doc, api, journal, fast_options())
    assert report.exit_code == ExitCode.OK, report.counts
    assert diff(member_snapshot(s.world), expected(before, truth)) == []
    log = sb.server.request_log[start:]
    plan, _ = plan_from_dict(doc)
    touched = {c.board_id for c in plan.changes} | {s.team.id}
    assert touched == {s.archive.id, s.team.id}  # the changes' board and the board in scope
    assert _state_reads(log) == Counter({(b, False): 1 for b in touched})
    _no_listing_of_memberships_or_lists(log)


def test_a_restore_all_apply_and_its_undo_read_each_board_in_one_request(
    sandbox_factory: SandboxFactory, tmp_path: Path
) -> None:
    """Set h (``--restore all``: list archive states and card moves need the board's lists):
    the apply reads each board's memberships and every list in one board read (the team
    board's card moves and list archive states; the archive board's card members and the
    archive state of a list moved there from the team board, in scope as its cards are), the
    undo the same; neither sends a ``/memberships`` or ``/lists`` request; the apply ends
    exactly at the baseline plus the truth, the undo exactly at the baseline."""
    s = generate(72, 40, second_damage=True)
    sb = sandbox_factory(s, time_scale=100)
    truth = team_truth(s, "h")
    doc = plan_doc(sb, s, "h")
    plan, _ = plan_from_dict(doc)
    with_lists = {c.board_id for c in plan.changes if kind_of(c.action).reads_lists}
    assert with_lists == {s.team.id, s.archive.id}
    assert any(c.action == "set_list_closed" and c.board_id == s.archive.id for c in plan.changes)
    assert {c.board_id for c in plan.changes} == {s.team.id, s.archive.id}
    reads = Counter({(s.team.id, True): 1, (s.archive.id, True): 1})
    baseline = values_snapshot(s.world)
    path = tmp_path / "j.jsonl"

    start = len(sb.server.request_log)
    with api_for(sb) as api, open_journal(doc, path, api) as journal:
        report = apply_doc(doc, api, journal, fast_options())
    assert report.counts == {"applied": len(plan.changes)} | (
        {"blocked": len(plan.blocked)} if plan.blocked else {}
    )
    assert values_snapshot(s.world) == truth.end_state(baseline)
    log = sb.server.request_log[start:]
    assert _state_reads(log) == reads
    _no_listing_of_memberships_or_lists(log)

    start = len(sb.server.request_log)
    with api_for(sb) as api, open_journal(doc, path, api) as journal:
        undone = undo_journal(
            journal,
            api,
            fast_options(),
            include_board_memberships=True,
            lock_dir=tmp_path / "locks",
        )
    assert undone.counts == {"undone": len(plan.changes)}
    assert values_snapshot(s.world) == baseline
    log = sb.server.request_log[start:]
    assert _state_reads(log) == reads
    _no_listing_of_memberships_or_lists(log)


def _fail_state_read(
    monkeypatch: pytest.MonkeyPatch, board_id: str, answer: Callable[[], Any]
) -> None:
    """The sandbox's read of board ``board_id`` answers ``answer()`` (or raises what it
    raises) when it is asked for the board's memberships; any other read is served as usual."""
    served = endpoints.HANDLERS[BOARD]

    def board(call: endpoints.Call) -> Any:
        if call.path["id"] == board_id and "memberships" in call.params:
            return answer()
        return served(call)

    monkeypatch.setitem(endpoints.HANDLERS, BOARD, board)


def _raise(err: TrelloError) -> Callable[[], Any]:
    def answer() -> Any:
        raise err

    return answer


@pytest.mark.parametrize("readers", [1, 4])
def test_a_board_gone_on_its_state_read_is_a_board_gone(
    sandbox: Sandbox, monkeypatch: pytest.MonkeyPatch, readers: int
) -> None:
    """A 404 on the board read (its cards were listed) is the board gone, as a 404 on its
    memberships was: its changes drift, nothing is raised; the other board is read as usual."""
    team, archive = sandbox.ids["team"], sandbox.ids["archive"]
    with api_for(sandbox) as api:
        usual = read_live(api, [archive], lists_of=[archive])[archive]
    _fail_state_read(monkeypatch, team, _raise(not_found()))
    with api_for(sandbox) as api:
        live = read_live(api, [team, archive], lists_of=[team, archive], readers=readers)
    assert live[team].cards is None
    assert live[team].error == "the board is gone (The requested resource was not found.)"
    assert live[archive] == usual
    assert usual.lists
    assert usual.memberships


def test_a_board_gone_without_a_reason_says_none(
    sandbox: Sandbox, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A 404 with an empty body: "the board is gone", not "the board is gone ()" (R46a)."""
    team = sandbox.ids["team"]
    _fail_state_read(monkeypatch, team, _raise(TrelloError(404, "")))
    with api_for(sandbox) as api:
        live = read_live(api, [team], lists_of=[team])
    assert live[team].error == "the board is gone"


def test_a_refused_state_read_says_who_and_which_board_and_that_nothing_was_written(
    sandbox: Sandbox, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A 401 on the board read is Trello refusing the token's member the board: one line, the
    permission exit code, naming the member and the board, nothing written."""
    team = sandbox.ids["team"]
    _fail_state_read(
        monkeypatch, team, _raise(TrelloError(401, "unauthorized permission requested"))
    )
    with api_for(sandbox) as api, pytest.raises(PermissionDenied) as caught:
        read_live(api, [team], {team: "Team board"})
    message = str(caught.value)
    assert caught.value.exit_code == ExitCode.AUTH
    assert "\n" not in message
    assert 'read board "Team board" (HTTP 401 unauthorized permission requested)' in message
    assert "nothing was written" in message


def test_trello_down_on_the_state_read_stops_before_any_write(
    sandbox: Sandbox, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A lasting 503 on the board read, retried, is Trello unreachable (its exit code)."""
    team = sandbox.ids["team"]
    _fail_state_read(monkeypatch, team, _raise(TrelloError(503, "Service Unavailable")))
    start = len(sandbox.server.request_log)
    with api_for(sandbox, read_retries=1) as api, pytest.raises(ApiUnreachable) as caught:
        read_live(api, [team])
    assert caught.value.exit_code == ExitCode.UNREACHABLE
    assert "\n" not in str(caught.value)
    log = sandbox.server.request_log[start:]
    assert [r.status for r in log if r.path == f"/1/boards/{team}"] == [503, 503]
    assert {r.method for r in log} == {"GET"}


@pytest.mark.parametrize(
    ("answer", "lists"),
    [
        ([], False),  # not a board
        ({"id": "x", "memberships": "all"}, False),
        ({"id": "x", "memberships": []}, True),  # the lists asked for are missing
        ({"id": "x", "memberships": [{"memberType": "normal"}]}, False),  # no idMember
        ({"id": "x", "memberships": [], "lists": [{"closed": True}]}, True),  # a list, no id
    ],
)
def test_an_odd_state_read_is_said_in_one_line(
    sandbox: Sandbox, monkeypatch: pytest.MonkeyPatch, answer: Any, lists: bool
) -> None:
    """A board read that is not a board with the memberships (and lists) asked for: Trello
    unreachable's exit code, one line saying which board and to try again later."""
    team = sandbox.ids["team"]
    _fail_state_read(monkeypatch, team, lambda: answer)
    with api_for(sandbox) as api, pytest.raises(ApiUnreachable) as caught:
        read_live(api, [team], lists_of=[team] if lists else [])
    message = str(caught.value)
    assert caught.value.exit_code == ExitCode.UNREACHABLE
    assert message.startswith(f"Trello answered board {team}'s memberships")
    assert " oddly (" in message
    assert message.endswith("); try again later")
    assert "\n" not in message
