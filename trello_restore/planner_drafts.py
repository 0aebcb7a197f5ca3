"""The planner's building blocks that are not its rules (``planner.py``): the garbage collector
paused while it plans, the member actions grouped per card and split at the cutoff, and the
writable drafts of the frozen classes it builds its changes as.

Split off ``planner.py`` without a change of behaviour (it was at the 650-line cap); its hot path
reads these as module globals, imported once, as before.
"""

from __future__ import annotations

import contextlib
import gc
import operator
from bisect import bisect_left
from collections.abc import Iterable, Iterator, Sequence
from datetime import datetime
from itertools import islice

from trello_restore.models import Change, Evidence, MemberAction, Skipped

__all__ = ["ByCard", "ChangeDraft", "EvidenceDraft", "SkippedDraft", "by_card", "no_gc"]


@contextlib.contextmanager
def no_gc() -> Iterator[None]:
    """The cyclic garbage collector paused: the planner makes hundreds of thousands of small
    objects and no cycles, and each collection would walk every one of them (on 1,000,000
    actions, collections took more CPU than the planning). Reference counting still frees
    everything; the collector is switched back on as it was.

    What the planner made is the plan, which lives on: a collection of the young generation
    right after would walk all of it only to find nothing to free (0.5 s on 1,000,000
    actions) and promote it. ``freeze`` + ``unfreeze`` promotes the young objects to the
    oldest generation at once, unwalked; a full collection still looks at them (and at any
    garbage the caller made meanwhile). Skipped when the application froze objects itself:
    ``unfreeze`` would undo that."""
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if gc.get_freeze_count() == 0:  # pragma: no branch - frozen: a test of its own
            gc.freeze()
            gc.unfreeze()
        (gc.enable if was_enabled else gc.disable)()


#: Member actions per card id, each card's in the history's order (by date).
ByCard = dict[str, list[MemberAction]]


def by_card(actions: Sequence[MemberAction], since: datetime) -> tuple[ByCard, ByCard]:
    """The member actions per card: those before ``since``, and those at or after it.

    ``History`` keeps its member actions in date order (ties by id), so the cutoff is one
    binary search over the whole history, not one per card (a card's actions are scattered
    over the history: a search per card touched a few of them each, out of cache, 0.2 s on
    1,000,000 actions)."""
    cut = bisect_left(actions, since, key=_DATE)
    return group_by_card(islice(actions, cut)), group_by_card(
        islice(actions, cut, None)
    )  # no copies


def group_by_card(actions: Iterable[MemberAction]) -> ByCard:
    """The actions per card, in their order."""
    by_card: ByCard = {}
    get = by_card.get
    for a in actions:
        group = get(a.card_id)
        if group is None:
            by_card[a.card_id] = [a]
        else:
            group.append(a)
    return by_card


class EvidenceDraft(Evidence):
    """``Evidence``, writable: see ``ChangeDraft``."""

    __slots__ = ()
    __init__ = object.__init__
    __setattr__ = object.__setattr__
    __delattr__ = object.__delattr__


class ChangeDraft(Change):
    """``Change``, writable: the planner's way to build the changes it plans.

    A frozen dataclass's constructor sets each field through ``object.__setattr__`` (past its
    own ``__setattr__``, which refuses): 20 calls for a change and its evidence, on 1,000,000
    actions a quarter of the planning time. ``changes_of`` makes a draft instead
    (``_ChangeDraft()``: ``object.__init__``, nothing to run), sets its slots by plain
    attribute stores, and then makes it the frozen class by assigning ``__class__``. Both
    ``__setattr__`` and ``__delattr__`` are ``object``'s: with one of them the frozen class's,
    Python sets every attribute through a call of ``__setattr__`` (four times slower) instead
    of a slot store. The draft is a
    subclass that adds no slot, so Python allows the assignment after comparing the two
    classes' layouts, not their slots one by one (a draft of a class of its own: 20 name
    comparisons a change). What comes out is a ``Change`` in every way: its type, equality,
    hash, repr, pickling, immutability. A field added to ``Change`` must be set in
    ``changes_of`` too (an unset slot raises ``AttributeError`` when read; the tests compare
    these changes with ones built by the constructor, field by field)."""

    __slots__ = ()
    __init__ = object.__init__
    __setattr__ = object.__setattr__
    __delattr__ = object.__delattr__


class SkippedDraft(Skipped):
    """``Skipped``, writable: see ``ChangeDraft``."""

    __slots__ = ()
    __init__ = object.__init__
    __setattr__ = object.__setattr__
    __delattr__ = object.__delattr__


#: A member action's date (the binary search for the cutoff).
_DATE = operator.attrgetter("date")
