"""R78b: ``apply PLAN`` of another plan after an apply was killed settles the killed run's
open writes first, as a one-step run does, over HTTP.

Plans A and B made at the same moment (B: the same incident without ``--removed-by``, so a
superset, with a journal of its own); the apply of A killed with writes journaled ``pending``
that never took effect; ``apply B`` to the end made them. ``apply PLAN`` did not settle A's
journal, so A's pending records still said "maybe made" of members that B's journal said
``applied``: ``undo A`` took off B's adds as its own (exit 0, counted in its summary), and
``undo B`` then found them "no longer there". Now B's apply settles A's open records from
the boards' live state before it writes (``not_applied``: not on their cards), so each member
is claimed by one journal, and undoing both, in either order, gives back the board as before.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import time
from pathlib import Path

import pytest

from trello_restore.errors import ExitCode
from trello_restore.journal import Journal
from trello_restore.planfile import write_plan
from trello_restore.sandbox.scenario import generate
from trello_restore.sandbox.world import World

from .applykit import diff, plan_doc, snapshot
from .conftest import SandboxFactory, sandbox_cli
from .test_rerun_after_kill import kill_with_a_write_on_the_wire, killable
from .truthcheck import incident_since

KILLED = 4
GRANT, CARD = "add_member_to_board", "add_member_to_card"
FAST = ("--rate-limit", "1000")


def _lines(path: Path) -> list[dict[str, str]]:
    return [json.loads(x) for x in path.read_text().splitlines()[1:]]


def _values(world: World) -> dict[str, tuple[object, ...]]:
    """Each card's values the time machine restores: name, description, due date, list,
    archived."""
    with world.lock:
        return {c.id: (c.name, c.desc, c.due, c.id_list, c.closed) for c in world.cards.values()}


def _never_made(world: World, pairs: set[tuple[str, str]]) -> None:
    """The card adds of ``pairs`` (card, member) as if never carried out: off their cards, and
    their actions out of the log and the ledger."""
    with world.lock:
        for card_id, member_id in pairs:
            world.card(card_id).id_members.remove(member_id)
        latest = {
            (a.id_card, a.id_member): a
            for a in world.actions
            if a.type == "addMemberToCard" and (a.id_card, a.id_member) in pairs
        }
        made = list(latest.values())  # the apply's, the newest of each
        assert len(made) == len(pairs)
        for a in made:
            world.actions.remove(a)
            del world.actions_by_id[a.id]
            world.board_feed[a.id_board].remove(a)
            world.card_feed[str(a.id_card)].remove(a)
        world.ledger[:] = [e for e in world.ledger if e.action_id not in {a.id for a in made}]


@pytest.mark.parametrize("undo_first", ["a", "b"])
def test_apply_of_another_plan_settles_a_killed_apply_first(
    sandbox_factory: SandboxFactory,
    monkeypatch: pytest.MonkeyPatch,
    tmp_path: Path,
    undo_first: str,
) -> None:
    s = generate(3, 60)
    sb = sandbox_factory(s, token_limit=10_000, key_limit=10_000)
    monkeypatch.setenv("TRELLO_RESTORE_REQUEST_TIMEOUT", "2")
    plan_a, plan_b = tmp_path / "a.json", tmp_path / "b.json"
    write_plan(plan_doc(sb, s, "b"), plan_a)  # both made before either is applied
    write_plan(plan_doc(sb, s, "d"), plan_b)
    with s.world.lock:
        before = {c.id: set(c.id_members) for c in s.world.cards.values()}
    invoke = sandbox_cli(sb, monkeypatch)
    applied = invoke("apply", str(plan_a), *FAST)
    assert applied.exit_code == ExitCode.OK, applied.output
    journals = Path(os.environ["TRELLO_RESTORE_HOME"]) / "state" / "journals"
    (journal_a,) = journals.glob("plan-*.jsonl")

    # The kill, as it leaves a journal: the last card adds journaled ``pending``, their
    # answers never recorded, the writes never carried out.
    adds = [
        r
        for r in _lines(journal_a)
        if r["action"] == "add_member_to_card" and r["status"] == "applied"
    ]
    killed = {r["change_id"]: (r["card_id"], r["member_id"]) for r in adds[-KILLED:]}
    assert len(killed) == KILLED
    header, *rest = journal_a.read_text().splitlines(keepends=True)
    journal_a.write_text(
        header
        + "".join(
            x
            for x in rest
            if not (json.loads(x)["change_id"] in killed and json.loads(x)["status"] != "pending")
        )
    )
    _never_made(s.world, set(killed.values()))

    fresh = invoke("apply", str(plan_b), *FAST)
    assert fresh.exit_code == ExitCode.OK, fresh.output
    (journal_b,) = set(journals.glob("plan-*.jsonl")) - {journal_a}
    settled = {r["change_id"]: r["status"] for r in _lines(journal_a) if r["change_id"] in killed}
    assert settled == dict.fromkeys(killed, "not_applied")  # settled before B wrote
    with s.world.lock:  # B made them
        assert all(m in s.world.card(c).id_members for c, m in killed.values())
    b_made = {
        (r["card_id"], r["member_id"])
        for r in _lines(journal_b)
        if r["action"] == "add_member_to_card" and r["status"] == "applied"
    }
    assert set(killed.values()) <= b_made

    first, second = (journal_a, journal_b) if undo_first == "a" else (journal_b, journal_a)
    undone = invoke("undo", str(first), "--yes", *FAST)
    assert undone.exit_code == ExitCode.OK, undone.output
    if first == journal_a:  # B's adds stay: they are B's, not A's
        with s.world.lock:
            assert all(m in s.world.card(c).id_members for c, m in killed.values())
        assert f"{len(adds) - KILLED} removed" in undone.stdout, undone.stdout
    undone = invoke("undo", str(second), "--yes", *FAST)
    assert undone.exit_code == ExitCode.OK, undone.output
    assert "no longer there" not in undone.stdout, undone.stdout
    with s.world.lock:
        after = {c.id: set(c.id_members) for c in s.world.cards.values()}
    assert after == before


def test_the_second_plan_s_undo_removes_the_grants_the_first_undo_kept_for_it(
    sandbox_factory: SandboxFactory,
    monkeypatch: pytest.MonkeyPatch,
    tmp_path: Path,
) -> None:
    """R78b: plans A and B of one incident split by cards, made at the same moment, both with
    ``--add-to-board``: A grants, B finds the grants there (``already_satisfied``). ``undo A
    --include-board-memberships`` keeps each grant B's cards need, naming B's journal: "undo
    that journal, and it removes the membership with those cards". B's undo did not: B's
    journal had grant records of its own (found there), so it never looked at A's kept ones,
    and the members stayed on the board with no card and no word. Now it removes them."""
    s = generate(6, 60)
    sb = sandbox_factory(s, token_limit=10_000, key_limit=10_000)
    invoke = sandbox_cli(sb, monkeypatch)
    base = ["--board", s.team.id, "--since", incident_since(s), "--removed-by",
            s.mover.username, "--add-to-board", *FAST]  # fmt: skip
    whole = json.loads(invoke(*base, "--dry-run", "--format", "json").stdout)
    granted = {c["member"]["id"] for c in whole["changes"] if c["action"] == GRANT}
    cards = sorted({c["card"]["id"] for c in whole["changes"] if c["action"] == CARD})
    halves = cards[::2], cards[1::2]
    needs = [
        {
            c["member"]["id"]
            for c in whole["changes"]
            if c["action"] == CARD and c["card"]["id"] in h
        }
        for h in halves
    ]
    assert granted & needs[0] & needs[1], "a member granted for cards of both plans"
    plans = tmp_path / "a.json", tmp_path / "b.json"
    for plan, half in zip(plans, halves, strict=True):
        picked = [x for card in half for x in ("--card", card)]
        made = invoke(*base, *picked, "--dry-run", "-q", "--plan-out", str(plan))
        assert made.exit_code == ExitCode.OK, made.output
    before = snapshot(s.world)
    journals = Path(os.environ["TRELLO_RESTORE_HOME"]) / "state" / "journals"
    found: list[Path] = []
    for plan in plans:
        applied = invoke("apply", str(plan), *FAST)
        assert applied.exit_code == ExitCode.OK, applied.output
        (journal,) = set(journals.glob("plan-*.jsonl")) - set(found)
        found.append(journal)
    journal_a, journal_b = found
    assert {r["status"] for r in _lines(journal_b) if r["action"] == GRANT} == {"already_satisfied"}

    undone = invoke("undo", str(journal_a), "--yes", "--include-board-memberships", *FAST)
    assert undone.exit_code == ExitCode.PARTIAL, undone.output
    kept = [x for x in undone.output.splitlines() if f"journal {journal_b}, not undone yet" in x]
    assert kept, undone.output
    undone = invoke("undo", str(journal_b), "--yes", *FAST)
    assert undone.exit_code == ExitCode.OK, undone.output
    assert f"also removing {len(kept)} board membership" in undone.output, undone.output
    assert diff(snapshot(s.world), before) == []


def test_another_plan_s_apply_waits_for_a_killed_undo_s_writes(
    sandbox_factory: SandboxFactory, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    """R79b: an undo of plan A's journal killed with a removal on the wire, then ``apply`` of
    plan K (made beside A, before it was applied) at once: K read the boards before the removal
    landed, counted that member already satisfied, exit 0, and then the member was gone. Now
    K waits for the killed undo's writes, as for a killed apply's, and settles those it finds
    made (``undone``) in A's journal before it reads: every card member K's journal says done
    is on its card once the writes have landed."""
    k = killable(sandbox_factory, monkeypatch, tmp_path)
    journals = Path(os.environ["TRELLO_RESTORE_HOME"]) / "state" / "journals"
    journals.mkdir(parents=True)
    k = k._replace(journal=journals / "a.jsonl")
    other = tmp_path / "k.json"
    write_plan(plan_doc(k.sb, k.s, "d"), other)
    fast = ("--yes", *FAST)
    applied = k.invoke("apply", str(k.plan), "--journal", str(k.journal), *fast)
    assert applied.exit_code == ExitCode.OK, applied.output
    kill_with_a_write_on_the_wire(k, ["undo", str(k.journal), "--yes", "--workers", "4"], "undo")
    k.sb.server.set_options(write_latency_ms=0)

    again = k.invoke("apply", str(other), *FAST)
    assert "may still have in flight" in again.stderr, again.output
    assert again.exit_code in (ExitCode.OK, ExitCode.PARTIAL), again.output
    time.sleep(2)  # a write it did not wait for lands within the 1.5 s it was slowed by
    (journal_k,) = set(journals.glob("plan-*.jsonl"))
    with k.s.world.lock:
        missing = [
            r
            for r in Journal.read(journal_k).latest().values()
            if r.action == CARD
            and r.status in ("applied", "already_satisfied")
            and r.member_id not in k.s.world.card(r.card_id).id_members
        ]
    assert missing == []
    # The killed undo's removals that were made are settled (``undone``); one that never left
    # (killed before it was sent) stays open, for that journal's undo.
    latest = Journal.read(k.journal).latest().values()
    with k.s.world.lock:
        made_but_open = [
            r
            for r in latest
            if r.op == "undo" and r.open and r.member_id not in k.s.world.card(r.card_id).id_members
        ]
    assert made_but_open == []


def test_a_killed_undo_s_value_write_that_never_landed_stays_its_undo_s(
    sandbox_factory: SandboxFactory, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    """R80a: an undo of a ``--restore all`` journal killed with a value written back on the
    wire, the write lost (dropped), then an apply of another plan: it judged the undo's open
    records by the undo record's own values, whose ``seen`` and ``written`` are the apply's
    the other way round, so a value the undo never wrote back was journaled ``undone``; the
    journal's undo run again skipped it, exit 0, the apply's value left on the card. Now it
    is judged by the apply record it reverses: left open, and the undo run again sets it back.
    """
    s = generate(31, 60, second_damage=True)
    sb = sandbox_factory(s, token_limit=10_000, key_limit=10_000)
    monkeypatch.setenv("TRELLO_RESTORE_REQUEST_TIMEOUT", "2")
    invoke = sandbox_cli(sb, monkeypatch)
    plan_a, plan_k = tmp_path / "a.json", tmp_path / "k.json"
    write_plan(plan_doc(sb, s, "g"), plan_a)  # --restore all --by the culprit
    write_plan(plan_doc(sb, s, "b"), plan_k)  # card members, on the same board
    start = _values(s.world)
    journals = Path(os.environ["TRELLO_RESTORE_HOME"]) / "state" / "journals"
    journals.mkdir(parents=True)
    journal_a = journals / "a.jsonl"
    applied = invoke("apply", str(plan_a), "--journal", str(journal_a), *FAST)
    assert applied.exit_code in (ExitCode.OK, ExitCode.PARTIAL), applied.output  # grants: blocked
    assert _values(s.world) != start

    sb.server.set_options(write_latency_ms=1500)
    proc = subprocess.Popen(
        [sys.executable, "-m", "trello_restore", "undo", str(journal_a), "--yes", "--workers", "2"],
        env={**os.environ},
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )
    deadline = time.monotonic() + 60
    while not any(
        r["op"] == "undo" and r["status"] == "pending" and r["action"].startswith("set_")
        for r in _lines(journal_a)
    ):
        assert proc.poll() is None, proc.communicate()
        assert time.monotonic() < deadline, "the undo sent no value write"
        time.sleep(0.005)
    sb.server.set_options(drop_rate=1.0, fault_after_write_share=0.0)  # lost, not made
    proc.kill()
    proc.communicate(timeout=60)
    time.sleep(2)  # the writes on the wire end, dropped
    sb.server.set_options(write_latency_ms=0, drop_rate=0.0)
    open_ = {
        r.change_id for r in Journal.read(journal_a).latest().values() if r.op == "undo" and r.open
    }
    assert open_

    other = invoke("apply", str(plan_k), *FAST)
    assert other.exit_code in (ExitCode.OK, ExitCode.PARTIAL), other.output
    latest = Journal.read(journal_a).latest()
    assert [cid for cid in open_ if latest[cid].status == "undone"] == []  # none was made
    undone = invoke("undo", str(journal_a), "--yes", *FAST)
    assert undone.exit_code in (ExitCode.OK, ExitCode.PARTIAL), undone.output
    assert _values(s.world) == start


def test_a_one_step_run_waits_for_a_killed_undo_s_writes_before_it_reads(
    sandbox_factory: SandboxFactory, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    """R82: a one-step run right after an undo was killed with removals on the wire read the
    boards before they landed: those members were on their cards for its plan, which left
    them out without a word, and a moment later they were gone. It waited only after it had
    planned, before it wrote. Now it waits before it reads, so its plan sees every removal
    the killed undo made and says it leaves each out as this tool's undo. Its dry run, which
    waits for nothing, says that the boards may change yet, and when to look again (R83a)."""
    k = killable(sandbox_factory, monkeypatch, tmp_path)
    journals = Path(os.environ["TRELLO_RESTORE_HOME"]) / "state" / "journals"
    journals.mkdir(parents=True)
    k = k._replace(journal=journals / "a.jsonl")
    applied = k.invoke("apply", str(k.plan), "--journal", str(k.journal), "--yes", *FAST)
    assert applied.exit_code == ExitCode.OK, applied.output
    kill_with_a_write_on_the_wire(k, ["undo", str(k.journal), "--yes", "--workers", "4"], "undo")
    k.sb.server.set_options(write_latency_ms=0)

    scope = ("--board", k.s.team.id, "--since", incident_since(k.s))
    dry = k.invoke(*scope, "--dry-run", *FAST)
    assert dry.exit_code == ExitCode.OK, dry.output
    (said,) = [x for x in dry.stderr.splitlines() if "may still have writes" in x]
    assert f"({k.journal})" in said, said
    assert re.search(r"run it again in \d+ s to see what they did$", said), said
    once = k.invoke(*scope, "--yes", *FAST)
    assert once.exit_code in (ExitCode.OK, ExitCode.PARTIAL), once.output
    time.sleep(2)  # a write it did not wait for lands within the 1.5 s it was slowed by
    with k.s.world.lock:
        removed = {
            (r.card_id, r.member_id)
            for r in Journal.read(k.journal).latest().values()
            if r.action == CARD and r.member_id not in k.s.world.card(r.card_id).id_members
        }
    assert removed, once.output
    left = re.search(
        r"(\d+) card members? on \d+ cards? (?:is|are) left out of this run", once.output
    )
    assert left is not None, once.output
    assert int(left.group(1)) == len(removed), once.output
