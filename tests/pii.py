"""A scanner for personal data in outgoing mail, used by the tests that prove none leaks.

It gathers every personal value of a referral (names, dates of birth, addresses, postcodes,
phone numbers, in the forms they are typed and common re-spellings) and searches a raw
message for them: headers, every text part, and the text of every attachment that is not
encrypted. An encrypted Office file is the only attachment allowed to hold personal data.
"""

from __future__ import annotations

import io
import re
from email import message_from_bytes, policy
from email.message import EmailMessage

import docx

from mailbot.ingest.document.sniff import classify
from mailbot.models import DocKind, FormData

PERSONAL_FIELDS = (
    "victim_surname",
    "victim_forenames",
    "victim_aliases",
    "victim_dob",
    "victim_address",
    "victim_postcode",
    "victim_safe_phone",
    "perp_surname",
    "perp_forenames",
    "perp_aliases",
    "perp_dob",
    "perp_address",
    "perp_postcode",
    "referrer_name",
    "referrer_phone",
    "presenter_name",
    "declaration_name",
)
MIN_LENGTH = 4  # shorter fragments ("Ali", "B1") match ordinary words by chance


ADDRESS_FIELDS = frozenset({"victim_address", "perp_address"})


def personal_values(form: FormData) -> set[str]:
    values: set[str] = set()
    for field in PERSONAL_FIELDS:
        for line in form.value(field).splitlines():
            for part in (line, *re.split(r"[;,]", line)):
                text = part.strip()
                # A town on its own ("Coventry") names a MARAC area, not a person's home:
                # the street line (with its number) and the postcode are what identify.
                if field in ADDRESS_FIELDS and not any(c.isdigit() for c in text):
                    continue
                if len(text) >= MIN_LENGTH:
                    values.add(text)
    for child in form.children:
        for text in (child.name, child.dob):
            if len(text.strip()) >= MIN_LENGTH:
                values.add(text.strip())
    return values


def leaks(raw: bytes, values: set[str]) -> list[str]:
    """The personal values found anywhere readable in the message."""
    message = message_from_bytes(raw, policy=policy.default)
    assert isinstance(message, EmailMessage)
    texts = [str(v) for _, v in message.items()]
    for part in message.walk():
        if part.is_multipart():
            continue
        payload = part.get_payload(decode=True)
        if not isinstance(payload, bytes):
            continue
        if part.get_content_maintype() == "text":
            texts.append(payload.decode(part.get_content_charset() or "utf-8", "replace"))
        elif classify(payload) is DocKind.ENCRYPTED:
            continue
        else:
            texts.append(_document_text(payload))
    haystack = "\n".join(texts).casefold()
    return sorted(v for v in values if v.casefold() in haystack)


def _document_text(data: bytes) -> str:
    if classify(data) is DocKind.DOCX:
        document = docx.Document(io.BytesIO(data))
        cells = [c.text for t in document.tables for r in t.rows for c in r.cells]
        return "\n".join([p.text for p in document.paragraphs] + cells)
    return data.decode("latin-1")
