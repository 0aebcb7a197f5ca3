"""Reverse an apply (design.md §5 "Undo"): remove exactly what the journal says this tool added.

Only changes whose journal outcome is ``applied`` are reversed (``already_satisfied`` was
someone else's doing), and only where the member is still there by one fresh listing per board:
a member someone removed in between is ``not_on_card``, with no request. Card members go first;
board memberships the plan granted only with ``include_board_memberships`` (removing a board
member also takes them off the board's cards). Everything is journaled in the same journal with
``op="undo"`` (``pending`` before each write, then ``undone``, ``not_on_card`` or ``failed``),
so an undo resumes like an apply, and undoing twice changes nothing the second time.

The journal is read in order, per change id: an apply ``applied`` makes the change undoable; an
undo ``undone`` or ``not_on_card`` (or a later apply that found the member there already)
settles it; an undo ``failed`` leaves it undoable; an undo ``pending`` (or ``failed`` after an
attempt that may have gone through: ``uncertain``) leaves it undoable and marks it *resumed*:
the member found gone, or a "member is not on the card" answer, then means this tool's own
earlier removal went through (``undone``).
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Iterable
from dataclasses import dataclass

from trello_restore.api import MemberStandIn, TrelloApi
from trello_restore.applier import (
    ApplyOptions,
    ApplyReport,
    ChangeOutcome,
    Item,
    LiveBoard,
    Runner,
    WriteRule,
    apply_lock,
    lock_names,
    read_live,
)
from trello_restore.errors import UsageError
from trello_restore.journal import Journal, JournalRecord

__all__ = ["Undoable", "decide_undo", "undo_journal", "undoable"]

#: Trello's answer to removing a member who is not on the card (notes §3.1).
NOT_ON_CARD = "member is not on the card"
#: The sandbox's answer to removing a member who is not on the board (Trello's: unconfirmed).
NOT_ON_BOARD = "member is not on the board"
#: Outcome a dry run reports for a member it would remove.
WOULD_UNDO = "would_undo"


@dataclass(frozen=True)
class Undoable:
    """A change this tool made that undo may reverse."""

    #: The journal record of the apply that made it.
    record: JournalRecord
    #: An earlier undo of it was sent (``pending``) and its answer never journaled.
    resumed: bool = False


def undoable(records: Iterable[JournalRecord]) -> list[Undoable]:
    """The changes a journal says this tool made and no undo has settled, in journal order."""
    state: dict[str, Undoable | None] = {}
    for r in records:
        current = state.get(r.change_id)
        if r.op == "apply":
            if r.status == "applied":
                state[r.change_id] = Undoable(r)
            elif r.status != "pending":
                state[r.change_id] = None
        elif current is not None:
            if r.status == "pending" or (r.status == "failed" and r.uncertain):
                state[r.change_id] = Undoable(current.record, resumed=True)
            elif r.status in ("undone", "not_on_card"):
                state[r.change_id] = None
    return [u for u in state.values() if u is not None]


def decide_undo(item: Item, live: LiveBoard, *, resumed: bool) -> tuple[str, str] | None:
    """Remove the member? Only where they are still on the card (or board): otherwise
    ``not_on_card`` (``undone`` when ``resumed``: this tool's own earlier removal took them
    off), with the reason."""
    gone = ("undone", "") if resumed else None
    if live.cards is None:
        return gone or ("not_on_card", live.error)
    if item.action == "add_member_to_board":
        if item.member.id in live.memberships:
            return None
        return gone or ("not_on_card", "the member is no longer on the board")
    card = live.cards.get(item.card_id)
    if card is None or card.board_id != item.board_id:
        return "not_on_card", "the card was deleted or moved to another board"
    if item.member.id in card.member_ids:
        return None
    return gone or ("not_on_card", "")


def _check_target(journal: Journal, api: TrelloApi) -> None:
    header = journal.header
    if header.api_url.rstrip("/") != api.settings.api_url.rstrip("/"):
        raise UsageError(
            f"{journal.path} records changes made at {header.api_url}, not "
            f"{api.settings.api_url}; pass --api-url (or TRELLO_API_URL) for the API it was "
            "applied to"
        )
    if str(api.me()["id"]) != header.account_id:
        raise UsageError(
            f"{journal.path} records changes made by another Trello account; use the token of "
            "the account that applied the plan"
        )


def undo_journal(
    journal: Journal,
    api: TrelloApi,
    options: ApplyOptions,
    *,
    include_board_memberships: bool = False,
    progress: Callable[[ChangeOutcome], None] | None = None,
) -> ApplyReport:
    """Remove the card members (and, with ``include_board_memberships``, the board
    memberships) that ``journal`` says this tool added, where they still are; journal it in the
    same file (opened for appending, except on a dry run, which writes nothing).

    Takes the same locks as applying the journal's plan. Raises ``UsageError`` for a journal of
    another API URL or account, ``LockHeld``, and ``ApiError`` like ``apply_plan``."""
    _check_target(journal, api)
    todo = [
        u
        for u in undoable(journal.records)
        if include_board_memberships or u.record.action != "add_member_to_board"
    ]
    items = {u.record.change_id: (_item(u.record), u.resumed) for u in todo}
    # Card members first: removing a board membership takes the member off the cards too.
    order = sorted(items, key=lambda cid: items[cid][0].action == "add_member_to_board")
    boards = {item.board_id for item, _ in items.values()}
    with (
        apply_lock(lock_names(journal.header.plan_digest, boards))
        if not options.dry_run
        else contextlib.nullcontext(),
        Runner(api, journal, options, "undo", progress) as run,
    ):
        live = read_live(api, boards) if items else {}
        for phase in ("add_member_to_card", "add_member_to_board"):
            jobs: list[tuple[Item, Callable[[], object], WriteRule]] = []
            for cid in order:
                item, resumed = items[cid]
                if item.action != phase:
                    continue
                decision = decide_undo(item, live[item.board_id], resumed=resumed)
                if decision is not None:
                    run.settle(item, *decision)
                elif options.dry_run:
                    run.settle(item, WOULD_UNDO)
                else:
                    jobs.append((item, _removal(api, item), _rule(item, resumed)))
            run.run_writes(jobs)
        return run.report(order)


def _item(r: JournalRecord) -> Item:
    return Item(r.change_id, r.action, r.board_id, r.card_id, MemberStandIn(r.member_id))


def _rule(item: Item, resumed: bool) -> WriteRule:
    benign = NOT_ON_BOARD if item.action == "add_member_to_board" else NOT_ON_CARD
    return WriteRule(
        "undone", benign=benign, benign_ours="undone", benign_other="not_on_card", resumed=resumed
    )


def _removal(api: TrelloApi, item: Item) -> Callable[[], object]:
    if item.action == "add_member_to_board":
        return lambda: api.remove_board_member(item.board_id, item.member)
    return lambda: api.remove_card_member(item.card_id, item.member)
