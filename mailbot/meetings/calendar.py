"""The meeting calendar: which MARAC meeting a case is listed at, and when its agenda goes out.

Listing is a date calculation that partners rely on (PROCESS.md, "Listing and meetings"): a
case goes to the first meeting of its area whose agenda has not been sent, and the agenda goes
out a configured number of England and Wales working days before the meeting. Getting a bank
holiday wrong lists a case at a meeting whose agenda has already gone, so the holidays come
from the maintained `holidays` library, never from a hand-typed list that silently runs out.

Everything here is pure: the date is passed in, and what the store knows (how many cases are
listed, whether an agenda was sent) arrives as two callables, so the runner does the I/O and
the tests can pin every rule to a fixed day.

A scheduled day that is a bank holiday has no meeting (it is not moved): the team does not
meet on Christmas Day or Easter Monday, and a case due then simply goes to the next meeting.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Container, Iterator

from mailbot.config import WEEKDAYS, Config, MeetingSchedule
from mailbot.errors import ConfigError
from mailbot.models import Meeting

_ONE_DAY = dt.timedelta(days=1)
_FORTNIGHT = 14


class Calendar:
    """The meetings of every configured area, with England and Wales working days."""

    def __init__(self, config: Config) -> None:
        self._config = config
        self._holidays: Container[dt.date] | None = None

    def is_working_day(self, day: dt.date) -> bool:
        """Monday to Friday and not an England and Wales bank holiday."""
        return day.weekday() < len(WEEKDAYS) and day not in self._bank_holidays()

    def _bank_holidays(self) -> Container[dt.date]:
        if self._holidays is None:
            # Loaded at the first date asked about, not at start-up: the library imports every
            # country it knows (some 100 ms and 15 MB), which a pass with nothing listed and
            # most commands never need.
            import holidays

            # With no years given, the library loads each year the first time a date in it is
            # asked about, so the calendar works for any year without being told which.
            self._holidays = holidays.country_holidays("GB", subdiv="ENG")
        return self._holidays

    def working_days_before(self, day: dt.date, n: int) -> dt.date:
        """The working day `n` working days before `day` (which itself need not be one)."""
        if n < 0:
            raise ValueError("n must not be negative")
        current = day
        while n:
            current -= _ONE_DAY
            if self.is_working_day(current):
                n -= 1
        return current

    def meetings(self, area: str, start: dt.date, end: dt.date) -> list[Meeting]:
        """The area's meetings from `start` to `end`, both included, in date order."""
        schedule = self._schedule(area)
        return [
            self._meeting(area, schedule, day)
            for day in _scheduled_days(schedule, start, end)
            if self.is_working_day(day)
        ]

    def meeting_on(self, area: str, day: dt.date) -> Meeting | None:
        """The area's meeting on `day`, or None when its schedule has none that day."""
        schedule = self._schedule(area)
        if not _is_scheduled(schedule, day) or not self.is_working_day(day):
            return None
        return self._meeting(area, schedule, day)

    def listed_meeting(self, area: str, day: dt.date) -> Meeting:
        """The meeting a case was listed at on `day`, even if the schedule has changed since
        (a listing stands until an administrator moves it)."""
        return self._meeting(area, self._schedule(area), day)

    def _schedule(self, area: str) -> MeetingSchedule:
        configured = self._config.areas.get(area)
        if configured is None:
            raise ConfigError(f"areas.{area}", "no meetings are configured for this area")
        return configured.meetings

    def _meeting(self, area: str, schedule: MeetingSchedule, day: dt.date) -> Meeting:
        return Meeting(
            area=area,
            date=day,
            time=schedule.time,
            venue=schedule.venue,
            capacity=schedule.capacity,
            agenda_date=self.working_days_before(day, self._config.agenda_working_days_before),
        )


def choose_meeting(
    calendar: Calendar,
    area: str,
    today: dt.date,
    *,
    listed: Callable[[str, dt.date], int],
    agenda_sent: Callable[[str, dt.date], bool],
    horizon_days: int = 400,
) -> Meeting | None:
    """The meeting a case referred `today` is listed at, or None if none within the horizon.

    That is the first meeting after today whose agenda is still open (not sent, and not due
    before today) and which has room. A meeting whose agenda is due today is still open until
    the agenda is actually sent.
    """
    end = today + dt.timedelta(days=horizon_days)
    for meeting in calendar.meetings(area, today + _ONE_DAY, end):
        if meeting.agenda_date < today or agenda_sent(area, meeting.date):
            continue
        if listed(area, meeting.date) < meeting.capacity:
            return meeting
    return None


def _is_scheduled(schedule: MeetingSchedule, day: dt.date) -> bool:
    """Whether the schedule falls on `day`, before bank holidays are taken out."""
    if schedule.frequency == "working_days":
        return day.weekday() < len(WEEKDAYS)
    if day.weekday() != _weekday(schedule):
        return False
    if schedule.frequency == "weekly":
        return True
    return (day - _anchor(schedule)).days % _FORTNIGHT == 0


def _scheduled_days(schedule: MeetingSchedule, start: dt.date, end: dt.date) -> Iterator[dt.date]:
    """The schedule's days from `start` to `end` inclusive, before bank holidays are taken out.

    Weekly and fortnightly series jump straight to their first day in the range and step by
    their period, so a range far from the anchor (before it, too) costs nothing extra.
    """
    if schedule.frequency == "working_days":
        first, step = start, 1
    elif schedule.frequency == "weekly":
        first, step = start + dt.timedelta(days=(_weekday(schedule) - start.weekday()) % 7), 7
    else:
        # Python's % is never negative, so this also finds the series' days before the anchor.
        behind = (start - _anchor(schedule)).days % _FORTNIGHT
        first, step = start + dt.timedelta(days=(_FORTNIGHT - behind) % _FORTNIGHT), _FORTNIGHT
    day = first
    while day <= end:
        if _is_scheduled(schedule, day):
            yield day
        day += dt.timedelta(days=step)


def _weekday(schedule: MeetingSchedule) -> int:
    assert schedule.weekday is not None  # MeetingSchedule requires it unless working_days
    return WEEKDAYS.index(schedule.weekday)


def _anchor(schedule: MeetingSchedule) -> dt.date:
    assert schedule.anchor is not None  # MeetingSchedule requires it for fortnightly
    return schedule.anchor
