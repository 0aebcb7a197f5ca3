"""Trello refusing the token's member a board, in words: before a write and after one.

``refusal`` is the one-line error for a board Trello refused to let the token's member read or
change (a ``Refused`` when it answered a write, to say which command resumes), naming the
member, the board and what lets them (``admin_fix``, from their membership there).
``foreseen_refusal`` and ``foreseen_refusals`` are a dry run's warnings that Trello will (or
may) refuse a board's writes, from the memberships the live read gave; ``plan_refusals`` the
one-step run's, from the memberships the plan read; ``refused_boards_line`` the line that ends a
run that went on past refused boards; ``unread_refusals`` a dry run's warnings for a board
whose live read was refused (the run goes on past it), ``unread_reason`` why its changes are
not sent. ``answered`` words what Trello answered.
"""

from __future__ import annotations

import logging
from collections.abc import Collection, Iterable, Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from trello_restore.api import TrelloApi
from trello_restore.board_read import read_board
from trello_restore.errors import ApiError, PermissionDenied
from trello_restore.models import Change, MemberRef, Membership, quote_name
from trello_restore.words import handle, shown_name
from trello_restore.wrote import same_command

if TYPE_CHECKING:
    from trello_restore.live import LiveBoard
    from trello_restore.run import PlanResult
    from trello_restore.runner_types import ApplyReport

__all__ = [
    "GOES_ON",
    "Refused",
    "admin_fix",
    "answered",
    "foreseen_refusal",
    "foreseen_refusals",
    "goes_on_text",
    "plan_refusals",
    "refusal",
    "refusal_warning",
    "refused_boards",
    "refused_boards_line",
    "refused_line",
    "refused_list",
    "unread_named",
    "unread_named_error",
    "unread_named_line",
    "unread_reason",
    "unread_refusals",
]

#: live.py's logger, as before the split: the log file names these warnings as it did.
logger = logging.getLogger("trello_restore.live")


def foreseen_refusal(
    api: TrelloApi,
    board_id: str,
    board_name: str,
    board: LiveBoard,
    writes: int,
    *,
    op: str = "apply",
    stops: str = "",
) -> str | None:
    """A dry run's one-line warning for a board whose ``writes`` changes Trello will (or may)
    refuse, from its live memberships (the same board read) and the token's member
    (``members/me``, already read): ``refusal_warning``. ``op``: the run's, ``apply`` or
    ``undo``; ``stops``: what it does at a refusal (default: it stops at the first)."""
    me = api.me()
    who = MemberRef(str(me["id"]), str(me.get("username") or ""), str(me.get("fullName") or ""))
    ms = board.memberships.get(who.id)
    return refusal_warning(who, board_id, board_name, ms, writes, op=op, stops=stops)


def refusal_warning(
    me: MemberRef,
    board_id: str,
    board_name: str,
    ms: Membership | None,
    writes: int,
    *,
    op: str = "apply",
    stops: str = "",
) -> str | None:
    """The one-line warning for a board whose ``writes`` changes Trello will or may refuse
    the token's member ``me``, from its membership there (``ms``; None: none): an observer of
    it will be refused (observers cannot change a board); not an active member of it, may be
    (Trello lets a workspace admin change a workspace-visible board without being its member).
    None when the member can write, or nothing would be written. ``op``: the run's, ``apply``,
    ``undo`` or ``run`` (the one-step run); ``stops``: what the run does at a refusal (default:
    it stops at the first, exit 3)."""
    if writes <= 0 or (ms is not None and ms.active and ms.member_type != "observer"):
        return None
    user = handle(me)
    who = f"{user} ({shown_name(me.full_name)})" if me.full_name else user
    where = f"board {quote_name(board_name)}" if board_name else f"board {board_id}"
    changes = "the change" if writes == 1 else f"the {writes} changes"
    if ms is not None and ms.active:
        what, will = "an observer of it", "will refuse"
    else:
        what = "not a member of it" if ms is None else "not an active member of it"
        will = "may refuse (unless they are an admin of its workspace)"
    return (
        f"{where}: the token's member {who} is {what}, so Trello {will} {changes} that would "
        f"be {'undone' if op == 'undo' else 'applied'} there "
        f"({stops or f'an {op} stops at the first refused, exit 3'}); "
        f"{admin_fix(user, ms, why=False)}{_other_token(op, ', or ')}"
    )


def admin_fix(
    user: str, ms: Membership | None, *, known: bool = True, why: bool = True, several: bool = False
) -> str:
    """What lets the token's member ``user`` change a board, from their membership there
    (``ms``; None: none; ``known`` False: not read): an observer made a normal member, a
    deactivated member reactivated, someone not a member added; with ``why``, what their
    membership is, in brackets. ``several``: the same membership of several boards, said of
    them all."""
    if several:
        fix = admin_fix(user, ms, known=known, why=why)
        return fix.replace("that board", "those boards").replace("changing it", "changing them")
    if not known:
        return f"ask a board admin to add {user} to that board (or to reactivate them there)"
    if ms is None:
        fix, state = f"ask a board admin to add {user} to that board", "not a member of it"
    elif ms.deactivated:
        fix, state = f"ask a board admin to reactivate {user} on that board", "deactivated there"
    elif ms.unconfirmed:
        fix = f"have {user} accept their invitation to that board"
        state = "invited, not yet a member"
    elif ms.member_type == "observer":
        fix = f"ask a board admin to make {user} a normal member of that board"
        state = "an observer of it"
    else:  # an active member who may write: not a membership Trello refused
        # Trello answers a token without write access as it answers a member without rights
        # (trello-api-notes.md §4), and its authorize page makes such a token unless asked.
        return (
            f"{user} is a{'n' if ms.member_type[:1] in 'aeiou' else ''} {ms.member_type} "
            "member of that board, so the token is likely read-only (Trello makes one unless "
            "asked for scope=read,write): make a token of theirs with read and write access "
            "(see the README's Usage) and use it, or else ask a board admin what keeps them from "
            "changing it"
        )
    if ms is not None and ms.member_type == "observer" and not ms.active:
        fix += " as a normal member"
    return f"{fix} (they are {state})" if why else fix


def _other_token(op: str, lead: str, *, boards: int = 1) -> str:
    """The other way out, after ``lead``: another token to plan with (of a member who can edit
    the board, or the ``boards`` boards); none for an undo, which runs as the account that
    applied."""
    if op == "undo":
        return " (an undo runs as the account that applied: another account's token will not do)"
    them = "it" if boards == 1 else "them"
    return f"{lead}plan again with the token of a member who can edit {them}"


def foreseen_refusals(
    api: TrelloApi,
    changes: Iterable[Change],
    live: Mapping[str, LiveBoard],
    *,
    op: str = "apply",
    goes_on: bool = False,
) -> None:
    """A dry run's warnings: ``changes`` are those it would write (``op``: ``apply`` or
    ``undo``); one line for each board whose share of them Trello will (the token's member an
    observer) or may (not a member) refuse (``foreseen_refusal``), named as its changes name it.
    ``goes_on``: the run goes on past a refused board (``goes_on_text``), else it stops."""
    writes, names = _per_board(changes)
    stops = goes_on_text(op) if goes_on else ""
    for board_id, count in sorted(writes.items()):
        name = names[board_id] or live[board_id].name  # an undo's changes may hold no names
        line = foreseen_refusal(api, board_id, name, live[board_id], count, op=op, stops=stops)
        if line is not None:
            logger.warning("%s", line)


def unread_refusals(
    api: TrelloApi, changes: Iterable[Change], live: Mapping[str, LiveBoard], *, op: str = "apply"
) -> None:
    """A dry run's warnings for the boards of ``changes`` (those it looked at; ``op``:
    ``apply`` or ``undo``) whose live read Trello refused the token's member
    (``LiveBoard.refused``, in a run that goes on past such a board): one line each, who, which
    board, what Trello answered, that nothing is sent there and what lets them read it."""
    writes, names = _per_board(changes)
    me = api.me()
    user = f"@{me['username']}" if me.get("username") else str(me["id"])
    who = f"{user} ({shown_name(str(me['fullName']))})" if me.get("fullName") else user
    for board_id, count in sorted(writes.items()):
        said = live[board_id].refused if board_id in live else ""
        if not said:
            continue
        name = names[board_id]
        where = f"board {quote_name(name)}" if name else f"board {board_id}"
        logger.warning(
            "%s: Trello refused to let the token's member %s read it (%s), so the %s sends "
            "nothing there (%d change%s not attempted), goes on with the other boards and exits "
            "3; %s%s",
            where,
            who,
            said,
            op,
            count,
            "" if count == 1 else "s",
            admin_fix(user, None, known=False),
            _other_token(op, ", or "),
        )


def unread_reason(said: str) -> str:
    """Why a change is not sent on a board whose live read Trello refused the token's member
    (``said``: what it answered), in a run that went on past it."""
    return f"not sent: Trello refused the token's member a read of this board, {said}"


def goes_on_text(op: str) -> str:
    """What a run (``op``: ``run``, the one-step run; ``apply``; ``undo``) with changes on
    several boards does at a refusal (``ApplyOptions.refused_boards_go_on``), for its warnings."""
    return (
        f"the {op} sends the first; refused, it sends nothing more there, goes on with the other "
        "boards and exits 3"
    )


#: What a one-step run with changes on several boards does at a refusal.
GOES_ON = goes_on_text("run")


def plan_refusals(
    changes: Iterable[Change], memberships: Mapping[str, Mapping[str, Membership]], me: MemberRef
) -> list[str]:
    """A one-step run's warnings, before anything is written: one line for each board whose
    share of the plan's ``changes`` Trello will or may refuse the token's member ``me``, from
    the boards' ``memberships`` the plan read (``refusal_warning``; no request). With changes
    on several boards the run goes on past a refused board (``GOES_ON``); on one it stops."""
    writes, names = _per_board(changes)
    stops = GOES_ON if len(writes) > 1 else "a run stops at the first refused, exit 3"
    lines = (
        refusal_warning(
            me, board_id, names[board_id], memberships[board_id].get(me.id), count, stops=stops
        )
        for board_id, count in sorted(writes.items())
        if board_id in memberships
    )
    return [line for line in lines if line is not None]


def _per_board(changes: Iterable[Change]) -> tuple[dict[str, int], dict[str, str]]:
    """How many of ``changes`` are on each board, and each board's name as they name it."""
    writes: dict[str, int] = {}
    names: dict[str, str] = {}
    for c in changes:
        writes[c.board_id] = writes.get(c.board_id, 0) + 1
        names[c.board_id] = names.get(c.board_id) or c.board_name
    return writes, names


def refused_boards_line(
    me: MemberRef | None,
    refused: Iterable[tuple[str, str, str, int]],
    *,
    elsewhere: int | None = None,
    journal: Path | None = None,
    memberships: Mapping[str, Membership | None] | None = None,
    command: str = "",
    op: str = "run",
    unread: Collection[str] = (),
    earlier: int = 0,
) -> str:
    """The one line that ends a run that went on past boards refusing the token's member
    ``me`` a write, or a read (``unread``: those board ids; nothing was sent there)
    (``refused``: each board's id, name, what Trello answered and how many of its changes
    were not written): which boards, what became of the others' (``elsewhere``: how many
    changes were written on them by this run, ``earlier``: how many an earlier run had done;
    None: no other board had changes), the ``journal``, that the run
    is not the last run, and what to do: what fits the member's membership of each board as
    the plan read it (``memberships``, by board id; a board not in it: not read),
    ``admin_fix``'s, said once when it is the same for every board. An ``apply`` or ``undo``
    (``op``) records no last run and names the ``command`` that resumes it."""
    refused = list(refused)
    boards = [
        f"{quote_name(name) if name else board_id}{f' ({said})' if said else ''}"
        for board_id, name, said, _ in refused
    ]
    left = sum(n for _, _, _, n in refused)
    user = handle(me) if me is not None else ""
    who = f"{user} ({shown_name(me.full_name)})" if me is not None and me.full_name else user
    one = len(boards) == 1
    where = f"board {boards[0]}" if one else f"{len(boards)} boards, {', '.join(boards)}"
    read = sum(board_id in unread for board_id, _, _, _ in refused)
    verb = "read" if read == len(refused) else "change" if not read else "read or change"
    sent = "nothing was sent there" if verb == "read" else "nothing more was sent there after "
    sent += "" if verb == "read" else "the refusal"
    done = "undone" if op == "undo" else "written"
    if elsewhere is None:
        others = f"no other board had changes to {'undo' if op == 'undo' else 'write'}"
    elif elsewhere == 0 and earlier:
        others = f"the other boards' changes were {done} by an earlier run"
    elif elsewhere == 0:
        others = f"none of the other boards' changes was {done} either (see the summary)"
    else:
        others = f"the other boards' changes were {done} as the summary says"
    kept = f"; journal {journal}" if journal is not None else ""
    them = "it" if one else "them"
    return (
        f"Trello refused to let the token's member{f' {who}' if who else ''} {verb} {where}: "
        f"{left} of {'its' if one else 'their'} changes were not {done} ({sent}{kept}); "
        f"{others}{'' if command else ', and this run is not recorded as the last run'}. "
        f"{_refused_fix(user or 'the member', refused, memberships)}, "
        + (
            f"then run {command} again to {'finish' if op == 'undo' else 'resume'}"
            f"{_other_token(op, '; or ', boards=len(boards))}"
            if command
            else f"then {same_command()} (a --since last-run run covers this window again); or "
            f"restore {them} with the token of a member who can edit {them}"
        )
    )


def _refused_fix(
    user: str,
    refused: Iterable[tuple[str, str, str, int]],
    memberships: Mapping[str, Membership | None] | None,
) -> str:
    """What lets ``user`` change the ``refused`` boards (``refused_boards_line``), capitalised:
    ``admin_fix`` of their membership of each (not known without ``memberships``, or for a
    board not in it); once for all when it is the same, else each after its board."""
    known = memberships or {}
    boards = [
        (board_id, quote_name(name) if name else board_id) for board_id, name, _, _ in refused
    ]
    fixes = {
        shown: admin_fix(user, known.get(board_id), known=board_id in known, why=False)
        for board_id, shown in boards
    }
    if len(set(fixes.values())) == 1:
        board_id = boards[0][0]
        fix = admin_fix(
            user, known.get(board_id), known=board_id in known, why=False, several=len(boards) > 1
        )
    else:
        fix = "; ".join(f"for {board}, {text}" for board, text in fixes.items())
    return fix[:1].upper() + fix[1:]


def answered(err: ApiError) -> str:
    """What Trello answered, for a message: ``HTTP 401 unauthorized permission requested``
    (its status and error text, either when the other is missing; "" without both)."""
    return " ".join(x for x in (f"HTTP {err.status}" if err.status else "", err.trello_error) if x)


class Refused(PermissionDenied):
    """Trello refusing the token's member a write to a board (``refusal``), whose message says
    to run the same command again (``same_command``: a one-step run's, R60b): ``resumed``
    names the command itself (apply's, undo's)."""

    def __init__(self, head: str, tail: str, status: int | None, trello_error: str) -> None:
        super().__init__(f"{head}{same_command()}{tail}", status, trello_error)
        self._parts = (head, tail)

    def resumed(self, command: str) -> PermissionDenied:
        """The same message with ``command`` where it says the same command."""
        head, tail = self._parts
        return PermissionDenied(f"{head}run {command} again{tail}", self.status, self.trello_error)


def refusal(
    api: TrelloApi,
    board_id: str,
    board_name: str,
    err: ApiError,
    *,
    wrote: bool,
    op: str = "apply",
    journal: Path | None = None,
    made: bool = True,
) -> PermissionDenied:
    """The one-line error for Trello refusing the token's member a board: who the member is
    (``members/me``, already read), which board (by name: ``board_name``, else read), and
    what to do, as their membership there asks (``admin_fix``). ``wrote``: the refusal
    answered a write (a ``Refused``: the ``journal`` then holds what was done, and the
    board's memberships are read to tell what to do), not a read (the board cannot be read,
    so neither can its memberships). ``op``: the run's, ``apply`` or ``undo``. ``made``:
    whether a change of the journal was made on Trello before it (R43a: a read-only token's
    first write said "what was done is in the journal" with nothing done)."""
    me_id = ""
    try:
        me = api.me()
        me_id = str(me["id"])
        user = f"@{me['username']}" if me.get("username") else me_id
        who = f"{user} ({shown_name(str(me['fullName']))})" if me.get("fullName") else user
    except ApiError:
        user = who = "the token's member"
    memberships: dict[str, Membership] | None = None
    if wrote:
        try:
            memberships, _, _, name, *_ = read_board(api, board_id, lists=False)
            board_name = board_name or name
        except ApiError:
            memberships = None
    elif not board_name:
        try:
            raw = api.get(f"boards/{board_id}", {"fields": "name"})
            board_name = str(raw.get("name") or "") if isinstance(raw, dict) else ""
        except ApiError:
            board_name = ""
    board = f"board {quote_name(board_name)}" if board_name else f"board {board_id}"
    said = f" ({answered(err)})" if answered(err) else ""
    known = memberships is not None and bool(me_id)
    fix = admin_fix(user, (memberships or {}).get(me_id), known=known)
    fix = fix[:1].upper() + fix[1:]
    other = _other_token(op, "; or ")
    if not wrote:
        head = f"Trello refused to let the token's member {who} read {board}{said}; nothing "
        head += "was written" + (
            f" by this run, and what an earlier run of it did is in the journal {journal}"
            if journal is not None
            else ""
        )
        head += f". {fix}, then "
        return PermissionDenied(f"{head}{same_command()}{other}", err.status, err.trello_error)
    where = f" {journal}" if journal is not None else ""
    done = (
        f"what was done is in the journal{where}"
        if made
        else f"no change had been made before it (the journal{where} records the refused write)"
    )
    head = (
        f"Trello refused to let the token's member {who} change {board}{said}; nothing more "
        f"was sent, and {done}. {fix}, then "
    )
    tail = f" to {'finish' if op == 'undo' else 'resume'}{other}"
    return Refused(head, tail, err.status, err.trello_error)


def _who(me: MemberRef) -> tuple[str, str]:
    """The token's member ``me`` as a message names them: ``@user``, and ``@user (Full Name)``."""
    user = handle(me)
    return user, f"{user} ({shown_name(me.full_name)})" if me.full_name else user


def unread_named_error(me: MemberRef, unread: Sequence[tuple[str, ApiError]]) -> PermissionDenied:
    """The error for the boards a run names (each as the user gave it, with Trello's answer)
    whose read Trello refused the token's member ``me``, when there is nothing else to do: the
    run stops, naming every one of them (the first alone would be fixed, and the next run stop
    at the second)."""
    user, who = _who(me)
    given = [g for g, _ in unread]
    one = len(given) == 1
    what = f"board {given[0]}" if one else f"{len(given)} boards, {', '.join(given)}"
    err = unread[0][1]
    return PermissionDenied(
        f"the token's member {who} cannot read {what}: "
        f"{admin_fix(user, None, why=False, several=not one)}, or use a token of a board "
        "member",
        err.status,
        err.trello_error,
    )


def unread_named(
    me: MemberRef,
    given: str,
    err: ApiError,
    *,
    dry_run: bool,
    accepted: str | None = None,
    alone: bool = False,
) -> str:
    """The warning for a board of several a run names (``given``) whose read Trello refused
    the token's member ``me``: it is left out of the plan, the run goes on with the others
    (``alone``: there are none, every board was refused, so it plans nothing); with
    ``accepted`` (where ``--accept-unreadable-boards`` was set), it is given up."""
    user, who = _who(me)
    said = f" ({answered(err)})" if answered(err) else ""
    left_out = f"board {given}: Trello refused to let the token's member {who} read it{said}"
    if accepted is not None:
        would = "a run that applies would be" if dry_run else "this run is"
        return (
            f"{left_out}; it is left out of the plan and given up, as {accepted} asks: {would} "
            "recorded as the last run, and later runs will not restore what it lost"
        )
    goes_on = (
        "a run that applies would go on with the other boards, exit 3 and not be recorded as "
        "the last run"
        if dry_run
        else "the run goes on with the other boards, exits 3 and is not recorded as the last run"
    )
    if alone:
        goes_on = f"none of this run's boards could be read: {_NONE_READ[dry_run]}"
    return (
        f"{left_out}, so it is left out of the plan; {goes_on}; {admin_fix(user, None, why=False)}"
    )


#: What a run (a dry run: True) none of whose boards could be read does.
_NONE_READ = {
    False: "the run plans nothing, exits 3 and is not recorded as the last run",
    True: "a run that applies would plan nothing, exit 3 and not be recorded as the last run",
}


def unread_named_line(
    me: MemberRef, unread: Iterable[tuple[str, str]], *, dry_run: bool, alone: bool = False
) -> str:
    """The one line that ends a run (``dry_run``: a dry run) that left out the boards it names
    whose read Trello refused the token's member ``me`` (``unread``: each as the user gave it,
    and what Trello answered): which, that the run is not recorded, what to ask for.
    ``alone``: no other board was planned (every board refused)."""
    boards = [f"{given}{f' ({said})' if said else ''}" for given, said in unread]
    user, who = _who(me)
    one = len(boards) == 1
    where = f"board {boards[0]}" if one else f"{len(boards)} boards, {', '.join(boards)}"
    it, them = ("it", "it") if one else ("they", "them")
    if alone:  # no other boards: nothing was planned
        done = f"none of this run's boards could be read, so {_NONE_READ[dry_run]}"
    else:
        done = f"{it} {'was' if one else 'were'} left out of " + (
            "this dry run's plan, and a run that applies would not be recorded as the last run"
            if dry_run
            else "this run, whose other boards were planned and applied as the summary says, "
            "and this run is not recorded as the last run"
        )
    fix = admin_fix(user, None, why=False, several=not one)
    return (
        f"Trello refused to let the token's member {who} read {where}: {done}. "
        f"{fix[:1].upper()}{fix[1:]}, then {same_command()} (a --since last-run run covers this "
        "window again); or restore "
        f"{them} with the token of a member who can read {them}; or, to give up what "
        f"{'it' if one else 'they'} lost, run once with --accept-unreadable-boards"
    )


# -------------------------------------------------- refused boards in the JSON summaries


def refused_boards(result: PlanResult, report: ApplyReport | None) -> list[dict[str, Any]]:
    """The boards that refused the token's member a write in a run that went on past them
    (``ApplyReport.refused``), in the plan's order: each board's ``id``, ``name``, ``error``
    (what Trello answered) and ``not_written`` (its changes failed or not attempted); then the
    boards it could not read, left out of the plan (``PlanResult.unread_named``: ``id`` as
    known, else as the user gave it; ``name`` as a recorded run knew it, else ""; nothing
    planned there)."""
    names = {**dict(result.meta.boards), **{c.board_id: c.board_name for c in result.plan.changes}}
    unread = [
        {
            "id": u.id or u.given,
            "name": u.name,
            "error": f"not read: {u.said}",
            "not_written": 0,
            "refused": "read",
        }
        for u in result.unread_named
    ]
    return refused_list(report, names, [c.board_id for c in result.plan.changes]) + unread


def refused_list(
    report: ApplyReport | None, names: Mapping[str, str], order: Iterable[str]
) -> list[dict[str, Any]]:
    """``refused_boards`` of any apply or undo: the boards in ``order`` (board ids, the first
    of each counts), named by ``names``, each with what Trello refused (``refused``: ``read``
    or ``write``)."""
    if report is None or not report.refused:
        return []
    left: dict[str, int] = {}
    for o in report.outcomes:
        if o.board_id in report.refused and o.status in ("failed", "not_attempted"):
            left[o.board_id] = left.get(o.board_id, 0) + 1
    rank = {b: i for i, b in enumerate(dict.fromkeys(order))}
    return [
        {
            "id": b,
            "name": names.get(b, ""),
            "error": said,
            "not_written": left.get(b, 0),
            "refused": "read" if b in report.refused_reads else "write",
        }
        for b, said in sorted(report.refused.items(), key=lambda kv: rank.get(kv[0], len(rank)))
    ]


def refused_line(result: PlanResult, report: ApplyReport) -> str:
    """The one line that ends a run that went on past boards refusing its writes."""
    boards = refused_boards(result, report)
    others = [o for o in report.outcomes if o.board_id not in report.refused]
    return refused_boards_line(
        result.meta.account,
        [(b["id"], b["name"], b["error"], b["not_written"]) for b in boards],
        elsewhere=sum(o.status == "applied" for o in others) if others else None,
        journal=report.journal_path,
        # As read after the refusal (``run_apply.with_refusals``), else as the plan read them.
        memberships={**result.account_memberships, **report.refused_memberships},
        unread=report.refused_reads,
    )
