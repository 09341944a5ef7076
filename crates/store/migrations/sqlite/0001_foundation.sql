-- The webhook journal: every signed body Meta delivered, stored before we answer 200.
-- dedupe_key is the SHA-256 of the raw body: Meta's retries of a delivery are byte-identical.
CREATE TABLE webhook_journal (
    id              INTEGER PRIMARY KEY,
    received_at_ms  INTEGER NOT NULL,
    dedupe_key      TEXT    NOT NULL UNIQUE,
    signature       TEXT    NOT NULL,
    app_id          TEXT,
    body            BLOB    NOT NULL,
    deliveries      INTEGER NOT NULL DEFAULT 1,
    projected_at_ms INTEGER,
    error           TEXT
);
CREATE INDEX webhook_journal_unprojected ON webhook_journal (id) WHERE projected_at_ms IS NULL;

-- API keys: only a SHA-256 of the key is kept, with a short prefix to recognise it by.
CREATE TABLE api_keys (
    id              INTEGER PRIMARY KEY,
    name            TEXT    NOT NULL,
    role            TEXT    NOT NULL CHECK (role IN ('admin', 'agent')),
    prefix          TEXT    NOT NULL,
    key_hash        TEXT    NOT NULL UNIQUE,
    created_at_ms   INTEGER NOT NULL,
    last_used_at_ms INTEGER,
    revoked_at_ms   INTEGER
);
