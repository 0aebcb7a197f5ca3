"""The plan file (design.md §4): build, write, read and validate the reviewable JSON plan.

``plan_to_dict`` turns a ``Plan`` and its ``PlanMeta`` into the file's document, with keys in the
documented order; ``plan_from_dict`` turns a validated document back into them. ``write_plan``
writes atomically with mode 0600 (plans hold names); ``read_plan`` reads, parses and validates
against the JSON Schema shipped in the package (``schema/plan-v1.schema.json``) plus the checks a
schema cannot express. Every problem with a file is an ``InputFileError`` with a one-line message
that says what to do. ``plan_digest`` names a plan's decisions, so the same plan gets the same
journal.

There is no field for the API key or token: a plan never holds them.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import sys
import tempfile
from collections import Counter
from dataclasses import dataclass
from datetime import UTC, datetime
from functools import cache
from importlib import resources
from pathlib import Path
from typing import Any, Literal, cast

import jsonschema
import jsonschema.exceptions

from trello_restore.errors import InputFileError
from trello_restore.models import (
    SKIP_ORDER,
    Blocked,
    Change,
    Evidence,
    MemberRef,
    Plan,
    PlanOptions,
    Skipped,
)

#: The ``format`` field: what makes a JSON file a trello-restore plan.
FORMAT = "trello-restore-plan"
#: The major version this module writes and reads; a reader rejects any other.
FORMAT_VERSION = 1
#: The schema's file inside the package.
SCHEMA_RESOURCE = "schema/plan-v1.schema.json"

#: What a plan document is, as far as Python's types go (the schema says the rest).
PlanDict = dict[str, Any]


@dataclass(frozen=True)
class PlanMeta:
    """What the file says about a plan besides the planner's decisions."""

    #: ``trello_restore.__version__`` of the tool that made the plan.
    tool_version: str
    #: When the plan was made (UTC).
    created_at: datetime
    #: The API base URL the plan was made against (and must be applied to).
    api_url: str
    #: The member whose token read the boards; ``None`` for offline plans (from exports).
    account: MemberRef | None
    #: ``(id, name)`` of the boards in scope.
    boards: tuple[tuple[str, str], ...]
    #: Where the history came from: the API, or board JSON exports.
    source: Literal["api", "export"]
    #: Things the reviewer should know, e.g. an export's history cut by the 1000-action cap.
    warnings: tuple[str, ...] = ()


# ------------------------------------------------------------------------------------ to dict


def format_date(when: datetime) -> str:
    """ISO-8601 in UTC with a ``Z``; milliseconds (as Trello dates have) or microseconds only
    when not zero. A naive datetime is taken as UTC."""
    when = when.replace(tzinfo=UTC) if when.tzinfo is None else when.astimezone(UTC)
    text = when.strftime("%Y-%m-%dT%H:%M:%S")
    if when.microsecond % 1000:
        text += f".{when.microsecond:06d}"
    elif when.microsecond:
        text += f".{when.microsecond // 1000:03d}"
    return text + "Z"


def parse_date(text: str) -> datetime:
    """The inverse of ``format_date`` (an aware UTC datetime)."""
    return datetime.fromisoformat(text).astimezone(UTC)


def plan_summary(plan: Plan) -> dict[str, Any]:
    """Counts of the plan: changes (board and card), blocked, skipped (and per reason, in the
    planner's reason order, only reasons that occur), and cards with incomplete history."""
    reasons = Counter(s.reason for s in plan.skipped)
    board_changes = len(plan.board_changes())
    return {
        "changes": len(plan.changes),
        "board_changes": board_changes,
        "card_changes": len(plan.changes) - board_changes,
        "blocked": len(plan.blocked),
        "skipped": len(plan.skipped),
        "by_reason": {r: reasons[r] for r in SKIP_ORDER if reasons[r]},
        "incomplete": len(plan.incomplete),
    }


def _member(m: MemberRef) -> dict[str, str]:
    return {"id": m.id, "username": m.username, "fullName": m.full_name}


def _member_short(m: MemberRef) -> dict[str, str]:
    return {"id": m.id, "username": m.username}


def _change(c: Change) -> dict[str, Any]:
    head = {
        "change_id": c.change_id,
        "action": c.action,
        "board": {"id": c.board_id, "name": c.board_name},
    }
    if c.action == "add_member_to_board":
        return {
            **head,
            "member": _member(c.member),
            "role": c.role,
            "precondition": {"member_on_board": c.member_on_board},
        }
    if c.evidence is None:
        raise ValueError(f"card change {c.change_id} has no evidence")
    e = c.evidence
    return {
        **head,
        "list": {"id": c.list_id, "name": c.list_name},
        "card": {"id": c.card_id, "name": c.card_name, "shortLink": c.card_short_link},
        "member": _member(c.member),
        "evidence": {
            "kind": e.kind,
            "action_id": e.action_id,
            "date": format_date(e.date),
            "by": _member_short(e.by),
            "move_action_id": e.move_action_id,
        },
        "precondition": {
            "member_on_card": c.member_on_card,
            "member_on_board": c.member_on_board,
        },
    }


def _inputs(o: PlanOptions, meta: PlanMeta) -> dict[str, Any]:
    return {
        "boards": [{"id": bid, "name": name} for bid, name in meta.boards],
        "since": format_date(o.since),
        "until": format_date(o.until) if o.until is not None else None,
        "mode": o.mode,
        "filters": {
            "removed_by": o.removed_by,
            "cause": o.cause,
            "only_recorded": o.only_recorded,
            "lists": sorted(o.lists) if o.lists is not None else None,
            "cards": sorted(o.cards) if o.cards is not None else None,
        },
        "add_to_board": o.add_to_board,
        "board_role": o.board_role,
        "source": meta.source,
    }


def plan_to_dict(plan: Plan, meta: PlanMeta) -> PlanDict:
    """The plan file's document: design.md §4's shape, keys in its order, changes in the plan's
    order (board memberships first, then by board, list, card, member)."""
    return {
        "format": FORMAT,
        "format_version": FORMAT_VERSION,
        "tool_version": meta.tool_version,
        "created_at": format_date(meta.created_at),
        "api_url": meta.api_url,
        "account": _member_short(meta.account) if meta.account is not None else None,
        "inputs": _inputs(plan.options, meta),
        "summary": plan_summary(plan),
        "changes": [_change(c) for c in plan.changes],
        "blocked": [{"change": _change(b.change), "reason": b.reason} for b in plan.blocked],
        "skipped": [
            {
                "card": {"id": s.card_id, "name": s.card_name},
                "member": _member_short(s.member),
                "reason": s.reason,
                "action_id": s.action_id,
            }
            for s in plan.skipped
        ],
        "warnings": list(meta.warnings),
        "incomplete": list(plan.incomplete),
    }


# ---------------------------------------------------------------------------------- from dict


def _member_ref(d: dict[str, str]) -> MemberRef:
    return MemberRef(d["id"], d.get("username", ""), d.get("fullName", ""))


def _change_from(d: dict[str, Any]) -> Change:
    board, member, pre = d["board"], _member_ref(d["member"]), d["precondition"]
    if d["action"] == "add_member_to_board":
        return Change(
            change_id=d["change_id"],
            action="add_member_to_board",
            board_id=board["id"],
            board_name=board["name"],
            member=member,
            role=d["role"],
            member_on_board=pre["member_on_board"],
        )
    e = d["evidence"]
    return Change(
        change_id=d["change_id"],
        action="add_member_to_card",
        board_id=board["id"],
        board_name=board["name"],
        member=member,
        list_id=d["list"]["id"],
        list_name=d["list"]["name"],
        card_id=d["card"]["id"],
        card_name=d["card"]["name"],
        card_short_link=d["card"]["shortLink"],
        evidence=Evidence(
            kind=e["kind"],
            action_id=e["action_id"],
            date=parse_date(e["date"]),
            by=_member_ref(e["by"]),
            move_action_id=e["move_action_id"],
        ),
        member_on_card=pre["member_on_card"],
        member_on_board=pre["member_on_board"],
    )


def plan_from_dict(doc: PlanDict) -> tuple[Plan, PlanMeta]:
    """A validated plan document back as the ``Plan`` and ``PlanMeta`` it was made from (for
    ``apply PLAN`` and for rendering a reviewed plan). ``plan_to_dict`` of the result gives
    ``doc`` again; full names of evidence actors and skipped members are not in the file."""
    i, f = doc["inputs"], doc["inputs"]["filters"]
    options = PlanOptions(
        since=parse_date(i["since"]),
        until=parse_date(i["until"]) if i["until"] is not None else None,
        mode=i["mode"],
        removed_by=f["removed_by"],
        cause=f["cause"],
        only_recorded=f["only_recorded"],
        add_to_board=i["add_to_board"],
        board_role=i["board_role"],
        lists=frozenset(f["lists"]) if f["lists"] is not None else None,
        cards=frozenset(f["cards"]) if f["cards"] is not None else None,
    )
    plan = Plan(
        options=options,
        changes=tuple(_change_from(c) for c in doc["changes"]),
        blocked=tuple(Blocked(_change_from(b["change"]), b["reason"]) for b in doc["blocked"]),
        skipped=tuple(
            Skipped(
                card_id=s["card"]["id"],
                card_name=s["card"]["name"],
                member=_member_ref(s["member"]),
                reason=s["reason"],
                action_id=s["action_id"],
            )
            for s in doc["skipped"]
        ),
        incomplete=tuple(doc["incomplete"]),
    )
    account = doc["account"]
    meta = PlanMeta(
        tool_version=doc["tool_version"],
        created_at=parse_date(doc["created_at"]),
        api_url=doc["api_url"],
        account=_member_ref(account) if account is not None else None,
        boards=tuple((b["id"], b["name"]) for b in i["boards"]),
        source=i["source"],
        warnings=tuple(doc["warnings"]),
    )
    return plan, meta


# -------------------------------------------------------------------------------------- write


def dumps(doc: PlanDict) -> str:
    """The file's text: ``indent=2``, UTF-8 names as they are, a trailing newline."""
    return json.dumps(doc, indent=2, ensure_ascii=False) + "\n"


def write_plan(doc: PlanDict, path: str | Path) -> None:
    """Write the plan to ``path`` (``"-"``: stdout).

    A file is written atomically: a temporary file (mode 0600) in the same directory, flushed
    and fsynced, then renamed over ``path``. On any failure the temporary file is removed and
    ``path`` is left as it was: there is never a partial plan file."""
    text = dumps(doc)
    if str(path) == "-":
        try:
            sys.stdout.write(text)
            sys.stdout.flush()
        except OSError as err:
            raise InputFileError(f"cannot write the plan to stdout: {_reason(err)}") from err
        return
    target = Path(path)
    directory = target.parent
    tmp: str | None = None
    try:
        fd, tmp = tempfile.mkstemp(prefix=f".{target.name}.", suffix=".tmp", dir=directory)
        with os.fdopen(fd, "w", encoding="utf-8") as f:
            os.fchmod(f.fileno(), 0o600)
            f.write(text)
            f.flush()
            os.fsync(f.fileno())
        Path(tmp).replace(target)
        tmp = None
    except OSError as err:
        raise InputFileError(_write_error(target, err)) from err
    finally:
        if tmp is not None:
            with contextlib.suppress(OSError):
                Path(tmp).unlink()
    _fsync_dir(directory)


def _fsync_dir(directory: Path) -> None:
    """Make the rename durable (best effort: not every platform can open a directory)."""
    with contextlib.suppress(OSError):
        fd = os.open(directory, os.O_RDONLY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)


def _reason(err: OSError) -> str:
    return err.strerror or str(err)


def _write_error(target: Path, err: OSError) -> str:
    where = target.parent
    if isinstance(err, NotADirectoryError) or (where.exists() and not where.is_dir()):
        return (
            f"cannot write plan {target}: {where} (or a folder above it) is not a directory; "
            "choose another --plan-out path"
        )
    if isinstance(err, FileNotFoundError) and not where.is_dir():
        return f"cannot write plan {target}: directory {where} does not exist; create it first"
    if isinstance(err, PermissionError):
        return (
            f"cannot write plan {target}: directory {where} is not writable; "
            "choose another --plan-out path"
        )
    if isinstance(err, IsADirectoryError) or target.is_dir():
        return f"cannot write plan {target}: it is a directory; give a file name"
    return f"cannot write plan {target}: {_reason(err)}; nothing was written"


# --------------------------------------------------------------------------------------- read


def read_plan(path: str | Path) -> PlanDict:
    """Read, parse and validate a plan file; ``InputFileError`` (one line) when it is not a
    plan this version can apply as written."""
    p = Path(path)
    try:
        raw = p.read_bytes()
    except FileNotFoundError as err:
        raise InputFileError(f"plan file {p} does not exist; check the path") from err
    except IsADirectoryError as err:
        raise InputFileError(f"plan file {p} is a directory; give the plan's file name") from err
    except OSError as err:
        raise InputFileError(f"cannot read plan file {p}: {_reason(err)}") from err
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as err:
        raise InputFileError(
            f"plan file {p} is not valid JSON (not UTF-8 text); make it again with --plan-out"
        ) from err
    if not text.strip():
        raise InputFileError(f"plan file {p} is empty; make it again with --plan-out")
    try:
        doc = json.loads(text)
    except json.JSONDecodeError as err:
        # Cut off inside a string, the decoder reports where the string starts.
        if err.pos >= len(text.rstrip()) or err.msg.startswith("Unterminated string"):
            raise InputFileError(
                f"plan file {p} is truncated (it ends at line {err.lineno}); "
                "make it again with --plan-out"
            ) from err
        raise InputFileError(
            f"plan file {p} is not valid JSON (line {err.lineno}, column {err.colno}: {err.msg}); "
            "make it again with --plan-out"
        ) from err
    validate_plan(doc, name=f"plan file {p}")
    return cast(PlanDict, doc)


@cache
def _validator() -> jsonschema.Draft202012Validator:
    text = resources.files("trello_restore").joinpath(SCHEMA_RESOURCE).read_text("utf-8")
    schema = json.loads(text)
    jsonschema.Draft202012Validator.check_schema(schema)
    return jsonschema.Draft202012Validator(schema)


def plan_schema() -> dict[str, Any]:
    """The JSON Schema of plan files, as shipped in the package."""
    return cast(dict[str, Any], _validator().schema)


def validate_plan(doc: Any, *, name: str = "the plan") -> None:
    """Check a parsed plan document: its format and major version first (a clear message for a
    plan from a newer trello-restore), then the JSON Schema, then what a schema cannot say
    (unique change ids, board grants before the card changes that need them, a summary that
    matches the lists). ``name`` starts the error message."""
    if not isinstance(doc, dict) or doc.get("format") != FORMAT:
        raise InputFileError(f'{name} is not a trello-restore plan (no "format": "{FORMAT}")')
    version = doc.get("format_version")
    if isinstance(version, int) and not isinstance(version, bool) and version > FORMAT_VERSION:
        raise InputFileError(
            f"{name} was made by a newer trello-restore (format_version {version}); "
            "upgrade trello-restore to use it"
        )
    if "format_version" not in doc:
        raise InputFileError(f"{name} has no format_version; make it again with --plan-out")
    if version != FORMAT_VERSION or isinstance(version, bool):
        raise InputFileError(
            f"{name} has format_version {json.dumps(version)}, which no trello-restore writes; "
            "make it again with --plan-out"
        )
    error = jsonschema.exceptions.best_match(_validator().iter_errors(doc))
    if error is not None:
        raise InputFileError(
            f"{name} does not match the plan schema at {error.json_path}: "
            f"{_one_line(error.message)}; it may have been edited by hand, "
            "make it again with --plan-out"
        )
    problem = _semantic_problem(doc)
    if problem is not None:
        raise InputFileError(
            f"{name} is inconsistent: {problem}; it may have been edited by hand, "
            "make it again with --plan-out"
        )


def _one_line(message: str, limit: int = 160) -> str:
    text = " ".join(message.split())
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _semantic_problem(doc: PlanDict) -> str | None:
    """The first inconsistency a schema cannot express, or None."""
    seen: set[str] = set()
    for entry in [*doc["changes"], *(b["change"] for b in doc["blocked"])]:
        cid = entry["change_id"]
        if cid in seen:
            return f"change_id {cid} appears twice"
        seen.add(cid)
    add_to_board = doc["inputs"]["add_to_board"]
    granted: set[tuple[str, str]] = set()
    for i, c in enumerate(doc["changes"]):
        key = (c["board"]["id"], c["member"]["id"])
        if c["action"] == "add_member_to_board":
            if not add_to_board:
                return f"$.changes[{i}] grants board membership but add_to_board is false"
            granted.add(key)
        elif not c["precondition"]["member_on_board"] and key not in granted:
            if not add_to_board:
                return (
                    f"$.changes[{i}] adds a member who is not on the board "
                    "but add_to_board is false (it should be blocked)"
                )
            return f"$.changes[{i}] adds a member to a card before granting board membership"
    counts = Counter(c["action"] for c in doc["changes"])
    reasons = Counter(s["reason"] for s in doc["skipped"])
    expected = {
        "changes": len(doc["changes"]),
        "board_changes": counts["add_member_to_board"],
        "card_changes": counts["add_member_to_card"],
        "blocked": len(doc["blocked"]),
        "skipped": len(doc["skipped"]),
        "by_reason": dict(reasons),
        "incomplete": len(doc["incomplete"]),
    }
    for field, value in expected.items():
        if doc["summary"][field] != value:
            return f"summary.{field} is {doc['summary'][field]} but the plan has {value}"
    return None


# ------------------------------------------------------------------------------------- digest


def plan_digest(doc: PlanDict) -> str:
    """SHA-256 (hex) of the plan's decisions: ``api_url``, ``account``, ``inputs``, ``changes``
    and ``blocked`` as canonical JSON (sorted keys, no spaces). ``created_at``,
    ``tool_version``, the summary, skipped entries and warnings do not count, so writing the
    same plan again names the same journal."""
    decisions = {k: doc.get(k) for k in ("api_url", "account", "inputs", "changes", "blocked")}
    canonical = json.dumps(decisions, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return hashlib.sha256(canonical.encode("utf-8")).hexdigest()
