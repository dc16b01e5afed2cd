"""Tests for the fictional referral generator and its variant helpers.

The demo and many other tests build on these referrals, so they must be complete, valid,
plausible and the same for the same seed.
"""

from __future__ import annotations

import random
import re
from datetime import date, datetime

import pytest

from mailbot import formdef
from mailbot.demo.sample_data import AGENCIES, AREAS
from mailbot.demo.samples import (
    sample_form,
    with_children,
    with_dash_yes,
    with_ticks,
    with_values,
)
from mailbot.formdef import Need
from mailbot.models import ChildRow, DashAnswer, FormData

SEEDS = range(60)
UK_DATE = re.compile(r"\d{2}/\d{2}/\d{4}")
POSTCODE = re.compile(r"(?P<district>[A-Z]{1,2}\d{1,2}) \d[ABD-HJLNP-UW-Z]{2}")
MOBILE = re.compile(r"07\d{3} \d{6}")
PHONE = re.compile(r"07\d{3} \d{6}|0121 \d{3} \d{4}")
EMAIL = re.compile(r"[a-z0-9.-]+@[a-z0-9.-]+\.[a-z]{2,}")


def _parse(value: str) -> date:
    assert UK_DATE.fullmatch(value), value
    return datetime.strptime(value, "%d/%m/%Y").date()


def _age(born: date, on: date) -> int:
    return on.year - born.year - ((on.month, on.day) < (born.month, born.day))


def _forms() -> list[FormData]:
    return [sample_form(random.Random(seed)) for seed in SEEDS]


def test_every_mandatory_field_is_filled() -> None:
    """GIVEN many seeds WHEN samples are made THEN every always-mandatory field has a value,
    the conditional ones are not triggered, and children are given or 'No children' ticked."""
    mandatory = [f.id for f in formdef.VALUE_FIELDS if f.need is Need.ALWAYS]
    for form in _forms():
        assert [f for f in mandatory if not form.value(f).strip()] == []
        assert form.value("referral_type") == "New referral"
        assert form.value("victim_aware") == "Yes"
        assert form.value("referrer_attending") == "Yes"
        assert form.value("idva_status") == "Referred to IDVA"
        assert form.ticked("no_children") == (not form.children)
        assert set(form.values) <= {f.id for f in formdef.VALUE_FIELDS}


def test_choices_are_from_the_form() -> None:
    """GIVEN many samples WHEN their drop-down fields are read THEN each value is a choice."""
    choice_fields = [f for f in formdef.VALUE_FIELDS if f.kind is formdef.Kind.CHOICE]
    for form in _forms():
        for field in choice_fields:
            assert form.value(field.id) in ("", *field.choices), field.id


def test_visible_high_risk_with_matching_dash_score() -> None:
    """GIVEN the default WHEN a sample is made THEN only visible high risk is ticked, exactly
    15 of 24 DASH answers are Yes, the rest No/Don't know, and the declared score matches."""
    for form in _forms():
        assert [r.id for r in formdef.REASONS if form.ticked(r.id)] == ["reason_visible_high_risk"]
        assert sorted(form.dash) == list(range(1, 25))
        assert form.dash_yes_count == 15
        assert set(form.dash.values()) <= {DashAnswer.YES, DashAnswer.NO, DashAnswer.DONT_KNOW}
        assert form.value("dash_score") == "15"
        assert set(form.dash_comments) <= {n for n, a in form.dash.items() if a is DashAnswer.YES}


@pytest.mark.parametrize("dash_yes", [0, 13, 14, 24])
def test_dash_yes_sets_the_number_of_yes_answers(dash_yes: int) -> None:
    """GIVEN a DASH Yes count WHEN a sample is made THEN exactly that many Yes and the score."""
    form = sample_form(random.Random(3), dash_yes=dash_yes)
    assert form.dash_yes_count == dash_yes
    assert form.value("dash_score") == str(dash_yes)


def test_people_are_of_plausible_ages() -> None:
    """GIVEN many samples WHEN dates are read THEN victims are 20-60, perpetrators adults,
    children under 16 born when the victim was 17 or older, all dates dd/mm/yyyy."""
    for form in _forms():
        on = _parse(form.value("referral_date"))
        victim_born = _parse(form.value("victim_dob"))
        assert 20 <= _age(victim_born, on) <= 60
        assert _age(_parse(form.value("perp_dob")), on) >= 18
        assert _parse(form.value("declaration_date")) == on
        assert 0 <= len(form.children) <= 3
        for child in form.children:
            assert child.name
            assert child.gender in ("Female", "Male")
            born = _parse(child.dob)
            assert 0 <= _age(born, on) <= 15
            assert _age(victim_born, born) >= 17


def test_dates_default_and_can_be_set() -> None:
    """GIVEN no dates, then explicit ones WHEN samples are made THEN the referral defaults to
    02/11/2026 with the incident two days earlier, and given dates are used as given."""
    default = sample_form(random.Random(1))
    assert (default.value("referral_date"), default.value("incident_date")) == (
        "02/11/2026",
        "31/10/2026",
    )
    given = sample_form(
        random.Random(1), referral_date=date(2026, 3, 1), incident_date=date(2026, 2, 20)
    )
    assert (given.value("referral_date"), given.value("incident_date")) == (
        "01/03/2026",
        "20/02/2026",
    )


@pytest.mark.parametrize("area", [a.name for a in AREAS])
def test_addresses_and_services_belong_to_the_area(area: str) -> None:
    """GIVEN an area WHEN samples are made THEN postcodes are of its districts, addresses end
    in one of its towns, the IDVA service is the area's and the referrer works there."""
    place = next(a for a in AREAS if a.name == area)
    districts = {d for _, ds in place.towns for d in ds}
    towns = {t for t, _ in place.towns}
    for seed in range(15):
        form = sample_form(random.Random(seed), area=area)
        assert form.value("marac_area") == area
        for who in ("victim", "perp"):
            match = POSTCODE.fullmatch(form.value(f"{who}_postcode"))
            assert match
            assert match["district"] in districts
            assert form.value(f"{who}_address").split("\n")[-1] in towns
        assert form.value("idva_service") == place.idva_service
        agency = next(a for a in AGENCIES if a.name == form.value("referrer_agency"))
        assert not agency.areas or area in agency.areas


def test_contact_details_have_real_formats() -> None:
    """GIVEN many samples WHEN contact details are read THEN phones are 07xxx/0121 numbers and
    the referrer's email is at their agency's domain."""
    for form in _forms():
        assert MOBILE.fullmatch(form.value("victim_safe_phone"))
        assert PHONE.fullmatch(form.value("referrer_phone"))
        email = form.value("referrer_email")
        assert EMAIL.fullmatch(email), email
        agency = next(a for a in AGENCIES if a.name == form.value("referrer_agency"))
        assert email.endswith("@" + agency.domain)
        assert form.value("declaration_name") == form.value("referrer_name")


def test_names_include_accents_hyphens_and_apostrophes() -> None:
    """GIVEN many samples WHEN all names are collected THEN the awkward kinds all occur."""
    names = " ".join(
        form.value(f)
        for form in _forms()
        for f in ("victim_forenames", "victim_surname", "perp_forenames", "perp_surname")
    )
    assert "'" in names
    assert re.search(r"\w-\w", names)
    assert re.search(r"[^\x00-\x7f]", names)


def test_referrer_can_be_chosen() -> None:
    """GIVEN a referrer agency and/or email WHEN a sample is made THEN they are used, and a
    known email domain implies its agency."""
    by_email = sample_form(random.Random(2), referrer_email="jo.bloggs@nhs.net")
    assert by_email.value("referrer_email") == "jo.bloggs@nhs.net"
    assert by_email.value("referrer_agency") == "The Royal Wolverhampton NHS Trust"
    stranger = sample_form(
        random.Random(2), referrer_email="someone@gmail.com", referrer_agency="Probation Service"
    )
    assert stranger.value("referrer_email") == "someone@gmail.com"
    assert stranger.value("referrer_agency") == "Probation Service"
    unknown = sample_form(random.Random(2), referrer_agency="Riverside Refuge")
    assert unknown.value("referrer_agency") == "Riverside Refuge"
    assert unknown.value("referrer_email").endswith("@riversiderefuge.org.uk")


def test_same_seed_same_referral_other_seed_other_referral() -> None:
    """GIVEN two generators with the same seed WHEN samples are made THEN they are equal,
    and different seeds give different people."""
    assert sample_form(random.Random(42)) == sample_form(random.Random(42))
    people = {
        (f.value("victim_forenames"), f.value("victim_surname"), f.value("victim_dob"))
        for f in _forms()
    }
    assert len(people) == len(SEEDS)


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"area": "Brum"}, "unknown MARAC area"),
        ({"dash_yes": 25}, "dash_yes"),
        ({"dash_yes": -1}, "dash_yes"),
    ],
)
def test_bad_arguments_are_refused(kwargs: dict[str, object], message: str) -> None:
    """GIVEN an unknown area or impossible DASH count WHEN a sample is asked for THEN ValueError."""
    with pytest.raises(ValueError, match=message):
        sample_form(random.Random(0), **kwargs)  # type: ignore[arg-type]


def test_with_values_and_ticks_derive_new_forms() -> None:
    """GIVEN a sample WHEN values and ticks are changed THEN a new form has them and the
    original is untouched."""
    form = sample_form(random.Random(5))
    broken = with_ticks(
        with_values(form, victim_dob="", marac_area="Brum"), reason_professional_judgement=True
    )
    assert (broken.value("victim_dob"), broken.value("marac_area")) == ("", "Brum")
    assert broken.ticked("reason_professional_judgement")
    assert broken.value("victim_surname") == form.value("victim_surname")
    assert form.value("victim_dob")
    assert not form.ticked("reason_professional_judgement")


def test_with_children_keeps_the_no_children_tick_consistent() -> None:
    """GIVEN a sample WHEN children are set or cleared THEN 'No children' follows."""
    form = sample_form(random.Random(5))
    one = with_children(form, ChildRow(name="Renée Smith-Jones", dob="01/02/2018"))
    assert [c.name for c in one.children] == ["Renée Smith-Jones"]
    assert not one.ticked("no_children")
    none = with_children(one)
    assert none.children == ()
    assert none.ticked("no_children")


@pytest.mark.parametrize("n", [0, 10, 15, 20, 24])
def test_with_dash_yes_keeps_existing_answers_where_it_can(n: int) -> None:
    """GIVEN a sample with 15 Yes WHEN set to n Yes THEN exactly n, score n, and the Yes
    answers kept are the original ones (dropping from the end, adding from the start)."""
    form = sample_form(random.Random(9))
    before = [q for q, a in sorted(form.dash.items()) if a is DashAnswer.YES]
    after = with_dash_yes(form, n)
    now = [q for q, a in sorted(after.dash.items()) if a is DashAnswer.YES]
    assert after.dash_yes_count == n
    assert after.value("dash_score") == str(n)
    assert set(before[:n]) <= set(now)
    assert form.dash_yes_count == 15
    with pytest.raises(ValueError, match="n must be"):
        with_dash_yes(form, 25)
