"""Server-side login sessions that expire, for a page that shows victims' details.

The browser holds only a random token; the database holds its SHA-256, so a copy of the
database (a backup, say) does not let anyone log in. A session ends after a quiet spell
(someone walked away from the desk) and, however busy, a fixed time after logging in. Each
session has its own CSRF token, put in every form and checked on every POST. The clock is
passed in so the tests can move time on.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
import sqlite3
from dataclasses import dataclass
from datetime import datetime, timedelta

from mailbot.models import Clock
from mailbot.store import Store


@dataclass(frozen=True)
class Session:
    token_hash: str
    user: str
    csrf: str
    created_at: datetime
    last_seen: datetime


def _hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def tokens_match(given: str | None, expected: str) -> bool:
    """Constant-time comparison of a submitted token with the expected one."""
    return given is not None and hmac.compare_digest(given.encode(), expected.encode())


class Sessions:
    def __init__(self, store: Store, clock: Clock, *, idle: timedelta, absolute: timedelta) -> None:
        self.store = store
        self.clock = clock
        self.idle = idle
        self.absolute = absolute

    def create(self, user: str) -> tuple[str, Session]:
        """A new session for `user`: (the token for the cookie, the session)."""
        token = secrets.token_urlsafe(32)
        now = self.clock.now()
        session = Session(_hash(token), user, secrets.token_urlsafe(32), now, now)
        with self.store.transaction() as conn:
            self._purge(conn, now)
            conn.execute(
                "INSERT INTO web_sessions (token_hash, user, csrf, created_at,"
                " last_seen) VALUES (?, ?, ?, ?, ?)",
                (session.token_hash, user, session.csrf, now.isoformat(), now.isoformat()),
            )
        return token, session

    def get(self, token: str | None) -> Session | None:
        """The live session for a cookie's token (its idle timer restarted), or None."""
        if not token:
            return None
        key = _hash(token)
        now = self.clock.now()
        with self.store.transaction() as conn:
            row = conn.execute(
                "SELECT user, csrf, created_at, last_seen FROM web_sessions WHERE token_hash = ?",
                (key,),
            ).fetchone()
            if row is None:
                return None
            created, seen = datetime.fromisoformat(row[2]), datetime.fromisoformat(row[3])
            if self._expired(created, seen, now):
                conn.execute("DELETE FROM web_sessions WHERE token_hash = ?", (key,))
                return None
            conn.execute(
                "UPDATE web_sessions SET last_seen = ? WHERE token_hash = ?", (now.isoformat(), key)
            )
        return Session(key, str(row[0]), str(row[1]), created, now)

    def end(self, session: Session) -> None:
        with self.store.transaction() as conn:
            conn.execute("DELETE FROM web_sessions WHERE token_hash = ?", (session.token_hash,))

    def set_flash(self, session: Session, message: str) -> None:
        with self.store.transaction() as conn:
            conn.execute(
                "UPDATE web_sessions SET flash = ? WHERE token_hash = ?",
                (message, session.token_hash),
            )

    def pop_flash(self, session: Session) -> str | None:
        with self.store.transaction() as conn:
            row = conn.execute(
                "SELECT flash FROM web_sessions WHERE token_hash = ?", (session.token_hash,)
            ).fetchone()
            if row is None or row[0] is None:
                return None
            conn.execute(
                "UPDATE web_sessions SET flash = NULL WHERE token_hash = ?", (session.token_hash,)
            )
        return str(row[0])

    def _expired(self, created: datetime, seen: datetime, now: datetime) -> bool:
        return now - seen >= self.idle or now - created >= self.absolute

    def _purge(self, conn: sqlite3.Connection, now: datetime) -> None:
        conn.execute(
            "DELETE FROM web_sessions WHERE last_seen <= ? OR created_at <= ?",
            ((now - self.idle).isoformat(), (now - self.absolute).isoformat()),
        )
