"""Hostile emails, where the attack is in the MIME layer rather than in the Word document.

A partner's mailbox (or an attacker's) can send mail that no client would compose: headers
with CR/LF smuggled in to add recipients, names in no declared charset, forwards nested ten
deep, winmail.dat with junk, multiparts that never close, tens of thousands of parts, encoded
words by the thousand. Each builder returns one whole .eml (LF line ends, as in a Maildir),
from a West Midlands Police address so that the daemon tests can open the corpus's encrypted
files with the corpus password; `tests/hostile_corpus.EMAILS` names them with the code the
daemon must give. The bytes are built by hand where the standard library would tidy the
hostility away.
"""

from __future__ import annotations

import base64
import quopri
import random
from collections.abc import Callable

from tests.data.emails.make_emails import build_tnef

SENDER = "pc.adams@west-midlands.pnn.police.uk"
TO = "marac_referrals@west-midlands.pnn.police.uk"
DOCX = "application/vnd.openxmlformats-officedocument.wordprocessingml.document"
DATE = "Mon, 02 Nov 2026 09:15:00 +0000"


def headers(
    name: str, subject: str = "MARAC referral", *, extra: bytes = b"", sender: str = SENDER
) -> bytes:
    return (
        f"From: {sender}\nTo: {TO}\nSubject: {subject}\nDate: {DATE}\n"
        f"Message-ID: <hostile-{name}@west-midlands.pnn.police.uk>\nMIME-Version: 1.0\n"
    ).encode("utf-8", "surrogateescape") + extra


def b64(data: bytes) -> bytes:
    return base64.encodebytes(data)


def multipart(
    name: str,
    parts: list[bytes],
    *,
    subject: str = "MARAC referral",
    extra: bytes = b"",
    boundary: str = "==hostile==",
) -> bytes:
    body = b"".join(f"--{boundary}\n".encode() + p + b"\n" for p in parts)
    return (
        headers(name, subject, extra=extra)
        + f'Content-Type: multipart/mixed; boundary="{boundary}"\n\n'.encode()
        + body
        + f"--{boundary}--\n".encode()
    )


def text_part(text: str = "Please find attached a MARAC referral.") -> bytes:
    return b"Content-Type: text/plain; charset=utf-8\n\n" + text.encode() + b"\n"


def attachment(
    data: bytes,
    filename: bytes = b'"MARAC referral.docx"',
    content_type: str = DOCX,
    encoding: str = "base64",
) -> bytes:
    payload = b64(data) if encoding == "base64" else data
    return (
        f"Content-Type: {content_type}\nContent-Transfer-Encoding: {encoding}\n".encode()
        + b"Content-Disposition: attachment; filename="
        + filename
        + b"\n\n"
        + payload
    )


def with_form(
    name: str,
    form: bytes,
    *,
    subject: str = "MARAC referral",
    filename: bytes = b'"MARAC referral.docx"',
    extra: bytes = b"",
) -> bytes:
    return multipart(name, [text_part(), attachment(form, filename)], subject=subject, extra=extra)


# -- builders: each takes the base form (a valid referral) and returns an email -------------


def crlf_in_subject(form: bytes) -> bytes:
    """An encoded-word Subject decoding to CR/LF + "Bcc: attacker", trying to add a header."""
    return with_form(
        "crlf-subject", form, subject="=?utf-8?q?Referral=0D=0ABcc=3A_attacker=40evil=2Eexample?="
    )


def crlf_in_filename(form: bytes) -> bytes:
    """An attachment name holding CR/LF and a path: '../../etc/cron.d/x\\r\\nBcc:.docx'."""
    name = b'"=?utf-8?q?..=2F..=2Fetc=2Fcron.d=2Fx=0D=0ABcc=3A_a=40evil.example.docx?="'
    return with_form("crlf-filename", form, filename=name)


def crlf_in_message_id(form: bytes) -> bytes:
    """A Message-ID with a bare CR and a second header smuggled after it."""
    raw = with_form("crlf-msgid", form)
    return raw.replace(
        b"Message-ID: <hostile-crlf-msgid",
        b"Message-ID: <hostile-crlf-msgid\rBcc: x@evil.example\r",
        1,
    )


def latin1_filename(form: bytes) -> bytes:
    """The form named 'r\\xe9f\\xe9rral.docx' in raw Latin-1 bytes, no charset declared."""
    return with_form("latin1-name", form, filename=b'"r\xe9f\xe9rral.docx"')


def invalid_utf8_subject(form: bytes) -> bytes:
    """A Subject of invalid UTF-8 bytes (\\xff\\xfe, a lone continuation byte)."""
    return with_form("bad-utf8-subject", form, subject="MARAC \udcff\udcfe\udc80 referral")


def nested_ten_deep(form: bytes) -> bytes:
    """The form inside a forward of a forward... ten message/rfc822 levels deep."""
    inner = with_form("nested-10-inner", form)
    for level in range(10):
        inner = multipart(
            f"nested-{level}",
            [text_part(f"Forward {level}"), b"Content-Type: message/rfc822\n\n" + inner],
            boundary=f"==level-{level}==",
        )
    return inner.replace(b"<hostile-nested-9@", b"<hostile-nested-ten-deep@", 1)


def multipart_two_hundred_deep(form: bytes) -> bytes:
    """Multipart inside multipart, 200 levels, with the form at the bottom (past the 64 levels
    looked into: the form is not found, and the email is unreadable, not without attachment)."""
    body = attachment(form)
    for level in range(200):
        body = (
            f'Content-Type: multipart/mixed; boundary="b{level}"\n\n--b{level}\n'.encode()
            + body
            + f"\n--b{level}--\n".encode()
        )
    return headers("deep-multipart") + body


def many_parts(_: bytes, count: int = 12_000, name: str = "many-parts") -> bytes:
    """12,000 empty parts (over the 2,000 an email may have: refused before parsing)."""
    parts = b"--b\n\n\n" * count
    return headers(name) + b'Content-Type: multipart/mixed; boundary="b"\n\n' + parts + b"--b--\n"


def hundred_thousand_parts(_: bytes) -> bytes:
    """100,000 empty parts: ~30 s in the standard parser, now refused before parsing."""
    return many_parts(_, 100_000, "hundred-thousand-parts")


def many_attachments(form: bytes) -> bytes:
    """60 copies of a tiny Word document, over the 50-attachment limit, then the form."""
    from tests.hostile_blocks import minimal_docx

    tiny = attachment(minimal_docx(), b'"note.docx"')
    return multipart("many-attachments", [text_part(), *[tiny] * 60, attachment(form)])


def unterminated_multipart(form: bytes) -> bytes:
    """A multipart whose closing boundary never comes and whose base64 stops mid-line."""
    raw = with_form("unterminated", form)
    return raw[: raw.rindex(b"--==hostile==--") - 200]


def no_boundary(form: bytes) -> bytes:
    """multipart/mixed with no boundary parameter at all."""
    raw = with_form("no-boundary", form)
    return raw.replace(b'; boundary="==hostile=="', b"", 1)


def bad_base64(form: bytes) -> bytes:
    """The form's base64 with junk characters and broken padding every few lines."""
    lines = b64(form).split(b"\n")
    broken = b"\n".join(line + b"!!=" if n % 7 == 3 else line for n, line in enumerate(lines))
    part = (
        f"Content-Type: {DOCX}\nContent-Transfer-Encoding: base64\n".encode()
        + b'Content-Disposition: attachment; filename="r.docx"\n\n'
        + broken
    )
    return multipart("bad-base64", [text_part(), part])


def quoted_printable_form(form: bytes) -> bytes:
    """The form sent quoted-printable (legal, unusual for binary)."""
    part = (
        f"Content-Type: {DOCX}\nContent-Transfer-Encoding: quoted-printable\n".encode()
        + b'Content-Disposition: attachment; filename="r.docx"\n\n'
        + quopri.encodestring(form)
    )
    return multipart("quoted-printable", [text_part(), part])


def unknown_encoding(form: bytes) -> bytes:
    """The form with Content-Transfer-Encoding: x-uuencode but base64 inside."""
    return multipart(
        "x-uuencode",
        [
            text_part(),
            attachment(form).replace(
                b"Content-Transfer-Encoding: base64", b"Content-Transfer-Encoding: x-uuencode"
            ),
        ],
    )


def form_as_text_plain(form: bytes) -> bytes:
    """The form labelled text/plain with a .txt name: mailbot judges bytes, not labels."""
    return multipart(
        "text-plain-form",
        [text_part(), attachment(form, b'"referral.txt"', content_type="text/plain")],
    )


def encoded_word_flood(form: bytes) -> bytes:
    """A Subject of 4,000 encoded words (each costs the header decoder a regex and a decode)."""
    subject = " ".join(["=?utf-8?b?UmVmZXJyYWw=?="] * 4_000)
    return with_form("encoded-words", form, subject=subject)


def encoded_word_deluge(form: bytes) -> bytes:
    """A Subject of 16,000 encoded words: ~15 s and 3 GB in the standard header parser, now
    left unparsed (too many encoded words), so the form is still found and read."""
    subject = " ".join(["=?utf-8?b?UmVmZXJyYWw=?="] * 16_000)
    return with_form("encoded-word-deluge", form, subject=subject)


def rfc2231_flood(form: bytes) -> bytes:
    """A filename split into 3,000 RFC 2231 continuations."""
    parts = "".join(f';\n filename*{n}="a"' for n in range(3_000))
    part = (
        f"Content-Type: {DOCX}\nContent-Transfer-Encoding: base64\n"
        f"Content-Disposition: attachment{parts}\n\n"
    ).encode() + b64(form)
    return multipart("rfc2231-flood", [text_part(), part])


def long_header_line(form: bytes) -> bytes:
    """A 120 KB unfolded X- header line before the form."""
    return with_form("long-header", form, extra=b"X-Junk: " + b"A" * 120_000 + b"\n")


def tnef_with_form(form: bytes) -> bytes:
    """Outlook's winmail.dat carrying the form: found and read like a normal attachment."""
    tnef = build_tnef([("REFERR~1.DOC", "MARAC referral.docx", form)])
    return multipart(
        "tnef-form",
        [text_part(), attachment(tnef, b'"winmail.dat"', content_type="application/ms-tnef")],
    )


def tnef_garbage(_: bytes) -> bytes:
    """A winmail.dat with the TNEF signature followed by 8 KB of random bytes."""
    junk = b"\x78\x9f\x3e\x22" + random.Random(11).randbytes(8192)
    return multipart(
        "tnef-garbage",
        [text_part(), attachment(junk, b'"winmail.dat"', content_type="application/ms-tnef")],
    )


def smime_encrypted(_: bytes) -> bytes:
    """An S/MIME enveloped message (application/pkcs7-mime): nothing mailbot can read."""
    blob = random.Random(12).randbytes(4096)
    return (
        headers("smime-enveloped")
        + b"Content-Type: application/pkcs7-mime; smime-type=enveloped-data;"
        b' name="smime.p7m"\nContent-Transfer-Encoding: base64\n'
        b'Content-Disposition: attachment; filename="smime.p7m"\n\n' + b64(blob)
    )


def binary_garbage(_: bytes) -> bytes:
    """64 KB of random bytes: no headers, no structure, NULs and all."""
    return random.Random(13).randbytes(65_536)


def empty_email(_: bytes) -> bytes:
    """A zero-byte file in the inbox."""
    return b""


def headers_only_nul(form: bytes) -> bytes:
    """NUL bytes and a bare CR inside the From and Subject headers."""
    raw = with_form("nul-headers", form)
    return raw.replace(b"Subject: MARAC referral", b"Subject: MARAC\x00 ref\rerral", 1).replace(
        f"From: {SENDER}".encode(), f"From: pc.adams\x00@{SENDER.split('@')[1]}".encode(), 1
    )


EMAIL_BUILDERS: dict[str, Callable[[bytes], bytes]] = {
    "mime-crlf-subject.eml": crlf_in_subject,
    "mime-crlf-filename.eml": crlf_in_filename,
    "mime-crlf-message-id.eml": crlf_in_message_id,
    "mime-latin1-filename.eml": latin1_filename,
    "mime-invalid-utf8-subject.eml": invalid_utf8_subject,
    "mime-nested-ten-deep.eml": nested_ten_deep,
    "mime-multipart-200-deep.eml": multipart_two_hundred_deep,
    "mime-12000-parts.eml": many_parts,
    "mime-61-attachments.eml": many_attachments,
    "mime-unterminated-multipart.eml": unterminated_multipart,
    "mime-no-boundary.eml": no_boundary,
    "mime-bad-base64.eml": bad_base64,
    "mime-quoted-printable-form.eml": quoted_printable_form,
    "mime-unknown-transfer-encoding.eml": unknown_encoding,
    "mime-form-as-text-plain.eml": form_as_text_plain,
    "mime-encoded-word-flood.eml": encoded_word_flood,
    "mime-rfc2231-flood.eml": rfc2231_flood,
    "mime-120k-header-line.eml": long_header_line,
    "mime-tnef-with-form.eml": tnef_with_form,
    "mime-tnef-garbage.eml": tnef_garbage,
    "mime-smime-enveloped.eml": smime_encrypted,
    "mime-binary-garbage.eml": binary_garbage,
    "mime-empty.eml": empty_email,
    "mime-nul-in-headers.eml": headers_only_nul,
}
