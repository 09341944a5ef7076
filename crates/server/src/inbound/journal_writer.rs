//! Group commit for the journal. SQLite has one writer, so one transaction per webhook caps
//! intake at the disk's commit rate; instead every request hands its body to this task and
//! waits, and the task writes whatever has queued up in ONE transaction, then answers them all.
//! Under load batches grow by themselves; alone, a body is written at once (no added delay).

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};

use tokio::sync::{mpsc, oneshot};

use switchboard_store::{NewWebhook, Store, StoreError};

type Reply = oneshot::Sender<Result<i64, String>>;

#[derive(Clone)]
pub struct JournalWriter {
    tx: mpsc::Sender<(NewWebhook, Reply)>,
    /// How busy the intake is; the projector yields to it.
    pub activity: Arc<IntakeActivity>,
}

/// What the projector reads to stay out of the intake's way.
#[derive(Debug, Default)]
pub struct IntakeActivity {
    /// Bodies waiting for their journal commit.
    pub pending: AtomicUsize,
    /// Bodies handed to the writer since the start.
    pub appended: AtomicU64,
}

/// Most bodies in one transaction.
const MAX_BATCH: usize = 512;

impl JournalWriter {
    /// Starts the writer task over `store`.
    pub fn start(store: Store) -> JournalWriter {
        let (tx, mut rx) = mpsc::channel::<(NewWebhook, Reply)>(8 * MAX_BATCH);
        tokio::spawn(async move {
            let mut batch = Vec::with_capacity(MAX_BATCH);
            while let Some(first) = rx.recv().await {
                batch.push(first);
                while batch.len() < MAX_BATCH {
                    match rx.try_recv() {
                        Ok(item) => batch.push(item),
                        Err(_) => break,
                    }
                }
                let (hooks, replies): (Vec<NewWebhook>, Vec<Reply>) = batch.drain(..).unzip();
                metrics::histogram!("switchboard_journal_batch_size").record(hooks.len() as f64);
                match store.append_webhooks(hooks).await {
                    Ok(ids) => {
                        for (reply, id) in replies.into_iter().zip(ids) {
                            let _ = reply.send(Ok(id));
                        }
                    }
                    Err(e) => {
                        let msg = error_text(&e);
                        for reply in replies {
                            let _ = reply.send(Err(msg.clone()));
                        }
                    }
                }
            }
        });
        JournalWriter {
            tx,
            activity: Arc::default(),
        }
    }

    /// Journals one body; resolves to its journal id once its transaction committed.
    pub async fn append(&self, hook: NewWebhook) -> Result<i64, String> {
        let (reply, rx) = oneshot::channel();
        // Counted until this call ends, however it ends (a client may hang up mid-request).
        let _pending = PendingGuard::new(&self.activity.pending);
        self.activity.appended.fetch_add(1, Ordering::Relaxed);
        self.tx
            .send((hook, reply))
            .await
            .map_err(|_| "the journal writer has stopped".to_owned())?;
        rx.await
            .map_err(|_| "the journal writer has stopped".to_owned())?
    }
}

struct PendingGuard<'a>(&'a AtomicUsize);

impl<'a> PendingGuard<'a> {
    fn new(counter: &'a AtomicUsize) -> Self {
        counter.fetch_add(1, Ordering::SeqCst);
        PendingGuard(counter)
    }
}

impl Drop for PendingGuard<'_> {
    fn drop(&mut self) {
        self.0.fetch_sub(1, Ordering::SeqCst);
    }
}

fn error_text(e: &StoreError) -> String {
    crate::error::error_chain(e)
}
