//! Who sends for a number: one dispatcher at a time holds a number's lease; a new holder puts
//! back what a crashed one left in flight. A number can be paused (its credentials or account
//! are unusable), which raises an alert until it is resumed. Messages held for the messaging
//! limit are released here as the rolling budget frees slots.

use serde::Serialize;
use switchboard_domain::policy;

use super::INSERT_EVENT;
use super::submit::{REACHED, TIER};
use crate::{BeginWrite, Store, StoreError, with_pool};

/// The state of a number's sender.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SenderLease {
    /// This owner holds the lease now.
    pub held: bool,
    pub paused: bool,
    pub paused_reason: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow, Serialize)]
pub struct AlertRow {
    pub id: i64,
    pub phone_number_id: Option<String>,
    pub code: String,
    pub message: String,
    pub created_at_ms: i64,
    pub resolved_at_ms: Option<i64>,
}

const LEASE: &str = "INSERT INTO senders (phone_number_id, owner, lease_until_ms) VALUES ($1, $2, $3) \
     ON CONFLICT (phone_number_id) DO UPDATE SET owner = excluded.owner, lease_until_ms = excluded.lease_until_ms \
     WHERE senders.owner = excluded.owner OR senders.owner IS NULL OR senders.lease_until_ms < $4";
const LEASE_BEFORE: &str = "SELECT owner, lease_until_ms FROM senders WHERE phone_number_id = $1";
const SENDER: &str = "SELECT owner, paused, paused_reason FROM senders WHERE phone_number_id = $1";
const ORPHANS: &str = "UPDATE outbound SET state = 'queued', ambiguous = TRUE, updated_at_ms = $2 \
     WHERE phone_number_id = $1 AND state = 'sending' RETURNING id";
const ANY_HELD: &str = "SELECT COUNT(*) FROM (SELECT 1 FROM outbound WHERE phone_number_id = $1 AND state = 'held' LIMIT 1) h";
const RELEASE_HELD: &str = "UPDATE outbound SET state = 'queued', next_attempt_at_ms = $2, updated_at_ms = $2, reached_at_ms = $2 WHERE id IN ( \
       SELECT id FROM outbound WHERE phone_number_id = $1 AND state = 'held' \
       AND (campaign_id IS NULL OR campaign_id IN (SELECT id FROM campaigns WHERE state = 'running')) ORDER BY lane, id LIMIT $3) RETURNING id";
const RELEASE: &str =
    "UPDATE senders SET lease_until_ms = 0 WHERE phone_number_id = $1 AND owner = $2";
const PAUSE: &str = "INSERT INTO senders (phone_number_id, paused, paused_reason, paused_at_ms) VALUES ($1, TRUE, $2, $3) \
     ON CONFLICT (phone_number_id) DO UPDATE SET paused = TRUE, paused_reason = excluded.paused_reason, paused_at_ms = excluded.paused_at_ms \
     WHERE NOT senders.paused RETURNING phone_number_id";
const RESUME: &str = "UPDATE senders SET paused = FALSE, paused_reason = NULL WHERE phone_number_id = $1 AND paused RETURNING phone_number_id";
const INSERT_ALERT: &str =
    "INSERT INTO alerts (phone_number_id, code, message, created_at_ms) VALUES ($1, $2, $3, $4)";
const RESOLVE_ALERTS: &str =
    "UPDATE alerts SET resolved_at_ms = $2 WHERE phone_number_id = $1 AND resolved_at_ms IS NULL";
const ALERTS: &str = "SELECT id, phone_number_id, code, message, created_at_ms, resolved_at_ms FROM alerts ORDER BY id DESC LIMIT $1";

impl Store {
    /// Takes or renews the lease of a number's sender for `owner` until `until_ms`. A new
    /// holder puts back the messages a previous owner left in flight, flagged ambiguous (their
    /// late answers, if any, no longer match: outcomes are for the attempt claimed). Returns whether `owner` holds the lease and whether the number is
    /// paused.
    pub async fn lease_sender(
        &self,
        phone_number_id: &str,
        owner: &str,
        now_ms: i64,
        until_ms: i64,
    ) -> Result<SenderLease, StoreError> {
        with_pool!(&self.writer, p => {
            let mut tx = p.begin_write().await?;
            // Whether `owner` held a live lease before this call comes from the database, not
            // from memory: an owner that lost the lease and got it back must sweep too.
            let before: Option<(Option<String>, i64)> = sqlx::query_as(LEASE_BEFORE).bind(phone_number_id).fetch_optional(&mut *tx).await?;
            let was_held = before.is_some_and(|(o, until)| o.as_deref() == Some(owner) && until >= now_ms);
            sqlx::query(LEASE).bind(phone_number_id).bind(owner).bind(until_ms).bind(now_ms).execute(&mut *tx).await?;
            let (holder, paused, paused_reason): (Option<String>, bool, Option<String>) =
                sqlx::query_as(SENDER).bind(phone_number_id).fetch_one(&mut *tx).await?;
            let held = holder.as_deref() == Some(owner);
            if held && !was_held {
                let orphans: Vec<(i64,)> = sqlx::query_as(ORPHANS).bind(phone_number_id).bind(now_ms).fetch_all(&mut *tx).await?;
                for (id,) in &orphans {
                    sqlx::query(INSERT_EVENT).bind(id).bind("requeued").bind(now_ms)
                        .bind("The previous sender stopped while this message was in flight; it may have reached Meta.")
                        .execute(&mut *tx).await?;
                }
                if !orphans.is_empty() {
                    tracing::warn!(number = phone_number_id, count = orphans.len(), "messages left in flight by a previous sender were requeued (possible duplicates)");
                }
            }
            tx.commit().await?;
            Ok(SenderLease { held, paused, paused_reason })
        })
    }

    /// Moves held messages (messaging limit spent) back to the queue as the rolling 24-hour
    /// budget frees slots. Returns how many were released.
    pub async fn release_held(
        &self,
        phone_number_id: &str,
        now_ms: i64,
    ) -> Result<u64, StoreError> {
        // Most of the time nothing is held: then there is no budget to count (a read, not a
        // write transaction on SQLite's one writer).
        let held: (i64,) = with_pool!(&self.pool, p => sqlx::query_as(ANY_HELD).bind(phone_number_id).fetch_one(p).await?);
        if held.0 == 0 {
            return Ok(0);
        }
        with_pool!(&self.writer, p => {
            let mut tx = p.begin_write().await?;
            let tier: Option<(Option<String>,)> = sqlx::query_as(TIER).bind(phone_number_id).fetch_optional(&mut *tx).await?;
            let limit = tier.and_then(|t| t.0).as_deref().and_then(policy::tier_limit);
            let (used,): (i64,) = sqlx::query_as(REACHED).bind(phone_number_id).bind(now_ms - policy::LIMIT_PERIOD_MS).fetch_one(&mut *tx).await?;
            let free = limit.map_or(i64::MAX, |l| (i64::from(l) - used).max(0));
            let released: Vec<(i64,)> = if free == 0 { Vec::new() } else {
                sqlx::query_as(RELEASE_HELD).bind(phone_number_id).bind(now_ms).bind(free).fetch_all(&mut *tx).await?
            };
            for (id,) in &released {
                sqlx::query(INSERT_EVENT).bind(id).bind("queued").bind(now_ms).bind("The messaging-limit budget has room again.").execute(&mut *tx).await?;
            }
            tx.commit().await?;
            Ok(released.len() as u64)
        })
    }

    /// Gives a number's lease up (clean shutdown), so another instance can take over at once.
    pub async fn release_sender(
        &self,
        phone_number_id: &str,
        owner: &str,
    ) -> Result<(), StoreError> {
        with_pool!(&self.writer, p => {
            sqlx::query(RELEASE).bind(phone_number_id).bind(owner).execute(p).await?;
            Ok(())
        })
    }

    /// Pauses a number's sender and records an alert (once, while it stays paused).
    pub async fn pause_sender(
        &self,
        phone_number_id: &str,
        code: &str,
        reason: &str,
        now_ms: i64,
    ) -> Result<(), StoreError> {
        with_pool!(&self.writer, p => {
            let mut tx = p.begin_write().await?;
            let newly: Option<(String,)> = sqlx::query_as(PAUSE).bind(phone_number_id).bind(reason).bind(now_ms).fetch_optional(&mut *tx).await?;
            if newly.is_some() {
                sqlx::query(INSERT_ALERT).bind(phone_number_id).bind(code).bind(reason).bind(now_ms).execute(&mut *tx).await?;
            }
            tx.commit().await?;
            Ok(())
        })
    }

    /// Resumes a paused number; its open alerts are marked resolved. False if it was not paused.
    pub async fn resume_sender(
        &self,
        phone_number_id: &str,
        now_ms: i64,
    ) -> Result<bool, StoreError> {
        with_pool!(&self.writer, p => {
            let mut tx = p.begin_write().await?;
            let was: Option<(String,)> = sqlx::query_as(RESUME).bind(phone_number_id).fetch_optional(&mut *tx).await?;
            sqlx::query(RESOLVE_ALERTS).bind(phone_number_id).bind(now_ms).execute(&mut *tx).await?;
            tx.commit().await?;
            Ok(was.is_some())
        })
    }

    pub async fn alerts(&self, limit: i64) -> Result<Vec<AlertRow>, StoreError> {
        with_pool!(&self.pool, p => Ok(sqlx::query_as(ALERTS).bind(limit).fetch_all(p).await?))
    }
}
