"""mailbot's state in one SQLite file: the message ledger, cases, people and the audit log.

The ledger is what makes "nothing is lost, nothing is done twice" hold: a message is only
moved out of the inbox after its outcome is committed here, and a message whose key is
already in the ledger is never processed again (a restart, or a re-delivered copy). The file
is created mode 0600 because it holds the referrals' personal data. The audit log is
append-only: triggers refuse updates and deletes.
"""

from __future__ import annotations

import json
import os
import sqlite3
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import sqlite_utils

from mailbot.errors import StoreError

SCHEMA_VERSION = 3  # 3: indexes so no per-message query scans what grows with history

_SCHEMA = """
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS messages (
    message_key TEXT PRIMARY KEY,       -- Message-ID (or a hash of the raw bytes)
    raw_sha256 TEXT NOT NULL,
    mailbox_ref TEXT NOT NULL,
    folder TEXT NOT NULL,               -- where the message must end up
    location TEXT NOT NULL DEFAULT 'Inbox', -- where it was last confirmed to be
    state TEXT NOT NULL,                -- 'processing' | 'done'
    kind TEXT,                          -- 'referral' | 'password'
    reference TEXT,                     -- the case made from it, if any
    sender TEXT NOT NULL,
    received_at TEXT NOT NULL,
    attempts INTEGER NOT NULL DEFAULT 0,
    finished_at TEXT
);
-- Only the few messages whose move a crash interrupted: `pending_moves` runs on every pass.
CREATE INDEX IF NOT EXISTS messages_unmoved ON messages (received_at)
    WHERE state = 'done' AND location != folder AND location != 'Inbox';
CREATE TABLE IF NOT EXISTS cases (
    reference TEXT PRIMARY KEY,
    message_key TEXT NOT NULL,
    message_id TEXT NOT NULL,
    received_at TEXT NOT NULL,
    decided_at TEXT NOT NULL,
    sender TEXT NOT NULL,
    agency TEXT,
    outcome TEXT NOT NULL,
    reasons TEXT NOT NULL,
    warnings TEXT NOT NULL,
    criteria TEXT NOT NULL,
    area TEXT,
    meeting_date TEXT,
    repeat_of TEXT,
    duplicate_of TEXT,
    possible_repeats TEXT NOT NULL DEFAULT '[]',
    doc_sha256 TEXT,
    victim_key TEXT,
    incident_date TEXT,
    referral_date TEXT,
    encrypted INTEGER NOT NULL DEFAULT 0,
    form TEXT                           -- the form as read (personal data)
);
CREATE INDEX IF NOT EXISTS cases_doc ON cases (doc_sha256);
CREATE INDEX IF NOT EXISTS cases_victim ON cases (victim_key);
CREATE INDEX IF NOT EXISTS cases_outcome ON cases (outcome);
CREATE TABLE IF NOT EXISTS people (
    id INTEGER PRIMARY KEY,
    reference TEXT NOT NULL,            -- the MARAC case this hearing belongs to
    source TEXT NOT NULL,               -- 'import' | 'case'
    area TEXT,
    marac_date TEXT NOT NULL,
    surname TEXT NOT NULL,
    forenames TEXT NOT NULL,
    surname_key TEXT NOT NULL,          -- normalised, for matching
    name_key TEXT NOT NULL,
    dob TEXT,
    aliases TEXT NOT NULL DEFAULT '[]',
    alias_keys TEXT NOT NULL DEFAULT '[]'
);
CREATE INDEX IF NOT EXISTS people_dob ON people (dob);
CREATE INDEX IF NOT EXISTS people_name ON people (name_key);
CREATE INDEX IF NOT EXISTS people_ref ON people (reference);
CREATE TABLE IF NOT EXISTS alias_keys (person_id INTEGER NOT NULL, key TEXT NOT NULL);
CREATE INDEX IF NOT EXISTS alias_keys_key ON alias_keys (key);
CREATE INDEX IF NOT EXISTS alias_keys_person ON alias_keys (person_id);
CREATE TABLE IF NOT EXISTS held_messages (
    reference TEXT PRIMARY KEY,         -- a case held as cannot_decrypt
    message_key TEXT NOT NULL,
    sender TEXT NOT NULL,
    received_at TEXT NOT NULL,
    raw BLOB NOT NULL                   -- the email as received (documents still encrypted)
);
CREATE INDEX IF NOT EXISTS held_messages_sender ON held_messages (sender, received_at);
CREATE TABLE IF NOT EXISTS outbox (
    id INTEGER PRIMARY KEY,
    idem_key TEXT NOT NULL UNIQUE,      -- case|kind|recipient[|variant]: enqueued once
    reference TEXT,
    kind TEXT NOT NULL,
    recipient TEXT NOT NULL,
    message_id TEXT NOT NULL,           -- fixed when enqueued, so a resend carries it too
    raw BLOB NOT NULL,                  -- the message exactly as it goes on the wire
    state TEXT NOT NULL DEFAULT 'pending',  -- 'pending' | 'sent' | 'failed'
    attempts INTEGER NOT NULL DEFAULT 0,
    next_attempt_at TEXT NOT NULL,
    last_error TEXT,
    created_at TEXT NOT NULL,
    sent_at TEXT
);
CREATE INDEX IF NOT EXISTS outbox_due ON outbox (state, next_attempt_at);
CREATE INDEX IF NOT EXISTS outbox_reference ON outbox (reference);
CREATE TABLE IF NOT EXISTS meetings (
    area TEXT NOT NULL,
    date TEXT NOT NULL,
    agenda_sent_at TEXT,
    PRIMARY KEY (area, date)
);
CREATE INDEX IF NOT EXISTS cases_meeting ON cases (area, meeting_date, outcome);
CREATE TABLE IF NOT EXISTS sequences (name TEXT PRIMARY KEY, value INTEGER NOT NULL);
CREATE TABLE IF NOT EXISTS audit (
    id INTEGER PRIMARY KEY,
    at TEXT NOT NULL,
    actor TEXT NOT NULL,
    action TEXT NOT NULL,
    reference TEXT,
    detail TEXT NOT NULL DEFAULT ''
);
CREATE TRIGGER IF NOT EXISTS audit_no_update BEFORE UPDATE ON audit
BEGIN SELECT RAISE(ABORT, 'the audit log is append-only'); END;
CREATE TRIGGER IF NOT EXISTS audit_no_delete BEFORE DELETE ON audit
BEGIN SELECT RAISE(ABORT, 'the audit log is append-only'); END;
"""


def utcnow() -> datetime:
    return datetime.now(UTC)


class Store:
    """The database, opened once per process and passed to whoever needs it."""

    def __init__(self, path: Path) -> None:
        path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
        if not path.exists():
            os.close(os.open(path, os.O_CREAT | os.O_WRONLY, 0o600))
        os.chmod(path, 0o600)
        self.path = path
        conn = sqlite3.connect(path, isolation_level=None, check_same_thread=False)
        self.db = sqlite_utils.Database(conn)
        self.conn = conn
        conn.execute("PRAGMA journal_mode=WAL")
        conn.execute("PRAGMA synchronous=FULL")
        conn.execute("PRAGMA foreign_keys=ON")
        conn.execute("PRAGMA busy_timeout=10000")
        self._migrate()

    def _migrate(self) -> None:
        row = None
        if "meta" in self.db.table_names():
            row = self.conn.execute(
                "SELECT value FROM meta WHERE key='schema_version'"
            ).fetchone()
        version = int(row[0]) if row else 0
        if version > SCHEMA_VERSION:
            raise StoreError(
                f"database schema {version} is newer than this mailbot ({SCHEMA_VERSION})"
            )
        if version < SCHEMA_VERSION:
            with self.transaction():
                for statement in _SCHEMA.split(";\n"):
                    if statement.strip():
                        self.conn.execute(statement)
                self.conn.execute(
                    "INSERT OR REPLACE INTO meta VALUES ('schema_version', ?)",
                    (str(SCHEMA_VERSION),),
                )

    def ensure_tables(self, schema: str) -> None:
        """Create a feature module's own tables and indexes if missing (additive only:
        `CREATE TABLE IF NOT EXISTS` / `CREATE INDEX IF NOT EXISTS` statements)."""
        with self.transaction() as conn:
            for statement in schema.split(";"):
                if statement.strip():
                    conn.execute(statement)

    @contextmanager
    def transaction(self) -> Iterator[sqlite3.Connection]:
        """One atomic unit of work: everything inside commits together or not at all."""
        self.conn.execute("BEGIN IMMEDIATE")
        try:
            yield self.conn
        except BaseException:
            self.conn.execute("ROLLBACK")
            raise
        self.conn.execute("COMMIT")

    def close(self) -> None:
        self.conn.close()

    # -- small persistent state (sync watermarks, UIDVALIDITY) ----------------------------

    def state_get(self, key: str) -> str | None:
        row = self.conn.execute("SELECT value FROM meta WHERE key = ?", (f"state:{key}",))
        found = row.fetchone()
        return str(found[0]) if found else None

    def state_set(self, key: str, value: str) -> None:
        with self.transaction() as conn:
            conn.execute("INSERT OR REPLACE INTO meta VALUES (?, ?)", (f"state:{key}", value))

    # -- ledger -------------------------------------------------------------------------

    def ledger_get(self, message_key: str) -> dict[str, Any] | None:
        rows = list(self.db.query("SELECT * FROM messages WHERE message_key = ?", [message_key]))
        return rows[0] if rows else None

    def ledger_begin(
        self, message_key: str, raw_sha256: str, mailbox_ref: str, sender: str,
        received_at: datetime,
    ) -> int:
        """Record that work on a message starts (committed first); return the attempt count.

        A message that crashed the process repeatedly is recognised by its attempt count
        and sent to the exceptions queue instead of crashing it again.
        """
        with self.transaction() as conn:
            conn.execute(
                "INSERT INTO messages (message_key, raw_sha256, mailbox_ref, folder, state,"
                " sender, received_at, attempts) VALUES (?, ?, ?, 'Inbox', 'processing', ?, ?, 1)"
                " ON CONFLICT(message_key) DO UPDATE SET attempts = attempts + 1,"
                " mailbox_ref = excluded.mailbox_ref",
                (message_key, raw_sha256, mailbox_ref, sender, received_at.isoformat()),
            )
            row = conn.execute(
                "SELECT attempts FROM messages WHERE message_key = ?", (message_key,)
            ).fetchone()
        return int(row[0])

    def ledger_finish(
        self, conn: sqlite3.Connection, message_key: str, *, kind: str, folder: str,
        reference: str | None,
    ) -> None:
        conn.execute(
            "UPDATE messages SET state = 'done', kind = ?, folder = ?, reference = ?,"
            " finished_at = ? WHERE message_key = ?",
            (kind, folder, reference, utcnow().isoformat(), message_key),
        )

    def ledger_moved(self, message_key: str, mailbox_ref: str, folder: str) -> None:
        """Confirm a message is now in `folder` under `mailbox_ref`."""
        with self.transaction() as conn:
            conn.execute(
                "UPDATE messages SET mailbox_ref = ?, location = ? WHERE message_key = ?",
                (mailbox_ref, folder, message_key),
            )

    def ledger_refile(self, conn: sqlite3.Connection, message_key: str, folder: str) -> None:
        """Decide that a filed message must move (done by `pending_moves` after commit)."""
        conn.execute("UPDATE messages SET folder = ? WHERE message_key = ?",
                     (folder, message_key))

    def pending_moves(self) -> list[dict[str, Any]]:
        """Filed messages whose move was committed but not yet confirmed (a crash between)."""
        return list(self.db.query(
            "SELECT * FROM messages WHERE state = 'done' AND location != folder"
            " AND location != 'Inbox' ORDER BY received_at"))

    # -- sequences and audit ------------------------------------------------------------

    def next_reference(self, conn: sqlite3.Connection, year: int) -> str:
        """The next case reference, e.g. MARAC-2026-00042 (call inside a transaction)."""
        name = f"case-{year}"
        conn.execute(
            "INSERT INTO sequences VALUES (?, 1) ON CONFLICT(name) DO UPDATE"
            " SET value = value + 1",
            (name,),
        )
        value = conn.execute("SELECT value FROM sequences WHERE name = ?", (name,)).fetchone()
        return f"MARAC-{year}-{int(value[0]):05d}"

    def audit(
        self, conn: sqlite3.Connection, actor: str, action: str, reference: str | None,
        detail: str = "",
    ) -> None:
        """Append to the audit log. `detail` must hold codes and counts, never personal data."""
        conn.execute(
            "INSERT INTO audit (at, actor, action, reference, detail) VALUES (?, ?, ?, ?, ?)",
            (utcnow().isoformat(), actor, action, reference, detail),
        )

    def audit_log(self, reference: str | None = None) -> list[dict[str, Any]]:
        if reference is None:
            return list(self.db.query("SELECT * FROM audit ORDER BY id"))
        return list(self.db.query("SELECT * FROM audit WHERE reference = ? ORDER BY id",
                                  [reference]))

    # -- held messages (awaiting a password) --------------------------------------------

    def hold_message(
        self, conn: sqlite3.Connection, reference: str, message_key: str, sender: str,
        received_at: datetime, raw: bytes,
    ) -> None:
        conn.execute(
            "INSERT OR REPLACE INTO held_messages VALUES (?, ?, ?, ?, ?)",
            (reference, message_key, sender, received_at.isoformat(), raw),
        )

    def waiting_for_password(self, sender: str, since: datetime) -> list[dict[str, Any]]:
        return list(self.db.query(
            "SELECT * FROM held_messages WHERE sender = ? AND received_at >= ?"
            " ORDER BY received_at",
            [sender, since.isoformat()],
        ))

    def release_held(self, conn: sqlite3.Connection, reference: str) -> None:
        conn.execute("DELETE FROM held_messages WHERE reference = ?", (reference,))


def dumps(value: Any) -> str:
    return json.dumps(value, ensure_ascii=False, sort_keys=True, default=str)
