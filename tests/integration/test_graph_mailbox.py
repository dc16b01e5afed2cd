"""`GraphMailbox` at the HTTP boundary: delta rounds, resync, moves, streaming, waiting."""

from __future__ import annotations

import json
from collections.abc import Generator, Iterator
from pathlib import Path

import httpx
import pytest
import respx

from mailbot.demo.sample_mail import compose
from mailbot.ingest.graph.client import GraphError
from mailbot.ingest.graph.mailbox import GraphMailbox
from mailbot.ingest.mailbox import Mailbox, MessageNotFoundError
from mailbot.ingest.mime.parse import is_oversized, parse_email
from mailbot.models import DocumentLimits, Folder
from mailbot.store import Store
from tests.conftest import NOW
from tests.integration.graph_mocks import (
    CREATED_ID,
    DELTA_PATH,
    DELTA_TOKEN,
    MAILBOX,
    PROCESSED_ID,
    USER,
    Chunks,
    FakeTime,
    mock_delta_round,
    mock_item,
    mock_login,
    mock_value,
    open_mailbox,
    reply,
    token,
)

A1, A2, A3 = (f"AAkALgAAAAAAHYQDEapmEc2byACqAC-EWg0AEVAAAAA{n}" for n in (1, 2, 3))
DELTA_KEY = f"graph:{MAILBOX}:inbox:delta_link"
FINAL_LINK = reply("delta-page-2.json")["@odata.deltaLink"]


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
    mock_login(router)
    opened = open_mailbox(store, time)
    yield opened
    opened.close()


def _email(n: int) -> bytes:
    return compose(
        sender="pc.lee.adams@west-midlands.pnn.police.uk",
        to=MAILBOX,
        subject=f"message {n}",
        message_id=f"<graph-{n}@example.org>",
        sent_at=NOW,
    )


def _serve_all(router: respx.MockRouter) -> None:
    for n, ref in enumerate((A1, A2, A3), start=1):
        mock_value(router, ref, _email(n))


def test_is_a_mailbox(mailbox: GraphMailbox) -> None:
    """GIVEN a GraphMailbox WHEN checked against the protocol THEN it implements Mailbox."""
    assert isinstance(mailbox, Mailbox)


def test_a_delta_round_is_paged_ordered_and_saved_only_when_finished(
    mailbox: GraphMailbox, router: respx.MockRouter, store: Store
) -> None:
    """GIVEN a first delta round of two pages (an @odata.nextLink, then an @odata.deltaLink),
    with one message updated again on page two and one removed
    WHEN the new mail is fetched
    THEN each new message is offered once, oldest arrival first, as its raw MIME, and the
    delta link is saved only after the last message was offered and come back from."""
    first, second = mock_delta_round(router)
    _serve_all(router)
    messages = mailbox.fetch_new()

    offered = [next(messages)]
    assert store.state_get(DELTA_KEY) is None  # the round is not finished yet
    offered += list(messages)

    assert [m.ref for m in offered] == [A1, A2, A3]  # 08:40, 08:55, 08:58
    assert offered[0].raw == _email(1)
    assert offered[0].received_at.isoformat() == "2026-11-02T08:40:00+00:00"
    assert store.state_get(DELTA_KEY) == FINAL_LINK
    assert first.call_count == second.call_count == 1
    request = first.calls[0].request
    assert request.url.params["$select"] == "id,receivedDateTime"
    assert request.headers["Authorization"] == f"Bearer {token()}"
    assert request.headers.get_list("Prefer") == ["odata.maxpagesize=50", 'IdType="ImmutableId"']


def test_a_restart_catches_up_from_the_saved_delta_link(
    router: respx.MockRouter, store: Store, time: FakeTime
) -> None:
    """GIVEN a delta link saved by an earlier run
    WHEN a new mailbox (a restarted mailbot) fetches
    THEN it asks Graph for the changes since that link, not for the whole inbox."""
    mock_login(router)
    store.state_set(DELTA_KEY, FINAL_LINK)
    since = router.get(path__regex=DELTA_PATH, params={"$deltatoken": DELTA_TOKEN}).respond(
        json={**reply("delta-page-2.json"), "@odata.deltaLink": FINAL_LINK + "x"}
    )
    _serve_all(router)
    with open_mailbox(store, time) as mailbox:
        assert [m.ref for m in mailbox.fetch_new()] == [A1, A3]
    assert since.call_count == 1
    assert store.state_get(DELTA_KEY) == FINAL_LINK + "x"


def test_a_round_left_part_way_is_repeated(
    mailbox: GraphMailbox, router: respx.MockRouter, store: Store, time: FakeTime
) -> None:
    """GIVEN a round whose first message was offered when mailbot stopped
    WHEN the mail is fetched again
    THEN the whole round is read again from the old link (the ledger skips what was done)."""
    first, _ = mock_delta_round(router)
    _serve_all(router)
    messages = mailbox.fetch_new()
    assert isinstance(messages, Generator)  # so it can be left part way, as here
    next(messages)
    messages.close()
    time.now += 60
    assert [m.ref for m in mailbox.fetch_new()] == [A1, A2, A3]
    assert first.call_count == 2


def test_an_expired_delta_link_is_resynced_from_scratch(
    mailbox: GraphMailbox, router: respx.MockRouter, store: Store
) -> None:
    """GIVEN a saved delta link that Graph no longer knows (410 Gone, SyncStateNotFound)
    WHEN the mail is fetched
    THEN a fresh round offers everything in the inbox, and its new link replaces the old."""
    store.state_set(DELTA_KEY, FINAL_LINK)
    expired = router.get(path__regex=DELTA_PATH, params={"$deltatoken": DELTA_TOKEN}).respond(
        410, json=reply("delta-expired.json")
    )
    first, _ = mock_delta_round(router)
    _serve_all(router)
    assert [m.ref for m in mailbox.fetch_new()] == [A1, A2, A3]
    assert expired.call_count == first.call_count == 1
    assert store.state_get(DELTA_KEY) == FINAL_LINK


@pytest.mark.parametrize(
    ("status", "code"),
    [
        (400, "syncStateNotFound"),
        (400, "SyncStateNotFound"),
        (400, "resyncRequired"),
        (404, "syncStateNotFound"),
    ],
)
def test_a_40x_naming_an_expired_sync_state_is_resynced_once(
    mailbox: GraphMailbox, router: respx.MockRouter, store: Store, status: int, code: str
) -> None:
    """GIVEN a saved delta link that Graph refuses with a 40X whose error code says the sync
    state is gone (the delta-query overview's other expiry answer besides 410)
    WHEN the mail is fetched
    THEN one fresh round offers everything in the inbox and its new link replaces the old."""
    store.state_set(DELTA_KEY, FINAL_LINK)
    body = reply("delta-expired.json")
    body["error"]["code"] = code
    expired = router.get(path__regex=DELTA_PATH, params={"$deltatoken": DELTA_TOKEN}).respond(
        status, json=body
    )
    first, _ = mock_delta_round(router)
    _serve_all(router)
    assert [m.ref for m in mailbox.fetch_new()] == [A1, A2, A3]
    assert expired.call_count == first.call_count == 1
    assert store.state_get(DELTA_KEY) == FINAL_LINK


def test_a_400_of_another_kind_is_not_taken_for_expiry(
    mailbox: GraphMailbox, router: respx.MockRouter, store: Store
) -> None:
    """GIVEN a saved delta link that Graph refuses as malformed (400, ErrorInvalidRequest)
    WHEN the mail is fetched
    THEN the error is raised and no resync is started (it would fail the same way), and the
    saved link is kept."""
    store.state_set(DELTA_KEY, FINAL_LINK)
    body = reply("delta-expired.json")
    body["error"]["code"] = "ErrorInvalidRequest"
    router.get(path__regex=DELTA_PATH, params={"$deltatoken": DELTA_TOKEN}).respond(400, json=body)
    fresh = router.get(f"{USER}/mailFolders/inbox/messages/delta").respond(
        json=reply("delta-page-1.json")
    )
    with pytest.raises(GraphError, match="malformed"):
        list(mailbox.fetch_new())
    assert fresh.call_count == 0
    assert store.state_get(DELTA_KEY) == FINAL_LINK


def test_a_message_gone_before_it_is_read_is_skipped(
    mailbox: GraphMailbox, router: respx.MockRouter, store: Store
) -> None:
    """GIVEN a new message that a person moved away before mailbot read it (404)
    WHEN the mail is fetched THEN the others are offered and the round still finishes."""
    mock_delta_round(router)
    _serve_all(router)
    router.get(f"{USER}/messages/{A2}/$value").respond(404, json=reply("item-not-found.json"))
    assert [m.ref for m in mailbox.fetch_new()] == [A1, A3]
    assert store.state_get(DELTA_KEY) == FINAL_LINK


def test_a_move_to_processed_uses_the_existing_folder(
    mailbox: GraphMailbox, router: respx.MockRouter
) -> None:
    """GIVEN a Processed folder under the mailbox root
    WHEN a message is marked done THEN it is moved there (never deleted) and the id Graph
    answers with is the new ref; the folder is looked up once."""
    lookup = router.get(f"{USER}/mailFolders").respond(json=reply("mail-folders-processed.json"))
    move = router.post(f"{USER}/messages/{A2}/move").respond(
        201, json={**reply("message-moved.json"), "id": A2 + "-moved"}
    )
    assert mailbox.mark_done(A2, Folder.PROCESSED) == A2 + "-moved"
    assert mailbox.refile(A2 + "-moved", Folder.PROCESSED, Folder.PROCESSED) == A2 + "-moved"
    assert lookup.call_count == 1
    assert lookup.calls[0].request.url.params["$filter"] == "displayName eq 'Processed'"
    assert json.loads(move.calls[0].request.content) == {"destinationId": PROCESSED_ID}
    assert not [c for c in router.calls if c.request.method == "DELETE"]


def test_a_missing_exceptions_folder_is_created(
    mailbox: GraphMailbox, router: respx.MockRouter
) -> None:
    """GIVEN no Exceptions folder WHEN a message is filed there THEN the folder is created
    under the mailbox root by display name, and the message moved into it."""
    router.get(f"{USER}/mailFolders").respond(json=reply("mail-folders-none.json"))
    create = router.post(f"{USER}/mailFolders").respond(201, json=reply("mail-folder-created.json"))
    move = router.post(f"{USER}/messages/{A1}/move").respond(201, json=reply("message-moved.json"))
    assert mailbox.mark_done(A1, Folder.EXCEPTIONS) == A1
    assert json.loads(create.calls[0].request.content) == {
        "displayName": "Exceptions",
        "isHidden": False,
    }
    assert json.loads(move.calls[0].request.content) == {"destinationId": CREATED_ID}


def test_moving_a_vanished_message_says_so(mailbox: GraphMailbox, router: respx.MockRouter) -> None:
    """GIVEN a message deleted by a person WHEN it is marked done THEN MessageNotFoundError;
    and mark_done refuses to move anything back to the inbox."""
    router.get(f"{USER}/mailFolders").respond(json=reply("mail-folders-processed.json"))
    router.post(f"{USER}/messages/{A1}/move").respond(404, json=reply("item-not-found.json"))
    with pytest.raises(MessageNotFoundError):
        mailbox.mark_done(A1, Folder.PROCESSED)
    with pytest.raises(ValueError, match="Processed or Exceptions"):
        mailbox.mark_done(A1, Folder.INBOX)


def test_a_25_mb_attachment_is_streamed_whole(
    router: respx.MockRouter, store: Store, time: FakeTime
) -> None:
    """GIVEN a new message carrying a 25 MB attachment (about 34 MB of MIME)
    WHEN it is fetched THEN its $value is streamed in chunks and handed over byte for byte."""
    mock_login(router)
    raw = compose(
        sender="pc.lee.adams@west-midlands.pnn.police.uk",
        to=MAILBOX,
        subject="MARAC referral",
        message_id="<big@example.org>",
        sent_at=NOW,
        attachments=[("scan.pdf", bytes(25 * 1024 * 1024), "application/pdf")],
    )
    router.get(f"{USER}/mailFolders/inbox/messages/delta").respond(
        json={**reply("delta-empty.json"), "value": [reply("delta-page-1.json")["value"][1]]}
    )
    body = Chunks(raw)
    mock_item(router, A1, len(raw))
    router.get(f"{USER}/messages/{A1}/$value").mock(return_value=httpx.Response(200, stream=body))
    with open_mailbox(store, time) as mailbox:
        [message] = list(mailbox.fetch_new())
    assert message.raw == raw
    assert body.pulled == len(raw) > 25 * 1024 * 1024


def test_an_oversized_message_is_read_only_up_to_the_limit(
    router: respx.MockRouter, store: Store, time: FakeTime
) -> None:
    """GIVEN a new message larger than the configured email size limit, whose size Graph
    does not give (or gives too small: the stored size, not the MIME's)
    WHEN it is fetched THEN only limit + 1 bytes are read, and the intake sees it as too big
    (unreadable_document) rather than mailbot holding it all in memory."""
    mock_login(router)
    limit = 1024 * 1024
    raw = _email(1) + bytes(8 * limit)
    router.get(f"{USER}/mailFolders/inbox/messages/delta").respond(
        json={**reply("delta-empty.json"), "value": [reply("delta-page-1.json")["value"][1]]}
    )
    mock_item(router, A1, None)
    body = Chunks(raw)
    router.get(f"{USER}/messages/{A1}/$value").mock(return_value=httpx.Response(200, stream=body))
    with open_mailbox(store, time, max_bytes=limit) as mailbox:
        [message] = list(mailbox.fetch_new())
    assert len(message.raw) == limit + 1
    assert body.pulled < 2 * limit
    parsed = parse_email(message.raw, DocumentLimits(max_email_bytes=limit))
    assert parsed.message_id == "<graph-1@example.org>"
    assert [is_oversized(a) for a in parsed.attachments] == [True]


def test_a_message_graph_sizes_over_the_limit_is_not_downloaded(
    router: respx.MockRouter, store: Store, time: FakeTime
) -> None:
    """GIVEN a new 100 MB message (PidTagMessageSize, as Graph gives it) and a 60 MB limit
    WHEN it is fetched
    THEN its MIME is never asked for: intake gets its headers (the email's own Message-ID,
    sender and subject) with a body that parses as past the limit (unreadable_document)."""
    mock_login(router)
    router.get(f"{USER}/mailFolders/inbox/messages/delta").respond(
        json={**reply("delta-empty.json"), "value": [reply("delta-page-1.json")["value"][1]]}
    )
    headers = [
        ("From", "PC Lee Adams <pc.lee.adams@west-midlands.pnn.police.uk>"),
        ("To", MAILBOX),
        ("Subject", "MARAC referral with photographs"),
        ("Message-ID", "<big-1@west-midlands.pnn.police.uk>"),
    ]
    item = mock_item(router, A1, 100 * 1024 * 1024, headers)
    value = router.get(f"{USER}/messages/{A1}/$value").respond(200, content=b"never read")
    with open_mailbox(store, time, max_bytes=60 * 1024 * 1024) as mailbox:
        [message] = list(mailbox.fetch_new())
    assert value.call_count == 0
    assert item.call_count == 2  # the size, then the headers
    assert message.ref == A1
    assert message.size < 16 * 1024
    parsed = parse_email(message.raw, DocumentLimits(max_email_bytes=60 * 1024 * 1024))
    assert parsed.message_id == "<big-1@west-midlands.pnn.police.uk>"
    assert parsed.sender == "pc.lee.adams@west-midlands.pnn.police.uk"
    assert parsed.subject == "MARAC referral with photographs"
    assert [is_oversized(a) for a in parsed.attachments] == [True]


def test_waiting_polls_the_delta_every_few_seconds(
    mailbox: GraphMailbox, router: respx.MockRouter, store: Store, time: FakeTime
) -> None:
    """GIVEN an inbox with nothing new, then one message on the third poll
    WHEN mailbot waits for mail THEN it polls every delta_poll_seconds (5 s) within the
    timeout, returns False when nothing came and True when the message did, and the next
    fetch offers that message without asking Graph again."""
    empty = reply("delta-empty.json")
    arrived = {**empty, "value": [reply("delta-page-1.json")["value"][0]]}
    delta = router.get(path__regex=DELTA_PATH).mock(
        side_effect=[
            httpx.Response(200, json=empty),
            httpx.Response(200, json=empty),
            httpx.Response(200, json=arrived),
        ]
    )
    _serve_all(router)
    assert list(mailbox.fetch_new()) == []  # poll 1 (the first fetch always polls)
    assert mailbox.wait_for_mail(timeout=7.0) is False  # poll 2 at +5 s, then 2 s idle
    assert time.slept == [5.0, 2.0]
    assert list(mailbox.fetch_new()) == []  # not due yet: nothing is asked
    assert mailbox.wait_for_mail(timeout=30.0) is True  # poll 3 at +10 s
    assert sum(time.slept) == 10.0
    assert [m.ref for m in mailbox.fetch_new()] == [A2]
    assert delta.call_count == 3
    assert store.state_get(DELTA_KEY) == empty["@odata.deltaLink"]
