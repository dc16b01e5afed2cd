"""Signing in, throttling and errors of the Graph backend, and what `mailbot check` reports."""

from __future__ import annotations

import base64
from collections.abc import Iterator
from pathlib import Path

import httpx
import pydantic
import pytest
import respx
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

from mailbot.errors import ConfigError
from mailbot.ingest.graph.auth import GraphAuthError
from mailbot.ingest.graph.client import GraphError
from mailbot.ingest.graph.mailbox import GraphMailbox
from mailbot.store import Store
from tests.integration.graph_mocks import (
    DELTA_PATH,
    USER,
    FakeTime,
    mock_login,
    open_mailbox,
    reply,
    settings,
)

TOO_MANY_REQUESTS = 429
SERVICE_UNAVAILABLE = 503
UNAUTHORIZED = 401
FORBIDDEN = 403
NOT_FOUND = 404


@pytest.fixture
def router() -> Iterator[respx.MockRouter]:
    with respx.mock(assert_all_called=False) as mock:
        yield mock


@pytest.fixture
def store(tmp_path: Path) -> Iterator[Store]:
    database = Store(tmp_path / "state.db")
    yield database
    database.close()


@pytest.fixture
def time() -> FakeTime:
    return FakeTime()


@pytest.fixture
def mailbox(router: respx.MockRouter, store: Store, time: FakeTime) -> Iterator[GraphMailbox]:
    opened = open_mailbox(store, time)
    yield opened
    opened.close()


def _throttled(seconds: int | None = None, status: int = TOO_MANY_REQUESTS) -> httpx.Response:
    headers = {"Retry-After": str(seconds)} if seconds is not None else {}
    return httpx.Response(status, json=reply("throttled.json"), headers=headers)


def test_a_429_is_retried_after_exactly_the_wait_graph_asked_for(
    mailbox: GraphMailbox, router: respx.MockRouter, time: FakeTime
) -> None:
    """GIVEN Graph throttling the first two delta requests (429, Retry-After 7 then 3)
    WHEN the mail is fetched THEN mailbot waits 7 s, then 3 s, then succeeds."""
    mock_login(router)
    delta = router.get(path__regex=DELTA_PATH).mock(
        side_effect=[
            _throttled(7),
            _throttled(3),
            httpx.Response(200, json=reply("delta-empty.json")),
        ]
    )
    assert list(mailbox.fetch_new()) == []
    assert mailbox.client.waits == [7.0, 3.0]
    assert time.slept == [7.0, 3.0]
    assert delta.call_count == 3


def test_a_fractional_retry_after_is_honoured(
    mailbox: GraphMailbox, router: respx.MockRouter, time: FakeTime
) -> None:
    """GIVEN Graph throttling with Retry-After "2.128" (the value in Graph's own throttling
    documentation sample)
    WHEN the mail is fetched THEN mailbot waits exactly 2.128 s before asking again, not the
    exponential back-off it uses when no wait is given."""
    mock_login(router)
    delta = router.get(path__regex=DELTA_PATH).mock(
        side_effect=[
            httpx.Response(
                TOO_MANY_REQUESTS, json=reply("throttled.json"), headers={"Retry-After": "2.128"}
            ),
            httpx.Response(200, json=reply("delta-empty.json")),
        ]
    )
    assert list(mailbox.fetch_new()) == []
    assert time.slept == [2.128]
    assert delta.call_count == 2


def test_503_without_retry_after_backs_off_exponentially(
    mailbox: GraphMailbox, router: respx.MockRouter
) -> None:
    """GIVEN Graph unavailable (503, 504) with no Retry-After WHEN the mail is fetched
    THEN mailbot backs off 1 s, 2 s and succeeds on the third try."""
    mock_login(router)
    router.get(path__regex=DELTA_PATH).mock(
        side_effect=[
            _throttled(status=SERVICE_UNAVAILABLE),
            _throttled(status=504),
            httpx.Response(200, json=reply("delta-empty.json")),
        ]
    )
    assert list(mailbox.fetch_new()) == []
    assert mailbox.client.waits == [1.0, 2.0]


def test_throttling_beyond_the_budget_gives_up_and_holds_off(
    mailbox: GraphMailbox, router: respx.MockRouter, time: FakeTime
) -> None:
    """GIVEN Graph asking for a 10-minute wait (beyond the 120 s retry budget)
    WHEN the mail is fetched THEN it fails at once without sleeping, and nothing is sent to
    Graph again until those 10 minutes have passed (the runner backs off meanwhile)."""
    mock_login(router)
    delta = router.get(path__regex=DELTA_PATH).mock(
        side_effect=[_throttled(600), httpx.Response(200, json=reply("delta-empty.json"))]
    )
    with pytest.raises(GraphError, match="throttling") as raised:
        list(mailbox.fetch_new())
    assert raised.value.status == TOO_MANY_REQUESTS
    assert time.slept == []
    time.now += 300
    with pytest.raises(GraphError, match="backing off"):
        list(mailbox.fetch_new())
    assert delta.call_count == 1
    time.now += 301
    assert list(mailbox.fetch_new()) == []


def test_the_token_is_cached_and_refreshed_once_on_a_401(
    mailbox: GraphMailbox, router: respx.MockRouter
) -> None:
    """GIVEN a token Graph refuses once (401, revoked early)
    WHEN the mail is fetched twice THEN MSAL's cached token served the second round, and the
    401 made mailbot fetch one fresh token and repeat the request, once."""
    tokens = mock_login(router)
    router.get(path__regex=DELTA_PATH).mock(
        side_effect=[
            httpx.Response(200, json=reply("delta-empty.json")),
            httpx.Response(
                UNAUTHORIZED,
                json={
                    "error": {
                        "code": "InvalidAuthenticationToken",
                        "message": "Access token has expired.",
                    }
                },
            ),
            httpx.Response(200, json=reply("delta-empty.json")),
        ]
    )
    assert list(mailbox.fetch_new()) == []
    assert tokens.call_count == 1
    mailbox._last_poll = None
    assert list(mailbox.fetch_new()) == []
    assert tokens.call_count == 2
    body = tokens.calls[0].request.content.decode()
    assert "grant_type=client_credentials" in body
    assert "scope=https%3A%2F%2Fgraph.microsoft.com%2F.default" in body


def test_a_refused_token_is_reported_by_code_only(
    mailbox: GraphMailbox, router: respx.MockRouter
) -> None:
    """GIVEN Entra refusing the client secret (invalid_client, AADSTS7000215)
    WHEN mailbot checks the mailbox or fetches mail THEN the problem names the error and
    AADSTS code and what to fix, and repeats none of Entra's text (ids, trace ids)."""
    mock_login(router, "token-invalid-client.json", status=UNAUTHORIZED)
    [problem] = mailbox.check()
    assert "invalid_client" in problem
    assert "AADSTS7000215" in problem
    assert "secret or certificate" in problem
    assert "Trace ID" not in problem
    assert "0b7e5c1a" not in problem
    with pytest.raises(GraphAuthError):
        list(mailbox.fetch_new())


@pytest.mark.parametrize(
    ("status", "body", "words"),
    [
        (FORBIDDEN, "access-denied-policy.json", "application access policy"),
        (NOT_FOUND, "invalid-user.json", "no such mailbox"),
    ],
)
def test_check_explains_access_problems(
    mailbox: GraphMailbox, router: respx.MockRouter, status: int, body: str, words: str
) -> None:
    """GIVEN an access policy that leaves out this mailbox (403), or no such mailbox (404)
    WHEN mailbot checks the mailbox THEN the one problem says which, without Graph's text."""
    mock_login(router)
    router.get(f"{USER}/mailFolders/inbox").respond(status, json=reply(body))
    [problem] = mailbox.check()
    assert words in problem
    assert f"HTTP {status}" in problem
    assert "marac_referrals" not in problem  # Graph's message quoted the address


def test_check_passes_when_everything_is_in_place(
    mailbox: GraphMailbox, router: respx.MockRouter
) -> None:
    """GIVEN a working app registration WHEN checked THEN nothing is wrong, even with the
    Exceptions folder still missing (made on first use), and nothing was created."""
    mock_login(router)
    router.get(f"{USER}/mailFolders/inbox").respond(json=reply("inbox.json"))
    router.get(f"{USER}/mailFolders").mock(
        side_effect=[
            httpx.Response(200, json=reply("mail-folders-none.json")),
            httpx.Response(200, json=reply("mail-folders-processed.json")),
        ]
    )
    assert mailbox.check() == []
    assert all(
        call.request.method == "GET"
        for call in router.calls
        if call.request.url.host == "graph.microsoft.com"
    )


def test_check_notices_a_missing_mail_send_permission(
    mailbox: GraphMailbox, router: respx.MockRouter
) -> None:
    """GIVEN a token whose roles lack Mail.Send WHEN checked (mail goes out through Graph)
    THEN that is the problem reported; it is not one when another sender is used."""
    mock_login(router, "token-read-only.json")
    router.get(f"{USER}/mailFolders/inbox").respond(json=reply("inbox.json"))
    router.get(f"{USER}/mailFolders").respond(json=reply("mail-folders-processed.json"))
    [problem] = mailbox.check()
    assert "Mail.Send" in problem
    assert mailbox.check(sending=False) == []


def test_check_trusts_rbac_for_applications(
    mailbox: GraphMailbox, router: respx.MockRouter
) -> None:
    """GIVEN a token with no application roles at all (permissions granted through Exchange
    RBAC for Applications instead of Entra) WHEN checked THEN no permission is reported
    missing: the inbox could be read, and only use shows whether sending is allowed."""
    tokens = mock_login(router)
    tokens.respond(
        json={
            **reply("token.json"),
            "access_token": "eyJhbGciOiJSUzI1NiJ9."
            + base64.urlsafe_b64encode(b'{"aud":"graph"}').decode()
            + ".c2ln",
        }
    )
    router.get(f"{USER}/mailFolders/inbox").respond(json=reply("inbox.json"))
    router.get(f"{USER}/mailFolders").respond(json=reply("mail-folders-processed.json"))
    assert mailbox.check() == []


def test_a_certificate_signs_the_token_request(
    router: respx.MockRouter, store: Store, time: FakeTime, tmp_path: Path
) -> None:
    """GIVEN a certificate credential (PEM private key and thumbprint) instead of a secret
    WHEN a token is needed THEN MSAL sends a signed client assertion, and no secret."""
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    pem = tmp_path / "mailbot.pem"
    pem.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    tokens = mock_login(router)
    router.get(path__regex=DELTA_PATH).respond(json=reply("delta-empty.json"))
    with GraphMailbox(
        settings(certificate_path=pem, certificate_thumbprint="AB:CD:EF:01"),
        {},
        store,
        sleep=time.sleep,
        clock=time.clock,
    ) as mailbox:
        assert list(mailbox.fetch_new()) == []
    body = tokens.calls[0].request.content.decode()
    assert "client_assertion_type=urn%3Aietf%3Aparams%3Aoauth%3Aclient-assertion-type" in body
    assert "client_secret" not in body


def test_settings_and_secrets_are_checked_eagerly(store: Store, tmp_path: Path) -> None:
    """GIVEN incomplete credentials WHEN the mailbox is configured or opened
    THEN a typed error names what is missing, before any request."""
    with pytest.raises(pydantic.ValidationError, match="go together"):
        settings(certificate_path=tmp_path / "x.pem")
    with pytest.raises(pydantic.ValidationError, match="https://"):
        settings(graph_url="http://graph.example.org/v1.0")
    with pytest.raises(ConfigError, match="graph_client_secret"):
        GraphMailbox(settings(), {}, store)
    missing = settings(certificate_path=tmp_path / "x.pem", certificate_thumbprint="AB")
    with pytest.raises(ConfigError, match="certificate_path"):
        GraphMailbox(missing, {}, store)


def test_a_link_outside_graph_is_not_followed(
    mailbox: GraphMailbox, router: respx.MockRouter
) -> None:
    """GIVEN a delta page whose next link points at another host
    WHEN the mail is fetched THEN mailbot refuses to send its token there."""
    mock_login(router)
    router.get(path__regex=DELTA_PATH).respond(
        json={
            **reply("delta-page-1.json"),
            "@odata.nextLink": "https://graph.example.org/v1.0/delta?$skiptoken=x",
        }
    )
    with pytest.raises(GraphError, match="outside Microsoft Graph"):
        list(mailbox.fetch_new())
    assert {c.request.url.host for c in router.calls} == {
        "login.microsoftonline.com",
        "graph.microsoft.com",
    }
