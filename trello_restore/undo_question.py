"""What ``undo JOURNAL`` says before it asks (design.md §5 "Undo"), as the one-step run shows its
plan before its question: which apply the journal reverses (its header's ``created_at``, the
boards by the names its records keep: ``report_outcomes.journal_labels``) and what the count it asks
about is made of, by kind (card members and, with ``--include-board-memberships``, board
memberships to remove, values to put back), with the board memberships other journals granted
that their undo kept for this journal's cards, which this undo removes with them
(``undo_others``): the count is what the undo will look at, those included.

Read from the journals on disk alone: nothing is asked of Trello before the question.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from trello_restore.journal import Journal, JournalRecord, unresolved
from trello_restore.journal_names import board_names
from trello_restore.kinds import in_order, kind_of
from trello_restore.kinds.values import ValueKind
from trello_restore.models import parse_date
from trello_restore.undo_left import undoable
from trello_restore.undo_others import Others, card_pairs, kept
from trello_restore.words import board_ref, plural, when

__all__ = ["UndoPreview", "made_of", "question_lines", "undo_preview", "which_apply"]

#: How many boards the lines name before ``and N more``.
BOARDS_SHOWN = 3


@dataclass(frozen=True)
class UndoPreview:
    """What an undo of a journal will look at, from the journals on disk."""

    #: The journal's ``created_at`` as the tool shows times (``words.when``), or as written
    #: when it does not parse.
    created_at: str
    #: The journal's boards in the order its records name them: id → the name a record
    #: keeps (a value kind's ``names``), else None.
    boards: dict[str, str | None]
    #: Kind (action) → how many of the journal's changes of that kind the undo looks at.
    counts: dict[str, int]
    #: Another journal (its path) → how many board memberships it granted that its undo
    #: kept for this journal's cards, which this undo removes with them.
    others: dict[str, int]

    @property
    def total(self) -> int:
        """The count the question asks about: every outcome the undo will report."""
        return sum(self.counts.values()) + sum(self.others.values())


def undo_preview(journal: Journal, include_board_memberships: bool) -> UndoPreview:
    """What an undo of ``journal`` will look at (``undo_left.undo_count``'s changes, by kind, and
    the grants of other journals ``undo_others.undo_kept`` looks at after them)."""
    records = journal.records
    todo = {u.record.change_id: u.record for u in undoable(records)} | unresolved(records)
    looked_at = [
        r for r in todo.values() if include_board_memberships or kind_of(r.action).undone_by_default
    ]
    counts: dict[str, int] = {}
    for r in looked_at:
        counts[r.action] = counts.get(r.action, 0) + 1
    pairs = card_pairs(looked_at, records)
    others = {str(j.path): len(kept(j.records, pairs)) for j in Others.of(journal).keeping(pairs)}
    shown = _shown(journal.header.created_at)
    again = _applied_again(records)
    if again is not None:  # R48c: the first apply's date alone read as an undo of the older run
        shown += f", applied again {_shown(again)},"
    return UndoPreview(shown, board_names(records), counts, others)


def _applied_again(records: Iterable[JournalRecord]) -> str | None:
    """When the plan was last applied again after an undo of it (the first apply record after
    an undo's), or None when it never was: what an undo has left is that apply's, also when a
    later undo of it was stopped part way (R49a)."""
    after_undo, again = False, None
    for r in records:
        if r.op == "undo":
            after_undo = True
        elif after_undo:
            after_undo, again = False, r.at
    return again


def _shown(created_at: str) -> str:
    try:
        return when(parse_date(created_at))
    except (ValueError, OverflowError):
        return created_at


def _listed(parts: list[str]) -> str:
    """``a``, ``a and b``, ``a, b and c``."""
    return ", ".join(parts[:-1]) + f" and {parts[-1]}" if len(parts) > 1 else "".join(parts)


def which_apply(p: UndoPreview) -> str:
    """``the apply of 2025-11-02 12:02:00 UTC on board "Team" (<id>)``: the journal's date and
    boards (``BOARDS_SHOWN`` of them, then how many more)."""
    shown = [board_ref(b, name) for b, name in list(p.boards.items())[:BOARDS_SHOWN]]
    more = len(p.boards) - len(shown)
    if more:
        shown.append(plural(more, "more board"))
    where = f" on board{'s' if len(p.boards) != 1 else ''} {_listed(shown)}" if shown else ""
    return f"the apply of {p.created_at}{where}"


def made_of(p: UndoPreview, *, why: bool = True) -> str:
    """What the count is made of: ``3 card members and 1 board membership to remove, 2 card
    moves to put back, and 2 board memberships journal J granted to remove`` (``why``: with
    why another journal's grants are removed here)."""
    remove: list[str] = []
    put_back: list[str] = []
    for kind in reversed(in_order()):  # in the order undo goes: card members first
        n = p.counts.get(kind.action, 0)
        if n:
            (put_back if isinstance(kind, ValueKind) else remove).append(plural(n, kind.noun))
    parts = [f"{_listed(remove)} to remove"] if remove else []
    if put_back:
        parts.append(f"{_listed(put_back)} to put back")
    for path, n in p.others.items():
        note = f" (its undo kept {'them' if n != 1 else 'it'} for this journal's cards)"
        parts.append(
            f"{plural(n, 'board membership')} journal {path} granted to remove{note if why else ''}"
        )
    return _listed(parts) if len(parts) < 3 else ", ".join(parts[:-1]) + f", and {parts[-1]}"


def question_lines(p: UndoPreview, *, quiet: bool) -> tuple[list[str], str]:
    """The lines said before undo's question (none with ``quiet``), and the question, which
    with ``quiet`` carries the essentials itself."""
    changes = plural(p.total, "change")
    if quiet:
        return [], f"Undo {changes} on Trello ({which_apply(p)}: {made_of(p, why=False)})?"
    which = which_apply(p)
    lines = [f"Journal of {which}.", f"To undo: {made_of(p)}."]
    return lines, f"Undo {changes} on Trello?"
