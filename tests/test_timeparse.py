"""--since/--until values: ISO dates and date-times (UTC by default) and relative ages."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from trello_restore.errors import UsageError
from trello_restore.timeparse import check_window, parse_when

NOW = datetime(2026, 11, 26, 12, 0, tzinfo=UTC)


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("2025-11-02", datetime(2025, 11, 2, tzinfo=UTC)),
        ("2025-11-02T14:30", datetime(2025, 11, 2, 14, 30, tzinfo=UTC)),
        ("2025-11-02T14:30:00Z", datetime(2025, 11, 2, 14, 30, tzinfo=UTC)),
        ("2025-11-02T14:30:00+01:00", datetime(2025, 11, 2, 13, 30, tzinfo=UTC)),
        ("2025-11-02 14:30:05.250", datetime(2025, 11, 2, 14, 30, 5, 250000, tzinfo=UTC)),
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
