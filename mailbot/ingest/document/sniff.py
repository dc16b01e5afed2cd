"""Say what a file really is from its bytes, never from its name or declared MIME type.

Partners attach scans called `referral.docx`, PDFs, Word 97 files and macro-enabled forms.
The intake decision (`not_word_document`, `legacy_word_format`, `macro_content`), whether
to try a password and whether to look inside (an Outlook item, `msg`) must rest on what the
bytes are, so a renamed file cannot slip through.
"""

from __future__ import annotations

import io
import zipfile
from typing import BinaryIO

import filetype
import olefile

from mailbot.ingest.mime.msg import is_outlook_item
from mailbot.models import DocKind

_OLE_MAGIC = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"
_ZIP_MAGICS = (b"PK\x03\x04", b"PK\x05\x06")


def classify(data: bytes) -> DocKind:
    """Classify an attachment by content. Never raises."""
    if not data:
        return DocKind.EMPTY
    if data.startswith(_OLE_MAGIC):
        return _classify_ole(data)
    if data.startswith(_ZIP_MAGICS):
        return classify_package(io.BytesIO(data))
    if data.lstrip()[:5] == b"%PDF-":
        return DocKind.PDF
    guess = filetype.guess(data[:8192])
    if guess is not None and guess.mime.startswith("image/"):
        return DocKind.IMAGE
    return DocKind.OTHER


def _classify_ole(data: bytes) -> DocKind:
    try:
        with olefile.OleFileIO(io.BytesIO(data)) as ole:
            if ole.exists("EncryptionInfo") and ole.exists("EncryptedPackage"):
                return DocKind.ENCRYPTED
            if ole.exists("WordDocument"):
                return DocKind.DOC
            if is_outlook_item(ole):
                return DocKind.MSG
    except Exception:  # a corrupt compound file is just "other"
        return DocKind.OTHER
    return DocKind.OTHER


def classify_package(package: BinaryIO) -> DocKind:
    """Classify a zip (an attachment, or a decrypted package read as a file). Never raises."""
    try:
        package.seek(0)
        with zipfile.ZipFile(package) as archive:
            names = {n.lower() for n in archive.namelist()[:10_000]}
    except (zipfile.BadZipFile, ValueError, OSError, EOFError):
        # Truncated OOXML still starts with a local header: let the reader say unreadable.
        package.seek(0)
        return DocKind.DOCX if b"word/" in package.read(4096) else DocKind.ZIP
    if "word/document.xml" not in names and not any(n.startswith("word/") for n in names):
        return DocKind.ZIP
    if any(n.endswith("vbaproject.bin") for n in names):
        return DocKind.DOCM
    return DocKind.DOCX


WORD_KINDS = frozenset({DocKind.DOCX, DocKind.DOCM, DocKind.ENCRYPTED, DocKind.DOC})
