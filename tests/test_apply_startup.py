"""What an apply reads before its first write, over HTTP against the sandbox (issue 12: every
millisecond before the first write is one the rate window is not used).

A board's memberships (and lists: one read of the board) are read while its cards are, and the
card listing in date ranges on the apply's workers, as a plan reads it; the live state is the
same as read in turn.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import pytest

from trello_restore.kinds import Context, kind_of
from trello_restore.live import LiveBoard, read_live
from trello_restore.models import Change
from trello_restore.sandbox.scenario import generate
from trello_restore.sandbox.server import SandboxOptions, SandboxServer

from .applykit import api_for, apply_doc, fast_options, open_journal, plan_doc
from .conftest import T0, Sandbox, SandboxFactory, make_world

#: Cards on the team board, made half a day and an hour apart: nine pages of a thousand, spread
#: over 12 years, so the listing splits into date ranges once its first pages are read in turn
#: (``paging.SEQUENTIAL_PAGES``; what is left then holds two pages for each range or more).
CARDS = 9_000


@pytest.fixture
def big_board() -> Iterator[Sandbox]:
    """The small world with ``CARDS`` more cards on the team's ``doing`` list, served with a
    little latency (time-scaled)."""
    built = make_world()
    ids = built.ids
    for i in range(CARDS):
        at = T0 + timedelta(days=1, hours=12 * i + i % 12)
        built.world.create_card(ids["doing"], f"N{i}", ids["lead"], at)
    server = SandboxServer(built.world, SandboxOptions(latency_ms=100, time_scale=10))
    server.start()
    sb = Sandbox(server, built.world, built.key, built.token, ids)
    yield sb
    sb.close()


def test_live_state_read_in_ranges_is_the_state_read_in_turn(big_board: Sandbox) -> None:
    """With readers, the card listing is read in date ranges (``since``) and the memberships
    and lists (one board read) while it is; the live state equals the one read a request at a
    time."""
    sb = big_board
    boards = [sb.ids["team"], sb.ids["archive"]]
    with api_for(sb) as api:
        in_turn = read_live(api, boards, lists_of=[sb.ids["team"]])
        mark = len(sb.server.request_log)
        ranged = read_live(api, boards, lists_of=[sb.ids["team"]], readers=8)
    assert ranged == in_turn
    team = in_turn[sb.ids["team"]]
    assert team.cards is not None
    assert len(team.cards) == CARDS + 5
    log = sb.server.request_log[mark:]
    listing = [r for r in log if r.path.endswith(f"{sb.ids['team']}/cards/all")]
    assert any("since" in r.query_names for r in listing)
    last_page = max(r.at + r.duration_s for r in listing)
    # The memberships and lists are one read of the board, asked for while the cards are read.
    (read,) = [r for r in log if r.path == f"/1/boards/{sb.ids['team']}"]
    assert {"memberships", "lists"} <= set(read.query_names)
    assert read.at < last_page


def test_an_apply_reads_memberships_while_it_reads_the_cards(
    sandbox_factory: SandboxFactory, tmp_path: Path
) -> None:
    """A dry-run apply (live reads, no write): the board's memberships are asked for before its
    card listing is answered, not after it."""
    s = generate(31, 40)
    sb = sandbox_factory(s, time_scale=100)
    doc = plan_doc(sb, s, "b")
    sb.server.set_options(latency_ms=2_000)  # 20 ms: the listing's answer is well after
    mark = len(sb.server.request_log)
    with api_for(sb) as api:
        report = apply_doc(doc, api, None, fast_options(dry_run=True))
    assert report.counts
    log = sb.server.request_log[mark:]
    (cards,) = [r for r in log if r.path.endswith("/cards/all")]  # the board of the changes
    board = cards.path.removesuffix("/cards/all")
    (memberships,) = [r for r in log if r.path == board and "memberships" in r.query_names]
    assert memberships.at < cards.at + cards.duration_s
    assert {r.method for r in log} == {"GET"}


def test_a_kinds_first_writes_go_out_while_the_rest_are_decided(
    sandbox_factory: SandboxFactory, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The card-member changes are decided one by one as the workers take them: the first write
    reaches Trello before the last change is decided, not after all of them are. The last
    decision waits (up to 20 s) for a write to reach the sandbox: an apply that decided every
    change before sending any would keep it waiting the whole time. (No clock is compared, so a
    loaded machine cannot fail it.) The outcome is the plan's."""
    s = generate(31, 40)
    sb = sandbox_factory(s, time_scale=100)
    doc = plan_doc(sb, s, "b")
    kind = kind_of("add_member_to_card")
    to_decide = sum(1 for c in doc["changes"] if c["action"] == "add_member_to_card")
    decided: dict[str, int] = {}  # change id -> writes sent when it was first decided
    real_decide = kind.decide
    mark = len(sb.server.request_log)

    def writes_sent() -> int:
        return sum(1 for r in sb.server.request_log[mark:] if r.path.endswith("/idMembers"))

    def waiting_decide(c: Change, live: LiveBoard, ctx: Context) -> tuple[str, str] | None:
        if c.change_id in decided:  # decided again just before its write (``recheck``)
            return real_decide(c, live, ctx)
        if len(decided) == to_decide - 1:
            deadline = time.monotonic() + 20
            while not writes_sent() and time.monotonic() < deadline:
                time.sleep(0.01)
        decided[c.change_id] = writes_sent()
        return real_decide(c, live, ctx)

    monkeypatch.setattr(kind, "decide", waiting_decide)
    with api_for(sb) as api, open_journal(doc, tmp_path / "journal.jsonl", api) as journal:
        report = apply_doc(doc, api, journal, fast_options())
    assert len(decided) == to_decide == writes_sent() >= 10
    assert list(decided.values())[-1] >= 1, (
        "no write reached Trello before the last change was decided"
    )
    assert report.counts == {"applied": len(doc["changes"])}
