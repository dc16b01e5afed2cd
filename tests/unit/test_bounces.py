"""Reading delivery failure notices: golden pairs, and nothing personal kept."""

from __future__ import annotations

import json
from dataclasses import asdict
from pathlib import Path

import pytest

from mailbot.dispatch.bounces import MAX_BYTES, read_bounce
from tests.conftest import DATA

BOUNCES = DATA / "bounces"
NOTICES = sorted(BOUNCES.glob("*.eml"))
# Words of the notices that are personal data or server text: never in what is read.
PERSONAL = (
    "j.smith",
    "pc.lee",
    "Amy",
    "Adeyemi",
    "Cara",
    "User unknown",
    "RESOLVER",
    "Mailbox full",
    "someone@",
)


@pytest.mark.parametrize("path", NOTICES, ids=[p.stem for p in NOTICES])
def test_each_notice_reads_as_expected(path: Path) -> None:
    """GIVEN a notice as a mail system sends it (tests/data/bounces/NAME.eml)
    WHEN read
    THEN the bounce (or None) is NAME.json: the original's Message-ID, case and kind, the
    action, status and reply code, whether it was a standard report."""
    expected = json.loads(path.with_suffix(".json").read_text())
    bounce = read_bounce(path.read_bytes())
    if expected is None:
        assert bounce is None
        return
    assert bounce is not None
    got = {**asdict(bounce), "failed": bounce.failed}
    assert {k: list(v) if isinstance(v, tuple) else v for k, v in got.items()} == expected


@pytest.mark.parametrize("path", NOTICES, ids=[p.stem for p in NOTICES])
def test_nothing_personal_is_kept(path: Path) -> None:
    """GIVEN any notice
    WHEN read
    THEN no address, name or server text of it is in the result or its reason."""
    bounce = read_bounce(path.read_bytes())
    text = repr(bounce) + (bounce.reason if bounce is not None else "")
    for word in PERSONAL:
        assert word not in text


def test_an_ordinary_referral_email_is_no_notice() -> None:
    """GIVEN an email from a referrer with an attachment and an Undeliverable-like subject
    WHEN read
    THEN it is no notice (it is not from a mail system)."""
    raw = (
        b"From: pc.adams@west-midlands.pnn.police.uk\r\nSubject: Returned mail: referral\r\n"
        b"Content-Type: multipart/mixed; boundary=x\r\n\r\n--x\r\nContent-Type: text/plain"
        b"\r\n\r\nForm attached.\r\n--x--\r\n"
    )
    assert read_bounce(raw) is None


def test_a_huge_notice_is_read_from_its_start_only() -> None:
    """GIVEN a Postfix report whose returned copy carries 20 MB of attachment
    WHEN read
    THEN it is read from its first MAX_BYTES and still names the original."""
    raw = (BOUNCES / "postfix-550.eml").read_bytes()
    end = raw.rindex(b"--A1B2C3D4E5")
    huge = raw[:end] + b"A" * (20 * 1024 * 1024) + b"\n" + raw[end:]
    bounce = read_bounce(huge)
    assert len(huge) > MAX_BYTES
    assert bounce is not None
    assert bounce.message_ids == ("<5f1d2c3b4a5968778695a4b3c2d1e0f9@west-midlands.pnn.police.uk>",)


def test_a_report_of_ten_thousand_parts_is_no_trouble() -> None:
    """GIVEN a multipart/report with 10,000 empty parts (a parser's worst shape)
    WHEN read
    THEN it returns (a notice naming nothing, or none) rather than hanging."""
    parts = b"".join(b"--b\r\nContent-Type: text/plain\r\n\r\n\r\n" for _ in range(10_000))
    raw = (
        b"From: MAILER-DAEMON@x.example\r\nSubject: Undelivered Mail\r\n"
        b"Content-Type: multipart/report; report-type=delivery-status; boundary=b\r\n\r\n"
        + parts
        + b"--b--\r\n"
    )
    bounce = read_bounce(raw)
    assert bounce is None or bounce.message_ids == ()
