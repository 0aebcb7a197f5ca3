"""Read history and current state offline, from Trello board JSON exports (board menu >
Print, export and share > Export as JSON), one file per board.

An export holds the board, its lists, cards, members and memberships, and at most its newest
1000 actions: cards whose history the exports do not show back to their creation or arrival
are marked incomplete, and boards cards moved in from without an export given are named in a
warning. Files that cannot be read or are not board exports are one-line ``InputFileError``s.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from datetime import datetime
from pathlib import Path
from typing import Any

from trello_restore.errors import InputFileError, UsageError
from trello_restore.fetched import BoardInfo, Fetched, born_in_feed
from trello_restore.fsutil import read_named
from trello_restore.history import (
    HistoryBuilder,
    HistoryError,
    members_from_listing,
    parse_board,
    parse_card,
    parse_date,
    text_or_empty,
)
from trello_restore.models import BoardState, CardState, History, MemberRef, MoveAction, State
from trello_restore.parsing import load_json
from trello_restore.words import board_ref, shown_name

__all__ = ["EXPORT_CAP", "load_exports"]

#: The most actions Trello puts in a board export (its newest).
EXPORT_CAP = 1000


def load_exports(paths: Iterable[str | Path], since: datetime | None = None) -> Fetched:
    """Offline: history and state from Trello board JSON exports (one per board).

    A board export holds at most its newest 1000 actions (``EXPORT_CAP``); cards whose history
    the exports do not cover back to their creation or their arrival on each board they were on
    are marked incomplete, and reconstructed changes are not planned for them. The cap's
    warning says so apart when the window (``since``) starts before the oldest action kept.
    """
    raw_actions: list[Mapping[str, Any]] = []
    boards_state: dict[str, BoardState] = {}
    cards: dict[str, CardState] = {}
    members: dict[str, MemberRef] = {}
    infos: list[BoardInfo] = []
    warnings: list[str] = []
    capped: dict[str, Any] = {}
    builder = HistoryBuilder()
    given: dict[str, Path] = {}  # board id -> the export of it
    created: dict[str, set[str]] = {}  # board id -> cards its export shows created there
    for path in _once_each([Path(p) for p in paths]):
        doc = _read_export(path)
        actions = doc["actions"]
        _one_per_board(doc, path, given)
        try:
            builder.add(actions)
        except HistoryError as exc:
            raise InputFileError(_bad_action(path, actions, exc)) from None
        _each_action_once(path, actions)
        raw_actions.extend(actions)
        created[doc["id"]] = born_in_feed(actions, created_only=True)
        try:
            boards_state[doc["id"]] = parse_board(
                doc, doc.get("memberships", []), doc.get("lists", [])
            )
            for number, raw in enumerate(doc["cards"], 1):
                cards.update(_card(raw, number, doc["id"]))
            members.update(members_from_listing(doc.get("members", [])))
        except HistoryError as exc:
            raise InputFileError(
                f"{path} is not a Trello board export: {exc}: export the board again (board "
                "menu > Print, export and share > Export as JSON)"
            ) from None
        name, url = text_or_empty(doc.get("name")), text_or_empty(doc.get("url"))
        infos.append(BoardInfo(id=doc["id"], name=name, url=url))
        if not actions:
            warnings.append(
                f"{path} holds no actions: nothing that happened on board "
                f"{board_ref(str(doc['id']), str(doc['name']))} can be planned from it"
            )
        if len(actions) >= EXPORT_CAP:
            oldest = min(parse_date(a["date"]) for a in actions)
            capped[doc["id"]] = oldest
            warnings.append(_capped(path, len(actions), oldest, since))
    history = builder.build()
    incomplete = _incomplete(history, cards, capped, created)
    known_boards = set(boards_state)
    for m in history.moves:
        if m.type.endswith("ToBoard") and m.source_board_id not in known_boards:
            incomplete.update(
                cid
                for cid, c in cards.items()
                if (m.card_id == cid) or (m.list_id is not None and c.list_id == m.list_id)
            )
            warnings.append(
                f"cards moved in from board {board_ref(m.source_board_id, m.other_board_name)}, "
                "whose export was not given: "
                "their history from before the move is missing"
            )
        elif (
            m.type.endswith("FromBoard")
            and m.target_board_id not in known_boards
            and not (
                m.card_id in cards
                if m.card_id
                else any(m.list_id in b.lists for b in boards_state.values())
            )
        ):  # and not moved back since (R44g: the warning said it was left out of the plan)
            warnings.append(
                f"cards moved to board {board_ref(m.target_board_id, m.other_board_name)}, "
                "whose export was not given: the cards now on it are left out of the plan "
                "(as if deleted); give that board's export too"
            )
    return Fetched(
        history=history,
        state=State(boards=boards_state, cards=cards),
        members=members,
        boards=infos,
        incomplete=frozenset(incomplete),
        warnings=list(dict.fromkeys(warnings)),
        named=frozenset(boards_state),
    )


def _capped(path: Path, count: int, oldest: datetime, since: datetime | None) -> str:
    """The warning for an export holding Trello's cap of actions, its oldest at ``oldest``:
    what is missing reaches into the window when it starts (``since``) before that."""
    kept = f"{path} holds only the newest {count} actions (Trello's export cap): "
    if since is not None and since < oldest:
        return (
            f"{kept}the window starts at {since:%Y-%m-%d %H:%M} UTC, before its oldest action "
            f"({oldest:%Y-%m-%d %H:%M} UTC): what happened on the board in between is not in "
            "the plan, and a field or list changed then may be planned back to a later value; "
            "fetch from the API for a complete plan"
        )
    return (
        f"{kept}history before {oldest:%Y-%m-%d %H:%M} UTC is missing; fetch from the API for "
        "a complete plan"
    )


def _list_at(places: list[tuple[datetime, str]], now: str, when: datetime) -> str | None:
    """The list a card was in at ``when``: its last place (``History.card_lists``) then; its
    list now when the history shows none; None when it shows it only later (it came after)."""
    before = [lid for date, lid in places if date <= when]
    if before:
        return before[-1]
    return None if places else now


def _incomplete(
    history: History,
    cards: Mapping[str, CardState],
    capped: Mapping[str, datetime],
    created: Mapping[str, set[str]],
) -> set[str]:
    """Cards with a stay on a board whose export is capped (``capped``: its oldest action)
    that began before its oldest action: their history there is cut (R44c: a card created on
    a board whose export is whole, then moved to a capped one whose cut falls after the move,
    read its logged removals there as silent losses). A stay begins with the move that took
    the card there (a card move, or a list move while the card was in that list: R44g, not a
    list it had left), or, the first, with the card's creation, which must be in that
    board's export (``created``). A card moved A -> B -> A -> B is incomplete when its first
    stay on B is cut, whatever the second (R44g)."""
    if not capped:
        return set()
    places: dict[str, list[tuple[datetime, str]]] = {}
    for date, cid, lid in history.card_lists:
        if cid in cards:
            places.setdefault(cid, []).append((date, lid))
    by_card: dict[str, list[MoveAction]] = {}
    by_list: dict[str, list[MoveAction]] = {}
    for m in history.moves:
        if m.card_id:
            by_card.setdefault(m.card_id, []).append(m)
        elif m.list_id:
            by_list.setdefault(m.list_id, []).append(m)
    out: set[str] = set()
    for cid, card in cards.items():
        seen = places.get(cid, [])
        carried = list(by_card.get(cid, ()))
        for lid in {card.list_id, *(lid for _, lid in seen)}:
            carried += [
                m for m in by_list.get(lid, ()) if _list_at(seen, card.list_id, m.date) == lid
            ]
        carried.sort(key=lambda m: m.date)
        first = carried[0].source_board_id if carried else card.board_id
        cut_first = first in capped and cid not in created[first]
        if cut_first or any(
            m.target_board_id in capped and m.date < capped[m.target_board_id] for m in carried
        ):
            out.add(cid)
    return out


def _each_action_once(path: Path, actions: list[Any]) -> None:
    """A Trello export lists each action once: an id given twice is a damaged file (its count
    would pass for the cap; its two versions would each be read as the action)."""
    seen: set[str] = set()
    for raw in actions:
        name = raw.get("id") if isinstance(raw, dict) else None
        if not isinstance(name, str):
            continue  # not an action the history reads
        if name in seen:
            raise InputFileError(
                f"export {path} holds action {shown_name(name)} twice: it is damaged; "
                "export the board again (board menu > Print, export and share > Export as JSON)"
            )
        seen.add(name)


def _once_each(paths: list[Path]) -> list[Path]:
    """The exports given, refused (``UsageError``) when one file is given twice, by the same
    name or another (a typo for another board's export, whose board would then be missing)."""
    seen: dict[tuple[int, int], Path] = {}
    for path in paths:
        try:
            st = path.stat()
        except OSError:
            continue  # read next, which says what is wrong with it
        first = seen.get((st.st_dev, st.st_ino))
        seen[st.st_dev, st.st_ino] = path
        if first is not None:
            twice = (
                f"{path} is given twice" if first == path else f"{first} and {path} are one file"
            )
            raise UsageError(
                f"--from-export: {twice}; give each board's export once (another board "
                "needs an export of its own)"
            )
    return paths


def _card(raw: Any, number: int, board_id: str) -> dict[str, CardState]:
    """An export's card ``number`` (from 1), by its id; a ``HistoryError`` naming it (R53a: "not
    a Trello card: idBoard is null" among a thousand cards) when it is not a card of the board
    exported (R51a: one of another board's was a crash in the planner)."""
    name = raw.get("id") if isinstance(raw, dict) else None
    which = f"card {shown_name(name)}" if isinstance(name, str) and name else f"card #{number}"
    try:
        card = parse_card(raw)
    except HistoryError as exc:
        why = str(exc).removeprefix("not a Trello card: ")
        raise HistoryError(f"{which} is not a Trello card ({why})") from None
    if card.board_id != board_id:
        raise HistoryError(f"{which} says it is on board {shown_name(card.board_id)}, not this one")
    return {card.id: card}


def _one_per_board(doc: Mapping[str, Any], path: Path, given: dict[str, Path]) -> None:
    """Two exports of one board would each give its state (the last read would win) and their
    histories merged: a plan that depends on the order the files are given in."""
    board = doc["id"]
    first = given.setdefault(str(board), path)
    if first != path:
        shown = board_ref(str(board), text_or_empty(doc["name"]))
        raise InputFileError(
            f"{first} and {path} are both exports of board {shown}: "
            "give one export per board (its newest)"
        )


def _bad_action(path: Path, actions: list[Any], exc: HistoryError) -> str:
    """The message for an export whose actions do not parse: the first bad action and what
    is wrong with it, without Python's words for it."""
    again = "export the board again (board menu > Print, export and share > Export as JSON)"
    for number, raw in enumerate(actions, 1):
        if not isinstance(raw, dict):
            return f"export {path}: action #{number} is not a JSON object: {again}"
        name = raw.get("id")
        what = (
            f"action {shown_name(name)}" if isinstance(name, str) and name else f"action #{number}"
        )
        missing = [k for k in ("id", "type", "data", "date", "idMemberCreator") if k not in raw]
        if missing:
            lacks = ", ".join(missing)
            return f"export {path}: {what} is not a Trello action (it has no {lacks}): {again}"
        if not isinstance(raw["data"], dict):
            return f"export {path}: {what} has data that is not a JSON object: {again}"
        odd = [k for k in ("id", "type", "idMemberCreator") if not isinstance(raw[k], str)]
        if odd:
            return f"export {path}: the {odd[0]} of {what} is not text: {again}"
        date = raw["date"]
        try:
            parse_date(date)
        except (TypeError, ValueError, AttributeError):
            shown = repr(date)[:40] if isinstance(date, str) else f"a JSON {_json_type(date)}"
            return f"export {path}: {what} has a date that is not a date ({shown}): {again}"
    why = "" if str(exc).startswith("not a Trello action") else f" ({exc})"
    return f"export {path} holds an action that is not a Trello action{why}: {again}"


def _json_type(value: object) -> str:
    """The JSON name of a parsed value's type."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, (int, float)):
        return "number"
    return "array" if isinstance(value, list) else "object"


#: The lists an export may lack (an export of a version of Trello's without them).
_LISTS = ("members", "memberships")


def _read_export(path: Path) -> dict[str, Any]:
    try:
        text = read_named(path).decode("utf-8")
    except FileNotFoundError:
        raise InputFileError(
            f"{path}: no such file; give the path of a Trello board JSON export"
        ) from None
    except IsADirectoryError:
        raise InputFileError(
            f"{path} is a directory; give a Trello board JSON export file"
        ) from None
    except UnicodeDecodeError:
        raise InputFileError(
            f"{path} is not a Trello board export (not UTF-8 text): export the board again "
            "(board menu > Print, export and share > Export as JSON)"
        ) from None
    except OSError as exc:
        raise InputFileError(
            f"{path} cannot be read ({exc.strerror or exc}); check the file and its permissions"
        ) from None
    try:
        doc = load_json(text.removeprefix("\ufeff"))  # a BOM: an editor saved it
    except json.JSONDecodeError as exc:
        raise InputFileError(
            f"{path} is not valid JSON (line {exc.lineno}): export the board again "
            "(board menu > Print, export and share > Export as JSON)"
        ) from None
    required = ("id", "name", "actions", "cards", "lists")
    if not isinstance(doc, dict) or any(k not in doc for k in required):
        raise InputFileError(
            f"{path} is JSON but not a Trello board export (it needs id, name, actions, cards "
            "and lists): export the board as JSON from Trello's board menu"
        )
    odd = [k for k in (*required[2:], *_LISTS) if not isinstance(doc.get(k, []), list)]
    if not isinstance(doc["id"], str) or odd:
        what = f"its {odd[0]} are not a list" if odd else "its id is not text"
        raise InputFileError(
            f"{path} is not a Trello board export ({what}): export the board again "
            "(board menu > Print, export and share > Export as JSON)"
        )
    return doc
