"""A database that cannot be written is not a decision about the email.

Another process (a long `history import`, a second tool) can hold SQLite's write lock past
the busy timeout while a referral is being assessed. Deciding the referral as a
`processing_error` then would send the referrer an acknowledgement for nothing and put a good
referral in the queue: instead the email stays in the Inbox, its attempt not counted, and the
next pass decides it once.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from contextlib import contextmanager

import pytest

from mailbot.app import App
from mailbot.demo.formwriter import render_form
from mailbot.errors import StoreBusy
from mailbot.models import Outcome
from tests.integration.conftest import Send, folder_count
from tests.integration.held import POLICE, form


@contextmanager
def write_lock(app: App) -> Iterator[sqlite3.Connection]:
    """Another process's write transaction on the same database file."""
    other = sqlite3.connect(app.config.database_path, isolation_level=None)
    other.execute("BEGIN IMMEDIATE")
    try:
        yield other
    finally:
        other.execute("ROLLBACK")
        other.close()


def confirmations(app: App) -> int:
    count: int = app.store.conn.execute(
        "SELECT COUNT(*) FROM outbox WHERE kind = 'confirmation'"
    ).fetchone()[0]
    return count


@pytest.fixture
def short_wait(app: App) -> None:
    app.store.conn.execute("PRAGMA busy_timeout=100")  # the tests need not wait 10 s


@pytest.mark.usefixtures("short_wait")
def test_a_lock_held_before_the_pass_leaves_the_email_waiting(app: App, send: Send) -> None:
    """GIVEN another process holding the write lock
    WHEN the inbox is processed
    THEN the pass stops with a one-line error, nothing is decided and the email is still
    in the Inbox; once the lock is gone, it is decided once and confirmed once."""
    message_id = send(POLICE, render_form(form(91)))
    runner = app.runner()  # built at start-up, as the daemon does
    with write_lock(app), pytest.raises(StoreBusy, match="waits in the Inbox"):
        runner.run_once()
    assert app.casebook.cases() == []
    assert folder_count(app, "Inbox") == 1
    runner.run_once()
    [case] = app.casebook.cases()
    assert case.message_id == message_id
    assert case.decision.outcome is Outcome.ACCEPTED
    assert confirmations(app) == 1


@pytest.mark.usefixtures("short_wait")
def test_a_lock_taken_during_assessment_is_no_processing_error(
    app: App, send: Send, monkeypatch: pytest.MonkeyPatch
) -> None:
    """GIVEN a referral whose assessment starts, and another process that takes the write
    lock while it is assessed (and keeps it past the busy timeout), three passes running
    THEN no pass decides it (no processing_error, no acknowledgement), only the pass that
    began it counted an attempt (the others could not begin), and the first pass after the
    lock is released accepts it."""
    send(POLICE, render_form(form(92)))
    assess = app.intake._assess
    holder: list[sqlite3.Connection] = []

    def locked_while_assessing(*args: object, **kwargs: object) -> object:
        result = assess(*args, **kwargs)  # type: ignore[arg-type]
        if not holder:
            other = sqlite3.connect(app.config.database_path, isolation_level=None)
            other.execute("BEGIN IMMEDIATE")
            holder.append(other)
        return result

    monkeypatch.setattr(app.intake, "_assess", locked_while_assessing)
    runner = app.runner()
    for _ in range(3):
        with pytest.raises(StoreBusy):
            runner.run_once()
    assert app.casebook.cases() == []
    holder[0].execute("ROLLBACK")
    attempts = app.store.conn.execute("SELECT attempts FROM messages").fetchone()[0]
    assert attempts == 1  # below MAX_ATTEMPTS: never taken for a message that crashes us
    runner.run_once()
    [case] = app.casebook.cases()
    assert case.decision.outcome is Outcome.ACCEPTED
    assert "processing_error" not in case.decision.reasons
    kinds = {k for (k,) in app.store.conn.execute("SELECT kind FROM outbox")}
    assert "acknowledgement" not in kinds
    assert confirmations(app) == 1
