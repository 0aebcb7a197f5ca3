"""Names people choose on Trello cannot redirect what a command line selects (review R43f):
a member whose username is another member's id is not taken for them by ``--by`` or
``--removed-by``, and a board whose name starts or ends with a space is chosen by the name as
typed, not its trimmed twin. Over the CLI against the sandbox's small world."""

from __future__ import annotations

import json
from datetime import timedelta
from pathlib import Path

import pytest

from trello_restore.sandbox.world import App

from .conftest import T0, SandboxFactory, make_world, sandbox_cli

T2 = T0 + timedelta(days=1)


@pytest.mark.parametrize("flag", ["--by", "--removed-by"])
def test_an_id_names_its_member_not_one_whose_username_it_is(
    sandbox_factory: SandboxFactory, monkeypatch: pytest.MonkeyPatch, flag: str
) -> None:
    """ben's username is ana's id; after T2 ana takes cai off c3 and archives c2, ben takes
    ana off c1 and archives c4's list's card. ``--by ANA_ID`` plans ana's changes only; ben's
    username still selects ben."""
    sw = make_world()
    w, ids = sw.world, sw.ids
    w.members[ids["ben"]].username = ids["ana"]
    at = iter(T2 + timedelta(minutes=m) for m in range(1, 100))
    w.remove_member_from_card(ids["c3"], ids["cai"], ids["ana"], next(at))
    w.set_card_closed(ids["c2"], True, ids["ana"], next(at))
    w.remove_member_from_card(ids["c1"], ids["ana"], ids["ben"], next(at))
    w.set_card_closed(ids["c1"], True, ids["ben"], next(at))
    sb = sandbox_factory(sw, time_scale=100)
    invoke = sandbox_cli(sb, monkeypatch)
    restore = ("--restore", "all") if flag == "--by" else ()
    args = ("--board", ids["team"], "--since", T2.isoformat(), *restore, "--dry-run")

    def planned(who: str) -> set[tuple[str, str]]:
        result = invoke(*args, flag, who, "--format", "json")
        assert result.exit_code == 0, result.output
        return {(c["action"], c["card"]["id"]) for c in json.loads(result.stdout)["changes"]}

    ana_changes = {("add_member_to_card", ids["c3"])}
    ben_changes = {("add_member_to_card", ids["c1"])}
    if flag == "--by":
        ana_changes.add(("set_card_closed", ids["c2"]))
        ben_changes.add(("set_card_closed", ids["c1"]))
    assert planned(ids["ana"]) == ana_changes
    assert planned(ids["ben"]) == ben_changes
    assert planned("ana") == ana_changes  # ana's own username


def test_a_board_name_with_spaces_at_its_ends_is_chosen_as_typed(
    sandbox_factory: SandboxFactory, monkeypatch: pytest.MonkeyPatch
) -> None:
    """``--board "Sp Board "`` is that board, not its twin "Sp Board" (the value was trimmed);
    a name matching no board as typed falls back to one that differs only in case and spaces
    at the ends, and several such are an error that lists them; an id or shortLink with
    spaces around it is a board named so, if one is, else the id's board."""
    sw = make_world()
    w, ids = sw.world, sw.ids
    link = w.boards[ids["team"]].short_link
    made = {name: w.create_board(name, ids["lead"], T0, ids["org"]).id for name in (
        "Sp Board", "Sp Board ", "Solo Trail ", f"{link} ")}  # fmt: skip
    sb = sandbox_factory(sw, time_scale=100)
    invoke = sandbox_cli(sb, monkeypatch)

    def chosen(board: str) -> list[str]:
        result = invoke(
            "--board", board, "--since", T2.isoformat(), "--dry-run", "--format", "json"
        )
        assert result.exit_code == 0, result.output
        return [b["id"] for b in json.loads(result.stdout)["inputs"]["boards"]]

    assert chosen("Sp Board ") == [made["Sp Board "]]
    assert chosen("Sp Board") == [made["Sp Board"]]
    assert chosen("solo trail ") == [made["Solo Trail "]]
    assert chosen("Solo Trail") == [made["Solo Trail "]]
    # A board named as another's shortLink and a space: named so, it is that board (R43g).
    assert chosen(f"{link} ") == [made[f"{link} "]]
    assert chosen(link) == [ids["team"]]
    assert chosen(f" {link}") == [ids["team"]]  # no board has that name: the shortLink
    both = invoke("--board", " sp board", "--since", T2.isoformat(), "--dry-run")
    assert both.exit_code == 2, both.output
    assert 'are named " sp board" (ignoring case and spaces at the ends): "Sp Board"' in both.stderr


def test_the_run_line_quotes_a_board_or_workspace_as_typed(
    sandbox_factory: SandboxFactory, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    """``-v``'s first line (stderr and the log file) names the boards and workspace as given,
    quoted when not plain: a value holding an escape sequence and a line that passes for a log
    record went out raw (R43f)."""
    sb = sandbox_factory(make_world(), time_scale=100)
    invoke = sandbox_cli(sb, monkeypatch)
    log = tmp_path / "run.log"
    hostile = "X\x1b[2J\n2026-12-01 ERROR y"
    result = invoke(
        "--log-file", str(log), "--board", hostile, "--board", "Team", "--workspace", "acme\r",
        "--since", T2.isoformat(), "--dry-run", "-v",
    )  # fmt: skip
    assert result.exit_code == 2, result.output
    for text in (result.stderr, log.read_text()):
        assert "\x1b" not in text, text
        assert "\r" not in text, text
        assert not any(line.startswith("2026-12-01 ERROR") for line in text.splitlines()), text
        assert (
            'dry run on boards "X\\x1b[2J\\n2026-12-01 ERROR y", Team and workspace "acme\\r"'
            in text
        )


def test_an_id_seen_only_as_an_actor_still_names_that_member(
    sandbox_factory: SandboxFactory, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A member on no board, known only as the one an automation acted for, named by id with
    ``--by``: ben, whose username is that id, is not taken for them (R43g: the planner knew
    the id from no member listing and fell back to usernames)."""
    sw = make_world()
    w, ids = sw.world, sw.ids
    culprit = w.add_member("culprit", "Cul Prit", T0).id
    w.members[ids["ben"]].username = culprit
    at = iter(T2 + timedelta(minutes=m) for m in range(1, 100))
    w.set_card_field(ids["c1"], "name", "C1 by bot", culprit, next(at), app=App("b" * 24, "Bot"))
    w.set_card_field(ids["c2"], "name", "C2 by ben", ids["ben"], next(at))
    sb = sandbox_factory(sw, time_scale=100)
    invoke = sandbox_cli(sb, monkeypatch)
    for by in (culprit, f"@{culprit}"):
        result = invoke(
            "--board", ids["team"], "--since", T2.isoformat(), "--restore", "fields", "--by", by,
            "--dry-run", "--format", "json",
        )  # fmt: skip
        assert result.exit_code == 0, result.output
        changes = json.loads(result.stdout)["changes"]
        assert [c["card"]["id"] for c in changes] == [ids["c1"]], changes
