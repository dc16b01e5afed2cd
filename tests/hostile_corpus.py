"""Hostile attachments, built by code so each one is explained and can be rebuilt.

mailbot must survive whatever a partner's (or an attacker's) mailbox sends: zip bombs, XML
entity bombs, macros, broken and renamed files, encrypted files that cost minutes per password.
Each builder returns the bytes of one such file; `CORPUS` names them with what they are and the
code intake must give; `write_corpus()` (run this module) writes them to `data/hostile/` with
`expected.json` and the README table, so the golden files and their explanation never drift.
"""

from __future__ import annotations

import io
import json
import random
import re
import struct
import sys
import zipfile
import zlib
from collections.abc import Callable
from pathlib import Path

import olefile
from msoffcrypto.method.container.ecma376_encrypted import ECMA376Encrypted

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:  # so `python tests/hostile_corpus.py` finds mailbot
    sys.path.insert(0, str(ROOT))

from mailbot.dispatch.encrypt import encrypt_docx  # noqa: E402

TESTS_DIR = Path(__file__).resolve().parent
BASE_DOCX = TESTS_DIR / "data" / "forms" / "base.docx"
HOSTILE_DIR = TESTS_DIR / "data" / "hostile"
CORPUS_PASSWORD = "Hostile-Corpus-1"
MIB = 1 << 20
GIB = 1 << 30
_DATE = (2026, 11, 2, 9, 0, 0)
_DOCUMENT = "word/document.xml"
_LFH = struct.Struct("<4sHHHHHIIIHH")
_CDH = struct.Struct("<4sHHHHHHIIIHHHHHII")
_EOCD = struct.Struct("<4sHHHHIIH")


# -- building blocks -------------------------------------------------------------------------


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


# -- decompression bombs ---------------------------------------------------------------------


def ratio_bomb(size: int = 40 * MIB) -> bytes:
    """document.xml followed by 40 MB of whitespace (legal XML): ~40 KB that inflates 1000x."""
    document = dict(parts_of(base_docx()))[_DOCUMENT]
    return replace_part(base_docx(), _DOCUMENT, document + b" " * size)


def declared_size_bomb(declared: int = GIB) -> bytes:
    """A real document whose directory claims document.xml inflates to 1 GiB."""
    return patch_entry(base_docx(), _DOCUMENT, file_size=declared)


def too_many_entries(extra: int = 2000) -> bytes:
    """A minimal Word package plus 2000 empty parts: each costs the reader an object."""
    parts = parts_of(minimal_docx()) + [(f"{n:x}", b"") for n in range(extra)]
    return build_zip(parts, compression=zipfile.ZIP_STORED)


def overlap_bomb_quoted(files: int = 10, kernel: bytes = b"\0" * MIB) -> bytes:
    """David Fifield's "better zip bomb": each entry's deflate stream starts with a stored block
    that quotes the next entry's local header, then runs on into it, so all entries share one
    compressed kernel and the output grows quadratically with no duplicate central entries."""
    names = ["[Content_Types].xml", "_rels/.rels", _DOCUMENT] + [
        f"word/part{n}.xml" for n in range(files - 3)
    ]
    compressor = zlib.compressobj(9, zlib.DEFLATED, -15)
    compressed_kernel = compressor.compress(kernel) + compressor.flush()
    headers: list[bytes] = [b""] * files
    plain_tail, deflate_tail = kernel, compressed_kernel
    for i in reversed(range(files)):
        name = names[i].encode()
        headers[i] = _LFH.pack(
            b"PK\x03\x04", 20, 0, 8, 0, 0x5D62, zlib.crc32(plain_tail),
            len(deflate_tail), len(plain_tail), len(name), 0,
        ) + name  # fmt: skip
        quote = b"\x00" + struct.pack("<HH", len(headers[i]), len(headers[i]) ^ 0xFFFF)
        plain_tail, deflate_tail = headers[i] + plain_tail, quote + headers[i] + deflate_tail
    # deflate_tail now starts with a useless quote of header 0: the file starts at header 0.
    body = deflate_tail[5:]
    return body + _central_directory(headers, body)


def overlap_bomb_shared_header(copies: int = 50, payload: bytes = b" " * 90_000) -> bytes:
    """The classic overlap: many directory entries all pointing at one local header."""
    single = build_zip([(_DOCUMENT, payload)])
    with zipfile.ZipFile(io.BytesIO(single)) as archive:
        info = archive.infolist()[0]
        body = single[: archive.start_dir]
    names = ["[Content_Types].xml", "_rels/.rels", _DOCUMENT] + [
        f"word/copy{n}.xml" for n in range(copies - 3)
    ]
    records = [
        _CDH.pack(
            b"PK\x01\x02", 20, 20, 0, 8, 0, 0x5D62, info.CRC, info.compress_size,
            info.file_size, len(name.encode()), 0, 0, 0, 0, 0, 0,
        ) + name.encode()
        for name in names
    ]  # fmt: skip
    directory = b"".join(records)
    end = _EOCD.pack(b"PK\x05\x06", 0, 0, len(records), len(records), len(directory), len(body), 0)
    return body + directory + end


def _central_directory(headers: list[bytes], body: bytes) -> bytes:
    records, offset = [], 0
    for i, header in enumerate(headers):
        offset = body.index(header, offset) if i else 0
        fields = _LFH.unpack(header[: _LFH.size])
        name = header[_LFH.size :]
        records.append(
            _CDH.pack(b"PK\x01\x02", 20, *fields[1:9], len(name), 0, 0, 0, 0, 0, offset) + name
        )
    directory = b"".join(records)
    end = _EOCD.pack(b"PK\x05\x06", 0, 0, len(records), len(records), len(directory), len(body), 0)
    return directory + end


# -- XML attacks -----------------------------------------------------------------------------


def billion_laughs() -> bytes:
    """document.xml with a nested-entity DTD that would expand to ~3 GB of 'lol'."""
    entities = '<!ENTITY lol "lol">' + "".join(
        f'<!ENTITY lol{n} "{("&lol" + (str(n - 1) if n > 1 else "") + ";") * 10}">'
        for n in range(1, 10)
    )
    document = dict(parts_of(base_docx()))[_DOCUMENT].decode()
    declaration, _, rest = document.partition("?>")
    hostile = f"{declaration}?><!DOCTYPE lolz [{entities}]>{rest}".replace(
        "<w:body>", "<w:body><w:p><w:r><w:t>&lol9;</w:t></w:r></w:p>", 1
    )
    return replace_part(base_docx(), _DOCUMENT, hostile.encode())


def xxe_rels() -> bytes:
    """A relationships part that declares an external entity reading /etc/passwd."""
    name = "word/_rels/document.xml.rels"
    rels = dict(parts_of(base_docx()))[name].decode()
    declaration, _, rest = rels.partition("?>")
    dtd = '<!DOCTYPE r [<!ENTITY xxe SYSTEM "file:///etc/passwd">]>'
    hostile = f"{declaration}?>{dtd}{rest}".replace('Target="', 'Target="&xxe;', 1)
    return replace_part(base_docx(), name, hostile.encode())


# -- macros ----------------------------------------------------------------------------------


def docm_content_type() -> bytes:
    """A .docm: the main part declared macro-enabled in [Content_Types].xml."""
    name = "[Content_Types].xml"
    types = dict(parts_of(base_docx()))[name]
    main = b"wordprocessingml.document.main+xml"
    return replace_part(
        base_docx(), name, types.replace(main, b"ms-word.document.macroEnabled.main+xml")
    )


def vba_project_part() -> bytes:
    """A .docx carrying a VBA project part (content types left innocent)."""
    return add_part(
        base_docx(), "word/vbaProject.bin", b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + bytes(504)
    )


def activex_part() -> bytes:
    """A .docx carrying an ActiveX control part."""
    return add_part(base_docx(), "word/activeX/activeX1.xml", b'<ax:ocx xmlns:ax="x"/>')


# -- broken and mislabelled files ------------------------------------------------------------


def truncated_docx() -> bytes:
    """The first half of a valid .docx (a cut-off download)."""
    data = base_docx()
    return data[: len(data) // 2]


def crc_corrupt_docx() -> bytes:
    """A valid .docx whose document.xml CRC does not match its data."""
    with zipfile.ZipFile(io.BytesIO(base_docx())) as archive:
        crc = archive.getinfo(_DOCUMENT).CRC
    return patch_entry(base_docx(), _DOCUMENT, crc=crc ^ 0xFFFF)


def empty() -> bytes:
    """A zero-byte attachment."""
    return b""


def random_bytes() -> bytes:
    """4 KB of random bytes named .docx."""
    return random.Random(7731).randbytes(4096)


def pdf_bytes() -> bytes:
    """A PDF sent as referral.docx."""
    return b"%PDF-1.7\n1 0 obj <</Type /Catalog>> endobj\ntrailer <</Root 1 0 R>>\n%%EOF\n"


def ole_doc_like() -> bytes:
    """An OLE compound file with WordDocument and 1Table streams, like a Word 97-2003 .doc."""
    ole = encrypted(spin_count=1)
    return _rename_ole_entry(
        _rename_ole_entry(ole, "EncryptedPackage", "WordDocument"), "EncryptionInfo", "1Table"
    )


# -- encrypted files -------------------------------------------------------------------------


def encrypted(spin_count: int = 1000, password: str = CORPUS_PASSWORD) -> bytes:
    """The base form, encrypted as Word does (agile AES-256), cheap to open in tests."""
    return encrypt_docx(base_docx(), password, spin_count=spin_count)


def with_spin_count(encrypted_file: bytes, spin_count: int) -> bytes:
    """The same file with its EncryptionInfo claiming another spin count (no re-encryption)."""
    info, package = _ole_streams(encrypted_file)
    info = re.sub(rb'spinCount="\d+"', f'spinCount="{spin_count}"'.encode(), info)
    return rebuild_encrypted(package, info)


def encrypted_huge_spin_count() -> bytes:
    """Encrypted, with spinCount 10,000,000: minutes of hashing per password tried."""
    return with_spin_count(encrypted(), 10_000_000)


def encrypted_truncated() -> bytes:
    """An encrypted file cut off at two thirds."""
    data = encrypted()
    return data[: len(data) * 2 // 3]


def ole_garbage_encryption_info() -> bytes:
    """An encrypted-Word container whose EncryptionInfo is random bytes after a 4.4 version."""
    _, package = _ole_streams(encrypted())
    return rebuild_encrypted(
        package, b"\x04\x00\x04\x00\x40\x00\x00\x00" + random.Random(5).randbytes(600)
    )


def encrypted_docm() -> bytes:
    """A macro-enabled document behind a correct password: the macro is found after opening."""
    return encrypt_docx(vba_project_part(), CORPUS_PASSWORD, spin_count=1000)


CORPUS: dict[str, tuple[Callable[[], bytes], str]] = {
    "zip-bomb-ratio.docx": (ratio_bomb, "unreadable_document"),
    "zip-bomb-declared-1gib.docx": (declared_size_bomb, "unreadable_document"),
    "zip-too-many-entries.docx": (too_many_entries, "unreadable_document"),
    "zip-bomb-overlap-quoted.docx": (overlap_bomb_quoted, "unreadable_document"),
    "zip-bomb-overlap-shared-header.docx": (overlap_bomb_shared_header, "unreadable_document"),
    "billion-laughs.docx": (billion_laughs, "unreadable_document"),
    "xxe-rels.docx": (xxe_rels, "unreadable_document"),
    "docm-content-type.docx": (docm_content_type, "macro_content"),
    "vba-project-part.docx": (vba_project_part, "macro_content"),
    "activex-part.docx": (activex_part, "macro_content"),
    "truncated.docx": (truncated_docx, "unreadable_document"),
    "crc-corrupt.docx": (crc_corrupt_docx, "unreadable_document"),
    "empty.docx": (empty, "not_word_document"),
    "random-bytes.docx": (random_bytes, "not_word_document"),
    "pdf-named-docx.docx": (pdf_bytes, "not_word_document"),
    "ole-doc-like.docx": (ole_doc_like, "legacy_word_format"),
    "encrypted-spin-10m.docx": (encrypted_huge_spin_count, "unreadable_document"),
    "encrypted-truncated.docx": (encrypted_truncated, "unreadable_document"),
    "ole-garbage-encryptioninfo.docx": (ole_garbage_encryption_info, "unreadable_document"),
    "encrypted-docm.docx": (encrypted_docm, "macro_content"),
}


def describe(builder: Callable[[], bytes]) -> str:
    return " ".join((builder.__doc__ or builder.__name__).split())


def write_corpus(directory: Path = HOSTILE_DIR) -> None:
    """Write every file, `expected.json` and the README table into `directory`."""
    directory.mkdir(parents=True, exist_ok=True)
    rows = []
    for name, (builder, code) in CORPUS.items():
        data = builder()
        assert len(data) < 200_000, name
        (directory / name).write_bytes(data)
        rows.append(f"| `{name}` | {describe(builder)} | `{code}` |")
    expected = {name: code for name, (_, code) in CORPUS.items()}
    (directory / "expected.json").write_text(json.dumps(expected, indent=2) + "\n")
    (directory / "README.md").write_text(_README.format(rows="\n".join(rows)))


_README = f"""# Hostile attachments

Built by `tests/hostile_corpus.py` (rebuild with `.venv/bin/python tests/hostile_corpus.py`);
`expected.json` maps each file to the code intake gives it, and `tests/unit/test_hostile.py`
checks every file here gets that code within 10 seconds. "Intake" there means: classify the
bytes (`ingest.sniff`), decrypt an encrypted file with the password `{CORPUS_PASSWORD}`,
then inspect the package (`ingest.ooxml`). All personal data in the base form is fictional.

| file | what it is | expected code |
|---|---|---|
{{rows}}
"""


if __name__ == "__main__":
    write_corpus()
