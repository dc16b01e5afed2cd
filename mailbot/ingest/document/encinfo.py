"""Read and vet an encrypted Word file's EncryptionInfo before any password is tried.

The EncryptionInfo stream says how the package was encrypted (MS-OFFCRYPTO agile XML, or the
older standard binary header) and so how much each password try costs: the spin count. It
comes from the sender like the rest of the file, so everything `decrypt` will rely on is
checked here first (AES in CBC, a known hash, consistent key and salt sizes, a spin count
within `DocumentLimits.max_spin_count`), and an unknown, garbled or too-costly one raises
`Unreadable` before a single key derivation is spent. What comes out is plain parameters; the
cryptography that uses them is in `decrypt`.
"""

from __future__ import annotations

import base64
import binascii
import re
import struct
from dataclasses import dataclass
from xml.etree import ElementTree

from mailbot.models import DocumentLimits

MAX_INFO_BYTES = 64 * 1024  # a real EncryptionInfo is ~1.5 KB
HASHES = {"SHA1": "sha1", "SHA256": "sha256", "SHA384": "sha384", "SHA512": "sha512"}
STANDARD_SPIN_COUNT = 50_000  # fixed by the standard encryption spec
_NS_ENC = "{http://schemas.microsoft.com/office/2006/encryption}"
_NS_PASSWORD = "{http://schemas.microsoft.com/office/2006/keyEncryptor/password}"  # noqa: S105
_STANDARD_AES = {0x660E: 128, 0x660F: 192, 0x6610: 256}
_DIGITS = re.compile(r"\d{1,10}")


class Unreadable(Exception):  # internal control flow, never escapes `decrypt.decrypt`
    pass


@dataclass(frozen=True, repr=False)
class AgileInfo:
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


@dataclass(frozen=True, repr=False)
class StandardInfo:
    key_bytes: int
    salt: bytes
    verifier: bytes
    verifier_hash: bytes


def parse_info(info: bytes, limits: DocumentLimits) -> AgileInfo | StandardInfo:
    if len(info) < 8 or len(info) > MAX_INFO_BYTES:
        raise Unreadable("garbled EncryptionInfo")
    major, minor = struct.unpack_from("<HH", info)
    if (major, minor) == (4, 4):
        return _parse_agile(info[8:], limits)
    if major in (2, 3, 4) and minor == 2:
        return _parse_standard(info, limits)
    raise Unreadable("unsupported encryption version")


def _parse_agile(xml: bytes, limits: DocumentLimits) -> AgileInfo:
    if b"<!doctype" in xml.lower() or b"<!entity" in xml.lower():
        raise Unreadable("garbled EncryptionInfo")
    try:
        root = ElementTree.fromstring(xml)  # noqa: S314 - DTD-free (checked above), 64 KB cap
    except ElementTree.ParseError:
        raise Unreadable("garbled EncryptionInfo") from None
    key_data = root.find(f"{_NS_ENC}keyData")
    integrity = root.find(f"{_NS_ENC}dataIntegrity")
    encrypted_key = root.find(
        f"{_NS_ENC}keyEncryptors/{_NS_ENC}keyEncryptor/{_NS_PASSWORD}encryptedKey"
    )
    if key_data is None or integrity is None or encrypted_key is None:
        raise Unreadable("garbled EncryptionInfo")
    spin_text = encrypted_key.get("spinCount", "")
    if not _DIGITS.fullmatch(spin_text):
        raise Unreadable("garbled EncryptionInfo")
    if int(spin_text) > limits.max_spin_count:
        raise Unreadable("spin count over the limit (a denial-of-service file)")
    for element in (key_data, encrypted_key):
        if (element.get("cipherAlgorithm"), element.get("cipherChaining")) != (
            "AES",
            "ChainingModeCBC",
        ) or element.get("blockSize") != "16":
            raise Unreadable("unsupported cipher")
        if element.get("hashAlgorithm") not in HASHES:
            raise Unreadable("unsupported hash algorithm")
    key_bits = encrypted_key.get("keyBits", "")
    if key_bits not in ("128", "192", "256") or key_data.get("keyBits") != key_bits:
        raise Unreadable("unsupported key size")
    return AgileInfo(
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
        raise Unreadable("garbled EncryptionInfo") from None
    if not 0 < len(value) <= 1024 or len(value) % block:
        raise Unreadable("garbled EncryptionInfo")
    return value


def _parse_standard(info: bytes, limits: DocumentLimits) -> StandardInfo:
    if limits.max_spin_count < STANDARD_SPIN_COUNT:
        raise Unreadable("spin count over the limit (a denial-of-service file)")
    if len(info) < 12:
        raise Unreadable("garbled EncryptionInfo")
    flags, header_size = struct.unpack_from("<II", info, 4)
    if not 32 <= header_size <= 1024 or len(info) < 12 + header_size + 72:
        raise Unreadable("garbled EncryptionInfo")
    _, _, alg_id, alg_hash, key_size = struct.unpack_from("<IIIII", info, 12)
    salt_size, salt, verifier, hash_size, verifier_hash = struct.unpack_from(
        "<I16s16sI32s", info, 12 + header_size
    )
    fcrypto_api, faes, fexternal = flags & 0x04, flags & 0x20, flags & 0x10
    if alg_id == 0 and faes:
        alg_id = 0x660E
    if not (fcrypto_api and faes) or fexternal or _STANDARD_AES.get(alg_id) != key_size:
        raise Unreadable("unsupported standard encryption (only AES is)")
    if alg_hash not in (0, 0x8004) or salt_size != 16 or hash_size != 20:
        raise Unreadable("garbled EncryptionInfo")
    return StandardInfo(
        key_bytes=key_size // 8, salt=salt, verifier=verifier, verifier_hash=verifier_hash
    )
