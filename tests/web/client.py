"""Helpers to act as a signed-in user over HTTP against the live test server."""

from __future__ import annotations

import re
from collections.abc import Iterator
from contextlib import contextmanager

import httpx

from tests.web.seed import PASSWORD

CSRF = re.compile(r'name="csrf_token" value="([^"]+)"')
TIMEOUT = httpx.Timeout(30.0)


def anonymous(base_url: str) -> httpx.Client:
    return httpx.Client(base_url=base_url, follow_redirects=False, timeout=TIMEOUT)


def csrf_of(client: httpx.Client, path: str = "/sign-in") -> str:
    page = client.get(path)
    found = CSRF.search(page.text)
    assert found, f"no CSRF token on {path} ({page.status_code})"
    return found.group(1)


@contextmanager
def signed_in(base_url: str, name: str, password: str = PASSWORD) -> Iterator[httpx.Client]:
    with anonymous(base_url) as client:
        token = csrf_of(client)
        response = client.post(
            "/sign-in", data={"name": name, "password": password, "csrf_token": token}
        )
        assert response.status_code == 303, response.text
        yield client
