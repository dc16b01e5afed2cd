"""Failed-login counters in the database, by account and by client address.

Guessing passwords is slowed twice over: a name that keeps failing is locked for a while,
whoever tries it, and a client address that keeps failing is locked whatever names it tries
(spraying one common password over many names is guessing too). The address limit is higher
than the name limit, since colleagues behind one office gateway share an address.

The counters live in SQLite (`web_login_failures`, in `mailbot.schema`), so restarting the page
does not reset them. The table stays bounded whatever is typed: a row goes once its lock has
run out, and past `MAX_ROWS` the oldest rows go first, except those of accounts (there are
only as many as there are accounts), so a flood of junk names cannot grow it or push an
account's lock out. A name that is no account is never stored as typed (it may be a password
typed into the wrong box): its row is keyed by a keyed hash whose key lives only in this
process's memory, so a copy of the database tells nothing, and after a restart such rows
mean nothing and age out. A client address is kept for the quarter of an hour its row lives.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, timedelta

from mailbot.models import Clock
from mailbot.store import Store

NAME_LIMIT = 5  # failures of one name (an account, or not) before it is locked
ADDRESS_LIMIT = 20  # failures from one client address, whatever the names
LOCK_FOR = timedelta(minutes=15)  # from the last failure; also how long a row is kept
MAX_ROWS = 10_000  # rows of non-accounts and addresses kept, at most


@dataclass(frozen=True)
class _Key:
    key: str
    account: bool
    limit: int


class LoginThrottle:
    """Counts failed logins per name and per client address, and says when either is locked.
    `is_account` tells an account's name from anything else typed in the name box."""

    def __init__(self, store: Store, clock: Clock, is_account: Callable[[str], bool]) -> None:
        self.store = store
        self.clock = clock
        self.is_account = is_account
        self._secret = secrets.token_bytes(32)  # for names that are no account: memory only

    def locked(self, name: str, address: str) -> str | None:
        """Which lock stops a login as `name` from `address` now: "name", "address" or None."""
        keys = self._keys(name, address)
        rows = dict(
            self.store.conn.execute(
                "SELECT key, failures FROM web_login_failures WHERE key IN (?, ?) AND last_at > ?",
                (keys[0].key, keys[1].key, self._now(-LOCK_FOR)),
            ).fetchall()
        )
        for kind, key in zip(("name", "address"), keys, strict=True):
            if int(rows.get(key.key, 0)) >= key.limit:
                return kind
        return None

    def failed(self, name: str, address: str) -> None:
        """Count one failed login against the name and the address; drop what has aged out
        and, past `MAX_ROWS`, the oldest rows that are no account's."""
        now, since = self._now(), self._now(-LOCK_FOR)
        with self.store.transaction() as conn:
            for key in self._keys(name, address):
                conn.execute(
                    "INSERT INTO web_login_failures (key, account, failures, last_at)"
                    " VALUES (?, ?, 1, ?) ON CONFLICT (key) DO UPDATE SET"
                    " failures = CASE WHEN last_at > ? THEN failures + 1 ELSE 1 END,"
                    " last_at = excluded.last_at, account = excluded.account",
                    (key.key, int(key.account), now, since),
                )
            conn.execute("DELETE FROM web_login_failures WHERE last_at <= ?", (since,))
            (count,) = conn.execute(
                "SELECT COUNT(*) FROM web_login_failures WHERE account = 0"
            ).fetchone()
            if count > MAX_ROWS:
                conn.execute(
                    "DELETE FROM web_login_failures WHERE key IN (SELECT key FROM"
                    " web_login_failures WHERE account = 0 ORDER BY last_at LIMIT ?)",
                    (count - MAX_ROWS,),
                )

    def succeeded(self, name: str) -> None:
        """A login as `name` worked: its failures are forgotten (the address's are not, or
        one account could clear its address between guesses at others)."""
        with self.store.transaction() as conn:
            conn.execute("DELETE FROM web_login_failures WHERE key = ?", (self._name(name).key,))

    def _keys(self, name: str, address: str) -> tuple[_Key, _Key]:
        return self._name(name), _Key(f"address:{address}", False, ADDRESS_LIMIT)

    def _name(self, name: str) -> _Key:
        if self.is_account(name):
            return _Key(f"account:{name}", True, NAME_LIMIT)
        digest = hmac.new(self._secret, name.encode(), hashlib.sha256).hexdigest()
        return _Key(f"name:{digest[:32]}", False, NAME_LIMIT)

    def _now(self, offset: timedelta = timedelta()) -> str:
        return (self.clock.now() + offset).astimezone(UTC).isoformat()
