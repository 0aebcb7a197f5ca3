"""What the boards' action feeds tell the deciders beyond live state (``touches.py`` reads them
into ``LiveBoard.touched``): a change's target set since by someone else, not by this tool.

- An apply of a plan that sat: a card member the plan would add whom someone added to or
  removed from the card after the plan was made (added and removed again on purpose) is
  ``drifted``, never put back: their decision is newer than the plan (``since_plan``). So is
  a value the plan expects that someone changed and set back after the plan (A→B→A: the live
  value alone cannot tell; ``value_since_plan``): their setting it again is newer too.
- An undo: a member this tool added who is on the card because someone put them back by hand
  after the apply (removed, then added again: their own decision), or a value someone set back
  to what the tool wrote, is ``drifted``, left in place: removing it would undo a person's
  deliberate action, not the tool's (``put_back``). So is a board membership this tool granted
  that someone granted again, or gave the granted role again, after the apply (R75b: removed
  with "removed", exit 0): the feeds list a member added to a board and a role set, though not
  a removal from a board (so an apply of a plan that sat cannot tell one).

Pure: each reads the board's ``touched`` and words the reason."""

from __future__ import annotations

from typing import TYPE_CHECKING

from trello_restore.kinds.valuetext import change_lists, show
from trello_restore.models import Change, ValueChange
from trello_restore.words import when

if TYPE_CHECKING:
    from trello_restore.live import LiveBoard, Target, Touch

#: The feeds' action types that change a card's members.
MEMBER_TYPES = ("addMemberToCard", "removeMemberFromCard")
#: The feeds' action types that grant board membership, or set it to a role a plan grants (to
#: admin: the role differs from the grant's, which ``members.undo_grant`` tells from live state),
#: and the role each sets ("" for an add: its ``memberType``).
BOARD_MEMBER_TYPES = {
    "addMemberToBoard": "",
    "makeNormalMemberOfBoard": "normal",
    "makeObserverOfBoard": "observer",
}
#: The sub-filters Trello documents for a field of each update type (trello-api-notes.md §1.1);
#: a field without one is read with the whole type.
_SUB_FILTERS = {"updateCard": ("closed", "desc", "idList", "name"), "updateList": ("closed",)}


def member_target(c: Change) -> Target:
    """A card member change's target: the member on the card."""
    return c.card_id, f"member {c.member.id}"


def card_member_target(_kind: object, c: Change) -> tuple[Target, tuple[str, ...]]:
    """``CardMember.target``: the member on the card, and the feed types that change it."""
    return member_target(c), MEMBER_TYPES


def board_member_target(c: Change) -> Target:
    """A board membership change's target: the member on the board."""
    return c.board_id, f"board member {c.member.id}"


def value_target(c: ValueChange) -> tuple[Target, tuple[str, ...]]:
    """A value change's target (the card's or list's field) and the feed type that changes it
    (a documented sub-filter where there is one: ``updateCard:closed``)."""
    update = "updateList" if c.object_type == "list" else "updateCard"
    object_id = c.list_id if c.object_type == "list" else c.card_id
    sub = c.field in _SUB_FILTERS[update]
    return (object_id, c.field), (f"{update}:{c.field}" if sub else update,)


def _touch(c: Change, live: LiveBoard) -> Touch | None:
    if isinstance(c, ValueChange):
        return live.touched.get(value_target(c)[0])
    if not c.card_id:  # a board membership
        return live.touched.get(board_member_target(c))
    return live.touched.get(member_target(c))


def since_plan(c: Change, live: LiveBoard) -> str | None:
    """Why a card member an apply would add is ``drifted`` because someone added them to or
    removed them from the card after the plan was made (``live.touched``: read since the
    plan's ``created_at``, this tool's own writes of its journal aside), or None."""
    touch = live.touched.get(member_target(c))
    if touch is None:
        return None
    if touch.undo_of:  # not a person's decision: say what did it, and what adds them back
        return (
            f"removed again by this tool's undo of journal {touch.undo_of} on "
            f"{when(touch.date)}, after the plan was made: left alone (plan again and apply "
            "the new plan to add them back)"
        )
    verb = "removed again" if touch.kind == "remove" else "added"
    return f"{verb} by {touch.who} on {when(touch.date)}, after the plan was made: left alone"


def value_since_plan(c: ValueChange, live: LiveBoard) -> str | None:
    """Why a value change an apply would write is ``drifted`` because someone set its field
    after the plan was made (``live.touched``, as ``since_plan``: the field holds the value the
    plan expects, so they set it back to it), or None."""
    touch = live.touched.get(value_target(c)[0])
    if touch is None:
        return None
    if touch.undo_of:  # not a person's decision: say what did it, and what writes it again
        return (
            f"set back by this tool's undo of journal {touch.undo_of} on {when(touch.date)}, "
            "after the plan was made: left alone (plan again and apply the new plan to write "
            "it again)"
        )
    # A value other than the one the plan expects: seen by a look while the apply writes (R40e:
    # "set back to" a due the card never had).
    back = touch.value == c.expected
    if c.field == "closed":
        what = "archived again" if touch.value else "unarchived again"
    elif c.field == "idList":
        lists = {**change_lists(c), **live.list_names}
        what = f"moved {'back ' if back else ''}to list {show(c.field, touch.value, lists)}"
    elif c.field == "dueComplete":
        what = f"marked {show(c.field, touch.value)} again"
    else:
        what = f"its {c.field} set {'back ' if back else ''}to {show(c.field, touch.value)}"
    return f"{what} by {touch.who} on {when(touch.date)}, after the plan was made: left alone"


def put_back(c: Change, live: LiveBoard) -> str | None:
    """Why an undo leaves a change in place (``drifted``) whose target is as this tool wrote it
    only because someone set it so again after the apply (``live.touched``: the last action on
    it since the apply is theirs, adding the member or setting the value written), or None."""
    touch = _touch(c, live)
    if touch is None:
        return None
    if isinstance(c, ValueChange):
        # The field holds what the tool wrote and its last change is theirs: they set it so.
        lists = {**change_lists(c), **live.list_names} if c.field == "idList" else None
        # A third value seen by a look while the undo writes (R40a: "set back to" the value
        # this tool wrote, of a card a colleague had moved to another list): theirs.
        to = touch.value if touch.kind == "set" else c.value
        verb = "set back to" if to == c.value else "set to"
        return (
            f"{verb} {show(c.field, to, lists)} by {touch.who} on {when(touch.date)} "
            "after this tool's apply: left in place"
        )
    done = f"by {touch.who} on {when(touch.date)} after this tool's apply: left in place"
    if not c.card_id:  # a board membership: granted again, or given a role again
        if touch.kind == "set":
            role = f"{'an' if touch.value == 'observer' else 'a'} {touch.value}"
            return f"made {role} member of the board {done}"
        return f"added to the board again {done}"
    if touch.kind != "add":
        return None
    return f"put back {done}"
