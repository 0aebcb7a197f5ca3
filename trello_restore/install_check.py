"""Is this install whole? The libraries trello-restore needs (its metadata's ``Requires-Dist``),
each installed at a version it requires. Looked at only once something has failed (an import,
or an error that would be called a bug), never on a run's way: a ``pip install --no-deps``, or
a venv that sees older system packages, ended in "internal error (a bug … report it)" or
Python's traceback (R71c). Standard library only: it must work when the rest cannot import."""

from __future__ import annotations

import re
from importlib import metadata

__all__ = ["BROKEN", "broken_by", "install_problem"]

#: The line's words around the problem (``entry`` and ``cli`` both say it, exit 1).
BROKEN = (
    "this install of trello-restore is broken: {}: reinstall it as you installed it (pip "
    "install . in its clone, or pipx reinstall trello-restore)"
)

_REQUIREMENT = re.compile(r"\s*([A-Za-z0-9][A-Za-z0-9._-]*)\s*\(?([^;)]*)\)?\s*$")
_CLAUSE = re.compile(r"\s*(===|==|!=|~=|>=|<=|>|<)\s*([0-9][^\s,]*)\s*$")


def install_problem() -> str | None:
    """The first library trello-restore needs that is not installed, or is installed at a
    version outside what it requires; None when all are in order (or the tool is not
    installed, but run from its source tree)."""
    try:
        wanted = metadata.requires("trello-restore") or []
    except metadata.PackageNotFoundError:
        return None
    for line in wanted:
        if ";" in line:  # an extra's (test, lint), or another platform's
            continue
        match = _REQUIREMENT.match(line)
        if match is None:
            continue
        name, spec = match.group(1), match.group(2).strip()
        try:
            have = metadata.version(name)
        except metadata.PackageNotFoundError:
            return f"{name} is not installed"
        if not satisfies(have, spec):
            return f"{name} {have} is installed, and it needs {name}{spec}"
    return None


def broken_by(exc: BaseException) -> str | None:
    """What is wrong with the install that ``exc`` may come from: ``install_problem``'s, else,
    for a module not of trello-restore's own that cannot be imported (a library a library
    needs: py-trello's requests-oauthlib, requests-cache's cattrs; or a source tree run with
    what it needs missing), what Python said (R72a: "internal error (a bug …)"). None when the
    error is not the install's."""
    problem = install_problem()
    if problem is not None:
        return problem
    if isinstance(exc, ImportError) and (exc.name or "").split(".")[0] != "trello_restore":
        return f"a library it needs cannot be imported ({' '.join(str(exc).split())})"
    return None


def satisfies(version: str, spec: str) -> bool:
    """Whether ``version`` meets every clause of ``spec`` (``>=1.3,<2``), compared by their
    release numbers (``1.3.3``); a clause it cannot read is taken as met."""
    for clause in filter(None, (c.strip() for c in spec.split(","))):
        match = _CLAUSE.match(clause)
        if match is None:
            continue
        op, bound = match.groups()
        a, b = _release(version), _release(bound)
        kept = max(len(b) - 1, 1)  # ~=1.3: 1.x from 1.3 on
        width = max(len(a), len(b))
        a, b = a + (0,) * (width - len(a)), b + (0,) * (width - len(b))
        met = {
            "==": a == b,
            "===": a == b,
            "!=": a != b,
            ">=": a >= b,
            "<=": a <= b,
            ">": a > b,
            "<": a < b,
            "~=": a >= b and a[:kept] == b[:kept],
        }[op]
        if not met:
            return False
    return True


def _release(version: str) -> tuple[int, ...]:
    """``1.3.3rc1`` → ``(1, 3, 3)``: the leading release numbers."""
    match = re.match(r"\s*v?(\d+(?:\.\d+)*)", version)
    return tuple(int(x) for x in match.group(1).split(".")) if match else (0,)
