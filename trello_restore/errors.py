"""The exception hierarchy. Core modules raise these; only ``cli.py`` turns them into messages
and exit codes (style.md habits 1 and 2)."""

from __future__ import annotations


class RestoreError(Exception):
    """Root of every error trello-restore reports to the user."""


class ConfigError(RestoreError):
    """Bad or missing configuration (credentials, config file, option values)."""


class ApiError(RestoreError):
    """Trello (or the sandbox) refused a request or answered something unusable."""

    def __init__(self, message: str, status: int | None = None) -> None:
        super().__init__(message)
        #: The HTTP status, when there was an answer.
        self.status = status


class ApiUnreachable(ApiError):
    """Trello could not be reached, or kept refusing with rate limits or 5xx answers."""
