"""The outbox: every outgoing message is written here first, then sent exactly once.

A message is enqueued in the same transaction as the decision that causes it, under an
idempotency key (case, kind, recipient), so a decision and its messages commit together and a
second enqueue of the same message is a no-op. Delivery marks each message sent after the
server accepts it: a crash in between can only cause one resend of the very same bytes (same
Message-ID), the unavoidable window. Transient failures wait and retry with growing delays;
a permanent failure (or too many attempts) is marked failed and the team is told.
"""

from __future__ import annotations

import sqlite3
import threading
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import structlog

from mailbot.dispatch.compose import Planned, build_message, message_id_for
from mailbot.dispatch.plan import Planner
from mailbot.dispatch.senders import (
    PermanentSendError,
    Sender,
    TransientSendError,
    send_with_retry,
)
from mailbot.store import Store

BASE_DELAY = timedelta(seconds=30)
MAX_DELAY = timedelta(hours=1)


class Outbox:
    """The outbox table, through a `Store`."""

    def __init__(self, store: Store, from_address: str) -> None:
        self.store = store
        self.from_address = from_address

    def enqueue(self, conn: sqlite3.Connection, planned: Planned, reference: str | None,
                now: datetime) -> bool:
        """Add one message (inside the caller's transaction); False if it was already there."""
        key = planned.idem_key(reference)
        message_id = message_id_for(key, self.from_address)
        raw = build_message(planned, reference=reference, from_address=self.from_address,
                            message_id=message_id, when=now)
        cursor = conn.execute(
            "INSERT OR IGNORE INTO outbox (idem_key, reference, kind, recipient, message_id,"
            " raw, next_attempt_at, created_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
            (key, reference, planned.kind, planned.recipient, message_id, raw,
             now.isoformat(), now.isoformat()),
        )
        return cursor.rowcount == 1

    def due(self, now: datetime, limit: int = 100) -> list[dict[str, Any]]:
        return list(self.store.query(
            "SELECT * FROM outbox WHERE state = 'pending' AND next_attempt_at <= ?"
            " ORDER BY id LIMIT ?", [now.isoformat(), limit]))

    def messages(self, reference: str | None = None,
                 state: str | None = None) -> list[dict[str, Any]]:
        sql, params = "SELECT * FROM outbox WHERE 1 = 1", list[str]()
        if reference is not None:
            sql, params = sql + " AND reference = ?", [*params, reference]
        if state is not None:
            sql, params = sql + " AND state = ?", [*params, state]
        return list(self.store.query(sql + " ORDER BY id", params))

    def counts(self) -> dict[str, int]:
        rows = self.store.conn.execute("SELECT state, COUNT(*) FROM outbox GROUP BY state")
        return {str(state): int(n) for state, n in rows}


@dataclass
class Dispatcher:
    """Sends what is due in the outbox; used by the daemon loop and `run --once`."""

    outbox: Outbox
    sender: Sender
    planner: Planner
    max_attempts: int
    log: structlog.typing.FilteringBoundLogger

    def deliver_due(self, now: datetime, stop: threading.Event | None = None) -> int:
        sent = 0
        for row in self.outbox.due(now):
            if stop is not None and stop.is_set():
                break
            delivered, server_down = self._deliver(row, now)
            sent += delivered
            if server_down:  # the rest would only wait on the same dead connection
                break
        return sent

    def _deliver(self, row: dict[str, Any], now: datetime) -> tuple[int, bool]:
        """(1 if sent, whether the server itself is unreachable)."""
        store = self.outbox.store
        try:
            send_with_retry(self.sender, bytes(row["raw"]), self.outbox.from_address,
                            [row["recipient"]])
        except TransientSendError as exc:
            attempts = int(row["attempts"]) + 1
            if attempts >= self.max_attempts:
                self._fail(row, f"gave up after {attempts} attempts: {exc}", now)
                return 0, exc.code is None
            delay = min(BASE_DELAY * 2 ** (attempts - 1), MAX_DELAY)
            with store.transaction() as conn:
                conn.execute("UPDATE outbox SET attempts = ?, last_error = ?,"
                             " next_attempt_at = ? WHERE id = ?",
                             (attempts, str(exc), (now + delay).isoformat(), row["id"]))
            self.log.warning("outbox.retry", reference=row["reference"], kind=row["kind"],
                             attempt=attempts, error=type(exc).__name__)
            return 0, exc.code is None  # no reply code: no conversation with the server
        except PermanentSendError as exc:
            self._fail(row, str(exc), now)
            return 0, False
        with store.transaction() as conn:
            conn.execute("UPDATE outbox SET state = 'sent', sent_at = ?, attempts = attempts + 1"
                         " WHERE id = ?", (now.isoformat(), row["id"]))
        self.log.info("outbox.sent", reference=row["reference"], kind=row["kind"])
        return 1, False

    def _fail(self, row: dict[str, Any], reason: str, now: datetime) -> None:
        """Mark a message failed; tell the team (unless it was itself a notice to the team)."""
        store = self.outbox.store
        with store.transaction() as conn:
            conn.execute("UPDATE outbox SET state = 'failed', last_error = ?,"
                         " attempts = attempts + 1 WHERE id = ?", (reason, row["id"]))
            store.audit(conn, "mailbot", "send_failed", row["reference"],
                        f"kind={row['kind']} outbox={row['id']}")
            if row["kind"] != "team_notice":
                notice = self.planner.team_notice(
                    "a message could not be delivered",
                    f"The {row['kind']} message to {row['recipient']} could not be delivered:"
                    f" {reason}. Check the address and send it by another route.",
                    row["reference"], variant=f"send-failed-{row['id']}")
                self.outbox.enqueue(conn, notice, row["reference"], now)
        self.log.error("outbox.failed", reference=row["reference"], kind=row["kind"])
