"""Redirects are never followed (review R37b), over HTTP: a proxy in front of the sandbox
answers some requests with a redirect to another server, which records what reaches it.

- A write redirected (307/308 keep the method and body) was sent on and journaled *applied*,
  though Trello never got it; a resume then skipped it as done, and undo reported members
  removed that were still there. Now the redirect is the answer: the write *failed*, nothing
  reaches the other server, and a run without the redirect makes it.
- A read redirected (even to the same host) stored its first request, with the credentials
  header, in the HTTP cache. Now one line, exit 4, names the redirect; the cache holds neither
  the key nor the token."""

from __future__ import annotations

import json
import os
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import ClassVar

import pytest
import requests

from trello_restore.errors import ExitCode
from trello_restore.journal import Journal
from trello_restore.sandbox.scenario import Scenario, generate

from .conftest import Sandbox, SandboxFactory, one_line_error, sandbox_cli
from .test_cli_apply import _restore_args


class _Proxy(BaseHTTPRequestHandler):
    """Forwards to the sandbox (``upstream``); answers 307 to ``elsewhere`` for requests whose
    method and path match ``redirect`` (method, a piece of the path), and itself, 200 with
    ``answer``'s body and content type, for those that match its piece of the path."""

    upstream: ClassVar[str] = ""
    elsewhere: ClassVar[str] = ""
    redirect: ClassVar[list[tuple[str, str]]] = []
    redirected: ClassVar[int] = 0
    answer: ClassVar[tuple[str, bytes, str] | None] = None

    def log_message(self, *_: object) -> None:
        pass

    def _any(self) -> None:
        if any(self.command == m and piece in self.path for m, piece in self.redirect):
            type(self).redirected += 1
            self.send_response(307)
            self.send_header("Location", self.elsewhere + self.path)
            self.send_header("Content-Length", "0")
            self.end_headers()
            return
        if self.answer is not None and self.answer[0] in self.path:
            self.send_response(200)
            self.send_header("Content-Type", self.answer[2])
            self.send_header("Content-Length", str(len(self.answer[1])))
            self.end_headers()
            self.wfile.write(self.answer[1])
            return
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length) if length else None
        headers = {k: v for k, v in self.headers.items() if k.lower() not in ("host",)}
        answer = requests.request(
            self.command, self.upstream + self.path, headers=headers, data=body, timeout=30
        )
        self.send_response(answer.status_code)
        for k, v in answer.headers.items():
            if k.lower() not in ("content-length", "transfer-encoding", "connection"):
                self.send_header(k, v)
        self.send_header("Content-Length", str(len(answer.content)))
        self.end_headers()
        self.wfile.write(answer.content)

    do_GET = do_POST = do_PUT = do_DELETE = _any


class _Elsewhere(BaseHTTPRequestHandler):
    """Another server: records every request and answers 200 ``{}``."""

    seen: ClassVar[list[str]] = []

    def log_message(self, *_: object) -> None:
        pass

    def _any(self) -> None:
        self.seen.append(f"{self.command} {self.path} {self.headers.get('Authorization')}")
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", "2")
        self.end_headers()
        self.wfile.write(b"{}")

    do_GET = do_POST = do_PUT = do_DELETE = _any


def _serve(handler: type[BaseHTTPRequestHandler]) -> tuple[ThreadingHTTPServer, str]:
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server, f"http://127.0.0.1:{server.server_address[1]}"


@pytest.fixture(name="proxied")
def proxied_fixture(
    sandbox_factory: SandboxFactory, monkeypatch: pytest.MonkeyPatch
) -> Iterator[tuple[Scenario, Sandbox, str]]:
    """A small incident scenario served by the sandbox behind the proxy: (scenario, sandbox,
    the proxy's API URL)."""
    s = generate(5, 20)
    sb = sandbox_factory(s, latency_ms=0)
    elsewhere, elsewhere_url = _serve(_Elsewhere)
    _Elsewhere.seen = []
    _Proxy.upstream = sb.base_url.removesuffix("/1")
    _Proxy.elsewhere = elsewhere_url
    _Proxy.redirect = []
    _Proxy.redirected = 0
    _Proxy.answer = None
    proxy, proxy_url = _serve(_Proxy)
    try:
        yield s, sb, proxy_url + "/1"
    finally:
        for server in (proxy, elsewhere):
            server.shutdown()
            server.server_close()


def test_a_redirected_write_is_not_journaled_as_made(
    proxied: tuple[Scenario, Sandbox, str], monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    s, sb, api_url = proxied
    invoke = sandbox_cli(sb, monkeypatch)
    plan = tmp_path / "plan.json"
    made = invoke(*_restore_args(s), "--dry-run", "--plan-out", str(plan), "--api-url", api_url)
    assert made.exit_code == 0, made.output
    _Proxy.redirect = [("POST", "/idMembers")]
    journal = tmp_path / "j.jsonl"
    first = invoke("apply", str(plan), "--journal", str(journal), "--yes", "--api-url", api_url)
    assert first.exit_code != ExitCode.OK, first.output
    assert "redirect" in first.output
    assert _Elsewhere.seen == []
    latest = Journal.read(journal).latest().values()
    cards = [r for r in latest if r.action == "add_member_to_card"]
    assert cards
    assert all(r.status != "applied" for r in cards), [r.status for r in cards]
    _Proxy.redirect = []
    again = invoke("apply", str(plan), "--journal", str(journal), "--yes", "--api-url", api_url)
    assert again.exit_code == ExitCode.OK, again.output
    doc = json.loads(plan.read_text())
    for c in doc["changes"]:
        if c["action"] == "add_member_to_card":
            assert c["member"]["id"] in s.world.cards[c["card"]["id"]].id_members


def test_a_redirected_write_stops_the_run(
    proxied: tuple[Scenario, Sandbox, str], monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    """Every card add is redirected: the first stops the run, exit 4, with the redirect's line
    and the resume command; the writes after it are not sent (each was, and failed the same
    way, and the run ended exit 5: R37b's open finding)."""
    s, sb, api_url = proxied
    invoke = sandbox_cli(sb, monkeypatch)
    plan = tmp_path / "plan.json"
    made = invoke(*_restore_args(s), "--dry-run", "--plan-out", str(plan), "--api-url", api_url)
    assert made.exit_code == 0, made.output
    adds = sum(c["action"] == "add_member_to_card" for c in json.loads(plan.read_text())["changes"])
    assert adds >= 4
    _Proxy.redirect = [("POST", "/idMembers")]
    r = invoke("apply", str(plan), "--yes", "--workers", "2", "--format", "json",
               "--api-url", api_url)  # fmt: skip
    assert r.exit_code == ExitCode.UNREACHABLE, r.output
    summary = json.loads(r.stdout)
    assert summary["outcome"] == "stopped"
    assert "with a redirect to 127.0.0.1:" in summary["apply"]["stopped"]
    assert summary["apply"]["not_attempted"] > 0
    assert "). Once it is fixed: run trello-restore apply" in r.stderr
    assert _Proxy.redirected <= 2  # two workers: one each at most
    assert _Elsewhere.seen == []


@pytest.mark.parametrize("what", ["members/me", "/actions"])
def test_a_redirected_read_is_one_line_and_leaves_no_credential_in_the_cache(
    proxied: tuple[Scenario, Sandbox, str],
    monkeypatch: pytest.MonkeyPatch,
    tmp_path: Path,
    what: str,
) -> None:
    s, sb, api_url = proxied
    invoke = sandbox_cli(sb, monkeypatch)
    _Proxy.redirect = [("GET", what)]
    r = invoke(*_restore_args(s), "--dry-run", "--api-url", api_url)
    one_line_error(r, ExitCode.UNREACHABLE, "with a redirect to 127.0.0.1:", "(HTTP 307)",
                   "does not follow")  # fmt: skip
    assert _Elsewhere.seen == []
    home = Path(os.environ["TRELLO_RESTORE_HOME"])
    stored = b"".join(p.read_bytes() for p in home.rglob("*") if p.is_file())
    assert list(home.rglob("http-*"))  # the HTTP cache was in use
    assert sb.token.encode() not in stored
    assert sb.key.encode() not in stored
