"""A token made without write access, and what a refusal asks for on each board.

Trello's authorize page makes a read-only token unless asked for ``scope=read,write``, and
Trello refuses such a token's writes exactly as it refuses a member without rights (401
``unauthorized permission requested``, trello-api-notes.md §4). The plan reads fine; the first
write is refused. The advice used to be "ask a board admin what else keeps them from changing
it" for a member who is a normal member of the board: the token is the likely cause, and the
line now says so and how to make one that can write.

A one-step run that went on past several refusing boards told the member to be made "a normal
member of those boards" whatever their membership of each; it now says what fits each board
(from the memberships the plan read), once when it is the same for all.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import timedelta
from pathlib import Path

import pytest
from click.testing import Result

from trello_restore.errors import ApiUnreachable, ExitCode, PermissionDenied
from trello_restore.journal import Journal
from trello_restore.models import MemberRef, Membership
from trello_restore.refusals import refusal, refused_boards_line
from trello_restore.sandbox.scenario import Scenario

from .conftest import T0, Sandbox, SandboxFactory, configless_cli, make_world, one_line_error
from .test_cron import _on_card
from .test_refused_board import WRITES, _args, _setup
from .truthcheck import incident_since

Invoke = Callable[..., Result]


def _read_only(s: Scenario) -> None:
    """The scenario's token (the mover's, the tests' credentials) loses its write access."""
    with s.world.lock:
        s.world.read_only_tokens.add(s.token)


def _members_now(s: Scenario) -> dict[str, frozenset[str]]:
    with s.world.lock:
        return {c.id: frozenset(c.id_members) for c in s.world.cards.values()}


def test_a_read_only_token_plans_then_its_apply_says_the_token_is_the_likely_cause(
    sb: Sandbox, scenario: Scenario, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    s = scenario
    invoke = configless_cli(sb, monkeypatch, tmp_path)
    _read_only(s)
    plan = tmp_path / "plan.json"
    dry = invoke(
        "--board", s.team.id, "--since", incident_since(s), "--dry-run", "-q",
        "--plan-out", str(plan),
    )  # fmt: skip
    assert dry.exit_code == 0, dry.output  # reading is allowed
    assert json.loads(plan.read_text())["changes"]
    before, start = _members_now(s), len(sb.server.request_log)
    journal = tmp_path / "j.jsonl"

    r = invoke("apply", str(plan), "--journal", str(journal), "-q")

    user = f"@{s.mover.username}"
    # The plan has changes on both boards: each refuses its first write, the apply goes on
    # past each (its summary on stdout) and ends with one line for both.
    assert r.exit_code == ExitCode.AUTH, r.output
    assert "Summary: 0 applied" in r.stdout, r.stdout
    line = one_line_error(
        r,
        ExitCode.AUTH,
        "change 2 boards, ",
        " (HTTP 401 unauthorized permission requested)",
        "nothing more was sent there after the refusal",
        f"{user} is an admin member of those boards, so the token is likely read-only (Trello "
        "makes one unless asked for scope=read,write): make a token of theirs with read and "
        "write access (see the README's Usage) and use it, or else ask a board admin",
        f"then run trello-restore apply {plan} --journal {journal} again to resume; or plan "
        "again with the token of a member who can edit them",
    )
    assert all(f'"{b.name}" (HTTP 401' in line for b in (s.team, s.archive)), line
    writes = [x for x in sb.server.request_log[start:] if x.method in WRITES]
    # The first write to a board goes alone; refused, nothing more is sent there.
    assert [x.status for x in writes] == [401, 401], [(x.method, x.path) for x in writes]
    assert _members_now(s) == before
    records = Journal.read(journal).records
    statuses = [r.status for r in records]
    assert statuses.count("failed") == len(writes), statuses
    assert "applied" not in statuses, statuses

    # With write access (the same member's new token), the same command finishes the job.
    with s.world.lock:
        s.world.read_only_tokens.clear()
    done = invoke("apply", str(plan), "--journal", str(journal), "-q")
    assert done.exit_code == ExitCode.PARTIAL, done.output  # the plan's blocked changes
    assert "0 failed" in done.output
    assert _members_now(s) != before


def test_a_nightly_run_with_a_read_only_token_says_so_once_for_both_boards(
    sb: Sandbox, scenario: Scenario, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    s = scenario
    invoke, _, _, team_lost, archive_lost = _setup(sb, s, tmp_path, monkeypatch)
    _read_only(s)
    r = invoke(*_args(s, "--yes", "--format", "json", "-q"))
    assert r.exit_code == ExitCode.AUTH, r.output
    (error,) = [x for x in r.stderr.splitlines() if x.startswith("Error: ")]
    assert "change 2 boards" in error
    assert error.count("the token is likely read-only") == 1, error
    assert "of those boards, so the token is likely read-only" in error
    assert _on_card(s, team_lost | archive_lost) == set()


def test_the_refused_boards_line_asks_what_fits_each_boards_membership() -> None:
    me = MemberRef("m", "dana", "Dana K")
    refused = [("b1", "Archive", "HTTP 401 x", 3), ("b2", "Roadmap", "HTTP 401 x", 2)]
    mixed = refused_boards_line(
        me, refused, memberships={"b1": Membership("m", "observer"), "b2": None}
    )
    assert (
        'last run. For "Archive", ask a board admin to make @dana a normal member of that board; '
        'for "Roadmap", ask a board admin to add @dana to that board, then run the same command'
    ) in mixed
    observer = Membership("m", "observer")
    both = refused_boards_line(me, refused, memberships={"b1": observer, "b2": observer})
    assert "last run. Ask a board admin to make @dana a normal member of those boards, " in both
    # Not read (a plan from exports has no memberships): added, or reactivated.
    unknown = refused_boards_line(me, refused[:1])
    assert "last run. Ask a board admin to add @dana to that board (or to reactivate" in unknown


def _ben_off_two_cards_planned(
    sandbox_factory: SandboxFactory, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> tuple[Sandbox, Invoke, Path, Path]:
    """The small world with ben taken off c1 and c2 after T0 + 1 day, served; the plan of the
    team board since then written to ``plan.json`` (its journal to be ``j.jsonl``)."""
    sw = make_world()
    w, ids = sw.world, sw.ids
    at = iter(T0 + timedelta(days=1, minutes=m) for m in range(1, 100))
    for card in ("c1", "c2"):
        w.remove_member_from_card(ids[card], ids["ben"], ids["ana"], next(at))
    sb = sandbox_factory(sw, time_scale=100)
    invoke = configless_cli(sb, monkeypatch, tmp_path)
    plan, journal = tmp_path / "plan.json", tmp_path / "j.jsonl"
    since = (T0 + timedelta(days=1)).isoformat()
    dry = invoke("--board", ids["team"], "--since", since, "--dry-run", "--plan-out", str(plan))
    assert dry.exit_code == 0, dry.output
    return sb, invoke, plan, journal


def test_a_refused_first_write_says_no_change_was_made(
    sandbox_factory: SandboxFactory, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A plan on one board whose first write a read-only token has refused: the line said
    "what was done is in the journal" with nothing done (R43a); it says no change had been made,
    and once one was, what was done."""
    sb, invoke, plan, journal = _ben_off_two_cards_planned(sandbox_factory, tmp_path, monkeypatch)
    with sb.world.lock:
        sb.world.read_only_tokens.add(sb.env["TRELLO_TOKEN"])
    r = invoke("apply", str(plan), "--journal", str(journal), "-q")
    one_line_error(
        r,
        ExitCode.AUTH,
        "nothing more was sent, and no change had been made before it (the journal "
        f"{journal} records the refused write)",
    )
    assert "what was done" not in r.stderr
    assert [rec.status for rec in Journal.read(journal).records] == ["pending", "failed"]


class _Unreachable:
    """An API whose every read fails: the refusal names the member and board as it can."""

    def me(self) -> dict[str, str]:
        raise ApiUnreachable("down")

    def get(self, *args: object, **kwargs: object) -> object:
        raise ApiUnreachable("down")


@pytest.mark.parametrize(
    ("made", "said"),
    [
        (True, "what was done is in the journal j.jsonl."),
        (False, "no change had been made before it (the journal j.jsonl records the refused "),
    ],
)
def test_a_refused_write_says_whether_a_change_was_made_before_it(made: bool, said: str) -> None:
    err = PermissionDenied("HTTP 401 unauthorized permission requested", 401, "")
    line = str(
        refusal(
            _Unreachable(), "b1", "Team", err, wrote=True, journal=Path("j.jsonl"),  # type: ignore[arg-type]
            made=made,
        )
    )  # fmt: skip
    assert said in line, line


@pytest.mark.parametrize("refused", ["write", "read"])
def test_a_resumed_undo_refused_at_once_says_what_an_earlier_undo_did(
    sandbox_factory: SandboxFactory, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, refused: str
) -> None:
    """An undo stopped after its first removal, run again with a read-only token (its first
    write refused) or with the token's member taken off the board (its read refused): the line
    says what was done is in the journal, not that no change had been made or nothing was
    written (R43g, R43i: the earlier undo's removal was left out)."""
    sb, invoke, plan, journal = _ben_off_two_cards_planned(sandbox_factory, tmp_path, monkeypatch)
    w, ids = sb.world, sb.ids
    assert invoke("apply", str(plan), "--journal", str(journal), "-q").exit_code == 0
    assert invoke("undo", str(journal), "--yes", "-q").exit_code == 0
    # As if the undo had stopped after its first removal: the second's records dropped, and
    # ben back on that card.
    lines = journal.read_text().splitlines(keepends=True)
    undos = [json.loads(x) for x in lines[1:] if json.loads(x).get("op") == "undo"]
    last = undos[-1]
    kept = [
        x
        for x in lines[1:]
        if not (
            json.loads(x).get("op") == "undo" and json.loads(x)["change_id"] == last["change_id"]
        )
    ]
    journal.write_text(lines[0] + "".join(kept))
    with w.lock:
        w.cards[last["card_id"]].id_members.append(ids["ben"])
        if refused == "write":
            w.read_only_tokens.add(sb.env["TRELLO_TOKEN"])
        else:
            del w.boards[ids["team"]].memberships[ids["lead"]]
    r = invoke("undo", str(journal), "--yes", "-q")
    said = {
        "write": "nothing more was sent, and what was done is in ",
        "read": f"nothing was written by this run, and what an earlier run of it did is in the "
        f"journal {journal}.",
    }
    line = one_line_error(r, ExitCode.AUTH, said[refused])
    assert "no change had been made" not in line
