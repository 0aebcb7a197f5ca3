"""The values that flow between the stages (``models.py``): what they compute themselves."""

from __future__ import annotations

import dataclasses
from datetime import UTC, datetime, timedelta, timezone

import pytest

from trello_restore.models import (
    SKIP_ORDER,
    Change,
    MemberRef,
    Membership,
    Plan,
    PlanOptions,
    id_second,
    millis,
    normal_name,
    quote_name,
)


@pytest.mark.parametrize(
    ("deactivated", "unconfirmed", "active"),
    [(False, False, True), (True, False, False), (False, True, False), (True, True, False)],
)
def test_only_a_confirmed_active_membership_counts(
    deactivated: bool, unconfirmed: bool, active: bool
) -> None:
    """A board member, for card membership, is neither deactivated nor unconfirmed."""
    assert Membership("m1", "normal", deactivated, unconfirmed).active is active


def test_a_plan_splits_its_changes_by_kind() -> None:
    """Board memberships and card changes, each in the plan's order."""
    grant = Change("g", "add_member_to_board", "b1", "B1", MemberRef("m1"), role="normal")
    cards = [
        Change(f"c{i}", "add_member_to_card", "b1", "B1", MemberRef("m1"), card_id=f"c{i}")
        for i in (2, 1)
    ]
    plan = Plan(PlanOptions(since=datetime(2025, 11, 2, tzinfo=UTC)), (grant, *cards), (), ())
    assert plan.board_changes() == (grant,)
    assert plan.card_changes() == tuple(cards)
    assert (plan.incomplete, PlanOptions(since=plan.options.since).mode) == ((), "removed")


def test_values_are_frozen() -> None:
    """A decision cannot be changed after the planner made it."""
    with pytest.raises(dataclasses.FrozenInstanceError):
        MemberRef("m1").username = "x"  # type: ignore[misc]


def test_skip_order_is_design_s_order() -> None:
    """The precedence of skip reasons, as design.md §3 lists it."""
    assert SKIP_ORDER == (
        "card_deleted",
        "already_on_card",
        "re_added_later",
        "removed_again_later",
        "filtered",
        "deactivated",
        "outside_window",
    )


@pytest.mark.parametrize(
    ("typed", "stored", "same"),
    [
        ("Cafe\u0301", "Caf\u00e9", True),  # decomposed vs composed
        ("Done  ", "Done", False),  # whitespace is kept
        ("done", "Done", False),  # case is compared elsewhere
    ],
)
def test_normal_name(typed: str, stored: str, same: bool) -> None:
    """Names compare in NFC, and nothing else is folded."""
    assert (normal_name(typed) == normal_name(stored)) is same


@pytest.mark.parametrize(
    ("name", "shown"),
    [
        ("Sprint  1", '"Sprint  1"'),
        ("Caf\u00e9 \u2013 \U0001f680", '"Caf\u00e9 \u2013 \U0001f680"'),
        ("a\nb\tc\x1b", '"a\\nb\\tc\\x1b"'),
        ("", '""'),
        ('Team "01"', '"Team \\"01\\""'),
        ("a\\nb", '"a\\\\nb"'),  # a backslash, then n: not a newline
        ("a\u2028b\u2029c\x85", '"a\\u2028b\\u2029c\\x85"'),  # line breaks to splitlines
    ],
)
def test_quote_name(name: str, shown: str) -> None:
    """A name in quotes exactly as Trello has it; only control characters, line and paragraph
    separators, double quotes and backslashes are escaped: one line, its end plain."""
    assert quote_name(name) == shown
    assert len(quote_name(name).splitlines()) == 1


@pytest.mark.parametrize(
    ("when", "text"),
    [
        (datetime(2026, 12, 5, 2, 45, 32, 123999, tzinfo=UTC), "2026-12-05T02:45:32.123Z"),
        (datetime(2026, 12, 5, 2, 45, 32, tzinfo=UTC), "2026-12-05T02:45:32.000Z"),
        (
            datetime(2026, 12, 5, 3, 45, 32, 5000, tzinfo=timezone(timedelta(hours=1))),
            "2026-12-05T02:45:32.005Z",
        ),
        (datetime(999, 1, 1, tzinfo=UTC), "0999-01-01T00:00:00.000Z"),
    ],
)
def test_millis_is_trellos_form(when: datetime, text: str) -> None:
    """Trello's date form (journal, last-run record, paging cursors): UTC, the millisecond
    always written, anything finer cut off (never rounded up past the instant), a ``Z``."""
    assert millis(when) == text


@pytest.mark.parametrize(
    ("object_id", "second"),
    [
        ("6592a3fc00000000000001b1", datetime(2024, 1, 1, 11, 37, 32, tzinfo=UTC)),
        ("00000000", datetime(1970, 1, 1, tzinfo=UTC)),
        ("not-hex-at-all", None),
        ("", None),
    ],
)
def test_an_id_s_second(object_id: str, second: datetime | None) -> None:
    """A Trello id's first 8 hex digits are the second it was made in; another id has none
    (paging, the fetch's board floor and the trial undo hint all read it so)."""
    assert id_second(object_id) == second
