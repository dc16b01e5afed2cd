"""Fixtures for the web page tests: the app over the test deployment, an account, a login."""

from __future__ import annotations

import re
from collections.abc import Iterator

import pytest
from argon2 import PasswordHasher
from starlette.applications import Starlette
from starlette.testclient import TestClient

from mailbot.app import App
from mailbot.web.app import create_app
from mailbot.web.users import Users

USER = "alice"
PASSWORD = "correct horse battery"
FAST_HASHER = PasswordHasher(time_cost=1, memory_cost=1024, parallelism=1)
_CSRF = re.compile(r'name="csrf" value="([^"]+)"')


def csrf_of(html: str) -> str:
    found = _CSRF.search(html)
    assert found, "no CSRF field on the page"
    return found.group(1)


@pytest.fixture
def web_app(app: App) -> Starlette:
    Users(app.store, FAST_HASHER).add(USER, PASSWORD, "test")
    return create_app(app.ctx, app.config.web, hasher=FAST_HASHER)


@pytest.fixture
def client(web_app: Starlette) -> Iterator[TestClient]:
    with TestClient(web_app, base_url="http://127.0.0.1", follow_redirects=False) as c:
        yield c


def log_in(client: TestClient, name: str = USER, password: str = PASSWORD) -> str:
    """Log in; return the session's CSRF token (from the page it lands on)."""
    page = client.get("/login")
    response = client.post(
        "/login", data={"csrf": csrf_of(page.text), "name": name, "password": password}
    )
    assert response.status_code == 303, response.text
    return csrf_of(client.get("/").text)
