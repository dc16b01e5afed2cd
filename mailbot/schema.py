"""The database's tables and indexes, and how an older database is brought up to date.

Apart from `mailbot.store` so the schema reads as one document. Every statement is
idempotent (`IF NOT EXISTS`), so an upgrade re-runs them all and then makes the few changes
a `CREATE ... IF NOT EXISTS` cannot (a new column), inside the caller's transaction.
"""

from __future__ import annotations

import sqlite3

VERSION = 8  # 3: indexes so no per-message query scans what grows with history
# 4: `filed` (where the first move went), so a move whose record a crash lost is found
# 5: the case lifecycle: a referral (a `cases` row, one per email) belongs to a case
#    (`case_ref`: one victim's episode); a case is put on a meeting by a `listings` row, which
#    becomes a hearing only once its meeting has taken place (`mailbot.cases.casebook`); `source`
#    is the one key duplicates are found by (the agency's id, or the sender's address);
#    `password_spend`: the key derivations a sender's password emails cost (a daily budget)
# 6: the outbox's claims: a message is 'sending' from the transaction that claims it (and
#    counts the attempt) until its result is recorded (`claimed_at`, `claimed_by`: which
#    process); `doubts`: sends whose result never came (the server took the whole message
#    and did not answer, or the process ended first), of which one is resent automatically;
#    states 'unknown' (a person decides), 'held' and 'dismissed' (an operator's)
# 7: every table in this one schema: those the meetings (agendas, transfers, minutes
#    reminders, flag expiry) and the web page (accounts, sessions, failed logins) made for
#    themselves when first used are made here, statement for statement as they were, so a
#    version 6 database that has them keeps them unchanged and one that lacks them gets them
# 8: `cases.subject`, kept only for other mail (an email that is no referral: outcome
#    'other'), which the team recognises and answers by its subject

_SCHEMA = """
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS messages (
    message_key TEXT PRIMARY KEY,       -- Message-ID (or a hash of the raw bytes)
    raw_sha256 TEXT NOT NULL,
    mailbox_ref TEXT NOT NULL,
    folder TEXT NOT NULL,               -- where the message must end up
    filed TEXT,                         -- where its decision first sent it out of the Inbox
    location TEXT NOT NULL DEFAULT 'Inbox', -- where it was last confirmed to be
    state TEXT NOT NULL,                -- 'processing' | 'done'
    kind TEXT,                          -- 'referral' | 'password' | 'bounce'
    reference TEXT,                     -- the case made from it, if any
    sender TEXT NOT NULL,
    received_at TEXT NOT NULL,
    attempts INTEGER NOT NULL DEFAULT 0,
    finished_at TEXT
);
-- Only the few messages whose move a crash interrupted: `pending_moves` runs on every pass.
DROP INDEX IF EXISTS messages_unmoved;
CREATE INDEX IF NOT EXISTS messages_unfiled ON messages (received_at)
    WHERE state = 'done' AND location != folder AND location != 'Missing';
CREATE INDEX IF NOT EXISTS messages_missing ON messages (received_at) WHERE location = 'Missing';
CREATE TABLE IF NOT EXISTS cases (
    reference TEXT PRIMARY KEY,
    message_key TEXT NOT NULL,
    message_id TEXT NOT NULL,
    received_at TEXT NOT NULL,
    decided_at TEXT NOT NULL,
    sender TEXT NOT NULL,
    agency TEXT,
    outcome TEXT NOT NULL,
    reasons TEXT NOT NULL,
    warnings TEXT NOT NULL,
    criteria TEXT NOT NULL,
    area TEXT,
    meeting_date TEXT,
    repeat_of TEXT,
    duplicate_of TEXT,
    possible_repeats TEXT NOT NULL DEFAULT '[]',
    doc_sha256 TEXT,
    victim_key TEXT,
    incident_date TEXT,
    referral_date TEXT,
    encrypted INTEGER NOT NULL DEFAULT 0,
    form TEXT,                          -- the form as read (personal data)
    case_ref TEXT,                      -- the case it belongs to (its own reference if it
                                        -- opened it; another's when it joined that case)
    source TEXT,                        -- who referred: the agency's id, or the sender
    subject TEXT                        -- the email's subject, for other mail only
);
CREATE INDEX IF NOT EXISTS cases_doc ON cases (doc_sha256);
CREATE INDEX IF NOT EXISTS cases_victim ON cases (victim_key);
CREATE INDEX IF NOT EXISTS cases_outcome ON cases (outcome);
-- One row per victim known to MARAC: an imported hearing (its `marac_date`), or a case of
-- mailbot's own (reference = the case; `marac_date` is that of its listing, and whether
-- it is a hearing yet is read from `listings`).
CREATE TABLE IF NOT EXISTS people (
    id INTEGER PRIMARY KEY,
    reference TEXT NOT NULL,            -- the imported MARAC case, or mailbot's case
    source TEXT NOT NULL,               -- 'import' | 'case'
    area TEXT,
    marac_date TEXT NOT NULL,
    surname TEXT NOT NULL,
    forenames TEXT NOT NULL,
    surname_key TEXT NOT NULL,          -- normalised, for matching
    name_key TEXT NOT NULL,
    dob TEXT,
    aliases TEXT NOT NULL DEFAULT '[]',
    alias_keys TEXT NOT NULL DEFAULT '[]'
);
CREATE INDEX IF NOT EXISTS people_dob ON people (dob);
CREATE INDEX IF NOT EXISTS people_name ON people (name_key);
CREATE INDEX IF NOT EXISTS people_ref ON people (reference);
CREATE TABLE IF NOT EXISTS alias_keys (person_id INTEGER NOT NULL, key TEXT NOT NULL);
CREATE INDEX IF NOT EXISTS alias_keys_key ON alias_keys (key);
CREATE INDEX IF NOT EXISTS alias_keys_person ON alias_keys (person_id);
CREATE TABLE IF NOT EXISTS held_messages (
    reference TEXT PRIMARY KEY,         -- a case held as cannot_decrypt
    message_key TEXT NOT NULL,
    sender TEXT NOT NULL,
    received_at TEXT NOT NULL,
    raw BLOB NOT NULL                   -- the email as received (documents still encrypted)
);
CREATE INDEX IF NOT EXISTS held_messages_sender ON held_messages (sender, received_at);
CREATE TABLE IF NOT EXISTS outbox (
    id INTEGER PRIMARY KEY,
    idem_key TEXT NOT NULL UNIQUE,      -- case|kind|recipient[|variant]: enqueued once
    reference TEXT,
    kind TEXT NOT NULL,
    recipient TEXT NOT NULL,
    message_id TEXT NOT NULL,           -- fixed when enqueued, so a resend carries it too
    raw BLOB NOT NULL,                  -- the message exactly as it goes on the wire
    -- 'pending' | 'sending' | 'sent' | 'failed' | 'unknown' | 'held' | 'dismissed'
    state TEXT NOT NULL DEFAULT 'pending',
    attempts INTEGER NOT NULL DEFAULT 0,
    next_attempt_at TEXT NOT NULL,
    last_error TEXT,
    created_at TEXT NOT NULL,
    sent_at TEXT,
    claimed_at TEXT,                    -- when the last attempt claimed it
    claimed_by TEXT,                    -- the process that claimed it (pid:token)
    doubts INTEGER NOT NULL DEFAULT 0   -- sends whose result never came
);
CREATE INDEX IF NOT EXISTS outbox_due ON outbox (state, next_attempt_at);
CREATE INDEX IF NOT EXISTS outbox_reference ON outbox (reference);
CREATE TABLE IF NOT EXISTS meetings (
    area TEXT NOT NULL,
    date TEXT NOT NULL,
    agenda_sent_at TEXT,
    PRIMARY KEY (area, date)
);
CREATE INDEX IF NOT EXISTS cases_meeting ON cases (area, meeting_date, outcome);
CREATE INDEX IF NOT EXISTS cases_case ON cases (case_ref);
CREATE INDEX IF NOT EXISTS cases_source ON cases (victim_key, incident_date, source);
-- A case on a meeting. 'listed' until the case is moved to another meeting ('moved') or
-- taken off ('cancelled'); a listing still 'listed' whose meeting date has passed, or whose
-- meeting's minutes were sent, is a hearing. At most one listing per case is 'listed'.
CREATE TABLE IF NOT EXISTS listings (
    id INTEGER PRIMARY KEY,
    case_ref TEXT NOT NULL,
    area TEXT NOT NULL,
    meeting_date TEXT NOT NULL,
    state TEXT NOT NULL DEFAULT 'listed',  -- 'listed' | 'moved' | 'cancelled'
    listed_at TEXT NOT NULL,
    ended_at TEXT
);
CREATE UNIQUE INDEX IF NOT EXISTS listings_current ON listings (case_ref)
    WHERE state = 'listed';
CREATE INDEX IF NOT EXISTS listings_meeting ON listings (area, meeting_date)
    WHERE state = 'listed';
-- A meeting whose minutes were sent has been held: its listings are hearings from then on.
CREATE TABLE IF NOT EXISTS minutes_runs (
    id INTEGER PRIMARY KEY,
    area TEXT NOT NULL,
    date TEXT NOT NULL,                 -- the meeting
    sent_at TEXT NOT NULL,
    actor TEXT NOT NULL,
    files TEXT NOT NULL,                -- JSON list of the file names (case references)
    emails INTEGER NOT NULL
);
CREATE INDEX IF NOT EXISTS minutes_runs_meeting ON minutes_runs (area, date);
-- Key derivations spent on passwords emailed separately, per sender: the daily budget.
CREATE TABLE IF NOT EXISTS password_spend (
    sender TEXT NOT NULL,
    at TEXT NOT NULL,
    derivations INTEGER NOT NULL
);
CREATE INDEX IF NOT EXISTS password_spend_sender ON password_spend (sender, at);
CREATE TABLE IF NOT EXISTS sequences (name TEXT PRIMARY KEY, value INTEGER NOT NULL);
CREATE TABLE IF NOT EXISTS audit (
    id INTEGER PRIMARY KEY,
    at TEXT NOT NULL,
    actor TEXT NOT NULL,
    action TEXT NOT NULL,
    reference TEXT,
    detail TEXT NOT NULL DEFAULT ''
);
CREATE TRIGGER IF NOT EXISTS audit_no_update BEFORE UPDATE ON audit
BEGIN SELECT RAISE(ABORT, 'the audit log is append-only'); END;
CREATE TRIGGER IF NOT EXISTS audit_no_delete BEFORE DELETE ON audit
BEGIN SELECT RAISE(ABORT, 'the audit log is append-only'); END;
-- The meetings (`mailbot.meetings`): what each agenda and addendum carried, transfers out,
-- minutes reminders, flag expiry notices.
CREATE TABLE IF NOT EXISTS agenda_issues (
    area TEXT NOT NULL,
    date TEXT NOT NULL,                 -- the meeting
    number INTEGER NOT NULL,            -- 0 is the agenda, 1, 2... the addenda
    sent_at TEXT NOT NULL,
    PRIMARY KEY (area, date, number)
);
CREATE TABLE IF NOT EXISTS agenda_items (
    area TEXT NOT NULL,
    date TEXT NOT NULL,
    item TEXT NOT NULL,                 -- a case reference, or transfer:<id>
    number INTEGER NOT NULL,            -- the issue that carried it
    PRIMARY KEY (area, date, item)
);
CREATE TABLE IF NOT EXISTS transfers (
    id INTEGER PRIMARY KEY,
    reference TEXT NOT NULL,            -- the case that moved
    from_area TEXT NOT NULL,
    to_label TEXT NOT NULL,             -- the area named, or the receiving MARAC's address
    to_address TEXT NOT NULL,
    details TEXT NOT NULL,              -- JSON: new address, who moved, concerns (personal)
    meeting_date TEXT,                  -- the from_area agenda it is listed on
    recorded_at TEXT NOT NULL,
    actor TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS transfers_meeting ON transfers (from_area, meeting_date);
CREATE TABLE IF NOT EXISTS minutes_reminders (
    area TEXT NOT NULL,
    date TEXT NOT NULL,
    reminded_at TEXT NOT NULL,
    PRIMARY KEY (area, date)
);
CREATE TABLE IF NOT EXISTS flag_expiry (
    reference TEXT PRIMARY KEY,         -- the case whose partners were told
    last_marac TEXT NOT NULL,
    notified_at TEXT NOT NULL
);
-- The web page (`mailbot.web`): named accounts, login sessions, failed-login counters.
CREATE TABLE IF NOT EXISTS web_users (
    name TEXT PRIMARY KEY,
    password_hash TEXT NOT NULL,        -- Argon2id, with its own salt and parameters
    created_at TEXT NOT NULL,
    disabled_at TEXT
);
CREATE TABLE IF NOT EXISTS web_sessions (
    token_hash TEXT PRIMARY KEY,        -- SHA-256 of the cookie's token (never the token)
    user TEXT NOT NULL,
    csrf TEXT NOT NULL,
    created_at TEXT NOT NULL,
    last_seen TEXT NOT NULL,
    flash TEXT                          -- one message for the next page (no personal data)
);
CREATE INDEX IF NOT EXISTS web_sessions_user ON web_sessions (user);
CREATE TABLE IF NOT EXISTS web_login_failures (
    key TEXT PRIMARY KEY,       -- account:NAME, name:KEYED-HASH or address:CLIENT-ADDRESS
    account INTEGER NOT NULL,   -- 1 for an account's row: never dropped to make room
    failures INTEGER NOT NULL,  -- in a row, each within LOCK_FOR of the one before
    last_at TEXT NOT NULL       -- UTC, ISO 8601
);
CREATE INDEX IF NOT EXISTS web_login_failures_age ON web_login_failures (account, last_at);
CREATE INDEX IF NOT EXISTS web_login_failures_last ON web_login_failures (last_at);
"""


def version(conn: sqlite3.Connection) -> int:
    """The schema version of the open database (0: a new, empty file)."""
    if conn.execute("SELECT 1 FROM sqlite_master WHERE name = 'meta'").fetchone() is None:
        return 0
    row = conn.execute("SELECT value FROM meta WHERE key='schema_version'").fetchone()
    return int(row[0]) if row else 0


def upgrade(conn: sqlite3.Connection) -> None:
    """Bring the database to `VERSION` (call inside a transaction)."""
    columns = {row[1] for row in conn.execute("PRAGMA table_info(cases)")}
    lifecycle = bool(columns) and "case_ref" not in columns  # a version 4 (or older) database
    if lifecycle:  # before the statements below, which index the new columns
        conn.execute("ALTER TABLE cases ADD COLUMN case_ref TEXT")
        conn.execute("ALTER TABLE cases ADD COLUMN source TEXT")
    for statement in _SCHEMA.split(";\n"):
        if statement.strip():
            conn.execute(statement)
    columns = {row[1] for row in conn.execute("PRAGMA table_info(messages)")}
    if "filed" not in columns:  # a version 3 database
        conn.execute("ALTER TABLE messages ADD COLUMN filed TEXT")
    columns = {row[1] for row in conn.execute("PRAGMA table_info(outbox)")}
    if "doubts" not in columns:  # a version 5 (or older) database
        conn.execute("ALTER TABLE outbox ADD COLUMN claimed_at TEXT")
        conn.execute("ALTER TABLE outbox ADD COLUMN claimed_by TEXT")
        conn.execute("ALTER TABLE outbox ADD COLUMN doubts INTEGER NOT NULL DEFAULT 0")
    columns = {row[1] for row in conn.execute("PRAGMA table_info(cases)")}
    if "subject" not in columns:  # a version 7 (or older) database
        conn.execute("ALTER TABLE cases ADD COLUMN subject TEXT")
    if lifecycle:
        _migrate_lifecycle(conn)
    conn.execute("INSERT OR REPLACE INTO meta VALUES ('schema_version', ?)", (str(VERSION),))


def _migrate_lifecycle(conn: sqlite3.Connection) -> None:
    """Version 5: every earlier referral is its own case; each listed one gets its listing.

    Before version 5 accepting a case recorded a "hearing" at once, dated at a meeting that
    might not have happened yet; now that is the case's listing, and `casebook` decides from
    the date (or the minutes) whether it has been heard. `source` is filled from the agency
    name recorded then; `Casebook.settle_sources` turns names into the configured ids."""
    conn.execute("UPDATE cases SET case_ref = reference WHERE case_ref IS NULL")
    conn.execute("UPDATE cases SET source = lower(sender) WHERE source IS NULL AND agency IS NULL")
    conn.execute(
        "INSERT INTO listings (case_ref, area, meeting_date, state, listed_at)"
        " SELECT reference, area, meeting_date, 'listed', decided_at FROM cases"
        " WHERE outcome IN ('accepted', 'info_only') AND area IS NOT NULL"
        " AND meeting_date IS NOT NULL"
    )
