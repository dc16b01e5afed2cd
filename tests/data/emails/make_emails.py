"""Rebuild the golden emails in this folder: `python tests/data/emails/make_emails.py`.

Each case writes `NAME.eml` and `NAME.expected.json`. The expectation is written from what the
case put into the email (its payloads, names and headers), never from `parse_email`'s output,
so the golden pairs check the parser rather than restate it. Output is byte-for-byte
reproducible (fixed boundaries, dates, zip timestamps; LF line ends, as in a Maildir);
`test_mime.py` checks that the committed files match a fresh build.

`build_tnef` writes a TNEF stream (winmail.dat) following [MS-OXTNEF]: version, OEM code
page, message class, then per attachment attAttachRendData, attAttachTitle, attAttachData and
attAttachment (MAPI properties: PR_ATTACH_METHOD, PR_ATTACH_LONG_FILENAME). It was checked
against the independent `tnef` decoder (Debian package `tnef`) as well as `tnefparse`.
"""

from __future__ import annotations

import hashlib
import io
import json
import struct
import sys
import zipfile
import zlib
from collections.abc import Callable
from email import policy
from email.message import EmailMessage, MIMEPart
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
BASE_DOCX = HERE.parent / "forms" / "base.docx"
DATE = "Mon, 02 Nov 2026 09:15:00 +0000"
DATE_ISO = "2026-11-02T09:15:00+00:00"
OVERSIZED = "application/x-mailbot-oversized"
DOCX_TYPE = "application/vnd.openxmlformats-officedocument.wordprocessingml.document"

Case = tuple[bytes, dict[str, Any]]


def tiny_docx(label: str) -> bytes:
    """A minimal but genuine OOXML Word package (sniffs as docx), a few hundred bytes."""
    parts = {
        "[Content_Types].xml": '<?xml version="1.0"?><Types xmlns="http://schemas.openxmlformats'
        '.org/package/2006/content-types"><Override PartName="/word/document.xml" ContentType='
        '"application/vnd.openxmlformats-officedocument.wordprocessingml.document.main+xml"/>'
        "</Types>",
        "word/document.xml": '<?xml version="1.0"?><w:document xmlns:w="http://schemas.'
        'openxmlformats.org/wordprocessingml/2006/main"><w:body><w:p><w:r><w:t>'
        f"{label}</w:t></w:r></w:p></w:body></w:document>",
    }
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        for name, text in parts.items():
            archive.writestr(zipfile.ZipInfo(name, date_time=(2026, 11, 2, 9, 0, 0)), text)
    return buffer.getvalue()


def tiny_png() -> bytes:
    """A valid 1x1 PNG, like a signature logo."""

    def chunk(kind: bytes, body: bytes) -> bytes:
        crc = zlib.crc32(kind + body) & 0xFFFFFFFF
        return struct.pack(">I", len(body)) + kind + body + struct.pack(">I", crc)

    header = struct.pack(">IIBBBBB", 1, 1, 8, 2, 0, 0, 0)
    pixels = zlib.compress(b"\x00\xff\x00\x00")
    return (
        b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", pixels) + chunk(b"IEND", b"")
    )


def big_jpeg(size: int) -> bytes:
    """JPEG magic followed by padding: sniffs as an image, bigger than a logo."""
    return b"\xff\xd8\xff\xe0\x00\x10JFIF\x00" + bytes(range(256)) * (size // 256)


def _tnef_attr(level: int, attr_id: int, data: bytes) -> bytes:
    checksum = sum(data) & 0xFFFF
    return struct.pack("<BII", level, attr_id, len(data)) + data + struct.pack("<H", checksum)


def _mapi_props(props: list[tuple[int, int, bytes]]) -> bytes:
    out = struct.pack("<I", len(props))
    for prop_type, prop_id, value in props:
        out += struct.pack("<HH", prop_type, prop_id)
        if prop_type in (0x001E, 0x001F, 0x0102):  # string8, unicode, binary: counted, padded
            out += struct.pack("<II", 1, len(value)) + value + b"\x00" * (-len(value) % 4)
        else:
            out += value
    return out


def build_tnef(files: list[tuple[str, str, bytes]], short_name_encoding: str = "ascii") -> bytes:
    """A winmail.dat holding `files` as (short 8.3 name, long name, data)."""
    message, attachment = 0x01, 0x02
    out = struct.pack("<IH", 0x223E9F78, 0x4D2E)
    out += _tnef_attr(message, 0x00089006, struct.pack("<I", 0x00010000))  # attTnefVersion
    out += _tnef_attr(message, 0x00069007, struct.pack("<II", 1252, 0))  # attOemCodepage
    out += _tnef_attr(message, 0x00078008, b"IPM.Microsoft Mail.Note\x00")  # attMessageClass
    for short, long, data in files:
        rend = struct.pack("<HIHHI", 1, 0xFFFFFFFF, 32, 32, 0)  # AttachType file, no position
        out += _tnef_attr(attachment, 0x00069002, rend)  # attAttachRendData starts one
        out += _tnef_attr(attachment, 0x00018010, short.encode(short_name_encoding) + b"\x00")
        out += _tnef_attr(attachment, 0x0006800F, data)  # attAttachData
        props = [
            (0x0003, 0x3705, struct.pack("<I", 1)),  # PR_ATTACH_METHOD = ATTACH_BY_VALUE
            (0x001F, 0x3707, (long + "\x00").encode("utf-16-le")),  # PR_ATTACH_LONG_FILENAME
        ]
        out += _tnef_attr(attachment, 0x00069005, _mapi_props(props))  # attAttachment
    return out


def _base(subject: str, msgid: str | None = "<{name}@example.gov.uk>") -> EmailMessage:
    msg = EmailMessage(policy=policy.default)
    msg["From"] = "Jo Bloggs <Jo.Bloggs@Example.GOV.UK>"
    msg["To"] = "referrals@marac.example.org"
    msg["Subject"] = subject
    msg["Date"] = DATE
    if msgid:
        msg["Message-ID"] = msgid
    return msg


def _finish(msg: EmailMessage) -> bytes:
    for n, part in enumerate(msg.walk()):
        if part.is_multipart() and not part.get_content_type().startswith("message/"):
            part.set_boundary(f"==mailbot-test-{n}==")
    return msg.as_bytes(policy=policy.default)


def _att(name: str | None, ctype: str, data: bytes) -> dict[str, Any]:
    return {
        "filename": name,
        "content_type": ctype,
        "kind": _kind(data),
        "size": len(data),
        "sha256": hashlib.sha256(data).hexdigest(),
    }


def _kind(data: bytes) -> str:
    if not data:
        return "empty"
    if data.startswith(b"PK"):
        return "docx"
    if data.startswith((b"\x89PNG", b"\xff\xd8\xff")):
        return "image"
    return "other"


def _expect(
    msgid: str, subject: str, attachments: list[dict[str, Any]], **extra: Any
) -> dict[str, Any]:
    return {
        "message_id": msgid,
        "sender": "jo.bloggs@example.gov.uk",
        "subject": subject,
        "sent_at": DATE_ISO,
        "in_reply_to": None,
        "attachments": attachments,
        **extra,
    }


def plain_attachment() -> Case:
    msg = _base("MARAC referral", "<plain-attachment@example.gov.uk>")
    msg.set_content("Please find attached a MARAC referral.\n")
    form = BASE_DOCX.read_bytes()
    msg.add_attachment(form, "application", DOCX_TYPE.split("/")[1], filename="referral.docx")
    expected = _expect(
        "<plain-attachment@example.gov.uk>",
        "MARAC referral",
        [_att("referral.docx", DOCX_TYPE, form)],
        body_contains="Please find attached a MARAC referral.",
    )
    return _finish(msg), expected


def forwarded_message() -> Case:
    inner = _base("MARAC referral", "<original@police.example>")
    inner.set_content("Referral attached.\n")
    form = BASE_DOCX.read_bytes()
    inner.add_attachment(form, "application", DOCX_TYPE.split("/")[1], filename="form.docx")
    outer = _base("Fwd: MARAC referral", "<forwarded-message@example.gov.uk>")
    outer.set_content("Forwarding the referral below.\n")
    outer.add_attachment(inner)
    expected = _expect(
        "<forwarded-message@example.gov.uk>",
        "Fwd: MARAC referral",
        [_att("form.docx", DOCX_TYPE, form)],
        body_contains="Forwarding the referral below.",
    )
    return _finish(outer), expected


def forwarded_eml_octet_stream() -> Case:
    inner = _base("MARAC referral", "<original-eml@police.example>")
    inner.set_content("Referral attached.\n")
    form = tiny_docx("inside an .eml")
    inner.add_attachment(form, "application", "octet-stream", filename="form.docx")
    outer = _base("FW: referral", "<forwarded-eml-octet-stream@example.gov.uk>")
    outer.set_content("See attached email.\n")
    outer.add_attachment(_finish(inner), "application", "octet-stream", filename="original.eml")
    expected = _expect(
        "<forwarded-eml-octet-stream@example.gov.uk>",
        "FW: referral",
        [_att("form.docx", "application/octet-stream", form)],
    )
    return _finish(outer), expected


def winmail_tnef() -> Case:
    form = tiny_docx("inside winmail.dat")
    notes = b"Risk notes for the meeting.\r\n"
    blob = build_tnef(
        [("REFERR~1.DOC", "Referral Form 2026.docx", form), ("NOTES.TXT", "notes.txt", notes)]
    )
    msg = _base("Referral from Outlook", "<winmail-tnef@example.gov.uk>")
    msg.set_content("Referral attached.\n")
    msg.add_attachment(blob, "application", "ms-tnef", filename="winmail.dat")
    expected = _expect(
        "<winmail-tnef@example.gov.uk>",
        "Referral from Outlook",
        [
            _att("Referral Form 2026.docx", "application/octet-stream", form),
            _att("notes.txt", "application/octet-stream", notes),
        ],
    )
    return _finish(msg), expected


def signature_images() -> Case:
    msg = _base("Referral with signature", "<signature-images@example.gov.uk>")
    msg.set_content("Referral attached.\n")
    msg.add_alternative(
        '<p>Referral attached.</p><img src="cid:logo@sig"><p>Jo Bloggs</p>', subtype="html"
    )
    parts = msg.get_payload()
    assert isinstance(parts, list)
    html = parts[1]
    assert isinstance(html, MIMEPart)  # the text/html alternative just added
    html.add_related(tiny_png(), "image", "png", cid="<logo@sig>", filename="logo.png")
    msg.add_attachment(
        big_jpeg(40_000), "image", "jpeg", filename="banner.jpg", disposition="inline"
    )
    msg.add_attachment(tiny_png(), "image", "png", filename="image001.png")
    form = tiny_docx("with signature")
    msg.add_attachment(form, "application", DOCX_TYPE.split("/")[1], filename="referral.docx")
    expected = _expect(
        "<signature-images@example.gov.uk>",
        "Referral with signature",
        [_att("referral.docx", DOCX_TYPE, form)],
        body_contains="Referral attached.",
    )
    return _finish(msg), expected


def smime_signed() -> Case:
    content = EmailMessage(policy=policy.default)
    content.set_content("Signed referral attached.\n")
    form = tiny_docx("signed")
    content.add_attachment(form, "application", DOCX_TYPE.split("/")[1], filename="referral.docx")
    signature = EmailMessage(policy=policy.default)
    signature.set_content(
        b"0\x82\x05\x00fake-der-signature", "application", "pkcs7-signature", filename="smime.p7s"
    )
    msg = _base("Signed referral", "<smime-signed@example.gov.uk>")
    msg["MIME-Version"] = "1.0"
    msg["Content-Type"] = 'multipart/signed; protocol="application/pkcs7-signature"; micalg=sha-256'
    msg.set_payload([content, signature])
    expected = _expect(
        "<smime-signed@example.gov.uk>", "Signed referral", [_att("referral.docx", DOCX_TYPE, form)]
    )
    return _finish(msg), expected


def no_attachment() -> Case:
    msg = _base("password", "<no-attachment@example.gov.uk>")
    msg["In-Reply-To"] = "<request-123@marac.example.org>"
    msg.set_content("The password is Sparrow-Lane-77\n", charset="utf-8")
    expected = _expect(
        "<no-attachment@example.gov.uk>",
        "password",
        [],
        in_reply_to="<request-123@marac.example.org>",
        body_contains="The password is Sparrow-Lane-77",
    )
    return _finish(msg), expected


def rfc2231_filename() -> Case:
    name = "Référral form – Ågesen family, Wolverhampton MARAC November 2026.docx"
    msg = _base("Referral", "<rfc2231-filename@example.gov.uk>")
    msg.set_content("Referral attached.\n")
    form = tiny_docx("rfc2231")
    msg.add_attachment(form, "application", DOCX_TYPE.split("/")[1], filename=name)
    expected = _expect(
        "<rfc2231-filename@example.gov.uk>", "Referral", [_att(name, DOCX_TYPE, form)]
    )
    raw = _finish(msg)
    assert b"filename*" in raw, "the policy should have used RFC 2231 parameter encoding"
    return raw, expected


def non_utf8_filename() -> Case:
    msg = _base("Referral", "<non-utf8-filename@example.gov.uk>")
    msg.set_content("Referral attached.\n")
    form = tiny_docx("latin-1 name")
    msg.add_attachment(form, "application", DOCX_TYPE.split("/")[1], filename="PLACEHOLDER.docx")
    raw = _finish(msg).replace(b'"PLACEHOLDER.docx"', b'"r\xe9f\xe9rral.docx"')
    expected = _expect(
        "<non-utf8-filename@example.gov.uk>",
        "Referral",
        [_att("r\ufffdf\ufffdrral.docx", DOCX_TYPE, form)],
    )
    return raw, expected


def header_injection() -> Case:
    form = tiny_docx("injection")
    msg = _base("PLACEHOLDER-SUBJECT", "<header-injection@example.gov.uk>")
    del msg["From"]
    msg["From"] = "PLACEHOLDER-FROM"
    msg.set_content("Referral attached.\n")
    msg.add_attachment(form, "application", DOCX_TYPE.split("/")[1], filename="PLACEHOLDER-1")
    msg.add_attachment(form, "application", DOCX_TYPE.split("/")[1], filename="PLACEHOLDER-2")
    raw = _finish(msg)
    raw = raw.replace(
        b"PLACEHOLDER-SUBJECT", b"=?utf-8?q?Referral=0D=0ABcc=3A_attacker=40evil=2Eexample?="
    )
    raw = raw.replace(
        b"PLACEHOLDER-FROM",
        b"=?utf-8?q?Jo=0D=0ABcc=3A_x=40evil=2Eexample?= <jo.bloggs@example.gov.uk>",
    )
    raw = raw.replace(b'"PLACEHOLDER-1"', b'"../../etc/cron.d/evil.docx"')
    raw = raw.replace(b'"PLACEHOLDER-2"', b'"=?utf-8?q?C=3A=5CUsers=5Cjo=5Cform=0D=0A.docx?="')
    expected = _expect(
        "<header-injection@example.gov.uk>",
        "Referral Bcc: attacker@evil.example",
        [_att("evil.docx", DOCX_TYPE, form), _att("form .docx", DOCX_TYPE, form)],
    )
    return raw, expected


def missing_message_id() -> Case:
    msg = _base("Referral", None)
    del msg["Date"]
    msg.set_content("Referral attached.\n")
    form = tiny_docx("no message id")
    msg.add_attachment(form, "application", DOCX_TYPE.split("/")[1], filename="referral.docx")
    raw = _finish(msg)
    expected = _expect(
        f"<sha256-{hashlib.sha256(raw).hexdigest()}@mailbot.invalid>",
        "Referral",
        [_att("referral.docx", DOCX_TYPE, form)],
        sent_at=None,
    )
    return raw, expected


def nested_forwards() -> Case:
    """Ten forwards deep; the default max_nesting (5) stops at level 5 with a marker."""
    form = tiny_docx("deepest")
    inner = _base("Level 10", "<level-10@example.gov.uk>")
    inner.set_content("Deepest.\n")
    inner.add_attachment(form, "application", DOCX_TYPE.split("/")[1], filename="referral.docx")
    for level in range(9, -1, -1):
        outer = _base(f"Level {level}", f"<level-{level}@example.gov.uk>")
        outer.set_content(f"Forward level {level}.\n")
        outer.add_attachment(f"note {level}\n", filename=f"level-{level}.txt")
        outer.add_attachment(inner)
        inner = outer
    notes = [_att(f"level-{n}.txt", "text/plain", f"note {n}\n".encode()) for n in range(6)]
    expected = _expect("<level-0@example.gov.uk>", "Level 0", [*notes, _att(None, OVERSIZED, b"")])
    return _finish(inner), expected


def huge_attachment() -> Case:
    msg = _base("Large scan", "<huge-attachment@example.gov.uk>")
    msg.set_content("Scan and form attached.\n")
    scan = bytes(range(256)) * 400  # 100 KiB, over the 64 KiB limit of this case
    form = tiny_docx("small enough")
    msg.add_attachment(scan, "application", DOCX_TYPE.split("/")[1], filename="scan.docx")
    msg.add_attachment(form, "application", DOCX_TYPE.split("/")[1], filename="referral.docx")
    expected = _expect(
        "<huge-attachment@example.gov.uk>",
        "Large scan",
        [_att("scan.docx", OVERSIZED, b""), _att("referral.docx", DOCX_TYPE, form)],
        limits={"max_attachment_bytes": 65_536},
    )
    return _finish(msg), expected


def oversized_email() -> Case:
    msg = _base("Too big", "<oversized-email@example.gov.uk>")
    msg.set_content("Everything attached.\n")
    msg.add_attachment(bytes(range(256)) * 40, "application", "octet-stream", filename="big.bin")
    expected = _expect(
        "<oversized-email@example.gov.uk>",
        "Too big",
        [_att(None, OVERSIZED, b"")],
        limits={"max_email_bytes": 8192},
    )
    return _finish(msg), expected


CASES: dict[str, Callable[[], Case]] = {
    make.__name__.replace("_", "-"): make
    for make in (
        plain_attachment,
        forwarded_message,
        forwarded_eml_octet_stream,
        winmail_tnef,
        signature_images,
        smime_signed,
        no_attachment,
        rfc2231_filename,
        non_utf8_filename,
        header_injection,
        missing_message_id,
        nested_forwards,
        huge_attachment,
        oversized_email,
    )
}


def build_all() -> dict[str, Case]:
    return {name: make() for name, make in CASES.items()}


def main() -> None:
    for name, (raw, expected) in build_all().items():
        (HERE / f"{name}.eml").write_bytes(raw)
        (HERE / f"{name}.expected.json").write_text(
            json.dumps(expected, indent=2, ensure_ascii=False) + "\n"
        )
    sys.stdout.write(f"wrote {len(CASES)} golden emails to {HERE}\n")


if __name__ == "__main__":
    main()
