"""Undo's question says which apply it reverses and what its count is made of (task Q23), in
process with a fake terminal.

``undo J`` asked ``Undo N changes on Trello?`` with nothing before it: no journal date, no
boards, no split of N, so with several journals in the directory the question could not tell
which apply it was about. And since f09d00f ``undo J2`` also removes the board memberships
another journal J1 granted that J1's undo kept for J2's cards, but its count left them out.
Now one line says which apply (the journal's date, its boards by the names its records keep),
one what N is made of, other journals' grants included in N; with -q the question carries it
alone."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import pytest

from trello_restore import cli
from trello_restore.errors import ExitCode, InputFileError
from trello_restore.journal import Journal, JournalHeader, JournalRecord

from .conftest import SandboxFactory, cli_invoker
from .test_undo_two_journals import BOARDS, _two_runs, _undo

API, ACCOUNT = "http://127.0.0.1:9/1", "me0000000000000000000001"
BOARD, MEMBER = "b00000000000000000000001", "m00000000000000000000001"
OTHER_BOARD = "b00000000000000000000002"
CARD, GRANT, CLOSED = "add_member_to_card", "add_member_to_board", "set_card_closed"


def _journal(path: Path, created_at: str, records: list[JournalRecord]) -> Path:
    header = JournalHeader(
        plan_digest=path.stem.ljust(64, "0"), api_url=API, account_id=ACCOUNT, created_at=created_at
    )
    with Journal.open(path, header) as journal:
        journal.append_many(records)
    return path


def _rec(cid: str, action: str, board: str, card: str = "", **kw: Any) -> JournalRecord:
    return JournalRecord(cid, "apply", action, "applied", board, MEMBER, card, **kw)


def _closed(cid: str, card: str, board_name: str) -> JournalRecord:
    values = {"object_type": "card", "object_id": card, "field": "closed", "seen": True,
              "written": False, "names": {"board": board_name, "card": "Spec"}}  # fmt: skip
    return _rec(cid, CLOSED, BOARD, card, values=values)


@pytest.fixture(name="journals")
def journals_fixture(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> tuple[Path, Path]:
    """J1 granted MEMBER board membership of BOARD and put them on card c1; its undo took them
    off c1 and kept the grant for J2's cards. J2 (made later) put MEMBER on c2 and c3, unarchived
    a card of BOARD (whose record keeps the board's name) and touched OTHER_BOARD."""
    d = tmp_path / "journals"
    d.mkdir()
    role = {"object_type": "board", "object_id": BOARD, "field": "role", "seen": None,
            "written": "normal"}  # fmt: skip
    j1 = _journal(d / "plan-a.jsonl", "2025-11-02T01:58:07.250Z", [
        _rec("g1", GRANT, BOARD, values=role),
        _rec("k1", CARD, BOARD, "c1"),
        JournalRecord("k1", "undo", CARD, "undone", BOARD, MEMBER, "c1"),
        JournalRecord("g1", "undo", GRANT, "drifted", BOARD, MEMBER, values=role),
    ])  # fmt: skip
    j2 = _journal(d / "plan-b.jsonl", "2025-11-02T02:04:31.000Z", [
        _rec("k2", CARD, BOARD, "c2"),
        _rec("k3", CARD, BOARD, "c3"),
        _closed("v1", "c9", "Team"),
        _rec("k4", CARD, OTHER_BOARD, "c4"),
    ])  # fmt: skip
    for name, value in {"TRELLO_API_URL": API, "TRELLO_API_KEY": "k" * 32,
                        "TRELLO_TOKEN": "t" * 64}.items():  # fmt: skip
        monkeypatch.setenv(name, value)
    monkeypatch.setattr(cli, "_stdin_is_terminal", lambda: True)
    return j1, j2


def test_the_question_names_the_apply_and_counts_the_other_journals_grants(
    journals: tuple[Path, Path], monkeypatch: pytest.MonkeyPatch
) -> None:
    """The lines before the question: the journal's date and boards, and what the count is;
    J1's grant kept for J2's cards is counted (3 card members + 1 value + 1 grant: 5, not 4)."""
    j1, j2 = journals
    r = cli_invoker(monkeypatch)("undo", str(j2), input="n\n")
    assert r.exit_code == ExitCode.OK, r.output
    assert r.stderr.splitlines()[-3:] == [
        f'Journal of the apply of 2025-11-02 02:04:31 UTC on boards "Team" ({BOARD}) and '
        f"{OTHER_BOARD}.",
        "To undo: 3 card members to remove, 1 card archive state to put back, and 1 board "
        f"membership journal {j1} granted to remove (its undo kept it for this journal's "
        "cards).",
        "Undo 5 changes on Trello? [y/N]: n",
    ]
    assert r.stdout == "Nothing was changed.\n"


def test_a_journal_applied_again_after_its_undo_says_when(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """R48c: applied, undone, applied again: the question named the first apply's date alone,
    which read as an undo of the older run."""
    at = "2025-11-02T03:10:00.000Z"
    j = _journal(tmp_path / "plan-c.jsonl", "2025-11-02T02:04:31.000Z", [
        _rec("k2", CARD, BOARD, "c2"),
        JournalRecord("k2", "undo", CARD, "undone", BOARD, MEMBER, "c2"),
        JournalRecord("k2", "apply", CARD, "pending", BOARD, MEMBER, "c2", at=at),
        JournalRecord("k2", "apply", CARD, "applied", BOARD, MEMBER, "c2"),
    ])  # fmt: skip
    for name, value in {"TRELLO_API_URL": API, "TRELLO_API_KEY": "k" * 32,
                        "TRELLO_TOKEN": "t" * 64}.items():  # fmt: skip
        monkeypatch.setenv(name, value)
    monkeypatch.setattr(cli, "_stdin_is_terminal", lambda: True)
    r = cli_invoker(monkeypatch)("undo", str(j), input="n\n")
    assert r.exit_code == ExitCode.OK, r.output
    assert r.stderr.splitlines()[-3] == (
        "Journal of the apply of 2025-11-02 02:04:31 UTC, applied again 2025-11-02 03:10:00 "
        f"UTC, on board {BOARD}."
    )
    # R49a: and when an undo of that apply was stopped part way, what is left is still its;
    # the latest apply again, of several (R50d).
    k = _journal(tmp_path / "plan-d.jsonl", "2025-11-02T02:04:31.000Z", [
        _rec("k2", CARD, BOARD, "c2"),
        _rec("k3", CARD, BOARD, "c3"),
        JournalRecord("k2", "undo", CARD, "undone", BOARD, MEMBER, "c2"),
        JournalRecord("k3", "undo", CARD, "undone", BOARD, MEMBER, "c3"),
        JournalRecord("k2", "apply", CARD, "applied", BOARD, MEMBER, "c2"),
        JournalRecord("k3", "apply", CARD, "applied", BOARD, MEMBER, "c3"),
        JournalRecord("k2", "undo", CARD, "undone", BOARD, MEMBER, "c2"),
        JournalRecord("k3", "undo", CARD, "undone", BOARD, MEMBER, "c3"),
        JournalRecord("k2", "apply", CARD, "applied", BOARD, MEMBER, "c2", at=at),
        JournalRecord("k3", "apply", CARD, "applied", BOARD, MEMBER, "c3"),
        JournalRecord("k2", "undo", CARD, "undone", BOARD, MEMBER, "c2"),
    ])  # fmt: skip
    r = cli_invoker(monkeypatch)("undo", str(k), input="n\n")
    assert r.exit_code == ExitCode.OK, r.output
    assert r.stderr.splitlines()[-3] == (
        "Journal of the apply of 2025-11-02 02:04:31 UTC, applied again 2025-11-02 03:10:00 "
        f"UTC, on board {BOARD}."
    )
    assert r.stderr.splitlines()[-1] == "Undo 1 change on Trello? [y/N]: n"


def test_quiet_question_carries_it_alone(
    journals: tuple[Path, Path], monkeypatch: pytest.MonkeyPatch
) -> None:
    """-q: no lines before; the question itself says which apply and what it undoes."""
    j1, _ = journals
    r = cli_invoker(monkeypatch)("undo", str(j1), "-q", "--include-board-memberships", input="n\n")
    assert r.exit_code == ExitCode.OK, r.output
    assert r.stderr == (
        f"Undo 1 change on Trello (the apply of 2025-11-02 01:58:07 UTC on board {BOARD}: "
        "1 board membership to remove)? [y/N]: n\n"
    )


def test_json_keeps_its_output(
    journals: tuple[Path, Path], monkeypatch: pytest.MonkeyPatch
) -> None:
    """--format json: the lines and the question on stderr, stdout the declined summary alone."""
    _, j2 = journals
    r = cli_invoker(monkeypatch)("undo", str(j2), "--format", "json", input="n\n")
    assert r.exit_code == ExitCode.OK, r.output
    assert r.stderr.splitlines()[0].startswith("Journal of the apply of 2025-11-02 02:04:31 UTC")
    assert json.loads(r.stdout)["outcome"] == "declined"


def test_the_count_asked_is_what_the_undo_does(
    sandbox_factory: SandboxFactory, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Against the sandbox: J1's undo keeps its grants for J2's cards; J2's undo, answered
    "y", asks about exactly the outcomes it then reports (the grants of J1 among them), and its
    progress counts them too."""
    _, _, invoke, _, j1, j2 = _two_runs(sandbox_factory, monkeypatch)
    assert _undo(invoke, j1, BOARDS)[0] == ExitCode.PARTIAL
    totals: list[int] = []
    progress = cli.progress

    def counted(total: int, **kw: bool) -> object:
        totals.append(total)
        return progress(total, **kw)

    monkeypatch.setattr(cli, "progress", counted)
    monkeypatch.setattr(cli, "_stdin_is_terminal", lambda: True)
    r = invoke("undo", str(j2), "--rate-limit", "1000", "--format", "json", input="y\n")
    assert r.exit_code == ExitCode.OK, r.output
    asked = re.search(r"Undo (\d+) changes on Trello\? \[y/N\]", r.stderr)
    assert asked is not None, r.stderr
    changes = json.loads(r.stdout)["changes"]
    grants = sum(c["action"] == GRANT for c in changes)
    assert grants, "J2's undo removes the grants J1's undo kept"
    assert int(asked[1]) == len(changes) == totals[0]
    assert f"board membership{'s' if grants != 1 else ''} journal {j1} granted to remove" in (
        r.stderr
    )
    # A member restore's journal keeps its boards' names: the apply is named by them.
    (line,) = [x for x in r.stderr.splitlines() if x.startswith("Journal of the apply of ")]
    assert re.search(r' on boards? "[^"]+" \([0-9a-f]{24}\)', line), line


@pytest.mark.parametrize(
    ("values", "reads"),
    [
        ({"names": {"board": "Team"}}, True),  # a card member's apply record: its board's name
        ({"names": {"board": "Team"}, "field": "role"}, False),  # neither kind's values
    ],
)
def test_a_card_members_record_may_keep_names_alone(
    tmp_path: Path, values: dict[str, Any], reads: bool
) -> None:
    header = JournalHeader("d" * 64, "http://127.0.0.1:1/1", "a", "2025-11-02T00:00:00.000Z")
    path = tmp_path / "j.jsonl"
    with Journal.open(path, header) as journal:
        journal.append(_rec("c1", CARD, BOARD, "k1"))
    record = json.loads(path.read_text().splitlines()[-1]) | {"values": values}
    path.write_text("\n".join([*path.read_text().splitlines()[:-1], json.dumps(record)]) + "\n")
    if reads:
        assert Journal.read(path).records[-1].values == values
    else:
        with pytest.raises(InputFileError, match="its values lack field, seen, written"):
            Journal.read(path)
