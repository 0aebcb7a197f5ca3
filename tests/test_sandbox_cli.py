"""``trello-restore sandbox serve``: as a real subprocess, and its options through CliRunner."""

from __future__ import annotations

import os
import queue
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import Any

import pytest
import requests
from click.testing import CliRunner

from trello_restore import __version__
from trello_restore.cli import main
from trello_restore.sandbox import scenario as scenario_module
from trello_restore.sandbox.server import RATE_LIMIT_BODIES, SandboxOptions, SandboxServer

from .conftest import SmallWorld, make_world

REPO = Path(__file__).resolve().parents[1]


def _read_lines(proc: subprocess.Popen[str], n: int, timeout: float = 60.0) -> list[str]:
    """The first ``n`` stdout lines of a process, waiting at most ``timeout`` seconds."""
    assert proc.stdout is not None
    stdout = proc.stdout
    found: queue.Queue[str] = queue.Queue()

    def read() -> None:
        for _ in range(n):
            found.put(stdout.readline())

    threading.Thread(target=read, daemon=True).start()
    lines: list[str] = []
    deadline = time.monotonic() + timeout
    while len(lines) < n:
        try:
            line = found.get(timeout=max(deadline - time.monotonic(), 0.001))
        except queue.Empty:
            raise AssertionError(f"no output in time; got {lines}") from None
        assert line, f"process ended early; got {lines}"
        # Each an ``export`` line a shell runs as pasted (R41c): ``NAME=value`` is returned.
        assert line.startswith("export "), line
        lines.append(line.rstrip("\n").removeprefix("export "))
    return lines


def _start_serve(*args: str) -> subprocess.Popen[str]:
    env = dict(os.environ, PYTHONUNBUFFERED="0")
    return subprocess.Popen(
        [sys.executable, "-m", "trello_restore", "sandbox", "serve", *args],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        cwd=REPO,
        env=env,
    )


@pytest.mark.parametrize("stop", [signal.SIGINT, signal.SIGTERM])
def test_serve_subprocess(stop: signal.Signals) -> None:
    """``sandbox serve --seed 1`` prints URL, key and token, serves them, and stops cleanly."""
    with _start_serve("--seed", "1") as proc:
        try:
            lines = _read_lines(proc, 3)
            names = [line.split("=", 1)[0] for line in lines]
            assert names == ["TRELLO_API_URL", "TRELLO_API_KEY", "TRELLO_TOKEN"]
            url, key, token = (line.split("=", 1)[1] for line in lines)
            assert url.startswith("http://127.0.0.1:")
            assert url.endswith("/1")
            with requests.Session() as s:
                header = f'OAuth oauth_consumer_key="{key}", oauth_token="{token}"'
                r = s.get(url + "/members/me/boards", headers={"Authorization": header}, timeout=30)
                assert r.status_code == 200
                assert len(r.json()) >= 2
                wrong = f'OAuth oauth_consumer_key="{key}", oauth_token="{token}x"'
                r = s.get(url + "/members/me/boards", headers={"Authorization": wrong}, timeout=30)
                assert (r.status_code, r.text) == (401, "invalid token")
        finally:
            proc.send_signal(stop)
            _, err = proc.communicate(timeout=30)
    assert proc.returncode == 0, err
    assert "Traceback" not in err
    assert token not in err


def test_serve_can_start_with_a_429_storm() -> None:
    """``--storm-s`` starts the sandbox inside a 429 storm with Trello's JSON body."""
    with _start_serve("--seed", "2", "--cards", "20", "--storm-s", "600") as proc:
        try:
            url, key, token = (line.split("=", 1)[1] for line in _read_lines(proc, 3))
            header = f'OAuth oauth_consumer_key="{key}", oauth_token="{token}"'
            r = requests.get(
                url + "/members/me/boards", headers={"Authorization": header}, timeout=30
            )
            assert r.status_code == 429
            assert r.json() == {
                "error": "API_TOKEN_LIMIT_EXCEEDED",
                "message": "Rate limit exceeded",
            }
        finally:
            proc.send_signal(signal.SIGINT)
            proc.communicate(timeout=30)
    assert proc.returncode == 0


def test_serve_prints_a_token_per_member_to_act_as_a_colleague() -> None:
    """``--member-tokens`` adds a ``TRELLO_TOKEN_<USERNAME>`` line for each member, by username;
    with the printed key, each token is that member's (``members/me``), and what it writes is
    logged as that member's action, the way a colleague's change between a plan and its apply
    looks to the tool. The seed's world is unchanged by the tokens (same ids as without). The
    last line, ``TRELLO_TOKEN_READ_ONLY``, is the printed token's member's without write access:
    it reads, and Trello refuses its writes."""
    world = scenario_module.generate(seed=2, cards=20).world
    usernames = sorted(m.username for m in world.members.values())
    with _start_serve("--seed", "2", "--cards", "20", "--member-tokens") as proc:
        try:
            lines = _read_lines(proc, 4 + len(usernames))
            url, key = (line.split("=", 1)[1] for line in lines[:2])
            names = [line.split("=", 1)[0] for line in lines[3:-1]]
            assert names == [f"TRELLO_TOKEN_{u.upper()}" for u in usernames]
            tokens = dict(zip(usernames, (ln.split("=", 1)[1] for ln in lines[3:-1]), strict=True))
            name, read_only = lines[-1].split("=", 1)
            assert name == "TRELLO_TOKEN_READ_ONLY"
            with requests.Session() as s:
                for username, token in tokens.items():
                    header = {
                        "Authorization": f'OAuth oauth_consumer_key="{key}", oauth_token="{token}"'
                    }
                    me = s.get(url + "/members/me", headers=header, timeout=30).json()
                    assert me["username"] == username
                colleague = next(u for u in usernames if u != "danak")
                header = {
                    "Authorization": f'OAuth oauth_consumer_key="{key}", '
                    f'oauth_token="{tokens[colleague]}"'
                }
                board = next(b for b in world.boards.values() if b.name == "Team Board")
                card = next(
                    c for c in world.cards.values() if c.id_board == board.id and not c.closed
                )
                r = s.put(
                    url + f"/cards/{card.id}",
                    params={"name": "renamed by hand"},
                    headers=header,
                    timeout=30,
                )
                assert r.status_code == 200, r.text
                acts = s.get(
                    url + f"/cards/{card.id}/actions",
                    params={"filter": "updateCard"},
                    headers=header,
                    timeout=30,
                ).json()
                assert acts[0]["memberCreator"]["username"] == colleague
                same = s.get(url + f"/boards/{board.id}", headers=header, timeout=30).json()
                assert same["id"] == board.id  # the seed's ids
                header = {
                    "Authorization": f'OAuth oauth_consumer_key="{key}", oauth_token="{read_only}"'
                }
                me = s.get(url + "/members/me", headers=header, timeout=30).json()
                mover = s.get(
                    url + "/members/me",
                    headers={
                        "Authorization": f'OAuth oauth_consumer_key="{key}", '
                        f'oauth_token="{lines[2].split("=", 1)[1]}"'
                    },
                    timeout=30,
                ).json()
                assert me["id"] == mover["id"]
                r = s.put(
                    url + f"/cards/{card.id}", params={"name": "x"}, headers=header, timeout=30
                )
                assert (r.status_code, r.text) == (401, "unauthorized permission requested")
        finally:
            proc.send_signal(signal.SIGINT)
            _, err = proc.communicate(timeout=30)
    assert proc.returncode == 0, err


@pytest.fixture
def runner() -> CliRunner:
    """A click test runner."""
    return CliRunner()


class TestOptions:
    """The group and ``sandbox serve`` options, without starting a real server loop."""

    def test_help_without_command(self, runner: CliRunner) -> None:
        """Without a subcommand the group prints its help and exits 0."""
        result = runner.invoke(main, [], catch_exceptions=False)
        assert result.exit_code == 0
        assert result.output.startswith("Usage: main [OPTIONS] [COMMAND] [ARGS]...")
        assert "sandbox" in result.output

    def test_sandbox_without_its_subcommand_shows_its_help(self, runner: CliRunner) -> None:
        """``sandbox`` alone prints its help and exits 0, with click 8.1 and with click 8.2+
        (which raises the help as a usage error: one flattened error line, exit 2, R37d)."""
        result = runner.invoke(main, ["sandbox"], catch_exceptions=False)
        assert result.exit_code == 0, result.output
        assert result.stdout.startswith("Usage: main sandbox [OPTIONS] COMMAND [ARGS]...\n")
        assert "  serve " in result.stdout
        assert result.stderr == ""

    def test_version(self, runner: CliRunner) -> None:
        """``--version`` names the tool and its version."""
        result = runner.invoke(main, ["--version"], catch_exceptions=False)
        assert result.output == f"trello-restore, version {__version__}\n"

    @pytest.mark.parametrize(
        "args",
        [
            ["--error-rate", "2"],
            ["--drop-rate", "-0.1"],
            ["--error-rate", "0.6", "--drop-rate", "0.6"],
            ["--time-scale", "0"],
            ["--port", "70000"],
            ["--id-cursor", "minute"],
            ["--accepted-rate", "1.5"],
            ["--rate-limit-body", "teapot"],
            ["--automation-share", "2"],
            ["--hidden-name-share", "-1"],
            ["--cards", "many"],
            ["--cards", "19"],
            ["--latency-ms", "-5"],
        ],
    )
    def test_bad_values_are_usage_errors(self, runner: CliRunner, args: list[str]) -> None:
        """Bad option values exit 2 with a usage error."""
        result = runner.invoke(main, ["sandbox", "serve", *args])
        assert result.exit_code == 2
        assert "Error: Invalid value" in result.output

    def test_serve_prints_exactly_the_environment(
        self, runner: CliRunner, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        """stdout is exactly the three export lines; options reach the server and scenario."""
        small = make_world()
        seen: dict[str, Any] = {}

        def fake_generate(**kwargs: Any) -> SmallWorld:
            seen["generate"] = kwargs
            return small

        def fake_serve_forever(self: SandboxServer) -> None:
            seen["options"] = self.options
            self._close()
            raise KeyboardInterrupt

        monkeypatch.setattr(scenario_module, "generate", fake_generate)
        monkeypatch.setattr(SandboxServer, "serve_forever", fake_serve_forever)
        args = ["sandbox", "serve", "--seed", "4", "--cards", "30", "--unlogged-share", "0.5"]
        args += ["--time-scale", "20", "--latency-ms", "100", "--id-cursor", "exact"]
        args += ["--accepted-rate", "0.3", "--rate-limit-body", "extension"]
        args += ["--date-cursor", "exact"]
        args += ["--automation-share", "0.25", "--hidden-name-share", "0.5"]
        result = runner.invoke(main, args, catch_exceptions=False)
        assert result.exit_code == 0
        lines = result.stdout.splitlines()
        assert lines[0].startswith("export TRELLO_API_URL=http://127.0.0.1:")
        assert lines[1:] == [
            f"export TRELLO_API_KEY={small.key}",
            f"export TRELLO_TOKEN={small.token}",
        ]
        assert seen["generate"] == {
            "seed": 4,
            "cards": 30,
            "unlogged_share": 0.5,
            "automation_share": 0.25,
            "hidden_name_share": 0.5,
            "second_damage": False,
        }
        options = seen["options"]
        assert (options.seed, options.time_scale, options.latency_ms, options.id_cursor) == (
            4,
            20.0,
            100.0,
            "exact",
        )
        assert (options.accepted_rate, options.rate_limit_body) == (0.3, "extension")
        assert options.date_cursor == "exact"

    def test_serve_defaults_follow_trello(
        self, runner: CliRunner, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        """By default ids and dates compare by second (as Trello documents; the harsher
        reading for dates), 429s carry the usual body,
        every success is a 200, and no action or name is an automation's or private."""
        small = make_world()
        seen: dict[str, Any] = {}

        def fake_generate(**kwargs: Any) -> SmallWorld:
            seen["generate"] = kwargs
            return small

        def fake_serve_forever(self: SandboxServer) -> None:
            seen["options"] = self.options
            self._close()
            raise KeyboardInterrupt

        monkeypatch.setattr(scenario_module, "generate", fake_generate)
        monkeypatch.setattr(SandboxServer, "serve_forever", fake_serve_forever)
        result = runner.invoke(main, ["sandbox", "serve"], catch_exceptions=False)
        assert result.exit_code == 0
        options = seen["options"]
        assert (options.id_cursor, options.rate_limit_body, options.accepted_rate) == (
            "second",
            "usual",
            0.0,
        )
        assert options.date_cursor == "second"
        assert options == SandboxOptions(seed=1)
        assert (seen["generate"]["automation_share"], seen["generate"]["hidden_name_share"]) == (
            0.0,
            0.0,
        )

    def test_rate_limit_body_choices_are_the_servers(self, runner: CliRunner) -> None:
        """``--rate-limit-body`` offers exactly what the server can send."""
        result = runner.invoke(main, ["sandbox", "serve", "--help"], catch_exceptions=False)
        text = " ".join(result.output.split())
        choices = ["usual", *RATE_LIMIT_BODIES]
        assert f"--rate-limit-body [{'|'.join(choices)}]" in text
