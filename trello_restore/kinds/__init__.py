"""Change kinds: everything about one kind of change, in one place (design.md §4, §5, §10).

A plan is a list of typed changes (``models.Change``); its ``action`` names the change's kind.
Each kind is one ``ChangeKind`` subclass (the frame is ``base.py``; the member kinds are
``members.py``, their deciders before a write ``memberapply.py``; the kinds that set a value
back, design.md §10, ``values.py``, their pure deciders ``valuedeciders.py`` and their text
``valuetext.py``) with one instance in ``KINDS`` below, which says:

- how the plan file holds it: ``to_json`` / ``from_json`` and the JSON Schema fragment
  (``schema``) that ``planschema.py`` puts into the shipped schema;
- what a consistent plan needs of it (``plan_problem``; ``needs`` / ``provides`` link a change
  to the one it depends on, e.g. a card member to the grant of board membership);
- its precondition against live state (``decide``: a pure function, for the member kinds
  ``decide_board`` / ``decide_card``), its write (``write``) and how the write's answers read
  (``write_rule``);
- its undo: the precondition (``decide_undo``), the inverse write (``remove``, ``undo_rule``),
  and how an interrupted write is settled from live state (``resolve``, ``cannot_tell``);
- its place among the kinds (``order``: lower applies first, undo goes the other way);
- its text: the plan's heading and lines (``heading``, ``describe``, ``evidence``), the label
  of an outcome (``label``, ``unnamed``) and its noun in the summary line.

The applier (``applier.py``), undo (``undo.py``), the plan file (``planfile.py``,
``planschema.py``) and the report (``report.py``) go through ``kind_of(action)`` and
``in_order()`` and know no kind by name. Adding a kind (design.md §10: ``set_card_closed``,
``move_card_to_list``, …) is one planner rule that emits it, one module here with its
``ChangeKind`` subclass, its instance in ``KINDS``, and its tests; see ``docs/DEVELOPING.md``.

Nothing here does I/O except through the ``TrelloApi`` a ``write``/``remove`` is given.
"""

from __future__ import annotations

from trello_restore.kinds.base import (
    NOT_ATTEMPTED,
    WOULD_APPLY,
    WOULD_UNDO,
    ChangeKind,
    Context,
    Decision,
    Resolution,
    WriteRule,
)
from trello_restore.kinds.memberapply import decide_board, decide_card
from trello_restore.kinds.members import (
    ALREADY_ON_CARD,
    FOUND,
    NOT_FOUND,
    NOT_ON_BOARD,
    NOT_ON_CARD,
    BoardMembership,
    CardMember,
    decide_undo,
    resolve,
)
from trello_restore.kinds.valuedeciders import decide_value, decide_value_undo, resolve_value
from trello_restore.kinds.values import CardClosed, CardField, CardMove, ListClosed, ValueKind

__all__ = [
    "ALREADY_ON_CARD",
    "FOUND",
    "KINDS",
    "NOT_ATTEMPTED",
    "NOT_FOUND",
    "NOT_ON_BOARD",
    "NOT_ON_CARD",
    "WOULD_APPLY",
    "WOULD_UNDO",
    "BoardMembership",
    "CardClosed",
    "CardField",
    "CardMember",
    "CardMove",
    "ChangeKind",
    "Context",
    "Decision",
    "ListClosed",
    "Resolution",
    "ValueKind",
    "WriteRule",
    "decide_board",
    "decide_card",
    "decide_undo",
    "decide_value",
    "decide_value_undo",
    "in_order",
    "kind_of",
    "known",
    "resolve",
    "resolve_value",
]

#: Every kind, in the order the schema names them (``action``'s enum); ``in_order()`` gives
#: the order of application. Read at each call (``kind_of``, ``in_order``, ``known``,
#: ``planschema``), never copied: this tuple is the registry.
KINDS: tuple[ChangeKind, ...] = (
    CardMember(),
    BoardMembership(),
    ListClosed(),
    CardMove(),
    CardClosed(),
    CardField(),
)


def kind_of(action: str) -> ChangeKind:
    """The kind of a change (its ``action``). KeyError for an action no kind has: plan files
    are validated against the schema and journals read (``known``) before they get here."""
    for kind in KINDS:
        if kind.action == action:
            return kind
    raise KeyError(action)


def known(action: object) -> bool:
    """Whether ``action`` names a kind."""
    return any(kind.action == action for kind in KINDS)


def in_order() -> list[ChangeKind]:
    """The kinds in the order a plan applies them (undo: reversed)."""
    return sorted(KINDS, key=lambda k: k.order)
