"""What the other journals of this tool beside the one an undo reverses hold open, for the undo of
a board membership it granted (design.md §5 "Undo"; ``undo.undo_journal`` calls this).

A grant's undo leaves the membership in place when the member is on cards of the board the apply
did not add them to, since removing someone from a board takes them off all its cards
(``kinds.members.undo_grant``). Some of those cards may be this tool's own work of another run:
a one-step run interrupted and run again makes a new plan, with its own journal, which adds the
members the first run granted to the cards it had not reached (they are on the board by then, so
the second plan grants nothing). Those are no colleague's cards. So an undo of the first journal
keeps the membership for them (drifted, naming the journal that holds them: ``elsewhere``), and
the undo of that journal, once it has taken the member off those cards, removes the membership
too (``undo_kept``), journaled in the journal that granted it. Undoing the journals in either
order then gives back the state before the first run.

Which journals: the other ``*.jsonl`` files in the undone journal's directory (the journals
directory) made at the same API URL by the same account (their headers say so: no request); one
that cannot be read is skipped. A card add counts while its journal holds it open: ``applied``
and no undo settled it (``undo_left.undoable``), or a write whose answer was never journaled
(``journal.unresolved``; its member on the card now is this tool's). A grant is removed by
another journal's undo only when an undo of its own journal, asked to remove it
(``--include-board-memberships``), kept it (its latest record is that undo's): a grant no undo
asked about stays, since its own journal's cards need it; and only as ``undo_grant`` decides
after this undo's removals, so never while a colleague's card keeps the member there.
"""

from __future__ import annotations

import contextlib
import logging
from collections.abc import Callable, Collection, Iterable, Mapping
from dataclasses import dataclass, field
from functools import cached_property, partial
from pathlib import Path

from trello_restore.api import TrelloApi
from trello_restore.api.settings import same_api
from trello_restore.errors import InputFileError
from trello_restore.fsutil import read_regular, special_file
from trello_restore.journal import Journal, JournalRecord, unresolved
from trello_restore.kinds import WOULD_UNDO, BoardMembership, CardMember, WriteRule
from trello_restore.live import LiveBoard
from trello_restore.models import Change
from trello_restore.runner import Runner
from trello_restore.runner_types import ApplyOptions, ChangeOutcome
from trello_restore.undo_left import Undoable, undoable
from trello_restore.words import plural

logger = logging.getLogger(__name__)

#: A member on a board: (board id, member id).
Pair = tuple[str, str]
GRANT = BoardMembership.action
#: What a journal's text holds when it has a card member's record, a grant's, an undo's
#: (``journal._line``: sorted keys, JSON's default separators).
_CARD, _GRANT, _UNDO = f'"{CardMember.action}"', f'"{GRANT}"', '"op": "undo"'


def journal_files(
    directory: Path,
    exclude: Path | None = None,
    unlisted: dict[Path, str] | None = None,
    special: list[Path] | None = None,
) -> list[Path]:
    """The journal files (``*.jsonl``) in ``directory`` but ``exclude``, sorted, each once (a
    link to another one there is that one); none when it does not exist. A directory this
    user cannot look into (mode 000 or 400: a permission error) counts as none, and is warned
    of each time: what was not checked, what to do; or, when ``unlisted`` is given, put in it
    with why, for the caller to say. A FIFO, socket or device so named is no journal this
    tool wrote (it writes regular files only): not listed, put in ``special`` when given."""
    try:
        if not directory.exists():
            return []
        skip = exclude.resolve() if exclude is not None else None
        # ``iterdir`` (``glob`` takes a directory it cannot read for an empty one).
        paths = sorted(p for p in directory.iterdir() if p.name.endswith(".jsonl"))
        found: dict[Path, Path] = {}
        for p in paths:
            if p.is_file():
                found.setdefault(p.resolve(), p)
            elif special is not None and special_file(p):
                special.append(p)
        return [p for real, p in found.items() if real != skip]
    except OSError as exc:
        if unlisted is not None:  # the caller says it, as what it could not check (R34d: the
            # guards' own readings said it two and three times a run)
            unlisted[directory] = (
                f"cannot look into the journal directory {directory}: "
                f"{exc.strerror or type(exc).__name__}"
            )
            return []
        logger.warning(
            "cannot look into the journal directory %s (%s): what earlier runs of this tool "
            "recorded there was not checked; let this user read and search it (chmod 700 %s)",
            directory,
            exc.strerror or type(exc).__name__,
            directory,
        )
        return []


@dataclass
class Others:
    """The other journals beside the journal at ``path`` (which need not exist yet: a dry run
    of a plan not applied before) of ``api_url`` and ``account_id``, each read when first asked
    for (``journals``)."""

    path: Path
    api_url: str
    account_id: str
    _read: dict[Path, Journal | None] = field(default_factory=dict)
    #: The journals ``journals`` was to look at (their text holds the needles) that cannot be
    #: read, with why; and the journal directory, when it cannot be looked into and the
    #: caller says so itself (``warn_unlisted`` False: the undo guards, which fail closed).
    unreadable: dict[Path, str] = field(default_factory=dict)
    warn_unlisted: bool = True

    @classmethod
    def of(cls, journal: Journal) -> Others:
        """The other journals beside ``journal``, of its header's API URL and account."""
        return cls(journal.path, journal.header.api_url, journal.header.account_id)

    @cached_property
    def paths(self) -> list[Path]:
        """The other journal files in the journal's directory."""
        unlisted = None if self.warn_unlisted else self.unreadable
        return journal_files(self.path.parent, self.path, unlisted)

    def journals(self, *needles: str) -> list[Journal]:
        """Those of the other journals whose text holds each of ``needles`` (a look at the
        text spares parsing the rest: a journal may hold thousands of records)."""
        out: list[Journal] = []
        for path in self.paths:
            if path not in self._read:
                try:
                    text = read_regular(path).decode("utf-8", errors="replace")
                except OSError as exc:
                    self.unreadable[path] = f"{path}: {exc.strerror or type(exc).__name__}"
                    continue
                if not all(n in text for n in needles):
                    continue
                self._read[path] = self._parse(path)
            found = self._read[path]
            if found is not None:
                out.append(found)
        return out

    def _parse(self, path: Path) -> Journal | None:
        """The journal at ``path`` when it is one of this API URL and account, else None."""
        try:
            other = Journal.read(path, op="beside", warn_torn=False)  # not this run's news
        except InputFileError as exc:
            logger.debug("not looking at %s for this tool's other runs: %s", path, exc)
            self.unreadable[path] = str(exc)
            return None
        same_url = same_api(other.header.api_url, self.api_url)
        return other if same_url and other.header.account_id == self.account_id else None

    @cached_property
    def open_cards(self) -> dict[Pair, dict[str, str]]:
        """(board, member) → card id → the journal (path) that added the member to that card
        and holds it open."""
        out: dict[Pair, dict[str, str]] = {}
        for j in self.journals(_CARD):
            records = [u.record for u in undoable(j.records)] + [*unresolved(j.records).values()]
            for r in records:
                if r.action == CardMember.action:
                    cards = out.setdefault((r.board_id, r.member_id), {})
                    cards.setdefault(r.card_id, str(j.path))
        return out

    def elsewhere(self, c: Change) -> dict[str, str]:
        """The cards of ``c``'s board the other journals added its member to and hold open."""
        return self.open_cards.get((c.board_id, c.member.id), {})

    def keeping(self, pairs: Collection[Pair]) -> list[Journal]:
        """The journals with a grant on ``pairs`` their undo kept (``kept``)."""
        if not pairs:
            return []
        return [j for j in self.journals(_GRANT, _UNDO) if kept(j.records, pairs)]


def card_pairs(records: Iterable[JournalRecord], journal: Iterable[JournalRecord]) -> set[Pair]:
    """(board, member) of the card members among ``records``, but where ``journal`` made the
    grant (or may have): its own undo decides that one. One its apply found made (another
    plan's, applied first: R78b) or did not make is looked at, as where it holds none."""
    latest = {r.change_id: r for r in journal if r.action == GRANT and r.op == "apply"}
    grants = {(r.board_id, r.member_id) for r in latest.values() if r.status == "applied" or r.open}
    cards = {(r.board_id, r.member_id) for r in records if r.action == CardMember.action}
    return cards - grants


def kept(records: Iterable[JournalRecord], pairs: Collection[Pair]) -> list[Undoable]:
    """The grants on ``pairs`` (board, member) among ``records`` (a journal's) that an undo of
    that journal looked at and left in place: not settled (``undo_left.undoable``), its latest
    record an undo's."""
    records = list(records)
    latest = {r.change_id: r for r in records}
    return [
        u
        for u in undoable(records)
        if u.record.action == GRANT
        and (u.record.board_id, u.record.member_id) in pairs
        and latest[u.record.change_id].op == "undo"
    ]


def undo_kept(
    api: TrelloApi,
    options: ApplyOptions,
    progress: Callable[[ChangeOutcome], None] | None,
    live: Mapping[str, LiveBoard],
    others: Others,
    locked: Iterable[Journal],
    pairs: Collection[Pair],
    needers: Callable[[Change], list[tuple[Change, str]]],
) -> tuple[list[ChangeOutcome], dict[str, str]]:
    """Undo the grants on ``pairs`` that other journals' undos kept (``Others.keeping``; of
    those journals, the ``locked`` ones: the caller holds the locks of their plans, taken
    before ``others`` was read), after this undo's removals (``needers``: the card members of
    this undo a grant is for, each with its outcome): removed where ``undo_grant`` allows now
    (``Others.elsewhere``: the cards other journals still hold open), else left with why;
    journaled in each grant's own journal, read again here. Their outcomes, and what each is
    about."""
    from trello_restore.undo import _change

    outcomes: list[ChangeOutcome] = []
    labels: dict[str, str] = {}
    kind = BoardMembership()
    paths = {j.path for j in locked}  # a journal found since is another run's
    for earlier in (j for j in others.keeping(pairs) if j.path in paths):
        try:
            journal = None if options.dry_run else Journal.open(earlier.path, earlier.header)
        except InputFileError as exc:
            logger.warning(
                "the board memberships %s granted that its undo kept for this journal's cards "
                "stay: %s",
                earlier.path,
                exc,
            )
            continue
        records = earlier.records if journal is None else journal.records
        grants = [(_change(u.record), u.resumed) for u in kept(records, pairs)]
        opened = journal if journal is not None else contextlib.nullcontext()
        with opened, Runner(api, journal, options, "undo", progress) as run:
            jobs: list[tuple[Change, Callable[[], object], WriteRule]] = []
            for c, resumed in grants:
                decision = kind.decide_undo_kept(
                    c,
                    live[c.board_id],
                    resumed=resumed,
                    needers=needers(c),
                    elsewhere=others.elsewhere(c),
                )
                if decision is not None:
                    run.settle(c, *decision)
                elif options.dry_run:
                    run.settle(c, WOULD_UNDO)
                else:
                    jobs.append((c, partial(kind.remove, api, c), kind.undo_rule(resumed)))
            removing = len(jobs) + sum(o.status == WOULD_UNDO for o in run.outcomes.values())
            if removing:
                logger.warning(
                    "%s %s that %s granted, which its undo kept for this journal's cards%s",
                    "would also remove" if options.dry_run else "also removing",
                    plural(removing, "board membership"),
                    earlier.path,
                    "" if options.dry_run else " (journaled there)",
                )
            run.run_writes(jobs)
        for c, _ in grants:
            outcomes.append(run.outcomes[c.change_id])
            label = kind.live_label(c, live[c.board_id]) or kind.unnamed(
                c.member.id, c.board_id, ""
            )
            labels[c.change_id] = f"{label}, granted by journal {earlier.path}"
    return outcomes, labels
