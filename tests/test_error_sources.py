"""Review R24 (C24): the errors about the credentials, the API URL and the board or workspace
names say where the value came from: the option (``--token -``, ``--api-url``), the
environment variable, or the config file with its path and key. A token in ``config.toml``
that Trello rejected said "check TRELLO_API_KEY and TRELLO_TOKEN", a bad ``api_url`` in the
file "check --api-url / TRELLO_API_URL", and a misspelled ``restore.boards`` name did not say
it came from the file: at 2 a.m. the user checked variables that were not set.

Over the sandbox (loopback), with a config file found as the README says (under
``XDG_CONFIG_HOME``), for the main command, ``apply``, ``undo`` and the one-step cron run.
"""

from __future__ import annotations

import socket
from collections.abc import Callable
from pathlib import Path

import pytest
from click.testing import Result

from trello_restore.api.classify import error_for_response
from trello_restore.boards import expect_objects
from trello_restore.config import Settings
from trello_restore.config_file import load_config
from trello_restore.errors import BadResponse, ExitCode
from trello_restore.logs import Redact

from .conftest import T0, Sandbox, SandboxFactory, cli_invoker, one_line_error
from .test_apply_values import applied_values, damaged_world, make_plan_file

BAD = "f" * 64  # a well-formed token the sandbox does not know
_ENV = ("TRELLO_API_KEY", "TRELLO_TOKEN", "TRELLO_API_URL", "TRELLO_RESTORE_CONFIG")
_ENV_SCOPE = ("TRELLO_RESTORE_BOARDS", "TRELLO_RESTORE_WORKSPACE", "TRELLO_RESTORE_SINCE")
Invoke = Callable[..., Result]


def _setup(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, toml: str, **env: str
) -> tuple[Invoke, Path]:
    """The CLI with only ``env`` of Trello's variables set, and ``toml`` as the config file in
    the user config directory (``$XDG_CONFIG_HOME/trello-restore/config.toml``)."""
    for name in (*_ENV, *_ENV_SCOPE):
        monkeypatch.delenv(name, raising=False)
    xdg = tmp_path / "xdg"
    path = xdg / "trello-restore" / "config.toml"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(toml)
    path.chmod(0o600)
    monkeypatch.setenv("XDG_CONFIG_HOME", str(xdg))
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    return cli_invoker(monkeypatch), path


def _trello(**keys: str) -> str:
    return "[trello]\n" + "".join(f'{k} = "{v}"\n' for k, v in keys.items())


def _no_secret(line: str, sb: Sandbox) -> None:
    for secret in (BAD, sb.key, sb.token):
        assert secret not in line


def _scope(sb: Sandbox) -> list[str]:
    return ["--board", sb.ids["team"], "--since", T0.date().isoformat(), "--dry-run"]


# ------------------------------------------------------------------- a token Trello rejects


def test_a_rejected_token_from_the_config_file_names_the_files_keys(
    sandbox: Sandbox, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    conf = _trello(api_key=sandbox.key, token=BAD, api_url=sandbox.base_url)
    invoke, path = _setup(monkeypatch, tmp_path, conf)
    line = one_line_error(
        invoke(*_scope(sandbox)),
        ExitCode.AUTH,
        "Trello rejected the API key or token",
        f"check trello.api_key and trello.token in {path} ",
    )
    assert "TRELLO_" not in line
    _no_secret(line, sandbox)


def test_a_rejected_token_from_the_environment_names_the_variable_and_the_keys_file(
    sandbox: Sandbox, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    conf = _trello(api_key=sandbox.key, api_url=sandbox.base_url)
    invoke, path = _setup(monkeypatch, tmp_path, conf, TRELLO_TOKEN=BAD)
    line = one_line_error(
        invoke(*_scope(sandbox)),
        ExitCode.AUTH,
        f"check trello.api_key in {path} and TRELLO_TOKEN ",
    )
    _no_secret(line, sandbox)


def test_a_rejected_token_from_standard_input_names_token_dash(
    sandbox: Sandbox, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    invoke, _ = _setup(
        monkeypatch, tmp_path, "", TRELLO_API_KEY=sandbox.key, TRELLO_API_URL=sandbox.base_url
    )
    r = invoke("--token", "-", *_scope(sandbox), input=BAD + "\n")
    line = one_line_error(r, ExitCode.AUTH, "check TRELLO_API_KEY and --token - ")
    assert "TRELLO_TOKEN" not in line
    _no_secret(line, sandbox)


def test_a_token_with_a_space_in_the_config_file_names_its_key(
    sandbox: Sandbox, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    conf = _trello(api_key=sandbox.key, token="not a token", api_url=sandbox.base_url)
    invoke, path = _setup(monkeypatch, tmp_path, conf)
    line = one_line_error(invoke(*_scope(sandbox)), ExitCode.AUTH, f"(trello.token in {path})")
    assert "not a token" not in line
    assert "TRELLO_TOKEN" not in line


def test_apply_and_undo_name_the_config_files_keys_for_a_rejected_token(
    sandbox_factory: SandboxFactory, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    sb, journal = applied_values(sandbox_factory, tmp_path)
    fresh = sandbox_factory(damaged_world()[0])
    plan = tmp_path / "plan2.json"
    make_plan_file(fresh, plan)  # changes to write: apply sends a request
    conf = _trello(api_key=fresh.key, token=BAD, api_url=fresh.base_url)
    invoke, path = _setup(monkeypatch, tmp_path, conf)
    said = f"check trello.api_key and trello.token in {path} "
    line = one_line_error(invoke("apply", str(plan), "--yes"), ExitCode.AUTH, said)
    assert "TRELLO_" not in line
    _no_secret(line, fresh)
    _setup(monkeypatch, tmp_path, _trello(api_key=sb.key, token=BAD, api_url=sb.base_url))
    line = one_line_error(invoke("undo", str(journal), "--yes"), ExitCode.AUTH, said)
    assert "TRELLO_" not in line
    _no_secret(line, sb)


def test_the_one_step_cron_run_from_the_config_file_names_its_keys(
    sandbox: Sandbox, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    conf = _trello(api_key=sandbox.key, token=BAD, api_url=sandbox.base_url) + (
        f'[restore]\nboards = ["{sandbox.ids["team"]}"]\nsince = "last-run"\n'
    )
    invoke, path = _setup(monkeypatch, tmp_path, conf)
    line = one_line_error(
        invoke("--yes", "--quiet"),
        ExitCode.AUTH,
        f"check trello.api_key and trello.token in {path} ",
    )
    _no_secret(line, sandbox)


# ----------------------------------------------------------------------------- the API URL


def _unversioned(sb: Sandbox) -> str:
    return sb.base_url.removesuffix("/1") + "/2"


def test_a_bad_api_url_in_the_config_file_names_its_key(
    sandbox: Sandbox, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    conf = _trello(api_key=sandbox.key, token=sandbox.token, api_url=_unversioned(sandbox))
    invoke, path = _setup(monkeypatch, tmp_path, conf)
    line = one_line_error(
        invoke(*_scope(sandbox)), ExitCode.USAGE, f"Error: trello.api_url in {path} '"
    )
    assert "TRELLO_API_URL" not in line
    assert "--api-url" not in line


@pytest.mark.parametrize("source", ["TRELLO_API_URL", "--api-url"])
def test_a_bad_api_url_from_the_environment_or_the_option_names_only_it(
    source: str, sandbox: Sandbox, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    env = {"TRELLO_API_KEY": sandbox.key, "TRELLO_TOKEN": sandbox.token}
    flag: list[str] = []
    if source == "--api-url":
        flag = ["--api-url", _unversioned(sandbox)]
    else:
        env[source] = _unversioned(sandbox)
    invoke, _ = _setup(monkeypatch, tmp_path, "", **env)
    line = one_line_error(
        invoke(*flag, *_scope(sandbox)), ExitCode.USAGE, f"Error: {source} '", "should end in /1"
    )
    other = "--api-url" if source == "TRELLO_API_URL" else "TRELLO_API_URL"
    assert other not in line


@pytest.mark.parametrize("source", ["TRELLO_API_URL", "--api-url", "trello.api_url"])
@pytest.mark.parametrize(
    "tail",
    [
        "?key={key}&token={token}",
        "/x?token={token}",
        "#{token}",
        ";key={key};token={token}",
        "&key={key}&token={token}",  # R34e: these three showed the key
        "%3Fkey%3D{key}%26token%3D{token}",
        "/key={key}/token={token}",
    ],
)
@pytest.mark.parametrize("configured", [True, False], ids=["also-configured", "only-in-the-url"])
def test_an_api_url_with_the_credentials_in_its_query_never_shows_them(
    source: str,
    tail: str,
    configured: bool,
    sandbox: Sandbox,
    monkeypatch: pytest.MonkeyPatch,
    tmp_path: Path,
) -> None:
    """R34b: ``--api-url 'https://api.trello.com/1?key=…&token=…'`` (Trello's own examples
    pass them so) printed the key and the token's first characters in the error, which cron
    mails, and the log file kept the token's (cut to 80 characters, past its redaction). R34c:
    with the key and token only in the URL, the log's first line kept them whole (no setting
    named them as secrets), and the error said the credentials were missing."""
    url = sandbox.base_url + tail.format(key=sandbox.key, token=sandbox.token)
    env = {"TRELLO_API_KEY": sandbox.key, "TRELLO_TOKEN": sandbox.token} if configured else {}
    conf, flag = "", ["--log-file", str(tmp_path / "run.log")]
    if source == "--api-url":
        flag += ["--api-url", url]
    elif source == "TRELLO_API_URL":
        env[source] = url
    else:
        conf = _trello(api_url=url)
    invoke, _ = _setup(monkeypatch, tmp_path, conf, **env)
    line = one_line_error(
        invoke(*flag, *_scope(sandbox)),
        ExitCode.USAGE,
        "must be the API's base URL alone, like https://api.trello.com/1: no query, fragment or "
        "other characters",
        "never in a URL",
    )
    log = (tmp_path / "run.log").read_text()
    assert "must be the API's base URL alone" in log
    for secret in (sandbox.key, sandbox.token, sandbox.token[:8]):
        assert secret not in line
        assert secret not in log


def test_apply_and_undo_with_the_credentials_in_the_api_url_log_none_of_them(
    sandbox_factory: SandboxFactory, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    """R34c: ``apply`` and ``undo`` logged ``apply plan.json, API …?key=…&token=…`` before the
    URL was refused."""
    sb, journal = applied_values(sandbox_factory, tmp_path)
    plan = tmp_path / "plan2.json"
    make_plan_file(sb, plan)
    url = f"{sb.base_url}?key={sb.key}&token={sb.token}"
    invoke, _ = _setup(monkeypatch, tmp_path, "")
    log = tmp_path / "run.log"
    for args in (("apply", str(plan), "--yes"), ("undo", str(journal), "--yes")):
        line = one_line_error(
            invoke("--log-file", str(log), *args, "--api-url", url),
            ExitCode.USAGE,
            "--api-url must be the API's base URL alone",
        )
        _no_secret(line, sb)
    text = log.read_text()
    assert text.count("must be the API's base URL alone") == 2
    for secret in (sb.key, sb.token, sb.token[:8]):
        assert secret not in text


def test_the_log_redacts_a_credential_in_a_url_and_nothing_else() -> None:
    """R34d: the log's redaction of ``key=``/``token=`` applied to any text, and a list named
    ``Done?token=abc123`` was logged as ``Done?token=[redacted]``: only inside a URL now."""
    redact = Redact(()).redact
    assert redact("API https://x.example/1?key=K1&token=T2;token=T3#token=T4 ok") == (
        "API https://x.example/1?key=[redacted]&token=[redacted];token=[redacted]"
        "#token=[redacted] ok"
    )
    # R34e: without a scheme, percent-encoded, JSON-escaped, in angle brackets.
    for text, want in (
        (
            "api.trello.com/1/boards?key=K1&token=T2",
            "api.trello.com/1/boards?key=[redacted]&token=[redacted]",
        ),
        (
            "x.example/1%3Fkey%3DK1%26token%3DT2",
            "x.example/1%3Fkey%3D[redacted]%26token%3D[redacted]",
        ),
        ('"https:\\/\\/x\\/1?token=T2"', '"https:\\/\\/x\\/1?token=[redacted]"'),
        ("<https://x/1?token=T2>", "<https://x/1?token=[redacted]>"),
    ):
        assert redact(text) == want, text
    for name in ('list "Done?token=abc123" is archived', "no board named Sprint?token=abc"):
        assert redact(name) == name


def test_an_unreachable_api_url_from_the_config_file_names_its_key(
    sandbox: Sandbox, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    with socket.socket() as s:  # a port nothing listens on
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    conf = _trello(
        api_key=sandbox.key, token=sandbox.token, api_url=f"http://127.0.0.1:{port}/1"
    ) + ("[limits]\nmax_retries = 0\n")
    invoke, path = _setup(monkeypatch, tmp_path, conf)
    line = one_line_error(
        invoke(*_scope(sandbox)),
        ExitCode.UNREACHABLE,
        "cannot reach the Trello API",
        f"or trello.api_url in {path}",
    )
    assert "TRELLO_API_URL" not in line


# ---------------------------------------------------------------- board and workspace names


def test_a_misspelled_board_name_in_the_config_file_says_it_came_from_there(
    sandbox: Sandbox, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    conf = _trello(api_key=sandbox.key, token=sandbox.token, api_url=sandbox.base_url) + (
        '[restore]\nboards = ["Teem"]\nsince = "7d"\n'
    )
    invoke, path = _setup(monkeypatch, tmp_path, conf)
    one_line_error(
        invoke("--dry-run"),
        ExitCode.USAGE,
        f'no board named "Teem" (restore.boards in {path}) is visible',
        'did you mean "Team"?',
    )


@pytest.mark.parametrize(
    ("board", "said"),
    [
        ("https://trello.com/b/XXXXXXXX/nope", "no board at https://trello.com/b/XXXXXXXX/nope"),
        ("XXXXXXXX", "no board with the shortLink XXXXXXXX (nor named so)"),
        ("5f00" + "0" * 20, f"no board with the id 5f00{'0' * 20} (nor named so)"),
    ],
)
def test_a_board_url_or_id_in_the_config_file_that_is_not_there_says_whence(
    sandbox: Sandbox, monkeypatch: pytest.MonkeyPatch, tmp_path: Path, board: str, said: str
) -> None:
    """As a name does: the config file's board by URL (what its cron example recommends), id or
    shortLink that no board has says where it was set (R70a)."""
    conf = _trello(api_key=sandbox.key, token=sandbox.token, api_url=sandbox.base_url) + (
        f'[restore]\nboards = ["{board}"]\nsince = "7d"\n'
    )
    invoke, path = _setup(monkeypatch, tmp_path, conf)
    one_line_error(
        invoke("--dry-run"), ExitCode.USAGE, f"{said} (restore.boards in {path}) is visible"
    )


def test_a_workspace_from_the_file_or_the_environment_that_is_not_there_says_whence(
    sandbox: Sandbox, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    conf = _trello(api_key=sandbox.key, token=sandbox.token, api_url=sandbox.base_url)
    invoke, path = _setup(monkeypatch, tmp_path, conf + '[restore]\nworkspace = "acmee"\n')
    r = invoke("--since", "7d", "--dry-run")
    one_line_error(r, ExitCode.USAGE, f"no workspace 'acmee' (restore.workspace in {path})")
    r = invoke("--since", "7d", "--dry-run", TRELLO_RESTORE_WORKSPACE="acmee")
    one_line_error(r, ExitCode.USAGE, "no workspace 'acmee' (TRELLO_RESTORE_WORKSPACE)")


# ------------------------------------------------------------------------------ the pieces


def test_origins_come_from_the_settings_sources_and_never_hold_a_value(tmp_path: Path) -> None:
    from trello_restore.api.settings import Origins

    path = tmp_path / "c.toml"
    path.write_text(_trello(api_key="k" * 32, token="t" * 64, api_url="http://x/1"))
    path.chmod(0o600)
    file = load_config(path, explicit=True)
    s = Settings.resolve({"token": "s" * 64}, {"TRELLO_API_URL": "http://y/1"}, file)
    origins = s.origins()
    assert origins == Origins(f"trello.api_key in {path}", "--token -", "TRELLO_API_URL")
    assert origins.credentials == f"trello.api_key in {path} and --token -"
    assert s.origins(api_url_flag=True).url == "--api-url"
    for secret in ("k" * 32, "t" * 64, "s" * 64):
        assert secret not in repr(origins)
    unknown = Settings.resolve({}, {}, None).origins()
    assert unknown.credentials == "TRELLO_API_KEY and TRELLO_TOKEN"
    assert unknown.url == "--api-url / TRELLO_API_URL"


def test_an_answer_that_is_not_trellos_names_where_the_url_came_from() -> None:
    from trello_restore.api.settings import Origins

    class Api:
        class settings:  # stands in for ApiSettings
            origins = Origins(api_url="trello.api_url in /etc/c.toml")

    with pytest.raises(BadResponse, match=r"check trello\.api_url in /etc/c\.toml \(it must"):
        expect_objects({}, "members/me/boards", "a list of boards", api=Api())
    with pytest.raises(BadResponse, match=r"check --api-url / TRELLO_API_URL \(it must"):
        expect_objects({}, "members/me/boards", "a list of boards")
    error = error_for_response(
        502, "", path="boards/x", origins=Origins(api_url="trello.api_url in /c.toml")
    )
    assert str(error).endswith("or check trello.api_url in /c.toml")


def test_a_plan_or_journal_of_another_api_names_where_this_url_came_from(
    sandbox_factory: SandboxFactory, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    """A plan (or journal) made at one API applied with ``api_url`` of another in the config
    file: the refusal says the URL came from the file's key (C24's finding: it named only the
    option and the variable, which were not set)."""
    sb, journal = applied_values(sandbox_factory, tmp_path)
    fresh = sandbox_factory(damaged_world()[0])
    assert fresh.base_url != sb.base_url
    plan = tmp_path / "plan2.json"
    make_plan_file(fresh, plan)
    invoke, path = _setup(
        monkeypatch, tmp_path, _trello(api_key=sb.key, token=sb.token, api_url=sb.base_url)
    )
    line = one_line_error(
        invoke("apply", str(plan), "--yes"),
        ExitCode.USAGE,
        f"this plan was made for {fresh.base_url}, not {sb.base_url} (from trello.api_url in "
        f"{path}); pass --api-url (or TRELLO_API_URL) for the API it was made for",
    )
    _no_secret(line, sb)
    _setup(monkeypatch, tmp_path, _trello(api_key=sb.key, token=sb.token, api_url=fresh.base_url))
    line = one_line_error(
        invoke("undo", str(journal), "--yes"),
        ExitCode.USAGE,
        f"records changes made at {sb.base_url}, not {fresh.base_url} (from trello.api_url in "
        f"{path}); pass --api-url",
    )
    _no_secret(line, fresh)


def test_a_plan_or_journal_applied_without_the_apis_1_says_so(
    sandbox_factory: SandboxFactory, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    """The plan and the journal were made at ``…/1`` and the URL given lacks the ``/1``: apply
    says so as the main command and undo do (R24b: it said only that the plan was made for
    another API)."""
    sb, journal = applied_values(sandbox_factory, tmp_path)
    plan = tmp_path / "plan2.json"
    make_plan_file(sb, plan)
    bare = sb.base_url.removesuffix("/1")
    assert bare != sb.base_url
    invoke, path = _setup(monkeypatch, tmp_path, _trello(api_key=sb.key, token=sb.token))
    for args in (("apply", str(plan), "--yes"), ("undo", str(journal), "--yes")):
        line = one_line_error(
            invoke(*args, "--api-url", bare),
            ExitCode.USAGE,
            f"--api-url {bare!r} should end in /1, the API's version",
        )
        _no_secret(line, sb)
    invoke, path = _setup(
        monkeypatch, tmp_path, _trello(api_key=sb.key, token=sb.token, api_url=bare)
    )
    one_line_error(
        invoke("apply", str(plan), "--yes", "--dry-run"),
        ExitCode.USAGE,
        f"trello.api_url in {path} {bare!r} should end in /1",
    )


def test_a_misspelled_workspace_suggests_the_account_s_workspaces_near_it(
    sandbox: Sandbox, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    """R39c: a misspelled board name got "did you mean"; a misspelled workspace only "give the
    workspace's id or its short name"."""
    conf = _trello(api_key=sandbox.key, token=sandbox.token, api_url=sandbox.base_url)
    invoke, _ = _setup(monkeypatch, tmp_path, conf)
    for typo in ("acmee", "ACM"):
        one_line_error(
            invoke("--workspace", typo, "--since", "7d", "--dry-run"),
            ExitCode.USAGE,
            f"no workspace {typo!r} (--workspace) is visible to this account: did you mean "
            """'acme' ("Acme")? Else give the workspace""",
        )
    # R42d: its display name (one with a space is no short name at all), or a part of its
    # short name, got no hint.
    with sandbox.world.lock:
        (org,) = sandbox.world.organizations.values()
        org.display_name = "Acme Works"
    for given in ("Acme Works", "acm", "acme works ", "Ac me"):
        one_line_error(
            invoke("--workspace", given, "--since", "7d", "--dry-run"),
            ExitCode.USAGE,
            """did you mean 'acme' ("Acme Works")? Else give the workspace""",
        )
    one_line_error(
        invoke("--workspace", "zzzz", "--since", "7d", "--dry-run"),
        ExitCode.USAGE,
        "no workspace 'zzzz' (--workspace) is visible to this account: give the workspace's id",
    )
