"""The plan memo: the pure planner's last result per scope, kept in the cache directory, so that
a re-plan on unchanged history (a cron job every 15 minutes on a board where nothing happened)
neither reads the kept histories' bodies nor plans again.

The planner (``resolve_filters`` + ``build_plan`` + ``credit_apps``) is a pure function of
what a fetch hands it: the history, the current state (cards with their fields and members,
lists, memberships), the member names, the boards in scope (named and followed), the cards
with incomplete history, the fetch's warnings, and the planning options. A memo is written
after a plan made through the kept history (``fetcher_stored``), under a key that is the
SHA-256 of canonical JSON of all of it, with the history standing in as the identity
(``generation``) of each board store the plan was made from, as written after the run:

* a format version, the tool's ``__version__`` and a digest of the code of the modules that
  make the plan (``rules``: the planner's, ``history``'s ``credit_apps``, ``own_sets``'),
  so that a new planner never reads an old memo, whether its version was bumped or not (R43h:
  every build said 0.1.0, and ``VERSION`` was not bumped for the cross-board rule);
* the scope: API URL, account, named boards, workspace, the boards the scope resolved to;
* the options as given to the planner (a resolved ``--since last-run``, ``--restore``, the
  filters, every ``PlanOptions`` field), ``since`` and ``until`` by what they select (below);
* per board in scope (in scope order), its store's generation (``history_store``: a new one
  each time a store's content changes; its head names it);
* a digest of the fresh state, member names, boards (id, name, URL), named and unreadable
  boards and warnings.

**The window by what it selects.** The planner reads ``since`` and ``until`` only in
comparisons with the dates of the history's actions, here (checked in planner.py,
planner_drafts.py, planner_values.py, planner_scope.py, history.py):

* ``planner.build_plan``: ``planner_drafts.by_card`` splits the member actions at ``since``
  (before it: each card replayed to the cutoff, for the silent losses; at or after it: the
  window's removals);
* ``planner._Planner.in_window`` (``--mode ever-added``: a removal in the window) and
  ``_Planner.recorded`` (a removal at or after ``until`` is ``outside_window``), on member
  actions' dates;
* ``planner_values._Values.in_window``: field changes' dates (``selected``; ``judge``'s
  ``outside_window``/``filtered``) and card deletions' dates (``unrestorable``);
* and the plan's own copy of the options (``Plan.options``: printed, written in the plan file,
  ``oneshot`` reads its ``until`` for the last-run it records).

Nothing else: ``planner_scope`` (``cards_in_scope``, ``resolve_filters``, which leaves both
as given), ``history.credit_apps`` and ``PlanMeta`` never read them; the state's dates (a
card's due date) are compared with other values, never with the window; a skipped entry
holds an action id and a reason, not a cutoff. So two cutoffs after the newest of those
dates (``latest``: of the history the plan was made from, card feeds included) select alike
(a ``since`` nothing, an ``until`` everything, as no ``until``), and so make the same plan.
One kind of action is left out of ``latest``: a member added to a card who is on it now (a
*settled* add, such as the tool's own restores). Before or after ``since``, such an add
changes nothing: ``until`` is compared with removals' dates only; a removal of that member,
at any date, is ``already_on_card`` first; a silent loss (or an ``--mode ever-added`` change)
is of a member not on the card now, which this one is; and the cards acted on are the same.
The key holds ``latest`` and each cutoff either as its date or as "after everything"
(``since`` after ``latest``; ``until`` after it, or none), and a hit's plan carries the run's
own ``since`` and ``until``. The memo's ``latest`` is the current run's whenever the key
matches (the same stores, state and options: the same history and cards), and a memo whose
``latest`` was changed misses. So in a cron job (``--since last-run``: the last run's start,
less five minutes) a run with nothing new hits although its ``since`` moved, unless the last
run that planned had someone's action in its window (then this run plans, and the next one
hits); the tool's own restores are settled adds and do not count (with ``--restore``'s value
kinds its own field changes do: one run more).

A later fetch through the store that finds nothing new on any board (each board's ``since=``
request came back empty, no store was built, rebuilt or extended: ``Kept.unchanged``) looks
its key up: the stores' identities are then those of the memo's plan, and so is everything
else the planner reads, so the plan is that plan; the cards' own feeds need no reading either
(every card the stores do not show being created was read and kept when the memo was written,
and the cards are the same). Any difference — a new action, a member stripped without an
action, a card archived, a member renamed, other options, a board followed or no longer
readable, another tool version — is another key: a miss, and the plan is made as without a
memo (and memoised).

``<cache_dir>/plans/<scope key>.json.gz`` (gzip'd, 0600, replaced atomically): a first line
of JSON with the format, version, key, ``latest`` (the key is made with it) and the SHA-256 of
the body, read alone to tell a hit; then the body: a line of JSON with the fields of the plan's
value changes whose latest change is the token's member's, with its date
(``undone_values.own_sets``, a function of the plan, the history and the account, all in the
key: what a run without a plan file needs to leave out what this tool's undo set back, without
reading the history), then the plan itself, every field of every object (``plan_codec``: no
credentials, a plan holds none). ``plan_codec.encode`` refuses a value it
could not give back exactly, so a memo that would not give back the same plan is not written,
and nothing is read back to check it; a body whose checksum is not the header's (damaged, or
edited by hand) is not used. A damaged or foreign memo is ignored with a one-line notice;
an earlier version's is a miss, without one (every upgrade would say it).
``--no-cache``: no memo; ``--refresh-history``: none is read.
"""

from __future__ import annotations

import functools
import gzip
import hashlib
import importlib.util
import io
import json
import logging
import zlib
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, fields, is_dataclass, replace
from datetime import UTC, datetime
from operator import attrgetter
from pathlib import Path
from typing import Any

import orjson

from trello_restore import __version__
from trello_restore.fetched import Fetched
from trello_restore.fsutil import (
    in_the_way,
    private_dirs,
    read_regular,
    sweep_stale_temps,
    writable_dir,
    write_atomic,
)
from trello_restore.history_store import VERSION as STORE_VERSION
from trello_restore.lastrun import Scope
from trello_restore.models import History, Plan, PlanOptions, State
from trello_restore.parsing import load_json
from trello_restore.plan_codec import NotCodable, decode, encode
from trello_restore.planfile import PlanMeta
from trello_restore.store_notices import what_to_do

__all__ = ["FORMAT", "VERSION", "PlanMemo", "canonical", "latest", "window"]

logger = logging.getLogger(__name__)

FORMAT = "trello-restore plan memo"
#: Bumped when what a key covers, the file's shape or the planner's rules change (3: the body
#: is ``plan_codec``'s, its checksum in the header; 4: a colleague's change set back counts as
#: later work, lists moved from a named board are in scope, a card or list on no board read is
#: ``other_board``: R31a, R31c, R31d; a memo's plan made by the older rules is not reused;
#: 5: the body begins with the line of ``own``; 6: moves across boards judged by where an
#: object was and is now, ``planner_moves``, and an id given to ``--by`` names that member
#: only: the body as 5's; 7: the first line holds ``removed`` too, R85a).
VERSION = 7
#: The modules whose code makes a memo's plan and ``own`` (``rules``).
RULES = (
    "planner",
    "planner_values",
    "planner_moves",
    "planner_scope",
    "planner_drafts",
    "models",
    "history",
    "history_parts",
    "undone_values",
)
#: A cutoff after every date the planner compares it with (``window``).
AFTER = "after everything"
#: What stands for ``since`` and ``until`` in the options of a key (``window`` holds them).
_ANY = datetime.min.replace(tzinfo=UTC)
#: A value change's field: (object id, Trello's field name), as ``undone_values.Field``.
Field = tuple[str, str]
#: A memo's plan, ``own`` and ``removed``.
_Memoised = tuple[Plan, dict[Field, datetime], dict[tuple[str, str], tuple[datetime, ...]]]


@functools.cache
def rules() -> str:
    """A digest of the source of ``RULES`` (read once a process): another when any of them
    changes. A module whose source cannot be read counts by its name (with ``__version__``
    beside it in the key)."""
    digest = hashlib.sha256()
    for name in RULES:
        spec = importlib.util.find_spec(f"trello_restore.{name}")
        try:  # through the loader: a package run from a zip too (R43i)
            digest.update(spec.loader.get_data(spec.origin))  # type: ignore[union-attr]
        except (OSError, TypeError, AttributeError):
            digest.update(name.encode())
    return digest.hexdigest()[:32]


@dataclass
class PlanMemo:
    """One run's memo: ``plan`` is the memoised plan on a hit, None on a miss (plan, then
    ``keep`` it)."""

    path: Path
    scope: Scope
    #: The options as given to the planner (before ``resolve_filters``).
    options: PlanOptions
    plan: Plan | None = None
    #: On a hit, the fields of ``plan``'s value changes whose latest change is the token's
    #: member's, with its date (``undone_values.own_sets``), as the run that made it found.
    own: dict[Field, datetime] = field(default_factory=dict)
    #: On a hit, the card members removed more than once, with when
    #: (``undone_hint.removal_dates``; R85a: without them, a run from the memo called a
    #: removal by hand after a killed undo's that undo's).
    removed: dict[tuple[str, str], tuple[datetime, ...]] = field(default_factory=dict)
    #: Whether a path in the memo's way was said in this run (``_blocked``: once a run).
    said: bool = False

    @classmethod
    def recall(
        cls,
        cache_dir: Path,
        scope: Scope,
        fetched: Fetched,
        options: PlanOptions,
        *,
        read: bool = True,
    ) -> PlanMemo:
        """The memo of this scope's plan for ``fetched`` and ``options`` when there is one
        (``read``, and the fetch found nothing new); otherwise a miss, with ``fetched``'s
        history read now (while its API is open)."""
        memo = cls(cache_dir / "plans" / f"{scope.key}.json.gz", scope, options)
        sweep_stale_temps(memo.path.parent, ".plan-memo-")  # a killed run's
        kept = fetched.kept
        if read and kept is not None and kept.unchanged is not None:
            stores = kept.unchanged
            read_back = memo._read(lambda newest: memo.key(fetched, stores, newest))
            if read_back is not None:  # made for a window that selects the same: this one's
                plan, memo.own, memo.removed = read_back
                window_now = replace(plan.options, since=options.since, until=options.until)
                memo.plan = replace(plan, options=window_now)
        if memo.plan is None:
            _ = fetched.history
        return memo

    def key(self, fetched: Fetched, stores: dict[str, str], newest: datetime | None) -> str:
        """The key of a plan of ``fetched`` with ``stores`` (board id -> generation), whose
        history's ``latest`` date is ``newest``."""
        s = self.scope
        doc = [
            [FORMAT, VERSION, __version__, STORE_VERSION, rules()],
            [s.api_url, s.account_id, s.named_boards, s.workspace_id, s.board_ids],
            [newest, *window(self.options, newest)],
            replace(self.options, since=_ANY, until=None),
            list(stores.items()),
            fetched.state,
            fetched.members,
            [[b.id, b.name, b.url] for b in fetched.boards],
            fetched.named,
            fetched.unreadable,
            fetched.warnings,
        ]
        return hashlib.sha256(canonical(doc)).hexdigest()

    def keep(
        self,
        plan: Plan,
        meta: PlanMeta,
        fetched: Fetched,
        own: Mapping[Field, datetime],
        removed: Mapping[tuple[str, str], tuple[datetime, ...]],
    ) -> None:
        """Memoise a plan made on a miss from ``fetched``, with its ``own`` (``own_sets``) and
        ``removed`` (``removal_dates``;
        nothing on a hit, or when a store it was made from could not be written). A memo that
        cannot be written (a notice: what it costs until it can be, what to check), or that
        would not give back exactly this plan (``plan_codec.encode`` refuses it), is left out
        (the next run plans again). (``meta`` is the run's own, made anew by each run: not
        kept.)"""
        kept = fetched.kept
        if self.plan is not None or kept is None or kept.stored is None:
            return
        owned = [[oid, name, when.isoformat()] for (oid, name), when in sorted(own.items())]
        try:
            gone = [[c, m, [d.isoformat() for d in ds]] for (c, m), ds in sorted(removed.items())]
            body = orjson.dumps({"own": owned, "removed": gone}) + b"\n" + encode(plan)
        except NotCodable as exc:
            logger.debug("the plan is not memoised: %s", exc)
            return
        saved = kept.saved  # the stores' writes are done (each its own notice if it failed)
        if saved is None:
            return
        newest = latest(fetched.history, fetched.state)
        header = {
            "format": FORMAT,
            "version": VERSION,
            "key": self.key(fetched, saved, newest),
            "latest": newest.isoformat() if newest is not None else None,
            "body": hashlib.sha256(body).hexdigest(),
        }
        text = json.dumps(header).encode() + b"\n" + body
        try:
            private_dirs(self.path.parent)
            data = gzip.compress(text, compresslevel=1)
            write_atomic(self.path, data, prefix=".plan-memo-", sweep=True)
        except OSError as exc:
            if not self._blocked():
                directory = writable_dir(self.path)
                logger.warning(
                    "could not keep the plan memo %s (%s): this run's plan is not memoised; "
                    "until %s can be written, every run plans anew; %s",
                    self.path,
                    exc.strerror or exc,
                    directory,
                    what_to_do(exc),
                )

    def _read(self, key_of: Callable[[datetime | None], str]) -> _Memoised | None:
        """The memoised plan, its ``own`` and ``removed`` when its key is ``key_of`` its
        ``latest``, or None (no memo, another key, or one that cannot be used: then a one-line
        notice)."""
        try:
            with gzip.GzipFile(fileobj=io.BytesIO(read_regular(self.path))) as f:
                header = load_json(f.readline())
                if not isinstance(header, dict) or header.get("format") != FORMAT:
                    return self._ignored("it is not a plan memo")
                version = header.get("version")
                if type(version) is int and version < VERSION:  # an earlier version's: a miss
                    logger.debug("plan memo %s: an earlier version's (%d)", self.path, version)
                    return None
                if version != VERSION:
                    return self._ignored(f"it has format version {version!r}")
                newest = header.get("latest")
                if header.get("key") != key_of(_date(newest) if newest is not None else None):
                    return None
                body = f.read()
        except FileNotFoundError:
            return None
        except json.JSONDecodeError:  # empty, cut short, or not this tool's
            return self._ignored("it is damaged: its first line is not a memo's header")
        except (OSError, EOFError, zlib.error, ValueError) as exc:
            if isinstance(exc, OSError) and self._blocked():
                return None
            return self._ignored(f"it cannot be read ({getattr(exc, 'strerror', None) or exc})")
        if header.get("body") != hashlib.sha256(body).hexdigest():
            return self._ignored("it is damaged (its body is not the one its header names)")
        try:
            line, _, rest = body.partition(b"\n")
            first = orjson.loads(line)
            own = {(str(o), str(f)): _date(d) for o, f, d in first["own"]}
            removed = {
                (str(c), str(m)): tuple(_date(d) for d in ds) for c, m, ds in first["removed"]
            }
            return decode(rest), own, removed
        except (LookupError, TypeError, ValueError, RecursionError) as exc:
            return self._ignored(f"it is damaged ({type(exc).__name__})")

    def _blocked(self) -> bool:
        """Whether a file or directory stands where the memo goes (``fsutil.in_the_way``):
        said once a run, as what it costs and what to do (it stays until someone moves it)."""
        blocked = in_the_way(self.path, self.path.parents[1])
        if blocked is not None and not self.said:
            self.said = True
            logger.warning(
                "the plan memo is blocked: %s is %s; plans are not memoised (every run "
                "plans anew) until you remove or rename it",
                *blocked,
            )
        return blocked is not None

    def _ignored(self, why: str) -> _Memoised | None:
        """None (plan anew), with the notice."""
        logger.warning("the plan memo %s is ignored (%s): the plan is made anew", self.path, why)
        return None


# ------------------------------------------------------------------------------- the window


def latest(history: History, state: State) -> datetime | None:
    """The newest date the planner compares ``since`` and ``until`` with where the window
    matters (see the module's docstring): of the member removals, the member adds whose member
    is not on the card now (in ``state``), the field changes and the card deletions; None when
    there are none. (The history is in date order, as the planner's binary search needs it.)"""
    dates = [d for d, _ in history.deleted_when.values()]
    if history.field_updates:
        dates.append(history.field_updates[-1].date)
    cards = state.cards
    for a in reversed(history.member_actions):
        card = cards.get(a.card_id)
        if a.kind == "remove" or card is None or a.member_id not in card.member_ids:
            dates.append(a.date)
            break
    return max(dates, default=None)


def window(options: PlanOptions, newest: datetime | None) -> tuple[object, object]:
    """``since`` and ``until`` as a key holds them: each as its date, or ``AFTER`` when it
    comes after ``newest`` (``latest``: None, no date to compare) and so selects as any other
    such cutoff does: ``since`` nothing (every date is before it), ``until`` everything (as
    no ``until``)."""
    since, until = options.since, options.until
    return (
        AFTER if newest is None or since > newest else since,
        AFTER if until is None or newest is None or until > newest else until,
    )


def _date(text: object) -> datetime:
    """A header's ISO date (``ValueError`` for anything else: the memo is damaged)."""
    when = datetime.fromisoformat(text) if isinstance(text, str) else None
    if when is None or when.tzinfo is None:
        raise ValueError(f"not a date with its time zone: {text!r}")
    return when


# ------------------------------------------------------------------------------- canonical


def canonical(value: Any) -> bytes:
    """Canonical JSON (UTF-8) of plain data and dataclasses: a dataclass as its class name and
    its fields' values in order, a mapping in its order (the planner may depend on it), a set
    sorted, a date in ISO form. Equal inputs, equal bytes; any field or value that differs,
    different bytes. (orjson walks it; only what it cannot encode comes here.)"""
    return orjson.dumps(value, default=_plain, option=_CANONICAL)


#: Dataclasses and dates go to ``_plain`` (orjson would write a dataclass as an object and a
#: date its own way); mappings keep their order.
_CANONICAL = orjson.OPT_PASSTHROUGH_DATACLASS | orjson.OPT_PASSTHROUGH_DATETIME


_FIELDS: dict[type, Callable[[Any], tuple[Any, ...]]] = {}


def _plain(value: Any) -> Any:
    """What JSON's encoder cannot encode, as what it can."""
    if isinstance(value, datetime):
        return ["date", value.isoformat()]
    if isinstance(value, (set, frozenset)):
        return ["set", *sorted(value, key=lambda x: canonical(x))]
    get = _FIELDS.get(type(value))
    if get is None:
        if not is_dataclass(value) or isinstance(value, type):
            raise TypeError(f"not plain data: {type(value).__name__}")
        names = [f.name for f in fields(value)]
        many = attrgetter(*names)
        get = _FIELDS[type(value)] = many if len(names) > 1 else lambda v: (many(v),)
    return [type(value).__name__, *get(value)]
