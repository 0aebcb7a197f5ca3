"""A read answered once with something that is not Trello's answer (a portal's or a proxy's
200, labelled JSON) is not served again from the HTTP cache (review R86d): the account
(``members/me``, kept an hour) and the board list (``members/me/boards``, ten minutes) were
stored, so every later run, on a healthy network, failed the same way, sent no request, and
told the user to check an API URL that was right. Over HTTP: a proxy in front of the sandbox
answers one path itself, then forwards everything."""

from __future__ import annotations

from pathlib import Path

import pytest

from trello_restore.api.cache import json_shaped
from trello_restore.errors import ExitCode
from trello_restore.sandbox.scenario import Scenario

from .conftest import Sandbox, sandbox_cli
from .test_cli_apply import _restore_args
from .test_redirects import _Proxy, proxied_fixture  # noqa: F401 (the fixture)

JSON = "application/json; charset=utf-8"


@pytest.mark.parametrize(
    ("path", "body"),
    [
        ("members/me?", b'{"message":"login required"}'),
        ("members/me?", b"{not json"),
        ("members/me?", b"<html><body>Sign in to the Wi-Fi</body></html>"),
        ("members/me/boards", b'{"message":"login required"}'),
        ("members/me/boards", b'[{"message":"login required"}]'),
        ("members/me?", b"[]"),  # R87c: a list, where one member is the answer
        ("members/me?", b'[{"id": "abc"}]'),
        ("members/me/boards", b"[]"),  # R87c: no board by that name, in a kept empty list
    ],
)
def test_an_answer_that_was_not_trello_s_is_not_served_again(
    path: str,
    body: bytes,
    proxied: tuple[Scenario, Sandbox, str],
    monkeypatch: pytest.MonkeyPatch,
    tmp_path: Path,
) -> None:
    s, sb, api_url = proxied
    invoke = sandbox_cli(sb, monkeypatch)
    args = (*_restore_args(s), "--dry-run", "--api-url", api_url)
    if path == "members/me/boards":  # the board by name: read from the board list
        args = tuple(s.team.name if a == s.team.id else a for a in args)
    _Proxy.answer = (path, body, JSON)
    bad = invoke(*args)
    wrong = ExitCode.USAGE if body == b"[]" and "boards" in path else ExitCode.UNREACHABLE
    assert bad.exit_code == wrong, bad.output
    _Proxy.answer = None
    good = invoke(*args)
    assert good.exit_code == ExitCode.OK, good.output
    assert "cache" not in good.stderr, good.stderr


def test_the_answer_read_again_replaces_the_bad_one_in_the_cache(
    proxied: tuple[Scenario, Sandbox, str], monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    """The account read again from the network is kept in its place: the run after the one
    that read it again sends no ``members/me`` request (its own limit, 100 per 15 minutes;
    R87b: a mutant that read it again without keeping it survived)."""
    s, sb, api_url = proxied
    invoke = sandbox_cli(sb, monkeypatch)
    args = (*_restore_args(s), "--dry-run", "--api-url", api_url)
    _Proxy.answer = ("members/me?", b'{"message":"login required"}', JSON)
    assert invoke(*args).exit_code == ExitCode.UNREACHABLE
    _Proxy.answer = None
    assert invoke(*args).exit_code == ExitCode.OK
    start = len(sb.server.request_log)
    third = invoke(*args)
    assert third.exit_code == ExitCode.OK, third.output
    assert not [r for r in sb.server.request_log[start:] if r.path == "/1/members/me"]


def test_only_the_start_makes_a_body_json_shaped() -> None:
    """A portal's HTML page has braces in its styles and scripts (R87b: ``search`` for
    ``match`` survived)."""
    assert not json_shaped(b"<html><style>body{margin:0}</style>[login]</html>")
    assert json_shaped(b' \n\t{"id": "x"}')
    assert json_shaped(b"[]")
