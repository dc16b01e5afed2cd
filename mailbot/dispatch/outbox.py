"""The outbox: every outgoing message is written here first, then sent, and never multiplied.

A message is enqueued in the same transaction as the decision that causes it, under an
idempotency key (case, kind, recipient), so a decision and its messages commit together and a
second enqueue of the same message is a no-op. Its bytes and Message-ID are fixed then, so
any resend is recognisably the same message.

Sending it (claim, send, record, exactly once) is `mailbot.dispatch.deliver`.
"""

from __future__ import annotations

import sqlite3
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from mailbot.dispatch.compose import Planned, build_message, message_id_for
from mailbot.store import Store

MAX_DELAY = timedelta(hours=1)  # the longest wait mailbot sets between two attempts
_BATCH = 100


@dataclass(frozen=True, slots=True)
class OutboxMessage:
    """A message in the outbox, as its row holds it (times as the ISO 8601 text stored)."""

    id: int
    idem_key: str  # case|kind|recipient[|variant]: enqueued once
    reference: str | None
    kind: str
    recipient: str
    message_id: str
    raw: bytes = field(repr=False)  # exactly as it goes on the wire (personal data)
    state: str  # 'pending' | 'sending' | 'sent' | 'failed' | 'unknown' | 'held' | 'dismissed'
    attempts: int
    next_attempt_at: str
    last_error: str | None
    created_at: str
    sent_at: str | None
    claimed_at: str | None  # when the last attempt claimed it
    claimed_by: str | None  # the process that claimed it (pid:token)
    doubts: int  # sends whose result never came


class Outbox:
    """The outbox table, through a `Store`."""

    def __init__(self, store: Store, from_address: str) -> None:
        self.store = store
        self.from_address = from_address

    def enqueue(
        self, conn: sqlite3.Connection, planned: Planned, reference: str | None, now: datetime
    ) -> bool:
        """Add one message (inside the caller's transaction); False if it was already there."""
        key = planned.idem_key(reference)
        message_id = message_id_for(key, self.from_address)
        raw = build_message(
            planned,
            reference=reference,
            from_address=self.from_address,
            message_id=message_id,
            when=now,
        )
        cursor = conn.execute(
            "INSERT OR IGNORE INTO outbox (idem_key, reference, kind, recipient, message_id,"
            " raw, next_attempt_at, created_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
            (
                key,
                reference,
                planned.kind,
                planned.recipient,
                message_id,
                raw,
                now.isoformat(),
                now.isoformat(),
            ),
        )
        return cursor.rowcount == 1

    def due(self, now: datetime, limit: int = _BATCH) -> list[OutboxMessage]:
        """Pending messages due by the database's times alone (see `is_due`)."""
        ids = [row_id for row_id, at in self.pending_times() if is_due(at, now)]
        return self.rows(ids[:limit])

    def pending_times(self) -> list[tuple[int, str]]:
        """(id, next_attempt_at) of every pending message, oldest first."""
        rows = self.store.conn.execute(
            "SELECT id, next_attempt_at FROM outbox WHERE state = 'pending' ORDER BY id"
        )
        return [(int(row_id), str(at)) for row_id, at in rows]

    def rows(self, ids: list[int]) -> list[OutboxMessage]:
        if not ids:
            return []
        marks = ", ".join("?" * len(ids))
        sql = f"SELECT * FROM outbox WHERE id IN ({marks}) ORDER BY id"  # noqa: S608
        return self.store.records(OutboxMessage, sql, ids)

    def get(self, row_id: int) -> OutboxMessage | None:
        found = self.rows([row_id])
        return found[0] if found else None

    def messages(
        self, reference: str | None = None, state: str | None = None
    ) -> list[OutboxMessage]:
        sql, params = "SELECT * FROM outbox WHERE 1 = 1", list[str]()
        if reference is not None:
            sql, params = sql + " AND reference = ?", [*params, reference]
        if state is not None:
            sql, params = sql + " AND state = ?", [*params, state]
        return self.store.records(OutboxMessage, sql + " ORDER BY id", params)

    def counts(self) -> dict[str, int]:
        rows = self.store.conn.execute("SELECT state, COUNT(*) FROM outbox GROUP BY state")
        return {str(state): int(n) for state, n in rows}


def is_due(next_attempt_at: str, now: datetime) -> bool:
    """Due by the wall clock: its time has come, or it lies further ahead than any delay
    mailbot sets (written by a clock that has since gone back: due now, not years later)."""
    try:
        at = datetime.fromisoformat(next_attempt_at)
    except ValueError:
        return True
    if at.tzinfo is None:
        at = at.replace(tzinfo=now.tzinfo)
    return at <= now or at > now + MAX_DELAY
