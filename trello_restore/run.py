"""One planning run: turn checked inputs into a plan, from the API or from exports.

``cli.py`` parses and prints; this module wires the stages (api → fetcher → planner) together
and raises ``RestoreError``s with one-line, actionable messages. It writes nothing to Trello.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Literal

from trello_restore import __version__
from trello_restore.errors import UsageError
from trello_restore.fetcher import Fetched, fetch, load_exports, resolve_boards
from trello_restore.models import MemberRef, Plan, PlanOptions
from trello_restore.planfile import PlanMeta
from trello_restore.planner import build_plan
from trello_restore.timeparse import check_window, parse_when

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class PlanRequest:
    """Everything a planning run needs, already checked."""

    boards: tuple[str, ...]
    exports: tuple[Path, ...]
    options: PlanOptions
    api_url: str
    key: str = field(repr=False, default="")
    token: str = field(repr=False, default="")
    cache_dir: Path | None = None
    read_retries: int = 5


@dataclass(frozen=True)
class PlanResult:
    """The plan, its metadata, and what the user should be warned about."""

    plan: Plan
    meta: PlanMeta
    warnings: tuple[str, ...]
    requests_sent: int = 0


def build_request(
    *,
    boards: tuple[str, ...],
    exports: tuple[str, ...],
    since: str | None,
    until: str | None,
    now: datetime,
    mode: Literal["removed", "ever-added"] = "removed",
    removed_by: str | None = None,
    cause: Literal["move"] | None = None,
    only_recorded: bool = False,
    lists: tuple[str, ...] = (),
    cards: tuple[str, ...] = (),
    add_to_board: bool = False,
    board_role: Literal["normal", "observer"] = "normal",
    api_url: str,
    key: str = "",
    token: str = "",
    cache_dir: Path | None = None,
    read_retries: int = 5,
) -> PlanRequest:
    """Check the inputs' combinations and parse dates; raise UsageError when they don't fit."""
    if boards and exports:
        raise UsageError(
            "use either --board (plan from the API) or --from-export (offline), not both"
        )
    if not boards and not exports:
        raise UsageError(
            "name the board to restore with --board (or plan offline with --from-export)"
        )
    if since is None:
        raise UsageError(
            "--since is required: the time of the incident, e.g. --since 2025-11-02T14:00 "
            "or --since 7d"
        )
    when = parse_when(since, now, "--since")
    end = parse_when(until, now, "--until") if until is not None else None
    check_window(when, end)
    options = PlanOptions(
        since=when,
        until=end,
        mode=mode,
        removed_by=removed_by.lstrip("@") if removed_by else None,
        cause=cause,
        only_recorded=only_recorded,
        add_to_board=add_to_board,
        board_role=board_role,
        lists=frozenset(lists) if lists else None,
        cards=frozenset(_card_ref(c) for c in cards) if cards else None,
    )
    return PlanRequest(
        boards=boards,
        exports=tuple(Path(p) for p in exports),
        options=options,
        api_url=api_url.rstrip("/"),
        key=key,
        token=token,
        cache_dir=cache_dir,
        read_retries=read_retries,
    )


def _card_ref(value: str) -> str:
    """A card id, shortLink, or card URL (https://trello.com/c/<shortLink>/...) as id/shortLink."""
    text = value.strip()
    marker = "trello.com/c/"
    if marker in text:
        return text.split(marker, 1)[1].split("/", 1)[0]
    return text


def make_plan(req: PlanRequest, *, created_at: datetime) -> PlanResult:
    """Fetch (or load) and plan. Reads Trello, never writes to it."""
    account: MemberRef | None = None
    sent = 0
    if req.exports:
        fetched = load_exports(req.exports)
        source: Literal["api", "export"] = "export"
    else:
        from trello_restore.api import ApiSettings, TrelloApi

        settings = ApiSettings(
            key=req.key,
            token=req.token,
            api_url=req.api_url,
            cache_dir=req.cache_dir,
            read_retries=req.read_retries,
        )
        with TrelloApi(settings) as api:
            me = api.me()
            account = MemberRef(me["id"], me.get("username", ""), me.get("fullName", ""))
            fetched = fetch(api, resolve_boards(api, req.boards))
            sent = api.requests_sent
        source = "api"
    warnings = list(fetched.warnings) + _filter_warnings(req.options, fetched)
    plan = build_plan(
        fetched.history,
        fetched.state,
        req.options,
        fetched.members,
        incomplete=fetched.incomplete,
    )
    meta = PlanMeta(
        tool_version=__version__,
        created_at=created_at,
        api_url=req.api_url,
        account=account,
        boards=tuple((b.id, b.name) for b in fetched.boards),
        source=source,
        warnings=tuple(warnings),
    )
    return PlanResult(plan=plan, meta=meta, warnings=tuple(warnings), requests_sent=sent)


def _filter_warnings(options: PlanOptions, fetched: Fetched) -> list[str]:
    """Filters that match nothing are almost always typos: say so."""
    out: list[str] = []
    known = dict(fetched.history.members) | fetched.members
    wanted = options.removed_by
    if wanted and not any(wanted in (m.id, m.username) for m in known.values()):
        out.append(
            f"--removed-by {wanted}: no member with that id or username appears in the history "
            "or the board memberships, so no recorded removal is kept"
        )
    if options.lists:
        names = {n for b in fetched.state.boards.values() for n in b.lists.values()}
        ids = {i for b in fetched.state.boards.values() for i in b.lists}
        for item in sorted(options.lists - names - ids):
            out.append(f"--list {item}: no list with that id or name on the boards in scope")
    if options.cards:
        refs = {c.id for c in fetched.state.cards.values()} | {
            c.short_link for c in fetched.state.cards.values()
        }
        for item in sorted(options.cards - refs):
            out.append(f"--card {item}: no card with that id or shortLink on the boards in scope")
    return out
