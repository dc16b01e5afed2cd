"""The messages a decision implies, put in the outbox inside the decision's transaction.

Kept apart from `mailbot.intake.process` because administrators' actions
(`mailbot.actions`), held referrals (`mailbot.intake.held`) and re-listings
(`mailbot.meetings.transfers`) end here too: whatever decided the case, the same replies,
IDVA alert, notices for the Chair and the same guard against a message that cannot be
written safely. A reply to a non-secure address is built from the `BlindView`: what a
referral of a victim unknown to MARAC would have had.
"""

from __future__ import annotations

import sqlite3
from datetime import date
from typing import TYPE_CHECKING, Protocol

import structlog

from mailbot.cases.casebook import Casebook, CaseRecord
from mailbot.config import Config
from mailbot.dispatch.advice import with_note
from mailbot.dispatch.compose import Planned, UnbuildableMessage
from mailbot.dispatch.plan import BlindView
from mailbot.meetings.calendar import Meeting
from mailbot.models import Decision, Outcome

if TYPE_CHECKING:
    from mailbot.dispatch.service import Dispatch
    from mailbot.intake.process import Clock

LISTED_OUTCOMES = (Outcome.ACCEPTED, Outcome.INFO_ONLY)


class _Intake(Protocol):
    """The parts of `mailbot.intake.process.Intake` these methods use (their `self`)."""

    config: Config
    casebook: Casebook
    clock: Clock
    log: structlog.typing.FilteringBoundLogger
    dispatch: Dispatch | None

    def _enqueue(self, conn: sqlite3.Connection, planned: Planned, reference: str) -> None: ...

    def _blind_view(self, conn: sqlite3.Connection, case: CaseRecord,
                    meeting: Meeting | None, blind: Decision | None) -> BlindView | None: ...

    def _today(self) -> date: ...


class Notices:
    """What `Intake` sends about a decided case (a mixin over Intake's collaborators)."""

    def enqueue_notices(self: _Intake, conn: sqlite3.Connection, case: CaseRecord,
                        meeting: Meeting | None, *, note: str | None = None,
                        blind: Decision | None = None, idva: bool = True,
                        answer: bool = True) -> None:
        """Put every message `case`'s decision implies in the outbox (caller's transaction).

        `note`: an administrator's advice added to the replies to secure addresses only
        (`mailbot.dispatch.advice`). `blind`: see `_commit_case`; without it (an administrator's
        decision) every address is answered from the decision itself. `idva`: False when
        the IDVA service hears of the case through another of its referrals. `answer`: False
        for an email from a machine (RFC 3834): no reply at all."""
        assert self.dispatch is not None
        planner = self.dispatch.planner
        opener = self.casebook.get(case.case) if case.joined else None
        blind_view = self._blind_view(conn, case, meeting, blind)
        replies = planner.replies(case, meeting, blind=blind_view) if answer else []
        if note:
            replies = [with_note(p, note, secure=self.config.is_secure_address(p.recipient))
                       for p in replies]
        alerts = planner.idva_alert(case, meeting, opener=opener) if idva else []
        messages = [*replies, *alerts, *planner.chair_notices(case, meeting)]
        if blind_view is not None:
            messages.extend(planner.blind_reply_notice(case, meeting, blind_view, replies))
        listed = case.decision.outcome in LISTED_OUTCOMES
        if not answer and listed:
            messages.append(planner.team_notice(
                "referral from an automatic sender not answered", "The referral came from a"
                " system that must not be answered automatically (Auto-Submitted, a list or a"
                " bounce address), so no confirmation was sent: confirm the listing to the"
                " referrer by hand.", case.reference, variant="automatic"))
        if meeting is None and listed:
            messages.append(planner.team_notice(
                "accepted case not listed", "No meeting with room was found for this"
                " accepted case; list it by hand (mailbot cases list-at).", case.reference,
                variant="unlisted"))
        for planned in messages:
            self._enqueue(conn, planned, case.reference)

    def _enqueue(self: _Intake, conn: sqlite3.Connection, planned: Planned, reference: str) -> None:
        """Put one message in the outbox; one that cannot be written safely (a recipient or
        thread id from outside that is not safe, `mailbot.addresses`) is replaced by a
        notice to the team, so the email is still decided and filed."""
        assert self.dispatch is not None
        try:
            self.dispatch.outbox.enqueue(conn, planned, reference, self.clock.now())
        except UnbuildableMessage:
            self.log.warning("outbox.unbuildable", kind=planned.kind, reference=reference)
            notice = self.dispatch.planner.team_notice(
                f"{planned.kind} not sent", f"The {planned.kind.replace('_', ' ')} could not"
                " be sent: the address it would go to, or the id of the email it answers, is"
                " not one mailbot can write safely. Answer by hand if it is needed.",
                reference, variant=f"unbuildable-{planned.kind}-{planned.variant}")
            self.dispatch.outbox.enqueue(conn, notice, reference, self.clock.now())

    def _blind_view(self: _Intake, conn: sqlite3.Connection, case: CaseRecord,
                    meeting: Meeting | None, blind: Decision | None) -> BlindView | None:
        """The decision and meeting a reply to a non-secure address is built from: the ones
        a referral of a victim unknown to MARAC would have had."""
        if blind is None:
            return None
        assert self.dispatch is not None
        blind_meeting = None
        if blind.outcome in LISTED_OUTCOMES and case.area:
            own_listing = meeting is not None and not case.joined
            blind_meeting = meeting if own_listing else \
                self.dispatch.listings.choose(conn, case.area, self._today())
        return BlindView(decision=blind, meeting=blind_meeting)
