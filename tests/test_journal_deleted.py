"""The journal deleted or replaced while a run writes it (review R25b's first finding).

The run kept writing through its open file to a file no one could open any more: the apply
said ``Summary: … applied``, exit 0, and printed the journal's path, where there was nothing;
its undo said "no such journal", and a second apply found everything "already satisfied" in a
journal of its own, whose undo then took nothing back. Now, before the journal is closed, a
path that no longer names the open file gets its whole content again (at the path, or beside
it when another file is there now), with one warning.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
from click.testing import Result

from trello_restore.errors import ExitCode
from trello_restore.journal import Journal, JournalHeader, JournalRecord

from .conftest import SandboxFactory
from .conftest import sandbox_cli as cli_for
from .test_apply_values import T2, damaged_world, make_plan_file

HEADER = JournalHeader("d" * 64, "http://x/1", "m" * 24, "2026-01-01T00:00:00Z")


def _record(n: int) -> JournalRecord:
    return JournalRecord(f"c-{n}", "apply", "add_member_to_card", "applied", "b", "m")


def test_a_journal_whose_directory_is_deleted_mid_run_is_written_again(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    path = tmp_path / "journals" / "j.jsonl"
    with Journal.open(path, HEADER) as journal:
        journal.append(_record(1))
        shutil.rmtree(path.parent)
        journal.append(_record(2))
    assert [r.change_id for r in Journal.read(path).records] == ["c-1", "c-2"]
    assert path.stat().st_mode & 0o777 == 0o600
    assert path.parent.stat().st_mode & 0o777 == 0o700
    (said,) = [r.getMessage() for r in caplog.records if "was deleted" in r.getMessage()]
    assert f"the journal {path} was deleted while this run wrote it" in said


def test_a_journal_replaced_mid_run_is_written_beside_the_new_file(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    path = tmp_path / "j.jsonl"
    with Journal.open(path, HEADER) as journal:
        journal.append(_record(1))
        path.unlink()
        path.write_text("someone else's\n")
        journal.append(_record(2))
    assert path.read_text() == "someone else's\n"
    (kept,) = tmp_path.glob("j.recovered-*.jsonl")
    assert [r.change_id for r in Journal.read(kept).records] == ["c-1", "c-2"]
    (said,) = [r.getMessage() for r in caplog.records if "was replaced" in r.getMessage()]
    assert f"its records were written to {kept}, and this run goes on there" in said
    assert journal.path == kept  # what the run's report names


def test_a_journal_left_in_place_is_not_written_again(tmp_path: Path) -> None:
    path = tmp_path / "j.jsonl"
    with Journal.open(path, HEADER) as journal:
        journal.append(_record(1))
        inode = path.stat().st_ino
    assert path.stat().st_ino == inode


def test_apply_whose_journal_directory_is_deleted_mid_run_can_still_be_undone(
    sandbox_factory: SandboxFactory, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Over HTTP: the journal's directory deleted after the apply's second record; the apply
    warns, exits 0, and its journal is there with every write, so undo takes them back."""
    sb = sandbox_factory(damaged_world()[0], time_scale=100)
    plan = tmp_path / "plan.json"
    make_plan_file(sb, plan)
    journal = tmp_path / "journals" / "j.jsonl"
    journal.parent.mkdir()  # a --journal is refused in a directory that is not there
    appended = 0
    append = Journal.append

    def append_then_delete(self: Journal, record: JournalRecord) -> None:
        nonlocal appended
        append(self, record)
        appended += 1
        if appended == 2:
            shutil.rmtree(journal.parent)

    monkeypatch.setattr(Journal, "append", append_then_delete)
    invoke = cli_for(sb, monkeypatch)
    r = invoke("apply", str(plan), "--yes", "--journal", str(journal))
    assert r.exit_code == ExitCode.OK, r.output
    assert appended > 2
    assert f"the journal {journal} was deleted while this run wrote it" in r.stderr
    records = Journal.read(journal).records
    assert [x.status for x in records].count("applied") == 5
    monkeypatch.setattr(Journal, "append", append)
    undone = invoke("undo", str(journal), "--yes")
    assert undone.exit_code == ExitCode.OK, undone.output
    assert "5 reverted" in undone.stdout, undone.stdout


def test_a_journal_deleted_mid_run_is_written_again_at_the_next_append(tmp_path: Path) -> None:
    """R26a: written again only at the end, the journal of a run stopped by SIGTERM (or
    killed) after its directory was deleted was lost. Now the next append writes it again and
    goes on there: what a run killed after that keeps is on disk."""
    path = tmp_path / "journals" / "j.jsonl"
    journal = Journal.open(path, HEADER)
    journal.append(_record(1))
    shutil.rmtree(path.parent)
    journal.append(_record(2))
    # Not closed (the process is killed): both records are there all the same.
    assert [r.change_id for r in Journal.read(path).records] == ["c-1", "c-2"]
    journal.append(_record(3))
    assert [r.change_id for r in Journal.read(path).records] == ["c-1", "c-2", "c-3"]
    journal.close()
    assert [r.change_id for r in Journal.read(path).records] == ["c-1", "c-2", "c-3"]


def test_a_journal_that_cannot_be_written_again_is_said_once(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    from trello_restore import journal as journal_module

    def full(*_: object) -> None:
        raise OSError(28, "No space left on device")

    path = tmp_path / "journals" / "j.jsonl"
    with Journal.open(path, HEADER) as journal:
        journal.append(_record(1))
        shutil.rmtree(path.parent)
        monkeypatch.setattr(journal_module, "keep_at_path", full)
        journal.append(_record(2))
        journal.append(_record(3))
    said = [
        r.getMessage() for r in caplog.records if "could not be written again" in r.getMessage()
    ]
    assert len(said) == 1, said
    assert "No space left on device" in said[0]


def _replace_after_second_append(monkeypatch: pytest.MonkeyPatch) -> list[int]:
    """Journal.append, but after the second record the journal's file is replaced by another
    (someone's ``mv`` over it). Returns the count of appends, in a list."""
    appended = [0]
    append = Journal.append

    def append_then_replace(self: Journal, record: JournalRecord) -> None:
        append(self, record)
        appended[0] += 1
        if appended[0] == 2:
            self.path.unlink()
            self.path.write_text("someone else's\n")

    monkeypatch.setattr(Journal, "append", append_then_replace)
    return appended


def _went_on_beside(r: Result, appended: list[int], tmp_path: Path, as_json: bool = True) -> Path:
    """The run ended 0 beside the file that replaced its journal, and its ``Journal:`` line
    (and JSON ``journal``) names the recovered file it went on in, which is returned."""
    assert r.exit_code == ExitCode.OK, r.output
    assert appended[0] > 2
    (kept,) = tmp_path.glob("j.recovered-*.jsonl")
    if as_json:
        assert json.loads(r.stdout)["journal"] == str(kept)
    assert f"Journal: {kept}" in r.stderr, r.stderr
    return kept


@pytest.mark.parametrize("as_json", [False, True])
def test_apply_whose_journal_is_replaced_mid_run_names_where_it_went_on(
    sandbox_factory: SandboxFactory, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, as_json: bool
) -> None:
    """R27a: the run went on beside the new file and said so in its warning, but the
    ``Journal:`` line and JSON ``journal`` named the replaced path, whose undo is someone
    else's file. Both name where the records are now, and its undo takes them back."""
    sb = sandbox_factory(damaged_world()[0], time_scale=100)
    plan = tmp_path / "plan.json"
    make_plan_file(sb, plan)
    journal = tmp_path / "j.jsonl"
    appended = _replace_after_second_append(monkeypatch)
    invoke = cli_for(sb, monkeypatch)
    fmt = ["--format", "json"] * as_json
    r = invoke("apply", str(plan), "--yes", "--journal", str(journal), *fmt)
    kept = _went_on_beside(r, appended, tmp_path, as_json)
    assert f"Journal: {journal}\n" not in r.stderr
    assert journal.read_text() == "someone else's\n"
    monkeypatch.undo()
    invoke = cli_for(sb, monkeypatch)
    undone = invoke("undo", str(kept), "--yes")
    assert undone.exit_code == ExitCode.OK, undone.output
    assert "5 reverted" in undone.stdout, undone.stdout


def test_one_step_run_whose_journal_is_replaced_mid_run_names_where_it_went_on(
    sandbox_factory: SandboxFactory, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    sb = sandbox_factory(damaged_world()[0], time_scale=100)
    journal = tmp_path / "j.jsonl"
    appended = _replace_after_second_append(monkeypatch)
    invoke = cli_for(sb, monkeypatch)
    r = invoke(
        "--board", sb.ids["team"], "--since", T2.isoformat(), "--restore",
        "archived,list,fields", "--by", "ana", "--yes", "--journal", str(journal),
        "--format", "json",
    )  # fmt: skip
    _went_on_beside(r, appended, tmp_path)


def test_ctrl_c_after_the_journal_was_replaced_names_where_it_went_on(
    sandbox_factory: SandboxFactory, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """R28a: the journal replaced mid-run, then Ctrl-C (or SIGTERM): the line said "every
    change made is recorded in the journal <the replaced path>", someone else's file now."""
    from trello_restore import cli
    from trello_restore.report_outcomes import Progress

    sb = sandbox_factory(damaged_world()[0], time_scale=100)
    plan = tmp_path / "plan.json"
    make_plan_file(sb, plan)
    journal = tmp_path / "j.jsonl"
    appended = _replace_after_second_append(monkeypatch)

    class CtrlC(Progress):
        def __call__(self, outcome: object) -> None:
            super().__call__(outcome)  # type: ignore[arg-type]
            if self.done == 3:
                raise KeyboardInterrupt

    monkeypatch.setattr(cli, "progress", lambda total, **_: CtrlC(total, enabled=False))
    invoke = cli_for(sb, monkeypatch)
    r = invoke("apply", str(plan), "--yes", "--journal", str(journal))
    assert r.exit_code == 130, r.output
    assert appended[0] > 2
    (kept,) = tmp_path.glob("j.recovered-*.jsonl")
    (line,) = [x for x in r.stderr.splitlines() if x.startswith("Interrupted after ")]
    assert f"every change made is recorded in the journal {kept}." in line, line


def test_undo_whose_journal_is_replaced_mid_run_names_where_it_went_on(
    sandbox_factory: SandboxFactory, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    sb = sandbox_factory(damaged_world()[0], time_scale=100)
    plan = tmp_path / "plan.json"
    make_plan_file(sb, plan)
    journal = tmp_path / "j.jsonl"
    invoke = cli_for(sb, monkeypatch)
    assert invoke("apply", str(plan), "--yes", "--journal", str(journal)).exit_code == 0
    appended = _replace_after_second_append(monkeypatch)
    r = invoke("undo", str(journal), "--yes", "--format", "json")
    _went_on_beside(r, appended, tmp_path)


def test_a_torn_last_line_is_said_unless_another_run_is_writing_it(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    """Read beside the run appending to it (``undo --dry-run`` beside an apply), a journal's
    torn last line is that run's line being written: not a warning then (``warn_torn``)."""
    path = tmp_path / "j.jsonl"
    with Journal.open(path, HEADER) as journal:
        journal.append(_record(1))
    with path.open("a") as f:
        f.write('{"type": "rec')
    assert [r.change_id for r in Journal.read(path, warn_torn=False).records] == ["c-1"]
    assert "torn last line" not in caplog.text
    assert [r.change_id for r in Journal.read(path).records] == ["c-1"]
    assert "ignoring a torn last line" in caplog.text
