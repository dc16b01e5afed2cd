"""Referrals and the people known to MARAC: what repeat, duplicate and open-case checks
look up.

Every processed referral email becomes a record here (whatever its outcome), belonging to a
case (`case_ref`: `mailbot.cases.lifecycle` says what a case, a listing and a hearing are). Each
open or heard case of mailbot's own, and each earlier MARAC case imported from the team's
previous records, has its victim in `people`, indexed by date of birth and normalised name
so matching stays fast however long the history grows.
"""

from __future__ import annotations

import csv
import io
import json
import re
import sqlite3
from collections.abc import Iterable
from datetime import date, datetime
from typing import Any

from pydantic import ConfigDict, Field

from mailbot.cases.lifecycle import Known, add_person, classify
from mailbot.errors import HistoryImportError
from mailbot.formdef import AREAS
from mailbot.models import Decision, FormData, Frozen, HistoryEntry, Outcome, Person
from mailbot.store import Store, dumps
from mailbot.validate.names import full_name_key, name_key

HISTORY_HEADER = (
    "reference",
    "marac_area",
    "marac_date",
    "victim_surname",
    "victim_forenames",
    "victim_aliases",
    "victim_dob",
    "perp_surname",
    "perp_forenames",
    "perp_dob",
)


class CaseRecord(Frozen):
    """One processed referral email and its decision."""

    model_config = ConfigDict(frozen=True, hide_input_in_errors=True)
    reference: str
    message_key: str
    message_id: str
    received_at: datetime
    decided_at: datetime
    sender: str
    agency: str | None
    decision: Decision
    area: str | None = None
    meeting_date: date | None = None
    doc_sha256: str | None = None
    victim_key: str | None = None
    incident_date: date | None = None
    referral_date: date | None = None
    encrypted: bool = False
    form: FormData | None = Field(default=None, repr=False)
    case_ref: str | None = None  # the case it joined (None: its own case)
    source: str | None = None  # who referred (agency id or sender), for duplicates
    subject: str | None = Field(default=None, repr=False)  # kept for other mail only

    @property
    def case(self) -> str:
        """The reference of the case this referral belongs to."""
        return self.case_ref or self.reference

    @property
    def joined(self) -> str | None:
        """The case this referral joined, when it did not open its own."""
        return self.case_ref if self.case_ref and self.case_ref != self.reference else None

    def summary(self) -> dict[str, Any]:
        """The fields `cases list --json` prints (no personal data)."""
        return {
            "reference": self.reference,
            "message_id": self.message_id,
            "received_at": self.received_at.isoformat(),
            "sender": self.sender,
            "agency": self.agency,
            "outcome": self.decision.outcome.value,
            "reasons": list(self.decision.reasons),
            "warnings": list(self.decision.warnings),
            "criteria": list(self.decision.criteria),
            "area": self.area,
            "meeting_date": self.meeting_date.isoformat() if self.meeting_date else None,
            "repeat_of": self.decision.repeat_of,
            "case": self.case,
            "joined": self.joined,
        }


class Casebook:
    """Reads and writes cases and hearings through a `Store`."""

    def __init__(self, store: Store) -> None:
        self.store = store

    def save(self, conn: sqlite3.Connection, case: CaseRecord) -> None:
        d = case.decision
        conn.execute(
            "INSERT OR REPLACE INTO cases (reference, message_key, message_id, received_at,"
            " decided_at, sender, agency, outcome, reasons, warnings, criteria, area,"
            " meeting_date, repeat_of, duplicate_of, possible_repeats, doc_sha256, victim_key,"
            " incident_date, referral_date, encrypted, form, case_ref, source, subject)"
            " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            (
                case.reference,
                case.message_key,
                case.message_id,
                case.received_at.isoformat(),
                case.decided_at.isoformat(),
                case.sender,
                case.agency,
                d.outcome.value,
                dumps(d.reasons),
                dumps(d.warnings),
                dumps(d.criteria),
                case.area,
                _iso(case.meeting_date),
                d.repeat_of,
                d.duplicate_of,
                dumps(d.possible_repeats),
                case.doc_sha256,
                case.victim_key,
                _iso(case.incident_date),
                _iso(case.referral_date),
                int(case.encrypted),
                case.form.model_dump_json() if case.form else None,
                case.case,
                case.source,
                case.subject,
            ),
        )

    def get(self, reference: str) -> CaseRecord | None:
        rows = list(self.store.query("SELECT * FROM cases WHERE reference = ?", [reference]))
        return _case(rows[0]) if rows else None

    def cases(self, outcomes: Iterable[Outcome] | None = None) -> list[CaseRecord]:
        """Cases in arrival order, optionally only those with these outcomes."""
        sql = "SELECT * FROM cases"
        params: list[str] = []
        if outcomes is not None:
            wanted = [o.value for o in outcomes]
            sql += f" WHERE outcome IN ({', '.join('?' for _ in wanted)})"
            params = wanted
        sql += " ORDER BY received_at, reference"
        return [_case(r) for r in self.store.query(sql, params)]

    def find_duplicate(
        self,
        doc_sha256: str,
        victim_key: str | None,
        incident: date | None,
        source: str,
    ) -> str | None:
        """An earlier, not returned, referral with the same document, or the same victim and
        incident from the same `source` (`source_of`: the agency, or the sender)."""
        rows = list(
            self.store.query(
                "SELECT reference FROM cases WHERE doc_sha256 = ? AND outcome != 'returned'"
                " ORDER BY received_at LIMIT 1",
                [doc_sha256],
            )
        )
        if not rows and victim_key and incident:
            rows = list(
                self.store.query(
                    "SELECT reference FROM cases WHERE victim_key = ? AND incident_date = ?"
                    " AND source = ? AND outcome != 'returned'"
                    " ORDER BY received_at LIMIT 1",
                    [victim_key, incident.isoformat(), source],
                )
            )
        return str(rows[0]["reference"]) if rows else None

    def settle_sources(self, agencies: Iterable[tuple[str, str]]) -> None:
        """Give referrals recorded before version 5 of the schema their `source`: the id of
        the configured agency whose name they carry ((id, name) pairs), else that name."""
        if (
            self.store.conn.execute("SELECT 1 FROM cases WHERE source IS NULL LIMIT 1").fetchone()
            is None
        ):
            return
        with self.store.transaction() as conn:
            for agency_id, name in agencies:
                conn.execute(
                    "UPDATE cases SET source = ? WHERE source IS NULL AND agency = ?",
                    (agency_id, name),
                )
            conn.execute(
                "UPDATE cases SET source = COALESCE(agency, lower(sender)) WHERE source IS NULL"
            )

    # -- the people known to MARAC ---------------------------------------------------------

    def known(self, person: Person, today: date) -> Known:
        """Hearings of people who could be this victim (same DOB, same name, or an alias),
        and their cases still open, as of `today`."""
        keys = sorted(
            {full_name_key(person.forenames, person.surname)}
            | {name_key(a) for a in person.aliases} - {""}
        )
        marks = ", ".join("?" for _ in keys)
        sql = (
            "SELECT * FROM people WHERE dob = ?"  # noqa: S608 (only ? placeholders added)
            f" UNION SELECT * FROM people WHERE name_key IN ({marks})"
            " UNION SELECT p.* FROM people p JOIN alias_keys a ON a.person_id = p.id"
            f" WHERE a.key IN ({marks})"
        )
        rows = self.store.query(sql, [_iso(person.dob) or "", *keys, *keys])
        return classify(self.store.conn, [(r["source"], _hearing(r)) for r in rows], today)

    def import_history(self, text: str, *, batch: int = 5000, pause: float = 0.1) -> int:
        """Load earlier MARAC cases from CSV; returns the rows imported by this call.

        Every row is checked before any is written, so a file with a bad row imports nothing
        (every problem named by row and column). The rows then go in transactions of `batch` rows,
        with a `pause` between them, so the daemon, which needs the write lock for every
        email it decides, never waits for more than one batch (a fraction of a second, where
        200,000 rows in one transaction held it for 14 s); SQLite's busy handler retries at
        least every 100 ms, so a waiting daemon gets the lock in each pause.

        A crash part-way (kill, power cut, a full disk) leaves the batches committed so far,
        and with them, in the same transactions, how far this file got (keyed by a hash of
        its text). Importing the same file again resumes from there: no row is imported
        twice (which would count a hearing twice for repeats and desktop reviews), and a
        file imported whole imports nothing more (returns 0). A different file is a new
        import."""
        import hashlib
        import time

        reader = csv.DictReader(io.StringIO(text))
        if tuple(reader.fieldnames or ()) != HISTORY_HEADER:
            raise HistoryImportError([f"line 1: header must be {','.join(HISTORY_HEADER)}"])
        entries: list[tuple[str, str, date, Person]] = []
        problems: list[str] = []
        # Rows as a spreadsheet numbers them (the header is row 1), whatever a quoted field
        # spanning lines does to the file's line numbers.
        for number, row in enumerate(reader, start=2):
            found = _history_problems(row)
            if found:
                problems += [f"row {number}{problem}" for problem in found]
            else:
                entries.append(_history_row(row))
        if problems:
            raise HistoryImportError(problems)
        progress = f"state:history_import:{hashlib.sha256(text.encode()).hexdigest()}"
        found = self.store.conn.execute(
            "SELECT value FROM meta WHERE key = ?", (progress,)
        ).fetchone()
        start = done = int(found[0]) if found else 0
        while done < len(entries):
            if done > start:
                time.sleep(pause)  # the lock is free: a daemon waiting for it takes it now
            chunk = entries[done : done + max(1, batch)]
            with self.store.transaction() as conn:
                for reference, area, marac_date, person in chunk:
                    add_person(conn, reference, "import", area, marac_date, person)
                done += len(chunk)
                conn.execute("INSERT OR REPLACE INTO meta VALUES (?, ?)", (progress, str(done)))
                if done == len(entries):
                    resumed = f" resumed_from={start}" if start else ""
                    self.store.audit(
                        conn, "cli", "history_import", None, f"rows={len(entries)}{resumed}"
                    )
        return done - start


def _history_problems(row: dict[str, str]) -> list[str]:
    """Everything wrong with one CSV row, each as ", column X (name): what; what to do" (the
    row number goes in front). Never a value: dates of birth and names are personal data."""
    extra: list[str] = row.get(None, [])  # type: ignore[call-overload]  # DictReader's extras
    missing = sum(1 for key in HISTORY_HEADER if row.get(key) is None)
    if extra or missing:
        count = len(HISTORY_HEADER) + len(extra) - missing
        return [
            f": {count} values where the header has {len(HISTORY_HEADER)}; give every"
            ' column, empty where unknown (a comma inside a value needs "quotes")'
        ]
    problems: list[tuple[str, str]] = []
    if not row["reference"].strip():
        problems.append(("reference", "is empty; give the case's reference"))
    if row["marac_area"].strip().title() not in AREAS:
        problems.append(("marac_area", f"is not one of the areas; write one of {', '.join(AREAS)}"))
    for column in ("victim_surname", "victim_forenames"):
        if not row[column].strip():
            problems.append((column, "is empty; fill it in (it is required)"))
    for column, required in (("marac_date", True), ("victim_dob", True), ("perp_dob", False)):
        text = row[column].strip()
        if text or required:
            wrong = _date_problem(text)
            if wrong is not None:
                problems.append((column, wrong))
    problems.sort(key=lambda problem: HISTORY_HEADER.index(problem[0]))  # left to right
    return [f", {_column(name)}: {what}" for name, what in problems]


def _column(name: str) -> str:
    """'column C (marac_date)': the letter a spreadsheet shows, and the header's name."""
    return f"column {chr(ord('A') + HISTORY_HEADER.index(name))} ({name})"


def _date_problem(text: str) -> str | None:
    if not text:
        return "is empty; write the date as YYYY-MM-DD"
    if not re.fullmatch(r"\d{4}-\d{2}-\d{2}", text):
        return "is not a date as YYYY-MM-DD; write it so, e.g. 2025-03-31"
    try:
        date.fromisoformat(text)
    except ValueError:
        return "is not a real date (no such month or day); correct it"
    return None


def _history_row(row: dict[str, str]) -> tuple[str, str, date, Person]:
    """A row `_history_problems` found nothing wrong with."""
    surname, forenames = row["victim_surname"].strip(), row["victim_forenames"].strip()
    aliases = tuple(a.strip() for a in row["victim_aliases"].split(";") if a.strip())
    return (
        row["reference"].strip(),
        row["marac_area"].strip().title(),
        date.fromisoformat(row["marac_date"].strip()),
        Person(
            surname=surname,
            forenames=forenames,
            dob=date.fromisoformat(row["victim_dob"].strip()),
            aliases=aliases,
        ),
    )


def _iso(value: date | None) -> str | None:
    return value.isoformat() if value else None


def _date(value: str | None) -> date | None:
    return date.fromisoformat(value) if value else None


def _case(row: dict[str, Any]) -> CaseRecord:
    decision = Decision(
        outcome=Outcome(row["outcome"]),
        reasons=tuple(json.loads(row["reasons"])),
        warnings=tuple(json.loads(row["warnings"])),
        criteria=tuple(json.loads(row["criteria"])),
        repeat_of=row["repeat_of"],
        duplicate_of=row["duplicate_of"],
        possible_repeats=tuple(json.loads(row["possible_repeats"])),
        joined=row["case_ref"] if row["case_ref"] not in (None, row["reference"]) else None,
    )
    return CaseRecord(
        reference=row["reference"],
        message_key=row["message_key"],
        message_id=row["message_id"],
        received_at=datetime.fromisoformat(row["received_at"]),
        decided_at=datetime.fromisoformat(row["decided_at"]),
        sender=row["sender"],
        agency=row["agency"],
        decision=decision,
        area=row["area"],
        meeting_date=_date(row["meeting_date"]),
        doc_sha256=row["doc_sha256"],
        victim_key=row["victim_key"],
        incident_date=_date(row["incident_date"]),
        referral_date=_date(row["referral_date"]),
        encrypted=bool(row["encrypted"]),
        form=FormData.model_validate_json(row["form"]) if row["form"] else None,
        case_ref=row["case_ref"] if row["case_ref"] != row["reference"] else None,
        source=row["source"],
        subject=row["subject"],
    )


def _hearing(row: dict[str, Any]) -> HistoryEntry:
    person = Person(
        surname=row["surname"],
        forenames=row["forenames"],
        dob=_date(row["dob"]),
        aliases=tuple(json.loads(row["aliases"])),
    )
    return HistoryEntry(
        reference=row["reference"],
        area=row["area"],
        marac_date=date.fromisoformat(row["marac_date"]),
        person=person,
    )
