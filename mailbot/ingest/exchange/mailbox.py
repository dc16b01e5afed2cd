"""A `Mailbox` on Microsoft Exchange through EWS: the MARAC team's referrals mailbox.

New mail is found with a persisted SyncFolderItems state (so a restart catches up on
everything that arrived meanwhile, and nothing is offered before its turn), noticed at once
through a streaming subscription, and filed by moving it into Processed or Exceptions, never
deleting it. The moving parts live beside this file: `connect` (login, retries, errors),
`sync` (finding new mail), `folders` (folders, idempotent moves) and `stream` (the streaming
watcher). Sending through the same login (`send_via_ews`) belongs to dispatch
(`mailbot.dispatch.send.ews`): ingest knows nothing of sending.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator, Mapping
from types import TracebackType

from exchangelib import Account

from mailbot.config.mail import ExchangeMailboxSettings
from mailbot.ingest.exchange.connect import ExchangeConnection
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
from mailbot.store import Store

_DONE_FOLDERS = frozenset({Folder.PROCESSED, Folder.EXCEPTIONS})


class ExchangeMailbox:
    """The mailbox `settings.address`, logged in with `secrets` (by their `*_credential`
    names); small state (the sync state, a move in progress) is kept in `state`."""

    def __init__(
        self,
        settings: ExchangeMailboxSettings,
        secrets: Mapping[str, str],
        state: Store,
        *,
        account_factory: Callable[..., Account] | None = None,
        sleep: Callable[[float], None] = time.sleep,
        max_bytes: int = DocumentLimits().max_email_bytes,
    ) -> None:
        self.settings = settings
        self._max_bytes = max_bytes
        self.connection = ExchangeConnection(
            settings, secrets, account_factory=account_factory, sleep=sleep
        )
        self._state = state
        self._sync_key = f"exchange:{settings.address}:inbox:sync_state"
        self._folders = MailFolders(self.connection, settings.folders)
        self._mover = Mover(self.connection, self._folders, state, settings.address)
        self._watcher = InboxWatcher(self.connection, self._folders.inbox)

    def __enter__(self) -> ExchangeMailbox:
        return self

    def __exit__(
        self, kind: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
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
            for f in sorted(_DONE_FOLDERS)
        ]
        checks.append(
            ("subscribing to inbox events (mailbot would poll instead)", self._try_subscription)
        )
        if self.settings.send_via_ews:
            checks.append(("opening Sent Items", lambda: self.connection.account.sent))
        return [p for doing, operation in checks if (p := look(doing, operation)) is not None]

    def _fetch(self, item: NewItem) -> MailboxMessage | None:
        if oversized(item.size, self._max_bytes):
            get_logger().warning("mailbox.oversized", mailbox="exchange", size=item.size)
            fetched = self.connection.run(
                "fetching a new message's headers",
                lambda: fetch_headers(self.connection.account, item, self._max_bytes),
            )
        else:
            fetched = self.connection.run(
                "fetching a new message", lambda: fetch_message(self.connection.account, item)
            )
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
