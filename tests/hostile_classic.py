"""The first hostile attachments: decompression bombs, XML attacks, macros, broken files.

Each builder starts from the genuine base form and breaks one thing, the way a crafted attack
or a damaged upload does; `tests/hostile_corpus.CORPUS` names each with the code intake
must give. Split from the registry so each module stays readable.
"""

from __future__ import annotations

import io
import random
import re
import struct
import zipfile
import zlib

from mailbot.dispatch.encrypt import encrypt_docx
from tests.hostile_blocks import (
    CORPUS_PASSWORD,
    _ole_streams,
    _rename_ole_entry,
    add_part,
    base_docx,
    build_zip,
    encrypted,
    minimal_docx,
    parts_of,
    patch_entry,
    rebuild_encrypted,
    replace_part,
)

MIB = 1 << 20
GIB = 1 << 30
_DOCUMENT = "word/document.xml"
_LFH = struct.Struct("<4sHHHHHIIIHH")
_CDH = struct.Struct("<4sHHHHHHIIIHHHHHII")
_EOCD = struct.Struct("<4sHHHHIIH")


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
