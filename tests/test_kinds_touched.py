"""Who set a change's target last (review D22, R22), on literal data: the deciders reading
``LiveBoard.touched`` (``kinds/touched.py``: an undo leaves a member or value someone put back
by hand after the apply; an apply of a plan that sat leaves a member someone removed again
after the plan was made), each kind's ``target``, and how ``touches.py`` tells this tool's own
writes of a journal from anyone's (``own_writes``, the last action, the filter). Over HTTP:
``test_undo_put_back.py``. No network here."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta
from pathlib import Path
from types import SimpleNamespace

import pytest

from trello_restore.journal import Journal, JournalHeader, JournalRecord, Status
from trello_restore.kinds import (
    BoardMembership,
    CardClosed,
    CardField,
    CardMember,
    CardMove,
    ListClosed,
    decide_card,
    decide_undo,
    decide_value_undo,
    kind_of,
)
from trello_restore.kinds.touched import put_back, since_plan, value_since_plan
from trello_restore.kinds.valuedeciders import decide_value
from trello_restore.live import LiveBoard, Touch
from trello_restore.models import MemberRef
from trello_restore.touches import (
    SLACK,
    UNDO_SLACK,
    _Event,
    _events,
    _filter,
    _last,
    _own,
    own_writes,
    undid,
    undo_since,
    undone_elsewhere,
)
from trello_restore.undo_others import Others

from .test_kinds import CARD, GRANT, NORMAL_GRANT
from .test_kinds import live as member_live
from .test_kinds_values import DESC, DUE, LIST_OPEN, MOVE, UNARCHIVE, vc
from .test_kinds_values import live as value_live

AT = datetime(2026, 12, 2, 9, 30, tzinfo=UTC)
BEN = MemberRef("ben", "benw", "Ben W")
ADDED = Touch("a9", AT, BEN, "add")
REMOVED = Touch("a9", AT, BEN, "remove")
BY_APP = Touch("a9", AT, BEN, "set", False, app="Butler")
ON_CARD = member_live(on_card=True, membership="active")
OFF_CARD = member_live(membership="active")


def _touched(board: LiveBoard, target: tuple[str, str], touch: Touch) -> LiveBoard:
    return replace(board, touched={target: touch})


def test_undo_leaves_a_member_someone_put_back() -> None:
    """A member on the card whose last add since the apply is someone else's: drifted, with
    who and when; their removal (the card says otherwise: an add Trello did not log) or no
    action of theirs: removed as before; someone else's card member, or a grant: no look."""
    put = _touched(ON_CARD, ("k1", "member ann"), ADDED)
    assert decide_undo(CARD, put, resumed=False) == (
        "drifted",
        "put back by @benw on 2026-12-02 09:30:00 UTC after this tool's apply: left in place",
    )
    assert decide_undo(CARD, put, resumed=True)[0] == "drifted"  # type: ignore[index]
    removed = _touched(ON_CARD, ("k1", "member ann"), REMOVED)
    assert decide_undo(CARD, removed, resumed=False) is None
    assert decide_undo(CARD, _touched(ON_CARD, ("k1", "member zed"), ADDED), resumed=False) is None
    assert decide_undo(CARD, ON_CARD, resumed=False) is None
    assert decide_undo(CARD, _touched(OFF_CARD, ("k1", "member ann"), ADDED), resumed=False) == (
        "not_on_card",
        "",
    )


def test_apply_leaves_a_member_someone_removed_again_after_the_plan() -> None:
    """A member the apply would add whom someone removed again (or added) after the plan was
    made: drifted, with who and when; on the card already: already satisfied as before."""
    again = _touched(OFF_CARD, ("k1", "member ann"), REMOVED)
    assert decide_card(CARD, again, resumed=False, grant=None) == (
        "drifted",
        "removed again by @benw on 2026-12-02 09:30:00 UTC, after the plan was made: left alone",
    )
    added = _touched(OFF_CARD, ("k1", "member ann"), ADDED)
    assert since_plan(CARD, added) == (
        "added by @benw on 2026-12-02 09:30:00 UTC, after the plan was made: left alone"
    )
    # Removed by this tool's undo of another journal (R23c): said so, with what adds them back.
    undone = _touched(OFF_CARD, ("k1", "member ann"), replace(REMOVED, undo_of="/j/b.jsonl"))
    assert decide_card(CARD, undone, resumed=False, grant=None) == (
        "drifted",
        "removed again by this tool's undo of journal /j/b.jsonl on 2026-12-02 09:30:00 UTC, "
        "after the plan was made: left alone (plan again and apply the new plan to add them "
        "back)",
    )
    on = _touched(ON_CARD, ("k1", "member ann"), ADDED)
    assert decide_card(CARD, on, resumed=False, grant=None) == ("already_satisfied", "")
    assert decide_card(CARD, OFF_CARD, resumed=False, grant=None) is None


def test_apply_leaves_a_value_someone_changed_and_set_back_after_the_plan() -> None:
    """A value at what the plan expects whose field someone set after the plan was made (A→B→A:
    the value alone cannot tell): drifted, in the field's words, with who and when; by this
    tool's undo of another journal: named so; no such action: written as before."""
    tail = " by @benw on 2026-12-02 09:30:00 UTC, after the plan was made: left alone"
    archived = _touched(
        value_live(closed=True), ("k1", "closed"), replace(BY_APP, value=True, app="")
    )
    assert decide_value(UNARCHIVE, archived, resumed=False) == (
        "drifted",
        "archived again" + tail,
    )
    assert decide_value(UNARCHIVE, value_live(closed=True), resumed=False) is None
    listed = _touched(value_live(lists={"l1": False}), ("l1", "closed"), replace(BY_APP, app=""))
    archive = vc("set_list_closed", "closed", True, False)
    assert value_since_plan(archive, listed) == "unarchived again" + tail
    board = value_live(list_id="l1", lists={"l1": False, "l2": False}, list_names={"l1": "Doing"})
    back = replace(BY_APP, value="l1", app="")
    assert value_since_plan(MOVE, _touched(board, ("k1", "idList"), back)) == (
        'moved back to list "Doing"' + tail
    )
    done = vc("set_card_field", "dueComplete", True, False)
    unticked = _touched(value_live(), ("k1", "dueComplete"), replace(BY_APP, app=""))
    assert value_since_plan(done, unticked) == "marked not complete again" + tail
    due = _touched(value_live(due=DUE.expected), ("k1", "due"), replace(BY_APP, value=DUE.expected))
    assert decide_value(DUE, due, resumed=False) == (
        "drifted",
        "its due set back to 2026-11-02 by Butler (app, on behalf of @benw) on 2026-12-02 "
        "09:30:00 UTC, after the plan was made: left alone",
    )
    undone = _touched(board, ("k1", "idList"), replace(back, undo_of="/j/b.jsonl"))
    assert value_since_plan(MOVE, undone) == (
        "set back by this tool's undo of journal /j/b.jsonl on 2026-12-02 09:30:00 UTC, after "
        "the plan was made: left alone (plan again and apply the new plan to write it again)"
    )
    assert value_since_plan(MOVE, board) is None


def test_undo_leaves_a_value_someone_set_back() -> None:
    """A value that holds what the apply wrote, last set so by someone else (an app for a
    member too): drifted, naming the value; without such an action it is reverted."""
    board = value_live(closed=False)
    put = _touched(board, ("k1", "closed"), BY_APP)
    assert decide_value_undo(UNARCHIVE, put, resumed=False) == (
        "drifted",
        "set back to open by Butler (app, on behalf of @benw) on 2026-12-02 09:30:00 UTC after "
        "this tool's apply: left in place",
    )
    assert decide_value_undo(UNARCHIVE, board, resumed=False) is None
    nameless = Touch("a9", AT, MemberRef("m1"), "set", "l2")
    moved = _touched(value_live(list_id="l2", lists={"l1": False, "l2": False}), ("k1", "idList"),
                     nameless)  # fmt: skip
    assert kind_of(MOVE.action).decide_undo(MOVE, moved, resumed=False) == (
        "drifted",
        'set back to "Next" by m1 on 2026-12-02 09:30:00 UTC after this tool\'s apply: left in '
        "place",
    )
    assert put_back(UNARCHIVE, board) is None


@pytest.mark.parametrize(
    ("change", "target", "types"),
    [
        (CARD, ("k1", "member ann"), ("addMemberToCard", "removeMemberFromCard")),
        (UNARCHIVE, ("k1", "closed"), ("updateCard:closed",)),
        (MOVE, ("k1", "idList"), ("updateCard:idList",)),
        (LIST_OPEN, ("l1", "closed"), ("updateList:closed",)),
        (DESC, ("k1", "desc"), ("updateCard:desc",)),
        (DUE, ("k1", "due"), ("updateCard",)),
    ],
)
def test_each_kind_names_its_target_and_the_feed_types(
    change: object, target: tuple[str, str], types: tuple[str, ...]
) -> None:
    """A card member: the member on the card, its add and removal; a value: the field, its
    documented sub-filter where Trello has one (``due`` has none: every ``updateCard``)."""
    from trello_restore.models import Change

    assert isinstance(change, Change)
    assert kind_of(change.action).target(change) == (target, types)


def test_a_grant_has_no_target_but_an_undo_looks_for_it_granted_again() -> None:
    """Trello's feeds do not list removals from a board: an apply does not look at a grant.
    An undo does, for it granted again or its role set again (R75b); every other kind's undo
    looks at what its apply does."""
    assert BoardMembership().target(GRANT) is None
    assert BoardMembership().undo_target(GRANT) == (
        ("b1", "board member ann"),
        ("addMemberToBoard", "makeNormalMemberOfBoard", "makeObserverOfBoard"),
    )
    for kind in (CardMember(), ListClosed(), CardMove(), CardClosed(), CardField()):
        change = {CardMember: CARD, ListClosed: LIST_OPEN, CardMove: MOVE}.get(type(kind), DESC)
        if kind.action == change.action:
            assert kind.undo_target(change) == kind.target(change)


def test_undo_leaves_a_board_membership_someone_granted_again() -> None:
    """A grant whose member someone added to the board again since the apply, or gave the
    granted role again: drifted, with who and when (R75b: removed, exit 0); before the card
    members' undo (no ``cards_undone``) a grant still there is looked at (None); with no touch
    the card checks decide as before (``undo_grant``)."""
    board = member_live(membership="active")
    at = "on 2026-12-02 09:30:00 UTC after this tool's apply: left in place"
    again = _touched(board, ("b1", "board member ann"), ADDED)
    assert decide_undo(NORMAL_GRANT, again, resumed=False) == (
        "drifted",
        f"added to the board again by @benw {at}",
    )
    for role, said in (("observer", "an observer"), ("normal", "a normal")):
        made = _touched(board, ("b1", "board member ann"), Touch("a9", AT, BEN, "set", role))
        assert decide_undo(NORMAL_GRANT, made, resumed=False, cards_undone={}) == (
            "drifted",
            f"made {said} member of the board by @benw {at}",
        )
    assert decide_undo(NORMAL_GRANT, board, resumed=False) is None
    assert decide_undo(NORMAL_GRANT, board, resumed=False, cards_undone={}) is None
    on_card = member_live(on_card=True, membership="active")
    assert decide_undo(NORMAL_GRANT, on_card, resumed=False) is None
    assert decide_undo(NORMAL_GRANT, on_card, resumed=False, cards_undone={})[0] == "drifted"  # type: ignore[index]


def test_a_feed_tells_board_memberships_granted_and_roles_set() -> None:
    """``_events`` reads a board's grants (``data.idMemberAdded``) and roles set
    (``data.idMember``), each by the member on the board, with the app that made it; a
    removal from the board and an admin made are not looked for."""

    def action(i: str, type_: str, data: dict[str, object], **more: object) -> dict[str, object]:
        board = {"board": {"id": "b1"}}
        at = "2026-12-02T09:30:00.000Z"
        return {"id": i, "type": type_, "date": at, "idMemberCreator": "ben",
                "data": {**board, **data}, **more}  # fmt: skip

    raw = [
        action("a1", "addMemberToBoard", {"idMemberAdded": "ann", "memberType": "normal"}),
        action("a2", "makeObserverOfBoard", {"idMember": "zed"}, appCreator={"id": "5c9a"}),
        action("a3", "removeMemberFromBoard", {"idMember": "ann"}),
        action("a4", "makeAdminOfBoard", {"idMember": "ann"}),
        action("a5", "addMemberToBoard", {"memberType": "normal"}),
    ]
    events, _ = _events(raw, "b1", "TRELLO_API_URL")
    assert events == {
        ("b1", "board member ann"): [_Event(AT, "a1", "add", None, "ben", "")],
        ("b1", "board member zed"): [_Event(AT, "a2", "set", "observer", "ben", "app 5c9a")],
    }


def _rec(status: Status, at: datetime, cid: str = "c1", op: str = "apply") -> JournalRecord:
    return JournalRecord(
        change_id=cid,
        op=op,  # type: ignore[arg-type]
        action="add_member_to_card",
        status=status,
        board_id="b1",
        member_id="ann",
        card_id="k1",
        at=at.isoformat(timespec="milliseconds").replace("+00:00", "Z"),
    )


def test_own_writes_are_the_journal_spans_of_each_change() -> None:
    """From ``pending`` to the change's next record, at most ``SLACK`` long; an answer alone
    (an older journal's ``applied``, an ``undone``) or a ``pending`` never answered: an
    instant; records that send nothing (``drifted``) and unreadable times: none."""
    t = AT
    records = [
        _rec("pending", t),
        _rec("applied", t + timedelta(seconds=2)),
        _rec("pending", t + timedelta(hours=1), op="undo"),
        _rec("undone", t + timedelta(hours=3), op="undo"),  # settled much later: capped
        _rec("applied", t, cid="c2"),
        _rec("drifted", t, cid="c3"),
        _rec("pending", t, cid="c4"),
        replace(_rec("applied", t, cid="c5"), at="not a date"),
    ]
    assert own_writes(records) == {
        "c1": [
            (t, t + timedelta(seconds=2)),
            (t + timedelta(hours=1), t + timedelta(hours=1) + SLACK),
        ],
        "c2": [(t, t)],
        "c3": [],
        "c4": [(t, t)],
    }
    assert undo_since(records) == t - SLACK
    assert undo_since([replace(_rec("applied", t), at="2026-12-02T09:30:00")]) is None
    assert undo_since([]) is None


def test_what_counts_as_this_tools_own_write() -> None:
    """By the journal's account within a span widened by ``SLACK``: the tool's; the same
    account later (by hand), or anyone else at the same moment: not."""
    spans = [(AT, AT + timedelta(seconds=1))]
    mine = _Event(AT + timedelta(seconds=30), "a1", "add", None, "me", "")
    assert _own(mine, "me", spans)
    assert _own(replace(mine, date=AT - SLACK), "me", spans)
    assert not _own(replace(mine, date=AT + timedelta(seconds=1) + SLACK * 2), "me", spans)
    assert not _own(replace(mine, by="ben"), "me", spans)
    assert not _own(mine, "me", [])


def test_the_last_action_and_the_filter() -> None:
    """The latest action after ``since`` (ties by id), those the plan rests on passed over;
    one filter per board, a sub-filter dropped where its whole type is asked."""
    a = _Event(AT, "a1", "remove", None, "ben", "")
    b = _Event(AT, "a2", "add", None, "ben", "")
    c = _Event(AT - timedelta(hours=1), "a0", "add", None, "ben", "")
    assert _last([b, a, c], AT - timedelta(minutes=1), ()) == b
    assert _last([b, a, c], AT - timedelta(minutes=1), {"a2"}) == a
    assert _last([c], AT, ()) is None
    assert _filter(["updateCard:closed", "updateCard", "updateList:closed"]) == (
        "updateCard,updateList:closed"
    )
    assert _filter(["removeMemberFromCard", "addMemberToCard"]) == (
        "addMemberToCard,removeMemberFromCard"
    )


def test_a_removal_by_another_journals_undo_is_named(tmp_path: Path) -> None:
    """A member's removal by the token's member within another journal's undo of that card
    member (same API URL and account, same directory) is marked as that undo's (R23c); one
    later than ``SLACK`` after it, by someone else, or beside a journal of another account or
    URL is not."""
    header = JournalHeader("d1", "http://t/1", "me", "2026-12-02T09:00:00+00:00")
    with Journal.open(tmp_path / "b.jsonl", header) as other:
        other.append_many(
            [
                replace(_rec("pending", AT, op="undo"), card_id="k1", member_id="ann"),
                replace(_rec("undone", AT, op="undo"), card_id="k1", member_id="ann"),
            ]
        )
    target = ("k1", "member ann")
    mine = replace(REMOVED, by=MemberRef("me", "danak"))

    def marked(touch: Touch, url: str = "http://t/1/", account: str = "me") -> str:
        others = Others(tmp_path / "a.jsonl", url, account)  # a.jsonl need not exist
        live = {"b1": _touched(OFF_CARD, target, touch)}
        api = SimpleNamespace(clock_skew=None)
        out = undone_elsewhere(api, live, others)  # type: ignore[arg-type]
        return out["b1"].touched[target].undo_of

    assert marked(replace(mine, date=AT + UNDO_SLACK)) == str(tmp_path / "b.jsonl")
    assert marked(replace(mine, date=AT - UNDO_SLACK)) == str(tmp_path / "b.jsonl")
    # A hand removal by the token's member half a minute after that undo is theirs (W24).
    assert marked(replace(mine, date=AT + UNDO_SLACK + timedelta(seconds=1))) == ""
    assert marked(replace(mine, date=AT + timedelta(seconds=26))) == ""
    assert marked(REMOVED, account="ben") == ""  # someone else's journal, not this account's
    assert marked(mine, account="other") == ""  # removed by another member than the account
    assert marked(mine, url="http://elsewhere/1") == ""
    assert marked(replace(mine, kind="add")) == ""
    undone = {"b1": _touched(OFF_CARD, ("k2", "member ann"), mine)}  # no journal holds k2
    beside = Others.of(Journal(tmp_path / "a.jsonl", header, []))
    api = SimpleNamespace(clock_skew=None)
    assert undone_elsewhere(api, undone, beside) == undone  # type: ignore[arg-type]


def test_a_removal_after_the_journal_put_the_member_back_is_not_its_undos() -> None:
    """The undo's write of a change is its ``pending`` record to its ``undone`` (at most
    ``SLACK`` long), or an instant (never answered; no ``pending``: an older journal's); a
    removal within it is the undo's only if no later apply record of the journal found or put
    the member back (W24: apply, undo, apply again, then a hand removal soon after the undo)."""
    sec = timedelta(seconds=1)
    undo = [_rec("pending", AT, op="undo"), _rec("undone", AT + 2 * sec, op="undo")]
    assert undid(AT + sec, undo, timedelta(0))
    assert undid(AT + 3 * sec, undo, sec)  # Trello's clock a second ahead
    assert not undid(AT + 2 * sec + UNDO_SLACK + sec, undo, timedelta(0))
    for status in ("pending", "applied", "already_satisfied"):
        again = [*undo, _rec(status, AT + 5 * sec)]
        assert not undid(AT + 6 * sec, again, timedelta(0)), status
    failed = [*undo, _rec("failed", AT + 5 * sec)]  # not written: the undo's removal stands
    assert undid(AT + 6 * sec, failed, timedelta(0))
    undone_again = [
        *undo,
        _rec("applied", AT + 5 * sec),
        _rec("pending", AT + 20 * sec, op="undo"),
        _rec("undone", AT + 21 * sec, op="undo"),
    ]
    assert undid(AT + 21 * sec, undone_again, timedelta(0))  # the second undo's
    assert not undid(AT + sec, undone_again[:3], timedelta(0))  # the apply after it
    resumed = [_rec("undone", AT + SLACK * 3, op="undo")]  # answered much later: not a span
    assert not undid(AT + SLACK * 2, [undo[0], *resumed], timedelta(0))
    assert undid(AT, [undo[0], *resumed], timedelta(0))
    # Sent twice, no answer: each write may land as long after it was sent as a request may
    # take, up to ``SLACK`` (R83a: a killed undo's removal landed 12 s on, and the next
    # one-step run added the member back as a removal by hand).
    unanswered = [undo[0], _rec("pending", AT + SLACK, op="undo")]
    assert undid(AT, unanswered, timedelta(0))
    assert undid(AT + 12 * sec, unanswered[:1], timedelta(0))
    assert undid(AT + SLACK, unanswered[:1], timedelta(0))
    assert not undid(AT + SLACK + UNDO_SLACK + sec, unanswered[:1], timedelta(0))
    assert undid(AT + SLACK * 2, unanswered, timedelta(0))
    assert not undid(AT + SLACK * 2 + UNDO_SLACK + sec, unanswered, timedelta(0))
    assert not undid(AT - UNDO_SLACK - sec, unanswered, timedelta(0))
    # An undo's write removes once: the first removal after it was sent (R84a: put back and
    # removed again by hand within minutes, the second was called the undo's).
    landed, by_hand = AT + 12 * sec, AT + 19 * sec
    assert undid(landed, unanswered[:1], timedelta(0), [landed, by_hand])
    assert not undid(by_hand, unanswered[:1], timedelta(0), [landed, by_hand])
    long_ago = AT - SLACK  # another removal, before the write began: not this one's
    assert undid(landed, unanswered[:1], timedelta(0), [long_ago, landed])
    # An answered write's span is its own: a removal just before it (an earlier undo's, the
    # member applied again in between) does not make it another's.
    assert undid(AT + sec, undo, timedelta(0), [AT - 5 * sec, AT + sec])
    torn = [undo[0], replace(undo[1], at="not a date")]  # answered, when is not known
    assert undid(AT, torn, timedelta(0))
    assert undid(AT + sec * 30, torn, timedelta(0))
    assert not undid(AT + SLACK + UNDO_SLACK + sec, torn, timedelta(0))
    assert undid(AT + 2 * sec, undo[1:], timedelta(0))  # no pending: an instant
    assert not undid(AT, [_rec("not_on_card", AT, op="undo")], timedelta(0))  # not written
