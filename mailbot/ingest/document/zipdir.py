"""The zip directory of a Word package checked before anything trusts it.

`zipfile` (and so python-docx) believes the central directory: the names, the declared sizes
and where each entry's data lies. A hostile package lies there: entries named to escape a
folder, a declared size of a gigabyte, a tiny compressed kernel inflating a thousandfold, or
many entries pointing at the same bytes (how zip bombs multiply one kernel; Python 3.11's
zipfile does not check overlaps). These checks read only the directory and the local
headers, nothing inflated; `ooxml` runs them first.
"""

from __future__ import annotations

import itertools
import struct
import zipfile
from typing import BinaryIO, NoReturn

from mailbot.codes import Reason
from mailbot.models import DocumentLimits

UNREADABLE = Reason.UNREADABLE_DOCUMENT

_REQUIRED_PARTS = ("[Content_Types].xml", "_rels/.rels", "word/document.xml")
_TINY_ENTRY_BYTES = 100 * 1024  # below this a high ratio is harmless (and common)
_COUNT_CHUNK = 64 * 1024
_LOCAL_HEADER = struct.Struct("<4s22xHH")  # signature .. name length, extra length
_LOCAL_SIGNATURE = b"PK\x03\x04"
_CENTRAL_SIGNATURE = b"PK\x01\x02"


class Rejected(Exception):  # `ooxml`'s control flow: never escapes it
    def __init__(self, code: Reason, detail: str) -> None:
        super().__init__(detail)
        self.code = code
        self.detail = detail


def reject(code: Reason, detail: str) -> NoReturn:
    raise Rejected(code, detail)


def check_directory(infos: list[zipfile.ZipInfo], limits: DocumentLimits) -> None:
    """Entry count, names, declared sizes and ratios: all from the directory, nothing inflated."""
    if len(infos) > limits.max_zip_entries:
        reject(UNREADABLE, "too many zip entries")
    seen: set[str] = set()
    total_size = total_compressed = 0
    for info in infos:
        name = info.filename
        if _unsafe_name(name):
            reject(UNREADABLE, "unsafe entry name (path traversal)")
        key = name.lower()  # OPC part names are case-insensitive
        if key in seen:
            reject(UNREADABLE, "duplicate entry name")
        seen.add(key)
        if info.flag_bits & 0x1:
            reject(UNREADABLE, "zip-level encrypted entry")
        if info.compress_type not in (zipfile.ZIP_STORED, zipfile.ZIP_DEFLATED):
            reject(UNREADABLE, "unsupported compression method")
        if info.compress_type == zipfile.ZIP_STORED and info.compress_size != info.file_size:
            reject(UNREADABLE, "stored entry with inconsistent sizes")
        if info.file_size > limits.max_part_bytes:
            reject(UNREADABLE, "entry over the part size limit")
        if _ratio_too_high(info.file_size, info.compress_size, limits):
            reject(UNREADABLE, "entry compression ratio too high")
        total_size += info.file_size
        total_compressed += info.compress_size
    if total_size > limits.max_uncompressed_bytes:
        reject(UNREADABLE, "total uncompressed size over the limit")
    if _ratio_too_high(total_size, total_compressed, limits):
        reject(UNREADABLE, "overall compression ratio too high")
    names = {info.filename for info in infos}
    for required in _REQUIRED_PARTS:
        if required not in names:
            reject(UNREADABLE, f"missing part {required}")


def _unsafe_name(name: str) -> bool:
    if not name or "\\" in name or "\x00" in name or ":" in name or name.startswith("/"):
        return True
    return any(segment in ("..", ".") for segment in name.split("/"))


def _ratio_too_high(size: int, compressed: int, limits: DocumentLimits) -> bool:
    return size >= _TINY_ENTRY_BYTES and size > limits.max_compression_ratio * max(compressed, 1)


def count_directory_records(data: bytes | BinaryIO) -> int:
    """How many central directory records the bytes, or the file (read a chunk at a time),
    could hold: every record starts with this signature, so the count bounds the objects
    zipfile would build before any of them is checked."""
    signature = _CENTRAL_SIGNATURE
    if isinstance(data, bytes):
        return data.count(signature)
    source = data
    source.seek(0)
    count, tail = 0, b""
    while chunk := source.read(_COUNT_CHUNK):
        window = tail + chunk
        count += window.count(signature)
        tail = window[1 - len(signature) :]  # too short to hold one, so none is counted twice
    return count


def check_layout(
    source: BinaryIO, size: int, infos: list[zipfile.ZipInfo], directory_start: int
) -> None:
    """Each entry's local header and data must occupy its own byte range, in front of the
    central directory: overlapping ranges are how zip bombs reuse one compressed kernel."""
    spans: list[tuple[int, int]] = []
    for info in infos:
        start = info.header_offset
        if start >= 0:
            source.seek(start)
        header = source.read(_LOCAL_HEADER.size) if start >= 0 else b""
        if start < 0 or len(header) < _LOCAL_HEADER.size:
            reject(UNREADABLE, "local header outside the file (truncated)")
        signature, name_length, extra_length = _LOCAL_HEADER.unpack(header)
        if signature != _LOCAL_SIGNATURE:
            reject(UNREADABLE, "bad local header signature")
        end = start + _LOCAL_HEADER.size + name_length + extra_length + info.compress_size
        if end > directory_start or end > size:
            reject(UNREADABLE, "entry data runs past the central directory (truncated)")
        spans.append((start, end))
    spans.sort()
    if spans and spans[0][0] != 0:
        reject(UNREADABLE, "data before the first entry")
    for (_, previous_end), (start, _) in itertools.pairwise(spans):
        if start < previous_end:
            reject(UNREADABLE, "overlapping zip entries (zip bomb)")
