"""Held referrals: opening one with a password emailed separately, or with a password or a
decision an administrator gives (`mailbot.actions`).

Kept apart from `mailbot.intake.process` because these paths start from a case already decided as
held, not from a new email; they end the same way, through `Intake._commit_case` (listing,
hearing, audit, every message the decision implies) and a re-filing of the original email
that `Intake.reconcile` carries out after the commit.
"""

from __future__ import annotations

import sqlite3
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Protocol

from mailbot.codes import Reason
from mailbot.context import Context
from mailbot.ingest.mime.parse import parse_email
from mailbot.ingest.passwords import password_candidates
from mailbot.intake import stages
from mailbot.intake.stages import Assessed, folder_for
from mailbot.models import (
    Decision,
    DocKind,
    Folder,
    MailboxMessage,
    Outcome,
    ParsedEmail,
    Person,
)
from mailbot.store import HeldMessage

if TYPE_CHECKING:
    from mailbot.cases.casebook import CaseRecord
    from mailbot.intake.prefetch import Prepared

ACTOR = "mailbot"


class _Intake(Protocol):
    """The parts of `mailbot.intake.process.Intake` these methods use (their `self`)."""

    ctx: Context

    def _assess(
        self,
        email: ParsedEmail,
        extra_passwords: tuple[str, ...] = (),
        prepared: Prepared | None = None,
        *,
        agency: bool = True,
    ) -> Assessed: ...

    def _password_budget(self, sender: str, now: datetime) -> int: ...

    def _password_replies(
        self,
        conn: sqlite3.Connection,
        waiting: list[HeldMessage],
        done: set[str],
        postponed: list[str],
    ) -> None: ...

    def _commit_case(
        self,
        conn: sqlite3.Connection,
        case: CaseRecord,
        victim: Person | None,
        held_raw: bytes | None,
        *,
        actor: str = ...,
        note: str | None = None,
        blind: Decision | None = None,
    ) -> None: ...

    def _resolve_held(
        self,
        conn: sqlite3.Connection,
        held: HeldMessage,
        assessed: Assessed,
        *,
        actor: str = ...,
        how: str = ...,
    ) -> None: ...

    def _move(self, message: MailboxMessage, key: str, folder: Folder) -> None: ...

    def reconcile(self) -> None: ...


class HeldReferrals:
    """What `Intake` does with held referrals (a mixin over Intake's own stages)."""

    def _password_email(
        self: _Intake,
        message: MailboxMessage,
        email: ParsedEmail,
        key: str,
        waiting: list[HeldMessage],
    ) -> None:
        """Try the words of a separate password email on its sender's waiting referrals.

        Only the words are tried (the agency's passwords already failed on arrival), within
        a budget of key derivations per email and per sender per day, so a few held emails
        with many documents and a password email of a dozen words cannot stall every other
        referral; what is past the budget stays held for an administrator. Every waiting
        referral's history says what was tried, and when nothing opened, the sender is told.
        """
        candidates = tuple(password_candidates(email))
        budget = self._password_budget(email.sender, message.received_at)
        opened: list[tuple[HeldMessage, Assessed]] = []
        tried: list[str] = []
        postponed: list[str] = []
        spent = 0
        for held in waiting if candidates else []:
            held_email = parse_email(held.raw, self.ctx.config.limits)
            cost = len(candidates) * max(
                1, sum(a.kind is DocKind.ENCRYPTED for a in held_email.attachments)
            )
            if spent + cost > budget:
                postponed.append(held.reference)
                continue
            spent += cost
            tried.append(held.reference)
            assessed = self._assess(held_email, candidates, agency=False)
            if Reason.CANNOT_DECRYPT not in assessed.decision.reasons:
                opened.append((held, assessed))
        folder = Folder.PROCESSED if opened else Folder.EXCEPTIONS
        done = {h.reference for h, _ in opened}
        with self.ctx.store.transaction() as conn:
            for held, assessed in opened:
                self._resolve_held(conn, held, assessed)
            for reference in tried:
                if reference not in done:
                    self.ctx.store.audit(
                        conn,
                        ACTOR,
                        "password_email",
                        reference,
                        f"result=not_opened words={len(candidates)}",
                    )
            for reference in postponed:
                self.ctx.store.audit(
                    conn, ACTOR, "password_email", reference, "result=not_tried budget=spent"
                )
            if spent:
                conn.execute(
                    "INSERT INTO password_spend VALUES (?, ?, ?)",
                    (email.sender, message.received_at.isoformat(), spent),
                )
            self.ctx.store.ledger_finish(
                conn,
                key,
                kind="password",
                folder=folder.value,
                reference=min(done) if done else waiting[0].reference,
            )
            self.ctx.store.audit(
                conn,
                ACTOR,
                "password_email",
                None,
                f"waiting={len(waiting)} opened={','.join(sorted(done)) or 'none'}"
                f" derivations={spent} postponed={len(postponed)}",
            )
            self._password_replies(conn, waiting, done, postponed)
        self.ctx.log.info(
            "password_email",
            waiting=len(waiting),
            opened=len(opened),
            derivations=spent,
            postponed=len(postponed),
            folder=folder.value,
        )
        self._move(message, key, folder)
        self.reconcile()

    def _password_budget(self: _Intake, sender: str, now: datetime) -> int:
        """The key derivations this sender's password email may still spend."""
        security = self.ctx.config.security
        row = self.ctx.store.conn.execute(
            "SELECT COALESCE(SUM(derivations), 0) FROM password_spend WHERE sender = ? AND at >= ?",
            (sender, (now - timedelta(days=1)).isoformat()),
        ).fetchone()
        left = security.password_attempts_per_sender_per_day - int(row[0])
        return max(0, min(security.password_email_max_attempts, left))

    def _password_replies(
        self: _Intake,
        conn: sqlite3.Connection,
        waiting: list[HeldMessage],
        done: set[str],
        postponed: list[str],
    ) -> None:
        """Tell the sender which waiting referrals the password did not open (those opened
        are answered by their decision), and the team which ones wait for a person."""
        planner = self.ctx.dispatch.planner
        for held in waiting:
            reference = held.reference
            if reference in done:
                continue
            case = self.ctx.casebook.get(reference)
            if case is None:
                continue
            for planned in planner.password_not_opened(case, later=reference in postponed):
                self.ctx.notices.enqueue_one(conn, planned, reference)
        if postponed:
            self.ctx.notices.enqueue_one(
                conn,
                planner.team_notice(
                    "passwords not tried",
                    f"A password email tried the passwords it offered on"
                    f" as many waiting referrals as its budget allowed; {len(postponed)} more"
                    f" ({', '.join(postponed)}) wait for an administrator: try the password with"
                    " mailbot queue retry.",
                    None,
                    variant=f"password-budget-{postponed[0]}",
                ),
                postponed[0],
            )

    def _resolve_held(
        self: _Intake,
        conn: sqlite3.Connection,
        held: HeldMessage,
        assessed: Assessed,
        *,
        actor: str = ACTOR,
        how: str = "separate_email",
    ) -> None:
        reference = held.reference
        original = self.ctx.casebook.get(reference)
        if original is None:
            return
        decision = assessed.decision
        case = original.model_copy(
            update={
                "decision": decision,
                "decided_at": self.ctx.clock.now(),
                "area": assessed.report_area,
                "doc_sha256": assessed.opened.doc_sha256 if assessed.opened else None,
                "victim_key": assessed.victim_key,
                "incident_date": assessed.incident,
                "referral_date": assessed.referral_date,
                "encrypted": True,
                "form": assessed.opened.form if assessed.opened else None,
            }
        )
        self._commit_case(conn, case, assessed.victim, None, actor=actor, blind=assessed.blind)
        self.ctx.store.ledger_refile(conn, original.message_key, folder_for(decision).value)
        self.ctx.store.audit(conn, actor, "password_supplied", reference, f"by={how}")

    def retry_held(
        self: _Intake, reference: str, passwords: tuple[str, ...], actor: str
    ) -> Decision | None:
        """Assess a case's held email again from the start, trying `passwords` as well as the
        agency's (never stored or logged). When they open it, the new decision is committed
        exactly as a password email's would be; None when it stays locked (or is not held)."""
        rows = self.ctx.store.records(
            HeldMessage, "SELECT * FROM held_messages WHERE reference = ?", [reference]
        )
        if not rows:
            return None
        held = rows[0]
        assessed = self._assess(parse_email(held.raw, self.ctx.config.limits), passwords)
        if Reason.CANNOT_DECRYPT in assessed.decision.reasons:
            return None
        with self.ctx.store.transaction() as conn:
            current = self.ctx.casebook.get(reference)
            if current is None or current.decision.outcome is not Outcome.HELD:
                return None  # decided meanwhile (a password email, another administrator)
            self._resolve_held(conn, held, assessed, actor=actor, how="administrator")
        return assessed.decision

    def commit_decision(
        self: _Intake,
        conn: sqlite3.Connection,
        case: CaseRecord,
        actor: str,
        *,
        note: str | None = None,
    ) -> None:
        """Commit an administrator's decision on a held case (caller's transaction) through
        the same steps as an automatic one: listing, hearing, audit, messages, then refile."""
        victim = None
        if case.form is not None:
            report = stages.check_referral(case.form, self.ctx.config, self.ctx.today())
            victim = report.facts.victim
        self._commit_case(conn, case, victim, None, actor=actor, note=note)
        self.ctx.store.ledger_refile(conn, case.message_key, folder_for(case.decision).value)
