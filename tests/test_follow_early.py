"""The boards a scope's moves connect are read as soon as a page shows them, beside the rest of
the scope's history (``boards.Follower``), and the kept histories are written on a thread of
their own while the plan is made (``fetcher_stored._Writes``): over HTTP against the sandbox,
with and without the kept history, the same plan as the ground truth."""

from __future__ import annotations

from pathlib import Path

import pytest

from trello_restore.history_store import VERSION, HistoryStore
from trello_restore.run import PlanResult, make_plan
from trello_restore.sandbox.scenario import Scenario, generate
from trello_restore.sandbox.server import RequestRecord

from .conftest import SandboxFactory
from .truthcheck import NOW, assert_plan_is_truth, incident_request


def _plan(s: Scenario, sb_url: str, key: str, token: str, cache: Path | None) -> PlanResult:
    result = make_plan(incident_request(s, sb_url, key, token, cache), created_at=NOW)
    assert_plan_is_truth(result.plan, s.truth("a"))
    return result


def _reads(log: list[RequestRecord], board: str) -> list[RequestRecord]:
    return [r for r in log if r.path.startswith(f"/1/boards/{board}")]


@pytest.mark.parametrize("kept", [True, False], ids=["kept-history", "no-cache"])
def test_the_board_cards_moved_to_is_read_beside_the_named_boards_history(
    sandbox_factory: SandboxFactory, tmp_path: Path, kept: bool
) -> None:
    """The incident's moves are in the newest page of the named board's history: the board
    they went to is asked for (and its cards and history read) while the older pages of the
    named board are still being read — not after its last page, as a fetch that followed the
    boards its whole history names did. The plan is the ground truth either way."""
    s = generate(31, 1000, history_actions=12_000)
    sb = sandbox_factory(s, latency_ms=40)
    (other,) = [b for b in s.scope if b != s.team.id]
    _plan(s, sb.base_url, sb.key, sb.token, tmp_path / "cache" if kept else None)
    log = sorted(sb.server.request_log, key=lambda r: r.at)
    named_pages = [r for r in _reads(log, s.team.id) if r.path.endswith("/actions")]
    assert len(named_pages) >= 8, "a history of several pages, read in ranges"
    followed = _reads(log, other)
    assert followed, "the board the cards moved to is read"
    last_page = max(r.at for r in named_pages)
    assert followed[0].at < last_page, "followed before the named board's last page was asked"
    started = [r for r in followed if r.path.endswith(("/actions", "/cards/all"))]
    assert started
    assert min(r.at for r in started) < last_page


def test_the_followed_boards_come_in_id_order_whatever_page_showed_them(
    sandbox_factory: SandboxFactory, tmp_path: Path
) -> None:
    """The plan's boards (and so its file and its memo's key) are the named board, then the
    followed ones in id order, as a fetch after the whole history gave them; a second run's
    memo is hit (the same key)."""
    s = generate(32, 400, history_actions=3000)
    sb = sandbox_factory(s, latency_ms=10)
    first = _plan(s, sb.base_url, sb.key, sb.token, tmp_path / "cache")
    boards = [b for b, _ in first.meta.boards]
    assert boards[0] == s.team.id
    assert boards[1:] == sorted(boards[1:])
    assert set(boards) == set(s.scope)
    before = len(sb.server.request_log)
    again = _plan(s, sb.base_url, sb.key, sb.token, tmp_path / "cache")
    assert [b for b, _ in again.meta.boards] == boards
    assert again.plan == first.plan
    feeds = [r for r in sb.server.request_log[before:] if r.path.endswith("/actions")]
    assert all("since" in r.query_names for r in feeds), "the stores were written and used"


def test_a_plan_returns_once_the_kept_histories_are_written(
    sandbox_factory: SandboxFactory, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The stores are written on a thread of their own while the plan is made, and
    ``make_plan`` returns only once they are on disk (with their heads), also when the
    planning after the fetch fails."""
    import threading
    import time

    s = generate(33, 300)
    sb = sandbox_factory(s)
    save = HistoryStore.save
    threads: set[str] = set()

    def slow(store: HistoryStore, history: object) -> bool:
        threads.add(threading.current_thread().name)
        time.sleep(0.3)  # a long board's write
        return save(store, history)  # type: ignore[arg-type]

    monkeypatch.setattr(HistoryStore, "save", slow)
    cache = tmp_path / "cache"
    _plan(s, sb.base_url, sb.key, sb.token, cache)
    assert threads
    assert all(t.startswith("store") for t in threads), threads
    for board in s.scope:
        assert (cache / "boards" / board / f"history.v{VERSION}.json.gz").exists()
        assert HistoryStore(cache).head_path(board).exists()

    import trello_restore.run as run_module

    def fails(*args: object, **kwargs: object) -> object:
        raise RuntimeError("the planner failed")

    monkeypatch.setattr(run_module, "build_plan", fails)
    cache2 = tmp_path / "cache2"
    with pytest.raises(RuntimeError):
        _plan(s, sb.base_url, sb.key, sb.token, cache2)
    for board in s.scope:
        assert HistoryStore(cache2).head_path(board).exists(), "written before the error came out"
