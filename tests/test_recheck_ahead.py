"""The looks while an apply writes read a board only while it is written, or once its first
write is near (``recheck.AHEAD``), not every board with writes to come (R41d: a 30-board
workspace written board after board spent 270 of its 296 looks on boards whose writes had not
begun, +6.9 % requests, though a board's first look reads from the live read on anyway)."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime
from typing import Any

import pytest

from trello_restore import recheck
from trello_restore.live import LiveBoard
from trello_restore.models import CardState, Change, MemberRef

ANN = MemberRef("ann", "ann", "Ann")
CARD = Change("c-0", "add_member_to_card", "b1", "B1", ANN, card_id="k", card_name="K")


def test_a_look_reads_the_boards_written_and_those_whose_turn_is_near(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    read: list[set[str]] = []

    def touches_in(api: Any, live: Any, index: Any, *args: Any, **kwargs: Any) -> Any:
        read[-1].update(index)
        return live

    monkeypatch.setattr(recheck, "touches_in", touches_in)
    monkeypatch.setattr(recheck, "AHEAD", 3, raising=False)
    boards = ("b1", "b2", "b3")
    changes = [
        replace(CARD, change_id=f"c-{b}{i}", board_id=b, card_id=f"k{b}{i}")
        for b in boards
        for i in range(4)
    ]
    live = {
        b: LiveBoard(b, {c.card_id: _card(c) for c in changes if c.board_id == b}) for b in boards
    }
    now = [0.0]
    api = type("Api", (), {"clock_skew": None})()
    r = recheck.Recheck(api, live, datetime(2026, 1, 1, tzinfo=UTC), "me", clock=lambda: now[0])
    for c in changes:
        r.expect(c)

    def decide(c: Change) -> None:
        """``c``'s write is about to be sent, a window after the last: a look starts."""
        now[0] += r.every_s
        read.append(set())
        r.decision(c, lambda board: None)
        thread = r._thread
        if thread is not None:
            thread.join(5)

    decide(changes[0])  # b1 begins; b1's next three are the writes ahead
    assert read[-1] == {"b1"}
    decide(changes[1])  # b2's first is now among the three ahead
    assert read[-1] == {"b1", "b2"}
    for c in changes[2:4]:
        decide(c)
    assert read[-1] == {"b2"}  # b1 has no write left; b3's turn is not near
    decide(changes[4])
    assert read[-1] == {"b2"}
    decide(changes[5])  # b3's first is among the three ahead
    assert read[-1] == {"b2", "b3"}


def _card(c: Change) -> CardState:
    return CardState(c.card_id, c.card_name, "", c.board_id, "l1", False, ())
