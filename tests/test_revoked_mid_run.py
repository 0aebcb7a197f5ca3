"""A token revoked (or expired) while a run writes (R39d): the run ended with Trello's line
alone ("Trello rejected the API key or token …"), not saying that it had made changes, nor
where they are, nor how to go on; a cron job gave no sign it changed anything. Now the line
names the journal and says that the same command goes on where it stopped (it does: no
change is made twice). Over HTTP against the sandbox, through the command line."""

from __future__ import annotations

import threading
import time
from pathlib import Path

import pytest

from trello_restore.errors import ExitCode
from trello_restore.journal import Journal
from trello_restore.sandbox.scenario import generate

from .conftest import SandboxFactory, sandbox_cli
from .test_cli_apply import _assert_state, _expected, _restore_args

WRITES = ("POST", "PUT", "DELETE")


def test_a_token_revoked_while_the_run_writes_says_where_its_writes_are(
    sandbox_factory: SandboxFactory, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    s = generate(5, 40)
    sb = sandbox_factory(s, latency_ms=0, write_latency_ms=40)
    want = _expected(s)
    invoke = sandbox_cli(sb, monkeypatch)
    token, member = s.token, s.world.tokens[s.token]

    def revoke_after(n: int) -> None:
        deadline = time.monotonic() + 60
        while sum(r.method in WRITES for r in list(sb.server.request_log)) < n:
            if time.monotonic() > deadline:
                return
            time.sleep(0.005)
        with s.world.lock:
            del s.world.tokens[token]

    thread = threading.Thread(target=revoke_after, args=(5,), daemon=True)
    thread.start()
    cut = invoke(*_restore_args(s), "--yes", "--workers", "1", "-q")
    thread.join()
    assert cut.exit_code == ExitCode.AUTH, cut.output
    (line,) = cut.stderr.splitlines()[-1:]
    assert line.startswith("Error: Trello rejected the API key or token (invalid token): "), line
    _, sep, path = line.partition("; every change this run made is in its journal ")
    assert sep, line
    assert path.endswith(
        ": once this is fixed, run the same command again to go on where it stopped"
    )
    journal = Path(path.partition(": once this is fixed")[0])
    assert sum(r.status == "applied" for r in Journal.read(journal).records) >= 4
    assert "nothing was changed" not in line

    with s.world.lock:  # a new token of the same member: the same command goes on
        s.world.tokens[token] = member
    again = invoke(*_restore_args(s), "--yes", "-q")
    assert again.exit_code == ExitCode.OK, again.output
    _assert_state(s, want)
