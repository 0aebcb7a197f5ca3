"""The incremental history (issue 12 item 2): each board's parsed history kept in the cache
directory, a re-plan asking Trello only for newer actions, over real HTTP against the sandbox.

A plan from the store equals a cold plan (no store at all, and a fresh store) after new
incidents between the runs, for the member restore and for ``--restore all`` with the second
damage; a re-plan on unchanged history sends one actions request per board; changing
``--restore`` reads no history again; the store is 0600, versioned and rebuilt (with one
notice) when it cannot be used; ``--no-cache`` and ``--refresh-history``."""

from __future__ import annotations

import contextlib
import gzip
import json
import os
import random
import shutil
import sqlite3
import threading
from collections.abc import Callable
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import orjson
import pytest
from click.testing import Result

from trello_restore.history import action_filter, parse_history
from trello_restore.history_feed import Feed
from trello_restore.history_store import (
    CLASSES,
    VERSION,
    BoardHistory,
    HistoryStore,
    Part,
    _digest,
    action_class,
    classes_for,
    merge_parts,
    to_history,
    union_filter,
)
from trello_restore.models import RESTORE_KINDS, RestoreKind
from trello_restore.plan_request import build_request
from trello_restore.planfile import PlanDict, plan_to_dict
from trello_restore.run import make_plan
from trello_restore.sandbox.scenario import Scenario, generate
from trello_restore.sandbox.server import RequestRecord

from .conftest import Sandbox, SandboxFactory, sandbox_cli

NOW = datetime(2026, 11, 26, tzinfo=UTC)
ALL: tuple[RestoreKind, ...] = RESTORE_KINDS
#: The sandbox runs at ``time_scale=100``: Trello's 10 s rate window lasts 0.1 s.
WINDOW_S = 0.1


def _plan(
    sb: Sandbox, s: Scenario, name: str, history_dir: Path | None, kinds: tuple[str, ...]
) -> PlanDict:
    """Option set ``name``'s window (with ``kinds``) planned over HTTP, through the store in
    ``history_dir`` (None: no store, as ``--no-cache``)."""
    o = s.option_sets()[name]
    request = build_request(
        boards=(s.team.id,),
        exports=(),
        since=o.since.isoformat(),
        until=None,
        now=NOW,
        mode=o.mode,
        removed_by=None,
        only_recorded=o.only_recorded,
        add_to_board=o.add_to_board,
        api_url=sb.base_url,
        key=sb.key,
        token=sb.token,
        restore=kinds,
    )
    fast = replace(request, history_dir=history_dir, window_s=WINDOW_S)
    result = make_plan(fast, created_at=NOW)
    doc = plan_to_dict(result.plan, result.meta)
    doc.pop("clock_skew_s", None)  # to about a second, as each run saw it
    return doc


def _actions_requests(log: list[RequestRecord]) -> dict[str, list[RequestRecord]]:
    """The action feed requests of a request log, by board (``cards/<id>`` for a card's)."""
    out: dict[str, list[RequestRecord]] = {}
    for r in log:
        parts = r.path.strip("/").split("/")
        if parts[-1] == "actions":
            out.setdefault("/".join(parts[-3:-1]), []).append(r)
    return out


def _new_incident(s: Scenario, rng: random.Random) -> None:
    """New history after a run: a removal in the same second as the newest action (the
    store's overlap), a member added, a list moved to the archive board stripping members, a
    card with member history deleted, a description edited and a card archived and renamed by
    the culprit (the second damage's kinds)."""
    w, mover = s.world, s.mover.id
    culprit = s.culprit.id if s.culprit is not None else mover
    scope = set(s.scope)
    cards = sorted(
        (c for c in w.cards.values() if c.id_board in scope and not c.closed), key=lambda c: c.id
    )
    victim, adder, doomed, edited, closed = rng.sample([c for c in cards if c.id_members], 5)
    first = w.last_time + timedelta(milliseconds=1)
    w.remove_member_from_card(victim.id, victim.id_members[0], mover, first)
    at = first + timedelta(minutes=3)
    missing = sorted(set(w.boards[adder.id_board].memberships) - set(adder.id_members))
    if missing:
        w.add_member_to_card(adder.id, missing[0], mover, at)
    w.delete_card(doomed.id, mover, at + timedelta(seconds=4))
    w.set_card_field(edited.id, "desc", "edited after the run", culprit, at + timedelta(seconds=5))
    w.set_card_field(closed.id, "name", "renamed after the run", culprit, at + timedelta(seconds=6))
    w.set_card_closed(closed.id, True, culprit, at + timedelta(seconds=7))
    taken = {victim.id, adder.id, doomed.id, edited.id, closed.id}
    lists = sorted(
        {c.id_list for c in cards if c.id_board == s.team.id and c.id_members and c.id not in taken}
    )
    if lists:
        w.move_list_to_board(rng.choice(lists), s.archive.id, mover, at + timedelta(seconds=9))


@pytest.mark.parametrize("seed", [11, 12, 13])
def test_plan_from_the_store_equals_a_cold_plan_across_new_incidents(
    sandbox_factory: SandboxFactory, tmp_path: Path, seed: int
) -> None:
    """Built, then extended after a new incident, then extended after another: each time the
    store's plan equals the plan made without a store and the plan made from a fresh store,
    for the member restore (sets a and d) and ``--restore all`` (sets g and h); the store
    built by a member-only run serves ``--restore all`` without reading the history again."""
    s = generate(seed, 60, second_damage=True)
    sb = sandbox_factory(s, time_scale=100)
    rng = random.Random(seed)
    store = tmp_path / "store"
    for step in range(3):
        if step:
            _new_incident(s, rng)
        for name, kinds in (("a", ("members",)), ("d", ("members",)), ("g", ALL), ("h", ALL)):
            before = len(sb.server.request_log)
            kept = _plan(sb, s, name, store, kinds)
            used = _actions_requests(sb.server.request_log[before:])
            if step or name != "a":  # the store exists: one request per board, since= the newest
                assert all(len(rs) == 1 for rs in used.values()), used
                assert all("since" in rs[0].query_names for rs in used.values())
            cold = _plan(sb, s, name, None, kinds)
            fresh = _plan(sb, s, name, tmp_path / f"fresh-{step}-{name}", kinds)
            assert kept == cold, (step, name)
            assert kept == fresh, (step, name)
    assert kept["changes"], "the scenario restores something"


def test_a_replan_on_unchanged_history_sends_one_actions_request_per_board(
    sandbox_factory: SandboxFactory, monkeypatch: pytest.MonkeyPatch
) -> None:
    """From the command line: a cold dry run pages each board's long history; the second
    run asks each board once (``since=``), reads no card's feed, and writes no store again;
    a third with another ``--restore`` also asks once; ``--refresh-history`` pages it all
    again; ``--no-cache`` pages it all and neither reads nor writes the store."""
    s = generate(21, 60, history_actions=2500)
    sb = sandbox_factory(s, time_scale=100)
    invoke = sandbox_cli(sb, monkeypatch)
    home = _home()
    args = (*_fast(home), "--board", s.team.id, "--since", s.incident_at.isoformat(), "--dry-run")
    log = sb.server.request_log

    def run(*extra: str) -> dict[str, list[RequestRecord]]:
        before = len(log)
        result = invoke(*args, *extra)
        assert result.exit_code == 0, result.output
        return _actions_requests(log[before:])

    cold = run()
    team = f"boards/{s.team.id}"
    assert len(cold[team]) > 2, "the team board's history takes several pages"
    stores = sorted((home / "cache" / "boards").glob(f"*/history.v{VERSION}.json.gz"))
    assert {p.parent.name for p in stores} == {k.split("/")[1] for k in cold if "boards" in k}
    for path in stores:
        assert path.stat().st_mode & 0o777 == 0o600
        assert path.parent.stat().st_mode & 0o777 == 0o700
        assert path.parent.parent.stat().st_mode & 0o777 == 0o700  # boards/ too
    written = {p: p.stat().st_mtime_ns for p in stores}
    again = run()
    assert set(again) == {k for k in cold if k.startswith("boards/")}
    assert all(len(rs) == 1 and "since" in rs[0].query_names for rs in again.values()), again
    assert {p: p.stat().st_mtime_ns for p in stores} == written, "nothing new: nothing written"
    other = run("--restore", "all", "--by", s.mover.username)
    assert all(len(rs) == 1 for rs in other.values()), other
    refreshed = run("--refresh-history")  # from Trello: the HTTP cache serves no page either
    assert len(refreshed[team]) == len(cold[team])
    assert "since" not in refreshed[team][0].query_names
    for path in stores:
        path.unlink()
    uncached = run("--no-cache")
    assert len(uncached[team]) == len(cold[team])
    assert not any(p.exists() for p in stores), "--no-cache writes no store"


def test_action_pages_are_not_kept_in_the_http_cache(
    sandbox_factory: SandboxFactory, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The stores hold what the action pages say: after a cold dry run of a board with several
    pages of history, the HTTP cache (the SQLite file beside the stores) holds the state's
    answers but no actions page."""
    s = generate(21, 60, history_actions=2500)
    sb = sandbox_factory(s, time_scale=100)
    invoke = sandbox_cli(sb, monkeypatch)
    home = _home()
    args = (*_fast(home), "--board", s.team.id, "--since", s.incident_at.isoformat(), "--dry-run")
    before = len(sb.server.request_log)
    result = invoke(*args)
    assert result.exit_code == 0, result.output
    assert len(_actions_requests(sb.server.request_log[before:])[f"boards/{s.team.id}"]) > 2
    [db] = (home / "cache").glob("http-*.sqlite")
    with contextlib.closing(sqlite3.connect(db)) as con:
        kept = [str(v) for (v,) in con.execute("select value from responses")]
    assert kept, "the state's answers are cached"
    assert not [v for v in kept if "/actions" in v]


@pytest.mark.parametrize(
    ("damage", "why"),
    [
        (lambda p: p.write_bytes(b"not gzip at all"), "damaged"),
        (lambda p: p.write_bytes(gzip.compress(b'{"format": 1')), "damaged"),
        (lambda p: _rewrite(p, version=0), "format version 0"),
        (lambda p: _rewrite(p, filter="addMemberToCard"), "other actions"),
        (lambda p: _rewrite(p, parts={}), "damaged"),
        (lambda p: _rewrite(p, newest=["2024-01-01T00:00:00", "a" * 24]), "damaged"),
        (lambda p: _rewrite(p, newest=["2024-01-01T00:00:00+00:00"]), "damaged"),  # R51a
        (lambda p: _naive_row_date(p), "damaged"),
        (lambda p: _rewrite(p, board="5" * 24), "holds board"),
        (lambda p: _rewrite(p, format="something else"), "not a history store"),
        (lambda p: _rewrite(p, newest=["2090-01-01T00:00:00+00:00", "f" * 24]), "in the future"),
    ],
)
def test_a_store_that_cannot_be_used_is_rebuilt_with_one_notice(
    sandbox_factory: SandboxFactory,
    monkeypatch: pytest.MonkeyPatch,
    damage: Any,
    why: str,
) -> None:
    """A damaged, old-format, foreign or other-filter store: one warning line naming the file
    and why, the board's history read whole again, the same plan, and a good store after. (The
    plan memo is removed first: with nothing new, the memo's plan would be used and no body
    read, which ``test_plan_memo.py`` covers.)"""
    s, sb, invoke, args, first = _first_dry_run(sandbox_factory, monkeypatch)
    home = _home()
    path = home / "cache" / "boards" / s.team.id / f"history.v{VERSION}.json.gz"
    damage(path)
    _rebuilt_once(s, sb, invoke, args, first, path, why)


def _rebuilt_once(
    s: Scenario,
    sb: Sandbox,
    invoke: Callable[..., Result],
    args: tuple[str, ...],
    first: Result,
    path: Path,
    why: str,
    between: Callable[[], None] = lambda: None,
) -> None:
    """With the plan memo removed, the dry run ``args`` again: one notice naming ``path`` and
    ``why``, the board's history read whole, ``first``'s plan; ``between`` holds, and the next
    run says nothing of the store."""
    shutil.rmtree(_home() / "cache" / "plans")
    before = len(sb.server.request_log)
    second = invoke(*args, "--format", "json")
    assert second.exit_code == 0, second.output
    notices = [x for x in second.stderr.splitlines() if "history store" in x]
    assert len(notices) == 1, second.stderr
    assert str(path) in notices[0], notices
    assert why in notices[0], notices
    team = _actions_requests(sb.server.request_log[before:])[f"boards/{s.team.id}"]
    assert any("since" not in r.query_names for r in team), "read whole again"
    assert _without_dates(second.stdout) == _without_dates(first.stdout)
    between()
    third = invoke(*args)
    assert third.exit_code == 0, third.output
    assert "history store" not in third.stderr, third.stderr


def _first_dry_run(
    sandbox_factory: SandboxFactory, monkeypatch: pytest.MonkeyPatch
) -> tuple[Scenario, Sandbox, Callable[..., Result], tuple[str, ...], Result]:
    """A small scenario's cold dry run over the command line (JSON plan, the history kept in
    ``_home()``'s cache): the scenario, its sandbox, the invoker, the dry run's arguments and
    its result."""
    s = generate(23, 40)
    sb = sandbox_factory(s, time_scale=100)
    invoke = sandbox_cli(sb, monkeypatch)
    since = s.incident_at.isoformat()
    args = (*_fast(_home()), "--board", s.team.id, "--since", since, "--dry-run")
    first = invoke(*args, "--format", "json")
    assert first.exit_code == 0, first.output
    return s, sb, invoke, args, first


def _home() -> Path:
    """conftest's ``TRELLO_RESTORE_HOME`` of this test (state and cache under it)."""
    return Path(os.environ["TRELLO_RESTORE_HOME"])


def _fast(home: Path) -> tuple[str, str]:
    """``--config`` of a file that sets the rate window to the sandbox's time scale."""
    path = home.parent / "fast.toml"
    path.write_text(f"[limits]\nwindow_seconds = {WINDOW_S}\n")
    return ("--config", str(path))


def _rewrite(path: Path, **changes: Any) -> None:
    doc = json.loads(gzip.decompress(path.read_bytes()))
    doc.update(changes)
    path.write_bytes(gzip.compress(json.dumps(doc).encode()))


def _naive_row_date(path: Path) -> None:
    """One member action's date without its zone, the rest of the store intact."""
    doc = json.loads(gzip.decompress(path.read_bytes()))
    row = doc["parts"]["base"]["member_actions"][0]
    at = next(i for i, x in enumerate(row) if isinstance(x, str) and x[:2] == "20" and "T" in x)
    row[at] = row[at][:19]
    path.write_bytes(gzip.compress(json.dumps(doc).encode()))


def _without_dates(text: str) -> dict[str, Any]:
    doc: dict[str, Any] = json.loads(text)
    doc.pop("created_at", None)
    doc.pop("clock_skew_s", None)  # to about a second, as each run saw it
    return doc


# ------------------------------------------------------------------- pieces, without HTTP


def _feed_actions(sb: Sandbox, board_id: str) -> list[dict[str, Any]]:
    """A board's whole feed under the union filter, as Trello answers it (newest first)."""
    out: list[dict[str, Any]] = []
    before: str | None = None
    while True:
        params = {"filter": union_filter(), "limit": "1000"}
        if before:
            params["before"] = before
        page: list[dict[str, Any]] = sb.get(f"/boards/{board_id}/actions", **params).json()
        out += page
        if len(page) < 1000:
            return out
        before = page[-1]["id"]


def _with_list_archived(s: Scenario) -> Scenario:
    """The scenario with a team list archived (an ``updateList``: the ``lists`` class)."""
    lst = min(x.id for x in s.world.lists.values() if x.id_board == s.team.id and not x.closed)
    s.world.set_list_closed(lst, True, s.mover.id)
    return s


def test_classes_select_what_each_kinds_filter_selects(sandbox_factory: SandboxFactory) -> None:
    """For every set of restore kinds, the actions the sandbox serves for the kinds' own filter
    are exactly the union feed's actions of ``classes_for(kinds)``: a store built with the
    union plans from what a cold fetch with the kinds' filter reads."""
    s = _with_list_archived(generate(31, 60, second_damage=True))
    sb = sandbox_factory(s)
    union = _feed_actions(sb, s.team.id)
    assert {action_class(a) for a in union} == set(CLASSES)
    for n in range(1, len(ALL) + 1):
        for kinds in {tuple(sorted(random.Random(n * 7 + i).sample(ALL, n))) for i in range(6)}:
            served = sb.get(
                f"/boards/{s.team.id}/actions", filter=",".join(action_filter(kinds)), limit=1000
            ).json()
            chosen = classes_for(kinds)
            assert {a["id"] for a in served} == {
                a["id"] for a in union if action_class(a) in chosen
            }, kinds


def test_merged_parts_equal_one_parse_of_every_action(sandbox_factory: SandboxFactory) -> None:
    """A feed parsed in overlapping chunks (each its own ``Feed``, some actions in two),
    stored and read back, merged: the same ``History`` as one parse of every action, for every
    class choice; a store extended chunk by chunk keeps the newest and the overlap's ids."""
    s = _with_list_archived(generate(32, 60, second_damage=True))
    sb = sandbox_factory(s)
    actions = _feed_actions(sb, s.team.id) + _feed_actions(sb, s.archive.id)
    rng = random.Random(5)
    chunks = [actions[i : i + 40] + rng.sample(actions, 10) for i in range(0, len(actions), 40)]
    parts = []
    for chunk in chunks:
        feed = Feed()
        feed.add(chunk)
        stored = json.loads(orjson.dumps({k: p.to_json() for k, p in feed.parts().items()}))
        parts.append({k: Part.from_json(stored[k]) for k in CLASSES})
    for kinds in (("members",), ("archived",), ("fields",), ALL):
        chosen = classes_for(kinds)
        expected = parse_history(a for a in actions if action_class(a) in chosen)
        got = to_history(merge_parts(p[k] for p in reversed(parts) for k in chosen))
        assert got == replace(expected, card_lists=tuple(sorted(set(expected.card_lists))))
    oldest_first = sorted(actions, key=lambda a: (a["date"], a["id"]))
    history = BoardHistory.built(s.team.id, union_filter(), Feed())
    for i in range(0, len(oldest_first), 50):
        feed = Feed(skip=history.recent)
        feed.add(oldest_first[max(0, i - 5) : i + 50])  # five actions again: the overlap
        history = history.extended(feed)
    assert history.newest is not None
    assert history.newest[1] == oldest_first[-1]["id"]
    assert set(history.recent) == {
        a["id"]
        for a in actions
        if datetime.fromisoformat(a["date"].replace("Z", "+00:00")) >= history.since()  # type: ignore[operator]
    }
    whole = parse_history(actions)
    assert to_history(merge_parts(history.parts.values())).member_actions == whole.member_actions
    # An empty part adds nothing and costs nothing: the other is the merge, not walked again.
    one = parts[0]["base"]
    assert not one.empty()
    assert Part().empty()
    assert merge_parts([one, Part()]) is one
    assert merge_parts([Part(), one, Part()]) is one
    assert merge_parts([Part(), Part()]).empty()


def test_a_head_from_the_future_is_ignored(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    """A head (checksum intact) whose newest action is dated beyond tomorrow would have the
    next runs ask Trello only for actions newer than that, hiding every real one until
    ``--refresh-history``: it is ignored with the notice, and the body is read instead."""
    store = HistoryStore(tmp_path)
    soon = datetime.now(UTC) + timedelta(hours=12)  # Trello's clock may be ahead of this one
    for newest, kept in ((soon, True), (datetime(2090, 1, 1, tzinfo=UTC), False)):
        history = BoardHistory.built("b" * 24, "f", Feed())
        history = replace(history, newest=(newest, "a" * 24), recent={"a" * 24: newest})
        assert store.save_head(history)
        caplog.clear()
        head = store.load_head("b" * 24, "f")
        assert (head is not None) == kept
        assert ("dated in the future" in caplog.text) == (not kept), caplog.text


def test_a_head_whose_newest_is_short_is_ignored(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    """R51a: a head whose checksum is right (a bug's, or an edit's) and whose newest action
    lacks its id was an internal error (IndexError), not the notice and the body read."""
    store = HistoryStore(tmp_path)
    newest = datetime(2025, 1, 1, tzinfo=UTC)
    history = BoardHistory.built("b" * 24, "f", Feed())
    assert store.save_head(replace(history, newest=(newest, "a" * 24)))
    path = store.head_path("b" * 24)
    doc = json.loads(path.read_text())
    doc.pop("sha256")
    doc["newest"] = doc["newest"][:1]
    path.write_text(json.dumps(doc | {"sha256": _digest(doc)}))
    assert store.load_head("b" * 24, "f") is None
    assert "damaged" in caplog.text, caplog.text


def test_writers_at_once_leave_a_whole_store(tmp_path: Path) -> None:
    """Two runs writing one board's store at once, a third reading it meanwhile: every read
    is a whole store (atomic replace), and the file is 0600."""
    feed = Feed()
    store = HistoryStore(tmp_path)
    base = BoardHistory.built("6" * 24, union_filter(), feed)
    errors: list[str] = []
    store.save(base)  # the store exists before the race: a read that finds nothing is wrong

    def write(n: int) -> None:
        for i in range(30):
            store.save(replace(base, recent={f"{n}-{i}-{j}": NOW for j in range(300)}))

    def read() -> None:
        for _ in range(60):
            if store.load("6" * 24, union_filter()) is None:
                errors.append("a read saw half a file")

    threads = [threading.Thread(target=write, args=(n,)) for n in (1, 2)]
    threads.append(threading.Thread(target=read))
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors
    assert store.path("6" * 24).stat().st_mode & 0o777 == 0o600
    assert not [p for p in store.path("6" * 24).parent.iterdir() if p.name.endswith(".tmp")]


def test_a_fetch_keeps_the_history_it_read_before_anything_uses_it(
    sandbox_factory: SandboxFactory, tmp_path: Path
) -> None:
    """Each board's store is written as soon as its history is read, while the rest of the
    fetch is under way, not when the plan first asks for the history: a fetch whose history
    is never used (a run stopped after the fetch) still leaves the stores, and the next fetch
    asks each board once (``since=``), concurrently paged or not."""
    from trello_restore.api import ApiSettings, TrelloApi
    from trello_restore.fetcher import fetch, resolve_boards

    s = generate(21, 60, history_actions=2500)
    sb = sandbox_factory(s)
    settings = ApiSettings(key=sb.key, token=sb.token, api_url=sb.base_url, cache_dir=tmp_path)
    heads: list[str] = []
    save_head = HistoryStore.save_head

    def counted(store: HistoryStore, history: Any) -> bool:
        heads.append(history.board_id)
        return save_head(store, history)

    with pytest.MonkeyPatch.context() as mp, TrelloApi(settings) as api:
        mp.setattr(HistoryStore, "save_head", counted)
        fetched = fetch(api, resolve_boards(api, [s.team.id]), store=HistoryStore(tmp_path))
        fetched.history  # noqa: B018 - and the rest of the fetch writes no head again
        assert fetched.kept is not None
        fetched.kept.settle()
    assert sorted(heads) == sorted(set(heads)), "each board's head written once"
    stores = sorted(tmp_path.glob(f"boards/*/history.v{VERSION}.json.gz"))
    assert s.team.id in {p.parent.name for p in stores}
    assert all(HistoryStore(tmp_path).head_path(p.parent.name).exists() for p in stores)
    before = len(sb.server.request_log)
    with TrelloApi(settings) as api:
        again = fetch(api, resolve_boards(api, [s.team.id]), store=HistoryStore(tmp_path))
        again.history  # noqa: B018 - read while the api is open, as a plan does
    feeds = _actions_requests(sb.server.request_log[before:])
    assert all(len(rs) == 1 and "since" in rs[0].query_names for rs in feeds.values()), feeds


def test_the_card_listing_is_cut_where_the_last_run_found_each_900th_card(
    sandbox_factory: SandboxFactory, tmp_path: Path
) -> None:
    """The next run reads a board's cards in the ranges the last listing was cut at (each 900th
    card, kept beside the store, 0600, and not written again while they stay the same), all at
    once: one request per range, the same cards. A damaged cuts file is only a hint lost: the
    listing is paged as on a first run."""
    from trello_restore.api import ApiSettings, TrelloApi
    from trello_restore.fetcher import fetch, resolve_boards

    s = generate(24, 3000)
    sb = sandbox_factory(s)
    settings = ApiSettings(key=sb.key, token=sb.token, api_url=sb.base_url, cache_dir=tmp_path)
    team_cards = f"/1/boards/{s.team.id}/cards/all"

    def listing() -> tuple[set[str], int]:
        before = len(sb.server.request_log)
        with TrelloApi(settings) as api:
            fetched = fetch(api, resolve_boards(api, [s.team.id]), store=HistoryStore(tmp_path))
        sent = [r for r in sb.server.request_log[before:] if r.path == team_cards]
        return {c.id for c in fetched.state.cards.values() if c.board_id == s.team.id}, len(sent)

    cards, _ = listing()
    path = HistoryStore(tmp_path).cuts_path(s.team.id)
    assert path.stat().st_mode & 0o777 == 0o600
    cuts = HistoryStore(tmp_path).load_cuts(s.team.id)
    assert len(cuts) == (len(cards) - 1) // 900
    written = path.stat()
    again, sent = listing()
    assert again == cards
    assert sent == len(cuts) + 1
    # The same cards, the same cuts: the file is left as it was (not written, synced again).
    assert (path.stat().st_ino, path.stat().st_mtime_ns) == (written.st_ino, written.st_mtime_ns)
    for damage in (
        '{"format": "trello-restore card cuts", "cuts": [1, "x"]}',
        '{"format": "trello-restore card cuts", "cuts": ["2024-01-01T00:00:00"]}',  # no zone
        '{"format": "trello-restore card cuts", "cuts": ["2999-01-01T00:00:00+00:00"]}',
        '{"format": "trello-restore card cuts", "cuts": ["0001-01-01T00:00:00+00:00"]}',
        '["not", "an", "object"]',
        "",
    ):
        path.write_text(damage)
        damaged, _ = listing()
        assert damaged == cards


def test_a_listing_of_fewer_cards_than_a_page_is_not_cut(tmp_path: Path) -> None:
    """A board of 901 to 999 cards is one page: no cut, so the next run reads it in one request,
    not two (R45b: 901 and 58); from a page's worth on, each 900th card as before."""
    store = HistoryStore(tmp_path)

    def ids(n: int) -> list[str]:
        return [f"{0x60000000 + i * 3600:08x}{i:016x}" for i in range(n)]

    for n, cuts in ((959, 0), (999, 0), (1_000, 1), (1_801, 2)):
        store.save_cuts("b1", ids(n))
        assert len(store.load_cuts("b1")) == cuts, n


def test_an_unusable_boards_directory_is_one_notice(
    sandbox_factory: SandboxFactory, monkeypatch: pytest.MonkeyPatch
) -> None:
    """``boards/`` turned into a file gave a notice for each file of each board (head, body,
    the save tried twice: 8 lines at two boards): now one line naming it, the run reads the
    history from Trello, the same plan; fixed, the next run keeps the history again."""
    s, _, invoke, args, first = _first_dry_run(sandbox_factory, monkeypatch)
    home = _home()
    boards = home / "cache" / "boards"
    shutil.rmtree(boards)
    boards.write_text("not a directory")
    second = invoke(*args, "--format", "json")
    assert second.exit_code == 0, second.output
    warnings = [x for x in second.stderr.splitlines() if x.startswith("Warning: ")]
    assert len(warnings) == 1, second.stderr
    assert f"{boards} is a file, not a directory;" in warnings[0]
    assert "until you remove or rename it" in warnings[0]
    assert _without_dates(second.stdout) == _without_dates(first.stdout)
    boards.unlink()
    third = invoke(*args)
    assert third.exit_code == 0, third.output
    assert third.stderr == ""
    assert (boards / s.team.id / f"history.v{VERSION}.json.gz").is_file()


def test_a_board_whose_store_cannot_be_written_is_said_once(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    """A store is tried again with its cards' feeds in the same run: its failure was said
    twice (a new-user review); now once per board and run (here a file stands where its
    directory goes: said as that, test_blocked_paths.py)."""
    store = HistoryStore(tmp_path)
    store.boards_dir.mkdir(parents=True)
    (store.boards_dir / ("b" * 24)).write_text("in the way")
    history = BoardHistory.built("b" * 24, "f", Feed())
    caplog.clear()
    assert not store.save(history)
    assert not store.save(replace(history, generation="another"))
    assert not store.save_head(history)
    said = [r for r in caplog.records if r.levelname == "WARNING"]
    assert len(said) == 1, caplog.text
    in_the_way = store.boards_dir / ("b" * 24)
    assert f"board {'b' * 24} is blocked: {in_the_way} is a file" in said[0].getMessage()


def test_a_store_of_an_earlier_version_is_removed_and_rebuilt_once(
    sandbox_factory: SandboxFactory, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A store left by an earlier version (format 1: its reading could skip actions of a
    crowded second, so what it holds may lack some) is not read: the first run after the
    upgrade says so once, naming the file and why, removes it and its head and card cuts, reads
    the board's history whole and makes the same plan; the next run says nothing."""
    s, sb, invoke, args, first = _first_dry_run(sandbox_factory, monkeypatch)
    home = _home()
    folder = home / "cache" / "boards" / s.team.id
    for path in list(folder.glob(f"*.v{VERSION}.*")):
        path.rename(folder / path.name.replace(f".v{VERSION}.", ".v1."))
    old = folder / "history.v1.json.gz"
    assert old.is_file()
    assert (folder / "history.v1.head.json").is_file()
    old.write_bytes(gzip.compress(b'{"format": "not what a version would read"}'))

    def swept() -> None:
        assert not list(folder.glob("*.v1.*")), sorted(p.name for p in folder.iterdir())
        assert (folder / f"history.v{VERSION}.json.gz").is_file()

    why = "kept by an earlier version of trello-restore"
    _rebuilt_once(s, sb, invoke, args, first, old, why, swept)


def test_stores_of_an_earlier_version_are_said_once_a_run_not_once_a_board(
    sandbox_factory: SandboxFactory, monkeypatch: pytest.MonkeyPatch
) -> None:
    """R48a: after an upgrade that changes the store's version, every board's store was
    rebuilt with a notice of its own: dozens of identical lines for a workspace. One notice,
    for the first board read, says every other store of that version is rebuilt too; each is
    removed and kept anew, and the plan is the same."""
    _, _, invoke, args, first = _first_dry_run(sandbox_factory, monkeypatch)
    boards = _home() / "cache" / "boards"
    folders = sorted(p.parent for p in boards.glob(f"*/history.v{VERSION}.json.gz"))
    assert len(folders) > 1, folders  # the team board's and the boards it follows
    for folder in folders:
        for path in list(folder.glob(f"*.v{VERSION}.*")):
            path.rename(folder / path.name.replace(f".v{VERSION}.", f".v{VERSION - 1}."))
    shutil.rmtree(_home() / "cache" / "plans")
    second = invoke(*args, "--format", "json")
    assert second.exit_code == 0, second.output
    notices = [x for x in second.stderr.splitlines() if "history store" in x]
    assert len(notices) == 1, second.stderr
    assert "kept by an earlier version" in notices[0], notices
    assert "(as is each other store it kept, when a run next reads it)" in notices[0]
    assert _without_dates(second.stdout) == _without_dates(first.stdout)
    for folder in folders:
        assert not list(folder.glob(f"*.v{VERSION - 1}.*")), folder
        assert (folder / f"history.v{VERSION}.json.gz").is_file(), folder
