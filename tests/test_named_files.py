"""A file the user names that is no regular file (a device, a pipe) is read up to a bound
(R51a: ``apply /dev/zero``, ``--config /dev/zero`` and ``--from-export /dev/zero`` were read
until the system killed the process); a pipe (``<(…)``) and ``/dev/null`` still read."""

from __future__ import annotations

import os
import threading
from pathlib import Path

import pytest
from click.testing import CliRunner

from trello_restore import fsutil
from trello_restore.cli import main
from trello_restore.errors import ExitCode

from .conftest import one_line_error

ZERO = Path("/dev/zero")
pytestmark = pytest.mark.skipif(not ZERO.exists(), reason="no /dev/zero here")


def test_a_device_is_read_up_to_the_bound(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(fsutil, "NAMED_MAX", 4096)
    with pytest.raises(OSError, match="gives more than 0 MB"):
        fsutil.read_named(ZERO)
    assert fsutil.read_named(Path("/dev/null")) == b""
    read, write = os.pipe()

    def feed() -> None:
        os.write(write, b"x" * 100)
        os.close(write)

    writer = threading.Thread(target=feed)
    writer.start()
    try:
        assert fsutil.read_named(Path(f"/dev/fd/{read}")) == b"x" * 100
    finally:
        writer.join()
        os.close(read)


@pytest.mark.parametrize(
    ("args", "needle"),
    [
        (["apply", "--dry-run", "/dev/zero"], "cannot read plan file /dev/zero: it gives more"),
        (["--config", "/dev/zero", "--board", "x", "--since", "1d", "--dry-run"],
         "config file /dev/zero cannot be read (it gives more than"),
        (["--from-export", "/dev/zero", "--since", "1d", "--dry-run"],
         "/dev/zero cannot be read (it gives more than"),
    ],
)  # fmt: skip
def test_each_named_file_is_read_up_to_the_bound(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, args: list[str], needle: str
) -> None:
    monkeypatch.setattr(fsutil, "NAMED_MAX", 1 << 20)
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path))
    monkeypatch.delenv("TRELLO_RESTORE_CONFIG", raising=False)
    monkeypatch.setenv("TRELLO_API_KEY", "k" * 32)
    monkeypatch.setenv("TRELLO_TOKEN", "t" * 64)
    monkeypatch.setenv("TRELLO_API_URL", "http://127.0.0.1:9/1")
    one_line_error(CliRunner().invoke(main, args), ExitCode.USAGE, needle)
