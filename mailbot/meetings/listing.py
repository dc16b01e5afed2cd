"""Listing cases at meetings: the calendar's rules applied to what the database holds.

`meetings.choose_meeting` is pure; this module answers its two questions (how many cases a
meeting already has, whether its agenda went out) from the store, inside the caller's
transaction, so two cases decided at once cannot both take a meeting's last place.
Capacity counts the cases for discussion, each once however many agencies referred its
victim (`mailbot.cases.lifecycle`); information-only repeats do not take a slot.
"""

from __future__ import annotations

import sqlite3
from dataclasses import dataclass
from datetime import date

from mailbot.cases.lifecycle import count_listed
from mailbot.meetings.calendar import Calendar, choose_meeting
from mailbot.models import Meeting
from mailbot.store import Store


@dataclass(frozen=True)
class MeetingLoad:
    meeting: Meeting
    discussion: int  # cases listed for discussion
    information: int  # cases listed for information only
    agenda_sent: bool


class Listings:
    def __init__(self, store: Store, calendar: Calendar, areas: list[str]) -> None:
        self.store = store
        self.calendar = calendar
        self.areas = sorted(areas)

    def choose(self, conn: sqlite3.Connection, area: str, today: date) -> Meeting | None:
        """The meeting a newly accepted case of `area` is listed at."""
        return choose_meeting(
            self.calendar,
            area,
            today,
            listed=lambda a, d: count_listed(conn, a, d, discussion=True),
            agenda_sent=lambda a, d: agenda_sent(conn, a, d),
        )

    def upcoming(self, today: date, days: int, area: str | None = None) -> list[MeetingLoad]:
        """Meetings from today for `days` days (all areas, or one), with their counts."""
        areas = [area] if area else self.areas
        end = date.fromordinal(today.toordinal() + days)
        loads = []
        for name in areas:
            for meeting in self.calendar.meetings(name, today, end):
                conn = self.store.conn
                loads.append(
                    MeetingLoad(
                        meeting,
                        count_listed(conn, name, meeting.date, discussion=True),
                        count_listed(conn, name, meeting.date, discussion=False),
                        agenda_sent(conn, name, meeting.date),
                    )
                )
        return sorted(loads, key=lambda m: (m.meeting.date, m.meeting.time, m.meeting.area))


def agenda_sent(conn: sqlite3.Connection, area: str, day: date) -> bool:
    row = conn.execute(
        "SELECT agenda_sent_at FROM meetings WHERE area = ? AND date = ?", (area, day.isoformat())
    ).fetchone()
    return bool(row and row[0])
