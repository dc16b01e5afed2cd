"""The meeting calendar: the demo schedules, bank holidays, agenda dates and listing rules."""

from __future__ import annotations

from collections.abc import Collection
from datetime import date, time, timedelta
from itertools import pairwise

import holidays
import pytest

from mailbot.config import Config
from mailbot.errors import ConfigError
from mailbot.meetings.calendar import Calendar, choose_meeting
from mailbot.models import Meeting

TEAMS = "Microsoft Teams (link sent with the agenda)"
ENGLAND = holidays.country_holidays("GB", subdiv="ENG")


@pytest.fixture
def calendar(config: Config) -> Calendar:
    return Calendar(config)


def dates(meetings: list[Meeting]) -> list[date]:
    return [m.date for m in meetings]


class Ledger:
    """What the store would say: cases listed per meeting, agendas already sent."""

    def __init__(self, full: Collection[date] = (), sent: Collection[date] = ()) -> None:
        self.full, self.sent = full, sent
        self.asked: list[tuple[str, date]] = []

    def listed(self, area: str, day: date) -> int:
        self.asked.append((area, day))
        return 20 if day in self.full else 19

    def agenda_sent(self, area: str, day: date) -> bool:
        return day in self.sent


def choose(calendar: Calendar, area: str, today: date, ledger: Ledger, **kw: int) -> date | None:
    meeting = choose_meeting(
        calendar, area, today, listed=ledger.listed, agenda_sent=ledger.agenda_sent, **kw
    )
    return None if meeting is None else meeting.date


def test_demo_schedules_start_on_their_anchors(calendar: Calendar) -> None:
    """GIVEN the example deployment
    WHEN January 2026's meetings are listed per area
    THEN each area meets on its demo days, with its time, venue and capacity."""
    jan = (date(2026, 1, 1), date(2026, 1, 31))
    for area in ("Coventry", "Sandwell"):
        assert dates(calendar.meetings(area, *jan)) == [date(2026, 1, 6), date(2026, 1, 20)]
    for area in ("Dudley", "Solihull", "Walsall"):
        assert dates(calendar.meetings(area, *jan)) == [date(2026, 1, 8), date(2026, 1, 22)]
    assert dates(calendar.meetings("Wolverhampton", *jan)) == [
        date(2026, 1, 7),
        date(2026, 1, 14),
        date(2026, 1, 21),
        date(2026, 1, 28),
    ]
    birmingham = calendar.meetings("Birmingham", date(2026, 1, 1), date(2026, 1, 9))
    # 1 January is New Year's Day; 3-4 January a weekend.
    assert dates(birmingham) == [date(2026, 1, 2)] + [date(2026, 1, d) for d in range(5, 10)]
    first = birmingham[0]
    assert (first.area, first.time, first.venue, first.capacity) == (
        "Birmingham",
        time(9, 30),
        TEAMS,
        20,
    )
    assert calendar.meetings("Coventry", *jan)[0].time == time(10, 0)


def test_fortnightly_series_runs_back_before_its_anchor(calendar: Calendar) -> None:
    """GIVEN fortnightly series anchored on 2026-01-06 (Tue) and 2026-01-08 (Thu)
    WHEN meetings before the anchor are asked for
    THEN the series continues backwards in steps of 14 days, skipping Christmas Day 2025."""
    december = (date(2025, 12, 1), date(2026, 1, 8))
    assert dates(calendar.meetings("Coventry", *december)) == [
        date(2025, 12, 9),
        date(2025, 12, 23),
        date(2026, 1, 6),
    ]
    # 2025-12-25 is anchor - 14 days and Christmas Day, so it has no meeting.
    assert dates(calendar.meetings("Dudley", *december)) == [date(2025, 12, 11), date(2026, 1, 8)]
    assert calendar.meeting_on("Coventry", date(2025, 12, 23)) is not None
    assert calendar.meeting_on("Coventry", date(2025, 12, 30)) is None  # the off week
    assert calendar.meeting_on("Dudley", date(2025, 12, 25)) is None


def test_fortnightly_series_far_from_the_anchor(calendar: Calendar) -> None:
    """GIVEN Coventry's fortnightly Tuesdays
    WHEN a whole year is listed, and a range years away
    THEN 2026 holds 26 meetings 14 days apart, and the series lands on the same rhythm later."""
    year = dates(calendar.meetings("Coventry", date(2026, 1, 1), date(2026, 12, 31)))
    assert len(year) == 26
    assert {b - a for a, b in pairwise(year)} == {timedelta(days=14)}
    # 2040-01-03 is 14 * 365 days after the anchor.
    assert date(2026, 1, 6) + timedelta(days=14 * 365) == date(2040, 1, 3)
    later = calendar.meetings("Coventry", date(2039, 12, 25), date(2040, 1, 31))
    assert dates(later) == [date(2040, 1, 3), date(2040, 1, 17), date(2040, 1, 31)]


def test_range_boundaries_are_inclusive(calendar: Calendar) -> None:
    """GIVEN Wolverhampton's Wednesdays
    WHEN ranges start and end on, or just inside, meeting days
    THEN meetings on the boundaries are included and an empty range is empty."""
    wed7, wed14 = date(2026, 1, 7), date(2026, 1, 14)
    assert dates(calendar.meetings("Wolverhampton", wed7, wed14)) == [wed7, wed14]
    assert dates(calendar.meetings("Wolverhampton", wed7, wed7)) == [wed7]
    assert calendar.meetings("Wolverhampton", date(2026, 1, 8), date(2026, 1, 13)) == []
    assert calendar.meetings("Wolverhampton", wed14, wed7) == []


def test_working_days_skip_weekends_and_bank_holidays(calendar: Calendar) -> None:
    """GIVEN the England and Wales bank holidays of the holidays library
    WHEN days around Christmas 2026 are checked
    THEN weekends and the holidays (Boxing Day observed on Monday 28th) are not working days."""
    assert date(2026, 12, 25) in ENGLAND
    assert date(2026, 12, 28) in ENGLAND
    assert calendar.is_working_day(date(2026, 12, 24))
    assert not calendar.is_working_day(date(2026, 12, 25))
    assert not calendar.is_working_day(date(2026, 12, 26))  # Saturday
    assert not calendar.is_working_day(date(2026, 12, 28))
    assert calendar.is_working_day(date(2026, 12, 29))
    assert calendar.working_days_before(date(2026, 12, 29), 1) == date(2026, 12, 24)
    assert calendar.working_days_before(date(2026, 12, 29), 0) == date(2026, 12, 29)
    with pytest.raises(ValueError, match="negative"):
        calendar.working_days_before(date(2026, 12, 29), -1)


def test_agenda_date_skips_christmas_bank_holidays(calendar: Calendar) -> None:
    """GIVEN Wolverhampton's meeting on Wednesday 2026-12-30 and agendas 5 working days before
    WHEN the meeting is looked up
    THEN its agenda date is Monday 21 December: 25 and 28 December are not counted."""
    meeting = calendar.meeting_on("Wolverhampton", date(2026, 12, 30))
    assert meeting is not None
    # Counting back: 29th (1), [28th holiday, 26-27 weekend, 25th holiday], 24th (2),
    # 23rd (3), 22nd (4), 21st (5).
    assert meeting.agenda_date == date(2026, 12, 21)
    plain = calendar.meeting_on("Wolverhampton", date(2026, 11, 11))
    assert plain is not None
    assert plain.agenda_date == date(2026, 11, 4)  # no holiday between


def test_no_meeting_on_christmas_day_or_easter_monday(calendar: Calendar) -> None:
    """GIVEN Birmingham meets every working day
    WHEN Christmas 2026 (Friday) and Easter 2027 are looked up
    THEN there is no meeting on the bank holidays, and agendas skip them too."""
    assert calendar.meeting_on("Birmingham", date(2026, 12, 25)) is None
    assert calendar.meeting_on("Birmingham", date(2026, 12, 28)) is None
    assert dates(calendar.meetings("Birmingham", date(2026, 12, 21), date(2027, 1, 1))) == [
        date(2026, 12, d) for d in (21, 22, 23, 24, 29, 30, 31)
    ]
    assert ENGLAND.get(date(2027, 3, 29)) == "Easter Monday"
    assert calendar.meeting_on("Birmingham", date(2027, 3, 29)) is None
    easter = calendar.meetings("Birmingham", date(2027, 3, 25), date(2027, 3, 30))
    assert dates(easter) == [date(2027, 3, 25), date(2027, 3, 30)]  # Good Friday 26th too
    # From Tuesday 30 March back: 25th (1), 24th (2), 23rd (3), 22nd (4), 19th (5).
    assert easter[1].agenda_date == date(2027, 3, 19)
    # Christmas Day 2030 is a Wednesday: Wolverhampton does not meet (a year loaded on demand).
    assert calendar.meeting_on("Wolverhampton", date(2030, 12, 25)) is None
    assert calendar.meeting_on("Wolverhampton", date(2030, 12, 18)) is not None


def test_listing_goes_to_the_first_meeting_whose_agenda_is_open(calendar: Calendar) -> None:
    """GIVEN Monday 2026-11-02, Wolverhampton meeting Wednesdays with agendas a week before
    WHEN a case is listed
    THEN the 4 November meeting is skipped (agenda due 28 October) for 11 November."""
    assert choose(calendar, "Wolverhampton", date(2026, 11, 2), Ledger()) == date(2026, 11, 11)
    # Coventry's next meeting, 10 November, has its agenda due on Tuesday 3 November.
    assert choose(calendar, "Coventry", date(2026, 11, 2), Ledger()) == date(2026, 11, 10)


def test_agenda_due_today_is_open_until_sent(calendar: Calendar) -> None:
    """GIVEN Wednesday 2026-11-04, the day the 11 November agenda is due
    WHEN a case is listed before and after that agenda is sent
    THEN it goes to 11 November, then (once sent) to 18 November."""
    today = date(2026, 11, 4)
    assert choose(calendar, "Wolverhampton", today, Ledger()) == date(2026, 11, 11)
    sent = Ledger(sent={date(2026, 11, 11)})
    assert choose(calendar, "Wolverhampton", today, sent) == date(2026, 11, 18)
    # Birmingham on Friday 18 December: the 29 December agenda is due today (over Christmas).
    assert choose(calendar, "Birmingham", date(2026, 12, 18), Ledger()) == date(2026, 12, 29)


def test_full_meeting_pushes_the_case_to_the_next(calendar: Calendar) -> None:
    """GIVEN the 11 and 18 November Wolverhampton meetings are full (20 of 20)
    WHEN a case is listed on 2026-11-02
    THEN it goes to 25 November, and the store was asked about each meeting in turn."""
    ledger = Ledger(full={date(2026, 11, 11), date(2026, 11, 18)})
    assert choose(calendar, "Wolverhampton", date(2026, 11, 2), ledger) == date(2026, 11, 25)
    assert ledger.asked == [
        ("Wolverhampton", date(2026, 11, 11)),
        ("Wolverhampton", date(2026, 11, 18)),
        ("Wolverhampton", date(2026, 11, 25)),
    ]


def test_nothing_within_the_horizon_gives_none(calendar: Calendar) -> None:
    """GIVEN every meeting full, or a horizon holding only a closed meeting
    WHEN a case is listed
    THEN there is no meeting."""

    class AllFull(Ledger):
        def listed(self, area: str, day: date) -> int:
            return 20

    assert choose(calendar, "Birmingham", date(2026, 11, 2), AllFull()) is None
    # Within 7 days of 2 November Wolverhampton meets only on the 4th, whose agenda has gone.
    assert choose(calendar, "Wolverhampton", date(2026, 11, 2), Ledger(), horizon_days=7) is None


def test_area_without_meetings_is_a_config_error(config: Config) -> None:
    """GIVEN a configuration without Walsall
    WHEN Walsall's meetings are asked for
    THEN a ConfigError names the area."""
    areas = {k: v for k, v in config.areas.items() if k != "Walsall"}
    calendar = Calendar(config.model_copy(update={"areas": areas}))
    with pytest.raises(ConfigError, match=r"areas\.Walsall"):
        calendar.meeting_on("Walsall", date(2026, 1, 8))
