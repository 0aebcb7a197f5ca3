"""R88a: survivors of the mutation test of R87c's changes (0d58a97..13ad9ed), pinned (a card
member's add answered ``[]``: tests/test_write_answers.py): a board list answered ``{}`` is
not kept; the board list is kept on the healthy path, read once for
several names, and read fresh at most once; a key's small budget said with the key's usual.
And one R88a found without a mutant: a name typo read a list Trello had just given again."""

from __future__ import annotations

import logging
from typing import Any

import pytest

from trello_restore.boards import BOARD_LIST_MAX_AGE, resolve_boards
from trello_restore.errors import BoardNotFound, ExitCode
from trello_restore.limiter import TrelloCount
from trello_restore.sandbox.scenario import Scenario

from .conftest import Sandbox, sandbox_cli
from .test_cache_unpoisoned import JSON
from .test_cli_apply import _restore_args
from .test_limiter import _limiter, _send
from .test_redirects import _Proxy, proxied_fixture  # noqa: F401 (the fixture)


def _by_name(s: Scenario, api_url: str) -> tuple[str, ...]:
    return tuple(
        s.team.name if a == s.team.id else a
        for a in (*_restore_args(s), "--dry-run", "--api-url", api_url)
    )


def test_a_board_list_answered_as_an_object_is_not_served_again(
    proxied: tuple[Scenario, Sandbox, str], monkeypatch: pytest.MonkeyPatch
) -> None:
    """A mutant keeping ``{}`` as a listing (an empty iterable) survived."""
    s, sb, api_url = proxied
    invoke = sandbox_cli(sb, monkeypatch)
    _Proxy.answer = ("members/me/boards", b"{}", JSON)
    bad = invoke(*_by_name(s, api_url))
    assert bad.exit_code == ExitCode.UNREACHABLE, bad.output
    _Proxy.answer = None
    good = invoke(*_by_name(s, api_url))
    assert good.exit_code == ExitCode.OK, good.output


def test_the_board_list_is_served_from_the_cache_on_the_next_run(
    proxied: tuple[Scenario, Sandbox, str], monkeypatch: pytest.MonkeyPatch
) -> None:
    """Mutants that never kept the board list, or always read it fresh, survived; and a name
    not on the board list Trello has just given is refused without reading it again."""
    s, sb, api_url = proxied
    invoke = sandbox_cli(sb, monkeypatch)
    assert invoke(*_by_name(s, api_url)).exit_code == ExitCode.OK
    start = len(sb.server.request_log)
    second = invoke(*_by_name(s, api_url))
    assert second.exit_code == ExitCode.OK, second.output
    assert not [r for r in sb.server.request_log[start:] if r.path == "/1/members/me/boards"]
    # A typo, with the cache cold: one read of the list, not two.
    start = len(sb.server.request_log)
    typo = (*_by_name(s, api_url)[:1], "No such board zz", *_by_name(s, api_url)[2:])
    r = invoke(*typo, "--no-cache")
    assert r.exit_code == ExitCode.USAGE, r.output
    reads = [r for r in sb.server.request_log[start:] if r.path == "/1/members/me/boards"]
    assert len(reads) == 1, reads


class _Lists:
    """An ``Api`` whose ``members/me/boards`` is ``kept`` from the cache, ``fresh`` else."""

    def __init__(self, kept: list[str], fresh: list[str]) -> None:
        self.kept = [{"id": f"k{n}", "name": n, "url": ""} for n in kept]
        self.fresh = [{"id": f"k{n}", "name": n, "url": ""} for n in fresh]
        self.reads: list[float | None] = []
        self.cache_hits = 0

    def get(self, path: str, params: Any = None, *, max_age: Any = None, keep: bool = True) -> Any:
        assert path == "members/me/boards", path
        self.reads.append(max_age)
        self.cache_hits += bool(max_age)
        return self.kept if max_age else self.fresh


def test_names_found_in_the_kept_list_read_it_once() -> None:
    api = _Lists(["Alpha", "Beta"], ["Alpha", "Beta"])
    found = resolve_boards(api, ["Alpha", "Beta"])
    assert [b.name for b in found] == ["Alpha", "Beta"]
    assert api.reads == [BOARD_LIST_MAX_AGE]


def test_the_fresh_list_is_the_one_looked_in_for_the_next_name() -> None:
    """Two boards shared since the list was kept: one fresh read finds both; a name in
    neither list is refused after that one fresh read, not a second."""
    api = _Lists(["Alpha"], ["Alpha", "New one", "New two"])
    found = resolve_boards(api, ["New one", "New two", "Alpha"])
    assert [b.name for b in found] == ["New one", "New two", "Alpha"]
    assert api.reads == [BOARD_LIST_MAX_AGE, None]
    api = _Lists(["Alpha"], ["Alpha", "New one"])
    with pytest.raises(BoardNotFound):
        resolve_boards(api, ["New one", "Typo"])
    assert api.reads == [BOARD_LIST_MAX_AGE, None]


def test_a_key_budget_below_trello_s_usual_is_said_with_its_usual(
    caplog: pytest.LogCaptureFixture,
) -> None:
    """The key's usual is 300; both scopes in one answer are each said, once."""
    limiter, _ = _limiter(limit=100)
    with caplog.at_level(logging.INFO, logger="trello_restore.limiter"):
        _send(limiter, TrelloCount("token", 1, 50, 10.0), TrelloCount("key", 1, 200, 10.0))
        _send(limiter, TrelloCount("token", 1, 50, 10.0), TrelloCount("key", 1, 200, 10.0))
    assert caplog.messages == [
        "Trello's count gives this token 50 requests per window, not the usual 100: pacing to that",
        "Trello's count gives this key 200 requests per window, not the usual 300: pacing to that",
    ], caplog.messages
