"""The web page over HTTP (Starlette's TestClient): who may see what, and the page rules.

Personal data only to a logged-in user; every POST needs the session's CSRF token; logins
expire; every response carries the security headers and forbids caching; every request is
audited without its query or form values.
"""

from __future__ import annotations

from datetime import timedelta

import pytest
from starlette.testclient import TestClient

from mailbot.app import App
from mailbot.demo.formwriter import render_form
from mailbot.demo.samples import with_values
from mailbot.models import Outcome
from mailbot.web.guard import SECURITY_HEADERS
from mailbot.web.users import Users
from tests.conftest import FixedClock
from tests.integration.conftest import Send
from tests.integration.held import (
    GMAIL,
    LOCKED_PASSWORD,
    POLICE,
    Run,
    chair_review,
    form,
    locked,
    possible_repeat,
    two_forms,
)
from tests.integration.web.conftest import FAST_HASHER, PASSWORD, USER, csrf_of, log_in

PAGES = ("/", "/meetings", "/audit")
FOUND, SEE_OTHER, UNAUTHORIZED, FORBIDDEN = 302, 303, 401, 403


def _stored_bytes(app: App) -> bytes:
    path = app.config.database_path
    return b"".join(
        p.read_bytes() for p in (path, path.with_name(path.name + "-wal")) if p.exists()
    )


def test_every_page_and_action_needs_a_login(
    app: App, send: Send, run: Run, client: TestClient
) -> None:
    """GIVEN a held case
    WHEN its pages and actions are requested without logging in
    THEN each is sent to the login page, shows nothing of the case, and does nothing."""
    case = chair_review(send, run)
    assert case.form is not None
    surname = case.form.value("victim_surname")
    for path in (*PAGES, f"/case/{case.reference}"):
        response = client.get(path)
        assert (response.status_code, response.headers["location"]) == (SEE_OTHER, "/login")
        assert surname not in response.text
    for action in ("accept", "return", "discard", "retry", "link", "new-person", "list-at"):
        response = client.post(
            f"/case/{case.reference}/{action}", data={"csrf": "x", "criteria": "visible_high_risk"}
        )
        assert (response.status_code, response.headers["location"]) == (SEE_OTHER, "/login")
    assert app.casebook.get(case.reference).decision.outcome is Outcome.HELD  # type: ignore[union-attr]
    assert client.get("/static/style.css").status_code == 200  # the login page needs it


def test_a_wrong_password_is_refused_and_audited(app: App, client: TestClient) -> None:
    """GIVEN an account
    WHEN logging in with a wrong password, an unknown name, then too many wrong passwords
    THEN each is refused; the audit names the account only when it exists, and a name that
    keeps failing is locked even for the right password."""
    page = client.get("/login")
    token = csrf_of(page.text)
    wrong = client.post("/login", data={"csrf": token, "name": USER, "password": "nope"})
    assert wrong.status_code == UNAUTHORIZED
    assert "do not match" in wrong.text
    assert "mailbot_session" not in wrong.headers.get("set-cookie", "")
    client.post(
        "/login", data={"csrf": csrf_of(wrong.text), "name": "Hunter2-typed-here", "password": "x"}
    )
    entries = [(a.actor, a.action) for a in app.store.audit_log() if a.action.startswith("login")]
    assert entries == [(USER, "login_failed"), ("unknown-name", "login_failed")]
    assert "Hunter2" not in str(app.store.audit_log())
    for _ in range(4):
        client.post(
            "/login",
            data={"csrf": csrf_of(client.get("/login").text), "name": USER, "password": "nope"},
        )
    locked_out = client.post(
        "/login",
        data={"csrf": csrf_of(client.get("/login").text), "name": USER, "password": PASSWORD},
    )
    assert locked_out.status_code == 429


def test_posts_without_the_sessions_csrf_token_are_refused(
    app: App, send: Send, run: Run, client: TestClient
) -> None:
    """GIVEN a logged-in administrator and a held case
    WHEN an action is posted with no token, another token, or a login without its cookie
    THEN each is refused with 403 and nothing changes; with the token it is done."""
    case = chair_review(send, run)
    token = log_in(client)
    url = f"/case/{case.reference}/accept"
    for data in (
        {"criteria": "professional_judgement"},
        {"criteria": "professional_judgement", "csrf": token[::-1]},
    ):
        response = client.post(url, data=data)
        assert response.status_code == FORBIDDEN
        assert "nothing was done" in response.text
    assert app.casebook.get(case.reference).decision.outcome is Outcome.HELD  # type: ignore[union-attr]
    assert client.post("/logout", data={}).status_code == FORBIDDEN
    done = client.post(url, data={"criteria": "professional_judgement", "csrf": token})
    assert (done.status_code, done.headers["location"]) == (SEE_OTHER, f"/case/{case.reference}")
    assert (
        "accepted, listed at the Wolverhampton MARAC" in client.get(done.headers["location"]).text
    )
    assert app.casebook.get(case.reference).decision.outcome is Outcome.ACCEPTED  # type: ignore[union-attr]
    fresh = TestClient(client.app, base_url="http://127.0.0.1", follow_redirects=False)
    page = fresh.get("/login")
    fresh.cookies.clear()
    refused = fresh.post(
        "/login", data={"csrf": csrf_of(page.text), "name": USER, "password": PASSWORD}
    )
    assert refused.status_code == FORBIDDEN


def test_sessions_expire_when_idle_and_after_a_working_day(
    app: App, client: TestClient, clock: FixedClock
) -> None:
    """GIVEN a login
    WHEN 30 minutes pass without a request; or requests keep coming for 8 hours
    THEN the session ends either way and the next page is the login page."""
    log_in(client)
    clock.current += timedelta(minutes=29)
    assert client.get("/").status_code == 200
    clock.current += timedelta(minutes=30)
    assert client.get("/").headers.get("location") == "/login"
    log_in(client)
    for _ in range(8 * 3):
        assert client.get("/").status_code == 200
        clock.current += timedelta(minutes=20)
    assert client.get("/").headers.get("location") == "/login"


def test_logging_out_and_disabling_an_account_end_the_session(app: App, client: TestClient) -> None:
    """GIVEN a login
    WHEN the user logs out; or logs in again and their account is disabled
    THEN the session is over either way."""
    token = log_in(client)
    assert client.post("/logout", data={"csrf": token}).headers["location"] == "/login"
    assert client.get("/").headers["location"] == "/login"
    log_in(client)
    Users(app.store, FAST_HASHER).disable(USER, "test")
    assert client.get("/").headers["location"] == "/login"


def test_every_response_has_the_security_headers_and_no_store(
    app: App, send: Send, run: Run, client: TestClient
) -> None:
    """GIVEN pages of every kind (login, redirect, queue, case, static, not found, refused)
    WHEN fetched
    THEN each carries the CSP, frame, referrer and sniffing headers and Cache-Control:
    no-store, so nothing personal is kept by the browser."""
    case = chair_review(send, run)
    responses = [client.get("/login"), client.get("/")]
    log_in(client)
    responses += [
        client.get(p)
        for p in (
            *PAGES,
            f"/case/{case.reference}",
            "/static/style.css",
            "/case/MARAC-2026-99999",
            "/nowhere",
        )
    ]
    responses.append(client.post(f"/case/{case.reference}/accept", data={}))
    responses.append(client.get("/", headers={"host": "evil.example"}))
    assert [r.status_code for r in responses] == [
        200,
        303,
        200,
        200,
        200,
        200,
        200,
        404,
        404,
        403,
        400,
    ]
    for response in responses:
        for name, value in SECURITY_HEADERS:
            assert response.headers.get(name) == value, (response.url, name)
    assert "default-src 'self'" in responses[0].headers["content-security-policy"]
    assert responses[0].headers["cache-control"] == "no-store"
    assert responses[0].headers["x-frame-options"] == "DENY"


def test_every_request_is_audited_without_its_values(
    app: App, send: Send, run: Run, client: TestClient
) -> None:
    """GIVEN a logged-in administrator
    WHEN they filter the queue and type a wrong password for a locked case
    THEN each request is in the audit log with who, method, path and status, but neither
    the query values nor the password is anywhere in the database."""
    case = locked(send, run)
    token = log_in(client)
    client.get("/?reason=cannot_decrypt&area=Secretville")
    client.post(
        f"/case/{case.reference}/retry", data={"csrf": token, "password": "Sekrit-Guess-42"}
    )
    views = [
        (a.actor, a.reference, a.detail) for a in app.store.audit_log() if a.action == "web_request"
    ]
    assert ("anonymous", None, "GET /login 200") in views
    assert (USER, None, "GET / 200") in views
    assert (USER, case.reference, f"POST /case/{case.reference}/retry 303") in views
    stored = _stored_bytes(app)
    for secret in (b"Secretville", b"Sekrit-Guess-42", PASSWORD.encode()):
        assert secret not in stored


def test_the_queue_filters_and_the_case_page_shows_the_evidence(
    app: App, send: Send, run: Run, client: TestClient
) -> None:
    """GIVEN a locked case, a chair-review case and a possible repeat
    WHEN the queue is filtered and the possible repeat opened
    THEN the queue says why each is held in words, the filter keeps only matching rows, and
    the case page shows the earlier case beside this one with the differing name marked."""
    closed, chair = locked(send, run), chair_review(send, run)
    near, earlier = possible_repeat(app, send, run)
    log_in(client)
    page = client.get("/").text
    for case in (closed, chair, near):
        assert case.reference in page
    assert "none of the agreed passwords opens it" in page
    only = client.get("/?reason=possible_repeat").text
    assert near.reference in only
    assert closed.reference not in only
    assert chair.reference in client.get("/?area=Wolverhampton").text
    assert near.reference not in client.get("/?area=Wolverhampton").text
    item = client.get(f"/case/{near.reference}").text
    assert f"Earlier case {earlier}" in item
    assert "Somebodyelse" in item
    assert 'class="differs"' in item
    assert f"Same person as {earlier}: a repeat" in item
    assert "Not the same person" in item


def test_a_returned_case_shows_its_missing_fields_highlighted(
    app: App, send: Send, run: Run, client: TestClient
) -> None:
    """GIVEN a referral returned for a missing date of birth
    WHEN its page is opened
    THEN that field's row is marked missing (in words, not only in colour)."""
    message_id = send(POLICE, render_form(with_values(form(seed=61), victim_dob="")))
    case = run()[message_id]
    log_in(client)
    item = client.get(f"/case/{case.reference}").text
    assert '<tr class="missing"><th scope="row">Victim date of birth</th>' in item


@pytest.mark.parametrize("path", ["/meetings", "/audit"])
def test_meetings_and_audit_pages(
    app: App, send: Send, run: Run, client: TestClient, path: str
) -> None:
    """GIVEN a case accepted from the queue through the web page
    WHEN the meetings and audit pages are opened
    THEN the meeting lists the case and the audit log shows who accepted it."""
    case = chair_review(send, run)
    token = log_in(client)
    client.post(
        f"/case/{case.reference}/accept", data={"csrf": token, "criteria": "visible_high_risk"}
    )
    page = client.get(path).text
    assert case.reference in page
    if path == "/meetings":
        assert "Wed 11 Nov 2026 10:00</td>\n    <td>Wolverhampton</td>" in page
        only = client.get("/meetings?listed=yes").text
        assert only.count("<tr>") + only.count('<tr class="quiet">') == 2  # header + one
    else:
        assert f"<td>{USER}</td><td>accept</td>" in page
        assert "web_request" not in page
        assert "web request" in client.get("/audit?page_views=yes").text


def test_a_password_entered_on_the_page_opens_the_case(
    app: App, send: Send, run: Run, client: TestClient
) -> None:
    """GIVEN a locked case
    WHEN a wrong and then the right password are entered on its page
    THEN the first is refused in words; the second opens it, and the page shows it accepted
    with the confirmation to the referrer in its messages."""
    case = locked(send, run)
    token = log_in(client)
    wrong = client.post(f"/case/{case.reference}/retry", data={"csrf": token, "password": "nope"})
    assert "does not open the document" in client.get(wrong.headers["location"]).text
    client.post(f"/case/{case.reference}/retry", data={"csrf": token, "password": LOCKED_PASSWORD})
    page = client.get(f"/case/{case.reference}").text
    assert "accepted, listed at the Wolverhampton MARAC on Wednesday 11 November 2026" in page
    assert "<td>confirmation</td><td>tenancy@wolverhamptonhomes.org.uk</td>" in page


def test_return_discard_and_list_at_through_the_page(
    app: App, send: Send, run: Run, client: TestClient
) -> None:
    """GIVEN held cases and a logged-in administrator
    WHEN a note is sent without ticking "no personal details", a discard is not confirmed,
    and then both are done properly, and an accepted case is listed at another meeting
    THEN the unconfirmed ones are refused in words, the others done and reported."""
    to_return = chair_review(send, run, referrer_email=GMAIL)
    two = two_forms(send, run)
    token = log_in(client)
    page = client.get(f"/case/{to_return.reference}").text
    assert "This note is sent to the referrer." in page
    assert f"left out</strong> of the reply to {GMAIL}" in page

    def post(reference: str, action: str, **data: str) -> str:
        response = client.post(f"/case/{reference}/{action}", data={"csrf": token, **data})
        page: str = client.get(response.headers["location"]).text
        return page

    unticked = post(to_return.reference, "return", reasons="threshold_not_met", note="Ask again.")
    assert "Not done: tick the box to confirm the note holds no personal details" in unticked
    done = post(
        to_return.reference,
        "return",
        reasons="threshold_not_met",
        note="Ask again.",
        note_checked="yes",
        extra_field="victim_postcode",
        extra_kind="invalid_field",
    )
    assert f"{to_return.reference} returned." in done
    assert app.casebook.get(to_return.reference).decision.reasons == (  # type: ignore[union-attr]
        "threshold_not_met",
        "invalid_field:victim_postcode",
    )
    assert "Not done: tick the box to confirm it is not a referral" in post(
        two.reference, "discard", reason="spam"
    )
    assert "discarded as not a referral. No reply was sent." in post(
        two.reference, "discard", reason="spam", confirm="yes"
    )
    accepted = chair_review(send, run, incident_date="29/10/2026")
    post(accepted.reference, "accept", criteria="professional_judgement")
    moved = post(accepted.reference, "list-at", date="2026-11-04")
    assert "listed at the Wolverhampton MARAC on Wednesday 04 November 2026 10:00" in moved
    assert str(app.casebook.get(accepted.reference).meeting_date) == "2026-11-04"  # type: ignore[union-attr]


def test_a_joined_referral_names_its_case_and_the_meeting_lists_the_victim_once(
    app: App, send: Send, run: Run, client: TestClient
) -> None:
    """GIVEN a victim referred by the police, then by the NHS trust in the same week
    WHEN a coordinator opens the second referral and the meetings page
    THEN the referral's page names the case it joined, and the meeting shows one case
    naming both agencies."""
    first_form = form(93, area="Wolverhampton")
    first_id = send(POLICE, render_form(first_form))
    second_id = send(
        "safeguarding@nhs.net",
        render_form(
            with_values(
                first_form,
                referrer_email="safeguarding@nhs.net",
                referrer_agency="The Royal Wolverhampton NHS Trust",
            )
        ),
    )
    cases = run()
    first, second = cases[first_id], cases[second_id]
    assert second.joined == first.reference
    log_in(client)
    page = client.get(f"/case/{second.reference}").text
    assert "Part of case" in page
    assert f'href="/case/{first.reference}"' in page
    meetings = client.get("/meetings").text
    assert meetings.count(f"/case/{first.reference}") == 1
    assert second.reference not in meetings
    assert "West Midlands Police, The Royal Wolverhampton NHS Trust" in meetings
