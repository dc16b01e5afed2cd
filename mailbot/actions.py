"""What an administrator can do to a case, in one place for the CLI and the web page.

Each action checks that it makes sense, changes the case in one transaction, records who did
it and when in the audit log, and sends the messages it implies through the outbox, exactly
as an automatic decision would.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Sequence
from datetime import date
from typing import Any

from mailbot.cases.casebook import CaseRecord
from mailbot.cases.lifecycle import current_listing, is_held, list_case, referrals
from mailbot.codes import CRITERIA, Caution, Criterion, Reason, reason_code
from mailbot.context import Context
from mailbot.dispatch.advice import clean_note, is_return_code
from mailbot.errors import MailbotError
from mailbot.intake import stages
from mailbot.intake.process import Intake
from mailbot.intake.reassess import reassess
from mailbot.meetings.listing import agenda_sent
from mailbot.models import Decision, Folder, FormData, Meeting, Outcome
from mailbot.validate.fields import FieldReport


class ActionError(MailbotError):
    """The action cannot be done to this case (the message says why, with no PII)."""


class AgendaGone(ActionError):
    """Listing there would send an addendum: done only when the person confirms it."""


def list_at(
    ctx: Context, reference: str, day: date, actor: str, *, addendum: bool = False
) -> Meeting:
    """List a case at a named meeting of its area, regardless of cut-off and capacity.

    For emergencies (PROCESS.md): the referrers are told the new date, and the IDVA service
    is alerted again with it. A meeting that has already taken place is refused (nothing
    can be discussed there any more); one whose agenda has gone needs `addendum` (the case
    then goes out as an addendum), so nobody sends one by mistake.
    """
    case = ctx.casebook.get(reference)
    if case is None:
        raise ActionError(f"no case {reference}")
    if case.decision.outcome not in (Outcome.ACCEPTED, Outcome.INFO_ONLY) or not case.area:
        raise ActionError(
            f"{reference} is {case.decision.outcome.value}: only accepted or"
            " information-only cases are listed at meetings"
        )
    current = current_listing(ctx.store.conn, case.case)
    area = current.area if current else case.area
    meeting = ctx.listings.calendar.meeting_on(area, day)
    if meeting is None:
        raise ActionError(f"the {area} MARAC has no meeting on {day.isoformat()}")
    now = ctx.clock.now()
    local = now.astimezone(ctx.config.zone)
    if is_held(ctx.store.conn, area, day, local.date()) or (
        day == local.date() and local.time().replace(tzinfo=None) >= meeting.time
    ):
        raise ActionError(
            f"the {area} MARAC of {day.isoformat()} has already taken place:"
            " choose a meeting still to come"
        )
    if agenda_sent(ctx.store.conn, area, day) and not addendum:
        raise AgendaGone(
            f"the agenda of the {area} MARAC of {day.isoformat()} has already"
            " gone, so the case would go out as an addendum"
        )
    previous = current.meeting_date.isoformat() if current else "-"
    with ctx.store.transaction() as conn:
        list_case(conn, case.case, area, meeting.date, now)
        ctx.store.audit(
            conn,
            actor,
            "listed_at",
            case.case,
            f"area={area} meeting={meeting.date.isoformat()} previous={previous}",
        )
        for ref in referrals(conn, case.case):
            listed = ctx.casebook.get(ref)
            if listed is not None:  # every referrer is told; the IDVA service once
                ctx.notices.enqueue(conn, listed, meeting, idva=listed.joined is None)
    return meeting


# -- the exceptions queue: only held cases -------------------------------------------------

# Discarding: the email was not a referral. No reply is sent (see `discard`).
NOT_A_REFERRAL = Reason.NOT_A_REFERRAL
DISCARD_REASONS: dict[str, str] = {
    "spam": "Spam, marketing or a phishing email",
    "correspondence": "Correspondence about a case, not a referral (answer it by hand)",
    "misdirected": "Sent to the referrals mailbox by mistake",
    "test": "A test message",
    "withdrawn": "Withdrawn by the sender before a decision",
}


def held_case(ctx: Context, reference: str) -> CaseRecord:
    """The case, if it is in the exceptions queue; ActionError otherwise."""
    case = ctx.casebook.get(reference)
    if case is None:
        raise ActionError(f"no case {reference}")
    if case.decision.outcome is not Outcome.HELD:
        raise ActionError(
            f"{reference} is {case.decision.outcome.value}, not held: only"
            " cases in the exceptions queue can be acted on"
        )
    return case


def retry_password(ctx: Context, reference: str, password: str, actor: str) -> CaseRecord:
    """Try a password the referrer gave (by phone, say) and assess the held email again.

    The password is used for this one attempt: it is not stored, logged or audited. When it
    opens the document the case is decided as if the password had come by email (replies,
    listing, IDVA alert); when it does not, the attempt is audited and ActionError raised.
    """
    case = held_case(ctx, reference)
    if Reason.CANNOT_DECRYPT not in case.decision.reasons:
        raise ActionError(f"{reference} is not waiting for a password")
    candidates = tuple(dict.fromkeys(p for p in (password, password.strip()) if p))
    if not candidates:
        raise ActionError("no password was given")
    try:
        decision = Intake(ctx).retry_held(reference, candidates, actor)
    except Exception as exc:  # the document opened but something in it broke the reader
        raise ActionError(
            f"{reference}: the document could not be processed"
            f" ({type(exc).__name__}); the case is unchanged"
        ) from None
    if decision is None:
        with ctx.store.transaction() as conn:
            ctx.store.audit(conn, actor, "password_retry", reference, "result=not_opened")
        raise ActionError(
            f"that password does not open the document of {reference}; the"
            " case is still waiting for a password"
        )
    return _reload(ctx, reference)


def accept(ctx: Context, reference: str, criteria: Sequence[str], actor: str) -> CaseRecord:
    """Accept a held case with the criteria an administrator (or the Chair) found met."""
    chosen = tuple(dict.fromkeys(criteria))
    unknown = [c for c in chosen if c not in CRITERIA]
    if not chosen or unknown:
        raise ActionError(
            f"choose at least one criterion from {', '.join(CRITERIA)}"
            + (f" (unknown: {', '.join(unknown)})" if unknown else "")
        )
    with ctx.store.transaction() as conn:
        case = held_case(ctx, reference)
        if case.form is None or not case.area:
            raise ActionError(
                f"{reference}: no referral form has been read (or it names no"
                " MARAC area), so it cannot be accepted; return or discard it"
            )
        chair = (Caution.CHAIR_ACCEPTED,) if Reason.CHAIR_REVIEW in case.decision.reasons else ()
        decision = Decision(
            outcome=Outcome.ACCEPTED,
            warnings=tuple(dict.fromkeys((*case.decision.warnings, *chair))),
            criteria=tuple(Criterion(c) for c in chosen),
            repeat_of=case.decision.repeat_of,
            joined=case.decision.joined,
        )
        _decide(ctx, conn, case, decision, actor, "accept", f"criteria={','.join(chosen)}")
    return _reload(ctx, reference)


def return_with_advice(
    ctx: Context, reference: str, reasons: Sequence[str], note: str, actor: str
) -> CaseRecord:
    """Return a held case to its referrer with the chosen reasons and an optional note.

    The note goes only to secure addresses (`mailbot.dispatch.advice`); `note_recipients` says which
    addresses will and will not get it, so the administrator can be told first.
    """
    chosen = tuple(dict.fromkeys(reasons))
    bad = [c for c in chosen if not is_return_code(c)]
    if not chosen or bad:
        raise ActionError(
            "choose at least one reason to return the referral for"
            + (f" (not a reason: {', '.join(bad)})" if bad else "")
        )
    try:
        text = clean_note(note)
    except ValueError as exc:
        raise ActionError(str(exc)) from None
    with ctx.store.transaction() as conn:
        case = held_case(ctx, reference)
        decision = Decision(
            outcome=Outcome.RETURNED,
            reasons=tuple(reason_code(c) for c in chosen),
            warnings=case.decision.warnings,
        )
        secure, other = note_recipients(ctx, case)
        detail = f"reasons={','.join(chosen)} note={'yes' if text else 'no'}"
        if text:
            detail += f" note_to={len(secure)} note_withheld={len(other)}"
        _decide(ctx, conn, case, decision, actor, "return", detail, note=text or None)
    return _reload(ctx, reference)


def note_recipients(ctx: Context, case: CaseRecord) -> tuple[list[str], list[str]]:
    """(secure, not secure) addresses a reply about `case` goes to."""
    returned = case.model_copy(
        update={"decision": Decision(outcome=Outcome.RETURNED, reasons=(Reason.WRONG_FORM,))}
    )
    addresses = [p.recipient for p in ctx.dispatch.planner.replies(returned, None)]
    secure = [a for a in addresses if ctx.config.is_secure_address(a)]
    return secure, [a for a in addresses if a not in secure]


def link_repeat(ctx: Context, reference: str, earlier: str, actor: str) -> CaseRecord:
    """The victim is the one heard as `earlier`: decide the case as a repeat of it."""
    return _repeat_answer(ctx, reference, actor, "link", f"earlier={earlier}", same_as=earlier)


def mark_new_person(ctx: Context, reference: str, actor: str) -> CaseRecord:
    """The near match is someone else: decide the case without it."""
    case = held_case(ctx, reference)
    if Reason.POSSIBLE_REPEAT not in case.decision.reasons:
        raise ActionError(f"{reference} is not held as a possible repeat")
    return _repeat_answer(
        ctx,
        reference,
        actor,
        "new_person",
        f"not={','.join(case.decision.possible_repeats)}",
        new_person=True,
    )


def discard(ctx: Context, reference: str, reason: str, actor: str) -> CaseRecord:
    """Take an email that is not a referral out of the queue, with no reply.

    No reply, by choice: what is discarded is spam, misdirected mail or correspondence, and
    an automatic answer would confirm the mailbox to spammers or tell a stranger about a
    MARAC; correspondence is answered by a person. The case is kept (outcome returned,
    reason `not_a_referral`, so it is not listed and a resent real referral is not taken for
    a duplicate), and the email moves to the Processed folder.
    """
    if reason not in DISCARD_REASONS:
        raise ActionError(f"choose a reason from {', '.join(DISCARD_REASONS)}")
    with ctx.store.transaction() as conn:
        case = held_case(ctx, reference)
        decision = Decision(outcome=Outcome.RETURNED, reasons=(NOT_A_REFERRAL,))
        updated = case.model_copy(update={"decision": decision, "decided_at": ctx.clock.now()})
        ctx.casebook.save(conn, updated)
        ctx.store.release_held(conn, reference)
        ctx.store.ledger_refile(conn, case.message_key, Folder.PROCESSED.value)
        ctx.store.audit(
            conn,
            actor,
            "discard",
            reference,
            f"reason={reason} was={','.join(case.decision.reasons)}",
        )
    return _reload(ctx, reference)


def _repeat_answer(
    ctx: Context, reference: str, actor: str, action: str, detail: str, **answer: Any
) -> CaseRecord:
    case = held_case(ctx, reference)
    if case.form is None:
        raise ActionError(f"{reference}: no referral form has been read")
    decision = reassess(ctx, case, **answer)
    if decision is None:
        raise ActionError(
            f"{answer.get('same_as')} is not an earlier MARAC case within the"
            " repeat window that could be this victim"
        )
    with ctx.store.transaction() as conn:
        case = held_case(ctx, reference)
        _decide(ctx, conn, case, decision, actor, action, detail)
    return _reload(ctx, reference)


def _decide(
    ctx: Context,
    conn: sqlite3.Connection,
    case: CaseRecord,
    decision: Decision,
    actor: str,
    action: str,
    detail: str,
    note: str | None = None,
) -> None:
    updated = case.model_copy(update={"decision": decision, "decided_at": ctx.clock.now()})
    ctx.store.audit(
        conn, actor, action, case.reference, f"{detail} was={','.join(case.decision.reasons)}"
    )
    Intake(ctx).commit_decision(conn, updated, actor, note=note)


def _reload(ctx: Context, reference: str) -> CaseRecord:
    case = ctx.casebook.get(reference)
    assert case is not None
    return case


def form_report(ctx: Context, form: FormData, today: date) -> FieldReport:
    """A read form's fields checked as intake checks them (what the case views mark)."""
    return stages.check_referral(form, ctx.config, today)
