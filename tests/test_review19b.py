"""Review 19, follow-ups in output and messages, over the command line against the sandbox.

``--format json``'s ``apply`` and ``undo`` keep one type whatever the outcome (an object of
zero counts where nothing was written, not null), undo's boards carry their names (or no name
key, never null) and no ``done_earlier`` (an apply's notion); a repeated undo accounts for
every change the earlier undo settled (reverted, found reverted already, found gone), in its
summary line and its JSON; ``since`` after ``until`` is named where each was set (a config key,
a variable, an option); a plan's schema errors say JSON's ``null``/``true``/``false``, not
Python's ``None``/``True``/``False``.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from click.testing import Result

from trello_restore.errors import ExitCode
from trello_restore.oneshot import APPLY_COUNTS, UNDO_COUNTS
from trello_restore.sandbox.scenario import Scenario

from . import test_catalogue as catalogue
from . import test_locks_lastrun_review as locks_review
from .conftest import Sandbox, SandboxFactory, configless_cli, one_line_error
from .conftest import sandbox_cli as cli_for
from .test_apply_undo_json import _line, _plan
from .test_apply_values import applied_values
from .truthcheck import incident_since

Invoke = Callable[..., Result]
#: The bad-input catalogue's module sandbox (and its logger reset), for the error cases.
trello = catalogue.trello_fixture
_restore_logging = catalogue._restore_logging
#: ``<TRELLO_RESTORE_HOME>/state`` of the test.
state = locks_review.state_fixture

#: The keys an apply's counts hold beside its statuses' (``oneshot.report_counts``).
APPLY_MORE = ("stopped", "done_earlier", "requests", "rate_limited", "seconds")
#: The keys an undo's counts hold beside its statuses'.
UNDO_MORE = (
    "undone_earlier", "already_satisfied_earlier", "not_on_card_earlier", "under_way",
    "stopped", "requests", "rate_limited", "seconds",
)  # fmt: skip


@pytest.fixture(name="invoke")
def invoke_fixture(sb: Sandbox, monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Invoke:
    return configless_cli(sb, monkeypatch, tmp_path)


def _zero(counts: dict[str, Any], statuses: tuple[str, ...], more: tuple[str, ...]) -> None:
    """``counts`` is an object with every key a written run's has, every count 0."""
    assert isinstance(counts, dict), counts
    assert set(counts) == {*statuses, *more}, counts
    assert all(counts[k] == 0 for k in statuses), counts
    assert (counts["stopped"], counts["requests"], counts["seconds"]) == (None, 0, 0)


# ------------------------------------------------------------------ --format json's key types


def test_json_counts_are_an_object_when_nothing_was_written(
    invoke: Invoke, sb: Sandbox, scenario: Scenario, tmp_path: Path
) -> None:
    """An empty plan's apply and the one-step run with nothing to apply: ``apply`` holds zero
    counts (it was null); a repeated undo (``nothing_to_do``): ``undo`` the same, with what
    the earlier undo undid; each key's type as on a run that wrote."""
    since = incident_since(scenario)
    nobody = ("--board", scenario.team.id, "--since", since, "--only-recorded",
              "--removed-by", scenario.deactivated.username)  # fmt: skip
    empty = tmp_path / "empty.json"
    made = invoke(*nobody, "--dry-run", "--plan-out", str(empty), "-q")
    assert made.exit_code == 0, made.output
    doc = _line(invoke("apply", str(empty), "--format", "json"), sb)
    assert doc["outcome"] == "nothing_to_do"
    _zero(doc["apply"], APPLY_COUNTS, APPLY_MORE)

    once = _line(invoke(*nobody, "--yes", "--format", "json"), sb)
    assert once["outcome"] == "nothing_to_do"
    _zero(once["apply"], APPLY_COUNTS, APPLY_MORE)
    assert isinstance(once["plan"], dict)

    path = _plan(invoke, scenario, tmp_path / "plan.json")
    applied = _line(invoke("apply", str(path), "--format", "json"), sb)
    assert set(applied["apply"]) == {*APPLY_COUNTS, *APPLY_MORE}
    undo = _line(invoke("undo", applied["journal"], "--yes", "--format", "json"), sb)
    assert undo["outcome"] == "undone"
    assert set(undo["undo"]) == {*UNDO_COUNTS, *UNDO_MORE}  # no done_earlier: an apply's
    removed = undo["undo"]["undone"]
    assert removed > 0
    again = _line(invoke("undo", applied["journal"], "--format", "json"), sb)
    assert again["outcome"] == "nothing_to_do"
    _zero(again["undo"], UNDO_COUNTS, UNDO_MORE)
    assert again["undo"]["undone_earlier"] == removed
    # Undo's boards by name, as apply's: from its live read; without one (nothing to undo,
    # member kinds' records keep no names) the board has its id only, never a null name.
    assert undo["boards"] == [b for b in applied["boards"] if b["id"] in _ids(undo)]
    assert all(b["name"] for b in undo["boards"])
    assert all(set(b) == {"id"} or isinstance(b["name"], str) for b in again["boards"])


def _ids(doc: dict[str, Any]) -> set[str]:
    return {b["id"] for b in doc["boards"]}


# ------------------------------------------------------------- a repeated undo's summary


def test_a_repeated_undo_accounts_for_everything_the_earlier_one_settled(
    sandbox_factory: SandboxFactory, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """5 values applied; c1 set back by hand, c2 moved to a third list. The first undo: 1
    already reverted, 1 drifted, 3 reverted. The second says all 4 the first settled (it said
    only the 3 reverted: 4 of 5 in all), in its line and its JSON; its boards are named."""
    sb, path = applied_values(sandbox_factory, tmp_path)
    ids = sb.ids
    sb.world.set_card_closed(ids["c1"], True, ids["ben"])  # what undo would write back
    sb.world.move_card_to_list(ids["c2"], ids["old"], ids["ben"])  # a third value
    invoke = cli_for(sb, monkeypatch)
    first = invoke("undo", str(path), "--yes")
    assert first.exit_code == ExitCode.PARTIAL, first.output
    assert first.stdout.splitlines()[-1] == (
        "Summary: 1 already reverted, 1 drifted, 3 reverted, 0 failed."
    )
    again = invoke("undo", str(path), "--yes")
    assert again.exit_code == ExitCode.PARTIAL, again.output
    assert again.stdout.splitlines()[-1] == (
        "Summary: 1 drifted, 0 reverted, 0 failed. 4 changes settled by an earlier undo "
        "(3 reverted, 1 already reverted)."
    )
    doc = _line(invoke("undo", str(path), "--yes", "--format", "json", "-q"), sb)
    counts = doc["undo"]
    assert (counts["drifted"], counts["undone"]) == (1, 0)
    earlier = ("undone_earlier", "already_satisfied_earlier", "not_on_card_earlier")
    assert [counts[k] for k in earlier] == [3, 1, 0]
    assert doc["boards"] == [{"id": ids["team"], "name": sb.world.boards[ids["team"]].name}]


# ------------------------------------------------------------------ where since/until were set


def _window(c: catalogue.Ctx) -> catalogue.Call:
    """Both in the config file, TOML dates, in the wrong order."""
    text = "[restore]\nsince = 2025-11-02\nuntil = 2025-11-01\n"
    return catalogue.Call(catalogue._config(c, text, "--board", c.team, "--dry-run"))


def _env_window(c: catalogue.Ctx) -> catalogue.Call:
    """``--since`` given, ``TRELLO_RESTORE_UNTIL`` before it."""
    args = ["--board", c.team, "--since", "2025-11-03", "--dry-run"]
    return catalogue.Call(args, env={"TRELLO_RESTORE_UNTIL": "2025-11-01"})


CASES = [
    catalogue.case(_window, ExitCode.USAGE, "Error: restore.since in ",
                   "config.toml (2025-11-02 00:00 UTC) is not before restore.until in ",
                   "config.toml (2025-11-01 00:00 UTC): swap them", absent=("--since", "--until"),
                   id="config-since-after-until"),
    catalogue.case(_env_window, ExitCode.USAGE,
                   "--since (2025-11-03 00:00 UTC) is not before TRELLO_RESTORE_UNTIL (", "swap",
                   absent=("--until",), id="env-until-before-since"),
    catalogue.case(lambda c: ["apply", c.edited_plan(
        lambda d: d["changes"][-1]["precondition"].update(member_on_card=None))],
        ExitCode.USAGE, '.precondition.member_on_card: null is not of type "boolean"',
        absent=("None",), id="plan-value-null"),
    catalogue.case(lambda c: ["apply", c.edited_plan(
        lambda d: d["changes"][-1].update(change_id=True))],
        ExitCode.USAGE, ': true is not of type "string"', absent=("True",),
        id="plan-value-true"),
]  # fmt: skip


@pytest.mark.parametrize("c", CASES)
def test_bad_input(
    c: catalogue.Case, trello: catalogue.Trello, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """As the catalogue's cases: the exit code, one line naming each value as the user wrote
    it (where it was set; JSON's words), no traceback, no write."""
    catalogue.test_bad_input(c, trello, tmp_path, monkeypatch)


def test_the_json_words_keep_quoted_text() -> None:
    """Only Python's words outside a quoted value become JSON's: a string holding "None" keeps
    it; each quoted value is in JSON's quotes, so a dict or a list shown is JSON."""
    from trello_restore.planfile import _in_json

    said = "{'a': None, 'b': \"it's None\"} is not one of [True, False, 'True']"
    shown = _in_json(said)
    assert shown == '{"a": null, "b": "it\'s None"} is not one of [true, false, "True"]'
    assert json.loads(shown.split(" is not one of ")[0]) == {"a": None, "b": "it's None"}


def test_plan_json_summary_keys_are_documented() -> None:
    """The README names each of the undo's earlier counts."""
    readme = (Path(__file__).parent.parent / "README.md").read_text()
    for key in UNDO_MORE[:3]:
        assert f"`{key}`" in readme, key


# ----------------------------------------------------------------- the README's lock wording


def test_a_followed_boards_apply_stops_the_one_step_run_at_its_apply(
    invoke: Invoke, scenario: Scenario, sb: Sandbox, state: Path
) -> None:
    """As the README says: an apply holding the lock of a board the one-step run names stops
    it at once (no history read); one holding the lock of a board it only follows (the archive
    board its plan changes) stops it when its apply takes the per-board locks: exit 6 after
    planning, before any write."""
    from trello_restore.locks import apply_lock, lock_dir

    locks = lock_dir(state)
    s = scenario
    since = incident_since(s)
    run = ("--board", s.team.id, "--removed-by", s.mover.username, "--add-to-board",
           "--since", since, "--yes", "-q")  # fmt: skip
    for board, read in ((s.team, False), (s.archive, True)):
        sb.server.request_log.clear()
        with apply_lock([f"board-{board.id}"], locks):
            r = invoke(*run)
        assert r.exit_code == ExitCode.LOCKED, r.output
        assert f'applying or undoing board "{board.name}" ({board.id})' in r.stderr
        paths = [q.path for q in sb.server.request_log]
        assert any("/actions" in p for p in paths) is read, paths
        assert not [q for q in sb.server.request_log if q.method in ("POST", "PUT", "DELETE")]


def test_a_last_run_after_until_is_named_where_since_was_set(
    sb: Sandbox, scenario: Scenario, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """``last-run`` set in the environment (or the config file) and a ``--until`` before the
    recorded cutoff: the error names ``TRELLO_RESTORE_SINCE`` where it was set, not an option
    never given (review 19c)."""
    invoke = cli_for(sb, monkeypatch)
    monkeypatch.setenv("TRELLO_RESTORE_HOME", str(tmp_path / "home"))
    first = invoke("--board", scenario.team.id, "--since", "2025-01-01", "--add-to-board",
                   "--yes", "-q")  # fmt: skip
    assert first.exit_code == ExitCode.OK, first.output  # last-run recorded
    args = ("--board", scenario.team.id, "--until", "2025-01-02", "--dry-run")
    env_since = invoke(*args, TRELLO_RESTORE_SINCE="last-run")
    line = one_line_error(env_since, ExitCode.USAGE, "TRELLO_RESTORE_SINCE = last-run (",
                          "is not before --until (")  # fmt: skip
    assert "--since" not in line
    config = tmp_path / "c.toml"
    config.write_text('[restore]\nsince = "last-run"\n', encoding="utf-8")
    line = one_line_error(invoke("--config", str(config), *args, TRELLO_RESTORE_SINCE=None),
                          ExitCode.USAGE, f"restore.since in {config} = last-run (")  # fmt: skip
    assert "--since" not in line
