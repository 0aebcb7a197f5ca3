"""Read-path rules that a mutation-testing review (R57a) found no test held, pinned over HTTP
against the sandbox through the real client stack where the sandbox can show them, one test
each (the mutant each one kills is in its docstring):

- a closed board named by its name is still found (``boards._my_boards``: every filter);
- without a history store the newest page of a board's and of a card's feed is never the HTTP
  cache's (``fetcher._page``, ``fetcher.card_actions``: ``max_age`` only with ``before``);
- a card feed whose first page is all one second is read on by id, whole, and ends
  (``fetcher.card_actions``);
- a body read without its head is extended from its newest action less ``OVERLAP``
  (``BoardHistory.since``);
- a head written by another run than the body beside it is not used to extend that body
  (``fetcher_stored._board_history``: the generation check);
- a card on a board the token cannot read is located as unreadable, not an error
  (``live._locate``);
- a crowded second is read again by every list, archived ones too (``fetcher._read_crowded``),
  and an action about a card copied from an asked one is not Trello ignoring ``idModels``
  (``fetched.models_ignored``);
- a plan that archives a list still warns of the cards it moves into it
  (``archived_lists.archived_targets``).
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from click.testing import Result

from trello_restore.api import ApiSettings, TrelloApi
from trello_restore.archived_lists import archived_targets
from trello_restore.fetched import models_ignored
from trello_restore.fetcher import board_actions, card_actions, fetch, resolve_boards
from trello_restore.history_store import HistoryStore, union_filter
from trello_restore.live import LiveBoard, locate_cards
from trello_restore.models import CardState, Change
from trello_restore.sandbox.scenario import Scenario, generate

from .conftest import T0, Sandbox, SandboxFactory, configless_cli, make_world, sandbox_cli
from .test_archived_target_list import change
from .test_fetch_fields import _Recording
from .test_history_store import _fast, _home

#: The sandbox runs at ``time_scale=100``: Trello's 10 s rate window lasts 0.1 s.
WINDOW_S = 0.1
#: When the crowded seconds below happen (after everything ``make_world`` logs).
BUSY = datetime(2025, 4, 2, 9, 0, 0, 400000, tzinfo=UTC)


def _api(sb: Sandbox, cache_dir: Path | None = None) -> TrelloApi:
    return TrelloApi(
        ApiSettings(
            key=sb.key,
            token=sb.token,
            api_url=sb.base_url,
            cache_dir=cache_dir,
            backoff_s=0.02,
            rate_window_s=WINDOW_S,
        )
    )


def _changes(result: Result) -> dict[str, dict[str, Any]]:
    """A JSON plan's changes by id (a change's id and evidence name the action it undoes)."""
    assert result.exit_code == 0, result.output
    return {c["change_id"]: c for c in json.loads(result.stdout)["changes"]}


def _undoing(changes: Mapping[str, Mapping[str, Any]], action_id: str) -> list[str]:
    """The ids of the changes whose evidence is the action ``action_id``."""
    return [k for k, c in changes.items() if c["evidence"]["action_id"] == action_id]


def _removal(s: Scenario, at: datetime, skip: set[str]) -> str:
    """A member of a team card (one not in ``skip``) removed by the mover at ``at``: the
    removal's action id."""
    w = s.world
    cards = sorted(
        (c for c in w.cards.values() if c.id_board == s.team.id and not c.closed and c.id_members),
        key=lambda c: c.id,
    )
    card = next(c for c in cards if c.id not in skip)
    return w.remove_member_from_card(card.id, card.id_members[0], s.mover.id, at).id


# ------------------------------------------------------------------------------------- bo2


def test_a_closed_board_named_by_its_name_is_found(
    sandbox_factory: SandboxFactory, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """README: a closed board named with ``--board`` is read as any other, by its name too:
    the name is looked up among every board of the token's member (``members/me/boards``,
    ``filter=all``), closed ones included. A dry run naming the closed (over HTTP) board by
    name plans and says it is closed; the mutant asked for open boards only, and the run
    ended "no board named …" (R57a: mutant bo2)."""
    s = generate(7, 40)
    sb = sandbox_factory(s, time_scale=100)
    invoke = configless_cli(sb, monkeypatch, tmp_path)
    shut = sb.session().put(
        f"{sb.base_url}/boards/{s.archive.id}", params={"closed": "true"}, timeout=30
    )
    assert shut.status_code == 200, shut.text
    got = invoke("--board", s.archive.name, "--since", s.incident_at.isoformat(),
                 "--removed-by", s.mover.username, "--add-to-board", "--dry-run",
                 "--format", "json")  # fmt: skip
    assert got.exit_code in (0, 7), got.output
    plan = json.loads(got.stdout)
    assert plan["changes"], "the scenario's changes are on the archive board"
    closed = f'board "{s.archive.name}" ({s.archive.id}) is closed (archived)'
    assert any(w.startswith(closed) for w in plan["warnings"]), plan["warnings"]
    assert closed in got.stderr


# ------------------------------------------------------------------------------ fe2, fe12


def test_without_a_store_the_newest_page_of_each_feed_is_read_from_trello_each_time(
    sandbox_factory: SandboxFactory, tmp_path: Path
) -> None:
    """The HTTP cache may serve a page of older history (``before=``: it only grows at the
    head), never a feed's newest page: with no history store, each fetch asks Trello for the
    board's newest actions and each card feed read asks for the card's, and sees what was
    done since. Two fetches through one cache, an action between them: two requests for each
    newest page, and the new action read both from the board's and from the card's feed; the
    mutants served the second newest page from the cache (R57a: mutants fe2, fe12)."""
    sw = make_world()
    w, i = sw.world, sw.ids
    sb = sandbox_factory(sw, token_limit=10_000, key_limit=10_000)
    cache = tmp_path / "cache"
    board_feed, card_feed = f"/1/boards/{i['team']}/actions", f"/1/cards/{i['c1']}/actions"
    seen: list[tuple[set[str], set[str]]] = []  # the ids of the fetch's and the card's actions
    for step in range(2):
        if step:
            w.remove_member_from_card(
                i["c1"], i["ana"], i["lead"], w.last_time + timedelta(minutes=1)
            )
        with _api(sb, cache) as api:
            fetched = fetch(api, resolve_boards(api, [i["team"]]))  # no store
            board = {a.id for a in fetched.history.member_actions}
            own = {str(a["id"]) for a in card_actions(api, i["c1"])}
            seen.append((board, own))
    newest = [
        r.path
        for r in sb.server.request_log
        if r.path in (board_feed, card_feed) and "before" not in r.query_names
    ]
    assert sorted(newest) == sorted([board_feed, card_feed] * 2), newest
    (first, first_own), (second, second_own) = seen
    new = w.card_actions(i["c1"])[-1]
    assert new.type == "removeMemberFromCard"
    assert new.id in second - first
    assert new.id in second_own - first_own


# ------------------------------------------------------------------------------ fe9, fe10


@pytest.mark.parametrize(("cursor", "crowd"), [("second", 1000), ("exact", 1200)])
def test_a_card_feed_whose_first_page_is_one_second_is_read_whole_and_ends(
    sandbox_factory: SandboxFactory, monkeypatch: pytest.MonkeyPatch, cursor: str, crowd: int
) -> None:
    """A card's own feed (``fetcher.card_actions``) pages by date; a page that is all one
    second gives the same page again for ``before=<the end of that second>``, nothing new:
    the next page asks ``before=<the oldest id>`` and the reading goes on to the older
    actions, then ends. ``crowd`` archive toggles of one card in one millisecond, over its
    history from ``make_world``: every action once, in a few requests (Trello's id cursor by
    its second, ``id_cursor=second``: the second holds one page; by id order, ``exact``: more).
    The mutants asked for the same date again for ever (fe9), or stopped at the repeated page
    and lost the older actions (fe10) (R57a: mutants fe9, fe10)."""
    sw = make_world()
    w, i = sw.world, sw.ids
    older = [a.id for a in w.card_actions(i["c1"])]
    monkeypatch.setattr(type(w), "_tick", lambda self, when: when or self.clock())
    toggles = [w.set_card_closed(i["c1"], k % 2 == 0, i["lead"], BUSY) for k in range(crowd)]
    sb = sandbox_factory(sw, id_cursor=cursor, date_cursor=cursor)
    with _api(sb) as api:
        bounded = _Recording(api, most=8)
        got = card_actions(bounded, i["c1"], action_types="addMemberToCard,createCard,updateCard")
    ids = [str(a["id"]) for a in got]
    assert len(ids) == len(set(ids))
    want = {a.id for a in toggles if a is not None}
    assert len(want) == crowd
    kept = {
        a.id
        for a in w.card_actions(i["c1"])
        if a.id in set(older) and a.type in ("addMemberToCard", "createCard", "updateCard")
    }
    assert kept, "make_world's card has older actions"
    assert set(ids) == want | kept
    assert len(bounded.calls) <= 4


# ----------------------------------------------------------------------------- hs2, fs1


def _store_run(
    sandbox_factory: SandboxFactory, monkeypatch: pytest.MonkeyPatch
) -> tuple[Scenario, Callable[..., Result], HistoryStore]:
    """A small scenario over the command line: a dry run (``run(*extra)``, its JSON plan's
    result) keeping the history in the test's home, and that home's store."""
    s = generate(23, 40)
    sb = sandbox_factory(s, time_scale=100)
    invoke = sandbox_cli(sb, monkeypatch)
    home = _home()
    args = (*_fast(home), "--board", s.team.id, "--since", s.incident_at.isoformat())

    def run(*extra: str) -> Result:
        return invoke(*args, "--removed-by", s.mover.username, "--dry-run", "--format", "json",
                      *extra)  # fmt: skip

    return s, run, HistoryStore(home / "cache")


def test_a_store_read_without_its_head_rereads_its_last_minute(
    sandbox_factory: SandboxFactory, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A board's history body read without a usable head (none: a run killed between the two
    writes, or removed) is extended from its newest action less ``OVERLAP``: Trello's
    ``since`` is exclusive and by the second, so a removal logged in the same second as the
    newest stored action, after the run, is still read, and planned from it (its evidence) as
    a run without the store plans it, not reconstructed from the members alone. The mutant
    asked ``since=<the newest>`` and never saw it (R57a: mutant hs2)."""
    s, run, store = _store_run(sandbox_factory, monkeypatch)
    w = s.world
    # The team board's newest action early in its second, the world's newest too.
    at = (w.last_time + timedelta(minutes=1)).replace(microsecond=100_000)
    adder = next(
        c for c in sorted(w.cards.values(), key=lambda c: c.id)
        if c.id_board == s.team.id and not c.closed
        and set(w.boards[s.team.id].memberships) - set(c.id_members)
    )  # fmt: skip
    newcomer = sorted(set(w.boards[s.team.id].memberships) - set(adder.id_members))[0]
    w.add_member_to_card(adder.id, newcomer, s.mover.id, at)
    first = _changes(run())
    kept = store.load(s.team.id, union_filter())
    assert kept is not None
    assert kept.newest is not None
    assert kept.newest[0] == at
    store.head_path(s.team.id).unlink()
    removal = _removal(s, at + timedelta(milliseconds=200), {adder.id})
    assert w.last_time.replace(microsecond=0) == at.replace(microsecond=0)
    planned = _changes(run())
    cold = _changes(run("--no-cache"))
    assert not _undoing(first, removal)
    assert len(_undoing(cold, removal)) == 1
    assert planned == cold


def test_a_head_another_run_wrote_over_an_older_body_does_not_extend_it(
    sandbox_factory: SandboxFactory, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A store's head and body are written by each run in turn, the body first; a head whose
    generation is not its body's was written by another run (over a body it never saw
    through, or a body put back): its ``since`` says nothing of what the body holds, so the
    body is extended from its own newest action. Here the head is a later run's and the body
    an earlier one's; a removal made between them and one made after both are each read and
    planned, as a run without the store plans them. The mutant extended the older body from
    the head's ``since`` and lost the first removal (R57a: mutant fs1)."""
    s, run, store = _store_run(sandbox_factory, monkeypatch)
    w = s.world
    first = _changes(run())
    body = store.path(s.team.id)
    older = body.read_bytes()
    between = _removal(s, w.last_time + timedelta(minutes=5), set())
    second = _changes(run())
    assert len(_undoing(second, between)) == 1
    body.write_bytes(older)  # the head stays the second run's
    taken = {c["card"]["id"] for c in second.values() if c.get("card")}
    after = _removal(s, w.last_time + timedelta(minutes=5), taken)
    planned = _changes(run())
    cold = _changes(run("--no-cache"))
    assert not _undoing(first, between)
    assert not _undoing(second, after)
    assert len(_undoing(cold, between)) == len(_undoing(cold, after)) == 1
    assert planned == cold


# ------------------------------------------------------------------------------------- lv3


def test_a_card_on_a_board_the_token_cannot_read_is_located_as_unreadable(
    sandbox_factory: SandboxFactory,
) -> None:
    """``live.locate_cards``: a card of a change that its board's listing no longer has is read
    by id; on a board the token's member is not on, Trello refuses the read (401), and the
    card is recorded as unreadable (``Located.error``, what Trello said), beside one moved to
    a board it can read and one deleted: the apply and undo go on and say so, not an error
    exit before anything is written. The mutant let the refusal out of the read
    (R57a: mutant lv3)."""
    sw = make_world()
    w, i = sw.world, sw.ids
    at = T0 + timedelta(days=30)
    hidden = w.create_board("Outsider's", i["outsider"], at)
    inbox = w.create_list(hidden.id, "Inbox", i["outsider"], at)
    w.move_card_to_board(i["c1"], hidden.id, inbox.id, i["lead"], at)
    w.move_card_to_board(i["c2"], i["archive"], i["shelf"], i["lead"], at)
    w.delete_card(i["c3"], i["lead"], at)
    sb = sandbox_factory(sw)
    refused = sb.get(f"/cards/{i['c1']}")
    assert refused.status_code == 401, refused.text
    live = {i["team"]: LiveBoard(i["team"], {})}
    with _api(sb) as api:
        got = locate_cards(api, live, [(i["team"], i[c]) for c in ("c1", "c2", "c3")])
    located = got[i["team"]].located
    assert located[i["c1"]].card is None
    assert not located[i["c1"]].deleted
    assert located[i["c1"]].error
    assert "unauthorized" in located[i["c1"]].error or "permission" in located[i["c1"]].error
    moved = located[i["c2"]].card
    assert moved is not None
    assert moved.board_id == i["archive"]
    assert located[i["c3"]].deleted


# ------------------------------------------------------------------------------- fe4, fd1


def test_a_crowded_second_is_read_again_by_its_archived_lists_too(
    sandbox_factory: SandboxFactory, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A second holding more than a page of a board's actions is read again by the models they
    concern (``idModels``): its cards, and its lists with the list actions asked for, every
    list (``filter=all``), archived ones included. A list archived in the same millisecond
    as 1,100 card archives (a bulk clean-up), logged first so the feed's own pages never
    reach it: its ``updateList`` is read, once, as every card's; the mutant asked for the open
    lists only and lost it (R57a: mutant fe4)."""
    sw = make_world()
    w, i = sw.world, sw.ids
    made = datetime(2025, 4, 1, 12, 0, tzinfo=UTC)
    cards = [
        w.create_card(i["doing"], f"bulk {k}", i["lead"], made + timedelta(seconds=k)).id
        for k in range(1100)
    ]
    shelf = w.create_list(i["team"], "Shelf", i["lead"], made + timedelta(hours=1)).id
    monkeypatch.setattr(type(w), "_tick", lambda self, when: when or self.clock())
    archived_list = w.set_list_closed(shelf, True, i["lead"], BUSY)
    archives = [w.set_card_closed(c, True, i["lead"], BUSY) for c in cards]
    assert archived_list is not None
    assert all(a is not None for a in archives)
    sb = sandbox_factory(sw, token_limit=10_000, key_limit=10_000)
    with _api(sb) as api:
        read = board_actions(api, i["team"], action_types="updateCard:closed,updateList:closed")
    ids = [str(a["id"]) for a in read]
    assert len(ids) == len(set(ids))
    assert {a.id for a in archives if a is not None} <= set(ids)
    assert archived_list.id in ids
    lists = [r for r in sb.server.request_log if r.path == f"/1/boards/{i['team']}/lists"]
    assert lists, "the second was read again by the board's lists"


def test_an_action_about_a_copy_of_an_asked_card_is_not_trello_ignoring_the_ids() -> None:
    """``models_ignored``: a crowded second's page asked for by cards' ids (``idModels``) may
    hold the ``copyCard`` actions of copies made from one of them (its ``data.card`` the copy,
    ``data.cardSource`` the card asked for: R52a); that is Trello answering the ids asked, and
    the page is split on, not taken for Trello ignoring them (a false warning, "Trello
    answered actions of other cards", and the rest of the second left unread). The sandbox
    logs no ``copyCard``, so this is the pure rule, over a page as Trello gives it
    (R57a: mutant fd1)."""
    source, other = "5" * 24, "6" * 24
    page = [
        {
            "id": f"{k:024x}",
            "type": "copyCard",
            "date": "2025-04-02T09:00:00.400Z",
            "data": {
                "card": {"id": f"{k + 1000:024x}", "name": f"copy {k}"},
                "cardSource": {"id": source, "name": "template"},
                "list": {"id": "7" * 24, "name": "Doing"},
            },
        }
        for k in range(999)
    ]
    page.append(
        {
            "id": "8" * 24,
            "type": "updateCard",
            "date": "2025-04-02T09:00:00.400Z",
            "data": {"card": {"id": other}, "old": {"closed": False}},
        }
    )
    assert not models_ignored(page, [source, other])
    assert models_ignored(page, [other])  # the copies concern none of the ids asked for


# ------------------------------------------------------------------------------------- al1


def test_a_plan_that_archives_a_list_still_warns_of_the_cards_it_moves_into_it() -> None:
    """``archived_targets``: only a list the changes *unarchive* (``set_list_closed`` to
    open) is left out of the warning that cards moved back into an archived list stay hidden;
    a change that archives it (to closed) hides them all the same. The list archived now, a
    plan that archives it (again) and moves a card back into it: one warning. The mutant took
    any ``set_list_closed`` for an unarchive and said nothing. Pure: such a plan is seldom
    made from one state (a list its own changes archive is open when planned), and the
    apply's live read gives this function its archived lists as the plan's state does
    (R57a: mutant al1)."""
    changes: list[Change] = [
        change("set_list_closed", "", True, "L2", list_name="Review"),
        change("move_card_to_list", "k1", "L2", "L1", value_name="Review"),
    ]
    cards = {"k1": CardState("k1", "K1", "sk1", "B1", "L1", False, ())}
    assert archived_targets(changes, {"L1": False, "L2": True}, cards) == [
        'list "Review" on board "Team" is archived now: the card moved back or unarchived into '
        "it stays hidden until it is unarchived; unarchive it, or restore its archiving too "
        "(--restore archived, with a --by that covers who archived it)"
    ]
    unarchived = [change("set_list_closed", "", False, "L2"), changes[1]]
    assert archived_targets(unarchived, {"L1": False, "L2": True}, cards) == []
