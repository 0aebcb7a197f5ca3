"""A one-step run settles the open records of earlier journals before it writes
(``undo.resolve_earlier_journals``); it parses only the journals written to since it last
looked, the others being known settled (``journal_settled``: R38a, every run parsed every
journal ever written, a thousand of them 1.5 s of CPU on each quiet cron run). Over HTTP
against the sandbox."""

from __future__ import annotations

import json
import os
import shutil
import stat
import time
from collections.abc import Callable
from pathlib import Path

import pytest
from click.testing import Result

from trello_restore.journal import Journal
from trello_restore.journal_settled import INDEX
from trello_restore.sandbox.scenario import Scenario, generate

from .conftest import SandboxFactory, sandbox_cli
from .test_cli_apply import _restore_args


def _left_open(journal: Path, into: Path) -> str:
    """``journal`` copied to ``into`` with one more record: its last applied change
    ``pending`` again, as when a run is killed between sending and journaling (the member is on
    the card). Returns that change's id."""
    lines = journal.read_text().splitlines()
    added = next(json.loads(x) for x in reversed(lines) if '"applied"' in x)
    at = time.strftime("%Y-%m-%dT%H:%M:%S.000Z", time.gmtime(time.time() - 3600))
    pending = json.dumps({**added, "status": "pending", "at": at}, sort_keys=True)
    into.write_text("\n".join([*lines, pending]) + "\n")
    hour_ago = time.time() - 3600  # the writes of the run killed then are no longer in flight
    os.utime(into, (hour_ago, hour_ago))
    return str(added["change_id"])


def _parses(
    invoke: Callable[..., Result], s: Scenario, monkeypatch: pytest.MonkeyPatch
) -> set[str]:
    """A one-step run (exit 0): the names of the journals it parsed."""
    parsed: list[Path] = []
    read = Journal.read.__func__  # type: ignore[attr-defined]

    def counting(cls: type[Journal], /, path: Path, **kwargs: object) -> Journal:
        parsed.append(path)
        return read(cls, path, **kwargs)  # type: ignore[no-any-return]

    with monkeypatch.context() as m:
        m.setattr(Journal, "read", classmethod(counting))
        done = invoke(*_restore_args(s), "--yes")
    assert done.exit_code == 0, done.output
    return {p.name for p in parsed}


def test_journals_known_settled_are_not_parsed_again(
    sandbox_factory: SandboxFactory, monkeypatch: pytest.MonkeyPatch
) -> None:
    s = generate(5, 20)
    sb = sandbox_factory(s, latency_ms=0)
    invoke = sandbox_cli(sb, monkeypatch)
    first = invoke(*_restore_args(s), "--yes")
    assert first.exit_code == 0, first.output
    journals = Path(os.environ["TRELLO_RESTORE_HOME"]) / "state" / "journals"
    (made,) = journals.glob("*.jsonl")
    copies = {f"settled-{i:02}.jsonl" for i in range(20)}
    for name in copies:
        shutil.copy(made, journals / name)
    opened = journals / "open.jsonl"
    change = _left_open(made, opened)

    # The first look reads them all, settles the open one (from the card: applied), and
    # notes the settled ones.
    assert _parses(invoke, s, monkeypatch) >= copies | {opened.name}
    assert Journal.read(opened).latest()[change].status == "applied"
    index = journals / INDEX
    assert stat.S_IMODE(index.stat().st_mode) == 0o600
    # The next reads only the one written to since (settled now), the one after none.
    assert _parses(invoke, s, monkeypatch) == {opened.name}
    assert _parses(invoke, s, monkeypatch) == set()

    # A journal written to since it was noted (a kill left a write open) is read again.
    reopened = journals / "settled-05.jsonl"
    change = _left_open(made, reopened)
    assert _parses(invoke, s, monkeypatch) == {reopened.name}
    assert Journal.read(reopened).latest()[change].status == "applied"

    # A damaged index is an empty one: every journal is read once more, and it is rewritten.
    index.write_text("{not json")
    assert _parses(invoke, s, monkeypatch) >= copies
    assert json.loads(index.read_text())["version"] == 1
    assert _parses(invoke, s, monkeypatch) == set()
