"""mailbot's state in one SQLite file: the message ledger, cases, people and the audit log.

The ledger is what makes "nothing is lost, nothing is done twice" hold: a message is only
moved out of the inbox after its outcome is committed here, and a message whose key is
already in the ledger is never processed again (a restart, or a re-delivered copy). The file
is created mode 0600 because it holds the referrals' personal data. The audit log is
append-only: triggers refuse updates and deletes. What leaves the store is a typed record
(`LedgerEntry`, `AuditEntry`, `HeldMessage`) whose fields are its table's columns, times as
the ISO 8601 text stored; `query` stays for the ad hoc reads of reports.
"""

from __future__ import annotations

import contextlib
import json
import os
import sqlite3
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from functools import cached_property
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

from mailbot import schema
from mailbot.errors import StoreError

if TYPE_CHECKING:
    import sqlite_utils


# SQLite's names for a database that cannot be written because of its state (another process
# holds the write lock past the busy timeout, the file or its disk is read-only or full, an
# I/O error), as opposed to a wrong statement, which is an OperationalError as well.
_UNWRITABLE = (
    "SQLITE_BUSY",
    "SQLITE_LOCKED",
    "SQLITE_READONLY",
    "SQLITE_FULL",
    "SQLITE_IOERR",
    "SQLITE_CANTOPEN",
    "SQLITE_PROTOCOL",
)
R = TypeVar("R")


@dataclass(frozen=True, slots=True)
class LedgerEntry:
    """An email in the ledger (`messages`): what became of it, where it must end up
    (`folder`) and where it was last confirmed to be (`location`)."""

    message_key: str
    raw_sha256: str
    mailbox_ref: str
    folder: str
    filed: str | None  # where its decision first sent it out of the Inbox
    location: str  # a folder, or 'Missing'
    state: str  # 'processing' | 'done'
    kind: str | None  # 'referral' | 'password' | 'bounce'
    reference: str | None
    sender: str
    received_at: str
    attempts: int
    finished_at: str | None


@dataclass(frozen=True, slots=True)
class AuditEntry:
    """One line of the audit log: `detail` holds codes and counts, never personal data."""

    id: int
    at: str
    actor: str
    action: str
    reference: str | None
    detail: str


@dataclass(frozen=True, slots=True)
class HeldMessage:
    """An email whose referral waits for a password, kept as received."""

    reference: str
    message_key: str
    sender: str
    received_at: str
    raw: bytes = field(repr=False)  # documents still encrypted; personal data


def utcnow() -> datetime:
    return datetime.now(UTC)


def unwritable(exc: BaseException) -> bool:
    """Whether `exc` says the database cannot be written now (locked, read-only, full, I/O)
    rather than that mailbot asked it something wrong."""
    name = getattr(exc, "sqlite_errorname", "") or ""
    return isinstance(exc, sqlite3.Error) and name.startswith(_UNWRITABLE)


class Store:
    """The database, opened once per process and passed to whoever needs it."""

    def __init__(self, path: Path) -> None:
        path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
        if not path.exists():
            os.close(os.open(path, os.O_CREAT | os.O_WRONLY, 0o600))
        os.chmod(path, 0o600)
        self.path = path
        conn = sqlite3.connect(path, isolation_level=None, check_same_thread=False)
        self.conn = conn
        # As sqlite-utils set it when it wrapped every connection: REPLACE fires delete triggers.
        conn.execute("PRAGMA recursive_triggers=ON")
        conn.execute("PRAGMA journal_mode=WAL")
        conn.execute("PRAGMA synchronous=FULL")
        conn.execute("PRAGMA foreign_keys=ON")
        conn.execute("PRAGMA busy_timeout=10000")
        self._migrate()

    def _migrate(self) -> None:
        version = schema.version(self.conn)
        if version > schema.VERSION:
            raise StoreError(
                f"database schema {version} is newer than this mailbot ({schema.VERSION})"
            )
        if version < schema.VERSION:
            with self.transaction():
                schema.upgrade(self.conn)

    @cached_property
    def db(self) -> sqlite_utils.Database:
        """sqlite-utils over the same connection, made at first use: the library is start-up
        time and memory that the daemon's own queries (`query`) do not need."""
        import sqlite_utils

        return sqlite_utils.Database(self.conn)

    def query(self, sql: str, params: Sequence[Any] = ()) -> Iterator[dict[str, Any]]:
        """The rows of a SELECT as dictionaries keyed by column name (run at once, read as
        iterated)."""
        cursor = self.conn.execute(sql, params)
        keys = [column[0] for column in cursor.description]
        return (dict(zip(keys, row, strict=True)) for row in cursor)

    def records(self, record: Callable[..., R], sql: str, params: Sequence[Any] = ()) -> list[R]:
        """The rows of a SELECT as typed records, each made from its columns by name."""
        return [record(**row) for row in self.query(sql, params)]

    @contextmanager
    def transaction(self) -> Iterator[sqlite3.Connection]:
        """One atomic unit of work: everything inside commits together or not at all.

        A failed COMMIT (a full disk) is rolled back too; and after an I/O error SQLite has
        already rolled back by itself, so the error raised is always the one that happened,
        never a "no transaction is active" from a second rollback."""
        self.conn.execute("BEGIN IMMEDIATE")
        try:
            yield self.conn
            self.conn.execute("COMMIT")
        except BaseException:
            if self.conn.in_transaction:
                with contextlib.suppress(sqlite3.Error):
                    self.conn.execute("ROLLBACK")
            raise

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

    def ledger_get(self, message_key: str) -> LedgerEntry | None:
        rows = self.records(
            LedgerEntry, "SELECT * FROM messages WHERE message_key = ?", [message_key]
        )
        return rows[0] if rows else None

    def ledger_begin(
        self,
        message_key: str,
        raw_sha256: str,
        mailbox_ref: str,
        sender: str,
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
        self,
        conn: sqlite3.Connection,
        message_key: str,
        *,
        kind: str,
        folder: str,
        reference: str | None,
    ) -> None:
        conn.execute(
            "UPDATE messages SET state = 'done', kind = ?, folder = ?, filed = ?,"
            " reference = ?, finished_at = ? WHERE message_key = ?",
            (kind, folder, folder, reference, utcnow().isoformat(), message_key),
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
        conn.execute("UPDATE messages SET folder = ? WHERE message_key = ?", (folder, message_key))

    def pending_moves(self) -> list[LedgerEntry]:
        """Decided messages not confirmed in their folder: a crash before or after the move
        out of the Inbox (location still 'Inbox'), or a re-filing not yet done."""
        return self.records(
            LedgerEntry,
            "SELECT * FROM messages WHERE state = 'done' AND location != folder"
            " AND location != 'Missing' ORDER BY received_at",
        )

    # -- sequences and audit ------------------------------------------------------------

    def next_reference(self, conn: sqlite3.Connection, year: int) -> str:
        """The next case reference, e.g. MARAC-2026-00042 (call inside a transaction)."""
        name = f"case-{year}"
        conn.execute(
            "INSERT INTO sequences VALUES (?, 1) ON CONFLICT(name) DO UPDATE SET value = value + 1",
            (name,),
        )
        value = conn.execute("SELECT value FROM sequences WHERE name = ?", (name,)).fetchone()
        return f"MARAC-{year}-{int(value[0]):05d}"

    def audit(
        self,
        conn: sqlite3.Connection,
        actor: str,
        action: str,
        reference: str | None,
        detail: str = "",
    ) -> None:
        """Append to the audit log. `detail` must hold codes and counts, never personal data."""
        conn.execute(
            "INSERT INTO audit (at, actor, action, reference, detail) VALUES (?, ?, ?, ?, ?)",
            (utcnow().isoformat(), actor, action, reference, detail),
        )

    def audit_log(self, reference: str | None = None) -> list[AuditEntry]:
        if reference is None:
            return self.records(AuditEntry, "SELECT * FROM audit ORDER BY id")
        return self.records(
            AuditEntry, "SELECT * FROM audit WHERE reference = ? ORDER BY id", [reference]
        )

    # -- held messages (awaiting a password) --------------------------------------------

    def hold_message(
        self,
        conn: sqlite3.Connection,
        reference: str,
        message_key: str,
        sender: str,
        received_at: datetime,
        raw: bytes,
    ) -> None:
        conn.execute(
            "INSERT OR REPLACE INTO held_messages VALUES (?, ?, ?, ?, ?)",
            (reference, message_key, sender, received_at.isoformat(), raw),
        )

    def waiting_for_password(self, sender: str, since: datetime) -> list[HeldMessage]:
        return self.records(
            HeldMessage,
            "SELECT * FROM held_messages WHERE sender = ? AND received_at >= ?"
            " ORDER BY received_at",
            [sender, since.isoformat()],
        )

    def release_held(self, conn: sqlite3.Connection, reference: str) -> None:
        conn.execute("DELETE FROM held_messages WHERE reference = ?", (reference,))


def dumps(value: Any) -> str:
    return json.dumps(value, ensure_ascii=False, sort_keys=True, default=str)
