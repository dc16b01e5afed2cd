"""Normalising names so the same victim is recognised however a referrer typed them.

PROCESS.md: the same person is the same date of birth and the same name "after normalising
case, spaces, accents and hyphens". "Siobhán Mc-Kenna" and "siobhan mckenna" are one person.
"""

from __future__ import annotations

import hashlib
import re
import unicodedata
from datetime import date

_DROP = re.compile(r"[\s\-‐‑‒–—'’`.,]+")


def name_key(text: str) -> str:
    """A matching key: accents removed, case folded, spaces, hyphens and apostrophes gone."""
    decomposed = unicodedata.normalize("NFKD", text)
    stripped = "".join(c for c in decomposed if not unicodedata.combining(c))
    return _DROP.sub("", stripped.casefold())


def full_name_key(forenames: str, surname: str) -> str:
    return name_key(f"{forenames} {surname}")


def split_aliases(text: str) -> tuple[str, ...]:
    """Aliases as typed in one field: separated by ';', ',', '/' or new lines."""
    parts = re.split(r"[;,/\n]+", text)
    return tuple(p.strip() for p in parts if p.strip())


def victim_key(forenames: str, surname: str, dob: date | None) -> str:
    """An opaque key for "this victim" (duplicate detection) that holds no readable PII."""
    material = f"{full_name_key(forenames, surname)}|{dob.isoformat() if dob else ''}"
    return hashlib.sha256(material.encode()).hexdigest()
