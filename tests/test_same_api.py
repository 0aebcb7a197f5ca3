"""Which API URLs are one API to the journals, plans and undo guards (``same_api``)."""

from __future__ import annotations

import pytest

from trello_restore.api.settings import same_api


@pytest.mark.parametrize(
    ("a", "b"),
    [
        ("https://api.trello.com/1", "https://api.trello.com/1/"),
        ("https://api.trello.com/1", "HTTPS://API.Trello.com/1"),
        ("https://api.trello.com/1", "https://api.trello.com:443/1"),
        ("http://127.0.0.1:8080/1", "http://localhost:8080/1/"),
        ("http://[::1]:8080/1", "http://LOCALHOST:8080/1"),
        ("http://localhost/1", "http://127.0.0.1:80/1"),
    ],
)
def test_one_api_spelled_two_ways(a: str, b: str) -> None:
    assert same_api(a, b)
    assert same_api(b, a)


@pytest.mark.parametrize(
    ("a", "b"),
    [
        ("http://127.0.0.1:8080/1", "http://127.0.0.1:8081/1"),  # another sandbox
        ("http://127.0.0.1:8080/1", "https://127.0.0.1:8080/1"),
        ("https://api.trello.com/1", "https://api.trello.com/2"),
        ("https://api.trello.com/1", "https://api.trello.com:8443/1"),
        ("http://10.0.0.5:8080/1", "http://localhost:8080/1"),  # another machine
        ("https://api.trello.com/1", "http://[::1/1"),  # not a URL: equal only as written
        ("http://127.0.0.1:8080/1", "http://127.0.0.1:8080/1?key=K&token=T"),  # refused
        ("http://127.0.0.1:8080/1", "http://127.0.0.1:8080/1#x"),
    ],
)
def test_other_apis(a: str, b: str) -> None:
    assert not same_api(a, b)
    assert not same_api(b, a)
