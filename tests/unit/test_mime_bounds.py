"""Unit tests for `mailbot.ingest.mime.bounds` and how `parse_email` reports what is past it.

The standard parser's cost is bounded before it runs (`too_costly`) and while it runs
(`HeaderBudget`); what is past a bound is a marker attachment (`unreadable_document`), never a
form silently missed. Time and memory per input are checked, with the daemon's own code in a
separate process, by tests/crash/test_hostile_bounds.py, which runs the large emails here too.
"""

from __future__ import annotations

import zlib

import pytest

from mailbot.codes import Reason
from mailbot.ingest.mime import bounds as mimebounds
from mailbot.ingest.mime.bounds import (
    HEADER_BUDGET_CHARS,
    HEADER_SECTION_BYTES,
    MAX_BOUNDARY_MATCHES,
    MAX_ENCODED_WORDS,
    MAX_HEADER_CHARS,
    MAX_LINES,
    MAX_PARTS,
    RAW_HEADER_CHARS,
    HeaderBudget,
    too_costly,
)
from mailbot.ingest.mime.parse import is_oversized, parse_email
from mailbot.intake.stages import OpenedForm, Unopened, open_referral
from mailbot.models import DocKind, DocumentLimits, ParsedEmail
from tests import hostile_corpus as corpus
from tests import hostile_mail as hm
from tests.hostile_blocks import TESTS_DIR, referral_docx

LIMITS = DocumentLimits()
WORD = "=?utf-8?b?UmVmZXJyYWw=?="  # "Referral"
FORM = referral_docx(zlib.crc32(b"mime-bounds"))


def markers(parsed: ParsedEmail) -> int:
    return sum(is_oversized(a) for a in parsed.attachments)


def documents(parsed: ParsedEmail) -> list[str | None]:
    return [a.filename for a in parsed.attachments if a.kind is DocKind.DOCX]


def nested(depth: int) -> bytes:
    body = hm.attachment(FORM)
    for level in range(depth):
        body = (
            f'Content-Type: multipart/mixed; boundary="b{level}"\n\n--b{level}\n'.encode()
            + body
            + f"\n--b{level}--\n".encode()
        )
    return hm.headers("nested") + body


# -- the two measured inputs ------------------------------------------------------------------


@pytest.mark.timeout(10)
def test_sixteen_thousand_encoded_words_leave_the_subject_unparsed() -> None:
    """GIVEN the form in an email whose Subject is 16,000 encoded words (~15 s and 3 GB in
    the standard header parser)
    WHEN parsed and opened
    THEN the Subject is kept as raw text, cut short, and the form is still found and read."""
    raw = corpus.build_email("mime-16000-encoded-words.eml")
    parsed = parse_email(raw, LIMITS)
    assert parsed.subject.startswith(WORD)
    assert len(parsed.subject) <= RAW_HEADER_CHARS
    assert parsed.sender == hm.SENDER
    assert documents(parsed) == ["MARAC referral.docx"]
    assert markers(parsed) == 1  # the header past its bound, told like any other limit
    assert isinstance(open_referral(parsed, [], LIMITS), OpenedForm)


@pytest.mark.timeout(10)
def test_a_hundred_thousand_parts_are_refused_before_parsing() -> None:
    """GIVEN an email of 100,000 empty parts (~30 s in the standard parser)
    WHEN parsed and opened
    THEN only its headers are read and it is unreadable_document, not no_attachment."""
    parsed = parse_email(corpus.build_email("mime-100000-parts.eml"), LIMITS)
    assert parsed.message_id == "<hostile-hundred-thousand-parts@west-midlands.pnn.police.uk>"
    assert [is_oversized(a) for a in parsed.attachments] == [True]
    assert open_referral(parsed, [], LIMITS) == Unopened(code=Reason.UNREADABLE_DOCUMENT)


# -- nesting -----------------------------------------------------------------------------------


def test_a_form_too_deeply_nested_is_unreadable_not_missing() -> None:
    """GIVEN the form at the bottom of multiparts nested 200 deep (past the 64 looked into)
    WHEN parsed and opened
    THEN a marker stands for what was not looked at: unreadable_document, not no_attachment."""
    parsed = parse_email(nested(200), LIMITS)
    assert documents(parsed) == []
    assert markers(parsed) == 1
    assert open_referral(parsed, [], LIMITS) == Unopened(code=Reason.UNREADABLE_DOCUMENT)


def test_a_form_nested_within_the_limit_is_found() -> None:
    """GIVEN the form at the bottom of multiparts nested 60 deep
    WHEN parsed
    THEN it is found, with no marker."""
    parsed = parse_email(nested(60), LIMITS)
    assert documents(parsed) == ["MARAC referral.docx"]
    assert markers(parsed) == 0


def test_a_forwarded_email_too_costly_to_parse_becomes_a_marker() -> None:
    """GIVEN an email carrying, as a file, a forwarded email of 12,000 parts
    WHEN parsed
    THEN the forward is not parsed: a marker with its file name stands for it."""
    inner = hm.many_parts(b"")
    raw = hm.multipart(
        "forward",
        [
            hm.text_part(),
            hm.attachment(inner, b'"forward.eml"', content_type="application/octet-stream"),
        ],
    )
    parsed = parse_email(raw, LIMITS)
    assert [(a.filename, is_oversized(a)) for a in parsed.attachments] == [("forward.eml", True)]


# -- the pre-scan ------------------------------------------------------------------------------


def test_ordinary_emails_are_not_too_costly() -> None:
    """GIVEN the golden emails and the hostile ones parsed in full before
    WHEN pre-scanned
    THEN none is too costly: the limits sit far above real mail."""
    emails = [p.read_bytes() for p in (TESTS_DIR / "data" / "emails").glob("*.eml")]
    emails += [
        (corpus.HOSTILE_DIR / n).read_bytes()
        for n in (
            "mime-61-attachments.eml",
            "mime-120k-header-line.eml",
            "mime-nested-ten-deep.eml",
            "mime-multipart-200-deep.eml",
            "mime-rfc2231-flood.eml",
        )
    ]
    assert len(emails) > 15
    assert not any(too_costly(raw) for raw in emails)


@pytest.mark.parametrize(
    ("raw", "costly"),
    [
        (b"\n" * MAX_LINES, False),
        (b"\n" * (MAX_LINES + 1), True),
        (b"\r" * (MAX_LINES + 1), True),  # bare CR ends a line for the parser too
        (b"\r\n" * MAX_LINES, False),  # CRLF is one line end
        (b"X: y\n\n" + b"--b\n" * MAX_PARTS, False),
        (b"X: y\n\n" + b"--b\n" * (MAX_PARTS + 1), True),
        (b"X: y\n\n" + b"--b\r" * (MAX_PARTS + 1), True),
        (b"X: y\n\n" + b"BoUnDaRy\n" * 1000 + b"\n" * (MAX_BOUNDARY_MATCHES // 1000), True),
        (b"X: y\n\n" + b"boundary\n" * 10 + b"\n" * (MAX_BOUNDARY_MATCHES // 20), False),
        (b"X-A: " + b"a" * HEADER_SECTION_BYTES + b"\n\nbody", True),
        (b"X-A: " + b"a" * (HEADER_SECTION_BYTES - 100) + b"\n\nbody", False),
        (b"X-A: " + b"a" * (HEADER_SECTION_BYTES - 10), False),  # only headers, and short
    ],
    ids=[
        "lines-at-limit",
        "lines-over",
        "bare-cr-over",
        "crlf-at-limit",
        "parts-at-limit",
        "parts-over",
        "parts-cr-over",
        "boundary-matches-over",
        "boundary-matches-under",
        "header-section-over",
        "header-section-under",
        "no-blank-line-short",
    ],
)
def test_pre_scan_limits(raw: bytes, costly: bool) -> None:
    """GIVEN bytes just inside or just past one pre-scan limit
    WHEN pre-scanned
    THEN too costly exactly when past it."""
    assert too_costly(raw) is costly


def test_too_costly_email_still_has_its_headers() -> None:
    """GIVEN the form in an email whose body has more lines than the parser may read
    WHEN parsed
    THEN the headers are read, and one marker stands for the body."""
    raw = hm.with_form("many-lines", FORM) + b"\n" * (MAX_LINES + 1)
    parsed = parse_email(raw, LIMITS)
    assert parsed.sender == hm.SENDER
    assert parsed.subject == "MARAC referral"
    assert [is_oversized(a) for a in parsed.attachments] == [True]


# -- the header budget -------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("value", "parsed"),
    [
        (" ".join([WORD] * MAX_ENCODED_WORDS), True),
        (" ".join([WORD] * (MAX_ENCODED_WORDS + 1)), False),
        ("x" * MAX_HEADER_CHARS, True),
        ("x" * (MAX_HEADER_CHARS + 1), False),
    ],
    ids=["words-at-limit", "words-over", "chars-at-limit", "chars-over"],
)
def test_one_header_is_parsed_only_when_short_and_plain(value: str, parsed: bool) -> None:
    """GIVEN a Subject at or just past the encoded-word or length limit
    WHEN fetched through the budget's policy
    THEN it is decoded at the limit, and past it handed back raw, cut short and flagged."""
    budget = HeaderBudget()
    fetched = str(budget.policy.header_fetch_parse("Subject", value))
    assert budget.exceeded is not parsed
    if parsed:
        assert "=?" not in fetched
    else:
        assert fetched == value[:RAW_HEADER_CHARS]


def test_the_budget_bounds_the_whole_email() -> None:
    """GIVEN header values fetched one after another, each short enough on its own
    WHEN they add up past the email's budget
    THEN the rest are handed back raw: many parts cannot each cost a full parse."""
    budget = HeaderBudget()
    value = "application/x; " + "; ".join(f'p{n}="v"' for n in range(600))
    fetches = HEADER_BUDGET_CHARS // len(value)
    for _ in range(fetches):  # a parsed header is a str subclass with its parameters
        assert type(budget.policy.header_fetch_parse("Content-Type", value)) is not str
    assert not budget.exceeded
    assert type(budget.policy.header_fetch_parse("Content-Type", value)) is str
    assert budget.exceeded


def test_long_content_headers_still_find_the_form() -> None:
    """GIVEN the form whose Content-Type and Content-Disposition are each longer than a
    header may be to be parsed
    WHEN parsed and opened
    THEN the raw text still gives the file name: the form is found and read, with a marker."""
    padding = "".join(f'; x{n}="y"' for n in range(1000))
    part = (
        f"Content-Type: {hm.DOCX}{padding}\nContent-Transfer-Encoding: base64\n"
        f'Content-Disposition: attachment; filename="r.docx"{padding}\n\n'
    ).encode()
    raw = hm.multipart("long-content", [hm.text_part(), part + hm.b64(FORM)])
    parsed = parse_email(raw, LIMITS)
    assert documents(parsed) == ["r.docx"]
    assert markers(parsed) == 1
    assert isinstance(open_referral(parsed, [], LIMITS), OpenedForm)


def test_a_from_too_costly_to_parse_is_read_undecoded() -> None:
    """GIVEN a From whose display name is 150 encoded words
    WHEN parsed
    THEN the address is read from the undecoded value (as when decoding fails)."""
    name = " ".join(["=?utf-8?q?Jo?="] * 150)
    raw = hm.with_form("costly-from", FORM).replace(
        f"From: {hm.SENDER}".encode(), f"From: {name} <{hm.SENDER}>".encode(), 1
    )
    assert parse_email(raw, LIMITS).sender == hm.SENDER


def test_budget_constants_leave_room_for_real_mail(monkeypatch: pytest.MonkeyPatch) -> None:
    """GIVEN the largest legitimate email in the corpus (61 attachments)
    WHEN parsed
    THEN it spends well under half the header budget and gets no marker."""
    spent: list[int] = []
    original = mimebounds.HeaderBudget.allows

    def counting(self: HeaderBudget, value: str) -> bool:
        spent.append(len(value))
        return original(self, value)

    monkeypatch.setattr(mimebounds.HeaderBudget, "allows", counting)
    parsed = parse_email((corpus.HOSTILE_DIR / "mime-61-attachments.eml").read_bytes(), LIMITS)
    assert markers(parsed) == 0
    assert sum(spent) < HEADER_BUDGET_CHARS / 2
