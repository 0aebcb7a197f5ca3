"""Every Trello name in the text the tool writes goes through ``models.quote_name`` (or
``words.shown_name``, built on it): a board, list, card, member or app name holding a double
quote, a backslash or a control character (Trello's API takes a newline in a name) can
neither break a line of the plan's text, of an apply's or undo's outcome lines or of a
warning, nor pass for a line of its own. Plain names read as before; the JSON output and the
plan file keep names raw (JSON escapes them).

Over the CLI against the sandbox: the small world's board, a list, two cards, a member and an
app are given hostile names before the incident, whose damage (a member taken off a card, a
card moved and archived, a list archived, a card renamed and its description overwritten)
the dry run plans and the apply and undo restore."""

from __future__ import annotations

import json
from datetime import timedelta
from pathlib import Path

import pytest

from trello_restore.errors import ExitCode
from trello_restore.kinds import BoardMembership, CardClosed, CardMember, CardMove, ListClosed
from trello_restore.kinds.valuetext import desc_diff, show
from trello_restore.models import (
    Blocked,
    Change,
    Evidence,
    MemberRef,
    Plan,
    PlanOptions,
    Skipped,
    Unrestorable,
    ValueChange,
)
from trello_restore.planfile import PlanMeta
from trello_restore.report import render_text
from trello_restore.sandbox.world import App
from trello_restore.words import actor, board_ref, member_name, one_line, shown_name

from .conftest import T0, SandboxFactory, SmallWorld, make_world, sandbox_cli

T1 = T0 + timedelta(hours=12)
T2 = T0 + timedelta(days=1)

#: Each hostile name ends in a line of its own that would pass for one of the plan's.
BOARD = 'Team "B"\\\n  SPOOF-BOARD'
LIST = 'To "do"\n    SPOOF-LIST'
CARD = 'Fix "login"\r\n      SPOOF-CARD'
RENAMED = "Renamed\n  + SPOOF-FIELD"
FULL = 'Ben "B"\nSPOOF-MEMBER'
APP = "Bot\x1b[2JSPOOF-APP"
#: Each name as ``quote_name`` shows it, and the part of it that must never start a line.
ESCAPED = {
    "SPOOF-BOARD": '"Team \\"B\\"\\\\\\n  SPOOF-BOARD"',
    "SPOOF-LIST": '"To \\"do\\"\\n    SPOOF-LIST"',
    "SPOOF-CARD": '"Fix \\"login\\"\\r\\n      SPOOF-CARD"',
    "SPOOF-FIELD": '"Renamed\\n  + SPOOF-FIELD"',
    "SPOOF-MEMBER": '"Ben \\"B\\"\\nSPOOF-MEMBER"',
    "SPOOF-APP": '"Bot\\x1b[2JSPOOF-APP"',
}


def hostile() -> SmallWorld:
    """The small world with hostile names before T2 (the team board, list Doing, card ``c1``,
    ana's full name), then ana's damage after it through an app with a hostile name: ben
    taken off ``c1``, ``c2`` moved from Doing to Done, ``c1`` archived, list Doing archived,
    ``c3`` renamed and its description overwritten."""
    sw = make_world()
    w, ids = sw.world, sw.ids
    lead, ana = ids["lead"], ids["ana"]
    w.boards[ids["team"]].name = BOARD
    w.members[ids["ben"]].full_name = FULL
    w.set_list_name(ids["doing"], LIST, lead, T1)
    w.set_card_field(ids["c1"], "name", CARD, lead, T1 + timedelta(minutes=1))
    w.set_card_field(ids["c3"], "desc", "Line one\n\x1b[31mred\tcell", lead, T1)
    at = iter(T2 + timedelta(minutes=m) for m in range(1, 100))
    app = App("a" * 24, APP)
    w.remove_member_from_card(ids["c1"], ids["ben"], ana, next(at))
    w.move_card_to_list(ids["c2"], ids["done"], ana, next(at))
    w.set_card_closed(ids["c1"], True, ana, next(at))
    w.set_card_field(ids["c3"], "name", RENAMED, ana, next(at), app=app)
    w.set_card_field(ids["c3"], "desc", "Overwritten", ana, next(at))
    w.set_list_closed(ids["doing"], True, lead, next(at))
    return sw


def strings(doc: object) -> set[str]:
    """Every string in a JSON document, keys aside."""
    if isinstance(doc, dict):
        return set().union(*map(strings, doc.values()))
    if isinstance(doc, list):
        return set().union(*map(strings, doc))
    return {doc} if isinstance(doc, str) else set()


def check_lines(text: str, *expected: str) -> None:
    """No hostile name's last part starts a line of ``text`` or stands anywhere but in its
    name's escaped form; each of ``expected`` (``ESCAPED``'s keys) is shown escaped."""
    assert "\r" not in text, text
    assert "\x1b" not in text, text
    assert text.splitlines() == text.removesuffix("\n").split("\n"), text
    for tail, escaped in ESCAPED.items():
        assert text.count(tail) == text.count(escaped), (tail, text)
    for tail in expected:
        assert ESCAPED[tail] in text, (tail, text)


def test_hostile_names_stay_in_their_quotes_in_the_plan_apply_and_undo(
    sandbox_factory: SandboxFactory, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The dry run's text (headings, changes, evidence, the diff, fields left alone, the
    archived-list warning), the apply's outcome lines and warning, the undo's lines (a drift
    reason naming a list among them) and the log file: every hostile name escaped in quotes,
    no line broken by one; the plan file holds them raw."""
    sb = sandbox_factory(hostile(), time_scale=100)
    invoke = sandbox_cli(sb, monkeypatch)
    plan_file, log, journal = tmp_path / "plan.json", tmp_path / "run.log", tmp_path / "j.jsonl"
    plan_args = ("--board", sb.ids["team"], "--since", T2.isoformat(), "--restore", "all")
    dry = invoke(*plan_args, "--by", "ana", "--dry-run", "--verbose", "--plan-out", str(plan_file))
    assert dry.exit_code == 0, dry.output
    check_lines(dry.stdout, "SPOOF-BOARD", "SPOOF-LIST", "SPOOF-CARD", "SPOOF-FIELD")
    check_lines(dry.stdout, "SPOOF-MEMBER", "SPOOF-APP")
    check_lines(dry.stderr, "SPOOF-BOARD", "SPOOF-LIST")
    assert f"\n  {ESCAPED['SPOOF-BOARD']}\n    {ESCAPED['SPOOF-LIST']}\n" in dry.stdout
    assert "          +\\x1b[31mred\tcell\n" in dry.stdout  # the diff: a tab stays a tab
    assert '+ desc "Overwritten" (11 chars) → restored to "Line one" (22 chars)' in dry.stdout
    assert {BOARD, LIST, CARD, RENAMED, FULL, APP} <= strings(json.loads(plan_file.read_text()))

    apply_args = ("apply", str(plan_file), "--journal", str(journal), "-v")
    applied = invoke("--log-file", str(log), *apply_args)
    assert applied.exit_code == 0, applied.output
    check_lines(applied.output, "SPOOF-BOARD", "SPOOF-LIST", "SPOOF-CARD", "SPOOF-FIELD")
    check_lines(applied.output, "SPOOF-MEMBER")
    check_lines(log.read_text(), "SPOOF-BOARD", "SPOOF-LIST")
    assert sb.world.cards[sb.ids["c3"]].name == "C3"

    # c2 moved by hand since: undo's revert of its move drifts, named by the lists' names
    # (the reason made one line without collapsing the spaces in a name).
    sb.world.move_card_to_list(sb.ids["c2"], sb.ids["old"], sb.ids["lead"])
    undone = invoke("--log-file", str(log), "undo", str(journal), "--yes", "-v")
    assert undone.exit_code == ExitCode.PARTIAL, undone.output
    check_lines(undone.output, "SPOOF-BOARD", "SPOOF-LIST", "SPOOF-CARD", "SPOOF-FIELD")
    check_lines(undone.output, "SPOOF-MEMBER")
    assert f'(now "Old", expected {ESCAPED["SPOOF-LIST"]}): left alone)' in undone.output
    check_lines(log.read_text())


def test_values_that_look_alike_are_told_apart_in_the_plan_and_restored_exactly(
    sandbox_factory: SandboxFactory, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Overwritten values that the text would show as the value already there (a line ending,
    a Unicode form, a date's milliseconds) are each shown with what tells them apart, the
    ``-v`` diff splits at line feeds only and escapes a bidi override as names do, and the
    apply writes the old values byte for byte (review R43b, R43f)."""
    sw = make_world()
    w, ids = sw.world, sw.ids
    lead, ana = ids["lead"], ids["ana"]
    old_desc, new_desc = (
        "Budget: \u202e0001\u202c EUR\rOwner",
        "Budget: \u202e0001\u202c EUR\nOwner",
    )
    w.set_card_field(ids["c3"], "desc", old_desc, lead, T1)
    w.set_card_field(ids["c3"], "name", "Cafe\u0301", lead, T1)
    w.set_card_field(ids["c3"], "due", "2026-03-15T10:30:45.123Z", lead, T1)
    at = iter(T2 + timedelta(minutes=m) for m in range(1, 10))
    w.set_card_field(ids["c3"], "desc", new_desc, ana, next(at))
    w.set_card_field(ids["c3"], "name", "Caf\u00e9", ana, next(at))
    w.set_card_field(ids["c3"], "due", "2026-03-15T10:30:45.456Z", ana, next(at))
    sb = sandbox_factory(sw, time_scale=100)
    invoke = sandbox_cli(sb, monkeypatch)
    plan_file = tmp_path / "plan.json"
    args = ("--board", ids["team"], "--since", T2.isoformat(), "--restore", "fields")
    dry = invoke(*args, "--by", "ana", "--dry-run", "-v", "--plan-out", str(plan_file))
    assert dry.exit_code == 0, dry.output
    assert "\u202e" not in dry.stdout, dry.stdout
    assert "\r" not in dry.stdout, dry.stdout
    lines = [line.strip() for line in dry.stdout.splitlines()]
    assert (
        '+ desc "Budget: \\u202e0001\\u202c EUR" (24 chars), from character 19 "\\nOwner" → '
        'restored to "Budget: \\u202e0001\\u202c EUR" (24 chars), from character 19 "\\rOwner"'
    ) in dry.stdout
    assert (
        '+ name "Caf\u00e9", from character 4 "\\xe9" → restored to "Cafe\u0301", '
        'from character 4 "e\\u0301"'
    ) in dry.stdout
    assert "+ due 2026-03-15T10:30:45.456Z → restored to 2026-03-15T10:30:45.123Z" in dry.stdout, (
        dry.stdout
    )
    diff = ["-Budget: \\u202e0001\\u202c EUR", "-Owner", "+Budget: \\u202e0001\\u202c EUR\\rOwner"]
    assert all(line in lines for line in diff), dry.stdout

    applied = invoke("apply", str(plan_file), "--journal", str(tmp_path / "j.jsonl"))
    assert applied.exit_code == 0, applied.output
    card = sb.world.cards[ids["c3"]]
    assert (card.desc, card.name, card.due) == (old_desc, "Cafe\u0301", "2026-03-15T10:30:45.123Z")


# ------------------------------------------------------------------------------ pure parts

EVIDENCE = Evidence("field_update", "a1", T2, MemberRef("m1", "ana"))


def value_change(action: str, **more: object) -> ValueChange:
    field = {"move_card_to_list": "idList"}.get(action, "closed")
    return ValueChange(
        "x", action, "B1", BOARD, list_id="L1", list_name=LIST, field=field,
        evidence=EVIDENCE, **more,  # type: ignore[arg-type]
    )  # fmt: skip


def test_the_kinds_lines_quote_names_with_quote_name() -> None:
    """The brief's reproduction (a list's archive state) and the card kinds' lines."""
    unarchive = value_change("set_list_closed", object_type="list", value=False, expected=True)
    assert ListClosed().label(unarchive) == f"unarchive list {ESCAPED['SPOOF-LIST']}"
    move = value_change(
        "move_card_to_list", card_id="C1", card_name=CARD, value="L2", value_name=RENAMED
    )
    assert CardMove().describe(move) == (
        f"move back to list {ESCAPED['SPOOF-FIELD']} (from {ESCAPED['SPOOF-LIST']})"
    )
    closed = value_change(
        "set_card_closed", card_id="C1", card_name=CARD, card_short_link="s1", value=True
    )
    assert CardClosed().label(closed) == (
        f"archive card {ESCAPED['SPOOF-CARD']} (https://trello.com/c/s1)"
    )
    member = MemberRef("m2", "ben", FULL)
    grant = Change("g", "add_member_to_board", "B1", BOARD, member, role="normal")
    assert BoardMembership().label(grant) == (
        f"{ESCAPED['SPOOF-MEMBER']} (@ben) → board {ESCAPED['SPOOF-BOARD']} as normal"
    )
    add = Change("a", "add_member_to_card", "B1", BOARD, member, card_id="C1", card_name=CARD)
    assert (
        CardMember().label(add)
        == f"{ESCAPED['SPOOF-MEMBER']} (@ben) → card {ESCAPED['SPOOF-CARD']}"
    )
    # Plain names read as before: bare where they were bare, quoted where they were quoted.
    plain = Change("a", "add_member_to_card", "B1", "Team", MemberRef("m2", "ben", "Ben B"))
    assert BoardMembership().describe(plain) == "Ben B (@ben) to Team as "
    assert CardMember().label(plain) == "Ben B (@ben) → card "


def test_the_plans_blocked_skipped_and_unrestorable_lines_escape_names() -> None:
    member = MemberRef("m2", "ben", FULL)
    blocked = Change(
        "a", "add_member_to_card", "B1", BOARD, member, list_id="L1", list_name=LIST,
        card_id="C1", card_name=CARD, evidence=Evidence("recorded_removal", "a1", T2, member),
    )  # fmt: skip
    plan = Plan(
        PlanOptions(since=T2, lists=frozenset({LIST})),
        (),
        (Blocked(blocked, "not_board_member"),),
        (Skipped("C2", RENAMED, member, "filtered", "a2"),),
        unrestorable=(Unrestorable("card", "C3", CARD, "deleted", "a3", T2, member),),
    )
    meta = PlanMeta("0.1.0", T2, "http://x/1", None, (("B1", BOARD),), "api")
    text = render_text(plan, meta, verbose=True)
    check_lines(text, "SPOOF-BOARD", "SPOOF-LIST", "SPOOF-CARD", "SPOOF-FIELD", "SPOOF-MEMBER")
    assert f"Plan for {ESCAPED['SPOOF-BOARD']} since" in text
    assert f"lists {ESCAPED['SPOOF-LIST']}" in text
    assert f": not a member of {ESCAPED['SPOOF-BOARD']}" in text
    assert f"on {ESCAPED['SPOOF-FIELD']}: filtered" in text
    assert f"  - card {ESCAPED['SPOOF-CARD']}: deleted by @ben" in text


@pytest.mark.parametrize(
    ("name", "shown"),
    [
        ("Team", "Team"),
        ("Sprint  1 \u2013 caf\u00e9", "Sprint  1 \u2013 caf\u00e9"),
        ('To "do"', '"To \\"do\\""'),
        ("a\\b", '"a\\\\b"'),
        ("a\nb", '"a\\nb"'),
        ("a\u2028b", '"a\\u2028b"'),
    ],
)
def test_shown_name_is_bare_when_plain_else_quote_name(name: str, shown: str) -> None:
    assert shown_name(name) == shown
    assert board_ref("B1", name) == f"{shown if shown != name else chr(34) + name + chr(34)} (B1)"


def test_members_apps_and_values_read_as_before_when_plain() -> None:
    assert member_name(MemberRef("m1", "ana", "Ana Lee")) == "Ana Lee (@ana)"
    assert member_name(MemberRef("m1", "", FULL)) == f"{ESCAPED['SPOOF-MEMBER']} (m1)"
    by = MemberRef("m1", "ana")
    assert actor(Evidence("field_update", "a1", T2, by, app="Butler")) == (
        "Butler (app, on behalf of @ana)"
    )
    assert actor(Evidence("field_update", "a1", T2, by, app=APP)).startswith(ESCAPED["SPOOF-APP"])
    assert show("name", "Fix login") == '"Fix login"'
    assert show("name", RENAMED) == ESCAPED["SPOOF-FIELD"]
    assert show("desc", "Line one\nmore") == '"Line one" (13 chars)'
    assert show("desc", 'Say "hi"\r\nmore') == '"Say \\"hi\\"" (14 chars)'
    assert desc_diff("a", "a\n\x1b[2Jb\tc") == [
        "--- now", "+++ restored", "@@ -1 +1,2 @@", " a", "+\\x1b[2Jb\tc"
    ]  # fmt: skip


def test_one_line_joins_line_breaks_and_keeps_other_spaces() -> None:
    assert one_line("card gone:\n  moved\r\n") == "card gone: moved"
    assert one_line('expected "a    b"\u2028x') == 'expected "a    b" x'
