"""What a board's names can do to the tool (review R37c), over HTTP against the sandbox:

- a name holding a UTF-16 surrogate that no pair completes (``"\\ud800"`` alone: valid JSON, no
  Unicode text) is read as U+FFFD: every plan, apply and file write crashed on it (exit 1);
- a username is shown escaped like every other name (its escape codes and newlines reached
  the terminal);
- the command a warning suggests quotes a list name's control characters, so that neither the
  terminal nor the log file gets them raw (a newline made a fake log line);
- an export's action id is shown escaped in its error;
- invisible and direction-changing characters (U+202E, U+200B, U+FEFF) are escaped in names,
  so that two names cannot look alike (``Archive\\u202e5202`` showed as "Archive2025")."""

from __future__ import annotations

import json
import logging
import os
import shutil
import subprocess
from pathlib import Path

import pytest

from trello_restore.errors import ExitCode
from trello_restore.models import MemberRef, quote_name
from trello_restore.sandbox.scenario import Scenario, generate
from trello_restore.words import member_name, shell_join, shown_name

from .conftest import SandboxFactory, cli_invoker, one_line_error, sandbox_cli
from .test_cli_apply import _assert_state, _expected, _restore_args


@pytest.fixture(name="scenario")
def scenario_fixture() -> Scenario:
    """A small incident scenario whose removed members and cards have hostile names."""
    return generate(5, 20)


def test_a_lone_surrogate_in_names_is_read_as_a_replacement_character(
    sandbox_factory: SandboxFactory,
    scenario: Scenario,
    monkeypatch: pytest.MonkeyPatch,
    tmp_path: Path,
) -> None:
    """Every member's full name and every card's name ends in a lone surrogate: the dry run,
    its plan file and JSON, and the one-step run work (exit 0; it was 1), the names shown
    with U+FFFD, and the restore is made."""
    w = scenario.world
    for m in w.members.values():
        m.full_name += " \ud800"
    for c in w.cards.values():
        c.name += " \udfff"
    want = _expected(scenario)
    sb = sandbox_factory(scenario, latency_ms=0)
    invoke = sandbox_cli(sb, monkeypatch)
    plan = tmp_path / "plan.json"
    dry = invoke(*_restore_args(scenario), "--dry-run", "--plan-out", str(plan))
    assert dry.exit_code == 0, dry.output
    assert " \ufffd (@" in dry.stdout  # a member's full name
    assert " \ufffd (https://trello.com/c/" in dry.stdout  # a card's name
    doc = json.loads(plan.read_text(encoding="utf-8"))
    cards = [c for c in doc["changes"] if c["action"] == "add_member_to_card"]
    assert cards
    assert all(c["card"]["name"].endswith(" \ufffd") for c in cards)
    as_json = invoke(*_restore_args(scenario), "--dry-run", "--format", "json")
    assert as_json.exit_code == 0, as_json.output
    assert json.loads(as_json.stdout)["summary"] == doc["summary"]
    run = invoke(*_restore_args(scenario), "--yes", "-q", "--format", "json")
    assert run.exit_code == 0, run.output
    _assert_state(scenario, want)


def test_usernames_and_invisible_characters_are_shown_escaped(
    sandbox_factory: SandboxFactory, scenario: Scenario, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Every member's username holds an escape code and a newline, the archive board's name a
    right-to-left override: the dry run shows them escaped, no raw control or override
    character anywhere in its output."""
    w = scenario.world
    for m in w.members.values():
        if m.id != scenario.mover.id:
            m.username += "\x1b[31m\nfake"
    w.boards[scenario.archive.id].name = "Archive\u202e5202"
    sb = sandbox_factory(scenario, latency_ms=0)
    invoke = sandbox_cli(sb, monkeypatch)
    dry = invoke(*_restore_args(scenario), "--dry-run", "-v")
    assert dry.exit_code == 0, dry.output
    said = dry.stdout + dry.stderr
    assert '(@"' in said, said
    assert '\\x1b[31m\\nfake")' in said, said
    assert '"Archive\\u202e5202"' in said
    assert [ch for ch in said if ch in "\x1b\u202e"] == []
    assert not any(line.startswith("fake") for line in said.splitlines())


@pytest.mark.parametrize(
    ("name", "shown"),
    [
        ("Archive\u202e5202", '"Archive\\u202e5202"'),
        ("Z\u200bed\ufeff", '"Z\\u200bed\\ufeff"'),
        ("soft\u00adhyphen", '"soft\\xadhyphen"'),
        ("👨\u200d👩\u200d👧 family", '"👨\u200d👩\u200d👧 family"'),  # joiners stay
        ("Team Board", '"Team Board"'),
        # R39a: every format character and every space but the plain one
        ("Sprint\u2061", '"Sprint\\u2061"'),
        ("Sprint\U000e0020", '"Sprint\\U000e0020"'),
        ("Sprint\u180e", '"Sprint\\u180e"'),
        ("Team\u00a0Board", '"Team\\xa0Board"'),
        ("Team\u2009Board", '"Team\\u2009Board"'),
        ("\u0645\u06cc\u200c\u062e", '"\u0645\u06cc\u200c\u062e"'),  # a non-joiner stays
        ("東京\u3000本社", '"東京\u3000本社"'),  # as does the ideographic space
        # R43f: letters that show as blank space
        ("Team\u3164Board", '"Team\\u3164Board"'),
        ("Team\uffa0Board", '"Team\\uffa0Board"'),
        ("\u115fTeam", '"\\u115fTeam"'),
        ("Team\u2800", '"Team\\u2800"'),
        ("한국 팀", '"한국 팀"'),  # Korean itself stays
        # R43g: marks and symbols that show as nothing
        ("Review\u034f", '"Review\\u034f"'),
        ("Team\u17b4", '"Team\\u17b4"'),
        ("Team\U0001d159", '"Team\\U0001d159"'),
        ("\u2764\ufe0f team", '"\u2764\ufe0f team"'),  # an emoji's variation selector stays
        # R67d: a joiner or selector that joins or selects nothing shows as nothing
        ("Team Board\u200d", '"Team Board\\u200d"'),
        ("Team\u200dBoard", '"Team\\u200dBoard"'),
        ("\u200dTeam", '"\\u200dTeam"'),
        ("Team\u200c", '"Team\\u200c"'),
        ("\u200d", '"\\u200d"'),
        ("Team Board\ufe0f", '"Team Board\\ufe0f"'),
        ("Team Board\U000e0100", '"Team Board\\U000e0100"'),
        ("1\ufe0f", '"1\\ufe0f"'),
        ("🏳\ufe0f\u200d🌈 flag", '"🏳\ufe0f\u200d🌈 flag"'),  # after a selector, a joiner stays
        ("1\ufe0f\u20e3 one", '"1\ufe0f\u20e3 one"'),  # a keycap
        ("क्\u200dष", '"क्\u200dष"'),  # Devanagari's joiner
        ("葛\U000e0100飾区", '"葛\U000e0100飾区"'),  # an ideographic variation sequence
        # R68a: not beside ASCII symbols or CJK ideographs, which no joiner joins
        ("C+\u200d+", '"C+\\u200d+"'),
        ("C++\ufe0f", '"C++\\ufe0f"'),
        ("A/B <\u200d> C", '"A/B <\\u200d> C"'),
        ("開\u200d発", '"開\\u200d発"'),
        ("開\u200c発", '"開\\u200c発"'),
        ("東京\ufe0f", '"東京\\ufe0f"'),
        ("🏴\U000e0020", '"🏴\\U000e0020"'),  # a tag that ends no flag
        # R68a: and kept where they show
        ("\u2139\ufe0f Info", '"\u2139\ufe0f Info"'),  # information source
        ("‼\ufe0f Urgent", '"‼\ufe0f Urgent"'),
        ("❤\ufe0f\u200d🔥", '"❤\ufe0f\u200d🔥"'),
        ("അവന്\u200d വന്നു", '"അവന്\u200d വന്നു"'),  # a Malayalam chillu at a word's end
        ("↔\ufe0f", '"↔\ufe0f"'),
        (
            "🏴\U000e0067\U000e0062\U000e0073\U000e0063\U000e0074\U000e007f Scotland",
            '"🏴\U000e0067\U000e0062\U000e0073\U000e0063\U000e0074\U000e007f Scotland"',
        ),
        # R69a: a second selector, a joiner with a joining letter on one side only, tags of no
        # flag
        ("Team Board \u2764\ufe0f\ufe0f", '"Team Board \u2764\ufe0f\\ufe0f"'),
        (
            "\u0628\u0631\u0646\u0627\u0645\u0647\u200c",
            '"\u0628\u0631\u0646\u0627\u0645\u0647\\u200c"',
        ),
        ("टीम\u200d बोर्ड", '"टीम\\u200d बोर्ड"'),
        ("Team\u200c\u0628", '"Team\\u200c\u0628"'),
        ("🏴\U000e007a\U000e007a\U000e007f", '"🏴\\U000e007a\\U000e007a\\U000e007f"'),
        # and kept: a half form after a virama at a word's end, an emoji newer than this Python
        ("अवन्\u200d", '"अवन्\u200d"'),
        ("\U0001fae8\ufe0f", '"\U0001fae8\ufe0f"'),
    ],
)
def test_invisible_characters_in_a_name_are_escaped(name: str, shown: str) -> None:
    assert quote_name(name) == shown


@pytest.mark.parametrize(
    ("name", "shown"),
    [
        ("Team Board", "Team Board"),
        ("Team Board ", '"Team Board "'),
        (" Team Board", '" Team Board"'),
        ("Sprint\u00a0", '"Sprint\\xa0"'),
    ],
)
def test_a_name_shown_bare_is_quoted_when_a_space_at_its_end_would_not_show(
    name: str, shown: str
) -> None:
    """R39a: boards "Team Board" and "Team Board " read the same in the plan's headings."""
    assert shown_name(name) == shown


def test_names_that_differ_by_an_invisible_character_or_a_space_read_differently(
    sandbox_factory: SandboxFactory, scenario: Scenario, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The archive board named as the team board with a space after it, and its lists as the
    team board's with an invisible operator after them (R39a: the plan's headings read the
    same): the dry run shows both apart, and nothing invisible raw."""
    w = scenario.world
    w.boards[scenario.archive.id].name = w.boards[scenario.team.id].name + " "
    renamed = [lst for lst in w.lists.values() if lst.id_board == scenario.archive.id]
    assert renamed
    for lst in renamed:
        lst.name += "\u2061"
    sb = sandbox_factory(scenario, latency_ms=0)
    invoke = sandbox_cli(sb, monkeypatch)
    dry = invoke(*_restore_args(scenario), "--board", scenario.archive.id, "--dry-run")
    assert dry.exit_code == 0, dry.output
    team = w.boards[scenario.team.id].name
    assert f'Plan for {team}, "{team} " since' in dry.stdout, dry.stdout
    assert any(line.strip().endswith('\\u2061"') for line in dry.stdout.splitlines())
    assert [ch for ch in dry.stdout + dry.stderr if ch in "\u2061"] == []


def test_a_suggested_command_quotes_control_characters() -> None:
    """A word with a control or invisible character in ANSI-C quotes (what bash reads back
    as the same bytes), the others as ``shlex.join`` quotes them."""
    words = ["trello-restore", "--list", "Old\x1b[2J list\nINFO fake'", "--board", "Team Board"]
    assert shell_join(words) == (
        "trello-restore --list $'Old\\x1b[2J list\\nINFO fake\\'' --board 'Team Board'"
    )
    assert shell_join(["a\u202eb\\c\t"]) == "$'a\\xe2\\x80\\xaeb\\\\c\\t'"
    assert member_name(MemberRef("m1", "ann\nx", "Ann")) == 'Ann (@"ann\\nx")'


def test_a_log_record_with_a_line_break_cannot_pass_for_another(tmp_path: Path) -> None:
    """The log file's further lines of a record are indented: every line that starts with a
    time is a record."""
    from trello_restore.logs import FILE_ONLY, end_of_command, setup_logging

    log = tmp_path / "run.log"
    setup_logging(0, False, log)
    try:
        logging.getLogger("trello_restore").warning(
            "list %s", "Old\n2026-12-04T00:00:00.000Z 1 INFO fake", extra=FILE_ONLY
        )
    finally:
        end_of_command()
    lines = log.read_text().splitlines()
    assert len(lines) == 2
    assert lines[1] == "    2026-12-04T00:00:00.000Z 1 INFO fake"


def test_an_export_s_action_id_is_shown_escaped(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """An action whose id holds terminal escape codes and a newline, in an export's error."""
    s = generate(5, 20)
    doc = s.export(s.team.id)
    bad = dict(doc["actions"][0], id="\x1b]0;HACKED\x07\x1b[2Jx\nError: fake")
    del bad["date"]
    doc["actions"][0] = bad
    path = tmp_path / "team.json"
    path.write_text(json.dumps(doc), encoding="utf-8")
    result = cli_invoker(monkeypatch)(
        "--from-export", str(path), "--since", "2025-11-01", "--dry-run"
    )
    line = one_line_error(result, ExitCode.USAGE, '"\\x1b]0;HACKED\\x07\\x1b[2Jx\\nError: fake"')
    assert "\x1b" not in line


@pytest.mark.skipif(shutil.which("bash") is None, reason="no bash")
@pytest.mark.parametrize("locale", ["C", "C.UTF-8"])
def test_bash_reads_a_suggested_word_back_in_any_locale(locale: str) -> None:
    """The quoted word is the name's bytes again, in a C locale too (``\\u`` escapes are read
    as characters only in a UTF-8 one: R37e)."""
    for word in ["a\u202eb\\c\t", "Old\x1b[2J list\nINFO fake'", "Z\u200bed\ufeff x\u2028y é"]:
        done = subprocess.run(
            ["bash", "-c", "printf %s " + shell_join([word])],
            capture_output=True,
            env={"LC_ALL": locale, "PATH": os.environ.get("PATH", "")},
            check=True,
        )
        assert done.stdout == word.encode()
