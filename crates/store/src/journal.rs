//! The webhook journal: raw signed bodies, appended before Meta gets its 200, read in order by
//! the projector. Appends are batch-shaped (one transaction for many bodies) so the intake can
//! group-commit concurrent requests on SQLite's single writer.
//!
//! The journal is append-only: rows go in in id order and nothing on the acknowledgement path
//! looks anything up (a unique index over a random key dirtied a random page per body, and was
//! the intake's bottleneck on SQLite). A byte-identical body (Meta's retry of a delivery) is
//! recognised when it is projected: the dedupe key (its SHA-256) is claimed in `webhook_dedupe`
//! in the projection's transaction, a later copy is marked `duplicate_of` the first and changes
//! nothing, and the first copy's delivery count goes up.

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
    /// The body's SHA-256 (hex), computed by [`NewWebhook::new`] in the caller's task rather
    /// than on the journal's one writer.
    pub dedupe_key: String,
}

impl NewWebhook {
    pub fn new(
        received_at_ms: i64,
        signature: String,
        app_id: Option<String>,
        body: Vec<u8>,
    ) -> Self {
        let dedupe_key = hex::encode(Sha256::digest(&body));
        NewWebhook {
            received_at_ms,
            signature,
            app_id,
            body,
            dedupe_key,
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
    /// Deliveries of this body: 1, plus later byte-identical copies found when projected.
    pub deliveries: i64,
    pub projected_at_ms: Option<i64>,
    pub error: Option<String>,
    /// A byte-identical copy of this earlier row (Meta's retry): projected as nothing.
    pub duplicate_of: Option<i64>,
}

/// Bodies per multi-row INSERT (5 parameters each; far below both backends' limits).
const INSERT_CHUNK: usize = 200;
/// The columns of [`JournalEntry`], in its order (a macro, for `concat!` into constants).
macro_rules! journal_columns {
    () => {
        "id, received_at_ms, dedupe_key, signature, app_id, body, deliveries, projected_at_ms, error, duplicate_of"
    };
}
pub(crate) use journal_columns;
const GET: &str = concat!(
    "SELECT ",
    journal_columns!(),
    " FROM webhook_journal WHERE id = $1"
);
const AFTER: &str = concat!(
    "SELECT ",
    journal_columns!(),
    " FROM webhook_journal WHERE id > $1 ORDER BY id LIMIT $2"
);
const COUNT: &str = "SELECT COUNT(*) FROM webhook_journal";

impl Store {
    /// Appends a batch in one transaction; the journal ids are in the batch's order.
    pub async fn append_webhooks(&self, batch: Vec<NewWebhook>) -> Result<Vec<i64>, StoreError> {
        if let Some(thread) = &self.journal_thread {
            return thread.append(batch).await;
        }
        // One multi-row INSERT per chunk (one statement, not one per body: statements, not rows,
        // are what cost on PostgreSQL's round trips).
        with_pool!(&self.journal_writer, p => {
            let mut tx = p.begin_write().await?;
            let mut ids = Vec::with_capacity(batch.len());
            for chunk in batch.chunks(INSERT_CHUNK) {
                let mut sql = String::from("INSERT INTO webhook_journal (received_at_ms, dedupe_key, signature, app_id, body) VALUES ");
                for n in 0..chunk.len() {
                    let b = n * 5;
                    if n > 0 {
                        sql.push(',');
                    }
                    sql.push_str(&format!("(${}, ${}, ${}, ${}, ${})", b + 1, b + 2, b + 3, b + 4, b + 5));
                }
                // Ids are handed out in VALUES order within one statement.
                sql.push_str(" RETURNING id");
                // Built from fixed fragments; every value is bound.
                let mut q = sqlx::query_as::<_, (i64,)>(sqlx::AssertSqlSafe(sql));
                for w in chunk {
                    q = q.bind(w.received_at_ms).bind(&w.dedupe_key).bind(&w.signature).bind(&w.app_id).bind(&w.body);
                }
                let mut got: Vec<i64> = q.fetch_all(&mut *tx).await?.into_iter().map(|r| r.0).collect();
                got.sort_unstable();
                ids.extend(got);
            }
            tx.commit().await?;
            Ok(ids)
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

    /// (rows, rows that are copies of earlier ones, rows not projected yet).
    pub async fn journal_counts(&self) -> Result<(i64, i64, i64), StoreError> {
        const SQL: &str = "SELECT COUNT(*), COUNT(duplicate_of), \
             COALESCE(SUM(CASE WHEN projected_at_ms IS NULL THEN 1 ELSE 0 END), 0) FROM webhook_journal";
        with_pool!(&self.journal, p => Ok(sqlx::query_as(SQL).fetch_one(p).await?))
    }

    pub async fn count_webhooks(&self) -> Result<i64, StoreError> {
        with_pool!(&self.journal, p => {
            let (n,): (i64,) = sqlx::query_as(COUNT).fetch_one(p).await?;
            Ok(n)
        })
    }
}
