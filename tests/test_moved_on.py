"""Cards that moved on: Team -> Archive -> Third within the window. Naming the board they came
from follows the moves board to board, so ``--board Team`` plans them as naming every board
does (design.md §3, "Scope": either board gives the same plan for the cards that moved). R72b:
the cards now on Third were skipped as ``card_deleted`` and never put back, and a nightly
``--board Team --since last-run`` moved its last run past them."""

from __future__ import annotations

import json
from datetime import datetime, timedelta
from typing import Any

import pytest

from trello_restore.sandbox.world import World

from .conftest import T0, Sandbox, SandboxFactory, SmallWorld, sandbox_cli

SINCE = T0 + timedelta(days=1)


def _chain(by_list: bool) -> SmallWorld:
    """Team's list Doing (cards c1: ana+ben, c2: ben) moved to Archive (where only ana is a
    member: ben is stripped, logged as lead's removals), then on to Third (ben a member
    there), a day after T0. ``by_list``: whole-list moves; else card moves of c1 and c2."""
    w = World(7)
    ticks = iter(range(1, 10_000))

    def at() -> datetime:
        return T0 + timedelta(minutes=next(ticks))

    ids = {
        name: w.add_member(name, f"{name.title()} Example", T0).id
        for name in ("lead", "ana", "ben")
    }
    org = w.add_organization("acme", "Acme", T0)
    lead = ids["lead"]
    for name in ("team", "archive", "third"):
        ids[name] = w.create_board(name.title(), lead, at(), org.id).id
    for board, members in (
        ("team", ("ana", "ben")),
        ("archive", ("ana",)),
        ("third", ("ana", "ben")),
    ):
        for m in members:
            w.add_member_to_board(ids[board], ids[m], lead, "normal", at())
    for name, board in (("doing", "team"), ("shelf", "archive"), ("later", "third")):
        ids[name] = w.create_list(ids[board], name.title(), lead, at()).id
    for name, members in (("c1", ("ana", "ben")), ("c2", ("ben",))):
        ids[name] = w.create_card(ids["doing"], name.upper(), lead, at()).id
        for m in members:
            w.add_member_to_card(ids[name], ids[m], lead, at())
    first, second = SINCE + timedelta(hours=1), SINCE + timedelta(hours=2)
    if by_list:
        w.move_list_to_board(ids["doing"], ids["archive"], lead, first)
        w.move_list_to_board(ids["doing"], ids["third"], lead, second)
    else:
        for card in ("c1", "c2"):
            w.move_card_to_board(ids[card], ids["archive"], ids["shelf"], lead, first)
            w.move_card_to_board(ids[card], ids["third"], ids["later"], lead, second)
    key, token = w.add_credentials(lead)
    return SmallWorld(w, key, token, ids, {})


def _plan(sb: Sandbox, monkeypatch: pytest.MonkeyPatch, *args: str) -> dict[str, Any]:
    invoke = sandbox_cli(sb, monkeypatch)
    result = invoke(*args, "--since", SINCE.isoformat(), "--dry-run", "--format", "json")
    assert result.exit_code == 0, result.output
    doc: dict[str, Any] = json.loads(result.stdout)
    return doc


def _decisions(doc: dict[str, Any]) -> tuple[set[tuple[str, str, str]], set[tuple[str, str]]]:
    changes = {
        (c["card"]["id"], c["member"]["id"], c["board"]["id"])
        for c in doc["changes"]
        if c["action"] == "add_member_to_card"
    }
    skipped = {(s["card"]["id"], s["reason"]) for s in doc["skipped"]}
    return changes, skipped


@pytest.mark.parametrize("by_list", [True, False], ids=["list moves", "card moves"])
@pytest.mark.parametrize("cache", [[], ["--no-cache"]], ids=["kept history", "no cache"])
def test_the_board_they_came_from_plans_the_cards_that_moved_on(
    sandbox_factory: SandboxFactory,
    monkeypatch: pytest.MonkeyPatch,
    by_list: bool,
    cache: list[str],
) -> None:
    """``--board Team`` re-adds ben to c1 and c2 where they are now (Third), as ``--board
    Team --board Third`` does, and so does the next run; nothing is ``card_deleted``."""
    small = _chain(by_list)
    sb = sandbox_factory(small, time_scale=100)
    ids = small.ids
    want = {(ids[c], ids["ben"], ids["third"]) for c in ("c1", "c2")}
    named = _decisions(_plan(sb, monkeypatch, "--board", ids["team"], *cache))
    both = _decisions(
        _plan(sb, monkeypatch, "--board", ids["team"], "--board", ids["third"], *cache)
    )
    assert named[0] == want
    assert not any(reason == "card_deleted" for _, reason in named[1])
    assert named == both
    again = _decisions(_plan(sb, monkeypatch, "--board", ids["team"], *cache))
    assert again == named  # a re-plan (from the kept history, nothing new) follows them too
