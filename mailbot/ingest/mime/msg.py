"""Open an Outlook item (.msg), the file Outlook makes when an email is dragged out of it.

Partners forward a referral by attaching the referrer's email as an Outlook item rather than
the form itself ("attach as item", or a .msg saved to disk and attached), and may do so again
for a second forward. The form is then an attachment of an attachment. `mime` spots an item
by its bytes (a compound file with a message's stream layout, `sniff`), whatever it is called
or declared as, and descends into what this yields as if those files had been attached
directly; a message embedded in the item (a forward of a forward) is yielded as an item of
its own, so `mime` counts its nesting like any other forward.

The compound file is read with olefile, which mailbot already uses for Word's encrypted and
legacy files, following the layout [MS-OXMSG] documents: each attachment is a storage
`__attach_version1.0_#XXXXXXXX` holding its bytes in the stream `__substg1.0_37010102`, or
an embedded message in the storage `__substg1.0_3701000D`, and its name in
`__substg1.0_3707001F` (long) or `__substg1.0_3704001F` (short). extract-msg, the usual
library for .msg files, was not chosen: it is GPL-3.0-only, which would bind how mailbot may
be passed on to partners, and it brings an RTF and HTML stack (RTFDE with lark and oletools,
beautifulsoup4, ebcdic, tzlocal, ...) to parse message bodies that mailbot never reads, all of
it exposed to hostile input, for what is here two streams per attachment.

Work is bounded: only direct children of a storage are looked at (through olefile's directory
tree, never its name lookups, which scan a list per name), a name is read only when short, and
the bytes read from one file may not exceed its size, so attachments whose sectors overlap
cannot make one small file read as gigabytes. The caller (`mime`) bounds how many attachments
it asks for and how deep it follows embedded messages. Nothing here logs (olefile's own logger
is silent unless enabled).
"""

from __future__ import annotations

import io
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import olefile

from mailbot.ingest.mime import headers

_PROPERTIES = "__properties_version1.0"
_ATTACHMENT_PREFIX = "__attach_version1.0_#"
_DATA = "__substg1.0_37010102"  # PidTagAttachDataBinary
_EMBEDDED = "__substg1.0_3701000d"  # PidTagAttachDataObject: an embedded message (or object)
_MESSAGE_CLASS = ("__substg1.0_001a001f", "__substg1.0_001a001e")  # PidTagMessageClass
_NAME_ID = "__nameid_version1.0"
# PidTagAttachLongFilename, PidTagAttachFilename, PidTagDisplayName: Unicode, then 8-bit.
_NAMES = ("3707001f", "3704001f", "3001001f", "3707001e", "3704001e", "3001001e")
_MAX_NAME_BYTES = 2048


class NotOutlookItem(ValueError):
    """The compound file does not have a message's layout."""


def is_outlook_item(ole: Any) -> bool:
    """Whether an open compound file (`olefile.OleFileIO`) has the layout of a message."""
    kids = ole.root.kids_dict
    return _PROPERTIES in kids and (_NAME_ID in kids or any(n in kids for n in _MESSAGE_CLASS))


@contextmanager
def outlook_item(data: bytes) -> Iterator[OutlookItem]:
    """The item in `data`; raises at once when it is not an Outlook item."""
    ole = olefile.OleFileIO(io.BytesIO(data))
    try:
        if not is_outlook_item(ole):
            raise NotOutlookItem("no message layout")
        yield OutlookItem(_Reader(ole, budget=len(data)), ole.root)
    finally:
        ole.close()


class _Reader:
    """One compound file, and how many more bytes may be read from it."""

    def __init__(self, ole: Any, budget: int) -> None:
        self.ole = ole
        self.left = budget

    def read(self, entry: Any) -> bytes | None:
        """A stream's bytes; None when they would pass the budget."""
        if entry.size > self.left:
            self.left = 0
            return None
        self.left -= entry.size
        # What `openstream` does once it has found the entry: reached through the tree here.
        data: bytes = self.ole._open(entry.isectStart, entry.size).read()
        return data


class OutlookItem:
    """A message in a .msg file: the file's top level, or a message embedded in it."""

    def __init__(self, reader: _Reader, storage: Any) -> None:
        self._reader = reader
        self._storage = storage

    def attachments(self) -> Iterator[tuple[str | None, bytes | OutlookItem | None]]:
        """Each attachment's cleaned name and what it holds, in Outlook's order: its bytes, a
        message embedded in it, or None when it cannot be opened (a linked file, an embedded
        OLE object, more bytes than the file can hold)."""
        storages = sorted(
            (
                kid
                for kid in self._storage.kids
                if kid.entry_type == olefile.STGTY_STORAGE
                and kid.name.lower().startswith(_ATTACHMENT_PREFIX)
            ),
            key=lambda kid: kid.name.lower(),
        )
        for storage in storages:
            kids = storage.kids_dict
            yield self._name(kids), self._content(kids)

    def _content(self, kids: dict[str, Any]) -> bytes | OutlookItem | None:
        data = kids.get(_DATA)
        if data is not None and data.entry_type == olefile.STGTY_STREAM:
            return self._reader.read(data)
        embedded = kids.get(_EMBEDDED)
        if (
            embedded is not None
            and embedded.entry_type == olefile.STGTY_STORAGE
            and _PROPERTIES in embedded.kids_dict
        ):
            return OutlookItem(self._reader, embedded)
        return None

    def _name(self, kids: dict[str, Any]) -> str | None:
        for tag in _NAMES:
            entry = kids.get(f"__substg1.0_{tag}")
            if (
                entry is None
                or entry.entry_type != olefile.STGTY_STREAM
                or entry.size > _MAX_NAME_BYTES
            ):
                continue
            raw = self._reader.read(entry)
            if raw is None:
                return None
            text = raw.decode("utf-16-le" if tag.endswith("1f") else "cp1252", "replace")
            name = headers.safe_filename(text.replace("\x00", ""))
            if name:
                return name
        return None
