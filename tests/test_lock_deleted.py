"""A run's lock while its lock file is deleted (review R27a's first finding): ``rm -rf`` of the
state directory during an apply deleted the lock file too, and a second apply of the same plan
then made a new one, took it and ran at the same time (one change sent twice, the first run's
own adds said to have "drifted"). Now the lock's name is held where no file can be deleted (an
abstract Unix socket on Linux, ``lock_keep``), and the holder takes its lock file again at its
next journal append. A killed holder still never blocks."""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import threading
import time
from datetime import timedelta
from pathlib import Path

import pytest

from trello_restore import lock_keep
from trello_restore.errors import ExitCode, LockHeld
from trello_restore.journal import Journal, JournalRecord
from trello_restore.locks import PRUNE_AFTER_S, hold, holders

from .conftest import T0, SandboxFactory, make_world, one_line_error
from .conftest import sandbox_cli as cli_for
from .test_apply_values import damaged_world, make_plan_file
from .test_journal_deleted import HEADER

linux = pytest.mark.skipif(not lock_keep.ABSTRACT, reason="abstract socket names are Linux's")


def _in_thread(call: object) -> object:
    """``call()`` in a thread of its own (a run of its own: no locks held in its context)."""
    out: list[object] = []

    def run() -> None:
        try:
            out.append(call())  # type: ignore[operator]
        except Exception as exc:  # the test looks at it
            out.append(exc)

    thread = threading.Thread(target=run)
    thread.start()
    thread.join()
    return out[0]


@linux
def test_a_lock_whose_directory_is_deleted_is_still_held(tmp_path: Path) -> None:
    locks = tmp_path / "state" / "locks"

    def second() -> str:
        with hold(locks, ["plan-abc"]):
            return "taken"

    with hold(locks, ["plan-abc"]):
        shutil.rmtree(tmp_path / "state")
        refused = _in_thread(second)
    assert isinstance(refused, LockHeld), refused
    assert "another trello-restore run is applying or undoing this plan" in str(refused)
    assert _in_thread(second) == "taken"  # let go at the end of the block


def test_a_deleted_lock_file_is_taken_again_at_the_next_journal_append(tmp_path: Path) -> None:
    """And ``holders`` names this process again (``undo --dry-run``'s "running now (pid N)")."""
    locks = tmp_path / "state" / "locks"
    journal = Journal.open(tmp_path / "j.jsonl", HEADER)
    with hold(locks, ["plan-abc", "board-b1"]):
        shutil.rmtree(tmp_path / "state")
        journal.append(JournalRecord("c-1", "apply", "add_member_to_card", "applied", "b1", "m"))
        assert (locks / "plan-abc.lock").is_file()
        assert (locks / "plan-abc.lock").stat().st_mode & 0o777 == 0o600
        found = _in_thread(lambda: holders(locks))
        assert isinstance(found, list)
        assert [(h.pid, h.names) for h in found] == [(os.getpid(), ("board-b1", "plan-abc"))]
    journal.close()
    assert _in_thread(lambda: holders(locks)) == []  # the retaken file is let go with the rest


HOLDER = """
import sys, time
from pathlib import Path
from trello_restore.locks import hold
with hold(Path(sys.argv[1]), ["plan-abc"]):
    print("held", flush=True)
    time.sleep(600)
"""


@pytest.mark.parametrize(
    "deleted", [False, pytest.param(True, marks=linux)], ids=["in place", "directory deleted"]
)
def test_a_killed_holder_never_blocks(tmp_path: Path, deleted: bool) -> None:
    locks = tmp_path / "state" / "locks"
    command = [sys.executable, "-c", HOLDER, str(locks)]
    with subprocess.Popen(command, stdout=subprocess.PIPE, text=True) as proc:
        try:
            assert proc.stdout is not None
            assert proc.stdout.readline() == "held\n"
            if deleted:
                shutil.rmtree(tmp_path / "state")
            with pytest.raises(LockHeld), hold(locks, ["plan-abc"]):
                pass
        finally:
            proc.send_signal(signal.SIGKILL)
            proc.wait()
    with hold(locks, ["plan-abc"]) as held:
        assert held == locks


@linux
def test_a_second_apply_while_the_state_directory_is_deleted_is_refused(
    sandbox_factory: SandboxFactory,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Over HTTP, two processes: the state directory (journal and locks) deleted after the
    first apply's second record, then a second apply of the same plan starts. It is refused
    as when the lock file is there (exit 6, same line), and the first one ends as before,
    every write journaled once."""
    sb = sandbox_factory(damaged_world()[0], time_scale=100)
    plan = tmp_path / "plan.json"
    make_plan_file(sb, plan)
    home = Path(os.environ["TRELLO_RESTORE_HOME"])  # the test's own (conftest)
    env = os.environ | sb.env
    command = [sys.executable, "-m", "trello_restore", "apply", str(plan), "--yes"]
    second: list[subprocess.CompletedProcess[str]] = []
    append = Journal.append

    def append_then_delete(self: Journal, record: JournalRecord) -> None:
        append(self, record)
        if not second and len(self.records) >= 3:
            shutil.rmtree(home)
            second.append(subprocess.run(command, env=env, capture_output=True, text=True))

    monkeypatch.setattr(Journal, "append", append_then_delete)
    invoke = cli_for(sb, monkeypatch)
    r = invoke("apply", str(plan), "--yes")
    assert r.exit_code == ExitCode.OK, r.output
    (refused,) = second
    assert refused.returncode == ExitCode.LOCKED, refused.stderr
    assert "another trello-restore run is applying or undoing this plan" in refused.stderr
    assert "Traceback" not in refused.stderr
    (journal,) = (home / "state" / "journals").glob("*.jsonl")
    applied = [x.change_id for x in Journal.read(journal).records if x.status == "applied"]
    assert len(applied) == len(set(applied)) == 5, applied


@linux
def test_old_plan_lock_files_no_run_holds_are_removed(tmp_path: Path) -> None:
    """A run that held a plan lock removes the plan lock files over a week old that no run
    holds (R43e: one per plan applied, never removed); a recent one, one held by another run
    and the board locks stay."""
    locks = tmp_path / "locks"
    locks.mkdir(mode=0o700)
    week_ago = time.time() - PRUNE_AFTER_S - 60
    names = ("plan-old", "plan-held", "plan-new", "board-b1")
    for name in names:
        (locks / f"{name}.lock").touch(mode=0o600)
        if name != "plan-new":
            os.utime(locks / f"{name}.lock", (week_ago, week_ago))
    taken = threading.Event()
    release = threading.Event()

    def other_run() -> None:
        with hold(locks, ["plan-held"]):
            taken.set()
            release.wait(10)

    thread = threading.Thread(target=other_run)
    thread.start()
    assert taken.wait(10)
    try:
        with hold(locks, ["plan-mine", "board-b1"]):
            pass
        left = sorted(p.name for p in locks.iterdir())
    finally:
        release.set()
        thread.join()
    assert left == ["board-b1.lock", "plan-held.lock", "plan-mine.lock", "plan-new.lock"], left
    # The other run, letting its plan lock go, removes that one too: a week old, held by none.
    assert not (locks / "plan-held.lock").exists()
    with hold(locks, ["plan-old"]):  # made again when a plan is applied again
        assert (locks / "plan-old.lock").exists()


def test_a_plan_another_run_applies_says_once_what_to_run_after(
    sandbox_factory: SandboxFactory, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """``apply PLAN`` while another run holds the plan's lock: one line saying to wait, then the
    journal's command once (R43a: "wait for it to finish and run again", then "run … again to
    resume", twice, while nothing had stopped)."""
    from trello_restore.journal import Journal
    from trello_restore.locks import apply_lock, lock_dir, lock_names

    sw = make_world()
    w, ids = sw.world, sw.ids
    w.remove_member_from_card(ids["c1"], ids["ben"], ids["ana"], T0 + timedelta(days=1))
    sb = sandbox_factory(sw, time_scale=100)
    invoke = cli_for(sb, monkeypatch)
    plan, journal = tmp_path / "plan.json", tmp_path / "j.jsonl"
    since = (T0 + timedelta(hours=23)).isoformat()
    dry = invoke("--board", ids["team"], "--since", since, "--dry-run", "--plan-out", str(plan))
    assert dry.exit_code == 0, dry.output
    assert invoke("apply", str(plan), "--journal", str(journal)).exit_code == 0
    digest = Journal.read(journal).header.plan_digest
    state = Path(os.environ["TRELLO_RESTORE_HOME"]) / "state"
    with apply_lock(lock_names(digest, [ids["team"]]), lock_dir(state)):
        r = invoke("apply", str(plan), "--journal", str(journal))
    line = one_line_error(
        r, ExitCode.LOCKED, "applying or undoing this plan (lock ", "wait for it to finish; "
    )
    assert line.count(" again") == 1, line
    assert f"run trello-restore apply {plan} --journal {journal} again" in line
    # R47c: the run holding it may be an undo, and the advice to run apply again re-added
    # everything the undo took back: said so; and said for sure once an undo is in it.
    assert "(if that run was an undo, this puts back what it took back: see " in line
    assert invoke("undo", str(journal), "--yes").exit_code == 0
    with apply_lock(lock_names(digest, [ids["team"]]), lock_dir(state)):
        r = invoke("apply", str(plan), "--journal", str(journal))
    line = one_line_error(r, ExitCode.LOCKED, "applying or undoing this plan (lock ")
    assert line.endswith(
        f"the journal {journal} holds what other runs did, an undo of it among them: "
        f"trello-restore apply {plan} --journal {journal} again puts back what an undo took "
        f"back; see what is applied now with trello-restore undo --dry-run {journal} first"
    ), line
