"""The IMAP protocol pieces under `ImapMailbox`: a TLS-only connection, reply parsing, IDLE.

Python 3.11's imaplib speaks the protocol but stops short of what a long-running service
needs: IDLE (RFC 2177) only arrives in Python 3.14, and COPYUID, INTERNALDATE and folder-name
encoding are left to the caller. imap_tools fills some of those gaps, but it fetches without
INTERNALDATE, drops COPYUID, and falls back from MOVE to a plain EXPUNGE that would also purge
every message anyone else had flagged \\Deleted, so these few functions over `imaplib.IMAP4`
are written here instead. Nothing here ever sends a password or a message body to a log.
"""

from __future__ import annotations

import base64
import imaplib
import io
import re
import select
import ssl
import time
from datetime import datetime, timedelta, timezone

from mailbot.settings import ImapMailboxSettings

# A dropped, reset or timed-out connection: reconnecting and retrying may help.
TRANSIENT: tuple[type[Exception], ...] = (OSError, imaplib.IMAP4.abort)
# ...or any failure at all, including the server refusing a command.
FAILURES: tuple[type[Exception], ...] = (*TRANSIENT, imaplib.IMAP4.error)

_MONTHS = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")
_INTERNALDATE = re.compile(
    rb'INTERNALDATE "\s?(\d{1,2})-([A-Za-z]{3})-(\d{4}) (\d\d):(\d\d):(\d\d) ([+-])(\d\d)(\d\d)"')
_UID = re.compile(rb"\bUID (\d+)")
_COPYUID = re.compile(rb"^(\d+) \S+ (\d+)$")
_NEWS = re.compile(rb"^\* (\d+) (EXISTS|RECENT)\b", re.IGNORECASE)
_LITERAL = re.compile(rb"\{(\d+)\}\r\n$")


def connect(settings: ImapMailboxSettings, context: ssl.SSLContext) -> imaplib.IMAP4:
    """An encrypted connection (implicit TLS or STARTTLS); never one that stays plaintext."""
    if settings.security == "tls":
        return imaplib.IMAP4_SSL(settings.host, settings.port, ssl_context=context,
                                 timeout=settings.timeout_seconds)
    client = imaplib.IMAP4(settings.host, settings.port, timeout=settings.timeout_seconds)
    try:
        client.starttls(context)  # raises imaplib.IMAP4.error when the server does not offer it
    except BaseException:
        client.shutdown()
        raise
    return client


def login(client: imaplib.IMAP4, username: str, password: str) -> frozenset[str]:
    """Log in (LOGIN, or AUTHENTICATE PLAIN for non-ASCII); return the server's capabilities."""
    try:
        if (username + password).isascii():
            client.login(username, password)
        else:
            secret = f"\0{username}\0{password}".encode()
            client.authenticate("PLAIN", lambda _: secret)
    except imaplib.IMAP4.abort:
        raise
    except imaplib.IMAP4.error as exc:
        if "[UNAVAILABLE]" in str(exc).upper():  # RFC 5530: the server's fault, try again later
            raise imaplib.IMAP4.abort("authentication temporarily unavailable") from None
        raise imaplib.IMAP4.error("authentication failed") from None
    _, data = client.capability()  # the post-login list: MOVE, UIDPLUS appear only now
    first = data[0] if data else b""
    words = first.decode("ascii", "replace").upper().split() if isinstance(first, bytes) else []
    return frozenset(words)


def quote(text: str) -> str:
    """An IMAP quoted string; ValueError for what cannot be one (non-ASCII, line breaks)."""
    if not text.isascii() or "\r" in text or "\n" in text:
        raise ValueError("not representable as an IMAP quoted string")
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"') + '"'


def mailbox_name(name: str) -> str:
    """A folder name as sent on the wire: modified UTF-7 (RFC 3501 section 5.1.3), quoted."""
    out: list[str] = []
    pending: list[str] = []

    def flush() -> None:
        if pending:
            data = base64.b64encode("".join(pending).encode("utf-16-be")).rstrip(b"=")
            out.append("&" + data.decode("ascii").replace("/", ",") + "-")
            pending.clear()

    for char in name:
        if " " <= char <= "~":
            flush()
            out.append("&-" if char == "&" else char)
        else:
            pending.append(char)
    flush()
    return quote("".join(out))


def folder_exists(client: imaplib.IMAP4, name: str) -> bool:
    typ, data = client.list('""', mailbox_name(name))
    return typ == "OK" and any(item for item in data)


def parse_fetch(data: list[object], uid: int) -> tuple[datetime, bytes] | None:
    """INTERNALDATE and BODY[] of message `uid` from a UID FETCH reply (None if absent)."""
    for index, item in enumerate(data):
        if not (isinstance(item, tuple) and len(item) == 2 and b"BODY[]" in item[0]):
            continue
        head, raw = item
        after = data[index + 1] if index + 1 < len(data) else b""
        meta = head + (after if isinstance(after, bytes) else b"")  # items may follow the body
        found_uid, found_date = _UID.search(meta), _INTERNALDATE.search(meta)
        if found_uid and int(found_uid[1]) == uid and found_date and isinstance(raw, bytes):
            return _internaldate(found_date), raw
    return None


def _internaldate(match: re.Match[bytes]) -> datetime:
    day, month, year, hour, minute, second, sign, off_h, off_m = (
        part.decode("ascii") for part in match.groups())
    offset = timedelta(hours=int(off_h), minutes=int(off_m)) * (-1 if sign == "-" else 1)
    return datetime(int(year), _MONTHS.index(month.capitalize()) + 1, int(day), int(hour),
                    int(minute), int(second), tzinfo=timezone(offset))


def copyuid(client: imaplib.IMAP4) -> tuple[int, int] | None:
    """(UIDVALIDITY, UID) in the target from the last COPY/MOVE's COPYUID code (RFC 4315)."""
    codes = client.untagged_responses.pop("COPYUID", [])
    last = codes[-1] if codes else None
    match = _COPYUID.match(last) if isinstance(last, bytes) else None
    return (int(match[1]), int(match[2])) if match else None


def search_uids(client: imaplib.IMAP4, *criteria: str) -> list[int]:
    typ, data = client.uid("SEARCH", *criteria)
    if typ != "OK":
        raise imaplib.IMAP4.error("SEARCH refused")
    first = data[0] if data else None
    return sorted(int(uid) for uid in first.split()) if isinstance(first, bytes) else []


def idle(client: imaplib.IMAP4, seconds: float, tag: bytes) -> bool:
    """One IDLE of at most `seconds`: True as soon as the server reports EXISTS or RECENT.

    The lines are read here, not by imaplib, which knows nothing of this command (its tag is
    ours); a `* BYE` or end of stream raises `imaplib.IMAP4.abort` like any dropped connection.
    """
    client.send(tag + b" IDLE\r\n")
    news = False
    while not (line := _line(client)).startswith(b"+"):  # untagged news may precede the "+"
        if line.startswith(tag + b" "):
            raise imaplib.IMAP4.error("IDLE refused")
        news = news or _is_news(line)
    deadline = time.monotonic() + seconds
    while not news and _readable(client, deadline - time.monotonic()):
        news = _is_news(_line(client))
    client.send(b"DONE\r\n")
    while not (line := _line(client)).startswith(tag + b" "):
        news = news or _is_news(line)
    if not line[len(tag) + 1:].upper().startswith(b"OK"):
        raise imaplib.IMAP4.error("IDLE failed")
    return news


def _is_news(line: bytes) -> bool:
    match = _NEWS.match(line)
    return match is not None and (match[2].upper() == b"EXISTS" or int(match[1]) > 0)


def _line(client: imaplib.IMAP4) -> bytes:
    line = client.readline()
    if not line or line.upper().startswith(b"* BYE"):
        raise imaplib.IMAP4.abort("connection closed by the server")
    while (literal := _LITERAL.search(line)) is not None:  # e.g. a FETCH with a literal
        line = line + client.read(int(literal[1])) + client.readline()
    return line


def _readable(client: imaplib.IMAP4, seconds: float) -> bool:
    """Whether a line can be read within `seconds`, counting bytes already buffered locally."""
    sock = client.sock
    if isinstance(sock, ssl.SSLSocket) and sock.pending():
        return True
    buffered = client.file
    if isinstance(buffered, io.BufferedReader):
        previous = sock.gettimeout()
        sock.settimeout(0)  # peek without blocking: buffered bytes, or one non-blocking read
        try:
            if buffered.peek(1):
                return True
        except (BlockingIOError, ssl.SSLWantReadError):
            pass
        finally:
            sock.settimeout(previous)
    if seconds <= 0:
        return False
    poller = select.poll()
    poller.register(sock.fileno(), select.POLLIN | select.POLLPRI)
    return bool(poller.poll(max(1, round(seconds * 1000))))
