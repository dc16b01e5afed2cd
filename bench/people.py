"""Made-up people for the benchmark: a 50,000-case MARAC history and the victims referred.

Repeat matching looks people up by date of birth and by normalised name, so its cost depends
on how many earlier hearings share a name. `mailbot.demo.samples` draws from 20 surnames (fine for
a dozen demo emails, but 50,000 cases would put ~125 hearings behind every name), so the
benchmark builds a pool of about 1,500 plausible English surnames from parts, which puts a
realistic handful of namesakes behind each new victim. Everyone here is fictional.
"""

from __future__ import annotations

import csv
import io
import random
from dataclasses import dataclass
from datetime import date, timedelta

from mailbot.cases.casebook import HISTORY_HEADER
from mailbot.demo.sample_data import FEMALE_NAMES, MALE_NAMES
from mailbot.formdef import AREAS

_STEMS = (
    "Ash",
    "Bar",
    "Black",
    "Brad",
    "Brook",
    "Cald",
    "Carl",
    "Chad",
    "Clay",
    "Cole",
    "Craw",
    "Dal",
    "Dun",
    "East",
    "Ell",
    "Fair",
    "Far",
    "Gar",
    "Glad",
    "Green",
    "Had",
    "Hal",
    "Hart",
    "Hay",
    "Hol",
    "Kings",
    "Lang",
    "Lee",
    "Lind",
    "Mar",
    "Mid",
    "Mill",
    "New",
    "North",
    "Oak",
    "Pem",
    "Red",
    "Rad",
    "Rush",
    "Sand",
    "Shel",
    "Stan",
    "Stock",
    "Sut",
    "Thorn",
    "Wal",
    "West",
    "Whit",
    "Wood",
    "Wy",
)
_ENDINGS = (
    "bury",
    "by",
    "croft",
    "den",
    "field",
    "ford",
    "gate",
    "ham",
    "hurst",
    "ington",
    "land",
    "ley",
    "low",
    "more",
    "ridge",
    "shaw",
    "stone",
    "ton",
    "well",
    "wick",
    "wood",
    "worth",
    "er",
    "ett",
    "ins",
    "man",
    "son",
    "s",
    "cott",
    "dale",
)
SURNAMES = tuple(stem + ending for stem in _STEMS for ending in _ENDINGS)
FORENAMES_F = (
    *FEMALE_NAMES,
    "Emma",
    "Sarah",
    "Laura",
    "Gemma",
    "Kelly",
    "Natalie",
    "Rachel",
    "Stacey",
    "Jade",
    "Amy",
    "Charlotte",
    "Hannah",
    "Sophie",
    "Danielle",
    "Lisa",
    "Michelle",
    "Nicola",
    "Samantha",
    "Zainab",
    "Harpreet",
)
FORENAMES_M = (
    *MALE_NAMES,
    "James",
    "Daniel",
    "Jamie",
    "Paul",
    "Mark",
    "Scott",
    "Adam",
    "Shane",
    "Jason",
    "Carl",
)


@dataclass(frozen=True)
class Person:
    surname: str
    forenames: str
    dob: date
    female: bool


def random_person(rng: random.Random, today: date, *, female: bool | None = None) -> Person:
    female = rng.random() < 0.85 if female is None else female
    age_days = rng.randint(18 * 365 + 5, 70 * 365)
    return Person(
        surname=rng.choice(SURNAMES),
        forenames=rng.choice(FORENAMES_F if female else FORENAMES_M),
        dob=today - timedelta(days=age_days),
        female=female,
    )


@dataclass(frozen=True)
class History:
    csv_text: str
    recent: tuple[Person, ...]  # heard within the last year: referring them again is a repeat


def make_history(count: int, today: date, seed: int) -> History:
    """`count` earlier MARAC cases over the last five years, as `cases import-history` CSV."""
    rng = random.Random(seed)  # noqa: S311 (fictional data)
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(HISTORY_HEADER)
    recent: list[Person] = []
    for n in range(count):
        victim = random_person(rng, today)
        perp = random_person(rng, today, female=not victim.female)
        heard = today - timedelta(days=rng.randint(30, 5 * 365))
        alias = f"{victim.forenames} {rng.choice(SURNAMES)}" if rng.random() < 0.1 else ""
        writer.writerow(
            (
                f"HIST-{n:06d}",
                rng.choice(AREAS),
                heard.isoformat(),
                victim.surname,
                victim.forenames,
                alias,
                victim.dob.isoformat(),
                perp.surname,
                perp.forenames,
                perp.dob.isoformat(),
            )
        )
        if (today - heard).days < 300 and len(recent) < 1000:
            recent.append(victim)
    return History(out.getvalue(), tuple(recent))
