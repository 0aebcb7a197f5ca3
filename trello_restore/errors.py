"""The exception hierarchy and the exit codes. Core modules raise these; only ``cli.py`` turns
them into one-line messages and exit codes (style.md habits 1, 2 and 11).

Every error's message says what went wrong *and what to do*, in one line.
"""

from __future__ import annotations

import errno
from enum import IntEnum
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from pathlib import Path


class ExitCode(IntEnum):
    """Documented exit codes (README, ``--help``)."""

    #: Success (for a dry run with ``--detailed-exitcode``: success and nothing to do).
    OK = 0
    #: An unexpected internal error (a bug): the message says how to get details.
    INTERNAL = 1
    #: Usage or bad input: options, dates, board names, plan or export files.
    USAGE = 2
    #: Authentication or permission: missing or invalid credentials, no access to a board.
    AUTH = 3
    #: Trello unreachable, or still rate limiting or failing after the retries.
    UNREACHABLE = 4
    #: Partial failure: some changes failed, drifted or were blocked.
    PARTIAL = 5
    #: Another run holds the lock for the same plan or boards, or (met as 429s before this run
    #: could take its locks) is using the token's rate budget.
    LOCKED = 6
    #: Dry run with ``--detailed-exitcode``: changes are pending.
    CHANGES_PENDING = 7


class RestoreError(Exception):
    """Root of every error trello-restore reports to the user."""

    exit_code: ExitCode = ExitCode.USAGE


class UsageError(RestoreError):
    """Bad input: an option value, a date, a board reference, a file."""

    exit_code = ExitCode.USAGE


class ConfigError(UsageError):
    """Bad or missing configuration (config file, option values)."""


class BoardNotFound(UsageError):
    """No board matches a ``--board`` value."""


class AmbiguousBoard(UsageError):
    """Several boards have the name given to ``--board``."""


class InputFileError(UsageError):
    """A plan, export or journal file that cannot be read or is not what it should be."""


class OtherPlansJournal(InputFileError):
    """A ``--journal`` file that holds the journal of another plan (``path``): a journal
    belongs to one plan."""

    def __init__(self, path: Path, *, one_step: bool = False) -> None:
        fix = (
            "holds the journal of an earlier run, and a journal belongs to one plan: this run "
            "made a new one (a run again plans again). Name a new file with --journal, or leave "
            "it out (one journal per plan in the journal directory)"
            if one_step  # R59c: "apply the plan it belongs to" is no advice to this run
            else "is the journal of another plan; pass a different --journal or apply the plan "
            "it belongs to"
        )
        super().__init__(f"{path} {fix}")
        self.path = path


class JournalWriteError(RestoreError):
    """The journal could not be written (a full disk, a failing device). Nothing more is sent
    to Trello once it fails: every write's ``pending`` record must be on disk before the write
    goes (design.md §5). The message says what was sent and what to do."""

    exit_code = ExitCode.USAGE


class ApiError(RestoreError):
    """Trello (or the sandbox) refused a request or answered something unusable."""

    exit_code = ExitCode.UNREACHABLE

    def __init__(self, message: str, status: int | None = None, trello_error: str = "") -> None:
        super().__init__(message)
        #: The HTTP status, when there was an answer.
        self.status = status
        #: Trello's error text or code (``invalid token``, ``API_TOKEN_LIMIT_EXCEEDED``, …).
        self.trello_error = trello_error


class AuthError(ApiError):
    """Missing, invalid or expired credentials."""

    exit_code = ExitCode.AUTH


class OutOfFiles(ApiError):
    """This machine ran out of open files (``EMFILE``, ``ENFILE``) for a request: no failure of
    Trello's nor of the network (R64b: "cannot reach the Trello API", exit 4, and mid-apply
    "Trello kept failing", under ``ulimit -n 16``). Not retried; a run stops as for a revoked
    token, once the writes in flight are answered and journaled."""

    exit_code = ExitCode.USAGE

    #: The errors of a file or socket that could not be opened for want of files.
    ERRNOS = (errno.EMFILE, errno.ENFILE)


class PermissionDenied(ApiError):
    """The token's member may not read or change this board or card."""

    exit_code = ExitCode.AUTH


class NotFound(ApiError):
    """Trello says the board, card or list does not exist (or is not visible)."""

    exit_code = ExitCode.USAGE


class BadRequest(ApiError):
    """Trello refused the request as malformed (``400``), e.g. ``invalid id``."""

    exit_code = ExitCode.USAGE


class RateLimited(ApiError):
    """Trello kept answering 429 after the retries."""

    exit_code = ExitCode.UNREACHABLE

    def __init__(
        self,
        message: str,
        status: int | None = 429,
        trello_error: str = "",
        retry_after: float | None = None,
    ) -> None:
        super().__init__(message, status, trello_error)
        #: Seconds the answer's ``Retry-After`` asked to wait, when it said.
        self.retry_after = retry_after


class ApiUnreachable(ApiError):
    """Trello could not be reached, timed out, or kept answering 5xx after the retries."""

    exit_code = ExitCode.UNREACHABLE


class BadResponse(ApiError):
    """Trello answered something that is not the JSON expected (HTML, garbage)."""

    exit_code = ExitCode.UNREACHABLE


class LockHeld(RestoreError):
    """Another run is applying (or undoing) the same plan, or changing the same board."""

    exit_code = ExitCode.LOCKED
