-- The journal becomes append-only: the UNIQUE index on dedupe_key (a SHA-256, so random) was
-- maintained inside every acknowledgement's commit. The first journal row of each distinct
-- body is claimed here when projected; a later byte-identical body (Meta's retry) is marked
-- duplicate_of it and changes nothing.
-- Upgrade with every instance stopped: an older instance's append (ON CONFLICT (dedupe_key))
-- fails once the constraint is gone (it answers 503, Meta retries, nothing is lost).
CREATE TABLE webhook_dedupe (
    dedupe_key TEXT   PRIMARY KEY,
    journal_id BIGINT NOT NULL
);
-- Dead letters are not claimed: a retry of one deserves another try.
INSERT INTO webhook_dedupe (dedupe_key, journal_id) SELECT dedupe_key, id FROM webhook_journal WHERE error IS NULL;
ALTER TABLE webhook_journal DROP CONSTRAINT webhook_journal_dedupe_key_key;
ALTER TABLE webhook_journal ADD COLUMN duplicate_of BIGINT;
