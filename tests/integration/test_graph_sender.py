"""`GraphSender` at the HTTP boundary: MIME through sendMail, errors sorted by kind (sizes and
lost replies: test_graph_sending.py)."""

from __future__ import annotations

import base64
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
import respx

from mailbot.dispatch.send.base import PermanentSendError, Sender, TransientSendError, wire_bytes
from mailbot.dispatch.send.graph import GraphSender
from mailbot.ingest.graph.mailbox import GraphMailbox
from mailbot.store import Store
from tests.integration.graph_mocks import (
    MAILBOX,
    USER,
    FakeTime,
    mock_login,
    open_mailbox,
    reply,
)

ACCEPTED = 202
BAD_REQUEST = 400
FORBIDDEN = 403
SERVICE_UNAVAILABLE = 503
IDVA = "idva@bswaid.cjsm.net"
TEAM = "marac_team@west-midlands.pnn.police.uk"
MESSAGE = (
    f"From: {MAILBOX}\nTo: {IDVA}\nSubject: MARAC alert\n"
    "Message-ID: <alert-1@mailbot>\nX-Mailbot-Reference: MARAC-2026-0001\n\n"
    "A case was accepted.\n"
).encode()


@pytest.fixture
def router() -> Iterator[respx.MockRouter]:
    with respx.mock(assert_all_called=False) as mock:
        mock_login(mock)
        # The lookup for an earlier attempt (a lost reply) finds none.
        mock.get(f"{USER}/messages").respond(json={"value": []})
        yield mock


@pytest.fixture
def mailbox(router: respx.MockRouter, tmp_path: Path) -> Iterator[GraphMailbox]:
    store = Store(tmp_path / "state.db")
    opened = open_mailbox(store, FakeTime())
    yield opened
    opened.close()
    store.close()


@pytest.fixture
def sender(mailbox: GraphMailbox) -> GraphSender:
    return GraphSender(mailbox.client, MAILBOX)


def test_a_message_goes_as_base64_mime_through_sendmail(
    sender: GraphSender, router: respx.MockRouter
) -> None:
    """GIVEN a message mailbot built (X-Mailbot-* headers included)
    WHEN it is sent THEN Graph's sendMail gets exactly its wire bytes (CRLF), base64-encoded,
    as text/plain, so it is saved to Sent Items like the team's own mail."""
    send = router.post(f"{USER}/sendMail").respond(ACCEPTED)
    assert isinstance(sender, Sender)
    sender.send(MESSAGE, MAILBOX, [IDVA])
    request = send.calls[0].request
    assert request.headers["Content-Type"] == "text/plain"
    assert request.content == base64.b64encode(wire_bytes(MESSAGE))
    assert b"X-Mailbot-Reference: MARAC-2026-0001\r\n" in base64.b64decode(request.content)


def test_envelope_recipients_missing_from_the_headers_go_as_bcc(
    sender: GraphSender, router: respx.MockRouter
) -> None:
    """GIVEN an envelope naming the team besides the To address
    WHEN sent THEN the team is added as Bcc (Exchange delivers to the headers' addresses)."""
    send = router.post(f"{USER}/sendMail").respond(ACCEPTED)
    sender.send(MESSAGE, MAILBOX, [IDVA, TEAM])
    sent = base64.b64decode(send.calls[0].request.content)
    assert sent == f"Bcc: {TEAM}\r\n".encode() + wire_bytes(MESSAGE)


def test_headers_naming_someone_outside_the_envelope_are_refused(
    sender: GraphSender, router: respx.MockRouter
) -> None:
    """GIVEN a message whose To is not among the envelope recipients
    WHEN sent THEN nothing is posted: Exchange would deliver to that address."""
    send = router.post(f"{USER}/sendMail").respond(ACCEPTED)
    with pytest.raises(PermanentSendError, match="outside the envelope"):
        sender.send(MESSAGE, MAILBOX, [TEAM])
    assert send.call_count == 0


@pytest.mark.parametrize(
    ("status", "body", "kind"),
    [
        (BAD_REQUEST, "invalid-mime.json", PermanentSendError),
        (FORBIDDEN, "access-denied-policy.json", TransientSendError),
        (SERVICE_UNAVAILABLE, "throttled.json", TransientSendError),
    ],
)
def test_refusals_are_sorted_into_permanent_and_transient(
    sender: GraphSender,
    mailbox: GraphMailbox,
    router: respx.MockRouter,
    status: int,
    body: str,
    kind: type[Exception],
) -> None:
    """GIVEN Graph refusing the MIME (400), the app lacking access (403, an administrator
    can fix it) or Graph unavailable past the retry budget (503)
    WHEN sent THEN the first is permanent (a person must look), the others transient."""
    router.post(f"{USER}/sendMail").mock(return_value=httpx.Response(status, json=reply(body)))
    with pytest.raises(kind):
        sender.send(MESSAGE, MAILBOX, [IDVA])
    if status == SERVICE_UNAVAILABLE:
        assert len(mailbox.client.waits) == 5  # bounded: six tries in all
