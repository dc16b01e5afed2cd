-- mailbot schema version 7 (before cases.subject, version 8), dumped from a new database made
-- by the code of that version, with a few rows: an accepted case, and a stranger's email with
-- no attachment that version 7 returned as no_attachment (with its ledger row and audit entry).
-- Used by tests/unit/test_migration.py to check the upgrade of real earlier data.
BEGIN TRANSACTION;
CREATE TABLE agenda_issues (
    area TEXT NOT NULL,
    date TEXT NOT NULL,                 -- the meeting
    number INTEGER NOT NULL,            -- 0 is the agenda, 1, 2... the addenda
    sent_at TEXT NOT NULL,
    PRIMARY KEY (area, date, number)
);
CREATE TABLE agenda_items (
    area TEXT NOT NULL,
    date TEXT NOT NULL,
    item TEXT NOT NULL,                 -- a case reference, or transfer:<id>
    number INTEGER NOT NULL,            -- the issue that carried it
    PRIMARY KEY (area, date, item)
);
CREATE TABLE alias_keys (person_id INTEGER NOT NULL, key TEXT NOT NULL);
CREATE TABLE audit (
    id INTEGER PRIMARY KEY,
    at TEXT NOT NULL,
    actor TEXT NOT NULL,
    action TEXT NOT NULL,
    reference TEXT,
    detail TEXT NOT NULL DEFAULT ''
);
INSERT INTO "audit" VALUES(1,'2026-10-02T12:00:01+00:00','mailbot','decided','MARAC-2026-00002','outcome=returned reasons=no_attachment');
CREATE TABLE cases (
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
    source TEXT                         -- who referred: the agency's id, or the sender
);
INSERT INTO "cases" VALUES('MARAC-2026-00001','<a1@wmp>','<a1@wmp>','2026-10-01T09:00:00+00:00','2026-10-01T09:00:05+00:00','pc.adams@west-midlands.pnn.police.uk','West Midlands Police','accepted','[]','[]','["visible_high_risk"]','Wolverhampton','2026-11-11',NULL,NULL,'[]',NULL,NULL,NULL,NULL,0,NULL,'MARAC-2026-00001','wmp');
INSERT INTO "cases" VALUES('MARAC-2026-00002','<lunch@example.com>','<lunch@example.com>','2026-10-02T12:00:00+00:00','2026-10-02T12:00:01+00:00','friend@example.com',NULL,'returned','["no_attachment"]','[]','[]',NULL,NULL,NULL,NULL,'[]',NULL,NULL,NULL,NULL,0,NULL,'MARAC-2026-00002','friend@example.com');
CREATE TABLE flag_expiry (
    reference TEXT PRIMARY KEY,         -- the case whose partners were told
    last_marac TEXT NOT NULL,
    notified_at TEXT NOT NULL
);
CREATE TABLE held_messages (
    reference TEXT PRIMARY KEY,         -- a case held as cannot_decrypt
    message_key TEXT NOT NULL,
    sender TEXT NOT NULL,
    received_at TEXT NOT NULL,
    raw BLOB NOT NULL                   -- the email as received (documents still encrypted)
);
CREATE TABLE listings (
    id INTEGER PRIMARY KEY,
    case_ref TEXT NOT NULL,
    area TEXT NOT NULL,
    meeting_date TEXT NOT NULL,
    state TEXT NOT NULL DEFAULT 'listed',  -- 'listed' | 'moved' | 'cancelled'
    listed_at TEXT NOT NULL,
    ended_at TEXT
);
CREATE TABLE meetings (
    area TEXT NOT NULL,
    date TEXT NOT NULL,
    agenda_sent_at TEXT,
    PRIMARY KEY (area, date)
);
CREATE TABLE messages (
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
INSERT INTO "messages" VALUES('<lunch@example.com>','00','k2','Processed','Processed','Processed','done','referral','MARAC-2026-00002','friend@example.com','2026-10-02T12:00:00+00:00',1,'2026-10-02T12:00:01+00:00');
CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
INSERT INTO "meta" VALUES('schema_version','7');
CREATE TABLE minutes_reminders (
    area TEXT NOT NULL,
    date TEXT NOT NULL,
    reminded_at TEXT NOT NULL,
    PRIMARY KEY (area, date)
);
CREATE TABLE minutes_runs (
    id INTEGER PRIMARY KEY,
    area TEXT NOT NULL,
    date TEXT NOT NULL,                 -- the meeting
    sent_at TEXT NOT NULL,
    actor TEXT NOT NULL,
    files TEXT NOT NULL,                -- JSON list of the file names (case references)
    emails INTEGER NOT NULL
);
CREATE TABLE outbox (
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
CREATE TABLE password_spend (
    sender TEXT NOT NULL,
    at TEXT NOT NULL,
    derivations INTEGER NOT NULL
);
CREATE TABLE people (
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
CREATE TABLE sequences (name TEXT PRIMARY KEY, value INTEGER NOT NULL);
CREATE TABLE transfers (
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
CREATE TABLE web_login_failures (
    key TEXT PRIMARY KEY,       -- account:NAME, name:KEYED-HASH or address:CLIENT-ADDRESS
    account INTEGER NOT NULL,   -- 1 for an account's row: never dropped to make room
    failures INTEGER NOT NULL,  -- in a row, each within LOCK_FOR of the one before
    last_at TEXT NOT NULL       -- UTC, ISO 8601
);
CREATE TABLE web_sessions (
    token_hash TEXT PRIMARY KEY,        -- SHA-256 of the cookie's token (never the token)
    user TEXT NOT NULL,
    csrf TEXT NOT NULL,
    created_at TEXT NOT NULL,
    last_seen TEXT NOT NULL,
    flash TEXT                          -- one message for the next page (no personal data)
);
CREATE TABLE web_users (
    name TEXT PRIMARY KEY,
    password_hash TEXT NOT NULL,        -- Argon2id, with its own salt and parameters
    created_at TEXT NOT NULL,
    disabled_at TEXT
);
CREATE INDEX messages_unfiled ON messages (received_at)
    WHERE state = 'done' AND location != folder AND location != 'Missing';
CREATE INDEX messages_missing ON messages (received_at) WHERE location = 'Missing';
CREATE INDEX cases_doc ON cases (doc_sha256);
CREATE INDEX cases_victim ON cases (victim_key);
CREATE INDEX cases_outcome ON cases (outcome);
CREATE INDEX people_dob ON people (dob);
CREATE INDEX people_name ON people (name_key);
CREATE INDEX people_ref ON people (reference);
CREATE INDEX alias_keys_key ON alias_keys (key);
CREATE INDEX alias_keys_person ON alias_keys (person_id);
CREATE INDEX held_messages_sender ON held_messages (sender, received_at);
CREATE INDEX outbox_due ON outbox (state, next_attempt_at);
CREATE INDEX outbox_reference ON outbox (reference);
CREATE INDEX cases_meeting ON cases (area, meeting_date, outcome);
CREATE INDEX cases_case ON cases (case_ref);
CREATE INDEX cases_source ON cases (victim_key, incident_date, source);
CREATE UNIQUE INDEX listings_current ON listings (case_ref)
    WHERE state = 'listed';
CREATE INDEX listings_meeting ON listings (area, meeting_date)
    WHERE state = 'listed';
CREATE INDEX minutes_runs_meeting ON minutes_runs (area, date);
CREATE INDEX password_spend_sender ON password_spend (sender, at);
CREATE TRIGGER audit_no_update BEFORE UPDATE ON audit
BEGIN SELECT RAISE(ABORT, 'the audit log is append-only'); END;
CREATE TRIGGER audit_no_delete BEFORE DELETE ON audit
BEGIN SELECT RAISE(ABORT, 'the audit log is append-only'); END;
CREATE INDEX transfers_meeting ON transfers (from_area, meeting_date);
CREATE INDEX web_sessions_user ON web_sessions (user);
CREATE INDEX web_login_failures_age ON web_login_failures (account, last_at);
CREATE INDEX web_login_failures_last ON web_login_failures (last_at);
COMMIT;
