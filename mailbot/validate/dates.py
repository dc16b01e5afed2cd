"""Reading dates as UK partners type them, day first, and nothing looser.

A permissive parser would turn "7" or "Tuesday" into a date and hide a mistake the referrer
should fix. These are the styles REFERRAL-FORM.md lists (03/07/1991, 3/7/91, 3 July 1991,
03.07.1991, 1991-07-03) and their near relatives (dashes, "3rd", "Jul").
"""

from __future__ import annotations

import calendar
import re
from datetime import date

_MONTHS = {name.lower(): i for i, name in enumerate(calendar.month_name) if name}
_MONTHS.update({name.lower(): i for i, name in enumerate(calendar.month_abbr) if name})
_MONTHS["sept"] = 9

_NUMERIC = re.compile(r"^(\d{1,2})\s*[/.\-]\s*(\d{1,2})\s*[/.\-]\s*(\d{2}|\d{4})$")
_ISO = re.compile(r"^(\d{4})-(\d{1,2})-(\d{1,2})$")
_WORDS = re.compile(r"^(\d{1,2})(?:st|nd|rd|th)?\s+([a-z]+)\.?,?\s+(\d{2}|\d{4})$")


def parse_date(text: str, *, today: date) -> date | None:
    """The date typed in `text` (day first), or None when it is not a date.

    Two-digit years are in this century unless that would put them in the future.
    """
    value = " ".join(text.strip().lower().split())
    if match := _ISO.match(value):
        year, month, day = (int(g) for g in match.groups())
        return _safe(year, month, day)
    if match := _NUMERIC.match(value):
        day, month = int(match[1]), int(match[2])
        return _safe(_year(match[3], today), month, day)
    if match := _WORDS.match(value):
        month_number = _MONTHS.get(match[2])
        if month_number is None:
            return None
        return _safe(_year(match[3], today), month_number, int(match[1]))
    return None


def _year(text: str, today: date) -> int:
    if len(text) == 4:
        return int(text)
    year = 2000 + int(text)
    return year if year <= today.year else year - 100


def _safe(year: int, month: int, day: int) -> date | None:
    try:
        return date(year, month, day)
    except ValueError:
        return None


def add_months(day: date, months: int) -> date:
    """`day` moved by whole calendar months (clamped to the month's end)."""
    month_index = day.year * 12 + day.month - 1 + months
    year, month = divmod(month_index, 12)
    last = calendar.monthrange(year, month + 1)[1]
    return date(year, month + 1, min(day.day, last))


def age_on(dob: date, day: date) -> int:
    return day.year - dob.year - ((day.month, day.day) < (dob.month, dob.day))
