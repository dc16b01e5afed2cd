"""The stand-in for an email too large to download (`mailbot.ingest.mime.oversized`)."""

from __future__ import annotations

from mailbot.ingest.mime.oversized import header_lines, oversized, stand_in
from mailbot.ingest.mime.parse import is_oversized, parse_email
from mailbot.models import DocumentLimits
from tests.conftest import NOW

LIMIT = 60 * 1024 * 1024
HEADERS = (
    b"From: PC Lee Adams <pc.lee.adams@west-midlands.pnn.police.uk>\r\n"
    b"Subject: MARAC referral\r\nMessage-ID: <big-1@west-midlands.pnn.police.uk>\r\n"
    b"\r\nthe body, which is not kept"
)


def test_a_stand_in_reads_as_the_email_past_its_limit() -> None:
    """GIVEN the header section of a 100 MB email
    WHEN its stand-in is parsed as intake parses any email
    THEN it has the email's Message-ID, sender and subject, and one marker attachment (the
    pipeline's unreadable_document), in a few kilobytes, and none of the body."""
    message = stand_in("7:42", HEADERS, size=100 * 1024 * 1024, limit=LIMIT, received_at=NOW)
    parsed = parse_email(message.raw, DocumentLimits(max_email_bytes=LIMIT))
    assert (message.ref, message.received_at) == ("7:42", NOW)
    assert message.size < 16 * 1024
    assert b"the body" not in message.raw
    assert parsed.message_id == "<big-1@west-midlands.pnn.police.uk>"
    assert parsed.sender == "pc.lee.adams@west-midlands.pnn.police.uk"
    assert parsed.subject == "MARAC referral"
    assert [is_oversized(a) for a in parsed.attachments] == [True]


def test_listed_headers_become_a_header_section_without_injected_lines() -> None:
    """GIVEN headers as Graph or EWS list them, one with a line break in its value and one
    with a name that is not a header name
    WHEN they are written as a header section
    THEN the value is unfolded onto its line, the bad name dropped, and a blank line ends it."""
    section = header_lines(
        [("Subject", "a\r\nBcc: x@y.z"), ("Bad: name", "v"), ("Message-ID", "<1@x>")]
    )
    assert section == b"Subject: a Bcc: x@y.z\r\nMessage-ID: <1@x>\r\n\r\n"


def test_only_a_known_size_over_the_limit_counts() -> None:
    """GIVEN sizes under, at, over the limit and unknown WHEN checked THEN only over is."""
    assert [oversized(s, 10) for s in (9, 10, 11, None)] == [False, False, True, False]
