"""R44f: a FIFO put in place of one of the tool's own files (a kept history's head or body, the
card cuts, the plan memo, the last-run state, a journal in the journal directory, the index
of settled journals, a lock file) hung the run for good in its ``open``, deaf to Ctrl-C in a
worker. Such a file is now one that cannot be read ("not a regular file"), as the file's own
rules say: a store rebuilt, a head ignored, ``--since last-run`` refused. Over HTTP against the
sandbox, the command line in a subprocess that must end."""

from __future__ import annotations

import os
import stat
import subprocess
import sys
from pathlib import Path

import pytest

from trello_restore.fsutil import read_regular
from trello_restore.history_store import VERSION as STORE_VERSION
from trello_restore.sandbox.scenario import generate

from .conftest import Sandbox, SandboxFactory, trello_env

pytestmark = pytest.mark.skipif(not hasattr(os, "mkfifo"), reason="no FIFOs on this system")


def _run(sb: Sandbox, home: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "trello_restore", "--board", "Team Board", *args],
        env={**os.environ, **trello_env(sb.base_url, sb.key, sb.token),
             "TRELLO_RESTORE_HOME": str(home)},
        stdin=subprocess.DEVNULL,
        capture_output=True,
        text=True,
        timeout=90,  # a hang fails the test here
        check=False,
    )  # fmt: skip


def test_fifos_in_place_of_the_tool_s_files_do_not_hang_a_run(
    sandbox_factory: SandboxFactory, tmp_path: Path
) -> None:
    s = generate(5, 20)
    sb = sandbox_factory(s, latency_ms=0)
    home = tmp_path / "home"
    first = _run(sb, home, "--since", "2025-10-01", "--add-to-board", "--yes", "-q")
    assert first.returncode == 0, first.stderr
    before = _run(sb, home, "--since", "2025-10-01", "--dry-run", "-q")
    assert before.returncode == 0, before.stderr
    mine = [
        p for p in home.rglob("*")
        if p.is_file() and p.suffix not in (".lock", ".sqlite") and "locks" not in p.parts
    ]  # fmt: skip
    kinds = {p.name.split(".", 1)[-1] if "." in p.name else p.name for p in mine}
    v = f"v{STORE_VERSION}"
    assert {f"{v}.head.json", f"{v}.json.gz", "json.gz", "jsonl", "json"} <= kinds, kinds
    for p in mine:
        p.unlink()
        os.mkfifo(p)
    os.mkfifo(home / "state" / "locks" / "stray.lock")  # R44h: a dry run's look at the locks
    again = _run(sb, home, "--since", "2025-10-01", "--dry-run", "-q")
    assert again.returncode == 0, again.stderr
    assert again.stdout == before.stdout
    assert "cannot be read (not a regular file)): the store is read" in again.stderr
    assert "is rebuilt from Trello: it cannot be read (not a regular file)" in again.stderr
    last = _run(sb, home, "--since", "last-run", "--dry-run", "-q")
    assert last.returncode == 2
    assert "(not a regular file); check the state directory's permissions" in last.stderr
    applied = _run(sb, home, "--since", "2025-10-01", "--yes", "-q")
    assert applied.returncode in (0, 2, 5), applied.stderr


def test_read_regular(tmp_path: Path) -> None:
    """A file's bytes; a FIFO (no writer: ``open`` would wait for one) or a device an
    ``OSError`` at once; a directory ``IsADirectoryError``."""
    path = tmp_path / "f"
    path.write_bytes(b"abc")
    assert read_regular(path) == b"abc"
    fifo = tmp_path / "p"
    os.mkfifo(fifo)
    assert stat.S_ISFIFO(fifo.stat().st_mode)
    with pytest.raises(OSError, match="not a regular file"):
        read_regular(fifo)
    with pytest.raises(IsADirectoryError):
        read_regular(tmp_path)
    with pytest.raises(OSError, match="not a regular file"):
        read_regular(Path("/dev/null"))
    with pytest.raises(FileNotFoundError):
        read_regular(tmp_path / "missing")
