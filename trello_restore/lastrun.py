"""``--since last-run``: the cutoff of the previous successful run on the same boards.

One small JSON file per *scope* in ``<state_dir>/last-run/``: its name is derived from the API
URL, the token's account, the board ids named with ``--board`` and the id of the workspace named
with ``--workspace`` (not the workspace's boards, so a board added to the workspace later is
covered from the last run on), and what a run covers less than all the members (``covers``:
``--restore`` other than members, and each filter that narrows the plan). A run narrowed by a
filter (a trial on one ``--card``, a guard with ``--by``) keeps a state of its own: it must not
move the cutoff of a run that covers more, whose next window would then skip the rest of an
incident; before it has one, it continues from a run that covers all it does. A plain members
run keeps the name it always had. The file holds when the last successful run started, on
Trello's clock where this machine's runs ahead of it (``run_start``: Trello dates the actions the
next window reads); a run with ``--since last-run`` starts ``OVERLAP`` earlier, for what is left
(re-reading a few minutes twice is harmless: members already back are skipped). It also keeps
the named boards' shortLinks with their ids (``board_links``), for a later run given a board by
URL whose read Trello refuses (``recorded_board``), and every board's name.

The command line writes it only after a successful apply (exit code 0), never after a dry run,
a declined confirmation, a partial failure or an error, so a failing run is retried from the
same cutoff next time.
"""

from __future__ import annotations

import errno
import hashlib
import itertools
import json
import logging
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from trello_restore.api.settings import api_identity, same_api
from trello_restore.errors import InputFileError, UsageError
from trello_restore.fsutil import in_the_way, private_dirs, read_regular, sudo_advice, write_atomic
from trello_restore.models import PlanOptions, millis, normal_name
from trello_restore.parsing import load_json
from trello_restore.store_notices import unsearchable
from trello_restore.timeparse import FLOOR, FUTURE_SLACK, check_last_run_not_future
from trello_restore.words import when

logger = logging.getLogger(__name__)

FORMAT = "trello-restore-last-run"
FORMAT_VERSION = 1
#: How much earlier than the recorded start a ``--since last-run`` window begins.
OVERLAP = timedelta(minutes=5)
#: An HTTP ``Date``'s resolution: whole seconds, rounded down.
_DATE_RESOLUTION = timedelta(seconds=1)
#: The value of ``--since`` that asks for this.
LAST_RUN = "last-run"


def is_last_run(value: str | None) -> bool:
    """Whether a ``--since`` value means the last successful run."""
    return value is not None and value.strip().lower() == LAST_RUN


@dataclass(frozen=True)
class Scope:
    """What a run covers, as resolved over the API: the key of its last-run state and locks."""

    api_url: str
    account_id: str
    #: Ids of the boards named with ``--board`` (sorted, distinct).
    named_boards: tuple[str, ...]
    #: The workspace's id, with ``--workspace``.
    workspace_id: str | None = None
    #: Ids of every board in scope: the named ones and the workspace's open boards.
    board_ids: tuple[str, ...] = ()
    #: Their names, by id (what the locks' messages say; neither a key nor compared).
    board_names: tuple[tuple[str, str], ...] = field(default=(), compare=False)
    #: What the run covers less than all the members (``covers``): none for a plain run.
    covers: tuple[tuple[str, str], ...] = ()
    #: The named boards' shortLinks, as (shortLink, id): recorded, so that a later run given a
    #: board by URL or shortLink whose read Trello refuses knows its id (``recorded_board``).
    board_links: tuple[tuple[str, str], ...] = field(default=(), compare=False)

    @property
    def key(self) -> str:
        """16 hex digits naming this scope's state file (a plain run's as it always was)."""
        return self._key(api_identity(self.api_url))

    @property
    def earlier_key(self) -> str | None:
        """The name an earlier version gave this scope's state file, where it differs: from
        the API URL as given (``http://localhost:PORT/1``), before one API however spelled
        was one state (R35d: cron found no last run after the upgrade)."""
        earlier = self._key(self.api_url.rstrip("/"))
        return earlier if earlier != self.key else None

    def _key(self, api_url: str) -> str:
        doc: dict[str, Any] = {
            "api_url": api_url,
            "account": self.account_id,
            "boards": sorted(set(self.named_boards)),
            "workspace": self.workspace_id,
        }
        if self.covers:
            doc["covers"] = [list(pair) for pair in self.covers]
        return hashlib.sha256(json.dumps(doc, sort_keys=True).encode()).hexdigest()[:16]

    def broader(self) -> list[Scope]:
        """The scopes of the same boards, kinds and mode with fewer of this one's filters
        (``FILTERS``), each of which covers all this one does: the runs a narrowed run may
        continue from before it has a last run of its own."""
        filters = [pair for pair in self.covers if pair[0] in FILTERS]
        return [
            replace(self, covers=tuple(p for p in self.covers if p not in dropped))
            for n in range(1, len(filters) + 1)
            for dropped in itertools.combinations(filters, n)
        ]

    @property
    def options_text(self) -> str:
        """``covers`` as the command line says it (``--restore archived --by noahk``)."""
        return " ".join(f"{flag} {value}" if value else flag for flag, value in self.covers)

    def describe(self) -> dict[str, Any]:
        """What the state file records besides the time (to check it and for people)."""
        doc: dict[str, Any] = {
            "api_url": api_identity(self.api_url),
            "account_id": self.account_id,
            "boards": sorted(set(self.named_boards)),
            "workspace": self.workspace_id,
        }
        if self.covers:
            doc["covers"] = self.options_text
        return doc


#: The options of ``covers`` that narrow a plan (without one, a run covers more); the others
#: (``--restore``, ``--mode``) say what is planned.
FILTERS = frozenset({"--removed-by", "--by", "--cause", "--only-recorded", "--list", "--card"})


def covers(options: PlanOptions) -> tuple[tuple[str, str], ...]:
    """What a run with ``options`` covers less than all the members, as (option, value)
    pairs in the command line's words: ``--restore`` other than members alone, and each filter
    (``--removed-by``, ``--by``, ``--cause``, ``--only-recorded``, ``--mode ever-added``,
    ``--list``, ``--card``). Not ``--since``/``--until`` (the window is what the state records)
    nor ``--add-to-board`` (a run that leaves changes blocked records nothing)."""
    pairs: list[tuple[str, str]] = []
    if options.restore != frozenset({"members"}):
        pairs.append(("--restore", ",".join(sorted(options.restore))))
    for flag, value in (
        # A username in any case is the same member (Trello's usernames are lower case).
        ("--removed-by", options.removed_by and options.removed_by.lower()),
        ("--by", options.by and options.by.lower()),
        ("--cause", options.cause),
        ("--mode", options.mode if options.mode != "removed" else None),
    ):
        if value is not None:
            pairs.append((flag, value))
    if options.only_recorded:
        pairs.append(("--only-recorded", ""))
    lists = {normal_name(x) for x in options.lists} if options.lists is not None else None
    for flag, values in (("--list", lists), ("--card", options.cards)):
        if values is not None:
            pairs.append((flag, ",".join(sorted(values))))
    return tuple(pairs)


def state_file(state_dir: Path, scope: Scope) -> Path:
    """Where ``scope``'s last run is recorded: its own file, or the file an earlier version
    named from the API URL as given (``Scope.earlier_key``) when only that one is there."""
    path = _own_file(state_dir, scope)
    if scope.earlier_key is None:
        return path
    earlier = state_dir / "last-run" / f"{scope.earlier_key}.json"
    try:
        return earlier if not path.exists() and earlier.is_file() else path
    except OSError:  # an unsearchable directory: said where the file is read
        return path


def _own_file(state_dir: Path, scope: Scope) -> Path:
    """The scope's last-run file."""
    return state_dir / "last-run" / f"{scope.key}.json"


def read_last_run(
    state_dir: Path, scope: Scope, *, now: datetime | None = None, label: str = "--since last-run"
) -> datetime:
    """The cutoff for ``--since last-run``: the last successful run's start minus ``OVERLAP``.
    ``label`` names where ``last-run`` was asked for in the errors (``TRELLO_RESTORE_SINCE =
    last-run``, a config file's key).

    ``UsageError`` when no run has been recorded for this scope (the first run needs a date),
    or (given ``now``) when the recorded run is later than now, as ``--since`` in the future
    is; ``InputFileError`` when the file is damaged or belongs to another scope.

    A run narrowed by filters that has no last run of its own yet continues from the last run
    of the same boards and kinds with fewer filters, the latest recorded (``Scope.broader``):
    a dry run trying a filter, or a new guard, starts where the main job is."""
    path = state_file(state_dir, scope)
    earlier = False  # continued from the run an earlier version recorded (``_broader_run``)
    if not _exists(path, label):
        found = _broader_run(state_dir, scope)
        # Only that state drops a --restore or --mode (``Scope.broader`` drops filters alone).
        earlier = found is not None and not found.covers and not set(dict(scope.covers)) <= FILTERS
        if found is not None:
            logger.info(
                "%s: no run with %s is recorded yet; continuing from the last run %s (%s)",
                label,
                scope.options_text,
                f"with {found.options_text}" if found.covers else "without its options",
                state_file(state_dir, found),
            )
            scope, path = found, state_file(state_dir, found)
    try:
        raw = read_regular(path)
    except FileNotFoundError:
        options = f" with {scope.options_text}" if scope.covers else ""
        others = _other_runs(state_dir, scope)
        said = ""
        if others:
            options = options or " without filters"
            said = (
                f", only runs with other options ({'; '.join(others)}), which do not cover all "
                "this one does"
            )
        raise UsageError(
            f"{label}: no successful run on these boards{options} is recorded yet "
            f"({path} does not exist){said}; pass a date or age the first time, e.g. --since "
            "7d, and later runs continue from the last successful one"
        ) from None
    except OSError as exc:
        blocked = in_the_way(path, state_dir)
        if blocked is not None:
            raise InputFileError(
                f"{label}: cannot read {path} ({blocked[0]} is {blocked[1]}); remove "
                "or rename it, and pass --since DATE once"
            ) from None
        fix = sudo_advice(path, state_dir, whole=True) or "check the state directory's permissions"
        raise InputFileError(
            f"{label}: cannot read {path} ({exc.strerror}); {fix}, or pass --since DATE"
        ) from None
    try:
        doc = load_json(raw.decode("utf-8"))
        if not isinstance(doc, dict) or doc.get("format") != FORMAT:
            raise ValueError("not a last-run state file")
        version = doc.get("format_version")
        if type(version) is int and version > FORMAT_VERSION:  # R59e: after a downgrade
            raise InputFileError(_newer(label, path, version, doc))
        if type(version) is not int or version != FORMAT_VERSION:  # R60a: not true, nor 1.0
            raise ValueError(f"unknown format_version {json.dumps(version, ensure_ascii=False)}")
        carried = earlier and "covers" in doc  # this version kept the earlier one's run
        when = _last_run_of({"last_run": doc.get(EARLIER_RUN)} if carried else doc)
        if not _describes(doc, scope):
            raise ValueError("it records other boards, account or API URL")
    except (UnicodeDecodeError, ValueError, KeyError, TypeError) as exc:
        raise InputFileError(
            f"{label}: the state file {path} is damaged ({exc}); delete it and pass "
            "--since DATE once"
        ) from None
    if now is not None:
        check_last_run_not_future(when, now, path, label)
    if "covers" not in doc or carried:  # written before runs kept states of their own
        logger.warning(
            "%s: %s %s by an earlier trello-restore, which recorded in it every run on these "
            "boards, narrowed (--card, --list, --removed-by, --by, --cause, --only-recorded) or "
            "restoring other kinds (--restore, --mode) too: if you ran one after this job's last "
            "successful run, pass --since with the date of that last run once instead",
            label,
            path,
            f"keeps the last run ({millis(when)}) recorded" if carried else "was written",
        )
    return when.astimezone(UTC) - OVERLAP


def gap_line(state_dir: Path, scope: Scope, since: datetime, gap: datetime) -> str:
    """Why a run whose window starts at ``since``, after the recorded last run ``gap``
    (``last_run_gap``), is not recorded, and what the next ``--since last-run`` run meets: the
    recorded one, or, when a newer version wrote it (R60d) or it is damaged (R61a), a refusal
    (it said the recorded one), with the date to pass."""
    then = "the next --since last-run run continues from the recorded one"
    path = state_file(state_dir, scope)
    if not path.exists() and (found := _broader_run(state_dir, scope)) is not None:
        path = state_file(state_dir, found)
    doc = _state_doc(path)
    version = doc.get("format_version") if doc is not None else None
    if type(version) is not int or version != FORMAT_VERSION:  # R61a: damaged, too
        newer = type(version) is int and version > FORMAT_VERSION
        why = "written by a newer trello-restore" if newer else "damaged"
        fix = "upgrade trello-restore, or " if newer else ""
        then = (
            f"the recorded one was {why}, so the next --since last-run run is refused: {fix}pass "
            f"--since {gap.astimezone(UTC):%Y-%m-%dT%H:%M:%SZ} once"
        )
    return (
        f"this run was not recorded as the last run on these boards: its window starts at "
        f"{when(since, millis=True)}, after the last one recorded ({when(gap, millis=True)}), "
        f"and nothing covered the time between; {then}"
    )


def _newer(label: str, path: Path, version: int, doc: dict[str, Any]) -> str:
    """A state file a newer version wrote: what to do. A date later than its last run would
    leave a gap, so the run would not be recorded and the next one would meet this file again
    (R60a): the date to pass is its last run's, when it can be read."""
    try:
        since = f"--since {_last_run_of(doc).astimezone(UTC):%Y-%m-%dT%H:%M:%SZ} (its last run)"
    except (ValueError, KeyError, TypeError):
        since = "--since with the date of the last run it records"
    return (
        f"{label}: the state file {path} was written by a newer trello-restore (format_version "
        f"{version}); upgrade trello-restore, or pass {since} once"
    )


def _describes(doc: dict[str, Any], scope: Scope) -> bool:
    """Whether a state document records ``scope`` (its API however spelled: ``same_api``)."""
    want = scope.describe()
    got = {k: doc.get(k) for k in want}
    if same_api(str(got["api_url"]), want["api_url"]):
        got["api_url"] = want["api_url"]
    return got == want


def _exists(path: Path, label: str) -> bool:
    """Whether the state file ``path`` is there; ``InputFileError`` naming the directory this
    user cannot search when that cannot be told (mode 000)."""
    try:
        return path.exists()
    except OSError as exc:
        directory = unsearchable(path)
        fix = sudo_advice(path, path) or f"make it searchable (chmod 700 {directory} if yours)"
        raise InputFileError(
            f"{label}: cannot read {path}: this user cannot search the directory {directory} "
            f"({exc.strerror or exc}); {fix}, or pass --since DATE"
        ) from None


def last_run_gap(state_dir: Path, scope: Scope, since: datetime) -> datetime | None:
    """The scope's recorded last run when a run whose window starts at ``since`` cannot
    continue it: ``since`` is later, so the time between was covered by no run, and
    recording this run's end would make the next ``--since last-run`` skip it. None when
    ``since`` is not later, or nothing (readable) is recorded. Without a state of its own,
    the state its ``--since last-run`` would continue from (``_broader_run``) is the one."""
    recorded = _recorded_at(state_file(state_dir, scope))
    if recorded is None and (found := _broader_run(state_dir, scope)) is not None:
        recorded = _recorded_at(state_file(state_dir, found))
    return recorded if recorded is not None and since > recorded else None


def known_board_names(state_dir: Path) -> dict[str, str]:
    """Board id to name, as the last-run states in ``state_dir`` recorded them (``board_names``;
    any scope's): what this machine knows of names without a request. Files that cannot be
    read, or are not states (``_state_doc``), are passed over."""
    names: dict[str, str] = {}
    for doc in _state_docs(state_dir):
        names |= _str_map(doc.get("board_names"))
    return names


def _recorded_at(path: Path) -> datetime | None:
    """The last run a state file records, or None (missing, unreadable, damaged)."""
    try:
        return _last_run_of(load_json(read_regular(path).decode("utf-8")))
    except (OSError, UnicodeDecodeError, ValueError, KeyError, TypeError):
        return None


def _last_run_of(doc: Any) -> datetime:
    """A state document's ``last_run``; ``ValueError`` (and ``KeyError``/``TypeError`` for
    a document without one) when it is not a date with its time zone."""
    when = datetime.fromisoformat(str(doc["last_run"]).replace("Z", "+00:00"))
    if when.tzinfo is None:
        raise ValueError("last_run has no time zone")
    try:  # R35c: year 1 or 9999 with an offset crashed (OverflowError) where it was moved
        (when.astimezone(UTC) - OVERLAP).astimezone(when.tzinfo)
    except OverflowError:
        raise ValueError(f"last_run {doc['last_run']!r} is out of range") from None
    if when < FLOOR:  # no run of this tool was before 2000 (as --since refuses it)
        raise ValueError(f"last_run {doc['last_run']!r} is before {FLOOR.year}")
    return when


def _other_runs(state_dir: Path, scope: Scope) -> list[str]:
    """The options (``covers``) of the runs recorded on ``scope``'s boards, by its account at
    its API, with other options than it, which it cannot continue from (``Scope.broader``):
    R38a, a cron job whose config lost its ``cause = "move"`` was told that no run on its
    boards was recorded, after a month of them."""
    found: list[str] = []
    for doc in _state_docs(state_dir):
        covers = doc.get("covers")
        if not isinstance(covers, str) or covers == scope.options_text:
            continue
        if _describes({**doc, "covers": scope.options_text}, scope) and covers:
            found.append(covers)
    return sorted(set(found))


def _broader_run(state_dir: Path, scope: Scope) -> Scope | None:
    """Of the runs that cover all ``scope`` does (``Scope.broader``), the one whose recorded
    last run is the latest; else the plain run's state when an earlier version wrote it
    (without ``covers``: it recorded every run on the boards, ``--restore`` and ``--mode``
    ones too); None when none is recorded (or can be read). Read without a word: the one
    chosen is read again as ``read_last_run`` reads its own (checked, warned of)."""
    best: tuple[datetime, Scope] | None = None
    for other in scope.broader():
        when = _recorded_at(state_file(state_dir, other))
        if when is not None and (best is None or when > best[0]):
            best = (when, other)
    if best is None and scope.covers:  # R54c: an earlier version's state of every run
        plain = replace(scope, covers=())
        if _earlier_version_run(state_dir, plain) is not None:
            return plain
    return best[1] if best is not None else None


#: Where the plain run's state keeps the last run an earlier version recorded in it, once this
#: version has written it (R55a: the plain job's first run after the upgrade rewrote it, and a
#: ``--restore`` job run after it found nothing to continue from).
EARLIER_RUN = "earlier_version_last_run"


def _earlier_version_run(state_dir: Path, plain: Scope) -> str | None:
    """The last run an earlier version recorded in the plain run's state (it kept one state for
    every run on the boards, ``--restore`` and ``--mode`` ones too): the file's own while that
    version's (no ``covers``), else the one this version kept (``EARLIER_RUN``); None when
    there is none, or it is no date."""
    doc = _state_doc(state_file(state_dir, plain))
    if doc is None:
        return None
    value = doc.get("last_run") if "covers" not in doc else doc.get(EARLIER_RUN)
    try:
        _last_run_of({"last_run": value})
    except (ValueError, KeyError, TypeError):
        return None
    return str(value)


def record_last_run(
    state_dir: Path,
    scope: Scope,
    when: datetime,
    given_up: Mapping[str, tuple[str, str]] | None = None,
    *,
    wrote: bool = True,
    now: datetime | None = None,
) -> Path:
    """Record a successful run that covered everything up to ``when`` (written atomically,
    mode 0600), or the last run recorded already when that is later (a run over an older
    window does not move it back) but not later than ``now`` (this machine's clock as the run
    started, given for a run up to then: a record later than that, ``--since last-run``
    refuses, and the run by hand its error asks for must replace it, R32a), with the boards
    it left out given up (``given_up``: id to the date it was first given up and its name;
    ``given_up_boards``). ``UsageError`` when the
    state directory cannot be written, which says whether the run applied changes
    (``wrote``). The caller checks ``last_run_gap`` first."""
    path = _own_file(state_dir, scope)
    recorded = _recorded_at(state_file(state_dir, scope))
    future = recorded is not None and now is not None and recorded > now + FUTURE_SLACK
    if recorded is not None and recorded > when and not future:
        when = recorded
    doc = {
        "format": FORMAT,
        "format_version": FORMAT_VERSION,
        "last_run": millis(when),
        **scope.describe(),
        # Every file this version writes says what its run covered ("" for all the members):
        # one without it comes from a version that kept one file for every run on the boards.
        "covers": scope.options_text,
        "all_boards": sorted(set(scope.board_ids)),
    }
    if not scope.covers and (earlier := _earlier_version_run(state_dir, scope)) is not None:
        doc[EARLIER_RUN] = earlier  # for the --restore and --mode jobs that continue from it
    if scope.board_links:
        doc["board_links"] = dict(sorted(scope.board_links))
    if given_up:
        doc["given_up"] = {b: on for b, (on, _) in sorted(given_up.items())}
    names = {k: v for k, v in scope.board_names if v}
    names |= {b: name for b, (_, name) in (given_up or {}).items() if name}
    if names:
        doc["board_names"] = dict(sorted(names.items()))
    try:
        private_dirs(path.parent)
        write_atomic(path, json.dumps(doc, indent=2) + "\n", prefix=".last-run-", sweep=True)
    except OSError as exc:
        blocked = in_the_way(path, state_dir)
        if blocked is not None:
            where, kind = blocked
            problem, fix = f"{where} is {kind}", "remove or rename it"
        elif exc.errno in (errno.EACCES, errno.EPERM):
            directory = unsearchable(path)
            problem = f"{exc.strerror}: this user cannot write in {directory}"
            fix = sudo_advice(path, path) or f"make it writable (chmod 700 {directory} if yours)"
        else:
            problem = f"{exc.strerror or exc}"
            fix = "fix the state directory (TRELLO_RESTORE_HOME or [paths] state_dir)"
        done = "the changes were applied" if wrote else "this run had nothing to apply"
        raise UsageError(
            f"{done}, but the last-run state could not be saved to {path} "
            f"({problem}); {fix}: until then {_next_run(state_dir, scope, when)}"
        ) from None
    return path


def recorded_board(
    state_dir: Path,
    api_url: str,
    account_id: str,
    *,
    board_id: str | None = None,
    short_link: str | None = None,
    name: str | None = None,
) -> tuple[str, str] | None:
    """The id and name of the board a successful run of this API URL and account recorded
    with ``board_id``, or with ``short_link`` (``Scope.board_links``), or else named ``name``
    (``board_names``: in any case; one board only), or None: nothing recorded it, or no state
    file can be read. What a run given a board by id, URL, shortLink or name needs when Trello
    refuses its read (the last run's key names boards by id; its messages, its name), or no
    longer lists it by that name."""
    wanted = normal_name(name).casefold() if name else None
    by_name: dict[str, str] = {}
    for doc in _state_docs(state_dir):
        if not same_api(str(doc.get("api_url")), api_url):
            continue
        if doc.get("account_id") != account_id:
            continue
        names = _str_map(doc.get("board_names"))
        links = _str_map(doc.get("board_links"))
        if board_id is not None and (board_id in names or board_id in links.values()):
            return board_id, names.get(board_id, "")
        found = links.get(short_link or "")
        if found:
            return found, names.get(found, "")
        if wanted is not None:
            by_name.update(
                (bid, n) for bid, n in names.items() if normal_name(n).casefold() == wanted
            )
    return next(iter(by_name.items())) if len(by_name) == 1 else None


def recorded_boards(state_dir: Path, scope: Scope) -> dict[str, str]:
    """Every board the last run of ``scope`` covered (or of the run its ``--since last-run``
    continues from, ``read_last_run``'s), id to name ("" where none was recorded): {} when none
    is recorded or it cannot be read. A board among them that the scope no longer lists (a
    workspace lists only the boards the token's member is on) may be one the member was taken
    off, whose losses the next window would miss."""
    path = state_file(state_dir, scope)
    doc = _state_doc(path)
    if doc is None and (found := _broader_run(state_dir, scope)) is not None:
        doc = _state_doc(state_file(state_dir, found))
    if doc is None:
        return {}
    names = _str_map(doc.get("board_names"))
    boards = doc.get("all_boards")
    if not isinstance(boards, list):
        return {}
    return {b: names.get(b, "") for b in boards if isinstance(b, str) and b}


def given_up_boards(state_dir: Path, scope: Scope) -> dict[str, tuple[str, str]]:
    """The boards the last run of ``scope`` (or the one its ``--since last-run`` continues
    from) left out as given up (``--accept-unreadable-boards``): id to the date (ISO) it was
    given up and its name ("" when none was recorded); {} when none is recorded."""
    doc = _state_doc(state_file(state_dir, scope))
    if doc is None and (found := _broader_run(state_dir, scope)) is not None:
        doc = _state_doc(state_file(state_dir, found))
    if doc is None:
        return {}
    names = _str_map(doc.get("board_names"))
    return {b: (on, names.get(b, "")) for b, on in _str_map(doc.get("given_up")).items()}


def _state_docs(state_dir: Path) -> Iterator[dict[str, Any]]:
    """The documents of the last-run state files in ``state_dir`` that can be read
    (``_state_doc``), in file name order; none when the directory cannot be looked into."""
    try:
        paths = sorted((state_dir / "last-run").glob("*.json"))
    except OSError:
        return
    for path in paths:
        doc = _state_doc(path)
        if doc is not None:
            yield doc


def _state_doc(path: Path) -> dict[str, Any] | None:
    """A last-run state file's document, or None (missing, unreadable, damaged, another's)."""
    try:
        doc = load_json(read_regular(path).decode("utf-8"))
    except (OSError, UnicodeDecodeError, ValueError):
        return None
    return doc if isinstance(doc, dict) and doc.get("format") == FORMAT else None


def _str_map(value: Any) -> dict[str, str]:
    """A JSON object of strings as a dict (anything else left out)."""
    if not isinstance(value, dict):
        return {}
    return {k: v for k, v in value.items() if isinstance(k, str) and isinstance(v, str)}


def _next_run(state_dir: Path, scope: Scope, when: datetime) -> str:
    """What the next ``--since last-run`` run on this scope does while its last run (that
    covered up to ``when``) cannot be recorded: start from the cutoff recorded before, or stop
    for want of one (none is, or what is cannot be read: a state file that cannot be reached,
    or is damaged), and the date to pass instead, as that run would take it (R88b)."""
    since = f"pass --since {millis(when - OVERLAP)} (where it would start after this run)"
    none = f"no run on these boards is recorded, so a --since last-run run stops (exit 2): {since}"
    try:
        cutoff = read_last_run(state_dir, scope)
    except InputFileError:
        if in_the_way(state_file(state_dir, scope), state_dir) is not None:
            return none  # something is where the state goes: none can be there
        return (
            "a --since last-run run cannot read what was recorded before either, so it stops "
            f"(exit 2): {since}"
        )
    except UsageError:
        return none
    return f"a --since last-run run starts from the previous cutoff, {cutoff.isoformat()}, again"


def run_start(started: datetime, trello_first: datetime | None) -> datetime:
    """When a run started, as the next window must see it: this machine's time at the start,
    or the ``Date`` of Trello's first answer (``TrelloApi.first_server_date``) when that is
    earlier by more than the second it is rounded down to. A machine clock ahead of Trello's
    would otherwise record a time after actions Trello dated before the run read the log, and
    the next ``--since last-run`` window would start after them: they would never be restored.
    Trello's first answer is stamped before or as the run read the actions (its account and
    boards are read first, unless the HTTP cache holds them), so its ``Date`` is at most the
    moment of the first actions page's, and ``OVERLAP`` covers the rest. A clock behind
    Trello's keeps its own (earlier) time: a wider overlap; so does one less than a second
    ahead (``OVERLAP`` covers it)."""
    if trello_first is not None and started - trello_first > _DATE_RESOLUTION:
        return trello_first
    return started


def clock_ahead(started: datetime, trello_first: datetime | None) -> timedelta | None:
    """How far this machine's clock runs ahead of Trello's, when by more than ``OVERLAP``
    (``started`` is taken before the first request, so the gap is never the network's)."""
    if trello_first is None or started - trello_first <= OVERLAP:
        return None
    return started - trello_first


def window_end(started: datetime, until: datetime | None) -> datetime:
    """What a successful run covered: up to ``until`` when given (and past), else its start."""
    return min(until, started) if until is not None else started
