"""R44c: planning offline from exports that hold part of the history (Trello's 1000-action
cap, or a board whose export was not given)."""

from __future__ import annotations

import json
from pathlib import Path

from click.testing import CliRunner

from trello_restore.cli import main
from trello_restore.errors import ExitCode
from trello_restore.fetcher import load_exports
from trello_restore.planner import build_plan
from trello_restore.sandbox.scenario import generate

from .conftest import one_line_error
from .truthcheck import plan_options


def _write(path: Path, doc: object) -> Path:
    path.write_text(json.dumps(doc))
    return path


def test_a_card_moved_to_a_capped_board_cut_after_the_move_is_incomplete(tmp_path: Path) -> None:
    """Seed 5, 3,000 cards: the archive board's export keeps nothing older than a minute after
    the incident, so the removals the move logged there are missing, while the team board's
    export shows the cards' creation. They were read as silent losses ("lost without a logged
    removal", reconstructed); such cards are incomplete now, and every reconstructed change the
    offline plan holds is one the ground truth holds."""
    s = generate(5, 3000, second_damage=True)
    paths = [_write(tmp_path / f"{b.id}.json", s.export(b.id)) for b in (s.team, s.archive)]
    fetched = load_exports(paths, s.incident_at)
    truth = s.truth("d")
    options = plan_options(truth.options)
    plan = build_plan(fetched.history, fetched.state, options, fetched.members, fetched.incomplete)
    told = {
        (c.card_id, c.member_id)
        for c in (*truth.changes, *truth.blocked)
        if c.evidence == "reconstructed"
    }
    offline = [
        (c.card_id, c.member.id)
        for c in (*plan.changes, *(b.change for b in plan.blocked))
        if c.evidence is not None and c.evidence.kind == "reconstructed"
    ]
    assert [pair for pair in offline if pair not in told] == []
    # The two cards the review named (by their shortLinks) are among the incomplete ones.
    links = {c.id: c.short_link for c in fetched.state.cards.values()}
    assert {"edjzGUrV", "ZNHMGHQ2"} <= {links[c] for c in fetched.incomplete}


def _offline(*args: str) -> tuple[int, str, str]:
    r = CliRunner().invoke(main, [*args, "--dry-run", "-q"])
    return r.exit_code, r.stdout, r.stderr


def test_the_board_the_cards_left_alone_warns_of_the_board_they_went_to(tmp_path: Path) -> None:
    """Only the team board's export (the mover's own board, the obvious one to export): the
    cards moved to the archive board are not in it, and their removals were skipped as
    ``card_deleted`` without a word. The warning names the board they went to, as the API's
    does for a board it cannot read."""
    s = generate(1, 200, second_damage=True)
    team = _write(tmp_path / "team.json", s.export(s.team.id))
    code, _, err = _offline("--from-export", str(team), "--since", "2025-11-02")
    assert code == 0, err
    assert (
        f'Warning: cards moved to board "{s.archive.name}" ({s.archive.id}), whose export was '
        "not given: the cards now on it are left out of the plan (as if deleted); give that "
        "board's export too\n"
    ) in err
    both = _write(tmp_path / "archive.json", s.export(s.archive.id))
    code, _, err = _offline(
        "--from-export", str(team), "--from-export", str(both), "--since", "2025-11-02"
    )
    assert (code, err) == (0, "")


def test_the_cap_s_warning_says_when_the_window_starts_before_the_oldest_action(
    tmp_path: Path,
) -> None:
    """Seed 1, 1,000 cards: the team export keeps actions from 2025-09-20 on. A window from
    2025-06-01 misses what happened between, and a card moved twice then was planned back to
    the list between (R44c); the warning says the window starts before the oldest action. A
    window inside what the export keeps gets the usual line."""
    s = generate(1, 1000, second_damage=True)
    team = _write(tmp_path / "team.json", s.export(s.team.id))
    _, _, early = _offline("--from-export", str(team), "--since", "2025-06-01")
    assert (
        "(Trello's export cap): the window starts at 2025-06-01 00:00 UTC, before its oldest "
        "action (2025-09-20 10:51 UTC): what happened on the board in between is not in the "
        "plan, and a field or list changed then may be planned back to a later value"
    ) in early
    _, _, inside = _offline("--from-export", str(team), "--since", "2025-10-01")
    assert "history before 2025-09-20 10:51 UTC is missing; fetch from the API" in inside
    assert "the window starts" not in inside


def test_an_action_given_twice_is_a_damaged_export(tmp_path: Path) -> None:
    """An action id twice in one export passed for the cap (1,005 "actions") and, with two
    different bodies, one of them was dropped without a word."""
    s = generate(3, 60)
    doc = s.export(s.team.id)
    doc["actions"].append(dict(doc["actions"][0]))
    path = _write(tmp_path / "team.json", doc)
    r = CliRunner().invoke(main, ["--from-export", str(path), "--since", "2025-11-02", "--dry-run"])
    one_line_error(
        r, ExitCode.USAGE, f"holds action {doc['actions'][0]['id']} twice: it is damaged"
    )


def test_an_export_without_actions_says_so(tmp_path: Path) -> None:
    s = generate(3, 60)
    doc = s.export(s.team.id)
    doc["actions"] = []
    path = _write(tmp_path / "team.json", doc)
    code, _, err = _offline("--from-export", str(path), "--since", "2025-11-02")
    assert code == 0
    assert err == (
        f'Warning: {path} holds no actions: nothing that happened on board "{s.team.name}" '
        f"({s.team.id}) can be planned from it\n"
    )
