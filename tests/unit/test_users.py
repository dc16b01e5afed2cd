"""Accounts for the web page: names, password rules, Argon2 hashes, disabling."""

from __future__ import annotations

from pathlib import Path

import pytest
from argon2 import PasswordHasher

from mailbot.store import Store
from mailbot.users import UserError, Users

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
    assert [a["action"] for a in users.store.audit_log()] == ["user_added"]


@pytest.mark.parametrize(("name", "password", "words"), [
    ("Alice Smith", GOOD, "account name"), ("mailbot", GOOD, "reserved"),
    ("alice", "short", "at least 12")])
def test_bad_names_and_short_passwords_are_refused(users: Users, name: str, password: str,
                                                  words: str) -> None:
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
