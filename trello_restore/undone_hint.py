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
commands that plan exactly those removals again and apply that plan. No request; the planner
stays pure.

The other way round (R33b): with ``--removed-by`` the token's member, a plan *adds back* the
members the undo took off (``own_readds``), and a cron run after an ``undo`` put back all of
it. A run without a plan file never does: ``leave_out_undone`` leaves them out of a run that
applies, saying so; a dry run keeps them and says its plan file's ``apply`` adds them back.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from pathlib import Path
from types import MappingProxyType
from typing import NamedTuple

from trello_restore.journal import JournalRecord
from trello_restore.kinds import BoardMembership, CardMember
from trello_restore.models import (
    Change,
    History,
    Plan,
    PlanOptions,
    Skipped,
    State,
    id_second,
    normal_name,
)
from trello_restore.planner import SKIPPED_ORDER, chosen
from trello_restore.touches import undid
from trello_restore.undo_others import Others
from trello_restore.words import at_name, plural, shell_join, when

#: The skip reasons under which a removal that is the latest on its card leaves it out.
_LEFT_OUT = ("filtered", "outside_window")


class OwnRemoval(NamedTuple):
    """A card member's latest removal, by the token's member, that a plan skipped (or adds
    back: ``own_readds``)."""

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
            if (d := id_second(a)) is not None
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


class Journals(NamedTuple):
    """Where a run looks for this tool's undos, and what it needs to match them: the journal
    directory, the API URL and account of the journals, the account's username (for the
    command that puts back), how far Trello's clock is ahead of this machine's, and whether
    the run applies (not a dry run); and when each card member was removed (Trello's dates,
    ``removal_dates``), which tells a removal after an undo's from the undo's own."""

    journal_dir: Path
    api_url: str
    account_id: str
    username: str
    skew: timedelta
    applying: bool
    removed: Mapping[tuple[str, str], tuple[datetime, ...]] = MappingProxyType({})

    def others(self) -> Others:
        """The journals of the directory, of this API URL and account, read when first asked
        for; one that cannot be read, or a directory that cannot be looked into, is among its
        ``unreadable`` (the guards say it, failing closed), not warned of."""
        return Others(self.journal_dir / ".-", self.api_url, self.account_id, warn_unlisted=False)


class Undo(NamedTuple):
    """What an undo of this tool took off, among some removals (``_undone``)."""

    #: The journal whose undo made each of them, with the removals it made.
    by_journal: dict[Path, list[OwnRemoval]]
    #: The boards of those undo records.
    boards: frozenset[str]
    #: Whether such an undo also removed a board membership its apply granted.
    grants: bool
    #: The journals that may hold an undo but cannot be read, with why (``Others``).
    unread: dict[Path, str]

    def removals(self) -> list[OwnRemoval]:
        return [r for items in self.by_journal.values() for r in items]

    def journals(self) -> str:
        """Each journal, with when its undo made the first of these (Trello's date; R32c: not
        the journal's first undo, which another apply may have put back since)."""
        return " and of journal ".join(
            f"{path} (undone {when(min(r.date for r in items))})"
            for path, items in sorted(self.by_journal.items())
        )

    def counted(self) -> str:
        """``N card members on M cards``."""
        return _counted({(r.card_id, r.member_id) for r in self.removals()})

    def command(self, username: str, options: PlanOptions) -> str:
        """The two commands that plan exactly these removals and apply that plan: a plan file's
        apply adds them back, where a one-step run never does (``leave_out_undone``)."""
        return _command(self.removals(), self.boards, self.grants, username, options)


def _command(
    removals: Sequence[OwnRemoval],
    boards: Iterable[str],
    grants: bool,
    username: str,
    options: PlanOptions,
) -> str:
    """The two commands that plan exactly ``removals`` (on ``boards``; ``grants``: with
    ``--add-to-board``) and apply that plan: the token's member's recorded removals from the
    first of them to a second after the last (R34d: without ``--until``, a member they took
    off another card by hand since was put back too; a second: a date from an action id is
    to the second), in the run's own ``--list``/``--card`` selection (``options``: the run's,
    whose ``--cause`` the command says ``any`` to)."""
    since = min(r.date for r in removals).astimezone(UTC).replace(microsecond=0)
    until = max(r.date for r in removals).astimezone(UTC).replace(microsecond=0)
    words = ["trello-restore", *(w for b in sorted(boards) for w in ("--board", b))]
    words += ["--since", since.strftime("%Y-%m-%dT%H:%M:%SZ")]
    words += ["--until", (until + timedelta(seconds=1)).strftime("%Y-%m-%dT%H:%M:%SZ")]
    words += ["--removed-by", username, "--only-recorded", "--restore", "members"]
    words += ["--cause", "any"] if options.cause is not None else []
    words += [w for x in sorted(options.lists or ()) for w in ("--list", x)]
    words += [w for x in sorted(options.cards or ()) for w in ("--card", x)]
    words += ["--add-to-board"] if grants else []
    words += ["--dry-run", "--plan-out", UNDONE_PLAN]
    return f"{shell_join(words)}, then trello-restore apply {UNDONE_PLAN}"


#: The plan file the command that puts an undo's removals back writes and applies.
UNDONE_PLAN = "undone.json"


def _undone(removals: Sequence[OwnRemoval], at: Journals) -> Undo | None:
    """Which of ``removals`` an undo of one of the journals ``at`` made (``touches.undid``),
    and the journals that may hold one but cannot be read; None when neither."""
    if not removals:
        return None
    others = at.others()
    found: dict[Path, list[OwnRemoval]] = {}
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
            earlier = at.removed.get((r.card_id, r.member_id), ())
            if records and undid(r.date, records, at.skew, earlier):
                found.setdefault(j.path, []).append(r)
                boards.update(x.board_id for x in records)
                grants = grants or _undid_grant(j.records)
    undo = Undo(found, frozenset(boards), grants, others.unreadable)
    return undo if found or others.unreadable else None


def undo_hint(removals: Sequence[OwnRemoval], at: Journals, options: PlanOptions) -> str | None:
    """The warning for ``removals`` (``own_removals``) that an undo of one of the journals
    ``at`` made, or None when none did. ``options``: the run's (its ``--cause``, which the
    command says ``any`` to, its ``--list``/``--card``)."""
    undo = _undone(removals, at)
    if undo is None or not undo.by_journal:
        return None
    n = len({(r.card_id, r.member_id) for r in undo.removals()})
    recorded = (
        "this run is recorded as the last run on these boards once it succeeds"
        if at.applying
        else "a run that applies this plan is recorded as the last run on these boards"
    )
    return (
        f"{undo.counted()} {'is' if n == 1 else 'are'} left out of this plan: the latest "
        f"removal of each is this tool's undo of journal {undo.journals()}, by the token's "
        f"member ({at_name(at.username)}), not the damage this run looks for; {recorded}, and "
        "later --since last-run runs will not see them; to put back what that undo took off, plan "
        f"it and apply the plan: {undo.command(at.username, options)}"
    )


def removal_dates(history: History | None) -> dict[tuple[str, str], tuple[datetime, ...]]:
    """(card, member) → the dates of that card member's removals in ``history``, in order,
    for those removed more than once (``touches.undid``: only the first after an undo's write
    can be that write's); none without a history (a plan from the memo)."""
    dates: dict[tuple[str, str], list[datetime]] = {}
    for a in history.member_actions if history is not None else ():
        if a.kind == "remove":
            dates.setdefault((a.card_id, a.member_id), []).append(a.date)
    return {k: tuple(sorted(v)) for k, v in dates.items() if len(v) > 1}


def own_readds(plan: Plan, account_id: str) -> tuple[OwnRemoval, ...]:
    """The card members ``plan`` adds back (or would, blocked) whose removal, its evidence, the
    token's member (``account_id``) made, not an app: this tool's undo's, perhaps."""
    return tuple(
        sorted(
            OwnRemoval(c.card_id, c.member.id, e.date)
            for c in (*plan.card_changes(), *(b.change for b in plan.blocked))
            if (e := c.evidence) is not None
            and e.kind == "recorded_removal"
            and e.by.id == account_id
            and not e.app
        )
    )


def leave_out_undone(plan: Plan, at: Journals) -> tuple[Plan, str | None, str | None]:
    """A one-step run never adds back a card member this tool's undo took off (R33b: with
    ``--removed-by`` the token's member, each cron run after an ``undo`` put back everything
    it took off, without a word): the card members ``plan`` adds back (``own_readds``) whose
    removal an undo of one of the journals ``at`` made are left out of a run that applies
    (``filtered``, with the board grants only they needed), with one warning that says so and
    how to put them back (plan them and apply the plan file: the reviewed plan's apply adds
    them). Where a journal that may hold such an undo cannot be read (damaged, a newer
    version's, unreadable), every one of them is left out, as it may be (R33c), and the run
    is not recorded as the last run (the third value says why: R39c, a journals directory
    this user cannot read gave up a whole incident for good). A dry run keeps them and says
    what a run that applies does. ``plan`` unchanged and None, None when there are none."""
    own = own_readds(plan, at.account_id)
    undo = _undone(own, at)
    if undo is None:
        return plan, None, None
    by = f"by the token's member ({at_name(at.username)})"
    if undo.unread:
        left_out = list(own)
        mine = {(r.card_id, r.member_id) for r in own}
        adds = (*plan.card_changes(), *(b.change for b in plan.blocked))
        boards = {c.board_id for c in adds if (c.card_id, c.member.id) in mine}
        cannot = "; ".join(undo.unread.values())
        said = (
            f"the latest removal of each is {by}, and a journal that may hold this tool's undo "
            f"of them cannot be read ({cannot})"
        )
        command = _command(left_out, boards, plan.options.add_to_board, at.username, plan.options)
        unread: str | None = cannot
    else:
        left_out = undo.removals()
        said = f"the latest removal of each is this tool's undo of journal {undo.journals()}, {by}"
        command = undo.command(at.username, plan.options)
        unread = None
    pairs = {(r.card_id, r.member_id) for r in left_out}
    counted = _counted(pairs)
    if not at.applying:
        # R47c: "adds back 147", of which 88 were blocked (not written)
        blocked = len(pairs & {(b.change.card_id, b.change.member.id) for b in plan.blocked})
        counted += f" ({blocked} of them blocked)" if blocked else ""
        return (
            plan,
            f"this plan adds back {counted}: {said}; a plan file of it (--plan-out) adds them "
            "back with `apply`, a run that applies without a plan file (the one-step form) "
            "leaves them out",
            None,
        )

    def undone(c: Change) -> bool:
        return c.action == CardMember.action and (c.card_id, c.member.id) in pairs

    left = [c for c in (*plan.changes, *(b.change for b in plan.blocked)) if undone(c)]
    kept = [c for c in plan.changes if not undone(c)]
    needed = {(c.board_id, c.member.id) for c in kept if c.action == CardMember.action}
    grants = BoardMembership.action
    plan = replace(
        plan,
        changes=tuple(c for c in kept if c.action != grants or (c.board_id, c.member.id) in needed),
        blocked=tuple(b for b in plan.blocked if not undone(b.change)),
        skipped=tuple(
            sorted(
                (
                    *plan.skipped,
                    *(
                        Skipped(c.card_id, c.card_name, c.member, "filtered", _evidence_id(c))
                        for c in left
                    ),
                ),
                key=SKIPPED_ORDER,
            )
        ),
    )
    return (
        plan,
        f"{counted} {'is' if len(pairs) == 1 else 'are'} left out of this run: {said}, and a "
        "run without a plan file never adds back what this tool's undo took off; "
        f"{recorded_words(unread)}; to put them back, plan them and apply the plan: {command}",
        unread,
    )


def recorded_words(unread: str | None) -> str:
    """What a one-step run that left out changes this tool's undo may have undone does about
    the last run: not record it while a journal that may say cannot be read (``unread``)."""
    if unread is not None:
        return (
            "this run is not recorded as the last run on these boards, so the next --since "
            "last-run run, once that journal can be read, covers this window again"
        )
    return (  # R50a: a run not recorded for another reason said so beside "is recorded"
        "when this run is recorded as the last run on these boards (once it succeeds), later "
        "--since last-run runs will not see them"
    )


def _counted(pairs: set[tuple[str, str]]) -> str:
    """``N card members on M cards``."""
    cards = len({card for card, _ in pairs})
    return f"{plural(len(pairs), 'card member')} on {plural(cards, 'card')}"


def _evidence_id(c: Change) -> str | None:
    return c.evidence.action_id if c.evidence is not None else None


def _undid_grant(records: Iterable[JournalRecord]) -> bool:
    """Whether the journal's undo removed a board membership its apply granted."""
    return any(
        r.action == BoardMembership.action and r.op == "undo" and r.status == "undone"
        for r in records
    )
