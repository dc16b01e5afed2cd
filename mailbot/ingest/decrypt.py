"""Open a password-protected Word referral with the sender's agreed passwords, at bounded cost.

Partners encrypt referrals with Word's "Encrypt with Password" (MS-OFFCRYPTO agile, or the
older standard AES encryption). Each password try is a salted hash iterated `spinCount` times,
and the file itself says how many: a hostile file saying ten million turns every try into
minutes of CPU. So the EncryptionInfo is parsed and checked here *before* any key derivation
(an unknown, garbled or too-costly one is `unreadable_document`), and each candidate password
then costs exactly one derivation: the derived hash yields the verifier keys and the key that
unwraps the package key, so the right password is verified and used without deriving again.
msoffcrypto-tool does the bulk decryption of the package with the already-unwrapped key; its
own password path is not used because it derives twice and logs inputs at debug level.

Passwords never appear in a result, an exception or a log line: `detail` is built from fixed
strings and counts only.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import io
import re
import struct
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Literal
from xml.etree import ElementTree

import olefile
from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes
from msoffcrypto.method.ecma376_agile import ECMA376Agile
from msoffcrypto.method.ecma376_standard import ECMA376Standard
from pydantic import Field

from mailbot.models import DocumentLimits, Frozen

KeyDerivation = Callable[[str, bytes, str, int], bytes]
"""(password, salt, hash algorithm name, spin count) -> the iterated password hash."""

_OLE_MAGIC = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"
_MAX_INFO_BYTES = 64 * 1024  # a real EncryptionInfo is ~1.5 KB
_HASHES = {"SHA1": "sha1", "SHA256": "sha256", "SHA384": "sha384", "SHA512": "sha512"}
_NS_ENC = "{http://schemas.microsoft.com/office/2006/encryption}"
_NS_PASSWORD = "{http://schemas.microsoft.com/office/2006/keyEncryptor/password}"  # noqa: S105
_BLOCK_VERIFIER_INPUT = bytes.fromhex("fea7d2763b4b9e79")
_BLOCK_VERIFIER_VALUE = bytes.fromhex("d7aa0f6d3061344e")
_BLOCK_KEY_VALUE = bytes.fromhex("146e0be7abacd0d6")
_BLOCK_HMAC_KEY = bytes.fromhex("5fb2ad010cb9e1f6")
_BLOCK_HMAC_VALUE = bytes.fromhex("a0677f02b22c8433")
_STANDARD_SPIN_COUNT = 50_000  # fixed by the standard encryption spec
_STANDARD_AES = {0x660E: 128, 0x660F: 192, 0x6610: 256}
_DIGITS = re.compile(r"\d{1,10}")


class Decrypted(Frozen):
    data: bytes = Field(repr=False)
    password_index: int  # which candidate opened it (0 = the agency's current password)


class DecryptFailure(Frozen):
    code: Literal["cannot_decrypt", "unreadable_document"]
    detail: str  # fixed wording and counts only: never a password


class _Unreadable(Exception):  # internal control flow, never escapes this module
    pass


def derive_password_hash(password: str, salt: bytes, hash_name: str, spin_count: int) -> bytes:
    """The one expensive step (MS-OFFCRYPTO 2.3.4.7 / 2.3.4.11): H(salt + password) re-hashed
    `spin_count` times with the round number. Both agile and standard encryption use it."""
    name = _HASHES[hash_name]
    digest = hashlib.new(name, salt + password.encode("utf-16-le", "surrogatepass")).digest()
    for round_number in range(spin_count):
        digest = hashlib.new(name, struct.pack("<I", round_number) + digest).digest()
    return digest


def _digest(hash_name: str, data: bytes) -> bytes:
    # SHA-1 is what the standard format mandates (and agile files may name it): not our choice.
    return hashlib.new(_HASHES[hash_name], data).digest()


def decrypt(
    data: bytes,
    passwords: Sequence[str],
    limits: DocumentLimits,
    *,
    derive: KeyDerivation = derive_password_hash,
) -> Decrypted | DecryptFailure:
    """Try each candidate password in order, one key derivation each. Never raises."""
    try:
        scheme, package = _open(data, limits)
        if not passwords:
            return DecryptFailure(code="cannot_decrypt", detail="no candidate passwords")
        for index, password in enumerate(passwords):
            key = scheme.unlock(password, derive)
            if key is not None:
                return Decrypted(data=scheme.decrypt(key, package), password_index=index)
        detail = f"none of {len(passwords)} candidate passwords opened it"
        return DecryptFailure(code="cannot_decrypt", detail=detail)
    except _Unreadable as error:
        return DecryptFailure(code="unreadable_document", detail=str(error))
    except Exception as error:  # hostile input: any library failure is just unreadable
        detail = f"encrypted package could not be read ({type(error).__name__})"
        return DecryptFailure(code="unreadable_document", detail=detail)


def _open(data: bytes, limits: DocumentLimits) -> tuple[_Agile | _Standard, bytes]:
    if len(data) > limits.max_attachment_bytes:
        raise _Unreadable("attachment over the size limit")
    if not data.startswith(_OLE_MAGIC):
        raise _Unreadable("not an encrypted Office document")
    with olefile.OleFileIO(io.BytesIO(data)) as ole:
        if not (ole.exists("EncryptionInfo") and ole.exists("EncryptedPackage")):
            if ole.exists("WordDocument"):
                raise _Unreadable("a Word 97-2003 document, not an encrypted Word package")
            raise _Unreadable("no EncryptionInfo/EncryptedPackage streams")
        if ole.get_size("EncryptionInfo") > _MAX_INFO_BYTES:
            raise _Unreadable("oversized EncryptionInfo")
        info = ole.openstream("EncryptionInfo").read(_MAX_INFO_BYTES + 1)
        package = ole.openstream("EncryptedPackage").read(len(data) + 1)
    scheme = _parse_info(info, limits)
    if len(package) < 8 + 16 or (len(package) - 8) % 16:
        raise _Unreadable("encrypted package truncated")
    (declared_size,) = struct.unpack_from("<Q", package)
    if declared_size > len(package) - 8:
        raise _Unreadable("encrypted package truncated")
    return scheme, package


def _parse_info(info: bytes, limits: DocumentLimits) -> _Agile | _Standard:
    if len(info) < 8 or len(info) > _MAX_INFO_BYTES:
        raise _Unreadable("garbled EncryptionInfo")
    major, minor = struct.unpack_from("<HH", info)
    if (major, minor) == (4, 4):
        return _parse_agile(info[8:], limits)
    if major in (2, 3, 4) and minor == 2:
        return _parse_standard(info, limits)
    raise _Unreadable("unsupported encryption version")


def _parse_agile(xml: bytes, limits: DocumentLimits) -> _Agile:
    if b"<!doctype" in xml.lower() or b"<!entity" in xml.lower():
        raise _Unreadable("garbled EncryptionInfo")
    try:
        root = ElementTree.fromstring(xml)  # noqa: S314 - DTD-free (checked above), 64 KB cap
    except ElementTree.ParseError:
        raise _Unreadable("garbled EncryptionInfo") from None
    key_data = root.find(f"{_NS_ENC}keyData")
    integrity = root.find(f"{_NS_ENC}dataIntegrity")
    encrypted_key = root.find(
        f"{_NS_ENC}keyEncryptors/{_NS_ENC}keyEncryptor/{_NS_PASSWORD}encryptedKey"
    )
    if key_data is None or integrity is None or encrypted_key is None:
        raise _Unreadable("garbled EncryptionInfo")
    spin_text = encrypted_key.get("spinCount", "")
    if not _DIGITS.fullmatch(spin_text):
        raise _Unreadable("garbled EncryptionInfo")
    if int(spin_text) > limits.max_spin_count:
        raise _Unreadable("spin count over the limit (a denial-of-service file)")
    for element in (key_data, encrypted_key):
        if (element.get("cipherAlgorithm"), element.get("cipherChaining")) != (
            "AES",
            "ChainingModeCBC",
        ) or element.get("blockSize") != "16":
            raise _Unreadable("unsupported cipher")
        if element.get("hashAlgorithm") not in _HASHES:
            raise _Unreadable("unsupported hash algorithm")
    key_bits = encrypted_key.get("keyBits", "")
    if key_bits not in ("128", "192", "256") or key_data.get("keyBits") != key_bits:
        raise _Unreadable("unsupported key size")
    return _Agile(
        spin_count=int(spin_text),
        hash_name=encrypted_key.get("hashAlgorithm", ""),
        key_bytes=int(key_bits) // 8,
        salt=_b64(encrypted_key, "saltValue", 1),
        verifier_input=_b64(encrypted_key, "encryptedVerifierHashInput", 16),
        verifier_value=_b64(encrypted_key, "encryptedVerifierHashValue", 16),
        key_value=_b64(encrypted_key, "encryptedKeyValue", int(key_bits) // 8),
        data_salt=_b64(key_data, "saltValue", 1),
        data_hash_name=key_data.get("hashAlgorithm", ""),
        hmac_key=_b64(integrity, "encryptedHmacKey", 16),
        hmac_value=_b64(integrity, "encryptedHmacValue", 16),
    )


def _b64(element: ElementTree.Element, name: str, block: int) -> bytes:
    try:
        value = base64.b64decode(element.get(name, ""), validate=True)
    except (binascii.Error, ValueError):
        raise _Unreadable("garbled EncryptionInfo") from None
    if not 0 < len(value) <= 1024 or len(value) % block:
        raise _Unreadable("garbled EncryptionInfo")
    return value


def _parse_standard(info: bytes, limits: DocumentLimits) -> _Standard:
    if limits.max_spin_count < _STANDARD_SPIN_COUNT:
        raise _Unreadable("spin count over the limit (a denial-of-service file)")
    if len(info) < 12:
        raise _Unreadable("garbled EncryptionInfo")
    flags, header_size = struct.unpack_from("<II", info, 4)
    if not 32 <= header_size <= 1024 or len(info) < 12 + header_size + 72:
        raise _Unreadable("garbled EncryptionInfo")
    _, _, alg_id, alg_hash, key_size = struct.unpack_from("<IIIII", info, 12)
    salt_size, salt, verifier, hash_size, verifier_hash = struct.unpack_from(
        "<I16s16sI32s", info, 12 + header_size
    )
    fcrypto_api, faes, fexternal = flags & 0x04, flags & 0x20, flags & 0x10
    if alg_id == 0 and faes:
        alg_id = 0x660E
    if not (fcrypto_api and faes) or fexternal or _STANDARD_AES.get(alg_id) != key_size:
        raise _Unreadable("unsupported standard encryption (only AES is)")
    if alg_hash not in (0, 0x8004) or salt_size != 16 or hash_size != 20:
        raise _Unreadable("garbled EncryptionInfo")
    return _Standard(
        key_bytes=key_size // 8, salt=salt, verifier=verifier, verifier_hash=verifier_hash
    )


def _aes_cbc_decrypt(data: bytes, key: bytes, iv: bytes) -> bytes:
    decryptor = Cipher(algorithms.AES(key), modes.CBC(iv)).decryptor()
    return decryptor.update(data) + decryptor.finalize()


def _fit(value: bytes, size: int) -> bytes:
    """MS-OFFCRYPTO's rule for keys and IVs: truncate, or pad with 0x36."""
    return value[:size].ljust(size, b"\x36")


def _plain_zip(plain: bytes) -> bytes:
    if not plain.startswith(b"PK\x03\x04"):
        raise _Unreadable("decrypted content is not a Word package")
    return plain


@dataclass(frozen=True, repr=False)
class _Agile:
    spin_count: int
    hash_name: str
    key_bytes: int
    salt: bytes
    verifier_input: bytes
    verifier_value: bytes
    key_value: bytes
    data_salt: bytes
    data_hash_name: str
    hmac_key: bytes
    hmac_value: bytes

    def unlock(self, password: str, derive: KeyDerivation) -> bytes | None:
        """One derivation; the verifier decides; the same hash unwraps the package key."""
        digest = derive(password, self.salt, self.hash_name, self.spin_count)
        iv = _fit(self.salt, 16)

        def block_key(block: bytes) -> bytes:
            return _fit(_digest(self.hash_name, digest + block), self.key_bytes)

        verifier = _aes_cbc_decrypt(self.verifier_input, block_key(_BLOCK_VERIFIER_INPUT), iv)
        expected = _aes_cbc_decrypt(self.verifier_value, block_key(_BLOCK_VERIFIER_VALUE), iv)
        actual = _digest(self.hash_name, verifier[: len(self.salt)])
        if not hmac.compare_digest(actual, expected[: len(actual)]):
            return None
        return _aes_cbc_decrypt(self.key_value, block_key(_BLOCK_KEY_VALUE), iv)[: self.key_bytes]

    def decrypt(self, key: bytes, package: bytes) -> bytes:
        name = self.data_hash_name
        hmac_key_iv = _fit(_digest(name, self.data_salt + _BLOCK_HMAC_KEY), 16)
        hmac_value_iv = _fit(_digest(name, self.data_salt + _BLOCK_HMAC_VALUE), 16)
        size = hashlib.new(_HASHES[name]).digest_size
        hmac_key = _aes_cbc_decrypt(self.hmac_key, key, hmac_key_iv)[:size]
        hmac_value = _aes_cbc_decrypt(self.hmac_value, key, hmac_value_iv)
        actual = hmac.new(hmac_key, package, _HASHES[name]).digest()
        if len(hmac_value) < size or not hmac.compare_digest(actual, hmac_value[:size]):
            # The password was right (the verifier said so): the package was altered or cut.
            raise _Unreadable("encrypted package failed its integrity check")
        plain: bytes = ECMA376Agile.decrypt(
            key, self.data_salt, self.data_hash_name, io.BytesIO(package)
        )
        return _plain_zip(plain)


@dataclass(frozen=True, repr=False)
class _Standard:
    key_bytes: int
    salt: bytes
    verifier: bytes
    verifier_hash: bytes

    def unlock(self, password: str, derive: KeyDerivation) -> bytes | None:
        digest = derive(password, self.salt, "SHA1", _STANDARD_SPIN_COUNT)
        final = _digest("SHA1", digest + struct.pack("<I", 0)).ljust(64, b"\x00")
        inner = _digest("SHA1", bytes(b ^ 0x36 for b in final))
        outer = _digest("SHA1", bytes(b ^ 0x5C for b in final))
        key = (inner + outer)[: self.key_bytes]
        decryptor = Cipher(algorithms.AES(key), modes.ECB()).decryptor()  # noqa: S305 - the format's
        verifier = decryptor.update(self.verifier)
        verifier_hash = decryptor.update(self.verifier_hash)
        expected = _digest("SHA1", verifier)
        return key if hmac.compare_digest(expected, verifier_hash[:20]) else None

    def decrypt(self, key: bytes, package: bytes) -> bytes:
        plain: bytes = ECMA376Standard.decrypt(key, io.BytesIO(package))
        return _plain_zip(plain)
