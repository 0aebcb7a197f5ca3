"""The work a cold fetch through the kept history leaves after its last answer (issue 12 item 3:
"the last page ends the fetch"): the store's rows are written as JSON page by page on the
threads that read the pages, so the store's write only joins and compresses them; the merge of
the boards' parts keeps the order the feeds came in (``to_history``'s sorts find it nearly
sorted) and the cards' ``CardInfo`` the builders made. Nothing here asserts a time: what is
checked is who encodes what, and that the store and the history are the same as before."""

from __future__ import annotations

import gzip
import random
import threading
from collections import Counter
from dataclasses import replace
from pathlib import Path
from typing import Any

import orjson
import pytest

from trello_restore import history_feed, history_parts
from trello_restore.history import parse_history
from trello_restore.history_feed import Feed
from trello_restore.history_store import (
    CLASSES,
    BoardHistory,
    Class,
    HistoryStore,
    Part,
    action_class,
    classes_for,
    merge_parts,
    to_history,
    union_filter,
)
from trello_restore.models import RESTORE_KINDS
from trello_restore.run import make_plan
from trello_restore.sandbox.scenario import generate

from .conftest import SandboxFactory
from .test_history_store import _feed_actions, _with_list_archived
from .truthcheck import NOW, assert_plan_is_truth, incident_request


def test_a_cold_fetchs_store_write_encodes_no_row(
    sandbox_factory: SandboxFactory, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A cold dry run through the kept history, over HTTP: every row of every store was
    written as JSON by the thread that parsed its page, page by page (``encode_rows``), none
    by the store's write after the last answer (no part holding rows is encoded whole); the
    stores hold exactly what they held before (``orjson`` of ``to_json``), and the plan is
    the ground truth."""
    s = generate(33, 600, history_actions=4_000)
    sb = sandbox_factory(s, latency_ms=5)
    encoders: Counter[str] = Counter()
    whole: list[tuple[str, int]] = []
    encode_rows = history_parts.encode_rows
    to_json = Part.to_json

    def counted_encode(name: str, rows: Any) -> bytes:
        encoders[threading.current_thread().name.partition("_")[0]] += 1
        return encode_rows(name, rows)  # what the feed calls, as history_feed names it

    def counted_to_json(part: Part) -> dict[str, Any]:
        rows = len(part.member_actions) + len(part.moves) + len(part.field_updates)
        whole.append((threading.current_thread().name, rows + len(part.card_lists)))
        return to_json(part)

    monkeypatch.setattr(history_feed, "encode_rows", counted_encode)
    monkeypatch.setattr(Part, "to_json", counted_to_json)
    request = incident_request(s, sb.base_url, sb.key, sb.token, tmp_path)
    result = make_plan(replace(request, window_s=0.1), created_at=NOW)
    assert_plan_is_truth(result.plan, s.truth("a"))
    pages = [r for r in sb.server.request_log if r.path.endswith("/actions")]
    assert len(pages) > len(s.scope)  # some feed had more than one page
    assert [w for w in whole if w[1]] == []  # no part with rows encoded whole
    assert encoders  # the pages' readers wrote them:
    assert set(encoders) <= {"fetch", "span"}, encoders
    monkeypatch.undo()
    store = HistoryStore(tmp_path)
    for board_id in s.scope:
        kept = store.load(board_id, union_filter())
        assert kept is not None
        assert kept.base.member_actions
        text = gzip.decompress(store.path(board_id).read_bytes())
        assert text == orjson.dumps(kept.to_json())


def _concurrent_feed(actions: list[dict[str, Any]], size: int, threads: int) -> Feed:
    """A feed whose pages of ``size`` actions were added by ``threads`` threads at once."""
    feed = Feed()
    pages = [actions[i : i + size] for i in range(0, len(actions), size)]
    todo = iter(pages)
    lock = threading.Lock()

    def reader() -> None:
        while True:
            with lock:
                page = next(todo, None)
            if page is None:
                return
            feed.add(page)

    workers = [threading.Thread(target=reader) for _ in range(threads)]
    for w in workers:
        w.start()
    for w in workers:
        w.join()
    return feed


def test_a_stores_text_is_its_documents_whatever_order_the_pages_came_in(
    sandbox_factory: SandboxFactory, tmp_path: Path
) -> None:
    """The store's text made of the rows its feeds wrote page by page (pages added by several
    threads at once, a card's own feed kept beside) is byte for byte ``orjson`` of its
    document; so is a store read back (no pages: encoded when written); the file reads back
    as the same history, with the same text."""
    s = _with_list_archived(generate(34, 80, second_damage=True))
    sb = sandbox_factory(s)
    actions = _feed_actions(sb, s.team.id)
    assert {action_class(a) for a in actions} == set(CLASSES)
    feed = _concurrent_feed(actions, 7, 4)
    card_feed = _concurrent_feed([a for a in actions if "card" in a["data"]][:30], 4, 3)
    card = next(a["data"]["card"]["id"] for a in actions if "card" in a["data"])
    history = BoardHistory.built(s.team.id, union_filter(), feed)
    history = history.with_card_feeds({card: card_feed.parts()})
    assert all(p.pages is not None for p in history.parts.values())
    text = b"".join(history.chunks())
    assert text == orjson.dumps(history.to_json())
    store = HistoryStore(tmp_path)
    assert store.save(history)
    back = store.load(s.team.id, union_filter())
    assert back == replace(history, dirty=False)
    assert back is not None
    assert all(p.pages is None for p in back.parts.values())
    assert gzip.decompress(store.path(s.team.id).read_bytes()) == text
    assert b"".join(back.chunks()) == text
    empty = BoardHistory.built("b" * 24, "f", Feed())
    assert b"".join(empty.chunks()) == orjson.dumps(empty.to_json())


def _feed_parts(actions: list[dict[str, Any]]) -> dict[Class, Part]:
    feed = Feed()
    feed.add(actions)
    return dict(feed.parts())


def test_merged_parts_keep_their_order_and_the_builders_card_infos(
    sandbox_factory: SandboxFactory,
) -> None:
    """Parts straight from their feeds (their rows' JSON, their builders' action ids and
    ``CardInfo`` with them), merged: the same ``History`` as one parse of every action, for
    every class choice. The merge keeps the places in the order the feeds had them, the first
    part's whole and first (it was a set's order: ``to_history`` sorted 117,000 of them from
    scratch after the long board's last page), and a card only one part tells of keeps the
    ``CardInfo`` its builder made (20,000 were made again)."""
    s = _with_list_archived(generate(35, 60, second_damage=True))
    sb = sandbox_factory(s)
    team, archive = _feed_actions(sb, s.team.id), _feed_actions(sb, s.archive.id)
    rng = random.Random(7)
    chunks = [team[i : i + 40] + rng.sample(team, 10) for i in range(0, len(team), 40)]
    chunks.append(archive)
    parts = [_feed_parts(chunk) for chunk in chunks]
    for kinds in (("members",), ("archived",), ("fields",), RESTORE_KINDS):
        chosen = classes_for(kinds)
        expected = parse_history(a for a in team + archive if action_class(a) in chosen)
        got = to_history(merge_parts(p[k] for p in parts for k in chosen))
        assert got == replace(expected, card_lists=tuple(sorted(set(expected.card_lists))))
    whole, rest = _feed_parts(team)["base"], _feed_parts(archive)["base"]
    assert len(set(whole.card_lists)) == len(whole.card_lists) > 50
    merged = merge_parts([whole, rest])
    assert merged.card_lists[: len(whole.card_lists)] == whole.card_lists
    history = to_history(merged)
    only_team = set(whole.cards) - set(rest.cards)
    assert only_team
    assert whole.cards.keys() & rest.cards.keys()  # and some the merge compares
    assert whole.infos is not None
    assert all(history.cards[c] is whole.infos[c] for c in only_team)
    # Parts without them (read from a store) give the same.
    back = [Part.from_json(orjson.loads(orjson.dumps(p.to_json()))) for p in (whole, rest)]
    assert to_history(merge_parts(back)) == history
