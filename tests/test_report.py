"""The human report of a plan, its JSON form, and the dry-run exit code."""

from __future__ import annotations

import json
from dataclasses import replace
from datetime import UTC, datetime
from typing import Any

import pytest

from trello_restore.errors import ExitCode
from trello_restore.models import Change, Evidence, MemberRef, Plan, PlanOptions, Skipped
from trello_restore.planfile import PlanMeta, plan_to_dict, validate_plan
from trello_restore.report import (
    card_url,
    dry_run_exit_code,
    plan_summary,
    render_json,
    render_text,
    summary_line,
)

from .test_planfile import real_plan


def test_option_set_a_dry_run() -> None:
    """Seed 1, set a: the header, the one change with its evidence, blocked, skipped, summary."""
    plan, meta = real_plan(name="a")
    lines = render_text(plan, meta).splitlines()
    assert lines[:7] == [
        "Plan for Team Board, Archive 2025 since 2025-11-02 11:37 UTC "
        "(mode removed, removed by @kenjin)",
        "",
        "Would re-add card members (1)",
        "  Archive 2025",
        "    Sprint 1",
        "      Review backup restore #11 (https://trello.com/c/mNwOWaUc)",
        "        + Uma Rossi (@umar)  removed by @kenjin 2025-11-02 11:37:00 UTC, "
        "with a move to another board",
    ]
    assert lines[7] == (
        "Blocked (8): not members of the card's board; rerun with --add-to-board to grant "
        "board membership first"
    )
    assert lines[-2:] == [
        "Skipped (16): card_deleted 2, already_on_card 1, re_added_later 1, filtered 8, "
        "deactivated 4",
        "Summary: 1 change (0 board memberships, 1 card member), 8 blocked, 16 skipped. "
        "Dry run: nothing was changed.",
    ]


def test_blocked_entries_say_which_board() -> None:
    """Every blocked change is listed under its card with the board it needs."""
    plan, meta = real_plan(name="a")
    text = render_text(plan, meta)
    assert (
        "      Migrate billing export #3 (https://trello.com/c/TmnLkOgK)\n"
        "        ! Brian Erlandson (@briane): not a member of Archive 2025  lost without a "
        "logged removal; added 2025-01-30 by @briane (reconstructed)\n"
    ) in text
    for b in plan.blocked:
        assert card_url(b.change.card_short_link) in text
    assert text.count(": not a member of Archive 2025  ") == len(plan.blocked) == 8


def test_option_set_b_lists_every_change_with_its_evidence() -> None:
    """Set b: grants first, then each card change's card, member and evidence."""
    plan, meta = real_plan(name="b")
    text = render_text(plan, meta, dry_run=False)
    assert (
        "Will grant board membership first (3)\n"
        "  + Brian Erlandson (@briane) to Archive 2025 as normal\n"
        "  + Felix Nguyen (@felixn) to Archive 2025 as normal\n"
        "  + Milan Ibrahim (@milani) to Archive 2025 as normal\n"
        "Will re-add card members (9)\n"
    ) in text
    for c in plan.card_changes():
        e = c.evidence
        assert e is not None
        if e.kind == "recorded_removal":
            why = f"removed by @{e.by.username} {e.date:%Y-%m-%d %H:%M:%S} UTC"
        else:
            why = f"lost without a logged removal; added {e.date:%Y-%m-%d} by @{e.by.username}"
        card_line = f"      {c.card_name} ({card_url(c.card_short_link)})\n"
        member_line = f"        + {c.member.full_name} (@{c.member.username})  {why}"
        assert member_line in text[text.index(card_line) :]
    assert "Blocked" not in text
    assert "Dry run" not in text
    assert text.endswith(
        "Summary: 12 changes (3 board memberships, 9 card members), 0 blocked, 16 skipped.\n"
    )


def test_verbose_lists_skipped_and_action_ids() -> None:
    """verbose: each skipped candidate on its own line, and the evidence's action ids."""
    plan, meta = real_plan(name="b")
    quiet, loud = render_text(plan, meta), render_text(plan, meta, verbose=True)
    line = (
        "  - Uma Rossi (@umar) on Fix search index #2: card_deleted "
        "[action 679577cfcc9d4d848a011cf3]"
    )
    assert line not in quiet
    assert line in loud
    assert loud.count("\n  - ") == len(plan.skipped) == 16
    assert "[action 6907425ccc9d4d848a011d5e, move 6907425ccc9d4d848a011d5c]" in loud
    assert "[action " not in quiet


def test_color_only_when_asked() -> None:
    """ANSI styles appear with color=True and never without."""
    plan, meta = real_plan(name="a")
    assert "\x1b[" not in render_text(plan, meta)
    colored = render_text(plan, meta, color=True)
    assert "\x1b[32m+\x1b[0m Uma Rossi (@umar)" in colored
    assert "\x1b[31m\x1b[1mBlocked (8)\x1b[0m" in colored


def test_render_json_is_the_plan_file() -> None:
    """--format json prints the plan file's document, which parses and validates."""
    plan, meta = real_plan(name="a")
    out = render_json(plan, meta)
    doc = json.loads(out)
    validate_plan(doc)
    assert doc == plan_to_dict(plan, meta)
    assert out.endswith("}\n")


def test_plan_summary_counts() -> None:
    """plan_summary counts changes by kind, blocked and skipped (by reason)."""
    plan, _ = real_plan(name="b")
    assert plan_summary(plan) == {
        "changes": 12,
        "board_changes": 3,
        "card_changes": 9,
        "blocked": 0,
        "skipped": 16,
        "by_reason": {
            "card_deleted": 2,
            "already_on_card": 1,
            "re_added_later": 1,
            "filtered": 8,
            "deactivated": 4,
        },
        "incomplete": 0,
    }


@pytest.mark.parametrize(
    ("name", "detailed", "code"),
    [
        ("a", False, ExitCode.OK),
        ("a", True, ExitCode.CHANGES_PENDING),
        ("b", True, ExitCode.CHANGES_PENDING),
        ("empty", True, ExitCode.OK),
        ("blocked only", True, ExitCode.CHANGES_PENDING),
        ("blocked only", False, ExitCode.OK),
    ],
)
def test_dry_run_exit_code(name: str, detailed: bool, code: ExitCode) -> None:
    """CHANGES_PENDING only with --detailed-exitcode and changes to make, blocked ones too."""
    plan, _ = real_plan(name="a" if name in ("empty", "blocked only") else name)
    if name == "empty":
        plan = replace(plan, changes=(), blocked=())
    elif name == "blocked only":
        plan = replace(plan, changes=())
    assert dry_run_exit_code(plan, detailed) is code


SINCE = datetime(2025, 11, 2, 11, 37, 30, tzinfo=UTC)
BY = MemberRef("m0000000000000000000000b", "willb", "Will B")


def _meta(**kw: Any) -> PlanMeta:
    base = PlanMeta(
        tool_version="0.1.0",
        created_at=SINCE,
        api_url="http://127.0.0.1:1/1",
        account=None,
        boards=(("b1", "Archive"),),
        source="export",
    )
    return replace(base, **kw)


def test_header_names_every_filter_and_offline_source() -> None:
    """until, cause, only-recorded, lists, cards, board role and offline source show up."""
    options = PlanOptions(
        since=SINCE,
        until=datetime(2025, 11, 3, tzinfo=UTC),
        removed_by="willb",
        cause="move",
        only_recorded=True,
        add_to_board=True,
        board_role="observer",
        lists=frozenset({"Sprint 2", "Sprint 1"}),
        cards=frozenset({"AbCdEf12"}),
    )
    text = render_text(Plan(options, (), (), ()), _meta())
    assert text == (
        "Plan for Archive since 2025-11-02 11:37:30 UTC until 2025-11-03 00:00 UTC (mode "
        "removed, removed by willb, cause move, only recorded removals, lists Sprint 1, "
        "Sprint 2, cards AbCdEf12, add to board as observer, offline, from exports)\n"
        "\n"
        "Nothing to re-add.\n"
        "Summary: 0 changes (0 board memberships, 0 card members), 0 blocked, 0 skipped. "
        "Dry run: nothing was changed.\n"
    )


def test_unnamed_members_warnings_and_incomplete_history() -> None:
    """Members without names show their id; incomplete cards are reported; warnings are not
    part of the plan text (the CLI prints them on stderr)."""
    ghost = MemberRef("m00000000000000000000001")
    only_user = MemberRef("m00000000000000000000002", "solo")
    change = Change(
        change_id="c-0000000000000001",
        action="add_member_to_card",
        board_id="b1",
        board_name="",
        member=ghost,
        list_id="l1",
        list_name="",
        card_id="card1",
        card_name="",
        card_short_link="",
        evidence=Evidence("ever_added", "a1", SINCE, MemberRef("m00000000000000000000003")),
    )
    recorded = replace(
        change,
        change_id="c-0000000000000002",
        member=MemberRef("m00000000000000000000004", full_name="Nameless Ned"),
        evidence=Evidence("recorded_removal", "a2", SINCE, BY),
    )
    skipped = Skipped("card2", "Other", only_user, "outside_window", None)
    plan = Plan(
        PlanOptions(since=SINCE, mode="ever-added"), (change, recorded), (), (skipped,), ("c9",)
    )
    text = render_text(plan, _meta(warnings=("export of Archive is cut at 1000 actions",)))
    assert "Warning" not in text
    assert text.splitlines()[2:9] == [
        "Incomplete history: 1 card (no reconstructed changes planned for them)",
        "Would re-add card members (2)",
        "  b1",
        "    (unknown list)",
        "      card1",
        "        + m00000000000000000000001  not on the card now; added 2025-11-02 by "
        "m00000000000000000000003 (mode ever-added)",
        "        + Nameless Ned (m00000000000000000000004)  removed by @willb "
        "2025-11-02 11:37:30 UTC",
    ]
    assert "  - @solo on Other: outside_window\n" in render_text(plan, _meta(), verbose=True)
    assert "Incomplete history: 1 card (no reconstructed changes planned for them): c9" in (
        render_text(plan, _meta(), verbose=True)
    )
    assert summary_line(plan, dry_run=False) == (
        "Summary: 2 changes (0 board memberships, 2 card members), 0 blocked, 1 skipped. "
        "1 card with incomplete history."
    )
