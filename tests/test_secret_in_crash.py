"""A credential never reaches the screen, even through a bug (review R23a).

1. A token ending in a newline (a config file's multi-line string, ``token = \"\"\"…\"\"\"``)
   passed the credential check (``$`` of ``re.match`` also matches before a last newline), and
   requests refused the header: Python's traceback printed the key and the token, twice, exit 1.
   Now it is the usual one line, exit 3, before any request.
2. Any other unexpected error printed Python's traceback. Now it is one line, ``Error: internal
   error (a bug: rerun with -vv …)``, exit 1, with what Python said, the key and the token
   redacted; ``-vv`` adds the traceback, redacted too (from the environment's credentials even
   before the settings are read).
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest
from click.testing import Result

from trello_restore.errors import ExitCode
from trello_restore.sandbox.scenario import Scenario

from .conftest import Sandbox, configless_cli, one_line_error
from .truthcheck import incident_since

Invoke = Callable[..., Result]


@pytest.fixture(name="invoke")
def invoke_fixture(sb: Sandbox, monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Invoke:
    return configless_cli(sb, monkeypatch, tmp_path)


def _secrets(s: Scenario) -> tuple[str, ...]:
    """The key and token, and prefixes long enough to give them away."""
    return (s.key, s.token, s.key[:12], s.token[:12])


@pytest.mark.parametrize("form", ['"""\n{token}\n"""', '"{token}\\n"'])
def test_a_token_ending_in_a_newline_is_one_line_and_no_request(
    invoke: Invoke,
    sb: Sandbox,
    scenario: Scenario,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    form: str,
) -> None:
    s = scenario
    config = tmp_path / "c.toml"
    config.write_text(f"[trello]\ntoken = {form.format(token=s.token)}\n")
    config.chmod(0o600)
    monkeypatch.delenv("TRELLO_TOKEN")
    start = len(sb.server.request_log)
    r = invoke("--config", str(config), "--board", s.team.id, "--since", "2025-11-02", "--dry-run")
    one_line_error(r, ExitCode.AUTH, "the token has characters no Trello credential has")
    for secret in _secrets(s):
        assert secret not in r.output
    assert sb.server.request_log[start:] == []


def test_a_bug_is_one_line_without_credentials_and_vv_shows_where(
    invoke: Invoke, scenario: Scenario, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    s = scenario

    def broken(*_: object, **__: object) -> None:
        raise ValueError(f"Invalid header value b'OAuth oauth_token=\"{s.token}\\n\", key={s.key}'")

    monkeypatch.setattr("trello_restore.run.make_plan", broken)
    args = ("--board", s.team.id, "--since", incident_since(s), "--dry-run")
    r = invoke(*args)
    line = one_line_error(
        r,
        ExitCode.INTERNAL,
        "Error: internal error (a bug: rerun with -vv, without -q, and report it",
        "ValueError: Invalid header value b'OAuth oauth_token=\"[redacted]\\n\", key=[redacted]'",
    )
    assert "Traceback" not in line
    for secret in _secrets(s):
        assert secret not in r.output

    log = tmp_path / "tool.log"
    loud = invoke(*args, "-vv", "--log-file", str(log))
    assert loud.exit_code == ExitCode.INTERNAL
    assert "Traceback (most recent call last):" in loud.stderr
    assert "in broken" in loud.stderr  # where it happened
    assert "Traceback (most recent call last):" in log.read_text()
    for secret in _secrets(s):
        assert secret not in loud.output
        assert secret not in log.read_text()
