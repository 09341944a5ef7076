//! The webhook journal: raw signed bodies, appended before Meta gets its 200, read in order by
//! the projector, marked when projected (or kept as dead letters), replayed on request.
//!
//! One writer per backend does every write and is the one batching layer: the webhook handler
//! calls [`Store::append_webhook`] and waits for the commit of the group its body joined. Under
//! load groups grow by themselves; alone, a body is written at once (no added delay).
//! - SQLite ([`sqlite`]): one operating-system thread owns the journal file's write connection;
//!   appends, marks and replays queued meanwhile share one transaction and one `fsync`.
//! - PostgreSQL ([`postgres`]): a task gathers the bodies queued meanwhile into one multi-row
//!   INSERT and one commit. Marks happen in the projection's own transaction (same database).
//!
//! [`JournalActivity`] counts what the intake is doing, so the projector can yield to it.
//!
//! The journal is append-only: rows go in in id order and nothing on the acknowledgement path
//! looks anything up (a unique index over a random key dirtied a random page per body, and was
//! the intake's bottleneck on SQLite). A byte-identical body (Meta's retry of a delivery) is
//! recognised when it is projected: the dedupe key (its SHA-256) is claimed in `webhook_dedupe`
//! in the projection's transaction, a later copy is marked `duplicate_of` the first and changes
//! nothing, and the first copy's delivery count goes up.

pub(crate) mod items;
pub(crate) mod postgres;
pub(crate) mod sqlite;

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};

use sha2::{Digest, Sha256};
use tokio::sync::oneshot;

use crate::{Store, StoreError, with_pool};

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

/// What the intake is doing, for the projector to stay out of its way.
#[derive(Debug, Default)]
pub struct JournalActivity {
    /// Bodies waiting for their journal commit.
    pub pending: AtomicUsize,
    /// Bodies handed to the writer since the start.
    pub appended: AtomicU64,
}

struct Pending<'a>(&'a AtomicUsize);

impl<'a> Pending<'a> {
    fn new(counter: &'a AtomicUsize) -> Self {
        counter.fetch_add(1, Ordering::SeqCst);
        Pending(counter)
    }
}

impl Drop for Pending<'_> {
    fn drop(&mut self) {
        self.0.fetch_sub(1, Ordering::SeqCst);
    }
}

/// The answer to one queued append: its id once committed.
pub(crate) type Appended = oneshot::Receiver<Result<i64, StoreError>>;

pub(crate) fn stopped() -> StoreError {
    StoreError::Journal("its writer has stopped".into())
}

/// A journal row the projector is done with.
pub(crate) struct Mark {
    pub id: i64,
    /// Set for a dead letter.
    pub error: Option<String>,
    /// Set for a byte-identical copy of an earlier row.
    pub duplicate_of: Option<i64>,
}

/// Marks a journal row projected at `$2`; a dead letter when `$3` (the error) is set, else a
/// plain projected row.
pub(crate) const MARK_PROJECTED: &str = "UPDATE webhook_journal SET projected_at_ms = $2, error = $3, duplicate_of = NULL WHERE id = $1";
/// A later copy of the first row's body: counted once (a replay of the copy counts nothing).
pub(crate) const COUNT_DELIVERY: &str = "UPDATE webhook_journal SET deliveries = deliveries + 1 \
     WHERE id = $1 AND (SELECT duplicate_of FROM webhook_journal WHERE id = $2) IS NULL";
pub(crate) const MARK_DUPLICATE: &str = "UPDATE webhook_journal SET projected_at_ms = $2, error = NULL, duplicate_of = $3 WHERE id = $1";
pub(crate) const REPLAY: &str =
    "UPDATE webhook_journal SET projected_at_ms = NULL, error = NULL WHERE id >= $1 AND id <= $2";
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
/// The most unprojected rows [`Store::projection_backlog`] counts.
pub const BACKLOG_COUNT_CAP: i64 = 10_000_000;

const UNPROJECTED: &str = concat!(
    "SELECT ",
    journal_columns!(),
    " FROM webhook_journal WHERE projected_at_ms IS NULL AND id > $2 ORDER BY id LIMIT $1"
);

impl Store {
    /// Journals one body; resolves to its journal id once the transaction of the group it
    /// joined committed (the only write on the acknowledgement path).
    pub async fn append_webhook(&self, hook: NewWebhook) -> Result<i64, StoreError> {
        // Counted until this call ends, however it ends (a client may hang up mid-request).
        let _pending = Pending::new(&self.activity.pending);
        self.activity.appended.fetch_add(1, Ordering::Relaxed);
        self.queue_append(hook)
            .await?
            .await
            .map_err(|_| stopped())?
    }

    /// Journals several bodies, queued together so they normally share one commit; the ids are
    /// in the batch's order.
    pub async fn append_webhooks(&self, batch: Vec<NewWebhook>) -> Result<Vec<i64>, StoreError> {
        let mut waits = Vec::with_capacity(batch.len());
        for hook in batch {
            waits.push(self.queue_append(hook).await?);
        }
        let mut ids = Vec::with_capacity(waits.len());
        for wait in waits {
            ids.push(wait.await.map_err(|_| stopped())??);
        }
        Ok(ids)
    }

    /// Hands a body to this backend's writer.
    async fn queue_append(&self, hook: NewWebhook) -> Result<Appended, StoreError> {
        match (&self.journal_thread, &self.group_commit) {
            (Some(thread), _) => thread.append(hook),
            (None, Some(group)) => group.append(hook).await,
            (None, None) => Err(stopped()),
        }
    }

    /// What the intake is doing (the projector yields to it).
    pub fn journal_activity(&self) -> Arc<JournalActivity> {
        self.activity.clone()
    }

    /// Marks a journal row as a dead letter: signed and acknowledged, but not understood.
    pub async fn mark_dead_letter(
        &self,
        journal_id: i64,
        error: &str,
        now_ms: i64,
    ) -> Result<(), StoreError> {
        if let Some(thread) = &self.journal_thread {
            let mark = Mark {
                id: journal_id,
                error: Some(error.to_owned()),
                duplicate_of: None,
            };
            return thread.mark(vec![mark], now_ms).await;
        }
        with_pool!(&self.journal_writer, p => {
            sqlx::query(MARK_PROJECTED).bind(journal_id).bind(now_ms).bind(error).execute(p).await?;
            Ok(())
        })
    }

    /// How far projection is behind: the journal rows not projected yet (counted up to
    /// [`BACKLOG_COUNT_CAP`]) and when the oldest of them was acknowledged (ms), if any. Both
    /// read the partial index of unprojected rows: cheap when caught up, bounded when not.
    pub async fn projection_backlog(&self) -> Result<(i64, Option<i64>), StoreError> {
        const SQL: &str = "SELECT (SELECT COUNT(*) FROM (SELECT id FROM webhook_journal WHERE projected_at_ms IS NULL LIMIT $1) AS pending), \
             (SELECT received_at_ms FROM webhook_journal WHERE projected_at_ms IS NULL ORDER BY id LIMIT 1)";
        with_pool!(&self.journal, p => Ok(sqlx::query_as(SQL).bind(BACKLOG_COUNT_CAP).fetch_one(p).await?))
    }

    /// The oldest journal rows not projected yet.
    pub async fn unprojected_webhooks(&self, limit: i64) -> Result<Vec<JournalEntry>, StoreError> {
        self.unprojected_webhooks_after(0, limit).await
    }

    /// The oldest journal rows not projected yet after the row `after` (the projector reads the
    /// next batch while the one before is written).
    pub async fn unprojected_webhooks_after(
        &self,
        after: i64,
        limit: i64,
    ) -> Result<Vec<JournalEntry>, StoreError> {
        with_pool!(&self.journal, p => Ok(sqlx::query_as(UNPROJECTED).bind(limit).bind(after).fetch_all(p).await?))
    }

    /// Marks journal rows `from..=to` for projection again (idempotent: nothing is applied twice).
    /// In chunks of ids, each its own write: a replay of millions of rows never holds the
    /// journal's writer (and the acknowledgements waiting on it) for long. Stopped half-way, it
    /// has replayed a prefix; running it again is harmless.
    pub async fn replay_webhooks(&self, from_id: i64, to_id: i64) -> Result<u64, StoreError> {
        const CHUNK: i64 = 10_000;
        // Rows journaled after this point are not projected yet anyway.
        let last: i64 = with_pool!(&self.journal, p => {
            let (last,): (i64,) = sqlx::query_as("SELECT COALESCE(MAX(id), 0) FROM webhook_journal").fetch_one(p).await?;
            last
        });
        let to_id = to_id.min(last);
        let mut changed = 0;
        let mut start = from_id.max(0);
        while start <= to_id {
            let end = start.saturating_add(CHUNK - 1).min(to_id);
            changed += match &self.journal_thread {
                Some(thread) => thread.replay(start, end).await?,
                None => {
                    with_pool!(&self.journal_writer, p => sqlx::query(REPLAY).bind(start).bind(end).execute(p).await?.rows_affected())
                }
            };
            start = end + 1;
        }
        Ok(changed)
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
