"""The Exchange mailbox at the HTTP boundary: exchangelib talks to a fake EWS endpoint.

Exchange cannot run here, so `requests_mock` answers exchangelib's SOAP requests with replies
shaped like a real Exchange 2016 server's (tests/data/ews/*.xml, after Microsoft's documented
examples), and the tests assert on what exchangelib sent: the operation, the folder, the sync
state. Streaming replies are fed document by document, as a server pushes them. A test marked
`live` runs read-only against a real mailbox when MAILBOT_LIVE_EWS_* are set.
"""

from __future__ import annotations

import base64
import io
import os
import queue
import re
import time
from collections import defaultdict, deque
from collections.abc import Callable, Generator, Iterator
from pathlib import Path
from string import Template
from typing import Any
from xml.sax.saxutils import escape

import pytest
import requests
import requests_mock
from exchangelib.protocol import close_connections

from mailbot.config import Config
from mailbot.config.mail import ExchangeMailboxSettings
from mailbot.context import Context
from mailbot.credentials import load_secrets
from mailbot.demo.sample_mail import compose, docx_attachment
from mailbot.dispatch.send.base import PermanentSendError
from mailbot.dispatch.send.ews import ExchangeSender
from mailbot.errors import ConfigError
from mailbot.ingest.exchange.mailbox import ExchangeMailbox
from mailbot.ingest.mailbox import MailboxError, MessageNotFoundError
from mailbot.ingest.mime.parse import is_oversized, parse_email
from mailbot.intake.process import Intake
from mailbot.logs import get_logger
from mailbot.models import DocumentLimits, Folder, Outcome
from mailbot.runner import Runner
from mailbot.store import Store
from tests.conftest import NOW, FixedClock

EWS = Path(__file__).resolve().parents[1] / "data" / "ews"
SAMPLES = Path(__file__).resolve().parents[1] / "data" / "forms" / "samples"
URL = "https://mail.west-midlands.example/EWS/Exchange.asmx"
ADDRESS = "marac_referrals@west-midlands.pnn.police.uk"
POLICE = "pc.lee.adams@west-midlands.pnn.police.uk"
PASSWORD = "correct-horse-battery-staple"
SECRETS = {"exchange_password": PASSWORD}
_ID = "AAMkADc3MWUyMGQ5LWZmMGQtNDYwZS1iY2QwLTdhYmE1NzQ3MDlkYw"
ROOT_ID = f"{_ID}AAuAAAAAADHh5wBPYPKS5n4YfzrcSqoAQDHh5wBPYPKS5n4YfzrcSqoAAAAAAEBAAA="
TOP_ID = f"{_ID}AAuAAAAAADHh5wBPYPKS5n4YfzrcSqoAQDHh5wBPYPKS5n4YfzrcSqoAAAAAAEIAAA="
INBOX_ID = f"{_ID}AAuAAAAAADHh5wBPYPKS5n4YfzrcSqoAQDHh5wBPYPKS5n4YfzrcSqoAAAAAAEMAAA="
SENT_ID = f"{_ID}AAuAAAAAADHh5wBPYPKS5n4YfzrcSqoAQDHh5wBPYPKS5n4YfzrcSqoAAAAAAEJAAA="
PROCESSED_ID = f"{_ID}AAuAAAAAADHh5wBPYPKS5n4YfzrcSqoAQDHh5wBPYPKS5n4YfzrcSqoAAAAAAFPAAA="
SUBSCRIPTION = "f6bc657d-dde1-4f94-952d-143b95d6483d"
BUSY_MS = 2500
HTTP_OK, HTTP_UNAUTHORIZED, HTTP_SOAP_FAULT, HTTP_UNAVAILABLE = 200, 401, 500, 503
_OPERATION = re.compile(rb"<s:Body><m:(\w+)")
_DISTINGUISHED = re.compile(rb'<m:FolderIds><t:DistinguishedFolderId Id="(\w+)"')
_FOLDER = re.compile(rb'<m:FolderIds><t:FolderId Id="([^"]+)"')


def item_id(n: int) -> str:
    return f"{_ID}BGAAAAAADHh5wBPYPKS5n4YfzrcSqoBwDHh5wBPYPKS5n4YfzrcSqoAAAAAAEMAAB{n:04d}AAA="


def xml(name: str, **values: object) -> bytes:
    return Template((EWS / name).read_text()).substitute(values).encode()


def sync_reply(
    state: str, *creates: tuple[str, str], last: bool = True, updated: str | None = None
) -> bytes:
    changes = "".join(
        Template((EWS / "sync_create.xml").read_text()).substitute(item_id=ref, received=received)
        for ref, received in creates
    )
    if updated:
        changes += Template((EWS / "sync_update.xml").read_text()).substitute(item_id=updated)
    return xml("sync_folder_items.xml", sync_state=state, last=str(last).lower(), changes=changes)


def item_reply(ref: str, raw: bytes, received: str, message_id: str) -> bytes:
    return xml(
        "get_item.xml",
        item_id=ref,
        mime=base64.b64encode(raw).decode(),
        received=received,
        message_id=escape(message_id),
    )


def email(n: int, sender: str = POLICE) -> bytes:
    return compose(
        sender=sender,
        to=ADDRESS,
        subject=f"Referral {n}",
        message_id=f"<ref-{n}@west-midlands.pnn.police.uk>",
        sent_at=NOW,
    )


class Stream(io.RawIOBase):
    """A streaming HTTP body the test feeds, as Exchange pushes documents down a connection."""

    def __init__(self) -> None:
        super().__init__()
        self._chunks: queue.Queue[bytes] = queue.Queue()
        self._pending = b""
        self._ended = False

    def feed(self, document: bytes) -> None:
        self._chunks.put(document)

    def end(self) -> None:
        self._chunks.put(b"")

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: Any) -> int:
        while not self._pending and not self._ended:
            try:
                chunk = self._chunks.get(timeout=30)
            except queue.Empty:
                chunk = b""  # never hang a test run
            self._pending, self._ended = chunk, not chunk
        size = min(len(buffer), len(self._pending))
        buffer[:size], self._pending = self._pending[:size], self._pending[size:]
        return size

    def close(self) -> None:
        self.end()
        super().close()


class FakeEws:
    """One EWS endpoint: replies queued per operation, folders by distinguished id, and every
    request kept as (operation, body) for the assertions."""

    def __init__(self, mocker: requests_mock.Mocker) -> None:
        self.requests: list[tuple[str, str]] = []
        self.replies: dict[str, deque[tuple[int, bytes | Stream | Exception, dict[str, str]]]] = (
            defaultdict(deque)
        )
        self.streams: queue.Queue[Stream] = queue.Queue()
        self.unexpected: list[str] = []
        self.folders = {
            "root": self._folder(ROOT_ID, "", "Root", "", 0, 16),
            "msgfolderroot": self._folder(TOP_ID, ROOT_ID, "Top of Information Store", "", 0, 12),
            "inbox": self._folder(INBOX_ID, TOP_ID, "Inbox", "IPF.Note", 2, 0),
            "sentitems": self._folder(SENT_ID, TOP_ID, "Sent Items", "IPF.Note", 0, 0),
            PROCESSED_ID: self._folder(PROCESSED_ID, TOP_ID, "Processed", "IPF.Note", 0, 0),
        }
        mocker.post(URL, body=self._answer)

    @staticmethod
    def _folder(
        folder_id: str, parent: str, name: str, kind: str, total: int, children: int
    ) -> bytes:
        folder_class = f"<t:FolderClass>{kind}</t:FolderClass>" if kind else ""
        return xml(
            "get_folder.xml",
            folder_id=folder_id,
            parent_id=parent or folder_id,
            folder_class=folder_class,
            display_name=name,
            total=total,
            children=children,
        )

    def reply(
        self,
        operation: str,
        body: bytes | Stream | Exception,
        status: int = HTTP_OK,
        headers: dict[str, str] | None = None,
    ) -> None:
        self.replies[operation].append((status, body, headers or {}))

    def sent(self, operation: str) -> list[str]:
        return [body for op, body in self.requests if op == operation]

    def next_stream(self) -> Stream:
        return self.streams.get(timeout=10)

    def _answer(self, request: Any, context: Any) -> io.IOBase:
        body = request.body if isinstance(request.body, bytes) else request.body.encode()
        found = _OPERATION.search(body)
        operation = found.group(1).decode() if found else "?"
        self.requests.append((operation, body.decode()))
        if self.replies[operation]:
            context.status_code, reply, headers = self.replies[operation].popleft()
            context.headers.update(headers)
        elif operation == "ConvertId":
            reply = xml("convert_id.xml")
        elif operation == "GetFolder" and (
            folder := _DISTINGUISHED.search(body) or _FOLDER.search(body)
        ):
            reply = self.folders[folder.group(1).decode()]
        elif operation == "Unsubscribe":
            reply = xml("unsubscribe.xml")
        elif operation == "GetStreamingEvents":
            reply = Stream()  # Exchange holds the connection open until there is news
            reply.feed(xml("streaming_status.xml", status="OK"))
        else:
            self.unexpected.append(operation)
            context.status_code, reply = HTTP_UNAVAILABLE, b"no reply scripted"
        if isinstance(reply, Exception):
            raise reply  # as the network would: no HTTP response at all
        if isinstance(reply, Stream):
            self.streams.put(reply)
            return reply
        return io.BytesIO(reply)


def settings(**overrides: Any) -> ExchangeMailboxSettings:
    values: dict[str, Any] = {
        "kind": "exchange",
        "address": ADDRESS,
        "ews_url": URL,
        "auth": "basic",
        "username": "WMP\\svc-marac",
    }
    return ExchangeMailboxSettings(**(values | overrides))


@pytest.fixture
def ews() -> Iterator[FakeEws]:
    with requests_mock.Mocker() as mocker:
        fake = FakeEws(mocker)
        yield fake
    close_connections()  # exchangelib keeps one Protocol per endpoint and login: start afresh
    assert not fake.unexpected, f"requests with no scripted reply: {fake.unexpected}"


@pytest.fixture
def store(tmp_path: Path) -> Iterator[Store]:
    database = Store(tmp_path / "state.db")
    yield database
    database.close()


@pytest.fixture
def sleeps() -> list[float]:
    return []


@pytest.fixture
def open_mailbox(
    ews: FakeEws, store: Store, sleeps: list[float]
) -> Iterator[Callable[..., ExchangeMailbox]]:
    opened: list[ExchangeMailbox] = []

    def _open(**overrides: Any) -> ExchangeMailbox:
        mailbox = ExchangeMailbox(settings(**overrides), SECRETS, store, sleep=sleeps.append)
        opened.append(mailbox)
        return mailbox

    yield _open
    for mailbox in opened:
        mailbox.close()


def sync_state_of(store: Store) -> str | None:
    return store.state_get(f"exchange:{ADDRESS}:inbox:sync_state")


# -- finding new mail -------------------------------------------------------------------------


def test_first_sync_yields_every_new_message_oldest_first_with_its_mime(
    ews: FakeEws, open_mailbox: Callable[..., ExchangeMailbox], store: Store
) -> None:
    """GIVEN an inbox whose sync comes in two pages, newest first, plus a read-flag change
    WHEN mailbot syncs it for the first time
    THEN it yields the three new messages in arrival order with their exact MIME bytes,
    ignores the update, and keeps the final sync state."""
    ews.reply(
        "SyncFolderItems",
        sync_reply(
            "STATE-1",
            (item_id(3), "2026-11-02T08:20:00Z"),
            (item_id(1), "2026-11-02T08:00:00Z"),
            last=False,
        ),
    )
    ews.reply(
        "SyncFolderItems",
        sync_reply("STATE-2", (item_id(2), "2026-11-02T08:10:00Z"), updated=item_id(9)),
    )
    for n, minute in ((1, "00"), (2, "10"), (3, "20")):
        ews.reply(
            "GetItem",
            item_reply(
                item_id(n),
                email(n),
                f"2026-11-02T08:{minute}:00Z",
                f"<ref-{n}@west-midlands.pnn.police.uk>",
            ),
        )

    messages = list(open_mailbox().fetch_new())

    assert [m.ref for m in messages] == [item_id(1), item_id(2), item_id(3)]
    assert [m.raw for m in messages] == [email(1), email(2), email(3)]
    assert [m.received_at.minute for m in messages] == [0, 10, 20]
    first_sync, second_sync = ews.sent("SyncFolderItems")
    assert "<m:SyncState>" not in first_sync
    assert "<m:SyncState>STATE-1</m:SyncState>" in second_sync
    assert 'DistinguishedFolderId Id="inbox"' in first_sync
    assert all("item:MimeContent" in body for body in ews.sent("GetItem"))
    assert len(ews.sent("GetItem")) == 3  # nothing fetched for the update or the deletion
    assert sync_state_of(store) == "STATE-2"


def test_a_restarted_mailbox_resumes_from_the_saved_sync_state(
    ews: FakeEws, open_mailbox: Callable[..., ExchangeMailbox], store: Store
) -> None:
    """GIVEN a sync whose state was saved, and mail that arrived while mailbot was stopped
    WHEN a new mailbox on the same database syncs
    THEN its request carries the saved state, and it yields only the new message."""
    ews.reply("SyncFolderItems", sync_reply("STATE-A"))
    assert list(open_mailbox().fetch_new()) == []
    assert sync_state_of(store) == "STATE-A"
    ews.reply("SyncFolderItems", sync_reply("STATE-B", (item_id(7), "2026-11-02T09:30:00Z")))
    ews.reply("GetItem", item_reply(item_id(7), email(7), "2026-11-02T09:30:00Z", "<ref-7@x>"))

    messages = list(open_mailbox().fetch_new())

    assert [m.ref for m in messages] == [item_id(7)]
    assert "<m:SyncState>STATE-A</m:SyncState>" in ews.sent("SyncFolderItems")[-1]
    assert sync_state_of(store) == "STATE-B"


def test_the_sync_state_is_not_saved_before_every_message_was_handed_back(
    ews: FakeEws, open_mailbox: Callable[..., ExchangeMailbox], store: Store
) -> None:
    """GIVEN a sync reporting three messages over two pages
    WHEN the runner stops after handling two of them (a crash, or SIGTERM)
    THEN no sync state is saved, so the next sync offers the unhandled message again."""
    ews.reply(
        "SyncFolderItems",
        sync_reply(
            "STATE-1",
            (item_id(1), "2026-11-02T08:00:00Z"),
            (item_id(3), "2026-11-02T08:20:00Z"),
            last=False,
        ),
    )
    ews.reply("SyncFolderItems", sync_reply("STATE-2", (item_id(2), "2026-11-02T08:10:00Z")))
    for n in (1, 2):
        ews.reply("GetItem", item_reply(item_id(n), email(n), "2026-11-02T08:00:00Z", "<x@y>"))

    fetching = open_mailbox().fetch_new()
    assert isinstance(fetching, Generator)
    assert next(fetching).ref == item_id(1)
    assert next(fetching).ref == item_id(2)
    fetching.close()

    assert sync_state_of(store) is None


def test_an_unusable_saved_state_restarts_the_sync_from_scratch(
    ews: FakeEws, open_mailbox: Callable[..., ExchangeMailbox], store: Store
) -> None:
    """GIVEN a saved sync state the server no longer accepts
    WHEN mailbot syncs
    THEN it syncs again without a state (the ledger skips what was already done)."""
    store.state_set(f"exchange:{ADDRESS}:inbox:sync_state", "STALE")
    ews.reply("SyncFolderItems", xml("sync_invalid_state.xml"))
    ews.reply("SyncFolderItems", sync_reply("FRESH"))

    assert list(open_mailbox().fetch_new()) == []

    stale, fresh = ews.sent("SyncFolderItems")
    assert "<m:SyncState>STALE</m:SyncState>" in stale
    assert "<m:SyncState>" not in fresh
    assert sync_state_of(store) == "FRESH"


def test_an_item_synced_over_the_size_limit_is_fetched_as_its_headers_only(
    ews: FakeEws, store: Store, sleeps: list[float]
) -> None:
    """GIVEN a new item whose size the sync gives as 100 MB, and a 60 MB email limit
    WHEN mailbot fetches new mail
    THEN it asks for the item's Internet headers, never its MIME, and hands on a stand-in
    with the email's own Message-ID and sender whose body parses as past the limit."""
    limit = 60 * 1024 * 1024
    create = Template((EWS / "sync_create_sized.xml").read_text()).substitute(
        item_id=item_id(4), received="2026-11-02T08:00:00Z", size=100 * 1024 * 1024
    )
    ews.reply(
        "SyncFolderItems",
        xml("sync_folder_items.xml", sync_state="SIZED", last="true", changes=create),
    )
    headers = "".join(
        f'<t:InternetMessageHeader HeaderName="{name}">{escape(value)}</t:InternetMessageHeader>'
        for name, value in (
            ("From", f"PC Lee Adams <{POLICE}>"),
            ("Subject", "Referral 4"),
            ("Message-ID", "<ref-4@west-midlands.pnn.police.uk>"),
        )
    )
    ews.reply(
        "GetItem",
        xml(
            "get_item_headers.xml",
            item_id=item_id(4),
            headers=headers,
            received="2026-11-02T08:00:00Z",
            message_id=escape("<ref-4@west-midlands.pnn.police.uk>"),
        ),
    )
    mailbox = ExchangeMailbox(settings(), SECRETS, store, sleep=sleeps.append, max_bytes=limit)
    try:
        [message] = list(mailbox.fetch_new())
    finally:
        mailbox.close()
    [fetch] = ews.sent("GetItem")
    assert "item:InternetMessageHeaders" in fetch
    assert "item:MimeContent" not in fetch
    assert "item:Size" in ews.sent("SyncFolderItems")[0]
    parsed = parse_email(message.raw, DocumentLimits(max_email_bytes=limit))
    assert parsed.message_id == "<ref-4@west-midlands.pnn.police.uk>"
    assert parsed.sender == POLICE
    assert [is_oversized(a) for a in parsed.attachments] == [True]


# -- noticing new mail ------------------------------------------------------------------------


def test_a_new_mail_event_wakes_wait_for_mail(
    ews: FakeEws, open_mailbox: Callable[..., ExchangeMailbox]
) -> None:
    """GIVEN a streaming subscription on the inbox, its connection open and quiet
    WHEN Exchange pushes a NewMail notification
    THEN wait_for_mail returns True at once, having returned False while nothing came."""
    ews.reply("Subscribe", xml("subscribe.xml", subscription_id=SUBSCRIPTION))
    mailbox = open_mailbox()
    assert mailbox.wait_for_mail(timeout=5) is True  # a new subscription: sync once
    stream = ews.next_stream()
    assert mailbox.wait_for_mail(timeout=0.2) is False

    stream.feed(
        xml(
            "streaming_new_mail.xml",
            subscription_id=SUBSCRIPTION,
            item_id=item_id(4),
            inbox_id=INBOX_ID,
            timestamp="2026-11-02T09:00:10Z",
        )
    )
    started = time.monotonic()
    assert mailbox.wait_for_mail(timeout=5) is True
    assert time.monotonic() - started < 4

    [subscribe] = ews.sent("Subscribe")
    assert '<t:DistinguishedFolderId Id="inbox">' in subscribe
    assert "<t:EventType>NewMailEvent</t:EventType>" in subscribe
    assert (
        f"<t:SubscriptionId>{SUBSCRIPTION}</t:SubscriptionId>" in ews.sent("GetStreamingEvents")[0]
    )


def test_a_dropped_stream_wakes_wait_for_mail_and_the_next_sync_catches_up(
    ews: FakeEws, open_mailbox: Callable[..., ExchangeMailbox]
) -> None:
    """GIVEN an open streaming connection
    WHEN it drops without Exchange's closing status (events may have been lost)
    THEN wait_for_mail returns True and the sync that follows yields the missed message."""
    ews.reply("Subscribe", xml("subscribe.xml", subscription_id=SUBSCRIPTION))
    mailbox = open_mailbox()
    assert mailbox.wait_for_mail(timeout=5) is True
    ews.next_stream().end()

    assert mailbox.wait_for_mail(timeout=5) is True
    ews.reply("SyncFolderItems", sync_reply("S1", (item_id(5), "2026-11-02T09:01:00Z")))
    ews.reply("GetItem", item_reply(item_id(5), email(5), "2026-11-02T09:01:00Z", "<r5@x>"))
    assert [m.ref for m in mailbox.fetch_new()] == [item_id(5)]


def test_an_expired_subscription_is_replaced(
    ews: FakeEws, open_mailbox: Callable[..., ExchangeMailbox]
) -> None:
    """GIVEN a subscription Exchange has forgotten (ErrorSubscriptionNotFound)
    WHEN the watcher reconnects to it
    THEN wait_for_mail returns True (events may be lost) and a new subscription is made."""
    ews.reply("Subscribe", xml("subscribe.xml", subscription_id=SUBSCRIPTION))
    ews.reply("GetStreamingEvents", xml("streaming_expired.xml", subscription_id=SUBSCRIPTION))
    ews.reply("Subscribe", xml("subscribe.xml", subscription_id="0f3e9a1c-new"))
    mailbox = open_mailbox()

    assert mailbox.wait_for_mail(timeout=5) is True
    assert mailbox.wait_for_mail(timeout=5) is True
    ews.next_stream()  # the new subscription's connection

    assert len(ews.sent("Subscribe")) == 2
    assert "0f3e9a1c-new" in ews.sent("GetStreamingEvents")[-1]


# -- filing -----------------------------------------------------------------------------------


def test_mark_done_moves_to_processed_creating_the_folder_once(
    ews: FakeEws, open_mailbox: Callable[..., ExchangeMailbox]
) -> None:
    """GIVEN a mailbox with no Processed folder
    WHEN two messages are marked done into Processed
    THEN the folder is created once under the top of the mailbox, each message is moved
    there (never deleted), and the new item ids are returned."""
    ews.reply("FindFolder", xml("find_folder.xml", count=0, folders=""))
    ews.reply("CreateFolder", xml("create_folder.xml", folder_id=PROCESSED_ID))
    for n in (1, 2):
        ews.reply("GetItem", item_reply(item_id(n), b"", "2026-11-02T08:00:00Z", f"<m{n}@x>"))
        ews.reply("MoveItem", xml("move_item.xml", item_id=item_id(100 + n)))
    mailbox = open_mailbox()

    assert mailbox.mark_done(item_id(1), Folder.PROCESSED) == item_id(101)
    assert mailbox.mark_done(item_id(2), Folder.PROCESSED) == item_id(102)

    [create] = ews.sent("CreateFolder")
    assert "<t:DisplayName>Processed</t:DisplayName>" in create
    assert '<m:ParentFolderId><t:DistinguishedFolderId Id="msgfolderroot">' in create
    assert "<t:FolderClass>IPF.Note</t:FolderClass>" in create
    assert len(ews.sent("FindFolder")) == 1
    assert all(f'<t:FolderId Id="{PROCESSED_ID}"' in move for move in ews.sent("MoveItem"))
    assert not ews.sent("DeleteItem")
    with pytest.raises(ValueError, match="Processed or Exceptions"):
        mailbox.mark_done(item_id(3), Folder.INBOX)


def test_a_move_lost_in_a_crash_is_found_by_message_id_after_a_restart(
    ews: FakeEws, open_mailbox: Callable[..., ExchangeMailbox]
) -> None:
    """GIVEN a message moved to Processed by a run that crashed before recording the move
    WHEN a restarted mailbox refiles it again by its old id
    THEN it finds the message in Processed by its Message-ID and returns that id."""
    processed = xml(
        "find_folder_entry.xml", folder_id=PROCESSED_ID, parent_id=TOP_ID, display_name="Processed"
    )
    for _ in range(2):
        ews.reply("FindFolder", xml("find_folder.xml", count=1, folders=processed))
    ews.reply("GetItem", item_reply(item_id(1), b"", "2026-11-02T08:00:00Z", "<lost@x>"))
    ews.reply("MoveItem", xml("move_item.xml", item_id=item_id(101)))
    open_mailbox().mark_done(item_id(1), Folder.PROCESSED)  # ... and the process died
    ews.reply("GetItem", xml("get_item_not_found.xml"))
    ews.reply(
        "FindItem", xml("find_item.xml", item_id=item_id(101), received="2026-11-02T08:00:00Z")
    )

    again = open_mailbox().refile(item_id(1), Folder.INBOX, Folder.PROCESSED)

    assert again == item_id(101)
    assert len(ews.sent("MoveItem")) == 1
    [find] = ews.sent("FindItem")
    assert 'FieldURI="message:InternetMessageId"' in find
    assert 'Value="&lt;lost@x&gt;"' in find
    assert f'<t:FolderId Id="{PROCESSED_ID}"' in find


def test_a_message_that_is_nowhere_raises_message_not_found(
    ews: FakeEws, open_mailbox: Callable[..., ExchangeMailbox]
) -> None:
    """GIVEN an id that matches no item and no recorded move
    WHEN it is refiled
    THEN MessageNotFoundError says so, and nothing is moved."""
    processed = xml(
        "find_folder_entry.xml", folder_id=PROCESSED_ID, parent_id=TOP_ID, display_name="Processed"
    )
    ews.reply("FindFolder", xml("find_folder.xml", count=1, folders=processed))
    ews.reply("GetItem", xml("get_item_not_found.xml"))

    with pytest.raises(MessageNotFoundError):
        open_mailbox().refile(item_id(8), Folder.EXCEPTIONS, Folder.PROCESSED)
    assert not ews.sent("MoveItem")


# -- throttling and failures ------------------------------------------------------------------


def test_server_busy_is_retried_after_the_back_off_the_server_asked_for(
    ews: FakeEws, open_mailbox: Callable[..., ExchangeMailbox], sleeps: list[float]
) -> None:
    """GIVEN a throttled server answering ErrorServerBusy with BackOffMilliseconds
    WHEN mailbot syncs
    THEN it sleeps exactly that long, asks again, and the sync succeeds."""
    ews.reply("SyncFolderItems", xml("server_busy.xml", back_off=BUSY_MS), HTTP_SOAP_FAULT)
    ews.reply("SyncFolderItems", sync_reply("AFTER-BUSY"))

    assert list(open_mailbox().fetch_new()) == []

    assert sleeps == [BUSY_MS / 1000]
    assert len(ews.sent("SyncFolderItems")) == 2


def test_a_back_off_beyond_the_budget_fails_without_retrying_or_leaking(
    ews: FakeEws, open_mailbox: Callable[..., ExchangeMailbox], sleeps: list[float]
) -> None:
    """GIVEN a server asking for a back-off (5 minutes) longer than timeout_seconds
    WHEN mailbot syncs, and then tries again at once
    THEN a MailboxError names the throttling but no credential, and the server is not asked
    again before its back-off has passed."""
    ews.reply("SyncFolderItems", xml("server_busy.xml", back_off=297749), HTTP_SOAP_FAULT)
    mailbox = open_mailbox()

    with pytest.raises(MailboxError, match="throttling") as failure:
        list(mailbox.fetch_new())
    with pytest.raises(MailboxError, match="throttling"):
        list(mailbox.fetch_new())

    assert sleeps == []
    assert len(ews.sent("SyncFolderItems")) == 1
    assert PASSWORD not in str(failure.value)
    assert "svc-marac" not in str(failure.value)


def test_http_503_is_retried_with_growing_waits_then_given_up(
    ews: FakeEws, open_mailbox: Callable[..., ExchangeMailbox], sleeps: list[float]
) -> None:
    """GIVEN a server answering HTTP 503 every time
    WHEN mailbot syncs
    THEN it retries after 10 s and 20 s, then gives up within its 60 s budget."""
    for _ in range(3):
        ews.reply("SyncFolderItems", b"Service Unavailable", HTTP_UNAVAILABLE)

    with pytest.raises(MailboxError, match="internal error, and retrying did not help"):
        list(open_mailbox().fetch_new())

    assert sleeps == [10, 20]
    assert len(ews.sent("SyncFolderItems")) == 3


def test_a_401_after_a_working_login_is_throttling_and_retried(
    ews: FakeEws, open_mailbox: Callable[..., ExchangeMailbox], sleeps: list[float]
) -> None:
    """GIVEN a mailbox whose login has worked (the server answered), then a sync answered
    with HTTP 401, as Exchange does when it throttles connections
    WHEN mailbot syncs
    THEN it backs off (exchangelib's first wait, 10 s) and asks again, and the sync succeeds
    instead of failing as a wrong password would."""
    ews.reply("SyncFolderItems", sync_reply("BEFORE"))
    mailbox = open_mailbox()
    assert list(mailbox.fetch_new()) == []
    ews.reply("SyncFolderItems", b"", HTTP_UNAUTHORIZED)
    ews.reply("SyncFolderItems", sync_reply("AFTER"))

    assert list(mailbox.fetch_new()) == []

    assert sleeps == [10]
    assert len(ews.sent("SyncFolderItems")) == 3


def test_a_401_throttle_that_outlasts_the_budget_is_named_not_fatal(
    ews: FakeEws, open_mailbox: Callable[..., ExchangeMailbox], sleeps: list[float]
) -> None:
    """GIVEN a working login, then a server answering every request with HTTP 401
    WHEN mailbot syncs
    THEN it retries within its 60 s budget (10 s, 20 s), then fails with one line naming the
    refused login and throttling, and no password."""
    ews.reply("SyncFolderItems", sync_reply("BEFORE"))
    mailbox = open_mailbox()
    list(mailbox.fetch_new())
    for _ in range(3):
        ews.reply("SyncFolderItems", b"", HTTP_UNAUTHORIZED)

    with pytest.raises(MailboxError, match="HTTP 401: EWS throttling") as failure:
        list(mailbox.fetch_new())

    assert sleeps == [10, 20]
    assert "\n" not in str(failure.value)
    assert PASSWORD not in str(failure.value)


def test_a_fractional_retry_after_is_waited_exactly(
    ews: FakeEws, open_mailbox: Callable[..., ExchangeMailbox], sleeps: list[float]
) -> None:
    """GIVEN a server answering HTTP 503 with Retry-After "2.5"
    WHEN mailbot syncs
    THEN it waits 2.5 s (not exchangelib's own guess) and the retry succeeds."""
    ews.reply(
        "SyncFolderItems", b"Service Unavailable", HTTP_UNAVAILABLE, headers={"Retry-After": "2.5"}
    )
    ews.reply("SyncFolderItems", sync_reply("AFTER"))

    assert list(open_mailbox().fetch_new()) == []

    assert sleeps == [2.5]


def test_check_reports_a_rejected_login_in_words(
    ews: FakeEws, open_mailbox: Callable[..., ExchangeMailbox]
) -> None:
    """GIVEN a server that refuses the login (HTTP 401)
    WHEN the operator runs the check
    THEN it reports an authentication failure, once, without the password."""
    ews.reply("ConvertId", b"", HTTP_UNAUTHORIZED)

    problems = open_mailbox().check()

    assert len(problems) == 1
    assert "authentication failed" in problems[0]
    assert PASSWORD not in problems[0]
    assert len(ews.requests) == 1


def test_check_tells_dns_and_tls_failures_apart(
    ews: FakeEws, open_mailbox: Callable[..., ExchangeMailbox]
) -> None:
    """GIVEN an EWS host name that does not resolve, then a certificate that is not trusted
    WHEN the operator runs the check each time
    THEN each report names its cause (DNS, TLS) at the first failure, without retrying."""
    pool = (
        "HTTPSConnectionPool(host='mail.west-midlands.example', port=443): Max retries "
        "exceeded with url: /EWS/Exchange.asmx"
    )
    ews.reply(
        "ConvertId",
        requests.exceptions.ConnectionError(
            f'{pool} (Caused by NameResolutionError("Failed to resolve '
            f"'mail.west-midlands.example' ([Errno -2] Name or service not known)\"))"
        ),
    )
    ews.reply(
        "ConvertId",
        requests.exceptions.SSLError(
            f"{pool} (Caused by SSLError(SSLCertVerificationError(1, '[SSL: "
            f"CERTIFICATE_VERIFY_FAILED] certificate verify failed: self-signed certificate')))"
        ),
    )
    mailbox = open_mailbox()

    [dns] = mailbox.check()
    [tls] = mailbox.check()

    assert "does not resolve (DNS)" in dns
    assert "TLS failed" in tls
    assert len(ews.requests) == 2


def test_check_looks_at_every_folder_and_changes_nothing(
    ews: FakeEws, open_mailbox: Callable[..., ExchangeMailbox]
) -> None:
    """GIVEN a healthy mailbox without its Exceptions and Processed folders yet
    WHEN the operator runs the check
    THEN nothing is reported wrong, and nothing was created, moved or synced."""
    for _ in range(2):
        ews.reply("FindFolder", xml("find_folder.xml", count=0, folders=""))
    ews.reply("Subscribe", xml("subscribe.xml", subscription_id=SUBSCRIPTION))

    assert open_mailbox(send_via_ews=True).check() == []

    touched = {operation for operation, _ in ews.requests}
    assert touched == {"ConvertId", "GetFolder", "FindFolder", "Subscribe", "Unsubscribe"}


def test_the_configuration_is_checked_before_any_connection(ews: FakeEws, store: Store) -> None:
    """GIVEN settings without the password in the secrets, or a plain-http EWS URL
    WHEN an ExchangeMailbox is made
    THEN a ConfigError names the setting, and no request was sent."""
    with pytest.raises(ConfigError, match="exchange_password"):
        ExchangeMailbox(settings(), {}, store)
    with pytest.raises(ConfigError, match="ews_url"):
        ExchangeMailbox(settings(ews_url="http://mail.example/EWS/Exchange.asmx"), SECRETS, store)
    with pytest.raises(ConfigError, match="tenant_id"):
        ExchangeMailbox(settings(auth="oauth2"), SECRETS, store)
    assert ews.requests == []


def test_oauth2_logs_in_as_the_app_acting_for_the_mailbox(ews: FakeEws, store: Store) -> None:
    """GIVEN oauth2 settings (Exchange Online) with impersonation
    WHEN the account is made
    THEN exchangelib gets client credentials whose identity is the mailbox, the fixed
    endpoint without autodiscover, and impersonation access."""
    made: dict[str, Any] = {}

    def factory(**kwargs: Any) -> Any:
        made.update(kwargs)
        raise RuntimeError("no further")

    mailbox = ExchangeMailbox(
        settings(
            auth="oauth2", tenant_id="tenant-guid", client_id="client-guid", access="impersonation"
        ),
        {"exchange_client_secret": "s3cret"},
        store,
        account_factory=factory,
    )
    with pytest.raises(MailboxError, match="unexpected error"):
        list(mailbox.fetch_new())

    credentials = made["config"].credentials
    assert credentials.client_id == "client-guid"
    assert credentials.tenant_id == "tenant-guid"
    assert credentials.identity.primary_smtp_address == ADDRESS
    assert made["config"].service_endpoint == URL
    assert made["autodiscover"] is False
    assert made["access_type"] == "impersonation"
    assert ews.requests == []


# -- sending ----------------------------------------------------------------------------------


def test_the_sender_sends_the_mime_and_saves_it_in_sent_items(
    ews: FakeEws, open_mailbox: Callable[..., ExchangeMailbox]
) -> None:
    """GIVEN a reply addressed in its headers to the referrer, and the team copied by envelope
    WHEN it is sent through EWS
    THEN Exchange gets the MIME unchanged (CRLF), SendAndSaveCopy into Sent Items, and the
    envelope-only recipient as Bcc."""
    ews.reply("CreateItem", xml("create_item.xml"))
    sender = ExchangeSender(open_mailbox(send_via_ews=True).connection)
    raw = compose(
        sender=ADDRESS, to=POLICE, subject="Referral accepted", message_id="<a@b>", sent_at=NOW
    )

    sender.send(raw, ADDRESS, [POLICE, "marac_team@west-midlands.pnn.police.uk"])

    [create] = ews.sent("CreateItem")
    assert 'MessageDisposition="SendAndSaveCopy"' in create
    assert '<t:DistinguishedFolderId Id="sentitems">' in create or SENT_ID in create
    mime = re.search(r"<t:MimeContent[^>]*>([^<]+)</t:MimeContent>", create)
    assert mime is not None
    assert base64.b64decode(mime.group(1)) == raw.replace(b"\n", b"\r\n")
    assert re.search(r"<t:BccRecipients>.*marac_team@west-midlands.pnn.police.uk", create)
    assert POLICE not in create.partition("<t:BccRecipients>")[2]


def test_the_sender_refuses_what_exchange_would_deliver_wrongly_or_never(
    ews: FakeEws, open_mailbox: Callable[..., ExchangeMailbox]
) -> None:
    """GIVEN a message whose headers name someone outside the envelope, and one too big
    WHEN they are sent
    THEN the first is refused before any request, the second fails permanently."""
    ews.reply("CreateItem", xml("create_item_error.xml"))
    sender = ExchangeSender(open_mailbox(send_via_ews=True).connection)
    raw = compose(sender=ADDRESS, to=POLICE, subject="x", message_id="<a@b>", sent_at=NOW)

    with pytest.raises(PermanentSendError, match="outside the envelope"):
        sender.send(raw, ADDRESS, ["someone.else@nhs.net"])
    assert not ews.sent("CreateItem")
    with pytest.raises(PermanentSendError, match="ErrorMessageSizeExceeded"):
        sender.send(raw, ADDRESS, [POLICE])


# -- the whole intake on Exchange -------------------------------------------------------------


def test_a_referral_in_exchange_is_accepted_and_moved_to_processed(
    ews: FakeEws, config: Config, store: Store, clock: FixedClock, sleeps: list[float]
) -> None:
    """GIVEN the accepted sample referral, emailed by West Midlands Police into Exchange
    WHEN the runner processes the mailbox once
    THEN the case is accepted, and the message is moved (MoveItem) into a new Processed."""
    doc = (SAMPLES / "01-accepted-controls.docx").read_bytes()
    raw = compose(
        sender=POLICE,
        to=ADDRESS,
        subject="MARAC referral",
        attachments=[docx_attachment("MARAC referral.docx", doc)],
        message_id="<exchange-1@west-midlands.pnn.police.uk>",
        sent_at=NOW,
    )
    ews.reply("SyncFolderItems", sync_reply("AFTER-1", (item_id(1), "2026-11-02T08:55:00Z")))
    ews.reply(
        "GetItem",
        item_reply(
            item_id(1), raw, "2026-11-02T08:55:00Z", "<exchange-1@west-midlands.pnn.police.uk>"
        ),
    )
    ews.reply("FindFolder", xml("find_folder.xml", count=0, folders=""))
    ews.reply("CreateFolder", xml("create_folder.xml", folder_id=PROCESSED_ID))
    ews.reply("MoveItem", xml("move_item.xml", item_id=item_id(101)))
    mailbox = ExchangeMailbox(settings(), SECRETS, store, sleep=sleeps.append)
    intake = Intake(Context.of(config, load_secrets(config), store, clock, get_logger()), mailbox)
    try:
        handled = Runner(intake, mailbox, get_logger()).run_once()
    finally:
        mailbox.close()

    assert handled == 1
    [case] = intake.ctx.casebook.cases()
    assert case.decision.outcome is Outcome.ACCEPTED
    assert case.message_id == "<exchange-1@west-midlands.pnn.police.uk>"
    [move] = ews.sent("MoveItem")
    assert f'<t:ItemId Id="{item_id(1)}"' in move
    assert f'<t:FolderId Id="{PROCESSED_ID}"' in move
    entry = store.ledger_get(case.message_key)
    assert entry is not None
    assert entry.mailbox_ref == item_id(101)
    assert sync_state_of(store) == "AFTER-1"


# -- against a real server --------------------------------------------------------------------


@pytest.mark.live
def test_live_exchange_mailbox_checks_and_syncs(tmp_path: Path) -> None:
    """GIVEN a real Exchange mailbox (MAILBOT_LIVE_EWS_URL, _ADDRESS, _USERNAME, _PASSWORD,
    optionally _AUTH = ntlm|basic)
    WHEN mailbot checks it and syncs its inbox once
    THEN the check finds nothing wrong and the sync completes; nothing is moved or sent."""
    url = os.environ.get("MAILBOT_LIVE_EWS_URL")
    if not url:
        pytest.skip("MAILBOT_LIVE_EWS_URL is not set")
    live = ExchangeMailboxSettings.model_validate(
        {
            "kind": "exchange",
            "address": os.environ["MAILBOT_LIVE_EWS_ADDRESS"],
            "ews_url": url,
            "auth": os.environ.get("MAILBOT_LIVE_EWS_AUTH", "ntlm"),
            "username": os.environ["MAILBOT_LIVE_EWS_USERNAME"],
        }
    )
    database = Store(tmp_path / "live.db")
    mailbox = ExchangeMailbox(
        live, {"exchange_password": os.environ["MAILBOT_LIVE_EWS_PASSWORD"]}, database
    )
    try:
        assert mailbox.check() == []
        for message in mailbox.fetch_new():
            assert message.raw
    finally:
        mailbox.close()
        database.close()
