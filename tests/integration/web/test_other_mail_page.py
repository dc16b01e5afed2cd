"""The queue page's "Other mail" section: emails that are not referrals, never answered."""

from __future__ import annotations

import html

from starlette.testclient import TestClient

from mailbot.app import App
from tests.integration.conftest import Send
from tests.integration.test_intake import POLICE, Run
from tests.integration.web.conftest import log_in


def test_the_queue_page_lists_other_mail(
    app: App, send: Send, run: Run, client: TestClient
) -> None:
    """GIVEN a stranger's "Lunch on Friday?" and a partner's email that forgot the form
    WHEN the queue page is read by a logged-in administrator
    THEN its "Other mail" section lists the lunch email by sender domain, subject and
    received time, and not the partner's (answered with advice), nor the stranger's address;
    its own page says no reply was sent."""
    lunch = send("sam.jones@example.com", subject="Lunch on Friday?", body="My treat.")
    forgot = send(POLICE, subject="As discussed", body="Hello")
    cases = run()
    log_in(client)
    page = client.get("/")
    assert page.status_code == 200
    text = html.unescape(page.text)
    other = text[text.index("Other mail") :]
    assert "Lunch on Friday?" in other
    assert "example.com" in other
    assert cases[lunch].reference in other
    received = cases[lunch].received_at.astimezone(app.config.zone)
    assert received.strftime("%a %d %b %Y %H:%M") in other
    assert cases[forgot].reference not in text
    assert "sam.jones" not in text
    assert "My treat" not in text  # never the body
    case_page = client.get(f"/case/{cases[lunch].reference}")
    assert case_page.status_code == 200
    assert "No reply was sent" in html.unescape(case_page.text)


def test_the_queue_page_says_when_there_is_no_other_mail(client: TestClient) -> None:
    """GIVEN nothing processed
    WHEN the queue page is read
    THEN the "Other mail" section says there is none."""
    log_in(client)
    assert "No other mail." in client.get("/").text
