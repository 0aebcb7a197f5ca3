"""What a run of ``runner.Runner`` is given and gives back: how to apply or undo
(``ApplyOptions``: workers, rates, retries, dry run, and what a one-step run changes), each
change's outcome (``ChangeOutcome``, made by ``outcome_of``) and the run's report
(``ApplyReport``, with its exit code). Values only: the runner, the applier and undo fill them,
the report and the command line read them."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

from trello_restore import defaults
from trello_restore.errors import ExitCode
from trello_restore.limiter import RateLimiter
from trello_restore.models import Change, MemberRef, Membership

if TYPE_CHECKING:
    from trello_restore.config import Settings


#: Outcomes that make a run a partial failure.
PROBLEMS = frozenset({"failed", "drifted", "blocked"})
#: Outcome of a change an earlier run finished (no request, nothing journaled).
SKIPPED_DONE = "skipped_done"


@dataclass(frozen=True)
class ApplyOptions:
    """How to apply (or undo): concurrency, rate, retries, dry run. Windows and backoff are in
    real seconds (divide by the sandbox's ``time_scale`` when it has one)."""

    #: Worker threads sending writes at once (latency is hidden behind them).
    workers: int = defaults.WORKERS
    #: The cap on the run's own requests per window per token (Trello's count of everyone's
    #: requests paces it below that: ``limiter.RateLimiter``).
    token_limit: int = defaults.TOKEN_RATE_LIMIT
    #: The cap on the run's own requests per window per API key.
    key_limit: int = defaults.KEY_RATE_LIMIT
    #: Trello's rate window, in seconds.
    window_s: float = defaults.RATE_WINDOW_S
    #: Retries of a write after a 429, a 5xx or a connection error (attempts = retries + 1).
    max_retries: int = defaults.MAX_RETRIES
    #: Backoff base in seconds for 5xx and connection errors: ``backoff_s * 2**n``, jittered.
    backoff_s: float = defaults.BACKOFF_S
    #: Read live state and report what would happen; write nothing, journal nothing.
    dry_run: bool = False
    #: The breaker opens after this many write attempts in a row failed with a 5xx or no
    #: answer (retries included, across workers), lasting at least ``backoff_s`` (or fewer
    #: over a longer time, see ``Breaker``).
    breaker_attempts: int = 16
    #: ... or when more than half of the last this-many writes failed after their retries.
    breaker_window: int = 20
    #: Warnings this run has shown already (a one-shot run's plan's): its apply does not
    #: show the same text again.
    shown: frozenset[str] = field(default=frozenset(), repr=False)
    #: A write refused for lack of rights stops the writes to its board only, not the run
    #: (a one-step run with changes on several boards): see ``Runner``.
    refused_boards_go_on: bool = False
    #: The plan was made by this run from a read of the boards moments ago (the one-step run):
    #: its read is the state its changes were decided on, so the boards' actions since it was
    #: made are not read (``touches.apply_touches``; an apply of a plan file reads them).
    fresh_plan: bool = False

    def __post_init__(self) -> None:
        """Refuse values no run could work with (ValueError: a programming error)."""
        if self.workers < 1 or self.token_limit < 1 or self.key_limit < 1:
            raise ValueError("workers and rate limits must be at least 1")
        if self.breaker_attempts < 1 or self.breaker_window < 1:
            raise ValueError("the breaker's thresholds must be at least 1")
        if not self.window_s > 0:
            raise ValueError("window_s must be positive")
        if self.max_retries < 0 or self.backoff_s < 0:
            raise ValueError("max_retries and backoff_s must not be negative")

    @classmethod
    def from_settings(
        cls,
        settings: Settings,
        *,
        workers: int | None = None,
        rate_limit: int | None = None,
        dry_run: bool = False,
    ) -> ApplyOptions:
        """The options of resolved settings (``config.Settings``, already range-checked); a
        command's own ``--workers`` / ``--rate-limit`` beat them. The per-key limit is never
        below the per-token one."""
        token_limit = rate_limit or settings.rate_limit or defaults.TOKEN_RATE_LIMIT
        return cls(
            workers=workers or settings.workers,
            token_limit=token_limit,
            key_limit=max(settings.key_rate_limit or defaults.KEY_RATE_LIMIT, token_limit),
            window_s=settings.window_s or defaults.RATE_WINDOW_S,
            max_retries=settings.max_retries,
            dry_run=dry_run,
        )

    def make_limiter(self) -> RateLimiter:
        """A limiter with these limits."""
        return RateLimiter(self.token_limit, self.window_s, key_limit=self.key_limit)


@dataclass(frozen=True)
class ChangeOutcome:
    """What happened to one change in this run."""

    change_id: str
    #: ``add_member_to_card`` or ``add_member_to_board`` (the plan's action; undo keeps it).
    action: str
    #: ``applied``, ``already_satisfied``, ``drifted``, ``blocked``, ``failed``,
    #: ``skipped_done``, ``would_apply``; for undo ``undone``, ``not_on_card``, ``would_undo``.
    status: str
    board_id: str
    #: Empty for board memberships.
    card_id: str
    member_id: str
    #: The HTTP status of the last answer, for failures (None when there was none).
    http_status: int | None = None
    #: Why: Trello's error text, or the precondition that decided it.
    error: str = ""


@dataclass
class ApplyReport:
    """The outcome of an apply or undo run."""

    #: One per change of the plan (or undoable journal record), in plan order.
    outcomes: list[ChangeOutcome]
    #: Outcomes by status.
    counts: dict[str, int]
    #: The journal written (or read, on a dry run); None without one.
    journal_path: Path | None
    #: Requests sent over the network by this run (retries included).
    requests_sent: int
    #: 429 answers received.
    rate_limited: int
    #: Wall-clock seconds.
    seconds: float
    #: Why the run stopped before it was done (Trello kept failing), or "" when it was not.
    stopped: str = ""
    #: Change id → what it is about by the names live state gave (an undo's member changes:
    #: ``ChangeKind.live_label``), for the outcome lines; the rest are named otherwise.
    labels: dict[str, str] = field(default_factory=dict)
    #: Board id → the board's name as the run's live read gave it (an undo's, for its JSON
    #: summary; the plan names an apply's boards).
    board_names: dict[str, str] = field(default_factory=dict)
    #: Board id → what Trello answered the write it refused there for lack of rights
    #: (``HTTP 401 …``), whose other writes were not sent (``refused_boards_go_on``).
    refused: dict[str, str] = field(default_factory=dict)
    #: Those of ``refused`` whose live read Trello refused, before any write there.
    refused_reads: set[str] = field(default_factory=set)
    #: With ``refused``: the token's member, and their membership of each refused board as a
    #: read after the run gave it (None: none; a board not in it: not read), for the line
    #: that ends an apply or undo (``run_apply.with_refusals``).
    member: MemberRef | None = None
    refused_memberships: dict[str, Membership | None] = field(default_factory=dict)
    #: An undo's dry run beside a running apply of the journal: the changes (ids) that apply
    #: has under way, which the dry run leaves out (``undo._say_running``) and an earlier
    #: undo's count leaves out too (``undo_left.undone_earlier``).
    under_way: frozenset[str] = frozenset()

    @property
    def exit_code(self) -> ExitCode:
        """UNREACHABLE when the run was stopped because Trello kept failing; else AUTH when
        Trello refused the writes to a board (``refused``); else OK when nothing failed,
        drifted or was blocked; PARTIAL otherwise."""
        if self.stopped:
            return ExitCode.UNREACHABLE
        if self.refused:
            return ExitCode.AUTH
        if any(self.counts.get(s) for s in PROBLEMS):
            return ExitCode.PARTIAL
        return ExitCode.OK


def outcome_of(
    change: Change, status: str, http_status: int | None = None, error: str = ""
) -> ChangeOutcome:
    """A change's outcome."""
    return ChangeOutcome(
        change.change_id,
        change.action,
        status,
        change.board_id,
        change.card_id,
        change.member.id,
        http_status,
        error,
    )
