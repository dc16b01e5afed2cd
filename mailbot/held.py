"""Held referrals: opening one with a password emailed separately, or with a password or a
decision an administrator gives (`mailbot.actions`).

Kept apart from `mailbot.intake` because these paths start from a case already decided as
held, not from a new email; they end the same way, through `Intake._commit_case` (listing,
hearing, audit, every message the decision implies) and a re-filing of the original email
that `Intake.reconcile` carries out after the commit.
"""

from __future__ import annotations

import sqlite3
from datetime import date, timedelta
from typing import TYPE_CHECKING, Protocol

import structlog

from mailbot import pipeline
from mailbot.config import Config
from mailbot.ingest.mime import parse_email
from mailbot.ingest.passwords import password_candidates
from mailbot.models import Decision, Folder, MailboxMessage, Outcome, ParsedEmail, Person
from mailbot.pipeline import Assessed, folder_for
from mailbot.store import Store

if TYPE_CHECKING:
    from mailbot.casebook import Casebook, CaseRecord
    from mailbot.intake import Clock
    from mailbot.prefetch import Prepared

ACTOR = "mailbot"


class _Intake(Protocol):
    """The parts of `mailbot.intake.Intake` these methods use (their `self`)."""

    config: Config
    store: Store
    casebook: Casebook
    clock: Clock
    log: structlog.typing.FilteringBoundLogger

    def _assess(self, email: ParsedEmail, extra_passwords: tuple[str, ...] = (),
                prepared: Prepared | None = None) -> Assessed: ...

    def _commit_case(self, conn: sqlite3.Connection, case: CaseRecord,
                     victim: Person | None, held_raw: bytes | None, *, actor: str = ...,
                     note: str | None = None, blind: Decision | None = None) -> None: ...

    def _resolve_held(self, conn: sqlite3.Connection, held: dict[str, object],
                      assessed: Assessed, *, actor: str = ..., how: str = ...) -> None: ...

    def _move(self, message: MailboxMessage, key: str, folder: Folder) -> None: ...

    def reconcile(self) -> None: ...

    def _today(self) -> date: ...


class HeldReferrals:
    """What `Intake` does with held referrals (a mixin over Intake's own stages)."""

    def _password_email(self: _Intake, message: MailboxMessage, email: ParsedEmail,
                        key: str) -> None:
        window = timedelta(hours=self.config.security.password_email_window_hours)
        waiting = self.store.waiting_for_password(email.sender, message.received_at - window)
        candidates = tuple(password_candidates(email))
        opened: list[tuple[dict[str, object], Assessed]] = []
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

    def _resolve_held(self: _Intake, conn: sqlite3.Connection, held: dict[str, object],
                      assessed: Assessed, *, actor: str = ACTOR,
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
        self._commit_case(conn, case, assessed.victim, None, actor=actor, blind=assessed.blind)
        self.store.ledger_refile(conn, original.message_key, folder_for(decision).value)
        self.store.audit(conn, actor, "password_supplied", reference, f"by={how}")

    def retry_held(self: _Intake, reference: str, passwords: tuple[str, ...],
                   actor: str) -> Decision | None:
        """Assess a case's held email again from the start, trying `passwords` as well as the
        agency's (never stored or logged). When they open it, the new decision is committed
        exactly as a password email's would be; None when it stays locked (or is not held)."""
        rows = list(self.store.query("SELECT * FROM held_messages WHERE reference = ?",
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

    def commit_decision(self: _Intake, conn: sqlite3.Connection, case: CaseRecord,
                        actor: str, *, note: str | None = None) -> None:
        """Commit an administrator's decision on a held case (caller's transaction) through
        the same steps as an automatic one: listing, hearing, audit, messages, then refile."""
        victim = None
        if case.form is not None:
            victim = pipeline.check_referral(case.form, self.config, self._today()).facts.victim
        self._commit_case(conn, case, victim, None, actor=actor, note=note)
        self.store.ledger_refile(conn, case.message_key, folder_for(case.decision).value)
