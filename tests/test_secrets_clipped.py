"""A credential pasted into the wrong setting, and shown cut short in the error about it, is
blanked out all the same (R41d): only a whole secret was, so ``trello.api_url … 'http://…/1/
SECRET123abc…' should end in /1`` put 54 of the token's 65 characters on stderr and in the
log file."""

from __future__ import annotations

import time
from pathlib import Path

import pytest

from trello_restore.errors import ExitCode

from .conftest import Sandbox, cli_invoker, run_cli, sandbox_cli

KEY = "0123456789abcdef0123456789abcdef"
TOKEN = "ATTA" + "5ec7e7" * 10 + "c0ffee"


def _pieces(text: str, secret: str, size: int = 8) -> list[str]:
    """The ``size``-character pieces of ``secret`` found in ``text``."""
    return [
        secret[i : i + size] for i in range(len(secret) - size + 1) if secret[i : i + size] in text
    ]


@pytest.mark.parametrize(
    ("setting", "message"),
    [
        (f'api_url = "http://127.0.0.1:9/1/{TOKEN}"', "should end in /1"),
        (f'requests_per_window = "{TOKEN}"', "must be a whole number"),
    ],
)
def test_a_token_in_the_wrong_setting_is_not_shown_cut_short(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, setting: str, message: str
) -> None:
    section = "[limits]\n" if setting.startswith("requests") else ""
    config = tmp_path / "config.toml"
    trello = f'[trello]\napi_key = "{KEY}"\ntoken = "{TOKEN}"\n'
    if section:
        config.write_text(trello + section + setting + "\n")
    else:
        config.write_text(trello.replace("[trello]\n", f"[trello]\n{setting}\n"))
    config.chmod(0o600)
    log = tmp_path / "run.log"
    invoke = cli_invoker(monkeypatch)
    result = invoke(
        "--config", str(config), "--log-file", str(log), "--board", "X", "--since", "1d",
        "--dry-run", TRELLO_TOKEN=None, TRELLO_API_KEY=None, TRELLO_API_URL=None,
    )  # fmt: skip
    assert result.exit_code == ExitCode.USAGE, result.output
    assert message in result.stderr, result.stderr
    for text in (result.output, result.stderr, log.read_text() if log.exists() else ""):
        assert _pieces(text, TOKEN) == [], text
        assert _pieces(text, KEY) == [], text


@pytest.mark.parametrize(
    ("config_text", "args", "message"),
    [
        # R42d: lowercased and cut with no "…", 36 of the token's characters were shown.
        (f'[trello]\napi_key = "{KEY}"\ntoken = "{TOKEN}"\n', ("--restore", f"members,{TOKEN}"),
         "--restore: unknown kind"),
        (f'[trello]\napi_key = "{KEY}"\ntoken = "{TOKEN}"\n[restore]\nrestore = ["{TOKEN}"]\n', (),
         "unknown kind"),
        # R42d: pasted into api_url with no token set anywhere, it is no known secret.
        (f'[trello]\napi_key = "{KEY}"\napi_url = "http://127.0.0.1:1/1/{TOKEN}"\n', (),
         "should end in /1"),
        (f'[trello]\napi_key = "{KEY}"\napi_url = "https://{TOKEN}/1"\n', (),
         "invalid host name"),
    ],
)  # fmt: skip
def test_a_token_shown_in_any_case_or_never_set_as_one_is_blanked(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, config_text: str, args: tuple[str, ...],
    message: str,
) -> None:  # fmt: skip
    config = tmp_path / "config.toml"
    config.write_text(config_text)
    config.chmod(0o600)
    log = tmp_path / "run.log"
    result = cli_invoker(monkeypatch)(
        "--config", str(config), "--log-file", str(log), "--board", "X", "--since", "1d",
        "--dry-run", *args, TRELLO_TOKEN=None, TRELLO_API_KEY=None, TRELLO_API_URL=None,
    )  # fmt: skip
    assert result.exit_code == ExitCode.USAGE, result.output
    assert message in result.stderr, result.stderr
    assert "Traceback" not in result.output + result.stderr
    for text in (result.output, result.stderr, log.read_text() if log.exists() else ""):
        assert _pieces(text, TOKEN) == _pieces(text, TOKEN.lower()) == [], text


def test_a_host_name_part_longer_than_63_characters_is_a_config_error(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """R42d: ``UnicodeError: label too long`` from requests-cache's URL normalizing, exit 1."""
    result = cli_invoker(monkeypatch)(
        "--board", "X", "--since", "1d", "--dry-run", TRELLO_API_KEY=KEY, TRELLO_TOKEN=TOKEN,
        TRELLO_API_URL=f"https://{'a' * 64}.example.com/1",
    )  # fmt: skip
    assert result.exit_code == ExitCode.USAGE, result.output
    assert "TRELLO_API_URL has an invalid host name" in result.stderr, result.stderr


def test_a_secret_split_by_a_line_break_or_a_space_is_blanked_whole(
    sandbox: Sandbox, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    """R42e: only a secret's start was matched, so a token pasted over two lines showed its 52
    characters after the break (on stderr and twice in the log file), and a key split by a
    space its second half."""
    log = tmp_path / "run.log"
    token, key = sandbox.token, sandbox.key
    invoke = sandbox_cli(sandbox, monkeypatch)
    for board in (f"{token[:12]}\n{token[12:]}", f"x {key[:16]} {key[16:]}"):
        result = invoke("--board", board, "--since", "1d", "--dry-run", "--log-file", str(log))
        assert result.exit_code == ExitCode.USAGE, result.output
        assert "no board named" in result.stderr, result.stderr
        for text in (result.output, result.stderr, log.read_text()):
            assert _pieces(text, token, 12) == _pieces(text, key, 12) == [], text


@pytest.mark.parametrize(
    "args",
    [
        ["--format", TOKEN, "--board", "x"],
        ["--board-role", KEY, "--board", "x"],
        [TOKEN.lower()],
        [f"--{KEY}"],
        ["demo", "--seed", TOKEN],
        ["sandbox", "export", "--board", KEY],
    ],
)
def test_click_usage_errors_do_not_repeat_a_pasted_credential(args: list[str]) -> None:
    """Click's own usage errors quote what they refuse: a token or key pasted after the wrong
    option, or in place of a command, was repeated on stderr, which cron mails (R57d). It is
    blanked by its shape (no secret is known yet at that point); the rest of the line stays."""
    result = run_cli(args)
    assert result.exit_code == ExitCode.USAGE
    assert result.stderr.startswith("Error: ")
    assert "[redacted]" in result.stderr
    assert not _pieces(result.stderr.lower(), TOKEN.lower())
    assert not _pieces(result.stderr, KEY)


@pytest.mark.parametrize("option", ["--since", "--until"])
def test_a_key_pasted_where_the_tool_reads_a_date_is_not_repeated(
    option: str, tmp_path: Path
) -> None:
    """R58a: the tool's own usage errors blanked a key or token only when it was the run's, or
    shaped like today's tokens: a 32-hex key pasted after ``--since`` was repeated on stderr.
    A path that holds such a run of hex stays whole (the user must see which file)."""
    args = ["--board", "x", "--since", "2025-11-02", option, KEY, "--dry-run"]
    result = run_cli(args)
    assert result.exit_code == ExitCode.USAGE
    assert "'[redacted]' is not a date" in result.stderr
    assert not _pieces(result.stderr, KEY)

    folder = tmp_path / KEY
    result = run_cli(["apply", str(folder / "plan.json")])
    assert result.exit_code == ExitCode.USAGE
    assert str(folder / "plan.json") in result.stderr


def test_blanking_takes_time_in_proportion_to_the_text() -> None:
    """R58a: an error body is blanked before it is cut to one line, and the URL pattern tried
    at every place of a long run without a ``/`` took time growing with the square of its
    length (55 s for one read of a proxy's 60 KB page of minified CSS, each retry again).
    Ten times the text now takes about ten times as long, not a hundred (ratios measured in
    the same run, each the best of five)."""
    from trello_restore.masking import Mask

    mask = Mask((KEY, TOKEN))

    def best(size: int) -> float:
        body = "a{b:c;d:e}" * (size // 10)  # no space, quote, bracket or slash
        times = []
        for _ in range(5):
            start = time.perf_counter()
            mask.redact(body)
            times.append(time.perf_counter() - start)
        return min(times)

    small, large = best(5_000), best(50_000)
    assert large < 40 * max(small, 2e-4), f"{small:.4f} s for 5 KB, {large:.4f} s for 50 KB"
