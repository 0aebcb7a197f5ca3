"""The HTTP boundary's shape (issue 10, item 5): ``trello_restore/api/`` is a package of small
modules, one job each, and the only code that imports the HTTP libraries; importing it loads
nothing else of the tool but errors, limiter and defaults; and one ``RetryPolicy`` times both
the reads the transport retries and the writes the applier retries (it was two loops, each with
its own call of ``retry_delay``)."""

from __future__ import annotations

import ast
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import pytest

import trello_restore
from trello_restore import defaults
from trello_restore.api import ApiSettings, MemberStandIn, RetryPolicy, TrelloApi
from trello_restore.errors import ApiError, ApiUnreachable, ExitCode
from trello_restore.sandbox.scenario import generate

from .applykit import diff, expected, snapshot
from .conftest import SandboxFactory, sandbox_cli
from .truthcheck import incident_since

TOOL = Path(trello_restore.__file__).parent
#: The most lines a module of the tool may have (issue 10: "no module over ~650 lines").
MODULE_LIMIT = 650
#: The most lines ``cli.py`` may have (issue 10: "``cli.py`` under ~450 lines").
CLI_LIMIT = 450
HTTP_LIBRARIES = frozenset({"requests", "requests_cache", "requests_oauthlib", "trello", "urllib3"})


# --------------------------------------------------------------------------------- layout


def test_the_api_is_a_package_of_small_modules_and_so_is_the_fetcher() -> None:
    """One module per job, none over the limit; fetcher.py without the export reading."""
    package = TOOL / "api"
    assert (package / "__init__.py").is_file()
    assert not (TOOL / "api.py").exists()
    modules = {p.stem for p in package.glob("*.py")}
    assert modules == {
        "__init__",
        "settings",
        "classify",
        "retry",
        "transport",
        "watchdog",
        "cache",
        "client",
    }
    paths = [*package.glob("*.py"), TOOL / "fetcher.py", TOOL / "exports.py", TOOL / "fetched.py"]
    sizes = {p.name: len(p.read_text(encoding="utf-8").splitlines()) for p in paths}
    assert max(sizes.values()) <= MODULE_LIMIT, sizes


def test_every_module_of_the_tool_is_small() -> None:
    """Every module of the tool (the sandbox's aside) within the limit, ``cli.py`` within its
    own; a failure lists every offender with its size and limit."""
    sizes = {
        p.relative_to(TOOL).as_posix(): len(p.read_text(encoding="utf-8").splitlines())
        for p in TOOL.rglob("*.py")
        if p.relative_to(TOOL).parts[0] != "sandbox"
    }
    assert {"cli.py", "fetcher.py", "planner.py", "api/client.py"} <= set(sizes)
    limits = {name: CLI_LIMIT if name == "cli.py" else MODULE_LIMIT for name in sizes}
    offenders = {
        name: f"{n} lines, over {limits[name]}"
        for name, n in sorted(sizes.items())
        if n > limits[name]
    }
    assert offenders == {}


def _imported(path: Path) -> set[str]:
    """Top-level names of the modules ``path`` imports (absolute imports)."""
    out: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            out.update(alias.name.split(".")[0] for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and not node.level:
            out.add(node.module.split(".")[0])
    return out


def test_only_the_api_package_imports_the_http_libraries() -> None:
    """requests, requests-cache, py-trello and urllib3 stay behind ``trello_restore.api``."""
    package = TOOL / "api"
    outside = {
        str(p.relative_to(TOOL)): sorted(_imported(p) & HTTP_LIBRARIES)
        for p in TOOL.rglob("*.py")
        if package not in p.parents
    }
    assert {name: libs for name, libs in outside.items() if libs} == {}
    inside = set().union(*(_imported(p) for p in package.glob("*.py")))
    assert inside >= {"requests", "requests_cache", "trello", "urllib3"}


def test_every_library_the_tool_imports_is_declared() -> None:
    """Each third-party module the tool imports is a dependency of pyproject.toml, urllib3 at
    2 or later (``classify`` reads its NameResolutionError; requests allows 1.26, with which
    every network error was an internal error, exit 1: R37d)."""
    import tomllib

    deps = tomllib.loads((TOOL.parent / "pyproject.toml").read_text())["project"]["dependencies"]
    names = {d.split(">")[0].split("=")[0].split("<")[0].lower() for d in deps}
    distribution = {"trello": "py-trello", "requests_cache": "requests-cache"}
    imported = set().union(*(_imported(p) for p in TOOL.rglob("*.py")))
    third_party = {
        m for m in imported if m not in sys.stdlib_module_names and m != "trello_restore"
    }
    assert {distribution.get(m, m) for m in third_party} <= names
    assert "urllib3>=2" in deps


def test_importing_the_api_loads_only_what_it_needs() -> None:
    """``import trello_restore.api`` (a fresh interpreter) loads its own modules, errors,
    limiter, defaults, fsutil (the cache's private directory), masking (credentials blanked
    out of errors) and parsing (a name's lone surrogates): not the sandbox, the planner or the
    command line."""
    code = (
        "import sys, trello_restore.api\n"
        "print('\\n'.join(sorted(m for m in sys.modules if m.startswith('trello_restore'))))"
    )
    done = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True, timeout=60
    )
    loaded = set(done.stdout.split())
    ours = {m for m in loaded if m == "trello_restore.api" or m.startswith("trello_restore.api.")}
    assert ours == {
        "trello_restore.api",
        *(
            f"trello_restore.api.{m}"
            for m in ("settings", "classify", "retry", "transport", "watchdog")
        ),
        "trello_restore.api.cache",
        "trello_restore.api.client",
    }
    assert loaded - ours == {
        "trello_restore",
        "trello_restore.defaults",
        "trello_restore.errors",
        "trello_restore.fsutil",
        "trello_restore.limiter",
        "trello_restore.masking",
        "trello_restore.parsing",
    }


# ---------------------------------------------------------------------- one retry policy


@dataclass(frozen=True)
class Waited:
    """One decision of ``RetryPolicy.delay``: the policy, what failed, and the wait it gave."""

    policy: RetryPolicy
    error: ApiError
    attempt: int
    delay: float | None


def _spy_on_delays(monkeypatch: pytest.MonkeyPatch) -> list[Waited]:
    """Every ``RetryPolicy.delay`` decision from now on, in order (any thread)."""
    seen: list[Waited] = []
    original = RetryPolicy.delay

    def delay(self: RetryPolicy, error: ApiError, attempt: int, rand: float) -> float | None:
        out = original(self, error, attempt, rand)
        seen.append(Waited(self, error, attempt, out))
        return out

    monkeypatch.setattr(RetryPolicy, "delay", delay)
    return seen


def test_reads_retry_as_the_settings_policy_says(
    sandbox_factory: SandboxFactory, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A read that keeps getting 5xx: the transport asks ``ApiSettings.read_policy`` after each
    failure, waits while it says so, and gives up when it says None."""
    sb = sandbox_factory(error_rate=1.0)
    seen = _spy_on_delays(monkeypatch)
    settings = ApiSettings(
        sb.key, sb.token, api_url=sb.base_url, read_retries=2, backoff_s=0.001, rate_window_s=0.01
    )
    with TrelloApi(settings) as api, pytest.raises(ApiUnreachable, match="after 3 attempts"):
        api.get(f"boards/{sb.ids['team']}")
    assert [(w.policy, w.attempt, w.delay is None) for w in seen] == [
        (settings.read_policy, 0, False),
        (settings.read_policy, 1, False),
        (settings.read_policy, 2, True),
    ]
    assert all(isinstance(w.error, ApiUnreachable) for w in seen)
    assert len(sb.server.request_log) == 3


def test_writes_retry_as_the_same_policy_says(
    sandbox_factory: SandboxFactory, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """``apply PLAN`` whose first card write is answered 503: the applier asks a
    ``RetryPolicy`` with the apply's retries and backoff (the defaults), waits what it says
    and sends the write again; the plan ends exactly applied, exit 0."""
    s = generate(64, 60)
    sb = sandbox_factory(s, token_limit=10_000, key_limit=10_000)
    invoke = sandbox_cli(sb, monkeypatch)
    plan = tmp_path / "plan.json"
    since = incident_since(s)
    made = invoke("--board", s.team.id, "--since", since, "--removed-by", s.mover.username,
                  "--add-to-board", "--dry-run", "--plan-out", str(plan))  # fmt: skip
    assert made.exit_code == 0, made.output
    truth = s.truth("b")
    before = snapshot(s.world)
    original = TrelloApi.add_card_member
    failed: list[str] = []

    def first_answer_lost(api: TrelloApi, card_id: str, member: MemberStandIn) -> object:
        if not failed:
            failed.append(card_id)
            raise ApiUnreachable("the Trello API answered HTTP 503", 503)
        return original(api, card_id, member)

    monkeypatch.setattr(TrelloApi, "add_card_member", first_answer_lost)
    seen = _spy_on_delays(monkeypatch)
    result = invoke("apply", str(plan), "-q", "--rate-limit", "1000")
    assert result.exit_code == ExitCode.OK, result.output
    assert len(seen) == 1, seen
    waited = seen[0]
    assert waited.policy == RetryPolicy(
        retries=defaults.MAX_RETRIES,
        backoff_s=defaults.BACKOFF_S,
        rate_window_s=defaults.RATE_WINDOW_S,
    )
    assert (type(waited.error), waited.attempt) == (ApiUnreachable, 0)
    assert waited.delay is not None
    assert defaults.BACKOFF_S / 2 <= waited.delay <= defaults.BACKOFF_S
    assert diff(snapshot(s.world), expected(before, truth)) == []
