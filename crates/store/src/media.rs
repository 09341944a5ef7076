//! The media download queue: a row per inbound media message, claimed with a lease (never a
//! lock held across the download), retried with backoff, ending `stored` or `failed`.

use crate::{Pool, Store, StoreError, with_pool};

#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow)]
pub struct MediaJob {
    pub message_id: i64,
    pub phone_number_id: String,
    pub media_id: String,
    pub mime_type: Option<String>,
    pub sha256: Option<String>,
    pub url: Option<String>,
    pub attempts: i64,
}

#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow)]
pub struct MediaRecord {
    pub message_id: i64,
    pub status: String,
    pub mime_type: Option<String>,
    pub path: Option<String>,
    pub size_bytes: Option<i64>,
    pub attempts: i64,
    pub last_error: Option<String>,
}

const CLAIM_SQLITE: &str = "UPDATE media SET lease_until_ms = $1, attempts = attempts + 1 WHERE message_id IN \
     (SELECT message_id FROM media WHERE status = 'pending' AND next_attempt_at_ms <= $2 AND (lease_until_ms IS NULL OR lease_until_ms < $2) \
      ORDER BY next_attempt_at_ms LIMIT $3) \
     RETURNING message_id, phone_number_id, media_id, mime_type, sha256, url, attempts";
const CLAIM_PG: &str = "UPDATE media SET lease_until_ms = $1, attempts = attempts + 1 WHERE message_id IN \
     (SELECT message_id FROM media WHERE status = 'pending' AND next_attempt_at_ms <= $2 AND (lease_until_ms IS NULL OR lease_until_ms < $2) \
      ORDER BY next_attempt_at_ms LIMIT $3 FOR UPDATE SKIP LOCKED) \
     RETURNING message_id, phone_number_id, media_id, mime_type, sha256, url, attempts";
// Results count only for the claim that made them (`attempts` is the fencing token): a worker
// whose lease expired cannot overwrite a newer attempt's result.
const STORED: &str = "UPDATE media SET status = 'stored', path = $2, size_bytes = $3, mime_type = COALESCE($4, mime_type), lease_until_ms = NULL, last_error = NULL \
     WHERE message_id = $1 AND status = 'pending' AND attempts = $5";
const LATER: &str = "UPDATE media SET status = $2, next_attempt_at_ms = $3, last_error = $4, lease_until_ms = NULL \
     WHERE message_id = $1 AND status = 'pending' AND attempts = $5";
const GET: &str = "SELECT message_id, status, mime_type, path, size_bytes, attempts, last_error FROM media WHERE message_id = $1";
const RETRY: &str = "UPDATE media SET status = 'pending', next_attempt_at_ms = $2, attempts = 0, lease_until_ms = NULL WHERE message_id = $1 AND status = 'failed'";

impl Store {
    /// Leases up to `limit` due downloads until `now + lease_ms`.
    pub async fn claim_media(
        &self,
        now_ms: i64,
        lease_ms: i64,
        limit: i64,
    ) -> Result<Vec<MediaJob>, StoreError> {
        Ok(match &self.writer {
            Pool::Sqlite(p) => {
                sqlx::query_as(CLAIM_SQLITE)
                    .bind(now_ms + lease_ms)
                    .bind(now_ms)
                    .bind(limit)
                    .fetch_all(p)
                    .await?
            }
            Pool::Postgres(p) => {
                sqlx::query_as(CLAIM_PG)
                    .bind(now_ms + lease_ms)
                    .bind(now_ms)
                    .bind(limit)
                    .fetch_all(p)
                    .await?
            }
        })
    }

    /// Records a download of the claim `job` (ignored if a newer claim took over).
    pub async fn media_stored(
        &self,
        job: &MediaJob,
        path: &str,
        size: i64,
        mime_type: Option<&str>,
    ) -> Result<(), StoreError> {
        with_pool!(&self.writer, p => {
            sqlx::query(STORED).bind(job.message_id).bind(path).bind(size).bind(mime_type).bind(job.attempts).execute(p).await?;
            Ok(())
        })
    }

    /// A failed attempt: try again at `next_at_ms`, or give up (`failed`) when `give_up`.
    pub async fn media_attempt_failed(
        &self,
        job: &MediaJob,
        error: &str,
        next_at_ms: i64,
        give_up: bool,
    ) -> Result<(), StoreError> {
        let status = if give_up { "failed" } else { "pending" };
        with_pool!(&self.writer, p => {
            sqlx::query(LATER).bind(job.message_id).bind(status).bind(next_at_ms).bind(error).bind(job.attempts).execute(p).await?;
            Ok(())
        })
    }

    pub async fn media(&self, message_id: i64) -> Result<Option<MediaRecord>, StoreError> {
        with_pool!(&self.pool, p => Ok(sqlx::query_as(GET).bind(message_id).fetch_optional(p).await?))
    }

    /// Puts a failed download back in the queue; false when it was not failed.
    pub async fn retry_media(&self, message_id: i64, now_ms: i64) -> Result<bool, StoreError> {
        with_pool!(&self.writer, p => Ok(sqlx::query(RETRY).bind(message_id).bind(now_ms).execute(p).await?.rows_affected() == 1))
    }
}
