"""Parse ``--since``/``--until`` values: ISO dates and date-times, or relative ages."""

from __future__ import annotations

import re
from datetime import UTC, date, datetime, timedelta

from trello_restore.errors import UsageError

_RELATIVE = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*([hdw])\s*$", re.IGNORECASE)
_UNIT = {"h": timedelta(hours=1), "d": timedelta(days=1), "w": timedelta(weeks=1)}
#: A date or date-time followed by " UTC", as this tool prints them.
_SAID_UTC = re.compile(r"(\d{4}-\d\d-\d\d(?:[T ]\S+)?)\s+UTC", re.IGNORECASE)
_HINT = (
    "use an ISO date or date-time (2025-11-02, 2025-11-02T14:30, 2025-11-02T14:30:00+01:00) "
    "or an age like 36h, 7d, 2w"
)


def parse_when(value: str, now: datetime, option: str = "--since") -> datetime:
    """The moment ``value`` names, as aware UTC. A date or time without a zone is UTC.

    Raises UsageError with a one-line message for anything else, including impossible dates.
    """
    text = value.strip()
    if not text:
        raise UsageError(f"{option} is empty: {_HINT}")
    since = "until" not in option.casefold()  # --since, TRELLO_RESTORE_SINCE, restore.since
    if since and re.sub(r"[\W_]", "", text).casefold() == "lastrun":
        # R35c: --since last_run / lastrun / 'last run' never named the form cron users mean.
        raise UsageError(f"{option} {value!r} is not a date or an age: did you mean last-run?")
    rel = _RELATIVE.match(text)
    if rel:
        try:
            return now.astimezone(UTC) - float(rel.group(1)) * _UNIT[rel.group(2).lower()]
        except OverflowError:
            raise UsageError(
                f"{option} {value!r} is too far back (before the year 1): give a smaller age "
                "like 36h, 7d, 2w, or an ISO date"
            ) from None
    # The form this tool prints its times in (``2025-11-02 12:02 UTC``, R39c: refused when
    # copied from a plan back into --since): UTC, as a time without a zone is.
    said = _SAID_UTC.fullmatch(text)
    text = said.group(1) if said else text
    iso = text[:-1] + "+00:00" if text[-1:] in ("Z", "z") else text
    try:
        if re.fullmatch(r"\d{4}-\d{2}-\d{2}", iso):
            d = date.fromisoformat(iso)
            return datetime(d.year, d.month, d.day, tzinfo=UTC)
        parsed = datetime.fromisoformat(iso)
    except ValueError as exc:
        # A date with an impossible field says which ("day is out of range for month");
        # anything else is not a form this option takes, which Python words as its own
        # "Invalid isoformat string": say what the forms are instead.
        reason = str(exc)
        if reason.startswith("Invalid isoformat string"):
            raise UsageError(f"{option} {value!r} is not a date or an age: {_HINT}") from None
        if reason.startswith("offset must be"):  # Python's text names its timedelta repr
            reason = "its zone's offset is not between -24:00 and +24:00"
        raise UsageError(f"{option} {value!r} is not a date ({reason}): {_HINT}") from None
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=UTC)
    elif said:
        raise UsageError(f"{option} {value!r} has two zones: give one, or none for UTC")
    try:
        return parsed.astimezone(UTC)
    except OverflowError:
        raise UsageError(
            f"{option} {value!r} is out of range in UTC (years 1 to 9999): {_HINT}"
        ) from None


def check_window(
    since: datetime,
    until: datetime | None,
    since_name: str = "--since",
    until_name: str = "--until",
) -> None:
    """``--since`` must come before ``--until``; the message names each where it was set
    (``since_name``, ``until_name``: an option, a variable or a config file key)."""
    if until is not None and until <= since:
        raise UsageError(
            f"{since_name} ({_minute_or_finer(since)}) is not before {until_name} "
            f"({_minute_or_finer(until)}): "
            + (
                "the window is empty, widen it"
                if until == since
                else "swap them or widen the window"
            )
        )


def _minute_or_finer(when: datetime) -> str:
    """``when`` in UTC to the minute, or to the second or millisecond when it has them (R35c:
    14:46:30 and 14:46:10 were both shown as 14:46)."""
    t = when.astimezone(UTC)
    if t.microsecond:
        return f"{t:%Y-%m-%d %H:%M:%S}.{t.microsecond // 1000:03d} UTC"
    return f"{t:%Y-%m-%d %H:%M:%S} UTC" if t.second else f"{t:%Y-%m-%d %H:%M} UTC"


#: The earliest moment ``--since``/``--until`` may name: Trello did not exist before it (it
#: opened in 2011), so an earlier date is a typo in the year (``0999`` for ``2025``).
FLOOR = datetime(2000, 1, 1, tzinfo=UTC)


def check_floor(when: datetime, option: str = "--since") -> None:
    """``--since``/``--until`` must not come before ``FLOOR``: no board has history then."""
    if when < FLOOR:
        raise UsageError(
            f"{option} ({when.year:04d}-{when:%m-%d} UTC) is before {FLOOR.year}, long before "
            "Trello existed: check the year; nothing was changed"
        )


#: How far ahead of this machine's clock ``--since`` may be (a clock a little behind Trello's).
FUTURE_SLACK = timedelta(minutes=5)


def check_not_future(since: datetime, now: datetime, option: str = "--since") -> None:
    """``--since`` must not be later than now: nothing can have happened after it yet, and a
    run with ``--yes`` would record a last run over the real incident (a typo in the year)."""
    if since > now + FUTURE_SLACK:
        raise UsageError(
            f"{option} ({since:%Y-%m-%d %H:%M} UTC) is later than now "
            f"({now.astimezone(UTC):%Y-%m-%d %H:%M} UTC): nothing has happened since then yet; "
            "check the date (a time without a zone is UTC), and this machine's clock if the "
            "date is right; nothing was changed"
        )


def check_last_run_not_future(
    recorded: datetime, now: datetime, path: object, label: str = "--since last-run"
) -> None:
    """The recorded last run must not be later than now either: after the clock was stepped
    back, or a state file edited to a future year, a ``--since last-run`` window would start in
    the future, find nothing, and record now: the gap before it would never be covered."""
    if recorded > now + FUTURE_SLACK:
        raise UsageError(
            f"{label}: the last run recorded in {path} "
            f"({recorded.astimezone(UTC):%Y-%m-%d %H:%M} UTC) is later than now "
            f"({now.astimezone(UTC):%Y-%m-%d %H:%M} UTC), so its window would start in the "
            "future; check this machine's clock and run once with --since DATE (the time of "
            "the last run you trust); nothing was changed"
        )
