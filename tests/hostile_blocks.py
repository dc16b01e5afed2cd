"""Building blocks for the hostile test files: Word packages, zips and OLE containers.

Every hostile builder (`hostile_corpus`, `hostile_packages`, `hostile_mail`) starts from a
genuine document and breaks one thing, so the file fails for that defect and not for its
origin; these are the shared ways to take a genuine document apart and put it back together.
"""

from __future__ import annotations

import io
import random
import struct
import sys
import zipfile
from datetime import date
from pathlib import Path

import olefile
from msoffcrypto.method.container.ecma376_encrypted import ECMA376Encrypted

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:  # so `python tests/hostile_corpus.py` finds mailbot
    sys.path.insert(0, str(ROOT))

from mailbot.dispatch.encrypt import encrypt_docx  # noqa: E402
from mailbot.models import FormData  # noqa: E402

TESTS_DIR = Path(__file__).resolve().parent
BASE_DOCX = TESTS_DIR / "data" / "forms" / "base.docx"
CORPUS_PASSWORD = "Hostile-Corpus-1"
_DATE = (2026, 11, 2, 9, 0, 0)
_DOCUMENT = "word/document.xml"
_CDH = struct.Struct("<4sHHHHHHIIIHHHHHII")


def base_docx() -> bytes:
    """The official sample form (fictional data): a valid, harmless .docx."""
    return BASE_DOCX.read_bytes()


def minimal_docx(text: str = "Hello") -> bytes:
    """The smallest package python-docx opens: content types, package rels, main document."""
    main = "application/vnd.openxmlformats-officedocument.wordprocessingml.document.main+xml"
    word = "http://schemas.openxmlformats.org/wordprocessingml/2006/main"
    office = "http://schemas.openxmlformats.org/officeDocument/2006/relationships/officeDocument"
    types = (
        '<?xml version="1.0" encoding="UTF-8"?>'
        '<Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types">'
        '<Default Extension="rels" '
        'ContentType="application/vnd.openxmlformats-package.relationships+xml"/>'
        '<Default Extension="xml" ContentType="application/xml"/>'
        f'<Override PartName="/word/document.xml" ContentType="{main}"/></Types>'
    )
    rels = (
        '<?xml version="1.0" encoding="UTF-8"?>'
        '<Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships">'
        f'<Relationship Id="rId1" Type="{office}" Target="word/document.xml"/></Relationships>'
    )
    document = (
        f'<?xml version="1.0" encoding="UTF-8"?><w:document xmlns:w="{word}"><w:body>'
        f"<w:p><w:r><w:t>{text}</w:t></w:r></w:p></w:body></w:document>"
    )
    return build_zip(
        [("[Content_Types].xml", types.encode()), ("_rels/.rels", rels.encode()),
         (_DOCUMENT, document.encode())]
    )  # fmt: skip


def parts_of(docx: bytes) -> list[tuple[str, bytes]]:
    with zipfile.ZipFile(io.BytesIO(docx)) as archive:
        return [(info.filename, archive.read(info)) for info in archive.infolist()]


def build_zip(parts: list[tuple[str, bytes]], *, compression: int = zipfile.ZIP_DEFLATED) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        for name, data in parts:
            info = zipfile.ZipInfo(name, date_time=_DATE)
            info.compress_type = compression
            archive.writestr(info, data)
    return buffer.getvalue()


def replace_part(docx: bytes, name: str, data: bytes) -> bytes:
    return build_zip([(n, data if n == name else d) for n, d in parts_of(docx)])


def add_part(docx: bytes, name: str, data: bytes) -> bytes:
    return build_zip([*parts_of(docx), (name, data)])


def patch_entry(
    docx: bytes, name: str, *, crc: int | None = None, file_size: int | None = None
) -> bytes:
    """Rewrite one entry's CRC and/or uncompressed size in both its local and central header:
    the directory then lies about the data, which is what a crafted bomb does."""
    out = bytearray(docx)
    with zipfile.ZipFile(io.BytesIO(docx)) as archive:
        local = archive.getinfo(name).header_offset
        central = archive.start_dir
    while docx[central + _CDH.size : central + _CDH.size + len(name)] != name.encode():
        central += _CDH.size + sum(struct.unpack_from("<HHH", docx, central + 28))
    for header, crc_at in ((local, 14), (central, 16)):
        if crc is not None:
            struct.pack_into("<I", out, header + crc_at, crc)
        if file_size is not None:
            struct.pack_into("<I", out, header + crc_at + 8, file_size)
    return bytes(out)


def _ole_streams(ole_bytes: bytes) -> tuple[bytes, bytes]:
    with olefile.OleFileIO(io.BytesIO(ole_bytes)) as ole:
        return ole.openstream("EncryptionInfo").read(), ole.openstream("EncryptedPackage").read()


def rebuild_encrypted(package: bytes, info: bytes) -> bytes:
    """An OLE encrypted-Word container holding these two streams, as Word lays it out."""
    buffer = io.BytesIO()
    ECMA376Encrypted(package, info).write_to(buffer)
    return buffer.getvalue()


def _rename_ole_entry(ole_bytes: bytes, old: str, new: str) -> bytes:
    """Rename a directory entry in place (names are fixed 64-byte UTF-16 slots)."""
    out = bytearray(ole_bytes)
    slot = out.index(old.encode("utf-16-le") + b"\x00\x00")
    out[slot : slot + 64] = new.encode("utf-16-le").ljust(64, b"\x00")
    struct.pack_into("<H", out, slot + 64, (len(new) + 1) * 2)
    return bytes(out)


def encrypted(spin_count: int = 1000, password: str = CORPUS_PASSWORD) -> bytes:
    """The base form, encrypted as Word does (agile AES-256), cheap to open in tests."""
    return encrypt_docx(base_docx(), password, spin_count=spin_count)


def referral_form(seed: int) -> FormData:
    """A complete referral for a victim of its own (seeded), dated for the tests' fixed clock:
    a hostile file that is read as a form must not be taken for a repeat of another one."""
    from mailbot.demo.samples import sample_form

    return sample_form(random.Random(seed), referral_date=date(2026, 11, 2))


def referral_docx(seed: int) -> bytes:
    from mailbot.demo.formwriter import render_form

    return render_form(referral_form(seed))


def mutate(data: bytes, seed: int, flips: int) -> bytes:
    """`data` with `flips` bytes overwritten at random (seeded): a damaged copy of a file."""
    rng = random.Random(seed)
    out = bytearray(data)
    for _ in range(flips):
        out[rng.randrange(len(out))] = rng.randrange(256)
    return bytes(out)
