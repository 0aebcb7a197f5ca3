"""The plan file's remaining branches, on a small literal plan (``test_planfile.py`` holds the
shape, write and validation tests on sandbox plans): every optional field both set and unset
survives a round trip, and a plan path under a regular file says what to do."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pytest

from trello_restore.errors import InputFileError
from trello_restore.models import (
    Blocked,
    Change,
    Evidence,
    MemberRef,
    Plan,
    PlanOptions,
    Skipped,
)
from trello_restore.planfile import (
    PlanMeta,
    digest_of,
    plan_digest,
    plan_from_dict,
    plan_to_dict,
    read_plan,
    write_plan,
)
from trello_restore.planner import change_id

T = datetime(2025, 11, 2, 12, 0, tzinfo=UTC)
LEAD = MemberRef("lead", "leader")


def _card_change(cid: str, member: str, move: str | None, on_board: bool = True) -> Change:
    return Change(
        change_id=change_id("add_member_to_card", cid, member),
        action="add_member_to_card",
        board_id="b1",
        board_name="Team",
        member=MemberRef(member, member, member.title()),
        list_id="l1",
        list_name="Doing",
        card_id=cid,
        card_name=cid.upper(),
        card_short_link=f"{cid}-link",
        evidence=Evidence("recorded_removal", f"r-{cid}", T, LEAD, move),
        member_on_board=on_board,
    )


def _plan(options: PlanOptions) -> Plan:
    grant = Change(
        change_id("add_member_to_board", "b1", "m3"), "add_member_to_board", "b1", "Team",
        MemberRef("m3", "m3", "M3"), role="observer", member_on_board=False,
    )  # fmt: skip
    return Plan(
        options=options,
        changes=(grant, _card_change("c1", "m1", "mv1"), _card_change("c2", "m3", None, False)),
        blocked=(Blocked(_card_change("c3", "m4", None, False), "not_board_member"),),
        skipped=(Skipped("c4", "C4", MemberRef("m5", "m5"), "filtered", None),),
        incomplete=("c5",),
    )


@pytest.mark.parametrize(
    ("options", "account", "source"),
    [
        pytest.param(
            PlanOptions(since=T, add_to_board=True, board_role="observer"), LEAD, "api",
            id="no filters, an account"),
        pytest.param(
            PlanOptions(since=T, until=datetime(2025, 11, 3, 0, 0, 0, 1500, tzinfo=UTC),
                        mode="ever-added", removed_by="leader", cause="move", only_recorded=True,
                        add_to_board=True, board_role="observer",
                        lists=frozenset({"Doing", "l2"}), cards=frozenset({"c1-link"})),
            None, "export", id="every filter, offline"),
    ],
)  # fmt: skip
def test_a_literal_plan_round_trips(
    options: PlanOptions, account: MemberRef | None, source: str, tmp_path: Path
) -> None:
    """Written and read back, a plan is the same plan, the same document and the same digest."""
    meta = PlanMeta("0.1.0", T, "https://api.trello.com/1", account, (("b1", "Team"),),
                    "api" if source == "api" else "export", ("a warning",))  # fmt: skip
    doc = plan_to_dict(_plan(options), meta)
    path = tmp_path / "plan.json"
    write_plan(doc, path)
    plan, meta_again = read_plan(path)
    again = plan_to_dict(plan, meta_again)
    assert again == doc
    assert digest_of(plan, meta_again) == plan_digest(doc)
    assert plan_from_dict(again) == (plan, meta_again)
    assert meta_again == meta
    assert plan.options == options
    assert plan.changes[1:] == _plan(options).changes[1:]  # full names of actors aside
    assert plan_to_dict(plan, meta_again) == doc


def test_a_plan_path_under_a_regular_file(tmp_path: Path) -> None:
    """No directory can be made under a file (not even by root): the message says so."""
    blocker = tmp_path / "a-file"
    blocker.write_text("not a directory\n")
    target = blocker / "plan.json"
    doc = plan_to_dict(_plan(PlanOptions(since=T, add_to_board=True)), _meta())
    with pytest.raises(InputFileError) as info:
        write_plan(doc, target)
    assert str(info.value) == (
        f"cannot write plan {target}: {blocker} (or a folder above it) is not a directory; "
        "choose another --plan-out path"
    )


def _meta() -> PlanMeta:
    return PlanMeta("0.1.0", T, "https://api.trello.com/1", LEAD, (("b1", "Team"),), "api")


_JOURNAL_HEAD = (
    '{"account_id": "m1", "api_url": "https://api.trello.com/1", "created_at": "2025-11-02", '
    '"format": "trello-restore-journal", "format_version": 1, "plan_digest": "ab", '
    '"type": "header"}\n'
)


@pytest.mark.parametrize(
    ("text", "says"),
    [
        pytest.param(_JOURNAL_HEAD + '{"op": "apply"}\n', "is an apply journal, not a plan",
                     id="a journal"),
        pytest.param(_JOURNAL_HEAD, "is an apply journal, not a plan", id="a bare header"),
        pytest.param('{"format": "x"}\n{"op": "apply"}\n', "JSON value, at line 2",
                     id="JSON lines, not a journal"),
        pytest.param('{"format": \n', "is truncated", id="a first line that is no JSON"),
    ],
)  # fmt: skip
def test_a_journal_given_as_the_plan(tmp_path: Path, text: str, says: str) -> None:
    """A journal (told by its header line's format, not its name) is named as one, with what to
    give instead; other JSON Lines are not mistaken for one."""
    path = tmp_path / "plan.json"
    path.write_text(text)
    with pytest.raises(InputFileError, match=r"^plan file ") as info:
        read_plan(path)
    assert says in str(info.value)
    if "journal" in says:
        assert f"run trello-restore undo {path}" in str(info.value)
