"""Looking at the locks never looks like holding one (R30a). ``locks.holders`` tried each lock
by taking it for a moment (the file's lock, and its name's socket): two lookers at once, two
threads of one run meeting a 429 together (``RateBudgetGuard``) or two runs, each saw the
other's moment as a run holding the lock, and a one-step run ended with exit 6 naming a run
that did not exist; a run taking its locks at such a moment was refused the same way. Now a
look takes nothing another looker or a taker can see: a shared lock on the file, a connection
to the name. Real threads and processes, no mocks."""

from __future__ import annotations

import shutil
import subprocess
import sys
import threading
import time
from pathlib import Path

from trello_restore import lock_keep
from trello_restore.errors import LockHeld
from trello_restore.locks import hold, holder_of, holders

NAMES = ["plan-0123456789abcdef", "board-aaaaaaaaaaaaaaaaaaaaaaaa", "run-board-bbbbbbbbbbbbbbbb"]


def _idle_locks(directory: Path) -> None:
    """Lock files on disk, as every finished run leaves them, held by no one."""
    with hold(directory, NAMES):
        pass
    assert len(list(directory.glob("*.lock"))) == len(NAMES)


def _looking(directory: Path, stop: threading.Event, seen: list[object]) -> None:
    while not stop.is_set():
        seen.extend(holders(directory))


def test_two_lookers_at_once_never_see_a_holder(tmp_path: Path) -> None:
    _idle_locks(tmp_path)
    stop = threading.Event()
    seen: list[object] = []
    lookers = [threading.Thread(target=_looking, args=(tmp_path, stop, seen)) for _ in range(3)]
    for t in lookers:
        t.start()
    time.sleep(1.5)
    stop.set()
    for t in lookers:
        t.join()
    assert seen == []


def test_a_run_taking_its_locks_is_never_refused_by_a_looker(tmp_path: Path) -> None:
    """Another process looks at the locks all the time (an ``undo --dry-run``, a run's 429
    guard); this one takes and lets go the same locks 300 times: never refused."""
    _idle_locks(tmp_path)
    code = (
        "import sys, time\nfrom pathlib import Path\nfrom trello_restore.locks import holders\n"
        "end = time.monotonic() + 30\n"
        "while time.monotonic() < end: holders(Path(sys.argv[1]))\n"
    )
    looker = subprocess.Popen([sys.executable, "-c", code, str(tmp_path)])
    try:
        time.sleep(0.5)  # looking by now
        refused = 0
        for _ in range(300):
            try:
                with hold(tmp_path, NAMES):
                    pass
            except LockHeld:
                refused += 1
        assert looker.poll() is None, "the looker stopped early"
    finally:
        looker.kill()
        looker.wait()
    assert refused == 0


def test_a_lock_held_is_still_seen_and_still_refuses(tmp_path: Path) -> None:
    """The looks still see a real holder, by its file and by its name, and a second taker is
    still refused."""
    _idle_locks(tmp_path)
    with hold(tmp_path, NAMES[:1]):
        (found,) = holders(tmp_path)
        assert found.names == (NAMES[0],)
        assert lock_keep.taken((tmp_path / f"{NAMES[0]}.lock").resolve()) is lock_keep.ABSTRACT
        code = (
            "import sys\nfrom pathlib import Path\nfrom trello_restore.errors import LockHeld\n"
            "from trello_restore.locks import hold, holders\n"
            "assert [h.names for h in holders(Path(sys.argv[1]))] == [(sys.argv[2],)]\n"
            "try:\n    hold(Path(sys.argv[1]), [sys.argv[2]]).__enter__()\n"
            "except LockHeld:\n    sys.exit(0)\nsys.exit(1)\n"
        )
        other = subprocess.run([sys.executable, "-c", code, str(tmp_path), NAMES[0]], timeout=60)
        assert other.returncode == 0
    assert holders(tmp_path) == []


def test_a_holder_whose_lock_file_was_deleted_is_still_found_by_its_name(tmp_path: Path) -> None:
    """``holder_of`` (an undo dry run's "running now"): the state directory deleted under a
    run holding its plan lock leaves no file to look at until that run's next journal append;
    the lock's name still says it is held (before, nothing was found)."""
    directory = tmp_path / "state" / "locks"
    with hold(directory, NAMES[:1]):
        shutil.rmtree(tmp_path / "state")
        assert holders(directory) == []
        found = holder_of(directory, NAMES[0])
        assert found is not None
        assert found.names == (NAMES[0],)
        assert holder_of(directory, NAMES[1]) is None
    assert holder_of(directory, NAMES[0]) is None
