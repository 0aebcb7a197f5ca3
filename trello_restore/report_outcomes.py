"""What the user reads about an apply or undo: what happened to each change, the counts, the live
status line.

``outcome_line`` says what happened to one change, by name: ``change_labels`` from the plan,
``journal_labels`` from the journal for undo (``outcome_parts`` is its pieces, for
``--format json``); ``apply_summary`` counts the outcomes (applied, already satisfied, drifted,
blocked, failed; "would be applied" on a dry run; "removed" for undo) and ``earlier_undo_text``
what an earlier undo settled; ``blocked_advice`` says what to do about changes blocked by a
member no longer on the board. ``progress_line`` is the live status line and ``Progress``
draws it on stderr, the one thing here that prints; ``cli.py`` decides where the rest goes.
What the user reads about a plan is ``report.py``'s.
"""

from __future__ import annotations

import threading
import time
from collections import Counter
from collections.abc import Callable, Iterable, Mapping, Sequence
from typing import TYPE_CHECKING

import click

from trello_restore.kinds import kind_of, known
from trello_restore.kinds.memberapply import NOT_ACTIVE_MEMBER
from trello_restore.kinds.valuetext import named_label
from trello_restore.models import Blocked, Change, MemberRef, Plan
from trello_restore.words import one_line, plural
from trello_restore.wrote import named_journal_held, same_command

if TYPE_CHECKING:
    from trello_restore.applier import ApplyReport, ChangeOutcome
    from trello_restore.journal import JournalRecord

__all__ = [
    "Progress",
    "apply_summary",
    "blocked_advice",
    "change_labels",
    "earlier_undo_text",
    "journal_labels",
    "outcome_line",
    "outcome_parts",
    "progress_line",
]


#: Outcome counts in summary order, with their wording (apply, then undo, then the rest).
_COUNT_WORDS: dict[str, str] = {
    "would_apply": "would be applied",
    "applied": "applied",
    "already_satisfied": "already satisfied",
    "drifted": "drifted",
    "blocked": "blocked",
    "would_undo": "would be removed",
    "undone": "removed",
    "not_on_card": "no longer there",
    "failed": "failed",
}
#: Counts that every apply summary shows, zero or not (the issue's five).
_APPLY_ALWAYS = ("already_satisfied", "drifted", "blocked", "failed")
#: How each outcome reads in front of the change it is about.
_OUTCOME_LABEL: dict[str, str] = {
    "would_apply": "would add",
    "applied": "added",
    "already_satisfied": "already there",
    "drifted": "drifted, skipped",
    "blocked": "blocked",
    "failed": "FAILED",
    "skipped_done": "done earlier",
    "would_undo": "would remove",
    "undone": "removed",
    "not_on_card": "no longer there",
}


#: Reason codes an outcome may carry, in words.
_REASONS = {
    "not_board_member": "not a member of the card's board: plan with --add-to-board to grant it",
}


def blocked_advice(outcomes: Iterable[ChangeOutcome], *, one_shot: bool = False) -> str | None:
    """The one line said after an apply's summary when changes were blocked because their
    member is not on the card's board now (``NOT_ACTIVE_MEMBER``: on it when the plan was
    made, or while the run wrote: ``CardMember``'s ``invalid``, so their lines carry no
    advice): what to do; a plan that grants the member that board already asks for no
    ``--add-to-board``. A plan's own blocked changes say it on their lines. None when there are
    none; ``one_shot``: a one-step run, which plans again."""
    outcomes = list(outcomes)
    blocked = [
        (o.board_id, o.member_id)
        for o in outcomes
        if o.status == "blocked" and o.error.startswith(NOT_ACTIVE_MEMBER)
    ]
    if not blocked:
        return None
    members = [m for _, m in blocked]
    several = len(set(members)) != 1
    n, them = len(members), "them" if several else "the member"
    granted = {(o.board_id, o.member_id) for o in outcomes if o.action == "add_member_to_board"}
    if granted.issuperset(blocked):
        # R42d: the plan grants it already; someone took them off the board since, maybe on
        # purpose, so asking for --add-to-board again is no advice.
        they = "they" if several else them  # R42f: "if them should be on it"
        return (
            f"{plural(n, 'change')} blocked: the member is not an active member of the card's "
            f"board now, though this plan adds {them} to it: someone took {them} off it since; "
            f"if {they} should be on it, add {them} to the board in Trello and "
            f"{same_command() if one_shot else 'apply this plan again'}."
        )
    again = (
        f"{same_command()}, or run it with --add-to-board"
        f"{' and another --journal' if named_journal_held() else ''}"
        if one_shot
        else "apply this plan again, or make the plan again with --add-to-board"
    )
    return (
        f"{plural(n, 'change')} blocked: the member is not an active member of the card's board "
        f"now; add {them} to the board in Trello and {again} to grant board membership first."
    )


def blocked_outcome(blocked: Blocked) -> ChangeOutcome:
    """A plan's blocked change as the outcome an apply gives it (``blocked``, with its reason)."""
    from trello_restore.runner_types import ChangeOutcome  # at run time: applier imports this

    c = blocked.change
    return ChangeOutcome(
        c.change_id, c.action, "blocked", c.board_id, c.card_id, c.member.id, error=blocked.reason
    )


def change_labels(plan: Plan) -> dict[str, str]:
    """``change_id`` → what the change is about, by name (its kind's ``label``), for every
    change and blocked change of a plan: ``Ann (@ann) → card Ship it (https://trello.com/c/…)``
    or ``Ann (@ann) → board Archive 2025 as normal``."""
    changes = [*plan.changes, *(b.change for b in plan.blocked)]
    return {c.change_id: kind_of(c.action).label(c) for c in changes}


def journal_labels(records: Iterable[JournalRecord]) -> dict[str, str]:
    """``change_id`` → what the change is about, for undo, which has only the journal: each
    apply record's kind names it from the record's ids and values (``journal_label``); a value
    kind's record that keeps its plan's names (``journal_names.record_names``) is named by them, as
    the plan's text named it (a later record without them, an interrupted write settled, keeps
    that name). A value kind's record without its values is left out (named by its ids)."""
    out: dict[str, str] = {}
    named: set[str] = set()
    for r in records:
        if r.op != "apply" or not known(r.action) or r.change_id in named:
            continue
        kind = kind_of(r.action)
        ids = Change(
            r.change_id, r.action, r.board_id, "", MemberRef(r.member_id), card_id=r.card_id
        )
        try:
            change = kind.from_record(ids, r.values)
        except ValueError:
            continue
        label = named_label((r.values or {}).get("names"), change)
        if label is not None:
            named.add(r.change_id)
        out[r.change_id] = label or kind.journal_label(change)
    return out


#: How an undo's outcomes read where an apply's words would be wrong: a value undo found
#: back already (``already_satisfied``) has nothing to revert.
_UNDO_WORDS: dict[str, str] = {"already_satisfied": "already reverted"}


#: The most changes left undone that a run's log names one by one: a run with thousands would
#: rotate the log's history away (R74a); the rest are counted, and ``where`` lists each.
LOGGED_OUTCOMES = 50
#: The most characters of one such line: a card's name may have 16,384 (R74a), and fifty of
#: them would rotate the log at every run.
LOGGED_WIDTH = 500


def attention_lines(
    outcomes: Iterable[ChangeOutcome],
    labels: Mapping[str, str],
    where: str,
    *,
    undo: bool = False,
) -> list[str]:
    """The log's lines for the changes a run left blocked, drifted or failed, each with why
    (``outcome_line``), at most ``LOGGED_OUTCOMES`` of them and then how many more (R72c: the
    log had only their counts and the exit code)."""
    lines = [
        _cut(outcome_line(o, labels, undo=undo).strip())
        for o in outcomes
        if o.status in ("drifted", "blocked", "failed")
    ]
    if len(lines) <= LOGGED_OUTCOMES:
        return lines
    more = len(lines) - LOGGED_OUTCOMES
    return [*lines[:LOGGED_OUTCOMES], f"… and {more} more blocked, drifted or failed; {where}"]


def _cut(line: str) -> str:
    """``line``, or its first ``LOGGED_WIDTH`` characters and its length."""
    return line if len(line) <= LOGGED_WIDTH else f"{line[: LOGGED_WIDTH - 1]}… ({len(line)} chars)"


def outcome_line(outcome: ChangeOutcome, labels: Mapping[str, str], *, undo: bool = False) -> str:
    """One change's outcome: ``  added          Ann (@ann) → card …``, with the HTTP status
    and Trello's error text for failures (``outcome_parts``)."""
    word, what, why = outcome_parts(outcome, labels, undo=undo)
    text = f"  {word:<16} {what}"
    if why is not None:
        status = f"HTTP {outcome.http_status}" if outcome.http_status else ""
        text += f"  ({': '.join(x for x in (status, why) if x)})"
    return text


def outcome_parts(
    outcome: ChangeOutcome, labels: Mapping[str, str], *, undo: bool = False
) -> tuple[str, str, str | None]:
    """What ``outcome_line`` (and ``--format json``) shows of one outcome: the word in front,
    the change kind's (``restored`` for a value set back, ``reverted`` when undone; an
    ``undo``'s own words first); what the change is about (``labels``, else by its ids); and,
    for a failed, drifted or blocked change with an HTTP status or a reason, Trello's error
    text or the reason in words, and for a change not attempted, already satisfied or no
    longer there its reason when it has one (a board that refused the token:
    ``Runner.refused_reason``; a grant whose member is on the board in another role; a card
    deleted since the apply); None otherwise."""
    kind = kind_of(outcome.action)
    word = (
        (_UNDO_WORDS.get(outcome.status) if undo else None)
        or kind.outcome_word(outcome.status)
        or _OUTCOME_LABEL.get(outcome.status, outcome.status.replace("_", " "))
    )
    what = labels.get(outcome.change_id)
    if what is None:
        what = kind.unnamed(outcome.member_id, outcome.board_id, outcome.card_id)
    why: str | None = None
    if (
        (outcome.status in ("failed", "drifted", "blocked"))
        and (outcome.error or outcome.http_status)
    ) or (
        outcome.status in ("not_attempted", "already_satisfied", "not_on_card") and outcome.error
    ):
        why = one_line(outcome.error)
        why = _REASONS.get(why, why)
    return word, what, why


#: The words of a count whose outcomes are of kinds that word it differently (an undo of
#: card members and values: "removed" and "reverted").
_MIXED_WORDS: dict[str, str] = {
    "would_undo": "would be undone",
    "undone": "undone",
    "not_on_card": "nothing to undo",
}


def _count_words(
    outcomes: Iterable[ChangeOutcome | JournalRecord], always: Iterable[str] = ()
) -> dict[str, str]:
    """How each status's count reads: the words of the outcomes' kinds (``count_word``, else
    the plain ``_COUNT_WORDS``) when they agree, ``_MIXED_WORDS`` when they differ. A status
    in ``always`` that no outcome has (a count of 0) reads in the words of every outcome's
    kind: ``0 reverted`` beside a value undo's ``drifted``, not the member kinds' ``removed``."""
    seen: dict[str, set[str]] = {}
    actions = {o.action for o in outcomes if known(o.action)}
    for o in outcomes:
        if o.action in actions:
            plain = _COUNT_WORDS.get(o.status, o.status.replace("_", " "))
            seen.setdefault(o.status, set()).add(kind_of(o.action).count_word(o.status) or plain)
    for status in always:
        if status not in seen and actions:
            plain = _COUNT_WORDS.get(status, status.replace("_", " "))
            seen[status] = {kind_of(a).count_word(status) or plain for a in actions}
    words = dict(_COUNT_WORDS)
    for status, found in seen.items():
        words[status] = found.pop() if len(found) == 1 else _MIXED_WORDS.get(status, status)
    return words


def _counts_text(
    counts: Mapping[str, int], always: Iterable[str], words: Mapping[str, str] = _COUNT_WORDS
) -> str:
    keys = [k for k in _COUNT_WORDS if counts.get(k) or k in always]
    keys += sorted(k for k in counts if k not in _COUNT_WORDS and k != "skipped_done" and counts[k])
    return ", ".join(f"{counts.get(k, 0)} {words.get(k, k.replace('_', ' '))}" for k in keys)


def apply_summary(
    report: ApplyReport,
    *,
    dry_run: bool = False,
    undo: bool = False,
    undone_earlier: Sequence[JournalRecord] = (),
) -> str:
    """The last line of an apply or undo: ``Summary: 120 applied, 3 already satisfied,
    1 drifted, 0 blocked, 0 failed.``, what an earlier run already did, and on a dry run
    ``Dry run: nothing was changed.`` Undo counts in its kinds' words: card members
    ``removed``, values ``reverted`` (found back already: ``already reverted``); ``undone``
    when the journal holds both; and every change an earlier undo of the journal settled
    (``undone_earlier``: its records, ``earlier_undo_text``)."""
    counts = report.counts
    if undo:
        always: tuple[str, ...] = ("would_undo" if dry_run else "undone", "failed")
    else:
        always = ("would_apply" if dry_run else "applied", *_APPLY_ALWAYS)
    words = _count_words(report.outcomes, always) | (_UNDO_WORDS if undo else {})
    if dry_run:  # a dry run writes nothing: what it counts done, a killed run did (R43a)
        by = "an interrupted undo" if undo else "an interrupted run"
        words |= {s: f"{words.get(s, s)} by {by}" for s in ("applied", "undone") if counts.get(s)}
    text = f"Summary: {_counts_text(counts, always, words)}."
    done = counts.get("skipped_done", 0)
    if done:
        text += f" {plural(done, 'change')} done by an earlier run (skipped)."
    if undone_earlier:
        text += f" {earlier_undo_text(undone_earlier)}"
    return text + (" Dry run: nothing was changed." if dry_run else "")


def earlier_undo_text(records: Sequence[JournalRecord]) -> str:
    """What an earlier undo settled (``undo_left.undone_earlier``'s records), in the words of the
    summary's own counts: ``71 changes reverted by an earlier undo.``, or with changes it found
    set back or gone ``74 changes settled by an earlier undo (71 reverted, 3 already
    reverted).``"""
    counts: Counter[str] = Counter(r.status for r in records)
    words = _count_words(records) | _UNDO_WORDS
    if set(counts) == {"undone"}:
        return f"{plural(len(records), 'change')} {words['undone']} by an earlier undo."
    parts = ", ".join(f"{counts[k]} {words.get(k, k)}" for k in _SETTLED_ORDER if counts[k])
    return f"{plural(len(records), 'change')} settled by an earlier undo ({parts})."


#: The order an earlier undo's counts are said in (``earlier_undo_text``).
_SETTLED_ORDER = ("undone", "already_satisfied", "not_on_card")


def progress_line(
    counts: Mapping[str, int],
    done: int,
    total: int,
    seconds: float,
    width: int = 24,
    words: Mapping[str, str] = _COUNT_WORDS,
) -> str:
    """The live status line: ``[#########···············]  37/120  30 applied, 5 already
    satisfied  8.1/s`` (the bar only when the total is known); each count in ``words``, as
    the summary says it (an undo of field changes: ``reverted``)."""
    shown = ", ".join(
        f"{counts.get(k, 0)} {words.get(k, k.replace('_', ' '))}"
        for k in _COUNT_WORDS
        if counts.get(k)
    )
    rate = f"{done / seconds:.1f}/s" if seconds > 0 else ""
    bar = ""
    if total > 0:
        filled = min(width, done * width // total)
        bar = "[" + "#" * filled + "." * (width - filled) + "]"
    return "  ".join(x for x in (bar, f"{done}/{total}" if total else str(done), shown, rate) if x)


class Progress:
    """The live progress of an apply or undo: counts outcomes as they come (from any worker
    thread) and, when ``enabled`` (stderr is a terminal), redraws one status line
    (``progress_line``) on stderr at most ten times a second. The one thing here that prints."""

    def __init__(
        self,
        total: int,
        *,
        enabled: bool,
        undo: bool = False,
        columns: Callable[[], int] = lambda: 80,
    ) -> None:
        from trello_restore.runner import UNSENT  # here: a plan's report needs no runner

        self._unsent_why = UNSENT
        self.total = total
        self.enabled = enabled
        #: The terminal's width now (the line is cut to it, less one).
        self.columns = columns
        self.undo = undo
        self.counts: Counter[str] = Counter()
        #: One outcome of each status and kind seen: the counts read in their kinds' words.
        self._kinds: dict[tuple[str, str], ChangeOutcome] = {}
        self.done = 0
        #: Writes Ctrl-C stopped before they were sent (``runner.UNSENT``): journaled, but no
        #: outcome of the run (``Runner._answered_late``), so not in ``done``.
        self.unsent = 0
        #: Of those, the ones an earlier attempt (or an earlier run's) may have sent: journaled
        #: ``failed`` and uncertain, not as not sent (``runner.Runner._send``).
        self.unsent_open = 0
        self._lock = threading.Lock()
        self._started = time.monotonic()
        self._drawn = 0.0

    def __call__(self, outcome: ChangeOutcome) -> None:
        with self._lock:
            if outcome.error == self._unsent_why:
                self.unsent += 1
                self.unsent_open += outcome.status == "failed"
                return
            self.done += 1
            self.counts[outcome.status] += 1
            self._kinds.setdefault((outcome.status, outcome.action), outcome)
            now = time.monotonic()
            if not self.enabled or (now - self._drawn < 0.1 and self.done < self.total):
                return
            self._drawn = now
            words = _count_words(self._kinds.values()) | (_UNDO_WORDS if self.undo else {})
            line = progress_line(
                self.counts, self.done, self.total, now - self._started, words=words
            )
            # Cut to the terminal's width: ``\r`` and erase-line redraw only the last row
            # of a line that wrapped (R37d: a stale row left per redraw at 80 columns).
            click.echo(f"\r{line[: self.columns() - 1]}\x1b[K", nl=False, err=True)

    def interrupted_counts(self) -> str:
        """What Ctrl-C's line says after ``N of M outcomes``: `` (10 of them done before this
        run; 8 more writes were stopped before they were sent and are journaled as not
        sent)``, each part only when its count is not 0 ("" when neither is). Those an earlier
        attempt may have sent (a resumed write: journaled ``failed``, uncertain) are named
        apart: the next run settles them from the board."""
        parts = []
        if earlier := self.counts.get("skipped_done", 0):  # a resumed apply's
            parts.append(f"{earlier} of them done before this run")
        if self.unsent:
            one = self.unsent == 1
            stopped = (
                f"{plural(self.unsent, 'more write')} {'was' if one else 'were'} stopped before "
                f"{'it was' if one else 'they were'} sent"
            )
            open_ = self.unsent_open
            them = "it" if open_ == 1 else "them"
            maybe = (
                "as failed, since an earlier attempt may have gone through: the next run "
                f"settles {them} from the board"
            )
            if not open_:
                parts.append(f"{stopped} and {'is' if one else 'are'} journaled as not sent")
            elif open_ == self.unsent:
                parts.append(f"{stopped} and {'is' if one else 'are'} journaled {maybe}")
            else:
                sure = self.unsent - open_
                parts.append(
                    f"{stopped}: {sure} {'is' if sure == 1 else 'are'} journaled as not sent, "
                    f"and {open_} {maybe}"
                )
        return f" ({'; '.join(parts)})" if parts else ""

    def clear(self) -> None:
        """Remove the status line."""
        with self._lock:
            if self.enabled and self._drawn:
                click.echo("\r\x1b[K", nl=False, err=True)
                self._drawn = 0.0


def board_outcomes(
    boards: Iterable[tuple[str, str]],
    report: ApplyReport | None,
    statuses: Iterable[str],
    blocked: Iterable[str] = (),
) -> list[dict[str, object]]:
    """Each board (id, name) with its changes' outcome counts (each of ``statuses``, zero or
    not): what a cron wrapper reads to tell which boards were repaired when a run stopped
    early or failed some writes (R35b: only the whole run's counts were there). ``blocked``:
    the boards of the blocked changes of a run that had nothing else to write (no report),
    counted as its ``apply.blocked`` is (R49b: every board said 0)."""
    per: dict[str, Counter[str]] = {}
    for o in report.outcomes if report is not None else ():
        per.setdefault(o.board_id, Counter())[o.status] += 1
    for board_id in blocked:
        per.setdefault(board_id, Counter())["blocked"] += 1
    wanted = tuple(statuses)
    return [
        {"id": b, "name": n, "apply": {s: per.get(b, Counter())[s] for s in wanted}}
        for b, n in boards
    ]
