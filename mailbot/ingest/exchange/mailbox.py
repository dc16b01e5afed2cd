"""A `Mailbox` on Microsoft Exchange through EWS: the MARAC team's referrals mailbox.

New mail is found with a persisted SyncFolderItems state (so a restart catches up on
everything that arrived meanwhile, and nothing is offered before its turn), noticed at once
through a streaming subscription, and filed by moving it into Processed or Exceptions, never
deleting it. The moving parts live beside this file: `exchange_connect` (login, retries,
errors), `exchange_sync` (finding new mail), `exchange_folders` (folders, idempotent moves)
and `exchange_stream` (the streaming watcher). `ExchangeSender` sends through the same login,
so replies appear in the mailbox's Sent Items like the team's own mail.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from email.parser import BytesHeaderParser
from email.utils import getaddresses
from types import TracebackType

from exchangelib import Account, Message
from exchangelib import errors as ews

from mailbot.dispatch.send.base import (
    PermanentSendError,
    TransientSendError,
    check_envelope,
    wire_bytes,
)
from mailbot.ingest.exchange.connect import ExchangeConnection, ExchangeError
from mailbot.ingest.exchange.folders import MailFolders, Mover
from mailbot.ingest.exchange.stream import InboxWatcher
from mailbot.ingest.exchange.sync import (
    NewItem,
    fetch_headers,
    fetch_message,
    in_arrival_order,
    read_changes,
)
from mailbot.ingest.mailbox import MailboxError
from mailbot.ingest.mime.oversized import oversized
from mailbot.logs import get_logger
from mailbot.models import DocumentLimits, Folder, MailboxMessage
from mailbot.settings import ExchangeMailboxSettings
from mailbot.store import Store

_DONE_FOLDERS = frozenset({Folder.PROCESSED, Folder.EXCEPTIONS})
# Sending these again will fail the same way: a person must look at the message.
_PERMANENT_SEND = (ews.ErrorMessageSizeExceeded, ews.ErrorSendAsDenied,
                   ews.ErrorInvalidRecipients, ews.ErrorMissingRecipients,
                   ews.ErrorMimeContentInvalid, ews.ErrorMimeContentInvalidBase64String,
                   ews.ErrorMimeContentConversionFailed, ews.ErrorUnsupportedMimeConversion)


class ExchangeMailbox:
    """The mailbox `settings.address`, logged in with `secrets` (by their `*_credential`
    names); small state (the sync state, a move in progress) is kept in `state`."""

    def __init__(self, settings: ExchangeMailboxSettings, secrets: Mapping[str, str],
                 state: Store, *, account_factory: Callable[..., Account] | None = None,
                 sleep: Callable[[float], None] = time.sleep,
                 max_bytes: int = DocumentLimits().max_email_bytes) -> None:
        self.settings = settings
        self._max_bytes = max_bytes
        self.connection = ExchangeConnection(settings, secrets, account_factory=account_factory,
                                             sleep=sleep)
        self._state = state
        self._sync_key = f"exchange:{settings.address}:inbox:sync_state"
        self._folders = MailFolders(self.connection, settings.folders)
        self._mover = Mover(self.connection, self._folders, state, settings.address)
        self._watcher = InboxWatcher(self.connection, self._folders.inbox)

    def __enter__(self) -> ExchangeMailbox:
        return self

    def __exit__(self, kind: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        self.close()

    def fetch_new(self) -> Iterator[MailboxMessage]:
        """Everything that arrived since the last completed sync, oldest first."""
        stored = self._state.state_get(self._sync_key)
        pages = read_changes(self.connection, self._folders.inbox, stored)

        def save(sync_state: str) -> None:
            if sync_state != stored:
                self._state.state_set(self._sync_key, sync_state)

        yield from in_arrival_order(pages, self._fetch, save)

    def mark_done(self, ref: str, folder: Folder) -> str:
        if folder not in _DONE_FOLDERS:
            raise ValueError(f"mark_done moves to Processed or Exceptions, not {folder.value}")
        return self.refile(ref, Folder.INBOX, folder)

    def refile(self, ref: str, source: Folder, target: Folder) -> str:
        """Move the message; if it was moved already (a crash after the move), find it."""
        if source is target:
            return ref
        return self._mover.move(ref, source, target)

    def wait_for_mail(self, timeout: float) -> bool:
        return self._watcher.wait(timeout)

    def close(self) -> None:
        self._watcher.close()
        self.connection.close()

    def check(self) -> list[str]:
        """Log in and look at every folder mailbot will use, changing nothing; return what is
        wrong, as sentences for an operator (an empty list: all is well)."""
        def look(doing: str, operation: Callable[[], object]) -> str | None:
            try:
                self.connection.run(doing, operation, budget=0.0)
            except MailboxError as exc:
                return str(exc)
            return None

        problem = look("opening the inbox", self._folders.inbox)
        if problem is not None:
            return [problem]  # nothing else can work
        checks: list[tuple[str, Callable[[], object]]] = [
            (f"looking for the {self._folders.name(f)} folder", self._looker(f))
            for f in sorted(_DONE_FOLDERS)]
        checks.append(("subscribing to inbox events (mailbot would poll instead)",
                       self._try_subscription))
        if self.settings.send_via_ews:
            checks.append(("opening Sent Items", lambda: self.connection.account.sent))
        return [p for doing, operation in checks if (p := look(doing, operation)) is not None]

    def _fetch(self, item: NewItem) -> MailboxMessage | None:
        if oversized(item.size, self._max_bytes):
            get_logger().warning("mailbox.oversized", mailbox="exchange", size=item.size)
            fetched = self.connection.run(
                "fetching a new message's headers",
                lambda: fetch_headers(self.connection.account, item, self._max_bytes))
        else:
            fetched = self.connection.run(
                "fetching a new message", lambda: fetch_message(self.connection.account, item))
        if fetched is None:
            return None
        if fetched.internet_message_id:
            self._mover.message_ids[item.ref] = fetched.internet_message_id
        return fetched.message

    def _looker(self, folder: Folder) -> Callable[[], object]:
        return lambda: self._folders.get(folder, create=False)  # missing: made on first use

    def _try_subscription(self) -> None:
        inbox = self._folders.inbox()
        subscription = inbox.subscribe_to_streaming(event_types=["NewMailEvent"])
        inbox.unsubscribe(subscription)


class ExchangeSender:
    """Sends MIME through EWS (`send_via_ews`), saving a copy in Sent Items.

    Exchange delivers a MIME message to the addresses in its To, Cc and Bcc headers, and has
    no separate envelope; envelope recipients missing from the headers are added as Bcc
    (what SMTP would do), and a message whose headers name someone outside the envelope is
    refused rather than delivered to them. The sender is always the mailbox itself.
    """

    def __init__(self, connection: ExchangeConnection) -> None:
        self._connection = connection

    def send(self, raw: bytes, envelope_from: str, recipients: Sequence[str]) -> None:
        check_envelope(envelope_from, recipients)
        wire = wire_bytes(raw)
        headers = BytesHeaderParser().parsebytes(wire)
        named = {address.lower() for _, address in
                 getaddresses([str(v) for k in ("to", "cc", "bcc") for v in
                               headers.get_all(k, [])]) if address}
        envelope = {address.lower() for address in recipients}
        if named - envelope:
            raise PermanentSendError("the message's headers name addresses outside the "
                                     "envelope, which Exchange would deliver to")
        visible = {address.lower() for _, address in
                   getaddresses([str(v) for k in ("to", "cc") for v in headers.get_all(k, [])])}
        hidden = [address for address in recipients if address.lower() not in visible]

        def send() -> None:
            account = self._connection.account
            message = Message(account=account, folder=account.sent, mime_content=wire,
                              bcc_recipients=hidden or None, is_read=True)
            message.send_and_save()

        try:
            self._connection.run("sending a message", send)
        except ExchangeError as exc:
            if issubclass(exc.error_type, _PERMANENT_SEND):
                raise PermanentSendError(str(exc)) from None
            raise TransientSendError(str(exc)) from None
        except MailboxError as exc:
            raise TransientSendError(str(exc)) from None

    def close(self) -> None:
        """The connection belongs to the mailbox, which closes it."""
