//! Webhook delivery, as Meta does it: updates are batched (several per POST, merged into one
//! change per number and field), the exact bytes are signed with `X-Hub-Signature-256`, the GET
//! verification handshake comes before the first POST, a failing receiver is retried on Meta's
//! seven-day schedule (compressible), and batches can be duplicated or reordered on purpose.
//! Every attempt is in the delivery log (`GET /_emulator/webhooks`).

use std::collections::{BTreeMap, HashSet, VecDeque};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use bytes::Bytes;
use serde::Serialize;
use serde_json::Value;
use tokio::sync::{Semaphore, mpsc};

use crate::Emulator;
use crate::config::retry_delays;

/// One update to deliver.
#[derive(Debug, Clone)]
pub struct Update {
    pub field: String,
    pub payload: Payload,
}

#[derive(Debug, Clone)]
pub enum Payload {
    /// `messages` / `user_preferences` values of one business number: merged with others of the
    /// same number and field into one change.
    Messaging {
        phone_number_id: String,
        display_phone_number: String,
        /// `messages`, `statuses`, `user_preferences`.
        key: &'static str,
        /// Serialised JSON objects.
        items: Vec<String>,
        /// Serialised `contacts[]` profiles.
        contacts: Vec<Arc<str>>,
    },
    /// Management fields (`entry.time` is set).
    Other(Value),
}

/// A body ready to POST; retries send these exact bytes.
#[derive(Debug)]
pub struct Batch {
    pub id: u64,
    pub body: Bytes,
    pub updates: usize,
}

#[derive(Debug, Clone, Serialize)]
pub struct DeliveryRecord {
    pub batch_id: u64,
    pub attempt: usize,
    pub at_ms: i64,
    pub updates: usize,
    /// HTTP status the receiver answered, if it answered.
    pub status: Option<u16>,
    pub error: Option<String>,
    pub outcome: &'static str,
    #[serde(serialize_with = "json_bytes")]
    pub body: Bytes,
}

fn json_bytes<S: serde::Serializer>(b: &Bytes, s: S) -> Result<S::Ok, S::Error> {
    serde_json::from_slice::<Value>(b)
        .unwrap_or(Value::Null)
        .serialize(s)
}

pub struct Outgoing {
    pub tx: mpsc::UnboundedSender<Update>,
    pub log: std::sync::Mutex<VecDeque<DeliveryRecord>>,
    pub batch_seq: AtomicU64,
    pub delivered: AtomicU64,
    /// Updates emitted but not yet handed to a delivery (or held back for reordering).
    pub queued: AtomicU64,
    /// Delivery attempts running now.
    pub in_flight: AtomicU64,
    /// Rung whenever `queued` and `in_flight` both reach zero.
    pub idle: tokio::sync::Notify,
    pub verified: tokio::sync::Mutex<bool>,
    pub semaphore: Arc<Semaphore>,
    pub http: reqwest::Client,
}

impl Outgoing {
    pub fn new(concurrency: usize, timeout_ms: u64) -> (Outgoing, mpsc::UnboundedReceiver<Update>) {
        let (tx, rx) = mpsc::unbounded_channel();
        crate::install_crypto();
        let http = reqwest::Client::builder()
            .timeout(Duration::from_millis(timeout_ms))
            .build()
            .expect("http client");
        let out = Outgoing {
            tx,
            log: std::sync::Mutex::new(VecDeque::new()),
            batch_seq: AtomicU64::new(0),
            delivered: AtomicU64::new(0),
            queued: AtomicU64::new(0),
            in_flight: AtomicU64::new(0),
            idle: tokio::sync::Notify::new(),
            verified: tokio::sync::Mutex::new(false),
            semaphore: Arc::new(Semaphore::new(concurrency.max(1))),
            http,
        };
        (out, rx)
    }

    fn log(&self, rec: DeliveryRecord, capacity: usize) {
        let mut log = self.log.lock().expect("log lock");
        log.push_back(rec);
        while log.len() > capacity {
            log.pop_front();
        }
    }
}

impl Emulator {
    /// Queues an update for delivery.
    pub(crate) fn emit(&self, update: Update) {
        self.0.outgoing.queued.fetch_add(1, Ordering::SeqCst);
        if self.0.outgoing.tx.send(update).is_err() {
            self.0.outgoing.queued.fetch_sub(1, Ordering::SeqCst);
            self.ring_if_idle();
        }
    }

    /// Nothing waiting to be batched and no POST in flight (scheduled retries aside).
    pub fn webhooks_idle(&self) -> bool {
        self.0.outgoing.queued.load(Ordering::SeqCst) == 0
            && self.0.outgoing.in_flight.load(Ordering::SeqCst) == 0
    }

    fn ring_if_idle(&self) {
        if self.webhooks_idle() {
            self.0.outgoing.idle.notify_waiters();
        }
    }

    /// Waits until nothing is waiting to be batched and no POST is in flight.
    pub async fn webhooks_delivered(&self) {
        loop {
            let rung = self.0.outgoing.idle.notified();
            tokio::pin!(rung);
            // Registered before the check, so a ring between the two is not missed.
            rung.as_mut().enable();
            if self.webhooks_idle() {
                return;
            }
            rung.await;
        }
    }

    /// The batching loop: waits for an update, gathers more for the batch window, then hands
    /// the batch to a delivery task (bounded by the concurrency setting).
    pub(crate) async fn run_batcher(self, mut rx: mpsc::UnboundedReceiver<Update>) {
        let mut held: Option<Arc<Batch>> = None;
        loop {
            // A held-back batch goes out after the next one, or after a short wait if none comes.
            let next = if held.is_some() {
                match tokio::time::timeout(Duration::from_millis(100), rx.recv()).await {
                    Ok(next) => next,
                    Err(_) => {
                        let h = held.take().expect("held");
                        self.spawn_delivery(h.clone(), 0);
                        self.0
                            .outgoing
                            .queued
                            .fetch_sub(h.updates as u64, Ordering::SeqCst);
                        self.ring_if_idle();
                        continue;
                    }
                }
            } else {
                rx.recv().await
            };
            let Some(first) = next else { break };
            let cfg = &self.0.config.webhooks;
            let mut updates = vec![first];
            let deadline = tokio::time::Instant::now() + Duration::from_millis(cfg.batch_window_ms);
            while updates.len() < cfg.max_batch.max(1) {
                match tokio::time::timeout_at(deadline, rx.recv()).await {
                    Ok(Some(u)) => updates.push(u),
                    _ => break,
                }
            }
            let batch = Arc::new(self.build_batch(updates));
            if self.0.config.webhook_url.is_none() {
                self.0
                    .outgoing
                    .queued
                    .fetch_sub(batch.updates as u64, Ordering::SeqCst);
                self.ring_if_idle();
                self.0.outgoing.log(
                    DeliveryRecord {
                        batch_id: batch.id,
                        attempt: 0,
                        at_ms: self.0.clock.now_ms(),
                        updates: batch.updates,
                        status: None,
                        error: None,
                        outcome: "no_webhook_url",
                        body: batch.body.clone(),
                    },
                    self.0.config.webhooks.log_capacity,
                );
                continue;
            }
            // Reordering: hold this batch back and send it after the next one.
            if held.is_none() && rand::random::<f64>() < cfg.reorder_rate {
                held = Some(batch);
                continue;
            }
            self.spawn_delivery(batch.clone(), 0);
            self.0
                .outgoing
                .queued
                .fetch_sub(batch.updates as u64, Ordering::SeqCst);
            self.ring_if_idle();
            if rand::random::<f64>() < cfg.duplicate_rate {
                self.spawn_delivery(batch, 0);
            }
            if let Some(h) = held.take() {
                self.spawn_delivery(h.clone(), 0);
                self.0
                    .outgoing
                    .queued
                    .fetch_sub(h.updates as u64, Ordering::SeqCst);
                self.ring_if_idle();
            }
        }
    }

    /// Builds one body from a batch: messaging updates of the same field and number are merged
    /// into one change (contacts deduplicated); management updates are changes of their own.
    /// Items arrive as serialised JSON, so this is concatenation, not tree building.
    fn build_batch(&self, updates: Vec<Update>) -> Batch {
        let n = updates.len();
        struct Group {
            field: String,
            phone_number_id: String,
            display: String,
            contacts: Vec<Arc<str>>,
            seen: HashSet<Arc<str>>,
            arrays: BTreeMap<&'static str, Vec<String>>,
        }
        let mut groups: Vec<Group> = Vec::new();
        let mut others: Vec<(String, Value)> = Vec::new();
        for u in updates {
            match u.payload {
                Payload::Messaging {
                    phone_number_id,
                    display_phone_number,
                    key,
                    items,
                    contacts,
                } => {
                    let i = match groups
                        .iter()
                        .position(|g| g.field == u.field && g.phone_number_id == phone_number_id)
                    {
                        Some(i) => i,
                        None => {
                            groups.push(Group {
                                field: u.field,
                                phone_number_id,
                                display: display_phone_number,
                                contacts: Vec::new(),
                                seen: HashSet::new(),
                                arrays: BTreeMap::new(),
                            });
                            groups.len() - 1
                        }
                    };
                    let g = &mut groups[i];
                    for c in contacts {
                        if g.seen.insert(c.clone()) {
                            g.contacts.push(c);
                        }
                    }
                    g.arrays.entry(key).or_default().extend(items);
                }
                Payload::Other(value) => others.push((u.field, value)),
            }
        }
        let str_json = |s: &str| serde_json::to_string(s).expect("strings serialise");
        let mut changes: Vec<String> = Vec::with_capacity(groups.len() + others.len());
        for g in &groups {
            let mut v = format!(
                "{{\"messaging_product\":\"whatsapp\",\"metadata\":{{\"display_phone_number\":{},\"phone_number_id\":{}}}",
                str_json(&g.display),
                str_json(&g.phone_number_id)
            );
            if !g.contacts.is_empty() {
                v.push_str(",\"contacts\":[");
                v.push_str(
                    &g.contacts
                        .iter()
                        .map(|c| &**c)
                        .collect::<Vec<_>>()
                        .join(","),
                );
                v.push(']');
            }
            for (key, items) in &g.arrays {
                v.push_str(&format!(",\"{key}\":[{}]", items.join(",")));
            }
            v.push('}');
            changes.push(format!(
                "{{\"value\":{v},\"field\":{}}}",
                str_json(&g.field)
            ));
        }
        for (field, value) in &others {
            changes.push(format!(
                "{{\"value\":{value},\"field\":{}}}",
                str_json(field)
            ));
        }
        let time = if others.is_empty() {
            String::new()
        } else {
            format!(",\"time\":{}", self.0.clock.now_secs())
        };
        let body = format!(
            "{{\"object\":\"whatsapp_business_account\",\"entry\":[{{\"id\":{}{time},\"changes\":[{}]}}]}}",
            str_json(&self.0.config.waba_id),
            changes.join(",")
        );
        // Meta escapes non-ASCII as \uXXXX; receivers must verify the bytes as sent.
        Batch {
            id: self.0.outgoing.batch_seq.fetch_add(1, Ordering::Relaxed) + 1,
            body: Bytes::from(escape_non_ascii(body)),
            updates: n,
        }
    }

    pub(crate) fn spawn_delivery(&self, batch: Arc<Batch>, attempt: usize) {
        let em = self.clone();
        em.0.outgoing.in_flight.fetch_add(1, Ordering::SeqCst);
        tokio::spawn(async move {
            let permit = em.0.outgoing.semaphore.clone().acquire_owned().await;
            em.deliver(batch, attempt).await;
            drop(permit);
            em.0.outgoing.in_flight.fetch_sub(1, Ordering::SeqCst);
            em.ring_if_idle();
        });
    }

    async fn deliver(&self, batch: Arc<Batch>, attempt: usize) {
        let Some(url) = self.0.config.webhook_url.clone() else {
            return;
        };
        let result = async {
            self.verify_receiver(&url).await?;
            let sig = switchboard_cloudapi::signature::sign(
                self.0.config.app_secret.as_bytes(),
                &batch.body,
            );
            let resp = self
                .0
                .outgoing
                .http
                .post(&url)
                .header("content-type", "application/json")
                .header("x-hub-signature-256", sig)
                .header("user-agent", "facebookexternalua")
                .body(batch.body.clone())
                .send()
                .await
                .map_err(|e| (None, e.to_string()))?;
            let status = resp.status().as_u16();
            if resp.status().is_success() {
                Ok(status)
            } else {
                Err((Some(status), format!("receiver answered {status}")))
            }
        }
        .await;
        let body = batch.body.clone();
        let now = self.0.clock.now_ms();
        match result {
            Ok(status) => {
                self.0
                    .outgoing
                    .delivered
                    .fetch_add(batch.updates as u64, Ordering::Relaxed);
                self.0.outgoing.log(
                    DeliveryRecord {
                        batch_id: batch.id,
                        attempt,
                        at_ms: now,
                        updates: batch.updates,
                        status: Some(status),
                        error: None,
                        outcome: "delivered",
                        body,
                    },
                    self.0.config.webhooks.log_capacity,
                );
            }
            Err((status, error)) => {
                let next = retry_delays().nth(attempt + 1);
                let outcome = if next.is_some() {
                    "will_retry"
                } else {
                    "dropped"
                };
                self.0.outgoing.log(
                    DeliveryRecord {
                        batch_id: batch.id,
                        attempt,
                        at_ms: now,
                        updates: batch.updates,
                        status,
                        error: Some(error),
                        outcome,
                        body,
                    },
                    self.0.config.webhooks.log_capacity,
                );
                if let Some(delay) = next {
                    let scaled =
                        (delay.as_millis() as f64 * self.0.config.webhooks.retry_time_scale) as i64;
                    self.schedule(
                        now + scaled.max(1),
                        crate::Event::Redeliver {
                            batch,
                            attempt: attempt + 1,
                        },
                    );
                }
            }
        }
    }

    /// Meta's GET handshake, once, before the first POST.
    async fn verify_receiver(&self, url: &str) -> Result<(), (Option<u16>, String)> {
        let mut verified = self.0.outgoing.verified.lock().await;
        if *verified {
            return Ok(());
        }
        let challenge = rand::random_range(1_000_000_000u64..9_999_999_999).to_string();
        let resp = self
            .0
            .outgoing
            .http
            .get(url)
            .query(&[
                ("hub.mode", "subscribe"),
                ("hub.challenge", challenge.as_str()),
                ("hub.verify_token", self.0.config.verify_token.as_str()),
            ])
            .send()
            .await
            .map_err(|e| (None, format!("verification request failed: {e}")))?;
        let status = resp.status().as_u16();
        let text = resp.text().await.unwrap_or_default();
        if status == 200 && text.trim() == challenge {
            *verified = true;
            Ok(())
        } else {
            Err((
                Some(status),
                format!(
                    "verification handshake failed: answered {status} with {text:?}, expected the challenge {challenge}"
                ),
            ))
        }
    }
}

/// JSON text with every non-ASCII character escaped as `\uXXXX`, as Meta sends it (non-ASCII
/// only occurs inside strings, where the escape means the same character).
pub fn escape_non_ascii(s: String) -> Vec<u8> {
    if s.is_ascii() {
        return s.into_bytes();
    }
    let mut out = String::with_capacity(s.len() + 16);
    for c in s.chars() {
        if c.is_ascii() {
            out.push(c);
        } else {
            let mut buf = [0u16; 2];
            for unit in c.encode_utf16(&mut buf) {
                out.push_str(&format!("\\u{unit:04x}"));
            }
        }
    }
    out.into_bytes()
}

#[cfg(test)]
mod tests {
    #[test]
    fn non_ascii_is_escaped_and_still_parses() {
        let v = serde_json::json!({"t": "olá 👋"});
        let bytes = super::escape_non_ascii(v.to_string());
        assert!(bytes.is_ascii());
        assert_eq!(
            serde_json::from_slice::<serde_json::Value>(&bytes).unwrap(),
            v
        );
    }
}
