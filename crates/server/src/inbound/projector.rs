//! The projector: reads the journal in order and applies each body (see `project`) in one
//! transaction with marking it projected. Idempotent by construction, so running it twice,
//! replaying a range, or two instances racing on PostgreSQL changes nothing twice.

use std::sync::Arc;
use std::time::Duration;

use switchboard_cloudapi::webhook::Envelope;
use switchboard_domain::UnixMs;
use switchboard_store::{Store, StoreError};
use tokio::sync::Notify;
use tokio_util::sync::CancellationToken;

use super::project::{ProjectCtx, project};

#[derive(Clone)]
pub struct Projector {
    store: Store,
    ctx: Arc<ProjectCtx>,
    wake: Arc<Notify>,
}

/// What one pass did.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct Pass {
    pub projected: usize,
    pub dead_letters: usize,
}

impl Projector {
    pub fn new(store: Store, ctx: ProjectCtx, wake: Arc<Notify>) -> Self {
        Projector {
            store,
            ctx: Arc::new(ctx),
            wake,
        }
    }

    /// Projects up to `limit` pending journal rows, oldest first.
    pub async fn run_once(&self, limit: i64) -> Result<Pass, StoreError> {
        let rows = self.store.unprojected_webhooks(limit).await?;
        let mut pass = Pass::default();
        for row in rows {
            let now = UnixMs::now().0;
            match Envelope::parse(&row.body) {
                Ok(env) => {
                    let ops = project(&env, &self.ctx);
                    let summary = self.store.apply_projection(row.id, &ops, now).await?;
                    metrics::counter!("switchboard_projected_messages_total")
                        .increment(summary.messages_new as u64);
                    metrics::counter!("switchboard_projected_statuses_total")
                        .increment(summary.statuses_new as u64);
                    pass.projected += 1;
                }
                Err(e) => {
                    tracing::warn!(journal_id = row.id, error = %e, "journaled webhook does not parse; kept as a dead letter");
                    self.store
                        .mark_dead_letter(row.id, &e.to_string(), now)
                        .await?;
                    metrics::counter!("switchboard_webhook_dead_letters_total").increment(1);
                    pass.dead_letters += 1;
                }
            }
        }
        Ok(pass)
    }

    /// Projects until nothing is pending (for tests and start-up).
    pub async fn drain(&self) -> Result<Pass, StoreError> {
        let mut total = Pass::default();
        loop {
            let p = self.run_once(500).await?;
            total.projected += p.projected;
            total.dead_letters += p.dead_letters;
            if p.projected + p.dead_letters == 0 {
                return Ok(total);
            }
        }
    }

    /// Runs until `stop`: woken by the intake, and every second in case a wake-up was missed.
    pub async fn run(self, stop: CancellationToken) {
        loop {
            match self.run_once(500).await {
                Ok(p) if p.projected + p.dead_letters > 0 => continue,
                Ok(_) => {}
                Err(e) => {
                    tracing::error!(error = %crate::error::error_chain(&e), "projection failed; retrying")
                }
            }
            tokio::select! {
                _ = stop.cancelled() => return,
                _ = self.wake.notified() => {}
                _ = tokio::time::sleep(Duration::from_secs(1)) => {}
            }
        }
    }
}
