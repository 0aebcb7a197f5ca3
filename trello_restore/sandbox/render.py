"""Render sandbox objects as the JSON Trello returns (shapes: ../shared/fixtures, notes §2, §3).

Action envelopes follow the 2021 shape (nextcloud/deck export): ``id, idMemberCreator, data, type,
date, appCreator, limits, member, memberCreator``; member objects follow the 2021
``member_fields`` default. Cards carry every key py-trello's ``Card.from_json`` requires.

An action made by an automation (``Action.app``) carries ``appCreator: {id, name, authType}`` and
no ``memberCreator`` (trello.js models ``memberCreator`` as optional, notes §13.5); a member whose
name is private (``Member.name_hidden``) has no ``fullName`` or ``initials``, and their
``nonPublic`` object is the only place that holds them (notes §13.6).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from typing import Any

from trello_restore.sandbox.ids import iso
from trello_restore.sandbox.world import (
    FEED_EXCLUDED_TYPES,
    Action,
    App,
    Board,
    Card,
    Member,
    Membership,
    Organization,
    TrelloList,
    World,
)

JSON = dict[str, Any]

_CARD_LIMITS: JSON = {
    "attachments": {"perCard": {"status": "ok", "disableAt": 1000, "warnAt": 900}},
    "checklists": {"perCard": {"status": "ok", "disableAt": 500, "warnAt": 450}},
    "stickers": {"perCard": {"status": "ok", "disableAt": 70, "warnAt": 63}},
}
_LIST_LIMITS: JSON = {
    "cards": {
        "openPerList": {"status": "ok", "disableAt": 5000, "warnAt": 4500},
        "totalPerList": {"status": "ok", "disableAt": 1000000, "warnAt": 900000},
    }
}


def _pos(value: float) -> float | int:
    """Trello sends whole positions as integers (``65535``), fractional ones as floats."""
    return int(value) if float(value).is_integer() else value


_LABEL_COLOURS = (
    "green",
    "yellow",
    "orange",
    "red",
    "purple",
    "blue",
    "sky",
    "lime",
    "pink",
    "black",
)


def member_in_action(m: Member) -> JSON:
    """A member object as embedded in actions (``member``, ``memberCreator``)."""
    avatar = f"https://trello-members.s3.amazonaws.com/{m.id}/{m.avatar_hash}"
    if m.name_hidden:
        return {
            "id": m.id,
            "username": m.username,
            "activityBlocked": False,
            "avatarHash": None,
            "avatarUrl": None,
            "idMemberReferrer": None,
            "nonPublic": {
                "fullName": m.full_name,
                "initials": m.initials,
                "avatarUrl": avatar,
                "avatarHash": m.avatar_hash,
            },
            "nonPublicAvailable": True,
        }
    return {
        "id": m.id,
        "username": m.username,
        "activityBlocked": False,
        "avatarHash": m.avatar_hash,
        "avatarUrl": avatar,
        "fullName": m.full_name,
        "idMemberReferrer": None,
        "initials": m.initials,
        "nonPublic": {
            "fullName": m.full_name,
            "initials": m.initials,
            "avatarUrl": avatar,
            "avatarHash": m.avatar_hash,
        },
        "nonPublicAvailable": True,
    }


#: An action's keys in Trello's order (without the embedded members), each with how its value
#: is made from the action.
ACTION_KEYS: dict[str, Callable[[Action], Any]] = {
    "id": lambda a: a.id,
    "idMemberCreator": lambda a: a.id_member_creator,
    "data": lambda a: a.data,
    "type": lambda a: a.type,
    "date": lambda a: iso(a.date),
    "appCreator": lambda a: app_creator(a.app) if a.app is not None else None,
    "limits": lambda a: {},
}
#: Embedded member objects already made, by role (``member``, ``memberCreator``) and member
#: id: what a page of actions shares (members do not change while a page is made).
People = dict[tuple[str, str], JSON]


def action(
    world: World,
    a: Action,
    *,
    member: bool = True,
    member_creator: bool = True,
    keys: Iterable[str] | None = None,
    member_keys: Sequence[str] | None = None,
    creator_keys: Sequence[str] | None = None,
    people: People | None = None,
) -> JSON:
    """One action as ``GET /boards/{id}/actions`` returns it.

    ``keys``: which of ``ACTION_KEYS`` to make, in their order (None: all of them);
    ``member_keys``/``creator_keys``: the keys the embedded ``member``/``memberCreator`` keep,
    in that order, those a member object has (None: all of them); ``people``: the embedded
    objects made so far for the page, shared to make each member once."""
    wanted = ACTION_KEYS if keys is None else keys
    out: JSON = {k: ACTION_KEYS[k](a) for k in wanted}
    if member and a.id_member is not None:
        out["member"] = _embedded(world, "member", a.id_member, member_keys, people)
    if member_creator and a.app is None:
        out["memberCreator"] = _embedded(
            world, "memberCreator", a.id_member_creator, creator_keys, people
        )
    return out


def _embedded(
    world: World, role: str, member_id: str, keys: Sequence[str] | None, people: People | None
) -> JSON:
    made = None if people is None else people.get((role, member_id))
    if made is None:
        full = member_in_action(world.members[member_id])
        made = full if keys is None else {k: full[k] for k in keys if k in full}
        if people is None:
            return made
        people[(role, member_id)] = made
    return dict(made)


def app_creator(app: App) -> JSON:
    """``appCreator`` of an action an automation made: ``{id, authType}``, the shape the notes
    know (§2.1), and ``name`` only for an app given one (``App.name``; R71b: the automation's
    "Butler", a name Trello is not known to send, was in every demo)."""
    named = {"name": app.name} if app.name else {}
    return {"id": app.id, **named, "authType": "automation"}


def member_full(m: Member, member_type: str = "normal") -> JSON:
    """A member as in ``members/me`` and board exports."""
    return member_in_action(m) | {
        "bio": "",
        "bioData": None,
        "confirmed": True,
        "memberType": member_type,
        "idEnterprise": None,
        "idEnterprisesDeactivated": [],
        "idPremOrgsAdmin": [],
        "products": [],
        "status": "disconnected",
        "url": f"https://trello.com/{m.username}",
    }


def member_short(m: Member) -> JSON:
    """``GET /boards/{id}/members`` item (default fields ``fullName,username``)."""
    if m.name_hidden:
        return {"id": m.id, "username": m.username}
    return {"id": m.id, "fullName": m.full_name, "username": m.username}


def membership(ms: Membership) -> JSON:
    """``GET /boards/{id}/memberships`` item."""
    return {
        "id": ms.id,
        "idMember": ms.id_member,
        "memberType": ms.member_type,
        "unconfirmed": ms.unconfirmed,
        "deactivated": ms.deactivated,
    }


def _card_badges(c: Card) -> JSON:
    return {
        "attachmentsByType": {"trello": {"board": 0, "card": 0}},
        "location": False,
        "votes": 0,
        "viewingMemberVoted": False,
        "subscribed": False,
        "fogbugz": "",
        "checkItems": 0,
        "checkItemsChecked": 0,
        "checkItemsEarliestDue": None,
        "comments": 0,
        "attachments": 0,
        "description": bool(c.desc),
        "due": c.due,
        "dueComplete": c.due_complete,
        "start": c.start,
    }


def _card_cover(c: Card) -> JSON:
    return {
        "idAttachment": None,
        "color": None,
        "idUploadedBackground": None,
        "size": "normal",
        "brightness": "dark",
        "idPlugin": None,
    }


#: A card's keys in Trello's order, each with how its value is made from the card.
_CARD_KEYS: dict[str, Callable[[Card], Any]] = {
    "id": lambda c: c.id,
    "address": lambda c: None,
    "checkItemStates": lambda c: None,
    "closed": lambda c: c.closed,
    "coordinates": lambda c: None,
    "creationMethod": lambda c: None,
    "dateLastActivity": lambda c: iso(c.date_last_activity),
    "desc": lambda c: c.desc,
    "descData": lambda c: None,
    "dueReminder": lambda c: None,
    "idBoard": lambda c: c.id_board,
    "idLabels": lambda c: [],
    "idList": lambda c: c.id_list,
    "idMembersVoted": lambda c: [],
    "idShort": lambda c: c.id_short,
    "idAttachmentCover": lambda c: None,
    "locationName": lambda c: None,
    "manualCoverAttachment": lambda c: False,
    "name": lambda c: c.name,
    "pos": lambda c: _pos(c.pos),
    "shortLink": lambda c: c.short_link,
    "isTemplate": lambda c: False,
    "cardRole": lambda c: None,
    "badges": _card_badges,
    "dueComplete": lambda c: c.due_complete,
    "due": lambda c: c.due,
    "email": lambda c: f"card+{c.short_link.lower()}@boards.trello.com",
    "idChecklists": lambda c: [],
    "idMembers": lambda c: list(c.id_members),
    "labels": lambda c: [],
    "limits": lambda c: _CARD_LIMITS,
    "shortUrl": lambda c: f"https://trello.com/c/{c.short_link}",
    "start": lambda c: c.start,
    "subscribed": lambda c: False,
    "url": lambda c: c.url,
    "cover": _card_cover,
}

#: The keys a card has, as ``card_fields``/``fields=`` may name them.
CARD_KEYS = frozenset(_CARD_KEYS)


def card(c: Card, keys: Iterable[str] | None = None) -> JSON:
    """A card with every key py-trello's ``Card.from_json`` requires; with ``keys``, only
    those of them that a card has, in the order given (what ``fields=`` picks), and only those
    are made: a page of cards costs the fields it asks for."""
    if keys is None:
        return {k: make(c) for k, make in _CARD_KEYS.items()}
    return {k: _CARD_KEYS[k](c) for k in keys if k in _CARD_KEYS}


def trello_list(lst: TrelloList) -> JSON:
    """A list as in ``GET /boards/{id}/lists``."""
    return {
        "id": lst.id,
        "name": lst.name,
        "closed": lst.closed,
        "idBoard": lst.id_board,
        "pos": _pos(lst.pos),
        "subscribed": False,
        "softLimit": None,
        "limits": _LIST_LIMITS,
        "creationMethod": None,
    }


def board(world: World, b: Board) -> JSON:
    """A board as in ``GET /boards/{id}`` and ``GET /members/me/boards``."""
    feed = world.board_feed.get(b.id)
    last = iso(feed[-1].date if feed else b.created)
    return {
        "id": b.id,
        "name": b.name,
        "desc": b.desc,
        "descData": None,
        "closed": b.closed,
        "idOrganization": b.id_organization,
        "idEnterprise": None,
        "pinned": False,
        "starred": False,
        "url": b.url,
        "shortUrl": f"https://trello.com/b/{b.short_link}",
        "prefs": {
            # Every sandbox board is members-only: only its members read it (``_readable``),
            # so it says so. Trello's workspace-visible boards ("org"), which the workspace's
            # members read without being the board's, are not modelled (R45d).
            "permissionLevel": "private",
            "voting": "disabled",
            "comments": "members",
            "invitations": "members",
            "selfJoin": True,
            "cardCovers": True,
            "calendarFeedEnabled": False,
            "background": "blue",
            "backgroundColor": "#0079BF",
            "backgroundImage": None,
            "backgroundImageScaled": None,
            "backgroundTile": False,
            "backgroundBrightness": "dark",
            "canBePublic": True,
            "canBeOrg": True,
            "canBePrivate": True,
            "canInvite": True,
        },
        "labelNames": dict.fromkeys(_LABEL_COLOURS, ""),
        "shortLink": b.short_link,
        "subscribed": False,
        "powerUps": [],
        "dateLastActivity": last,
        "dateLastView": last,
        "idTags": [],
        "invitations": [],
        "invited": False,
        "memberships": [membership(ms) for ms in b.memberships.values()],
    }


def organization(o: Organization) -> JSON:
    """A workspace."""
    return {
        "id": o.id,
        "name": o.name,
        "displayName": o.display_name,
        "url": f"https://trello.com/w/{o.name}",
    }


def board_export(world: World, b: Board, *, action_cap: int = 1000) -> JSON:
    """The board's "Export as JSON" file: newest ``action_cap`` actions, cards, lists, members.

    Like the board's action feed, the export holds no ``FEED_EXCLUDED_TYPES``."""
    feed = [a for a in world.board_feed.get(b.id, []) if a.type not in FEED_EXCLUDED_TYPES]
    actions = [action(world, a) for a in reversed(feed[-action_cap:])] if action_cap else []
    cards = sorted(world.cards_on_board(b.id), key=lambda c: (c.id_list, c.pos))
    members = [member_full(world.members[mid], ms.member_type) for mid, ms in b.memberships.items()]
    return board(world, b) | {
        "actions": actions,
        "cards": [
            card(c) | {"attachments": [], "pluginData": [], "customFieldItems": []} for c in cards
        ],
        "labels": [],
        "lists": [trello_list(x) for x in world.lists_on_board(b.id)],
        "members": members,
        "checklists": [],
        "customFields": [],
        "pluginData": [],
    }
