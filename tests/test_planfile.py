"""The plan file: shape and key order, atomic 0600 writes, and one-line errors for bad files."""

from __future__ import annotations

import copy
import importlib.metadata
import io
import json
import os
import stat
import zipfile
from dataclasses import replace
from datetime import UTC, datetime
from functools import cache
from importlib import resources
from pathlib import Path
from typing import Any

import pytest

from trello_restore.errors import InputFileError
from trello_restore.models import MemberRef, Plan
from trello_restore.parsing import load_json
from trello_restore.planfile import (
    PlanMeta,
    check_plan_out,
    digest_of,
    dumps,
    format_date,
    parse_date,
    plan_digest,
    plan_from_dict,
    plan_schema,
    plan_to_dict,
    read_plan,
    validate_plan,
    write_plan,
)
from trello_restore.planner import build_plan
from trello_restore.sandbox.scenario import generate

from .test_planner import _inputs
from .truthcheck import plan_options as _options

CREATED = datetime(2026, 11, 26, 10, 0, tzinfo=UTC)


@cache
def real_plan(seed: int = 1, cards: int = 20, name: str = "b") -> tuple[Plan, PlanMeta]:
    """The planner's plan for a sandbox scenario and reference option set, with its meta."""
    s = generate(seed, cards)
    history, state = _inputs(s)
    plan = build_plan(history, state, _options(s.truth(name).options))
    mover = s.mover
    meta = PlanMeta(
        tool_version="0.1.0",
        created_at=CREATED,
        api_url="https://api.trello.com/1",
        account=MemberRef(mover.id, mover.username),
        boards=tuple((bid, state.boards[bid].name) for bid in s.scope),
        source="api",
    )
    return plan, meta


def real_doc(name: str = "b") -> dict[str, Any]:
    """A fresh copy of the plan document for option set ``name`` (seed 1, 20 cards)."""
    return plan_to_dict(*real_plan(name=name))


class TestShape:
    """The document follows design.md §4, key for key and in order."""

    def test_top_level_and_inputs_key_order(self) -> None:
        """Top-level, inputs, filters and summary keys come in the documented order."""
        doc = real_doc()
        assert list(doc) == [
            "format",
            "format_version",
            "tool_version",
            "created_at",
            "api_url",
            "account",
            "inputs",
            "summary",
            "changes",
            "blocked",
            "skipped",
            "warnings",
            "incomplete",
        ]
        assert list(doc["inputs"]) == [
            "boards",
            "since",
            "until",
            "mode",
            "filters",
            "add_to_board",
            "board_role",
            "source",
        ]
        assert list(doc["inputs"]["filters"]) == [
            "removed_by",
            "cause",
            "only_recorded",
            "lists",
            "cards",
        ]
        assert list(doc["summary"]) == [
            "changes",
            "board_changes",
            "card_changes",
            "blocked",
            "skipped",
            "by_reason",
            "incomplete",
        ]

    def test_values_of_option_set_b(self) -> None:
        """Seed 1, option set b: header values, summary counts, grants first, dates with Z."""
        doc = real_doc()
        assert doc["format"] == "trello-restore-plan"
        assert doc["format_version"] == 1
        assert doc["created_at"] == "2026-11-26T10:00:00Z"
        assert doc["account"] == {"id": "656c4390cc9d4d848a011ca9", "username": "kenjin"}
        assert doc["inputs"]["boards"] == [
            {"id": "677b9b90cc9d4d848a011cb4", "name": "Team Board"},
            {"id": "6906f0facc9d4d848a011d53", "name": "Archive 2025"},
        ]
        assert doc["inputs"]["since"] == "2025-11-02T11:37:00Z"
        assert doc["inputs"]["add_to_board"] is True
        assert doc["summary"] == {
            "changes": 12,
            "board_changes": 3,
            "card_changes": 9,
            "blocked": 0,
            "skipped": 16,
            "by_reason": {
                "card_deleted": 2,
                "already_on_card": 1,
                "re_added_later": 1,
                "filtered": 8,
                "deactivated": 4,
            },
            "incomplete": 0,
        }
        actions = [c["action"] for c in doc["changes"]]
        assert actions == ["add_member_to_board"] * 3 + ["add_member_to_card"] * 9

    def test_card_and_board_change_entries(self) -> None:
        """A card change and a board change, exactly (millisecond evidence dates kept)."""
        doc = real_doc()
        assert doc["changes"][0] == {
            "change_id": "c-eb83d520c1bf2684",
            "action": "add_member_to_board",
            "board": {"id": "6906f0facc9d4d848a011d53", "name": "Archive 2025"},
            "member": {
                "id": "656c4390cc9d4d848a011cac",
                "username": "briane",
                "fullName": "Brian Erlandson",
            },
            "role": "normal",
            "precondition": {"member_on_board": False},
        }
        assert doc["changes"][3] == {
            "change_id": "c-87dd7f3eda9d71d3",
            "action": "add_member_to_card",
            "board": {"id": "6906f0facc9d4d848a011d53", "name": "Archive 2025"},
            "list": {"id": "677bd4fccc9d4d848a011cdd", "name": "Sprint 1"},
            "card": {
                "id": "681130e8cc9d4d848a011cff",
                "name": "Measure cache warmup #6",
                "shortLink": "PJ5LE98G",
            },
            "member": {
                "id": "656c4390cc9d4d848a011cac",
                "username": "briane",
                "fullName": "Brian Erlandson",
            },
            "evidence": {
                "kind": "recorded_removal",
                "action_id": "6907425ccc9d4d848a011d5e",
                "date": "2025-11-02T11:37:00.286Z",
                "by": {"id": "656c4390cc9d4d848a011ca9", "username": "kenjin"},
                "move_action_id": "6907425ccc9d4d848a011d5c",
            },
            "precondition": {"member_on_card": False, "member_on_board": False},
        }

    def test_blocked_and_skipped_entries(self) -> None:
        """Option set a: blocked entries wrap a card change; skipped entries name card and
        member."""
        doc = real_doc("a")
        assert doc["summary"]["blocked"] == len(doc["blocked"]) == 8
        assert {b["reason"] for b in doc["blocked"]} == {"not_board_member"}
        assert doc["blocked"][0]["change"]["action"] == "add_member_to_card"
        assert doc["skipped"][0] == {
            "card": {"id": "678e0bbbcc9d4d848a011cef", "name": "Fix search index #2"},
            "member": {"id": "656c4390cc9d4d848a011cab", "username": "umar"},
            "reason": "card_deleted",
            "action_id": "679577cfcc9d4d848a011cf3",
        }

    @pytest.mark.parametrize("name", ["a", "b", "c", "d", "e"])
    def test_every_reference_plan_validates_and_converts_back(self, name: str) -> None:
        """Each reference option set gives a valid document that converts back unchanged."""
        doc = real_doc(name)
        validate_plan(doc)
        assert plan_to_dict(*plan_from_dict(doc)) == doc

    def test_offline_plan_with_anonymised_ids(self) -> None:
        """An export plan has no account; ids like Trello's anonymised ones are accepted."""
        plan, _ = real_plan()
        offline = PlanMeta(
            tool_version="0.1.0",
            created_at=CREATED,
            api_url="https://api.trello.com/1",
            account=None,
            boards=(("fakeboardidhash", "Deck"),),
            source="export",
            warnings=("the export of Deck holds only its newest 1000 actions",),
        )
        doc = plan_to_dict(Plan(plan.options, (), (), (), incomplete=("hashcard7",)), offline)
        validate_plan(doc)
        assert doc["account"] is None
        assert doc["inputs"]["source"] == "export"
        assert doc["warnings"] == ["the export of Deck holds only its newest 1000 actions"]
        assert doc["incomplete"] == ["hashcard7"]
        assert doc["summary"]["incomplete"] == 1

    def test_no_credentials_anywhere(self) -> None:
        """The schema has no key or token field, and the scenario's credentials are not in
        the file."""
        s = generate(1, 20)
        text = dumps(real_doc())
        assert s.key not in text
        assert s.token not in text

        def names(node: Any) -> set[str]:
            if isinstance(node, dict):
                return set(node.get("properties", {})) | {
                    n for v in node.values() for n in names(v)
                }
            if isinstance(node, list):
                return {n for v in node for n in names(v)}
            return set()

        fields = names(plan_schema())
        assert "change_id" in fields
        assert not fields & {"key", "token", "api_key", "apiKey", "oauth_token"}


@pytest.mark.parametrize(
    ("when", "text"),
    [
        (datetime(2025, 11, 2, 11, 37, tzinfo=UTC), "2025-11-02T11:37:00Z"),
        (datetime(2025, 11, 2, 11, 37, 0, 286000, tzinfo=UTC), "2025-11-02T11:37:00.286Z"),
        (datetime(2025, 11, 2, 11, 37, 0, 286001, tzinfo=UTC), "2025-11-02T11:37:00.286001Z"),
        (datetime(2025, 11, 2, 11, 37), "2025-11-02T11:37:00Z"),
        (datetime.fromisoformat("2025-11-02T12:37:00+01:00"), "2025-11-02T11:37:00Z"),
    ],
)
def test_dates_are_utc_with_z(when: datetime, text: str) -> None:
    """Dates are written in UTC with a Z (naive ones taken as UTC) and read back."""
    assert format_date(when) == text
    assert parse_date(text) == when.replace(tzinfo=when.tzinfo or UTC)


class TestWrite:
    """write_plan: atomic, 0600, stable bytes, ``-`` for stdout."""

    def test_round_trip(self, tmp_path: Path) -> None:
        """Written and read back, the document is equal, keys in the same order, mode 0600."""
        doc = real_doc()
        path = tmp_path / "plan.json"
        write_plan(doc, path)
        back = plan_to_dict(*read_plan(path))
        assert back == doc
        assert json.dumps(back) == json.dumps(doc)  # same key order throughout
        assert stat.S_IMODE(path.stat().st_mode) == 0o600
        text = path.read_text(encoding="utf-8")
        assert text.startswith('{\n  "format": "trello-restore-plan",\n')
        assert text.endswith("}\n")

    def test_stable_bytes(self, tmp_path: Path) -> None:
        """The same plan written twice differs only in created_at."""
        plan, meta = real_plan()
        first, second = tmp_path / "1.json", tmp_path / "2.json"
        write_plan(plan_to_dict(plan, meta), first)
        later = replace(meta, created_at=datetime(2027, 1, 1, tzinfo=UTC))
        write_plan(plan_to_dict(plan, later), second)
        a, b = first.read_text().splitlines(), second.read_text().splitlines()
        assert [i for i, (x, y) in enumerate(zip(a, b, strict=True)) if x != y] == [4]
        assert b[4] == '  "created_at": "2027-01-01T00:00:00Z",'

    def test_overwrites_with_mode_0600(self, tmp_path: Path) -> None:
        """An existing, world-readable file is replaced by a 0600 one."""
        path = tmp_path / "plan.json"
        path.write_text("old")
        path.chmod(0o644)
        write_plan(real_doc(), path)
        assert stat.S_IMODE(path.stat().st_mode) == 0o600
        assert plan_to_dict(*read_plan(path)) == real_doc()

    def test_names_stay_readable(self, tmp_path: Path) -> None:
        """Non-ASCII names are written as UTF-8 text, not escapes."""
        doc = real_doc()
        doc["changes"][3]["card"]["name"] = "Café ☕"
        path = tmp_path / "plan.json"
        write_plan(doc, path)
        assert '"name": "Café ☕"' in path.read_text(encoding="utf-8")

    def test_dash_writes_stdout(
        self, tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
    ) -> None:
        """``-`` writes the same text to stdout and creates no file."""
        monkeypatch.chdir(tmp_path)
        write_plan(real_doc(), "-")
        out = capsys.readouterr().out
        assert out == dumps(real_doc())
        assert list(tmp_path.iterdir()) == []

    def _fail(self, *args: object, **kwargs: object) -> None:
        raise OSError(28, "No space left on device")

    @pytest.mark.parametrize("where", ["os.replace", "os.fsync"])
    def test_failure_mid_write_leaves_target_untouched(
        self, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, where: str
    ) -> None:
        """A failing fsync or rename: InputFileError, the old file intact, no temp file left."""
        path = tmp_path / "plan.json"
        path.write_text("previous plan\n")
        monkeypatch.setattr(where, self._fail)
        with pytest.raises(InputFileError) as info:
            write_plan(real_doc(), path)
        assert str(info.value) == (
            f"cannot write plan {path}: No space left on device; nothing was written"
        )
        assert path.read_text() == "previous plan\n"
        assert [p.name for p in tmp_path.iterdir()] == ["plan.json"]

    def test_failure_to_serialise_writes_nothing(
        self, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        """A document that cannot be serialised (a bug) raises before any file is touched."""

        def broken(*args: object, **kwargs: object) -> str:
            raise TypeError("Object of type set is not JSON serializable")

        path = tmp_path / "plan.json"
        path.write_text("previous plan\n")
        monkeypatch.setattr("json.dumps", broken)
        with pytest.raises(TypeError):
            write_plan(real_doc(), path)
        assert path.read_text() == "previous plan\n"
        assert [p.name for p in tmp_path.iterdir()] == ["plan.json"]

    def test_interrupt_mid_write_removes_temp(
        self, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        """Ctrl-C during the write: the temp file goes, the interrupt goes on."""

        def interrupted(fd: int) -> None:
            raise KeyboardInterrupt

        monkeypatch.setattr("os.fsync", interrupted)
        with pytest.raises(KeyboardInterrupt):
            write_plan(real_doc(), tmp_path / "plan.json")
        assert list(tmp_path.iterdir()) == []

    def test_directory_fsync_failure_is_not_an_error(
        self, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        """The file is in place once renamed; a directory that cannot be fsynced is fine."""
        real_fsync = os.fsync

        def no_dir_fsync(fd: int) -> None:
            if stat.S_ISDIR(os.fstat(fd).st_mode):
                raise OSError(22, "Invalid argument")
            real_fsync(fd)

        monkeypatch.setattr("os.fsync", no_dir_fsync)
        write_plan(real_doc(), tmp_path / "plan.json")
        assert plan_to_dict(*read_plan(tmp_path / "plan.json")) == real_doc()

    def test_stdout_failure(self, monkeypatch: pytest.MonkeyPatch) -> None:
        """A closed pipe on stdout is the OSError of the command's output, which the command
        line says as such (``cli_exit.exit_output_failed``: a dry run's reader that went away
        ends it quietly, exit 0, as ``--format json`` does: R44a), not a bad input file."""

        class ClosedPipe(io.StringIO):
            def write(self, text: str) -> int:
                raise BrokenPipeError(32, "Broken pipe")

        monkeypatch.setattr("sys.stdout", ClosedPipe())
        with pytest.raises(BrokenPipeError):
            write_plan(real_doc(), "-")

    def test_card_change_without_evidence_is_a_bug(self) -> None:
        """plan_to_dict refuses a card change the planner would never make."""
        plan, meta = real_plan()
        bad = replace(plan, changes=(replace(plan.changes[3], evidence=None),))
        with pytest.raises(ValueError, match="has no evidence"):
            plan_to_dict(bad, meta)

    def test_missing_directory(self, tmp_path: Path) -> None:
        """A plan path in a directory that does not exist says so."""
        path = tmp_path / "nope" / "plan.json"
        with pytest.raises(InputFileError) as info:
            write_plan(real_doc(), path)
        assert str(info.value) == (
            f"cannot write plan {path}: directory {path.parent} does not exist; create it first"
        )

    def test_target_is_a_directory(self, tmp_path: Path) -> None:
        """A plan path that is a directory says so, and leaves no temp file."""
        (tmp_path / "plan.json").mkdir()
        with pytest.raises(InputFileError) as info:
            write_plan(real_doc(), tmp_path / "plan.json")
        assert str(info.value).endswith("it is a directory; give a file name")
        assert [p.name for p in tmp_path.iterdir()] == ["plan.json"]

    def test_permission_error_message(
        self, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        """A directory the user may not write to (root may, so the error is simulated) names
        the directory and what to do."""

        def denied(*args: object, **kwargs: object) -> None:
            raise PermissionError(13, "Permission denied")

        monkeypatch.setattr("tempfile.mkstemp", denied)
        with pytest.raises(InputFileError) as info:
            write_plan(real_doc(), tmp_path / "plan.json")
        assert str(info.value) == (
            f"cannot write plan {tmp_path / 'plan.json'}: directory {tmp_path} is not "
            "writable; choose another --plan-out path"
        )


def _refused(path: Path) -> str:
    """The line ``write_plan`` refuses ``path`` with."""
    with pytest.raises(InputFileError) as info:
        write_plan(real_doc(), path)
    return str(info.value)


class TestPlanOut:
    """Where a plan may go, checked before a run reads anything (``check_plan_out``)."""

    def test_never_over_a_fifo_or_a_link(self, tmp_path: Path) -> None:
        """A FIFO (or a device: ``/dev/null`` as root was replaced by the plan, R36a) is
        refused and left as it is; so is a link, to a FIFO or to a file (``/dev/stdout`` is
        a link to ``/proc/self/fd/1``, a file when stdout is: R36e, the link was replaced)."""
        fifo = tmp_path / "fifo"
        os.mkfifo(fifo)
        assert _refused(fifo) == (
            f"cannot write plan {fifo}: it is not a regular file (a device, a FIFO or a "
            "socket); choose another --plan-out path, or - for stdout"
        )
        kept = tmp_path / "kept.json"
        kept.write_text("mine\n")
        for name, to in (("to-fifo", fifo), ("to-file", kept)):
            link = tmp_path / name
            link.symlink_to(to)
            assert _refused(link) == (
                f"cannot write plan {link}: it is a symbolic link; give the path of the file "
                "itself, or - for stdout"
            )
            assert link.is_symlink()
        assert stat.S_ISFIFO(fifo.stat().st_mode)
        assert kept.read_text() == "mine\n"
        assert sorted(p.name for p in tmp_path.iterdir()) == [
            "fifo",
            "kept.json",
            "to-fifo",
            "to-file",
        ]

    def test_checked_alone(self, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
        """Stdout and a new file in a writable directory pass; a directory that is not
        writable (root may write anywhere, so simulated) is said as the write would say it."""
        check_plan_out("-")
        check_plan_out(tmp_path / "new.json")
        assert list(tmp_path.iterdir()) == []
        # Only that directory (R62b: the message names the topmost one this user cannot use).
        monkeypatch.setattr(os, "access", lambda path, *_, **__: Path(path) != tmp_path)
        with pytest.raises(InputFileError) as info:
            check_plan_out(tmp_path / "new.json")
        assert str(info.value) == (
            f"cannot write plan {tmp_path / 'new.json'}: directory {tmp_path} is not writable; "
            "choose another --plan-out path"
        )


def _mutate(doc: dict[str, Any], change: str) -> None:
    """Hand edits that make a plan invalid."""
    if change == "wrong type":
        doc["changes"][3]["precondition"]["member_on_card"] = "no"
    elif change == "a field this version does not know":
        doc["review_note"] = "ok"
    elif change == "unknown action":
        doc["changes"][3]["action"] = "add_member_to_list"
    elif change == "duplicate change_id":
        doc["changes"][4]["change_id"] = doc["changes"][3]["change_id"]
    elif change == "duplicate write":
        for key in ("card", "list", "member"):
            doc["changes"][4][key] = doc["changes"][3][key]
    elif change == "summary off":
        doc["summary"]["changes"] = 11
    elif change == "card change before its grant":
        doc["changes"] = doc["changes"][1:] + doc["changes"][:1]
    elif change == "grant without add_to_board":
        doc["inputs"]["add_to_board"] = False
    elif change == "unblocked without add_to_board":
        doc["changes"] = doc["changes"][3:]
        doc["inputs"]["add_to_board"] = False
    elif change == "member id under another's username":
        doc["changes"][5]["member"]["id"] = doc["changes"][0]["member"]["id"]
    elif change == "username under another id":
        doc["changes"][5]["member"]["username"] = doc["changes"][0]["member"]["username"]
    elif change == "id with a path":
        doc["changes"][3]["card"]["id"] = "../../boards/x"


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (
            "wrong type",
            "does not match the plan schema at $.changes[3].precondition.member_on_card: "
            '"no" is not of type "boolean"; it may have been edited by hand, '
            "make it again with --plan-out",
        ),
        (
            # R47a: a newer version's plan (clock_skew_s, to the versions before it) was
            # "edited by hand", and the advice to make it again undid the review.
            "a field this version does not know",
            "does not match the plan schema at $: Additional properties are not allowed "
            '("review_note" was unexpected); it may have been edited by hand or made by a newer '
            "trello-restore (then upgrade trello-restore), make it again with --plan-out",
        ),
        (
            "unknown action",
            'does not match the plan schema at $.changes[3].action: "add_member_to_list" is not '
            'one of ["add_member_to_card", "add_member_to_board"]; it may have been edited by '
            "hand, make it again with --plan-out",
        ),
        (
            "duplicate change_id",
            "is inconsistent: change_id c-87dd7f3eda9d71d3 appears twice; it may have been "
            "edited by hand, make it again with --plan-out",
        ),
        (
            "duplicate write",
            "is inconsistent: $.changes[4] writes what $.changes[3] writes; it may have been "
            "edited by hand, make it again with --plan-out",
        ),
        (
            "summary off",
            "is inconsistent: summary.changes is 11 but the plan has 12; if you deleted "
            "entries by hand, set those counts to what the plan has, else make it again with "
            "--plan-out",
        ),
        (
            "card change before its grant",
            "is inconsistent: $.changes[2] adds @briane to a card before granting board "
            "membership (a grant deleted by hand? delete that member's card adds on board "
            '"Archive 2025" (6906f0facc9d4d848a011d53) too, or put the grant back before them); '
            "it may have been edited by hand, make it "
            "again with --plan-out",
        ),
        (
            "grant without add_to_board",
            "is inconsistent: $.changes[0] grants board membership but add_to_board is false; "
            "it may have been edited by hand, make it again with --plan-out",
        ),
        (
            "unblocked without add_to_board",
            "is inconsistent: $.changes[0] adds a member who is not on the board but "
            "add_to_board is false (it should be blocked); it may have been edited by hand, "
            "make it again with --plan-out",
        ),
        (
            "member id under another's username",
            "is inconsistent: $.changes[5] names member @umar (656c4390cc9d4d848a011cac), "
            "$.changes[0] the same id otherwise; it may have been edited by hand, make it "
            "again with --plan-out",
        ),
        (
            "username under another id",
            "is inconsistent: $.changes[5] names member @briane (656c4390cc9d4d848a011cab), "
            "$.changes[0] the same username otherwise; it may have been edited by hand, make it "
            "again with --plan-out",
        ),
        (
            "id with a path",
            'does not match the plan schema at $.changes[3].card.id: "../../boards/x" does not '
            'match "^[0-9A-Za-z_-]{1,64}$"; it may have been edited by hand, '
            "make it again with --plan-out",
        ),
    ],
)
def test_hand_edited_plans_are_refused(tmp_path: Path, change: str, message: str) -> None:
    """A hand-edited plan names the first problem (with its JSON path) in one line."""
    doc = copy.deepcopy(real_doc())
    _mutate(doc, change)
    path = tmp_path / "plan.json"
    path.write_text(json.dumps(doc, indent=2))
    with pytest.raises(InputFileError) as info:
        read_plan(path)
    assert str(info.value) == f"plan file {path} {message}"


@pytest.mark.parametrize("constant", ["NaN", "Infinity", "-Infinity"])
def test_a_number_json_has_not_is_refused_where_it_is(tmp_path: Path, constant: str) -> None:
    """``NaN`` (or an infinity) typed into a plan is refused, naming its real line and column
    (R57b: always "at line 1, column 1", in a plan of thousands of lines), and not taken for
    the word inside a string before it."""
    doc = copy.deepcopy(real_doc())
    doc["tool_version"] = f"{constant} inside a string"
    doc["clock_skew_s"] = 0.5
    text = json.dumps(doc, indent=2).replace('"clock_skew_s": 0.5', f'"clock_skew_s": {constant}')
    line = next(n for n, x in enumerate(text.splitlines(), 1) if x.strip().startswith('"clock_'))
    path = tmp_path / "plan.json"
    path.write_text(text)
    with pytest.raises(InputFileError) as info:
        read_plan(path)
    assert f"({constant} is not a JSON value, at line {line}, column 19)" in str(info.value)


@pytest.mark.parametrize("encoding", ["utf-8-sig", "utf-16", "utf-32-le"])
def test_a_number_json_has_not_is_placed_in_any_encoding_json_reads(encoding: str) -> None:
    """The column of a ``NaN`` is counted in the text the decoder read: after a byte order
    mark, and in UTF-16 or UTF-32, which it detects (R58a: one column too far right after a
    BOM; at line 1, column 1 in UTF-16)."""
    data = '{"a": NaN,\n "b": 1}'.encode(encoding)
    with pytest.raises(json.JSONDecodeError) as info:
        load_json(data)
    where = (info.value.msg, info.value.lineno, info.value.colno)
    assert where == ("NaN is not a JSON value", 1, 7)


def test_an_impossible_date_is_refused(tmp_path: Path) -> None:
    """A date the schema's pattern lets through but no calendar has (month 13) is one line,
    not a crash: the plan is parsed into typed values before it is applied."""
    doc = copy.deepcopy(real_doc())
    doc["changes"][3]["evidence"]["date"] = "2025-13-02T11:37:00Z"
    path = tmp_path / "plan.json"
    path.write_text(json.dumps(doc, indent=2))
    with pytest.raises(InputFileError) as info:
        read_plan(path)
    assert str(info.value).startswith(f"plan file {path} holds an impossible date (")
    assert str(info.value).endswith(
        "); it may have been edited by hand, make it again with --plan-out"
    )


def _newer(path: Path) -> None:
    doc = real_doc()
    doc["format_version"] = 3
    doc["new_field"] = "from the future"
    path.write_text(json.dumps(doc))


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (None, "plan file {p} does not exist; check the path"),
        ("dir", "plan file {p} is a directory; give the plan's file name"),
        ("", "plan file {p} is empty; make it again with --plan-out"),
        (
            '{"format": "trello-restore-plan",\n  "changes": [,]}',
            "plan file {p} is not valid JSON (no value where one is expected, at line 2, "
            "column 15)",
        ),
        (
            "plan:\n  - a\n",
            "plan file {p} is not valid JSON (no value where one is expected, at line 1, column 1)",
        ),
        (  # R51a: a reviewer reads the first of two values, the tool would take the last
            '{"format": "trello-restore-plan", "api_url": "http://x", "api_url": "http://y"}',
            'plan file {p} is not a plan this tool wrote (the key "api_url" is given twice in one '
            "object): remove the one you did not mean, or make it again with --plan-out",
        ),
        (b"\xff\xfe{}", "plan file {p} is not valid JSON (not UTF-8 text: it is UTF-16); save "),
        # R60d: without a byte order mark, UTF-16 and UTF-32 are valid UTF-8 (their NULs too)
        (
            '{"a": 1}'.encode("utf-16-le"),
            "plan file {p} is not valid JSON (not UTF-8 text: it is "
            "UTF-16); save it as UTF-8 in your editor",
        ),
        (
            '{"a": 1}'.encode("utf-32-be"),
            "plan file {p} is not valid JSON (not UTF-8 text: it is "
            "UTF-32); save it as UTF-8 in your editor",
        ),
        (b"{\xc3(}", "plan file {p} is not valid JSON (not UTF-8 text); make it again with "),
        (  # R61a: zeros (a crash) are no UTF-16 or UTF-32 text to save as UTF-8
            bytes(8192),
            "plan file {p} is not valid JSON (no value where one is expected, at line 1, column 1)",
        ),
        ("truncated", "plan file {p} is truncated (it ends at line 30); make it again with "),
        ("[1, 2]", 'plan file {p} is not a trello-restore plan (no "format": '),
        ('{"format": "terraform-plan"}', 'plan file {p} is not a trello-restore plan (no "fo'),
        (
            _newer,
            "plan file {p} was made by a newer trello-restore (format_version 3); this "
            "trello-restore reads only format_version 1 and 2: upgrade trello-restore to use it",
        ),
        (
            '{"format": "trello-restore-plan", "format_version": 0}',
            "plan file {p} has format_version 0, which no trello-restore writes; "
            "make it again with --plan-out",
        ),
        (
            '{"format": "trello-restore-plan", "format_version": true}',
            "plan file {p} has format_version true, which no trello-restore writes; ",
        ),
        (
            '{"format": "trello-restore-plan"}',
            "plan file {p} has no format_version; make it again with --plan-out",
        ),
    ],
    ids=[
        "missing",
        "directory",
        "empty",
        "not-json",
        "yaml",
        "key-twice",
        "utf16",
        "utf16-no-bom",
        "utf32-no-bom",
        "not-utf8",
        "zeros",
        "truncated",
        "array",
        "wrong-format",
        "format-version-2",
        "format-version-0",
        "format-version-true",
        "no-format-version",
    ],
)
def test_bad_files_give_one_line_errors(tmp_path: Path, content: Any, message: str) -> None:
    """Every kind of bad plan file is an InputFileError whose one line says what is wrong."""
    path = tmp_path / "plan.json"
    if content == "dir":
        path.mkdir()
    elif content == "truncated":
        path.write_text(dumps(real_doc())[:700])
    elif callable(content):
        content(path)
    elif isinstance(content, bytes):
        path.write_bytes(content)
    elif content is not None:
        path.write_text(content)
    with pytest.raises(InputFileError) as info:
        read_plan(path)
    text = str(info.value)
    assert "\n" not in text
    assert text.startswith(message.format(p=path))


def test_a_plan_from_stdin_is_said_to_be_read_from_a_file_only(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """R42a: ``apply -`` said "plan file - does not exist", though ``--plan-out -`` writes one."""
    monkeypatch.chdir(tmp_path)
    with pytest.raises(InputFileError, match=r"^apply reads its plan from a file, not from stdin"):
        read_plan("-")


def test_unreadable_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A file that cannot be read (as an unprivileged user meets it) says why."""

    def denied(path: Path) -> bytes:
        raise PermissionError(13, "Permission denied")

    path = tmp_path / "plan.json"
    write_plan(real_doc(), path)
    monkeypatch.setattr("trello_restore.planfile.read_named", denied)
    with pytest.raises(InputFileError) as info:
        read_plan(path)
    assert str(info.value) == f"cannot read plan file {path}: Permission denied"


def test_long_schema_messages_stay_on_one_line(tmp_path: Path) -> None:
    """A whole object quoted in a schema message is cut to one short line."""
    doc = real_doc()
    doc["blocked"] = [{"change": {**doc["changes"][3], "note": "x\ny"}, "reason": "other"}]
    doc["summary"]["blocked"] = 1
    path = tmp_path / "plan.json"
    path.write_text(json.dumps(doc))
    with pytest.raises(InputFileError) as info:
        read_plan(path)
    assert "\n" not in str(info.value)
    assert len(str(info.value)) < 400


class TestSchema:
    """The schema ships inside the package and is strict."""

    @pytest.mark.parametrize("version", [1, 2])
    def test_schema_is_package_data(self, version: int) -> None:
        """importlib.resources finds each version's schema next to the code."""
        name = f"schema/plan-v{version}.schema.json"
        schema_file = resources.files("trello_restore").joinpath(name)
        assert schema_file.is_file()
        schema = json.loads(schema_file.read_text("utf-8"))
        assert schema["$schema"] == "https://json-schema.org/draft/2020-12/schema"
        assert schema == plan_schema(version)

    def test_schema_is_in_the_distribution(self, tmp_path: Path) -> None:
        """The installed distribution (or, for an editable install, a freshly built wheel)
        holds the schema, and config.example.toml, which the config errors point to (R71c)."""
        wanted = {f"trello_restore/schema/plan-v{v}.schema.json" for v in (1, 2)}
        wanted.add("trello_restore/config.example.toml")
        files = [str(f) for f in importlib.metadata.files("trello-restore") or []]
        if any(f.startswith("trello_restore/") for f in files):
            assert wanted <= set(files)
            return
        wheel = pytest.importorskip("hatchling.builders.wheel")
        root = Path(__file__).resolve().parents[1]
        built = next(iter(wheel.WheelBuilder(str(root)).build(directory=str(tmp_path))))
        with zipfile.ZipFile(built) as zf:
            assert wanted <= set(zf.namelist())

    def test_extra_keys_are_refused_everywhere(self) -> None:
        """additionalProperties is false on every object the plan defines (a dispatcher on
        ``action`` defers to the schemas it picks)."""

        def objects(node: Any) -> list[dict[str, Any]]:
            if isinstance(node, dict):
                here = [node] if node.get("type") == "object" else []
                return here + [o for v in node.values() for o in objects(v)]
            if isinstance(node, list):
                return [o for v in node for o in objects(v)]
            return []

        found = objects(plan_schema())
        assert len(found) > 10
        for obj in found:
            closed = obj.get("additionalProperties") is False
            assert closed or "propertyNames" in obj or "if" in obj, obj


class TestDigest:
    """plan_digest names the decisions, not the moment."""

    def test_ignores_created_at_and_tool_version(self) -> None:
        """Same decisions at another time, by another version: same digest."""
        doc, other = real_doc(), real_doc()
        other["created_at"] = "2030-01-01T00:00:00Z"
        other["tool_version"] = "9.9.9"
        assert plan_digest(doc) == plan_digest(other)
        assert len(plan_digest(doc)) == 64

    def test_changes_with_the_decisions(self) -> None:
        """Removing a change, or planning for another API URL, gives another digest."""
        doc = real_doc()
        fewer = real_doc()
        del fewer["changes"][-1]
        elsewhere = real_doc()
        elsewhere["api_url"] = "http://127.0.0.1:8080/1"
        digests = {plan_digest(doc), plan_digest(fewer), plan_digest(elsewhere)}
        assert len(digests) == 3

    def test_survives_a_round_trip(self, tmp_path: Path) -> None:
        """The digest of a plan read from its file equals the digest of the written one."""
        doc = real_doc()
        write_plan(doc, tmp_path / "plan.json")
        assert digest_of(*read_plan(tmp_path / "plan.json")) == plan_digest(doc)


def test_the_atomic_write_helper(tmp_path: Path) -> None:
    """``fsutil.write_atomic``: the file is whole and 0600; exclusive creation refuses an
    existing file and leaves it as it was; no temporary file is left either way."""
    from trello_restore.fsutil import write_atomic

    path = tmp_path / "state.json"
    write_atomic(path, "first\n", prefix=".state-")
    write_atomic(path, "second\n", prefix=".state-")
    assert path.read_text() == "second\n"
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    with pytest.raises(FileExistsError):
        write_atomic(path, "third\n", prefix=".state-", exclusive=True)
    write_atomic(tmp_path / "new.json", "made\n", prefix=".new-", exclusive=True)
    assert path.read_text() == "second\n"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["new.json", "state.json"]


def test_the_file_escapes_control_and_format_characters_as_json_does() -> None:
    """R39a: ``--plan-out -`` wrote a name's C1 control (U+009B, CSI to some terminals) and
    right-to-left override raw; JSON escapes them now (the same document), and keeps the
    other non-ASCII names as they are."""
    doc: Any = {
        "name": "Ar\u202echive \x9b2J \u00e9t\u00e9 \U000e0020 \u6771\u4eac",
        "n": [1, "\n"],
    }
    text = dumps(doc)
    assert '"Ar\\u202echive \\u009b2J \u00e9t\u00e9 \\udb40\\udc20 \u6771\u4eac"' in text
    assert json.loads(text) == doc
    assert text.endswith("]\n}\n")
