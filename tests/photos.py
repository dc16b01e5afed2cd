"""Referral forms with photographs pasted in, as partners send them (fictional data).

A photo of an injury is a few megabytes of incompressible image data; these are random
pixels, so no compression shrinks them and the package is as large as the photo.
"""

from __future__ import annotations

import io
import random
import struct
import zlib

import docx

from tests.hostile_blocks import base_docx


def png(size: int, seed: int = 1) -> bytes:
    """A valid RGB PNG of about `size` bytes of random pixels (stored, not compressed)."""
    rng = random.Random(seed)
    side = max(1, int((size / 3) ** 0.5))
    rows = b"".join(b"\x00" + rng.randbytes(side * 3) for _ in range(side))

    def chunk(kind: bytes, data: bytes) -> bytes:
        body = kind + data
        return struct.pack(">I", len(data)) + body + struct.pack(">I", zlib.crc32(body))

    header = struct.pack(">IIBBBBB", side, side, 8, 2, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", header)
        + chunk(b"IDAT", zlib.compress(rows, 0))
        + chunk(b"IEND", b"")
    )


def form_with_photo(photo_bytes: int, seed: int = 1) -> bytes:
    """The official sample form with one photo of about `photo_bytes` pasted at its end."""
    document = docx.Document(io.BytesIO(base_docx()))
    document.add_picture(io.BytesIO(png(photo_bytes, seed)))
    buffer = io.BytesIO()
    document.save(buffer)
    return buffer.getvalue()
