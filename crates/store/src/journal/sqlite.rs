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
//!
//! A second thread checkpoints (copies the write-ahead log into the file) while commits come in,
//! so the writer's own automatic checkpoint, which runs inside a commit and holds up every
//! acknowledgement waiting on it, rarely has anything to do.

use std::path::PathBuf;
use std::sync::{LazyLock, mpsc};
use std::time::Duration;

use rusqlite::{Connection, OpenFlags, params};
use tokio::sync::oneshot;

use super::{
    Appended, COUNT_DELIVERY, MARK_DUPLICATE, MARK_PROJECTED, Mark, NewWebhook, REPLAY, stopped,
};
use crate::StoreError;
use crate::error::sqlite_journal_error;

/// Most commands in one transaction (one body each, for appends).
const MAX_COMMANDS: usize = 512;
/// The write-ahead log size (pages) at which the writer checkpoints itself, inside a commit.
/// SQLite's default is 1,000 (4 MiB): at tens of thousands of webhooks a second that was several
/// times a second, each a stall of the acknowledgements waiting on that commit.
const WRITER_CHECKPOINT_PAGES: i64 = 16_000;
/// The checkpointer's pace: at most one checkpoint per this interval while commits come in.
const CHECKPOINT_EVERY: Duration = Duration::from_millis(20);

const INSERT: &str = "INSERT INTO webhook_journal (received_at_ms, dedupe_key, signature, app_id, body) \
     VALUES (?1, ?2, ?3, ?4, ?5)";

enum Command {
    Append(NewWebhook),
    /// Rows marked projected at the time given.
    Mark(Vec<Mark>, i64),
    Replay(i64, i64),
    /// Answers when the thread can write (for readiness).
    Ping,
    /// Ends the writer after this group (and with it the checkpointer).
    Shutdown,
}

enum Output {
    Appended(i64),
    Changed(u64),
}

/// Where a command's result goes: an append's caller wants its id, the others the output.
enum Reply {
    Output(oneshot::Sender<Result<Output, StoreError>>),
    Id(oneshot::Sender<Result<i64, StoreError>>),
}

impl Reply {
    fn send(self, result: Result<Output, StoreError>) {
        // A caller that went away (a client hung up) no longer needs the answer.
        match self {
            Reply::Output(tx) => {
                let _ = tx.send(result);
            }
            Reply::Id(tx) => {
                let _ = tx.send(result.and_then(|o| match o {
                    Output::Appended(id) => Ok(id),
                    Output::Changed(_) => Err(stopped()),
                }));
            }
        }
    }
}

/// The handle the [`crate::Store`] keeps (cheap to clone). The thread ends when the last handle
/// is dropped.
#[derive(Clone)]
pub(crate) struct JournalThread {
    tx: mpsc::Sender<(Command, Reply)>,
    /// The writer and the checkpointer, joined by [`JournalThread::shutdown`].
    threads: std::sync::Arc<std::sync::Mutex<Vec<std::thread::JoinHandle<()>>>>,
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
        // The writer checkpoints itself when the log has grown this large. Under steady load
        // the log only restarts from there (a restart needs every frame copied when a write
        // begins, and the writer is always a step ahead of the checkpointer), so that copy
        // inside a commit still happens, but the checkpointer has done most of it. A reader
        // holding an old snapshot can hold both back; the file is cut back to 64 MiB after.
        conn.pragma_update(None, "wal_autocheckpoint", WRITER_CHECKPOINT_PAGES)
            .map_err(sqlite_journal_error)?;
        conn.pragma_update(None, "journal_size_limit", 64 * 1024 * 1024)
            .map_err(sqlite_journal_error)?;
        let checkpoint_conn = open(&path).map_err(sqlite_journal_error)?;
        let (tx, rx) = mpsc::channel::<(Command, Reply)>();
        let (committed, commits) = mpsc::sync_channel::<()>(1);
        let thread_error =
            |e: std::io::Error| StoreError::Journal(format!("could not start its threads: {e}"));
        let checkpoint = std::thread::Builder::new()
            .name("journal-checkpoint".into())
            .spawn(move || checkpointer(checkpoint_conn, commits))
            .map_err(thread_error)?;
        let writer = std::thread::Builder::new()
            .name("journal-writer".into())
            .spawn(move || writer(conn, rx, committed))
            .map_err(thread_error)?;
        Ok(JournalThread {
            tx,
            threads: std::sync::Arc::new(std::sync::Mutex::new(vec![writer, checkpoint])),
        })
    }

    async fn call(&self, command: Command) -> Result<Output, StoreError> {
        let (reply, rx) = oneshot::channel();
        self.tx
            .send((command, Reply::Output(reply)))
            .map_err(|_| stopped())?;
        rx.await.map_err(|_| stopped())?
    }

    /// Queues one body; the receiver answers with its id once its group committed.
    pub(crate) fn append(&self, hook: NewWebhook) -> Result<Appended, StoreError> {
        let (reply, rx) = oneshot::channel();
        self.tx
            .send((Command::Append(hook), Reply::Id(reply)))
            .map_err(|_| stopped())?;
        Ok(rx)
    }

    pub(crate) async fn mark(&self, rows: Vec<Mark>, now_ms: i64) -> Result<(), StoreError> {
        self.call(Command::Mark(rows, now_ms)).await.map(|_| ())
    }

    /// Ok when the writer thread is alive and can open a write transaction.
    pub(crate) async fn ping(&self) -> Result<(), StoreError> {
        self.call(Command::Ping).await.map(|_| ())
    }

    /// Stops the thread (after what is queued); later calls fail with "stopped".
    /// Returns once both threads have ended and their connections are closed.
    pub(crate) async fn shutdown(&self) {
        let _ = self.call(Command::Shutdown).await;
        let threads = std::mem::take(
            &mut *self
                .threads
                .lock()
                .unwrap_or_else(std::sync::PoisonError::into_inner),
        );
        let _ = tokio::task::spawn_blocking(move || {
            for t in threads {
                let _ = t.join();
            }
        })
        .await;
    }

    pub(crate) async fn replay(&self, from_id: i64, to_id: i64) -> Result<u64, StoreError> {
        match self.call(Command::Replay(from_id, to_id)).await? {
            Output::Changed(n) => Ok(n),
            Output::Appended(_) => Err(stopped()),
        }
    }
}

/// The shared statement with SQLite's numbered parameters (`$1` → `?1`; a bare `$1` is a named
/// parameter to SQLite, numbered by first appearance, which would bind `$2 … $1` out of order).
fn sqlite(sql: &str) -> String {
    sql.replace('$', "?")
}

static MARK: LazyLock<String> = LazyLock::new(|| sqlite(MARK_PROJECTED));
static COUNT: LazyLock<String> = LazyLock::new(|| sqlite(COUNT_DELIVERY));
static DUPLICATE: LazyLock<String> = LazyLock::new(|| sqlite(MARK_DUPLICATE));
static REPLAY_ROWS: LazyLock<String> = LazyLock::new(|| sqlite(REPLAY));

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
    Ok(conn)
}

fn writer(
    mut conn: Connection,
    rx: mpsc::Receiver<(Command, Reply)>,
    committed: mpsc::SyncSender<()>,
) {
    let mut commands = Vec::with_capacity(MAX_COMMANDS);
    'run: while let Ok(first) = rx.recv() {
        commands.push(first);
        while commands.len() < MAX_COMMANDS {
            match rx.try_recv() {
                Ok(c) => commands.push(c),
                Err(_) => break,
            }
        }
        let stop = commands
            .iter()
            .position(|(c, _)| matches!(c, Command::Shutdown));
        // A panic must not kill the one writer (every later webhook would get a 503): it fails
        // this group, and the connection is made usable again below.
        let result =
            std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| apply(&mut conn, &commands)))
                .map_err(|_| "the journal writer panicked".to_owned())
                .and_then(|r| r.map_err(|e| e.to_string()));
        if !conn.is_autocommit() {
            // A failed COMMIT whose rollback failed too leaves the connection inside a
            // transaction, and every later BEGIN would fail.
            if let Err(e) = conn.execute_batch("ROLLBACK") {
                tracing::error!(error = %e, "journal writer could not roll back");
            }
        }
        match result {
            Ok(outputs) => {
                for ((_, reply), output) in commands.drain(..).zip(outputs) {
                    reply.send(output);
                }
            }
            Err(text) => {
                tracing::error!(error = %text, "journal write failed");
                for (_, reply) in commands.drain(..) {
                    reply.send(Err(StoreError::Journal(text.clone())));
                }
            }
        }
        // Wake the checkpointer (a wake-up already pending is enough).
        let _ = committed.try_send(());
        if stop.is_some() {
            break 'run;
        }
    }
    // Commands sent after a shutdown get "stopped" when their reply is dropped with `rx`.
}

/// Runs the commands in ONE transaction (one commit, one `fsync`). The appends go first,
/// together in one savepoint (one body each, so per-body savepoints would double the statements
/// on the hot path); should that fail, each is retried in a savepoint of its own. Every other
/// command has its own savepoint. A command that fails gets its error and changes nothing, the
/// others go on. The outer error is for the transaction itself (begin or commit), which fails
/// them all. Outputs are in the commands' order.
fn apply(
    conn: &mut Connection,
    commands: &[(Command, Reply)],
) -> rusqlite::Result<Vec<Result<Output, StoreError>>> {
    let mut tx = conn.transaction_with_behavior(rusqlite::TransactionBehavior::Immediate)?;
    let mut outputs: Vec<Option<Result<Output, StoreError>>> =
        commands.iter().map(|_| None).collect();
    let appends: Vec<usize> = (0..commands.len())
        .filter(|i| matches!(commands[*i].0, Command::Append(_)))
        .collect();
    if !appends.is_empty() {
        metrics::histogram!("switchboard_journal_batch_size").record(appends.len() as f64);
        let mut sp = tx.savepoint()?;
        let together: rusqlite::Result<Vec<Output>> =
            appends.iter().map(|i| run(&sp, &commands[*i].0)).collect();
        match together {
            Ok(outs) => {
                sp.commit()?;
                for (i, out) in appends.iter().zip(outs) {
                    outputs[*i] = Some(Ok(out));
                }
            }
            Err(e) => {
                sp.rollback()?;
                drop(sp);
                tracing::warn!(error = %e, "a journal group failed; appending its bodies one by one");
            }
        }
    }
    for (i, (command, _)) in commands.iter().enumerate() {
        if outputs[i].is_some() {
            continue;
        }
        let mut sp = tx.savepoint()?;
        match run(&sp, command) {
            Ok(out) => {
                sp.commit()?;
                outputs[i] = Some(Ok(out));
            }
            Err(e) => {
                sp.rollback()?;
                drop(sp);
                tracing::error!(error = %e, "journal command failed");
                outputs[i] = Some(Err(sqlite_journal_error(e)));
            }
        }
    }
    tx.commit()?;
    Ok(outputs
        .into_iter()
        .map(|o| o.unwrap_or_else(|| Err(stopped())))
        .collect())
}

fn run(tx: &Connection, command: &Command) -> rusqlite::Result<Output> {
    Ok(match command {
        Command::Append(hook) => {
            tx.prepare_cached(INSERT)?.execute(params![
                hook.received_at_ms,
                hook.dedupe_key,
                hook.signature,
                hook.app_id,
                hook.body
            ])?;
            Output::Appended(tx.last_insert_rowid())
        }
        Command::Mark(rows, now_ms) => {
            for row in rows {
                match row.duplicate_of {
                    None => {
                        tx.prepare_cached(&MARK)?
                            .execute(params![row.id, now_ms, row.error])?;
                    }
                    Some(first) => {
                        tx.prepare_cached(&COUNT)?.execute(params![first, row.id])?;
                        tx.prepare_cached(&DUPLICATE)?
                            .execute(params![row.id, now_ms, first])?;
                    }
                }
            }
            Output::Changed(rows.len() as u64)
        }
        Command::Replay(from, to) => {
            Output::Changed(tx.prepare_cached(&REPLAY_ROWS)?.execute([from, to])? as u64)
        }
        Command::Ping => {
            tx.query_row("SELECT 1", [], |_| Ok(()))?;
            Output::Changed(0)
        }
        Command::Shutdown => Output::Changed(0),
    })
}

/// Copies the write-ahead log into the journal file, off the acknowledgement path: PASSIVE, so
/// it never waits for (or blocks) the writer or readers. Ends with the writer.
fn checkpointer(conn: Connection, commits: mpsc::Receiver<()>) {
    while commits.recv().is_ok() {
        if let Err(e) = conn.query_row("PRAGMA wal_checkpoint(PASSIVE)", [], |_| Ok(())) {
            tracing::warn!(error = %e, "journal checkpoint failed; the writer checkpoints instead");
        }
        std::thread::sleep(CHECKPOINT_EVERY);
    }
}
