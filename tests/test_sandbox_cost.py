"""What one request costs the sandbox, in work rather than time (issue 12: the sandbox's own CPU
counts as Trello's time in a time-scaled run, and real Trello has none of it).

A page of a board's card listing touches the cards it returns, not every card of the board, and
makes only the fields it is asked for; its answers still equal Trello's rules applied to the
whole board (a reference computed the old way, by filtering and sorting every card).
"""

from __future__ import annotations

import gc
import json
import random
import socket
import socketserver
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta, timezone
from typing import Any
from urllib.parse import urlsplit

import pytest

from trello_restore.sandbox import endpoints, render
from trello_restore.sandbox.endpoints import Call
from trello_restore.sandbox.ids import id_time, is_object_id, iso
from trello_restore.sandbox.render import JSON
from trello_restore.sandbox.world import Card, Member, TrelloError, World

from .conftest import FROZEN_AT_START, Sandbox, SandboxFactory

T0 = datetime(2025, 6, 2, 8, 0, tzinfo=UTC)
#: The fields the tool asks for (fetcher.CARD_FIELDS): no ``url``, no ``badges``.
FIELDS = "id,name,shortLink,idBoard,idList,closed,idMembers,desc,due,dueComplete,start"


class _Counting(dict[str, Card]):
    """``World.cards`` that counts every card handed out: by key, or by walking it."""

    def __init__(self, cards: dict[str, Card]) -> None:
        super().__init__(cards)
        self.touched = 0

    def __getitem__(self, key: str) -> Card:
        self.touched += 1
        return super().__getitem__(key)

    def get(self, key: str, default: Any = None) -> Any:
        self.touched += 1
        return super().get(key, default)

    def values(self) -> Iterator[Card]:  # type: ignore[override]
        for card in super().values():
            self.touched += 1
            yield card

    def items(self) -> Iterator[tuple[str, Card]]:  # type: ignore[override]
        for key, card in super().items():
            self.touched += 1
            yield key, card

    def __iter__(self) -> Iterator[str]:
        for key in super().__iter__():
            self.touched += 1
            yield key


class _Big:
    """A board with ``n`` cards, several to a second, some archived, one list archived, and
    a second board with cards of its own; ``key``/``token`` are the lead's."""

    def __init__(self, n: int, seed: int = 5) -> None:
        rng = random.Random(seed)
        w = World(seed, clock=lambda: T0 + timedelta(days=400))
        lead = w.add_member("lead", "Lea Lead", T0)
        self.world, self.lead = w, lead.id
        self.board = w.create_board("Big", lead.id, T0)
        other = w.create_board("Other", lead.id, T0)
        lists = [w.create_list(self.board.id, f"L{k}", lead.id, T0) for k in range(4)]
        elsewhere = w.create_list(other.id, "Elsewhere", lead.id, T0)
        at = T0
        for k in range(n):
            at += timedelta(milliseconds=rng.choice((1, 1, 250, 900, 2500)))
            card = w.create_card(rng.choice(lists).id, f"card {k}", lead.id, at)
            if rng.random() < 0.1:
                w.set_card_closed(card.id, True, lead.id, at)
            at += timedelta(milliseconds=1)
            w.create_card(elsewhere.id, f"other {k}", lead.id, at)
        w.set_list_closed(lists[3].id, True, lead.id, at)
        self.key, self.token = w.add_credentials(lead.id)


@pytest.fixture(scope="module", name="big")
def big_fixture() -> _Big:
    """3,000 cards on the board, 3,000 on another (built once: the tests only read)."""
    return _Big(3000)


def _reference(
    w: World, board_id: str, which: str, params: dict[str, str], exact: bool
) -> list[str]:
    """A paged listing's ids by Trello's rules over every card of the board: the filter, the
    bounds (an id or a date against each card's creation second, or the id itself when
    ``exact``), newest first, ``limit`` of them."""
    lists = w.lists
    keep: dict[str, Callable[[Card], bool]] = {
        "all": lambda c: True,
        "open": lambda c: not c.closed,
        "closed": lambda c: c.closed,
        "visible": lambda c: not c.closed and not lists[c.id_list].closed,
        "none": lambda c: False,
    }
    cards = [c for c in dict.values(w.cards) if c.id_board == board_id and keep[which](c)]
    for name in ("before", "since"):
        raw = params.get(name)
        if raw is None:
            continue
        later = name == "since"
        if exact and is_object_id(raw):
            cards = [c for c in cards if (c.id > raw if later else c.id < raw)]
            continue
        when = id_time(raw) if is_object_id(raw) else datetime.fromisoformat(raw)
        cards = [c for c in cards if (id_time(c.id) > when if later else id_time(c.id) < when)]
    cards.sort(key=lambda c: c.id, reverse=True)
    return [c.id for c in cards[: int(params.get("limit", "1000"))]]


def test_a_card_page_touches_the_cards_it_returns_not_the_board(
    big: _Big, sandbox_factory: SandboxFactory, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Over HTTP, a page of 10 from the middle of a 3,000-card board (6,000 in the world), as
    the tool reads it (``before`` and ``since`` dates, ``limit``, ``fields``), looks at its own
    10 cards and the few the filter skips, not at every card: the page costs its size, and
    the index it is read from gives the same ids as the reference."""
    sb = sandbox_factory(big)
    ids = sorted(c.id for c in big.world.cards.values() if c.id_board == big.board.id)
    assert len(ids) == 3000
    counting = _Counting(big.world.cards)
    monkeypatch.setattr(big.world, "cards", counting)
    middle = id_time(ids[1500])
    params = {
        "limit": "10",
        "before": iso(middle + timedelta(milliseconds=500)),
        "since": iso(middle - timedelta(seconds=30)),
        "fields": FIELDS,
    }
    for which in ("all", "open", "visible"):
        counting.touched = 0
        got = sb.get(f"/boards/{big.board.id}/cards/{which}", **params)
        assert got.status_code == 200
        touched = counting.touched
        want = _reference(big.world, big.board.id, which, params, exact=False)
        assert [c["id"] for c in got.json()] == want
        assert len(want) == 10
        # ~10 % archived and a quarter in an archived list: a visible page skips a few.
        assert touched <= 40, f"{which}: {touched} cards touched for a page of 10"


def test_a_card_page_makes_only_the_fields_asked_for(
    big: _Big, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A card's ``url`` (a slug made from its name) is made only when ``fields`` asks for it:
    the tool's fields make none, ``fields=all`` one per card of the page."""
    made = 0
    slug = Card.__dict__["url"].fget

    def counted(card: Card) -> str:
        nonlocal made
        made += 1
        return str(slug(card))

    monkeypatch.setattr(Card, "url", property(counted))
    call = Call(big.world, big.lead, {"id": big.board.id, "filter": "all"}, {"limit": "50"})
    for fields, urls in ((FIELDS, 0), ("name,url", 50), ("all", 50)):
        made = 0
        page = endpoints.board_cards(
            Call(call.world, call.member_id, call.path, call.params | {"fields": fields})
        )
        assert len(page) == 50
        assert made == urls, fields
        assert ("url" in page[0]) == bool(urls)


def _bound(rng: random.Random, w: World, ids: list[str]) -> str:
    """A ``before``/``since`` value: a card id (of this board, another, or a deleted one), or a
    date on, just off or between cards' seconds."""
    cid = rng.choice(ids)
    if rng.random() < 0.4:
        return cid
    shift = rng.choice((0, 1, 499, 999, 1000, -1, -1000, 1500))
    return iso(id_time(cid) + timedelta(milliseconds=shift))


@pytest.mark.parametrize("cursor", ["second", "exact"])
def test_card_pages_follow_trellos_rules_over_the_whole_board(big: _Big, cursor: str) -> None:
    """Random pages (filters, limits, bounds of both kinds, both cursor modes) equal the
    reference computed over every card of the board; a malformed bound is still refused
    with Trello's 400."""
    rng = random.Random(cursor)
    w = big.world
    every = sorted(dict.keys(w.cards))
    for _ in range(300):
        which = rng.choice(("all", "open", "closed", "visible", "none"))
        params: dict[str, str] = {"limit": str(rng.choice((1, 7, 100, 1000)))}
        for name in ("before", "since"):
            if rng.random() < 0.7:
                params[name] = _bound(rng, w, every)
        call = Call(w, big.lead, {"id": big.board.id, "filter": which}, params, cursor)
        got = [c["id"] for c in endpoints.board_cards(call)]
        assert got == _reference(w, big.board.id, which, params, cursor == "exact"), params
    bad = Call(w, big.lead, {"id": big.board.id}, {"limit": "5", "since": "soon"}, cursor)
    with pytest.raises(TrelloError) as refused:
        endpoints.board_cards(bad)
    assert (refused.value.status, refused.value.body) == (400, "invalid value for since")


def test_a_page_of_actions_makes_each_member_once(
    big: _Big, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A page of 1,000 actions as the tool asks for it (its fields, its member fields) makes
    the embedded member object of each member once, not once per action, and leaves out the
    keys not asked for; each action still carries its own copy."""
    made = 0
    plain = render.member_in_action

    def counted(member: Member) -> JSON:
        nonlocal made
        made += 1
        return plain(member)

    monkeypatch.setattr(render, "member_in_action", counted)
    params = {
        "limit": "1000",
        "fields": "id,idMemberCreator,type,date,data",
        "member_fields": "fullName,username",
        "memberCreator_fields": "fullName,username",
    }
    page = endpoints.board_actions(Call(big.world, big.lead, {"id": big.board.id}, params))
    assert len(page) == 1000
    assert made == 1  # one member made all of them
    first, second = page[0], page[1]
    envelope = ["id", "idMemberCreator", "data", "type", "date", "appCreator", "memberCreator"]
    assert list(first) == envelope
    assert first["memberCreator"] == {"id": big.lead, "fullName": "Lea Lead", "username": "lead"}
    assert first["memberCreator"] is not second["memberCreator"]


def test_dates_keep_trellos_text_on_the_fast_path() -> None:
    """``iso`` gives Trello's text, milliseconds cut not rounded, from any zone, the year in
    four digits before 1000 too (JavaScript's ``toISOString``; strftime's ``999-…`` was refused
    by the plan schema: R43b)."""
    cases = {
        datetime(2021, 7, 10, 17, 1, 58, 636999, tzinfo=UTC): "2021-07-10T17:01:58.636Z",
        datetime(2021, 7, 10, 19, 1, 58, tzinfo=timezone(timedelta(hours=2))): (
            "2021-07-10T17:01:58.000Z"
        ),
        datetime(1000, 1, 1, tzinfo=UTC): "1000-01-01T00:00:00.000Z",
        datetime(9999, 12, 31, 23, 59, 59, 999999, tzinfo=UTC): "9999-12-31T23:59:59.999Z",
    }
    for when, text in cases.items():
        assert iso(when) == text
        assert iso(when) == when.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.") + (
            f"{when.astimezone(UTC).microsecond // 1000:03d}Z"
        )
    assert iso(datetime(999, 5, 6, 7, 8, 9, 10000, tzinfo=UTC)) == "0999-05-06T07:08:09.010Z"


def _raw(sb: Sandbox, request: bytes) -> bytes:
    """Send one raw request on a fresh connection and read until the server closes it."""
    host, port = sb.base_url.split("//")[1].split("/")[0].split(":")
    with socket.create_connection((host, int(port)), timeout=10) as conn:
        conn.sendall(request)
        chunks = []
        while chunk := conn.recv(65536):
            chunks.append(chunk)
    return b"".join(chunks)


def test_an_answer_is_one_write_with_the_usual_bytes(
    sandbox: Sandbox, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Each answer (a read, a write, a refusal) leaves in one write to the socket, not its head
    and its body apart; the bytes are the stdlib's: status line, ``Server``, ``Date``, the
    content headers, Trello's rate headers, a blank line, the body."""
    writes = 0
    writer: Any = vars(socketserver)["_SocketWriter"]  # what wfile is (wbufsize 0)
    plain = writer.write
    port = urlsplit(sandbox.base_url).port

    def counted(self: Any, data: bytes) -> int:
        nonlocal writes
        # This sandbox's only: another test's server may still be answering in its thread.
        if self._sock.getsockname()[1] == port:
            writes += 1
        return int(plain(self, data))

    monkeypatch.setattr(writer, "write", counted)
    s = sandbox.session()
    card, member = sandbox.ids["c4"], sandbox.ids["cai"]
    answers = [
        s.get(f"{sandbox.base_url}/boards/{sandbox.ids['team']}/cards/all", timeout=10),
        s.post(f"{sandbox.base_url}/cards/{card}/idMembers", json={"value": member}, timeout=10),
        s.get(f"{sandbox.base_url}/cards/{'f' * 24}", timeout=10),
    ]
    assert [r.status_code for r in answers] == [200, 200, 404]
    assert writes == 3
    auth = sandbox.header()["Authorization"]
    raw = _raw(
        sandbox,
        f"GET /1/members/me?fields=username HTTP/1.1\r\nHost: x\r\nAuthorization: {auth}\r\n"
        "Connection: close\r\n\r\n".encode(),
    )
    head, _, body = raw.partition(b"\r\n\r\n")
    lines = head.decode("latin-1").split("\r\n")
    assert lines[0] == "HTTP/1.1 200 OK"
    assert [line.split(":")[0] for line in lines[1:]] == [
        "Server",
        "Date",
        "Content-Type",
        "Content-Length",
        "x-rate-limit-api-token-interval-ms",
        "x-rate-limit-api-token-max",
        "x-rate-limit-api-token-remaining",
        "x-rate-limit-api-key-interval-ms",
        "x-rate-limit-api-key-max",
        "x-rate-limit-api-key-remaining",
    ]
    assert lines[2].endswith(" GMT")
    assert lines[3] == "Content-Type: application/json; charset=utf-8"
    assert lines[4] == f"Content-Length: {len(body)}"
    assert json.loads(body) == {"id": sandbox.ids["lead"], "username": "lead"}


def test_the_worlds_served_are_kept_out_of_the_collectors_walks(
    sandbox_factory: SandboxFactory,
) -> None:
    """While a sandbox serves, the objects made before it started (its world) are frozen out of
    the cyclic collector's walks (a full collection of a 20,000-card world stops every request
    for a third of a second); the last server to stop gives them back, and a freeze someone
    else made is left alone."""

    def walked(obj: object) -> bool:
        return any(o is obj for o in gc.get_objects())

    if FROZEN_AT_START:
        pytest.skip("this Python froze objects of its own at start (3.12.1)")
    assert gc.get_freeze_count() == 0
    first, second = _Big(10), _Big(10)
    assert walked(first.world.cards)
    one = sandbox_factory(first)
    assert not walked(first.world.cards)
    assert not walked(second.world.cards)  # made before: frozen too
    two = sandbox_factory(second)
    one.close()
    assert not walked(first.world.cards)  # the other still serves
    two.close()
    assert gc.get_freeze_count() == 0
    assert walked(first.world.cards)
    mine = _Big(10)  # frozen by someone else, before the server starts
    gc.freeze()
    try:
        assert not walked(mine.world.cards)
        three = sandbox_factory(_Big(10))
        three.close()
        # Still frozen: the server did not unfreeze what it had not frozen. (Not by
        # ``get_freeze_count``: frozen objects that die meanwhile, a finished thread's, leave
        # the count.)
        assert not walked(mine.world.cards)
        assert gc.get_freeze_count() > 0
    finally:
        gc.unfreeze()
