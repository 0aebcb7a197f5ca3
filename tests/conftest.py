"""Shared fixtures: a small hand-built Trello world, and sandbox servers over real loopback HTTP."""

from __future__ import annotations

import contextlib
import gc
import logging
import signal
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any, Protocol

import pytest
import requests
from click.testing import CliRunner, Result

from trello_restore import interrupts
from trello_restore.cli import main
from trello_restore.interrupts import after_run
from trello_restore.sandbox.scenario import Scenario, generate
from trello_restore.sandbox.server import SandboxOptions, SandboxServer
from trello_restore.sandbox.world import World

#: Objects this Python froze itself before any test ran (3.12.1 freezes 375 at start; 3.11 and
#: 3.13 none): the planner and the sandbox then leave the collector alone, as with an
#: application's own freeze (R67c), and the tests of their freeze and unfreeze do not apply.
FROZEN_AT_START = gc.get_freeze_count()

#: When the small world's history starts.
T0 = datetime(2025, 3, 3, 9, 0, tzinfo=UTC)


def pytest_configure(config: pytest.Config) -> None:
    """Each test process (each ``pytest -n`` worker too) with Python's own SIGINT handler: a
    suite started in the background (``cmd &``, ``nohup``, some CI runners) has SIGINT
    ignored, and the runs its tests start would inherit that, so a test's Ctrl-C would not
    reach them. The tests of a background job's run start it with SIGINT ignored themselves."""
    signal.signal(signal.SIGINT, signal.default_int_handler)


#: The signals a run in this process takes over, and what each is put back to: Python's own
#: SIGINT handler, SIGTERM's default, SIGHUP as the test run started with it (left ignored
#: under ``nohup``).
_RUN_SIGNALS: tuple[tuple[signal.Signals, Any], ...] = (
    (signal.SIGINT, signal.default_int_handler),
    (signal.SIGTERM, signal.SIG_DFL),
    *((s, signal.getsignal(s)) for s in interrupts.ENDING if s != signal.SIGTERM),
)


@pytest.fixture(autouse=True)
def _ctrl_c_back(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """Python's own SIGINT handler and SIGTERM's default back after a test whose command ran
    in this process: after a run, the CLI keeps both for what it says of the run, then
    ignores them until the process ends (``interrupts.after_run``, ``interrupts.run_said``),
    and this one goes on (a Ctrl-C must still stop the test run). Back at once after a command's
    ``run_said`` too: an ignored signal is inherited by the processes a test starts next (its
    Ctrl-C to them went unheard)."""
    real = interrupts.run_said

    def said_in_a_test() -> None:
        real()
        for sig, default in _RUN_SIGNALS:
            if sig in interrupts._said_all and signal.getsignal(sig) == signal.SIG_IGN:
                signal.signal(sig, default)
        interrupts._said_all.clear()

    monkeypatch.setattr(interrupts, "run_said", said_in_a_test)
    yield
    for sig, default in _RUN_SIGNALS:
        if signal.getsignal(sig) is after_run or signal.getsignal(sig) == signal.SIG_IGN:
            signal.signal(sig, default)
    interrupts._said_all.clear()


@pytest.fixture(autouse=True)
def _state_home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """Point ``TRELLO_RESTORE_HOME`` (state, cache, journals) at the test's own directory."""
    home = tmp_path / "trello-restore-home"
    monkeypatch.setenv("TRELLO_RESTORE_HOME", str(home))
    return home


@dataclass
class SmallWorld:
    """A hand-built world with named ids and credentials (``key``/``token`` are the lead's)."""

    world: World
    key: str
    token: str
    #: Ids by name: members, org, boards, lists and cards (see ``make_world``).
    ids: dict[str, str]
    #: Tokens of the other members that have credentials, by name.
    tokens: dict[str, str]


def make_world(seed: int = 3) -> SmallWorld:
    """A workspace with a team board and an archive board, and a little history.

    Members: ``lead`` (admin of both boards; the key and token), ``ana`` (team and archive),
    ``ben`` and ``cai`` (team only), ``obs`` (team observer, has a token), ``outsider`` (no
    boards, has a token). Team lists: ``doing`` (cards ``c1`` ana+ben, ``c2`` ben+cai,
    ``c_archived`` archived), ``done`` (``c3`` ana+cai), ``old`` (archived list, card ``c4``
    ben). Archive board: list ``shelf`` with card ``c5`` (ana).
    """
    w = World(seed)
    ticks = iter(range(1, 10_000))

    def at() -> datetime:
        return T0 + timedelta(minutes=next(ticks))

    ids: dict[str, str] = {}
    for name in ("lead", "ana", "ben", "cai", "obs", "outsider"):
        ids[name] = w.add_member(name, f"{name.title()} Example", T0).id
    org = w.add_organization("acme", "Acme", T0)
    ids["org"] = org.id
    lead = ids["lead"]
    team = w.create_board("Team", lead, at(), org.id)
    archive = w.create_board("Archive", lead, at(), org.id)
    ids["team"], ids["archive"] = team.id, archive.id
    for name in ("ana", "ben", "cai"):
        w.add_member_to_board(team.id, ids[name], lead, "normal", at())
    w.add_member_to_board(team.id, ids["obs"], lead, "observer", at())
    w.add_member_to_board(archive.id, ids["ana"], lead, "normal", at())
    for name, board in (("doing", team), ("done", team), ("old", team), ("shelf", archive)):
        ids[name] = w.create_list(board.id, name.title(), lead, at()).id
    cards = {
        "c1": ("doing", ("ana", "ben")),
        "c2": ("doing", ("ben", "cai")),
        "c_archived": ("doing", ("ana",)),
        "c3": ("done", ("ana", "cai")),
        "c4": ("old", ("ben",)),
        "c5": ("shelf", ("ana",)),
    }
    for name, (list_name, members) in cards.items():
        card = w.create_card(ids[list_name], name.upper(), lead, at())
        ids[name] = card.id
        for m in members:
            w.add_member_to_card(card.id, ids[m], lead, at())
    w.comment(ids["c1"], "first", lead, at())
    w.move_card_to_list(ids["c2"], ids["done"], lead, at())
    w.move_card_to_list(ids["c2"], ids["doing"], lead, at())
    w.set_card_closed(ids["c_archived"], True, lead, at())
    w.set_list_closed(ids["old"], True, lead, at())
    key, token = w.add_credentials(lead)
    tokens = {name: w.add_credentials(ids[name])[1] for name in ("obs", "outsider", "ana")}
    return SmallWorld(w, key, token, ids, tokens)


class _HasCredentials(Protocol):
    world: World
    key: str
    token: str


@dataclass
class Sandbox:
    """A running sandbox server with the credentials and ids of its world."""

    server: SandboxServer
    world: World
    key: str
    token: str
    ids: dict[str, str] = field(default_factory=dict)
    tokens: dict[str, str] = field(default_factory=dict)
    _sessions: list[requests.Session] = field(default_factory=list)

    @property
    def base_url(self) -> str:
        """``http://127.0.0.1:PORT/1``."""
        return self.server.base_url

    @property
    def env(self) -> dict[str, str]:
        """The environment that points the command line at this sandbox as the lead."""
        return trello_env(self.base_url, self.key, self.token)

    def header(self, token: str | None = None, key: str | None = None) -> dict[str, str]:
        """The plain ``Authorization: OAuth …`` header for a key and token (default: lead's)."""
        return {
            "Authorization": f'OAuth oauth_consumer_key="{key or self.key}", '
            f'oauth_token="{token or self.token}"'
        }

    def session(self, token: str | None = None, *, auth: bool = True) -> requests.Session:
        """A keep-alive session (closed at teardown), authenticated by header unless ``auth``
        is False."""
        s = requests.Session()
        if auth:
            s.headers.update(self.header(token))
        self._sessions.append(s)
        return s

    def get(self, path: str, token: str | None = None, **params: Any) -> requests.Response:
        """GET ``base_url + path`` with header auth."""
        return self.session(token).get(self.base_url + path, params=params, timeout=30)

    def close(self) -> None:
        """Close the sessions and stop the server."""
        for s in self._sessions:
            s.close()
        self.server.stop()


SandboxFactory = Callable[..., Sandbox]


@pytest.fixture
def sandbox_factory() -> Iterator[SandboxFactory]:
    """``sandbox_factory(world=None, **options)``: start a sandbox, stopped at teardown.

    ``world`` is anything with ``world``, ``key`` and ``token`` (a ``SmallWorld`` or a scenario);
    by default a fresh ``make_world()``. Options are ``SandboxOptions`` fields.
    """
    started: list[Sandbox] = []

    def start(world: _HasCredentials | None = None, **options: Any) -> Sandbox:
        built = world if world is not None else make_world()
        server = SandboxServer(built.world, SandboxOptions(**options))
        server.start()
        handle = Sandbox(
            server,
            built.world,
            built.key,
            built.token,
            dict(getattr(built, "ids", {})),
            dict(getattr(built, "tokens", {})),
        )
        started.append(handle)
        return handle

    yield start
    for handle in started:
        handle.close()


@pytest.fixture
def sandbox(sandbox_factory: SandboxFactory) -> Sandbox:
    """A sandbox with default options over ``make_world()``."""
    return sandbox_factory()


@pytest.fixture(name="scenario")
def scenario_fixture() -> Scenario:
    """A small incident scenario (seed 5, 40 cards); a module may define its own."""
    return generate(5, 40)


@pytest.fixture(name="sb")
def sb_fixture(sandbox_factory: SandboxFactory, scenario: Scenario) -> Sandbox:
    """The ``scenario`` over loopback, with limits high enough that tests never wait for a
    window (the limiter and 429 handling are the engine's tests)."""
    return sandbox_factory(scenario, token_limit=10_000, key_limit=10_000)


@contextlib.contextmanager
def like_a_process() -> Iterator[None]:
    """Run the command line with the root logger as a fresh process has it: without handlers.

    pytest attaches its capture handlers to the root logger, so a log record that the command
    line lets through unhandled is swallowed in a test; in a real process Python's last-resort
    handler prints it on stderr (``exit 2: …`` under the ``Error:`` line, before this was fixed).
    """
    root = logging.getLogger()
    saved = root.handlers[:]
    root.handlers.clear()
    try:
        yield
    finally:
        root.handlers[:] = saved


def run_cli(args: list[str], input: str | None = None) -> Result:
    """The command line in-process (``CliRunner``), its stderr as a real process's would be."""
    with like_a_process():
        return CliRunner().invoke(main, args, input=input)


def cli_invoker(monkeypatch: pytest.MonkeyPatch) -> Callable[..., Result]:
    """Run the CLI in-process: ``invoke(*args, input=None, **env)``, where each keyword sets an
    environment variable (None unsets it) for this and later calls; ``input`` is stdin."""

    def invoke(*args: str, input: str | None = None, **env: str | None) -> Result:
        for k, v in env.items():
            if v is None:
                monkeypatch.delenv(k, raising=False)
            else:
                monkeypatch.setenv(k, v)
        return run_cli(list(args), input=input)

    return invoke


def trello_env(api_url: str, key: str, token: str) -> dict[str, str]:
    """The environment variables that point the command line at an API with credentials."""
    return {"TRELLO_API_URL": api_url, "TRELLO_API_KEY": key, "TRELLO_TOKEN": token}


def sandbox_cli(sb: Sandbox, monkeypatch: pytest.MonkeyPatch) -> Callable[..., Result]:
    """``cli_invoker`` with the environment pointing at ``sb`` with the lead's credentials."""
    for name, value in sb.env.items():
        monkeypatch.setenv(name, value)
    return cli_invoker(monkeypatch)


def configless_cli(
    sb: Sandbox, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> Callable[..., Result]:
    """``sandbox_cli`` reading no config file: ``TRELLO_RESTORE_CONFIG`` unset and
    ``XDG_CONFIG_HOME`` a directory of the test's, where none is."""
    monkeypatch.delenv("TRELLO_RESTORE_CONFIG", raising=False)
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "xdg-config"))
    return sandbox_cli(sb, monkeypatch)


def one_line_error(result: Result, code: int, *needles: str) -> str:
    """The documented exit code, no traceback, and on stderr exactly one line: ``Error: …``,
    holding each needle (what went wrong and what to do). Returns the line."""
    assert result.exit_code == code, result.output
    assert isinstance(result.exception, SystemExit), repr(result.exception)
    assert "Traceback" not in result.output
    lines = [x for x in result.stderr.splitlines() if x.strip()]
    assert len(lines) == 1, result.stderr
    assert lines[0].startswith("Error: "), lines[0]
    for needle in needles:
        assert needle in lines[0], (needle, lines[0])
    return lines[0]
