"""Cases end to end: one victim referred by several agencies, hearings, duplicates.

After a serious incident police, health, housing and children's services often all refer the
same victim within days. Each scenario here sends real referral emails from the example
configuration's real agencies through the daemon, with the fixed clock moved as the days
pass, and checks what a coordinator would see: one case per victim, listed once, and a
repeat only once a meeting has really taken place.
"""

from __future__ import annotations

import json
from datetime import date, datetime, timedelta
from pathlib import Path

import pytest
from click.testing import CliRunner

from mailbot.actions import link_repeat, list_at
from mailbot.app import App
from mailbot.cases.casebook import CaseRecord
from mailbot.cli import main
from mailbot.demo.formwriter import render_form
from mailbot.demo.samples import with_dash_yes, with_values
from mailbot.meetings.agendas import Agendas
from mailbot.meetings.minutes_jobs import Minutes
from mailbot.models import FormData, Outcome
from tests.conftest import NOW, FixedClock
from tests.integration.conftest import Send
from tests.integration.held import below, outbox
from tests.integration.papers import (
    AFTER_MEETING,
    MEETING,
    POLICE,
    Run,
    docx_lines,
    wolverhampton_form,
)
from tests.pdfs import make_pdf

NHS = "safeguarding@nhs.net"  # The Royal Wolverhampton NHS Trust (secure domain)
SANDWELL = "asc.duty@sandwell.gov.uk"  # Sandwell Council Adult Social Care (marked secure)
PROBATION = "wolverhampton.pdu@justice.gov.uk.cjsm.net"  # Probation Service (cjsm)
OTHER_OFFICER = "pc.baker@west-midlands.pnn.police.uk"
IDVA = "idva@havenwolverhampton.cjsm.net"
AGENCIES = {
    NHS: "The Royal Wolverhampton NHS Trust",
    SANDWELL: "Sandwell Council Adult Social Care",
    PROBATION: "Probation Service",
    OTHER_OFFICER: "West Midlands Police",
}


def by(base: FormData, sender: str, **values: str) -> FormData:
    """The same victim and incident, referred by another agency's worker."""
    return with_values(
        base,
        referrer_email=sender,
        referrer_agency=AGENCIES[sender],
        referrer_name=f"Worker {sender.partition('@')[0]}",
        **values,
    )


def refer(send: Send, run: Run, sender: str, form: FormData) -> CaseRecord:
    message_id = send(sender, render_form(form))
    return run()[message_id]


def text_of(app: App, reference: str, kind: str) -> str:
    assert app.ctx.dispatch is not None
    found = [m.raw.decode() for m in app.ctx.dispatch.outbox.messages(reference) if m.kind == kind]
    assert found, f"no {kind} for {reference}"
    return "\n".join(found)


def agenda_text(app: App, day: date = MEETING) -> str:
    document = Agendas(app.ctx).preview("Wolverhampton", day)
    assert document is not None
    return "\n".join(docx_lines(document))


def load(app: App, day: date = MEETING) -> tuple[int, int]:
    found = [
        m
        for m in app.ctx.listings.upcoming(NOW.date(), 40, "Wolverhampton")
        if m.meeting.date == day
    ]
    return (found[0].discussion, found[0].information) if found else (0, 0)


def later(clock: FixedClock, days: float) -> None:
    clock.current += timedelta(days=days)


def test_two_agencies_in_one_week_make_one_case(
    app: App, send: Send, run: Run, clock: FixedClock, workspace: Path
) -> None:
    """GIVEN a victim referred by the police on Monday
    WHEN the NHS trust refers her for the same incident on Wednesday
    THEN the second referral joins the first case: its own reference and outcome, not a
    repeat, listed at the same meeting; its referrer is told the victim is already listed;
    the IDVA service gets a note of the additional referral, not a second new-case alert;
    the meeting counts one case and the agenda shows one entry naming both agencies."""
    base = wolverhampton_form(501)
    first = refer(send, run, POLICE, base)
    later(clock, 2)
    second = refer(send, run, NHS, by(base, NHS))

    assert first.decision.outcome is Outcome.ACCEPTED
    assert second.decision.outcome is Outcome.ACCEPTED
    assert second.reference != first.reference
    assert second.joined == first.reference
    assert second.case == first.reference
    assert second.decision.repeat_of is None
    assert "repeat_detected" not in second.decision.warnings
    assert first.meeting_date == second.meeting_date == MEETING
    assert outbox(app, second.reference) == [("confirmation", NHS), ("idva_additional", IDVA)]
    confirmation = text_of(app, second.reference, "confirmation")
    assert f"already listed at this meeting (case {first.reference})" in confirmation
    assert "bring your agency's information" in confirmation
    additional = text_of(app, second.reference, "idva_additional")
    assert first.reference in additional
    assert "not a new case" in additional
    assert load(app) == (1, 0)
    agenda = agenda_text(app)
    assert agenda.count("Case reference") == 1
    assert "West Midlands Police; The Royal Wolverhampton NHS Trust" in agenda
    assert f"{first.reference}, {second.reference}" in agenda
    listed = CliRunner().invoke(
        main, ["--config", str(workspace / "mailbot.toml"), "cases", "list", "--json"]
    )
    rows = {r["reference"]: r for r in json.loads(listed.output)}
    assert rows[second.reference]["joined"] == first.reference
    assert rows[first.reference]["joined"] is None
    assert rows[second.reference]["outcome"] == "accepted"


def test_three_agencies_one_below_the_threshold_all_join(
    app: App, send: Send, run: Run, clock: FixedClock
) -> None:
    """GIVEN a victim's case opened by the police
    WHEN the NHS trust refers her too, then probation with only 5 DASH ticks
    THEN all three are one case: the third is not returned (nor held for the Chair, as
    Wolverhampton's below-threshold policy would) but joins, with a warning that says so."""
    base = wolverhampton_form(502)
    first = refer(send, run, POLICE, base)
    later(clock, 1)
    second = refer(send, run, NHS, by(base, NHS))
    later(clock, 1)
    third = refer(send, run, PROBATION, below(with_dash_yes(by(base, PROBATION), 5)))

    assert second.joined == third.joined == first.reference
    assert third.decision.outcome is Outcome.ACCEPTED
    assert third.decision.criteria == ()
    assert "below_threshold_joined" in third.decision.warnings
    assert "threshold_not_met" not in third.decision.reasons
    assert third.decision.repeat_of is None
    assert load(app) == (1, 0)
    assert agenda_text(app).count("Case reference") == 1
    assert "does not meet the MARAC threshold" in text_of(app, third.reference, "confirmation")


def test_four_referrals_in_one_week_are_no_desktop_review(
    app: App, send: Send, run: Run, clock: FixedClock
) -> None:
    """GIVEN four agencies referring the same victim for one incident within a week
    WHEN the fourth is decided
    THEN none is a repeat and none is a desktop review: no meeting has taken place."""
    base = wolverhampton_form(503)
    cases = [refer(send, run, POLICE, base)]
    for sender in (NHS, PROBATION, SANDWELL):
        later(clock, 1)
        cases.append(refer(send, run, sender, by(base, sender)))
    assert all(c.decision.outcome is Outcome.ACCEPTED for c in cases)
    assert all("desktop_review" not in c.decision.warnings for c in cases)
    assert all(c.decision.repeat_of is None for c in cases)
    assert {c.case for c in cases} == {cases[0].reference}
    assert load(app) == (1, 0)
    idva = [kind for c in cases for kind, _ in outbox(app, c.reference) if "idva" in kind]
    assert idva == ["idva_alert", "idva_additional", "idva_additional", "idva_additional"]


def test_the_same_agency_twice_is_a_duplicate_even_edited(app: App, send: Send, run: Run) -> None:
    """GIVEN a police referral accepted
    WHEN the same officer sends a slightly edited form for the same victim and incident,
    and a colleague at the same agency sends their own
    THEN both are duplicates of the first (same victim, incident and configured agency),
    whatever the document."""
    base = wolverhampton_form(504)
    first = refer(send, run, POLICE, base)
    edited = refer(send, run, POLICE, with_values(base, risk_summary="Edited: more detail."))
    colleague = refer(send, run, OTHER_OFFICER, by(base, OTHER_OFFICER))
    for again in (edited, colleague):
        assert again.decision.outcome is Outcome.RETURNED
        assert again.decision.reasons == ("duplicate",)
        assert again.decision.duplicate_of == first.reference
    assert load(app) == (1, 0)


def test_an_unconfigured_sender_twice_is_a_duplicate(app: App, send: Send, run: Run) -> None:
    """GIVEN a referral from an address of no configured agency
    WHEN the same sender sends an edited form for the same victim and incident
    THEN it is a duplicate (the sender's address is who referred)."""
    gmail = "worried.worker@gmail.com"
    base = with_values(wolverhampton_form(505), referrer_email=gmail)
    first = refer(send, run, gmail, base)
    again = refer(send, run, gmail, with_values(base, risk_summary="Second try."))
    assert first.decision.outcome is Outcome.ACCEPTED
    assert again.decision.reasons == ("duplicate",)
    assert again.decision.duplicate_of == first.reference


@pytest.mark.parametrize(
    ("heard", "repeat"),
    [
        ("2025-10-31", True),  # 12 months before the incident of 31 October 2026
        ("2025-10-30", False),  # a day more
        ("2025-11-01", True),  # a day less
        ("2026-10-31", True),  # on the incident's day
        ("2026-11-01", False),  # after the incident: a later meeting, not this incident's past
    ],
)
def test_a_repeat_is_a_hearing_within_twelve_months_before_the_incident(
    app: App, send: Send, run: Run, heard: str, repeat: bool
) -> None:
    """GIVEN an imported hearing of the victim on `heard`
    WHEN she is referred for an incident on 31 October 2026
    THEN it is a repeat exactly when the hearing was held in the 12 months before the
    incident, the incident's own day included."""
    base = wolverhampton_form(506)
    assert base.value("incident_date") == "31/10/2026"
    dob = "-".join(reversed(base.value("victim_dob").split("/")))
    app.casebook.import_history(
        "reference,marac_area,marac_date,victim_surname,victim_forenames,victim_aliases,"
        "victim_dob,perp_surname,perp_forenames,perp_dob\n"
        f"OLD-1,Wolverhampton,{heard},{base.value('victim_surname')},"
        f"{base.value('victim_forenames')},,{dob},,,\n"
    )
    case = refer(send, run, POLICE, base)
    assert case.decision.outcome is Outcome.ACCEPTED
    assert (case.decision.repeat_of == "OLD-1") is repeat
    assert ("repeat_detected" in case.decision.warnings) is repeat


def test_a_moved_listing_is_never_a_hearing(
    app: App, send: Send, run: Run, clock: FixedClock
) -> None:
    """GIVEN a case listed on 11 November, then moved by an administrator to 18 November
    WHEN, on 12 November, another agency refers the victim for a new incident
    THEN it joins the case (still to be heard on the 18th), not a repeat of the 11th."""
    base = wolverhampton_form(507)
    first = refer(send, run, POLICE, base)
    list_at(app.ctx, first.reference, date(2026, 11, 18), "admin")
    clock.current = datetime(2026, 11, 12, 10, 0, tzinfo=NOW.tzinfo)
    second = refer(
        send, run, NHS, by(base, NHS, incident_date="11/11/2026", referral_date="12/11/2026")
    )
    assert second.joined == first.reference
    assert second.decision.repeat_of is None
    assert second.meeting_date == date(2026, 11, 18)
    states = app.store.conn.execute(
        "SELECT meeting_date, state FROM listings WHERE case_ref = ? ORDER BY id",
        (first.reference,),
    ).fetchall()
    assert states == [("2026-11-11", "moved"), ("2026-11-18", "listed")]


def test_a_listing_becomes_a_hearing_once_its_date_has_passed(
    app: App, send: Send, run: Run, clock: FixedClock
) -> None:
    """GIVEN a case listed on 11 November
    WHEN the clock moves to 12 November and another agency refers the victim for an
    incident on the 11th
    THEN the meeting has taken place: the new referral opens a new case, a repeat of it."""
    base = wolverhampton_form(508)
    first = refer(send, run, POLICE, base)
    clock.current = datetime(2026, 11, 12, 10, 0, tzinfo=NOW.tzinfo)
    second = refer(
        send, run, NHS, by(base, NHS, incident_date="11/11/2026", referral_date="12/11/2026")
    )
    assert second.joined is None
    assert second.case == second.reference
    assert second.decision.repeat_of == first.reference
    assert "repeat_detected" in second.decision.warnings
    assert "repeat" in second.decision.criteria
    assert second.meeting_date == date(2026, 11, 25)  # the 18th's agenda closed on the 11th


def test_a_listing_becomes_a_hearing_once_its_minutes_are_sent(
    app: App, send: Send, run: Run, clock: FixedClock, tmp_path: Path
) -> None:
    """GIVEN a case heard at the 11 November meeting, on that afternoon
    WHEN a referral of the victim arrives before the minutes are sent, and another after
    THEN the first still joins the case; the second, once the minutes are sent, is a repeat."""
    base = wolverhampton_form(509)
    first = refer(send, run, POLICE, base)
    clock.current = AFTER_MEETING
    same_day = by(base, NHS, incident_date="11/11/2026", referral_date="11/11/2026")
    before = refer(send, run, NHS, same_day)
    assert before.joined == first.reference
    folder = tmp_path / "minutes"
    folder.mkdir()
    (folder / f"{first.reference}.pdf").write_bytes(make_pdf("Minutes", extra_bytes=100))
    Minutes(app.ctx).send("Wolverhampton", MEETING, folder, actor="admin", now=AFTER_MEETING)
    after = refer(
        send,
        run,
        SANDWELL,
        by(base, SANDWELL, incident_date="11/11/2026", referral_date="11/11/2026"),
    )
    assert after.joined is None
    assert after.decision.repeat_of == first.reference


def test_a_near_match_against_an_open_case_is_held_and_can_be_joined(
    app: App, send: Send, run: Run
) -> None:
    """GIVEN a victim's open case
    WHEN another agency refers a victim with her surname and date of birth but another
    forename
    THEN it is held as a possible match naming the open case; linked by an administrator,
    it joins that case."""
    base = wolverhampton_form(510)
    first = refer(send, run, NHS, by(base, NHS))
    near = refer(send, run, POLICE, with_values(base, victim_forenames="Zelda"))
    assert near.decision.outcome is Outcome.HELD
    assert near.decision.reasons == ("possible_repeat",)
    assert near.decision.possible_repeats == (first.reference,)
    linked = link_repeat(app.ctx, near.reference, first.reference, "admin")
    assert linked.decision.outcome is Outcome.ACCEPTED
    assert linked.joined == first.reference
    assert load(app) == (1, 0)


def test_a_referral_joins_a_case_held_in_the_queue(app: App, send: Send, run: Run) -> None:
    """GIVEN a victim's first referral held for the Chair (below the threshold)
    WHEN the police refer her above the threshold
    THEN that referral joins the held case and lists it; a third, below the threshold,
    joins the listed case."""
    base = wolverhampton_form(511)
    held = refer(send, run, NHS, below(by(base, NHS)))
    assert held.decision.reasons[0] == "chair_review"
    listed = refer(send, run, POLICE, base)
    assert listed.decision.outcome is Outcome.ACCEPTED
    assert listed.joined == held.reference
    assert listed.meeting_date == MEETING
    assert ("idva_alert", IDVA) in outbox(app, listed.reference)  # the case's first listing
    third = refer(send, run, PROBATION, below(by(base, PROBATION)))
    assert third.joined == held.reference
    assert third.decision.outcome is Outcome.ACCEPTED
    assert load(app) == (1, 0)


def test_a_second_below_threshold_referral_waits_beside_a_held_one(
    app: App, send: Send, run: Run
) -> None:
    """GIVEN a victim's referral held for the Chair
    WHEN another agency refers her, below the threshold too
    THEN it is held beside the first for the same decision, in the same case."""
    base = wolverhampton_form(512)
    held = refer(send, run, NHS, below(by(base, NHS)))
    second = refer(send, run, PROBATION, below(by(base, PROBATION)))
    assert second.decision.outcome is Outcome.HELD
    assert second.decision.reasons[0] == "open_case_in_queue"
    assert second.joined == held.reference


def test_cases_list_shows_the_case_each_referral_joined(
    app: App, send: Send, run: Run, workspace: Path
) -> None:
    """GIVEN two referrals of one victim
    WHEN the team lists cases as a table
    THEN the second row names the case it joined."""
    base = wolverhampton_form(513)
    first = refer(send, run, POLICE, base)
    second = refer(send, run, NHS, by(base, NHS))
    out = (
        CliRunner()
        .invoke(main, ["--config", str(workspace / "mailbot.toml"), "cases", "list"])
        .output
    )
    line = next(x for x in out.splitlines() if x.startswith(second.reference))
    assert first.reference in line
    assert "CASE" in out.splitlines()[0]
