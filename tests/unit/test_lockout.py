"""Unit tests for `mailbot.web.lockout`: failed-login counters by name and by address.

A fresh database and a fixed clock: how failures add up and run out, which lock stops a
login, what is stored for a name that is no account, and how the table stays bounded.
"""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import pytest

from mailbot.store import Store
from mailbot.web import lockout
from mailbot.web.lockout import LoginThrottle
from tests.conftest import FixedClock

ACCOUNTS = {"alice", "bob"}


@pytest.fixture
def clock() -> FixedClock:
    return FixedClock()


@pytest.fixture
def throttle(tmp_path: Path, clock: FixedClock) -> LoginThrottle:
    return LoginThrottle(Store(tmp_path / "db.sqlite3"), clock, ACCOUNTS.__contains__)


def _rows(throttle: LoginThrottle) -> list[tuple[str, int, int]]:
    query = "SELECT key, account, failures FROM web_login_failures ORDER BY key"
    return [tuple(row) for row in throttle.store.conn.execute(query)]


def test_a_name_locks_after_its_limit_and_opens_after_the_wait(
    throttle: LoginThrottle, clock: FixedClock
) -> None:
    """GIVEN failures of one name from different addresses, each within 15 minutes of the
    one before (a slow guesser)
    WHEN the limit is reached, then 15 quiet minutes pass
    THEN the name is locked, whatever the address, until the wait is over."""
    for n in range(lockout.NAME_LIMIT):
        assert throttle.locked("alice", f"10.0.0.{n}") is None
        throttle.failed("alice", f"10.0.0.{n}")
        clock.current += timedelta(minutes=14)
    assert throttle.locked("alice", "10.9.9.9") == "name"
    clock.current += timedelta(minutes=2)
    assert throttle.locked("alice", "10.9.9.9") is None


def test_failures_spread_wider_than_the_window_start_again(
    throttle: LoginThrottle, clock: FixedClock
) -> None:
    """GIVEN a name failing once every 16 minutes
    WHEN it has failed far more often than the limit
    THEN it is never locked: the count starts again after a quiet spell."""
    for _ in range(lockout.NAME_LIMIT * 3):
        throttle.failed("alice", "10.0.0.1")
        clock.current += timedelta(minutes=16)
    assert throttle.locked("alice", "10.0.0.2") is None
    assert ("account:alice", 1, 1) in _rows(throttle)


def test_an_address_locks_across_names_and_a_success_clears_only_the_name(
    throttle: LoginThrottle,
) -> None:
    """GIVEN one address failing with a different name each time, and alice failing twice
    WHEN the address reaches its limit, and alice then logs in
    THEN the address is locked for every name; alice's failures are forgotten, the
    address's are not."""
    throttle.failed("alice", "10.0.0.9")
    for n in range(lockout.ADDRESS_LIMIT - 1):
        throttle.failed(f"guess{n}", "10.0.0.1")
    assert throttle.locked("bob", "10.0.0.1") is None
    throttle.failed("alice", "10.0.0.1")
    assert throttle.locked("bob", "10.0.0.1") == "address"
    throttle.succeeded("alice")
    assert not any(key == "account:alice" for key, _, _ in _rows(throttle))
    assert throttle.locked("alice", "10.0.0.1") == "address"


def test_a_name_that_is_no_account_is_never_stored_as_typed(
    throttle: LoginThrottle, tmp_path: Path, clock: FixedClock
) -> None:
    """GIVEN a password typed into the name box, failing
    WHEN the table is read, and when another process (a restart) counts the same name
    THEN the table holds a keyed hash, not the text; the hash means nothing to the next
    process (its key was in memory only), while an account's row means the same to both."""
    typed = "correct horse battery staple"
    throttle.failed(typed, "10.0.0.1")
    throttle.failed("alice", "10.0.0.1")
    keys = [key for key, _, _ in _rows(throttle)]
    assert not any(typed in key or "horse" in key for key in keys)
    assert "account:alice" in keys
    restarted = LoginThrottle(throttle.store, clock, ACCOUNTS.__contains__)
    restarted.failed(typed, "10.0.0.2")
    restarted.failed("alice", "10.0.0.2")
    names = [key for key, _, _ in _rows(throttle) if key.startswith("name:")]
    assert len(names) == 2
    assert ("account:alice", 1, 2) in _rows(throttle)


def test_the_table_is_bounded_and_accounts_are_never_pushed_out(
    throttle: LoginThrottle, monkeypatch: pytest.MonkeyPatch
) -> None:
    """GIVEN a bound of 50 rows and alice locked
    WHEN 500 junk names fail from 500 addresses
    THEN the table holds at most the bound (plus alice's row and the last attempt's two),
    and alice is still locked."""
    monkeypatch.setattr(lockout, "MAX_ROWS", 50)
    for _ in range(lockout.NAME_LIMIT):
        throttle.failed("alice", "10.0.0.1")
    for n in range(500):
        throttle.failed(f"junk{n}", f"10.1.{n // 256}.{n % 256}")
        assert len(_rows(throttle)) <= 50 + 1 + 2
    assert throttle.locked("alice", "10.2.0.1") == "name"
