"""Field checks, threshold, age, repeats and the final decision, as pure functions."""

from __future__ import annotations

import random
from datetime import date

import pytest

from mailbot.config import ThresholdSettings
from mailbot.demo.samples import sample_form, with_children, with_dash_yes, with_ticks, with_values
from mailbot.models import ChildRow, DashAnswer, Decision, FormData, HistoryEntry, Outcome, Person
from mailbot.validate.decide import decide
from mailbot.validate.fields import check_fields
from mailbot.validate.repeats import RepeatMatch, match_history

TODAY = date(2026, 11, 2)
RULES = ThresholdSettings()


def good(seed: int = 7, **kw: object) -> FormData:
    return sample_form(random.Random(seed), referral_date=TODAY, **kw)  # type: ignore[arg-type]


def decision_for(
    form: FormData,
    *,
    history: list[HistoryEntry] | None = None,
    duplicate_of: str | None = None,
    below: str = "return",
    insecure: bool = False,
) -> Decision:
    report = check_fields(form, today=TODAY)
    repeat = RepeatMatch()
    facts = report.facts
    if history and facts.victim and facts.incident_date:
        repeat = match_history(facts.victim, facts.incident_date, history)
    return decide(
        form,
        report,
        repeat,
        duplicate_of=duplicate_of,
        today=TODAY,
        rules=RULES,
        below_threshold=below,
        insecure=insecure,
    )


def test_a_complete_form_has_no_field_problems() -> None:
    """GIVEN a complete sample referral
    WHEN its fields are checked
    THEN there are no codes and the facts are typed."""
    report = check_fields(good(), today=TODAY)
    assert report.codes == ()
    assert report.facts.referral_date == TODAY
    assert report.facts.area is not None
    assert report.facts.victim is not None


@pytest.mark.parametrize(
    "field_id",
    [
        "referral_date",
        "marac_area",
        "victim_surname",
        "victim_dob",
        "victim_postcode",
        "perp_relationship",
        "risk_summary",
        "idva_status",
        "declaration_name",
        "referrer_email",
        "victim_aware",
    ],
)
def test_each_empty_mandatory_field_is_named(field_id: str) -> None:
    """GIVEN a form with one mandatory field empty
    WHEN checked
    THEN exactly that field is reported missing."""
    codes = check_fields(with_values(good(), **{field_id: ""}), today=TODAY).codes
    assert codes == (f"missing_field:{field_id}",)


def test_not_known_is_an_answer_only_where_the_form_allows_it() -> None:
    """GIVEN 'N/K' typed in perp_dob (allowed) and victim_dob (not allowed)
    WHEN checked
    THEN only the victim's date of birth is missing."""
    form = with_values(good(), perp_dob="N/K", perp_address="not known", victim_dob="unknown")
    assert check_fields(form, today=TODAY).codes == ("missing_field:victim_dob",)


@pytest.mark.parametrize(
    ("field_id", "value"),
    [
        ("referral_date", "31/02/2026"),
        ("incident_date", "01/01/2027"),
        ("victim_dob", "01/01/1890"),
        ("referrer_email", "not an address"),
        ("victim_postcode", "WV99"),
        ("marac_area", "Brum"),
        ("marac_area", "Wolves"),
        ("dash_score", "fifteen"),
        ("victim_gender", "Woman?"),
        ("police_callouts_12m", "2.5"),
    ],
)
def test_field_checks_name_the_invalid_field(field_id: str, value: str) -> None:
    """GIVEN a value that fails its field's check
    WHEN checked
    THEN invalid_field names that field."""
    codes = check_fields(with_values(good(), **{field_id: value}), today=TODAY).codes
    assert f"invalid_field:{field_id}" in codes


def test_lenient_spellings_are_accepted() -> None:
    """GIVEN a lower-case area, a postcode without a space and a future due date
    WHEN checked
    THEN none is a problem."""
    form = with_values(
        good(area="Birmingham"),
        marac_area="birmingham",
        victim_postcode="b112aa",
        pregnancy_due_date="01/03/2027",
    )
    assert check_fields(form, today=TODAY).codes == ()


def test_conditional_fields_follow_their_conditions() -> None:
    """GIVEN a repeat referral, a referrer not attending and a victim not aware, all blank
    WHEN checked
    THEN each dependent field is missing."""
    form = with_values(
        good(), referral_type="Repeat referral", referrer_attending="No", victim_aware="No"
    )
    codes = check_fields(form, today=TODAY).codes
    assert {
        "missing_field:previous_marac_date",
        "missing_field:repeat_needs_discussion",
        "missing_field:presenter_name",
        "missing_field:victim_not_aware_reason",
    } <= set(codes)


def test_children_rows_need_names_and_dates_of_birth() -> None:
    """GIVEN children rows missing a name, a DOB, and one with a bad DOB
    WHEN checked
    THEN each problem is one code; an empty table needs the 'no children' tick."""
    form = with_children(
        good(),
        ChildRow(name="", dob="01/01/2015"),
        ChildRow(name="Amy Smith", dob=""),
        ChildRow(name="Bo Smith", dob="32/01/2015"),
    )
    codes = check_fields(form, today=TODAY).codes
    assert {
        "missing_field:child_name",
        "missing_field:child_dob",
        "invalid_field:child_dob",
    } <= set(codes)
    none = with_ticks(with_children(good()), no_children=False)
    assert "missing_field:children" in check_fields(none, today=TODAY).codes


def test_visible_high_risk_is_counted_from_ticks_not_the_declared_score() -> None:
    """GIVEN 13 Yes ticks but a declared score of 15
    WHEN decided
    THEN the threshold is not met and the mismatch is a warning."""
    form = with_values(with_dash_yes(good(), 13), dash_score="15")
    d = decision_for(form)
    assert d.outcome is Outcome.RETURNED
    assert "threshold_not_met" in d.reasons
    assert "dash_score_mismatch" in d.warnings


def test_fourteen_ticks_meet_the_threshold() -> None:
    """GIVEN exactly 14 Yes ticks
    WHEN decided
    THEN the case is accepted on visible high risk."""
    d = decision_for(with_dash_yes(good(), 14))
    assert d.outcome is Outcome.ACCEPTED
    assert d.criteria == ("visible_high_risk",)


def test_professional_judgement_needs_twenty_words() -> None:
    """GIVEN professional judgement ticked with 19 and then 20 words of rationale
    WHEN decided
    THEN 19 words is invalid and not met; 20 is accepted."""
    base = with_ticks(
        with_dash_yes(good(), 5), reason_visible_high_risk=False, reason_professional_judgement=True
    )
    short = decision_for(with_values(base, pj_rationale=" ".join(["word"] * 19)))
    assert short.outcome is Outcome.RETURNED
    assert {"invalid_field:pj_rationale", "threshold_not_met"} <= set(short.reasons)
    long = decision_for(with_values(base, pj_rationale=" ".join(["word"] * 20)))
    assert long.outcome is Outcome.ACCEPTED
    assert long.criteria == ("professional_judgement",)


def test_escalation_needs_three_callouts() -> None:
    """GIVEN escalation ticked with 2 and then 3 police call-outs
    WHEN decided
    THEN only 3 meets the escalation criterion."""
    base = with_ticks(
        with_dash_yes(good(), 5), reason_visible_high_risk=False, reason_escalation=True
    )
    assert decision_for(with_values(base, police_callouts_12m="2")).outcome is Outcome.RETURNED
    d = decision_for(with_values(base, police_callouts_12m="3"))
    assert d.outcome is Outcome.ACCEPTED
    assert d.criteria == ("escalation",)


def test_no_reason_ticked_is_returned_with_the_threshold() -> None:
    """GIVEN no reason ticked and 9 Yes answers
    WHEN decided
    THEN both no_reason_ticked and threshold_not_met are returned."""
    form = with_ticks(with_dash_yes(good(), 9), reason_visible_high_risk=False)
    d = decision_for(form)
    assert d.outcome is Outcome.RETURNED
    assert set(d.reasons) == {"no_reason_ticked", "threshold_not_met"}


def test_chair_review_policy_holds_a_below_threshold_referral() -> None:
    """GIVEN a below-threshold referral in an area whose Chair decides
    WHEN decided
    THEN it is held for chair_review, but field problems are still returned."""
    form = with_ticks(with_dash_yes(good(), 9), reason_visible_high_risk=False)
    held = decision_for(form, below="chair_review")
    assert held.outcome is Outcome.HELD
    assert held.reasons[0] == "chair_review"
    broken = decision_for(with_values(form, victim_dob=""), below="chair_review")
    assert broken.outcome is Outcome.RETURNED


@pytest.mark.parametrize(
    ("dob", "outcome", "code"),
    [
        ("03/11/2010", Outcome.RETURNED, "victim_under_16"),
        ("02/11/2010", Outcome.ACCEPTED, "young_person"),
        ("02/11/2008", Outcome.ACCEPTED, None),
    ],
)
def test_age_on_the_referral_date(dob: str, outcome: Outcome, code: str | None) -> None:
    """GIVEN victims of 15, 16 and 18 on the referral date
    WHEN decided
    THEN under 16 is returned, 16-17 accepted with young_person, 18 plain accepted."""
    d = decision_for(with_values(good(), victim_dob=dob))
    assert d.outcome is outcome
    if code == "victim_under_16":
        assert code in d.reasons
    elif code:
        assert code in d.warnings
    else:
        assert "young_person" not in d.warnings


def _hearing(form: FormData, ref: str, heard: date, **changes: object) -> HistoryEntry:
    report = check_fields(form, today=TODAY)
    assert report.facts.victim is not None
    person = report.facts.victim.model_copy(update=changes)
    return HistoryEntry(reference=ref, area="Wolverhampton", marac_date=heard, person=person)


def test_an_undeclared_repeat_is_detected() -> None:
    """GIVEN the same victim heard 4 months ago
    WHEN a new referral for her is decided
    THEN it is a repeat: repeat_detected, repeat criterion, repeat_of the old case."""
    form = good()
    d = decision_for(form, history=[_hearing(form, "OLD-1", date(2026, 7, 1))])
    assert d.outcome is Outcome.ACCEPTED
    assert "repeat_detected" in d.warnings
    assert "repeat" in d.criteria
    assert d.repeat_of == "OLD-1"


def test_a_hearing_outside_twelve_months_is_not_a_repeat() -> None:
    """GIVEN the same victim heard 13 months before the incident
    WHEN decided
    THEN it is not a repeat."""
    form = good()
    d = decision_for(form, history=[_hearing(form, "OLD-1", date(2025, 9, 1))])
    assert d.repeat_of is None
    assert "repeat_detected" not in d.warnings


def test_aliases_and_typing_differences_still_match() -> None:
    """GIVEN the earlier hearing under an alias the new form lists
    WHEN matched
    THEN it is the same person."""
    form = with_values(good(), victim_aliases="Jo Bloggs-Smith")
    hearing = _hearing(
        form, "OLD-2", date(2026, 8, 1), forenames="Jo", surname="Bloggs Smith", aliases=()
    )
    d = decision_for(form, history=[hearing])
    assert d.repeat_of == "OLD-2"


def test_near_matches_are_held_for_an_administrator() -> None:
    """GIVEN an earlier hearing with the same DOB and surname but another forename
    WHEN decided
    THEN the referral is held as possible_repeat naming the candidate."""
    form = good()
    hearing = _hearing(form, "OLD-3", date(2026, 8, 1), forenames="Zelda")
    d = decision_for(form, history=[hearing])
    assert d.outcome is Outcome.HELD
    assert d.reasons == ("possible_repeat",)
    assert d.possible_repeats == ("OLD-3",)


def test_same_name_with_one_dob_part_different_is_a_near_match() -> None:
    """GIVEN the same name with the birth year one off
    WHEN decided
    THEN it is a possible repeat, not a certain one."""
    form = good()
    report = check_fields(form, today=TODAY)
    assert report.facts.victim
    assert report.facts.victim.dob
    dob = report.facts.victim.dob
    d = decision_for(
        form,
        history=[_hearing(form, "OLD-4", date(2026, 8, 1), dob=dob.replace(year=dob.year - 1))],
    )
    assert d.reasons == ("possible_repeat",)


def test_repeat_not_needing_discussion_is_information_only() -> None:
    """GIVEN a declared repeat whose referrer says no further discussion is needed
    WHEN decided
    THEN it is listed for information only."""
    form = with_values(
        with_ticks(good(), reason_repeat=True),
        referral_type="Repeat referral",
        previous_marac_date="01/08/2026",
        repeat_needs_discussion="No",
    )
    d = decision_for(form)
    assert d.outcome is Outcome.INFO_ONLY
    assert "repeat" in d.criteria


def test_fourth_marac_in_six_months_adds_desktop_review() -> None:
    """GIVEN three hearings of the victim in the last six months
    WHEN a fourth referral is decided
    THEN desktop_review is added."""
    form = good()
    history = [_hearing(form, f"OLD-{m}", date(2026, m, 15)) for m in (6, 8, 10)]
    d = decision_for(form, history=history)
    assert "desktop_review" in d.warnings
    assert "desktop_review" not in decision_for(form, history=history[1:]).warnings


def test_a_duplicate_is_only_answered_as_a_duplicate() -> None:
    """GIVEN a referral already received
    WHEN decided
    THEN it is returned as duplicate of the original and nothing else."""
    d = decision_for(good(), duplicate_of="MARAC-2026-00001")
    assert d.outcome is Outcome.RETURNED
    assert d.reasons == ("duplicate",)
    assert d.duplicate_of == "MARAC-2026-00001"


def test_dash_rows_with_no_answer_do_not_count() -> None:
    """GIVEN 14 Yes answers where one row has no answer at all
    WHEN counted
    THEN only clear Yes ticks count."""
    form = with_dash_yes(good(), 14)
    first_yes = next(q for q, a in form.dash.items() if a is DashAnswer.YES)
    blanked = form.model_copy(update={"dash": {**form.dash, first_yes: None}})
    assert blanked.dash_yes_count == 13
    assert decision_for(blanked).outcome is Outcome.RETURNED


def test_a_person_without_dob_never_matches() -> None:
    """GIVEN history and a victim whose DOB is unknown
    WHEN matched
    THEN nothing matches (a name alone is not enough)."""
    person = Person(surname="Begum", forenames="Tamsin", dob=None)
    other = HistoryEntry(
        reference="X",
        area=None,
        marac_date=date(2026, 10, 1),
        person=Person(surname="Begum", forenames="Tamsin", dob=date(1981, 6, 10)),
    )
    assert match_history(person, TODAY, [other]).exact == ()
