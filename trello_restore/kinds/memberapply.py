"""The member kinds' pure deciders before a write (design.md §3, §5), on the board's live
state: ``decide_board``, whether to grant a board membership, and ``decide_card``, whether to
put a member back on a card (``renamed``: the plan names the member otherwise than Trello does
now); ``unneeded_grants``, the grants no card add left needs, which are not sent either. The
kinds that call them, and the deciders of their undo, are ``members.py``'s."""

from __future__ import annotations

from collections.abc import Hashable, Iterable, Mapping, Set
from typing import TYPE_CHECKING

from trello_restore.kinds.base import NOT_ATTEMPTED, WOULD_APPLY, Decision, other_card
from trello_restore.kinds.touched import since_plan
from trello_restore.models import Change
from trello_restore.words import at_name

if TYPE_CHECKING:
    from trello_restore.live import LiveBoard


#: Why a card member is blocked at apply: not on the card's board now, and not granted it.
NOT_ACTIVE_MEMBER = "the member is not an active member of the card's board"
#: What a grant of board membership provides, and a card member needs: (key, board, member).
ON_BOARD = "board_member"
#: The actions of the two member kinds (``members.py``'s ``BoardMembership``, ``CardMember``).
GRANT, CARD_ADD = "add_member_to_board", "add_member_to_card"
#: How the card adds a grant is left without read in its reason, by their outcome.
_LEFT_WORDS = {
    "applied": "made by an earlier run",
    "already_satisfied": "already on the card",
    "done": "done by an earlier run",
}


def _deactivated_on(c: Change, live: LiveBoard, deactivated_on: str | None) -> str | None:
    """Where the member is deactivated: ``this board``, else ``deactivated_on`` (another board
    the plan touches, as it reads in a message), else None."""
    ms = live.memberships.get(c.member.id)
    if ms is not None and ms.deactivated:
        return "this board"
    return deactivated_on


def renamed(c: Change, live: LiveBoard) -> str | None:
    """Why the change is ``drifted`` when the plan names its member by another username than
    Trello gives that member id now (the board's live memberships, with names), or None.

    The plan is what its reviewer approved: a plan whose member id was edited to another
    member's (the names left) would add someone the reviewer never saw, so it is not written.
    A member renamed since the plan was made drifts the same way: safe, nothing is written
    that the reviewer did not see, and a new plan shows the new name. Not checked: a plan
    without a username, or a member who is not on the board (no live name)."""
    now = live.members.get(c.member.id)
    if not c.member.username or now is None or not now.username:
        return None
    if now.username.casefold() == c.member.username.casefold():
        return None
    return (
        f"the plan names this member {at_name(c.member.username)}; Trello calls member "
        f"{c.member.id} {at_name(now.username)} now (renamed, or the plan was edited): make a "
        "new plan"
    )


def decide_board(
    c: Change, live: LiveBoard, *, resumed: bool, deactivated_on: str | None = None
) -> Decision:
    """Grant a board membership? Not when the member is an active member already (then it is
    ``applied`` if an earlier, killed run of this plan had sent the grant: ``resumed``; else
    ``already_satisfied``, saying their role when it is not the plan's: ``_other_role``), nor
    when the plan's username for the member is not Trello's (``renamed``: drifted), nor for a
    member deactivated on this board or on another board the plan touches (``deactivated_on``:
    never granted), nor on a board that is gone."""
    if live.cards is None:
        return "drifted", live.error
    if resumed and live.is_active(c.member.id):
        return "applied", ""
    other = renamed(c, live)
    if other is not None:
        return "drifted", other
    if live.is_active(c.member.id):
        return "already_satisfied", _other_role(c, live)
    where = _deactivated_on(c, live, deactivated_on)
    if where is not None:
        return "blocked", f"the member is deactivated (on {where}): never granted"
    return None


def _other_role(c: Change, live: LiveBoard) -> str:
    """Why a grant found its member on the board already reads otherwise than its label ("as
    normal"): the member's role there now, when it is another (made an observer since the
    plan), which is left as it is; "" when it is the plan's."""
    now = live.memberships[c.member.id].member_type
    if not c.role or now == c.role:
        return ""
    return f"on the board already as {now}, not {c.role}: left as it is"


def decide_card(
    c: Change,
    live: LiveBoard,
    *,
    resumed: bool,
    grant: str | None,
    dry_run: bool = False,
    deactivated_on: str | None = None,
    refused: str = "",
) -> Decision:
    """Add the member to the card? ``grant`` is this run's outcome of the plan's grant of board
    membership to the member (None when the plan has none); ``deactivated_on`` names a board
    the plan touches where the member's membership says deactivated (None when none does);
    ``refused`` says why nothing more is sent to the card's board (Trello refused this run a
    write there and the run went on with the other boards), "" when nothing was refused.

    - board or card gone, or the card on another board → ``drifted``;
    - member on the card and ``resumed`` → ``applied`` (the member is there because of this
      tool's own earlier attempt, journaled ``pending``);
    - the card under the plan's card id is another card (``other_card``), or the plan's
      username for the member is not Trello's (``renamed``) → ``drifted``;
    - member on the card → ``already_satisfied``;
    - member added or removed by someone since the plan was made (``since_plan``) → ``drifted``;
    - member deactivated on this board or on ``deactivated_on`` → ``blocked`` (never added);
    - the grant was refused or not sent because Trello refused a write to the board
      (``refused``) → ``not_attempted`` with that reason (never sent, so not journaled);
    - the grant was not attempted (the run is stopping) → ``not_attempted``;
    - member neither an active board member nor granted membership in this run → ``blocked``
      (``failed`` when the grant failed, so that a re-run retries both);
    - otherwise the write is needed.
    """
    if live.cards is None:
        return "drifted", live.error
    card = live.cards.get(c.card_id)
    if card is None or card.board_id != c.board_id:
        return "drifted", "the card was deleted or moved to another board"
    if resumed and c.member.id in card.member_ids:
        return "applied", ""
    other = other_card(c.card_short_link, card) or renamed(c, live)
    if other is not None:
        return "drifted", other
    if c.member.id in card.member_ids:
        return "already_satisfied", ""
    if (later := since_plan(c, live)) is not None:
        return "drifted", later
    where = _deactivated_on(c, live, deactivated_on)
    if where is not None:
        return "blocked", f"the member is deactivated (on {where}): never added"
    if refused and grant in (NOT_ATTEMPTED, "failed"):
        return NOT_ATTEMPTED, refused
    if grant == NOT_ATTEMPTED:
        return NOT_ATTEMPTED, "its board membership was not granted: the run stopped"
    granted = ("applied", "already_satisfied", WOULD_APPLY) if dry_run else ("applied",)
    if live.is_active(c.member.id) or grant in granted:
        return None
    if grant == "failed":
        return "failed", "granting the member board membership failed"
    return "blocked", NOT_ACTIVE_MEMBER


def unneeded_grants(
    todo: Iterable[Change],
    earlier: Iterable[Change],
    live: Mapping[str, LiveBoard],
    *,
    resumed: Set[str],
    dry_run: bool,
    deactivated: Mapping[str, str],
) -> dict[Hashable, tuple[str, str]]:
    """The grants of board membership in ``todo`` (this run's changes) that no card add needs
    any more, by what they provide (``(ON_BOARD, board, member)``), each with its outcome: a
    grant exists only so that its member can be put back on cards (design.md §3), so when none
    of the card adds that need it will be written — each decided now as ``decide_card`` would
    with the grant made (drifted, blocked, already on the card, …), or done by an earlier run of
    the journal (``earlier``) — it is not sent either. ``drifted`` when one of those card adds
    is a problem (drifted, blocked, failed: the exit code they give), ``not_attempted``
    otherwise; the reason says what became of the card adds. ``resumed`` holds the change ids
    an earlier, killed run sent; ``deactivated`` is member id → where deactivated."""
    changes = list(todo)
    grants = {(ON_BOARD, c.board_id, c.member.id) for c in changes if c.action == GRANT}
    left: dict[Hashable, list[tuple[str, str]]] = {key: [] for key in grants}
    needed: set[Hashable] = set()
    granted = WOULD_APPLY if dry_run else "applied"
    for c in changes:
        key = (ON_BOARD, c.board_id, c.member.id)
        if c.action != CARD_ADD or key not in grants:
            continue
        decision = decide_card(
            c,
            live[c.board_id],
            resumed=c.change_id in resumed,
            grant=granted,
            dry_run=dry_run,
            deactivated_on=deactivated.get(c.member.id),
        )
        if decision is None:
            needed.add(key)
        else:
            left[key].append(decision)
    for c in earlier:
        key = (ON_BOARD, c.board_id, c.member.id)
        if c.action == CARD_ADD and key in left:
            left[key].append(("done", ""))
    return {key: _not_needed(outcomes) for key, outcomes in left.items() if key not in needed}


def _not_needed(outcomes: list[tuple[str, str]]) -> tuple[str, str]:
    """A grant's outcome when its card adds had ``outcomes`` (none may be written), and why."""
    parts: list[str] = []
    for status in sorted({s for s, _ in outcomes}, key=lambda s: (s in _LEFT_WORDS, s)):
        whys = sorted({why for s, why in outcomes if s == status and why})
        n = sum(s == status for s, _ in outcomes)
        text = f"{n} {_LEFT_WORDS.get(status, status.replace('_', ' '))}"
        if whys:
            text += f" ({whys[0]}{'; …' if len(whys) > 1 else ''})"
        parts.append(text)
    why = "no card add left for them on this board"
    why += f": {', '.join(parts)}; not granted" if parts else ": not granted"
    problem = any(s in ("drifted", "blocked", "failed") for s, _ in outcomes)
    return ("drifted" if problem else NOT_ATTEMPTED), why
