"""Unit tests for `mailbot.ingest.document.decrypt` (and `mailbot.dispatch.encrypt`, which makes the
encrypted files): which password opens a file, what each try costs, and what never leaks.

Derivations are counted by injecting a wrapper around the real key derivation; files made by
`encrypt_docx` use a spin count of 1,000 so the suite stays fast, and the two shared sample
files (Word's default 100,000) show the real thing still works.
"""

from __future__ import annotations

import io
import logging
import re
import zipfile
from collections.abc import Callable
from pathlib import Path

import msoffcrypto
import olefile
import pytest
from msoffcrypto.method.ecma376_agile import ECMA376Agile

from mailbot.dispatch.encrypt import WORD_SPIN_COUNT, encrypt_docx
from mailbot.ingest.document.decrypt import (
    Decrypted,
    DecryptFailure,
    decrypt,
    derive_password_hash,
)
from mailbot.ingest.document.ooxml import inspect_package
from mailbot.models import DocumentLimits
from tests import hostile_corpus as corpus
from tests.encrypting import standard_encrypt

LIMITS = DocumentLimits()
ENCRYPTED_DIR = Path(__file__).resolve().parents[1] / "data" / "forms" / "encrypted"
SAMPLE_02 = ("02-accepted-typed-encrypted.docx", "BCT-Marac-7731")
SAMPLE_08 = ("08-encrypted-unknown-password.docx", "Sparrow-Lane-77")
CURRENT = "Current-Pass-2026"
PREVIOUS = "Previous-Pass-2025"


class CountingDerive:
    """The real derivation, counted."""

    def __init__(self) -> None:
        self.calls = 0

    def __call__(self, password: str, salt: bytes, hash_name: str, spin_count: int) -> bytes:
        self.calls += 1
        return derive_password_hash(password, salt, hash_name, spin_count)


@pytest.fixture(scope="module")
def encrypted_current() -> bytes:
    return corpus.encrypted(spin_count=1000, password=CURRENT)


@pytest.fixture(scope="module")
def encrypted_previous() -> bytes:
    return corpus.encrypted(spin_count=1000, password=PREVIOUS)


def opened(result: Decrypted | DecryptFailure) -> Decrypted:
    assert isinstance(result, Decrypted), result
    return result


def failed(result: Decrypted | DecryptFailure, code: str) -> DecryptFailure:
    assert isinstance(result, DecryptFailure), result
    assert result.code == code
    return result


def rewrite_info(data: bytes, change: Callable[[bytes], bytes]) -> bytes:
    with olefile.OleFileIO(io.BytesIO(data)) as ole:
        info = ole.openstream("EncryptionInfo").read()
        package = ole.openstream("EncryptedPackage").read()
    return corpus.rebuild_encrypted(package, change(info))


# -- which password opens it, and at what cost -----------------------------------------------


def test_current_password_costs_one_derivation(encrypted_current: bytes) -> None:
    """GIVEN a form encrypted with the agency's current password
    WHEN decrypted with [current, previous]
    THEN it opens with candidate 0, after exactly one key derivation, to the original bytes."""
    derive = CountingDerive()
    result = opened(decrypt(encrypted_current, [CURRENT, PREVIOUS], LIMITS, derive=derive))
    assert result.password_index == 0
    assert derive.calls == 1
    assert result.read() == corpus.base_docx()
    assert inspect_package(result.read(), LIMITS) is None


def test_previous_password_after_a_rotation(encrypted_previous: bytes) -> None:
    """GIVEN a form encrypted with the agency's previous password (sent before a rotation)
    WHEN decrypted with [current, previous]
    THEN it opens with candidate 1, after two derivations: one wrong, one right."""
    derive = CountingDerive()
    result = opened(decrypt(encrypted_previous, [CURRENT, PREVIOUS], LIMITS, derive=derive))
    assert result.password_index == 1
    assert derive.calls == 2


@pytest.mark.parametrize("wrong", [1, 3, 5])
def test_wrong_passwords_cost_one_derivation_each(encrypted_current: bytes, wrong: int) -> None:
    """GIVEN a form and N candidate passwords, none of them right
    WHEN decrypted
    THEN cannot_decrypt after exactly N derivations; with the right one appended, N + 1."""
    candidates = [f"Wrong-{n}" for n in range(wrong)]
    derive = CountingDerive()
    failure = failed(
        decrypt(encrypted_current, candidates, LIMITS, derive=derive), "cannot_decrypt"
    )
    assert derive.calls == wrong
    assert failure.detail == f"none of {wrong} candidate passwords opened it"
    derive = CountingDerive()
    result = opened(decrypt(encrypted_current, [*candidates, CURRENT], LIMITS, derive=derive))
    assert (result.password_index, derive.calls) == (wrong, wrong + 1)


def test_no_candidates_is_cannot_decrypt(encrypted_current: bytes) -> None:
    """GIVEN an encrypted form from an agency with no agreed password
    WHEN decrypted with no candidates
    THEN cannot_decrypt (awaiting a password), with no derivation at all."""
    derive = CountingDerive()
    failed(decrypt(encrypted_current, [], LIMITS, derive=derive), "cannot_decrypt")
    assert derive.calls == 0


@pytest.mark.parametrize("sample", [SAMPLE_02, SAMPLE_08])
def test_shared_samples_open_with_their_passwords(sample: tuple[str, str]) -> None:
    """GIVEN a shared sample encrypted by Word's defaults (agile, spin count 100,000)
    WHEN decrypted with [a wrong password, its password]
    THEN it opens with candidate 1 in two derivations, to a package that passes inspection
    and equals what msoffcrypto's own (verified, integrity-checked) path produces."""
    name, password = sample
    data = (ENCRYPTED_DIR / name).read_bytes()
    derive = CountingDerive()
    result = opened(decrypt(data, ["Not-This-One", password], LIMITS, derive=derive))
    assert (result.password_index, derive.calls) == (1, 2)
    assert inspect_package(result.read(), LIMITS) is None
    office = msoffcrypto.OfficeFile(io.BytesIO(data))
    office.load_key(password=password, verify_password=True)
    reference = io.BytesIO()
    office.decrypt(reference, verify_integrity=True)
    assert result.read() == reference.getvalue()


def test_sample_08_with_another_agencys_password() -> None:
    """GIVEN sample 08 (its password not on file) and sample 02's agency password
    WHEN decrypted
    THEN cannot_decrypt: it waits for the password by separate email."""
    data = (ENCRYPTED_DIR / SAMPLE_08[0]).read_bytes()
    failed(decrypt(data, [SAMPLE_02[1]], LIMITS), "cannot_decrypt")


def test_derivation_matches_msoffcrypto() -> None:
    """GIVEN a password, salt and spin count
    WHEN mailbot's derivation and msoffcrypto's run
    THEN they give the same hash (mailbot's own is only there to be counted and injected)."""
    salt = bytes(range(16))
    ours = derive_password_hash("Pässwörd-£7", salt, "SHA512", 1000)
    theirs = ECMA376Agile._derive_iterated_hash_from_password("Pässwörd-£7", salt, "SHA512", 1000)
    assert ours == theirs.digest()


@pytest.mark.parametrize("key_bits", [128, 256])
def test_standard_encryption(key_bits: int) -> None:
    """GIVEN a form with the older standard AES encryption
    WHEN decrypted with [wrong, right]
    THEN it opens with candidate 1 in two derivations; with only wrong ones, cannot_decrypt."""
    data = standard_encrypt(corpus.base_docx(), CURRENT, key_bits)
    derive = CountingDerive()
    result = opened(decrypt(data, [PREVIOUS, CURRENT], LIMITS, derive=derive))
    assert (result.password_index, derive.calls, result.read()) == (1, 2, corpus.base_docx())
    failed(decrypt(data, [PREVIOUS], LIMITS), "cannot_decrypt")


def test_non_ascii_password_round_trip() -> None:
    """GIVEN a form encrypted with a password using accents and a pound sign
    WHEN decrypted with that password
    THEN it opens (passwords are UTF-16LE, as Word hashes them)."""
    data = encrypt_docx(corpus.base_docx(), "Pässwörd-£7", spin_count=10)
    assert opened(decrypt(data, ["Pässwörd-£7"], LIMITS)).read() == corpus.base_docx()


# -- hostile encrypted files: refused before any derivation ----------------------------------


@pytest.mark.timeout(10)
def test_huge_spin_count_refused_without_deriving() -> None:
    """GIVEN an encrypted form whose EncryptionInfo says spinCount=10,000,000
    WHEN decrypted, even with the right password
    THEN unreadable_document, with zero derivations (minutes of CPU avoided)."""
    derive = CountingDerive()
    data = corpus.encrypted_huge_spin_count()
    failure = failed(
        decrypt(data, [corpus.CORPUS_PASSWORD], LIMITS, derive=derive), "unreadable_document"
    )
    assert derive.calls == 0
    assert "spin count" in failure.detail


def test_spin_count_limit_is_the_configured_one(encrypted_current: bytes) -> None:
    """GIVEN a form with spin count 1,000
    WHEN decrypted under a limit of 999, then of 1,000
    THEN the first is unreadable without deriving, the second opens."""
    derive = CountingDerive()
    tight = DocumentLimits(max_spin_count=999)
    failed(decrypt(encrypted_current, [CURRENT], tight, derive=derive), "unreadable_document")
    assert derive.calls == 0
    opened(decrypt(encrypted_current, [CURRENT], DocumentLimits(max_spin_count=1000)))


def _sub(pattern: bytes, replacement: bytes) -> Callable[[bytes], bytes]:
    return lambda info: re.sub(pattern, replacement, info, count=1)


GARBLED_INFOS: dict[str, Callable[[bytes], bytes]] = {
    "random": lambda info: info[:8] + bytes(reversed(info[8:])),
    "extensible-version": lambda info: b"\x04\x00\x03\x00" + info[4:],
    "unknown-version": lambda info: b"\x09\x00\x09\x00" + info[4:],
    "too-short": lambda info: info[:6],
    "doctype": _sub(rb"\?>", b'?><!DOCTYPE e [<!ENTITY x "y">]>'),
    "spin-not-a-number": _sub(rb'spinCount="\d+"', b'spinCount="1e3"'),
    "spin-negative": _sub(rb'spinCount="\d+"', b'spinCount="-1"'),
    "spin-huge-digits": _sub(rb'spinCount="\d+"', b'spinCount="' + b"9" * 5000 + b'"'),
    "hash-md5": _sub(rb'hashAlgorithm="SHA512"', b'hashAlgorithm="MD5"'),
    "cipher-des": _sub(rb'cipherAlgorithm="AES"', b'cipherAlgorithm="DES"'),
    "key-bits-odd": _sub(rb'keyBits="256"', b'keyBits="100"'),
    "bad-base64": _sub(rb'encryptedKeyValue="[^"]+"', b'encryptedKeyValue="!!!"'),
    "no-integrity": _sub(rb"<dataIntegrity[^>]*/>", b""),
    "no-password-key": _sub(rb"(?s)<keyEncryptors>.*</keyEncryptors>", b""),
}


@pytest.mark.parametrize("garble", GARBLED_INFOS.values(), ids=GARBLED_INFOS.keys())
def test_garbled_encryption_info_refused_without_deriving(
    encrypted_current: bytes, garble: Callable[[bytes], bytes]
) -> None:
    """GIVEN an encrypted form whose EncryptionInfo is garbled, unknown or unsupported
    WHEN decrypted with the right password
    THEN unreadable_document, with zero derivations."""
    derive = CountingDerive()
    data = rewrite_info(encrypted_current, garble)
    failed(decrypt(data, [CURRENT], LIMITS, derive=derive), "unreadable_document")
    assert derive.calls == 0


def test_truncated_file_refused_without_deriving(encrypted_current: bytes) -> None:
    """GIVEN an encrypted form cut off part way
    WHEN decrypted
    THEN unreadable_document, with zero derivations."""
    for cut in (len(encrypted_current) // 2, len(encrypted_current) * 2 // 3, 600):
        derive = CountingDerive()
        data = encrypted_current[:cut]
        failed(decrypt(data, [CURRENT], LIMITS, derive=derive), "unreadable_document")
        assert derive.calls == 0


def test_tampered_package_fails_integrity(encrypted_current: bytes) -> None:
    """GIVEN an encrypted form with one byte of its encrypted package flipped
    WHEN decrypted with the right password, then with a wrong one
    THEN unreadable (the verifier accepted the password but the HMAC failed), after one
    derivation; and cannot_decrypt for the wrong password."""
    with olefile.OleFileIO(io.BytesIO(encrypted_current)) as ole:
        info = ole.openstream("EncryptionInfo").read()
        package = bytearray(ole.openstream("EncryptedPackage").read())
    package[1000] ^= 0x01
    data = corpus.rebuild_encrypted(bytes(package), info)
    derive = CountingDerive()
    failure = failed(decrypt(data, [CURRENT], LIMITS, derive=derive), "unreadable_document")
    assert (derive.calls, failure.detail) == (1, "encrypted package failed its integrity check")
    failed(decrypt(data, [PREVIOUS], LIMITS), "cannot_decrypt")


@pytest.mark.parametrize(
    "builder",
    [corpus.base_docx, corpus.pdf_bytes, corpus.empty, corpus.ole_doc_like, corpus.random_bytes],
)
def test_not_encrypted_office_files(builder: Callable[[], bytes]) -> None:
    """GIVEN a plain .docx, a PDF, nothing, a Word 97 .doc-like file, or random bytes
    WHEN decrypted
    THEN unreadable_document with no derivation (the pipeline only decrypts ENCRYPTED)."""
    derive = CountingDerive()
    failed(decrypt(builder(), [CURRENT], LIMITS, derive=derive), "unreadable_document")
    assert derive.calls == 0


def test_oversized_attachment(encrypted_current: bytes) -> None:
    """GIVEN an encrypted form larger than max_attachment_bytes
    WHEN decrypted
    THEN unreadable_document."""
    tight = DocumentLimits(max_attachment_bytes=len(encrypted_current) - 1)
    failed(decrypt(encrypted_current, [CURRENT], tight), "unreadable_document")


# -- passwords never leak --------------------------------------------------------------------


def test_passwords_never_in_results_or_logs(
    encrypted_current: bytes, caplog: pytest.LogCaptureFixture
) -> None:
    """GIVEN candidate passwords, right and wrong, and debug logging switched on
    WHEN decrypting succeeds, fails, and fails on a hostile file
    THEN no password appears in any repr, str, JSON dump (of a failure), detail or log line."""
    caplog.set_level(logging.DEBUG)
    results = [
        decrypt(encrypted_current, [PREVIOUS, CURRENT], LIMITS),
        decrypt(encrypted_current, [PREVIOUS], LIMITS),
        decrypt(corpus.encrypted_huge_spin_count(), [CURRENT], LIMITS),
    ]
    texts = [caplog.text]
    for result in results:
        texts += [repr(result), str(result)]
        if isinstance(result, DecryptFailure):
            texts.append(result.model_dump_json())
    assert "package=" not in repr(results[0])  # the decrypted document is not in the repr either
    for text in texts:
        assert CURRENT not in text
        assert PREVIOUS not in text


def test_failure_inside_derivation_does_not_leak(encrypted_current: bytes) -> None:
    """GIVEN a derivation that fails with the password in its exception message
    WHEN decrypting
    THEN unreadable_document, and the detail names only the exception type."""

    def leaky(password: str, salt: bytes, hash_name: str, spin_count: int) -> bytes:
        raise ValueError(f"cannot hash {password}")

    failure = failed(
        decrypt(encrypted_current, [CURRENT], LIMITS, derive=leaky), "unreadable_document"
    )
    assert CURRENT not in failure.detail
    assert "ValueError" in failure.detail


# -- encrypt_docx ----------------------------------------------------------------------------


def test_encrypt_docx_writes_word_agile_aes256() -> None:
    """GIVEN a .docx and a password
    WHEN encrypted with the defaults
    THEN the result is an OLE file whose EncryptionInfo says agile AES-256/SHA-512 at Word's
    spin count, which msoffcrypto's own verified path opens back to the same bytes."""
    data = encrypt_docx(corpus.base_docx(), CURRENT)
    with olefile.OleFileIO(io.BytesIO(data)) as ole:
        info = ole.openstream("EncryptionInfo").read()
    assert info[:4] == b"\x04\x00\x04\x00"
    assert f'spinCount="{WORD_SPIN_COUNT}"'.encode() in info
    assert b'keyBits="256"' in info
    assert b'cipherAlgorithm="AES"' in info
    assert b'hashAlgorithm="SHA512"' in info
    office = msoffcrypto.OfficeFile(io.BytesIO(data))
    office.load_key(password=CURRENT, verify_password=True)
    plain = io.BytesIO()
    office.decrypt(plain, verify_integrity=True)
    assert plain.getvalue() == corpus.base_docx()


def test_encrypt_docx_small_document_survives() -> None:
    """GIVEN a 900-byte .docx (its encrypted stream would fall under the 4 KB mini-stream
    cut-off, which msoffcrypto's container writer gets wrong)
    WHEN encrypted and decrypted again
    THEN every part comes back identical and the package passes inspection (it was padded
    with a zip comment, which no reader interprets)."""
    small = corpus.minimal_docx()
    assert len(small) < 4096
    result = opened(decrypt(encrypt_docx(small, CURRENT, spin_count=10), [CURRENT], LIMITS))
    assert corpus.parts_of(result.read()) == corpus.parts_of(small)
    assert inspect_package(result.read(), LIMITS) is None
    with zipfile.ZipFile(io.BytesIO(result.read())) as archive:
        assert archive.comment.strip() == b""


@pytest.mark.parametrize(
    ("data", "password", "spin_count"),
    [
        (b"not a zip", CURRENT, 10),
        (b"", CURRENT, 10),
        (None, "", 10),
        (None, CURRENT, -1),
        (None, CURRENT, 10_000_001),
    ],
)
def test_encrypt_docx_rejects_bad_arguments(
    data: bytes | None, password: str, spin_count: int
) -> None:
    """GIVEN a non-zip document, an empty password, or a spin count outside 0..10,000,000
    WHEN encrypt_docx is called
    THEN ValueError (never a silently unprotected or unopenable file)."""
    with pytest.raises(ValueError, match=r"password|spin count|zip"):
        encrypt_docx(
            corpus.minimal_docx() if data is None else data, password, spin_count=spin_count
        )
