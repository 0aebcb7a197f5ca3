"""Reverse an apply (design.md §5 "Undo"): remove exactly what the journal says this tool added.

Only changes whose journal outcome is ``applied`` are reversed (``already_satisfied`` was
someone else's doing), and only where the member is still there by one fresh listing per board:
a member someone removed in between is ``not_on_card``, with no request. A card the listing
lacks is read by id (``live.locate_cards``): moved to another board with the member, it is
``drifted`` (never removed there); deleted, or moved without them, ``not_on_card``.
A member (or value) someone put back by hand after the apply is as the tool left it, so live
state cannot tell it from the tool's: the boards' actions since the apply say who set it last
(``touches.undo_touches``: one read per board with something left to remove), and one that is
not this tool's own write is ``drifted``, left in place (``kinds.touched.put_back``).
Card members go first;
board memberships the plan granted only with ``include_board_memberships``, and only where
that takes no more than the grant gave (``kinds.members.undo_grant``: removing a board member
also takes them off the board's cards; one kept for the cards another journal of this tool
added them to is removed by that journal's undo: ``undo_others``). Everything is journaled in
the same journal with
``op="undo"`` (``pending`` before each write, then ``undone``, ``not_on_card`` or ``failed``),
so an undo resumes like an apply, and undoing twice changes nothing the second time.

Which changes the journal leaves to undo, read from its records (an apply's ``applied`` not
settled by an undo since, *resumed* when an earlier undo's removal was sent and its answer never
journaled), is ``undo_left.py``'s.

An apply killed between sending a write and journaling its answer leaves a ``pending`` record (or
a ``failed`` one whose attempt may have gone through): ``journal.unresolved``. Undo resolves each
from the same live read first (``resolve``), and journals the finding as an ``apply`` record: a
member on the card (an active member of the board) now is this tool's, ``applied``, and is
removed like any other; a member absent now means the write never took effect, ``not_applied``,
nothing to undo. "Now" is once no such write can still be on its way: a killed run's last
writes may reach Trello after the kill, so the live read waits until the client's longest
request (connect plus read timeout) has passed since the record was journaled and the journal
last written (``in_flight_wait``; at most that long, and said on stderr; not for writes an
earlier undo waited for: ``not_waited_for``). The applier journals
``pending`` only right before a write it decided on from a live read that showed the member
absent, which is what makes "there now" mean "ours". A value kind's field found holding a
third value (neither seen nor written) is someone's since: ``drifted``, journaled, left alone
whether or not the write took effect, as the apply would. A record whose board or card cannot
be read stays open: it is reported ``failed`` ("cannot tell"), so the undo exits with the
partial-failure code, and a later undo tries again.

The one-shot form run again after a kill plans afresh, sees such members on their cards and
skips them; ``resolve_earlier_journals`` (called before it writes) settles the earlier
journals' open records on its boards (after the same wait), so that each member this tool
added is claimed by exactly one journal.
"""

from __future__ import annotations

import contextlib
import logging
from collections.abc import Callable, Hashable, Iterable, Mapping, Sequence
from dataclasses import replace
from datetime import UTC, datetime
from functools import partial
from pathlib import Path

from trello_restore.api import TrelloApi
from trello_restore.api.settings import same_api
from trello_restore.archived_lists import closed_now, undo_warnings
from trello_restore.earlier_journals import (
    earlier_open,
    in_flight_of,
    not_waited_for,
    open_undos,
)
from trello_restore.errors import InputFileError, UsageError
from trello_restore.in_flight import in_flight_wait, last_alive, wait_for_in_flight
from trello_restore.journal import Journal, JournalRecord, Status, unresolved
from trello_restore.kinds import (
    NOT_ATTEMPTED,
    NOT_FOUND,
    WOULD_UNDO,
    BoardMembership,
    Decision,
    WriteRule,
    in_order,
    kind_of,
)
from trello_restore.live import LiveBoard, locate_cards, read_live
from trello_restore.locks import Holder, OtherPlan, apply_lock, holder_of, lock_names
from trello_restore.models import Change, MemberRef
from trello_restore.recheck import Recheck
from trello_restore.refusals import foreseen_refusals, unread_reason, unread_refusals
from trello_restore.runner import Runner
from trello_restore.runner_types import ApplyOptions, ApplyReport, ChangeOutcome
from trello_restore.touches import undo_touches
from trello_restore.undo_left import in_scope, running_writes, undoable
from trello_restore.undo_others import Others, card_pairs, undo_kept
from trello_restore.words import plural

__all__ = [
    "beside_a_run",
    "in_flight_wait",
    "last_alive",
    "resolve_earlier_journals",
    "undo_journal",
]

logger = logging.getLogger(__name__)


def _resolution(r: JournalRecord, status: Status, why: str) -> JournalRecord:
    """The record (of ``r``'s ``apply`` or ``undo``) that settles open record ``r``."""
    return JournalRecord(
        change_id=r.change_id,
        op=r.op,
        action=r.action,
        status=status,
        board_id=r.board_id,
        member_id=r.member_id,
        card_id=r.card_id,
        error=why,
        values=r.values,
    )


def _check_target(journal: Journal, api: TrelloApi) -> None:
    header = journal.header
    if not same_api(header.api_url, api.settings.api_url):
        where = api.settings.origins.api_url
        raise UsageError(
            f"{journal.path} records changes made at {header.api_url}, not "
            f"{api.settings.api_url}{f' (from {where})' if where else ''}; pass --api-url (or "
            "TRELLO_API_URL) for the API it was applied to"
        )
    me = api.me()
    if str(me["id"]) != header.account_id:
        username = str(me.get("username") or "")
        token = f"{username} ({me['id']})" if username else str(me["id"])
        raise UsageError(
            f"{journal.path} records changes made by Trello account {header.account_id}, not "
            f"the token's account {token}; use the token of the account that applied the plan"
        )


def _wait_for_in_flight(
    journals: Sequence[tuple[Path, Sequence[JournalRecord], Sequence[JournalRecord]]],
    api: TrelloApi,
) -> None:
    """``in_flight.wait_for_in_flight`` for these journals (each journal's path, its open
    records, and all its records: when its killed run was last alive, ``last_alive``)."""
    waits = [(path, open_, last_alive(path, records)) for path, open_, records in journals]
    wait_for_in_flight(waits, api.settings.max_request_s)


def _running_now(journal: Journal, lock_dir: Path | None) -> Holder | None:
    """For a dry run, which takes no lock: the run (an apply or undo of ``journal``'s plan)
    that holds its lock now, if any. Its open records are then its writes under way, not a
    killed run's: nothing to wait for, and left out of the dry run (``_say_running``)."""
    if lock_dir is None:
        return None
    return holder_of(lock_dir, lock_names(journal.header.plan_digest, ())[0])


def beside_a_run(journal: Journal, lock_dir: Path, *, dry_run: bool) -> None:
    """Before an undo says it has nothing to undo: an apply or undo of ``journal`` running now
    has writes under way that the journal shows as open, not done (R32c: an undo started
    while the apply was still granting board memberships said "Nothing to undo", exit 0, and
    called the grants in flight interrupted ones). Not a dry run: ``LockHeld``, as taking the
    undo's locks would (exit 6); a dry run: its warning beside a running run."""
    holder = _running_now(journal, lock_dir)  # a look: no lock taken, no directory made
    if holder is None:
        return
    if dry_run:
        _say_running(holder, len(unresolved(journal.records)))
        return
    with apply_lock(lock_names(journal.header.plan_digest, ())[:1], lock_dir):
        pass  # held by that run: LockHeld, with the line taking the undo's locks would give


def _say_running(holder: Holder, under_way: int) -> None:
    """The one warning of a dry run beside ``holder``: it leaves ``under_way`` writes out."""
    logger.warning(
        "an apply or undo of this journal is running now%s: this dry run shows the journal as "
        "it stands, leaving out %s that run has under way; run it again once that run ends",
        f" (pid {holder.pid})" if holder.pid is not None else "",
        plural(under_way, "write"),
    )


def _records_now(journal: Journal) -> Sequence[JournalRecord]:
    """``journal``'s records read again from its file (the run beside a dry run appends to
    it), quietly: a torn last line is that run's line being written; unreadable, as read."""
    try:
        return Journal.read(journal.path, warn_torn=False).records
    except InputFileError:
        return journal.records


def undo_journal(
    journal: Journal,
    api: TrelloApi,
    options: ApplyOptions,
    *,
    include_board_memberships: bool = False,
    progress: Callable[[ChangeOutcome], None] | None = None,
    lock_dir: Path | None = None,
) -> ApplyReport:
    """Remove the card members (and, with ``include_board_memberships``, the board
    memberships) that ``journal`` says this tool added, where they still are; journal it in the
    same file (opened for appending, except on a dry run, which writes nothing).

    The apply's open records are resolved first, from the same live read (see the module
    docstring): found there, they are removed too; absent, they need nothing; unreadable, they
    are reported ``failed``. Takes the same locks as applying the journal's plan, in
    ``lock_dir`` (needed unless a dry run). Raises ``UsageError`` for a journal of another API
    URL or account, ``LockHeld``, and ``ApiError`` like ``apply_plan``."""
    if lock_dir is None and not options.dry_run:
        raise ValueError("undo_journal needs a lock directory unless it is a dry run")
    _check_target(journal, api)
    open_ = [
        r
        for r in unresolved(journal.records).values()
        if in_scope(r.action, include_board_memberships)
    ]
    known = [
        u for u in undoable(journal.records) if in_scope(u.record.action, include_board_memberships)
    ]
    boards = {r.board_id for r in open_} | {u.record.board_id for u in known}
    # Grants of other journals their undo kept for this one's cards (``undo_others``).
    pairs = card_pairs([*open_, *(u.record for u in known)], journal.records)
    keeping = Others.of(journal).keeping(pairs)
    locks: contextlib.AbstractContextManager[object] = contextlib.nullcontext()
    if not options.dry_run:
        assert lock_dir is not None
        names = lock_names(journal.header.plan_digest, boards)
        names += [lock_names(j.header.plan_digest, ())[0] for j in keeping]
        locks = apply_lock(list(dict.fromkeys(names)), lock_dir)
    with locks, Runner(api, journal, options, "undo", progress) as run:
        others = Others.of(journal)  # read again under the locks
        running = _running_now(journal, lock_dir) if options.dry_run else None
        undone = journal.undone()
        if running is None:
            # And a killed undo's removals (R42c: undone again at once, then applied, the
            # member it was taking off was taken off after the apply: missing for good).
            waited = not_waited_for(open_, journal.records) + [
                r
                for r in undone.values()
                if r.status == "pending" and in_scope(r.action, include_board_memberships)
            ]
            _wait_for_in_flight([(journal.path, waited, journal.records)], api)
        looked_at = [*open_, *(u.record for u in known)]
        read_at = datetime.now(UTC)
        live = read_live(
            api,
            boards,
            lists_of=_list_boards(looked_at),
            fields_of=_field_boards(looked_at),
            op="undo",
            go_on=options.refused_boards_go_on,
            earlier=journal.path if any(r.status == "undone" for r in undone.values()) else None,
        )
        for board_id, board in sorted(live.items()):
            if board.refused:  # Trello refused the token's member a read of it: nothing sent
                run.refuse_read(board_id, board.refused)
        live = locate_cards(api, live, _cards_to_locate(looked_at, open_))
        unread = [r for r in open_ if live[r.board_id].refused]  # stay open: not resolved
        # Beside the run writing them, its open records are writes under way: left out, and
        # so are the adds it journaled since the journal was read (the boards may show them).
        under_way: list[JournalRecord] = []
        left_out: frozenset[str] = frozenset()
        undoing: set[str] = set()  # a running undo's removals: left out, not this dry run's
        if running is not None:
            under_way = running_writes(journal.records, _records_now(journal))
            undoing = {r.change_id for r in under_way if r.op == "undo"}
            # Counted once: a change this undo looks at anyway is not also left out (R28a).
            mine = {u.record.change_id for u in known} - undoing
            left_out = frozenset(
                r.change_id
                for r in under_way
                if in_scope(r.action, include_board_memberships) and r.change_id not in mine
            )
            _say_running(running, len(left_out))
        resolving = [] if running is not None else [r for r in open_ if r not in unread]
        settled, unknown = _resolve_all(resolving, live)
        if options.dry_run:
            records: Sequence[JournalRecord] = (*journal.records, *settled)
        else:
            journal.note_clock(api.clock_skew)
            journal.append_many(settled)
            records = journal.records
        todo = [
            u
            for u in undoable(records)
            if in_scope(u.record.action, include_board_memberships)
            and u.record.change_id not in undoing
        ]
        items = {u.record.change_id: (_change(u.record), u.resumed) for u in todo}
        # Who set each target last since the apply: one read of each board's actions.
        live = undo_touches(api, live, items.values(), records, journal.header.account_id)
        for line in undo_warnings(items.values(), live):  # cards back into an archived list
            logger.warning("%s", line)
        for line in closed_now((c for c, _ in items.values()), live, undo=True):
            logger.warning("%s", line)
        # In the reverse order of applying: card members before board memberships, since
        # removing a board membership takes the member off the board's cards too.
        order = sorted(items, key=lambda cid: -kind_of(items[cid][0].action).order)
        for r in settled:
            if r.status == "not_applied":
                run.settle(_change(r), "not_on_card", r.error or NOT_FOUND, journal=False)
            elif r.status == "drifted":  # a third value: left alone, as the apply would
                run.settle(_change(r), "drifted", r.error, journal=False)
        for r, why in unknown:
            run.settle(_change(r), "failed", _cannot_tell(r, why), journal=False)
        for r in unread:
            run.settle(_change(r), NOT_ATTEMPTED, unread_reason(live[r.board_id].refused))
        needers = _needers([items[cid][0] for cid in order])
        # The running apply's card adds under way are its own: an undo once it ends takes the
        # member off those cards with the rest, so they keep no grant they need (R27a).
        running_needers = _needers(
            _change(r) for r in under_way if r.op == "apply" and r.change_id not in items
        )

        def seen(c: Change) -> list[tuple[Change, str]]:
            """The changes of this undo that need what ``c`` provides, with their outcomes."""
            key = kind_of(c.action).provides(c)
            ns = needers.get(key, ())
            return [
                (n, run.outcomes[n.change_id].status) for n in ns if n.change_id in run.outcomes
            ] + [(n, WOULD_UNDO) for n in running_needers.get(key, ())]

        live = dict(live)  # what people changed while it writes, looked for once a window
        again = Recheck(api, live, read_at, journal.header.account_id, records, options.window_s)
        try:
            for kind in reversed(in_order()):
                jobs: list[tuple[Change, Callable[[], object], WriteRule]] = []
                for cid in order:
                    change, resumed = items[cid]
                    if change.action != kind.action:
                        continue
                    if refused := live[change.board_id].refused:  # not read: not sent
                        run.settle(change, NOT_ATTEMPTED, unread_reason(refused))
                        continue
                    decide: Callable[..., Decision] = kind.decide_undo_after
                    if isinstance(kind, BoardMembership):  # kept for other journals' cards
                        decide = partial(kind.decide_undo_kept, elsewhere=others.elsewhere(change))
                    decide = partial(decide, change, resumed=resumed, needers=seen(change))
                    decision = decide(live[change.board_id])
                    if decision is not None:
                        run.settle(change, *decision)
                    elif options.dry_run:
                        run.settle(change, WOULD_UNDO)
                    else:
                        again.expect(change)
                        rule = replace(
                            kind.undo_rule(resumed), recheck=partial(again.decision, change, decide)
                        )
                        jobs.append((change, partial(kind.remove, api, change), rule))
                run.run_writes(jobs)
        finally:
            again.close()
        kept, kept_labels = undo_kept(api, options, progress, live, others, keeping, pairs, seen)
        run.outcomes.update((o.change_id, o) for o in kept)
        if options.dry_run:
            would = [items[cid][0] for cid in order]
            foreseen_refusals(
                api,
                [c for c in would if run.outcomes[c.change_id].status == WOULD_UNDO],
                live,
                op="undo",
                goes_on=options.refused_boards_go_on,
            )
            unread_refusals(api, [*would, *(_change(r) for r in unread)], live, op="undo")
        report = run.report(
            [*order, *(r.change_id for r in open_ if r.change_id not in items)]
            + [o.change_id for o in kept]
        )
        report.labels = _live_labels(looked_at, live) | kept_labels
        report.board_names = {b: live[b].name for b in sorted(boards) if live[b].name}
        report.under_way = left_out
        return report


def _needers(changes: Iterable[Change]) -> dict[Hashable, list[Change]]:
    """What each change ``needs`` (``ChangeKind.needs``) → the changes that need it: the card
    members a grant of board membership was for."""
    out: dict[Hashable, list[Change]] = {}
    for c in changes:
        key = kind_of(c.action).needs(c)
        if key is not None:
            out.setdefault(key, []).append(c)
    return out


def _live_labels(records: Iterable[JournalRecord], live: Mapping[str, LiveBoard]) -> dict[str, str]:
    """Change id → what the record is about, by the names the same live read gave (a member
    change: the member's and card's names, ``live_label``); a record live state names nothing
    of is left out (the journal's labels name it)."""
    out: dict[str, str] = {}
    for r in records:
        label = kind_of(r.action).live_label(_change(r), live[r.board_id])
        if label is not None:
            out[r.change_id] = label
    return out


def _resolve_all(
    records: Iterable[JournalRecord], live: dict[str, LiveBoard]
) -> tuple[list[JournalRecord], list[tuple[JournalRecord, str]]]:
    """Resolve open records from live state: the records that settle them, and the records
    live state cannot tell about, with why."""
    settled: list[JournalRecord] = []
    unknown: list[tuple[JournalRecord, str]] = []
    for r in records:
        status, why = kind_of(r.action).resolve(_change(r), live[r.board_id])
        if status is None:
            unknown.append((r, why))
        else:
            settled.append(_resolution(r, status, why))
    return settled, unknown


def _cannot_tell(r: JournalRecord, why: str) -> str:
    """The one line for an open record live state cannot resolve: what, why, what to do."""
    return kind_of(r.action).cannot_tell(_change(r), why)


def resolve_earlier_journals(
    api: TrelloApi,
    directory: Path,
    board_ids: Iterable[str],
    options: ApplyOptions,
    *,
    lock_dir: Path,
    exclude: Path | None = None,
    board_names: Mapping[str, str] | None = None,
) -> int:
    """Settle, from live state, the open records (``journal.unresolved``) on ``board_ids`` of
    every earlier journal in ``directory`` made at this API URL by this token's account;
    returns how many were settled. For the one-shot form and ``apply PLAN``, before they write.

    Why: run again after a kill, the one-shot form makes a new plan, with its own journal. A
    write of the killed run that took effect is on the card now, so the new plan skips it
    (``already_on_card``) and only the earlier journal can claim it; one that did not take
    effect is planned again and made by the new run. Settling the earlier journal now, before
    the new run writes anything, pins down which writes were the killed run's: later, a member
    there would be indistinguishable from the new run's add (or anyone's). So each member the
    tool added is claimed by exactly one journal, and undoing the journals gives back exactly
    the state before the first run. (Carrying the open records into the new journal instead
    would need the same live read and would split one apply's outcomes over two journals.)
    The same holds for ``apply PLAN`` of another plan (R78b: one made beside the killed one,
    applied instead of resuming it: the killed journal's undo took the new run's adds back).

    Under the locks an apply of those plans on those boards takes, in ``lock_dir``
    (``LockHeld`` if another run holds one). A journal that cannot be read is skipped with a
    warning; records whose board or card cannot be read stay open (undo reports them).
    ``exclude`` is the new run's own journal, which its apply resumes itself; ``board_names``:
    the boards' names by id, for ``LockHeld``."""
    wanted = set(board_ids)
    me = str(api.me()["id"])
    api_url = api.settings.api_url
    found = [
        (journal, records)
        for journal, records in earlier_open(directory, wanted, exclude)
        if journal.header.account_id == me and same_api(journal.header.api_url, api_url)
    ]
    if not found:
        return 0
    boards = {r.board_id for _, records in found for r in records}
    names = list(
        dict.fromkeys(n for j, _ in found for n in lock_names(j.header.plan_digest, boards))
    )
    # A plan lock held here is another run's apply or undo of that earlier plan: name it, and
    # the boards of this run its journal has open writes on.
    others = {
        lock_names(j.header.plan_digest, ())[0]: OtherPlan(
            f"plan {j.header.plan_digest[:16]} (journal {j.path})",
            tuple(sorted({r.board_id for r in records})),
        )
        for j, records in found
    }
    own_limiter = api.limiter is None
    if own_limiter:
        api.use_limiter(options.make_limiter())
    count = 0
    try:
        with apply_lock(names, lock_dir, others, board_names):
            # A killed undo's writes, as a killed apply's (R79b: its removals landed after
            # this run read the boards, which it had counted already satisfied).
            _wait_for_in_flight(
                [
                    (
                        j.path,
                        in_flight_of(j, records),
                        j.records,
                    )
                    for j, records in found
                ],
                api,
            )
            opened = [r for _, records in found for r in records]
            live = read_live(
                api, boards, lists_of=_list_boards(opened), fields_of=_field_boards(opened)
            )
            # A card its board's listing lacks, read by id: deleted, or where it is now.
            live = locate_cards(api, live, _cards_to_locate((), opened))
            for earlier, _ in found:
                # Opened again under the lock: what another run settled meanwhile counts.
                with Journal.open(earlier.path, earlier.header) as journal:
                    records = [
                        r for r in unresolved(journal.records).values() if r.board_id in live
                    ]
                    settled, unknown = _resolve_all(records, live)
                    settled += _undone_since(journal.records, live)
                    journal.note_clock(api.clock_skew)
                    journal.append_many(settled)
                count += len(settled)
                logger.info(
                    "%s: %s of an earlier run resolved from live state",
                    earlier.path,
                    plural(len(settled), "interrupted write"),
                )
                for r, why in unknown:
                    logger.warning("%s: %s", earlier.path, _cannot_tell(r, why))
    finally:
        if own_limiter:
            api.use_limiter(None)
    return count


def _undone_since(
    records: Iterable[JournalRecord], live: Mapping[str, LiveBoard]
) -> list[JournalRecord]:
    """The ``undone`` records of a killed undo's writes (``open_undos``) that live state shows
    made, after the wait for them: the member gone, the value back. Those that show nothing
    made stay open, for that journal's undo (found there now, the member is its apply's): a
    run of another plan that writes now must not leave them open, or that undo, run again,
    would take off what this run adds as its own write. Each is judged as that undo judges
    it, by the apply's record it reverses: an undo record keeps a value's ``seen`` and
    ``written`` the other way round (R80a: a value the undo never wrote back was "undone")."""
    records = list(records)
    made = {
        r.change_id: r for r in records if r.op == "apply" and (r.status == "applied" or r.open)
    }
    out = []
    for r in open_undos(records).values():
        applied = made.get(r.change_id)
        if applied is not None and r.board_id in live:
            found = kind_of(r.action).decide_undo(_change(applied), live[r.board_id], resumed=True)
            if found is not None and found[0] == "undone":
                out.append(_resolution(r, "undone", found[1]))
    return out


def _change(r: JournalRecord) -> Change:
    """The change an ``apply`` record is about, as far as the journal tells (ids, its board's
    name where the record keeps it, and for a value kind the values seen and written: its
    kind's ``from_record``)."""
    kept = (r.values or {}).get("names")
    name = kept.get("board") if isinstance(kept, dict) else None
    ids = Change(
        change_id=r.change_id,
        action=r.action,
        board_id=r.board_id,
        board_name=name if isinstance(name, str) else "",  # as the record keeps it
        member=MemberRef(r.member_id),
        card_id=r.card_id,
    )
    return kind_of(r.action).from_record(ids, r.values)


def _list_boards(records: Iterable[JournalRecord]) -> set[str]:
    """The boards whose lists live state must hold for these records' kinds, and where undo
    unarchives a card (the list it shows in may be archived: ``undo_warnings``)."""
    return {
        r.board_id
        for r in records
        if kind_of(r.action).reads_lists
        or (r.action == "set_card_closed" and (r.values or {}).get("written") is True)
    }


def _cards_to_locate(
    records: Iterable[JournalRecord], open_: Iterable[JournalRecord] = ()
) -> set[tuple[str, str]]:
    """(board, card) of the records whose kinds' undo needs a card its board's listing lacks
    found by id (``locates_cards``), and of the open records of every kind (``open_``: read by
    id, a deleted card or one on another board settles them; R35d: value writes pending on a
    deleted card failed every undo)."""
    return {(r.board_id, r.card_id) for r in records if kind_of(r.action).locates_cards} | {
        (r.board_id, r.card_id) for r in open_ if r.card_id
    }


def _field_boards(records: Iterable[JournalRecord]) -> set[str]:
    """The boards whose cards live state must read with the value kinds' fields."""
    return {r.board_id for r in records if kind_of(r.action).reads_card_fields}
