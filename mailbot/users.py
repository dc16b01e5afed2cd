"""Named accounts for the web page, so every action is recorded against a person.

A shared login would make the audit log say "someone in the office" for a decision about a
victim's safety; each administrator gets an account instead (`mailbot users add NAME`).
Passwords are hashed with Argon2id through `argon2-cffi` (a maintained library, never a
hand-rolled hash) and re-hashed when its recommended parameters change. An account is
disabled rather than deleted, so its name in the audit log still means one person.
"""

from __future__ import annotations

import re
from typing import TYPE_CHECKING, Any

from mailbot.errors import MailbotError
from mailbot.store import Store, utcnow

if TYPE_CHECKING:
    from argon2 import PasswordHasher

SCHEMA = """
CREATE TABLE IF NOT EXISTS web_users (
    name TEXT PRIMARY KEY,
    password_hash TEXT NOT NULL,        -- Argon2id, with its own salt and parameters
    created_at TEXT NOT NULL,
    disabled_at TEXT
)
"""
NAME_PATTERN = re.compile(r"^[a-z][a-z0-9._-]{1,31}$")
RESERVED_NAMES = frozenset({"mailbot", "cli", "web", "anonymous", "root", "system"})
MIN_PASSWORD_LENGTH = 12


class UserError(MailbotError):
    """An account cannot be created or changed (the message says why, never the password)."""


class Users:
    """The web page's accounts, in the state database."""

    def __init__(self, store: Store, hasher: PasswordHasher | None = None) -> None:
        # Imported when accounts are used (the web page, `mailbot users`), not at start-up.
        from argon2 import PasswordHasher

        self.store = store
        self.hasher = hasher or PasswordHasher()
        store.ensure_tables(SCHEMA)
        # Verified against when a name is unknown, so a wrong name costs as long as a wrong
        # password and the response time does not tell which names exist.
        self._dummy = self.hasher.hash("not a password of anyone")

    def add(self, name: str, password: str, actor: str) -> None:
        check_name(name)
        check_password(password)
        with self.store.transaction() as conn:
            if conn.execute("SELECT 1 FROM web_users WHERE name = ?", (name,)).fetchone():
                raise UserError(f"there is already an account named {name}")
            conn.execute("INSERT INTO web_users (name, password_hash, created_at)"
                         " VALUES (?, ?, ?)", (name, self.hasher.hash(password),
                                               utcnow().isoformat()))
            self.store.audit(conn, actor, "user_added", None, f"user={name}")

    def set_password(self, name: str, password: str, actor: str) -> None:
        check_password(password)
        with self.store.transaction() as conn:
            cursor = conn.execute("UPDATE web_users SET password_hash = ?, disabled_at = NULL"
                                  " WHERE name = ?", (self.hasher.hash(password), name))
            if cursor.rowcount != 1:
                raise UserError(f"no account named {name}")
            self.store.audit(conn, actor, "user_password_set", None, f"user={name}")

    def disable(self, name: str, actor: str) -> None:
        """Stop an account logging in (a leaver); its web sessions end at their next use."""
        with self.store.transaction() as conn:
            cursor = conn.execute("UPDATE web_users SET disabled_at = ? WHERE name = ?",
                                  (utcnow().isoformat(), name))
            if cursor.rowcount != 1:
                raise UserError(f"no account named {name}")
            self.store.audit(conn, actor, "user_disabled", None, f"user={name}")

    def accounts(self) -> list[dict[str, Any]]:
        return list(self.store.query(
            "SELECT name, created_at, disabled_at FROM web_users ORDER BY name"))

    def is_active(self, name: str) -> bool:
        row = self.store.conn.execute(
            "SELECT disabled_at FROM web_users WHERE name = ?", (name,)).fetchone()
        return row is not None and row[0] is None

    def verify(self, name: str, password: str) -> bool:
        """Whether `password` is the active account `name`'s (in the same time either way)."""
        row = self.store.conn.execute(
            "SELECT password_hash, disabled_at FROM web_users WHERE name = ?",
            (name,)).fetchone()
        from argon2.exceptions import InvalidHashError, VerificationError  # see __init__

        stored = str(row[0]) if row else self._dummy
        try:
            self.hasher.verify(stored, password)
        except (VerificationError, InvalidHashError):
            return False
        if row is None or row[1] is not None:
            return False
        if self.hasher.check_needs_rehash(stored):
            with self.store.transaction() as conn:
                conn.execute("UPDATE web_users SET password_hash = ? WHERE name = ?",
                             (self.hasher.hash(password), name))
        return True


def check_name(name: str) -> None:
    if not NAME_PATTERN.match(name) or name in RESERVED_NAMES:
        raise UserError("an account name is 2 to 32 lower-case letters, digits, dots, dashes"
                        " or underscores, starting with a letter (and not a reserved name"
                        f" such as {', '.join(sorted(RESERVED_NAMES))})")


def check_password(password: str) -> None:
    if len(password) < MIN_PASSWORD_LENGTH:
        raise UserError(f"a password must be at least {MIN_PASSWORD_LENGTH} characters long")
