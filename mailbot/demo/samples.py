"""Fictional but realistic MARAC referrals, for the demo and the tests.

The reader, the checks and the dispatch code all need complete referrals that look like the
ones partners send: names with accents, hyphens and apostrophes, West Midlands addresses
with postcodes of the right district, a referrer from one of the demo deployment's agencies.
Generating them from a seeded `random.Random` gives endless distinct cases that are the same
on every run, and the `with_*` helpers derive the broken variants a test needs (a missing
field, a low DASH score) in one line. Every person is made up; telephone numbers are in
Ofcom's ranges reserved for drama (07700 900xxx, 0121 496 0xxx), so none can be real.
"""

from __future__ import annotations

import random
import unicodedata
from datetime import date, timedelta

from mailbot import formdef
from mailbot.demo.sample_data import (
    AGENCIES,
    AREAS,
    DASH_PHRASES,
    ETHNICITIES,
    FEMALE_NAMES,
    MALE_NAMES,
    OTHER_AGENCIES,
    POSTCODE_LETTERS,
    PRIMARY_SCHOOLS,
    SAFEGUARDING_ACTIONS,
    SECONDARY_SCHOOLS,
    SURNAMES,
    Agency,
    Area,
)
from mailbot.models import ChildRow, DashAnswer, FormData

DEFAULT_REFERRAL_DATE = date(2026, 11, 2)


def _years_before(day: date, years: int) -> date:
    try:
        return day.replace(year=day.year - years)
    except ValueError:  # 29 February in a year that has none
        return day.replace(year=day.year - years, day=28)


def _birth_date(rng: random.Random, on: date, age: int) -> date:
    """A date of birth giving exactly `age` on `on`."""
    latest = _years_before(on, age)
    earliest = _years_before(on, age + 1) + timedelta(days=1)
    return earliest + timedelta(days=rng.randint(0, (latest - earliest).days))


def _uk(day: date) -> str:
    return day.strftime("%d/%m/%Y")


def _postcode(rng: random.Random, district: str) -> str:
    letters = "".join(rng.choice(POSTCODE_LETTERS) for _ in range(2))
    return f"{district} {rng.randint(0, 9)}{letters}"


def _address(rng: random.Random, area: Area) -> tuple[str, str]:
    """A multi-line street address (sometimes a flat) and its postcode."""
    town, districts = rng.choice(area.towns)
    street = f"{rng.randint(1, 240)} {rng.choice(area.streets)}"
    lines = [street, town] if rng.random() < 0.7 else [f"Flat {rng.randint(1, 12)}", street, town]
    return "\n".join(lines), _postcode(rng, rng.choice(districts))


def _fold(name: str) -> str:
    """siobhan from Siobhán, oneill from O'Neill: mail systems fold accents, drop the rest."""
    ascii_name = unicodedata.normalize("NFKD", name).encode("ascii", "ignore").decode()
    return "".join(c for c in ascii_name.lower() if c.isalnum() or c == "-")


def _mobile(rng: random.Random) -> str:
    return f"07700 900{rng.randint(0, 999):03d}"


def _agency(rng: random.Random, area: str, name: str | None, email: str | None) -> Agency:
    """The named agency, else the one owning the email's domain, else one working in `area`."""
    if name is not None:
        known = next((a for a in AGENCIES if a.name == name), None)
        return known or Agency(name, f"{_fold(name)}.org.uk", ("Support worker",))
    domain = (email or "").rpartition("@")[2].lower()
    owner = next((a for a in AGENCIES if a.domain == domain), None)
    return owner or rng.choice([a for a in AGENCIES if not a.areas or area in a.areas])


def _referrer(
    rng: random.Random, area: str, agency_name: str | None, email: str | None
) -> dict[str, str]:
    agency = _agency(rng, area, agency_name, email)
    forename = rng.choice(FEMALE_NAMES + MALE_NAMES)
    surname = rng.choice(SURNAMES)
    phone = f"0121 496 0{rng.randint(0, 999):03d}" if rng.random() < 0.6 else _mobile(rng)
    return {
        "referrer_name": f"{forename} {surname}",
        "referrer_agency": agency.name,
        "referrer_role": rng.choice(agency.roles),
        "referrer_email": email or f"{_fold(forename)}.{_fold(surname)}@{agency.domain}",
        "referrer_phone": phone,
        "referrer_attending": "Yes",
    }


def _school(rng: random.Random, age: int) -> str:
    if age < 2:
        return ""
    if age < 4:
        return "Little Acorns Nursery"
    return rng.choice(PRIMARY_SCHOOLS if age < 11 else SECONDARY_SCHOOLS)


def _children(
    rng: random.Random, on: date, victim_age: int, surnames: tuple[str, str]
) -> tuple[ChildRow, ...]:
    rows = []
    for _ in range(rng.choice((0, 0, 1, 1, 2, 3))):
        # The victim was at least 17 when the eldest was born.
        age = rng.randint(0, min(15, victim_age - 17))
        girl = rng.random() < 0.5
        rows.append(
            ChildRow(
                name=f"{rng.choice(FEMALE_NAMES if girl else MALE_NAMES)} {rng.choice(surnames)}",
                dob=_uk(_birth_date(rng, on, age)),
                gender="Female" if girl else "Male",
                school=_school(rng, age),
                relationship=f"{'Daughter' if girl else 'Son'} of {rng.choice(('both', 'victim'))}",
            )
        )
    return tuple(rows)


def _risks(phrases: list[str]) -> str:
    if not phrases:
        return "ongoing abuse"
    if len(phrases) == 1:
        return phrases[0]
    # The serial comma keeps "stalking and harassment" from running into the next risk.
    return f"{', '.join(phrases[:-1])}{',' if len(phrases) > 2 else ''} and {phrases[-1]}"


def _dash(rng: random.Random, dash_yes: int) -> tuple[dict[int, DashAnswer | None], list[int]]:
    yes = sorted(rng.sample(range(1, len(formdef.DASH_QUESTIONS) + 1), dash_yes))
    answers: dict[int, DashAnswer | None] = {}
    for number in range(1, len(formdef.DASH_QUESTIONS) + 1):
        other = DashAnswer.DONT_KNOW if rng.random() < 0.15 else DashAnswer.NO
        answers[number] = DashAnswer.YES if number in yes else other
    return answers, yes


def sample_form(
    rng: random.Random,
    *,
    area: str | None = None,
    dash_yes: int = 15,
    referral_date: date = DEFAULT_REFERRAL_DATE,
    incident_date: date | None = None,
    referrer_agency: str | None = None,
    referrer_email: str | None = None,
) -> FormData:
    """A complete, valid new referral accepted as visible high risk (if `dash_yes` >= 14).

    Every mandatory field is filled, the victim is 20-60 on `referral_date`, the incident two
    days earlier unless given, and exactly `dash_yes` DASH questions are answered Yes (the
    rest No or Don't know) with `dash_score` to match. The referrer comes from an agency of
    the demo deployment that works in the area, unless `referrer_agency`/`referrer_email`
    say otherwise (a known email domain implies its agency).
    """
    if area is not None and area not in formdef.AREAS:
        raise ValueError(f"unknown MARAC area {area!r}")
    if not 0 <= dash_yes <= len(formdef.DASH_QUESTIONS):
        raise ValueError(f"dash_yes must be 0-{len(formdef.DASH_QUESTIONS)}, not {dash_yes}")
    place = next(a for a in AREAS if a.name == area) if area else rng.choice(AREAS)
    incident = incident_date or referral_date - timedelta(days=2)
    victim_female = rng.random() < 0.85
    perp_female = victim_female if rng.random() < 0.1 else not victim_female
    victim_age = rng.randint(20, 60)
    perp_age = max(18, min(75, victim_age + rng.randint(-6, 9)))
    victim_name = rng.choice(FEMALE_NAMES if victim_female else MALE_NAMES)
    victim_surname, perp_surname = rng.sample(SURNAMES, 2)
    victim_address, victim_postcode = _address(rng, place)
    perp_address, perp_postcode = _address(rng, place)
    relationships = (
        ("Partner", "Ex-partner")
        if victim_female == perp_female
        else (
            "Partner",
            "Ex-partner",
            "Husband" if not perp_female else "Wife",
            "Boyfriend" if not perp_female else "Girlfriend",
        )
    )
    answers, yes = _dash(rng, dash_yes)
    risks = _risks([DASH_PHRASES[n][0] for n in yes if n in DASH_PHRASES][:3])
    commented = [n for n in yes if n in DASH_PHRASES and rng.random() < 0.4]
    referrer = _referrer(rng, place.name, referrer_agency, referrer_email)
    children = _children(rng, referral_date, victim_age, (victim_surname, perp_surname))
    values = {
        "referral_date": _uk(referral_date),
        "marac_area": place.name,
        "referral_type": "New referral",
        "incident_date": _uk(incident),
        **referrer,
        "victim_surname": victim_surname,
        "victim_forenames": victim_name,
        "victim_aliases": f"{victim_name} {rng.choice(SURNAMES)}" if rng.random() < 0.2 else "",
        "victim_dob": _uk(_birth_date(rng, referral_date, victim_age)),
        "victim_gender": "Female" if victim_female else "Male",
        "victim_address": victim_address,
        "victim_postcode": victim_postcode,
        "victim_safe_phone": _mobile(rng),
        "victim_ethnicity": rng.choice(ETHNICITIES),
        "victim_disability": rng.choice(("No", "No", "No", "Yes", "Not known")),
        "victim_interpreter": rng.choice(("No", "No", "No", "Yes - Polish", "Yes - Punjabi")),
        "victim_aware": "Yes",
        "perp_surname": perp_surname,
        "perp_forenames": rng.choice(FEMALE_NAMES if perp_female else MALE_NAMES),
        "perp_dob": _uk(_birth_date(rng, referral_date, perp_age)),
        "perp_gender": "Female" if perp_female else "Male",
        "perp_address": perp_address,
        "perp_postcode": perp_postcode,
        "perp_relationship": rng.choice(relationships),
        "dash_score": str(dash_yes),
        "police_callouts_12m": str(rng.randint(0, 2)),
        "risk_summary": f"{victim_name} reports {risks}; {dash_yes} Yes answers on the DASH"
        f" checklist after the incident on {_uk(incident)}.",
        "idva_status": "Referred to IDVA",
        "idva_service": place.idva_service,
        "other_agencies": ("Children's social care; " if children else "")
        + rng.choice(OTHER_AGENCIES),
        "safeguarding_actions": rng.choice(SAFEGUARDING_ACTIONS),
        "declaration_name": referrer["referrer_name"],
        "declaration_date": _uk(referral_date),
    }
    ticks = {reason.id: reason.id == "reason_visible_high_risk" for reason in formdef.REASONS}
    return FormData(
        values=values,
        ticks={formdef.NO_CHILDREN.id: not children, **ticks},
        dash=answers,
        dash_comments={n: DASH_PHRASES[n][1] for n in commented},
        children=children,
    )


def with_values(form: FormData, **values: str) -> FormData:
    """`form` with these fields set ("" to leave one empty)."""
    return form.model_copy(update={"values": {**form.values, **values}})


def with_ticks(form: FormData, **ticks: bool) -> FormData:
    """`form` with these tick boxes (`no_children`, `reason_*`) ticked or not."""
    return form.model_copy(update={"ticks": {**form.ticks, **ticks}})


def with_children(form: FormData, *children: ChildRow) -> FormData:
    """`form` with exactly these children, and 'No children' ticked only if there are none."""
    ticks = {**form.ticks, formdef.NO_CHILDREN.id: not children}
    return form.model_copy(update={"children": tuple(children), "ticks": ticks})


def with_dash_yes(form: FormData, n: int) -> FormData:
    """`form` with exactly `n` DASH Yes answers and a declared `dash_score` to match.

    Keeps as many of the existing Yes answers as it can: extra ones (the last first) become
    No, and missing ones are taken from the first questions not answered Yes.
    """
    total = len(formdef.DASH_QUESTIONS)
    if not 0 <= n <= total:
        raise ValueError(f"n must be 0-{total}, not {n}")
    dash = {q: form.dash.get(q) for q in range(1, total + 1)}
    yes = [q for q, a in dash.items() if a is DashAnswer.YES]
    for q in yes[n:]:
        dash[q] = DashAnswer.NO
    for q in [q for q, a in dash.items() if a is not DashAnswer.YES][: max(0, n - len(yes))]:
        dash[q] = DashAnswer.YES
    return with_values(form.model_copy(update={"dash": dash}), dash_score=str(n))
