"""Encrypted packages read in place and decrypted segment by segment (`ingest.segments`).

What must hold: the bytes read are exactly msoffcrypto-tool's whole-buffer decryption,
whatever the order of reads and wherever the sectors lie in the file; a broken allocation
table is `unreadable_document`, never a crash or a wrong document; and reading a referral
with photographs never holds its decrypted package whole.
"""

from __future__ import annotations

import io
import random
import tracemalloc

import msoffcrypto
import olefile
import pytest

from mailbot.codes import Reason
from mailbot.dispatch.encrypt import encrypt_docx
from mailbot.ingest.document.decrypt import Decrypted, decrypt
from mailbot.ingest.document.segments import CACHE_SEGMENTS, SEGMENT_BYTES
from mailbot.ingest.document.sniff import classify
from mailbot.intake.stages import OpenedForm, open_document
from mailbot.models import Attachment, DocKind, DocumentLimits
from tests import hostile_corpus as corpus
from tests.encrypting import package_chain, scattered, set_next_sector, standard_encrypt
from tests.photos import form_with_photo

LIMITS = DocumentLimits()
PASSWORD = "Segment-Pass-2026"
PHOTO_BYTES = 3 * 1024 * 1024  # more segments than the cache holds


@pytest.fixture(scope="module")
def photo_form() -> bytes:
    return form_with_photo(PHOTO_BYTES)


@pytest.fixture(scope="module")
def encrypted_photo_form(photo_form: bytes) -> bytes:
    return encrypt_docx(photo_form, PASSWORD, spin_count=10)


def reference(data: bytes, password: str) -> bytes:
    """msoffcrypto-tool's own decryption (verified, integrity-checked), whole."""
    office = msoffcrypto.OfficeFile(io.BytesIO(data))
    office.load_key(password=password, verify_password=True)
    plain = io.BytesIO()
    office.decrypt(plain)
    return plain.getvalue()


def opened(result: object) -> Decrypted:
    assert isinstance(result, Decrypted), result
    return result


def test_large_package_reads_as_msoffcrypto_decrypts_it(
    photo_form: bytes, encrypted_photo_form: bytes
) -> None:
    """GIVEN a form with a 3 MB photo (more segments than the cache keeps), encrypted
    WHEN its decrypted package is read whole, and then in pieces in random order
    THEN every byte equals msoffcrypto-tool's whole-buffer decryption and the original."""
    assert len(photo_form) > CACHE_SEGMENTS * SEGMENT_BYTES
    whole = reference(encrypted_photo_form, PASSWORD)
    package = opened(decrypt(encrypted_photo_form, [PASSWORD], LIMITS)).package
    assert package.read() == whole == photo_form
    rng = random.Random(7)
    starts = [0, SEGMENT_BYTES - 1, SEGMENT_BYTES, len(whole) - 5, len(whole) + 10]
    starts += [rng.randrange(len(whole)) for _ in range(200)]
    for start in starts:
        length = rng.choice([1, 30, SEGMENT_BYTES + 3, 70_000])
        package.seek(start)
        assert package.read(length) == whole[start : start + length], (start, length)
    assert package.seek(-10, io.SEEK_END) == len(whole) - 10
    assert package.read() == whole[-10:]


def test_standard_encryption_large_package(photo_form: bytes) -> None:
    """GIVEN the photo form under the older standard AES encryption (ECB, no segments of
    its own)
    WHEN read in pieces from the end backwards
    THEN the pieces are the original document's bytes."""
    data = standard_encrypt(photo_form, PASSWORD, 256)
    package = opened(decrypt(data, [PASSWORD], LIMITS)).package
    for start in range(len(photo_form) - 50_000, -1, -50_000):
        package.seek(start)
        assert package.read(50_000) == photo_form[start : start + 50_000]


def test_sectors_out_of_order_are_followed(encrypted_photo_form: bytes) -> None:
    """GIVEN the encrypted file with two of its package's sectors swapped on disk and its
    allocation table changed to match (as a re-save in place leaves a file)
    WHEN decrypted
    THEN the chain is followed: the same document, which msoffcrypto-tool also reads."""
    data = scattered(encrypted_photo_form)
    chain, _ = package_chain(data)
    assert chain != sorted(chain)
    assert data != encrypted_photo_form
    result = opened(decrypt(data, [PASSWORD], LIMITS))
    assert result.read() == reference(data, PASSWORD) == reference(encrypted_photo_form, PASSWORD)


@pytest.mark.parametrize("damage", ["outside the table", "loop", "cut short"])
def test_broken_sector_chain_is_unreadable(damage: str) -> None:
    """GIVEN an encrypted form whose package chain points outside the allocation table,
    loops back on itself, or runs past the end of a truncated file
    WHEN decrypted with the right password
    THEN unreadable_document (never an exception, never a wrong document)."""
    data = corpus.encrypted(spin_count=10, password=PASSWORD)
    chain, size = package_chain(data)
    broken = bytearray(data)
    if damage == "outside the table":
        set_next_sector(broken, size, chain[2], 0x00FF_FFF0)
    elif damage == "loop":
        set_next_sector(broken, size, chain[2], chain[1])
    else:
        broken = broken[: (chain[-1] + 1) * size + 100]
    result = decrypt(bytes(broken), [PASSWORD], LIMITS)
    assert not isinstance(result, Decrypted)
    assert result.code == Reason.UNREADABLE_DOCUMENT


def test_tiny_package_in_the_mini_stream() -> None:
    """GIVEN a document so small its encrypted stream would sit in the compound file's mini
    stream (a different allocation table)
    WHEN decrypted
    THEN it reads back whole."""
    small = corpus.minimal_docx()
    data = encrypt_docx(small, PASSWORD, spin_count=10)
    with olefile.OleFileIO(io.BytesIO(data)) as ole:
        size = ole.get_size("EncryptedPackage")
    assert opened(decrypt(data, [PASSWORD], LIMITS)).read() == reference(data, PASSWORD)
    assert size > 0


def opening_peak(encrypted: bytes) -> int:
    """Python's peak allocation while a referral attachment is opened: decrypted, checked,
    read as a form and hashed (the whole of `open_document`)."""
    attachment = Attachment(
        filename="referral.docx",
        content_type="application/msword",
        data=encrypted,
        kind=DocKind.ENCRYPTED,
    )
    tracemalloc.start()
    try:
        result = open_document(attachment, [PASSWORD], LIMITS)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert isinstance(result, OpenedForm)
    assert result.form.value("victim_surname")
    return peak


def test_opening_a_photo_referral_never_holds_the_package_whole(
    encrypted_photo_form: bytes,
) -> None:
    """GIVEN encrypted referrals with a 3 MB and a 9 MB photo
    WHEN each is opened
    THEN both are read, and the larger photo adds less than 1 MB to the peak of Python's
    allocations (reading the libraries' way adds three or four times the 6 MB difference:
    the stream copied, the package decrypted whole, the photo loaded by python-docx)."""
    larger = encrypt_docx(form_with_photo(3 * PHOTO_BYTES), PASSWORD, spin_count=10)
    assert classify(larger) is DocKind.ENCRYPTED
    small_peak, large_peak = opening_peak(encrypted_photo_form), opening_peak(larger)
    assert len(larger) - len(encrypted_photo_form) > 6_000_000
    assert large_peak - small_peak < 1_000_000, (small_peak, large_peak)
    assert large_peak < 8_000_000
