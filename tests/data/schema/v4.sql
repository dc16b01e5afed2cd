-- mailbot schema version 4, as released before the case lifecycle (version 5).
-- Used by tests/unit/test_migration.py to check the upgrade of real earlier data.
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS messages (
    message_key TEXT PRIMARY KEY,       -- Message-ID (or a hash of the raw bytes)
    raw_sha256 TEXT NOT NULL,
    mailbox_ref TEXT NOT NULL,
    folder TEXT NOT NULL,               -- where the message must end up
    filed TEXT,                         -- where its decision first sent it out of the Inbox
    location TEXT NOT NULL DEFAULT 'Inbox', -- where it was last confirmed to be
    state TEXT NOT NULL,                -- 'processing' | 'done'
    kind TEXT,                          -- 'referral' | 'password'
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
    form TEXT                           -- the form as read (personal data)
);
CREATE INDEX IF NOT EXISTS cases_doc ON cases (doc_sha256);
CREATE INDEX IF NOT EXISTS cases_victim ON cases (victim_key);
CREATE INDEX IF NOT EXISTS cases_outcome ON cases (outcome);
CREATE TABLE IF NOT EXISTS people (
    id INTEGER PRIMARY KEY,
    reference TEXT NOT NULL,            -- the MARAC case this hearing belongs to
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
    state TEXT NOT NULL DEFAULT 'pending',  -- 'pending' | 'sent' | 'failed'
    attempts INTEGER NOT NULL DEFAULT 0,
    next_attempt_at TEXT NOT NULL,
    last_error TEXT,
    created_at TEXT NOT NULL,
    sent_at TEXT
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
