"""The case lifecycle in the database: referral -> case -> listing -> hearing -> flag expiry.

A *referral* is one email's form (a `cases` row). A *case* is one victim's episode: the
first referral of a victim opens it (its `case_ref` is its own reference) and every later
referral of the same victim while the case is open joins it (`case_ref` is the case's). A
*listing* puts a case on a meeting; it becomes a *hearing* only once that meeting has taken
place: its date has passed, or its minutes were sent. A moved or cancelled listing never
does. Repeats, the 12-month window and desktop reviews count hearings only, so a second
agency referring the same victim in the same week is not taken for a repeat of a meeting
that has not happened.

Why here and not in the stages: whether a listing is a hearing depends on today and on the
minutes, which live in the database; the pure stages (`validate.repeats`) are handed the
answer as plain values, `HistoryEntry` (a hearing) and `OpenCase` (a case still open).
"""

from __future__ import annotations

import sqlite3
from dataclasses import dataclass
from datetime import date, datetime

from mailbot.models import HistoryEntry, OpenCase, Person
from mailbot.store import dumps
from mailbot.validate.names import full_name_key, name_key

LISTED = "listed"
MOVED = "moved"
CANCELLED = "cancelled"


@dataclass(frozen=True)
class Listing:
    """A case's current place on a meeting."""

    id: int
    case_ref: str
    area: str
    meeting_date: date


@dataclass(frozen=True)
class Known:
    """What mailbot knows of a victim: past hearings and cases still open."""

    hearings: tuple[HistoryEntry, ...] = ()
    open_cases: tuple[OpenCase, ...] = ()


# -- listings -------------------------------------------------------------------------


def current_listing(conn: sqlite3.Connection, case_ref: str) -> Listing | None:
    row = conn.execute(
        "SELECT id, case_ref, area, meeting_date FROM listings"
        " WHERE case_ref = ? AND state = 'listed'",
        (case_ref,),
    ).fetchone()
    return Listing(row[0], row[1], row[2], date.fromisoformat(row[3])) if row else None


def is_held(conn: sqlite3.Connection, area: str, meeting_date: date, today: date) -> bool:
    """Whether the meeting has taken place: its date has passed, or its minutes were sent."""
    if meeting_date < today:
        return True
    row = conn.execute(
        "SELECT 1 FROM minutes_runs WHERE area = ? AND date = ? LIMIT 1",
        (area, meeting_date.isoformat()),
    ).fetchone()
    return row is not None


def list_case(
    conn: sqlite3.Connection, case_ref: str, area: str, meeting_date: date, now: datetime
) -> None:
    """Put the case on a meeting, ending (as moved) any listing it had before."""
    end_listing(conn, case_ref, MOVED, now)
    conn.execute(
        "INSERT INTO listings (case_ref, area, meeting_date, state, listed_at)"
        " VALUES (?, ?, ?, 'listed', ?)",
        (case_ref, area, meeting_date.isoformat(), now.isoformat()),
    )
    conn.execute(
        "UPDATE cases SET meeting_date = ? WHERE case_ref = ?"
        " AND outcome IN ('accepted', 'info_only')",
        (meeting_date.isoformat(), case_ref),
    )
    conn.execute(
        "UPDATE people SET marac_date = ? WHERE reference = ? AND source = 'case'",
        (meeting_date.isoformat(), case_ref),
    )


def end_listing(conn: sqlite3.Connection, case_ref: str, state: str, now: datetime) -> bool:
    """End the case's current listing as `state` (moved or cancelled); False if none."""
    cursor = conn.execute(
        "UPDATE listings SET state = ?, ended_at = ? WHERE case_ref = ? AND state = 'listed'",
        (state, now.isoformat(), case_ref),
    )
    return cursor.rowcount > 0


def listed_cases(conn: sqlite3.Connection, area: str, meeting_date: date) -> list[str]:
    """The cases listed at a meeting, in the order they were listed."""
    rows = conn.execute(
        "SELECT case_ref FROM listings WHERE area = ? AND meeting_date = ?"
        " AND state = 'listed' ORDER BY listed_at, id",
        (area, meeting_date.isoformat()),
    )
    return [r[0] for r in rows]


def count_listed(
    conn: sqlite3.Connection, area: str, meeting_date: date, *, discussion: bool
) -> int:
    """Cases listed at a meeting for discussion (any referral accepted), or for information
    only (all information only). One case is one, however many agencies referred it."""
    row = conn.execute(
        "SELECT COUNT(*) FROM listings l WHERE l.area = ? AND l.meeting_date = ?"
        " AND l.state = 'listed' AND EXISTS (SELECT 1 FROM cases c"
        " WHERE c.case_ref = l.case_ref AND c.outcome = 'accepted') = ?",
        (area, meeting_date.isoformat(), int(discussion)),
    ).fetchone()
    return int(row[0])


def information_only(conn: sqlite3.Connection, case_ref: str) -> bool:
    """A case is for information only when none of its referrals was accepted for
    discussion."""
    row = conn.execute(
        "SELECT 1 FROM cases WHERE case_ref = ? AND outcome = 'accepted' LIMIT 1", (case_ref,)
    ).fetchone()
    return row is None


def referrals(conn: sqlite3.Connection, case_ref: str) -> list[str]:
    """The references of the case's listed referrals, in arrival order."""
    rows = conn.execute(
        "SELECT reference FROM cases WHERE case_ref = ?"
        " AND outcome IN ('accepted', 'info_only')"
        " ORDER BY received_at, reference",
        (case_ref,),
    )
    return [r[0] for r in rows]


# -- the victim index -------------------------------------------------------------------


def sync_person(
    conn: sqlite3.Connection, case_ref: str, victim: Person | None, placeholder: date
) -> None:
    """Keep one `people` row for a case while it is listed (or heard) or has a referral
    held in the queue, so a later referral of the same victim finds it; none otherwise.

    `placeholder`: the date recorded for a case not yet listed (never read as a hearing)."""
    listing = current_listing(conn, case_ref)
    held = conn.execute(
        "SELECT 1 FROM cases WHERE case_ref = ? AND outcome = 'held' LIMIT 1", (case_ref,)
    ).fetchone()
    exists = conn.execute(
        "SELECT 1 FROM people WHERE reference = ? AND source = 'case' LIMIT 1", (case_ref,)
    ).fetchone()
    if listing is None and held is None:
        remove_person(conn, case_ref)
    elif exists is None and victim is not None:
        add_person(
            conn,
            case_ref,
            "case",
            listing.area if listing else None,
            listing.meeting_date if listing else placeholder,
            victim,
        )


def add_person(
    conn: sqlite3.Connection,
    reference: str,
    source: str,
    area: str | None,
    marac_date: date,
    person: Person,
) -> None:
    alias_keys = sorted({name_key(a) for a in person.aliases} - {""})
    cursor = conn.execute(
        "INSERT INTO people (reference, source, area, marac_date, surname, forenames,"
        " surname_key, name_key, dob, aliases, alias_keys)"
        " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
        (
            reference,
            source,
            area,
            marac_date.isoformat(),
            person.surname,
            person.forenames,
            name_key(person.surname),
            full_name_key(person.forenames, person.surname),
            person.dob.isoformat() if person.dob else None,
            dumps(person.aliases),
            dumps(alias_keys),
        ),
    )
    conn.executemany(
        "INSERT INTO alias_keys (person_id, key) VALUES (?, ?)",
        [(cursor.lastrowid, k) for k in alias_keys],
    )


def remove_person(conn: sqlite3.Connection, reference: str) -> None:
    conn.execute(
        "DELETE FROM alias_keys WHERE person_id IN"
        " (SELECT id FROM people WHERE reference = ? AND source = 'case')",
        (reference,),
    )
    conn.execute("DELETE FROM people WHERE reference = ? AND source = 'case'", (reference,))


def classify(
    conn: sqlite3.Connection, candidates: list[tuple[str, HistoryEntry]], today: date
) -> Known:
    """Split the people rows that may be this victim into hearings and open cases.

    `candidates`: (source, entry) as read from `people`. An imported row is a hearing; a
    case of mailbot's own is a hearing once its listing's meeting has taken place, open
    while it is listed at a meeting still to come or has a referral held in the queue, and
    nothing otherwise (returned, or its listing cancelled)."""
    hearings: list[HistoryEntry] = []
    open_cases: list[OpenCase] = []
    for source, entry in candidates:
        if source != "case":
            hearings.append(entry)
            continue
        listing = current_listing(conn, entry.reference)
        if listing is not None:
            if is_held(conn, listing.area, listing.meeting_date, today):
                hearings.append(
                    entry.model_copy(
                        update={"marac_date": listing.meeting_date, "area": listing.area}
                    )
                )
            else:
                open_cases.append(
                    OpenCase(
                        reference=entry.reference,
                        person=entry.person,
                        area=listing.area,
                        meeting_date=listing.meeting_date,
                        information_only=information_only(conn, entry.reference),
                    )
                )
            continue
        queued = conn.execute(
            "SELECT 1 FROM cases WHERE case_ref = ? AND outcome = 'held' LIMIT 1",
            (entry.reference,),
        ).fetchone()
        if queued is not None:
            open_cases.append(
                OpenCase(reference=entry.reference, person=entry.person, area=entry.area)
            )
    return Known(hearings=tuple(hearings), open_cases=tuple(open_cases))
