"""Files that are not files (review R36a): a device, a FIFO or a link to one where the tool
writes. ``--plan-out`` replaced a device or a FIFO with the plan (``/dev/null``, as root, became
a plan file), and said a missing directory only after the whole fetch; a FIFO as ``--journal``
hung the apply for good, deaf to Ctrl-C and SIGTERM; ``--log-file`` on a device made it 0600
(``/dev/full`` closed to every other user). Each now one line, exit 2, before any request
where the path is known before the run (nothing written to Trello in any case), the device or
FIFO left as it was; the CLI over HTTP against the sandbox."""

from __future__ import annotations

import os
import stat
from collections.abc import Callable
from pathlib import Path

import pytest
from click.testing import Result

from trello_restore.errors import ExitCode
from trello_restore.logs import LOG_MAX_BYTES
from trello_restore.sandbox.scenario import Scenario, generate

from .conftest import Sandbox, SandboxFactory, one_line_error, sandbox_cli
from .test_cli_apply import _restore_args

Invoke = Callable[..., Result]
WRITES = ("POST", "PUT", "DELETE")


@pytest.fixture(name="scenario")
def scenario_fixture() -> Scenario:
    return generate(5, 20)


@pytest.fixture(name="sb")
def sb_fixture(sandbox_factory: SandboxFactory, scenario: Scenario) -> Sandbox:
    return sandbox_factory(scenario, latency_ms=0)


@pytest.fixture(name="invoke")
def invoke_fixture(sb: Sandbox, monkeypatch: pytest.MonkeyPatch) -> Invoke:
    return sandbox_cli(sb, monkeypatch)


def test_plan_out_into_a_missing_directory_is_said_before_the_fetch(
    invoke: Invoke, scenario: Scenario, sb: Sandbox, tmp_path: Path
) -> None:
    target = tmp_path / "out" / "plan.json"
    r = invoke(*_restore_args(scenario), "--dry-run", "--plan-out", str(target))
    one_line_error(
        r, ExitCode.USAGE, f"cannot write plan {target}: directory {target.parent} does not exist"
    )
    assert sb.server.request_log == []


@pytest.mark.parametrize("through_a_link", [False, True])
def test_plan_out_to_a_fifo_is_refused_and_left_as_it_is(
    invoke: Invoke, scenario: Scenario, sb: Sandbox, tmp_path: Path, through_a_link: bool
) -> None:
    fifo = tmp_path / "fifo"
    os.mkfifo(fifo)
    target = fifo
    if through_a_link:  # as /dev/stdout is a link to /proc/self/fd/1
        target = tmp_path / "stdout"
        target.symlink_to(fifo)
    r = invoke(*_restore_args(scenario), "--dry-run", "--plan-out", str(target))
    said = "it is a symbolic link" if through_a_link else "it is not a regular file"
    one_line_error(r, ExitCode.USAGE, said, "or - for stdout")
    assert sb.server.request_log == []
    assert stat.S_ISFIFO(fifo.stat().st_mode)
    assert target.is_symlink() is through_a_link


def test_a_fifo_as_the_journal_is_refused_before_any_write(
    invoke: Invoke, scenario: Scenario, sb: Sandbox, tmp_path: Path
) -> None:
    plan = tmp_path / "plan.json"
    made = invoke(*_restore_args(scenario), "--dry-run", "--plan-out", str(plan))
    assert made.exit_code == 0, made.output
    fifo = tmp_path / "journal.fifo"
    os.mkfifo(fifo)
    for command in (["apply", str(plan)], [*_restore_args(scenario), "--yes"]):
        sb.server.request_log.clear()
        r = invoke(*command, "--journal", str(fifo))
        one_line_error(
            r,
            ExitCode.USAGE,
            f"cannot use {fifo} as the journal: it is not a regular file (a device, a FIFO or a "
            "socket); pass --journal with the path of a file",
        )
        assert not [x for x in sb.server.request_log if x.method in WRITES]
        assert stat.S_ISFIFO(fifo.stat().st_mode)


def test_a_device_as_the_log_file_keeps_its_mode(
    invoke: Invoke, scenario: Scenario, tmp_path: Path
) -> None:
    """A character device like ``/dev/null`` (made here, as only root can: else skipped) is
    written to, its mode left as it is (it was made 0600)."""
    device = tmp_path / "null"
    try:
        os.mknod(device, 0o666 | stat.S_IFCHR, os.makedev(1, 3))
    except PermissionError:
        pytest.skip("only root can make a device node")
    device.chmod(0o666)
    r = invoke(*_restore_args(scenario), "--dry-run", "--log-file", str(device))
    assert r.exit_code == 0, r.output
    assert stat.S_ISCHR(device.stat().st_mode)
    assert stat.S_IMODE(device.stat().st_mode) == 0o666


@pytest.mark.parametrize("variable", ["XDG_CACHE_HOME", "XDG_STATE_HOME"])
def test_an_xdg_directory_that_is_a_file_is_named(
    invoke: Invoke,
    scenario: Scenario,
    sb: Sandbox,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    variable: str,
) -> None:
    """``XDG_CACHE_HOME`` or ``XDG_STATE_HOME`` set to a file: the line names that file (it
    blamed TRELLO_RESTORE_HOME, which was not set, or said only "Not a directory"); exit 2,
    nothing written."""
    monkeypatch.delenv("TRELLO_RESTORE_HOME")
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    afile = tmp_path / "afile"
    afile.write_text("not a directory\n")
    monkeypatch.setenv(variable, str(afile))
    r = invoke(*_restore_args(scenario), "--yes")
    one_line_error(r, ExitCode.USAGE, f"{afile} is a file, not a directory", variable)
    assert not [x for x in sb.server.request_log if x.method in WRITES]


def test_a_log_file_through_a_link_is_never_rotated(
    invoke: Invoke, scenario: Scenario, tmp_path: Path
) -> None:
    """``--log-file`` a link (``/dev/stderr`` is one) to a file over the rotation size: the
    log goes on in the file, and the link stays where it is (R36e: the rotation renamed the
    link, ``/dev/stderr`` became ``/dev/stderr.1`` and a file took its place)."""
    big = tmp_path / "stderr-file"
    big.write_bytes(b"x" * (LOG_MAX_BYTES + 1000))
    link = tmp_path / "stderr"
    link.symlink_to(big)
    r = invoke(*_restore_args(scenario), "--dry-run", "--log-file", str(link))
    assert r.exit_code == 0, r.output
    assert link.is_symlink()
    assert not (tmp_path / "stderr.1").exists()
    assert big.stat().st_size > LOG_MAX_BYTES + 1000


def test_another_user_s_log_file_keeps_its_mode(
    invoke: Invoke, scenario: Scenario, tmp_path: Path
) -> None:
    """A log file of another user that this one may write to (root may chmod it: R36e, a
    cron job's ``2>>`` file reached through ``--log-file /dev/stderr``) is appended to and
    left at its mode, and never rotated (R36f: root renamed it and left its own 0600 file
    there). Only as root (else skipped)."""
    theirs = tmp_path / "theirs.log"
    theirs.write_text("their line\n" + "x" * LOG_MAX_BYTES + "\n")  # over the rotation size
    theirs.chmod(0o644)
    try:
        os.chown(theirs, 65534, 65534)
    except PermissionError:
        pytest.skip("only root can give a file to another user")
    r = invoke(*_restore_args(scenario), "--dry-run", "--log-file", str(theirs))
    assert r.exit_code == 0, r.output
    assert stat.S_IMODE(theirs.stat().st_mode) == 0o644
    assert theirs.stat().st_uid == 65534  # not rotated away (R36f), still theirs
    assert not (tmp_path / "theirs.log.1").exists()
    assert theirs.read_text().startswith("their line\n")
    assert len(theirs.read_text().splitlines()) > 1


def test_plan_out_over_a_journal_or_an_export_it_reads_is_refused(
    invoke: Invoke, scenario: Scenario, sb: Sandbox, tmp_path: Path
) -> None:
    """R42a: ``--plan-out`` onto an apply's journal replaced undo's only record of it (exit 0;
    undo then exit 2, for good), and onto a ``--from-export`` file it read replaced that board's
    history. Both refused before anything is read, the file left as it was; a plan over a plan
    is replaced as ever."""
    plan = tmp_path / "plan.json"
    assert invoke(*_restore_args(scenario), "--dry-run", "--plan-out", str(plan)).exit_code == 0
    journal = tmp_path / "j.jsonl"
    applied = invoke("apply", str(plan), "--yes", "--journal", str(journal))
    assert applied.exit_code == 0, applied.output
    kept = journal.read_bytes()
    sb.server.request_log.clear()
    r = invoke(*_restore_args(scenario), "--dry-run", "--plan-out", str(journal))
    one_line_error(r, ExitCode.USAGE, f"cannot write plan {journal}: it is a journal")
    assert sb.server.request_log == []
    assert journal.read_bytes() == kept

    export = tmp_path / "team.json"
    made = invoke("sandbox", "export", "--seed", "5", "--cards", "20", "-o", str(export))
    assert made.exit_code == 0, made.output
    kept = export.read_bytes()
    link = tmp_path / "again.json"
    os.link(export, link)  # the same file under another name
    for target in (export, link):
        r = invoke("--from-export", str(export), "--since", "2025-11-02", "--dry-run",
                   "--plan-out", str(target))  # fmt: skip
        one_line_error(r, ExitCode.USAGE, "it is a file this run reads (a --from-export board")
        assert export.read_bytes() == kept
    again = invoke(*_restore_args(scenario), "--dry-run", "--plan-out", str(plan))
    assert again.exit_code == 0, again.output
    # R42e: nor over the config file the run read its key and token from.
    config = tmp_path / "config.toml"
    config.write_text(f'[trello]\napi_key = "{sb.key}"\ntoken = "{sb.token}"\n')
    config.chmod(0o600)
    kept = config.read_bytes()
    r = invoke(*_restore_args(scenario), "--config", str(config), "--dry-run",
               "--plan-out", str(config), TRELLO_API_KEY=None, TRELLO_TOKEN=None)  # fmt: skip
    one_line_error(r, ExitCode.USAGE, "it is a file this run reads (a --from-export board export")
    assert config.read_bytes() == kept
