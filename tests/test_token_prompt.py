"""``--token -`` at a terminal (R57d): the token typed or pasted there is asked for on stderr and
read without echo, so it never shows on the screen or stays in the terminal's scrollback (it
was shown as typed, after no prompt at all). Run on a real pseudo-terminal: the command is a
child process whose controlling terminal is the pty, as a user's shell gives it. The one-step
run's confirmation is tried there too."""

from __future__ import annotations

import os
import select
import signal
import sys
import time
from pathlib import Path

import pytest

from trello_restore.sandbox.scenario import Scenario

from .conftest import Sandbox
from .truthcheck import incident_since

pty = pytest.importorskip("pty")

PROMPT = b"Trello token (not shown as you type): "


def _read_until(fd: int, needle: bytes, seen: bytearray, deadline: float) -> bool:
    """Read the pty into ``seen`` until it holds ``needle``, the child ends, or time is up."""
    while needle not in seen and time.monotonic() < deadline:
        ready, _, _ = select.select([fd], [], [], 0.2)
        if not ready:
            continue
        try:
            chunk = os.read(fd, 4096)
        except OSError:  # EIO: the child has ended and closed the terminal
            return needle in seen
        if not chunk:
            break
        seen += chunk
    return needle in seen


def _at_a_terminal(
    args: list[str],
    env: dict[str, str],
    typed: bytes,
    stderr: Path | None = None,
    after: bytes = PROMPT,
) -> tuple[bytes, int]:
    """Run ``trello-restore ARGS`` on a new pty (its stderr to the file ``stderr``, if given),
    type ``typed`` after the prompt, and return everything the terminal showed and the exit
    code."""
    pid, fd = pty.fork()
    if pid == 0:  # the child: only exec, as soon as may be
        try:
            if stderr is not None:
                os.dup2(os.open(stderr, os.O_WRONLY | os.O_CREAT, 0o600), 2)
            argv = [sys.executable, "-m", "trello_restore", *args]
            os.execve(sys.executable, argv, env)  # noqa: S606 - the command itself, no shell
        finally:
            os._exit(127)
    seen = bytearray()
    try:
        # Typed after the prompt; without one (as before R57d) after 20 s, as a user would.
        _read_until(fd, after, seen, time.monotonic() + 20)
        os.write(fd, typed)
        _read_until(fd, b"\x00never", seen, time.monotonic() + 60)
    finally:
        status = _ended(pid, time.monotonic() + 30)
        os.close(fd)
    return bytes(seen), os.waitstatus_to_exitcode(status)


def _ended(pid: int, deadline: float) -> int:
    """The child's wait status once it ends; killed at ``deadline`` (a test must not hang)."""
    while time.monotonic() < deadline:
        done, status = os.waitpid(pid, os.WNOHANG)
        if done:
            return status
        time.sleep(0.05)
    os.kill(pid, signal.SIGKILL)
    return os.waitpid(pid, 0)[1]


def _env(sb: Sandbox, tmp_path: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("TRELLO", "XDG_"))}
    env |= {"TRELLO_API_URL": sb.base_url, "TRELLO_API_KEY": sb.key, "TERM": "dumb"}
    for name in ("CONFIG", "CACHE", "STATE"):
        env[f"XDG_{name}_HOME"] = str(tmp_path / name.lower())
    return env


def test_a_token_typed_at_a_terminal_is_asked_for_and_not_shown(
    sb: Sandbox, scenario: Scenario, tmp_path: Path
) -> None:
    since = incident_since(scenario)
    args = ["--token", "-", "--board", scenario.team.id, "--since", since, "--dry-run", "-q"]
    shown, code = _at_a_terminal(args, _env(sb, tmp_path), sb.token.encode() + b"\r")
    assert PROMPT in shown
    assert code in (0, 7), shown.decode(errors="replace")
    assert sb.token[:12].encode() not in shown
    assert sb.token[-12:].encode() not in shown


@pytest.mark.parametrize(
    ("typed", "exit_code", "said"),
    [
        (b"\x04", 2, b"Error: --token -: no token was typed; paste it at the prompt, or set "
         b"TRELLO_TOKEN\r\n"),
        (b"\x03", 130, b"Interrupted: nothing was done.\r\n"),
    ],
    ids=["ctrl-d", "ctrl-c"],
)  # fmt: skip
def test_nothing_typed_at_a_terminal_is_one_line_of_its_own(
    sb: Sandbox, tmp_path: Path, typed: bytes, exit_code: int, said: bytes
) -> None:
    """Ctrl-D (exit 2) or Ctrl-C (130) at the prompt: one line, on a line of its own (R59e: it
    was written after the prompt, on the prompt's line, as getpass ends no line there)."""
    args = ["--token", "-", "--board", "x", "--since", "2020-01-01", "--dry-run"]
    shown, code = _at_a_terminal(args, _env(sb, tmp_path), typed)
    assert code == exit_code
    assert shown.endswith(PROMPT + b"\r\n" + said), shown
    assert b"Traceback" not in shown


def test_the_prompt_is_on_the_terminal_when_stderr_goes_to_a_file(
    sb: Sandbox, scenario: Scenario, tmp_path: Path
) -> None:
    """R58a: with ``2>err.log`` the prompt went into the file, and the terminal showed nothing
    while the command waited for the token. It is asked for where it is typed."""
    since = incident_since(scenario)
    args = ["--token", "-", "--board", scenario.team.id, "--since", since, "--dry-run", "-q"]
    log = tmp_path / "err.log"
    shown, code = _at_a_terminal(args, _env(sb, tmp_path), sb.token.encode() + b"\r", log)
    assert code in (0, 7), log.read_text()
    assert PROMPT in shown
    assert PROMPT.decode() not in log.read_text()
    assert sb.token[:12].encode() not in shown


@pytest.mark.parametrize(
    ("typed", "exit_code", "ends"),
    [
        (b"maybe\rn\r", 0, b"\r\nPlease answer y or n (n changes nothing).\r\n"),
        (b"\x03", 130, b"Nothing was changed.\r\n"),
        (b"\x04", 0, b"Nothing was changed.\r\n"),
    ],
    ids=["neither", "ctrl-c", "ctrl-d"],
)
def test_the_confirmation_at_a_terminal(
    sb: Sandbox, scenario: Scenario, tmp_path: Path, typed: bytes, exit_code: int, ends: bytes
) -> None:
    """The one-step run's question on a real terminal: an answer neither yes nor no is told
    what to type and asked again (R59e: click's "Error: invalid input"); Ctrl-C is exit 130
    and Ctrl-D a no, each changing nothing."""
    env = _env(sb, tmp_path) | {"TRELLO_TOKEN": sb.token}
    args = ["--board", scenario.team.id, "--since", incident_since(scenario), "-q"]
    shown, code = _at_a_terminal(args, env, typed, after=b"[y/N]: ")
    assert code == exit_code, shown.decode(errors="replace")
    assert ends in shown, shown
    assert shown.endswith(b"Nothing was changed.\r\n"), shown
    assert b"Error" not in shown
    assert b"Traceback" not in shown
    assert not [r for r in sb.server.request_log if r.method != "GET"]
