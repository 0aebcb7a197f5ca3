"""The plan memo (issue 12 item 2, ``plan_memo.py``), over real HTTP against the sandbox.

A re-plan on unchanged history returns the memoised plan without reading a store's body or
calling the planner, with one ``since=`` actions request per board, and the plan equals the
cold one; every change of what the planner reads, or of the options, misses and gives the
plan a cold run (``--no-cache``) gives: a new action, a member stripped without an action, a
card archived, a member renamed, ``--restore all``, another ``--since``, ``--by``, a board
newly followed or no longer readable; a damaged memo or head is ignored with a notice;
``--no-cache`` and ``--refresh-history``. And the hit's CPU against a miss's, in one run."""

from __future__ import annotations

import gzip
import hashlib
import json
import logging
import os
import subprocess
import sys
import time
import zipfile
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from pathlib import Path
from typing import Literal

import orjson
import pytest

from trello_restore import plan_codec, plan_memo, planfile
from trello_restore.history import credit_apps
from trello_restore.history_store import VERSION, HistoryStore
from trello_restore.kinds import in_order
from trello_restore.models import History, Plan
from trello_restore.plan_request import build_request
from trello_restore.planner import build_plan
from trello_restore.run import PlanResult, make_plan
from trello_restore.sandbox.scenario import Scenario, generate
from trello_restore.sandbox.world import MemberEvent

from .conftest import Sandbox, SandboxFactory
from .test_history_store import NOW, WINDOW_S, _actions_requests


@dataclass
class Calls:
    """How often a run read a store's body and called the planner."""

    loads: int = 0
    plans: int = 0


@pytest.fixture
def calls(monkeypatch: pytest.MonkeyPatch) -> Calls:
    """Counts ``HistoryStore.load`` (a body read) and ``run.build_plan`` (the planner)."""
    counted = Calls()
    load = HistoryStore.load

    def counting_load(self: HistoryStore, board_id: str, filter: str) -> object:
        counted.loads += 1
        return load(self, board_id, filter)

    def counting_plan(*args: object, **kwargs: object) -> object:
        counted.plans += 1
        return build_plan(*args, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(HistoryStore, "load", counting_load)
    monkeypatch.setattr("trello_restore.run.build_plan", counting_plan)
    return counted


@dataclass(frozen=True)
class Opts:
    """The options a run plans with (the scenario's incident window, member restore)."""

    since: timedelta = timedelta(0)
    restore: tuple[str, ...] = ("members",)
    by: str | None = None
    #: A window of these dates instead (``at``: ``since``; ``until``: none without it).
    at: datetime | None = None
    until: datetime | None = None


def _plan(
    sb: Sandbox, s: Scenario, cache: Path | None, o: Opts = Opts(), *, refresh: bool = False
) -> PlanResult:
    """A plan of the team board over HTTP through the store and memo in ``cache`` (None: as
    ``--no-cache``; ``refresh``: ``--refresh-history``)."""
    request = build_request(
        boards=(s.team.id,),
        exports=(),
        since=(o.at or s.incident_at + o.since).isoformat(),
        until=o.until.isoformat() if o.until is not None else None,
        now=NOW,
        restore=o.restore,
        by=o.by,
        add_to_board=True,
        api_url=sb.base_url,
        key=sb.key,
        token=sb.token,
    )
    fast = replace(request, history_dir=cache, window_s=WINDOW_S, refresh_history=refresh)
    return make_plan(fast, created_at=datetime.now().astimezone())


def _scenario(
    sandbox_factory: SandboxFactory, seed: int = 23, cards: int = 40, history: int = 0
) -> tuple[Sandbox, Scenario]:
    """A seeded incident scenario served at the tests' time scale."""
    s = generate(seed, cards, history_actions=history)
    return sandbox_factory(s, time_scale=100), s


def _memo_files(cache: Path) -> list[Path]:
    return sorted((cache / "plans").glob("*.json.gz"))


def test_a_replan_on_unchanged_history_is_the_memo(
    sandbox_factory: SandboxFactory, tmp_path: Path, calls: Calls
) -> None:
    """Cold, then again with nothing new: the second run reads no store body, does not call
    the planner, asks each board's feed once (``since=``), and its plan (and document, but
    for the time it was made) equals the cold plan and a plan made without any cache."""
    sb, s = _scenario(sandbox_factory)
    cache, log = tmp_path / "cache", sb.server.request_log
    cold = _plan(sb, s, cache)
    assert calls.plans == 1
    assert calls.loads >= 1
    assert cold.plan.changes, "the scenario restores something"
    [memo] = _memo_files(cache)
    assert memo.stat().st_mode & 0o777 == 0o600
    assert memo.parent.stat().st_mode & 0o777 == 0o700
    heads = sorted((cache / "boards").glob(f"*/history.v{VERSION}.head.json"))
    assert len(heads) == len(cold.meta.boards) >= 2, "the team board and the followed one"
    before, calls.loads, calls.plans = len(log), 0, 0
    again = _plan(sb, s, cache)
    assert (calls.loads, calls.plans) == (0, 0), "no body read, no planning"
    feeds = _actions_requests(log[before:])
    assert set(feeds) == {f"boards/{b}" for b, _ in cold.meta.boards}
    assert all(len(rs) == 1 and "since" in rs[0].query_names for rs in feeds.values()), feeds
    assert again.plan == cold.plan
    assert replace(again.meta, created_at=cold.meta.created_at) == cold.meta
    assert again.plan == _plan(sb, s, None).plan
    text = gzip.decompress(memo.read_bytes()).decode()
    assert sb.token not in text
    assert sb.key not in text


# -------------------------------------------------------------------------------- misses

#: A change between the cold run and the re-plan: (sandbox, scenario, cache, cold plan) -> the
#: re-plan's options.
Change = Callable[[Sandbox, Scenario, Path, PlanResult], Opts]


def _me(sb: Sandbox) -> str:
    me: str = sb.get("/members/me").json()["id"]
    return me


def _a_change(cold: PlanResult) -> tuple[str, str]:
    """(card id, member id) of the cold plan's first card change."""
    c = cold.plan.card_changes()[0]
    return c.card_id, c.member.id


def new_action(sb: Sandbox, s: Scenario, cache: Path, cold: PlanResult) -> Opts:
    """The mover takes a member off a card (logged)."""
    w = s.world
    card = next(c for c in w.cards.values() if c.id_board == s.team.id and c.id_members)
    w.remove_member_from_card(card.id, card.id_members[0], s.mover.id, w.last_time)
    return Opts()


def stripped_unlogged(sb: Sandbox, s: Scenario, cache: Path, cold: PlanResult) -> Opts:
    """A member leaves a card and Trello logs nothing (as the incident's unlogged share)."""
    w = s.world
    skipped = [x for x in cold.plan.skipped if x.reason == "already_on_card"]
    if skipped:
        card, member = w.cards[skipped[0].card_id], skipped[0].member.id
    else:
        card = next(c for c in w.cards.values() if c.id_board == s.team.id and c.id_members)
        member = card.id_members[0]
    card.id_members.remove(member)
    w.ledger.append(
        MemberEvent(w.last_time, card.id, member, "remove", s.mover.id, False, None, "move")
    )
    return Opts()


def card_archived(sb: Sandbox, s: Scenario, cache: Path, cold: PlanResult) -> Opts:
    """A card with a planned change is archived without an action in the feeds."""
    card_id, _ = _a_change(cold)
    s.world.cards[card_id].closed = True
    return Opts()


def member_renamed(sb: Sandbox, s: Scenario, cache: Path, cold: PlanResult) -> Opts:
    """A member whose membership the plan puts back changes their name (no action)."""
    _, member = _a_change(cold)
    s.world.members[member].full_name = "Renamed Since"
    return Opts()


def restore_all(sb: Sandbox, s: Scenario, cache: Path, cold: PlanResult) -> Opts:
    return Opts(restore=("all",))


def other_since(sb: Sandbox, s: Scenario, cache: Path, cold: PlanResult) -> Opts:
    return Opts(since=timedelta(seconds=-1))


def by_mover(sb: Sandbox, s: Scenario, cache: Path, cold: PlanResult) -> Opts:
    return Opts(by=s.mover.username)


def no_longer_readable(sb: Sandbox, s: Scenario, cache: Path, cold: PlanResult) -> Opts:
    """The token's member leaves the archive board (the board's feed, which the team
    board's moves follow, becomes unreadable)."""
    del s.world.boards[s.archive.id].memberships[_me(sb)]
    return Opts()


def damaged_memo(sb: Sandbox, s: Scenario, cache: Path, cold: PlanResult) -> Opts:
    [memo] = _memo_files(cache)
    memo.write_bytes(gzip.compress(b'{"format": "trello-restore plan memo", "version": 1, "ke'))
    return Opts()


def empty_memo(sb: Sandbox, s: Scenario, cache: Path, cold: PlanResult) -> Opts:
    """An empty memo (a disk that filled up): said in words, not as a JSON parser's error."""
    [memo] = _memo_files(cache)
    memo.write_bytes(gzip.compress(b""))
    return Opts()


def foreign_memo(sb: Sandbox, s: Scenario, cache: Path, cold: PlanResult) -> Opts:
    [memo] = _memo_files(cache)
    memo.write_bytes(b"not gzip")
    return Opts()


def earlier_memo(sb: Sandbox, s: Scenario, cache: Path, cold: PlanResult) -> Opts:
    """A memo an earlier version wrote (format 4: the plan alone, no line of ``own`` before
    it; its key as this version's, whose ``__version__`` may not have changed): a miss without
    a notice, as after every upgrade (R34c: it was "damaged (KeyError)", in cron's mail)."""
    [memo] = _memo_files(cache)
    header, _, body = gzip.decompress(memo.read_bytes()).partition(b"\n")
    head = json.loads(header)
    assert plan_memo.VERSION == 7
    head["version"] = 4
    plan = body.partition(b"\n")[2]
    head["body"] = hashlib.sha256(plan).hexdigest()
    memo.write_bytes(gzip.compress(json.dumps(head).encode() + b"\n" + plan))
    return Opts()


def test_a_memo_made_by_other_planner_code_misses(
    sandbox_factory: SandboxFactory,
    tmp_path: Path,
    calls: Calls,
    monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
) -> None:
    """The key holds a digest of the planner's code: a memo made before the code changed (an
    upgrade that kept ``__version__`` and the memo's ``VERSION``) is a miss without a notice,
    and the plan is the new code's (R43h: every build said 0.1.0)."""
    sb, s = _scenario(sandbox_factory)
    cache = tmp_path / "cache"
    cold = _plan(sb, s, cache)
    monkeypatch.setattr(plan_memo, "rules", lambda: "other planner code")
    calls.loads = calls.plans = 0
    with caplog.at_level(logging.WARNING):
        again = _plan(sb, s, cache)
    assert calls.plans == 1, "a miss"
    assert again.plan == cold.plan
    assert not [r for r in caplog.records if "ignored" in r.getMessage()]


def test_the_rules_digest_is_of_the_planners_source(monkeypatch: pytest.MonkeyPatch) -> None:
    """``rules`` digests the source of the modules that make the plan: another module list,
    or a module whose source cannot be found, gives another digest."""
    digest = plan_memo.rules()
    assert len(digest) == 32
    assert int(digest, 16) >= 0
    try:
        plan_memo.rules.cache_clear()
        monkeypatch.setattr(plan_memo, "RULES", ("planner",))
        assert plan_memo.rules() != digest
        plan_memo.rules.cache_clear()
        monkeypatch.setattr(plan_memo, "RULES", ("planner", "no_such_module"))
        assert plan_memo.rules() not in (digest, "")
    finally:
        monkeypatch.undo()
        plan_memo.rules.cache_clear()
    assert plan_memo.rules() == digest


def test_the_rules_digest_reads_a_package_run_from_a_zip(tmp_path: Path) -> None:
    """A package imported from a zip digests its sources the same (R43i: it counted every
    module by its name there, so an edited planner hit the old memo)."""
    package = Path(plan_memo.__file__).parent
    archive = tmp_path / "tr.zip"
    with zipfile.ZipFile(archive, "w") as z:
        for source in package.rglob("*.py"):
            z.write(source, Path("trello_restore") / source.relative_to(package))
    code = "import trello_restore.plan_memo as m; print(m.__file__); print(m.rules())"
    run = subprocess.run(
        [sys.executable, "-c", code],
        env={**os.environ, "PYTHONPATH": str(archive)},
        capture_output=True,
        text=True,
        check=True,
        cwd=tmp_path,
    )
    where, digest = run.stdout.split()
    assert where.startswith(str(archive))
    assert digest == plan_memo.rules()


def _rewrite_body(cache: Path, edit: Callable[[bytes], bytes], *, checksum: bool) -> None:
    """The memo with its body edited (its header and key as they were; ``checksum``: the
    header's checksum made to name the edited body, as a careful hand would)."""
    [memo] = _memo_files(cache)
    header, _, body = gzip.decompress(memo.read_bytes()).partition(b"\n")
    body = edit(body)
    if checksum:
        head = json.loads(header)
        head["body"] = hashlib.sha256(body).hexdigest()
        header = json.dumps(head).encode()
    memo.write_bytes(gzip.compress(header + b"\n" + body))


def damaged_body(sb: Sandbox, s: Scenario, cache: Path, cold: PlanResult) -> Opts:
    """A memo whose plan part is damaged (its header, key and checksum are right): the first
    change lost its id."""

    def drop_an_id(body: bytes) -> bytes:
        own, _, plan = body.partition(b"\n")  # the line of own_sets, then the plan
        doc = json.loads(plan)
        ids = doc["plan"][2][0][1]  # ["Plan", options, changes, ...]: the first run's ids
        assert ids[0] == cold.plan.changes[0].change_id
        del ids[0]
        return own + b"\n" + json.dumps(doc).encode()

    _rewrite_body(cache, drop_an_id, checksum=True)
    return Opts()


def edited_body(sb: Sandbox, s: Scenario, cache: Path, cold: PlanResult) -> Opts:
    """A memo whose body was edited by hand, still a plan (a card renamed in it), its header
    untouched: its checksum does not name it, so it is not used (it would give a plan with
    the edited name)."""
    name = orjson.dumps(cold.plan.card_changes()[0].card_name)  # as the memo writes it

    def rename(body: bytes) -> bytes:
        assert name in body
        return body.replace(name, orjson.dumps("Edited by hand"))

    _rewrite_body(cache, rename, checksum=False)
    return Opts()


def damaged_head(sb: Sandbox, s: Scenario, cache: Path, cold: PlanResult) -> Opts:
    (cache / "boards" / s.team.id / f"history.v{VERSION}.head.json").write_text('{"format"')
    return Opts()


def _edit_head(cache: Path, board_id: str, **changes: object) -> None:
    path = cache / "boards" / board_id / f"history.v{VERSION}.head.json"
    doc = json.loads(path.read_text())
    doc.update(changes)
    path.write_text(json.dumps(doc))


def head_lost_a_board(sb: Sandbox, s: Scenario, cache: Path, cold: PlanResult) -> Opts:
    """Valid JSON, wrong content (a flipped id, a hand edit): the board the cards moved to is
    gone from the head's connected boards; its checksum says so."""
    _edit_head(cache, s.team.id, connected=[])
    return Opts()


def head_from_year_one(sb: Sandbox, s: Scenario, cache: Path, cold: PlanResult) -> Opts:
    """A head whose newest action is at datetime's lower end (the next read would overflow)."""
    _edit_head(cache, s.team.id, newest=["0001-01-01T00:00:00+00:00", "a" * 24])
    return Opts()


@pytest.mark.parametrize(
    ("change", "differs", "notice"),
    [
        (new_action, True, None),
        (stripped_unlogged, True, None),
        (card_archived, False, None),
        (member_renamed, True, None),
        (restore_all, True, None),
        (other_since, True, None),
        (by_mover, True, None),
        (no_longer_readable, True, None),
        (damaged_memo, False, "its first line is not a memo's header"),
        (empty_memo, False, "its first line is not a memo's header"),
        (foreign_memo, False, "plan memo"),
        (earlier_memo, False, None),
        (damaged_body, False, "plan memo"),
        (edited_body, False, "plan memo"),
        (damaged_head, False, "head"),
        (head_lost_a_board, False, "head"),
        (head_from_year_one, False, "head"),
    ],
    ids=lambda x: getattr(x, "__name__", None),
)
def test_anything_else_misses_and_gives_the_cold_plan(
    sandbox_factory: SandboxFactory,
    tmp_path: Path,
    calls: Calls,
    caplog: pytest.LogCaptureFixture,
    change: Change,
    differs: bool,
    notice: str | None,
) -> None:
    """After the change, the re-plan calls the planner (and reads the stores' bodies) and its
    plan equals a plan made without any cache; where the change changes the plan, the memo's
    plan would have been wrong. A damaged file is one notice, no error; the run after is a
    hit again."""
    sb, s = _scenario(sandbox_factory)
    cache = tmp_path / "cache"
    cold = _plan(sb, s, cache)
    opts = change(sb, s, cache, cold)
    calls.loads = calls.plans = 0
    caplog.clear()
    with caplog.at_level(logging.WARNING):
        replan = _plan(sb, s, cache, opts)
    assert calls.plans == 1, "a miss"
    assert calls.loads >= 1
    assert replan.plan == _plan(sb, s, None, opts).plan
    assert (replan.plan != cold.plan) == differs
    notices = [r.getMessage() for r in caplog.records if "ignored" in r.getMessage()]
    assert len(notices) == (notice is not None), notices
    if notice is not None:
        assert notice in notices[0]
        assert "\n" not in notices[0]
    calls.loads = calls.plans = 0
    assert _plan(sb, s, cache, opts).plan == replan.plan
    assert (calls.loads, calls.plans) == (0, 0), "memoised again"


def test_a_board_newly_followed_misses(
    sandbox_factory: SandboxFactory, tmp_path: Path, calls: Calls
) -> None:
    """The archive board unreadable for the first run, readable again for the second: the
    second follows it (a scope the memo was not made for) and plans as a cold run does."""
    sb, s = _scenario(sandbox_factory)
    cache, me = tmp_path / "cache", _me(sb)
    membership = s.world.boards[s.archive.id].memberships.pop(me)
    first = _plan(sb, s, cache)
    assert s.archive.id not in {b for b, _ in first.meta.boards}
    s.world.boards[s.archive.id].memberships[me] = membership
    calls.plans = 0
    again = _plan(sb, s, cache)
    assert calls.plans == 1
    assert s.archive.id in {b for b, _ in again.meta.boards}
    assert again.plan == _plan(sb, s, None).plan != first.plan


def test_no_cache_and_refresh_history_do_not_use_the_memo(
    sandbox_factory: SandboxFactory, tmp_path: Path, calls: Calls
) -> None:
    """``--no-cache`` uses no memo (the planner plans); ``--refresh-history`` reads none (the
    history is read whole) and writes one."""
    sb, s = _scenario(sandbox_factory)
    cache, log = tmp_path / "cache", sb.server.request_log
    cold = _plan(sb, s, cache)
    calls.plans = 0
    assert _plan(sb, s, None).plan == cold.plan
    assert calls.plans == 1
    before = len(log)
    refreshed = _plan(sb, s, cache, refresh=True)
    assert calls.plans == 2
    assert refreshed.plan == cold.plan
    team = _actions_requests(log[before:])[f"boards/{s.team.id}"]
    assert "since" not in team[0].query_names
    assert len(_memo_files(cache)) == 1


def test_the_key_covers_every_option_and_the_state() -> None:
    """``canonical`` tells apart every ``PlanOptions`` field's change, a set from a list, a
    mapping's order; and is the same for equal values."""
    from trello_restore.models import PlanOptions

    base = PlanOptions(since=NOW)
    variants = [
        replace(base, since=NOW + timedelta(microseconds=1)),
        replace(base, until=NOW),
        replace(base, mode="ever-added"),
        replace(base, removed_by="x"),
        replace(base, cause="move"),
        replace(base, only_recorded=True),
        replace(base, add_to_board=True),
        replace(base, board_role="observer"),
        replace(base, lists=frozenset({"a"})),
        replace(base, cards=frozenset({"a"})),
        replace(base, restore=frozenset({"members", "archived"})),
        replace(base, by="x"),
    ]
    keys = {plan_memo.canonical(v) for v in [base, *variants]}
    assert len(keys) == len(variants) + 1
    assert plan_memo.canonical(replace(base)) == plan_memo.canonical(base)
    assert plan_memo.canonical({"a": 1, "b": 2}) != plan_memo.canonical({"b": 2, "a": 1})
    assert plan_memo.canonical(frozenset({"a", "b"})) == plan_memo.canonical({"b", "a"})
    assert plan_memo.canonical(["a", "b"]) != plan_memo.canonical({"a", "b"})
    with pytest.raises(TypeError):
        plan_memo.canonical(object())


def test_a_memo_hit_costs_a_fraction_of_a_miss(
    sandbox_factory: SandboxFactory, tmp_path: Path
) -> None:
    """The tool's CPU in the planning thread (store bodies, planning, the memo; the fetch's
    readers and the sandbox run on other threads) for a re-plan on unchanged history: with
    the memo under half of the same re-plan without it (the memo removed), best of three
    each, measured side by side in this run."""
    sb, s = _scenario(sandbox_factory, 24, 400, 3000)
    cache = tmp_path / "cache"
    cold = _plan(sb, s, cache)

    def cpu(hit: bool) -> float:
        if not hit:
            for memo in _memo_files(cache):
                memo.unlink()
        start = time.thread_time()
        result = _plan(sb, s, cache)
        spent = time.thread_time() - start
        assert result.plan == cold.plan
        return spent

    misses = [cpu(False) for _ in range(3)]
    hits = [cpu(True) for _ in range(3)]
    assert min(hits) < 0.5 * min(misses), (hits, misses)


# ------------------------------------------------------------------------------ the window

#: A cutoff after every date the planner compares it with (the memo's rule, as this test has it).
AFTER = "after"
HOUR = timedelta(hours=1)


def test_the_window_is_keyed_by_what_it_selects(
    sandbox_factory: SandboxFactory, tmp_path: Path, calls: Calls
) -> None:
    """Cutoffs after the newest action (but for a member added who is on the card now: a
    settled add, as the tool's own restores) select alike: a ``since`` after it, and an
    ``until`` after it or none, hit the memo of any other such cutoff (a cron job's moving
    ``--since last-run``); a cutoff at or before it is keyed by its date (at the newest
    action it selects that action, and the plan differs). For each window in turn, the
    re-plan through the memo equals a ``--no-cache`` plan of the same window (its options
    included), and it hits exactly where the rule says: when the window, so keyed, is that of
    the last plan made."""
    sb, s = _scenario(sandbox_factory)
    w, cache = s.world, tmp_path / "cache"
    team = [c for c in w.cards.values() if c.id_board == s.team.id and not c.closed]
    card = next(c for c in team if c.id_members)
    # The newest removal: the mover takes a member off a card an hour after the rest.
    w.remove_member_from_card(card.id, card.id_members[0], s.mover.id, w.last_time + HOUR)
    newest = w.last_time
    # An hour later, a settled add: a team member put on a card they are not on.
    members = w.boards[s.team.id].memberships
    other, member = next((c, m) for c in team for m in members if m not in c.id_members)
    w.add_member_to_card(other.id, member, s.mover.id, newest + HOUR)
    settled = w.last_time
    ms, day = timedelta(milliseconds=1), timedelta(days=1)
    windows = [
        (newest + ms, None),
        (settled, None),  # the settled add in the window: the same plan
        (newest + timedelta(seconds=1), settled),
        (newest + day, newest + 2 * day),
        (newest, None),  # the newest action in the window: another plan
        (newest, newest + HOUR),
        (newest - ms, None),
        (s.incident_at, None),
        (s.incident_at, newest + ms),
        (s.incident_at, newest),  # the newest action outside the window: another plan
        (s.incident_at, s.incident_at + HOUR),
        (newest + 5 * timedelta(seconds=1), None),
        (newest + 365 * day, None),
    ]

    def keyed(since: datetime, until: datetime | None) -> tuple[object, object]:
        return (
            AFTER if since > newest else since,
            AFTER if until is None or until > newest else until,
        )

    memoised: tuple[object, object] | None = None
    plans: dict[tuple[datetime, datetime | None], PlanResult] = {}
    hits = []
    for since, until in windows:
        o = Opts(at=since, until=until)
        calls.loads = calls.plans = 0
        replan = _plan(sb, s, cache, o)
        memo = calls.plans == 0
        assert memo == (keyed(since, until) == memoised), (since, until)
        assert calls.loads == 0 or not memo
        assert (replan.plan.options.since, replan.plan.options.until) == (since, until)
        assert replan.plan == _plan(sb, s, None, o).plan, (since, until)
        if not memo:
            memoised = keyed(since, until)
        plans[(since, until)] = replan
        hits.append(memo)
    miss, hit = False, True
    assert hits == [miss, hit, hit, hit, miss, hit, miss, miss, hit, miss, miss, miss, hit]
    after, at_newest = plans[(newest + ms, None)], plans[(newest, None)]
    assert after.plan.changes != at_newest.plan.changes, "the newest removal is in the window"
    assert (
        plans[(s.incident_at, newest + ms)].plan.changes
        != plans[(s.incident_at, newest)].plan.changes
    ), "and then out of it"


def test_the_window_rule() -> None:
    """``latest`` is the newest date of the member removals, adds of members not on the card
    now, field changes and card deletions (None without any); ``window`` keys each cutoff
    after it as after everything."""
    from trello_restore.models import (
        CardState,
        FieldUpdate,
        History,
        MemberAction,
        PlanOptions,
        State,
    )

    def member(i: str, at: datetime, kind: Literal["add", "remove"] = "remove") -> MemberAction:
        return MemberAction(i, kind, at, "card", "m", "by", "board", False, "")

    def update(at: datetime) -> FieldUpdate:
        return FieldUpdate("u", at, "card", "card", "board", "due", None, None, "by", "")

    def card(*members: str) -> State:
        return State({}, {"card": CardState("card", "", "", "board", "list", False, members)})

    empty, nobody = History((), (), {}, (), {}, {}), card()
    assert plan_memo.latest(empty, nobody) is None
    one = replace(empty, member_actions=(member("a", NOW - HOUR), member("b", NOW)))
    assert plan_memo.latest(one, nobody) == NOW
    assert plan_memo.latest(replace(one, field_updates=(update(NOW + HOUR),)), nobody) == (
        NOW + HOUR
    )
    deleted = replace(one, deleted_when={"c": (NOW + 2 * HOUR, "by")})
    assert plan_memo.latest(deleted, nobody) == NOW + 2 * HOUR
    # An add of a member who is on the card now is left out; one who is not on it, or of a
    # card that is gone, counts.
    added = replace(one, member_actions=(*one.member_actions, member("c", NOW + HOUR, "add")))
    assert plan_memo.latest(added, card("m")) == NOW
    assert plan_memo.latest(added, card("x")) == NOW + HOUR
    assert plan_memo.latest(added, State({}, {})) == NOW + HOUR
    only_added = replace(empty, member_actions=(member("c", NOW, "add"),))
    assert plan_memo.latest(only_added, card("m")) is None
    after = plan_memo.AFTER
    assert plan_memo.window(PlanOptions(since=NOW), None) == (after, after)
    assert plan_memo.window(PlanOptions(since=NOW, until=NOW + HOUR), None) == (after, after)
    assert plan_memo.window(PlanOptions(since=NOW), NOW) == (NOW, after)
    assert plan_memo.window(PlanOptions(since=NOW + HOUR), NOW) == (after, after)
    assert plan_memo.window(PlanOptions(since=NOW - HOUR, until=NOW), NOW) == (NOW - HOUR, NOW)
    later = PlanOptions(since=NOW - HOUR, until=NOW + HOUR)
    assert plan_memo.window(later, NOW) == (NOW - HOUR, after)


def test_a_plan_of_every_kind_comes_back_from_its_memo_as_it_was(
    sandbox_factory: SandboxFactory, tmp_path: Path, calls: Calls
) -> None:
    """``--restore all``: the members' and the value kinds' changes, the skipped (their
    members' full names in the memo only), the value fields skipped: the memo is written and
    a re-plan is it, equal to the cold plan member by member, names included."""
    sb, s = _scenario(sandbox_factory, seed=29, cards=120)
    w = s.world
    team = sorted(c.id for c in w.cards.values() if c.id_board == s.team.id and not c.closed)
    others = [m for m in w.members if m != s.mover.id]
    at = s.incident_at + timedelta(minutes=5)
    w.set_card_closed(team[0], True, s.mover.id, at)
    w.set_card_field(team[1], "desc", "the mover's", s.mover.id, at)
    w.set_card_field(team[1], "desc", "someone else's after", others[0], at + timedelta(minutes=1))
    cache = tmp_path / "cache"
    every = Opts(restore=("all",), by=s.mover.username)
    cold = _plan(sb, s, cache, every)
    kinds = {c.action for c in cold.plan.changes}
    assert "add_member_to_card" in kinds
    assert kinds - {"add_member_to_card", "add_member_to_board"}, "value changes too"
    assert cold.plan.skipped
    assert any(sk.member.full_name for sk in cold.plan.skipped), "skipped members have names"
    assert any(v.others for v in cold.plan.value_skipped), "a value overwritten by another"
    calls.plans = 0
    again = _plan(sb, s, cache, every)
    assert calls.plans == 0, "the memo was written, and hit"
    assert again.plan == cold.plan
    assert [sk.member for sk in again.plan.skipped] == [sk.member for sk in cold.plan.skipped]


# ------------------------------------------------------------------------ what a memo costs


@pytest.fixture
def document_calls(monkeypatch: pytest.MonkeyPatch) -> Counter[str]:
    """Counts the plan document's making and reading (``planfile.plan_to_dict``,
    ``plan_from_dict``, each kind's ``from_json``) and the memo codec's ``decode``."""
    counted: Counter[str] = Counter()

    def counting(name: str, fn: Callable[..., object]) -> Callable[..., object]:
        def call(*args: object, **kwargs: object) -> object:
            counted[name] += 1
            return fn(*args, **kwargs)

        return call

    for name in ("plan_to_dict", "plan_from_dict"):
        fn = getattr(planfile, name)
        monkeypatch.setattr(planfile, name, counting(name, fn))
        monkeypatch.setattr(plan_memo, name, counting(name, fn), raising=False)
    for kind in {type(k) for k in in_order()}:
        monkeypatch.setattr(kind, "from_json", counting("from_json", kind.from_json))
    monkeypatch.setattr(plan_memo, "decode", counting("decode", plan_codec.decode), raising=False)
    return counted


def test_the_keep_reads_nothing_back_and_a_hit_builds_only_the_plan(
    sandbox_factory: SandboxFactory, tmp_path: Path, calls: Calls, document_calls: Counter[str]
) -> None:
    """A cold run keeps its memo without making a plan document or reading the plan back
    (``plan_codec.encode`` refuses what it could not give back: ``test_plan_codec.py``); a
    hit reads the memo's plan once, as the codec wrote it (no document, no kind's
    ``from_json``), each member made once however often the plan names it; and the plan is
    the cold one, names and apps included (``--restore all``: every kind)."""
    sb, s = _scenario(sandbox_factory, seed=29, cards=120)
    cache = tmp_path / "cache"
    every = Opts(restore=("all",))
    cold = _plan(sb, s, cache, every)
    assert _memo_files(cache)
    assert dict(document_calls) == {}, "the keep made no document and read nothing back"
    calls.plans = 0
    again = _plan(sb, s, cache, every)
    assert calls.plans == 0, "a hit"
    assert dict(document_calls) == {"decode": 1}
    assert again.plan == cold.plan
    p = again.plan
    refs = [c.member for c in p.changes] + [s.member for s in p.skipped]
    refs += [c.evidence.by for c in p.changes if c.evidence is not None]
    assert len(refs) > len(set(refs)), "the plan names members more than once"
    assert len({id(r) for r in refs}) == len(set(refs)), "one object per member"


def test_a_plan_the_codec_would_not_give_back_is_not_kept(
    sandbox_factory: SandboxFactory,
    tmp_path: Path,
    calls: Calls,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """The planner's plan holding a value not of its field's type (a list where the plan has a
    tuple: read back, it would be another plan): no memo is written, and the next run plans
    again."""

    def listing(plan: Plan, history: History) -> Plan:
        made = credit_apps(plan, history)
        return replace(made, incomplete=list(made.incomplete))  # type: ignore[arg-type]

    monkeypatch.setattr("trello_restore.run.credit_apps", listing)
    sb, s = _scenario(sandbox_factory)
    cache = tmp_path / "cache"
    cold = _plan(sb, s, cache)
    assert calls.plans == 1
    assert _memo_files(cache) == []
    assert _plan(sb, s, cache).plan == cold.plan
    assert calls.plans == 2, "planned again: no memo"
