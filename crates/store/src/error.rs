//! The store's one error type. Callers branch on the variant; the sqlx cause is kept for logs.

#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("the database URL must start with sqlite:// or postgres://")]
    UnsupportedUrl,
    #[error("could not open the database: {0}")]
    Connect(#[source] sqlx::Error),
    #[error("database migration failed: {0}")]
    Migrate(#[from] sqlx::migrate::MigrateError),
    #[error("not found")]
    NotFound,
    #[error("stored data is invalid: {0}")]
    Corrupt(String),
    #[error("database error: {0}")]
    Database(#[source] sqlx::Error),
    /// The journal's writer (`journal::sqlite`'s thread, `journal::postgres`'s task) failed or stopped.
    #[error("the webhook journal could not be written: {0}")]
    Journal(String),
}

pub(crate) fn sqlite_journal_error(e: rusqlite::Error) -> StoreError {
    StoreError::Journal(e.to_string())
}

impl StoreError {
    pub(crate) fn connect(e: sqlx::Error) -> Self {
        StoreError::Connect(e)
    }

    /// The database cannot be reached right now (not connected, the pool exhausted or closed,
    /// the connection lost): worth trying again shortly, unlike a bad statement or bad data.
    pub fn is_unavailable(&self) -> bool {
        match self {
            StoreError::Connect(_) => true,
            StoreError::Database(e) => matches!(
                e,
                sqlx::Error::PoolTimedOut | sqlx::Error::PoolClosed | sqlx::Error::Io(_)
            ),
            _ => false,
        }
    }
}

impl From<sqlx::Error> for StoreError {
    fn from(e: sqlx::Error) -> Self {
        match e {
            sqlx::Error::RowNotFound => StoreError::NotFound,
            other => StoreError::Database(other),
        }
    }
}
