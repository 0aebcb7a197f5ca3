"""Parse Trello JSON (actions, cards, memberships) into the planner's values. Pure functions.

Accepts every action shape seen in the real samples (2011 to 2021: with or without ``data.member``,
``limits``, ``appCreator``), ignores types it does not use, and de-duplicates by action id.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from datetime import UTC, datetime
from typing import Any

from trello_restore.models import (
    BoardState,
    CardInfo,
    CardState,
    History,
    MemberAction,
    MemberRef,
    Membership,
    MoveAction,
)

JSON = Mapping[str, Any]

#: Action types the fetcher asks for (an explicit filter; never rely on Trello's defaults).
ACTION_FILTER = (
    "addMemberToCard",
    "removeMemberFromCard",
    "moveCardToBoard",
    "moveCardFromBoard",
    "moveListToBoard",
    "moveListFromBoard",
    "createCard",
    "copyCard",
    "convertToCardFromCheckItem",
    "deleteCard",
    "updateCard:idList",
    "updateCard:closed",
)
MOVE_TYPES = frozenset(
    {"moveCardToBoard", "moveCardFromBoard", "moveListToBoard", "moveListFromBoard"}
)


class HistoryError(ValueError):
    """The JSON is not Trello actions or cards (a field is missing or has the wrong type)."""


def parse_date(value: str) -> datetime:
    """Trello's ``2021-07-10T17:01:58.636Z`` (or any ISO-8601 with a zone) as aware UTC."""
    text = value[:-1] + "+00:00" if value.endswith("Z") else value
    parsed = datetime.fromisoformat(text)
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=UTC)
    return parsed.astimezone(UTC)


def _member_ref(obj: Any) -> MemberRef | None:
    if not isinstance(obj, Mapping) or not isinstance(obj.get("id"), str):
        return None
    return MemberRef(
        id=obj["id"],
        username=str(obj.get("username") or ""),
        full_name=str(obj.get("fullName") or obj.get("name") or ""),
    )


def _better(old: MemberRef | None, new: MemberRef) -> MemberRef:
    """Merge what two sightings of a member tell."""
    if old is None:
        return new
    return MemberRef(
        id=new.id,
        username=old.username or new.username,
        full_name=old.full_name or new.full_name,
    )


def parse_history(actions: Iterable[JSON]) -> History:
    """Parse actions from any number of feeds into one de-duplicated ``History``."""
    seen: set[str] = set()
    member_actions: list[MemberAction] = []
    moves: list[MoveAction] = []
    deleted: dict[str, str] = {}
    card_lists: list[tuple[datetime, str, str]] = []
    cards: dict[str, CardInfo] = {}
    members: dict[str, MemberRef] = {}
    oldest: dict[str, datetime] = {}
    for raw in actions:
        try:
            action_id, type_, data = raw["id"], raw["type"], raw["data"]
            date = parse_date(raw["date"])
            by = raw["idMemberCreator"]
            board = data.get("board") or {}
            board_id = board.get("id", "")
        except (KeyError, TypeError, AttributeError, ValueError) as exc:
            raise HistoryError(f"not a Trello action: {exc!r}") from exc
        if board_id and (board_id not in oldest or date < oldest[board_id]):
            oldest[board_id] = date
        if action_id in seen:
            continue
        seen.add(action_id)
        for key in ("memberCreator", "member"):
            ref = _member_ref(raw.get(key))
            if ref is not None:
                members[ref.id] = _better(members.get(ref.id), ref)
        card = data.get("card") or {}
        card_id = card.get("id")
        lst = data.get("list") or {}
        if isinstance(card_id, str):
            prev = cards.get(card_id)
            cards[card_id] = CardInfo(
                id=card_id,
                name=(prev.name if prev and prev.name else "") or str(card.get("name") or ""),
                short_link=(prev.short_link if prev else "") or str(card.get("shortLink") or ""),
                board_id=(prev.board_id if prev else "") or board_id,
                list_id=(prev.list_id if prev else "") or str(lst.get("id") or ""),
            )
        if type_ in ("addMemberToCard", "removeMemberFromCard") and isinstance(card_id, str):
            member_id = data.get("idMember") or (raw.get("member") or {}).get("id")
            if not isinstance(member_id, str):
                raise HistoryError(f"{type_} {action_id} names no member")
            ref = _member_ref(data.get("member"))
            if ref is not None:
                members[ref.id] = _better(members.get(ref.id), ref)
            member_actions.append(
                MemberAction(
                    id=action_id,
                    kind="add" if type_ == "addMemberToCard" else "remove",
                    date=date,
                    card_id=card_id,
                    member_id=member_id,
                    by=by,
                    board_id=board_id,
                    deactivated=bool(data.get("deactivated", False)),
                )
            )
        elif type_ in MOVE_TYPES:
            if "ToBoard" in type_:
                source, target = (data.get("boardSource") or {}).get("id", ""), board_id
            else:
                source, target = board_id, (data.get("boardTarget") or {}).get("id", "")
            moves.append(
                MoveAction(
                    id=action_id,
                    type=type_,
                    date=date,
                    by=by,
                    card_id=card_id if type_.startswith("moveCard") else None,
                    list_id=lst.get("id") if type_.startswith("moveList") else None,
                    source_board_id=source,
                    target_board_id=target,
                )
            )
            if type_ == "moveCardToBoard" and isinstance(card_id, str) and lst.get("id"):
                card_lists.append((date, card_id, lst["id"]))
        elif type_ == "deleteCard" and isinstance(card_id, str):
            deleted[card_id] = action_id
        elif isinstance(card_id, str):
            after = (data.get("listAfter") or {}).get("id") or (
                lst.get("id") if type_ in ("createCard", "copyCard") else None
            )
            if type_ == "convertToCardFromCheckItem":
                after = lst.get("id")
            if after:
                card_lists.append((date, card_id, after))
    member_actions.sort(key=lambda a: (a.date, a.id))
    moves.sort(key=lambda a: (a.date, a.id))
    card_lists.sort()
    return History(
        member_actions=tuple(member_actions),
        moves=tuple(moves),
        deleted_cards=deleted,
        card_lists=tuple(card_lists),
        cards=cards,
        members=members,
        oldest=oldest,
    )


def parse_card(raw: JSON) -> CardState:
    """A card from ``GET /boards/{id}/cards`` or a board export."""
    try:
        return CardState(
            id=raw["id"],
            name=str(raw.get("name", "")),
            short_link=str(raw.get("shortLink", "")),
            board_id=raw["idBoard"],
            list_id=raw["idList"],
            closed=bool(raw.get("closed", False)),
            member_ids=tuple(raw["idMembers"]),
        )
    except (KeyError, TypeError) as exc:
        raise HistoryError(f"not a Trello card: {exc!r}") from exc


def parse_board(raw: JSON, memberships: Iterable[JSON], lists: Iterable[JSON] = ()) -> BoardState:
    """A board with its memberships (``GET /boards/{id}/memberships``) and lists."""
    try:
        ms = {
            m["idMember"]: Membership(
                member_id=m["idMember"],
                member_type=str(m.get("memberType", "normal")),
                deactivated=bool(m.get("deactivated", False)),
                unconfirmed=bool(m.get("unconfirmed", False)),
            )
            for m in memberships
        }
        return BoardState(
            id=raw["id"],
            name=str(raw.get("name", "")),
            memberships=ms,
            lists={x["id"]: str(x.get("name", "")) for x in lists},
        )
    except (KeyError, TypeError) as exc:
        raise HistoryError(f"not a Trello board: {exc!r}") from exc


def members_from_listing(raw: Iterable[JSON]) -> dict[str, MemberRef]:
    """Member names from ``GET /boards/{id}/members`` or an export's ``members``."""
    out: dict[str, MemberRef] = {}
    for m in raw:
        ref = _member_ref(m)
        if ref is not None:
            out[ref.id] = ref
    return out
