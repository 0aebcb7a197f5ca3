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


def test_the_shortest_pieces_of_a_secret_are_blanked_and_no_shorter() -> None:
    """The boundaries of what a secret's pieces blank (R59a: mutants of them passed every
    test): its start cut to ``SHORTEST_SECRET`` characters (with "…", R41d), its last ``PIECE``
    characters (12) alone after a line break (R42e), each blanked; a shorter piece of its
    middle is not (an id or a name may share one by chance)."""
    from trello_restore.defaults import SHORTEST_SECRET
    from trello_restore.masking import MARK, Mask

    PIECE = 12  # the rule's figure, not the module's constant (which a mutant changes)

    token = "ATTA" + "".join(f"{(i * 7919 + 13) % 251:02x}" for i in range(30))  # no repeats
    mask = Mask((token,))
    assert mask.redact(f"token {token[:SHORTEST_SECRET]}… (cut)") == f"token {MARK}… (cut)"
    split = len(token) - PIECE
    assert mask.redact(f"{token[:split]}\n{token[split:]} x") == f"{MARK}\n{MARK} x"
    middle = token[20 : 20 + PIECE - 1]
    assert mask.redact(f"id {middle} x") == f"id {middle} x"
    assert mask.redact(f"id {token[20 : 20 + PIECE]} x") == f"id {MARK} x"


@pytest.mark.parametrize(
    ("text", "blanked"),
    [
        ("GET https://api.trello.com/1/boards?KEY=abc1&TOKEN=def2 500", True),
        ("GET https://api.trello.com/1/boards%23token%3Ddef2 500", True),
        ("GET https://api.trello.com/1/boards;key=abc1 500", True),
        ("GET https://api.trello.com/1/boards?fields=name 500", False),
    ],
)
def test_a_credential_in_a_url_is_blanked_in_any_case_or_encoding(text: str, blanked: bool) -> None:
    """A URL's ``key=``/``token=`` in any letter case, after ``?``, ``;`` or an encoded ``#``,
    is blanked even when no setting names it a secret, and ``holds`` says so: the HTTP cache
    does not store an answer whose headers echo one (R59a: mutants dropping the case, the
    ``%23`` or ``holds``' URL check passed every test)."""
    from trello_restore.masking import MARK, Mask

    mask = Mask(())
    said = mask.redact(text)
    assert ("abc1" not in said and "def2" not in said and MARK in said) is blanked
    assert (said == text) is not blanked
    assert mask.holds(text) is blanked


def test_only_a_token_long_enough_is_blanked_by_its_shape() -> None:
    """``shaped`` (usage errors) blanks "ATTA" and 8 hex digits or more, and leaves 7 (R59a: a
    mutant asking for 9 passed every test)."""
    from trello_restore.masking import MARK, shaped

    assert shaped("--format ATTA1234abcd") == f"--format {MARK}"
    assert shaped("--format ATTA1234abc") == "--format ATTA1234abc"
