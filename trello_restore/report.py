"""What the user reads about a plan, and the exit code of a dry run.

``render_text`` is the plan for humans: each change kind in the order it is applied (board
memberships to grant first, then list archive states, card moves, card archive states and card
fields, then card members, grouped by board, list and card, each with the evidence it rests on;
the headings and lines are the kinds' own, ``kinds.py``); then what is blocked (and how to
unblock it), what is skipped (by reason, or listed with ``verbose``), the value fields left
alone (with who else changed them) and what cannot be restored (design.md §10), and one summary
line. ``render_json`` is the plan file's document as text (``--format json``).

What the user reads about an apply or undo (each change's outcome, the summary, the live status
line) is ``report_outcomes.py``'s. Nothing here prints: ``cli.py`` decides where the text goes.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from itertools import groupby

import click

from trello_restore.archived_lists import archived_targets, plan_warnings
from trello_restore.errors import ExitCode
from trello_restore.kinds import in_order, kind_of
from trello_restore.kinds.valuetext import NAME_SHOWN
from trello_restore.models import (
    SKIP_ORDER,
    VALUE_SKIP_ORDER,
    Change,
    MemberRef,
    Plan,
    Unrestorable,
    quote_name,
)
from trello_restore.planfile import PlanMeta, dumps, plan_summary, plan_to_dict, plan_version
from trello_restore.words import (
    card_url,
    handle,
    member_name,
    plural,
    shown_name,
    when,
)

__all__ = [
    "archived_targets",
    "card_url",
    "dry_run_exit_code",
    "plan_summary",
    "plan_warnings",
    "render_json",
    "render_text",
    "summary_line",
]


def dry_run_exit_code(plan: Plan, detailed: bool) -> ExitCode:
    """``CHANGES_PENDING`` for a dry run with ``--detailed-exitcode`` when the plan has changes,
    blocked ones included, else ``OK``. A blocked change is still to be made (the one-shot run
    of the same plan exits with partial failure): "nothing to do" would tell a script the
    boards are whole when they are not."""
    return ExitCode.CHANGES_PENDING if detailed and (plan.changes or plan.blocked) else ExitCode.OK


def render_json(plan: Plan, meta: PlanMeta) -> str:
    """The plan file's document, exactly as ``--plan-out`` writes it."""
    return dumps(plan_to_dict(plan, meta))


def _known_members(plan: Plan) -> dict[str, MemberRef]:
    refs: list[MemberRef] = []
    for c in [*plan.changes, *(b.change for b in plan.blocked)]:
        refs.append(c.member)
        if c.evidence is not None:
            refs.append(c.evidence.by)
    refs.extend(s.member for s in plan.skipped)
    refs.extend(m for s in plan.value_skipped for m, _ in s.others)
    refs.extend(u.by for u in plan.unrestorable)
    return {m.id: m for m in refs if m.username}


def _header(plan: Plan, meta: PlanMeta) -> str:
    o = plan.options
    boards = ", ".join(shown_name(name) if name else bid for bid, name in meta.boards)
    boards = boards or "no boards"
    text = f"Plan for {boards} since {when(o.since, seconds=False, millis=True)}"
    if o.until is not None:
        text += f" until {when(o.until, seconds=False, millis=True)}"
    # The member options only where members are restored; --by alone sets removed_by too.
    members = "members" in o.restore
    notes = [f"mode {o.mode}"] if members else []
    if o.restore != frozenset({"members"}):
        notes.insert(0, "restore " + ", ".join(sorted(o.restore)))
    if o.removed_by is not None and members and o.removed_by != o.by:
        who = _known_members(plan).get(o.removed_by)
        notes.append(f"removed by {handle(who) if who else o.removed_by}")
    if o.by is not None:
        who = _known_members(plan).get(o.by)
        notes.append(f"by {handle(who) if who else o.by}")
    if o.cause is not None:
        notes.append(f"cause {o.cause}")
    if o.only_recorded:
        notes.append("only recorded removals")
    if o.lists is not None:
        notes.append("lists " + ", ".join(map(shown_name, sorted(o.lists))))
    if o.cards is not None:
        notes.append("cards " + ", ".join(map(shown_name, sorted(o.cards))))
    if o.add_to_board:
        notes.append(f"add to board as {o.board_role}")
    if meta.source == "export":
        notes.append("offline, from exports")
    return f"{text} ({', '.join(notes)})"


def summary_line(plan: Plan, *, dry_run: bool = True) -> str:
    """``Summary: N changes (B board memberships, C card members), X blocked, Y skipped.`` and,
    on a dry run, ``Dry run: nothing was changed.`` A plan of format 2 (design.md §10) counts
    each value kind too, and the value fields skipped and what is unrestorable."""
    version = plan_version(plan)
    s = plan_summary(plan, version)
    kinds = ", ".join(
        plural(s[k.summary_key], k.noun) for k in in_order() if k.format_version <= version
    )
    skipped = f"{s['skipped']} skipped"
    if version >= 2:
        skipped = f"{s['skipped']} member{'' if s['skipped'] == 1 else 's'} skipped, "
        skipped += f"{plural(s['value_skipped'], 'field')} skipped, "
        skipped += f"{s['unrestorable']} unrestorable"
    changes = plural(s["changes"], "change")
    text = f"Summary: {changes} ({kinds}), {s['blocked']} blocked, {skipped}."
    if s["incomplete"]:
        text += f" {plural(s['incomplete'], 'card')} with incomplete history."
    return text + (" Dry run: nothing was changed." if dry_run else "")


def render_text(
    plan: Plan,
    meta: PlanMeta,
    *,
    dry_run: bool = True,
    color: bool = False,
    verbose: bool = False,
) -> str:
    """The plan for humans, ending with the summary line and a newline.

    With ``dry_run`` the headings say what *would* happen; without it, what will. ``verbose``
    lists skipped candidates one by one (else they are counted by reason) and shows action
    ids. ``color`` adds ANSI styles (the caller decides whether the output is a terminal)."""

    def style(text: str, fg: str | None = None, bold: bool | None = None) -> str:
        return click.style(text, fg=fg, bold=bold) if color else text

    lines = [style(_header(plan, meta), bold=True), ""]
    would = "Would" if dry_run else "Will"
    if plan.incomplete:
        text = f"Incomplete history: {plural(len(plan.incomplete), 'card')}"
        text += " (no reconstructed changes planned for them)"
        if verbose:
            text += ": " + ", ".join(plan.incomplete)
        lines.append(style(text, fg="yellow"))

    plus = style("+", fg="green")
    for kind in in_order():  # in the order they are applied
        changes = [c for c in plan.changes if c.action == kind.action]
        if changes:
            lines.append(style(kind.heading(would, len(changes)), bold=True))
            lines.extend(_listed(changes, plus, kind.grouped, verbose))
    if not plan.changes:
        lines.append("Nothing to re-add." if plan_version(plan) == 1 else "Nothing to restore.")

    if plan.blocked:
        lines.append(
            style(f"Blocked ({len(plan.blocked)})", fg="red", bold=True)
            + ": not members of the card's board; rerun with --add-to-board to grant"
            " board membership first"
        )
        lines.extend(
            _grouped(
                [b.change for b in plan.blocked],
                lambda c: (
                    f"{style('!', fg='red')} {kind_of(c.action).describe(c)}: not a member of "
                    f"{_name(c.board_name, c.board_id)}"
                ),
                verbose,
            )
        )
    if plan.skipped:
        counts = plan_summary(plan)["by_reason"]
        by_reason = ", ".join(f"{r} {counts[r]}" for r in SKIP_ORDER if r in counts)
        lines.append(style(f"Skipped ({len(plan.skipped)})", bold=True) + f": {by_reason}")
        if verbose:
            for s in plan.skipped:
                action = f" [action {s.action_id}]" if s.action_id else ""
                card = _name(s.card_name, s.card_id)
                lines.append(f"  - {member_name(s.member)} on {card}: {s.reason}{action}")
    lines.extend(_value_skipped(plan, style, verbose))
    if plan.unrestorable:
        moves = any(u.other_board_id for u in plan.unrestorable)
        lines.append(
            style(f"Cannot be restored ({len(plan.unrestorable)})", fg="yellow", bold=True)
            + (": not in the log, or across boards" if moves else ": not in the log")
        )
        lines.extend(_unrestorable(u, verbose) for u in plan.unrestorable)
    lines.append(summary_line(plan, dry_run=dry_run))
    return "\n".join(lines) + "\n"


def _unrestorable(u: Unrestorable, verbose: bool) -> str:
    """One line of ``Cannot be restored``: a card deleted, or a card or list moved across
    boards (named by the other board), by whom and when."""
    name = quote_name(u.name) if u.name else u.object_id
    action = f" [action {u.action_id}]" if verbose else ""
    if not u.other_board_id:
        return (
            f"  - {u.object_type} {name}: {u.what.replace('_', ' ')} by {handle(u.by)} "
            f"{when(u.date)}{action}"
        )
    other = u.other_board_name
    board = f"board {quote_name(other) if other else u.other_board_id}"
    moved = f"moved to {board}" if u.what == "moved_to_other_board" else f"moved here from {board}"
    return (
        f"  - {u.object_type} {name}: {moved} by {handle(u.by)} {when(u.date)}{action}; not "
        "moved back (across boards: move it in Trello)"
    )


#: What a value skip reason's code alone does not say (R41b: "other_board" named no board).
_GLOSS = {
    "other_board": " (it, or the list it would go back to, is on another board now, or on one "
    "this plan does not read: this tool moves nothing across boards)",
}


def _value_skipped(plan: Plan, style: Callable[..., str], verbose: bool) -> list[str]:
    """The value fields left alone: counted by reason, and listed one by one (with who else
    changed each and when, for ``changed_by_others``), since each is a decision to review."""
    if not plan.value_skipped:
        return []
    counts = plan_summary(plan)["by_value_reason"]
    by_reason = ", ".join(f"{r} {counts[r]}" for r in VALUE_SKIP_ORDER if r in counts)
    out = [style(f"Fields left alone ({len(plan.value_skipped)})", bold=True) + f": {by_reason}"]
    for s in plan.value_skipped:
        name = quote_name(s.object_name) if s.object_name else s.object_id
        text = f"  - {s.field} of {s.object_type} {name}: {s.reason}{_GLOSS.get(s.reason, '')}"
        if s.others:
            text += (
                " (also changed by "
                + ", ".join(f"{handle(m)} {when(d)}" for m, d in s.others)
                + ")"
            )
        if verbose and s.action_id:
            text += f" [action {s.action_id}]"
        out.append(text)
    return out


def _name(name: str, fallback: str) -> str:
    """A name the text shows bare (``shown_name``), else ``fallback`` (its id); a long one
    cut, with its length and the id, which tells apart two cut alike (``valuetext.NAME_SHOWN``;
    R73a: two lists' headings read the same)."""
    if len(name) > NAME_SHOWN:
        return f"{shown_name(name[: NAME_SHOWN - 1])}… ({len(name)} chars, {fallback})"
    return shown_name(name) if name else fallback


def _card(c: Change) -> str:
    name = _name(c.card_name, c.card_id)
    return f"{name} ({card_url(c.card_short_link)})" if c.card_short_link else name


def _listed(changes: list[Change], mark: str, grouped: bool, verbose: bool) -> list[str]:
    """The lines of one kind's changes: one each, or grouped by board, list and card."""
    if grouped:
        return _grouped(changes, lambda c: f"{mark} {kind_of(c.action).describe(c)}", verbose)
    out: list[str] = []
    for c in changes:
        kind = kind_of(c.action)
        evidence = kind.evidence(c, verbose)
        out.append(f"  {mark} {kind.describe(c)}" + (f"  {evidence}" if evidence else ""))
    return out


def _grouped(
    changes: Iterable[Change], describe: Callable[[Change], str], verbose: bool
) -> list[str]:
    """Board → list → card → one line per change with its evidence (input already in order)."""
    out: list[str] = []
    for (board_id, board), by_board in groupby(changes, key=lambda c: (c.board_id, c.board_name)):
        out.append(f"  {_name(board, board_id)}")
        for (list_id, lst), by_list in groupby(by_board, key=lambda c: (c.list_id, c.list_name)):
            # A list with no name shows its id, as a board or card does (R72b: "(unknown
            # list)" read as a list the tool could not tell); one with no id either, that.
            out.append(f"    {_name(lst, list_id or '(unknown list)')}")
            for _, by_card in groupby(by_list, key=lambda c: c.card_id):
                group = list(by_card)
                # A list's own changes (its archive state) sit under the list, not a card.
                pad = "        " if group[0].card_id else "      "
                if group[0].card_id:
                    out.append(f"      {_card(group[0])}")
                out.extend(
                    f"{pad}{describe(c)}  {kind_of(c.action).evidence(c, verbose)}" for c in group
                )
    return out
