"""End to end: real emails in a real Maildir, processed into recorded decisions and moves.

The shared sample forms are emailed from the senders of the demo deployment, encrypted ones
with the agencies' agreed passwords (made by msoffcrypto-tool), and the whole runner runs.
"""

from __future__ import annotations

import random
from collections.abc import Callable
from datetime import timedelta

import pytest

from mailbot.app import App
from mailbot.cases.casebook import CaseRecord
from mailbot.demo.formwriter import FillStyle, render_blank, render_form
from mailbot.demo.samples import sample_form, with_dash_yes, with_values
from mailbot.dispatch.encrypt import encrypt_docx
from mailbot.models import Outcome
from tests.conftest import NOW, TODAY, FixedClock
from tests.integration.conftest import Send, folder_count, sample

Run = Callable[[], dict[str, CaseRecord]]
POLICE = "pc.lee.adams@west-midlands.pnn.police.uk"
NHS = "safeguarding@nhs.net"
BCT = "s.worker@birminghamchildrenstrust.co.uk"
HAVEN = "k.smith@coventryhaven.co.uk"
HOMES = "tenancy@wolverhamptonhomes.org.uk"
BCWA = "outreach@blackcountrywomensaid.co.uk"


def form_doc(seed: int = 3, style: FillStyle = FillStyle.CONTROLS, **kw: object) -> bytes:
    form = sample_form(random.Random(seed), referral_date=TODAY, **kw)  # type: ignore[arg-type]
    return render_form(form, style)


def test_the_shared_samples_get_their_documented_outcomes(app: App, send: Send, run: Run) -> None:
    """GIVEN the eight official sample referrals, emailed from their agencies
    WHEN the inbox is processed
    THEN each gets the outcome its README documents, and the inbox is empty."""
    ids = {
        "01": send(POLICE, sample("01-accepted-controls.docx")),
        "02": send(BCT, sample("02-accepted-typed-encrypted.docx")),
        "03": send(HAVEN, sample("03-accepted-marks-encrypted.docx")),
        "04": send(POLICE, sample("04-returned-missing-fields.docx")),
        "05": send(POLICE, sample("05-returned-below-threshold.docx")),
        "06": send(NHS, sample("06-accepted-professional-judgement.docx")),
        "07": send(POLICE, sample("07-accepted-young-person.docx")),
        "08": send(HOMES, sample("08-encrypted-unknown-password.docx")),
    }
    cases = run()
    got = {k: cases[v] for k, v in ids.items()}
    assert got["01"].decision.outcome is Outcome.ACCEPTED
    assert got["01"].decision.criteria == ("visible_high_risk",)
    assert got["02"].decision.outcome is Outcome.ACCEPTED
    assert got["02"].encrypted
    assert "visible_high_risk" in got["02"].decision.criteria
    assert got["03"].decision.outcome is Outcome.ACCEPTED
    assert got["03"].area == "Coventry"
    assert got["04"].decision.outcome is Outcome.RETURNED
    assert {
        "missing_field:victim_dob",
        "missing_field:victim_postcode",
        "missing_field:perp_relationship",
    } <= set(got["04"].decision.reasons)
    assert got["05"].decision.outcome is Outcome.RETURNED
    assert "threshold_not_met" in got["05"].decision.reasons
    assert got["06"].decision.criteria == ("professional_judgement",)
    assert got["06"].decision.outcome is Outcome.ACCEPTED
    assert got["07"].decision.outcome is Outcome.ACCEPTED
    assert "young_person" in got["07"].decision.warnings
    assert got["08"].decision.outcome is Outcome.HELD
    assert got["08"].decision.reasons == ("cannot_decrypt",)
    assert folder_count(app, "Inbox") == 0
    assert folder_count(app, "Exceptions") == 1
    assert folder_count(app, "Processed") == 7


def test_a_password_email_opens_the_waiting_referral(app: App, send: Send, run: Run) -> None:
    """GIVEN a referral held as cannot_decrypt
    WHEN its sender emails the password separately
    THEN the referral is decided and moved to Processed, the password email is not a case,
    and the password is stored nowhere."""
    held_id = send(HOMES, sample("08-encrypted-unknown-password.docx"))
    assert run()[held_id].decision.reasons == ("cannot_decrypt",)
    send(
        HOMES,
        subject="Password for the referral",
        body="Hi,\n\nThe password is: Sparrow-Lane-77\n\nKind regards",
    )
    cases = run()
    assert len(cases) == 1
    assert cases[held_id].decision.outcome is Outcome.ACCEPTED
    assert folder_count(app, "Exceptions") == 0
    assert folder_count(app, "Processed") == 2
    database = app.config.database_path.read_bytes()
    assert b"Sparrow-Lane-77" not in database
    assert any(
        a.action == "password_supplied" for a in app.store.audit_log(cases[held_id].reference)
    )


def test_a_password_from_another_sender_is_not_tried(app: App, send: Send, run: Run) -> None:
    """GIVEN a held referral from one sender
    WHEN someone else sends a password email
    THEN the referral stays held, and the other email, with nothing waiting for its sender,
    is decided as any email is (a stranger's, no attachment, no referral wording: other
    mail, recorded for the team): it never vanishes."""
    held_id = send(HOMES, sample("08-encrypted-unknown-password.docx"))
    other = send("someone@gmail.com", subject="password", body="Sparrow-Lane-77")
    cases = run()
    assert cases[held_id].decision.outcome is Outcome.HELD
    assert cases[other].decision.outcome is Outcome.OTHER
    assert cases[other].decision.reasons == ("other_mail",)
    assert folder_count(app, "Exceptions") == 1


def test_the_previous_agreed_password_still_works(send: Send, run: Run) -> None:
    """GIVEN a form encrypted with the agency's previous password
    WHEN processed
    THEN it opens and is accepted."""
    message_id = send(BCWA, encrypt_docx(form_doc(area="Sandwell"), "BCWA-Refer-1187"))
    assert run()[message_id].decision.outcome is Outcome.ACCEPTED


def test_another_agencys_password_is_never_tried(send: Send, run: Run) -> None:
    """GIVEN a form from Wolverhampton Homes encrypted with a Children's Trust password
    WHEN processed
    THEN it is held as cannot_decrypt (passwords are per agency)."""
    message_id = send(HOMES, encrypt_docx(form_doc(), "BCT-Marac-7731"))
    assert run()[message_id].decision.reasons == ("cannot_decrypt",)


def test_unencrypted_from_a_non_secure_domain_is_processed_with_a_warning(
    send: Send, run: Run
) -> None:
    """GIVEN an unencrypted form from gmail and another from a password-route agency
    WHEN processed
    THEN both are accepted with insecure_transport; a secure-domain one has no warning."""
    gmail = send("helper@gmail.com", form_doc())
    bct = send(BCT, form_doc(seed=4))
    police = send(POLICE, form_doc(seed=5))
    cases = run()
    assert "insecure_transport" in cases[gmail].decision.warnings
    assert cases[gmail].decision.outcome is Outcome.ACCEPTED
    assert "insecure_transport" in cases[bct].decision.warnings
    assert "insecure_transport" not in cases[police].decision.warnings


def test_every_fill_style_is_read(send: Send, run: Run) -> None:
    """GIVEN one referral written in controls, typed and typed-mark styles
    WHEN processed
    THEN each is accepted."""
    ids = [
        send(POLICE, form_doc(seed=s, style=style)) for s, style in enumerate(FillStyle, start=10)
    ]
    cases = run()
    assert [cases[i].decision.outcome for i in ids] == [Outcome.ACCEPTED] * 3


def test_emails_without_a_usable_form_are_returned(app: App, send: Send, run: Run) -> None:
    """GIVEN emails with no attachment, a PDF, a blank form, a .docm and a Word 97 file
    WHEN processed
    THEN each is returned with the matching reason; the macro one is quarantined."""
    none = send(POLICE)
    pdf = send(POLICE, extra=[("referral.pdf", b"%PDF-1.7\n1 0 obj\n", "application/pdf")])
    blank = send(POLICE, render_blank())
    ole = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + b"\0" * 600
    doc = send(POLICE, extra=[("referral.doc", ole, "application/msword")])
    cases = run()
    assert cases[none].decision.reasons == ("no_attachment",)
    assert cases[pdf].decision.reasons == ("not_word_document",)
    assert cases[blank].decision.reasons == ("wrong_form",)
    assert cases[doc].decision.outcome is Outcome.RETURNED
    assert folder_count(app, "Inbox") == 0


def test_two_forms_in_one_email_are_held(send: Send, run: Run) -> None:
    """GIVEN two different referral forms attached to one email
    WHEN processed
    THEN it is held as multiple_forms."""
    message_id = send(
        POLICE,
        form_doc(seed=1),
        extra=[("second.docx", form_doc(seed=2), "application/octet-stream")],
    )
    assert run()[message_id].decision.reasons == ("multiple_forms",)


def test_the_same_referral_twice_is_a_duplicate(send: Send, run: Run) -> None:
    """GIVEN a referral already accepted
    WHEN the same document arrives again in another email
    THEN it is returned as a duplicate of the first."""
    doc = form_doc()
    first = send(POLICE, doc)
    first_ref = run()[first].reference
    again = send(POLICE, doc, subject="FW: MARAC referral")
    case = run()[again]
    assert case.decision.reasons == ("duplicate",)
    assert case.decision.duplicate_of == first_ref


def test_a_victim_heard_recently_is_a_repeat(
    app: App, send: Send, run: Run, clock: FixedClock
) -> None:
    """GIVEN a victim accepted earlier (mailbot's own history) and heard at her meeting
    WHEN a new referral for her arrives from another agency for a later incident
    THEN it is recognised as a repeat of the first case."""
    form = sample_form(random.Random(9), referral_date=TODAY, area="Dudley")
    first = send(POLICE, render_form(form))
    accepted = run()[first]
    first_ref = accepted.reference
    assert accepted.meeting_date is not None
    clock.current = NOW + timedelta(days=(accepted.meeting_date - TODAY).days + 1)
    day = f"{accepted.meeting_date + timedelta(days=1):%d/%m/%Y}"
    later = with_dash_yes(
        with_values(
            form,
            referrer_email=NHS,
            risk_summary="New incident.",
            incident_date=day,
            referral_date=day,
        ),
        16,
    )
    second = send(NHS, render_form(later))
    case = run()[second]
    assert case.decision.repeat_of == first_ref
    assert "repeat_detected" in case.decision.warnings
    assert case.decision.outcome is Outcome.ACCEPTED


def test_a_poison_message_is_held_and_the_rest_carry_on(
    app: App, send: Send, run: Run, monkeypatch: pytest.MonkeyPatch
) -> None:
    """GIVEN a message whose processing raises an unexpected error, then a good one
    WHEN processed
    THEN the first is held as processing_error (class name audited, nothing personal)
    and the second is still accepted."""
    from mailbot.intake import stages

    real = stages.check_referral
    calls = {"n": 0}

    def explode(*args: object, **kwargs: object) -> object:
        calls["n"] += 1
        if calls["n"] == 1:
            raise RuntimeError("Jane Doe 01/01/1990 exploded")  # PII in the message
        return real(*args, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(stages, "check_referral", explode)
    bad = send(POLICE, form_doc(seed=1))
    good = send(POLICE, form_doc(seed=2))
    cases = run()
    assert cases[bad].decision.reasons == ("processing_error",)
    assert cases[good].decision.outcome is Outcome.ACCEPTED
    audit = app.store.audit_log(cases[bad].reference)
    assert any(a.detail == "error=RuntimeError" for a in audit)
    assert not any("Jane" in a.detail for a in app.store.audit_log())
    assert folder_count(app, "Exceptions") == 1
