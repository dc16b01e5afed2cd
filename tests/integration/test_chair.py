"""What the Chair and the team are told, and the smaller rules of a case, end to end.

A victim aged 16-17, a desktop review due, a case held for the Chair and a transfer in each
reach the Chair by a team notice and a marker on the agenda entry; a forgotten tick is a
warning when mailbot itself finds a criterion met; replies to non-secure addresses never
depend on the victim's history; listing and transfers respect meetings that have happened.
"""

from __future__ import annotations

import re
from datetime import date
from email import message_from_string, policy
from pathlib import Path

import pytest
from click.testing import CliRunner

from mailbot import actions
from mailbot.app import App, SystemClock
from mailbot.cases.casebook import CaseRecord
from mailbot.cli import main
from mailbot.demo.formwriter import FillStyle, render_form
from mailbot.demo.samples import with_dash_yes, with_ticks, with_values
from mailbot.meetings.agendas import Agendas
from mailbot.meetings.transfers import TransferDetails, Transfers
from mailbot.models import FormData, Outcome
from tests.conftest import NOW
from tests.integration.conftest import Send
from tests.integration.held import below, chair_review
from tests.integration.papers import AGENDA_DUE, MEETING, POLICE, TEAM, Run, docx_lines
from tests.integration.papers import wolverhampton_form as form

BCWA = "outreach@blackcountrywomensaid.co.uk"  # Black Country Women's Aid: not secure
HISTORY = (
    "reference,marac_area,marac_date,victim_surname,victim_forenames,victim_aliases,"
    "victim_dob,perp_surname,perp_forenames,perp_dob\n"
)


def refer(
    send: Send, run: Run, sender: str, f: FormData, style: FillStyle = FillStyle.CONTROLS
) -> CaseRecord:
    message_id = send(sender, render_form(f, style))
    return run()[message_id]


def messages(app: App, reference: str, kind: str) -> list[str]:
    assert app.ctx.dispatch is not None
    return [m.raw.decode() for m in app.ctx.dispatch.outbox.messages(reference) if m.kind == kind]


def agenda(app: App, area: str = "Wolverhampton", day: date = MEETING) -> str:
    document = Agendas(app.ctx).preview(area, day)
    assert document is not None
    return "\n".join(docx_lines(document))


def heard(app: App, f: FormData, *days: str) -> None:
    """Import earlier hearings of the form's victim on these days."""
    dob = "-".join(reversed(f.value("victim_dob").split("/")))
    app.casebook.import_history(
        HISTORY
        + "".join(
            f"OLD-{f.value('victim_surname')}-{n},Wolverhampton,{day},{f.value('victim_surname')},"
            f"{f.value('victim_forenames')},,{dob},,,\n"
            for n, day in enumerate(days)
        )
    )


def chair_notice(app: App, reference: str, words: str) -> str:
    found = [
        m for m in messages(app, reference, "team_notice") if "for the Chair" in m and words in m
    ]
    assert len(found) == 1, messages(app, reference, "team_notice")
    assert f"To: {TEAM}" in found[0]
    return found[0]


def test_a_young_person_is_told_to_the_chair(app: App, send: Send, run: Run) -> None:
    """GIVEN a victim aged 17
    WHEN her referral is accepted
    THEN the team is told for the Chair, and her agenda entry carries the marker."""
    case = refer(send, run, POLICE, with_values(form(601), victim_dob="10/01/2009"))
    assert case.decision.outcome is Outcome.ACCEPTED
    assert "young_person" in case.decision.warnings
    notice = chair_notice(app, case.reference, "young person")
    assert "11-11" in notice or "2026-11-11" in notice
    assert "For the Chair" in agenda(app)
    assert "Young person (16-17)" in agenda(app)


def test_a_desktop_review_is_told_to_the_chair(app: App, send: Send, run: Run) -> None:
    """GIVEN a victim heard at three meetings in the six months before this incident
    WHEN she is referred again
    THEN the fourth MARAC in six months is a desktop review: the Chair is told and the
    agenda entry says so."""
    f = form(602)
    heard(app, f, "2026-06-03", "2026-08-05", "2026-10-07")
    case = refer(send, run, POLICE, f)
    assert "desktop_review" in case.decision.warnings
    chair_notice(app, case.reference, "desktop review")
    assert "Desktop review due (4th MARAC in 6 months)" in agenda(app)


def test_a_case_held_for_the_chair_is_told_then_marked_when_accepted(
    app: App, send: Send, run: Run
) -> None:
    """GIVEN a below-threshold Wolverhampton referral (held for the Chair by policy)
    WHEN it is held, and then the Chair accepts it
    THEN the team is told it waits for the Chair, and the agenda entry says the Chair
    accepted it below the threshold."""
    held = chair_review(send, run)
    chair_notice(app, held.reference, "for the chair's decision")
    actions.accept(app.ctx, held.reference, ["professional_judgement"], "chair")
    chair_notice(app, held.reference, "accepted by the chair")
    assert "Below the threshold: accepted by the Chair" in agenda(app)


def test_a_transfer_in_is_told_to_the_chair(app: App, send: Send, run: Run) -> None:
    """GIVEN a transfer in from Coventry, below the DASH threshold
    WHEN it is accepted on the transfer criterion
    THEN the Chair is told and the agenda entry names where it came from."""
    f = with_ticks(
        with_values(
            below(form(603)),
            referral_type="Transfer in from another MARAC",
            transfer_from="Coventry",
        ),
        reason_transfer=True,
    )
    case = refer(send, run, POLICE, f)
    assert case.decision.outcome is Outcome.ACCEPTED
    assert case.decision.criteria == ("transfer",)
    chair_notice(app, case.reference, "transfer in")
    assert "Transfer in from another MARAC (Coventry)" in agenda(app)


def test_no_notice_for_an_ordinary_case(app: App, send: Send, run: Run) -> None:
    """GIVEN an adult victim, first referral, above the threshold
    WHEN accepted
    THEN nothing goes to the Chair and the agenda entry has no marker."""
    case = refer(send, run, POLICE, form(604))
    assert messages(app, case.reference, "team_notice") == []
    assert "For the Chair" not in agenda(app)


def test_a_forgotten_tick_is_a_warning_when_mailbot_finds_a_criterion(
    app: App, send: Send, run: Run
) -> None:
    """GIVEN referrals with no reason for referral ticked: one with 16 DASH ticks, one of a
    victim heard two months ago (a repeat in mailbot's records), one with neither
    WHEN decided
    THEN the first two are accepted with the warning naming the criterion found; the third
    is returned naming both codes."""
    none_ticked = {
        "reason_visible_high_risk": False,
        "reason_repeat": False,
        "reason_professional_judgement": False,
    }
    counted = refer(send, run, POLICE, with_ticks(with_dash_yes(form(605), 16), **none_ticked))
    assert counted.decision.outcome is Outcome.ACCEPTED
    assert counted.decision.criteria == ("visible_high_risk",)
    assert "reason_not_ticked" in counted.decision.warnings
    assert (
        "No reason for referral was ticked" in messages(app, counted.reference, "confirmation")[0]
    )
    repeat_form = with_ticks(with_dash_yes(form(606, marac_area="Dudley"), 6), **none_ticked)
    heard(app, repeat_form, "2026-09-01")
    repeat = refer(send, run, POLICE, repeat_form)
    assert repeat.decision.outcome is Outcome.ACCEPTED
    assert repeat.decision.criteria == ("repeat",)
    assert "reason_not_ticked" in repeat.decision.warnings
    nothing = refer(
        send,
        run,
        POLICE,
        with_ticks(with_dash_yes(form(607, marac_area="Dudley"), 6), **none_ticked),
    )
    assert nothing.decision.outcome is Outcome.RETURNED
    assert {"no_reason_ticked", "threshold_not_met"} <= set(nothing.decision.reasons)


@pytest.mark.parametrize(
    "typed",
    [
        "Already supported",
        "already supported by idva",
        "ALREADY SUPPORTED BY IDVA.",
        "Already Supported",
    ],
)
def test_an_idva_status_typed_by_hand_alerts_like_the_drop_down(
    app: App, send: Send, run: Run, typed: str
) -> None:
    """GIVEN a form whose controls were stripped and the IDVA status typed by hand
    WHEN accepted
    THEN the IDVA alert says an IDVA is already involved, not asking for support."""
    case = refer(send, run, POLICE, with_values(form(608), idva_status=typed), FillStyle.TYPED)
    assert case.decision.outcome is Outcome.ACCEPTED
    [alert] = messages(app, case.reference, "idva_alert")
    assert "An IDVA is already involved with this victim." in alert
    assert "Please offer the victim IDVA support" not in alert
    assert "IDVA involvement: Already supported by IDVA" in alert


def test_the_reason_a_victim_is_not_aware_is_on_the_agenda(app: App, send: Send, run: Run) -> None:
    """GIVEN a referral whose victim has not been told, with the reason given
    WHEN listed
    THEN the agenda entry gives the reason, for the Chair."""
    reason = "The perpetrator reads her messages; she will be told at the refuge."
    refer(
        send, run, POLICE, with_values(form(609), victim_aware="No", victim_not_aware_reason=reason)
    )
    assert f"No (why not: {reason})" in agenda(app)


def test_a_transfer_to_another_west_midlands_area_moves_the_listing(
    app: App, send: Send, run: Run
) -> None:
    """GIVEN a case listed at the Wolverhampton MARAC of 11 November (agenda not gone)
    WHEN it is transferred out to Coventry
    THEN it is listed at Coventry's next meeting, off the Wolverhampton discussion list,
    and Coventry's IDVA service is alerted; the referrer is told the new meeting."""
    case = refer(send, run, POLICE, form(610))
    Transfers(app.ctx).record(
        case.reference,
        "coventry",
        TransferDetails(new_address="1 New Road, Coventry"),
        "admin",
        NOW,
    )
    moved = app.casebook.get(case.reference)
    assert moved is not None
    assert moved.meeting_date is not None
    assert moved.meeting_date.weekday() == 1  # Coventry meets on Tuesdays
    wolverhampton = agenda(app)
    discussion = wolverhampton.split("For information only")[0]
    assert case.reference not in discussion
    assert case.reference in wolverhampton.split("Outgoing MARAC transfers")[1]
    assert case.reference in agenda(app, "Coventry", moved.meeting_date)
    alerts = [
        m
        for m in messages(app, case.reference, "idva_alert")
        if "To: idva@coventryhaven.cjsm.net" in m
    ]
    assert len(alerts) == 1
    confirmations = messages(app, case.reference, "confirmation")
    assert any("Coventry MARAC" in m for m in confirmations)


def test_list_at_refuses_a_past_meeting_and_asks_before_an_addendum(
    workspace: Path, app: App, send: Send, run: Run, monkeypatch: pytest.MonkeyPatch
) -> None:
    """GIVEN an accepted case, on a day after the 4 November meeting, the 11 November
    agenda sent
    WHEN an administrator lists it at the 4 November meeting, then at the 11th
    THEN the past meeting is refused; the 11th is refused without confirmation (an
    addendum) and done with it."""
    case = refer(send, run, POLICE, form(611))
    with app.store.transaction() as conn:
        conn.execute(
            "INSERT INTO meetings (area, date, agenda_sent_at) VALUES (?, ?, ?)",
            ("Wolverhampton", MEETING.isoformat(), AGENDA_DUE.isoformat()),
        )
    monkeypatch.setattr(SystemClock, "now", lambda self: AGENDA_DUE)
    config = ["--config", str(workspace / "mailbot.toml")]
    past = CliRunner().invoke(main, [*config, "cases", "list-at", case.reference, "2026-11-04"])
    assert past.exit_code == 1
    assert "has already taken place" in past.output
    gone = CliRunner().invoke(
        main, [*config, "cases", "list-at", case.reference, MEETING.isoformat()]
    )
    assert gone.exit_code == 1
    assert "addendum" in gone.output
    assert len(gone.output.strip().splitlines()) == 1
    done = CliRunner().invoke(
        main, [*config, "cases", "list-at", case.reference, MEETING.isoformat(), "--addendum"]
    )
    assert done.exit_code == 0, done.output
    assert app.casebook.get(case.reference).meeting_date == MEETING  # type: ignore[union-attr]


def _reply(raw: str, reference: str) -> str:
    """Subject and text of a reply, with its reference (and any other) taken out."""
    parsed = message_from_string(raw, policy=policy.default)
    part = parsed.get_body(("plain",))
    assert part is not None
    text = f"{parsed['Subject']}\n{part.get_content()}"
    return re.sub(r"MARAC-\d{4}-\d{5}", "REF", text.replace(reference, "REF"))


def test_a_non_secure_referrer_cannot_learn_a_victims_history(
    app: App, send: Send, run: Run
) -> None:
    """GIVEN a victim with an open case, one heard two months ago, one who may have been
    (a near match), and one unknown
    WHEN a non-secure agency refers each with the same content, above and below the
    threshold
    THEN the replies to that agency (subject and text) are the same whatever the history,
    apart from the reference, and the team is told what the replies could not say."""

    def by_bcwa(f: FormData) -> FormData:
        return with_values(f, referrer_email=BCWA, referrer_agency="Black Country Women's Aid")

    for seed, make in ((612, by_bcwa), (616, lambda f: by_bcwa(below(f)))):
        open_victim, heard_victim, near_victim, unknown = (form(seed + n) for n in range(4))
        refer(send, run, POLICE, open_victim)
        heard(app, heard_victim, "2026-09-02")
        heard(app, with_values(near_victim, victim_forenames="Zelda"), "2026-09-03")
        replies = {}
        for name, victim in (
            ("open", open_victim),
            ("heard", heard_victim),
            ("near", near_victim),
            ("unknown", unknown),
        ):
            case = refer(send, run, BCWA, make(victim))
            [raw] = [
                m
                for k in ("confirmation", "rejection", "acknowledgement")
                for m in messages(app, case.reference, k)
            ]
            replies[name] = (case, _reply(raw, case.reference))
        texts = {name: text for name, (_, text) in replies.items()}
        assert texts["open"] == texts["unknown"]
        assert texts["heard"] == texts["unknown"]
        assert texts["near"] == texts["unknown"]
        assert "already listed" not in texts["open"]
        assert "heard at MARAC" not in texts["heard"]
        joined, _ = replies["open"]
        assert joined.joined is not None
        above = seed == 612
        if above:  # below the threshold, its own reasons come before the near match
            assert replies["near"][0].decision.reasons == ("possible_repeat",)
        for name in ("open", "near") if above else ("open",):
            told = [
                m
                for m in messages(app, replies[name][0].reference, "team_notice")
                if "tell the referrer by a secure route" in m
            ]
            assert len(told) == 1, name


def test_a_secure_referrer_is_told_the_history(app: App, send: Send, run: Run) -> None:
    """GIVEN a victim heard two months ago
    WHEN the NHS trust (a secure address) refers her without saying so
    THEN its confirmation says she was heard at MARAC within the last 12 months."""
    victim = with_values(
        form(630),
        referrer_email="safeguarding@nhs.net",
        referrer_agency="The Royal Wolverhampton NHS Trust",
    )
    heard(app, victim, "2026-09-02")
    case = refer(send, run, "safeguarding@nhs.net", victim)
    assert "repeat_detected" in case.decision.warnings
    [confirmation] = messages(app, case.reference, "confirmation")
    assert "heard at MARAC within the last 12 months" in " ".join(confirmation.split())
