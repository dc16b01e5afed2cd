"""Encrypted Word files in the shapes msoffcrypto-tool's writer does not make (test data).

`mailbot.dispatch.encrypt` writes what Word writes (agile AES-256, sectors in order). Partners'
files may also use the older standard encryption, or have their sectors scattered through the
compound file (Word re-saving in place does that), and the reader must follow both.
"""

from __future__ import annotations

import hashlib
import io
import os
import struct

import olefile
from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes
from msoffcrypto.method.ecma376_standard import ECMA376Standard

from tests import hostile_corpus as corpus

_DIFAT = struct.Struct("<109I")  # the header's first 109 allocation-table sector numbers
_DIFAT_OFFSET = 0x4C


def standard_encrypt(docx: bytes, password: str, key_bits: int = 128) -> bytes:
    """Standard (ECMA-376 2.3.4.5) AES encryption, which msoffcrypto only decrypts: the key
    comes from msoffcrypto's own derivation, an implementation independent of mailbot's."""
    salt = os.urandom(16)
    alg_id = {128: 0x660E, 192: 0x660F, 256: 0x6610}[key_bits]
    key = ECMA376Standard.makekey_from_password(password, alg_id, 0x8004, 0x18, key_bits, 16, salt)
    encryptor = Cipher(algorithms.AES(key), modes.ECB()).encryptor()  # noqa: S305 - the format's
    verifier = os.urandom(16)
    verifier_hash = hashlib.new("sha1", verifier).digest().ljust(32, b"\0")  # noqa: S324 - format
    csp = "Microsoft Enhanced RSA and AES Cryptographic Provider\0".encode("utf-16-le")
    header = struct.pack("<8I", 0x24, 0, alg_id, 0x8004, key_bits, 0x18, 0, 0) + csp
    info = struct.pack("<HHII", 4, 2, 0x24, len(header)) + header
    info += struct.pack("<I", 16) + salt + encryptor.update(verifier)
    info += struct.pack("<I", 20) + encryptor.update(verifier_hash)
    padded = docx + b"\0" * (-len(docx) % 16)
    package = struct.pack("<Q", len(docx)) + encryptor.update(padded)
    return corpus.rebuild_encrypted(package, info)


def package_chain(data: bytes) -> tuple[list[int], int]:
    """The EncryptedPackage stream's sector numbers, in stream order, and the sector size."""
    with olefile.OleFileIO(io.BytesIO(data)) as ole:
        entry = next(kid for kid in ole.root.kids if kid.name == "EncryptedPackage")
        chain = [entry.isectStart]
        while len(chain) < -(-entry.size // ole.sectorsize):
            chain.append(ole.fat[chain[-1]])
        return chain, ole.sectorsize


def set_next_sector(data: bytearray, sector_size: int, sector: int, following: int) -> None:
    """Point `sector`'s allocation-table entry at `following` (in the first 109 FAT sectors)."""
    per_sector = sector_size // 4
    fat_sector = _DIFAT.unpack_from(data, _DIFAT_OFFSET)[sector // per_sector]
    offset = (fat_sector + 1) * sector_size + (sector % per_sector) * 4
    struct.pack_into("<I", data, offset, following)


def scattered(data: bytes) -> bytes:
    """The same file with the package's 2nd and 4th sectors swapped in place and the
    allocation table changed to match: the stream reads the same, out of order on disk."""
    chain, size = package_chain(data)
    first, second = chain[1], chain[3]
    out = bytearray(data)

    def span(sector: int) -> slice:
        return slice((sector + 1) * size, (sector + 2) * size)

    out[span(first)], out[span(second)] = data[span(second)], data[span(first)]
    order = list(chain)
    order[1], order[3] = second, first
    for index, sector in enumerate(order):
        following = order[index + 1] if index + 1 < len(order) else olefile.ENDOFCHAIN
        set_next_sector(out, size, sector, following)
    return bytes(out)
