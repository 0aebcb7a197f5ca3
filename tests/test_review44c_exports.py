"""R44c: planning offline from exports that hold part of the history (Trello's 1000-action
cap, or a board whose export was not given)."""

from __future__ import annotations

import json
from dataclasses import replace
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from click.testing import CliRunner

from trello_restore.cli import main
from trello_restore.errors import ExitCode
from trello_restore.exports import EXPORT_CAP
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


# --------------------------------------------------- hand-made histories (R44g: cuts and moves)

_N = [0]


def _act(
    who: dict[str, Any], typ: str, date: str, data: dict[str, Any], **kw: Any
) -> dict[str, Any]:
    _N[0] += 1
    action = {"id": f"7{_N[0]:023x}", "idMemberCreator": who["id"], "data": data, "type": typ,
              "date": date, "appCreator": None, "limits": {}, "memberCreator": who}  # fmt: skip
    action.update(kw)
    return action


def _ref(doc: dict[str, Any]) -> dict[str, Any]:
    return {"id": doc["id"], "name": doc["name"], "shortLink": doc["shortLink"]}


def _cap(doc: dict[str, Any], filler: int, day: str) -> None:
    """``filler`` comments on ``day`` in ``doc``, then its newest 1,000 actions kept, as
    Trello's export cap keeps them."""
    other = doc["cards"][0]
    card = {k: other[k] for k in ("id", "name", "idShort", "shortLink")}
    for i in range(filler):
        when = f"{day}T{i // 3600 % 24:02d}:{i // 60 % 60:02d}:{i % 60:02d}.000Z"
        data = {"board": _ref(doc), "card": card, "text": f"filler {i}"}
        doc["actions"].append(_act(doc["actions"][0]["memberCreator"], "commentCard", when, data))
    doc["actions"].sort(key=lambda a: a["date"], reverse=True)
    del doc["actions"][EXPORT_CAP:]


def _mover(doc: dict[str, Any], username: str) -> dict[str, Any]:
    return next(
        a["memberCreator"] for a in doc["actions"]
        if a.get("memberCreator", {}).get("username") == username
    )  # fmt: skip


def test_a_card_that_left_a_list_before_the_list_moved_is_not_incomplete(tmp_path: Path) -> None:
    """R44g: a card of the team board (whose export is whole) was in a list for a day, a
    month before that list moved to the archive board, whose export the cap cut after the
    move. The card never left the team board, but counted as having been on the archive
    board (a list it was ever in moved there), so its reconstructed change was dropped."""
    s = generate(1, 200)
    team, archive = s.export(s.team.id), s.export(s.archive.id)
    moved = s.moved_lists[0]
    backlog = next(x for x in team["lists"] if x["name"] == "Backlog")
    raw = next(c for c in team["cards"] if c["idList"] == backlog["id"])
    card = {k: raw[k] for k in ("id", "name", "idShort", "shortLink")}
    gone = next(m for m in team["members"] if m["id"] not in raw["idMembers"])
    danak = _mover(team, s.mover.username)
    board = _ref(team)

    def move(date: str, before: str, after: str) -> dict[str, Any]:
        return _act(danak, "updateCard", date, {"board": board, "card": {**card, "idList": after},
                    "old": {"idList": before}, "listBefore": {"id": before, "name": "x"},
                    "listAfter": {"id": after, "name": "y"}})  # fmt: skip

    team["actions"] += [
        move("2025-10-01T00:00:00.000Z", backlog["id"], moved),
        move("2025-10-02T00:00:00.000Z", moved, backlog["id"]),
        _act(danak, "addMemberToCard", "2025-10-20T00:00:00.000Z",
             {"board": board, "card": card, "idMember": gone["id"],
              "member": {"id": gone["id"], "name": gone["fullName"]}}, member=gone),
    ]  # fmt: skip
    _cap(archive, 1000, "2025-11-04")
    paths = [_write(tmp_path / "team.json", team), _write(tmp_path / "archive.json", archive)]
    fetched = load_exports(paths, s.incident_at)
    assert raw["id"] not in fetched.incomplete
    options = plan_options(s.truth("d").options)
    plan = build_plan(fetched.history, fetched.state, options, fetched.members, fetched.incomplete)
    assert (raw["id"], gone["id"], "reconstructed") in {
        (c.card_id, c.member.id, c.evidence.kind)
        for c in (*plan.changes, *(b.change for b in plan.blocked))
        if c.evidence is not None
    }


Json = dict[str, Any]


def _card_move(
    who: Json, card: Json, typ: str, date: str, board: Json, other: Json, lst: Json
) -> Json:
    side = "boardTarget" if typ.endswith("FromBoard") else "boardSource"
    data = {"board": board, side: {"id": other["id"], "name": other["name"]}, "card": card,
            "list": lst, "member": {"id": who["id"], "name": who["fullName"]}}  # fmt: skip
    return _act(who, typ, date, data)


def test_a_card_whose_first_stay_on_a_capped_board_is_cut_is_incomplete(tmp_path: Path) -> None:
    """R44g: a card moved team -> archive, a member taken off it there on purpose, back to the
    team board, and to the archive board again; the archive's export keeps its second arrival
    but not the first stay. The card counted as complete (an arrival on the archive board is
    shown), and its member "lost without a logged removal" was planned back. With the whole
    archive export the removal is outside the window."""
    s = generate(1, 200)
    for filler, cut in ((1000, True), (50, False)):
        team, archive = s.export(s.team.id), s.export(s.archive.id)
        raw = next(c for c in team["cards"] if c["idMembers"] and c["idList"] not in s.moved_lists)
        card = {k: raw[k] for k in ("id", "name", "idShort", "shortLink")}
        x = raw["idMembers"][0]
        member = next(m for m in team["members"] if m["id"] == x)
        danak = _mover(team, s.mover.username)
        tb, ab = _ref(team), _ref(archive)
        tl = {"id": raw["idList"], "name": "Backlog"}
        al = {"id": archive["lists"][0]["id"], "name": archive["lists"][0]["name"]}
        team["actions"] += [
            _card_move(danak, card, "moveCardFromBoard", "2025-11-06T00:00:00.000Z", tb, ab, tl),
            _card_move(danak, card, "moveCardToBoard", "2025-11-06T02:00:00.000Z", tb, ab, tl),
            _card_move(danak, card, "moveCardFromBoard", "2025-11-11T00:00:00.000Z", tb, ab, tl),
        ]
        removal = {"board": ab, "card": card, "idMember": x,
                   "member": {"id": x, "name": member["fullName"]}}  # fmt: skip
        archive["actions"] += [
            _card_move(danak, card, "moveCardToBoard", "2025-11-06T00:00:00.000Z", ab, tb, al),
            _act(danak, "removeMemberFromCard", "2025-11-06T01:00:00.000Z", removal, member=member),
            _card_move(danak, card, "moveCardFromBoard", "2025-11-06T02:00:00.000Z", ab, tb, al),
            _card_move(danak, card, "moveCardToBoard", "2025-11-11T00:00:00.000Z", ab, tb, al),
        ]
        _cap(archive, filler, "2025-11-07")
        team["cards"] = [c for c in team["cards"] if c["id"] != raw["id"]]
        moved = {**raw, "idBoard": archive["id"], "idList": al["id"],
                 "idMembers": [m for m in raw["idMembers"] if m != x]}  # fmt: skip
        archive["cards"].append(moved)
        paths = [_write(tmp_path / "t.json", team), _write(tmp_path / "a.json", archive)]
        since = datetime(2025, 11, 10, tzinfo=UTC)
        fetched = load_exports(paths, since)
        assert (raw["id"] in fetched.incomplete) is cut
        options = replace(plan_options(s.truth("d").options), since=since)
        plan = build_plan(
            fetched.history, fetched.state, options, fetched.members, fetched.incomplete
        )
        mine = [c for c in (*plan.changes, *(b.change for b in plan.blocked))
                if c.card_id == raw["id"] and c.member.id == x]  # fmt: skip
        assert mine == []


def test_a_card_moved_out_and_back_is_not_warned_of_as_left_out(tmp_path: Path) -> None:
    """R44g: the team board's export alone, a card moved to a board whose export is not given
    and back: it is on the team board now, not left out of the plan (as the warning said);
    its history from before it came back is what is missing, and that is said."""
    s = generate(1, 200)
    team = s.export(s.team.id)
    raw = next(c for c in team["cards"] if c["idList"] not in s.moved_lists)
    card = {k: raw[k] for k in ("id", "name", "idShort", "shortLink")}
    danak = _mover(team, s.mover.username)
    elsewhere = {"id": "6a0000000000000000000001", "name": "Elsewhere"}
    tl = {"id": raw["idList"], "name": "Backlog"}
    team["actions"] += [
        _card_move(danak, card, "moveCardFromBoard", "2025-10-06T00:00:00.000Z", _ref(team),
                   elsewhere, tl),
        _card_move(danak, card, "moveCardToBoard", "2025-10-07T00:00:00.000Z", _ref(team),
                   elsewhere, tl),
    ]  # fmt: skip
    fetched = load_exports([_write(tmp_path / "t.json", team)], datetime(2025, 11, 2, tzinfo=UTC))
    said = [w for w in fetched.warnings if '"Elsewhere"' in w]
    assert said == [
        f'cards moved in from board "Elsewhere" ({elsewhere["id"]}), whose export was not '
        "given: their history from before the move is missing"
    ]
    assert raw["id"] in fetched.incomplete
