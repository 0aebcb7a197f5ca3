"""What a user reads on stderr from the tool's modules' notices (``logs.StderrFormat``)."""

from __future__ import annotations

import logging

import pytest

from trello_restore.logs import end_of_command, setup_logging


@pytest.mark.parametrize(
    ("verbose", "expected"),
    [
        (0, ["Warning: the store is rebuilt", "Error: it failed"]),
        (1, ["noted", "Warning: the store is rebuilt", "Error: it failed"]),
        (
            2,
            [
                "DEBUG trello_restore.history_store: detail",
                "noted",
                "Warning: the store is rebuilt",
                "Error: it failed",
            ],
        ),
    ],
)
def test_notices_read_like_the_command_s_own_lines(
    capsys: pytest.CaptureFixture[str], verbose: int, expected: list[str]
) -> None:
    """A module's warning reads ``Warning: …`` like the command's own warnings (it read
    ``WARNING trello_restore.history_store: …``), an error ``Error: …``, ``-v``'s notes as
    they are; only ``-vv``'s debug lines say where they come from."""
    setup_logging(verbose, quiet=False)
    try:
        log = logging.getLogger("trello_restore.history_store")
        log.debug("detail")
        log.info("noted")
        log.warning("the store is %s", "rebuilt")
        log.error("it failed")
    finally:
        end_of_command()
    assert capsys.readouterr().err.splitlines() == expected
