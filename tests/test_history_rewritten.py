"""The kept history notices when the board feed it extends is not the one it was built from.

A re-plan reads the store's last minute again (the overlap); Trello's feeds only grow at the
head, so every one of those actions comes back. When one does not — a second sandbox started
with the same seed (the same board ids, without the first one's newest actions), actions
removed from the feed — the store is read whole again, with one warning naming the board, and
the plan is the cold plan's (the plan memo, keyed on the store's generation, misses). The
ordinary re-plan still sends one actions request per board (``test_history_store.py`` pins the
counts across new incidents), and an action exactly at the overlap's lower edge, which Trello's
exclusive ``since`` leaves out, is no such sign."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from click.testing import Result

from trello_restore.history_feed import Feed
from trello_restore.history_store import VERSION
from trello_restore.sandbox.scenario import Scenario, generate
from trello_restore.sandbox.server import SandboxOptions, SandboxServer

from .conftest import Sandbox, SandboxFactory, sandbox_cli
from .test_history_store import _actions_requests, _fast, _home

SEED, CARDS = 23, 40
WARNING = "does not match Trello's"


def _add_and_remove(s: Scenario, start: datetime) -> tuple[str, str]:
    """A member added to a team card and removed again by the mover (as an apply and its undo
    would), from ``start``: the card as it was, a removal the planner restores. The two
    actions' ids."""
    w = s.world
    card, member = next(
        (c, m)
        for c in sorted(w.cards.values(), key=lambda c: c.id)
        if c.id_board == s.team.id and not c.closed
        for m in sorted(w.boards[s.team.id].memberships)
        if m not in c.id_members
    )
    added = w.add_member_to_card(card.id, member, s.mover.id, start)
    removed = w.remove_member_from_card(card.id, member, s.mover.id, start + timedelta(seconds=2))
    return added.id, removed.id


def _plan(invoke: Callable[..., Result], *extra: str) -> tuple[dict[str, Any], list[str]]:
    """A JSON dry run's plan (without its date) and the warnings of the kept history."""
    s = generate(SEED, CARDS)  # the same ids in every world of the seed
    args = (*_fast(_home()), "--board", s.team.id, "--since", s.incident_at.isoformat())
    result = invoke(*args, "--dry-run", "--format", "json", *extra)
    assert result.exit_code == 0, result.output
    plan: dict[str, Any] = json.loads(result.stdout)
    plan.pop("created_at", None)
    plan.pop("clock_skew_s", None)  # to about a second, as each run saw it
    return plan, [x for x in result.stderr.splitlines() if WARNING in x]


@pytest.fixture
def restartable() -> Iterator[Callable[[Scenario, int], Sandbox]]:
    """``serve(scenario, port)``: a sandbox on that port (0: any), as ``sandbox serve`` would
    be started again on the same address; stopped at teardown."""
    started: list[Sandbox] = []

    def serve(s: Scenario, port: int) -> Sandbox:
        server = SandboxServer(s.world, SandboxOptions(time_scale=100), port=port)
        server.start()
        started.append(Sandbox(server, s.world, s.key, s.token))
        return started[-1]

    yield serve
    for sb in started:
        sb.close()


def test_a_restarted_sandbox_with_the_same_ids_is_read_whole_with_one_warning(
    restartable: Callable[[Scenario, int], Sandbox], monkeypatch: pytest.MonkeyPatch
) -> None:
    """The review's case: a plan kept world A's history (an apply and its undo among its newest
    actions); a second sandbox on the same address serves world B, the same seed without them.
    The plan against B warns once, naming the board, reads its history whole, and is B's cold
    plan (not A's, which restores the undone member); the next run is quiet and the same."""
    a, b = generate(SEED, CARDS), generate(SEED, CARDS)
    assert a.team.id == b.team.id
    assert a.world.last_time == b.world.last_time
    _add_and_remove(a, a.world.last_time + timedelta(seconds=30))
    first = restartable(a, 0)
    invoke = sandbox_cli(first, monkeypatch)
    on_a, quiet = _plan(invoke)
    assert not quiet
    first.close()
    second = restartable(b, first.server.port)
    assert second.base_url == first.base_url
    cold, _ = _plan(invoke, "--no-cache")
    assert on_a != cold, "A's newest actions change the plan"
    log = second.server.request_log
    before = len(log)
    on_b, warned = _plan(invoke)
    assert len(warned) == 1, warned
    assert f'board "{b.team.name}" ({b.team.id})' in warned[0]
    assert "2 of its newest actions are no longer in the board's feed" in warned[0]
    assert "read from Trello in full again" in warned[0]
    team = _actions_requests(log[before:])[f"boards/{b.team.id}"]
    assert any("since" not in r.query_names for r in team), "read whole again"
    assert on_b == cold
    again, warned = _plan(invoke)
    assert not warned
    assert again == cold


def test_an_action_removed_from_the_feed_rebuilds_the_store_and_misses_the_memo(
    sandbox_factory: SandboxFactory, monkeypatch: pytest.MonkeyPatch
) -> None:
    """One of the newest actions gone from the board's feed between two runs (nothing else
    changed: the plan memo's key would match but for the store's generation): one warning, the
    store and its head written anew, the cold plan; then quiet, one request per board."""
    s = generate(SEED, CARDS)
    _, removal = _add_and_remove(s, s.world.last_time + timedelta(seconds=30))
    sb = sandbox_factory(s, time_scale=100)
    invoke = sandbox_cli(sb, monkeypatch)
    kept, _ = _plan(invoke)
    head = _home() / "cache" / "boards" / s.team.id / f"history.v{VERSION}.head.json"
    generation = json.loads(head.read_text())["generation"]
    feed = s.world.board_feed[s.team.id]
    feed.remove(next(x for x in feed if x.id == removal))
    cold, _ = _plan(invoke, "--no-cache")
    assert kept != cold, "the removal was planned"
    rebuilt, warned = _plan(invoke)
    assert len(warned) == 1, warned
    assert "1 of its newest actions is no longer" in warned[0]
    assert rebuilt == cold
    assert json.loads(head.read_text())["generation"] != generation
    before = len(sb.server.request_log)
    again, warned = _plan(invoke)
    assert not warned
    assert again == cold
    used = _actions_requests(sb.server.request_log[before:])
    assert all(len(rs) == 1 and "since" in rs[0].query_names for rs in used.values()), used


def test_an_action_at_the_overlaps_lower_edge_is_not_a_sign(
    sandbox_factory: SandboxFactory, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The store's last minute holds an action exactly ``OVERLAP`` before the newest, which
    Trello's exclusive ``since`` does not give again: no warning, one request per board."""
    s = generate(SEED, CARDS)
    start = s.world.last_time + timedelta(seconds=30)
    _, edge = _add_and_remove(s, start)  # the removal at start + 2 s
    _add_and_remove(s, start + timedelta(seconds=60))  # the newest: a minute after it
    sb = sandbox_factory(s, time_scale=100)
    invoke = sandbox_cli(sb, monkeypatch)
    first, _ = _plan(invoke)
    head = _home() / "cache" / "boards" / s.team.id / f"history.v{VERSION}.head.json"
    assert edge in json.loads(head.read_text())["recent"], "the edge is in the last minute"
    before = len(sb.server.request_log)
    again, warned = _plan(invoke)
    assert not warned
    assert again == first
    used = _actions_requests(sb.server.request_log[before:])
    assert all(len(rs) == 1 for rs in used.values()), used


def _action(i: int, at: datetime) -> dict[str, Any]:
    return {
        "id": f"{i:024x}",
        "type": "updateCard",
        "date": at.isoformat(timespec="milliseconds").replace("+00:00", "Z"),
        "idMemberCreator": "m" * 24,
        "data": {"card": {"id": "c" * 24}, "board": {"id": "b" * 24}, "old": {"desc": ""}},
    }


def test_lost_counts_what_the_overlap_must_give_again_across_pages() -> None:
    """``Feed.lost``: the store's recent ids a second or more after ``since`` that no page
    gave again, whichever page they came in; those within the first second of ``since`` (which
    Trello's by-second ``since`` may leave out) and none at all without a ``since``."""
    since = datetime(2026, 1, 1, 12, 0, 0, 500_000, tzinfo=UTC)
    recent = {f"{i:024x}": since + timedelta(seconds=s) for i, s in enumerate((0.3, 1, 30, 60))}
    feed = Feed(skip=recent)
    feed.add([_action(3, since + timedelta(seconds=60)), _action(9, since + timedelta(seconds=61))])
    assert feed.lost(recent, since) == [f"{1:024x}", f"{2:024x}"]
    feed.add([_action(2, since + timedelta(seconds=30))])  # the next page
    assert feed.lost(recent, since) == [f"{1:024x}"]
    feed.add([_action(1, since + timedelta(seconds=1))])
    assert feed.lost(recent, since) == []
    assert Feed(skip=recent).lost(recent, None) == []
    assert Feed().lost({}, since) == []
