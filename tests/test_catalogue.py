"""The bad-input catalogue (issue 5): every bad input, through the real command line.

Each case runs ``trello-restore`` in-process (``CliRunner``, with the root logger as a real
process has it: ``conftest.run_cli``) against a sandbox Trello serving a small incident
scenario, and must give the documented exit code, exactly one line on stderr
that says what to do (a key phrase per case), no traceback, and no write to Trello: not one
POST, PUT or DELETE in the sandbox's request log (nor in the fake API's, for the cases that
talk to it).

The sandbox and its world are shared by the whole module: no case changes the world (the
boards, members and credentials the cases need are created once, before the first case), and
each case has its own state directory (``TRELLO_RESTORE_HOME``, see ``conftest._state_home``).
A tiny local HTTP server stands in for a Trello that answers HTML, garbage or wrong JSON, or
500s. Cases are data: ``Case.make`` builds the command line (and any files) in the case's own
temporary directory.
"""

from __future__ import annotations

import contextlib
import json
import logging
import os
import socket
import subprocess
import sys
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner, Result

from trello_restore.cli import main
from trello_restore.errors import ExitCode
from trello_restore.locks import apply_lock, lock_dir, lock_names
from trello_restore.planfile import plan_digest
from trello_restore.sandbox.scenario import Scenario, generate
from trello_restore.sandbox.server import SandboxOptions, SandboxServer

from .conftest import run_cli, trello_env
from .truthcheck import incident_since

WRITES = frozenset({"POST", "PUT", "DELETE", "PATCH"})
#: A member id that no world has.
STRANGER_ID = "5f00000000000000000000ff"


@pytest.fixture(autouse=True, scope="module")
def _restore_logging() -> Iterator[None]:
    """The command line configures the ``trello_restore`` logger (handlers, level, no
    propagation); put it back, so that later tests' ``caplog`` sees its records."""
    log = logging.getLogger("trello_restore")
    saved = (log.handlers[:], log.level, log.propagate)
    yield
    log.handlers[:], log.level, log.propagate = saved[0], saved[1], saved[2]


# ------------------------------------------------------------------------------ fake Trello


class _FakeTrello(BaseHTTPRequestHandler):
    """Answers by the first path segment: ``/html/1/...`` a login page, ``/garbage/1/...``
    JSON that does not parse, ``/error/1/...`` HTTP 500, ``/shape/1/...`` a member for
    ``members/me`` and JSON of the wrong shape for everything else."""

    server: _FakeServer

    def log_message(self, format: str, *args: Any) -> None:
        """Quiet."""

    def _answer(self) -> None:
        self.server.methods.append(self.command)
        mode, _, rest = self.path.lstrip("/").partition("/")
        status, ctype, body = 200, "application/json", b""
        if mode == "html":
            ctype, body = "text/html; charset=utf-8", b"<!DOCTYPE html><html>Log in</html>"
        elif mode == "garbage":
            body = b'{"id": "5f0000000000000000000001", "user'
        elif mode == "error":
            status, ctype, body = 500, "text/plain", b"Internal Server Error"
        elif rest.startswith("1/members/me"):
            body = b'{"id": "5f0000000000000000000001", "username": "x", "fullName": "X"}'
        else:
            body = b'"this is a string, not a board"'
        self.send_response(status)
        self.send_header("Content-Type", ctype)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    do_GET = do_POST = do_PUT = do_DELETE = _answer


class _FakeServer(ThreadingHTTPServer):
    methods: list[str]


# ------------------------------------------------------------------------------- the world


@dataclass
class Trello:
    """The module's sandbox, its scenario, and what the cases need from them."""

    scenario: Scenario
    server: SandboxServer
    fake: _FakeServer
    #: A reviewed plan (``--dry-run --plan-out``) of the scenario, with grants and card changes.
    plan: Path
    #: A plan made offline from the team board's export.
    offline_plan: Path
    #: The team board's export.
    export: Path
    #: A token of a member who is on no board.
    outsider_token: str
    #: A token of a team member who is not the plan's account.
    other_token: str
    #: URLs of the two boards named "Twin Board".
    twins: tuple[str, str]

    @property
    def env(self) -> dict[str, str]:
        """The environment of every case: the sandbox and the mover's credentials; reads are
        not retried (so unreachable APIs fail at once)."""
        return {
            **trello_env(self.server.base_url, self.scenario.key, self.scenario.token),
            "TRELLO_RESTORE_MAX_RETRIES": "0",
        }

    def fake_url(self, mode: str) -> str:
        """The fake API's base URL in a mode (``html``, ``garbage``, ``error``, ``shape``)."""
        return f"http://127.0.0.1:{self.fake.server_address[1]}/{mode}/1"

    @property
    def since(self) -> str:
        """The incident's time."""
        return incident_since(self.scenario)


@pytest.fixture(name="trello", scope="module")
def trello_fixture(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Trello]:
    """A scenario with twin boards, an outsider and a second token; served over loopback;
    a reviewed plan and an offline plan of it; and the fake API."""
    scenario = generate(7, 40)
    world = scenario.world
    with world.lock:
        twins = tuple(world.create_board("Twin Board", scenario.mover.id).url for _ in range(2))
        outsider = world.add_member("outsider", "Out Sider")
        _, outsider_token = world.add_credentials(outsider.id)
        other = next(
            m for m in world.boards[scenario.team.id].memberships if m != scenario.mover.id
        )
        _, other_token = world.add_credentials(other)
    server = SandboxServer(world, SandboxOptions(token_limit=10_000, key_limit=10_000))
    server.start()
    fake = _FakeServer(("127.0.0.1", 0), _FakeTrello)
    fake.methods = []
    threading.Thread(target=fake.serve_forever, daemon=True).start()
    home = tmp_path_factory.mktemp("catalogue")
    env: dict[str, str | None] = {
        **trello_env(server.base_url, scenario.key, scenario.token),
        "TRELLO_RESTORE_HOME": str(home / "home"),
        "TRELLO_RESTORE_CONFIG": None,
    }
    since = incident_since(scenario)
    plan, offline, export = home / "plan.json", home / "offline.json", home / "team.json"
    made = CliRunner().invoke(
        main,
        ["--board", scenario.team.id, "--since", since, "--removed-by", scenario.mover.username,
         "--add-to-board", "--dry-run", "--plan-out", str(plan)],
        env=env,
    )  # fmt: skip
    assert made.exit_code == 0, made.output
    assert len(json.loads(plan.read_text())["changes"]) >= 2
    export.write_text(json.dumps(scenario.export()))
    made = CliRunner().invoke(
        main,
        ["--from-export", str(export), "--since", since, "--dry-run", "--plan-out", str(offline)],
        env=env,
    )
    assert made.exit_code == 0, made.output
    try:
        yield Trello(
            scenario=scenario,
            server=server,
            fake=fake,
            plan=plan,
            offline_plan=offline,
            export=export,
            outsider_token=outsider_token,
            other_token=other_token,
            twins=(twins[0], twins[1]),
        )
    finally:
        fake.shutdown()
        fake.server_close()
        server.stop()


# ------------------------------------------------------------------------------- the cases


@dataclass
class Ctx:
    """What a case's ``make`` gets: the module's Trello, the case's own directory, and a
    monkeypatch (for Ctrl-C)."""

    trello: Trello
    tmp: Path
    monkeypatch: pytest.MonkeyPatch
    #: Closed when the case's command has run (locks held by "another run").
    stack: contextlib.ExitStack

    @property
    def team(self) -> str:
        return self.trello.scenario.team.id

    def plan_args(self, *extra: str) -> list[str]:
        """A dry run of the team board since the incident."""
        return ["--board", self.team, "--since", self.trello.since, "--dry-run", *extra]

    def edited_plan(self, change: Callable[[dict[str, Any]], None]) -> str:
        """A copy of the reviewed plan, edited."""
        doc = json.loads(self.trello.plan.read_text())
        change(doc)
        path = self.tmp / "edited-plan.json"
        path.write_text(json.dumps(doc, indent=2))
        return str(path)

    def file(self, name: str, content: str | bytes) -> str:
        """A file with this content in the case's directory."""
        path = self.tmp / name
        if isinstance(content, bytes):
            path.write_bytes(content)
        else:
            path.write_text(content)
        return str(path)

    def journal(self, header: dict[str, Any] | None = None, **record: Any) -> str:
        """A journal of one applied card change on the team board (as apply writes it)."""
        s = self.trello.scenario
        head = {
            "type": "header",
            "format": "trello-restore-journal",
            "format_version": 1,
            "plan_digest": "ab" * 32,
            "api_url": self.trello.server.base_url,
            "account_id": s.mover.id,
            "created_at": "2025-11-03T00:00:00.000Z",
            **(header or {}),
        }
        line = {
            "change_id": "c-0123456789abcdef",
            "op": "apply",
            "action": "add_member_to_card",
            "status": "applied",
            "board_id": s.team.id,
            "member_id": s.mover.id,
            "card_id": next(c.id for c in s.world.cards.values() if c.id_board == s.team.id),
            "http_status": 200,
            "error": "",
            "at": "2025-11-03T00:00:01.000Z",
            "uncertain": False,
            **record,
        }
        return self.file("journal.jsonl", f"{json.dumps(head)}\n{json.dumps(line)}\n")

    def interrupt(self, target: str) -> Ctx:
        """Make ``target`` (a dotted name on the apply or undo path) raise KeyboardInterrupt,
        as Ctrl-C does in the main thread. Returns the context (a case's ``make`` goes on to
        give the command line)."""

        def interrupted(*args: object, **kwargs: object) -> None:
            raise KeyboardInterrupt

        self.monkeypatch.setattr(target, interrupted)
        return self

    def hold_lock(self, digest: str, *boards: str) -> Ctx:
        """Hold the locks another apply or undo of this plan (or on these boards) holds.
        Returns the context, as ``interrupt`` does."""
        state = Path(os.environ["TRELLO_RESTORE_HOME"]) / "state"  # conftest's own home
        self.stack.enter_context(apply_lock(lock_names(digest, boards), lock_dir(state)))
        return self

    @property
    def plan_digest(self) -> str:
        """The reviewed plan's digest (its lock and journal name)."""
        return plan_digest(json.loads(self.trello.plan.read_text()))

    @property
    def plan_board(self) -> str:
        """A board the reviewed plan changes."""
        return str(json.loads(self.trello.plan.read_text())["changes"][-1]["board"]["id"])

    def under_a_file(self, *parts: str) -> str:
        """A path whose parent is a regular file: no directory can be made there (even by
        root, whom chmod does not stop)."""
        blocker = self.tmp / "a-file"
        blocker.write_text("not a directory\n")
        return str(blocker.joinpath(*parts))

    def closed_port_url(self) -> str:
        """An API URL on a loopback port where nothing listens."""
        with socket.socket() as s:
            s.bind(("127.0.0.1", 0))
            port = s.getsockname()[1]
        return f"http://127.0.0.1:{port}/1"


@dataclass(frozen=True)
class Call:
    """One command line: arguments, environment changes (None unsets), stdin."""

    args: list[str]
    env: dict[str, str | None] = field(default_factory=dict)
    input: str | None = None


@dataclass(frozen=True)
class Case:
    """A bad input and what the command line must do about it."""

    make: Callable[[Ctx], Call | list[str]]
    code: ExitCode | int
    #: Phrases the one line must hold (what went wrong and what to do).
    needles: tuple[str, ...]
    #: The line starts with this (Ctrl-C's line is not an error).
    prefix: str = "Error: "
    #: What must not appear anywhere in the output (a secret given in the bad input).
    absent: tuple[str, ...] = ()


def case(
    make: Callable[[Ctx], Call | list[str]],
    code: ExitCode | int,
    *needles: str,
    id: str,
    prefix: str = "Error: ",
    absent: tuple[str, ...] = (),
) -> Any:
    return pytest.param(Case(make, code, needles, prefix, absent), id=id)


USAGE, AUTH, DOWN = ExitCode.USAGE, ExitCode.AUTH, ExitCode.UNREACHABLE


#: A token given where tokens are refused (it must not be echoed back).
CLI_TOKEN = "ATTA" + "c0ffee" * 10


def _config(c: Ctx, text: str, *args: str) -> list[str]:
    """``--config FILE`` (holding ``text``) before a dry run of the team board."""
    return ["--config", c.file("config.toml", text), *args]


def _apply_where_trello_is_down(c: Ctx) -> list[str]:
    """``apply`` of a plan made for an API where nothing answers (a plan for another API than
    the one given is refused before any request)."""
    url = c.closed_port_url()
    return ["apply", c.edited_plan(lambda d: d.update(api_url=url)), "--api-url", url]


def _damaged_journal(c: Ctx) -> str:
    """A journal whose third line (of four) is damaged, as a disk or an editor leaves it."""
    path = Path(c.journal())
    head, record = path.read_text().splitlines()
    path.write_text(f"{head}\n{record}\n{record[:20]}\x00\x00 {record[40:]}\n{record}\n")
    return str(path)


def _dup_change_id(d: dict[str, Any]) -> None:
    d["changes"][-1]["change_id"] = d["changes"][-2]["change_id"]


def _dup_write(d: dict[str, Any]) -> None:
    """The last change made to write what the one before writes (its card and member, with
    the card's name and link: consistent otherwise), its own change id kept."""
    last, before = d["changes"][-1], d["changes"][-2]
    assert last["action"] == before["action"] == "add_member_to_card"
    last.update(card=before["card"], list=before["list"], member=before["member"])


CASES = [
    # ------------------------------------------------------------------------ dates
    case(lambda c: ["--board", c.team, "--since", "last tuesday", "--dry-run"],
         USAGE, "--since 'last tuesday' is not a date", "36h, 7d, 2w", id="since-malformed"),
    case(lambda c: ["--board", c.team, "--since", "2025-02-30", "--dry-run"],
         USAGE, "--since '2025-02-30'", "use an ISO date", id="since-impossible-date"),
    case(lambda c: ["--board", c.team, "--since", "2025-13-01", "--dry-run"],
         USAGE, "--since '2025-13-01'", "use an ISO date", id="since-month-13"),
    case(lambda c: ["--board", c.team, "--since", "2025-11-02T25:00", "--dry-run"],
         USAGE, "--since '2025-11-02T25:00'", "use an ISO date", id="since-hour-25"),
    case(lambda c: ["--board", c.team, "--since", "2025-11-01", "--until", "2025-11-31",
                    "--dry-run"],
         USAGE, "--until '2025-11-31'", "use an ISO date", id="until-impossible-date"),
    case(lambda c: ["--board", c.team, "--since", "2025-11-03", "--until", "2025-11-02",
                    "--dry-run"],
         USAGE, "is not before --until", "swap them", id="since-after-until"),
    case(lambda c: ["--board", c.team, "--since", "1d", "--until", "1d", "--dry-run"],
         USAGE, "is not before --until", "the window is empty, widen it",
         id="since-equals-until"),
    case(lambda c: ["--board", c.team, "--since", "36hrs", "--dry-run"],
         USAGE, "--since '36hrs'", "an age like 36h", id="age-typo-unit-word"),
    case(lambda c: ["--board", c.team, "--since", "7y", "--dry-run"],
         USAGE, "--since '7y'", "an age like 36h", id="age-typo-unknown-unit"),
    case(lambda c: ["--board", c.team, "--since", "-7d", "--dry-run"],
         USAGE, "--since '-7d'", "an age like 36h", id="age-negative"),
    case(lambda c: ["--board", c.team, "--since", "d7", "--dry-run"],
         USAGE, "--since 'd7'", "an age like 36h", id="age-unit-first"),
    case(lambda c: ["--board", c.team, "--since", "", "--dry-run"],
         USAGE, "--since is empty", "36h", id="since-empty"),
    case(lambda c: ["--board", c.team, "--since", "99999999999d", "--dry-run"],
         USAGE, "--since '99999999999d'", "too far", id="age-overflow"),
    case(lambda c: ["--board", c.team, "--since", "0001-01-01T00:00:00+05:00", "--dry-run"],
         USAGE, "--since", "out of range", id="date-before-year-1-utc"),
    case(lambda c: ["--board", c.team, "--dry-run"],
         USAGE, "--since is required", "--since 7d", id="since-missing"),
    # ------------------------------------------------------------------------ boards
    case(lambda c: ["--board", "No Such Board", "--since", "7d", "--dry-run"],
         USAGE, 'no board named "No Such Board"', "give the board's id, shortLink or URL",
         id="board-unknown-name"),
    case(lambda c: ["--board", "Twin Board", "--since", "7d", "--dry-run"],
         USAGE, '2 boards are named "Twin Board"', "pass the URL or id", id="board-ambiguous"),
    case(lambda c: ["--board", "twin board", "--since", "7d", "--dry-run"],
         USAGE, '2 boards are named "twin board" (ignoring case)', "pass the URL or id",
         id="board-ambiguous-ignoring-case"),
    # ------------------------------------------------------------------------ filters
    case(lambda c: ["--board", c.team, "--since", c.trello.since, "--yes", "--add-to-board",
                    "--removed-by", c.trello.scenario.mover.username + "x"],
         USAGE, "no member with that id or username", "did you mean", "nothing was changed",
         id="filter-removed-by-typo"),
    case(lambda c: ["--board", c.team, "--since", c.trello.since, "--yes", "--list", "Backlgo"],
         USAGE, '--list "Backlgo": no list', 'did you mean "Backlog"', id="filter-list-typo"),
    case(lambda c: c.plan_args("--restore", "member"),
         USAGE, "--restore: unknown kind 'member'; did you mean members?", id="restore-kind-typo"),
    case(lambda c: ["--board", c.team, "--since", c.trello.since, "--yes", "--card", "zzzzzzzz"],
         USAGE, "--card zzzzzzzz: no card", "give a card's id, shortLink or URL",
         id="filter-card-unknown"),
    case(lambda c: ["--board", "https://trello.com/c/AbCdEfGh/12-a-card", "--since", "7d",
                    "--dry-run"],
         USAGE, "is not a board URL", "https://trello.com/b/", id="board-card-url"),
    case(lambda c: ["--board", "https://example.com/b/AbCdEfGh/team", "--since", "7d",
                    "--dry-run"],
         USAGE, "is not a Trello board URL", "https://trello.com/b/", id="board-non-trello-url"),
    case(lambda c: ["--board", "https://trello.com/b/ZZZZZZZZ/gone", "--since", "7d",
                    "--dry-run"],
         USAGE, "no board at https://trello.com/b/ZZZZZZZZ/gone", "check the URL",
         id="board-url-unknown"),
    case(lambda c: ["--board", "", "--since", "7d", "--dry-run"],
         USAGE, "--board is empty", "give a board id", id="board-empty"),
    case(lambda c: ["--since", "7d", "--dry-run"],
         USAGE, "name the board to restore with --board", id="board-missing"),
    case(lambda c: ["--board", c.team, "--from-export", str(c.trello.export), "--since", "7d",
                    "--dry-run"],
         USAGE, "either --board", "not both", id="board-and-export"),
    case(lambda c: ["--board", c.team, "--since", "7d"],
         USAGE, "pass --yes", "nothing was changed", id="one-shot-no-terminal-no-yes"),
    # ------------------------------------------------------------------------ exports
    case(lambda c: ["--from-export", c.file("plan.json", c.trello.plan.read_text()),
                    "--since", "7d", "--dry-run"],
         USAGE, "not a Trello board export", "export the board as JSON",
         id="export-is-not-an-export"),
    case(lambda c: ["--from-export", c.file("e.json", '{"id": "b", "actions": ['),
                    "--since", "7d", "--dry-run"],
         USAGE, "is not valid JSON", "export the board again", id="export-truncated"),
    case(lambda c: ["--from-export", str(c.tmp / "missing.json"), "--since", "7d",
                    "--dry-run"],
         USAGE, "no such file", "give the path of a Trello board JSON export",
         id="export-missing"),
    case(lambda c: ["--from-export", str(c.tmp), "--since", "7d", "--dry-run"],
         USAGE, "is a directory", "give a Trello board JSON export file",
         id="export-is-a-directory"),
    case(lambda c: ["--from-export", str(c.trello.export), "--since", "7d", "--yes"],
         USAGE, "cannot be applied", "add --dry-run", id="export-without-dry-run"),
    # Said before asking for --yes: an offline plan could not be applied even with it.
    case(lambda c: ["--from-export", str(c.trello.export), "--since", "7d"],
         USAGE, "cannot be applied", "add --dry-run", id="export-without-dry-run-or-yes",
         absent=("pass --yes",)),
    # ------------------------------------------------------------------------ plan files
    case(lambda c: ["apply", c.file("p.json", "this is { not json")],
         USAGE, "is not valid JSON", "make it again with --plan-out", id="plan-corrupt"),
    case(lambda c: ["apply", c.file("p.json", c.trello.plan.read_text()[:3000])],
         USAGE, "is truncated", "make it again with --plan-out", id="plan-truncated"),
    case(lambda c: ["apply", c.file("p.json", "")],
         USAGE, "is empty", "make it again with --plan-out", id="plan-empty"),
    case(lambda c: ["apply", c.file("p.json", b"\xff\xfe\x00{garbage")],
         USAGE, "not UTF-8", "make it again with --plan-out", id="plan-not-utf8"),
    case(lambda c: ["apply", c.file("p.json", '{"hello": "world"}')],
         USAGE, "is not a trello-restore plan", id="plan-not-a-plan"),
    case(lambda c: ["apply", c.edited_plan(lambda d: d["summary"].update(changes="2"))],
         USAGE, "$.summary.changes", "edited by hand", "make it again", id="plan-wrong-type"),
    case(lambda c: ["apply", c.edited_plan(
            lambda d: d["changes"][-1].update(action="remove_member_from_card"))],
         USAGE, '"remove_member_from_card" is not one of', "edited by hand",
         id="plan-unknown-action"),
    case(lambda c: ["apply", c.edited_plan(lambda d: d["changes"][-1].pop("member"))],
         USAGE, '"member" is a required property', "edited by hand", id="plan-removed-key"),
    case(lambda c: ["apply", c.edited_plan(_dup_change_id)],
         USAGE, "appears twice", "edited by hand", id="plan-duplicate-change-id"),
    case(lambda c: ["apply", c.edited_plan(_dup_write)],
         USAGE, "] writes what $.changes[", "edited by hand", id="plan-duplicate-write"),
    case(lambda c: ["apply", c.edited_plan(lambda d: d["changes"].pop())],
         USAGE, "summary.changes", "deleted entries by hand", id="plan-summary-mismatch"),
    case(lambda c: ["apply", c.edited_plan(lambda d: d.update(format_version=3))],
         USAGE, "newer trello-restore (format_version 3)", "upgrade trello-restore",
         id="plan-newer-format-version"),
    case(lambda c: ["apply", c.edited_plan(lambda d: d.update(format_version="1"))],
         USAGE, 'format_version "1"', "make it again", id="plan-format-version-string"),
    case(lambda c: Call(["apply", str(c.trello.plan)], {"TRELLO_TOKEN": c.trello.other_token}),
         USAGE, "made by Trello account", "use that account's token", id="plan-other-account"),
    case(lambda c: ["apply", c.edited_plan(lambda d: d.update(api_url="https://api.trello.com/1"))],
         USAGE, "made for https://api.trello.com/1", "pass --api-url", id="plan-other-api-url"),
    case(lambda c: ["apply", str(c.trello.offline_plan)],
         USAGE, "made offline", "make the plan over the API", id="plan-offline"),
    case(lambda c: ["apply", str(c.tmp / "no-such-plan.json")],
         USAGE, "does not exist", "check the path", id="plan-missing"),
    case(lambda c: ["apply", str(c.tmp)],
         USAGE, "is a directory", "give the plan's file name", id="plan-is-a-directory"),
    # ------------------------------------------------------------------------ journals
    case(lambda c: ["undo", str(c.tmp / "no-such.jsonl"), "--yes"],
         USAGE, "no such journal", "give the path apply printed", id="journal-missing"),
    case(lambda c: ["undo", c.file("j.jsonl", "not json\n"), "--yes"],
         USAGE, "not a trello-restore journal", "give the journal file apply printed",
         id="journal-corrupt"),
    case(lambda c: ["undo", c.file("j.jsonl", ""), "--yes"],
         USAGE, "is empty", "give the journal file apply printed", id="journal-empty"),
    case(lambda c: ["undo", c.file("j.jsonl", b"\xff\xfe\x00\x01\n"), "--yes"],
         USAGE, "not UTF-8", "give the journal file apply printed", id="journal-not-utf8"),
    case(lambda c: ["undo", c.file("j.jsonl", '{"type": "header", "form'), "--yes"],
         USAGE, "not a trello-restore journal", "give the journal file apply printed",
         id="journal-only-a-torn-line"),
    case(lambda c: ["undo", c.journal(status="exploded"), "--yes"],
         USAGE, "line 2 is damaged (unknown status \"exploded\")", "restore it from a backup",
         id="journal-unknown-status"),
    case(lambda c: ["undo", c.journal({"format_version": 9}), "--yes"],
         USAGE, "a newer trello-restore (journal format 9; this one reads 1 and 2)",
         "use that version or a later one", id="journal-newer-format"),
    case(lambda c: ["undo", str(c.tmp), "--yes"],
         USAGE, "is a directory", "give the journal file", id="journal-is-a-directory"),
    case(lambda c: ["undo", c.journal({"account_id": STRANGER_ID}), "--yes"],
         USAGE, f"made by Trello account {STRANGER_ID}, not the token's", "use the token of",
         id="journal-other-account"),
    case(lambda c: ["undo", c.journal({"api_url": "https://api.trello.com/1"}), "--yes"],
         USAGE, "made at https://api.trello.com/1", "pass --api-url",
         id="journal-other-api-url"),
    case(lambda c: ["undo", c.journal()],
         USAGE, "pass --yes", "nothing was changed", id="undo-no-terminal-no-yes"),
    case(lambda c: ["apply", str(c.trello.plan), "--journal", c.journal()],
         USAGE, "is the journal of another plan", "pass a different --journal",
         id="journal-of-another-plan"),
    case(lambda c: ["undo", _damaged_journal(c), "--yes"],
         USAGE, "journal.jsonl: line 3 is damaged (not JSON", "restore it from a backup",
         "or delete that line", id="journal-damaged-middle-line"),
    case(lambda c: ["undo", str(c.trello.plan), "--yes"],
         USAGE, "plan.json is a plan file, not a journal, and its journal is not in ",
         "not applied on this machine, or with --journal PATH (give that PATH)",
         "trello-restore apply PLAN", id="undo-given-a-plan"),
    case(lambda c: ["apply", str(c.trello.plan), "--journal", str(c.trello.offline_plan)],
         USAGE, "offline.json is a plan file, not a journal", id="apply-journal-is-a-plan"),
    case(lambda c: ["apply", c.journal()],
         USAGE, "journal.jsonl is an apply journal, not a plan", "give apply the plan file",
         "run trello-restore undo", id="apply-given-a-journal"),
    case(lambda c: ["apply", c.file("j.jsonl", Path(c.journal()).read_text().split("\n")[0])],
         USAGE, "j.jsonl is an apply journal, not a plan", id="apply-given-a-bare-journal"),
    # ------------------------------------------------------------------------ locks
    case(lambda c: (c.hold_lock(c.plan_digest), ["apply", str(c.trello.plan)])[1],
         ExitCode.LOCKED, "another trello-restore run", "wait for it to finish",
         "; nothing was changed", id="lock-held-same-plan"),
    case(lambda c: (c.hold_lock("0" * 64, c.plan_board), ["apply", str(c.trello.plan)])[1],
         ExitCode.LOCKED, "applying or undoing board \"", "wait for it to finish",
         id="lock-held-same-board"),
    case(lambda c: (c.hold_lock("ab" * 32), ["undo", c.journal(), "--yes"])[1],
         ExitCode.LOCKED, "another trello-restore run", "wait for it to finish",
         "; nothing was changed", id="lock-held-undo"),
    case(lambda c: (c.hold_lock("0" * 64, c.trello.scenario.team.id),
                    ["undo", c.journal(values={"names": {"board": "Team Board"}}), "--yes"])[1],
         ExitCode.LOCKED, "applying or undoing board \"Team Board\" (", "wait for it to finish",
         id="lock-held-undo-board"),
    # ------------------------------------------------------------------------ configuration
    case(lambda c: _config(c, '[limits]\nworkers = "eight"\n', *c.plan_args()),
         USAGE, "config.toml: limits.workers must be a whole number", id="config-wrong-type"),
    case(lambda c: _config(c, "[limits]\nworkers = 0\n", *c.plan_args()),
         USAGE, "limits.workers must be a whole number from 1 to 64", id="config-out-of-range"),
    case(lambda c: _config(c, '[trello]\ntokn = "x"\n', *c.plan_args()),
         USAGE, "unknown key trello.tokn", "see config.example.toml", id="config-unknown-key"),
    case(lambda c: _config(c, "[trelo]\n", *c.plan_args()),
         USAGE, "unknown section [trelo]", "expected one of [trello]",
         id="config-unknown-section"),
    case(lambda c: _config(c, "[trello\n", *c.plan_args()),
         USAGE, "config.toml is not valid TOML", "line 1", id="config-invalid-toml"),
    case(lambda c: _config(c, '[restore]\nmode = "bogus"\n', *c.plan_args()),
         USAGE, "restore.mode must be 'removed' or 'ever-added'", id="config-bad-choice"),
    case(lambda c: _config(c, '[restore]\nboards = "Team"\n', "--since", "7d", "--dry-run"),
         USAGE, "restore.boards must be a list", id="config-boards-not-a-list"),
    case(lambda c: _config(c, '[restore]\nsince = "yesterday"\n', "--board", c.team,
                           "--dry-run"),
         USAGE, "restore.since", "'yesterday' is not a date", "an age like 36h",
         id="config-bad-since"),
    case(lambda c: Call(_config(c, '[trello]\napi_url = "ftp://x/1"\n', *c.plan_args()),
                        {"TRELLO_API_URL": None}),
         USAGE, "must be an http(s) URL", id="config-bad-api-url"),
    case(lambda c: ["--config", str(c.tmp / "missing.toml"), *c.plan_args()],
         USAGE, "does not exist", "create it from config.example.toml",
         id="config-missing-explicit"),
    case(lambda c: Call(c.plan_args(), {"TRELLO_RESTORE_CONFIG": str(c.tmp / "missing.toml")}),
         USAGE, "does not exist", "TRELLO_RESTORE_CONFIG", id="config-missing-from-env"),
    case(lambda c: _config(c, "[trello\n", "apply", str(c.trello.plan)),
         USAGE, "is not valid TOML", id="config-broken-for-apply"),
    case(lambda c: Call(c.plan_args(), {"TRELLO_RESTORE_WORKERS": "lots"}),
         USAGE, "TRELLO_RESTORE_WORKERS='lots'", "expected a whole number", id="env-bad-number"),
    case(lambda c: Call(c.plan_args(), {"TRELLO_RESTORE_ADD_TO_BOARD": "maybe"}),
         USAGE, "TRELLO_RESTORE_ADD_TO_BOARD='maybe'", "expected true or false",
         id="env-bad-boolean"),
    case(lambda c: Call(["--board", c.team, "--dry-run"], {"TRELLO_RESTORE_SINCE": "yesterday"}),
         USAGE, "TRELLO_RESTORE_SINCE 'yesterday' is not a date", id="env-bad-since"),
    # ------------------------------------------------------------------------ cron mode
    case(lambda c: c.plan_args("--token", CLI_TOKEN),
         USAGE, "--token takes only '-'", "set TRELLO_TOKEN", absent=(CLI_TOKEN, CLI_TOKEN[4:]),
         id="token-on-the-command-line"),
    case(lambda c: Call(c.plan_args("--token", "-"), {"TRELLO_TOKEN": None}, input=""),
         USAGE, "standard input holds no token", "set TRELLO_TOKEN", id="token-stdin-empty"),
    case(lambda c: ["--board", c.team, "--since", "last-run", "--dry-run"],
         USAGE, "no successful run on these boards is recorded yet", "e.g. --since 7d",
         id="since-last-run-first-time"),
    case(lambda c: ["--from-export", str(c.trello.export), "--since", "last-run", "--dry-run"],
         USAGE, "--since last-run needs the boards over the API", "give a date",
         id="since-last-run-offline"),
    case(lambda c: c.plan_args("--log-file", str(c.tmp)),
         USAGE, "cannot open the log file", "check --log-file", id="log-file-is-a-directory"),
    case(lambda c: c.plan_args("--log-file", c.under_a_file("run.log")),
         USAGE, "cannot open the log file", "check --log-file", id="log-file-under-a-file"),
    case(lambda c: ["--workspace", "no-such-workspace", "--since", "7d", "--dry-run"],
         USAGE, "no workspace 'no-such-workspace'", "https://trello.com/w/NAME",
         id="workspace-unknown"),
    case(lambda c: ["--workspace", "", "--since", "7d", "--dry-run"],
         USAGE, "--workspace is empty", id="workspace-empty"),
    # ------------------------------------------------------------------------ credentials
    case(lambda c: Call(c.plan_args(), {"TRELLO_TOKEN": None}),
         AUTH, "no Trello credentials: the token is missing (the API key is set)",
         "set TRELLO_TOKEN, token in the [trello] section", "--token -",
         id="credentials-missing-token"),
    case(lambda c: Call(["apply", str(c.trello.plan)], {"TRELLO_API_KEY": ""}),
         AUTH, "no Trello credentials: the API key is missing (the token is set)",
         "set TRELLO_API_KEY, or api_key in the [trello] section", id="credentials-missing-key"),
    case(lambda c: Call(c.plan_args(), {"TRELLO_API_KEY": None, "TRELLO_TOKEN": None}),
         AUTH, "neither the API key nor the token is set", "set TRELLO_API_KEY and TRELLO_TOKEN",
         id="credentials-missing-both"),
    case(lambda c: Call(c.plan_args(), {"TRELLO_TOKEN": "ATTA" + "0" * 60}),
         AUTH, "rejected the API key or token", "check TRELLO_API_KEY and TRELLO_TOKEN",
         id="credentials-invalid-token"),
    case(lambda c: Call(["apply", str(c.trello.plan)], {"TRELLO_API_KEY": "0" * 32}),
         AUTH, "(invalid key)", "check TRELLO_API_KEY", id="credentials-invalid-key"),
    case(lambda c: Call(c.plan_args(), {"TRELLO_TOKEN": "my token"}),
         AUTH, "the token has characters", "check where it comes from (TRELLO_TOKEN",
         id="credentials-malformed-token"),
    case(lambda c: Call(c.plan_args(), {"TRELLO_TOKEN": c.trello.outsider_token}),
         AUTH, "cannot read board", "ask a board admin", id="no-permission-on-board"),
    # ------------------------------------------------------------------------ the API
    case(lambda c: Call(c.plan_args(), {"TRELLO_API_URL": c.closed_port_url()}),
         DOWN, "cannot reach the Trello API", "check the network connection",
         id="trello-down"),
    case(_apply_where_trello_is_down, DOWN, "cannot reach the Trello API",
         "check the network connection", "; nothing was changed", id="trello-down-apply"),
    case(lambda c: Call(c.plan_args(), {"TRELLO_API_URL": c.trello.fake_url("html")}),
         DOWN, "with text/html instead of JSON", "check TRELLO_API_URL", id="trello-answers-html"),
    case(lambda c: Call(c.plan_args(), {"TRELLO_API_URL": c.trello.fake_url("garbage")}),
         DOWN, "not valid JSON", "check TRELLO_API_URL", id="trello-answers-garbage-json"),
    case(lambda c: Call(c.plan_args(), {"TRELLO_API_URL": c.trello.fake_url("error")}),
         DOWN, "answered HTTP 500", "try again later", id="trello-answers-500"),
    case(lambda c: Call(c.plan_args(), {"TRELLO_API_URL": c.trello.fake_url("shape")}),
         DOWN, "not a Trello board", "check TRELLO_API_URL", id="trello-answers-wrong-json"),
    case(lambda c: Call(["--board", "Team", "--since", "7d", "--dry-run"],
                        {"TRELLO_API_URL": c.trello.fake_url("shape")}),
         DOWN, "not a list of boards", "check TRELLO_API_URL",
         id="trello-answers-wrong-board-list"),
    case(lambda c: Call(c.plan_args(), {"TRELLO_API_URL": "ftp://trello.example/1"}),
         USAGE, "must be an http(s) URL", id="api-url-not-http"),
    case(lambda c: c.plan_args("--api-url", "http://[::1/1"),
         USAGE, "must be an http(s) URL like https://api.trello.com/1",
         id="api-url-unclosed-ipv6"),
    case(lambda c: c.plan_args("--api-url", c.trello.server.base_url.removesuffix("/1")),
         USAGE, "should end in /1", "e.g. https://api.trello.com/1", id="api-url-without-version"),
    case(lambda c: Call(_config(c, '[trello]\napi_url = "https://api.trello.com/"\n',
                                *c.plan_args()), {"TRELLO_API_URL": None}),
         USAGE, "'https://api.trello.com' should end in /1", id="api-url-without-version-config"),
    case(lambda c: c.plan_args("--api-url", "http://127.0.0.1:99999/1"),
         USAGE, "has an invalid port", id="api-url-invalid-port"),
    case(lambda c: Call(c.plan_args(), {"TRELLO_API_URL": "https://me:pw@api.trello.com/1"}),
         USAGE, "must not hold a user name or password", id="api-url-with-password"),
    case(lambda c: Call(c.plan_args(), {"TRELLO_RESTORE_MAX_RETRIES": "lots"}),
         USAGE, "TRELLO_RESTORE_MAX_RETRIES='lots'", "a whole number", id="max-retries-bogus"),
    # ------------------------------------------------------------------------ local disk
    case(lambda c: Call(c.plan_args(), {"TRELLO_RESTORE_HOME": c.under_a_file("home")}),
         USAGE, "cannot create the HTTP cache", "check TRELLO_RESTORE_HOME",
         id="state-dir-unwritable-plan"),
    case(lambda c: Call(["apply", str(c.trello.plan)],
                        {"TRELLO_RESTORE_HOME": c.under_a_file("home")}),
         USAGE, "cannot create the lock directory", "is a file, not a directory",
         id="state-dir-unwritable-apply"),
    case(lambda c: ["apply", str(c.trello.plan), "--journal", c.under_a_file("j.jsonl")],
         USAGE, "cannot create the journal", "not a directory", id="journal-path-under-a-file"),
    case(lambda c: ["apply", str(c.trello.plan), "--journal", str(c.tmp)],
         USAGE, "is a directory", "give a file name", id="journal-path-is-a-directory"),
    case(lambda c: c.plan_args("--plan-out", c.under_a_file("plan.json")),
         USAGE, "cannot write plan", "is not a directory", "choose another --plan-out",
         id="plan-out-under-a-file"),
    case(lambda c: c.plan_args("--plan-out", str(c.tmp)),
         USAGE, "it is a directory", "give a file name", id="plan-out-is-a-directory"),
    case(lambda c: c.plan_args("--plan-out", str(c.tmp / "no" / "plan.json")),
         USAGE, "does not exist", "create it first", id="plan-out-missing-directory"),
    # ------------------------------------------------------------------------ Ctrl-C
    case(lambda c: (c.interrupt("trello_restore.applier.read_live"),
                    ["apply", str(c.trello.plan)])[1],
         130, "before any change was sent: nothing was changed", "Run trello-restore apply",
         "again to start it.", prefix="Interrupted ", id="ctrl-c-apply"),
    case(lambda c: (c.interrupt("trello_restore.applier.read_live"),
                    ["--board", c.team, "--since", c.trello.since, "--yes"])[1],
         130, "nothing was changed by it; the journal", "decided without a write",
         "Run the same command again", prefix="Interrupted ", id="ctrl-c-one-shot"),
    case(lambda c: (c.interrupt("trello_restore.applier.read_live"),
                    ["--board", c.team, "--since", c.trello.since, "--yes",
                     "--journal", str(c.tmp / "j.jsonl")])[1],
         130, "nothing was changed by it; the journal",
         "Run the same command again with another --journal to finish",
         prefix="Interrupted ", id="ctrl-c-one-shot-named-journal"),
    case(lambda c: (c.interrupt("trello_restore.undo.read_live"),
                    ["undo", c.journal(), "--yes"])[1],
         130, "Run trello-restore undo", "--yes again to finish", prefix="Interrupted ",
         id="ctrl-c-undo"),
    case(lambda c: (c.interrupt("trello_restore.run.fetch"), c.plan_args())[1],
         130, "nothing was written to Trello", prefix="Interrupted", id="ctrl-c-planning"),
    # ------------------------------------------------------------------------ option values
    case(lambda c: c.plan_args("--workers", "0"),
         USAGE, "'--workers'", "1<=x<=64", id="workers-zero"),
    case(lambda c: ["apply", str(c.trello.plan), "--workers", "0"],
         USAGE, "'--workers'", id="apply-workers-zero"),
    case(lambda c: ["apply", str(c.trello.plan), "--log-file", str(c.tmp / "run.log")],
         USAGE, "No such option '--log-file';", "an option of trello-restore itself",
         "put it before 'apply': trello-restore --log-file PATH apply", id="apply-log-file-after"),
    case(lambda c: ["undo", c.journal(), "--config=c.toml"],
         USAGE, "No such option '--config';", "put it before 'undo'", id="undo-config-after"),
    # Only the hint (click's "Did you mean '--workers'?" said the opposite), and only for the
    # options that mean something to apply and undo (R30b).
    case(lambda c: ["apply", str(c.trello.plan), "--token", "-"],
         USAGE, "No such option '--token'; --token is an option of trello-restore itself",
         absent=("Did you mean",), id="apply-token-after"),
    case(lambda c: ["apply", str(c.trello.plan), "--version"],
         USAGE, "No such option '--version'", absent=("put it before",),
         id="apply-version-after"),
    case(lambda c: ["apply", str(c.trello.plan), "--refresh-history"],
         USAGE, "No such option '--refresh-history'", absent=("put it before",),
         id="apply-refresh-history-after"),
    case(lambda c: ["demo", "--log-file", "x.log"],
         USAGE, "No such option '--log-file'", absent=("put it before",), id="demo-log-file-after"),
    case(lambda c: ["apply", str(c.trello.plan), "--rate-limit", "0"],
         USAGE, "'--rate-limit'", id="apply-rate-limit-zero"),
    case(lambda c: c.plan_args("--mode", "bogus"),
         USAGE, "'--mode'", "'bogus' is not one of", id="mode-bogus"),
    case(lambda c: c.plan_args("--board-role", "owner"),
         USAGE, "'--board-role'", id="board-role-bogus"),
    case(lambda c: c.plan_args("--no-such-option"),
         USAGE, "No such option", "--no-such-option", id="unknown-option"),
    # R39c: click offered "Did you mean '--api-url'?" for the API key.
    case(lambda c: c.plan_args("--api-key", "abc"),
         USAGE, "No such option '--api-key': the API key is not given on the command line",
         "set TRELLO_API_KEY", absent=("Did you mean",), id="api-key-option"),
    case(lambda c: ["apply", str(c.trello.plan), "--key", "abc"],
         USAGE, "No such option '--key': the API key", absent=("Did you mean",),
         id="apply-key-option"),
    case(lambda c: ["apply"],
         USAGE, "Missing argument 'PLAN'", "Try ", "apply --help' for help",
         id="apply-without-plan"),
    case(lambda c: c.plan_args("--workers", "lots"),
         USAGE, "Invalid value for '--workers': 'lots'", "--help' for help", id="workers-lots"),
    case(lambda c: ["undo", c.journal(), "--yes", "--workers", "lots"],
         USAGE, "'--workers': 'lots'", "undo --help' for help", id="undo-workers-lots"),
    case(lambda c: ["sandbox", "serve", "--port", "eighty"],
         USAGE, "'--port': 'eighty'", "sandbox serve --help' for help",
         id="sandbox-serve-port-not-a-number"),
    case(lambda c: ["--board", c.team, "--since", c.trello.since, "--detailed-exitcode",
                    "--yes"],
         USAGE, "--detailed-exitcode works only with --dry-run", "add --dry-run, or drop it",
         id="detailed-exitcode-without-dry-run"),
    case(lambda c: ["--board", c.team, "--since", "7d", "apply", str(c.trello.plan)],
         USAGE, "--board, --since plan a restore and mean nothing to 'apply'", "drop them",
         id="planning-options-before-apply"),
]  # fmt: skip


# ------------------------------------------------------------------------------- the test


def _check(result: Result, c: Case) -> str:
    """The case's contract on one in-process result; returns the line."""
    assert isinstance(result.exception, SystemExit), repr(result.exception)
    return _check_streams(result.exit_code, result.output, result.stderr, c)


def _check_streams(code: int, output: str, stderr: str, c: Case) -> str:
    """The case's contract on an exit code, all the output and stderr; returns the line."""
    assert code == c.code, (code, output)
    assert "Traceback" not in output
    lines = [x for x in stderr.splitlines() if x.strip()]
    assert len(lines) == 1, stderr
    line = lines[0]
    assert line.startswith(c.prefix), line
    for needle in c.needles:
        assert needle in line, (needle, line)
    for secret in c.absent:
        assert secret not in output
    return line


@pytest.mark.parametrize("c", CASES)
def test_bad_input(
    c: Case, trello: Trello, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """One bad input: its exit code, one line saying what to do, no traceback, no write."""
    for name, value in trello.env.items():
        monkeypatch.setenv(name, value)
    monkeypatch.delenv("TRELLO_RESTORE_CONFIG", raising=False)
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "xdg-config"))
    with contextlib.ExitStack() as stack:
        made = c.make(Ctx(trello, tmp_path, monkeypatch, stack))
        call = made if isinstance(made, Call) else Call(made)
        for name, val in call.env.items():
            if val is None:
                monkeypatch.delenv(name, raising=False)
            else:
                monkeypatch.setenv(name, val)
        trello.server.request_log.clear()
        trello.fake.methods.clear()
        result = run_cli(call.args, input=call.input)
    _check(result, c)
    writes = [f"{r.method} {r.path}" for r in trello.server.request_log if r.method in WRITES]
    assert writes == []
    assert not WRITES & set(trello.fake.methods)
    assert not any(r.credentials_in_url for r in trello.server.request_log)


def test_the_catalogue_is_big_enough() -> None:
    """At least 30 distinct bad inputs, each with its own id."""
    ids = [p.id for p in CASES]
    assert len(set(ids)) == len(ids) >= 30


#: Errors found before any request, which printed a second line (``exit 2: …``, the log record
#: of the error reaching Python's last-resort handler) in a real process; and one of click's
#: own, which printed click's usage and hint lines around its error.
EARLY = ("token-on-the-command-line", "token-stdin-empty", "config-missing-explicit",
         "env-bad-number", "log-file-is-a-directory", "planning-options-before-apply",
         "workers-lots")  # fmt: skip


@pytest.mark.parametrize("c", [p for p in CASES if p.id in EARLY])
def test_early_errors_in_a_real_process(
    c: Case, trello: Trello, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The early errors as cron sees them: ``python -m trello_restore`` in its own process,
    one line on stderr and the documented exit code, no write."""
    env = {**os.environ, **trello.env, "XDG_CONFIG_HOME": str(tmp_path / "xdg-config")}
    env.pop("TRELLO_RESTORE_CONFIG", None)
    with contextlib.ExitStack() as stack:
        made = c.make(Ctx(trello, tmp_path, monkeypatch, stack))
        call = made if isinstance(made, Call) else Call(made)
        for name, val in call.env.items():
            if val is None:
                env.pop(name, None)
            else:
                env[name] = val
        trello.server.request_log.clear()
        done = subprocess.run(
            [sys.executable, "-m", "trello_restore", *call.args],
            input=call.input or "",
            env=env,
            capture_output=True,
            text=True,
            timeout=60,
        )
    _check_streams(done.returncode, done.stdout + done.stderr, done.stderr, c)
    assert not [r for r in trello.server.request_log if r.method in WRITES]


def test_the_early_errors_are_in_the_catalogue() -> None:
    """Every early error run in a real process is a case of the catalogue."""
    assert set(EARLY) <= {p.id for p in CASES}
