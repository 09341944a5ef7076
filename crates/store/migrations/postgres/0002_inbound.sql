-- Inbound projection: contacts, conversations, messages, statuses, account events, media.
-- Meta's timestamps are the clock of record (`*_at_ms` from webhooks); `created_at_ms` is ours.

CREATE TABLE contacts (
    id              BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    wa_id           TEXT UNIQUE,
    bsuid           TEXT UNIQUE,
    parent_bsuid    TEXT,
    username        TEXT,
    name            TEXT,
    created_at_ms   BIGINT  NOT NULL,
    updated_at_ms   BIGINT  NOT NULL
);

CREATE TABLE conversations (
    id                  BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    phone_number_id     TEXT    NOT NULL,
    contact_id          BIGINT  NOT NULL REFERENCES contacts(id),
    status              TEXT    NOT NULL DEFAULT 'open' CHECK (status IN ('open', 'pending', 'resolved')),
    assignee            TEXT,
    last_inbound_at_ms  BIGINT,
    fep_expires_at_ms   BIGINT,
    last_message_at_ms  BIGINT  NOT NULL,
    unread_count        BIGINT  NOT NULL DEFAULT 0,
    created_at_ms       BIGINT  NOT NULL,
    UNIQUE (phone_number_id, contact_id)
);
CREATE INDEX conversations_recent ON conversations (last_message_at_ms DESC, id DESC);

CREATE TABLE conversation_labels (
    conversation_id BIGINT  NOT NULL REFERENCES conversations(id),
    label           TEXT    NOT NULL,
    PRIMARY KEY (conversation_id, label)
);

CREATE TABLE messages (
    id               BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    wamid            TEXT    NOT NULL UNIQUE,
    conversation_id  BIGINT  NOT NULL REFERENCES conversations(id),
    direction        TEXT    NOT NULL CHECK (direction IN ('in', 'out')),
    type             TEXT    NOT NULL,
    text             TEXT,
    payload          TEXT    NOT NULL,
    meta_at_ms       BIGINT  NOT NULL,
    status           TEXT,
    status_rank      BIGINT  NOT NULL DEFAULT 0,
    status_at_ms     BIGINT,
    error_code       BIGINT,
    journal_id       BIGINT,
    created_at_ms    BIGINT  NOT NULL
);
CREATE INDEX messages_thread ON messages (conversation_id, meta_at_ms, id);

-- Every status Meta reported, deduplicated by (wamid, status). A status for a wamid we have no
-- message for yet stays here ("parked") and is applied when the message appears.
CREATE TABLE message_statuses (
    id           BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    wamid        TEXT    NOT NULL,
    status       TEXT    NOT NULL,
    rank         BIGINT  NOT NULL,
    meta_at_ms   BIGINT  NOT NULL,
    pricing      TEXT,
    errors       TEXT,
    error_code   BIGINT,
    payload      TEXT    NOT NULL,
    journal_id   BIGINT,
    UNIQUE (wamid, status)
);

-- Management webhooks (templates, quality, account, capability, preferences, unknown fields).
CREATE TABLE account_events (
    id              BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    field           TEXT    NOT NULL,
    waba_id         TEXT    NOT NULL,
    phone_number_id TEXT,
    meta_at_ms      BIGINT,
    dedupe_key      TEXT    NOT NULL UNIQUE,
    payload         TEXT    NOT NULL,
    journal_id      BIGINT
);

-- Each field keeps the Meta time of the event that set it, so a late older event for one field
-- can neither undo a newer value of that field nor be lost behind a newer event for another.
CREATE TABLE number_state (
    phone_number_id      TEXT PRIMARY KEY,
    display_phone_number TEXT,
    quality              TEXT,
    quality_at_ms        BIGINT,
    messaging_limit      TEXT,
    messaging_limit_at_ms BIGINT,
    restricted           BOOLEAN NOT NULL DEFAULT FALSE,
    restricted_at_ms     BIGINT,
    updated_at_ms        BIGINT NOT NULL
);

CREATE TABLE template_state (
    waba_id        TEXT NOT NULL,
    name           TEXT NOT NULL,
    language       TEXT NOT NULL,
    template_id    TEXT,
    status         TEXT,
    reason         TEXT,
    status_at_ms   BIGINT,
    category       TEXT,
    category_at_ms BIGINT,
    quality        TEXT,
    quality_at_ms  BIGINT,
    updated_at_ms  BIGINT NOT NULL,
    PRIMARY KEY (waba_id, name, language)
);

CREATE TABLE marketing_preferences (
    id              BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    contact_id      BIGINT  NOT NULL REFERENCES contacts(id),
    phone_number_id TEXT    NOT NULL,
    value           TEXT    NOT NULL,
    meta_at_ms      BIGINT  NOT NULL,
    UNIQUE (contact_id, phone_number_id, meta_at_ms, value)
);

CREATE TABLE media (
    message_id       BIGINT  PRIMARY KEY REFERENCES messages(id),
    phone_number_id  TEXT    NOT NULL,
    media_id         TEXT    NOT NULL,
    mime_type        TEXT,
    sha256           TEXT,
    url              TEXT,
    status           TEXT    NOT NULL DEFAULT 'pending' CHECK (status IN ('pending', 'stored', 'failed')),
    attempts         BIGINT  NOT NULL DEFAULT 0,
    next_attempt_at_ms BIGINT  NOT NULL,
    lease_until_ms   BIGINT,
    path             TEXT,
    size_bytes       BIGINT,
    last_error       TEXT
);
CREATE INDEX media_due ON media (status, next_attempt_at_ms);

CREATE TABLE projector_cursor (
    name     TEXT PRIMARY KEY,
    last_id  BIGINT  NOT NULL
);
