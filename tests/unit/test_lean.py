"""Tests for `mailbot.ingest.mime.lean`: a large email parsed without copies of its attachments,
always to the same result as the ordinary parse."""

from __future__ import annotations

import base64
import os
import tracemalloc
from datetime import UTC, datetime
from email import policy
from email.message import EmailMessage
from email.parser import BytesParser

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from mailbot.demo.sample_mail import compose, docx_attachment
from mailbot.ingest.mime import lean
from mailbot.ingest.mime.parse import parse_email
from mailbot.models import DocumentLimits, ParsedEmail
from tests.conftest import DATA

LIMITS = DocumentLimits(max_email_bytes=80 * 1024 * 1024, max_attachment_bytes=60 * 1024 * 1024)
FORM = (DATA / "forms" / "samples" / "01-accepted-controls.docx").read_bytes()
SENT = datetime(2026, 11, 20, 9, 30, tzinfo=UTC)


def _big_form(extra: int) -> bytes:
    """The sample form with `extra` random bytes appended (a stand-in for pasted photos)."""
    return FORM + os.urandom(extra)


def _email(document: bytes, *, crlf: bool = True, body: str = "Referral attached.") -> bytes:
    raw = compose(
        sender="pc.lee.adams@west-midlands.pnn.police.uk",
        to="marac_referrals@west-midlands.pnn.police.uk",
        subject="MARAC referral",
        body=body,
        attachments=[docx_attachment("MARAC referral.docx", document)],
        message_id="<lean-1@west-midlands.pnn.police.uk>",
        sent_at=SENT,
    )
    raw = raw.replace(b"\r\n", b"\n")
    return raw.replace(b"\n", b"\r\n") if crlf else raw


def _whole(raw: bytes, monkeypatch: pytest.MonkeyPatch) -> ParsedEmail:
    """`raw` parsed the ordinary way (nothing lifted)."""
    with monkeypatch.context() as patch:
        patch.setattr(lean, "MIN_EMAIL_BYTES", 1 << 62)
        return parse_email(raw, LIMITS)


@pytest.mark.parametrize("crlf", [True, False], ids=["CRLF", "LF"])
def test_a_large_email_gives_the_same_result_as_the_ordinary_parse(
    crlf: bool, monkeypatch: pytest.MonkeyPatch
) -> None:
    """GIVEN a 3 MB referral email, with CRLF or bare LF line ends
    WHEN it is parsed
    THEN its body was lifted, and the result equals the ordinary parse's, byte for byte."""
    document = _big_form(2 * 1024 * 1024)
    raw = _email(document, crlf=crlf)
    lifted = lean.lift(raw)
    assert lifted is not None
    assert len(lifted.skeleton) < 4096
    parsed = parse_email(raw, LIMITS)
    assert parsed.attachments[0].data == document
    assert parsed == _whole(raw, monkeypatch)


def test_parsing_a_large_email_allocates_little_more_than_its_attachment() -> None:
    """GIVEN a 12 MB referral email (9 MB document)
    WHEN it is parsed
    THEN the parse allocates at most 1.5 times the document at its peak (the ordinary parse
    allocates about eight times the email)."""
    document = _big_form(9 * 1024 * 1024)
    raw = _email(document)
    tracemalloc.start()
    try:
        parsed = parse_email(raw, LIMITS)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert parsed.attachments[0].data == document
    assert peak < 1.5 * len(document)


def test_small_emails_and_emails_without_long_base64_are_not_lifted() -> None:
    """GIVEN a small referral email, and a large one whose only long body is plain text
    WHEN lifting is tried
    THEN neither is lifted."""
    assert lean.lift(_email(FORM)) is None
    message = EmailMessage()
    message["From"] = "someone@example.org"
    message.set_content("word " * 400_000)
    assert lean.lift(message.as_bytes()) is None


def test_a_token_planted_in_a_text_part_falls_back_to_the_ordinary_parse(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """GIVEN a large email whose text part quotes a lifted-body token
    WHEN it is parsed
    THEN the result is still the ordinary parse's."""
    raw = _email(_big_form(2 * 1024 * 1024), body="MailbotLiftedBody0123456789abcdef01234567")
    assert parse_email(raw, LIMITS) == _whole(raw, monkeypatch)


def test_padding_in_the_middle_of_a_body_is_left_to_the_ordinary_parse(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """GIVEN a large email whose base64 has "=" padding in the middle (decoders may differ)
    WHEN it is parsed
    THEN that body is not lifted and the result is the ordinary parse's."""
    data = base64.encodebytes(_big_form(2 * 1024 * 1024))
    middle = len(data) // 2
    broken = data[:middle] + b"==\n" + data[middle:]
    raw = _email(b"x").replace(
        base64.encodebytes(b"x").replace(b"\n", b"\r\n"), broken.replace(b"\n", b"\r\n")
    )
    assert lean.lift(raw) is None
    assert parse_email(raw, LIMITS) == _whole(raw, monkeypatch)


_PART = st.one_of(
    st.tuples(st.just("base64"), st.binary(min_size=0, max_size=300)),
    st.tuples(st.just("text"), st.text(alphabet="ABCxyz019+/= \n", max_size=200)),
    st.tuples(st.just("forward"), st.binary(min_size=0, max_size=200)),
)


def _build(parts: list[tuple[str, object]], crlf: bool) -> bytes:
    message = EmailMessage()
    message["From"] = "someone@example.org"
    message["Message-ID"] = "<prop@example.org>"
    message.set_content("see attached")
    for n, (kind, value) in enumerate(parts):
        if kind == "base64":
            assert isinstance(value, bytes)
            message.add_attachment(
                value, maintype="application", subtype="octet-stream", filename=f"f{n}.bin"
            )
        elif kind == "text":
            message.add_attachment(str(value), filename=f"t{n}.txt")
        else:
            inner = EmailMessage()
            inner["From"] = "inner@example.org"
            inner.set_content("forwarded, see below")
            assert isinstance(value, bytes)
            inner.add_attachment(
                value, maintype="application", subtype="octet-stream", filename=f"in{n}.bin"
            )
            message.add_attachment(inner)
    raw = message.as_bytes().replace(b"\r\n", b"\n")
    return raw.replace(b"\n", b"\r\n") if crlf else raw


@settings(
    max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(parts=st.lists(_PART, max_size=5), crlf=st.booleans())
def test_lifting_never_changes_what_an_email_parses_to(
    parts: list[tuple[str, object]], crlf: bool, monkeypatch: pytest.MonkeyPatch
) -> None:
    """GIVEN any email of base64 attachments, text attachments and forwarded emails, with
    lifting made to apply to every size
    WHEN it is parsed with and without lifting
    THEN both give the same result (and with only binary parts the lifted path was taken)."""
    raw = _build(parts, crlf)
    with monkeypatch.context() as patch:
        patch.setattr(lean, "MIN_EMAIL_BYTES", 0)
        patch.setattr(lean, "MIN_BODY_BYTES", 8)
        lifted = parse_email(raw, LIMITS)
        skeleton = lean.lift(raw)
        if skeleton is not None and all(kind != "text" for kind, _ in parts):
            assert lean.restore(
                skeleton, raw, BytesParser(policy=policy.default).parsebytes(skeleton.skeleton)
            )
    assert lifted == _whole(raw, monkeypatch)
