"""Tests for `mailbot.ingest.mime.parse.parse_email`: golden emails, limits, and hostile input."""

from __future__ import annotations

import hashlib
import importlib.util
import json
import logging
from email import policy
from email.message import EmailMessage
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from mailbot.ingest.mime.parse import (
    BODY_TEXT_LIMIT,
    OVERSIZED_CONTENT_TYPE,
    is_oversized,
    parse_email,
)
from mailbot.models import DocKind, DocumentLimits, ParsedEmail

EMAILS = Path(__file__).resolve().parent.parent / "data" / "emails"
GOLDEN = sorted(p.name.removesuffix(".eml") for p in EMAILS.glob("*.eml"))
DOCX_TYPE = "application/vnd.openxmlformats-officedocument.wordprocessingml.document"


def _load_generator() -> ModuleType:
    spec = importlib.util.spec_from_file_location("make_emails", EMAILS / "make_emails.py")
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


make_emails = _load_generator()


def _summary(parsed: ParsedEmail) -> dict[str, Any]:
    return {
        "message_id": parsed.message_id,
        "sender": parsed.sender,
        "subject": parsed.subject,
        "sent_at": parsed.sent_at.isoformat() if parsed.sent_at else None,
        "in_reply_to": parsed.in_reply_to,
        "attachments": [
            {
                "filename": a.filename,
                "content_type": a.content_type,
                "kind": a.kind.value,
                "size": len(a.data),
                "sha256": hashlib.sha256(a.data).hexdigest(),
            }
            for a in parsed.attachments
        ],
    }


def _email(subject: str = "Referral") -> EmailMessage:
    msg = EmailMessage(policy=policy.default)
    msg["From"] = "sender@example.gov.uk"
    msg["Subject"] = subject
    msg["Message-ID"] = "<unit@example.gov.uk>"
    return msg


def test_golden_set_covers_every_case() -> None:
    """GIVEN the golden folder WHEN listed THEN every generator case has an .eml and .json."""
    assert set(GOLDEN) == set(make_emails.CASES)
    assert all((EMAILS / f"{name}.expected.json").is_file() for name in GOLDEN)


@pytest.mark.parametrize("name", GOLDEN)
def test_golden_email_parses_as_expected(name: str) -> None:
    """GIVEN a golden email and its expectation WHEN parsed THEN headers and files match it."""
    expected = json.loads((EMAILS / f"{name}.expected.json").read_text())
    limits = DocumentLimits(**expected.get("limits", {}))

    parsed = parse_email((EMAILS / f"{name}.eml").read_bytes(), limits)

    assert _summary(parsed) == {key: expected[key] for key in _summary(parsed)}
    if "body_contains" in expected:
        assert expected["body_contains"] in parsed.body_text


@pytest.mark.parametrize("name", GOLDEN)
def test_golden_email_is_reproducible(name: str) -> None:
    """GIVEN the generator WHEN it rebuilds a case THEN the bytes equal the committed files."""
    raw, expected = make_emails.CASES[name]()

    assert raw == (EMAILS / f"{name}.eml").read_bytes()
    assert expected == json.loads((EMAILS / f"{name}.expected.json").read_text())


def test_nesting_limit_is_configurable() -> None:
    """GIVEN ten nested forwards WHEN max_nesting is 10 THEN the deepest form is found."""
    raw = (EMAILS / "nested-forwards.eml").read_bytes()

    parsed = parse_email(raw, DocumentLimits(max_nesting=10))

    assert [a.filename for a in parsed.attachments][-1] == "referral.docx"
    assert parsed.attachments[-1].kind is DocKind.DOCX
    assert not any(is_oversized(a) for a in parsed.attachments)


def test_forwarded_email_at_nesting_zero_becomes_a_marker() -> None:
    """GIVEN a forwarded email WHEN max_nesting is 0 THEN only a limit marker stands for it."""
    raw = (EMAILS / "forwarded-message.eml").read_bytes()

    parsed = parse_email(raw, DocumentLimits(max_nesting=0))

    assert len(parsed.attachments) == 1
    assert is_oversized(parsed.attachments[0])
    assert parsed.attachments[0].data == b""


def test_winmail_dat_past_nesting_limit_becomes_a_marker() -> None:
    """GIVEN a winmail.dat WHEN max_nesting is 0 THEN it is not opened and a marker is kept."""
    raw = (EMAILS / "winmail-tnef.eml").read_bytes()

    parsed = parse_email(raw, DocumentLimits(max_nesting=0))

    assert [(a.filename, a.content_type) for a in parsed.attachments] == [
        ("winmail.dat", OVERSIZED_CONTENT_TYPE)
    ]


def test_attachment_count_is_capped() -> None:
    """GIVEN an email with 8 files WHEN max_attachments is 3 THEN only the first 3 are kept,
    and the email says it was cut short (the pipeline holds it for an administrator)."""
    msg = _email()
    msg.set_content("Files.\n")
    for n in range(8):
        msg.add_attachment(
            make_emails.tiny_docx(str(n)), "application", "octet-stream", filename=f"{n}.docx"
        )

    parsed = parse_email(msg.as_bytes(), DocumentLimits(max_attachments=3))

    assert [a.filename for a in parsed.attachments] == ["0.docx", "1.docx", "2.docx"]
    assert parsed.truncated


def test_attachments_up_to_the_cap_are_not_truncated() -> None:
    """GIVEN an email with exactly max_attachments files WHEN parsed THEN all are kept and
    it is not marked as cut short."""
    msg = _email()
    msg.set_content("Files.\n")
    for n in range(3):
        msg.add_attachment(
            make_emails.tiny_docx(str(n)), "application", "octet-stream", filename=f"{n}.docx"
        )

    parsed = parse_email(msg.as_bytes(), DocumentLimits(max_attachments=3))

    assert len(parsed.attachments) == 3
    assert not parsed.truncated


def test_tnef_detected_by_content_whatever_its_name() -> None:
    """GIVEN a TNEF blob named data.bin as octet-stream WHEN parsed THEN its files come out."""
    form = make_emails.tiny_docx("renamed tnef")
    msg = _email()
    msg.set_content("x\n")
    blob = make_emails.build_tnef([("FORM.DOC", "form.docx", form)])
    msg.add_attachment(blob, "application", "octet-stream", filename="data.bin")

    parsed = parse_email(msg.as_bytes(), DocumentLimits())

    assert [(a.filename, a.data, a.kind) for a in parsed.attachments] == [
        ("form.docx", form, DocKind.DOCX)
    ]


def test_tnef_with_8bit_short_name_is_still_extracted() -> None:
    """GIVEN a TNEF whose 8.3 name is cp1252 and long name absent WHEN parsed THEN data kept."""
    form = make_emails.tiny_docx("8-bit name")
    blob = make_emails.build_tnef([("R\xc9F.DOC", "", form)], short_name_encoding="cp1252")
    msg = _email()
    msg.set_content("x\n")
    msg.add_attachment(blob, "application", "ms-tnef", filename="winmail.dat")

    parsed = parse_email(msg.as_bytes(), DocumentLimits())

    assert [(a.data, a.kind) for a in parsed.attachments] == [(form, DocKind.DOCX)]


def test_corrupt_winmail_dat_is_kept_as_a_file() -> None:
    """GIVEN a winmail.dat with the TNEF magic then garbage WHEN parsed THEN kept, no logging."""
    blob = b"\x78\x9f\x3e\x22" + b"\x01\x02" + b"\xff" * 40
    msg = _email()
    msg.set_content("x\n")
    msg.add_attachment(blob, "application", "ms-tnef", filename="winmail.dat")

    parsed = parse_email(msg.as_bytes(), DocumentLimits())

    assert len(parsed.attachments) <= 1
    assert all(a.kind is DocKind.OTHER for a in parsed.attachments)


class _Collect(logging.Handler):
    def __init__(self) -> None:
        super().__init__(logging.DEBUG)
        self.records: list[logging.LogRecord] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.records.append(record)


def test_parsing_logs_nothing() -> None:
    """GIVEN a DEBUG handler on the root logger WHEN every golden email is parsed THEN silence."""
    root, handler = logging.getLogger(), _Collect()
    old_level = root.level
    root.addHandler(handler)
    root.setLevel(logging.DEBUG)
    try:
        for name in GOLDEN:
            parse_email((EMAILS / f"{name}.eml").read_bytes(), DocumentLimits())
        parse_email(b"\x78\x9f\x3e\x22" + b"\x00" * 64, DocumentLimits())
    finally:
        root.removeHandler(handler)
        root.setLevel(old_level)

    assert handler.records == []


def test_html_only_body_is_stripped_of_tags() -> None:
    """GIVEN an HTML-only email WHEN parsed THEN body_text is its text, without script/style."""
    msg = _email("password")
    msg.set_content(
        "<html><style>p{color:red}</style><script>var x=1;</script>"
        "<p>The password is <b>Blue&amp;Gold-42</b></p><p>Thanks</p></html>",
        subtype="html",
    )

    body = parse_email(msg.as_bytes(), DocumentLimits()).body_text

    assert "The password is Blue&Gold-42" in body
    assert "Thanks" in body
    assert "color" not in body
    assert "var x" not in body
    assert "<" not in body


def test_body_in_8bit_charset_is_decoded() -> None:
    """GIVEN a latin-1 quoted-printable body WHEN parsed THEN the accented text reads right."""
    msg = _email("password")
    msg.set_content("Mot de passe: Café-Olé-9\n", charset="iso-8859-1", cte="quoted-printable")

    body = parse_email(msg.as_bytes(), DocumentLimits()).body_text

    assert "Mot de passe: Café-Olé-9" in body


def test_plain_body_preferred_and_capped() -> None:
    """GIVEN a huge plain+html body WHEN parsed THEN the plain text is used, capped at 64 KB."""
    msg = _email()
    msg.set_content("p" * (BODY_TEXT_LIMIT * 2))
    msg.add_alternative("<p>html version</p>", subtype="html")

    body = parse_email(msg.as_bytes(), DocumentLimits()).body_text

    assert body == "p" * BODY_TEXT_LIMIT


def test_forwarded_body_is_not_the_body() -> None:
    """GIVEN only a forwarded email carries text WHEN parsed THEN body_text is empty."""
    inner = _email("inner")
    inner.set_content("secret inner text\n")
    outer = _email("outer")
    outer.make_mixed()
    outer.add_attachment(inner)

    assert parse_email(outer.as_bytes(), DocumentLimits()).body_text == ""


@pytest.mark.parametrize(
    ("header", "expected"),
    [
        ("Message-ID: <abc@example.org>\n", "<abc@example.org>"),
        ("Message-ID:   < abc@example.org >  \n", "<abc@example.org>"),
        ("Message-ID: abc@example.org\n", "<abc@example.org>"),
        ("Message-ID: <a@b> <c@d>\n", "<a@b>"),
    ],
)
def test_message_id_is_normalised(header: str, expected: str) -> None:
    """GIVEN a Message-ID written loosely WHEN parsed THEN it comes back in <...> form."""
    raw = f"From: a@example.org\n{header}\nbody\n".encode()

    assert parse_email(raw, DocumentLimits()).message_id == expected


def test_synthetic_message_id_is_stable_and_distinct() -> None:
    """GIVEN emails without Message-ID WHEN parsed twice THEN same id; different email, other id."""
    one, two = b"From: a@example.org\n\none\n", b"From: a@example.org\n\ntwo\n"

    first = parse_email(one, DocumentLimits()).message_id

    assert first == parse_email(one, DocumentLimits()).message_id
    assert first == f"<sha256-{hashlib.sha256(one).hexdigest()}@mailbot.invalid>"
    assert first != parse_email(two, DocumentLimits()).message_id


@pytest.mark.parametrize(
    ("from_header", "expected"),
    [
        ('From: "Smith, Jo" <Jo.Smith@NHS.net>', "jo.smith@nhs.net"),
        ("From: jo@police.uk (Jo)", "jo@police.uk"),
        ("From: not an address", ""),
        ("From: <>", ""),
        ("X-No-From: 1", ""),
    ],
)
def test_sender_is_bare_lowercase_address(from_header: str, expected: str) -> None:
    """GIVEN various From headers WHEN parsed THEN sender is the bare address or ''."""
    raw = f"{from_header}\nSubject: s\n\nbody\n".encode()

    assert parse_email(raw, DocumentLimits()).sender == expected


def test_date_without_zone_becomes_aware_utc() -> None:
    """GIVEN a Date in -0000 (zone unknown) WHEN parsed THEN sent_at is aware, in UTC."""
    raw = b"From: a@example.org\nDate: Mon, 02 Nov 2026 09:15:00 -0000\n\nbody\n"

    sent_at = parse_email(raw, DocumentLimits()).sent_at

    assert sent_at is not None
    assert sent_at.utcoffset() is not None
    assert sent_at.isoformat() == "2026-11-02T09:15:00+00:00"


def test_oversized_email_keeps_headers() -> None:
    """GIVEN an email over max_email_bytes WHEN parsed THEN headers read, one marker, no body."""
    raw = (EMAILS / "plain-attachment.eml").read_bytes()

    parsed = parse_email(raw, DocumentLimits(max_email_bytes=1000))

    assert parsed.message_id == "<plain-attachment@example.gov.uk>"
    assert parsed.sender == "jo.bloggs@example.gov.uk"
    assert [is_oversized(a) for a in parsed.attachments] == [True]
    assert parsed.body_text == ""


def test_pathological_nesting_is_unreadable_not_a_crash() -> None:
    """GIVEN 5,000 nested message/rfc822 headers WHEN parsed THEN a marker, not an exception."""
    raw = b"From: a@example.org\nContent-Type: message/rfc822\n\n" * 5000

    parsed = parse_email(raw, DocumentLimits())

    assert parsed.sender == "a@example.org"
    assert [is_oversized(a) for a in parsed.attachments] == [True]


@pytest.mark.parametrize(
    "raw",
    [
        b"",
        b"\xff\xfe\x00",
        b"\n\n\n",
        b"Content-Type: multipart/mixed; boundary=x\n\n"
        + b"--x\nContent-Type: multipart/mixed\n\n" * 500,
        b"Content-Type: multipart/mixed\n\n--\n--\n",
        b"Content-Type: application/octet-stream\nContent-Transfer-Encoding: base64\n\n!!!%%%",
        b'Message-ID: <<<>>>\nFrom: "\nDate: 99 Foo 99999 99:99\nSubject: =?x-unknown?q?a?=\n\n',
        b"Content-Type: text/plain; charset=x-nonexistent\n\n\xe9\xe9",
        b"Content-Disposition: attachment; filename*=x-bad''%ff%fe\n\nabc",
    ],
)
def test_hostile_inputs_never_raise(raw: bytes) -> None:
    """GIVEN malformed bytes WHEN parsed THEN a ParsedEmail comes back with a message id."""
    parsed = parse_email(raw, DocumentLimits())

    assert parsed.message_id.startswith("<")
    assert parsed.message_id.endswith(">")


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(data=st.data())
def test_mutated_golden_emails_never_raise(data: st.DataObject) -> None:
    """GIVEN a golden email with random bytes changed, cut or inserted WHEN parsed THEN no raise."""
    raw = bytearray((EMAILS / f"{data.draw(st.sampled_from(GOLDEN))}.eml").read_bytes())
    for _ in range(data.draw(st.integers(1, 10))):
        pos = data.draw(st.integers(0, len(raw)))
        raw[pos : pos + data.draw(st.integers(0, 40))] = data.draw(st.binary(max_size=40))

    parsed = parse_email(bytes(raw), DocumentLimits())

    assert isinstance(parsed, ParsedEmail)
    assert "\n" not in parsed.subject
    assert "\r" not in parsed.subject
    assert all(a.filename is None or "/" not in a.filename for a in parsed.attachments)
