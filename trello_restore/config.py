"""Settings: where state lives, and credentials from the environment.

Precedence (design.md §7) is flags > environment > config file > defaults; the config file
arrives with the "run unattended" issue. ``TRELLO_RESTORE_HOME`` moves all state (HTTP cache,
journals, last-run state, locks) under one directory, which tests use.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

import platformdirs

APP = "trello-restore"
ENV_HOME = "TRELLO_RESTORE_HOME"
ENV_KEY = "TRELLO_API_KEY"
ENV_TOKEN = "TRELLO_TOKEN"  # noqa: S105 - the name of a variable, not a secret
ENV_API_URL = "TRELLO_API_URL"
ENV_MAX_RETRIES = "TRELLO_RESTORE_MAX_RETRIES"
DEFAULT_MAX_RETRIES = 5


@dataclass(frozen=True)
class Credentials:
    """API key and token; the token never shows in ``repr``."""

    key: str
    token: str = field(repr=False)


def credentials_from_env(env: Mapping[str, str] | None = None) -> Credentials:
    """Key and token from ``TRELLO_API_KEY`` / ``TRELLO_TOKEN`` (empty when unset)."""
    source = os.environ if env is None else env
    return Credentials(source.get(ENV_KEY, "").strip(), source.get(ENV_TOKEN, "").strip())


def state_dir(env: Mapping[str, str] | None = None) -> Path:
    """Journals, last-run state and locks."""
    source = os.environ if env is None else env
    home = source.get(ENV_HOME)
    if home:
        return Path(home).expanduser() / "state"
    return Path(platformdirs.user_state_dir(APP))


def cache_dir(env: Mapping[str, str] | None = None) -> Path:
    """The HTTP cache (one SQLite file per account)."""
    source = os.environ if env is None else env
    home = source.get(ENV_HOME)
    if home:
        return Path(home).expanduser() / "cache"
    return Path(platformdirs.user_cache_dir(APP))


def max_retries(env: Mapping[str, str] | None = None) -> int:
    """How often a failing read is retried (``TRELLO_RESTORE_MAX_RETRIES``, default 5)."""
    from trello_restore.errors import ConfigError

    source = os.environ if env is None else env
    raw = source.get(ENV_MAX_RETRIES, "").strip()
    if not raw:
        return DEFAULT_MAX_RETRIES
    if not raw.isdigit() or int(raw) > 20:
        raise ConfigError(f"{ENV_MAX_RETRIES}={raw!r}: expected a whole number from 0 to 20")
    return int(raw)
