"""What the crash harness checks after the last kill: nothing lost, nothing done twice.

The checks read the database and the Maildirs directly (sqlite3 and the email parser, not
mailbot's own code), and compare the killed run with a reference run of the same emails that
was never interrupted: a crash may delay work, never change it. (An email being processed
each time the daemon died, three times in a row, would be held for a person as
`processing_error`, as a poison message is; the harness lets such an email finish before it
kills again, so that policy, tested on its own in tests/integration/test_restart.py, never
hides a difference here.)
"""

from __future__ import annotations

import json
import sqlite3
from collections import Counter
from dataclasses import dataclass, field
from email.parser import BytesHeaderParser
from pathlib import Path

from crash_mail import Email

_HEADERS = BytesHeaderParser()


@dataclass
class Report:
    failures: list[str] = field(default_factory=list)
    cases: int = 0
    outgoing: int = 0
    window_duplicates: int = 0  # sent twice, same Message-ID: a kill between send and mark
    # Ledger rows still saying "Inbox" for a message already filed (a kill between the rename
    # and its record) at the end: `intake.reconcile` confirms them on the next pass.
    stale_locations: int = 0
    misfiled: list[str] = field(default_factory=list)

    def fail(self, text: str) -> None:
        if len(self.failures) < 50:
            self.failures.append(text)


def verify(crashed: Path, reference: Path, emails: list[Email]) -> Report:
    """`crashed` and `reference` are workspaces (mailbot.toml, var/mailbot.sqlite3, var/mail)."""
    report = Report()
    db = _open(crashed)
    ref = _open(reference)
    try:
        _integrity(db, report)
        mail = crashed / "var" / "mail"
        _inbox_empty(mail, report)
        _every_email_filed_once(mail, emails, report, db)
        ours = _cases(db)
        _one_case_per_email(ours, emails, report)
        _decided_once(db, report)
        _ledger_settled(db, report)
        _compare_decisions(ours, _cases(ref), emails, report)
        _outbox_sent_once(db, mail, report)
        _same_messages_as_reference(db, ref, report)
    finally:
        db.close()
        ref.close()
    return report


def _open(workspace: Path) -> sqlite3.Connection:
    return sqlite3.connect(workspace / "var" / "mailbot.sqlite3")


def _integrity(db: sqlite3.Connection, report: Report) -> None:
    result = [row[0] for row in db.execute("PRAGMA integrity_check")]
    if result != ["ok"]:
        report.fail(f"integrity_check: {result[:5]}")


def _maildir_ids(folder: Path) -> list[str]:
    ids = []
    for sub in ("new", "cur"):
        for path in sorted((folder / sub).iterdir()):
            with path.open("rb") as handle:
                ids.append(str(_HEADERS.parse(handle)["Message-ID"]).strip())
    return ids


def _inbox_empty(mail: Path, report: Report) -> None:
    left = _maildir_ids(mail / "Inbox")
    if left:
        report.fail(f"{len(left)} email(s) left in Inbox, e.g. {left[0]}")


def _every_email_filed_once(
    mail: Path, emails: list[Email], report: Report, db: sqlite3.Connection
) -> None:
    """Each email is in Processed or Exceptions exactly once: the folder its decision says."""
    where = {folder: _maildir_ids(mail / folder) for folder in ("Processed", "Exceptions")}
    filed = Counter(where["Processed"] + where["Exceptions"])
    for email in emails:
        if filed[email.message_id] != 1:
            report.fail(f"{email.message_id} filed {filed[email.message_id]} time(s)")
    strays = set(filed) - {e.message_id for e in emails}
    if strays:
        report.fail(f"unknown emails filed: {sorted(strays)[:3]}")
    decided = dict(db.execute("SELECT message_key, folder FROM messages"))
    for folder, ids in where.items():
        for message_id in ids:
            if decided.get(message_id, folder) != folder:
                report.misfiled.append(
                    f"{message_id} is in {folder}, its decision says {decided[message_id]}"
                )


def _cases(db: sqlite3.Connection) -> dict[str, list[tuple[str, str, tuple[str, ...]]]]:
    """Message-ID -> [(reference, outcome, reasons)] for every case."""
    found: dict[str, list[tuple[str, str, tuple[str, ...]]]] = {}
    for ref, message_id, outcome, reasons in db.execute(
        "SELECT reference, message_id, outcome, reasons FROM cases ORDER BY reference"
    ):
        found.setdefault(message_id, []).append((ref, outcome, tuple(json.loads(reasons))))
    return found


def _one_case_per_email(
    cases: dict[str, list[tuple[str, str, tuple[str, ...]]]], emails: list[Email], report: Report
) -> None:
    report.cases = sum(len(v) for v in cases.values())
    for email in emails:
        want = 1 if email.has_case else 0
        got = len(cases.get(email.message_id, []))
        if got != want:
            report.fail(f"{email.message_id} ({email.kind}) has {got} case(s), not {want}")


def _decided_once(db: sqlite3.Connection, report: Report) -> None:
    """A case is decided once, and once more only when its password arrived."""
    decided = Counter(
        r for (r,) in db.execute("SELECT reference FROM audit WHERE action = 'decided'")
    )
    resolved = Counter(
        r for (r,) in db.execute("SELECT reference FROM audit WHERE action = 'password_supplied'")
    )
    for reference, count in decided.items():
        if count != 1 + resolved[reference]:
            report.fail(f"{reference} decided {count} time(s)")


def _ledger_settled(db: sqlite3.Connection, report: Report) -> None:
    open_rows = db.execute(
        "SELECT COUNT(*) FROM messages WHERE state != 'done' OR location != folder"
    ).fetchone()[0]
    if open_rows:
        report.fail(f"{open_rows} ledger row(s) unfinished or with a move not done")
    report.stale_locations = db.execute(
        "SELECT COUNT(*) FROM messages WHERE location = 'Inbox'"
    ).fetchone()[0]


def _compare_decisions(
    ours: dict[str, list[tuple[str, str, tuple[str, ...]]]],
    theirs: dict[str, list[tuple[str, str, tuple[str, ...]]]],
    emails: list[Email],
    report: Report,
) -> None:
    """The same reference, outcome and reasons as in the uninterrupted run."""
    for email in emails:
        mine, other = ours.get(email.message_id, []), theirs.get(email.message_id, [])
        if mine and other and mine[0] != other[0]:
            report.fail(f"{email.message_id}: {mine[0]} but uninterrupted {other[0]}")


def _outbox_sent_once(db: sqlite3.Connection, mail: Path, report: Report) -> None:
    rows = dict(db.execute("SELECT message_id, state FROM outbox"))
    report.outgoing = len(rows)
    unsent = [m for m, state in rows.items() if state != "sent"]
    if unsent:
        report.fail(f"{len(unsent)} outbox message(s) not sent, e.g. {unsent[0]}")
    files = Counter(_maildir_ids(mail / "Outbox"))
    for message_id in rows:
        copies = files[message_id]
        if copies == 2:
            report.window_duplicates += 1
        elif copies != 1:
            report.fail(f"outgoing {message_id} found {copies} time(s) in the Outbox")
    strays = set(files) - set(rows)
    if strays:
        report.fail(f"{len(strays)} Outbox file(s) with no outbox row")


def _same_messages_as_reference(
    db: sqlite3.Connection, ref: sqlite3.Connection, report: Report
) -> None:
    """The same outgoing messages (by idempotency key) as the uninterrupted run."""

    def keys(conn: sqlite3.Connection) -> set[str]:
        return {k for (k,) in conn.execute("SELECT idem_key FROM outbox")}

    mine, other = keys(db), keys(ref)
    for key in sorted(mine ^ other)[:10]:
        side = "only after crashes" if key in mine else "missing after crashes"
        report.fail(f"outgoing message {key}: {side}")
