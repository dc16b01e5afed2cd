"""Accounts for the web page: names, password rules, Argon2 hashes, disabling, and the web
sessions a password change or a disabled account ends."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import pytest
from argon2 import PasswordHasher

from mailbot.store import Store
from mailbot.web.users import UserError, Users

FAST = PasswordHasher(time_cost=1, memory_cost=1024, parallelism=1)
GOOD = "a long enough password"


@pytest.fixture
def users(tmp_path: Path) -> Users:
    return Users(Store(tmp_path / "db.sqlite3"), FAST)


def test_an_account_logs_in_with_its_password_only(users: Users) -> None:
    users.add("alice", GOOD, "it")
    assert users.verify("alice", GOOD)
    assert not users.verify("alice", GOOD + "!")
    assert not users.verify("bob", GOOD)
    stored = users.store.conn.execute("SELECT password_hash FROM web_users").fetchone()[0]
    assert stored.startswith("$argon2id$")
    assert GOOD not in stored
    assert [a.action for a in users.store.audit_log()] == ["user_added"]


@pytest.mark.parametrize(
    ("name", "password", "words"),
    [
        ("Alice Smith", GOOD, "account name"),
        ("mailbot", GOOD, "reserved"),
        ("alice", "short", "at least 12"),
    ],
)
def test_bad_names_and_short_passwords_are_refused(
    users: Users, name: str, password: str, words: str
) -> None:
    with pytest.raises(UserError, match=words):
        users.add(name, password, "it")


def test_names_are_unique_and_disabled_accounts_cannot_log_in(users: Users) -> None:
    users.add("alice", GOOD, "it")
    with pytest.raises(UserError, match="already an account"):
        users.add("alice", GOOD, "it")
    users.disable("alice", "it")
    assert not users.verify("alice", GOOD)
    assert not users.is_active("alice")
    users.set_password("alice", "another long password", "it")
    assert users.verify("alice", "another long password")
    with pytest.raises(UserError, match="no account named bob"):
        users.disable("bob", "it")


def test_an_old_hash_is_upgraded_at_login(tmp_path: Path) -> None:
    store = Store(tmp_path / "db.sqlite3")
    Users(store, FAST).add("alice", GOOD, "it")
    stronger = PasswordHasher(time_cost=2, memory_cost=2048, parallelism=1)
    assert Users(store, stronger).verify("alice", GOOD)
    stored = store.conn.execute("SELECT password_hash FROM web_users").fetchone()[0]
    assert not stronger.check_needs_rehash(stored)


def test_a_new_password_or_disabling_ends_the_accounts_web_sessions(tmp_path: Path) -> None:
    """GIVEN two web sessions of alice and one of bob (and, first, a database where the web
    page never ran, so there is no sessions table)
    WHEN alice's password is changed, then her account disabled
    THEN her sessions are deleted with the change, bob's stay, and the audit counts them."""
    from mailbot.web.sessions import Sessions
    from tests.conftest import FixedClock

    store = Store(tmp_path / "db.sqlite3")
    users = Users(store, FAST)
    users.add("alice", GOOD, "it")
    users.set_password("alice", "no web page yet, no table", "it")
    sessions = Sessions(store, FixedClock(), idle=timedelta(hours=1), absolute=timedelta(hours=8))
    first, _ = sessions.create("alice")
    second, _ = sessions.create("alice")
    bobs, _ = sessions.create("bob")
    users.set_password("alice", "another long password", "it")
    assert sessions.get(first) is None
    assert sessions.get(second) is None
    assert sessions.get(bobs) is not None
    sessions.create("alice")
    users.disable("alice", "it")
    details = [a.detail for a in store.audit_log() if a.action != "user_added"]
    assert details == [
        "user=alice sessions_ended=0",
        "user=alice sessions_ended=2",
        "user=alice sessions_ended=1",
    ]
    assert store.conn.execute("SELECT user FROM web_sessions").fetchall() == [("bob",)]


def test_a_login_check_splits_into_reading_and_hashing(users: Users) -> None:
    """GIVEN an account and a disabled one
    WHEN their credentials are read, then matched (the hashing the web page does in a
    worker thread)
    THEN only the active account's right password matches; an unknown name is checked
    against a dummy hash (same cost) and never matches."""
    users.add("alice", GOOD, "it")
    users.add("carol", GOOD, "it")
    users.disable("carol", "it")
    alice, carol, nobody = (users.credential(n) for n in ("alice", "carol", "nobody"))
    assert users.matches(alice, GOOD)
    assert not users.matches(alice, "wrong password")
    assert not users.matches(carol, GOOD)
    assert nobody.password_hash.startswith("$argon2id$")
    assert not users.matches(nobody, GOOD)
    assert users.rehashed(alice, GOOD) is None
