"""Dates typed the UK way, and names normalised for matching."""

from __future__ import annotations

from datetime import date

import pytest

from mailbot.validate.dates import add_months, age_on, parse_date
from mailbot.validate.names import full_name_key, name_key, split_aliases, victim_key

TODAY = date(2026, 11, 2)


@pytest.mark.parametrize(
    "text",
    [
        "03/07/1991",
        "3/7/91",
        "3 July 1991",
        "03.07.1991",
        "1991-07-03",
        "3rd Jul 1991",
        "03-07-1991",
        " 3 / 7 / 1991 ",
        "3 july, 1991",
    ],
)
def test_every_listed_date_style_reads_day_first(text: str) -> None:
    """GIVEN a date typed in one of the styles partners use
    WHEN it is parsed
    THEN it is 3 July 1991 (day first, never the American reading)."""
    assert parse_date(text, today=TODAY) == date(1991, 7, 3)


@pytest.mark.parametrize(
    "text",
    ["7", "Tuesday", "31/02/2020", "2020", "13/13/2013", "N/K", "03/07", "next week", "1991-7"],
)
def test_things_that_are_not_dates_are_refused(text: str) -> None:
    """GIVEN text that is not a whole, real date
    WHEN it is parsed
    THEN no date is guessed."""
    assert parse_date(text, today=TODAY) is None


def test_two_digit_years_never_land_in_the_future() -> None:
    """GIVEN two-digit years either side of this year
    WHEN parsed on 2 Nov 2026
    THEN 26 is 2026 and 27 is 1927."""
    assert parse_date("1/1/26", today=TODAY) == date(2026, 1, 1)
    assert parse_date("1/1/27", today=TODAY) == date(1927, 1, 1)


def test_months_and_ages_are_calendar_exact() -> None:
    """GIVEN month ends and birthdays
    WHEN months are added and ages computed
    THEN days clamp to the month end and birthdays count only once reached."""
    assert add_months(date(2026, 3, 31), -1) == date(2026, 2, 28)
    assert add_months(date(2026, 11, 2), -12) == date(2025, 11, 2)
    assert age_on(date(2010, 11, 3), TODAY) == 15
    assert age_on(date(2010, 11, 2), TODAY) == 16


def test_names_match_across_case_spaces_accents_hyphens() -> None:
    """GIVEN the same name typed differently
    WHEN normalised
    THEN the keys are equal, and different names stay different."""
    assert name_key("Siobhán Mc-Kenna") == name_key("siobhan mckenna")
    assert name_key("O'Neill") == name_key("ONeill")
    assert full_name_key("Mary Jane", "Smith-Jones") == full_name_key("Mary-Jane", "Smith Jones")
    assert name_key("Tamsin") != name_key("Tasmin")


def test_aliases_split_and_victim_key_is_opaque() -> None:
    """GIVEN an aliases field and a victim
    WHEN split and keyed
    THEN each alias stands alone and the key reveals no name."""
    assert split_aliases("Tammy Begum; T. Begum\nTam") == ("Tammy Begum", "T. Begum", "Tam")
    key = victim_key("Tamsin", "Begum", date(1981, 6, 10))
    assert "begum" not in key.lower()
    assert len(key) == 64
    assert key == victim_key("TAMSIN", "begum", date(1981, 6, 10))
