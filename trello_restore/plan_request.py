"""What a planning run is asked, checked: ``PlanRequest`` and how it is made.

``build_request`` checks the planning inputs' combinations (``--board`` or ``--from-export``,
``--since``, ``--until``, the filters) and parses their dates, raising a ``UsageError`` with a
one-line message when they do not fit; ``PlanRequest.from_settings`` is the command line's
request from its resolved settings. ``parse_restore`` reads ``--restore``'s kinds, and
``refuse_unattended`` refuses a ``--yes`` run of kinds other than ``members`` without ``--by``
(design.md §6). ``run.make_plan`` carries the request out.
"""

from __future__ import annotations

import difflib
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, replace
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Literal

from trello_restore import defaults
from trello_restore.errors import UsageError
from trello_restore.lastrun import is_last_run
from trello_restore.models import (
    MOVE_WINDOW_SECONDS,
    RESTORE_KINDS,
    Plan,
    PlanOptions,
    RestoreKind,
)
from trello_restore.timeparse import check_floor, check_not_future, check_window, parse_when
from trello_restore.words import member_name, plural, shown_value

if TYPE_CHECKING:
    from trello_restore.api.settings import Origins
    from trello_restore.config import Settings

__all__ = ["PlanRequest", "build_request", "parse_restore", "refuse_unattended"]


@dataclass(frozen=True)
class PlanRequest:
    """Everything a planning run needs, already checked."""

    boards: tuple[str, ...]
    exports: tuple[Path, ...]
    #: With ``since_last_run``, ``options.since`` is a stand-in until the scope is known.
    options: PlanOptions
    api_url: str
    key: str = field(repr=False, default="")
    token: str = field(repr=False, default="")
    cache_dir: Path | None = None
    read_retries: int = defaults.MAX_RETRIES
    #: A workspace (organization id or name) whose open boards are in scope too.
    workspace: str | None = None
    #: ``--since last-run``: the cutoff comes from the scope's state file in ``state_dir``.
    since_last_run: bool = False
    state_dir: Path | None = None
    #: The reads' rate limit: requests per window per token and per key, and the window.
    rate_limit: int = defaults.TOKEN_RATE_LIMIT
    key_rate_limit: int = defaults.KEY_RATE_LIMIT
    window_s: float = defaults.RATE_WINDOW_S
    #: Seconds a request waits for an answer (``ApiSettings.timeouts``); None for the default.
    request_timeout: float | None = None
    #: Where each board's parsed history is kept between runs (``history_store``; the cache
    #: directory), None for none (``--no-cache``); ``refresh_history`` rebuilds it.
    history_dir: Path | None = None
    refresh_history: bool = False
    #: How messages name ``removed_by``, ``by`` and ``until``: where each came from (an
    #: option, a variable or a config file key); their options when not given.
    filter_names: tuple[tuple[str, str], ...] = ()
    #: The plan is to be applied right away (no ``--dry-run``): the run may be recorded as the
    #: last run (``PlanResult.unreadable_in_window`` is looked for).
    apply: bool = False
    #: Where ``--accept-unreadable-boards`` was set (its option, variable or config key), or
    #: None: a board the token's member cannot read is then given up, not a refusal
    #: (``refusals.unread_named``).
    accept_unread: str | None = None
    #: Called at a read's 429 before it is retried (``ApiSettings.on_rate_limited``).
    on_rate_limited: Callable[[], None] | None = field(default=None, repr=False, compare=False)
    #: Where the credentials, the API URL and the scope came from, for messages (None: not
    #: known; ``Settings.origins``).
    origins: Origins | None = field(default=None, compare=False)

    @classmethod
    def from_settings(
        cls,
        settings: Settings,
        *,
        now: datetime,
        lists: tuple[str, ...] = (),
        cards: tuple[str, ...] = (),
        cache: bool = True,
        apply: bool = False,
        refresh_history: bool = False,
    ) -> PlanRequest:
        """The planning request of resolved settings (``build_request`` checks them), with the
        command line's ``--list`` / ``--card`` filters; ``cache=False`` for ``--no-cache``;
        ``apply`` when the plan is to be applied right away; ``refresh_history`` for
        ``--refresh-history`` (the history store, in the cache directory, is rebuilt; with
        ``--no-cache`` there is none). Messages name each setting by
        where it came from (an option, a variable or a config file key)."""
        s = settings
        origins = s.origins()  # where each value came from, and the config file looked for
        request = build_request(
            boards=s.boards,
            exports=s.exports,
            workspace=s.workspace,
            since=s.since,
            until=s.until,
            now=now,
            mode=s.mode,
            removed_by=s.removed_by,
            by=s.by,
            restore=s.restore,
            cause=s.cause,
            only_recorded=s.only_recorded,
            lists=lists,
            cards=cards,
            add_to_board=s.add_to_board,
            board_role=s.board_role,
            api_url=s.api_url,
            key=s.api_key,
            token=s.token,
            # --refresh-history reads the history from Trello, not from the HTTP cache either.
            cache_dir=s.cache_dir if cache and not refresh_history else None,
            read_retries=s.max_retries,
            apply=apply,
            state_dir=s.state_dir,
            labels={
                "since": s.label("since"),
                "until": s.label("until"),
                "restore": s.label("restore"),
                "removed_by": s.label("removed_by"),
                "by": s.label("by"),
                "config_file": origins.config,
            },
            rate_limit=s.rate_limit,
            key_rate_limit=s.key_rate_limit,
            window_s=s.window_s,
        )
        return replace(
            request,
            request_timeout=s.request_timeout,
            history_dir=s.cache_dir if cache else None,
            refresh_history=refresh_history,
            origins=origins,
            accept_unread=(
                s.label("accept_unreadable_boards") if s.accept_unreadable_boards else None
            ),
        )


def build_request(
    *,
    boards: tuple[str, ...],
    exports: tuple[str, ...],
    since: str | None,
    until: str | None,
    now: datetime,
    mode: Literal["removed", "ever-added"] = defaults.MODE,
    removed_by: str | None = None,
    by: str | None = None,
    restore: tuple[str, ...] = defaults.RESTORE,
    cause: Literal["move"] | None = None,
    only_recorded: bool = False,
    lists: tuple[str, ...] = (),
    cards: tuple[str, ...] = (),
    add_to_board: bool = False,
    board_role: Literal["normal", "observer"] = defaults.BOARD_ROLE,
    api_url: str,
    key: str = "",
    token: str = "",
    cache_dir: Path | None = None,
    read_retries: int = defaults.MAX_RETRIES,
    apply: bool = False,
    workspace: str | None = None,
    state_dir: Path | None = None,
    labels: Mapping[str, str] | None = None,
    rate_limit: int | None = None,
    key_rate_limit: int | None = None,
    window_s: float | None = None,
) -> PlanRequest:
    """Check the inputs' combinations and parse dates; raise UsageError when they don't fit.
    ``apply`` says the plan is to be applied right away (no ``--dry-run``). ``since`` may be
    ``last-run`` (read from ``state_dir`` once the boards are known). ``labels`` name where
    ``since``, ``until`` and ``restore`` came from in messages (default: their options).
    ``restore`` is ``--restore``'s kinds (``all`` for every one)."""
    names = {"since": "--since", "until": "--until", "restore": "--restore", **(labels or {})}
    kinds = parse_restore(restore, names["restore"])
    if (boards or workspace is not None) and exports:
        raise UsageError(
            "use either --board (plan from the API) or --from-export (offline), not both"
        )
    if exports and apply:
        raise UsageError(
            "a plan made offline from exports cannot be applied: add --dry-run to review it, "
            "or plan against the API with --board"
        )
    if not boards and not exports and workspace is None:
        raise UsageError(
            "name the board to restore with --board or --workspace (or plan offline with "
            f"--from-export), or set boards in {names.get('config_file', 'the config file')}"
        )
    if workspace is not None and not workspace.strip():
        raise UsageError("--workspace is empty: give a workspace id or its name in its URL")
    if since is None:
        raise UsageError(
            "--since is required: the time of the incident, e.g. --since 2025-11-02T14:00 "
            "or --since 7d (or --since last-run after a first successful run)"
        )
    last_run = is_last_run(since)
    if last_run and exports:
        raise UsageError(
            "--since last-run needs the boards over the API (it is recorded per board set, "
            "account and API URL); give a date to plan from exports"
        )
    if last_run and state_dir is None:  # pragma: no cover - the command line always passes it
        raise ValueError("--since last-run needs a state directory")
    end = parse_when(until, now, names["until"]) if until is not None else None
    if end is not None:
        check_floor(end, names["until"])
    when = now if last_run else parse_when(since, now, names["since"])
    if not last_run:
        check_floor(when, names["since"])
        check_not_future(when, now, names["since"])
        check_window(when, end, names["since"], names["until"])
    options = PlanOptions(
        since=when,
        until=end,
        mode=mode,
        removed_by=removed_by.lstrip("@") if removed_by else None,
        by=by.lstrip("@") if by else None,
        restore=kinds,
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
        workspace=workspace.strip() if workspace is not None else None,
        since_last_run=last_run,
        state_dir=state_dir,
        rate_limit=rate_limit or defaults.TOKEN_RATE_LIMIT,
        key_rate_limit=max(
            key_rate_limit or defaults.KEY_RATE_LIMIT, rate_limit or defaults.TOKEN_RATE_LIMIT
        ),
        window_s=window_s or defaults.RATE_WINDOW_S,
        filter_names=tuple(
            (k, names[k]) for k in ("removed_by", "by", "since", "until") if k in names
        ),
        apply=apply,
    )


def parse_restore(values: tuple[str, ...], label: str = "--restore") -> frozenset[RestoreKind]:
    """``--restore``'s kinds (each value may be a comma list): ``members``, ``archived``,
    ``list``, ``fields``, or ``all`` for every one. An unknown or empty kind is a
    ``UsageError`` naming the valid ones."""
    given = [w.strip() for v in values for w in v.split(",")]
    words = [w.lower() for w in given]
    if not any(words):
        raise UsageError(
            f"{label} names no kind: give a comma list of {', '.join(RESTORE_KINDS)}, or all"
        )
    if "" in words:
        raise UsageError(
            f"{label} has an empty item (two commas, or one at an end): give a comma list of "
            f"{', '.join(RESTORE_KINDS)}, or all, e.g. archived,list"
        )
    kinds: set[RestoreKind] = set()
    for word, as_given in zip(words, given, strict=True):
        if word == "all":
            kinds.update(RESTORE_KINDS)
            continue
        kind = next((k for k in RESTORE_KINDS if k == word), None)
        if kind is None:
            near = difflib.get_close_matches(word, [*RESTORE_KINDS, "all"], n=2, cutoff=0.6)
            hint = f"did you mean {' or '.join(near)}? " if near else ""
            raise UsageError(
                f"{label}: unknown kind {shown_value(as_given)}; {hint}the kinds are "
                f"{', '.join(RESTORE_KINDS)}, or all (comma-separated, e.g. archived,list)"
            )
        kinds.add(kind)
    return frozenset(kinds)


def refuse_unattended(restore: tuple[str, ...], by: str | None, label: str = "--restore") -> None:
    """The one-shot form with ``--yes`` (cron) refuses a kind other than ``members`` without
    ``--by`` (design.md §6): reverting every change by everyone since the last run would undo
    the team's ordinary work each night."""
    kinds = parse_restore(restore, label) - {"members"}
    if kinds and not by:
        raise UsageError(
            f"{label} {','.join(sorted(kinds))} with --yes needs --by MEMBER: applied "
            "unattended, it would revert every change everyone made in the window (each night, "
            "the team's ordinary work); name the member whose changes to revert, or review the "
            "plan first with --dry-run; nothing was changed"
        )


def lone_removals(plan: Plan) -> str | None:
    """The warning for a ``--yes`` run with ``--removed-by`` and no ``--cause`` whose plan adds
    back removals by that member that came with no move (design.md §6: ``--removed-by`` alone
    is no guard for unattended runs, it re-adds that person's deliberate removals every night;
    it was said only in the README), or None."""
    o = plan.options
    if o.removed_by is None or o.cause is not None:
        return None
    lone = [  # not the blocked ones: nothing adds them back (R34e: counted, every night)
        c
        for c in plan.card_changes()
        if c.evidence is not None
        and c.evidence.kind == "recorded_removal"
        and c.evidence.move_action_id is None
    ]
    if not lone:
        return None
    who = member_name(lone[0].evidence.by) if lone[0].evidence is not None else o.removed_by
    n = len(lone)
    return (
        f"{plural(n, 'card member')} this run adds back {'was' if n == 1 else 'were'} removed "
        f"by {who} with no move of the card or its list within "
        f"{MOVE_WINDOW_SECONDS} s (on purpose, perhaps): unattended, --removed-by (or --by) alone "
        "adds back that member's deliberate removals every run; add --cause move to keep to the "
        "removals that came with a move (README: Running unattended)"
    )


def _card_ref(value: str) -> str:
    """A card id, shortLink, or card URL (https://trello.com/c/<shortLink>/...) as id/shortLink."""
    text = value.strip()
    found = _CARD_URL.search(text)
    return found.group(1) if found else text


#: A card URL's shortLink; the host name in any case (``https://TRELLO.com/c/…``).
_CARD_URL = re.compile(r"(?i:trello\.com)/c/([^/?#]+)")
