"""R54b: a write Trello answered 2xx whose body is not JSON (empty, or text: a proxy, or a
write answer of a shape the notes do not confirm, §11) was journaled as certainly failed
(``uncertain`` false): the undo said "Nothing to undo" while the grants and card members it
made stayed, and a re-apply then counted them as someone else's. A 2xx is a write that may
have taken effect: ``failed`` and uncertain, which a re-apply settles as this tool's and the
undo takes back. So too a 2xx whose body is Trello's error body (R86d: a portal answering the
writes itself was trusted, the changes counted done). Over HTTP against the sandbox
(``write_body``), through the command line."""

from __future__ import annotations

from pathlib import Path

import pytest

from trello_restore.demo import snapshot
from trello_restore.errors import ExitCode
from trello_restore.journal import Journal
from trello_restore.sandbox import server as sandbox_server
from trello_restore.sandbox.scenario import generate

from .conftest import SandboxFactory, sandbox_cli
from .test_cli_apply import _assert_state, _expected, _restore_args


@pytest.mark.parametrize(
    ("body", "error_body"),
    [
        ("empty", None),
        ("text", None),
        ("error", None),  # Trello's error body: message and error
        ("error", b'{"message":"login required"}'),  # R87b: a portal's, message alone
    ],
)
def test_a_write_answered_2xx_without_json_is_one_undo_takes_back(
    body: str,
    error_body: bytes | None,
    sandbox_factory: SandboxFactory,
    monkeypatch: pytest.MonkeyPatch,
    tmp_path: Path,
) -> None:
    if error_body is not None:
        monkeypatch.setitem(sandbox_server._WRITE_BODIES, "error", error_body)
    s = generate(7, 30)
    sb = sandbox_factory(s, time_scale=100)
    before, want = snapshot(s.world), _expected(s)
    invoke = sandbox_cli(sb, monkeypatch)
    plan = tmp_path / "plan.json"
    made = invoke(*_restore_args(s), "--dry-run", "--plan-out", str(plan))
    assert made.exit_code == ExitCode.OK, made.output
    sb.server.set_options(write_body=body)
    first = invoke("apply", str(plan), "--yes", "--journal", str(tmp_path / "j.jsonl"))
    assert first.exit_code == ExitCode.PARTIAL, first.output
    records = Journal.read(tmp_path / "j.jsonl").records
    sent = [r for r in records if r.status == "failed" and r.http_status == 200]
    assert any(r.action == "add_member_to_board" for r in sent)
    assert all(r.uncertain for r in sent), sent  # each took effect: see the undo below
    said = "an error under a success status" if body == "error" else "JSON"
    assert f"{said} (the change may have been made): check TRELLO_API_URL" in first.output

    sb.server.set_options(write_body="usual")
    look = invoke("undo", str(tmp_path / "j.jsonl"), "--dry-run")
    assert look.exit_code == ExitCode.OK, look.output
    assert "waiting" not in look.stderr  # R55a: 30 s for writes Trello had answered
    again = invoke("apply", str(plan), "--yes", "--journal", str(tmp_path / "j.jsonl"))
    assert again.exit_code == ExitCode.OK, again.output
    latest = Journal.read(tmp_path / "j.jsonl").latest()
    assert {r.status for r in latest.values()} == {"applied"}  # this tool's, not someone's
    _assert_state(s, want)

    undo_args = ("undo", str(tmp_path / "j.jsonl"), "--yes", "--include-board-memberships")
    sb.server.set_options(write_body=body)  # the undo's own answers so: its next run goes on
    cut = invoke(*undo_args)
    assert cut.exit_code == ExitCode.PARTIAL, cut.output
    sb.server.set_options(write_body="usual")
    undo = invoke(*undo_args)
    assert undo.exit_code == ExitCode.OK, undo.output
    _assert_state(s, before)


@pytest.mark.parametrize("body", [b"{}", b"[]"])
def test_a_card_member_add_answered_without_the_card_s_members_may_not_be_made(
    body: bytes, sandbox_factory: SandboxFactory, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    """R87c: ``POST /cards/{id}/idMembers`` answers the card's members, the one added among
    them (notes §3). A portal's 200 ``{}`` to it, the write never forwarded, was counted as
    applied (exit 0, a member not restored). Now such an answer is failed and uncertain, and
    the rerun makes or finds each; ``[]`` too, said as no answer of Trello's, not as an error
    body (R88a: mutants letting ``[]`` through, or naming it so, survived)."""
    monkeypatch.setitem(sandbox_server._WRITE_BODIES, "error", body)
    s = generate(7, 30)
    sb = sandbox_factory(s, time_scale=100)
    want = _expected(s)
    invoke = sandbox_cli(sb, monkeypatch)
    plan = tmp_path / "plan.json"
    made = invoke(*_restore_args(s), "--dry-run", "--plan-out", str(plan))
    assert made.exit_code == ExitCode.OK, made.output
    sb.server.set_options(write_body="error")
    first = invoke("apply", str(plan), "--yes", "--journal", str(tmp_path / "j.jsonl"))
    assert first.exit_code == ExitCode.PARTIAL, first.output
    latest = Journal.read(tmp_path / "j.jsonl").latest().values()
    adds = [r for r in latest if r.action == "add_member_to_card"]
    assert adds, first.output
    assert all((r.status, r.uncertain) == ("failed", True) for r in adds), adds
    assert "with no answer of Trello's (the change may have been made)" in first.output
    assert "an error under a success status" not in first.output
    sb.server.set_options(write_body="usual")
    again = invoke("apply", str(plan), "--yes", "--journal", str(tmp_path / "j.jsonl"))
    assert again.exit_code == ExitCode.OK, again.output
    _assert_state(s, want)
