"""Read an email's header values (sender, date, ids, file names) without trusting any of them.

Headers come from whoever sent the mail and every gateway on the way: encoded words that
decode to CR/LF, lone surrogates, values `policy.default` refuses to parse, file names that
are paths. Each reader here returns a plain one-line value, or "" / None when there is none
worth having, and never raises, so `mime` can build a `ParsedEmail` from any input. Sender
addresses are read undecoded when decoding fails, so an encoded word cannot smuggle in a
second address, and an address or id is kept only if `mailbot.models.mailbox_address` (or
`message_id`) finds it safe to write back (no encoded word, ASCII, one address). A value
`mimebounds` found too costly to parse arrives as plain raw text (no `addresses`, no
`datetime`), and is read the same way as one that failed to decode.
"""

from __future__ import annotations

import hashlib
import re
from datetime import UTC, datetime
from email import utils
from email.header import decode_header, make_header
from email.message import Message
from typing import Any

from mailbot.models import mailbox_address, message_id

_MSGID = re.compile(r"<[^<>\s]+>")
_BARE_MSGID = re.compile(r"[^<>\s]+")
_CONTROLS = re.compile(r"[\x00-\x1f\x7f]+")
_RAW_CHARS = 8 * 1024  # of an undecoded value: decode_header and parseaddr are slow on more
SURROGATES = re.compile(r"[\ud800-\udfff]")


def filename(part: Message) -> str | None:
    try:
        name = part.get_filename()
    except Exception:
        return None
    return safe_filename(name) if isinstance(name, str) else None


def safe_filename(name: str) -> str | None:
    """Only the last path component, no control characters, valid Unicode, 255 chars at most."""
    name = _clean(name).replace("\\", "/").rpartition("/")[2].strip().lstrip(".")
    return name[:255] or None


def header(msg: Message, name: str, decode: bool = True) -> str:
    """A header's value on one line, '' when absent; raw (`decode=False`) or when unparseable."""
    if decode:
        try:
            value = msg.get(name)
            return _clean("" if value is None else str(value))
        except Exception:  # noqa: S110 - policy.default refuses some hostile values: go raw
            pass
    raw = next((str(v) for k, v in msg.raw_items() if k.lower() == name.lower()), "")
    raw = raw[:_RAW_CHARS]
    try:
        return _clean(str(make_header(decode_header(raw))) if decode else raw)
    except Exception:
        return _clean(raw)


def _clean(text: str) -> str:
    return " ".join(_CONTROLS.sub(" ", SURROGATES.sub("\ufffd", text)).split())


def msgid(value: str) -> str:
    """The id in a Message-ID or In-Reply-To value read undecoded (`header(decode=False)`),
    or '' when it is not one safe to write back (`addresses.message_id`)."""
    value = "".join(value.split())
    if match := _MSGID.search(value):
        value = match.group(0)
    elif _BARE_MSGID.fullmatch(value):
        value = f"<{value}>"
    else:
        return ""
    return message_id(value) or ""


def synthetic_msgid(raw: bytes) -> str:
    return f"<sha256-{hashlib.sha256(raw).hexdigest()}@mailbot.invalid>"


def sender(msg: Message) -> str:
    try:
        value: Any = msg.get("From")  # a header object, or raw text left unparsed
        addresses = [] if value is None else [a.addr_spec for a in value.addresses]
    except Exception:  # e.g. a display name decoding to CR/LF, or raw text (no `addresses`)
        # Undecoded, so an encoded word cannot smuggle in another address.
        addresses = [utils.parseaddr(header(msg, "From", decode=False))[1]]
    if len(addresses) != 1:  # none, or several (whose would it be?): no sender to trust
        return ""
    address = addresses[0]
    return (mailbox_address(address) if isinstance(address, str) else None) or ""


def sent_at(msg: Message) -> datetime | None:
    try:
        when = getattr(msg.get("Date"), "datetime", None)
    except Exception:
        return None
    if not isinstance(when, datetime):
        return None
    return when if when.tzinfo is not None else when.replace(tzinfo=UTC)


_BULK = frozenset({"bulk", "list", "junk"})
_DAEMONS = ("mailer-daemon@", "postmaster@")


def automatic(msg: Message) -> bool:
    """Whether the email was sent by a machine that must not be answered automatically
    (RFC 3834): Auto-Submitted other than "no", a delivery report or a bounce, mailing-list
    or bulk mail, or an auto-responder's own marks. Answering those makes loops and makes the
    referrals mailbox a source of backscatter."""
    submitted = header(msg, "Auto-Submitted", decode=False).lower().split(";")[0].strip()
    if submitted and submitted != "no":
        return True
    if header(msg, "Precedence", decode=False).lower().strip() in _BULK:
        return True
    if any(
        header(msg, name, decode=False)
        for name in ("List-Id", "List-Unsubscribe", "List-Post", "X-Autoreply", "X-Autorespond")
    ):
        return True
    if header(msg, "Return-Path", decode=False).replace(" ", "") == "<>":
        return True
    content_type = header(msg, "Content-Type", decode=False).lower()
    if content_type.startswith("multipart/report"):
        return True
    from_raw = header(msg, "From", decode=False).lower()
    return any(daemon in from_raw for daemon in _DAEMONS)
