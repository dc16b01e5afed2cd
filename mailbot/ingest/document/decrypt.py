"""Open a password-protected Word referral with the sender's agreed passwords, at bounded cost.

Partners encrypt referrals with Word's "Encrypt with Password" (MS-OFFCRYPTO agile, or the
older standard AES encryption). Each password try is a salted hash iterated `spinCount` times,
and the file itself says how many: a hostile file saying ten million turns every try into
minutes of CPU. So the EncryptionInfo is parsed and checked (by `encinfo`) *before* any key
derivation (an unknown, garbled or too-costly one is `unreadable_document`), and each candidate
password then costs exactly one derivation: the derived hash yields the verifier keys and the
key that unwraps the package key, so the right password is verified and used without deriving
again.
msoffcrypto-tool's password path is not used because it derives twice and logs inputs at
debug level, and its bulk decryption is not used because it holds the package whole, several
times over (`segments` says why that matters and what is done instead): the result here is a
`PlainPackage`, a file that decrypts the segments a reader touches.

Passwords never appear in a result, an exception or a log line: `detail` is built from fixed
strings and counts only.
"""

from __future__ import annotations

import hashlib
import hmac
import io
import struct
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Literal

import olefile
from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes

from mailbot.codes import Reason
from mailbot.ingest.document.encinfo import (
    HASHES,
    MAX_INFO_BYTES,
    STANDARD_SPIN_COUNT,
    AgileInfo,
    StandardInfo,
    Unreadable,
    parse_info,
)
from mailbot.ingest.document.segments import (
    HEADER_BYTES,
    SEGMENT_BYTES,
    BrokenStream,
    EncryptedStream,
    PlainPackage,
    SegmentDecryptor,
)
from mailbot.models import DocumentLimits, Frozen

KeyDerivation = Callable[[str, bytes, str, int], bytes]
"""(password, salt, hash algorithm name, spin count) -> the iterated password hash."""

_OLE_MAGIC = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"
_ROUND = struct.Struct("<I")
_BLOCK_VERIFIER_INPUT = bytes.fromhex("fea7d2763b4b9e79")
_BLOCK_VERIFIER_VALUE = bytes.fromhex("d7aa0f6d3061344e")
_BLOCK_KEY_VALUE = bytes.fromhex("146e0be7abacd0d6")
_BLOCK_HMAC_KEY = bytes.fromhex("5fb2ad010cb9e1f6")
_BLOCK_HMAC_VALUE = bytes.fromhex("a0677f02b22c8433")


@dataclass(frozen=True)
class Decrypted:
    """The package opened: a file over the attachment's bytes, decrypted as it is read."""

    package: io.BufferedReader = field(repr=False)  # over a `PlainPackage`
    password_index: int  # which candidate opened it (0 = the agency's current password)

    def read(self) -> bytes:
        """The whole decrypted package (for small ones: the pipeline reads it as a file)."""
        self.package.seek(0)
        return self.package.read()


class DecryptFailure(Frozen):
    code: Literal[Reason.CANNOT_DECRYPT, Reason.UNREADABLE_DOCUMENT]
    detail: str  # fixed wording and counts only: never a password


def derive_password_hash(password: str, salt: bytes, hash_name: str, spin_count: int) -> bytes:
    """The one expensive step (MS-OFFCRYPTO 2.3.4.7 / 2.3.4.11): H(salt + password) re-hashed
    `spin_count` times with the round number. Both agile and standard encryption use it."""
    # The named constructor (hashlib.sha512) and a bound pack: `hashlib.new(name, ...)` looks
    # the algorithm up on every one of the 100,000 rounds, a fifth of the derivation's time.
    new = getattr(hashlib, HASHES[hash_name])
    pack = _ROUND.pack
    digest = new(salt + password.encode("utf-16-le", "surrogatepass")).digest()
    for round_number in range(spin_count):
        digest = new(pack(round_number) + digest).digest()
    return bytes(digest)


def _digest(hash_name: str, data: bytes) -> bytes:
    # SHA-1 is what the standard format mandates (and agile files may name it): not our choice.
    return hashlib.new(HASHES[hash_name], data).digest()


def decrypt(
    data: bytes,
    passwords: Sequence[str],
    limits: DocumentLimits,
    *,
    derive: KeyDerivation = derive_password_hash,
) -> Decrypted | DecryptFailure:
    """Try each candidate password in order, one key derivation each. Never raises."""
    try:
        scheme, stream, size = _open(data, limits)
        if not passwords:
            return DecryptFailure(code=Reason.CANNOT_DECRYPT, detail="no candidate passwords")
        for index, password in enumerate(passwords):
            key = _unlock(scheme, password, derive)
            if key is not None:
                package = _decrypt_package(scheme, key, stream, size)
                return Decrypted(package=package, password_index=index)
        detail = f"none of {len(passwords)} candidate passwords opened it"
        return DecryptFailure(code=Reason.CANNOT_DECRYPT, detail=detail)
    except (Unreadable, BrokenStream) as error:
        return DecryptFailure(code=Reason.UNREADABLE_DOCUMENT, detail=str(error))
    except Exception as error:  # hostile input: any library failure is just unreadable
        detail = f"encrypted package could not be read ({type(error).__name__})"
        return DecryptFailure(code=Reason.UNREADABLE_DOCUMENT, detail=detail)


def _open(
    data: bytes, limits: DocumentLimits
) -> tuple[AgileInfo | StandardInfo, EncryptedStream, int]:
    if len(data) > limits.max_attachment_bytes:
        raise Unreadable("attachment over the size limit")
    if not data.startswith(_OLE_MAGIC):
        raise Unreadable("not an encrypted Office document")
    with olefile.OleFileIO(io.BytesIO(data)) as ole:
        if not (ole.exists("EncryptionInfo") and ole.exists("EncryptedPackage")):
            if ole.exists("WordDocument"):
                raise Unreadable("a Word 97-2003 document, not an encrypted Word package")
            raise Unreadable("no EncryptionInfo/EncryptedPackage streams")
        if ole.get_size("EncryptionInfo") > MAX_INFO_BYTES:
            raise Unreadable("oversized EncryptionInfo")
        info = ole.openstream("EncryptionInfo").read(MAX_INFO_BYTES + 1)
        stream = EncryptedStream.open(data, ole, "EncryptedPackage")
    scheme = parse_info(info, limits)
    if stream.size < HEADER_BYTES + 16 or (stream.size - HEADER_BYTES) % 16:
        raise Unreadable("encrypted package truncated")
    (declared_size,) = struct.unpack("<Q", stream.read(0, HEADER_BYTES))
    if declared_size > stream.size - HEADER_BYTES:
        raise Unreadable("encrypted package truncated")
    return scheme, stream, declared_size


def _aes_cbc_decrypt(data: bytes, key: bytes, iv: bytes) -> bytes:
    decryptor = Cipher(algorithms.AES(key), modes.CBC(iv)).decryptor()
    return decryptor.update(data) + decryptor.finalize()


def _fit(value: bytes, size: int) -> bytes:
    """MS-OFFCRYPTO's rule for keys and IVs: truncate, or pad with 0x36."""
    return value[:size].ljust(size, b"\x36")


def _plain_zip(stream: EncryptedStream, size: int, decrypt: SegmentDecryptor) -> io.BufferedReader:
    package: io.BufferedReader = io.BufferedReader(
        PlainPackage(stream, size, decrypt), SEGMENT_BYTES
    )
    if package.read(4) != b"PK\x03\x04":
        raise Unreadable("decrypted content is not a Word package")
    package.seek(0)
    return package


def _unlock(scheme: AgileInfo | StandardInfo, password: str, derive: KeyDerivation) -> bytes | None:
    """The package key if `password` is right, else None: one key derivation either way."""
    if isinstance(scheme, AgileInfo):
        return _unlock_agile(scheme, password, derive)
    return _unlock_standard(scheme, password, derive)


def _decrypt_package(
    scheme: AgileInfo | StandardInfo, key: bytes, stream: EncryptedStream, size: int
) -> io.BufferedReader:
    if isinstance(scheme, AgileInfo):
        return _decrypt_agile(scheme, key, stream, size)
    return _decrypt_standard(key, stream, size)


def _unlock_agile(info: AgileInfo, password: str, derive: KeyDerivation) -> bytes | None:
    """One derivation; the verifier decides; the same hash unwraps the package key."""
    digest = derive(password, info.salt, info.hash_name, info.spin_count)
    iv = _fit(info.salt, 16)

    def block_key(block: bytes) -> bytes:
        return _fit(_digest(info.hash_name, digest + block), info.key_bytes)

    verifier = _aes_cbc_decrypt(info.verifier_input, block_key(_BLOCK_VERIFIER_INPUT), iv)
    expected = _aes_cbc_decrypt(info.verifier_value, block_key(_BLOCK_VERIFIER_VALUE), iv)
    actual = _digest(info.hash_name, verifier[: len(info.salt)])
    if not hmac.compare_digest(actual, expected[: len(actual)]):
        return None
    return _aes_cbc_decrypt(info.key_value, block_key(_BLOCK_KEY_VALUE), iv)[: info.key_bytes]


def _decrypt_agile(
    info: AgileInfo, key: bytes, stream: EncryptedStream, size: int
) -> io.BufferedReader:
    name = info.data_hash_name
    hmac_key_iv = _fit(_digest(name, info.data_salt + _BLOCK_HMAC_KEY), 16)
    hmac_value_iv = _fit(_digest(name, info.data_salt + _BLOCK_HMAC_VALUE), 16)
    digest_size = hashlib.new(HASHES[name]).digest_size
    hmac_key = _aes_cbc_decrypt(info.hmac_key, key, hmac_key_iv)[:digest_size]
    hmac_value = _aes_cbc_decrypt(info.hmac_value, key, hmac_value_iv)
    mac = hmac.new(hmac_key, digestmod=HASHES[name])
    for chunk in stream.chunks():
        mac.update(chunk)
    if len(hmac_value) < digest_size or not hmac.compare_digest(
        mac.digest(), hmac_value[:digest_size]
    ):
        # The password was right (the verifier said so): the package was altered or cut.
        raise Unreadable("encrypted package failed its integrity check")
    algorithm = algorithms.AES(key)

    def segment(index: int, encrypted: bytes) -> bytes:  # MS-OFFCRYPTO 2.3.4.15
        iv = _fit(_digest(name, info.data_salt + _ROUND.pack(index)), 16)
        return Cipher(algorithm, modes.CBC(iv)).decryptor().update(encrypted)

    return _plain_zip(stream, size, segment)


def _unlock_standard(info: StandardInfo, password: str, derive: KeyDerivation) -> bytes | None:
    digest = derive(password, info.salt, "SHA1", STANDARD_SPIN_COUNT)
    final = _digest("SHA1", digest + struct.pack("<I", 0)).ljust(64, b"\x00")
    inner = _digest("SHA1", bytes(b ^ 0x36 for b in final))
    outer = _digest("SHA1", bytes(b ^ 0x5C for b in final))
    key = (inner + outer)[: info.key_bytes]
    decryptor = Cipher(algorithms.AES(key), modes.ECB()).decryptor()  # noqa: S305 - the format's
    verifier = decryptor.update(info.verifier)
    verifier_hash = decryptor.update(info.verifier_hash)
    expected = _digest("SHA1", verifier)
    return key if hmac.compare_digest(expected, verifier_hash[:20]) else None


def _decrypt_standard(key: bytes, stream: EncryptedStream, size: int) -> io.BufferedReader:
    algorithm = algorithms.AES(key)

    def segment(_: int, encrypted: bytes) -> bytes:  # ECB: every block on its own
        decryptor = Cipher(algorithm, modes.ECB()).decryptor()  # noqa: S305 - the format's
        return decryptor.update(encrypted)

    return _plain_zip(stream, size, segment)
