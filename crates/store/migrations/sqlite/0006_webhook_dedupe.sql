-- The first journal row of each distinct webhook body (by SHA-256), claimed when projected: a
-- later byte-identical body (Meta's retry) is marked a duplicate of it and changes nothing.
-- (The journal is another file on SQLite: rows journaled before this migration are claimed
-- when they are next projected; a retry of one of them re-projects idempotently.)
CREATE TABLE webhook_dedupe (
    dedupe_key TEXT    PRIMARY KEY,
    journal_id INTEGER NOT NULL
) WITHOUT ROWID;
