"""Decide whether a Word (OOXML) zip is safe to hand to python-docx, before anyone parses it.

A referral attachment is hostile input. A zip can declare a gigabyte per part, hold a few
kilobytes that inflate to gigabytes, point many directory entries at the same (or overlapping)
local data, carry a macro project, or hide a DTD (billion laughs, external entities) in any XML
part. python-docx and lxml would trust all of it, so every check here runs first, on the raw
bytes, with every loop and every read bounded by `DocumentLimits`: the answer is a reason code
(`macro_content`, `active_content`, `unreadable_document`) or None, never an exception and
never a hang. What counts as active content (macros, anything Word fetches on opening, DDE
fields, OLE objects, what an imported altChunk part carries) is decided in `active`; this
module decides whether the package is safe to look at.

The standard library's `zipfile` reads the central directory (it is what python-docx uses, so
both see the same entries); what it trusts there (names, sizes, ratios, overlapping entries)
is checked first by `zipdir`.
"""

from __future__ import annotations

import io
import re
import zipfile
import zlib
from typing import BinaryIO
from xml.etree import ElementTree

from mailbot.codes import Reason
from mailbot.ingest.document import active
from mailbot.ingest.document.zipdir import (
    UNREADABLE,
    Rejected,
    check_directory,
    check_layout,
    count_directory_records,
    reject,
)
from mailbot.models import DocumentLimits

_CONTENT_TYPES = "[Content_Types].xml"
_MAX_CONTENT_TYPES_BYTES = 1024 * 1024  # a real one is ~2 KB
_CHUNK = 64 * 1024

# A DTD is never needed in a Word part; looked for in every encoding lxml would accept.
_DTD_PATTERNS = tuple(
    word.encode(codec)
    for word in ("<!doctype", "<!entity")
    for codec in ("ascii", "utf-16-le", "utf-16-be", "utf-32-le", "utf-32-be")
)
# Bytes kept from one chunk to the next, so a DTD or a hint across chunks is still seen.
_TAIL = max(len(p) for p in (*_DTD_PATTERNS, *active.HINTS)) - 1
# A part whose first bytes are ASCII-compatible (no NUL, no UTF-16/32 byte order mark) is
# read by any XML parser in an ASCII-compatible encoding (XML 1.0 appendix F), so a DTD or a
# hint can only be spelled there in ASCII: its scan looks for those spellings alone.
_ASCII_DTD = tuple(word.encode("ascii") for word in ("<!doctype", "<!entity"))
_ASCII_HINTS = tuple(word.encode("ascii") for word in active.HINT_WORDS)
_WIDE_STARTS = (b"\xff\xfe", b"\xfe\xff")
# Encodings in which a DTD is visible to the byte scan (ASCII-compatible, or UTF-16/32).
_ALLOWED_ENCODINGS = frozenset(
    {"utf-8", "utf8", "utf-16", "utf-16le", "utf-16be", "us-ascii", "ascii", "iso-8859-1",
     "latin1", "windows-1252"}
)  # fmt: skip
# Byte orders libxml2 detects without a declaration but the scan does not cover: EBCDIC,
# and UCS-4 in the two unusual orders.
_EXOTIC_STARTS = (b"\x4c\x6f\xa7\x94", b"\x00\x00\x3c\x00", b"\x00\x3c\x00\x00")
_ENCODING_DECL = re.compile(r"""^\s*<\?xml[^>]*?encoding\s*=\s*["']([^"']{0,40})["']""")


def inspect_package(data: bytes | BinaryIO, limits: DocumentLimits) -> Reason | None:
    """Return None when `data` (bytes, or a seekable file such as a decrypted package) is a
    safe Word package, else the reason code. Never raises."""
    found = _check(data, limits)
    return None if found is None else found[0]


def _check(data: bytes | BinaryIO, limits: DocumentLimits) -> tuple[Reason, str] | None:
    """Like `inspect_package`, with a one-line detail (no document content) for the queue."""
    try:
        _inspect(data, limits)
    except Rejected as rejected:
        return rejected.code, rejected.detail
    except Exception as error:  # any parser failure on hostile input is just unreadable
        return UNREADABLE, f"unreadable zip ({type(error).__name__})"
    return None


def _inspect(data: bytes | BinaryIO, limits: DocumentLimits) -> None:
    source = io.BytesIO(data) if isinstance(data, bytes) else data
    size = source.seek(0, io.SEEK_END)
    if not size:
        reject(UNREADABLE, "empty file")
    if size > limits.max_attachment_bytes:
        reject(UNREADABLE, "attachment over the size limit")
    # Count directory records before zipfile builds an object per record: every record starts
    # with this signature, so the count bounds what zipfile would allocate.
    if count_directory_records(data) > limits.max_zip_entries:
        reject(UNREADABLE, "too many zip entries")
    try:
        source.seek(0)
        archive = zipfile.ZipFile(source)
    except zipfile.BadZipFile:
        reject(UNREADABLE, "not a zip file")
    with archive:
        infos = archive.infolist()
        check_directory(infos, limits)
        check_layout(source, size, infos, archive.start_dir)
        _reject_found(active.in_names(infos))
        content_types = _read_content_types(archive)
        _reject_found(active.in_content_types(content_types))
        try:
            mentioning, chunks = _scan_parts(archive, infos, content_types, limits)
            scanned = [*mentioning, *(info for info, _ in chunks)]
            if sum(info.file_size for info in scanned) > active.MAX_SCAN_BYTES:
                reject(UNREADABLE, "too much field and object markup to check")
            if sum(info.file_size for info, _ in chunks) > active.MAX_CHUNK_BYTES:
                reject(UNREADABLE, "imported parts (altChunks) too large to check")
            for info in mentioning:  # only now: every part is known to be DTD-free
                _reject_found(active.in_part(archive, info))
            for info, content_type in chunks:
                _reject_found(active.in_chunk(archive, info, content_type))
        except (zipfile.BadZipFile, zlib.error, EOFError):
            reject(UNREADABLE, "corrupt part data (bad CRC or compressed stream)")


def _reject_found(found: active.Found) -> None:
    if found is not None:
        reject(*found)


def _read_content_types(archive: zipfile.ZipFile) -> dict[str, str]:
    """Map '/part/name' and '.ext' (lower case) to content types, from a DTD-free file."""
    info = archive.getinfo(_CONTENT_TYPES)
    if info.file_size > _MAX_CONTENT_TYPES_BYTES:
        reject(UNREADABLE, "oversized [Content_Types].xml")
    raw = _read_capped(archive, info, _MAX_CONTENT_TYPES_BYTES)
    if _has_dtd(raw.lower()):
        reject(UNREADABLE, "DTD in [Content_Types].xml")
    root = ElementTree.fromstring(raw)  # noqa: S314 - DTD-free (checked above): nothing expands
    types: dict[str, str] = {}
    for element in root.iter():
        tag = element.tag.rpartition("}")[2]
        content_type = element.get("ContentType", "").lower()
        if tag == "Default":
            types["." + element.get("Extension", "").lower()] = content_type
        elif tag == "Override":
            types[element.get("PartName", "").lower()] = content_type
    return types


def _effective_type(name: str, content_types: dict[str, str]) -> str:
    lowered = name.lower()
    override = content_types.get("/" + lowered)
    if override is not None:
        return override
    return content_types.get("." + lowered.rpartition(".")[2], "")


def _scan_parts(
    archive: zipfile.ZipFile,
    infos: list[zipfile.ZipInfo],
    content_types: dict[str, str],
    limits: DocumentLimits,
) -> tuple[list[zipfile.ZipInfo], list[tuple[zipfile.ZipInfo, str]]]:
    """Inflate every part once, streaming, capped at its declared size: this checks every CRC
    (python-docx reads every part) and looks for a DTD in anything that may be parsed as XML.
    Image parts are never parsed as XML by python-docx, so only their CRC is checked. Returns
    the XML parts that mention what `active.in_part` looks for, and the parts Word would
    import as altChunks (RTF, HTML, MHT, Word packages) with their content types."""
    budget = limits.max_uncompressed_bytes
    mentioning = []
    chunks = []
    for info in infos:
        content_type = _effective_type(info.filename, content_types)
        is_image = content_type.startswith("image/")
        read, hinted, head = _scan_part(archive, info, budget, look_for_dtd=not is_image)
        budget -= read
        if hinted:
            mentioning.append(info)
        if not is_image and active.is_chunk(content_type, head):
            chunks.append((info, content_type))
    return mentioning, chunks


def _scan_part(
    archive: zipfile.ZipFile, info: zipfile.ZipInfo, budget: int, *, look_for_dtd: bool
) -> tuple[int, bool, bytes]:
    cap = min(info.file_size, budget)
    read = 0
    tail = b""
    head = b""
    hinted = False
    dtds, hints = _DTD_PATTERNS, active.HINTS
    with archive.open(info) as stream:  # zipfile checks the local name and, at EOF, the CRC
        for _ in range(cap // _CHUNK + 2):  # bounded even if the stream misbehaves
            chunk = stream.read(min(_CHUNK, cap - read + 1))
            if not chunk:
                break
            read += len(chunk)
            if read > cap:
                reject(UNREADABLE, "part inflates past its declared size")
            if look_for_dtd:
                if (
                    not head
                    and len(chunk) >= 4
                    and b"\x00" not in chunk[:4]
                    and not chunk.startswith(_WIDE_STARTS)
                ):
                    dtds, hints = _ASCII_DTD, _ASCII_HINTS
                if len(head) < 256:
                    head = (head + chunk)[:256]
                window = (tail + chunk).lower()
                if any(pattern in window for pattern in dtds):
                    reject(UNREADABLE, "DTD (DOCTYPE/ENTITY) in an XML part")
                hinted = hinted or active.has_hint(window, hints)
                tail = window[-_TAIL:]
        else:
            reject(UNREADABLE, "part did not end where declared")
    if read != info.file_size:
        reject(UNREADABLE, "part shorter than declared (truncated)")
    if look_for_dtd and not _encoding_allowed(head):
        reject(UNREADABLE, "XML part in an unexpected encoding")
    return read, hinted, head


def _has_dtd(lowered: bytes) -> bool:
    return any(pattern in lowered for pattern in _DTD_PATTERNS)


def _encoding_allowed(head: bytes) -> bool:
    """An exotic encoding (UTF-7, EBCDIC...) could spell a DTD the scan cannot see."""
    if head.startswith(_EXOTIC_STARTS):
        return False
    if head.startswith((b"\xff\xfe", b"\xfe\xff")):
        text = head.decode("utf-16", "replace")
    elif head.startswith(b"<\x00"):
        text = head.decode("utf-16-le", "replace")
    elif head.startswith(b"\x00<"):
        text = head.decode("utf-16-be", "replace")
    else:
        text = head.removeprefix(b"\xef\xbb\xbf").decode("latin-1")
    match = _ENCODING_DECL.match(text)
    return match is None or match.group(1).strip().lower() in _ALLOWED_ENCODINGS


def _read_capped(archive: zipfile.ZipFile, info: zipfile.ZipInfo, cap: int) -> bytes:
    with archive.open(info) as stream:
        data = stream.read(cap + 1)
    if len(data) > cap:
        reject(UNREADABLE, "part inflates past its cap")
    return data
