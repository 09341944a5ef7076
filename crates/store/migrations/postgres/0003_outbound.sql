-- Outbound: the template registry, the outbox with its state history, one sender lease per
-- number, alerts, and the consent records the send policy reads.

-- Meta's template JSON as last pulled (components, parameter format). Status, category and
-- quality move with webhooks in template_state; a pull also records there what it saw.
CREATE TABLE template_definitions (
    waba_id        TEXT    NOT NULL,
    name           TEXT    NOT NULL,
    language       TEXT    NOT NULL,
    definition     TEXT    NOT NULL,
    synced_at_ms   BIGINT NOT NULL,
    PRIMARY KEY (waba_id, name, language)
);

-- One row per message we were asked to send. `state` is ours (the outbox); what Meta reported
-- afterwards (sent, delivered, read, failed) is in messages/message_statuses by wamid.
CREATE TABLE outbound (
    id                 BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    idempotency_key    TEXT    UNIQUE,
    request_hash       TEXT    NOT NULL,
    phone_number_id    TEXT    NOT NULL,
    contact_id         BIGINT  NOT NULL REFERENCES contacts(id),
    recipient          TEXT    NOT NULL,
    kind               TEXT    NOT NULL,
    category           TEXT,
    template_name      TEXT,
    lane               BIGINT NOT NULL,
    request            TEXT    NOT NULL,
    state              TEXT    NOT NULL CHECK (state IN ('queued', 'held', 'paused', 'sending', 'accepted', 'failed', 'refused', 'cancelled')),
    decision           TEXT    NOT NULL,
    business_initiated BOOLEAN NOT NULL,
    attempts           BIGINT NOT NULL DEFAULT 0,
    next_attempt_at_ms BIGINT NOT NULL,
    ambiguous          BOOLEAN NOT NULL DEFAULT FALSE,
    wamid              TEXT    UNIQUE,
    error_code         BIGINT,
    error_message      TEXT,
    campaign_id        BIGINT,
    created_by         TEXT,
    created_at_ms      BIGINT NOT NULL,
    updated_at_ms      BIGINT NOT NULL,
    -- When the message counts against the messaging limit: when it was queued, or released
    -- from hold (a column of its own, so sending does not rewrite the index on it).
    reached_at_ms      BIGINT NOT NULL
);
CREATE INDEX outbound_campaign ON outbound (campaign_id, state);
CREATE INDEX outbound_due ON outbound (phone_number_id, state, lane, next_attempt_at_ms, id);
CREATE INDEX outbound_reach ON outbound (phone_number_id, business_initiated, reached_at_ms);
CREATE INDEX outbound_contact ON outbound (contact_id, created_at_ms);

CREATE TABLE outbound_events (
    id           BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    outbound_id  BIGINT  NOT NULL REFERENCES outbound(id),
    state        TEXT    NOT NULL,
    at_ms        BIGINT NOT NULL,
    detail       TEXT
);
CREATE INDEX outbound_events_of ON outbound_events (outbound_id, id);

-- The one instance that sends for a number holds its lease; a number can be paused (auth or
-- account errors) until an admin resumes it.
CREATE TABLE senders (
    phone_number_id TEXT    PRIMARY KEY,
    owner           TEXT,
    lease_until_ms  BIGINT NOT NULL DEFAULT 0,
    paused          BOOLEAN NOT NULL DEFAULT FALSE,
    paused_reason   TEXT,
    paused_at_ms    BIGINT
);

CREATE TABLE alerts (
    id              BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    phone_number_id TEXT,
    code            TEXT    NOT NULL,
    message         TEXT    NOT NULL,
    created_at_ms   BIGINT NOT NULL,
    resolved_at_ms  BIGINT
);

-- Consent, append-only: the latest record per (contact, purpose) decides. `phone_number_id`
-- NULL applies to every number.
CREATE TABLE consents (
    id              BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    contact_id      BIGINT  NOT NULL REFERENCES contacts(id),
    phone_number_id TEXT,
    purpose         TEXT    NOT NULL CHECK (purpose IN ('marketing', 'all')),
    action          TEXT    NOT NULL CHECK (action IN ('opt_in', 'opt_out')),
    source          TEXT    NOT NULL,
    evidence        TEXT,
    actor           TEXT,
    -- A record from a webhook (a keyword message) is kept once however often it is replayed.
    dedupe_key      TEXT    UNIQUE,
    at_ms           BIGINT NOT NULL
);
CREATE INDEX consents_of ON consents (contact_id, purpose, at_ms);

-- A campaign: one template to an audience from one number. Its messages are outbox rows with
-- its id; pausing moves its queued rows to `paused` (and back), cancelling to `cancelled`.
CREATE TABLE campaigns (
    id              BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    name            TEXT    NOT NULL,
    phone_number_id TEXT    NOT NULL,
    template_name   TEXT    NOT NULL,
    language        TEXT    NOT NULL,
    state           TEXT    NOT NULL CHECK (state IN ('running', 'paused', 'cancelled')),
    paused_reason   TEXT,
    audience        TEXT    NOT NULL,
    schedule_at_ms  BIGINT NOT NULL,
    created_by      TEXT,
    created_at_ms   BIGINT NOT NULL,
    updated_at_ms   BIGINT NOT NULL
);
CREATE INDEX campaigns_of_number ON campaigns (phone_number_id, state);

-- Rate cards as imported (Meta's CSVs kept verbatim), each with its effective date; the
-- latest effective on or before today prices messages.
CREATE TABLE rate_cards (
    id             BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    effective      TEXT    NOT NULL,
    currency       TEXT    NOT NULL,
    label          TEXT    NOT NULL,
    rates_csv      TEXT    NOT NULL,
    tiers_csv      TEXT,
    imported_at_ms BIGINT NOT NULL
);

-- The cost ledger: each outbound message's estimate when it was queued. What Meta billed comes
-- from the status webhooks' pricing objects (message_statuses), reconciled when reported.
CREATE TABLE message_costs (
    outbound_id     BIGINT PRIMARY KEY REFERENCES outbound(id),
    phone_number_id TEXT    NOT NULL,
    market          TEXT    NOT NULL,
    category        TEXT    NOT NULL,
    pricing_type    TEXT    NOT NULL,
    estimate_micros BIGINT NOT NULL,
    month_seq       BIGINT NOT NULL,
    currency        TEXT    NOT NULL,
    card_effective  TEXT    NOT NULL,
    month           TEXT    NOT NULL,
    created_at_ms   BIGINT NOT NULL
);
CREATE INDEX message_costs_month ON message_costs (month, market, category, pricing_type);
CREATE INDEX message_costs_time ON message_costs (created_at_ms);
