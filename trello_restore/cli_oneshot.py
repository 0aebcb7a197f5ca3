"""The main command's run on the terminal: plan, print the plan, and (without ``--dry-run``)
apply it after a confirmation.

``cli.py`` parses the main command's options and calls ``plan_command``; ``OneShotUi`` is
``oneshot.OneShotUi`` on the terminal (the plan, the prompt, the progress and the apply's
outcome, shown as ``cli_restore.show_apply`` shows ``apply PLAN``'s). Like ``cli.py``, this
module only parses, prompts, prints and maps errors: ``oneshot.run_once`` does the work.
"""

from __future__ import annotations

import logging
import sys
from collections.abc import Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING

import click

from trello_restore import cli, wrote
from trello_restore.cli_restore import interrupted, show_apply
from trello_restore.errors import ExitCode, OtherPlansJournal, UsageError
from trello_restore.interrupts import check
from trello_restore.logs import FILE_ONLY, redacted, started_in
from trello_restore.words import shown_name

if TYPE_CHECKING:
    from trello_restore.applier import ApplyReport
    from trello_restore.cli import RestoreArgs
    from trello_restore.config import Settings
    from trello_restore.oneshot import Outcome
    from trello_restore.report_outcomes import Progress
    from trello_restore.run import PlanResult

logger = logging.getLogger("trello_restore")


def plan_command(args: RestoreArgs, s: Settings) -> ExitCode:
    """Plan and print it; a dry run ends there (exit code per ``--detailed-exitcode``),
    otherwise the plan is applied after a confirmation (``oneshot.run_once``); with
    ``--format json`` the run's summary goes to stdout."""
    from trello_restore.api import shown_url
    from trello_restore.applier import ApplyOptions
    from trello_restore.interrupts import first_ctrl_c_only
    from trello_restore.oneshot import OneShotRequest, run_once, run_summary
    from trello_restore.plan_request import PlanRequest

    dry = args.dry_run
    json_summary = not dry and args.fmt == "json"
    if args.detailed_exitcode and not dry:
        raise UsageError(
            "--detailed-exitcode works only with --dry-run (exit 7: changes are pending); add "
            "--dry-run, or drop it: a run that applies exits 0 when everything was done and 5 "
            "when a change failed, drifted or was blocked"
        )
    if json_summary and args.plan_out == "-":
        raise UsageError(
            "--format json without --dry-run prints the run's summary on stdout, so the plan "
            "cannot go there too: write it with --plan-out FILE"
        )
    if args.plan_out is not None:
        from trello_restore.planfile import check_plan_out

        # Before the fetch it would otherwise follow; never over the run's exports or config
        # file (R42e: the one that held the key and token).
        check_plan_out(args.plan_out, (*s.exports, *filter(None, [s.config_file])))
    if s.journal is not None:  # as early: no fetch spent on a journal that cannot be
        from trello_restore.journal_file import check_named

        check_named(s.journal)
    now = datetime.now(UTC)
    plan = PlanRequest.from_settings(
        s,
        now=now,
        lists=args.lists,
        cards=args.cards,
        cache=not args.no_cache,
        apply=not dry,
        refresh_history=args.refresh_history,
    )
    # After the inputs' own checks: what cannot run at all (e.g. applying an offline plan) is
    # said before asking for a confirmation it would not need.
    if not dry and not args.yes:
        cli.refuse_without_terminal("applying the plan")
    logger.info(
        "%s on %s since %s, API %s, in %s",
        "dry run" if dry else "run",
        run_target(s.boards, s.workspace),
        s.since,
        shown_url(plan.api_url),
        started_in(),
    )
    request = OneShotRequest(
        plan=plan,
        options=ApplyOptions.from_settings(s),
        state_dir=s.state_dir,
        journal_dir=s.journal_dir,
        journal=s.journal,
        created_at=now,
        dry_run=dry,
        detailed_exitcode=args.detailed_exitcode,
        unattended=args.yes and not dry,
        accept_unreadable=(
            s.label("accept_unreadable_boards") if s.accept_unreadable_boards else None
        ),
    )
    if s.journal is not None:
        wrote.named_journal(Path(s.journal))
    ui = OneShotUi(args)
    try:
        with first_ctrl_c_only():
            once = run_once(request, ui)
    except KeyboardInterrupt:
        ui.interrupted()
        raise
    except OtherPlansJournal as exc:
        raise OtherPlansJournal(exc.path, one_step=True) from None
    finally:
        ui.clear()
    if json_summary:
        from trello_restore.plan_out import json_line, write_out

        summary = run_summary(once, workspace=s.workspace, since_source=s.label("since"))
        write_out(json_line(summary))  # whole, or an error (R44i)
    return once.exit_code


def run_target(boards: Sequence[str], workspace: str | None) -> str:
    """What a run covers, for its log line: ``boards A, B``, ``workspace W``, or both
    (``boards A and workspace W``), each as typed, quoted when it is not plain (``shown_name``:
    R43f, a value holding an escape sequence or a line break went to the log as it was)."""
    parts: list[str] = []
    if boards:
        shown = ", ".join(map(shown_name, boards))
        parts.append(f"board{'s' if len(boards) > 1 else ''} {shown}")
    if workspace:
        parts.append(f"workspace {shown_name(workspace)}")
    return " and ".join(parts) or "no boards"


class OneShotUi:
    """``oneshot.OneShotUi`` on the terminal: the plan, the prompt, the progress and the
    apply's outcome, on stdout or (with ``--format json``, whose summary stdout holds) stderr."""

    def __init__(self, args: RestoreArgs) -> None:
        self.args = args
        self.json_summary = not args.dry_run and args.fmt == "json"
        self.result: PlanResult | None = None
        self.progress: Progress | None = None
        self.total = 0
        self.journal: Path | None = None

    def planned(self, result: PlanResult) -> None:
        from trello_restore.plan_out import for_stream, write_out
        from trello_restore.planfile import plan_to_dict, write_plan
        from trello_restore.report import render_json, render_text, summary_line

        check()  # a stop Python swallowed while the plan was made (R65a): not shown, not asked
        args, dry = self.args, self.args.dry_run
        self.result = result
        for warning in result.warnings:
            click.echo(f"Warning: {redacted(warning)}", err=True)  # as the log says it
            logger.warning("%s", warning, extra=FILE_ONLY)  # the log file too (R32a)
        if args.plan_out is not None:
            write_plan(plan_to_dict(result.plan, result.meta), args.plan_out)
        if args.plan_out != "-":
            if args.fmt == "json":
                if not self.json_summary:
                    doc = render_json(result.plan, result.meta)
                    write_out(for_stream(doc, getattr(sys.stdout, "encoding", None)))
                if not args.quiet:
                    click.echo(summary_line(result.plan, dry_run=dry), err=True)
            elif args.quiet:
                if dry:
                    click.echo(summary_line(result.plan, dry_run=True))
            else:
                text = render_text(result.plan, result.meta, dry_run=dry, verbose=args.verbose > 0)
                write_out(text)
        if args.plan_out not in (None, "-") and not args.quiet:
            click.echo(f"Plan written to {args.plan_out}", err=True)

    def confirm(self, changes: int) -> bool:
        from trello_restore.report import summary_line

        if self.args.yes:
            return True
        if self.args.quiet and self.result is not None:
            # -q showed no plan: the one line of what is confirmed, with the question.
            click.echo(summary_line(self.result.plan, dry_run=False), err=True)
        return cli.confirm(f"Apply {changes} change{'s' if changes != 1 else ''} to Trello?")

    def applying(self, total: int, journal: Path) -> Progress:
        self.total, self.journal = total, journal
        self.progress = cli.progress(total, quiet=self.args.quiet)
        return self.progress

    def finished(self, outcome: Outcome, report: ApplyReport | None, journal: Path | None) -> None:
        from trello_restore.report import summary_line
        from trello_restore.report_outcomes import change_labels

        args, to_stderr = self.args, self.json_summary
        self.clear()
        if outcome in ("nothing_to_do", "blocked") and not (to_stderr and args.quiet):
            text = "Nothing to apply."
            if args.quiet and self.result is not None:
                # -q prints only the summary, which the plan's text ends with: say what is
                # blocked (the reason for exit 5), as a run without -q does.
                text = f"{summary_line(self.result.plan, dry_run=False)} {text}"
            click.echo(text, err=to_stderr)
        elif outcome == "declined":
            click.echo("Nothing was changed.", err=to_stderr)
        elif report is not None and journal is not None and self.result is not None:
            show_apply(
                report,
                change_labels(self.result.plan),
                journal,
                quiet=args.quiet,
                verbose=args.verbose,
                resume=_resume(),
                one_shot=True,
                summary_to_stderr=to_stderr or args.plan_out == "-",
                print_summary=not (to_stderr and args.quiet),
            )

    def clear(self) -> None:
        """Remove the progress line, if the apply drew one."""
        if self.progress is not None:
            self.progress.clear()

    def interrupted(self) -> None:
        """Ctrl-C: during the apply, say where its journal is and how to resume (exit 130);
        before it, nothing was written (the caller says so)."""
        if self.progress is None or self.journal is None:
            return
        interrupted(
            self.progress, self.total, self.journal, _resume(), dry_run=False,
            start=_resume(" to start it"),
        )  # fmt: skip


def _resume(then: str = " to finish: it plans again from the current state") -> str:
    """How a stopped one-step run is finished (``wrote.same_command``: with another
    ``--journal`` once the one it named holds records, R59c)."""
    said = wrote.same_command()
    return f"{said[:1].upper()}{said[1:]}{then}"
