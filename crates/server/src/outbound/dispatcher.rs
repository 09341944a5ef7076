//! One dispatcher per sending number: it holds the number's lease (so one instance sends for a
//! number at a time), claims due messages from the outbox in lane order, paces them (the
//! number's throughput as evenly spaced slots; each customer's pair rate), sends with many calls
//! in flight (Meta answers in 100–300 ms, so a number at 1,000/s needs hundreds at once), and
//! records outcomes in batches (one commit for many messages, like the webhook journal).
//!
//! When a message may go is the [`Pacer`]'s (see `pacer.rs` for where every part of pacing
//! lives); what a failure means is decided in `domain::pacing::after_failure`; this file only
//! applies them. [`Dispatcher::run`] and the tests' [`Dispatcher::run_once`] send a claimed batch
//! with the same function, [`Dispatcher::dispatch`].
//! An auth or account error pauses the number and records an alert: sending more would only
//! fail the same way and can hurt the account.

use std::sync::Arc;
use std::time::Duration;

use secrecy::SecretString;
use switchboard_domain::UnixMs;
use switchboard_domain::pacing::{AfterFailure, Failure, RetryPolicy, after_failure};
use switchboard_graph::{GraphCallError, GraphClient};
use switchboard_store::{Claimed, Outcome, Store, StoreError};
use tokio::sync::{Mutex, Notify, Semaphore, mpsc};
use tokio::time::Instant;
use tokio_util::sync::CancellationToken;

use super::pacer::Pacer;

const LEASE_MS: i64 = 15_000;
const RENEW_EVERY: Duration = Duration::from_secs(3);
/// Outcomes waiting for their batch to be written (a few commits' worth).
const OUTCOMES_WAITING: usize = 4_096;

/// Pacing settings of one number.
#[derive(Debug, Clone)]
pub struct Pacing {
    pub throughput_mps: u32,
    pub pair_interval_ms: u64,
    pub pair_burst: u32,
    pub max_in_flight: usize,
    pub retry: RetryPolicy,
}

#[derive(Clone)]
pub struct Dispatcher {
    inner: Arc<Inner>,
}

struct Inner {
    store: Store,
    graph: GraphClient,
    number: String,
    token: SecretString,
    owner: String,
    pacing: Pacing,
    in_flight: Arc<Semaphore>,
    pace: Mutex<PaceState>,
    wake: Arc<Notify>,
}

struct PaceState {
    pacer: Pacer,
    held: bool,
    paused: bool,
    renewed: Option<Instant>,
}

impl Dispatcher {
    pub fn new(
        store: Store,
        graph: GraphClient,
        number: String,
        token: SecretString,
        owner: String,
        pacing: Pacing,
        wake: Arc<Notify>,
    ) -> Self {
        let in_flight = Arc::new(Semaphore::new(pacing.max_in_flight));
        let pacer = Pacer::new(
            pacing.throughput_mps,
            pacing.pair_interval_ms,
            pacing.pair_burst,
        );
        Dispatcher {
            inner: Arc::new(Inner {
                store,
                graph,
                number,
                token,
                owner,
                pacing,
                in_flight,
                pace: Mutex::new(PaceState {
                    pacer,
                    held: false,
                    paused: false,
                    renewed: None,
                }),
                wake,
            }),
        }
    }

    pub fn number(&self) -> &str {
        &self.inner.number
    }

    /// Takes or renews the number's lease when due. True when this dispatcher may send.
    async fn ensure_lease(&self, force: bool) -> Result<bool, StoreError> {
        let mut st = self.inner.pace.lock().await;
        if !force && st.renewed.is_some_and(|t| t.elapsed() < RENEW_EVERY) {
            return Ok(st.held && !st.paused);
        }
        let now = UnixMs::now().0;
        let lease = self
            .inner
            .store
            .lease_sender(&self.inner.number, &self.inner.owner, now, now + LEASE_MS)
            .await?;
        if lease.held && !st.held {
            tracing::info!(number = %self.inner.number, "took the sender lease");
        }
        st.held = lease.held;
        st.paused = lease.paused;
        st.renewed = Some(Instant::now());
        if lease.held && !lease.paused {
            drop(st);
            self.inner
                .store
                .release_held(&self.inner.number, now)
                .await?;
            return Ok(true);
        }
        Ok(false)
    }

    /// Claims what is due at `now`, sends it all and records the outcomes; returns how many
    /// messages were claimed. Tests drive the dispatcher with this (and their own `now`): the
    /// batch goes through [`Dispatcher::dispatch`], as in [`Dispatcher::run`].
    pub async fn run_once(&self, now: UnixMs) -> Result<usize, StoreError> {
        if !self.ensure_lease(true).await? {
            return Ok(0);
        }
        let limit = self.inner.pacing.max_in_flight as i64;
        let rows = self
            .inner
            .store
            .claim_outbound(&self.inner.number, now.0, limit)
            .await?;
        let n = rows.len();
        let (tx, mut rx) = mpsc::channel::<Outcome>(n.max(1));
        self.dispatch(rows, now, Some(now), &tx).await;
        drop(tx);
        // Every call's task holds a sender until its outcome is in: the channel ends with them.
        let mut outcomes = Vec::with_capacity(n);
        while let Some(o) = rx.recv().await {
            outcomes.push(o);
        }
        self.inner.store.record_outcomes(&outcomes, now.0).await?;
        Ok(n)
    }

    /// Paces a claimed batch and starts its calls: each row waits for its slot and a permit,
    /// then is sent in a task of its own; every outcome (also of rows put back without a call)
    /// goes to `out`. Returns once every call has started. `send_at` fixes the time the calls
    /// count from (tests); `None` is the clock at each call.
    async fn dispatch(
        &self,
        rows: Vec<Claimed>,
        now: UnixMs,
        send_at: Option<UnixMs>,
        out: &mpsc::Sender<Outcome>,
    ) {
        for row in rows {
            match self.pace(&row, now).await {
                Err(o) => {
                    let _ = out.send(o).await;
                }
                Ok(at) => {
                    // Claimed rows are ours until recorded, so stopping here is safe: the
                    // rest are handed back by the next holder of the lease.
                    tokio::time::sleep_until(at).await;
                    let Ok(permit) = self.inner.in_flight.clone().acquire_owned().await else {
                        break;
                    };
                    let me = self.clone();
                    let out = out.clone();
                    tokio::spawn(async move {
                        let o = me.send(row, send_at.unwrap_or_else(UnixMs::now)).await;
                        let _ = out.send(o).await;
                        drop(permit);
                    });
                }
            }
        }
    }

    /// Sends until `stop`: claims as permits free up, paces, sends concurrently and hands
    /// outcomes to a writer that records them in batches. On stop it waits for calls in flight,
    /// records them, and gives the lease up.
    pub async fn run(self, stop: CancellationToken) {
        // Bounded: when the database falls behind, senders wait with their permit held, so
        // the dispatcher stops claiming instead of piling up outcomes in memory.
        let (tx, rx) = mpsc::channel::<Outcome>(OUTCOMES_WAITING);
        let writer = tokio::spawn(write_outcomes(self.inner.store.clone(), rx));
        let batch = (self.inner.pacing.throughput_mps as usize / 4).clamp(1, 500);
        // The lease is renewed on its own clock, so calls in flight (or a full semaphore) never
        // let it lapse while this dispatcher is sending.
        let renewer = {
            let me = self.clone();
            let stop = stop.clone();
            tokio::spawn(async move {
                loop {
                    if let Err(e) = me.ensure_lease(true).await {
                        tracing::error!(number = %me.inner.number, error = %crate::error::error_chain(&e), "sender lease failed; retrying");
                        me.inner.pace.lock().await.held = false;
                    }
                    tokio::select! {
                        _ = stop.cancelled() => return,
                        _ = tokio::time::sleep(RENEW_EVERY) => {}
                    }
                }
            })
        };
        loop {
            if stop.is_cancelled() {
                break;
            }
            let ready = {
                let st = self.inner.pace.lock().await;
                st.held && !st.paused
            };
            if !ready {
                tokio::select! {
                    _ = stop.cancelled() => break,
                    _ = self.inner.wake.notified() => {}
                    _ = tokio::time::sleep(Duration::from_secs(1)) => {}
                }
                continue;
            }
            let free = self.inner.in_flight.available_permits();
            if free == 0 {
                // Wait for one call to finish.
                tokio::select! {
                    _ = stop.cancelled() => break,
                    p = self.inner.in_flight.acquire() => drop(p),
                }
                continue;
            }
            let now = UnixMs::now();
            let rows = match self
                .inner
                .store
                .claim_outbound(&self.inner.number, now.0, free.min(batch) as i64)
                .await
            {
                Ok(r) => r,
                Err(e) => {
                    tracing::error!(number = %self.inner.number, error = %crate::error::error_chain(&e), "claiming from the outbox failed; retrying");
                    tokio::time::sleep(Duration::from_millis(500)).await;
                    continue;
                }
            };
            if rows.is_empty() {
                tokio::select! {
                    _ = stop.cancelled() => break,
                    _ = self.inner.wake.notified() => {}
                    _ = tokio::time::sleep(Duration::from_millis(200)) => {}
                }
                continue;
            }
            self.dispatch(rows, now, None, &tx).await;
        }
        renewer.abort();
        // Let calls in flight finish and their outcomes be written.
        let all = self.inner.pacing.max_in_flight as u32;
        let _ = self.inner.in_flight.acquire_many(all).await;
        drop(tx);
        let _ = writer.await;
        let _ = self
            .inner
            .store
            .release_sender(&self.inner.number, &self.inner.owner)
            .await;
    }

    /// The instant this message may go, or the outcome that puts it back (see [`Pacer`]).
    async fn pace(&self, row: &Claimed, now: UnixMs) -> Result<Instant, Outcome> {
        let mut st = self.inner.pace.lock().await;
        let paused = st.paused;
        st.pacer.next(row, now, paused)
    }

    /// One call to Meta and what it means for the message.
    async fn send(&self, row: Claimed, now: UnixMs) -> Outcome {
        let result = self
            .inner
            .graph
            .send_json(&self.inner.number, &self.inner.token, row.request.clone())
            .await;
        let outcome = match result {
            Ok(resp) => match resp.wamid() {
                Some(w) => Ok(w.to_owned()),
                None => Err(GraphCallError::Decode(
                    "no message id in Meta's answer".into(),
                )),
            },
            Err(e) => Err(e),
        };
        match outcome {
            Ok(wamid) => {
                metrics::counter!("switchboard_outbound_attempts_total", "outcome" => "accepted")
                    .increment(1);
                Outcome::Accepted {
                    id: row.id,
                    attempt: row.attempts,
                    wamid,
                }
            }
            Err(e) => self.after(row, e, now).await,
        }
    }

    async fn after(&self, row: Claimed, e: GraphCallError, now: UnixMs) -> Outcome {
        let f = Failure {
            class: e.retry_class(),
            code: e.code(),
            ambiguous: e.is_ambiguous(),
        };
        let code = e.code().map(|c| c.0);
        let message = e.to_string();
        let next = after_failure(
            &self.inner.pacing.retry,
            f,
            row.attempts.max(1) as u32,
            row.ambiguous,
            now,
            rand::random::<f64>(),
        );
        match next {
            AfterFailure::Retry { at, ambiguous } => {
                metrics::counter!("switchboard_outbound_attempts_total", "outcome" => "retry")
                    .increment(1);
                tracing::debug!(id = row.id, code, "send failed; retry scheduled");
                Outcome::Retry {
                    id: row.id,
                    attempt: row.attempts,
                    at_ms: at.0,
                    code,
                    message,
                    ambiguous,
                }
            }
            AfterFailure::Fail { ambiguous } => {
                metrics::counter!("switchboard_outbound_attempts_total", "outcome" => "failed")
                    .increment(1);
                Outcome::Failed {
                    id: row.id,
                    attempt: row.attempts,
                    code,
                    message,
                    ambiguous,
                }
            }
            AfterFailure::PauseNumber => {
                metrics::counter!("switchboard_outbound_attempts_total", "outcome" => "paused")
                    .increment(1);
                self.inner.pace.lock().await.paused = true;
                let reason = format!(
                    "Meta refused this number's credentials or account ({message}); sending is paused. Fix the token or account, then resume the number."
                );
                tracing::error!(number = %self.inner.number, code, "sending paused after an auth or account error");
                if let Err(err) = self
                    .inner
                    .store
                    .pause_sender(&self.inner.number, "sender_paused", &reason, now.0)
                    .await
                {
                    tracing::error!(error = %crate::error::error_chain(&err), "could not record the pause");
                }
                Outcome::Deferred {
                    id: row.id,
                    attempt: row.attempts,
                    at_ms: now.0,
                }
            }
        }
    }
}

/// Records outcomes in batches: whatever is waiting when the previous commit ends goes in the
/// next one. A failed commit is retried (these outcomes describe calls Meta already answered);
/// a batch that keeps failing is written one outcome at a time, so one outcome the database
/// refuses cannot hold up the rest (it is logged; its row stays `sending` and the next holder
/// of the lease puts it back, flagged ambiguous).
async fn write_outcomes(store: Store, mut rx: mpsc::Receiver<Outcome>) {
    let mut batch = Vec::with_capacity(1024);
    while rx.recv_many(&mut batch, 2048).await > 0 {
        let mut failures = 0;
        loop {
            match store.record_outcomes(&batch, UnixMs::now().0).await {
                Ok(()) => break,
                Err(e) if failures < 3 => {
                    failures += 1;
                    tracing::error!(error = %crate::error::error_chain(&e), count = batch.len(), "recording send outcomes failed; retrying");
                    tokio::time::sleep(Duration::from_millis(500)).await;
                }
                Err(_) => {
                    for o in &batch {
                        if let Err(e) = store
                            .record_outcomes(std::slice::from_ref(o), UnixMs::now().0)
                            .await
                        {
                            tracing::error!(error = %crate::error::error_chain(&e), outcome = ?outcome_id(o), "an outcome the database refuses was dropped");
                        }
                    }
                    break;
                }
            }
        }
        batch.clear();
    }
}

fn outcome_id(o: &Outcome) -> i64 {
    match o {
        Outcome::Accepted { id, .. }
        | Outcome::Retry { id, .. }
        | Outcome::Failed { id, .. }
        | Outcome::Deferred { id, .. } => *id,
    }
}
