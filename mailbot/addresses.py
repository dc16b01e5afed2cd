"""Email addresses and message ids from outside, validated once, in one place.

A header value from outside is parsed once, validated, and only the validated value is
checked (is this sender secure? which agency?) and written (To, In-Reply-To, References).
Everything else is refused, because Python's email package decodes RFC 2047 encoded words
when it writes a header: an id or an address holding `=?utf-8?b?...?=` can turn into CR LF
and a Bcc line in a confirmation sent from the referrals mailbox, or into another address
than the one that was checked. So: ASCII only, no encoded word, no space or control
character, one address, and the lengths of RFC 5321 and RFC 5322.
"""

from __future__ import annotations

import re

# RFC 5322 dot-atom local part (atext), a domain of LDH labels with an alphabetic top level:
# what agencies' mail systems send, and what every relay accepts without SMTPUTF8.
_ATEXT = r"[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+"
_LABEL = r"[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?"
_ADDRESS = re.compile(rf"{_ATEXT}(?:\.{_ATEXT})*@{_LABEL}(?:\.{_LABEL})*\.[A-Za-z]{{2,63}}")
# <id-left@id-right>, printable ASCII without the angle brackets (RFC 5322 3.6.4, loosely:
# real mail systems put more than dot-atoms there).
_MSGID = re.compile(r"<[!-;=?-~]+@[!-;=?-~]+>")
_ENCODED_WORD = "=?"
MAX_ADDRESS = 254
MAX_LOCAL = 64
MAX_MSGID = 998


def mailbox_address(text: str) -> str | None:
    """The address, lower-cased, if it is one safe to check and to write; else None."""
    value = text.strip()
    local = value.rpartition("@")[0]
    if (len(value) > MAX_ADDRESS or len(local) > MAX_LOCAL or _ENCODED_WORD in value
            or not _ADDRESS.fullmatch(value)):
        return None
    return value.lower()


def message_id(text: str) -> str | None:
    """The message id `<...@...>`, if it is one safe to write back (In-Reply-To); else None."""
    value = text.strip()
    if len(value) > MAX_MSGID or _ENCODED_WORD in value or not _MSGID.fullmatch(value):
        return None
    return value
