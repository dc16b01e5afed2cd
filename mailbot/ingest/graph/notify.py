"""Change notifications: Graph tells mailbot at once that mail arrived, where it can reach it.

Polling the delta every few seconds notices new mail within those seconds; a subscription
to the inbox's `created` events makes it immediate. Graph must reach mailbot over public
HTTPS, so this runs only where `notification_url` is configured: the organisation's reverse
proxy terminates TLS there and relays to the small receiver bound to `notification_listen`
(loopback by default). The receiver answers Graph's validation handshake (echoing
`validationToken`) and wakes the mailbox for a notification carrying this process's secret
`clientState`; anything else is acknowledged and ignored. A notification carries no mail
and is never trusted for content: it only makes the next delta round due now, and the delta
poll carries on beside it, because Graph does not promise to deliver every notification.
"""

from __future__ import annotations

import contextlib
import json
import secrets
import threading
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlsplit

from mailbot.config.mail import GraphMailboxSettings
from mailbot.ingest.graph.client import GraphClient, GraphError
from mailbot.ingest.graph.delta import user_path
from mailbot.ingest.mailbox import MailboxError
from mailbot.logs import get_logger

LIFETIME = timedelta(days=2)  # Outlook message subscriptions may last up to 7 days
RENEW_BEFORE = timedelta(hours=12)
MAX_BODY = 1024 * 1024  # a notification batch is a few KB
RETRY_SECONDS = 300.0  # after a failed subscription, poll only for this long, then try again


class Receiver(ThreadingHTTPServer):
    """The endpoint Graph posts to; `arrived` is set by a genuine notification."""

    daemon_threads = True

    def __init__(self, listen: str, client_state: str) -> None:
        host, _, port = listen.rpartition(":")
        self.client_state = client_state
        self.arrived = threading.Event()
        super().__init__((host.strip("[]") or "127.0.0.1", int(port)), _Handler)
        self._thread = threading.Thread(
            target=self.serve_forever, name="graph-notifications", daemon=True
        )
        self._thread.start()

    def close(self) -> None:
        self.shutdown()
        self.server_close()


class _Handler(BaseHTTPRequestHandler):
    server: Receiver

    def do_POST(self) -> None:  # http.server's naming
        token = parse_qs(urlsplit(self.path).query).get("validationToken")
        if token:  # the handshake: echo the token as plain text within 10 seconds
            self._answer(200, token[0].encode(), "text/plain")
            return
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(min(max(length, 0), MAX_BODY))
        try:
            batch = json.loads(body).get("value") or []
        except (ValueError, AttributeError):
            batch = []
        if any(
            isinstance(n, dict)
            and secrets.compare_digest(str(n.get("clientState", "")), self.server.client_state)
            for n in batch
        ):
            self.server.arrived.set()
        self._answer(202, b"", "text/plain")

    def _answer(self, status: int, body: bytes, content_type: str) -> None:
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, format: str, *args: object) -> None:
        """Silent: request lines would go to stderr (the journal) unfiltered."""


class Notifications:
    """One subscription to new inbox messages, kept alive, and the receiver behind it."""

    def __init__(
        self,
        client: GraphClient,
        settings: GraphMailboxSettings,
        receiver: Receiver,
        *,
        now: Callable[[], datetime] = lambda: datetime.now(UTC),
    ) -> None:
        self._client = client
        self._settings = settings
        self._receiver = receiver
        self._now = now
        self._id: str | None = None
        self._expires: datetime | None = None
        self._problem: str | None = None
        self._retry_at = 0.0

    @classmethod
    def start(cls, client: GraphClient, settings: GraphMailboxSettings) -> Notifications:
        return cls(
            client, settings, Receiver(settings.notification_listen, secrets.token_urlsafe(32))
        )

    @property
    def address(self) -> tuple[str, int]:
        host, port = self._receiver.server_address[:2]
        return str(host), int(port)

    def keep_alive(self) -> None:
        """Subscribe, or renew before expiry; on failure note it, poll, and retry later."""
        fresh = self._expires is not None and self._now() < self._expires - RENEW_BEFORE
        if fresh or time.monotonic() < self._retry_at:
            return
        expires = self._now() + LIFETIME
        stamp = expires.strftime("%Y-%m-%dT%H:%M:%S.0000000Z")
        try:
            if self._id is None:
                made = self._client.json(
                    "subscribing to new mail",
                    "POST",
                    "subscriptions",
                    json={
                        "changeType": "created",
                        "notificationUrl": self._settings.notification_url,
                        "resource": f"{user_path(self._settings.address)}/mailFolders('inbox')"
                        "/messages",
                        "expirationDateTime": stamp,
                        "clientState": self._receiver.client_state,
                    },
                )
                self._id = str(made.get("id") or "") or None
            else:
                self._client.json(
                    "renewing the mail subscription",
                    "PATCH",
                    f"subscriptions/{self._id}",
                    json={"expirationDateTime": stamp},
                )
        except MailboxError as exc:  # refused, or signing in failed: polling carries on
            code = exc.code if isinstance(exc, GraphError) else type(exc).__name__
            if isinstance(exc, GraphError) and exc.status == 404:
                self._id = None  # Graph dropped it: subscribe afresh next time
            self._problem = f"{exc} (mailbot polls instead)"
            self._retry_at = time.monotonic() + RETRY_SECONDS
            get_logger().warning("mailbox.subscription", mailbox="graph", error=code)
            return
        self._expires, self._problem = expires, None

    def wait(self, timeout: float) -> bool:
        """True when a notification arrived (within `timeout` seconds)."""
        arrived = self._receiver.arrived.wait(max(0.0, timeout))
        self._receiver.arrived.clear()
        return arrived

    def problems(self) -> list[str]:
        self.keep_alive()
        return [self._problem] if self._problem else []

    def close(self) -> None:
        """Stop the receiver and cancel the subscription."""
        self._receiver.close()
        if self._id is not None:
            with contextlib.suppress(GraphError):  # it expires on its own
                self._client.request(
                    "cancelling the mail subscription", "DELETE", f"subscriptions/{self._id}"
                )
            self._id = None
