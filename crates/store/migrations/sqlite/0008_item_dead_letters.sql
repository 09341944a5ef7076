-- Items of journaled webhook bodies that could not be applied, each kept on its own while the
-- rest of its body was applied: an item that does not parse ('unparsed') or that the database
-- refused ('refused'). `place` is where it is in the body (entry[0].changes[1].value.messages[2],
-- an array, or a whole change: see cloudapi's ItemPlace), `raw` its JSON as it came. Open until
-- it is applied (a replay of the item, or of its body); then resolved, and kept.
CREATE TABLE webhook_item_dead_letters (
    id              INTEGER PRIMARY KEY,
    journal_id      INTEGER  NOT NULL,
    place           TEXT    NOT NULL,
    code            TEXT    NOT NULL CHECK (code IN ('unparsed', 'refused')),
    reason          TEXT    NOT NULL,
    raw             TEXT    NOT NULL,
    created_at_ms   INTEGER  NOT NULL,
    updated_at_ms   INTEGER  NOT NULL,
    resolved_at_ms  INTEGER,
    resolved_by     TEXT,
    UNIQUE (journal_id, place)
);
CREATE INDEX webhook_item_dead_letters_open ON webhook_item_dead_letters (journal_id) WHERE resolved_at_ms IS NULL;

-- Journal rows being applied item by item because the database refused them whole: kept until
-- every item was tried, so an isolation cut short (a stop, the database away) is finished later.
CREATE TABLE webhook_isolations (
    journal_id      INTEGER  PRIMARY KEY,
    started_at_ms   INTEGER  NOT NULL
);
