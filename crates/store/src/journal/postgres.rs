//! PostgreSQL: group commit for the journal. One transaction per webhook would cap intake at the
//! database's commit rate; instead every append hands its body to this task and waits, and the
//! task writes whatever has queued up as one multi-row INSERT in ONE transaction, then answers
//! them all. Under load groups grow by themselves; alone, a body is written at once.

use sqlx::PgPool;
use tokio::sync::{mpsc, oneshot};

use super::{Appended, NewWebhook, stopped};
use crate::{BeginWrite, StoreError};

/// Most bodies in one transaction.
const MAX_GROUP: usize = 512;
/// Bodies per multi-row INSERT (5 parameters each; far below PostgreSQL's limit).
const INSERT_CHUNK: usize = 200;

type Reply = oneshot::Sender<Result<i64, StoreError>>;

/// The handle the [`crate::Store`] keeps (cheap to clone). The task ends when the last handle
/// is dropped.
#[derive(Clone, Debug)]
pub(crate) struct GroupCommit {
    tx: mpsc::Sender<(NewWebhook, Reply)>,
}

impl GroupCommit {
    /// Starts the writer task over `pool` (inside a Tokio runtime).
    pub(crate) fn start(pool: PgPool) -> GroupCommit {
        let (tx, mut rx) = mpsc::channel::<(NewWebhook, Reply)>(8 * MAX_GROUP);
        tokio::spawn(async move {
            let mut group = Vec::with_capacity(MAX_GROUP);
            while rx.recv_many(&mut group, MAX_GROUP).await > 0 {
                let (hooks, replies): (Vec<NewWebhook>, Vec<Reply>) = group.drain(..).unzip();
                metrics::histogram!("switchboard_journal_batch_size").record(hooks.len() as f64);
                match insert(&pool, &hooks).await {
                    Ok(ids) => {
                        for (reply, id) in replies.into_iter().zip(ids) {
                            let _ = reply.send(Ok(id));
                        }
                    }
                    Err(e) => {
                        let text = e.to_string();
                        tracing::error!(error = %text, "journal write failed");
                        for reply in replies {
                            let _ = reply.send(Err(StoreError::Journal(text.clone())));
                        }
                    }
                }
            }
        });
        GroupCommit { tx }
    }

    /// Queues one body (waiting for room: a full queue means the database is behind); the
    /// receiver answers with its id once its group committed.
    pub(crate) async fn append(&self, hook: NewWebhook) -> Result<Appended, StoreError> {
        let (reply, rx) = oneshot::channel();
        self.tx.send((hook, reply)).await.map_err(|_| stopped())?;
        Ok(rx)
    }
}

/// Writes the group in one transaction: one multi-row INSERT per chunk (statements, not rows,
/// are what cost on PostgreSQL's round trips). Ids come back in the group's order.
async fn insert(pool: &PgPool, hooks: &[NewWebhook]) -> Result<Vec<i64>, StoreError> {
    let mut tx = pool.begin_write().await?;
    let mut ids = Vec::with_capacity(hooks.len());
    for chunk in hooks.chunks(INSERT_CHUNK) {
        let mut q = sqlx::QueryBuilder::new(
            "INSERT INTO webhook_journal (received_at_ms, dedupe_key, signature, app_id, body) ",
        );
        q.push_values(chunk, |mut b, w| {
            b.push_bind(w.received_at_ms)
                .push_bind(&w.dedupe_key)
                .push_bind(&w.signature)
                .push_bind(&w.app_id)
                .push_bind(&w.body);
        });
        // Ids are handed out in VALUES order within one statement.
        q.push(" RETURNING id");
        let mut got: Vec<i64> = q
            .build_query_as::<(i64,)>()
            .fetch_all(&mut *tx)
            .await?
            .into_iter()
            .map(|r| r.0)
            .collect();
        got.sort_unstable();
        ids.extend(got);
    }
    tx.commit().await?;
    Ok(ids)
}
