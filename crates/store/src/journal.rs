//! The webhook journal: raw signed bodies, appended before Meta gets its 200, read in order by
//! the projector. Appends are batch-shaped (one transaction for many bodies) so the intake can
//! group-commit concurrent requests on SQLite's single writer.
//!
//! A byte-identical body (Meta's retry of a delivery) is not stored twice: the dedupe key is its
//! SHA-256, the unique constraint decides, and the existing row's delivery count goes up.

use sha2::{Digest, Sha256};

use crate::{BeginWrite, Store, StoreError, with_pool};

/// A body to journal.
#[derive(Debug, Clone)]
pub struct NewWebhook {
    pub received_at_ms: i64,
    /// The `X-Hub-Signature-256` header it arrived with (verified before this point).
    pub signature: String,
    /// Which configured app's secret verified it.
    pub app_id: Option<String>,
    pub body: Vec<u8>,
}

impl NewWebhook {
    pub fn dedupe_key(&self) -> String {
        hex::encode(Sha256::digest(&self.body))
    }
}

/// What happened to one body of a batch.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AppendOutcome {
    Stored(i64),
    /// Seen before; the id of the first copy.
    Duplicate(i64),
}

impl AppendOutcome {
    pub fn id(self) -> i64 {
        match self {
            AppendOutcome::Stored(id) | AppendOutcome::Duplicate(id) => id,
        }
    }
}

/// A journaled body.
#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow)]
pub struct JournalEntry {
    pub id: i64,
    pub received_at_ms: i64,
    pub dedupe_key: String,
    pub signature: String,
    pub app_id: Option<String>,
    pub body: Vec<u8>,
    pub deliveries: i64,
    pub projected_at_ms: Option<i64>,
    pub error: Option<String>,
}

const INSERT: &str = "INSERT INTO webhook_journal (received_at_ms, dedupe_key, signature, app_id, body) \
     VALUES ($1, $2, $3, $4, $5) ON CONFLICT (dedupe_key) DO NOTHING RETURNING id";
const BUMP: &str =
    "UPDATE webhook_journal SET deliveries = deliveries + 1 WHERE dedupe_key = $1 RETURNING id";
const COLUMNS: &str =
    "id, received_at_ms, dedupe_key, signature, app_id, body, deliveries, projected_at_ms, error";
const GET: &str = "SELECT id, received_at_ms, dedupe_key, signature, app_id, body, deliveries, projected_at_ms, error \
     FROM webhook_journal WHERE id = $1";
const AFTER: &str = "SELECT id, received_at_ms, dedupe_key, signature, app_id, body, deliveries, projected_at_ms, error \
     FROM webhook_journal WHERE id > $1 ORDER BY id LIMIT $2";
const COUNT: &str = "SELECT COUNT(*) FROM webhook_journal";

impl Store {
    /// Appends a batch in one transaction; the outcomes are in the batch's order.
    pub async fn append_webhooks(
        &self,
        batch: &[NewWebhook],
    ) -> Result<Vec<AppendOutcome>, StoreError> {
        debug_assert!(COLUMNS.split(", ").count() == 9);
        with_pool!(&self.pool, p => {
            let mut tx = p.begin_write().await?;
            let mut out = Vec::with_capacity(batch.len());
            for w in batch {
                let key = w.dedupe_key();
                let inserted: Option<(i64,)> = sqlx::query_as(INSERT)
                    .bind(w.received_at_ms)
                    .bind(&key)
                    .bind(&w.signature)
                    .bind(&w.app_id)
                    .bind(&w.body)
                    .fetch_optional(&mut *tx)
                    .await?;
                out.push(match inserted {
                    Some((id,)) => AppendOutcome::Stored(id),
                    None => {
                        let (id,): (i64,) = sqlx::query_as(BUMP).bind(&key).fetch_one(&mut *tx).await?;
                        AppendOutcome::Duplicate(id)
                    }
                });
            }
            tx.commit().await?;
            Ok(out)
        })
    }

    pub async fn webhook(&self, id: i64) -> Result<JournalEntry, StoreError> {
        with_pool!(&self.pool, p => Ok(sqlx::query_as(GET).bind(id).fetch_one(p).await?))
    }

    /// Journal entries with ids above `after_id`, oldest first.
    pub async fn webhooks_after(
        &self,
        after_id: i64,
        limit: i64,
    ) -> Result<Vec<JournalEntry>, StoreError> {
        with_pool!(&self.pool, p => Ok(sqlx::query_as(AFTER).bind(after_id).bind(limit).fetch_all(p).await?))
    }

    pub async fn count_webhooks(&self) -> Result<i64, StoreError> {
        with_pool!(&self.pool, p => {
            let (n,): (i64,) = sqlx::query_as(COUNT).fetch_one(p).await?;
            Ok(n)
        })
    }
}
