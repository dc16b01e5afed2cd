"""The messages a decision implies, put in the outbox inside the decision's transaction.

One place because intake (`mailbot.intake.process`), administrators' actions
(`mailbot.actions`), held referrals (`mailbot.intake.held`) and re-listings
(`mailbot.meetings.transfers`) all end here: whatever decided the case, the same replies,
IDVA alert, notices for the Chair and the same guard against a message that cannot be
written safely. A reply to a non-secure address is built from the `BlindView`: what a
referral of a victim unknown to MARAC would have had.
"""

from __future__ import annotations

import sqlite3
from dataclasses import dataclass
from datetime import date
from typing import Protocol

import structlog

from mailbot.cases.casebook import Casebook, CaseRecord
from mailbot.config import Config
from mailbot.dispatch.advice import with_note
from mailbot.dispatch.compose import Planned, UnbuildableMessage
from mailbot.dispatch.parts import Dispatch
from mailbot.dispatch.plan import BlindView
from mailbot.models import Clock, Decision, Meeting, Outcome

LISTED_OUTCOMES = (Outcome.ACCEPTED, Outcome.INFO_ONLY)


class MeetingChooser(Protocol):
    """Which meeting a case of an area would be listed at today (`mailbot.meetings.listing`)."""

    def choose(self, conn: sqlite3.Connection, area: str, today: date) -> Meeting | None: ...


@dataclass(frozen=True)
class Notices:
    """What is sent about a decided case, whoever decided it."""

    config: Config
    dispatch: Dispatch
    casebook: Casebook
    meetings: MeetingChooser
    clock: Clock
    log: structlog.typing.FilteringBoundLogger

    def enqueue(
        self,
        conn: sqlite3.Connection,
        case: CaseRecord,
        meeting: Meeting | None,
        *,
        note: str | None = None,
        blind: Decision | None = None,
        idva: bool = True,
        answer: bool = True,
    ) -> None:
        """Put every message `case`'s decision implies in the outbox (caller's transaction).

        `note`: an administrator's advice added to the replies to secure addresses only
        (`mailbot.dispatch.advice`). `blind`: the decision as it would be without the
        victim's history; without it (an administrator's decision) every address is answered
        from the decision itself. `idva`: False when the IDVA service hears of the case
        through another of its referrals. `answer`: False for an email from a machine
        (RFC 3834): no reply at all. Other mail (no referral at all) implies nothing: no
        reply, and no notice per email either (the team reads the "other mail" listing)."""
        if case.decision.outcome is Outcome.OTHER:
            return
        planner = self.dispatch.planner
        opener = self.casebook.get(case.case) if case.joined else None
        blind_view = self._blind_view(conn, case, meeting, blind)
        replies = planner.replies(case, meeting, blind=blind_view) if answer else []
        if note:
            replies = [
                with_note(p, note, secure=self.config.is_secure_address(p.recipient))
                for p in replies
            ]
        alerts = planner.idva_alert(case, meeting, opener=opener) if idva else []
        messages = [*replies, *alerts, *planner.chair_notices(case, meeting)]
        if blind_view is not None:
            messages.extend(planner.blind_reply_notice(case, meeting, blind_view, replies))
        listed = case.decision.outcome in LISTED_OUTCOMES
        if not answer and listed:
            messages.append(
                planner.team_notice(
                    "referral from an automatic sender not answered",
                    "The referral came from a"
                    " system that must not be answered automatically (Auto-Submitted, a list or a"
                    " bounce address), so no confirmation was sent: confirm the listing to the"
                    " referrer by hand.",
                    case.reference,
                    variant="automatic",
                )
            )
        if meeting is None and listed:
            messages.append(
                planner.team_notice(
                    "accepted case not listed",
                    "No meeting with room was found for this"
                    " accepted case; list it by hand (mailbot cases list-at).",
                    case.reference,
                    variant="unlisted",
                )
            )
        for planned in messages:
            self.enqueue_one(conn, planned, case.reference)

    def enqueue_one(self, conn: sqlite3.Connection, planned: Planned, reference: str) -> None:
        """Put one message in the outbox; one that cannot be written safely (a recipient or
        thread id from outside that is not safe, `mailbot.models.mailbox_address`) is replaced by a
        notice to the team, so the email is still decided and filed."""
        outbox = self.dispatch.outbox
        try:
            outbox.enqueue(conn, planned, reference, self.clock.now())
        except UnbuildableMessage:
            self.log.warning("outbox.unbuildable", kind=planned.kind, reference=reference)
            notice = self.dispatch.planner.team_notice(
                f"{planned.kind} not sent",
                f"The {planned.kind.replace('_', ' ')} could not"
                " be sent: the address it would go to, or the id of the email it answers, is"
                " not one mailbot can write safely. Answer by hand if it is needed.",
                reference,
                variant=f"unbuildable-{planned.kind}-{planned.variant}",
            )
            outbox.enqueue(conn, notice, reference, self.clock.now())

    def _blind_view(
        self,
        conn: sqlite3.Connection,
        case: CaseRecord,
        meeting: Meeting | None,
        blind: Decision | None,
    ) -> BlindView | None:
        """The decision and meeting a reply to a non-secure address is built from: the ones
        a referral of a victim unknown to MARAC would have had."""
        if blind is None:
            return None
        blind_meeting = None
        if blind.outcome in LISTED_OUTCOMES and case.area:
            own_listing = meeting is not None and not case.joined
            today = self.clock.now().astimezone(self.config.zone).date()
            blind_meeting = meeting if own_listing else self.meetings.choose(conn, case.area, today)
        return BlindView(decision=blind, meeting=blind_meeting)
