"""Noticing new Exchange mail at once: a streaming subscription read by a background thread.

`wait_for_mail` must return within its timeout (a second, by default), but a streaming
connection blocks for minutes; so one daemon thread keeps the inbox subscription's connection
open for the mailbox's lifetime, re-opening it each time Exchange ends it, and sets an event
that `wait_for_mail` waits on. Mail arriving while the runner is busy is therefore not missed.
The event is set on new mail, and also whenever events may have been lost (a new
subscription, a dropped connection, an expired subscription): the caller then syncs, and the
sync finds whatever those events would have announced. While streaming fails, waits simply
time out and the runner finds mail by syncing on each pass, retrying the stream with back-off.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from contextlib import suppress
from typing import Any

from exchangelib import errors as ews
from exchangelib.properties import CreatedEvent, MovedEvent, NewMailEvent
from exchangelib.services import GetStreamingEvents

from mailbot.ingest.exchange.connect import ExchangeConnection, ExchangeError
from mailbot.ingest.mailbox import MailboxError

STREAM_MINUTES = 10  # one connection's life (EWS allows 1 to 30); the subscription outlives it
RETRY_FIRST_SECONDS = 1.0
RETRY_MAX_SECONDS = 300.0
JOIN_SECONDS = 2.0
HEALTHY_SECONDS = 60.0  # a connection that lasted this long was not failing
EVENT_TYPES = ("NewMailEvent", "CreatedEvent", "MovedEvent")
_EXPIRED = (
    ews.ErrorInvalidSubscription,
    ews.ErrorSubscriptionNotFound,
    ews.ErrorExpiredSubscription,
    ews.ErrorSubscriptionUnsubsribed,
)


class InboxWatcher:
    """Streams inbox events on a thread started by the first `wait`; `close` ends it."""

    def __init__(
        self,
        connection: ExchangeConnection,
        inbox: Callable[[], Any],
        *,
        retry_first: float = RETRY_FIRST_SECONDS,
    ) -> None:
        self._connection = connection
        self._inbox = inbox
        self._retry_first = retry_first
        self._wake = threading.Event()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._service: Any = None
        self._subscription: str | None = None

    def wait(self, timeout: float) -> bool:
        """True when mail may have arrived, False after `timeout` seconds without."""
        if not self._stop.is_set() and (self._thread is None or not self._thread.is_alive()):
            self._thread = threading.Thread(
                target=self._run, name="mailbot-ews-stream", daemon=True
            )
            self._thread.start()
        woke = self._wake.wait(max(0.0, timeout))
        if woke:
            self._wake.clear()  # anything announced until now is found by the caller's sync
        return woke

    def close(self) -> None:
        """Stop streaming and drop the subscription (best effort). Safe to call twice."""
        self._stop.set()
        with suppress(Exception):
            if self._service is not None:
                self._service.stop_streaming()
        thread, self._thread = self._thread, None
        if thread is not None:
            # A blocked read may only notice at the server's next message; the thread is a
            # daemon, so it never holds up the process.
            thread.join(JOIN_SECONDS)
        subscription, self._subscription = self._subscription, None
        if subscription is not None:
            with suppress(MailboxError):
                self._connection.run(
                    "unsubscribing", lambda: self._inbox().unsubscribe(subscription), budget=0.0
                )

    def _run(self) -> None:
        delay = self._retry_first
        while not self._stop.is_set():
            try:
                if self._subscription is None:
                    self._subscription = self._connection.run(
                        "subscribing to inbox events",
                        lambda: self._inbox().subscribe_to_streaming(event_types=EVENT_TYPES),
                    )
                    self._wake.set()  # mail from before the subscription: only a sync finds it
                opened = time.monotonic()
                closed, heard = self._stream(self._subscription)
                if closed or heard or time.monotonic() - opened > HEALTHY_SECONDS:
                    delay = self._retry_first  # it worked for a while: no growing back-off
                if closed:
                    continue  # Exchange ended the connection on schedule: open the next one
                self._wake.set()  # dropped: events may be lost
            except Exception as exc:  # the watcher must outlive any failure; it only retries
                if self._stop.is_set():
                    return
                watching = self._subscription is not None
                if isinstance(exc, ExchangeError) and issubclass(exc.error_type, _EXPIRED):
                    self._subscription = None
                if watching:
                    self._wake.set()  # the stream broke: events may be lost
            if self._stop.wait(delay):
                return
            delay = min(delay * 2, RETRY_MAX_SECONDS)

    def _stream(self, subscription: str) -> tuple[bool, bool]:
        """Read one streaming connection: (closed on schedule, any notification heard)."""
        service = GetStreamingEvents(account=self._connection.account)
        self._service = service
        heard = False

        def read() -> bool:
            nonlocal heard
            inbox_id = self._inbox().id
            for notification in service.call(
                subscription_ids=[subscription], connection_timeout=STREAM_MINUTES
            ):
                if isinstance(notification, Exception):
                    raise notification
                heard = True
                if self._stop.is_set():
                    break
                if any(_is_new_mail(event, inbox_id) for event in notification.events):
                    self._wake.set()
            return bool(service.connection_status == service.CLOSED)

        try:
            closed = self._connection.run("streaming inbox events", read)
        finally:
            self._service = None
            with suppress(Exception):
                service.stop_streaming()
        return closed, heard


def _is_new_mail(event: Any, inbox_id: str | None) -> bool:
    if isinstance(event, (NewMailEvent, CreatedEvent)):
        return True
    # mailbot's own moves out of the inbox are MovedEvents too; only moves in are news.
    return (
        isinstance(event, MovedEvent)
        and event.parent_folder_id is not None
        and event.parent_folder_id.id == inbox_id
    )
