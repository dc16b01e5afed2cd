"""Administrators' actions on held referrals, at the function level (`mailbot.actions`).

Each action must leave the case, the outbox and the audit log exactly as an automatic
decision would have, plus a record of who acted; and refuse what makes no sense.
"""

from __future__ import annotations

from collections.abc import Callable

import pytest

from mailbot import actions
from mailbot.app import App
from mailbot.models import Folder, Outcome
from tests.integration.conftest import Send, folder_count
from tests.integration.held import (
    GMAIL,
    HOMES,
    LOCKED_PASSWORD,
    POLICE,
    Run,
    audit_actions,
    chair_review,
    locked,
    outbox,
    possible_repeat,
    raw_messages,
    two_forms,
)

ADMIN = "j.bloggs"


def _stored_bytes(app: App) -> bytes:
    """Everything SQLite has on disk (the database and its write-ahead log)."""
    path = app.config.database_path
    return b"".join(
        p.read_bytes() for p in (path, path.with_name(path.name + "-wal")) if p.exists()
    )


def test_a_password_from_the_referrer_opens_and_decides_the_case(
    app: App, send: Send, run: Run
) -> None:
    """GIVEN the shared sample held as cannot_decrypt
    WHEN an administrator first types a wrong password, then the right one
    THEN the wrong one changes nothing but is audited; the right one decides the case as a
    password email would (listed, confirmation and IDVA alert), records who supplied it,
    forgets the held email, and the next daemon pass moves the email to Processed. The
    password is nowhere in the database."""
    case = locked(send, run)
    assert case.decision.reasons == ("cannot_decrypt",)
    with pytest.raises(actions.ActionError, match="does not open"):
        actions.retry_password(app.ctx, case.reference, "Wrong-Guess-1", ADMIN)
    assert outbox(app, case.reference) == [("password_request", HOMES)]
    assert (ADMIN, "password_retry", "result=not_opened") in audit_actions(app, case.reference)

    done = actions.retry_password(app.ctx, case.reference, f" {LOCKED_PASSWORD} ", ADMIN)

    assert done.decision.outcome is Outcome.ACCEPTED
    assert str(done.meeting_date) == "2026-11-11"
    assert done.form is not None
    assert done.encrypted
    kinds = [k for k, _ in outbox(app, case.reference)]
    assert kinds == ["confirmation", "idva_alert", "password_request"]
    audit = audit_actions(app, case.reference)
    assert (ADMIN, "password_supplied", "by=administrator") in audit
    assert (ADMIN, "decided", "outcome=accepted reasons=") in audit
    assert app.store.waiting_for_password(HOMES, case.received_at.replace(year=2000)) == []
    app.runner().run_once()
    assert folder_count(app, Folder.EXCEPTIONS.value) == 0
    assert LOCKED_PASSWORD.encode() not in _stored_bytes(app)
    assert b"Wrong-Guess-1" not in _stored_bytes(app)


def test_accepting_after_the_chairs_decision_lists_and_alerts(
    app: App, send: Send, run: Run
) -> None:
    """GIVEN a Wolverhampton referral held for the Chair
    WHEN accepted on professional judgement
    THEN it is listed at the next meeting with that criterion, the referrer is confirmed,
    the IDVA alerted, the victim's hearing recorded, and the audit says who accepted it and
    on what criteria."""
    case = chair_review(send, run)
    assert case.decision.reasons[0] == "chair_review"
    done = actions.accept(app.ctx, case.reference, ["professional_judgement"], ADMIN)
    assert done.decision.outcome is Outcome.ACCEPTED
    assert done.decision.criteria == ("professional_judgement",)
    assert str(done.meeting_date) == "2026-11-11"
    team = app.config.team.address
    assert outbox(app, case.reference) == [
        ("acknowledgement", POLICE),
        ("confirmation", POLICE),
        ("idva_alert", "idva@havenwolverhampton.cjsm.net"),
        ("team_notice", team),
        ("team_notice", team),
    ]
    notices = raw_messages(app, case.reference, "team_notice")[team]
    assert "for the Chair: below the threshold: accepted by the chair" in notices
    assert "Professional judgement" in raw_messages(app, case.reference, "confirmation")[POLICE]
    audit = audit_actions(app, case.reference)
    assert (
        ADMIN,
        "accept",
        "criteria=professional_judgement was=chair_review,no_reason_ticked,threshold_not_met",
    ) in audit
    heard = app.store.conn.execute(
        "SELECT COUNT(*) FROM people WHERE reference = ?", (case.reference,)
    ).fetchone()[0]
    assert heard == 1  # the victim's hearing is recorded, so a later referral is a repeat


def test_accept_refuses_without_criteria_or_without_a_form(app: App, send: Send, run: Run) -> None:
    """GIVEN a chair-review case and a locked one
    WHEN accepted with no criterion, an unknown one, or before the form was read
    THEN each is refused with a reason and nothing is sent."""
    chair, closed = chair_review(send, run), locked(send, run)
    with pytest.raises(actions.ActionError, match="at least one criterion"):
        actions.accept(app.ctx, chair.reference, [], ADMIN)
    with pytest.raises(actions.ActionError, match="unknown: gut_feeling"):
        actions.accept(app.ctx, chair.reference, ["gut_feeling"], ADMIN)
    with pytest.raises(actions.ActionError, match="no referral form has been read"):
        actions.accept(app.ctx, closed.reference, ["visible_high_risk"], ADMIN)
    assert outbox(app, chair.reference) == [
        ("acknowledgement", POLICE),
        ("team_notice", app.config.team.address),
    ]
    assert app.casebook.get(closed.reference).decision.outcome is Outcome.HELD  # type: ignore[union-attr]


def test_returning_with_a_note_keeps_the_note_off_insecure_addresses(
    app: App, send: Send, run: Run
) -> None:
    """GIVEN a held referral from the police whose form gives a gmail referrer address
    WHEN returned as below threshold with a note
    THEN both get the rejection explaining the reason; only the secure police address gets
    the note, gmail is told a note was left out; the audit records the reasons, not the
    note."""
    case = chair_review(send, run, referrer_email=GMAIL)
    secure, insecure = actions.note_recipients(app.ctx, case)
    assert (secure, insecure) == ([POLICE], [GMAIL])
    note = "Please ask the DASH questions again with the victim and resend the form."
    done = actions.return_with_advice(
        app.ctx, case.reference, ["threshold_not_met"], note + "\x07", ADMIN
    )
    assert done.decision.outcome is Outcome.RETURNED
    assert done.decision.reasons == ("threshold_not_met",)
    replies = raw_messages(app, case.reference, "rejection")
    assert set(replies) == {POLICE, GMAIL}
    police = " ".join(replies[POLICE].split())
    assert "Note from the MARAC Coordination Team: " + note in police
    assert "does not meet the MARAC threshold" in police
    assert police.index(note) < police.index("How to resubmit")
    assert "DASH questions again" not in replies[GMAIL]
    assert "not on a secure email service" in " ".join(replies[GMAIL].split())
    [entry] = [a for a in audit_actions(app, case.reference) if a[1] == "return"]
    assert entry == (
        ADMIN,
        "return",
        "reasons=threshold_not_met note=yes note_to=1"
        " note_withheld=1 was=chair_review,no_reason_ticked,threshold_not_met",
    )


def test_return_refuses_codes_that_are_not_return_reasons(app: App, send: Send, run: Run) -> None:
    """GIVEN a held case
    WHEN returned with no reason, a held-only code, an unknown field, or a huge note
    THEN each is refused and the case stays held."""
    case = two_forms(send, run)
    for reasons, note, words in (
        (["chair_review"], "", "not a reason: chair_review"),
        (["missing_field:shoe_size"], "", "not a reason"),
        ([], "", "at least one reason"),
        (["wrong_form"], "x" * 3000, "longer than"),
    ):
        with pytest.raises(actions.ActionError, match=words):
            actions.return_with_advice(app.ctx, case.reference, reasons, note, ADMIN)
    done = actions.return_with_advice(
        app.ctx, case.reference, ["missing_field:victim_dob", "wrong_form"], "", ADMIN
    )
    assert done.decision.reasons == ("missing_field:victim_dob", "wrong_form")
    body = raw_messages(app, case.reference, "rejection")[POLICE]
    assert "'Victim date of birth' is empty" in body
    assert "Note from" not in body


def test_linking_a_possible_repeat_decides_it_as_a_repeat(app: App, send: Send, run: Run) -> None:
    """GIVEN a referral held as a possible repeat of OLD-1 (another forename)
    WHEN the administrator says it is the same person
    THEN it is accepted as a repeat of OLD-1 with the repeat criterion and repeat_detected
    (the form did not declare it), listed, confirmed and alerted."""
    case, earlier = possible_repeat(app, send, run)
    assert case.decision.reasons == ("possible_repeat",)
    assert case.decision.possible_repeats == (earlier,)
    with pytest.raises(actions.ActionError, match="OLD-9 is not an earlier MARAC case"):
        actions.link_repeat(app.ctx, case.reference, "OLD-9", ADMIN)
    done = actions.link_repeat(app.ctx, case.reference, earlier, ADMIN)
    d = done.decision
    assert (d.outcome, d.repeat_of, d.possible_repeats) == (Outcome.ACCEPTED, earlier, ())
    assert "repeat" in d.criteria
    assert "repeat_detected" in d.warnings
    assert done.meeting_date is not None
    assert [k for k, _ in outbox(app, case.reference)] == [
        "acknowledgement",
        "confirmation",
        "idva_alert",
    ]
    assert (ADMIN, "link", "earlier=OLD-1 was=possible_repeat") in audit_actions(
        app, case.reference
    )


def test_a_linked_repeat_that_needs_no_discussion_is_for_information(
    app: App, send: Send, run: Run
) -> None:
    """GIVEN a declared repeat that needs no further discussion, held as a possible repeat
    WHEN linked to the earlier case
    THEN it is listed for information only, as an automatic decision would list it."""
    case, earlier = possible_repeat(
        app,
        send,
        run,
        seed=43,
        referral_type="Repeat referral",
        previous_marac_date="05/08/2026",
        repeat_needs_discussion="No",
    )
    assert case.decision.reasons == ("possible_repeat",)
    done = actions.link_repeat(app.ctx, case.reference, earlier, ADMIN)
    assert done.decision.outcome is Outcome.INFO_ONLY
    assert done.decision.repeat_of == earlier


def test_a_new_person_is_decided_without_the_near_match(app: App, send: Send, run: Run) -> None:
    """GIVEN a possible repeat
    WHEN the administrator says it is someone else
    THEN it is accepted as a new referral (no repeat), and the audit names the match
    that was set aside."""
    case, earlier = possible_repeat(app, send, run)
    done = actions.mark_new_person(app.ctx, case.reference, ADMIN)
    d = done.decision
    assert (d.outcome, d.repeat_of, d.possible_repeats) == (Outcome.ACCEPTED, None, ())
    assert "repeat" not in d.criteria
    assert "confirmation" in [k for k, _ in outbox(app, case.reference)]
    assert (ADMIN, "new_person", f"not={earlier} was=possible_repeat") in audit_actions(
        app, case.reference
    )


def test_new_person_only_applies_to_a_possible_repeat(app: App, send: Send, run: Run) -> None:
    case = chair_review(send, run)
    with pytest.raises(actions.ActionError, match="not held as a possible repeat"):
        actions.mark_new_person(app.ctx, case.reference, ADMIN)


def test_discarding_sends_nothing_and_files_the_email(app: App, send: Send, run: Run) -> None:
    """GIVEN a held email that is not a referral
    WHEN discarded as misdirected
    THEN no reply is sent, the case leaves the queue as not_a_referral, the audit keeps the
    reason and who, and the email moves to Processed on the next pass."""
    case = two_forms(send, run)
    before = outbox(app, case.reference)
    with pytest.raises(actions.ActionError, match="choose a reason"):
        actions.discard(app.ctx, case.reference, "because", ADMIN)
    done = actions.discard(app.ctx, case.reference, "misdirected", ADMIN)
    assert done.decision.outcome is Outcome.RETURNED
    assert done.decision.reasons == (actions.NOT_A_REFERRAL,)
    assert outbox(app, case.reference) == before
    assert (ADMIN, "discard", "reason=misdirected was=multiple_forms") in audit_actions(
        app, case.reference
    )
    assert app.casebook.cases([Outcome.HELD]) == []
    app.runner().run_once()
    assert folder_count(app, Folder.EXCEPTIONS.value) == 0


def test_only_held_cases_can_be_acted_on(app: App, send: Send, run: Run) -> None:
    """GIVEN a case already accepted, and a reference that does not exist
    WHEN any queue action is tried on them
    THEN each is refused with a clear reason (list_at is the one action for listed cases)."""
    case = chair_review(send, run)
    actions.accept(app.ctx, case.reference, ["visible_high_risk"], ADMIN)
    attempts: list[Callable[[str], object]] = [
        lambda r: actions.retry_password(app.ctx, r, "x", ADMIN),
        lambda r: actions.accept(app.ctx, r, ["repeat"], ADMIN),
        lambda r: actions.return_with_advice(app.ctx, r, ["wrong_form"], "", ADMIN),
        lambda r: actions.link_repeat(app.ctx, r, "OLD-1", ADMIN),
        lambda r: actions.mark_new_person(app.ctx, r, ADMIN),
        lambda r: actions.discard(app.ctx, r, "spam", ADMIN),
    ]
    for attempt in attempts:
        with pytest.raises(actions.ActionError, match="is accepted, not held"):
            attempt(case.reference)
        with pytest.raises(actions.ActionError, match="no case MARAC-2026-99999"):
            attempt("MARAC-2026-99999")
    held = locked(send, run)
    with pytest.raises(actions.ActionError, match="only accepted or information-only"):
        actions.list_at(app.ctx, held.reference, case.meeting_date or case.decided_at.date(), ADMIN)
