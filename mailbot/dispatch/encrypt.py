"""Password-encrypt a Word document the way Word's "Encrypt with Password" does.

Agendas sent to an agency without a secure domain must travel as a password-encrypted Word
file (PROCESS.md, "Outgoing to anyone else"), and the tests and the demo need real encrypted
referrals to feed the decryptor. msoffcrypto-tool writes MS-OFFCRYPTO agile encryption, fixed
at AES-256 with SHA-512, which every current Word opens. The spin count is exposed only so tests
can build cheap files (or the costly ones the decryptor must refuse); callers keep Word's default.

msoffcrypto-tool 6.1 always writes the EncryptedPackage stream in regular sectors, but a stream
under 4,096 bytes belongs in the compound file's mini stream, so readers (Word included) look
there and find other data: a tiny document would come out unopenable. Such a document is padded
to the cut-off with a zip comment (ignored by every reader), and every result is read back
before it is returned, so a broken container can never be sent.
"""

from __future__ import annotations

import io
import zipfile

import olefile

WORD_SPIN_COUNT = 100_000  # Word's own default
_MINI_STREAM_CUTOFF = 4096
_PACKAGE_OVERHEAD = 8 + 16  # size field, and at most one block of padding


def encrypt_docx(data: bytes, password: str, *, spin_count: int = WORD_SPIN_COUNT) -> bytes:
    """Return `data` (a .docx) as an encrypted OLE file. Raises ValueError on bad arguments."""
    if not password:
        raise ValueError("an empty password would not protect anything")
    if not 0 <= spin_count <= 10_000_000:  # MS-OFFCRYPTO's own upper bound
        raise ValueError("spin count out of range")
    if not zipfile.is_zipfile(io.BytesIO(data)):
        raise ValueError("not an OOXML (zip) document")
    # Imported here, not at start-up: msoffcrypto (and the cryptography parts it pulls in) is
    # start-up time and memory a daemon with nothing to encrypt does not need.
    from msoffcrypto.method.container.ecma376_encrypted import ECMA376Encrypted
    from msoffcrypto.method.ecma376_agile import ECMA376Agile

    plain = _at_least_cutoff(data)
    info, secret_key = ECMA376Agile.generate_encryption_parameters(password, None, spin_count)
    package = ECMA376Agile.encrypt_payload(
        io.BytesIO(plain), info.encryptedKey, secret_key, info.keyData.saltValue
    )
    encryption_info = ECMA376Agile.get_encryption_information(info, package, secret_key)
    buffer = io.BytesIO()
    ECMA376Encrypted(package, encryption_info).write_to(buffer)
    encrypted = buffer.getvalue()
    with olefile.OleFileIO(io.BytesIO(encrypted)) as ole:
        if ole.openstream("EncryptedPackage").read() != package:
            raise ValueError("the encrypted container did not read back intact")
    return encrypted


def _at_least_cutoff(data: bytes) -> bytes:
    """Pad a small package with a zip comment so its encrypted stream avoids the mini stream."""
    shortfall = _MINI_STREAM_CUTOFF - len(data)
    if shortfall <= 0:
        return data
    buffer = io.BytesIO(data)
    with zipfile.ZipFile(buffer, "a") as archive:
        archive.comment = archive.comment + b" " * shortfall
    return buffer.getvalue()
