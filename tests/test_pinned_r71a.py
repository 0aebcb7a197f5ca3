"""Rules that mutation testing of R71a's code found untested (review R71a), each pinned by a
test that fails with the mutant applied:

- a write's error says "(the change may have been made)" only where the write may have been
  made (not where Trello refused it), and once (RU02, RU03);
- a streak of writes that got no answer at all is "no answer from the Trello API", even after
  an earlier streak had a 5xx in it (B02);
- the joiners, selectors and tags ``quote_name`` keeps where they show, and escapes where they
  show as nothing (P06, P09, P10, P16, P18, P20-P23, P26-P28);
- a description's diff keeps each character's context (P34);
- the config file's warning on stderr is redacted (J03)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from trello_restore.api.classify import MAYBE_MADE
from trello_restore.breaker import Breaker
from trello_restore.errors import ApiUnreachable, ExitCode
from trello_restore.journal import Journal
from trello_restore.kinds.valuetext import desc_diff
from trello_restore.models import quote_name
from trello_restore.sandbox.scenario import Scenario

from .conftest import Sandbox, configless_cli, sandbox_cli
from .test_apply_refused_boards import _plan
from .test_cli_apply import _restore_args
from .test_config_cli import _config

# ------------------------------------------------------------------- the change may have been made


def test_a_write_trello_refused_does_not_say_the_change_may_have_been_made(
    sb: Sandbox, scenario: Scenario, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A write Trello refused (the token's member an observer of the board: 401 "unauthorized
    permission requested") was not made, and is certain not to be: its ``FAILED`` line, its
    JSON ``error`` and its journal record say what Trello said, not that the change may have
    been made (R71a: mutant RU03)."""
    invoke, plan, _, _ = _plan(sb, scenario, tmp_path, monkeypatch)
    journal = tmp_path / "j.jsonl"
    r = invoke("apply", str(plan), "--journal", str(journal))
    assert r.exit_code == ExitCode.AUTH, r.output
    (line,) = [x for x in r.stdout.splitlines() if x.lstrip().startswith("FAILED")]
    assert line.endswith("(HTTP 401: unauthorized permission requested)"), line
    again = invoke("apply", str(plan), "--journal", str(journal), "--format", "json", "-q")
    assert again.exit_code == ExitCode.AUTH, again.output
    doc: dict[str, Any] = json.loads(again.stdout)
    failed = [c["error"] for c in doc["changes"] if c["status"] == "failed"]
    assert failed == ["unauthorized permission requested"]
    records = [x for x in Journal.read(journal).records if x.status == "failed"]
    assert len(records) == 2  # one a run
    for record in records:
        assert (record.http_status, record.uncertain) == (401, False), record
        assert record.error == "unauthorized permission requested", record
    assert MAYBE_MADE not in r.output + again.output


def test_a_write_whose_answer_was_lost_says_the_change_may_have_been_made_once(
    sb: Sandbox, scenario: Scenario, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Every write reaches Trello, which makes it, and its connection is closed without an
    answer (the sandbox drops it; reads are answered): the error of each such write says
    "(the change may have been made)" exactly once, in its ``FAILED`` line, its JSON
    ``error`` and its journal record (``uncertain``); the runner does not add it a second
    time to an error that says it already (R71a: mutant RU02)."""
    invoke, plan = sandbox_cli(sb, monkeypatch), tmp_path / "plan.json"
    made = invoke(*_restore_args(scenario), "--dry-run", "-q", "--plan-out", str(plan))
    assert made.exit_code == ExitCode.OK, made.output
    fault = sb.server._fault
    monkeypatch.setattr(sb.server, "_fault", lambda write: fault(write) if write else (None, False))
    sb.server.set_options(drop_rate=1.0, fault_after_write_share=1.0)
    r = invoke("apply", str(plan), "--format", "json")
    assert r.exit_code == ExitCode.UNREACHABLE, r.output
    lost = "the connection was closed without an answer"
    lines = [x for x in r.stderr.splitlines() if x.lstrip().startswith("FAILED") and lost in x]
    doc: dict[str, Any] = json.loads(r.stdout)
    errors = [c["error"] for c in doc["changes"] if c["status"] == "failed" and lost in c["error"]]
    records = Journal.read(Path(doc["journal"])).records
    journaled = [x for x in records if x.status == "failed" and lost in x.error]
    assert lines
    assert len(errors) == len(journaled) == len(lines), (errors, journaled, lines)
    assert all(x.uncertain for x in journaled), journaled
    for said in [*lines, *errors, *(x.error for x in journaled)]:
        assert said.count(MAYBE_MADE) == 1, said


# ------------------------------------------------------------------------------------ breaker


def test_no_answer_after_a_5xx_streak_that_a_success_ended_is_no_answer() -> None:
    """A write answered 5xx whose retry succeeded (its streak ended, with an answer), then a
    new streak of writes that got no answer at all: the breaker opens saying "no answer from
    the Trello API: … got none" (the run's line then says "When it answers again"), not
    "Trello kept failing": the new streak's answers are its own (R71a: mutant B02)."""
    now = [0.0]
    b = Breaker(attempts=16, span_s=1.0, window=20, clock=lambda: now[0])
    assert not b.attempt(ApiUnreachable("Trello answered 503", 503))
    now[0] = 0.5
    assert not b.attempt(None)
    silent = ApiUnreachable("cannot reach the Trello API at h (cannot connect): check it")
    opened = []
    for t in (1.0, 1.75, 3.25, 5.0):
        now[0] = t
        opened.append(b.attempt(silent))
    assert opened == [False, False, False, True]
    assert b.reason.startswith("no answer from the Trello API: 4 write attempts in a row got "), (
        b.reason
    )
    assert "got none" in b.reason
    assert "Trello kept failing" not in b.reason


# ------------------------------------------------------------------------ names: escaped_at


@pytest.mark.parametrize(
    ("name", "shown"),
    [
        pytest.param("Dev 👩🏽\u200d💻", '"Dev 👩🏽\u200d💻"', id="P16-skin-tone-then-joiner"),
        pytest.param(
            "🏴\U000e0067\U000e0062\U000e0065\U000e006e\U000e0067\U000e007f England",
            '"🏴\U000e0067\U000e0062\U000e0065\U000e006e\U000e0067\U000e007f England"',
            id="P26-England",
        ),
        pytest.param(
            "🏴\U000e0067\U000e0062\U000e0077\U000e006c\U000e0073\U000e007f Wales",
            '"🏴\U000e0067\U000e0062\U000e0077\U000e006c\U000e0073\U000e007f Wales"',
            id="P26-Wales",
        ),
        pytest.param("#\ufe0f\u20e3 tag", '"#\ufe0f\u20e3 tag"', id="P27-hash-keycap"),
        pytest.param("*\ufe0f\u20e3 star", '"*\ufe0f\u20e3 star"', id="P27-star-keycap"),
        pytest.param("Launch 🚀\u200d", '"Launch 🚀\\u200d"', id="P06-joiner-at-the-end"),
        pytest.param("မြန်\u200cမာ", '"မြန်\u200cမာ"', id="P20-Myanmar-non-joiner"),
        pytest.param("\u0759\u200c\u0759", '"\u0759\u200c\u0759"', id="P21-Arabic-Supplement"),
        pytest.param("\u3400\U000e0100", '"\u3400\U000e0100"', id="P22-CJK-Extension-A"),
        pytest.param("𠮟\U000e0100", '"𠮟\U000e0100"', id="P23-CJK-Extension-B"),
        pytest.param("Team\ufe00", '"Team\\ufe00"', id="P10-first-selector-after-a-letter"),
        pytest.param("\U000e01ef", '"\\U000e01ef"', id="P09-last-ideographic-selector-alone"),
        pytest.param("\u3030\ufe0f", '"\u3030\ufe0f"', id="P28-wavy-dash"),
        pytest.param("\u0643\u064e\u200d", '"\u0643\u064e\\u200d"', id="P18-after-a-vowel-mark"),
    ],
)
def test_joiners_selectors_and_tags_are_kept_where_they_show(name: str, shown: str) -> None:
    """``quote_name`` keeps a joiner, selector or tag character where it shows (an emoji
    sequence with a skin tone, England's and Wales's flags, the ``#`` and ``*`` keycaps,
    Myanmar and Arabic Supplement letters, an ideographic variation sequence of CJK
    Extension A or B, the wavy dash emoji) and escapes it where it shows as nothing (a joiner
    with nothing after it, or after an Arabic vowel mark, which is no virama; a selector after
    a Latin letter, or with nothing before it) (R71a: mutants P06, P09, P10, P16, P18, P20,
    P21, P22, P23, P26, P27, P28; each case's id starts with the mutant it pins)."""
    assert quote_name(name) == shown


# ------------------------------------------------------------------------- description diff


def test_a_description_diff_shows_an_emoji_family_as_it_is() -> None:
    """The diff of a description holding a family emoji (three pictographs and two joiners)
    shows it as the description does: each character is escaped or not in its context, as
    ``quote_name`` does, not alone (a joiner alone shows as nothing) (R71a: mutant P34)."""
    family = "👨\u200d👩\u200d👧"
    lines = desc_diff(f"Team {family} party\nold", f"Team {family} party\nnew")
    assert f" Team {family} party" in lines, lines
    assert not any("\\u200d" in line for line in lines), lines


# ------------------------------------------------------------------------ config file warning


def test_the_config_files_warning_never_shows_the_token(
    sandbox: Sandbox, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A config file others may read (mode 644) holding the token, in a directory whose name
    holds the token too: the warning that names the file is said on stderr redacted, as every
    line there is; the raw token shows nowhere (R71a: mutant J03)."""
    invoke = configless_cli(sandbox, monkeypatch, tmp_path)
    text = f'[trello]\napi_key = "{sandbox.key}"\ntoken = "{sandbox.token}"\n'
    secret_dir = tmp_path / f"x{sandbox.token}"
    secret_dir.mkdir()
    config = _config(secret_dir, text, mode=0o644)
    args = ["--config", str(config), "--board", "Team", "--since", "7d", "--dry-run", "-q"]
    r = invoke(*args, TRELLO_TOKEN=None, TRELLO_API_KEY=None)
    assert r.exit_code == 0, r.output
    (warning,) = [x for x in r.stderr.splitlines() if x.startswith("Warning: ")]
    assert "holds a token and is readable by others (mode 644): run chmod 600" in warning
    assert sandbox.token not in r.output
