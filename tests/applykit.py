"""Shared helpers of the apply and undo tests: plans made over HTTP, world snapshots, journals."""

from __future__ import annotations

import signal
import subprocess
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from trello_restore.api import ApiSettings, TrelloApi
from trello_restore.applier import ApplyOptions, ApplyReport, ChangeOutcome, apply_plan
from trello_restore.journal import Journal, JournalHeader
from trello_restore.plan_request import build_request
from trello_restore.planfile import PlanDict, plan_digest, plan_from_dict, plan_to_dict
from trello_restore.run import make_plan
from trello_restore.sandbox.scenario import Scenario
from trello_restore.sandbox.truth import GroundTruth
from trello_restore.sandbox.world import World

from .conftest import Sandbox

NOW = datetime(2026, 11, 26, tzinfo=UTC)
#: Cards: card id -> member ids. Boards: board id -> active member id -> member type.
Cards = dict[str, frozenset[str]]
Boards = dict[str, dict[str, str]]


def plan_doc(sb: Sandbox, s: Scenario, name: str) -> PlanDict:
    """The plan document of reference option set ``name`` (design.md §3, §10.4: ``--restore``
    and ``--by`` too), made over HTTP naming the team board."""
    o = s.option_sets()[name]
    request = build_request(
        boards=(s.team.id,),
        exports=(),
        since=o.since.isoformat(),
        until=None,
        now=NOW,
        mode=o.mode,
        removed_by=s.mover.username if o.removed_by else None,
        by=o.by,
        restore=tuple(sorted(o.restore)),
        only_recorded=o.only_recorded,
        add_to_board=o.add_to_board,
        api_url=sb.base_url,
        key=sb.key,
        token=sb.token,
    )
    result = make_plan(request, created_at=NOW)
    return plan_to_dict(result.plan, result.meta)


#: Applies a plan file against a sandbox URL (credentials from the environment) and prints the
#: outcome counts: ``python -c APPLY PLAN JOURNAL URL``. Windows are the sandbox's at
#: ``time_scale=10``. Locks are taken beside the journal (``locks/``). A request gives up after
#: 3 s: a run after a killed one waits that long at most for its writes still on their way.
#: 8 writers (the default before R75c's 16), so that a kill after a few writes finds some of a
#: small plan's changes not yet sent.
APPLY = """
import json, os, sys
from pathlib import Path
from trello_restore.api import ApiSettings, TrelloApi
from trello_restore.applier import ApplyOptions, apply_plan
from trello_restore.journal import Journal, JournalHeader
from trello_restore.planfile import digest_of, read_plan

plan_file, journal_path, url = sys.argv[1:4]
plan, meta = read_plan(plan_file)
settings = ApiSettings(
    key=os.environ["TRELLO_API_KEY"], token=os.environ["TRELLO_TOKEN"], api_url=url,
    backoff_s=0.1, rate_window_s=1.0, connect_timeout=0.5, read_timeout=2.5,
)
with TrelloApi(settings) as api:
    header = JournalHeader(digest_of(plan, meta), url, api.me()["id"], "2026-11-26T00:00:00Z")
    with Journal.open(Path(journal_path), header) as journal:
        report = apply_plan(
            plan, meta, api, journal, ApplyOptions(window_s=1.0, backoff_s=0.1, workers=8),
            lock_dir=Path(journal_path).parent / "locks",
        )
print(json.dumps(report.counts, sort_keys=True))
"""


def apply_command(plan: Path, journal: Path, sb: Sandbox) -> list[str]:
    """The command line that runs ``APPLY`` on ``plan`` with ``journal`` against ``sb``."""
    return [sys.executable, "-c", APPLY, str(plan), str(journal), sb.base_url]


def writes(sb: Sandbox) -> int:
    """Writes (POST, PUT) the sandbox has processed so far."""
    return sum(1 for r in sb.server.request_log if r.method in ("POST", "PUT"))


def kill_when(command: list[str], env: dict[str, str], ready: Callable[[], bool]) -> None:
    """Start ``command`` and SIGKILL it as soon as ``ready()`` (polled every millisecond). The
    run must not have finished by itself (AssertionError)."""
    proc = subprocess.Popen(command, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    while proc.poll() is None and not ready():
        time.sleep(0.001)
    proc.send_signal(signal.SIGKILL)
    _, err = proc.communicate(timeout=60)
    assert proc.returncode == -signal.SIGKILL, f"killed mid-run, not finished: {err[-500:]!r}"


def interrupt_handled(proc: subprocess.Popen[Any], sig: int = signal.SIGINT) -> None:
    """Send ``sig`` to ``proc`` (a run of the tool) and wait until its handler ran: the run's
    first Ctrl-C or SIGTERM sets both signals to be ignored (``interrupts.first_ctrl_c_only``),
    which ``/proc/<pid>/status`` shows; rather than a fixed pause, which a loaded machine
    (``pytest -n 2``) can outlast, letting writes through before the run saw the signal. It
    fails if the run ignores the signal (started with SIGINT ignored: see ``conftest``)."""
    proc.send_signal(sig)
    status = Path(f"/proc/{proc.pid}/status")
    if not Path("/proc/self/status").exists():  # not Linux: a pause, as these tests had
        time.sleep(0.5)
        return
    deadline = time.monotonic() + 30
    while proc.poll() is None and time.monotonic() < deadline:
        try:
            lines = status.read_text().splitlines()
        except OSError:  # it ended meanwhile: the caller's checks of its exit say how
            return
        masks = [int(line.split()[1], 16) for line in lines if line.startswith("SigIgn:")]
        if masks and masks[0] & (1 << (sig - 1)):
            return
        time.sleep(0.001)
    assert proc.poll() is not None, f"the run did not handle signal {sig} within 30 s"


def kill_after_writes(command: list[str], env: dict[str, str], sb: Sandbox, more: int) -> int:
    """Run ``command`` and SIGKILL it once the sandbox has processed ``more`` further writes;
    returns how many writes the sandbox had processed when it was killed."""
    threshold = writes(sb) + more
    kill_when(command, env, lambda: writes(sb) >= threshold)
    return writes(sb)


def api_for(sb: Sandbox, **settings: Any) -> TrelloApi:
    """A TrelloApi on the sandbox with the lead's credentials (no cache, quick retries)."""
    settings.setdefault("backoff_s", 0.02)
    settings.setdefault("rate_window_s", 0.1)
    return TrelloApi(ApiSettings(key=sb.key, token=sb.token, api_url=sb.base_url, **settings))


def fast_options(**changes: Any) -> ApplyOptions:
    """Options for a sandbox at ``time_scale=100`` (0.1 s windows)."""
    base: dict[str, Any] = {"window_s": 0.1, "backoff_s": 0.02}
    return ApplyOptions(**(base | changes))


def apply_doc(
    doc: PlanDict,
    api: TrelloApi,
    journal: Journal | None,
    options: ApplyOptions,
    progress: Callable[[ChangeOutcome], None] | None = None,
) -> ApplyReport:
    """``apply_plan`` of a plan document as the tests hold it (read back as the typed plan),
    with the locks beside the journal (``<journal's directory>/locks``; none without one)."""
    plan, meta = plan_from_dict(doc)
    locks = journal.path.parent / "locks" if journal is not None else None
    return apply_plan(plan, meta, api, journal, options, progress, lock_dir=locks)


def open_journal(doc: PlanDict, path: Path, api: TrelloApi) -> Journal:
    """The plan's journal at ``path`` (created, or resumed)."""
    header = JournalHeader(
        plan_digest=plan_digest(doc),
        api_url=api.settings.api_url,
        account_id=str(api.me()["id"]),
        created_at="2026-11-26T00:00:00Z",
    )
    return Journal.open(path, header)


@dataclass(frozen=True)
class Snapshot:
    """Card and board memberships of a world, at one moment."""

    cards: Cards
    boards: Boards


def snapshot(world: World) -> Snapshot:
    """Every card's members and every board's active members, now."""
    with world.lock:
        cards = {c.id: frozenset(c.id_members) for c in world.cards.values()}
        boards: Boards = {
            b.id: {m: ms.member_type for m, ms in b.memberships.items() if b.is_active_member(m)}
            for b in world.boards.values()
        }
    return Snapshot(cards, boards)


def expected(before: Snapshot, truth: GroundTruth) -> Snapshot:
    """``before`` plus the truth's changes and grants: what an exact apply leaves."""
    cards = dict(before.cards)
    for c in truth.changes:
        cards[c.card_id] = cards[c.card_id] | {c.member_id}
    boards = {b: dict(m) for b, m in before.boards.items()}
    for g in truth.grants:
        boards[g.board_id].setdefault(g.member_id, g.role)
    return Snapshot(cards, boards)


def diff(got: Snapshot, want: Snapshot) -> list[str]:
    """Readable differences (empty when equal)."""
    out = [
        f"card {cid}: extra {sorted(got.cards.get(cid, frozenset()) - m)}, "
        f"missing {sorted(m - got.cards.get(cid, frozenset()))}"
        for cid, m in want.cards.items()
        if got.cards.get(cid) != m
    ]
    out += [
        f"board {bid}: {got.boards.get(bid)} != {m}"
        for bid, m in want.boards.items()
        if got.boards.get(bid) != m
    ]
    return out


#: ``python -c SIGNALS.format(sigint=…) ARGS…`` runs the command line with SIGINT set as
#: ``sigint`` says (``SIG_DFL``: what a user's shell gives it) and SIGTERM and SIGHUP at their
#: defaults, whatever this process inherited or a test left (a suite started in the
#: background has SIGINT ignored, and an ignored signal is inherited across exec).
SIGNALS = (
    "import os, signal, sys; "
    "signal.signal(signal.SIGINT, signal.{sigint}); "
    "signal.signal(signal.SIGTERM, signal.SIG_DFL); "
    "signal.signal(signal.SIGHUP, signal.SIG_DFL); "
    "os.execv(sys.executable, [sys.executable, '-m', 'trello_restore', *sys.argv[1:]])"
)
