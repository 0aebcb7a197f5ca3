"""A run without a plan file never sets back a value this tool's undo set back: the value kinds'
side of ``undone_hint.leave_out_undone`` (design.md §10.3; README "Known limits").

An apply of the value kinds sets each field back to its value before the damage, and its undo
writes the damaged value back, both as the token's member. The planner takes such a pair for no
later work (``planner_values.lasting_others``: a run of the token's member's changes that ends
where it began), so a one-step run whose ``--since`` still covers the damage plans it again and,
with ``--yes``, writes it again: the undo is lost without a word. So is it with ``--by`` the
token's member, once the undo is in a window the apply is not (a cron run after an ``undo``):
the undo's write is then the damage the plan sets back.

So, as for card members: a value change of a run that applies (no plan file) is left out
(``filtered``) when an undo of one of this tool's journals in the journal directory wrote the
value it expects to find (``ValueChange.expected``: the field holds it now, or the apply calls
it drifted) after the damage began (its evidence's date, less ``UNDO_SLACK``), and no apply
record of that journal found or set the field back since; with one warning that says how many,
which journal's undo, and the two commands that put them back (a plan of those writes, then
its ``apply``: the reviewed plan's apply sets them back). Only changes whose field's latest
change is the token's member's are looked at (``own_sets``, from the history the plan was made
from, or kept with it in the plan memo). Where a journal that may hold such an undo cannot be
read (damaged, a newer version's, no permission), or the journal directory cannot be looked
into, each of those is left out, as it may be this tool's undo's (fails closed, as for card
members). A dry run keeps them and says what a run that applies does. No request; the planner
stays pure.
"""

from __future__ import annotations

from collections.abc import Collection, Mapping, Sequence
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import NamedTuple

from trello_restore.journal import JournalRecord
from trello_restore.kinds import CardMember
from trello_restore.models import (
    KIND_FIELDS,
    History,
    Plan,
    RestoreKind,
    ValueChange,
    ValueSkipped,
    format_date,
)
from trello_restore.planner_values import same_value
from trello_restore.touches import UNDO_SLACK, record_time, trello_time, written_at
from trello_restore.undone_hint import Journals, recorded_words
from trello_restore.words import at_name, plural, shell_join, when

#: A value change's field: (object id, Trello's field name).
Field = tuple[str, str]
#: What a journal's text holds when it has an undo's record of a value (``journal._line``).
_NEEDLES = ('"op": "undo"', '"object_id"')
#: A record time that does not parse: before every other.
_NEVER = datetime.min.replace(tzinfo=UTC)
#: The plan file the commands that put an undo's value writes back write and apply.
UNDONE_VALUES_PLAN = "undone-values.json"


def own_sets(plan: Plan, history: History, account_id: str) -> dict[Field, datetime]:
    """The fields of ``plan``'s value changes whose latest change in ``history`` (the one the
    plan was made from) the token's member (``account_id``) made, not an app (this tool's
    undo's write, perhaps), each with that change's date (Trello's clock)."""
    wanted = {_field(c) for c in _values(plan)}
    latest: dict[Field, tuple[datetime, str, str, str]] = {}
    if not wanted:
        return {}
    for u in history.field_updates:
        key = (u.object_id, u.field)
        if key in wanted and (key not in latest or (u.date, u.id) > latest[key][:2]):
            latest[key] = (u.date, u.id, u.by, u.app)
    return {k: date for k, (date, _, by, app) in latest.items() if by == account_id and not app}


class _Undone(NamedTuple):
    """A planned value change an undo of a journal set back: the journal, and when (Trello's
    clock, as the journal dates it) that undo's write was journaled."""

    change: ValueChange
    journal: Path
    at: datetime


def leave_out_set_back(
    plan: Plan, own: Mapping[Field, datetime], at: Journals
) -> tuple[Plan, str | None, str | None]:
    """``plan`` with the value changes an undo of one of this tool's journals (``at``) set
    back left out (``filtered``) of a run that applies; and the warning that says so (a dry
    run: that a run without a plan file leaves them out). ``own``: the fields to look at, with
    their latest change's date (``own_sets``). Third: why the run is not recorded as the last
    run (a journal that may hold such an undo cannot be read: every one is left out), or
    None. ``plan`` unchanged and None, None when there are none."""
    candidates = [c for c in _values(plan) if _field(c) in own]
    if not candidates:
        return plan, None, None
    others = at.others()
    journals = others.journals(*_NEEDLES)
    undone: list[_Undone] = []
    for c in candidates:
        # The latest undo that set it back (R34c: the first journal's by path was named), by
        # this machine's clock, which wrote both (Trello's, as each run measured it to the
        # second, can put two undos a second apart in either order).
        found = [
            (record_time(r.at) or _NEVER, j.path, r)
            for j in journals
            if (r := _set_back(c, [x for x in j.records if _of(x, c)], at.skew)) is not None
        ]
        if found:
            _, path, r = max(found, key=lambda x: x[0])
            undone.append(_Undone(c, path, trello_time(r) or _NEVER))
    by = f"by the token's member ({at_name(at.username)})"
    if others.unreadable:
        left = candidates
        cannot = "; ".join(others.unreadable.values())
        said = (
            f"the latest change of each is {by}, and a journal that may hold this tool's undo "
            f"of them cannot be read ({cannot})"
        )
    elif undone:
        left = [u.change for u in undone]
        said = f"each is what this tool's undo of journal {_journals(undone)} set back, {by}"
    else:
        return plan, None, None
    unread = cannot if others.unreadable else None
    counted = _counted(left)
    command = _command(left, [own[_field(c)] for c in left], at.username, plan)
    if not at.applying:
        return (
            plan,
            f"this plan sets back {counted}: {said}; a plan file of it (--plan-out) sets them "
            "back with `apply`, a run that applies without a plan file (the one-step form) "
            "leaves them out",
            None,
        )
    ids = {c.change_id for c in left}
    skipped = [
        ValueSkipped(
            object_type=c.object_type,
            object_id=_field(c)[0],
            object_name=c.list_name if c.object_type == "list" else c.card_name,
            board_id=c.board_id,
            field=c.field,
            reason="filtered",
            action_id=c.evidence.action_id if c.evidence is not None else None,
        )
        for c in left
    ]
    plan = replace(
        plan,
        changes=tuple(c for c in plan.changes if c.change_id not in ids),
        value_skipped=tuple(
            sorted(
                (*plan.value_skipped, *skipped), key=lambda s: (s.object_name, s.object_id, s.field)
            )
        ),
    )
    n = len(left)
    return (
        plan,
        f"{counted} {'is' if n == 1 else 'are'} left out of this run: {said}, and a run without "
        "a plan file never sets back what this tool's undo set back; "
        f"{recorded_words(unread)}; to set them back, plan them and apply the plan: {command}",
        unread,
    )


def _set_back(
    c: ValueChange, records: Sequence[JournalRecord], skew: timedelta
) -> JournalRecord | None:
    """The record of the latest undo among ``records`` (a journal's of ``c``'s field, in order)
    that wrote ``c.expected`` back, answered (``undone``; or sent, never answered: its
    ``pending``) no earlier than ``UNDO_SLACK`` before ``c``'s damage began (Trello's clock),
    with no apply record of the journal that found or set the field back after it; None when
    none did."""
    if c.evidence is None:
        return None
    damage = c.evidence.date - UNDO_SLACK
    sent: dict[str, tuple[int, datetime, JournalRecord]] = {}  # undo writes not answered yet
    found: list[tuple[int, datetime, JournalRecord]] = []  # undo writes: index, answered
    last = -1  # the latest apply record that found or set the field back
    for i, r in enumerate(records):
        at = written_at(r, skew)
        if r.op == "apply":
            last = i if r.status in ("pending", "applied", "already_satisfied") else last
            continue
        sent.pop(r.change_id, None)
        if at is None:
            continue
        if r.status == "pending":
            sent[r.change_id] = (i, at, r)
        elif r.status == "undone":
            found.append((i, at, r))
    # Sent and never answered: it may have been written.
    found += sent.values()
    matching = [
        (i, r)
        for i, end, r in found
        if i > last
        and end + skew >= damage
        and same_value(c.field, (r.values or {}).get("written"), c.expected)
    ]
    return max(matching, key=lambda x: x[0])[1] if matching else None


def _of(r: JournalRecord, c: ValueChange) -> bool:
    """Whether record ``r`` is of ``c``'s field."""
    v = r.values or {}
    return r.action not in (CardMember.action,) and (v.get("object_id"), v.get("field")) == (
        _field(c)
    )


def _values(plan: Plan) -> list[ValueChange]:
    return [c for c in plan.changes if isinstance(c, ValueChange)]


def _field(c: ValueChange) -> Field:
    return (c.list_id if c.object_type == "list" else c.card_id, c.field)


def _journals(undone: Collection[_Undone]) -> str:
    """Each journal, with when its undo set back the first of these (Trello's clock)."""
    first: dict[Path, datetime] = {}
    for u in undone:
        first[u.journal] = min(first.get(u.journal, u.at), u.at)
    return " and of journal ".join(
        f"{path} (undone {when(at)})" for path, at in sorted(first.items())
    )


def _counted(changes: Sequence[ValueChange]) -> str:
    """``N values of M cards`` (and lists)."""
    objects = {(c.object_type, _field(c)[0]) for c in changes}
    cards = sum(1 for t, _ in objects if t == "card")
    lists = len(objects) - cards
    on = " and ".join(
        x
        for x in (plural(cards, "card") if cards else "", plural(lists, "list") if lists else "")
        if x
    )
    return f"{plural(len(changes), 'value')} of {on}"


def _command(
    changes: Sequence[ValueChange], dates: Sequence[datetime], username: str, plan: Plan
) -> str:
    """The two commands that plan the token's member's writes of ``changes``' fields at
    ``dates`` (Trello's, to the millisecond: the apply's writes may be in the same second),
    from the first to just after the last (R34c: without ``--until``, later work by the
    token's member, a later run of this tool's included, was planned too), in the run's own
    ``--list``/``--card`` selection, and apply that plan: the undo's writes are the damage that
    plan sets back."""
    o = plan.options
    kinds = sorted({_kind(c.field) for c in changes})
    boards = sorted({c.board_id for c in changes})
    words = ["trello-restore", *(w for b in boards for w in ("--board", b))]
    words += ["--since", format_date(min(dates))]
    words += ["--until", format_date(max(dates) + timedelta(milliseconds=1))]
    words += ["--by", username, "--restore", ",".join(kinds)]
    words += [w for x in sorted(o.lists or ()) for w in ("--list", x)]
    words += [w for x in sorted(o.cards or ()) for w in ("--card", x)]
    words += ["--dry-run", "--plan-out", UNDONE_VALUES_PLAN]
    return f"{shell_join(words)}, then trello-restore apply {UNDONE_VALUES_PLAN}"


def _kind(field: str) -> RestoreKind:
    return next(k for k, fields in KIND_FIELDS.items() if field in fields)
