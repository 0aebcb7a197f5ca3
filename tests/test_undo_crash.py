"""Undo after a killed apply gives back exactly the pre-apply state (issue 9, item 1).

The apply (or the one-shot form) runs in a subprocess and is SIGKILLed while writes are in
flight. The sandbox runs in this process and outlives the kill: ``InFlight`` holds the writes
the dead process had sent inside the sandbox and then lets them through (Trello processes a
request whose body it received) or refuses some (a write that never took effect), so the
journal is left with ``pending`` records of both kinds. Undo, over HTTP through the command
line, must resolve them from live state (design.md §5 "Undo"); the one-shot form run again must
not orphan them."""

from __future__ import annotations

import os
import re
import sys
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from click.testing import Result

from trello_restore.journal import Journal, JournalRecord
from trello_restore.planfile import write_plan
from trello_restore.sandbox import endpoints
from trello_restore.sandbox.scenario import Scenario, generate
from trello_restore.sandbox.world import TrelloError

from .applykit import Snapshot, apply_command, diff, kill_when, plan_doc, snapshot
from .conftest import Sandbox, SandboxFactory, cli_invoker
from .truthcheck import incident_since

Invoke = Callable[..., Result]

#: The sandbox at a tenth of Trello's time, 300 ms latency (30 ms real), and limits high enough
#: that the command line's limiter (``--rate-limit 1000``) never meets a 429.
SANDBOX = {"time_scale": 10, "latency_ms": 300, "token_limit": 10_000, "key_limit": 10_000}
#: 10 % 5xx answers and 5 % dropped connections (half of the faulted writes applied first).
FAULTS = {"error_rate": 0.10, "drop_rate": 0.05}
#: The writes an apply sends.
WRITE_ROUTES = (
    endpoints.Route("POST", "/1/cards/{id}/idMembers"),
    endpoints.Route("PUT", "/1/boards/{id}/members/{idMember}"),
)
#: Writes held in flight when the process is killed (the third of them is refused).
IN_FLIGHT = 3
#: Quiet time after a kill: longer than the sandbox's latency (30 ms real).
QUIET_S = 0.4
#: Seconds a request of the command line waits for its answer (``TRELLO_RESTORE_REQUEST_TIMEOUT``).
REQUEST_TIMEOUT = "0.5"


class InFlight:
    """Let the sandbox apply ``after`` more writes, then hold every further one inside the
    sandbox, before it takes effect: the writes a client has in flight when it is killed.
    ``release()`` lets them through, except every ``refuse_every``-th, answered 503 without
    taking effect."""

    def __init__(self, monkeypatch: pytest.MonkeyPatch, after: int, refuse_every: int) -> None:
        self._cond = threading.Condition()
        self._open = False
        self._after = after
        self._refuse_every = refuse_every
        self.passed = 0
        self.held = 0
        self._answered = 0
        for route in WRITE_ROUTES:
            monkeypatch.setitem(endpoints.HANDLERS, route, self._wrap(endpoints.HANDLERS[route]))

    def _wrap(self, handler: endpoints.Handler) -> endpoints.Handler:
        def gated(call: endpoints.Call) -> Any:
            with self._cond:
                if self._open or self.passed < self._after:
                    self.passed += 1
                    n = 0
                else:
                    self.held += 1
                    n = self.held
            if not n:
                return handler(call)
            # The sandbox runs handlers under the world's lock: let other requests in meanwhile.
            call.world.lock.release()
            try:
                with self._cond:
                    self._cond.wait_for(lambda: self._open, timeout=30)
            finally:
                call.world.lock.acquire()
            try:
                if self._refuse_every and n % self._refuse_every == 0:
                    raise TrelloError(503, "Service Unavailable")
                return handler(call)
            finally:
                with self._cond:
                    self._answered += 1
                    self._cond.notify_all()

        return gated

    def release(self, sb: Sandbox) -> None:
        """Let the held writes through, wait until each is answered, and until the sandbox has
        logged no request for ``QUIET_S``: the requests still on their way in (in their
        latency) when the process died are processed too."""
        with self._cond:
            self._open = True
            self._cond.notify_all()
            assert self._cond.wait_for(lambda: self._answered == self.held, timeout=30)
        seen, since = len(sb.server.request_log), time.monotonic()
        while time.monotonic() - since < QUIET_S:
            time.sleep(QUIET_S / 10)
            if len(sb.server.request_log) != seen:
                seen, since = len(sb.server.request_log), time.monotonic()


def _open_writes(journal: Path) -> dict[str, JournalRecord]:
    """The changes whose latest apply record leaves open whether the write reached Trello
    (``pending``, or ``failed`` after an attempt that may have gone through), by change id."""
    latest = {r.change_id: r for r in Journal.read(journal).records if r.op == "apply"}
    return {
        cid: r
        for cid, r in latest.items()
        if r.status == "pending" or (r.status == "failed" and r.uncertain)
    }


def _landed(sb: Sandbox, r: JournalRecord) -> bool:
    """Whether the write of journal record ``r`` is in the world now."""
    with sb.world.lock:
        if r.action == "add_member_to_board":
            return sb.world.boards[r.board_id].is_active_member(r.member_id)
        card = sb.world.cards.get(r.card_id)
        return card is not None and r.member_id in card.id_members


def _env(sb: Sandbox) -> dict[str, str]:
    return dict(os.environ) | {
        "TRELLO_API_URL": sb.base_url,
        "TRELLO_API_KEY": sb.key,
        "TRELLO_TOKEN": sb.token,
        # Undo (and the one-shot run's settling of an earlier journal) waits for a killed run's
        # writes that may still be in flight, as long as a request may take: keep that short.
        # (``InFlight.release`` has every held write answered before they run.)
        "TRELLO_RESTORE_REQUEST_TIMEOUT": REQUEST_TIMEOUT,
    }


def _invoker(sb: Sandbox, monkeypatch: pytest.MonkeyPatch) -> Invoke:
    """The command line in-process, with the sandbox's URL and credentials."""
    for name, value in _env(sb).items():
        monkeypatch.setenv(name, value)
    return cli_invoker(monkeypatch)


def _undo(invoke: Invoke, journal: Path, *, boards: bool = True) -> Result:
    """``undo JOURNAL --yes`` (with ``--include-board-memberships`` unless ``boards`` is False)."""
    flags = ["--include-board-memberships"] if boards else []
    return invoke("undo", str(journal), "--yes", *flags, "--rate-limit", "1000")


def _killed_apply(
    sandbox_factory: SandboxFactory,
    monkeypatch: pytest.MonkeyPatch,
    tmp_path: Path,
    seed: int,
    cards: int,
    kill: str,
    faults: dict[str, float],
) -> tuple[Scenario, Sandbox, Snapshot, Path]:
    """Plan set b over HTTP; apply it in a subprocess with ``faults`` and SIGKILL it with
    ``IN_FLIGHT`` writes in flight: grants (``kill="grants"``, after the first grant) or card
    adds (after the grants and a few adds). Returns the world's snapshot from before the
    apply, and the journal."""
    s = generate(seed, cards)
    sb = sandbox_factory(s, **SANDBOX, seed=seed)
    doc = plan_doc(sb, s, "b")
    grants = sum(1 for c in doc["changes"] if c["action"] == "add_member_to_board")
    assert grants > IN_FLIGHT, "the scenario must have board grants to hold"
    assert len(doc["changes"]) > grants + 10 + IN_FLIGHT, "and card adds"
    before = snapshot(s.world)
    plan, journal = tmp_path / "plan.json", tmp_path / "journal.jsonl"
    write_plan(doc, plan)
    sb.server.set_options(**faults)
    gate = InFlight(monkeypatch, 1 if kill == "grants" else grants + 2 + seed % 8, IN_FLIGHT)
    kill_when(apply_command(plan, journal, sb), _env(sb), lambda: gate.held >= IN_FLIGHT)
    gate.release(sb)
    return s, sb, before, journal


@pytest.mark.parametrize(
    ("seed", "cards", "kill", "faults"),
    [
        (1, 60, "grants", {}),
        (2, 90, "cards", {}),
        (3, 60, "cards", FAULTS),
        (4, 120, "grants", FAULTS),
    ],
    ids=["grants-clean", "cards-clean", "cards-faults", "grants-faults"],
)
def test_undo_after_a_kill_gives_back_the_pre_apply_state(
    sandbox_factory: SandboxFactory,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    seed: int,
    cards: int,
    kill: str,
    faults: dict[str, float],
) -> None:
    """Killed with writes in flight, the journal holds ``pending`` records whose writes landed
    and one whose write did not; ``undo --yes`` straight away (the faults still on) removes the
    card members those writes added, then with ``--include-board-memberships`` the granted
    memberships: exactly the pre-apply state, exit 0, every pending record resolved in the
    journal. A third undo has nothing left to do and sends nothing."""
    s, sb, before, journal = _killed_apply(
        sandbox_factory, monkeypatch, tmp_path, seed, cards, kill, faults
    )
    left = _open_writes(journal)
    landed = [r for r in left.values() if _landed(sb, r)]
    print(f"seed {seed}: {len(left)} open after the kill, {len(landed)} of them landed")
    assert landed, "the kill must leave pending writes that reached Trello"
    assert len(landed) < len(left), "and one that did not"
    after_kill = snapshot(s.world)

    invoke = _invoker(sb, monkeypatch)
    # A dry run (faults off: the real runs below have them) resolves in memory: it counts the
    # landed writes among those it would remove, and changes nothing, the journal included.
    sb.server.set_options(error_rate=0.0, drop_rate=0.0)
    text, start = journal.read_bytes(), len(sb.server.request_log)
    dry = invoke("undo", str(journal), "--dry-run", "--include-board-memberships")
    assert dry.exit_code == 0, dry.output
    latest = {r.change_id: r for r in Journal.read(journal).records if r.op == "apply"}
    would = sum(1 for r in latest.values() if r.status == "applied") + len(landed)
    assert f"Summary: {would} would be removed" in dry.output
    assert journal.read_bytes() == text
    assert not [r for r in sb.server.request_log[start:] if r.method != "GET"]
    sb.server.set_options(**faults)
    # Card members first, on their own: removing a granted board membership also takes the
    # member off the board's cards, which would hide a card member left behind.
    cards_only = _undo(invoke, journal, boards=False)
    assert cards_only.exit_code == 0, cards_only.output
    assert diff(snapshot(s.world), Snapshot(before.cards, after_kill.boards)) == []
    result = _undo(invoke, journal)
    assert result.exit_code == 0, result.output
    assert diff(snapshot(s.world), before) == []

    assert _open_writes(journal) == {}
    status = {r.change_id: r.status for r in Journal.read(journal).records if r.op == "apply"}
    assert all(status[r.change_id] == "applied" for r in landed)
    assert all(status[c] == "not_applied" for c in set(left) - {r.change_id for r in landed})

    sb.server.set_options(error_rate=0.0, drop_rate=0.0)
    start = len(sb.server.request_log)
    again = _undo(invoke, journal)
    assert again.exit_code == 0, again.output
    assert "Nothing to undo" in again.output
    assert sb.server.request_log[start:] == []


def test_one_shot_killed_and_run_again_orphans_nothing(
    sandbox_factory: SandboxFactory, monkeypatch: pytest.MonkeyPatch
) -> None:
    """``trello-restore --board X --since T … --yes`` killed with writes in flight, then run
    again to the end: the second run resolves the first journal's pending records from live
    state before it writes (a landed one is the first run's ``applied``; a refused one is
    ``not_applied`` and the second run adds it), so each member the tool added is claimed by
    exactly one journal, and undoing both journals gives back exactly the pre-apply state."""
    s = generate(6, 80)
    sb = sandbox_factory(s, **SANDBOX, seed=6)
    since = incident_since(s)
    args = ["--board", s.team.id, "--since", since, "--removed-by", s.mover.username,
            "--add-to-board", "--rate-limit", "1000", "--yes", "-q"]  # fmt: skip
    before = snapshot(s.world)
    home = Path(os.environ["TRELLO_RESTORE_HOME"])  # the test's own (conftest)
    gate = InFlight(monkeypatch, len(s.truth("b").grants) + 4, IN_FLIGHT)
    command = [sys.executable, "-m", "trello_restore", *args]
    kill_when(command, _env(sb), lambda: gate.held >= IN_FLIGHT)
    gate.release(sb)
    (first,) = (home / "state" / "journals").glob("*.jsonl")
    left = _open_writes(first)
    landed = {c for c, r in left.items() if _landed(sb, r)}
    assert landed, "the kill must leave pending writes that reached Trello"
    assert len(landed) < len(left), "and one that did not"

    invoke = _invoker(sb, monkeypatch)
    rerun = invoke(*args)
    assert rerun.exit_code == 0, rerun.output
    latest = {r.change_id: r.status for r in Journal.read(first).records if r.op == "apply"}
    assert {c: latest[c] for c in left} == {
        c: "applied" if c in landed else "not_applied" for c in left
    }
    journals = sorted((home / "state" / "journals").glob("*.jsonl"))
    assert len(journals) == 2

    # Every member the tool added is claimed by exactly one journal: nothing is orphaned.
    claimed: list[tuple[str, str, str]] = []
    for path in journals:
        last = {r.change_id: r for r in Journal.read(path).records if r.op == "apply"}
        claimed += [
            (r.board_id, r.card_id, r.member_id) for r in last.values() if r.status == "applied"
        ]
    after = snapshot(s.world)
    added = {(b, "", m) for b, ms in after.boards.items() for m in ms if m not in before.boards[b]}
    added |= {
        (s.world.cards[c].id_board, c, m)
        for c, ms in after.cards.items()
        for m in ms - before.cards.get(c, frozenset())
    }
    assert sorted(claimed) == sorted(added)

    for path in journals:
        result = _undo(invoke, path, boards=False)
        assert result.exit_code == 0, result.output
    assert diff(snapshot(s.world), Snapshot(before.cards, after.boards)) == []
    for path in journals:
        result = _undo(invoke, path)
        assert result.exit_code == 0, result.output
    assert diff(snapshot(s.world), before) == []


def test_a_pending_write_whose_card_was_deleted_is_settled_by_undo(
    sandbox_factory: SandboxFactory, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Pending adds whose card was deleted after the kill: the card read by id is gone, so
    there is nothing to take off (R35a: they were "cannot tell" failures, exit 5, that every
    later undo and one-step run repeated, and nothing could settle). Undo removes everything
    else, counts them as no longer there, settles them and exits 0."""
    s, sb, before, journal = _killed_apply(
        sandbox_factory, monkeypatch, tmp_path, 7, 60, "cards", {}
    )
    pending = [r for r in _open_writes(journal).values() if r.card_id and _landed(sb, r)]
    assert pending
    gone = pending[0]
    on_card = {c for c, r in _open_writes(journal).items() if r.card_id == gone.card_id}
    sb.world.delete_card(gone.card_id, s.mover.id)

    result = _undo(_invoker(sb, monkeypatch), journal)
    assert result.exit_code == 0, result.output
    assert "cannot tell" not in result.output
    assert "0 failed" in result.output
    there = re.search(r"(\d+) no longer there", result.output)
    assert there is not None, result.output
    assert int(there.group(1)) >= len(on_card)  # the deleted card's (with others' if any)
    want = Snapshot({c: m for c, m in before.cards.items() if c != gone.card_id}, before.boards)
    assert diff(snapshot(s.world), want) == []
    assert set(_open_writes(journal)) == set()
