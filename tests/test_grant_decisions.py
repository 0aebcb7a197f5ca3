"""Which board memberships the apply does not grant (B24; ``memberapply.unneeded_grants``), on
literal data: a grant is sent only when a card add still needs it. Pins the decider for the
coverage gate; the command line's behaviour over the sandbox is ``test_grant_not_needed.py``."""

from __future__ import annotations

from dataclasses import replace

import pytest

from trello_restore.kinds import NOT_ATTEMPTED
from trello_restore.kinds.memberapply import ON_BOARD, unneeded_grants
from trello_restore.live import LiveBoard
from trello_restore.models import Change

from .test_kinds import ANN, CARD, live
from .test_kinds import NORMAL_GRANT as TEST_GRANT

NOT_NEEDED = "no card add left for them on this board: "

KEY = (ON_BOARD, "b1", "ann")
#: ``CARD`` on another card of the board, which ``live()`` does not have.
GONE = replace(CARD, change_id="c-000000000000000c", card_id="k2")


@pytest.mark.parametrize(
    ("todo", "earlier", "board", "resumed", "want"),
    [
        # A card add still to write: the grant is needed (made as before).
        ((TEST_GRANT, CARD), (), live(), (), {}),
        ((TEST_GRANT, GONE, CARD), (), live(), (), {}),
        # Every card add drifted: the grant is drifted with their reason.
        ((TEST_GRANT, GONE), (), live(), (), {KEY: ("drifted", f"{NOT_NEEDED}1 drifted "
          "(the card was deleted or moved to another board); not granted")}),
        # Already on the card (or put there by this tool's killed run), or done by an earlier
        # run of the journal: not a problem, so no exit code of its own.
        ((TEST_GRANT, CARD), (), live(on_card=True), (), {KEY: (NOT_ATTEMPTED,
          f"{NOT_NEEDED}1 already on the card; not granted")}),
        ((TEST_GRANT, CARD), (), live(on_card=True), (CARD.change_id,), {KEY: (NOT_ATTEMPTED,
          f"{NOT_NEEDED}1 made by an earlier run; not granted")}),
        ((TEST_GRANT,), (CARD,), live(), (), {KEY: (NOT_ATTEMPTED,
          f"{NOT_NEEDED}1 done by an earlier run; not granted")}),
        ((TEST_GRANT, GONE), (CARD,), live(), (), {KEY: ("drifted", f"{NOT_NEEDED}1 drifted "
          "(the card was deleted or moved to another board), 1 done by an earlier run; "
          "not granted")}),
        # No card add at all for it (a hand-made plan): nothing needs it.
        ((TEST_GRANT,), (), live(), (), {KEY: (NOT_ATTEMPTED, f"{NOT_NEEDED[:-2]}: not granted")}),
        # A card add of another member, or no grant in the plan: nothing to decide.
        ((TEST_GRANT, replace(GONE, member=replace(ANN, id="ben"))), (), live(), (),
         {KEY: (NOT_ATTEMPTED, f"{NOT_NEEDED[:-2]}: not granted")}),
        ((GONE,), (), live(), (), {}),
        # An earlier run's card add of a member with no grant in this run: nothing to count.
        ((TEST_GRANT, CARD), (replace(GONE, member=replace(ANN, id="ben")),), live(), (), {}),
    ],
)  # fmt: skip
def test_unneeded_grants(
    todo: tuple[Change, ...],
    earlier: tuple[Change, ...],
    board: LiveBoard,
    resumed: tuple[str, ...],
    want: dict[object, tuple[str, str]],
) -> None:
    for dry_run in (False, True):
        got = unneeded_grants(
            todo, earlier, {"b1": board}, resumed=set(resumed), dry_run=dry_run, deactivated={}
        )
        assert got == want


def test_unneeded_grants_name_one_reason_of_several() -> None:
    """Card adds drifted for different reasons: the first, and that there are more."""
    other = replace(GONE, change_id="c-000000000000000d", card_id="k1", card_short_link="Zz")
    got = unneeded_grants(
        (TEST_GRANT, GONE, other), (), {"b1": live()}, resumed=set(), dry_run=False, deactivated={}
    )
    status, why = got[KEY]
    assert status == "drifted"
    assert why.startswith(f"{NOT_NEEDED}2 drifted (the card was deleted or moved to another ")
    assert why.endswith("; …); not granted")
