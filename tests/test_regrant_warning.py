"""A plan that grants board membership back to members who were on the board when taken off
its cards without a move says so (R47d): with ``--add-to-board``, a member a colleague took off
a card and an admin then took off the board was granted the board again under the same line as
the members a move stripped, who never were on it. Over HTTP against the sandbox."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from trello_restore.errors import ExitCode
from trello_restore.sandbox.scenario import generate

from .conftest import SandboxFactory, configless_cli


def test_a_member_taken_off_the_board_since_is_said_when_the_plan_grants_it_back(
    sandbox_factory: SandboxFactory, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    s = generate(7, 60)
    w = s.world
    token_member = w.tokens[s.token]
    with w.lock:
        since = w.last_time
        card, member = next(
            (c, m)
            for c in sorted(w.cards_on_board(s.team.id), key=lambda c: c.id)
            if not c.closed
            for m in c.id_members
            if m not in (token_member, s.mover.id) and s.team.memberships[m].member_type != "admin"
        )
        colleague = next(
            m for m in sorted(s.team.memberships) if m not in (token_member, s.mover.id, member)
        )
        w.remove_member_from_card(card.id, member, colleague)
        w.remove_member_from_board(s.team.id, member, token_member)
    sb = sandbox_factory(s, time_scale=100)
    invoke = configless_cli(sb, monkeypatch, tmp_path)
    args = ("--board", s.team.id, "--since", since.isoformat(), "--add-to-board", "--dry-run")
    r = invoke(*args, "--format", "json")
    assert r.exit_code == ExitCode.OK, r.output
    doc = json.loads(r.stdout)
    grants = [
        c["member"]["id"]
        for c in doc["changes"]
        if c["action"] == "add_member_to_board" and c["board"]["id"] == s.team.id
    ]
    assert grants == [member], [c["board"]["name"] for c in doc["changes"]]
    name = w.members[member]
    (said,) = [x for x in doc["warnings"] if "without a move" in x]
    assert said == (
        f'{name.full_name} (@{name.username}) was on board "{s.team.name}" ({s.team.id}) when '
        "taken off cards there without a move, and is not now (taken off the board, or left "
        "it, since): --add-to-board puts them back on it; leave it off, or narrow the plan "
        "(--removed-by, --card), if that was meant"
    )
    # The incident's own grants (members a move stripped, never on the board) say nothing.
    incident = invoke(
        "--board", s.team.id, "--since", s.incident_at.isoformat(), "--until", since.isoformat(),
        "--removed-by", s.mover.username, "--add-to-board", "--dry-run", "--format", "json",
    )  # fmt: skip
    assert incident.exit_code == ExitCode.OK, incident.output
    plan = json.loads(incident.stdout)
    assert any(c["action"] == "add_member_to_board" for c in plan["changes"]), plan["summary"]
    assert not [x for x in plan["warnings"] if "without a move" in x]
