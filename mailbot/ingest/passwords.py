"""Recognising a password sent in a separate email, and the words that may be it.

Referrers who are not on an agreed password send the document's password in a second email
(PROCESS.md). People write "Password: X", "the password is X" or just X on a line, so we try
a short, bounded list of candidates: each costs one key derivation, and none is ever stored
or logged.
"""

from __future__ import annotations

import re

from mailbot.ingest.document.sniff import WORD_KINDS
from mailbot.models import ParsedEmail

MAX_CANDIDATES = 12
MAX_LENGTH = 64
_AFTER_WORD = re.compile(
    r"pass(?:word|code|phrase)\b(?:\s+(?:is|for|to)\b)?[^:=\-\w]*(?:[:=\-]|\bis\b)?\s*"
    r"(?P<value>\S+)",
    re.IGNORECASE,
)
_TRIM = "\"'“”‘’<>()[]{}.,;"
_SKIP = frozenset({"is", "the", "for", "to", "of", "document", "referral", "below", ":"})


def is_password_email(email: ParsedEmail) -> bool:
    """A separate password email: "password" in the subject and no Word document attached."""
    has_document = any(a.kind in WORD_KINDS for a in email.attachments)
    return "password" in email.subject.lower() and not has_document


def password_candidates(email: ParsedEmail) -> list[str]:
    """Likely passwords in the email's text, most likely first, at most MAX_CANDIDATES."""
    text = email.body_text[:8192]
    found: list[str] = []
    for line in text.splitlines():
        match = _AFTER_WORD.search(line)
        if match:
            found.append(match["value"])
    for line in text.splitlines():
        stripped = line.strip()
        if stripped and " " not in stripped:
            found.append(stripped)
    for line in text.splitlines():
        found.extend(line.split())
    match = _AFTER_WORD.search(email.subject)
    if match:
        found.append(match["value"])
    out: list[str] = []
    for word in found:
        for candidate in (word, word.strip(_TRIM)):
            if (
                candidate
                and len(candidate) <= MAX_LENGTH
                and candidate.lower() not in _SKIP
                and candidate not in out
            ):
                out.append(candidate)
    return out[:MAX_CANDIDATES]
