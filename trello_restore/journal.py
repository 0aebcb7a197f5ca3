"""The apply journal: append-only JSON Lines, one record per change outcome, each on disk (fsynced)
before its append returns.

The first line is a header that ties the journal to its plan (digest, API URL, account). Each
later line records one outcome of one change: ``op`` is ``apply`` or ``undo``; ``status`` is one
of ``STATUSES``. A ``pending`` record is written *before* a write is sent, so a run killed between
sending and journaling can tell, on resume, that a member found on the card was put there by this
tool (``applied``), not by someone else (``already_satisfied``). Such an open record
(``unresolved``) is settled by whichever comes first: a resume of the same plan, an undo of the
journal, or a one-shot run on the same boards; the last two append an ``apply`` record of their
finding (``applied``, or ``not_applied`` when the write never took effect).

Reading is read-only and tolerant of a torn last line (a crash or a full disk mid-write): it is
ignored with a warning, and the first append of the next run that writes removes it (see
``journal_file.drop_torn_tail`` for why that is safe). Any other damage is an ``InputFileError``.
Once an append fails (``JournalWriteError``: a full disk, a failing device), every later append
of that journal fails too, without touching the file: nothing more may be sent. What the journal
says of each of these is ``journal_errors.py``'s.
"""

from __future__ import annotations

import contextlib
import json
import logging
import os
import threading
from collections.abc import Iterable
from dataclasses import asdict, dataclass, field, fields
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any, Literal, Self

from trello_restore import lock_keep, wrote
from trello_restore.errors import InputFileError, JournalWriteError, OtherPlansJournal
from trello_restore.fsutil import read_regular, special_file, sudo_advice
from trello_restore.journal_errors import (
    GIVE_JOURNAL,
    NewerRecord,
    cannot_open,
    damaged_line,
    fields_wrong,
    newer_fields,
    not_a_journal,
    unreachable,
    write_failed,
)
from trello_restore.journal_file import (
    check_creatable,
    create,
    drop_torn_tail,
    keep_at_path,
    make_private,
    write_all,
)
from trello_restore.kinds import kind_of, known
from trello_restore.models import millis
from trello_restore.parsing import load_json
from trello_restore.words import shown_json

logger = logging.getLogger(__name__)

FORMAT = "trello-restore-journal"
#: The journal format this version writes (2: records may hold ``skew_s`` and the names of
#: a change's objects, which versions before them called a damaged line, telling the user to
#: delete it: R43h; a version that reads 1 only refuses 2 as "another trello-restore").
FORMAT_VERSION = 2
#: The formats this version reads: 1 (earlier versions', and this one's before 2).
READS = (1, 2)
Op = Literal["apply", "undo"]
Status = Literal[
    "pending",  # about to send the write (intent)
    "applied",  # this tool made the change (2xx, or "already" answering its own retry)
    "already_satisfied",  # someone else had made it before this tool's first attempt
    "drifted",  # the card is gone or on another board: skipped
    "blocked",  # the change cannot be made (e.g. member not on the board)
    "failed",  # still failing after the retries
    "undone",  # undo removed what this tool had added
    "not_on_card",  # undo: the member was no longer on the card (or board): nothing to do
    # A pending write found later not to have taken effect, or never sent (Ctrl-C: "interrupted
    # before it was sent", apply's or undo's): nothing to undo; a run again makes it.
    "not_applied",
]
STATUSES: tuple[str, ...] = Status.__args__  # type: ignore[attr-defined]
#: Outcomes that need no further write when a plan is run again.
DONE: frozenset[str] = frozenset({"applied", "already_satisfied"})
#: Undo outcomes that settle a change: this tool undid it, or found nothing to undo (a member
#: no longer there; a value back already, ``already_satisfied``).
UNDO_SETTLED: frozenset[str] = frozenset({"undone", "not_on_card", "already_satisfied"})


@dataclass(frozen=True)
class JournalHeader:
    """The first line: which plan this journal belongs to."""

    plan_digest: str
    api_url: str
    account_id: str
    created_at: str
    format: str = FORMAT
    format_version: int = FORMAT_VERSION


@dataclass(frozen=True)
class JournalRecord:
    """One outcome of one change."""

    change_id: str
    op: Op
    action: str
    status: Status
    board_id: str
    member_id: str
    card_id: str = ""
    #: HTTP status and Trello's error text, for failures and notable answers.
    http_status: int | None = None
    error: str = ""
    at: str = field(default_factory=lambda: timestamp())
    #: For ``failed``: an attempt may have reached Trello all the same (its answer was a 5xx or
    #: was lost), so a later run that finds the change made counts it as this tool's doing,
    #: as after a ``pending`` record.
    uncertain: bool = False
    #: For the kinds that set a value back (design.md §10.3): ``object_type``, ``object_id``,
    #: ``field``, the value ``seen`` before the write and the value ``written`` (for an undo
    #: record: the value it writes back), and on an apply's records the names its plan gave
    #: them (``names``: ``record_names``). A grant of board membership's: the role it gives
    #: (``field`` ``role``), which undo checks. None for a card member, whose record stays as
    #: it was (the key is left out of the line).
    values: dict[str, Any] | None = None
    #: How far Trello's clock was ahead of this machine's (whole seconds; negative: behind)
    #: when the record was written, as the run that wrote it saw (``TrelloApi.clock_skew``):
    #: ``at`` is this machine's time, and an undo run after the clock was set right (or put
    #: wrong) moves it by this, not by its own (``touches.written_at``). None (left out of the
    #: line): not known, as in the journals of versions before it.
    skew_s: int | None = None

    @property
    def open(self) -> bool:
        """Whether the write may have taken effect with no outcome to say so: ``pending``
        (sent, or about to be, and nothing recorded after), or ``failed`` after an attempt
        that may have gone through (``uncertain``)."""
        return self.status == "pending" or (self.status == "failed" and self.uncertain)


def _line(
    record: JournalRecord, skew_s: int | None = None, *, version: int = FORMAT_VERSION
) -> str:
    """A record's JSON line: sorted keys, ``values`` and ``skew_s`` only when it has them
    (``skew_s``: the journal's when the record has none). The fields are read as they are
    (``asdict`` would deep-copy each one, a fifth of a write's journaling CPU): they are JSON
    values already. In a journal of format 1 (an earlier version's, resumed or undone by this
    one) without the fields format 2 added, ``skew_s`` and the names in ``values``, so that
    the earlier version can still read it (R43i: it called each such line damaged); a record
    of it is then read as that version's are (the run's own clock skew, ids for names)."""
    raw = {name: getattr(record, name) for name in _RECORD_FIELDS}
    if version < 2:
        raw["skew_s"] = skew_s = None
        if raw["values"] is not None and "names" in raw["values"]:
            raw["values"] = {k: v for k, v in raw["values"].items() if k != "names"} or None
    if raw["values"] is None:
        del raw["values"]
    if raw["skew_s"] is None:
        raw["skew_s"] = skew_s
    if raw["skew_s"] is None:
        del raw["skew_s"]
    return json.dumps(raw, sort_keys=True)


#: ``JournalRecord``'s field names, in order.
_RECORD_FIELDS: tuple[str, ...] = tuple(f.name for f in fields(JournalRecord))


def _header_line(header: JournalHeader) -> str:
    """The header's JSON line, the journal's first (``journal_file.create`` writes it)."""
    return json.dumps({"type": "header", **asdict(header)}, sort_keys=True) + "\n"


def timestamp() -> str:
    """Now, as the journal's records and header write it (UTC, milliseconds, ``Z``)."""
    return millis(datetime.now(UTC))


class Journal:
    """An open journal file. Appends are thread-safe, and each returns once its record is on
    disk (flushed and fsynced). Appends made at the same moment share one fsync (group
    commit): a record is written and flushed under a short lock, then the first thread to
    sync makes every line written before it durable; the threads whose lines it covered need
    no fsync of their own (design.md §5: the ``pending`` record of every write is durable
    before the write is sent, however many workers journal at once)."""

    def __init__(self, path: Path, header: JournalHeader, records: list[JournalRecord]) -> None:
        self.path = path
        self.header = header
        self._records = records
        #: How far Trello's clock is ahead of this machine's, in whole seconds, as the run
        #: writing to the journal sees it (``note_clock``): given to each record appended that
        #: has no ``skew_s`` of its own; None: not known (none is written).
        self.skew_s: int | None = None
        #: The file, opened for appending (and reading back its tail); None until then.
        self._fd: int | None = None
        #: Whether the first append checked the file's end for a torn line
        #: (``journal_file.drop_torn_tail``).
        self._tail_checked = False
        #: The error that made an append fail: every later one fails too (``JournalWriteError``).
        self._failed: OSError | None = None
        #: Serializes writing lines (and ``_records``); held only to write and flush.
        self._write_lock = threading.Lock()
        #: One fsync at a time; ``_synced`` is how many appends the last one covered.
        self._sync_lock = threading.Lock()
        self._written = 0
        self._synced = 0
        #: Opened with ``defer`` and not on disk yet: the first append creates it.
        self._deferred = False
        #: Files left when the journal was deleted or replaced and written again elsewhere
        #: (``_relocate``): closed with the journal, since an fsync may still be on one.
        self._orphans: list[int] = []
        #: Written again elsewhere failed once (``_relocate``): said once, not tried again.
        self._unplaced = False

    # ---------------------------------------------------------------------------- opening

    @classmethod
    def open(
        cls, path: Path, header: JournalHeader, *, defer: bool = False, warn_torn: bool = True
    ) -> Self:
        """Open (creating, mode 0600) the journal of a plan; refuses a journal of another plan.

        With ``defer``, a journal that does not exist yet is created by its first append, not
        here: an apply that never records an outcome (another run holds its locks, Trello
        fails before the first one) leaves no journal behind that the next run or ``undo``
        would find. Its directory is made and checked here, so a journal that cannot be
        created is still said before anything is sent. The apply calls ``catch_up`` once it
        holds the plan's locks, and ``create`` when it has run to its end. An empty file (as
        ``mktemp`` makes for ``--journal``) is a journal not made yet (``on_disk``); a device,
        a FIFO or a socket is refused (``special_file``). Not ``warn_torn``: the caller read
        it just now and warned of a torn last line already (R54c: an undo said it twice)."""
        if special_file(path):
            raise InputFileError(
                f"cannot use {path} as the journal: it is not a regular file (a device, a FIFO "
                "or a socket); pass --journal with the path of a file"
            )
        if not on_disk(path):
            if defer:
                check_creatable(path)
                journal = cls(path, header, [])
                journal._deferred = True
                return journal
            # FileExistsError: another run created it just now; open it as an existing journal.
            with contextlib.suppress(FileExistsError):
                create(path, _header_line(header))
        journal = cls._of_plan(path, header.plan_digest, warn_torn)
        journal._start_appending()
        return journal

    @classmethod
    def _of_plan(cls, path: Path, digest: str, warn_torn: bool = True) -> Self:
        """The journal at ``path`` (read), refused when it is another plan's."""
        journal = cls.read(path, op="apply", warn_torn=warn_torn)
        if journal.header.plan_digest != digest:
            raise OtherPlansJournal(path)
        return journal

    def catch_up(self) -> None:
        """Under the plan's locks, before the apply reads what is done: a deferred journal
        that another run of the same plan created since ``open`` is read now and appended to
        (refused if it is another plan's). Nothing for a journal already on disk."""
        if self._deferred and on_disk(self.path):
            self._adopt()

    def create(self) -> None:
        """Put a deferred journal on disk now, with its header alone if nothing was appended:
        an apply that ran to its end keeps its journal, whatever it recorded. Nothing for a
        journal already on disk."""
        with self._write_lock:
            if self._fd is None and self._deferred:
                self._materialize()

    def _adopt(self) -> None:
        """Take over the journal now on disk at ``path`` (its header and records before ours),
        and open it for appending."""
        found = self._of_plan(self.path, self.header.plan_digest)
        self.header = found.header
        self._records[:0] = found._records
        self._deferred = False
        self._start_appending()

    def _materialize(self) -> None:
        """A deferred journal's first append: create the file with its header (or, if another
        run made it meanwhile, take that one over)."""
        try:
            create(self.path, _header_line(self.header))
        except FileExistsError:
            self._adopt()
            return
        self._deferred = False
        self._start_appending()

    @classmethod
    def read(
        cls, path: Path, *, op: Op | Literal["beside"] = "undo", warn_torn: bool = True
    ) -> Self:
        """Read a journal without opening it for writing; ``op``: who reads it (``beside``: a
        run, another journal's; what to do about a file that is no journal: ``GIVE_JOURNAL``).
        A torn last line is ignored with a warning, unless not ``warn_torn`` (another run's)."""
        give = GIVE_JOURNAL[op]
        try:
            text = read_regular(path).decode("utf-8")
        except FileNotFoundError:
            raise InputFileError(f"{path}: no such journal; give the path apply printed") from None
        except UnicodeDecodeError:
            raise InputFileError(
                f"{path} is not a trello-restore journal (not UTF-8 text); {give}"
            ) from None
        except OSError as exc:
            fix = sudo_advice(path, path) or "check the file and its permissions"
            raise InputFileError(
                f"{path} cannot be read as a journal ({exc.strerror or exc}); {fix}"
            ) from None
        lines = text.split("\n")
        torn = lines[-1] != ""
        # Each complete line with its line number in the file (blank lines are skipped).
        complete = [(n, x) for n, x in enumerate(lines[:-1], 1) if x.strip()]
        if not complete:
            if text.strip():
                raise InputFileError(
                    f"{path} is not a trello-restore journal (it holds no complete line); {give}"
                )
            raise InputFileError(f"{path} is empty: not a trello-restore journal; {give}")
        if torn and warn_torn:
            logger.warning(
                "%s: ignoring a torn last line (a run was interrupted, or met a full disk or the "
                "file size limit: ulimit -f)",
                path,
            )
        try:
            first = load_json(complete[0][1])
        except ValueError as exc:
            raise InputFileError(not_a_journal(path, text, exc, give)) from None
        head = first if isinstance(first, dict) else {}
        if head.get("type") != "header" or head.get("format") != FORMAT:
            raise InputFileError(not_a_journal(path, text, None, give))
        version = first.get("format_version")
        # "2", 2.0, true (R43i), 0 (R55a: "use that version"): no version this tool wrote.
        if type(version) is not int or version < min(READS):
            what = "no format this tool writes" if type(version) is int else "not a whole number"
            why = f"format_version {json.dumps(version)} is {what}"
            why = why if "format_version" in first else "no format_version field"
            raise InputFileError(f"{path}: its header is damaged ({why}); restore it from a backup")
        if version not in READS:
            raise InputFileError(
                f"{path} was written by a newer trello-restore (journal format {version}; this "
                f"one reads {' and '.join(map(str, READS))}); use that version or a later one"
            )
        raw = {k: v for k, v in first.items() if k != "type"}
        newer = newer_fields(raw, JournalHeader)
        if newer is not None:
            raise InputFileError(damaged_line(path, 1, NewerRecord(newer)))
        wrong = fields_wrong(raw, JournalHeader)
        if wrong is not None:
            raise InputFileError(
                f"{path}: its header is damaged ({wrong}); restore it from a backup"
            )
        header = JournalHeader(**raw)
        records = []
        for number, line in complete[1:]:
            try:
                records.append(_record(load_json(line)))
            except (ValueError, TypeError, KeyError, AttributeError) as exc:
                raise InputFileError(damaged_line(path, number, exc)) from None
        return cls(path, header, records)

    def _start_appending(self) -> None:
        """Open the file for appending, made private (0600): it names what was changed."""
        try:
            self._fd = os.open(self.path, os.O_RDWR | os.O_APPEND)
        except OSError as exc:
            raise cannot_open(self.path, exc) from None
        make_private(self._fd)

    # ---------------------------------------------------------------------------- writing

    def note_clock(self, skew: timedelta | None) -> None:
        """How far Trello's clock is ahead of this machine's (``TrelloApi.clock_skew``), for
        the records appended from now on; None leaves what was noted."""
        if skew is not None:
            self.skew_s = round(skew.total_seconds())

    def append(self, record: JournalRecord) -> None:
        """Write one record, flushed and fsynced before returning."""
        self._write(_line(record, self.skew_s, version=self.header.format_version), (record,))

    def append_many(self, records: Iterable[JournalRecord]) -> None:
        """Write several records with one fsync (outcomes decided without a write, where a
        crash costs only a re-check on the next run)."""
        batch = tuple(records)
        if batch:
            version = self.header.format_version
            self._write("\n".join(_line(r, self.skew_s, version=version) for r in batch), batch)

    def _write(self, text: str, records: tuple[JournalRecord, ...]) -> None:
        """``text`` (whole lines) written and flushed, then on disk before returning."""
        with self._write_lock:
            if self._fd is None and self._deferred:
                self._materialize()
            if self._fd is None:
                raise RuntimeError("journal opened read-only")
            self._check()
            try:
                if not self._tail_checked:
                    self._tail_checked = True
                    drop_torn_tail(self._fd, self.path)
                if os.fstat(self._fd).st_nlink == 0:  # deleted or replaced since it was opened
                    self._relocate()
                lock_keep.retake()  # the run's lock files too, when deleted (with the state dir)
                write_all(self._fd, (text + "\n").encode("utf-8"))
            except OSError as exc:
                raise self._fail(exc) from None
            self._records.extend(records)
            self._written += 1
            mine = self._written
            wrote.journaled(self.path)
        with self._sync_lock:
            if self._synced >= mine:
                return  # an fsync that began after this line was written has made it durable
            with self._write_lock:
                # After a failed fsync this line may be lost: never fsync again (a second
                # fsync can succeed without the lost data being on disk).
                self._check()
                covered = self._written  # every line written so far goes to disk with this one
                # The file those lines are in now: one written again (``_relocate``) was
                # fsynced with every line before it.
                fd = self._fd
            if fd is None:
                return  # closed meanwhile: ``close`` fsynced it
            try:
                os.fsync(fd)
            except OSError as exc:
                with self._write_lock:
                    raise self._fail(exc) from None
            self._synced = covered

    def _check(self) -> None:
        """Under the write lock: ``JournalWriteError`` once an append has failed."""
        if self._failed is not None:
            raise write_failed(self.path, self._failed)

    def _fail(self, exc: OSError) -> JournalWriteError:
        """Under the write lock: this journal cannot be written any more (``exc``)."""
        if self._failed is None:
            self._failed = exc
            logger.debug("%s: journal write failed: %s", self.path, exc)
        return write_failed(self.path, self._failed)

    def close(self) -> None:
        """Close the file (after the appends under way)."""
        with self._sync_lock, self._write_lock:
            fd, self._fd = self._fd, None
            if fd is None:
                return
            try:
                if self._failed is None and self._synced < self._written:
                    os.fsync(fd)  # an append between its two steps
                    self._synced = self._written
            except OSError as exc:
                raise self._fail(exc) from None
            finally:
                self._fd = fd
                with contextlib.suppress(OSError):
                    self._relocate()  # deleted after the last append
                fd, self._fd = self._fd, None
                for orphan in (fd, *self._orphans):
                    with contextlib.suppress(OSError):  # every line was fsynced (or failed)
                        os.close(orphan)
                self._orphans.clear()

    def _relocate(self) -> None:
        """Under the write lock (or in ``close``): when the journal's path no longer names the
        open file (it, or its directory, was deleted or replaced while this run wrote it), the
        file written again, at its path or beside what is there now (``journal_file.
        keep_at_path``, fsynced), and the appends go on there; said in one warning. Else the
        run's records would go to a file no one can open, and its undo could not reach its
        writes: at the first append after it happened, so a run killed later keeps them too."""
        fd = self._fd
        if fd is None or self._unplaced:
            return
        try:
            kept = keep_at_path(fd, self.path)
            if kept is None:
                return
            moved = os.open(kept, os.O_RDWR | os.O_APPEND)
        except OSError as exc:
            self._unplaced = True
            logger.error(
                "the journal %s was deleted or replaced while this run wrote it, and could not "
                "be written again (%s): this run's writes are not journaled; check the "
                "journal directory, and take them back by hand if you must",
                self.path,
                exc.strerror or exc,
            )
            return
        self._orphans.append(fd)
        self._fd = moved
        if kept == self.path:
            logger.warning(
                "the journal %s was deleted while this run wrote it (with its directory?): it "
                "was written again there, with every record so far, and this run goes on in it",
                self.path,
            )
        else:
            logger.warning(
                "the journal %s was replaced by another file while this run wrote it: its "
                "records were written to %s, and this run goes on there; use that file in its "
                "place (to resume, or undo)",
                self.path,
                kept,
            )
            _MOVED[self.path] = kept
            self.path = kept

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # ---------------------------------------------------------------------------- reading

    @property
    def failed(self) -> OSError | None:
        """The error that made an append fail (then every later one fails too), or None."""
        return self._failed

    @property
    def records(self) -> tuple[JournalRecord, ...]:
        """All records, oldest first."""
        return tuple(self._records)

    def latest(self) -> dict[str, JournalRecord]:
        """The latest record of each change id."""
        out: dict[str, JournalRecord] = {}
        for r in self._records:
            out[r.change_id] = r
        return out

    def done(self) -> set[str]:
        """Change ids whose latest outcome needs no more writes (applied, already_satisfied)."""
        return {cid for cid, r in self.latest().items() if r.op == "apply" and r.status in DONE}

    def undone(self) -> dict[str, JournalRecord]:
        """The changes whose latest record is an undo's, with that record: the plan was undone
        since it applied them, so an apply of it again makes them again, journaled after these
        records, where the next undo reads them (``undo_left.undoable``). One whose undo failed
        or was killed (not in ``UNDO_SETTLED``) may still be in place, as this tool's; one it
        found drifted is there (if at all) as someone put it back, or out of its reach."""
        return {cid: r for cid, r in self.latest().items() if r.op == "undo"}

    def pending(self) -> set[str]:
        """Change ids whose write was sent (or about to be) with no outcome recorded, or whose
        last attempts failed in a way that leaves open whether the write happened."""
        return {cid for cid, r in self.latest().items() if r.open}


#: Journals this process went on writing beside their path, another file having replaced
#: them (``Journal._relocate``): the path given to the file it went on in (``where_now``).
_MOVED: dict[Path, Path] = {}


def where_now(path: Path) -> Path:
    """The file a journal given as ``path`` is in now: ``path``, or where a run of this
    process went on writing it when another file replaced it (its Ctrl-C line names that)."""
    seen = {path}
    while (path := _MOVED.get(path, path)) not in seen:
        seen.add(path)
    return path


def unresolved(records: Iterable[JournalRecord]) -> dict[str, JournalRecord]:
    """The changes whose latest ``apply`` record leaves open whether the write took effect: a
    ``pending`` record (the run was killed between sending and journaling), or ``failed`` after
    an attempt that may have gone through (``uncertain``). By change id.

    The applier writes ``pending`` only right before a write it decided on from a live read that
    showed the member absent, so a member on the card (an active member of the board) when such
    a record is resolved was put there by this tool: ``applied``; otherwise ``not_applied``."""
    last: dict[str, JournalRecord] = {}
    for r in records:
        if r.op == "apply":
            last[r.change_id] = r
    return {cid: r for cid, r in last.items() if r.open}


def on_disk(path: Path) -> bool:
    """Whether a journal is at ``path``: False when nothing is, and for an empty file (a new
    journal, as ``mktemp`` makes for ``--journal``: never one with any byte in it), as for a
    file where a directory is on its way (``Path.exists``); ``InputFileError`` when a
    directory on its way cannot be searched."""
    try:
        return path.stat().st_size > 0
    except (FileNotFoundError, NotADirectoryError):
        return False
    except OSError as exc:
        raise InputFileError(unreachable(path, exc, "apply")) from None


def _record(raw: object) -> JournalRecord:
    """A record line's JSON value as a record; ValueError saying what is wrong with it (a
    field missing or unknown, or which field holds what value it may not)."""
    if not isinstance(raw, dict):
        raise ValueError("not a record: a JSON object is expected")
    newer = newer_fields(raw, JournalRecord)
    if newer is not None:
        # Sound but for fields this version does not know: a newer version's record (what
        # is wrong with the rest, if anything, is said first).
        _record({k: raw[k] for k in _RECORD_FIELDS if k in raw})
        raise NewerRecord(newer)
    wrong = fields_wrong(raw, JournalRecord)
    if wrong is not None:
        raise ValueError(wrong)
    checks = {"op": raw["op"] in ("apply", "undo"), "status": raw["status"] in STATUSES}
    for name, ok in (*checks.items(), ("action", known(raw["action"]))):
        if not ok:
            raise ValueError(f"unknown {name} {shown_json(raw[name])}")
    # A value kind's (or a grant's) values; a card member's apply record keeps its names alone.
    if (problem := kind_of(raw["action"]).record_problem(raw.get("values"))) is not None:
        raise ValueError(problem)
    skew = raw.get("skew_s")
    if skew is not None and (
        not isinstance(skew, int) or isinstance(skew, bool) or abs(skew) > _MAX_SKEW_S
    ):
        raise ValueError("its skew_s is not a clock difference in whole seconds")
    return JournalRecord(**raw)


#: The largest ``skew_s`` a record may say (ten years): more is no clock's, and would move a
#: date out of range.
_MAX_SKEW_S = 10 * 366 * 86400


def is_directory(path: Path, *, op: Op = "apply") -> bool:
    """Whether ``path``, given for a journal, is a directory; ``InputFileError`` saying which
    directory to make searchable when it cannot be looked up (one on its way has mode 000)."""
    try:
        return path.is_dir()
    except OSError as exc:
        raise InputFileError(unreachable(path, exc, op)) from None


def journal_path(state_dir: Path, plan_digest: str) -> Path:
    """The default journal of a plan: derived from the plan's content, so a re-run resumes."""
    return state_dir / "journals" / f"plan-{plan_digest[:16]}.jsonl"
