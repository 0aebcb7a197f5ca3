"""The value kinds' rule (design.md §10.2): set a card's or a list's field back to the value it
had before the damage. Pure: a function of (history, state, options), like ``planner.py``, which
calls ``plan_values`` when ``--restore`` asks for ``archived``, ``list`` or ``fields``.

For each card (or list) in scope and each field of a kind asked, the ``updateCard`` /
``updateList`` actions that changed that field (and for a card's list, its moves between
boards: to None on the board it left, from None on the one it reached, ``in_order`` keeping a
move's two records together) are taken in date order (ties by action id). A
change is **selected** when it lies in the window, was made by the ``--by`` member (anyone
without it; an automation's change counts as the member it acts for) and its card or list
passes ``--list`` / ``--card``. Then, ``first`` being the earliest selected change:

- the **target** is ``first``'s old value, the **expected** current value the last selected
  change's new value, the evidence every selected action (``first``'s date, author and app);
- a change is planned only if every change to the field from ``first`` on is selected (a run
  of changes by the token's own member that puts the field back where it was, such as this
  tool's own apply and undo, changes nothing and does not count: ``lasting_others``; anyone
  else's does, R31a); otherwise it
  is skipped with the first reason of ``VALUE_SKIP_ORDER`` that applies:
  ``object_deleted`` (the card was deleted), ``already_restored`` (the field holds the
  target now), ``other_board`` (a card move back to a list that is not on the card's board
  now, or a card or list on none of the boards read: it moved on, as Trello deletes no list;
  moving across boards is out of scope), ``changed_by_others`` (someone else changed the
  field after the damage began: who and when are listed; never clobbered), ``filtered`` (the
  field changed in the window, but ``--by``, ``--list`` or ``--card`` excluded every such
  change), ``outside_window`` (it did not change in the window at all).

``unrestorable`` lists the cards in scope deleted in the window (by the ``--by`` member, when
given): ``deleteCard`` keeps no content to restore from.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable, Collection, Mapping
from datetime import datetime
from typing import Literal, NamedTuple

from trello_restore.history import arrivals, in_order
from trello_restore.models import (
    KIND_FIELDS,
    CardInfo,
    CardState,
    Evidence,
    FieldUpdate,
    FieldValue,
    History,
    MemberRef,
    PlanOptions,
    State,
    Unrestorable,
    ValueChange,
    ValueSkipped,
    normal_name,
)
from trello_restore.planner_moves import MovedRule, moved_across
from trello_restore.planner_scope import history_member_ids

#: The value kinds' apply order (design.md §10.3): list unarchives, card moves and unarchives,
#: fields. Value changes are listed in the plan in this order.
_ACTION_RANK = {"set_list_closed": 0, "move_card_to_list": 1, "set_card_closed": 1}
#: A card's fields as ``CardState`` names them.
_CARD_ATTR = {
    "closed": "closed",
    "idList": "list_id",
    "name": "name",
    "desc": "desc",
    "due": "due",
    "dueComplete": "due_complete",
    "start": "start",
}
_DATES = frozenset({"due", "start"})


class ValuePlan(NamedTuple):
    """What the value rule decides: changes, skipped fields, and what cannot be restored."""

    changes: tuple[ValueChange, ...]
    skipped: tuple[ValueSkipped, ...]
    unrestorable: tuple[Unrestorable, ...]


def value_action(object_type: Literal["card", "list"], field: str) -> str:
    """The change kind that sets ``field`` of a card or a list back (design.md §10.1)."""
    if object_type == "list":
        return "set_list_closed"
    return {"closed": "set_card_closed", "idList": "move_card_to_list"}.get(field, "set_card_field")


def same_value(field: str, a: FieldValue, b: FieldValue) -> bool:
    """Whether two values of ``field`` are the same: dates compare as instants (Trello writes
    ``2025-12-01T10:00:00.000Z``; a value may come back in another form), the rest as JSON."""
    if field in _DATES and isinstance(a, str) and isinstance(b, str):
        try:
            return _instant(a) == _instant(b)
        except ValueError:
            pass
    return a == b


def _instant(text: str) -> datetime:
    return datetime.fromisoformat(text[:-1] + "+00:00" if text.endswith("Z") else text)


def plan_values(
    history: History,
    state: State,
    options: PlanOptions,
    members: Mapping[str, MemberRef],
    scope: frozenset[str],
    named_boards: Collection[str] | None,
    change_id: Callable[..., str],
    own_member: str | None = None,
) -> ValuePlan:
    """Decide the value kinds' changes (see the module's docstring). ``members`` names members
    by id; ``scope`` and ``named_boards`` are the member rule's (``planner_scope.cards_in_scope``:
    a card that is not in it, and a list neither on a named board nor moved to or from one, are
    left alone); ``change_id`` is ``planner.change_id``; ``own_member`` the token's member
    (None: not known)."""
    return _Values(
        history, state, options, members, scope, named_boards, change_id, own_member
    ).plan()


def authors_named(
    wanted: str | None, members: Mapping[str, MemberRef], history: History
) -> frozenset[str] | None:
    """The members ``--by`` or ``--removed-by`` names (None without it): the member whose id it
    is, else every member whose username it is (and itself: a member the history does not
    name). An id wins, a member known only as the author of actions included (R43g: one who
    acted only through an automation): a member may pick a username of 24 hex digits, another
    member's id, and must not be taken for them (review R43f)."""
    if wanted is None:
        return None
    if wanted in members or _acted(wanted, history):
        return frozenset({wanted})
    return frozenset({wanted, *(m for m, ref in members.items() if ref.username == wanted != "")})


def _acted(member_id: str, history: History) -> bool:
    """Whether ``member_id`` is the id of a member the history shows acting (or acted on),
    looked for only for an id no member listing names (one pass over the history)."""
    if len(member_id) != 24:  # not an id: a username (a pass over the history saved)
        return False
    return member_id in history_member_ids(history)


class _Decision(NamedTuple):
    """One (object, field): the skip reason (None: planned), the selected changes, and the
    changes from the first selected one on that are not selected."""

    reason: str | None
    selected: list[FieldUpdate]
    others: list[FieldUpdate]


class _Values:
    def __init__(
        self,
        history: History,
        state: State,
        options: PlanOptions,
        members: Mapping[str, MemberRef],
        scope: frozenset[str],
        named_boards: Collection[str] | None,
        change_id: Callable[..., str],
        own_member: str | None = None,
    ) -> None:
        self.h, self.state, self.opts, self.members = history, state, options, members
        self.scope, self.change_id, self.own = scope, change_id, own_member
        #: The cards ``Cannot be restored`` says moved across boards (``plan``): their list's
        #: change back is not said again as ``other_board`` (R48d: only those; a round trip
        #: whose two records are not paired is said so, not left out in silence).
        self.said_moved: set[str] = set()
        self.named = None if named_boards is None else frozenset(named_boards)
        #: The lists that moved between a named board and another (design.md §3's scope, as
        #: for cards: naming the board a list moved from plans it where it is now, R31a).
        self.moved_lists = frozenset(
            m.list_id
            for m in history.moves
            if m.list_id
            and self.named is not None
            and (m.source_board_id in self.named or m.target_board_id in self.named)
        )
        self.card_fields = {f for kind in options.restore for f in KIND_FIELDS[kind]}
        self.list_fields = {"closed"} if "archived" in options.restore else set()
        self.wanted_lists = (
            {normal_name(x) for x in options.lists} if options.lists is not None else None
        )
        #: Who ``--by`` names (``authors_named``); None without it.
        self.authors = authors_named(options.by, members, history)
        #: List id -> (board id, name) of every list on a board in ``state``.
        self.lists = {
            lid: (board.id, name)
            for board in state.boards.values()
            for lid, name in board.lists.items()
        }

    # ---------------------------------------------------------------------------- helpers

    def member(self, member_id: str) -> MemberRef:
        return self.members.get(member_id) or MemberRef(member_id)

    def in_window(self, date: datetime) -> bool:
        o = self.opts
        return date >= o.since and (o.until is None or date < o.until)

    def by_matches(self, by: str) -> bool:
        return self.authors is None or by in self.authors

    def board_named(self, board_id: str) -> bool:
        return self.named is None or board_id in self.named

    def list_in_scope(self, list_id: str, board_id: str) -> bool:
        return self.board_named(board_id) or list_id in self.moved_lists

    def list_passes(self, list_id: str) -> bool:
        """``--list``: the list's id or (NFC) name is one of those asked."""
        wanted = self.wanted_lists
        name = self.lists.get(list_id, ("", ""))[1]
        return wanted is None or list_id in wanted or normal_name(name) in wanted

    def card_passes(self, card_id: str, short_link: str, list_id: str) -> bool:
        """``--card`` (id or shortLink) and ``--list`` (the list the card is in)."""
        cards = self.opts.cards
        in_cards = cards is None or card_id in cards or short_link in cards
        return in_cards and self.list_passes(list_id)

    # ------------------------------------------------------------------------------- rule

    def plan(self) -> ValuePlan:
        groups: dict[tuple[str, str, str], list[FieldUpdate]] = defaultdict(list)
        for u in self.h.field_updates:
            fields = self.card_fields if u.object_type == "card" else self.list_fields
            if u.field in fields:
                groups[(u.object_type, u.object_id, u.field)].append(u)
        changes: list[ValueChange] = []
        skipped: list[ValueSkipped] = []
        unrestorable = self.unrestorable()
        self.said_moved = {
            u.object_id
            for u in unrestorable
            if u.object_type == "card" and u.what != "card_deleted"
        }
        for (object_type, object_id, field), ups in sorted(groups.items()):
            ups = in_order(ups)
            if object_type == "card":
                decided = self.a_card(object_id, field, ups)
            else:
                decided = self.a_list(object_id, ups)
            if isinstance(decided, ValueChange):
                changes.append(decided)
            elif decided is not None:
                skipped.append(decided)
        return ValuePlan(
            changes=tuple(sorted(changes, key=_change_key)),
            skipped=tuple(sorted(skipped, key=lambda s: (s.object_name, s.object_id, s.field))),
            unrestorable=unrestorable,
        )

    def a_card(
        self, card_id: str, field: str, ups: list[FieldUpdate]
    ) -> ValueChange | ValueSkipped | None:
        card = self.state.cards.get(card_id)
        if card is None:
            info = self.h.cards.get(card_id) or CardInfo(card_id, board_id=ups[0].board_id)
            if (
                card_id not in self.scope
                and not self.board_named(info.board_id)
                # changed on a named board, then moved on to a board not read: said (R31d)
                and not any(self.board_named(u.board_id) for u in ups)
            ):
                return None  # a followed board's card, never on a named one
            passes = self.card_passes(card_id, info.short_link, info.list_id)
            # Not on a board read now: deleted, or moved on to a board this plan does not read.
            gone = "object_deleted" if card_id in self.h.deleted_when else "other_board"
            selected = self.selected(ups, passes)
            if not selected and gone == "other_board":  # R48a: no change of its in the window
                gone = "filtered" if any(self.in_window(u.date) for u in ups) else "outside_window"
            decision = _Decision(gone, selected, [])
            if gone == "other_board" and field == "idList" and card_id in self.said_moved:
                return None  # moved across boards in the window: ``planner_moves`` says it
            return self.skip("card", card_id, info.name, info.board_id, field, decision)
        if card_id not in self.scope:
            return None  # on a board that is only followed, and never moved to a named one
        passes = self.card_passes(card.id, card.short_link, card.list_id)
        decision = self.judge(ups, passes, card_value(card, field), field, card.board_id)
        if decision.reason == "other_board" and field == "idList" and card_id in self.said_moved:
            return None  # moved across boards in the window: ``planner_moves`` says it
        if decision.reason is not None:
            return self.skip("card", card.id, card.name, card.board_id, field, decision)
        action = value_action("card", field)
        board = self.state.boards.get(card.board_id)
        first, last = decision.selected[0], decision.selected[-1]
        return ValueChange(
            change_id=self.change_id(action, card.id, field, first.id),
            action=action,
            board_id=card.board_id,
            board_name=board.name if board is not None else "",
            list_id=card.list_id,
            list_name=self.lists.get(card.list_id, ("", ""))[1],
            card_id=card.id,
            card_name=card.name,
            card_short_link=card.short_link,
            evidence=self.evidence(first),
            object_type="card",
            field=field,
            value=first.old,
            expected=last.new,
            actions=_each_change_once(decision.selected),
            value_name=self.lists.get(str(first.old), ("", ""))[1] if field == "idList" else "",
        )

    def a_list(self, list_id: str, ups: list[FieldUpdate]) -> ValueChange | ValueSkipped | None:
        passes = self.opts.cards is None and self.list_passes(list_id)
        where = self.lists.get(list_id)
        if where is None:
            board_id = ups[0].board_id
            if not self.list_in_scope(list_id, board_id):
                return None
            # Trello deletes no list: it is on a board this plan does not read (moved on).
            decision = _Decision("other_board", self.selected(ups, passes), [])
            return self.skip("list", list_id, "", board_id, "closed", decision)
        board_id, name = where
        if not self.list_in_scope(list_id, board_id):
            return None
        board = self.state.boards[board_id]
        current = board.list_closed.get(list_id, False)
        decision = self.judge(ups, passes, current, "closed", board_id)
        if decision.reason is not None:
            return self.skip("list", list_id, name, board_id, "closed", decision)
        first, last = decision.selected[0], decision.selected[-1]
        return ValueChange(
            change_id=self.change_id("set_list_closed", list_id, "closed", first.id),
            action="set_list_closed",
            board_id=board_id,
            board_name=board.name,
            list_id=list_id,
            list_name=name,
            evidence=self.evidence(first),
            object_type="list",
            field="closed",
            value=first.old,
            expected=last.new,
            actions=tuple(u.id for u in decision.selected),
        )

    def selected(self, ups: list[FieldUpdate], passes: bool) -> list[FieldUpdate]:
        return [u for u in ups if passes and self.in_window(u.date) and self.by_matches(u.by)]

    def judge(
        self, ups: list[FieldUpdate], passes: bool, current: FieldValue, field: str, board: str
    ) -> _Decision:
        """The decision for a field of an object that exists (on ``board``), in the order of
        ``VALUE_SKIP_ORDER`` after ``object_deleted``."""
        selected = self.selected(ups, passes)
        if not selected:  # filters excluded the window's changes, or there were none
            window = any(self.in_window(u.date) for u in ups)
            return _Decision("filtered" if window else "outside_window", selected, [])
        chosen = {u.id for u in selected}
        others = lasting_others(ups[ups.index(selected[0]) :], chosen, field, self.own)
        target = selected[0].old
        if same_value(field, current, target):
            reason: str | None = "already_restored"
        elif field == "idList" and self.lists.get(str(target), ("", ""))[0] != board:
            reason = "other_board"
        elif others:
            reason = "changed_by_others"
        elif field == "idList" and selected[-1].new is None:
            reason = "other_board"  # it left the board, and its way back is not in the log
        else:
            reason = None
        return _Decision(reason, selected, others)

    def skip(
        self,
        object_type: Literal["card", "list"],
        object_id: str,
        name: str,
        board_id: str,
        field: str,
        decision: _Decision,
    ) -> ValueSkipped:
        assert decision.reason is not None
        named_once = arrivals(decision.others)  # one move across boards, named once (R48a)
        return ValueSkipped(
            object_type=object_type,
            object_id=object_id,
            object_name=name,
            board_id=board_id,
            field=field,
            reason=decision.reason,
            action_id=decision.selected[0].id if decision.selected else None,
            others=tuple(
                (self.member(u.by), u.date) for u in decision.others if u.id not in named_once
            ),
        )

    def evidence(self, first: FieldUpdate) -> Evidence:
        return Evidence(
            kind="field_update",
            action_id=first.id,
            date=first.date,
            by=self.member(first.by),
            app=first.app,
        )

    def unrestorable(self) -> tuple[Unrestorable, ...]:
        """Cards in scope deleted in the window (by the ``--by`` member, when given) that pass
        ``--list``/``--card``: the log shows them lost and holds nothing to restore them from;
        and with ``list`` restored, what moved across boards (``moved``)."""
        out: list[Unrestorable] = []
        for card_id, (date, by) in self.h.deleted_when.items():
            info = self.h.cards.get(card_id) or CardInfo(card_id)
            if (
                (card_id in self.scope or self.board_named(info.board_id))
                and self.in_window(date)
                and self.by_matches(by)
                and self.card_passes(card_id, info.short_link, info.list_id)
            ):
                out.append(
                    Unrestorable(
                        object_type="card",
                        object_id=card_id,
                        name=info.name,
                        what="card_deleted",
                        action_id=self.h.deleted_cards.get(card_id, ""),
                        date=date,
                        by=self.member(by),
                    )
                )
        if "list" in self.opts.restore:
            out += self.moved(frozenset(u.object_id for u in out))
        return tuple(sorted(out, key=lambda u: (u.date, u.object_id, u.what)))

    def moved(self, said_deleted: frozenset[str]) -> list[Unrestorable]:
        """Each card and list moved in the window across boards and not back
        (``planner_moves``): moving back across boards is out of scope (design.md §10.1), and
        a plan that said nothing of it would leave it out silently (R41b); but the cards
        ``said_deleted`` (R42h: a card said neither deleted nor moved was in no line)."""
        rule = MovedRule(
            history=self.h,
            state=self.state,
            board_named=self.board_named,
            in_window=self.in_window,
            by_matches=self.by_matches,
            passes=self.moved_passes,
            member=self.member,
            lists=self.lists,
            said_deleted=said_deleted,
        )
        return moved_across(rule)

    def moved_passes(self, object_type: str, object_id: str) -> bool:
        """``--card``/``--list`` for a card or list that moved across boards: a card as
        ``a_card`` takes it (where it is now, else where the log last placed it), a list only
        without ``--card``."""
        if object_type == "list":
            return self.opts.cards is None and self.list_passes(object_id)
        card = self.state.cards.get(object_id)
        if card is not None:
            return self.card_passes(card.id, card.short_link, card.list_id)
        info = self.h.cards.get(object_id) or CardInfo(object_id)
        return self.card_passes(object_id, info.short_link, info.list_id)


def lasting_others(
    ups: list[FieldUpdate], chosen: Collection[str], field: str, own: str | None
) -> list[FieldUpdate]:
    """The changes in ``ups`` (the field's changes from the first selected one on) that are not
    selected, less each run of consecutive ones by ``own`` (the token's member) that ends on
    the value it began from: this tool's own apply and then its undo, made with that member's
    token (or the user's own edit undone), leave no later work to clobber, also when someone
    else's changes follow (R31c: they were listed as that colleague's). Anyone else's run
    counts, even one that puts the field back: a colleague who unarchived a card and archived
    it again decided it stays archived, and the tool cannot tell that from an accident (R31a)."""
    out: list[FieldUpdate] = []
    run: list[FieldUpdate] = []
    for u in [*ups, None]:
        if u is not None and u.id not in chosen and (not run or run[-1].by == u.by):
            run.append(u)
            continue
        if run and not (run[0].by == own and same_value(field, run[0].old, run[-1].new)):
            out += run
        run = [u] if u is not None and u.id not in chosen else []
    return out


def _each_change_once(selected: list[FieldUpdate]) -> tuple[str, ...]:
    """A planned change's evidence: each selected change's action, a move across boards by
    the record of the board it left alone (R48c: a round trip read "(4 changes)")."""
    twice = arrivals(selected)
    return tuple(u.id for u in selected if u.id not in twice)


def _change_key(c: ValueChange) -> tuple[object, ...]:
    return (
        _ACTION_RANK.get(c.action, 2),
        c.board_name,
        c.board_id,
        c.list_name,
        c.list_id,
        c.card_name,
        c.card_id,
        c.field,
    )


def card_value(card: CardState, field: str) -> FieldValue:
    """A card's current value of a field, by Trello's name for it (``idList``, ``dueComplete``…)."""
    value: FieldValue = getattr(card, _CARD_ATTR[field])
    return value
