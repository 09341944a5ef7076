//! The webhook journal: raw signed bodies, appended before Meta gets its 200, read in order by
//! the projector. Appends are batch-shaped (one transaction for many bodies) so the intake can
//! group-commit concurrent requests on SQLite's single writer.
//!
//! A byte-identical body (Meta's retry of a delivery) is not stored twice: the dedupe key is its
//! SHA-256, the unique constraint decides, and the existing row's delivery count goes up.

use std::collections::HashMap;

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

/// Bodies per multi-row INSERT (5 parameters each; far below both backends' limits).
const INSERT_CHUNK: usize = 200;
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
        // One multi-row INSERT per chunk (one statement, not one per body: statements, not rows,
        // are what cost on sqlx's SQLite thread and PostgreSQL's round trips). Bodies already
        // journaled, or repeated inside the batch, count as another delivery of the first.
        let keys: Vec<String> = batch.iter().map(NewWebhook::dedupe_key).collect();
        let mut first: HashMap<&str, usize> = HashMap::new();
        let unique: Vec<usize> = (0..batch.len())
            .filter(|&i| first.insert(keys[i].as_str(), i).is_none())
            .collect();
        with_pool!(&self.journal_writer, p => {
            let mut tx = p.begin_write().await?;
            let mut stored: HashMap<String, i64> = HashMap::new();
            for chunk in unique.chunks(INSERT_CHUNK) {
                let mut sql = String::from("INSERT INTO webhook_journal (received_at_ms, dedupe_key, signature, app_id, body) VALUES ");
                for n in 0..chunk.len() {
                    let b = n * 5;
                    if n > 0 {
                        sql.push(',');
                    }
                    sql.push_str(&format!("(${}, ${}, ${}, ${}, ${})", b + 1, b + 2, b + 3, b + 4, b + 5));
                }
                sql.push_str(" ON CONFLICT (dedupe_key) DO NOTHING RETURNING id, dedupe_key");
                // Built from fixed fragments; every value is bound.
                let mut q = sqlx::query_as::<_, (i64, String)>(sqlx::AssertSqlSafe(sql));
                for &i in chunk {
                    let w = &batch[i];
                    q = q.bind(w.received_at_ms).bind(keys[i].clone()).bind(w.signature.clone()).bind(w.app_id.clone()).bind(w.body.clone());
                }
                for (id, key) in q.fetch_all(&mut *tx).await? {
                    stored.insert(key, id);
                }
            }
            let mut out = Vec::with_capacity(batch.len());
            for (i, key) in keys.iter().enumerate() {
                let is_first = first.get(key.as_str()) == Some(&i);
                match stored.get(key) {
                    Some(&id) if is_first => out.push(AppendOutcome::Stored(id)),
                    _ => {
                        let (id,): (i64,) = sqlx::query_as(BUMP).bind(key).fetch_one(&mut *tx).await?;
                        out.push(AppendOutcome::Duplicate(id));
                    }
                }
            }
            tx.commit().await?;
            Ok(out)
        })
    }

    pub async fn webhook(&self, id: i64) -> Result<JournalEntry, StoreError> {
        with_pool!(&self.journal, p => Ok(sqlx::query_as(GET).bind(id).fetch_one(p).await?))
    }

    /// Journal entries with ids above `after_id`, oldest first.
    pub async fn webhooks_after(
        &self,
        after_id: i64,
        limit: i64,
    ) -> Result<Vec<JournalEntry>, StoreError> {
        with_pool!(&self.journal, p => Ok(sqlx::query_as(AFTER).bind(after_id).bind(limit).fetch_all(p).await?))
    }

    pub async fn count_webhooks(&self) -> Result<i64, StoreError> {
        with_pool!(&self.journal, p => {
            let (n,): (i64,) = sqlx::query_as(COUNT).fetch_one(p).await?;
            Ok(n)
        })
    }
}
