-- The journal becomes append-only. A UNIQUE index on dedupe_key (a SHA-256, so random) dirtied
-- a random index page per body inside the acknowledgement's commit, and capped the intake.
-- Byte-identical bodies (Meta's retries) are now recognised when projected (webhook_dedupe in
-- the main database) and marked duplicate_of the first copy, whose deliveries go up.
CREATE TABLE webhook_journal_v2 (
    id              INTEGER PRIMARY KEY,
    received_at_ms  INTEGER NOT NULL,
    dedupe_key      TEXT    NOT NULL,
    signature       TEXT    NOT NULL,
    app_id          TEXT,
    body            BLOB    NOT NULL,
    deliveries      INTEGER NOT NULL DEFAULT 1,
    projected_at_ms INTEGER,
    error           TEXT,
    duplicate_of    INTEGER
);
INSERT INTO webhook_journal_v2 (id, received_at_ms, dedupe_key, signature, app_id, body, deliveries, projected_at_ms, error)
    SELECT id, received_at_ms, dedupe_key, signature, app_id, body, deliveries, projected_at_ms, error FROM webhook_journal;
DROP TABLE webhook_journal;
ALTER TABLE webhook_journal_v2 RENAME TO webhook_journal;
CREATE INDEX webhook_journal_unprojected ON webhook_journal (id) WHERE projected_at_ms IS NULL;
