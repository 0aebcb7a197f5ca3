"""What one write costs the tool, over HTTP against the sandbox (issue 12: the apply at the rate
bound, time-scaled, where every local millisecond counts).

The environment (proxies, CA bundle) is read once per session and origin, not on every request;
writes never touch the HTTP cache; a plan just made is serialized and hashed once per apply, not
once per stage; every request of an apply, ``members/me`` included, goes through the run's one
limiter (one it did not send would read, in Trello's count, as another client's); a write with
its two journal records stays within a budget of Python calls; and workers journaling at once
share fsyncs, each record still on disk before its append returns. Counts, never times.
"""

from __future__ import annotations

import json
import os
import socket
import sys
import threading
import time
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path
from types import FrameType
from typing import Any

import pytest
import requests.sessions
from requests_cache.backends.base import BaseCache

from trello_restore import planfile
from trello_restore.api import MemberStandIn, TrelloApi
from trello_restore.errors import ApiUnreachable
from trello_restore.journal import Journal, JournalHeader, JournalRecord
from trello_restore.kinds import kind_of
from trello_restore.limiter import RateLimiter, TrelloCount
from trello_restore.models import Change, MemberRef
from trello_restore.planfile import plan_digest, plan_from_dict
from trello_restore.run import apply_options, apply_request, run_apply
from trello_restore.runner import Runner
from trello_restore.runner_types import ApplyOptions
from trello_restore.sandbox.scenario import generate

from .applykit import api_for, plan_doc
from .conftest import T0, Sandbox, SandboxFactory, make_world

#: Python calls (functions and builtins) one write may cost in the threads that run it: its
#: ``pending`` record, the request through py-trello, requests and urllib3, the limiter, its
#: outcome record and its report. About 3,150 here; about 5,300 (with some 70 environment
#: variables) when requests read and decoded every environment variable on each request and
#: each record was ``dataclasses.asdict``'d.
CALLS_PER_WRITE = 3_800
PROXY_VARIABLES = ("http_proxy", "https_proxy", "all_proxy", "no_proxy")


def _counting(monkeypatch: pytest.MonkeyPatch, owner: Any, name: str) -> list[object]:
    """Replace ``owner.name`` with a wrapper that records each call (its first argument)."""
    calls: list[object] = []
    real = getattr(owner, name)

    def spy(*args: Any, **kwargs: Any) -> Any:
        calls.append(args[0] if args else None)
        return real(*args, **kwargs)

    monkeypatch.setattr(owner, name, spy)
    return calls


def _no_proxies(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in PROXY_VARIABLES:
        monkeypatch.delenv(name, raising=False)
        monkeypatch.delenv(name.upper(), raising=False)


def _add_and_remove(api: TrelloApi, sb: Sandbox, rounds: int) -> None:
    card, cai = sb.ids["c1"], MemberStandIn(sb.ids["cai"])
    for _ in range(rounds):
        api.add_card_member(card, cai)
        api.remove_card_member(card, cai)


def test_the_environment_is_read_once_per_session(
    sandbox: Sandbox, monkeypatch: pytest.MonkeyPatch
) -> None:
    """requests reads every environment variable (proxies) on each request unless told; the
    transport asks it once per session and origin: 20 writes and 3 reads, one look."""
    _no_proxies(monkeypatch)
    looks = _counting(monkeypatch, requests.sessions, "get_environ_proxies")
    with api_for(sandbox) as api:
        _add_and_remove(api, sandbox, 10)
        for _ in range(3):
            api.get(f"boards/{sandbox.ids['team']}/memberships")
    assert len(sandbox.server.request_log) == 23
    assert len(looks) == 1


def test_proxies_from_the_environment_still_apply(
    sandbox: Sandbox, monkeypatch: pytest.MonkeyPatch
) -> None:
    """What the environment says still holds on every request, not only the first: through a
    proxy that is not there, each write fails as unreachable and none reaches Trello; with the
    API's host in ``NO_PROXY`` they go straight to it."""
    _no_proxies(monkeypatch)
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        closed_port = s.getsockname()[1]
    monkeypatch.setenv("HTTP_PROXY", f"http://127.0.0.1:{closed_port}")
    card, cai = sandbox.ids["c1"], MemberStandIn(sandbox.ids["cai"])
    with api_for(sandbox) as api:
        for _ in range(2):
            with pytest.raises(ApiUnreachable):
                api.add_card_member(card, cai)
    assert sandbox.server.request_log == []
    monkeypatch.setenv("NO_PROXY", "127.0.0.1")
    with api_for(sandbox) as api:
        _add_and_remove(api, sandbox, 1)
    assert [r.status for r in sandbox.server.request_log] == [200, 200]


def test_writes_never_touch_the_http_cache(
    sandbox: Sandbox, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """With an HTTP cache, writes go straight to the network: requests-cache makes no key for
    them and reads and writes nothing of its SQLite file; reads still use it."""
    keys = _counting(monkeypatch, BaseCache, "create_key")
    lookups = _counting(monkeypatch, BaseCache, "get_response")
    with api_for(sandbox, cache_dir=tmp_path / "cache") as api:
        _add_and_remove(api, sandbox, 3)
        assert (keys, lookups) == ([], [])
        board = f"boards/{sandbox.ids['team']}/memberships"
        first = api.get(board)
        assert api.get(board, max_age=60) == first
        assert api.cache_hits == 1
    assert keys
    assert lookups
    assert [r.method for r in sandbox.server.request_log] == ["POST", "DELETE"] * 3 + ["GET"]


@pytest.fixture
def limiters(monkeypatch: pytest.MonkeyPatch) -> list[RateLimiter]:
    """Every limiter the runs make (``ApplyOptions.make_limiter``), as the benchmark counts."""
    made: list[RateLimiter] = []
    real = ApplyOptions.make_limiter

    def make(options: ApplyOptions) -> RateLimiter:
        limiter = real(options)
        made.append(limiter)
        return limiter

    monkeypatch.setattr(ApplyOptions, "make_limiter", make)
    return made


@pytest.fixture
def beyond(monkeypatch: pytest.MonkeyPatch) -> list[tuple[str, int, int]]:
    """Each of Trello's counts that showed more requests than the limiter can have had in
    Trello's window (``RateLimiter._observe``'s ``at most``: those on their way, and those
    answered within a window before the request was sent): (scope, count, at most). A request
    sent past the limiter shows so, whatever the timing; the limiter's estimate (which it
    reads foreign traffic from, with a tolerance of 2) does not: a thread stalled 50 ms on a
    loaded machine while others' requests overtake its own puts it off by more."""
    seen: list[tuple[str, int, int]] = []
    real = RateLimiter._observe

    def observe(
        self: RateLimiter,
        count: TrelloCount,
        ours: tuple[int, int],
        sent: float,
        now: float,
        trip: float,
    ) -> bool:
        if count.used > ours[0]:
            seen.append((count.scope, count.used, ours[0]))
        return real(self, count, ours, sent, now, trip)

    monkeypatch.setattr(RateLimiter, "_observe", observe)
    return seen


def test_an_apply_hashes_its_plan_once_and_paces_every_request(
    sandbox_factory: SandboxFactory,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    limiters: list[RateLimiter],
    beyond: list[tuple[str, int, int]],
) -> None:
    """``apply_request`` + ``run_apply`` of a plan just made: its document is hashed once (not
    again by ``run_apply`` and ``apply_plan``: 0.7 s each for 9,000 changes), the journal is
    the plan's all the same; and every request of the run, ``members/me`` first, goes through
    the run's one limiter: no count of Trello's shows more than it can have sent (``beyond``;
    it asserted that the limiter read no answer as another client's, which one answer in a
    suite run on a loaded machine was: R33 stress run)."""
    s = generate(31, 40)
    sb = sandbox_factory(s, time_scale=100)
    doc = plan_doc(sb, s, "b")
    plan, meta = plan_from_dict(doc)  # as make_plan gives it: no digest yet
    assert meta.digest == ""
    assert plan.changes
    hashed = _counting(monkeypatch, planfile, "plan_digest")
    sb.server.reset_rate_limits()  # the planning's requests: no longer in Trello's window
    mark = len(sb.server.request_log)
    request = apply_request(
        plan,
        meta,
        api_url=sb.base_url,
        options=apply_options(time_scale=100),
        state_dir=tmp_path,
        key=sb.key,
        token=sb.token,
    )
    report = run_apply(request)
    assert len(hashed) == 1
    assert report.counts == {"applied": len(plan.changes)}
    journal = Journal.read(request.journal_path)
    assert journal.header.plan_digest == plan_digest(doc)
    assert request.journal_path.name == f"plan-{plan_digest(doc)[:16]}.jsonl"
    sent = sb.server.request_log[mark:]
    assert sent[0].path == "/1/members/me"
    assert len(limiters) == 1
    assert limiters[0].acquired == len(sent)
    assert beyond == []


@pytest.fixture
def many_cards() -> Iterator[Sandbox]:
    """The small world with 40 more cards on the team's ``doing`` list, served."""
    from trello_restore.sandbox.server import SandboxOptions, SandboxServer

    built = make_world()
    ids = built.ids
    for i in range(40):
        card = built.world.create_card(
            ids["doing"], f"N{i}", ids["lead"], T0 + timedelta(days=1, minutes=i)
        )
        ids[f"n{i}"] = card.id
    server = SandboxServer(built.world, SandboxOptions())
    server.start()
    sb = Sandbox(server, built.world, built.key, built.token, ids)
    yield sb
    sb.close()


def test_a_write_with_its_journal_records_stays_within_a_call_budget(
    many_cards: Sandbox, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """40 card-member writes run by the ``Runner`` on its worker (journal ``pending``, the
    request, the outcome): Python calls per write, counted in every thread that runs them,
    within ``CALLS_PER_WRITE``; each is applied and journaled."""
    _no_proxies(monkeypatch)
    sb = many_cards
    kind = kind_of("add_member_to_card")
    cai = MemberRef(sb.ids["cai"], "cai")
    changes = [
        Change(f"c-{i:04d}", kind.action, sb.ids["team"], "Team", cai, card_id=sb.ids[f"n{i}"])
        for i in range(40)
    ]
    calls = [0]
    counting = threading.Event()
    lock = threading.Lock()

    def count(frame: FrameType, event: str, arg: object) -> None:
        if event in ("call", "c_call") and counting.is_set():
            with lock:
                calls[0] += 1

    header = JournalHeader("d" * 64, sb.base_url, sb.ids["lead"], "2026-11-26T00:00:00Z")
    with (
        api_for(sb) as api,
        Journal.open(tmp_path / "journal.jsonl", header) as journal,
        Runner(api, journal, ApplyOptions(workers=1), "apply", None) as run,
    ):
        jobs = [(c, _sender(kind, api, c), kind.write_rule(False)) for c in changes]
        threading.setprofile(count)  # the worker, started by the first write
        sys.setprofile(count)
        try:
            run.run_writes(jobs[:1])  # its thread, session and connection: not counted
            counting.set()
            run.run_writes(jobs[1:])
        finally:
            counting.clear()
            sys.setprofile(None)
            threading.setprofile(None)
    per_write = calls[0] / (len(jobs) - 1)
    print(f"{per_write:.0f} Python calls per write (budget {CALLS_PER_WRITE})")
    assert {o.status for o in run.outcomes.values()} == {"applied"}
    assert [r.status for r in Journal.read(journal.path).records] == ["pending", "applied"] * 40
    assert per_write <= CALLS_PER_WRITE


def _sender(kind: Any, api: TrelloApi, change: Change) -> Any:
    return lambda: kind.write(api, change)


def test_appends_at_the_same_moment_share_an_fsync(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """8 workers journaling at once (a disk whose fsync takes 5 ms): every append returns only
    once its line is on disk (inside what a finished fsync covered), every line is whole and
    in each worker's order, and the workers' appends share fsyncs instead of taking one each
    in turn (a quarter fewer at the very least; most share one with several others)."""
    synced: list[int] = []  # the file's size each finished fsync made durable
    lock = threading.Lock()
    real_fsync = os.fsync

    def slow_fsync(fd: int) -> None:
        size = os.fstat(fd).st_size
        time.sleep(0.005)
        real_fsync(fd)
        with lock:
            synced.append(size)

    monkeypatch.setattr(os, "fsync", slow_fsync)
    header = JournalHeader("e" * 64, "http://127.0.0.1:1/1", "m" * 24, "2026-11-26T00:00:00Z")
    path = tmp_path / "journal.jsonl"
    per_worker, workers = 30, 8
    start = threading.Barrier(workers)
    late: list[str] = []

    def worker(w: int) -> None:
        start.wait()
        for i in range(per_worker):
            record = JournalRecord(f"c-{w}-{i}", "apply", "add_member_to_card", "pending", "b", "m")
            journal.append(record)
            with lock:
                durable = max(synced, default=0)
            if json.dumps(record.change_id) not in path.read_bytes()[:durable].decode():
                late.append(record.change_id)

    with Journal.open(path, header) as journal:
        synced.clear()
        threads = [threading.Thread(target=worker, args=(w,)) for w in range(workers)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
    assert late == []
    records = Journal.read(path).records
    assert len(records) == per_worker * workers
    for w in range(workers):
        mine = [r.change_id for r in records if r.change_id.startswith(f"c-{w}-")]
        assert mine == [f"c-{w}-{i}" for i in range(per_worker)]
    print(f"{len(records)} appends, {len(synced)} fsyncs")
    assert len(synced) <= len(records) * 3 // 4
