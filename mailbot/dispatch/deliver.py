"""Delivering the outbox: claim, send, record; never a message multiplied.

Sending is claim, send, record. The claim is a transaction that puts the message in state
'sending' and counts the attempt; only then is it handed to the sender, and its result is
recorded in another transaction. What can go wrong between them never multiplies copies:
- The claim cannot be written (the database is locked, read-only or full): nothing is sent.
- The result cannot be written (the relay said 250, then the database refused): the result
  is kept in memory and nothing more is sent until the database takes it. A process that
  ends meanwhile leaves the claim, which the next one finds (below).
- The server had the whole message and never answered (`UncertainSendError`), or a process
  ended holding a claim (kill -9, a power cut): the message may have arrived. It is resent
  once, with the same Message-ID (the window kill -9 always had); a second doubt is 'unknown'
  and waits for a person (`mailbot outbox retry` or `dismiss`), and the team is told.
Transient failures wait and retry with growing delays, measured on the monotonic clock so a
wall clock that jumps forward does not hurry them and one that jumps back does not hold
them; a time in the database further ahead than any delay mailbot sets was written by a
clock that has since gone back, and counts as due. A permanent failure, or a transient one
past its time, is marked failed and the team is told.
"""

from __future__ import annotations

import os
import secrets
import sqlite3
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta

import structlog

from mailbot.dispatch.outbox import MAX_DELAY, Outbox, OutboxMessage, is_due
from mailbot.dispatch.plan import Planner
from mailbot.dispatch.send.base import (
    PermanentSendError,
    Sender,
    TransientSendError,
    UncertainSendError,
)

BASE_DELAY = timedelta(seconds=30)
GIVE_UP_AFTER = timedelta(hours=24)
ALERT_AFTER = timedelta(hours=1)
AUTOMATIC_RESENDS = 1  # of a message that may have arrived: the duplicate window of kill -9
ORPHANED = "the process sending it ended before its result was recorded"
_OVERDUE = "overdue-"  # the variant of the team notice about a message waiting too long


@dataclass(frozen=True)
class Result:
    """What became of one attempt, as it is to be recorded."""

    state: str  # 'sent' | 'pending' (to retry) | 'failed' | 'unknown'
    error: str | None = None
    delay: timedelta = timedelta(0)
    doubt: bool = False  # this send's result never came: the message may have arrived
    unreachable: bool = False  # no reply code at all: the server itself is down


@dataclass
class SendState:
    """What the sending loop knows that the database may not, kept by the `App` so that a
    configuration reload (a new `Dispatcher`) does not forget it."""

    token: str = field(default_factory=lambda: f"{os.getpid()}:{secrets.token_hex(4)}")
    # Results the database would not take yet: nothing else is sent until it has them.
    unrecorded: dict[int, tuple[OutboxMessage, Result]] = field(default_factory=dict)
    # id -> (monotonic time it is due, the next_attempt_at written with it): a time the
    # database still shows is measured on the monotonic clock; one changed since (an
    # operator's retry or flush) is taken from the database.
    deferred: dict[int, tuple[float, str]] = field(default_factory=dict)
    adopted: bool = False  # claims left by an ended process were looked at
    alerted: set[int] = field(default_factory=set)  # overdue messages the team was told of
    blocked: str | None = None  # why nothing is being sent, for a person


@dataclass
class Dispatcher:
    """Sends what is due in the outbox; used by the daemon loop and `run --once`."""

    outbox: Outbox
    sender: Sender
    planner: Planner
    max_attempts: int
    log: structlog.typing.FilteringBoundLogger
    state: SendState = field(default_factory=SendState)
    give_up_after: timedelta = GIVE_UP_AFTER
    alert_after: timedelta = ALERT_AFTER
    monotonic: Callable[[], float] = time.monotonic

    @property
    def blocked(self) -> str | None:
        """Why sending has stopped (the database cannot be written), or None."""
        return self.state.blocked

    def deliver_due(self, now: datetime, stop: threading.Event | None = None) -> int:
        """Send what is due, one claim at a time, until done, stopped, or a fault that makes
        sending unsafe (the database refuses a claim or a result); then tell the team if the
        oldest message still waiting has waited too long. Returns the number sent."""
        if not self._catch_up(now):
            return 0
        sent = 0
        for row_id in self._due_ids(now):
            if stop is not None and stop.is_set():
                break
            result = self._attempt(row_id, now)
            if result is None:  # the database refused: stop until it takes writes again
                return sent
            sent += result.state == "sent"
            if result.unreachable:
                break  # the rest would only wait on the same dead server
        try:
            self._alert_overdue(now)
        except sqlite3.Error as exc:
            self._refused("notice", exc)
        return sent

    # -- one attempt ----------------------------------------------------------------------

    def _attempt(self, row_id: int, now: datetime) -> Result | None:
        """Claim, send, record. None when the database refused the claim or the result."""
        row = self._claim(row_id, now)
        if row is None:
            return None if self.state.blocked else Result("skipped")  # taken off meanwhile
        result = self._send(row, now)
        return result if self._record(row, result, now) else None

    def _claim(self, row_id: int, now: datetime) -> OutboxMessage | None:
        try:
            with self.outbox.store.transaction() as conn:
                cursor = conn.execute(
                    "UPDATE outbox SET state = 'sending', attempts = attempts + 1,"
                    " claimed_at = ?, claimed_by = ? WHERE id = ? AND state = 'pending'",
                    (now.isoformat(), self.state.token, row_id),
                )
                if cursor.rowcount != 1:
                    return None  # held or dismissed by an operator meanwhile
        except sqlite3.Error as exc:
            self._refused("claim", exc)
            return None
        self.state.blocked = None
        return self.outbox.get(row_id)

    def _send(self, row: OutboxMessage, now: datetime) -> Result:
        try:
            self.sender.send(row.raw, self.outbox.from_address, [row.recipient])
        except TransientSendError as exc:
            return self._transient(row, exc, now)
        except PermanentSendError as exc:
            return Result("failed", str(exc))
        except UncertainSendError as exc:
            return self._doubtful(row, str(exc))
        except Exception as exc:  # a fault in a sender: whether it sent is not known
            self.log.error(
                "outbox.send_error",
                reference=row.reference,
                kind=row.kind,
                error=type(exc).__name__,
            )
            return self._doubtful(row, f"the sender failed ({type(exc).__name__})")
        return Result("sent")

    def _transient(self, row: OutboxMessage, exc: TransientSendError, now: datetime) -> Result:
        attempts = row.attempts  # this one included: counted by the claim
        if attempts >= self.max_attempts and now - _time(row.created_at, now) >= self.give_up_after:
            return Result(
                "failed", f"gave up after {attempts} attempts: {exc}", unreachable=exc.code is None
            )
        return Result(
            "pending",
            str(exc),
            min(BASE_DELAY * 2 ** (attempts - 1), MAX_DELAY),
            unreachable=exc.code is None,
        )

    def _doubtful(self, row: OutboxMessage, reason: str) -> Result:
        """The message may have arrived: resent once (after a pause), then a person decides."""
        if row.doubts < AUTOMATIC_RESENDS:
            return Result(
                "pending",
                f"{reason}; sending it once more, with the same Message-ID",
                BASE_DELAY,
                doubt=True,
            )
        return Result("unknown", reason, doubt=True)

    # -- recording results ----------------------------------------------------------------

    def _record(self, row: OutboxMessage, result: Result, now: datetime) -> bool:
        """Write `result` (kept in memory if the database refuses; then False)."""
        try:
            with self.outbox.store.transaction() as conn:
                self._write(conn, row, result, now)
        except sqlite3.Error as exc:
            self.state.unrecorded[row.id] = (row, result)
            self._refused("result", exc)
            return False
        self._logged(row, result)
        return True

    def _write(
        self, conn: sqlite3.Connection, row: OutboxMessage, result: Result, now: datetime
    ) -> None:
        """Record `result`, unless the message was settled meanwhile (a delivery failure
        notice for an earlier copy marks it failed while it is resent): that stands."""
        row_id = row.id
        doubts = int(result.doubt)
        if result.state == "sent":
            conn.execute(
                "UPDATE outbox SET state = 'sent', sent_at = ?, doubts = doubts + ?"
                " WHERE id = ? AND state = 'sending' AND claimed_by IS ?",
                (now.isoformat(), doubts, row_id, row.claimed_by),
            )
        elif result.state == "pending":
            at = (now + result.delay).isoformat()
            cursor = conn.execute(
                "UPDATE outbox SET state = 'pending', last_error = ?,"
                " next_attempt_at = ?, doubts = doubts + ? WHERE id = ?"
                " AND state = 'sending' AND claimed_by IS ?",
                (result.error, at, doubts, row_id, row.claimed_by),
            )
            if cursor.rowcount:
                self.state.deferred[row_id] = (self.monotonic() + result.delay.total_seconds(), at)
        else:
            cursor = conn.execute(
                "UPDATE outbox SET state = ?, last_error = ?,"
                " doubts = doubts + ? WHERE id = ? AND state = 'sending'"
                " AND claimed_by IS ?",
                (result.state, result.error, doubts, row_id, row.claimed_by),
            )
            if cursor.rowcount:
                self.outbox.store.audit(
                    conn,
                    "mailbot",
                    f"send_{result.state}",
                    row.reference,
                    f"kind={row.kind} outbox={row_id}",
                )
                self._tell_team(conn, row, result, now)

    def _tell_team(
        self, conn: sqlite3.Connection, row: OutboxMessage, result: Result, now: datetime
    ) -> None:
        """A notice for a message that needs a person (unless it was itself to the team)."""
        if row.kind == "team_notice":
            return
        what = f"The {row.kind} message to {row.recipient} (outbox {row.id})"
        if result.state == "failed":
            notice = self.planner.team_notice(
                "a message could not be delivered",
                f"{what} could not be delivered: {result.error}. Check the address and send"
                " it by another route, or `mailbot outbox retry` it once the problem is"
                " fixed.",
                row.reference,
                variant=f"send-failed-{row.id}",
            )
        else:
            notice = self.planner.team_notice(
                "a message may not have arrived",
                f"{what} was sent twice without the mail server confirming it: {result.error}."
                " Ask the recipient whether it arrived; then `mailbot outbox dismiss"
                f" {row.id}` if it did, or `mailbot outbox retry {row.id}` to send it"
                " again.",
                row.reference,
                variant=f"send-unknown-{row.id}",
            )
        self.outbox.enqueue(conn, notice, row.reference, now)

    def _logged(self, row: OutboxMessage, result: Result) -> None:
        fields = {
            "reference": row.reference,
            "kind": row.kind,
            "outbox": row.id,
            "attempt": row.attempts,
        }
        if result.state == "sent":
            self.log.info("outbox.sent", **fields)
        elif result.state == "pending":
            event = "outbox.resend" if result.doubt else "outbox.retry"
            self.log.warning(event, **fields, seconds=int(result.delay.total_seconds()))
        else:
            self.log.error(f"outbox.{result.state}", **fields)

    def _refused(self, what: str, exc: sqlite3.Error) -> None:
        waiting = len(self.state.unrecorded)
        self.state.blocked = (
            f"sending stopped: the database cannot be written ({_errorname(exc)})"
            + (f"; {waiting} sent message(s) not yet recorded" if waiting else "")
        )
        self.log.error("outbox.unwritable", step=what, error=_errorname(exc), waiting=waiting)

    # -- before sending -------------------------------------------------------------------

    def _catch_up(self, now: datetime) -> bool:
        """Record what the database refused before, take over claims an ended process left,
        tell the team of mail waiting too long. False while the database refuses writes."""
        for row_id, (row, result) in list(self.state.unrecorded.items()):
            try:
                with self.outbox.store.transaction() as conn:
                    self._write(conn, row, result, now)
            except sqlite3.Error as exc:
                self._refused("result", exc)
                return False
            del self.state.unrecorded[row_id]
            self._logged(row, result)
        if not self.state.adopted:
            try:
                self._adopt(now)
            except sqlite3.Error as exc:
                self._refused("claim", exc)
                return False
            self.state.adopted = True
        self.state.blocked = None
        return True

    def _adopt(self, now: datetime) -> None:
        """Claims no running sender holds (the process ended between a send and its record):
        each message may have arrived, so it is resent once at once, then left to a person."""
        with self.outbox.store.transaction() as conn:
            rows = self.outbox.store.records(
                OutboxMessage,
                "SELECT * FROM outbox WHERE state = 'sending' AND"
                " (claimed_by IS NULL OR claimed_by != ?) ORDER BY id",
                [self.state.token],
            )
            for row in rows:
                result = self._doubtful(row, ORPHANED)
                self._write(conn, row, Result(result.state, result.error, doubt=True), now)
        for row in rows:
            self.log.warning(
                "outbox.orphaned", reference=row.reference, kind=row.kind, outbox=row.id
            )

    def _alert_overdue(self, now: datetime) -> None:
        """Tell the team once when the oldest message not yet sent has waited too long."""
        row = self.outbox.store.conn.execute(
            "SELECT id, reference, kind, created_at FROM outbox"
            " WHERE state IN ('pending', 'sending') AND idem_key NOT LIKE ?"
            " ORDER BY created_at, id LIMIT 1",
            (f"%|{_OVERDUE}%",),
        ).fetchone()
        if row is None or int(row[0]) in self.state.alerted:
            return
        row_id, reference, kind, created = int(row[0]), row[1], row[2], str(row[3])
        waited = now - _time(created, now)
        if waited < self.alert_after:
            return
        notice = self.planner.team_notice(
            "outgoing mail is waiting",
            f"The oldest message not yet sent (a {kind}, outbox {row_id}) has waited"
            f" {int(waited.total_seconds() // 60)} minutes. Is the mail server reachable?"
            " `mailbot outbox list --state pending` shows what waits and why.",
            reference,
            variant=f"{_OVERDUE}{row_id}",
        )
        with self.outbox.store.transaction() as conn:
            self.outbox.enqueue(conn, notice, reference, now)
        self.state.alerted.add(row_id)
        self.log.warning("outbox.overdue", outbox=row_id, minutes=int(waited.total_seconds() // 60))

    def _due_ids(self, now: datetime) -> list[int]:
        """Pending messages due now: by the monotonic clock for those this process put off,
        by the database's times (see `is_due`) for the others."""
        pending = self.outbox.pending_times()
        deferred = self.state.deferred
        clock = self.monotonic()
        due = []
        for row_id, at in pending:
            known = deferred.get(row_id)
            if known is not None and known[1] == at:
                if clock >= known[0]:
                    due.append(row_id)
            elif is_due(at, now):
                due.append(row_id)
        waiting = {row_id for row_id, _ in pending}
        for row_id in [i for i in deferred if i not in waiting]:
            del deferred[row_id]
        return due


def _time(value: str, now: datetime) -> datetime:
    try:
        at = datetime.fromisoformat(value)
    except ValueError:
        return now
    return at if at.tzinfo is not None else at.replace(tzinfo=now.tzinfo)


def _errorname(exc: sqlite3.Error) -> str:
    return getattr(exc, "sqlite_errorname", None) or type(exc).__name__
