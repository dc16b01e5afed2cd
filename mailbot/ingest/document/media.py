"""A Word package without its photographs, for reading the form's text in bounded memory.

python-docx loads every part of a package into memory when it opens it, and a referral with
injury photographs pasted in carries tens of megabytes of them, none of which the form
reader looks at. So a package with a large part that is not XML is copied, part for part
and under the same names, with that part emptied: python-docx opens the copy exactly as it
would the original (the relationships and content types are all there) and holds only text.
A part counts as XML by its first bytes, not its name or declared type, so no XML part the
reader might need is emptied whatever it is called. A package with no such part (every
ordinary referral) is read as it is, without copying.

The package has passed `ooxml`'s checks (sizes, ratios, CRCs, no DTD) before this reads it.
"""

from __future__ import annotations

import io
import zipfile
from typing import BinaryIO

MEDIA_PART_BYTES = 256 * 1024  # a smaller part is kept whatever it is
_HEAD_BYTES = 64
_XML_STARTS = (b"<", b"\xff\xfe", b"\xfe\xff")  # UTF-8/ASCII, or UTF-16 with its mark


def without_media(package: BinaryIO) -> BinaryIO:
    """`package`, or a copy of it (stored, uncompressed) with its large non-XML parts empty."""
    package.seek(0)
    with zipfile.ZipFile(package) as archive:
        infos = archive.infolist()
        media = {info.filename for info in infos if _is_media(archive, info)}
        if not media:
            package.seek(0)
            return package
        lean = io.BytesIO()
        with zipfile.ZipFile(lean, "w", zipfile.ZIP_STORED) as copy:
            for info in infos:
                copy.writestr(info.filename, b"" if info.filename in media else archive.read(info))
    lean.seek(0)
    return lean


def _is_media(archive: zipfile.ZipFile, info: zipfile.ZipInfo) -> bool:
    if info.file_size <= MEDIA_PART_BYTES or info.is_dir():
        return False
    with archive.open(info) as stream:
        head = stream.read(_HEAD_BYTES).removeprefix(b"\xef\xbb\xbf").lstrip()
    return not head.startswith(_XML_STARTS)
