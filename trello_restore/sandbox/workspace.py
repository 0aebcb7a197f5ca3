"""A seeded workspace of many boards, with move incidents between some of them, and its truth.

Where ``scenario.py`` builds one team board and the archive board its lists moved to, this
builds a workspace (organization) of ``boards`` boards of ``cards`` (a range) cards each, for
``--workspace ORG`` and the workspace benchmark (issue 12 item 5). Each board has a team drawn
from the workspace's people (teams overlap); the workspace lead (the account whose key and token
the scenario hands out) is the admin of every board. Every board gets months of card history
(the same per-card history as a scenario's team board: adds, deliberate removals, re-adds,
comments, list moves, archived cards, one member deactivated in the workspace), all on one
timeline, so the world's clock runs forward across boards.

Then come ``incidents`` move incidents, days apart, each between its own pair of boards: the
lead moves the source board's old lists (and one more card on its own) to the target board, and
Trello strips every member who is not on the target board (logging it as the lead's removal,
except on ``unlogged_share`` of the cards, as in a scenario). After each incident comes the same
aftermath as a scenario's: members added to the target board and re-added by hand to some
cards, removals by others, a stripped card deleted, a moved list archived, comments.

The ground truth is ``truth.compute`` over the ledger for every board of the workspace (all of
them named, as ``--workspace`` names them), so it is independent of the planner. The story
(``Incident``) records what the generator did, in its own terms.
"""

from __future__ import annotations

import math
import random
from dataclasses import dataclass
from datetime import datetime, timedelta

from trello_restore.sandbox.scenario import (
    _FIRST,
    _LAST,
    HISTORY_START,
    StoryEvent,
    _Generator,
    _Timeline,
)
from trello_restore.sandbox.truth import GroundTruth, OptionSet, compute
from trello_restore.sandbox.world import Board, LogBoard, Member, MemberEvent, Organization, World

#: Bounds of the generator's arguments.
MAX_BOARDS = 200
MIN_BOARD_CARDS = 10
MAX_BOARD_CARDS = 20_000
#: Days between one incident and the next (each aftermath takes about four).
INCIDENT_GAP_DAYS = 5


@dataclass(frozen=True)
class Incident:
    """One move incident, as the generator made it (independent of the action log)."""

    #: The board the lists left, and the board they moved to.
    source: str
    target: str
    at: datetime
    #: The lists moved, and the card moved on its own (None when no card would lose a member).
    moved_lists: tuple[str, ...]
    moved_card: str | None
    #: Every member the incident removed from a card, logged or not.
    losses: tuple[MemberEvent, ...]
    #: The deliberate changes after it, in order.
    after: tuple[StoryEvent, ...]


@dataclass
class Workspace:
    """A generated workspace of boards, its incidents, and the means to compute its truth."""

    seed: int
    world: World
    key: str
    token: str
    organization: Organization
    #: Every board of the workspace, in creation order, and its card count at creation.
    boards: tuple[Board, ...]
    cards: dict[str, int]
    #: The workspace lead: admin of every board, the mover of every incident, the token's member.
    lead: Member
    deactivated: Member
    incidents: tuple[Incident, ...]
    #: Card members just before the first incident, for every card that existed then.
    before_incidents: dict[str, tuple[str, ...]]

    @property
    def first_incident_at(self) -> datetime:
        """T: the first incident's time (the option sets' ``--since``)."""
        return self.incidents[0].at

    @property
    def board_ids(self) -> tuple[str, ...]:
        """Every board of the workspace: what ``--workspace`` names."""
        return tuple(b.id for b in self.boards)

    def option_sets(self) -> dict[str, OptionSet]:
        """Design.md §3's sets a, b and d over the whole workspace, with T the first incident:
        a = ``--since T --removed-by LEAD``, b = a with ``--add-to-board``, d =
        ``--since T --add-to-board``."""
        t, lead = self.first_incident_at, self.lead.id
        return {
            "a": OptionSet("a", since=t, removed_by=lead),
            "b": OptionSet("b", since=t, removed_by=lead, add_to_board=True),
            "d": OptionSet("d", since=t, add_to_board=True),
        }

    def truth(self, options: str | OptionSet) -> GroundTruth:
        """The ground truth over every board of the workspace, for a set (by name) or any
        ``OptionSet``."""
        opts = self.option_sets()[options] if isinstance(options, str) else options
        with self.world.lock:
            return compute(self.world, self.board_ids, opts)


def generate_workspace(
    seed: int = 1,
    boards: int = 50,
    cards: tuple[int, int] = (100, 2000),
    *,
    incidents: int | None = None,
    unlogged_share: float = 0.2,
    incident_log_board: LogBoard = "target",
) -> Workspace:
    """Build a workspace of ``boards`` boards, each with a card count drawn from the range
    ``cards`` (inclusive), and ``incidents`` move incidents between distinct pairs of boards
    (default: one per six boards, at least one; at most one per two boards)."""
    low, high = cards
    if not 2 <= boards <= MAX_BOARDS:
        raise ValueError(f"boards must be between 2 and {MAX_BOARDS}, not {boards}")
    if not MIN_BOARD_CARDS <= low <= high <= MAX_BOARD_CARDS:
        raise ValueError(
            f"cards must be a range within {MIN_BOARD_CARDS} to {MAX_BOARD_CARDS}, not {cards}"
        )
    count = max(1, boards // 6) if incidents is None else incidents
    if not 1 <= count <= boards // 2:
        raise ValueError(f"incidents must be between 1 and {boards // 2}, not {count}")
    if not 0.0 <= unlogged_share <= 1.0:
        raise ValueError(f"unlogged_share must be between 0 and 1, not {unlogged_share}")
    return _WorkspaceBuilder(
        seed, boards, (low, high), count, unlogged_share, incident_log_board
    ).build()


class _WorkspaceBuilder:
    """Drives a scenario ``_Generator`` (its world, per-card history and aftermath) over many
    boards."""

    def __init__(
        self,
        seed: int,
        n_boards: int,
        cards: tuple[int, int],
        n_incidents: int,
        unlogged_share: float,
        log_board: LogBoard,
    ) -> None:
        self.seed = seed
        self.n_boards = n_boards
        self.n_incidents = n_incidents
        self.rng = random.Random(f"workspace:{seed}:{n_boards}:{cards}:{n_incidents}")
        self.sizes = [self.rng.randint(*cards) for _ in range(n_boards)]
        # The scenario generator supplies the world and the per-card history; its own random
        # source is replaced by the workspace's, its incident time by the first incident's.
        self.gen = _Generator(seed, sum(self.sizes), unlogged_share, log_board)
        self.gen.rng = self.rng
        self.world = self.gen.world

    def _people(self) -> list[Member]:
        n = min(len(_FIRST) * len(_LAST), max(12, 3 * self.n_boards))
        names = self.rng.sample([(f, la) for f in _FIRST for la in _LAST], n)
        born = HISTORY_START - timedelta(days=400)
        taken: set[str] = set()
        members = []
        for first, last in names:
            username = f"{first.lower()}{last[0].lower()}"
            if username in taken:
                username = f"{first.lower()}{last.lower()}"
            taken.add(username)
            members.append(self.world.add_member(username, f"{first} {last}", at=born))
        return members

    def build(self) -> Workspace:
        w, rng, gen = self.world, self.rng, self.gen
        people = self._people()
        lead, pool = people[0], people[1:]
        deactivated = rng.choice(pool)
        key, token = w.add_credentials(lead.id)
        org = w.add_organization("acme-workspace", "ACME Workspace", HISTORY_START)
        first_incident = HISTORY_START + timedelta(
            days=300, hours=rng.randint(1, 8), minutes=rng.randint(0, 59)
        )
        gen.incident_at = first_incident
        gen.deactivated_at = first_incident - timedelta(days=20 + 5 * self.n_incidents)

        boards: list[Board] = []
        teams: dict[str, list[str]] = {}
        groups: dict[str, tuple[list[str], list[str]]] = {}
        t = HISTORY_START
        for b, size in enumerate(self.sizes):
            board = w.create_board(f"Team {b + 1:02d}", lead.id, t + timedelta(hours=b), org.id)
            team = sorted(m.id for m in rng.sample(pool, rng.randint(6, min(14, len(pool)))))
            for i, mid in enumerate(team):
                w.add_member_to_board(
                    board.id, mid, lead.id, "normal", t + timedelta(hours=b, minutes=1 + i)
                )
            n_lists = max(6, math.ceil(size / 40) + 2)
            n_old = max(2, round(0.45 * n_lists))
            made = [
                w.create_list(
                    board.id,
                    f"Sprint {i + 1}" if i < n_old else f"Now {i - n_old + 1}",
                    lead.id,
                    t + timedelta(hours=b, minutes=30 + i),
                ).id
                for i in range(n_lists)
            ]
            boards.append(board)
            teams[board.id] = team
            groups[board.id] = (made[:n_old], made[n_old:])

        timeline = _Timeline()
        span = (first_incident - timedelta(days=5)) - (HISTORY_START + timedelta(days=1))
        for board, size in zip(boards, self.sizes, strict=True):
            everyone = [*teams[board.id], lead.id]
            active = [m for m in everyone if m != deactivated.id]
            old, current = groups[board.id]
            starts = sorted(
                HISTORY_START + timedelta(days=1) + span * rng.random() for _ in range(size)
            )
            for t0 in starts:
                group = old if rng.random() < 0.5 else current
                # The scenario's card history appends the card's id to a list when the timeline
                # creates the card and reads it back at an index: each card gets its own list,
                # as the boards' cards are not created in one order here.
                gen._card_history(
                    timeline,
                    [],
                    0,
                    t0,
                    rng.choice(group),
                    group,
                    everyone,
                    active,
                    deactivated.id,
                    False,
                )
        timeline.at(gen.deactivated_at, lambda: w.deactivate_member(deactivated.id, org.id))
        timeline.run()

        before = {cid: tuple(c.id_members) for cid, c in w.cards.items()}
        order = list(boards)
        rng.shuffle(order)
        made_incidents: list[Incident] = []
        at = first_incident
        pairs = _pairs(order, teams, deactivated.id, self.n_incidents)
        for k, (source, target) in enumerate(pairs):
            if k:
                at = max(
                    at + timedelta(days=INCIDENT_GAP_DAYS, minutes=rng.randint(0, 600)),
                    w.last_time + timedelta(hours=1),
                )
            made_incidents.append(self._incident(source, target, at, lead.id, teams, groups))
        return Workspace(
            seed=self.seed,
            world=w,
            key=key,
            token=token,
            organization=org,
            boards=tuple(boards),
            cards=dict(zip((b.id for b in boards), self.sizes, strict=True)),
            lead=lead,
            deactivated=deactivated,
            incidents=tuple(made_incidents),
            before_incidents=before,
        )

    def _incident(
        self,
        source: Board,
        target: Board,
        at: datetime,
        lead: str,
        teams: dict[str, list[str]],
        groups: dict[str, tuple[list[str], list[str]]],
    ) -> Incident:
        """Move the source board's old lists (and one more card) to the target board, then the
        scenario's aftermath."""
        w, gen = self.world, self.gen
        gen.incident_at = at
        old, current = groups[source.id]
        losses: list[MemberEvent] = []
        for i, lid in enumerate(old):
            losses.extend(
                w.move_list_to_board(lid, target.id, lead, at + timedelta(seconds=5 * i)).removals
            )
        moved = gen._move_one_card(current, target, old[0], lead, len(old))
        if moved is not None:
            losses.extend(moved.removals)
        source_active = [m for m in (*teams[source.id], lead) if source.is_active_member(m)]
        target_team = [m for m in teams[target.id] if target.is_active_member(m)]
        after = gen._aftermath(target, source, lead, losses, old, source_active, target_team)
        return Incident(
            source=source.id,
            target=target.id,
            at=at,
            moved_lists=tuple(old),
            moved_card=moved.cards[0] if moved is not None else None,
            losses=tuple(losses),
            after=tuple(after),
        )


def _pairs(
    order: list[Board], teams: dict[str, list[str]], deactivated: str, n: int
) -> list[tuple[Board, Board]]:
    """``n`` pairs (source, target) of distinct boards, in ``order``'s order: each the first
    of the boards left whose source team has someone active that the target's has not, so that
    the move strips someone (R45e: with seed 1 and 4 boards the only incident's target team
    held the whole source team, its deactivated member aside, and the plan ``serve`` printed
    restored nobody); the next two boards left when no pair would."""
    left = list(order)
    out: list[tuple[Board, Board]] = []
    for _ in range(n):
        found = next(
            (
                (a, b)
                for a in left
                for b in left
                if a is not b and set(teams[a.id]) - set(teams[b.id]) - {deactivated}
            ),
            (left[0], left[1]),
        )
        out.append(found)
        left = [b for b in left if b is not found[0] and b is not found[1]]
    return out
