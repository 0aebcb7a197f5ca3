"""Planner rules the code keeps and no other test pinned (R52b's mutation testing: each test
here fails with its rule's mutant, named in its docstring, and passes with the rule).

Literal data, as in ``test_planner_table.py`` (member rule, design.md §3),
``test_planner_values.py`` (value kinds, design.md §10.2) and ``test_undone_values.py`` (a
run's guard against re-applying what this tool's undo set back, design.md §10.3), whose
helpers these reuse. Times are minutes from the cutoff ``T`` (``--since``).
"""

from __future__ import annotations

import unicodedata
from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from datetime import timedelta
from pathlib import Path
from typing import cast

from trello_restore.journal import JournalRecord
from trello_restore.kinds.memberapply import unneeded_grants
from trello_restore.models import (
    CardInfo,
    FieldUpdate,
    History,
    MemberAction,
    MemberRef,
    MoveAction,
    Plan,
    PlanOptions,
)
from trello_restore.planner import build_plan, cards_in_scope, resolve_filters, undated_losses
from trello_restore.undone_hint import Journals
from trello_restore.undone_values import _set_back, leave_out_set_back, own_sets

from .test_grant_decisions import KEY, NOT_NEEDED
from .test_kinds import CARD, live
from .test_kinds import NORMAL_GRANT as GRANT
from .test_planner_table import (
    T,
    add,
    at,
    board,
    card,
    decisions,
    history,
    move_list,
    plan,
    rem,
    state,
)
from .test_planner_values import board as value_board
from .test_planner_values import card as value_card
from .test_planner_values import decisions as value_decisions
from .test_planner_values import plan as value_plan
from .test_planner_values import state as value_state
from .test_planner_values import upd
from .test_undone_values import _APPLIED, _CHANGE, _T, _UNDONE, _record

# ------------------------------------------------------------------ moves across boards


def _move(
    aid: str, kind: str, minute: float, by: str, src: str, dst: str, *, obj: str
) -> MoveAction:
    """A move of card ``obj`` (``kind`` ``moveCard…``) or list ``obj`` (``moveList…``)."""
    is_card = kind.startswith("moveCard")
    return MoveAction(
        aid, kind, at(minute), by, obj if is_card else None, None if is_card else obj, src, dst
    )


def _unrestorable(p: Plan) -> list[tuple[str, str, str, str]]:
    return sorted((u.object_type, u.object_id, u.what, u.other_board_id) for u in p.unrestorable)


def test_by_keeps_a_card_moved_across_boards_when_one_of_its_moves_was_by_that_member() -> None:
    """``--by`` keeps an object moved across boards when ONE of its moves was by that member
    (``planner_moves``; design.md §10.1, "Cannot be restored"): card c7 moved from board A to
    B by alice, then from B to C by bob, A and B named, ``--by alice``: still listed, as moved
    to C. R52b M07 (``not any`` → ``not all``: dropped, as bob's move is not alice's)."""
    h = history(
        [],
        moves=[
            _move("n1", "moveCardFromBoard", 1, "alice", "A", "B", obj="c7"),
            _move("n2", "moveCardFromBoard", 2, "bob", "B", "C", obj="c7"),
        ],
        cards=[CardInfo("c7", "Seven", "c7-link", "A", "l1")],
        members=[MemberRef("alice", "alice"), MemberRef("bob", "bob")],
    )
    now = state(board("A", lists={"l1": "Doing"}), board("B", lists={"l2": "X"}))
    p = build_plan(
        h,
        now,
        PlanOptions(since=T, restore=frozenset({"list"}), by="alice"),
        named_boards=frozenset({"A", "B"}),
    )
    assert _unrestorable(p) == [("card", "c7", "moved_to_other_board", "C")]


def test_a_card_its_list_carried_onto_the_board_is_said_once_on_the_list_s_line() -> None:
    """A card that came onto a named board with its list, and then went A -> D -> A on its
    own, is said by the list's line only (``planner_moves``: a card that came with its list
    is said by the list's line while it is where its list is; design.md §10.1). List l5 (with
    c5 in it) moved from board B to named A at +1; c5 moved A -> D at +2 and back at +3.
    R52b M06 (the ``evs[0].carried`` branch dropped: c5 said again, as moved from B)."""
    h = history(
        [],
        moves=[
            _move("ml", "moveListToBoard", 1, "lead", "B", "A", obj="l5"),
            _move("m2", "moveCardFromBoard", 2, "lead", "A", "D", obj="c5"),
            _move("m3", "moveCardToBoard", 3, "lead", "D", "A", obj="c5"),
        ],
        card_lists=[(at(-10), "c5", "l5")],
    )
    now = state(card("c5", board="A", lst="l5"), board("A", lists={"l5": "Moved in"}))
    p = build_plan(
        h, now, PlanOptions(since=T, restore=frozenset({"list"})), named_boards=frozenset({"A"})
    )
    assert _unrestorable(p) == [("list", "l5", "moved_from_other_board", "B")]


# --------------------------------------------------------------------------------- scope


def test_a_card_deleted_before_its_list_moved_onto_a_named_board_is_not_in_scope() -> None:
    """Scope (design.md §3): a board reached only by following a move supplies the cards that
    moved to a named board, no others. Card c9 was in list l5 on followed board b2 and was
    deleted at +1; l5 moved b2 -> b1 (named) at +5, without c9, which no longer existed, and
    no place of c9's is logged: c9 never was on b1, so it is not in scope, and the plan says
    nothing of it (no ``card_deleted``). R52b S05 (``gone`` not checked: in scope, and said
    deleted on b1)."""
    h = history(
        [
            MemberAction("a9", "add", at(-60), "c9", "m1", "lead", "b2"),
            rem("r9", "m1", 0.5, card="c9", board="b2"),
        ],
        moves=[move_list("ml", "l5", 5, src="b2", dst="b1")],
        cards=[CardInfo("c9", "Old card", "c9-link", "b2", "l5")],
    )
    h = replace(h, deleted_cards={"c9": "del9"}, deleted_when={"c9": (at(1), "lead")})
    now = state(
        card("c1"),
        board("b1", lists={"l1": "Doing", "l5": "Moved"}),
        board("b2", lists={"l9": "X"}),
    )
    assert cards_in_scope(h, now, frozenset({"b1"})) == {"c1"}
    p = build_plan(
        h,
        now,
        PlanOptions(since=T, restore=frozenset({"members", "archived"})),
        named_boards=frozenset({"b1"}),
    )
    assert decisions(p) == set()
    assert p.unrestorable == ()


# ----------------------------------------------------------------------- the member rule


def test_list_named_in_nfc_chooses_a_list_trello_names_in_nfd() -> None:
    """``--list`` by name matches the list's name however its accents are encoded
    (``planner.chosen`` compares ``normal_name``s; design.md §3 filters): a list Trello names
    "Café" decomposed (NFD), asked for as typed (NFC) and resolved as the command line does,
    plans its cards. R52b P34 (the list's name taken as stored: every removal ``filtered``)."""
    nfd = unicodedata.normalize("NFD", "Café")
    assert nfd != "Café"
    now = state(card("c1"), board(lists={"l1": nfd, "l2": "Done"}))
    h = history([add("a1", "m1", -60), rem("r1", "m1", 1)])
    opts = resolve_filters(h, now, PlanOptions(since=T, lists=frozenset({"Café"})))
    assert decisions(build_plan(h, now, opts)) == {"add c1 m1 recorded_removal r1"}


def test_ever_added_counts_a_removal_exactly_at_until_as_outside_the_window() -> None:
    """The window is exclusive at ``--until`` (design.md §3), for ``--mode ever-added`` too: a
    card whose only removal is exactly at ``--until`` has no recorded removal inside the
    window, so the literal fallback plans the member back (``ever_added``), and only that (the
    removal is not also skipped, R71d). R52b P02 (``<=`` at until: the removal counted as
    inside the window, and nothing planned)."""
    p = plan([add("a1", "m1", -60), rem("r1", "m1", 10)], mode="ever-added", until=at(10))
    assert decisions(p) == {"add c1 m1 ever_added a1"}


def test_the_plan_s_incomplete_cards_leave_out_deleted_cards() -> None:
    """``Plan.incomplete`` lists the cards in scope whose history is cut, that the plan can
    touch (design.md §3 scope): a deleted card, no longer on any board, is not among them.
    R52b P36 (not filtered to existing cards: c9 counted)."""
    h = history(
        [add("a9", "m1", -60, card="c9"), rem("r9", "m1", 1, card="c9")],
        cards=[CardInfo("c9", "Gone", "", "b1", "l1")],
    )
    h = replace(h, deleted_cards={"c9": "d9"}, deleted_when={"c9": (at(2), "lead")})
    p = build_plan(
        h,
        state(card("c1"), board()),
        PlanOptions(since=T),
        incomplete=frozenset({"c9", "c1"}),
    )
    assert p.incomplete == ("c1",)


def test_until_exactly_now_gives_no_undated_losses_warning() -> None:
    """A silent loss (``reconstructed``) has no date, so ``--until`` before now cannot leave
    it out, and the plan says so (``undated_losses``, R43d; design.md §3); an ``--until`` from
    now on leaves out nothing that has happened: no warning, ``--until`` exactly now included.
    R52b P32 (``until > now``: warned at now too)."""
    p = plan([add("a1", "m1", -60)], until=at(10))
    assert [c.evidence.kind for c in p.card_changes() if c.evidence is not None] == [
        "reconstructed"
    ]
    assert undated_losses(p, at(10)) == []
    (warning,) = undated_losses(p, at(10) + timedelta(milliseconds=1))
    assert "which has no date in the log" in warning


# ------------------------------------------------------------------------ the value rule


def test_a_list_s_expected_value_is_the_last_selected_change_s_new_value() -> None:
    """The plan records the expected current value: the LAST selected change's new value,
    which the apply checks (design.md §10.2, §10.3). List l1 archived (+1) and unarchived (+2)
    by the culprit, and archived now by a change the log does not show: the plan sets it to
    False expecting False, so the apply finds it drifted and never overwrites it. R52b V30
    (``first.new``: expected True, and the unlogged archive undone)."""
    ups = [
        upd("u1", "closed", False, True, 1, obj="l1", list_update=True),
        upd("u2", "closed", True, False, 2, obj="l1", list_update=True),
    ]
    now = value_state(value_card(), value_board(closed=["l1"]))
    p = value_plan(ups, now, restore={"archived"}, by="cul")
    assert value_decisions(p) == {"set_list_closed l1 closed False<-False u1,u2"}


# -------------------------------------------------------- grants whose card adds are blocked


def test_a_grant_whose_card_add_is_blocked_is_drifted() -> None:
    """A grant of board membership exists only for its card adds (design.md §3, board
    membership); when none will be written it is not sent, and its outcome is a problem
    (``drifted``, the exit code they give) when one of them is: a card add blocked (its
    member deactivated on another board of the plan: deactivated members are never added)
    too. R52b A11 (``blocked`` left out: a quiet ``not_attempted``)."""
    for dry_run in (False, True):
        got = unneeded_grants(
            (GRANT, CARD),
            (),
            {"b1": live()},
            resumed=set(),
            dry_run=dry_run,
            deactivated={"ann": "board B2"},
        )
        assert got == {
            KEY: (
                "drifted",
                f"{NOT_NEEDED}1 blocked (the member is deactivated (on board B2): never "
                "added); not granted",
            )
        }


# ------------------------------------------------------ what this tool's undo set back

_PLAN = Plan(
    options=PlanOptions(since=_T - timedelta(hours=1)), changes=(_CHANGE,), blocked=(), skipped=()
)


@dataclass
class _Others:
    """``undo_others.Others`` as ``leave_out_set_back`` reads it: one journal, read."""

    records: Sequence[JournalRecord]
    unreadable: dict[Path, str] = field(default_factory=dict)

    def journals(self, *needles: str) -> list[_Journal]:
        return [_Journal(Path("j1.jsonl"), self.records)]


@dataclass
class _Journal:
    path: Path
    records: Sequence[JournalRecord]


@dataclass
class _At:
    """``undone_hint.Journals`` of a run that applies, whose journal directory holds one
    journal: ``_CHANGE`` applied at +1 and undone at +2 (the undo wrote ``True`` back)."""

    username: str = "me"
    skew: timedelta = timedelta(0)
    applying: bool = True

    def others(self) -> _Others:
        return _Others([_record(*_APPLIED), _record(*_UNDONE)])


def _closed(aid: str, minutes: int, by: str, old: bool, new: bool, app: str = "") -> FieldUpdate:
    """A change of card c's ``closed`` on board b (``_CHANGE``'s field)."""
    return FieldUpdate(aid, _T + timedelta(minutes=minutes), "card", "c", "b", "closed", old, new,
                       by, app)  # fmt: skip


def _kept(*updates: FieldUpdate) -> tuple[Plan, str | None]:
    """The plan a run that applies keeps, as the token's member ``me``, after the field's
    history ``updates``, and its warning."""
    h = History((), (), {}, (), {}, {}, field_updates=updates)
    p, warning, _ = leave_out_set_back(_PLAN, own_sets(_PLAN, h, "me"), cast(Journals, _At()))
    return p, warning


#: The culprit archived card c (the damage), this tool's apply unarchived it, its undo
#: archived it again, both as the token's member.
_UNDONE_BY_TOOL = (
    _closed("a1", 0, "culprit", False, True),
    _closed("a2", 1, "me", True, False),
    _closed("a3", 2, "me", False, True),
)


def test_a_butler_change_as_the_token_s_member_after_the_undo_is_not_the_undo_s() -> None:
    """Only a field whose latest change the token's member made, not an app, is looked at as
    this tool's undo's (``own_sets``; design.md §10.3): a Butler automation acting as the
    token's member that unarchived and archived card c again after the undo made the value it
    holds now, so the plan keeps the change and says nothing. R52b U01 (``and not app``
    dropped: left out as the tool's undo)."""
    butler = (
        _closed("a4", 5, "me", True, False, app="Butler"),
        _closed("a5", 6, "me", False, True, app="Butler"),
    )
    h = History((), (), {}, (), {}, {}, field_updates=(*_UNDONE_BY_TOOL, *butler))
    assert own_sets(_PLAN, h, "me") == {}
    p, warning = _kept(*_UNDONE_BY_TOOL, *butler)
    assert (p.changes, warning) == ((_CHANGE,), None)


def test_a_colleague_s_latest_change_keeps_the_change_with_no_crash() -> None:
    """A field whose latest change is a colleague's is not looked at (``leave_out_set_back``
    takes only ``own_sets``' fields; design.md §10.3): card c archived again by a colleague
    after the undo, no ``--by``: the change is all the damage, kept, with no warning. R52b U12
    (every change looked at: a ``KeyError`` on the field ``own_sets`` has not)."""
    colleague = (
        _closed("a5", 4, "colleague", True, False),
        _closed("a6", 6, "colleague", False, True),
    )
    p, warning = _kept(*_UNDONE_BY_TOOL, *colleague)
    assert (p.changes, warning) == ((_CHANGE,), None)


def test_a_re_apply_that_found_the_value_set_back_ends_the_undo_s_count() -> None:
    """An apply record of the journal that found or set the field back after the undo ends
    that undo's count (``_set_back``; design.md §10.3): the journal applied, undone, then its
    plan applied again and the value found already there (``already_satisfied``): the undo no
    longer counts as setting it back. R52b U05 (``already_satisfied`` not among them)."""
    records = [_record(*r) for r in (_APPLIED, _UNDONE, ("apply", "already_satisfied", 3, False))]
    assert _set_back(_CHANGE, records, timedelta(0)) is None
    assert _set_back(_CHANGE, records[:2], timedelta(0)) is not None
