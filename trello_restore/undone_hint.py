"""A plan that leaves out card members this tool's own undo took off says so (README "Known
limits": after a trial apply and ``undo``, the undo's removals are what a member plan sees).

An undo takes the members a trial apply added back off their cards, and Trello logs each as a
removal by the token's member. For a card member the latest removal is the one that counts, so
a filtered plan (``--cause move``, ``--removed-by MOVER``) skips those cards as ``filtered``,
and a one-step run records its last run past them: later ``--since last-run`` runs never see
them again. The plan is right to skip them (the removal it sees is nobody's damage), but the
user may not know the trial's changes are gone, or how to put them back.

So a plan's skipped removals by the token's member (``own_removals``, in ``run.make_plan``:
from the history the plan was made from; a plan from the plan memo read none, and is taken
from its action ids' dates, whoever made them) are matched against the undo records of this
tool's journals in the journal directory (``undo_others.Others``: same API URL and account,
only those whose text holds an undo of a card member are parsed; one read), as an apply
names an undo's removal (``touches.undid``: same card and member, within ``UNDO_SLACK`` of
the undo's write, and not put back by that journal since). When some match, one warning
(``undo_hint``) says how many, which journal's undo, what recording the run means, and the
command that plans exactly those removals again. No request; the planner stays pure.
"""

from __future__ import annotations

import shlex
from collections.abc import Callable, Iterable, Sequence
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import NamedTuple

from trello_restore.journal import JournalRecord
from trello_restore.kinds import BoardMembership, CardMember
from trello_restore.models import History, Plan, State, normal_name
from trello_restore.planner import chosen
from trello_restore.touches import undid
from trello_restore.undo_others import Others
from trello_restore.words import plural, when

#: The skip reasons under which a removal that is the latest on its card leaves it out.
_LEFT_OUT = ("filtered", "outside_window")


class OwnRemoval(NamedTuple):
    """A card member's latest removal, by the token's member, that a plan skipped."""

    card_id: str
    member_id: str
    #: Trello's date of the removal.
    date: datetime


def own_removals(
    plan: Plan, history: History | None, account_id: str, state: State
) -> tuple[OwnRemoval, ...]:
    """The removals ``plan`` skipped (``filtered``, ``outside_window`` at or after its
    ``until``: the latest removal on the card) that the token's member (``account_id``) made,
    from ``history``, the one the plan was made from; not those before its window, nor on
    cards its ``--card``/``--list`` leave out (``state``: the boards now; R32c). None (a plan
    from the memo, which read no history): each skipped removal, dated by its action id (its
    first 8 hex digits: seconds), whoever made it."""
    skipped = {s.action_id: s for s in plan.skipped if s.reason in _LEFT_OUT and s.action_id}
    if not skipped:
        return ()
    if history is None:
        out = [
            OwnRemoval(s.card_id, s.member.id, d)
            for a, s in skipped.items()
            if (d := _id_date(a)) is not None
        ]
    else:
        out = [
            OwnRemoval(a.card_id, a.member_id, a.date)
            for a in history.member_actions
            if a.by == account_id and a.kind == "remove" and not a.app and a.id in skipped
        ]
    # One before the window is an earlier window's, which the run that covered it said: every
    # later run (cron's, every 15 minutes) would say it again (R32a). (An action id's date is
    # its second, rounded down.)
    since = plan.options.since - (timedelta(seconds=1) if history is None else timedelta(0))
    picked = _picked(plan, state)
    return tuple(sorted(r for r in out if r.date >= since and picked(r.card_id)))


def _picked(plan: Plan, state: State) -> Callable[[str], bool]:
    """Whether the plan's ``--card``/``--list`` choose a card (by id; every one without them):
    a card they leave out is ``filtered`` too, and not by the undo."""
    o = plan.options
    if o.cards is None and o.lists is None:
        return lambda _: True
    lists = {normal_name(x) for x in o.lists} if o.lists is not None else None
    names = {lid: name for board in state.boards.values() for lid, name in board.lists.items()}

    def picked(card_id: str) -> bool:
        card = state.cards.get(card_id)
        return card is not None and chosen(card, lists, o.cards, names)

    return picked


def _id_date(action_id: str) -> datetime | None:
    try:
        return datetime.fromtimestamp(int(action_id[:8], 16), UTC)
    except ValueError:
        return None


def undo_hint(
    removals: Sequence[OwnRemoval],
    journal_dir: Path,
    *,
    api_url: str,
    account_id: str,
    username: str,
    skew: timedelta,
    cause: bool,
    applying: bool,
) -> str | None:
    """The warning for ``removals`` (``own_removals``) that an undo of one of the journals in
    ``journal_dir`` (of ``api_url`` and ``account_id``) made, or None when none did. ``skew``:
    how far Trello's clock is ahead of this machine's. ``cause``: the run has ``--cause``
    (the command says ``--cause any``). ``applying``: a run that applies (not a dry run)."""
    if not removals:
        return None
    others = Others(journal_dir / ".-", api_url, account_id)
    found: dict[Path, list[tuple[OwnRemoval, list[JournalRecord]]]] = {}
    boards: set[str] = set()
    grants = False
    wanted = {(r.card_id, r.member_id) for r in removals}
    for j in others.journals(f'"{CardMember.action}"', '"op": "undo"'):
        of: dict[tuple[str, str], list[JournalRecord]] = {}
        for rec in j.records:
            if rec.action == CardMember.action and (rec.card_id, rec.member_id) in wanted:
                of.setdefault((rec.card_id, rec.member_id), []).append(rec)
        for r in removals:
            records = of.get((r.card_id, r.member_id))
            if records and undid(r.date, records, skew):
                found.setdefault(j.path, []).append((r, records))
                boards.update(x.board_id for x in records)
                grants = grants or _undid_grant(j.records)
    if not found:
        return None
    matched = [r for items in found.values() for r, _ in items]
    # When: the first of the removals it left out that the journal's undo made (Trello's
    # date; R32c: the journal's first undo, which another apply may have put back since).
    parts = [
        f"{path} (undone {when(min(r.date for r, _ in items))})"
        for path, items in sorted(found.items())
    ]
    n = len({(r.card_id, r.member_id) for r in matched})
    cards = len({r.card_id for r in matched})
    since = min(r.date for r in matched).astimezone(UTC).replace(microsecond=0)
    words = ["trello-restore", *(w for b in sorted(boards) for w in ("--board", b))]
    words += ["--since", since.strftime("%Y-%m-%dT%H:%M:%SZ"), "--removed-by", username]
    words += ["--only-recorded", "--restore", "members"]
    words += ["--cause", "any"] if cause else []
    words += ["--add-to-board"] if grants else []
    recorded = (
        "this run is recorded as the last run on these boards once it succeeds"
        if applying
        else "a run that applies this plan is recorded as the last run on these boards"
    )
    return (
        f"{plural(n, 'card member')} on {plural(cards, 'card')} {'is' if n == 1 else 'are'} "
        f"left out of this plan: the latest removal of each is this tool's undo of journal "
        f"{' and of journal '.join(parts)}, by the token's member (@{username}), not the "
        f"damage this run looks for; {recorded}, and later --since last-run runs will not "
        f"see them; to put back what that undo took off, run: {shlex.join(words)} "
        "(add --dry-run to see its plan first)"
    )


def _undid_grant(records: Iterable[JournalRecord]) -> bool:
    """Whether the journal's undo removed a board membership its apply granted."""
    return any(
        r.action == BoardMembership.action and r.op == "undo" and r.status == "undone"
        for r in records
    )
