"""Review 19: input handling and its messages, over the command line.

Two exports of one board (refused: the plan depended on their order), an export action with a
date that is not one (named, without Python's words), a config file's unquoted TOML dates (taken
as their ISO text) and wrong types (said in words), a board URL in capitals or given to
``--card``, an HTTP cache file that is a directory, and a log file left readable by others.
"""

from __future__ import annotations

import json
import stat
from collections.abc import Callable
from pathlib import Path

import pytest
from click.testing import Result

from trello_restore.api.cache import cache_file_name
from trello_restore.config_file import load_config
from trello_restore.sandbox.scenario import Scenario

from .conftest import Sandbox, configless_cli, one_line_error, run_cli
from .truthcheck import incident_since

Invoke = Callable[..., Result]


@pytest.fixture(name="invoke")
def invoke_fixture(sb: Sandbox, monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Invoke:
    """The command line against the small scenario's sandbox, reading no config file."""
    return configless_cli(sb, monkeypatch, tmp_path)


def _export(tmp_path: Path, name: str, *extra: str) -> Path:
    path = tmp_path / name
    result = run_cli(["sandbox", "export", "--seed", "1", "--cards", "20", "--board", "team",
                      *extra, "-o", str(path)])  # fmt: skip
    assert result.exit_code == 0, result.output
    return path


def _since(scenario: Scenario) -> str:
    return scenario.incident_at.strftime("%Y-%m-%dT%H:%M")


# ------------------------------------------------------------------------------- exports


def test_two_exports_of_one_board_are_refused_whatever_their_order(tmp_path: Path) -> None:
    """They gave different plans by their order; now one line names the board and both files,
    either way round."""
    first = _export(tmp_path, "team.json")
    second = _export(tmp_path, "team_sd.json", "--second-damage")
    board = json.loads(first.read_text())
    for a, b in ((first, second), (second, first)):
        args = ["--from-export", str(a), "--from-export", str(b), "--since", "2025-11-06T18:46Z",
                "--restore", "archived", "--by", "noahk", "--dry-run"]  # fmt: skip
        one_line_error(run_cli(args), 2, str(a), str(b), f'"{board["name"]}" ({board["id"]})',
                       "one export per board")  # fmt: skip
    # The same file given twice: refused too since review 23a (a typo for another board's
    # export, whose board would be missing; test_review23a_paths).
    same = run_cli(["--from-export", str(first), "--from-export", str(first),
                    "--since", "2025-11-01", "--dry-run", "-q"])  # fmt: skip
    one_line_error(same, 2, f"{first} is given twice")


@pytest.mark.parametrize(
    ("date", "shown"),
    [("garbage", "('garbage')"), (12, "(a JSON number)"), (None, "(a JSON null)")],
)
def test_an_export_action_with_a_bad_date_is_named(
    tmp_path: Path, date: object, shown: str
) -> None:
    """The file and the action are named, the date shown as the file has it, once; no Python
    repr (``ValueError(…)``) and no 'not a Trello action: not a Trello action'."""
    path = _export(tmp_path, "team.json")
    doc = json.loads(path.read_text())
    action = doc["actions"][3]
    action["date"] = date
    path.write_text(json.dumps(doc))
    line = one_line_error(
        run_cli(["--from-export", str(path), "--since", "2025-11-01", "--dry-run"]), 2,
        f"export {path}: action {action['id']} has a date that is not a date {shown}",
        "export the board again",
    )  # fmt: skip
    assert "Error(" not in line
    assert "not a Trello action" not in line


def test_an_export_action_missing_fields_is_named(tmp_path: Path) -> None:
    """An action without its type, or that is not an object, is named by id or number."""
    path = _export(tmp_path, "team.json")
    doc = json.loads(path.read_text())
    del doc["actions"][0]["type"]
    path.write_text(json.dumps(doc))
    one_line_error(run_cli(["--from-export", str(path), "--since", "2025-11-01", "--dry-run"]),
                   2, f"export {path}: action {doc['actions'][0]['id']} is not a Trello action "
                   "(it has no type)")  # fmt: skip
    doc["actions"][0] = ["not", "an", "action"]
    path.write_text(json.dumps(doc))
    one_line_error(run_cli(["--from-export", str(path), "--since", "2025-11-01", "--dry-run"]),
                   2, f"export {path}: action #1 is not a JSON object")  # fmt: skip


# -------------------------------------------------------------------------------- config


@pytest.mark.parametrize(
    ("toml", "text"),
    [
        ("since = 2025-11-02", "2025-11-02"),
        ("since = 2025-11-02T14:00:00", "2025-11-02T14:00:00"),
        ("since = 2025-11-02T14:00:00Z", "2025-11-02T14:00:00+00:00"),
        ("until = 2025-11-02T16:00:00+02:00", "2025-11-02T16:00:00+02:00"),
    ],
)
def test_a_toml_date_is_its_iso_text(tmp_path: Path, toml: str, text: str) -> None:
    """An unquoted TOML date or date-time is taken as the quoted ISO text (without an offset:
    UTC, as on the command line parses it)."""
    path = tmp_path / "config.toml"
    path.write_text(f"[restore]\n{toml}\n")
    key = toml.split(" ")[0]
    assert load_config(path, explicit=True).get("restore", key) == text


def test_a_config_date_plans_as_the_same_text_does(
    scenario: Scenario, invoke: Invoke, tmp_path: Path
) -> None:
    """Over the command line: ``since = <date-time>`` unquoted plans what the quoted text
    plans (it said ``must be …, not datetime.datetime(2025, 11, 2, 0, 0, tzi``)."""
    when = incident_since(scenario)
    plans = []
    for value in (when, f'"{when}"'):
        path = tmp_path / "config.toml"
        path.write_text(f"[restore]\nsince = {value}\n")
        out = tmp_path / "plan.json"
        result = invoke("--config", str(path), "--board", scenario.team.id, "--dry-run",
                        "--plan-out", str(out), "-q")  # fmt: skip
        assert result.exit_code == 0, result.output
        plans.append(json.loads(out.read_text())["changes"])
    assert plans[0] == plans[1]
    assert plans[0]


@pytest.mark.parametrize(
    ("toml", "said"),
    [
        ("[restore]\nsince = 14:00:00", "restore.since must be a date, date-time, age (7d) or "
         "'last-run', not a time of day"),
        ("[restore]\nsince = 7", "restore.since must be a date, date-time, age (7d) or "
         "'last-run', not 7"),
        ("[restore]\nmode = 2025-11-02", "restore.mode must be 'removed' or 'ever-added', not a "
         "date"),
        ("[restore]\nboards = ['Team', 2025-11-02]", "restore.boards must be a list of board "
         "ids, shortLinks, URLs or names, not a list holding a date"),
        ("[restore]\nadd_to_board = {a = 1}", "restore.add_to_board must be true or false, not "
         "a table"),
        ("[limits]\nworkers = 1.5", "limits.workers must be a whole number, not 1.5"),
        ("[limits]\nworkers = true", "limits.workers must be a whole number, not true"),
        ("[trello]\ntoken = 2025-11-02", "trello.token must be a string, not a date"),
    ],
)  # fmt: skip
def test_a_wrong_type_is_said_in_words(
    invoke: Invoke, tmp_path: Path, toml: str, said: str
) -> None:
    """A value of the wrong type: the expected type and what was given, in words, never a
    Python repr (``datetime.date(…)``) cut short."""
    path = tmp_path / "config.toml"
    path.write_text(toml + "\n")
    line = one_line_error(invoke("--config", str(path), "--board", "x", "--since", "1d",
                                 "--dry-run"), 2, f"config file {path}: {said}")  # fmt: skip
    assert "datetime" not in line
    assert "{" not in line
    assert "[" not in line.split(": ", 2)[2]


# ---------------------------------------------------------------------------- board URLs


def test_a_board_url_in_capitals_is_a_board_url(scenario: Scenario, invoke: Invoke) -> None:
    """The host name in any case (and www.) names the board as the lowercase URL does."""
    link = scenario.team.short_link
    for url in (f"https://TRELLO.com/b/{link}/team", f"HTTPS://WWW.Trello.COM/b/{link}"):
        result = invoke("--board", url, "--since", _since(scenario), "--dry-run", "-q")
        assert result.exit_code == 0, result.output
    one_line_error(invoke("--board", f"https://TRELLO.com/c/{link}", "--since", "1d",
                          "--dry-run"), 2, "is not a board URL")  # fmt: skip


def test_a_board_url_given_to_card_says_so(scenario: Scenario, invoke: Invoke) -> None:
    """--card takes a card; a board's URL is named as one, with what to give instead."""
    url = f"https://TRELLO.com/b/{scenario.team.short_link}/team"
    one_line_error(
        invoke("--board", scenario.team.id, "--since", _since(scenario), "--dry-run",
               "--card", url),
        2, f"--card {url}: that is a board's URL, not a card's",
        "https://trello.com/c/", "--board",
    )  # fmt: skip


def test_a_card_url_in_capitals_is_a_card_url(scenario: Scenario, invoke: Invoke) -> None:
    """--card with a card's URL whose host is in capitals plans that card, as the lowercase
    URL does (not "no card")."""
    card = next(c for c in scenario.world.cards.values() if c.id_board == scenario.team.id)
    args = ("--board", scenario.team.id, "--since", _since(scenario), "--dry-run", "-q")
    want = invoke(*args, "--card", f"https://trello.com/c/{card.short_link}/1-x")
    assert want.exit_code == 0, want.output
    for url in (
        f"https://TRELLO.com/c/{card.short_link}/1-x",
        f"HTTPS://www.Trello.com/c/{card.short_link}?x=1",
    ):
        got = invoke(*args, "--card", url)
        assert (got.exit_code, got.stdout) == (0, want.stdout), got.output


# ------------------------------------------------------------------ files in the way, modes


def test_a_cache_file_that_is_a_directory_says_remove_or_rename(
    scenario: Scenario, sb: Sandbox, invoke: Invoke, tmp_path: Path
) -> None:
    """A directory where the HTTP cache file goes: chmod would not help; said as the other
    blocked paths are (what is in the way, remove or rename it), and the plan is made."""
    home = Path(str(tmp_path / "trello-restore-home"))
    blocker = home / "cache" / cache_file_name(sb.key, sb.token)
    blocker.mkdir(parents=True)
    result = invoke("--board", scenario.team.id, "--since", _since(scenario), "--dry-run", "-q")
    assert result.exit_code == 0, result.output
    assert f"the HTTP cache file {blocker} is a directory, not a file" in result.stderr
    assert "remove or rename it" in result.stderr
    assert "chmod" not in result.stderr


def test_an_existing_log_file_is_made_private(
    scenario: Scenario, invoke: Invoke, tmp_path: Path
) -> None:
    """An existing --log-file of mode 0644 is 0600 once the tool has opened it, as the README
    says (it names boards and members); a new one is created 0600."""
    old, new = tmp_path / "old.log", tmp_path / "logs" / "new.log"
    old.write_text("earlier\n")
    old.chmod(0o644)
    for path in (old, new):
        result = invoke("--board", scenario.team.id, "--since", _since(scenario), "--dry-run",
                        "-q", "--log-file", str(path))  # fmt: skip
        assert result.exit_code == 0, result.output
        assert stat.S_IMODE(path.stat().st_mode) == 0o600, oct(path.stat().st_mode)
    assert old.read_text().startswith("earlier\n")


# ------------------------------------------------------------------ where a value came from


def test_a_member_filter_is_named_where_it_was_set(
    scenario: Scenario, invoke: Invoke, tmp_path: Path
) -> None:
    """``TRELLO_RESTORE_REMOVED_BY=nobodyx`` is named as that variable (it said
    ``--removed-by "nobodyx"``, an option never given); a config file's ``by`` as its key."""
    base = ("--board", scenario.team.id, "--since", _since(scenario), "--dry-run")
    line = one_line_error(invoke(*base, TRELLO_RESTORE_REMOVED_BY="nobodyx"), 2,
                          'TRELLO_RESTORE_REMOVED_BY "nobodyx": no member with that')  # fmt: skip
    assert "--removed-by" not in line
    config = tmp_path / "config.toml"
    config.write_text('[restore]\nby = "nobodyy"\n')
    line = one_line_error(invoke("--config", str(config), *base, TRELLO_RESTORE_REMOVED_BY=None),
                          2, f'restore.by in {config} "nobodyy": no member')  # fmt: skip
    assert "--by" not in line
    one_line_error(invoke(*base, "--removed-by", "nobodyz"), 2, '--removed-by "nobodyz"')
