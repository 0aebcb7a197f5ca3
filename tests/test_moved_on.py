"""Cards that moved on past a followed board: Team -> Archive -> Third within the window. The
boards cards moved to or from are followed one move away, so ``--board Team`` does not read
Third and skips the removals as ``card_deleted``; naming Third too (README, Known limits: the
way to restore them) re-adds them where they are. R72b found the gap; R73a found that following
every board a followed board ever exchanged cards with read unrelated boards and held
``--since last-run`` back for good, so the fetch stays one hop."""

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

    ids = {name: w.add_member(name, name.title(), T0).id for name in ("lead", "ana", "ben")}
    org = w.add_organization("acme", "Acme", T0)
    lead = ids["lead"]
    for name in ("team", "archive", "third"):
        ids[name] = w.create_board(name.title(), lead, at(), org.id).id
    members = {"team": ("ana", "ben"), "archive": ("ana",), "third": ("ana", "ben")}
    for board, names in members.items():
        for m in names:
            w.add_member_to_board(ids[board], ids[m], lead, "normal", at())
    for name, board in (("doing", "team"), ("shelf", "archive"), ("later", "third")):
        ids[name] = w.create_list(ids[board], name.title(), lead, at()).id
    for name, on in (("c1", ("ana", "ben")), ("c2", ("ben",))):
        ids[name] = w.create_card(ids["doing"], name.upper(), lead, at()).id
        for m in on:
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


def _decisions(
    sb: Sandbox, monkeypatch: pytest.MonkeyPatch, *boards: str
) -> tuple[set[tuple[str, str, str]], set[tuple[str, str]]]:
    """The plan's card re-adds (card, member, board) and skips (card, reason)."""
    args = [x for board in boards for x in ("--board", board)]
    result = sandbox_cli(sb, monkeypatch)(
        *args, "--since", SINCE.isoformat(), "--dry-run", "--format", "json"
    )
    assert result.exit_code == 0, result.output
    doc: dict[str, Any] = json.loads(result.stdout)
    changes = {
        (c["card"]["id"], c["member"]["id"], c["board"]["id"])
        for c in doc["changes"]
        if c["action"] == "add_member_to_card"
    }
    return changes, {(s["card"]["id"], s["reason"]) for s in doc["skipped"]}


@pytest.mark.parametrize("by_list", [True, False], ids=["list moves", "card moves"])
def test_cards_that_moved_on_are_restored_by_naming_the_board_they_are_on(
    sandbox_factory: SandboxFactory, monkeypatch: pytest.MonkeyPatch, by_list: bool
) -> None:
    """``--board Team`` alone skips ben's removals from c1 and c2 as ``card_deleted`` (the
    known limit); ``--board Team --board Third`` re-adds ben to both on Third."""
    small = _chain(by_list)
    sb = sandbox_factory(small, time_scale=100)
    ids = small.ids
    cards = (ids["c1"], ids["c2"])
    alone = _decisions(sb, monkeypatch, ids["team"])
    assert alone[0] == set()
    assert {(c, "card_deleted") for c in cards} <= alone[1]
    both = _decisions(sb, monkeypatch, ids["team"], ids["third"])
    assert both[0] == {(c, ids["ben"], ids["third"]) for c in cards}
    assert not any(reason == "card_deleted" for _, reason in both[1])
