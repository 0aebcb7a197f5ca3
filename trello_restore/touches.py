"""Who set a change's target last, from the boards' action feeds: what a live read cannot tell.

Live state says what a card or list holds now, not who put it there. A member this tool added,
then removed by a colleague and added back by hand (their own decision), is on the card just as
the tool left it; so is a value set back by hand to what the tool wrote. An undo must leave
those in place; and an apply of a plan that sat must not put back a member someone removed again
on purpose after the plan was made, nor write over a value someone changed and set back after it
(A→B→A: the value the plan expects, by their hand). So, for the changes that would be written,
each of their boards' action feeds is read since a date (an undo: the journal's first apply
record, less ``SLACK``; an apply: the plan's ``created_at``), filtered to the types that change
those targets (``ChangeKind.target``: card members and values alike, in one listing), 1000 a
page (``fetcher.board_actions``): one request per board in the common case, never one per card,
never ``/1/members/{id}`` (the actions bring their authors' names). The last action on each
target, when it is not one of this tool's own writes of the journal, goes into its board's
``LiveBoard.touched``, and the kinds' deciders decide from it.

What can and cannot be told apart. This tool writes as the token's member, and Trello records
of a write only its author and its date: not the client, not the key. So an action is taken for
this tool's own write of a change when its author is the journal's account and its date lies
within one of that change's writes the journal records (``own_writes``: from its ``pending``
record to the record of its answer). The journal is dated by this machine's clock and the
action by Trello's: each record's time is moved by how far Trello's clock was ahead of this
machine's when it was written (its ``skew_s``, from the ``Date`` of that run's answers; this
run's ``trello_skew`` for a record of an older version, which does not say), and widened by
``SLACK`` on each side for what that misses. Anyone else's action is
never taken for the tool's. The token's own member acting by hand (the same account in Trello's
web page) is told apart only by time: within ``SLACK`` of one of the tool's writes of that
change it is taken for the tool's (and undone as such); later, for a person's, named in the
reason (it is the token's member). Nor can another journal's writes (a later run of this tool
that put the member back) be told from that member's own hand: they count as someone else's,
and the change is left for that run's undo. One such write is named, though: a removal of a
member an apply would add, by the token's member within the undo's write of that card member in
another journal of this tool (same API URL and account, in the journals directory:
``undo_others.Others``) is that undo's (``Touch.undo_of``), and its reason says so; so is a
value set back by that undo's write of the field. That match is narrower than ``_own``'s
(``undid``): within ``UNDO_SLACK`` of the undo's write, and only while that journal has not
written the change again since (an apply that put the member back: a removal after it is a
person's, the token's member's by hand, however soon after the undo).

Not seen here: actions Trello's feeds do not list (removals from a board: a grant has no
target for an apply; an undo looks for it granted again, or its role set again, by someone:
``ChangeKind.undo_target``), and what happened to a card on another board it visited in between.
"""

from __future__ import annotations

from collections.abc import Callable, Collection, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any, Literal

from trello_restore.api import TrelloApi
from trello_restore.boards import url_from
from trello_restore.errors import BadResponse
from trello_restore.fetcher import CURSOR_STEP, board_actions
from trello_restore.history import HistoryError, app_name, parse_date, parse_history
from trello_restore.journal import JournalRecord
from trello_restore.kinds import CardMember, kind_of
from trello_restore.kinds.touched import BOARD_MEMBER_TYPES
from trello_restore.live import LiveBoard, Target, Touch
from trello_restore.models import Change, FieldValue, MemberRef

if TYPE_CHECKING:
    from trello_restore.undo_others import Others

__all__ = [
    "SLACK",
    "UNDO_SLACK",
    "Index",
    "apply_touches",
    "own_spans",
    "own_writes",
    "plan_seen",
    "read_touches",
    "record_time",
    "target_index",
    "touches_in",
    "trello_skew",
    "trello_time",
    "undid",
    "undo_since",
    "undo_touches",
    "written_at",
]

#: How far apart this machine's clock (the journal's dates) and Trello's (the actions') may be,
#: and so how near one of this tool's writes of a change an action of the token's member must
#: be to count as that write. Five minutes, as ``run_apply.PLAN_CLOCK_SKEW``: ordinary skew.
SLACK = timedelta(minutes=5)
#: How near another journal's undo write of a change an action of the token's member must be to
#: be named that undo's (``undone_elsewhere``): the skew is measured now (``trello_skew``), which
#: leaves the ``Date`` header's whole second and the read's latency, and the clocks' drift
#: since the undo (seconds a day, unsynchronised). Not ``SLACK``: a hand edit minutes after
#: the undo is the person's, and naming the undo sends the user to plan again for nothing.
UNDO_SLACK = timedelta(seconds=10)
#: When this tool sent one write of a change and when its answer was journaled.
Span = tuple[datetime, datetime]


@dataclass(frozen=True)
class _Event:
    """One action on a target, as ``Touch`` holds it, before names are known."""

    date: datetime
    action_id: str
    kind: Literal["add", "remove", "set"]
    value: FieldValue
    by: str
    app: str


def own_writes(
    records: Iterable[JournalRecord], skew: timedelta = timedelta(0)
) -> dict[str, list[Span]]:
    """Change id → when this tool sent that change's writes, as the journal records them (apply
    and undo alike; this machine's clock as it is now, ``written_at``: ``skew`` is how far
    Trello's is ahead of it): from a ``pending`` record to the change's next record (its
    answer), at most ``SLACK`` long (an answer journaled much later, e.g. an undo settling a
    killed apply's write, says nothing of when it was sent); a ``pending`` never answered, and
    an ``applied`` or ``undone`` with no ``pending`` before it (an older journal's), are an
    instant."""
    out: dict[str, list[Span]] = {}
    opened: dict[str, datetime] = {}
    for r in records:
        at = written_at(r, skew)
        if at is None:
            continue
        start = opened.pop(r.change_id, None)
        spans = out.setdefault(r.change_id, [])
        if start is not None:
            spans.append((start, min(max(at, start), start + SLACK)))
        if r.status == "pending":
            opened[r.change_id] = at
        elif start is None and r.status in ("applied", "undone"):
            spans.append((at, at))
    for change_id, start in opened.items():
        out[change_id].append((start, start))
    return out


def undo_since(records: Iterable[JournalRecord], skew: timedelta = timedelta(0)) -> datetime | None:
    """Where an undo reads the boards' actions from (this machine's clock as it is now, with
    Trello's ``skew`` ahead of it: ``written_at``): the journal's first ``apply`` record, less
    ``SLACK`` (what the skew measured misses); None when it has none."""
    times = [t for r in records if r.op == "apply" and (t := written_at(r, skew)) is not None]
    return min(times) - SLACK if times else None


def written_at(r: JournalRecord, skew: timedelta) -> datetime | None:
    """When record ``r`` was written, on this machine's clock as it runs now (Trello's clock
    ``skew`` ahead of it): its ``at`` (this machine's time then) moved by how much further
    Trello's clock was ahead when it was written (``r.skew_s``, as the run that wrote it saw)
    than now. Moving it by ``skew`` then gives Trello's time, whether the clock was set right
    (or put wrong) between the apply and the undo. A record without ``skew_s`` (an older
    version's journal) is taken to have been written with the clock as it is now. None when
    its ``at`` does not parse."""
    at = trello_time(r)
    return at - skew if at is not None and r.skew_s is not None else at


def trello_time(r: JournalRecord) -> datetime | None:
    """When record ``r`` was written on Trello's clock, as the run that wrote it saw it (its
    ``at`` moved by its ``skew_s``), for what the user reads beside Trello's dates; this
    machine's time then for a record that does not say (an older version's)."""
    at = record_time(r.at)
    if at is None or r.skew_s is None:
        return at
    return at + timedelta(seconds=r.skew_s)


def read_touches(
    api: TrelloApi,
    live: Mapping[str, LiveBoard],
    changes: Iterable[Change],
    *,
    since: datetime,
    account_id: str,
    records: Iterable[JournalRecord],
    since_skew: timedelta | None = None,
    passed_over: Callable[[Change], tuple[Collection[str], datetime | None]] = lambda c: ((), None),
    undo: bool = False,
) -> dict[str, LiveBoard]:
    """``live`` with each board's ``touched`` set for ``changes`` (those that would be written;
    a change whose kind has no ``target`` (``undo_target`` for an ``undo``), or whose board is
    gone, is left out): each board's
    actions since ``since`` (exclusive) of the types that change its changes' targets, in one
    listing (paged by 1000; uncached), and for each target the last of them unless it is this
    tool's own write of that change (by ``account_id``, within ``own_writes(records)``,
    widened by ``SLACK``). ``since`` and the journal's times are this machine's: they are
    moved by how far Trello's clock is from it now (``trello_skew``) before they meet the actions'
    dates; ``since`` by ``since_skew`` instead when given (a plan made elsewhere or earlier:
    how far Trello's clock was from the one that dated it). ``passed_over``: the ids of a
    change's actions to pass over, and the date (Trello's) at or before which all are (an
    apply's plan saw them: its evidence). Errors are raised as the live read's are, before
    any write."""
    index = target_index(live, changes, undo=undo)
    if not index:
        return dict(live)
    skew = trello_skew(api)
    start = since + (skew if since_skew is None else since_skew)  # in Trello's time
    spans = own_spans(records, skew)
    return touches_in(api, live, index, start, account_id, spans, passed_over=passed_over)


#: Each board's targets to look for in its actions: the action types that change them, and
#: each target's changes (``target_index``).
Index = dict[str, tuple[set[str], dict[Target, list[Change]]]]


def target_index(
    live: Mapping[str, LiveBoard], changes: Iterable[Change], *, undo: bool = False
) -> Index:
    """``changes`` by board and target (a change whose kind has no ``target``, or for an
    ``undo`` no ``undo_target``, or whose board is gone, is left out), with the action types
    that change each board's targets."""
    out: Index = {}
    for c in changes:
        board = live.get(c.board_id)
        kind = kind_of(c.action)
        aim = kind.undo_target(c) if undo else kind.target(c)
        if board is None or board.cards is None or aim is None:
            continue
        types, targets = out.setdefault(c.board_id, (set(), {}))
        types.update(aim[1])
        targets.setdefault(aim[0], []).append(c)
    return out


def own_spans(records: Iterable[JournalRecord], skew: timedelta) -> dict[str, list[Span]]:
    """``own_writes`` of ``records`` on Trello's clock (``skew``: how far it is ahead)."""
    return {
        cid: [(start + skew, end + skew) for start, end in found]
        for cid, found in own_writes(records, skew).items()
    }


def touches_in(
    api: TrelloApi,
    live: Mapping[str, LiveBoard],
    index: Index,
    start: datetime,
    account_id: str,
    spans: Mapping[str, Sequence[Span]],
    *,
    passed_over: Callable[[Change], tuple[Collection[str], datetime | None]] = lambda c: ((), None),
    newest: dict[str, datetime] | None = None,
) -> dict[str, LiveBoard]:
    """``read_touches``' reads (``start``: Trello's time), for the targets of ``index``: its
    work is as the actions read, not as the targets (a
    look of ``recheck.Recheck`` while 20,000 changes are still to send reads a window's).
    ``newest``: each board's newest action date read is put there (Trello's clock)."""
    out = dict(live)
    for board_id, (types, targets) in sorted(index.items()):
        raw = board_actions(
            api,
            board_id,
            # A second early: Trello may compare ``since`` as a whole second, and what came
            # in the same second after ``since`` must be seen (``_last`` drops what came before).
            since=start - CURSOR_STEP,
            action_types=_filter(types),
            keep=False,
        )
        events, names = _events(raw, board_id, url_from(api))
        if newest is not None and events:
            newest[board_id] = max(e.date for found in events.values() for e in found)
        touched: dict[Target, Touch] = {}
        # The actions' targets looked up in the index (which another thread may add to).
        for target in [t for t in events if t in targets]:
            for c in list(targets[target]):
                known, floor = passed_over(c)
                after = start if floor is None else max(start, floor)
                last = _last(events.get(target, ()), after, known)
                if last is None or _own(last, account_id, spans.get(c.change_id, ())):
                    continue
                touched[target] = Touch(
                    action_id=last.action_id,
                    date=last.date,
                    by=names.get(last.by) or MemberRef(last.by),
                    kind=last.kind,
                    value=last.value,
                    app=last.app,
                    removals=tuple(e.date for e in events[target] if e.kind == "remove"),
                )
        if touched:
            out[board_id] = replace(live[board_id], touched=touched)
    return out


def trello_skew(api: TrelloApi) -> timedelta:
    """How far Trello's clock is ahead of this machine's (negative: behind), as this run saw
    it (``TrelloApi.clock_skew``: the ``Date`` of its answers less this machine's time when
    each came; to about a second, which ``SLACK`` absorbs); 0 before any answer. A journal's
    records are moved by the skew their run saw (``written_at``), or by this one when they do
    not say it."""
    skew = api.clock_skew
    return skew if skew is not None else timedelta(0)


def apply_touches(
    api: TrelloApi,
    live: Mapping[str, LiveBoard],
    changes: Iterable[Change],
    *,
    created_at: datetime,
    records: Sequence[JournalRecord],
    account_id: str,
    others: Others | None = None,
    plan_skew: timedelta | None = None,
) -> dict[str, LiveBoard]:
    """``read_touches`` for an apply of a plan file made at ``created_at``: of the changes it
    has still to make, those whose write would be needed (``resolve``: a card member not on
    the card, a field at the value the plan expects), since the plan was made, passing over
    the actions the plan rests on (its evidence: Trello's clock may date them a little after
    ``created_at``). A value changed and set back since (A→B→A) is so seen: the live value
    cannot tell. Card members and values of a board are read in its one listing; no request
    when there are none. A removal or a value set back that was this tool's undo of one of
    ``others`` (the journals beside the apply's, which a dry run may not have made yet) is
    named so (``undone_elsewhere``, by the removals the read saw). ``plan_skew``: Trello's
    clock less the clock that dated ``created_at`` (the plan's ``clock_skew_s``), so that the
    read begins where the plan's did in Trello's time, wherever and whenever it is applied (by
    this run's skew when the plan does not say it)."""
    would = [
        c
        for c in changes
        if kind_of(c.action).target(c) is not None
        and c.board_id in live
        and kind_of(c.action).resolve(c, live[c.board_id])[0] == "not_applied"
    ]
    if not would:
        return dict(live)
    since = created_at if created_at.tzinfo is not None else created_at.replace(tzinfo=UTC)
    out = read_touches(
        api,
        live,
        would,
        since=since,
        since_skew=plan_skew,
        account_id=account_id,
        records=records,
        passed_over=plan_seen,
    )
    return out if others is None else undone_elsewhere(api, out, others)


def undone_elsewhere(
    api: TrelloApi, live: Mapping[str, LiveBoard], others: Others
) -> dict[str, LiveBoard]:
    """``live`` with each member's removal or value set (``touched``) that one of ``others``
    (this tool's journals beside the apply's: same API URL and account; only those whose text
    holds the card and member ids, or the object id, are read) undid (``undid``) marked
    ``undo_of`` that journal's path. By ``others.account_id`` (no app) only: Trello logs a
    write's author, so another member's action is never the tool's (the sandbox logs the card
    removals of a board removal by the remover; whether Trello logs them is unconfirmed)."""
    account_id = others.account_id
    skew = trello_skew(api)
    out = dict(live)
    for board_id, board in live.items():
        touched = dict(board.touched)
        for target, touch in board.touched.items():
            if touch.kind == "add" or touch.app or touch.by.id != account_id:
                continue
            for j in others.journals(*_needles(target)):
                mine = [r for r in j.records if _undoes(r, target)]
                if undid(touch.date, mine, skew, touch.removals):
                    touched[target] = replace(touch, undo_of=str(j.path))
                    break
        if touched != board.touched:
            out[board_id] = replace(board, touched=touched)
    return out


def undid(
    date: datetime,
    records: Sequence[JournalRecord],
    skew: timedelta,
    removals: Iterable[datetime] = (),
) -> bool:
    """Whether an action dated ``date`` (Trello's clock) by the journal's account on a target
    is an undo's write of it among ``records`` (the journal's of that target, in order): within
    one undo write (its ``pending`` record to its answer, ``undone``, moved by ``skew`` and
    widened by ``UNDO_SLACK``; a ``pending`` never answered: from when it was sent, for up to
    ``SLACK``, as the write may land as long as the client would have waited for it, R83a: a
    killed undo's removal that landed 12 s on was added back by the next one-step run) after
    which no apply record of the journal found or put the target back (``pending``,
    ``applied``, ``already_satisfied``): a removal after such a one is not that undo's. Nor is
    one after another removal of the target (``removals``: all its removals' dates, when known,
    on Trello's clock) since that write was sent: an undo's write removes once, the first
    (R84a: a member put back by hand and removed again within minutes of a killed undo was
    called undone; R86a: so too when the undo was resumed, and its answer journaled, half a
    minute on)."""
    opened: dict[str, tuple[datetime, int]] = {}
    last = -1  # the latest apply record that found or put the target back
    spans: list[tuple[datetime, datetime, int]] = []  # each write's (from, to, record index)
    for i, r in enumerate(records):
        at = written_at(r, skew)
        if r.op == "apply":
            last = i if r.status in ("pending", "applied", "already_satisfied") else last
            continue
        start = opened.pop(r.change_id, None)
        if start is not None and (r.status != "undone" or at is None):
            spans.append((start[0], start[0] + SLACK, start[1]))  # from its sending
            start = None
        if at is None:
            continue
        if r.status == "pending":
            opened[r.change_id] = (at, i)
        elif r.status == "undone":
            # At most ``SLACK`` long: an answer journaled much later (an undo resumed after
            # a kill) says nothing of when its write was sent (``own_writes``).
            spans.append(
                (at, at, i)
                if start is None
                else (start[0], min(max(at, start[0]), start[0] + SLACK), i)
            )
    spans += [(at, at + SLACK, i) for at, i in opened.values()]
    removals = [d for d in removals if d < date]
    return any(
        a + skew - UNDO_SLACK <= date <= b + skew + UNDO_SLACK
        and i > last
        and not any(d >= a + skew for d in removals)
        for a, b, i in spans
    )


def _needles(target: Target) -> tuple[str, ...]:
    """What a journal's text holds if it may have undone ``target``'s write."""
    object_id, what = target
    member_id = what.removeprefix("member ")
    return (object_id, member_id if member_id != what else what, '"op": "undo"')


def _undoes(r: JournalRecord, target: Target) -> bool:
    """Whether record ``r`` (an apply's or an undo's) is of ``target``: its card member, or
    its field."""
    object_id, what = target
    member_id = what.removeprefix("member ")
    if member_id != what:
        return r.action == CardMember.action and (r.card_id, r.member_id) == (object_id, member_id)
    v = r.values or {}
    return r.action != CardMember.action and (v.get("object_id"), v.get("field")) == target


def plan_seen(c: Change) -> tuple[set[str], datetime | None]:
    """The actions a plan's change rests on (its evidence: for a value kind every selected
    action, the last of which set the value it expects), and its date: the plan saw them and
    all before them (Trello's clock may date them a little after ``created_at``, which is
    stamped as the plan's command starts: R38b, the culprit's second edit, landing while the
    plan read, was "set back after the plan was made")."""
    e = c.evidence
    if e is None:
        return set(), None
    selected = getattr(c, "actions", ())
    return {i for i in (e.action_id, e.move_action_id, *selected) if i}, e.date


def undo_touches(
    api: TrelloApi,
    live: Mapping[str, LiveBoard],
    items: Iterable[tuple[Change, bool]],
    records: Sequence[JournalRecord],
    account_id: str,
) -> dict[str, LiveBoard]:
    """``read_touches`` for an undo of the journal whose ``records`` these are: of its changes
    (``items``: each with whether an earlier undo of it was interrupted) those whose removal
    live state calls for (``decide_undo``), since the journal's first apply (``undo_since``).
    No request when there are none: an undo with nothing left to write reads no feed."""
    since = undo_since(records, trello_skew(api))
    would = [
        c
        for c, resumed in items
        if kind_of(c.action).undo_target(c) is not None
        and c.board_id in live
        and kind_of(c.action).decide_undo(c, live[c.board_id], resumed=resumed) is None
    ]
    if since is None or not would:
        return dict(live)
    return read_touches(
        api, live, would, since=since, account_id=account_id, records=records, undo=True
    )


def _filter(types: Iterable[str]) -> str:
    """The feed's one ``filter``: the types asked, a sub-filter (``updateCard:closed``) left
    out where its whole type is asked too."""
    items = set(types)
    return ",".join(sorted(x for x in items if x.partition(":")[0] not in items or ":" not in x))


def _events(
    raw: Sequence[Mapping[str, object]], board_id: str, url_from: str
) -> tuple[dict[Target, list[_Event]], dict[str, MemberRef]]:
    """The actions of a board's feed by the target they change, and their authors' names;
    ``url_from``: where the API URL came from, for the message when they are not Trello's."""
    try:
        history = parse_history(raw)
    except HistoryError as exc:
        raise BadResponse(
            f"the API answered board {board_id}'s actions with actions that are not Trello's "
            f"({exc}): check {url_from}"
        ) from None
    out: dict[Target, list[_Event]] = {}
    for a in history.member_actions:
        event = _Event(a.date, a.id, a.kind, None, a.by, a.app)
        out.setdefault((a.card_id, f"member {a.member_id}"), []).append(event)
    for f in history.field_updates:
        event = _Event(f.date, f.id, "set", f.new, f.by, f.app)
        out.setdefault((f.object_id, f.field), []).append(event)
    for target, event in _board_events(raw, board_id):
        out.setdefault(target, []).append(event)
    return out, history.members


def _board_events(
    raw: Sequence[Mapping[str, Any]], board_id: str
) -> Iterator[tuple[Target, _Event]]:
    """The board memberships granted, or set to a role, among a board's actions ``raw`` (each
    checked by ``parse_history`` already), by the member on the board."""
    for action in raw:
        role = BOARD_MEMBER_TYPES.get(action["type"])
        data = action["data"]
        member = data.get("idMemberAdded") or data.get("idMember")
        if role is None or not isinstance(member, str):
            continue
        kind: Literal["add", "set"] = "set" if role else "add"
        yield (
            (board_id, f"board member {member}"),
            _Event(
                parse_date(action["date"]),
                action["id"],
                kind,
                role or None,
                action["idMemberCreator"],
                app_name(action),
            ),
        )


def _last(events: Iterable[_Event], since: datetime, known: Collection[str]) -> _Event | None:
    """The latest of ``events`` after ``since`` but those ``known`` (by date, ties by id)."""
    later = [e for e in events if e.date > since and e.action_id not in known]
    return max(later, key=lambda e: (e.date, e.action_id)) if later else None


def _own(event: _Event, account_id: str, spans: Iterable[Span]) -> bool:
    """Whether ``event`` is taken for one of this tool's writes of the change (module
    docstring): by the journal's account, within one of its ``spans`` widened by ``SLACK``."""
    return event.by == account_id and any(
        start - SLACK <= event.date <= end + SLACK for start, end in spans
    )


def record_time(at: str) -> datetime | None:
    """A journal record's ``at`` as an aware date; None when it does not parse."""
    try:
        parsed = datetime.fromisoformat(at.replace("Z", "+00:00"))
    except ValueError:
        return None
    return parsed if parsed.tzinfo is not None else None
