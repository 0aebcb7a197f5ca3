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
from trello_restore.report_outcomes import change_labels, outcome_line
from trello_restore.runner_types import ChangeOutcome

from .test_planfile import real_plan
from .test_planfile_v2 import META as V2_META
from .test_planfile_v2 import PLAN as V2_PLAN
from .test_planfile_v2 import T as V2_T
from .test_planfile_v2 import _value


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
        "    l1",  # its id, as the board and card show theirs (R72b: "(unknown list)")
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


# ------------------------------------------------------------- value kinds (design.md §10)


def test_value_changes_grouped_like_members() -> None:
    """A version 2 plan: each value kind under its heading in the order of application,
    grouped by board, list and card (a list's own change under the list), with who changed
    it and when; the fields left alone with their reason (and who else changed them); what
    cannot be restored with who and when; every count in the summary line."""
    assert render_text(V2_PLAN, V2_META) == (
        "Plan for Team since 2026-10-20 09:30 UTC (restore archived, fields, list, by "
        "culprit)\n"
        "\n"
        "Would restore the archive state of lists (1)\n"
        "  Team\n"
        "    Doing\n"
        "      + unarchive  changed by @culprit 2026-10-20 09:30:00 UTC\n"
        "Would move cards back to their lists (1)\n"
        "  Team\n"
        "    Doing\n"
        "      Ship it (https://trello.com/c/AbCd1234)\n"
        '        + move back to list "Next" (from "Doing")  changed by @culprit 2026-10-20 '
        "09:30:00 UTC\n"
        "Would restore the archive state of cards (1)\n"
        "  Team\n"
        "    Doing\n"
        "      Ship it (https://trello.com/c/AbCd1234)\n"
        "        + unarchive  changed by @culprit 2026-10-20 09:30:00 UTC\n"
        "Would restore card fields (1)\n"
        "  Team\n"
        "    Doing\n"
        "      Ship it (https://trello.com/c/AbCd1234)\n"
        "        + due 2026-11-02 12:00 UTC → restored to 2026-10-01 12:00 UTC  changed by "
        "@culprit 2026-10-20 09:30:00 UTC (2 changes)\n"
        "Fields left alone (2): already_restored 1, changed_by_others 1\n"
        '  - desc of card "Other card": changed_by_others (also changed by @ann 2026-10-21 '
        "08:00:00 UTC)\n"
        "  - name of card k3: already_restored\n"
        "Cannot be restored (1): not in the log\n"
        '  - card "Gone card": card deleted by @culprit 2026-10-21 08:00:00 UTC\n'
        "Summary: 4 changes (0 board memberships, 1 list archive state, 1 card move, 1 card "
        "archive state, 1 card field, 0 card members), 0 blocked, 0 members skipped, 2 fields "
        "skipped, 1 unrestorable. Dry run: nothing was changed.\n"
    )


def test_a_description_shows_first_lines_and_lengths_and_a_diff_under_verbose() -> None:
    """A description reads as its first line and length on each side; ``-v`` adds the action
    ids and a unified diff from the text now to the one restored."""
    desc = _value(
        "set_card_field", "c-00000000000000a5", "desc", "Keep the\nold plan", "Automated text"
    )
    plan = replace(V2_PLAN, changes=(desc,), value_skipped=(), unrestorable=())
    line = (
        '        + desc "Automated text" (14 chars) → restored to "Keep the" (17 chars)  '
        "changed by @culprit 2026-10-20 09:30:00 UTC"
    )
    assert line + "\n" in render_text(plan, V2_META)
    verbose = render_text(plan, V2_META, verbose=True)
    diff = "\n".join(
        " " * 10 + x
        for x in ("--- now", "+++ restored", "@@ -1 +1,2 @@", "-Automated text", "+Keep the",
                  "+old plan")
    )  # fmt: skip
    assert f"{line} [action a1]\n{diff}\n" in verbose
    assert "0 fields skipped, 0 unrestorable" in verbose


def test_an_empty_version_2_plan_has_nothing_to_restore() -> None:
    """With nothing planned, a version 2 plan says so in its own words; version 1 keeps its
    line."""
    empty = replace(V2_PLAN, changes=(), value_skipped=(), unrestorable=())
    assert "\nNothing to restore.\n" in render_text(empty, V2_META)
    members = Plan(PlanOptions(since=V2_T), (), (), ())
    assert "\nNothing to re-add.\n" in render_text(members, V2_META)


def test_value_outcome_lines() -> None:
    """An apply's outcome of a value change by name (from the plan), an undo's by ids."""
    labels = change_labels(V2_PLAN)
    moved = ChangeOutcome("c-00000000000000a2", "move_card_to_list", "applied", "b1", "k1", "")
    assert outcome_line(moved, labels) == (
        '  restored         card "Ship it" (https://trello.com/c/AbCd1234): move back to list '
        '"Next" (from "Doing")'
    )
    drifted = ChangeOutcome(
        "c-00000000000000a4", "set_card_field", "drifted", "b1", "k1", "", None, "its due was "
        "changed since (now none, expected 2026-11-02 12:00 UTC): left alone"
    )  # fmt: skip
    assert outcome_line(drifted, {}) == (
        "  drifted, skipped card field of card k1  (its due was changed since (now none, "
        "expected 2026-11-02 12:00 UTC): left alone)"
    )


def test_header_shows_a_cutoff_s_milliseconds_when_it_has_them() -> None:
    """R41b: ``--since …T16:55:03.885Z`` read "since 2026-12-04 16:55:03 UTC", as if the
    actions of .000 to .884 were in the window; a whole second or minute reads as before."""
    exact = datetime(2026, 12, 4, 16, 55, 3, 885_000, tzinfo=UTC)
    options = PlanOptions(since=exact, until=exact.replace(microsecond=0, second=9))
    head = render_text(Plan(options, (), (), ()), _meta()).splitlines()[0]
    assert head.startswith(
        "Plan for Archive since 2026-12-04 16:55:03.885 UTC until 2026-12-04 16:55:09 UTC ("
    ), head
    # R62d: below the millisecond (an age such as 36h gives microseconds), to the last digit:
    # "since .499" put an action at .499 in the window that the cutoff .4995 leaves out.
    options = PlanOptions(since=exact.replace(microsecond=499_500), until=options.until)
    head = render_text(Plan(options, (), (), ()), _meta()).splitlines()[0]
    assert head.startswith("Plan for Archive since 2026-12-04 16:55:03.4995 UTC until "), head


def test_names_at_trello_s_limit_are_cut_in_the_text_plan() -> None:
    """A name of Trello's 16,384 characters is shown cut to 200 with its length (and its id)
    in a heading; the JSON plan keeps it whole (R72b: 16,000-character lines, the name repeated
    in every section; as a field's value: ``test_kinds_values``)."""
    long_a = "x" * 16_383 + "a"
    change = replace(
        real_plan()[0].card_changes()[0], card_name=long_a, list_name="L" * 512, board_name="Team"
    )
    plan = Plan(PlanOptions(since=datetime(2025, 11, 2, tzinfo=UTC)), (change,), (), ())
    text = render_text(plan, _meta())
    assert max(map(len, text.splitlines())) < 400
    assert f"    {'L' * 199}… (512 chars, {change.list_id})" in text.splitlines()
    assert plan_to_dict(plan, _meta())["changes"][0]["card"]["name"] == long_a
