"""Processing one message: the I/O around the pure pipeline stages.

The order here is what guarantees nothing is lost or done twice: the ledger is consulted
first (a message already decided is only re-filed), the attempt is committed before any heavy
work (a message that keeps crashing the process is recognised and held), the outcome, case,
hearing and audit entry commit in one transaction, and only then does the message leave the
inbox. A failure anywhere before the commit leaves the message in the inbox to be retried.
"""

from __future__ import annotations

import hashlib
import sqlite3
from dataclasses import dataclass, field
from datetime import date, timedelta

from mailbot.cases.casebook import CaseRecord
from mailbot.cases.lifecycle import Listing, current_listing, is_held, list_case, sync_person
from mailbot.codes import Caution, Reason
from mailbot.config import Config
from mailbot.context import Context
from mailbot.dispatch.bounces import read_bounce, record_bounce
from mailbot.dispatch.notices import LISTED_OUTCOMES
from mailbot.errors import StoreBusy
from mailbot.ingest.mailbox import (
    Mailbox,
    MailboxError,
    MessageNotFoundError,
    NoMailbox,
    Rereadable,
)
from mailbot.ingest.maildir import FolderUnwritable
from mailbot.ingest.mime.parse import parse_email
from mailbot.ingest.passwords import is_password_email
from mailbot.intake import stages
from mailbot.intake.held import ACTOR, HeldReferrals
from mailbot.intake.prefetch import LARGE_EMAIL_BYTES, Prepared
from mailbot.intake.stages import Assessed, folder_for, processing_error
from mailbot.models import (
    Decision,
    Folder,
    MailboxMessage,
    Meeting,
    Outcome,
    ParsedEmail,
    Person,
)
from mailbot.store import HeldMessage, LedgerEntry, unwritable

MAX_ATTEMPTS = 3


def source_of(config: Config, sender: str) -> str:
    """Who referred, as duplicates are found: the configured agency's id, else the sender."""
    agency = config.agency_for(sender)
    return agency.id if agency else sender.lower()


_BUSY = (
    "the database cannot be written now (locked, read-only or full): the email waits in"
    " the Inbox for the next pass; if this lasts, see mailbot status"
)


@dataclass
class Intake(HeldReferrals):
    """One email in, one decision out: the I/O around the pipeline's stages."""

    ctx: Context
    mailbox: Mailbox = field(default_factory=NoMailbox)

    # -- entry point --------------------------------------------------------------------

    def process(self, message: MailboxMessage, prepared: Prepared | None = None) -> None:
        """Decide one message and file it. `prepared`: the message already parsed and perhaps
        opened in a worker process (`mailbot.intake.prefetch`), used instead of doing that again."""
        if prepared is not None and prepared.limits != self.ctx.config.limits:
            prepared = None  # parsed before a reload changed the limits
        email = (
            prepared.email
            if prepared is not None
            else parse_email(message.raw, self.ctx.config.limits)
        )
        raw_sha = hashlib.sha256(message.raw).hexdigest()
        key = email.message_id
        row = self.ctx.store.ledger_get(key)
        if row is not None and row.raw_sha256 != raw_sha:
            key = f"{email.message_id}#{raw_sha[:16]}"  # same Message-ID, other content
            row = self.ctx.store.ledger_get(key)
        if row is not None and row.state == "done":
            self._refile_seen(message, key, row)
            return
        try:
            attempts = self.ctx.store.ledger_begin(
                key, raw_sha, message.ref, email.sender, message.received_at
            )
        except sqlite3.OperationalError as exc:
            if not unwritable(exc):
                raise
            raise StoreBusy(_BUSY) from exc
        try:
            # Before the bytes are released: a notice returning the minutes can be large.
            if email.automatic and self._bounce(message, key):
                return
        except sqlite3.OperationalError as exc:
            if not unwritable(exc):
                raise
            self._defer(key)
            raise StoreBusy(_BUSY) from exc
        if message.size > LARGE_EMAIL_BYTES and isinstance(self.mailbox, Rereadable):
            # A referral with photos: parsed, so its bytes are not held while the document is
            # opened; they are read again only if it must be kept for a password.
            message.release()
        if attempts > MAX_ATTEMPTS:
            self._record(message, email, key, processing_error("repeated_crash"))
            return
        try:
            waiting = self._waiting(email, message) if is_password_email(email) else []
            if waiting:
                self._password_email(message, email, key, waiting)
            else:  # an email about a password with nothing waiting is an ordinary email
                self._record(message, email, key, self._assess(email, prepared=prepared))
        except sqlite3.OperationalError as exc:
            if not unwritable(exc):
                raise  # a fault of mailbot's own: as any other (below, via the runner)
            # The database, not the email: locked past the busy timeout, read-only, full.
            # That is no decision: the email stays in the Inbox, its attempt not counted.
            self._defer(key)
            self.ctx.log.warning("message.deferred", error=type(exc).__name__, attempt=attempts)
            raise StoreBusy(_BUSY) from exc
        except Exception as exc:  # a poison message must not stop the daemon
            row = self.ctx.store.ledger_get(key)
            if row is not None and row.state == "done":
                raise  # decided and committed: only the move failed; the next pass files it
            self.ctx.log.error("message.error", error=type(exc).__name__, attempt=attempts)
            self._record(message, email, key, processing_error(type(exc).__name__))

    def _bounce(self, message: MailboxMessage, key: str) -> bool:
        """A delivery failure notice about mail mailbot sent: the message is marked failed
        and the team told (`dispatch.bounces`); it is never a referral. False when the email
        is no such notice (decided as any email, and never answered: it is automatic)."""
        bounce = read_bounce(message.raw)
        if bounce is None or not bounce.message_ids:
            return False
        with self.ctx.store.transaction() as conn:
            dispatch = self.ctx.dispatch
            recorded = record_bounce(
                conn, dispatch.outbox, dispatch.planner, bounce, self.ctx.clock.now()
            )
            if not recorded.matched:
                return False  # about mail that is not ours: rolled back, decided as any email
            row = conn.execute(
                "SELECT reference FROM outbox WHERE id = ?", (recorded.matched[0],)
            ).fetchone()
            self.ctx.store.ledger_finish(
                conn,
                key,
                kind="bounce",
                folder=Folder.PROCESSED.value,
                reference=row[0] if row else None,
            )
            self.ctx.store.audit(
                conn,
                ACTOR,
                "bounce",
                row[0] if row else None,
                f"outbox={','.join(map(str, recorded.matched))} failed={len(recorded.failed)}",
            )
        self.ctx.log.info(
            "message.bounce", matched=len(recorded.matched), failed=len(recorded.failed)
        )
        self._move(message, key, Folder.PROCESSED)
        return True

    def _defer(self, key: str) -> None:
        """Take back the attempt `ledger_begin` counted (if the database lets us now), so a
        long lock does not turn a good email into a 'repeated crash'."""
        try:
            with self.ctx.store.transaction() as conn:
                conn.execute(
                    "UPDATE messages SET attempts = MAX(attempts - 1, 0)"
                    " WHERE message_key = ? AND state = 'processing'",
                    (key,),
                )
        except sqlite3.OperationalError:
            pass  # still locked: counted, and bounded by MAX_ATTEMPTS all the same

    def reconcile(self) -> None:
        """Finish moves that a crash interrupted after their decision was committed.

        A row still saying 'Inbox' may have been moved already (a kill between the rename and
        its record): out of the Inbox a message only ever goes where its decision first filed
        it, so it is confirmed there (`mark_done` is idempotent) before any later re-filing.
        A message found nowhere (moved by hand) is recorded 'Missing' and reported once,
        rather than failing every pass."""
        refused: FolderUnwritable | None = None
        for row in self.ctx.store.pending_moves():
            key, ref, target = row.message_key, row.mailbox_ref, Folder(row.folder)
            location = Folder(row.location)
            try:
                if location is Folder.INBOX:
                    location = Folder(row.filed or row.folder)
                    ref = self.mailbox.mark_done(ref, location)
                    self.ctx.store.ledger_moved(key, ref, location.value)
                if location is not target:
                    ref = self.mailbox.refile(ref, location, target)
                    self.ctx.store.ledger_moved(key, ref, target.value)
            except MessageNotFoundError:
                self.ctx.store.ledger_moved(key, ref, "Missing")
                self.ctx.log.error(
                    "message.missing", reference=row.reference, folder=location.value
                )
                continue
            except FolderUnwritable as exc:  # that folder refuses: the other moves go on
                refused = refused or exc
                continue
            self.ctx.log.info("message.refiled", reference=row.reference, folder=target.value)
        if refused is not None:
            raise refused  # the runner records the folder for status; the next pass retries

    # -- assessing a referral -----------------------------------------------------------

    def candidate_passwords(self, email: ParsedEmail, extra: tuple[str, ...] = ()) -> list[str]:
        """The passwords to try on the email's documents: its agency's, then `extra`."""
        agency = self.ctx.config.agency_for(email.sender)
        return [*self.ctx.secrets.passwords_for(agency.id if agency else None), *extra]

    def _waiting(self, email: ParsedEmail, message: MailboxMessage) -> list[HeldMessage]:
        """The sender's referrals waiting for a password within the window."""
        if not email.sender:
            return []
        window = timedelta(hours=self.ctx.config.security.password_email_window_hours)
        return self.ctx.store.waiting_for_password(email.sender, message.received_at - window)

    def _assess(
        self,
        email: ParsedEmail,
        extra_passwords: tuple[str, ...] = (),
        prepared: Prepared | None = None,
        *,
        agency: bool = True,
    ) -> Assessed:
        """`agency`: False to try only `extra_passwords` (the agency's failed already)."""
        passwords = (
            self.candidate_passwords(email, extra_passwords) if agency else list(extra_passwords)
        )
        opened = (
            prepared.opened(passwords, self.ctx.config.limits) if prepared is not None else None
        )
        return stages.assess(
            email,
            passwords,
            config=self.ctx.config,
            today=self.ctx.today(),
            records=self.ctx.casebook,
            opened=opened,
            source=source_of(self.ctx.config, email.sender),
        )

    def _record(
        self,
        message: MailboxMessage,
        email: ParsedEmail,
        key: str,
        assessed: Assessed,
        reference: str | None = None,
    ) -> str:
        """Commit the case, then move the message out of the inbox."""
        decision = assessed.decision
        folder = folder_for(decision)
        agency = self.ctx.config.agency_for(email.sender)
        held_raw = self._raw(message, key) if Reason.CANNOT_DECRYPT in decision.reasons else None
        with self.ctx.store.transaction() as conn:
            ref = reference or self.ctx.store.next_reference(conn, message.received_at.year)
            case = CaseRecord(
                reference=ref,
                message_key=key,
                message_id=email.message_id,
                received_at=message.received_at,
                decided_at=self.ctx.clock.now(),
                sender=email.sender,
                agency=agency.name if agency else None,
                decision=decision,
                area=assessed.report_area,
                doc_sha256=assessed.opened.doc_sha256 if assessed.opened else None,
                victim_key=assessed.victim_key,
                incident_date=assessed.incident,
                referral_date=assessed.referral_date,
                encrypted=bool(assessed.opened and assessed.opened.encrypted),
                form=assessed.opened.form if assessed.opened else None,
                source=source_of(self.ctx.config, email.sender),
                # Other mail is read by its subject; a referral's may name the victim.
                subject=email.subject if decision.outcome is Outcome.OTHER else None,
            )
            self._commit_case(
                conn,
                case,
                assessed.victim,
                held_raw,
                blind=assessed.blind,
                answer=not email.automatic,
            )
            if assessed.error:
                self.ctx.store.audit(
                    conn, ACTOR, "processing_error", ref, f"error={assessed.error}"
                )
            self.ctx.store.ledger_finish(
                conn, key, kind="referral", folder=folder.value, reference=ref
            )
        # As bare strings: the key=value renderer prints a list by the repr of its items.
        self.ctx.log.info(
            "message.decided",
            reference=ref,
            outcome=decision.outcome.value,
            reasons=[str(c) for c in decision.reasons],
            warnings=[str(c) for c in decision.warnings],
            criteria=[str(c) for c in decision.criteria],
            folder=folder.value,
        )
        self._move(message, key, folder)
        return ref

    def _commit_case(
        self,
        conn: sqlite3.Connection,
        case: CaseRecord,
        victim: Person | None,
        held_raw: bytes | None,
        *,
        actor: str = ACTOR,
        note: str | None = None,
        blind: Decision | None = None,
        answer: bool = True,
    ) -> None:
        """Inside one transaction: put the referral in its case (the open case it joined,
        or its own), list the case at a meeting if it is not listed yet, write the referral,
        keep its victim findable, hold the email (if any), and enqueue every message the
        decision implies. `blind`: the decision as it would be without the victim's
        history, which is all a reply to a non-secure address may depend on. `answer`: False
        for an email from a machine (RFC 3834), which gets no reply."""
        decision = case.decision
        case_ref = decision.joined or case.case_ref or case.reference
        today = self.ctx.today()
        current = current_listing(conn, case_ref)
        if current is not None and is_held(conn, current.area, current.meeting_date, today):
            # Heard since it was looked up: a referral now is a new case, not that one.
            case_ref, current = case.reference, None
        # Whether it joins a case already listed is what the database says now (the case may
        # have been listed since this referral was held, by another of its referrals).
        joined = case_ref if case_ref != case.reference else None
        warnings: list[Caution] = [w for w in decision.warnings if w != Caution.ALREADY_LISTED]
        if joined and current is not None and decision.outcome in LISTED_OUTCOMES:
            warnings.append(Caution.ALREADY_LISTED)
        case = case.model_copy(
            update={
                "decision": decision.model_copy(
                    update={"joined": joined, "warnings": tuple(warnings)}
                )
            }
        )
        meeting = None
        if case.decision.outcome in LISTED_OUTCOMES and case.area:
            meeting = self._listing(conn, case_ref, case.area, current, today)
            case = case.model_copy(update={"meeting_date": meeting.date if meeting else None})
        case = case.model_copy(update={"case_ref": case_ref})
        self.ctx.casebook.save(conn, case)
        received = case.received_at.astimezone(self.ctx.config.zone).date()
        sync_person(conn, case_ref, victim, received)
        if held_raw is not None:
            self.ctx.store.hold_message(
                conn, case.reference, case.message_key, case.sender, case.received_at, held_raw
            )
        else:
            self.ctx.store.release_held(conn, case.reference)
        detail = f"outcome={case.decision.outcome.value} reasons={','.join(case.decision.reasons)}"
        if case.joined:
            detail += f" joined={case.joined}"
        self.ctx.store.audit(conn, actor, "decided", case.reference, detail)
        self.ctx.notices.enqueue(conn, case, meeting, note=note, blind=blind, answer=answer)

    def _listing(
        self,
        conn: sqlite3.Connection,
        case_ref: str,
        area: str,
        current: Listing | None,
        today: date,
    ) -> Meeting | None:
        """The meeting the case is listed at: its current listing, or the first meeting of
        `area` with room (then recorded as the case's listing)."""
        calendar = self.ctx.listings.calendar
        if current is not None:
            return calendar.listed_meeting(current.area, current.meeting_date)
        meeting = self.ctx.listings.choose(conn, area, today)
        if meeting is not None:
            list_case(conn, case_ref, meeting.area, meeting.date, self.ctx.clock.now())
        return meeting

    # -- helpers ------------------------------------------------------------------------

    def _raw(self, message: MailboxMessage, key: str) -> bytes:
        """The message's bytes: as received, or read again from the mailbox if they were
        released, and then only if they are still exactly what was received."""
        if not message.released:
            return message.raw
        assert isinstance(self.mailbox, Rereadable)  # only then are they released
        raw = self.mailbox.read(message.ref)
        row = self.ctx.store.ledger_get(key)
        if row is None or hashlib.sha256(raw).hexdigest() != row.raw_sha256:
            raise MailboxError("the message changed in the mailbox while it was processed")
        return raw

    def _refile_seen(self, message: MailboxMessage, key: str, row: LedgerEntry) -> None:
        folder = Folder(row.folder)
        new_ref = self.mailbox.mark_done(message.ref, folder)
        if row.location == Folder.INBOX.value:
            self.ctx.store.ledger_moved(key, new_ref, folder.value)
        self.ctx.log.info("message.already_processed", reference=row.reference, folder=folder.value)

    def _move(self, message: MailboxMessage, key: str, folder: Folder) -> None:
        new_ref = self.mailbox.mark_done(message.ref, folder)
        self.ctx.store.ledger_moved(key, new_ref, folder.value)

    def _today(self) -> date:
        return self.ctx.clock.now().astimezone(self.ctx.config.zone).date()
