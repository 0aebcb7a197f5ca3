"""Secrets hygiene (issue 5, design.md §6): the API key and token never show up anywhere.

One test runs the whole cycle with a key and token issued for the scenario's mover — plan,
plan export, apply, undo, a one-shot apply and its undo, failing runs with ``-vv`` debug
logging, an unreachable API, an API that echoes the request (``Authorization`` header
included) into its error answers, ``--log-file`` (debug), ``--config`` (token in the config
file), ``--token -`` (token on stdin), ``--workspace``, and a cron run continued with
``--since last-run`` — and then searches
every byte the tool produced: stdout and stderr of every run, the log file, the plan files,
the journals, and every file under the test's directory (the state directory, the HTTP cache's
SQLite files, the last-run state, the locks, and the XDG config, cache and state homes) for
the key and the token, URL-encoded too, and for pieces of them (a message cut inside a
credential leaks its first characters). Zero hits. The sandbox's request log must never have
seen credentials in a URL.
"""

from __future__ import annotations

import json
import logging
import socket
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import quote, quote_plus

import pytest
from click.testing import CliRunner, Result

from trello_restore.cli import main
from trello_restore.errors import ExitCode
from trello_restore.sandbox.scenario import generate

from .conftest import SandboxFactory
from .truthcheck import incident_since


@pytest.fixture(autouse=True, scope="module")
def _restore_logging() -> Iterator[None]:
    """The command line configures the ``trello_restore`` logger (handlers, level, no
    propagation); put it back, so that later tests' ``caplog`` sees its records."""
    log = logging.getLogger("trello_restore")
    saved = (log.handlers[:], log.level, log.propagate)
    yield
    log.handlers[:], log.level, log.propagate = saved[0], saved[1], saved[2]


class _Echo(BaseHTTPRequestHandler):
    """An API that puts the request — its path and its ``Authorization`` header — into its
    answers (as some proxies' error pages do): ``/e401/…`` 401, ``/e500/…`` 500, ``/html/…``
    200 HTML; the digits after ``p`` (``/e401p150/…``) pad the body so that a one-line cut of
    it falls inside the credentials."""

    def log_message(self, format: str, *args: Any) -> None:
        """Quiet."""

    def do_GET(self) -> None:
        mode = self.path.split("/")[1]
        kind, _, pad = mode.partition("p")
        text = "x" * int(pad or 0) + f" {self.headers.get('Authorization', '')} {self.path}"
        status, ctype = {"e401": (401, "text/plain"), "e500": (500, "text/plain")}.get(
            kind, (200, "text/html")
        )
        body = text.encode()
        self.send_response(status)
        self.send_header("Content-Type", ctype)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)


@pytest.fixture(name="echo_url")
def echo_url_fixture() -> Iterator[str]:
    """``http://127.0.0.1:PORT``: the echoing API (append ``/<mode>/1``)."""
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Echo)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()
    server.server_close()


def _closed_port_url() -> str:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    return f"http://127.0.0.1:{port}/1"


def _needles(*secrets: str) -> dict[str, bytes]:
    """What must not appear: each secret, its URL-encoded forms, and 12-character pieces from
    its start, middle and end (what a message cut inside it would leave)."""
    out: dict[str, bytes] = {}
    for name, secret in zip(("key", "token"), secrets, strict=True):
        forms = {secret, quote(secret, safe=""), quote_plus(secret)}
        body = secret.removeprefix("ATTA")
        forms |= {body[:12], body[len(body) // 2 : len(body) // 2 + 12], body[-12:]}
        for form in forms:
            out[f"{name}:{form}"] = form.encode()
    return out


def test_key_and_token_appear_nowhere(
    sandbox_factory: SandboxFactory,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    echo_url: str,
) -> None:
    """The whole cycle, failures included: not a byte of the key or token in any output or
    file, and never a credential in a URL."""
    scenario = generate(13, 40)
    with scenario.world.lock:
        key, token = scenario.world.add_credentials(scenario.mover.id)
        other = next(m for m in scenario.world.members if m != scenario.mover.id)
        _, other_token = scenario.world.add_credentials(other)
    sb = sandbox_factory(scenario, token_limit=10_000, key_limit=10_000)
    home = tmp_path / "trello-restore-home"
    for name, value in {
        "TRELLO_API_URL": sb.base_url,
        "TRELLO_API_KEY": key,
        "TRELLO_TOKEN": token,
        "TRELLO_RESTORE_HOME": str(home),
        "TRELLO_RESTORE_MAX_RETRIES": "1",
        "HOME": str(tmp_path / "user-home"),
        "XDG_CONFIG_HOME": str(tmp_path / "xdg-config"),
        "XDG_CACHE_HOME": str(tmp_path / "xdg-cache"),
        "XDG_STATE_HOME": str(tmp_path / "xdg-state"),
    }.items():
        monkeypatch.setenv(name, value)
    monkeypatch.delenv("TRELLO_RESTORE_CONFIG", raising=False)
    outputs: list[tuple[str, str]] = []

    def run(*args: str, code: int = 0, input: str | None = None, **env: str | None) -> Result:
        with monkeypatch.context() as m:
            for name, value in env.items():
                if value is None:
                    m.delenv(name, raising=False)
                else:
                    m.setenv(name, value)
            result = CliRunner().invoke(main, list(args), input=input)
        outputs.append((" ".join(args), result.stdout + result.stderr))
        assert result.exit_code == code, result.output
        assert isinstance(result.exception, SystemExit | None), repr(result.exception)
        return result

    since = incident_since(scenario)
    # (--rate-limit: the sandbox's limits are raised, so the limiter need not keep under 100.)
    restore = ["--board", scenario.team.id, "--since", since, "--removed-by",
               scenario.mover.username, "--add-to-board", "--rate-limit", "1000"]  # fmt: skip
    plan = tmp_path / "plan.json"

    # Plan, with info and then debug logging; the plan as JSON on stdout.
    run(*restore, "--dry-run", "-v")
    run(*restore, "--dry-run", "-vv", "--format", "json")
    run(*restore, "--dry-run", "--plan-out", "-")
    # The one-shot form (--yes) and its undo.
    undo = ["--yes", "--include-board-memberships", "--rate-limit", "1000"]
    once = run(*restore, "--yes", "-vv")
    run("undo", *_journal(once), *undo, "--dry-run", "-v")
    run("undo", *_journal(once), *undo)
    # The plan exported (of the undo's removals too: the mover is the token's member, and a
    # plan file's apply, unlike a one-shot run, adds back what an undo took off); applied
    # (debug logging), applied again (resume), undone, all journaled.
    run(*restore, "--dry-run", "-vv", "--plan-out", str(plan))
    assert plan.is_file()
    applied = run("apply", str(plan), "-vv", "--rate-limit", "1000")
    assert "Summary: " in applied.stdout
    run("apply", str(plan), "--dry-run", "-v")
    run("apply", str(plan), "-v")
    run("undo", *_journal(applied), *undo, "-vv")

    # Failing runs with debug logging: a bad board, a revoked token, a key of no account, a
    # plan for another token, an unreachable API (one retry), and an API that echoes the
    # request into its answers (cut to one line inside the credentials, too).
    run("--board", "No Such Board", "--since", "7d", "--dry-run", "-vv", code=ExitCode.USAGE)
    run("--board", scenario.team.id, "--since", "7d", "--dry-run", "-vv",
        code=ExitCode.AUTH, TRELLO_TOKEN="ATTA" + "5" * 60)  # fmt: skip
    run("apply", str(plan), "-vv", code=ExitCode.AUTH, TRELLO_API_KEY="5" * 32)
    run("apply", str(plan), "-vv", code=ExitCode.USAGE, TRELLO_TOKEN=other_token)
    run("--board", scenario.team.id, "--since", "7d", "--dry-run", "-vv",
        code=ExitCode.UNREACHABLE, TRELLO_API_URL=_closed_port_url())  # fmt: skip
    # (A plan for another URL is refused before any request, so the unreachable apply gets a
    # copy of the plan made for the dead URL.)
    dead_url = _closed_port_url()
    dead_plan = tmp_path / "plan-dead-api.json"
    dead_plan.write_text(plan.read_text().replace(
        json.dumps(json.loads(plan.read_text())["api_url"]), json.dumps(dead_url), 1))  # fmt: skip
    run("apply", str(dead_plan), "-vv", "--api-url", dead_url, code=ExitCode.UNREACHABLE)
    echoes = {
        "e401": ExitCode.AUTH,
        "e401p150": ExitCode.AUTH,
        "e401p185": ExitCode.AUTH,
        "e500": ExitCode.UNREACHABLE,
        "e500p150": ExitCode.UNREACHABLE,
        "html": ExitCode.UNREACHABLE,
    }
    for mode, code in echoes.items():
        run("--board", scenario.team.id, "--since", "7d", "--dry-run", "-vv", code=code,
            TRELLO_API_URL=f"{echo_url}/{mode}/1")  # fmt: skip

    # Unattended runs: a log file (debug), the token in a config file (0600, then readable by
    # others: a warning, which must not quote it), the token on stdin, a workspace, and a cron
    # run from the last successful one, twice (the state file records where it ended).
    log_file = tmp_path / "logs" / "trello-restore.log"
    run(*restore, "--dry-run", "-vv", "--log-file", str(log_file))
    run("--board", "No Such Board", "--since", "7d", "--dry-run", "-vv",
        "--log-file", str(log_file), code=ExitCode.USAGE)  # fmt: skip
    run(*restore, "--yes", "--log-file", str(log_file), "-vv", "--format", "json")
    assert "DEBUG" in log_file.read_text()
    config = tmp_path / "config" / "config.toml"
    config.parent.mkdir()
    config.write_text(f'[trello]\napi_key = "{key}"\ntoken = "{token}"\n')
    config.chmod(0o600)
    run(*restore, "--dry-run", "-vv", "--config", str(config),
        TRELLO_API_KEY=None, TRELLO_TOKEN=None)  # fmt: skip
    config.chmod(0o644)
    warned = run(*restore, "--dry-run", "--config", str(config),
                 TRELLO_API_KEY=None, TRELLO_TOKEN=None)  # fmt: skip
    assert "chmod 600" in warned.stderr
    run(*restore, "--dry-run", "-vv", "--token", "-", input=token + "\n", TRELLO_TOKEN=None)
    run("--workspace", "acme-team", "--since", "7d", "--dry-run", "-vv", "--rate-limit", "1000")
    cron = ["--board", scenario.team.id, "--yes", "--quiet", "--format", "json",
            "--rate-limit", "1000"]  # fmt: skip
    run(*cron, "--since", since)
    run(*cron, "--since", "last-run", "--log-file", str(log_file))
    assert any((home / "state").rglob("last-run/*")), "the cron run recorded no state"

    # Every directory the runs made (the home and its state, cache, journals, locks and
    # last-run directories, the log file's) is the user's alone, parents included.
    made = [home, *(p for p in home.rglob("*") if p.is_dir()), log_file.parent]
    assert {str(p): oct(p.stat().st_mode & 0o777) for p in made if p.stat().st_mode & 0o077} == {}

    # Everything the runs wrote exists where expected, so the search below searched it. The
    # config file holds the token by design (the user's own file): it goes before the search.
    config.unlink()
    files = [p for p in tmp_path.rglob("*") if p.is_file()]
    assert any(p.suffix == ".sqlite" for p in (home / "cache").iterdir())
    journals = list((home / "state" / "journals").glob("*.jsonl"))
    assert journals
    assert all(j.read_text().count("\n") > 2 for j in journals)

    assert sum("DEBUG" in text for _, text in outputs) > 10  # -vv debug logs were searched
    needles = _needles(key, token)
    hits = [
        f"{name} in the output of: {command}"
        for command, text in outputs
        for name, needle in needles.items()
        if needle in text.encode()
    ]
    hits += [
        f"{name} in {path.relative_to(tmp_path)}"
        for path in files
        for name, needle in needles.items()
        if needle in path.read_bytes()
    ]
    assert hits == []
    assert sb.server.request_log
    assert not any(r.credentials_in_url for r in sb.server.request_log)
    assert {r.status for r in sb.server.request_log} >= {200}


def _journal(result: Result) -> list[str]:
    """The journal path an apply printed."""
    line = next(x for x in result.stderr.splitlines() if x.startswith("Journal: "))
    path = line.removeprefix("Journal: ")
    assert json.loads(Path(path).read_text().splitlines()[0])["type"] == "header"
    return [path]
