"""A plan applied again after its undo (review A22), over the command line against the sandbox:
the apply says in one line that the plan was undone, and when, before it writes; every write of
the new apply is reached by the next undo, which counts each change once (the earlier undo's
are not counted again as "settled by an earlier undo"); apply → undo → apply → undo ends with
Trello as before the first apply, for card members with their board memberships and for a
value kind (``--restore archived``). The second apply killed mid-way, then resumed (no write
twice) or undone straight away, ends the same; and a change whose undo failed, found still
there by the apply again, stays this tool's (``applied``), for the next undo to remove."""

from __future__ import annotations

import re
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from click.testing import Result

from trello_restore.errors import ExitCode
from trello_restore.journal import Journal
from trello_restore.planfile import write_plan
from trello_restore.sandbox import endpoints
from trello_restore.sandbox.scenario import Scenario, generate
from trello_restore.sandbox.truth import State, snapshot
from trello_restore.sandbox.world import TrelloError
from trello_restore.undo_left import undoable

from .applykit import apply_command, kill_after_writes, plan_doc
from .conftest import Sandbox, SandboxFactory, sandbox_cli

Invoke = Callable[..., Result]

#: Per kind: the reference option set planned, the undo's flags, the undo's count word, and
#: the route of the undo's writes (refused once in ``test_an_undo_that_failed…``).
KINDS: dict[str, tuple[str, tuple[str, ...], str, endpoints.Route]] = {
    "members": (
        "b",
        ("--include-board-memberships",),
        "removed",
        endpoints.Route("DELETE", "/1/cards/{id}/idMembers/{idMember}"),
    ),
    "archived": ("f", (), "reverted", endpoints.Route("PUT", "/1/cards/{id}")),
}
FAST = ("--yes", "--rate-limit", "1000")
WRITES = ("POST", "PUT", "DELETE")
AGAIN = re.compile(r"this plan was undone on \d{4}-\d\d-\d\d \d\d:\d\d:\d\d UTC \(journal (.+)\); ")


class Run:
    """A scenario served over loopback with the plan of ``kind`` written to a file, and the
    command line pointed at it."""

    def __init__(
        self,
        kind: str,
        sandbox_factory: SandboxFactory,
        monkeypatch: pytest.MonkeyPatch,
        tmp_path: Path,
    ) -> None:
        name, self.undo_flags, self.word, self.undo_route = KINDS[kind]
        self.s: Scenario = generate(11, 60, second_damage=kind == "archived")
        self.sb: Sandbox = sandbox_factory(self.s, token_limit=10_000, key_limit=10_000)
        doc = plan_doc(self.sb, self.s, name)
        self.n = len(doc["changes"])
        assert self.n > 5, "the scenario must plan changes"
        assert not doc["blocked"]
        self.plan, self.journal = tmp_path / "plan.json", tmp_path / "journal.jsonl"
        write_plan(doc, self.plan)
        # Undo waits for a killed apply's writes that may still be in flight, as long as a
        # request may take: keep that short.
        monkeypatch.setenv("TRELLO_RESTORE_REQUEST_TIMEOUT", "0.5")
        self.invoke: Invoke = sandbox_cli(self.sb, monkeypatch)
        self.before = self.state()

    def state(self) -> State:
        return snapshot(self.s.world)

    def apply(self, *flags: str) -> Result:
        return self.invoke("apply", str(self.plan), "--journal", str(self.journal), *FAST, *flags)

    def undo(self, *flags: str) -> Result:
        return self.invoke("undo", str(self.journal), *self.undo_flags, *FAST, *flags)

    def writes(self, start: int) -> list[str]:
        log = self.sb.server.request_log[start:]
        return [f"{r.method} {r.path}" for r in log if r.method in WRITES]

    def applied_then_undone(self) -> State:
        """Apply the plan, then undo it: the state the apply left."""
        first = self.apply()
        assert first.exit_code == ExitCode.OK, first.output
        assert not AGAIN.search(first.stderr)
        applied = self.state()
        assert applied != self.before
        undone = self.undo()
        assert undone.exit_code == ExitCode.OK, undone.output
        assert last_line(undone) == f"Summary: {self.n} {self.word}, 0 failed."
        assert self.state() == self.before
        return applied

    def settled(self) -> str:
        """Trello is as before the first apply, and the journal has nothing left to undo: an
        undo now says so (what it says is returned) and sends nothing."""
        assert self.state() == self.before
        assert undoable(Journal.read(self.journal).records) == []
        start = len(self.sb.server.request_log)
        nothing = self.undo()
        assert nothing.exit_code == ExitCode.OK, nothing.output
        assert nothing.stdout.startswith("Nothing to undo: "), nothing.output
        assert self.writes(start) == []
        return nothing.stdout


def last_line(result: Result) -> str:
    return result.stdout.splitlines()[-1]


def said_again(result: Result) -> list[str]:
    """The lines saying the plan was undone (stderr)."""
    return [x for x in result.stderr.splitlines() if AGAIN.search(x)]


@pytest.mark.parametrize("kind", KINDS)
def test_apply_undo_apply_undo_ends_as_before_with_each_change_counted_once(
    kind: str,
    sandbox_factory: SandboxFactory,
    monkeypatch: pytest.MonkeyPatch,
    tmp_path: Path,
) -> None:
    """The second apply says once, before writing, that the plan was undone (a dry run says
    what applying it would do, and writes nothing), makes every change again (the state the
    first apply left), and the undo after it removes every one: its summary counts them as its
    own, with no "by an earlier undo" for changes it undid itself; Trello is as before."""
    run = Run(kind, sandbox_factory, monkeypatch, tmp_path)
    applied = run.applied_then_undone()

    start = len(run.sb.server.request_log)
    dry = run.apply("--dry-run")
    assert dry.exit_code == ExitCode.OK, dry.output
    (line,) = said_again(dry)
    assert line.endswith(f"applying it would make up to {run.n} of its changes again"), line
    assert run.writes(start) == []

    again = run.apply()
    assert again.exit_code == ExitCode.OK, again.output
    (line,) = said_again(again)
    match = AGAIN.search(line)
    assert match is not None
    assert match.group(1) == str(run.journal)
    assert line.endswith(
        f"applying it again (up to {run.n} of its changes; an undo of the journal reverts them "
        "again)"
    ), line
    assert last_line(again) == (
        f"Summary: {run.n} applied, 0 already satisfied, 0 drifted, 0 blocked, 0 failed."
    )
    assert run.state() == applied
    assert len(undoable(Journal.read(run.journal).records)) == run.n

    resumed = run.apply()  # nothing left to apply: nothing said about the undo
    assert resumed.exit_code == ExitCode.OK, resumed.output
    assert said_again(resumed) == []

    undone = run.undo()
    assert undone.exit_code == ExitCode.OK, undone.output
    assert last_line(undone) == f"Summary: {run.n} {run.word}, 0 failed."
    assert run.settled() == f"Nothing to undo: {run.n} changes {run.word} by an earlier undo.\n"


@pytest.mark.parametrize("then", ["undo", "resume"])
@pytest.mark.parametrize("kind", KINDS)
def test_the_second_apply_killed_then_undone_or_resumed_ends_as_before(
    kind: str,
    then: str,
    sandbox_factory: SandboxFactory,
    monkeypatch: pytest.MonkeyPatch,
    tmp_path: Path,
) -> None:
    """The second apply SIGKILLed after a few writes. Undone straight away: the writes it made
    (its interrupted ones resolved from live state) are removed, and the summary counts the
    changes it never reached once, as settled by the earlier undo. Resumed: the rest is made
    with no write sent twice (the killed run's and the resume's writes are one per change),
    and the undo after it removes all of them. Either way Trello ends as before."""
    run = Run(kind, sandbox_factory, monkeypatch, tmp_path)
    applied = run.applied_then_undone()
    start = len(run.sb.server.request_log)
    kill_after_writes(apply_command(run.plan, run.journal, run.sb), run.sb.env, run.sb, 3)
    records = Journal.read(run.journal).records
    last_undo = max(i for i, r in enumerate(records) if r.op == "undo")
    reached = {r.change_id for r in records[last_undo + 1 :]}
    assert 0 < len(reached) < run.n, "killed mid-way"

    if then == "resume":
        resumed = run.apply()
        assert resumed.exit_code == ExitCode.OK, resumed.output
        # The changes it had not reached, and those it left pending, are made again (R24b: the
        # line counted only the first; its count fell short of the summary's).
        (line,) = said_again(resumed)
        made = {r.change_id for r in records[last_undo + 1 :] if r.status == "applied"}
        assert f"applying it again (up to {run.n - len(made)} of its changes; " in line, line
        assert len(run.writes(start)) == run.n, "one write per change in all"
        assert run.state() == applied
        latest = Journal.read(run.journal).latest()
        assert {r.status for r in latest.values()} == {"applied"}
        undone = run.undo()
        assert undone.exit_code == ExitCode.OK, undone.output
        assert last_line(undone) == f"Summary: {run.n} {run.word}, 0 failed."
    else:
        undone = run.undo()
        assert undone.exit_code == ExitCode.OK, undone.output
        earlier = run.n - len(reached)
        word = "change" if earlier == 1 else "changes"
        assert last_line(undone).endswith(f" {earlier} {word} {run.word} by an earlier undo.")
    run.settled()


@pytest.mark.parametrize("kind", KINDS)
def test_a_change_whose_undo_failed_and_found_again_stays_for_the_next_undo(
    kind: str,
    sandbox_factory: SandboxFactory,
    monkeypatch: pytest.MonkeyPatch,
    tmp_path: Path,
) -> None:
    """Trello refuses one undo write (400): the undo exits 5 and that change stays on Trello.
    Applied again, the plan finds it there: this tool's own (``applied``), not someone else's
    (``already_satisfied``, which no undo would ever reach); the next undo removes it too."""
    run = Run(kind, sandbox_factory, monkeypatch, tmp_path)
    first = run.apply()
    assert first.exit_code == ExitCode.OK, first.output
    applied = run.state()

    original = endpoints.HANDLERS[run.undo_route]
    refused: list[str] = []

    def refuse_one(call: endpoints.Call) -> Any:
        if not refused or refused[0] == str(call.path):
            refused[:] = [str(call.path)]
            raise TrelloError(400, "invalid value")
        return original(call)

    monkeypatch.setitem(endpoints.HANDLERS, run.undo_route, refuse_one)
    partial = run.undo()
    monkeypatch.setitem(endpoints.HANDLERS, run.undo_route, original)
    assert partial.exit_code == ExitCode.PARTIAL, partial.output
    # (A member left on a card keeps the board membership the plan granted them: failed too.)
    failed = Journal.read(run.journal).latest()
    failed_n = sum(1 for r in failed.values() if r.status == "failed")
    assert 1 <= failed_n <= 2
    assert last_line(partial) == f"Summary: {run.n - failed_n} {run.word}, {failed_n} failed."
    assert run.state() != run.before

    again = run.apply()
    assert again.exit_code == ExitCode.OK, again.output
    assert len(said_again(again)) == 1
    assert last_line(again) == (
        f"Summary: {run.n} applied, 0 already satisfied, 0 drifted, 0 blocked, 0 failed."
    )
    assert run.state() == applied
    assert len(undoable(Journal.read(run.journal).records)) == run.n

    undone = run.undo()
    assert undone.exit_code == ExitCode.OK, undone.output
    assert last_line(undone) == f"Summary: {run.n} {run.word}, 0 failed."
    run.settled()


def test_the_applied_again_line_counts_one_change_in_plain_words() -> None:
    """One change undone and made again: "1 of its changes", "reverts it" (it said "1 of its
    change")."""
    from trello_restore.applier import applied_again
    from trello_restore.journal import JournalRecord

    one = [JournalRecord("c-1", "undo", "add_member_to_card", "undone", "b", "m", "c")]
    line = applied_again(one, Path("j.jsonl"), dry_run=False)
    assert "(up to 1 of its changes; an undo of the journal reverts it again)" in line
    assert "would make up to 1 of its changes again" in applied_again(one, Path("j"), dry_run=True)


def test_the_applied_again_line_counts_the_changes_the_undo_reverted(
    sandbox_factory: SandboxFactory, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    """A card the apply unarchived is archived again by a colleague before the undo, which
    finds it already reverted: the plan applied again says it makes again the changes the undo
    reverted, one fewer than the plan's (review R24: "would make 72 of its changes again" where
    the undo had reverted 70)."""
    run = Run("archived", sandbox_factory, monkeypatch, tmp_path)
    first = run.apply()
    assert first.exit_code == ExitCode.OK, first.output
    records = Journal.read(run.journal).latest().values()
    unarchived = next(r for r in records if r.action == "set_card_closed" and r.status == "applied")
    second = run.s.story.second
    assert second is not None
    assert second.unarchived is not None
    colleague = second.unarchived[1]  # who unarchived a card by hand after the damage
    assert run.s.world.set_card_closed(unarchived.card_id, True, colleague) is not None
    undone = run.undo()
    assert undone.exit_code == ExitCode.OK, undone.output
    reverted = [r for r in Journal.read(run.journal).latest().values() if r.status == "undone"]
    assert len(reverted) == run.n - 1

    dry = run.apply("--dry-run")
    (line,) = said_again(dry)
    assert line.endswith(f"applying it would make up to {run.n - 1} of its changes again"), line


def test_a_removal_refused_for_certain_then_made_by_hand_is_not_the_undo_s(
    sandbox_factory: SandboxFactory, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    """An undo's removal is sent (``pending``) and Trello refuses it (401, so certainly not
    made: ``failed``, not uncertain). A colleague then removes that member by hand. The next
    undo finds the member gone: "no longer there" (someone else's), not "removed" as if this
    tool's earlier removal had gone through (R37a: the ``pending`` kept the change *resumed*
    past the certain failure that answered it)."""
    run = Run("members", sandbox_factory, monkeypatch, tmp_path)
    first = run.apply()
    assert first.exit_code == ExitCode.OK, first.output
    original = endpoints.HANDLERS[run.undo_route]
    refused: list[tuple[str, str]] = []

    def refuse_one(call: endpoints.Call) -> Any:
        card, member = call.path["id"], call.path["idMember"]
        if not refused or refused[0] == (card, member):
            refused[:] = [(card, member)]
            raise TrelloError(401, "unauthorized card permission requested")
        return original(call)

    monkeypatch.setitem(endpoints.HANDLERS, run.undo_route, refuse_one)
    partial = run.undo()
    monkeypatch.setitem(endpoints.HANDLERS, run.undo_route, original)
    assert partial.exit_code != ExitCode.OK, partial.output
    card, member = refused[0]
    records = [
        r for r in Journal.read(run.journal).records if r.card_id == card and r.member_id == member
    ]
    assert [(r.op, r.status, r.uncertain) for r in records][-2:] == [
        ("undo", "pending", False),
        ("undo", "failed", False),
    ]
    assert member in run.s.world.card(card).id_members
    colleague = run.s.mover.id
    run.s.world.remove_member_from_card(card, member, colleague)
    start = len(run.sb.server.request_log)
    again = run.undo()
    assert again.exit_code == ExitCode.OK, again.output
    theirs = [
        r for r in Journal.read(run.journal).records if r.card_id == card and r.member_id == member
    ]
    assert (theirs[-1].op, theirs[-1].status) == ("undo", "not_on_card")
    assert f"DELETE /1/cards/{card}/idMembers/{member}" not in run.writes(start)
    assert re.fullmatch(r"Summary: \d+ removed, 1 no longer there, 0 failed\.", last_line(again))
