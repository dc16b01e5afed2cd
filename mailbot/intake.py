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
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Protocol

import structlog

from mailbot import pipeline
from mailbot.advice import with_note
from mailbot.casebook import Casebook, CaseRecord
from mailbot.config import Config
from mailbot.credentials import Secrets
from mailbot.dispatch.service import Dispatch, build_dispatch
from mailbot.ingest.mailbox import Mailbox
from mailbot.ingest.mime import parse_email
from mailbot.ingest.passwords import is_password_email, password_candidates
from mailbot.meetings import Meeting
from mailbot.models import Decision, Folder, MailboxMessage, Outcome, ParsedEmail, Person
from mailbot.prefetch import Prepared
from mailbot.store import Store
from mailbot.validate.names import victim_key

MAX_ATTEMPTS = 3
ACTOR = "mailbot"
_QUARANTINE = frozenset({"macro_content"})


class Clock(Protocol):
    def now(self) -> datetime: ...


@dataclass
class Intake:
    """Everything processing needs, passed in (tests hand in temporary ones)."""

    config: Config
    secrets: Secrets
    store: Store
    mailbox: Mailbox
    clock: Clock
    log: structlog.typing.FilteringBoundLogger
    dispatch: Dispatch | None = None

    def __post_init__(self) -> None:
        self.casebook = Casebook(self.store)
        if self.dispatch is None:
            self.dispatch = build_dispatch(self.config, self.secrets, self.store)

    # -- entry point --------------------------------------------------------------------

    def process(self, message: MailboxMessage, prepared: Prepared | None = None) -> None:
        """Decide one message and file it. `prepared`: the message already parsed and perhaps
        opened in a worker process (`mailbot.prefetch`), used instead of doing that again."""
        if prepared is not None and prepared.limits != self.config.limits:
            prepared = None  # parsed before a reload changed the limits
        email = prepared.email if prepared is not None \
            else parse_email(message.raw, self.config.limits)
        raw_sha = hashlib.sha256(message.raw).hexdigest()
        key = email.message_id
        row = self.store.ledger_get(key)
        if row is not None and row["raw_sha256"] != raw_sha:
            key = f"{email.message_id}#{raw_sha[:16]}"  # same Message-ID, other content
            row = self.store.ledger_get(key)
        if row is not None and row["state"] == "done":
            self._refile_seen(message, key, row)
            return
        attempts = self.store.ledger_begin(key, raw_sha, message.ref, email.sender,
                                           message.received_at)
        if attempts > MAX_ATTEMPTS:
            self._record(message, email, key, _error("repeated_crash"))
            return
        try:
            if is_password_email(email):
                self._password_email(message, email, key)
            else:
                self._record(message, email, key, self._assess(email, prepared=prepared))
        except Exception as exc:  # a poison message must not stop the daemon
            row = self.store.ledger_get(key)
            if row is not None and row["state"] == "done":
                raise  # decided and committed: only the move failed; the next pass files it
            self.log.error("message.error", error=type(exc).__name__, attempt=attempts)
            self._record(message, email, key, _error(type(exc).__name__))

    def reconcile(self) -> None:
        """Finish moves that a crash interrupted after their decision was committed."""
        for row in self.store.pending_moves():
            new_ref = self.mailbox.refile(row["mailbox_ref"], Folder(row["location"]),
                                          Folder(row["folder"]))
            self.store.ledger_moved(row["message_key"], new_ref, row["folder"])
            self.log.info("message.refiled", reference=row["reference"], folder=row["folder"])

    # -- assessing a referral -----------------------------------------------------------

    def candidate_passwords(self, email: ParsedEmail,
                            extra: tuple[str, ...] = ()) -> list[str]:
        """The passwords to try on the email's documents: its agency's, then `extra`."""
        agency = self.config.agency_for(email.sender)
        return [*self.secrets.passwords_for(agency.id if agency else None), *extra]

    def _assess(self, email: ParsedEmail, extra_passwords: tuple[str, ...] = (),
                prepared: Prepared | None = None) -> _Assessed:
        agency = self.config.agency_for(email.sender)
        passwords = self.candidate_passwords(email, extra_passwords)
        opened = prepared.opened(passwords, self.config.limits) if prepared is not None \
            else None
        if opened is None:
            opened = pipeline.open_referral(email, passwords, self.config.limits)
        if isinstance(opened, pipeline.Unopened):
            return _Assessed(decision=opened.decision)
        today = self._today()
        report = pipeline.check_referral(opened.form, self.config, today)
        facts = report.facts
        history = self.casebook.candidates(facts.victim) if facts.victim else []
        repeat = pipeline.find_repeats(report, history, self.config)
        vkey = victim_key(facts.victim.forenames, facts.victim.surname, facts.victim.dob) \
            if facts.victim else None
        source = agency.id if agency else email.sender
        duplicate_of = self.casebook.find_duplicate(opened.doc_sha256, vkey,
                                                    facts.incident_date, source)
        decision = pipeline.decide_referral(opened, report, repeat, duplicate_of=duplicate_of,
                                            sender=email.sender, config=self.config,
                                            today=today)
        return _Assessed(decision=decision, opened=opened, report_area=facts.area,
                         victim=facts.victim, victim_key=vkey, incident=facts.incident_date,
                         referral_date=facts.referral_date)

    def _record(self, message: MailboxMessage, email: ParsedEmail, key: str,
                assessed: _Assessed, reference: str | None = None) -> str:
        """Commit the case, then move the message out of the inbox."""
        decision = assessed.decision
        folder = _folder_for(decision)
        agency = self.config.agency_for(email.sender)
        with self.store.transaction() as conn:
            ref = reference or self.store.next_reference(conn, message.received_at.year)
            case = CaseRecord(
                reference=ref, message_key=key, message_id=email.message_id,
                received_at=message.received_at, decided_at=self.clock.now(),
                sender=email.sender, agency=agency.name if agency else None,
                decision=decision, area=assessed.report_area,
                doc_sha256=assessed.opened.doc_sha256 if assessed.opened else None,
                victim_key=assessed.victim_key, incident_date=assessed.incident,
                referral_date=assessed.referral_date,
                encrypted=bool(assessed.opened and assessed.opened.encrypted),
                form=assessed.opened.form if assessed.opened else None,
            )
            held_raw = message.raw if "cannot_decrypt" in decision.reasons else None
            self._commit_case(conn, case, assessed.victim, held_raw)
            if assessed.error:
                self.store.audit(conn, ACTOR, "processing_error", ref, f"error={assessed.error}")
            self.store.ledger_finish(conn, key, kind="referral", folder=folder.value,
                                     reference=ref)
        self.log.info("message.decided", reference=ref, outcome=decision.outcome.value,
                      reasons=list(decision.reasons), warnings=list(decision.warnings),
                      criteria=list(decision.criteria), folder=folder.value)
        self._move(message, key, folder)
        return ref

    def _commit_case(self, conn: sqlite3.Connection, case: CaseRecord, victim: Person | None,
                     held_raw: bytes | None, *, actor: str = ACTOR,
                     note: str | None = None) -> None:
        """Inside one transaction: list the case at a meeting, write it, its victim's hearing
        and the held email (if any), and enqueue every message the decision implies."""
        assert self.dispatch is not None
        decision = case.decision
        meeting = None
        if decision.outcome in (Outcome.ACCEPTED, Outcome.INFO_ONLY) and case.area:
            meeting = self.dispatch.listings.choose(conn, case.area, self._today())
            case = case.model_copy(update={"meeting_date": meeting.date if meeting else None})
        self.casebook.save(conn, case)
        self.casebook.remove_hearings(conn, case.reference)
        if decision.outcome in (Outcome.ACCEPTED, Outcome.INFO_ONLY) and victim is not None:
            heard = case.meeting_date or case.received_at.astimezone(self.config.zone).date()
            self.casebook.add_hearing(conn, case.reference, "case", case.area, heard, victim)
        if held_raw is not None:
            self.store.hold_message(conn, case.reference, case.message_key, case.sender,
                                    case.received_at, held_raw)
        else:
            self.store.release_held(conn, case.reference)
        self.store.audit(conn, actor, "decided", case.reference,
                         f"outcome={decision.outcome.value} reasons={','.join(decision.reasons)}")
        self.enqueue_notices(conn, case, meeting, note=note)

    def enqueue_notices(self, conn: sqlite3.Connection, case: CaseRecord,
                        meeting: Meeting | None, *, note: str | None = None) -> None:
        """Put every message `case`'s decision implies in the outbox (caller's transaction).

        `note`: an administrator's advice added to the replies to secure addresses only
        (`mailbot.advice`)."""
        assert self.dispatch is not None
        planner = self.dispatch.planner
        replies = planner.replies(case, meeting)
        if note:
            replies = [with_note(p, note, secure=self.config.is_secure_address(p.recipient))
                       for p in replies]
        messages = [*replies, *planner.idva_alert(case, meeting)]
        listed = case.decision.outcome in (Outcome.ACCEPTED, Outcome.INFO_ONLY)
        if meeting is None and listed:
            messages.append(planner.team_notice(
                "accepted case not listed", "No meeting with room was found for this"
                " accepted case; list it by hand (mailbot cases list-at).", case.reference,
                variant="unlisted"))
        for planned in messages:
            self.dispatch.outbox.enqueue(conn, planned, case.reference, self.clock.now())

    # -- password emails ----------------------------------------------------------------

    def _password_email(self, message: MailboxMessage, email: ParsedEmail, key: str) -> None:
        window = timedelta(hours=self.config.security.password_email_window_hours)
        waiting = self.store.waiting_for_password(email.sender, message.received_at - window)
        candidates = tuple(password_candidates(email))
        opened: list[tuple[dict[str, object], _Assessed]] = []
        for held in waiting if candidates else []:
            held_email = parse_email(bytes(held["raw"]), self.config.limits)
            assessed = self._assess(held_email, candidates)
            if "cannot_decrypt" not in assessed.decision.reasons:
                opened.append((held, assessed))
        folder = Folder.PROCESSED if opened else Folder.EXCEPTIONS
        with self.store.transaction() as conn:
            for held, assessed in opened:
                self._resolve_held(conn, held, assessed)
            self.store.ledger_finish(conn, key, kind="password", folder=folder.value,
                                     reference=None)
            used = ",".join(str(h["reference"]) for h, _ in opened)
            self.store.audit(conn, ACTOR, "password_email", None,
                             f"waiting={len(waiting)} opened={used or 'none'}")
        self.log.info("password_email", waiting=len(waiting), opened=len(opened),
                      folder=folder.value)
        self._move(message, key, folder)
        self.reconcile()

    def _resolve_held(self, conn: sqlite3.Connection, held: dict[str, object],
                      assessed: _Assessed, *, actor: str = ACTOR,
                      how: str = "separate_email") -> None:
        reference = str(held["reference"])
        original = self.casebook.get(reference)
        if original is None:
            return
        decision = assessed.decision
        case = original.model_copy(update={
            "decision": decision, "decided_at": self.clock.now(), "area": assessed.report_area,
            "doc_sha256": assessed.opened.doc_sha256 if assessed.opened else None,
            "victim_key": assessed.victim_key, "incident_date": assessed.incident,
            "referral_date": assessed.referral_date, "encrypted": True,
            "form": assessed.opened.form if assessed.opened else None,
        })
        self._commit_case(conn, case, assessed.victim, None, actor=actor)
        self.store.ledger_refile(conn, original.message_key, _folder_for(decision).value)
        self.store.audit(conn, actor, "password_supplied", reference, f"by={how}")

    # -- administrators' decisions on held cases (mailbot.actions) -----------------------

    def retry_held(self, reference: str, passwords: tuple[str, ...],
                   actor: str) -> Decision | None:
        """Assess a case's held email again from the start, trying `passwords` as well as the
        agency's (never stored or logged). When they open it, the new decision is committed
        exactly as a password email's would be; None when it stays locked (or is not held)."""
        rows = list(self.store.db.query("SELECT * FROM held_messages WHERE reference = ?",
                                        [reference]))
        if not rows:
            return None
        held = rows[0]
        assessed = self._assess(parse_email(bytes(held["raw"]), self.config.limits), passwords)
        if "cannot_decrypt" in assessed.decision.reasons:
            return None
        with self.store.transaction() as conn:
            current = self.casebook.get(reference)
            if current is None or current.decision.outcome is not Outcome.HELD:
                return None  # decided meanwhile (a password email, another administrator)
            self._resolve_held(conn, held, assessed, actor=actor, how="administrator")
        return assessed.decision

    def commit_decision(self, conn: sqlite3.Connection, case: CaseRecord, actor: str, *,
                        note: str | None = None) -> None:
        """Commit an administrator's decision on a held case (caller's transaction) through
        the same steps as an automatic one: listing, hearing, audit, messages, then refile."""
        victim = None
        if case.form is not None:
            victim = pipeline.check_referral(case.form, self.config, self._today()).facts.victim
        self._commit_case(conn, case, victim, None, actor=actor, note=note)
        self.store.ledger_refile(conn, case.message_key, _folder_for(case.decision).value)

    # -- helpers ------------------------------------------------------------------------

    def _refile_seen(self, message: MailboxMessage, key: str, row: dict[str, object]) -> None:
        folder = Folder(str(row["folder"]))
        new_ref = self.mailbox.mark_done(message.ref, folder)
        if row["location"] == Folder.INBOX.value:
            self.store.ledger_moved(key, new_ref, folder.value)
        self.log.info("message.already_processed", reference=row["reference"],
                      folder=folder.value)

    def _move(self, message: MailboxMessage, key: str, folder: Folder) -> None:
        new_ref = self.mailbox.mark_done(message.ref, folder)
        self.store.ledger_moved(key, new_ref, folder.value)

    def _today(self) -> date:
        return self.clock.now().astimezone(self.config.zone).date()


@dataclass(frozen=True)
class _Assessed:
    decision: Decision
    opened: pipeline.OpenedForm | None = None
    report_area: str | None = None
    victim: Person | None = None
    victim_key: str | None = None
    incident: date | None = None
    referral_date: date | None = None
    error: str | None = None  # an exception's class name: never its message (may hold PII)


def _error(kind: str) -> _Assessed:
    return _Assessed(decision=Decision(outcome=Outcome.HELD, reasons=("processing_error",)),
                     error=kind)


def _folder_for(decision: Decision) -> Folder:
    if decision.outcome is Outcome.HELD or _QUARANTINE & set(decision.reasons):
        return Folder.EXCEPTIONS
    return Folder.PROCESSED

