"""Logins on the real web app: what ends a session, lock-outs that last, hashing off the loop.

A session opened with a password must not outlive a change of it, nor a disabled account.
Failed logins lock a name and a client address for a while, in the database, so a restart
does not reset them, and junk names cannot grow the table. Hashing a password (Argon2, slow
by design) runs in a worker thread, so the page answers others while a login is checked.
The client address is set the way a reverse proxy in front sets it (X-Forwarded-For through
uvicorn's proxy-headers middleware, as `mailbot web` runs it).
"""

from __future__ import annotations

import asyncio
import threading
import time
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Literal, cast

import httpx
import pytest
from argon2 import PasswordHasher
from starlette.testclient import TestClient
from starlette.types import ASGIApp
from uvicorn.middleware.proxy_headers import ProxyHeadersMiddleware

from mailbot.app import App, open_app
from mailbot.web import lockout
from mailbot.web.app import create_app
from mailbot.web.users import Users
from tests.conftest import FixedClock
from tests.integration.web.conftest import FAST_HASHER, PASSWORD, USER, csrf_of, log_in

if TYPE_CHECKING:
    from uvicorn._types import ASGI3Application

SEE_OTHER, UNAUTHORIZED, TOO_MANY = 303, 401, 429
NEW_PASSWORD = "a brand new passphrase"


def _client(app: App, hasher: PasswordHasher = FAST_HASHER) -> TestClient:
    """A browser on the web app over `app`'s database, behind a proxy that names the client."""
    # starlette and uvicorn each type an ASGI app with their own (equivalent) protocol types
    starlette = create_app(app.ctx, app.config.web, hasher=hasher)
    web = ProxyHeadersMiddleware(cast("ASGI3Application", starlette), "*")
    return TestClient(cast(ASGIApp, web), base_url="http://127.0.0.1", follow_redirects=False)


@pytest.fixture
def account(app: App) -> App:
    Users(app.store, FAST_HASHER).add(USER, PASSWORD, "test")
    return app


@pytest.fixture
def browsers(account: App) -> Iterator[tuple[TestClient, TestClient]]:
    with _client(account) as first, _client(account) as second:
        yield first, second


def _attempt(client: TestClient, name: str, password: str, address: str = "") -> httpx.Response:
    """One login attempt (from `address`, when given) with a fresh login form."""
    headers = {"x-forwarded-for": address} if address else {}
    page = client.get("/login", headers=headers)
    data = {"csrf": csrf_of(page.text), "name": name, "password": password}
    # starlette types TestClient against httpx2, absent here, so its answers are Any to mypy
    response: httpx.Response = client.post("/login", data=data, headers=headers)
    return response


def _logged_in(client: TestClient) -> bool:
    status: int = client.get("/").status_code
    return status == 200


def _rows(app: App, where: str = "1 = 1") -> int:
    query = f"SELECT COUNT(*) FROM web_login_failures WHERE {where}"  # noqa: S608 - fixed text
    return int(app.store.conn.execute(query).fetchone()[0])


# -- what ends a session -----------------------------------------------------------------------


def test_a_password_change_ends_the_sessions_opened_before_it(
    account: App, browsers: tuple[TestClient, TestClient]
) -> None:
    """GIVEN the user logged in on two computers
    WHEN their password is changed (as `mailbot users password` does)
    THEN both sessions are over; the old password no longer logs in and the new one does."""
    for browser in browsers:
        log_in(browser)
        assert _logged_in(browser)
    Users(account.store, FAST_HASHER).set_password(USER, NEW_PASSWORD, "it")
    for browser in browsers:
        assert browser.get("/").headers["location"] == "/login"
    first, second = browsers
    assert _attempt(first, USER, PASSWORD).status_code == UNAUTHORIZED
    log_in(second, USER, NEW_PASSWORD)
    assert _logged_in(second)
    assert not _logged_in(first)
    changes = [a.detail for a in account.store.audit_log() if a.action == "user_password_set"]
    assert changes == [f"user={USER} sessions_ended=2"]


def test_disabling_a_user_ends_every_session_of_theirs(
    account: App, browsers: tuple[TestClient, TestClient]
) -> None:
    """GIVEN the user logged in on two computers, and a colleague logged in
    WHEN the user's account is disabled
    THEN both of the user's sessions are gone from the database and refused; the colleague's
    session carries on."""
    Users(account.store, FAST_HASHER).add("bob", PASSWORD, "test")
    with _client(account) as colleague:
        log_in(colleague, "bob")
        for browser in browsers:
            log_in(browser)
        Users(account.store, FAST_HASHER).disable(USER, "it")
        for browser in browsers:
            assert browser.get("/").headers["location"] == "/login"
        assert _logged_in(colleague)
    sessions = account.store.conn.execute(
        "SELECT user, COUNT(*) FROM web_sessions GROUP BY user"
    ).fetchall()
    assert sessions == [("bob", 1)]


# -- lock-outs ---------------------------------------------------------------------------------


def test_a_name_lock_out_survives_a_restart(
    account: App, workspace: Path, clock: FixedClock
) -> None:
    """GIVEN five wrong passwords for an account
    WHEN the right one is tried, then the page restarts (a new process on the same database)
    and the right one is tried again, then 15 minutes pass
    THEN the account is locked before and after the restart, and unlocked after the wait."""
    with _client(account) as before:
        for _ in range(lockout.NAME_LIMIT):
            assert _attempt(before, USER, "wrong password").status_code == UNAUTHORIZED
        locked = _attempt(before, USER, PASSWORD)
        assert locked.status_code == TOO_MANY
        assert "for this name" in locked.text
    account.close()
    restarted = open_app(workspace / "mailbot.toml", clock)
    try:
        with _client(restarted) as after:
            assert _attempt(after, USER, PASSWORD).status_code == TOO_MANY
            clock.current += lockout.LOCK_FOR
            assert _attempt(after, USER, PASSWORD).status_code == SEE_OTHER
            assert _logged_in(after)
    finally:
        restarted.close()


def test_an_address_is_locked_whatever_names_it_tries(account: App) -> None:
    """GIVEN one client address trying many different names (a password spray), each wrong
    WHEN it then tries the right password of a real account, and another address does too
    THEN the first address is locked even for the right password, the account itself is not:
    the other address logs in."""
    sprayer, office = "203.0.113.7", "198.51.100.20"
    with _client(account) as client:
        for n in range(lockout.ADDRESS_LIMIT):
            response = _attempt(client, f"guess{n}", "Summer2026!", sprayer)
            assert response.status_code == UNAUTHORIZED
        locked = _attempt(client, USER, PASSWORD, sprayer)
        assert locked.status_code == TOO_MANY
        assert "from this computer" in locked.text
        assert _attempt(client, USER, PASSWORD, office).status_code == SEE_OTHER
    assert _rows(account, "key = 'address:203.0.113.7'") == 1


@pytest.mark.timeout(120)
def test_thousands_of_junk_names_keep_the_table_bounded(
    account: App, clock: FixedClock, monkeypatch: pytest.MonkeyPatch
) -> None:
    """GIVEN an account locked by five wrong passwords, and a table bound of 300 rows
    WHEN 2,000 junk names are tried, each from an address of its own (a botnet), and then,
    16 minutes later, one more
    THEN the table never holds more than the bound (plus the account's row and one
    attempt's), the account stays locked through the flood, no name is stored as typed, and
    after the wait everything aged out is gone."""
    monkeypatch.setattr(lockout, "MAX_ROWS", 300)
    with _client(account) as client:
        for _ in range(lockout.NAME_LIMIT):
            _attempt(client, USER, "wrong password", "192.0.2.1")
        response = client.get("/login")
        for n in range(2000):  # each answer is a login form with the next attempt's token
            address = f"10.{n // 65536}.{n // 256 % 256}.{n % 256}"
            data = {"csrf": csrf_of(response.text), "name": f"junk-{n}-hunter2", "password": "x"}
            response = client.post("/login", data=data, headers={"x-forwarded-for": address})
            assert response.status_code == UNAUTHORIZED
            if n % 250 == 0:
                assert _rows(account) <= 300 + 1 + 2
        assert _rows(account) <= 300 + 1 + 2
        assert _attempt(client, USER, PASSWORD, "192.0.2.99").status_code == TOO_MANY
        stored = account.store.conn.execute("SELECT key FROM web_login_failures").fetchall()
        assert not any("junk" in key or "hunter2" in key for (key,) in stored)
        clock.current += lockout.LOCK_FOR + timedelta(minutes=1)
        _attempt(client, "one-more", "x", "192.0.2.2")
        assert _rows(account) == 2  # that attempt's name and address


# -- hashing off the event loop ----------------------------------------------------------------


class _SlowHasher(PasswordHasher):
    """Argon2 that waits, inside verify, for a second login to be verifying too, then holds
    its thread for `HOLD` seconds: verifications on the event loop would deadlock at the
    barrier (no second login could start) and stop the loop's clock while held."""

    HOLD = 0.5

    def __init__(self) -> None:
        super().__init__(time_cost=1, memory_cost=1024, parallelism=1)
        self.barrier = threading.Barrier(2, timeout=10)
        self.threads: set[int] = set()

    def verify(self, hash: str | bytes, password: str | bytes) -> Literal[True]:
        self.threads.add(threading.get_ident())
        self.barrier.wait()
        time.sleep(self.HOLD)
        return super().verify(hash, password)


@pytest.mark.timeout(60)
def test_two_logins_hash_side_by_side_off_the_event_loop(account: App) -> None:
    """GIVEN two people logging in at once, with a hasher that only finishes when both are
    hashing together and then holds its thread for half a second
    WHEN both POST their login while a ticker counts on the event loop
    THEN both are logged in, they were hashed in two threads other than the loop's, and the
    loop kept ticking while they hashed (it would have stopped dead with hashing on it)."""
    hasher = _SlowHasher()
    web = create_app(account.ctx, account.config.web, hasher=hasher)

    async def scenario() -> tuple[list[int], int, int]:
        loop_thread = threading.get_ident()
        transport = httpx.ASGITransport(app=web)
        clients = [
            httpx.AsyncClient(transport=transport, base_url="http://127.0.0.1") for _ in "ab"
        ]
        forms = []
        for client in clients:
            page = await client.get("/login")
            forms.append({"csrf": csrf_of(page.text), "name": USER, "password": PASSWORD})
        ticks = 0
        done = asyncio.Event()

        async def ticker() -> None:
            nonlocal ticks
            while not done.is_set():
                await asyncio.sleep(0.01)
                ticks += 1

        ticking = asyncio.create_task(ticker())
        responses = await asyncio.gather(
            *(c.post("/login", data=f) for c, f in zip(clients, forms, strict=True))
        )
        done.set()
        await ticking
        for client in clients:
            await client.aclose()
        return [r.status_code for r in responses], ticks, loop_thread

    statuses, ticks, loop_thread = asyncio.run(scenario())
    assert statuses == [SEE_OTHER, SEE_OTHER]
    assert len(hasher.threads) == 2
    assert loop_thread not in hasher.threads
    assert ticks >= 10  # ~50 expected in the half second held; 0 if hashing blocked the loop
