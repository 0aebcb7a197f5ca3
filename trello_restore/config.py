"""Settings: where state lives, credentials from the environment, and the config file.

Precedence (design.md §7) is flags > environment > config file > defaults. The config file is
TOML (``config.example.toml`` documents every key), found through ``--config PATH``,
``TRELLO_RESTORE_CONFIG``, or the user config directory. ``TRELLO_RESTORE_HOME`` moves all state
(HTTP cache, journals, last-run state, locks) under one directory, which tests use.
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


# ----------------------------------------------------------------------------- config file

ENV_CONFIG = "TRELLO_RESTORE_CONFIG"

#: Every key the config file may hold: section -> key -> (type, description for messages).
CONFIG_KEYS: dict[str, dict[str, tuple[type | tuple[type, ...], str]]] = {
    "trello": {
        "api_key": (str, "a string"),
        "token": (str, "a string"),
        "api_url": (str, "a URL string"),
    },
    "restore": {
        "boards": (list, "a list of board ids, shortLinks, URLs or names"),
        "since": (str, "a date, date-time, age (7d) or 'last-run'"),
        "until": (str, "a date, date-time or age"),
        "mode": (str, "'removed' or 'ever-added'"),
        "removed_by": (str, "a member id or username"),
        "cause": (str, "'move' or ''"),
        "only_recorded": (bool, "true or false"),
        "add_to_board": (bool, "true or false"),
        "board_role": (str, "'normal' or 'observer'"),
        "workspace": (str, "a workspace (organization) id or name"),
    },
    "limits": {
        "requests_per_window": (int, "a whole number"),
        "key_requests_per_window": (int, "a whole number"),
        "window_seconds": ((int, float), "a number of seconds"),
        "workers": (int, "a whole number"),
        "max_retries": (int, "a whole number"),
    },
    "paths": {
        "state_dir": (str, "a directory path"),
        "cache_dir": (str, "a directory path"),
        "journal": (str, "a file path"),
        "log_file": (str, "a file path"),
    },
}
_CHOICES = {
    ("restore", "mode"): ("removed", "ever-added"),
    ("restore", "cause"): ("", "move"),
    ("restore", "board_role"): ("normal", "observer"),
}


@dataclass(frozen=True)
class ConfigFile:
    """A parsed, type-checked config file: ``values[(section, key)]``."""

    path: Path | None
    values: dict[tuple[str, str], object] = field(default_factory=dict)
    #: Warnings to show (e.g. a token in a file others can read).
    warnings: tuple[str, ...] = ()

    def get(self, section: str, key: str) -> object | None:
        """The value, or None when the file does not set it."""
        return self.values.get((section, key))


def config_path(flag: str | None, env: Mapping[str, str] | None = None) -> tuple[Path | None, bool]:
    """Which config file applies, and whether it was named explicitly (flag or environment)."""
    source = os.environ if env is None else env
    if flag:
        return Path(flag).expanduser(), True
    named = source.get(ENV_CONFIG, "").strip()
    if named:
        return Path(named).expanduser(), True
    default = Path(platformdirs.user_config_dir(APP)) / "config.toml"
    return (default, False) if default.is_file() else (None, False)


def load_config(path: Path | None, *, explicit: bool) -> ConfigFile:
    """Read and check a config file. A file named explicitly that cannot be read or parsed is an
    error even when everything it would provide is given elsewhere (design.md §7)."""
    import tomllib

    from trello_restore.errors import ConfigError

    if path is None:
        return ConfigFile(None)
    try:
        raw = path.read_bytes()
    except FileNotFoundError:
        if not explicit:
            return ConfigFile(None)
        raise ConfigError(
            f"config file {path} does not exist: fix --config / {ENV_CONFIG}, or create it "
            "from config.example.toml"
        ) from None
    except OSError as exc:
        raise ConfigError(f"config file {path} cannot be read ({exc.strerror})") from None
    try:
        doc = tomllib.loads(raw.decode("utf-8"))
    except (UnicodeDecodeError, tomllib.TOMLDecodeError) as exc:
        raise ConfigError(f"config file {path} is not valid TOML: {exc}") from None
    values: dict[tuple[str, str], object] = {}
    for section, table in doc.items():
        known = CONFIG_KEYS.get(section)
        if known is None or not isinstance(table, dict):
            raise ConfigError(
                f"config file {path}: unknown section [{section}]; expected one of "
                f"{', '.join('[' + s + ']' for s in CONFIG_KEYS)}"
            )
        for key, value in table.items():
            if key not in known:
                raise ConfigError(
                    f"config file {path}: unknown key {section}.{key}; see config.example.toml"
                )
            kind, description = known[key]
            ok = isinstance(value, kind) and not (kind is int and isinstance(value, bool))
            if kind == (int, float) and isinstance(value, bool):
                ok = False
            if ok and kind is list:
                ok = all(isinstance(x, str) for x in value)
            choices = _CHOICES.get((section, key))
            if ok and choices is not None and value not in choices:
                ok = False
            if not ok:
                raise ConfigError(
                    f"config file {path}: {section}.{key} must be {description}, not {value!r:.40}"
                )
            values[(section, key)] = value
    warnings: list[str] = []
    if ("trello", "token") in values:
        mode = path.stat().st_mode
        if mode & 0o077:
            warnings.append(
                f"config file {path} holds a token and is readable by others "
                f"(mode {mode & 0o777:o}): run chmod 600 {path}"
            )
    return ConfigFile(path, values, tuple(warnings))
