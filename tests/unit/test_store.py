"""The state database: private, versioned, append-only audit, and history import."""

from __future__ import annotations

import dataclasses
import sqlite3
import stat
from datetime import UTC, date, datetime
from pathlib import Path

import pytest

from mailbot.cases.casebook import Casebook, CaseRecord
from mailbot.codes import Criterion, Reason
from mailbot.dispatch.outbox import OutboxMessage
from mailbot.errors import HistoryImportError, StoreError
from mailbot.models import Decision, Outcome, Person
from mailbot.schema import VERSION as SCHEMA_VERSION
from mailbot.store import AuditEntry, HeldMessage, LedgerEntry, Store

HEADER = (
    "reference,marac_area,marac_date,victim_surname,victim_forenames,victim_aliases,"
    "victim_dob,perp_surname,perp_forenames,perp_dob\n"
)


def test_database_file_is_private_and_versioned(tmp_path: Path) -> None:
    """GIVEN a new database
    WHEN opened
    THEN the file is mode 0600 and records the schema version."""
    store = Store(tmp_path / "state" / "db.sqlite3")
    assert stat.S_IMODE((tmp_path / "state" / "db.sqlite3").stat().st_mode) == 0o600
    row = store.conn.execute("SELECT value FROM meta WHERE key='schema_version'").fetchone()
    assert int(row[0]) == SCHEMA_VERSION


def test_a_newer_schema_is_refused(tmp_path: Path) -> None:
    """GIVEN a database written by a newer mailbot
    WHEN opened
    THEN mailbot refuses rather than corrupt it."""
    store = Store(tmp_path / "db.sqlite3")
    store.conn.execute("UPDATE meta SET value = '99' WHERE key = 'schema_version'")
    store.close()
    with pytest.raises(StoreError, match="newer"):
        Store(tmp_path / "db.sqlite3")


def test_audit_log_is_append_only(tmp_path: Path) -> None:
    """GIVEN an audit entry
    WHEN someone tries to change or delete it
    THEN the database refuses."""
    store = Store(tmp_path / "db.sqlite3")
    with store.transaction() as conn:
        store.audit(conn, "tester", "decided", "MARAC-2026-00001", "outcome=accepted")
    with pytest.raises(sqlite3.DatabaseError, match="append-only"):
        store.conn.execute("UPDATE audit SET actor = 'someone else'")
    with pytest.raises(sqlite3.DatabaseError, match="append-only"):
        store.conn.execute("DELETE FROM audit")
    assert store.audit_log()[0].actor == "tester"


def test_rows_leave_the_store_as_typed_records(tmp_path: Path) -> None:
    """GIVEN a referral decided and held for a password, its move out of the Inbox not done
    WHEN the ledger, the moves still to do, the held emails and the audit log are read
    THEN each is a record with the row's values as attributes, and a held email's bytes are
    not in its repr (they go to logs and tracebacks)."""
    store = Store(tmp_path / "db.sqlite3")
    received = datetime(2026, 11, 2, 9, 0, tzinfo=UTC)
    assert store.ledger_begin("<m@x>", "ab12", "new/1", "a@b.example", received) == 1
    with store.transaction() as conn:
        store.ledger_finish(
            conn, "<m@x>", kind="referral", folder="Exceptions", reference="MARAC-2026-00001"
        )
        store.hold_message(
            conn, "MARAC-2026-00001", "<m@x>", "a@b.example", received, b"the encrypted referral"
        )
        store.audit(conn, "mailbot", "decided", "MARAC-2026-00001", "outcome=held")
    entry = store.ledger_get("<m@x>")
    assert isinstance(entry, LedgerEntry)
    assert (entry.state, entry.folder, entry.location, entry.attempts) == (
        "done",
        "Exceptions",
        "Inbox",
        1,
    )
    assert store.pending_moves() == [entry]
    [held] = store.waiting_for_password("a@b.example", received)
    assert held == HeldMessage(
        "MARAC-2026-00001", "<m@x>", "a@b.example", received.isoformat(), b"the encrypted referral"
    )
    assert "encrypted" not in repr(held)
    [audit] = store.audit_log("MARAC-2026-00001")
    assert (audit.actor, audit.action, audit.detail) == ("mailbot", "decided", "outcome=held")
    assert store.ledger_get("<other@x>") is None


@pytest.mark.parametrize(
    ("record", "table"),
    [
        (LedgerEntry, "messages"),
        (AuditEntry, "audit"),
        (HeldMessage, "held_messages"),
        (OutboxMessage, "outbox"),
    ],
)
def test_a_records_fields_are_its_tables_columns(
    tmp_path: Path, record: type[object], table: str
) -> None:
    """GIVEN a new database
    WHEN a record type is compared with the table it is read from
    THEN its fields are the table's columns, so a column added by a migration must be added
    to the record too (else reading a row fails)."""
    store = Store(tmp_path / "db.sqlite3")
    columns = [row[1] for row in store.conn.execute(f"PRAGMA table_info({table})")]
    assert [f.name for f in dataclasses.fields(record)] == columns  # type: ignore[arg-type]


def test_references_are_sequential_per_year(tmp_path: Path) -> None:
    """GIVEN several cases
    WHEN references are issued
    THEN they count up within a year and restart in the next."""
    store = Store(tmp_path / "db.sqlite3")
    with store.transaction() as conn:
        refs = [store.next_reference(conn, 2026) for _ in range(3)]
        other = store.next_reference(conn, 2027)
    assert refs == ["MARAC-2026-00001", "MARAC-2026-00002", "MARAC-2026-00003"]
    assert other == "MARAC-2027-00001"


def test_history_import_is_all_or_nothing(tmp_path: Path) -> None:
    """GIVEN a CSV with one good row and two bad ones
    WHEN imported
    THEN the bad rows are named by row and column and nothing is imported."""
    book = Casebook(Store(tmp_path / "db.sqlite3"))
    text = (
        HEADER
        + "WV-1,Wolverhampton,2026-05-01,Begum,Tamsin,Tammy B,1981-06-10,Bennett,Wayne,\n"
        + "WV-2,Wolves,2026-05-01,Smith,Jo,,1990-01-01,,,\n"
        + "WV-3,Dudley,01/05/2026,Smith,Jo,,1990-01-01,,,\n"
    )
    with pytest.raises(HistoryImportError) as caught:
        book.import_history(text)
    assert [p.split(":")[0] for p in caught.value.problems] == [
        "row 3, column B (marac_area)",
        "row 4, column C (marac_date)",
    ]
    assert (
        book.known(
            Person(surname="Begum", forenames="Tamsin", dob=date(1981, 6, 10)), date(2026, 11, 2)
        ).hearings
        == ()
    )


def test_imported_history_is_found_by_dob_name_or_alias(tmp_path: Path) -> None:
    """GIVEN imported hearings
    WHEN candidates are looked up for a victim
    THEN hearings with her DOB, her name or her alias come back, others do not."""
    book = Casebook(Store(tmp_path / "db.sqlite3"))
    count = book.import_history(
        HEADER
        + "WV-1,Wolverhampton,2026-05-01,Begum,Tamsin,Tammy Khan;T Begum,1981-06-10,,,\n"
        + "WV-2,Walsall,2026-06-01,Unrelated,Person,,1970-01-01,,,\n"
        + "WV-3,Walsall,2026-06-01,Khan,Tammy,,1982-01-01,,,\n"
    )
    assert count == 3
    found = book.known(
        Person(surname="Khan", forenames="Tammy", dob=date(1981, 6, 10)), date(2026, 11, 2)
    ).hearings
    assert {h.reference for h in found} == {"WV-1", "WV-3"}
    assert found[0].person.aliases or found[1].person.aliases


def test_cases_round_trip_and_duplicates_ignore_returned(tmp_path: Path) -> None:
    """GIVEN an accepted and a returned case
    WHEN saved, read back, and searched for duplicates
    THEN they round-trip, and only the accepted one counts as an original."""
    store = Store(tmp_path / "db.sqlite3")
    book = Casebook(store)
    now = datetime(2026, 11, 2, 9, tzinfo=UTC)
    accepted = CaseRecord(
        reference="R-1",
        message_key="<a@x>",
        message_id="<a@x>",
        received_at=now,
        decided_at=now,
        sender="a@x.pnn.police.uk",
        agency="West Midlands Police",
        source="wmp",
        decision=Decision(outcome=Outcome.ACCEPTED, criteria=(Criterion.VISIBLE_HIGH_RISK,)),
        area="Dudley",
        doc_sha256="d1",
        victim_key="v1",
        incident_date=date(2026, 10, 30),
    )
    returned = accepted.model_copy(
        update={
            "reference": "R-2",
            "doc_sha256": "d2",
            "decision": Decision(outcome=Outcome.RETURNED, reasons=(Reason.THRESHOLD_NOT_MET,)),
        }
    )
    with store.transaction() as conn:
        book.save(conn, accepted)
        book.save(conn, returned)
    assert book.get("R-1") == accepted
    assert book.find_duplicate("d1", None, None, "") == "R-1"
    assert book.find_duplicate("d2", None, None, "") is None
    assert book.find_duplicate("zz", "v1", date(2026, 10, 30), "wmp") == "R-1"
    assert book.find_duplicate("zz", "v1", date(2026, 10, 30), "bct") is None
    assert [c.reference for c in book.cases([Outcome.RETURNED])] == ["R-2"]
