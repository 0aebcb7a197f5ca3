"""``trello-restore demo``: the whole cycle against the built-in sandbox Trello.

No account and no network: a seeded incident scenario is served on 127.0.0.1 by an in-process
``SandboxServer``, with time running ``TIME_SCALE`` times faster (Trello's 10 s rate window
becomes half a second, and the apply's limiter is scaled to match). The demo then goes through
what a user would do, with the same code the commands use (``run.py``):

1. explain the incident (who moved which lists when, how many members were stripped, how many
   without a logged removal);
2. plan with option set b (``--since T --removed-by MOVER --add-to-board``) and show the plan;
3. apply it, then check every card's and board's membership against the scenario's ground
   truth: every expected member is back, nothing else changed;
4. undo it (``--include-board-memberships``) and check that every membership is as before the
   apply;
5. the scenario's second damage (design.md §10.4: a member archived every card of two lists at
   once, moved a list's cards, and an automation with their token overwrote due dates and
   descriptions; others then changed a few of those cards by hand): plan
   ``--restore archived,list,fields --by CULPRIT --since T2``, apply it, check every card and
   list value against the ground truth (the damage undone, the hand changes left alone,
   nothing else changed), undo it and check that every value is as it was;
6. say how to do it for real.

Journals and lock files live in a temporary state directory, passed down explicitly and removed
at the end; the environment is left alone and the user's state and cache directories are never
touched. The exit code is ``OK`` only when every check passed, else
``PARTIAL`` with what differed.
"""

from __future__ import annotations

import tempfile
import textwrap
from collections.abc import Callable
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Protocol, TypeVar

from trello_restore import defaults
from trello_restore.errors import ExitCode
from trello_restore.locks import lock_dir
from trello_restore.plan_request import build_request
from trello_restore.report import render_text
from trello_restore.report_outcomes import apply_summary
from trello_restore.run import (
    UndoRequest,
    apply_options,
    apply_request,
    load_journal,
    make_plan,
    run_apply,
    run_undo,
    undoable,
)
from trello_restore.sandbox.scenario import Scenario, SecondDamage, generate
from trello_restore.sandbox.server import SandboxOptions, SandboxServer
from trello_restore.sandbox.truth import GroundTruth, State, compute
from trello_restore.sandbox.truth import snapshot as value_snapshot
from trello_restore.sandbox.world import World

if TYPE_CHECKING:
    from trello_restore.applier import ApplyReport, ChangeOutcome
    from trello_restore.run import PlanResult
    from trello_restore.run_apply import ApplyRequest

#: An apply's or an undo's request (``_with_progress``).
_Req = TypeVar("_Req")

#: How much faster than real time the sandbox (and the apply's rate limiter) runs.
TIME_SCALE = 20.0
#: The plans' rate window: Trello's, at the sandbox's time (as ``apply_options`` makes the
#: applies'): with Trello's own, a plan right after the undo waited a real 10 s window.
WINDOW_S = defaults.RATE_WINDOW_S / TIME_SCALE
#: The plan is shown up to this many lines (then counted).
PLAN_LINES = 28
#: Prose is wrapped to this width.
WIDTH = 96

#: Card memberships (card id → member ids) and board memberships (board id → member → type).
Snapshot = tuple[dict[str, frozenset[str]], dict[str, dict[str, str]]]
#: What the second part restores (design.md §10): every kind but members.
VALUE_KINDS = ("archived", "list", "fields")


class ProgressSink(Protocol):
    """Receives each change's outcome (a live progress line), and clears itself at the end."""

    def __call__(self, outcome: ChangeOutcome) -> None:
        """One more outcome."""

    def clear(self) -> None:
        """Remove the progress line."""


@dataclass(frozen=True)
class Check:
    """One check of the demo and its result."""

    name: str
    passed: bool
    #: What differed, when it failed.
    detail: str = ""


def snapshot(world: World) -> Snapshot:
    """Every card's members and every board's memberships, as they are now."""
    with world.lock:
        cards = {cid: frozenset(c.id_members) for cid, c in world.cards.items()}
        boards = {
            bid: {mid: str(ms.member_type) for mid, ms in b.memberships.items()}
            for bid, b in world.boards.items()
        }
    return cards, boards


def compare(world: World, got: Snapshot, want: Snapshot, limit: int = 5) -> str:
    """What differs between two snapshots, in words ("" when they are equal)."""

    def who(mid: str) -> str:
        m = world.members.get(mid)
        return f"@{m.username}" if m else mid

    problems: list[str] = []
    got_cards, got_boards = got
    want_cards, want_boards = want
    for cid in sorted(set(got_cards) | set(want_cards)):
        have, expected = got_cards.get(cid, frozenset()), want_cards.get(cid, frozenset())
        if have != expected:
            card = world.cards.get(cid) or world.deleted_cards.get(cid)
            name = card.name if card else cid
            parts = [f"missing {who(m)}" for m in sorted(expected - have)]
            parts += [f"unexpected {who(m)}" for m in sorted(have - expected)]
            problems.append(f"card {name!r}: {', '.join(parts)}")
    for bid in sorted(set(got_boards) | set(want_boards)):
        have_b, expected_b = got_boards.get(bid, {}), want_boards.get(bid, {})
        if have_b != expected_b:
            board = world.boards[bid].name if bid in world.boards else bid
            parts = [f"missing {who(m)}" for m in sorted(set(expected_b) - set(have_b))]
            parts += [f"unexpected {who(m)}" for m in sorted(set(have_b) - set(expected_b))]
            parts += [
                f"{who(m)} is {have_b[m]}, not {expected_b[m]}"
                for m in sorted(set(have_b) & set(expected_b))
                if have_b[m] != expected_b[m]
            ]
            problems.append(f"board {board!r}: {', '.join(parts)}")
    text = "; ".join(problems[:limit])
    if len(problems) > limit:
        text += f"; and {len(problems) - limit} more"
    return text


def expected_after(s: Scenario, before: Snapshot, option_set: str) -> Snapshot:
    """The memberships a correct restore leaves: before, plus the ground truth's card members
    and board grants; nothing else."""
    truth = s.truth(option_set)
    cards = {cid: set(members) for cid, members in before[0].items()}
    for card_id, member_id in truth.pairs():
        cards.setdefault(card_id, set()).add(member_id)
    boards = {bid: dict(ms) for bid, ms in before[1].items()}
    for g in truth.grants:
        boards.setdefault(g.board_id, {})[g.member_id] = g.role
    return {cid: frozenset(m) for cid, m in cards.items()}, boards


def _when(d: datetime) -> str:
    return d.astimezone(UTC).strftime("%Y-%m-%d %H:%M UTC")


def _plural(n: int, word: str) -> str:
    return f"{n} {word if n == 1 else word + 's'}"


def _para(text: str, indent: str = "  ", first: str | None = None) -> list[str]:
    """A paragraph wrapped to ``WIDTH``: lines start with ``indent`` (the first with
    ``first``, when given)."""
    start = indent if first is None else first
    return textwrap.wrap(text, WIDTH, initial_indent=start, subsequent_indent=indent)


def explain_incident(s: Scenario) -> list[str]:
    """A few readable lines: who moved what when, and what Trello did to the cards."""
    w = s.world
    with w.lock:
        lists = [w.lists[lid].name for lid in s.moved_lists]
        losses = s.story.incident_losses
        stripped_cards = {e.card_id for e in losses}
        silent = [e for e in losses if not e.logged]
        silent_cards = {e.card_id for e in silent}
        kinds = [e.kind for e in s.story.after]
    names = ", ".join(lists[:4]) + (", …" if len(lists) > 4 else "")
    moved = f"{_plural(len(lists), 'list')} ({names})"
    if s.moved_card is not None:
        moved += " and one card"
    mover = f"{s.mover.full_name} (@{s.mover.username})"
    return [
        f"The incident (sandbox scenario: seed {s.seed}, {s.cards} cards on {s.team.name!r}):",
        *_para(
            f"On {_when(s.incident_at)} {mover} moved {moved} from {s.team.name!r} to the new "
            f"board {s.archive.name!r}. Trello took {_plural(len(losses), 'member')} off "
            f"{_plural(len(stripped_cards), 'card')}, because they were not members of "
            f"{s.archive.name!r}, and logged each removal as if @{s.mover.username} had made "
            f"it by hand; on {_plural(len(silent_cards), 'card')} "
            f"({_plural(len(silent), 'removal')}) it logged nothing at all."
        ),
        *_para(
            f"Afterwards people kept working: {kinds.count('readd')} members were re-added by "
            f"hand, {kinds.count('remove')} removed on purpose, and "
            f"{_plural(kinds.count('delete_card'), 'card')} deleted. A restore must put back "
            "what the move took, and nothing else."
        ),
    ]


def _shorten(text: str, limit: int) -> list[str]:
    lines = text.rstrip("\n").splitlines()
    if len(lines) <= limit + 2:
        return lines
    hidden = len(lines) - limit - 1
    return [*lines[:limit], f"  … {hidden} more lines …", lines[-1]]


def value_truth(s: Scenario) -> GroundTruth:
    """The ground truth of ``--restore archived,list,fields --by CULPRIT --since T2`` naming
    the team board: design.md §10.4's set g without its member restore."""
    g = s.option_sets()["g"]
    options = replace(g, name="g-values", restore=frozenset(VALUE_KINDS))
    with s.world.lock:
        return compute(s.world, s.scope, options, (s.team.id,))


def expected_values(truth: GroundTruth, before: State) -> State:
    """The card and list values a correct restore leaves: ``before`` with every value of the
    truth set back; nothing else."""
    return truth.end_state(before)


def compare_values(world: World, got: State, want: State, limit: int = 5) -> str:
    """What differs between two value snapshots, in words ("" when they are equal)."""
    problems: list[str] = []
    for key in sorted(set(got) | set(want)):
        if got.get(key) != want.get(key):
            kind, ident, name = key
            obj = world.cards.get(ident) if kind == "card" else world.lists.get(ident)
            label = f"{kind} {obj.name!r}" if obj is not None else f"{kind} {ident}"
            problems.append(f"{name} of {label} is {got.get(key)!r}, not {want.get(key)!r}")
    text = "; ".join(problems[:limit])
    if len(problems) > limit:
        text += f"; and {len(problems) - limit} more"
    return text


def explain_second_damage(s: Scenario, second: SecondDamage) -> list[str]:
    """A few readable lines: what the culprit and their automation did, and what others did
    by hand afterwards."""
    w = s.world
    assert s.culprit is not None
    with w.lock:
        archived = [w.lists[lid].name for lid in second.archived_lists]
        moved = ""
        if second.moved_from is not None and second.moved_to is not None:
            moved = (
                f", moved the {_plural(len(second.moved_cards), 'card')} of "
                f"{w.lists[second.moved_from].name!r} to {w.lists[second.moved_to].name!r}"
            )
    culprit = f"{s.culprit.full_name} (@{s.culprit.username})"
    lists = " and ".join(repr(x) for x in archived)
    return [
        "The second damage (the same scenario, a few days later):",
        *_para(
            f"On {_when(second.at)} {culprit} archived all "
            f'{_plural(len(second.archived_cards), "card")} of {lists} at once ("Archive all '
            f'cards in this list"){moved}, and an automation running with their token '
            f"overwrote the due dates of {_plural(len(second.due_before), 'card')} and the "
            f"descriptions of {len(second.desc_before)}. Afterwards others unarchived one of "
            "those cards, edited one overwritten description and moved one card, by hand and on "
            "purpose: a restore must undo the damage and leave those alone."
        ),
    ]


def run_demo(
    *,
    seed: int = 1,
    cards: int = 200,
    echo: Callable[[str], object] = print,
    progress: Callable[[int], ProgressSink] | None = None,
) -> ExitCode:
    """Run the demo, printing through ``echo``; ``progress(total)`` makes a progress sink for
    the apply and the undo (none by default). Returns ``OK`` when every check passed."""
    s = generate(seed=seed, cards=cards, second_damage=True)
    checks: list[Check] = []
    options = SandboxOptions(time_scale=TIME_SCALE, seed=seed)
    with (
        tempfile.TemporaryDirectory(prefix="trello-restore-demo-") as tmp,
        SandboxServer(s.world, options) as server,
    ):
        state = Path(tmp) / "state"
        for line in explain_incident(s):
            echo(line)
        since = s.incident_at.strftime("%Y-%m-%dT%H:%M")
        command = (
            f"trello-restore --board {s.team.name!r} --since {since} "
            f"--removed-by {s.mover.username} --add-to-board"
        )
        echo("")
        echo("1. Plan; a dry run changes nothing:")
        echo(f"   {command} --dry-run")
        echo("")
        now = datetime.now(UTC)
        request = build_request(
            boards=(s.team.id,),
            exports=(),
            since=s.incident_at.isoformat(),
            until=None,
            now=now,
            removed_by=s.mover.username,
            add_to_board=True,
            api_url=server.base_url,
            key=s.key,
            token=s.token,
            window_s=WINDOW_S,
        )
        result = make_plan(request, created_at=now)
        for line in _shorten(render_text(result.plan, result.meta, dry_run=True), PLAN_LINES):
            echo(line)

        before = snapshot(s.world)
        # The truth is relative to the current state: computed before anything is applied.
        want, truth = expected_after(s, before, "b"), s.truth("b")
        n = len(result.plan.changes)
        echo("")
        for line in _para(
            f"2. Apply the {_plural(n, 'change')}, board memberships first (trello-restore "
            f"apply plan.json). Time runs {TIME_SCALE:g}x faster in the sandbox: Trello's "
            f"limit of 100 requests per 10 s per token is 100 per {10 / TIME_SCALE:g} s here, "
            "and the tool paces itself to it.",
            "   ",
            "",
        ):
            echo(line)
        req, report = _apply(result, s, server, state, progress)
        echo(f"   {apply_summary(report)} {report.seconds:.1f} s.")
        diff = compare(s.world, snapshot(s.world), want)
        checks.append(
            Check(
                f"every expected member is back ({_plural(len(truth.changes), 'card member')}, "
                f"{_plural(len(truth.grants), 'board membership')}) and nothing else changed",
                not diff,
                diff,
            )
        )
        _report_check(echo, checks[-1], "Ground truth check")

        echo("")
        echo("3. Undo it: trello-restore undo JOURNAL --include-board-memberships")
        undo_report = _undo(req.journal_path, True, s, server, state, progress)
        echo(f"   {apply_summary(undo_report, undo=True)} {undo_report.seconds:.1f} s.")
        diff = compare(s.world, snapshot(s.world), before)
        checks.append(Check("every membership is as it was before the apply", not diff, diff))
        _report_check(echo, checks[-1], "Undo check")

        checks += _second_part(s, server, state, echo, progress)

        calls = server.requests()
        leaked = [r for r in calls if r.credentials_in_url]
        member_lookups = [r for r in calls if _is_member_lookup(r.path)]
        checks.append(
            Check(
                f"{len(calls)} requests: none to /1/members/{{id}}, no credential in any URL",
                not leaked and not member_lookups,
                f"{len(member_lookups)} member lookups, {len(leaked)} URLs with credentials",
            )
        )
        _report_check(echo, checks[-1], "Request log check")

    failed = [c for c in checks if not c.passed]
    echo("")
    echo(_closing(s, command, failed))
    return ExitCode.PARTIAL if failed else ExitCode.OK


def _apply(
    result: PlanResult,
    s: Scenario,
    server: SandboxServer,
    state: Path,
    progress: Callable[[int], ProgressSink] | None,
) -> tuple[ApplyRequest, ApplyReport]:
    """``apply plan.json`` on the sandbox, with a progress sink for its changes."""
    req = apply_request(
        result.plan,
        result.meta,
        api_url=server.base_url,
        options=apply_options(time_scale=TIME_SCALE),
        state_dir=state,
        key=s.key,
        token=s.token,
    )
    return req, _with_progress(run_apply, req, len(result.plan.changes), progress)


def _undo(
    journal_path: Path,
    include_board_memberships: bool,
    s: Scenario,
    server: SandboxServer,
    state: Path,
    progress: Callable[[int], ProgressSink] | None,
) -> ApplyReport:
    """``undo JOURNAL`` on the sandbox, with a progress sink for what it undoes."""
    journal = load_journal(journal_path)
    req = UndoRequest(
        journal=journal,
        api_url=server.base_url,
        options=apply_options(time_scale=TIME_SCALE),
        lock_dir=lock_dir(state),
        include_board_memberships=include_board_memberships,
        key=s.key,
        token=s.token,
    )
    total = undoable(journal, include_board_memberships)
    return _with_progress(run_undo, req, total, progress)


def _with_progress(
    run: Callable[[_Req, ProgressSink | None], ApplyReport],
    req: _Req,
    total: int,
    progress: Callable[[int], ProgressSink] | None,
) -> ApplyReport:
    """``run(req, sink)`` with a sink from ``progress(total)`` (if any), cleared after."""
    sink = progress(total) if progress is not None else None
    try:
        return run(req, sink)
    finally:
        if sink is not None:
            sink.clear()


def _second_part(
    s: Scenario,
    server: SandboxServer,
    state: Path,
    echo: Callable[[str], object],
    progress: Callable[[int], ProgressSink] | None,
) -> list[Check]:
    """Steps 4-6 of the module docstring: the second damage restored and undone, checked."""
    second, culprit = s.story.second, s.culprit
    # generated with the second damage
    assert second is not None
    assert culprit is not None
    echo("")
    for line in explain_second_damage(s, second):
        echo(line)
    since = second.at.strftime("%Y-%m-%dT%H:%M")
    command = (
        f"trello-restore --board {s.team.name!r} --restore {','.join(VALUE_KINDS)} "
        f"--by {culprit.username} --since {since}"
    )
    echo("")
    echo("4. Plan the restore of what the culprit and their automation changed:")
    echo(f"   {command} --dry-run")
    echo("")
    now = datetime.now(UTC)
    request = build_request(
        boards=(s.team.id,),
        exports=(),
        since=second.at.isoformat(),
        until=None,
        now=now,
        by=culprit.username,
        restore=VALUE_KINDS,
        api_url=server.base_url,
        key=s.key,
        token=s.token,
        window_s=WINDOW_S,
    )
    result = make_plan(request, created_at=now)
    for line in _shorten(render_text(result.plan, result.meta, dry_run=True), PLAN_LINES):
        echo(line)

    before = value_snapshot(s.world)
    truth = value_truth(s)  # relative to the current state: before anything is applied
    want = expected_values(truth, before)
    n = len(result.plan.changes)
    echo("")
    echo(f"5. Apply the {_plural(n, 'change')}: lists first, then card moves and archive states,")
    echo("   then fields (trello-restore apply plan.json).")
    req, report = _apply(result, s, server, state, progress)
    echo(f"   {apply_summary(report)} {report.seconds:.1f} s.")
    checks: list[Check] = []
    diff = compare_values(s.world, value_snapshot(s.world), want)
    skipped = len(truth.value_skipped)
    checks.append(
        Check(
            f"every archived card, moved card and overwritten field of the damage is back as it "
            f"was ({_plural(len(truth.value_changes), 'value')}), the changes made by hand are "
            f"left alone ({_plural(skipped, 'field')} not touched) and nothing else changed",
            not diff,
            diff,
        )
    )
    _report_check(echo, checks[-1], "Ground truth check")

    echo("")
    echo("6. Undo it: trello-restore undo JOURNAL")
    undo_report = _undo(req.journal_path, False, s, server, state, progress)
    echo(f"   {apply_summary(undo_report, undo=True)} {undo_report.seconds:.1f} s.")
    diff = compare_values(s.world, value_snapshot(s.world), before)
    checks.append(Check("every card and list is as it was before the apply", not diff, diff))
    _report_check(echo, checks[-1], "Undo check")
    return checks


def _is_member_lookup(path: str) -> bool:
    parts = path.strip("/").split("/")
    return len(parts) == 3 and parts[:2] == ["1", "members"] and parts[2] != "me"


def _report_check(echo: Callable[[str], object], check: Check, label: str) -> None:
    if check.passed:
        text = f"{label}: passed: {check.name}."
    else:
        text = f"{label}: FAILED: {check.name}: {check.detail}."
    for line in _para(text.strip(), "   "):
        echo(line)


def _closing(s: Scenario, command: str, failed: list[Check]) -> str:
    if failed:
        return (
            f"{_plural(len(failed), 'check')} failed (see above): please report it with the "
            f"output of trello-restore demo --seed {s.seed} --cards {s.cards}."
        )
    return "\n".join(
        [
            "All checks passed. The tool read the boards' action logs, planned the members to",
            "put back (including those Trello dropped without a trace), granted the archive board",
            "membership they needed, re-added them, and could take it all back again; then it",
            "unarchived, moved back and rewrote what one member's bulk actions and automation",
            "changed, leaving everyone else's later work alone, and could take that back too.",
            "",
            "To do it for real (credentials from https://trello.com/power-ups/admin):",
            "  export TRELLO_API_KEY=... TRELLO_TOKEN=...",
            f"  {command} \\",
            "      --dry-run --plan-out plan.json",
            "  trello-restore apply plan.json        # after reviewing plan.json",
            "  trello-restore undo JOURNAL           # the journal path apply printed",
            "Other damage (archived cards, moved cards, overwritten fields): add",
            "  --restore archived,list,fields --by MEMBER --since WHEN",
        ]
    )
