"""Review 22b's message fixes (H22): refusals, damaged journals, config files and wording, over
the sandbox where they need one.

1. A write Trello refused said "make @x a normal member … (or to reactivate them)" whatever
   their membership, "what was done is in the journal" without the journal, and (undo) "or plan
   again with the token of a member who can edit it"; now: what fits their membership (read
   once after the refusal), the journal's path, the command that resumes, and for undo that it
   runs as the account that applied. ``undo --dry-run`` named the board by id in its warning; a
   dry run's read refusal said "run the same command again to resume".
2. A one-step run whose every board with changes refused the token said "the other boards'
   changes were written as the summary says".
3. A damaged journal's first line was said in Python's words with advice for both commands; a
   bad status quoted a Python dict cut off mid-string.
4. A config file saved as UTF-16 was said in Python's words.
5. One planning option before a subcommand read "plan … mean … drop them"; a config typo got
   no suggestion; the settling of earlier runs logged "1 interrupted writes".
"""

from __future__ import annotations

import json
import logging
import os
from collections.abc import Callable
from datetime import timedelta
from pathlib import Path

import pytest
from click.testing import Result

from trello_restore.config_file import example, load_config
from trello_restore.errors import ConfigError, ExitCode, InputFileError
from trello_restore.journal import Journal, JournalHeader, JournalRecord
from trello_restore.models import MemberRef, Membership
from trello_restore.refusals import admin_fix, refused_boards_line
from trello_restore.sandbox.scenario import Scenario
from trello_restore.undo import resolve_earlier_journals

from .applykit import api_for, fast_options
from .conftest import Sandbox, configless_cli, one_line_error
from .test_refused_board import _args, _observer, _setup
from .truthcheck import incident_since

Invoke = Callable[..., Result]


@pytest.fixture(name="invoke")
def invoke_fixture(sb: Sandbox, monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Invoke:
    """The CLI in-process, pointed at the sandbox, reading no config file."""
    return configless_cli(sb, monkeypatch, tmp_path)


def _plan(invoke: Invoke, s: Scenario, path: Path) -> Path:
    """A plan of the team board since the incident, with board grants (changes on both
    boards, most on the archive board)."""
    scope = ["--board", s.team.id, "--since", incident_since(s), "--add-to-board"]
    r = invoke(*scope, "--dry-run", "-q", "--plan-out", str(path))
    assert r.exit_code == 0, r.output
    return path


# ------------------------------------------------------------------ 1. a refused write


def test_a_refused_apply_says_what_fits_an_observer_the_journal_and_the_command(
    invoke: Invoke, scenario: Scenario, tmp_path: Path
) -> None:
    s = scenario
    plan = _plan(invoke, s, tmp_path / "plan.json")
    journal = tmp_path / "j.jsonl"
    give_back = _observer(s, s.archive.id, s.mover.id)
    r = invoke("apply", str(plan), "--journal", str(journal), "-q")
    user = f"@{s.mover.username}"
    # The plan has changes on two boards: the apply goes on past the refused one (G24).
    line = one_line_error(
        r,
        ExitCode.AUTH,
        f'change board "{s.archive.name}" (HTTP 401 unauthorized permission requested): ',
        f"(nothing more was sent there after the refusal; journal {journal}); the other "
        "boards' changes were written as the summary says. ",
        f"Ask a board admin to make {user} a normal member of that board, then run ",
        f"run trello-restore apply {plan} --journal {journal} again to resume; or plan again "
        "with the token of a member who can edit it",
    )
    assert "reactivate" not in line
    assert "the same command" not in line
    assert journal.exists()

    # Applied in full, then an observer again: undo's refusal has no other token to offer.
    give_back()
    assert invoke("apply", str(plan), "--journal", str(journal), "-q").exit_code == 0
    _observer(s, s.archive.id, s.mover.id)
    dry = invoke("undo", str(journal), "--dry-run", "-q")
    assert dry.exit_code == 0, dry.output
    (warning,) = [x for x in dry.stderr.splitlines() if x.startswith("Warning: ")]
    assert warning.startswith(f'Warning: board "{s.archive.name}": the token\'s member {user}')
    assert "an undo runs as the account that applied" in warning

    r = invoke("undo", str(journal), "--yes", "-q")
    line = one_line_error(
        r,
        ExitCode.AUTH,
        f"(nothing more was sent there after the refusal; journal {journal}); the other "
        "boards' changes were undone as the summary says. ",
        f"make {user} a normal member of that board, ",
        f"then run trello-restore undo {journal} --yes again to finish (an undo runs as the "
        "account that applied: another account's token will not do)",
    )
    assert "plan again" not in line
    assert "reactivate" not in line


def test_a_dry_run_refused_the_board_resumes_nothing_and_says_to_add_the_member(
    invoke: Invoke, scenario: Scenario, tmp_path: Path
) -> None:
    """The token's member taken off the board since the plan: a dry run's read is refused;
    nothing to resume, and the member is to be added (or reactivated: a refused read cannot
    tell which). The plan is on two boards: the apply goes on past it (F24), which the dry
    run's warning says."""
    s = scenario
    plan = _plan(invoke, s, tmp_path / "plan.json")
    with s.world.lock:  # taken off the board (the sandbox's only admin of it, so by hand)
        del s.world.boards[s.archive.id].memberships[s.mover.id]
    r = invoke("apply", str(plan), "--dry-run", "-q")
    assert r.exit_code == ExitCode.OK, r.output
    (line,) = [x for x in r.stderr.splitlines() if x.startswith("Warning: ")]
    assert f'board "{s.archive.name}": Trello refused' in line
    assert (
        "goes on with the other boards and exits 3; ask a board admin to add "
        f"@{s.mover.username} to that board (or to reactivate them there), or plan again"
    ) in line
    assert "resume" not in line
    assert "Error: " not in r.stderr


def test_what_to_ask_fits_the_membership() -> None:
    observer = Membership("m", "observer")
    assert admin_fix("@dana", observer) == (
        "ask a board admin to make @dana a normal member of that board (they are an observer of it)"
    )
    assert admin_fix("@dana", Membership("m", "normal", deactivated=True)) == (
        "ask a board admin to reactivate @dana on that board (they are deactivated there)"
    )
    assert admin_fix("@dana", Membership("m", "observer", deactivated=True), why=False) == (
        "ask a board admin to reactivate @dana on that board as a normal member"
    )
    assert admin_fix("@dana", None) == (
        "ask a board admin to add @dana to that board (they are not a member of it)"
    )
    assert "reactivate" in admin_fix("@dana", None, known=False)


# --------------------------------------------------- 2. every board with changes refused


def test_a_run_refused_by_every_board_with_changes_does_not_say_others_were_written(
    sb: Sandbox, scenario: Scenario, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    s = scenario
    invoke, *_ = _setup(sb, s, tmp_path, monkeypatch)
    for board in (s.team.id, s.archive.id):
        _observer(s, board, s.mover.id)
    r = invoke(*_args(s, "--yes", "-q", "--format", "json"))
    assert r.exit_code == ExitCode.AUTH, r.output
    journal = json.loads(r.stdout)["journal"]
    (error,) = [x for x in r.stderr.splitlines() if x.startswith("Error: ")]
    assert "change 2 boards" in error
    assert f"after the refusal; journal {journal}); no other board had changes to write, " in error
    assert "were written as the summary says" not in error


def test_the_refused_boards_line_says_what_became_of_the_other_boards() -> None:
    me = MemberRef("m", "dana", "Dana K")
    refused = [("b1", "Archive", "HTTP 401 x", 3)]
    none = refused_boards_line(me, refused, elsewhere=0)
    assert "; none of the other boards' changes was written either (see the summary), " in none
    some = refused_boards_line(me, refused, elsewhere=2, journal=Path("/j.jsonl"))
    assert "refusal; journal /j.jsonl); the other boards' changes were written as" in some


# ------------------------------------------------------------------ 3. a damaged journal


def _journal(
    tmp_path: Path, first: str = "", second: dict[str, object] | None = None, drop: str = ""
) -> Path:
    """A journal: its ``first`` line (else a header, without the field ``drop``) and, with
    ``second``, a record with those fields changed (None: left out)."""
    header = {
        "type": "header",
        "format": "trello-restore-journal",
        "format_version": 1,
        "plan_digest": "d" * 64,
        "api_url": "http://127.0.0.1:1/1",
        "account_id": "a",
        "created_at": "2025-11-02T00:00:00.000Z",
    }
    lines = [first or json.dumps({k: v for k, v in header.items() if k != drop})]
    if second is not None:
        record = {"change_id": "c", "op": "apply", "action": "add_member_to_card"}
        record |= {"status": "applied", "board_id": "b", "member_id": "m", "card_id": "k"}
        lines.append(json.dumps({k: v for k, v in (record | second).items() if v is not None}))
    path = tmp_path / "j.jsonl"
    path.write_text("\n".join(lines) + "\n")
    return path


def test_a_damaged_first_line_is_said_in_the_tools_words_with_advice_for_the_command(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = _journal(tmp_path, "garbage")
    with pytest.raises(InputFileError) as undo:
        Journal.read(path)
    with pytest.raises(InputFileError) as apply:
        Journal.read(path, op="apply")
    why = "(its first line is not JSON: no value where one is expected, at column 1)"
    assert str(undo.value).endswith(
        f"{why}; it was not changed: give the journal file apply printed"
    )
    assert str(apply.value).endswith(
        f"{why}; it was not changed: restore it from a backup, or pass another --journal PATH"
    )
    r = configless_cli_line(monkeypatch, tmp_path, "undo", str(path), "--yes")
    assert "Expecting" not in r
    assert "--journal" not in r
    path = _journal(tmp_path, '["header"]')
    with pytest.raises(InputFileError, match=r"\(its first line is not a journal header\)"):
        Journal.read(path)


def configless_cli_line(monkeypatch: pytest.MonkeyPatch, tmp_path: Path, *args: str) -> str:
    """The one error line of the command line run without a sandbox or config file."""
    from .conftest import cli_invoker

    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "xdg"))
    monkeypatch.delenv("TRELLO_RESTORE_CONFIG", raising=False)
    return one_line_error(cli_invoker(monkeypatch)(*args), ExitCode.USAGE)


@pytest.mark.parametrize(
    ("second", "why"),
    [
        ({"status": "appliedx"}, 'unknown status "appliedx"'),
        ({"op": "redo"}, 'unknown op "redo"'),
        ({"action": "x" * 60}, f'unknown action "{"x" * 39}…'),
        ({"board_id": None}, "no board_id field"),
        ({"board_id": None, "extra": 1}, "no board_id field"),
    ],
)
def test_a_bad_record_says_which_field_is_wrong_and_its_value(
    tmp_path: Path, second: dict[str, object], why: str
) -> None:
    with pytest.raises(InputFileError) as caught:
        Journal.read(_journal(tmp_path, "", second))
    message = str(caught.value)
    assert f": line 2 is damaged ({why}" in message
    assert "{'" not in message


def test_a_record_with_a_field_of_a_newer_version_says_so_not_damaged(tmp_path: Path) -> None:
    """R33b: records gain fields (``skew_s`` did) while the journal's format stays, and an
    older version called such a journal damaged, advising to delete the line: a newer version's
    record, whole but for a field this one does not know, is named so, and nothing is advised
    that would lose it."""
    path = _journal(tmp_path, "", {"later_field": 1, "another": "x"})
    with pytest.raises(InputFileError) as caught:
        Journal.read(path)
    assert str(caught.value) == (
        f"{path}: line 2 has a field this version of trello-restore does not know (another, "
        "later_field): a newer version wrote it; the journal was not changed: run that version "
        "(or a later one) on it, not this one"
    )
    # A field of a newer version beside a defect (R33c): the defect is what is said.
    with pytest.raises(InputFileError, match=r"line 2 is damaged \(unknown status "):
        Journal.read(_journal(tmp_path, "", {"later_field": 1, "status": "bogus"}))
    # A header with a field of a newer version: said so, not "damaged".
    header = tmp_path / "header.jsonl"
    lines = _journal(tmp_path, "").read_text().splitlines()
    head = json.loads(lines[0])
    header.write_text("\n".join([json.dumps({**head, "tool": "9.0"}), *lines[1:]]) + "\n")
    with pytest.raises(InputFileError, match=r"line 1 has a field .* \(tool\): a newer version"):
        Journal.read(header)


def test_journals_are_format_2_and_format_1_is_still_read(tmp_path: Path) -> None:
    """R43h: records gained fields (``skew_s``, a change's names) with the format left at 1,
    and versions before R33b called a newer record damaged, advising to delete the line (the
    record undo needs). New journals say format 2, which those versions refuse as "another
    trello-restore"; format 1 journals (theirs) are still read, and a later format refused."""
    made = Journal.open(
        tmp_path / "new.jsonl", JournalHeader("d" * 64, "http://127.0.0.1:1/1", "a", "2025")
    )
    made.close()
    assert json.loads((tmp_path / "new.jsonl").read_text().splitlines()[0])["format_version"] == 2
    assert Journal.read(tmp_path / "new.jsonl").header.format_version == 2
    old = _journal(tmp_path, "", {})
    assert Journal.read(old).header.format_version == 1
    later = tmp_path / "later.jsonl"
    lines = old.read_text().splitlines()
    later.write_text("\n".join([lines[0].replace('"format_version": 1', '"format_version": 3'),
                                *lines[1:]]) + "\n")  # fmt: skip
    with pytest.raises(InputFileError, match=r"a newer trello-restore \(journal format 3; "):
        Journal.read(later)
    for odd, why in (('"2"', 'format_version "2" is not'), ("2.0", "format_version 2.0 is not"),
                     ("true", "format_version true is not")):  # fmt: skip
        later.write_text(later.read_text().replace(
            later.read_text().splitlines()[0],
            lines[0].replace('"format_version": 1', f'"format_version": {odd}')))  # fmt: skip
        with pytest.raises(InputFileError, match=f"its header is damaged \\({why} a whole"):
            Journal.read(later)
    with pytest.raises(InputFileError, match=r"damaged \(no format_version field\)"):
        Journal.read(_journal(tmp_path, drop="format_version"))


def test_a_format_1_journal_is_written_as_format_1(tmp_path: Path) -> None:
    """This version appending to a format 1 journal (an earlier version's, resumed or undone)
    leaves out what format 2 added, ``skew_s`` and a record's names, so that the earlier
    version still reads it (R43i: each such line was "damaged" to it); a format 2 journal
    keeps them."""
    value = {"object_type": "card", "object_id": "k", "field": "name", "seen": "a", "written": "b"}
    named, member = {**value, "names": {"card": "Fix login"}}, {"names": {"card": "x"}}
    lines = {}
    for version in (1, 2):
        path = tmp_path / f"v{version}.jsonl"
        header = JournalHeader("d" * 64, "http://x/1", "a", "2025", format_version=version)
        with Journal.open(path, header) as journal:
            journal.note_clock(timedelta(seconds=3))
            journal.append(JournalRecord("c1", "apply", "set_card_field", "applied", "b", "",
                                         "k", values=named))  # fmt: skip
            journal.append(JournalRecord("c2", "apply", "add_member_to_card", "applied", "b",
                                         "m", "k", values=member))  # fmt: skip
        lines[version] = [json.loads(x) for x in path.read_text().splitlines()[1:]]
        assert len(Journal.read(path).records) == 2
    assert [("skew_s" in r, r.get("values")) for r in lines[1]] == [(False, value), (False, None)]
    assert [(r["skew_s"], r["values"]) for r in lines[2]] == [(3, named), (3, member)]


def test_a_header_without_a_field_says_which(tmp_path: Path) -> None:
    path = _journal(tmp_path, drop="account_id")
    with pytest.raises(InputFileError) as caught:
        Journal.read(path)
    assert str(caught.value) == (
        f"{path}: its header is damaged (no account_id field); restore it from a backup"
    )


# ------------------------------------------------------------------- 4. a UTF-16 config


def test_a_config_saved_as_utf16_says_so_not_pythons_codec_words(tmp_path: Path) -> None:
    path = tmp_path / "config.toml"
    path.write_bytes('[restore]\nmode = "removed"\n'.encode("utf-16"))  # with its BOM
    with pytest.raises(ConfigError) as caught:
        load_config(path, explicit=True)
    message = str(caught.value)
    assert "is not valid TOML (not UTF-8 text: it is UTF-16); save it as UTF-8" in message
    assert "codec" not in message


# ----------------------------------------------------------------------- 5. wording


def test_a_config_key_typo_gets_the_nearest_key(tmp_path: Path) -> None:
    path = tmp_path / "config.toml"
    path.write_text("[restore]\naccept_unreadable_board = true\n")
    with pytest.raises(ConfigError) as caught:
        load_config(path, explicit=True)
    assert str(caught.value).endswith(
        "unknown key restore.accept_unreadable_board (did you mean "
        f"restore.accept_unreadable_boards?); see {example()}"
    )


def test_one_settled_interrupted_write_is_one_write(
    invoke: Invoke,
    scenario: Scenario,
    sb: Sandbox,
    tmp_path: Path,
    caplog: pytest.LogCaptureFixture,
) -> None:
    s = scenario
    plan = _plan(invoke, s, tmp_path / "plan.json")
    journal = tmp_path / "journals" / "j.jsonl"
    journal.parent.mkdir()  # a --journal is refused in a directory that is not there
    assert invoke("apply", str(plan), "--journal", str(journal), "-q").exit_code == 0
    lines = journal.read_text().splitlines()
    last = json.loads(lines[-1])
    assert last["status"] == "applied"
    pending = last | {"status": "pending", "at": "2025-11-02T00:00:00.000Z"}
    journal.write_text("\n".join([*lines, json.dumps(pending)]) + "\n")
    os.utime(journal, (0, 0))  # a run killed long ago: no write of it still in flight
    caplog.set_level(logging.INFO, logger="trello_restore.undo")
    with api_for(sb) as api:
        settled = resolve_earlier_journals(
            api, journal.parent, [last["board_id"]], fast_options(), lock_dir=tmp_path / "l"
        )
    assert settled == 1
    assert "1 interrupted write of an earlier run resolved" in caplog.text
