"""A reload reaches the web page the daemon serves: one running configuration, not two.

The page runs in a thread of the daemon with its own database connection; before the
`Context` it also had its own copy of the configuration, so after `systemctl reload` it
kept showing (and deciding with) the old one until a restart.
"""

from __future__ import annotations

import socket
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from mailbot.app import App
from mailbot.models import Outcome
from mailbot.service.reload import reload_config
from mailbot.web.server import start_web
from mailbot.web.users import Users
from tests.integration.conftest import Send
from tests.integration.held import Run, chair_review
from tests.integration.web.conftest import FAST_HASHER, PASSWORD, USER, csrf_of


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


def _edit(path: Path, old: str, new: str) -> None:
    text = path.read_text()
    assert old in text, old
    path.write_text(text.replace(old, new))


@pytest.fixture
def page(app: App) -> Iterator[httpx.Client]:
    """The daemon's web page, served as `mailbot run` serves it, with a logged-in client."""
    web = app.config.web.model_copy(update={"port": _free_port()})
    app.ctx.running.swap(app.config.model_copy(update={"web": web}), app.secrets)
    Users(app.store, FAST_HASHER).add(USER, PASSWORD, "test")
    stop = start_web(app)
    try:
        with httpx.Client(base_url=f"http://127.0.0.1:{web.port}") as client:
            login = client.get("/login")
            done = client.post(
                "/login", data={"csrf": csrf_of(login.text), "name": USER, "password": PASSWORD}
            )
            assert done.status_code == 303, done.text
            yield client
    finally:
        stop()


def test_a_reload_reaches_the_page_the_daemon_serves(
    app: App, page: httpx.Client, send: Send, run: Run, workspace: Path
) -> None:
    """GIVEN the daemon serving its web page, a referral held for the Chair, and the file
    changed: every meeting's capacity from 20 to 12, and the team's own rejection text
    WHEN the daemon reloads its configuration
    THEN the page's meetings show the new capacity, and a return made on the page sends the
    referrer the team's new text."""
    held = chair_review(send, run)
    assert held.decision.outcome is Outcome.HELD
    assert "of 20" in page.get("/meetings").text
    texts = workspace / "texts"
    texts.mkdir()
    (texts / "rejection.txt").write_text(
        "Subject: Referral {{ reference }} returned\n\nOur own words: please resend.\n"
    )
    config = workspace / "mailbot.toml"
    _edit(config, "capacity = 20", "capacity = 12")
    _edit(config, '# templates_dir = "templates"', 'templates_dir = "texts"')

    result = reload_config(app, app.runner(), config)

    assert result.rejected is None
    assert {"areas", "service.templates_dir"} <= set(result.applied)
    meetings = page.get("/meetings").text
    assert "of 12" in meetings
    assert "of 20" not in meetings
    case_page = page.get(f"/case/{held.reference}")
    answer = page.post(
        f"/case/{held.reference}/return",
        data={"csrf": csrf_of(case_page.text), "reasons": "threshold_not_met"},
    )
    assert answer.status_code == 303, answer.text
    rejections = [
        m for m in app.ctx.dispatch.outbox.messages(held.reference) if m.kind == "rejection"
    ]
    assert rejections
    assert all(b"Our own words" in m.raw for m in rejections)
