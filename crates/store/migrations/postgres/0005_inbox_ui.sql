-- The inbox's web UI: full-text search over message text, list indexes for its views, and
-- canned responses.

-- The 'simple' configuration: no stemming or stop words, so it works for every language.
CREATE INDEX messages_text_search ON messages USING GIN (to_tsvector('simple', COALESCE(text, '')));

CREATE INDEX conversations_assignee_recent ON conversations (assignee, last_message_at_ms DESC, id DESC);
-- The views' counts read only this (unresolved conversations: who holds them, unread or not).
CREATE INDEX conversations_working ON conversations (assignee, unread_count) WHERE status IN ('open', 'pending');
CREATE INDEX users_team ON users (team_id);

CREATE TABLE canned_responses (
    id            BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    shortcut      TEXT    NOT NULL UNIQUE,
    body          TEXT    NOT NULL,
    created_by    BIGINT REFERENCES users(id),
    created_at_ms BIGINT  NOT NULL
);

-- Budgets per team (micro-units of the rate card's currency), and the team a campaign is for.
ALTER TABLE teams ADD COLUMN monthly_budget_micros BIGINT;
ALTER TABLE campaigns ADD COLUMN team_id BIGINT REFERENCES teams(id);
