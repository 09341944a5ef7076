//! Switchboard's persistence: one [`Store`] over SQLite (the embedded default) and PostgreSQL
//! (several instances), chosen by the database URL.
//!
//! Shape (see rust-stack.md A3): a concrete `Store` over an enum of sqlx pools; each method body
//! is written once inside [`with_pool!`] and type-checked for both backends; SQL text is a shared
//! `const` wherever the dialects agree (sqlx's SQLite driver accepts `$N` placeholders), and a
//! per-backend branch where they do not. One method is one use case is one transaction, so no
//! transaction type leaks out. Portable types only: `i64` unix milliseconds, `i64` micro-units
//! for money, JSON as TEXT/JSONB, blobs as BLOB/BYTEA.
//!
//! Migrations are per backend (`migrations/sqlite`, `migrations/postgres`) in lock-step version
//! numbers, embedded in the binary; a test checks the two folders carry the same versions.

mod api_keys;
mod campaigns;
mod consent;
mod contacts;
mod costs;
mod error;
mod inbound;
mod inbox_ui;
mod journal;
mod media;
mod outbox;
mod read;
mod registry;
mod routing;
mod statuses;
#[cfg(feature = "testing")]
pub mod testing;
mod users;

pub use api_keys::{ApiKeyRecord, NewApiKey};
pub use campaigns::{CampaignAction, CampaignRow, NewCampaign, Progress};
pub use consent::ConsentRow;
pub use consent::{ContactConsentRow, ImportRow, ImportSummary};
pub use contacts::ContactKey;
pub use costs::{CostRow, NewCost, RateCardRow};
pub use error::StoreError;
pub use inbound::{Journaled, KeywordSeen, MediaRef, MessageOp, Op, ProjectionSummary, StatusOp};
pub use inbox_ui::{CannedResponse, EVENTS_CHANNEL, PendingOutbound, ViewCount, ViewCounts};
pub use journal::items::{
    DeadItemCode, ItemDeadLetter, ItemDeadLetterQuery, ItemDeadLetterRow, ItemOp, SETTLED_BY,
};
pub use journal::{JournalActivity, JournalEntry, NewWebhook};
pub use media::{MediaJob, MediaRecord};
pub use outbox::{
    AlertRow, Claimed, HistoryStep, NewSend, OutboundRow, Outcome, PolicyLimits, SenderLease,
    Submitted,
};
pub use read::{
    ContactRow, ConversationFilter, ConversationRow, MessageRow, StatusRow, search_words,
};
pub use registry::{TemplateEvent, TemplateRow};
pub use routing::LoadRow;
pub use users::{Assigned, ConversationEvent, Hand, NewUser, UserRow};

use std::str::FromStr;
use std::time::Duration;

use sqlx::migrate::Migrator;
use sqlx::postgres::{PgConnectOptions, PgPoolOptions};
use sqlx::sqlite::{SqliteConnectOptions, SqliteJournalMode, SqlitePoolOptions, SqliteSynchronous};

pub static SQLITE_MIGRATIONS: Migrator = sqlx::migrate!("migrations/sqlite");
/// SQLite keeps the webhook journal in a file of its own (`<path>-webhooks.db`).
pub static SQLITE_JOURNAL_MIGRATIONS: Migrator = sqlx::migrate!("migrations/sqlite_journal");
pub static POSTGRES_MIGRATIONS: Migrator = sqlx::migrate!("migrations/postgres");

/// Which database a [`Store`] talks to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    Sqlite,
    Postgres,
}

impl Backend {
    /// The backend a URL names, by scheme: `sqlite:` or `postgres:`/`postgresql:`.
    pub fn of_url(url: &str) -> Result<Self, StoreError> {
        if url.starts_with("sqlite:") {
            Ok(Backend::Sqlite)
        } else if url.starts_with("postgres://") || url.starts_with("postgresql://") {
            Ok(Backend::Postgres)
        } else {
            Err(StoreError::UnsupportedUrl)
        }
    }
}

#[derive(Clone)]
pub(crate) enum Pool {
    Sqlite(sqlx::SqlitePool),
    Postgres(sqlx::PgPool),
}

/// Starts a transaction that will write. On SQLite it takes the write lock up front
/// (`BEGIN IMMEDIATE`): a deferred transaction that reads and then writes can fail at once with
/// "database is locked" when another writer got in between, whatever the busy timeout.
pub(crate) trait BeginWrite {
    type Db: sqlx::Database;
    async fn begin_write(&self) -> Result<sqlx::Transaction<'static, Self::Db>, sqlx::Error>;
}

impl BeginWrite for sqlx::SqlitePool {
    type Db = sqlx::Sqlite;
    async fn begin_write(&self) -> Result<sqlx::Transaction<'static, sqlx::Sqlite>, sqlx::Error> {
        self.begin_with("BEGIN IMMEDIATE").await
    }
}

impl BeginWrite for sqlx::PgPool {
    type Db = sqlx::Postgres;
    async fn begin_write(&self) -> Result<sqlx::Transaction<'static, sqlx::Postgres>, sqlx::Error> {
        self.begin().await
    }
}

/// Appends `(v, v, …)` to the query builder `$q`, each value of `$values` (an iterator of
/// references) bound: the one way an `IN` list is written.
macro_rules! push_list {
    ($q:expr, $values:expr) => {{
        $q.push("(");
        let mut list = $q.separated(", ");
        for v in $values {
            list.push_bind(v);
        }
        $q.push(")");
    }};
}
pub(crate) use push_list;

/// Write a body once; the compiler type-checks it separately for each backend.
macro_rules! with_pool {
    ($pool:expr, $p:ident => $body:expr) => {
        match $pool {
            $crate::Pool::Sqlite($p) => $body,
            $crate::Pool::Postgres($p) => $body,
        }
    };
}
pub(crate) use with_pool;

/// SQLite, once after the upgrade that made the journal append-only: the bodies journaled
/// before it are claimed in `webhook_dedupe` (another database file, so no SQL migration can),
/// so that Meta's retry of one of them is recognised as a copy. One statement over the attached
/// journal, in one transaction: it runs to the end or not at all, and again at the next start if
/// it did not finish. Dead letters are not claimed: a retry of one deserves another try.
async fn claim_journaled_bodies(
    journal: &sqlx::SqlitePool,
    writer: &sqlx::SqlitePool,
) -> Result<(), StoreError> {
    let (claimed,): (i64,) = sqlx::query_as("SELECT EXISTS (SELECT 1 FROM webhook_dedupe)")
        .fetch_one(writer)
        .await?;
    if claimed != 0 {
        return Ok(());
    }
    let path = journal.connect_options().get_filename().to_owned();
    let mut conn = writer.acquire().await?;
    sqlx::query("ATTACH DATABASE $1 AS journal_file")
        .bind(path.to_string_lossy().into_owned())
        .execute(&mut *conn)
        .await?;
    let claimed = sqlx::query(
        "INSERT OR IGNORE INTO webhook_dedupe (dedupe_key, journal_id) \
         SELECT dedupe_key, MIN(id) FROM journal_file.webhook_journal \
         WHERE error IS NULL AND duplicate_of IS NULL GROUP BY dedupe_key",
    )
    .execute(&mut *conn)
    .await;
    let detached = sqlx::query("DETACH DATABASE journal_file")
        .execute(&mut *conn)
        .await;
    let claimed = claimed?.rows_affected();
    detached?;
    if claimed > 0 {
        tracing::info!(
            claimed,
            "bodies journaled before the upgrade claimed for deduplication"
        );
    }
    Ok(())
}

/// The database, cheap to clone (it is a pool).
///
/// Writes go through `writer`: on SQLite a pool of ONE connection, so writers queue fairly in
/// the process instead of colliding on SQLite's lock and sleeping in its busy handler (which
/// turns contention into tens of milliseconds of latency); on PostgreSQL the same pool.
///
/// On SQLite the webhook journal is a second database file with its own writer: the intake's
/// journal commits never queue behind the projector's (or a checkpoint of its pages), so
/// acknowledging Meta stays fast under load. Marking journal rows projected is then a separate
/// write after the projection commits; a crash in between only re-projects, which changes
/// nothing. On PostgreSQL the journal is a table of the one database.
#[derive(Clone)]
pub struct Store {
    pub(crate) pool: Pool,
    pub(crate) writer: Pool,
    pub(crate) journal: Pool,
    /// Migrations of the journal (on SQLite its own file); its writes go through
    /// `journal_thread` there.
    pub(crate) journal_writer: Pool,
    /// SQLite: the one thread that writes the journal file ([`journal::sqlite`]).
    pub(crate) journal_thread: Option<journal::sqlite::JournalThread>,
    /// PostgreSQL: the journal's group commit ([`journal::postgres`]).
    pub(crate) group_commit: Option<journal::postgres::GroupCommit>,
    pub(crate) activity: std::sync::Arc<journal::JournalActivity>,
}

impl std::fmt::Debug for Store {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Store")
            .field("backend", &self.backend())
            .finish()
    }
}

/// Connection settings beyond the URL.
#[derive(Debug, Clone)]
pub struct ConnectOptions {
    pub max_connections: u32,
    pub acquire_timeout: Duration,
}

impl Default for ConnectOptions {
    fn default() -> Self {
        ConnectOptions {
            max_connections: 16,
            acquire_timeout: Duration::from_secs(10),
        }
    }
}

impl Store {
    /// Opens a pool for `url`. SQLite files are created when missing and run in WAL mode with
    /// foreign keys on; writes commit with `synchronous = FULL` (durable across power loss).
    pub async fn connect(url: &str, opts: &ConnectOptions) -> Result<Store, StoreError> {
        let (pool, writer, journal, journal_writer, journal_thread, group_commit) =
            match Backend::of_url(url)? {
                Backend::Sqlite => {
                    let conn = SqliteConnectOptions::from_str(url)
                        .map_err(StoreError::connect)?
                        .create_if_missing(true)
                        .journal_mode(SqliteJournalMode::Wal)
                        .synchronous(SqliteSynchronous::Normal)
                        .foreign_keys(true)
                        .busy_timeout(Duration::from_secs(10));
                    // The writer commits with synchronous = FULL: what we acknowledge to Meta must
                    // survive a power cut, not only a process crash; group commit spreads the cost.
                    let writer = SqlitePoolOptions::new()
                        .max_connections(1)
                        .acquire_timeout(opts.acquire_timeout)
                        .connect_with(conn.clone().synchronous(SqliteSynchronous::Full))
                        .await
                        .map_err(StoreError::connect)?;
                    let journal_path = format!("{}-webhooks.db", conn.get_filename().display());
                    let journal_conn = conn.clone().filename(&journal_path);
                    let journal_writer = SqlitePoolOptions::new()
                        .max_connections(1)
                        .acquire_timeout(opts.acquire_timeout)
                        .connect_with(journal_conn.clone().synchronous(SqliteSynchronous::Full))
                        .await
                        .map_err(StoreError::connect)?;
                    let journal = SqlitePoolOptions::new()
                        .max_connections(4)
                        .acquire_timeout(opts.acquire_timeout)
                        .connect_with(journal_conn)
                        .await
                        .map_err(StoreError::connect)?;
                    let pool = SqlitePoolOptions::new()
                        .max_connections(opts.max_connections)
                        .acquire_timeout(opts.acquire_timeout)
                        .connect_with(conn)
                        .await
                        .map_err(StoreError::connect)?;
                    // The file exists now (the pools created it): its writes go through one thread.
                    let thread = journal::sqlite::JournalThread::start(journal_path.into())?;
                    (
                        Pool::Sqlite(pool),
                        Pool::Sqlite(writer),
                        Pool::Sqlite(journal),
                        Pool::Sqlite(journal_writer),
                        Some(thread),
                        None,
                    )
                }
                Backend::Postgres => {
                    let conn = PgConnectOptions::from_str(url).map_err(StoreError::connect)?;
                    let pool = PgPoolOptions::new()
                        .max_connections(opts.max_connections)
                        .acquire_timeout(opts.acquire_timeout)
                        .connect_with(conn)
                        .await
                        .map_err(StoreError::connect)?;
                    let group = journal::postgres::GroupCommit::start(pool.clone());
                    let p = Pool::Postgres(pool);
                    (p.clone(), p.clone(), p.clone(), p, None, Some(group))
                }
            };
        Ok(Store {
            pool,
            writer,
            journal,
            journal_writer,
            journal_thread,
            group_commit,
            activity: Default::default(),
        })
    }

    pub fn backend(&self) -> Backend {
        match self.pool {
            Pool::Sqlite(_) => Backend::Sqlite,
            Pool::Postgres(_) => Backend::Postgres,
        }
    }

    /// Applies pending migrations. On PostgreSQL the migrator holds an advisory lock, so several
    /// instances starting at once are safe.
    pub async fn migrate(&self) -> Result<(), StoreError> {
        if let Pool::Sqlite(j) = &self.journal_writer {
            SQLITE_JOURNAL_MIGRATIONS.run(j).await?;
        }
        match &self.writer {
            Pool::Sqlite(p) => SQLITE_MIGRATIONS.run(p).await?,
            Pool::Postgres(p) => POSTGRES_MIGRATIONS.run(p).await?,
        }
        if let (Pool::Sqlite(journal), Pool::Sqlite(writer)) = (&self.journal, &self.writer) {
            claim_journaled_bodies(journal, writer).await?;
        }
        Ok(())
    }

    /// The migration versions applied to this database, in order.
    pub async fn applied_migrations(&self) -> Result<Vec<i64>, StoreError> {
        const SQL: &str = "SELECT version FROM _sqlx_migrations WHERE success ORDER BY version";
        with_pool!(&self.pool, p => {
            let rows: Vec<(i64,)> = sqlx::query_as(SQL).fetch_all(p).await?;
            Ok(rows.into_iter().map(|r| r.0).collect())
        })
    }

    /// A round trip to the database, for readiness checks.
    /// Tests only: forgets which bodies were claimed for deduplication, as a database from
    /// before `webhook_dedupe` existed would be.
    #[cfg(feature = "testing")]
    pub async fn forget_body_claims(&self) -> Result<(), StoreError> {
        with_pool!(&self.writer, p => {
            sqlx::query("DELETE FROM webhook_dedupe").execute(p).await?;
        });
        Ok(())
    }

    /// Ok when the database answers (on SQLite, also the journal's writer thread).
    pub async fn ping(&self) -> Result<(), StoreError> {
        with_pool!(&self.pool, p => {
            sqlx::query("SELECT 1").execute(p).await?;
        });
        if let Some(thread) = &self.journal_thread {
            thread.ping().await?;
        }
        Ok(())
    }

    pub async fn close(&self) {
        if let Some(thread) = &self.journal_thread {
            thread.shutdown().await;
        }
        for pool in [
            &self.pool,
            &self.writer,
            &self.journal,
            &self.journal_writer,
        ] {
            with_pool!(pool, p => p.close().await);
        }
    }
}
