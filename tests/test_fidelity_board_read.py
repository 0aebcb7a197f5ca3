"""Fidelity: the sandbox's board read, ``GET /1/boards/{id}``, answers as Trello documents it.

Without ``fields=`` it has ``id`` and Trello's default fields, and no nested resource; with
``fields=all`` every field it has (the board's own ``memberships`` among them); with a list
those and ``id``; a name that is no board field is refused. The documented lists are held here
as the sources give them and, where ``../shared`` is present, checked against the OpenAPI file.
The tool names the fields of every board read it makes, so its plans do not change.
"""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from trello_restore.api import ApiSettings, TrelloApi
from trello_restore.errors import BadRequest
from trello_restore.run import make_plan
from trello_restore.sandbox import render
from trello_restore.sandbox.scenario import generate

from .conftest import Sandbox, SandboxFactory
from .test_fidelity import fixtures_dir  # noqa: F401 (a fixture, used by name)
from .truthcheck import NOW, assert_plan_is_truth, incident_request

pytestmark = pytest.mark.fidelity

#: ``fields``'s default on ``GET /1/boards/{id}``: the OpenAPI file's, the same in the 2017 docs
#: (board.html), whose example answer to a plain ``GET /1/boards/tBmYPSYe`` has exactly these
#: keys and ``id`` (trello-archive/api-docs, app/templates/docs/board.html).
DOCUMENTED_DEFAULT = (
    *("name", "desc", "descData", "closed", "idOrganization", "pinned", "url", "shortUrl"),
    *("prefs", "labelNames"),
)
#: The fields ``fields=`` may name there ("all or a comma-separated list of: …", both sources).
DOCUMENTED_FIELDS = frozenset(
    {
        *("closed", "dateLastActivity", "dateLastView", "desc", "descData", "idMemberCreator"),
        *("idOrganization", "invitations", "invited", "labelNames", "memberships", "name"),
        *("pinned", "powerUps", "prefs", "shortLink", "shortUrl", "starred", "subscribed", "url"),
    }
)
#: Documented, but the sandbox's boards have no creator to name.
NOT_MODELLED = frozenset({"idMemberCreator"})


def test_the_documented_lists_are_the_openapi_files(fixtures_dir: Path) -> None:  # noqa: F811
    """``DOCUMENTED_DEFAULT`` and ``DOCUMENTED_FIELDS`` are what the OpenAPI file says of
    ``fields`` on ``GET /boards/{id}``; its nested resources are parameters, not fields."""
    spec = json.loads((fixtures_dir / "trello-openapi.json").read_text(encoding="utf-8"))
    params = {p["name"]: p for p in spec["paths"]["/boards/{id}"]["get"]["parameters"]}
    fields = params["fields"]
    assert tuple(fields["schema"]["default"].split(",")) == DOCUMENTED_DEFAULT
    listed = fields["description"].split("comma-separated list of:", 1)[1]
    assert frozenset(re.findall(r"[A-Za-z]+", listed)) == DOCUMENTED_FIELDS
    assert {"actions", "cards", "lists", "members", "memberships"} <= set(params)


def test_a_plain_board_read_has_the_documented_default_fields(sandbox: Sandbox) -> None:
    """Read with the tool's own client: no ``fields=`` gives ``id`` and the documented default
    fields, in that order, with the values the full answer has; no nested resource."""
    team = sandbox.ids["team"]
    settings = ApiSettings(key=sandbox.key, token=sandbox.token, api_url=sandbox.base_url)
    with TrelloApi(settings) as api:
        plain = api.get(f"boards/{team}")
        full = api.get(f"boards/{team}", {"fields": "all"})
    assert list(plain) == ["id", *DOCUMENTED_DEFAULT]
    assert plain == {k: full[k] for k in plain}
    assert plain["name"] == "Team"
    assert plain["url"].startswith("https://trello.com/b/")


def test_fields_all_has_every_field_and_a_list_those(sandbox: Sandbox) -> None:
    """``fields=all``: every field the sandbox renders, every documented one among them (but
    ``NOT_MODELLED``), the board's own ``memberships`` too, and still no nested resource. A
    list gives ``id`` and those, in its order; a repeated name once."""
    team = sandbox.ids["team"]
    board = sandbox.world.boards[team]
    full = sandbox.get(f"/boards/{team}", fields="all").json()
    assert set(full) == set(render.board(sandbox.world, board))
    assert set(full) >= DOCUMENTED_FIELDS - NOT_MODELLED
    assert all("member" not in m for m in full["memberships"])  # the field, not the nested
    assert not {"actions", "cards", "lists", "members", "labels", "checklists"} & set(full)
    picked = sandbox.get(f"/boards/{team}", fields="shortLink,name,memberships,name").json()
    assert list(picked) == ["id", "shortLink", "name", "memberships"]
    assert picked == {k: full[k] for k in picked}
    assert list(sandbox.get(f"/boards/{team}", fields="id").json()) == ["id"]
    nested = sandbox.get(f"/boards/{team}", lists="open", memberships="admin").json()
    assert list(nested) == ["id", *DOCUMENTED_DEFAULT, "memberships", "lists"]


def test_a_name_that_is_no_board_field_is_refused(sandbox: Sandbox) -> None:
    """400 ``invalid value for fields`` (plain text), as Trello answers a bad value; through
    the tool's client, ``BadRequest``."""
    team = sandbox.ids["team"]
    for bad in ("bogus", "name,bogus", "name,Name"):
        answer = sandbox.get(f"/boards/{team}", fields=bad)
        assert (answer.status_code, answer.text) == (400, "invalid value for fields"), bad
    settings = ApiSettings(key=sandbox.key, token=sandbox.token, api_url=sandbox.base_url)
    with TrelloApi(settings) as api, pytest.raises(BadRequest):
        api.get(f"boards/{team}", {"fields": "name,idList"})


def test_the_tools_board_reads_name_their_fields(sandbox_factory: SandboxFactory) -> None:
    """A plan over HTTP names ``fields`` on every board read it makes, so the default's change
    changes nothing it reads: the plan is still the ground truth."""
    scenario = generate(5, 40)
    sb = sandbox_factory(scenario)
    request = incident_request(scenario, sb.base_url, sb.key, sb.token, None)
    result = make_plan(request, created_at=NOW)
    assert_plan_is_truth(result.plan, scenario.truth("a"))
    reads = [r for r in sb.server.request_log if re.fullmatch(r"/1/boards/[^/]+", r.path)]
    assert len(reads) >= len(scenario.scope)
    assert all("fields" in r.query_names for r in reads)
