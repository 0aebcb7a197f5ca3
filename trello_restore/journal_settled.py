"""Which journals of a directory hold no open record (``journal.unresolved``): kept beside them
(``.settled.json``, 0600), so that a run looking for the open records of earlier runs
(``undo.resolve_earlier_journals``, before every one-step run writes) parses only the journals
written to since it last looked. Journals are never removed (undo needs them), and every run
parsed every one of them: a thousand, 1.5 s of CPU on each quiet cron run (R38a).

A journal is known settled by its size and modification time when it was read; any append (a
resume, an undo) changes its size, and it is read again. A missing, unreadable or damaged
index is an empty one (every journal is read, and it is written anew); one that cannot be
written is left as it is. Two runs that write it at once each write a whole file, and the
journals the other noted are read again next time: it only ever spares reading."""

from __future__ import annotations

import contextlib
import json
import logging
from pathlib import Path

from trello_restore.fsutil import read_regular, write_atomic

__all__ = ["Settled"]

logger = logging.getLogger(__name__)

#: The index's file name in the journal directory (not a ``*.jsonl``: not a journal).
INDEX = ".settled.json"
_VERSION = 1

Stamp = tuple[int, int]


class Settled:
    """The settled journals of ``directory``, among ``listed`` (its journal files): ``stamp``
    a journal before reading it, ``known`` whether that stamp is one noted settled, ``note``
    it once read and found settled, and ``save`` at the end (a look cut short included)."""

    def __init__(self, directory: Path, listed: list[Path]) -> None:
        self._path = directory / INDEX
        self._known = _load(self._path)
        self._listed = {p.name for p in listed}
        self._now = {k: v for k, v in self._known.items() if k in self._listed}

    @staticmethod
    def stamp(path: Path) -> Stamp | None:
        """``path``'s size and modification time (ns), taken before it is read; None when it
        cannot be had."""
        try:
            st = path.stat()
        except OSError:
            return None
        return (st.st_size, st.st_mtime_ns)

    def known(self, path: Path, stamp: Stamp | None) -> bool:
        """Whether the journal at ``path``, as ``stamp`` says it is now, was found settled
        (one written to since is not, nor noted so any more)."""
        if stamp is not None and self._known.get(path.name) == stamp:
            return True
        self._now.pop(path.name, None)
        return False

    def note(self, path: Path, stamp: Stamp | None) -> None:
        """The journal at ``path`` (``stamp`` taken before it was read) holds no open record."""
        if stamp is not None:
            self._now[path.name] = stamp

    def save(self) -> None:
        """Write the index when it changed (journals gone since are dropped)."""
        if self._now == self._known:
            return
        doc = {"version": _VERSION, "settled": {k: list(v) for k, v in sorted(self._now.items())}}
        try:
            write_atomic(self._path, json.dumps(doc) + "\n", prefix=".settled-", sweep=True)
        except OSError as exc:
            logger.debug("cannot write %s: %s", self._path, exc)


def _load(path: Path) -> dict[str, Stamp]:
    """The index at ``path``: journal name → stamp; empty when missing or not one."""
    with contextlib.suppress(OSError, ValueError):
        doc = json.loads(read_regular(path))
        if isinstance(doc, dict) and doc.get("version") == _VERSION:
            settled = doc.get("settled")
            if isinstance(settled, dict):
                return {
                    name: (v[0], v[1])
                    for name, v in settled.items()
                    if isinstance(v, list)
                    and len(v) == 2
                    and all(isinstance(x, int) and not isinstance(x, bool) for x in v)
                }
    return {}
