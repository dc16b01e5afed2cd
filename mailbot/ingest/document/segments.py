"""An encrypted Word package read in place, and decrypted only where it is read.

Partners paste photographs of injuries into referral forms, so an encrypted referral can be a
25 MB package, and the daemon must stay in bounded memory on a small box. Read the libraries'
way, such a package is held three or four times over: olefile gathers the EncryptedPackage
stream's sectors into a list, joins them and copies the result; msoffcrypto-tool decrypts
into a growing buffer; python-docx then loads every part, photographs included.

Here the stream is never copied: `EncryptedStream` follows its sector chain in the compound
file's allocation table (as olefile read it) and serves byte ranges out of the attachment's
own bytes. And the package is never decrypted whole: both of Word's schemes encrypt it in
independent pieces (agile: AES-CBC with its own IV for each 4,096-byte segment, MS-OFFCRYPTO
2.3.4.15; standard: AES-ECB, block by block), so `PlainPackage` is a seekable file that
decrypts just the segments a read touches and keeps the most recent in a small cache. A whole
ordinary referral fits in the cache, so it is decrypted once; zipfile (and through it the
package checks and python-docx) reads either like any file.
"""

from __future__ import annotations

import bisect
import io
import itertools
from collections import OrderedDict
from collections.abc import Callable, Iterator

import olefile

SEGMENT_BYTES = 4096  # MS-OFFCRYPTO 2.3.4.15: the agile scheme's segment
HEADER_BYTES = 8  # the package's size, in front of the encrypted segments
CACHE_SEGMENTS = 256  # 1 MB of plain text: the whole of an ordinary referral

SegmentDecryptor = Callable[[int, bytes], bytes]
"""(segment number, its encrypted bytes) -> its plain bytes."""


class BrokenStream(ValueError):
    """The compound file's allocation table does not give a readable stream (hostile or cut)."""


class EncryptedStream:
    """One stream of a compound file as byte ranges of the file's own bytes (no copy).

    The stream is kept as runs of consecutive sectors (a file Word or msoffcrypto-tool wrote
    has one or a few): a view and an object per 512-byte sector would be 10 MB for 25 MB."""

    def __init__(self, data: bytes | memoryview, runs: list[tuple[int, int]], size: int) -> None:
        self._view = memoryview(data)
        self._runs = runs  # (offset in the file, length), in stream order
        self._starts = list(itertools.accumulate((length for _, length in runs), initial=0))
        self.size = size

    @classmethod
    def open(cls, data: bytes, ole: olefile.OleFileIO, name: str) -> EncryptedStream:
        """The stream `name` (at the root of `ole`, opened on `data`) where it lies in `data`."""
        entry = next(
            (
                kid
                for kid in ole.root.kids
                if kid.name.lower() == name.lower() and kid.entry_type == olefile.STGTY_STREAM
            ),
            None,
        )
        if entry is None:
            raise BrokenStream("no such stream")
        size = entry.size
        if size < ole.minisectorcutoff:  # a few kilobytes, kept in the mini stream: copy it
            small = ole.openstream(name).read(size + 1)
            if len(small) != size:
                raise BrokenStream("stream shorter than declared")
            return cls(small, [(0, size)], size)
        sector, fat = ole.sectorsize, ole.fat
        count = -(-size // sector)
        if count > len(fat):
            raise BrokenStream("stream larger than its file")
        runs: list[list[int]] = []
        current = entry.isectStart
        for index in range(count):  # bounded by the declared size: a loop in the chain ends
            if not 0 <= current < len(fat):
                raise BrokenStream("sector chain leaves the allocation table")
            start = sector * (current + 1)  # sector 0 follows the one-sector header
            needed = sector if index < count - 1 else size - sector * index
            if start + needed > len(data):
                raise BrokenStream("sector outside the file (truncated)")
            if runs and runs[-1][0] + runs[-1][1] == start:
                runs[-1][1] += needed
            else:
                runs.append([start, needed])
            current = fat[current]
        return cls(data, [(start, length) for start, length in runs], size)

    def chunks(self) -> Iterator[memoryview]:
        """The stream's bytes in order, as views of the file."""
        for start, length in self._runs:
            yield self._view[start : start + length]

    def read(self, start: int, length: int) -> bytes:
        """Bytes `start` to `start + length` of the stream (fewer at its end)."""
        end = min(start + length, self.size)
        parts = []
        run = bisect.bisect_right(self._starts, start) - 1
        while start < end:
            offset = start - self._starts[run]
            file_start, run_length = self._runs[run]
            take = min(run_length - offset, end - start)
            parts.append(self._view[file_start + offset : file_start + offset + take])
            start += take
            run += 1
        return b"".join(parts)


class PlainPackage(io.RawIOBase):
    """The decrypted package as a read-only, seekable file, decrypted a segment at a time."""

    def __init__(self, stream: EncryptedStream, size: int, decrypt: SegmentDecryptor) -> None:
        super().__init__()
        self._stream = stream
        self.size = size
        self._decrypt = decrypt
        self._cache: OrderedDict[int, bytes] = OrderedDict()
        self._position = 0

    def readable(self) -> bool:
        return True

    def seekable(self) -> bool:
        return True

    def tell(self) -> int:
        return self._position

    def seek(self, offset: int, whence: int = io.SEEK_SET) -> int:
        base = {io.SEEK_SET: 0, io.SEEK_CUR: self._position, io.SEEK_END: self.size}[whence]
        if base + offset < 0:
            raise ValueError("negative seek position")
        self._position = base + offset
        return self._position

    def readinto(self, buffer: memoryview | bytearray) -> int:  # type: ignore[override]
        target = memoryview(buffer).cast("B")
        done = 0
        while done < len(target) and self._position < self.size:
            index, offset = divmod(self._position, SEGMENT_BYTES)
            segment = self._segment(index)
            take = min(len(segment) - offset, len(target) - done, self.size - self._position)
            if take <= 0:
                break
            target[done : done + take] = segment[offset : offset + take]
            done += take
            self._position += take
        return done

    def _segment(self, index: int) -> bytes:
        plain = self._cache.get(index)
        if plain is not None:
            self._cache.move_to_end(index)
            return plain
        encrypted = self._stream.read(HEADER_BYTES + index * SEGMENT_BYTES, SEGMENT_BYTES)
        plain = self._decrypt(index, encrypted)
        self._cache[index] = plain
        if len(self._cache) > CACHE_SEGMENTS:
            self._cache.popitem(last=False)
        return plain
