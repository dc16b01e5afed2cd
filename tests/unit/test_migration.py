"""Upgrading a version 4 database (before the case lifecycle) to version 5, and on to 6.

A team that ran mailbot before has accepted cases whose "hearing" was recorded at once, dated
at a meeting that may not have happened. The upgrade must keep every case and turn those
records into listings, so a meeting still to come is no hearing and one that has passed is.
Version 6 adds the outbox's claims: messages waiting when mailbot is upgraded still go.
Version 7 puts every table in `mailbot.schema`: a version 6 database keeps the tables the
meetings and the web page made for themselves, rows and all, and one without them gets them.
Version 8 keeps the subject of other mail (`cases.subject`): a version 7 database keeps
every row, its cases without a subject.
"""

from __future__ import annotations

import sqlite3
from datetime import date
from pathlib import Path

from argon2 import PasswordHasher

from mailbot import schema
from mailbot.cases.casebook import Casebook
from mailbot.models import Person
from mailbot.store import Store
from mailbot.web.users import Users
from tests.conftest import DATA

V4 = DATA / "schema" / "v4.sql"
V6 = DATA / "schema" / "v6.sql"
V7 = DATA / "schema" / "v7.sql"
# Made at version 6 by the modules themselves when first used, not by `mailbot.schema`.
LAZY = (
    "agenda_issues",
    "agenda_items",
    "transfers",
    "minutes_reminders",
    "flag_expiry",
    "web_users",
    "web_sessions",
    "web_login_failures",
)
TODAY = date(2026, 11, 2)
AMY = Person(surname="Adeyemi", forenames="Amy", dob=date(1990, 4, 1))
CARA = Person(surname="Cole", forenames="Cara", dob=date(1985, 2, 3))


def _case(
    conn: sqlite3.Connection,
    reference: str,
    outcome: str,
    sender: str,
    agency: str | None,
    meeting: str | None,
) -> None:
    conn.execute(
        "INSERT INTO cases (reference, message_key, message_id, received_at, decided_at,"
        " sender, agency, outcome, reasons, warnings, criteria, area, meeting_date)"
        " VALUES (?, ?, ?, '2026-10-01T09:00:00+00:00', '2026-10-01T09:00:00+00:00', ?, ?,"
        " ?, '[]', '[]', '[]', 'Wolverhampton', ?)",
        (reference, f"<{reference}>", f"<{reference}>", sender, agency, outcome, meeting),
    )


def _person(conn: sqlite3.Connection, reference: str, heard: str, p: Person) -> None:
    conn.execute(
        "INSERT INTO people (reference, source, area, marac_date, surname, forenames,"
        " surname_key, name_key, dob) VALUES (?, 'case', 'Wolverhampton', ?, ?, ?, ?, ?, ?)",
        (
            reference,
            heard,
            p.surname,
            p.forenames,
            p.surname.lower(),
            f"{p.forenames}{p.surname}".lower(),
            p.dob.isoformat() if p.dob else None,
        ),
    )


def _version_4(path: Path) -> None:
    conn = sqlite3.connect(path)
    conn.executescript(V4.read_text())
    conn.execute("INSERT INTO meta VALUES ('schema_version', '4')")
    _case(
        conn,
        "MARAC-2026-00001",
        "accepted",
        "pc.adams@west-midlands.pnn.police.uk",
        "West Midlands Police",
        "2026-11-11",
    )
    _person(conn, "MARAC-2026-00001", "2026-11-11", AMY)
    _case(conn, "MARAC-2026-00002", "returned", "someone@gmail.com", None, None)
    _case(
        conn,
        "MARAC-2026-00003",
        "accepted",
        "safeguarding@nhs.net",
        "The Royal Wolverhampton NHS Trust",
        "2026-10-07",
    )
    _person(conn, "MARAC-2026-00003", "2026-10-07", CARA)
    conn.commit()
    conn.close()


def test_a_version_4_database_gets_its_listings_and_keys(tmp_path: Path) -> None:
    """GIVEN a version 4 database with two accepted cases and a returned one
    WHEN mailbot opens it
    THEN it is version 5: each case is its own case, each accepted one is listed at its
    meeting, and who referred is the configured agency's id (or the sender)."""
    path = tmp_path / "mailbot.sqlite3"
    _version_4(path)
    store = Store(path)
    assert schema.version(store.conn) == schema.VERSION == 8
    listings = store.conn.execute(
        "SELECT case_ref, area, meeting_date, state FROM listings ORDER BY case_ref"
    ).fetchall()
    assert listings == [
        ("MARAC-2026-00001", "Wolverhampton", "2026-11-11", "listed"),
        ("MARAC-2026-00003", "Wolverhampton", "2026-10-07", "listed"),
    ]
    book = Casebook(store)
    book.settle_sources(
        [("wmp", "West Midlands Police"), ("rwt", "The Royal Wolverhampton NHS Trust")]
    )
    sources = dict(store.conn.execute("SELECT reference, source FROM cases").fetchall())
    assert sources == {
        "MARAC-2026-00001": "wmp",
        "MARAC-2026-00002": "someone@gmail.com",
        "MARAC-2026-00003": "rwt",
    }
    refs = {r for (r,) in store.conn.execute("SELECT case_ref FROM cases")}
    assert refs == {"MARAC-2026-00001", "MARAC-2026-00002", "MARAC-2026-00003"}


def test_a_migrated_listing_is_a_hearing_only_once_its_meeting_has_passed(tmp_path: Path) -> None:
    """GIVEN the upgraded database, on 2 November 2026
    WHEN the victims of the two accepted cases are looked up
    THEN the case listed for 11 November is open (not a hearing), the one listed for
    7 October is a hearing."""
    path = tmp_path / "mailbot.sqlite3"
    _version_4(path)
    book = Casebook(Store(path))
    amy = book.known(AMY, TODAY)
    assert amy.hearings == ()
    assert [c.reference for c in amy.open_cases] == ["MARAC-2026-00001"]
    assert amy.open_cases[0].meeting_date == date(2026, 11, 11)
    cara = book.known(CARA, TODAY)
    assert [h.reference for h in cara.hearings] == ["MARAC-2026-00003"]
    assert cara.open_cases == ()
    assert book.known(AMY, date(2026, 11, 12)).hearings[0].marac_date == date(2026, 11, 11)


def test_outbox_messages_of_a_version_5_database_keep_their_state(tmp_path: Path) -> None:
    """GIVEN a version 5 database (no claims in the outbox) with a pending and a sent message
    WHEN mailbot opens it
    THEN it is version 6, both messages keep their state, and neither has a claim or doubt."""
    path = tmp_path / "mailbot.sqlite3"
    _version_4(path)
    Store(path).close()
    conn = sqlite3.connect(path)
    conn.execute(
        "CREATE TABLE outbox_v5 AS SELECT id, idem_key, reference, kind, recipient,"
        " message_id, raw, state, attempts, next_attempt_at, last_error, created_at,"
        " sent_at FROM outbox"
    )
    conn.execute("DROP TABLE outbox")
    conn.execute("ALTER TABLE outbox_v5 RENAME TO outbox")
    for n, state in ((1, "pending"), (2, "sent")):
        conn.execute(
            "INSERT INTO outbox VALUES (?, ?, NULL, 'rejection', 'a@b.example', ?,"
            " x'00', ?, 0, '2026-11-02', NULL, '2026-11-02', NULL)",
            (n, f"k{n}", f"<m{n}@x>", state),
        )
    conn.execute("UPDATE meta SET value = '5' WHERE key = 'schema_version'")
    conn.commit()
    conn.close()
    store = Store(path)
    rows = list(store.query("SELECT state, claimed_at, claimed_by, doubts FROM outbox ORDER BY id"))
    assert schema.version(store.conn) == schema.VERSION
    assert rows == [
        {"state": "pending", "claimed_at": None, "claimed_by": None, "doubts": 0},
        {"state": "sent", "claimed_at": None, "claimed_by": None, "doubts": 0},
    ]
    store.close()


def _version_6(path: Path, *, lazy: bool) -> dict[str, list[tuple[object, ...]]]:
    """The version 6 database of `V6` at `path` (without the tables the modules made for
    themselves unless `lazy`); every table's rows, as they are before the upgrade."""
    conn = sqlite3.connect(path)
    conn.executescript(V6.read_text())
    if not lazy:
        for table in LAZY:
            conn.execute(f"DROP TABLE {table}")
    conn.commit()
    rows = _rows(conn)
    conn.close()
    return rows


def _rows(conn: sqlite3.Connection) -> dict[str, list[tuple[object, ...]]]:
    tables = [t for (t,) in conn.execute("SELECT name FROM sqlite_master WHERE type = 'table'")]
    return {
        t: conn.execute(f"SELECT * FROM {t} ORDER BY rowid").fetchall()  # noqa: S608
        for t in tables
    }


Rows = dict[str, list[tuple[object, ...]]]


def _without_subject(rows: Rows) -> Rows:
    """The rows as they were before version 8: each case's `subject` (the last column, none
    for a case of before) taken off."""
    assert all(row[-1] is None for row in rows["cases"])
    return {**rows, "cases": [row[:-1] for row in rows["cases"]]}


def _shape(conn: sqlite3.Connection) -> dict[str, object]:
    """Every table's columns (name, type, not null, default, key) and every index's and
    trigger's definition, whitespace aside: what a database is, apart from its rows."""
    shape: dict[str, object] = {}
    for kind, name, table, sql in conn.execute(
        "SELECT type, name, tbl_name, sql FROM sqlite_master WHERE name NOT LIKE 'sqlite_%'"
    ):
        if kind == "table":
            shape[name] = conn.execute(f"PRAGMA table_xinfo({name})").fetchall()
        else:
            shape[name] = (kind, table, " ".join(sql.split()))
    return shape


def _fresh_shape(tmp_path: Path) -> dict[str, object]:
    store = Store(tmp_path / "fresh.sqlite3")
    shape = _shape(store.conn)
    store.close()
    return shape


def test_a_version_6_database_keeps_every_row_and_every_table_as_it_was(tmp_path: Path) -> None:
    """GIVEN a version 6 database with cases, messages, the outbox and the audit log, and the
    tables the meetings and the web page made for themselves (an account, a session, a failed
    login, an agenda, a transfer, a minutes reminder, a flag expiry notice)
    WHEN mailbot opens it
    THEN it is version 8, every row of every table is as it was, the account still logs in
    with its password, and the database is shaped as a new one is."""
    path = tmp_path / "mailbot.sqlite3"
    before = _version_6(path, lazy=True)
    assert all(before[t] for t in LAZY)  # something to lose in each of them
    store = Store(path)
    assert schema.version(store.conn) == schema.VERSION == 8
    after = _rows(store.conn)
    meta = after.pop("meta")
    assert ("schema_version", "8") in meta
    before.pop("meta")
    assert _without_subject(after) == before
    assert [a.action for a in store.audit_log("MARAC-2026-00001")] == ["decided"]
    assert store.conn.execute("SELECT reference, to_label FROM transfers").fetchall() == [
        ("MARAC-2026-00001", "Dudley MARAC")
    ]
    assert Users(store, PasswordHasher(time_cost=1, memory_cost=1024, parallelism=1)).verify(
        "amy.admin", "correct horse battery"
    )
    assert _shape(store.conn) == _fresh_shape(tmp_path)
    store.close()


def test_a_version_6_database_never_used_for_meetings_or_the_web_gets_their_tables(
    tmp_path: Path,
) -> None:
    """GIVEN a version 6 database with cases, messages and the outbox, where no agenda,
    transfer, reminder, flag notice or web login ever made its table
    WHEN mailbot opens it
    THEN it is version 8, its rows are as they were, and those tables and their indexes
    exist, empty, shaped as in a new database."""
    path = tmp_path / "mailbot.sqlite3"
    before = _version_6(path, lazy=False)
    assert not set(LAZY) & set(before)
    store = Store(path)
    assert schema.version(store.conn) == 8
    after = _rows(store.conn)
    for table in LAZY:
        assert after.pop(table) == []
    after.pop("meta")
    before.pop("meta")
    assert _without_subject(after) == before
    indexes = {
        n for (n,) in store.conn.execute("SELECT name FROM sqlite_master WHERE type = 'index'")
    }
    assert {
        "transfers_meeting",
        "web_sessions_user",
        "web_login_failures_age",
        "web_login_failures_last",
    } <= indexes
    assert _shape(store.conn) == _fresh_shape(tmp_path)
    store.close()


def test_a_version_7_database_keeps_every_row_and_gets_the_subject_column(tmp_path: Path) -> None:
    """GIVEN a version 7 database (dumped from a new one of that version) with an accepted
    case and a stranger's email that version returned as no_attachment
    WHEN mailbot opens it
    THEN it is version 8, every row is as it was, both cases read back with no subject,
    and the database is shaped as a new one is."""
    path = tmp_path / "mailbot.sqlite3"
    conn = sqlite3.connect(path)
    conn.executescript(V7.read_text())
    conn.commit()
    before = _rows(conn)
    conn.close()
    store = Store(path)
    assert schema.version(store.conn) == schema.VERSION == 8
    after = _rows(store.conn)
    assert ("schema_version", "8") in after.pop("meta")
    before.pop("meta")
    assert len(after["cases"]) == 2
    assert _without_subject(after) == before
    book = Casebook(store)
    returned = book.get("MARAC-2026-00002")
    assert returned is not None
    assert returned.subject is None
    assert returned.decision.reasons == ("no_attachment",)
    assert _shape(store.conn) == _fresh_shape(tmp_path)
    store.close()
