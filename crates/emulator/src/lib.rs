//! An offline emulator of Meta's WhatsApp Cloud API, with simulated customers.
//!
//! It is a product feature, not a test double: developers build against it without a verified
//! number, `switchboard demo` runs on it, and every Switchboard test and benchmark talks to it
//! over real HTTP. It enforces Meta's rules with Meta's error objects, emits signed webhooks the
//! way Meta does, and can be steered (customers, clock, faults) through `/_emulator/`.
//!
//! Reading order: [`config`] (every rule's knob), [`state`] (the world), [`refusal`] (Meta's
//! error objects), [`graph`] (the Graph API endpoints; `graph::validate` holds Meta's rules),
//! [`customers`] (what simulated people do, and the status lifecycle), [`webhooks`]
//! (delivery), [`control`] (the steering API), [`faults`], [`traffic`].
//!
//! Layers, each using only those before it:
//! 1. Leaves, using nothing in the crate: [`clock`], [`config`], [`ids`].
//! 2. [`refusal`] uses `ids`; [`faults`] uses `refusal`, `ids`; [`state`] uses `clock`,
//!    `config`, `faults`.
//! 3. `graph::validate` (pure rules) uses `refusal` and `state` only.
//! 4. This file defines the [`Emulator`] handle, its scheduler and router. The remaining modules
//!    extend the handle (`impl Emulator`, handlers taking `&Emulator`), so they name
//!    `crate::Emulator` and the scheduler calls back into them; among themselves they go one
//!    way: [`webhooks`] ← [`graph`] ← [`customers`] (media) ← [`traffic`] ← [`control`].
//!
//! Time is the emulator's [`clock::Clock`]: wall time plus an offset a test can advance. Timed
//! work (statuses, reads, replies, template reviews, webhook retries) sits in one scheduler,
//! processed when due on that clock, so advancing the clock runs everything that became due.

pub mod clock;
pub mod config;
pub mod control;
pub mod customers;
pub mod faults;
pub mod graph;
pub mod ids;
pub mod refusal;
pub mod state;
pub mod traffic;
pub mod webhooks;

use std::cmp::Reverse;
use std::collections::BinaryHeap;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, Once};
use std::time::Duration;

use axum::Router;
use tokio::net::TcpListener;
use tokio::sync::Notify;

pub use config::{EmulatorConfig, MessagingLimit, NumberSpec};
pub use state::{AutoReply, Customer, OutboxRecord};

/// A handle on a running emulator (cheap to clone).
#[derive(Clone)]
pub struct Emulator(Arc<Inner>);

pub struct Inner {
    pub config: EmulatorConfig,
    pub clock: clock::Clock,
    state: Mutex<state::State>,
    schedule: Mutex<BinaryHeap<Reverse<Scheduled>>>,
    /// Held while due events run: a clock advance (a request's thread) and the background
    /// loop would otherwise each take one of two events due together and run them in either
    /// order (a voice note's `played` before its `read`).
    running: Mutex<()>,
    wake: Notify,
    seq: AtomicU64,
    outgoing: webhooks::Outgoing,
    base_url: Mutex<String>,
    traffic: traffic::TrafficState,
}

/// Timed work.
#[derive(Debug)]
pub enum Event {
    /// Advance an outbound message: `sent`, `delivered`, `read`, `played` or `failed` with a code.
    Status {
        id: String,
        status: &'static str,
        error: Option<i64>,
    },
    /// A simulated customer writes.
    CustomerWrites {
        wa_id: String,
        phone_number_id: String,
        text: String,
    },
    /// A template review finishes.
    TemplateReview { template_id: String },
    /// Try a webhook batch again.
    Redeliver {
        batch: Arc<webhooks::Batch>,
        attempt: usize,
    },
}

#[derive(Debug)]
struct Scheduled {
    due_ms: i64,
    seq: u64,
    event: Event,
}

impl PartialEq for Scheduled {
    fn eq(&self, o: &Self) -> bool {
        (self.due_ms, self.seq) == (o.due_ms, o.seq)
    }
}
impl Eq for Scheduled {}
impl PartialOrd for Scheduled {
    fn partial_cmp(&self, o: &Self) -> Option<std::cmp::Ordering> {
        Some(self.cmp(o))
    }
}
impl Ord for Scheduled {
    fn cmp(&self, o: &Self) -> std::cmp::Ordering {
        (self.due_ms, self.seq).cmp(&(o.due_ms, o.seq))
    }
}

static CRYPTO: Once = Once::new();

/// rustls with `ring` for the emulator's own HTTP client (webhook delivery).
pub(crate) fn install_crypto() {
    CRYPTO.call_once(|| {
        let _ = rustls::crypto::ring::default_provider().install_default();
    });
}

/// A running emulator: its address and a handle.
pub struct RunningEmulator {
    pub emulator: Emulator,
    pub addr: SocketAddr,
    pub base_url: String,
    server: tokio::task::JoinHandle<()>,
}

impl RunningEmulator {
    /// Stops serving (background tasks stop with the runtime).
    pub fn stop(self) {
        self.server.abort();
    }
}

impl Drop for RunningEmulator {
    fn drop(&mut self) {
        self.server.abort();
    }
}

impl Emulator {
    pub fn new(
        config: EmulatorConfig,
    ) -> (
        Emulator,
        tokio::sync::mpsc::UnboundedReceiver<webhooks::Update>,
    ) {
        let (outgoing, rx) =
            webhooks::Outgoing::new(config.webhooks.concurrency, config.webhooks.timeout_ms);
        let state = state::State::new(&config);
        let inner = Inner {
            config,
            clock: clock::Clock::default(),
            state: Mutex::new(state),
            schedule: Mutex::new(BinaryHeap::new()),
            running: Mutex::new(()),
            wake: Notify::new(),
            seq: AtomicU64::new(0),
            outgoing,
            base_url: Mutex::new(String::new()),
            traffic: traffic::TrafficState::default(),
        };
        (Emulator(Arc::new(inner)), rx)
    }

    /// Binds `addr` (port 0 for any), starts serving and the background tasks.
    pub async fn start(
        config: EmulatorConfig,
        addr: SocketAddr,
    ) -> std::io::Result<RunningEmulator> {
        let listener = TcpListener::bind(addr).await?;
        let addr = listener.local_addr()?;
        let (em, rx) = Emulator::new(config);
        let base_url = format!("http://{addr}");
        *em.0.base_url.lock().expect("lock") = base_url.clone();
        tokio::spawn(em.clone().run_batcher(rx));
        tokio::spawn(em.clone().run_scheduler());
        let app = em.router();
        let server = tokio::spawn(async move {
            let _ = axum::serve(listener, app).await;
        });
        Ok(RunningEmulator {
            emulator: em,
            addr,
            base_url,
            server,
        })
    }

    pub fn config(&self) -> &EmulatorConfig {
        &self.0.config
    }

    pub fn base_url(&self) -> String {
        self.0.base_url.lock().expect("lock").clone()
    }

    pub fn now_ms(&self) -> i64 {
        self.0.clock.now_ms()
    }

    pub(crate) fn state(&self) -> MutexGuard<'_, state::State> {
        self.0.state.lock().expect("emulator state lock")
    }

    /// All routes: the Graph API (with faults applied) and the control API.
    pub fn router(&self) -> Router {
        let graph = graph::router().layer(axum::middleware::from_fn_with_state(
            self.clone(),
            graph::with_faults,
        ));
        Router::new()
            .merge(control::router())
            .merge(graph)
            .with_state(self.clone())
    }

    pub(crate) fn schedule(&self, due_ms: i64, event: Event) {
        let seq = self.0.seq.fetch_add(1, Ordering::Relaxed);
        self.0
            .schedule
            .lock()
            .expect("schedule lock")
            .push(Reverse(Scheduled { due_ms, seq, event }));
        self.0.wake.notify_one();
    }

    /// Moves the clock forward and runs everything that became due.
    pub fn advance(&self, by: Duration) {
        self.0.clock.advance_ms(by.as_millis() as i64);
        self.run_due();
        self.0.wake.notify_one();
    }

    /// Settles the emulator as of its clock, deterministically: runs every event due now and
    /// waits until every webhook emitted so far (and by what those events did) has been
    /// delivered and answered. Left for later: events not due yet and scheduled redeliveries.
    pub async fn flush(&self) {
        loop {
            self.webhooks_delivered().await;
            if self.run_due() == 0 {
                return;
            }
        }
    }

    /// Runs every event due now; returns how many ran.
    pub fn run_due(&self) -> usize {
        let _one_at_a_time = self.0.running.lock().unwrap_or_else(|e| e.into_inner());
        let mut ran = 0;
        loop {
            let now = self.0.clock.now_ms();
            let next = {
                let mut heap = self.0.schedule.lock().expect("schedule lock");
                match heap.peek() {
                    Some(Reverse(s)) if s.due_ms <= now => {
                        heap.pop().map(|Reverse(s)| (s.due_ms, s.event))
                    }
                    _ => None,
                }
            };
            let Some((due, event)) = next else { return ran };
            self.handle(event, due);
            ran += 1;
        }
    }

    /// Runs one event as of `at` (its due time: when the clock jumps, each event still happens
    /// at its own time, and what it schedules is timed from there).
    fn handle(&self, event: Event, at: i64) {
        match event {
            Event::Status { id, status, error } => self.advance_status(&id, status, error, at),
            Event::CustomerWrites {
                wa_id,
                phone_number_id,
                text,
            } => {
                let content = serde_json::json!({"type": "text", "text": {"body": text}});
                let _ = self.customer_sends_at(&wa_id, &phone_number_id, content, at);
            }
            Event::TemplateReview { template_id } => self.finish_review(&template_id),
            Event::Redeliver { batch, attempt } => self.spawn_delivery(batch, attempt),
        }
    }

    async fn run_scheduler(self) {
        loop {
            self.run_due();
            let wait = {
                let heap = self.0.schedule.lock().expect("schedule lock");
                heap.peek()
                    .map(|Reverse(s)| (s.due_ms - self.0.clock.now_ms()).clamp(1, 50) as u64)
                    .unwrap_or(50)
            };
            tokio::select! {
                _ = tokio::time::sleep(Duration::from_millis(wait)) => {}
                _ = self.0.wake.notified() => {}
            }
        }
    }

    /// What the business sent, oldest first, after `after` (an outbox id) if given.
    pub fn outbox(&self) -> Vec<OutboxRecord> {
        let st = self.state();
        st.outbox_order
            .iter()
            .filter_map(|id| st.outbox.get(id).cloned())
            .collect()
    }

    pub fn deliveries(&self) -> Vec<webhooks::DeliveryRecord> {
        self.0
            .outgoing
            .log
            .lock()
            .expect("log lock")
            .iter()
            .cloned()
            .collect()
    }

    /// Updates delivered to the receiver with a 2xx.
    pub fn delivered_updates(&self) -> u64 {
        self.0.outgoing.delivered.load(Ordering::Relaxed)
    }

    /// How many timed events are waiting.
    pub fn pending_events(&self) -> usize {
        self.0.schedule.lock().expect("schedule lock").len()
    }
}
