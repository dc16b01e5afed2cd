"""What an administrator can do to a case, in one place for the CLI and the web page.

Each action checks that it makes sense, changes the case in one transaction, records who did
it and when in the audit log, and sends the messages it implies through the outbox, exactly
as an automatic decision would.
"""

from __future__ import annotations

from datetime import date

from mailbot.errors import MailbotError
from mailbot.intake import Intake
from mailbot.meetings import Meeting
from mailbot.models import Outcome


class ActionError(MailbotError):
    """The action cannot be done to this case (the message says why, with no PII)."""


def list_at(intake: Intake, reference: str, day: date, actor: str) -> Meeting:
    """List a case at a named meeting of its area, regardless of cut-off and capacity.

    For emergencies (PROCESS.md): the referrer is told the new date, and the IDVA service
    is alerted again with it.
    """
    case = intake.casebook.get(reference)
    if case is None:
        raise ActionError(f"no case {reference}")
    if case.decision.outcome not in (Outcome.ACCEPTED, Outcome.INFO_ONLY) or not case.area:
        raise ActionError(f"{reference} is {case.decision.outcome.value}: only accepted or"
                          " information-only cases are listed at meetings")
    assert intake.dispatch is not None
    meeting = intake.dispatch.listings.calendar.meeting_on(case.area, day)
    if meeting is None:
        raise ActionError(f"the {case.area} MARAC has no meeting on {day.isoformat()}")
    updated = case.model_copy(update={"meeting_date": meeting.date})
    previous = case.meeting_date.isoformat() if case.meeting_date else "-"
    with intake.store.transaction() as conn:
        intake.casebook.save(conn, updated)
        conn.execute("UPDATE people SET marac_date = ? WHERE reference = ? AND source = 'case'",
                     (meeting.date.isoformat(), reference))
        intake.store.audit(conn, actor, "listed_at", reference,
                           f"area={case.area} meeting={meeting.date.isoformat()}"
                           f" previous={previous}")
        intake.enqueue_notices(conn, updated, meeting)
    return meeting
