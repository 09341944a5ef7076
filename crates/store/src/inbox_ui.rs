//! What the inbox's pages read beyond the API's read models: counts per view, a thread's
//! newest messages, messages still in the outbox, a contact's other conversations, labels in
//! use, and canned responses.

use crate::read::MessageRow;
use crate::{ConversationRow, Store, StoreError, with_pool};

/// Unresolved conversations in a view, and how many of them have unread messages.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct ViewCount {
    pub total: i64,
    pub unread: i64,
}

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct ViewCounts {
    pub mine: ViewCount,
    pub unassigned: ViewCount,
    pub team: ViewCount,
    pub all: ViewCount,
}

/// A message we were asked to send that Meta has not accepted yet (or never will).
#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow)]
pub struct PendingOutbound {
    pub id: i64,
    pub kind: String,
    #[sqlx(try_from = "String")]
    pub state: switchboard_domain::outbox::OutboxState,
    pub request: String,
    pub error_message: Option<String>,
    pub created_by: Option<String>,
    pub created_at_ms: i64,
}

#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow, serde::Serialize)]
pub struct CannedResponse {
    pub id: i64,
    pub shortcut: String,
    pub body: String,
    pub created_at_ms: i64,
}

const COUNT_COLS: &str = "SELECT COUNT(*), COALESCE(SUM(CASE WHEN unread_count > 0 THEN 1 ELSE 0 END), 0) FROM conversations";
const MARK_READ: &str =
    "UPDATE conversations SET unread_count = 0 WHERE id = $1 AND unread_count <> 0";
const RECENT: &str = "SELECT m.id, m.wamid, m.conversation_id, m.direction, m.type, m.text, m.payload, m.meta_at_ms, \
     m.status, m.status_at_ms, m.error_code, md.status AS media_status FROM messages m LEFT JOIN media md ON md.message_id = m.id \
     WHERE m.conversation_id = $1 ORDER BY m.meta_at_ms DESC, m.id DESC LIMIT $2";
const PENDING: &str = "SELECT id, kind, state, request, error_message, created_by, created_at_ms FROM outbound \
     WHERE phone_number_id = $1 AND contact_id = $2 AND wamid IS NULL AND state IN ('queued', 'held', 'paused', 'sending', 'failed', 'refused', 'cancelled') \
     ORDER BY id DESC LIMIT 20";
const OF_CONTACT: &str = "SELECT c.id, c.phone_number_id, c.contact_id, c.status, c.assignee, c.last_inbound_at_ms, \
     c.fep_expires_at_ms, c.last_message_at_ms, c.unread_count, c.created_at_ms, \
     k.name AS contact_name, k.wa_id AS contact_wa_id, k.bsuid AS contact_bsuid, \
     (SELECT m.text FROM messages m WHERE m.conversation_id = c.id ORDER BY m.meta_at_ms DESC, m.id DESC LIMIT 1) AS last_text \
     FROM conversations c JOIN contacts k ON k.id = c.contact_id WHERE c.contact_id = $1 ORDER BY c.last_message_at_ms DESC LIMIT 20";
const LABELS: &str =
    "SELECT label FROM conversation_labels GROUP BY label ORDER BY COUNT(*) DESC, label LIMIT 100";
const TEAM_OF: &str = "SELECT team_id FROM users WHERE id = $1";
const CANNED: &str =
    "SELECT id, shortcut, body, created_at_ms FROM canned_responses ORDER BY shortcut LIMIT 500";
const ADD_CANNED: &str = "INSERT INTO canned_responses (shortcut, body, created_by, created_at_ms) VALUES ($1, $2, $3, $4) \
     ON CONFLICT (shortcut) DO NOTHING RETURNING id";
const DELETE_CANNED: &str = "DELETE FROM canned_responses WHERE id = $1";

impl Store {
    /// Counts for the views Mine, Unassigned, Team and All (unresolved conversations).
    pub async fn view_counts(
        &self,
        user_id: i64,
        team_id: Option<i64>,
    ) -> Result<ViewCounts, StoreError> {
        let me = user_id.to_string();
        let open = " status IN ('open', 'pending')";
        with_pool!(&self.pool, p => {
            let q = |w: String| format!("{COUNT_COLS} WHERE {w}");
            let mine: (i64, i64) = sqlx::query_as(sqlx::AssertSqlSafe(q(format!("assignee = $1 AND{open}")))).bind(&me).fetch_one(p).await?;
            let unassigned: (i64, i64) = sqlx::query_as(sqlx::AssertSqlSafe(q(format!("assignee IS NULL AND{open}")))).fetch_one(p).await?;
            let all: (i64, i64) = sqlx::query_as(sqlx::AssertSqlSafe(q(open.to_owned()))).fetch_one(p).await?;
            let team: (i64, i64) = match team_id {
                Some(t) => sqlx::query_as(sqlx::AssertSqlSafe(q(format!(
                    "assignee IN (SELECT CAST(u.id AS TEXT) FROM users u WHERE u.team_id = $1) AND{open}"
                )))).bind(t).fetch_one(p).await?,
                None => (0, 0),
            };
            let v = |(total, unread): (i64, i64)| ViewCount { total, unread };
            Ok(ViewCounts { mine: v(mine), unassigned: v(unassigned), team: v(team), all: v(all) })
        })
    }

    /// The agent has seen the conversation: its unread count goes to zero.
    pub async fn mark_read(&self, conversation_id: i64) -> Result<bool, StoreError> {
        with_pool!(&self.writer, p => Ok(sqlx::query(MARK_READ).bind(conversation_id).execute(p).await?.rows_affected() > 0))
    }

    /// The newest `limit` messages of a thread, oldest first.
    pub async fn recent_messages(
        &self,
        conversation_id: i64,
        limit: i64,
    ) -> Result<Vec<MessageRow>, StoreError> {
        with_pool!(&self.pool, p => {
            let mut rows: Vec<MessageRow> = sqlx::query_as(RECENT).bind(conversation_id).bind(limit.clamp(1, 1000)).fetch_all(p).await?;
            rows.reverse();
            Ok(rows)
        })
    }

    /// Messages to this customer from this number that Meta has not accepted: queued, held,
    /// sending, or failed before Meta took them. Newest first.
    pub async fn pending_outbound(
        &self,
        phone_number_id: &str,
        contact_id: i64,
    ) -> Result<Vec<PendingOutbound>, StoreError> {
        with_pool!(&self.pool, p => Ok(sqlx::query_as(PENDING).bind(phone_number_id).bind(contact_id).fetch_all(p).await?))
    }

    /// A contact's conversations (one per number), newest first.
    pub async fn contact_conversations(
        &self,
        contact_id: i64,
    ) -> Result<Vec<ConversationRow>, StoreError> {
        with_pool!(&self.pool, p => Ok(sqlx::query_as(OF_CONTACT).bind(contact_id).fetch_all(p).await?))
    }

    /// Labels in use, the most used first.
    pub async fn labels_in_use(&self) -> Result<Vec<String>, StoreError> {
        with_pool!(&self.pool, p => {
            let rows: Vec<(String,)> = sqlx::query_as(LABELS).fetch_all(p).await?;
            Ok(rows.into_iter().map(|r| r.0).collect())
        })
    }

    pub async fn team_of(&self, user_id: i64) -> Result<Option<i64>, StoreError> {
        with_pool!(&self.pool, p => {
            let row: Option<(Option<i64>,)> = sqlx::query_as(TEAM_OF).bind(user_id).fetch_optional(p).await?;
            Ok(row.and_then(|r| r.0))
        })
    }

    pub async fn canned_responses(&self) -> Result<Vec<CannedResponse>, StoreError> {
        with_pool!(&self.pool, p => Ok(sqlx::query_as(CANNED).fetch_all(p).await?))
    }

    /// A new canned response; `None` when its shortcut is taken.
    pub async fn create_canned(
        &self,
        shortcut: &str,
        body: &str,
        by: Option<i64>,
        now_ms: i64,
    ) -> Result<Option<i64>, StoreError> {
        with_pool!(&self.writer, p => {
            let row: Option<(i64,)> = sqlx::query_as(ADD_CANNED).bind(shortcut).bind(body).bind(by).bind(now_ms).fetch_optional(p).await?;
            Ok(row.map(|r| r.0))
        })
    }

    pub async fn delete_canned(&self, id: i64) -> Result<bool, StoreError> {
        with_pool!(&self.writer, p => Ok(sqlx::query(DELETE_CANNED).bind(id).execute(p).await?.rows_affected() > 0))
    }
}

/// The channel live-update events cross instances on (PostgreSQL `LISTEN`/`NOTIFY`).
pub const EVENTS_CHANNEL: &str = "switchboard_events";

impl Store {
    /// Tells every instance listening on [`EVENTS_CHANNEL`] (PostgreSQL). On SQLite there is
    /// one instance, so nothing to do.
    pub async fn notify_events(&self, payloads: &[String]) -> Result<(), StoreError> {
        match &self.writer {
            crate::Pool::Sqlite(_) => Ok(()),
            crate::Pool::Postgres(p) => {
                for chunk in payloads.chunks(100) {
                    let mut q = sqlx::QueryBuilder::new("SELECT pg_notify(");
                    q.push_bind(EVENTS_CHANNEL);
                    q.push(", x) FROM UNNEST(");
                    q.push_bind(chunk.to_vec());
                    q.push(") AS x");
                    q.build().execute(p).await?;
                }
                Ok(())
            }
        }
    }

    /// A listener on [`EVENTS_CHANNEL`], on PostgreSQL; `None` on SQLite.
    pub async fn listen_events(&self) -> Result<Option<sqlx::postgres::PgListener>, StoreError> {
        match &self.pool {
            crate::Pool::Sqlite(_) => Ok(None),
            crate::Pool::Postgres(p) => {
                let mut l = sqlx::postgres::PgListener::connect_with(p).await?;
                l.listen(EVENTS_CHANNEL).await?;
                Ok(Some(l))
            }
        }
    }
}
