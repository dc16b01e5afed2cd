"""Reading a Retry-After header the way servers actually write it.

RFC 9110 allows whole seconds or an HTTP date, but Microsoft's services also send fractions
(Graph's own throttling sample is "Retry-After: 2.128"), and a client that cannot read the
value falls back to its own guess: exchangelib waits a minute, a plain `isdigit` check none
at all. Both the Graph client and the EWS retry policy read the header here.
"""

from __future__ import annotations

import re
import time
from email.utils import parsedate_to_datetime

_SECONDS = re.compile(r"\d{1,9}(\.\d{1,9})?")


def retry_after(header: str | None, *, now: float | None = None) -> float | None:
    """Seconds to wait: delta-seconds (whole or fractional) or an HTTP date; None when the
    header is absent or unreadable. A date in the past is no wait (0)."""
    value = (header or "").strip()
    if not value:
        return None
    if _SECONDS.fullmatch(value):
        return float(value)
    try:
        when = parsedate_to_datetime(value)
    except (TypeError, ValueError, IndexError):
        return None
    return max(0.0, when.timestamp() - (time.time() if now is None else now))
