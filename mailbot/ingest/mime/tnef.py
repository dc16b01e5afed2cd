"""Unpack winmail.dat (TNEF), Outlook's wrapper that hides a referral inside one opaque file.

An Outlook set to send "Rich Text" mail packs every attachment into winmail.dat, so the form
a partner attached arrives as one file that no other mail client can open. `mime` spots one
by its magic number, whatever it is called or declared as, and descends into what this
yields as if those files had been attached directly. tnefparse does the decoding; it logs from
inside hostile input (names, property values), so its logging is cut off here, and the names
it yields are cleaned like any other attachment's.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from typing import Any

from tnefparse import TNEF

from mailbot.ingest.mime import headers

# tnefparse logs from inside hostile input (names, property values): keep it out of our logs.
logging.getLogger("tnefparse").addHandler(logging.NullHandler())
logging.getLogger("tnefparse").propagate = False

TNEF_MAGIC = b"\x78\x9f\x3e\x22"


def tnef_files(data: bytes) -> Iterator[tuple[str | None, bytes]]:
    """The (cleaned name, content) of each file inside; raises at once if `data` is not TNEF."""
    files = TNEF(data, do_checksum=False).attachments
    return ((_name(item), item.data if isinstance(item.data, bytes) else b"") for item in files)


def _name(item: Any) -> str | None:
    try:  # tnefparse decodes an 8.3 name as UTF-8, which an 8-bit name fails
        name = item.long_filename()
    except Exception:
        return None
    return headers.safe_filename(name) if isinstance(name, str) else None
