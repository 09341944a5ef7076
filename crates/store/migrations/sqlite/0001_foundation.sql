-- The webhook journal lives in its own file on SQLite (migrations/sqlite_journal), so journal
-- commits never wait for the projection's writes.

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
