"""--since/--until values: ISO dates and date-times (UTC by default) and relative ages."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

import pytest

from trello_restore.errors import UsageError
from trello_restore.timeparse import (
    check_floor,
    check_last_run_not_future,
    check_not_future,
    check_window,
    parse_when,
)

NOW = datetime(2026, 11, 26, 12, 0, tzinfo=UTC)


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("2025-11-02", datetime(2025, 11, 2, tzinfo=UTC)),
        ("2025-11-02T14:30", datetime(2025, 11, 2, 14, 30, tzinfo=UTC)),
        ("2025-11-02T14:30:00Z", datetime(2025, 11, 2, 14, 30, tzinfo=UTC)),
        ("2025-11-02T14:30:00+01:00", datetime(2025, 11, 2, 13, 30, tzinfo=UTC)),
        ("2025-11-02 14:30:05.250", datetime(2025, 11, 2, 14, 30, 5, 250000, tzinfo=UTC)),
        # As this tool prints times (R39c: copied from a plan into --since, refused)
        ("2025-11-02 14:30 UTC", datetime(2025, 11, 2, 14, 30, tzinfo=UTC)),
        ("2025-11-02 14:30:05 UTC", datetime(2025, 11, 2, 14, 30, 5, tzinfo=UTC)),
        ("2025-11-02T14:30 utc", datetime(2025, 11, 2, 14, 30, tzinfo=UTC)),
        ("2025-11-02 UTC", datetime(2025, 11, 2, tzinfo=UTC)),
        ("36h", NOW - timedelta(hours=36)),
        ("7d", NOW - timedelta(days=7)),
        ("2w", NOW - timedelta(weeks=2)),
        (" 1.5D ", NOW - timedelta(days=1.5)),
    ],
)
def test_accepted_forms(value: str, expected: datetime) -> None:
    """Each documented form gives the expected UTC moment."""
    assert parse_when(value, NOW) == expected


@pytest.mark.parametrize(
    "value", ["", "yesterday", "2025-13-01", "2025-02-30", "2025-11-02T25:00", "7y", "-3d", "12"]
)
def test_rejected_forms_say_what_to_use(value: str) -> None:
    """Malformed and impossible dates give one line naming the option and the accepted forms."""
    with pytest.raises(UsageError) as err:
        parse_when(value, NOW, "--until")
    message = str(err.value)
    assert message.startswith("--until")
    assert "36h" in message
    assert "\n" not in message


def test_since_must_precede_until() -> None:
    """A window that ends before it starts is refused; an open end is fine."""
    check_window(NOW - timedelta(days=1), None)
    check_window(NOW - timedelta(days=1), NOW)
    with pytest.raises(UsageError, match="not before --until"):
        check_window(NOW, NOW - timedelta(days=1))


@pytest.mark.parametrize(
    ("value", "needle"),
    [
        ("5000000w", "'5000000w' is too far back (before the year 1): give a smaller age"),
        ("1e9d", "is not a date"),
        ("0001-01-01T00:30:00+01:00", "is out of range in UTC (years 1 to 9999)"),
        ("9999-12-31T23:30:00-01:00", "is out of range in UTC (years 1 to 9999)"),
    ],
)
def test_values_past_the_calendar_say_so(value: str, needle: str) -> None:
    """An age reaching before the year 1 (or not a number Python reads), or a date-time whose UTC
    falls outside years 1 to 9999, is one line naming the option, not an OverflowError."""
    with pytest.raises(UsageError) as err:
        parse_when(value, NOW)
    message = str(err.value)
    assert message.startswith(f"--since {value!r} ")
    assert needle in message
    assert "\n" not in message


def test_relative_ages_and_zones_are_exact() -> None:
    """An age counts back from now in UTC whatever now's zone; a lower-case z is UTC too."""
    now_east = NOW.astimezone(timezone(timedelta(hours=9)))
    assert parse_when("36h", now_east) == NOW - timedelta(hours=36)
    assert parse_when("36h", now_east).tzinfo == UTC
    assert parse_when("2025-11-02t14:30:00z", NOW) == datetime(2025, 11, 2, 14, 30, tzinfo=UTC)


@pytest.mark.parametrize("value", ["yesterday", "last tuesday", "12", "2025-11-02T14:3x"])
def test_a_value_of_no_accepted_form_names_the_forms_not_pythons_words(value: str) -> None:
    """Words, a bare number or a broken date-time: "is not a date or an age" and the forms
    that are accepted, without Python's "Invalid isoformat string" (QA after issue 9)."""
    with pytest.raises(UsageError) as err:
        parse_when(value, NOW, "--since")
    assert str(err.value) == (
        f"--since {value!r} is not a date or an age: use an ISO date or date-time (2025-11-02, "
        "2025-11-02T14:30, 2025-11-02T14:30:00+01:00) or an age like 36h, 7d, 2w"
    )


def test_an_impossible_date_says_which_field() -> None:
    """A date-shaped value with an impossible field keeps the reason, which names it."""
    with pytest.raises(UsageError, match=r"'2025-02-30' is not a date \(day is out of range"):
        parse_when("2025-02-30", NOW)


def test_a_zone_offset_out_of_range_is_said_in_words() -> None:
    """``+25:00`` is named as an offset out of range, not with Python's ``timedelta(...)``."""
    with pytest.raises(UsageError) as err:
        parse_when("2025-11-02T10:00+25:00", NOW)
    message = str(err.value)
    assert "its zone's offset is not between -24:00 and +24:00" in message
    assert "timedelta" not in message


def test_since_must_not_be_in_the_future() -> None:
    """Nothing can have happened after a ``--since`` later than now (a typo in the year): one
    line naming the option, the date and now; a few minutes ahead (a clock behind Trello's)
    pass."""
    check_not_future(NOW, NOW)
    check_not_future(NOW + timedelta(minutes=4), NOW, "TRELLO_RESTORE_SINCE")
    with pytest.raises(UsageError) as err:
        check_not_future(datetime(2099, 1, 1, tzinfo=UTC), NOW, "TRELLO_RESTORE_SINCE")
    message = str(err.value)
    assert message.startswith("TRELLO_RESTORE_SINCE (2099-01-01 00:00 UTC) is later than now (")
    assert message.endswith("nothing was changed")
    assert "\n" not in message
    # R47b: a machine clock far behind blamed the date alone.
    assert "check the date (a time without a zone is UTC), and this machine's clock if " in message


def test_a_date_before_trello_is_a_typo_in_the_year() -> None:
    """``--since``/``--until`` before 2000 name no board's history: one line, the year padded."""
    check_floor(datetime(2000, 1, 1, tzinfo=UTC))
    with pytest.raises(UsageError, match=r"^--until \(0999-01-02 UTC\) is before 2000"):
        check_floor(datetime(999, 1, 2, tzinfo=UTC), "--until")


def test_a_recorded_last_run_in_the_future_is_refused() -> None:
    """A last run later than now (a clock stepped back, an edited state file) is refused, with
    the file and both times; a few minutes ahead is a clock a little behind."""
    check_last_run_not_future(NOW + timedelta(minutes=4), NOW, "state.json")
    with pytest.raises(UsageError, match=r"last run recorded in state.json \(2027-"):
        check_last_run_not_future(datetime(2027, 5, 1, tzinfo=UTC), NOW, "state.json")


@pytest.mark.parametrize("typed", ["last_run", "lastrun", "last run", "LAST_RUN", " Last-Run. "])
def test_last_run_misspelled_is_named(typed: str) -> None:
    for option in ("--since", "TRELLO_RESTORE_SINCE", "restore.since in /x/config.toml"):
        with pytest.raises(UsageError, match="did you mean last-run"):
            parse_when(typed, NOW, option)


def test_until_last_run_is_no_hint_of_it() -> None:
    """``--until`` takes no last-run: its error says the forms it does take."""
    for option in ("--until", "TRELLO_RESTORE_UNTIL", "restore.until in /x/config.toml"):
        with pytest.raises(UsageError, match="is not a date or an age: use an ISO date"):
            parse_when("last_run", NOW, option)


@pytest.mark.parametrize(
    ("since", "until", "shown"),
    [
        ("2025-11-02T14:46:30", "2025-11-02T14:46:10", ("14:46:30 UTC", "14:46:10 UTC")),
        ("2025-11-02T14:46:10.250Z", "2025-11-02T14:46:10", ("14:46:10.250 UTC", "46:10 UTC")),
        ("2025-11-03", "2025-11-02T14:46", ("2025-11-03 00:00 UTC", "2025-11-02 14:46 UTC")),
    ],
)
def test_a_window_error_shows_the_times_as_finely_as_given(
    since: str, until: str, shown: tuple[str, str]
) -> None:
    """R35c: 14:46:30 and 14:46:10 were both shown as 14:46."""
    with pytest.raises(UsageError) as caught:
        check_window(parse_when(since, NOW), parse_when(until, NOW, "--until"))
    message = str(caught.value)
    assert "is not before --until (" in message
    assert message.index(shown[0]) < message.index("--until") < message.rindex(shown[1])


@pytest.mark.parametrize("value", ["2025-11-02T14:30+01:00 UTC", "2025-11-02 14:30Z UTC"])
def test_a_time_with_a_zone_and_utc_after_it_is_refused(value: str) -> None:
    with pytest.raises(UsageError) as err:
        parse_when(value, NOW)
    assert str(err.value) == f"--since {value!r} has two zones: give one, or none for UTC"
