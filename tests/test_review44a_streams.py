"""R44a: standard streams a cron job or a script gives the command. Error output that cannot
be written (``2>/dev/full``) neither changes the exit code nor keeps the log file from its
record, nor stops a run at its first warning; input closed (``<&-``) is no terminal to
confirm on; a dry run's ``--plan-out -`` whose reader went away ends quietly as ``--format
json`` does. Over HTTP against the sandbox, the command line in a subprocess."""

from __future__ import annotations

import json
import os
import stat
import subprocess
import sys
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest

from trello_restore.demo import snapshot
from trello_restore.sandbox.scenario import Scenario, generate

from .conftest import Sandbox, SandboxFactory, trello_env
from .test_cli_apply import _restore_args
from .truthcheck import incident_since

FULL = Path("/dev/full")


def _run(
    sb: Sandbox, args: list[str], home: Path, env: dict[str, str] | None = None, **streams: Any
) -> subprocess.CompletedProcess[str]:
    streams.setdefault("stdout", subprocess.PIPE)
    streams.setdefault("stderr", subprocess.PIPE)
    streams.setdefault("stdin", subprocess.DEVNULL)
    return subprocess.run(
        [sys.executable, "-m", "trello_restore", *args],
        env={**os.environ, **trello_env(sb.base_url, sb.key, sb.token),
             "TRELLO_RESTORE_HOME": str(home), **(env or {})},
        text=True,
        timeout=120,
        check=False,
        **streams,
    )  # fmt: skip


@pytest.mark.skipif(not FULL.exists(), reason="no /dev/full on this system")
def test_error_output_on_a_full_disk_keeps_the_exit_code_and_the_log_record(
    sandbox_factory: SandboxFactory, tmp_path: Path
) -> None:
    """The first ``--since last-run`` (exit 2) and an unknown board (exit 2) exited 1,
    "internal error", with ``2>/dev/full``, and the log file had no ``exit 2:`` record."""
    s = generate(5, 20)
    sb = sandbox_factory(s, latency_ms=0)
    log = tmp_path / "run.log"
    with FULL.open("w") as full:
        for board, since in ((s.team.id, "last-run"), ("No Such Board", "7d")):
            done = _run(
                sb, ["--board", board, "--since", since, "--yes", "-q", "--log-file", str(log)],
                tmp_path / "home", stderr=full,
            )  # fmt: skip
            assert done.returncode == 2, done.stdout
    records = [line for line in log.read_text().splitlines() if " ERROR " in line]
    assert len(records) == 2
    assert "exit 2: --since last-run: no successful run on these boards" in records[0]
    assert "exit 2: " in records[1]
    assert "No Such Board" in records[1]


@pytest.mark.skipif(not FULL.exists(), reason="no /dev/full on this system")
def test_a_warning_that_cannot_be_shown_does_not_stop_the_run(
    sandbox_factory: SandboxFactory, tmp_path: Path
) -> None:
    """Two sandboxes of one scenario, one run on each with an ``--until`` (a warning: a silent
    loss has no date) and members the move left off the board (blocked, exit 5): with error
    output on a full disk the run went no further than its warning ("cannot write the
    output", exit 2). It makes the same changes and exits as the other."""

    def args(s: Scenario) -> list[str]:
        until = (s.incident_at + timedelta(days=1)).isoformat()
        return ["--board", s.team.id, "--since", incident_since(s), "--until", until, "--yes",
                "--rate-limit", "1000"]  # fmt: skip

    shown, hidden = generate(5, 20), generate(5, 20)
    sb_shown = sandbox_factory(shown, latency_ms=0)
    sb_hidden = sandbox_factory(hidden, latency_ms=0)
    said = _run(sb_shown, args(shown), tmp_path / "a")
    assert said.returncode == 5, said.stderr
    assert "Warning: " in said.stderr
    with FULL.open("w") as full:
        done = _run(sb_hidden, args(hidden), tmp_path / "b", stderr=full)
    assert done.returncode == 5
    assert done.stdout == said.stdout
    assert snapshot(hidden.world) == snapshot(shown.world)
    assert snapshot(hidden.world) != snapshot(generate(5, 20).world)


def test_a_run_started_without_input_has_no_terminal_to_confirm_on(
    sandbox_factory: SandboxFactory, tmp_path: Path
) -> None:
    """``<&-``: "internal error" (``sys.stdin`` None), exit 1; now as ``</dev/null``."""
    s = generate(5, 20)
    sb = sandbox_factory(s, latency_ms=0)
    done = _run(
        sb, ["--board", s.team.id, "--since", incident_since(s), "-q"], tmp_path / "home",
        preexec_fn=lambda: os.close(0),
    )  # fmt: skip
    assert done.returncode == 2
    assert done.stderr.startswith(
        "Error: applying the plan needs a confirmation and there is no terminal to ask on"
    ), done.stderr
    assert done.stderr.endswith("nothing was changed\n")
    assert not [r for r in sb.server.request_log if r.method != "GET"]


def test_a_dry_run_s_plan_whose_reader_went_away_ends_quietly(
    sandbox_factory: SandboxFactory, tmp_path: Path
) -> None:
    """``--dry-run --plan-out - | true`` exited 2 ("cannot write the plan to stdout"), where
    ``--format json`` (the same JSON) exits 0; one that would write says nothing was."""
    s = generate(5, 20)
    sb = sandbox_factory(s, latency_ms=0)
    read, write = os.pipe()
    os.close(read)
    try:
        dry = _run(sb, [*_restore_args(s), "--dry-run", "--plan-out", "-"], tmp_path / "h",
                   stdout=write)  # fmt: skip
        wet = _run(sb, [*_restore_args(s), "--yes", "--plan-out", "-"], tmp_path / "h",
                   stdout=write)  # fmt: skip
    finally:
        os.close(write)
    assert (dry.returncode, dry.stderr) == (0, "")
    assert (wet.returncode, wet.stderr) == (
        2, "Error: cannot write the output: Broken pipe; nothing was written to Trello\n"
    )  # fmt: skip
    assert not [r for r in sb.server.request_log if r.method != "GET"]


def test_a_record_an_earlier_run_could_not_finish_ends_its_line(
    sandbox_factory: SandboxFactory, tmp_path: Path
) -> None:
    """A log file whose last record a full disk cut short: this run's first record was glued
    to it ("…6088 INFO t2026-12-04T22:20:31.536Z … dry run"); the README promises one record
    per line. A name no locale decoded is logged escaped, not the log file dropped."""
    s = generate(5, 20)
    sb = sandbox_factory(s, latency_ms=0)
    log = tmp_path / "run.log"
    log.write_bytes(b"2026-12-04T22:20:31.536Z 6088 INFO t")
    done = _run(
        sb, ["--board", "Team\udcc3\udca9 Board", "--since", incident_since(s), "--dry-run",
             "--log-file", str(log)], tmp_path / "home", {"LC_ALL": "POSIX", "PYTHONUTF8": "0"},
    )  # fmt: skip
    assert done.returncode == 2
    lines = log.read_text(encoding="utf-8").splitlines()
    assert lines[0] == "2026-12-04T22:20:31.536Z 6088 INFO t"
    assert all(line[:4].isdigit() for line in lines[1:])
    assert "Team\\udcc3\\udca9 Board" in log.read_text(encoding="utf-8")
    assert "cannot write the log file" not in done.stderr


def test_a_lock_s_name_holds_a_path_no_locale_decodes() -> None:
    """``PYTHONUTF8=0`` in the POSIX locale: a path of bytes that are not UTF-8 is a string
    with surrogates, which ``str.encode`` refused (exit 1 at the first apply's lock)."""
    from trello_restore import lock_keep

    odd = Path(os.fsdecode(b"/srv/h\xc3me/state/plan.lock"))
    assert lock_keep.name(odd) != lock_keep.name(Path("/srv/home/state/plan.lock"))
    assert lock_keep.name(Path("/srv/h\u00e9me")) == lock_keep.name(
        Path(os.fsdecode("/srv/h\u00e9me".encode()))
    )


@pytest.mark.parametrize("encoding", ["latin-1", "ascii"])
def test_the_plan_s_json_on_stdout_is_json_whatever_the_output_s_encoding(
    sandbox_factory: SandboxFactory, tmp_path: Path, encoding: str
) -> None:
    """``PYTHONIOENCODING=latin-1``: ``--format json`` and ``--plan-out -`` wrote "Spriñt" as
    the byte 0xf1, which no JSON reader takes (JSON is UTF-8); ``ascii``: "😀" as Python's
    ``\\U0001f600``, which is no JSON escape. Both are the plan a UTF-8 stdout gets."""
    s = generate(5, 20)
    with s.world.lock:
        for card in s.world.cards.values():
            card.name = f"Spriñt {card.name} 😀"
    sb = sandbox_factory(s, latency_ms=0)
    env = {**os.environ, **trello_env(sb.base_url, sb.key, sb.token),
           "TRELLO_RESTORE_HOME": str(tmp_path / "home")}  # fmt: skip

    def plan(io: str, *args: str) -> dict[str, Any]:
        done = subprocess.run(
            [sys.executable, "-m", "trello_restore", "--board", s.team.id, "--since",
             incident_since(s), "--dry-run", "-q", *args],
            env={**env, "PYTHONIOENCODING": io}, capture_output=True, timeout=120, check=False,
        )  # fmt: skip
        assert done.returncode == 0, done.stderr
        doc: dict[str, Any] = json.loads(done.stdout.decode("utf-8"))
        for key in ("created_at", "clock_skew_s"):
            doc.pop(key, None)
        return doc

    want = plan("utf-8", "--format", "json")
    assert "Spriñt" in json.dumps(want, ensure_ascii=False)
    assert "😀" in json.dumps(want, ensure_ascii=False)
    assert plan(encoding, "--format", "json") == want
    assert plan(encoding, "--plan-out", "-") == want


@pytest.mark.skipif(not FULL.exists(), reason="no /dev/full on this system")
def test_the_sandbox_s_output_that_cannot_be_written_is_one_line(tmp_path: Path) -> None:
    """R44g: ``sandbox export -o - >/dev/full`` and ``sandbox serve >&-`` ended in Python's
    traceback (exit 1); now the line every command gives, exit 2 (serve then serves no one)."""
    command = [sys.executable, "-m", "trello_restore", "sandbox"]
    with FULL.open("w") as full:
        export = subprocess.run([*command, "export", "--seed", "3", "--cards", "20", "-o", "-"],
                                stdout=full, stderr=subprocess.PIPE, text=True, timeout=120,
                                check=False)  # fmt: skip
    assert (export.returncode, export.stderr) == (
        2, "Error: cannot write the output: No space left on device; nothing was written to "
        "Trello\n",
    )  # fmt: skip
    serve = subprocess.run([*command, "serve", "--seed", "3", "--cards", "20"],
                           stdin=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True,
                           timeout=120, check=False, preexec_fn=lambda: os.close(1))  # fmt: skip
    assert serve.returncode == 2
    assert serve.stderr == (
        "Error: cannot write the output: Bad file descriptor; nothing was written to Trello\n"
    )


def _small_files() -> None:
    """In the child: files of at most 4 KB, and past that an error (EFBIG), not SIGXFSZ."""
    import resource
    import signal

    signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
    resource.setrlimit(resource.RLIMIT_FSIZE, (4096, 4096))


@pytest.mark.skipif(not hasattr(os, "fork"), reason="preexec_fn needs fork")
def test_output_cut_short_by_a_full_disk_is_an_error_not_a_shorter_plan(tmp_path: Path) -> None:
    """R44h: a plan (JSON or text) or an export on stdout that the disk took only part of
    (it filled up, or ``ulimit -f``) was cut at 64 KB with exit 0: Python's text layer drops
    what a large write did not get through. Now the one line of an output that cannot be
    written, exit 2."""
    s = generate(1, 200)
    team = tmp_path / "team.json"
    team.write_text(json.dumps(s.export(s.team.id)))
    command = [sys.executable, "-m", "trello_restore"]
    for args in (
        ["--from-export", str(team), "--since", "2025-01-01", "--dry-run", "--plan-out", "-"],
        ["--from-export", str(team), "--since", "2025-01-01", "--dry-run", "--format", "json"],
        ["--from-export", str(team), "--since", "2025-01-01", "--dry-run", "-v"],
        ["sandbox", "export", "--seed", "1", "--cards", "200", "-o", "-"],
    ):
        out = tmp_path / "out"
        with out.open("w") as f:
            done = subprocess.run([*command, *args], stdout=f, stderr=subprocess.PIPE, text=True,
                                  timeout=120, check=False, preexec_fn=_small_files)  # fmt: skip
        assert done.returncode == 2, (args, done.stderr)
        assert done.stderr.endswith(
            "Error: cannot write the output: File too large; nothing was written to Trello\n"
        ), done.stderr


def test_apply_and_undo_json_cut_short_is_an_error(
    sandbox_factory: SandboxFactory, tmp_path: Path
) -> None:
    """R44i: ``apply``'s and ``undo``'s ``--format json`` line went through the text layer
    too: cut at the disk's end with the run's own exit code (0, or 5). A sandbox export to a
    file left a file cut short behind its error."""
    s = generate(1, 200)
    sb = sandbox_factory(s, latency_ms=0)
    home = tmp_path / "home"
    plan = tmp_path / "plan.json"
    made = _run(sb, ["--board", s.team.id, "--since", incident_since(s), "--add-to-board",
                     "--dry-run", "-q", "--plan-out", str(plan)], home)  # fmt: skip
    assert made.returncode == 0, made.stderr
    applied = _run(sb, ["apply", str(plan), "--yes", "-q", "--rate-limit", "1000"], home)
    assert applied.returncode == 0, applied.stderr
    (journal,) = (home / "state" / "journals").glob("plan-*.jsonl")
    out = tmp_path / "out"
    for args in (["apply", str(plan), "--dry-run", "--format", "json"],
                 ["undo", str(journal), "--dry-run", "--format", "json"]):  # fmt: skip
        with out.open("w") as f:
            done = _run(sb, args, home, stdout=f, preexec_fn=_small_files)
        assert done.returncode == 2, (args, done.stderr)
        assert "Error: cannot write the output: File too large" in done.stderr
        whole = _run(sb, args, home)
        assert len(whole.stdout) > 4096  # what did not fit
        json.loads(whole.stdout)
    export = tmp_path / "team.json"
    done = subprocess.run(
        [sys.executable, "-m", "trello_restore", "sandbox", "export", "--seed", "1", "-o",
         str(export)], stderr=subprocess.PIPE, text=True, timeout=120, check=False,
        preexec_fn=_small_files,
    )  # fmt: skip
    assert done.returncode == 2, done.stderr
    assert "File too large" in done.stderr
    assert not export.exists()
    assert list(tmp_path.glob(".team.json.*")) == []


def test_a_plan_s_text_in_ascii_is_as_click_wrote_it(
    sandbox_factory: SandboxFactory, tmp_path: Path
) -> None:
    """R44i: with ``PYTHONIOENCODING=ascii`` the text plan (written whole since R44h) came out
    escaped ("\\u2192") where click wrote UTF-8, as it does for every other line."""
    s = generate(5, 20)
    with s.world.lock:
        for card in s.world.cards.values():
            card.name = f"{card.name} → café"
    sb = sandbox_factory(s, latency_ms=0)
    args = ["--board", s.team.id, "--since", incident_since(s), "--dry-run", "-v"]
    env = {**os.environ, **trello_env(sb.base_url, sb.key, sb.token),
           "TRELLO_RESTORE_HOME": str(tmp_path / "home")}  # fmt: skip
    outs = []
    for io in ("utf-8", "ascii"):
        done = subprocess.run([sys.executable, "-m", "trello_restore", *args],
                              env={**env, "PYTHONIOENCODING": io}, capture_output=True,
                              timeout=120, check=False)  # fmt: skip
        assert done.returncode == 0, done.stderr
        outs.append(done.stdout)
    assert "→".encode() in outs[0]
    assert outs[1] == outs[0]


def test_a_sandbox_export_onto_a_file_writes_into_it(tmp_path: Path) -> None:
    """R44j: written whole by a temporary file renamed over it, the export replaced an
    existing file (mode 0600, its hard links left with the old text, a directory that cannot
    be written to refused). It is written into the file, as before; only a file it made is
    removed when the write fails (``test_apply_and_undo_json_cut_short_is_an_error``)."""
    existing = tmp_path / "team.json"
    existing.write_text("x")
    existing.chmod(0o664)
    link = tmp_path / "link.json"
    os.link(existing, link)
    done = subprocess.run(
        [sys.executable, "-m", "trello_restore", "sandbox", "export", "--seed", "3", "--cards",
         "20", "-o", str(existing)], capture_output=True, text=True, timeout=120, check=False,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    assert stat.S_IMODE(existing.stat().st_mode) == 0o664
    assert link.read_text() == existing.read_text()
    assert json.loads(link.read_text())["name"]


@pytest.mark.skipif(not FULL.exists(), reason="no /dev/full on this system")
@pytest.mark.parametrize(
    "args",
    [["--help"], ["--version"], [], ["apply", "--help"], ["sandbox"], ["undo", "--help"]],
    ids=["help", "version", "bare", "apply-help", "sandbox", "undo-help"],
)
def test_help_that_cannot_be_written_is_one_line(args: list[str]) -> None:
    """R54d: ``--help``, ``--version`` and the bare command (click's own output) on a full disk,
    or started without stdout, ended in Python's traceback, exit 1 ("internal error"); now the
    line every command gives, exit 2."""
    command = [sys.executable, "-m", "trello_restore", *args]
    with FULL.open("w") as full:
        on_full = subprocess.run(command, stdout=full, stderr=subprocess.PIPE, text=True,
                                 stdin=subprocess.DEVNULL, timeout=120, check=False)  # fmt: skip
    assert (on_full.returncode, on_full.stderr) == (
        2, "Error: cannot write the output: No space left on device; nothing was written to "
        "Trello\n",
    )  # fmt: skip
    closed = subprocess.run(command, stdin=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True,
                            timeout=120, check=False, preexec_fn=lambda: os.close(1))  # fmt: skip
    assert (closed.returncode, closed.stderr) == (
        2, "Error: cannot write the output: Bad file descriptor; nothing was written to Trello\n"
    )  # fmt: skip


def test_a_sandbox_that_cannot_listen_is_a_usage_error() -> None:
    """R54d: ``sandbox serve --port`` of a port in use said so clearly but exited 1, which the
    README's table keeps for bugs; it is the user's choice of port: exit 2, one line."""
    import socket

    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        serve = subprocess.run(
            [sys.executable, "-m", "trello_restore", "sandbox", "serve", "--port", str(port)],
            stdin=subprocess.DEVNULL, capture_output=True, text=True, timeout=120, check=False,
        )  # fmt: skip
    assert serve.returncode == 2, serve.stderr
    assert serve.stderr.startswith(f"Error: cannot listen on 127.0.0.1:{port}: ")
    assert serve.stderr.count("\n") == 1
    assert "Traceback" not in serve.stderr
    assert serve.stdout == ""
