"""Recognising a victim already heard at MARAC, whatever the referrer declared.

A repeat within 12 months must be recognised even when the referrer does not know about the
earlier MARAC (PROCESS.md step 7): the same date of birth and the same normalised name (or a
known alias) is a repeat; a near match (same DOB and surname but another forename, or the same
name with one part of the DOB different) is for an administrator to decide.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date

from mailbot.models import Frozen, HistoryEntry, OpenCase, Person
from mailbot.validate.dates import add_months
from mailbot.validate.names import full_name_key, name_key


class OpenMatch(Frozen):
    """The victim's open case, if any: certainly hers (`exact`), or perhaps (`near`)."""

    exact: OpenCase | None = None
    near: tuple[OpenCase, ...] = ()


class RepeatMatch(Frozen):
    """Earlier hearings of this victim within the repeat window, newest first."""

    exact: tuple[HistoryEntry, ...] = ()
    near: tuple[HistoryEntry, ...] = ()
    recent_hearings: int = 0  # exact-match hearings within the desktop-review window

    @property
    def latest(self) -> HistoryEntry | None:
        return self.exact[0] if self.exact else None


def _keys(person: Person) -> set[str]:
    keys = {full_name_key(person.forenames, person.surname)}
    keys.update(name_key(alias) for alias in person.aliases)
    return keys - {""}


def is_same_person(a: Person, b: Person) -> bool:
    return a.dob is not None and a.dob == b.dob and bool(_keys(a) & _keys(b))


def is_near_match(a: Person, b: Person) -> bool:
    if a.dob is None or b.dob is None:
        return False
    same_name = full_name_key(a.forenames, a.surname) == full_name_key(b.forenames, b.surname)
    if a.dob == b.dob:
        return name_key(a.surname) == name_key(b.surname) and not same_name
    return same_name and _one_part_apart(a.dob, b.dob)


def _one_part_apart(a: date, b: date) -> bool:
    return sum((a.year != b.year, a.month != b.month, a.day != b.day)) == 1


def match_history(
    person: Person,
    incident: date,
    history: Sequence[HistoryEntry],
    *,
    window_months: int = 12,
    desktop_window_months: int = 6,
) -> RepeatMatch:
    """Which hearings in `history` are this person, held within the repeat window before
    the incident (on the incident's day included: PROCESS.md 7)."""
    since = add_months(incident, -window_months)
    desktop_since = add_months(incident, -desktop_window_months)
    in_window = [h for h in history if since <= h.marac_date <= incident]
    in_window.sort(key=lambda h: (h.marac_date, h.reference), reverse=True)
    exact = tuple(h for h in in_window if is_same_person(person, h.person))
    exact_refs = {h.reference for h in exact}
    near = tuple(
        h for h in in_window if h.reference not in exact_refs and is_near_match(person, h.person)
    )
    recent = {(h.reference, h.marac_date) for h in exact if h.marac_date >= desktop_since}
    return RepeatMatch(exact=exact, near=near, recent_hearings=len(recent))


def match_open(person: Person, open_cases: Sequence[OpenCase]) -> OpenMatch:
    """Which open case is this person's: the same one (joined), or perhaps (held)."""
    exact = [c for c in open_cases if is_same_person(person, c.person)]
    # Listed before held-in-the-queue, then the oldest case: the one a team already works on.
    exact.sort(key=lambda c: (c.meeting_date is None, c.reference))
    if exact:
        return OpenMatch(exact=exact[0])
    return OpenMatch(near=tuple(c for c in open_cases if is_near_match(person, c.person)))
