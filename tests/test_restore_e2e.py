"""Issue 11 end to end over HTTP, on generated scenarios with the second damage (design.md
§10.4): the plans of the reference sets f, g, h made through the real client stack equal the
ground truth; applying them leaves exactly the baseline plus the truth, and undo gives the
baseline back; the sets a-e plan as they always did. Then what goes wrong in real life: faults
(5xx, dropped connections, a 429 storm), SIGKILL at random points and resume (the exact end
state, and no write sent again after it succeeded: every write the sandbox carries out is
counted per object and field), a field changed by someone between plan and apply (``drifted``,
left alone), and cron: one-shot runs with ``--since last-run``."""

from __future__ import annotations

import json
import os
import random
import subprocess
import time
from collections import Counter
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from trello_restore.applier import ApplyReport, ChangeOutcome
from trello_restore.errors import ApiUnreachable, ExitCode
from trello_restore.journal import Journal, JournalRecord
from trello_restore.models import ValueChange, parse_date
from trello_restore.planfile import PlanDict, plan_from_dict, read_plan, write_plan
from trello_restore.report_outcomes import (
    apply_summary,
    change_labels,
    journal_labels,
    outcome_line,
)
from trello_restore.sandbox import endpoints
from trello_restore.sandbox.scenario import Scenario, generate
from trello_restore.sandbox.truth import OptionSet, State, compute, snapshot
from trello_restore.undo import undo_journal
from trello_restore.words import card_url

from .applykit import (
    api_for,
    apply_command,
    apply_doc,
    fast_options,
    kill_after_writes,
    open_journal,
    plan_doc,
)
from .conftest import Sandbox, SandboxFactory, sandbox_cli
from .truthcheck import assert_plan_is_truth, assert_values_are_truth, team_truth

#: The card value fields a ``PUT /1/cards/{id}`` may carry (``pos`` goes with ``idList``).
CARD_FIELDS = ("closed", "idList", "name", "desc", "due", "dueComplete", "start")
WRITES = ("POST", "PUT", "DELETE")
#: The write routes an apply of sets f-h uses.
CARD_PUT = endpoints.Route("PUT", "/1/cards/{id}")
LIST_CLOSED = endpoints.Route("PUT", "/1/lists/{id}/closed")
CARD_ADD = endpoints.Route("POST", "/1/cards/{id}/idMembers")
BOARD_PUT = endpoints.Route("PUT", "/1/boards/{id}/members/{idMember}")


# ------------------------------------------------------------------------------------ helpers


def _scenario(seed: int, cards: int) -> Scenario:
    return generate(seed, cards, second_damage=True)


def _culprit(s: Scenario) -> str:
    assert s.culprit is not None
    return s.culprit.id


def _state_diff(got: State, want: State) -> list[str]:
    """Readable differences between two snapshots (empty when equal)."""
    keys = sorted(set(got) | set(want))
    return [f"{k}: {got.get(k)!r} != {want.get(k)!r}" for k in keys if got.get(k) != want.get(k)]


def _apply(sb: Sandbox, doc: PlanDict, path: Path, **options: Any) -> ApplyReport:
    with api_for(sb) as api, open_journal(doc, path, api) as journal:
        return apply_doc(doc, api, journal, fast_options(**options))


def _undo(sb: Sandbox, doc: PlanDict, path: Path) -> ApplyReport:
    with api_for(sb) as api, open_journal(doc, path, api) as journal:
        return undo_journal(
            journal,
            api,
            fast_options(),
            include_board_memberships=True,
            lock_dir=path.parent / "locks",
        )


def _writes(sb: Sandbox, start: int = 0) -> list[str]:
    return [f"{r.method} {r.path}" for r in sb.server.request_log[start:] if r.method in WRITES]


def _hand_edited_desc(s: Scenario) -> tuple[str, str]:
    """The card whose overwritten description someone edited by hand after the damage, and
    that description (the scenario's story)."""
    assert s.story.second is not None
    assert s.story.second.desc_edited is not None
    card_id, _ = s.story.second.desc_edited
    return card_id, s.world.cards[card_id].desc


#: A written object and field: ``(object type, id, field)``; card members are
#: ``("card", id, "member:<id>")``, board memberships ``("board", id, "member:<id>")``.
Key = tuple[str, str, str]


@dataclass
class WriteSpy:
    """Every write the sandbox carried out (its handler answered without an error), by
    object and field, with the time it was carried out (``time.time()``)."""

    done: list[tuple[Key, float]] = field(default_factory=list)

    def counts(self) -> Counter[Key]:
        return Counter(k for k, _ in self.done)


def _keys(route: endpoints.Route, call: endpoints.Call) -> list[Key]:
    ident = call.path.get("id", "")
    if route == CARD_PUT:
        return [("card", ident, f) for f in CARD_FIELDS if f in call.params]
    if route == LIST_CLOSED:
        return [("list", ident, "closed")]
    if route == CARD_ADD:
        return [("card", ident, "member:" + call.params.get("value", ""))]
    return [("board", ident, "member:" + call.path.get("idMember", ""))]


@pytest.fixture(name="spy")
def spy_fixture(monkeypatch: pytest.MonkeyPatch) -> WriteSpy:
    """Wrap the sandbox's write handlers of the four routes an apply uses."""
    spy = WriteSpy()
    for route in (CARD_PUT, LIST_CLOSED, CARD_ADD, BOARD_PUT):
        original = endpoints.HANDLERS[route]

        def wrapped(
            call: endpoints.Call,
            original: endpoints.Handler = original,
            route: endpoints.Route = route,
        ) -> Any:
            answer = original(call)  # a refusal raises: not carried out
            now = time.time()
            spy.done.extend((k, now) for k in _keys(route, call))
            return answer

        monkeypatch.setitem(endpoints.HANDLERS, route, wrapped)
    return spy


def _change_keys(doc: PlanDict) -> dict[str, Key]:
    """change id -> the object and field its write sets."""
    plan, _ = plan_from_dict(doc)
    out: dict[str, Key] = {}
    for c in plan.changes:
        if isinstance(c, ValueChange):
            obj = c.list_id if c.object_type == "list" else c.card_id
            out[c.change_id] = (c.object_type, obj, c.field)
        elif c.action == "add_member_to_card":
            out[c.change_id] = ("card", c.card_id, "member:" + c.member.id)
        else:
            out[c.change_id] = ("board", c.board_id, "member:" + c.member.id)
    return out


# ------------------------------------------------------------------------ plan, apply, undo


@pytest.mark.parametrize("name", ["f", "g", "h"])
@pytest.mark.parametrize(("seed", "cards"), [(51, 40), (52, 150), (53, 300)])
def test_plan_apply_undo_equal_the_ground_truth(
    sandbox_factory: SandboxFactory, tmp_path: Path, seed: int, cards: int, name: str
) -> None:
    """Set ``name`` planned over HTTP naming the team board is exactly the truth (value
    changes with their evidence, fields left alone, deleted cards; h's member restore too);
    applying the plan file writes once per change, never reads a card on its own, and leaves
    exactly the baseline plus the truth; undo (with the board memberships) gives back exactly
    the baseline. In g the description someone edited by hand after the damage is skipped as
    ``changed_by_others`` and is the same after the apply."""
    s = _scenario(seed, cards)
    sb = sandbox_factory(s, time_scale=100)
    truth = team_truth(s, name)
    doc = plan_doc(sb, s, name)
    plan, _ = plan_from_dict(doc)
    assert doc["format_version"] == 2
    assert truth.value_changes, "the scenario has damage to restore"
    assert_values_are_truth(plan, truth)
    if name == "f":
        assert plan.card_changes() == ()
        assert plan.skipped == ()
    else:
        assert_plan_is_truth(plan, truth)

    baseline = snapshot(s.world)
    hand_card, hand_desc = _hand_edited_desc(s)
    skipped = {(x.object_id, x.field): x for x in plan.value_skipped}
    if name == "g":
        edited = skipped[(hand_card, "desc")]
        assert edited.reason == "changed_by_others"
        assert edited.others
        assert all(m.id != _culprit(s) for m, _ in edited.others)
        assert hand_desc.endswith("Updated after triage.")

    path = tmp_path / "journal.jsonl"
    start = len(sb.server.request_log)
    report = _apply(sb, doc, path)
    blocked = {"blocked": len(plan.blocked)} if plan.blocked else {}  # g: not board members
    assert report.counts == {"applied": len(doc["changes"])} | blocked
    assert report.exit_code == (ExitCode.PARTIAL if blocked else ExitCode.OK)
    assert _state_diff(snapshot(s.world), truth.end_state(baseline)) == []
    assert len(_writes(sb, start)) == len(doc["changes"])
    reads = [r.path for r in sb.server.request_log[start:] if r.method == "GET"]
    assert not [p for p in reads if p.startswith("/1/cards/")], "never a read per card"
    if name == "g":
        assert s.world.cards[hand_card].desc == hand_desc  # never overwritten

    undone = _undo(sb, doc, path)
    assert undone.exit_code == ExitCode.OK, undone.counts
    assert undone.counts == {"undone": len(doc["changes"])}
    assert _state_diff(snapshot(s.world), baseline) == []

    # The trial run the README suggests (apply, then undo) leaves the damage plannable as
    # before: the tool's own writes and their undo, made with one member's token, put each
    # field back where it was and are not someone else's later work.
    again, _ = plan_from_dict(plan_doc(sb, s, name))
    assert _value_changes(again) == _value_changes(plan)


def _value_changes(plan: Any) -> set[tuple[str, str, str]]:
    return {
        (c.change_id, repr(c.value), repr(c.expected))
        for c in plan.changes
        if isinstance(c, ValueChange)
    }


@pytest.mark.slow
def test_five_thousand_cards(sandbox_factory: SandboxFactory, tmp_path: Path) -> None:
    """Set g at 5,000 cards: the plan is the truth, the apply gives exactly baseline + truth."""
    s = _scenario(54, 5000)
    sb = sandbox_factory(s, time_scale=100)
    truth = team_truth(s, "g")
    doc = plan_doc(sb, s, "g")
    plan, _ = plan_from_dict(doc)
    assert_values_are_truth(plan, truth)
    assert_plan_is_truth(plan, truth)
    baseline = snapshot(s.world)
    report = _apply(sb, doc, tmp_path / "journal.jsonl")
    assert report.counts.get("applied") == len(doc["changes"]), report.counts
    assert _state_diff(snapshot(s.world), truth.end_state(baseline)) == []


@pytest.mark.parametrize(("seed", "cards"), [(55, 60), (56, 250)])
def test_sets_a_to_e_are_unchanged_by_the_second_damage(
    sandbox_factory: SandboxFactory, seed: int, cards: int
) -> None:
    """With the second damage in the log, the member-only sets a-e plan exactly their truth,
    as version 1 plans with no value change (``--restore`` defaults to members)."""
    s = _scenario(seed, cards)
    sb = sandbox_factory(s)
    for name in "abcde":
        doc = plan_doc(sb, s, name)
        plan, _ = plan_from_dict(doc)
        assert doc["format_version"] == 1, name
        assert not [c for c in plan.changes if isinstance(c, ValueChange)], name
        assert_plan_is_truth(plan, team_truth(s, name))


# ----------------------------------------------------------------------------------- faults


def test_faults_and_a_storm_give_the_exact_end_state_and_no_repeated_write(
    sandbox_factory: SandboxFactory, tmp_path: Path, spy: WriteSpy
) -> None:
    """Set h (every kind, member restore and grants too) applied through 10% 5xx answers, 3%
    dropped connections (some after the write was carried out) and a 429 storm started
    mid-run, run again until it succeeds: exactly baseline + truth, every change journaled
    ``applied``, and no write carried out after the journal recorded its success (a retry
    after a lost answer is a retry, not a repeat)."""
    s = _scenario(57, 200)
    truth = team_truth(s, "h")
    sb = sandbox_factory(s, time_scale=100)
    doc = plan_doc(sb, s, "h")
    baseline = snapshot(s.world)
    keys = _change_keys(doc)
    sb.server.set_options(error_rate=0.10, drop_rate=0.03, seed=11)
    path = tmp_path / "journal.jsonl"
    seen = 0

    def storm_midway(outcome: ChangeOutcome) -> None:
        nonlocal seen
        seen += 1
        if seen == len(doc["changes"]) // 3:
            sb.server.set_options(storm_s=60.0)  # 0.6 s: longer than the retries last

    runs: list[ApplyReport] = []
    for _ in range(5):
        try:
            with api_for(sb) as api, open_journal(doc, path, api) as journal:
                options = fast_options(max_retries=2)
                runs.append(apply_doc(doc, api, journal, options, None if runs else storm_midway))
        except ApiUnreachable:
            # Run again at once, a run can start inside the storm: its first read (the
            # account's) rate limited through its retries, the last dropped (2 in 12 before).
            assert runs, "the first run started"
            continue
        if runs[-1].exit_code == ExitCode.OK:
            break
    assert runs[0].rate_limited > 0, "the storm happened"
    assert runs[-1].exit_code == ExitCode.OK, [r.counts for r in runs]
    sb.server.set_options(error_rate=0.0, drop_rate=0.0)
    assert _state_diff(snapshot(s.world), truth.end_state(baseline)) == []

    records = Journal.read(path).records
    final = Journal.read(path).latest()
    assert {r.status for r in final.values()} == {"applied"}
    assert set(final) == set(keys)
    succeeded = {
        keys[r.change_id]: parse_date(r.at).timestamp()
        for r in records
        if r.status == "applied" and r.op == "apply"
    }
    # A record's time is cut to the millisecond: a write carried out after it plus 1 ms was
    # sent after the run knew it had succeeded.
    late = [(k, t) for k, t in spy.done if k in succeeded and t > succeeded[k] + 0.001]
    assert late == []
    assert set(spy.counts()) == set(keys.values())


def test_sigkill_at_random_points_then_resume(
    sandbox_factory: SandboxFactory, tmp_path: Path, spy: WriteSpy
) -> None:
    """The apply of set h runs in a separate process and is SIGKILLed after a seeded random
    number of writes, three times; the last run finishes it: exactly baseline + truth, and
    every object and field written exactly once in all (a write a killed run sent is found
    made from live state, never sent again)."""
    s = _scenario(58, 120)
    truth = team_truth(s, "h")
    sb = sandbox_factory(s, time_scale=10)
    doc = plan_doc(sb, s, "h")
    baseline = snapshot(s.world)
    keys = _change_keys(doc)
    plan_file, journal = tmp_path / "plan.json", tmp_path / "journal.jsonl"
    write_plan(doc, plan_file)
    env = os.environ | {"TRELLO_API_KEY": sb.key, "TRELLO_TOKEN": sb.token}
    command = apply_command(plan_file, journal, sb)
    total = len(doc["changes"])
    rng = random.Random(58)
    killed_at = [kill_after_writes(command, env, sb, rng.randint(1, total // 4)) for _ in range(3)]
    assert killed_at[-1] < total
    last = subprocess.run(command, env=env, capture_output=True, text=True, timeout=120)
    assert last.returncode == 0, last.stderr
    counts = json.loads(last.stdout)
    assert counts["applied"] + counts.get("skipped_done", 0) == total
    assert _state_diff(snapshot(s.world), truth.end_state(baseline)) == []
    assert {r.status for r in Journal.read(journal).latest().values()} == {"applied"}
    written = spy.counts()
    assert set(written) == set(keys.values())
    assert [k for k, n in written.items() if n != 1] == [], "a write was sent again"


# ------------------------------------------------------------------------------- stale plan


def test_a_field_changed_between_plan_and_apply_is_drifted_and_left_alone(
    sandbox_factory: SandboxFactory, tmp_path: Path
) -> None:
    """After set g is planned, a bystander sets one of the overwritten due dates by hand and
    unarchives one of the archived cards: the due date is ``drifted`` (exit 5) and keeps the
    hand value, the card counts as already satisfied, everything else is restored exactly;
    undo leaves both hand changes alone and gives back the state the apply started from."""
    s = _scenario(59, 150)
    truth = team_truth(s, "g")
    sb = sandbox_factory(s, time_scale=100)
    doc = plan_doc(sb, s, "g")
    plan, _ = plan_from_dict(doc)
    values = [c for c in plan.changes if isinstance(c, ValueChange)]
    due = next(c for c in values if c.field == "due")
    archived = next(c for c in values if c.action == "set_card_closed")
    bystander = next(m for m in s.world.members if m not in (_culprit(s), s.mover.id))
    hand_due = "2027-01-15T09:00:00.000Z"
    assert s.world.set_card_field(due.card_id, "due", hand_due, bystander) is not None
    assert s.world.set_card_closed(archived.card_id, False, bystander) is not None
    before = snapshot(s.world)

    path = tmp_path / "journal.jsonl"
    report = _apply(sb, doc, path)
    assert report.exit_code == ExitCode.PARTIAL
    blocked = {"blocked": len(plan.blocked)} if plan.blocked else {}  # not board members
    assert (
        report.counts
        == {
            "applied": len(doc["changes"]) - 2,
            "drifted": 1,
            "already_satisfied": 1,
        }
        | blocked
    )
    drifted = next(o for o in report.outcomes if o.status == "drifted")
    assert drifted.change_id == due.change_id
    assert drifted.error.startswith("its due was changed since (now 2027-01-15 09:00 UTC")
    want = truth.end_state(before)
    want[("card", due.card_id, "due")] = hand_due
    assert _state_diff(snapshot(s.world), want) == []

    undone = _undo(sb, doc, path)
    assert undone.counts == {"undone": len(doc["changes"]) - 2}
    assert _state_diff(snapshot(s.world), before) == []


# ------------------------------------------------------------------------------------- cron


def test_cron_restores_the_culprits_new_archives_and_then_finds_nothing(
    sandbox_factory: SandboxFactory, monkeypatch: pytest.MonkeyPatch
) -> None:
    """``--restore archived --by CULPRIT --yes``: a first run with ``--since T2`` restores set
    f; the culprit then archives a list's cards (and a bystander one card on purpose); the
    next run with ``--since last-run`` unarchives exactly the culprit's, and the one after it
    finds nothing to do and writes nothing."""
    s = _scenario(60, 80)
    assert s.culprit is not None
    assert s.second_damage_at is not None
    sb = sandbox_factory(s, token_limit=10_000, key_limit=10_000)
    w, invoke = s.world, sandbox_cli(sb, monkeypatch)
    base = ("--board", s.team.id, "--restore", "archived", "--by", s.culprit.username)
    cron = ("--yes", "--quiet", "--format", "json", "--rate-limit", "1000")
    t2 = (s.second_damage_at - timedelta(seconds=1)).isoformat()

    def run(since: str) -> dict[str, Any]:
        r = invoke(*base, "--since", since, *cron)
        assert r.exit_code == 0, r.output
        doc: dict[str, Any] = json.loads(r.stdout)
        return doc

    truth = team_truth(s, "f")
    first = run(t2)
    assert first["outcome"] == "applied"
    assert first["apply"]["applied"] == len(truth.value_changes) > 0
    assert first["plan"]["value_skipped"] == len(truth.value_skipped)
    assert first["plan"]["unrestorable"] == len(truth.unrestorable)
    assert not any(w.cards[c.object_id].closed for c in truth.value_changes)

    with w.lock:
        open_by_list = Counter(
            c.id_list for c in w.cards.values() if c.id_board == s.team.id and not c.closed
        )
        target, _ = open_by_list.most_common(1)[0]
        bystander = next(m for m in w.members if m not in (s.culprit.id, s.mover.id))
        mine = next(
            c.id
            for c in w.cards.values()
            if c.id_board == s.team.id and not c.closed and c.id_list != target
        )
        w.set_card_closed(mine, True, bystander)
        tonight = [a.id_card for a in w.archive_all_cards(target, s.culprit.id)]
    assert tonight

    start = len(sb.server.request_log)
    second = run("last-run")
    assert second["outcome"] == "applied"
    assert second["apply"]["applied"] == len(tonight)
    assert len(_writes(sb, start)) == len(tonight)
    assert not any(w.cards[c].closed for c in tonight if c)
    assert w.cards[mine].closed, "the bystander's archive is left alone"

    start = len(sb.server.request_log)
    third = run("last-run")
    assert third["outcome"] == "nothing_to_do"
    assert _writes(sb, start) == []


# ---------------------------------------------------------------------------------- wording


def test_apply_and_undo_read_right_for_the_value_kinds(
    sandbox_factory: SandboxFactory, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """``apply`` and ``undo`` of a plan of archive states and card moves, over HTTP: each
    outcome line and summary in the value kinds' words (restored, reverted), never the member
    kinds' (added, removed); undo names each change by its object and field, with the value
    it found and the one it writes back."""
    s = _scenario(51, 40)
    assert s.culprit is not None
    assert s.second_damage_at is not None
    sb = sandbox_factory(s, time_scale=100)
    invoke = sandbox_cli(sb, monkeypatch)
    plan_file = tmp_path / "plan.json"
    r = invoke(
        *("--board", s.team.id, "--since", s.second_damage_at.isoformat()),
        *("--restore", "archived,list", "--by", s.culprit.username),
        *("--dry-run", "--plan-out", str(plan_file), "--quiet"),
    )
    assert r.exit_code == 0, r.output
    plan, _ = read_plan(plan_file)
    labels = change_labels(plan)
    n = len(plan.changes)
    assert {c.action for c in plan.changes} == {"set_card_closed", "move_card_to_list"}

    def lines(word: str, names: dict[str, str]) -> list[str]:
        return sorted(f"  {word:<16} {what}" for what in names.values())

    def outcome_lines(out: str) -> list[str]:
        return sorted(x for x in out.splitlines() if x.startswith("  "))

    dry = invoke("apply", str(plan_file), "--dry-run")
    assert dry.exit_code == 0, dry.output
    assert outcome_lines(dry.stdout) == lines("would restore", labels)
    assert dry.stdout.splitlines()[-1] == (
        f"Summary: {n} would be applied, 0 already satisfied, 0 drifted, 0 blocked, 0 failed. "
        "Dry run: nothing was changed."
    )
    applied = invoke("apply", str(plan_file), "-v")
    assert applied.exit_code == 0, applied.output
    assert outcome_lines(applied.stdout) == lines("restored", labels)
    assert applied.stdout.splitlines()[-1] == (
        f"Summary: {n} applied, 0 already satisfied, 0 drifted, 0 blocked, 0 failed."
    )
    assert any(
        x.startswith('  restored         unarchive card "') for x in applied.stdout.split("\n")
    )
    journal = next(
        x.removeprefix("Journal: ") for x in applied.stderr.splitlines() if x.startswith("Journal")
    )

    records = Journal.read(Path(journal)).records
    undo_names = journal_labels(records)
    for c in plan.changes:  # named as the plan named them (the journal keeps the names)
        assert isinstance(c, ValueChange)
        card = f'card "{c.card_name}" ({card_url(c.card_short_link)}) on board "{c.board_name}"'
        if c.action == "set_card_closed":
            want = f"closed of {card}: open → archived"
        else:
            want = f'idList of {card}: "{c.value_name}" → "{c.list_name}"'
        assert undo_names[c.change_id] == want
    dry_undo = invoke("undo", journal, "--dry-run")
    assert dry_undo.exit_code == 0, dry_undo.output
    assert outcome_lines(dry_undo.stdout) == lines("would revert", undo_names)
    assert dry_undo.stdout.splitlines()[-1] == (
        f"Summary: {n} would be reverted, 0 failed. Dry run: nothing was changed."
    )
    undone = invoke("undo", journal, "--yes", "-v")
    assert undone.exit_code == 0, undone.output
    assert outcome_lines(undone.stdout) == lines("reverted", undo_names)
    assert undone.stdout.splitlines()[-1] == f"Summary: {n} reverted, 0 failed."


def test_undo_words_of_mixed_and_interrupted_changes() -> None:
    """An undo of card members and values together counts ``undone``; a value write an
    apply was killed in and never made reads ``nothing to undo``, named by its list (not only its
    board); member undo keeps its words."""
    value = {"object_type": "list", "object_id": "L1", "field": "closed"}
    records = [
        JournalRecord("v1", "apply", "set_list_closed", "applied", "B1", "", values=value | {
            "seen": True, "written": False}),
        JournalRecord("v2", "apply", "set_card_field", "not_applied", "B1", "", "K1", values={
            "object_type": "card", "object_id": "K1", "field": "due",
            "seen": "2026-11-02T09:00:00.000Z", "written": None}),
        JournalRecord("m1", "apply", "add_member_to_card", "applied", "B1", "M1", "K2"),
    ]  # fmt: skip
    labels = journal_labels(records)
    assert labels == {
        "v1": "closed of list L1 on board B1: open → archived",
        "v2": "due of card K1 on board B1: none → 2026-11-02 09:00 UTC",
        "m1": "member M1 on card K2",
    }
    never = ChangeOutcome("v2", "set_card_field", "not_on_card", "B1", "K1", "")
    assert outcome_line(never, labels) == (
        "  nothing to undo  due of card K1 on board B1: none → 2026-11-02 09:00 UTC"
    )
    outcomes = [
        ChangeOutcome("v1", "set_list_closed", "undone", "B1", "", ""),
        ChangeOutcome("m1", "add_member_to_card", "undone", "B1", "K2", "M1"),
        never,
    ]
    mixed = ApplyReport(outcomes, {"undone": 2, "not_on_card": 1}, None, 0, 0, 0.0)
    assert apply_summary(mixed, undo=True) == "Summary: 2 undone, 1 nothing to undo, 0 failed."
    members = ApplyReport(outcomes[1:2], {"undone": 1}, None, 0, 0, 0.0)
    assert apply_summary(members, undo=True) == "Summary: 1 removed, 0 failed."
    assert outcome_line(outcomes[1], labels) == "  removed          member M1 on card K2"


def test_a_list_moved_from_the_named_board_is_in_scope_as_its_cards_are(
    sandbox_factory: SandboxFactory, monkeypatch: pytest.MonkeyPatch
) -> None:
    """design.md §3: naming the board things moved from or the one they are on now gives the
    same plan. A list moved from the team board and archived on the archive board was left
    out, with no word, when only the team board was named (R31a); it is planned either way."""
    s = generate(1, 60, second_damage=True)
    sb = sandbox_factory(s, token_limit=10_000, key_limit=10_000)
    invoke = sandbox_cli(sb, monkeypatch)
    archived = [
        e for e in s.world.field_ledger if e.object_type == "list" and e.board_id == s.archive.id
    ]
    assert archived  # a list moved off the team board, archived on the archive board
    lists: dict[str, set[str]] = {}
    for board in (s.team.id, s.archive.id):
        since = ("--since", "2025-11-05", "--restore", "archived", "--dry-run")
        result = invoke("--board", board, *since, "--plan-out", "-")
        assert result.exit_code == 0, result.output
        changes = json.loads(result.stdout)["changes"]
        lists[board] = {c["list"]["id"] for c in changes if c["action"] == "set_list_closed"}
    assert lists[s.team.id] == lists[s.archive.id] == {e.object_id for e in archived}
    # Applied from the team board's plan, the list is unarchived where it is now.
    by = s.world.members[archived[0].by].username
    result = invoke("--board", s.team.id, *since[:4], "--by", by, "--yes", "--rate-limit", "1000")
    assert result.exit_code == 0, result.output
    assert not any(s.world.lists[e.object_id].closed for e in archived)


def test_a_list_moved_on_to_a_board_not_read_is_not_called_deleted(
    sandbox_factory: SandboxFactory, monkeypatch: pytest.MonkeyPatch
) -> None:
    """That list moved on from the archive board to a third board, which a plan naming the
    team board does not read: it was skipped as ``object_deleted`` (R31c), though Trello
    deletes no list; it is ``other_board`` now (moving across boards is out of scope). So is a
    card archived on the team board and moved on there (one no member action of the team board
    names was left out with no word, R31d: ``test_planner_values``' scope rule)."""
    s = generate(1, 60, second_damage=True)
    w = s.world
    (lst,) = {e.object_id for e in w.field_ledger if e.object_type == "list"}
    third = next(b for b in w.boards.values() if b.id not in (s.team.id, s.archive.id))
    lead = w.tokens[s.token]
    w.move_list_to_board(lst, third.id, lead)
    # And a card archived on the team board, moved on there too.
    card = next(
        e.object_id
        for e in w.field_ledger
        if e.object_type == "card" and e.field == "closed" and e.board_id == s.team.id
        and e.at >= datetime(2025, 11, 5, tzinfo=UTC) and w.cards[e.object_id].closed
    )  # fmt: skip
    for board in (s.archive, third):  # by the archive board, as the list went: not followed
        to = next(x for x in w.lists.values() if x.id_board == board.id and x.id != lst)
        w.move_card_to_board(card, board.id, to.id, lead)
    sb = sandbox_factory(s, token_limit=10_000, key_limit=10_000)
    result = sandbox_cli(sb, monkeypatch)(
        "--board", s.team.id, "--since", "2025-11-05", "--restore", "archived", "--dry-run",
        "--plan-out", "-",
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    doc = json.loads(result.stdout)
    for gone in (lst, card):
        skipped = [v for v in doc["value_skipped"] if v["object"]["id"] == gone]
        assert [v["reason"] for v in skipped] == ["other_board"], gone


@pytest.mark.parametrize("list_name", ["Sprint 3", "Backlog"])
def test_a_deleted_card_is_listed_only_when_list_chooses_it(
    sandbox_factory: SandboxFactory, monkeypatch: pytest.MonkeyPatch, list_name: str
) -> None:
    """``--list`` chooses a deleted card by the list it was deleted from, in the plan and in
    the ground truth alike (R43d: the truth listed every deleted card whatever ``--list``):
    seed 5's card deleted from "Sprint 3" after its list moved to the archive board."""
    s = generate(5, 40, second_damage=True)
    sb = sandbox_factory(s, time_scale=100)
    (deleted,) = s.world.deletions
    with s.world.lock:
        (list_id,) = [
            lst.id for lst in s.world.lists.values()
            if lst.name == list_name and lst.id_board in (s.team.id, s.archive.id)
        ]  # fmt: skip
    result = sandbox_cli(sb, monkeypatch)(
        "--board", s.team.id, "--since", s.incident_at.isoformat(), "--restore", "archived",
        "--list", list_name, "--dry-run", "--plan-out", "-",
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    plan, _ = plan_from_dict(json.loads(result.stdout))
    options = OptionSet(
        "r43d", s.incident_at, lists=frozenset({list_id}), restore=frozenset({"archived"})
    )
    with s.world.lock:
        truth = compute(s.world, s.scope, options, (s.team.id,))
    assert_values_are_truth(plan, truth)
    listed = {u.object_id for u in plan.unrestorable}
    assert listed == ({deleted} if list_name == "Sprint 3" else set())
