"""One IMAP connection kept alive for `ImapMailbox`: opened on demand, re-opened after a drop.

A daemon's connection will be cut (server restarts, idle timeouts, NAT expiry) and that must
never cost a referral or stop the service, so every operation runs through `run`: on a
dropped connection it reconnects once and tries again, which is safe because every mailbox
operation is idempotent. Any failure leaves as a `MailboxError` naming only the host and the
kind of error: never a password, a server's free text or a message's content.
"""

from __future__ import annotations

import contextlib
import imaplib
import ssl
import time
from collections.abc import Callable
from typing import TypeVar

from imapclient import IMAPClient
from tenacity import Retrying, retry_if_exception_type, stop_before_delay, wait_exponential

from mailbot.config.mail import ImapMailboxSettings
from mailbot.ingest.imap import wire as imapwire
from mailbot.ingest.imap.wire import Credential
from mailbot.ingest.mailbox import MailboxError

T = TypeVar("T")


class ImapSession:
    """The logged-in connection, its capabilities, and which folder it has selected."""

    def __init__(
        self, settings: ImapMailboxSettings, credential: Credential, context: ssl.SSLContext
    ) -> None:
        self.settings = settings
        self.capabilities: frozenset[str] = frozenset()
        self._credential = credential
        self._context = context
        self._client: IMAPClient | None = None
        self._selected: tuple[str, int] | None = None  # (folder, UIDVALIDITY)
        self.uidnext: int | None = None  # of the folder, when it was last selected

    def run(self, action: str, operation: Callable[[IMAPClient], T]) -> T:
        """`operation` on a live connection; after a drop, once more on a fresh one."""
        for attempt in (1, 2):
            try:
                return operation(self.client())
            except imapwire.TRANSIENT as exc:
                self.drop()
                if attempt == 2:
                    raise self.failure(action, exc) from exc
            except imaplib.IMAP4.error as exc:
                raise self.failure(action, exc) from exc
        raise AssertionError("unreachable")

    def client(self) -> IMAPClient:
        """The connection, opened and logged in first if need be."""
        if self._client is None:
            client = imapwire.connect(self.settings, self._context)
            try:
                self.capabilities = imapwire.login(client, self.settings.username, self._credential)
            except (imaplib.IMAP4.error, MailboxError) as exc:  # MailboxError: no token
                client.shutdown()
                if isinstance(exc, imaplib.IMAP4.abort | MailboxError):
                    raise
                raise MailboxError(f"IMAP {self.settings.host}: authentication failed") from None
            self._client = client
        return self._client

    def reconnect(self, deadline: float) -> None:
        """Connect again, backing off between attempts, giving up at `deadline` (monotonic)."""
        self.drop()
        retrying = Retrying(
            retry=retry_if_exception_type(imapwire.TRANSIENT),
            reraise=True,
            stop=stop_before_delay(max(0.0, deadline - time.monotonic())),
            wait=wait_exponential(multiplier=0.25, max=10),
        )
        try:
            retrying(self.client)
        except imapwire.TRANSIENT as exc:
            raise self.failure("reconnect", exc) from exc

    def selected(self, name: str) -> bool:
        return self._selected is not None and self._selected[0] == name

    def select(self, client: IMAPClient, name: str, *, fresh: bool = False) -> int:
        """Select folder `name` (unless it already is) and return its UIDVALIDITY."""
        if self._selected is not None and self._selected[0] == name and not fresh:
            return self._selected[1]
        self._selected = None
        answer = client.select_folder(name)
        uidvalidity, uidnext = answer.get(b"UIDVALIDITY"), answer.get(b"UIDNEXT")
        if not isinstance(uidvalidity, int):
            raise imaplib.IMAP4.error("SELECT gave no UIDVALIDITY")
        self.uidnext = uidnext if isinstance(uidnext, int) else None
        self._selected = (name, uidvalidity)
        return uidvalidity

    def drop(self) -> None:
        """Forget a connection that failed, without talking to the server."""
        client, self._client, self._selected = self._client, None, None
        if client is not None:
            with contextlib.suppress(OSError):
                client.shutdown()

    def close(self) -> None:
        """LOGOUT; idempotent."""
        client, self._client, self._selected = self._client, None, None
        if client is not None:
            try:
                client.logout()
            except imapwire.FAILURES:
                with contextlib.suppress(OSError):
                    client.shutdown()

    def failure(self, action: str, exc: BaseException) -> MailboxError:
        return MailboxError(
            f"IMAP {self.settings.host}:{self.settings.port}: {action} failed "
            f"({type(exc).__name__})"
        )
