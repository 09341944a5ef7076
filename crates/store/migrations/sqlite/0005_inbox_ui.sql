-- The inbox's web UI: full-text search over message text, list indexes for its views, and
-- canned responses.

-- FTS5 with external content: the text is stored once, in messages; triggers keep the index.
CREATE VIRTUAL TABLE messages_fts USING fts5(
    text, content = 'messages', content_rowid = 'id', tokenize = 'unicode61 remove_diacritics 2'
);
INSERT INTO messages_fts (rowid, text) SELECT id, text FROM messages WHERE text IS NOT NULL;
CREATE TRIGGER messages_fts_insert AFTER INSERT ON messages WHEN new.text IS NOT NULL BEGIN
    INSERT INTO messages_fts (rowid, text) VALUES (new.id, new.text);
END;
CREATE TRIGGER messages_fts_delete AFTER DELETE ON messages WHEN old.text IS NOT NULL BEGIN
    INSERT INTO messages_fts (messages_fts, rowid, text) VALUES ('delete', old.id, old.text);
END;
CREATE TRIGGER messages_fts_update AFTER UPDATE OF text ON messages BEGIN
    INSERT INTO messages_fts (messages_fts, rowid, text) SELECT 'delete', old.id, old.text WHERE old.text IS NOT NULL;
    INSERT INTO messages_fts (rowid, text) SELECT new.id, new.text WHERE new.text IS NOT NULL;
END;

-- The views Mine and Unassigned, newest first (All and Team walk conversations_recent).
CREATE INDEX conversations_assignee_recent ON conversations (assignee, last_message_at_ms DESC, id DESC);
-- The views' counts read only this (unresolved conversations: who holds them, unread or not).
CREATE INDEX conversations_working ON conversations (assignee, unread_count) WHERE status IN ('open', 'pending');
CREATE INDEX users_team ON users (team_id);

-- Replies agents insert with a shortcut; `{{contact.name}}`-style variables are filled in
-- when inserted.
CREATE TABLE canned_responses (
    id            INTEGER PRIMARY KEY,
    shortcut      TEXT    NOT NULL UNIQUE,
    body          TEXT    NOT NULL,
    created_by    INTEGER REFERENCES users(id),
    created_at_ms INTEGER NOT NULL
);

-- Budgets per team (micro-units of the rate card's currency), and the team a campaign is for.
ALTER TABLE teams ADD COLUMN monthly_budget_micros INTEGER;
ALTER TABLE campaigns ADD COLUMN team_id INTEGER REFERENCES teams(id);
