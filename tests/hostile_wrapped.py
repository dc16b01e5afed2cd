"""Referral forms that arrive wrapped, and emails past the limits: each with its outcome.

Partners forward the referrer's email instead of the form, as a MIME part encoded in base64 or
quoted-printable, or as an Outlook item (.msg); secure gateways sign the whole message
opaquely in S/MIME or encrypt it; a referral with photographs carries more files than are
looked at; a covering letter is pasted above the form. Each builder here returns one whole
.eml (LF line ends, as in a Maildir) from a West Midlands Police address, with a referral of
its own inside (so none is a duplicate or a repeat of another), and `EMAILS` names each with
what `pipeline.open_referral` must make of it: "form" (read, so the daemon accepts it) or
the reason code. They are built at test time: the largest are hundreds of kilobytes, and
only the .msg files (`tests/outlook.py`) need a writer of their own.

The S/MIME blobs are built by hand, DER and streamed BER: mailbot verifies no signature, so
the signer information is a placeholder; `tests/unit/test_wrapped.py` also opens what
`cryptography` signs and encrypts.
"""

from __future__ import annotations

import base64
import io
import quopri
import random
import re
import zipfile
import zlib
from collections.abc import Callable

from tests import outlook
from tests.hostile_blocks import referral_docx, replace_part
from tests.hostile_mail import DOCX, attachment, headers, multipart, text_part

FORM = "form"  # the expected outcome when the form is found and read
MSG_TYPE = "application/vnd.ms-outlook"
_PDF = b"%PDF-1.4\n1 0 obj<</Type/Catalog>>endobj\ntrailer<</Root 1 0 R>>\n%%EOF\n"
_WORDS = (
    "the",
    "referral",
    "risk",
    "family",
    "support",
    "safety",
    "meeting",
    "police",
    "housing",
    "letter",
    "colleague",
    "please",
    "consider",
    "children",
    "school",
)


def _form(name: str) -> bytes:
    return referral_docx(zlib.crc32(name.encode()))


def _inner_email(name: str, form: bytes, *, subject: str = "MARAC referral") -> bytes:
    """The referrer's email, as forwarded: the form attached to it."""
    return multipart(
        f"{name}-inner",
        [text_part(), attachment(form)],
        subject=subject,
        boundary=f"=={name}-inner==",
    )


def forward(
    name: str,
    inner: bytes,
    *,
    encoding: str = "base64",
    content_type: str = "message/rfc822",
    level: int = 0,
) -> bytes:
    """An email forwarding `inner` as a message part sent in `encoding`."""
    payload = base64.encodebytes(inner) if encoding == "base64" else quopri.encodestring(inner)
    part = (
        f"Content-Type: {content_type}\nContent-Transfer-Encoding: {encoding}\n"
        f'Content-Disposition: attachment; filename="forward-{level}.eml"\n\n'
    ).encode()
    return multipart(
        f"{name}-{level}",
        [text_part(f"Forwarded ({level})."), part + payload],
        subject="FW: MARAC referral",
        boundary=f"=={name}-{level}==",
    )


# -- forwarded emails sent encoded -------------------------------------------------------------


def rfc822_base64(name: str) -> bytes:
    """The referrer's email forwarded as message/rfc822 in base64 (Exchange and some
    gateways do, though RFC 2046 forbids it): the parser alone sees an empty message."""
    return forward(name, _inner_email(name, _form(name)))


def rfc822_quoted_printable(name: str) -> bytes:
    """The same forward in quoted-printable: '=' in the inner headers reads as '=3D'."""
    return forward(name, _inner_email(name, _form(name)), encoding="quoted-printable")


def global_base64(name: str) -> bytes:
    """A forward as message/global (RFC 6532, UTF-8 headers), which may be base64."""
    inner = _inner_email(name, _form(name), subject="Réferral – MARAC")
    return forward(name, inner, content_type="message/global")


def _nested(name: str, levels: int) -> bytes:
    raw = _inner_email(name, _form(name))
    for level in range(levels):
        raw = forward(name, raw, level=level)
    return raw


def rfc822_at_nesting_limit(name: str) -> bytes:
    """Five base64 forwards inside one another: the form at max_nesting (5) is found."""
    return _nested(name, 5)


def rfc822_past_nesting_limit(name: str) -> bytes:
    """Six base64 forwards: the sixth is not opened, and the email is unreadable (never
    'no attachment')."""
    return _nested(name, 6)


# -- Outlook items -----------------------------------------------------------------------------


def with_file(name: str, data: bytes, filename: str, content_type: str) -> bytes:
    encoded = filename.encode()
    return multipart(
        name,
        [
            text_part("Forwarding the referral below."),
            attachment(data, b'"' + encoded + b'"', content_type),
        ],
        subject="FW: MARAC referral",
        boundary=f"=={name}==",
    )


def msg_with_form(name: str) -> bytes:
    """The referrer's email attached as an Outlook item (.msg), the form inside it."""
    item = outlook.Item(attachments=[("MARAC referral.docx", _form(name))])
    return with_file(name, outlook.msg_file(item), "MARAC referral.msg", MSG_TYPE)


def msg_renamed(name: str) -> bytes:
    """An Outlook item called forward.dat and declared application/octet-stream: known by its
    bytes, whatever the name."""
    item = outlook.Item(attachments=[("scan.pdf", _PDF), ("referral.docx", _form(name))])
    return with_file(name, outlook.msg_file(item), "forward.dat", "application/octet-stream")


def msg_in_msg(name: str) -> bytes:
    """A forward of a forward in Outlook: an item embedded in an item, the form in that."""
    inner = outlook.Item(attachments=[("referral.docx", _form(name))])
    item = outlook.Item(subject="FW: FW: MARAC referral", attachments=[("FW: referral", inner)])
    return with_file(name, outlook.msg_file(item), "FW referral.msg", MSG_TYPE)


def _embedded(name: str, levels: int) -> bytes:
    item = outlook.Item(attachments=[("referral.docx", _form(name))])
    for level in range(levels):
        item = outlook.Item(subject=f"FW ({level})", attachments=[(f"FW {level}", item)])
    return with_file(name, outlook.msg_file(item), "forward.msg", MSG_TYPE)


def msg_at_nesting_limit(name: str) -> bytes:
    """An item with four items embedded one in another (five wrappers, as five forwards):
    the form at max_nesting is found."""
    return _embedded(name, 4)


def msg_past_nesting_limit(name: str) -> bytes:
    """Six items one inside another: the sixth is not opened (unreadable, not 'no form')."""
    return _embedded(name, 5)


def msg_without_form(name: str) -> bytes:
    """An Outlook item carrying only a PDF: the referral is not a Word document."""
    item = outlook.Item(attachments=[("referral scan.pdf", _PDF)])
    return with_file(name, outlook.msg_file(item), "referral.msg", MSG_TYPE)


def msg_link_only(name: str) -> bytes:
    """An Outlook item whose attachment is only a link to a file share: nothing to read."""
    item = outlook.Item(attachments=[("MARAC referral.docx", None)])
    return with_file(name, outlook.msg_file(item), "referral.msg", MSG_TYPE)


# -- S/MIME ------------------------------------------------------------------------------------

_OID_DATA = bytes.fromhex("06092a864886f70d010701")
_OID_SIGNED = bytes.fromhex("06092a864886f70d010702")
_OID_ENVELOPED = bytes.fromhex("06092a864886f70d010703")
_OID_SHA256 = bytes.fromhex("0609608648016503040201")
_OID_AES = bytes.fromhex("0609608648016503040102")


def der(tag: int, *content: bytes) -> bytes:
    """One DER element (definite length)."""
    body = b"".join(content)
    if len(body) < 0x80:
        return bytes([tag, len(body)]) + body
    size = len(body).to_bytes((len(body).bit_length() + 7) // 8, "big")
    return bytes([tag, 0x80 | len(size)]) + size + body


def ber(tag: int, *content: bytes) -> bytes:
    """One constructed BER element of indefinite length, as a streaming signer writes it."""
    return bytes([tag, 0x80]) + b"".join(content) + b"\0\0"


def signed_data(content: bytes | None, *, streamed: bool = False) -> bytes:
    """A PKCS#7 ContentInfo holding SignedData around `content` (None: detached, no content).
    `streamed`: BER with indefinite lengths and the content in 1,000-byte chunks."""
    if content is None:
        encapsulated = der(0x30, _OID_DATA)
    elif streamed:
        chunks = [der(0x04, content[at : at + 1000]) for at in range(0, len(content), 1000)]
        encapsulated = ber(0x30, _OID_DATA, ber(0xA0, ber(0x24, *chunks)))
    else:
        encapsulated = der(0x30, _OID_DATA, der(0xA0, der(0x04, content)))
    algorithm = der(0x30, _OID_SHA256, b"\x05\x00")
    signer = der(
        0x30,
        der(0x02, b"\x01"),
        der(0x30, der(0x30), der(0x02, b"\x01")),
        algorithm,
        der(0x30, bytes.fromhex("06092a864886f70d010101")),
        der(0x04, b"\0" * 256),
    )
    fields = (der(0x02, b"\x01"), der(0x31, algorithm), encapsulated, der(0x31, signer))
    if streamed:
        return ber(0x30, _OID_SIGNED, ber(0xA0, ber(0x30, *fields)))
    return der(0x30, _OID_SIGNED, der(0xA0, der(0x30, *fields)))


def enveloped_data() -> bytes:
    """A PKCS#7 ContentInfo holding EnvelopedData: a form encrypted to someone else's key."""
    recipient = der(
        0x30,
        der(0x02, b"\x00"),
        der(0x30, der(0x30), der(0x02, b"\x07")),
        der(0x30, bytes.fromhex("06092a864886f70d010101")),
        der(0x04, random.Random(15).randbytes(256)),
    )
    encrypted = der(
        0x30,
        _OID_DATA,
        der(0x30, _OID_AES, der(0x04, b"\0" * 16)),
        der(0x80, random.Random(16).randbytes(2048)),
    )
    return der(
        0x30,
        _OID_ENVELOPED,
        der(0xA0, der(0x30, der(0x02, b"\x00"), der(0x31, recipient), encrypted)),
    )


def signed_entity(form: bytes) -> bytes:
    """What a signing client signs: the message's MIME entity (CRLF line ends)."""
    entity = (
        b'Content-Type: multipart/mixed; boundary="signed-inner"\n\n--signed-inner\n'
        + text_part()
        + b"--signed-inner\n"
        + attachment(form)
        + b"--signed-inner--\n"
    )
    return entity.replace(b"\n", b"\r\n")


def smime_body(
    name: str, blob: bytes, smime_type: str, content_type: str = "application/pkcs7-mime"
) -> bytes:
    return (
        headers(name)
        + f"Content-Type: {content_type}; smime-type={smime_type};"
        f' name="smime.p7m"\nContent-Transfer-Encoding: base64\n'
        f'Content-Disposition: attachment; filename="smime.p7m"\n\n'.encode()
        + base64.encodebytes(blob)
    )


def smime_signed_body(name: str) -> bytes:
    """An opaque S/MIME signed message: the whole body one PKCS#7 blob, the form inside."""
    return smime_body(name, signed_data(signed_entity(_form(name))), "signed-data")


def smime_signed_attachment(name: str) -> bytes:
    """An opaque signed message forwarded as an attachment (x-pkcs7-mime, smime.p7m)."""
    blob = signed_data(signed_entity(_form(name)))
    return with_file(name, blob, "smime.p7m", "application/x-pkcs7-mime")


def smime_signed_streamed(name: str) -> bytes:
    """An opaque signed message in streamed BER: indefinite lengths, content in chunks."""
    blob = signed_data(signed_entity(_form(name)), streamed=True)
    return smime_body(name, blob, "signed-data")


def smime_enveloped(name: str) -> bytes:
    """An encrypted S/MIME message (EnvelopedData): cannot be opened, so unreadable, never
    'not a Word document'."""
    return smime_body(name, enveloped_data(), "enveloped-data")


def smime_signed_without_content(name: str) -> bytes:
    """A SignedData whose content is missing (a detached signature sent as smime.p7m)."""
    return smime_body(name, signed_data(None), "signed-data")


# -- more attachments than are looked at -------------------------------------------------------


def _many(name: str, pdfs_before: int, pdfs_after: int, *, form: bool = True) -> bytes:
    pdf = attachment(_PDF, b'"photo statement.pdf"', "application/pdf")
    parts = [text_part(), *[pdf] * pdfs_before]
    parts += [attachment(_form(name))] if form else []
    return multipart(name, [*parts, *[pdf] * pdfs_after], boundary=f"=={name}==")


def fifty_one_form_last(name: str) -> bytes:
    """50 PDFs, then the form as the 51st file: not looked at, so held for an administrator
    (it once got 'no Word document')."""
    return _many(name, 50, 0)


def fifty_one_without_form(name: str) -> bytes:
    """51 PDFs: the 51st was not looked at, so 'not a Word document' might be wrong: held."""
    return _many(name, 51, 0, form=False)


def fifty_form_last(name: str) -> bytes:
    """49 PDFs and the form: 50 files, all looked at: read as usual."""
    return _many(name, 49, 0)


def fifty_one_form_first(name: str) -> bytes:
    """The form, then 50 PDFs: the form is among the first 50 and the only one found: read."""
    return _many(name, 0, 50)


# -- long preambles ----------------------------------------------------------------------------

CORE_WITHOUT_PROPERTIES = (
    '<?xml version="1.0" encoding="UTF-8"?><cp:coreProperties xmlns:cp="http://schemas.'
    'openxmlformats.org/package/2006/metadata/core-properties"/>'
)


def with_preamble(
    form: bytes, paragraphs: int, *, seed: int, keep_properties: bool, heading: bool = True
) -> bytes:
    """`form` with a covering letter of `paragraphs` paragraphs pasted above its title (its
    own heading first, when `heading`); without the form's core properties unless kept."""
    rng = random.Random(seed)
    lines = [
        " ".join(rng.choice(_WORDS) for _ in range(rng.randint(4, 12))) for _ in range(paragraphs)
    ]
    letter = "".join(
        f"<w:p><w:r><w:t>{n}. {line}</w:t></w:r></w:p>" for n, line in enumerate(lines)
    )
    if heading:
        letter = (
            '<w:p><w:pPr><w:pStyle w:val="Heading1"/></w:pPr><w:r><w:t>Covering letter'
            "</w:t></w:r></w:p>" + letter
        )
    with zipfile.ZipFile(io.BytesIO(form)) as archive:
        document = archive.read("word/document.xml").decode("utf-8")
    document = re.sub(r"(<w:body>)", lambda m: m.group(1) + letter, document, count=1)
    out = replace_part(form, "word/document.xml", document.encode("utf-8"))
    if keep_properties:
        return out
    return replace_part(out, "docProps/core.xml", CORE_WITHOUT_PROPERTIES.encode())


def preamble_5000(name: str) -> bytes:
    """A 5,000-paragraph covering letter with a heading of its own above a form that lost its
    core properties: the letter's heading came first, so the form was not recognised."""
    form = with_preamble(_form(name), 5000, seed=1, keep_properties=False)
    return multipart(name, [text_part(), attachment(form)], boundary=f"=={name}==")


def preamble_30000(name: str) -> bytes:
    """30,000 paragraphs above the form: past the 20,000 the reader reads, which the letter
    used to spend before the form began (so its fields were not found)."""
    form = with_preamble(_form(name), 30_000, seed=2, keep_properties=True)
    return multipart(name, [text_part(), attachment(form)], boundary=f"=={name}==")


def preamble_past_bound(name: str) -> bytes:
    """100,001 paragraphs before the title, past every bound on looking for it: the form is
    not found, and the referrer is told it is too large (never 'the wrong form')."""
    form = with_preamble(_form(name), 100_001, seed=3, keep_properties=True)
    return multipart(name, [text_part(), attachment(form)], boundary=f"=={name}==")


# (builder, expected outcome), by class; each name is also the email's Message-ID.
CLASSES: dict[str, dict[str, tuple[Callable[[str], bytes], str]]] = {
    "rfc822": {
        "wrapped-rfc822-base64": (rfc822_base64, FORM),
        "wrapped-rfc822-quoted-printable": (rfc822_quoted_printable, FORM),
        "wrapped-global-base64": (global_base64, FORM),
        "wrapped-rfc822-at-nesting-limit": (rfc822_at_nesting_limit, FORM),
        "wrapped-rfc822-past-nesting-limit": (rfc822_past_nesting_limit, "unreadable_document"),
    },
    "msg": {
        "wrapped-msg-form": (msg_with_form, FORM),
        "wrapped-msg-renamed": (msg_renamed, FORM),
        "wrapped-msg-in-msg": (msg_in_msg, FORM),
        "wrapped-msg-at-nesting-limit": (msg_at_nesting_limit, FORM),
        "wrapped-msg-past-nesting-limit": (msg_past_nesting_limit, "unreadable_document"),
        "wrapped-msg-without-form": (msg_without_form, "not_word_document"),
        "wrapped-msg-link-only": (msg_link_only, "unreadable_document"),
    },
    "smime": {
        "wrapped-smime-signed-body": (smime_signed_body, FORM),
        "wrapped-smime-signed-attachment": (smime_signed_attachment, FORM),
        "wrapped-smime-signed-streamed": (smime_signed_streamed, FORM),
        "wrapped-smime-enveloped": (smime_enveloped, "unreadable_document"),
        "wrapped-smime-signed-without-content": (
            smime_signed_without_content,
            "unreadable_document",
        ),
    },
    "attachments": {
        "wrapped-51-form-last": (fifty_one_form_last, "too_many_attachments"),
        "wrapped-51-without-form": (fifty_one_without_form, "too_many_attachments"),
        "wrapped-50-form-last": (fifty_form_last, FORM),
        "wrapped-51-form-first": (fifty_one_form_first, FORM),
    },
    "preamble": {
        "wrapped-preamble-5000": (preamble_5000, FORM),
        "wrapped-preamble-30000": (preamble_30000, FORM),
        "wrapped-preamble-past-bound": (preamble_past_bound, "unreadable_document"),
    },
}
EMAILS = {name: case for cases in CLASSES.values() for name, case in cases.items()}


def build(name: str) -> bytes:
    """The email `name`, built now."""
    return EMAILS[name][0](name)


__all__ = ["CLASSES", "DOCX", "EMAILS", "FORM", "build"]
