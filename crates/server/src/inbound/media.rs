//! Downloads what customers send. The message is stored first (by the projector); this worker
//! then fetches the bytes through the Graph client: the URL from the webhook while it is fresh,
//! else a new one from `GET /{media-id}` (URLs expire after minutes), checks Meta's size limit
//! for the type and the SHA-256 Meta sent, and stores the file content-addressed (by its hash)
//! under the media directory. A failed download never loses the message: it shows as pending
//! (with the next attempt) or failed (with the reason), and can be retried.

use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use base64::Engine;
use secrecy::SecretString;
use sha2::{Digest, Sha256};
use switchboard_domain::UnixMs;
use switchboard_graph::{GraphCallError, GraphClient};
use switchboard_store::{MediaJob, Store, StoreError};
use tokio_util::sync::CancellationToken;

/// Attempts before a download is marked failed.
pub const MAX_ATTEMPTS: i64 = 6;
const LEASE_MS: i64 = 120_000;

#[derive(Clone)]
pub struct MediaWorker {
    store: Store,
    graph: GraphClient,
    dir: PathBuf,
    /// phone number id → access token.
    tokens: Arc<std::collections::HashMap<String, SecretString>>,
}

/// Meta's size limits by media type (§11.6): a download stops at the type's limit.
pub fn max_bytes(mime: &str) -> u64 {
    const MB: u64 = 1024 * 1024;
    if mime == "image/webp" {
        512 * 1024
    } else if mime.starts_with("image/") {
        5 * MB
    } else if mime.starts_with("audio/") || mime.starts_with("video/") {
        16 * MB
    } else {
        100 * MB
    }
}

/// Backoff after attempt `n` (1-based): 2, 4, 8 … seconds, at most ten minutes.
pub fn backoff_ms(attempt: i64) -> i64 {
    (1_000i64 << attempt.clamp(1, 20)).min(600_000)
}

impl MediaWorker {
    pub fn new(
        store: Store,
        graph: GraphClient,
        dir: PathBuf,
        tokens: std::collections::HashMap<String, SecretString>,
    ) -> Self {
        MediaWorker {
            store,
            graph,
            dir,
            tokens: Arc::new(tokens),
        }
    }

    /// Downloads every due item (up to `limit`); returns how many were attempted.
    pub async fn run_once(&self, limit: i64) -> Result<usize, StoreError> {
        let now = UnixMs::now().0;
        let jobs = self.store.claim_media(now, LEASE_MS, limit).await?;
        let n = jobs.len();
        for job in jobs {
            match self.download(&job).await {
                Ok((path, size, mime)) => {
                    self.store
                        .media_stored(&job, &path, size as i64, mime.as_deref())
                        .await?
                }
                Err(why) => {
                    let give_up = job.attempts >= MAX_ATTEMPTS;
                    tracing::warn!(message_id = job.message_id, attempt = job.attempts, give_up, error = %why, "media download failed");
                    self.store
                        .media_attempt_failed(
                            &job,
                            &why,
                            UnixMs::now().0 + backoff_ms(job.attempts),
                            give_up,
                        )
                        .await?;
                }
            }
        }
        Ok(n)
    }

    async fn download(&self, job: &MediaJob) -> Result<(String, u64, Option<String>), String> {
        let token = self.tokens.get(&job.phone_number_id).ok_or_else(|| {
            format!(
                "no access token configured for number {}",
                job.phone_number_id
            )
        })?;
        // The webhook's URL first (fresh on the first attempt), then a newly resolved one.
        let mut mime = job.mime_type.clone();
        let mut sha = job.sha256.clone();
        let bytes = match (&job.url, job.attempts) {
            (Some(url), 1) => match self
                .graph
                .download(url, token, max_bytes(mime.as_deref().unwrap_or("")))
                .await
            {
                Ok(b) => Some(b),
                Err(GraphCallError::Http {
                    status: 401 | 403 | 404 | 410,
                }) => None,
                Err(e) => return Err(e.to_string()),
            },
            _ => None,
        };
        let bytes = match bytes {
            Some(b) => b,
            None => {
                let info = self
                    .graph
                    .media_info(&job.media_id, token)
                    .await
                    .map_err(|e| e.to_string())?;
                mime = Some(info.mime_type.clone());
                sha = sha.or(info.sha256.clone());
                self.graph
                    .download(&info.url, token, max_bytes(&info.mime_type))
                    .await
                    .map_err(|e| e.to_string())?
            }
        };
        let digest = Sha256::digest(&bytes);
        // Meta sends base64 in webhooks; accept hex too (seen on `GET /{media-id}`).
        if let Some(expected) = sha {
            let b64 = base64::engine::general_purpose::STANDARD.encode(digest);
            if expected != b64 && !expected.eq_ignore_ascii_case(&hex::encode(digest)) {
                return Err("the downloaded file does not match the SHA-256 Meta sent".into());
            }
        }
        let name = hex::encode(digest);
        let path = self.dir.join(&name[..2]).join(&name);
        if !path.exists() {
            let parent = path.parent().expect("has a parent");
            tokio::fs::create_dir_all(parent)
                .await
                .map_err(|e| format!("create {}: {e}", parent.display()))?;
            let tmp = path.with_extension("part");
            tokio::fs::write(&tmp, &bytes)
                .await
                .map_err(|e| format!("write {}: {e}", tmp.display()))?;
            tokio::fs::rename(&tmp, &path)
                .await
                .map_err(|e| format!("rename {}: {e}", path.display()))?;
        }
        Ok((path.display().to_string(), bytes.len() as u64, mime))
    }

    pub async fn run(self, stop: CancellationToken) {
        loop {
            match self.run_once(16).await {
                Ok(n) if n > 0 => continue,
                Ok(_) => {}
                Err(e) => {
                    tracing::error!(error = %crate::error::error_chain(&e), "media worker failed; retrying")
                }
            }
            tokio::select! {
                _ = stop.cancelled() => return,
                _ = tokio::time::sleep(Duration::from_secs(1)) => {}
            }
        }
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn limits_and_backoff() {
        assert_eq!(super::max_bytes("image/jpeg"), 5 * 1024 * 1024);
        assert_eq!(super::max_bytes("image/webp"), 512 * 1024);
        assert_eq!(super::max_bytes("application/pdf"), 100 * 1024 * 1024);
        assert_eq!(super::backoff_ms(1), 2_000);
        assert_eq!(super::backoff_ms(3), 8_000);
        assert_eq!(super::backoff_ms(30), 600_000);
    }
}
