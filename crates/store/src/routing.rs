//! What routing and the inbox's day-to-day actions need from the database: team rules,
//! agents' presence and load, the queue of unassigned open conversations, re-queueing from
//! agents who went offline, conversation status, internal notes and labels.

use crate::{BeginWrite, Store, StoreError, with_pool};
use switchboard_domain::conversation::{ConversationStatus, EventKind};

/// One agent's load as routing sees it.
#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow)]
pub struct LoadRow {
    pub user_id: i64,
    pub last_seen_at_ms: Option<i64>,
    pub open: i64,
    pub last_assigned_at: Option<i64>,
}

const ENSURE_TEAM: &str = "INSERT INTO teams (name, created_at_ms) VALUES ($1, $2) ON CONFLICT (name) DO UPDATE SET name = excluded.name RETURNING id";
const UPSERT_RULES: &str = "INSERT INTO team_rules (team_id, rules, updated_at_ms) VALUES ($1, $2, $3) \
     ON CONFLICT (team_id) DO UPDATE SET rules = excluded.rules, updated_at_ms = excluded.updated_at_ms";
const RULES: &str =
    "SELECT t.id, t.name, r.rules FROM team_rules r JOIN teams t ON t.id = r.team_id ORDER BY t.id";
const TEAMS: &str = "SELECT t.id, t.name, r.rules FROM teams t LEFT JOIN team_rules r ON r.team_id = t.id ORDER BY t.id";
const TOUCH: &str = "UPDATE users SET last_seen_at_ms = $2 WHERE id = $1";
const LOADS: &str = "SELECT u.id AS user_id, u.last_seen_at_ms, \
       (SELECT COUNT(*) FROM conversations v WHERE v.assignee = CAST(u.id AS TEXT) AND v.status IN ('open', 'pending')) AS open, \
       (SELECT MAX(e.at_ms) FROM conversation_events e WHERE e.user_id = u.id AND e.kind IN ('routed', 'claimed', 'transferred', 'taken_over')) AS last_assigned_at \
     FROM users u WHERE u.team_id = $1 AND u.disabled_at_ms IS NULL ORDER BY u.id";
const OFFLINE_HELD: &str = "SELECT v.id, CAST(v.assignee AS BIGINT) FROM conversations v JOIN users u ON CAST(u.id AS TEXT) = v.assignee \
     WHERE v.status IN ('open', 'pending') AND u.team_id IN (SELECT team_id FROM team_rules) AND (u.last_seen_at_ms IS NULL OR u.last_seen_at_ms < $1)";
const UNASSIGN: &str = "UPDATE conversations SET assignee = NULL WHERE id = $1 AND assignee = $2";
const SET_STATUS: &str = "UPDATE conversations SET status = $2 WHERE id = $1";
const EVENT: &str = "INSERT INTO conversation_events (conversation_id, kind, actor_user_id, previous_user_id, user_id, detail, at_ms) \
     VALUES ($1, $2, $3, $4, $5, $6, $7)";
const ADD_LABEL: &str = "INSERT INTO conversation_labels (conversation_id, label) VALUES ($1, $2) ON CONFLICT (conversation_id, label) DO NOTHING";
const REMOVE_LABEL: &str =
    "DELETE FROM conversation_labels WHERE conversation_id = $1 AND label = $2";
const LABELS: &str =
    "SELECT label FROM conversation_labels WHERE conversation_id = $1 ORDER BY label";

impl Store {
    pub async fn set_team_rules(
        &self,
        team: &str,
        rules_json: &str,
        now_ms: i64,
    ) -> Result<i64, StoreError> {
        with_pool!(&self.writer, p => {
            let mut tx = p.begin_write().await?;
            let (id,): (i64,) = sqlx::query_as(ENSURE_TEAM).bind(team).bind(now_ms).fetch_one(&mut *tx).await?;
            sqlx::query(UPSERT_RULES).bind(id).bind(rules_json).bind(now_ms).execute(&mut *tx).await?;
            tx.commit().await?;
            Ok(id)
        })
    }

    /// Teams that route, with their rules (JSON), in creation order.
    pub async fn team_rules(&self) -> Result<Vec<(i64, String, String)>, StoreError> {
        with_pool!(&self.pool, p => Ok(sqlx::query_as(RULES).fetch_all(p).await?))
    }

    pub async fn teams(&self) -> Result<Vec<(i64, String, Option<String>)>, StoreError> {
        with_pool!(&self.pool, p => Ok(sqlx::query_as(TEAMS).fetch_all(p).await?))
    }

    pub async fn touch_presence(&self, user_id: i64, now_ms: i64) -> Result<(), StoreError> {
        with_pool!(&self.writer, p => {
            sqlx::query(TOUCH).bind(user_id).bind(now_ms).execute(p).await?;
            Ok(())
        })
    }

    pub async fn agent_loads(&self, team_id: i64) -> Result<Vec<LoadRow>, StoreError> {
        with_pool!(&self.pool, p => Ok(sqlx::query_as(LOADS).bind(team_id).fetch_all(p).await?))
    }

    /// Unassigned open conversations a customer started, longest waiting first, on the numbers
    /// `include` (empty: any) and not on `exclude`.
    pub async fn routing_queue_of(
        &self,
        include: &[String],
        exclude: &[String],
        limit: i64,
    ) -> Result<Vec<(i64, String)>, StoreError> {
        with_pool!(&self.pool, p => {
            let mut q = sqlx::QueryBuilder::new(
                "SELECT id, phone_number_id FROM conversations WHERE assignee IS NULL AND status = 'open' AND last_inbound_at_ms IS NOT NULL",
            );
            for (list, op) in [(include, " AND phone_number_id IN ("), (exclude, " AND phone_number_id NOT IN (")] {
                if list.is_empty() {
                    continue;
                }
                q.push(op);
                let mut sep = q.separated(", ");
                for n in list {
                    sep.push_bind(n.clone());
                }
                q.push(")");
            }
            q.push(" ORDER BY COALESCE(last_inbound_at_ms, last_message_at_ms), id LIMIT ");
            q.push_bind(limit);
            Ok(q.build_query_as().fetch_all(p).await?)
        })
    }

    /// Puts back in the queue the open conversations held by routed teams' agents who were
    /// not seen since `seen_after_ms`. Returns how many.
    pub async fn requeue_offline(
        &self,
        seen_after_ms: i64,
        now_ms: i64,
    ) -> Result<usize, StoreError> {
        with_pool!(&self.writer, p => {
            let mut tx = p.begin_write().await?;
            let held: Vec<(i64, i64)> = sqlx::query_as(OFFLINE_HELD).bind(seen_after_ms).fetch_all(&mut *tx).await?;
            for (conv, user) in &held {
                sqlx::query(UNASSIGN).bind(conv).bind(user.to_string()).execute(&mut *tx).await?;
                sqlx::query(EVENT).bind(conv).bind(EventKind::Requeued.as_str()).bind(None::<i64>).bind(user).bind(None::<i64>)
                    .bind("the agent went offline").bind(now_ms).execute(&mut *tx).await?;
            }
            tx.commit().await?;
            Ok(held.len())
        })
    }

    /// Sets a conversation's status and records who did it.
    pub async fn set_conversation_status(
        &self,
        conversation_id: i64,
        status: ConversationStatus,
        actor: i64,
        now_ms: i64,
    ) -> Result<(), StoreError> {
        with_pool!(&self.writer, p => {
            let mut tx = p.begin_write().await?;
            sqlx::query(SET_STATUS).bind(conversation_id).bind(status.as_str()).execute(&mut *tx).await?;
            sqlx::query(EVENT).bind(conversation_id).bind(EventKind::Status(status).as_str()).bind(actor).bind(None::<i64>).bind(None::<i64>).bind(None::<String>).bind(now_ms)
                .execute(&mut *tx).await?;
            tx.commit().await?;
            Ok(())
        })
    }

    /// An internal note (never sent to the customer).
    pub async fn add_note(
        &self,
        conversation_id: i64,
        actor: i64,
        text: &str,
        now_ms: i64,
    ) -> Result<(), StoreError> {
        with_pool!(&self.writer, p => {
            sqlx::query(EVENT).bind(conversation_id).bind(EventKind::Note.as_str()).bind(actor).bind(None::<i64>).bind(None::<i64>).bind(text).bind(now_ms)
                .execute(p).await?;
            Ok(())
        })
    }

    pub async fn set_label(
        &self,
        conversation_id: i64,
        label: &str,
        on: bool,
    ) -> Result<Vec<String>, StoreError> {
        with_pool!(&self.writer, p => {
            sqlx::query(if on { ADD_LABEL } else { REMOVE_LABEL }).bind(conversation_id).bind(label).execute(p).await?;
            let rows: Vec<(String,)> = sqlx::query_as(LABELS).bind(conversation_id).fetch_all(p).await?;
            Ok(rows.into_iter().map(|r| r.0).collect())
        })
    }
}

#[cfg(test)]
#[test]
fn last_assigned_counts_the_domains_hand_over_events() {
    let listed = EventKind::HANDS_OVER
        .iter()
        .map(|k| format!("'{}'", k.as_str()))
        .collect::<Vec<_>>()
        .join(", ");
    assert!(LOADS.contains(&format!("e.kind IN ({listed})")), "{LOADS}");
}
