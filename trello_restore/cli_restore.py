"""The subcommands that restore, ``apply PLAN`` and ``undo JOURNAL``, and how an apply's or
undo's outcomes are shown (``show_apply``; on Ctrl-C, ``interrupted``), the main command's run
(``cli_oneshot.py``) included.

``cli.py``'s group imports this module for ``apply`` and ``undo``. Like ``cli.py``, this module
only parses, prompts, prints and maps errors: ``run.py`` does the work.
"""

from __future__ import annotations

import contextlib
import logging
from collections.abc import Callable, Iterable, Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any, NoReturn

import click

from trello_restore import cli, defaults, wrote
from trello_restore.cli_exit import exit_interrupted
from trello_restore.errors import ExitCode, LockHeld, RestoreError
from trello_restore.fsutil import looks
from trello_restore.logs import FILE_ONLY, started_in
from trello_restore.plan_out import json_line, write_out
from trello_restore.words import plural, shell_join

if TYPE_CHECKING:
    from trello_restore.applier import ApplyReport
    from trello_restore.config import Settings
    from trello_restore.journal import JournalRecord
    from trello_restore.report_outcomes import Progress

logger = logging.getLogger("trello_restore")


def command_line(ctx: click.Context, s: Settings, *words: str) -> str:
    """The command that runs ``words`` (a subcommand and its arguments) as this run did, for
    the resume hints: with the main command's ``--config``, ``--token -`` and ``--log-file``
    when they were given (the same settings, the token from standard input again, the same
    log), each word quoted for the shell. A log file the environment or the config file gave
    is given again by them."""
    main = ctx.find_root().params
    head = ["trello-restore"]
    if main.get("config_file") is not None:
        head += ["--config", str(main["config_file"])]
    if main.get("token") == "-":
        head += ["--token", "-"]
    if s.log_file is not None and s.sources.get("log_file") == "--log-file":
        head += ["--log-file", str(s.log_file)]
    return shell_join([*head, *words])


def _api_url_flag(api_url: str | None, s: Settings) -> list[str]:
    """``--api-url URL`` when the URL was given as a flag (the subcommand's or the main
    command's); an environment variable or the config file gives it again by itself."""
    if api_url is None and s.sources.get("api_url") == "--api-url":
        api_url = s.api_url
    return ["--api-url", api_url] if api_url is not None else []


def _writer_options(of: str) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
    """The options ``apply`` and ``undo`` share: concurrency, rate, API URL, verbosity, format."""
    done = "applied" if of == "plan" else "undone"
    options = [
        click.option(
            "--workers",
            type=click.IntRange(1, defaults.MAX_WORKERS),
            metavar="N",
            help=f"Concurrent writers (default {defaults.WORKERS}).",
        ),
        click.option(
            "--rate-limit",
            type=click.IntRange(1, 1000),
            metavar="N",
            help=f"Requests per {defaults.RATE_WINDOW_S:g} s per token (default "
            f"{defaults.TOKEN_RATE_LIMIT}; Trello allows 100).",
        ),
        click.option(
            "--api-url",
            metavar="URL",
            help=f"Trello API base URL (env TRELLO_API_URL); must be the {of}'s.",
        ),
        click.option(
            "-v", "--verbose", count=True, help="List every change's outcome; more logging."
        ),
        click.option(
            "-q", "--quiet", is_flag=True, help="Print only the summary, warnings and errors."
        ),
        click.option(
            "--format",
            "fmt",
            type=click.Choice(["text", "json"]),
            help=f"text (default), or json: one line of JSON on stdout when it ends (exit 0, 3 "
            f"when a board refused its writes, 4 or 5) with what was {done} and every change's "
            "outcome; the report goes to stderr.",
        ),
    ]

    def decorate(command: Callable[..., Any]) -> Callable[..., Any]:
        for option in reversed(options):
            command = option(command)
        return command

    return decorate


@click.command("apply")
@click.argument("plan_file", metavar="PLAN")
@click.option("--dry-run", is_flag=True, help="Read live state and report; write nothing.")
@click.option("--journal", metavar="PATH", help="Journal file (default: the plan's own).")
@click.option("-y", "--yes", is_flag=True, help="Accepted for scripts; apply PLAN never asks.")
@_writer_options("plan")
@click.pass_context
def apply_command(
    ctx: click.Context,
    plan_file: str,
    dry_run: bool,
    journal: str | None,
    workers: int | None,
    rate_limit: int | None,
    yes: bool,
    api_url: str | None,
    verbose: int,
    quiet: bool,
    fmt: str | None,
) -> None:
    """Apply a reviewed plan file exactly as written (made with --dry-run --plan-out).

    Never plans again and never asks: the reviewed file is the approval. Each change is
    checked against live state first (already there, or card gone or moved: skipped).
    Outcomes go to a journal; running the same command again resumes where it stopped.
    A plan for another account or API URL, or made offline, is refused before any write.
    """
    parent, s = cli.parent_args(ctx)
    quiet, verbose = quiet or parent.quiet, verbose + parent.verbose
    dry_run = dry_run or parent.dry_run
    as_json = (fmt or parent.fmt) == "json"
    cli.setup_sub_logging(s, verbose, quiet)
    # The same plan, journal, API and config file: running it resumes this very journal.
    named_journal = journal or s.journal
    again = command_line(
        ctx,
        s,
        "apply",
        plan_file,
        *(["--journal", named_journal] if named_journal is not None else []),
        *_api_url_flag(api_url, s),
    )
    resume = f"Run {again} again to resume; changes already made are skipped"
    # The run's journal once known, and whether it was there before the run (``earlier``).
    known_journal: list[Path | None] = [None]
    there_before = [False]

    def body() -> ExitCode:
        from trello_restore import run
        from trello_restore.api import shown_url
        from trello_restore.applier import ApplyOptions
        from trello_restore.interrupts import first_ctrl_c_only
        from trello_restore.journal_file import check_named
        from trello_restore.oneshot import apply_json
        from trello_restore.planfile import read_plan
        from trello_restore.refusals import Refused, refused_list
        from trello_restore.report_outcomes import change_labels

        if named_journal is not None:
            check_named(named_journal)
        plan, meta = read_plan(plan_file)
        req = run.apply_request(
            plan,
            meta,
            api_url=api_url or s.api_url,
            options=ApplyOptions.from_settings(
                s, workers=workers, rate_limit=rate_limit, dry_run=dry_run
            ),
            state_dir=s.state_dir,
            journal_dir=s.journal_dir,
            journal=journal or s.journal,
            resolve_earlier=True,  # R78b: another plan's killed apply, settled before it writes
            key=s.api_key,
            token=s.token,
            read_retries=s.max_retries,
            request_timeout=s.request_timeout,
            origins=s.origins(api_url_flag=api_url is not None),
        )
        shown = plan_file, " (dry run)" if dry_run else "", shown_url(req.api_url), started_in()
        logger.info("apply %s%s, API %s, in %s", *shown)
        known_journal[0] = req.journal_path
        with contextlib.suppress(OSError):  # an empty one (mktemp's) holds nothing (R68a)
            there_before[0] = req.journal_path.stat().st_size > 0
        total = run.plan_outcomes(plan)  # one outcome each
        if total == 0:  # no request, and no journal that would hold nothing but its header
            from trello_restore.applier import check_plan_target

            # Offline or another API: refused all the same.
            url_from = req.origins.api_url if req.origins is not None else ""
            check_plan_target(req.meta, req.api_url, url_from=url_from)
            if not (as_json and quiet):
                click.echo(
                    f"Nothing to apply: {plan_file} holds no changes; nothing was changed.",
                    err=as_json,
                )
            if as_json:
                doc = apply_json(plan_file, meta, None, {}, dry_run=dry_run, journal=None)
                write_out(json_line(doc))  # whole, or an error (R44i)
            return ExitCode.OK
        progress = cli.progress(total, quiet=quiet)
        try:
            with first_ctrl_c_only():
                report = run.run_apply(req, progress)
        except KeyboardInterrupt:
            interrupted(
                progress, total, req.journal_path, resume, dry_run=dry_run,
                start=f"Run {again} again to start it",
            )  # fmt: skip
        except Refused as err:  # a write refused: the command that resumes, named
            raise err.resumed(again) from None
        finally:
            progress.clear()
        labels = change_labels(plan)
        show_apply(
            report, labels, req.journal_path, quiet=quiet, verbose=verbose, resume=resume,
            dry_run=dry_run, summary_to_stderr=as_json, print_summary=not (as_json and quiet),
        )  # fmt: skip
        names = {**dict(meta.boards), **{c.board_id: c.board_name for c in plan.changes}}
        order = [c.board_id for c in plan.changes]
        if as_json:
            written = None if dry_run else (report.journal_path or req.journal_path)
            refused = refused_list(report, names, order)
            doc = apply_json(
                plan_file, meta, report, labels, dry_run=dry_run, journal=written, refused=refused
            )
            write_out(json_line(doc))  # whole, or an error (R44i)
        refused_error(report, names, order, again, "apply")
        return report.exit_code

    def earlier(err: RestoreError) -> str | None:
        """An error before this run's first write, beside earlier runs' changes."""
        path = known_journal[0]
        # One this run made holds only its own records (R67a: the blocked outcomes of a first
        # apply were "what other runs did"), unless a run holding its lock made it.
        if path is None or not looks(path) or not (there_before[0] or isinstance(err, LockHeld)):
            return None
        from trello_restore.undo_left import undo_among

        # "Other": a run still going holds it too, when this one met its lock (R34a).
        held = f"the journal {path} holds what other runs did"
        look = shell_join(["trello-restore", "undo", "--dry-run", str(path)])
        if not isinstance(err, LockHeld):
            return f"{held}: {resume[0].lower()}{resume[1:]}"
        # The run holding its lock may be an undo (R47c: "run apply again to resume", obeyed,
        # put back everything an undo took back).
        if undo_among(path):
            return (
                f"{held}, an undo of it among them: {again} again puts back what an undo took "
                f"back; see what is applied now with {look} first"
            )
        return (  # an undo just begun has no record yet
            f"{held}: once the run holding it is done, {resume[0].lower()}{resume[1:]} "
            f"(if that run was an undo, this puts back what it took back: see {look})"
        )

    cli.exit_with(body, writes=not dry_run, earlier=earlier)


@click.command()
@click.argument("journal_file", metavar="JOURNAL")
@click.option("--dry-run", is_flag=True, help="Report what would be removed; change nothing.")
@click.option("-y", "--yes", is_flag=True, help="Undo without asking (needed without a terminal).")
@click.option(
    "--include-board-memberships",
    is_flag=True,
    help="Also remove the board memberships the apply granted (--add-to-board).",
)
@_writer_options("journal")
@click.pass_context
def undo(
    ctx: click.Context,
    journal_file: str,
    dry_run: bool,
    yes: bool,
    include_board_memberships: bool,
    workers: int | None,
    rate_limit: int | None,
    api_url: str | None,
    verbose: int,
    quiet: bool,
    fmt: str | None,
) -> None:
    """Reverse an apply: remove the card members that the journal says this tool added
    (board memberships only with --include-board-memberships) and set back the values it
    restored, where each is still as the tool left it. What someone else changed is left
    alone.

    Asks on a terminal; needs --yes otherwise. Journals what it does in the same file.
    JOURNAL is the file apply printed ("Journal: …"); given the plan file instead, undo
    names the plan's journal.
    """
    parent, s = cli.parent_args(ctx)
    quiet, verbose = quiet or parent.quiet, verbose + parent.verbose
    dry_run, yes = dry_run or parent.dry_run, yes or parent.yes
    as_json = (fmt or parent.fmt) == "json"
    cli.setup_sub_logging(s, verbose, quiet)
    again = command_line(
        ctx,
        s,
        "undo",
        journal_file,
        *(["--yes"] if yes else []),
        *(["--include-board-memberships"] if include_board_memberships else []),
        *_api_url_flag(api_url, s),
    )
    resume = f"Run {again} again to finish"

    def body() -> ExitCode:
        from trello_restore.api import shown_url
        from trello_restore.applier import ApplyOptions
        from trello_restore.interrupts import first_ctrl_c_only
        from trello_restore.journal_names import board_names
        from trello_restore.locks import lock_dir
        from trello_restore.oneshot import undo_json
        from trello_restore.refusals import Refused
        from trello_restore.report_outcomes import journal_labels
        from trello_restore.run import UndoRequest, load_journal, run_undo, undoable
        from trello_restore.undo_left import (
            grants_kept_text,
            grants_left,
            nothing_to_undo,
            undone_earlier,
        )
        from trello_restore.undo_question import question_lines, undo_preview

        journal = load_journal(journal_file, s.state_dir)
        n = undoable(journal, include_board_memberships)
        earlier = undone_earlier(journal.records)
        # The board memberships the apply granted that this undo leaves (not asked to remove).
        kept = 0 if include_board_memberships else grants_left(journal.records)[0]

        def said(text: str, *, declined: bool = False) -> None:
            """Undo ends before it starts: ``text`` (with --format json on stderr, none with
            -q, and the summary on stdout)."""
            if not (as_json and quiet):
                click.echo(text, err=as_json)
            if as_json:
                doc = undo_json(
                    journal,
                    None,
                    {},
                    dry_run=dry_run,
                    earlier=earlier,
                    declined=declined,
                    grants_kept=kept,
                )
                write_out(json_line(doc))  # whole, or an error (R44i)

        if n == 0:  # nothing to confirm either, unless a run of the journal has writes under way
            from trello_restore.undo import beside_a_run

            beside_a_run(journal, lock_dir(s.state_dir), dry_run=dry_run)
            said(nothing_to_undo(journal.records))
            return ExitCode.OK
        if not dry_run and not yes:
            cli.refuse_without_terminal("undo")
        preview = undo_preview(journal, include_board_memberships)  # other journals' too
        n = preview.total  # what the undo will look at
        if not dry_run and not yes:
            lines, question = question_lines(preview, quiet=quiet)
            for line in lines:  # which apply it reverses, what n is made of
                click.echo(line, err=True)
            if not cli.confirm(question):
                said("Nothing was changed.", declined=True)
                return ExitCode.OK
        req = UndoRequest(
            journal=journal,
            api_url=(api_url or s.api_url).rstrip("/"),
            options=ApplyOptions.from_settings(
                s, workers=workers, rate_limit=rate_limit, dry_run=dry_run
            ),
            lock_dir=lock_dir(s.state_dir),
            include_board_memberships=include_board_memberships,
            key=s.api_key,
            token=s.token,
            read_retries=s.max_retries,
            request_timeout=s.request_timeout,
            origins=s.origins(api_url_flag=api_url is not None),
        )
        logger.info(
            "undo %s%s, API %s, in %s",
            journal_file,
            " (dry run)" if dry_run else "",
            shown_url(req.api_url),
            started_in(),
        )
        progress = cli.progress(n, quiet=quiet, undo=True)
        try:
            with first_ctrl_c_only():
                report = run_undo(req, progress)
        except Refused as err:  # a write refused: the command that finishes it, named
            raise err.resumed(again) from None
        except KeyboardInterrupt:  # as apply's: its outcomes, and where they are recorded
            interrupted(
                progress, n, journal.path, resume, dry_run=dry_run,
                start=f"Run {again} again to start it",
            )  # fmt: skip
        finally:
            progress.clear()
        earlier = undone_earlier(journal.records, report.under_way)  # counted under way
        labels = journal_labels(journal.records) | report.labels
        show_apply(
            report, labels, journal.path, quiet=quiet, verbose=verbose, resume=resume,
            dry_run=dry_run, summary_to_stderr=as_json, print_summary=not (as_json and quiet),
            undo=True, undone_earlier=earlier,
        )  # fmt: skip
        note = grants_kept_text(journal.records) if kept else None
        if note is not None and not (as_json and quiet):  # said once, after the summary
            click.echo(note, err=as_json)
        if as_json:
            doc = undo_json(
                journal, report, labels, dry_run=dry_run, earlier=earlier, grants_kept=kept
            )
            write_out(json_line(doc))  # whole, or an error (R44i)
        names = {b: n or "" for b, n in board_names(journal.records).items()}
        names |= report.board_names
        refused_error(report, names, names, again, "undo")
        return report.exit_code

    cli.exit_with(body, writes=not dry_run)


def refused_error(
    report: ApplyReport, names: Mapping[str, str], order: Iterable[str], command: str, op: str
) -> None:
    """An apply or undo (``op``) that went on past boards refusing the token's member a write
    (``report.refused``) ends with one line (``refusals.refused_boards_line``): the boards
    (``names``, in ``order``), the journal, what to do and the ``command`` that resumes it."""
    if not report.refused:
        return
    from trello_restore.refusals import refused_boards_line, refused_list
    from trello_restore.runner_types import SKIPPED_DONE

    boards = refused_list(report, names, order)
    others = [o for o in report.outcomes if o.board_id not in report.refused]
    written = "undone" if op == "undo" else "applied"
    line = refused_boards_line(
        report.member,
        [(b["id"], b["name"], b["error"], b["not_written"]) for b in boards],
        elsewhere=sum(o.status == written for o in others) if others else None,
        journal=report.journal_path,
        memberships=report.refused_memberships,
        command=command,
        op=op,
        unread=report.refused_reads,
        earlier=sum(o.status == SKIPPED_DONE for o in others),
    )
    logger.error("%s", line)


#: The outcomes a run decides without a write: found done by an earlier run, refused, left
#: alone, found made already (undo: found not there).
_NO_WRITE = ("skipped_done", "blocked", "drifted", "already_satisfied", "not_on_card")


def interrupted(
    progress: Progress, total: int, journal: Path, resume: str, *, dry_run: bool, start: str
) -> NoReturn:
    """Ctrl-C during an apply or undo: clear the progress line, say what was done (the outcomes
    reported, writes answered after Ctrl-C too; how many of them a resumed apply found done
    before this run; and apart, the writes it stopped before they were sent, journaled as not
    sent) and where it is recorded, and exit 130 (143 when SIGTERM stopped it: ``Stopped by
    SIGTERM`` in place of ``Interrupted``). ``resume`` says how to go on from the journal;
    before there is one, ``start`` says how to start the run again."""
    from trello_restore.interrupts import stopped_by
    from trello_restore.journal import where_now

    progress.clear()
    journal = where_now(journal)  # beside it, when another file replaced it meanwhile
    sig = stopped_by()
    stopped = f"Stopped by {sig.name}" if sig else "Interrupted"
    if dry_run:
        line = f"{stopped}: nothing was changed."
    elif not journal.exists():  # created by the first outcome: none was recorded, none sent
        line = (
            f"{stopped} before any change was sent: nothing was changed, and no journal was "
            f"started ({journal}). {start}."
        )
    elif wrote.nothing_yet() and progress.done == sum(progress.counts.get(k, 0) for k in _NO_WRITE):
        # No write of this run, and no outcome but those that needed none (R53a: 83 blocked
        # ones read "after 83 of 100 outcomes; every change made is recorded", as if made).
        decided = progress.done - progress.counts.get("skipped_done", 0)
        outcomes = f"the {plural(decided, 'outcome')} it decided without a write" if decided else ""
        if wrote.started_here(journal):
            held = f"was started by it{f' and holds {outcomes}' if decided else ''}"
        else:
            held = f"holds what earlier runs did{f' and {outcomes}' if decided else ''}"
        line = (
            f"{stopped} before this run sent any change: nothing was changed by it; the journal "
            f"{journal} {held}. {resume}."
        )
    else:
        line = (
            f"{stopped} after {progress.done} of {total} outcomes{progress.interrupted_counts()};"
            f" every change made is recorded in the journal {journal}. {resume}."
        )
    click.echo(line, err=True)
    exit_interrupted(line)


def show_apply(
    report: ApplyReport,
    labels: Mapping[str, str],
    journal: Path,
    *,
    quiet: bool,
    verbose: int,
    resume: str,
    dry_run: bool = False,
    summary_to_stderr: bool = False,
    print_summary: bool = True,
    undo: bool = False,
    undone_earlier: Sequence[JournalRecord] = (),
    one_shot: bool = False,
) -> None:
    """After an apply (or an ``undo``, with what an earlier undo of its journal settled): what
    needs attention and the summary (and what to do about changes blocked at apply), the
    journal, why it stopped early (if it did) and how to resume; and the same in the log.
    The journal is where the run left it: beside ``journal`` when another file replaced it."""
    from trello_restore.report_outcomes import apply_summary, attention_lines, blocked_advice

    journal = report.journal_path or journal

    if print_summary:
        print_report(
            report,
            labels,
            quiet=quiet,
            every=dry_run or verbose > 0,
            dry_run=dry_run,
            undo=undo,
            summary_to_stderr=summary_to_stderr,
            undone_earlier=undone_earlier,
        )
    advice = None if undo else blocked_advice(report.outcomes, one_shot=one_shot)
    # What was said already goes to the log file only (R39a, R39b: -v printed the summary twice).
    if advice is not None:
        said = print_summary and not quiet
        if said:
            click.echo(advice, err=summary_to_stderr)
        logger.info("%s", advice, extra=FILE_ONLY if said else None)
    if not quiet and not dry_run:
        click.echo(f"Journal: {journal}", err=True)
    report_stop(report, journal, resume)
    for line in attention_lines(
        report.outcomes, labels, f"the journal {journal} has each", undo=undo
    ):
        logger.info("%s", line, extra=FILE_ONLY)  # R72c: the log said only how many
    logger.info(
        "%s (%d requests, %.1f s); journal %s",
        apply_summary(report, dry_run=dry_run, undo=undo, undone_earlier=undone_earlier),
        report.requests_sent,
        report.seconds,
        journal,
        extra=FILE_ONLY,
    )


def report_stop(report: ApplyReport, journal: Path, resume: str) -> None:
    """When the run stopped early (Trello kept failing): one line on stderr, even with
    ``--quiet``, with why, what was left, the journal and how to resume."""
    if not report.stopped:
        return
    left = report.counts.get("not_attempted", 0)
    # Trello failing or rate limiting passes; a redirect is this side's to fix (R38c); no
    # answer at all may be either (R67a).
    then = "When Trello works again" if report.stopped.startswith("Trello ") else "Once it is fixed"
    then = "When it answers again" if report.stopped.startswith("no answer") else then
    # None could connect (R68a): by this run, as a resumed one's journal holds what others did
    # (R69a: "nothing was changed" under "33 changes done by an earlier run").
    none = ", nothing was changed by this run" if wrote.nothing_yet() else ""
    message = (
        f"{report.stopped}; stopped writing so as not to hammer it ({left} not attempted{none}, "
        f"journal {journal}). {then}: {resume[:1].lower()}{resume[1:]}."
    )
    click.echo(f"Error: {message}", err=True)
    logger.error("stopped: %s", message, extra=FILE_ONLY)


def print_report(
    report: ApplyReport,
    labels: Mapping[str, str],
    *,
    quiet: bool,
    every: bool,
    dry_run: bool,
    undo: bool = False,
    summary_to_stderr: bool = False,
    undone_earlier: Sequence[JournalRecord] = (),
) -> None:
    """Outcomes worth a line (all with ``every``; else drifted, blocked and failed), the
    summary (for an undo, with ``undone_earlier``: what an earlier undo settled), and on stderr
    the request count and time."""
    from trello_restore.report_outcomes import apply_summary, outcome_line

    if not quiet:
        for outcome in report.outcomes:
            if every or outcome.status in ("drifted", "blocked", "failed"):
                click.echo(outcome_line(outcome, labels, undo=undo), err=summary_to_stderr)
    summary = apply_summary(report, dry_run=dry_run, undo=undo, undone_earlier=undone_earlier)
    click.echo(summary, err=summary_to_stderr)
    if not quiet:
        limited = f", {report.rate_limited} rate-limited" if report.rate_limited else ""
        sent = plural(report.requests_sent, "request")
        click.echo(f"{sent} in {report.seconds:.1f} s{limited}.", err=True)
