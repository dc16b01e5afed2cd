"""The web page in a real browser: Debian's headless Chromium, driven by Playwright.

What an administrator does most: log in, open a referral waiting for its password, type the
password the referrer phoned through, and see the case accepted with its confirmation in the
outbox. The page is served by uvicorn on 127.0.0.1 in a thread of this process, through
`start_web` (as the daemon serves it). Screenshots of each page are always taken (so a page
that cannot render fails here) and written to docs/screenshots/ for the README only when
MAILBOT_SCREENSHOTS=1, so an ordinary test run leaves the working tree alone. Skipped when
/usr/bin/chromium is absent, unless MAILBOT_REQUIRE_BROWSER=1
(CI), where a missing browser is a failure.
"""

from __future__ import annotations

import os
import socket
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from mailbot.app import App
from mailbot.models import Outcome
from mailbot.web.server import start_web
from mailbot.web.users import Users
from tests.conftest import ROOT
from tests.integration.conftest import Send
from tests.integration.held import (
    HOMES,
    LOCKED_PASSWORD,
    Run,
    chair_review,
    form,
    locked,
    outbox,
    possible_repeat,
)
from tests.integration.web.conftest import PASSWORD, USER

CHROMIUM = Path("/usr/bin/chromium")
REQUIRED = os.environ.get("MAILBOT_REQUIRE_BROWSER") == "1"
SCREENSHOTS = ROOT / "docs" / "screenshots"
ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]

pytestmark = pytest.mark.skipif(
    not CHROMIUM.exists() and not REQUIRED,
    reason="Debian's chromium is not installed (/usr/bin/chromium)",
)


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture
def served(app: App) -> Iterator[str]:
    """The web page for `app`'s database, on a free loopback port; yields its base URL."""
    web = app.config.web.model_copy(update={"port": _free_port()})
    app.ctx.running.swap(app.config.model_copy(update={"web": web}), app.secrets)
    Users(app.store).add(USER, PASSWORD, "test")
    stop = start_web(app)
    try:
        yield f"http://127.0.0.1:{web.port}"
    finally:
        stop()


@pytest.fixture
def browser() -> Iterator[Any]:
    assert CHROMIUM.exists(), "MAILBOT_REQUIRE_BROWSER=1 but /usr/bin/chromium is missing"
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        chromium = p.chromium.launch(executable_path=str(CHROMIUM), args=ARGS)
        try:
            yield chromium
        finally:
            chromium.close()


def _shot(page: Any, name: str, *, full_page: bool = True) -> None:
    image = page.screenshot(full_page=full_page)
    assert image.startswith(b"\x89PNG")
    if os.environ.get("MAILBOT_SCREENSHOTS") == "1":
        SCREENSHOTS.mkdir(parents=True, exist_ok=True)
        (SCREENSHOTS / f"{name}.png").write_bytes(image)


def test_an_administrator_opens_a_locked_referral_with_its_password(
    app: App, send: Send, run: Run, served: str, browser: Any
) -> None:
    """GIVEN the shared sample from Wolverhampton Homes held as cannot_decrypt (with a
    chair-review case and a possible repeat beside it in the queue)
    WHEN an administrator logs in, opens it and enters the password Sparrow-Lane-77
    THEN the page says it is accepted and listed, the case is accepted in the database and
    the referrer's confirmation is in the outbox."""
    from playwright.sync_api import expect

    closed = locked(send, run)
    chair_review(send, run)
    near, _ = possible_repeat(app, send, run)
    listed = send(HOMES, _accepted_form())
    run()
    assert app.casebook.cases()[-1].message_id == listed

    page = browser.new_page(viewport={"width": 1280, "height": 900})
    page.goto(served + "/")
    expect(page).to_have_url(served + "/login")
    _shot(page, "login")
    page.fill("#name", USER)
    page.fill("#password", PASSWORD)
    page.get_by_role("button", name="Log in").click()
    expect(page.get_by_role("heading", name="Exceptions queue")).to_be_visible()
    expect(page.get_by_role("link", name=closed.reference)).to_be_visible()
    _shot(page, "queue")

    page.get_by_role("link", name=near.reference).click()
    expect(page.get_by_role("heading", name="Earlier cases side by side")).to_be_visible()
    _shot(page, "item-possible-repeat")
    page.goto(served + "/")
    page.get_by_role("link", name=closed.reference).click()
    expect(page.get_by_role("heading", name="Enter the password the referrer gave")).to_be_visible()
    _shot(page, "item")
    page.fill("#password", LOCKED_PASSWORD)
    page.get_by_role("button", name="Open and decide").click()

    expect(page.get_by_role("status")).to_contain_text(
        f"{closed.reference} accepted, listed at the Wolverhampton MARAC"
    )
    messages = page.locator("table.messages")
    expect(messages).to_contain_text("confirmation")
    expect(messages).to_contain_text(HOMES)
    case = app.casebook.get(closed.reference)
    assert case is not None
    assert case.decision.outcome is Outcome.ACCEPTED
    assert ("confirmation", HOMES) in outbox(app, closed.reference)
    _shot(page, "item-accepted", full_page=False)

    page.get_by_role("link", name="Meetings").click()
    expect(page.get_by_role("heading", name="Upcoming meetings")).to_be_visible()
    expect(page.get_by_role("link", name=closed.reference)).to_be_visible()
    _shot(page, "meetings")
    page.get_by_role("link", name="Audit log").click()
    expect(page.locator("table.audit")).to_contain_text("password supplied")
    _shot(page, "audit")
    page.close()


def _accepted_form() -> bytes:
    from mailbot.demo.formwriter import render_form

    return render_form(form(seed=71, area="Wolverhampton", referrer_email=HOMES))
