"""A run without a plan file never sets back what this tool's undo set back (the value kinds'
side of R33b; ``undone_values``). Over the command line against the sandbox.

The time machine (design.md §10) applied in one step, then undone: the undo writes the damaged
values back as the token's member, and the planner takes the apply and its undo for no later
work (a run of the token's member's changes that ends where it began). So a one-step run whose
``--since`` still covers the damage planned it all again, and ``--yes`` wrote it again without a
word: the undo was lost. So did a run with ``--by`` the token's member whose window holds the
undo but not the apply (a cron run after an ``undo``). Now both leave those changes out, with a
warning naming the journal and the two commands that set them back (a plan, then its apply);
a dry run keeps them and says so; and a journal that may hold such an undo and cannot be read
leaves out every change whose field the token's member changed last.
"""

from __future__ import annotations

import json
import logging
import re
import shlex
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from click.testing import Result

from trello_restore.errors import ExitCode
from trello_restore.journal import JournalRecord
from trello_restore.models import Evidence, MemberRef, ValueChange
from trello_restore.sandbox.scenario import Scenario, generate
from trello_restore.sandbox.truth import snapshot
from trello_restore.undo_others import Others
from trello_restore.undone_values import _set_back

from .conftest import Sandbox, SandboxFactory, configless_cli

_LEFT_OUT = re.compile(
    r"(\d+) values? of (\d+) cards?(?: and \d+ lists?)? (?:is|are) left out of this run: each "
    r"is what this tool's undo of journal (\S+) \(undone [^)]*\) set back, by the token's "
    r"member \(@(\w+)\)"
)
_KEPT = re.compile(r"this plan sets back (\d+) values? of .*: each is what this tool's undo")
_COMMAND = re.compile(
    r"plan them and apply the plan: (trello-restore .+?), then (trello-restore apply \S+)$"
)


def _world(
    sandbox_factory: SandboxFactory, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> tuple[Scenario, Sandbox, Callable[..., Result], Path]:
    """The scenario with the second damage (design.md §10.4) served, the command line pointed
    at it with a home of the test's; and the journals directory."""
    s = generate(51, 40, second_damage=True)
    sb = sandbox_factory(s, time_scale=100)
    invoke = configless_cli(sb, monkeypatch, tmp_path)
    home = tmp_path / "home"
    monkeypatch.setenv("TRELLO_RESTORE_HOME", str(home))
    monkeypatch.chdir(tmp_path)
    return s, sb, invoke, home / "state" / "journals"


def _values(s: Scenario) -> dict[Any, Any]:
    """The values the value kinds restore (not card members or board memberships)."""
    with s.world.lock:
        got = snapshot(s.world)
    return {k: v for k, v in got.items() if k[2] not in ("idMembers", "memberships")}


def _json(r: Result) -> dict[str, Any]:
    assert r.exit_code == ExitCode.OK, r.output
    out: dict[str, Any] = json.loads(r.stdout)
    return out


def _one(pattern: re.Pattern[str], warnings: list[str]) -> str:
    (said,) = [x for x in warnings if pattern.search(x)]
    return said


def test_a_one_step_run_after_an_undo_leaves_out_what_it_set_back_and_says_how_to_redo_it(
    sandbox_factory: SandboxFactory, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    s, sb, invoke, journals = _world(sandbox_factory, tmp_path, monkeypatch)
    assert s.second_damage_at is not None
    assert s.culprit is not None
    args = ("--board", s.team.id, "--since", s.second_damage_at.isoformat(),
            "--restore", "archived,list,fields", "--by", s.culprit.username)  # fmt: skip
    damaged = _values(s)
    first = _json(invoke(*args, "--yes", "--format", "json", "-q"))
    n = first["apply"]["applied"]
    assert n >= 3, first["apply"]
    restored = _values(s)
    assert restored != damaged
    (journal,) = journals.glob("*.jsonl")
    undone = invoke("undo", str(journal), "--yes", "-q")
    assert undone.exit_code == ExitCode.OK, undone.output
    assert _values(s) == damaged

    # A dry run keeps them in its plan and says a run that applies leaves them out.
    dry = _json(invoke(*args, "--dry-run", "--format", "json"))
    kept = _one(_KEPT, dry["warnings"])
    assert f"this plan sets back {n} values" in kept
    assert "a run that applies without a plan file (the one-step form) leaves them out" in kept
    assert len([c for c in dry["changes"] if c["action"] != "add_member_to_card"]) == n
    dry_skipped = len(dry["value_skipped"])
    memo = _json(invoke(*args, "--dry-run", "--format", "json"))  # the plan memo's plan
    assert kept in memo["warnings"]

    # The one-step run again: nothing set back, exit 0, and why.
    again = _json(invoke(*args, "--yes", "--format", "json", "-q"))
    assert _values(s) == damaged
    said = _one(_LEFT_OUT, again["warnings"])
    m = _LEFT_OUT.search(said)
    assert m is not None
    assert (int(m.group(1)), m.group(3), m.group(4)) == (n, str(journal), s.mover.username)
    assert again["plan"]["changes"] == 0, again["plan"]
    assert again["plan"]["value_skipped"] == dry_skipped + n
    assert "later --since last-run runs will not see them" in said
    # Nor does it say anything of the changes it leaves out (R49a: "the 15 cards moved back …
    # into it stay hidden" of a list archived since, by a run that moved none).
    target = next(c["value"] for c in dry["changes"] if c["action"] == "move_card_to_list")
    shut = sb.session().put(f"{sb.base_url}/lists/{target}/closed", params={"value": "true"})
    assert shut.status_code == 200, shut.text
    hidden = _json(invoke(*args, "--dry-run", "--format", "json"))["warnings"]
    assert [x for x in hidden if " is archived now: " in x], hidden
    quiet = _json(invoke(*args, "--yes", "--format", "json", "-q"))
    assert quiet["plan"]["changes"] == 0, quiet["plan"]
    assert not [x for x in quiet["warnings"] if " is archived now: " in x], quiet["warnings"]
    opened = sb.session().put(f"{sb.base_url}/lists/{target}/closed", params={"value": "false"})
    assert opened.status_code == 200, opened.text

    # The two commands it names set back exactly what the undo set back, and not the token's
    # member's own later work (R34c: a card they archived by hand after it was planned too).
    (by_hand,) = [k for k, v in damaged.items() if k[0] == "card" and k[2] == "closed" and not v][
        :1
    ]
    archived = sb.session().put(f"{sb.base_url}/cards/{by_hand[1]}", params={"closed": "true"})
    assert archived.status_code == 200, archived.text
    command = _COMMAND.search(said)
    assert command is not None
    planned = invoke(*shlex.split(command.group(1))[1:], "-q")
    assert planned.exit_code == ExitCode.OK, planned.output
    applied = invoke(*shlex.split(command.group(2))[1:], "-q")
    assert applied.exit_code == ExitCode.OK, applied.output
    assert _values(s) == {**restored, by_hand: True}

    # That plan's journal undone too: the next one-step run names it, the latest undo (R34c:
    # the first journal by path was named, with the other's date).
    (second,) = set(journals.glob("*.jsonl")) - {journal}
    assert invoke("undo", str(second), "--yes", "-q").exit_code == ExitCode.OK
    assert _values(s) == {**damaged, by_hand: True}
    last = _json(invoke(*args, "--yes", "--format", "json", "-q"))
    m = _LEFT_OUT.search(_one(_LEFT_OUT, last["warnings"]))
    assert m is not None
    assert (int(m.group(1)), m.group(3)) == (n, str(second))


def test_by_the_token_s_member_after_an_undo_leaves_out_the_undo_s_writes(
    sandbox_factory: SandboxFactory, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A window that holds the undo and not the apply, ``--by`` the token's member (an older
    cron config's mover): the undo's writes were planned as damage and set back."""
    s, _, invoke, journals = _world(sandbox_factory, tmp_path, monkeypatch)
    assert s.second_damage_at is not None
    assert s.culprit is not None
    kinds = ("--restore", "archived,list,fields")
    first = invoke("--board", s.team.id, "--since", s.second_damage_at.isoformat(), *kinds,
                   "--by", s.culprit.username, "--yes", "-q")  # fmt: skip
    assert first.exit_code == ExitCode.OK, first.output
    between = datetime.now(UTC)
    damaged_before = _values(s)
    (journal,) = journals.glob("*.jsonl")
    undone = invoke("undo", str(journal), "--yes", "-q")
    assert undone.exit_code == ExitCode.OK, undone.output
    damaged = _values(s)
    assert damaged != damaged_before
    args = ("--board", s.team.id, "--since", between.isoformat(), *kinds,
            "--by", s.mover.username)  # fmt: skip
    run = _json(invoke(*args, "--yes", "--format", "json", "-q"))
    assert _values(s) == damaged
    _one(_LEFT_OUT, run["warnings"])

    # A damaged line in the undo's journal: every change whose field the token's member
    # changed last is left out, naming the journal and why (it fails closed).
    lines = journal.read_text(encoding="utf-8").splitlines(keepends=True)
    journal.write_text("".join([*lines[:-1], "{not json\n"]), encoding="utf-8")
    blind = _json(invoke(*args, "--yes", "--format", "json", "-q"))
    assert _values(s) == damaged
    (warning,) = [x for x in blind["warnings"] if "left out of this run" in x]
    assert "a journal that may hold this tool's undo of them cannot be read" in warning
    assert str(journal) in warning
    # Not recorded as the last run while it cannot be read (R39c); as before, once it can.
    assert "this run is not recorded as the last run on these boards" in warning
    assert (run["last_run"]["recorded"], blind["last_run"]["recorded"]) == (True, False)
    assert (
        "as a journal that may hold that undo cannot be read" in blind["last_run"]["not_recorded"]
    )


_T = datetime(2026, 11, 2, 12, 0, tzinfo=UTC)
_APPLIED, _UNDONE = ("apply", "applied", 1, False), ("undo", "undone", 2, True)
_CHANGE = ValueChange(
    change_id="x1",
    action="set_card_closed",
    board_id="b",
    board_name="B",
    card_id="c",
    evidence=Evidence("field_update", "a1", _T, MemberRef("culprit")),
    field="closed",
    value=False,
    expected=True,
)


def _record(op: Any, status: Any, minutes: int, written: object) -> JournalRecord:
    at = (_T + timedelta(minutes=minutes)).isoformat().replace("+00:00", "Z")
    values = {"object_type": "card", "object_id": "c", "field": "closed", "written": written}
    return JournalRecord(
        "x1", op, "set_card_closed", status, "b", "", "c", at=at, values=values, skew_s=0
    )


@pytest.mark.parametrize(
    ("records", "set_back"),
    [
        # applied, then undone: the undo wrote back what the change expects.
        ((_APPLIED, ("undo", "pending", 2, True), _UNDONE), True),
        # an undo sent and never answered may have written it.
        ((_APPLIED, ("undo", "pending", 2, True)), True),
        # applied again after the undo (the plan file re-applied): that apply's, not the undo's.
        ((_APPLIED, _UNDONE, ("apply", "applied", 3, False)), False),
        # an undo that found the value already there wrote nothing.
        ((_APPLIED, ("undo", "already_satisfied", 2, True)), False),
        # an undo before the damage began is an earlier incident's.
        ((("apply", "applied", -9, False), ("undo", "undone", -8, True)), False),
        # an undo that wrote back another value is not what the change expects.
        ((("apply", "applied", 1, True), ("undo", "undone", 2, False)), False),
    ],
)  # fmt: skip
def test_which_undo_records_set_a_value_back(
    records: tuple[tuple[str, str, int, object], ...], set_back: bool
) -> None:
    got = _set_back(_CHANGE, [_record(*r) for r in records], timedelta(0)) is not None
    assert got is set_back


def test_a_journal_directory_that_cannot_be_looked_into_closes_the_guards_once(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    """R34c: a journal directory this user cannot list (mode 300) left the guards off; R34d:
    once closed, its warning came two and three times a run. The guards' reading puts it among
    what cannot be read (they say it, failing closed) and warns nothing itself; any other
    reading warns as before."""
    directory = tmp_path / "journals"
    directory.mkdir()
    real = Path.iterdir

    def refused(self: Path) -> Any:
        if self == directory:
            raise PermissionError(13, "Permission denied")
        return real(self)

    monkeypatch.setattr(Path, "iterdir", refused)
    guard = Others(directory / ".-", "http://x/1", "me", warn_unlisted=False)
    with caplog.at_level(logging.WARNING):
        assert guard.journals('"op": "undo"') == []
    assert guard.unreadable == {
        directory: f"cannot look into the journal directory {directory}: Permission denied"
    }
    assert not caplog.records
    other = Others(directory / ".-", "http://x/1", "me")
    with caplog.at_level(logging.WARNING):
        assert other.journals('"op": "undo"') == []
    assert not other.unreadable
    assert "cannot look into the journal directory" in caplog.text
