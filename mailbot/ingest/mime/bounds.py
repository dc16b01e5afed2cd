"""Bound what the standard library's email parser may cost, before it runs and while it runs.

`email.parser` pays per line, per part and per line per enclosing multipart, and its header
parser (`policy.default`) grows faster than the header: measured on Python 3.11, a Subject of
16,000 encoded words took 5-15 s and 3 GB, 100,000 empty parts 10-30 s, a form 200 multiparts
deep in a 10 MB email 6 s, and 200 parts each with a 10 KB Content-Type 50 s. Limits checked
after the parse come too late, so `mime` asks `too_costly` first: counts over the raw bytes,
done in C, of what drives the parser's cost. An email past them is not parsed at all (only
its header section is read). Header values are then parsed through `HeaderBudget`, which hands
back a value's raw text instead of parsing it once the value is too long, holds too many
encoded words, or the email has spent its budget of parsed header text; `mime` reports that
like any other limit.
"""

from __future__ import annotations

import re
from email.message import EmailMessage
from email.policy import EmailPolicy
from typing import TYPE_CHECKING, Any

MAX_PARTS = 2_000  # part delimiter lines per email (and MIME parts visited by mime's walker)
MAX_LINES = 1_000_000  # a 60 MB email of 64-column base64 has ~950,000
# Each line is matched against the boundary of every multipart it is inside: lines times
# multiparts bounds that work (10 million matches: ~2 s).
MAX_BOUNDARY_MATCHES = 10_000_000
HEADER_SECTION_BYTES = 1024 * 1024  # the top-level headers, up to the first blank line
MAX_HEADER_CHARS = 8 * 1024  # one header value parsed; longer ones are left as raw text
MAX_ENCODED_WORDS = 100  # RFC 2047 words in one header value; a long real subject has ~20
HEADER_BUDGET_CHARS = 128 * 1024  # header text parsed per email, every fetch counted
RAW_HEADER_CHARS = 1000  # how much of an unparsed header value is handed back
_SCAN_CHUNK = 1024 * 1024
_ENCODED_WORD = re.compile(r"=\?[^?]*\?[bq]\?[^?]*\?=", re.IGNORECASE)

if TYPE_CHECKING:  # generic in typeshed only
    _EmailPolicy = EmailPolicy[EmailMessage]
else:
    _EmailPolicy = EmailPolicy


def too_costly(raw: bytes) -> bool:
    """Whether parsing `raw` could cost more than the limits above allow."""
    lines = raw.count(b"\n") + raw.count(b"\r") - raw.count(b"\r\n")
    delimiters = raw.count(b"\n--") + raw.count(b"\r--") + raw.startswith(b"--")
    return (
        lines > MAX_LINES
        or delimiters > MAX_PARTS
        or lines * _count_ignoring_case(raw, b"boundary") > MAX_BOUNDARY_MATCHES
        or len(header_block(raw)) > HEADER_SECTION_BYTES
    )


def header_block(raw: bytes) -> bytes:
    """The headers up to the first blank line, ending in one; when no blank line comes within
    `HEADER_SECTION_BYTES`, that much and one byte more (so a caller can tell)."""
    head = raw[: HEADER_SECTION_BYTES + 1]
    ends = [i for i in (head.find(b"\r\n\r\n"), head.find(b"\n\n")) if i >= 0]
    return head[: min(ends)] + b"\n\n" if ends else head


def _count_ignoring_case(raw: bytes, word: bytes) -> int:
    """Occurrences of lower-case `word` in any case, lowering 1 MB at a time (not a copy of
    the whole email); a word across a chunk edge is counted in the chunk it starts in."""
    tail = len(word) - 1
    return sum(
        raw[at : at + _SCAN_CHUNK + tail].lower().count(word)
        for at in range(0, len(raw), _SCAN_CHUNK)
    )


class HeaderBudget:
    """One email's allowance of header parsing; `policy` spends it. `exceeded` says whether
    any header value was handed back unparsed."""

    def __init__(self, chars: int = HEADER_BUDGET_CHARS) -> None:
        self.left = chars
        self.exceeded = False
        self.policy = _BoundedPolicy(budget=self)

    def allows(self, value: str) -> bool:
        """Spend the budget on parsing `value`, if it is short and plain enough to parse."""
        cheap = len(value) <= min(MAX_HEADER_CHARS, self.left)
        if cheap and len(_ENCODED_WORD.findall(value)) <= MAX_ENCODED_WORDS:
            self.left -= len(value)
            return True
        self.exceeded = True
        return False


class _BoundedPolicy(_EmailPolicy):
    """`policy.default`, except that a value the budget does not allow is handed back as plain
    raw text (unfolded, cut short), as `policy.compat32` would: the `Message` methods mailbot
    uses (content type, parameters, file name) work on that text too."""

    budget: HeaderBudget

    def __init__(self, budget: HeaderBudget) -> None:
        super().__init__()
        object.__setattr__(self, "budget", budget)  # policies refuse attribute assignment

    def header_fetch_parse(self, name: str, value: str) -> Any:
        if hasattr(value, "name") or self.budget.allows(value):
            return super().header_fetch_parse(name, value)
        return value[:RAW_HEADER_CHARS].replace("\r", "").replace("\n", "")
