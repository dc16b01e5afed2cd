"""Finding new mail in an Exchange inbox with SyncFolderItems, without ever skipping one.

A sync state says "everything up to here has been seen". Saved too early, a crash would
leave the messages after it in the inbox but never offered again, so each page's state is
saved only once every message that page reported has been handed to the caller *and the
caller came back for the next one* (the runner asks for the next message only after the
previous one is committed and moved). Messages are offered in order of arrival across all
pages; a crash part-way repeats at most the unfinished pages, and the ledger recognises
anything offered twice. Updates and deletions are ignored: only arrivals matter, and a
message taken out of the inbox by a person simply is not there to fetch.

The sync asks for each new item's size with its arrival time; an item over the email size
limit is fetched as its headers only (`oversized`), never as 100 MB of base64 in a SOAP reply.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from functools import partial
from typing import Any

from exchangelib import errors as ews
from exchangelib.items import ID_ONLY
from exchangelib.services import SyncFolderItems
from exchangelib.services.sync_folder_hierarchy import SyncFolder

from mailbot.ingest.exchange.connect import ExchangeConnection, ExchangeError
from mailbot.ingest.mime.oversized import header_lines, stand_in
from mailbot.models import MailboxMessage

PAGE_SIZE = 100  # changes per SyncFolderItems call (EWS allows up to 512)
MAX_PAGES = 10_000  # a server that never says "last page" must not keep mailbot here forever
FETCH_FIELDS = ("mime_content", "datetime_received", "message_id")
HEADER_FIELDS = ("headers", "datetime_received", "message_id")
# The item exists but Exchange cannot render it as MIME: retrying will not help.
UNREADABLE = (
    ews.ErrorMimeContentConversionFailed,
    ews.ErrorUnsupportedMimeConversion,
    ews.ErrorItemCorrupt,
    ews.ErrorCorruptData,
)
_GONE = (ews.ErrorItemNotFound, ews.ErrorInvalidIdMalformed)
_LATEST = datetime.max.replace(tzinfo=UTC)


@dataclass(frozen=True)
class NewItem:
    ref: str  # the EWS item id
    received_at: datetime | None
    page: int
    size: int | None = None  # the item's stored size in bytes, as the sync reported it


@dataclass(frozen=True)
class Page:
    sync_state: str  # the state after this page
    items: tuple[NewItem, ...]


@dataclass(frozen=True)
class Fetched:
    message: MailboxMessage
    internet_message_id: str | None


def read_changes(
    connection: ExchangeConnection, inbox: Callable[[], Any], sync_state: str | None
) -> list[Page]:
    """Every page of creations in the inbox since `sync_state` (None: everything in it)."""
    try:
        return _read_pages(connection, inbox, sync_state)
    except ExchangeError as exc:
        if sync_state is None or not issubclass(exc.error_type, ews.ErrorInvalidSyncStateData):
            raise
    # The stored state is unusable (the mailbox moved database, say): start again from
    # nothing. Everything still in the inbox is offered; the ledger skips what was done.
    return _read_pages(connection, inbox, None)


def _read_pages(
    connection: ExchangeConnection, inbox: Callable[[], Any], sync_state: str | None
) -> list[Page]:
    pages: list[Page] = []
    state = sync_state
    for number in range(MAX_PAGES):
        service, changes = connection.run(
            "syncing the inbox", partial(_one_page, connection, inbox, state)
        )
        items = tuple(
            NewItem(
                ref=item.id,
                received_at=_utc(item.datetime_received),
                page=number,
                size=item.size if isinstance(item.size, int) else None,
            )
            for kind, item in changes
            if kind == SyncFolderItems.CREATE
        )
        pages.append(Page(sync_state=service.sync_state, items=items))
        if service.includes_last_item_in_range or service.sync_state == state:
            break
        state = service.sync_state
    return pages


def _one_page(
    connection: ExchangeConnection, get_inbox: Callable[[], Any], sync_state: str | None
) -> tuple[Any, list[tuple[str, Any]]]:
    inbox = get_inbox()
    service = _SyncFolderItems(account=connection.account)
    fields = {
        f
        for f in inbox.normalize_fields(fields=["datetime_received", "size"])
        if not f.field.is_attribute
    }
    changes = list(
        service.call(
            folder=inbox,
            shape=ID_ONLY,
            additional_fields=fields,
            sync_state=sync_state,
            ignore=None,
            max_changes_returned=PAGE_SIZE,
            sync_scope=None,
        )
    )
    for change in changes:
        if isinstance(change, Exception):
            raise change
    return service, changes


class _SyncFolderItems(SyncFolderItems):  # type: ignore[misc]
    """exchangelib 5.6 reads SyncState before looking at ResponseClass, so an error reply
    (ErrorInvalidSyncStateData carries no SyncState) raised AttributeError instead."""

    def _get_element_container(self, message: Any, name: Any = None) -> Any:
        if message.get("ResponseClass") != "Success":
            return super(SyncFolder, self)._get_element_container(message=message, name=name)
        return super()._get_element_container(message=message, name=name)


def in_arrival_order(
    pages: Sequence[Page],
    fetch: Callable[[NewItem], MailboxMessage | None],
    save_state: Callable[[str], None],
) -> Iterator[MailboxMessage]:
    """Fetch and yield the pages' items oldest first; save a page's state once it and every
    page before it are finished (yielded and come back from). `fetch` None: skip the item."""
    pending = [len(page.items) for page in pages]
    finished = 0

    def save_finished() -> None:
        nonlocal finished
        reached = finished
        while reached < len(pages) and pending[reached] == 0:
            reached += 1
        if reached > finished:
            finished = reached
            save_state(pages[reached - 1].sync_state)

    save_finished()  # leading pages with nothing new (only updates, or nothing at all)
    ordered = sorted(
        (item for page in pages for item in page.items),
        key=lambda item: (item.received_at or _LATEST, item.page, item.ref),
    )
    for item in ordered:
        message = fetch(item)
        if message is not None:
            yield message
            del message  # not held while the next one is fetched (see `MailboxMessage`)
        pending[item.page] -= 1
        save_finished()


def fetch_message(account: Any, item: NewItem) -> Fetched | None:
    """The item's MIME and arrival time; None if it has gone or cannot be rendered as MIME."""
    [result] = list(account.fetch(ids=[(item.ref, None)], only_fields=list(FETCH_FIELDS)))
    if isinstance(result, (*_GONE, *UNREADABLE)):
        return None  # moved away meanwhile, or unreadable: it stays where it is for a person
    if isinstance(result, Exception):
        raise result
    if not result.mime_content:
        return None
    received = _utc(result.datetime_received) or item.received_at or datetime.now(UTC)
    message = MailboxMessage(ref=item.ref, raw=bytes(result.mime_content), received_at=received)
    return Fetched(message=message, internet_message_id=result.message_id or None)


def fetch_headers(account: Any, item: NewItem, limit: int) -> Fetched | None:
    """The item as a stand-in (`oversized`): its Internet headers, not its MIME; None if
    it has gone."""
    [result] = list(account.fetch(ids=[(item.ref, None)], only_fields=list(HEADER_FIELDS)))
    if isinstance(result, (*_GONE, *UNREADABLE)):
        return None
    if isinstance(result, Exception):
        raise result
    pairs = [
        (str(h.name), str(h.value))
        for h in result.headers or []
        if getattr(h, "name", None) and getattr(h, "value", None) is not None
    ]
    received = _utc(result.datetime_received) or item.received_at or datetime.now(UTC)
    message = stand_in(
        item.ref, header_lines(pairs), size=item.size or 0, limit=limit, received_at=received
    )
    return Fetched(message=message, internet_message_id=result.message_id or None)


def _utc(value: datetime | None) -> datetime | None:
    """A plain UTC datetime (exchangelib hands out its own EWSDateTime subclass)."""
    if value is None:
        return None
    return datetime.fromtimestamp(value.timestamp(), tz=UTC)
