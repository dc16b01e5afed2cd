"""Forms that arrive wrapped, and emails past the attachment limit, up to the pipeline's code.

Each email of `tests/hostile_wrapped.py` goes through `parse_email` and `open_referral`, the
stages that find and read the form, and must give its expected outcome. Then each wrapper on
its own: the Outlook items committed in `tests/data/outlook/` (a valid compound file, rebuilt
byte for byte), what `cryptography` and OpenSSL really sign and encrypt, and hostile wrappers
that must cost little: sectors shared by many attachments, BER nested without end.
"""

from __future__ import annotations

import datetime
import io
import random
import shutil
import struct
import subprocess
import time
from pathlib import Path

import olefile
import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from cryptography.hazmat.primitives.serialization import pkcs7
from cryptography.x509.oid import NameOID
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from mailbot.ingest.document.sniff import classify
from mailbot.ingest.mime import smime
from mailbot.ingest.mime.msg import OutlookItem, outlook_item
from mailbot.ingest.mime.parse import is_oversized, parse_email
from mailbot.intake.stages import OpenedForm, Unopened, open_referral
from mailbot.models import DocKind, DocumentLimits, Outcome
from tests import hostile_mail as hm
from tests import hostile_wrapped as wrapped
from tests import outlook
from tests.fuzz.targets import parse_and_check
from tests.hostile_blocks import mutate, referral_docx

LIMITS = DocumentLimits()


def outcome(raw: bytes, limits: DocumentLimits = LIMITS) -> str:
    """What the pipeline makes of an email: "form" when it read one, else the reason code."""
    opened = open_referral(parse_email(raw, limits), [], limits)
    return wrapped.FORM if isinstance(opened, OpenedForm) else opened.code


@pytest.mark.timeout(30)
@pytest.mark.parametrize("name", sorted(wrapped.EMAILS))
def test_wrapped_email_gets_its_outcome(name: str) -> None:
    """GIVEN an email whose form is wrapped (encoded forward, Outlook item, S/MIME), past the
    attachment limit, or behind a long preamble
    WHEN its attachments are found and opened
    THEN the form is read, or the email gets its clear code (never a wrong one)."""
    builder, expected = wrapped.EMAILS[name]
    assert outcome(builder(name)) == expected


def test_every_class_has_good_and_bad_inputs() -> None:
    """GIVEN the wrapped-email corpus WHEN counted THEN each class has a form found and, but
    for the limit class's held ones, a clear failure; 20 inputs or more in all."""
    assert len(wrapped.EMAILS) >= 20
    for cases in wrapped.CLASSES.values():
        codes = {code for _, code in cases.values()}
        assert wrapped.FORM in codes
        assert codes - {wrapped.FORM}


# -- encoded forwards ----------------------------------------------------------------------------


def test_encoded_forward_is_parsed_as_the_email_it_is() -> None:
    """GIVEN a forward sent as base64 message/rfc822
    WHEN parsed
    THEN the form inside is the one attachment, read from the inner email."""
    parsed = parse_email(wrapped.rfc822_base64("unit-b64"), LIMITS)
    assert [(a.filename, a.kind) for a in parsed.attachments] == [
        ("MARAC referral.docx", DocKind.DOCX)
    ]


def test_encoded_forward_past_the_nesting_limit_is_a_marker() -> None:
    """GIVEN one base64 forward WHEN max_nesting is 0 THEN a marker stands for it."""
    parsed = parse_email(wrapped.rfc822_base64("unit-b64-limit"), DocumentLimits(max_nesting=0))
    assert [(a.filename, is_oversized(a)) for a in parsed.attachments] == [("forward-0.eml", True)]


def test_large_encoded_forward_takes_the_lean_path_and_is_found() -> None:
    """GIVEN a base64 forward of over a megabyte (parsed with its bodies lifted out)
    WHEN parsed
    THEN the form inside is still found."""
    padding = [(f"photo-{n}.pdf", random.Random(n).randbytes(300_000)) for n in range(4)]
    inner = hm.multipart(
        "lean-inner",
        [
            hm.text_part(),
            *[
                hm.attachment(b"%PDF-1.4\n" + d, f'"{n}"'.encode(), "application/pdf")
                for n, d in padding
            ],
            hm.attachment(referral_docx(61)),
        ],
    )
    raw = wrapped.forward("lean", inner)
    assert len(raw) > 1024 * 1024
    parsed = parse_email(raw, LIMITS)
    assert [a.kind for a in parsed.attachments][-1] is DocKind.DOCX


# -- Outlook items -------------------------------------------------------------------------------


@pytest.mark.parametrize("name", sorted(outlook.EXAMPLES))
def test_committed_outlook_item_is_valid_and_rebuilt(name: str) -> None:
    """GIVEN an Outlook item committed in tests/data/outlook
    WHEN compared with what tests/outlook.py builds, and read by olefile counting every
    defect as an error
    THEN it is the same bytes, a valid compound file, and sniffed as an Outlook item."""
    data = (outlook.OUTLOOK_DIR / name).read_bytes()
    assert data == outlook.EXAMPLES[name]()
    with olefile.OleFileIO(io.BytesIO(data), raise_defects=olefile.DEFECT_INCORRECT) as ole:
        assert ole.exists("__properties_version1.0")
        assert ole.exists("__substg1.0_001A001F")
    assert classify(data) is DocKind.MSG


def test_outlook_item_yields_names_bytes_and_embedded_items() -> None:
    """GIVEN the committed item with an item embedded in it
    WHEN its attachments are listed
    THEN the embedded message is an item whose attachment is the form, by its long name."""
    data = (outlook.OUTLOOK_DIR / "form-in-embedded.msg").read_bytes()
    with outlook_item(data) as item:
        [(name, inner)] = list(item.attachments())
        assert name == "MARAC referral"
        assert isinstance(inner, OutlookItem)
        [(form_name, form)] = list(inner.attachments())
    assert form_name == "referral.docx"
    assert isinstance(form, bytes)
    assert classify(form) is DocKind.DOCX


def test_word_and_encrypted_files_are_not_taken_for_outlook_items() -> None:
    """GIVEN an encrypted Word file (a compound file too)
    WHEN sniffed THEN it is still ENCRYPTED, not an Outlook item."""
    from tests.hostile_blocks import encrypted

    assert classify(encrypted()) is DocKind.ENCRYPTED


def _shared_sectors(copies: int) -> bytes:
    """An item with one form and `copies` more attachments whose directory entries all point
    at the form's sectors: a small file that would read as `copies` times its size."""
    form = referral_docx(62)
    item = outlook.Item(
        attachments=[("a.docx", form), *[(f"{n}.docx", b"") for n in range(copies)]]
    )
    data = bytearray(outlook.msg_file(item))
    first_dir = struct.unpack_from("<I", data, 48)[0]
    entries = range(512 * (first_dir + 1), len(data), 128)
    name = "__substg1.0_37010102".encode("utf-16-le")
    streams = [at for at in entries if data[at : at + len(name)] == name]
    start, size = struct.unpack_from("<IQ", data, streams[0] + 116)
    assert size == len(form)
    for at in streams[1:]:
        struct.pack_into("<IQ", data, at + 116, start, size)
    return bytes(data)


@pytest.mark.timeout(10)
def test_attachments_sharing_sectors_read_no_more_than_the_file() -> None:
    """GIVEN an Outlook item whose 40 more attachments all point at the form's sectors
    WHEN parsed
    THEN the form is read once and each other attachment is a marker: no more bytes are
    read than the file holds."""
    data = _shared_sectors(40)
    raw = wrapped.with_file("shared", data, "shared.msg", wrapped.MSG_TYPE)
    parsed = parse_email(raw, LIMITS)
    assert parsed.attachments[0].kind is DocKind.DOCX
    assert all(is_oversized(a) for a in parsed.attachments[1:])
    assert len(parsed.attachments) == 41


@pytest.mark.parametrize("cut", [0.5, 0.9])
def test_damaged_outlook_item_is_unreadable(cut: float) -> None:
    """GIVEN an Outlook item cut short, declared and named as one
    WHEN the email carrying it is opened
    THEN it is unreadable_document (a form may be in it), not not_word_document."""
    data = (outlook.OUTLOOK_DIR / "form.msg").read_bytes()
    raw = wrapped.with_file("damaged", data[: int(len(data) * cut)], "form.msg", wrapped.MSG_TYPE)
    assert outcome(raw) == "unreadable_document"


# -- S/MIME --------------------------------------------------------------------------------------


def _certificate() -> tuple[x509.Certificate, rsa.RSAPrivateKey]:
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "Gateway")])
    now = datetime.datetime(2026, 11, 2, tzinfo=datetime.UTC)
    certificate = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(7)
        .not_valid_before(now)
        .not_valid_after(now + datetime.timedelta(days=30))
        .sign(key, hashes.SHA256())
    )
    return certificate, key


def test_what_cryptography_signs_opaquely_is_opened() -> None:
    """GIVEN a message signed opaquely by cryptography (the signature around the content)
    WHEN it arrives as an email whose whole body is that blob
    THEN the form inside is read."""
    certificate, key = _certificate()
    entity = wrapped.signed_entity(referral_docx(63))
    blob = (
        pkcs7.PKCS7SignatureBuilder()
        .set_data(entity)
        .add_signer(certificate, key, hashes.SHA256())
        .sign(serialization.Encoding.DER, [pkcs7.PKCS7Options.Binary])
    )
    assert smime.signed_content(blob) == entity
    assert outcome(wrapped.smime_body("crypto-signed", blob, "signed-data")) == wrapped.FORM


def test_what_cryptography_encrypts_is_unreadable() -> None:
    """GIVEN a message encrypted to a certificate by cryptography (EnvelopedData)
    WHEN it arrives as an email
    THEN it is unreadable_document: a clear reason, not 'not a Word document'."""
    certificate, _ = _certificate()
    blob = (
        pkcs7.PKCS7EnvelopeBuilder()
        .set_data(wrapped.signed_entity(referral_docx(64)))
        .add_recipient(certificate)
        .encrypt(serialization.Encoding.DER, [])
    )
    assert smime.is_pkcs7(blob)
    assert smime.signed_content(blob) is None
    raw = wrapped.with_file("crypto-enveloped", blob, "smime.p7m", "application/pkcs7-mime")
    assert outcome(raw) == "unreadable_document"


@pytest.mark.skipif(shutil.which("openssl") is None, reason="no openssl command")
def test_what_openssl_streams_is_opened(tmp_path: Path) -> None:
    """GIVEN a message OpenSSL signs in streaming mode (BER, indefinite lengths)
    WHEN the blob is attached as smime.p7m
    THEN the form inside is read."""
    certificate, key = _certificate()
    (tmp_path / "cert.pem").write_bytes(certificate.public_bytes(serialization.Encoding.PEM))
    (tmp_path / "key.pem").write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    (tmp_path / "entity").write_bytes(wrapped.signed_entity(referral_docx(65)))
    subprocess.run(
        [
            "openssl",
            "cms",
            "-sign",
            "-binary",
            "-nodetach",
            "-stream",
            "-outform",
            "DER",
            "-in",
            "entity",
            "-signer",
            "cert.pem",
            "-inkey",
            "key.pem",
            "-out",
            "signed.p7m",
        ],
        cwd=tmp_path,
        check=True,
        capture_output=True,
    )
    blob = (tmp_path / "signed.p7m").read_bytes()
    assert blob[1] == 0x80  # indefinite length: streamed BER
    raw = wrapped.with_file("openssl-signed", blob, "smime.p7m", "application/pkcs7-mime")
    assert outcome(raw) == wrapped.FORM


def test_signed_content_of_a_file_that_is_not_mime_is_that_file() -> None:
    """GIVEN a SignedData whose content is the .docx itself (not a MIME entity)
    WHEN attached as smime.p7m
    THEN the form is read from it."""
    blob = wrapped.signed_data(referral_docx(66))
    raw = wrapped.with_file("signed-file", blob, "referral.p7m", "application/pkcs7-mime")
    assert outcome(raw) == wrapped.FORM


@pytest.mark.parametrize("cut", [1, 11, 40, 200, -3])
def test_truncated_signed_data_opens_nothing(cut: int) -> None:
    """GIVEN a SignedData cut short at several places
    WHEN its content is asked for
    THEN there is none (None), and nothing raises."""
    blob = wrapped.signed_data(b"Content-Type: text/plain\r\n\r\nhello\r\n")
    assert smime.signed_content(blob[:cut]) is None


@pytest.mark.timeout(5)
def test_ber_nested_without_end_is_refused_quickly() -> None:
    """GIVEN a SignedData whose content is a constructed octet string nested 100,000 deep
    WHEN its content is asked for
    THEN there is none, at once (depth is bounded, so no recursion error either)."""
    content = b"\x24\x80" * 100_000 + b"\0\0" * 100_000
    blob = wrapped.ber(
        0x30,
        bytes.fromhex("06092a864886f70d010702"),
        wrapped.ber(
            0xA0,
            wrapped.ber(
                0x30,
                wrapped.der(0x02, b"\x01"),
                wrapped.der(0x31),
                wrapped.ber(
                    0x30, bytes.fromhex("06092a864886f70d010701"), wrapped.ber(0xA0, content)
                ),
            ),
        ),
    )
    started = time.perf_counter()
    assert smime.signed_content(blob) is None
    assert time.perf_counter() - started < 1


@pytest.mark.parametrize(
    "data",
    [
        b"",
        b"\x30",
        b"\x30\x80",
        random.Random(1).randbytes(512),
        b"\x30\x03\x06\x01\x00",
        b"%PDF-1.4\n",
    ],
)
def test_is_pkcs7_says_no_to_other_bytes(data: bytes) -> None:
    """GIVEN bytes that are not PKCS#7 WHEN sniffed THEN not PKCS#7, and nothing raises."""
    assert not smime.is_pkcs7(data)
    assert smime.signed_content(data) is None


# -- the attachment limit ------------------------------------------------------------------------


def test_held_decision_for_too_many_attachments() -> None:
    """GIVEN an email with the form as its 51st file
    WHEN opened
    THEN it is held (not returned) as too_many_attachments, and the email says it was cut."""
    parsed = parse_email(wrapped.fifty_one_form_last("unit-51"), LIMITS)
    assert parsed.truncated
    assert len(parsed.attachments) == LIMITS.max_attachments
    opened = open_referral(parsed, [], LIMITS)
    assert isinstance(opened, Unopened)
    assert opened.decision.outcome is Outcome.HELD
    assert opened.decision.reasons == ("too_many_attachments",)


def test_fifty_files_and_a_signature_are_not_too_many() -> None:
    """GIVEN 50 files followed by a signature part and a logo (not files)
    WHEN parsed
    THEN all 50 are kept and the email is not cut short."""
    pdf = hm.attachment(b"%PDF-1.4\n%%EOF\n", b'"s.pdf"', "application/pdf")
    signature = b"Content-Type: application/pkcs7-signature; name=smime.p7s\n\nMIIB\n"
    raw = hm.multipart("fifty-signed", [hm.text_part(), *[pdf] * 50, signature])
    parsed = parse_email(raw, LIMITS)
    assert len(parsed.attachments) == 50
    assert not parsed.truncated


# -- mutated wrappers ----------------------------------------------------------------------------


_SIGNED = wrapped.signed_data(wrapped.signed_entity(referral_docx(67)), streamed=True)


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    seed=st.integers(0, 2**32 - 1),
    flips=st.integers(1, 40),
    name=st.sampled_from(sorted(outlook.EXAMPLES)),
)
def test_mutated_outlook_item_never_raises(seed: int, flips: int, name: str) -> None:
    """GIVEN an Outlook item with random bytes changed (directory, FAT, streams)
    WHEN the email carrying it is parsed and opened
    THEN a ParsedEmail within the limits and a code or a form come back, never an exception."""
    data = mutate((outlook.OUTLOOK_DIR / name).read_bytes(), seed, flips)
    parsed = parse_and_check(wrapped.with_file("mutated-msg", data, "x.msg", wrapped.MSG_TYPE))
    assert isinstance(open_referral(parsed, [], LIMITS), OpenedForm | Unopened)


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(seed=st.integers(0, 2**32 - 1), flips=st.integers(1, 40))
def test_mutated_signed_data_never_raises(seed: int, flips: int) -> None:
    """GIVEN a streamed SignedData with random bytes changed (tags, lengths, content)
    WHEN the email whose body it is is parsed and opened
    THEN a ParsedEmail within the limits and a code or a form come back, never an exception."""
    blob = mutate(_SIGNED, seed, flips)
    parsed = parse_and_check(wrapped.smime_body("mutated-p7m", blob, "signed-data"))
    assert isinstance(open_referral(parsed, [], LIMITS), OpenedForm | Unopened)
