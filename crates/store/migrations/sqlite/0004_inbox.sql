-- The team inbox: people (agents and admins) who log in, their teams and sessions, and the
-- record of who held each conversation.

CREATE TABLE teams (
    id            INTEGER PRIMARY KEY,
    name          TEXT    NOT NULL UNIQUE,
    created_at_ms INTEGER NOT NULL
);

CREATE TABLE users (
    id             INTEGER PRIMARY KEY,
    email          TEXT    NOT NULL UNIQUE,
    name           TEXT    NOT NULL,
    role           TEXT    NOT NULL CHECK (role IN ('admin', 'agent')),
    team_id        INTEGER REFERENCES teams(id),
    -- Argon2id in PHC format.
    password_hash  TEXT    NOT NULL,
    created_at_ms  INTEGER NOT NULL,
    disabled_at_ms INTEGER,
    -- The inbox's heartbeat: online for routing while recent.
    last_seen_at_ms INTEGER
);

-- A team's routing rules (JSON: strategy, capacity, business hours, numbers).
CREATE TABLE team_rules (
    team_id       INTEGER PRIMARY KEY REFERENCES teams(id),
    rules         TEXT    NOT NULL,
    updated_at_ms INTEGER NOT NULL
);

-- A session is a random token in an HttpOnly cookie; only its SHA-256 is stored. The CSRF
-- token is sent back by the page on every state-changing request.
CREATE TABLE sessions (
    token_hash     TEXT    PRIMARY KEY,
    user_id        INTEGER NOT NULL REFERENCES users(id),
    csrf_token     TEXT    NOT NULL,
    created_at_ms  INTEGER NOT NULL,
    expires_at_ms  INTEGER NOT NULL
);
CREATE INDEX sessions_of_user ON sessions (user_id);

-- Who held a conversation, and when it changed hands (claims, transfers, take-overs).
CREATE TABLE conversation_events (
    id               INTEGER PRIMARY KEY,
    conversation_id  INTEGER NOT NULL REFERENCES conversations(id),
    kind             TEXT    NOT NULL,
    actor_user_id    INTEGER REFERENCES users(id),
    previous_user_id INTEGER REFERENCES users(id),
    user_id          INTEGER REFERENCES users(id),
    detail           TEXT,
    at_ms            INTEGER NOT NULL
);
CREATE INDEX conversation_events_of ON conversation_events (conversation_id, id);
CREATE INDEX conversation_events_for ON conversation_events (previous_user_id, id);
