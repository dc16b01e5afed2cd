"""Named accounts for the web page, so every action is recorded against a person.

A shared login would make the audit log say "someone in the office" for a decision about a
victim's safety; each administrator gets an account instead (`mailbot users add NAME`).
Passwords are hashed with Argon2id through `argon2-cffi` (a maintained library, never a
hand-rolled hash) and re-hashed when its recommended parameters change. An account is
disabled rather than deleted, so its name in the audit log still means one person.

A new password or a disabled account ends every web session of that account at once, in the
same transaction: the reason to change a password is usually that someone else may know it,
and a session opened with the old one must not outlive it. Hashing costs tens of
milliseconds of CPU by design, so the web page checks a password in parts: `credential`
reads the database, `matches` and `rehashed` only hash (safe in a worker thread, off the
event loop), and `verify` joins them for everyone else.
"""

from __future__ import annotations

import re
import sqlite3
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from mailbot.errors import MailbotError
from mailbot.store import Store, utcnow

if TYPE_CHECKING:
    from argon2 import PasswordHasher

NAME_PATTERN = re.compile(r"^[a-z][a-z0-9._-]{1,31}$")
RESERVED_NAMES = frozenset({"mailbot", "cli", "web", "anonymous", "root", "system"})
MIN_PASSWORD_LENGTH = 12


class UserError(MailbotError):
    """An account cannot be created or changed (the message says why, never the password)."""


@dataclass(frozen=True)
class Credential:
    """What a login is checked against: the account's hash (a dummy one for a name that is no
    account, so a wrong name costs as long as a wrong password) and whether it may log in."""

    name: str
    password_hash: str
    usable: bool  # an account, not disabled


class Users:
    """The web page's accounts, in the state database."""

    def __init__(self, store: Store, hasher: PasswordHasher | None = None) -> None:
        # Imported when accounts are used (the web page, `mailbot users`), not at start-up.
        from argon2 import PasswordHasher

        self.store = store
        self.hasher = hasher or PasswordHasher()
        # Verified against when a name is unknown, so a wrong name costs as long as a wrong
        # password and the response time does not tell which names exist.
        self._dummy = self.hasher.hash("not a password of anyone")

    def add(self, name: str, password: str, actor: str) -> None:
        check_name(name)
        check_password(password)
        with self.store.transaction() as conn:
            if conn.execute("SELECT 1 FROM web_users WHERE name = ?", (name,)).fetchone():
                raise UserError(f"there is already an account named {name}")
            conn.execute(
                "INSERT INTO web_users (name, password_hash, created_at) VALUES (?, ?, ?)",
                (name, self.hasher.hash(password), utcnow().isoformat()),
            )
            self.store.audit(conn, actor, "user_added", None, f"user={name}")

    def set_password(self, name: str, password: str, actor: str) -> None:
        """A new password (the account enabled again if it was disabled); every web session
        of the account ends."""
        check_password(password)
        password_hash = self.hasher.hash(password)
        with self.store.transaction() as conn:
            cursor = conn.execute(
                "UPDATE web_users SET password_hash = ?, disabled_at = NULL WHERE name = ?",
                (password_hash, name),
            )
            if cursor.rowcount != 1:
                raise UserError(f"no account named {name}")
            ended = _end_sessions(conn, name)
            self.store.audit(
                conn, actor, "user_password_set", None, f"user={name} sessions_ended={ended}"
            )

    def disable(self, name: str, actor: str) -> None:
        """Stop an account logging in (a leaver); every web session of it ends at once."""
        with self.store.transaction() as conn:
            cursor = conn.execute(
                "UPDATE web_users SET disabled_at = ? WHERE name = ?", (utcnow().isoformat(), name)
            )
            if cursor.rowcount != 1:
                raise UserError(f"no account named {name}")
            ended = _end_sessions(conn, name)
            self.store.audit(
                conn, actor, "user_disabled", None, f"user={name} sessions_ended={ended}"
            )

    def accounts(self) -> list[dict[str, Any]]:
        return list(
            self.store.query("SELECT name, created_at, disabled_at FROM web_users ORDER BY name")
        )

    def exists(self, name: str) -> bool:
        """Whether `name` is an account (enabled or not)."""
        query = "SELECT 1 FROM web_users WHERE name = ?"
        return self.store.conn.execute(query, (name,)).fetchone() is not None

    def is_active(self, name: str) -> bool:
        row = self.store.conn.execute(
            "SELECT disabled_at FROM web_users WHERE name = ?", (name,)
        ).fetchone()
        return row is not None and row[0] is None

    def credential(self, name: str) -> Credential:
        """What a login as `name` is checked against (reads the database, hashes nothing)."""
        row = self.store.conn.execute(
            "SELECT password_hash, disabled_at FROM web_users WHERE name = ?", (name,)
        ).fetchone()
        if row is None:
            return Credential(name, self._dummy, usable=False)
        return Credential(name, str(row[0]), usable=row[1] is None)

    def matches(self, credential: Credential, password: str) -> bool:
        """Whether `password` logs in with `credential`, in the same time either way. Hashing
        only, no database: safe to run in a worker thread."""
        from argon2.exceptions import InvalidHashError, VerificationError  # see __init__

        try:
            self.hasher.verify(credential.password_hash, password)
        except (VerificationError, InvalidHashError):
            return False
        return credential.usable

    def rehashed(self, credential: Credential, password: str) -> str | None:
        """A new hash of a matching password when the hasher's parameters have changed since
        it was stored, else None. Hashing only, no database: safe in a worker thread."""
        if not self.hasher.check_needs_rehash(credential.password_hash):
            return None
        return self.hasher.hash(password)

    def save_rehash(self, credential: Credential, password_hash: str) -> None:
        """Store a re-hash, unless the password changed meanwhile (it is then not this one)."""
        with self.store.transaction() as conn:
            conn.execute(
                "UPDATE web_users SET password_hash = ? WHERE name = ? AND password_hash = ?",
                (password_hash, credential.name, credential.password_hash),
            )

    def verify(self, name: str, password: str) -> bool:
        """Whether `password` is the active account `name`'s (in the same time either way)."""
        credential = self.credential(name)
        if not self.matches(credential, password):
            return False
        new_hash = self.rehashed(credential, password)
        if new_hash is not None:
            self.save_rehash(credential, new_hash)
        return True


def _end_sessions(conn: sqlite3.Connection, name: str) -> int:
    """End every web session of account `name`: the web page's `web_sessions` rows (its
    module makes the table; before the page has ever run there is none)."""
    table = "SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'web_sessions'"
    if conn.execute(table).fetchone() is None:
        return 0
    return conn.execute("DELETE FROM web_sessions WHERE user = ?", (name,)).rowcount


def check_name(name: str) -> None:
    if not NAME_PATTERN.match(name) or name in RESERVED_NAMES:
        raise UserError(
            "an account name is 2 to 32 lower-case letters, digits, dots, dashes"
            " or underscores, starting with a letter (and not a reserved name"
            f" such as {', '.join(sorted(RESERVED_NAMES))})"
        )


def check_password(password: str) -> None:
    if len(password) < MIN_PASSWORD_LENGTH:
        raise UserError(f"a password must be at least {MIN_PASSWORD_LENGTH} characters long")
