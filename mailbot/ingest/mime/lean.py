"""Parsing a large email without the parser's many copies of its attachments.

Partners paste photographs of injuries into referral forms, so a referral email can be tens
of megabytes, nearly all of it one base64 attachment. The standard library's parser keeps
every line of that base64 text as its own string before joining them: an email of 34 MB
takes about 270 MB to parse, enough to push a small daemon's memory past its limit. So for a
large email the long base64 bodies are first lifted out of the raw bytes, each replaced by a
random token; the standard parser parses what is left (a few kilobytes), and each token
found as the body of a base64 part is replaced by that body decoded straight from the raw
bytes (one copy, the decoded size).

Nothing here decides the structure: the standard parser does, on the email with its bodies
lifted out. A run of bytes is lifted only when it is all base64 characters and line breaks
(so it cannot hold a boundary or a header) and ends where a boundary line starts; and the
result is only used when every token came back as the whole body of a part declared base64.
Anything else (a token inside a text part, a body the parser saw differently) falls back to
parsing the whole email the ordinary way, so the two paths always give the same result.
"""

from __future__ import annotations

import binascii
import re
import secrets
from dataclasses import dataclass
from email.message import Message

MIN_EMAIL_BYTES = 1024 * 1024  # smaller emails are parsed whole: they cost little
MIN_BODY_BYTES = 64 * 1024  # a shorter body is left in place
MAX_BLANK_LINES = 10_000  # each is a place a body may start; a real email has a few dozen
_BLANK_LINE = re.compile(rb"\n\r?\n")
_BASE64_RUN = re.compile(rb"[A-Za-z0-9+/=\r\n]*")  # one character class: no backtracking stack
_PADDING = re.compile(rb"[=\r\n]*")


@dataclass(frozen=True)
class Lifted:
    """An email with its long base64 bodies replaced by tokens, and where each body was."""

    skeleton: bytes
    spans: dict[str, tuple[int, int]]  # token -> (start, end) of the body in the raw email


def lift(raw: bytes) -> Lifted | None:
    """Lift the long base64 bodies out of `raw`; None when there is nothing worth lifting."""
    if len(raw) < MIN_EMAIL_BYTES or raw.count(b"\n\n") + raw.count(b"\n\r\n") > MAX_BLANK_LINES:
        return None  # small, or a flood of blank lines: left to the whole parse and its limits
    spans: dict[str, tuple[int, int]] = {}
    pieces: list[bytes] = []
    copied = position = 0
    while (blank := _BLANK_LINE.search(raw, position)) is not None:
        start = blank.end()
        run = _BASE64_RUN.match(raw, start)
        end = run.end() if run else start
        position = max(end, start + 1)
        if (
            end - start < MIN_BODY_BYTES
            or not _before_boundary(raw, end)
            or not _padding_only_at_end(raw, start, end)
        ):
            continue
        token = f"MailbotLiftedBody{secrets.token_hex(12)}"
        spans[token] = (start, end)
        newline = b"\r\n" if raw[end - 2 : end] == b"\r\n" else b"\n"
        pieces += [raw[copied:start], token.encode("ascii"), newline]
        copied = end
    if not spans:
        return None
    pieces.append(raw[copied:])
    return Lifted(skeleton=b"".join(pieces), spans=spans)


def restore(lifted: Lifted, raw: bytes, message: Message) -> bool:
    """Put each lifted body, decoded, back into `message` (parsed from the skeleton).

    True when every token was found exactly once as the whole body of a base64 part; on False
    `message` must not be used (parse `raw` whole instead)."""
    found: dict[str, Message] = {}
    for part in message.walk():
        if part.is_multipart():
            continue
        payload = part.get_payload()
        if not isinstance(payload, str) or "MailbotLiftedBody" not in payload:
            continue
        token = payload.strip()
        base64 = str(part.get("Content-Transfer-Encoding", "")).strip().lower() == "base64"
        if token not in lifted.spans or token in found or not base64:
            return False
        found[token] = part
    if len(found) != len(lifted.spans):
        return False
    view = memoryview(raw)
    for token, part in found.items():
        start, end = lifted.spans[token]
        try:
            data = binascii.a2b_base64(view[start:end])
        except binascii.Error:  # broken padding: let the ordinary parse judge it
            return False
        # Set directly: `set_payload` would turn the bytes into a surrogate-escaped str (twice
        # their size), and `get_payload(decode=True)` back into bytes on every call.
        part._payload = data  # type: ignore[attr-defined]
        del part["Content-Transfer-Encoding"]
        part["Content-Transfer-Encoding"] = "binary"
    return True


def _padding_only_at_end(raw: bytes, start: int, end: int) -> bool:
    """True when "=" appears only as the final padding (where decoders could disagree)."""
    first = raw.find(b"=", start, end)
    return first < 0 or _PADDING.match(raw, first, end).end() == end  # type: ignore[union-attr]


def _before_boundary(raw: bytes, end: int) -> bool:
    """True when a line starting "--" (a boundary) begins at `end`, or the email ends there."""
    return end == len(raw) or (raw.startswith(b"--", end) and raw[end - 1 : end] == b"\n")
