"""An email too large to download, handed on as its headers alone.

The pipeline answers an email over `limits.max_email_bytes` with `unreadable_document`
(`mime.parse_email` reads only its header section), but a backend that downloads it whole to
find that out spends the memory, the time and the connection the limit was meant to spare:
100 MB through a mailbox connection. So the server backends ask for a message's size first
(IMAP RFC822.SIZE, the EWS item size, Graph's PidTagMessageSize) and, over the limit, fetch
only its header section and hand on `stand_in`: those headers, so the Message-ID, sender
and subject are the email's own (the ledger knows it, the reply goes to its sender), and a
short body that the parser's cost bounds refuse to parse (more part delimiters than
`mimebounds.MAX_PARTS`), which `parse_email` reports exactly as it reports any email past a
limit: one marker attachment, so the outcome is `unreadable_document`. Intake needs no
change. The email itself stays on the server and is filed like any other, by its ref.

A server's size is the stored size, which for Exchange is the item's properties rather than
its MIME (base64 attachments are a third larger in MIME), so the check can only err towards
downloading: an email it lets through is still bounded by the limit where it is read.
"""

from __future__ import annotations

from datetime import datetime

from mailbot.ingest.mime.bounds import MAX_PARTS, header_block
from mailbot.models import MailboxMessage

_NOTE = (
    b"mailbot did not download this email: the server gave its size as %d bytes, over "
    b"the %d-byte limit (limits.max_email_bytes). The original is in the mailbox.\r\n"
)
# Lines that would each start a MIME part: more than the parser's bound, so the body is never
# parsed, and the email is reported as past a limit.
_UNPARSED = b"--\r\n" * (MAX_PARTS + 1)


def oversized(size: int | None, limit: int) -> bool:
    """Whether a server-given `size` is over `limit` (unknown: no)."""
    return size is not None and size > limit


def stand_in(
    ref: str, headers: bytes, *, size: int, limit: int, received_at: datetime
) -> MailboxMessage:
    """The message `ref` as intake should see it: its `headers` (a header section, or more:
    only the section is kept) and a body that reads as past the limit."""
    section = header_block(headers).rstrip(b"\r\n").replace(b"\r\n", b"\n").replace(b"\n", b"\r\n")
    raw = section + b"\r\n\r\n" + _NOTE % (size, limit) + _UNPARSED
    return MailboxMessage(ref=ref, raw=raw, received_at=received_at)


def header_lines(pairs: list[tuple[str, str]]) -> bytes:
    """A header section from (name, value) pairs, as Graph and EWS list a message's headers
    (values unfolded; anything that is not ASCII kept as UTF-8, as RFC 6532 allows)."""
    lines = []
    for name, value in pairs:
        clean = " ".join(value.replace("\r", " ").replace("\n", " ").split())
        if name and ":" not in name and name.isprintable():
            lines.append(f"{name}: {clean}".encode("utf-8", "replace"))
    return b"\r\n".join(lines) + b"\r\n\r\n"
