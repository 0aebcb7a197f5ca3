"""R88g: survivors of the mutation test of R88a..R88e's changes (13ad9ed..49278c8), pinned:
the date an unsaved last run says to pass is its run's cutoff less ``OVERLAP`` (not the time
the error is said), with "no run … is recorded" where none is; and an answer whose body holds
board text merely shaped like a credential (not the run's own) is still kept in the cache."""

from __future__ import annotations

import errno
from datetime import UTC, datetime
from pathlib import Path

import pytest
import responses

from trello_restore import lastrun
from trello_restore.api import TrelloApi
from trello_restore.errors import UsageError
from trello_restore.lastrun import Scope, record_last_run, state_file

from .test_api_errors import BOARD_URL, api, mocked  # noqa: F401 (the fixtures)

_SCOPE = Scope("https://api.trello.com/1", "a" * 24, ("b" * 24,), board_ids=("b" * 24,))
_WHEN = datetime(2025, 3, 4, 10, 0, tzinfo=UTC)


@pytest.mark.parametrize(
    ("damaged", "says"),
    [
        pytest.param(False, "no run on these boards is recorded, so a --since last-run run "
                     "stops (exit 2)", id="none-recorded"),
        pytest.param(True, "a --since last-run run cannot read what was recorded before "
                     "either, so it stops (exit 2)", id="damaged"),
    ],
)  # fmt: skip
def test_an_unsaved_last_run_gives_its_own_cutoff_to_paste(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, damaged: bool, says: str
) -> None:
    """R88b: the date is the run's ``when`` (its start, as recorded) less ``OVERLAP``, exactly:
    a mutant giving the time the error is said (a long run's end: the actions made during
    the run then never read) survived a one-minute tolerance, as did one dropping what the
    next run does when none is recorded."""
    state = tmp_path / "state"
    if damaged:
        path = state_file(state, _SCOPE)
        path.parent.mkdir(parents=True)
        path.write_text("{ not json")

    def full(*_: object, **__: object) -> None:
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(lastrun, "write_atomic", full)
    with pytest.raises(UsageError) as caught:
        record_last_run(state, _SCOPE, _WHEN)
    message = str(caught.value)
    assert message.endswith(
        f"until then {says}: pass --since 2025-03-04T09:55:00.000Z (where it would start "
        "after this run)"
    ), message


def test_board_text_shaped_like_a_credential_is_still_cached(
    mocked: responses.RequestsMock,  # noqa: F811
    api: TrelloApi,  # noqa: F811
) -> None:
    """R88c's body rule looks for the run's own key and token only: a card's text with an API
    URL's ``?key=``/``token=`` or another token of Trello's shape (board data may hold
    anything) does not keep a listing out of the cache (every run would read it again). A
    mutant checking the body with ``Mask.holds`` survived."""
    desc = (
        "see https://api.trello.com/1/boards/x?key=0123abcd4567&token=ATTAdeadbeef0000 and "
        "ATTA" + "0f" * 32
    )
    mocked.get(BOARD_URL, json={"id": "abc", "desc": desc})
    for _ in range(2):
        assert api.get("boards/abc", max_age=600)["desc"] == desc
    assert (len(mocked.calls), api.cache_hits) == (1, 1)
