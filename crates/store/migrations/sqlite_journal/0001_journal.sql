-- SQLite only: the webhook journal, in a database file of its own (`<path>-webhooks.db`).
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

