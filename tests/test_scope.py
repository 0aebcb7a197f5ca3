"""Scope when naming one board of a move (issue 9, item 8; design.md §3, "Scope").

A board reached only by following a move supplies history, and the cards that moved between it
and a named board; its other cards are not in scope. Naming the archive board must not touch
team-board cards that never moved; naming both boards keeps everything in scope. The plans are
made over HTTP against the sandbox and compared with the ground truth (``truth.compute`` with
the boards named), which decides scope from the world's own record of where each card has been.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from click.testing import Result

from trello_restore.api import ApiSettings, TrelloApi
from trello_restore.errors import ExitCode
from trello_restore.fetcher import fetch, resolve_boards
from trello_restore.planner import build_plan
from trello_restore.sandbox.scenario import Scenario, generate
from trello_restore.sandbox.truth import GroundTruth, OptionSet, compute

from .conftest import (
    T0,
    Sandbox,
    SandboxFactory,
    SmallWorld,
    configless_cli,
    make_world,
)
from .truthcheck import assert_plan_is_truth, incident_since, plan_options

Invoke = Callable[..., Result]


def _invoke(sb: Sandbox, monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Invoke:
    return configless_cli(sb, monkeypatch, tmp_path)


def _plan(result: Result) -> dict[str, Any]:
    assert result.exit_code == 0, result.output
    doc: dict[str, Any] = json.loads(result.stdout)
    return doc


def _touched(doc: dict[str, Any]) -> set[str]:
    """Every card the plan mentions: changes, blocked and skipped."""
    return (
        {c["card"]["id"] for c in doc["changes"] if c.get("card")}
        | {b["change"]["card"]["id"] for b in doc["blocked"]}
        | {s["card"]["id"] for s in doc["skipped"]}
    )


# --------------------------------------------------------------------- the incident scenario


@pytest.fixture(name="scenario")
def scenario_fixture() -> Scenario:
    """An incident with deliberate removals on team cards that never moved (story step 3)."""
    return generate(23, 120)


def _stayed_removals(s: Scenario) -> list[tuple[str, str | None]]:
    """(card, member) of the deliberate removals after the incident on cards that were only
    ever on the team board."""
    with s.world.lock:
        return [
            (e.card_id, e.member_id)
            for e in s.story.after
            if e.kind == "remove"
            and e.card_id in s.world.cards
            and s.world.cards[e.card_id].boards_seen == [s.team.id]
        ]


def test_naming_the_archive_leaves_team_cards_that_never_moved_alone(
    sandbox_factory: SandboxFactory,
    scenario: Scenario,
    monkeypatch: pytest.MonkeyPatch,
    tmp_path: Path,
) -> None:
    """``--board ARCHIVE --since T --add-to-board`` (set d): no team card that never moved is
    in the plan, and the plan is the truth for the archive board named; the same with both
    boards named plans those deliberate removals back. Then the one-step run naming only the
    archive board applies, and the deliberate removals on team cards survive it."""
    s = scenario
    stayed = _stayed_removals(s)
    assert len(stayed) >= 2
    never_moved = {c.id for c in s.world.cards.values() if c.boards_seen == [s.team.id]} | {
        c.id for c in s.world.deleted_cards.values() if c.boards_seen == [s.team.id]
    }
    sb = sandbox_factory(s, token_limit=10_000, key_limit=10_000)
    invoke = _invoke(sb, monkeypatch, tmp_path)
    since = incident_since(s)
    dry = ["--since", since, "--add-to-board", "--dry-run", "--plan-out", "-"]

    archive_only = _plan(invoke("--board", s.archive.id, *dry))
    assert {b["id"] for b in archive_only["inputs"]["boards"]} == {s.team.id, s.archive.id}
    assert _touched(archive_only) & never_moved == set()
    truth = compute(s.world, s.scope, s.option_sets()["d"], (s.archive.id,))
    assert _pairs(archive_only) == truth.pairs()

    both = _plan(invoke("--board", s.archive.id, "--board", s.team.id, *dry))
    assert set(stayed) <= _pairs(both)
    assert _pairs(both) == s.truth("d").pairs()

    run = invoke("--board", s.archive.id, "--since", since, "--add-to-board", "--yes", "-q")
    assert run.exit_code == 0, run.output
    with s.world.lock:
        for card_id, member_id in stayed:
            assert member_id not in s.world.cards[card_id].id_members
        for pair in truth.pairs():
            assert pair[1] in s.world.cards[pair[0]].id_members


def _pairs(doc: dict[str, Any]) -> set[tuple[str, str]]:
    return {(c["card"]["id"], c["member"]["id"]) for c in doc["changes"] if c.get("card")}


def test_filters_outside_the_scope_say_which_board_to_name(
    sandbox_factory: SandboxFactory,
    scenario: Scenario,
    monkeypatch: pytest.MonkeyPatch,
    tmp_path: Path,
) -> None:
    """Naming the archive board, --card of a team card that never moved and --list of a team
    list that none of the moved cards is in are errors that say to name the team board too."""
    s = scenario
    card_id = _stayed_removals(s)[0][0]
    with s.world.lock:
        card = s.world.cards[card_id]
        link, list_name = card.short_link, s.world.lists[card.id_list].name
    sb = sandbox_factory(s, token_limit=10_000, key_limit=10_000)
    invoke = _invoke(sb, monkeypatch, tmp_path)
    since = incident_since(s)
    base = ["--board", s.archive.id, "--since", since, "--dry-run"]
    for extra, needle in (
        (["--card", link], f"--card {link}: card"),
        (["--list", list_name], f'--list "{list_name}": that list is on "{s.team.name}"'),
    ):
        result = invoke(*base, *extra)
        assert result.exit_code == ExitCode.USAGE, result.output
        lines = [x for x in result.stderr.splitlines() if x.startswith("Error: ")]
        assert len(lines) == 1, result.stderr
        assert needle in lines[0]
        assert "name that board with --board too" in lines[0]
    doc = _plan(invoke(*base, "--board", s.team.id, "--card", link, "--plan-out", "-"))
    assert {c["card"]["id"] for c in doc["changes"]} == {card_id}


# ---------------------------------------------------------------- which cards moved, exactly


def _edge_world() -> SmallWorld:
    """The small world (team board: lists Doing, Done, Old; archive board: Shelf with c5),
    plus, each with a member removed on purpose afterwards (by the lead):

    - ``moved``: a team card in list Done when Done is moved to the archive board;
    - ``late``: created in Done on the archive board after that move (never on the team board);
    - ``shelved``: created on the archive board in Shelf (never on the team board);
    - ``home``: on the team board, never moved;
    - ``round``: moved to the archive board on its own and back to the team board.
    """
    sw = make_world()
    w, ids = sw.world, sw.ids
    lead, ana, ben, cai = ids["lead"], ids["ana"], ids["ben"], ids["cai"]
    t = T0 + timedelta(days=3)

    def at(minutes: int) -> Any:
        return t + timedelta(minutes=minutes)

    w.add_member_to_board(ids["archive"], ben, lead, "normal", at(0))
    cards = {
        "moved": ids["done"],
        "home": ids["doing"],
        "round": ids["doing"],
        "shelved": ids["shelf"],
    }
    for i, (name, list_id) in enumerate(cards.items()):
        ids[name] = w.create_card(list_id, name, lead, at(1 + i)).id
        w.add_member_to_card(ids[name], ana, lead, at(10 + i))
        w.add_member_to_card(ids[name], ben, lead, at(20 + i))
    w.add_member_to_card(ids["moved"], cai, lead, at(25))
    w.move_list_to_board(ids["done"], ids["archive"], lead, at(30))  # cai comes off
    ids["late"] = w.create_card(ids["done"], "late", lead, at(31)).id
    w.add_member_to_card(ids["late"], ana, lead, at(32))
    w.move_card_to_board(ids["round"], ids["archive"], ids["shelf"], lead, at(33))
    w.move_card_to_board(ids["round"], ids["team"], ids["doing"], lead, at(34))
    for i, name in enumerate(("moved", "late", "shelved", "home", "round")):
        w.remove_member_from_card(ids[name], ana, lead, at(40 + i))
    return sw


def _plan_over_http(sb: Sandbox, named: list[str], options: OptionSet) -> Any:
    settings = ApiSettings(key=sb.key, token=sb.token, api_url=sb.base_url)
    with TrelloApi(settings) as api:
        fetched = fetch(api, resolve_boards(api, named))
    assert fetched.named == frozenset(named)
    return build_plan(
        fetched.history,
        fetched.state,
        plan_options(options),
        fetched.members,
        incomplete=fetched.incomplete,
        named_boards=fetched.named,
    )


@pytest.mark.parametrize(
    ("named", "in_scope"),
    [
        (("team",), {"moved", "home", "round"}),
        (("archive",), {"moved", "late", "shelved", "round"}),
        (("team", "archive"), {"moved", "late", "shelved", "home", "round"}),
    ],
)
def test_a_followed_board_gives_only_the_cards_that_moved(
    sandbox_factory: SandboxFactory, named: tuple[str, ...], in_scope: set[str]
) -> None:
    """A card is in scope when it was ever on a named board: moved with its list (at the time
    of the move: a card created in the list afterwards was not), moved on its own (even if it
    came back), or on a named board now. The plan over HTTP equals the truth for those boards,
    and the truth's removals are exactly those on the cards in scope."""
    sw = _edge_world()
    sb = sandbox_factory(sw)
    ids = sw.ids
    board_ids = [ids[n] for n in named]
    options = OptionSet("scope", since=T0, add_to_board=True)
    plan = _plan_over_http(sb, board_ids, options)
    truth: GroundTruth = compute(sw.world, (ids["team"], ids["archive"]), options, board_ids)
    assert_plan_is_truth(plan, truth)
    removed = {(ids[n], ids["ana"]) for n in in_scope}
    by_move = {(ids[c], ids["cai"]) for c in ("moved", "c3")}  # Done's cards lost cai in the move
    assert {(c.card_id, c.member.id) for c in plan.card_changes()} == removed | by_move
    assert {r.method for r in sb.server.request_log} == {"GET"}
