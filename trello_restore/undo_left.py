"""What a journal leaves to undo, read from its records alone (no request): which changes this
tool made that no undo has settled (``undoable``), what an earlier undo settled
(``undone_earlier``), how many an undo looks at (``undo_count``), the board memberships an undo
without ``include_board_memberships`` leaves (``grants_left``) and what to say when there is
nothing to undo or grants stay. ``undo.py`` runs the undo these decide.

The journal is read in order, per change id: an apply ``applied`` makes the change undoable; an
undo ``undone``, ``not_on_card`` or ``already_satisfied`` (a value found back already) settles
it, until the plan is applied again after the undo (into the same journal: its ``applied``
makes the change undoable again); an undo ``failed`` leaves it undoable, and so does an undo
``not_applied`` (a removal Ctrl-C stopped before it was sent), neither *resumed* (a ``pending``
before it was answered); an undo ``pending`` (or ``failed`` after an attempt that may have gone
through: ``uncertain``) leaves it undoable and marks it *resumed*: the member found gone, or a
"member is not on the card" answer, then means this tool's own earlier removal went through
(``undone``).
"""

from __future__ import annotations

from collections.abc import Collection, Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path

from trello_restore.errors import InputFileError
from trello_restore.journal import UNDO_SETTLED, Journal, JournalRecord, unresolved
from trello_restore.kinds import kind_of

__all__ = [
    "Undoable",
    "grants_kept_text",
    "grants_left",
    "in_scope",
    "nothing_to_undo",
    "running_writes",
    "undo_among",
    "undo_count",
    "undoable",
    "undone_earlier",
]


@dataclass(frozen=True)
class Undoable:
    """A change this tool made that undo may reverse."""

    #: The journal record of the apply that made it.
    record: JournalRecord
    #: An earlier undo of it was sent (``pending``) and its answer never journaled.
    resumed: bool = False


def undoable(records: Iterable[JournalRecord]) -> list[Undoable]:
    """The changes a journal says this tool made and no undo has settled, in journal order.

    The plan applied again after an undo appends to the same journal: its ``applied`` makes
    the change undoable again. Its other outcomes (``drifted``, ``failed``, …) leave an
    earlier ``applied`` that no undo settled standing (that write is still this tool's), and
    only ``not_applied`` (an open write found not to have taken effect, nor the earlier one)
    ends it."""
    state: dict[str, Undoable | None] = {}
    for r in records:
        current = state.get(r.change_id)
        if r.op == "apply":
            if r.status == "applied":
                state[r.change_id] = Undoable(r)
            elif r.status == "not_applied" or current is None:
                state[r.change_id] = None
        elif current is not None:
            if r.open:
                state[r.change_id] = Undoable(current.record, resumed=True)
            elif r.status in UNDO_SETTLED:
                state[r.change_id] = None
            elif r.status in ("not_applied", "failed"):
                # Stopped by Ctrl-C unsent, or refused for certain: no removal of this tool's
                # may have gone through since (the last one sent was answered), so a member
                # found gone next time is someone else's doing (R37a).
                state[r.change_id] = Undoable(current.record)
    return [u for u in state.values() if u is not None]


def undone_earlier(
    records: Iterable[JournalRecord], under_way: Collection[str] = ()
) -> list[JournalRecord]:
    """What an earlier undo of this journal settled, for the summary of an undo that finds some
    left: the latest undo record of each change when it settled it (``UNDO_SETTLED``: undone,
    found back already, found gone), in journal order. A change the plan applied again since
    (or may have: a write whose answer is not known, ``JournalRecord.open``) is not among them
    (the next undo counts it once, as its own); one the apply again found done or left alone
    (already satisfied by someone's hand, drifted, blocked) is (R75b: four such were counted
    nowhere). Nor is one an apply running beside a dry run has under way since ``records``
    were read (``under_way``, ``ApplyReport.under_way``: counted as under way, R28a). Its
    status and action say how the summary counts it."""
    last: dict[str, JournalRecord] = {}
    for r in records:
        if r.op == "undo":
            last[r.change_id] = r
        elif r.status == "applied" or r.open:
            last.pop(r.change_id, None)
    return [r for r in last.values() if r.status in UNDO_SETTLED and r.change_id not in under_way]


def nothing_to_undo(records: Sequence[JournalRecord]) -> str:
    """What to say when an undo of these records has nothing to do (``undo_count`` is 0): the
    apply made no change, every change it made was undone already, or what is left is board
    memberships (``grants_left``: interrupted grants too), which are undone only with
    ``--include-board-memberships``."""
    made = {r.change_id for r in records if r.op == "apply" and r.status == "applied"}
    left, interrupted = grants_left(records)
    if not made and not left:
        return "Nothing to undo: the journal records no change this tool made."
    if left:
        rest = (
            "every other change it made was undone already"
            if len(made) > left - interrupted
            else "it made no other change"
        )
        return (
            f"Nothing to undo without --include-board-memberships: {left} board "
            f"membership{'s' if left != 1 else ''} this tool granted "
            f"{'are' if left != 1 else 'is'} left{_interrupted(left, interrupted)}, and {rest}."
        )
    from trello_restore.report_outcomes import earlier_undo_text

    settled = undone_earlier(records)
    if len(settled) == len(made):  # each by an earlier undo: say how, as its summary did
        return f"Nothing to undo: {earlier_undo_text(settled)}"
    return f"Nothing to undo: every change this journal applied ({len(made)}) is settled already."


def grants_left(records: Sequence[JournalRecord]) -> tuple[int, int]:
    """The board memberships the journal's apply granted (or may have) that no undo has
    settled: what an undo without ``include_board_memberships`` leaves, and of those how many
    are interrupted grants (``journal.unresolved``: sent, answer never journaled), which may
    have taken effect."""
    made = {u.record.change_id: u.record for u in undoable(records)}
    open_ = unresolved(records)
    grants = {c for c, r in (made | open_).items() if not kind_of(r.action).undone_by_default}
    return len(grants), len(grants - made.keys())


def _interrupted(left: int, interrupted: int) -> str:
    """What ``grants_left``'s counts say of interrupted grants, after the count ("" if none)."""
    if not interrupted:
        return ""
    if interrupted == left:
        which = "it is" if left == 1 else "they are"
    else:
        which = f"{interrupted} of them {'is' if interrupted == 1 else 'are'}"
    grants = "an interrupted grant" if interrupted == 1 else "interrupted grants"
    return f" ({which} {grants} that may have taken effect)"


def grants_kept_text(records: Sequence[JournalRecord]) -> str | None:
    """The line an undo without ``include_board_memberships`` says after its summary when it
    leaves board memberships the apply granted (``grants_left``); None when it leaves none."""
    left, interrupted = grants_left(records)
    if not left:
        return None
    many = left != 1
    return (
        f"{left} board membership{'s' if many else ''} this apply granted "
        f"stay{'' if many else 's'}{_interrupted(left, interrupted)}; undo "
        f"--include-board-memberships removes {'them' if many else 'it'}."
    )


def in_scope(action: str, include_board_memberships: bool) -> bool:
    """Whether an undo looks at a change of ``action``: the kinds undone by default (card
    members, values), and board memberships only with ``include_board_memberships``."""
    return include_board_memberships or kind_of(action).undone_by_default


def undo_count(records: Sequence[JournalRecord], include_board_memberships: bool) -> int:
    """How many changes an undo of these records looks at: the card members this tool added
    (and, with ``include_board_memberships``, the board memberships it granted) that no undo
    has settled, and the apply's open records, which may be either."""
    todo = {u.record.change_id: u.record for u in undoable(records)} | unresolved(records)
    return sum(1 for r in todo.values() if in_scope(r.action, include_board_memberships))


def running_writes(
    read: Sequence[JournalRecord], now: Sequence[JournalRecord]
) -> list[JournalRecord]:
    """The writes of an apply or undo running now that a dry run of an undo beside it leaves
    out: its open records in the journal as the dry run read it (``read``: an apply's
    ``journal.unresolved``, an undo's ``pending`` or uncertain ``failed``) and the records it
    journaled since (``now``, the journal read again after the boards: the changes the boards
    may show already), the latest of each change, in journal order. ``now`` not extending
    ``read`` (the file replaced meanwhile) adds nothing."""
    since = now[len(read) :] if list(now[: len(read)]) == list(read) else []
    out = dict(unresolved(read))
    latest_undo = {r.change_id: r for r in read if r.op == "undo"}
    for cid, r in latest_undo.items():
        if r.open:
            out[cid] = r
    for r in since:
        if r.op in ("apply", "undo"):
            out[r.change_id] = r
    return list(out.values())


def undo_among(path: Path) -> bool:
    """Whether the journal at ``path`` holds an undo's record (one running now, or run): what
    to tell a run that met its lock or an error before writing (R47c). False when it cannot
    be read (another run is writing its first line: a torn line is no matter here)."""
    try:
        return any(r.op == "undo" for r in Journal.read(path, warn_torn=False).records)
    except InputFileError:
        return False
