"""Carry a plan out against live Trello, safely and fast (design.md §5; issue 4).

``apply_plan`` decides nothing of its own beyond each change's precondition against live
state. Order of operations:

1. Refuse a plan made for another API URL or account, or offline (``check_plan_target``), and
   take the locks of the plan and of its boards (``apply_lock``; not for a dry run).
2. Put every request of the run under one ``RateLimiter`` (the api's own, or one made from
   ``ApplyOptions``): reads, writes and retries of every worker share it.
3. Skip what the journal says is done (``applied``/``already_satisfied``): no request for it.
   The plan's ``blocked`` entries are journaled ``blocked``; nothing is written for them.
4. Read live state board by board: one fresh listing of each board's cards (``idMembers``,
   paged) and one of its memberships; never a request per card. The other boards the plan
   touches (its boards in scope) are read for their memberships only, to know who is
   deactivated: a member deactivated on any of them is never granted nor added.
5. Board memberships first (``add_member_to_board``), all finished before any card change.
6. Card members (``add_member_to_card``), concurrently on ``workers`` threads.

Each change's precondition (``decide_card``, ``decide_board``: pure functions of live state)
gives its outcome without a write (``already_satisfied``, ``drifted``, ``blocked``), or a write.
A write is journaled ``pending`` (fsynced) before it is sent and its outcome right after it is
answered, so a killed run loses nothing and duplicates nothing: on resume a ``pending`` change
whose member is on the card was put there by this tool (``applied``, no request). Writes are
retried after a 429 (never processed), a 5xx or a lost connection (possibly processed: a retry
answered ``400 member is already on the card`` is then this tool's own add, ``applied``), with
exponential backoff and jitter, at most ``max_retries`` times; a change still failing is
journaled ``failed`` with the HTTP status and Trello's text, and the run goes on.

Stopping (design.md §5). Three things stop a run early; what is in flight is answered and
journaled, nothing more is sent, and the changes never started are reported
``not_attempted`` and not journaled (a re-run does them):

- an ``AuthError`` (the token stopped working): raised as it is;
- a permission refusal (``PermissionDenied``) of a write: raised as one line naming the
  token's member and the board. So that it costs one write and not one per worker, the first
  write of each kind to each board goes alone (``Runner._admit``), the others follow once it is
  answered with anything but a refusal;
- Trello failing persistently (``Breaker``): many write attempts in a row answered 5xx or not
  at all, over at least one backoff, or most of the recent writes failing after their retries.
  The run ends with ``ApplyReport.stopped`` set (exit code "unreachable"); retries waiting
  for their turn are not sent. A 429 counts for neither: the shared limiter already slows
  every worker to the budget.

The machinery that sends, retries, journals and stops is ``runner.py``; live state is read by
``live.py``. ``undo.py`` reuses both (and ``apply_lock``).
"""

from __future__ import annotations

import contextlib
import logging
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from pathlib import Path
from typing import Any

from filelock import FileLock, Timeout

from trello_restore import config
from trello_restore.api import MemberStandIn, TrelloApi
from trello_restore.errors import LockHeld, UsageError
from trello_restore.journal import DONE, Journal
from trello_restore.live import (
    LiveBoard,
    deactivated_members,
    read_live,
    read_memberships,
    refusal,
)
from trello_restore.planfile import FORMAT, FORMAT_VERSION, PlanDict, plan_digest
from trello_restore.runner import (
    NOT_ATTEMPTED,
    SKIPPED_DONE,
    WOULD_APPLY,
    ApplyOptions,
    ApplyReport,
    Breaker,
    ChangeOutcome,
    Item,
    Runner,
    WriteRule,
)

__all__ = [
    "ALREADY_ON_CARD",
    "NOT_ATTEMPTED",
    "SKIPPED_DONE",
    "WOULD_APPLY",
    "ApplyOptions",
    "ApplyReport",
    "Breaker",
    "ChangeOutcome",
    "Item",
    "LiveBoard",
    "Runner",
    "WriteRule",
    "apply_lock",
    "apply_plan",
    "check_plan_target",
    "deactivated_members",
    "decide_board",
    "decide_card",
    "read_live",
    "read_memberships",
    "refusal",
]

logger = logging.getLogger(__name__)

#: Trello's answer to adding a member who is on the card already (notes §3.1): success.
ALREADY_ON_CARD = "member is already on the card"


def _item(c: Mapping[str, Any]) -> Item:
    m = c["member"]
    member = MemberStandIn(m["id"], m.get("username", ""), m.get("fullName", ""))
    card = c.get("card") or {}
    return Item(
        c["change_id"],
        c["action"],
        c["board"]["id"],
        card.get("id", ""),
        member,
        c.get("role", ""),
        str(c["board"].get("name") or ""),
    )


# ------------------------------------------------------------------------------ target, lock


def check_plan_target(doc: Mapping[str, Any], api_url: str, account_id: str) -> None:
    """Refuse (``UsageError``) a plan made offline, or for another API URL or account."""
    account = doc.get("account")
    if not isinstance(account, Mapping) or not account.get("id"):
        raise UsageError(
            "this plan was made offline from board exports and names no account, so it cannot "
            "be applied; make the plan over the API (--board … --plan-out FILE) and apply that"
        )
    planned_url = str(doc.get("api_url", "")).rstrip("/")
    if planned_url != api_url.rstrip("/"):
        raise UsageError(
            f"this plan was made for {planned_url}, not {api_url.rstrip('/')}; pass --api-url "
            "(or TRELLO_API_URL) for the API it was made for, or make a new plan"
        )
    if account["id"] != account_id:
        who = account.get("username") or account["id"]
        raise UsageError(
            f"this plan was made by Trello account {who}, not the token's; use that account's "
            "token, or make a new plan with this one"
        )


def lock_names(plan_key: str, board_ids: Iterable[str]) -> list[str]:
    """The lock files a run takes: one for the plan, one per board it changes."""
    return [f"plan-{plan_key[:16]}", *(f"board-{b}" for b in sorted(set(board_ids)))]


@contextlib.contextmanager
def apply_lock(names: Sequence[str], lock_dir: Path | None = None) -> Iterator[None]:
    """Hold the named locks (in ``state_dir()/locks``), or raise ``LockHeld`` at once.

    Non-blocking: another run of the same plan or on the same board means this one stops
    before it writes anything. The locks are released when the block ends (and by the
    operating system if the process dies)."""
    directory = lock_dir if lock_dir is not None else config.state_dir() / "locks"
    try:
        directory.mkdir(parents=True, exist_ok=True, mode=0o700)
    except OSError as exc:
        raise UsageError(
            f"cannot create the lock directory {directory} ({exc.strerror or exc}); check "
            "TRELLO_RESTORE_HOME and the directory's permissions"
        ) from None
    held: list[FileLock] = []
    try:
        for name in names:
            lock = FileLock(directory / f"{name}.lock")
            try:
                lock.acquire(blocking=False)
            except Timeout:
                what = "plan" if name.startswith("plan-") else f"board {name[len('board-') :]}"
                raise LockHeld(
                    f"another trello-restore run is applying or undoing this {what} "
                    f"(lock {lock.lock_file}); wait for it to finish and run again"
                ) from None
            held.append(lock)
        yield
    finally:
        for lock in reversed(held):
            lock.release()


# -------------------------------------------------------------------------------- decisions

#: A decision: the final ``(status, why)``, or None when the change needs its write.
Decision = tuple[str, str] | None


def _deactivated_on(item: Item, live: LiveBoard, deactivated_on: str | None) -> str | None:
    """Where the member is deactivated: ``this board``, else ``deactivated_on`` (another board
    the plan touches, as it reads in a message), else None."""
    ms = live.memberships.get(item.member.id)
    if ms is not None and ms.deactivated:
        return "this board"
    return deactivated_on


def decide_board(
    item: Item, live: LiveBoard, *, resumed: bool, deactivated_on: str | None = None
) -> Decision:
    """Grant a board membership? Not when the member is an active member already (then it is
    ``applied`` if an earlier, killed run of this plan had sent the grant: ``resumed``), nor
    for a member deactivated on this board or on another board the plan touches
    (``deactivated_on``: never granted), nor on a board that is gone."""
    if live.cards is None:
        return "drifted", live.error
    if live.is_active(item.member.id):
        return ("applied", "") if resumed else ("already_satisfied", "")
    where = _deactivated_on(item, live, deactivated_on)
    if where is not None:
        return "blocked", f"the member is deactivated (on {where}): never granted"
    return None


def decide_card(
    item: Item,
    live: LiveBoard,
    *,
    resumed: bool,
    grant: str | None,
    dry_run: bool = False,
    deactivated_on: str | None = None,
) -> Decision:
    """Add the member to the card? ``grant`` is this run's outcome of the plan's grant of board
    membership to the member (None when the plan has none); ``deactivated_on`` names a board
    the plan touches where the member's membership says deactivated (None when none does).

    - board or card gone, or the card on another board → ``drifted``;
    - member on the card → ``already_satisfied`` (``applied`` when ``resumed``: the member is
      there because of this tool's own earlier attempt, journaled ``pending``);
    - member deactivated on this board or on ``deactivated_on`` → ``blocked`` (never added);
    - the grant was not attempted (the run is stopping) → ``not_attempted``;
    - member neither an active board member nor granted membership in this run → ``blocked``
      (``failed`` when the grant failed, so that a re-run retries both);
    - otherwise the write is needed.
    """
    if live.cards is None:
        return "drifted", live.error
    card = live.cards.get(item.card_id)
    if card is None or card.board_id != item.board_id:
        return "drifted", "the card was deleted or moved to another board"
    if item.member.id in card.member_ids:
        return ("applied", "") if resumed else ("already_satisfied", "")
    where = _deactivated_on(item, live, deactivated_on)
    if where is not None:
        return "blocked", f"the member is deactivated (on {where}): never added"
    if grant == NOT_ATTEMPTED:
        return NOT_ATTEMPTED, "its board membership was not granted: the run stopped"
    granted = ("applied", "already_satisfied", WOULD_APPLY) if dry_run else ("applied",)
    if live.is_active(item.member.id) or grant in granted:
        return None
    if grant == "failed":
        return "failed", "granting the member board membership failed"
    return "blocked", "the member is not an active member of the card's board"


# ------------------------------------------------------------------------------------- apply


def apply_plan(
    doc: PlanDict,
    api: TrelloApi,
    journal: Journal | None,
    options: ApplyOptions,
    progress: Callable[[ChangeOutcome], None] | None = None,
) -> ApplyReport:
    """Apply a validated plan document exactly as written; see the module docstring.

    ``journal`` is the plan's journal (``Journal.open`` with this plan's digest); it may be None
    only on a dry run, where it is read (never written) when given. The locks are taken here.
    Raises ``UsageError`` for a plan of another target or journal, ``LockHeld`` when another run
    holds the plan or one of its boards, ``ApiError`` when live state cannot be read (before
    any write), ``AuthError`` when the token stops working and ``PermissionDenied`` when
    Trello refuses a write (both after the writes in flight are answered and journaled).
    When Trello keeps failing the run stops early and the report says why (``stopped``)."""
    if doc.get("format") != FORMAT or doc.get("format_version") != FORMAT_VERSION:
        # read_plan / plan_to_dict give validated documents; this only guards against others.
        raise UsageError(
            f"this is not a trello-restore plan of format {FORMAT_VERSION}; make the plan again "
            "with --plan-out"
        )
    digest = plan_digest(doc)
    if journal is None and not options.dry_run:
        raise ValueError("apply_plan needs a journal unless it is a dry run")
    if journal is not None and journal.header.plan_digest != digest:
        raise UsageError(
            f"{journal.path} is the journal of another plan; pass a different --journal or "
            "apply the plan it belongs to"
        )
    check_plan_target(doc, api.settings.api_url, str(api.me()["id"]))
    changes = [_item(c) for c in doc["changes"]]
    blocked = [_item(b["change"]) for b in doc["blocked"]]
    order = [i.change_id for i in (*changes, *blocked)]
    boards = {i.board_id for i in (*changes, *blocked)}
    # Every board the plan touches, by name: those of its changes and its boards in scope.
    inputs = doc.get("inputs") or {}
    names = {str(b["id"]): str(b.get("name") or "") for b in inputs.get("boards", [])}
    names.update({i.board_id: i.board_name for i in (*changes, *blocked)})
    locks: contextlib.AbstractContextManager[None] = (
        contextlib.nullcontext() if options.dry_run else apply_lock(lock_names(digest, boards))
    )
    with locks, Runner(api, journal, options, "apply", progress) as run:
        _apply(run, changes, blocked, journal, names)
        return run.report(order)


def _apply(
    run: Runner,
    changes: list[Item],
    blocked: list[Item],
    journal: Journal | None,
    names: Mapping[str, str],
) -> None:
    dry = run.options.dry_run
    latest = journal.latest() if journal is not None else {}
    done = {cid for cid, r in latest.items() if r.op == "apply" and r.status in DONE}
    resumed = journal.pending() if journal is not None else set()
    resumed = {cid for cid in resumed if latest[cid].op == "apply"}
    for item in blocked:
        last = latest.get(item.change_id)
        again = last is not None and last.op == "apply" and last.status == "blocked"
        run.settle(item, "blocked", "not_board_member", journal=not again)
    todo: list[Item] = []
    for item in changes:
        if item.change_id in done:
            run.settle(item, SKIPPED_DONE, journal=False)
        else:
            todo.append(item)
    if not todo:
        return
    live = read_live(run.api, {i.board_id for i in todo}, names)
    # Deactivated on any board the plan touches: never granted, never added (design.md §3).
    deactivated = {
        member: f'board "{names[board]}"' if names.get(board) else f"board {board}"
        for member, board in deactivated_members(run.api, live, names).items()
    }
    grants = [i for i in todo if i.action == "add_member_to_board"]
    cards = [i for i in todo if i.action == "add_member_to_card"]

    jobs: list[tuple[Item, Callable[[], object], WriteRule]] = []
    for item in grants:
        decision = decide_board(
            item,
            live[item.board_id],
            resumed=item.change_id in resumed,
            deactivated_on=deactivated.get(item.member.id),
        )
        if decision is not None:
            run.settle(item, *decision)
        elif dry:
            run.settle(item, WOULD_APPLY)
        else:
            send = _grant_call(run.api, item)
            jobs.append((item, send, WriteRule("applied", resumed=item.change_id in resumed)))
    run.run_writes(jobs)  # every grant is answered before any card change starts

    grant_status = {(g.board_id, g.member.id): run.outcomes[g.change_id].status for g in grants}
    jobs = []
    for item in cards:
        decision = decide_card(
            item,
            live[item.board_id],
            resumed=item.change_id in resumed,
            grant=grant_status.get((item.board_id, item.member.id)),
            dry_run=dry,
            deactivated_on=deactivated.get(item.member.id),
        )
        if decision is not None:
            run.settle(item, *decision)
        elif dry:
            run.settle(item, WOULD_APPLY)
        else:
            rule = WriteRule(
                "applied",
                benign=ALREADY_ON_CARD,
                benign_ours="applied",
                benign_other="already_satisfied",
                resumed=item.change_id in resumed,
            )
            jobs.append((item, _add_call(run.api, item), rule))
    run.run_writes(jobs)


def _grant_call(api: TrelloApi, item: Item) -> Callable[[], object]:
    return lambda: api.add_board_member(item.board_id, item.member, item.role or "normal")


def _add_call(api: TrelloApi, item: Item) -> Callable[[], object]:
    return lambda: api.add_card_member(item.card_id, item.member)
