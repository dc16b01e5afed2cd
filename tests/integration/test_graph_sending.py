"""`GraphSender` against a Graph fake that refuses what Graph refuses (tests/integration/
graph_mocks.py `GraphMail`): every size the configuration allows, and no second copy after
a lost reply."""

from __future__ import annotations

import base64
import random
from collections.abc import Iterator
from datetime import datetime
from pathlib import Path

import httpx
import pytest
import respx

from mailbot.dispatch.compose import FileAttachment, Planned, build_message
from mailbot.dispatch.send import graph_upload
from mailbot.dispatch.send.base import PermanentSendError, TransientSendError
from mailbot.dispatch.send.graph import GraphSender
from mailbot.ingest.graph.mailbox import GraphMailbox
from mailbot.store import Store
from tests.conftest import NOW
from tests.integration.graph_mocks import (
    MAILBOX,
    REQUEST_LIMIT,
    USER,
    FakeTime,
    GraphMail,
    mock_login,
    open_mailbox,
)

IDVA = "idva@bswaid.cjsm.net"
MB = 1024 * 1024
MINUTES_ID = "<5f0c1d2e3a4b5c6d7e8f9a0b1c2d3e4f@west-midlands.pnn.police.uk>"


@pytest.fixture
def router() -> Iterator[respx.MockRouter]:
    with respx.mock(assert_all_called=False) as mock:
        mock_login(mock)
        yield mock


@pytest.fixture
def graph(router: respx.MockRouter) -> GraphMail:
    return GraphMail(router)


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


def _minutes(*sizes: int, message_id: str = MINUTES_ID) -> tuple[bytes, list[bytes]]:
    """A minutes email as mailbot builds it, with files of `sizes` bytes (random: no
    compression shrinks them)."""
    rng = random.Random(sum(sizes))
    files = [rng.randbytes(size) for size in sizes]
    planned = Planned(
        kind="minutes",
        recipient=IDVA,
        subject="MARAC minutes, 2 November 2026",
        body="The minutes of the meeting are attached, encrypted.",
        attachments=tuple(
            FileAttachment(filename=f"minutes-{n}.zip", data=data, content_type="application/zip")
            for n, data in enumerate(files, start=1)
        ),
    )
    raw = build_message(
        planned,
        reference=None,
        from_address=MAILBOX,
        message_id=message_id,
        when=datetime(2026, 11, 2, 10, 0, tzinfo=NOW.tzinfo),
    )
    return raw, files


def test_the_fake_refuses_a_request_over_4_mb_as_graph_does(
    graph: GraphMail, mailbox: GraphMailbox
) -> None:
    """GIVEN the Graph fake WHEN a 4 MB minutes email is posted whole to sendMail (as the
    sender did before: base64 makes it 5.3 MB) THEN it answers 413, as Graph does."""
    del graph
    raw, _ = _minutes(4 * MB)
    response = mailbox.http.post(
        f"{USER}/sendMail", content=base64.b64encode(raw), headers={"Content-Type": "text/plain"}
    )
    assert response.status_code == httpx.codes.REQUEST_ENTITY_TOO_LARGE


def test_a_20_mb_minutes_email_goes_out_as_a_draft_with_its_file_uploaded(
    graph: GraphMail, sender: GraphSender
) -> None:
    """GIVEN a 20 MB minutes email (the configured maximum for minutes)
    WHEN it is sent through Graph
    THEN no request is over 4 MB: a draft is made from its text and headers, the file goes
    through an upload session in ranges under 4 MB (no bearer token to outlook.office.com),
    the draft is sent once, and what goes out carries the whole file, its Message-ID and
    mailbot's headers."""
    raw, [data] = _minutes(20 * MB)
    sender.send(raw, MAILBOX, [IDVA])
    [sent] = graph.sent
    assert max(graph.bodies) <= REQUEST_LIMIT
    assert len(graph.bodies) >= 7  # the draft, then seven ranges of at most 3.125 MB
    assert sent.internet_message_id == MINUTES_ID
    message = graph.whole(sent)
    [attachment] = list(message.iter_attachments())
    assert attachment.get_filename() == "minutes-1.zip"
    assert attachment.get_content() == data
    assert message["X-Mailbot-Kind"] == "minutes"
    assert message["To"] == IDVA


@pytest.mark.parametrize(
    ("sizes", "whole"),
    [
        ((2 * MB,), True),  # base64 2.7 MB: one sendMail
        ((3 * MB + MB // 2,), False),  # base64 4.7 MB: over the limit, a draft
        ((MB, 6 * MB), False),  # the 6 MB file uploaded, the 1 MB one left in the draft
        ((2 * MB, 2 * MB, 2 * MB), False),  # two lifted (one POSTed whole under 3 MB)
    ],
)
def test_the_request_limit_is_enforced_before_sending(
    graph: GraphMail, sender: GraphSender, sizes: tuple[int, ...], whole: bool
) -> None:
    """GIVEN minutes emails on either side of the 4 MB request limit
    WHEN each is sent THEN those that fit go whole through sendMail, the others as a draft
    with the fewest files taken out; either way every file arrives once and no request
    Graph receives is over the limit."""
    raw, files = _minutes(*sizes)
    sender.send(raw, MAILBOX, [IDVA])
    [sent] = graph.sent
    assert max(graph.bodies) <= REQUEST_LIMIT
    assert (sent.attachments == []) is whole
    arrived = sorted(a.get_content() for a in graph.whole(sent).iter_attachments())
    assert arrived == sorted(files)


def test_a_file_graph_cannot_take_is_refused_without_sending(
    graph: GraphMail, sender: GraphSender, monkeypatch: pytest.MonkeyPatch
) -> None:
    """GIVEN a file larger than Graph's attachment limit (150 MB; 5 MB here, to keep the
    test small) WHEN the email is sent THEN it is refused permanently, nothing is made."""
    monkeypatch.setattr(graph_upload, "MAX_FILE", 5 * MB)
    raw, _ = _minutes(6 * MB)
    with pytest.raises(PermanentSendError, match="150 MB"):
        sender.send(raw, MAILBOX, [IDVA])
    assert graph.items == {}


@pytest.mark.parametrize("lost", ["sendMail", "draft", "upload", "send"])
def test_a_lost_reply_never_makes_a_second_copy(
    graph: GraphMail, sender: GraphSender, lost: str
) -> None:
    """GIVEN Graph doing what was asked and the reply then lost (sendMail for a small
    email; for a 12 MB one the draft, the last upload range or the send)
    WHEN the outbox tries again, as it does after a transient failure
    THEN exactly one copy goes out, with every file once, and nothing done before is done
    again."""
    raw, files = _minutes(MB if lost == "sendMail" else 12 * MB)
    graph.lose = {lost}
    with pytest.raises(TransientSendError):
        sender.send(raw, MAILBOX, [IDVA])
    graph.lose = set()
    sender.send(raw, MAILBOX, [IDVA])
    sender.send(raw, MAILBOX, [IDVA])  # and once more: found sent, nothing done
    [sent] = graph.sent
    assert len(graph.items) == 1  # one draft (or one sendMail), never a second
    assert [a.get_content() for a in graph.whole(sent).iter_attachments()] == files


def test_a_draft_given_exchange_s_own_message_id_is_still_found_again(
    graph: GraphMail, sender: GraphSender
) -> None:
    """GIVEN an Exchange that gives a draft made from MIME a Message-ID of its own
    WHEN a 12 MB email's send reply is lost and the outbox tries again
    THEN the draft was given the outbox's Message-ID (PATCH, allowed while a draft), so the
    sent item is found and no second copy goes."""
    graph.keeps_message_id = False
    raw, _ = _minutes(12 * MB)
    graph.lose = {"send"}
    with pytest.raises(TransientSendError):
        sender.send(raw, MAILBOX, [IDVA])
    graph.lose = set()
    sender.send(raw, MAILBOX, [IDVA])
    [sent] = graph.sent
    assert sent.internet_message_id == MINUTES_ID


def test_a_draft_whose_send_is_still_in_flight_is_not_sent_twice(
    graph: GraphMail, sender: GraphSender, router: respx.MockRouter
) -> None:
    """GIVEN an earlier attempt whose send Graph accepted but whose draft the lookup still
    shows as a draft (Exchange moves it to Sent Items a moment later)
    WHEN the outbox tries again THEN sending that draft again is refused by Graph (404),
    reported as transient, and still only one copy exists."""
    raw, _ = _minutes(12 * MB)
    graph.lose = {"send"}
    with pytest.raises(TransientSendError):
        sender.send(raw, MAILBOX, [IDVA])
    graph.lose = set()
    [item] = graph.items.values()
    router.get(f"{USER}/messages").respond(json={"value": [{"id": item.ref, "isDraft": True}]})
    with pytest.raises(TransientSendError, match="sent meanwhile"):
        sender.send(raw, MAILBOX, [IDVA])
    assert len(graph.sent) == 1
