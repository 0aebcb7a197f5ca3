"""An export with a value of another type where Trello has an object, a text or a list (a
hand-trimmed file, another tool's) is refused in one line, exit 2, or planned: never an
internal error (R51a: nine such shapes were exit 1, a Python error)."""

from __future__ import annotations

import json
import random
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

from trello_restore.cli import main
from trello_restore.errors import ExitCode, InputFileError
from trello_restore.exports import load_exports
from trello_restore.models import RESTORE_KINDS, PlanOptions
from trello_restore.planner import build_plan
from trello_restore.sandbox.scenario import generate

from .conftest import one_line_error

ODD: list[Any] = [False, True, 0, 1.5, None, [], {}, "", "x", -1, {"id": 1}, ["a"]]


def _export() -> dict[str, Any]:
    """The archive board's export after the incident and a second damage: every kind of
    action the parser reads."""
    s = generate(34, 40, second_damage=True)
    return s.export(s.archive.id)


def _mutants(doc: dict[str, Any], rng: random.Random) -> list[tuple[str, dict[str, Any]]]:
    """``doc`` with one value set to an ``ODD`` one: a top-level list; each field of the first
    action of each type and of its ``data``'s objects; each field of a card, a list and a
    membership."""
    out: list[tuple[str, dict[str, Any]]] = []

    def put(where: str, path: list[Any], value: Any) -> None:
        copy = json.loads(json.dumps(doc))
        at = copy
        for step in path[:-1]:
            at = at[step]
        at[path[-1]] = value
        out.append((f"{where} = {json.dumps(value)}", copy))

    for key in ("actions", "cards", "lists", "members", "memberships", "id"):
        for value in ODD:
            put(key, [key], value)
    firsts: dict[str, int] = {}
    for i, a in enumerate(doc["actions"]):
        firsts.setdefault(a["type"], i)
    for i in firsts.values():
        action = doc["actions"][i]
        for key in action:
            for value in rng.sample(ODD, 4):
                put(f"{action['type']}.{key}", ["actions", i, key], value)
        for key, obj in action["data"].items():
            for value in rng.sample(ODD, 4):
                put(f"{action['type']}.data.{key}", ["actions", i, "data", key], value)
            for sub in obj if isinstance(obj, dict) else ():
                for value in rng.sample(ODD, 3):
                    put(
                        f"{action['type']}.data.{key}.{sub}",
                        ["actions", i, "data", key, sub],
                        value,
                    )
    for key in ("cards", "lists", "memberships"):
        for sub in doc[key][0]:
            for value in rng.sample(ODD, 4):
                put(f"{key}[0].{sub}", [key, 0, sub], value)
    return out


def test_every_odd_value_is_refused_in_words_or_planned(tmp_path: Path) -> None:
    doc = _export()
    mutants = _mutants(doc, random.Random(51))
    assert len(mutants) > 500
    path = tmp_path / "board.json"
    refused: list[tuple[str, str]] = []
    for where, mutant in mutants:
        path.write_text(json.dumps(mutant))
        try:
            fetched = load_exports([path])
        except InputFileError as exc:
            refused.append((where, str(exc)))
            continue
        options = PlanOptions(
            since=datetime(2000, 1, 1, tzinfo=UTC),
            restore=frozenset(RESTORE_KINDS),
            add_to_board=True,
        )
        try:
            build_plan(fetched.history, fetched.state, options, fetched.members)
        except Exception as exc:
            pytest.fail(f"{where}: {exc!r}")
    assert len(refused) > 100
    for where, message in refused:
        assert str(path) in message, (where, message)
        assert "Error(" not in message, (where, message)  # no Python's words for it


@pytest.mark.parametrize(
    ("change", "needle"),
    [
        (lambda d: d.update(members=None), "(its members are not a list)"),
        (
            lambda d: d["cards"][0].update(idList=[]),
            "is not a Trello card (idList is [], not an id): export the board again",
        ),
        (
            lambda d: d["cards"][0].update(idBoard="b" * 24),
            f"on board {'b' * 24}, not this one: export",
        ),
        (lambda d: d["actions"][0].update(id=1.5), "the id of action #1 is not text"),
    ],
)
def test_the_command_line_says_what_is_wrong(tmp_path: Path, change: Any, needle: str) -> None:
    doc = _export()
    change(doc)
    path = tmp_path / "board.json"
    path.write_text(json.dumps(doc))
    r = CliRunner().invoke(main, ["--from-export", str(path), "--since", "2020-01-01", "--dry-run"])
    one_line_error(r, ExitCode.USAGE, needle)


def test_a_board_name_that_is_not_text_is_no_name(tmp_path: Path) -> None:
    """R53a: a board's ``name`` null was planned as a board named "None" (in the plan's text
    and the plan file); it is a board without a name, shown by its id."""
    doc = _export()
    doc["name"] = None
    path = tmp_path / "board.json"
    path.write_text(json.dumps(doc))
    plan = tmp_path / "plan.json"
    args = ["--from-export", str(path), "--since", "2020-01-01", "--dry-run", "--plan-out"]
    r = CliRunner().invoke(main, [*args, str(plan)])
    assert r.exit_code == 0, r.output
    assert "None" not in r.stdout
    assert [b["name"] for b in json.loads(plan.read_text())["inputs"]["boards"]] == [""]
