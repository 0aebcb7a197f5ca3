"""The plan file (design.md §4): build, write, read and validate the reviewable JSON plan.

``plan_to_dict`` turns a ``Plan`` and its ``PlanMeta`` into the file's document, with keys in the
documented order; ``plan_from_dict`` turns a validated document back into them (each change
through its kind's ``to_json``/``from_json``, ``kinds.py``). ``write_plan`` writes atomically with
mode 0600 (plans hold names); ``read_plan`` reads and parses a file once, validates it against
the JSON Schema of its version shipped in the package (``schema/plan-v1.schema.json``,
``schema/plan-v2.schema.json``, which ``planschema.build_schema`` composes), turns it into the
typed ``Plan`` and ``PlanMeta``, and checks what a schema cannot express on them.

Versions (design.md §10.3): a plan is written as ``format_version`` 2 when it holds a kind of
version 2 (the value kinds), a value field skipped or something unrestorable, or asks for more
than ``--restore members`` (or ``--by``); any other plan is version 1, byte for byte as before,
so old plans keep their digests and journals. This version reads both (``READS``).

Every problem with a file is an ``InputFileError`` with a one-line message that says what to
do. ``plan_digest`` names a plan's decisions, so the same plan gets the same journal;
``digest_of`` is that digest for a typed plan.

There is no field for the API key or token: a plan never holds them.
"""

from __future__ import annotations

import ast
import hashlib
import json
import re
import sys
from collections import Counter
from collections.abc import Hashable
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta
from functools import cache
from importlib import resources
from pathlib import Path
from typing import Any, Literal, cast

import jsonschema
import jsonschema.exceptions

from trello_restore.errors import InputFileError
from trello_restore.fsutil import read_named, sudo_advice, write_atomic
from trello_restore.journal import FORMAT as JOURNAL_FORMAT
from trello_restore.kinds import in_order, kind_of
from trello_restore.models import (
    SKIP_ORDER,
    VALUE_SKIP_ORDER,
    Blocked,
    MemberRef,
    Plan,
    PlanOptions,
    Skipped,
    Unrestorable,
    ValueChange,
    ValueSkipped,
    format_date,
    parse_date,
)
from trello_restore.parsing import escaped_at, load_json, wide_encoding
from trello_restore.plan_out import check_plan_out, for_stream, write_error, write_out
from trello_restore.words import BOM, at_name, json_problem

__all__ = [
    "FORMAT",
    "FORMAT_VERSION",
    "PlanDict",
    "PlanMeta",
    "check_plan_out",
    "digest_of",
    "dumps",
    "format_date",
    "is_journal_text",
    "parse_date",
    "plan_digest",
    "plan_from_dict",
    "plan_schema",
    "plan_summary",
    "plan_to_dict",
    "plan_version",
    "read_plan",
    "validate_plan",
    "write_plan",
]

#: The ``format`` field: what makes a JSON file a trello-restore plan.
FORMAT = "trello-restore-plan"
#: The newest major version this module writes; it reads every version of ``READS`` and
#: rejects any other.
FORMAT_VERSION = 2
READS: tuple[int, ...] = (1, 2)
#: Each version's schema file inside the package.
SCHEMA_RESOURCES = {v: f"schema/plan-v{v}.schema.json" for v in READS}
#: The default ``--restore``: what a version 1 plan restores.
_MEMBERS_ONLY = frozenset({"members"})

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
    #: How far Trello's clock was ahead of this machine's (seconds; negative: behind) when the
    #: plan was made, as the ``Date`` of Trello's answers showed (``TrelloApi.clock_skew``);
    #: None offline, before any answer, or in a plan file of an earlier version. An apply
    #: reads what changed since ``created_at`` moved by it (R35c: a plan made on a clock
    #: ahead of Trello's was applied over a colleague's removal made after it).
    skew_s: float | None = field(default=None, compare=False)  # a measure, not the plan
    #: For a plan read from a file (``read_plan``): ``plan_digest`` of the file's document as
    #: written, which names its journal; "" for a plan made in this run. (A file that a hand
    #: edit left valid but not in the form ``plan_to_dict`` writes, say a date with ``.000``,
    #: keeps the digest it had.)
    digest: str = field(default="", compare=False)


# ------------------------------------------------------------------------------------ to dict


def plan_version(plan: Plan) -> int:
    """The ``format_version`` the plan is written as: 2 when it holds a kind of version 2, a
    value field skipped or something unrestorable, or its options ask for more than member
    restores (``restore``, ``by``); else 1."""
    changes = [*plan.changes, *(b.change for b in plan.blocked)]
    newest = max((kind_of(c.action).format_version for c in changes), default=1)
    o = plan.options
    if plan.value_skipped or plan.unrestorable or o.restore != _MEMBERS_ONLY or o.by is not None:
        return max(newest, 2)
    return newest


def plan_summary(plan: Plan, version: int | None = None) -> dict[str, Any]:
    """Counts of the plan: changes (and per kind of its version, ``plan_version`` unless
    given), blocked, skipped (and per reason, in the planner's reason order, only reasons that
    occur), and cards with incomplete history; from version 2 on also value fields skipped
    (and per reason) and what is unrestorable."""
    version = plan_version(plan) if version is None else version
    reasons = Counter(s.reason for s in plan.skipped)
    kinds = Counter(c.action for c in plan.changes)
    out: dict[str, Any] = {
        "changes": len(plan.changes),
        **{k.summary_key: kinds[k.action] for k in in_order() if k.format_version <= version},
        "blocked": len(plan.blocked),
        "skipped": len(plan.skipped),
        "by_reason": {r: reasons[r] for r in SKIP_ORDER if reasons[r]},
        "incomplete": len(plan.incomplete),
    }
    if version >= 2:
        value_reasons = Counter(s.reason for s in plan.value_skipped)
        out["value_skipped"] = len(plan.value_skipped)
        out["by_value_reason"] = {r: value_reasons[r] for r in VALUE_SKIP_ORDER if value_reasons[r]}
        out["unrestorable"] = len(plan.unrestorable)
    return out


def _member_short(m: MemberRef) -> dict[str, str]:
    return {"id": m.id, "username": m.username}


def _inputs(o: PlanOptions, meta: PlanMeta, version: int) -> dict[str, Any]:
    inputs: dict[str, Any] = {
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
    if version >= 2:
        inputs["filters"]["by"] = o.by
        inputs["restore"] = sorted(o.restore)
    return inputs


def _thing(object_type: str, object_id: str, name: str) -> dict[str, str]:
    return {"type": object_type, "id": object_id, "name": name}


def _value_parts(plan: Plan) -> dict[str, Any]:
    """What version 2 adds at the end of the document: value fields skipped, unrestorable."""
    return {
        "value_skipped": [
            {
                "object": _thing(s.object_type, s.object_id, s.object_name),
                "board_id": s.board_id,
                "field": s.field,
                "reason": s.reason,
                "action_id": s.action_id,
                "others": [{"by": _member_short(m), "date": format_date(d)} for m, d in s.others],
            }
            for s in plan.value_skipped
        ],
        "unrestorable": [
            {
                "object": _thing(u.object_type, u.object_id, u.name),
                "what": u.what,
                "action_id": u.action_id,
                "date": format_date(u.date),
                "by": _member_short(u.by),
                **(
                    {"other_board": {"id": u.other_board_id, "name": u.other_board_name}}
                    if u.other_board_id
                    else {}
                ),
            }
            for u in plan.unrestorable
        ],
    }


def plan_to_dict(plan: Plan, meta: PlanMeta) -> PlanDict:
    """The plan file's document: design.md §4's shape, keys in its order, changes in the plan's
    order (board memberships first, then by board, list, card, member). Version 1 unless the
    plan needs version 2 (``plan_version``)."""
    version = plan_version(plan)
    doc = {
        "format": FORMAT,
        "format_version": version,
        "tool_version": meta.tool_version,
        "created_at": format_date(meta.created_at),
        **({"clock_skew_s": meta.skew_s} if meta.skew_s is not None else {}),
        "api_url": meta.api_url,
        "account": _member_short(meta.account) if meta.account is not None else None,
        "inputs": _inputs(plan.options, meta, version),
        "summary": plan_summary(plan, version),
        "changes": [kind_of(c.action).to_json(c) for c in plan.changes],
        "blocked": [
            {"change": kind_of(b.change.action).to_json(b.change), "reason": b.reason}
            for b in plan.blocked
        ],
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
    if version >= 2:
        doc |= _value_parts(plan)
    return doc


# ---------------------------------------------------------------------------------- from dict


def _member_ref(d: dict[str, str]) -> MemberRef:
    return MemberRef(d["id"], d.get("username", ""), d.get("fullName", ""))


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
        restore=frozenset(i.get("restore", ("members",))),
        by=f.get("by"),
    )
    plan = Plan(
        options=options,
        changes=tuple(kind_of(c["action"]).from_json(c) for c in doc["changes"]),
        blocked=tuple(
            Blocked(kind_of(b["change"]["action"]).from_json(b["change"]), b["reason"])
            for b in doc["blocked"]
        ),
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
        value_skipped=tuple(
            ValueSkipped(
                object_type=s["object"]["type"],
                object_id=s["object"]["id"],
                object_name=s["object"]["name"],
                board_id=s["board_id"],
                field=s["field"],
                reason=s["reason"],
                action_id=s["action_id"],
                others=tuple((_member_ref(o["by"]), parse_date(o["date"])) for o in s["others"]),
            )
            for s in doc.get("value_skipped", ())
        ),
        unrestorable=tuple(
            Unrestorable(
                object_type=u["object"]["type"],
                object_id=u["object"]["id"],
                name=u["object"]["name"],
                what=u["what"],
                action_id=u["action_id"],
                date=parse_date(u["date"]),
                by=_member_ref(u["by"]),
                other_board_id=u.get("other_board", {}).get("id", ""),
                other_board_name=u.get("other_board", {}).get("name", ""),
            )
            for u in doc.get("unrestorable", ())
        ),
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
        skew_s=doc.get("clock_skew_s"),
    )
    if meta.skew_s is not None:  # R35e: near year 1 or 9999, moving the date overflowed
        try:
            meta.created_at + timedelta(seconds=meta.skew_s)
        except OverflowError:
            raise ValueError("created_at moved by clock_skew_s is out of range") from None
    return plan, meta


# -------------------------------------------------------------------------------------- write


def dumps(doc: PlanDict) -> str:
    """The file's text: ``indent=2``, UTF-8 names as they are but for the characters
    ``quote_name`` escapes (a control or format character: R39a, ``--plan-out -`` wrote a
    name's C1 control and right-to-left override raw to the terminal), which JSON escapes
    (``\u202e``: the same document), and a trailing newline."""
    return _UNSEEN.sub(_escaped, json.dumps(doc, indent=2, ensure_ascii=False)) + "\n"


#: A character ``dumps`` may have to escape: all but printable ASCII and the line breaks of
#: its indentation (in a JSON string, a newline is ``\n`` already).
_UNSEEN = re.compile(r"[^\x20-\x7e\n]")


def _escaped(found: re.Match[str]) -> str:
    ch = found.group()
    return json.dumps(ch)[1:-1] if escaped_at(found.string, found.start()) else ch


def write_plan(doc: PlanDict, path: str | Path) -> None:
    """Write the plan to ``path`` (``"-"``: stdout).

    A file is written atomically: a temporary file (mode 0600) in the same directory, flushed
    and fsynced, then renamed over ``path``. On any failure the temporary file is removed and
    ``path`` is left as it was: there is never a partial plan file."""
    text = dumps(doc)
    if str(path) == "-":  # failing, the command's output's (``cli_exit.exit_output_failed``)
        write_out(for_stream(text, getattr(sys.stdout, "encoding", None)))
        return
    target = Path(path)
    check_plan_out(target)
    try:
        write_atomic(target, text, prefix=f".{target.name}.")
    except OSError as err:
        raise InputFileError(write_error(target, err)) from err


def _reason(err: OSError, path: Path) -> str:
    advice = sudo_advice(path, path)  # R63b: a plan a run with sudo wrote
    return f"{err.strerror or err}{f'; {advice}' if advice else ''}"


# --------------------------------------------------------------------------------------- read


def read_plan(path: str | Path) -> tuple[Plan, PlanMeta]:
    """Read a plan file once: parse it, validate it (``validate_plan``) and return the typed
    plan and its meta, whose ``digest`` is the file's (``plan_digest``). ``InputFileError``
    (one line) when it is not a plan this version can apply as written."""
    p = Path(path)
    try:
        raw = read_named(p)
    except FileNotFoundError as err:
        if str(path) == "-":  # R42a: as --plan-out - writes one
            raise InputFileError(
                "apply reads its plan from a file, not from stdin (-): save the plan with "
                "--plan-out FILE and give that file"
            ) from err
        raise InputFileError(f"plan file {p} does not exist; check the path") from err
    except IsADirectoryError as err:
        raise InputFileError(f"plan file {p} is a directory; give the plan's file name") from err
    except OSError as err:
        raise InputFileError(f"cannot read plan file {p}: {_reason(err, p)}") from err
    if (wide := wide_encoding(raw)) is not None:  # Notepad's "Unicode" (R42a, R60d)
        raise InputFileError(
            f"plan file {p} is not valid JSON (not UTF-8 text: it is {wide}); "
            "save it as UTF-8 in your editor, or make it again with --plan-out"
        )
    try:
        # A byte order mark: an editor (Notepad) saved it; the JSON after it is the plan.
        text = raw.decode("utf-8").removeprefix(BOM)
    except UnicodeDecodeError as err:
        raise InputFileError(
            f"plan file {p} is not valid JSON (not UTF-8 text); make it again with --plan-out"
        ) from err
    if not text.strip():
        raise InputFileError(f"plan file {p} is empty; make it again with --plan-out")
    try:
        doc = load_json(text, unique=True)
    except json.JSONDecodeError as err:
        if is_journal_text(text):  # JSON Lines: "Extra data" after its header
            raise InputFileError(_journal_given(p)) from err
        # Cut off inside a string, the decoder reports where the string starts.
        if err.pos >= len(text.rstrip()) or err.msg.startswith("Unterminated string"):
            raise InputFileError(
                f"plan file {p} is truncated (it ends at line {err.lineno}); "
                "make it again with --plan-out"
            ) from err
        if err.msg.startswith("the key "):  # valid JSON, but no plan this tool writes
            why = f"is not a plan this tool wrote ({err.msg}): remove the one you did not mean, or"
        else:
            why = f"is not valid JSON ({json_problem(err)});"
        raise InputFileError(f"plan file {p} {why} make it again with --plan-out") from err
    if isinstance(doc, dict) and doc.get("format") == JOURNAL_FORMAT:  # a journal's header alone
        raise InputFileError(_journal_given(p))
    plan, meta = validate_plan(doc, name=f"plan file {p}")
    return plan, replace(meta, digest=plan_digest(doc))


def is_journal_text(text: str) -> bool:
    """Whether ``text`` starts as an apply journal does: a header line with its format."""
    try:
        first = load_json(text.partition("\n")[0])
    except json.JSONDecodeError:
        return False
    return isinstance(first, dict) and first.get("format") == JOURNAL_FORMAT


def _journal_given(p: Path) -> str:
    return (
        f"plan file {p} is an apply journal, not a plan: give apply the plan file (the same plan "
        f"again resumes it); to undo what the journal records, run trello-restore undo {p}"
    )


@cache
def _validator(version: int = FORMAT_VERSION) -> jsonschema.Draft202012Validator:
    resource = SCHEMA_RESOURCES[version]
    text = resources.files("trello_restore").joinpath(resource).read_text("utf-8")
    schema = json.loads(text)
    jsonschema.Draft202012Validator.check_schema(schema)
    return jsonschema.Draft202012Validator(schema)


def plan_schema(version: int = FORMAT_VERSION) -> dict[str, Any]:
    """The JSON Schema of plan files of ``version``, as shipped in the package."""
    return cast(dict[str, Any], _validator(version).schema)


def validate_plan(
    doc: Any, *, name: str = "the plan", reads: tuple[int, ...] = READS
) -> tuple[Plan, PlanMeta]:
    """Check a parsed plan document and return it typed: its format and major version first (a
    clear message for a plan from a newer trello-restore), then the JSON Schema of its version;
    then, on the typed plan, what a schema cannot say (unique change ids, each change
    consistent with the plan, e.g. board grants before the card changes that need them, and a
    summary that matches the lists). ``name`` starts the error message. ``reads``: the versions
    this reader knows (a reader of version 1 only refuses version 2 the way this one refuses
    version 3)."""
    if not isinstance(doc, dict) or doc.get("format") != FORMAT:
        raise InputFileError(f'{name} is not a trello-restore plan (no "format": "{FORMAT}")')
    version = doc.get("format_version")
    if isinstance(version, int) and not isinstance(version, bool) and version > max(reads):
        known = " and ".join(str(v) for v in reads)
        raise InputFileError(
            f"{name} was made by a newer trello-restore (format_version {version}); this "
            f"trello-restore reads only format_version {known}: upgrade trello-restore to use it"
        )
    if "format_version" not in doc:
        raise InputFileError(f"{name} has no format_version; make it again with --plan-out")
    if version not in reads or isinstance(version, bool):
        raise InputFileError(
            f"{name} has format_version {json.dumps(version)}, which no trello-restore writes; "
            "make it again with --plan-out"
        )
    error = jsonschema.exceptions.best_match(_validator(version).iter_errors(doc))
    if error is not None:
        # A field this version does not know may be a newer version's (R47a: clock_skew_s).
        unknown = error.validator == "additionalProperties"
        newer = " or made by a newer trello-restore (then upgrade trello-restore)" * unknown
        raise InputFileError(
            f"{name} does not match the plan schema at {error.json_path}: "
            f"{_one_line(_in_json(error.message))}; it may have been edited by hand{newer}, "
            "make it again with --plan-out"
        )
    try:
        plan, meta = plan_from_dict(cast(PlanDict, doc))
    except ValueError as err:  # a date the schema's pattern lets through, e.g. month 13
        raise InputFileError(
            f"{name} holds an impossible date ({_one_line(str(err))}); it may have been edited "
            "by hand, make it again with --plan-out"
        ) from None
    problem = _semantic_problem(plan, doc["summary"], version)
    if problem is not None and problem.startswith("summary."):
        # Changes taken out by a reviewer (R36c: the advice to make it again undid the review).
        raise InputFileError(
            f"{name} is inconsistent: {problem}; if you deleted entries by hand, set those "
            "counts to what the plan has, else make it again with --plan-out"
        )
    if problem is not None:
        raise InputFileError(
            f"{name} is inconsistent: {problem}; it may have been edited by hand, "
            "make it again with --plan-out"
        )
    return plan, meta


#: A quoted string of a schema error's message (Python's repr of a value, either quote), or
#: one of Python's words for JSON's null, true and false outside one.
_PY_WORDS = re.compile(r"""'(?:[^'\\]|\\.)*'|"(?:[^"\\]|\\.)*"|\b(None|True|False)\b""")
_JSON_WORDS = {"None": "null", "True": "true", "False": "false"}


def _in_json(message: str) -> str:
    """A schema error's message (which shows the values by Python's repr) in JSON, as the plan
    file spells them: each quoted string in JSON's quotes, and JSON's words for null, true and
    false: ``null is not of type "string"``, ``{"a": null} is not one of ["x", "y"]`` (a
    value, a list or an object: their reprs are JSON once their parts are)."""
    return _PY_WORDS.sub(lambda m: _JSON_WORDS[m[1]] if m[1] else _json_string(m[0]), message)


def _json_string(quoted: str) -> str:
    """Python's repr of a string in JSON's quotes (as it was if it is not one)."""
    try:
        value = ast.literal_eval(quoted)
    except (ValueError, SyntaxError):  # pragma: no cover - the pattern matches only reprs
        return quoted
    return json.dumps(value, ensure_ascii=False)


def _one_line(message: str, limit: int = 160) -> str:
    text = " ".join(message.split())
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _semantic_problem(plan: Plan, summary: dict[str, Any], version: int) -> str | None:
    """The first inconsistency of a typed plan that a schema cannot express, or None
    (``summary``: the file's, of format ``version``); of the summary's counts, every one off."""
    seen: set[str] = set()
    for c in [*plan.changes, *(b.change for b in plan.blocked)]:
        if c.change_id in seen:
            return f"change_id {c.change_id} appears twice"
        seen.add(c.change_id)
    # One account, one username, as Trello has them: an id edited under another's name would
    # be checked (and written) as someone the reviewer did not see.
    named: dict[str, tuple[str, int]] = {}
    for i, c in enumerate(plan.changes):
        if isinstance(c, ValueChange) or not c.member.username:
            continue
        for who, value in ((f"id {c.member.id}", c.member.username), (c.member.username, "")):
            known = named.setdefault(who, (value or c.member.id, i))
            if known[0] != (value or c.member.id):
                return (
                    f"$.changes[{i}] names member {at_name(c.member.username)} ({c.member.id}), "
                    f"$.changes[{known[1]}] the same {'id' if value else 'username'} otherwise"
                )
    writes: dict[tuple[str, ...], int] = {}
    for i, c in enumerate(plan.changes):
        # What the change writes: two changes writing the same thing (a card's field, a
        # member on a card or a board) can only come from a hand edit, and the second would
        # overwrite the first with a precondition checked before either was written.
        field = c.field if isinstance(c, ValueChange) else c.member.id
        target = (c.action, c.card_id or c.list_id or c.board_id, field)
        first = writes.setdefault(target, i)
        if first != i:
            return f"$.changes[{i}] writes what $.changes[{first}] writes"
    provided: set[Hashable] = set()
    for i, c in enumerate(plan.changes):
        kind = kind_of(c.action)
        problem = kind.plan_problem(c, plan.options, provided)
        if problem is not None:
            return f"$.changes[{i}] {problem}"
        key = kind.provides(c)
        if key is not None:
            provided.add(key)
    expected = plan_summary(plan, version)
    # In the order found (as a reader would count them), for the message.
    expected["by_reason"] = dict(Counter(s.reason for s in plan.skipped))
    if version >= 2:
        expected["by_value_reason"] = dict(Counter(s.reason for s in plan.value_skipped))
    # Every count that is off in one line: a reviewer who deleted changes fixes them at once.
    # In JSON, to be set as said (R36e: Python's repr of a count by reason was no JSON).
    off = [
        f"summary.{key} is {json.dumps(summary[key])} but the plan has {json.dumps(value)}"
        for key, value in expected.items()
        if summary[key] != value
    ]
    return ", ".join(off) or None


# ------------------------------------------------------------------------------------- digest


def plan_digest(doc: PlanDict) -> str:
    """SHA-256 (hex) of the plan's decisions: ``api_url``, ``account``, ``inputs``, ``changes``
    and ``blocked`` as canonical JSON (sorted keys, no spaces). ``created_at``,
    ``tool_version``, the summary, skipped entries and warnings do not count, so writing the
    same plan again names the same journal."""
    decisions = {k: doc.get(k) for k in ("api_url", "account", "inputs", "changes", "blocked")}
    canonical = json.dumps(decisions, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return hashlib.sha256(canonical.encode("utf-8")).hexdigest()


def digest_of(plan: Plan, meta: PlanMeta) -> str:
    """``plan_digest`` of a typed plan: its file's (``meta.digest``, for a plan read with
    ``read_plan``), else that of the document ``plan_to_dict`` makes of it."""
    return meta.digest or plan_digest(plan_to_dict(plan, meta))
