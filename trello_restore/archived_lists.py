"""Cards put back into a list that is archived now: an open card in an archived list is hidden,
and nothing else says so. One warning per such list, said by the plan (``plan_warnings``, from
the state it was made from: stderr and the plan file's warnings) and by the apply
(``apply_warnings``, from its live read, before anything is written).

The apply counts the cards it moves back or unarchives into the list (its kind's ``decide``
writes them; a dry run: would), and those an earlier run of the plan did (done earlier, or a
killed run's write found made), never a change that drifted or that someone else made. Its
reason fits the case: a list the plan's own warnings name was archived when the plan was made
(before its window, or left out by its filters); one they do not name was archived after it.
Pure: no I/O.
"""

from __future__ import annotations

from collections import ChainMap, Counter
from collections.abc import Collection, Iterable, Mapping, Set
from dataclasses import replace

from trello_restore.kinds import Context, kind_of
from trello_restore.live import LiveBoard
from trello_restore.models import CardState, Change, Plan, State, ValueChange, quote_name
from trello_restore.planfile import PlanMeta
from trello_restore.words import board_ref, member_name, plural, when

#: The change kinds that put a card back into a list, or unarchive a list.
_ACTIONS = frozenset({"move_card_to_list", "set_card_closed", "set_list_closed"})


def archived_targets(
    changes: Iterable[Change],
    lists_closed: Mapping[str, bool],
    cards: Mapping[str, CardState],
    *,
    restores_archived: bool = False,
    plan: PlanMeta | None = None,
    earlier: Set[str] = frozenset(),
    undo: bool = False,
) -> list[str]:
    """One warning per list archived now (``lists_closed``: list id → archived) that
    ``changes`` put open cards back into: a card moved back to it (``move_card_to_list``) or
    unarchived in it (``set_card_closed`` to open; the list ``cards``, id → card now, says it
    is in) and not archived by them. A list the changes themselves unarchive
    (``set_list_closed`` to open) is left out.

    The advice fits the case. At plan time (``plan`` None), and at apply for a list that
    ``plan``'s warnings name (archived when it was made): with ``restores_archived`` (its
    ``--restore`` has ``archived``) the list's archiving was left out of it, so the list is to
    be unarchived by hand; else its archiving can be restored too. At apply, a list they do
    not name was archived after the plan was made. ``earlier``: the ids of changes an earlier
    run made, counted apart. ``undo``: the changes are an undo's (``undo_warnings``)."""
    opened: set[str] = set()
    moved: dict[str, ValueChange] = {}
    closed_to: dict[str, ValueChange] = {}
    for c in changes:
        if isinstance(c, ValueChange):
            if c.action == "set_list_closed" and not c.value:
                opened.add(c.list_id)
            elif c.action == "move_card_to_list":
                moved[c.card_id] = c
            elif c.action == "set_card_closed":
                closed_to[c.card_id] = c
    hidden: dict[str, list[ValueChange]] = {}
    names: dict[str, str] = {}
    for card_id in sorted(moved.keys() | {k for k, c in closed_to.items() if not c.value}):
        change = moved.get(card_id) or closed_to[card_id]
        card = cards.get(card_id)
        if card_id in moved:
            list_id, name = str(change.value), change.value_name
        else:
            list_id = card.list_id if card is not None else change.list_id
            name = change.list_name if list_id == change.list_id else ""
        to = closed_to.get(card_id)
        archived = bool(to.value) if to is not None else card is not None and card.closed
        if lists_closed.get(list_id) and list_id not in opened and not archived:
            hidden.setdefault(list_id, []).append(change)
            names[list_id] = names.get(list_id) or name
    out: list[str] = []
    for list_id, group in sorted(hidden.items(), key=lambda x: (names[x[0]], x[0])):
        where = f"list {quote_name(names[list_id]) if names[list_id] else list_id}"
        board = group[0].board_name
        where += f" on board {quote_name(board) if board else group[0].board_id}"
        n = len(group)
        cards_text = "the card" if n == 1 else f"the {n} cards"
        by_earlier = sum(c.change_id in earlier for c in group)
        if by_earlier:
            them = "" if n == 1 else f"{by_earlier} of them " if by_earlier < n else "all "
            cards_text += f" moved back or unarchived into it ({them}by an earlier run of the plan)"
        else:
            cards_text += " moved back or unarchived into it"
        head = f"{where} is archived now: "
        out.append(
            f"{head}{cards_text} {'stays' if n == 1 else 'stay'} hidden until it is unarchived; "
            + (_undo_advice(n) if undo else _advice(head, n, restores_archived, plan))
        )
    return out


def _undo_advice(n: int) -> str:
    """An undo's advice: it puts cards back where they were before the apply, the list stays."""
    return f"unarchive it in Trello to show {'it' if n == 1 else 'them'}"


def _advice(head: str, n: int, restores_archived: bool, plan: PlanMeta | None) -> str:
    if plan is not None and not any(w.startswith(head) for w in plan.warnings):
        # The plan's state had it open (else its warnings would say so, as ``plan_warnings``).
        return (
            # The plan's date, said as such (R88e: read as the list's archiving's).
            f"it was archived since this plan was made at {when(plan.created_at)}: unarchive it "
            f"in Trello to show {'it' if n == 1 else 'them'}"
        )
    if restores_archived:
        return (
            "its archiving is not in this plan (before --since, or left out by the filters): "
            "unarchive it in Trello"
        )
    return (
        "unarchive it, or restore its archiving too (--restore archived, with a --by that "
        "covers who archived it)"
    )


def plan_warnings(plan: Plan, state: State) -> list[str]:
    """What a plan just made says of its changes, from the state it was made from:
    ``archived_targets``; one warning per closed board they are on (R47d: planned, applied and
    undone without a word, and whether Trello takes writes there is not known); and the
    members granted a board back they were on (``regranted``). Said again of the changes a
    one-step run keeps when it leaves some out (R48b: a run that made none warned of 133
    changes on a closed board; R49a: of 15 cards moved back into an archived list)."""
    lists = {i: c for b in state.boards.values() for i, c in b.list_closed.items()}
    restores = "archived" in plan.options.restore
    out = archived_targets(plan.changes, lists, state.cards, restores_archived=restores)
    closed = {b: s.name for b, s in state.boards.items() if s.closed}
    return out + _closed_lines(plan.changes, closed, "this plan") + regranted(plan)


def regranted(plan: Plan) -> list[str]:
    """One warning per board whose membership the plan grants to members who were on it when
    they were taken off its cards without a move (only a board member can be on a card), and
    are not now: they left it, or were taken off it, since (R47d: the grant line read as for
    members a move stripped, who never were; a deliberate removal was put back unsaid)."""
    grants = {
        (c.board_id, c.member.id): c for c in plan.changes if c.action == "add_member_to_board"
    }
    were: dict[str, list[Change]] = {}
    for c in plan.card_changes():
        e = c.evidence
        grant = grants.get((c.board_id, c.member.id))
        if grant is None or e is None or e.kind != "recorded_removal" or e.move_action_id:
            continue
        if grant not in were.setdefault(c.board_id, []):
            were[c.board_id].append(grant)
    out = []
    for board_id, gs in sorted(were.items()):
        who = ", ".join(member_name(g.member) for g in gs)
        one = len(gs) == 1
        out.append(
            f"{who} {'was' if one else 'were'} on board {board_ref(board_id, gs[0].board_name)} "
            f"when taken off cards there without a move, and {'is' if one else 'are'} not now "
            "(taken off the board, or left it, since): --add-to-board puts them back on it; "
            "leave it off, or narrow the plan (--removed-by, --card), if that was meant"
        )
    return out


def closed_now(
    changes: Iterable[Change],
    live: Mapping[str, LiveBoard],
    *,
    undo: bool = False,
    said: Collection[str] = (),
) -> list[str]:
    """The closed boards of an apply or an undo (``undo``), from its live read, for the changes
    it writes or would (R48c: a board closed after the plan was made was written unsaid); not
    for a board ``said`` (a one-shot run's plan warnings) already says is closed."""
    closed = {
        b: lb.name
        for b, lb in live.items()
        if lb.closed
        and not any(x.startswith(f"board {board_ref(b, lb.name)} is closed") for x in said)
    }
    return _closed_lines(changes, closed, "this undo" if undo else "this apply", now=True)


def _closed_lines(
    changes: Iterable[Change], closed: Mapping[str, str], whose: str, *, now: bool = False
) -> list[str]:
    advice = (
        "if Trello refuses them, reopen it in Trello and run this again"
        if now
        else "reopen it in Trello before applying, or leave its cards out (--list, --card)"
    )
    out = []
    for board_id, n in sorted(Counter(c.board_id for c in changes).items()):
        if board_id in closed:
            out.append(
                f"board {board_ref(board_id, closed[board_id])} is closed (archived)"
                f"{' now' if now else ''}: {plural(n, 'change')} of {whose} "
                f"{'is' if n == 1 else 'are'} on it, and whether Trello takes writes to a "
                f"closed board is not known; {advice}"
            )
    return out


def apply_warnings(
    plan: Plan,
    meta: PlanMeta,
    todo: Iterable[Change],
    done: Iterable[Change],
    live: Mapping[str, LiveBoard],
    resumed: Set[str],
) -> list[str]:
    """``archived_targets`` of an apply, from its live read (``live``), for the changes it
    makes or would make (``todo``: its kind's ``decide`` writes it) and those an earlier run of
    the plan made (``done``, or ``resumed``: found made); a change that drifted, or whose
    target someone else already reached, is not counted. ``meta``: the plan's file, whose
    warnings name the lists it found archived."""
    closed = {i: c for lb in live.values() for i, c in (lb.lists or {}).items()}
    cards = ChainMap(*(lb.cards for lb in live.values() if lb.cards is not None))
    made: list[Change] = []
    earlier: set[str] = set()
    done = list(done)
    done_ids = {c.change_id for c in done}
    for c in (*todo, *done):
        board = live.get(c.board_id)
        if c.action not in _ACTIONS or board is None:
            continue
        again = c.change_id in resumed or c.change_id in done_ids
        decision = kind_of(c.action).decide(c, board, Context(resumed=again))
        if decision is None:
            made.append(c)
        elif decision[0] == "applied":
            made.append(c)
            earlier.add(c.change_id)
    return archived_targets(
        made,
        closed,
        cards,
        restores_archived="archived" in plan.options.restore,
        plan=meta,
        earlier=earlier,
    )


def undo_warnings(
    changes: Iterable[tuple[Change, bool]], live: Mapping[str, LiveBoard]
) -> list[str]:
    """``archived_targets`` of an undo, from its live read (``live``: the lists of the boards
    of its card moves, with their archive state), for the changes it reverts or would (``changes``:
    each with whether an earlier undo of it was interrupted; its kind's ``decide_undo`` writes
    it): a card moved back into the list it was in before the apply, or unarchived again, where
    that list is archived now (someone archived it after the apply). Said once per list, before
    anything is written, as the apply says it."""
    closed = {i: c for lb in live.values() for i, c in (lb.lists or {}).items()}
    cards = ChainMap(*(lb.cards for lb in live.values() if lb.cards is not None))
    back: list[Change] = []
    for c, resumed in changes:
        board = live.get(c.board_id)
        if c.action not in _ACTIONS or board is None or not isinstance(c, ValueChange):
            continue
        if kind_of(c.action).decide_undo(c, board, resumed=resumed) is None:
            # What the undo writes: the value the apply found, back (a card: into its list).
            back.append(
                replace(
                    c,
                    value=c.expected,
                    expected=c.value,
                    value_name=c.list_name,
                    board_name=c.board_name or board.name,
                )
            )
    return archived_targets(back, closed, cards, undo=True)
