"""The config file: every key it may hold, and reading and checking one (``load_config``).

The file is TOML (``config.example.toml`` documents every key): sections ``[trello]``,
``[restore]``, ``[limits]`` and ``[paths]``, whose keys and types are ``CONFIG_KEYS`` (with
``CHOICES`` and ``RANGES``, the values a key allows). ``load_config`` refuses a file that does
not parse or holds an unknown section or key or a value of the wrong type, in one line that
never shows what stands where a credential should be, and warns of a token in a file others can
read. Which file applies, and how its values rank below the environment's and the flags', is
``config.py``'s.
"""

from __future__ import annotations

import difflib
import os
from dataclasses import dataclass, field
from datetime import date, datetime, time
from pathlib import Path

from trello_restore import defaults

__all__ = ["CHOICES", "CONFIG_KEYS", "ENV_CONFIG", "RANGES", "ConfigFile", "load_config"]

#: The variable that names the config file (``config.config_path``).
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
        "cause": (str, "'move', 'any' or ''"),
        "only_recorded": (bool, "true or false"),
        "add_to_board": (bool, "true or false"),
        "board_role": (str, "'normal' or 'observer'"),
        "workspace": (str, "a workspace (organization) id or name"),
        "restore": (list, "a list of kinds to restore: members, archived, list, fields, or all"),
        "by": (str, "a member id or username"),
        "accept_unreadable_boards": (bool, "true or false"),
    },
    "limits": {
        "requests_per_window": (int, "a whole number"),
        "key_requests_per_window": (int, "a whole number"),
        "window_seconds": ((int, float), "a number of seconds"),
        "workers": (int, "a whole number"),
        "max_retries": (int, "a whole number"),
        "request_timeout": ((int, float), "a number of seconds"),
    },
    "paths": {
        "state_dir": (str, "a directory path"),
        "cache_dir": (str, "a directory path"),
        "journal_dir": (str, "a directory path"),
        "log_file": (str, "a file path"),
    },
}
CHOICES = {
    ("restore", "mode"): ("removed", "ever-added"),
    ("restore", "cause"): ("", "move", "any"),
    ("restore", "board_role"): ("normal", "observer"),
}
#: Inclusive bounds of the numbers (the same as the command line's).
RANGES: dict[tuple[str, str], tuple[float, float]] = {
    ("limits", "requests_per_window"): (1, 1000),
    ("limits", "key_requests_per_window"): (1, 3000),
    ("limits", "window_seconds"): (0.001, 3600),
    ("limits", "workers"): (1, defaults.MAX_WORKERS),
    ("limits", "max_retries"): (0, 20),
    ("limits", "request_timeout"): (0.01, 600),
}


#: The keys that take a date (TOML's own dates are taken as their ISO text).
_DATE_KEYS = frozenset({("restore", "since"), ("restore", "until")})


def _toml_kind(value: object) -> str:
    """What a TOML value is, in words (never the value: it may be a credential)."""
    kinds: tuple[tuple[type | tuple[type, ...], str], ...] = (
        (bool, "true or false"),
        (int, "a whole number"),
        (float, "a number"),
        (str, "a string"),
        (datetime, "a date-time"),
        (date, "a date"),
        (time, "a time of day"),
        (list, "a list"),
    )
    return next((words for kind, words in kinds if isinstance(value, kind)), "a table")


def _toml_shown(value: object) -> str:
    """A wrong value in a message: a string quoted (cut at 40 characters), true, false or a
    number as written, anything else as what it is."""
    if isinstance(value, str):
        return f"'{value[:40]}…'" if len(value) > 40 else f"'{value}'"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (int, float)):
        return repr(value)  # as written: 8.0 is not 8, which would be accepted
    if isinstance(value, list):
        other = next((x for x in value if not isinstance(x, str)), None)
        return "a list" if other is None else f"a list holding {_toml_kind(other)}"
    return _toml_kind(value)


def example() -> str:
    """``config.example.toml``, which documents every key, with where this install has it: in
    the package, so every install has it (R71c: it was beside the package, which a wheel does
    not hold, and the messages that sent users to it gave no path)."""
    path = Path(__file__).resolve().parent / "config.example.toml"
    return f"config.example.toml ({path})" if path.is_file() else "config.example.toml"


def _not_a_table(path: Path, name: str, value: object) -> str:
    """A value at the top of a config file, outside any section: a section's name given a
    value (``restore = 1``), or a key written before its section's header (``workers = 8``)."""
    what = _toml_kind(value)  # never the value: it may be a credential
    home = next((s for s, keys in CONFIG_KEYS.items() if name in keys), None)
    if name in CONFIG_KEYS:
        key = f" (the key {home}.{name} goes on a line under [{home}])" if home else ""
        return (
            f"config file {path}: {name} must be a section (a table: [{name}] with its keys "
            f"on the lines below it), not {what}{key}; see {example()}"
        )
    if home is not None:
        return (
            f"config file {path}: {name} is outside any section; put it under [{home}] "
            f"({home}.{name}); see {example()}"
        )
    return (
        f"config file {path}: unknown key {name} outside any section (every key goes under "
        f"one of {', '.join('[' + s + ']' for s in CONFIG_KEYS)}); see {example()}"
    )


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


def load_config(path: Path | None, *, explicit: bool) -> ConfigFile:
    """Read and check a config file. A file named explicitly that cannot be read or parsed is an
    error even when everything it would provide is given elsewhere (design.md §7)."""
    import tomllib

    from trello_restore.errors import ConfigError
    from trello_restore.fsutil import read_named
    from trello_restore.parsing import load_toml

    if path is None:
        return ConfigFile(None)
    try:
        raw = read_named(path)
    except FileNotFoundError:
        if not explicit:
            return ConfigFile(None)
        raise ConfigError(
            f"config file {path} does not exist: fix --config / {ENV_CONFIG}, or create it "
            f"from {example()}"
        ) from None
    except OSError as exc:
        raise ConfigError(
            f"config file {path} cannot be read ({exc.strerror}); point --config / "
            f"{ENV_CONFIG} at a TOML file you can read"
        ) from None
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError:
        utf16 = ": it is UTF-16" if raw[:2] in (b"\xff\xfe", b"\xfe\xff") else ""  # Notepad's
        raise ConfigError(
            f"config file {path} is not valid TOML (not UTF-8 text{utf16}); save it as UTF-8 "
            f"(starting from {example()} if need be)"
        ) from None
    try:
        doc = load_toml(text.removeprefix("\ufeff"))  # a BOM: Notepad's
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(
            f"config file {path} is not valid TOML ({exc}); fix it, starting from {example()}"
        ) from None
    values: dict[tuple[str, str], object] = {}
    for section, table in doc.items():
        known = CONFIG_KEYS.get(section)
        if not isinstance(table, dict):
            raise ConfigError(_not_a_table(path, section, table))
        if known is None:
            near = difflib.get_close_matches(section, list(CONFIG_KEYS), n=1)  # R39c: [restor]
            raise ConfigError(
                f"config file {path}: unknown section [{section}]"
                f"{f' (did you mean [{near[0]}]?)' if near else ''}; expected one of "
                f"{', '.join('[' + s + ']' for s in CONFIG_KEYS)}"
            )
        for key, value in table.items():
            if key not in known:
                near = difflib.get_close_matches(key, list(known), n=1)
                hint = f" (did you mean {section}.{near[0]}?)" if near else ""
                raise ConfigError(
                    f"config file {path}: unknown key {section}.{key}{hint}; see {example()}"
                )
            kind, description = known[key]
            if (section, key) in _DATE_KEYS and isinstance(value, date):
                # A TOML date or date-time (unquoted) is the same as its ISO text: one
                # without an offset is UTC, as on the command line.
                value = value.isoformat()
            ok = isinstance(value, kind) and not (kind is int and isinstance(value, bool))
            if kind == (int, float) and isinstance(value, bool):
                ok = False
            if ok and kind is list:
                ok = all(isinstance(x, str) for x in value)
            choices = CHOICES.get((section, key))
            if ok and choices is not None and value not in choices:
                ok = False
            bounds = RANGES.get((section, key))
            if ok and bounds is not None and not bounds[0] <= value <= bounds[1]:
                low, high = bounds
                raise ConfigError(
                    f"config file {path}: {section}.{key} must be {description} from "
                    f"{low:g} to {high:g}, not {value!r:.40}"
                )
            if not ok:
                # Never echo what stands where a credential should be.
                shown = (
                    _toml_kind(value)
                    if section == "trello" and key != "api_url"
                    else _toml_shown(value)
                )
                raise ConfigError(
                    f"config file {path}: {section}.{key} must be {description}, not {shown}"
                )
            values[(section, key)] = value
    warnings: list[str] = []
    if ("trello", "token") in values:
        st = path.stat()
        mode = st.st_mode
        # R62b: another user's file cannot be chmod-ed by this one (nor read at 600).
        fix = f"run chmod 600 {path}"
        if st.st_uid != os.geteuid():
            fix = (
                "it is another user's: copy it to a file of your own, chmod 600 that and pass "
                "it with --config"
            )
        if mode & 0o077:
            warnings.append(
                f"config file {path} holds a token and is readable by others "
                f"(mode {mode & 0o777:o}): {fix}"
            )
    return ConfigFile(path, values, tuple(warnings))
