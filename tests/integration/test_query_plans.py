"""No query run while processing mail scans a table that grows with history.

A backlog must drain as fast at the 10,000th referral as at the first, on top of 50,000
earlier cases, so every lookup made per message (ledger, repeat candidates, duplicates,
meeting counts, outbox, held emails) must go through an index. This is checked on the
structure, not the clock: every statement the runner actually sends to SQLite during a pass is
captured (with its values) and put through EXPLAIN QUERY PLAN; a plan that reads a whole table
or a whole index fails. A partial index is allowed: it holds only the few rows it is for (the
messages whose move a crash interrupted).
"""

from __future__ import annotations

import random
import re
import sqlite3
from pathlib import Path

from mailbot.app import App
from mailbot.demo.formwriter import render_form
from mailbot.demo.samples import sample_form, with_values
from mailbot.dispatch.encrypt import encrypt_docx
from mailbot.store import Store
from tests.conftest import TODAY
from tests.integration.conftest import Send, sample
from tests.integration.test_intake import BCT, HOMES, POLICE, form_doc

HISTORY = (
    "reference,marac_area,marac_date,victim_surname,victim_forenames,victim_aliases,"
    "victim_dob,perp_surname,perp_forenames,perp_dob\n"
    "H-1,Birmingham,2026-06-01,Okafor,Amina,Amina Ahmed;Mina Okafor,1990-02-03,Khan,Imran,\n"
    "H-2,Dudley,2026-03-09,Hughes,Leanne,,1985-07-14,Rowley,Dean,1983-01-01\n"
)
_NEW_INDEXES = ("messages_unfiled", "alias_keys_person", "held_messages_sender")
_DML = re.compile(r"\s*(SELECT|UPDATE|DELETE|INSERT|REPLACE|WITH)\b", re.IGNORECASE)


def _partial_indexes(conn: sqlite3.Connection) -> set[str]:
    rows = conn.execute(
        "SELECT name, sql FROM sqlite_master WHERE type = 'index' AND sql IS NOT NULL"
    )
    return {name for name, sql in rows if " WHERE " in sql.upper()}


def _full_scans(conn: sqlite3.Connection, statement: str, partial: set[str]) -> list[str]:
    plan = [row[3] for row in conn.execute("EXPLAIN QUERY PLAN " + statement)]
    return [
        step
        for step in plan
        if step.startswith("SCAN ")
        and step != "SCAN CONSTANT ROW"
        and not any(step.endswith(f"USING INDEX {name}") for name in partial)
    ]


def test_every_query_of_a_pass_uses_an_index(app: App, send: Send) -> None:
    """GIVEN a case history and an inbox with new, duplicate, repeat, held and password emails
    WHEN a pass processes them and sends the replies
    THEN EXPLAIN QUERY PLAN shows an index for every statement it ran."""
    app.casebook.import_history(HISTORY)
    send(POLICE, form_doc(11))
    send(POLICE, form_doc(11))  # a duplicate of the first
    send(BCT, encrypt_docx(form_doc(12, referrer_email=BCT), "BCT-Marac-7731", spin_count=1000))
    repeat = with_values(
        sample_form(random.Random(13), referral_date=TODAY),
        victim_surname="Okafor",
        victim_forenames="Amina",
        victim_dob="03/02/1990",
    )
    send(POLICE, render_form(repeat))
    send(HOMES, sample("08-encrypted-unknown-password.docx"))
    send(HOMES, None, subject="password", body="The password is Sparrow-Lane-77")
    statements: list[str] = []
    app.store.conn.set_trace_callback(statements.append)
    try:
        app.runner().run_once()
    finally:
        app.store.conn.set_trace_callback(None)
    dml = [s for s in statements if _DML.match(s)]
    assert any("FROM people" in s for s in dml)  # repeat candidates were looked up
    assert any(c.decision.repeat_of == "H-1" for c in app.casebook.cases())
    assert any("doc_sha256 =" in s for s in dml)  # and duplicates
    assert any("FROM held_messages WHERE sender" in s for s in dml)  # and held emails
    partial = _partial_indexes(app.store.conn)
    scans = {s[:120]: found for s in dml if (found := _full_scans(app.store.conn, s, partial))}
    assert scans == {}


def test_a_database_from_before_the_indexes_gets_them_on_upgrade(tmp_path: Path) -> None:
    """GIVEN a database written by the previous schema version (without the new indexes)
    WHEN this mailbot opens it
    THEN the indexes are added, and nothing else changes."""
    path = tmp_path / "mailbot.sqlite3"
    store = Store(path)
    store.conn.execute("INSERT INTO audit (at, actor, action) VALUES ('t', 'a', 'kept')")
    for name in _NEW_INDEXES:
        store.conn.execute(f"DROP INDEX {name}")
    store.conn.execute("UPDATE meta SET value = '2' WHERE key = 'schema_version'")
    store.close()
    reopened = Store(path)
    names = {r[0] for r in reopened.conn.execute("SELECT name FROM sqlite_master")}
    assert set(_NEW_INDEXES) <= names
    assert [r.action for r in reopened.audit_log()] == ["kept"]
    reopened.close()


def test_a_version_3_database_gets_the_filed_column_and_the_new_pending_index(
    tmp_path: Path,
) -> None:
    """GIVEN a database written by schema version 3 (no `filed` column; the pending-move index
    that left out rows still marked Inbox) holding a decided message
    WHEN this mailbot opens it
    THEN the column is added, the old index replaced, and the message row is kept."""
    path = tmp_path / "mailbot.sqlite3"
    store = Store(path)
    store.conn.execute(
        "INSERT INTO messages (message_key, raw_sha256, mailbox_ref, folder,"
        " location, state, sender, received_at) VALUES ('<m@x>', 'h', 'r',"
        " 'Processed', 'Processed', 'done', 's', '2026-01-01')"
    )
    store.conn.execute("DROP INDEX messages_unfiled")
    store.conn.execute("ALTER TABLE messages DROP COLUMN filed")
    store.conn.execute(
        "CREATE INDEX messages_unmoved ON messages (received_at) WHERE"
        " state = 'done' AND location != folder AND location != 'Inbox'"
    )
    store.conn.execute("UPDATE meta SET value = '3' WHERE key = 'schema_version'")
    store.close()
    reopened = Store(path)
    names = {r[0] for r in reopened.conn.execute("SELECT name FROM sqlite_master")}
    assert "messages_unfiled" in names
    assert "messages_unmoved" not in names
    assert "filed" in reopened.db["messages"].columns_dict
    assert [r["message_key"] for r in reopened.db.query("SELECT * FROM messages")] == ["<m@x>"]
    reopened.close()
