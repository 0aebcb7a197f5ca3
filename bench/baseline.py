"""The per-card baseline: what a user would otherwise run (issue 6).

For each card on the board, fetch its ``removeMemberFromCard`` actions since the date, sleep
0.1 s, and post each removed member back, sleeping 0.1 s after each post. Written with py-trello,
as such a script would be, against any Trello-compatible base URL (the sandbox in the benchmark).

Sleeps are in Trello time: with a time-scaled sandbox, pass the same ``time_scale``.
"""

from __future__ import annotations

import time
from collections import namedtuple
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import requests
import trello

Member = namedtuple("Member", "id")


class _Rebased(requests.Session):
    """py-trello hardcodes https://api.trello.com/1; send its requests to ``base`` instead."""

    def __init__(self, base: str) -> None:
        super().__init__()
        self.base = base.rstrip("/")

    def request(self, method: str, url: str, *args: Any, **kwargs: Any) -> requests.Response:  # type: ignore[override]
        url = url.replace("https://api.trello.com/1", self.base, 1)
        kwargs.setdefault("timeout", (5, 60))
        return super().request(method, url, *args, **kwargs)


@dataclass
class BaselineResult:
    """What the loop did."""

    reads: int = 0
    writes: int = 0
    write_errors: int = 0
    rate_limited: int = 0
    restored: set[tuple[str, str]] = field(default_factory=set)
    seconds: float = 0.0


def run_baseline(
    base_url: str, key: str, token: str, board_id: str, since: datetime, *, time_scale: float = 1.0
) -> BaselineResult:
    """Run the per-card loop on one board (the board the cards are on now)."""
    pause = 0.1 / time_scale
    session = _Rebased(base_url)
    client = trello.TrelloClient(api_key=key, token=token, http_service=session)
    result = BaselineResult()
    start = time.monotonic()
    try:
        board = client.get_board(board_id)
        result.reads += 1
        cards = board.all_cards()
        result.reads += 1
        for card in cards:
            try:
                actions = card.fetch_actions(
                    action_filter="removeMemberFromCard",
                    since=since.isoformat().replace("+00:00", "Z"),
                    action_limit=1000,
                )
            except trello.ResourceUnavailable as exc:
                result.reads += 1
                result.rate_limited += getattr(exc, "_status", 0) == 429
                continue
            result.reads += 1
            time.sleep(pause)
            for action in actions:
                member_id = action["data"]["idMember"]
                try:
                    card.add_member(Member(member_id))
                    result.restored.add((card.id, member_id))
                except trello.ResourceUnavailable as exc:
                    result.write_errors += 1
                    result.rate_limited += getattr(exc, "_status", 0) == 429
                result.writes += 1
                time.sleep(pause)
    finally:
        session.close()
    result.seconds = time.monotonic() - start
    return result
