"""Seeded incident scenarios for the sandbox, with their ground truth.

A scenario is a workspace with a team board that has months of card-member history (adds,
deliberate removals, re-adds, comments, list moves, archived cards, a member who was deactivated),
then the incident: the team lead moves last year's lists to a new archive board whose members are
the lead plus some of the team, and Trello strips every other member from those cards (logging
the removals as the lead's actions, except on a share of cards where it logs nothing). After it
come a few deliberate changes: members re-added by hand (after being added to the archive board),
removals by others, a deleted card, the archive board tidied up (a list archived).

Everything is built through ``World`` operations with explicit timestamps, from one seed: the
same ``(seed, cards, options)`` always gives the same ids, names, dates and history.
``automation_share`` (actions made by an automation) and ``hidden_name_share`` (members who keep
their full name private) change only how actions and members are rendered: the same seed and
cards give the same history, ledger and ground truth with or without them.

With ``second_damage`` (off by default, so the default scenarios and their truth for the sets a-e
stay exactly as they were), cards are created with descriptions and due dates, and after the
incident's aftermath comes the second damage of design.md §10.4 at ``second_damage_at`` (T2): a
team member, the ``culprit``, archives every card of two lists at once, moves the cards of a
third list to another list, and an automation running with the culprit's token (``appCreator``,
no ``memberCreator``) overwrites the due date of a dozen cards and the description of a few;
afterwards other people unarchive one of those cards by hand, edit one overwritten description
and move one other card on purpose. Its choices use a random source of their own, and it runs
after everything else, so the history before it (ids included) is the default scenario's.

The ``Story`` records what the generator did in its own terms (who lost what in the incident, what
happened after). ``Scenario.truth`` computes the ground truth for an option set from the world's
ledger (see ``truth.py``); the tests check the two against each other.
"""

from __future__ import annotations

import functools
import math
import random
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any, Literal

from trello_restore.sandbox import render
from trello_restore.sandbox.ids import iso
from trello_restore.sandbox.truth import RESTORE_KINDS, GroundTruth, OptionSet, compute
from trello_restore.sandbox.world import (
    AUTOMATION,
    Board,
    LogBoard,
    Member,
    MemberEvent,
    Organization,
    World,
)

MIN_CARDS = 20
MAX_CARDS = 20_000
#: The scenario's history starts here; the incident is about ten months later.
HISTORY_START = datetime(2025, 1, 6, 9, 0, tzinfo=UTC)

_FIRST = [
    "Ada",
    "Alan",
    "Barbara",
    "Brian",
    "Carmen",
    "Chidi",
    "Dana",
    "Deepa",
    "Elena",
    "Erik",
    "Farah",
    "Felix",
    "Grace",
    "Hiro",
    "Ines",
    "Ivan",
    "Jamal",
    "Julia",
    "Kai",
    "Kenji",
    "Lara",
    "Leon",
    "Maya",
    "Milan",
    "Nadia",
    "Noah",
    "Olga",
    "Omar",
    "Priya",
    "Quinn",
    "Rosa",
    "Ravi",
    "Sara",
    "Sven",
    "Tara",
    "Theo",
    "Uma",
    "Victor",
    "Wen",
    "Will",
    "Xena",
    "Yusuf",
    "Zoe",
    "Zane",
]
_LAST = [
    "Benton",
    "Erlandson",
    "Okafor",
    "Lindqvist",
    "Moreau",
    "Tanaka",
    "Novak",
    "Haddad",
    "Silva",
    "Kowalski",
    "Nguyen",
    "Petrov",
    "Rossi",
    "Schmidt",
    "Fischer",
    "Dubois",
    "Jensen",
    "Costa",
    "Ibrahim",
    "Murphy",
    "Garcia",
    "Larsen",
    "Weber",
    "Santos",
    "Kim",
    "Varga",
    "Ahmed",
    "Brennan",
    "Castillo",
    "Duarte",
]
_TOPICS = [
    "login page",
    "billing export",
    "search index",
    "onboarding email",
    "API docs",
    "mobile layout",
    "dark mode",
    "CSV import",
    "audit log",
    "rate limiter",
    "release notes",
    "cache warmup",
    "SSO setup",
    "invoice PDF",
    "webhook retries",
    "usage dashboard",
    "data retention",
    "backup restore",
    "i18n strings",
    "error pages",
    "password reset",
    "team invites",
    "feature flags",
    "load test",
]
_VERBS = [
    "Fix",
    "Ship",
    "Review",
    "Design",
    "Refactor",
    "Test",
    "Document",
    "Migrate",
    "Polish",
    "Measure",
]
_COMMENTS = [
    "Looks good to me.",
    "Can you take a look?",
    "Blocked on review.",
    "Moved to next sprint.",
    "Done, please verify.",
    "Needs a test.",
    "Let's pair on this tomorrow.",
]


@dataclass(frozen=True)
class StoryEvent:
    """A deliberate change after the incident, as the generator made it."""

    kind: Literal["join_board", "readd", "remove", "delete_card", "archive_list"]
    at: datetime
    by: str
    card_id: str | None = None
    member_id: str | None = None
    board_id: str | None = None
    list_id: str | None = None


_DESCRIPTIONS = [
    "Acceptance: the page loads in under a second.\nSee the spec in the wiki.",
    "Steps:\n1. Reproduce on staging\n2. Write a failing test\n3. Fix",
    "Customer reported this twice last week.",
    "Owner: platform team. Needs a security review before release.",
    "Follow-up from the retro: keep it small.",
    "Blocked until the vendor answers.\n\nNotes:\n- ticket 4411\n- call on Thursday",
]
#: What the automation writes over descriptions, and the due date it sets (days after T2).
_AUTOMATION_DESC = 'Auto-triaged by rule "stale cards": please update.'
_AUTOMATION_DUE_DAYS = 7


@dataclass(frozen=True)
class SecondDamage:
    """The second damage (design.md §10.4) as the generator made it, with the values it saw
    just before (independent of the action log and of the world's ledgers)."""

    #: T2, and the member who did it (also the one whose token the automation ran with).
    at: datetime
    culprit: str
    #: The two lists whose cards were archived at once, and the cards that were archived.
    archived_lists: tuple[str, ...]
    archived_cards: tuple[str, ...]
    #: The list whose cards were moved, where to, and the cards moved (None/() when the board
    #: had no third list with cards).
    moved_from: str | None
    moved_to: str | None
    moved_cards: tuple[str, ...]
    #: Card -> its due date / description just before the automation overwrote it.
    due_before: dict[str, str | None]
    desc_before: dict[str, str]
    #: Afterwards, by others: (card, who) unarchived by hand, (card, who) whose overwritten
    #: description was edited by hand, and (card, who, from list, to list) moved on purpose.
    unarchived: tuple[str, str] | None
    desc_edited: tuple[str, str] | None
    moved_on_purpose: tuple[str, str, str, str] | None


@dataclass(frozen=True)
class Story:
    """What the generator did, in its own terms (independent of the action log)."""

    #: Card members just before the incident, for every card that existed then.
    before_incident: dict[str, tuple[str, ...]]
    #: Every member the incident removed from a card, logged or not.
    incident_losses: tuple[MemberEvent, ...]
    #: Deliberate changes after the incident, in order.
    after: tuple[StoryEvent, ...]
    #: Every (card, member) pair ever added, before or after the incident.
    ever_added: frozenset[tuple[str, str]]
    #: The second damage, in scenarios generated with it.
    second: SecondDamage | None = None


@dataclass
class Scenario:
    """A generated workspace, its incident, and the means to compute its ground truth."""

    seed: int
    cards: int
    world: World
    key: str
    token: str
    organization: Organization
    team: Board
    archive: Board
    roadmap: Board
    mover: Member
    deactivated: Member
    incident_at: datetime
    moved_lists: tuple[str, ...]
    moved_card: str | None
    story: Story
    extra: dict[str, Any] = field(default_factory=dict)
    #: T2, the time of the second damage (design.md §10.4), in scenarios generated with it.
    second_damage_at: datetime | None = None
    #: The member who did the second damage (CULPRIT), in scenarios generated with it.
    culprit: Member | None = None

    @property
    def boards(self) -> tuple[Board, ...]:
        """All boards of the scenario: team, archive, roadmap."""
        return (self.team, self.archive, self.roadmap)

    @property
    def scope(self) -> tuple[str, str]:
        """The boards a restore of the incident covers (the fetcher follows moves between them)."""
        return (self.team.id, self.archive.id)

    def option_sets(self) -> dict[str, OptionSet]:
        """The reference option sets a-e of design.md §3 (T = incident time, MOVER = the lead),
        and with the second damage f-h of §10.4 (T2 = ``second_damage_at``, CULPRIT =
        ``culprit``): f = ``--restore archived --since T2 --by CULPRIT``, g = ``--restore all
        --since T2 --by CULPRIT``, h = ``--restore all --since T --add-to-board``."""
        t, mover = self.incident_at, self.mover.id
        sets = {
            "a": OptionSet("a", since=t, removed_by=mover),
            "b": OptionSet("b", since=t, removed_by=mover, add_to_board=True),
            "c": OptionSet("c", since=t, removed_by=mover, only_recorded=True, add_to_board=True),
            "d": OptionSet("d", since=t, add_to_board=True),
            "e": OptionSet("e", since=t, mode="ever-added", add_to_board=True),
        }
        if self.second_damage_at is not None and self.culprit is not None:
            t2, culprit, every = self.second_damage_at, self.culprit.id, frozenset(RESTORE_KINDS)
            sets["f"] = OptionSet("f", since=t2, restore=frozenset({"archived"}), by=culprit)
            sets["g"] = OptionSet("g", since=t2, restore=every, by=culprit)
            sets["h"] = OptionSet("h", since=t, restore=every, add_to_board=True)
        return sets

    def truth(self, options: str | OptionSet) -> GroundTruth:
        """The ground truth for a reference option set (by name) or any ``OptionSet``."""
        opts = self.option_sets()[options] if isinstance(options, str) else options
        with self.world.lock:
            return compute(self.world, self.scope, opts)

    def export(self, board_id: str | None = None) -> dict[str, Any]:
        """The board's Trello JSON export (newest 1000 actions), team board by default."""
        with self.world.lock:
            return render.board_export(self.world, self.world.board(board_id or self.team.id))


class _Timeline:
    """Events to run in time order; ties keep insertion order."""

    def __init__(self) -> None:
        self._events: list[tuple[datetime, int, Callable[[], object]]] = []

    def at(self, when: datetime, fn: Callable[[], object]) -> None:
        self._events.append((when, len(self._events), fn))

    def run(self) -> None:
        for _, _, fn in sorted(self._events, key=lambda e: (e[0], e[1])):
            fn()
        self._events.clear()


def generate(
    seed: int = 1,
    cards: int = 200,
    *,
    unlogged_share: float = 0.2,
    incident_log_board: LogBoard = "target",
    automation_share: float = 0.0,
    hidden_name_share: float = 0.0,
    second_damage: bool = False,
    history_actions: int = 0,
) -> Scenario:
    """Build a scenario with ``cards`` cards on the team board (20 to 20,000).

    ``unlogged_share`` is the share of stripped cards whose removals Trello does not log;
    ``incident_log_board`` is the board whose feed holds the logged removals;
    ``automation_share`` is the share of the history's actions an automation made (``appCreator``,
    no ``memberCreator``); ``hidden_name_share`` the share of members whose full name is private;
    ``second_damage`` adds the second damage of design.md §10.4 (module docstring) and the
    option sets f-h. ``history_actions`` (0 by default: the scenario as it always was) adds
    about that many actions of the kinds the fetcher reads to the team board's months before
    the incident, in pairs from their own random source: a member added to a card and taken off
    it again, or a card moved to another list and back, a minute or so later. A long history
    (the issue-12 board: 20,000 cards, ``history_actions=200_000``, over 250,000 actions).
    """
    if history_actions < 0:
        raise ValueError(f"history_actions must be 0 or more, not {history_actions}")
    if not MIN_CARDS <= cards <= MAX_CARDS:
        raise ValueError(f"cards must be between {MIN_CARDS} and {MAX_CARDS}, not {cards}")
    for name, share in (
        ("unlogged_share", unlogged_share),
        ("automation_share", automation_share),
        ("hidden_name_share", hidden_name_share),
    ):
        if not 0.0 <= share <= 1.0:
            raise ValueError(f"{name} must be between 0 and 1, not {share}")
    generator = _Generator(seed, cards, unlogged_share, incident_log_board)
    generator.world.automation_share = automation_share
    generator.hidden_name_share = hidden_name_share
    generator.second_damage = second_damage
    generator.history_actions = history_actions
    return generator.build()


class _Generator:
    def __init__(self, seed: int, n_cards: int, unlogged_share: float, log_board: LogBoard) -> None:
        self.seed = seed
        self.n_cards = n_cards
        self.rng = random.Random(f"scenario:{seed}:{n_cards}")
        self.world = World(seed, unlogged_share=unlogged_share, incident_log_board=log_board)
        self.hidden_name_share = 0.0
        self.incident_at = HISTORY_START + timedelta(
            days=300, hours=self.rng.randint(1, 8), minutes=self.rng.randint(0, 59)
        )
        self.deactivated_at = self.incident_at - timedelta(days=20)
        self.ever_added: set[tuple[str, str]] = set()
        self.second_damage = False
        #: Extra pre-incident actions of the long history (``generate``'s ``history_actions``).
        self.history_actions = 0
        #: The card fields' own random source: with it or without, the rest is the same.
        self.fields_rng = random.Random(f"fields:{seed}:{n_cards}")

    # ---------------------------------------------------------------------------- people

    def _people(self) -> list[Member]:
        n = self.rng.randint(8, 30)
        names = self.rng.sample([(f, la) for f in _FIRST for la in _LAST], n)
        born = HISTORY_START - timedelta(days=400)
        members: list[Member] = []
        for first, last in names:
            username = f"{first.lower()}{last[0].lower()}"
            if any(m.username == username for m in members):
                username = f"{first.lower()}{last.lower()}"
            members.append(self.world.add_member(username, f"{first} {last}", at=born))
        # Its own random source: hiding names must not change anything else of the scenario.
        private = random.Random(f"private:{self.seed}:{self.n_cards}")
        for m in members:
            m.name_hidden = private.random() < self.hidden_name_share
        return members

    def build(self) -> Scenario:
        w, rng = self.world, self.rng
        members = self._people()
        mover, team_members = members[0], members[1:]
        deactivated = rng.choice(team_members)
        key, token = w.add_credentials(mover.id)
        org = w.add_organization("acme-team", "ACME Team", HISTORY_START)
        t = HISTORY_START
        team = w.create_board("Team Board", mover.id, t, org.id)
        for i, m in enumerate(team_members):
            w.add_member_to_board(team.id, m.id, mover.id, "normal", t + timedelta(minutes=1 + i))
        roadmap = self._roadmap(org, mover, team_members)

        n_lists = max(6, math.ceil(self.n_cards / 40) + 2)
        n_old = max(2, round(0.45 * n_lists))
        old_lists = [
            w.create_list(
                team.id, f"Sprint {i + 1}", mover.id, t + timedelta(hours=2, minutes=i)
            ).id
            for i in range(n_old)
        ]
        current = ["Backlog", "In progress", "Review", "Done"]
        cur_lists = [
            w.create_list(
                team.id,
                current[i] if i < len(current) else f"Sprint {n_old + i - len(current) + 1}",
                mover.id,
                t + timedelta(hours=3, minutes=i),
            ).id
            for i in range(n_lists - n_old)
        ]

        active = [m.id for m in team_members if m is not deactivated] + [mover.id]
        everyone = [m.id for m in members]
        timeline = _Timeline()
        card_ids: list[str] = []
        span = (self.incident_at - timedelta(days=5)) - (HISTORY_START + timedelta(days=1))
        starts = sorted(
            HISTORY_START + timedelta(days=1) + span * rng.random() for _ in range(self.n_cards)
        )
        # Cards in old lists must hold the deactivated member a few times before deactivation.
        forced_deactivated = 3
        for i, t0 in enumerate(starts):
            old = rng.random() < 0.5
            group = old_lists if old else cur_lists
            list_id = rng.choice(group)
            force = old and forced_deactivated > 0 and t0 < self.deactivated_at - timedelta(days=2)
            if force:
                forced_deactivated -= 1
            self._card_history(
                timeline, card_ids, i, t0, list_id, group, everyone, active, deactivated.id, force
            )
        if self.history_actions:
            self._long_history(timeline, card_ids, starts, team, active)
        timeline.at(self.deactivated_at, lambda: w.deactivate_member(deactivated.id, org.id))
        timeline.run()

        # The archive board: the lead plus about a third of the active team.
        t = self.incident_at - timedelta(days=1)
        archive = w.create_board("Archive 2025", mover.id, t, org.id)
        candidates = [m for m in active if m != mover.id]
        joined = rng.sample(candidates, max(1, round(len(candidates) * 0.35)))
        for i, mid in enumerate(sorted(joined)):
            w.add_member_to_board(archive.id, mid, mover.id, "normal", t + timedelta(minutes=i + 1))

        before = {cid: tuple(c.id_members) for cid, c in w.cards.items()}
        losses: list[MemberEvent] = []
        for i, lid in enumerate(old_lists):
            at = self.incident_at + timedelta(seconds=5 * i)
            losses.extend(w.move_list_to_board(lid, archive.id, mover.id, at).removals)
        moved_card = self._move_one_card(cur_lists, archive, old_lists[0], mover.id, len(old_lists))
        if moved_card is not None:
            losses.extend(moved_card.removals)

        after = self._aftermath(archive, team, mover.id, losses, old_lists, active, joined)
        second = (
            self._second_damage(team, cur_lists, [m for m in active if m != mover.id])
            if self.second_damage
            else None
        )
        # The history is written; what the sandbox logs from now on are live writes (the tool's),
        # which no automation makes.
        w.automation_share = 0.0
        story = Story(
            before_incident=before,
            incident_losses=tuple(losses),
            after=tuple(after),
            ever_added=frozenset(self.ever_added),
            second=second,
        )
        return Scenario(
            seed=self.seed,
            cards=self.n_cards,
            world=w,
            key=key,
            token=token,
            organization=org,
            team=team,
            archive=archive,
            roadmap=roadmap,
            mover=mover,
            deactivated=deactivated,
            incident_at=self.incident_at,
            moved_lists=tuple(old_lists),
            moved_card=moved_card.cards[0] if moved_card else None,
            story=story,
            second_damage_at=second.at if second else None,
            culprit=w.members[second.culprit] if second else None,
        )

    def _roadmap(self, org: Organization, mover: Member, team: list[Member]) -> Board:
        """A small unrelated board, untouched by the incident."""
        w = self.world
        t = HISTORY_START + timedelta(hours=1)
        board = w.create_board("Roadmap", mover.id, t, org.id)
        people = self.rng.sample(team, min(3, len(team)))
        for i, m in enumerate(people):
            w.add_member_to_board(board.id, m.id, mover.id, "normal", t + timedelta(minutes=i + 1))
        lst = w.create_list(board.id, "Ideas", mover.id, t + timedelta(minutes=10))
        for i, m in enumerate(people):
            card = w.create_card(
                lst.id, f"Explore idea {i + 1}", mover.id, t + timedelta(hours=i + 1)
            )
            w.add_member_to_card(card.id, m.id, mover.id, t + timedelta(hours=i + 1, minutes=5))
            self.ever_added.add((card.id, m.id))
        return board

    # ------------------------------------------------------------------------ card history

    def _card_history(
        self,
        tl: _Timeline,
        card_ids: list[str],
        index: int,
        t0: datetime,
        list_id: str,
        group: list[str],
        everyone: list[str],
        active: list[str],
        deactivated: str,
        force_deactivated: bool,
    ) -> None:
        w, rng = self.world, self.rng
        cutoff = self.incident_at - timedelta(hours=2)

        def eligible(at: datetime) -> list[str]:
            return everyone if at < self.deactivated_at else active

        creator = rng.choice([m for m in eligible(t0) if m != deactivated])
        name = f"{rng.choice(_VERBS)} {rng.choice(_TOPICS)} #{index + 1}"

        def create() -> None:
            desc, due = self._card_fields(t0) if self.second_damage else ("", None)
            card_ids.append(w.create_card(list_id, name, creator, t0, desc=desc, due=due).id)

        tl.at(t0, create)

        def on_card(at: datetime, fn: Callable[..., object], *args: object) -> None:
            """Schedule ``fn(card_id, *args)``; the card's id is known once it has been created."""
            tl.at(at, lambda: fn(card_ids[index], *args))

        n_adds = rng.choices([0, 1, 2, 3, 4], weights=[8, 33, 32, 17, 10])[0]
        add_times = sorted(
            t0 + timedelta(minutes=rng.randint(1, 3 * 24 * 60)) for _ in range(n_adds)
        )
        chosen: list[tuple[datetime, str]] = []
        for at in add_times:
            pool = [m for m in eligible(at) if m not in {c for _, c in chosen}]
            if pool:
                chosen.append((at, rng.choice(pool)))
        if force_deactivated and deactivated not in {c for _, c in chosen}:
            chosen.append((t0 + timedelta(minutes=30), deactivated))
        last = t0
        for at, mid in chosen:
            on_card(at, self._add, mid, rng.choice([mid, creator]), at)
            last = max(last, at)

        if chosen and rng.random() < 0.2:
            add_at, mid = rng.choice(chosen)
            rem_at = min(add_at + timedelta(hours=rng.randint(1, 240)), cutoff)
            if rem_at > add_at:
                on_card(
                    rem_at, w.remove_member_from_card, mid, rng.choice(eligible(rem_at)), rem_at
                )
                last = max(last, rem_at)
                readd_at = min(rem_at + timedelta(hours=rng.randint(1, 120)), cutoff)
                if rng.random() < 0.35 and readd_at > rem_at and mid in eligible(readd_at):
                    on_card(readd_at, self._add, mid, rng.choice(eligible(readd_at)), readd_at)
                    last = max(last, readd_at)

        for _ in range(rng.choice([0, 0, 1, 1, 2])):
            at = t0 + (cutoff - t0) * rng.random()
            on_card(at, w.comment, rng.choice(_COMMENTS), rng.choice(eligible(at)), at)

        if len(group) > 1 and rng.random() < 0.15:
            at = t0 + (cutoff - t0) * rng.random()
            dest = rng.choice([x for x in group if x != list_id])
            on_card(at, w.move_card_to_list, dest, rng.choice(eligible(at)), at)

        if rng.random() < 0.06:
            at = last + timedelta(hours=1)
            if at < cutoff:
                on_card(at, w.set_card_closed, True, rng.choice(eligible(at)), at)

    def _long_history(
        self,
        tl: _Timeline,
        card_ids: list[str],
        starts: list[datetime],
        board: Board,
        active: list[str],
    ) -> None:
        """``history_actions`` more actions before the incident, two at a time (``generate``).
        Each pair is made in one step, so no other event of the card comes between its two
        actions and the card's own history (adds, removals, moves) never conflicts with it;
        pairs on a card that is archived by then are left out (hence "about")."""
        w = self.world
        rng = random.Random(f"history:{self.seed}:{self.n_cards}")
        cutoff = self.incident_at - timedelta(hours=3)

        def pair(index: int, at: datetime, gap: timedelta, move: bool, u: float, v: float) -> None:
            card = w.cards.get(card_ids[index])
            if card is None or card.closed or card.id_board != board.id:
                return
            people = [m for m in active if board.is_active_member(m)]
            by = people[int(v * len(people))]
            if move:
                others = [x.id for x in w.lists_on_board(board.id) if x.id != card.id_list]
                if others:
                    home = card.id_list
                    w.move_card_to_list(card.id, others[int(u * len(others))], by, at)
                    w.move_card_to_list(card.id, home, by, at + gap)
                return
            pool = [m for m in people if m not in card.id_members]
            if pool:
                mid = pool[int(u * len(pool))]
                self._add(card.id, mid, by, at)
                w.remove_member_from_card(card.id, mid, by, at + gap)

        for _ in range(self.history_actions // 2):
            index = rng.randrange(len(starts))
            gap = timedelta(seconds=rng.randint(5, 120))
            first = starts[index] + timedelta(minutes=1)
            at = first + (cutoff - first) * rng.random()
            move, u, v = rng.random() < 0.5, rng.random(), rng.random()
            tl.at(at, functools.partial(pair, index, at, gap, move, u, v))

    def _card_fields(self, t0: datetime) -> tuple[str, str | None]:
        """A new card's description and due date (own random source, see ``fields_rng``)."""
        rng = self.fields_rng
        desc = rng.choice(_DESCRIPTIONS) if rng.random() < 0.6 else ""
        due = None
        if rng.random() < 0.4:
            due = iso((t0 + timedelta(days=rng.randint(3, 40))).replace(hour=17, minute=0))
        return desc, due

    def _add(self, card_id: str, member: str, by: str, at: datetime) -> None:
        self.world.add_member_to_card(card_id, member, by, at)
        self.ever_added.add((card_id, member))

    # ------------------------------------------------------------------------- the incident

    def _move_one_card(
        self, cur_lists: list[str], archive: Board, dest_list: str, mover: str, n_moves: int
    ) -> Any:
        """Also move one card on its own (``moveCardToBoard``), if one would lose a member."""
        w = self.world
        for card in sorted(w.cards.values(), key=lambda c: c.id):
            if card.id_list in cur_lists and any(
                not archive.is_active_member(m) for m in card.id_members
            ):
                at = self.incident_at + timedelta(seconds=5 * n_moves + 2)
                return w.move_card_to_board(card.id, archive.id, dest_list, mover, at)
        return None

    def _aftermath(
        self,
        archive: Board,
        team: Board,
        mover: str,
        losses: list[MemberEvent],
        moved_lists: list[str],
        active: list[str],
        joined: list[str],
    ) -> list[StoryEvent]:
        """Deliberate changes after the incident; returns them as the story tells them."""
        w, rng = self.world, self.rng
        story: list[StoryEvent] = []
        t = self.incident_at + timedelta(hours=2)
        deactivated = {
            m
            for m in w.members
            if w.boards[team.id].memberships.get(m) and w.boards[team.id].memberships[m].deactivated
        }
        lost_by_member: dict[str, list[str]] = {}
        for ev in losses:
            if ev.member_id not in deactivated:
                lost_by_member.setdefault(ev.member_id, []).append(ev.card_id)
        touched: set[str] = set()

        # 1. Two members are added to the archive board and re-added by hand to half their cards.
        readded: list[tuple[str, str]] = []
        for mid in sorted(lost_by_member)[: 2 if len(lost_by_member) > 2 else 1]:
            t += timedelta(minutes=7)
            w.add_member_to_board(archive.id, mid, mover, "normal", t)
            story.append(StoryEvent("join_board", t, mover, member_id=mid, board_id=archive.id))
            cards = sorted(set(lost_by_member[mid]))
            for cid in cards[: math.ceil(len(cards) / 2)]:
                t += timedelta(minutes=3)
                by = rng.choice([mover, mid])
                w.add_member_to_card(cid, mid, by, t)
                self.ever_added.add((cid, mid))
                story.append(StoryEvent("readd", t, by, card_id=cid, member_id=mid))
                readded.append((cid, mid))
                touched.add(cid)

        # 2. One re-added member is removed again, on purpose, by someone other than the lead.
        if readded:
            cid, mid = readded[0]
            t += timedelta(days=1)
            w.remove_member_from_card(cid, mid, mid, t)
            story.append(StoryEvent("remove", t, mid, card_id=cid, member_id=mid))

        # 3. Deliberate removals by others on the team board, and one on the archive board.
        others = [m for m in active if m != mover]
        team_cards = sorted(
            (c for c in w.cards.values() if c.id_board == team.id and c.id_members),
            key=lambda c: c.id,
        )
        for card in rng.sample(team_cards, min(len(team_cards), max(2, len(team_cards) // 30))):
            t += timedelta(minutes=11)
            mid = rng.choice(card.id_members)
            by = rng.choice(others)
            w.remove_member_from_card(card.id, mid, by, t)
            story.append(StoryEvent("remove", t, by, card_id=card.id, member_id=mid))
            touched.add(card.id)
        archive_cards = sorted(
            (
                c
                for c in w.cards.values()
                if c.id_board == archive.id and c.id not in touched and c.id_members
            ),
            key=lambda c: c.id,
        )
        removers = [m for m in joined if m != mover]
        for card in archive_cards[:1]:
            if removers:
                t += timedelta(minutes=13)
                mid, by = card.id_members[0], rng.choice(removers)
                w.remove_member_from_card(card.id, mid, by, t)
                story.append(StoryEvent("remove", t, by, card_id=card.id, member_id=mid))
                touched.add(card.id)

        # 4. A stripped card (logged removals) is deleted.
        logged_cards = sorted({ev.card_id for ev in losses if ev.logged} - touched)
        if logged_cards:
            cid = rng.choice(logged_cards)
            t += timedelta(days=1)
            w.delete_card(cid, mover, t)
            story.append(StoryEvent("delete_card", t, mover, card_id=cid))
            touched.add(cid)

        # 5. The archive board is tidied: a moved list that lost members is archived.
        stripped_lists = {w.cards[ev.card_id].id_list for ev in losses if ev.card_id in w.cards}
        candidates = [lid for lid in moved_lists if lid in stripped_lists]
        if candidates:
            lid = rng.choice(candidates)
            t += timedelta(days=1)
            w.set_list_closed(lid, True, mover, t)
            story.append(StoryEvent("archive_list", t, mover, list_id=lid))

        # 6. Noise: comments on a few cards.
        for card in sorted(w.cards.values(), key=lambda c: c.id)[:5]:
            t += timedelta(minutes=17)
            w.comment(card.id, rng.choice(_COMMENTS), rng.choice(active), t)
        return story

    # ------------------------------------------------------------------- the second damage

    def _second_damage(self, team: Board, lists: list[str], others: list[str]) -> SecondDamage:
        """Design.md §10.4 on the team board, a day after the aftermath; see the module
        docstring. Uses its own random source."""
        w = self.world
        rng = random.Random(f"second-damage:{self.seed}:{self.n_cards}")
        culprit = rng.choice(others)
        bystanders = [m for m in others if m != culprit]
        t2 = (w.last_time + timedelta(days=1, hours=rng.randint(1, 6))).replace(
            second=0, microsecond=0
        )

        def open_cards(list_id: str) -> list[str]:
            cards = (c for c in w.cards.values() if c.id_list == list_id and not c.closed)
            return [c.id for c in sorted(cards, key=lambda c: c.pos)]

        with_cards = [lid for lid in lists if open_cards(lid)]
        rng.shuffle(with_cards)
        archived_lists = tuple(with_cards[:2])
        archived: list[str] = []
        for i, lid in enumerate(archived_lists):
            archived += [a.id_card or "" for a in w.archive_all_cards(lid, culprit, t2 + i * _S5)]
        moved_from = with_cards[2] if len(with_cards) > 2 else None
        moved_to = rng.choice([x for x in lists if x != moved_from]) if moved_from else None
        moved: list[str] = []
        if moved_from is not None and moved_to is not None:
            moved = open_cards(moved_from)
            w.move_all_cards(moved_from, team.id, moved_to, culprit, t2 + timedelta(seconds=20))

        # The automation: due dates of a dozen open cards, descriptions of a few.
        t = t2 + timedelta(minutes=2)
        pool = sorted(c.id for c in w.cards.values() if c.id_board == team.id and not c.closed)
        wrong_due = iso((t2 + timedelta(days=_AUTOMATION_DUE_DAYS)).replace(hour=9, minute=0))
        due_before: dict[str, str | None] = {}
        for cid in rng.sample(pool, min(12, len(pool))):
            due_before[cid] = w.cards[cid].due
            t += timedelta(seconds=1)
            w.set_card_field(cid, "due", wrong_due, culprit, t, app=AUTOMATION)
        described = [cid for cid in pool if w.cards[cid].desc] or pool
        desc_before: dict[str, str] = {}
        for cid in rng.sample(described, min(4, len(described))):
            desc_before[cid] = w.cards[cid].desc
            t += timedelta(seconds=1)
            w.set_card_field(cid, "desc", _AUTOMATION_DESC, culprit, t, app=AUTOMATION)

        # Afterwards, by other people, on purpose.
        t = t2 + timedelta(hours=3)
        unarchived = None
        if archived:
            cid, by = rng.choice(archived), rng.choice(bystanders)
            w.set_card_closed(cid, False, by, t)
            unarchived = (cid, by)
        desc_edited = None
        if desc_before:
            cid, by = rng.choice(sorted(desc_before)), rng.choice(bystanders)
            t += timedelta(minutes=25)
            w.set_card_field(cid, "desc", desc_before[cid] + "\n\nUpdated after triage.", by, t)
            desc_edited = (cid, by)
        # The card moved on purpose: one the culprit did not move if there is one (on a small
        # board the damage covers every open card: then one the culprit moved, elsewhere).
        moved_on_purpose = None
        movable = [cid for cid in pool if w.cards[cid].id_list in lists]
        candidates = [cid for cid in movable if cid not in set(moved)] or movable
        if candidates and len(lists) > 1:
            cid, by = rng.choice(candidates), rng.choice(bystanders)
            src = w.cards[cid].id_list
            dst = rng.choice([x for x in lists if x not in (src, moved_from)] or [moved_from])
            assert dst is not None
            t += timedelta(minutes=40)
            w.move_card_to_list(cid, dst, by, t, pos="top")
            moved_on_purpose = (cid, by, src, dst)
        return SecondDamage(
            at=t2,
            culprit=culprit,
            archived_lists=archived_lists,
            archived_cards=tuple(archived),
            moved_from=moved_from,
            moved_to=moved_to,
            moved_cards=tuple(moved),
            due_before=due_before,
            desc_before=desc_before,
            unarchived=unarchived,
            desc_edited=desc_edited,
            moved_on_purpose=moved_on_purpose,
        )


_S5 = timedelta(seconds=5)
