"""Change notifications for the Graph backend: the receiver's handshake and the subscription.

The receiver is a real HTTP server on loopback (Graph reaches it through the organisation's
reverse proxy); Graph's side of the subscription is mocked with respx.
"""

from __future__ import annotations

import json
import urllib.request
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx
import pytest
import respx

from mailbot.ingest.graph.client import GraphClient
from mailbot.ingest.graph.notify import Notifications, Receiver
from mailbot.store import Store
from tests.integration.graph_mocks import (
    DELTA_PATH,
    GRAPH,
    MAILBOX,
    FakeTime,
    mock_login,
    open_mailbox,
    reply,
    settings,
)

OK = 200
ACCEPTED = 202
CREATED = 201
STATE = "a-secret-client-state"
URL = "https://mailbot.example.org/graph/notifications"


def _address(receiver: Receiver) -> tuple[str, int]:
    host, port = receiver.server_address[:2]
    assert isinstance(host, str)  # an AF_INET server's host
    return host, port


def _post(
    receiver_address: tuple[str, int], query: str = "", body: object = None
) -> tuple[int, bytes]:
    host, port = receiver_address
    data = json.dumps(body).encode() if body is not None else b""
    request = urllib.request.Request(
        f"http://{host}:{port}/{query}",
        data=data,
        method="POST",
        headers={"Content-Type": "application/json"},
    )
    with urllib.request.urlopen(request, timeout=5) as response:  # noqa: S310 (loopback)
        return response.status, response.read()


def _notification(client_state: str) -> dict[str, object]:
    return {
        "value": [
            {
                "subscriptionId": "7f105c7d-2dc5-4530-97cd-4e7ae6534c07",
                "subscriptionExpirationDateTime": "2026-11-04T09:00:00.0000000Z",
                "changeType": "created",
                "resource": "Users/marac_referrals/Messages/"
                "AAkALgAAAAAAHYQDEapmEc2byACqAC-EWg0AEVAAAAA9",
                "resourceData": {
                    "@odata.type": "#Microsoft.Graph.Message",
                    "id": "AAkALgAAAAAAHYQDEapmEc2byACqAC-EWg0AEVAAAAA9",
                },
                "clientState": client_state,
                "tenantId": "6f1c2c4e-7b0d-4f8e-9d65-2f3f4a1b8c9d",
            }
        ]
    }


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    server = Receiver("127.0.0.1:0", STATE)
    yield server
    server.close()


def test_the_receiver_answers_graphs_validation_handshake(receiver: Receiver) -> None:
    """GIVEN Graph validating a new subscription's URL
    WHEN it posts a validationToken THEN the token comes back as plain text, 200."""
    status, body = _post(_address(receiver), "?validationToken=Validation%3A+Testing")
    assert (status, body) == (OK, b"Validation: Testing")


def test_only_a_notification_with_our_client_state_wakes_mailbot(receiver: Receiver) -> None:
    """GIVEN notifications, one forged (wrong clientState) and one genuine
    WHEN they arrive THEN both are acknowledged (202), and only the genuine one wakes."""
    address = _address(receiver)
    assert _post(address, body=_notification("forged"))[0] == ACCEPTED
    assert not receiver.arrived.is_set()
    assert _post(address, body=_notification(STATE))[0] == ACCEPTED
    assert receiver.arrived.is_set()


def test_the_subscription_is_made_renewed_and_cancelled(receiver: Receiver) -> None:
    """GIVEN a notification endpoint
    WHEN mailbot keeps notifications alive over three days and then closes
    THEN it subscribes to inbox messages `created` with its clientState, renews before the
    subscription expires, and cancels it at the end."""
    now = [datetime(2026, 11, 2, 9, 0, tzinfo=UTC)]
    with respx.mock() as router:
        made = router.post(f"{GRAPH}/subscriptions").respond(
            CREATED, json={"id": "7f105c7d-2dc5-4530-97cd-4e7ae6534c07", "changeType": "created"}
        )
        renewed = router.patch(f"{GRAPH}/subscriptions/7f105c7d-2dc5-4530-97cd-4e7ae6534c07")
        renewed.respond(OK, json={"id": "7f105c7d-2dc5-4530-97cd-4e7ae6534c07"})
        cancelled = router.delete(f"{GRAPH}/subscriptions/7f105c7d-2dc5-4530-97cd-4e7ae6534c07")
        cancelled.respond(204)
        client = GraphClient(_Token(), httpx.Client(), base_url=GRAPH)
        notifications = Notifications(
            client, settings(notification_url=URL), receiver, now=lambda: now[0]
        )
        notifications.keep_alive()
        notifications.keep_alive()  # fresh: nothing to do
        now[0] += timedelta(days=1, hours=13)
        notifications.keep_alive()
        notifications.close()
    body = json.loads(made.calls[0].request.content)
    assert body == {
        "changeType": "created",
        "notificationUrl": URL,
        "resource": f"users/{MAILBOX}/mailFolders('inbox')/messages",
        "expirationDateTime": "2026-11-04T09:00:00.0000000Z",
        "clientState": STATE,
    }
    assert made.call_count == renewed.call_count == cancelled.call_count == 1
    assert json.loads(renewed.calls[0].request.content) == {
        "expirationDateTime": "2026-11-05T22:00:00.0000000Z"
    }


def test_a_notification_makes_the_mailbox_poll_at_once(tmp_path: Path) -> None:
    """GIVEN a Graph mailbox with a notification endpoint, just polled
    WHEN a notification arrives while it waits THEN the wait ends at once and the next
    delta round is due, without waiting out the poll interval."""
    store = Store(tmp_path / "state.db")
    time = FakeTime()
    with respx.mock(assert_all_called=False) as router:
        mock_login(router)
        router.post(f"{GRAPH}/subscriptions").respond(CREATED, json={"id": "sub-1"})
        router.delete(f"{GRAPH}/subscriptions/sub-1").respond(204)
        router.route(host="127.0.0.1").pass_through()
        delta = router.get(path__regex=DELTA_PATH).respond(json=reply("delta-empty.json"))
        mailbox = open_mailbox(store, time, notification_url=URL, notification_listen="127.0.0.1:0")
        try:
            assert list(mailbox.fetch_new()) == []
            assert mailbox.notifications is None  # nothing listens until mailbot waits
            assert mailbox.wait_for_mail(timeout=0) is False  # listens, subscribes
            notifications = mailbox.notifications
            assert notifications is not None
            subscribed = router.calls[-1].request
            assert subscribed.url.path == "/v1.0/subscriptions"
            state = json.loads(subscribed.content)["clientState"]
            _post(notifications.address, body=_notification(state))
            assert mailbox.wait_for_mail(timeout=30.0) is True
            assert time.slept == []
            assert delta.call_count == 1
            assert list(mailbox.fetch_new()) == []
            assert delta.call_count == 2  # polled at once, not after delta_poll_seconds
        finally:
            mailbox.close()
            store.close()


class _Token:
    def token(self) -> str:
        return "token"

    def invalidate(self) -> None:
        pass
