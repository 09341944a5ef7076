//! SQLite: every write to the webhook journal goes through ONE operating-system thread that owns
//! the journal file's write connection (rusqlite, on the same bundled SQLite as sqlx).
//!
//! This is the intake's hot path: Meta gets its 200 only after the body's transaction
//! committed. Through sqlx every statement of a transaction is a round trip to sqlx's worker
//! thread and every returned row another, so a group commit of 64 bodies cost hundreds of
//! thread hand-offs; here a batch is one hand-off in and one out, the inserts are one cached
//! prepared statement each, and whatever commands queued meanwhile (appends, projected marks,
//! replays) share one transaction and one `fsync` (group commit at the store's level). One
//! writer also means no lock contention on the journal file: the projector's marks and the
//! intake's appends queue here instead of sleeping in SQLite's busy handler.

use std::path::PathBuf;
use std::sync::mpsc;
use std::time::Duration;

use rusqlite::{Connection, OpenFlags, params};
use tokio::sync::oneshot;

use crate::StoreError;
use crate::error::sqlite_journal_error;
use crate::inbound::{COUNT_DELIVERY, MARK_DUPLICATE};
use crate::journal::NewWebhook;

/// Most commands in one transaction.
const MAX_COMMANDS: usize = 256;

const INSERT: &str = "INSERT INTO webhook_journal (received_at_ms, dedupe_key, signature, app_id, body) \
     VALUES (?1, ?2, ?3, ?4, ?5)";
const MARK: &str = "UPDATE webhook_journal SET projected_at_ms = ?2, error = ?3 WHERE id = ?1";
const REPLAY: &str =
    "UPDATE webhook_journal SET projected_at_ms = NULL, error = NULL WHERE id >= ?1 AND id <= ?2";

/// A journal row the projector is done with.
pub(crate) struct Mark {
    pub id: i64,
    /// Set for a dead letter.
    pub error: Option<String>,
    /// Set for a byte-identical copy of an earlier row.
    pub duplicate_of: Option<i64>,
}

enum Command {
    Append(Vec<NewWebhook>),
    /// Rows marked projected at the time given.
    Mark(Vec<Mark>, i64),
    Replay(i64, i64),
}

enum Output {
    Appended(Vec<i64>),
    Changed(u64),
}

type Reply = oneshot::Sender<Result<Output, StoreError>>;

/// The handle the [`crate::Store`] keeps (cheap to clone). The thread ends when the last handle
/// is dropped.
#[derive(Clone)]
pub(crate) struct JournalThread {
    tx: mpsc::Sender<(Command, Reply)>,
}

impl std::fmt::Debug for JournalThread {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("JournalThread")
    }
}

impl JournalThread {
    /// Opens the write connection to the journal file at `path` (created by the caller) and
    /// starts the writer thread.
    pub(crate) fn start(path: PathBuf) -> Result<JournalThread, StoreError> {
        let conn = open(&path).map_err(sqlite_journal_error)?;
        let (tx, rx) = mpsc::channel::<(Command, Reply)>();
        std::thread::Builder::new()
            .name("journal-writer".into())
            .spawn(move || writer(conn, rx))
            .map_err(|e| StoreError::Journal(format!("could not start its writer thread: {e}")))?;
        Ok(JournalThread { tx })
    }

    async fn call(&self, command: Command) -> Result<Output, StoreError> {
        let (reply, rx) = oneshot::channel();
        self.tx.send((command, reply)).map_err(|_| stopped())?;
        rx.await.map_err(|_| stopped())?
    }

    pub(crate) async fn append(&self, batch: Vec<NewWebhook>) -> Result<Vec<i64>, StoreError> {
        match self.call(Command::Append(batch)).await? {
            Output::Appended(v) => Ok(v),
            Output::Changed(_) => Err(stopped()),
        }
    }

    pub(crate) async fn mark(&self, rows: Vec<Mark>, now_ms: i64) -> Result<(), StoreError> {
        self.call(Command::Mark(rows, now_ms)).await.map(|_| ())
    }

    pub(crate) async fn replay(&self, from_id: i64, to_id: i64) -> Result<u64, StoreError> {
        match self.call(Command::Replay(from_id, to_id)).await? {
            Output::Changed(n) => Ok(n),
            Output::Appended(_) => Err(stopped()),
        }
    }
}

/// The shared statement with SQLite's numbered parameters (`$1` → `?1`).
fn sqlite(sql: &str) -> String {
    sql.replace('$', "?")
}

fn stopped() -> StoreError {
    StoreError::Journal("its writer thread has stopped".into())
}

fn open(path: &PathBuf) -> rusqlite::Result<Connection> {
    let conn = Connection::open_with_flags(
        path,
        OpenFlags::SQLITE_OPEN_READ_WRITE
            | OpenFlags::SQLITE_OPEN_CREATE
            | OpenFlags::SQLITE_OPEN_NO_MUTEX,
    )?;
    conn.busy_timeout(Duration::from_secs(10))?;
    conn.pragma_update(None, "journal_mode", "wal")?;
    // What we acknowledge to Meta must survive a power cut, not only a crash of the process.
    conn.pragma_update(None, "synchronous", "full")?;
    // The dedupe key's index is looked up for every body: keep its pages in memory (16 MiB).
    conn.pragma_update(None, "cache_size", -16_384)?;
    Ok(conn)
}

fn writer(mut conn: Connection, rx: mpsc::Receiver<(Command, Reply)>) {
    let mut commands = Vec::with_capacity(MAX_COMMANDS);
    while let Ok(first) = rx.recv() {
        commands.push(first);
        while commands.len() < MAX_COMMANDS {
            match rx.try_recv() {
                Ok(c) => commands.push(c),
                Err(_) => break,
            }
        }
        let result = apply(&mut conn, &commands);
        match result {
            Ok(outputs) => {
                for ((_, reply), output) in commands.drain(..).zip(outputs) {
                    let _ = reply.send(Ok(output));
                }
            }
            Err(e) => {
                let text = e.to_string();
                tracing::error!(error = %text, "journal write failed");
                for (_, reply) in commands.drain(..) {
                    let _ = reply.send(Err(StoreError::Journal(text.clone())));
                }
            }
        }
    }
}

/// Runs every command in ONE transaction; the outputs are in the commands' order.
fn apply(conn: &mut Connection, commands: &[(Command, Reply)]) -> rusqlite::Result<Vec<Output>> {
    let tx = conn.transaction_with_behavior(rusqlite::TransactionBehavior::Immediate)?;
    let mut outputs = Vec::with_capacity(commands.len());
    {
        for (command, _) in commands {
            outputs.push(match command {
                Command::Append(batch) => {
                    let mut insert = tx.prepare_cached(INSERT)?;
                    let mut ids = Vec::with_capacity(batch.len());
                    for hook in batch {
                        insert.execute(params![
                            hook.received_at_ms,
                            hook.dedupe_key(),
                            hook.signature,
                            hook.app_id,
                            hook.body
                        ])?;
                        ids.push(tx.last_insert_rowid());
                    }
                    Output::Appended(ids)
                }
                Command::Mark(rows, now_ms) => {
                    for row in rows {
                        match row.duplicate_of {
                            None => {
                                tx.prepare_cached(MARK)?
                                    .execute(params![row.id, now_ms, row.error])?;
                            }
                            Some(first) => {
                                tx.prepare_cached(&sqlite(COUNT_DELIVERY))?
                                    .execute(params![first, row.id])?;
                                tx.prepare_cached(&sqlite(MARK_DUPLICATE))?
                                    .execute(params![row.id, now_ms, first])?;
                            }
                        }
                    }
                    Output::Changed(rows.len() as u64)
                }
                Command::Replay(from, to) => {
                    Output::Changed(tx.prepare_cached(REPLAY)?.execute([from, to])? as u64)
                }
            });
        }
    }
    tx.commit()?;
    Ok(outputs)
}
