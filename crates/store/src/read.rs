//! Read models for the API: conversations (filtered, cursor-paginated), a thread's messages,
//! contacts, and the webhook journal. Filters are built from fixed SQL fragments only; values
//! are always bound, never spliced.

use crate::{Backend, Store, StoreError, with_pool};

#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow)]
pub struct ConversationRow {
    pub id: i64,
    pub phone_number_id: String,
    pub contact_id: i64,
    pub status: String,
    pub assignee: Option<String>,
    pub last_inbound_at_ms: Option<i64>,
    pub fep_expires_at_ms: Option<i64>,
    pub last_message_at_ms: i64,
    pub unread_count: i64,
    pub created_at_ms: i64,
    pub contact_name: Option<String>,
    pub contact_wa_id: Option<String>,
    pub contact_bsuid: Option<String>,
    /// The newest message's text (a preview for lists).
    pub last_text: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow)]
pub struct MessageRow {
    pub id: i64,
    pub wamid: String,
    pub conversation_id: i64,
    pub direction: String,
    #[sqlx(rename = "type")]
    pub kind: String,
    pub text: Option<String>,
    pub payload: String,
    pub meta_at_ms: i64,
    pub status: Option<String>,
    pub status_at_ms: Option<i64>,
    pub error_code: Option<i64>,
    pub media_status: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow)]
pub struct ContactRow {
    pub id: i64,
    pub wa_id: Option<String>,
    pub bsuid: Option<String>,
    pub parent_bsuid: Option<String>,
    pub username: Option<String>,
    pub name: Option<String>,
    pub created_at_ms: i64,
    pub updated_at_ms: i64,
}

#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow)]
pub struct StatusRow {
    pub status: String,
    pub meta_at_ms: i64,
    pub pricing: Option<String>,
    pub errors: Option<String>,
}

/// Filters for the conversation list. `before` is the cursor: (last_message_at_ms, id) of the
/// last row of the previous page.
#[derive(Debug, Clone, Default)]
pub struct ConversationFilter {
    pub status: Option<String>,
    pub assignee: Option<String>,
    pub unassigned: bool,
    pub phone_number_id: Option<String>,
    pub label: Option<String>,
    pub search: Option<String>,
    /// Conversations held by members of this team.
    pub team_id: Option<i64>,
    /// Leave out resolved conversations (the inbox's working views).
    pub unresolved: bool,
    pub before: Option<(i64, i64)>,
    pub limit: i64,
}

const CONVERSATION_COLUMNS: &str = "SELECT c.id, c.phone_number_id, c.contact_id, c.status, c.assignee, c.last_inbound_at_ms, \
     c.fep_expires_at_ms, c.last_message_at_ms, c.unread_count, c.created_at_ms, \
     k.name AS contact_name, k.wa_id AS contact_wa_id, k.bsuid AS contact_bsuid \
     FROM conversations c JOIN contacts k ON k.id = c.contact_id";
const MESSAGE_COLUMNS: &str = "SELECT m.id, m.wamid, m.conversation_id, m.direction, m.type, m.text, m.payload, m.meta_at_ms, \
     m.status, m.status_at_ms, m.error_code, md.status AS media_status FROM messages m LEFT JOIN media md ON md.message_id = m.id";

/// The words of a search, for a full-text query: letters and digits only (so nothing in them
/// is query syntax), lower-cased, at most eight.
pub fn search_words(q: &str) -> Vec<String> {
    q.split(|c: char| !c.is_alphanumeric())
        .filter(|w| !w.is_empty())
        .take(8)
        .map(str::to_lowercase)
        .collect()
}

enum Arg {
    Text(String),
    Int(i64),
}

impl Store {
    pub async fn conversations(
        &self,
        f: &ConversationFilter,
    ) -> Result<Vec<ConversationRow>, StoreError> {
        let like = if self.backend() == Backend::Postgres {
            "ILIKE"
        } else {
            "LIKE"
        };
        let mut sql = format!("{CONVERSATION_COLUMNS} WHERE 1=1");
        let mut args = Vec::new();
        let mut next = |sql: &mut String, fragment: &str, arg: Arg| {
            args.push(arg);
            sql.push_str(&fragment.replace("$?", &format!("${}", args.len())));
        };
        if let Some(s) = &f.status {
            next(&mut sql, " AND c.status = $?", Arg::Text(s.clone()));
        }
        if let Some(a) = &f.assignee {
            next(&mut sql, " AND c.assignee = $?", Arg::Text(a.clone()));
        }
        if f.unassigned {
            sql.push_str(" AND c.assignee IS NULL");
        }
        if let Some(n) = &f.phone_number_id {
            next(
                &mut sql,
                " AND c.phone_number_id = $?",
                Arg::Text(n.clone()),
            );
        }
        if let Some(l) = &f.label {
            next(
                &mut sql,
                " AND EXISTS (SELECT 1 FROM conversation_labels l WHERE l.conversation_id = c.id AND l.label = $?)",
                Arg::Text(l.clone()),
            );
        }
        if let Some(t) = f.team_id {
            next(
                &mut sql,
                // Correlated, so the newest-first walk stays on conversations_recent (an IN
                // list over the assignee index would sort every conversation of the team).
                " AND EXISTS (SELECT 1 FROM users u WHERE u.team_id = $? AND CAST(u.id AS TEXT) = c.assignee)",
                Arg::Int(t),
            );
        }
        if f.unresolved {
            sql.push_str(" AND c.status IN ('open', 'pending')");
        }
        if let Some(q) = &f.search {
            // Contacts by name, number or username (substring); messages by full-text search
            // (FTS5 on SQLite, a GIN tsvector index on PostgreSQL), every word as a prefix.
            let pattern = format!(
                "%{}%",
                q.replace('\\', "\\\\")
                    .replace('%', "\\%")
                    .replace('_', "\\_")
            );
            let n = args.len() + 1;
            let words = search_words(q);
            let text_match = if words.is_empty() {
                String::new()
            } else if self.backend() == Backend::Postgres {
                format!(
                    " OR c.id IN (SELECT m.conversation_id FROM messages m WHERE to_tsvector('simple', COALESCE(m.text, '')) @@ to_tsquery('simple', ${}))",
                    n + 1
                )
            } else {
                format!(
                    " OR c.id IN (SELECT m.conversation_id FROM messages_fts f JOIN messages m ON m.id = f.rowid WHERE messages_fts MATCH ${})",
                    n + 1
                )
            };
            sql.push_str(&format!(
                " AND (k.name {like} ${n} ESCAPE '\\' OR k.wa_id {like} ${n} ESCAPE '\\' OR k.username {like} ${n} ESCAPE '\\'{text_match})"
            ));
            args.push(Arg::Text(pattern));
            if !words.is_empty() {
                // Whole words, but the last may be unfinished (typed as you search): a prefix.
                let last = words.len() - 1;
                let query = if self.backend() == Backend::Postgres {
                    words
                        .iter()
                        .enumerate()
                        .map(|(i, w)| {
                            if i == last {
                                format!("{w}:*")
                            } else {
                                w.clone()
                            }
                        })
                        .collect::<Vec<_>>()
                        .join(" & ")
                } else {
                    words
                        .iter()
                        .enumerate()
                        .map(|(i, w)| {
                            if i == last {
                                format!("\"{w}\"*")
                            } else {
                                format!("\"{w}\"")
                            }
                        })
                        .collect::<Vec<_>>()
                        .join(" AND ")
                };
                args.push(Arg::Text(query));
            }
        }
        if let Some((at, id)) = f.before {
            let n = args.len() + 1;
            sql.push_str(&format!(" AND (c.last_message_at_ms < ${n} OR (c.last_message_at_ms = ${n} AND c.id < ${}))", n + 1));
            args.push(Arg::Int(at));
            args.push(Arg::Int(id));
        }
        sql.push_str(&format!(
            " ORDER BY c.last_message_at_ms DESC, c.id DESC LIMIT {}",
            f.limit.clamp(1, 500)
        ));
        // The preview is looked up for the page's rows only, after the limit (in the select
        // list above, a sort over many matches would look it up for every one of them).
        let sql = format!(
            "SELECT q.*, (SELECT m.text FROM messages m WHERE m.conversation_id = q.id ORDER BY m.meta_at_ms DESC, m.id DESC LIMIT 1) AS last_text \
             FROM ({sql}) q ORDER BY q.last_message_at_ms DESC, q.id DESC"
        );
        with_pool!(&self.pool, p => {
            // Built from the fixed fragments above; every value is bound.
            let mut q = sqlx::query_as::<_, ConversationRow>(sqlx::AssertSqlSafe(sql.clone()));
            for a in &args {
                q = match a { Arg::Text(s) => q.bind(s.clone()), Arg::Int(i) => q.bind(*i) };
            }
            Ok(q.fetch_all(p).await?)
        })
    }

    pub async fn conversation(&self, id: i64) -> Result<ConversationRow, StoreError> {
        const SQL: &str = "SELECT c.id, c.phone_number_id, c.contact_id, c.status, c.assignee, c.last_inbound_at_ms, \
             c.fep_expires_at_ms, c.last_message_at_ms, c.unread_count, c.created_at_ms, \
             k.name AS contact_name, k.wa_id AS contact_wa_id, k.bsuid AS contact_bsuid, \
             (SELECT m.text FROM messages m WHERE m.conversation_id = c.id ORDER BY m.meta_at_ms DESC, m.id DESC LIMIT 1) AS last_text \
             FROM conversations c JOIN contacts k ON k.id = c.contact_id WHERE c.id = $1";
        with_pool!(&self.pool, p => Ok(sqlx::query_as(SQL).bind(id).fetch_one(p).await?))
    }

    pub async fn conversation_labels(&self, id: i64) -> Result<Vec<String>, StoreError> {
        const SQL: &str =
            "SELECT label FROM conversation_labels WHERE conversation_id = $1 ORDER BY label";
        with_pool!(&self.pool, p => {
            let rows: Vec<(String,)> = sqlx::query_as(SQL).bind(id).fetch_all(p).await?;
            Ok(rows.into_iter().map(|r| r.0).collect())
        })
    }

    /// A thread's messages in Meta's time order, after the cursor (meta_at_ms, id).
    pub async fn messages(
        &self,
        conversation_id: i64,
        after: Option<(i64, i64)>,
        limit: i64,
    ) -> Result<Vec<MessageRow>, StoreError> {
        const SQL: &str = "SELECT m.id, m.wamid, m.conversation_id, m.direction, m.type, m.text, m.payload, m.meta_at_ms, \
             m.status, m.status_at_ms, m.error_code, md.status AS media_status FROM messages m LEFT JOIN media md ON md.message_id = m.id \
             WHERE m.conversation_id = $1 AND (m.meta_at_ms > $2 OR (m.meta_at_ms = $2 AND m.id > $3)) \
             ORDER BY m.meta_at_ms, m.id LIMIT $4";
        debug_assert!(SQL.starts_with(MESSAGE_COLUMNS));
        let (at, id) = after.unwrap_or((i64::MIN, i64::MIN));
        with_pool!(&self.pool, p => Ok(sqlx::query_as(SQL).bind(conversation_id).bind(at).bind(id).bind(limit.clamp(1, 1000)).fetch_all(p).await?))
    }

    pub async fn message_by_wamid(&self, wamid: &str) -> Result<Option<MessageRow>, StoreError> {
        const SQL: &str = "SELECT m.id, m.wamid, m.conversation_id, m.direction, m.type, m.text, m.payload, m.meta_at_ms, \
             m.status, m.status_at_ms, m.error_code, md.status AS media_status FROM messages m LEFT JOIN media md ON md.message_id = m.id \
             WHERE m.wamid = $1";
        with_pool!(&self.pool, p => Ok(sqlx::query_as(SQL).bind(wamid).fetch_optional(p).await?))
    }

    pub async fn statuses_of(&self, wamid: &str) -> Result<Vec<StatusRow>, StoreError> {
        const SQL: &str = "SELECT status, meta_at_ms, pricing, errors FROM message_statuses WHERE wamid = $1 ORDER BY rank, meta_at_ms";
        with_pool!(&self.pool, p => Ok(sqlx::query_as(SQL).bind(wamid).fetch_all(p).await?))
    }

    pub async fn contact(&self, id: i64) -> Result<ContactRow, StoreError> {
        const SQL: &str = "SELECT id, wa_id, bsuid, parent_bsuid, username, name, created_at_ms, updated_at_ms FROM contacts WHERE id = $1";
        with_pool!(&self.pool, p => Ok(sqlx::query_as(SQL).bind(id).fetch_one(p).await?))
    }

    pub async fn contact_by_wa_id(&self, wa_id: &str) -> Result<Option<ContactRow>, StoreError> {
        const SQL: &str = "SELECT id, wa_id, bsuid, parent_bsuid, username, name, created_at_ms, updated_at_ms FROM contacts WHERE wa_id = $1";
        with_pool!(&self.pool, p => Ok(sqlx::query_as(SQL).bind(wa_id).fetch_optional(p).await?))
    }

    /// Journal rows, newest first, before `before_id`; only dead letters when asked.
    pub async fn journal(
        &self,
        before_id: Option<i64>,
        dead_letters_only: bool,
        limit: i64,
    ) -> Result<Vec<crate::JournalEntry>, StoreError> {
        const ALL: &str = concat!(
            "SELECT ",
            crate::journal::journal_columns!(),
            " FROM webhook_journal WHERE id < $1 ORDER BY id DESC LIMIT $2"
        );
        const DEAD: &str = concat!(
            "SELECT ",
            crate::journal::journal_columns!(),
            " FROM webhook_journal WHERE id < $1 AND error IS NOT NULL ORDER BY id DESC LIMIT $2"
        );
        let sql = if dead_letters_only { DEAD } else { ALL };
        with_pool!(&self.journal, p => Ok(sqlx::query_as(sql).bind(before_id.unwrap_or(i64::MAX)).bind(limit.clamp(1, 500)).fetch_all(p).await?))
    }

    /// Counts for tests and health: (messages, message_statuses, contacts, conversations).
    pub async fn inbound_counts(&self) -> Result<(i64, i64, i64, i64), StoreError> {
        const SQL: &str = "SELECT (SELECT COUNT(*) FROM messages), (SELECT COUNT(*) FROM message_statuses), \
             (SELECT COUNT(*) FROM contacts), (SELECT COUNT(*) FROM conversations)";
        with_pool!(&self.pool, p => Ok(sqlx::query_as(SQL).fetch_one(p).await?))
    }

    /// Events recorded for a management field, oldest first (payload JSON text).
    pub async fn account_events(&self, field: &str) -> Result<Vec<String>, StoreError> {
        const SQL: &str = "SELECT payload FROM account_events WHERE field = $1 ORDER BY id";
        with_pool!(&self.pool, p => {
            let rows: Vec<(String,)> = sqlx::query_as(SQL).bind(field).fetch_all(p).await?;
            Ok(rows.into_iter().map(|r| r.0).collect())
        })
    }

    /// (status, category, quality, reason) of a template, as its webhooks left it.
    pub async fn template_state(
        &self,
        waba_id: &str,
        name: &str,
        language: &str,
    ) -> Result<
        Option<(
            Option<String>,
            Option<String>,
            Option<String>,
            Option<String>,
        )>,
        StoreError,
    > {
        const SQL: &str = "SELECT status, category, quality, reason FROM template_state WHERE waba_id = $1 AND name = $2 AND language = $3";
        with_pool!(&self.pool, p => Ok(sqlx::query_as(SQL).bind(waba_id).bind(name).bind(language).fetch_optional(p).await?))
    }

    /// (quality, messaging_limit, restricted) of a number, as its webhooks left it.
    pub async fn number_state(
        &self,
        key: &str,
    ) -> Result<Option<(Option<String>, Option<String>, bool)>, StoreError> {
        const SQL: &str = "SELECT quality, messaging_limit, restricted FROM number_state WHERE phone_number_id = $1";
        with_pool!(&self.pool, p => Ok(sqlx::query_as(SQL).bind(key).fetch_optional(p).await?))
    }

    /// The latest marketing preference (`stop`/`resume`) of a contact on a number.
    pub async fn marketing_preference(
        &self,
        contact_id: i64,
        phone_number_id: &str,
    ) -> Result<Option<String>, StoreError> {
        const SQL: &str = "SELECT value FROM marketing_preferences WHERE contact_id = $1 AND phone_number_id = $2 ORDER BY meta_at_ms DESC, id DESC LIMIT 1";
        with_pool!(&self.pool, p => {
            let row: Option<(String,)> = sqlx::query_as(SQL).bind(contact_id).bind(phone_number_id).fetch_optional(p).await?;
            Ok(row.map(|r| r.0))
        })
    }
}
